//! Cycles too long for the tail tracker, seen through a sample of their lines.
//!
//! The tail tracker compares each line with the line k back for every k up to
//! `MAX_PERIOD` (128): enough for a Python traceback, not for a Java service that dies at
//! start-up and is started again, whose pass is a banner, a few dozen log lines and a
//! stack trace of a hundred frames or more. Raising the period costs every line of every
//! job. Instead, a second tracker follows a sample of the lines chosen by their content:
//! the lines whose template hash falls in one quarter of the hash space (about one line in
//! `1 / SAMPLE_SHARE`), with a run of the same sampled template folded into one (the frames
//! of a deep recursion print one template a hundred times). A sequence that repeats has a
//! sample that repeats, with as many sampled lines per pass as the pass holds; so a pass of
//! 500 lines is a cycle of about 125 sampled ones, which the same tracker finds.
//!
//! The sample is blind to the three quarters of the lines it leaves out, so a cycle found
//! in it counts only when the full output agrees: the sampled lines a pass apart must be
//! the same number of lines apart in the output, pass after pass (an exact loop prints the
//! same number of lines each time; a job that reports on one item after another in blocks
//! of varying length does not), that distance must be beyond what the tail tracker sees,
//! and no template new to the run may have appeared in the latest pass (a loop prints
//! nothing new; the next item's block names the next item). The cycle is then reported in
//! lines, as the tail tracker reports its own: a period of that many lines, the run scaled
//! to lines, and the templates of the whole latest pass from the merged output's ring, so
//! wording, progress and crash reports are read from every line of the pass, not only the
//! sampled ones.

use super::cycle::{CycleTracker, Novelty, TailCycle, MAX_PERIOD};
use super::prose::Gist;
use std::time::Duration;

/// One line in this many is sampled (by template hash).
const SAMPLE_SHARE: u64 = 4;
/// Sampled lines remembered with their line numbers: two passes of the longest cycle the
/// sampled tracker can find, and one more line.
const LINES_KEPT: usize = 2 * MAX_PERIOD + 1;

#[derive(Debug)]
pub struct SampledCycles {
    tracker: CycleTracker,
    /// The merged output's line number of each sampled line, as a ring.
    line_numbers: [u64; LINES_KEPT],
    sampled: usize,
    last_template: Option<u64>,
    /// The merged line number of the latest line whose template was new to the run.
    last_novel: Option<u64>,
}

impl Default for SampledCycles {
    fn default() -> SampledCycles {
        SampledCycles {
            tracker: CycleTracker::default(),
            line_numbers: [0; LINES_KEPT],
            sampled: 0,
            last_template: None,
            last_novel: None,
        }
    }
}

/// Whether a template belongs to the sample: its hash's top bits, which FNV-1a mixes well.
fn sampled(template: u64) -> bool {
    (template >> 48) % SAMPLE_SHARE == 0
}

impl SampledCycles {
    /// One line of the merged output, which is its `line`-th (counting from 1).
    pub fn push_line(&mut self, template: u64, gist: Gist, at: Duration, novelty: Novelty, line: u64) {
        if novelty.new_in_run {
            self.last_novel = Some(line);
        }
        if !sampled(template) || self.last_template == Some(template) {
            return;
        }
        self.last_template = Some(template);
        self.line_numbers[self.sampled % LINES_KEPT] = line;
        self.sampled += 1;
        self.tracker.push_line(template, gist, at, novelty);
    }

    /// Lines went unobserved: the sample resumes at whatever phase follows.
    pub fn gap(&mut self) {
        self.tracker.gap();
        self.last_template = None;
    }

    /// The merged line number of the sampled line `back` places before the latest (0 = the
    /// latest), if it is still remembered.
    fn line_of(&self, back: usize) -> Option<u64> {
        (back < self.sampled.min(LINES_KEPT))
            .then(|| self.line_numbers[(self.sampled - 1 - back) % LINES_KEPT])
    }

    /// The cycle of the sample, in lines of the merged output (`merged` is its tracker), when
    /// the full output agrees with it.
    pub fn tail(&self, merged: &CycleTracker) -> Option<TailCycle> {
        let tail = self.tracker.tail()?;
        let k = tail.period;
        let (latest, pass_before, two_before) = (self.line_of(0)?, self.line_of(k)?, self.line_of(2 * k)?);
        let lines_per_pass = latest - pass_before;
        if lines_per_pass != pass_before - two_before || lines_per_pass <= MAX_PERIOD as u64 {
            return None;
        }
        if self
            .last_novel
            .is_some_and(|novel| novel + lines_per_pass > latest)
        {
            return None;
        }
        let period = usize::try_from(lines_per_pass).ok()?;
        // The whole latest pass, from the merged ring, each template once.
        let mut templates = merged.recent_templates(period)?;
        let mut seen = std::collections::HashSet::with_capacity(templates.len());
        templates.retain(|t| seen.insert(*t));
        let scale = |sampled_lines: u64| sampled_lines * lines_per_pass / k as u64;
        Some(TailCycle {
            period,
            run: scale(tail.run),
            misses: scale(tail.misses),
            verbatim: scale(tail.verbatim),
            templates,
            ..tail
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_all(cycles: &mut SampledCycles, merged: &mut CycleTracker, lines: &[u64], t0: f64) {
        for (i, &template) in lines.iter().enumerate() {
            let at = Duration::from_secs_f64(t0 + i as f64 * 0.001);
            let novelty = Novelty::default();
            merged.push_line(template, Gist::of_template(template), at, novelty);
            cycles.push_line(template, Gist::of_template(template), at, novelty, merged.lines());
        }
    }

    /// Distinct templates, a quarter of them sampled, like real lines' hashes.
    fn templates(n: usize, seed: u64) -> Vec<u64> {
        (0..n as u64)
            .map(|i| (i + seed).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17))
            .collect()
    }

    #[test]
    fn a_pass_longer_than_the_tail_tracker_sees_is_found_in_lines() {
        let pass = templates(300, 1);
        assert!(
            pass.iter().filter(|&&t| sampled(t)).count() > 30,
            "a quarter sampled"
        );
        let (mut cycles, mut merged) = (SampledCycles::default(), CycleTracker::default());
        for n in 0..4 {
            push_all(&mut cycles, &mut merged, &pass, n as f64);
        }
        assert!(merged.tail().is_none_or(|t| t.period <= MAX_PERIOD));
        let tail = cycles.tail(&merged).expect("the long cycle");
        assert_eq!(tail.period, 300);
        assert!(tail.run >= 2 * 300, "run in lines: {}", tail.run);
        assert_eq!(tail.templates.len(), 300, "every template of the pass");
    }

    #[test]
    fn a_recursion_printing_one_frame_many_times_folds() {
        let frame = (100..)
            .map(|seed| templates(1, seed)[0])
            .find(|&t| sampled(t))
            .expect("a sampled frame");
        let mut pass = templates(40, 7);
        pass.extend(std::iter::repeat_n(frame, 200));
        let (mut cycles, mut merged) = (SampledCycles::default(), CycleTracker::default());
        for n in 0..4 {
            push_all(&mut cycles, &mut merged, &pass, n as f64);
        }
        assert_eq!(cycles.tail(&merged).expect("the long cycle").period, 240);
    }

    #[test]
    fn blocks_of_varying_length_are_no_cycle() {
        // The same 200-line report per item, one more line of details each time.
        let block = templates(200, 3);
        let (mut cycles, mut merged) = (SampledCycles::default(), CycleTracker::default());
        for n in 0..5 {
            let mut pass = block.clone();
            pass.extend(templates(n + 1, 1000));
            push_all(&mut cycles, &mut merged, &pass, n as f64);
        }
        assert!(cycles.tail(&merged).is_none());
    }

    #[test]
    fn a_new_template_in_the_latest_pass_is_no_loop() {
        let pass = templates(200, 5);
        let (mut cycles, mut merged) = (SampledCycles::default(), CycleTracker::default());
        for n in 0..4 {
            push_all(&mut cycles, &mut merged, &pass, n as f64);
        }
        assert!(cycles.tail(&merged).is_some());
        let novel = Novelty {
            new_in_run: true,
            ..Novelty::default()
        };
        let line = merged.lines() + 1;
        merged.push_line(7, Gist::of_template(7), Duration::from_secs(5), novel);
        cycles.push_line(7, Gist::of_template(7), Duration::from_secs(5), novel, line);
        assert!(cycles.tail(&merged).is_none());
    }
}
