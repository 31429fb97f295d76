//! Retention: `flowforge prune` and the automatic policy, the only paths by which evidence
//! is ever deleted.
//!
//! The automatic policy ([`Policy`], default: keep 30 days and at most 256 MiB) is applied
//! by a run's writer thread once the run has lasted a moment (see `batcher.rs`), never at
//! its start or its end, so it costs no run any time; each pass is bounded
//! ([`MAX_RUNS_PER_PASS`]) and what it deleted is recorded as an event of the run that did
//! it. Over the size cap the oldest ended runs go first; the running one never does.
//!
//! Events are append-only, enforced by triggers rather than by convention, so a bug or a
//! hand-typed `DELETE` cannot quietly rewrite what happened. Retention still has to exist,
//! so the delete triggers consult a one-row `retention_gate` table: deletes of `events`,
//! `samples` and `runs` are allowed only while it says `open = 1`. [`prune`] opens it,
//! deletes and closes it again inside one `BEGIN IMMEDIATE` transaction. Other connections
//! never see it open (isolation), and if anything fails the rollback restores it closed.
//! We preferred this to dropping and re-creating the triggers, which would put the schema
//! itself in play and leave it unprotected if a crash landed between the two.
//!
//! A run is old when it ended before the cutoff. A run that never ended (FlowForge was
//! killed) is old when it started before the cutoff and nothing was recorded for it since;
//! otherwise such runs would pile up forever. Freed pages go back to the file system with
//! `PRAGMA incremental_vacuum` (the schema is created with `auto_vacuum = INCREMENTAL`), so
//! no full `VACUUM` rewrites the database.

use super::error::EvidenceError;
use super::event::now_ms;
use crate::units::{format_duration, format_size, parse_duration, parse_size};
use rusqlite::{params, Connection, Transaction, TransactionBehavior};
use std::time::Duration;

/// Most runs one automatic pass deletes, so a pass stays short; the next run goes on.
pub const MAX_RUNS_PER_PASS: usize = 200;

/// The automatic retention policy (`--retention`, `FLOWFORGE_RETENTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Delete runs that ended longer ago than this.
    pub keep: Option<Duration>,
    /// Delete the oldest ended runs while the data in the file exceeds this many bytes.
    pub max_bytes: Option<u64>,
}

impl Policy {
    pub const DEFAULT: Policy = Policy {
        keep: Some(Duration::from_secs(30 * 24 * 3600)),
        max_bytes: Some(256 * 1024 * 1024),
    };

    /// `off`, or an age and/or a size separated by a comma: `30d`, `1G`, `7d,100M`.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let text = text.trim();
        let mut policy = Policy {
            keep: None,
            max_bytes: None,
        };
        if text == "off" {
            return Ok(policy);
        }
        for part in text.split(',').map(str::trim) {
            // Sizes end in an upper-case unit (256M, 1GiB); durations in a lower-case one (5m).
            let is_size = part.ends_with(|c: char| "KMGTB".contains(c));
            if is_size && policy.max_bytes.is_none() {
                policy.max_bytes = Some(parse_size(part)?);
            } else if !is_size && policy.keep.is_none() {
                policy.keep = Some(parse_duration(part)?);
            } else {
                return Err(format!("{part:?}: give at most one age and one size"));
            }
        }
        Ok(policy)
    }

    pub fn is_off(&self) -> bool {
        self.keep.is_none() && self.max_bytes.is_none()
    }

    /// As the user would write it.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            self.keep.map(|d| format!("keep {}", age_text(d))),
            self.max_bytes.map(|b| format!("at most {}", format_size(b))),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            "off".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Whole days or hours as written in the flag (`30d`), anything else as usual.
fn age_text(age: Duration) -> String {
    match age.as_secs() {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        _ => format_duration(age),
    }
}

/// Applies `policy` once, bounded: runs older than its age, then the oldest ended runs
/// while the file holds more than its size; `current` is never deleted.
pub fn apply(conn: &Connection, policy: &Policy, current: i64) -> Result<PruneReport, EvidenceError> {
    let fail = EvidenceError::query;
    let mut report = PruneReport::default();
    if let Some(keep) = policy.keep {
        let age = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
            .map_err(fail("starting retention"))?;
        let mut ids = old_runs(&tx, now_ms().saturating_sub(age)).map_err(fail("finding old runs"))?;
        ids.retain(|&id| id != current);
        ids.truncate(MAX_RUNS_PER_PASS);
        report.add(delete_runs(tx, &ids)?);
    }
    if let Some(max) = policy.max_bytes {
        while report.runs < MAX_RUNS_PER_PASS as u64 && used_bytes(conn).map_err(fail("measuring"))? > max {
            let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
                .map_err(fail("starting retention"))?;
            let ids = oldest_ended_runs(&tx, current, 10).map_err(fail("finding the oldest runs"))?;
            if ids.is_empty() {
                break;
            }
            report.add(delete_runs(tx, &ids)?);
        }
    }
    if report.runs > 0 {
        vacuum(conn);
    }
    Ok(report)
}

/// Bytes of the file in use (pages minus free pages).
fn used_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
    let used = pragma("page_count")? - pragma("freelist_count")?;
    Ok(used.max(0) as u64 * pragma("page_size")?.max(0) as u64)
}

fn oldest_ended_runs(conn: &Connection, current: i64, limit: usize) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM runs WHERE ended_at_ms IS NOT NULL AND id != ?1 ORDER BY ended_at_ms, id LIMIT ?2",
    )?;
    let ids = stmt.query_map(params![current, limit as i64], |row| row.get(0))?;
    ids.collect()
}

/// What [`prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub runs: u64,
    pub events: u64,
    pub samples: u64,
}

/// Deletes every run that ended more than `older_than` ago, with its events and samples.
pub fn prune(conn: &Connection, older_than: Duration) -> Result<PruneReport, EvidenceError> {
    let age = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    prune_before(conn, now_ms().saturating_sub(age))
}

/// [`prune`] with an explicit cutoff in milliseconds since the epoch.
pub fn prune_before(conn: &Connection, cutoff_ms: i64) -> Result<PruneReport, EvidenceError> {
    let fail = EvidenceError::query;
    let tx =
        Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(fail("starting prune"))?;
    let ids = old_runs(&tx, cutoff_ms).map_err(fail("finding old runs"))?;
    let report = delete_runs(tx, &ids)?;
    if report.runs > 0 {
        vacuum(conn);
    }
    log::debug!(
        "pruned {} runs, {} events, {} samples",
        report.runs,
        report.events,
        report.samples
    );
    Ok(report)
}

impl PruneReport {
    fn add(&mut self, other: PruneReport) {
        self.runs += other.runs;
        self.events += other.events;
        self.samples += other.samples;
    }
}

/// Deletes `ids` with their events and samples through the gate, and commits `tx`.
fn delete_runs(tx: Transaction<'_>, ids: &[i64]) -> Result<PruneReport, EvidenceError> {
    let fail = EvidenceError::query;
    let mut report = PruneReport::default();
    if ids.is_empty() {
        return Ok(report);
    }
    // INSERT OR REPLACE also restores a gate row someone deleted by hand.
    tx.execute(
        "INSERT OR REPLACE INTO retention_gate (id, open) VALUES (1, 1)",
        [],
    )
    .map_err(fail("opening the retention gate"))?;
    {
        let mut events = tx
            .prepare("DELETE FROM events WHERE run_id = ?1")
            .map_err(fail("preparing prune"))?;
        let mut samples = tx
            .prepare("DELETE FROM samples WHERE run_id = ?1")
            .map_err(fail("preparing prune"))?;
        let mut runs = tx
            .prepare("DELETE FROM runs WHERE id = ?1")
            .map_err(fail("preparing prune"))?;
        for id in ids {
            report.events += events.execute(params![id]).map_err(fail("deleting events"))? as u64;
            report.samples += samples.execute(params![id]).map_err(fail("deleting samples"))? as u64;
            report.runs += runs.execute(params![id]).map_err(fail("deleting runs"))? as u64;
        }
    }
    tx.execute("UPDATE retention_gate SET open = 0 WHERE id = 1", [])
        .map_err(fail("closing the retention gate"))?;
    tx.commit().map_err(fail("committing prune"))?;
    Ok(report)
}

/// Best effort: the rows are gone either way; a busy database keeps its free pages.
fn vacuum(conn: &Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA incremental_vacuum") {
        log::debug!("incremental_vacuum after prune failed: {e}");
    }
}

fn old_runs(conn: &Connection, cutoff_ms: i64) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM runs
         WHERE (ended_at_ms IS NOT NULL AND ended_at_ms < ?1)
            OR (ended_at_ms IS NULL AND started_at_ms < ?1
                AND coalesce((SELECT max(at_ms) FROM events WHERE run_id = runs.id), 0) < ?1
                AND coalesce((SELECT max(at_ms) FROM samples WHERE run_id = runs.id), 0) < ?1)
         ORDER BY id",
    )?;
    let ids = stmt.query_map(params![cutoff_ms], |row| row.get(0))?;
    ids.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_from_age_and_size() {
        let day = Duration::from_secs(24 * 3600);
        let parse = |t| Policy::parse(t).expect(t);
        assert_eq!(parse("30d,256M"), Policy::DEFAULT);
        assert_eq!(parse("256MiB, 30d"), Policy::DEFAULT);
        assert_eq!(parse("7d").keep, Some(7 * day));
        assert_eq!(parse("7d").max_bytes, None);
        assert_eq!(parse("5m").keep, Some(Duration::from_secs(300)));
        assert_eq!(parse("1G").max_bytes, Some(1 << 30));
        assert!(parse("off").is_off());
        assert!(Policy::parse("1d,2d").is_err());
        assert!(Policy::parse("lots").is_err());
        assert_eq!(Policy::DEFAULT.describe(), "keep 30d, at most 256.0 MiB");
    }

    #[test]
    fn size_cap_deletes_the_oldest_ended_runs_but_never_the_current_one() {
        let tmp = TempDir::new("retention-size");
        let conn = open(&tmp.db()).expect("open");
        let now = now_ms();
        let oldest = add_run(&conn, now - 3000, Some(now - 2900));
        let older = add_run(&conn, now - 2000, Some(now - 1900));
        let current = add_run(&conn, now - 5000, None);
        let policy = Policy {
            keep: None,
            max_bytes: Some(0),
        };
        let report = apply(&conn, &policy, current).expect("apply");
        assert_eq!(report.runs, 2);
        let left: Vec<i64> = conn
            .prepare("SELECT id FROM runs ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("list runs");
        assert_eq!(left, vec![current]);
        assert!(oldest < older);
        assert_eq!(count(&conn, "SELECT open FROM retention_gate"), 0);
    }

    #[test]
    fn age_policy_keeps_recent_runs() {
        let tmp = TempDir::new("retention-age");
        let conn = open(&tmp.db()).expect("open");
        let now = now_ms();
        let week = 7 * 24 * 3600 * 1000;
        add_run(&conn, now - 2 * week, Some(now - 2 * week + 10));
        let recent = add_run(&conn, now - 1000, Some(now - 900));
        let policy = Policy::parse("7d").expect("policy");
        assert_eq!(apply(&conn, &policy, recent).expect("apply").runs, 1);
        assert_eq!(count(&conn, "SELECT count(*) FROM runs"), 1);
    }
    use crate::evidence::location::open;
    use crate::evidence::testutil::TempDir;

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    /// A run with two events and two samples at `at`, ended at `ended` if given.
    fn add_run(conn: &Connection, at: i64, ended: Option<i64>) -> i64 {
        conn.execute(
            "INSERT INTO runs (argv, cwd, started_at_ms, mode, flowforge_version)
             VALUES ('[\"job\"]', '/', ?1, 'kill', 't')",
            params![at],
        )
        .expect("insert run");
        let id = conn.last_insert_rowid();
        for i in 0..2 {
            conn.execute(
                "INSERT INTO events (run_id, at_ms, category, kind, actor, message)
                 VALUES (?1, ?2, 'lifecycle', 'k', 'supervisor', 'm')",
                params![id, at + i],
            )
            .expect("insert event");
            conn.execute(
                "INSERT INTO samples VALUES (?1, ?2, 1.0, 1, 1, 0, 0, 0)",
                params![id, at + i],
            )
            .expect("insert sample");
        }
        if let Some(end) = ended {
            conn.execute(
                "UPDATE runs SET ended_at_ms = ?2, outcome = 'exited', exit_code = 0
                 WHERE id = ?1",
                params![id, end],
            )
            .expect("end run");
        }
        id
    }

    #[test]
    fn prune_deletes_old_runs_through_the_gate() {
        let tmp = TempDir::new("prune");
        let conn = open(&tmp.db()).expect("open");
        let old = add_run(&conn, 1_000, Some(2_000));
        let abandoned = add_run(&conn, 1_500, None);
        let recent = add_run(&conn, 9_000, Some(9_500));
        let running_long = add_run(&conn, 1_000, None);
        conn.execute(
            "INSERT INTO samples VALUES (?1, 9000, 1.0, 1, 1, 0, 0, 0)",
            params![running_long],
        )
        .expect("recent sample of a long run");

        let report = prune_before(&conn, 5_000).expect("prune");
        assert_eq!(
            report,
            PruneReport {
                runs: 2,
                events: 4,
                samples: 4
            }
        );
        let left: Vec<i64> = conn
            .prepare("SELECT id FROM runs ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("list runs");
        assert_eq!(left, vec![recent, running_long]);
        for gone in [old, abandoned] {
            let sql = format!("SELECT count(*) FROM events WHERE run_id = {gone}");
            assert_eq!(count(&conn, &sql), 0);
        }
        assert_eq!(
            count(&conn, "SELECT open FROM retention_gate"),
            0,
            "gate closed again"
        );
        conn.execute("DELETE FROM events", [])
            .expect_err("still append-only");
        assert_eq!(prune_before(&conn, 5_000).expect("again"), PruneReport::default());
    }

    #[test]
    fn prune_by_age_on_the_v1_fixture() {
        let tmp = TempDir::new("prune-v1");
        let path = tmp.db();
        std::fs::write(&path, include_bytes!("../../tests/data/v1.db")).expect("copy fixture");
        let conn = open(&path).expect("open fixture copy");
        let week = Duration::from_secs(7 * 24 * 3600);
        let report = prune(&conn, week).expect("prune");
        assert_eq!(
            report,
            PruneReport {
                runs: 1,
                events: 5,
                samples: 4
            }
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM runs"), 0);
    }
}
