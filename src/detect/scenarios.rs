//! Synthetic timelines of healthy jobs that must never be stopped, and the timeline harness
//! shared with `scenarios_loops`.
//!
//! Each scenario writes the output a real workload would produce — compile logs, test
//! runners, progress bars, training logs, access logs, pollers, startup bursts, backoff,
//! parallel workers, silent compute — with plausible timing and CPU samples, and runs it
//! through a `Detector` with default settings, evaluating every 250 ms as the supervisor
//! does. Lines are generated, not recorded, so every scenario is a few lines of intent and
//! can run long (a minute of simulated time or more) in a few milliseconds of test time.

use super::score::{self, Assessment};
use super::{DetectConfig, Decision, Detector, Reason};
use crate::sample::{Sample, Stream};
use std::time::Duration;

/// A small xorshift generator: deterministic scenarios without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
    pub fn hex(&mut self, digits: usize) -> String {
        let mut s = format!("{:016x}{:016x}", self.next(), self.next());
        s.truncate(digits);
        s
    }
    pub fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }
}

/// An ISO-8601 timestamp `t` seconds after 2024-05-01T10:00:00Z.
pub fn iso(t: f64) -> String {
    let ms = (t * 1000.0) as u64;
    let s = ms / 1000;
    format!("2024-05-01T{:02}:{:02}:{:02}.{:03}Z", 10 + s / 3600, s / 60 % 60, s % 60, ms % 1000)
}

#[derive(Default)]
pub struct Timeline {
    lines: Vec<(Duration, Stream, Vec<u8>)>,
    samples: Vec<Sample>,
}

/// What happened when a timeline was replayed.
pub struct Outcome {
    /// Seconds since the start when `Runaway` was first returned.
    pub fired_at: Option<f64>,
    pub reason: Option<Reason>,
    /// The highest confidence seen, and when.
    pub peak: (f64, f64),
}

impl Outcome {
    /// Seconds from `onset` to the decision; panics with the peak if it never fired.
    pub fn delay_after(&self, onset: f64) -> f64 {
        match self.fired_at {
            Some(at) => at - onset,
            None => panic!("never fired; peak confidence {:.3} at {:.2} s", self.peak.0, self.peak.1),
        }
    }

    pub fn assert_never_fires(&self, what: &str) {
        if let Some(reason) = &self.reason {
            panic!("{what}: false runaway at {:?} s: {}", self.fired_at, reason.summary);
        }
    }
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline::default()
    }

    /// One line at `t` seconds.
    pub fn line(&mut self, t: f64, stream: Stream, text: impl AsRef<[u8]>) -> &mut Timeline {
        self.lines.push((Duration::from_secs_f64(t.max(0.0)), stream, text.as_ref().to_vec()));
        self
    }

    /// `count` lines on stdout from `start`, one every `every` seconds, text `f(i)`.
    pub fn every(&mut self, start: f64, every: f64, count: usize, f: impl FnMut(usize) -> String) -> &mut Timeline {
        self.every_on(Stream::Stdout, start, every, count, f)
    }

    pub fn every_on(
        &mut self,
        stream: Stream,
        start: f64,
        every: f64,
        count: usize,
        mut f: impl FnMut(usize) -> String,
    ) -> &mut Timeline {
        for i in 0..count {
            self.line(start + every * i as f64, stream, f(i));
        }
        self
    }

    /// Passes of several lines printed together (1 ms apart), one pass every `every` s.
    pub fn passes(&mut self, start: f64, every: f64, count: usize, mut f: impl FnMut(usize) -> Vec<String>) -> &mut Timeline {
        for p in 0..count {
            let at = start + every * p as f64;
            for (j, text) in f(p).into_iter().enumerate() {
                self.line(at + 0.001 * j as f64, Stream::Stdout, text);
            }
        }
        self
    }

    /// A CPU sample every second in (start, end], each covering the second before it.
    pub fn cpu(&mut self, start: f64, end: f64, mut percent: impl FnMut(f64) -> f64) -> &mut Timeline {
        let mut t = start.floor() + 1.0;
        while t <= end {
            let at = Duration::from_secs_f64(t);
            let cpu = percent(t);
            self.samples.push(Sample { at, cpu_percent: cpu, rss_bytes: 50 << 20, processes: 1, stdout_bytes: 0, stderr_bytes: 0, lines: 0 });
            t += 1.0;
        }
        self
    }

    /// Replays everything up to `until` seconds, evaluating every 250 ms.
    pub fn run(&mut self, until: f64) -> Outcome {
        self.lines.sort_by_key(|l| l.0);
        self.samples.sort_by_key(|s| s.at);
        let mut det = Detector::new(DetectConfig::default());
        let (mut li, mut si) = (0, 0);
        let mut outcome = Outcome { fired_at: None, reason: None, peak: (0.0, 0.0) };
        let ticks = (until / 0.25).ceil() as u64;
        for tick in 1..=ticks {
            let now = Duration::from_millis(tick * 250);
            while li < self.lines.len() && self.lines[li].0 <= now {
                let (at, stream, text) = &self.lines[li];
                det.observe_line(*stream, text, false, *at);
                li += 1;
            }
            while si < self.samples.len() && self.samples[si].at <= now {
                det.observe_sample(&self.samples[si]);
                si += 1;
            }
            let confidence = det.assess_now(now).confidence;
            if confidence > outcome.peak.0 {
                outcome.peak = (confidence, now.as_secs_f64());
            }
            if let Decision::Runaway(reason) = det.evaluate(now) {
                outcome.fired_at = Some(now.as_secs_f64());
                outcome.reason = Some(reason);
                break;
            }
        }
        outcome
    }
}

impl Detector {
    fn assess_now(&self, now: Duration) -> Assessment {
        score::assess(&self.signals(now), self.config.threshold)
    }
}

const WORDS: [&str; 24] = [
    "alpha", "bravo", "cargo", "delta", "ember", "flint", "grove", "harbor", "iris", "jolt",
    "karma", "lumen", "maple", "nexus", "orbit", "pixel", "quartz", "raven", "sierra", "tango",
    "umber", "vortex", "willow", "zephyr",
];

/// A distinct name for every `i` below 24³.
pub fn name(i: usize) -> String {
    format!("{}_{}_{}", WORDS[i % 24], WORDS[i / 24 % 24], WORDS[i / 576 % 24])
}

#[test]
fn compile_log() {
    let mut rng = Rng::new(1);
    let mut t = Timeline::new();
    t.every(0.0, 0.05, 600, |i| match i % 7 {
        3 => format!("warning: unused variable `{}` --> src/{}.rs:{}:{}", name(i + 3), name(i), rng.below(400), rng.below(80)),
        _ => format!("   Compiling {} v0.{}.{}", name(i), rng.below(9), rng.below(30)),
    });
    t.every(30.0, 0.01, 400, |i| format!("gcc -O2 -c src/module_{i}.c -o build/module_{i}.o"));
    t.cpu(0.0, 40.0, |_| 190.0);
    t.run(45.0).assert_never_fires("compile log");
}

#[test]
fn test_runner_dots_and_names() {
    let mut t = Timeline::new();
    // Dots flushed in chunks, then a per-file summary with an advancing percentage.
    t.every(0.0, 0.1, 400, |i| if i % 10 == 9 { format!("tests/test_{}.py [{:3}%]", name(i), i / 4) } else { ".".repeat(1 + i % 5) });
    // A cargo-style run whose numbered names arrive in alphabetical, not numeric, order.
    let mut cases: Vec<String> = (0..3000).map(|i| format!("case_{i}")).collect();
    cases.sort();
    t.every(40.0, 0.002, cases.len(), |i| format!("test parser::tests::{} ... ok", cases[i]));
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
        format!("\x1b[2K model.bin: {pct:3}%|{bar:<20}| {:.1}/80.0 MB [00:{:02}<01:{:02}, {:.1} MB/s]", 0.8 * pct as f64, i / 20 % 60, 59 - i / 20 % 60, rng.range(0.5, 2.5))
    });
    t.every(80.0, 0.1, 300, |i| format!("Progress: {}%", i / 3));
    t.cpu(0.0, 110.0, |_| 40.0);
    t.run(110.0).assert_never_fires("progress bar");
}

#[test]
fn processed_counters() {
    let mut t = Timeline::new();
    t.every(0.0, 0.02, 3000, |i| format!("processed {}/3000 records ({:.1} %)", i + 1, (i + 1) as f64 / 30.0));
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
            format!("[eval] epoch {}/10 step {step} val_loss={:.4} accuracy={:.3}", 1 + i / 240, rng.range(0.2, 0.5), rng.range(0.8, 0.95))
        } else {
            format!("epoch {}/10 step {step} loss={:.4} lr=3e-4 grad_norm={:.2} 12.5 it/s", 1 + i / 240, rng.range(0.1, 0.9), rng.range(0.5, 3.0))
        }
    });
    t.cpu(0.0, 120.0, |_| 100.0);
    t.run(125.0).assert_never_fires("ML training");
}

#[test]
fn busy_access_log() {
    let mut rng = Rng::new(4);
    let endpoints = ["GET /health", "GET /health", "GET /health", "GET /api/users/{}", "GET /api/users/{}", "POST /api/orders", "GET /static/app.js", "GET /api/orders/{}", "PUT /api/users/{}", "DELETE /api/sessions/{}", "GET /metrics", "GET /"];
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
        t.line(at, Stream::Stdout, format!("{} health check ok: upstream=api status=200 latency={}ms", iso(at), rng.below(40)));
        at += rng.range(0.9, 1.1);
    }
    t.cpu(0.0, 600.0, |_| 100.0);
    t.run(600.0).assert_never_fires("one-line heartbeat");

    let mut t = Timeline::new();
    t.passes(0.0, 1.0, 300, |_| vec!["checking upstream...".into(), "upstream ok".into()]);
    t.cpu(0.0, 300.0, |_| 100.0);
    t.run(300.0).assert_never_fires("two-line heartbeat");

    let mut t = Timeline::new();
    t.passes(0.0, 1.0, 120, |_| vec!["poll: queue depth 0".into(), "poll: no work".into(), "poll: sleeping 1s".into()]);
    t.run(120.0).assert_never_fires("three-line poller");
}

#[test]
fn silent_and_bursty_compute() {
    let mut t = Timeline::new();
    t.line(0.0, Stream::Stdout, "starting simulation");
    t.cpu(0.0, 120.0, |_| 100.0);
    t.run(120.0).assert_never_fires("silent compute");

    let mut t = Timeline::new();
    t.passes(0.5, 5.0, 24, |b| vec![format!("batch {b}: loaded 1000 rows"), format!("batch {b}: transformed"), format!("batch {b}: wrote 1000 rows in 1.2s")]);
    t.cpu(0.0, 120.0, |s| if (s as u64) % 5 < 2 { 180.0 } else { 3.0 });
    t.run(120.0).assert_never_fires("bursty batches");
}

#[test]
fn startup_burst_then_quiet_service() {
    let mut t = Timeline::new();
    t.every(0.0, 0.004, 400, |i| format!("loading module {}", name(i).replace('_', ".")));
    t.every(1.6, 0.003, 300, |i| format!("registered plugin_{i} from /opt/app/plugins/plugin_{i}.so"));
    t.line(2.6, Stream::Stdout, "server ready on 0.0.0.0:8080");
    t.every(7.0, 5.0, 20, |i| format!("{} served {} requests", iso(7.0 + 5.0 * i as f64), 10 * i));
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
