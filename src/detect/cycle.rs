//! The cycle at the tail of the output: which period repeats right now, and for how long.
//!
//! A runaway loop prints the same sequence of templates again and again: `A A A`,
//! `A B A B`, `A B C A B C`. For every period k in 1..=`MAX_PERIOD` the tracker keeps the
//! length of the current run of lines whose template equals the template k lines earlier,
//! and when that run began. Each line updates all periods in O(`MAX_PERIOD`) with no
//! allocation, using a small ring of the most recent templates. Judging the *tail* run rather
//! than the whole window is what lets a loop be caught a second after it starts even when
//! the window is still full of the healthy output that came before it; and an exact match at
//! a fixed distance is what separates a loop from a busy but random mix of a few templates
//! (an access log), whose runs break within a few lines.
//!
//! `push` also returns, as a bit mask, which periods matched on this line, so the window can
//! count matches per period for the weaker "repetition without an exact cycle" judgement.

use std::time::Duration;

/// Longest cycle looked for, in lines.
pub const MAX_PERIOD: usize = 16;

const RING: usize = 32;

/// The strongest tail cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct TailCycle {
    /// Lines per pass of the cycle.
    pub period: usize,
    /// Lines at the tail equal to the line `period` before them.
    pub run: u64,
    /// When the first line of the first pass was seen.
    pub started: Duration,
    /// When the latest line was seen.
    pub latest: Duration,
    /// The templates of the latest pass, oldest first (length `period`).
    pub templates: Vec<u64>,
}

impl TailCycle {
    /// Complete passes of the cycle in the run, the first one included.
    pub fn repetitions(&self) -> u64 {
        self.run / self.period as u64 + 1
    }

    /// Time from the first line of the first pass to the latest line.
    pub fn span(&self) -> Duration {
        self.latest.saturating_sub(self.started)
    }
}

#[derive(Debug)]
pub struct CycleTracker {
    templates: [u64; RING],
    times: [Duration; RING],
    lines: u64,
    runs: [u64; MAX_PERIOD + 1],
    starts: [Duration; MAX_PERIOD + 1],
}

impl Default for CycleTracker {
    fn default() -> CycleTracker {
        CycleTracker {
            templates: [0; RING],
            times: [Duration::ZERO; RING],
            lines: 0,
            runs: [0; MAX_PERIOD + 1],
            starts: [Duration::ZERO; MAX_PERIOD + 1],
        }
    }
}

impl CycleTracker {
    fn slot(&self, back: usize) -> usize {
        // `lines` counts pushed lines; `back` = 1 is the latest one.
        ((self.lines as usize).wrapping_sub(back)) % RING
    }

    /// Adds a line's template; returns the periods that matched (bit k-1 for period k).
    pub fn push(&mut self, template: u64, at: Duration) -> u16 {
        let mut matched = 0u16;
        for k in 1..=MAX_PERIOD {
            if self.lines >= k as u64 && self.templates[self.slot(k)] == template {
                if self.runs[k] == 0 {
                    self.starts[k] = self.times[self.slot(k)];
                }
                self.runs[k] += 1;
                matched |= 1 << (k - 1);
            } else {
                self.runs[k] = 0;
            }
        }
        let slot = self.slot(0);
        self.templates[slot] = template;
        self.times[slot] = at;
        self.lines += 1;
        matched
    }

    /// The period with the longest run (the smallest such period on a tie), if any matched.
    pub fn tail(&self) -> Option<TailCycle> {
        let mut best = 0;
        for k in 1..=MAX_PERIOD {
            if self.runs[k] > self.runs[best] {
                best = k;
            }
        }
        if best == 0 {
            return None;
        }
        let templates = (1..=best).rev().map(|back| self.templates[self.slot(back)]).collect();
        Some(TailCycle {
            period: best,
            run: self.runs[best],
            started: self.starts[best],
            latest: self.times[self.slot(1)],
            templates,
        })
    }

    /// Lines pushed so far.
    #[cfg(test)]
    pub fn lines(&self) -> u64 {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(sequence: &str) -> CycleTracker {
        let mut tracker = CycleTracker::default();
        for (i, c) in sequence.chars().enumerate() {
            tracker.push(u64::from(c), Duration::from_millis(100 * i as u64));
        }
        tracker
    }

    fn shape(sequence: &str) -> Option<(usize, u64, u64)> {
        feed(sequence).tail().map(|t| (t.period, t.run, t.repetitions()))
    }

    #[test]
    fn finds_the_period_at_the_tail() {
        assert_eq!(shape("AAAA"), Some((1, 3, 4)));
        assert_eq!(shape("ABABAB"), Some((2, 4, 3)));
        assert_eq!(shape("ABCABCABC"), Some((3, 6, 3)));
        assert_eq!(shape("xyzqABCDEABCDEABCDE"), Some((5, 10, 3)));
        assert_eq!(shape("ABCD"), None);
    }

    #[test]
    fn healthy_prefix_does_not_hide_the_loop() {
        let t = feed("abcdefghijklmnopqrstuvwxyzABABABAB").tail().expect("a cycle");
        assert_eq!((t.period, t.run), (2, 6));
        assert_eq!(t.started, Duration::from_millis(2600), "first line of the first pass");
        assert_eq!(t.latest, Duration::from_millis(3300));
        assert_eq!(t.span(), Duration::from_millis(700));
        assert_eq!(t.templates, vec![u64::from('A'), u64::from('B')]);
    }

    #[test]
    fn a_break_resets_the_run() {
        assert_eq!(shape("AAAAAAB"), None);
        assert_eq!(shape("AAAAAABB"), Some((1, 1, 2)));
    }

    #[test]
    fn twelve_line_cycles_are_seen() {
        let pass = "ABCDEFGHIJKL";
        let t = feed(&pass.repeat(4)).tail().expect("a cycle");
        assert_eq!((t.period, t.repetitions()), (12, 4));
        assert_eq!(t.templates.len(), 12);
    }

    #[test]
    fn match_mask_names_the_matching_periods() {
        let mut tracker = feed("ABAB");
        assert_eq!(tracker.push(u64::from('A'), Duration::from_secs(1)), 0b1010);
        assert_eq!(tracker.push(u64::from('C'), Duration::from_secs(1)), 0);
        assert_eq!(tracker.lines(), 6);
    }

    #[test]
    fn long_runs_keep_their_start_beyond_the_ring() {
        let t = feed(&"A".repeat(500)).tail().expect("a cycle");
        assert_eq!((t.period, t.run, t.started), (1, 499, Duration::ZERO));
    }
}
