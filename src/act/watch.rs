//! The policy that watches one run: feeds the detector, checks the guardrails, and turns a
//! runaway verdict into a stop request — or, under `--action alert`, into an alert that
//! leaves the process alone.
//!
//! Guardrails are checked before the detector: a hard limit the user set is the clearer
//! reason. Every verdict is recorded as a decision event with the numbers behind it before
//! anything is done about it.

use super::control::RunControl;
use super::excerpt::RecentLines;
use super::guardrails::Guardrails;
use super::record::RunRecorder;
use crate::detect::{Decision, DetectConfig, Detector, Reason};
use crate::evidence::{Actor, Category};
use crate::sample::{Sample, Stream};
use crate::supervise::{StopRequest, Stopper, Watch};
use crate::units::format_duration;
use serde_json::json;
use std::time::{Duration, Instant};

/// What an intervention does (`--action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionMode {
    /// Stop the tree, exit 124 (default).
    Kill,
    /// Stop the tree and start the command again, with backoff and a budget.
    Restart,
    /// Record and print, never touch the process (watchdog mode).
    Alert,
}

impl ActionMode {
    pub fn name(self) -> &'static str {
        match self {
            ActionMode::Kill => "kill",
            ActionMode::Restart => "restart",
            ActionMode::Alert => "alert",
        }
    }
}

/// After an alert, the same run is not alerted again for this long.
const ALERT_QUIET: Duration = Duration::from_secs(60);

pub struct RunWatch<'r> {
    guardrails: Guardrails,
    detect: Option<DetectConfig>,
    detector: Option<Detector>,
    mode: ActionMode,
    run_started: Instant,
    attempt_started: Instant,
    last_output: Instant,
    last_alert: Option<Instant>,
    /// A line was seen since the previous sample (its time is then in `last_output`).
    line_since_sample: bool,
    /// The last raw lines, for the excerpt a decision records.
    recent: RecentLines,
    record: &'r RunRecorder,
    /// The control socket and live numbers, when the run records to a store.
    control: Option<&'r mut RunControl>,
}

impl<'r> RunWatch<'r> {
    pub fn new(
        guardrails: Guardrails,
        detect: Option<DetectConfig>,
        mode: ActionMode,
        record: &'r RunRecorder,
    ) -> Self {
        let now = Instant::now();
        RunWatch {
            guardrails,
            detector: detect.clone().map(Detector::new),
            detect,
            mode,
            run_started: now,
            attempt_started: now,
            last_output: now,
            last_alert: None,
            line_since_sample: false,
            recent: RecentLines::new(),
            record,
            control: None,
        }
    }

    /// Lets users stop or restart this run through the API (see control.rs).
    pub fn with_control(mut self, control: Option<&'r mut RunControl>) -> Self {
        self.control = control;
        self
    }

    /// Resets what belongs to one attempt (a restart starts with a fresh detector).
    pub fn begin_attempt(&mut self) {
        let now = Instant::now();
        self.attempt_started = now;
        self.last_output = now;
        self.detector = self.detect.clone().map(Detector::new);
        self.recent.clear();
        if let Some(control) = &self.control {
            control.begin_attempt();
        }
    }

    /// `numbers` with the excerpt of the output added: the cycle and the last lines.
    fn with_excerpt(&self, mut numbers: serde_json::Value) -> serde_json::Value {
        let redact = self.record.redacts();
        let excerpt = self.recent.excerpt(&numbers, redact);
        if let Some(map) = numbers.as_object_mut() {
            if redact {
                if let Some(serde_json::Value::String(example)) = map.get_mut("example") {
                    drop_cut_word(example);
                }
            }
            map.extend(excerpt.into_iter().map(|(key, value)| (key.to_string(), value)));
        }
        numbers
    }

    pub fn run_time(&self) -> Duration {
        self.run_started.elapsed()
    }

    /// Whether an alert was raised less than [`ALERT_QUIET`] ago.
    fn alert_is_quiet(&self) -> bool {
        self.last_alert.is_some_and(|at| at.elapsed() < ALERT_QUIET)
    }

    fn alert(&mut self, reason: &Reason) {
        self.last_alert = Some(Instant::now());
        let ran = format_duration(self.attempt_started.elapsed());
        let line = format!(
            "alert: {} looks like a runaway after {ran}: {}; leaving it running (--action alert). Details: flowforge show {}",
            self.record.command(),
            reason.summary,
            self.record.run_ref()
        );
        self.record.say(&line);
        self.record.event(
            Category::Alert,
            "runaway",
            Actor::Detector,
            line,
            reason.numbers.clone(),
        );
        self.record.event(
            Category::Action,
            "alert",
            Actor::Detector,
            format!("printed an alert; the process was left running (--action alert); next alert in {} at the earliest", format_duration(ALERT_QUIET)),
            json!({"mode": "alert"}),
        );
        self.record.event(
            Category::Outcome,
            "continued",
            Actor::Detector,
            "the job keeps running".to_string(),
            json!({"ran_s": self.attempt_started.elapsed().as_secs_f64()}),
        );
        // A fresh detector, so a loop that goes on is judged again from scratch.
        self.detector = self.detect.clone().map(Detector::new);
    }
}

/// The detector cuts a template's example at 160 bytes, possibly inside a word that is half a
/// secret and too short for the redactor to recognise; an example at least this long loses
/// its last word.
const EXAMPLE_CUT: usize = 150;

fn drop_cut_word(example: &mut String) {
    if example.len() >= EXAMPLE_CUT {
        let keep = example.trim_end().rfind([' ', '\t']).map_or(0, |at| at + 1);
        example.truncate(keep);
        example.push('…');
    }
}

impl Watch for RunWatch<'_> {
    fn started(&mut self, pid: i32) {
        self.record.started(pid);
        if let Some(control) = &self.control {
            control.started();
        }
    }

    fn line(&mut self, stream: Stream, line: &[u8], truncated: bool, at: Duration) {
        self.last_output = Instant::now();
        self.line_since_sample = true;
        self.recent.push(stream, line, truncated);
        if let Some(detector) = self.detector.as_mut() {
            detector.observe_line(stream, line, truncated, at);
        }
    }

    fn gap(&mut self, stream: Stream) {
        if let Some(detector) = self.detector.as_mut() {
            detector.observe_gap(stream);
        }
    }

    fn sample(&mut self, sample: &Sample) {
        if sample.stdout_bytes + sample.stderr_bytes > 0 && !std::mem::take(&mut self.line_since_sample) {
            // Bytes count as output even when no line ended (test-runner dots); when lines
            // did end, the latest one already says when output was last seen.
            self.last_output = Instant::now();
        }
        self.guardrails.observe_rss(sample.rss_bytes);
        if let Some(detector) = self.detector.as_mut() {
            detector.observe_sample(sample);
        }
        self.record.sample(sample);
        if let Some(control) = &self.control {
            control.observe(sample, self.record);
        }
    }

    fn check(&mut self, at: Duration) -> Option<StopRequest> {
        // A user's explicit request comes first.
        if let Some((request, numbers)) = self.control.as_deref_mut().and_then(|c| c.user_stop(self.record)) {
            self.record.decision(&request, numbers);
            return Some(request);
        }
        if let Some(request) = self.guardrails.check(self.run_time(), self.last_output.elapsed()) {
            let numbers = self.with_excerpt(json!({"reason": request.reason, "verdict": "stop"}));
            self.record.decision(&request, numbers);
            return Some(request);
        }
        let Decision::Runaway(reason) = self.detector.as_mut()?.evaluate(at) else {
            return None;
        };
        if self.mode == ActionMode::Alert && self.alert_is_quiet() {
            // Alerted recently: judge the loop afresh, record nothing until the quiet ends.
            self.detector = self.detect.clone().map(Detector::new);
            return None;
        }
        let mut numbers = reason.numbers.clone();
        if let Some(map) = numbers.as_object_mut() {
            map.insert(
                "verdict".into(),
                json!(if self.mode == ActionMode::Alert {
                    "alert"
                } else {
                    "stop"
                }),
            );
            map.insert("confidence".into(), json!(reason.confidence));
        }
        let request = StopRequest {
            by: Stopper::Detector,
            kind: "runaway",
            reason: reason.summary.clone(),
        };
        self.record.decision(&request, self.with_excerpt(numbers));
        if self.mode == ActionMode::Alert {
            self.alert(&reason);
            return None;
        }
        Some(request)
    }

    fn signal_forwarded(&mut self, signal: i32) {
        self.record.signal_forwarded(signal);
    }

    fn wake_fd(&self) -> Option<std::os::fd::RawFd> {
        self.control.as_deref().and_then(RunControl::wake_fd)
    }

    fn check_soon(&self) -> bool {
        self.control
            .as_deref()
            .is_some_and(RunControl::request_in_progress)
    }

    fn deadline(&self) -> Option<Instant> {
        self.guardrails.deadline(self.run_started, self.last_output)
    }
}

#[cfg(test)]
mod tests {
    use super::drop_cut_word;

    #[test]
    fn a_cut_example_loses_its_last_word() {
        let mut long = format!("{} Bearer ghp_C3J27XDCG2", "word ".repeat(30));
        drop_cut_word(&mut long);
        assert!(long.ends_with("Bearer …") && !long.contains("ghp_"), "{long}");
        let mut short = "retry <n> failed".to_string();
        drop_cut_word(&mut short);
        assert_eq!(short, "retry <n> failed");
    }
}
