//! `flowforge replay` end to end: a fixture run live with `--record` and the replay of its
//! recording reach the same decision within one tick with the same reason; saved logs in
//! every input format give exit 1 for a loop and 0 for healthy output; and bad input (invalid
//! UTF-8, NUL bytes, a 10 MiB line without a newline, a cut recording, a broken cast) is a
//! clear message and exit 2 where it cannot be read — never a panic.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn replay(sandbox: &Sandbox, args: &[&str]) -> Outcome {
    let mut all = vec!["replay"];
    all.extend_from_slice(args);
    sandbox.run(&all)
}

/// `tests/data/NAME`: a real tool's output saved on this machine.
fn real_log(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Replays the real log `tests/data/NAME` as plain text at `rate` lines/s and asserts that
/// FlowForge would have left it alone.
fn assert_left_alone(sandbox: &Sandbox, name: &str, rate: &str) -> Outcome {
    let log = real_log(name);
    let out = replay(sandbox, &["--rate", rate, &log.to_string_lossy()]);
    assert_eq!(out.code(), 0, "{name} at {rate} lines/s: {}", out.describe());
    out
}

/// Replays `tests/data/NAME` (a recording, at its own times) and asserts that FlowForge
/// would have stopped it; returns the replay's outcome.
fn replay_stopped(sandbox: &Sandbox, name: &str) -> Outcome {
    let out = replay(sandbox, &[&real_log(name).to_string_lossy()]);
    assert_eq!(out.code(), 1, "{name}: {}", out.describe());
    out
}

/// `assert_left_alone`, and the protection that held it down says `words`.
fn assert_left_alone_as(sandbox: &Sandbox, name: &str, rate: &str, words: &str) {
    let out = assert_left_alone(sandbox, name, rate);
    assert!(
        out.stdout_text().contains(words),
        "{name} at {rate} lines/s, not \"{words}\": {}",
        out.describe()
    );
}

/// Replays the real log `tests/data/NAME` as plain text at `rate` lines/s and asserts that
/// FlowForge would have stopped it; returns the reason it gives.
fn assert_stopped(sandbox: &Sandbox, name: &str, rate: &str) -> String {
    let log = real_log(name);
    let out = replay(sandbox, &["--rate", rate, &log.to_string_lossy()]);
    assert_eq!(out.code(), 1, "{name} at {rate} lines/s: {}", out.describe());
    intervention(&out).1
}

/// The time (s) of the recording's last tick: the one at which a stopped run decided.
fn last_tick(recording: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(recording);
    let micros: u64 = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("C "))
        .expect("the recording has ticks")
        .parse()
        .expect("a tick time");
    micros as f64 / 1e6
}

/// `would intervene at line N (T s): REASON` → (T, REASON).
fn intervention(out: &Outcome) -> (f64, String) {
    let text = out.stdout_text();
    let line = text
        .lines()
        .find(|l| l.starts_with("would intervene at line "))
        .unwrap_or_else(|| panic!("no intervention\n{}", out.describe()));
    let open = line.find('(').expect("(");
    let close = line.find(" s): ").expect(" s): ");
    let at: f64 = line[open + 1..close].parse().expect("seconds");
    (at, line[close + 5..].to_string())
}

/// The replay `out` of the live recording `tests/data/NAME` decided within one tick of the
/// live run's decision (the recording's last tick); returns the reason.
fn assert_decided_as_live(out: &Outcome, name: &str) -> String {
    let (at, why) = intervention(out);
    let live = last_tick(&std::fs::read(real_log(name)).expect("recording"));
    assert!(
        (at - live).abs() <= 0.25,
        "{name}: replay decided at {at} s, live at {live} s"
    );
    why
}

fn live_and_replay_agree(name: &str) {
    let sandbox = Sandbox::new("replay-live");
    let recording = sandbox.path("run.ffrec");
    let record = recording.to_string_lossy().into_owned();
    let path = fixture(name);
    let mut command = sandbox.command(&["run", "--record", &record, "--", &path.to_string_lossy()]);
    command.stdout(Stdio::null());
    let live = sandbox.spawn(command).finish();
    sandbox.assert_no_survivors();
    assert_eq!(live.code(), 124, "{name} is stopped live\n{}", live.describe());
    let bytes = std::fs::read(&recording).expect("the recording exists");
    assert!(bytes.ends_with(b"E\n"), "the recording ends cleanly");
    let decided_live = last_tick(&bytes);

    let replayed = replay(&sandbox, &[&record]);
    assert_eq!(replayed.code(), 1, "{}", replayed.describe());
    let (decided_replay, reason) = intervention(&replayed);
    assert!(
        (decided_replay - decided_live).abs() <= 0.25 + 1e-6,
        "{name}: live {decided_live} s, replay {decided_replay} s"
    );
    let stop = live
        .stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("flowforge: stopped "))
        .expect("a stop line");
    assert!(
        stop.contains(&reason),
        "{name}: same reason\nlive:   {stop}\nreplay: {reason}"
    );
}

#[test]
fn a_recorded_shell_loop_replays_to_the_same_decision() {
    live_and_replay_agree("runaway-retry-counter.sh");
}

#[test]
fn a_recorded_agent_loop_replays_to_the_same_decision() {
    live_and_replay_agree("runaway-agent-lowcpu.py");
}

#[test]
fn a_recorded_healthy_job_replays_clean() {
    let sandbox = Sandbox::new("replay-healthy");
    let record = sandbox.path("ok.ffrec").to_string_lossy().into_owned();
    let script =
        "for i in 1 2 3 4 5 6 7 8; do echo \"copied table t$i: $((i * 1000)) rows\"; sleep 0.1; done";
    let live = sandbox.run(&["run", "--record", &record, "--", "sh", "-c", script]);
    assert_eq!(live.code(), 0, "{}", live.describe());
    let out = replay(&sandbox, &[&record]);
    assert_eq!(out.code(), 0, "{}", out.describe());
    assert!(
        out.stdout_text().starts_with("would not intervene: 8 lines"),
        "{}",
        out.describe()
    );
}

#[test]
fn saved_logs_in_every_format_give_the_verdict() {
    let sandbox = Sandbox::new("replay-formats");
    let looping: String = (0..200)
        .map(|_| "ERROR: connection refused, retrying\n")
        .collect();
    let log = sandbox.path("loop.log");
    std::fs::write(&log, &looping).expect("write");
    let out = replay(&sandbox, &[&log.to_string_lossy()]);
    assert_eq!(out.code(), 1, "{}", out.describe());
    assert!(
        out.stdout_text().contains("same line repeated"),
        "{}",
        out.describe()
    );

    let healthy: String = (0..200)
        .map(|i| format!("processed record {i} of 200\n"))
        .collect();
    let log = sandbox.path("ok.log");
    std::fs::write(&log, &healthy).expect("write");
    let out = replay(&sandbox, &["--explain", &log.to_string_lossy()]);
    assert_eq!(out.code(), 0, "{}", out.describe());
    assert!(out.stdout_text().contains("confidence"), "--explain prints ticks");

    // The same loop as an asciinema cast and as a typescript with its timing file.
    let mut cast = String::from("{\"version\": 2, \"width\": 80, \"height\": 24}\n");
    let mut timing = String::new();
    for i in 0..200 {
        cast.push_str(&format!(
            "[{:.2}, \"o\", \"ERROR: connection refused, retrying\\r\\n\"]\n",
            i as f64 * 0.05
        ));
        timing.push_str("0.05 36\n");
    }
    let path = sandbox.path("loop.cast");
    std::fs::write(&path, cast).expect("write");
    assert_eq!(replay(&sandbox, &[&path.to_string_lossy()]).code(), 1);
    let (typescript, timing_file) = (sandbox.path("typescript"), sandbox.path("timing"));
    std::fs::write(
        &typescript,
        format!("Script started on 2024-06-01 10:00:00+00:00\n{looping}"),
    )
    .expect("write");
    std::fs::write(&timing_file, timing).expect("write");
    let out = replay(
        &sandbox,
        &[
            "--timing",
            &timing_file.to_string_lossy(),
            &typescript.to_string_lossy(),
        ],
    );
    assert_eq!(out.code(), 1, "{}", out.describe());

    // stdin.
    let mut command = sandbox.command(&["replay", "-"]);
    command.stdin(Stdio::piped());
    let mut running = sandbox.spawn(command);
    running.write_stdin(looping.as_bytes());
    running.close_stdin();
    assert_eq!(running.finish().code(), 1);
}

#[test]
fn bad_input_is_a_message_never_a_panic() {
    let sandbox = Sandbox::new("replay-bad");
    let write = |name: &str, bytes: &[u8]| {
        let path = sandbox.path(name);
        std::fs::write(&path, bytes).expect("write");
        path.to_string_lossy().into_owned()
    };
    // Readable, whatever the bytes: the detector skips what is not text, as it does live.
    let mut binary = Vec::new();
    for i in 0..5000u32 {
        binary.extend_from_slice(&[0xff, 0xfe, 0, (i % 251) as u8, b'\n']);
    }
    let out = replay(&sandbox, &[&write("binary.log", &binary)]);
    assert_eq!(out.code(), 0, "{}", out.describe());
    let huge = vec![b'x'; 10 * 1024 * 1024];
    let out = replay(&sandbox, &[&write("huge.log", &huge)]);
    assert_eq!(out.code(), 0, "{}", out.describe());
    assert!(
        out.stdout_text().starts_with("would not intervene: 1 line over"),
        "{}",
        out.describe()
    );
    let out = replay(&sandbox, &[&write("empty.log", b"")]);
    assert_eq!(out.code(), 0, "{}", out.describe());

    // Unreadable: exit 2 and a message naming the place.
    let cut = write(
        "cut.ffrec",
        b"flowforge-recording 1\nA 1\nL 1500000 o 0 40\nERROR: conn",
    );
    let out = replay(&sandbox, &[&cut]);
    assert_eq!(out.code(), 2, "{}", out.describe());
    assert!(out.stderr_text().contains("truncated"), "{}", out.describe());
    let cast = write(
        "bad.cast",
        b"{\"version\": 2, \"width\": 80}\n[0.1, \"o\", \"ok\\n\"]\n[0.2, \"o\", \"cut",
    );
    let out = replay(&sandbox, &[&cast]);
    assert_eq!(out.code(), 2, "{}", out.describe());
    assert!(out.stderr_text().contains("cast line 3"), "{}", out.describe());
    let out = replay(&sandbox, &[&sandbox.path("missing.log").to_string_lossy()]);
    assert_eq!(out.code(), 2, "{}", out.describe());
    let timing = write("bad.timing", b"0.1 5\nnonsense\n");
    let out = replay(&sandbox, &["--timing", &timing, &write("ts", b"hello\nworld\n")]);
    assert_eq!(out.code(), 2, "{}", out.describe());
    assert!(out.stderr_text().contains("timing line 2"), "{}", out.describe());
}

#[test]
fn an_importer_skipping_rows_is_left_alone() {
    // The output of fixtures/healthy-importer-skipping-invalid-rows.py from a live run that
    // stopped it (row after row failing the same way, the bad value masked in three shapes
    // so the failing line reads as a pass of three): each line is the next row, not an
    // attempt. Replayed as plain text at the fixture's pace.
    let sandbox = Sandbox::new("replay-importer");
    assert_left_alone(&sandbox, "importer-skipping-rows.log", "30");
    // `flowforge run --record` of the same fixture on a busy machine, which stopped it after
    // 15.8 s without an exact cycle ("299 lines in 10.0 s repeat with period 1", error
    // wording): the bad dates in four shapes and the merge lines between them left the
    // repetition path reading the failing lines' row numbers as no progress. Its real times.
    let recording = real_log("importer-skipping-rows-live.ffrec");
    let out = replay(&sandbox, &[&recording.to_string_lossy()]);
    assert_eq!(out.code(), 0, "{}", out.describe());
}

#[test]
fn a_compiler_warning_flood_is_left_alone() {
    // 361 lines of a real CPython build log (`make` with GCC 12): one -Wstringop-overflow
    // warning reported at every expansion site of a macro, the same six-line block (four
    // lines of text, two of carets) 55 times while the site walks through the function.
    // Replayed at the default 20 lines/s it is a 4-line cycle for 16 s, which main's
    // detector stopped after 2 s; the places it names tell a walk from a loop.
    let sandbox = Sandbox::new("replay-gcc-flood");
    assert_left_alone_as(
        &sandbox,
        "gcc-macro-warning-flood.log",
        "20",
        "one place or item after another",
    );
}

#[test]
fn lint_reports_in_stylish_format_are_left_alone() {
    // ESLint 8 on this machine, `eslint` with its default stylish format: each file's path,
    // then one `LINE:COL  severity  message  rule` line per problem. Two excerpts: vendored
    // files (a 201-line stretch of one file's `Extra semicolon` warnings, its columns
    // taking a few values in turn), stopped at 5 and 10 lines/s by main's detector, which
    // read `7:30` as a clock time and the rest as a counted loop; and generated files that
    // all break the same rules at the same places, stopped at 10-50 lines/s as "8-line
    // block repeated with 1 line reworded". Each block is the next file.
    // yamllint's standard format, the same shape, over GitHub workflow files of vendored
    // crates: one file's `wrong indentation` errors, 19 in a row, stopped at 5 and 10 lines/s.
    let sandbox = Sandbox::new("replay-eslint");
    for (log, rate) in [
        ("eslint-stylish-vendor.log", "5"),
        ("eslint-stylish-vendor.log", "10"),
        ("yamllint-workflows.log", "5"),
        ("yamllint-workflows.log", "10"),
    ] {
        assert_left_alone(&sandbox, log, rate);
    }
    assert_left_alone_as(
        &sandbox,
        "eslint-stylish-generated.log",
        "20",
        "each pass names a new file",
    );
}

#[test]
fn a_parallel_terraform_apply_is_left_alone() {
    // Terraform 1.11 on this machine applying 27 `terraform_data` resources with
    // `local-exec` provisioners, four at a time: each resource prints the same six lines
    // (Creating, Provisioning, Executing, its command's output, Creation complete), its index
    // in the address taking a new value each time in no fixed order. Stopped live after
    // 16.5 s (`6-line cycle repeated 5x`) and, replayed at 10 lines/s, at line 225.
    let sandbox = Sandbox::new("replay-terraform");
    for rate in ["10", "20"] {
        assert_left_alone(&sandbox, "terraform-apply-parallel.log", rate);
    }
}

#[test]
fn a_verbose_unittest_run_is_left_alone() {
    // 181 lines of `python3 -m test -v test_re` on this machine's CPython 3.11: regression
    // tests named after bug numbers, sorted as text (`test_bug_117612` before
    // `test_bug_1661`), one `... ok` line each. Replayed at 10 lines/s the run of them was
    // stopped as "same line repeated"; each line is another test.
    let sandbox = Sandbox::new("replay-unittest");
    assert_left_alone(&sandbox, "unittest-verbose-re.log", "10");
}

#[test]
fn a_resolver_backtracking_through_versions_is_left_alone() {
    // pip 23.2 on this machine, `pip install --dry-run boto3 'botocore<1.20'`: the resolver
    // downloads one boto3 release after another, newest first (`boto3-1.44.8`, `.7`, ...,
    // `1.43.127`, ...), each with the same progress bar, looking for one that accepts the
    // old botocore. It ends (it runs out of releases or finds one); replayed at 10 lines/s
    // it was stopped at line 80 as a "2-line cycle", the versions masked away.
    let sandbox = Sandbox::new("replay-pip");
    for rate in ["10", "50"] {
        assert_left_alone_as(&sandbox, "pip-resolver-backtracking.log", rate, "versions");
    }
}

#[test]
fn a_parametrized_test_named_retry_is_left_alone() {
    // pytest 9.2 `-v -rs` on this machine over 220 parametrized cases, the last 40 of a
    // test named `test_flaky_retry` that skips every seventh case: six `PASSED` lines and
    // one `SKIPPED (needs network)` in turn, the case number and the percentage advancing.
    // Replayed at 20 lines/s it was stopped at line 225 as a "7-line cycle": `retry` in the
    // test's name made its numbers read as attempt numbers.
    let sandbox = Sandbox::new("replay-pytest-retry");
    for rate in ["10", "20", "50"] {
        assert_left_alone(&sandbox, "pytest-parametrized-retry.log", rate);
    }
}

#[test]
fn passing_tests_named_after_failures_are_left_alone() {
    // Jest 30 `--verbose` on this machine: 100 `test.each` cases, 60 of them named
    // `retries page N after a timeout`, each reported `✓ ... (NN ms)`. Replayed at 5 and
    // 20 lines/s it was stopped as "same line repeated, error wording": the words of a
    // test's name (`retries`, `timeout`) read as a failing retry, its number as an attempt.
    let sandbox = Sandbox::new("replay-jest");
    for rate in ["5", "20", "50"] {
        assert_left_alone(&sandbox, "jest-verbose-failure-words.log", rate);
    }
}

#[test]
fn a_java_service_crash_loop_longer_than_the_tail_tracker_is_stopped() {
    // A Spring-style service on this machine's Java 17, restarted by `while true; do java
    // ...; echo "service exited with code $?, restarting"; sleep 0.5; done` while what it
    // connects to is down: a banner, eight bean lines and a 120-frame `ConnectException`
    // trace, 134 lines a pass, more than the 128 lines the tail tracker compares. It ran
    // unstopped for 70 s; the sampled tracker finds it. Replayed at a JVM's pace (the
    // live run printed about 200 lines a second).
    let sandbox = Sandbox::new("replay-java");
    for rate in ["100", "200"] {
        let log = real_log("java-service-crash-loop.log");
        let out = replay(&sandbox, &["--rate", rate, &log.to_string_lossy()]);
        assert_eq!(out.code(), 1, "at {rate} lines/s: {}", out.describe());
        let (at, reason) = intervention(&out);
        assert!(reason.contains("134-line cycle"), "{reason}");
        assert!(at <= 5.0, "stopped after {at} s");
    }
}

#[test]
fn boosting_warnings_between_evaluation_lines_are_left_alone() {
    // LightGBM 4.7 on this machine, from a script that trains 3000 rounds on 300 rows with
    // `verbose=1`, `num_leaves=63`, `min_data_in_leaf=20` and `log_evaluation(100)`:
    // every tree runs out of splits, so `[LightGBM] [Warning] No further splits with
    // positive gain, best gain: -inf` a hundred times between two `[100] valid_0's l2: x`
    // lines. Main's detector stopped it at 200 lines/s after 2 s (`same line repeated
    // 389x`), when the evaluation line had returned three times and its round counter risen
    // twice; the same script on 100,000 rows (168 lines/s) was stopped live after 3.3 s.
    // `lightgbm-no-split-warnings-live.ffrec` is `flowforge run --record` of the same script
    // on 100,000 rows (3000 rounds in 26 s, 120 lines/s, a core busy): its real times and
    // CPU samples, which main's detector would have stopped after 4.25 s.
    let sandbox = Sandbox::new("replay-lightgbm");
    for rate in ["200", "1000"] {
        assert_left_alone(&sandbox, "lightgbm-no-split-warnings.log", rate);
    }
    assert_left_alone(&sandbox, "lightgbm-no-split-warnings-live.ffrec", "20");
}

#[test]
fn a_grid_search_warning_at_every_fit_is_left_alone() {
    // scikit-learn 1.9 on this machine: the first 3600 lines of `GridSearchCV(
    // LogisticRegression(solver="lbfgs"), grid, cv=5, n_jobs=2, verbose=3)` over 200
    // candidates with `max_iter` 5-40, so every fit warns `ConvergenceWarning: lbfgs failed
    // to converge` (eight lines on stderr) before its `[CV 2/5] END C=..., score=...` line.
    // Main's detector stopped it at 20 and 50 lines/s (`9-line cycle repeated 4x`, error
    // wording): the folds of the two workers finish out of order, so the done part fell.
    // Paths anonymised.
    let sandbox = Sandbox::new("replay-gridsearch");
    for rate in ["20", "50", "200"] {
        assert_left_alone(&sandbox, "sklearn-gridsearch-convergence.log", rate);
    }
}
#[test]
fn servers_restarted_by_a_shell_loop_while_their_port_is_taken_are_stopped() {
    // PostgreSQL 15 and Redis 7 on this machine, each run by `while true; do ...; sleep 1;
    // done` while another process held its port (and, for PostgreSQL, by a loop without
    // sleep while another postmaster held the data directory's lock file). Every line
    // carries the pid of the process that printed it, in PostgreSQL's log prefix
    // (`... UTC [18218] FATAL:`) or first on Redis's line (`18218:M`), rising with every
    // restart: main's detector read it as a counter advancing and left all three alone at
    // 20 lines/s, and at 6 lines/s (about the live pace of a pass a second) took
    // PostgreSQL's hint to "wait a few seconds and retry" for the job waiting on purpose.
    let sandbox = Sandbox::new("replay-port-taken");
    for (log, rate, loop_named) in [
        ("postgres-port-in-use.log", "20", "6-line cycle"),
        ("postgres-port-in-use.log", "6", "a re-run loop"),
        ("postgres-lock-file-held.log", "20", "2-line cycle"),
        ("redis-server-port-in-use.log", "20", "6-line cycle"),
        ("redis-server-port-in-use.log", "6", "a re-run loop"),
    ] {
        let reason = assert_stopped(&sandbox, log, rate);
        assert!(reason.contains(loop_named), "{log} at {rate} lines/s: {reason}");
    }
}

#[test]
fn python_tracebacks_re_run_every_second_are_stopped() {
    // `while true; do python3 -c '...'; sleep 1; done` against a closed port, on this
    // machine's CPython 3.11: urllib's two chained tracebacks (44 lines) and requests' three
    // (66 lines, through urllib3), about one pass every 1.5 s live. Read as counts, the
    // frames' `line N` made the frames that share a template seem to change within every
    // pass, so main's detector took the block for a display redrawn and left it alone.
    let sandbox = Sandbox::new("replay-tracebacks");
    for (log, rate, lines) in [
        ("python-urllib-connection-refused.log", "20", "36-line"),
        ("python-urllib-connection-refused.log", "40", "36-line"),
        ("python-requests-connection-refused.log", "40", "50-line"),
    ] {
        let reason = assert_stopped(&sandbox, log, rate);
        assert!(
            reason.contains(&format!("a re-run loop: the same {lines} block")),
            "{log} at {rate} lines/s: {reason}"
        );
    }
}

#[test]
fn app_servers_that_fail_to_start_again_and_again_are_stopped() {
    // Two more crash loops run here by `while true; do ...; sleep 1; done`: gunicorn 27
    // whose app fails to import (`Worker failed to boot`, 45 lines a pass with the worker's
    // traceback, the master's and worker's pids new every pass), and Node 20's `listen
    // EADDRINUSE` (an unhandled 'error' event, 20 lines). Both were stopped by main's
    // detector too; they keep the pid in gunicorn's prefix (now an identifier) from hiding
    // the restart loop it shows.
    let sandbox = Sandbox::new("replay-app-servers");
    for (log, rate, loop_named) in [
        ("gunicorn-worker-failed-to-boot.log", "20", "a restart loop"),
        ("node-listen-eaddrinuse.log", "20", "a re-run loop"),
    ] {
        let reason = assert_stopped(&sandbox, log, rate);
        assert!(reason.contains(loop_named), "{log} at {rate} lines/s: {reason}");
    }
}

#[test]
fn a_database_server_logging_its_clients_statements_is_left_alone() {
    // PostgreSQL 15 on this machine in the foreground, under pgbench: `log_statement=all`
    // (the TPC-B-like transaction as fast as it goes, and at `-R 2`; `-S -M prepared` with
    // its `execute`/`DETAIL: parameters` pairs), `log_min_duration_statement=0` (the same
    // transaction; `-S`), and both at once with two clients. Each was stopped live within
    // 5-10 s as a 7- or 14-line cycle (`-S`: "same line repeated"), and replayed at 20
    // lines/s (all but the two-client log at 10 too); the server records the statements its
    // client sends, each with new values.
    let sandbox = Sandbox::new("replay-postgres");
    for log in [
        "postgres-log-statement-pgbench.log",
        "postgres-log-statement-pgbench-rate2.log",
        "postgres-log-statement-prepared-select.log",
        "postgres-log-min-duration-pgbench.log",
        "postgres-log-min-duration-select-only.log",
        "postgres-statement-and-duration-two-clients.log",
    ] {
        for rate in ["10", "20"] {
            assert_left_alone(&sandbox, log, rate);
        }
    }
}

#[test]
fn key_value_servers_tracing_their_clients_are_left_alone() {
    // Redis 7.0 and memcached 1.6 on this machine, each the wrapped job while a client loads
    // it: `redis-server --loglevel verbose` (redis-benchmark's connections, then one
    // `redis-cli` connection after another), `redis-cli monitor` (redis-benchmark with random
    // keys; an application script bumping counters) and `memcached -vv` (a cache-aside
    // client: get, set on a miss). All were stopped live within 4-14 s ("2-line cycle",
    // "same line repeated"), and replayed at 10 and 20 lines/s: each line is a command a
    // client sent or its connection, named by the client's address or descriptor.
    let sandbox = Sandbox::new("replay-kv-servers");
    for log in [
        "redis-verbose-benchmark-clients.log",
        "redis-verbose-short-connections.log",
        "redis-monitor-benchmark.log",
        "redis-monitor-app-script.log",
        "memcached-vv-cache-aside.log",
    ] {
        for rate in ["10", "20"] {
            assert_left_alone(&sandbox, log, rate);
        }
    }
}

#[test]
fn a_queue_worker_logging_each_job_done_is_left_alone() {
    // A Python worker on a Redis list (tests' own, `BRPOP` in a loop) logging one line per
    // job, `job <uuid> (send_email) done in 2.1 ms`, while a producer pushed 20 jobs a
    // second: stopped live after 4.3 s as "same line repeated", and replayed at 10 lines/s.
    let sandbox = Sandbox::new("replay-queue-worker");
    assert_left_alone_as(&sandbox, "queue-worker-jobs-done.log", "10", "jobs done");
}

#[test]
fn a_query_redrawn_by_psql_watch_is_left_alone() {
    // A FlowForge recording (`--record`, its lines' own times) of `psql` on this machine
    // running `select count(*), sum(abalance), now() from pgbench_accounts \watch 0.2` for
    // 25 s while pgbench updated the table: stopped after 2.5 s live and at 3.75 s of the
    // recording by main's detector (`4-line cycle repeated 18x`). Its header says `(every
    // 0.2s)` and the passes keep to it. (A recording replays at its own times; the rate is
    // not used.)
    let sandbox = Sandbox::new("replay-psql-watch");
    assert_left_alone_as(
        &sandbox,
        "psql-watch-query.ffrec",
        "20",
        "a display redrawn every 0.2 s",
    );
}

/// Replays a live recording of a real watch-mode loop and asserts it is stopped no later
/// than the live run stopped it (within a tick), naming the cycle. The recording ends where
/// the detector of its day stopped it; a later detector may decide sooner, never later
/// (`live_and_replay_agree` checks the same decision within a tick on runs made now).
fn assert_recording_stopped_as_live(name: &str) -> String {
    let sandbox = Sandbox::new("replay-watch-loop");
    let out = replay_stopped(&sandbox, name);
    let (at, why) = intervention(&out);
    let live = last_tick(&std::fs::read(real_log(name)).expect("recording"));
    assert!(
        at <= live + 0.25,
        "{name}: replay decided at {at} s, live at {live} s"
    );
    assert!(why.contains("-line cycle repeated"), "{name}: {why}");
    why
}

#[test]
fn watch_mode_tools_rebuilding_or_restarting_on_their_own_writes_are_stopped() {
    // Real webpack 5 `--watch` on this machine with a plugin that writes a build stamp into
    // the source tree after every build: it rebuilt 16 times in 2 s, each time "compiled
    // successfully in N ms", and the live run stopped it after 5.8 s.
    assert_recording_stopped_as_live("webpack-watch-rebuild-loop-live.ffrec");
    // Real nodemon 3 watching a server that writes its state file next to its source on
    // start: "restarting due to changes...", "starting `node app/server.js`", a new port
    // each time; stopped live after 5.6 s.
    let why = assert_recording_stopped_as_live("nodemon-restart-loop-live.ffrec");
    assert!(why.contains("tree CPU"), "{why}");
}

/// How many lines of the recording `tests/data/NAME`, among its first `lines`, contain
/// `marker`: the passes a loop had begun when the replay decided at that line.
fn passes_begun(name: &str, marker: &str, lines: usize) -> usize {
    let bytes = std::fs::read(real_log(name)).expect("the recording exists");
    let mut rest = &bytes[..];
    let (mut seen, mut passes) = (0, 0);
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 1..];
        if let Some(fields) = head.strip_prefix("L ") {
            let len: usize = fields
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a line record's length");
            let payload = String::from_utf8_lossy(&rest[..len]).into_owned();
            rest = &rest[len + 1..];
            seen += 1;
            passes += usize::from(payload.contains(marker));
            if seen == lines {
                break;
            }
        }
    }
    passes
}

/// `would intervene at line N (...)` → N.
fn intervention_line(out: &Outcome) -> usize {
    let text = out.stdout_text();
    text.lines()
        .find_map(|l| l.strip_prefix("would intervene at line "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no intervention\n{}", out.describe()))
}

#[test]
fn clients_retrying_a_refused_connection_every_few_seconds_are_stopped_within_five_passes() {
    // `flowforge run --record` on this machine of a Python worker on redis-py 8.1 whose
    // retry loop logs `redis unavailable` with the full traceback (`ConnectionError: Error
    // 111 connecting to localhost:6379. Connection refused.`) and sleeps, while no Redis
    // runs: a pass every 4-5 s (its connect retries take about 3.7 s, then `sleep(1)`), and
    // every 8-10 s (`sleep` of 4-6 s). Main's detector left both alone for the whole 90 s
    // (`heartbeat: 0.1 passes/s`): below 0.3 passes a second it judged nothing. Paths
    // anonymised.
    let sandbox = Sandbox::new("replay-redis-py-retry");
    for log in [
        "redis-py-retry-refused-live.ffrec",
        "redis-py-retry-refused-slow-live.ffrec",
    ] {
        let out = replay_stopped(&sandbox, log);
        let (_, reason) = intervention(&out);
        assert!(reason.contains("a re-run loop: the same"), "{log}: {reason}");
        let passes = passes_begun(log, "ERROR worker: redis unavailable", intervention_line(&out));
        assert!(
            (4..=5).contains(&passes),
            "{log}: stopped after {passes} passes: {reason}"
        );
    }
}

#[test]
fn system_samplers_replayed_from_a_pasted_log_are_left_alone() {
    // sysstat 12.6 and PostgreSQL 15 / Redis 7 on this machine, one sample a second, saved
    // as a user pastes them: `iostat -x 1` (an `avg-cpu` row and a `vda` row under their
    // headers), `mpstat 1`, `mpstat -P ALL 1`, `sar -u 1`, `sar -n DEV 1` (an idle
    // interface's row all zeros beside the busy one's), `pgbench -c 2 -P 1 -T 40` and the
    // final lines of `redis-benchmark -q -t set,get -l`, and procps' `free -w -s 1`.
    // Replayed at 10 and 20 lines/s each was stopped by main's detector within 2-2.75 s
    // (`free` at 10 only; "same line repeated", "4-line cycle"): its rows repeat exactly, but in each of them several readings move up and
    // down on their own, where a loop moves a clock or one latency at most.
    let sandbox = Sandbox::new("replay-samplers");
    for log in [
        "iostat-x-1.log",
        "mpstat-1.log",
        "mpstat-all-cpus-1.log",
        "sar-u-1.log",
        "sar-n-dev-1.log",
        "pgbench-progress-1s.log",
        "redis-benchmark-q-set-get-loop.log",
        "free-w-s1.log",
    ] {
        for rate in ["10", "20"] {
            assert_left_alone(&sandbox, log, rate);
        }
    }
    assert_left_alone_as(
        &sandbox,
        "pgbench-progress-1s.log",
        "20",
        "measurements that vary on every line",
    );
    // `flowforge run --record` of `redis-benchmark -q -t set,get -n 5000 -l` itself, its
    // `rps=... (overall: ...) avg_msec=...` line redrawn with `\r` about ten times a test:
    // main's detector stopped it live after 9.0 s and this recording at 3.75 s ("4-line
    // cycle repeated 6×", a core busy), and left it alone live for 20 s with this change.
    assert_left_alone(&sandbox, "redis-benchmark-set-get-loop-live.ffrec", "20");
}

#[test]
fn a_loop_printing_one_failure_with_a_varying_latency_is_stopped() {
    // The loops a sampler must not be mistaken for, run on this machine: `curl -sS
    // --connect-timeout 0.03` against an unreachable address in a shell loop (`curl: (7)
    // Failed to connect to 192.0.2.1 port 8080 after 2 ms: ...`, the milliseconds varying),
    // and a Python client against a closed port logging `<ts> ERROR connection refused
    // (took 0.3 ms) attempt=17`: a time, a latency and an attempt counter move, nothing
    // else.
    let sandbox = Sandbox::new("replay-latency-loops");
    for log in ["curl-connect-failed-loop.log", "connect-refused-took-loop.log"] {
        for rate in ["10", "20"] {
            let reason = assert_stopped(&sandbox, log, rate);
            assert!(
                reason.contains("same line repeated"),
                "{log} at {rate} lines/s: {reason}"
            );
        }
    }
}

#[test]
fn a_java_http_client_retrying_forever_is_stopped_within_five_alike_passes() {
    // `flowforge run --record` on this machine's Java 17 of a sync job that fetches a stock
    // list with java.net.http.HttpClient.sendAsync from a service that is down and, on
    // failure, prints the stack trace and schedules the next try: every 2 s, and every 5 s
    // (twice). Its log names the thread that ran each step (`pool-1-thread-3`, `Thread-12`,
    // new or other every pass) and the trace depends on the thread that failed: 27 lines
    // most passes, 29 or 44 with other frames and `... N more` counts now and then. Main's
    // detector left the 2 s loop alone for 90 s (`heartbeat`: the thread numbers read as
    // names changing); at 5 s the shapes broke every exact cycle.
    let sandbox = Sandbox::new("replay-java-httpclient");
    for (log, path) in [
        (
            "java-httpclient-retry-live.ffrec",
            "a re-run loop: the same 27-line block",
        ),
        ("java-httpclient-retry-two-shapes-live.ffrec", "alike passes"),
        ("java-httpclient-retry-three-shapes-live.ffrec", "alike passes"),
    ] {
        let out = replay_stopped(&sandbox, log);
        let (_, reason) = intervention(&out);
        assert!(reason.contains(path), "{log}: {reason}");
        // The first attempt runs on `main` and begins with another line; the retries after
        // it are the loop's passes.
        let retries = passes_begun(log, "INFO [pool-1-thread-", intervention_line(&out));
        assert!(
            (4..=5).contains(&retries),
            "{log}: stopped after {retries} retries: {reason}"
        );
    }
}

#[test]
fn strace_of_an_idle_server_waiting_on_its_timer_is_left_alone() {
    // `flowforge run --record ... -- strace -tt -f -p PID` on this machine, PID a Python
    // 3.11 HTTP server idling in `serve_forever(poll_interval=0.1)`: `poll([{fd=3,
    // events=POLLIN}], 1, 100) = 0 (Timeout)` ten times a second for 25 s. Main's detector
    // stopped it live after 2.8 s ("same line repeated 26×") and this recording at 3 s: the
    // trace repeats exactly and says `Timeout`, but it records another process sleeping
    // out the 100 ms it asked for, pass after pass, at that very pace.
    let sandbox = Sandbox::new("replay-strace-idle");
    assert_left_alone_as(
        &sandbox,
        "strace-idle-python-server-live.ffrec",
        "20",
        "waiting out its 0.1 s timeout",
    );
}

#[test]
fn an_optimiser_restarted_from_new_starting_points_is_left_alone() {
    // scikit-learn 1.9 on this machine: `KMeans(n_clusters=4, n_init=10, verbose=1)` on
    // 2000 well-separated points, where every start converges after one iteration, so
    // `Initialization complete`, `Iteration 0, inertia X.`, `Iteration 1, inertia Y.`,
    // `Converged at iteration 1` repeat exactly, X new every start and Y the same optimum;
    // and `KMeans(n_clusters=5, n_init=20, algorithm="elkan")` on 3000 points, whose starts
    // take 1 to 21 iterations. Main's detector stopped the first at 10 and 20 lines/s
    // (`4-line cycle repeated 10x`) and the second at 10 lines/s.
    let sandbox = Sandbox::new("replay-kmeans");
    for (log, rate) in [
        ("sklearn-kmeans-restarts.log", "10"),
        ("sklearn-kmeans-restarts.log", "20"),
        ("sklearn-kmeans-elkan-restarts.log", "10"),
        ("sklearn-kmeans-elkan-restarts.log", "20"),
    ] {
        assert_left_alone(&sandbox, log, rate);
    }
}

#[test]
fn a_parameter_search_walking_its_grid_is_left_alone() {
    // scikit-learn 1.9 on this machine: `GridSearchCV(SVC(), param_grid={'C': [0.1, 1, 10,
    // 100], 'gamma': [0.001, 0.01, 0.1, 1]}, cv=5, verbose=2).fit(X, y)` on the iris data:
    // five identical `[CV] END ....C=0.1, gamma=0.001; total time=   0.0s` lines per
    // candidate, then the next candidate's five. Main's detector stopped it at 10 lines/s
    // (line 28) and 20 lines/s (line 40): `same line repeated`.
    let sandbox = Sandbox::new("replay-grid-walk");
    for rate in ["10", "20"] {
        assert_left_alone_as(
            &sandbox,
            "sklearn-gridsearch-svc-verbose2.log",
            rate,
            "a grid of parameters walked",
        );
    }
}

#[test]
fn a_parameter_search_re_fitting_the_same_candidates_is_stopped() {
    // The loop the grid walk must still catch: the same script with a one-candidate grid
    // (`C=0.1, gamma=0.001`) and with a two-candidate grid, each re-run forty times in a
    // `for` loop, so the same combinations come back every pass (the first 120 and 200
    // lines). The two-candidate loop's 11-line pass at 10 lines/s is capped like a
    // heartbeat, on main too; at 20 lines/s it is stopped.
    let sandbox = Sandbox::new("replay-grid-same-candidates");
    for (log, rate) in [
        ("sklearn-gridsearch-same-candidate-loop.log", "10"),
        ("sklearn-gridsearch-same-candidate-loop.log", "20"),
        ("sklearn-gridsearch-two-candidates-loop.log", "20"),
    ] {
        let reason = assert_stopped(&sandbox, log, rate);
        assert!(
            reason.contains("-line cycle"),
            "{log} at {rate} lines/s: {reason}"
        );
    }
}

#[test]
fn a_mixture_restarted_from_counted_starts_that_converge_is_left_alone() {
    // scikit-learn 1.9 on this machine: `GaussianMixture(n_components=k, n_init=10,
    // verbose=2, verbose_interval=1)` on 3000 points from `make_blobs`, k = 1 and k = 2:
    // every start prints `Initialization N`, `Iteration 1 ... ll change inf`, `Iteration 2
    // ... ll change 0.00000` and `Initialization converged. ... lower bound -4.29357.`,
    // the same numbers every start but N. Main's detector stopped both at 10 lines/s
    // (`4-line cycle repeated 10x`, line 40).
    let sandbox = Sandbox::new("replay-mixture-restarts");
    for log in [
        "sklearn-gaussian-mixture-restarts.log",
        "sklearn-gaussian-mixture-two-components-restarts.log",
    ] {
        for rate in ["10", "20"] {
            assert_left_alone_as(&sandbox, log, rate, "each start converging");
        }
    }
}

#[test]
fn boosting_warnings_before_the_first_evaluation_line_are_left_alone() {
    // LightGBM 4.7 on this machine: 600 rounds on 20,000 rows with `verbose=1`,
    // `lambda_l2=1e6` (no split has positive gain) and `log_evaluation(100)`, so a hundred
    // identical `[LightGBM] [Warning] No further splits with positive gain, best gain:
    // -inf` lines come before the first `[100] valid_0's l2: x`. Main's detector stopped the
    // saved text at 10, 20 and 50 lines/s before that line (`same line repeated 40x`), and
    // stopped the same script live while two busy loops shared the machine's two cores
    // (after 4.8 s, and 16 s on 100,000 rows). The `-loaded.ffrec` is `flowforge run
    // --record` of the whole run under that load (611 lines in 28 s, its rounds arriving in
    // bursts), which main's detector would have stopped after 32 s.
    let sandbox = Sandbox::new("replay-lightgbm-first-eval");
    for rate in ["10", "20", "50"] {
        assert_left_alone_as(
            &sandbox,
            "lightgbm-warnings-before-first-eval.log",
            rate,
            "a warning about the work repeated",
        );
    }
    assert_left_alone(&sandbox, "lightgbm-warnings-before-first-eval-loaded.ffrec", "20");
}

#[test]
fn a_training_step_retried_after_it_goes_nan_is_stopped() {
    // The loop the training fixes above must still catch: NumPy 2.4 on this machine, a
    // script that re-runs a diverging gradient step with the same settings after it fails,
    // so every pass warns `RuntimeWarning: overflow encountered in matmul` and `invalid value
    // encountered in matmul` and prints `epoch 4: loss: nan` (the first 300 lines; path
    // anonymised).
    let sandbox = Sandbox::new("replay-nan-retried");
    for rate in ["10", "20"] {
        let reason = assert_stopped(&sandbox, "numpy-nan-step-retried.log", rate);
        assert!(reason.contains("7-line cycle"), "at {rate} lines/s: {reason}");
    }
}

#[test]
fn a_failing_end_to_end_suite_re_run_in_a_loop_is_stopped_and_one_retried_until_green_is_not() {
    // Real Playwright 1.5x (`@playwright/test`, list reporter, the system chromium) on this
    // machine, re-run by `while ! npx playwright test; do :; done` while one spec waits for a
    // button the page never shows: a 23-line report every 8 s, its lines spread over the run
    // as each test finishes, and its call log says `- waiting for getByRole('button', ...)`.
    // Main's detector left it alone (`heartbeat: 0.1 passes/s ... says it waits`); live, the
    // run was stopped after 40.8 s, at its fifth run.
    let why = assert_recording_stopped_as_live("playwright-rerun-failing-spec-live.ffrec");
    assert!(why.contains("test run's report"), "{why}");
    let sandbox = Sandbox::new("replay-playwright");
    let log = "playwright-rerun-failing-spec-live.ffrec";
    let out = replay(&sandbox, &[&real_log(log).to_string_lossy()]);
    let runs = passes_begun(log, "Running 3 tests using 1 worker", intervention_line(&out));
    assert!((4..=5).contains(&runs), "stopped after {runs} runs: {why}");
    // The same suite in a CI step that re-runs it until the app it tests is deployed, at
    // most four times: three identical failing reports, then the fourth run passes.
    let green = "playwright-retried-until-green-live.ffrec";
    let out = replay(&sandbox, &[&real_log(green).to_string_lossy()]);
    assert_eq!(out.code(), 0, "{green}: {}", out.describe());
}

#[test]
fn a_plain_log_is_timed_by_its_own_timestamps_unless_a_rate_is_given() {
    // Real `uptime` once a second on this machine, saved as a user pastes it: only its
    // clock moves. At a fixed 20 lines/s it is one line repeated 20 times a second and
    // would be stopped; timed by its own `16:32:55` stamps it is the heartbeat it was.
    let sandbox = Sandbox::new("replay-own-timestamps");
    let uptime = real_log("uptime-1s.log");
    let out = replay(&sandbox, &[&uptime.to_string_lossy()]);
    assert_eq!(out.code(), 0, "{}", out.describe());
    let text = out.stdout_text();
    assert!(text.contains("timed by its own timestamps"), "{text}");
    assert!(text.contains("heartbeat"), "{text}");
    assert_stopped(&sandbox, "uptime-1s.log", "20");
    // A client logging a refused connection with millisecond stamps, about 90 times a
    // second: its own pace is a tight loop, and it is stopped as one.
    let refused = real_log("connect-refused-took-loop.log");
    let out = replay(&sandbox, &[&refused.to_string_lossy()]);
    assert_eq!(out.code(), 1, "{}", out.describe());
    let (at, why) = intervention(&out);
    assert!(at < 3.0 && why.contains("lines/s"), "{at} s: {why}");
}

#[test]
fn a_test_watcher_re_running_on_its_own_writes_is_stopped() {
    // Real vitest 4 `vitest watch` on this machine, its test writing the JSON file it
    // imports: every run changes the file, and vitest re-runs at once, 1.5 runs a second,
    // each headed `RERUN src/data.json x1`, `x2`, ... Main's detector read the repeat count
    // as a word, so every pass had a never-seen line, and left this recording alone for its
    // whole minute (89 re-runs: `each pass brings new text ... and nothing fails`). A live
    // run with the repeat count masked was stopped after 5.8 s, 3 s into its re-runs. A
    // block counts as a cycle only once it goes on into a third pass (two passes are the
    // same thing done twice), so the hold now starts a pass later: 6.5 s, 4.5 s into them.
    let name = "vitest-watch-rerun-own-write.ffrec";
    let sandbox = Sandbox::new("replay-vitest-watch");
    let out = replay_stopped(&sandbox, name);
    let (at, why) = intervention(&out);
    assert!(why.contains("-line cycle repeated"), "{why}");
    let reruns = passes_begun(name, "RERUN", intervention_line(&out));
    assert!((3..=7).contains(&reruns), "stopped after {reruns} re-runs: {why}");
    assert!(at <= 7.0, "stopped at {at} s: {why}");
}

#[test]
fn a_numbered_test_report_re_run_while_it_fails_is_stopped() {
    // Real CTest 3.25 on this machine, `while ! ctest --output-on-failure; do sleep 1;
    // done` over 41 tests of which one fails: each run numbers its tests `1/41 Test #1:
    // case_1 ... Passed 0.01 sec` up to `41/41`, which main's detector read as a counter
    // advancing (it fell once per 41 rises) and left alone: this recording, and a minute and a
    // half of the same loop without the sleep (30,690 lines). The count starts over at each
    // run, every run repeating the one before in its numbers; stopped live after 4.8 s, at
    // the fifth run (and back to back after 2.0 s).
    let name = "ctest-rerun-failing-suite-live.ffrec";
    let why = assert_recording_stopped_as_live(name);
    let sandbox = Sandbox::new("replay-ctest");
    let out = replay(&sandbox, &[&real_log(name).to_string_lossy()]);
    let runs = passes_begun(name, "Test project", intervention_line(&out));
    assert!((4..=5).contains(&runs), "stopped after {runs} runs: {why}");
}

#[test]
fn a_playbook_re_run_by_a_wrapper_that_fails_the_same_way_is_stopped_within_five_passes() {
    // Real ansible-core 2.19 on this machine, `while true; do ansible-playbook fail.yml; done`,
    // three inventory aliases on a local connection, a task that cats a missing artifact: a
    // 19-line run every 3.5 s whose hosts report in whichever order they finish (`ok: [web03]`
    // before `ok: [web01]` one run, after it the next), its lines spread over the run. Main's
    // detector found no exact cycle (the order changed) and no slow loop (0.28 runs/s, not
    // printed at once) and stopped it only after 178 s; live, the run was stopped after
    // 15.0 s, as its fifth run began. Paths anonymised.
    let log = "ansible-rerun-failing-task-live.ffrec";
    let why = assert_recording_stopped_as_live(log);
    assert!(why.contains("re-run loop"), "{why}");
    let sandbox = Sandbox::new("replay-ansible-rerun");
    let out = replay(&sandbox, &[&real_log(log).to_string_lossy()]);
    let runs = passes_begun(log, "PLAY [web01,web02,web03]", intervention_line(&out));
    assert!((4..=5).contains(&runs), "stopped after {runs} runs: {why}");
}

#[test]
fn a_playbook_whose_many_hosts_print_identical_ok_blocks_is_left_alone() {
    // Real ansible-core 2.19: 48 inventory aliases on a local connection, five forks, four
    // tasks (one looping over three items), every host `ok:` or `changed:` in whichever
    // order it finished, 52 s.
    let sandbox = Sandbox::new("replay-ansible-many-hosts");
    let log = "ansible-many-hosts-ok-blocks-live.ffrec";
    let out = replay(&sandbox, &[&real_log(log).to_string_lossy()]);
    assert_eq!(out.code(), 0, "{log}: {}", out.describe());
    // An `async: 60, poll: 1` task on two hosts: `ASYNC POLL on web01: ... finished=False`
    // and `on web02` every second, now one first, now the other, for 15 s. Main left it
    // alone; a first version of the reorder rule (a pass may print its lines in another
    // order) took two polls for a 4-line pass and stopped it live after 17.5 s: two hosts
    // polled in turn are a pass of two lines, each printed twice in four.
    let log = "ansible-async-poll-two-hosts-live.ffrec";
    let out = replay(&sandbox, &[&real_log(log).to_string_lossy()]);
    assert_eq!(out.code(), 0, "{log}: {}", out.describe());
    // The same task run again: main's detector stopped it live after 11.8 s as `a slow loop
    // of work: 4 passes at 0.5/s, tree CPU 38 % over them` (a loose 3-line block, the two
    // hosts' polls in varying order), though every line says it polls: the controller
    // spends a third of a core on its own polling.
    let log = "ansible-async-poll-cpu-live.ffrec";
    let out = replay(&sandbox, &[&real_log(log).to_string_lossy()]);
    assert_eq!(out.code(), 0, "{log}: {}", out.describe());
}

#[test]
fn an_aws_waiter_polling_until_its_object_exists_is_left_alone() {
    // Real AWS CLI 1.45 `--debug s3api wait object-exists` against a local moto server, the
    // object uploaded after 22 s: a 57-line poll every 5 s (`HEAD ... 404`), the same every
    // time. Main's detector stopped it live after 22.5 s, just before the object came, as
    // `a re-run loop: the same 55-line block with failure words`: the failure word was the
    // `retry` of `cfg/retry-mode#legacy` in the user agent every request carries. Paths
    // anonymised, request signatures (of the mock's fake key) replaced.
    let sandbox = Sandbox::new("replay-aws-waiter");
    let log = "aws-s3api-wait-object-exists-debug-live.ffrec";
    let out = replay(&sandbox, &[&real_log(log).to_string_lossy()]);
    assert_eq!(out.code(), 0, "{log}: {}", out.describe());
}

#[test]
fn an_agent_framework_numbering_its_steps_is_stopped_when_its_tool_returns_nothing_new() {
    // Real smolagents 1.26 (`CodeAgent`, its default rich log) on this machine against a
    // local fake model that answers at 0.5-4 s with the same code every step, `result =
    // search(query=...)`, run with `flowforge run --record`. Its tool returned `[]`, then
    // the same sentence every time. Main's detector left both alone for the whole 143-155 s
    // run (`heartbeat: 0.5 passes/s`): the lone `[]` had no letters or digits and was
    // skipped as decoration, so nothing said the result was empty, and the step number
    // (`Step 7`, `[Step 7: Duration 2.20 seconds| Input tokens: ...]`) was read as an
    // iteration counter. A block that reports what a model call used numbers the agent's
    // turns; both were stopped live within five steps (13.0 s and 10.3 s).
    let sandbox = Sandbox::new("replay-smolagents");
    for (log, finding) in [
        ("smolagents-code-agent-empty-result-live.ffrec", "empty result"),
        ("smolagents-code-agent-same-result-live.ffrec", "a model loop"),
    ] {
        let why = assert_recording_stopped_as_live(log);
        assert!(why.contains(finding), "{log}: {why}");
        let out = replay(&sandbox, &[&real_log(log).to_string_lossy()]);
        let steps = passes_begun(log, "Executing parsed code", intervention_line(&out));
        assert!(
            (4..=5).contains(&steps),
            "{log}: stopped after {steps} steps: {why}"
        );
    }
}

#[test]
fn an_agent_framework_polling_a_build_still_running_is_left_alone() {
    // The same smolagents `CodeAgent`, its tool asked for a build's status eight times
    // (`Build 4411: status running, stage test`, the same answer every 0.5-4 s), then told
    // it passed; the run ended by itself after 24.5 s. A model asking the same thing and
    // getting the same answer is a loop, unless the answer says what it waits on is still
    // under way: a first version of this change stopped this run at its fifth poll (9.0 s).
    let sandbox = Sandbox::new("replay-smolagents-poll");
    assert_left_alone(&sandbox, "smolagents-code-agent-polling-build-live.ffrec", "20");
}

#[test]
fn an_agent_polling_a_build_until_it_is_green_is_left_alone() {
    // Real LangGraph 1.2 (`create_agent`, messages `pretty_print()`ed) on this machine
    // against a local fake model: the agent asks for a build's status eight times (`Build
    // 4411: status running, stage test`, every 0.5-4 s), is told it passed and answers.
    // Main's detector stopped it live at 27.5 s, as the green status and the final answer
    // came (`reworded from a few variants`): a block that repeated exactly and then changed
    // twice, each time into new text, was taken for one reworded from a small set.
    let sandbox = Sandbox::new("replay-langgraph-poll");
    assert_left_alone(&sandbox, "langgraph-polling-build-until-green-live.ffrec", "20");
}

#[test]
fn an_agent_paging_through_results_whose_titles_say_timeout_is_left_alone() {
    // Real AutoGen AgentChat 0.7 (`AssistantAgent` with a tool, its `Console` UI) on this
    // machine against a local fake model: the agent reads twelve pages of issues, a new
    // page every 0.5-4 s, each page's titles new text with words like `retry` and
    // `timeout` in them. Main's detector stopped it live at 15.0-18.1 s (`6-line block
    // repeated 4× with 5 lines reworded (5 of them new text), error wording`): the failure
    // words of text new on every pass were read as the block failing. A loop fails in its
    // fixed lines or in variants it comes back to; this run ended by itself after 28.3 s.
    let sandbox = Sandbox::new("replay-autogen-paging");
    assert_left_alone(&sandbox, "autogen-console-paging-results-live.ffrec", "20");
}

#[test]
fn an_agent_framework_given_the_same_answer_is_stopped_long_before_its_step_limit() {
    // Real LangGraph 1.2 (LangChain 1.5 `create_agent`, each message `pretty_print()`ed)
    // on this machine, given the same answer by its tool forty times until it raised
    // `GraphRecursionError` at its step limit, 97 s in. Its messages show no tokens, so it
    // was left alone as a status display could be; but each turn names its tool call
    // (`Tool Calls:`) and the id the model gave it (`Call ID: call_...`), new every turn:
    // each pass is a model's answer. It is now stopped as a model loop at its fifth call.
    // Before that, main's detector stopped it 0.05 s after the traceback, as `the same
    // failure in 6 passes`, while Python was exiting: the one traceback in the last pass
    // was read as a failure of every pass; that must not come back. Paths anonymised.
    let name = "langgraph-same-answer-until-step-limit.ffrec";
    let sandbox = Sandbox::new("replay-langgraph-limit");
    let out = replay_stopped(&sandbox, name);
    let (_, why) = intervention(&out);
    assert!(why.contains("a model loop"), "{why}");
    assert!(!why.contains("same failure"), "{why}");
    let calls = passes_begun(name, "Ai Message", intervention_line(&out));
    assert!((4..=5).contains(&calls), "stopped after {calls} calls: {why}");
}

#[test]
fn agent_frameworks_stuck_on_one_tool_call_are_stopped_within_five_calls() {
    // Real agent frameworks on this machine, each with the logging its users turn on,
    // against a local fake model answering the same tool call every 0.5-4 s, recorded live
    // with `flowforge run --record`: LangChain 1.x's classic `AgentExecutor(verbose=True)`
    // and LangGraph's `create_agent` (messages `pretty_print()`ed) on a tool failing with
    // `HTTP 503`, the OpenAI Agents SDK 0.24 with `enable_verbose_stdout_logging()` on the
    // same, AutoGen AgentChat 0.7's `Console` on a tool returning `[]`. Main's detector
    // stopped them too; these pin the behaviour on four frameworks' own output.
    let sandbox = Sandbox::new("replay-agent-frameworks");
    for (log, call) in [
        (
            "langchain-agent-executor-failing-tool-live.ffrec",
            "Invoking: `search`",
        ),
        ("langgraph-failing-tool-live.ffrec", "Ai Message"),
        (
            "openai-agents-verbose-failing-tool-live.ffrec",
            "Invoking tool search",
        ),
        ("autogen-console-empty-result-live.ffrec", "ToolCallRequestEvent"),
    ] {
        let why = assert_recording_stopped_as_live(log);
        let out = replay(&sandbox, &[&real_log(log).to_string_lossy()]);
        let calls = passes_begun(log, call, intervention_line(&out));
        assert!(
            (4..=5).contains(&calls),
            "{log}: stopped after {calls} calls: {why}"
        );
    }
}

#[test]
fn agent_frameworks_at_work_are_left_alone() {
    // The same frameworks making progress, each run ending by itself: LangChain's
    // `AgentExecutor` reading eight different files, LangGraph and the OpenAI Agents SDK
    // (verbose stdout logging, whose lines are the same every turn but its turn number)
    // paging through twelve pages of results, smolagents' `ToolCallingAgent` retrying a
    // call that fails three times and then succeeds.
    let sandbox = Sandbox::new("replay-agent-frameworks-at-work");
    for log in [
        "langchain-agent-executor-reading-files-live.ffrec",
        "langgraph-paging-results-live.ffrec",
        "openai-agents-verbose-paging-live.ffrec",
        "smolagents-tool-agent-retry-then-success-live.ffrec",
    ] {
        assert_left_alone(&sandbox, log, "20");
    }
}

/// Replays the live recording `tests/data/NAME` of a failing xdist suite re-run back to
/// back: stopped within a tick of the live run, as alike passes printing the same values in
/// another order; returns the reason and the test sessions begun by the decision.
fn xdist_re_run_stopped(name: &str) -> (String, usize) {
    let sandbox = Sandbox::new("replay-pytest-xdist");
    let out = replay_stopped(&sandbox, name);
    let why = assert_decided_as_live(&out, name);
    assert!(
        why.contains("alike passes") && why.contains("the same values each pass in another order"),
        "{name}: {why}"
    );
    let runs = passes_begun(name, "test session starts", intervention_line(&out));
    (why, runs)
}

#[test]
fn a_failing_pytest_xdist_suite_re_run_back_to_back_is_stopped_at_its_fifth_run() {
    // `flowforge run --record` on this machine of `while ! pytest -v -n 2 tests/; do :;
    // done` (pytest 9.2, pytest-xdist 3.8, 40 tests, one failing): the two workers finish
    // the tests in another order each run, so no run repeats the one before line for line,
    // the next session starts 0.3-0.5 s after the last (under the silence that cuts passes),
    // and `[gw0] [ 43%] PASSED` rises to 100 in every run. Main's detector left it alone for
    // 100 s (57 runs: "a counter advancing", "heartbeat"). Each run opens with the same
    // header and prints the same values in another order; stopped live after 6.8 s, as its
    // fifth run began.
    let (why, runs) = xdist_re_run_stopped("pytest-xdist-rerun-failing-suite-live.ffrec");
    assert!(why.contains("each opening with the same header"), "{why}");
    assert_eq!(runs, 5, "stopped after {runs} runs: {why}");
}

#[test]
fn pytest_xdist_suites_that_pass_or_go_green_are_left_alone() {
    // The same machine, run live: 435 parametrized tests in one `pytest -v -n 2` session
    // (10 s, the percentage climbing once), `pytest -v -n 2 --count 5` (pytest-repeat, 200
    // results in one session), and the failing suite retried back to back by a wrapper
    // until it passed on its fourth run (the test needs a file the wrapper creates then).
    let sandbox = Sandbox::new("replay-pytest-xdist-healthy");
    for log in [
        "pytest-xdist-435-tests-passing-live.ffrec",
        "pytest-xdist-count-5-passing-live.ffrec",
        "pytest-xdist-retried-until-green-live.ffrec",
    ] {
        assert_left_alone(&sandbox, log, "20");
    }
}

#[test]
fn a_fast_pytest_xdist_suite_re_run_back_to_back_whose_failure_shows_an_address_is_stopped() {
    // `flowforge run --record` on this machine of `while ! pytest -v -n 2 tests/; do :;
    // done` (pytest 9.2, pytest-xdist 3.8): 31 tests that sleep a few milliseconds each, so
    // the two workers finish them in another order every run, and one failing on a fixture
    // whose repr pytest prints at a new address every run (`client = <test_app.Client
    // object at 0x7fec8c50af90>`). A run starts every 0.6-0.7 s at a steady pace (spread
    // 0.03-0.08), a core busy. Main's detector left it alone for 960 s ("heartbeat: 0.6
    // passes/s"): the address made each run new, and a re-run faster than one a second,
    // or as steady as this, was not judged. Stopped live after 3.8 s, in its sixth run.
    let (why, runs) = xdist_re_run_stopped("pytest-xdist-rerun-address-in-failure-live.ffrec");
    assert!((5..=6).contains(&runs), "stopped after {runs} runs: {why}");
    let sandbox = Sandbox::new("replay-pytest-xdist-address");
    // The same suite retried by a wrapper that makes the failing test pass on its fourth
    // run, then packages: three failed runs, a green one and other work, left alone live.
    assert_left_alone(
        &sandbox,
        "pytest-xdist-address-retried-until-green-live.ffrec",
        "20",
    );
}
