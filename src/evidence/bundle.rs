//! `flowforge export` and `flowforge verify`: a run's evidence as one file anyone can check.
//!
//! A bundle is NDJSON. Line 1 is the manifest: `{"flowforge_bundle": 1, "tool",
//! "tool_version", "exported_at", "run": {…the runs row…}, "redaction", "events": N,
//! "chain_head"}`. Each following line is one event in the shape of `flowforge events
//! --json` plus `prev_hash` and `hash`, in the order of the chain. Export writes the hashes
//! stored in the database, never recomputed ones, so a row edited in the file behind
//! SQLite's back shows up in the bundle as an event that does not match its hash, and a
//! deleted row as an event whose `prev_hash` is not the hash before it.
//!
//! `verify` recomputes everything from the bundle alone: the genesis from the manifest's
//! run, each event's hash from the one before and the event's canonical JSON, and at the
//! end the count and head against the manifest. It names the first event that breaks the
//! chain and why — changed (its content does not match its hash), removed, inserted or moved
//! (it does not follow the event before it), cut (a line that is not JSON), or missing at
//! the end (fewer events, or another head, than the manifest says). What this does and does
//! not prove is in THREAT_MODEL.md: anyone can recompute a whole chain, so a bundle proves
//! nothing by itself; its head, sent elsewhere at the time, is what pins the record.

use super::chain::{self, Link, RunStart};
use super::error::EvidenceError;
use super::event::now_ms;
use super::ndjson::{rfc3339_ms, EventRecord};
use super::report::{event_record, load_run, resolve_run, RunRecord};
use super::sha256::Digest;
use super::RunRef;
use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{BufRead, Write};

/// The bundle format this FlowForge writes and reads.
pub const BUNDLE_VERSION: u64 = 1;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub run_id: i64,
    pub events: usize,
    /// `None` when the run has no chained event (recorded before FlowForge kept a chain).
    pub chain_head: Option<String>,
    /// Events without a stored hash.
    pub unchained: usize,
}

/// One event line of a bundle.
#[derive(Serialize)]
struct BundleEvent<'a> {
    #[serde(flatten)]
    event: &'a EventRecord,
    prev_hash: Option<&'a str>,
    hash: Option<&'a str>,
}

/// `flowforge export RUN`: the manifest and every event of the run, in chain order.
pub fn export(conn: &Connection, run: RunRef, out: &mut dyn Write) -> Result<Exported, EvidenceError> {
    let id = resolve_run(conn, run)?;
    let run = load_run(conn, id)?;
    type Row = (EventRecord, Option<String>, Option<String>);
    let rows: Vec<Row> = conn
        .prepare(
            "SELECT id, run_id, at_ms, category, kind, actor, message, payload, hash, prev_hash
             FROM events WHERE run_id = ?1 ORDER BY id",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![id.0], |row| {
                Ok((event_record(row)?, row.get(8)?, row.get(9)?))
            })?
            .collect()
        })
        .map_err(EvidenceError::query("reading the run's events"))?;
    let head = rows.iter().rev().find_map(|(_, hash, _)| hash.clone());
    let manifest = json!({
        "flowforge_bundle": BUNDLE_VERSION,
        "tool": "flowforge",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "exported_at": rfc3339_ms(now_ms()),
        "run": run,
        "redaction": run.redaction,
        "events": rows.len(),
        "chain_head": head,
    });
    serde_json::to_writer(&mut *out, &manifest).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    for (event, hash, prev_hash) in &rows {
        let line = BundleEvent {
            event,
            prev_hash: prev_hash.as_deref(),
            hash: hash.as_deref(),
        };
        serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(Exported {
        run_id: id.0,
        events: rows.len(),
        chain_head: head,
        unchained: rows.iter().filter(|(_, hash, _)| hash.is_none()).count(),
    })
}

fn run_start(run: &RunRecord) -> RunStart {
    RunStart {
        id: run.id,
        argv: run.argv.clone(),
        cwd: run.cwd.clone(),
        started_at_ms: run.started_at_ms,
        mode: run.mode.clone(),
        flowforge_version: run.flowforge_version.clone(),
        redaction: run.redaction.clone(),
    }
}

/// The verdict of `flowforge verify`.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every event follows the one before and the manifest's count and head match.
    Intact {
        run_id: i64,
        events: usize,
        chain_head: String,
        tool_version: String,
        redaction: Option<String>,
    },
    /// The first event (1-based, in bundle order; 0 for the manifest itself) that breaks the
    /// chain, its row id when the line says one, and why.
    Broken {
        event: usize,
        id: Option<i64>,
        why: String,
    },
    /// The file is not a bundle at all.
    NotABundle(String),
}

impl Verdict {
    /// The exit status of `flowforge verify`: 0 intact, 1 broken, 2 not a bundle.
    pub fn exit_code(&self) -> i32 {
        match self {
            Verdict::Intact { .. } => 0,
            Verdict::Broken { .. } => 1,
            Verdict::NotABundle(_) => 2,
        }
    }
}

fn broken(event: usize, id: Option<i64>, why: impl Into<String>) -> Verdict {
    Verdict::Broken {
        event,
        id,
        why: why.into(),
    }
}

/// The manifest's fields that verification needs.
struct Manifest {
    run: RunStart,
    events: usize,
    chain_head: Option<String>,
    tool_version: String,
    redaction: Option<String>,
}

fn manifest(line: &str) -> Result<Manifest, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("its first line is not JSON ({e})"))?;
    if value.get("flowforge_bundle").and_then(Value::as_u64) != Some(BUNDLE_VERSION) {
        return Err("its first line is not a flowforge bundle manifest".into());
    }
    let run: RunRecord = serde_json::from_value(value["run"].clone())
        .map_err(|e| format!("the manifest's run is not readable ({e})"))?;
    let events = value
        .get("events")
        .and_then(Value::as_u64)
        .ok_or("the manifest does not say how many events there are")?;
    Ok(Manifest {
        run: run_start(&run),
        events: usize::try_from(events).unwrap_or(usize::MAX),
        chain_head: value
            .get("chain_head")
            .and_then(Value::as_str)
            .map(str::to_string),
        tool_version: value
            .get("tool_version")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string(),
        redaction: run.redaction,
    })
}

/// One event line, checked against the hash it must follow; returns its own hash.
fn check_event(n: usize, line: &str, run_id: i64, prev: &Digest) -> Result<Digest, Verdict> {
    let value: Value = serde_json::from_str(line).map_err(|_| {
        broken(
            n,
            None,
            "its line is not a JSON event: the bundle was cut or edited here",
        )
    })?;
    let id = value.get("id").and_then(Value::as_i64);
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let (Some(row_id), Some(category), Some(kind), Some(actor), Some(message), Some(at_ms), Some(payload)) = (
        id,
        text("category"),
        text("kind"),
        text("actor"),
        text("message"),
        value.get("at_ms").and_then(Value::as_i64),
        value.get("payload"),
    ) else {
        return Err(broken(n, id, "it lacks a field of an event: it was edited"));
    };
    if text("at") != Some(rfc3339_ms(at_ms).as_str()) {
        return Err(broken(n, id, "its time does not match its at_ms: it was edited"));
    }
    if value.get("run_id").and_then(Value::as_i64) != Some(run_id) {
        return Err(broken(n, id, format!("it does not belong to run {run_id}")));
    }
    let Some(hash) = text("hash").and_then(chain::parse_hex) else {
        return Err(broken(
            n,
            id,
            "it has no hash: it was recorded before FlowForge kept a chain, or the hash was removed",
        ));
    };
    if text("prev_hash").and_then(chain::parse_hex) != Some(*prev) {
        if n == 1 {
            return Err(broken(
                n,
                id,
                "it does not follow the start of the manifest's run: the run (argv, cwd, start, \
                 mode, version or redaction) was edited, or the first event was removed",
            ));
        }
        return Err(broken(
            n,
            id,
            "it does not follow the event before it: an event was removed, inserted or moved here",
        ));
    }
    let payload = payload.to_string();
    let link = Link {
        id: row_id,
        run_id,
        at_ms,
        category,
        kind,
        actor,
        message,
        payload: &payload,
    };
    if link.hash(prev) != hash {
        return Err(broken(
            n,
            id,
            "its content does not match its hash: it was changed after it was recorded",
        ));
    }
    Ok(hash)
}

/// `flowforge verify`: recomputes the chain of a bundle read from `input`.
pub fn verify(input: &mut dyn BufRead) -> Verdict {
    let mut lines = input.split(b'\n');
    let first = match lines.next() {
        None => return Verdict::NotABundle("it is empty".into()),
        Some(Err(e)) => return Verdict::NotABundle(format!("it cannot be read ({e})")),
        Some(Ok(line)) => line,
    };
    let manifest = match std::str::from_utf8(&first)
        .map_err(|_| "its first line is not UTF-8".to_string())
        .and_then(manifest)
    {
        Ok(m) => m,
        Err(why) => return Verdict::NotABundle(why),
    };
    let mut prev = chain::genesis(&manifest.run);
    let mut count = 0;
    for line in lines {
        let line = match line {
            Ok(line) => line,
            Err(e) => return broken(count + 1, None, format!("the bundle cannot be read here ({e})")),
        };
        if line.is_empty() {
            continue;
        }
        count += 1;
        let Ok(text) = std::str::from_utf8(&line) else {
            return broken(count, None, "its line is not UTF-8: the bundle was edited here");
        };
        match check_event(count, text, manifest.run.id, &prev) {
            Ok(hash) => prev = hash,
            Err(verdict) => return verdict,
        }
    }
    let head = (count > 0).then(|| chain::hex(&prev));
    if count != manifest.events || head != manifest.chain_head {
        return broken(
            count + 1,
            None,
            format!(
                "the bundle ends after {count} events but its manifest records {} ending in {}: \
                 events are missing at the end (the file was truncated) or were appended",
                manifest.events,
                manifest.chain_head.as_deref().unwrap_or("no head")
            ),
        );
    }
    Verdict::Intact {
        run_id: manifest.run.id,
        events: count,
        chain_head: head.unwrap_or_default(),
        tool_version: manifest.tool_version,
        redaction: manifest.redaction,
    }
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
