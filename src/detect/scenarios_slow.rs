//! Loops that go round every few seconds or slower, and the healthy jobs that look most like
//! them at that pace.
//!
//! A client that retries a refused connection, prints the same traceback and sleeps a few
//! seconds is a loop as surely as one that retries ten times a second; only its passes are
//! further apart, so it is judged on its passes (stopped within five of them), not on
//! seconds. What must stay alone at the same pace: a status block whose numbers advance, a
//! poller that says what it waits for and for how long, a service's health check, a job that
//! says it retries after a wait, a service that serves requests between the failures of a
//! background task, and a batch job whose every pass fails on the next item.

use super::scenarios::{Rng, Timeline};
use crate::sample::Stream;

/// A Python traceback of a refused connection as redis-py prints it, under a log line.
fn redis_traceback(t: f64) -> Vec<String> {
    let (h, m, s) = (13, 42 + (t as u64) / 60, (t as u64) % 60);
    let mut pass = vec![format!(
        "2026-12-03 {h}:{m:02}:{s:02},{:03} ERROR worker: redis unavailable",
        (t.fract() * 1000.0) as u64
    )];
    pass.extend(
        [
            "Traceback (most recent call last):",
            r#"  File "/usr/lib/python3/site-packages/redis/connection.py", line 1055, in connect_check_health"#,
            "    sock = self._connect()",
            r#"  File "/usr/lib/python3/site-packages/redis/connection.py", line 1601, in _connect"#,
            "    sock.connect(socket_address)",
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            r#"  File "/srv/app/worker.py", line 14, in main"#,
            "    job = fetch_jobs(client)",
            r#"  File "/usr/lib/python3/site-packages/redis/client.py", line 867, in execute_command"#,
            "    return self._execute_command(*args, **options)",
            "redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379. Connection refused.",
        ]
        .map(String::from),
    );
    pass
}

/// Passes of `pass(n, t)` at the pace `interval(n)` from t = 0, until `until` seconds.
fn paced(
    t: &mut Timeline,
    until: f64,
    mut interval: impl FnMut(usize) -> f64,
    mut pass: impl FnMut(usize, f64) -> Vec<String>,
) -> Vec<f64> {
    let (mut at, mut n, mut starts) = (0.5, 0, Vec::new());
    while at < until {
        starts.push(at);
        t.passes(at, 1.0, 1, |_| pass(n, at));
        at += interval(n);
        n += 1;
    }
    starts
}

/// Asserts that the loop whose passes began at `starts` was stopped once its fifth pass had
/// begun and before its sixth; returns the reason.
fn assert_stopped_within_five_passes(t: &mut Timeline, starts: &[f64], what: &str) -> String {
    let outcome = t.run(starts.last().copied().unwrap_or(0.0) + 1.0);
    let at = outcome.delay_after(0.0);
    let summary = outcome.reason.map(|r| r.summary).unwrap_or_default();
    assert!(
        at >= starts[4],
        "{what}: stopped at {at:.2} s, before its fifth pass: {summary}"
    );
    assert!(
        at < starts[5],
        "{what}: stopped at {at:.2} s, after its fifth pass: {summary}"
    );
    summary
}

#[test]
fn a_client_retrying_a_refused_connection_every_five_seconds_is_stopped_within_five_passes() {
    // redis-py in a retry loop: connect (its own retries take about 3.7 s), the traceback,
    // `sleep(1)`: a pass every 4-6 s.
    let mut rng = Rng::new(51);
    let mut t = Timeline::new();
    let starts = paced(&mut t, 60.0, |_| rng.range(4.0, 6.0), |_, at| redis_traceback(at));
    let summary = assert_stopped_within_five_passes(&mut t, &starts, "redis retry loop");
    assert!(summary.contains("a re-run loop: the same"), "{summary}");
    assert!(
        summary.contains("at 0.2/s"),
        "the reason gives the pace: {summary}"
    );
}

#[test]
fn a_traceback_every_twelve_seconds_is_stopped_within_five_passes() {
    let mut t = Timeline::new();
    let starts = paced(
        &mut t,
        100.0,
        |n| 12.0 + 0.3 * (n % 3) as f64,
        |_, at| redis_traceback(at),
    );
    assert_stopped_within_five_passes(&mut t, &starts, "a pass every 12 s");
}

/// One run of `pip download` that breaks after `got` MB of a 779.1 MB wheel: its start,
/// then (`broke`, after the download's seconds) the bar where it broke, drawn with rich's
/// cells and half cell as pip prints it without a terminal, and the traceback.
fn pip_download_run(t: &mut Timeline, at: f64, broke: f64, got: f64, rate: f64) {
    for (i, line) in [
        "Collecting torch==2.3.1",
        "  Using cached torch-2.3.1-cp310-cp310-manylinux1_x86_64.whl.metadata (26 kB)",
        "Downloading torch-2.3.1-cp310-cp310-manylinux1_x86_64.whl (779.1 MB)",
    ]
    .iter()
    .enumerate()
    {
        t.line(at + 0.4 * i as f64, Stream::Stdout, line);
    }
    let cells = (got / 779.1 * 40.0) as usize;
    let bar = format!(
        "   {}{:<w$}{got:.1}/779.1 MB {rate:.1} MB/s eta 0:00:05",
        "━".repeat(cells / 2),
        if cells % 2 == 1 { "╸" } else { "" },
        w = 41 - cells / 2
    );
    let mut lines = vec![
        bar,
        "ERROR: Exception:".to_string(),
        "Traceback (most recent call last):".to_string(),
    ];
    for frame in [
        "response.py\", line 438, in _error_catcher",
        "response.py\", line 561, in read",
        "socket.py\", line 705, in readinto",
    ] {
        lines.push(format!(
            "  File \"/usr/local/lib/python3.10/site-packages/pip/_vendor/urllib3/{frame}"
        ));
        lines.push("    data = self._fp_read(amt) if not fp_closed else b\"\"".to_string());
    }
    lines.push("ConnectionResetError: [Errno 104] Connection reset by peer".to_string());
    lines.push(
        "pip._vendor.urllib3.exceptions.ProtocolError: (\"Connection broken: ConnectionResetError(104, 'Connection reset by peer')\", ConnectionResetError(104, 'Connection reset by peer'))"
            .to_string(),
    );
    for (i, line) in lines.iter().enumerate() {
        t.line(broke + 0.001 * i as f64, Stream::Stdout, line);
    }
}

#[test]
fn a_download_re_run_from_byte_zero_that_breaks_at_the_same_point_is_stopped_within_five_passes() {
    // `until pip download torch==2.3.1; do sleep 2; done` behind a proxy that resets every
    // connection after about 250 MB: each run starts the wheel again from 0 and fails with
    // the same traceback, a run every 5-6 s. What is new every run is where it broke and at
    // what rate (`257.3/779.1 MB 91.5 MB/s`): amounts about one level, no news. Main read
    // each run's amount as news and the amounts as parts of a whole walked, and left it alone.
    let mut rng = Rng::new(61);
    let mut t = Timeline::new();
    let (mut at, mut starts) = (0.5, Vec::new());
    while at < 60.0 {
        starts.push(at);
        let broke = at + 1.0 + rng.range(2.4, 2.9);
        pip_download_run(
            &mut t,
            at,
            broke,
            245.0 + rng.range(0.0, 25.0),
            rng.range(88.0, 112.0),
        );
        at = broke + 2.0 + rng.range(0.05, 0.3);
    }
    t.cpu(0.0, 60.0, |_| 1.0);
    let summary = assert_stopped_within_five_passes(&mut t, &starts, "pip download from byte 0");
    assert!(summary.contains("a re-run loop: the same"), "{summary}");
}

#[test]
fn a_download_re_run_that_gets_further_every_time_is_left_alone() {
    // The same wrapper where each run gets further (a mirror that resumes): 260, 410, 555,
    // 700 MB, and the fifth run completes. A failure every pass, but what it reports moves on.
    let mut rng = Rng::new(62);
    let mut t = Timeline::new();
    let mut at = 0.5;
    for got in [260.4, 410.2, 555.7, 700.1] {
        let broke = at + 1.0 + rng.range(2.4, 2.9);
        pip_download_run(&mut t, at, broke, got, rng.range(88.0, 112.0));
        at = broke + 2.0 + rng.range(0.05, 0.3);
    }
    t.line(at, Stream::Stdout, "Collecting torch==2.3.1");
    t.line(
        at + 3.0,
        Stream::Stdout,
        "Saved ./wheels/torch-2.3.1-cp310-cp310-manylinux1_x86_64.whl",
    );
    t.line(at + 3.01, Stream::Stdout, "Successfully downloaded torch");
    t.cpu(0.0, at + 10.0, |_| 1.0);
    t.run(at + 10.0)
        .assert_never_fires("a download that gets further every run");
}

/// A java.net.http failure as the JDK prints it when it completes on whichever thread: the
/// short trace, or (`long`) the one whose connect failed on the caller's thread, with more
/// frames and other `... N more` counts.
fn java_trace(n: usize, at: f64, long: bool) -> Vec<String> {
    let (s, ms) = (at as u64 % 60, (at.fract() * 1000.0) as u64);
    let mut pass = vec![
        format!(
            "2026-12-03 13:42:{s:02}.{ms:03} INFO [pool-1-thread-{}] c.e.inventory.InventorySync - fetching stock list via InventorySync$$Lambda$66/0x00007f2c34000a08@39aeed2f",
            1 + n % 4
        ),
        format!("2026-12-03 13:42:{s:02}.{ms:03} ERROR [Thread-{n}] c.e.inventory.InventorySync - stock sync failed, will try again"),
        "java.util.concurrent.CompletionException: java.net.ConnectException".into(),
    ];
    let frames: &[(&str, u32)] = if long {
        &[
            ("CompletableFuture.encodeRelay", 368),
            ("CompletableFuture.uniComposeStage", 1189),
            ("CompletableFuture.thenCompose", 2309),
            ("MultiExchange.responseAsyncImpl", 453),
            ("CompletableFuture.uniHandle", 934),
            ("ThreadPoolExecutor.runWorker", 1136),
        ]
    } else {
        &[
            ("CompletableFuture.encodeRelay", 368),
            ("CompletableFuture.completeRelay", 377),
            ("CompletableFuture.postComplete", 510),
            ("ThreadPoolExecutor.runWorker", 1136),
        ]
    };
    for (frame, line) in frames {
        let class = frame.split(['.', '$']).next().unwrap_or_default();
        pass.push(format!(
            "\tat java.base/java.util.concurrent.{frame}({class}.java:{line})"
        ));
    }
    pass.push("Caused by: java.net.ConnectException".into());
    pass.push("\tat java.net.http/jdk.internal.net.http.PlainHttpConnection.lambda$connectAsync$1(PlainHttpConnection.java:206)".into());
    if long {
        pass.push(
            "\tat java.net.http/jdk.internal.net.http.Http1Exchange.sendHeadersAsync(Http1Exchange.java:239)"
                .into(),
        );
        pass.push("\tat java.net.http/jdk.internal.net.http.Exchange.checkFor407(Exchange.java:410)".into());
    }
    pass.push(format!("\t... {} more", if long { 8 } else { 5 }));
    pass.push("Caused by: java.nio.channels.ClosedChannelException".into());
    pass.push("\tat java.net.http/jdk.internal.net.http.PlainHttpConnection.lambda$connectAsync$0(PlainHttpConnection.java:183)".into());
    pass.push(format!("\t... {} more", if long { 25 } else { 9 }));
    pass
}

#[test]
fn a_java_retry_whose_trace_takes_one_of_two_shapes_is_stopped_within_five_passes() {
    // No two passes in a row print the same trace often enough for an exact cycle: the
    // thread that fails decides the frames. Every 5 s.
    let mut rng = Rng::new(53);
    let mut t = Timeline::new();
    let starts = paced(
        &mut t,
        60.0,
        |_| 5.0,
        |n, at| java_trace(n, at, n % 2 == 1 || rng.below(3) == 0),
    );
    let summary = assert_stopped_within_five_passes(&mut t, &starts, "java retry, two trace shapes");
    assert!(summary.contains("alike passes"), "{summary}");
}

#[test]
fn a_display_redrawn_every_two_seconds_whose_failing_row_flaps_is_left_alone() {
    // `watch -n 2 kubectl get pods` while an image is being pushed: the failing row reads
    // ErrImagePull or ImagePullBackOff, the pods' ages rise with the clock.
    let mut t = Timeline::new();
    paced(
        &mut t,
        120.0,
        |_| 2.0,
        |n, _| {
            let age = 40 + 2 * n;
            vec![
                "NAME READY STATUS RESTARTS AGE".into(),
                format!("api-1 1/1 Running 0 {age}s"),
                format!("api-2 1/1 Running 0 {age}s"),
                format!(
                    "api-3 0/1 {} 0 {age}s",
                    if n % 3 == 0 {
                        "ErrImagePull"
                    } else {
                        "ImagePullBackOff"
                    }
                ),
            ]
        },
    );
    t.run(120.0).assert_never_fires("a display of a failing pod");
}

#[test]
fn a_java_retry_whose_traces_name_other_threads_is_stopped_within_five_passes() {
    // java.net.http.HttpClient's failure completed on whichever thread the runtime chose:
    // `Thread-N` new every pass, the scheduler's `pool-1-thread-N` one of four, and the
    // trace's frames in a fixed turn (`lambda$connectAsync$1`, `$0`; `... 5 more`, `... 9
    // more`), a pass every 2 s.
    let mut t = Timeline::new();
    let starts = paced(
        &mut t,
        30.0,
        |_| 2.01,
        |n, at| {
            let ms = (at.fract() * 1000.0) as u64;
            let s = at as u64;
            let mut pass = vec![
                format!(
                    "2026-12-03 13:42:{s:02}.{ms:03} INFO [pool-1-thread-{}] c.e.inventory.InventorySync - fetching stock list via InventorySync$$Lambda$66/0x00007f2c34000a08@39aeed2f",
                    1 + n % 4
                ),
                format!(
                    "2026-12-03 13:42:{s:02}.{ms:03} ERROR [Thread-{n}] c.e.inventory.InventorySync - stock sync failed, will try again"
                ),
                "java.util.concurrent.CompletionException: java.net.ConnectException".into(),
            ];
            for (frame, line) in [
                ("CompletableFuture.encodeRelay", 368),
                ("CompletableFuture.completeRelay", 377),
                ("CompletableFuture$UniCompose.tryFire", 1152),
                ("CompletableFuture.postComplete", 510),
                ("ThreadPoolExecutor.runWorker", 1136),
            ] {
                pass.push(format!(
                    "\tat java.base/java.util.concurrent.{frame}({}.java:{line})",
                    frame.split(['.', '$']).next().unwrap_or_default()
                ));
            }
            pass.push("Caused by: java.net.ConnectException".into());
            pass.push("\tat java.net.http/jdk.internal.net.http.PlainHttpConnection.lambda$connectAsync$1(PlainHttpConnection.java:206)".into());
            pass.push("\t... 5 more".into());
            pass.push("Caused by: java.nio.channels.ClosedChannelException".into());
            pass.push("\tat java.net.http/jdk.internal.net.http.PlainHttpConnection.lambda$connectAsync$0(PlainHttpConnection.java:183)".into());
            pass.push("\t... 9 more".into());
            pass
        },
    );
    assert_stopped_within_five_passes(&mut t, &starts, "java retry loop");
}

#[test]
fn a_status_block_every_five_seconds_whose_numbers_advance_is_left_alone() {
    // A cron-like exporter: the same block every 5 s, its counts rising, a failed count
    // among them.
    let mut t = Timeline::new();
    paced(
        &mut t,
        120.0,
        |_| 5.0,
        |n, _| {
            vec![
                "=== sync status ===".into(),
                format!("files checked: {}", 1200 + 37 * n),
                format!("bytes sent: {} MiB", 80 + 3 * n),
                "errors: 2 (permission denied)".into(),
                format!("queue depth: {}", 900 - 11 * n),
            ]
        },
    );
    t.run(120.0)
        .assert_never_fires("a status block whose numbers advance");
}

#[test]
fn a_poller_saying_the_build_is_pending_is_left_alone() {
    let mut t = Timeline::new();
    paced(
        &mut t,
        120.0,
        |_| 5.0,
        |n, _| {
            vec![
                "checking build 48213 ...".into(),
                format!("build 48213 pending ({}s)", 5 * n + 12),
                "error: artifact not published yet".into(),
            ]
        },
    );
    t.run(120.0).assert_never_fires("a build poller");
}

#[test]
fn a_service_logging_its_health_check_every_five_seconds_is_left_alone() {
    let mut t = Timeline::new();
    paced(
        &mut t,
        120.0,
        |_| 5.0,
        |n, at| {
            vec![
            format!("127.0.0.1 - - [03/Dec/2026:13:42:{:02} +0000] \"GET /health HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.29\"", (at as u64) % 60),
            format!("health: db ok, cache ok, uptime {}s", 300 + 5 * n),
        ]
        },
    );
    t.run(120.0).assert_never_fires("a health check");
}

#[test]
fn a_client_that_says_it_retries_in_five_seconds_is_left_alone() {
    // The same traceback, but the job says it waits before the next try (OPERATIONS.md: a
    // deliberate wait is left alone; `--timeout` bounds it).
    let mut t = Timeline::new();
    paced(
        &mut t,
        120.0,
        |_| 5.0,
        |_, at| {
            let mut pass = redis_traceback(at);
            pass.push("redis not reachable, retrying in 5s".into());
            pass
        },
    );
    t.run(120.0).assert_never_fires("a retry that says it waits");
}

#[test]
fn a_service_serving_requests_between_failed_background_refreshes_is_left_alone() {
    // The traceback of a cache refresh every 5 s, and between two of them the requests the
    // service answers: it does its work.
    let mut rng = Rng::new(52);
    let mut t = Timeline::new();
    paced(&mut t, 120.0, |_| 5.0, |_, at| redis_traceback(at));
    t.every(0.7, 0.4, 290, |i| {
        format!(
            "INFO app: GET /api/orders/{} 200 in {} ms",
            1000 + rng.below(9000),
            3 + i % 7
        )
    });
    t.run(120.0)
        .assert_never_fires("a service with a failing background task");
}

#[test]
fn a_batch_job_failing_on_one_item_after_another_is_left_alone() {
    // Each pass is the next file, and it fails the same way: one item after another.
    let mut t = Timeline::new();
    paced(
        &mut t,
        120.0,
        |_| 5.0,
        |n, _| {
            vec![
                format!("processing invoice batch {}", 4100 + n),
                "Traceback (most recent call last):".into(),
                r#"  File "/srv/app/batch.py", line 88, in run"#.into(),
                "    upload(batch)".into(),
                format!("UploadError: batch {} rejected: missing tax id", 4100 + n),
            ]
        },
    );
    t.run(120.0).assert_never_fires("a batch job failing per item");
}

/// One run of an end-to-end suite as Playwright's list reporter prints it, each test's line
/// when it finishes: two pass, one waits for a button the page never shows and fails.
fn playwright_run(t: &mut Timeline, rng: &mut Rng, start: f64) -> f64 {
    let mut at = start;
    t.line(at, Stream::Stdout, "Running 3 tests using 1 worker");
    at += 3.0 + rng.range(0.0, 0.6);
    t.line(
        at,
        Stream::Stdout,
        format!(
            "  ✘  1 tests/checkout.spec.js:3:1 › completes checkout ({:.1}s)",
            at - start
        ),
    );
    for (name, line) in [("shows the login form", 3), ("rejects a bad password", 7)] {
        at += rng.range(0.3, 0.6);
        t.line(
            at,
            Stream::Stdout,
            format!(
                "  ✓  2 tests/login.spec.js:{line}:1 › {name} ({}ms)",
                300 + (at * 37.0) as u64 % 200
            ),
        );
    }
    at += 0.3;
    for line in [
        "  1) tests/checkout.spec.js:3:1 › completes checkout ─────────────────────────",
        "    Error: expect(locator).toBeVisible() failed",
        "    Locator: getByRole('button', { name: 'Pay now' })",
        "    Expected: visible",
        "    Timeout: 3000ms",
        "    Error: element(s) not found",
        "    Call log:",
        "      - Expect \"toBeVisible\" getByRole('button', { name: 'Pay now' }) with timeout 3000ms",
        "      - waiting for getByRole('button', { name: 'Pay now' })",
        "    > 6 |   await expect(page.getByRole('button', { name: 'Pay now' })).toBeVisible();",
        "        at /srv/shop/tests/checkout.spec.js:6:63",
        "  1 failed",
        "    tests/checkout.spec.js:3:1 › completes checkout ─────────────────────────",
    ] {
        t.line(at, Stream::Stdout, line);
        at += 0.002;
    }
    t.line(at, Stream::Stdout, format!("  2 passed ({:.1}s)", at - start));
    at
}

#[test]
fn an_end_to_end_suite_re_run_while_a_spec_waits_for_a_missing_button_is_stopped_within_five_runs() {
    // `while ! npx playwright test; do :; done`: the report's lines are spread over each
    // 6-8 s run, and its call log says `waiting for`, a step of the failing test. The job
    // itself waits for nothing.
    let mut t = Timeline::new();
    let mut rng = Rng::new(61);
    let mut at = 0.5;
    let mut starts = Vec::new();
    while at < 90.0 {
        starts.push(at);
        at = playwright_run(&mut t, &mut rng, at) + 2.0 + rng.range(0.0, 1.5);
    }
    t.cpu(0.0, 90.0, |_| 100.0);
    let out = t.run(90.0);
    let fired = out.delay_after(0.0);
    let runs = starts.iter().filter(|&&s| s <= fired).count();
    assert!(
        (4..=5).contains(&runs),
        "stopped after {runs} runs at {fired:.2} s"
    );
    let why = out.reason.expect("a reason").summary;
    assert!(why.contains("test run's report"), "{why}");
}

#[test]
fn a_suite_re_run_until_the_app_is_deployed_and_a_checks_poller_are_left_alone() {
    // The same suite re-run by a CI step until the app it tests is up: three failing runs,
    // then a green one and the next step's log.
    let mut t = Timeline::new();
    let mut rng = Rng::new(62);
    let mut at = 0.5;
    for _ in 0..3 {
        at = playwright_run(&mut t, &mut rng, at) + 0.8;
    }
    t.line(at, Stream::Stdout, "Running 3 tests using 1 worker");
    for (n, name) in [
        "completes checkout",
        "shows the login form",
        "rejects a bad password",
    ]
    .iter()
    .enumerate()
    {
        at += 0.5;
        t.line(
            at,
            Stream::Stdout,
            format!(
                "  ✓  {} tests/shop.spec.js:{}:1 › {name} ({}ms)",
                n + 1,
                3 + 4 * n,
                420 + 31 * n
            ),
        );
    }
    t.line(at + 0.1, Stream::Stdout, "  3 passed (2.3s)");
    let deploy = at + 1.0;
    t.every(deploy, 0.5, 20, |i| {
        format!("uploading asset {}/20: app.{i:02}.js", i + 1)
    });
    t.cpu(0.0, 40.0, |_| 100.0);
    t.run(40.0).assert_never_fires("a suite retried until green");
    // `gh pr checks --watch` style: the same table every 5 s while two checks stay pending
    // and one has failed; its tally counts checks still under way, no finished test run.
    let mut t = Timeline::new();
    paced(
        &mut t,
        120.0,
        |_| 5.0,
        |_, _| {
            vec![
                "Some checks were not successful".into(),
                "1 failing, 3 successful, 0 skipped, and 2 pending checks".into(),
                "X  e2e        https://ci.example.invalid/runs/4821/jobs/1".into(),
                "*  deploy     https://ci.example.invalid/runs/4821/jobs/2".into(),
                "*  publish    https://ci.example.invalid/runs/4821/jobs/3".into(),
            ]
        },
    );
    t.run(120.0).assert_never_fires("a checks poller");
}

#[test]
fn a_busy_solver_whose_telemetry_push_fails_every_few_seconds_is_left_alone() {
    // A solver computing at a full core that prints nothing but its telemetry thread's
    // failure, the same line every 1.2-2.8 s, and then its result. Its output and CPU are
    // those of `while true; do aws s3 ls ...; done` against a refused endpoint (one failing
    // line a pass, CPU over the passes, a wandering pace); killing it loses the result.
    let mut rng = Rng::new(11);
    let mut t = Timeline::new();
    let line = "ERROR telemetry: failed to push metrics to http://127.0.0.1:4318: connection refused";
    paced(&mut t, 30.0, |_| rng.range(1.2, 2.8), |_, _| vec![line.into()]);
    t.line(30.5, Stream::Stdout, "solved: objective 12.44");
    t.cpu(0.0, 30.5, |_| 100.0);
    t.run(31.0)
        .assert_never_fires("a busy solver with a failing telemetry push");
}

#[test]
fn one_failing_line_a_pass_is_left_alone_when_it_costs_nothing_or_keeps_a_timer() {
    // A health check that sleeps between its attempts (the tree idle), and a busy service
    // whose background refresh fails on its own one-second timer.
    let line = "refresh failed: connection refused (upstream 10.0.0.7:8500)";
    for (cpu, wander) in [(1.0, 0.3), (90.0, 0.01)] {
        let mut rng = Rng::new(5);
        let mut t = Timeline::new();
        paced(
            &mut t,
            40.0,
            |_| 1.0 + rng.range(-wander, wander),
            |_, _| vec![line.into()],
        );
        t.cpu(0.0, 40.0, |_| cpu);
        t.run(40.0)
            .assert_never_fires("a failing line a pass, idle or on a timer");
    }
}

#[test]
fn a_poller_that_says_it_polls_is_left_alone_while_it_spends_cpu() {
    // Ansible's `async: 60, poll: 1` on two hosts: each second both hosts' polls, in
    // whichever order they return, from a controller that spends a third of a core.
    let mut rng = Rng::new(21);
    let mut t = Timeline::new();
    paced(
        &mut t,
        40.0,
        |_| rng.range(0.7, 1.4),
        |n, _| {
            let mut hosts = vec![
                "ASYNC POLL on web01: jid=j209617482607.6137 started=True finished=False".to_string(),
                "ASYNC POLL on web02: jid=j942392857384.6134 started=True finished=False".to_string(),
            ];
            if n % 3 != 1 {
                hosts.reverse();
            }
            hosts
        },
    );
    t.cpu(0.0, 40.0, |_| 40.0);
    t.run(40.0)
        .assert_never_fires("an async task polled on two hosts");
}
