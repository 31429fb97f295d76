//! A warning printed once per round of work is not, at first, a loop.
//!
//! Libraries warn about the work they are doing and go on doing it: LightGBM warns
//! `[LightGBM] [Warning] No further splits with positive gain, best gain: -inf` for every
//! tree that finds no split, a hundred identical lines before `log_evaluation(100)` prints
//! its first `[100] valid_0's l2: ...` (and on a loaded machine that takes ten seconds or
//! more). Until that line, nothing in the output moves: the warnings are as exact a
//! one-line cycle as a consumer that lost its sleep. What sets them apart is what the line
//! says. A warning about the work (`Wording::advisory`: a warning's severity word and
//! nothing failing, retried or redone, no wait, no crash, no empty result) reports a
//! condition the job goes on working under; a loop's own warning says what it does over
//! again (`polling again`, `reloading checkpoint`, `re-queueing`) or that something failed.
//!
//! So such a warning, repeated with nothing else between, is not acted on for its first
//! [`FLOOD_LINES`] lines and [`FLOOD_SPAN`] since the job last printed anything else: room
//! for a booster's round counter to show up in its evaluation line, after which the
//! returning counter says the run trains. The detector's hold runs meanwhile, so a fast
//! loop of such a warning (two hundred lines a second) is stopped no later than any other,
//! and a slow one once it has outlasted the bounds. Any other line starts the count again,
//! but for one that begins as the warning does (its template text up to the first masked
//! value): that is the warning again with a value read another way (a random key that
//! happened to be all digits), not the job printing something else.

use super::template::fnv1a;
use std::time::Duration;

/// Lines of one warning, with nothing else between, not acted on: a booster's evaluation
/// period is at most a hundred rounds or so, with a warning or two per round.
pub const FLOOD_LINES: u64 = 256;

/// How long such a warning is not acted on at most, however few its lines.
pub const FLOOD_SPAN: Duration = Duration::from_secs(20);

/// Bytes of a template's text read for its stem, at most.
const STEM_LIMIT: usize = 64;

/// A template's stem: the hash of its text up to the first masked value (`<n>`, `<id>`).
pub fn stem(template_text: &[u8]) -> u64 {
    let text = &template_text[..template_text.len().min(STEM_LIMIT)];
    let end = text.iter().position(|&b| b == b'<').unwrap_or(text.len());
    fnv1a(&text[..end])
}

/// The latest warning about the work and how many of its lines (lines that begin as it
/// does) came in a row since the job last printed anything else, on either stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct Streak {
    warning: Option<u64>,
    stem: u64,
    lines: u64,
    since: Duration,
}

impl Streak {
    /// One line of `template`, whose text begins as `stem`; `advisory` when it is a warning
    /// about the work (`Wording::advisory`).
    pub fn observe(&mut self, template: u64, stem: u64, advisory: bool, at: Duration) {
        let same = self.warning.is_some() && self.stem == stem;
        if same && (advisory || self.lines > 0) {
            self.lines += 1;
        } else if advisory {
            *self = Streak {
                warning: Some(template),
                stem,
                lines: 1,
                since: at,
            };
        } else if !same {
            // Something else: the warning's count starts again from here.
            self.lines = 0;
            self.since = at;
        }
    }

    /// The latest warning about the work, its lines in a row since the job last printed
    /// anything else (none yet when that was the latest line), and since when.
    pub fn latest(&self) -> Option<(u64, u64, Duration)> {
        Some((self.warning?, self.lines, self.since))
    }
}

/// A warning about the work repeated with nothing between, as the judged loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Flood {
    pub lines: u64,
    pub span: Duration,
}

impl Flood {
    /// Still within the bounds a warning per round of work is given.
    pub fn held(&self) -> bool {
        self.lines < FLOOD_LINES && self.span < FLOOD_SPAN
    }

    /// The protection, in words.
    pub fn describe(&self) -> String {
        format!(
            "a warning about the work repeated {} times in {:.1} s with nothing else between (as \
             a library warns once per round of work; held for its first {FLOOD_LINES} lines or \
             {:.0} s)",
            self.lines,
            self.span.as_secs_f64(),
            FLOOD_SPAN.as_secs_f64()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_counts_a_warning_s_lines_in_a_row() {
        let mut streak = Streak::default();
        let at = Duration::from_millis;
        streak.observe(
            1,
            stem(b"[LightGBM] [Info] Start training from score <n>"),
            false,
            at(0),
        );
        assert_eq!(streak.latest(), None, "no warning yet");
        let warning = stem(b"warning: cache miss for key user:<id>");
        for i in 1..=5 {
            streak.observe(7, warning, true, at(10 * i));
        }
        assert_eq!(streak.latest(), Some((7, 5, at(10))));
        // The same warning with its key read as a number: the same stem.
        assert_eq!(warning, stem(b"warning: cache miss for key user:<n>"));
        streak.observe(9, warning, true, at(60));
        assert_eq!(streak.latest(), Some((7, 6, at(10))));
        // An evaluation line: the count starts again from it, and goes on with the warning.
        streak.observe(8, stem(b"[<n>] valid_0's l2: <n>"), false, at(70));
        assert_eq!(streak.latest(), Some((7, 0, at(70))));
        streak.observe(7, warning, true, at(80));
        streak.observe(7, warning, true, at(90));
        assert_eq!(streak.latest(), Some((7, 2, at(70))));
        // Another warning about the work is a streak of its own.
        streak.observe(
            3,
            stem(b"[LightGBM] [Warning] Stopped training because there are no more leaves"),
            true,
            at(95),
        );
        assert_eq!(streak.latest(), Some((3, 1, at(95))));
    }

    #[test]
    fn a_warning_flood_is_held_within_its_bounds_only() {
        let flood = |lines, span_s| Flood {
            lines,
            span: Duration::from_secs(span_s),
        };
        assert!(flood(100, 12).held());
        assert!(
            flood(100, 5)
                .describe()
                .starts_with("a warning about the work repeated 100 times in 5.0 s"),
            "{}",
            flood(100, 5).describe()
        );
        assert!(!flood(FLOOD_LINES, 5).held(), "a fast warning loop");
        assert!(!flood(100, 20).held(), "a slow warning loop");
    }
}
