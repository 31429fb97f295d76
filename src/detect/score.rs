//! From measured signals to one confidence in [0, 1], as a sum of named components.
//!
//! Two paths can make the case, and the stronger one is reported.
//!
//! **Cycle** (the main path): the tail run of an exact cycle. Its evidence `e` saturates
//! with the matched lines (`1 - exp(-run·w/4)`, where a line of a longer period weighs more
//! because matching a 5-line block by chance is rarer than matching one line) and needs at
//! least half a second of span (a 0.1 s burst of identical warnings is not a loop). `e` drops
//! to 0 once the cycle has been silent for more than two of its own periods plus 0.5 s, which
//! is what lets retry-with-backoff (growing gaps) and a startup burst that stops go unpunished.
//! Then, each scaled by `e`: the cycle itself (0.62 for one line, 0.66 for two, 0.70 for
//! three or more), the line rate (up to 0.23, full at 10 lines/s), tree CPU (up to 0.15, full
//! at 90 % of a core) and error wording (0.15). So a fast loop crosses 0.80 on its own after
//! about half a second, a slow one needs CPU or error wording, and CPU alone never scores
//! anything: without a cycle every component is zero, so silent compute is never a runaway.
//!
//! **Repetition** (the fallback, for loops that are not exact): most lines matched the line k
//! back over a long span (full evidence at 5 s and 95 % matched), and the loop must be
//! corroborated by error wording or high CPU; without either it is capped below the
//! threshold. New templates during the span cost up to 0.5 (a burst of distinct lines is
//! startup, not a loop).
//!
//! On both paths, a counter advancing in one of the loop's templates costs 0.6, which no sum
//! of the rest can overcome: work is getting done. And a heartbeat, one or two lines at no
//! more than two cycles a second (or a longer block at most 1.2 times a second) without error
//! wording, is capped at three quarters of the threshold however long it runs: a health-check
//! poller is not a runaway.

use super::window::Rates;
use std::time::Duration;

/// Everything the detector measured, at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    pub cycle: Option<CycleSignals>,
    pub repetition: Option<RepetitionSignals>,
    pub cpu_percent: Option<f64>,
    pub rates: Rates,
    /// Time since the last line of any kind.
    pub silence: Option<Duration>,
}

/// The exact cycle at the tail of the output.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleSignals {
    pub period: usize,
    pub run: u64,
    pub repetitions: u64,
    pub span: Duration,
    /// Time since the cycle's latest line.
    pub silence: Duration,
    pub error: bool,
    pub progress: bool,
    /// Share of recent lines that belong to the cycle's templates.
    pub coverage: f64,
    pub example: String,
}

/// Repetition without an exact cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct RepetitionSignals {
    pub period: usize,
    pub lines: u64,
    pub matched_fraction: f64,
    pub span: Duration,
    pub silence: Duration,
    pub error_fraction: f64,
    pub new_templates: u64,
    pub progress: bool,
    /// Share of recent lines that belong to the most frequent templates.
    pub top_share: f64,
    pub top_templates: usize,
    pub example: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Cycle,
    Repetition,
}

/// The verdict of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub confidence: f64,
    pub path: Option<Path>,
    /// Every component by name; they sum to the confidence before clamping.
    pub components: Vec<(&'static str, f64)>,
    /// Lines per second of the judged loop.
    pub loop_lines_per_s: f64,
}

impl Assessment {
    pub fn component(&self, name: &str) -> f64 {
        self.components.iter().find(|(n, _)| *n == name).map_or(0.0, |(_, v)| *v)
    }
}

const PROGRESS_PENALTY: f64 = 0.6;
const HEARTBEAT_CAP: f64 = 0.75;

#[derive(Debug, Default, Clone, Copy)]
struct Parts {
    cycle: f64,
    repetition: f64,
    rate: f64,
    cpu: f64,
    error: f64,
    novelty_penalty: f64,
    progress_penalty: f64,
    cap: f64,
}

impl Parts {
    fn sum(&self) -> f64 {
        self.cycle + self.repetition + self.rate + self.cpu + self.error + self.novelty_penalty
            + self.progress_penalty
            + self.cap
    }

    /// Limits the total to `limit` by a negative `cap` component.
    fn cap_at(&mut self, limit: f64) {
        let total = self.sum();
        if total > limit {
            self.cap = limit - total;
        }
    }

    fn into_assessment(self, path: Option<Path>, loop_lines_per_s: f64) -> Assessment {
        Assessment {
            confidence: self.sum().clamp(0.0, 1.0),
            path,
            components: vec![
                ("cycle", self.cycle),
                ("repetition", self.repetition),
                ("rate", self.rate),
                ("cpu", self.cpu),
                ("error", self.error),
                ("novelty_penalty", self.novelty_penalty),
                ("progress_penalty", self.progress_penalty),
                ("cap", self.cap),
            ],
            loop_lines_per_s,
        }
    }
}

fn ramp(x: f64, from: f64, to: f64) -> f64 {
    ((x - from) / (to - from)).clamp(0.0, 1.0)
}

/// 0 below 30 % of a core, 1 from 90 %.
fn cpu_factor(cpu_percent: Option<f64>) -> f64 {
    cpu_percent.map_or(0.0, |c| ramp(c, 30.0, 90.0))
}

/// 0 up to 2.5 lines/s, 1 from 10 lines/s.
fn rate_factor(lines_per_s: f64) -> f64 {
    ramp(lines_per_s, 2.5, 10.0)
}

fn cycle_assessment(c: &CycleSignals, cpu: f64, threshold: f64) -> Assessment {
    let span = c.span.as_secs_f64();
    let run = c.run as f64;
    let passes = run / c.period as f64;
    let pass_interval = if passes > 0.0 { span / passes } else { f64::INFINITY };
    let fresh = c.silence.as_secs_f64() <= 2.0 * pass_interval + 0.5;
    let (line_weight, cycle_weight) = match c.period {
        1 => (1.0, 0.62),
        2 => (1.5, 0.66),
        _ => (2.0, 0.70),
    };
    let e_run = 1.0 - (-run * line_weight / 4.0).exp();
    let e_span = ramp(span, 0.1, 0.5);
    let e = if fresh { e_run * e_span } else { 0.0 };
    let lines_per_s = run / span.max(0.05);
    let passes_per_s = passes / span.max(0.05);
    let mut parts = Parts {
        cycle: cycle_weight * e,
        rate: 0.23 * e * rate_factor(lines_per_s),
        cpu: 0.15 * e * cpu,
        error: if c.error { 0.15 * e } else { 0.0 },
        progress_penalty: if c.progress { -PROGRESS_PENALTY } else { 0.0 },
        ..Parts::default()
    };
    let heartbeat = !c.error
        && ((c.period <= 2 && passes_per_s <= 2.0) || (c.period >= 3 && passes_per_s <= 1.2));
    if heartbeat {
        parts.cap_at(HEARTBEAT_CAP * threshold);
    }
    parts.into_assessment(Some(Path::Cycle), lines_per_s)
}

fn repetition_assessment(r: &RepetitionSignals, cpu: f64, threshold: f64) -> Assessment {
    let span = r.span.as_secs_f64();
    let fresh = r.silence <= Duration::from_secs(2) && r.lines >= 30;
    let e = if fresh { ramp(span, 2.0, 5.0) * ramp(r.matched_fraction, 0.80, 0.95) } else { 0.0 };
    let lines_per_s = r.lines as f64 / span.max(0.25);
    let error = r.error_fraction >= 0.25;
    let new_per_s = r.new_templates as f64 / span.max(1.0);
    let mut parts = Parts {
        repetition: 0.55 * e,
        rate: 0.10 * e * rate_factor(lines_per_s),
        cpu: 0.20 * e * cpu,
        error: if error { 0.20 * e } else { 0.0 },
        novelty_penalty: -(0.25 * new_per_s).min(0.5),
        progress_penalty: if r.progress { -PROGRESS_PENALTY } else { 0.0 },
        ..Parts::default()
    };
    let corroborated = error || cpu >= 0.5;
    if !corroborated || (!error && lines_per_s <= 2.0) {
        parts.cap_at(HEARTBEAT_CAP * threshold);
    }
    parts.into_assessment(Some(Path::Repetition), lines_per_s)
}

/// Scores the signals against `threshold`; the stronger path wins.
pub fn assess(signals: &Signals, threshold: f64) -> Assessment {
    let cpu = cpu_factor(signals.cpu_percent);
    let cycle = signals.cycle.as_ref().map(|c| cycle_assessment(c, cpu, threshold));
    let repetition = signals.repetition.as_ref().map(|r| repetition_assessment(r, cpu, threshold));
    match (cycle, repetition) {
        (Some(c), Some(r)) => {
            if r.confidence > c.confidence {
                r
            } else {
                c
            }
        }
        (Some(c), None) => c,
        (None, Some(r)) => r,
        (None, None) => Parts::default().into_assessment(None, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(period: usize, run: u64, span_s: f64) -> CycleSignals {
        CycleSignals {
            period,
            run,
            repetitions: run / period as u64 + 1,
            span: Duration::from_secs_f64(span_s),
            silence: Duration::ZERO,
            error: false,
            progress: false,
            coverage: 1.0,
            example: "x".into(),
        }
    }

    fn score(c: CycleSignals, cpu: Option<f64>) -> Assessment {
        let signals = Signals { cycle: Some(c), repetition: None, cpu_percent: cpu, rates: Rates::default(), silence: None };
        assess(&signals, 0.8)
    }

    #[test]
    fn components_add_up_to_the_confidence() {
        let a = score(cycle(3, 60, 2.0), Some(95.0));
        let sum: f64 = a.components.iter().map(|(_, v)| v).sum();
        assert_eq!(a.confidence, sum.clamp(0.0, 1.0));
        assert_eq!(a.path, Some(Path::Cycle));
        assert!(a.confidence >= 0.99);
    }

    #[test]
    fn a_fast_loop_crosses_on_its_own_a_short_burst_does_not() {
        assert!(score(cycle(1, 500, 0.5), None).confidence >= 0.8);
        assert!(score(cycle(1, 500, 0.1), Some(100.0)).confidence < 0.1);
    }

    #[test]
    fn cpu_alone_scores_nothing() {
        let signals = Signals { cycle: None, repetition: None, cpu_percent: Some(200.0), rates: Rates::default(), silence: None };
        assert_eq!(assess(&signals, 0.8).confidence, 0.0);
    }

    #[test]
    fn heartbeats_are_capped_unless_they_report_errors() {
        let beat = score(cycle(1, 3600, 3600.0), Some(100.0));
        assert!((beat.confidence - 0.6).abs() < 1e-9, "{beat:?}");
        assert!(beat.component("cap") < 0.0);
        let mut failing = cycle(1, 3600, 3600.0);
        failing.error = true;
        assert!(score(failing, Some(100.0)).confidence >= 0.8);
    }

    #[test]
    fn progress_outweighs_everything() {
        let mut c = cycle(1, 5000, 10.0);
        c.progress = true;
        c.error = true;
        assert!(score(c, Some(100.0)).confidence < 0.8);
    }

    #[test]
    fn a_stale_cycle_has_no_evidence() {
        let mut c = cycle(1, 7, 0.7);
        c.silence = Duration::from_secs(1);
        assert_eq!(score(c, Some(100.0)).confidence, 0.0);
    }

    #[test]
    fn repetition_needs_corroboration() {
        let r = RepetitionSignals {
            period: 1,
            lines: 600,
            matched_fraction: 0.97,
            span: Duration::from_secs(6),
            silence: Duration::ZERO,
            error_fraction: 0.0,
            new_templates: 0,
            progress: false,
            top_share: 0.97,
            top_templates: 2,
            example: "x".into(),
        };
        let with = |cpu: Option<f64>, error_fraction: f64| {
            let r = RepetitionSignals { error_fraction, ..r.clone() };
            let signals = Signals { cycle: None, repetition: Some(r), cpu_percent: cpu, rates: Rates::default(), silence: None };
            assess(&signals, 0.8)
        };
        assert!(with(None, 0.0).confidence < 0.8);
        assert!(with(Some(100.0), 0.0).confidence >= 0.8);
        assert!(with(None, 1.0).confidence >= 0.8);
        assert_eq!(with(None, 1.0).path, Some(Path::Repetition));
    }
}
