//! Synthetic timelines of runaway loops that must be stopped, and how fast.
//!
//! Each loop starts at a known onset (often after a stretch of healthy output) and the test
//! asserts both that the detector fires and how long after the onset it does: within 2 s for
//! loops of 5 lines a second or more, within 5 s for slower ones. The loops cover what the
//! detector is for: tight identical lines, retry loops whose timestamps, attempt numbers and
//! request ids all change, multi-line agent cycles with UUIDs, JSON lines, stderr-only and
//! ANSI-coloured output, moderate and low rates, periods from 1 to 12, tracebacks, and lines
//! whose only change is a random latency.

use super::scenarios::{iso, name, xdist_session_of, Rng, Timeline};
use crate::sample::Stream;

/// Healthy compile-then-train output for the first `seconds`, to precede a loop.
fn healthy_prefix(t: &mut Timeline, seconds: f64) {
    let mut rng = Rng::new(99);
    let lines = (seconds / 0.05) as usize;
    t.every(0.0, 0.05, lines, |i| {
        if i < lines / 2 {
            format!("   Compiling {} v0.{}.{}", name(i), i % 7, i % 13)
        } else {
            format!("epoch 1/3 step {} loss={:.4}", i * 4, rng.range(0.2, 0.9))
        }
    });
}

fn assert_fires_within(t: &mut Timeline, onset: f64, limit: f64, what: &str) -> String {
    let outcome = t.run(onset + 30.0);
    let delay = outcome.delay_after(onset);
    let summary = outcome.reason.map(|r| r.summary).unwrap_or_default();
    assert!(
        delay >= 0.0,
        "{what}: fired before the loop began ({delay:.2} s): {summary}"
    );
    assert!(
        delay <= limit,
        "{what}: fired {delay:.2} s after onset (limit {limit} s): {summary}"
    );
    summary
}

#[test]
fn tight_identical_line_loop() {
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 5.0);
    t.every(5.0, 0.0005, 60_000, |_| "polling job status: pending".into());
    t.cpu(0.0, 40.0, |s| if s > 5.0 { 100.0 } else { 150.0 });
    let summary = assert_fires_within(&mut t, 5.0, 2.5, "tight loop");
    assert!(
        summary.starts_with("output loop: same line repeated "),
        "{summary}"
    );
}

#[test]
fn error_retry_loop_with_changing_fields() {
    let mut rng = Rng::new(7);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    t.every_on(Stream::Stderr, 3.0, 0.02, 1500, |i| {
        let at = 3.0 + 0.02 * i as f64;
        format!(
            "{} ERROR attempt {} failed: connection refused (request_id={}, took {}ms)",
            iso(at),
            i + 1,
            rng.hex(12),
            rng.below(30)
        )
    });
    t.cpu(0.0, 40.0, |_| 35.0);
    let summary = assert_fires_within(&mut t, 3.0, 2.5, "retry loop");
    assert!(summary.contains("error wording"), "{summary}");
}

#[test]
fn multi_line_agent_cycle_with_uuids() {
    let mut rng = Rng::new(8);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 4.0);
    t.passes(4.0, 0.2, 150, |_| {
        let id = rng.uuid();
        vec![
            format!("[agent] step {id}: thinking"),
            format!(
                "[agent] tool call search(query=\"open issues\") call_id={}",
                rng.uuid()
            ),
            format!("[agent] tool result: 0 items ({}ms)", rng.below(90)),
            "[agent] no results, trying again".into(),
        ]
    });
    t.cpu(0.0, 40.0, |_| 8.0);
    let summary = assert_fires_within(&mut t, 4.0, 2.5, "agent cycle");
    assert!(summary.contains("4-line cycle"), "{summary}");
}

#[test]
fn json_lines_loop() {
    let mut rng = Rng::new(9);
    let mut t = Timeline::new();
    t.every(0.0, 0.01, 3000, |i| {
        format!(
            r#"{{"ts":"{}","level":"info","msg":"calling model","request_id":"{}","latency_ms":{},"tokens":512}}"#,
            iso(0.01 * i as f64), rng.uuid(), rng.below(900)
        )
    });
    t.cpu(0.0, 40.0, |_| 60.0);
    assert_fires_within(&mut t, 0.0, 2.5, "JSON lines");
}

#[test]
fn stderr_only_loop() {
    let mut rng = Rng::new(10);
    let mut t = Timeline::new();
    t.every_on(Stream::Stderr, 1.0, 0.005, 8000, |_| {
        format!("warning: cache miss for key user:{}", rng.hex(10))
    });
    t.cpu(0.0, 40.0, |_| 99.0);
    assert_fires_within(&mut t, 1.0, 2.5, "stderr loop");
}

#[test]
fn ansi_coloured_loop() {
    let mut rng = Rng::new(11);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.every(2.0, 0.01, 3000, |_| {
        format!("\x1b[1;33mWAIT\x1b[0m \x1b[2m{}\x1b[0m lock \x1b[36m/var/run/app.lock\x1b[0m still held by pid {}", iso(rng.range(0.0, 9.0)), 4242)
    });
    assert_fires_within(&mut t, 2.0, 2.5, "ANSI loop");
}

#[test]
fn moderate_rate_loop_without_cpu() {
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 6.0);
    t.every(6.0, 0.05, 600, |i| {
        format!(
            "{} waiting for lock /var/run/app.lock (held by pid 4242)",
            iso(6.0 + 0.05 * i as f64)
        )
    });
    t.cpu(0.0, 40.0, |_| 2.0);
    assert_fires_within(&mut t, 6.0, 2.5, "moderate loop");
}

#[test]
fn low_cpu_agent_waiting_on_a_model() {
    let mut rng = Rng::new(12);
    let mut t = Timeline::new();
    let mut at = 2.0;
    for _ in 0..120 {
        t.line(at, Stream::Stdout, "Thought: I should look up the file again.");
        t.line(
            at + 0.001,
            Stream::Stdout,
            "Action: read_file(path=\"src/main.rs\")",
        );
        t.line(at + 0.002, Stream::Stdout, "Observation: file not found");
        at += rng.range(0.1, 0.5);
    }
    t.cpu(0.0, 60.0, |_| 1.5);
    assert_fires_within(&mut t, 2.0, 2.5, "low-CPU agent");
}

#[test]
fn healthy_then_loop_is_caught_from_its_onset() {
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 20.0);
    t.every(20.0, 0.004, 5000, |_| {
        "retrying request to https://api.example.com/v1/jobs".into()
    });
    t.cpu(0.0, 60.0, |_| 100.0);
    assert_fires_within(&mut t, 20.0, 2.5, "healthy then loop");
}

#[test]
fn alternating_pair() {
    let mut t = Timeline::new();
    t.every(0.5, 0.1, 400, |i| {
        if i % 2 == 0 {
            "state: A -> B".into()
        } else {
            "state: B -> A".into()
        }
    });
    assert_fires_within(&mut t, 0.5, 2.5, "A-B-A-B");
}

#[test]
fn five_and_twelve_line_cycles() {
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    t.passes(3.0, 0.1, 300, |_| {
        (0..5)
            .map(|j| format!("stage {} of pipeline etl: nothing to do", name(j)))
            .collect()
    });
    assert_fires_within(&mut t, 3.0, 2.5, "5-line cycle");

    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    t.passes(3.0, 0.1, 300, |_| {
        (0..12)
            .map(|j| format!("scan shard {} -> empty", name(j)))
            .collect()
    });
    let summary = assert_fires_within(&mut t, 3.0, 2.5, "12-line cycle");
    assert!(summary.contains("12-line cycle"), "{summary}");
}

#[test]
fn traceback_loop() {
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    t.passes(3.0, 0.15, 200, |_| {
        vec![
            "Traceback (most recent call last):".into(),
            "  File \"/app/worker.py\", line 42, in <module>".into(),
            "    main()".into(),
            "  File \"/app/worker.py\", line 17, in main".into(),
            "    conn = connect(DSN)".into(),
            "ConnectionRefusedError: [Errno 111] Connection refused".into(),
            "Retrying in 0.1s...".into(),
        ]
    });
    let summary = assert_fires_within(&mut t, 3.0, 2.5, "traceback loop");
    assert!(summary.contains("7-line cycle"), "{summary}");
}

#[test]
fn only_a_random_latency_varies() {
    let mut rng = Rng::new(13);
    let mut t = Timeline::new();
    t.every(1.0, 0.03, 1000, |_| {
        format!("GET /api/status -> 200 latency_ms={}", rng.below(500))
    });
    assert_fires_within(&mut t, 1.0, 2.5, "random latency (integer)");

    let mut t = Timeline::new();
    t.every(1.0, 0.03, 1000, |_| {
        format!("call finished in {:.3}s", rng.range(0.01, 0.5))
    });
    assert_fires_within(&mut t, 1.0, 2.5, "random latency (duration)");
}

#[test]
fn slow_error_loop_within_five_seconds() {
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.every(2.0, 0.2, 200, |i| {
        format!(
            "{} job 17 failed: upstream unavailable",
            iso(2.0 + 0.2 * i as f64)
        )
    });
    assert_fires_within(&mut t, 2.0, 5.0, "slow error loop");
}

#[test]
fn agent_numbering_its_stuck_steps() {
    let mut rng = Rng::new(14);
    let mut t = Timeline::new();
    t.passes(1.0, 0.025, 2000, |step| {
        let id = rng.uuid();
        vec![
            format!("--- step {} ---", step + 1),
            "Thought: The test still fails. I should read the database config.".into(),
            format!("Action: read_file {{\"path\": \"config/database.yml\"}} (call_id={id})"),
            format!("Observation: [{id}] Error: ENOENT: no such file or directory"),
            "Thought: The file could not be read. Let me try reading it again.".into(),
        ]
    });
    t.cpu(0.0, 60.0, |_| 25.0);
    let summary = assert_fires_within(&mut t, 1.0, 5.0, "agent numbering its steps");
    assert!(summary.contains("5-line cycle"), "{summary}");
}

#[test]
fn crash_loop_with_a_new_pid_each_time() {
    let mut t = Timeline::new();
    t.passes(0.5, 0.25, 200, |n| {
        let mut lines = vec![format!("supervisord: spawned 'worker' with pid {}", 20111 + n)];
        lines.extend(
            [
                "loading config /etc/app/config.toml",
                "connecting to redis://cache:6379/0",
                "connected (redis 7.2.3)",
            ]
            .map(String::from),
        );
        lines.extend(["orders", "payments", "emails", "audit"].map(|c| format!("consumer '{c}' ready")));
        lines.push("worker: panic: runtime error: invalid memory address or nil pointer dereference".into());
        lines.push("supervisord: 'worker' exited: status 2; not expected".into());
        lines.push("supervisord: restarting 'worker' (backoff 0s)".into());
        lines
    });
    let summary = assert_fires_within(&mut t, 0.5, 2.5, "crash loop");
    assert!(
        summary.contains("11-line cycle") || summary.contains("12-line cycle"),
        "{summary}"
    );
}

#[test]
fn traceback_on_stderr_interleaving_differently_each_pass() {
    let mut rng = Rng::new(15);
    let traceback = [
        "Traceback (most recent call last):",
        "  File \"/app/worker.py\", line 30, in <module>",
        "    run_job()",
        "  File \"/app/worker.py\", line 12, in get_timeout",
        "    return cfg[\"settings\"][\"timeout\"]",
        "TypeError: 'NoneType' object is not subscriptable",
    ];
    let mut t = Timeline::new();
    for pass in 0..300 {
        let at = 1.0 + 0.05 * pass as f64;
        // The pipes are read in whichever order they became ready: the stdout line that
        // follows the traceback sometimes overtakes part of it.
        let overtake = if rng.below(5) == 0 {
            rng.below(6) as usize
        } else {
            6
        };
        t.line(at, Stream::Stdout, "worker: starting job sync-inventory");
        for (j, line) in traceback.iter().enumerate() {
            if j == overtake {
                let just_before = at + 0.001 + 0.0001 * j as f64 - 0.00005;
                t.line(just_before, Stream::Stdout, "worker: job crashed, restarting");
            }
            t.line(at + 0.001 + 0.0001 * j as f64, Stream::Stderr, line);
        }
        if overtake == 6 {
            t.line(at + 0.002, Stream::Stdout, "worker: job crashed, restarting");
        }
    }
    assert_fires_within(&mut t, 1.0, 2.5, "traceback with varying interleaving");
}

#[test]
fn deep_traceback_longer_than_sixteen_lines() {
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.1, 200, |_| {
        let mut lines = vec![
            "worker: starting job".to_string(),
            "Traceback (most recent call last):".into(),
        ];
        for frame in 0..10 {
            lines.push(format!(
                "  File \"/app/lib/{}.py\", line {}, in call",
                name(frame),
                10 + frame
            ));
            lines.push(format!("    return {}(request)", name(frame + 1)));
        }
        lines.push("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api', port=443)".into());
        lines.push("worker: crashed, restarting".into());
        lines
    });
    let summary = assert_fires_within(&mut t, 2.0, 2.5, "deep traceback");
    assert!(summary.contains("24-line cycle"), "{summary}");
}

#[test]
fn the_same_tool_call_after_an_apology_worded_anew_each_time() {
    let mut t = Timeline::new();
    let words = [
        "I apologize.",
        "Sorry about that.",
        "My mistake.",
        "You're right.",
        "I see the issue.",
        "Hmm.",
    ];
    let verbs = [
        "Let me try the edit again",
        "I'll retry the replacement",
        "Let me apply it once more",
        "I'll redo it",
    ];
    let ends = ["carefully.", "now.", "with the exact text.", "and run the tests."];
    t.passes(0.5, 0.2, 200, |n| {
        vec![
            format!("assistant: {} {} {}", words[n % 6], verbs[n / 6 % 4], ends[n / 24 % 4]),
            r#"tool_use: Edit {"file_path": "app/pagination.py", "old_string": "end - 1", "new_string": "end"}"#.into(),
            "tool_result: String to replace not found in file.".into(),
        ]
    });
    let summary = assert_fires_within(&mut t, 0.5, 5.0, "reworded apologies");
    assert!(
        summary.contains("block repeated") && summary.contains("reworded"),
        "{summary}"
    );
}

#[test]
fn a_frozen_percentage_does_not_protect_a_loop_for_long() {
    let mut t = Timeline::new();
    t.passes(0.5, 0.08, 400, |_| {
        vec![
            "tests/test_billing.py::test_refund_idempotent RERUN      [ 28%]".into(),
            "WARNING  billing.client:client.py:88 upstream 502, giving up".into(),
        ]
    });
    assert_fires_within(&mut t, 0.5, 5.0, "pytest RERUN forever");
}

#[test]
fn a_countdown_that_starts_over_counts_the_loop_not_progress() {
    let mut t = Timeline::new();
    t.passes(0.5, 0.12, 300, |_| {
        let mut lines =
            vec!["license: error -15: Cannot connect to license server (Connection refused)".to_string()];
        lines.extend((1..=3).rev().map(|n| format!("license: retrying in {n}...")));
        lines
    });
    assert_fires_within(&mut t, 0.5, 2.5, "wrapping countdown");
}

/// Passes of `lines` at a pace that wanders like work: `gap(rng)` seconds apart from
/// `start`, the lines of a pass 5 ms apart; `count` passes.
fn paced_passes(
    t: &mut Timeline,
    start: f64,
    count: usize,
    rng: &mut Rng,
    gap: impl Fn(&mut Rng) -> f64,
    mut lines: impl FnMut(usize, &mut Rng) -> Vec<String>,
) {
    let mut at = start;
    for n in 0..count {
        for (j, text) in lines(n, rng).into_iter().enumerate() {
            t.line(at + 0.005 * j as f64, Stream::Stdout, text);
        }
        at += gap(rng);
    }
}

/// An agent's pass from 0.5 s on, 60 times at a model's pace (`gap` seconds apart): a
/// sentence drawn from `say`, then the same `call` and the same `result` every time.
fn reworded_agent_passes(
    t: &mut Timeline,
    seed: u64,
    gap: (f64, f64),
    say: &[&str],
    call: &str,
    result: &str,
) {
    let mut rng = Rng::new(seed);
    paced_passes(
        t,
        0.5,
        60,
        &mut rng,
        |r| r.range(gap.0, gap.1),
        |_, r| {
            vec![
                format!("assistant: {}", say[r.below(say.len() as u64) as usize]),
                call.to_string(),
                result.to_string(),
            ]
        },
    );
}

#[test]
fn a_slow_rebuild_loop_that_costs_cpu_every_pass() {
    // A watcher whose build rewrites a watched file: the same block about once a second,
    // a build's worth of CPU each time, nothing failing and nothing counting.
    let mut rng = Rng::new(41);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    paced_passes(
        &mut t,
        2.0,
        60,
        &mut rng,
        |r| r.range(0.8, 1.1),
        |_, _| {
            vec![
                "[Running 'make all']".into(),
                "cc -O2 -c src/main.c -o build/main.o".into(),
                "cc -o build/app build/main.o".into(),
                "[Finished running. Exit status: 0]".into(),
            ]
        },
    );
    t.cpu(0.0, 80.0, |_| 65.0);
    // Within five of its passes (about 0.95 s each).
    let summary = assert_fires_within(&mut t, 2.0, 4.75, "slow rebuild loop");
    assert!(summary.contains("a slow loop of work"), "{summary}");
}

#[test]
fn a_slow_agent_asking_the_same_thing_in_a_few_phrasings() {
    // The same tool call and the same empty result at a model's pace, the sentence before it
    // drawn from four stock phrasings; almost no CPU.
    let say = [
        "Let me look for the loader.",
        "I'll search for the loader again.",
        "I need the loader definition first.",
        "Searching for the loader.",
    ];
    let mut t = Timeline::new();
    reworded_agent_passes(
        &mut t,
        12,
        (0.7, 1.3),
        &say,
        r#"tool_call: search_code {"query": "def load_config"}"#,
        "tool_result: 0 results",
    );
    t.cpu(0.0, 80.0, |_| 3.0);
    let summary = assert_fires_within(&mut t, 0.5, 5.5, "slow agent loop");
    assert!(summary.contains("a slow loop of work"), "{summary}");
}

#[test]
fn a_two_line_tool_call_with_the_same_empty_result() {
    // A tool call and its empty result, nothing else: JSON-RPC with a fresh id each call, at
    // a model's pace (about a pass a second), no failure words, no CPU.
    let mut rng = Rng::new(23);
    let mut t = Timeline::new();
    paced_passes(
        &mut t,
        1.0,
        60,
        &mut rng,
        |r| r.range(0.6, 1.4),
        |n, _| {
            vec![
                format!(
                    r#"{{"jsonrpc": "2.0", "id": {}, "method": "tools/call", "params": {{"name": "search_docs", "arguments": {{"query": "rate limits"}}}}}}"#,
                    n + 7
                ),
                format!(
                    r#"{{"jsonrpc": "2.0", "id": {}, "result": {{"content": [], "isError": false}}}}"#,
                    n + 7
                ),
            ]
        },
    );
    t.cpu(0.0, 80.0, |_| 2.0);
    // Within five of its passes (about a second each) and the short hold.
    let summary = assert_fires_within(&mut t, 1.0, 5.75, "two-line empty-result loop");
    assert!(summary.contains("2-line call and empty result"), "{summary}");
    assert!(
        !summary.contains("error wording"),
        "isError: false is no failure: {summary}"
    );
}

#[test]
fn a_fixed_pace_rerun_of_a_failing_block() {
    // `until tool; do sleep 1; done` around a tool that fails the same way: a five-line block
    // at a timer's pace, no CPU, nothing moving.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 1.0, 60, |_| {
        vec![
            "Info: Using environment 'production'".into(),
            "Info: Retrieving plugin".into(),
            "Error: Could not retrieve catalog from remote server: Error 500 on SERVER".into(),
            "Warning: Not using cache on failed catalog".into(),
            "Error: Could not retrieve catalog; skipping run".into(),
        ]
    });
    t.cpu(0.0, 80.0, |_| 1.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0, "fixed-pace re-run loop");
    assert!(summary.contains("a re-run loop"), "{summary}");
}

#[test]
fn failure_words_in_a_searched_name_keep_a_slow_loop_on_its_path() {
    // The same grep for a name that holds "Retry" and "Error", the same empty result, a
    // sentence from four phrasings before it: failure words must only add.
    let say = [
        "Let me find the retry error handler.",
        "I'll search for the handler again.",
        "The handler should be under src/errors.",
        "Searching for the handler definition.",
    ];
    let mut t = Timeline::new();
    reworded_agent_passes(
        &mut t,
        31,
        (0.6, 1.3),
        &say,
        "exec rg -n 'class RetryErrorHandler' src/errors",
        "  No matches found",
    );
    t.cpu(0.0, 80.0, |_| 3.0);
    let summary = assert_fires_within(&mut t, 0.5, 5.5, "slow loop with failure words in names");
    // Its sentences are prose after a label: the passes differ only in their wording.
    assert!(summary.contains("a paraphrase loop"), "{summary}");
}

#[test]
fn a_request_and_the_same_error_paced_by_the_network() {
    // A script re-requesting a URL that answers 404, about 1.4 times a second (round trips
    // of 0.35-1.1 s), a fresh request id each time: a failing two-line pass faster than a
    // heartbeat, which the short hold of a slow loop decides.
    let mut rng = Rng::new(47);
    let mut t = Timeline::new();
    let mut at = 1.0;
    for _ in 0..60 {
        let id = rng.hex(12);
        t.line(
            at,
            Stream::Stdout,
            "GET https://api.example.com/repos/acme/widget-cli/releases/tags/v3.2.0",
        );
        at += rng.range(0.35, 1.1);
        t.line(
            at,
            Stream::Stdout,
            format!("gh: Not Found (HTTP 404) request-id={id}"),
        );
    }
    let summary = assert_fires_within(&mut t, 1.0, 4.5, "request and the same 404");
    assert!(summary.contains("2-line call and failed result"), "{summary}");
}

#[test]
fn a_json_tool_call_whose_text_is_reworded_every_pass() {
    // A function-calling agent logging JSON lines: a sentence composed anew every pass
    // (hardly two alike) with the same tool call, then the same empty result; fresh call
    // ids, a model's pace of about a pass a second, no failure words, no CPU.
    let lead = ["Let me", "I will", "Now I'll", "I should", "OK, I'll"];
    let act = [
        "fetch the invoices",
        "look up the invoices",
        "query the invoice store",
        "list the invoices",
    ];
    let tail = [
        "for March.",
        "for the customer again.",
        "once more.",
        "to check the totals.",
        "with the same filter.",
    ];
    let mut rng = Rng::new(77);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    paced_passes(
        &mut t,
        2.0,
        60,
        &mut rng,
        |r| r.range(0.7, 1.3),
        |_, r| {
            let id = r.hex(24);
            let say = format!(
                "{} {} {}",
                lead[r.below(5) as usize],
                act[r.below(4) as usize],
                tail[r.below(5) as usize]
            );
            vec![
                format!(
                    r#"{{"role": "assistant", "content": "{say}", "tool_calls": [{{"id": "call_{id}", "function": {{"name": "list_invoices", "arguments": "{{\"customer\": \"c-1042\", \"month\": \"2026-03\"}}"}}}}]}}"#
                ),
                format!(r#"{{"role": "tool", "tool_call_id": "call_{id}", "content": "[]"}}"#),
            ]
        },
    );
    t.cpu(0.0, 80.0, |_| 2.0);
    // Within five of its passes (about a second each).
    let summary = assert_fires_within(&mut t, 2.0, 5.0, "reworded JSON tool-call loop");
    assert!(summary.contains("a paraphrase loop"), "{summary}");
}

/// An agent graph's steps from 1 s on: the SQL tool call (a fresh id, the model's token
/// counts) and the same failing tool message, a pass every `pace` seconds (drawn evenly);
/// also the end of the fifth pass.
fn sql_tool_steps(seed: u64, passes: usize, pace: (f64, f64)) -> (Timeline, f64) {
    let mut rng = Rng::new(seed);
    let mut t = Timeline::new();
    let (mut at, mut fifth) = (1.0, 0.0);
    for n in 0..passes {
        let id = rng.hex(24);
        t.line(
            at,
            Stream::Stdout,
            format!(
                "{{'agent': {{'tool_calls': [{{'id': 'call_{id}', 'name': 'sql_db_query', 'args': {{'query': 'SELECT COUNT(*) FROM shipments'}}}}], 'token_usage': {{'prompt_tokens': {}, 'completion_tokens': {}}}}}}}",
                800 + rng.below(600),
                38 + rng.below(4)
            ),
        );
        t.line(
            at + 0.1,
            Stream::Stdout,
            format!(
                "{{'tools': {{'content': 'Error: no such table: shipments', 'tool_call_id': 'call_{id}'}}}}"
            ),
        );
        if n == 4 {
            fifth = at + 0.1;
        }
        at += rng.range(pace.0, pace.1);
    }
    (t, fifth)
}

#[test]
fn a_slow_two_line_call_with_jittering_metadata_and_the_same_error() {
    // An agent graph printing each step: the call (fresh id, token counts that jitter) and
    // the same failing tool message, a pass every 0.8-3 s as a model answers, no CPU.
    let (mut t, fifth) = sql_tool_steps(5, 40, (0.8, 3.0));
    t.cpu(0.0, 120.0, |_| 2.0);
    // By the end of its fifth pass, plus the short hold and an evaluation.
    let summary = assert_fires_within(
        &mut t,
        1.0,
        fifth - 1.0 + 0.5,
        "slow two-line call with the same error",
    );
    assert!(summary.contains("2-line call and failed result"), "{summary}");
}

#[test]
fn a_failing_table_with_a_wall_clock_timestamp_is_still_a_rerun_loop() {
    // The same failing block re-run every second, stamped with the wall clock: a timestamp
    // rises with the clock too, but it is a time, not the age of something waited on.
    let mut t = Timeline::new();
    t.passes(0.5, 1.0, 40, |n| {
        vec![
            format!("[{}] + helm upgrade --install web ./chart", iso(600.0 + n as f64)),
            "Error: UPGRADE FAILED: cannot patch \"web\" with kind Deployment: field is immutable".into(),
            format!("[{}] deploy failed", iso(600.2 + n as f64)),
        ]
    });
    let summary = assert_fires_within(&mut t, 0.5, 5.5, "failing re-run stamped with the wall clock");
    assert!(summary.contains("a re-run loop"), "{summary}");
}

#[test]
fn token_counts_of_the_call_are_not_progress() {
    // A function-calling agent repeating the same lookup with the same error: prompt tokens
    // grow with the conversation and completion tokens happen to fall three times in a row
    // (41, 40, 39, 38): usage numbers measure the call, they are no countdown of work.
    let mut rng = Rng::new(19);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut prompt = 412;
    paced_passes(
        &mut t,
        2.0,
        60,
        &mut rng,
        |r| r.range(0.6, 1.2),
        |n, r| {
            let id = r.hex(24);
            prompt += 70 + r.below(25);
            let completion = if n < 4 { 41 - n as u64 } else { 36 + r.below(8) };
            vec![
                format!(
                    r#"{{"role": "assistant", "tool_calls": [{{"id": "call_{id}", "function": {{"name": "lookup_order", "arguments": "{{\"order_id\": \"A-10442\"}}"}}}}], "usage": {{"prompt_tokens": {prompt}, "completion_tokens": {completion}}}}}"#
                ),
                format!(
                    r#"{{"role": "tool", "tool_call_id": "call_{id}", "content": "{{\"error\": \"order not found\"}}"}}"#
                ),
            ]
        },
    );
    t.cpu(0.0, 80.0, |_| 2.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0, "tool call with growing token counts");
    assert!(summary.contains("2-line call and failed result"), "{summary}");
}

#[test]
fn a_reworded_message_after_a_speaker_tag_at_a_steady_model_pace() {
    // An agent's output channel (`[assistant] ...`, `[tool_use] ...`, `[tool_result] ...`)
    // listing an empty directory again and again, its message reworded behind the tag, at a
    // pace that wanders by only a few per cent (a model answering in about the same time).
    let say = [
        "Let me check which components already exist.",
        "Let me list the files in src/components to see the structure.",
        "I'll look at the components directory again.",
        "I need to see what is in src/components.",
    ];
    let mut t = Timeline::new();
    let mut rng = Rng::new(23);
    paced_passes(
        &mut t,
        0.5,
        60,
        &mut rng,
        |r| r.range(1.12, 1.26),
        |_, r| {
            vec![
                format!("[assistant] {}", say[r.below(4) as usize]),
                r#"[tool_use] list_files {"path": "src/components", "recursive": false}"#.into(),
                "[tool_result] No files found.".into(),
            ]
        },
    );
    t.cpu(0.0, 80.0, |_| 1.0);
    // Within its fifth pass (a pass every ~1.2 s), plus the short hold.
    let summary = assert_fires_within(&mut t, 0.5, 5.4, "reworded message after a speaker tag");
    assert!(summary.contains("a paraphrase loop"), "{summary}");
}

#[test]
fn a_reworded_call_whose_own_timing_jitters_and_the_same_empty_result() {
    // A local model server's chat responses (Ollama's /api/chat): the reworded message and
    // the same tool call with the server's timing of the call in nanoseconds (ten digits on
    // one pass, nine on the next) and its token counts, then the same empty tool result.
    // The call's own numbers say nothing about the result, which never changes.
    let say = [
        "I will search your notes for the meeting summary.",
        "Let me look through the notes again.",
        "Searching the notes once more.",
        "I should check the notes for that meeting.",
    ];
    let mut rng = Rng::new(41);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut prompt = 903;
    paced_passes(
        &mut t,
        2.0,
        60,
        &mut rng,
        |r| r.range(0.8, 1.4),
        |_, r| {
            prompt += 60 + r.below(20);
            vec![
                format!(
                    r#"{{"model": "llama3.1:8b", "message": {{"role": "assistant", "content": "{}", "tool_calls": [{{"function": {{"name": "search_notes", "arguments": {{"query": "roadmap"}}}}}}]}}, "done": true, "total_duration": {}, "prompt_eval_count": {prompt}, "eval_count": {}}}"#,
                    say[r.below(4) as usize],
                    500_000_000 + r.below(1_000_000_000),
                    28 + r.below(20)
                ),
                r#"{"role": "tool", "content": "[]"}"#.into(),
            ]
        },
    );
    t.cpu(0.0, 80.0, |_| 2.0);
    // Within five of its passes (about a second each).
    let summary = assert_fires_within(&mut t, 2.0, 6.0, "reworded call with its own timing");
    assert!(summary.contains("a paraphrase loop"), "{summary}");
}

#[test]
fn one_json_line_per_step_holding_a_reworded_call_and_the_same_error() {
    // An agent framework's step callback logging each step as one JSON line: the text
    // composed anew, the same tool call with a fresh call id, the same error result, token
    // usage growing. A pass is one line, and no two lines share a template.
    let a = [
        "Let me fetch the invoice again.",
        "I will look up that invoice once more.",
        "Trying to retrieve the invoice details.",
    ];
    let b = [
        "The last call may have hit a sync delay",
        "It could be a transient backend issue",
        "Billing usually has it by now",
    ];
    let c = [
        "so I will call the tool.",
        "so another call should work.",
        "before I write the reply.",
    ];
    let mut rng = Rng::new(53);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut prompt = 640;
    paced_passes(
        &mut t,
        2.0,
        60,
        &mut rng,
        |r| r.range(0.8, 1.7),
        |_, r| {
            let id = r.hex(24);
            prompt += 90 + r.below(30);
            vec![format!(
                r#"{{"stepType":"tool-result","text":"{} {}, {}","toolCalls":[{{"toolCallId":"call_{id}","toolName":"getInvoice","args":{{"invoiceId":"INV-00917"}}}}],"toolResults":[{{"toolCallId":"call_{id}","result":{{"error":"invoice not found"}}}}],"usage":{{"promptTokens":{prompt},"completionTokens":{}}}}}"#,
                a[r.below(3) as usize],
                b[r.below(3) as usize],
                c[r.below(3) as usize],
                40 + r.below(25)
            )]
        },
    );
    t.cpu(0.0, 80.0, |_| 2.0);
    // Within five of its passes (about 1.25 s each).
    let summary = assert_fires_within(&mut t, 2.0, 6.5, "one JSON line per step, reworded");
    assert!(summary.contains("a paraphrase loop"), "{summary}");
}

#[test]
fn the_same_warnings_at_the_same_places_are_still_a_loop() {
    // A watch-mode build whose generator rewrites a watched file: every rebuild prints the
    // same six warnings at the same six places, in the same order, then fails. Six places
    // are a walk's worth, but they come round in a fixed turn: the same code re-run.
    let places = [12, 40, 77, 103, 150, 188];
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.4, 150, |_| {
        let mut pass: Vec<String> = places
            .iter()
            .map(|n| format!("src/gen.c:{n}:5: warning: implicit declaration of function 'emit'"))
            .collect();
        pass.push("make: *** [Makefile:12: all] Error 1".to_string());
        pass.push("[watch] change detected in src/gen.c, rebuilding".to_string());
        pass
    });
    t.cpu(0.0, 80.0, |_| 60.0);
    assert_fires_within(&mut t, 2.0, 5.0, "the same warnings in a fixed turn");
}

#[test]
fn a_migration_rerun_whose_statement_fails_is_still_a_loop() {
    // `until psql -f migrate.sql; do :; done` on a migration that fails every time: result
    // tags around the error, but the error is no statement's result.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.05, 600, |_| {
        vec![
            "BEGIN".to_string(),
            "CREATE TABLE".to_string(),
            r#"psql:migrate.sql:7: ERROR:  relation "accounts" does not exist"#.to_string(),
            "ROLLBACK".to_string(),
        ]
    });
    t.cpu(0.0, 40.0, |_| 70.0);
    assert_fires_within(&mut t, 2.0, 3.0, "a failing migration re-run");
}

/// `[2024-05-01 10:00:00 +0000]`, gunicorn's time, `t` seconds after 10:00.
fn gunicorn_time(t: f64) -> String {
    let s = t as u64;
    format!("[2024-05-01 10:{:02}:{:02} +0000]", s / 60 % 60, s % 60)
}

#[test]
fn a_master_booting_worker_after_worker_that_is_killed_at_boot() {
    // A gunicorn master whose worker the OOM killer stops two seconds into its boot: the
    // same four lines every ~2.3 s, a fresh worker pid on three of them (rising by one to
    // three, as pids do), timestamps; no CPU, no counter but the pid.
    let mut rng = Rng::new(71);
    let mut t = Timeline::new();
    let (mut at, mut pid, mut fourth) = (0.5, 7u64, 0.0);
    for n in 0..25 {
        t.line(
            at,
            Stream::Stderr,
            format!(
                "{} [{pid}] [INFO] Booting worker with pid: {pid}",
                gunicorn_time(at)
            ),
        );
        t.line(
            at + 0.4,
            Stream::Stderr,
            "INFO:ranker.model:loading ranker-v7 weights (1.9 GiB)",
        );
        t.line(
            at + 1.2,
            Stream::Stderr,
            "INFO:ranker.model:building the ANN index",
        );
        let killed = at + rng.range(2.1, 2.3);
        t.line(
            killed,
            Stream::Stderr,
            format!(
                "{} [1] [ERROR] Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?",
                gunicorn_time(killed)
            ),
        );
        if n == 3 {
            fourth = killed;
        }
        pid += 1 + rng.below(3);
        at = killed + 0.1;
    }
    t.cpu(0.0, 70.0, |_| 1.0);
    // By the end of its fourth pass, plus the short hold and the evaluations around it.
    let summary = assert_fires_within(&mut t, 0.5, fourth - 0.5 + 0.75, "worker killed at boot");
    assert!(summary.contains("a restart loop"), "{summary}");
}

#[test]
fn a_task_restarted_after_a_fixed_delay_that_reports_only_its_exit_code() {
    // A Nomad client's task events: the task exits 1, the client restarts it after a
    // jittered two seconds, a new container id each time. No failure word anywhere
    // (`failed=false`), only the exit code says it crashed.
    let mut rng = Rng::new(72);
    let mut t = Timeline::new();
    let alloc = rng.uuid();
    let (mut at, mut fourth) = (0.5, 0.0);
    for n in 0..20 {
        let event = |kind: &str, msg: &str| {
            format!("{} [INFO]  client.alloc_runner.task_runner: Task event: alloc_id={alloc} task=api type={kind} msg=\"{msg}\" failed=false", iso(at))
        };
        let delay = rng.range(2.0, 2.4);
        t.line(at, Stream::Stdout, event("Terminated", "Exit Code: 1"));
        t.line(
            at + 0.001,
            Stream::Stdout,
            event("Restarting", &format!("Task restarting in {delay:.9}s")),
        );
        let container = rng.hex(32);
        t.line(at + delay, Stream::Stdout, format!("{} [INFO]  client.driver_mgr.docker: started container: driver=docker container_id={container}", iso(at + delay)));
        t.line(
            at + delay + 0.001,
            Stream::Stdout,
            event("Started", "Task started by client"),
        );
        if n == 3 {
            fourth = at + delay;
        }
        at += delay + rng.range(0.2, 0.4);
    }
    t.cpu(0.0, 70.0, |_| 0.5);
    // By the end of its fourth pass, plus the short hold and the evaluations around it.
    let summary = assert_fires_within(
        &mut t,
        0.5,
        fourth - 0.5 + 0.75,
        "task restarted after a fixed delay",
    );
    assert!(summary.contains("a restart loop"), "{summary}");
}

#[test]
fn a_slow_two_line_model_call_at_a_steady_pace_and_the_same_error() {
    // An agent graph printing each step: the call (fresh id, the model's token counts) and
    // the same failing tool message, a pass every 1.7-2.3 s: a model can answer at a pace
    // nearly as steady as a poller's (its spread measures 4-8 % over a few passes), but a
    // poller's request reports no tokens.
    let (mut t, fifth) = sql_tool_steps(73, 30, (1.7, 2.3));
    t.cpu(0.0, 80.0, |_| 2.0);
    let summary = assert_fires_within(&mut t, 1.0, fifth - 1.0 + 0.5, "steady two-line model call");
    assert!(summary.contains("2-line call and failed result"), "{summary}");
}

#[test]
fn a_reworded_call_whose_prose_sometimes_mentions_a_number() {
    // An agent SDK's stream events: the assistant's text composed from parts, one of which
    // mentions a "30-day window"; the same search call with fresh ids; "No results found.".
    let say = [
        "Let me search the knowledge base for the refund policy.",
        "I'll look that up in the knowledge base again.",
        "Searching the help center articles once more.",
    ];
    let more = [
        "It may be filed under returns.",
        "The customer is asking about a 30-day window.",
        "The index may have caught up.",
    ];
    let mut rng = Rng::new(74);
    let mut t = Timeline::new();
    let (mut at, mut fifth) = (0.5, 0.0);
    for n in 0..30 {
        let (a, b) = (say[rng.below(3) as usize], more[rng.below(3) as usize]);
        let call = format!("call_{}", rng.hex(24));
        t.line(at, Stream::Stdout, format!(r#"{{"name": "message_output_created", "item": {{"id": "msg_{}", "content": [{{"type": "output_text", "text": "{a} {b}"}}]}}}}"#, rng.hex(32)));
        t.line(at + 0.01, Stream::Stdout, format!(r#"{{"name": "tool_called", "item": {{"id": "fc_{}", "call_id": "{call}", "name": "search_kb", "arguments": "{{\"query\": \"refund policy\"}}"}}}}"#, rng.hex(32)));
        t.line(
            at + 0.3,
            Stream::Stdout,
            format!(
                r#"{{"name": "tool_output", "item": {{"output": "No results found.", "call_id": "{call}"}}}}"#
            ),
        );
        if n == 4 {
            fifth = at + 0.3;
        }
        at += rng.range(1.2, 2.6);
    }
    t.cpu(0.0, 80.0, |_| 1.0);
    let summary = assert_fires_within(
        &mut t,
        0.5,
        fifth - 0.5 + 0.5,
        "reworded call mentioning a number",
    );
    assert!(summary.contains("a paraphrase loop"), "{summary}");
}

#[test]
fn a_log_follower_rerun_on_a_crashlooping_pod() {
    // `until kubectl logs -f deploy/worker; do sleep 1; done` on a pod in CrashLoopBackOff:
    // the container's start and panic, then kubectl's error, which says "waiting" about the
    // container, not about the job: the kubelet restarting it is the loop. Nothing in its
    // passes moves but the time, so it is the failing block's re-run path that stops it,
    // as its fifth pass begins.
    let mut rng = Rng::new(75);
    let mut t = Timeline::new();
    let (mut at, mut fifth) = (0.5, 0.0);
    for n in 0..20 {
        if n == 4 {
            fifth = at;
        }
        t.line(
            at,
            Stream::Stdout,
            format!("{} INFO starting worker v2.3.1", iso(at)),
        );
        t.line(
            at + 0.05,
            Stream::Stdout,
            format!("{} ERROR config: QUEUE_URL is not set", iso(at + 0.05)),
        );
        t.line(at + 0.06, Stream::Stdout, "panic: config: QUEUE_URL is not set");
        let error = at + rng.range(0.9, 1.3);
        t.line(
            error,
            Stream::Stderr,
            r#"Error from server (BadRequest): container "worker" in pod "worker-5c8d7b9f4-7xk2m" is waiting to start: CrashLoopBackOff"#,
        );
        at = error + rng.range(1.0, 1.4);
    }
    t.cpu(0.0, 60.0, |_| 2.0);
    let summary = assert_fires_within(
        &mut t,
        0.5,
        fifth - 0.5 + 0.75,
        "log follower on a crashlooping pod",
    );
    assert!(summary.contains("a re-run loop"), "{summary}");
}

#[test]
fn a_journal_of_a_unit_restarted_every_two_seconds_as_json() {
    // `journalctl -fu api -o json`: the start, the fatal line, the exit and systemd's
    // scheduled restart with its counter, each entry with a fresh cursor, pid and times.
    let mut rng = Rng::new(76);
    let mut t = Timeline::new();
    let (mut at, mut fourth, mut pid) = (0.5, 0.0, 9000u64);
    for n in 0..20 {
        let entry = |at: f64, pid: u64, message: &str, rng: &mut Rng| {
            format!(
                r#"{{"__CURSOR":"s={};i={}","__REALTIME_TIMESTAMP":"{}","_PID":"{pid}","SYSLOG_IDENTIFIER":"systemd","MESSAGE":"{message}"}}"#,
                rng.hex(32),
                rng.hex(6),
                1_714_557_600_000_000u64 + (at * 1e6) as u64
            )
        };
        t.line(
            at,
            Stream::Stdout,
            entry(at, 1, "Started api.service - Acme API.", &mut rng),
        );
        t.line(
            at + 0.2,
            Stream::Stdout,
            entry(at + 0.2, pid, "fatal: missing DATABASE_URL", &mut rng),
        );
        t.line(
            at + 0.21,
            Stream::Stdout,
            entry(
                at + 0.21,
                1,
                "api.service: Main process exited, code=exited, status=1/FAILURE",
                &mut rng,
            ),
        );
        t.line(
            at + 0.22,
            Stream::Stdout,
            entry(
                at + 0.22,
                1,
                "api.service: Failed with result 'exit-code'.",
                &mut rng,
            ),
        );
        let restart = at + 2.2 + rng.range(0.0, 0.1);
        t.line(
            restart,
            Stream::Stdout,
            entry(
                restart,
                1,
                &format!(
                    "api.service: Scheduled restart job, restart counter is at {}.",
                    n + 1
                ),
                &mut rng,
            ),
        );
        if n == 3 {
            fourth = restart;
        }
        at = restart + 0.01;
        pid += 2 + rng.below(5);
    }
    t.cpu(0.0, 60.0, |_| 1.0);
    let summary = assert_fires_within(
        &mut t,
        0.5,
        fourth - 0.5 + 0.75,
        "journal of a unit restarted as JSON",
    );
    assert!(summary.contains("5-line cycle"), "{summary}");
}

#[test]
fn a_reworded_text_block_with_escaped_newlines_and_quotes() {
    // Content blocks of an agent on a messages API logged as JSON lines: the model's text,
    // JSON-escaped (`\n\n` between its sentences, the query in `\"quotes\"`) and reworded
    // every turn; the same tool_use with a fresh id; the same "No results found.".
    let say = [
        r#"I'll search for \"refund policy EU\" in the help center."#,
        r#"Let me run that search again."#,
        r#"Searching once more for \"refund policy EU\"."#,
        r#"I still have nothing, so I will try the same search again."#,
        r#"One more search should settle it."#,
    ];
    let more = [
        r#"That should tell us the window."#,
        r#"The article may have been indexed by now."#,
        r#"I want to be sure before answering."#,
        r#"The customer asked twice."#,
        r#"Perhaps the wording of the query matters."#,
    ];
    let mut rng = Rng::new(77);
    let mut t = Timeline::new();
    let (mut at, mut fifth) = (0.5, 0.0);
    for n in 0..30 {
        let id = format!("toolu_{}", rng.hex(24));
        let text = format!(
            r#"{}\n\n{}"#,
            say[rng.below(5) as usize],
            more[rng.below(5) as usize]
        );
        t.line(
            at,
            Stream::Stdout,
            format!(r#"{{"type": "text", "text": "{text}"}}"#),
        );
        t.line(
            at + 0.01,
            Stream::Stdout,
            format!(r#"{{"type": "tool_use", "id": "{id}", "name": "web_search", "input": {{"query": "refund policy EU"}}}}"#),
        );
        t.line(
            at + 0.4,
            Stream::Stdout,
            format!(r#"{{"type": "tool_result", "tool_use_id": "{id}", "content": "No results found."}}"#),
        );
        if n == 4 {
            fifth = at + 0.4;
        }
        at += rng.range(1.2, 2.8);
    }
    t.cpu(0.0, 80.0, |_| 1.0);
    let summary = assert_fires_within(&mut t, 0.5, fifth - 0.5 + 0.5, "reworded text block with escapes");
    assert!(summary.contains("a paraphrase loop"), "{summary}");
}

#[test]
fn a_journal_of_a_unit_restarted_every_two_and_a_half_seconds() {
    // `journalctl -fu api` of a unit with Restart=always, RestartSec=2 whose server dies at
    // once: the start, the app's error under a fresh pid, the exit, the failure and the
    // scheduled restart with its counter, a pass every ~2.5 s.
    let mut rng = Rng::new(78);
    let mut t = Timeline::new();
    let (mut at, mut fourth, mut pid) = (0.5, 0.0, 4100u64);
    for n in 0..20 {
        let stamp = |t: f64| format!("May 01 10:{:02}:{:02} web1", (t as u64) / 60, (t as u64) % 60);
        t.line(
            at,
            Stream::Stdout,
            format!("{} systemd[1]: Started api.service - Acme API server.", stamp(at)),
        );
        t.line(
            at + 0.3,
            Stream::Stdout,
            format!(
                "{} node[{pid}]: Error: listen EADDRINUSE: address already in use :::3000",
                stamp(at + 0.3)
            ),
        );
        t.line(
            at + 0.35,
            Stream::Stdout,
            format!(
                "{} systemd[1]: api.service: Main process exited, code=exited, status=1/FAILURE",
                stamp(at + 0.35)
            ),
        );
        t.line(
            at + 0.36,
            Stream::Stdout,
            format!(
                "{} systemd[1]: api.service: Failed with result 'exit-code'.",
                stamp(at + 0.36)
            ),
        );
        let restart = at + 2.36 + rng.range(0.0, 0.1);
        t.line(
            restart,
            Stream::Stdout,
            format!(
                "{} systemd[1]: api.service: Scheduled restart job, restart counter is at {}.",
                stamp(restart),
                n + 1
            ),
        );
        if n == 3 {
            fourth = restart;
        }
        at = restart + 0.01;
        pid += 3 + rng.below(20);
    }
    t.cpu(0.0, 70.0, |_| 1.0);
    let summary = assert_fires_within(
        &mut t,
        0.5,
        fourth - 0.5 + 0.75,
        "journal of a unit restarted every 2.5 s",
    );
    assert!(summary.contains("a restart loop"), "{summary}");
}

#[test]
fn a_linter_re_run_on_the_same_file_is_still_a_loop() {
    // A watcher re-running ESLint on the file it just rewrote: the same header and the same
    // problems every pass. The header names a file, but never a new one.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.3, 200, |_| {
        vec![
            String::new(),
            "/home/dev/shop/src/api/users.js".to_string(),
            "  12:5   error    'session' is not defined         no-undef".to_string(),
            "  40:17  warning  Unexpected console statement     no-console".to_string(),
            "✖ 2 problems (1 error, 1 warning)".to_string(),
        ]
    });
    t.cpu(2.0, 70.0, |_| 60.0);
    assert_fires_within(&mut t, 2.0, 5.0, "a linter re-run on the same file");
    // `until npx eslint users.js; do :; done`: a pass every 1.4 s, Node's start-up at a
    // full core. The problems' places take several values in turn within one template; a
    // place is not a value measured, so nothing in the block moves.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut rng = Rng::new(37);
    let mut at = 2.0;
    for _ in 0..40 {
        let mut pass = vec![String::new(), "/home/dev/shop/src/api/users.js".to_string()];
        for (place, message) in [
            ("1:1", "Unexpected var, use let or const instead"),
            ("1:33", "Extra semicolon"),
            ("4:11", "Extra semicolon"),
            ("5:2", "Extra semicolon"),
        ] {
            pass.push(format!("  {place:<5} error  {message}"));
        }
        pass.push("✖ 4 problems (4 errors, 0 warnings)".to_string());
        for (i, line) in pass.into_iter().enumerate() {
            t.line(at + 0.01 * i as f64, Stream::Stdout, line);
        }
        at += rng.range(1.3, 1.5);
    }
    t.cpu(2.0, 70.0, |_| 100.0);
    assert_fires_within(&mut t, 2.0, 5.0 * 1.5, "a linter re-run every 1.4 s");
}

#[test]
fn a_re_run_of_a_test_whose_failure_report_is_longer_than_a_short_cycle() {
    // `until pytest tests/test_db.py; do :; done` with the database down: pytest's default
    // traceback of one refused connection is 51 lines (the test, the frames of `socket`
    // with their source, the error), printed again every 2.7 s or so at a full core, only
    // the run's duration changing. As on this machine, where it ran for 90 s unstopped.
    let frames = [
        "F                                                                        [100%]",
        "=================================== FAILURES ===================================",
        "___________________________________ test_db ____________________________________",
        "    def test_db():",
        "        import socket",
        ">       socket.create_connection((\"127.0.0.1\", 5499), timeout=1)",
        "tests/test_db.py:3: ",
        "/usr/lib/python3.11/socket.py:851: in create_connection",
        "    raise exceptions[0]",
        "address = ('127.0.0.1', 5499), timeout = 1, source_address = None",
    ];
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut rng = Rng::new(41);
    let mut at = 2.0;
    for _ in 0..30 {
        let mut pass: Vec<String> = frames.iter().map(|f| f.to_string()).collect();
        for i in 0..36 {
            pass.push(format!(
                "        source line {i} of create_connection in socket.py"
            ));
        }
        pass.push("E       ConnectionRefusedError: [Errno 111] Connection refused".to_string());
        pass.push("/usr/lib/python3.11/socket.py:836: ConnectionRefusedError".to_string());
        pass.push(
            "=========================== short test summary info ============================".to_string(),
        );
        pass.push(
            "FAILED tests/test_db.py::test_db - ConnectionRefusedError: [Errno 111] Connection refused"
                .to_string(),
        );
        pass.push(format!("1 failed in {:.2}s", rng.range(1.5, 2.5)));
        for (i, line) in pass.into_iter().enumerate() {
            t.line(at + 0.004 * i as f64, Stream::Stdout, line);
        }
        at += rng.range(2.4, 3.0);
    }
    t.cpu(2.0, 90.0, |_| 95.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0 * 3.0, "a 51-line failure report re-run");
    assert!(summary.contains("51-line cycle"), "{summary}");
}

#[test]
fn a_failing_line_with_a_fresh_numbered_name_each_pass_is_still_a_loop() {
    // An uploader retrying at once, each attempt under a new random part name: names new
    // on every line, but the line fails, so they are a loop's, not items done.
    let mut rng = Rng::new(31);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.every(2.0, 0.05, 600, |_| {
        format!(
            "PUT /v1/uploads/part-{} failed: 503 Service Unavailable",
            rng.below(1_000_000)
        )
    });
    assert_fires_within(&mut t, 2.0, 3.0, "fresh numbered names on a failing line");
}

#[test]
fn a_crash_loop_with_a_stack_trace_longer_than_the_tail_tracker() {
    // A Java service restarted every 1.5 s that dies at start-up: a start line with its
    // fresh pid, 40 framework lines and a 260-frame stack trace of distinct methods, 302
    // lines a pass, more than the tail tracker compares; only the sample sees the cycle.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    t.passes(3.0, 1.5, 40, |p| {
        let mut pass = vec![format!(
            "Starting OrderServiceApplication using Java 17 with PID {}",
            4100 + 37 * p
        )];
        pass.extend((0..40).map(|i| {
            format!(
                "INFO [main] o.s.b.f.s.DefaultListableBeanFactory : Creating bean '{}'",
                name(i)
            )
        }));
        pass.push("ERROR [main] o.s.boot.SpringApplication : Application run failed".into());
        pass.extend((0..260).map(|i| {
            format!(
                "\tat org.example.{}.{}(Source.java:{})",
                name(i),
                name(i + 7),
                10 + i
            )
        }));
        pass
    });
    t.cpu(0.0, 70.0, |_| 60.0);
    let summary = assert_fires_within(&mut t, 3.0, 7.5, "long crash loop");
    assert!(summary.contains("302-line cycle"), "{summary}");
}

#[test]
fn an_agent_stuck_on_one_call_at_a_slow_model_pace() {
    // The same stuck tool call at the pace of a real model (6-12 s an answer): the assistant
    // rewords its message, calls `read_file` on the same path with a fresh id, gets the
    // same content back, and the call reports the tokens it used. Passes this far apart
    // are no status display: stopped within five of them.
    let say = [
        "I'll check the configuration file to find the database settings.",
        "Let me look at the config file again to verify the database URL.",
        "I need to read the configuration once more to understand the connection settings.",
        "Let me re-examine the settings file.",
    ];
    let mut rng = Rng::new(29);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut input_tokens = 1200;
    paced_passes(
        &mut t,
        2.0,
        12,
        &mut rng,
        |r| r.range(6.0, 12.0),
        |_, r| {
            let id = r.hex(22);
            input_tokens += 180 + r.below(40);
            vec![
                format!(
                    r#"{{"role":"assistant","content":[{{"type":"text","text":"{}"}},{{"type":"tool_use","id":"toolu_01{id}","name":"read_file","input":{{"path":"config/settings.yaml"}}}}]}}"#,
                    say[r.below(4) as usize]
                ),
                format!(
                    r#"{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_01{id}","content":"database:\n  url: postgres://localhost:5432/app\n"}}]}}"#
                ),
                format!(
                    r#"{{"usage":{{"input_tokens":{input_tokens},"output_tokens":{}}}}}"#,
                    40 + r.below(50)
                ),
            ]
        },
    );
    t.cpu(0.0, 150.0, |_| 1.0);
    let outcome = t.run(150.0);
    let delay = outcome.delay_after(2.0);
    let summary = outcome.reason.map(|r| r.summary).unwrap_or_default();
    assert!(delay >= 0.0, "stopped: {summary}");
    assert!(
        delay <= 5.0 * 12.0,
        "stopped within five passes, not after {delay:.1} s: {summary}"
    );
}
#[test]
fn a_postgres_restarted_by_a_shell_loop_while_its_port_is_taken() {
    // `while true; do postgres -D ...; sleep 1; done` with the port held by another
    // server: the same six lines every second, each carrying the new postmaster's pid in
    // the log prefix (rising from pass to pass) and PostgreSQL's hint to "wait a few seconds
    // and retry". The pid named a process, not work done; the hint was advice, not a wait.
    let mut rng = Rng::new(52);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut pid = 18_218;
    let mut at = 2.0;
    for _ in 0..40 {
        let ts = format!("{} UTC [{pid}]", iso(at).replace('T', " ").trim_end_matches('Z'));
        let pass = [
            format!("{ts} LOG:  starting PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit"),
            format!("{ts} LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use"),
            format!("{ts} HINT:  Is another postmaster already running on port 5432? If not, wait a few seconds and retry."),
            format!("{ts} WARNING:  could not create listen socket for \"127.0.0.1\""),
            format!("{ts} FATAL:  could not create any TCP/IP sockets"),
            format!("{ts} LOG:  database system is shut down"),
        ];
        for (i, line) in pass.into_iter().enumerate() {
            t.line(at + 0.001 * i as f64, Stream::Stderr, line);
        }
        pid += 2 + rng.below(9) as u32;
        at += rng.range(1.02, 1.05);
    }
    t.cpu(2.0, 60.0, |_| 3.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0 * 1.05 + 0.5, "postgres restarted, port taken");
    assert!(summary.contains("a re-run loop"), "{summary}");
}

#[test]
fn a_redis_server_restarted_while_its_port_is_taken() {
    // `while true; do redis-server --port 6379; sleep 0.5; done` with the port taken: Redis
    // starts every line with its pid and role (`18231:C`, `18231:M`), rising on every
    // restart, and fails the same way about twice a second.
    let mut rng = Rng::new(53);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut pid = 10_319;
    let mut at = 2.0;
    for _ in 0..60 {
        let clock = |role: char, dt: f64| {
            let s = 10.0 + at + dt;
            format!("{pid}:{role} 03 Dec 2026 07:26:{:06.3}", s % 60.0)
        };
        let pass = [
            format!("{} # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo", clock('C', 0.0)),
            format!("{} # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid={pid}, just started", clock('C', 0.01)),
            format!("{} # Configuration loaded", clock('C', 0.01)),
            format!("{} * monotonic clock: POSIX clock_gettime", clock('M', 0.012)),
            format!("{} # Warning: Could not create server TCP listening socket *:6379: bind: Address already in use", clock('M', 0.013)),
            format!("{} # Failed listening on port 6379 (TCP), aborting.", clock('M', 0.013)),
        ];
        for (i, line) in pass.into_iter().enumerate() {
            t.line(at + 0.002 * i as f64, Stream::Stdout, line);
        }
        pid += 5 + rng.below(20) as u32;
        at += rng.range(0.52, 0.56);
    }
    t.cpu(2.0, 60.0, |_| 2.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0, "redis restarted, port taken");
    assert!(summary.contains("6-line cycle"), "{summary}");
}

#[test]
fn a_python_traceback_re_run_every_second() {
    // `while true; do python3 -c 'urllib.request.urlopen(...)'; sleep 1; done` against a
    // closed port: the interpreter's two chained tracebacks (44 lines, carets included)
    // every 1.5 s. Each frame's `line N` is a place in the source; read as counts, the
    // numbers of the frames that share a template seemed to change within every pass.
    let frames = [
        (
            "urllib/request.py",
            1348,
            "do_open",
            "h.request(req.get_method(), req.selector, req.data, headers,",
        ),
        (
            "http/client.py",
            1294,
            "request",
            "self._send_request(method, url, body, headers, encode_chunked)",
        ),
        (
            "http/client.py",
            1340,
            "_send_request",
            "self.endheaders(body, encode_chunked=encode_chunked)",
        ),
        (
            "http/client.py",
            1289,
            "endheaders",
            "self._send_output(message_body, encode_chunked=encode_chunked)",
        ),
        ("http/client.py", 1048, "_send_output", "self.send(msg)"),
        ("http/client.py", 986, "send", "self.connect()"),
        (
            "http/client.py",
            952,
            "connect",
            "self.sock = self._create_connection(",
        ),
        ("socket.py", 851, "create_connection", "raise exceptions[0]"),
        ("socket.py", 836, "create_connection", "sock.connect(sa)"),
    ];
    let outer = [
        (
            "urllib/request.py",
            216,
            "urlopen",
            "return opener.open(url, data, timeout)",
        ),
        (
            "urllib/request.py",
            519,
            "open",
            "response = self._open(req, data)",
        ),
        (
            "urllib/request.py",
            536,
            "_open",
            "result = self._call_chain(self.handle_open, protocol, protocol +",
        ),
        ("urllib/request.py", 496, "_call_chain", "result = func(*args)"),
        (
            "urllib/request.py",
            1377,
            "http_open",
            "return self.do_open(http.client.HTTPConnection, req)",
        ),
        ("urllib/request.py", 1351, "do_open", "raise URLError(err)"),
    ];
    let frame = |(file, line, function, code): (&str, u32, &str, &str)| {
        vec![
            format!("  File \"/home/dev/.pyenv/versions/3.11.7/lib/python3.11/{file}\", line {line}, in {function}"),
            format!("    {code}"),
            format!("    {}", "^".repeat(code.len().min(40))),
        ]
    };
    let mut pass = vec!["Traceback (most recent call last):".to_string()];
    pass.extend(frames.into_iter().flat_map(frame));
    pass.push("ConnectionRefusedError: [Errno 111] Connection refused".into());
    pass.push(String::new());
    pass.push("During handling of the above exception, another exception occurred:".into());
    pass.push(String::new());
    pass.push("Traceback (most recent call last):".into());
    pass.push("  File \"<string>\", line 1, in <module>".into());
    pass.extend(outer.into_iter().flat_map(frame));
    pass.push("urllib.error.URLError: <urlopen error [Errno 111] Connection refused>".into());
    let mut rng = Rng::new(54);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut at = 2.0;
    for _ in 0..30 {
        for (i, line) in pass.iter().enumerate() {
            t.line(at + 0.001 * i as f64, Stream::Stderr, line);
        }
        at += rng.range(1.45, 1.6);
    }
    t.cpu(2.0, 60.0, |_| 12.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0 * 1.6, "python traceback every 1.5 s");
    assert!(summary.contains("a re-run loop"), "{summary}");
}

#[test]
fn a_client_retrying_a_reset_connection_from_a_new_port_each_time() {
    // A Go client re-sending a request that the peer resets, each attempt from a new local
    // port: the address with an ephemeral port is its own end, not a client of a server.
    let mut rng = Rng::new(32);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.every(2.0, 0.02, 1500, |i| {
        format!(
            "{} Get \"https://api.internal/v1/jobs\": read tcp 10.0.0.5:{}->10.0.0.7:443: read: connection reset by peer",
            iso(2.0 + 0.02 * i as f64),
            32768 + rng.below(28_000)
        )
    });
    assert_fires_within(&mut t, 2.0, 2.5, "reset connection from a new port");
}

#[test]
fn a_worker_failing_the_same_job_under_fresh_ids_is_still_a_loop() {
    // A worker that takes a poisoned job, fails it and puts it back under a new id: every
    // line has a fresh UUID and says the job finished, but it finished with an error.
    let mut rng = Rng::new(33);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.every(2.0, 0.01, 3000, |i| {
        format!(
            "{} INFO worker: job {} (send_email) finished with error: SMTP connection refused",
            iso(2.0 + 0.01 * i as f64),
            rng.uuid()
        )
    });
    assert_fires_within(&mut t, 2.0, 2.5, "a job failing under fresh ids");
}

#[test]
fn a_loop_stamping_a_fresh_id_and_one_latency_is_still_a_loop() {
    // What a loop does print afresh on every pass: the time, an id of its own, and one
    // measurement of its own call. Two passes' worth of such lines are not data from outside.
    let mut rng = Rng::new(34);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.05, 600, |p| {
        vec![
            format!(
                "{} calling inventory service request_id={} latency_ms={}",
                iso(2.0 + 0.05 * p as f64),
                rng.uuid(),
                rng.below(900)
            ),
            "inventory service returned no items".to_string(),
        ]
    });
    assert_fires_within(&mut t, 2.0, 2.5, "fresh id and one latency");
}

#[test]
fn a_loop_naming_an_interval_it_does_not_keep_or_failing_on_it_is_still_a_loop() {
    // A display redrawn at its announced interval is its timer's; a block that names an
    // interval and runs far faster, or fails at that pace, is not.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.05, 600, |_| {
        vec![
            "sync status (refreshing every 5s)".to_string(),
            "queue: 0 items".to_string(),
            "workers: 4 idle".to_string(),
        ]
    });
    assert_fires_within(&mut t, 2.0, 2.5, "an interval it does not keep");
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.2, 150, |_| {
        vec![
            "health check (every 0.2s)".to_string(),
            "GET http://db:8080/health failed: connection refused".to_string(),
            "marking backend db down".to_string(),
        ]
    });
    assert_fires_within(&mut t, 2.0, 5.0, "failing at its announced interval");
}

#[test]
fn a_training_loop_reloading_its_checkpoint_is_still_a_loop_though_its_losses_differ() {
    // A trainer that hits a non-finite loss at the same step, reloads the checkpoint and
    // runs the same steps again: its loss and throughput differ every pass, but they are
    // the loop's own measurements, not values from outside.
    let mut rng = Rng::new(35);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.33, 100, |_| {
        let mut pass: Vec<String> = (0..4)
            .map(|k| {
                format!(
                    "step {} | loss {:.4} | lr 3.00e-04 | {:.1} samples/s",
                    4002 + 2 * k,
                    rng.range(1.8, 2.0),
                    rng.range(950.0, 990.0)
                )
            })
            .collect();
        pass.push("step 4010 | loss nan | lr 3.00e-04 | 0.0 samples/s".to_string());
        pass.push(
            "WARNING: non-finite loss at step 4010, reloading checkpoint ckpt/step-4000.pt".to_string(),
        );
        pass
    });
    assert_fires_within(&mut t, 2.0, 2.5, "checkpoint reload loop");
}

#[test]
fn a_controller_requeueing_the_same_object_under_fresh_reconcile_ids_is_still_a_loop() {
    // An operator reconciling one object, finding nothing to do and requeueing at once:
    // every line carries the pass's fresh `reconcileID` and one says `done`, but the pass is
    // the controller's own code going round, not a job taken from a queue.
    let mut rng = Rng::new(36);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    t.passes(2.0, 0.2, 150, |_| {
        let id = rng.uuid();
        [
            "Reconciling WebApp",
            "Deployment up to date",
            "Updated status",
            "Reconcile done, requeue",
        ]
        .iter()
        .map(|msg| {
            format!(r#"{{"level": "info", "msg": "{msg}", "name": "storefront", "reconcileID": "{id}"}}"#)
        })
        .collect()
    });
    assert_fires_within(&mut t, 2.0, 2.5, "requeue loop");
}

/// An agent's step that hands back nothing, over and over: its banner, the tool's empty
/// answer, an empty thought, the same action, the environment's empty state. Seven lines a
/// pass, a pass every `gap` seconds, from `start`.
fn empty_agent_steps(t: &mut Timeline, seed: u64, start: f64, gap: (f64, f64), passes: usize) {
    let mut rng = Rng::new(seed);
    paced_passes(
        t,
        start,
        passes,
        &mut rng,
        |r| r.range(gap.0, gap.1),
        |_, _| {
            [
                "INFO     MODEL INPUT",
                "         Your command ran successfully and did not produce any output.",
                "INFO     THOUGHT",
                "         ",
                "         ACTION",
                "         submit",
                "DEBUG    Retrieved state from environment: {}",
            ]
            .map(String::from)
            .to_vec()
        },
    );
}

#[test]
fn an_agent_step_that_returns_nothing_at_a_model_pace() {
    // The same seven-line step a pass every 1.5-3.5 s, nothing failing, no CPU: the
    // environment answers with an empty state every time. Stopped within five passes.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    empty_agent_steps(&mut t, 31, 2.0, (1.5, 3.5), 40);
    t.cpu(0.0, 100.0, |_| 1.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0 * 3.5, "empty agent step");
    assert!(summary.contains("empty result"), "{summary}");
}

#[test]
fn a_step_that_returns_nothing_at_a_timer_pace_is_a_display() {
    // The same block and empty answer every 2 s and a few ms: a poller's sleep, not an
    // agent's answers.
    let mut t = Timeline::new();
    empty_agent_steps(&mut t, 37, 0.5, (2.0, 2.03), 30);
    t.run(62.0).assert_never_fires("timer-paced empty block");
}

#[test]
fn a_loop_moving_only_its_clock_and_one_latency_is_no_sampler() {
    // A sync loop whose sleep was lost: nothing to upload, again, 20 times a second, each
    // line with its time and how long the empty listing took. No failure word; one value
    // moves, which is a loop measuring its own call, not a row of readings.
    let mut rng = Rng::new(23);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 5.0);
    t.every(5.0, 0.05, 600, |i| {
        format!(
            "{} sync: listed bucket, 0 new objects (took {:.1} ms, {} bytes)",
            iso(5.0 + 0.05 * i as f64),
            rng.range(3.0, 40.0),
            612
        )
    });
    let summary = assert_fires_within(&mut t, 5.0, 2.5, "a loop with one latency");
    assert!(summary.contains("same line repeated"), "{summary}");
}

#[test]
fn a_traced_process_retrying_a_refused_connect_is_stopped_whatever_it_sleeps() {
    // `strace -f` of a client retrying a refused connection with a 100 ms sleep between
    // attempts: the sleep is a traced wait on its timer, but the pass reports the failure.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 5.0);
    t.passes(5.0, 0.102, 250, |_| {
        vec![
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3".to_string(),
            "connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = -1 ECONNREFUSED (Connection refused)".to_string(),
            "close(3)                                = 0".to_string(),
            "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=100000000}, NULL) = 0".to_string(),
        ]
    });
    assert_fires_within(&mut t, 5.0, 2.5, "a traced connect retry loop");
}

#[test]
fn an_optimisation_re_run_from_the_same_start_is_a_loop() {
    // The counterpart of multi-start optimisation: a script that re-runs the same seeded
    // fit after it fails, so every pass descends from the same start to the same value.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    let block = [
        "Initialization complete",
        "Iteration 0, inertia 13481.68198632427.",
        "Iteration 1, inertia 9734.214474149434.",
        "Converged at iteration 1: strict convergence.",
    ];
    t.passes(3.0, 0.2, 200, |_| block.iter().map(|l| l.to_string()).collect());
    assert_fires_within(&mut t, 3.0, 2.5, "the same optimisation re-run");
}

#[test]
fn a_training_step_that_goes_nan_and_is_retried_is_a_loop() {
    // A training script stuck re-trying the same failing step: the steps before it jitter
    // (no descent), the step itself prints `loss: nan` and the same warning every pass.
    let mut rng = Rng::new(5);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    let mut at = 3.0;
    while at < 40.0 {
        for step in [4002, 4004, 4006, 4008] {
            t.line(
                at,
                Stream::Stdout,
                format!("step {step} | loss {:.4} | lr 3.00e-04", rng.range(1.8, 2.0)),
            );
            at += 0.05;
        }
        t.line(at, Stream::Stdout, "step 4010 | loss: nan | lr 3.00e-04");
        t.line(
            at + 0.01,
            Stream::Stderr,
            "UserWarning: non-finite loss at step 4010, reloading checkpoint step-4000",
        );
        at += 0.1;
    }
    t.cpu(0.0, 40.0, |_| 100.0);
    assert_fires_within(&mut t, 3.0, 3.0, "a training step retried after it goes NaN");
}

#[test]
fn the_same_warning_forever_is_a_loop_once_it_outlasts_a_round_of_work() {
    // A training script stuck on one step that warns about it and tries the step again,
    // printing nothing else: the warning names no failure and no retry, so it is given the
    // room a library's warning per round of work gets, and no more.
    for (every, limit) in [(0.02, 8.0), (0.1, 23.0)] {
        let mut t = Timeline::new();
        healthy_prefix(&mut t, 3.0);
        let lines = (60.0 / every) as usize;
        t.every(3.0, every, lines, |_| {
            "/app/train.py:88: UserWarning: gradient of the embedding is zero for this batch".to_string()
        });
        t.cpu(0.0, 63.0, |_| 100.0);
        let summary = assert_fires_within(&mut t, 3.0, limit, "the same warning forever");
        assert!(summary.contains("same line repeated"), "{summary}");
    }
}

/// A script that fits the same candidates again and again with `verbose=2`: five lines per
/// candidate, twenty lines a second at full CPU, from t = 3 s.
fn candidates_again(candidates: &[&str]) -> Timeline {
    let mut rng = Rng::new(29);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    let mut at = 3.0;
    while at < 45.0 {
        for candidate in candidates {
            for _ in 0..5 {
                let time = if rng.below(4) == 0 { "0.1" } else { "0.0" };
                t.line(
                    at,
                    Stream::Stdout,
                    format!("[CV] END .................................{candidate}; total time=   {time}s"),
                );
                at += 0.05;
            }
        }
    }
    t.cpu(0.0, 45.0, |_| 100.0);
    t
}

#[test]
fn a_parameter_search_re_running_the_same_candidates_is_a_loop() {
    // The counterpart of a grid walk: the same `C=0.1, gamma=0.001` fit for ever, or the
    // same two or three combinations in turn, shows a combination again.
    let mut t = candidates_again(&["C=0.1, gamma=0.001"]);
    assert_fires_within(&mut t, 3.0, 2.5, "the same candidate re-fitted for ever");
    let mut t = candidates_again(&["C=0.1, gamma=0.001", "C=1, gamma=0.001"]);
    assert_fires_within(&mut t, 3.0, 4.0, "two candidates re-fitted in turn");
    let mut t = candidates_again(&["C=0.1, gamma=0.001", "C=1, gamma=0.01", "C=10, gamma=0.001"]);
    assert_fires_within(&mut t, 3.0, 5.0, "three candidates re-fitted in turn");
}

/// A block that opens with `Initialization N` and says it converged, N one more each pass
/// from `first` (or the same every pass), twenty lines a second from t = 3 s.
fn converging_block(first: u32, counted: bool) -> Timeline {
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    let mut at = 3.0;
    let mut start = first;
    while at < 45.0 {
        for line in [
            format!("Initialization {start}"),
            "  Iteration 1\t time lapse 0.02000s\t ll change inf".to_string(),
            "  Iteration 2\t time lapse 0.00060s\t ll change 0.00000".to_string(),
            "Initialization converged. time lapse 0.02060s\t lower bound -4.29357.".to_string(),
        ] {
            t.line(at, Stream::Stdout, line);
            at += 0.05;
        }
        start += u32::from(counted);
    }
    t.cpu(0.0, 45.0, |_| 100.0);
    t
}

#[test]
fn a_converging_fit_re_run_for_ever_is_a_loop() {
    // The counterpart of a mixture's counted restarts: the same fit re-run with the same
    // start number is a loop at once; a pass counter numbering starts past the few dozen a
    // multi-start fit asks for is a loop's own counter.
    let mut t = converging_block(0, false);
    assert_fires_within(&mut t, 3.0, 2.5, "the same converging fit re-run as start 0");
    let mut t = converging_block(200, true);
    // An iteration counter protects a multi-line pass for its first seconds only.
    assert_fires_within(&mut t, 3.0, 4.5, "a converging fit re-run as start 200, 201, ...");
    // From start 0: protected up to start 50 (about 10 s at five passes a second).
    let mut t = converging_block(0, true);
    assert_fires_within(&mut t, 3.0, 13.0, "a converging fit re-run as start 0, 1, ...");
}

/// One run of a 60-test suite in a runner's numbered report (`12/60 Test #12: case_12
/// ... Passed 0.01 sec`), the last test failing, printed over 0.4 s from `at`.
fn numbered_suite_run(t: &mut Timeline, at: f64, rng: &mut Rng) {
    let mut lines = vec!["Test project /work/build".to_string()];
    for i in 1..=60 {
        lines.push(format!("      Start {i:2}: case_{i}"));
        let result = if i == 60 { "***Failed" } else { "   Passed" };
        let took = rng.below(3);
        lines.push(format!(
            "{i:2}/60 Test #{i:2}: case_{i} ....... {result}    0.0{took} sec"
        ));
    }
    lines.push("98% tests passed, 1 tests failed out of 60".to_string());
    lines.push("The following tests FAILED:".to_string());
    lines.push("\t 60 - case_60 (Failed)".to_string());
    lines.push("Errors while running CTest".to_string());
    let step = 0.4 / lines.len() as f64;
    for (j, line) in lines.into_iter().enumerate() {
        t.line(at + step * j as f64, Stream::Stdout, line);
    }
}

#[test]
fn a_numbered_test_report_re_run_while_it_fails_is_a_loop() {
    // `while ! ctest; do :; done`: each run counts its tests 1/60 to 60/60, which rises at
    // nearly every line and fell only once per 60 rises, so main read it as a counter
    // advancing for as long as the loop ran. The count starts over at every run, and each
    // run repeats the one before in its numbers too.
    let mut rng = Rng::new(5);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    let mut at = 3.0;
    while at < 40.0 {
        numbered_suite_run(&mut t, at, &mut rng);
        at += 0.5;
    }
    t.cpu(0.0, 40.0, |_| 60.0);
    assert_fires_within(&mut t, 3.0, 5.0, "a numbered failing report re-run back to back");
    // The same with a second between runs (`do sleep 1; done`): stopped within five runs.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    let mut at = 3.0;
    while at < 60.0 {
        numbered_suite_run(&mut t, at, &mut rng);
        at += 1.4;
    }
    t.cpu(0.0, 60.0, |_| 20.0);
    assert_fires_within(
        &mut t,
        3.0,
        5.0 * 1.4,
        "a numbered failing report re-run every 1.4 s",
    );
}

/// An agent framework's step as it prints it: a banner numbering the step, the code it
/// runs (the same call), the tool's output, and a line of what the model call used, the
/// step number in it again. A pass every 0.5-4 s from 2 s on.
fn numbered_agent_steps(t: &mut Timeline, seed: u64, result: &'static str) {
    let mut rng = Rng::new(seed);
    let mut tokens = 2_400;
    paced_passes(
        t,
        2.0,
        40,
        &mut rng,
        |r| r.range(0.5, 4.0),
        |n, r| {
            tokens += 2_600 + r.below(400) as usize;
            vec![
                format!("━━━━━━━━━━━━━━━━━━━━ Step {} ━━━━━━━━━━━━━━━━━━━━", n + 1),
                " ─ Executing parsed code: ──────────────────────────────".to_string(),
                "  result = search(query=\"release date\")".to_string(),
                "  print(result)".to_string(),
                "Execution logs:".to_string(),
                result.to_string(),
                "Out: None".to_string(),
                format!(
                    "[Step {}: Duration {:.2} seconds| Input tokens: {tokens} | Output tokens: {}]",
                    n + 1,
                    r.range(0.5, 4.0),
                    40 * (n + 1) + r.below(30) as usize
                ),
            ]
        },
    );
}

#[test]
fn an_agent_numbering_its_steps_while_its_tool_returns_an_empty_list() {
    // smolagents' CodeAgent on a tool that answers `[]` every time. Main's detector read
    // the lone `[]` as decoration (no letters, no digits), so nothing said the result was
    // empty, and took the step number for an iteration counter: left alone as a heartbeat
    // for the whole run. The step number is the agent's turn, counted by the loop itself.
    let mut t = Timeline::new();
    numbered_agent_steps(&mut t, 41, "[]");
    t.cpu(0.0, 160.0, |_| 1.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0 * 4.0, "numbered empty agent step");
    assert!(summary.contains("empty result"), "{summary}");
}

#[test]
fn an_agent_numbering_its_steps_while_its_tool_returns_the_same_answer() {
    // The same, but the tool hands back the same sentence every time: no failure, nothing
    // empty, only the step number moving. Each pass reports the model's tokens, so it is a
    // model's answer, and the model keeps asking the same thing.
    let mut t = Timeline::new();
    numbered_agent_steps(
        &mut t,
        43,
        "Result: the project is a supervisor for long jobs. No date is announced.",
    );
    t.cpu(0.0, 160.0, |_| 1.0);
    let summary = assert_fires_within(&mut t, 2.0, 5.0 * 4.0, "numbered same-answer agent step");
    assert!(summary.contains("model loop"), "{summary}");
}

/// A failing xdist suite of `count` tests re-run back to back after a build, `gap` seconds
/// between runs, a core busy: the stop's summary, asserted to come by the time the run
/// after `runs` begins (plus `slack`) and to say each pass printed the same values in
/// another order.
fn xdist_re_run(seed: u64, count: usize, startup: f64, gap: (f64, f64), runs: usize, slack: f64) -> String {
    let mut rng = Rng::new(seed);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 3.0);
    let onset = 3.4;
    let mut at = onset;
    let mut starts = Vec::new();
    while at < 60.0 {
        starts.push(at);
        at =
            xdist_session_of(&mut t, at, &mut rng, false, "3.11.7", count, startup) + rng.range(gap.0, gap.1);
    }
    t.cpu(0.0, 60.0, |_| 95.0);
    let limit = starts[runs] - onset + slack;
    let summary = assert_fires_within(&mut t, onset, limit, "a failing xdist suite re-run back to back");
    assert!(
        summary.contains("the same values each pass in another order"),
        "{summary}"
    );
    summary
}

#[test]
fn a_failing_suite_re_run_back_to_back_by_pytest_xdist_is_a_loop() {
    // `while ! pytest -v -n 2 tests/; do :; done`: the workers finish the tests in another
    // order each run, so no run repeats the one before line for line, and the next session
    // starts half a second after the last, under the silence that cuts passes. Main left it
    // alone: no exact cycle, and `[gw0] [ 43%] PASSED` read as a percentage going up. Each
    // run opens with the same header and prints the same values in another order. The
    // first run follows the build's output within the silence, so it is that burst's tail:
    // the loop's passes are counted from the second run, stopped when the sixth begins.
    let summary = xdist_re_run(11, 40, 0.6, (0.3, 0.7), 5, 1.0);
    assert!(summary.contains("each opening with the same header"), "{summary}");
}

#[test]
fn a_fast_failing_suite_re_run_back_to_back_by_pytest_xdist_is_a_loop() {
    // The same loop with a suite of 16 fast tests whose workers start in 0.2 s: a run every
    // 0.6-0.7 s, at the steady pace of the same work done again (a spread of a few percent),
    // a core busy. Main judged alike passes no faster than one a second, and a re-run's
    // pace only from a spread of 0.06; no other path sees passes whose order is never the
    // same twice.
    xdist_re_run(21, 16, 0.2, (0.02, 0.06), 6, 0.5);
}

/// One turn of an agent on the Anthropic Messages API, printed as JSON lines of content
/// blocks: its prose, its `tool_use` block with the id the model gave the call, and the
/// tool's result for that id.
fn anthropic_turn(rng: &mut Rng, prose: &str, input: &str, result: &str) -> Vec<String> {
    let id = format!("toolu_01{}", rng.hex(22));
    vec![
        format!(r#"{{"type": "text", "text": "{prose}"}}"#),
        format!(r#"{{"type": "tool_use", "id": "{id}", "name": "search_issues", "input": {input}}}"#),
        format!(r#"{{"type": "tool_result", "tool_use_id": "{id}", "content": "{result}"}}"#),
    ]
}

#[test]
fn a_tool_call_with_a_fresh_id_and_an_empty_result_is_stopped_whatever_its_pace() {
    // A scripted agent (or one whose model answers in exactly the same time) making the
    // same tool call every 1.5 s, the model's id for it new every time, the result empty:
    // a timer's pace, which for a poller that names no call would leave it alone, is no
    // guide when every pass is a model's answer. Stopped within five calls.
    let mut rng = Rng::new(16);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let onset = 2.0;
    for n in 0..30 {
        let at = onset + 1.5 * n as f64;
        let turn = anthropic_turn(
            &mut rng,
            "Let me search again.",
            r#"{"query": "flaky login"}"#,
            "No results found.",
        );
        for (j, line) in turn.iter().enumerate() {
            t.line(at + 0.002 * j as f64, Stream::Stdout, line);
        }
    }
    t.cpu(0.0, 60.0, |_| 1.0);
    let summary = assert_fires_within(&mut t, onset, 5.0 * 1.5 + 0.5, "the same tool call on a timer");
    assert!(
        summary.contains("empty result") && summary.contains("each pass is a model's answer"),
        "{summary}"
    );
}

#[test]
fn an_agent_turn_repeated_faster_than_a_heartbeat_is_still_judged_as_a_loop_of_work() {
    // A fast model (0.5-0.9 s an answer) calling the same tool and getting nothing, in a
    // three-line turn without ids or tokens: 1.4 turns a second is too fast for a heartbeat
    // and too few lines a second for its rate to count, so main never judged it at all.
    let (mut t, _) = agent_turns(17, 50.0, (0.5, 0.9), 0.002, |_, _| {
        [
            "Assistant: I will look for the config file again.",
            "-> calling tool find_files(pattern='**/flowforge.toml')",
            "<- tool result: no matches",
        ]
        .map(String::from)
        .to_vec()
    });
    let summary = assert_fires_within(&mut t, 2.0, 5.0, "a fast agent turn returning nothing");
    assert!(summary.contains("empty result"), "{summary}");
}

/// A healthy prefix, then an agent's turns from 2 s until `until`: the lines `turn(n, rng)`
/// gives for turn `n`, `spacing` seconds apart, a turn every `pace` seconds (drawn from the
/// range), at 1 % CPU. Returns the timeline and the turns' start times.
fn agent_turns(
    seed: u64,
    until: f64,
    pace: (f64, f64),
    spacing: f64,
    mut turn: impl FnMut(usize, &mut Rng) -> Vec<String>,
) -> (Timeline, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let mut at = 2.0;
    let mut turns = Vec::new();
    while at < until {
        for (j, line) in turn(turns.len(), &mut rng).iter().enumerate() {
            t.line(at + spacing * j as f64, Stream::Stdout, line);
        }
        turns.push(at);
        at += rng.range(pace.0, pace.1);
    }
    t.cpu(0.0, 60.0, |_| 1.0);
    (t, turns)
}

/// An agent's two-line turns (`turn` gives the call and its result) from 2 s, one every
/// `pace` seconds (drawn from the range), after a healthy prefix: asserts it is stopped as a
/// model loop by the time its turn number `within` (counted from one) has begun, plus a
/// second.
fn assert_two_line_turns_are_a_model_loop(
    seed: u64,
    pace: (f64, f64),
    within: usize,
    mut turn: impl FnMut(&mut Rng) -> (String, String),
) {
    let (mut t, turns) = agent_turns(seed, 60.0, pace, 0.002, |_, rng| {
        let (call, result) = turn(rng);
        vec![call, result]
    });
    let limit = turns[within - 1] - 2.0 + 1.0;
    let summary = assert_fires_within(&mut t, 2.0, limit, "the same answer, turn after turn");
    assert!(summary.contains("a model loop"), "{summary}");
}

#[test]
fn a_chat_completions_agent_handed_the_same_answer_in_two_lines_is_a_model_loop() {
    // OpenAI chat completions printed as JSON lines: the assistant message with its
    // `tool_calls` (the model's id for the call new every turn), then the tool's message
    // with the same non-empty answer, one turn every 1-3 s. No tokens are printed; the call
    // ids show each pass is a model's answer. Stopped as a model loop within five turns.
    assert_two_line_turns_are_a_model_loop(19, (1.0, 3.0), 5, |rng| {
        let id = format!("call_{}", rng.hex(24));
        (
            format!(
                r#"{{"role": "assistant", "content": null, "tool_calls": [{{"id": "{id}", "type": "function", "function": {{"name": "get_order", "arguments": "{{\"order_id\": \"A-10442\"}}"}}}}]}}"#
            ),
            format!(
                r#"{{"role": "tool", "tool_call_id": "{id}", "content": "Order A-10442: shipped, carrier DHL, 2 items"}}"#
            ),
        )
    });
}

#[test]
fn a_plain_agent_log_that_names_its_call_and_arguments_is_a_model_loop() {
    // An agent's own log: `-> calling tool name(key='value')` and the tool's answer, the
    // same non-empty answer every turn at a model's pace (1-3.5 s), no ids, no tokens. The
    // call is written out with its arguments named, so what was asked is on the page as
    // it is in a JSON `"arguments"`: each pass is a model's answer. Main left it alone as
    // a heartbeat. Stopped within six turns.
    assert_two_line_turns_are_a_model_loop(23, (1.0, 3.5), 6, |_| {
        (
            "-> calling tool search_issues(query='flaky login test', state='open')".to_string(),
            "<- tool result: Found 0 open issues matching 'flaky login'; 2 closed issues: #41 login page hangs, #57 CSRF token refresh".to_string(),
        )
    });
}

#[test]
fn an_agent_saying_the_errors_are_still_there_before_the_same_build_is_a_paraphrase_loop() {
    // goose's transcript: a remark, the shell tool's header and command, and the same two
    // type errors, a turn every 3-5 s. The remarks say the build still fails and that the
    // agent runs it again (`The errors are still there. Running the build one more time`):
    // a state in one sentence and a verb in the next, which read as a build still running
    // and kept it off the paraphrase path. Stopped in its fifth turn.
    let remarks = [
        "The build still fails with the same errors. Let me try running it once more.",
        "The errors are still there. Running the build one more time to make sure.",
        "Let me run `npm run build` again to see whether the errors persist.",
        "The build is still failing. Running it again to confirm.",
    ];
    let (mut t, turns) = agent_turns(29, 60.0, (3.0, 5.0), 0.01, |n, _| {
        [
            remarks[n % remarks.len()],
            "─── shell | developer ──────────────────────────",
            "command: npm run build",
            "src/api/usage.ts(27,5): error TS2322: Type 'UsageRow[] | null' is not assignable to type 'UsageRow[]'.",
            "src/components/UsageChart.tsx(48,31): error TS2345: Argument of type 'string | undefined' is not assignable to parameter of type 'string'.",
        ]
        .map(String::from)
        .to_vec()
    });
    let limit = turns[4] - 2.0 + 1.0;
    let summary = assert_fires_within(&mut t, 2.0, limit, "the same build, narrated");
    assert!(summary.contains("a paraphrase loop"), "{summary}");
}

/// One turn of `codex exec --json`: a reasoning item (its `remark`), the command's
/// `item.started` event (`"status":"in_progress"`, as every start event says) and its
/// `item.completed` event with `output` and `status`.
fn codex_turn(n: usize, remark: &str, command: &str, output: &str, status: &str) -> Vec<String> {
    let (reasoning, call) = (2 * n, 2 * n + 1);
    vec![
        format!(
            r#"{{"type":"item.completed","item":{{"id":"item_{reasoning}","type":"reasoning","text":"{remark}"}}}}"#
        ),
        format!(
            r#"{{"type":"item.started","item":{{"id":"item_{call}","type":"command_execution","command":"bash -lc '{command}'","aggregated_output":"","exit_code":null,"status":"in_progress"}}}}"#
        ),
        format!(
            r#"{{"type":"item.completed","item":{{"id":"item_{call}","type":"command_execution","command":"bash -lc '{command}'","aggregated_output":"{output}","exit_code":{},"status":"{status}"}}}}"#,
            if status == "failed" { 2 } else { 0 }
        ),
    ]
}

#[test]
fn an_event_streams_start_event_is_no_poll_answer() {
    // `codex exec --json` re-running the same failing pytest, its reasoning reworded from a
    // few phrasings: each command's `item.started` says `"status":"in_progress"`, which
    // read as something still under way and kept the turns off the slow-loop paths, which
    // leave a poll alone. Stopped within five turns.
    let remarks = [
        "**Retrying pytest run**",
        "**Rerunning tests**",
        "**Re-running failing test** The import keeps failing. Running the tests once more.",
    ];
    let output = "E   ModuleNotFoundError: No module named 'app.middleware'\\n1 error in 0.31s";
    let (mut t, turns) = agent_turns(31, 60.0, (1.5, 5.0), 0.01, |n, _| {
        codex_turn(
            n,
            remarks[n % remarks.len()],
            "pytest tests/test_api.py -x",
            output,
            "failed",
        )
    });
    let limit = turns[4] - 2.0 + 1.0;
    let summary = assert_fires_within(&mut t, 2.0, limit, "the same failing pytest in codex's events");
    assert!(summary.contains("reworded"), "{summary}");
}

#[test]
fn an_agent_polling_a_run_in_its_event_stream_is_left_alone() {
    // The same event stream, the command a poll of a CI run whose answer stays
    // `in_progress`: the completed item's output says the run is still under way (and the
    // remarks say nothing of waiting, so that is what leaves it alone).
    let remarks = [
        "**Checking the run**",
        "**Checking CI status**",
        "**Looking at the run again**",
    ];
    let output = "{\\\"status\\\": \\\"in_progress\\\", \\\"conclusion\\\": null}";
    let (mut t, _) = agent_turns(32, 60.0, (1.5, 5.0), 0.01, |n, _| {
        codex_turn(
            n,
            remarks[n % remarks.len()],
            "gh run view 4411 --json status,conclusion",
            output,
            "completed",
        )
    });
    t.run(60.0)
        .assert_never_fires("an agent polling a run still in progress");
}

#[test]
fn a_legacy_function_call_with_the_same_arguments_and_an_empty_result_is_stopped() {
    // Chat completions' legacy `function_call` (no call id) printed as JSON lines: the
    // same function with the same arguments and the same empty answer every 2 s, a
    // scripted agent's steady pace. The call and what it asked are on the page, so each
    // pass is a model's answer, and a timer's pace is no protection. Within five calls.
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let onset = 2.0;
    for n in 0..25 {
        let at = onset + 2.0 * n as f64;
        t.line(
            at,
            Stream::Stdout,
            r#"{"role": "assistant", "content": null, "function_call": {"name": "search_docs", "arguments": "{\"query\": \"release date\"}"}}"#,
        );
        t.line(
            at + 0.002,
            Stream::Stdout,
            r#"{"role": "function", "name": "search_docs", "content": "No results found."}"#,
        );
    }
    t.cpu(0.0, 60.0, |_| 1.0);
    let summary = assert_fires_within(
        &mut t,
        onset,
        5.0 * 2.0 + 0.5,
        "a legacy function call on a timer",
    );
    assert!(summary.contains("empty result"), "{summary}");
}

#[test]
fn a_model_rewording_itself_before_the_same_call_and_the_same_answer_is_a_paraphrase_loop() {
    // Whole Messages API messages, one JSON line each: the assistant's prose (worded anew
    // from a few phrasings) and its `tool_use` with a fresh id, then the same non-empty
    // `tool_result`, one turn every 1-3 s. Nothing failed and nothing is empty, but the
    // passes differ only in their prose and each is a model's answer. Within five turns.
    let mut rng = Rng::new(21);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let onset = 2.0;
    let prose = [
        "Let me check the order once more.",
        "I will look the order up again.",
        "Checking the order status again to be sure.",
        "Let me verify the order one more time.",
    ];
    let mut at = onset;
    let mut turns = Vec::new();
    while at < 60.0 {
        turns.push(at);
        let id = format!("toolu_01{}", rng.hex(22));
        let said = prose[rng.below(prose.len() as u64) as usize];
        t.line(
            at,
            Stream::Stdout,
            format!(
                r#"{{"role": "assistant", "content": [{{"type": "text", "text": "{said}"}}, {{"type": "tool_use", "id": "{id}", "name": "get_order", "input": {{"order_id": "A-10442"}}}}]}}"#
            ),
        );
        t.line(
            at + 0.002,
            Stream::Stdout,
            format!(r#"{{"role": "user", "content": [{{"type": "tool_result", "tool_use_id": "{id}", "content": "Order A-10442: shipped, 2 items"}}]}}"#),
        );
        at += rng.range(1.0, 3.0);
    }
    t.cpu(0.0, 60.0, |_| 1.0);
    let fifth = turns[4] - onset;
    let summary = assert_fires_within(&mut t, onset, fifth + 1.0, "reworded, the same answer");
    assert!(
        summary.contains("a paraphrase loop") && summary.contains("same result"),
        "{summary}"
    );
}

/// AutoGPT classic's console in continuous mode, one cycle from `at`: its `Thinking...`
/// spinner redrawn every 0.1 s while the model answers (`think` seconds), then the cycle's
/// block as its log formatter prints it (a time and a severity before each message), the
/// command and what it returned. Returns when the cycle ended.
fn autogpt_cycle(
    t: &mut Timeline,
    at: f64,
    think: f64,
    prose: [&str; 6],
    command: &str,
    result: &[&str],
) -> f64 {
    let stamp =
        |s: f64| format!("2026-12-04 18:{:02}:{:06.3}", 22 + (s as u64) / 60, s % 60.0).replace('.', ",");
    let frames = (think / 0.1) as usize;
    for i in 0..frames {
        t.line(
            at + 0.1 * i as f64,
            Stream::Stdout,
            format!("{} Thinking...", ['-', '/', '|', '\\'][i % 4]),
        );
    }
    let end = at + think;
    let block = [
        format!("WRITERGPT THOUGHTS: {}", prose[0]),
        format!("REASONING: {}", prose[1]),
        "PLAN: ".to_string(),
        format!("-  {}", prose[2]),
        format!("-  {}", prose[3]),
        format!("CRITICISM: {}", prose[4]),
        format!("SPEAK: {}", prose[5]),
        format!("NEXT ACTION: COMMAND = {command}"),
    ];
    for line in block.iter() {
        t.line(end, Stream::Stdout, format!("{} INFO  {line}", stamp(end)));
    }
    t.line(
        end + 0.05,
        Stream::Stdout,
        format!("{} INFO  SYSTEM: ```", stamp(end + 0.05)),
    );
    for line in result {
        t.line(end + 0.05, Stream::Stdout, line);
    }
    t.line(end + 0.05, Stream::Stdout, "```");
    end + 0.05
}

/// Reworded thoughts for an AutoGPT cycle, drawn from a few phrasings as a model rewords.
const AUTOGPT_PROSE: [[&str; 6]; 4] = [
    [
        "I need to read the meeting notes before I can summarize them.",
        "The summary has to reflect what was decided.",
        "Read q3_planning_notes.txt",
        "Write the action items",
        "I should be careful to capture every owner.",
        "I'll read the meeting notes now.",
    ],
    [
        "To summarize the meeting I first need the full text of the notes.",
        "Reading the file ensures I work from its exact contents.",
        "Read the notes file",
        "Draft the action items",
        "I need to focus on completing the task quickly.",
        "Let me take a look at the meeting notes.",
    ],
    [
        "Before writing the action items I should review the notes file.",
        "The action items must match the meeting.",
        "Review the notes file",
        "Save them to action_items.md",
        "I must make sure nothing is missed.",
        "I will read the notes to gather the items.",
    ],
    [
        "My next step is to read q3_planning_notes.txt again.",
        "The content of the notes is required to summarize.",
        "Read the notes",
        "Extract owners and due dates",
        "I should avoid repeating steps needlessly.",
        "Reading the notes file once more.",
    ],
];

#[test]
fn an_agent_console_with_a_spinner_between_the_same_commands_is_a_loop() {
    // AutoGPT classic reading the same file every cycle: its spinner runs for as long as the
    // model takes, so every cycle has another number of frames and no two passes were the
    // same length; and every thought is reworded after the log's time and severity. The
    // spinner's later frames are one line (`redraw`), the thoughts after the time are prose
    // (`prose`), and the same command with the same result is stopped within five cycles.
    let notes = [
        "Q3 Planning - 2024-06-18",
        "1. Billing migration",
        "- Marco: finish Stripe webhook handlers by Jul 5",
        "2. Onboarding redesign",
        "- Lena: new first-run flow mockups, review on Jun 27",
    ];
    let mut rng = Rng::new(41);
    let mut t = Timeline::new();
    healthy_prefix(&mut t, 2.0);
    let (mut at, mut starts) = (2.0, Vec::new());
    while at < 60.0 {
        starts.push(at);
        let prose = AUTOGPT_PROSE[rng.below(4) as usize];
        at = autogpt_cycle(
            &mut t,
            at,
            rng.range(1.2, 4.0),
            prose,
            "read_file  ARGUMENTS = {'filename': 'q3_planning_notes.txt'}",
            &notes,
        );
    }
    t.cpu(0.0, 60.0, |_| 2.0);
    let limit = starts[5] - 2.0 + 1.0;
    let summary = assert_fires_within(
        &mut t,
        2.0,
        limit,
        "the same read_file, narrated, spinner between",
    );
    assert!(summary.contains("reworded"), "{summary}");
}

#[test]
fn an_agent_console_with_a_spinner_between_new_commands_is_left_alone() {
    // The same console researching: each cycle searches or reads something new and gets
    // something new back, its thoughts reworded as before.
    let mut rng = Rng::new(42);
    let mut t = Timeline::new();
    let mut at = 0.5;
    let mut n = 0;
    while at < 30.0 {
        let prose = AUTOGPT_PROSE[rng.below(4) as usize];
        let command = format!(
            "web_search  ARGUMENTS = {{'query': 'heat pump sales europe {}'}}",
            2015 + n
        );
        let results = [
            format!("## Search results for {}", 2015 + n),
            format!("### \"Heat pump market report {}\"", 2015 + n),
            format!("**URL:** https://example.org/report-{}", rng.hex(6)),
        ];
        let result: Vec<&str> = results.iter().map(String::as_str).collect();
        at = autogpt_cycle(&mut t, at, rng.range(1.2, 4.0), prose, &command, &result);
        n += 1;
    }
    t.cpu(0.0, 30.0, |_| 2.0);
    t.run(32.0)
        .assert_never_fires("an agent console researching, spinner between");
}

/// One auto-invocation round of a Semantic Kernel chat app: its function-invocation filter
/// prints the round on stdout (`Request sequence`, the call, the assistant's words, the
/// result) while the kernel logs the model call and the function on stderr. Each call is
/// the light it asks for, as its arguments name it (`"name": "Porch"`, `"id": 3`), and
/// whether that light stays on.
fn kernel_round(t: &mut Timeline, at: f64, round: usize, calls: &[(&str, bool)], remark: &str, tokens: u64) {
    let log = |t: &mut Timeline, at: f64, line: String| {
        t.line(at, Stream::Stderr, line);
    };
    log(
        t,
        at,
        r#"INFO:httpx:HTTP Request: POST https://api.openai.com/v1/chat/completions "HTTP/1.1 200 OK""#
            .into(),
    );
    log(t, at, format!("INFO:semantic_kernel.connectors.ai.open_ai.services.open_ai_handler:OpenAI usage: CompletionUsage(completion_tokens=25, prompt_tokens={tokens}, total_tokens={})", tokens + 25));
    log(t, at, format!("INFO:semantic_kernel.connectors.ai.chat_completion_client_base:processing {} tool calls in parallel.", calls.len()));
    for (seq, &(light, on)) in calls.iter().enumerate() {
        let at = at + 0.2 * seq as f64;
        log(t, at, format!("INFO:semantic_kernel.kernel:Calling Lights-change_state function with args: {{{light}, \"is_on\": false}}"));
        let filter = [
            "Auto function invocation filter".to_string(),
            "Function: change_state".into(),
            format!("Request sequence: {round}"),
            format!("Function sequence: {seq}"),
            format!("Number of function calls: {}", calls.len()),
        ];
        for line in filter {
            t.line(at + 0.01, Stream::Stdout, line);
        }
        if seq == 0 {
            t.line(
                at + 0.01,
                Stream::Stdout,
                format!("Assistant (with tool call):> {remark}"),
            );
        }
        let state = if on { "True" } else { "False" };
        t.line(
            at + 0.15,
            Stream::Stdout,
            format!(
                "Result: {{{}, 'is_on': {state}, 'reachable': False}}",
                light.replace('"', "'")
            ),
        );
        log(
            t,
            at + 0.15,
            "INFO:semantic_kernel.functions.kernel_function:Function Lights-change_state succeeded.".into(),
        );
    }
}

#[test]
fn a_kernel_app_asking_for_the_same_light_again_is_a_loose_loop() {
    // Semantic Kernel turning three lights off in parallel, then asking for the one light
    // that stays on again and again: every round is the same call with the same result on
    // both streams, the assistant's words after its chat prompt (`Assistant (with tool
    // call):> `) reworded, each saying the last call failed.
    let remarks = [
        "Switching the porch light off failed. Let me try again.",
        "The porch light still shows as on, so the last attempt failed. I'll turn it off once more.",
        "It seems turning off the porch light failed again. Trying again.",
        "That failed too. I'll attempt to turn off the porch light another time.",
    ];
    let porch = r#""name": "Porch""#;
    let mut rng = Rng::new(43);
    let mut t = Timeline::new();
    let first = [
        (r#""name": "Kitchen""#, false),
        (r#""name": "Living Room""#, false),
        (porch, true),
    ];
    kernel_round(
        &mut t,
        0.5,
        1,
        &first,
        "I'll turn off all the lights for you.",
        980,
    );
    let (mut at, mut round, mut starts) = (2.0, 2, Vec::new());
    while at < 60.0 {
        starts.push(at);
        kernel_round(
            &mut t,
            at,
            round,
            &[(porch, true)],
            remarks[rng.below(4) as usize],
            980 + 40 * round as u64,
        );
        at += rng.range(1.5, 3.5);
        round += 1;
    }
    t.cpu(0.0, 60.0, |_| 1.0);
    let limit = starts[12] - 2.0;
    let summary = assert_fires_within(&mut t, 2.0, limit, "the same light asked for again");
    assert!(summary.contains("reworded"), "{summary}");
}

/// The same app in a session: each round switches another light, by its name or by its
/// number, and what comes back changes with it.
fn kernel_session(by_id: bool) {
    let remarks = [
        "Turning that one off for you.",
        "I'll switch the next light now.",
        "Let me take care of that light.",
    ];
    let rooms = [
        "Kitchen", "Hallway", "Garage", "Office", "Bedroom", "Study", "Attic", "Cellar", "Patio", "Porch",
        "Pantry", "Nursery",
    ];
    let mut rng = Rng::new(44);
    let mut t = Timeline::new();
    let (mut at, mut round) = (0.5, 1);
    while at < 30.0 {
        let light = if by_id {
            format!(r#""id": {round}"#)
        } else {
            format!(r#""name": "{}""#, rooms[round % rooms.len()])
        };
        kernel_round(
            &mut t,
            at,
            round,
            &[(&light, round % 2 == 0)],
            remarks[rng.below(3) as usize],
            980 + 40 * round as u64,
        );
        at += rng.range(1.5, 3.5);
        round += 1;
    }
    t.cpu(0.0, 30.0, |_| 1.0);
    t.run(32.0)
        .assert_never_fires("a kernel session switching lights");
}

#[test]
fn a_kernel_session_calling_functions_with_new_arguments_is_left_alone() {
    kernel_session(false);
}

#[test]
fn a_kernel_session_asking_for_the_next_id_each_round_is_left_alone() {
    // Lights asked for by number (`{"id": 3}`, then 4): the number in the call's arguments
    // is the item asked for, not a stamp of the call. Read as an identifier, nothing in the
    // kernel's stderr block moved but the round, which made it a model loop after four
    // rounds (on 577cf9f it was stopped after 8.2 s another way).
    kernel_session(true);
}

#[test]
fn an_agent_asking_for_the_next_order_by_keyword_is_left_alone() {
    // An agent's plain log writes each call out with its arguments named and logs the
    // model's usage, while the tool's answer goes to its own log: only the order number in
    // `get_order(id=1001)` moves from turn to turn, and it is what the agent asks for.
    let (mut t, _) = agent_turns(45, 30.0, (1.5, 3.5), 0.01, |n, _| {
        vec![
            format!("usage: prompt_tokens={} completion_tokens=31", 1200 + 60 * n),
            format!("calling tool get_order(id={})", 1001 + n),
            "tool get_order completed".to_string(),
        ]
    });
    t.run(32.0)
        .assert_never_fires("an agent asking for one order after another");
}
