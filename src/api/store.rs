//! What the API reads from the evidence store, and the one row it writes.
//!
//! Each worker thread keeps its own connection (WAL lets them read beside a recording run).
//! A run's `state` is not a column: a row without an end is `running` while its control
//! socket accepts connections (or it started moments ago, or its pid is alive), and `lost`
//! otherwise — a FlowForge that was SIGKILLed or lost its machine never writes its end, and
//! a dashboard must not show it running forever. Deriving it keeps the schema unchanged.
//!
//! The one write is the `control` event a kill or restart request leaves (actor `user`),
//! inserted here so the 202 can carry its id; the run records the rest.

use crate::act::control;
use crate::evidence::ndjson::EventRecord;
use crate::evidence::report::{event_record, run_record, RunRecord, RUN_COLUMNS};
use crate::evidence::EvidenceError;
use flowforge_platform::kill::{self, Target};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// A run without its end this young is `running` even if its socket is not up yet.
const STARTING_GRACE_MS: i64 = 10_000;
/// Unfinished runs examined for a state filter (they are few: those running, and the lost).
const MAX_UNFINISHED_SCAN: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Ended,
    Lost,
}

impl RunState {
    pub fn parse(text: &str) -> Option<RunState> {
        match text {
            "running" => Some(RunState::Running),
            "ended" => Some(RunState::Ended),
            "lost" => Some(RunState::Lost),
            _ => None,
        }
    }
}

/// A run as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    #[serde(flatten)]
    pub run: RunRecord,
    pub state: RunState,
    /// The message of the run's latest decision or alert: why FlowForge intervened, in
    /// one line, for the runs list. `null` when it never did.
    pub reason: Option<String>,
    /// Restarts FlowForge made of this run's command (`--action restart` or a user).
    pub restarts: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleView {
    pub id: i64,
    pub at_ms: i64,
    pub cpu_percent: f64,
    pub rss_bytes: i64,
    pub processes: i64,
    pub stdout_bytes: i64,
    pub stderr_bytes: i64,
    pub lines: i64,
}

fn query(what: &'static str) -> impl FnOnce(rusqlite::Error) -> EvidenceError {
    EvidenceError::query(what)
}

/// The state of `run` now.
pub fn state_of(db: &Path, run: &RunRecord, now_ms: i64) -> RunState {
    if run.ended_at_ms.is_some() {
        return RunState::Ended;
    }
    if control::connect(&control::socket_path(db, run.id)).is_ok() {
        return RunState::Running;
    }
    if now_ms - run.started_at_ms < STARTING_GRACE_MS {
        return RunState::Running;
    }
    let pid_alive = run
        .pid
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p > 1)
        .is_some_and(|p| kill::send(Target::Process(p), 0).unwrap_or(true));
    if pid_alive {
        RunState::Running
    } else {
        RunState::Lost
    }
}

pub fn view(conn: &Connection, db: &Path, run: RunRecord, now_ms: i64) -> RunView {
    // Two range scans on events_run (run_id, id); a missing answer reads as "none".
    let reason = conn
        .prepare_cached(
            "SELECT message FROM events WHERE run_id = ?1 AND category IN ('decision', 'alert') \
             ORDER BY id DESC LIMIT 1",
        )
        .and_then(|mut stmt| stmt.query_row([run.id], |row| row.get(0)).optional())
        .ok()
        .flatten();
    let restarts = conn
        .prepare_cached(
            "SELECT count(*) FROM events WHERE run_id = ?1 AND category = 'action' AND kind = 'restart'",
        )
        .and_then(|mut stmt| stmt.query_row([run.id], |row| row.get(0)))
        .unwrap_or(0);
    RunView {
        state: state_of(db, &run, now_ms),
        reason,
        restarts,
        run,
    }
}

/// Runs newest first, below `before`, filtered; `limit + 1` rows are read to know whether
/// a next page exists.
pub fn list_runs(
    conn: &Connection,
    db: &Path,
    state: Option<RunState>,
    outcome: Option<&str>,
    before: i64,
    limit: i64,
    now_ms: i64,
) -> Result<(Vec<RunView>, bool), EvidenceError> {
    let ended_clause = match state {
        None => "",
        Some(RunState::Ended) => "AND ended_at_ms IS NOT NULL",
        Some(RunState::Running | RunState::Lost) => "AND ended_at_ms IS NULL",
    };
    let outcome_clause = if outcome.is_some() {
        "AND outcome = ?3"
    } else {
        "AND ?3 IS NULL"
    };
    let scan = match state {
        Some(RunState::Running | RunState::Lost) => MAX_UNFINISHED_SCAN,
        _ => limit + 1,
    };
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE id < ?1 {ended_clause} {outcome_clause} ORDER BY id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(query("listing runs"))?;
    let rows: Vec<RunRecord> = stmt
        .query_map(params![before, scan, outcome], run_record)
        .and_then(|rows| rows.collect())
        .map_err(query("listing runs"))?;
    let mut views: Vec<RunView> = rows
        .into_iter()
        .filter(|run| state.is_none_or(|s| state_of(db, run, now_ms) == s))
        .take(usize::try_from(limit + 1).unwrap_or(usize::MAX))
        .map(|run| view(conn, db, run, now_ms))
        .collect();
    let more = views.len() as i64 > limit;
    views.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((views, more))
}

pub fn get_run(conn: &Connection, id: i64) -> Result<Option<RunRecord>, EvidenceError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params![id], run_record).optional())
        .map_err(query("reading the run"))
}

/// Events after `after` in id order, of one run or of all.
pub fn events(
    conn: &Connection,
    run: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, EvidenceError> {
    const COLUMNS: &str = "id, run_id, at_ms, category, kind, actor, message, payload";
    let result = match run {
        Some(run) => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
            ))
            .and_then(|mut s| s.query_map(params![run, after, limit], event_record)?.collect()),
        None => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))
            .and_then(|mut s| s.query_map(params![after, limit], event_record)?.collect()),
    };
    result.map_err(query("reading events"))
}

/// Whether an event newer than `after` exists (the long poll's cheap question).
pub fn has_events_after(conn: &Connection, run: Option<i64>, after: i64) -> Result<bool, EvidenceError> {
    let result = match run {
        Some(run) => conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM events WHERE run_id = ?1 AND id > ?2)")
            .and_then(|mut s| s.query_row(params![run, after], |r| r.get(0))),
        None => conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM events WHERE id > ?1)")
            .and_then(|mut s| s.query_row(params![after], |r| r.get(0))),
    };
    result.map_err(query("checking for new events"))
}

pub fn samples(
    conn: &Connection,
    run: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<SampleView>, EvidenceError> {
    conn.prepare_cached(
        "SELECT rowid, at_ms, cpu_percent, rss_bytes, processes, stdout_bytes, stderr_bytes, lines
         FROM samples WHERE run_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3",
    )
    .and_then(|mut s| {
        s.query_map(params![run, after, limit], |r| {
            Ok(SampleView {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                cpu_percent: r.get(2)?,
                rss_bytes: r.get(3)?,
                processes: r.get(4)?,
                stdout_bytes: r.get(5)?,
                stderr_bytes: r.get(6)?,
                lines: r.get(7)?,
            })
        })?
        .collect()
    })
    .map_err(query("reading samples"))
}

/// Records a user's request as a `control` event and returns its id.
pub fn insert_control_event(
    conn: &Connection,
    run: i64,
    kind: &str,
    message: &str,
    payload: &Value,
    at_ms: i64,
) -> Result<i64, EvidenceError> {
    // A user's reason is free text: redacted like everything else that is stored, and
    // appended to the run's hash chain like the run's own events, so an export verifies.
    let mut event = crate::evidence::Event {
        at_ms,
        category: crate::evidence::Category::Control,
        kind: kind.to_string(),
        actor: crate::evidence::Actor::User,
        message: message.to_string(),
        payload: payload.clone(),
    };
    crate::evidence::redact::redact_event(&mut event);
    crate::evidence::append_event(conn, crate::evidence::RunId(run), &event)
        .map_err(query("recording the control request"))
}
