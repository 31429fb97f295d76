//! Slow passes: output that arrives in bursts with seconds of silence between them, compared
//! burst by burst for what they print rather than line by line.
//!
//! A retry loop that sleeps between attempts prints each attempt at once and then nothing:
//! the silence cuts its output into passes. The cycle trackers need every pass to repeat the
//! one before exactly, line for line; a Java client's failure is not so tidy. Which thread
//! completes the failed request decides which frames its stack trace shows (27 lines one
//! pass, 44 the next, in no fixed order), and its `... N more` counts differ with them. What
//! stays is the pass's shape: it begins with the same line, and most of its templates are
//! the ones the pass before printed. So each burst is kept as the set of its templates (and
//! its first template, its times, whether it printed a template new to the run), and
//! `alike` reports the run of bursts at the tail that begin alike and share at least half
//! their templates with the burst before (`ALIKE_SHARE`). The latest burst may still be in
//! progress; it counts as begun once its first line is the run's.
//!
//! A job re-run back to back need not fall silent between runs: `while ! pytest -n 2; do :;
//! done` starts the next session 0.5 s after the last, under the silence. What marks each
//! run is its header: `==== test session starts ====`, then the same `platform`, `cachedir`
//! and `rootdir` lines. So a burst also ends where an opening of it recurs: `OPENING`
//! lines of as many templates printed again in that order (held back until the last of
//! them shows whether a pass begins), the opening being the burst's first lines or those
//! after a pause within it (`HEADER_PAUSE`, the start-up of the job's next run: a loop's
//! first run may follow other output with no silence between). A run of one line printed
//! over and over is no opening.
//!
//! And a pass's order need not repeat either: pytest-xdist hands the tests to its workers
//! in another order each run, so the same test reports `[ 43%]` one run and `[ 67%]` the
//! next, and its percentage climbs to 100 within every run. So each burst also keeps the
//! set of the values it printed, each with its kind (`MAX_VALUES` of them): a pass whose
//! values all came in the pass before, in whatever order, repeats it
//! (`AlikeBursts::repeated`), and what climbed in it climbs the same way every pass.
//!
//! Nothing here judges whether such a run is a loop (error wording, words of waiting,
//! values that advance are the scorer's and the template table's); it only says which
//! bursts are alike and when each began. Memory is bounded: `KEPT` bursts of at most
//! `MAX_TEMPLATES` templates and `MAX_VALUES` values each.

use super::slots::MAX_SLOTS;
use std::collections::VecDeque;
use std::time::Duration;

/// A silence this long between two lines ends a burst: a job that sleeps between attempts.
/// A display redrawn every second by `sleep 1` falls just under it with its own work, and a
/// second is long against the few milliseconds a pass takes to print.
pub const PASS_SILENCE: Duration = Duration::from_millis(1000);

/// Bursts remembered: a run of five alike ones and the one before it.
const KEPT: usize = 6;

/// Distinct templates kept per burst (a pass longer than this is compared on its first ones).
const MAX_TEMPLATES: usize = 256;

/// Least share of a burst's templates that the burst before printed too, and the reverse.
const ALIKE_SHARE: f64 = 0.5;

/// Lines of an opening whose recurrence, in order, begins the next pass: a test session's
/// banner and the first lines about its platform, enough that a body line printed again
/// does not pass for a header.
const OPENING: usize = 3;

/// A pause this long before a line (under the silence) may begin a pass: a job started
/// again takes a moment to print its header, an interpreter's start-up at least. The lines
/// after each such pause are remembered as an opening a later pass may begin with.
const HEADER_PAUSE: Duration = Duration::from_millis(200);

/// Openings remembered per burst: its own and those after its latest pauses.
const MAX_OPENINGS: usize = 4;

/// Distinct values kept per burst (each hashed with its kind); a burst that prints more is
/// not compared by its values.
const MAX_VALUES: usize = 1024;

/// One burst of output.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    pub started: Duration,
    pub latest: Duration,
    /// The template of its first line.
    pub first: u64,
    /// Its distinct templates, sorted.
    pub templates: Vec<u64>,
    pub lines: u64,
    /// It printed a template new to the run.
    pub novel: bool,
    /// It began where the opening of the burst before recurred, not after a silence.
    pub headed: bool,
    /// The templates of up to `OPENING` lines from its start or its latest pause, in order.
    recording: Vec<u64>,
    /// Openings a pass of it may begin with: its own first lines, and the lines after its
    /// latest pauses (`MAX_OPENINGS` in all), each of `OPENING` distinct templates.
    openings: Vec<[u64; OPENING]>,
    /// Its distinct values, each hashed with its kind (`Slots::value_hashes`), sorted;
    /// `None` once more than `MAX_VALUES`.
    values: Option<Vec<u64>>,
}

impl Burst {
    fn new(line: &Line) -> Burst {
        let mut burst = Burst {
            started: line.at,
            latest: line.at,
            first: line.template,
            templates: Vec::new(),
            lines: 0,
            novel: false,
            headed: false,
            recording: Vec::with_capacity(OPENING),
            openings: Vec::new(),
            values: Some(Vec::new()),
        };
        burst.add(line);
        burst
    }

    fn add(&mut self, line: &Line) {
        self.latest = line.at;
        self.lines += 1;
        self.novel |= line.novel;
        if line.paused {
            self.recording.clear();
        }
        if self.recording.len() < OPENING {
            self.recording.push(line.template);
            if let Ok(opening) = <[u64; OPENING]>::try_from(&self.recording[..]) {
                let distinct = (1..OPENING).all(|i| !opening[..i].contains(&opening[i]));
                if distinct && !self.openings.contains(&opening) {
                    if self.openings.len() == MAX_OPENINGS {
                        // The burst's own opening stays; the oldest pause's goes.
                        self.openings.remove(1);
                    }
                    self.openings.push(opening);
                }
            }
        }
        if let Err(i) = self.templates.binary_search(&line.template) {
            if self.templates.len() < MAX_TEMPLATES {
                self.templates.insert(i, line.template);
            }
        }
        let Some(values) = self.values.as_mut() else {
            return;
        };
        for &value in &line.values[..line.value_count] {
            if let Err(i) = values.binary_search(&value) {
                if values.len() == MAX_VALUES {
                    self.values = None;
                    return;
                }
                values.insert(i, value);
            }
        }
    }

    /// Whether `lines` (templates, oldest first) begin one of its openings.
    fn opens_with(&self, lines: &[u64]) -> bool {
        self.openings.iter().any(|o| o.starts_with(lines))
    }

    /// It printed only values the burst before printed too: the same pass in another order.
    /// Its templates are not compared beyond `ALIKE_SHARE`: which worker ran a test is in
    /// its line's template (`[gw0] [ 43%] PASSED`), and which one ran it this time is chance.
    fn repeats(&self, earlier: &Burst) -> bool {
        match (&self.values, &earlier.values) {
            (Some(later), Some(before)) => later.iter().all(|v| before.binary_search(v).is_ok()),
            _ => false,
        }
    }

    /// Share of the smaller burst's templates that the other one printed too.
    fn shared(&self, other: &Burst) -> f64 {
        let common = self
            .templates
            .iter()
            .filter(|t| other.templates.binary_search(t).is_ok())
            .count();
        common as f64 / self.templates.len().max(other.templates.len()).max(1) as f64
    }
}

/// Bursts at the tail that begin alike and print mostly the same templates.
#[derive(Debug, Clone, PartialEq)]
pub struct AlikeBursts {
    /// Oldest first; the last one may still be in progress.
    pub bursts: Vec<Burst>,
}

impl AlikeBursts {
    /// The bursts, the latest (perhaps still printing) included.
    pub fn passes(&self) -> u64 {
        self.bursts.len() as u64
    }

    /// Every template the bursts printed, each once.
    pub fn templates(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self
            .bursts
            .iter()
            .flat_map(|b| b.templates.iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Whether each complete burst after the first printed only values the burst before it
    /// printed (in whatever order): oldest first, one per complete burst but the first.
    pub fn repeated(&self) -> Vec<bool> {
        let complete = self.bursts.len().saturating_sub(1);
        self.bursts[..complete]
            .windows(2)
            .map(|w| w[1].repeats(&w[0]))
            .collect()
    }

    /// How regular their pace is: the coefficient of variation of the intervals, given three
    /// or more.
    pub fn cadence(&self) -> Option<f64> {
        super::cycle::cadence_of(&self.intervals())
    }

    /// The times between the starts of consecutive bursts, oldest first.
    pub fn intervals(&self) -> Vec<f64> {
        self.bursts
            .windows(2)
            .map(|w| w[1].started.saturating_sub(w[0].started).as_secs_f64())
            .collect()
    }
}

/// One text line, as the bursts keep it.
#[derive(Debug, Clone)]
struct Line {
    template: u64,
    at: Duration,
    novel: bool,
    /// It came after a pause of `HEADER_PAUSE` or more (or began the burst).
    paused: bool,
    /// Its values, each hashed with its slot and kind (`Slots::value_hashes`).
    values: [u64; MAX_SLOTS],
    value_count: usize,
}

#[derive(Debug, Default)]
pub struct Passes {
    recent: VecDeque<Burst>,
    /// Lines that repeat the latest burst's opening so far, held back until the last line of
    /// the opening shows whether they begin a pass.
    pending: Vec<Line>,
}

impl Passes {
    /// One text line: its template, its values hashed (`Slots::value_hashes`) and whether
    /// its template is new to the run.
    pub fn push_line(&mut self, template: u64, values: &[u64], at: Duration, novel: bool) {
        let latest = self
            .pending
            .last()
            .map(|l| l.at)
            .or(self.recent.back().map(|b| b.latest));
        let gap = latest.map(|latest| at.saturating_sub(latest));
        let mut line = Line {
            template,
            at,
            novel,
            paused: gap.is_none_or(|gap| gap >= HEADER_PAUSE),
            values: [0; MAX_SLOTS],
            value_count: values.len().min(MAX_SLOTS),
        };
        line.values[..line.value_count].copy_from_slice(&values[..line.value_count]);
        if gap.is_none_or(|gap| gap >= PASS_SILENCE) {
            self.release_pending();
            self.begin(&line);
            return;
        }
        let mut opening: Vec<u64> = self.pending.iter().map(|l| l.template).collect();
        opening.push(template);
        let burst = self.recent.back().expect("a burst is open");
        if !self.pending.is_empty() && burst.opens_with(&opening) {
            self.pending.push(line);
            if self.pending.len() == OPENING {
                let opening = std::mem::take(&mut self.pending);
                self.begin(&opening[0]);
                let burst = self.recent.back_mut().expect("just begun");
                burst.headed = true;
                opening[1..].iter().for_each(|l| burst.add(l));
            }
            return;
        }
        self.release_pending();
        let burst = self.recent.back_mut().expect("a burst is open");
        if burst.opens_with(&[template]) {
            self.pending.push(line);
        } else {
            burst.add(&line);
        }
    }

    /// Lines held back as a possible opening that turned out to be the burst's own.
    fn release_pending(&mut self) {
        if let Some(burst) = self.recent.back_mut() {
            self.pending.drain(..).for_each(|l| burst.add(&l));
        }
    }

    fn begin(&mut self, line: &Line) {
        if self.recent.len() == KEPT {
            self.recent.pop_front();
        }
        let first = Line {
            paused: true,
            ..line.clone()
        };
        self.recent.push_back(Burst::new(&first));
    }

    /// The run of alike bursts at the tail, if it holds two or more.
    pub fn alike(&self) -> Option<AlikeBursts> {
        let latest = self.recent.back()?;
        let mut start = self.recent.len() - 1;
        while start > 0 {
            let (earlier, later) = (&self.recent[start - 1], &self.recent[start]);
            // The latest burst may be printing still: its first line is all it must share.
            let complete = start + 1 < self.recent.len();
            let alike = later.first == earlier.first && (!complete || later.shared(earlier) >= ALIKE_SHARE);
            if !alike {
                break;
            }
            start -= 1;
        }
        let bursts: Vec<Burst> = self.recent.range(start..).cloned().collect();
        (bursts.len() >= 2 && bursts.last() == Some(latest)).then_some(AlikeBursts { bursts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_pass(bursts: &mut Passes, templates: &[u64], at: f64) {
        for (i, &t) in templates.iter().enumerate() {
            bursts.push_line(t, &[], Duration::from_secs_f64(at + 0.001 * i as f64), false);
        }
    }

    #[test]
    fn bursts_of_two_shapes_that_begin_alike_are_one_run() {
        let short: Vec<u64> = (1..=27).collect();
        let long: Vec<u64> = (1..=22).chain(100..120).collect();
        let mut bursts = Passes::default();
        for (n, pass) in [&short, &short, &long, &short, &long, &short].iter().enumerate() {
            push_pass(&mut bursts, pass, 2.0 * n as f64);
        }
        let alike = bursts.alike().expect("alike bursts");
        assert_eq!(alike.passes(), 6);
        assert_eq!(alike.intervals(), vec![2.0; 5]);
        assert_eq!(alike.templates().len(), 27 + 20);
    }

    #[test]
    fn lines_closer_than_the_silence_are_one_burst() {
        let mut bursts = Passes::default();
        for i in 0..50 {
            bursts.push_line(7, &[], Duration::from_millis(900 * i), false);
        }
        assert!(bursts.alike().is_none(), "one burst of 50 lines");
    }

    #[test]
    fn another_beginning_or_other_templates_end_the_run() {
        let mut bursts = Passes::default();
        push_pass(&mut bursts, &[1, 2, 3, 4], 0.0);
        push_pass(&mut bursts, &[9, 2, 3, 4], 2.0);
        push_pass(&mut bursts, &[9, 2, 3, 4], 4.0);
        assert_eq!(bursts.alike().map(|a| a.passes()), Some(2));
        push_pass(&mut bursts, &[9, 5, 6, 7], 6.0);
        push_pass(&mut bursts, &[9, 5, 6, 7], 8.0);
        assert_eq!(
            bursts.alike().map(|a| a.passes()),
            Some(2),
            "a burst sharing only its first line with the one before starts a new run"
        );
    }

    /// A test session's header (three lines), then `tests` result lines of template 10
    /// carrying the values `order` gives them, 20 ms apart from `at`: back to back, no
    /// silence anywhere.
    fn push_session(bursts: &mut Passes, at: f64, order: &[u64]) -> f64 {
        let mut t = at;
        for template in [1, 2, 3] {
            bursts.push_line(template, &[], Duration::from_secs_f64(t), false);
            t += 0.02;
        }
        for &value in order {
            bursts.push_line(10, &[value], Duration::from_secs_f64(t), false);
            t += 0.02;
        }
        bursts.push_line(11, &[], Duration::from_secs_f64(t), false);
        t + 0.5
    }

    #[test]
    fn a_recurring_header_begins_a_pass_without_a_silence() {
        let mut bursts = Passes::default();
        let mut at = 0.0;
        let orders: [&[u64]; 6] = [
            &[1, 2, 3, 4, 5],
            &[2, 1, 3, 5, 4],
            &[5, 4, 3, 2, 1],
            &[1, 3, 2, 4, 5],
            &[4, 5, 1, 2, 3],
            &[3, 1, 2, 5, 4],
        ];
        for order in orders {
            at = push_session(&mut bursts, at, order);
        }
        let alike = bursts.alike().expect("alike sessions");
        assert_eq!(alike.passes(), 6);
        assert_eq!(alike.bursts.iter().filter(|b| b.headed).count(), 5);
        assert!(alike.bursts[..5].iter().all(|b| b.lines == 9), "{alike:?}");
        assert_eq!(
            alike.repeated(),
            vec![true; 4],
            "the same values in another order"
        );
    }

    #[test]
    fn a_pass_with_a_value_the_one_before_lacked_does_not_repeat_it() {
        let mut bursts = Passes::default();
        let mut at = 0.0;
        for order in [[1, 2, 3], [3, 2, 1], [2, 3, 4], [4, 3, 2]] {
            at = push_session(&mut bursts, at, &order);
        }
        let alike = bursts.alike().expect("alike sessions");
        assert_eq!(alike.repeated(), vec![true, false]);
    }

    #[test]
    fn an_opening_line_printed_again_in_the_body_is_no_header() {
        // The first line recurs, but not followed by the rest of the opening; and a burst
        // that opens with one line three times is cut by silences only.
        let mut bursts = Passes::default();
        for (i, template) in [1, 2, 3, 4, 1, 5, 1, 2, 6, 7].into_iter().enumerate() {
            bursts.push_line(template, &[], Duration::from_millis(20 * i as u64), false);
        }
        for i in 0..30 {
            bursts.push_line(8, &[], Duration::from_millis(2000 + 20 * i), false);
        }
        assert_eq!(bursts.recent.len(), 2);
        assert_eq!(bursts.recent[0].lines, 10);
        assert_eq!(bursts.recent[1].lines, 30);
    }
}
