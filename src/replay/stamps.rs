//! A plain log's own clock: the time of day most log lines begin with.
//!
//! A log pasted from a terminal or saved by a tool usually stamps its lines
//! (`2026-12-03 13:42:05,123 INFO ...`, `Dec  3 13:42:05 host sshd[4178]: ...`,
//! `[03/Dec/2026:13:42:05 +0000]`, `07:31:20 AM  all  3.02 ...`, ` 13:42:05 up 3 days, ...`).
//! Those stamps are the pace the job printed at, which a fixed replay rate cannot know: a
//! status line printed once a second and replayed at 20 lines a second looks like a loop.
//! So a plain log is timed by its stamps when most of its first lines carry one and they run
//! forward; otherwise, and whenever `--rate` is given, one line every 1/rate seconds.
//!
//! A stamp is the first `H:MM:SS` within the first [`SEARCH`] bytes of a line, with its
//! fraction (`.123`, `,123456`), its `AM`/`PM`, and the date just before it when there is one
//! (`2026-12-03T`, `2026/12/03 `, `03/Dec/2026:`, `03 Dec 2026 `, `Dec  3 `). Lines without a
//! stamp (a traceback's frames under the line that logged it) come with the line before.
//! Stamps of whole seconds say only which second a line came in: the lines of one second are
//! spread over it, at most [`SPREAD_LINES_PER_S`] a second (a block printed at once stays
//! close together), and more evenly when more share it. The clock never runs backwards: a
//! stamp a little behind the one before (threads logging out of order) comes at the same
//! time, and a jump back (midnight for a time of day, a second run appended) continues from
//! where the log was. Memory stays bounded: at most [`MAX_HELD`] lines ([`MAX_HELD_BYTES`])
//! of one second are held to spread them, and as many first lines to decide.

use std::time::Duration;

/// How far into a line a stamp is looked for (a pid, a level or a host may come first).
const SEARCH: usize = 64;

/// Lines read before deciding whether the log is timed by its stamps (more while they all
/// share one stamp).
const DECIDE_LINES: usize = 50;

/// The share of those lines that must carry a stamp.
const STAMPED_SHARE: f64 = 0.6;

/// Lines of one whole second are spread over it at most this many a second.
const SPREAD_LINES_PER_S: f64 = 20.0;

/// The most lines of one whole second held to spread them, and the most bytes; more go on a
/// millisecond apart.
const MAX_HELD: usize = 1000;
const MAX_HELD_BYTES: usize = 4 * 1024 * 1024;

/// A stamp a little behind the one before it (threads logging out of order) is no jump.
const JITTER_S: f64 = 1.0;

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// When a line says it was printed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    /// Seconds since the start of its day, plus whole days since a fixed day when the stamp
    /// carries a date.
    pub seconds: f64,
    /// The stamp shows a fraction of a second.
    pub fraction: bool,
    /// The stamp carries a date.
    pub dated: bool,
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    part.iter()
        .all(u8::is_ascii_digit)
        .then(|| part.iter().fold(0, |v, &d| v * 10 + u32::from(d - b'0')))
}

fn month(s: &[u8], at: usize) -> Option<u32> {
    let name = s.get(at..at + 3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| m[..] == name[..])
        .map(|i| i as u32 + 1)
}

/// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date that ends right before `end` (the time's first digit), in days.
fn date_before(s: &[u8], end: usize) -> Option<i64> {
    let sep = *s.get(end.checked_sub(1)?)?;
    if !matches!(sep, b'T' | b' ' | b':' | b'_') {
        return None;
    }
    // `Dec  3 13:42:05` (syslog: no year; any year will do within one log).
    let head = &s[..end - 1];
    let syslog_day = head.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if (1..=2).contains(&syslog_day) {
        let day_at = head.len() - syslog_day;
        let day = digits(head, day_at, syslog_day)?;
        let spaces = head[..day_at].iter().rev().take_while(|&&b| b == b' ').count();
        if spaces >= 1 {
            if let Some(m) = day_at.checked_sub(spaces + 3).and_then(|at| month(head, at)) {
                return Some(days_from_civil(2000, m, day));
            }
        }
    }
    // `2026-12-03T`, `2026/12/03 `.
    if let Some(at) = (end - 1).checked_sub(10) {
        let (dash, slash) = (s[at + 4], s[at + 7]);
        if dash == slash && matches!(dash, b'-' | b'/') {
            if let (Some(y), Some(m), Some(d)) =
                (digits(s, at, 4), digits(s, at + 5, 2), digits(s, at + 8, 2))
            {
                return Some(days_from_civil(i64::from(y), m, d));
            }
        }
    }
    // `03/Dec/2026:` (an access log) and `03 Dec 2026 ` (Redis).
    if let Some(at) = (end - 1).checked_sub(11) {
        if matches!((s[at + 2], s[at + 6]), (b'/', b'/') | (b' ', b' ')) {
            if let (Some(d), Some(m), Some(y)) = (digits(s, at, 2), month(s, at + 3), digits(s, at + 7, 4)) {
                return Some(days_from_civil(i64::from(y), m, d));
            }
        }
    }
    None
}

/// The stamp of a line, if it has one near its start.
pub fn stamp(line: &[u8]) -> Option<Stamp> {
    let s = &line[..line.len().min(SEARCH)];
    let mut at = 0;
    while at + 7 <= s.len() {
        // A time begins a word, or follows the date of an access log (`03/Dec/2026:13:42:05`).
        let boundary = at == 0
            || match s[at - 1] {
                b':' => date_before(s, at).is_some(),
                b => !(b.is_ascii_digit() || b == b'.'),
            };
        let hour_digits = if s[at].is_ascii_digit() && s.get(at + 1) == Some(&b':') {
            1
        } else {
            2
        };
        let time = boundary
            .then(|| {
                let h = digits(s, at, hour_digits)?;
                let colon = at + hour_digits;
                (s.get(colon) == Some(&b':') && s.get(colon + 3) == Some(&b':')).then_some(())?;
                let (m, sec) = (digits(s, colon + 1, 2)?, digits(s, colon + 4, 2)?);
                let after = colon + 6;
                let glued = s.get(after).is_some_and(|&b| b.is_ascii_digit() || b == b':');
                (h < 24 && m < 60 && sec < 61 && !glued).then_some((h, m, sec, after))
            })
            .flatten();
        if let Some((h, m, sec, after)) = time {
            let (mut seconds, mut fraction) = (f64::from(h * 3600 + m * 60 + sec), false);
            let mut rest = after;
            if matches!(line.get(after), Some(b'.' | b',')) {
                let n = line[after + 1..]
                    .iter()
                    .take(9)
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if n > 0 {
                    let part = &line[after + 1..after + 1 + n];
                    let value = part.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
                    seconds += value as f64 / 10f64.powi(n as i32);
                    fraction = true;
                    rest = after + 1 + n;
                }
            }
            let meridiem = line.get(rest..rest + 3).map(<[u8]>::to_ascii_uppercase);
            match meridiem.as_deref() {
                Some(b" PM") if h < 12 => seconds += 12.0 * 3600.0,
                Some(b" AM") if h == 12 => seconds -= 12.0 * 3600.0,
                _ => {}
            }
            let date = date_before(line, at);
            if let Some(days) = date {
                seconds += days as f64 * 86_400.0;
            }
            return Some(Stamp {
                seconds,
                fraction,
                dated: date.is_some(),
            });
        }
        at += 1;
    }
    None
}

/// Whether the first lines of a log are timed by their stamps: most carry one, of one kind
/// (dated or not), and they run forward.
pub fn timed_by_stamps(first: &[Option<Stamp>]) -> bool {
    let stamped: Vec<Stamp> = first.iter().flatten().copied().collect();
    let Some(kind) = stamped.first().map(|s| s.dated) else {
        return false;
    };
    let same_kind = stamped.iter().filter(|s| s.dated == kind).count();
    if same_kind < 3 || (same_kind as f64) < STAMPED_SHARE * first.len() as f64 {
        return false;
    }
    let backwards = stamped
        .windows(2)
        .filter(|p| p[1].seconds < p[0].seconds - JITTER_S)
        .count();
    let forward = stamped.windows(2).any(|p| p[1].seconds > p[0].seconds);
    backwards * 20 <= stamped.len() && forward
}

/// Most of the lines so far carry a stamp, and all of them the same one.
fn one_stamp_so_far(first: &[Option<Stamp>]) -> bool {
    let stamped: Vec<f64> = first.iter().flatten().map(|s| s.seconds).collect();
    (stamped.len() as f64) >= STAMPED_SHARE * first.len() as f64 && stamped.windows(2).all(|p| p[0] == p[1])
}

/// Gives each line of a log timed by its stamps its time since the first stamp.
#[derive(Debug)]
pub struct StampClock {
    /// Whether the log's stamps carry a date (stamps of the other kind are not its clock).
    dated: bool,
    /// The log's first stamp, which is time zero.
    origin: Option<f64>,
    /// Added to every stamp after a jump back, so the clock goes on from where it was.
    shift: f64,
    /// The latest time handed out.
    latest: f64,
    /// The whole second whose lines are held to be spread over it, from where they start.
    second: Option<(f64, f64)>,
    held: Vec<(Vec<u8>, bool)>,
    held_bytes: usize,
}

impl StampClock {
    pub fn new(dated: bool) -> StampClock {
        StampClock {
            dated,
            origin: None,
            shift: 0.0,
            latest: 0.0,
            second: None,
            held: Vec::new(),
            held_bytes: 0,
        }
    }

    /// Takes the next line; `emit(line, truncated, at)` gets every line whose time is known.
    pub fn push(&mut self, line: &[u8], truncated: bool, emit: &mut dyn FnMut(&[u8], bool, Duration)) {
        let Some(stamp) = stamp(line).filter(|s| s.dated == self.dated) else {
            // A line without a stamp comes with the line before it.
            match self.second {
                Some(_) => self.hold(line, truncated, emit),
                None => emit(line, truncated, secs(self.latest)),
            }
            return;
        };
        let origin = *self.origin.get_or_insert(stamp.seconds);
        let mut at = stamp.seconds - origin + self.shift;
        if stamp.fraction || self.second.is_some_and(|(second, _)| second != at) {
            self.flush(emit);
        }
        if at < self.latest - JITTER_S {
            // Midnight, or a second run appended: go on from where the log was.
            self.shift += self.latest - at;
            at = self.latest;
        }
        if stamp.fraction {
            self.latest = self.latest.max(at);
            emit(line, truncated, secs(self.latest));
        } else {
            if self.second.is_none() {
                self.second = Some((at, self.latest.max(at)));
            }
            self.hold(line, truncated, emit);
        }
    }

    fn hold(&mut self, line: &[u8], truncated: bool, emit: &mut dyn FnMut(&[u8], bool, Duration)) {
        self.held.push((line.to_vec(), truncated));
        self.held_bytes += line.len();
        if self.held.len() >= MAX_HELD || self.held_bytes >= MAX_HELD_BYTES {
            self.spread(1.0 / MAX_HELD as f64, emit);
        }
    }

    /// Hands out the held lines of the current second, `spacing` apart from where the
    /// second's lines start, and goes on from after them.
    fn spread(&mut self, spacing: f64, emit: &mut dyn FnMut(&[u8], bool, Duration)) {
        let Some((second, start)) = self.second else {
            return;
        };
        let mut at = start;
        self.held_bytes = 0;
        for (line, truncated) in self.held.drain(..) {
            self.latest = self.latest.max(at);
            emit(&line, truncated, secs(self.latest));
            at += spacing;
        }
        self.second = Some((second, at));
    }

    /// Hands out the lines held for the current second, spread over it.
    pub fn flush(&mut self, emit: &mut dyn FnMut(&[u8], bool, Duration)) {
        let spacing = 1.0 / (self.held.len() as f64).max(SPREAD_LINES_PER_S);
        self.spread(spacing, emit);
        self.second = None;
    }
}

/// How the lines of a plain log get their times.
#[derive(Debug)]
pub enum TextClock {
    /// One line every 1/rate seconds.
    Rate {
        lines_per_s: f64,
        index: u64,
    },
    /// The first lines and their stamps, held until they show whether the log is timed by
    /// its stamps; else this many lines a second.
    Deciding {
        lines_per_s: f64,
        held: Vec<(Vec<u8>, bool)>,
        stamps: Vec<Option<Stamp>>,
        bytes: usize,
    },
    Stamps(StampClock),
}

impl TextClock {
    /// A clock at `rate` lines a second when one is given; else by the log's stamps when it
    /// has them, or `fallback` lines a second.
    pub fn new(rate: Option<f64>, fallback: f64) -> TextClock {
        match rate {
            Some(lines_per_s) => TextClock::Rate {
                lines_per_s,
                index: 0,
            },
            None => TextClock::Deciding {
                lines_per_s: fallback,
                held: Vec::new(),
                stamps: Vec::new(),
                bytes: 0,
            },
        }
    }

    /// Takes the next line; `emit(line, truncated, at)` gets every line whose time is known.
    pub fn push(&mut self, line: &[u8], truncated: bool, emit: &mut dyn FnMut(&[u8], bool, Duration)) {
        match self {
            TextClock::Rate { lines_per_s, index } => {
                emit(
                    line,
                    truncated,
                    Duration::from_secs_f64(*index as f64 / *lines_per_s),
                );
                *index += 1;
            }
            TextClock::Deciding {
                held, stamps, bytes, ..
            } => {
                held.push((line.to_vec(), truncated));
                stamps.push(stamp(line));
                *bytes += line.len();
                // A log whose first lines all share one stamp (a startup burst within one
                // second) has not shown its pace yet: hold on, within bounds.
                let settled = held.len() >= DECIDE_LINES && !one_stamp_so_far(stamps);
                if settled || held.len() >= MAX_HELD || *bytes >= MAX_HELD_BYTES {
                    self.decide(emit);
                }
            }
            TextClock::Stamps(clock) => clock.push(line, truncated, emit),
        }
    }

    /// Settles how the log is timed from the lines held, and hands them out.
    fn decide(&mut self, emit: &mut dyn FnMut(&[u8], bool, Duration)) {
        let TextClock::Deciding {
            lines_per_s,
            held,
            stamps,
            ..
        } = self
        else {
            return;
        };
        let held = std::mem::take(held);
        *self = if timed_by_stamps(stamps) {
            let dated = stamps.iter().flatten().next().is_some_and(|s| s.dated);
            TextClock::Stamps(StampClock::new(dated))
        } else {
            TextClock::Rate {
                lines_per_s: *lines_per_s,
                index: 0,
            }
        };
        for (line, truncated) in held {
            self.push(&line, truncated, emit);
        }
    }

    /// The input has ended: hands out every line still held.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&[u8], bool, Duration)) {
        self.decide(emit);
        if let TextClock::Stamps(clock) = self {
            clock.flush(emit);
        }
    }

    /// How the lines were timed, in words.
    pub fn describe(&self) -> String {
        match self {
            TextClock::Stamps(_) => "plain text, timed by its own timestamps".into(),
            TextClock::Rate { lines_per_s, .. } | TextClock::Deciding { lines_per_s, .. } => {
                format!("plain text at {lines_per_s} lines/s")
            }
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 1e9))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: &str) -> (f64, bool, bool) {
        let s = stamp(line.as_bytes()).unwrap_or_else(|| panic!("{line:?} has a stamp"));
        (s.seconds, s.fraction, s.dated)
    }

    #[test]
    fn the_stamps_logs_begin_with_are_read() {
        let day = 86_400.0 * days_from_civil(2026, 12, 3) as f64;
        let t = 13.0 * 3600.0 + 42.0 * 60.0 + 5.0;
        for line in [
            "2026-12-03 13:42:05,123 INFO worker: listening",
            "2026-12-03T13:42:05.123Z ERROR connection refused",
            "[2026-12-03 13:42:05.123 +0000] [21471] [INFO] Booting worker",
            "2026/12/03 13:42:05.123 GET /health",
            "26917:C 03 Dec 2026 13:42:05.123 # Redis is starting",
            "127.0.0.1 - - [03/Dec/2026:13:42:05.123 +0000] \"GET / HTTP/1.1\" 200",
        ] {
            let (seconds, fraction, dated) = at(line);
            assert!(
                (seconds - (day + t + 0.123)).abs() < 1e-6 && fraction && dated,
                "{line:?}: {seconds}"
            );
        }
        assert_eq!(
            at(" 13:42:05 up 3 days,  2:01,  1 user,  load average: 0.31"),
            (t, false, false)
        );
        assert_eq!(at("01:42:05 PM  all    3.02    0.00"), (t, false, false));
        assert_eq!(at("12:10:00 AM  all    3.02"), (600.0, false, false));
        assert_eq!(at("I1203 13:42:05.500000    1 main.go:42] ready").0, t + 0.5);
        let (seconds, _, dated) = at("Dec  3 13:42:05 host sshd[4178]: Accepted key");
        assert!(dated && (seconds - (86_400.0 * days_from_civil(2000, 12, 3) as f64 + t)).abs() < 1e-6);
        for line in [
            "took 12:30",
            "version 1.13:42:05",
            "127.0.0.1:8080:80 mapped",
            "[ 45%] Building CXX object",
            "12:34:567 not a time",
        ] {
            assert_eq!(stamp(line.as_bytes()), None, "{line:?}");
        }
    }

    fn timed(lines: &[&str]) -> Vec<(String, f64)> {
        let stamps: Vec<_> = lines.iter().map(|l| stamp(l.as_bytes())).collect();
        assert!(timed_by_stamps(&stamps), "{lines:?} are timed by their stamps");
        let dated = stamps.iter().flatten().next().is_some_and(|s| s.dated);
        let mut clock = StampClock::new(dated);
        let mut out = Vec::new();
        let mut emit = |l: &[u8], _: bool, at: Duration| {
            out.push((
                String::from_utf8_lossy(l).into_owned(),
                (at.as_secs_f64() * 1000.0).round() / 1000.0,
            ));
        };
        for line in lines {
            clock.push(line.as_bytes(), false, &mut emit);
        }
        clock.flush(&mut emit);
        out
    }

    #[test]
    fn lines_come_at_their_stamps_and_unstamped_ones_with_the_line_before() {
        let out = timed(&[
            "2026-12-03 13:42:05.100 ERROR worker: redis unavailable",
            "Traceback (most recent call last):",
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "2026-12-03 13:42:09.600 ERROR worker: redis unavailable",
            "2026-12-03 13:42:09.100 INFO worker: a thread a little behind",
        ]);
        let times: Vec<f64> = out.iter().map(|(_, t)| *t).collect();
        assert_eq!(times, [0.0, 0.0, 0.0, 4.5, 4.5]);
    }

    #[test]
    fn a_whole_second_is_spread_and_the_clock_never_runs_back() {
        let mut lines = vec![" 23:59:58 up 3 days, load average: 0.31"];
        lines.extend([" 23:59:59 up 3 days, load average: 0.30"; 40]);
        lines.push(" 00:00:00 up 3 days, load average: 0.29");
        lines.push(" 00:00:01 up 3 days, load average: 0.29");
        let out = timed(&lines);
        assert_eq!(out[0].1, 0.0);
        assert_eq!((out[1].1, out[2].1, out[40].1), (1.0, 1.025, 1.975));
        // Midnight: the clock goes on from where the log was, then at the log's pace.
        assert_eq!((out[41].1, out[42].1), (1.975, 2.975));
        let few = timed(&["13:00:00 a", "13:00:01 b", "13:00:01 c", "13:00:02 d"]);
        assert_eq!(
            few.iter().map(|(_, t)| *t).collect::<Vec<_>>(),
            [0.0, 1.0, 1.05, 2.0]
        );
    }

    #[test]
    fn a_log_without_stamps_or_whose_stamps_do_not_run_forward_is_not_timed_by_them() {
        let of = |lines: &[&str]| lines.iter().map(|l| stamp(l.as_bytes())).collect::<Vec<_>>();
        assert!(!timed_by_stamps(&of(&["a", "b", "c", "d"])));
        assert!(!timed_by_stamps(&of(&[
            "13:00:00 a",
            "b",
            "c",
            "d",
            "13:00:01 e"
        ])));
        assert!(!timed_by_stamps(&of(&["13:00:00 a", "13:00:00 b", "13:00:00 c"])));
        assert!(!timed_by_stamps(&of(&[
            "13:00:09 a",
            "13:00:05 b",
            "13:00:01 c",
            "13:00:00 d"
        ])));
        assert!(timed_by_stamps(&of(&[
            "13:00:00 a",
            "13:00:01 b",
            "c",
            "13:00:02 d"
        ])));
    }

    #[test]
    fn a_log_that_begins_with_a_burst_in_one_second_is_still_timed_by_its_stamps() {
        let mut clock = TextClock::new(None, 20.0);
        let mut times = Vec::new();
        let mut emit = |_: &[u8], _: bool, at: Duration| times.push(at.as_secs_f64());
        for second in 0..5 {
            for _ in 0..100 {
                clock.push(
                    format!("13:00:0{second} GET /health 200").as_bytes(),
                    false,
                    &mut emit,
                );
            }
        }
        clock.finish(&mut emit);
        assert!(clock.describe().contains("timestamps"), "{}", clock.describe());
        assert_eq!(
            (times.len(), times[99], times[100], times[499]),
            (500, 0.99, 1.0, 4.99)
        );
    }

    #[test]
    fn memory_is_bounded_when_many_lines_share_a_second() {
        let mut clock = StampClock::new(false);
        let mut count = 0;
        let mut emit = |_: &[u8], _: bool, _: Duration| count += 1;
        for _ in 0..10_000 {
            clock.push(b"13:00:00 the same second", false, &mut emit);
            assert!(clock.held.len() < MAX_HELD);
        }
        clock.flush(&mut emit);
        assert_eq!(count, 10_000);
    }
}
