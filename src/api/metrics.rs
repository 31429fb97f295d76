//! `/metrics`: the store (and, under `run --listen`, the live run) in the Prometheus text
//! exposition format 0.0.4.
//!
//! The format is a contract that `promtool check metrics` tests: one `# HELP` and one
//! `# TYPE` per family, before its samples; counters end in `_total`; base units (seconds,
//! bytes); histograms have cumulative `_bucket{le=...}` series ending in `+Inf`, plus `_sum`
//! and `_count`. Counters derived from the store go down when `flowforge prune` deletes
//! runs; Prometheus treats that as a counter reset, which `rate()` handles.

use super::store::{self, RunState};
use crate::act::control::LiveStats;
use crate::evidence::report::{run_record, RunRecord, RUN_COLUMNS};
use crate::evidence::EvidenceError;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const CONFIDENCE_BUCKETS: [f64; 8] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0];
const DURATION_BUCKETS: [f64; 9] = [1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0, 604800.0];

/// Builds one exposition, family by family.
#[derive(Default)]
pub struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"{}\"", escape(val));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    fn histogram(&mut self, name: &str, help: &str, buckets: &[f64], values: &[f64]) {
        self.family(name, "histogram", help);
        for le in buckets {
            let count = values.iter().filter(|v| **v <= *le).count();
            self.sample(&format!("{name}_bucket"), &[("le", &number(*le))], count as f64);
        }
        self.sample(&format!("{name}_bucket"), &[("le", "+Inf")], values.len() as f64);
        self.sample(&format!("{name}_sum"), &[], values.iter().sum());
        self.sample(&format!("{name}_count"), &[], values.len() as f64);
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn query(what: &'static str) -> impl FnOnce(rusqlite::Error) -> EvidenceError {
    EvidenceError::query(what)
}

/// Every family, from the store at `db` (and `live` for `run --listen`).
pub fn render(
    conn: &Connection,
    db: &Path,
    live: Option<&LiveStats>,
    now_ms: i64,
) -> Result<Vec<u8>, EvidenceError> {
    let mut out = Exposition::default();

    let mut by_outcome: Vec<(String, i64)> = conn
        .prepare_cached("SELECT outcome, count(*) FROM runs WHERE outcome IS NOT NULL GROUP BY outcome")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(query("counting runs"))?;
    by_outcome.sort();
    out.family(
        "flowforge_runs_total",
        "counter",
        "Runs that have ended, by outcome.",
    );
    for (outcome, count) in &by_outcome {
        out.sample("flowforge_runs_total", &[("outcome", outcome)], *count as f64);
    }

    let unfinished: Vec<RunRecord> = conn
        .prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ended_at_ms IS NULL"
        ))
        .and_then(|mut s| s.query_map([], run_record)?.collect())
        .map_err(query("reading unfinished runs"))?;
    let (mut running, mut lost) = (0, 0);
    for run in &unfinished {
        match store::state_of(db, run, now_ms) {
            RunState::Running => running += 1,
            RunState::Lost => lost += 1,
            RunState::Ended => {}
        }
    }
    out.family(
        "flowforge_live_runs",
        "gauge",
        "Runs without a recorded end: running, or lost (FlowForge died without recording the end).",
    );
    out.sample("flowforge_live_runs", &[("state", "running")], f64::from(running));
    out.sample("flowforge_live_runs", &[("state", "lost")], f64::from(lost));

    let decisions: Vec<(String, Option<String>, String, Option<f64>)> = conn
        .prepare_cached(
            "SELECT e.kind, json_extract(e.payload, '$.verdict'), r.mode,
                    json_extract(e.payload, '$.confidence')
             FROM events e JOIN runs r ON r.id = e.run_id WHERE e.category = 'decision'",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .map_err(query("reading decisions"))?;
    let mut interventions: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut confidences = Vec::new();
    for (kind, verdict, mode, confidence) in &decisions {
        let action = match (kind.as_str(), verdict.as_deref()) {
            (_, Some("alert")) => "alert",
            ("user_kill", _) => "kill",
            ("user_restart", _) => "restart",
            _ => mode.as_str(),
        };
        *interventions
            .entry((action.to_string(), kind.clone()))
            .or_default() += 1;
        confidences.extend(*confidence);
    }
    out.family(
        "flowforge_interventions_total",
        "counter",
        "Interventions decided, by action (kill, restart, alert) and reason kind (runaway, timeout, max_rss, idle_timeout, user_kill, ...).",
    );
    for ((action, reason), count) in &interventions {
        out.sample(
            "flowforge_interventions_total",
            &[("action", action), ("reason", reason)],
            *count as f64,
        );
    }

    let restarts: i64 = conn
        .prepare_cached("SELECT count(*) FROM events WHERE category = 'action' AND kind = 'restart'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(query("counting restarts"))?;
    out.family(
        "flowforge_restarts_total",
        "counter",
        "Restarts of a command after a stop.",
    );
    out.sample("flowforge_restarts_total", &[], restarts as f64);

    out.histogram(
        "flowforge_decision_confidence",
        "Confidence of the detector's runaway decisions (0 to 1).",
        &CONFIDENCE_BUCKETS,
        &confidences,
    );

    let durations: Vec<f64> = conn
        .prepare_cached("SELECT ended_at_ms - started_at_ms FROM runs WHERE ended_at_ms IS NOT NULL")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<i64>, _>>()
        })
        .map_err(query("reading run durations"))?
        .into_iter()
        .map(|ms| ms.max(0) as f64 / 1000.0)
        .collect();
    out.histogram(
        "flowforge_run_duration_seconds",
        "Wall-clock duration of ended runs.",
        &DURATION_BUCKETS,
        &durations,
    );

    if let Some(live) = live {
        render_live(&mut out, live);
    }
    Ok(out.into_bytes())
}

/// The families only `run --listen` has: the supervised tree right now.
fn render_live(out: &mut Exposition, live: &LiveStats) {
    let load = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed) as f64;
    out.family(
        "flowforge_run_cpu_seconds_total",
        "counter",
        "CPU time used by the supervised process tree.",
    );
    out.sample(
        "flowforge_run_cpu_seconds_total",
        &[],
        load(&live.cpu_micros) / 1e6,
    );
    out.family(
        "flowforge_run_rss_bytes",
        "gauge",
        "Resident memory of the supervised process tree.",
    );
    out.sample("flowforge_run_rss_bytes", &[], load(&live.rss_bytes));
    out.family(
        "flowforge_run_processes",
        "gauge",
        "Live processes in the supervised tree.",
    );
    out.sample("flowforge_run_processes", &[], load(&live.processes));
    out.family(
        "flowforge_run_output_bytes_total",
        "counter",
        "Bytes the command wrote, by stream.",
    );
    out.sample(
        "flowforge_run_output_bytes_total",
        &[("stream", "stdout")],
        load(&live.stdout_bytes),
    );
    out.sample(
        "flowforge_run_output_bytes_total",
        &[("stream", "stderr")],
        load(&live.stderr_bytes),
    );
    out.family(
        "flowforge_run_output_lines_total",
        "counter",
        "Lines the command wrote, both streams.",
    );
    out.sample("flowforge_run_output_lines_total", &[], load(&live.lines));
    out.family(
        "flowforge_samples_dropped_total",
        "counter",
        "Samples the evidence writer dropped because it was behind (events are never dropped).",
    );
    out.sample(
        "flowforge_samples_dropped_total",
        &[],
        load(&live.samples_dropped),
    );
    out.family(
        "flowforge_run_running",
        "gauge",
        "1 while the supervised command runs.",
    );
    out.sample(
        "flowforge_run_running",
        &[],
        f64::from(u8::from(live.running.load(Ordering::Relaxed))),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_with_inf() {
        let mut out = Exposition::default();
        out.histogram("x_seconds", "help", &[1.0, 10.0], &[0.5, 2.0, 20.0]);
        let text = String::from_utf8(out.into_bytes()).expect("utf-8");
        assert!(text.contains("x_seconds_bucket{le=\"1\"} 1\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("x_seconds_sum 22.5\n"), "{text}");
        assert!(text.contains("x_seconds_count 3\n"), "{text}");
    }

    #[test]
    fn labels_are_escaped() {
        let mut out = Exposition::default();
        out.sample("m", &[("a", "q\"b\\n\nx")], 1.0);
        assert_eq!(
            String::from_utf8(out.into_bytes()).expect("utf-8"),
            "m{a=\"q\\\"b\\\\n\\nx\"} 1\n"
        );
    }
}
