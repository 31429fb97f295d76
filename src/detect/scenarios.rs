//! The timeline harness shared by the scenario tests (`scenarios_healthy`, `scenarios_loops`).
//!
//! A scenario describes what a workload prints and when — lines at a rate, passes of several
//! lines, CPU samples once a second — and `Timeline::run` replays it through a `Detector`
//! with default settings, evaluating every 250 ms as the supervisor does, and reports when
//! it first returned `Runaway` and the highest confidence it saw. Lines are generated, not
//! recorded, so a scenario is a few lines of intent, can run for minutes of simulated time
//! in milliseconds, and stays deterministic (a small xorshift generator stands in for
//! randomness, no dependency).

use super::score::{self, Assessment};
use super::{Decision, DetectConfig, Detector, Reason};
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
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

/// An ISO-8601 timestamp `t` seconds after 2024-05-01T10:00:00Z.
pub fn iso(t: f64) -> String {
    let ms = (t * 1000.0) as u64;
    let s = ms / 1000;
    format!(
        "2024-05-01T{:02}:{:02}:{:02}.{:03}Z",
        10 + s / 3600,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
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
            None => panic!(
                "never fired; peak confidence {:.3} at {:.2} s",
                self.peak.0, self.peak.1
            ),
        }
    }

    pub fn assert_never_fires(&self, what: &str) {
        if let Some(reason) = &self.reason {
            panic!(
                "{what}: false runaway at {:?} s: {}",
                self.fired_at, reason.summary
            );
        }
    }
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline::default()
    }

    /// One line at `t` seconds.
    pub fn line(&mut self, t: f64, stream: Stream, text: impl AsRef<[u8]>) -> &mut Timeline {
        self.lines.push((
            Duration::from_secs_f64(t.max(0.0)),
            stream,
            text.as_ref().to_vec(),
        ));
        self
    }

    /// `count` lines on stdout from `start`, one every `every` seconds, text `f(i)`.
    pub fn every(
        &mut self,
        start: f64,
        every: f64,
        count: usize,
        f: impl FnMut(usize) -> String,
    ) -> &mut Timeline {
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
    pub fn passes(
        &mut self,
        start: f64,
        every: f64,
        count: usize,
        mut f: impl FnMut(usize) -> Vec<String>,
    ) -> &mut Timeline {
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
            self.samples.push(Sample {
                at,
                cpu_percent: cpu,
                rss_bytes: 50 << 20,
                processes: 1,
                stdout_bytes: 0,
                stderr_bytes: 0,
                lines: 0,
            });
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
        let mut outcome = Outcome {
            fired_at: None,
            reason: None,
            peak: (0.0, 0.0),
        };
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
    "alpha", "bravo", "cargo", "delta", "ember", "flint", "grove", "harbor", "iris", "jolt", "karma",
    "lumen", "maple", "nexus", "orbit", "pixel", "quartz", "raven", "sierra", "tango", "umber", "vortex",
    "willow", "zephyr",
];

/// A distinct, letters-only name for every `i` below 24³.
pub fn name(i: usize) -> String {
    format!("{}_{}_{}", WORDS[i % 24], WORDS[i / 24 % 24], WORDS[i / 576 % 24])
}

/// One `pytest -v -n 2` session of a 40-test suite from `at`, as pytest-xdist prints it: the
/// header, a 0.6 s pause while the workers start, then each test's start and result line in
/// whatever order the workers finish them (drawn from `rng`), `[gw0] [ 43%] PASSED ...`, the
/// percentage counting the results so far. `test_total` fails unless `passing`, its report
/// showing the test's fixture at the address it had in that run; `python` is the
/// interpreter's version in the header. Returns when the session's last line is printed.
pub fn xdist_session(t: &mut Timeline, at: f64, rng: &mut Rng, passing: bool, python: &str) -> f64 {
    xdist_session_of(t, at, rng, passing, python, 40, 0.6)
}

/// The same session of a suite of `count` tests whose workers start in `startup` seconds.
pub fn xdist_session_of(
    t: &mut Timeline,
    at: f64,
    rng: &mut Rng,
    passing: bool,
    python: &str,
    count: usize,
    startup: f64,
) -> f64 {
    let header = [
        "============================= test session starts ==============================".to_string(),
        format!("platform linux -- Python {python}, pytest-8.3.2, pluggy-1.5.0 -- /work/venv/bin/python3"),
        "cachedir: .pytest_cache".to_string(),
        "rootdir: /work/app".to_string(),
        "plugins: xdist-3.6.1".to_string(),
        "created: 2/2 workers".to_string(),
    ];
    for (i, line) in header.iter().enumerate() {
        t.line(at + 0.002 * i as f64, Stream::Stdout, line);
    }
    let mut now = at + startup;
    t.line(now, Stream::Stdout, format!("2 workers [{count} items]"));
    t.line(now + 0.001, Stream::Stdout, "scheduling tests via LoadScheduling");
    let mut tests: Vec<String> = (0..count - 1)
        .map(|i| format!("tests/test_app.py::test_case[{i}]"))
        .collect();
    tests.push("tests/test_app.py::test_total".to_string());
    // Two workers take the tests in chunks and finish them in an order of their own.
    for i in (1..tests.len()).rev() {
        tests.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for (done, test) in tests.iter().enumerate() {
        now += rng.range(0.005, 0.03);
        t.line(now, Stream::Stdout, format!("{test} "));
        let result = if test.ends_with("test_total") && !passing {
            "FAILED"
        } else {
            "PASSED"
        };
        let percent = 100 * (done + 1) / tests.len();
        now += rng.range(0.005, 0.02);
        t.line(
            now,
            Stream::Stdout,
            format!("[gw{}] [{percent:3}%] {result} {test} ", rng.below(2)),
        );
    }
    let summary: Vec<String> = if passing {
        vec![format!(
            "============================== {count} passed in 1.12s =============================="
        )]
    } else {
        vec![
            "=================================== FAILURES ===================================".to_string(),
            "__________________________________ test_total __________________________________".to_string(),
            format!(
                "[gw{}] linux -- Python {python} /work/venv/bin/python3",
                rng.below(2)
            ),
            format!("client = <app.testing.Client object at 0x7f{}>", rng.hex(10)),
            "".to_string(),
            "    def test_total(client):".to_string(),
            ">       assert sum([1, 2, 3]) == 7".to_string(),
            "E       assert 6 == 7".to_string(),
            "tests/test_app.py:14: AssertionError".to_string(),
            "=========================== short test summary info ============================".to_string(),
            "FAILED tests/test_app.py::test_total - assert 6 == 7".to_string(),
            format!(
                "========================= 1 failed, {} passed in {:.2}s =========================",
                count - 1,
                rng.range(1.0, 1.3)
            ),
        ]
    };
    for line in summary {
        now += 0.002;
        t.line(now, Stream::Stdout, line);
    }
    now
}
