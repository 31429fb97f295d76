//! Action: what FlowForge does about a run — run it, stop it when a limit or the detector
//! says so, and report the outcome with its reason and numbers.
//!
//! This layer owns the exit status of `flowforge run` (after coreutils `timeout`): the
//! command's own status (128+N for signal N); 124 when FlowForge stopped it; 130 when a
//! second Ctrl-C killed it; 125 when FlowForge itself failed; 126/127 when the command could
//! not be executed or found.

pub mod guardrails;

use crate::cli::RunArgs;
use crate::sample::{Sample, Stream};
use crate::supervise::{self, AttemptEnd, StopRequest, Supervisor, Watch};
use crate::units::format_duration;
use flowforge_platform::kill::signal_name;
use flowforge_platform::reap::ExitStatus;
use guardrails::{Guardrails, Limits};
use std::time::{Duration, Instant};

pub const EXIT_STOPPED: i32 = 124;
pub const EXIT_FLOWFORGE_FAILED: i32 = 125;
pub const EXIT_INTERRUPTED: i32 = 130;

/// The policy watching one run: guardrails now, detection and evidence as they are added.
struct RunWatch {
    guardrails: Guardrails,
    run_started: Instant,
}

impl Watch for RunWatch {
    fn line(&mut self, _stream: Stream, _line: &[u8], _truncated: bool, _at: Duration) {}

    fn sample(&mut self, sample: &Sample) {
        log::debug!(
            "sample: cpu {:.1} %, rss {} bytes, {} processes",
            sample.cpu_percent,
            sample.rss_bytes,
            sample.processes
        );
    }

    fn check(&mut self, _at: Duration) -> Option<StopRequest> {
        self.guardrails.check(self.run_started.elapsed())
    }
}

/// Runs `flowforge run` to its end and returns the exit status.
pub fn run(args: RunArgs) -> i32 {
    let options = supervise::Options {
        pty: args.pty,
        tick: args.tick,
        kill_grace: args.kill_grace,
    };
    let mut supervisor = match Supervisor::new(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("flowforge: cannot set up supervision: {e}");
            return EXIT_FLOWFORGE_FAILED;
        }
    };
    let mut watch = RunWatch {
        guardrails: Guardrails::new(Limits {
            timeout: args.timeout,
        }),
        run_started: Instant::now(),
    };
    match supervisor.run(&args.command, &mut watch) {
        Err(e) => {
            eprintln!("flowforge: {e}");
            e.exit_code()
        }
        Ok(end) => conclude(&args, &end),
    }
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

/// Prints the one-line story of an intervention and picks the exit status.
fn conclude(args: &RunArgs, end: &AttemptEnd) -> i32 {
    if end.interrupted {
        eprintln!(
            "flowforge: interrupted twice: killed the process tree of {} after {}",
            command_text(args),
            format_duration(end.duration)
        );
        return EXIT_INTERRUPTED;
    }
    if let Some(stop) = &end.stopped {
        let signal = if stop.escalated_to_kill {
            "SIGTERM, then SIGKILL"
        } else {
            "SIGTERM"
        };
        eprintln!(
            "flowforge: stopped {} after {}: {}; killed {} process{} ({signal}, gone in {:.2} s)",
            command_text(args),
            format_duration(end.duration),
            stop.request.reason,
            stop.signalled,
            if stop.signalled == 1 { "" } else { "es" },
            stop.gone_after.as_secs_f64()
        );
        return EXIT_STOPPED;
    }
    if end.leftovers_stopped > 0 {
        log::info!(
            "stopped {} process(es) the command left behind",
            end.leftovers_stopped
        );
    }
    match end.status {
        Some(status) => {
            if let ExitStatus::Signaled(signal) = status {
                log::info!("pid {} died of {}", end.pid, signal_name(signal));
            }
            status.shell_code()
        }
        None => {
            eprintln!("flowforge: lost track of the command's exit status (its supervisor shim died); the tree was stopped");
            EXIT_FLOWFORGE_FAILED
        }
    }
}
