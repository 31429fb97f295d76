//! The evidence layer's one error type, and how SQLite's failures map onto it.
//!
//! Users meet these errors when the database file is in a bad state, so each `Display`
//! names the file and the fix ("use --db elsewhere or move the file away") and stays
//! lowercase and free of the cause; `main` prints the chain (`source()`) after it, as
//! `flowforge: what failed: why`. Failures of a single query carry a short `what` so the
//! chain still reads as a sentence.
//!
//! SQLite reports a foreign or damaged file lazily (`SQLITE_NOTADB` on the first statement,
//! not on open) and a lock as `SQLITE_BUSY` after the busy timeout; `classify` turns those
//! codes into the variants a user can act on.

use rusqlite::ErrorCode;
use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The fix we offer for a database path that cannot be used.
const FIX: &str = "use --db elsewhere or move the file away";

#[derive(Debug)]
pub enum EvidenceError {
    /// The database path names a directory.
    IsDirectory { path: PathBuf },
    /// The directory that should hold the database cannot be created.
    CreateDir {
        path: PathBuf,
        dir: PathBuf,
        source: io::Error,
    },
    /// The database file cannot be created (read-only directory, full disk, ...).
    CreateFile { path: PathBuf, source: io::Error },
    /// The database file exists but cannot be read.
    Unreadable { path: PathBuf, source: io::Error },
    /// The file exists but is not an SQLite database, or is damaged.
    NotADatabase {
        path: PathBuf,
        source: Option<rusqlite::Error>,
    },
    /// The database is opened read-only or its directory does not allow the WAL files.
    Unwritable { path: PathBuf, source: rusqlite::Error },
    /// Another process held a lock longer than the busy timeout.
    Locked { path: PathBuf, source: rusqlite::Error },
    /// The file was written by a newer FlowForge; we never downgrade it.
    TooNew { path: PathBuf, found: i64, known: i64 },
    /// Applying migration `name` failed; the transaction was rolled back.
    Migrate {
        path: PathBuf,
        name: &'static str,
        source: rusqlite::Error,
    },
    /// Any other SQLite failure, with what we were doing.
    Sqlite {
        what: &'static str,
        source: rusqlite::Error,
    },
    /// The writer thread could not be started.
    Thread { source: io::Error },
    /// `RunRef::Id(n)` names no run.
    NoRun(i64),
    /// `RunRef::Last` with an empty database.
    NoRuns,
    /// Writing a report to its output failed (a closed pipe is the usual reason).
    Output(io::Error),
}

impl EvidenceError {
    /// A reader that went away (`flowforge events | head`) is a normal end for `main`.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, EvidenceError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// Wraps a SQLite error from statement `what` on the database at `path`, turning the
    /// codes a user can act on into their own variants.
    pub(crate) fn classify(path: &Path, what: &'static str, e: rusqlite::Error) -> EvidenceError {
        let path = path.to_path_buf();
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => EvidenceError::NotADatabase {
                path,
                source: Some(e),
            },
            Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => {
                EvidenceError::Unwritable { path, source: e }
            }
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
                EvidenceError::Locked { path, source: e }
            }
            _ => EvidenceError::Sqlite { what, source: e },
        }
    }

    /// For query errors of the report functions, which have a connection but no path.
    pub(crate) fn query(what: &'static str) -> impl FnOnce(rusqlite::Error) -> EvidenceError {
        move |source| EvidenceError::Sqlite { what, source }
    }
}

impl fmt::Display for EvidenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EvidenceError::*;
        match self {
            IsDirectory { path } => {
                write!(f, "evidence database {} is a directory; {FIX}", path.display())
            }
            CreateDir { path, dir, .. } => write!(
                f,
                "cannot create directory {} for evidence database {}; use --db elsewhere",
                dir.display(),
                path.display()
            ),
            CreateFile { path, .. } => write!(
                f,
                "cannot create evidence database {}; use --db elsewhere",
                path.display()
            ),
            Unreadable { path, .. } => {
                write!(f, "cannot read evidence database {}; {FIX}", path.display())
            }
            NotADatabase { path, .. } => write!(
                f,
                "{} is not a flowforge database (corrupted or another kind of file); {FIX}",
                path.display()
            ),
            Unwritable { path, .. } => write!(
                f,
                "cannot write evidence database {}; fix its permissions or {FIX}",
                path.display()
            ),
            Locked { path, .. } => write!(
                f,
                "evidence database {} is locked by another process; retry, or use --db elsewhere",
                path.display()
            ),
            TooNew { path, found, known } => write!(
                f,
                "evidence database {} has schema version {found}, newer than the {known} this \
                 flowforge knows; upgrade flowforge or use --db elsewhere",
                path.display()
            ),
            Migrate { path, name, .. } => {
                write!(f, "cannot apply migration {name} to {}", path.display())
            }
            Sqlite { what, .. } => write!(f, "evidence database: {what}"),
            Thread { .. } => write!(f, "cannot start the evidence writer thread"),
            NoRun(id) => write!(f, "no run {id}; `flowforge runs` lists them"),
            NoRuns => write!(f, "no runs recorded yet"),
            Output(_) => write!(f, "cannot write output"),
        }
    }
}

impl Error for EvidenceError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        use EvidenceError::*;
        match self {
            CreateDir { source, .. }
            | CreateFile { source, .. }
            | Unreadable { source, .. }
            | Thread { source } => Some(source),
            Output(source) => Some(source),
            NotADatabase { source, .. } => source.as_ref().map(|e| e as &(dyn Error + 'static)),
            Unwritable { source, .. }
            | Locked { source, .. }
            | Migrate { source, .. }
            | Sqlite { source, .. } => Some(source),
            IsDirectory { .. } | TooNew { .. } | NoRun(_) | NoRuns => None,
        }
    }
}

impl From<io::Error> for EvidenceError {
    /// The only raw `io::Error`s that reach `?` in this layer come from writing reports.
    fn from(e: io::Error) -> EvidenceError {
        EvidenceError::Output(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_run_reads_exactly() {
        assert_eq!(
            EvidenceError::NoRun(7).to_string(),
            "no run 7; `flowforge runs` lists them"
        );
    }

    #[test]
    fn too_new_names_file_and_versions() {
        let e = EvidenceError::TooNew {
            path: PathBuf::from("/x/flowforge.db"),
            found: 999,
            known: 1,
        };
        let text = e.to_string();
        assert!(text.contains("/x/flowforge.db"), "{text}");
        assert!(text.contains("999") && text.contains(" 1 "), "{text}");
    }

    #[test]
    fn broken_pipe_is_recognised() {
        let e = EvidenceError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(e.is_broken_pipe());
        assert!(!EvidenceError::NoRuns.is_broken_pipe());
    }
}
