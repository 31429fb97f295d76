//! Synthetic timelines of healthy jobs that must never be stopped.
//!
//! Each scenario writes the output a real workload would produce — compile logs, test
//! runners, progress bars and spinners, training logs, access logs, pollers, startup bursts,
//! backoff, parallel workers, silent and bursty compute — with plausible timing and CPU
//! samples, and asserts that the detector, with default settings, never calls a runaway.
//! Most of them are traps on purpose: each repeats something the way a loop would and
//! differs in the one way that matters (a counter advances, the burst ends, the rate is a
//! heartbeat's, the lines are frames of one animation).

use super::scenarios::{iso, name, xdist_session, xdist_session_of, Rng, Timeline};
use crate::sample::Stream;

#[test]
fn compile_log() {
    let mut rng = Rng::new(1);
    let mut t = Timeline::new();
    t.every(0.0, 0.05, 600, |i| match i % 7 {
        3 => format!(
            "warning: unused variable `{}` --> src/{}.rs:{}:{}",
            name(i + 3),
            name(i),
            rng.below(400),
            rng.below(80)
        ),
        _ => format!("   Compiling {} v0.{}.{}", name(i), rng.below(9), rng.below(30)),
    });
    t.every(30.0, 0.01, 400, |i| {
        format!("gcc -O2 -c src/module_{i}.c -o build/module_{i}.o")
    });
    t.cpu(0.0, 40.0, |_| 190.0);
    t.run(45.0).assert_never_fires("compile log");
}

#[test]
fn compiler_warning_flood_over_macro_expansions() {
    // GCC warning about one macro at every place it is expanded, as in a CPython build:
    // the same four-line block (warning, source line, note, expansion site) hundreds of
    // times, the expansion site walking up the function with small steps back. Replayed
    // at 20 lines a second, as `flowforge replay` reads a plain log (no CPU figures).
    let mut rng = Rng::new(11);
    let mut t = Timeline::new();
    t.every(0.0, 0.05, 40, |i| {
        format!("gcc -O3 -Wall -c ./Modules/mod_{i}.c -o Modules/mod_{i}.o")
    });
    let mut site = 356;
    t.every(2.0, 0.05, 1200, |i| match i % 4 {
        0 => "./Modules/_decimal/libmpdec/io.c:348:40: warning: writing 1 byte into a region of size 0 [-Wstringop-overflow=]".to_string(),
        1 => "  348 |         if (s == dot) *s++ = '.'; *s++ = '0' + (char)(x / d); x %= d".to_string(),
        2 => {
            site = 356 + (i / 12) as u64 % 18 + rng.below(4);
            format!("./Modules/_decimal/libmpdec/io.c:{site}:14: note: in expansion of macro 'EXTRACT_DIGIT'")
        }
        _ => format!("  {site} |     case {}: EXTRACT_DIGIT(s, x, 1000ULL, dot);", 380 - site),
    });
    t.every(62.0, 0.05, 100, |i| {
        format!("gcc -O3 -Wall -c ./Modules/ext_{i}.c -o Modules/ext_{i}.o")
    });
    t.cpu(0.0, 70.0, |_| 100.0);
    t.run(70.0).assert_never_fires("compiler warning flood");
}

#[test]
fn a_linter_reporting_the_same_problems_in_one_file_after_another() {
    // ESLint's stylish format over generated files that all break the same rules at the
    // same places: each file's header, then the same seven problem lines (their positions
    // a line and a column, read as places, not clock times), then a blank line. Replayed
    // at 20 lines a second, as `flowforge replay` reads a plain log.
    let mut t = Timeline::new();
    t.passes(0.0, 0.4, 150, |i| {
        let mut block = vec![
            String::new(),
            format!("/home/dev/shop/src/generated/{}.js", name(i)),
        ];
        for (at, severity, message, rule) in [
            (
                "1:1",
                "error",
                "Unexpected var, use let or const instead",
                "no-var",
            ),
            ("1:22", "warning", "Strings must use singlequote", "quotes"),
            ("1:33", "warning", "Extra semicolon", "semi"),
            ("3:9", "error", "Expected '===' and instead saw '=='", "eqeqeq"),
            ("3:18", "warning", "Expected { after 'if' condition", "curly"),
            ("4:11", "warning", "Extra semicolon", "semi"),
        ] {
            block.push(format!("  {at:<5} {severity:<8} {message:<42} {rule}"));
        }
        block
    });
    t.run(65.0).assert_never_fires("a linter over generated files");
}

#[test]
fn a_plan_creating_many_resources_of_one_kind_in_parallel() {
    // `terraform apply -parallelism=4` of a `count = 40` resource with a provisioner: the same
    // five lines per resource, its index in the address new each time and in no fixed order
    // (whichever finishes first), nothing failing. Replayed at 10 lines a second.
    let mut rng = Rng::new(43);
    let mut order: Vec<u64> = (0..40).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut t = Timeline::new();
    t.passes(0.0, 0.5, order.len(), |i| {
        let n = order[i];
        vec![
            format!("terraform_data.shard[{n}]: Creating..."),
            format!("terraform_data.shard[{n}]: Provisioning with 'local-exec'..."),
            format!("terraform_data.shard[{n}] (local-exec): Executing: [\"/bin/sh\" \"-c\" \"./provision.sh {n}\"]"),
            format!("terraform_data.shard[{n}] (local-exec): shard {n} ready"),
            format!("terraform_data.shard[{n}]: Creation complete after 2s [id={}]", rng.uuid()),
        ]
    });
    t.run(25.0).assert_never_fires("a parallel terraform apply");
}

#[test]
fn a_server_answering_the_same_request_many_times_a_second() {
    // An API server's access log while a dashboard polls it and a load balancer checks it:
    // two access-log lines, a dozen times a second, busy CPU from serving; the clients
    // repeat, the server answers.
    let mut t = Timeline::new();
    t.every(0.0, 0.04, 1500, |i| {
        let ts = format!("02/Dec/2026:15:{:02}:{:02} +0000", i / 1500, (i / 25) % 60);
        if i % 2 == 0 {
            format!(r#"10.0.3.7 - - [{ts}] "GET /api/status HTTP/1.1" 200 41 "-" "Mozilla/5.0""#)
        } else {
            format!(r#"10.0.0.2 - - [{ts}] "GET /healthz HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0""#)
        }
    });
    t.cpu(0.0, 60.0, |_| 80.0);
    t.run(60.0).assert_never_fires("a polled server");
    // A Rails app polled by its frontend: four lines per request.
    let mut t = Timeline::new();
    t.passes(0.0, 0.08, 700, |i| {
        vec![
            format!(
                r#"Started GET "/api/jobs/42/status" for 127.0.0.1 at 2026-12-02 15:01:{:02} +0000"#,
                i / 12 % 60
            ),
            "Processing by JobsController#status as JSON".to_string(),
            r#"  Parameters: {"id"=>"42"}"#.to_string(),
            format!(
                "Completed 200 OK in {}ms (Views: 0.2ms | ActiveRecord: 0.4ms | Allocations: 612)",
                2 + i % 5
            ),
        ]
    });
    t.cpu(0.0, 60.0, |_| 30.0);
    t.run(60.0).assert_never_fires("a polled Rails app");
}

#[test]
fn a_database_client_loading_a_script_of_inserts() {
    // `psql -f seed.sql`: one command tag per statement, thousands a second, the same tag
    // for a stretch of single-row INSERTs and then a block of transactions.
    let mut t = Timeline::new();
    t.every(0.0, 0.0005, 20_000, |_| "INSERT 0 1".to_string());
    t.every(10.0, 0.0005, 20_000, |i| {
        ["BEGIN", "UPDATE 1", "INSERT 0 1", "COMMIT"][i % 4].to_string()
    });
    t.cpu(0.0, 30.0, |_| 45.0);
    t.run(30.0).assert_never_fires("a psql data load");
}

#[test]
fn verbose_unittest_with_numbered_test_names_sorted_as_text() {
    // `python -m unittest -v` of a module with regression tests named after bug numbers:
    // unittest sorts them as text, so the numbers rise and fall; each line is another test.
    let mut rng = Rng::new(23);
    let mut bugs: Vec<String> = (0..400)
        .map(|_| (1000 + rng.below(900_000)).to_string())
        .collect();
    bugs.sort();
    bugs.dedup();
    let mut t = Timeline::new();
    t.every(0.0, 0.1, bugs.len(), |i| {
        format!("test_bug_{0} (test.test_re.ReTests.test_bug_{0}) ... ok", bugs[i])
    });
    t.run(bugs.len() as f64 * 0.1 + 2.0)
        .assert_never_fires("verbose unittest");
}

#[test]
fn test_runner_dots_and_names() {
    let mut t = Timeline::new();
    // Dots flushed in chunks, then a per-file summary with an advancing percentage.
    t.every(0.0, 0.1, 400, |i| {
        if i % 10 == 9 {
            format!("tests/test_{}.py [{:3}%]", name(i), i / 4)
        } else {
            ".".repeat(1 + i % 5)
        }
    });
    // A cargo-style run whose numbered names arrive in alphabetical, not numeric, order.
    let mut cases: Vec<String> = (0..3000).map(|i| format!("case_{i}")).collect();
    cases.sort();
    t.every(40.0, 0.002, cases.len(), |i| {
        format!("test parser::tests::{} ... ok", cases[i])
    });
    t.cpu(0.0, 50.0, |_| 100.0);
    t.run(50.0).assert_never_fires("test runner");
}

#[test]
fn carriage_return_progress_bar() {
    let mut rng = Rng::new(2);
    let mut t = Timeline::new();
    // 20 redraws a second, the percentage advancing about once a second.
    t.every(0.0, 0.05, 1600, |i| {
        let pct = i / 20;
        let bar = "█".repeat(pct / 5);
        format!(
            "\x1b[2K model.bin: {pct:3}%|{bar:<20}| {:.1}/80.0 MB [00:{:02}<01:{:02}, {:.1} MB/s]",
            0.8 * pct as f64,
            i / 20 % 60,
            59 - i / 20 % 60,
            rng.range(0.5, 2.5)
        )
    });
    t.every(80.0, 0.1, 300, |i| format!("Progress: {}%", i / 3));
    t.cpu(0.0, 110.0, |_| 40.0);
    t.run(110.0).assert_never_fires("progress bar");
}

#[test]
fn processed_counters() {
    let mut t = Timeline::new();
    t.every(0.0, 0.02, 3000, |i| {
        format!(
            "processed {}/3000 records ({:.1} %)",
            i + 1,
            (i + 1) as f64 / 30.0
        )
    });
    t.cpu(0.0, 60.0, |_| 100.0);
    t.run(65.0).assert_never_fires("processed counters");
}

#[test]
fn ml_training_log() {
    let mut rng = Rng::new(3);
    let mut t = Timeline::new();
    t.every(0.0, 0.05, 2400, |i| {
        let step = i * 10;
        if i % 50 == 49 {
            format!(
                "[eval] epoch {}/10 step {step} val_loss={:.4} accuracy={:.3}",
                1 + i / 240,
                rng.range(0.2, 0.5),
                rng.range(0.8, 0.95)
            )
        } else {
            format!(
                "epoch {}/10 step {step} loss={:.4} lr=3e-4 grad_norm={:.2} 12.5 it/s",
                1 + i / 240,
                rng.range(0.1, 0.9),
                rng.range(0.5, 3.0)
            )
        }
    });
    t.cpu(0.0, 120.0, |_| 100.0);
    t.run(125.0).assert_never_fires("ML training");
}

#[test]
fn busy_access_log() {
    let mut rng = Rng::new(4);
    let endpoints = [
        "GET /health",
        "GET /health",
        "GET /health",
        "GET /api/users/{}",
        "GET /api/users/{}",
        "POST /api/orders",
        "GET /static/app.js",
        "GET /api/orders/{}",
        "PUT /api/users/{}",
        "DELETE /api/sessions/{}",
        "GET /metrics",
        "GET /",
    ];
    let mut t = Timeline::new();
    t.every(0.0, 1.0 / 300.0, 9000, |_| {
        let endpoint = endpoints[rng.below(endpoints.len() as u64) as usize].replace("{}", &rng.below(5000).to_string());
        let status = [200, 200, 200, 201, 304, 404, 500][rng.below(7) as usize];
        format!(
            r#"10.{}.{}.{} - - [28/Nov/2024:17:58:{:02} +0000] "{endpoint} HTTP/1.1" {status} {} "-" "Mozilla/5.0""#,
            rng.below(256), rng.below(256), rng.below(256), rng.below(60), rng.below(90_000)
        )
    });
    t.cpu(0.0, 30.0, |_| 95.0);
    t.run(32.0).assert_never_fires("access log");
}

#[test]
fn heartbeat_pollers() {
    let mut rng = Rng::new(5);
    let mut t = Timeline::new();
    let mut at = 0.0;
    for _ in 0..600 {
        t.line(
            at,
            Stream::Stdout,
            format!(
                "{} health check ok: upstream=api status=200 latency={}ms",
                iso(at),
                rng.below(40)
            ),
        );
        at += rng.range(0.9, 1.1);
    }
    t.cpu(0.0, 600.0, |_| 100.0);
    t.run(600.0).assert_never_fires("one-line heartbeat");

    let mut t = Timeline::new();
    t.passes(0.0, 1.0, 300, |_| {
        vec!["checking upstream...".into(), "upstream ok".into()]
    });
    t.cpu(0.0, 300.0, |_| 100.0);
    t.run(300.0).assert_never_fires("two-line heartbeat");

    let mut t = Timeline::new();
    t.passes(0.0, 1.0, 120, |_| {
        vec![
            "poll: queue depth 0".into(),
            "poll: no work".into(),
            "poll: sleeping 1s".into(),
        ]
    });
    t.run(120.0).assert_never_fires("three-line poller");
}

#[test]
fn silent_and_bursty_compute() {
    let mut t = Timeline::new();
    t.line(0.0, Stream::Stdout, "starting simulation");
    t.cpu(0.0, 120.0, |_| 100.0);
    t.run(120.0).assert_never_fires("silent compute");

    let mut t = Timeline::new();
    t.passes(0.5, 5.0, 24, |b| {
        vec![
            format!("batch {b}: loaded 1000 rows"),
            format!("batch {b}: transformed"),
            format!("batch {b}: wrote 1000 rows in 1.2s"),
        ]
    });
    t.cpu(0.0, 120.0, |s| if (s as u64) % 5 < 2 { 180.0 } else { 3.0 });
    t.run(120.0).assert_never_fires("bursty batches");
}

#[test]
fn startup_burst_then_quiet_service() {
    let mut t = Timeline::new();
    t.every(0.0, 0.004, 400, |i| {
        format!("loading module {}", name(i).replace('_', "."))
    });
    t.every(1.6, 0.003, 300, |i| {
        format!("registered plugin_{i} from /opt/app/plugins/plugin_{i}.so")
    });
    t.line(2.6, Stream::Stdout, "server ready on 0.0.0.0:8080");
    t.every(7.0, 5.0, 20, |i| {
        format!("{} served {} requests", iso(7.0 + 5.0 * i as f64), 10 * i)
    });
    t.cpu(0.0, 100.0, |s| if s < 4.0 { 100.0 } else { 2.0 });
    t.run(100.0).assert_never_fires("startup burst");
}

#[test]
fn retry_with_backoff_that_recovers() {
    let mut t = Timeline::new();
    let mut at = 0.5;
    let mut gap = 0.05;
    for attempt in 1..=8 {
        t.line(at, Stream::Stderr, format!("{} WARN connect to db:5432 failed (attempt {attempt}): connection refused, retrying in {gap:.2}s", iso(at)));
        at += gap;
        gap *= 2.0;
    }
    t.line(at, Stream::Stdout, "connected to db");
    t.every(at + 0.1, 0.1, 300, |i| format!("imported row batch {i}/300"));
    t.cpu(0.0, 60.0, |_| 60.0);
    t.run(60.0).assert_never_fires("backoff");
}

#[test]
fn parallel_workers_interleaved() {
    let mut rng = Rng::new(6);
    let mut done = [0u32, 40, 120, 7];
    let mut t = Timeline::new();
    t.every(0.0, 0.025, 2400, |_| {
        let w = rng.below(4) as usize;
        done[w] += 1;
        format!("[worker {}] processed {}/1000 items", w + 1, done[w])
    });
    t.cpu(0.0, 60.0, |_| 380.0);
    t.run(62.0).assert_never_fires("parallel workers");
}

#[test]
fn spinner_redrawn_in_place() {
    let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    let phases = [
        "idealTree: sill buildDeps",
        "reify:lodash: timing reifyNode",
        "build:esbuild: sill postinstall",
    ];
    let mut t = Timeline::new();
    t.every(0.0, 0.08, 300, |i| {
        format!("\r{} {}        ", frames[i % 10], phases[i * 3 / 300])
    });
    t.cpu(0.0, 24.0, |_| 15.0);
    t.run(24.0).assert_never_fires("npm spinner");
}

#[test]
fn slow_resources_still_creating() {
    let mut t = Timeline::new();
    t.passes(2.0, 2.0, 11, |i| {
        let mut lines = vec![format!(
            "aws_db_instance.main: Still creating... [{}s elapsed]",
            2 * (i + 1)
        )];
        if i < 5 {
            lines.push(format!(
                "aws_elasticache_cluster.cache: Still creating... [{}s elapsed]",
                2 * (i + 1)
            ));
        }
        lines
    });
    t.cpu(0.0, 24.0, |_| 5.0);
    t.run(24.0).assert_never_fires("terraform");
}

#[test]
fn tailed_log_of_heartbeats_and_events() {
    let mut t = Timeline::new();
    // `tail -f` delivers what the app wrote every 0.2 s: mostly heartbeats.
    t.every(0.0, 0.5, 48, |i| match i % 7 {
        0 => format!(
            "{} INFO  processed invoice INV-{} amount={}.00",
            iso(0.5 * i as f64),
            20000 + i * 37,
            i * 13 % 997
        ),
        3 => format!(
            "{} WARN  slow query on orders ({}ms)",
            iso(0.5 * i as f64),
            200 + i * 11
        ),
        _ => format!("{} INFO  heartbeat ok", iso(0.5 * i as f64)),
    });
    t.cpu(0.0, 24.0, |_| 1.0);
    t.run(26.0).assert_never_fires("log tailer");
}

#[test]
fn warnings_on_stderr_while_stdout_counts_progress() {
    // The same warning for every record on stderr: a loop on its own, but stdout advances.
    let mut t = Timeline::new();
    for i in 0..2000 {
        let at = 0.5 + 0.01 * i as f64;
        t.line(at, Stream::Stdout, format!("imported record {}/2000", i + 1));
        t.line(
            at + 0.001,
            Stream::Stderr,
            "warning: field 'legacy_id' is deprecated, ignoring",
        );
    }
    t.cpu(0.0, 25.0, |_| 100.0);
    t.run(25.0)
        .assert_never_fires("stderr warnings with stdout progress");
}

#[test]
fn one_record_per_line_with_a_bare_counter() {
    // A consumer that logs every record it handles, numbered and otherwise identical: each
    // line is a unit of work, however long the run.
    let mut t = Timeline::new();
    t.every(0.0, 0.002, 15_000, |i| format!("processed record {}", i + 1));
    t.cpu(0.0, 30.0, |_| 95.0);
    t.run(32.0).assert_never_fires("one record per line");
}

/// The generalisation cases of the real-output corpus: protections that hold on real tools'
/// output, each named in what `replay --explain` prints.
mod real_output {
    use super::super::scenarios::*;
    use crate::sample::Stream;

    #[test]
    fn a_status_line_repeated_in_bursts_while_its_count_steps_down() {
        // kubectl-style: a dozen identical lines, 1.5 s of quiet, the count one lower.
        let mut t = Timeline::new();
        let mut at = 0.2;
        for pending in (1..=10).rev() {
            for _ in 0..12 {
                t.line(
                    at,
                    Stream::Stdout,
                    format!("Waiting for deployment \"web\" rollout to finish: {pending} old replicas are pending termination..."),
                );
                at += 0.04;
            }
            at += 1.5;
        }
        t.line(at, Stream::Stdout, "deployment \"web\" successfully rolled out");
        t.run(at + 2.0).assert_never_fires("rollout bursts");
    }

    #[test]
    fn retries_left_counting_down_next_to_error_wording() {
        let mut t = Timeline::new();
        t.every(0.0, 0.25, 60, |i| {
            format!(
                "FAILED - RETRYING: [app-01]: Wait for /healthz to return 200 ({} retries left).",
                60 - i
            )
        });
        t.run(16.0).assert_never_fires("until/retries countdown");
    }

    #[test]
    fn finite_bursts_of_identical_blocks_between_other_output() {
        // go test -count=40: each test's RUN/PASS pair 40 times in a second, then the next.
        let mut t = Timeline::new();
        let mut at = 0.1;
        for test in [
            "TestGetMiss",
            "TestEviction",
            "TestTTL",
            "TestInsert",
            "TestRangeScan",
            "TestReplay",
        ] {
            for _ in 0..40 {
                t.line(at, Stream::Stdout, format!("=== RUN   {test}"));
                t.line(at + 0.012, Stream::Stdout, format!("--- PASS: {test} (0.00s)"));
                at += 0.025;
            }
            at += 0.8;
            t.line(
                at,
                Stream::Stdout,
                format!("ok  \tgithub.com/acme/store/{}\t1.204s", test.len()),
            );
        }
        t.cpu(0.0, at + 2.0, |_| 95.0);
        t.run(at + 2.0).assert_never_fires("go test -count bursts");
    }

    #[test]
    fn identical_result_blocks_under_new_task_headers() {
        // An Ansible-like run: every pass is a task header never seen before, then the same
        // block of ok lines; nothing fails.
        let mut t = Timeline::new();
        t.passes(0.0, 0.03, 30 * 7, |task| {
            let mut lines = vec![format!("TASK [{}] ***", name(task))];
            lines.extend((1..=6).map(|h| format!("ok: [web-0{h}]")));
            lines
        });
        t.run(12.0).assert_never_fires("identical ok blocks");
    }

    #[test]
    fn a_status_block_redrawn_by_a_timer_while_the_job_is_busy() {
        // A four-line status table every second (one row flapping between two states) from
        // a job whose tree runs at full CPU: a display, however long it runs.
        let mut t = Timeline::new();
        t.passes(0.0, 1.0, 120, |n| {
            vec![
                "NAME READY STATUS RESTARTS".into(),
                "web-1 1/1 Running 0".into(),
                "web-2 1/1 Running 0".into(),
                if n % 3 == 0 {
                    "web-3 0/1 Pending 0"
                } else {
                    "web-3 0/1 ContainerCreating 0"
                }
                .into(),
            ]
        });
        t.cpu(0.0, 120.0, |_| 100.0);
        t.run(120.0).assert_never_fires("timer-driven status block");
    }

    #[test]
    fn a_few_rebuilds_after_edits_then_idle() {
        // A watch-mode build saved three times in a row: the same block three times about a
        // second apart with a full core each, then quiet, twice.
        let mut t = Timeline::new();
        for (burst, start) in [(0, 1.0), (1, 12.0)] {
            for gap in [0.0, 1.05, 2.2] {
                t.passes(start + gap, 1.0, 1, |_| {
                    vec![
                        "File change detected. Starting incremental compilation...".into(),
                        format!("src/{}.ts changed", ["cart", "orders"][burst]),
                        "Found 0 errors. Watching for file changes.".into(),
                    ]
                });
            }
        }
        t.cpu(0.0, 20.0, |s| {
            if (1.0..4.0).contains(&s) || (12.0..15.0).contains(&s) {
                100.0
            } else {
                1.0
            }
        });
        t.run(20.0).assert_never_fires("a few rebuilds");
    }

    #[test]
    fn a_long_poll_with_an_empty_result_at_its_timeout_pace() {
        // An SQS-style worker: the same request and "Received 0 messages" every poll timeout
        // (1 s plus a few ms), for half a minute.
        let mut rng = Rng::new(5);
        let mut t = Timeline::new();
        let mut at = 0.2;
        for _ in 0..30 {
            t.line(
                at,
                Stream::Stdout,
                "DEBUG receive_message QueueUrl=jobs MaxNumberOfMessages=10 WaitTimeSeconds=1",
            );
            at += 1.0 + rng.range(0.005, 0.03);
            t.line(at, Stream::Stdout, "DEBUG Received 0 messages");
        }
        t.run(at + 1.0).assert_never_fires("long poll, empty results");
    }

    #[test]
    fn a_wait_loop_that_says_it_waits() {
        // `until ansible node -m ping; do echo waiting ...; sleep 1; done` while a VM boots,
        // and `until curl ...; do echo "not ready, retrying in 1s"; sleep 1; done`.
        let mut t = Timeline::new();
        t.passes(0.0, 1.0, 40, |_| {
            vec![
                "node01 | UNREACHABLE! => {".into(),
                r#"    "msg": "Failed to connect to the host via ssh: Connection refused","#.into(),
                r#"    "unreachable": true"#.into(),
                "}".into(),
                "waiting for ssh on node01 ...".into(),
            ]
        });
        t.run(41.0).assert_never_fires("ssh wait loop");
        let mut rng = Rng::new(8);
        let mut t = Timeline::new();
        let mut at = 0.1;
        for _ in 0..40 {
            t.line(
                at,
                Stream::Stdout,
                "curl: (7) Failed to connect to api port 8080 after 2 ms: Couldn't connect to server",
            );
            t.line(at + 0.01, Stream::Stdout, "api not ready, retrying in 1s");
            at += rng.range(0.7, 1.4);
        }
        t.run(at).assert_never_fires("curl wait loop");
    }

    #[test]
    fn a_two_line_heartbeat_at_a_wandering_pace_reports_success() {
        // A leader-election client renewing its lease and printing its queue depth at a
        // jittered pace: nothing fails, nothing comes back empty.
        let mut rng = Rng::new(13);
        let mut t = Timeline::new();
        let mut at = 0.3;
        for _ in 0..40 {
            t.line(at, Stream::Stdout, "I0603 10:00:01.123456 1 leaderelection.go:283] successfully renewed lease kube-system/rotator");
            t.line(
                at + 0.001,
                Stream::Stdout,
                r#"I0603 10:00:01.123499 1 controller.go:187] workqueue "secrets" depth=0 adds=0"#,
            );
            at += rng.range(0.6, 1.1);
        }
        t.run(at).assert_never_fires("lease heartbeat");
    }

    #[test]
    fn a_poller_that_says_it_polls_at_a_wandering_pace() {
        // A workflow worker long-polling with server-side jitter: request, empty answer.
        let mut rng = Rng::new(17);
        let mut t = Timeline::new();
        let mut at = 0.3;
        for _ in 0..40 {
            t.line(
                at,
                Stream::Stdout,
                r#"DEBUG Polling for workflow task {"TaskQueue": "orders"}"#,
            );
            at += rng.range(0.75, 1.25);
            t.line(
                at,
                Stream::Stdout,
                r#"DEBUG No workflow task received {"TaskQueue": "orders", "BacklogCountHint": 0}"#,
            );
        }
        t.run(at + 1.0).assert_never_fires("workflow poller");
    }

    #[test]
    fn a_timer_paced_table_whose_failing_row_flaps() {
        // `kubectl get pods` every second while an image is missing: the failing row reads
        // ErrImagePull for two polls, ImagePullBackOff for two, again and again.
        let mut t = Timeline::new();
        t.passes(0.0, 1.0, 40, |n| {
            vec![
                "NAME READY STATUS RESTARTS AGE".into(),
                "api-1 1/1 Running 0 5m".into(),
                "api-2 1/1 Running 0 5m".into(),
                if n % 4 < 2 {
                    "api-3 0/1 ErrImagePull 0 40s"
                } else {
                    "api-3 0/1 ImagePullBackOff 0 40s"
                }
                .into(),
            ]
        });
        t.run(41.0)
            .assert_never_fires("flapping error row in a timer-paced table");
    }

    #[test]
    fn a_failing_status_table_whose_age_rises_with_the_clock() {
        // A deploy script polling `kubectl get pods` every second while two pods fail until
        // a config fix lands: the same table with a failing row for 20 s, nothing but
        // the AGE column moving. Without the age this is a failing block re-run at a timer's
        // pace; the age rising with the clock says it is a display of a wait.
        let mut t = Timeline::new();
        t.passes(0.0, 1.0, 20, |n| {
            vec![
                "NAME READY STATUS RESTARTS AGE".into(),
                format!("api-7c9f-2xkqp 1/1 Running 0 {}s", n + 61),
                format!("api-7c9f-9wz4m 0/1 Error 3 {}s", n + 58),
                format!("worker-5d8b-tq6rn 0/1 Error 3 {}s", n + 58),
            ]
        });
        t.passes(20.0, 1.0, 5, |n| {
            vec![
                "NAME READY STATUS RESTARTS AGE".into(),
                format!("api-7c9f-2xkqp 1/1 Running 0 {}s", n + 81),
                format!("api-7c9f-9wz4m 1/1 Running 4 {}s", n + 78),
                format!("worker-5d8b-tq6rn 1/1 Running 4 {}s", n + 78),
            ]
        });
        let outcome = t.run(26.0);
        outcome.assert_never_fires("failing status table with a rising AGE");
    }

    #[test]
    fn the_same_tool_with_new_arguments_and_new_results() {
        // A function-calling agent (JSON lines) searching the same docs tool again and again:
        // a sentence and the call, then the hits; the sentence reads alike each time, but
        // the query and the hits are new in every pass.
        let mut rng = Rng::new(17);
        let mut t = Timeline::new();
        let mut at = 0.5;
        for n in 0..24 {
            let topic = name(n * 7);
            t.line(
                at,
                Stream::Stdout,
                format!(
                    r#"{{"role": "assistant", "content": "Next I need what the docs say about this setting.", "tool_calls": [{{"id": "call_{}", "function": {{"name": "search_docs", "arguments": "{{\"query\": \"{topic}\"}}"}}}}]}}"#,
                    rng.hex(24)
                ),
            );
            t.line(
                at + 0.2,
                Stream::Stdout,
                format!(
                    r#"{{"role": "tool", "tool_call_id": "call_{}", "content": "[{{\"page\": \"docs/{topic}.md\", \"line\": {}}}]"}}"#,
                    rng.hex(24),
                    rng.below(900)
                ),
            );
            at += rng.range(0.6, 1.3);
        }
        t.run(at + 1.0)
            .assert_never_fires("same tool, new arguments, new results");
    }

    #[test]
    fn a_timer_paced_bot_rotating_stock_phrases_before_an_empty_result() {
        // A chat-ops bot polling a queue every second (`sleep 1`), picking one of a few
        // stock phrases before the same empty answer: prose that changes, but a timer's
        // pace, so it is a display, not a model asking again.
        let say = [
            "Still nothing new in the deploy queue.",
            "The deploy queue is empty right now.",
            "No deploys are waiting at the moment.",
        ];
        let mut rng = Rng::new(29);
        let mut t = Timeline::new();
        let mut at = 0.5;
        for n in 0..30 {
            t.line(
                at,
                Stream::Stdout,
                format!("[bot] {}", say[rng.below(3) as usize]),
            );
            t.line(at + 0.01, Stream::Stdout, "[queue] deploys: none");
            t.line(at + 0.02, Stream::Stdout, "[queue] next check scheduled");
            at = 0.5 + (n + 1) as f64 * 1.002;
        }
        t.run(at + 1.0)
            .assert_never_fires("timer-paced bot with stock phrases");
    }

    #[test]
    fn tokens_as_the_unit_of_work_are_progress() {
        // A tokenizer over a corpus: the count after the word `tokens` is the work done, not
        // what a model call used, and it rises on every line.
        let mut t = Timeline::new();
        t.every(0.0, 0.25, 100, |i| {
            format!(
                "tokenize: shard 3 tokens {} docs {}",
                882_000 + i * 37_113,
                1200 + i * 9
            )
        });
        t.run(26.0).assert_never_fires("tokenizer progress");
    }

    #[test]
    fn items_named_in_a_tagged_sentence_each_with_nothing_found() {
        // An advisory scanner working through its packages: the sentence names a new
        // package every pass, then the same empty answer. The sentences differ only in the
        // item they name: the job moves on through its list, no model is asking again.
        let packages = [
            "Acme Widgets",
            "Globex Client",
            "Initech Core",
            "Umbrella Auth",
            "Stark Render",
            "Wayne Ledger",
            "Hooli Search",
            "Vandelay Export",
            "Soylent Feed",
            "Tyrell Vision",
            "Cyberdyne Sched",
            "Wonka Pricing",
            "Gringotts Vault",
            "Oscorp Metrics",
            "Monarch Queue",
            "Aperture Portal",
            "Mesa Relay",
            "Dynamic Forms",
            "Piper Compress",
            "Mifflin Paper",
        ];
        let mut rng = Rng::new(31);
        let mut t = Timeline::new();
        let mut at = 0.5;
        for p in packages {
            t.line(
                at,
                Stream::Stdout,
                format!("[scan] Checking the advisory feed of {p}"),
            );
            t.line(
                at + 0.3,
                Stream::Stdout,
                "[scan] Fetching the advisories for this package",
            );
            t.line(at + 0.6, Stream::Stdout, "[scan] No open advisories found");
            at += rng.range(0.8, 1.4);
        }
        t.run(at + 1.0)
            .assert_never_fires("items named in a tagged sentence");
    }
}

#[test]
fn an_importer_skipping_row_after_row_with_the_same_failure() {
    // A data import whose export has a bad column for a long stretch: the same warning,
    // failure words and all, thirty times a second, for row after row. Only the row number
    // moves (by one, or two when a good row was imported in between): every line is the next
    // item of a batch job, not an attempt of a loop.
    let mut rng = Rng::new(61);
    let mut t = Timeline::new();
    let mut row = 1000;
    t.every(0.0, 0.033, 600, |_| {
        row += if rng.below(10) == 0 { 2 } else { 1 };
        format!(
            "WARNING:customers.importer:skipping row {row}: invalid date in column 'signup_date' \
             (expected YYYY-MM-DD)"
        )
    });
    t.run(21.0)
        .assert_never_fires("an importer skipping rows that fail the same way");
}

#[test]
fn one_json_line_per_step_whose_status_moves_beside_a_standing_error() {
    // An ops agent polling a restore with the same call every step, one JSON line a step,
    // its text reworded: the status carries a standing warning with failure words, but its
    // numbers move every step. The same words with other numbers are news, not a loop.
    let a = [
        "Checking the restore status again.",
        "Let me see how far the restore has got.",
        "Looking at the restore progress.",
    ];
    let b = [
        "Large tables take a while",
        "It should move to the next phase soon",
        "I will wait until it completes",
    ];
    let mut rng = Rng::new(67);
    let mut t = Timeline::new();
    let (mut at, mut pct) = (0.5, 0.0);
    while at < 24.0 {
        pct += rng.range(2.0, 5.0);
        let id = rng.hex(24);
        t.line(
            at,
            Stream::Stdout,
            format!(
                r#"{{"stepType":"tool-result","text":"{} {}.","toolCalls":[{{"toolCallId":"call_{id}","toolName":"getRestoreStatus","args":{{"restoreId":"rst_8QmZ2kTf"}}}}],"toolResults":[{{"toolCallId":"call_{id}","result":{{"state":"degraded","error":"replica 2 unreachable","percentDone":{:.1},"bytesRestored":{}}}}}]}}"#,
                a[rng.below(3) as usize],
                b[rng.below(3) as usize],
                pct,
                (pct * 1.0e8) as u64
            ),
        );
        at += rng.range(0.8, 1.4);
    }
    t.cpu(0.0, 25.0, |_| 2.0);
    t.run(25.0)
        .assert_never_fires("one JSON line per step whose status moves");
}

#[test]
fn one_line_per_unit_whose_sentence_names_a_new_file_at_full_cpu() {
    // A CMake build (no percentages, as a sub-make prints them) at full CPU: every line the
    // same sentence about another object file. Sentences of one shape naming other things
    // are distinct work, not one line reworded.
    let dirs = ["core", "net", "util", "query", "store", "auth"];
    let mut rng = Rng::new(71);
    let mut t = Timeline::new();
    t.every(0.0, 0.2, 120, |i| {
        let d = dirs[rng.below(6) as usize];
        let file = [
            "arena", "executor", "bitmap", "router", "buffer", "cache", "planner", "lexer",
        ];
        format!(
            "[ 25%] Building CXX object src/{d}/CMakeFiles/{d}.dir/{}{}.cpp.o",
            file[i % 8],
            file[i / 8 % 8]
        )
    });
    t.cpu(0.0, 25.0, |_| 100.0);
    t.run(25.0)
        .assert_never_fires("one line per object file at full CPU");
}

#[test]
fn a_service_that_crashes_three_times_then_serves() {
    // A runit service started before its database: the same start / refused / exit block
    // three times, a second apart (runsv's pause), fresh pids; then it connects and serves.
    let mut rng = Rng::new(81);
    let mut t = Timeline::new();
    let (mut at, mut pid) = (0.5, 1412u64);
    for _ in 0..3 {
        t.line(
            at,
            Stream::Stdout,
            format!("{} starting billing-api (pid {pid})", iso(at)),
        );
        t.line(at + 0.1, Stream::Stdout, format!("{} level=fatal msg=\"connect database\" error=\"dial tcp 10.0.2.15:5432: connect: connection refused\"", iso(at + 0.1)));
        t.line(
            at + 0.11,
            Stream::Stdout,
            format!(
                "{} billing-api exited (status 1, signal -1), restarting",
                iso(at + 0.11)
            ),
        );
        at += 1.2 + rng.range(0.0, 0.1);
        pid += 3 + rng.below(40);
    }
    t.line(
        at,
        Stream::Stdout,
        format!("{} starting billing-api (pid {pid})", iso(at)),
    );
    t.line(
        at + 0.3,
        Stream::Stdout,
        format!("{} level=info msg=\"database connected\" pool=20", iso(at + 0.3)),
    );
    let paths = ["/v1/invoices", "/v1/customers", "/v1/usage", "/v1/credits"];
    let start = at + 0.5;
    t.every(start, 0.25, 80, |i| {
        format!(
            "{} level=info msg=request path={} status=200 invoice=inv_{} duration={}ms",
            iso(start + 0.25 * i as f64),
            paths[i % 4],
            100_000 + i * 7,
            2 + i % 90
        )
    });
    t.cpu(0.0, 30.0, |_| 3.0);
    t.run(30.0)
        .assert_never_fires("service that crashes three times then serves");
}

#[test]
fn a_supervisor_backing_off_while_a_dependency_starts() {
    // A supervisor restarting a worker whose broker is still coming up, backing off 1, 2, 4
    // and 8 s: the same crash block five times over, but the supervisor gives what the
    // worker needs time to arrive; then it runs.
    let mut t = Timeline::new();
    let mut at = 0.5;
    for (n, backoff) in [1.0, 2.0, 4.0, 8.0, 0.0].into_iter().enumerate() {
        t.line(
            at,
            Stream::Stdout,
            format!("{} INFO spawned: 'worker' with pid {}", iso(at), 300 + 7 * n),
        );
        t.line(
            at + 0.6,
            Stream::Stdout,
            format!(
                "{} INFO exited: worker (exit status 1; not expected)",
                iso(at + 0.6)
            ),
        );
        t.line(
            at + 0.601,
            Stream::Stdout,
            format!("{} INFO backing off, retry later", iso(at + 0.601)),
        );
        at += 0.6 + backoff;
    }
    t.line(
        at,
        Stream::Stdout,
        format!("{} INFO spawned: 'worker' with pid 400", iso(at)),
    );
    t.line(
        at + 1.0,
        Stream::Stdout,
        format!("{} INFO success: worker entered RUNNING state", iso(at + 1.0)),
    );
    let start = at + 1.5;
    t.every(start, 0.4, 30, |i| {
        format!(
            "{} task tasks.send_receipt[{}] succeeded in {}.{}s",
            iso(start + 0.4 * i as f64),
            9000 + i,
            i % 3,
            i % 10
        )
    });
    t.cpu(0.0, 40.0, |_| 2.0);
    t.run(40.0).assert_never_fires("supervisor backing off");
}

#[test]
fn workers_recycled_on_a_request_quota_are_no_restart_loop() {
    // gunicorn with --max-requests: a worker retires after its quota and the master boots the
    // next, every ~2.5 s, fresh pids and nothing else moving; but nothing crashed.
    let mut rng = Rng::new(83);
    let mut t = Timeline::new();
    let (mut at, mut pid) = (0.5, 12u64);
    for _ in 0..12 {
        t.line(
            at,
            Stream::Stderr,
            format!(
                "[2024-05-01 10:00:00 +0000] [{pid}] [INFO] Autorestarting worker after current request."
            ),
        );
        t.line(
            at + 0.01,
            Stream::Stderr,
            format!("[2024-05-01 10:00:00 +0000] [{pid}] [INFO] Worker exiting (pid: {pid})"),
        );
        pid += 1 + rng.below(2);
        t.line(
            at + 0.05,
            Stream::Stderr,
            format!("[2024-05-01 10:00:00 +0000] [{pid}] [INFO] Booting worker with pid: {pid}"),
        );
        at += 2.5;
    }
    t.cpu(0.0, 35.0, |_| 1.0);
    t.run(35.0)
        .assert_never_fires("workers recycled on a request quota");
}

#[test]
fn a_crashlooping_pod_that_a_deploy_step_waits_for() {
    // `until kubectl wait --for=condition=Ready ...; do kubectl get pods; kubectl logs
    // --previous; done`: the CrashLoopBackOff row and the crash every ~2.5 s for twelve
    // seconds, but the step says it waits (`timed out waiting for the condition`), and the
    // pod comes up once its secret exists.
    let mut t = Timeline::new();
    let pod = "worker-6b7f9d5c4-8xk2p";
    let mut at = 2.0;
    for n in 0..5 {
        t.line(
            at,
            Stream::Stdout,
            format!("error: timed out waiting for the condition on pods/{pod}"),
        );
        t.line(
            at + 0.1,
            Stream::Stdout,
            format!(
                "{pod}   0/1     CrashLoopBackOff   {} ({}s ago)   {}s",
                3 + n,
                3 + n % 3,
                61 + 2 * n
            ),
        );
        t.line(
            at + 0.2,
            Stream::Stdout,
            "panic: config invalid: missing env REDIS_PASSWORD",
        );
        at += 2.5;
    }
    t.line(at, Stream::Stdout, format!("pod/{pod} condition met"));
    let start = at + 0.5;
    t.every(start, 0.3, 40, |i| {
        format!(
            "{} INFO job done {{\"queue\": \"mail\", \"id\": {}}}",
            iso(start + 0.3 * i as f64),
            9000 + i
        )
    });
    t.cpu(0.0, 35.0, |_| 2.0);
    t.run(35.0)
        .assert_never_fires("crashlooping pod a deploy step waits for");
}

#[test]
fn a_status_display_with_a_container_that_stays_dead() {
    // A deploy step polling `docker ps -a` every second while its services come up: one
    // one-off container exited 1 minutes ago and stays so. The same block every second
    // reports a crash, but nothing in it starts: a display, not a restart loop.
    let mut t = Timeline::new();
    t.passes(0.5, 1.0, 25, |_| {
        vec![
            "NAMES      STATUS".to_string(),
            "api        Up 4 minutes".to_string(),
            "db         Up 5 minutes (healthy)".to_string(),
            "seed-data  Exited (1) 3 minutes ago".to_string(),
        ]
    });
    t.line(26.0, Stream::Stdout, "all services healthy, deploying");
    t.cpu(0.0, 30.0, |_| 1.0);
    t.run(30.0)
        .assert_never_fires("status display with a dead container");
}

#[test]
fn a_slow_test_retried_three_times_after_its_failure() {
    // `playwright test --retries=3` (or `jest.retryTimes(3)`, `pytest --reruns 3`): an e2e
    // test that fails the same way four times, about 1.8 s each, then the suite moves on.
    let mut rng = Rng::new(84);
    let mut t = Timeline::new();
    let mut at = 0.5;
    for _ in 0..4 {
        t.passes(at, 1.0, 1, |_| {
            vec![
                "  ✘  1 [chromium] › checkout.spec.ts:14:5 › pays with a saved card".to_string(),
                "    Error: Timed out 5000ms waiting for expect(locator).toBeVisible()".to_string(),
                "    Locator: getByRole('button', { name: 'Pay now' })".to_string(),
                "    Expected: visible".to_string(),
                "    Received: <element(s) not found>".to_string(),
            ]
        });
        at += rng.range(1.6, 2.0);
    }
    for i in 0..12 {
        t.line(
            at,
            Stream::Stdout,
            format!(
                "  ✓  {} [chromium] › {}.spec.ts:{}:5 › {} ({:.1}s)",
                i + 2,
                name(i),
                10 + i,
                name(i + 40),
                rng.range(0.8, 2.5)
            ),
        );
        at += rng.range(0.8, 2.5);
    }
    t.line(at, Stream::Stdout, "  1 failed, 12 passed (31.4s)");
    t.cpu(0.0, 40.0, |_| 35.0);
    t.run(40.0).assert_never_fires("slow test retried three times");
}

#[test]
fn a_pod_table_polled_every_second_while_one_pod_crashloops() {
    // A deploy script printing `kubectl get pods -l app=shop` every second (`sleep 1`): a new
    // pod sits in CrashLoopBackOff beside running ones for fifteen seconds until its
    // ConfigMap lands, then runs. The block reports a crash and pods running, but nothing
    // in it moves and its pace is the timer's: a display, not a restart loop.
    let mut t = Timeline::new();
    for n in 0..25 {
        let at = 0.5 + n as f64 * 1.002;
        let status = if n < 15 {
            "0/1     CrashLoopBackOff   3 (40s ago)   2m"
        } else {
            "1/1     Running            4 (1s ago)    2m"
        };
        t.passes(at, 1.0, 1, |_| {
            vec![
                "NAME                    READY   STATUS             RESTARTS      AGE".to_string(),
                "shop-7d9f8c6b5d-2xkqp   1/1     Running            0             6d".to_string(),
                "shop-7d9f8c6b5d-8mzrt   1/1     Running            0             6d".to_string(),
                format!("shop-5c8d7b9f4-7xk2m    {status}"),
            ]
        });
    }
    t.cpu(0.0, 30.0, |_| 1.0);
    t.run(30.0)
        .assert_never_fires("pod table polled while one pod crashloops");
}

#[test]
fn an_agent_polling_a_build_at_a_model_pace() {
    // An agent waiting for CI through a tool, at a real model's pace (6-12 s an answer):
    // it rewords its message each time and reports its tokens, and the build's status is
    // `pending` (a wait), then moves on through the stages. Slow passes of a model are
    // judged as a loop only when the result stays the same and says nothing of waiting.
    let say = [
        "The build is still running, let me check again.",
        "Let me check the status of the build once more.",
        "I'll wait a moment and look at the build again.",
    ];
    let mut rng = Rng::new(31);
    let mut t = Timeline::new();
    let mut at = 1.0;
    for n in 0..14 {
        let id = rng.hex(22);
        let status = if n < 8 {
            r#"{\"status\": \"pending\", \"stage\": \"queued\"}"#.to_string()
        } else {
            format!(
                r#"{{\"status\": \"running\", \"stage\": \"test\", \"done\": {}}}"#,
                10 * (n - 7)
            )
        };
        let lines = [
            format!(
                r#"{{"role":"assistant","content":[{{"type":"text","text":"{}"}},{{"type":"tool_use","id":"toolu_01{id}","name":"get_build","input":{{"build":"4411"}}}}]}}"#,
                say[rng.below(3) as usize]
            ),
            format!(
                r#"{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_01{id}","content":"{status}"}}]}}"#
            ),
            format!(
                r#"{{"usage":{{"input_tokens":{},"output_tokens":{}}}}}"#,
                900 + 150 * n,
                30 + rng.below(40)
            ),
        ];
        for (j, line) in lines.iter().enumerate() {
            t.line(at + 0.005 * j as f64, Stream::Stdout, line);
        }
        at += rng.range(6.0, 12.0);
    }
    t.cpu(0.0, at, |_| 1.0);
    t.run(at + 5.0)
        .assert_never_fires("agent polling a build at a model's pace");
}

#[test]
fn boosting_warnings_between_evaluation_lines() {
    // LightGBM on data too small for its leaves: every tree runs out of splits and the core
    // warns (`No further splits with positive gain`), a hundred identical warnings between
    // two evaluation lines of `log_evaluation(100)`. A one-line run for 0.5 s at a time,
    // absorbing the evaluation lines; their round counter is what says the run trains, and
    // a long pass lets it return only twice before the run could be judged.
    let mut t = Timeline::new();
    t.line(0.0, Stream::Stdout, "[LightGBM] [Info] Total Bins 808");
    t.line(
        0.01,
        Stream::Stdout,
        "[LightGBM] [Info] Start training from score 0.056064",
    );
    let mut l2 = 0.9;
    for round in 1..=3000usize {
        let at = 0.02 + round as f64 * 0.005;
        t.line(
            at,
            Stream::Stdout,
            "[LightGBM] [Warning] No further splits with positive gain, best gain: -inf",
        );
        if round % 100 == 0 {
            l2 = 0.2 + (l2 - 0.2) * 0.6;
            t.line(
                at + 0.0005,
                Stream::Stdout,
                format!("[{round}]\tvalid_0's l2: {l2:.6}"),
            );
        }
    }
    t.cpu(0.0, 16.0, |_| 100.0);
    t.run(16.0)
        .assert_never_fires("boosting warnings between evaluation lines");
}

#[test]
fn cross_validation_folds_finishing_out_of_order() {
    // GridSearchCV with two workers over a model that stops at max_iter: each fit warns
    // (eight lines on stderr, `ConvergenceWarning: lbfgs failed to converge`), then its
    // `[CV i/5]` line on stdout, two fits a second. The same failing block every pass; the
    // folds finish in whatever order the two workers take them (2, 1, 3, 4, 5), then the
    // next candidate's. Each fold of each candidate is done once.
    let mut rng = Rng::new(7);
    let mut t = Timeline::new();
    t.line(
        0.0,
        Stream::Stdout,
        "Fitting 5 folds for each of 40 candidates, totalling 200 fits",
    );
    let warning = [
        "/home/dev/.venv/lib/python3.11/site-packages/sklearn/linear_model/_logistic.py:599: ConvergenceWarning: lbfgs failed to converge after 5 iteration(s) (status=1):",
        "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
        "Increase the number of iterations to improve the convergence (max_iter=5).",
        "You might also want to scale the data as shown in:",
        "    https://scikit-learn.org/stable/modules/preprocessing.html",
        "Please also refer to the documentation for alternative solver options:",
        "    https://scikit-learn.org/stable/modules/linear_model.html#logistic-regression",
        "  n_iter_i = _check_optimize_result(",
    ];
    let mut at = 0.3;
    for candidate in 0..40 {
        let c = 10f64.powf(-3.0 + candidate as f64 * 0.15);
        let mut folds = [1, 2, 3, 4, 5];
        if rng.below(2) == 0 {
            folds.swap(0, 1);
        }
        if rng.below(2) == 0 {
            folds.swap(2, 3);
        }
        for fold in folds {
            for (j, line) in warning.iter().enumerate() {
                t.line(at + 0.001 * j as f64, Stream::Stderr, line);
            }
            let score = 0.78 + rng.below(60) as f64 / 1000.0;
            t.line(
                at + 0.01,
                Stream::Stdout,
                format!("[CV {fold}/5] END C={c:.4}, max_iter=5;, score={score:.3} total time=   0.4s"),
            );
            at += rng.range(0.4, 0.6);
        }
    }
    t.cpu(0.0, at, |_| 190.0);
    t.run(at)
        .assert_never_fires("cross-validation folds finishing out of order");
}
#[test]
fn a_service_that_logs_each_failed_connect_with_a_traceback_then_connects() {
    // A worker that waits for its database by retrying every 2 s and logging each failure
    // with its traceback (`logging.exception`, the pid in the log prefix), three times,
    // then connects and works: the same failing block repeated, but it stops repeating
    // before a loop would be judged, and the pid in every line is the same process's.
    let mut t = Timeline::new();
    let mut at = 0.5;
    for _ in 0..3 {
        let ts = iso(at);
        let pass = [
            format!("{ts} [4170] ERROR worker: could not connect to the database"),
            "Traceback (most recent call last):".to_string(),
            "  File \"/home/dev/shop/worker.py\", line 41, in connect".to_string(),
            "    return psycopg.connect(DSN)".to_string(),
            "  File \"/home/dev/shop/.venv/lib/python3.11/site-packages/psycopg/connection.py\", line 748, in connect".to_string(),
            "    raise last_ex.with_traceback(None)".to_string(),
            "psycopg.OperationalError: connection failed: Connection refused".to_string(),
        ];
        for (i, line) in pass.into_iter().enumerate() {
            t.line(at + 0.001 * i as f64, Stream::Stderr, line);
        }
        at += 2.0;
    }
    t.line(
        at,
        Stream::Stderr,
        format!("{} [4170] INFO worker: connected", iso(at)),
    );
    let mut rng = Rng::new(77);
    let mut done = 0;
    t.every(at + 0.5, 0.7, 60, |i| {
        done += rng.below(40) + 1;
        format!(
            "{} [4170] INFO worker: synced {done} orders",
            iso(at + 0.5 + 0.7 * i as f64)
        )
    });
    t.cpu(0.0, 60.0, |_| 4.0);
    t.run(60.0)
        .assert_never_fires("a worker waiting for its database");
}

/// PostgreSQL's time and pid prefix (`log_line_prefix = '%m [%p] '`), `t` s after 10:00.
fn pg_prefix(t: f64, pid: u64) -> String {
    format!(
        "2026-12-03 10:{:02}:{:06.3} UTC [{pid}]",
        (t / 60.0) as u64,
        t % 60.0
    )
}

#[test]
fn a_database_server_logging_every_statement_under_a_benchmark() {
    // `postgres -c log_statement=all` while pgbench runs its TPC-B-like transaction: the
    // same seven statements every transaction, the account, teller, branch and amount new
    // in each, at 2 transactions a second (`-R 2`) and as fast as it goes.
    for (every, count) in [(0.5, 60), (0.0012, 20_000)] {
        let mut rng = Rng::new(41);
        let mut t = Timeline::new();
        t.passes(1.0, every, count, |p| {
            let at = 1.0 + every * p as f64;
            let (aid, tid, bid) = (1 + rng.below(200_000), 1 + rng.below(20), 1 + rng.below(2));
            let delta = rng.below(10_000) as i64 - 5000;
            let pre = pg_prefix(at, 16537);
            vec![
                format!("{pre} LOG:  statement: BEGIN;"),
                format!("{pre} LOG:  statement: UPDATE pgbench_accounts SET abalance = abalance + {delta} WHERE aid = {aid};"),
                format!("{pre} LOG:  statement: SELECT abalance FROM pgbench_accounts WHERE aid = {aid};"),
                format!("{pre} LOG:  statement: UPDATE pgbench_tellers SET tbalance = tbalance + {delta} WHERE tid = {tid};"),
                format!("{pre} LOG:  statement: UPDATE pgbench_branches SET bbalance = bbalance + {delta} WHERE bid = {bid};"),
                format!("{pre} LOG:  statement: INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ({tid}, {bid}, {aid}, {delta}, CURRENT_TIMESTAMP);"),
                format!("{pre} LOG:  statement: END;"),
            ]
        });
        t.cpu(0.0, 40.0, |_| if every < 0.01 { 60.0 } else { 2.0 });
        t.run(35.0).assert_never_fires("statement log under pgbench");
    }
}

#[test]
fn a_database_server_logging_the_duration_of_one_repeated_query() {
    // `log_min_duration_statement=0` under `pgbench -S`: one SELECT per transaction, only
    // the account number new; the server records what its client sent.
    let mut rng = Rng::new(42);
    let mut t = Timeline::new();
    t.every(1.0, 0.0005, 60_000, |i| {
        format!(
            "{} LOG:  duration: 0.{:03} ms  statement: SELECT abalance FROM pgbench_accounts WHERE aid = {};",
            pg_prefix(1.0 + 0.0005 * i as f64, 20117),
            40 + rng.below(300),
            1 + rng.below(200_000)
        )
    });
    t.cpu(0.0, 40.0, |_| 80.0);
    t.run(32.0)
        .assert_never_fires("statement durations under pgbench -S");
}

#[test]
fn a_command_monitor_and_a_cache_tracing_their_clients() {
    // `redis-cli monitor` while redis-benchmark sets random keys over four connections, and
    // `memcached -vv` answering gets: each line a command a client sent (its address, its
    // connection) and the reply, only the key new.
    let mut rng = Rng::new(43);
    let mut t = Timeline::new();
    t.every(1.0, 0.0002, 100_000, |i| {
        format!(
            r#"{:.6} [0 127.0.0.1:{}] "SET" "key:{:012}" "VXK""#,
            1_796_283_110.0 + 0.0002 * i as f64,
            35754 + 8 * rng.below(4),
            rng.below(100_000)
        )
    });
    t.run(25.0).assert_never_fires("redis monitor");
    let mut t = Timeline::new();
    t.passes(1.0, 0.01, 2500, |_| {
        vec![
            format!("<26 get user:{}", rng.below(50_000)),
            ">26 END".to_string(),
        ]
    });
    t.run(28.0).assert_never_fires("memcached -vv");
}

#[test]
fn a_queue_worker_logging_each_job_done() {
    // A worker taking jobs off a Redis list, one line per job, its id a fresh UUID: a
    // producer pushing 20 jobs a second, at random moments.
    let mut rng = Rng::new(44);
    let mut t = Timeline::new();
    let mut at = 1.0;
    while at < 30.0 {
        t.line(
            at,
            Stream::Stdout,
            format!(
                "{} INFO worker: job {} (send_email) done in 2.1 ms",
                iso(at),
                rng.uuid()
            ),
        );
        at += -0.05 * (1.0 - rng.range(0.0, 0.999)).ln();
    }
    t.cpu(0.0, 30.0, |_| 6.0);
    t.run(31.0).assert_never_fires("queue worker");
}

#[test]
fn a_query_redrawn_by_psql_watch_at_the_interval_it_names() {
    // `psql` with `select count(*), sum(abalance), now() from pgbench_accounts \watch 0.2`:
    // the same five-line result five times a second, its header naming the interval.
    let mut t = Timeline::new();
    t.passes(1.0, 0.2004, 140, |p| {
        let at = 1.0 + 0.2004 * p as f64;
        vec![
            format!("      Thu Dec  3 10:00:{:02} 2026 (every 0.2s)", at as u64 % 60),
            " count  |   sum   |              now".to_string(),
            "--------+---------+-------------------------------".to_string(),
            format!(" 200000 | -161352 | {}", iso(at)),
            "(1 row)".to_string(),
            String::new(),
        ]
    });
    t.cpu(0.0, 30.0, |_| 3.0);
    t.run(30.0).assert_never_fires("psql \\watch 0.2");
}

#[test]
fn samplers_replayed_at_ten_and_twenty_lines_a_second() {
    // `iostat -x 1`, `mpstat 1` and `pgbench -P 1` pasted and replayed at a fixed pace: a
    // header between rows (iostat's `avg-cpu:` and `Device` lines) or none, and in each row
    // several readings moving up and down on their own. Each repeats as exactly as a loop,
    // far faster than its tick.
    for every in [0.1, 0.05] {
        let mut rng = Rng::new(17);
        let mut t = Timeline::new();
        t.passes(0.0, 4.0 * every, 60, |_| {
            let user = rng.range(2.0, 30.0);
            let system = rng.range(1.0, 12.0);
            vec![
                "avg-cpu:  %user   %nice %system %iowait  %steal   %idle".to_string(),
                format!(
                    "          {user:.2}    0.00   {system:.2}    0.00    {:.2}   {:.2}",
                    rng.range(0.0, 3.0),
                    100.0 - user - system
                ),
                "Device            r/s     rkB/s   rrqm/s  %rrqm r_await rareq-sz     w/s     wkB/s"
                    .to_string(),
                format!(
                    "vda            {:.2}   {:.2}     0.00   0.00    {:.2}    {:.2}   {:.2}   {:.2}",
                    rng.range(0.0, 140.0),
                    rng.range(0.0, 4900.0),
                    rng.range(0.1, 0.6),
                    rng.range(4.0, 40.0),
                    rng.range(0.0, 70.0),
                    rng.range(0.0, 4200.0)
                ),
            ]
        });
        t.run(30.0)
            .assert_never_fires(&format!("iostat -x 1, a line every {every} s"));
        let mut t = Timeline::new();
        t.every(0.0, every, 300, |i| {
            format!(
                "progress: {}.0 s, {:.1} tps, lat {:.3} ms stddev {:.3}, 0 failed",
                i + 1,
                rng.range(400.0, 1900.0),
                rng.range(1.0, 5.5),
                rng.range(0.3, 4.0)
            )
        });
        t.run(30.0)
            .assert_never_fires(&format!("pgbench -P 1, a line every {every} s"));
        let mut t = Timeline::new();
        t.every(0.0, every, 300, |i| {
            let (usr, sys) = (rng.range(0.0, 8.0), rng.range(0.5, 4.0));
            format!(
                "14:{:02}:{:02}     all    {usr:.2}    0.00    {sys:.2}    0.00    0.00    {:.2}    0.00    0.00    0.00   {:.2}",
                i / 60 % 60,
                i % 60,
                rng.range(0.0, 0.6),
                100.0 - usr - sys
            )
        });
        t.run(30.0)
            .assert_never_fires(&format!("mpstat 1, a line every {every} s"));
    }
}

#[test]
fn strace_of_an_idle_server_keeps_its_timers_pace() {
    // `strace -tt -f -p PID` of a server idling in its event loop: Python's
    // `serve_forever(poll_interval=0.1)`, and Redis at `hz 10` reading its own stat file
    // between two `epoll_wait`s of 100 ms. The passes keep the timeout the trace shows.
    let mut rng = Rng::new(29);
    let mut t = Timeline::new();
    t.every(0.0, 0.1005, 250, |i| {
        format!(
            "14:07:{:02}.{:06} poll([{{fd=3, events=POLLIN}}], 1, 100) = 0 (Timeout)",
            i / 10 % 60,
            rng.below(1_000_000)
        )
    });
    t.run(30.0).assert_never_fires("strace of an idle python server");
    let mut t = Timeline::new();
    t.passes(0.0, 0.1004, 250, |_| {
        [
            "openat(AT_FDCWD, \"/proc/self/stat\", O_RDONLY) = 8",
            "read(8, \"17513 (redis-server) R 1 17513 1\"..., 4095) = 316",
            "close(8)          = 0",
            "epoll_wait(5, [], 10128, 100) = 0",
        ]
        .iter()
        .map(|l| format!("17513 13:45:{:02}.{:06} {l}", rng.below(60), rng.below(1_000_000)))
        .collect()
    });
    t.run(30.0).assert_never_fires("strace of an idle redis-server");
}

#[test]
fn an_optimiser_restarted_from_new_starting_points() {
    // `KMeans(n_init=60, verbose=1)` on well-separated clusters: every start converges in
    // two iterations, so the same four lines repeat exactly, twenty lines a second at full
    // CPU. Each start begins at an inertia of its own and falls to the same optimum.
    let mut rng = Rng::new(11);
    let mut t = Timeline::new();
    let mut at = 0.0;
    for _ in 0..60 {
        let start = rng.range(12_000.0, 27_000.0);
        for line in [
            "Initialization complete".to_string(),
            format!("Iteration 0, inertia {start}."),
            "Iteration 1, inertia 9734.214474149434.".to_string(),
            "Converged at iteration 1: strict convergence.".to_string(),
        ] {
            t.line(at, Stream::Stdout, line);
            at += 0.05;
        }
    }
    t.cpu(0.0, at, |_| 100.0);
    t.run(at)
        .assert_never_fires("an optimiser restarted from new starting points");
}

#[test]
fn boosting_warnings_before_the_first_evaluation_line_on_a_loaded_machine() {
    // LightGBM with `log_evaluation(100)` on a machine busy with other work: a warning per
    // tree, a hundred identical lines before the first evaluation line, the rounds slowed
    // to eight a second and arriving in bursts (a round stalls for a second, then several
    // finish at once). Nothing in the output moves until `[100] valid_0's l2: ...`.
    let mut rng = Rng::new(3);
    let mut t = Timeline::new();
    t.line(
        0.0,
        Stream::Stdout,
        "[LightGBM] [Info] Number of data points in the train set: 80000, number of used features: 8",
    );
    t.line(
        0.01,
        Stream::Stdout,
        "[LightGBM] [Info] Start training from score 0.000858",
    );
    let mut at = 0.1;
    let mut l2 = 1.01;
    for round in 1..=600usize {
        at += if rng.below(8) == 0 {
            rng.range(0.6, 1.4)
        } else {
            rng.range(0.0, 0.05)
        };
        t.line(
            at,
            Stream::Stdout,
            "[LightGBM] [Warning] No further splits with positive gain, best gain: -inf",
        );
        if round % 100 == 0 {
            l2 -= 0.002;
            t.line(
                at + 0.001,
                Stream::Stdout,
                format!("[{round}]\tvalid_0's l2: {l2:.6}"),
            );
        }
    }
    t.cpu(0.0, at, |_| 65.0);
    t.run(at)
        .assert_never_fires("boosting warnings before the first evaluation line");
}

/// `GridSearchCV(..., cv=folds, verbose=2)` over `grid` (each row one candidate's
/// parameters, as scikit-learn prints them): `folds` identical lines per candidate, one
/// every `every` s at full CPU.
fn grid_search(grid: &[String], folds: usize, every: f64) -> (Timeline, f64) {
    let mut rng = Rng::new(17);
    let mut t = Timeline::new();
    t.line(
        0.0,
        Stream::Stdout,
        format!(
            "Fitting {folds} folds for each of {} candidates, totalling {} fits",
            grid.len(),
            folds * grid.len()
        ),
    );
    let mut at = every;
    for candidate in grid {
        for _ in 0..folds {
            let time = if rng.below(4) == 0 { "0.1" } else { "0.0" };
            t.line(
                at,
                Stream::Stdout,
                format!("[CV] END ..........................{candidate}; total time=   {time}s"),
            );
            at += every;
        }
    }
    t.cpu(0.0, at, |_| 100.0);
    (t, at)
}

#[test]
fn a_parameter_search_walks_its_grid() {
    // `GridSearchCV(SVC(), {'C': [0.1, 1, 10, 100], 'gamma': [0.001, 0.01, 0.1, 1]}, cv=5,
    // verbose=2)`: five identical lines per candidate (no fold number at verbose=2), so
    // with the numbers masked the whole search is one line; each parameter takes its few
    // values again and again, but no combination comes back.
    let svc: Vec<String> = ["0.1", "1", "10", "100"]
        .iter()
        .flat_map(|c| ["0.001", "0.01", "0.1", "1"].map(|g| format!("C={c}, gamma={g}")))
        .collect();
    for every in [0.1, 0.05, 0.02] {
        let (mut t, end) = grid_search(&svc, 5, every);
        let outcome = t.run(end);
        outcome.assert_never_fires(&format!("a 4x4 grid search at {every} s a line"));
    }
    // Three parameters, 60 candidates: more than the progress ring holds.
    let forest: Vec<String> = [2, 4, 8, 16, 32]
        .iter()
        .flat_map(|d| {
            [1, 2, 4, 8].iter().flat_map(move |l| {
                [10, 50, 100].map(|n| format!("max_depth={d}, min_samples_leaf={l}, n_estimators={n}"))
            })
        })
        .collect();
    let (mut t, end) = grid_search(&forest, 3, 0.05);
    t.run(end)
        .assert_never_fires("a 5x4x3 grid search, three folds per candidate");
}

#[test]
fn a_mixture_restarted_from_a_counted_start_that_converges() {
    // `GaussianMixture(n_init=10, verbose=2, verbose_interval=1)` on data with one clear
    // optimum: every start converges in two iterations with the same numbers, the first
    // `ll change` being `inf`; only the start's own number and the time lapses change.
    let mut rng = Rng::new(23);
    let mut t = Timeline::new();
    let mut at = 0.0;
    for start in 0..10 {
        for line in [
            format!("Initialization {start}"),
            format!(
                "  Iteration 1\t time lapse {:.5}s\t ll change inf",
                rng.range(0.01, 0.03)
            ),
            format!(
                "  Iteration 2\t time lapse {:.5}s\t ll change 0.00000",
                rng.range(0.0005, 0.0007)
            ),
            format!(
                "Initialization converged. time lapse {:.5}s\t lower bound -4.29357.",
                rng.range(0.01, 0.03)
            ),
        ] {
            t.line(at, Stream::Stdout, line);
            at += 0.1;
        }
    }
    t.cpu(0.0, at, |_| 100.0);
    t.run(at)
        .assert_never_fires("a mixture restarted ten times, each start converging");
}

#[test]
fn a_suite_repeated_by_its_runner_counting_on_through_the_repeats_is_left_alone() {
    // The counterpart of a failing report re-run in a loop: a runner repeating a 60-test
    // suite five times (`--repeat-each`, `-count`) numbers its tests on through the repeats
    // (`61/300`), so however alike the rounds and their one failing test, no round repeats
    // the one before in its numbers.
    let mut t = Timeline::new();
    let mut at = 0.5;
    for i in 1..=300 {
        let result = if i % 60 == 0 { "FAILED" } else { "ok" };
        t.line(
            at,
            Stream::Stdout,
            format!("[{i}/300] suite > case {} ... {result}", (i - 1) % 60 + 1),
        );
        at += 0.05;
    }
    t.line(at, Stream::Stdout, "5 failed, 295 passed");
    t.cpu(0.0, at + 1.0, |_| 80.0);
    t.run(at + 1.0)
        .assert_never_fires("a suite repeated five times, counting on");
}

#[test]
fn an_agent_numbering_its_steps_while_it_pages_through_results() {
    // An agent framework's numbered step (banner, code, output, what the model used) while
    // the agent reads page after page: the same tool, a new page each step, new results.
    // Its step number is no progress on its own, but what it calls and gets back is.
    let mut rng = Rng::new(47);
    let mut t = Timeline::new();
    let mut at = 2.0;
    for n in 0..14 {
        let mut lines = vec![
            format!("━━━━━━━━━━━━━━━━━━━━ Step {} ━━━━━━━━━━━━━━━━━━━━", n + 1),
            format!("  result = search(query=\"open bugs\", page={})", n + 1),
            "  print(result)".to_string(),
            "Execution logs:".to_string(),
            format!("Page {} of 14 for 'open bugs':", n + 1),
        ];
        for i in 0..5 {
            lines.push(format!(
                "{}: #{} {} ({} comments)",
                i + 1,
                1000 + rng.below(9000),
                name(rng.below(40) as usize),
                rng.below(40)
            ));
        }
        lines.push(format!(
            "[Step {}: Duration {:.2} seconds| Input tokens: {} | Output tokens: {}]",
            n + 1,
            rng.range(0.5, 4.0),
            2_400 * (n + 1),
            40 * (n + 1)
        ));
        for (j, line) in lines.iter().enumerate() {
            t.line(at + 0.005 * j as f64, Stream::Stdout, line);
        }
        at += rng.range(0.5, 4.0);
    }
    t.cpu(0.0, at, |_| 1.0);
    t.run(at + 5.0).assert_never_fires("agent paging through results");
}

#[test]
fn a_numbered_job_that_reports_no_model_call_keeps_its_counter() {
    // A script running the same check on numbered iterations at a wandering pace, nothing
    // failing, nothing empty, no model tokens: its iteration number is all that moves, and
    // it stays an iteration counter (only an agent's turns are counted by the loop itself).
    let mut rng = Rng::new(53);
    let mut t = Timeline::new();
    let mut at = 1.0;
    for n in 0..30 {
        for (j, line) in [
            format!("=== iteration {} ===", n + 1),
            "checking replica set members".to_string(),
            "members: 3 healthy".to_string(),
            format!("iteration {} done", n + 1),
        ]
        .iter()
        .enumerate()
        {
            t.line(at + 0.005 * j as f64, Stream::Stdout, line);
        }
        at += rng.range(0.8, 3.0);
    }
    t.cpu(0.0, at, |_| 1.0);
    t.run(at + 5.0)
        .assert_never_fires("numbered iterations without a model call");
}

#[test]
fn a_job_whose_last_pass_ends_in_a_traceback_is_exiting() {
    // A job printing the same status block at a wandering pace, until it gives up and
    // raises: the last block is cut short by a four-line traceback, and the job exits.
    // Main's detector read the traceback as a failure of every pass and stopped such a job
    // as a re-run loop as it was exiting (real LangGraph at its step limit, a pass every
    // 2.4 s: `the same failure in 6 passes`); each pass must fail for the passes to be the
    // same failure. (LangGraph's messages name their tool calls with ids and arguments, so
    // that run is now stopped as a model loop at its fifth call, `tests/replay.rs`; a block
    // that shows no model's answers is judged as any other, which is what this pins.)
    let mut rng = Rng::new(59);
    let mut t = Timeline::new();
    let mut at = 1.0;
    let block = |_: &str| {
        vec![
            "================================ release status ================================".to_string(),
            "project: flowforge".to_string(),
            "channel: stable".to_string(),
            "announced: no".to_string(),
            "checked: the release page and the changelog".to_string(),
            "================================================================================".to_string(),
            "Note: the project supervises long jobs; no date is announced.".to_string(),
        ]
    };
    for n in 0..12 {
        let mut lines = block(&rng.hex(24));
        if n == 11 {
            lines.truncate(5);
            lines.extend([
                "Traceback (most recent call last):".to_string(),
                "  File \"/srv/app/agent.py\", line 19, in <module>".to_string(),
                "    raise GraphRecursionError(msg)".to_string(),
                "langgraph.errors.GraphRecursionError: Recursion limit of 25 reached without hitting a stop condition.".to_string(),
            ]);
        }
        for (j, line) in lines.iter().enumerate() {
            t.line(at + 0.003 * j as f64, Stream::Stdout, line);
        }
        if n < 11 {
            at += rng.range(0.8, 4.0);
        }
    }
    t.cpu(0.0, at, |_| 1.0);
    // The interpreter takes its time to exit after the traceback (0.3 s and more for a
    // framework's imports): the detector goes on judging until then.
    t.run(at + 0.6)
        .assert_never_fires("a job whose last pass ends in a traceback");
}

#[test]
fn an_agent_reading_pages_whose_text_names_failures() {
    // An agent's event log (a header line per event, its thought, its call with the page,
    // the tool's answer on one line) while it reads page after page of issue titles: the
    // answer is new text every page and names failures (`retry`, `timeout`, `crash`),
    // nothing in the fixed lines fails. Main's detector read those words as the block
    // failing and stopped it as a reworded loop.
    let words = [
        "retry", "timeout", "parser", "cache", "crash", "socket", "worker", "index",
    ];
    let mut rng = Rng::new(61);
    let mut t = Timeline::new();
    let mut at = 1.0;
    for n in 0..12 {
        let titles: Vec<String> = (0..6)
            .map(|i| {
                format!(
                    "{}: #{} {} {} {}",
                    i + 1,
                    1000 + rng.below(9000),
                    words[rng.below(8) as usize],
                    words[rng.below(8) as usize],
                    name(rng.below(50) as usize)
                )
            })
            .collect();
        let lines = [
            "---------- ThoughtEvent (assistant) ----------".to_string(),
            format!("Fetching page {} of the results.", n + 1),
            "---------- ToolCallRequestEvent (assistant) ----------".to_string(),
            format!(
                r#"[FunctionCall(id='call_{}', arguments='{{"query": "open bugs", "page": {}}}', name='search')]"#,
                rng.hex(24),
                n + 1
            ),
            "---------- ToolCallExecutionEvent (assistant) ----------".to_string(),
            format!(
                r#"[FunctionExecutionResult(content="Page {} of 12:\n{}", name='search', is_error=False)]"#,
                n + 1,
                titles.join("\\n")
            ),
        ];
        for (j, line) in lines.iter().enumerate() {
            t.line(at + 0.004 * j as f64, Stream::Stdout, line);
        }
        at += rng.range(0.5, 4.0);
    }
    t.cpu(0.0, at, |_| 1.0);
    t.run(at + 5.0)
        .assert_never_fires("agent reading pages that name failures");
}

#[test]
fn an_agent_polling_until_the_status_changes_then_answering() {
    // An agent asking for a build's status at a model's pace, its message block the same
    // every time (a fresh call id masked), until the status turns green and it answers:
    // an exact block that changes twice, each time into new text. Main's detector stopped
    // it as the change came, as a block "reworded from a few variants".
    let mut rng = Rng::new(67);
    let mut t = Timeline::new();
    let mut at = 1.0;
    for n in 0..9 {
        let status = if n < 8 {
            "Build 4411: state running, stage test"
        } else {
            "Build 4411: passed, all 212 checks green"
        };
        let id = rng.hex(24);
        let lines = [
            "================================== Ai Message ==================================".to_string(),
            "Let me check the build.".to_string(),
            "Tool Calls:".to_string(),
            format!("  get_build (call_{id})"),
            format!(" Call ID: call_{id}"),
            "  Args:".to_string(),
            "    build: 4411".to_string(),
            "================================= Tool Message =================================".to_string(),
            "Name: get_build".to_string(),
            status.to_string(),
        ];
        for (j, line) in lines.iter().enumerate() {
            t.line(at + 0.003 * j as f64, Stream::Stdout, line);
        }
        at += rng.range(0.5, 4.0);
    }
    t.line(
        at,
        Stream::Stdout,
        "================================== Ai Message ==================================",
    );
    t.line(
        at + 0.003,
        Stream::Stdout,
        "The build passed; the release can go out.",
    );
    t.cpu(0.0, at, |_| 1.0);
    t.run(at + 0.6)
        .assert_never_fires("agent polling until the status changes");
}

#[test]
fn a_failing_xdist_suite_retried_until_it_passes_on_its_fourth_run_is_left_alone() {
    // The counterpart of `while ! pytest -n 2`: a wrapper re-running the suite back to back
    // while a service comes up; it fails three times, passes the fourth and the job goes on
    // to package. A suite of 40 tests, half a second between runs; and 16 fast tests whose
    // workers start in 0.2 s, a run every 0.6-0.7 s. A core busy throughout.
    for (seed, count, startup, gap) in [(12, 40, 0.6, (0.5, 0.5)), (22, 16, 0.2, (0.02, 0.06))] {
        let mut rng = Rng::new(seed);
        let mut t = Timeline::new();
        let mut at = 0.5;
        for run in 1..=4 {
            at = xdist_session_of(&mut t, at, &mut rng, run == 4, "3.11.7", count, startup)
                + rng.range(gap.0, gap.1);
        }
        t.every(at, 0.5, 12, |i| {
            format!("packaging step {i}: wrote dist/app-{i}.whl")
        });
        t.cpu(0.0, at + 7.0, |_| 95.0);
        t.run(at + 7.0).assert_never_fires(&format!(
            "a suite of {count} failing tests retried until green on its fourth run"
        ));
    }
}

#[test]
fn one_failing_xdist_suite_run_under_each_interpreter_in_turn_is_left_alone() {
    // `tox -e py39,py310,py311,py312,py313` (or nox) with the same test failing under each:
    // the sessions open alike, back to back, and fail alike, but each header names another
    // interpreter, so no session repeats the values of the one before, and their percentages
    // are read as they always were.
    let mut rng = Rng::new(13);
    let mut t = Timeline::new();
    let mut at = 0.5;
    for python in ["3.9.19", "3.10.14", "3.11.9", "3.12.4", "3.13.0", "3.14.0"] {
        at = xdist_session(&mut t, at, &mut rng, false, python) + 0.5;
    }
    t.cpu(0.0, at + 2.0, |_| 95.0);
    t.run(at + 2.0)
        .assert_never_fires("the same failing suite under six interpreters");
}

#[test]
fn a_status_table_redrawn_on_its_timer_whose_rows_trade_places_is_left_alone() {
    // `watch -n 1.2` of a status table sorted by load: the same rows, one of them failed,
    // in another order every redraw, so each pass prints the values of the one before in
    // another order, as a suite re-run back to back does. But it keeps its timer's pace at
    // next to no CPU: a display, not a job started again.
    let mut rng = Rng::new(14);
    let mut t = Timeline::new();
    t.passes(0.5, 1.2, 40, |_| {
        let mut rows = vec![
            "api-1      running   pid 4101".to_string(),
            "api-2      running   pid 4102".to_string(),
            "worker-1   running   pid 4201".to_string(),
            "worker-2   failed    exit status 1".to_string(),
            "cron-1     running   pid 4301".to_string(),
        ];
        for i in (1..rows.len()).rev() {
            rows.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut pass = vec![
            "Every 1.2s: svc status --sort load".to_string(),
            "NAME       STATE     DETAIL".to_string(),
        ];
        pass.extend(rows);
        pass
    });
    t.cpu(0.0, 49.0, |_| 3.0);
    t.run(49.0)
        .assert_never_fires("a status table on its timer, rows trading places");
}

#[test]
fn a_block_printed_twice_and_then_a_pause_is_the_same_thing_done_twice() {
    // An agent on a fast model that checks a build's status twice in a row (the second
    // answer 0.6-0.9 s after the first, a ten-line message each, printed at once) and then
    // waits 3-5 s for its next step: the pair is the same call made twice, not a loop, and
    // main stopped it after the second call of its first pair, while the pause ran.
    let mut rng = Rng::new(15);
    let mut t = Timeline::new();
    let mut at = 0.5;
    for step in 0..8 {
        for _ in 0..2 {
            let call = format!("call_{}", rng.hex(24));
            let lines = [
                "================================== Ai Message =================================="
                    .to_string(),
                "The build is still running; checking again.".to_string(),
                "Tool Calls:".to_string(),
                format!("  get_build_status ({call})"),
                format!(" Call ID: {call}"),
                "  Args:".to_string(),
                format!("    build_id: {}", 4821 + step),
                "================================= Tool Message ================================="
                    .to_string(),
                "Name: get_build_status".to_string(),
                format!("{{\"build\": {}, \"status\": \"queued\"}}", 4821 + step),
            ];
            for (j, line) in lines.iter().enumerate() {
                t.line(at + 0.001 * j as f64, Stream::Stdout, line);
            }
            at += rng.range(0.6, 0.9);
        }
        at += rng.range(3.0, 5.0);
    }
    t.cpu(0.0, at + 2.0, |_| 2.0);
    t.run(at + 2.0)
        .assert_never_fires("the same call made twice, then a pause");
}

#[test]
fn an_agent_polling_a_build_on_a_timer_with_fresh_call_ids_is_left_alone() {
    // An agent polling a CI run every 2 s exactly (a sleep tool, or a scripted agent): the
    // same call each time, the model's id for it new every time, the build reported
    // `in_progress` for 40 s and then `completed`. Each pass is a model's answer, but what
    // comes back says the run is still under way: a poll, not a loop.
    let mut rng = Rng::new(18);
    let mut t = Timeline::new();
    for n in 0..22 {
        let id = format!("call_{}", rng.hex(24));
        let status = if n < 21 { "in_progress" } else { "completed" };
        let lines = [
            format!(
                r#"{{"role": "assistant", "content": "Checking the run.", "tool_calls": [{{"id": "{id}", "type": "function", "function": {{"name": "get_run", "arguments": "{{\"run_id\": 8812}}"}}}}]}}"#
            ),
            format!(
                r#"{{"role": "tool", "tool_call_id": "{id}", "content": "{{\"run_id\": 8812, \"status\": \"{status}\"}}"}}"#
            ),
        ];
        for (j, line) in lines.iter().enumerate() {
            t.line(1.0 + 2.0 * n as f64 + 0.002 * j as f64, Stream::Stdout, line);
        }
    }
    t.cpu(0.0, 48.0, |_| 1.0);
    t.run(48.0)
        .assert_never_fires("an agent polling a build on a timer");
}

#[test]
fn a_tool_called_on_a_schedule_every_five_seconds_is_left_alone() {
    // An MCP client calling a `check_inbox` tool every 5 s on a schedule, a fresh JSON-RPC
    // id each time, the inbox empty for a minute: a scheduled check at a timer's pace,
    // slower than a slow loop is judged without a pace that wanders.
    let mut t = Timeline::new();
    for n in 0..14 {
        let id = 100 + n;
        let at = 1.0 + 5.0 * n as f64;
        t.line(
            at,
            Stream::Stdout,
            format!(r#"--> {{"jsonrpc": "2.0", "id": {id}, "method": "tools/call", "params": {{"name": "check_inbox", "arguments": {{}}}}}}"#),
        );
        t.line(
            at + 0.01,
            Stream::Stdout,
            format!(r#"<-- {{"jsonrpc": "2.0", "id": {id}, "result": {{"content": []}}}}"#),
        );
    }
    t.cpu(0.0, 72.0, |_| 0.5);
    t.run(72.0).assert_never_fires("a tool called on a schedule");
}

#[test]
fn an_agent_on_a_fast_model_polling_a_build_still_in_progress_is_left_alone() {
    // A fast model (0.4-0.9 s an answer) polling a CI run with no sleep between calls: a
    // four-line turn (its note, the call with the model's id for it, the run's status, the
    // tokens used) 1.5 times a second, the run `in_progress` for 20 s, then `completed`.
    // Faster than a heartbeat, but nothing fails and what it polls says it is under way.
    let mut rng = Rng::new(20);
    let mut t = Timeline::new();
    let mut at = 1.0;
    let mut turn = 0;
    while at < 22.0 {
        let id = format!("toolu_01{}", rng.hex(22));
        let status = if at < 21.0 { "in_progress" } else { "completed" };
        let lines = [
            r#"{"type": "text", "text": "The run is not finished; checking again."}"#.to_string(),
            format!(
                r#"{{"type": "tool_use", "id": "{id}", "name": "get_run", "input": {{"run_id": 8812}}}}"#
            ),
            format!(
                r#"{{"type": "tool_result", "tool_use_id": "{id}", "content": "{{\"status\": \"{status}\"}}"}}"#
            ),
            format!(
                r#"{{"usage": {{"input_tokens": {}, "output_tokens": {}}}}}"#,
                1200 + 90 * turn,
                30 + rng.below(20)
            ),
        ];
        for (j, line) in lines.iter().enumerate() {
            t.line(at + 0.002 * j as f64, Stream::Stdout, line);
        }
        at += rng.range(0.4, 0.9);
        turn += 1;
    }
    t.cpu(0.0, 26.0, |_| 1.0);
    t.run(26.0)
        .assert_never_fires("an agent on a fast model polling a build");
}

#[test]
fn a_model_rewording_itself_while_polling_a_queued_job_is_left_alone() {
    // The twin of a paraphrase loop: the assistant words its note anew before the same
    // call every 1-3 s, the job it polls `queued` for 30 s and then `done`. What comes
    // back says it is still under way: a poll.
    let mut rng = Rng::new(22);
    let mut t = Timeline::new();
    let prose = [
        "The export is not ready yet; checking again.",
        "Still waiting on the export, I will check once more.",
        "Let me look at the export job again.",
    ];
    let mut at = 1.0;
    while at < 34.0 {
        let id = format!("toolu_01{}", rng.hex(22));
        let said = prose[rng.below(prose.len() as u64) as usize];
        let state = if at < 31.0 { "queued" } else { "done" };
        t.line(
            at,
            Stream::Stdout,
            format!(
                r#"{{"role": "assistant", "content": [{{"type": "text", "text": "{said}"}}, {{"type": "tool_use", "id": "{id}", "name": "get_export", "input": {{"export_id": "ex-77"}}}}]}}"#
            ),
        );
        t.line(
            at + 0.002,
            Stream::Stdout,
            format!(r#"{{"role": "user", "content": [{{"type": "tool_result", "tool_use_id": "{id}", "content": "export ex-77: state {state}"}}]}}"#),
        );
        at += rng.range(1.0, 3.0);
    }
    t.cpu(0.0, 38.0, |_| 1.0);
    t.run(38.0)
        .assert_never_fires("a model rewording itself while polling");
}
