//! The evidence a run leaves: turns what the supervisor and the policy see into events.
//!
//! One small wrapper around the [`Recorder`] so the action code reads as a story
//! (`started`, `decision`, `exited`) and every event of a run carries the same shapes.

use super::ci_summary::Intervention;
use crate::evidence::redact;
use crate::evidence::{Actor, Category, Event, Recorder, RunEnd, SampleRow};
use crate::sample::Sample;
use crate::supervise::{StopRequest, Stopper};
use crate::units::format_duration;
use flowforge_platform::kill::signal_name;
use flowforge_platform::reap::ExitStatus;
use serde_json::{json, Value};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub struct RunRecorder {
    recorder: Recorder,
    command: String,
    started_at_ms: i64,
    /// The latest decision, redacted like its event, for the CI summary.
    last_decision: Mutex<Option<Intervention>>,
}

pub fn actor_of(stopper: Stopper) -> Actor {
    match stopper {
        Stopper::Guardrail => Actor::Guardrail,
        Stopper::Detector => Actor::Detector,
        Stopper::User => Actor::User,
    }
}

impl RunRecorder {
    pub fn new(recorder: Recorder, command: String) -> RunRecorder {
        RunRecorder {
            recorder,
            command,
            started_at_ms: crate::evidence::now_ms(),
            last_decision: Mutex::new(None),
        }
    }

    /// One line for the human at the terminal, redacted like the evidence (the stop line,
    /// an alert). All of FlowForge's own stderr lines about a run go through here.
    pub fn say(&self, line: &str) {
        let line = if self.recorder.redacts() {
            crate::evidence::redact::redact(line)
        } else {
            std::borrow::Cow::Borrowed(line)
        };
        crate::diag::line(format_args!("{line}"));
    }

    /// Whether this run's evidence is redacted.
    pub fn redacts(&self) -> bool {
        self.recorder.redacts()
    }

    pub fn command(&self) -> &str {
        &self.command
    }

    /// How a human names this run in `flowforge show`: its id, or `last` without a store.
    pub fn run_ref(&self) -> String {
        match self.recorder.run_id() {
            Some(id) => id.to_string(),
            None => "last".to_string(),
        }
    }

    pub fn event(&self, category: Category, kind: &str, actor: Actor, message: String, payload: Value) {
        self.recorder
            .record(Event::new(category, kind, actor, message, payload));
    }

    pub fn started(&self, pid: i32) {
        self.recorder.set_pid(pid as u32);
        self.event(
            Category::Lifecycle,
            "started",
            Actor::Supervisor,
            format!("started {} as pid {pid}", self.command),
            json!({"pid": pid, "redaction": if self.recorder.redacts() { "on" } else { "off" }}),
        );
    }

    pub fn sample(&self, sample: &Sample) {
        self.recorder.record_sample(&SampleRow {
            at_ms: self.started_at_ms + sample.at.as_millis() as i64,
            cpu_percent: sample.cpu_percent,
            rss_bytes: sample.rss_bytes,
            processes: sample.processes,
            stdout_bytes: sample.stdout_bytes,
            stderr_bytes: sample.stderr_bytes,
            lines: sample.lines,
        });
    }

    pub fn decision(&self, request: &StopRequest, numbers: Value) {
        let mut intervention = Intervention {
            kind: request.kind.to_string(),
            reason: request.reason.clone(),
            payload: numbers.clone(),
        };
        if self.redacts() {
            intervention.reason = redact::redact(&intervention.reason).into_owned();
            redact::redact_value(&mut intervention.payload, &mut redact::Redactor::new());
        }
        *self.last_decision.lock().unwrap_or_else(PoisonError::into_inner) = Some(intervention);
        self.event(
            Category::Decision,
            request.kind,
            actor_of(request.by),
            request.reason.clone(),
            numbers,
        );
    }

    /// The latest decision of the run, if there was one.
    pub fn last_intervention(&self) -> Option<Intervention> {
        self.last_decision
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Wall-clock time since the run started.
    pub fn elapsed(&self) -> Duration {
        let ms = crate::evidence::now_ms().saturating_sub(self.started_at_ms);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    pub fn signal_forwarded(&self, signal: i32) {
        self.event(
            Category::Control,
            "signal_forwarded",
            Actor::Signal,
            format!("forwarded {} to the command's process group", signal_name(signal)),
            json!({"signal": signal_name(signal)}),
        );
    }

    pub fn exited(&self, pid: i32, status: ExitStatus, ran: Duration) {
        let message = match status {
            ExitStatus::Exited(code) => {
                format!("pid {pid} exited with code {code} after {}", format_duration(ran))
            }
            ExitStatus::Signaled(signal) => {
                format!(
                    "pid {pid} died of {} after {}",
                    signal_name(signal),
                    format_duration(ran)
                )
            }
        };
        self.event(
            Category::Lifecycle,
            "exited",
            Actor::Supervisor,
            message,
            json!({"pid": pid, "exit_code": status.shell_code(), "ran_s": ran.as_secs_f64()}),
        );
    }

    /// The run's id if its row exists already; never waits (for the loop thread).
    pub fn run_id_now(&self) -> Option<i64> {
        self.recorder.run_id_now().map(|id| id.0)
    }

    /// Samples dropped so far because the evidence writer was behind.
    pub fn samples_refused(&self) -> u64 {
        self.recorder.samples_refused()
    }

    pub fn error(&self, kind: &str, message: String) {
        self.event(Category::Error, kind, Actor::Supervisor, message, json!({}));
    }

    pub fn finish(self, exit_code: i32, outcome: &str, deadline: Duration) {
        let report = self
            .recorder
            .finish(RunEnd::now(Some(exit_code), outcome), deadline);
        if report.dropped_samples > 0 {
            log::info!("evidence: {} sample(s) dropped", report.dropped_samples);
        }
    }
}
