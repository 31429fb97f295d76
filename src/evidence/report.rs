//! What the CLI prints from the evidence: `flowforge runs`, `show` and `events`.
//!
//! Each command is a function of a connection and its arguments that writes to a
//! `&mut dyn Write`, so `main` wires stdout (and treats a broken pipe as a normal end, see
//! `EvidenceError::is_broken_pipe`) and tests capture a `Vec<u8>`. The JSON forms are for
//! scripts and keep their field names stable; the human forms are for someone asking "what
//! happened to my job?", so `show` tells the run as a story: the command, when and how
//! long, each decision, action and outcome with its message and key numbers, what came of
//! it, and a CPU/RSS summary from the samples.
//!
//! `events --follow` polls every 250 ms for rows with a larger id than the last printed,
//! which WAL makes cheap and safe next to a running writer. Following one run stops once
//! that run has ended: the writer commits the run's end in the same transaction as its
//! last events, so reading the events after seeing the end misses nothing.

use super::error::EvidenceError;
use super::event::now_ms;
use super::ndjson::{human_bytes, human_duration, rfc3339_ms, rfc3339_s, EventRecord};
use super::{RunId, RunRef};
use crate::units::plural;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

const FOLLOW_POLL: Duration = Duration::from_millis(250);
const PAGE: i64 = 1000;
const COMMAND_WIDTH: usize = 60;
const SPARK_WIDTH: usize = 40;

/// One `runs` row as `flowforge runs --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub id: i64,
    pub argv: Vec<String>,
    pub cwd: String,
    pub started_at_ms: i64,
    pub started_at: String,
    pub ended_at_ms: Option<i64>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub pid: Option<i64>,
    pub mode: String,
    pub exit_code: Option<i64>,
    /// `null` while the run is going (or if FlowForge died before writing its end).
    pub outcome: Option<String>,
    pub flowforge_version: String,
    /// `on`, `off` (`--no-redact`), or `null` for a run recorded before redaction existed.
    pub redaction: Option<String>,
}

pub(crate) const RUN_COLUMNS: &str = "id, argv, cwd, started_at_ms, ended_at_ms, pid, mode, exit_code, \
                           outcome, flowforge_version, redaction";

pub(crate) fn run_record(row: &Row) -> rusqlite::Result<RunRecord> {
    let argv: String = row.get(1)?;
    let started_at_ms: i64 = row.get(3)?;
    let ended_at_ms: Option<i64> = row.get(4)?;
    Ok(RunRecord {
        id: row.get(0)?,
        argv: serde_json::from_str(&argv).unwrap_or_else(|_| vec![argv]),
        cwd: row.get(2)?,
        started_at_ms,
        started_at: rfc3339_ms(started_at_ms),
        ended_at_ms,
        ended_at: ended_at_ms.map(rfc3339_ms),
        duration_ms: ended_at_ms.map(|end| end - started_at_ms),
        pid: row.get(5)?,
        mode: row.get(6)?,
        exit_code: row.get(7)?,
        outcome: row.get(8)?,
        flowforge_version: row.get(9)?,
        redaction: row.get(10)?,
    })
}

pub(crate) fn event_record(row: &Row) -> rusqlite::Result<EventRecord> {
    let at_ms: i64 = row.get(2)?;
    let payload: String = row.get(7)?;
    Ok(EventRecord {
        id: Some(row.get(0)?),
        run_id: Some(row.get(1)?),
        at_ms,
        at: rfc3339_ms(at_ms),
        category: row.get(3)?,
        kind: row.get(4)?,
        actor: row.get(5)?,
        message: row.get(6)?,
        payload: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
    })
}

/// The run a `RunRef` names; `Last` is the most recently recorded run.
pub fn resolve_run(conn: &Connection, run: RunRef) -> Result<RunId, EvidenceError> {
    match run {
        RunRef::Id(id) => conn
            .query_row("SELECT id FROM runs WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .map_err(EvidenceError::query("looking up the run"))?
            .map(RunId)
            .ok_or(EvidenceError::NoRun(id)),
        RunRef::Last => conn
            .query_row("SELECT max(id) FROM runs", [], |r| r.get::<_, Option<i64>>(0))
            .map_err(EvidenceError::query("looking up the last run"))?
            .map(RunId)
            .ok_or(EvidenceError::NoRuns),
    }
}

pub(super) fn load_run(conn: &Connection, id: RunId) -> Result<RunRecord, EvidenceError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
    conn.query_row(&sql, params![id.0], run_record)
        .optional()
        .map_err(EvidenceError::query("reading the run"))?
        .ok_or(EvidenceError::NoRun(id.0))
}

/// `flowforge runs`: the latest `limit` runs, newest first, as a table or a JSON array.
pub fn runs(conn: &Connection, limit: usize, json: bool, out: &mut dyn Write) -> Result<(), EvidenceError> {
    let fail = EvidenceError::query("listing runs");
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?1");
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare(&sql).map_err(EvidenceError::query("listing runs"))?;
    let rows: Vec<RunRecord> = stmt
        .query_map(params![limit], run_record)
        .and_then(|rows| rows.collect())
        .map_err(fail)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>5}  {:<20}  {:>8}  {:<10}  {:>4}  COMMAND",
        "ID", "STARTED", "DURATION", "OUTCOME", "EXIT"
    )?;
    for run in &rows {
        let duration = run.duration_ms.map_or_else(|| "-".to_string(), human_duration);
        let exit = run.exit_code.map_or_else(|| "-".to_string(), |c| c.to_string());
        writeln!(
            out,
            "{:>5}  {:<20}  {:>8}  {:<10}  {:>4}  {}",
            run.id,
            rfc3339_s(run.started_at_ms),
            duration,
            run.outcome.as_deref().unwrap_or("running"),
            exit,
            truncate(&command_line(&run.argv), COMMAND_WIDTH)
        )?;
    }
    Ok(())
}

/// `flowforge show RUN`: the run's story for a human.
pub fn show(conn: &Connection, run: RunRef, out: &mut dyn Write) -> Result<(), EvidenceError> {
    let id = resolve_run(conn, run)?;
    let run = load_run(conn, id)?;
    writeln!(out, "run {}: {}", run.id, command_line(&run.argv))?;
    writeln!(out, "  in       {}", run.cwd)?;
    let pid = run.pid.map_or_else(String::new, |p| format!(", pid {p}"));
    writeln!(
        out,
        "  started  {} (mode {}{pid}, flowforge {})",
        rfc3339_s(run.started_at_ms),
        run.mode,
        run.flowforge_version
    )?;
    match (run.ended_at_ms, &run.outcome) {
        (Some(end), Some(outcome)) => writeln!(
            out,
            "  ended    {} after {}: {outcome}{}",
            rfc3339_s(end),
            human_duration(end - run.started_at_ms),
            run.exit_code.map_or_else(String::new, |c| format!(", exit {c}"))
        )?,
        _ => writeln!(
            out,
            "  ended    not yet ({} since the start; still running, or flowforge died)",
            human_duration(now_ms() - run.started_at_ms)
        )?,
    }

    let events = run_events(conn, id, 0, i64::MAX)?;
    writeln!(out, "what happened")?;
    if events.is_empty() {
        writeln!(out, "  nothing was recorded")?;
    }
    for e in &events {
        let numbers = key_numbers(&e.payload);
        let offset = format!("+{}", human_duration(e.at_ms - run.started_at_ms));
        let what = format!("{}/{}", e.category, e.kind);
        writeln!(
            out,
            "  {offset:<8} {what:<22} {:<10}  {}{}",
            e.actor, e.message, numbers
        )?;
        if e.category == "decision" {
            write_excerpt(&e.payload, out)?;
        }
    }
    let count = |category: &str| events.iter().filter(|e| e.category == category).count() as u64;
    let (decisions, actions) = (count("decision"), count("action"));
    let ending = match (&run.outcome, run.exit_code) {
        (Some(outcome), Some(code)) => format!("the run ended {outcome} with exit {code}"),
        (Some(outcome), None) => format!("the run ended {outcome}"),
        (None, _) => "the run has no recorded end".to_string(),
    };
    if decisions + actions == 0 {
        writeln!(out, "what came of it\n  no intervention; {ending}")?;
    } else {
        writeln!(
            out,
            "what came of it\n  flowforge intervened ({}, {}, {}); {ending}",
            plural(decisions, "decision"),
            plural(actions, "action"),
            plural(count("outcome"), "outcome")
        )?;
    }
    write_resources(conn, id, out)
}

/// Under a decision: the repeating lines it recorded and the last lines before the stop.
fn write_excerpt(payload: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    const INDENT: &str = "           ";
    if let Some(cycle) = payload.get("cycle").and_then(Value::as_array) {
        let period = payload.get("period").and_then(Value::as_u64).unwrap_or(0);
        let shape = match period {
            1 => "the repeating line".to_string(),
            n => format!("the repeating lines ({n}-line cycle)"),
        };
        let partial = if payload.get("cycle_complete") == Some(&Value::Bool(false)) {
            format!(", last {} shown", cycle.len())
        } else {
            String::new()
        };
        writeln!(out, "{INDENT}{shape}{partial}:")?;
        write_excerpt_lines(cycle, out)?;
    }
    if let Some(last) = payload.get("last_lines").and_then(Value::as_array) {
        if !last.is_empty() {
            writeln!(out, "{INDENT}last lines before the stop:")?;
            write_excerpt_lines(last, out)?;
        }
    }
    Ok(())
}

fn write_excerpt_lines(lines: &[Value], out: &mut dyn Write) -> std::io::Result<()> {
    for line in lines {
        let stream = line.get("stream").and_then(Value::as_str).unwrap_or("?");
        let text = line.get("line").and_then(Value::as_str).unwrap_or("");
        let cut = if line.get("cut") == Some(&Value::Bool(true)) {
            " …"
        } else {
            ""
        };
        writeln!(out, "             {stream:<6} | {}{cut}", printable(text))?;
    }
    Ok(())
}

/// Control characters escaped, so a recorded line cannot drive the reader's terminal (or
/// a CI log viewer: the job summary uses it too).
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if c.is_control() {
                Box::new(c.escape_default())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect()
}

/// The CPU/RSS summary of a run's samples, as `show` prints it.
struct SampleSummary {
    count: i64,
    cpu_peak: f64,
    cpu_mean: f64,
    rss_peak: f64,
    rss_mean: f64,
    processes_peak: i64,
    stdout_bytes: i64,
    stderr_bytes: i64,
    lines: i64,
    span_ms: i64,
}

fn sample_summary(conn: &Connection, id: RunId) -> Result<SampleSummary, EvidenceError> {
    conn.query_row(
        "SELECT count(*), coalesce(max(cpu_percent), 0.0), coalesce(avg(cpu_percent), 0.0),
                coalesce(max(rss_bytes), 0), coalesce(avg(rss_bytes), 0.0),
                coalesce(max(processes), 0), coalesce(sum(stdout_bytes), 0),
                coalesce(sum(stderr_bytes), 0), coalesce(sum(lines), 0),
                coalesce(max(at_ms) - min(at_ms), 0)
         FROM samples WHERE run_id = ?1",
        params![id.0],
        |r| {
            Ok(SampleSummary {
                count: r.get(0)?,
                cpu_peak: r.get(1)?,
                cpu_mean: r.get(2)?,
                rss_peak: r.get(3)?,
                rss_mean: r.get(4)?,
                processes_peak: r.get(5)?,
                stdout_bytes: r.get(6)?,
                stderr_bytes: r.get(7)?,
                lines: r.get(8)?,
                span_ms: r.get(9)?,
            })
        },
    )
    .map_err(EvidenceError::query("summarising samples"))
}

fn write_resources(conn: &Connection, id: RunId, out: &mut dyn Write) -> Result<(), EvidenceError> {
    let s = sample_summary(conn, id)?;
    if s.count == 0 {
        writeln!(out, "resources\n  no samples recorded")?;
        return Ok(());
    }
    writeln!(
        out,
        "resources ({} samples over {})",
        s.count,
        human_duration(s.span_ms)
    )?;
    let cpu: Vec<f64> = conn
        .prepare("SELECT cpu_percent FROM samples WHERE run_id = ?1 ORDER BY at_ms")
        .and_then(|mut stmt| stmt.query_map(params![id.0], |r| r.get(0))?.collect())
        .map_err(EvidenceError::query("reading samples"))?;
    writeln!(
        out,
        "  cpu        peak {:.1} %  mean {:.1} %  {}",
        s.cpu_peak,
        s.cpu_mean,
        sparkline(&cpu, SPARK_WIDTH)
    )?;
    writeln!(
        out,
        "  memory     peak {}  mean {}",
        human_bytes(s.rss_peak),
        human_bytes(s.rss_mean)
    )?;
    writeln!(out, "  processes  peak {}", s.processes_peak)?;
    writeln!(
        out,
        "  output     {} stdout, {} stderr, {} lines",
        human_bytes(s.stdout_bytes as f64),
        human_bytes(s.stderr_bytes as f64),
        s.lines
    )?;
    Ok(())
}

fn run_events(
    conn: &Connection,
    id: RunId,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, EvidenceError> {
    conn.prepare_cached(
        "SELECT id, run_id, at_ms, category, kind, actor, message, payload FROM events
         WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    )
    .and_then(|mut s| s.query_map(params![id.0, after, limit], event_record)?.collect())
    .map_err(EvidenceError::query("reading events"))
}

fn all_events(conn: &Connection, after: i64, limit: i64) -> Result<Vec<EventRecord>, EvidenceError> {
    conn.prepare_cached(
        "SELECT id, run_id, at_ms, category, kind, actor, message, payload FROM events
         WHERE id > ?1 ORDER BY id LIMIT ?2",
    )
    .and_then(|mut s| s.query_map(params![after, limit], event_record)?.collect())
    .map_err(EvidenceError::query("reading events"))
}

/// `flowforge events [RUN] [--json] [--follow]`; following ends only with the run, or
/// when the process is interrupted.
pub fn events(
    conn: &Connection,
    run: Option<RunRef>,
    json: bool,
    follow: bool,
    out: &mut dyn Write,
) -> Result<(), EvidenceError> {
    events_until(conn, run, json, follow, &AtomicBool::new(false), out)
}

/// [`events`] that also stops following once `stop` is set (for a signal handler's flag).
pub fn events_until(
    conn: &Connection,
    run: Option<RunRef>,
    json: bool,
    follow: bool,
    stop: &AtomicBool,
    out: &mut dyn Write,
) -> Result<(), EvidenceError> {
    let run_id = run.map(|r| resolve_run(conn, r)).transpose()?;
    let mut last_id = 0;
    loop {
        // Read the end before the events: the end commits with the run's last events.
        let ended = match run_id {
            Some(id) => run_ended(conn, id)?,
            None => false,
        };
        loop {
            let page = match run_id {
                Some(id) => run_events(conn, id, last_id, PAGE)?,
                None => all_events(conn, last_id, PAGE)?,
            };
            for e in &page {
                if json {
                    e.write_line(out)?;
                } else {
                    write_event_line(e, out)?;
                }
                last_id = e.id.unwrap_or(last_id);
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        out.flush()?;
        if !follow || ended || stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        thread::sleep(FOLLOW_POLL);
    }
}

fn run_ended(conn: &Connection, id: RunId) -> Result<bool, EvidenceError> {
    conn.query_row(
        "SELECT ended_at_ms IS NOT NULL FROM runs WHERE id = ?1",
        params![id.0],
        |r| r.get(0),
    )
    .optional()
    .map_err(EvidenceError::query("checking the run's end"))
    // A run pruned while we follow it has ended too.
    .map(|ended| ended.unwrap_or(true))
}

fn write_event_line(e: &EventRecord, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  run {}  {}/{}  {}  {}{}",
        e.at,
        e.run_id.unwrap_or(0),
        e.category,
        e.kind,
        e.actor,
        e.message,
        key_numbers(&e.payload)
    )
}

/// `  repeats=120 cpu_percent=97.5`: the scalar fields of a payload object, for humans.
fn key_numbers(payload: &Value) -> String {
    let Some(map) = payload.as_object() else {
        return String::new();
    };
    let mut text = String::new();
    for (key, value) in map
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .take(8)
    {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!("  {key}={value}"));
    }
    text
}

/// The command as a shell would accept it back: plain words bare, others single-quoted.
fn command_line(argv: &[String]) -> String {
    let quote = |arg: &String| {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
        if plain {
            arg.clone()
        } else {
            format!("'{}'", arg.replace('\'', "'\\''"))
        }
    };
    argv.iter().map(quote).collect::<Vec<_>>().join(" ")
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// At most `width` bars, each the peak of its share of the series, scaled to the overall
/// peak, so a short spike stays visible.
fn sparkline(series: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if series.is_empty() || width == 0 {
        return String::new();
    }
    let buckets = width.min(series.len());
    let peaks: Vec<f64> = (0..buckets)
        .map(|b| {
            let (from, to) = (b * series.len() / buckets, (b + 1) * series.len() / buckets);
            series[from..to].iter().copied().fold(0.0, f64::max)
        })
        .collect();
    let top = peaks.iter().copied().fold(0.0, f64::max);
    peaks
        .iter()
        .map(|p| {
            if top <= 0.0 {
                BARS[0]
            } else {
                BARS[((p / top) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
