//! The values a line carries besides its template, and what kind of value each one is.
//!
//! The template masks every number; the detector still needs some of them. A count that
//! advances is progress (`step 1200`, `processed 450/1000`), a count that is part of a name
//! (`module_17.c`) is an item of work, a fraction that changes (`loss=0.31`) shows that
//! something other than an iteration number moves, and an identifier (`[pid 4242]`, a
//! request id, the pid in a log line's prefix) groups interleaved workers without ever
//! counting as progress. A line number is a place (`io.c:360`, a Python frame's `File
//! "db.py", line 42`): a loop's traceback names the same places every pass. `Slots` keeps
//! them in line order in a fixed array (no allocation per line); `Reading` is the form the
//! progress ring stores: values plus one bit mask per kind.

use super::template::fnv1a;

/// How many numbers and identifiers of a line are remembered for progress.
pub const MAX_SLOTS: usize = 8;

/// How a remembered value was written. A `Fraction` (a loss, a latency) and a `Key` (an
/// identifier, kept as a hash) never count as work done, but they show whether anything
/// else in the line changes, and keys tell parallel workers apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    Count,
    /// A count that is part of a name: `module_17.c`, `/users/123`; or a dotted version
    /// (`boto3-1.44.7`), valued so that versions sort as numbers.
    Name,
    /// A line or column in a source file: `io.c:360:14`, `src/main.rs:10`. A name too (a
    /// place, never an iteration number); a loop re-runs the same code, so the places it
    /// prints are the same every pass, or the same few in turn.
    Location,
    Fraction,
    Percent,
    RatioDone,
    RatioTotal,
    Key,
}

/// The plain numbers of one line, in order of appearance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slots {
    len: usize,
    /// The first duration of the line, in seconds (`AGE 12s`, `Up 12 seconds`, `[10s
    /// elapsed]`): kept apart from the numbers, since a duration is no count of work.
    pub elapsed: Option<f64>,
    /// The line reports what a model call used (`prompt_tokens`, `inputTokens`, a cost): it
    /// is a model's answer, paced by the model, not by a timer.
    pub model_usage: bool,
    kinds: [SlotKind; MAX_SLOTS],
    values: [f64; MAX_SLOTS],
    /// The line's readings, in order (`measures`): its plain counts, fractions, percentages
    /// and durations in seconds; never identifiers, names, places, times or done parts.
    measures: [f64; MAX_SLOTS],
    measure_count: usize,
}

impl Default for Slots {
    fn default() -> Slots {
        Slots {
            len: 0,
            elapsed: None,
            model_usage: false,
            kinds: [SlotKind::Count; MAX_SLOTS],
            values: [0.0; MAX_SLOTS],
            measures: [0.0; MAX_SLOTS],
            measure_count: 0,
        }
    }
}

impl Slots {
    pub fn clear(&mut self) {
        self.len = 0;
        self.elapsed = None;
        self.model_usage = false;
        self.measure_count = 0;
    }

    pub fn push(&mut self, kind: SlotKind, value: f64) {
        if self.len < MAX_SLOTS && value.is_finite() {
            self.kinds[self.len] = kind;
            self.values[self.len] = value;
            self.len += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn kind(&self, i: usize) -> Option<SlotKind> {
        (i < self.len).then(|| self.kinds[i])
    }

    pub fn value(&self, i: usize) -> Option<f64> {
        (i < self.len).then(|| self.values[i])
    }

    /// The line carries an identifier (a request or call id, a pid).
    pub fn has_key(&self) -> bool {
        self.kinds[..self.len].contains(&SlotKind::Key)
    }

    /// Records one reading of the line: a value that may be a measurement (`measures`).
    pub fn push_measure(&mut self, value: f64) {
        if self.measure_count < MAX_SLOTS && value.is_finite() {
            self.measures[self.measure_count] = value;
            self.measure_count += 1;
        }
    }

    /// The line's readings, in order.
    pub fn measures(&self) -> &[f64] {
        &self.measures[..self.measure_count]
    }

    /// Each kept number and identifier hashed with its kind, into `out`; how many there are.
    pub fn value_hashes(&self, out: &mut [u64; MAX_SLOTS]) -> usize {
        for (i, hash) in out.iter_mut().enumerate().take(self.len) {
            let kind = super::template::fnv_mix(super::template::FNV_OFFSET, self.kinds[i] as u64);
            *hash = super::template::fnv_mix(kind, self.values[i].to_bits());
        }
        self.len
    }

    /// A hash of the kept numbers and identifiers with their kinds: equal for two lines of
    /// one template that say the same thing.
    pub fn hash(&self) -> u64 {
        (0..self.len).fold(super::template::FNV_OFFSET, |hash, i| {
            let hash = super::template::fnv_mix(hash, self.kinds[i] as u64);
            super::template::fnv_mix(hash, self.values[i].to_bits())
        })
    }
}

/// The slot values of one line and which slots are percentages, done parts of ratios,
/// identifiers and fractions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    pub values: [f64; MAX_SLOTS],
    pub percent: u8,
    pub ratio: u8,
    pub keys: u8,
    pub fractions: u8,
    /// Counts that are part of a name (`module_17.c`): items, never iteration numbers.
    pub names: u8,
    /// The names among them that are source locations (`io.c:360`).
    pub locations: u8,
}

impl Reading {
    pub fn of(slots: &Slots) -> Reading {
        let mut r = Reading {
            values: [f64::NAN; MAX_SLOTS],
            ..Reading::default()
        };
        for i in 0..slots.len() {
            r.values[i] = slots.value(i).unwrap_or(f64::NAN);
            let bit = 1 << i;
            match slots.kind(i) {
                Some(SlotKind::Percent) => r.percent |= bit,
                Some(SlotKind::RatioDone) => r.ratio |= bit,
                Some(SlotKind::Key) => r.keys |= bit,
                Some(SlotKind::Fraction) => r.fractions |= bit,
                Some(SlotKind::Name) => r.names |= bit,
                Some(SlotKind::Location) => {
                    r.names |= bit;
                    r.locations |= bit;
                }
                _ => {}
            }
        }
        r
    }

    pub fn is_empty(&self) -> bool {
        self.values.iter().all(|v| v.is_nan())
    }
}

/// An identifier as a slot value: 53 bits of its hash, exact in an f64.
pub fn key_value(text: &[u8]) -> f64 {
    (fnv1a(text) >> 11) as f64
}

/// True when the number at `at` is part of a name (`module_17.c`, `run-17/`, `/users/123`):
/// a separator between it and a letter. Names that count up are items of work, whereas a
/// free-standing number that counts up by one may be a loop numbering its passes.
pub fn in_name(s: &[u8], at: &std::ops::Range<usize>) -> bool {
    let before = at.start >= 2 && b"_-./".contains(&s[at.start - 1]) && s[at.start - 2].is_ascii_alphabetic();
    let after = at.end + 1 < s.len() && b"_-.".contains(&s[at.end]) && s[at.end + 1].is_ascii_alphabetic();
    before || after || in_address_index(s, at)
}

/// True when the number at `at` indexes a dotted address (`terraform_data.step[19]`,
/// `module.vpc.aws_subnet.private[2]`): one of the resources a plan creates. A program's
/// name with its pid (`sshd[1234]:`, as syslog writes it) has no dot.
fn in_address_index(s: &[u8], at: &std::ops::Range<usize>) -> bool {
    if at.start < 2 || s[at.start - 1] != b'[' || s.get(at.end) != Some(&b']') {
        return false;
    }
    let address = s[..at.start - 1]
        .iter()
        .rev()
        .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
        .count();
    let word = &s[at.start - 1 - address..at.start - 1];
    word.contains(&b'.')
        && word
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// True when the number at `at` is a line or column of a source location: it follows a
/// colon after a file name with an extension (`io.c:360`, `main.rs:10`), or after such a
/// line number (the `14` of `io.c:360:14`), or the word `line` after such a file name (a
/// Python traceback's `File "/app/db.py", line 42`, Perl's `at x.pl line 7.`).
pub fn in_location(s: &[u8], at: &std::ops::Range<usize>) -> bool {
    if after_file_and_line_word(s, at.start) {
        return true;
    }
    let Some(colon) = at.start.checked_sub(1).filter(|&c| s[c] == b':') else {
        return false;
    };
    let mut end = colon;
    // The column's line: digits after another colon.
    let digits = s[..end].iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        match end.checked_sub(digits + 1) {
            Some(c) if s[c] == b':' => end = c,
            _ => return false,
        }
    }
    // The extension: one to five letters or digits, at least one a letter, after a dot
    // that follows a file name's character.
    ends_in_file_name(&s[..end])
}

/// True when `s` ends in a file name with an extension: one to five letters or digits, at
/// least one a letter, after a dot that follows a file name's character (`io.c`, `db.py`).
fn ends_in_file_name(s: &[u8]) -> bool {
    let end = s.len();
    let ext = s.iter().rev().take_while(|b| b.is_ascii_alphanumeric()).count();
    let dot = end.checked_sub(ext + 1);
    (1..=5).contains(&ext)
        && s[end - ext..end].iter().any(u8::is_ascii_alphabetic)
        && dot
            .is_some_and(|d| s[d] == b'.' && d > 0 && (s[d - 1].is_ascii_alphanumeric() || s[d - 1] == b'_'))
}

/// True when `line ` stands before `start`, and before it, but for a closing quote, a comma
/// and spaces, a file name with an extension (`File "/app/db.py", line 42`, `at x.pl line
/// 7`) or the quoted name Python gives code without a file (`File "<frozen os>", line 679`,
/// `"<string>"`).
fn after_file_and_line_word(s: &[u8], start: usize) -> bool {
    let Some(before) = start.checked_sub(5).map(|w| &s[..w]) else {
        return false;
    };
    if !s[start - 5..start].eq_ignore_ascii_case(b"line ") {
        return false;
    }
    let name_end = before.len()
        - before
            .iter()
            .rev()
            .take(4)
            .take_while(|&&b| matches!(b, b' ' | b',' | b'"' | b'\''))
            .count();
    let name = &before[..name_end];
    let pseudo = before.get(name_end) == Some(&b'"')
        && name.ends_with(b">")
        && name.iter().rev().take(64).any(|&b| b == b'<');
    name_end < before.len() && (ends_in_file_name(name) || pseudo)
}

/// Severities a lint report's position line names after the position (`error`, `warning`,
/// stylelint's `✖` and `⚠`).
const LINT_SEVERITIES: [&[u8]; 10] = [
    b"error",
    b"warning",
    b"warn",
    b"info",
    b"note",
    b"hint",
    b"fatal",
    "✖".as_bytes(),
    "⚠".as_bytes(),
    "×".as_bytes(),
];

/// A lint report's position at `i`, the first thing on its line: a line and a column, then
/// a severity (`  12:5  error  'x' is never used  no-unused-vars`, the stylish format of
/// ESLint, yamllint and stylelint, which name the file once in a header line above its
/// problems). Returns the line, the column and where the position ends. Both are places in
/// that file, never a clock time (`7:30`) or an iteration number.
pub fn lint_position(s: &[u8], i: usize) -> Option<(f64, f64, usize)> {
    if !s[..i].iter().all(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    let digits_at = |j: usize| {
        s.get(j..)
            .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let line_len = digits_at(i);
    let colon = i + line_len;
    let col_len = digits_at(colon + 1);
    if line_len == 0 || s.get(colon) != Some(&b':') || col_len == 0 {
        return None;
    }
    let end = colon + 1 + col_len;
    let gap = s[end..].iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let rest = &s[end + gap..];
    let severity = LINT_SEVERITIES.iter().any(|word| {
        rest.len() >= word.len()
            && rest[..word.len()].eq_ignore_ascii_case(word)
            && rest.get(word.len()).is_none_or(|b| !b.is_ascii_alphanumeric())
    });
    let number = |from: usize, to: usize| std::str::from_utf8(&s[from..to]).ok()?.parse::<f64>().ok();
    if gap == 0 || !severity {
        return None;
    }
    Some((number(i, colon)?, number(colon + 1, end)?, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_stop_at_their_capacity_and_skip_non_finite_values() {
        let mut slots = Slots::default();
        for i in 0..20 {
            slots.push(SlotKind::Count, f64::from(i));
        }
        slots.push(SlotKind::Count, f64::NAN);
        assert_eq!(slots.len(), MAX_SLOTS);
        assert_eq!(slots.value(MAX_SLOTS - 1), Some((MAX_SLOTS - 1) as f64));
        assert_eq!(slots.value(MAX_SLOTS), None);
        slots.clear();
        slots.push(SlotKind::Fraction, f64::INFINITY);
        assert_eq!(slots.len(), 0);
    }

    #[test]
    fn numbers_in_names_are_told_from_free_standing_ones() {
        let at = |s: &str, n: &str| {
            let i = s.find(n).expect("present");
            in_name(s.as_bytes(), &(i..i + n.len()))
        };
        assert!(at("cc -c src/module_17.c", "17"));
        assert!(at("GET /users/123 200", "123"));
        assert!(at("run-42/out", "42"));
        assert!(!at("--- step 41 ---", "41"));
        assert!(!at("range 10-20 done", "20"));
        assert!(!at("step=41", "41"));
        assert!(at("terraform_data.step[19]: Creating...", "19"));
        assert!(at(
            "module.vpc.aws_subnet.private[2]: Still creating... [10s elapsed]",
            "2"
        ));
        assert!(!at(
            "Dec  2 18:01:23 build-7 sshd[1234]: Accepted publickey",
            "1234"
        ));
        assert!(!at("retry [3] of 5", "3"));
        let place = |s: &str, n: &str| {
            let i = s.find(n).expect("present");
            in_location(s.as_bytes(), &(i..i + n.len()))
        };
        assert!(place("./Modules/io.c:360:14: note", "360"));
        assert!(place("./Modules/io.c:360:14: note", "14"));
        assert!(place("  --> src/main.rs:10:5", "10"));
        assert!(place("at handler (/app/server.js:42:17)", "42"));
        assert!(!place("connect localhost:5432 refused", "5432"));
        assert!(!place("ratio 3:14 done", "14"));
        assert!(!place("v1.2:3", "3"));
        assert!(!place("io.c 360", "360"));
        assert!(place(r#"  File "/app/db.py", line 42, in connect"#, "42"));
        assert!(place("Died at /opt/tools/sync.pl line 7.", "7"));
        assert!(place(
            r#"  File "<frozen importlib._bootstrap>", line 1204, in _gcd_import"#,
            "1204"
        ));
        assert!(place(r#"  File "<string>", line 1, in <module>"#, "1"));
        assert!(!place("read config.yaml: 3 errors on line 12", "12"));
        assert!(!place("line 12 of the input", "12"));
        let lint = |s: &str| {
            lint_position(
                s.as_bytes(),
                s.find(|c: char| c.is_ascii_digit()).expect("a digit"),
            )
        };
        assert_eq!(
            lint("  12:5  error  'x' is never used  no-unused-vars"),
            Some((12.0, 5.0, 6))
        );
        assert_eq!(
            lint("  7:30   warning  Missing semicolon  semi").map(|p| p.0),
            Some(7.0)
        );
        assert_eq!(
            lint(" 3:15  ✖  Unexpected unknown property  property-no-unknown").map(|p| p.1),
            Some(15.0)
        );
        assert_eq!(
            lint("  10:81     error    line too long (85 > 80 characters)").map(|p| p.1),
            Some(81.0)
        );
        assert_eq!(lint("7:30 backup started"), None, "a clock time");
        assert_eq!(lint("at 7:30 error"), None, "not the first thing on the line");
        assert_eq!(lint("  12:5  errors found"), None);
        assert_eq!(lint("  12:5error"), None);
        assert_eq!(key_value(b"a3f9c2"), key_value(b"a3f9c2"));
        assert_ne!(key_value(b"a3f9c2"), key_value(b"a3f9c3"));
    }

    #[test]
    fn a_reading_marks_each_kind() {
        let mut slots = Slots::default();
        for (kind, v) in [
            (SlotKind::Key, 9.0),
            (SlotKind::Percent, 45.0),
            (SlotKind::RatioDone, 450.0),
            (SlotKind::RatioTotal, 1000.0),
            (SlotKind::Fraction, 0.31),
            (SlotKind::Name, 17.0),
            (SlotKind::Location, 360.0),
        ] {
            slots.push(kind, v);
        }
        let r = Reading::of(&slots);
        assert_eq!(
            (r.keys, r.percent, r.ratio, r.fractions, r.names, r.locations),
            (0b1, 0b10, 0b100, 0b1_0000, 0b110_0000, 0b100_0000)
        );
        assert_eq!(r.values[3], 1000.0);
        assert!(r.values[7].is_nan());
        assert!(!r.is_empty());
        assert!(Reading::of(&Slots::default()).is_empty());
    }
}
