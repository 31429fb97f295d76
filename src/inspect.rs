//! `flowforge runs | show | events | prune`: the evidence store, read by a human or a pipe.
//!
//! Each command opens the database (creating nothing but what `evidence::open` creates),
//! writes to a locked stdout, treats a closed pipe (`| head`) as a normal end, and maps
//! "no such run" to exit 1 and every other failure to 125.

use crate::cli::Inspect;
use crate::diag::{diag, with_sources};
use crate::evidence::bundle::{self, Verdict};
use crate::evidence::{self, report, EvidenceError, RunRef};
use rusqlite::Connection;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

pub fn inspect(what: Inspect, db: Option<PathBuf>) -> i32 {
    if let Inspect::Verify { file } = &what {
        return verify(file);
    }
    let path = evidence::resolve_db_path(db.as_deref());
    let result = evidence::open(&path).and_then(|conn| {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        match what {
            Inspect::Runs { json, limit } => report::runs(&conn, limit, json, &mut out),
            Inspect::Show { run } => report::show(&conn, run, &mut out).and_then(|()| {
                // Where to see the same run in the browser, when a dashboard is up on the
                // default address (the link carries no key: the page asks for it).
                match report::resolve_run(&conn, run) {
                    Ok(id) if crate::api::dashboard_is_up() => {
                        writeln!(out, "dashboard  http://{}/#run={id}", crate::api::DEFAULT_LISTEN)
                            .map_err(EvidenceError::from)
                    }
                    _ => Ok(()),
                }
            }),
            Inspect::Events { run, json, follow } => report::events(&conn, run, json, follow, &mut out),
            Inspect::Export { run, out: None } => bundle::export(&conn, run, &mut out).map(drop),
            Inspect::Export { run, out: Some(file) } => export_to(&conn, run, &file),
            Inspect::Verify { .. } => Ok(()),
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

/// `flowforge export RUN --out FILE`: the bundle written beside FILE, then renamed over it,
/// private to the user like the database; one line on stderr says what went where.
fn export_to(conn: &Connection, run: RunRef, file: &Path) -> Result<(), EvidenceError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut partial = file.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(EvidenceError::from)
        .and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            let exported = bundle::export(conn, run, &mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            Ok(exported)
        })
        .and_then(|exported| {
            std::fs::rename(&partial, file)?;
            Ok(exported)
        });
    let exported = match written {
        Ok(exported) => exported,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let head = exported.chain_head.as_deref().unwrap_or("none");
    diag!(
        "exported run {} ({} events, chain head {head}) to {}",
        exported.run_id,
        exported.events,
        file.display()
    );
    if exported.unchained > 0 {
        diag!(
            "warning: {} event(s) of run {} were recorded before FlowForge kept a hash chain; `flowforge verify` will report the bundle as unverifiable",
            exported.unchained, exported.run_id
        );
    }
    Ok(())
}

/// `flowforge verify FILE`: the verdict on stdout, exit 0 intact, 1 broken, 2 not a bundle.
fn verify(file: &Path) -> i32 {
    let verdict = match std::fs::File::open(file) {
        Ok(f) => bundle::verify(&mut std::io::BufReader::new(f)),
        Err(e) => Verdict::NotABundle(format!("it cannot be read ({e})")),
    };
    let mut stdout = std::io::stdout().lock();
    let line = match &verdict {
        Verdict::Intact { run_id, events, chain_head, tool_version, redaction } => format!(
            "ok: run {run_id}, {events} events, chain head {chain_head} (recorded by flowforge {tool_version}, redaction {})",
            redaction.as_deref().unwrap_or("unknown")
        ),
        Verdict::Broken { event, id, why } => {
            let id = id.map_or_else(String::new, |id| format!(" (id {id})"));
            let what = if *event == 0 { "the manifest".to_string() } else { format!("event {event}{id}") };
            format!("broken: {what}: {why}")
        }
        Verdict::NotABundle(why) => {
            diag!("{} is not a flowforge bundle: {why}", file.display());
            return verdict.exit_code();
        }
    };
    let _ = writeln!(stdout, "{line}");
    verdict.exit_code()
}
