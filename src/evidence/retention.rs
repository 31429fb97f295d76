//! Retention: `flowforge prune`, the only path by which evidence is ever deleted.
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
use rusqlite::{params, Connection, Transaction, TransactionBehavior};
use std::time::Duration;

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
        for id in &ids {
            report.events += events.execute(params![id]).map_err(fail("deleting events"))? as u64;
            report.samples += samples.execute(params![id]).map_err(fail("deleting samples"))? as u64;
            report.runs += runs.execute(params![id]).map_err(fail("deleting runs"))? as u64;
        }
    }
    tx.execute("UPDATE retention_gate SET open = 0 WHERE id = 1", [])
        .map_err(fail("closing the retention gate"))?;
    tx.commit().map_err(fail("committing prune"))?;
    // Best effort: the rows are gone either way; a busy database keeps its free pages.
    if let Err(e) = conn.execute_batch("PRAGMA incremental_vacuum") {
        log::debug!("incremental_vacuum after prune failed: {e}");
    }
    log::debug!(
        "pruned {} runs, {} events, {} samples",
        report.runs,
        report.events,
        report.samples
    );
    Ok(report)
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
