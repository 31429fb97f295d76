//! Action: what FlowForge does about a run — run it, stop it when a limit or the detector
//! says so, and leave a record of what happened, why, who acted and what came of it.
//!
//! This layer owns the exit status of `flowforge run` (after coreutils `timeout`): the
//! command's own status (128+N for signal N); 124 when FlowForge stopped it; 130 when a
//! second Ctrl-C killed it; 125 when FlowForge itself failed; 126/127 when the command could
//! not be executed or found. Every intervention prints one line on stderr and records a
//! decision, an action and an outcome event.

pub mod guardrails;
mod record;

use crate::cli::{DbChoice, RunArgs};
use crate::evidence::{self, Actor, Category, NewRun, Recorder};
use crate::sample::{Sample, Stream};
use crate::supervise::{self, AttemptEnd, SpawnError, StopRequest, Supervisor, Watch};
use crate::units::format_duration;
use flowforge_platform::reap::ExitStatus;
use guardrails::{Guardrails, Limits};
use record::RunRecorder;
use serde_json::json;
use std::time::{Duration, Instant};

pub const EXIT_STOPPED: i32 = 124;
pub const EXIT_FLOWFORGE_FAILED: i32 = 125;
pub const EXIT_INTERRUPTED: i32 = 130;

/// How long the evidence writer may take to flush at exit before critical events are
/// printed to stderr instead.
const EVIDENCE_FLUSH_DEADLINE: Duration = Duration::from_secs(3);

/// The policy watching one run: guardrails, and the evidence of what it sees.
struct RunWatch<'r> {
    guardrails: Guardrails,
    run_started: Instant,
    record: &'r RunRecorder,
}

impl Watch for RunWatch<'_> {
    fn started(&mut self, pid: i32) {
        self.record.started(pid);
    }

    fn line(&mut self, _stream: Stream, _line: &[u8], _truncated: bool, _at: Duration) {}

    fn sample(&mut self, sample: &Sample) {
        self.record.sample(sample);
    }

    fn check(&mut self, _at: Duration) -> Option<StopRequest> {
        let request = self.guardrails.check(self.run_started.elapsed())?;
        self.record.decision(&request);
        Some(request)
    }

    fn signal_forwarded(&mut self, signal: i32) {
        self.record.signal_forwarded(signal);
    }
}

/// Opens the evidence store as `--db`, `--no-db` and `--require-db` ask; `Err` is the exit
/// status when the run must not go on.
fn open_recorder(args: &RunArgs, mode: &str) -> Result<Recorder, i32> {
    let DbChoice::Record { path, required } = &args.db else {
        return Ok(Recorder::disabled());
    };
    let db = evidence::resolve_db_path(path.as_deref());
    let argv = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    match Recorder::start(&db, NewRun::new(argv, &cwd, mode)) {
        Ok((recorder, _)) => Ok(recorder),
        Err(e) if *required => {
            eprintln!("flowforge: {} (--require-db)", crate::inspect::with_sources(&e));
            Err(EXIT_FLOWFORGE_FAILED)
        }
        Err(e) => {
            eprintln!(
                "flowforge: warning: running without evidence: {}",
                crate::inspect::with_sources(&e)
            );
            Ok(Recorder::spill_only())
        }
    }
}

/// Runs `flowforge run` to its end and returns the exit status.
pub fn run(args: RunArgs) -> i32 {
    let recorder = match open_recorder(&args, "kill") {
        Ok(recorder) => recorder,
        Err(code) => return code,
    };
    let record = RunRecorder::new(recorder, command_text(&args));
    let options = supervise::Options {
        pty: args.pty,
        tick: args.tick,
        kill_grace: args.kill_grace,
    };
    let (code, outcome) = match Supervisor::new(options) {
        Err(e) => {
            eprintln!("flowforge: cannot set up supervision: {e}");
            record.error("supervisor_setup", format!("cannot set up supervision: {e}"));
            (EXIT_FLOWFORGE_FAILED, "failed")
        }
        Ok(mut supervisor) => {
            let mut watch = RunWatch {
                guardrails: Guardrails::new(Limits {
                    timeout: args.timeout,
                }),
                run_started: Instant::now(),
                record: &record,
            };
            match supervisor.run(&args.command, &mut watch) {
                Err(e) => spawn_failed(&record, &e),
                Ok(end) => conclude(&record, &end),
            }
        }
    };
    record.finish(code, outcome, EVIDENCE_FLUSH_DEADLINE);
    let usage = flowforge_platform::process::self_usage();
    log::info!(
        "own usage: cpu {:.3} s, peak rss {} KiB",
        usage.cpu_micros as f64 / 1e6,
        usage.max_rss_bytes / 1024
    );
    code
}

fn spawn_failed(record: &RunRecorder, error: &SpawnError) -> (i32, &'static str) {
    eprintln!("flowforge: {error}");
    let (kind, outcome) = match error {
        SpawnError::NotFound { .. } => ("not_found", "not_found"),
        SpawnError::NotExecutable { .. } => ("not_executable", "not_executable"),
        SpawnError::Failed { .. } => ("spawn_failed", "failed"),
    };
    record.error(kind, error.to_string());
    (error.exit_code(), outcome)
}

fn command_text(args: &RunArgs) -> String {
    let text = args
        .command
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// Prints the one-line story of an intervention, records its action and outcome, and
/// picks the exit status.
fn conclude(record: &RunRecorder, end: &AttemptEnd) -> (i32, &'static str) {
    if end.interrupted {
        let message = format!(
            "interrupted twice: killed the process tree of {} after {}",
            record.command(),
            format_duration(end.duration)
        );
        eprintln!("flowforge: {message}");
        record.event(
            Category::Action,
            "tree_kill",
            Actor::Signal,
            message,
            json!({"signal": "SIGKILL"}),
        );
        record.event(
            Category::Outcome,
            "interrupted",
            Actor::Signal,
            format!("tree gone; exit {EXIT_INTERRUPTED}"),
            json!({"exit_code": EXIT_INTERRUPTED}),
        );
        return (EXIT_INTERRUPTED, "interrupted");
    }
    if let Some(stop) = &end.stopped {
        let signal = if stop.escalated_to_kill {
            "SIGTERM, then SIGKILL"
        } else {
            "SIGTERM"
        };
        let plural = if stop.signalled == 1 { "" } else { "es" };
        let line = format!(
            "stopped {} after {}: {}; killed {} process{plural} ({signal}, gone in {:.2} s). Details: flowforge show {}",
            record.command(),
            format_duration(end.duration),
            stop.request.reason,
            stop.signalled,
            stop.gone_after.as_secs_f64(),
            record.run_ref(),
        );
        eprintln!("flowforge: {line}");
        let actor = record::actor_of(stop.request.by);
        record.event(
            Category::Action,
            "tree_stop",
            actor,
            format!("sent {signal} to {} process{plural} of the tree", stop.signalled),
            json!({
                "signalled": stop.signalled,
                "escalated_to_kill": stop.escalated_to_kill,
                "reason": stop.request.reason,
            }),
        );
        record.event(
            Category::Outcome,
            "stopped",
            actor,
            format!(
                "tree gone in {:.2} s after {}; exit {EXIT_STOPPED}",
                stop.gone_after.as_secs_f64(),
                format_duration(end.duration)
            ),
            json!({
                "gone_after_s": stop.gone_after.as_secs_f64(),
                "ran_s": end.duration.as_secs_f64(),
                "exit_code": EXIT_STOPPED,
                "child_status": end.status.map(|s| s.shell_code()),
            }),
        );
        return (EXIT_STOPPED, "stopped");
    }
    if end.leftovers_stopped > 0 {
        log::info!(
            "stopped {} process(es) the command left behind",
            end.leftovers_stopped
        );
        record.event(
            Category::Action,
            "leftovers_stopped",
            Actor::Supervisor,
            format!(
                "stopped {} process(es) the command left running when it exited",
                end.leftovers_stopped
            ),
            json!({"signalled": end.leftovers_stopped}),
        );
    }
    match end.status {
        Some(status) => {
            record.exited(end.pid, status, end.duration);
            let outcome = match status {
                ExitStatus::Exited(_) => "exited",
                ExitStatus::Signaled(_) => "signalled",
            };
            (status.shell_code(), outcome)
        }
        None => {
            let message =
                "lost track of the command's exit status (its supervisor shim died); the tree was stopped";
            eprintln!("flowforge: {message}");
            record.error("status_lost", message.to_string());
            (EXIT_FLOWFORGE_FAILED, "failed")
        }
    }
}
