//! Interventions end to end: the default detector against real runaway loops and healthy
//! jobs, the three `--action`s (kill, restart with backoff and budget, alert), the
//! guardrails (`--timeout`, `--max-rss`, `--idle-timeout`), and the promise behind all of
//! them — every intervention prints one line and leaves a decision, an action and an
//! outcome in the evidence database, each with a message and the numbers behind it.
//!
//! The loops are the real thing (a shell printing the same error as fast as it can), so
//! the cases take seconds; independent cases run in parallel. No case asserts a time
//! (timings belong in `benches/`): a stop is checked by its outcome and its recorded
//! reason, and a loop that is never stopped runs into RUN_LIMIT and fails the case.

use crate::common::*;
use std::path::Path;
use std::process::Stdio;

/// The line of a job that retries forever.
const LOOP_LINE: &str = "ERROR: connection refused, retrying";

/// `flowforge run [OPTIONS] -- sh -c SCRIPT`, as an argument list.
fn run_sh_with(options: &[&str], script: &str) -> Vec<String> {
    let mut args = vec!["run".to_string()];
    args.extend(options.iter().map(|s| s.to_string()));
    args.extend(["--", "sh", "-c", script].iter().map(|s| s.to_string()));
    args
}

/// A shell loop printing [`LOOP_LINE`] as fast as it can.
fn tight_loop() -> String {
    format!("while :; do echo \"{LOOP_LINE}\"; done")
}

/// Runs `args` with stdout thrown away (a flood would only fill the test's memory).
fn run_quietly(sandbox: &Sandbox, args: &[String]) -> Outcome {
    let mut command = sandbox.command(args);
    command.stdout(Stdio::null());
    let out = sandbox.spawn(command).finish();
    sandbox.assert_no_survivors();
    out
}

/// The `flowforge: stopped ...` lines of a run.
fn stop_lines(out: &Outcome) -> Vec<String> {
    out.stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("flowforge: stopped "))
        .collect()
}

/// The one stop line of a run that was stopped once, checked for its shape.
fn the_stop_line(out: &Outcome) -> String {
    let lines = stop_lines(out);
    assert_eq!(lines.len(), 1, "one stop line\n{}", out.describe());
    let line = lines[0].clone();
    assert!(
        line.contains("; killed ") && line.ends_with("Details: flowforge show 1"),
        "the line says what was killed and where the details are\n{line}"
    );
    line
}

/// One row of `events`.
#[derive(Debug)]
struct Event {
    id: i64,
    category: String,
    kind: String,
    actor: String,
    message: String,
    payload: Json,
}

/// The events of the last run in the sandbox's database, in order.
fn events_of_last_run(sandbox: &Sandbox) -> Vec<Event> {
    query(
        &sandbox.db(),
        "SELECT id, category, kind, actor, message, payload FROM events \
         WHERE run_id = (SELECT max(id) FROM runs) ORDER BY id",
    )
    .iter()
    .map(|row| Event {
        id: row.int_of("id"),
        category: row.str_of("category").to_string(),
        kind: row.str_of("kind").to_string(),
        actor: row.str_of("actor").to_string(),
        message: row.str_of("message").to_string(),
        payload: Json::expect(row.str_of("payload")),
    })
    .collect()
}

fn last_run(db: &Path) -> Json {
    query(db, "SELECT exit_code, outcome FROM runs ORDER BY id DESC LIMIT 1")
        .pop()
        .expect("a recorded run")
}

/// Every decision of the last run is followed — before the next decision — by at least one
/// action and one outcome; every decision, action and outcome has a message; a detector's
/// decision carries its confidence, a guardrail's its reason. Returns the decisions.
fn assert_interventions_explained(sandbox: &Sandbox, decisions_expected: usize) -> Vec<Event> {
    let events = events_of_last_run(sandbox);
    let story = || {
        events
            .iter()
            .map(|e| format!("  {} {}/{} {} {}", e.id, e.category, e.kind, e.actor, e.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let starts: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.category == "decision")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        starts.len(),
        decisions_expected,
        "decisions recorded\n{}",
        story()
    );
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(events.len());
        let followed = &events[start + 1..end];
        let decision = &events[start];
        for category in ["action", "outcome"] {
            assert!(
                followed.iter().any(|e| e.category == category),
                "decision {} ({}) has no {category} after it\n{}",
                decision.id,
                decision.kind,
                story()
            );
        }
        match decision.actor.as_str() {
            "detector" => {
                let confidence = decision.payload.get("confidence").and_then(Json::as_f64);
                assert!(
                    confidence.is_some_and(|c| c > 0.0 && c <= 1.0),
                    "decision {} has no confidence: {:?}",
                    decision.id,
                    decision.payload
                );
            }
            "guardrail" => assert!(
                decision.payload.get("reason").and_then(Json::as_str).is_some(),
                "decision {} has no reason: {:?}",
                decision.id,
                decision.payload
            ),
            other => panic!("decision {} by {other}\n{}", decision.id, story()),
        }
    }
    for e in &events {
        if ["decision", "action", "outcome"].contains(&e.category.as_str()) {
            assert!(
                !e.message.trim().is_empty(),
                "event {} ({}/{}) has no message\n{}",
                e.id,
                e.category,
                e.kind,
                story()
            );
        }
    }
    events.into_iter().filter(|e| e.category == "decision").collect()
}

// ---------------------------------------------------------------------------------------
// The detector and --action kill (the default)
// ---------------------------------------------------------------------------------------

#[test]
fn tight_identical_line_loop_is_killed_with_124() {
    let sandbox = Sandbox::new("act-kill");
    let out = sandbox.run(&run_sh_with(&[], &tight_loop()));
    out.assert_code(124);
    let line = the_stop_line(&out);
    assert!(line.contains("output loop"), "{line}");
    // Besides the stop line, stderr holds at most the notice that output was dropped: after
    // a stop the drain waits 1 s for our reader, and a test harness starved on a busy runner
    // can take longer than that (seen: 515 KB dropped with a load average of 10).
    let others: Vec<String> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| !l.contains("; killed "))
        .collect();
    let dropped = match others.as_slice() {
        [] => false,
        [notice] if notice.starts_with("flowforge: dropped ") && notice.contains("reader") => true,
        _ => panic!("nothing else on stderr\n{}", out.describe()),
    };
    // What the loop printed before the stop passed through, whole lines and nothing else
    // (the last one cut short only where the rest was dropped).
    let text = out.stdout_text();
    let (whole, rest) = text.rsplit_once('\n').unwrap_or(("", &text));
    assert!(
        !whole.is_empty()
            && whole.lines().all(|l| l == LOOP_LINE)
            && (rest.is_empty() || dropped && LOOP_LINE.starts_with(rest)),
        "stdout is not the loop's lines ({} bytes)",
        text.len()
    );

    let decisions = assert_interventions_explained(&sandbox, 1);
    assert_eq!(decisions[0].kind, "runaway");
    let run = last_run(&sandbox.db());
    assert_eq!((run.int_of("exit_code"), run.str_of("outcome")), (124, "stopped"));
}

/// Regression: the stop line embedded the command as typed, so a multi-line `python3 -c`
/// program split the one line into several.
#[test]
fn stop_line_stays_one_line_for_a_multi_line_command() {
    let sandbox = Sandbox::new("act-multiline");
    let program = format!("import sys\nwhile True:\n    print({LOOP_LINE:?}, flush=True)\n");
    let out = run_quietly(
        &sandbox,
        &["run".into(), "--".into(), python().into(), "-c".into(), program],
    );
    out.assert_code(124);
    let lines = out.stderr_lines();
    assert!(
        lines.len() == 1
            && lines[0].starts_with("flowforge: stopped ")
            && lines[0].ends_with("Details: flowforge show 1"),
        "one stop line\n{}",
        out.describe()
    );
}

#[test]
fn healthy_progress_is_left_alone() {
    let sandbox = Sandbox::new("act-healthy");
    let out = sandbox.run(&run_sh_with(
        &[],
        "for i in $(seq 1 40); do echo \"processed $i/40 ($((i*100/40)) %)\"; sleep 0.1; done",
    ));
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "FlowForge spoke up\n{}", out.describe());
    let text = out.stdout_text();
    assert_eq!(text.lines().count(), 40, "{text}");
    assert_eq!(text.lines().last(), Some("processed 40/40 (100 %)"));
    assert_interventions_explained(&sandbox, 0);
}

// ---------------------------------------------------------------------------------------
// --action restart
// ---------------------------------------------------------------------------------------

/// A job that loops on its first two attempts and succeeds on the third; it notes when each
/// attempt started and when each loop got SIGTERM, in the directory given as argument.
const FLAKY_JOB: &str = r#"
import os, signal, sys, time
state = sys.argv[1]
def note(name, text):
    with open(os.path.join(state, name), 'a') as f:
        f.write(text + '\n')
starts = os.path.join(state, 'starts')
attempt = len(open(starts).read().split()) + 1 if os.path.exists(starts) else 1
note('starts', '%.6f' % time.time())
if attempt < 3:
    def stopped(signum, frame):
        note('stops', '%.6f' % time.time())
        os._exit(143)
    signal.signal(signal.SIGTERM, stopped)
    while True:
        sys.stdout.write('ERROR: connection refused, retrying\n')
        sys.stdout.flush()
print('attempt %d: done' % attempt, flush=True)
note('done', str(attempt))
"#;

fn times(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .map(|t| t.parse().expect("a time"))
        .collect()
}

#[test]
fn restart_backs_off_and_recovers() {
    let sandbox = Sandbox::new("act-restart");
    let job = write_file(&sandbox.home, "flaky.py", FLAKY_JOB, 0o644);
    let state = sandbox.home.to_str().expect("utf-8 temp path").to_string();
    let job = job.to_str().expect("utf-8 temp path").to_string();
    let args: Vec<String> = ["run", "--action", "restart", "--", python(), &job, &state]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = run_quietly(&sandbox, &args);
    out.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(sandbox.path("done")).ok().as_deref(),
        Some("3\n"),
        "the third attempt did not finish\n{}",
        out.describe()
    );
    let lines = stop_lines(&out);
    assert_eq!(lines.len(), 2, "two stops\n{}", out.describe());
    assert!(lines[0].contains("restarting in 1.0 s"), "{}", lines[0]);
    assert!(lines[1].contains("restarting in 2.0 s"), "{}", lines[1]);

    // Each attempt starts at least the backoff after the previous one was stopped.
    let (starts, stops) = (times(&sandbox.path("starts")), times(&sandbox.path("stops")));
    assert_eq!(
        (starts.len(), stops.len()),
        (3, 2),
        "starts {starts:?}, stops {stops:?}"
    );
    for (n, backoff) in [(0, 1.0), (1, 2.0)] {
        let waited = starts[n + 1] - stops[n];
        assert!(
            waited >= backoff,
            "attempt {} started {waited:.3} s after the stop, before the {backoff} s backoff",
            n + 2
        );
    }

    let decisions = assert_interventions_explained(&sandbox, 2);
    assert!(decisions.iter().all(|d| d.kind == "runaway"));
    let restarts = events_of_last_run(&sandbox)
        .into_iter()
        .filter(|e| e.category == "action" && e.kind == "restart")
        .count();
    assert_eq!(restarts, 2);
    let run = last_run(&sandbox.db());
    assert_eq!((run.int_of("exit_code"), run.str_of("outcome")), (0, "exited"));
}

#[test]
fn spent_restart_budget_stops_for_good_with_124() {
    let sandbox = Sandbox::new("act-budget");
    let script = format!("echo x >> attempts; {}", tight_loop());
    let out = run_quietly(
        &sandbox,
        &run_sh_with(
            &[
                "--action",
                "restart",
                "--max-restarts",
                "2",
                "--restart-window",
                "5m",
            ],
            &script,
        ),
    );
    out.assert_code(124);
    let attempts = std::fs::read_to_string(sandbox.path("attempts")).unwrap_or_default();
    assert_eq!(attempts.lines().count(), 3, "attempts\n{}", out.describe());
    let lines = stop_lines(&out);
    assert_eq!(lines.len(), 3, "{}", out.describe());
    assert!(
        lines[2].contains("restart budget spent") && lines[2].contains("--max-restarts 2"),
        "the last line says the budget is spent\n{}",
        lines[2]
    );
    assert_interventions_explained(&sandbox, 3);
    let gave_up = events_of_last_run(&sandbox)
        .into_iter()
        .any(|e| e.category == "outcome" && e.kind == "gave_up");
    assert!(gave_up, "no gave_up outcome");
}

// ---------------------------------------------------------------------------------------
// --action alert
// ---------------------------------------------------------------------------------------

#[test]
fn alert_leaves_the_loop_running() {
    let sandbox = Sandbox::new("act-alert");
    // The loop ends by itself after 6 s; the job then says it finished.
    let script = format!("timeout 6 sh -c '{}'; echo finished > finished", tight_loop());
    let out = run_quietly(&sandbox, &run_sh_with(&["--action", "alert"], &script));
    out.assert_code(0);
    assert!(
        sandbox.path("finished").exists(),
        "the job was stopped\n{}",
        out.describe()
    );
    let alerts: Vec<String> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("flowforge: alert:"))
        .collect();
    assert_eq!(alerts.len(), 1, "one alert line\n{}", out.describe());
    assert!(stop_lines(&out).is_empty(), "{}", out.describe());
    assert!(
        alerts[0].contains("leaving it running") && alerts[0].ends_with("Details: flowforge show 1"),
        "{}",
        alerts[0]
    );

    let events = events_of_last_run(&sandbox);
    assert!(
        events.iter().any(|e| e.category == "alert"),
        "no alert event: {events:?}"
    );
    assert_interventions_explained(&sandbox, 1);
    let run = last_run(&sandbox.db());
    assert_eq!((run.int_of("exit_code"), run.str_of("outcome")), (0, "exited"));
}

// ---------------------------------------------------------------------------------------
// Guardrails
// ---------------------------------------------------------------------------------------

#[test]
fn timeout_guardrail_is_124_and_explained() {
    let sandbox = Sandbox::new("act-timeout");
    let out = sandbox.run(&["run", "--timeout", "1s", "--", "sleep", "30"]);
    out.assert_code(124);
    assert!(the_stop_line(&out).contains("timeout"), "{}", out.describe());
    let decisions = assert_interventions_explained(&sandbox, 1);
    assert_eq!(decisions[0].kind, "timeout");
    let run = last_run(&sandbox.db());
    assert_eq!((run.int_of("exit_code"), run.str_of("outcome")), (124, "timeout"));
}

#[test]
fn max_rss_guardrail_stops_a_memory_hog() {
    let sandbox = Sandbox::new("act-max-rss");
    let hog = "import time; b = b'x' * (200 << 20); print('allocated', flush=True); time.sleep(30)";
    let out = sandbox.run(&["run", "--max-rss", "50M", "--", python(), "-c", hog]);
    out.assert_code(124);
    let line = the_stop_line(&out);
    assert!(line.contains("memory") && line.contains("--max-rss"), "{line}");
    let decisions = assert_interventions_explained(&sandbox, 1);
    assert_eq!(decisions[0].kind, "max_rss");
}

#[test]
fn idle_timeout_stops_a_silent_job() {
    let sandbox = Sandbox::new("act-idle");
    let out = sandbox.run(&run_sh_with(&["--idle-timeout", "2s"], "echo start; sleep 30"));
    out.assert_code(124);
    assert_eq!(out.stdout, b"start\n");
    assert!(the_stop_line(&out).contains("no output"), "{}", out.describe());
    let decisions = assert_interventions_explained(&sandbox, 1);
    assert_eq!(decisions[0].kind, "idle_timeout");
}

#[test]
fn idle_timeout_counts_bytes_without_newlines() {
    let sandbox = Sandbox::new("act-dots");
    let out = sandbox.run(&run_sh_with(
        &["--idle-timeout", "2s"],
        "i=0; while [ $i -lt 10 ]; do printf .; sleep 0.5; i=$((i+1)); done",
    ));
    out.assert_code(0);
    assert_eq!(out.stdout, b"..........");
    assert!(out.stderr.is_empty(), "{}", out.describe());
    assert_interventions_explained(&sandbox, 0);
}

// ---------------------------------------------------------------------------------------
// Bad values
// ---------------------------------------------------------------------------------------

#[test]
fn bad_action_and_limit_values_are_125_with_one_line() {
    let sandbox = Sandbox::new("act-usage");
    for (flag, value, example) in [
        ("--threshold", "2", "--threshold 0.8"),
        ("--max-rss", "lots", "--max-rss 512M"),
        ("--idle-timeout", "x", "--idle-timeout 10m"),
        ("--action", "nuke", "--action kill"),
    ] {
        let out = sandbox.run(&["run", flag, value, "--", "touch", "ran"]);
        out.assert_code(125);
        let lines = out.stderr_lines();
        assert_eq!(lines.len(), 1, "{flag} {value}\n{}", out.describe());
        assert!(
            lines[0].starts_with(&format!("flowforge: invalid {flag}")) && lines[0].contains(example),
            "{flag} {value}: the line names the flag and gives an example\n{}",
            lines[0]
        );
        assert!(!sandbox.path("ran").exists(), "{flag} {value}: the command ran");
    }
    assert!(!sandbox.db().exists(), "a usage error recorded a run");
}
