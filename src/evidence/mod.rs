//! Evidence: what FlowForge remembers about a run, in one SQLite file.
//!
//! Everything the supervisor, the detector and the actors want remembered arrives here as an
//! [`Event`] (or, once per tick, a [`SampleRow`]). The store is built around one promise:
//! *nothing about an intervention is lost silently*, while the supervisor loop never waits
//! for a disk. So the hot path only pushes into channels ([`Recorder`]); a writer thread
//! batches into transactions; critical events that cannot be written are kept in memory and,
//! at the end, printed to stderr as NDJSON; samples are the only thing we are allowed to drop,
//! and we count what we drop.
//!
//! The module is split by concern:
//! - [`location`]: where the file lives, its permissions, opening it with WAL and a
//!   busy timeout, and typed errors for a directory, an unreadable or a corrupted file;
//! - [`migrate`]: the numbered SQL files of `migrations/`, applied by `PRAGMA user_version`;
//! - [`writer`]: the [`Recorder`] handle; `batcher.rs`: its writer thread;
//! - [`bundle`]: `flowforge export` and `verify`, a run's evidence as one checkable file;
//! - [`chain`]: the SHA-256 hash chain over a run's events (`sha256.rs` implements it);
//! - [`ndjson`]: the stable NDJSON shape of an event and hand-rolled RFC 3339 time;
//! - [`redact`]: secrets out of every event and command line before they are stored;
//! - [`report`]: `flowforge runs`, `show` and `events` as functions writing to a `Write`;
//! - [`retention`]: `flowforge prune`, the one way rows are ever deleted;
//! - [`error`]: the one error type, [`EvidenceError`].
//!
//! The types shared by those files (run identity, the start and end of a run, one sample
//! row) live here.

mod batcher;
pub mod bundle;
pub mod chain;
pub mod error;
pub mod event;
pub mod location;
pub mod migrate;
pub mod ndjson;
pub mod redact;
pub mod report;
pub mod retention;
mod sha256;
pub mod writer;

pub use batcher::append_event;
pub use error::EvidenceError;
pub use event::{now_ms, Actor, Category, Event};
pub use location::{open, open_existing, resolve_db_path};
pub use retention::prune;
pub use writer::Recorder;

use serde_json::Value;
use std::fmt;
use std::path::Path;

/// The id of a row of `runs`, as shown by `flowforge runs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How the CLI names a run: a number, or `last` for the most recently started one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunRef {
    Id(i64),
    Last,
}

impl RunRef {
    /// Parses `last` or a run number; anything else is `None` so the CLI can word the error.
    pub fn parse(text: &str) -> Option<RunRef> {
        if text == "last" {
            return Some(RunRef::Last);
        }
        text.parse::<i64>().ok().map(RunRef::Id)
    }
}

/// What is known about a run when it starts (the `runs` row before it ends).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// The wrapped command and its arguments, exactly as given after `--`.
    pub argv: Vec<String>,
    /// The working directory of the command, lossily converted to UTF-8.
    pub cwd: String,
    pub started_at_ms: i64,
    /// The child's pid if it is already spawned; otherwise `Recorder::set_pid` later.
    pub pid: Option<u32>,
    /// What FlowForge does on a runaway: "kill", "restart" or "alert".
    pub mode: String,
    pub flowforge_version: String,
    /// Whether secrets are redacted from this run's evidence (`--no-redact` turns it off).
    pub redact: bool,
}

impl NewRun {
    /// A run starting now, without a pid yet, tagged with this build's version.
    pub fn new(argv: Vec<String>, cwd: &Path, mode: impl Into<String>) -> NewRun {
        NewRun {
            argv,
            cwd: cwd.to_string_lossy().into_owned(),
            started_at_ms: now_ms(),
            pid: None,
            mode: mode.into(),
            flowforge_version: env!("CARGO_PKG_VERSION").to_string(),
            redact: true,
        }
    }
}

/// How a run ended: written once, after which the `runs` row is frozen by a trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    pub ended_at_ms: i64,
    /// The exit code FlowForge itself exits with (128+N for a child killed by signal N, as
    /// a shell reports it); `None` if there is none to report.
    pub exit_code: Option<i32>,
    /// "exited", "signalled", "stopped", "timeout", ...
    pub outcome: String,
}

impl RunEnd {
    /// A run ending now.
    pub fn now(exit_code: Option<i32>, outcome: impl Into<String>) -> RunEnd {
        RunEnd {
            ended_at_ms: now_ms(),
            exit_code,
            outcome: outcome.into(),
        }
    }
}

/// One row of `samples`: the supervisor's per-tick view of the whole process tree.
///
/// Built from a `crate::sample::Sample` with `at_ms = run.started_at_ms + sample.at` in
/// milliseconds; the other fields copy over unchanged. Byte and line counts are per
/// interval, not cumulative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRow {
    /// Wall-clock time in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub cpu_percent: f64,
    pub rss_bytes: u64,
    pub processes: u32,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    pub lines: u64,
}

impl SampleRow {
    /// Reads a `Category::Sample` event whose payload uses the field names of this struct
    /// (missing numbers count as zero), so a sample sent as an `Event` still lands in
    /// `samples`.
    pub fn from_event(event: &Event) -> SampleRow {
        let p = &event.payload;
        let uint = |key: &str| p.get(key).and_then(Value::as_u64).unwrap_or(0);
        SampleRow {
            at_ms: event.at_ms,
            cpu_percent: p.get("cpu_percent").and_then(Value::as_f64).unwrap_or(0.0),
            rss_bytes: uint("rss_bytes"),
            processes: u32::try_from(uint("processes")).unwrap_or(u32::MAX),
            stdout_bytes: uint("stdout_bytes"),
            stderr_bytes: uint("stderr_bytes"),
            lines: uint("lines"),
        }
    }
}

/// SQLite integers are signed; counters beyond i64::MAX cannot happen in practice, and
/// saturating keeps the conversion total.
pub(crate) fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A unique scratch directory under the system temp dir, removed on drop.

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let dir = std::env::temp_dir().join(format!(
                "flowforge-evidence-{tag}-{}-{}-{nanos}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }

        pub fn db(&self) -> PathBuf {
            self.0.join("flowforge.db")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn run_ref_parses_last_and_numbers() {
        assert_eq!(RunRef::parse("last"), Some(RunRef::Last));
        assert_eq!(RunRef::parse("42"), Some(RunRef::Id(42)));
        assert_eq!(RunRef::parse("forty"), None);
    }

    #[test]
    fn sample_event_becomes_a_row() {
        let mut event = Event::new(
            Category::Sample,
            "tick",
            Actor::Supervisor,
            "",
            json!({"cpu_percent": 150.5, "rss_bytes": 1024, "processes": 3, "lines": 7}),
        );
        event.at_ms = 1_000;
        let row = SampleRow::from_event(&event);
        assert_eq!(row.at_ms, 1_000);
        assert_eq!(row.cpu_percent, 150.5);
        assert_eq!(row.rss_bytes, 1024);
        assert_eq!(row.processes, 3);
        assert_eq!((row.stdout_bytes, row.stderr_bytes, row.lines), (0, 0, 7));
    }
}
