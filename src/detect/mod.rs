//! The runaway detector: decides, from output lines and tree samples alone, when a job has
//! turned into a loop that will never finish.
//!
//! It is pure and deterministic — no clock, no I/O, every observation carries its time since
//! the run started — so the supervisor feeds it live and tests feed it synthetic timelines.
//! Each line passes through `text` (binary lines skipped, ANSI stripped), `template` (varying
//! parts masked into a template hash, numbers and identifiers kept in `slots`) and `wording`
//! (error words, read once per template), then updates bounded structures: three `cycle`
//! trackers (the exact cycle at the tail of the merged output, of stdout alone and of stderr
//! alone), a fourth on a sample of the merged lines for passes longer than those trackers
//! compare (`sampled`: a Java service's crash loop with its stack trace), the `window` (per-quarter-second counts) and the `templates` table (recent
//! shares, novelty, `progress` rings). Every 250 ms `evaluate` gathers these into
//! `score::Signals`, scores them, and applies the hold: confidence must stay at or above the
//! threshold for `DetectConfig::hold` before `Decision::Runaway` is returned; after that
//! every call returns the same `reason`.
//!
//! Why the tail cycle is the main evidence: a loop is a deterministic sequence repeating at
//! the end of the output. Judging the tail run (not the whole window) catches a loop about a
//! second after its onset even when the window is still full of healthy output; requiring an
//! *exact* repeat at a fixed period is what tells a loop from a busy access log, whose few
//! templates repeat a lot but never in a fixed order. Per-stream trackers exist because two
//! pipes are read in whichever order they become ready: a traceback on stderr between lines
//! on stdout interleaves differently from pass to pass, while each stream alone repeats
//! exactly. Progress (an advancing counter, on the loop's lines or on anything printed
//! alongside them), novelty, a heartbeat cap and the need for span and freshness keep
//! training logs, progress bars, pollers and startup bursts alive; CPU and error wording only
//! add confidence to a loop already seen, so silent compute is never stopped. `score`
//! documents the numbers.
//!
//! What real tools print taught three more signals (`fixtures/README.md`, the real-output
//! corpus). A count that only goes down — remaining items, `(12 retries left)`, replicas
//! pending — is a countdown: progress even when the line repeats a dozen times between steps
//! and even next to error wording, because it is bounded; a countdown that starts over is
//! not. A job whose earlier bursts of repetition ended (`go test -count=40`, a configuration
//! run's identical result blocks) must repeat for longer than them before a cycle counts.
//! And a loop need not be exact: the trackers also follow *loose* cycles, passes that repeat
//! the pass before but for a few lines (an agent apologising in new words before the same
//! failing tool call); such a loop counts when its varying lines recur or its repeating lines
//! report a failure, and not when every pass brings new text and nothing fails (the headers
//! of distinct tasks). Each evaluation says in words which protections held it down
//! ([`Evaluation::protections`], printed by `flowforge replay --explain`), and a decision
//! says which path decided (`numbers.decided_by`).
//!
//! Training and search tools showed two more (`tests/data/lightgbm-*`, `sklearn-*`). A
//! booster warns once per tree, a hundred identical warnings between two evaluation lines:
//! the one-line run absorbs those lines, whose round counter rising at every return since
//! the run began says it trains, before it has returned often enough to be progress on
//! its own. And cross-validation folds done by two workers finish out of order (`[CV 2/5]`
//! before `[CV 1/5]`): each fold of each candidate done once is one item after another.
//! A multi-start optimiser (`KMeans(n_init=10)`) whose starts all converge in as many
//! iterations repeats a block exactly; its iteration count starts over while the measured
//! value falls at every iteration, from a start of its own each time (`descent`), which a
//! loop re-running the same step never shows (the same numbers again, or numbers that jitter).
//! A mixture fit restarted from starts that all reach the same numbers
//! (`GaussianMixture(n_init=10)`) numbers its starts instead (`Initialization 4`, one more
//! every pass) and says each converged: a handful of such starts is one fit after another.
//! And a parameter search at `verbose=2` prints five identical lines per candidate
//! (`C=0.1, gamma=0.001`): each parameter takes a few values again and again, nested, and
//! their combination is new at every candidate (`Progress::Walking`, a grid walk), where a
//! loop re-fitting one candidate, or the same few in turn, shows a combination again.
//! And before a booster's first evaluation line its warning per tree is all there is: a
//! warning about the work (nothing failing, retried or redone) repeated with nothing else
//! between is not acted on for its first 256 lines or 20 s (`advisory`), while the hold runs.
//!
//! Two more facts say a repeating block is not the job looping. A loop re-runs the same
//! code, so a source location it prints (`io.c:360:14`) is the same every pass or one of a
//! few in a fixed turn; a compiler reporting one warning at place after place walks
//! (`Progress::Walking`, a protection like a counter advancing). And a server's access-log
//! line records a request a client sent, and a database client's result tag (`INSERT 0 1`)
//! one statement of its script (`wording::Replies`): a dashboard polling ten times a second
//! makes a server repeat itself, and a data load makes psql print one tag thirty thousand
//! times, while only the input repeats; a loop of nothing but such replies is capped like a
//! heartbeat. So is a server's log of what its clients send (a statement log, a protocol
//! trace, a line naming the client's address), a block whose lines carry two whole numbers
//! or more drawn afresh each pass (a request's parameters: a loop prints its own fixed
//! values, stamps and measurements), and a worker's one line per job done under an id new on
//! every line; never when they report a failure (`replies`).
//!
//! Slow loops (about a pass a second) are where a display and a loop look most alike: a
//! `kubectl get pods` table redrawn every second and a watcher rebuilding every second both
//! repeat one block. So a slow block of several lines counts only as a loop of work: four
//! passes with nothing in them moving, at a pace that is not a timer's (the trackers measure
//! the spread of the pass intervals), and with CPU spent over the passes (the detector keeps
//! the last sixteen tree samples) or reworded lines drawn from a small set. Three more kinds
//! of slow loop need no CPU: a block that fails the same way four times over and begins a
//! fifth pass (a wrapper re-running a tool, even at a timer's pace; a test retried three
//! times fails four times and moves on) unless it says it waits (`waiting for ssh`,
//! `retrying in 1s`); a block that reports a crash four times over at a pace that does not
//! back off (a restart loop: a supervisor starting a service that dies again, every 1-5 s);
//! and a two-line pass — a call and the same failed or empty result — four times over at a
//! pace that wanders like a model's, which a poller's sleep or poll timeout does not (a call
//! that reports the tokens the model used is a model's, however steady its pace). A re-run
//! loop is judged down to a pass every 20 s when each pass is printed at once and then waits
//! and nothing after its first pass is new (a client retrying a refused connection every few
//! seconds); and since a Java trace's frames depend on the thread that failed, the output is
//! also cut into passes by its silences (`passes`), so alike passes that do not repeat
//! exactly are judged as one; and by a header that recurs (a test session's banner and
//! platform lines), since a suite re-run back to back is not silent between runs, and a
//! pass that prints the values of the one before in another order (pytest-xdist's workers
//! finishing the tests in a new order each run) has made no progress. A single
//! status line at a steady pace, a wait loop that says so, a service that fails a few times
//! and then serves, or a few rebuilds after real edits, stays alone.
//!
//! What makes a restart loop a loop is that nothing in its block moves but what the loop
//! itself makes: timestamps, a fresh pid (`Booting worker with pid: 4178`), a new container
//! id, a restart counter (`restart counter is at 7`, a pod's RESTARTS). So in a block that
//! reports a crash (`wording`: an exit code other than zero, a fatal signal, `out of
//! memory`, `CrashLoopBackOff`) and a start (`Started`, `Booting worker`, `spawned`) plain
//! counts are read as the restarts' own, never as progress or as something new; only a
//! percentage, a done part, a numbered name or a countdown still counts. And each pass must
//! show a new process: a pid, an id or a count new to it. A display of a container that
//! stays dead reports the crash but no start; a pod table polled every second shows a
//! crashlooping pod beside running ones, but nothing in it is new from pass to pass.
//!
//! And a sampler is not a loop (`measures`): `iostat -x 1`, `mpstat 1`, `pgbench -P 1` or
//! `redis-benchmark -l` repeat one row (under a header or not) as exactly as a loop, and
//! far faster than their tick when a pasted log is replayed, but in each row several
//! readings move up and down on their own, where a loop's line moves a clock, an attempt
//! counter or the one latency of its failing call. Such a cycle is capped like a heartbeat,
//! never when a line of it fails, counts attempts, crashes, comes back empty or reports a
//! model call. Nor is a system-call trace of a process waiting out its timer (`syscall`):
//! `poll(..., 100) = 0 (Timeout)` ten times a second is a wait at its timeout's pace.
//!
//! Agents word their thoughts anew before the same tool call, so each line also has a
//! *gist* (`prose`): its template with natural-language sentences masked. The trackers
//! compare gists too, and a loose cycle whose variants are all paraphrases — the same gist,
//! other words, a two-line call and its result included — is the same call again; with a
//! failed or empty result at a pace that is not a timer's it is a paraphrase loop. And
//! since a display often shows how long it has waited, a duration that rises with the clock
//! over the passes (a pod's AGE, `Up 12 seconds`) marks a slow block as a display of a
//! wait, which no slow-loop path stops; a wall-clock timestamp is a time and never counts.
//!
//! An agent's console draws a spinner while the model thinks (AutoGPT's `- Thinking...`,
//! ten frames a second), so each turn has another number of frames and no two passes were
//! the same length. A spinner's later frames are left out of the trackers (`redraw`): its
//! first frame stands for the line a terminal keeps. And a logging library's time and
//! severity before a thought (`2026-12-04 18:22:12,705 INFO  THOUGHTS: ...`) are no part of
//! its prose; a paraphrase in a longer pass takes none of its few free positions and is no
//! new text, so a console that rewords its thought, reasoning and plan before the same
//! command and the same result is a loose cycle of the same call again.
//!
//! Agent frameworks number their steps (smolagents' `Step 7`, with the tokens the call
//! used): in a block that reports what a model call used, a count rising by one a pass with
//! nothing else moving is the agent's turn, counted by the loop itself, so the same call
//! with the same result, turn after turn, is a model loop however it is numbered, and a
//! tool's lone `[]` is its empty result, not decoration. An agent at work shows it in what
//! it calls and gets back. And what an agent reads is not what it does: failure words in
//! text new on every pass (issue titles with `retry` and `timeout`) are not the block
//! failing, which a loop does in its fixed lines or in variants it comes back to; nor is
//! the traceback of a framework giving up at its step limit a failure of every pass. A
//! block that repeated exactly and then changed once or twice into new text (a poll's
//! answer turning green, then the agent's answer) is no block reworded from a few variants.
//!
//! Defaults: a 10 s window (long enough to judge progress and shares, short enough to forget
//! a finished phase), threshold 0.80 (a fast loop reaches it on cycle and rate alone, a slow
//! one needs CPU or error wording), and a 1.25 s hold, so a decision needs about 1.75 s of
//! loop: half a second of evidence, then a second and a quarter of it holding. The hold
//! spends latency on certainty — bursts of a second (a status line redrawn a dozen times, a
//! test repeated forty times) end inside it — and still leaves room under the 3 s median and
//! 5 s maximum onset-to-exit targets for the 250 ms evaluation cadence and the tree stop.

mod advisory;
mod cycle;
mod descent;
mod measures;
mod passes;
mod progress;
mod prose;
mod reason;
mod redraw;
mod replies;
mod sampled;
mod score;
mod slots;
mod syscall;
mod template;
mod templates;
mod text;
mod tokens;
mod window;
mod wording;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod scenarios_healthy;
#[cfg(test)]
mod scenarios_loops;
#[cfg(test)]
mod scenarios_slow;

use crate::sample::{Sample, Stream};
use cycle::{CycleTracker, Novelty};
use measures::Measurements;
use passes::Passes;
use progress::Progress;
use replies::Replies;
use sampled::SampledCycles;
use score::{AlikeSignals, Bursts, CycleSignals, LooseSignals, RepetitionSignals, Signals};
use slots::Slots;
use std::time::Duration;
use templates::{TemplateInfo, TemplateTable};
use window::Window;

/// How many of the most frequent templates the repetition path looks at.
const TOP_TEMPLATES: usize = 4;

/// A sample older than this no longer describes the tree's CPU.
const SAMPLE_FRESHNESS: Duration = Duration::from_millis(2500);

/// How recently another template must have advanced to vouch for a loop's progress.
const RECENT_PROGRESS: Duration = Duration::from_secs(2);

/// CPU samples remembered, to average the tree's CPU over a loop's passes (about one a
/// second, so a slow loop's last dozen passes).
const CPU_HISTORY: usize = 16;

/// The hold for a slow loop of work (`score::slow_loop_of_work`), whose evidence already
/// took four passes: it must still hold at the next evaluation (about 250 ms later).
const SLOW_LOOP_HOLD: Duration = Duration::from_millis(200);

/// Span over which output rates are reported.
const RATE_SPAN: Duration = Duration::from_secs(2);

/// The detector's settings; `flowforge run --threshold/--window` change the first two.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectConfig {
    /// How far back rates, shares, novelty and progress look. Default 10 s.
    pub window: Duration,
    /// Confidence needed to act. Default 0.80.
    pub threshold: f64,
    /// How long confidence must stay at or above the threshold. Default 1.25 s.
    pub hold: Duration,
}

impl Default for DetectConfig {
    fn default() -> DetectConfig {
        DetectConfig {
            window: Duration::from_secs(10),
            threshold: 0.80,
            hold: Duration::from_millis(1250),
        }
    }
}

/// What the detector asks the supervisor to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Continue,
    Runaway(Reason),
}

/// Why the detector called a runaway.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// One sentence naming the loop and every number that crossed a threshold.
    pub summary: String,
    pub confidence: f64,
    /// Named contributions to the confidence (negative ones are penalties and caps).
    pub components: Vec<(&'static str, f64)>,
    /// The same numbers as JSON, for the evidence store.
    pub numbers: serde_json::Value,
}

/// What one evaluation found, for `flowforge replay --explain` and debug logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub confidence: f64,
    /// Named contributions to the confidence, as in [`Reason::components`].
    pub components: Vec<(&'static str, f64)>,
    /// Each protection that held the confidence down, in words ("countdown 75→41 in 20 s").
    pub protections: Vec<String>,
}

/// The detector of one attempt of a run (a restarted job gets a fresh one).
pub struct Detector {
    config: DetectConfig,
    /// Tail cycles of the merged output, of stdout alone and of stderr alone: a traceback on
    /// stderr between lines on stdout interleaves differently from pass to pass, but each
    /// stream on its own repeats exactly.
    cycles: [CycleTracker; 3],
    /// Cycles of the merged output too long for `cycles` (a Java service's crash loop),
    /// followed through a sample of the lines (`sampled`).
    long_cycles: SampledCycles,
    /// The output cut into passes by its silences, for loops whose passes are alike but not
    /// exact (`passes`).
    passes: Passes,
    /// Whether stdout and stderr have each carried a text line yet.
    streams_with_text: [bool; 2],
    window: Window,
    templates: TemplateTable,
    /// Reused per line: the stripped line, its template text and its numbers.
    stripped: Vec<u8>,
    template_text: Vec<u8>,
    slots: Slots,
    /// Reused per line for its gist (`prose`): the line with its prose masked, that line's
    /// template text and numbers.
    prose_line: Vec<u8>,
    prose_template: Vec<u8>,
    prose_slots: Slots,
    last_line_at: Option<Duration>,
    latest_sample: Option<Sample>,
    /// The latest samples' times and CPU, oldest first (at most `CPU_HISTORY`).
    cpu_history: std::collections::VecDeque<(Duration, f64)>,
    above_since: Option<Duration>,
    fired: Option<Reason>,
    last: Option<Evaluation>,
    /// Repetition that scored as a loop and is still going on: (start, span so far).
    burst: Option<(Duration, Duration)>,
    bursts: Bursts,
    /// The latest lines of one template in a row: a warning printed once per round of work
    /// (`advisory`).
    streak: advisory::Streak,
    /// The last line of each stream, to leave a spinner's later frames out of the trackers
    /// (`redraw`).
    redraws: redraw::Redraws,
}

impl Detector {
    pub fn new(config: DetectConfig) -> Detector {
        let window = Window::new(config.window);
        let templates = TemplateTable::new(config.window / 2);
        Detector {
            config,
            cycles: Default::default(),
            long_cycles: SampledCycles::default(),
            passes: Passes::default(),
            streams_with_text: [false, false],
            window,
            templates,
            stripped: Vec::with_capacity(256),
            template_text: Vec::with_capacity(256),
            slots: Slots::default(),
            prose_line: Vec::with_capacity(256),
            prose_template: Vec::with_capacity(256),
            prose_slots: Slots::default(),
            last_line_at: None,
            latest_sample: None,
            cpu_history: std::collections::VecDeque::with_capacity(CPU_HISTORY),
            above_since: None,
            fired: None,
            last: None,
            burst: None,
            bursts: Bursts::default(),
            streak: advisory::Streak::default(),
            redraws: redraw::Redraws::default(),
        }
    }

    /// One output line (without its terminator). Costs O(line length) plus O(periods), about
    /// two microseconds for a typical 100-byte log line, and allocates only for a new template.
    pub fn observe_line(&mut self, stream: Stream, line: &[u8], truncated: bool, at: Duration) {
        let _ = truncated; // a cut line is still a line; its prefix is what gets compared
        self.window.add_line(stream, line.len(), at);
        self.last_line_at = Some(self.last_line_at.map_or(at, |last| last.max(at)));
        let prefix = text::scanned_prefix(line);
        if !text::looks_like_text(prefix) {
            return;
        }
        text::strip_decoration(prefix, &mut self.stripped);
        let Some(shape) = template::normalise(&self.stripped, &mut self.template_text, &mut self.slots)
        else {
            return;
        };
        let (stripped, template_text) = (&self.stripped, &self.template_text);
        let observed = self.templates.observe(shape, at, &self.slots, || {
            (wording::wording(stripped), templates::example(template_text))
        });
        self.streak.observe(
            shape.template,
            advisory::stem(&self.template_text),
            observed.advisory,
            at,
        );
        let tracker = stream_tracker(stream);
        let drawn = redraw::Drawn {
            shape,
            len: self.stripped.len(),
            at,
        };
        if self.redraws.is_frame(tracker - 1, drawn) {
            // A spinner's later frames: its first one stands for them (`redraw`).
            return;
        }
        let novelty = Novelty {
            new_in_run: observed.new_in_run,
            file_header: observed.file_header,
            numbers: self.slots.hash(),
        };
        let gist = prose::gist(
            &self.stripped,
            &mut self.prose_line,
            &mut self.prose_template,
            &mut self.prose_slots,
        )
        .unwrap_or(prose::Gist::of_template(shape.template));
        let matched = self.cycles[0].push_line(shape.template, gist, at, novelty);
        self.long_cycles
            .push_line(shape.template, gist, at, novelty, self.cycles[0].lines());
        let mut values = [0; slots::MAX_SLOTS];
        let count = self.slots.value_hashes(&mut values);
        self.passes
            .push_line(shape.template, &values[..count], at, observed.new_in_run);
        self.streams_with_text[tracker - 1] = true;
        if self.streams_with_text == [true, true] {
            // With one stream only, its own cycle is the merged one.
            self.cycles[tracker].push_line(shape.template, gist, at, novelty);
        }
        self.window
            .add_text_line(at, matched, observed.new_in_run, observed.error);
    }

    /// Lines of `stream` went unobserved before the next one (the supervisor passed a chunk
    /// through unanalysed under a flood): cycles resume at whatever phase follows.
    pub fn observe_gap(&mut self, stream: Stream) {
        self.cycles[0].gap();
        self.cycles[stream_tracker(stream)].gap();
        self.long_cycles.gap();
    }

    /// One sample of the process tree (about once a second).
    pub fn observe_sample(&mut self, sample: &Sample) {
        self.latest_sample = Some(*sample);
        if self.cpu_history.len() == CPU_HISTORY {
            self.cpu_history.pop_front();
        }
        self.cpu_history.push_back((sample.at, sample.cpu_percent));
    }

    /// The tree's mean CPU over the samples taken wholly after `since` (each covers about
    /// the second before it), if there are at least two: what a loop's passes cost.
    fn cpu_since(&self, since: Duration, now: Duration) -> Option<f64> {
        let first = since + Duration::from_secs(1);
        let (sum, n) = self
            .cpu_history
            .iter()
            .filter(|(at, _)| *at >= first && *at <= now)
            .fold((0.0, 0u32), |(sum, n), (_, cpu)| (sum + cpu, n + 1));
        (n >= 2).then(|| sum / f64::from(n))
    }

    /// The decision at `at` (called about every 250 ms).
    pub fn evaluate(&mut self, at: Duration) -> Decision {
        if let Some(reason) = &self.fired {
            return Decision::Runaway(reason.clone());
        }
        let signals = self.signals(at);
        let mut assessment = score::assess(&signals, self.config.threshold);
        // A warning about the work, printed once per round, gets the room of its bounds; the
        // hold runs meanwhile (`advisory`).
        let flood = self
            .warning_flood(&signals, &assessment, at)
            .filter(|f| f.held() && assessment.confidence >= self.config.threshold);
        if let Some(flood) = &flood {
            assessment.protections.push(flood.describe());
        }
        self.track_bursts(&signals, &assessment);
        self.last = Some(Evaluation {
            confidence: assessment.confidence,
            components: assessment.components.clone(),
            protections: assessment.protections.clone(),
        });
        if assessment.confidence < self.config.threshold {
            self.above_since = None;
            return Decision::Continue;
        }
        let since = *self.above_since.get_or_insert(at);
        // A slow loop of work has already spent four of its passes on certainty (seconds,
        // longer than any burst the hold waits out); it need only still hold a moment later.
        let hold = if assessment.slow_loop.is_some() {
            self.config.hold.min(SLOW_LOOP_HOLD)
        } else {
            self.config.hold
        };
        if at.saturating_sub(since) < hold || flood.is_some() {
            return Decision::Continue;
        }
        let reason = reason::explain(&signals, &assessment, self.config.threshold);
        self.fired = Some(reason.clone());
        Decision::Runaway(reason)
    }

    /// Remembers exact cycles that scored as loops (or were held down only as a burst) and
    /// then ended: a job that repeats a block for a second and moves on, again and again
    /// (`go test -count`, a configuration run's identical result blocks), must repeat for
    /// longer than that before it is judged.
    fn track_bursts(&mut self, signals: &Signals, assessment: &score::Assessment) {
        let live = signals.cycle.as_ref().filter(|c| {
            let passes = (c.run as f64 / c.period as f64).max(1.0);
            c.silence.as_secs_f64() <= 2.0 * c.span.as_secs_f64() / passes + 0.3
        });
        if let Some((started, _)) = self.burst {
            match live {
                // The loop goes on, perhaps as another period or after a stray line.
                Some(c) => self.burst = Some((started, (c.started + c.span).saturating_sub(started))),
                None => {
                    let (_, span) = self.burst.take().expect("checked");
                    self.bursts.finished += 1;
                    self.bursts.longest = self.bursts.longest.max(span);
                }
            }
        }
        let looping = assessment.path == Some(score::Path::Cycle)
            && (assessment.confidence >= self.config.threshold
                || assessment.protections.iter().any(|p| p.contains("earlier burst")));
        if let (None, Some(c), true) = (self.burst, live, looping) {
            self.burst = Some((c.started, c.span));
        }
    }

    /// The warning about the work (`Wording::advisory`) that the latest lines repeat with
    /// nothing between, when it is the one-line loop `assessment` judged (`advisory`).
    fn warning_flood(
        &self,
        signals: &Signals,
        assessment: &score::Assessment,
        now: Duration,
    ) -> Option<advisory::Flood> {
        let (template, lines, since) = self.streak.latest()?;
        let info = self.templates.get(template)?;
        let of_the_warning = |period: usize, example: &str| period == 1 && example == &*info.example;
        let judged = match assessment.path {
            Some(score::Path::Cycle) => signals
                .cycle
                .as_ref()
                .is_some_and(|c| of_the_warning(c.period, &c.example)),
            Some(score::Path::Repetition) => signals
                .repetition
                .as_ref()
                .is_some_and(|r| of_the_warning(r.period, &r.example)),
            // The warning seen as a block of a few of its lines, the lines that interrupt
            // it (an evaluation line) taken for reworded ones.
            Some(score::Path::Variants) => self
                .cycles
                .iter()
                .filter_map(CycleTracker::loose)
                .max_by_key(|l| l.passes())
                .is_some_and(|l| l.templates.iter().all(|&t| t == template)),
            // Alike passes report failures, which an advisory warning does not.
            Some(score::Path::Passes) | None => false,
        };
        judged.then(|| advisory::Flood {
            lines,
            span: now.saturating_sub(since),
        })
    }

    /// What the latest [`evaluate`](Detector::evaluate) found (before the hold).
    pub fn last_evaluation(&self) -> Option<&Evaluation> {
        self.last.as_ref()
    }

    fn signals(&self, now: Duration) -> Signals {
        let freshness = self.config.window;
        let cpu_percent = self
            .latest_sample
            .filter(|s| now.saturating_sub(s.at) <= SAMPLE_FRESHNESS)
            .map(|s| s.cpu_percent);
        let example = |hash: u64| {
            self.templates
                .get(hash)
                .map(|t| t.example.to_string())
                .unwrap_or_default()
        };
        let cycle = self
            .cycles
            .iter()
            .enumerate()
            .filter_map(|(i, tracker)| Some((i, tracker.tail()?)))
            .chain(self.long_cycles.tail(&self.cycles[0]).map(|tail| (0, tail)))
            .map(|(i, tail)| {
                let infos: Vec<_> = tail
                    .templates
                    .iter()
                    .filter_map(|&h| self.templates.get(h))
                    .collect();
                // A restart loop's block reports a crash and a start: a display of a
                // container that stays dead (`Exited (1) 3 minutes ago`) shows no start.
                let crash = infos.iter().any(|t| t.wording.crash) && infos.iter().any(|t| t.wording.start);
                let restarts = (!crash)
                    .then(|| converging_restarts(&infos, tail.started))
                    .flatten();
                // A block that fails and whose latest pass repeated the one before in its
                // numbers too: what counted up through the pass (`1/41 Test #1`, ... `41/41`)
                // started over with it, as a countdown that starts over does, and nothing in
                // it is new however many values a pass holds.
                let started_over =
                    infos.iter().any(|t| t.wording.error) && tail.verbatim >= tail.period as u64;
                let progress = if crash {
                    restart_progress(&infos, now, freshness).max(self.recent_progress(
                        tail.started,
                        now,
                        &tail.templates,
                    ))
                } else if started_over {
                    self.recent_progress(tail.started, now, &tail.templates)
                } else {
                    loop_progress(&infos, now, freshness)
                        .max(self.recent_progress(tail.started, now, &[]))
                        .max(self.returning_counter(tail.started, now))
                        .max(restarts.map_or(Progress::None, |_| Progress::Descending))
                };
                // Values no earlier pass showed (`counted`: a rising count too, unless it
                // counts attempts).
                let news = |counted: bool| {
                    !started_over
                        && infos.iter().any(|t| {
                            if crash {
                                texture(t, crash)
                            } else {
                                t.news_since(after_first_pass(&tail), counted)
                            }
                        })
                };
                CycleSignals {
                    started: tail.started,
                    stream: [None, Some(Stream::Stdout), Some(Stream::Stderr)][i],
                    period: tail.period,
                    run: tail.run,
                    repetitions: tail.repetitions(),
                    span: tail.span(),
                    silence: now.saturating_sub(tail.latest),
                    longest_gap: tail.longest_gap,
                    error: infos.iter().any(|t| t.wording.error),
                    progress,
                    animation: tail.period >= 2
                        && infos.len() == tail.period
                        && infos.iter().all(|t| t.skeleton == infos[0].skeleton),
                    coverage: self.templates.share(&tail.templates, now),
                    example: tail.templates.first().map(|&h| example(h)).unwrap_or_default(),
                    countdown: infos
                        .iter()
                        .find_map(|t| t.progress_words(now, freshness))
                        .or_else(|| restarts.map(|r| r.describe())),
                    cadence: tail.cadence,
                    loop_cpu: self.cpu_since(tail.started, now),
                    texture: infos.iter().any(|t| texture(t, crash)),
                    result_texture: infos
                        .iter()
                        .any(|t| (t.wording.error || t.wording.empty) && texture(t, crash)),
                    // A restart's plain counts are its own: its texture already leaves them out.
                    news: news(false),
                    counted_news: news(true),
                    wait: says_it_waits(&infos),
                    test_run: infos.iter().any(|t| t.wording.failed_tests),
                    one_pass: cycle::one_pass(&mut tail.templates.clone()),
                    empty: infos.iter().any(|t| t.wording.empty),
                    replies: Replies::of_templates(&infos, now, freshness),
                    measured: Measurements::of_loop(&infos, tail.started),
                    crash,
                    model_call: model_turns(&infos, tail.started, tail.repetitions()),
                    under_way: infos.iter().any(|t| t.wording.under_way),
                    backing_off: tail.backing_off,
                    changes: infos
                        .iter()
                        .map(|t| t.changes_since(tail.started) as u64)
                        .max()
                        .unwrap_or(0),
                    clock: infos.iter().find_map(|t| t.clock(now, freshness)),
                    interval: infos.iter().find_map(|t| t.interval),
                    traced_wait: infos.iter().any(|t| t.wording.traced_wait.is_some()),
                }
            })
            .fold(None, |best: Option<(f64, CycleSignals)>, c| {
                let confidence = score::assess_cycle(&c, cpu_percent, self.config.threshold);
                match best {
                    Some((b, _)) if b >= confidence => best,
                    _ => Some((confidence, c)),
                }
            })
            .map(|(_, c)| c);
        let repetition = self.window.repetition(now).map(|r| {
            let top = self.templates.top(TOP_TEMPLATES, now);
            let top_infos: Vec<_> = top.iter().filter_map(|&h| self.templates.get(h)).collect();
            let lines = r.lines.max(1) as f64;
            RepetitionSignals {
                period: r.period,
                lines: r.lines,
                matched_fraction: r.matched as f64 / lines,
                span: r.span,
                silence: self.last_line_at.map_or(Duration::MAX, |t| now.saturating_sub(t)),
                error_fraction: r.error_lines as f64 / lines,
                new_templates: r.new_templates,
                progress: repetition_progress(&top_infos, now, freshness)
                    .max(self.returning_counter(now.saturating_sub(r.span), now)),
                replies: Replies::of_templates(&top_infos, now, freshness),
                measured: Measurements::of_loop(&top_infos, now.saturating_sub(r.span)),
                top_share: self.templates.share(&top, now),
                top_templates: top.len(),
                example: top.first().map(|&h| example(h)).unwrap_or_default(),
            }
        });
        let loose = self
            .cycles
            .iter()
            .filter_map(CycleTracker::loose)
            .max_by_key(|l| l.passes())
            .map(|l| {
                let infos: Vec<_> = l
                    .templates
                    .iter()
                    .filter_map(|&h| self.templates.get(h))
                    .collect();
                // A loop fails the same way every pass: in its fixed lines, or in variants
                // it comes back to. Failure words in text new on every pass (the titles of
                // the issues an agent pages through: `retry`, `timeout`) are what it read.
                // (Recurring variants as `score` reads them: at most every other pass new text,
                // or every one a paraphrase.)
                let paraphrased = l.paraphrases > 0 && l.paraphrases == l.variants;
                let recurring = l.novel_variants * 2 <= l.passes() || paraphrased;
                let fails = |h: &u64| self.templates.get(*h).is_some_and(|t| t.wording.error);
                let error = if recurring {
                    l.templates.iter().any(fails)
                } else {
                    l.repeating.iter().any(fails)
                };
                LooseSignals {
                    period: l.period,
                    passes: l.passes(),
                    span: l.span(),
                    silence: now.saturating_sub(l.latest),
                    variants: l.variants,
                    novel_variants: l.novel_variants,
                    novel_files: l.novel_files,
                    error,
                    progress: loop_progress(&infos, now, freshness).max(self.recent_progress(
                        l.started,
                        now,
                        &[],
                    )),
                    countdown: infos.iter().find_map(|t| t.progress_words(now, freshness)),
                    example: infos
                        .iter()
                        .find(|t| t.wording.error)
                        .or(infos.first())
                        .map(|t| t.example.to_string())
                        .unwrap_or_default(),
                    cadence: l.cadence,
                    loop_cpu: self.cpu_since(l.started, now),
                    // Values that moved before the loop began (three calls in parallel, then
                    // one) are no texture of its passes: only what moved since.
                    texture: infos
                        .iter()
                        .any(|t| t.has_texture() && t.news_since(l.started, false)),
                    result_texture: infos
                        .iter()
                        .any(|t| (t.wording.error || t.wording.empty) && t.has_texture()),
                    wait: says_it_waits(&infos),
                    empty: infos.iter().any(|t| t.wording.empty),
                    paraphrased,
                    model_call: model_turns(&infos, l.started, l.passes()),
                    // What the passes reported before the latest one counts too: a poll's
                    // answer that turns to `completed` in its last pass was `in_progress`
                    // in all the others.
                    under_way: infos.iter().any(|t| t.wording.under_way)
                        || self
                            .templates
                            .seen_since(l.started)
                            .any(|(_, t)| t.wording.under_way),
                    clock: infos.iter().find_map(|t| t.clock(now, freshness)),
                    measured: Measurements::of_loop(&infos, l.started),
                }
            });
        let alike = self
            .passes
            .alike()
            .map(|a| self.alike_signals(&a, now, freshness));
        Signals {
            cycle,
            repetition,
            loose,
            alike,
            bursts: self.bursts,
            cpu_percent,
            rates: self.window.rates(now, RATE_SPAN),
            silence: self.last_line_at.map(|t| now.saturating_sub(t)),
        }
    }

    /// What the templates of alike passes (`passes`) say: their wording, their progress, and
    /// which of the complete passes after the first printed something new.
    fn alike_signals(&self, a: &passes::AlikeBursts, now: Duration, freshness: Duration) -> AlikeSignals {
        let templates = a.templates();
        let infos: Vec<_> = templates.iter().filter_map(|&h| self.templates.get(h)).collect();
        let complete = &a.bursts[..a.bursts.len() - 1];
        // A pass that printed only the values of the pass before, in whatever order, showed
        // nothing new, however its order made each template's values look new to its ring
        // (`[ 43%]` beside another test each run), and what climbed in it started over.
        let repeated = a.repeated();
        let surprised: Vec<bool> = complete
            .iter()
            .skip(1)
            .zip(&repeated)
            .map(|(b, &repeated)| {
                !repeated && (b.novel || infos.iter().any(|t| t.news_between(b.started, b.latest, true)))
            })
            .collect();
        let started_over = repeated.last().copied().unwrap_or(false);
        let intervals = a.intervals();
        let backing_off = cycle::backs_off(&intervals);
        let first = a.bursts.first().map(|b| b.first);
        AlikeSignals {
            passes: a.passes(),
            repeated: started_over,
            headed: a.bursts.iter().skip(1).any(|b| b.headed),
            cadence: a.cadence(),
            loop_cpu: a.bursts.first().and_then(|b| self.cpu_since(b.started, now)),
            lines: (
                complete.iter().map(|b| b.lines).min().unwrap_or(0),
                complete.iter().map(|b| b.lines).max().unwrap_or(0),
            ),
            interval: intervals.iter().sum::<f64>() / intervals.len().max(1) as f64,
            silence: self.last_line_at.map_or(Duration::MAX, |t| now.saturating_sub(t)),
            backing_off,
            // The same failure in every pass: a job whose passes went well and whose last
            // one ends in a traceback (an agent framework giving up at its step limit) is
            // exiting, not failing again.
            error: !complete.is_empty()
                && complete.iter().all(|b| {
                    b.templates
                        .iter()
                        .any(|&h| self.templates.get(h).is_some_and(|t| t.wording.error))
                }),
            wait: says_it_waits(&infos),
            progress: if started_over {
                Progress::None
            } else {
                loop_progress(&infos, now, freshness)
            },
            clock: infos.iter().find_map(|t| t.clock(now, freshness)),
            replies: Replies::of_templates(&infos, now, freshness),
            surprising: surprised.iter().filter(|&&s| s).count() as u64,
            latest_surprising: surprised.last().copied().unwrap_or(false),
            example: first
                .and_then(|h| self.templates.get(h))
                .map(|t| t.example.to_string())
                .unwrap_or_default(),
        }
    }

    /// `Advancing` when a template seen since `since` and within the last two seconds counts
    /// work: a loop on one stream is not a runaway while the other stream reports progress.
    /// The templates of `own` (a restart loop's, whose counts are its own) are left out.
    /// `Walking` when what it shows is places or items moving on, `Descending` when it is an
    /// optimisation's restarts, so the protection says so.
    fn recent_progress(&self, since: Duration, now: Duration, own: &[u64]) -> Progress {
        let recent = now.saturating_sub(RECENT_PROGRESS);
        let strongest = self
            .templates
            .seen_since(since.max(recent))
            .filter(|(h, _)| !own.contains(h))
            .map(|(_, t)| t.progress(now, self.config.window))
            .max()
            .unwrap_or(Progress::None);
        match strongest {
            Progress::Walking | Progress::Descending => strongest,
            p if p >= Progress::Countdown => Progress::Advancing,
            _ => Progress::None,
        }
    }

    /// `Advancing` when a line seen since `since` and within the last two seconds, not
    /// worded as a failure or an attempt, came back with a higher count every time since
    /// then (`TemplateInfo::returns_counting`): an evaluation line between a hundred
    /// identical warnings (`[200] valid_0's l2: 0.31`) numbers the passes of a training
    /// run, though a long pass has not let it return the four times a count otherwise needs.
    fn returning_counter(&self, since: Duration, now: Duration) -> Progress {
        let recent = now.saturating_sub(RECENT_PROGRESS);
        if self
            .templates
            .seen_since(since.max(recent))
            .any(|(_, t)| t.returns_counting(since))
        {
            Progress::Advancing
        } else {
            Progress::None
        }
    }

    /// Sizes of the internal buffers, to check that they stay bounded.
    #[cfg(test)]
    fn footprint(&self) -> Footprint {
        Footprint {
            templates: self.templates.len(),
            stripped_capacity: self.stripped.capacity(),
            template_capacity: self.template_text.capacity(),
            buckets: self.window.bucket_count(),
        }
    }
}

/// Whether the detector reads `line` as text (binary lines never join a cycle); for the
/// excerpt a decision records.
pub fn is_text_line(line: &[u8]) -> bool {
    text::looks_like_text(text::scanned_prefix(line))
}

/// `line` without terminal escapes, other control bytes as spaces, into `out`.
pub fn display_text(line: &[u8], out: &mut Vec<u8>) {
    text::strip_decoration(line, out);
}

fn stream_tracker(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 1,
        Stream::Stderr => 2,
    }
}

/// The strongest progress among a loop's templates. An iteration counter in one line of a
/// multi-line pass is real work when another line of the pass carries changing values (a
/// `step N` line followed by a `loss x` line), an attempt number when another line reports
/// a failure, and an iteration number otherwise. A loop of one line that fails is judged
/// per item: the same failure on the next row, page or file is a batch job getting through
/// bad input, and its advancing number is the item, not an attempt (unless the line says
/// attempt, try or retry).
/// A loop's templates say the job waits on purpose (`waiting for db`, `retrying in 2s`),
/// unless the loop is a test run's report: `Timed out 5000ms waiting for expect(...)` above
/// `1 failed` is a test's step, and a job re-running a failing test waits for nothing.
fn says_it_waits(infos: &[&TemplateInfo]) -> bool {
    infos.iter().any(|t| t.wording.wait) && !infos.iter().any(|t| t.wording.failed_tests)
}

fn loop_progress(infos: &[&TemplateInfo], now: Duration, freshness: Duration) -> Progress {
    // Lines of a few shapes (the bad value masked differently: `31/02/2019`, `07.08.2021`)
    // make a pass of several lines out of one failing line: when every line of the pass
    // fails and every one advances its own item, each line is still one item.
    if !infos.is_empty() && infos.iter().all(|t| t.wording.error) {
        let items = infos
            .iter()
            .map(|t| t.item_progress(now, freshness))
            .min()
            .unwrap_or(Progress::None);
        if infos.len() == 1 || items >= Progress::Counting {
            return items;
        }
    }
    let strongest = infos
        .iter()
        .map(|t| t.progress(now, freshness))
        .max()
        .unwrap_or(Progress::None);
    if strongest != Progress::Counting {
        return strongest;
    }
    // A block that reports what a model call used is one turn of an agent: a count rising
    // by one a pass with nothing else moving (`Step 7`, `turn 7`) numbers its turns, as a
    // restart counter numbers restarts. An agent at work shows it in what it calls and what
    // comes back (new arguments, new results), not in its turn number.
    if infos.iter().any(|t| t.wording.error) {
        Progress::None
    } else if infos.iter().any(|t| t.has_texture()) {
        Progress::Advancing
    } else if infos.iter().any(|t| t.model_call) {
        Progress::None
    } else {
        Progress::Counting
    }
}

/// The passes of a block are a model's answers: a line reports what the call used
/// (`prompt_tokens`), or a line names a tool call (`"type": "tool_use"`, `Tool Calls:`,
/// `"function_call"`) and the block shows either what was asked (the call's arguments
/// under their key, `"arguments": ...`, `Args:`) or an identifier new on every pass — the
/// id a model API gives each call it makes (`toolu_01...`, `call_...`). A display or a
/// poller names no tool call; an agent's log that shows neither its calls' arguments nor
/// their ids nor their tokens (`Invoking tool search`, then `Tool search completed.`) does
/// not show what it called or got back either, and is judged as any other block.
fn model_turns(infos: &[&TemplateInfo], started: Duration, passes: u64) -> bool {
    let names_a_call = || infos.iter().any(|t| t.wording.tool_call);
    let shows_what_was_asked = || infos.iter().any(|t| t.wording.arguments);
    let fresh_id = || {
        infos
            .iter()
            .any(|t| t.carries_id && t.changes_since(started) as u64 + 1 >= passes)
    };
    infos.iter().any(|t| t.model_call) || names_a_call() && (shows_what_was_asked() || fresh_id())
}

/// What the busiest templates say when lines repeat without an exact cycle: as for a loop
/// (`loop_progress`), and besides, a failing line that advances an item of its own
/// (`skipping row 1042: invalid date ...`) is one item after another even beside other
/// lines. Without a fixed pass no other line does the work of a pass, so the failing line's
/// number cannot be counting passes; a counter that counts attempts (`retry 7 failed`)
/// still counts nothing.
fn repetition_progress(infos: &[&TemplateInfo], now: Duration, freshness: Duration) -> Progress {
    let items = infos
        .iter()
        .filter(|t| t.wording.error)
        .map(|t| t.item_progress(now, freshness))
        .max()
        .unwrap_or(Progress::None);
    loop_progress(infos, now, freshness).max(items)
}

/// The strongest progress among the templates of a block that reports a crash (a process
/// that ended abnormally, started again): its plain counts are the restarts' own — a fresh
/// pid in `Booting worker with pid: 4178`, `restart counter is at 7`, a pod's RESTARTS —
/// so only what a restart cannot fake counts: a percentage, a done part, a numbered name,
/// a countdown.
fn restart_progress(infos: &[&TemplateInfo], now: Duration, freshness: Duration) -> Progress {
    infos
        .iter()
        .map(|t| t.restart_progress(now, freshness))
        .max()
        .unwrap_or(Progress::None)
}

/// The restarts of an optimisation whose pass says each start converged and numbers the
/// starts (`descent::counted_restarts`): a line of the pass whose count rose by one at
/// every pass since `since`, in a block where nothing fails, retries or crashes.
fn converging_restarts(infos: &[&TemplateInfo], since: Duration) -> Option<descent::CountedRestarts> {
    if !infos.iter().any(|t| t.wording.converged)
        || infos
            .iter()
            .any(|t| t.wording.error || t.wording.attempt || t.wording.crash || t.wording.redo)
    {
        return None;
    }
    infos
        .iter()
        .filter(|t| !t.wording.converged)
        .find_map(|t| t.counted_passes(since, descent::MIN_STARTS))
        .and_then(|(first, latest)| descent::counted_restarts(first, latest))
}

/// A moment after the first pass of `tail` was printed and before the second began: what
/// the later passes show is read from here on.
fn after_first_pass(tail: &cycle::TailCycle) -> Duration {
    let later_passes = tail.repetitions().saturating_sub(1).max(1);
    tail.started + tail.span() / (2 * later_passes as u32)
}

/// Whether a value changes in `t` besides identifiers and iteration numbers; in a block that
/// reports a crash, besides its plain counts too.
fn texture(t: &TemplateInfo, crash: bool) -> bool {
    if crash {
        t.restart_texture()
    } else {
        t.has_texture()
    }
}

#[cfg(test)]
#[derive(Debug)]
struct Footprint {
    templates: usize,
    stripped_capacity: usize,
    template_capacity: usize,
    buckets: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A tight loop of one line from t = 0, 200 lines/s, evaluated every 250 ms.
    fn first_runaway(config: DetectConfig) -> Option<(Duration, Reason)> {
        let mut det = Detector::new(config);
        for tick in 1..=40u64 {
            for i in 0..50 {
                let at = ms((tick - 1) * 250 + i * 5);
                det.observe_line(Stream::Stdout, b"\x1b[33mpolling queue: empty\x1b[0m", false, at);
            }
            if let Decision::Runaway(reason) = det.evaluate(ms(tick * 250)) {
                return Some((ms(tick * 250), reason));
            }
        }
        None
    }

    #[test]
    fn hold_delays_the_decision_by_its_length() {
        let (quick, _) = first_runaway(DetectConfig {
            hold: Duration::ZERO,
            ..DetectConfig::default()
        })
        .expect("fires without hold");
        let (held, reason) = first_runaway(DetectConfig::default()).expect("fires with hold");
        assert_eq!(held, quick + DetectConfig::default().hold);
        assert!(held <= Duration::from_secs(2), "fired at {held:?}");
        assert!(
            reason.summary.starts_with("output loop: same line repeated "),
            "{}",
            reason.summary
        );
        assert_eq!(reason.numbers["threshold"], 0.8);
    }

    #[test]
    fn runaway_is_latched() {
        let mut det = Detector::new(DetectConfig::default());
        for i in 0..2000u64 {
            det.observe_line(Stream::Stderr, b"boom", false, ms(i));
        }
        let mut decisions = (1..=12).map(|t| det.evaluate(ms(t * 250)));
        let first = decisions
            .find(|d| matches!(d, Decision::Runaway(_)))
            .expect("fires");
        assert_eq!(
            det.evaluate(ms(60_000)),
            first,
            "same reason, even after the loop stopped"
        );
    }

    #[test]
    fn a_higher_threshold_is_harder_to_reach() {
        let strict = DetectConfig {
            threshold: 0.99,
            ..DetectConfig::default()
        };
        assert!(first_runaway(strict).is_none());
    }

    #[test]
    fn random_bytes_never_panic_and_memory_stays_bounded() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Lines are random slices of two pools: raw bytes, and text-like bytes full of
        // digits, hex, separators, quotes and stray ESCs.
        const POOL: usize = 200 * 1024;
        let binary: Vec<u8> = (0..POOL / 8).flat_map(|_| next().to_le_bytes()).collect();
        let alphabet = b" 0123456789abcdefxyz:./-_%[]\x1b\"'=";
        let textish: Vec<u8> = binary
            .iter()
            .map(|&b| alphabet[b as usize % alphabet.len()])
            .collect();
        let mut det = Detector::new(DetectConfig::default());
        for i in 0..10_000u64 {
            let long = i % 10 == 0;
            let len = (next() % if long { 100 * 1024 } else { 300 }) as usize;
            let start = (next() % (POOL - len) as u64) as usize;
            let pool = if next() % 2 == 0 { &textish } else { &binary };
            let line = &pool[start..start + len];
            let stream = if i % 3 == 0 {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            det.observe_line(stream, line, len > 64 * 1024, ms(i * 3));
            if i % 80 == 0 {
                let cpu = (next() % 300) as f64;
                let sample = Sample {
                    at: ms(i * 3),
                    cpu_percent: cpu,
                    rss_bytes: 0,
                    processes: 1,
                    stdout_bytes: 0,
                    stderr_bytes: 0,
                    lines: 0,
                };
                det.observe_sample(&sample);
                let _ = det.evaluate(ms(i * 3));
            }
            let f = det.footprint();
            assert!(f.templates <= templates::MAX_TEMPLATES, "{f:?}");
            assert!(f.stripped_capacity <= 2 * text::SCAN_LIMIT, "{f:?}");
            assert!(f.template_capacity <= 2 * template::TEMPLATE_LIMIT, "{f:?}");
            assert_eq!(f.buckets, 41);
        }
    }
}
