//! The explanation of a runaway decision: one sentence and the numbers behind it.
//!
//! A person reading `flowforge` output after their job was stopped must see, in one line,
//! why: the shape of the loop, how long it ran, and every number that pushed confidence
//! over the threshold, e.g.
//! `output loop: 3-line cycle repeated 41× in 5.0 s (97 % of lines, 0 new templates),
//! tree CPU 98 % — confidence 0.93 ≥ 0.80`. A number appears in the sentence only when its
//! component contributed (line rate, error wording, CPU), so the sentence never cites a
//! signal that did not matter. The same numbers, all of them, go into `numbers` as JSON for
//! the evidence store and the web view; floats are rounded to three decimals so the stored
//! payload stays readable.

use super::score::{Assessment, Path, Signals};
use super::Reason;
use crate::sample::Stream;
use serde_json::{json, Map, Value};

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Builds the reason for `assessment`, which crossed `threshold`.
pub fn explain(signals: &Signals, assessment: &Assessment, threshold: f64) -> Reason {
    let mut extras = String::new();
    if assessment.component("rate") > 0.0 {
        extras.push_str(&format!(", {:.0} lines/s", assessment.loop_lines_per_s));
    }
    if assessment.component("error") > 0.0 {
        extras.push_str(", error wording");
    }
    if let Some(cpu) = signals.cpu_percent.filter(|_| assessment.component("cpu") > 0.0) {
        extras.push_str(&format!(", tree CPU {cpu:.0} %"));
    }
    if let Some(slow) = assessment
        .slow_loop
        .as_ref()
        .filter(|_| assessment.component("slow_loop") > 0.0)
    {
        extras.push_str(&format!(", {slow}"));
    }
    let verdict = format!("confidence {:.2} ≥ {:.2}", assessment.confidence, threshold);

    let mut numbers = Map::new();
    let shape = match (assessment.path, &signals.cycle, &signals.repetition) {
        (Some(Path::Variants), _, _) if signals.loose.is_some() => {
            let l = signals.loose.as_ref().expect("checked");
            numbers.insert("path".into(), json!("variants"));
            numbers.insert("period".into(), json!(l.period));
            numbers.insert("repetitions".into(), json!(l.passes));
            numbers.insert("span_s".into(), json!(round3(l.span.as_secs_f64())));
            numbers.insert("variants".into(), json!(l.variants));
            numbers.insert("novel_variants".into(), json!(l.novel_variants));
            numbers.insert("error_wording".into(), json!(l.error));
            numbers.insert("progress".into(), json!(l.progress.name()));
            numbers.insert("example".into(), json!(l.example));
            format!(
                "{}-line block repeated {}× in {:.1} s with {} lines reworded ({} of them new text)",
                l.period,
                l.passes,
                l.span.as_secs_f64(),
                l.variants,
                l.novel_variants
            )
        }
        (Some(Path::Passes), _, _) if signals.alike.is_some() => {
            let a = signals.alike.as_ref().expect("checked");
            numbers.insert("path".into(), json!("passes"));
            numbers.insert("repetitions".into(), json!(a.passes));
            numbers.insert("lines_per_pass_min".into(), json!(a.lines.0));
            numbers.insert("lines_per_pass_max".into(), json!(a.lines.1));
            numbers.insert("pass_interval_s".into(), json!(round3(a.interval)));
            numbers.insert("surprising_passes".into(), json!(a.surprising));
            numbers.insert("error_wording".into(), json!(a.error));
            numbers.insert("progress".into(), json!(a.progress.name()));
            numbers.insert("example".into(), json!(a.example));
            numbers.insert("opened_by_header".into(), json!(a.headed));
            numbers.insert("values_repeated".into(), json!(a.repeated));
            let cut = if a.headed {
                "each opening with the same header"
            } else {
                "each after a silence"
            };
            format!(
                "{} alike passes of {}-{} lines, one every {:.1} s, {cut}",
                a.passes, a.lines.0, a.lines.1, a.interval
            )
        }
        (Some(Path::Repetition), _, Some(r)) => {
            numbers.insert("path".into(), json!("repetition"));
            numbers.insert("period".into(), json!(r.period));
            numbers.insert("repetitions".into(), json!(r.lines / r.period as u64));
            numbers.insert("span_s".into(), json!(round3(r.span.as_secs_f64())));
            numbers.insert("coverage".into(), json!(round3(r.top_share)));
            numbers.insert("matched_fraction".into(), json!(round3(r.matched_fraction)));
            numbers.insert("new_templates".into(), json!(r.new_templates));
            numbers.insert("error_wording".into(), json!(r.error_fraction >= 0.25));
            numbers.insert("error_fraction".into(), json!(round3(r.error_fraction)));
            numbers.insert("progress".into(), json!(r.progress.name()));
            numbers.insert("example".into(), json!(r.example));
            format!(
                "{} lines in {:.1} s repeat with period {} but no exact cycle ({:.0} % matched, \
                 {} templates cover {:.0} % of lines, {} new templates)",
                r.lines,
                r.span.as_secs_f64(),
                r.period,
                100.0 * r.matched_fraction,
                r.top_templates,
                100.0 * r.top_share,
                r.new_templates
            )
        }
        (_, Some(c), _) => {
            numbers.insert("path".into(), json!("cycle"));
            numbers.insert(
                "stream".into(),
                json!(match c.stream {
                    None => "both",
                    Some(Stream::Stdout) => "stdout",
                    Some(Stream::Stderr) => "stderr",
                }),
            );
            numbers.insert("period".into(), json!(c.period));
            numbers.insert("repetitions".into(), json!(c.repetitions));
            numbers.insert("span_s".into(), json!(round3(c.span.as_secs_f64())));
            numbers.insert("coverage".into(), json!(round3(c.coverage)));
            numbers.insert("new_templates".into(), json!(0));
            numbers.insert("error_wording".into(), json!(c.error));
            numbers.insert("progress".into(), json!(c.progress.name()));
            numbers.insert("example".into(), json!(c.example));
            let what = if c.period == 1 {
                "same line".to_string()
            } else {
                format!("{}-line cycle", c.period)
            };
            format!(
                "{what} repeated {}× in {:.1} s ({:.0} % of lines, 0 new templates)",
                c.repetitions,
                c.span.as_secs_f64(),
                100.0 * c.coverage
            )
        }
        _ => "no loop".to_string(),
    };
    let cpu = signals.cpu_percent.map_or(Value::Null, |c| json!(round3(c)));
    numbers.insert("cpu_percent".into(), cpu);
    numbers.insert("lines_per_s".into(), json!(round3(assessment.loop_lines_per_s)));
    let rates = &signals.rates;
    numbers.insert(
        "output_lines_per_s".into(),
        json!(round3(rates.total_lines_per_s())),
    );
    numbers.insert("stdout_lines_per_s".into(), json!(round3(rates.lines_per_s[0])));
    numbers.insert("stderr_lines_per_s".into(), json!(round3(rates.lines_per_s[1])));
    numbers.insert("stdout_bytes_per_s".into(), json!(round3(rates.bytes_per_s[0])));
    numbers.insert("stderr_bytes_per_s".into(), json!(round3(rates.bytes_per_s[1])));
    let silence = signals
        .silence
        .map_or(Value::Null, |s| json!(round3(s.as_secs_f64())));
    numbers.insert("silence_s".into(), silence);
    numbers.insert("confidence".into(), json!(round3(assessment.confidence)));
    numbers.insert("threshold".into(), json!(threshold));
    let components: Map<String, Value> = assessment
        .components
        .iter()
        .map(|(name, v)| ((*name).to_string(), json!(round3(*v))))
        .collect();
    numbers.insert("components".into(), Value::Object(components));

    numbers.insert("protections".into(), json!(assessment.protections));
    let decided = match assessment.path {
        Some(Path::Cycle) => "exact cycle",
        Some(Path::Repetition) => "repetition",
        Some(Path::Variants) => "block with reworded lines",
        Some(Path::Passes) => "alike passes between silences or headers",
        None => "none",
    };
    numbers.insert("decided_by".into(), json!(decided));
    numbers.insert("slow_loop".into(), json!(assessment.slow_loop));
    if !assessment.protections.is_empty() {
        extras.push_str(&format!(
            " (not enough to leave it alone: {})",
            assessment.protections.join("; ")
        ));
    }
    Reason {
        summary: format!("output loop: {shape}{extras} — {verdict}"),
        confidence: assessment.confidence,
        components: assessment.components.clone(),
        numbers: Value::Object(numbers),
    }
}

#[cfg(test)]
mod tests {
    use super::super::progress::Progress;
    use super::super::score::{assess, CycleSignals, RepetitionSignals};
    use super::super::window::Rates;
    use super::*;
    use std::time::Duration;

    fn signals(error: bool, cpu: Option<f64>) -> Signals {
        Signals {
            cycle: Some(CycleSignals {
                started: Duration::ZERO,
                stream: None,
                period: 3,
                run: 120,
                repetitions: 41,
                span: Duration::from_millis(5000),
                silence: Duration::ZERO,
                longest_gap: Duration::ZERO,
                error,
                progress: Progress::None,
                animation: false,
                coverage: 0.97,
                example: "agent step <uuid>: calling tool".into(),
                countdown: None,
                cadence: None,
                loop_cpu: None,
                texture: false,
                result_texture: false,
                news: false,
                counted_news: false,
                wait: false,
                test_run: false,
                one_pass: false,
                empty: false,
                replies: None,
                measured: None,
                crash: false,
                model_call: false,
                under_way: false,
                backing_off: false,
                changes: 0,
                clock: None,
                interval: None,
                traced_wait: false,
            }),
            repetition: None,
            loose: None,
            alike: None,
            bursts: Default::default(),
            cpu_percent: cpu,
            rates: Rates {
                lines_per_s: [24.0, 0.0],
                bytes_per_s: [960.0, 0.0],
            },
            silence: Some(Duration::from_millis(40)),
        }
    }

    #[test]
    fn summary_names_every_number_that_mattered() {
        let s = signals(false, Some(98.0));
        let a = assess(&s, 0.8);
        let reason = explain(&s, &a, 0.8);
        assert_eq!(
            reason.summary,
            "output loop: 3-line cycle repeated 41× in 5.0 s (97 % of lines, 0 new templates), \
             24 lines/s, tree CPU 98 % — confidence 1.00 ≥ 0.80"
        );
        let with_error = signals(true, Some(10.0));
        let a = assess(&with_error, 0.8);
        let summary = explain(&with_error, &a, 0.8).summary;
        assert!(summary.contains(", error wording"), "{summary}");
        assert!(!summary.contains("CPU"), "10 % CPU did not contribute: {summary}");
    }

    #[test]
    fn numbers_carry_the_same_facts() {
        let s = signals(false, Some(98.0));
        let a = assess(&s, 0.8);
        let n = explain(&s, &a, 0.8).numbers;
        for key in [
            "period",
            "repetitions",
            "span_s",
            "coverage",
            "new_templates",
            "cpu_percent",
            "lines_per_s",
            "error_wording",
            "progress",
            "confidence",
            "threshold",
            "components",
        ] {
            assert!(n.get(key).is_some(), "missing {key} in {n}");
        }
        assert_eq!(n["period"], 3);
        assert_eq!(n["repetitions"], 41);
        assert_eq!(n["span_s"], 5.0);
        assert_eq!(n["cpu_percent"], 98.0);
        assert_eq!(n["stdout_lines_per_s"], 24.0);
        assert_eq!(n["components"]["progress_penalty"], 0.0);
    }

    #[test]
    fn repetition_reasons_say_there_is_no_exact_cycle() {
        let s = Signals {
            cycle: None,
            repetition: Some(RepetitionSignals {
                period: 1,
                lines: 600,
                matched_fraction: 0.96,
                span: Duration::from_secs(6),
                silence: Duration::ZERO,
                error_fraction: 1.0,
                new_templates: 0,
                progress: Progress::None,
                replies: None,
                measured: None,
                top_share: 0.98,
                top_templates: 2,
                example: "retry <n> failed".into(),
            }),
            loose: None,
            alike: None,
            bursts: Default::default(),
            cpu_percent: None,
            rates: Rates::default(),
            silence: None,
        };
        let a = assess(&s, 0.8);
        let reason = explain(&s, &a, 0.8);
        assert!(
            reason
                .summary
                .starts_with("output loop: 600 lines in 6.0 s repeat with period 1"),
            "{}",
            reason.summary
        );
        assert!(reason.summary.contains("error wording"));
        assert_eq!(reason.numbers["path"], "repetition");
        assert_eq!(reason.numbers["cpu_percent"], Value::Null);
    }
}
