//! `flowforge replay FILE|-`: would FlowForge have stopped this job? Feeds a saved log
//! through the same detector, with the same defaults, as `flowforge run`, and says whether,
//! when (line number and seconds) and why it would have intervened.
//!
//! The detector is pure: every observation carries its time, and `evaluate(at)` is the only
//! place where time passes. So replay is a simulated clock — lines get the times the input
//! gives them (a fixed `--rate` for plain text, the timing file, the cast's event times, or
//! the recorded times), and the detector is asked for a decision at every tick the
//! supervisor would have asked at (`supervise::next_check`: every 250 ms while lines arrive,
//! on the whole seconds when none came since the previous tick, back on the 250 ms grid as
//! soon as a line comes; a FlowForge recording carries the exact ticks of its run). Nothing sleeps, so an hour of log replays in well under a
//! second. What a plain log cannot carry is the tree's CPU: the detector then judges output
//! alone, as it does live before the first sample, which can only make it more cautious (CPU
//! only ever adds to a loop already seen). A recording carries its samples.
//!
//! Exit status: 0 would not intervene, 1 would intervene, 2 the input cannot be read (named
//! with the place), so replay can gate CI over saved logs.

mod input;
mod lines;
mod stamps;

use crate::cli::ReplayArgs;
use crate::detect::{Decision, Detector, Reason};
use crate::supervise::{check_after_output, next_check, CHECK_INTERVAL};
use crate::units::plural;
use input::{Flow, InputError, Kind, Observation};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::time::Duration;

pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_WOULD_INTERVENE: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

/// Lines a second of a plain log without timestamps, when no `--rate` is given: a busy job's
/// pace, faster than a status display and slower than a tight loop.
pub const DEFAULT_RATE: f64 = 20.0;

/// Where the replayed input comes from and how it is timed.
#[derive(Debug, Clone, PartialEq)]
pub enum Timing {
    /// Plain text, this many lines a second; `None`: by its own timestamps when most of its
    /// first lines carry one, else [`DEFAULT_RATE`] lines a second.
    Rate(Option<f64>),
    /// A `script -T` timing file for the typescript.
    File(std::path::PathBuf),
}

/// The outcome of one replay.
#[derive(Debug)]
pub struct Verdict {
    pub kind: String,
    pub lines: u64,
    /// Time of the last observation.
    pub duration: Duration,
    pub intervention: Option<Intervention>,
    /// Why the detector left the job alone, at its most confident moment.
    pub left_alone: Vec<String>,
    pub dropped: u64,
    pub later_attempts: bool,
}

#[derive(Debug)]
pub struct Intervention {
    pub line: u64,
    pub at: Duration,
    pub reason: Reason,
}

/// The simulated run: a detector, the tick clock and what `--explain` prints.
struct Engine<'o> {
    detector: Detector,
    next_tick: Duration,
    recorded_ticks: bool,
    lines: u64,
    /// Lines seen by the previous tick: none since makes the next tick a quiet one.
    lines_at_tick: u64,
    last: Duration,
    intervention: Option<Intervention>,
    peak: f64,
    left_alone: Vec<String>,
    explain: Option<&'o mut dyn Write>,
    later_attempts: bool,
}

impl Engine<'_> {
    fn tick(&mut self, at: Duration) -> Flow {
        let decision = self.detector.evaluate(at);
        if let Some(evaluation) = self.detector.last_evaluation() {
            if evaluation.confidence >= self.peak && !evaluation.protections.is_empty() {
                self.peak = evaluation.confidence;
                self.left_alone = evaluation.protections.clone();
            }
            if let Some(out) = self.explain.as_deref_mut() {
                let parts: Vec<String> = evaluation
                    .components
                    .iter()
                    .filter(|(_, v)| *v != 0.0)
                    .map(|(n, v)| format!("{n} {v:+.2}"))
                    .collect();
                let mut text = format!(
                    "{:8.2} s  line {:>7}  confidence {:.2}  {}",
                    at.as_secs_f64(),
                    self.lines,
                    evaluation.confidence,
                    parts.join(" ")
                );
                if !evaluation.protections.is_empty() {
                    text.push_str(&format!("  [left alone: {}]", evaluation.protections.join("; ")));
                }
                let _ = writeln!(out, "{text}");
            }
        }
        if let Decision::Runaway(reason) = decision {
            self.intervention = Some(Intervention {
                line: self.lines,
                at,
                reason,
            });
            return Flow::Stop;
        }
        Flow::Continue
    }

    /// Asks for every decision the supervisor would have asked for before `at`.
    fn catch_up(&mut self, at: Duration) -> Flow {
        while !self.recorded_ticks && self.next_tick <= at {
            let tick = self.next_tick;
            let quiet = self.lines == self.lines_at_tick;
            self.lines_at_tick = self.lines;
            self.next_tick = next_check(tick, quiet);
            if self.tick(tick) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    fn observe(&mut self, observation: Observation<'_>) -> Flow {
        match observation {
            Observation::Line {
                stream,
                line,
                truncated,
                at,
            } => {
                if self.catch_up(at) == Flow::Stop {
                    return Flow::Stop;
                }
                self.lines += 1;
                self.last = self.last.max(at);
                self.detector.observe_line(stream, line, truncated, at);
                self.next_tick = check_after_output(self.next_tick, at);
                Flow::Continue
            }
            Observation::Gap(stream) => {
                self.detector.observe_gap(stream);
                Flow::Continue
            }
            Observation::Sample(sample) => {
                if self.catch_up(sample.at) == Flow::Stop {
                    return Flow::Stop;
                }
                self.last = self.last.max(sample.at);
                self.detector.observe_sample(&sample);
                Flow::Continue
            }
            Observation::Check(at) => {
                self.recorded_ticks = true;
                self.last = self.last.max(at);
                self.tick(at)
            }
            Observation::Attempt(1) => Flow::Continue,
            Observation::Attempt(_) => {
                // A restart: live, the next attempt gets a fresh detector; the first attempt
                // is the one replayed.
                self.later_attempts = true;
                Flow::Stop
            }
        }
    }
}

/// Replays `args.input` and writes the verdict (and `--explain`) to `out`.
pub fn replay_to(args: &ReplayArgs, out: &mut dyn Write) -> Result<Verdict, InputError> {
    let stdin = io::stdin();
    let mut source: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(stdin.lock())
    } else {
        Box::new(BufReader::with_capacity(256 * 1024, File::open(&args.input)?))
    };
    let kind = match args.timing {
        Timing::File(_) => Kind::Text,
        Timing::Rate(_) => input::sniff(&mut source)?,
    };
    let mut explain_sink = io::sink();
    let mut engine = Engine {
        detector: Detector::new(args.detect.clone()),
        next_tick: CHECK_INTERVAL,
        recorded_ticks: false,
        lines: 0,
        lines_at_tick: 0,
        last: Duration::ZERO,
        intervention: None,
        peak: 0.0,
        left_alone: Vec::new(),
        explain: if args.explain {
            Some(out)
        } else {
            Some(&mut explain_sink)
        },
        later_attempts: false,
    };
    let mut dropped = 0;
    let mut emit = |o: Observation<'_>| engine.observe(o);
    let kind_name = match (&args.timing, kind) {
        (Timing::File(path), _) => {
            let mut timing = BufReader::new(File::open(path)?);
            input::read_typescript(&mut source, &mut timing, &mut emit)?;
            "typescript with timing".to_string()
        }
        (Timing::Rate(rate), Kind::Text) => {
            let mut clock = stamps::TextClock::new(*rate, DEFAULT_RATE);
            input::read_text(&mut source, &mut clock, &mut emit)?;
            clock.describe()
        }
        (_, Kind::Cast) => {
            input::read_cast(&mut source, &mut emit)?;
            Kind::Cast.name().to_string()
        }
        (_, Kind::Recording) => {
            dropped = input::read_recording(&mut source, &mut emit)?;
            Kind::Recording.name().to_string()
        }
    };
    if engine.intervention.is_none() && !engine.recorded_ticks && !engine.later_attempts {
        // The output ends here; the supervisor asks once more before it notices the exit.
        let end = engine.last + CHECK_INTERVAL;
        let _ = engine.catch_up(end);
    }
    Ok(Verdict {
        kind: kind_name,
        lines: engine.lines,
        duration: engine.last,
        intervention: engine.intervention,
        left_alone: engine.left_alone,
        dropped,
        later_attempts: engine.later_attempts,
    })
}

/// `flowforge replay`: prints the verdict, returns the exit status.
pub fn replay(args: ReplayArgs) -> i32 {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let verdict = match replay_to(&args, &mut out) {
        Ok(verdict) => verdict,
        Err(e) => {
            crate::diag::diag!("replay: {}: {e}", args.input.display());
            return EXIT_BAD_INPUT;
        }
    };
    let _ = report(&verdict, &mut out);
    if verdict.intervention.is_some() {
        EXIT_WOULD_INTERVENE
    } else {
        EXIT_CLEAN
    }
}

fn report(verdict: &Verdict, out: &mut dyn Write) -> io::Result<()> {
    if verdict.dropped > 0 {
        writeln!(
            out,
            "note: the recording dropped {} records; the replay may differ from the run",
            verdict.dropped
        )?;
    }
    if verdict.later_attempts {
        writeln!(
            out,
            "note: the recording has later attempts (restarts); only the first is replayed"
        )?;
    }
    match &verdict.intervention {
        Some(i) => writeln!(
            out,
            "would intervene at line {} ({:.2} s): {}",
            i.line,
            i.at.as_secs_f64(),
            i.reason.summary
        ),
        None => {
            write!(
                out,
                "would not intervene: {} over {:.1} s ({})",
                plural(verdict.lines, "line"),
                verdict.duration.as_secs_f64(),
                verdict.kind
            )?;
            if verdict.left_alone.is_empty() {
                writeln!(out)
            } else {
                writeln!(out, "; left alone: {}", verdict.left_alone.join("; "))
            }
        }
    }
}
