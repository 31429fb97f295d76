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
//! A run survives the odd mismatch: one per `TOLERANCE` matched lines. Real loops are not
//! always byte-for-byte regular after masking (a random hex id that happens to be all digits
//! reads as a number, an occasional GC line interrupts), and one stray line must not throw
//! away seconds of evidence. A stray line costs two mismatches (the line itself and the line
//! a period later), so a run needs a few dozen matched lines before it can absorb one; when a
//! loop really ends, mismatches pile up and the run resets, and in the meantime its last match
//! ages, which the scorer treats as staleness.
//!
//! A run is also tied to its content: the wrapping sum of the templates of the last k lines
//! (the same for every rotation of a cycle) is remembered when the run starts, and a match
//! while that sum differs means a different loop took over (a healthy `step N` run followed
//! by a stuck `retrying` run would otherwise absorb the switch and claim the whole span),
//! so the run restarts there.
//!
//! A pass may also print its lines in another order: parallel workers (hosts of a
//! playbook, forks of a test runner) report as each finishes, so `ok: [web03]` comes before
//! `ok: [web01]` one pass and after it the next. Such a line does not match the line k
//! before it, but it was printed about a pass ago near this place and not yet in this pass.
//! Up to `MAX_REORDER` such lines wait as a possible reorder; once the last k lines hold the
//! run's content again (the window sum equals the run's) they are matched lines, and if the
//! content does not come back within that many lines, and within the pass, they are misses:
//! a row that flaps from one pass to the next is other content, not another order. A mix of
//! a few templates in no order (an access log) repeats its templates within a pass, which a
//! reordered line may not, so it stays no cycle. Periods below `MIN_REORDER_PERIOD` have no
//! order to lose.
//!
//! Each run also remembers its longest wait between two matches: block-buffered output
//! arrives in bursts, and a fast loop seen in 8 KiB gulps is not over between two gulps.
//!
//! Both kinds of cycle also say how regular their passes are ([`TailCycle::cadence`]): the
//! spread of the times between the same line of consecutive passes, read from the ring. A
//! display redrawn by a timer (`sleep 1`, a scheduler) repeats at a steady pace; a loop
//! driven by work — a build, a model answering, a tool call — wanders from pass to pass.
//!
//! `push` also returns, as a bit mask, which periods matched on this line, so the window can
//! count matches per period for the weaker "repetition without an exact cycle" judgement.
//!
//! Under a flood the supervisor analyses only a sample of whole chunks, so the lines after
//! a skipped chunk resume the loop at an arbitrary phase: `A B A B | B A B A`. [`gap`]
//! marks that point; for each period k the next k lines are neither matches nor misses, and
//! the run goes on only if those k lines hold the same content as the run (the rotation-free
//! window sum), i.e. they are the same cycle seen from another phase.
//!
//! [`gap`]: CycleTracker::gap

use super::prose::Gist;
use std::time::Duration;

/// Longest exact cycle looked for, in lines: a failing test's report or a stack trace
/// printed again by a re-run wrapper is often 50-100 lines long (pytest's default traceback
/// of one refused connection is 51).
pub const MAX_PERIOD: usize = 128;

/// Longest loose cycle looked for, and the periods whose matches [`CycleTracker::push`]
/// reports as a bit mask (for the window's repetition judgement): a block reworded in a
/// few places is judged over passes this short.
pub const MAX_SHORT_PERIOD: usize = 32;

/// Recent templates kept: four passes of the longest period, for its pass intervals (a
/// cadence needs three), which also covers a period back plus the misses a run may absorb
/// in a row.
const RING: usize = 4 * MAX_PERIOD;

/// A run absorbs one mismatch per this many matched lines.
pub const TOLERANCE: u64 = 16;

/// Matches in a row of other content before a run gives way to a new loop.
const FOREIGN_MATCHES_TO_SWITCH: u64 = 3;

/// More mismatches than this in a row end a run whatever its length (and keep the lines of
/// its latest pass inside the ring).
const MAX_MISSES_IN_A_ROW: u64 = 8;

/// Lines in a row that may wait as a reorder of the pass before (parallel workers finishing
/// in another order) before they count as misses: as many as a run may miss in a row.
const MAX_REORDER: u64 = MAX_MISSES_IN_A_ROW;

/// The shortest period whose passes may come in another order.
const MIN_REORDER_PERIOD: usize = 4;

/// The loose cycle starts at this period: with fewer lines a pass has no structure to
/// repeat besides its variant. A two-line pass is loose only when its variant is a
/// paraphrase (the same gist, `prose`): a call reworded before the same result; a one-line
/// pass only when every line is the one before reworded (an agent framework logging each
/// step, the call and its result, as one JSON line).
const MIN_LOOSE_PERIOD: usize = 3;

/// The paraphrase-only loose cycle starts at this period.
const MIN_PARAPHRASE_PERIOD: usize = 1;

/// Pass intervals a cadence is measured over, at most.
const CADENCE_INTERVALS: usize = 6;

/// The latest pass intervals that must each have grown for a cycle to be backing off.
const BACKOFF_INTERVALS: usize = 3;

/// How much each of those intervals must exceed the one before it.
const BACKOFF_GROWTH: f64 = 1.25;

/// Lines of a pass allowed to differ from the pass before in a loose cycle.
fn loose_variants(period: usize) -> u32 {
    (period as u32 / 4).max(1)
}

/// What is new about a line: for the loose cycles' count of new text, and its numbers for
/// telling a pass that repeats the one before verbatim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Novelty {
    /// Its template is new to the run.
    pub new_in_run: bool,
    /// It names one file and nothing else (`Wording::file_header`).
    pub file_header: bool,
    /// A hash of the numbers and identifiers the line keeps (`Slots::hash`; times and
    /// durations are never kept).
    pub numbers: u64,
}

/// The strongest loose cycle: passes whose lines mostly repeat the pass before, with a few
/// positions free (an apology worded anew before the same tool call).
#[derive(Debug, Clone, PartialEq)]
pub struct LooseCycle {
    pub period: usize,
    /// Lines of the run (each within a pass that repeats the one before but for its
    /// variants).
    pub run: u64,
    /// Lines of the run that differed from the line a period before and were new to the run:
    /// text the job never printed before, as opposed to a variant from a small set.
    pub novel_variants: u64,
    /// Novel variants that named a file new to the run and nothing else: the header of a
    /// linter's report on the next file (`Wording::file_header`).
    pub novel_files: u64,
    /// Lines of the run that differed from the line a period before.
    pub variants: u64,
    /// Variants that were paraphrases: the same gist as the line a period before, only
    /// their prose reworded (`prose`).
    pub paraphrases: u64,
    pub started: Duration,
    pub latest: Duration,
    /// The templates of the latest pass, oldest first.
    pub templates: Vec<u64>,
    /// Those of them whose line repeated the line a period before: the block's fixed part,
    /// as opposed to its variants.
    pub repeating: Vec<u64>,
    /// How regular the passes are (see [`TailCycle::cadence`]).
    pub cadence: Option<f64>,
}

impl LooseCycle {
    pub fn passes(&self) -> u64 {
        self.run / self.period as u64
    }

    pub fn span(&self) -> Duration {
        self.latest.saturating_sub(self.started)
    }
}

/// The strongest tail cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct TailCycle {
    /// Lines per pass of the cycle.
    pub period: usize,
    /// Lines of the run equal to the line `period` before them.
    pub run: u64,
    /// Lines of the run that did not match (absorbed by the tolerance).
    pub misses: u64,
    /// When the first line of the first pass was seen.
    pub started: Duration,
    /// When the latest matching line was seen.
    pub latest: Duration,
    /// The longest wait between two matching lines of the run (block-buffered output
    /// arrives in bursts).
    pub longest_gap: Duration,
    /// The templates of the latest pass, oldest first (length `period`).
    pub templates: Vec<u64>,
    /// The spread of the pass intervals, as a coefficient of variation (standard deviation
    /// over mean) of the times between the same line of consecutive passes, over the last
    /// passes the ring holds; `None` until three intervals are known. About 0.01 for a
    /// timer, 0.1 and more for passes paced by work.
    pub cadence: Option<f64>,
    /// The latest pass intervals grew one after another (1, 2, 4 s): a back-off.
    pub backing_off: bool,
    /// Lines at the end of the run that repeated the line a period before in their numbers
    /// too: from `period` on, the latest pass is the one before verbatim (times and
    /// durations aside), so a count that rose through it started over.
    pub verbatim: u64,
}

impl TailCycle {
    /// Complete passes of the cycle in the run, the first one included.
    pub fn repetitions(&self) -> u64 {
        self.run / self.period as u64 + 1
    }

    /// Time from the first line of the first pass to the latest matching line.
    pub fn span(&self) -> Duration {
        self.latest.saturating_sub(self.started)
    }
}

#[derive(Debug)]
pub struct CycleTracker {
    templates: [u64; RING],
    /// The gists of the same lines (`prose`; a line without prose has its template).
    gists: [Gist; RING],
    times: [Duration; RING],
    /// The lines' `Novelty::numbers`.
    numbers: [u64; RING],
    lines: u64,
    runs: [u64; MAX_PERIOD + 1],
    misses: [u64; MAX_PERIOD + 1],
    starts: [Duration; MAX_PERIOD + 1],
    last_match: [Duration; MAX_PERIOD + 1],
    /// Matches in a row, at the end of the current run, whose numbers equal the line's a
    /// period before, per period.
    verbatim: [u64; MAX_PERIOD + 1],
    /// Longest wait between two matches of the current run, per period.
    longest_gap: [Duration; MAX_PERIOD + 1],
    /// Line number of the latest match, per period.
    last_match_line: [u64; MAX_PERIOD + 1],
    /// Wrapping sum of the templates of the last k lines, per period k.
    window_sums: [u64; MAX_PERIOD + 1],
    /// `window_sums[k]` when the current run of period k started.
    run_sums: [u64; MAX_PERIOD + 1],
    /// Matches in a row whose content differs from the run's, per period.
    foreign: [u64; MAX_PERIOD + 1],
    /// Lines of the current run that did not match but may be its pass in another order,
    /// per period, and the line number where that reorder began.
    reordered: [u64; MAX_PERIOD + 1],
    reorder_since: [u64; MAX_PERIOD + 1],
    /// Line number of the current run's first matched line, per period: where its passes
    /// are counted from.
    run_lines: [u64; MAX_PERIOD + 1],
    /// Line number of the latest gap (unobserved lines before it); `None` before any.
    gap_at: Option<u64>,
    /// Per period: which of the last k lines matched the line k before them (bit 0 = the
    /// latest), and the loose run built on it.
    loose_hist: [u64; MAX_SHORT_PERIOD + 1],
    loose_run: [u64; MAX_SHORT_PERIOD + 1],
    loose_variants: [u64; MAX_SHORT_PERIOD + 1],
    loose_novel: [u64; MAX_SHORT_PERIOD + 1],
    loose_novel_files: [u64; MAX_SHORT_PERIOD + 1],
    /// Per period: which of the last k lines were paraphrases of the line k before them,
    /// and how many variants of the loose run were.
    para_hist: [u64; MAX_SHORT_PERIOD + 1],
    loose_para: [u64; MAX_SHORT_PERIOD + 1],
    loose_start: [Duration; MAX_SHORT_PERIOD + 1],
    loose_last: [Duration; MAX_SHORT_PERIOD + 1],
}

impl Default for CycleTracker {
    fn default() -> CycleTracker {
        CycleTracker {
            templates: [0; RING],
            gists: [Gist::of_template(0); RING],
            times: [Duration::ZERO; RING],
            numbers: [0; RING],
            lines: 0,
            runs: [0; MAX_PERIOD + 1],
            misses: [0; MAX_PERIOD + 1],
            starts: [Duration::ZERO; MAX_PERIOD + 1],
            last_match: [Duration::ZERO; MAX_PERIOD + 1],
            last_match_line: [0; MAX_PERIOD + 1],
            verbatim: [0; MAX_PERIOD + 1],
            longest_gap: [Duration::ZERO; MAX_PERIOD + 1],
            window_sums: [0; MAX_PERIOD + 1],
            run_sums: [0; MAX_PERIOD + 1],
            foreign: [0; MAX_PERIOD + 1],
            reordered: [0; MAX_PERIOD + 1],
            reorder_since: [0; MAX_PERIOD + 1],
            run_lines: [0; MAX_PERIOD + 1],
            gap_at: None,
            loose_hist: [0; MAX_SHORT_PERIOD + 1],
            loose_run: [0; MAX_SHORT_PERIOD + 1],
            loose_variants: [0; MAX_SHORT_PERIOD + 1],
            loose_novel: [0; MAX_SHORT_PERIOD + 1],
            loose_novel_files: [0; MAX_SHORT_PERIOD + 1],
            para_hist: [0; MAX_SHORT_PERIOD + 1],
            loose_para: [0; MAX_SHORT_PERIOD + 1],
            loose_start: [Duration::ZERO; MAX_SHORT_PERIOD + 1],
            loose_last: [Duration::ZERO; MAX_SHORT_PERIOD + 1],
        }
    }
}

impl CycleTracker {
    fn slot(&self, back: usize) -> usize {
        // `lines` counts pushed lines; `back` = 1 is the latest one.
        ((self.lines as usize).wrapping_sub(back)) % RING
    }

    /// Marks that lines went unobserved before the next one (a chunk skipped under a flood).
    pub fn gap(&mut self) {
        self.gap_at = Some(self.lines);
        self.reordered = [0; MAX_PERIOD + 1];
    }

    /// Adds a line's template; returns the periods up to `MAX_SHORT_PERIOD` that matched (bit
    /// k-1 for period k).
    #[cfg(test)]
    pub fn push(&mut self, template: u64, at: Duration) -> u32 {
        self.push_line(template, Gist::of_template(template), at, Novelty::default())
    }

    /// [`push`](Self::push), with the line's gist (`prose`; its template when it holds no
    /// prose) and whether the template is new to the run.
    pub fn push_line(&mut self, template: u64, gist: Gist, at: Duration, novelty: Novelty) -> u32 {
        self.push_loose(template, gist, at, novelty);
        let mut matched = 0u32;
        for k in 1..=MAX_PERIOD {
            let leaving = if self.lines >= k as u64 {
                self.templates[self.slot(k)]
            } else {
                0
            };
            self.window_sums[k] = self.window_sums[k].wrapping_add(template).wrapping_sub(leaving);
            if let Some(since) = self.gap_at.map(|gap| self.lines - gap) {
                if since + 1 < k as u64 {
                    // The line k back is from before the gap: no comparison yet.
                    continue;
                }
                if since + 1 == k as u64 {
                    // A whole pass after the gap: the same content is the same loop.
                    self.verbatim[k] = 0;
                    if self.runs[k] > 0 && self.window_sums[k] == self.run_sums[k] {
                        matched |= self.extend_run(k, k as u64, at);
                    } else {
                        self.runs[k] = 0;
                    }
                    continue;
                }
            }
            if self.lines >= k as u64 && leaving == template {
                // Inside a reorder the window holds the pass half shuffled: no other content.
                if self.runs[k] > 0 && self.reordered[k] == 0 && self.window_sums[k] != self.run_sums[k] {
                    // Other content repeating: a new loop, once it persists; a stray pair
                    // (two rare variants in a row, e.g. an id that happens to be all digits)
                    // is only a miss.
                    self.foreign[k] += 1;
                    self.verbatim[k] = 0;
                    if self.foreign[k] < FOREIGN_MATCHES_TO_SWITCH {
                        self.misses[k] += 1;
                        if self.misses[k] * TOLERANCE > self.runs[k] {
                            self.runs[k] = 0;
                        }
                        continue;
                    }
                    self.runs[k] = 0;
                }
                // A new loop that persisted: its run began with its first foreign match.
                let earlier = std::mem::take(&mut self.foreign[k]).saturating_sub(1);
                if self.runs[k] == 0 {
                    self.starts[k] = self.times[self.slot(k + earlier as usize)];
                    self.runs[k] = earlier;
                    self.run_lines[k] = self.lines - earlier;
                    self.misses[k] = 0;
                    self.run_sums[k] = self.window_sums[k];
                    self.longest_gap[k] = Duration::ZERO;
                    self.verbatim[k] = 0;
                } else {
                    let gap = at.saturating_sub(self.last_match[k]);
                    self.longest_gap[k] = self.longest_gap[k].max(gap);
                }
                self.verbatim[k] = if self.numbers[self.slot(k)] == novelty.numbers {
                    self.verbatim[k] + 1
                } else {
                    0
                };
                matched |= self.extend_run(k, 1, at);
            } else if self.runs[k] > 0 {
                self.foreign[k] = 0;
                self.verbatim[k] = 0;
                if self.reordered[k] < MAX_REORDER && self.moved_within_pass(k, template) {
                    if self.reordered[k] == 0 {
                        self.reorder_since[k] = self.lines;
                    }
                    self.reordered[k] += 1;
                } else {
                    let lines = std::mem::take(&mut self.reordered[k]) + 1;
                    self.miss(k, lines);
                }
            }
            if self.reordered[k] > 0 && self.runs[k] > 0 {
                if self.window_sums[k] == self.run_sums[k] && self.latest_pass_is_one_pass(k, template) {
                    // The pass is whole again, in another order: its shuffled lines matched.
                    let gap = at.saturating_sub(self.last_match[k]);
                    self.longest_gap[k] = self.longest_gap[k].max(gap);
                    let shuffled = std::mem::take(&mut self.reordered[k]);
                    matched |= self.extend_run(k, shuffled, at);
                } else if self.lines - self.reorder_since[k] >= MAX_REORDER.min(k as u64 - 1) {
                    // A pass shuffled is whole again within the pass; content that comes back
                    // later is a pass of other content in between (a row that flaps).
                    let lines = std::mem::take(&mut self.reordered[k]);
                    self.miss(k, lines);
                }
            }
            if self.runs[k] == 0 {
                self.reordered[k] = 0;
            }
        }
        let slot = self.slot(0);
        self.templates[slot] = template;
        self.gists[slot] = gist;
        self.times[slot] = at;
        self.numbers[slot] = novelty.numbers;
        self.lines += 1;
        matched
    }

    /// `lines` mismatches of the run of period k; too many for its length, or too many in a
    /// row, end it.
    /// The run of period `k` goes on by `lines` matched lines, the latest at `at`; returns
    /// its bit in `push_line`'s answer (bit k-1, for periods up to `MAX_SHORT_PERIOD`).
    fn extend_run(&mut self, k: usize, lines: u64, at: Duration) -> u32 {
        self.runs[k] += lines;
        self.last_match[k] = at;
        self.last_match_line[k] = self.lines;
        if k <= MAX_SHORT_PERIOD {
            1 << (k - 1)
        } else {
            0
        }
    }

    fn miss(&mut self, k: usize, lines: u64) {
        self.misses[k] += lines;
        let in_a_row = self.lines - self.last_match_line[k];
        if self.misses[k] * TOLERANCE > self.runs[k] || in_a_row > MAX_MISSES_IN_A_ROW {
            self.runs[k] = 0;
        }
    }

    /// Whether the last k lines, `latest` the last of them (not yet in the ring), print each
    /// template once, but for a quarter of them ([`one_pass`]): a pass of work whose lines
    /// may come in another order, not redraws of a display, whose swapped redraws are other
    /// content.
    fn latest_pass_is_one_pass(&self, k: usize, latest: u64) -> bool {
        let mut pass = [latest; MAX_PERIOD];
        for (back, slot) in (1..k).zip(pass.iter_mut()) {
            *slot = self.templates[self.slot(back)];
        }
        one_pass(&mut pass[..k])
    }

    /// Whether `template`, which does not match the line k back, may be the pass before's
    /// line in another place: not yet printed in this pass, and printed in the pass before
    /// within `MAX_REORDER` lines of this place (passes counted from the run's first line),
    /// where it and the line it displaced were each printed once. A template of a few in a
    /// mix recurs within the pass, a row that flaps was not there, and two hosts polled in
    /// turn (`ASYNC POLL on web01`, `on web02`, again) are a pass of two lines, whose order
    /// is the cycle.
    fn moved_within_pass(&self, k: usize, template: u64) -> bool {
        if k < MIN_REORDER_PERIOD {
            return false;
        }
        let reach = MAX_REORDER as usize;
        let into_pass = ((self.lines - self.run_lines[k]) % k as u64) as usize;
        if (1..=into_pass).any(|back| self.templates[self.slot(back)] == template) {
            return false;
        }
        let known = (self.lines as usize).min(RING);
        if into_pass + k > known {
            return false;
        }
        let displaced = self.templates[self.slot(k)];
        let pass_before = into_pass + 1..=into_pass + k;
        let once = |wanted: u64| {
            pass_before
                .clone()
                .filter(|&back| self.templates[self.slot(back)] == wanted)
                .count()
                == 1
        };
        let nearest = (into_pass + 1).max(k.saturating_sub(reach));
        let farthest = (into_pass + k).min(k + reach);
        (nearest..=farthest).any(|back| back != k && self.templates[self.slot(back)] == template)
            && once(template)
            && once(displaced)
    }

    /// Loose runs: for each period, the lines over which every window of k lines held at
    /// most `loose_variants(k)` lines unlike the line k before them, and at least two alike;
    /// for a two-line period, one alike and one paraphrase (the same gist). Gaps reset
    /// them: a flood is judged by the exact cycle.
    fn push_loose(&mut self, template: u64, gist: Gist, at: Duration, novelty: Novelty) {
        // Only a line that holds prose can be a paraphrase (its gist is not its template).
        let prose = gist.hash != template;
        for k in MIN_PARAPHRASE_PERIOD..=MAX_SHORT_PERIOD {
            let known = self.lines >= k as u64;
            let alike = known && self.templates[self.slot(k)] == template;
            // A one-line pass holds its result too: the same values, or it is news.
            let paraphrase = prose
                && known
                && !alike
                && if k == 1 {
                    gist.repeats(&self.gists[self.slot(k)])
                } else {
                    gist.rewords(&self.gists[self.slot(k)])
                };
            let mask = if k == 64 { u64::MAX } else { (1u64 << k) - 1 };
            self.loose_hist[k] = (self.loose_hist[k] << 1 | u64::from(alike)) & mask;
            let matches = self.loose_hist[k].count_ones();
            self.para_hist[k] = (self.para_hist[k] << 1 | u64::from(paraphrase)) & mask;
            let paraphrases = self.para_hist[k].count_ones();
            // A paraphrase is the line a period before in other words: in a longer pass it
            // takes none of the few free positions (an agent's console rewords its thought,
            // its reasoning, its plan and what it says before the same command).
            let shape = if k < MIN_LOOSE_PERIOD {
                (matches >= 1 || k == 1) && matches + paraphrases >= k as u32
            } else {
                matches >= 2 && matches + paraphrases + loose_variants(k) >= k as u32
            };
            let holds = self.lines >= 2 * k as u64
                && self.gap_at.is_none_or(|gap| self.lines - gap >= 2 * k as u64)
                && shape;
            if !holds {
                self.loose_run[k] = 0;
                continue;
            }
            if self.loose_run[k] == 0 {
                self.loose_start[k] = self.times[self.slot(k)];
                self.loose_variants[k] = 0;
                self.loose_novel[k] = 0;
                self.loose_novel_files[k] = 0;
                self.loose_para[k] = 0;
            }
            self.loose_run[k] += 1;
            self.loose_last[k] = at;
            if !alike {
                self.loose_variants[k] += 1;
                // A paraphrase is new wording, not new text: the line a period before again.
                let novel = novelty.new_in_run && !paraphrase;
                self.loose_novel[k] += u64::from(novel);
                self.loose_novel_files[k] += u64::from(novel && novelty.file_header);
                self.loose_para[k] += u64::from(paraphrase);
            }
        }
    }

    /// The loose cycle with the most passes, if one has at least two passes with a variant
    /// (an exact cycle is the exact tracker's to judge); the smallest period on a tie.
    pub fn loose(&self) -> Option<LooseCycle> {
        let mut best: Option<(u64, usize)> = None;
        for k in MIN_PARAPHRASE_PERIOD..=MAX_SHORT_PERIOD {
            let passes = self.loose_run[k] / k as u64;
            if passes >= 2 && self.loose_variants[k] >= 2 && best.is_none_or(|(p, _)| passes > p) {
                best = Some((passes, k));
            }
        }
        let (_, k) = best?;
        let templates = (1..=k)
            .rev()
            .map(|back| self.templates[self.slot(back)])
            .collect();
        let repeating = (1..=k)
            .rev()
            .filter(|&back| self.templates[self.slot(back)] == self.templates[self.slot(back + k)])
            .map(|back| self.templates[self.slot(back)])
            .collect();
        Some(LooseCycle {
            period: k,
            run: self.loose_run[k],
            novel_variants: self.loose_novel[k],
            novel_files: self.loose_novel_files[k],
            variants: self.loose_variants[k],
            paraphrases: self.loose_para[k],
            started: self.loose_start[k],
            latest: self.loose_last[k],
            templates,
            repeating,
            // The pass before the run's first line is part of the loop too.
            cadence: self.intervals(k, 1, self.loose_run[k] + k as u64).cadence(),
        })
    }

    /// The intervals between the line `back` lines ago and the same line of the passes
    /// before it, newest first, at most `CADENCE_INTERVALS` of them that lie within the last
    /// `run` lines and the ring.
    fn intervals(&self, period: usize, back: usize, run: u64) -> PassIntervals {
        let reach = (run as usize + back).min(RING).min(self.lines as usize);
        let mut passes = PassIntervals {
            seconds: [0.0; CADENCE_INTERVALS],
            len: 0,
        };
        let mut b = back;
        while passes.len < CADENCE_INTERVALS && b + period <= reach {
            let later = self.times[self.slot(b)];
            let earlier = self.times[self.slot(b + period)];
            passes.seconds[passes.len] = later.saturating_sub(earlier).as_secs_f64();
            passes.len += 1;
            b += period;
        }
        passes
    }

    /// The period with the longest run (the smallest such period on a tie), if any matched.
    pub fn tail(&self) -> Option<TailCycle> {
        let mut best = 0;
        let since_gap = self.gap_at.map(|gap| self.lines - gap);
        for k in 1..=MAX_PERIOD {
            // A run still waiting for its first pass after a gap is not confirmed yet.
            let pending = since_gap.is_some_and(|since| since < k as u64);
            if !pending && self.runs[k] > self.runs[best] {
                best = k;
            }
        }
        if best == 0 {
            return None;
        }
        // The latest pass that matched, not the latest lines: a stray line absorbed by the
        // tolerance is not part of the cycle.
        let since_match = (self.lines - 1 - self.last_match_line[best]) as usize;
        let templates = (1..=best)
            .rev()
            .map(|back| self.templates[self.slot(back + since_match)])
            .collect();
        let passes = self.intervals(best, since_match + 1, self.runs[best]);
        Some(TailCycle {
            period: best,
            run: self.runs[best],
            misses: self.misses[best],
            started: self.starts[best],
            latest: self.last_match[best],
            longest_gap: self.longest_gap[best],
            templates,
            cadence: passes.cadence(),
            backing_off: passes.backing_off(),
            verbatim: self.verbatim[best],
        })
    }

    /// Lines pushed so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The templates of the latest `n` lines, oldest first, while the ring still holds them.
    pub fn recent_templates(&self, n: usize) -> Option<Vec<u64>> {
        (n <= RING && n as u64 <= self.lines).then(|| {
            (1..=n)
                .rev()
                .map(|back| self.templates[self.slot(back)])
                .collect()
        })
    }
}

/// Whether a pass's templates (reordered in place) are each printed once in it, but for a
/// quarter of its lines: one run of something (a playbook, a test suite), not several
/// redraws of a display whose header and rows come round within the pass.
pub fn one_pass(templates: &mut [u64]) -> bool {
    templates.sort_unstable();
    let distinct = 1 + templates.windows(2).filter(|w| w[0] != w[1]).count();
    4 * distinct >= 3 * templates.len()
}

/// The intervals between a cycle's latest passes, newest first.
struct PassIntervals {
    seconds: [f64; CADENCE_INTERVALS],
    len: usize,
}

impl PassIntervals {
    /// Whether the last three pass intervals each grew by a quarter or more over the one
    /// before (1, 2, 4 s): a supervisor or a wrapper backing off between attempts.
    fn backing_off(&self) -> bool {
        self.len >= BACKOFF_INTERVALS
            && backing_off_newest_first(self.seconds[..BACKOFF_INTERVALS].iter().copied())
    }

    /// The coefficient of variation of the intervals; `None` with fewer than three.
    fn cadence(&self) -> Option<f64> {
        cadence_of(&self.seconds[..self.len])
    }
}

/// How regular a pace is: the coefficient of variation (standard deviation over mean) of
/// pass intervals in seconds, in any order; `None` with fewer than three or a mean of zero.
/// The rule of [`TailCycle`]'s `cadence`, for passes measured elsewhere (`passes`).
pub fn cadence_of(intervals: &[f64]) -> Option<f64> {
    let n = intervals.len() as f64;
    let mean = intervals.iter().sum::<f64>() / n;
    (intervals.len() >= 3 && mean > 0.0).then(|| {
        let variance = intervals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        variance.sqrt() / mean
    })
}

/// Whether the latest pass intervals, oldest first, back off: the last three each grew by
/// a quarter or more over the one before (1, 2, 4 s). The rule of [`TailCycle`]'s
/// `backing_off`, for passes measured elsewhere (`passes`).
pub fn backs_off(intervals_oldest_first: &[f64]) -> bool {
    intervals_oldest_first.len() >= BACKOFF_INTERVALS
        && backing_off_newest_first(
            intervals_oldest_first
                .iter()
                .rev()
                .take(BACKOFF_INTERVALS)
                .copied(),
        )
}

/// Each interval (newest first) at least `BACKOFF_GROWTH` times the one before it.
fn backing_off_newest_first(newest_first: impl Iterator<Item = f64>) -> bool {
    let mut later: Option<f64> = None;
    for earlier in newest_first {
        if later.is_some_and(|later| later < BACKOFF_GROWTH * earlier) {
            return false;
        }
        later = Some(earlier);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_with_a_reworded_line_is_a_loose_cycle() {
        // v1 T R S v2 T R S v3 T R S ...: a new apology (never seen) before the same block.
        let mut tracker = CycleTracker::default();
        for pass in 0..8u64 {
            let at = Duration::from_millis(800 * pass);
            let novelty = Novelty {
                new_in_run: true,
                ..Novelty::default()
            };
            tracker.push_line(1000 + pass, Gist::of_template(1000 + pass), at, novelty);
            for (i, t) in [1u64, 2, 3].iter().enumerate() {
                tracker.push(*t, at + Duration::from_millis(100 * (i as u64 + 1)));
            }
        }
        let loose = tracker.loose().expect("a loose cycle");
        assert_eq!(loose.period, 4);
        assert!(loose.passes() >= 6, "{loose:?}");
        assert_eq!(loose.variants, loose.novel_variants, "every variant was new text");
        // No exact cycle spans the passes: the reworded line breaks it every time.
        assert!(tracker.tail().is_none_or(|t| t.run < 8), "{:?}", tracker.tail());
    }

    #[test]
    fn a_timer_keeps_a_steady_cadence_work_does_not() {
        let feed_paced = |gaps: &[u64]| {
            let mut tracker = CycleTracker::default();
            let mut at = 0;
            for &gap in gaps.iter().cycle().take(12) {
                for (i, t) in [1u64, 2, 3].iter().enumerate() {
                    tracker.push(*t, Duration::from_millis(at + i as u64));
                }
                at += gap;
            }
            tracker.tail().and_then(|t| t.cadence).expect("a cadence")
        };
        assert!(feed_paced(&[1000, 1002, 999]) < 0.01);
        assert!(feed_paced(&[700, 1300, 900, 1100]) > 0.15);
        assert_eq!(
            feed("ABCABCABC").tail().and_then(|t| t.cadence),
            None,
            "two intervals"
        );
    }

    #[test]
    fn varied_work_is_no_loose_cycle() {
        let mut tracker = CycleTracker::default();
        for i in 0..200u64 {
            tracker.push(i % 7 * 31 + i / 7, Duration::from_millis(50 * i));
        }
        assert_eq!(tracker.loose(), None);
    }

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
        let t = feed("abcdefghijklmnopqrstuvwxyzABABABAB")
            .tail()
            .expect("a cycle");
        assert_eq!((t.period, t.run), (2, 6));
        assert_eq!(
            t.started,
            Duration::from_millis(2600),
            "first line of the first pass"
        );
        assert_eq!(t.latest, Duration::from_millis(3300));
        assert_eq!(t.span(), Duration::from_millis(700));
        assert_eq!(t.templates, vec![u64::from('A'), u64::from('B')]);
    }

    #[test]
    fn a_break_resets_a_young_run() {
        assert_eq!(shape("AAAAAAB"), None);
        assert_eq!(shape("AAAAAABB"), Some((1, 1, 2)));
    }

    #[test]
    fn a_long_run_absorbs_a_stray_line() {
        let sequence = format!("{}X{}", "A".repeat(40), "A".repeat(10));
        let t = feed(&sequence).tail().expect("a cycle");
        assert_eq!((t.period, t.run, t.misses), (1, 48, 2));
        assert_eq!(t.started, Duration::ZERO);
        // Once the loop is over, mismatches pile up and the run ends.
        let ended = format!("{sequence}{}", "bcdefghij");
        let t = feed(&ended).tail();
        assert!(t.as_ref().is_none_or(|t| t.run < 48), "{t:?}");
        let mut tracker = feed(&format!("{}b", "A".repeat(40)));
        tracker.push(u64::from('k'), Duration::from_secs(9));
        let t = tracker.tail().expect("still absorbing");
        assert_eq!(t.latest, Duration::from_millis(3900), "the latest match ages");
        assert_eq!(t.templates, vec![u64::from('A')], "stray lines are not the cycle");
        let t = feed(&format!("{}{}", "A".repeat(400), "bcdefghij")).tail();
        assert!(t.is_none(), "nine misses in a row end even a long run: {t:?}");
    }

    #[test]
    fn a_different_loop_starts_a_new_run() {
        let t = feed(&format!("{}{}", "A".repeat(60), "B".repeat(5)))
            .tail()
            .expect("a cycle");
        assert_eq!((t.period, t.run), (1, 4));
        assert_eq!(
            t.started,
            Duration::from_millis(6000),
            "the first B, not the first A"
        );
        let t = feed(&format!("{}{}", "AB".repeat(30), "CB".repeat(3)))
            .tail()
            .expect("a cycle");
        assert_eq!(
            (t.period, t.run, t.started),
            (2, 5, Duration::from_millis(5900)),
            "B C B C from the shared B"
        );
    }

    #[test]
    fn a_pass_repeating_the_one_before_in_its_numbers_is_verbatim() {
        // Three lines of one template numbered 1, 2, 3 and a summary: the same numbers every
        // pass (a report re-run) or numbers counting on (a runner repeating its suite).
        for (counting_on, verbatim) in [(false, true), (true, false)] {
            let mut tracker = CycleTracker::default();
            for pass in 0..6u64 {
                for i in 0..4u64 {
                    let at = Duration::from_millis(1000 * pass + 10 * i);
                    let number = if counting_on { 4 * pass + i } else { i };
                    let template = if i == 3 { 2 } else { 1 };
                    let novelty = Novelty {
                        numbers: number,
                        ..Novelty::default()
                    };
                    tracker.push_line(template, Gist::of_template(template), at, novelty);
                }
            }
            let tail = tracker.tail().expect("a cycle");
            assert_eq!(tail.period, 4);
            assert_eq!(
                tail.verbatim >= 4,
                verbatim,
                "counting on: {counting_on}: {tail:?}"
            );
        }
    }

    #[test]
    fn a_stray_pair_of_variants_does_not_restart_a_long_run() {
        // A fast error loop whose random id is now and then all digits: two such lines in a
        // row match each other, but that is not a new loop.
        let t = feed(&format!("{}XX{}", "A".repeat(80), "A".repeat(20)))
            .tail()
            .expect("a cycle");
        assert_eq!((t.period, t.started), (1, Duration::ZERO), "{t:?}");
    }

    #[test]
    fn twelve_line_cycles_are_seen() {
        let pass = "ABCDEFGHIJKL";
        let t = feed(&pass.repeat(4)).tail().expect("a cycle");
        assert_eq!((t.period, t.repetitions()), (12, 4));
        assert_eq!(t.templates.len(), 12);
    }

    #[test]
    fn a_deep_traceback_is_one_cycle() {
        // A 30-line pass: a traceback through a dozen frames plus the restart lines.
        let pass: String = (0..30u8).map(|i| char::from(b'0' + i)).collect();
        let t = feed(&pass.repeat(3)).tail().expect("a cycle");
        assert_eq!((t.period, t.repetitions()), (30, 3));
    }

    #[test]
    fn match_mask_names_the_matching_periods() {
        let mut tracker = feed("ABAB");
        assert_eq!(tracker.push(u64::from('A'), Duration::from_secs(1)), 0b1010);
        assert_eq!(tracker.push(u64::from('C'), Duration::from_secs(1)), 0);
        assert_eq!(tracker.lines(), 6);
    }

    #[test]
    fn a_gap_resumes_the_same_cycle_at_another_phase() {
        let mut tracker = feed("ABABABABABABABABABAB");
        let before = tracker.tail().expect("cycle").run;
        tracker.gap();
        for (i, c) in "BABABA".chars().enumerate() {
            tracker.push(c as u64, Duration::from_millis(3000 + i as u64));
        }
        let tail = tracker.tail().expect("cycle survives the gap");
        assert_eq!(tail.period, 2);
        assert!(tail.run > before, "{} <= {before}", tail.run);
        assert_eq!(tail.started, Duration::ZERO);
    }

    #[test]
    fn a_gap_into_other_content_ends_the_run() {
        let mut tracker = feed("ABABABABABABABABABAB");
        tracker.gap();
        for (i, c) in "CDCDCD".chars().enumerate() {
            tracker.push(c as u64, Duration::from_millis(3000 + i as u64));
        }
        let tail = tracker.tail().expect("the new cycle");
        assert!(tail.started >= Duration::from_millis(3000), "{tail:?}");
    }

    #[test]
    fn long_runs_keep_their_start_beyond_the_ring() {
        let t = feed(&"A".repeat(500)).tail().expect("a cycle");
        assert_eq!((t.period, t.run, t.started), (1, 499, Duration::ZERO));
    }

    #[test]
    fn intervals_back_off_when_each_of_the_last_three_grows_by_a_quarter() {
        assert!(backs_off(&[1.0, 2.0, 4.0]));
        assert!(backs_off(&[3.0, 1.0, 1.25, 1.6]), "only the last three count");
        assert!(!backs_off(&[1.0, 2.0, 2.2]), "grew by less than a quarter");
        assert!(!backs_off(&[4.0, 2.0, 1.0]), "shrinking");
        assert!(!backs_off(&[1.0, 2.0]), "too few");
    }

    #[test]
    fn a_pass_whose_hosts_report_in_another_order_is_one_cycle() {
        // A playbook re-run: header, three hosts in whichever order they finished, a recap.
        let passes = [
            "PabcQxyzR",
            "PbacQzxyR",
            "PcabQyzxR",
            "PabcQxzyR",
            "PbcaQxyzR",
            "PacbQzyxR",
        ];
        let tail = feed(&passes.concat()).tail().expect("a cycle");
        assert_eq!(tail.period, 9, "{tail:?}");
        assert!(tail.repetitions() >= 6, "{tail:?}");
    }

    #[test]
    fn a_few_templates_in_no_order_are_no_cycle_however_they_are_shuffled() {
        // An access log's few templates: each repeats within any stretch of a pass's length.
        let mut rng = crate::detect::scenarios::Rng::new(3);
        let mut tracker = CycleTracker::default();
        for i in 0..400u64 {
            tracker.push(1 + rng.below(4), Duration::from_millis(50 * i));
        }
        let tail = tracker.tail().map(|t| (t.period, t.repetitions()));
        assert!(tail.is_none_or(|(_, reps)| reps < 4), "{tail:?}");
    }

    #[test]
    fn a_row_that_flaps_from_pass_to_pass_is_no_reorder() {
        // A four-row display whose last row reads E for two passes and B for two.
        let display: String = (0..12).map(|n| if n % 4 < 2 { "HabE" } else { "HabB" }).collect();
        let tail = feed(&display).tail().expect("a cycle");
        assert_eq!(tail.period, 16, "{tail:?}");
    }
}
