//! Action: what FlowForge does about a run — run it, stop it when a guardrail or the
//! detector says so (or restart it, or only alert), and leave a record of what happened,
//! why, who acted and what came of it.
//!
//! This layer owns the exit status of `flowforge run` (after coreutils `timeout`): the
//! command's own status (128+N for signal N); 124 when FlowForge stopped it; 130 when a
//! second Ctrl-C killed it; 125 when FlowForge itself failed; 126/127 when the command could
//! not be executed or found. Every intervention prints one line on stderr and records a
//! decision, an action and an outcome event.

pub mod ci_summary;
pub mod control;
mod excerpt;
pub mod guardrails;
mod record;
pub mod recording;
pub mod restart;
pub mod settings;
pub mod watch;

use crate::diag::diag;
use crate::evidence::retention::Policy;
use crate::evidence::{self, Actor, Category, NewRun, Recorder};
use crate::supervise::{self, AttemptEnd, CaughtSignals, Launched, SpawnError, StopReport, Supervisor};
use crate::units::format_duration;
use flowforge_platform::kill::signal_name;
use flowforge_platform::reap::ExitStatus;
use guardrails::Guardrails;
use record::RunRecorder;
use restart::{Next, RestartPolicy};
use serde_json::json;
use settings::{DbChoice, RunArgs};
use std::time::Duration;
use watch::{ActionMode, RunWatch};

pub const EXIT_STOPPED: i32 = 124;
pub const EXIT_FLOWFORGE_FAILED: i32 = 125;
pub const EXIT_INTERRUPTED: i32 = 130;

/// The environment variable that sets the retention policy (`--retention` wins).
const RETENTION_VAR: &str = "FLOWFORGE_RETENTION";

/// How long the evidence writer may take to flush at exit before critical events are
/// printed to stderr instead.
const EVIDENCE_FLUSH_DEADLINE: Duration = Duration::from_secs(3);

/// The recorder that must exist before the command starts: none for `--no-db`, the
/// synchronously opened store for `--require-db` (`Err` is the exit status when it cannot
/// be used, and the command never starts). `Ok(None)` means the store is opened in the
/// background, by [`start_background_recorder`], once the command is starting.
fn recorder_before_launch(args: &RunArgs) -> Result<Option<Recorder>, i32> {
    let DbChoice::Record { path, required } = &args.db else {
        return Ok(Some(Recorder::disabled().redacting(args.redact)));
    };
    if !*required {
        return Ok(None);
    }
    match Recorder::start(&evidence::resolve_db_path(path.as_deref()), new_run(args)) {
        Ok((recorder, _)) => {
            recorder.apply_retention(retention_policy(args.retention));
            Ok(Some(recorder))
        }
        Err(e) => {
            diag!("{} (--require-db)", crate::diag::with_sources(&e));
            Err(EXIT_FLOWFORGE_FAILED)
        }
    }
}

/// Opening the database and inserting the run's row happen on the writer thread while the
/// command starts; a database it cannot use is one warning from there, and the run goes on
/// with its critical events printed to stderr at the end.
fn start_background_recorder(args: &RunArgs) -> Recorder {
    let path = match &args.db {
        DbChoice::Record { path, .. } => path.as_deref(),
        DbChoice::Off => None,
    };
    let recorder = Recorder::start_background(&evidence::resolve_db_path(path), new_run(args));
    recorder.apply_retention(retention_policy(args.retention));
    recorder
}

/// The run's row as the store gets it.
fn new_run(args: &RunArgs) -> NewRun {
    let argv = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut run = NewRun::new(argv, &cwd, args.action.name());
    run.redact = args.redact;
    run
}

/// `--retention`, else `FLOWFORGE_RETENTION`, else the default; an invalid variable is one
/// warning and the default.
fn retention_policy(flag: Option<Policy>) -> Policy {
    if let Some(policy) = flag {
        return policy;
    }
    match std::env::var(RETENTION_VAR) {
        Ok(text) => Policy::parse(&text).unwrap_or_else(|why| {
            log::warn!(
                "ignoring {RETENTION_VAR}={text:?}: {why}; using {}",
                Policy::DEFAULT.describe()
            );
            Policy::DEFAULT
        }),
        Err(_) => Policy::DEFAULT,
    }
}

/// Runs `flowforge run` to its end and returns the exit status.
pub fn run(args: RunArgs) -> i32 {
    let db = match &args.db {
        DbChoice::Record { path, .. } => Some(evidence::resolve_db_path(path.as_deref())),
        DbChoice::Off => None,
    };
    let live = args
        .listen
        .map(|_| std::sync::Arc::new(control::LiveStats::default()));
    // The API starts first: a port in use ends the run before anything is recorded.
    let api = match (args.listen, &db) {
        (Some(listen), Some(db)) => {
            match crate::api::start_for_run(listen, args.allow_remote, db, live.clone()) {
                Ok(api) => Some(api),
                Err(code) => return code,
            }
        }
        _ => None,
    };
    let before_launch = match recorder_before_launch(&args) {
        Ok(recorder) => recorder,
        Err(code) => return code,
    };
    let mut recording = match args
        .record
        .as_deref()
        .map(|path| recording::Recording::create(path, args.redact))
        .transpose()
    {
        Ok(recording) => recording,
        Err(e) => {
            let path = args.record.as_deref().unwrap_or_else(|| std::path::Path::new(""));
            diag!("cannot create the recording {}: {e}", path.display());
            return EXIT_FLOWFORGE_FAILED;
        }
    };
    let options = supervise::Options {
        pty: args.pty,
        tick: args.tick,
        kill_grace: args.kill_grace,
    };
    // Everything that can refuse the run has been checked: the command starts now, and
    // the recorder and the loop are set up while its shim execs it. Signals are caught
    // from before it starts, so none aimed at FlowForge meanwhile is lost.
    let caught = CaughtSignals::install();
    let first = Launched::start(&args.command, &options);
    // The recorder's thread first: the store's open is the longest piece of work at a
    // start. With the shim on the other core (see `Launched::start`), starting it before
    // the loop's setup measured best (`run -- true` 1.71x against 1.78x tini's time; it was
    // the other way round while the shim shared this thread's core).
    let recorder = before_launch.unwrap_or_else(|| start_background_recorder(&args));
    let supervisor = caught.and_then(|caught| Supervisor::new(options, caught));
    // Outlives the supervision: its socket goes away only once the run's end is recorded,
    // so the API never sees a finished run without its end (which would read as lost).
    let mut control = db.map(|db| control::RunControl::new(db, live.clone()));
    let record = RunRecorder::new(recorder, command_text(&args));

    let (code, outcome) = match supervisor {
        Err(e) => {
            // Dropping the launch closes its shim's channel: the shim takes the tree down.
            drop(first);
            diag!("cannot set up supervision: {e}");
            record.error("supervisor_setup", format!("cannot set up supervision: {e}"));
            (EXIT_FLOWFORGE_FAILED, "failed")
        }
        Ok(mut supervisor) => supervise_run(
            &args,
            &mut supervisor,
            first,
            &record,
            recording.as_mut(),
            control.as_mut(),
        ),
    };
    if let Some(live) = &live {
        live.running.store(false, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(recording) = recording {
        match recording.finish() {
            Ok(0) => {}
            Ok(dropped) => log::warn!("the recording dropped {dropped} records (full buffer or size cap)"),
            Err(e) => diag!("cannot write the recording: {e}"),
        }
    }
    if let Some(ci) = ci_summary::Ci::from_env() {
        let verdict = ci_summary::Verdict {
            command: record.command(),
            outcome,
            exit_code: code,
            duration: record.elapsed(),
            run_ref: record.run_ref(),
            intervention: record.last_intervention(),
        };
        ci_summary::report(&ci, &verdict);
    }
    record.finish(code, outcome, EVIDENCE_FLUSH_DEADLINE);
    drop(control);
    if let Some(api) = api {
        api.shutdown();
    }
    // Read only when it is printed (-v): /proc/self/status is work on every run's exit path.
    if log::log_enabled!(log::Level::Info) {
        let usage = flowforge_platform::process::self_usage();
        log::info!(
            "own usage: cpu {:.3} s, peak rss {} KiB",
            usage.cpu_micros as f64 / 1e6,
            usage.max_rss_bytes / 1024
        );
    }
    code
}

/// The attempt loop: one attempt, or several under `--action restart`. The first
/// attempt's command was launched already (see [`Launched::start`]).
fn supervise_run(
    args: &RunArgs,
    supervisor: &mut Supervisor,
    first: Result<Launched, SpawnError>,
    record: &RunRecorder,
    mut recording: Option<&mut recording::Recording>,
    control: Option<&mut control::RunControl>,
) -> (i32, &'static str) {
    let mut watch = RunWatch::new(
        Guardrails::new(args.limits.clone()),
        args.detect.clone(),
        args.action,
        record,
    )
    .with_control(control);
    let mut policy = RestartPolicy::new(args.restart_budget.clone());
    let mut first = Some(first);
    loop {
        watch.begin_attempt();
        let launched = match first.take() {
            Some(launched) => launched,
            None => Launched::start(&args.command, supervisor.options()),
        };
        let attempt = launched.and_then(|launched| match recording.as_deref_mut() {
            Some(recording) => {
                recording.begin_attempt();
                supervisor.supervise(launched, &mut recording::Recorded::new(&mut watch, recording))
            }
            None => supervisor.supervise(launched, &mut watch),
        });
        let end = match attempt {
            Err(e) => return spawn_failed(record, &e),
            Ok(end) => end,
        };
        if end.output_dropped > 0 {
            note_dropped_output(record, &end);
        }
        // A user's restart restarts under any --action (through the same backoff and
        // budget); a user's kill, like a timeout, is never undone by a restart.
        let restartable = end.stopped.as_ref().is_some_and(|stop| match stop.request.kind {
            "user_restart" => true,
            "timeout" | "user_kill" => false,
            _ => args.action == ActionMode::Restart,
        });
        if !restartable {
            return conclude(record, &end);
        }
        let stop = end.stopped.as_ref().expect("restartable implies stopped");
        match policy.after_stop(watch.run_time(), end.duration) {
            Next::RestartAfter { delay, restart } => {
                let budget = policy.budget();
                let plan = format!(
                    "restarting in {} (restart {restart}; at most {} within {})",
                    format_duration(delay),
                    budget.max_restarts,
                    format_duration(budget.window)
                );
                report_stop(record, &end, stop, &plan);
                record.event(
                    Category::Action,
                    "restart",
                    record::actor_of(stop.request.by),
                    plan,
                    json!({"restart": restart, "delay_s": delay.as_secs_f64(), "max_restarts": budget.max_restarts, "window_s": budget.window.as_secs_f64()}),
                );
                if let Some(signal) = supervisor.pause(delay) {
                    let message = format!(
                        "{} during the restart backoff: not restarting",
                        signal_name(signal)
                    );
                    diag!("{message}");
                    record.event(
                        Category::Outcome,
                        "not_restarted",
                        Actor::Signal,
                        message,
                        json!({"signal": signal_name(signal)}),
                    );
                    return (128 + signal, "interrupted");
                }
            }
            Next::GiveUp { used } => {
                let budget = policy.budget();
                let plan = format!(
                    "not restarting: restart budget spent ({used} restarts within {}, --max-restarts {})",
                    format_duration(budget.window),
                    budget.max_restarts
                );
                report_stop(record, &end, stop, &plan);
                record.event(
                    Category::Outcome,
                    "gave_up",
                    record::actor_of(stop.request.by),
                    plan,
                    json!({"restarts": used, "exit_code": EXIT_STOPPED}),
                );
                return (EXIT_STOPPED, "stopped");
            }
        }
    }
}

/// The one line (and event) for output a stalled reader never took.
fn note_dropped_output(record: &RunRecorder, end: &AttemptEnd) {
    let message = format!(
        "dropped {} byte(s) of output: the reader of our stdout/stderr took nothing more after the tree was gone",
        end.output_dropped
    );
    diag!("{message}");
    record.event(
        Category::Outcome,
        "output_dropped",
        Actor::Supervisor,
        message,
        json!({"bytes": end.output_dropped}),
    );
}

fn spawn_failed(record: &RunRecorder, error: &SpawnError) -> (i32, &'static str) {
    diag!("{error}");
    let (kind, outcome) = match error {
        SpawnError::NotFound { .. } => ("not_found", "not_found"),
        SpawnError::NotExecutable { .. } => ("not_executable", "not_executable"),
        SpawnError::Failed { .. } => ("spawn_failed", "failed"),
    };
    record.error(kind, error.to_string());
    (error.exit_code(), outcome)
}

/// The command as one printable line: control characters (a multi-line `python3 -c`
/// program, escape sequences) are shown escaped, so the stop line stays one line.
fn command_text(args: &RunArgs) -> String {
    let argv: Vec<String> = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let argv = if args.redact {
        evidence::redact::redact_argv(&argv)
    } else {
        argv
    };
    let text: String = argv
        .join(" ")
        .chars()
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if c.is_control() {
                Box::new(c.escape_default())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// The one stderr line of an intervention, plus its action and outcome events. `then` says
/// what happens next (exit, restart, give up).
fn report_stop(record: &RunRecorder, end: &AttemptEnd, stop: &StopReport, then: &str) {
    let signal = if stop.escalated_to_kill {
        "SIGTERM, then SIGKILL"
    } else {
        "SIGTERM"
    };
    let plural = if stop.signalled == 1 { "" } else { "es" };
    record.say(&format!(
        "stopped {} after {}: {}; killed {} process{plural} ({signal}, gone in {:.2} s); {then}. Details: flowforge show {}",
        record.command(),
        format_duration(end.duration),
        stop.request.reason,
        stop.signalled,
        stop.gone_after.as_secs_f64(),
        record.run_ref(),
    ));
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
            "by": actor.as_str(),
        }),
    );
    record.event(
        Category::Outcome,
        "stopped",
        actor,
        format!(
            "tree gone in {:.2} s after {}; {then}",
            stop.gone_after.as_secs_f64(),
            format_duration(end.duration)
        ),
        json!({
            "gone_after_s": stop.gone_after.as_secs_f64(),
            "ran_s": end.duration.as_secs_f64(),
            "child_status": end.status.map(|s| s.shell_code()),
        }),
    );
}

/// Prints the story of how the last attempt ended, records it, and picks the exit status.
fn conclude(record: &RunRecorder, end: &AttemptEnd) -> (i32, &'static str) {
    if end.interrupted {
        let message = format!(
            "interrupted twice: killed the process tree of {} after {}",
            record.command(),
            format_duration(end.duration)
        );
        diag!("{message}");
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
        report_stop(record, end, stop, &format!("exit {EXIT_STOPPED}"));
        return (
            EXIT_STOPPED,
            if stop.request.kind == "timeout" {
                "timeout"
            } else {
                "stopped"
            },
        );
    }
    if end.output_closed {
        log::info!("the reader of our stdout went away; the command got SIGPIPE on its next write");
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
            diag!("{message}");
            record.error("status_lost", message.to_string());
            (EXIT_FLOWFORGE_FAILED, "failed")
        }
    }
}
