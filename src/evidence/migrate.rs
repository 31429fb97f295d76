//! Schema migrations: the numbered SQL files of `migrations/`, applied by `user_version`.
//!
//! The schema is plain SQL files so a reviewer reads the tables, checks and triggers as
//! SQLite sees them; they are compiled into the binary with `include_str!`, so a FlowForge
//! never depends on files next to it. `PRAGMA user_version` records the last applied file.
//! Each migration runs in its own `BEGIN IMMEDIATE` transaction that also bumps
//! `user_version`, so a crash leaves the database at a whole version, and two FlowForges
//! opening a fresh file at once do not both apply 0001: the second waits for the write lock
//! (busy timeout), re-reads the version inside its transaction and finds nothing to do.
//!
//! A database whose version is greater than any we know was written by a newer FlowForge.
//! We refuse it with an error naming the file and both versions, and never touch it: older
//! code writing into a newer schema is how evidence gets silently corrupted.
//!
//! Adding a migration: write `migrations/000N_what.sql`, append it to [`MIGRATIONS`], and
//! add a test that opens a copy of `tests/data/v1.db` and checks the new shape.

use super::error::EvidenceError;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;

/// One numbered schema file.
#[derive(Debug)]
pub struct Migration {
    /// The `user_version` after this file is applied.
    pub version: i64,
    /// The file name under `migrations/`, for error messages.
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order; versions are 1, 2, 3, ... without gaps.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init.sql",
        sql: include_str!("../../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_chain.sql",
        sql: include_str!("../../migrations/0002_chain.sql"),
    },
];

/// The schema version this FlowForge writes.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Brings the database at `path` (already open as `conn`) from version `found` (what
/// [`refuse_newer`] read) up to [`LATEST`]. Each migration reads the version again under
/// the write lock, so one that another process applied meanwhile is skipped.
pub(crate) fn migrate(conn: &Connection, path: &Path, found: i64) -> Result<(), EvidenceError> {
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        apply(conn, path, migration)?;
    }
    Ok(())
}

fn apply(conn: &Connection, path: &Path, migration: &Migration) -> Result<(), EvidenceError> {
    let failed = |source| EvidenceError::Migrate {
        path: path.to_path_buf(),
        name: migration.name,
        source,
    };
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| EvidenceError::classify(path, "starting a migration", e))?;
    // Re-read under the write lock: another process may have migrated meanwhile.
    let now = user_version(&tx, path)?;
    check_known(path, now)?;
    if now >= migration.version {
        return Ok(());
    }
    log::debug!("applying {} to {}", migration.name, path.display());
    tx.execute_batch(migration.sql).map_err(failed)?;
    tx.execute_batch(&format!("PRAGMA user_version = {}", migration.version))
        .map_err(failed)?;
    tx.commit().map_err(failed)
}

/// Fails with `TooNew` if the database was written by a newer FlowForge; otherwise returns
/// its schema version. Reading the version writes nothing, so this runs before any pragma
/// touches the file.
pub(crate) fn refuse_newer(conn: &Connection, path: &Path) -> Result<i64, EvidenceError> {
    let found = user_version(conn, path)?;
    check_known(path, found)?;
    Ok(found)
}

fn check_known(path: &Path, found: i64) -> Result<(), EvidenceError> {
    if found > LATEST {
        return Err(EvidenceError::TooNew {
            path: path.to_path_buf(),
            found,
            known: LATEST,
        });
    }
    Ok(())
}

fn user_version(conn: &Connection, path: &Path) -> Result<i64, EvidenceError> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| EvidenceError::classify(path, "reading user_version", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::event::{Actor, Category};
    use crate::evidence::location::open;
    use crate::evidence::testutil::TempDir;

    /// The committed fixture: schema version 1, one finished run with a few events.
    const V1_DB: &[u8] = include_bytes!("../../tests/data/v1.db");

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count rows")
    }

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("user_version")
    }

    /// Every actor, through an exhaustive match so a new variant breaks this test's build.
    fn all_actors() -> Vec<Actor> {
        let all = [
            Actor::Supervisor,
            Actor::Detector,
            Actor::User,
            Actor::Signal,
            Actor::Guardrail,
        ];
        for actor in all {
            match actor {
                Actor::Supervisor | Actor::Detector | Actor::User | Actor::Signal | Actor::Guardrail => {}
            }
        }
        all.to_vec()
    }

    #[test]
    fn migrations_are_numbered_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)), "{}", m.name);
        }
    }

    #[test]
    fn migrates_from_empty() {
        let tmp = TempDir::new("mig-empty");
        let conn = open(&tmp.db()).expect("open empty");
        assert_eq!(version(&conn), LATEST);
        for table in ["runs", "events", "samples", "retention_gate"] {
            count(&conn, table);
        }
        let vacuum: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .expect("auto_vacuum");
        assert_eq!(vacuum, 2, "incremental auto-vacuum on a fresh database");
    }

    #[test]
    fn migrates_from_v1_fixture() {
        let tmp = TempDir::new("mig-v1");
        let path = tmp.db();
        std::fs::write(&path, V1_DB).expect("copy fixture");
        let conn = open(&path).expect("open v1 copy");
        assert_eq!(version(&conn), LATEST);
        assert_eq!(count(&conn, "runs"), 1);
        assert!(count(&conn, "events") >= 3);
        let outcome: String = conn
            .query_row("SELECT outcome FROM runs", [], |r| r.get(0))
            .expect("outcome");
        assert_eq!(outcome, "stopped");
        // 0002: old events stay unchained, old runs have no redaction flag.
        let (hashes, redaction): (i64, Option<String>) = conn
            .query_row(
                "SELECT (SELECT count(hash) FROM events), (SELECT redaction FROM runs)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("0002 columns");
        assert_eq!((hashes, redaction), (0, None));
    }

    #[test]
    fn refuses_a_newer_database_without_touching_it() {
        let tmp = TempDir::new("mig-newer");
        let path = tmp.db();
        std::fs::write(&path, V1_DB).expect("copy fixture");
        Connection::open(&path)
            .and_then(|c| c.execute_batch("PRAGMA user_version = 999"))
            .expect("set user_version");
        let err = open(&path).expect_err("newer schema");
        assert!(matches!(err, EvidenceError::TooNew { found: 999, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            text.contains("999") && text.contains(&LATEST.to_string()),
            "{text}"
        );
        let conn = Connection::open(&path).expect("raw open");
        assert_eq!(version(&conn), 999, "never downgraded");
        let journal: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal_mode");
        assert_eq!(journal, "delete", "not even switched to WAL");
    }

    #[test]
    fn events_are_append_only() {
        let tmp = TempDir::new("mig-append");
        let path = tmp.db();
        std::fs::write(&path, V1_DB).expect("copy fixture");
        let conn = open(&path).expect("open");
        let before = count(&conn, "events");
        let err = conn
            .execute("UPDATE events SET message = 'x'", [])
            .expect_err("update refused");
        assert!(err.to_string().contains("append-only"), "{err}");
        let err = conn
            .execute("DELETE FROM events", [])
            .expect_err("delete refused");
        assert!(err.to_string().contains("append-only"), "{err}");
        conn.execute("DELETE FROM samples", [])
            .expect_err("samples delete refused");
        conn.execute("DELETE FROM runs", [])
            .expect_err("runs delete refused");
        conn.execute("UPDATE runs SET outcome = 'exited'", [])
            .expect_err("finished run is frozen");
        // Dropping the gate row does not open it.
        conn.execute("DELETE FROM retention_gate", [])
            .expect("gate row deletable");
        conn.execute("DELETE FROM events", []).expect_err("still refused");
        assert_eq!(count(&conn, "events"), before);
    }

    #[test]
    fn checks_match_the_event_model() {
        let tmp = TempDir::new("mig-checks");
        let conn = open(&tmp.db()).expect("open");
        conn.execute(
            "INSERT INTO runs (argv, cwd, started_at_ms, mode, flowforge_version)
             VALUES ('[\"true\"]', '/', 0, 'kill', 't')",
            [],
        )
        .expect("insert run");
        let insert = |category: &str, actor: &str| {
            conn.execute(
                "INSERT INTO events (run_id, at_ms, category, kind, actor, message, payload)
                 VALUES (1, 0, ?1, 'k', ?2, 'm', '{}')",
                [category, actor],
            )
        };
        for category in Category::ALL {
            insert(category.as_str(), "supervisor").expect("every category is allowed");
        }
        for actor in all_actors() {
            insert("lifecycle", actor.as_str()).expect("every actor is allowed");
        }
        insert("gossip", "supervisor").expect_err("unknown category refused");
        insert("lifecycle", "nobody").expect_err("unknown actor refused");
        conn.execute(
            "INSERT INTO events (run_id, at_ms, category, kind, actor, message, payload)
             VALUES (1, 0, 'error', 'k', 'user', 'm', 'not json')",
            [],
        )
        .expect_err("payload must be JSON");
    }
}
