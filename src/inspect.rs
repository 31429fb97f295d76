//! `flowforge runs | show | events | prune`: the evidence store, read by a human or a pipe.
//!
//! Each command opens the database (creating nothing but what `evidence::open` creates),
//! writes to a locked stdout, treats a closed pipe (`| head`) as a normal end, and maps
//! "no such run" to exit 1 and every other failure to 125.

use crate::cli::Inspect;
use crate::diag::{diag, with_sources};
use crate::evidence::{self, report, EvidenceError};
use std::io::Write;
use std::path::PathBuf;

pub fn inspect(what: Inspect, db: Option<PathBuf>) -> i32 {
    let path = evidence::resolve_db_path(db.as_deref());
    let result = evidence::open(&path).and_then(|conn| {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        match what {
            Inspect::Runs { json, limit } => report::runs(&conn, limit, json, &mut out),
            Inspect::Show { run } => report::show(&conn, run, &mut out),
            Inspect::Events { run, json, follow } => report::events(&conn, run, json, follow, &mut out),
            Inspect::Prune { older_than } => evidence::prune(&conn, older_than).and_then(|pruned| {
                writeln!(
                    out,
                    "pruned {} run(s), {} event(s), {} sample(s) from {}",
                    pruned.runs,
                    pruned.events,
                    pruned.samples,
                    path.display()
                )
                .map_err(EvidenceError::from)
            }),
        }
        .and_then(|()| out.flush().map_err(EvidenceError::from))
    });
    // Report queries carry no path; name the file and the fix for a damaged database.
    let result = result.map_err(|e| match e {
        EvidenceError::Sqlite { what, source } => EvidenceError::classify(&path, what, source),
        other => other,
    });
    match result {
        Ok(()) => 0,
        Err(e) if e.is_broken_pipe() => 0,
        Err(e @ (EvidenceError::NoRun(_) | EvidenceError::NoRuns)) => {
            diag!("{e}");
            1
        }
        Err(e) => {
            diag!("{}", with_sources(&e));
            125
        }
    }
}
