//! The runaway detector: decides, from output lines and tree samples alone, when a job has
//! turned into a loop that will never finish.
//!
//! It is pure and deterministic — no clock, no I/O, every observation carries its time since
//! the run started — so the supervisor feeds it live and tests feed it synthetic timelines.
//! Each line passes through `text` (binary lines are skipped, ANSI stripped), `template`
//! (varying parts masked, numbers kept) and `wording` (error words, once per template), then
//! updates three bounded structures: the `cycle` tracker (the exact cycle at the tail), the
//! `window` (per-quarter-second counts) and the `templates` table (recent share, novelty,
//! `progress` rings). Every 250 ms `evaluate` gathers these into `score::Signals`, scores
//! them, and applies the hold: confidence must stay at or above the threshold for
//! `DetectConfig::hold` before `Decision::Runaway` is returned; after that every call
//! returns the same reason.
//!
//! Why the tail cycle is the main evidence: a loop is a deterministic sequence repeating at
//! the end of the output. Judging the tail run (not the whole window) catches a loop about a
//! second after its onset even when the window is still full of healthy output; requiring an
//! *exact* repeat at a fixed period is what tells a loop from a busy access log, whose few
//! templates repeat a lot but never in a fixed order. Progress (an advancing counter), novelty
//! (new templates), a heartbeat cap and the need for span and freshness keep training logs,
//! progress bars, pollers and startup bursts alive; CPU and error wording only add confidence
//! to a loop already seen, so silent compute is never stopped. `score` documents the numbers.

mod cycle;
mod progress;
mod reason;
mod score;
mod template;
mod templates;
mod text;
mod tokens;
mod window;
mod wording;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod scenarios_loops;

use crate::sample::{Sample, Stream};
use cycle::CycleTracker;
use score::{CycleSignals, RepetitionSignals, Signals};
use std::time::Duration;
use template::Slots;
use templates::TemplateTable;
use window::Window;

/// How many of the most frequent templates the repetition path looks at.
const TOP_TEMPLATES: usize = 4;

/// A sample older than this no longer describes the tree's CPU.
const SAMPLE_FRESHNESS: Duration = Duration::from_millis(2500);

/// Span over which output rates are reported.
const RATE_SPAN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq)]
pub struct DetectConfig {
    /// How far back rates, shares, novelty and progress look. Default 10 s.
    pub window: Duration,
    /// Confidence needed to act. Default 0.80.
    pub threshold: f64,
    /// How long confidence must stay at or above the threshold. Default 1 s.
    pub hold: Duration,
}

impl Default for DetectConfig {
    fn default() -> DetectConfig {
        DetectConfig {
            window: Duration::from_secs(10),
            threshold: 0.80,
            hold: Duration::from_secs(1),
        }
    }
}

/// What the detector asks the supervisor to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Continue,
    Runaway(Reason),
}

/// Why the detector called a runaway.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// One sentence naming the loop and every number that crossed a threshold.
    pub summary: String,
    pub confidence: f64,
    /// Named contributions to the confidence (negative ones are penalties and caps).
    pub components: Vec<(&'static str, f64)>,
    /// The same numbers as JSON, for the evidence store.
    pub numbers: serde_json::Value,
}

pub struct Detector {
    config: DetectConfig,
    cycle: CycleTracker,
    window: Window,
    templates: TemplateTable,
    /// Reused per line: the stripped line, its template text and its numbers.
    stripped: Vec<u8>,
    template_text: Vec<u8>,
    slots: Slots,
    last_line_at: Option<Duration>,
    latest_sample: Option<Sample>,
    above_since: Option<Duration>,
    fired: Option<Reason>,
}

impl Detector {
    pub fn new(config: DetectConfig) -> Detector {
        let window = Window::new(config.window);
        let templates = TemplateTable::new(config.window / 2);
        Detector {
            config,
            cycle: CycleTracker::default(),
            window,
            templates,
            stripped: Vec::with_capacity(256),
            template_text: Vec::with_capacity(256),
            slots: Slots::default(),
            last_line_at: None,
            latest_sample: None,
            above_since: None,
            fired: None,
        }
    }

    /// One output line (without its terminator). Costs O(line length) plus O(16).
    pub fn observe_line(&mut self, stream: Stream, line: &[u8], truncated: bool, at: Duration) {
        let _ = truncated; // a cut line is still a line; its prefix is what gets compared
        self.window.add_line(stream, line.len(), at);
        self.last_line_at = Some(self.last_line_at.map_or(at, |last| last.max(at)));
        let prefix = text::scanned_prefix(line);
        if !text::looks_like_text(prefix) {
            return;
        }
        text::strip_decoration(prefix, &mut self.stripped);
        let Some(hash) = template::normalise(&self.stripped, &mut self.template_text, &mut self.slots)
        else {
            return;
        };
        let (stripped, template_text) = (&self.stripped, &self.template_text);
        let observed = self.templates.observe(hash, at, &self.slots, || {
            (wording::wording(stripped), templates::example(template_text))
        });
        let matched = self.cycle.push(hash, at);
        self.window.add_text_line(at, matched, observed.new_in_run, observed.error);
    }

    /// One sample of the process tree (about once a second).
    pub fn observe_sample(&mut self, sample: &Sample) {
        self.latest_sample = Some(*sample);
    }

    /// The decision at `at` (called about every 250 ms).
    pub fn evaluate(&mut self, at: Duration) -> Decision {
        if let Some(reason) = &self.fired {
            return Decision::Runaway(reason.clone());
        }
        let signals = self.signals(at);
        let assessment = score::assess(&signals, self.config.threshold);
        if assessment.confidence < self.config.threshold {
            self.above_since = None;
            return Decision::Continue;
        }
        let since = *self.above_since.get_or_insert(at);
        if at.saturating_sub(since) < self.config.hold {
            return Decision::Continue;
        }
        let reason = reason::explain(&signals, &assessment, self.config.threshold);
        self.fired = Some(reason.clone());
        Decision::Runaway(reason)
    }

    fn signals(&self, now: Duration) -> Signals {
        let freshness = self.config.window;
        let cpu_percent = self
            .latest_sample
            .filter(|s| now.saturating_sub(s.at) <= SAMPLE_FRESHNESS)
            .map(|s| s.cpu_percent);
        let example = |hash: u64| self.templates.get(hash).map(|t| t.example.to_string()).unwrap_or_default();
        let cycle = self.cycle.tail().map(|tail| {
            let infos: Vec<_> = tail.templates.iter().filter_map(|&h| self.templates.get(h)).collect();
            CycleSignals {
                period: tail.period,
                run: tail.run,
                repetitions: tail.repetitions(),
                span: tail.span(),
                silence: now.saturating_sub(tail.latest),
                error: infos.iter().any(|t| t.wording.error),
                progress: infos.iter().any(|t| t.shows_progress(now, freshness)),
                coverage: self.templates.share(&tail.templates, now),
                example: tail.templates.first().map(|&h| example(h)).unwrap_or_default(),
            }
        });
        let repetition = self.window.repetition(now).map(|r| {
            let top = self.templates.top(TOP_TEMPLATES, now);
            let lines = r.lines.max(1) as f64;
            RepetitionSignals {
                period: r.period,
                lines: r.lines,
                matched_fraction: r.matched as f64 / lines,
                span: r.span,
                silence: self.last_line_at.map_or(Duration::MAX, |t| now.saturating_sub(t)),
                error_fraction: r.error_lines as f64 / lines,
                new_templates: r.new_templates,
                progress: top.iter().filter_map(|&h| self.templates.get(h)).any(|t| t.shows_progress(now, freshness)),
                top_share: self.templates.share(&top, now),
                top_templates: top.len(),
                example: top.first().map(|&h| example(h)).unwrap_or_default(),
            }
        });
        Signals {
            cycle,
            repetition,
            cpu_percent,
            rates: self.window.rates(now, RATE_SPAN),
            silence: self.last_line_at.map(|t| now.saturating_sub(t)),
        }
    }

    /// Sizes of the internal buffers, to check that they stay bounded.
    #[cfg(test)]
    fn footprint(&self) -> Footprint {
        Footprint {
            templates: self.templates.len(),
            stripped_capacity: self.stripped.capacity(),
            template_capacity: self.template_text.capacity(),
            buckets: self.window.bucket_count(),
        }
    }
}

#[cfg(test)]
#[derive(Debug)]
struct Footprint {
    templates: usize,
    stripped_capacity: usize,
    template_capacity: usize,
    buckets: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A tight loop of one line from t = 0, 200 lines/s, evaluated every 250 ms.
    fn first_runaway(config: DetectConfig) -> Option<(Duration, Reason)> {
        let mut det = Detector::new(config);
        for tick in 1..=40u64 {
            for i in 0..50 {
                let at = ms((tick - 1) * 250 + i * 5);
                det.observe_line(Stream::Stdout, b"\x1b[33mpolling queue: empty\x1b[0m", false, at);
            }
            if let Decision::Runaway(reason) = det.evaluate(ms(tick * 250)) {
                return Some((ms(tick * 250), reason));
            }
        }
        None
    }

    #[test]
    fn hold_delays_the_decision_by_its_length() {
        let (quick, _) = first_runaway(DetectConfig { hold: Duration::ZERO, ..DetectConfig::default() })
            .expect("fires without hold");
        let (held, reason) = first_runaway(DetectConfig::default()).expect("fires with hold");
        assert_eq!(held, quick + Duration::from_secs(1));
        assert!(held <= Duration::from_secs(2), "fired at {held:?}");
        assert!(reason.summary.starts_with("output loop: same line repeated "), "{}", reason.summary);
        assert_eq!(reason.numbers["threshold"], 0.8);
    }

    #[test]
    fn runaway_is_latched() {
        let mut det = Detector::new(DetectConfig::default());
        for i in 0..2000u64 {
            det.observe_line(Stream::Stderr, b"boom", false, ms(i));
        }
        let mut decisions = (1..=12).map(|t| det.evaluate(ms(t * 250)));
        let first = decisions.find(|d| matches!(d, Decision::Runaway(_))).expect("fires");
        assert_eq!(det.evaluate(ms(60_000)), first, "same reason, even after the loop stopped");
    }

    #[test]
    fn a_higher_threshold_is_harder_to_reach() {
        let strict = DetectConfig { threshold: 0.99, ..DetectConfig::default() };
        assert!(first_runaway(strict).is_none());
    }

    #[test]
    fn random_bytes_never_panic_and_memory_stays_bounded() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut det = Detector::new(DetectConfig::default());
        let mut line = Vec::with_capacity(100 * 1024);
        for i in 0..10_000u64 {
            line.clear();
            let len = (next() % (100 * 1024)) as usize;
            let len = if i % 4 == 0 { len } else { len % 200 };
            let textish = i % 2 == 0;
            while line.len() < len {
                let r = next();
                for b in r.to_le_bytes() {
                    // Half the lines are printable-ish with escapes and digits mixed in.
                    line.push(if textish { b" 0123456789abcdefxyz:./-_%[]\x1b\"'"[b as usize % 32] } else { b });
                }
            }
            line.truncate(len);
            let stream = if i % 3 == 0 { Stream::Stderr } else { Stream::Stdout };
            det.observe_line(stream, &line, len > 64 * 1024, ms(i * 3));
            if i % 80 == 0 {
                let cpu = (next() % 300) as f64;
                det.observe_sample(&Sample { at: ms(i * 3), cpu_percent: cpu, rss_bytes: 0, processes: 1, stdout_bytes: 0, stderr_bytes: 0, lines: 0 });
                let _ = det.evaluate(ms(i * 3));
            }
            let f = det.footprint();
            assert!(f.templates <= templates::MAX_TEMPLATES, "{f:?}");
            assert!(f.stripped_capacity <= 2 * text::SCAN_LIMIT, "{f:?}");
            assert!(f.template_capacity <= 2 * template::TEMPLATE_LIMIT, "{f:?}");
            assert_eq!(f.buckets, 41);
        }
    }
}
