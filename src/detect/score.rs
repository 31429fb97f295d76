//! From measured signals to one confidence in [0, 1], as a sum of named components.
//!
//! Two paths can make the case, and the stronger one is reported.
//!
//! **Cycle** (the main path): the tail run of an exact cycle. Its evidence `e` saturates
//! with the matched lines (`1 - exp(-run·w/4)`, where a line of a longer period weighs more
//! because matching a 5-line block by chance is rarer than matching one line) and needs at
//! least half a second of span (a 0.1 s burst of identical warnings is not a loop). `e` drops
//! to 0 once the cycle has been silent for more than two of its own passes plus 0.3 s (or, for
//! a loop of 10 lines a second or more, 1.5 times the longest burst gap it has shown), which
//! is what lets retry-with-backoff (growing gaps) and a startup burst that stops go unpunished.
//! Then, each scaled by `e`: the cycle itself (0.62 for one line, 0.66 for two, 0.70 for
//! three or more), the line rate (up to 0.23, full at 10 lines/s), tree CPU (up to 0.15, full
//! at 90 % of a core) and error wording (0.15). So a fast loop crosses 0.80 on its own after
//! about half a second, a slow one needs CPU or error wording, and CPU alone never scores
//! anything: without a cycle every component is zero, so silent compute is never a runaway.
//!
//! **Repetition** (the fallback, for loops that are not exact): most lines matched the line k
//! back over a long span (full evidence at 5 s and 90 % matched), and the loop must be
//! corroborated by error wording or high CPU; without either it is capped below the
//! threshold. New templates during the span cost up to 0.5 (a burst of distinct lines is
//! startup, not a loop).
//!
//! **Variants** (loose cycles, for loops whose passes are reworded): see `loose_assessment`;
//! evidence needs four passes over two seconds, and new text in every pass with nothing
//! failing is capped.
//!
//! **Vetoes and caps.** A counter advancing in one of the loop's templates costs 0.6, which
//! no sum of the rest can overcome: work is getting done. A bare iteration counter (`step N`
//! rising by one with nothing else changing) in a one-line cycle is a unit of work per line
//! and costs the same; in a multi-line cycle it costs the same only for the first 2.5 s: it
//! covers a numbered startup burst, not an agent that numbers its stuck steps. A countdown
//! (a count that only goes down) costs 0.6 like an advancing counter. A percentage that
//! moved before and stalls costs 0.25; one that has shown a single value costs 0.25 for
//! the first 3 s only (a bar not started yet, not `[ 28%]` printed forever). A job whose
//! earlier bursts of repetition ended is capped until the cycle has lasted twice the longest
//! of them (at most 3 s). A heartbeat is capped at three quarters of the
//! threshold however long it runs: one or two lines at most two passes a second without
//! error wording or with words of waiting (a health-check poller, `not ready, retrying in
//! 0.5s`), or at most one pass a second whatever they say
//! (capped exponential backoff ends up exactly there), or a longer block at most 1.2 passes
//! a second (a status display redrawn every second, failing pods included). The frames of a
//! spinner (the lines of a pass differ only in symbols) are capped the same way unless they
//! report errors, and so is a loop of replies to outside input (`replies`) and a display
//! that says how often it is redrawn and keeps to it (`(every 0.2s)` in a header, its passes
//! within a quarter of that apart, nothing failing: `psql`'s `\watch`), however fast.
//!
//! **Slow loops of work.** A slow block (0.3-1.2 passes a second, down to a pass every 20 s
//! when its passes are a model's answers or the same failing block printed at once and
//! followed by a wait, or a two-line pass up to the heartbeat's pace) is
//! not capped when it is a loop of work rather than a display
//! (`slow_loop_of_work`): it has been printed several times with no number in it moving (no
//! progress, no other value changing), and either its passes cost CPU at a pace that is not
//! a timer's (a watcher rebuilding: at least 30 % of a core over them; a display redrawn by
//! `sleep 1` keeps its pace to about 1 %; a failing block must have begun its fifth pass),
//! or it is the same block with failure words four times over, a fifth begun, without words
//! of waiting (a wrapper re-running a tool that fails, at whatever pace — a wait loop that
//! says it waits is left alone), or the same block reporting a crash and a start four times
//! over, each pass a new process, at a pace that does not back off (a restart loop: a
//! supervisor starting a service that dies again; its plain counts — the fresh pid, the
//! restart counter — were read as the restarts' own, and a crash line is never a wait), or
//! it is a two-line call and its failed or empty result four times over at a pace that
//! wanders like a model's (a poller keeps the pace of its sleep or its poll timeout; a
//! heartbeat reports success; a call that reports the model's tokens need only not keep a
//! timer's pace), or its passes differ only in their prose and end in a failed or empty
//! result (a paraphrase loop), or its reworded lines come from a small set at such a pace
//! (an agent asking for the same thing again). Failure words never take a loop off these
//! paths; an age in the block that rises with the clock (a display of a wait) always does,
//! and so does a pace that backs off (1, 2, 4 s) from the re-run and restart paths. It then
//! scores `slow_loop` (0.2) in place of the line rate it lacks, and needs only a short
//! hold, having already spent its passes on certainty. A slow reworded block with failure
//! words at a timer's pace stays capped: a status table whose failing row flaps
//! (`ErrImagePull`, then `ImagePullBackOff`).
//!
//! **Alike passes** (`alike_assessment`): bursts of output between silences (or recurring
//! headers) that begin alike and share most of their templates, failing five times over at
//! a pace of 1.5-20 s with nothing new in them: a retry loop whose passes are not exact. A
//! pass that prints the values of the one before in another order (`passes`) shows nothing
//! new and no progress, whatever climbed in it; such passes are judged down to a second
//! apart when they cost CPU at a pace that wanders (a test suite re-run back to back, not a
//! display on its timer). It scores all or nothing.

use super::measures::Measurements;
use super::progress::{Progress, GRID_WALK};
use super::replies::Replies;
use super::window::Rates;
use crate::sample::Stream;
use std::time::Duration;

/// Everything the detector measured, at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    pub cycle: Option<CycleSignals>,
    pub repetition: Option<RepetitionSignals>,
    pub loose: Option<LooseSignals>,
    /// Bursts of output between silences that print alike (`passes`).
    pub alike: Option<AlikeSignals>,
    /// Earlier exact cycles of this run that scored as loops and then ended.
    pub bursts: Bursts,
    pub cpu_percent: Option<f64>,
    pub rates: Rates,
    /// Time since the last line of any kind.
    pub silence: Option<Duration>,
}

/// The exact cycle at the tail of the output.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleSignals {
    /// When the run's first pass began (tells one run from the next).
    pub started: Duration,
    /// The stream the cycle was found on alone, or `None` for the merged output.
    pub stream: Option<Stream>,
    pub period: usize,
    pub run: u64,
    pub repetitions: u64,
    pub span: Duration,
    /// Time since the cycle's latest line.
    pub silence: Duration,
    /// The longest wait between two lines of the cycle so far.
    pub longest_gap: Duration,
    pub error: bool,
    pub progress: Progress,
    /// The lines of a pass differ only in symbols: the frames of a spinner.
    pub animation: bool,
    /// Share of recent lines that belong to the cycle's templates.
    pub coverage: f64,
    pub example: String,
    /// The countdown among the cycle's templates, or an optimisation's restarts, in words
    /// (`countdown 10→7 in 6 s`).
    pub countdown: Option<String>,
    /// How regular the passes are (coefficient of variation of the pass intervals).
    pub cadence: Option<f64>,
    /// The tree's mean CPU over the cycle's passes, percent of a core.
    pub loop_cpu: Option<f64>,
    /// A value other than identifiers and iteration numbers changes in the cycle's lines
    /// (a loss, a size, a count): the passes report something new.
    pub texture: bool,
    /// Such a value changes in a line that reports the failure or the empty result (the
    /// result itself differs from pass to pass), not only in the call before it.
    pub result_texture: bool,
    /// A pass after the run's first showed a value that no line of its template showed
    /// before (`TemplateInfo::news_since`): values that only come round again are the pass
    /// repeating, however many a pass shows.
    pub news: bool,
    /// The same, counting a number that rises by one in a line that does not say it counts
    /// attempts: the next batch, the next page.
    pub counted_news: bool,
    /// A line of the cycle says the job waits on purpose (`waiting for`, `retrying in 1s`),
    /// and the cycle is no test run's report (whose waits are its tests' steps).
    pub wait: bool,
    /// A line of the cycle tallies a test run with failures (`1 failed, 2 passed`): each
    /// pass is a test run's report.
    pub test_run: bool,
    /// Each template of the cycle is printed once a pass, but for a quarter of its lines:
    /// the pass is one run of something (a playbook, a test suite), not several redraws
    /// of a display whose header and rows come round within the cycle.
    pub one_pass: bool,
    /// A line of the cycle reports an empty result (`No matches found`, `[]`).
    pub empty: bool,
    /// Every line of the cycle replies to input from outside the job's loop (a server's
    /// access log, a database client's result per statement).
    pub replies: Option<Replies>,
    /// A line of every pass is a row of readings whose values move on their own, and
    /// nothing in the cycle fails (`measures`): a sampler's output, not a loop.
    pub measured: Option<Measurements>,
    /// Lines of the cycle report a crash (a process that ended abnormally) and a start: a
    /// restart; its plain counts were read as the restarts' own, not as progress.
    pub crash: bool,
    /// A line of the cycle reports what a model call used (tokens, a cost): the passes are
    /// a model's answers.
    pub model_call: bool,
    /// A line of the cycle reports something still under way (`status running`).
    pub under_way: bool,
    /// The latest pass intervals grew one after another (1, 2, 4 s): a back-off.
    pub backing_off: bool,
    /// The most times one of the cycle's templates changed its values (identifiers and
    /// plain counts included) since the run began: once a pass for a fresh pid.
    pub changes: u64,
    /// An age in the cycle's lines rising with the clock, in words: a display of a wait.
    pub clock: Option<String>,
    /// The interval a line of the cycle says it is printed at (`(every 0.2s)`, a traced
    /// wait's timeout), seconds.
    pub interval: Option<f64>,
    /// A line of the cycle traces a wait that ran out its timeout (`syscall`): the interval
    /// is a traced process's timer.
    pub traced_wait: bool,
}

/// Bursts of repetition that ended: the job repeats a block for a while, then moves on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bursts {
    pub finished: u32,
    pub longest: Duration,
}

/// A cycle whose passes repeat but for a few reworded lines.
#[derive(Debug, Clone, PartialEq)]
pub struct LooseSignals {
    pub period: usize,
    pub passes: u64,
    pub span: Duration,
    pub silence: Duration,
    /// Lines that differed from the pass before, and how many of them were new to the run.
    pub variants: u64,
    pub novel_variants: u64,
    /// Novel variants that named a new file and nothing else: a linter's header above its
    /// report on the next file.
    pub novel_files: u64,
    /// Error wording in the lines that repeat.
    pub error: bool,
    pub progress: Progress,
    pub countdown: Option<String>,
    pub example: String,
    /// How regular the passes are (coefficient of variation of the pass intervals).
    pub cadence: Option<f64>,
    /// The tree's mean CPU over the loop's passes, percent of a core.
    pub loop_cpu: Option<f64>,
    /// A value other than identifiers and iteration numbers changes in the loop's lines.
    pub texture: bool,
    /// Such a value changes in a line that reports the failure or the empty result, not
    /// only in the reworded call before it (its token counts, its durations).
    pub result_texture: bool,
    /// A line of the loop says the job waits on purpose.
    pub wait: bool,
    /// A line of the loop reports an empty result.
    pub empty: bool,
    /// Every variant was a paraphrase: the passes differ only in their prose (`prose`).
    pub paraphrased: bool,
    /// The passes are a model's answers: they report its tokens, or a tool call with an id
    /// new on every pass.
    pub model_call: bool,
    /// A line of the loop reports something still under way (`status in_progress`).
    pub under_way: bool,
    /// An age in the loop's lines rising with the clock, in words: a display of a wait.
    pub clock: Option<String>,
    /// A line of the loop is a row of readings moving on their own (`measures`): a
    /// sampler redrawing its figures (`redis-benchmark`'s `rps=... avg_msec=...`).
    pub measured: Option<Measurements>,
}

/// Bursts of output, each followed by seconds of silence, that begin alike and print mostly
/// the same templates (`passes`): a retry loop whose passes are not exact.
#[derive(Debug, Clone, PartialEq)]
pub struct AlikeSignals {
    /// The bursts, the latest (perhaps still printing) included.
    pub passes: u64,
    /// The fewest and the most lines of a complete pass.
    pub lines: (u64, u64),
    /// Mean time between the starts of two passes, seconds.
    pub interval: f64,
    /// Time since the latest line.
    pub silence: Duration,
    /// The latest intervals grew one after another (1, 2, 4 s): a back-off.
    pub backing_off: bool,
    pub error: bool,
    pub wait: bool,
    pub progress: Progress,
    pub clock: Option<String>,
    pub replies: Option<Replies>,
    /// Complete passes after the first that printed something new: a template new to the
    /// run, or a value (an iteration number that counts no attempts included) no line of its
    /// template showed before.
    pub surprising: u64,
    /// The latest complete pass printed something new.
    pub latest_surprising: bool,
    /// The latest complete pass printed only values the pass before printed, in whatever
    /// order (`passes`): the same pass, its order shuffled.
    pub repeated: bool,
    /// How regular the pace is (coefficient of variation of the intervals).
    pub cadence: Option<f64>,
    /// The tree's mean CPU over the passes, percent of a core.
    pub loop_cpu: Option<f64>,
    /// A pass after the first began where the opening of the one before recurred, not
    /// after a silence: a job re-run back to back, its header printed again.
    pub headed: bool,
    pub example: String,
}

/// Repetition without an exact cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct RepetitionSignals {
    pub period: usize,
    pub lines: u64,
    pub matched_fraction: f64,
    pub span: Duration,
    pub silence: Duration,
    pub error_fraction: f64,
    pub new_templates: u64,
    pub progress: Progress,
    /// The most frequent templates all reply to input from outside the job's loop.
    pub replies: Option<Replies>,
    /// The most frequent templates are a sampler's readings (`measures`).
    pub measured: Option<Measurements>,
    /// Share of recent lines that belong to the most frequent templates.
    pub top_share: f64,
    pub top_templates: usize,
    pub example: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Cycle,
    Repetition,
    /// A loose cycle: the same block with reworded lines between.
    Variants,
    /// Passes between silences that print alike without repeating exactly.
    Passes,
}

/// The verdict of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub confidence: f64,
    pub path: Option<Path>,
    /// Every component by name; they sum to the confidence before clamping.
    pub components: Vec<(&'static str, f64)>,
    /// Lines per second of the judged loop.
    pub loop_lines_per_s: f64,
    /// The protections that held this confidence down, in words.
    pub protections: Vec<String>,
    /// Why a slow block counted as a loop of work despite its pace, in words.
    pub slow_loop: Option<String>,
}

impl Assessment {
    pub fn component(&self, name: &str) -> f64 {
        self.components
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0.0, |(_, v)| *v)
    }
}

/// Penalties for a counter that advances, and for a percentage that has not moved yet.
fn progress_penalty(progress: Progress, span: Duration, one_line_cycle: bool) -> f64 {
    match progress {
        Progress::Advancing | Progress::Walking | Progress::Countdown | Progress::Descending => -0.6,
        // One line per unit of work ("processed record 41", "processed record 42", ...) is
        // progress however long it lasts; a counter once per multi-line pass numbers a
        // stuck agent's steps.
        Progress::Counting if one_line_cycle || span <= COUNTING_GRACE => -0.6,
        Progress::StalledPercent => -0.25,
        Progress::FrozenPercent if span <= STALL_GRACE => -0.25,
        Progress::Counting | Progress::FrozenPercent | Progress::None => 0.0,
    }
}

/// How long a percentage that does not move passes for a bar that has not started: a
/// download waiting for its first byte, not a loop that prints `[ 28%]` forever.
const STALL_GRACE: Duration = Duration::from_millis(3000);

/// How long an iteration counter alone passes for progress: a numbered burst of startup
/// work ends within this, a loop numbering its passes does not.
const COUNTING_GRACE: Duration = Duration::from_millis(2500);

/// A capped loop (heartbeat, spinner, uncorroborated repetition) scores at most this share
/// of the threshold; the `cap` component says by how much it was cut.
const HEARTBEAT_CAP: f64 = 0.75;

/// How far a cycle's pass interval may stray from the one its lines announce (`(every
/// 0.2s)`) and still be that timer's: the work of a pass adds to the sleep.
const TIMER_TOLERANCE: f64 = 0.25;

/// A cycle silent for two of its passes plus this is over.
const FRESHNESS_SLACK_S: f64 = 0.3;

/// From this many lines a second on average, gaps between bursts of a cycle are buffering.
const BURSTY_LINES_PER_S: f64 = 10.0;

#[derive(Debug, Default, Clone, Copy)]
struct Parts {
    cycle: f64,
    repetition: f64,
    rate: f64,
    cpu: f64,
    error: f64,
    novelty_penalty: f64,
    progress_penalty: f64,
    cap: f64,
    variants: f64,
    slow_loop: f64,
}

impl Parts {
    fn sum(&self) -> f64 {
        self.cycle
            + self.repetition
            + self.rate
            + self.cpu
            + self.error
            + self.novelty_penalty
            + self.progress_penalty
            + self.cap
            + self.variants
            + self.slow_loop
    }

    /// Limits the total to `limit` by a negative `cap` component.
    fn cap_at(&mut self, limit: f64) {
        let total = self.sum();
        if total > limit {
            self.cap = limit - total;
        }
    }

    fn into_assessment(self, path: Option<Path>, loop_lines_per_s: f64) -> Assessment {
        Assessment {
            confidence: self.sum().clamp(0.0, 1.0),
            path,
            components: vec![
                ("cycle", self.cycle),
                ("repetition", self.repetition),
                ("rate", self.rate),
                ("cpu", self.cpu),
                ("error", self.error),
                ("novelty_penalty", self.novelty_penalty),
                ("progress_penalty", self.progress_penalty),
                ("cap", self.cap),
                ("variants", self.variants),
                ("slow_loop", self.slow_loop),
            ],
            loop_lines_per_s,
            protections: Vec::new(),
            slow_loop: None,
        }
    }
}

fn ramp(x: f64, from: f64, to: f64) -> f64 {
    ((x - from) / (to - from)).clamp(0.0, 1.0)
}

/// 0 below 30 % of a core, 1 from 90 %.
fn cpu_factor(cpu_percent: Option<f64>) -> f64 {
    cpu_percent.map_or(0.0, |c| ramp(c, 30.0, 90.0))
}

/// 0 up to 2.5 lines/s, 1 from 10 lines/s.
fn rate_factor(lines_per_s: f64) -> f64 {
    ramp(lines_per_s, 2.5, 10.0)
}

/// A block of three lines or more repeating at most this many times a second is slow: a
/// status display redrawn every second, unless it is a loop of work (`slow_loop_of_work`).
const SLOW_BLOCK_PASSES_PER_S: f64 = 1.2;

/// Passes a slow block must have repeated, with nothing advancing, before it can count as a
/// loop of work: a developer saving three times in a row rebuilds three times.
const SLOW_LOOP_PASSES: u64 = 4;

/// Mean tree CPU over a slow block's passes (percent of a core) that says every pass does
/// its work again: a build, a test run, a process start. A display costs next to nothing
/// (0-2 %; an editor's occasional rebuild between displays under 10 %).
const SLOW_LOOP_CPU: f64 = 30.0;

/// A cadence spread (coefficient of variation of the pass intervals) from which passes are
/// paced by work — a model answering, a tool call — rather than by a timer. A timer (`sleep
/// 1`, a scheduler) measures at or below 0.01; work typically 0.1-0.3, but six intervals
/// are a small sample, so the line is drawn at six times the timer's spread.
const WORK_PACED: f64 = 0.06;

/// The least cadence spread of a slow loop whose passes cost CPU: a timer-driven display
/// keeps its pace (about 0.01) however busy the rest of the job is, a rebuild's pace wanders
/// with the build.
const NOT_A_TIMER: f64 = 0.03;

/// Slower than this many passes a second (a pass every 3.3 s), a block is not judged as a
/// slow loop: its passes are too far apart for the window to hold enough of them.
const SLOW_LOOP_MIN_PASSES_PER_S: f64 = 0.3;

/// The slowest restart loop judged (a pass every 5 s): four passes take 20 s.
const RESTART_LOOP_MIN_PASSES_PER_S: f64 = 0.2;

/// The slowest loop judged whose passes are a model's answers (they report the tokens a
/// call used, or their prose is written anew each pass) and say nothing of waiting: a pass
/// every 20 s. A model takes 3-15 s an answer, so an agent stuck on one tool call repeats
/// at that pace; its passes need no window to hold them, only the tracker's run and the
/// result that never changes. An agent polling something that reports it is `pending`
/// waits on purpose, and is judged only at the pace of any other slow block.
const MODEL_LOOP_MIN_PASSES_PER_S: f64 = 0.05;

/// The slowest re-run loop judged (a pass every 20 s): a block of three lines or more that
/// fails the same way, exactly, with nothing else printed between its passes and no words of
/// waiting (a client whose retry loop prints the same traceback and sleeps a few seconds).
/// Its passes need no window to hold them: the exact run holds them, and a value shown after
/// its first pass that no pass showed before (a count, an item, a measurement, an iteration
/// number that counts no attempts) keeps it off this path.
const RERUN_LOOP_MIN_PASSES_PER_S: f64 = 0.05;

/// The least share of the recent output a slow re-run loop below `SLOW_LOOP_MIN_PASSES_PER_S`
/// must cover: a service that serves requests between two failures of a background task is
/// doing its work.
const RERUN_LOOP_COVERAGE: f64 = 0.9;

/// Confidence a slow loop of work adds, making up for the line rate it does not have.
const SLOW_LOOP_WEIGHT: f64 = 0.2;

/// Passes a two-line cycle (a call and its result) must have repeated exactly before it can
/// count as a slow loop of work: as many as a longer block, so that with the hold and the
/// stop the decision lands within the five passes a slow loop is given (at five, a loop of
/// a pass every 1.5 s was stopped after six). The failed or empty result and the pace that
/// wanders like a model's are what make up for a pass of two lines being weaker proof.
const TWO_LINE_PASSES: u64 = 4;

/// The least cadence spread of a two-line loop of work: a call and its result paced by a
/// model or a remote service wander by 10-30 %; a poller's pace is its sleep or its poll
/// timeout plus a little jitter (1-8 %).
const TWO_LINE_WORK_PACED: f64 = 0.10;

/// Passes a block that fails the same way must have repeated exactly before it counts as a
/// re-run loop at whatever pace — and the first line of the next pass must repeat too. Four
/// complete passes, so that with the short hold and the stop a loop of a pass every 1.5-3 s
/// is stopped within five of its passes (at five complete ones the decision landed just
/// after the fifth); the next pass begun, because a test retried three times after its
/// failure (`jest.retryTimes(3)`, `--reruns 3`, `--retries=3`) prints the same failing
/// block four times and then moves on.
const FAILING_BLOCK_PASSES: u64 = 4;

/// Passes a block that reports a crash must have repeated exactly before it counts as a
/// restart loop: four, so a supervisor restarting every 2-3 s is stopped within five of its
/// passes; a service that fails twice or three times while what it needs comes up, then
/// serves, is left alone.
const RESTART_LOOP_PASSES: u64 = 4;

/// What a slow block (at most about a pass a second, which the heartbeat cap would hold
/// down) shows beyond its repetition.
struct SlowBlock {
    /// Lines per pass.
    period: usize,
    /// Every pass repeats the one before exactly (an exact cycle, not a loose one).
    exact: bool,
    /// Failure words in the block.
    error: bool,
    /// The block says it waits on purpose.
    wait: bool,
    /// The block reports an empty result.
    empty: bool,
    /// The block reports a crash: a process that ended abnormally.
    crash: bool,
    /// Lines of the run that repeated the line a pass before (an exact cycle's run).
    matched: u64,
    /// Share of the recent output that belongs to the block's templates.
    coverage: f64,
    /// Each pass is printed at once and followed by a wait: the longest gap between two
    /// lines of the run is at least half the pass interval.
    printed_at_once: bool,
    /// Each pass is a test run's report with failures (`1 failed, 2 passed`).
    test_run: bool,
    /// Each template of the block is printed once a pass (`CycleSignals::one_pass`).
    one_pass: bool,
    /// The most times one line of the block changed its identifiers or counts over the run.
    changes: u64,
    /// The latest pass intervals grew one after another (1, 2, 4 s): the job backs off.
    backing_off: bool,
    /// The block reports what a model call used: its passes are a model's answers.
    model_call: bool,
    /// The block reports something still under way (`status running`): a poll's answer.
    under_way: bool,
    passes: u64,
    passes_per_s: f64,
    progress: Progress,
    texture: bool,
    /// A value changes in the failed or empty result itself.
    result_texture: bool,
    /// A pass after the first showed a value never shown before.
    news: bool,
    /// The same, counting numbers that rise by one unless they count attempts.
    counted_news: bool,
    loop_cpu: Option<f64>,
    cadence: Option<f64>,
    /// Not every pass brought new text: its reworded lines come from a small set.
    recurring_variants: bool,
    /// The passes differ only in their prose: the same call, reworded.
    paraphrased: bool,
    /// An age in the block rises with the clock: a display of a wait.
    clock: bool,
}

/// A slow block is a status display or heartbeat (left alone) unless it is a loop of work.
/// Always: it has repeated with no number in it moving (no progress, and no other value
/// changing: the same result every pass; for a two-line pass, the result), no age in it
/// rising with the clock (a display of a wait), at 0.3 passes a second or more (0.2 for a
/// restart loop; 0.05 for a model's answers that say nothing of waiting, and for a re-run
/// loop printed at once between waits that is all the job prints). Then one of:
///
/// * a block whose passes differ only in their prose (every variant a paraphrase), with a
///   failed or empty result, no words of waiting, at a pace that is not a timer's (at least
///   `NOT_A_TIMER`): the same call reworded (a paraphrase loop) — prose written anew on
///   every pass comes from a model, whose pace need not wander by much;
///
/// * a block of three lines or more, `SLOW_LOOP_PASSES` passes, not at a timer's steady
///   pace, whose passes cost CPU, without words of waiting (a rebuild or re-run loop; with
///   failure words, once the fifth pass has begun; a job that says it polls spends CPU on
///   its polling);
/// * a block of two lines or more that reports a crash (a process that ended abnormally)
///   and a start, with a pid, an id or a count in it new on every pass (each pass a new
///   process), repeated exactly `RESTART_LOOP_PASSES` times without words of waiting,
///   at 0.2 passes a second or more and a pace that does not back off (its last three pass
///   intervals did not each grow by a quarter, as 1, 2, 4 s do): a supervisor restarting a
///   service that dies again, whatever its restart delay; its plain counts (fresh pids,
///   restart counters) are the restarts' own and were not read as progress;
/// * a block of three lines or more repeated exactly `FAILING_BLOCK_PASSES` times, and the
///   first line of the next pass begun, with failure words and without words of waiting, at
///   any pace that does not back off: a wrapper re-running a tool
///   that fails the same way (a timer's pace is no protection here — `sleep 1` between
///   re-runs is a wrapper's pace too — but a job that says it waits, `waiting for ssh`,
///   `retrying in 1s`, is a deliberate wait and is left alone);
/// * a two-line pass — a call and its result — repeated exactly `TWO_LINE_PASSES` times,
///   the result failed or empty, no words of waiting, at a pace that wanders like a model's
///   or a remote service's answers (at least `TWO_LINE_WORK_PACED`; when the call reports
///   the tokens a model used, at least `NOT_A_TIMER`): a poller's pace is its sleep or poll
///   timeout, its request reports no tokens, a heartbeat's result is a success;
/// * a block of three lines or more repeated exactly with an empty result, no words of
///   waiting, not backing off, at a pace that wanders like work (at least
///   `TWO_LINE_WORK_PACED`): an agent repeating a step that returns nothing;
/// * a block of two lines or more whose passes are a model's answers (it reports what the
///   call used, or names a tool call with an id new every pass), repeated exactly
///   `SLOW_LOOP_PASSES` times and the next pass begun, nothing new in it but the turn
///   number, no words of waiting and nothing reported still under way (`status running`:
///   an agent polling a build), not backing off, at a pace that wanders like work: an
///   agent given the same result for the same call, turn after turn;
/// * a block of three lines or more whose reworded lines come from a small set, at a pace
///   that wanders like work, without words of waiting or anything reported still under way
///   (an agent asking the same thing again; a poller that says it polls, `ASYNC POLL on
///   web01`, is waiting, and one shown `status in_progress` is polling).
///
/// Where a pace that wanders is asked for, passes that are a model's answers (its tokens,
/// or a tool call with an id new every pass) need none when the result failed or is empty,
/// at 0.3 passes a second or more.
///
/// Failure words never take a block off these paths; they only open the failing-block one.
/// Returns the finding in words.
fn slow_loop_of_work(b: &SlowBlock) -> Option<String> {
    // A percentage frozen at one value (`[100%]` on every pass) is not progress.
    let moving = !matches!(b.progress, Progress::None | Progress::FrozenPercent);
    let needed = if b.period <= 2 {
        TWO_LINE_PASSES
    } else {
        SLOW_LOOP_PASSES
    };
    // For a two-line call and its failed or empty result, what must not change is the
    // result: numbers that jitter in the call's metadata (token counts, latencies) do not
    // make a pass report something new.
    // For a block that fails the same way, exactly, what must not change is what it
    // reports: values a pass shows in turn (`... 5 more`, `... 9 more` in one Java trace)
    // and came round before are the pass repeating.
    let texture = if b.period <= 2 {
        b.result_texture
    } else if b.exact && b.error {
        b.news
    } else {
        b.texture
    };
    // A restart loop's pace is its supervisor's delay plus the service's start-up (a pass
    // every 2-4 s); its plain counts are already read as its own, so the window need not
    // hold many passes to judge its progress.
    // A block that fails the same way, exactly, and is all the job prints is a re-run loop
    // however slowly it goes round: a client retrying a refused connection every few seconds.
    // Its pass is one burst and a wait: four redraws of a display every second whose failing
    // row flaps in a fixed turn make an exact 4 s cycle too, printed in four bursts. A test
    // run's report is no display, however its lines are spread over the run (each test's
    // line when it finishes), nor is a block that prints each of its lines once (a
    // playbook's run, its hosts' results as each finishes): a display redrawn within the
    // cycle prints its header and rows once per redraw.
    let lone_rerun = b.exact
        && b.error
        && !b.wait
        && !b.backing_off
        && (b.printed_at_once || b.test_run || b.one_pass)
        && !b.counted_news
        && b.coverage >= RERUN_LOOP_COVERAGE;
    let slowest = if b.crash {
        RESTART_LOOP_MIN_PASSES_PER_S
    } else if (b.model_call || b.paraphrased) && !b.wait {
        MODEL_LOOP_MIN_PASSES_PER_S
    } else if lone_rerun && b.period >= 3 {
        RERUN_LOOP_MIN_PASSES_PER_S
    } else {
        SLOW_LOOP_MIN_PASSES_PER_S
    };
    if b.passes < needed || moving || texture || b.clock || b.passes_per_s < slowest {
        return None;
    }
    let cadence = b.cadence?;
    // Below the pace of other slow loops only the re-run path judges.
    let rerun_only =
        b.passes_per_s < SLOW_LOOP_MIN_PASSES_PER_S && !b.crash && !b.model_call && !b.paraphrased;
    // A pace that wanders tells a model's or a remote service's answers from a poller's
    // sleep. Passes that are a model's answers (each reports its tokens or a tool call with
    // a fresh id) need no such sign when what comes back failed or is empty, at the pace of
    // any other slow block: a timer's pace there only shows that a simulated or scripted
    // agent keeps time. A scheduled call every few seconds or slower still needs the sign.
    let paced_like_work =
        |least: f64| cadence >= least || b.model_call && b.passes_per_s >= SLOW_LOOP_MIN_PASSES_PER_S;
    // A supervisor starting a service that dies again: its pid and restart counter were
    // already read as its own, so nothing in the block moves but them and the times, and
    // each pass is a new process (a fresh pid, container id or restart count). A status
    // display polled every second that shows a crashlooping pod beside running ones repeats
    // unchanged (its pace is no guide: the poll's own call makes it wander). A restart loop
    // whose passes show nothing new but the time is left to the re-run path when it fails.
    let restarted = b.changes + 1 >= b.passes;
    if b.exact && b.crash && restarted && !b.wait && !b.backing_off && b.passes >= RESTART_LOOP_PASSES {
        return Some(format!(
            "a restart loop: the same {}-line block reporting a crash {} times at {:.1}/s, \
             only process ids, restart counters and times moving, not backing off (pace \
             varying {:.0} %)",
            b.period,
            b.passes,
            b.passes_per_s,
            100.0 * cadence
        ));
    }
    // Prose composed anew on every pass is a model's doing: its pace need only not be a
    // timer's. A program's display prints fixed strings, so it rarely gets here at all.
    // A model's answers reworded before the same call with the same result are the same
    // answer too, whatever the result, when nothing says it is still under way; a pace
    // that is not a timer's is still asked of a result that neither failed nor is empty.
    let answered_alike = b.model_call && !b.under_way && cadence >= NOT_A_TIMER;
    if b.paraphrased
        && !b.wait
        && !b.under_way
        && (b.error || b.empty || answered_alike)
        && paced_like_work(NOT_A_TIMER)
    {
        let result = match (b.error, b.empty) {
            (true, _) => "failed",
            (false, true) => "empty",
            (false, false) => "same",
        };
        let pace = pace_words(cadence, NOT_A_TIMER, "not a timer's");
        return Some(format!(
            "a paraphrase loop: the same {}-line call and {result} result {} times at {:.1}/s \
             with only its prose reworded, pace varying {:.0} % ({pace}), no words of \
             waiting",
            b.period,
            b.passes,
            b.passes_per_s,
            100.0 * cadence
        ));
    }
    // A failing block printed four times and no more is a test retried three times: a
    // loop that fails goes on into its next pass. (A loose block's passes are counted
    // whole, after the pass that began its run.)
    let next_begun = !b.exact || b.matched > (FAILING_BLOCK_PASSES - 1) * b.period as u64;
    if b.period <= 2 {
        let result = match (b.error, b.empty) {
            (true, _) => "failed",
            (false, true) => "empty",
            (false, false) => return model_loop(b, cadence, next_begun),
        };
        // A call that reports what the model used is a model's answer whatever its pace
        // measures: a poller's request reports no tokens. Its pace need only not be a
        // timer's.
        let least = if b.model_call {
            NOT_A_TIMER
        } else {
            TWO_LINE_WORK_PACED
        };
        if !b.exact || b.wait || !paced_like_work(least) {
            return None;
        }
        let pace = pace_words(cadence, TWO_LINE_WORK_PACED, "like work");
        return Some(format!(
            "a slow loop of work: the same 2-line call and {result} result {} times at {:.1}/s, \
             pace varying {:.0} % {pace}, no words of waiting",
            b.passes,
            b.passes_per_s,
            100.0 * cadence
        ));
    }
    // A job that says it polls or waits spends CPU on its own polling (Ansible's `ASYNC
    // POLL on web01` for each host every second costs the controller a third of a core).
    if let Some(cpu) = b.loop_cpu.filter(|&cpu| {
        !rerun_only && !b.wait && cpu >= SLOW_LOOP_CPU && cadence >= NOT_A_TIMER && (next_begun || !b.error)
    }) {
        return Some(format!(
            "a slow loop of work: {} passes at {:.1}/s, tree CPU {cpu:.0} % over them, pace \
             varying {:.0} %",
            b.passes,
            b.passes_per_s,
            100.0 * cadence
        ));
    }
    if b.exact && b.error && !b.wait && !b.backing_off && next_begun {
        let (block, waiting) = if b.test_run {
            (
                "test run's report with failed tests",
                "its waits are its tests' steps",
            )
        } else {
            ("block with failure words", "no words of waiting")
        };
        return Some(format!(
            "a re-run loop: the same {}-line {block} {} times at {:.1}/s, nothing moving, \
             {waiting} (pace varying {:.0} %)",
            b.period,
            b.passes,
            b.passes_per_s,
            100.0 * cadence
        ));
    }
    // A block that hands back nothing (`(no output)`, `{}`, `No results found`) and asks
    // again, at a pace that wanders like a model's or a remote service's answers: an agent
    // repeating a step whose result it cannot use. As for a two-line call, a poller's pace
    // is its sleep or its timeout, and one that says it waits is left alone.
    if !rerun_only && b.exact && b.empty && !b.wait && !b.backing_off && paced_like_work(TWO_LINE_WORK_PACED)
    {
        let pace = pace_words(cadence, TWO_LINE_WORK_PACED, "like work");
        return Some(format!(
            "a slow loop of work: the same {}-line block and empty result {} times at \
             {:.1}/s, nothing moving, pace varying {:.0} % {pace}, no words of waiting",
            b.period,
            b.passes,
            b.passes_per_s,
            100.0 * cadence
        ));
    }
    if let Some(finding) = model_loop(b, cadence, next_begun) {
        return Some(finding);
    }
    if rerun_only || b.wait || b.under_way || cadence < WORK_PACED || !b.recurring_variants {
        return None;
    }
    Some(format!(
        "a slow loop of work: {} passes at {:.1}/s, reworded from a few variants, pace varying \
         {:.0} % like work",
        b.passes,
        b.passes_per_s,
        100.0 * cadence
    ))
}

/// How a finding words its pace: as `paced` when it wanders by `least` or more, else as no
/// guide, which only a model's answers get past `paced_like_work` with.
fn pace_words(cadence: f64, least: f64, paced: &'static str) -> &'static str {
    if cadence >= least {
        paced
    } else {
        "no guide: each pass is a model's answer"
    }
}

/// An agent handed the same result for the same call, turn after turn: its block reports
/// what each model call used, or names the call with an id new every turn, so every pass is
/// a model's answer, and nothing in it moves but the turn number. An agent at work calls
/// with new arguments or gets new results; one that polls something says it waits, or that
/// what it polls is still under way (`pending`, `status running`).
fn model_loop(b: &SlowBlock, cadence: f64, next_begun: bool) -> Option<String> {
    let turn_after_turn = b.exact
        && b.model_call
        && !b.wait
        && !b.under_way
        && !b.backing_off
        && !b.news
        && next_begun
        && cadence >= TWO_LINE_WORK_PACED;
    turn_after_turn.then(|| {
        format!(
            "a model loop: the same {}-line call and result {} times at {:.1}/s, each pass a \
             model's answer, nothing moving but its turn, pace varying {:.0} % like work, no \
             words of waiting",
            b.period,
            b.passes,
            b.passes_per_s,
            100.0 * cadence
        )
    })
}

/// A job whose earlier bursts of repetition ended must repeat for twice its longest burst
/// before a cycle counts, but never for more than this (the 5 s decision budget).
const MAX_BURST_FLOOR: Duration = Duration::from_millis(3000);

fn cycle_assessment(c: &CycleSignals, bursts: Bursts, cpu: f64, threshold: f64) -> Assessment {
    let span = c.span.as_secs_f64();
    let run = c.run as f64;
    let passes = run / c.period as f64;
    let pass_interval = if passes > 0.0 {
        span / passes
    } else {
        f64::INFINITY
    };
    // A fast loop whose output arrives in bursts (block buffering, a rate-limited reader)
    // is as fresh as its longest burst gap so far allows.
    let burst_gap = if run / span.max(0.05) >= BURSTY_LINES_PER_S {
        1.5 * c.longest_gap.as_secs_f64()
    } else {
        0.0
    };
    let fresh = c.silence.as_secs_f64() <= (2.0 * pass_interval).max(burst_gap) + FRESHNESS_SLACK_S;
    let (line_weight, cycle_weight) = match c.period {
        1 => (1.0, 0.62),
        2 => (1.5, 0.66),
        _ => (2.0, 0.70),
    };
    // A block printed twice is the same thing done twice (a call retried once, a warning
    // printed by two targets); a loop goes on into a third pass. However many lines the
    // block has, its evidence grows with its passes: none at two, full once half of a
    // third is out.
    let e_run = (1.0 - (-run * line_weight / 4.0).exp()) * ramp(passes, 2.0, 2.5);
    let e_span = ramp(span, 0.1, 0.5);
    let e = if fresh { e_run * e_span } else { 0.0 };
    let lines_per_s = run / span.max(0.05);
    let passes_per_s = passes / span.max(0.05);
    let mut parts = Parts {
        cycle: cycle_weight * e,
        rate: 0.23 * e * rate_factor(lines_per_s),
        cpu: 0.15 * e * cpu,
        error: if c.error { 0.15 * e } else { 0.0 },
        progress_penalty: progress_penalty(c.progress, c.span, c.period == 1),
        ..Parts::default()
    };
    // One or two lines: a heartbeat up to a pass a second whatever they say, and up to two
    // when nothing fails or the job says it waits (`not ready, retrying in 0.5s`).
    // A longer block is one up to 1.2 passes a second, and up to two when nothing fails and
    // it says what it polls is still under way (an agent polling a build that reports
    // `"status": "in_progress"` as fast as its model answers). Words of waiting do not
    // stretch it: a watcher re-running on its own writes says `Waiting for file changes`
    // after every run.
    let polls = c.under_way && !c.error;
    let heartbeat = if c.period <= 2 {
        passes_per_s <= 1.0 || ((!c.error || c.wait) && passes_per_s <= 2.0)
    } else {
        passes_per_s <= SLOW_BLOCK_PASSES_PER_S || polls && passes_per_s <= 2.0
    };
    let spinner = c.animation && !c.error;
    // Slow enough to be judged as a slow loop: a heartbeat's pace, and up to two passes a
    // second, where a block with too few lines for its rate to count (a call and its
    // failed or empty result, an agent's three-line turn) is no longer a heartbeat but
    // would otherwise never be judged at all. One line a pass stays a heartbeat: a tool
    // started again on every pass that fails in one line looks, from its output and CPU,
    // like a busy job whose background push fails on its own.
    let slow = heartbeat || passes_per_s <= 2.0;
    let slow_work = (slow && !spinner && c.period >= 2)
        .then(|| {
            slow_loop_of_work(&SlowBlock {
                period: c.period,
                exact: true,
                error: c.error,
                wait: c.wait,
                empty: c.empty,
                crash: c.crash,
                backing_off: c.backing_off,
                model_call: c.model_call,
                under_way: c.under_way,
                matched: c.run,
                coverage: c.coverage,
                printed_at_once: c.longest_gap.as_secs_f64() >= 0.5 * pass_interval,
                test_run: c.test_run,
                one_pass: c.one_pass,
                changes: c.changes,
                passes: c.repetitions,
                passes_per_s,
                progress: c.progress,
                texture: c.texture,
                result_texture: c.result_texture,
                news: c.news,
                counted_news: c.counted_news,
                loop_cpu: c.loop_cpu,
                cadence: c.cadence,
                recurring_variants: false,
                paraphrased: false,
                clock: c.clock.is_some(),
            })
        })
        .flatten();
    if slow_work.is_some() {
        // The passes a slow loop of work needed are its evidence (as for a loose cycle): a
        // two-line loop's matched lines alone would take a pass or two more to saturate.
        let e_slow = if fresh { e_span } else { 0.0 };
        parts.cycle = cycle_weight * e_slow;
        parts.slow_loop = SLOW_LOOP_WEIGHT * e_slow;
    } else if heartbeat || spinner {
        parts.cap_at(HEARTBEAT_CAP * threshold);
    }
    if c.replies.is_some() {
        parts.cap_at(HEARTBEAT_CAP * threshold);
    }
    // A sampler's rows (`iostat`, `mpstat`, `pgbench -P 1`) repeat at its tick, however
    // fast they are replayed; a loop's line moves a clock or one latency at most.
    if c.measured.is_some() {
        parts.cap_at(HEARTBEAT_CAP * threshold);
    }
    // A display that says how often it is redrawn (`psql`'s `\watch 0.2`, `watch -n 0.5`)
    // and keeps to it is its timer's, however fast: a loop does not announce its pace.
    let on_its_timer = c
        .interval
        .filter(|&every| !c.error && (pass_interval - every).abs() <= TIMER_TOLERANCE * every);
    if on_its_timer.is_some() {
        parts.cap_at(HEARTBEAT_CAP * threshold);
    }
    let burst_floor = (bursts.longest * 2).min(MAX_BURST_FLOOR);
    let like_a_burst = bursts.finished > 0 && c.span < burst_floor;
    if like_a_burst {
        parts.cap_at(HEARTBEAT_CAP * threshold);
    }
    let mut protections = Vec::new();
    if like_a_burst && parts.cap < 0.0 {
        protections.push(format!(
            "repeats like the {} earlier burst(s) that ended (longest {:.1} s; {:.1} s needed)",
            bursts.finished,
            bursts.longest.as_secs_f64(),
            burst_floor.as_secs_f64()
        ));
    }
    if !fresh && e_run * e_span > 0.0 {
        protections.push(format!(
            "the repetition stopped {:.1} s ago (a burst that ended)",
            c.silence.as_secs_f64()
        ));
    }
    if parts.progress_penalty < 0.0 {
        protections.push(progress_protection(
            c.progress,
            c.countdown.as_deref(),
            c.period == 1,
        ));
    }
    if let Some(replies) = c.replies.filter(|_| parts.cap < 0.0) {
        protections.push(replies.describe().to_string());
    }
    if let Some(measured) = c
        .measured
        .as_ref()
        .filter(|_| parts.cap < 0.0 && c.replies.is_none())
    {
        protections.push(measured.describe());
    }
    if let Some(every) = on_its_timer.filter(|_| parts.cap < 0.0) {
        protections.push(if c.traced_wait {
            format!(
                "a traced process waiting out its {every} s timeout every pass (a pass every {pass_interval:.2} s): its timer, not a loop"
            )
        } else {
            format!("a display redrawn every {every} s, as it says (a pass every {pass_interval:.2} s)")
        });
    }
    if parts.cap < 0.0 && (heartbeat || spinner) && slow_work.is_none() {
        protections.push(if spinner && !heartbeat {
            "spinner frames".to_string()
        } else {
            heartbeat_protection(passes_per_s, c.cadence, c.loop_cpu, c.wait, c.under_way)
        });
        if let Some(clock) = &c.clock {
            protections.push(clock.clone());
        }
    }
    let mut assessment = parts.into_assessment(Some(Path::Cycle), lines_per_s);
    assessment.slow_loop = slow_work;
    assessment.protections = protections;
    assessment
}

/// The words for the heartbeat protection, with what set it apart from a loop of work.
fn heartbeat_protection(
    passes_per_s: f64,
    cadence: Option<f64>,
    loop_cpu: Option<f64>,
    wait: bool,
    under_way: bool,
) -> String {
    let mut words = format!("heartbeat: {passes_per_s:.1} passes/s");
    if let Some(cadence) = cadence {
        words.push_str(&format!(", pace varying {:.0} %", 100.0 * cadence));
    }
    if let Some(cpu) = loop_cpu {
        words.push_str(&format!(", tree CPU {cpu:.0} %"));
    }
    if wait {
        words.push_str(", says it waits");
    } else if under_way {
        words.push_str(", says what it polls is still under way");
    }
    words
}

/// The words for a progress protection. An iteration counter protects a one-line cycle
/// however long it lasts (a unit of work per line), a longer pass only at first.
fn progress_protection(progress: Progress, countdown: Option<&str>, one_line_cycle: bool) -> String {
    match (progress, countdown) {
        (Progress::Countdown | Progress::Descending, Some(words)) => words.to_string(),
        (Progress::Countdown, None) => "a count going down".to_string(),
        (Progress::Descending, None) => "an optimisation restarted from new starting points".to_string(),
        (Progress::Advancing, _) => "a counter advancing".to_string(),
        (Progress::Walking, Some(words)) if words.starts_with(GRID_WALK) => words.to_string(),
        (Progress::Walking, _) => {
            "one place or item after another (source locations, numbered names, versions, parts of a whole)"
                .to_string()
        }
        (Progress::Counting, _) if one_line_cycle => {
            "an iteration counter, a unit of work per line".to_string()
        }
        (Progress::Counting, _) => format!(
            "an iteration counter (for the first {} s of a multi-line pass)",
            COUNTING_GRACE.as_secs_f64()
        ),
        (Progress::StalledPercent, _) => "a percentage that moved before".to_string(),
        (Progress::FrozenPercent, _) => "a percentage that has not moved yet (for the first 3 s)".to_string(),
        (Progress::None, _) => "none".to_string(),
    }
}

fn repetition_assessment(r: &RepetitionSignals, cpu: f64, threshold: f64) -> Assessment {
    let span = r.span.as_secs_f64();
    let fresh = r.silence <= Duration::from_secs(2) && r.lines >= 30;
    let e = if fresh {
        ramp(span, 2.0, 5.0) * ramp(r.matched_fraction, 0.70, 0.90)
    } else {
        0.0
    };
    let lines_per_s = r.lines as f64 / span.max(0.25);
    let error = r.error_fraction >= 0.25;
    let new_per_s = r.new_templates as f64 / span.max(1.0);
    let mut parts = Parts {
        repetition: 0.55 * e,
        rate: 0.10 * e * rate_factor(lines_per_s),
        cpu: 0.20 * e * cpu,
        error: if error { 0.20 * e } else { 0.0 },
        novelty_penalty: -(0.25 * new_per_s).min(0.5),
        progress_penalty: progress_penalty(r.progress, r.span, r.period == 1),
        ..Parts::default()
    };
    let corroborated = error || cpu >= 0.5;
    if !corroborated || (!error && lines_per_s <= 2.0) || r.replies.is_some() || r.measured.is_some() {
        parts.cap_at(HEARTBEAT_CAP * threshold);
    }
    let mut protections = Vec::new();
    if parts.novelty_penalty < 0.0 {
        protections.push(format!(
            "{} new kinds of line during the repetition",
            r.new_templates
        ));
    }
    if parts.progress_penalty < 0.0 {
        protections.push(progress_protection(r.progress, None, r.period == 1));
    }
    if parts.cap < 0.0 {
        protections.push(match (r.replies, &r.measured) {
            (Some(replies), _) => replies.describe().to_string(),
            (None, Some(measured)) => measured.describe(),
            (None, None) => "repetition without an exact cycle, errors or CPU".to_string(),
        });
    }
    let mut assessment = parts.into_assessment(Some(Path::Repetition), lines_per_s);
    assessment.protections = protections;
    assessment
}

/// The confidence of a cycle alone, to choose between the merged and per-stream cycles.
pub fn assess_cycle(c: &CycleSignals, cpu_percent: Option<f64>, threshold: f64) -> f64 {
    cycle_assessment(c, Bursts::default(), cpu_factor(cpu_percent), threshold).confidence
}

/// The same block again and again with a few lines reworded in each pass (an agent that
/// apologises differently before the same failing tool call). Evidence needs four passes over
/// two seconds, more than an exact cycle, because a pass that only mostly repeats is weaker
/// proof. Reworded lines that are new text in every pass (the headers of distinct tasks,
/// each followed by the same `ok` block) say the job moves on, so such a cycle needs error
/// wording in its repeating lines or CPU to count; variants drawn from a small set that
/// recurs (the same few stock phrases) are a loop by themselves.
fn loose_assessment(l: &LooseSignals, cpu: f64, threshold: f64) -> Assessment {
    let span = l.span.as_secs_f64();
    let passes = l.passes as f64;
    let pass_interval = span / passes.max(1.0);
    let fresh = l.silence.as_secs_f64() <= 2.0 * pass_interval + FRESHNESS_SLACK_S;
    let lines_per_s = passes * l.period as f64 / span.max(0.05);
    let passes_per_s = passes / span.max(0.05);
    // Paraphrases of one call are the same text in other words: they recur.
    let recurring = l.novel_variants * 2 <= l.passes || l.paraphrased;
    // Only a slow block (up to two passes a second, as for an exact cycle): a faster one
    // is judged by its rate, its variants and its wording. Failure words do not take it off
    // this path: they only ever add.
    let slow = passes_per_s <= 2.0;
    let slow_work = slow
        .then(|| {
            slow_loop_of_work(&SlowBlock {
                period: l.period,
                exact: false,
                error: l.error,
                wait: l.wait,
                empty: l.empty,
                crash: false,
                matched: 0,
                coverage: 0.0,
                printed_at_once: false,
                test_run: false,
                one_pass: false,
                changes: 0,
                backing_off: false,
                model_call: l.model_call,
                under_way: l.under_way,
                // The run starts once a pass has been compared with the one before it, so
                // the block has been printed twice more than the run's passes.
                passes: l.passes + 2,
                // The span reaches back to the pass before the run's first one.
                passes_per_s: (passes + 1.0) / span.max(0.05),
                progress: l.progress,
                texture: l.texture,
                result_texture: l.result_texture,
                news: l.texture,
                counted_news: l.texture,
                loop_cpu: l.loop_cpu,
                cadence: l.cadence,
                // Some pass brought no new text: its reworded line was printed before. And
                // the block is reworded: at least every other pass varies, or some variant
                // is one printed before. A block that repeated exactly and then changed once
                // or twice, each time into new text (a poll's answer turning to `status
                // success`, then the agent's final answer), has no set of variants to go
                // round.
                recurring_variants: l.novel_variants < l.passes
                    && (l.novel_variants < l.variants || 2 * l.variants >= l.passes),
                paraphrased: l.paraphrased,
                clock: l.clock.is_some(),
            })
        })
        .flatten();
    // A slow loop of work has shown its passes already (`SLOW_LOOP_PASSES` of them).
    let e = match (fresh, slow_work.is_some()) {
        (false, _) => 0.0,
        (true, true) => ramp(span, 1.0, 2.0),
        (true, false) => ramp(passes, 2.0, 4.0) * ramp(span, 1.0, 2.0),
    };
    let mut parts = Parts {
        variants: 0.62 * e,
        rate: 0.15 * e * rate_factor(lines_per_s),
        cpu: 0.15 * e * cpu,
        error: if l.error { 0.20 * e } else { 0.0 },
        novelty_penalty: if recurring || l.error { 0.0 } else { -0.10 * e },
        progress_penalty: progress_penalty(l.progress, l.span, false),
        ..Parts::default()
    };
    let mut protections = Vec::new();
    if slow_work.is_some() {
        parts.slow_loop = SLOW_LOOP_WEIGHT * e;
        parts.novelty_penalty = 0.0;
    } else if l.period == 1 {
        // One line reworded again and again is a loop only as the same call and its failed
        // or empty result at a model's pace (a paraphrase loop, above); lines of one shape
        // whose sentences name other things (`Building CXX object ...`) are distinct work.
        parts.cap_at(HEARTBEAT_CAP * threshold);
        if parts.cap < 0.0 {
            protections.push("one line reworded, no paraphrase loop of a failed or empty call".to_string());
        }
    } else if !recurring && !l.error && cpu < 0.5 {
        parts.cap_at(HEARTBEAT_CAP * threshold);
        if parts.cap < 0.0 {
            protections.push(format!(
                "each pass brings new text ({} never-seen lines in {} passes) and nothing fails",
                l.novel_variants, l.passes
            ));
        }
    } else if passes_per_s <= SLOW_BLOCK_PASSES_PER_S
        && (!l.error || l.cadence.is_none_or(|c| c < NOT_A_TIMER))
    {
        // A slow reworded block is a display, unless it fails at a pace that wanders: a
        // table redrawn by a timer whose rows change (`ErrImagePull`, then
        // `ImagePullBackOff`) keeps the timer's pace, failure words or not.
        parts.cap_at(HEARTBEAT_CAP * threshold);
        if parts.cap < 0.0 {
            protections.push(heartbeat_protection(
                passes_per_s,
                l.cadence,
                l.loop_cpu,
                l.wait,
                l.under_way,
            ));
            if let Some(clock) = &l.clock {
                protections.push(clock.clone());
            }
        }
    }
    if let Some(measured) = &l.measured {
        parts.cap_at(HEARTBEAT_CAP * threshold);
        if parts.cap < 0.0 {
            protections.push(measured.describe());
        }
    }
    if names_a_new_file_each_pass(l) {
        // A linter reporting the same problems in one file after another (generated code, a
        // rule new to the codebase): each pass is the next file, not the loop going round.
        parts.cap_at(HEARTBEAT_CAP * threshold);
        if parts.cap < 0.0 {
            protections.push(format!(
                "each pass names a new file ({} files in {} passes): one file's report after another",
                l.novel_files, l.passes
            ));
        }
    }
    if parts.progress_penalty < 0.0 {
        protections.push(progress_protection(l.progress, l.countdown.as_deref(), false));
    }
    let mut assessment = parts.into_assessment(Some(Path::Variants), lines_per_s);
    assessment.protections = protections;
    assessment.slow_loop = slow_work;
    assessment
}

/// Every pass of a loose cycle but at most one named a file new to the run, alone on its
/// line (`Wording::file_header`).
fn names_a_new_file_each_pass(l: &LooseSignals) -> bool {
    l.novel_files >= 2 && l.novel_files + 1 >= l.passes
}

/// Passes between silences a loop of alike passes must have shown, the latest begun: as
/// for an exact failing block (`FAILING_BLOCK_PASSES` complete and the next begun).
const ALIKE_PASSES: u64 = FAILING_BLOCK_PASSES + 1;

/// The fastest and slowest pace of alike passes judged, seconds between them: a display
/// redrawn every second is left to the cycle paths, and a pass every 20 s is the slowest
/// re-run loop judged (`RERUN_LOOP_MIN_PASSES_PER_S`).
const ALIKE_INTERVAL_S: (f64, f64) = (1.5, 1.0 / RERUN_LOOP_MIN_PASSES_PER_S);

/// The fastest pace of alike passes judged when each repeats the values of the one before
/// in another order, costs CPU and keeps no timer's pace: a tool re-run back to back
/// (`while ! pytest -n 2`, a run every 0.6-2 s: an interpreter, its plugins and two workers
/// start in about half a second), two evaluation ticks between passes. No other path sees
/// such passes: their order is never the same twice.
const ALIKE_RERUN_INTERVAL_S: f64 = 0.5;

/// A retry loop whose passes are alike but not exact (a Java client's trace, its frames
/// depending on the thread that failed): bursts of three lines or more, each after seconds
/// of silence, that begin with the same line and print mostly the same templates, five of
/// them, the latest begun, one every 1.5-20 s, with failure words, no words of waiting, not
/// backing off, nothing advancing, no age rising with the clock, no replies to outside
/// input, and the latest complete pass printing nothing new, nor more than half of those
/// after the first (a thread that takes another path prints frames and counts the run has
/// not seen, once; a job that moves on prints something new every pass). As with an exact
/// failing block, a timer's pace is no protection. Everything else scores nothing: the
/// other paths judge those passes.
fn alike_assessment(a: &AlikeSignals) -> Assessment {
    let fresh = a.silence.as_secs_f64() <= 2.0 * a.interval + FRESHNESS_SLACK_S;
    let moving = !matches!(a.progress, Progress::None | Progress::FrozenPercent);
    let (mut fastest, slowest) = ALIKE_INTERVAL_S;
    // A job started again and again: each pass costs CPU and its pace wanders with the work,
    // where a display redrawn by its timer keeps the timer's pace at next to no CPU. A
    // suite of fast tests re-run back to back keeps a steady pace (a spread of 0.03-0.08),
    // so this asks what any slow loop that costs CPU must show (`NOT_A_TIMER`).
    let rerun_paced = a.repeated
        && a.cadence.is_some_and(|c| c >= NOT_A_TIMER)
        && a.loop_cpu.is_some_and(|c| c >= SLOW_LOOP_CPU);
    if rerun_paced {
        fastest = ALIKE_RERUN_INTERVAL_S;
    }
    let alike_loop = fresh
        && a.passes >= ALIKE_PASSES
        && a.lines.0 >= 3
        && (fastest..=slowest).contains(&a.interval)
        && a.error
        && !a.wait
        && !a.backing_off
        && !moving
        && a.clock.is_none()
        && a.replies.is_none()
        && !a.latest_surprising
        && 2 * a.surprising < a.passes;
    if !alike_loop {
        return Parts::default().into_assessment(Some(Path::Passes), 0.0);
    }
    let parts = Parts {
        cycle: 0.70,
        error: 0.15,
        slow_loop: SLOW_LOOP_WEIGHT,
        ..Parts::default()
    };
    let lines_per_pass = (a.lines.0 + a.lines.1) as f64 / 2.0;
    let mut assessment = parts.into_assessment(Some(Path::Passes), lines_per_pass / a.interval);
    let lines = if a.lines.0 == a.lines.1 {
        format!("{}", a.lines.0)
    } else {
        format!("{}-{}", a.lines.0, a.lines.1)
    };
    let alike = if a.repeated {
        "the same values each pass in another order"
    } else {
        "alike but for ids, threads, times and the frames a pass takes"
    };
    assessment.slow_loop = Some(format!(
        "a re-run loop: the same failure in {} passes of {lines} lines at {:.1}/s (one every \
         {:.1} s), {alike}, nothing moving, no words of waiting",
        a.passes,
        1.0 / a.interval,
        a.interval
    ));
    assessment
}

/// Scores the signals against `threshold`; the stronger path wins.
pub fn assess(signals: &Signals, threshold: f64) -> Assessment {
    let cpu = cpu_factor(signals.cpu_percent);
    let cycle = signals
        .cycle
        .as_ref()
        .map(|c| cycle_assessment(c, signals.bursts, cpu, threshold));
    let repetition = signals
        .repetition
        .as_ref()
        .map(|r| repetition_assessment(r, cpu, threshold));
    let loose = signals
        .loose
        .as_ref()
        .map(|l| loose_assessment(l, cpu, threshold));
    let alike = signals.alike.as_ref().map(alike_assessment);
    // The strongest path wins; on a tie the exact cycle, then repetition.
    [cycle, repetition, loose, alike]
        .into_iter()
        .flatten()
        .fold(None, |best: Option<Assessment>, a| match best {
            Some(b) if b.confidence >= a.confidence => Some(b),
            _ => Some(a),
        })
        .unwrap_or_else(|| Parts::default().into_assessment(None, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(period: usize, run: u64, span_s: f64) -> CycleSignals {
        CycleSignals {
            started: Duration::ZERO,
            stream: None,
            period,
            run,
            repetitions: run / period as u64 + 1,
            span: Duration::from_secs_f64(span_s),
            silence: Duration::ZERO,
            longest_gap: Duration::ZERO,
            error: false,
            progress: Progress::None,
            animation: false,
            coverage: 1.0,
            example: "x".into(),
            countdown: None,
            cadence: None,
            loop_cpu: None,
            texture: false,
            result_texture: false,
            news: false,
            counted_news: false,
            clock: None,
            interval: None,
            traced_wait: false,
            wait: false,
            test_run: false,
            one_pass: false,
            empty: false,
            replies: None,
            measured: None,
            crash: false,
            model_call: false,
            under_way: false,
            backing_off: false,
            changes: 0,
        }
    }

    fn score(c: CycleSignals, cpu: Option<f64>) -> Assessment {
        let signals = Signals {
            cycle: Some(c),
            repetition: None,
            loose: None,
            alike: None,
            bursts: Bursts::default(),
            cpu_percent: cpu,
            rates: Rates::default(),
            silence: None,
        };
        assess(&signals, 0.8)
    }

    #[test]
    fn components_add_up_to_the_confidence() {
        let a = score(cycle(3, 60, 2.0), Some(95.0));
        let sum: f64 = a.components.iter().map(|(_, v)| v).sum();
        assert_eq!(a.confidence, sum.clamp(0.0, 1.0));
        assert_eq!(a.path, Some(Path::Cycle));
        assert!(a.confidence >= 0.99);
    }

    #[test]
    fn a_fast_loop_crosses_on_its_own_a_short_burst_does_not() {
        assert!(score(cycle(1, 500, 0.5), None).confidence >= 0.8);
        assert!(score(cycle(1, 500, 0.1), Some(100.0)).confidence < 0.1);
    }

    #[test]
    fn cpu_alone_scores_nothing() {
        let signals = Signals {
            cycle: None,
            repetition: None,
            loose: None,
            alike: None,
            bursts: Bursts::default(),
            cpu_percent: Some(200.0),
            rates: Rates::default(),
            silence: None,
        };
        assert_eq!(assess(&signals, 0.8).confidence, 0.0);
    }

    #[test]
    fn heartbeats_are_capped_unless_they_report_errors() {
        let beat = score(cycle(1, 3600, 3600.0), Some(100.0));
        assert!((beat.confidence - 0.6).abs() < 1e-9, "{beat:?}");
        assert!(beat.component("cap") < 0.0);
        let mut failing = cycle(1, 3600, 1200.0);
        failing.error = true;
        assert!(
            score(failing.clone(), Some(100.0)).confidence >= 0.8,
            "three failures a second"
        );
        failing.span = Duration::from_secs(3600);
        assert!(
            score(failing, Some(100.0)).confidence < 0.8,
            "one failure a second"
        );
    }

    #[test]
    fn a_samplers_rows_are_capped_however_fast() {
        // `mpstat 1` replayed at 20 lines/s: the fast path alone would cross in 0.5 s.
        let c = cycle(1, 400, 20.0);
        assert!(score(c.clone(), None).confidence >= 0.8);
        let measured = CycleSignals {
            measured: Some(Measurements {
                moving: 3,
                example: "<ts> all <n> <n> <n>".into(),
            }),
            ..c
        };
        let a = score(measured, Some(5.0));
        assert!((a.confidence - 0.6).abs() < 1e-9, "{a:?}");
        assert!(
            a.protections[0].starts_with("measurements that vary on every line (3 values"),
            "{:?}",
            a.protections
        );
    }

    #[test]
    fn progress_outweighs_everything() {
        let mut c = cycle(1, 5000, 10.0);
        c.progress = Progress::Advancing;
        c.error = true;
        assert!(score(c, Some(100.0)).confidence < 0.8);
    }

    #[test]
    fn a_stale_cycle_has_no_evidence() {
        let mut c = cycle(1, 7, 0.7);
        c.silence = Duration::from_secs(1);
        assert_eq!(score(c, Some(100.0)).confidence, 0.0);
    }

    #[test]
    fn a_fast_loop_arriving_in_bursts_stays_fresh_between_them() {
        // 8 KiB of buffered output every 2 s: 100 lines at once, then nothing.
        let mut c = cycle(1, 399, 6.0);
        c.silence = Duration::from_millis(1900);
        assert_eq!(score(c.clone(), None).confidence, 0.0, "no gap seen yet: stale");
        c.longest_gap = Duration::from_secs(2);
        assert!(score(c, None).confidence >= 0.8);
    }

    #[test]
    fn repetition_needs_corroboration() {
        let r = RepetitionSignals {
            period: 1,
            lines: 600,
            matched_fraction: 0.97,
            span: Duration::from_secs(6),
            silence: Duration::ZERO,
            error_fraction: 0.0,
            new_templates: 0,
            progress: Progress::None,
            replies: None,
            measured: None,
            top_share: 0.97,
            top_templates: 2,
            example: "x".into(),
        };
        let with = |cpu: Option<f64>, error_fraction: f64| {
            let r = RepetitionSignals {
                error_fraction,
                ..r.clone()
            };
            let signals = Signals {
                cycle: None,
                repetition: Some(r),
                loose: None,
                alike: None,
                bursts: Bursts::default(),
                cpu_percent: cpu,
                rates: Rates::default(),
                silence: None,
            };
            assess(&signals, 0.8)
        };
        assert!(with(None, 0.0).confidence < 0.8);
        assert!(with(Some(100.0), 0.0).confidence >= 0.8);
        assert!(with(None, 1.0).confidence >= 0.8);
        assert_eq!(with(None, 1.0).path, Some(Path::Repetition));
    }

    #[test]
    fn an_iteration_counter_is_described_by_the_cycle_it_protects() {
        let one_line = progress_protection(Progress::Counting, None, true);
        assert_eq!(one_line, "an iteration counter, a unit of work per line");
        let multi_line = progress_protection(Progress::Counting, None, false);
        assert_eq!(
            multi_line,
            "an iteration counter (for the first 2.5 s of a multi-line pass)"
        );
    }
}
