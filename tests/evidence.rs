//! The evidence store end to end: what `flowforge run` records in a real SQLite file, what
//! `runs`, `events`, `show` and `prune` read back, and how a run behaves when the file is
//! missing, locked, unwritable, damaged or from another version.
//!
//! Everything goes through the built binary; the database is inspected through a second,
//! independent SQLite connection (rusqlite), as a user or a script would. The promise under test is the one in
//! OPERATIONS.md: recording never slows or stops the job (without `--require-db`), a file
//! that cannot be used is named together with the fix, and nothing about a run is lost
//! silently — it is either in the database or printed to stderr as NDJSON.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `flowforge run [OPTIONS] -- sh -c SCRIPT`, as an argument list.
fn run_sh_with(options: &[&str], script: &str) -> Vec<String> {
    let mut args = vec!["run".to_string()];
    args.extend(options.iter().map(|s| s.to_string()));
    args.extend(["--", "sh", "-c", script].iter().map(|s| s.to_string()));
    args
}

fn run_sh(script: &str) -> Vec<String> {
    run_sh_with(&[], script)
}

/// The committed database at schema version 1 (see tests/data/make-v1.sh).
fn v1_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1.db")
}

/// Deterministic bytes that are certainly not an SQLite header.
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut out = pseudo_random(len, seed);
    out[0] = b'#';
    out
}

/// `flowforge runs --json --limit 100`, parsed.
fn runs_json(sandbox: &Sandbox) -> Vec<Json> {
    let out = sandbox.run(&["runs", "--json", "--limit", "100"]);
    out.assert_code(0);
    Json::expect(&out.stdout_text()).as_array().to_vec()
}

/// The lines of stderr that FlowForge wrote for a human (not NDJSON).
fn human_lines(out: &Outcome) -> Vec<String> {
    out.stderr_lines()
        .into_iter()
        .filter(|l| !l.starts_with('{'))
        .collect()
}

/// Every file name in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Events of one run as (category, kind) pairs, in order.
fn kinds_of_run(db: &Path, run_id: i64) -> Vec<(String, String)> {
    query(
        db,
        &format!("SELECT category, kind FROM events WHERE run_id = {run_id} ORDER BY id"),
    )
    .iter()
    .map(|e| (e.str_of("category").to_string(), e.str_of("kind").to_string()))
    .collect()
}

fn has_lifecycle(events: &[Json], kind: &str) -> bool {
    events.iter().any(|e| {
        e.get("category").and_then(Json::as_str) == Some("lifecycle")
            && e.get("kind").and_then(Json::as_str) == Some(kind)
    })
}

// ---------------------------------------------------------------------------------------
// What a run records
// ---------------------------------------------------------------------------------------

#[test]
fn exit_code_and_lifecycle_events_are_recorded() {
    let sandbox = Sandbox::new("ev-exit3");
    let out = sandbox.run(&run_sh("echo hi; exit 3"));
    out.assert_code(3);
    assert_eq!(out.stdout, b"hi\n");
    assert!(out.stderr.is_empty(), "quiet by default\n{}", out.describe());

    let runs = runs_json(&sandbox);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    let argv: Vec<&str> = run
        .field("argv")
        .as_array()
        .iter()
        .filter_map(Json::as_str)
        .collect();
    assert_eq!(argv, ["sh", "-c", "echo hi; exit 3"]);
    assert_eq!(run.int_of("exit_code"), 3, "{run:?}");
    assert_eq!(run.str_of("outcome"), "exited", "{run:?}");
    assert_eq!(run.str_of("mode"), "kill", "{run:?}");
    assert!(
        run.field("ended_at_ms").as_i64().is_some(),
        "the end is recorded: {run:?}"
    );
    assert!(
        run.field("pid").as_i64().is_some(),
        "the pid is recorded: {run:?}"
    );
    let id = run.int_of("id");

    // NDJSON: every line one object, with the documented fields in the documented order.
    for args in [
        &["events", "--json"][..],
        &["events", &id.to_string(), "--json"][..],
    ] {
        let out = sandbox.run(args);
        out.assert_code(0);
        let text = out.stdout_text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(!lines.is_empty(), "{args:?} printed nothing");
        let events: Vec<Json> = lines.iter().map(|l| Json::expect(l)).collect();
        for e in &events {
            assert_eq!(
                e.keys(),
                ["id", "run_id", "at_ms", "at", "category", "kind", "actor", "message", "payload"],
                "field order of {e:?}"
            );
            assert_eq!(e.int_of("run_id"), id);
        }
        assert!(
            text.contains("\"kind\":\"started\"") && text.contains("\"kind\":\"exited\""),
            "{text}"
        );
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.str_of("category"), e.str_of("kind")))
            .collect();
        assert_eq!(
            kinds,
            [("lifecycle", "started"), ("lifecycle", "exited")],
            "{args:?}: {text}"
        );
        assert_eq!(events[1].field("payload").int_of("exit_code"), 3);
    }
}

#[test]
fn events_are_append_only() {
    let sandbox = Sandbox::new("ev-append-only");
    sandbox.run(&run_sh("echo one")).assert_code(0);
    let db = sandbox.db();
    let before = query(&db, "SELECT * FROM events ORDER BY id");
    assert_eq!(before.len(), 2, "{before:?}");

    for statement in ["UPDATE events SET message = 'x'", "DELETE FROM events"] {
        let out = sqlite3(&db, statement);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{statement} succeeded");
        assert!(stderr.contains("append-only"), "{statement}: {stderr}");
    }
    // A finished run is frozen too.
    let out = sqlite3(&db, "UPDATE runs SET exit_code = 0");
    assert!(!out.status.success(), "a finished run was changed");
    assert_eq!(query(&db, "SELECT * FROM events ORDER BY id"), before);
}

#[test]
fn twenty_concurrent_runs_share_one_database() {
    let sandbox = Sandbox::new("ev-concurrent");
    // The database does not exist yet: the twenty race to create and migrate it too.
    let running: Vec<(i32, Running)> = (1..=20)
        .map(|i| {
            let script = format!("echo {i}; exit $(({i} % 5))");
            (i, sandbox.spawn(sandbox.command(&run_sh(&script))))
        })
        .collect();
    for (i, run) in running {
        let out = run.finish();
        out.assert_code(i % 5);
        assert_eq!(out.stdout_text(), format!("{i}\n"));
        assert!(out.stderr.is_empty(), "run {i} complained\n{}", out.describe());
    }
    sandbox.assert_no_survivors();

    let runs = runs_json(&sandbox);
    assert_eq!(runs.len(), 20, "{runs:?}");
    let mut seen = Vec::new();
    for run in &runs {
        let script = run.field("argv").as_array()[2]
            .as_str()
            .expect("the script")
            .to_string();
        let i: i64 = script
            .strip_prefix("echo ")
            .and_then(|s| s.split(';').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected argv {run:?}"));
        assert_eq!(run.int_of("exit_code"), i % 5, "{run:?}");
        assert_eq!(run.str_of("outcome"), "exited", "{run:?}");
        assert!(run.field("ended_at_ms").as_i64().is_some(), "{run:?}");
        seen.push(i);
    }
    seen.sort();
    assert_eq!(seen, (1..=20).collect::<Vec<i64>>());

    let counts = query(
        &sandbox.db(),
        "SELECT runs.id AS run, \
                (SELECT count(*) FROM events e WHERE e.run_id = runs.id AND e.kind = 'started') AS started, \
                (SELECT count(*) FROM events e WHERE e.run_id = runs.id AND e.kind = 'exited') AS exited \
         FROM runs ORDER BY runs.id",
    );
    assert_eq!(counts.len(), 20);
    for row in &counts {
        assert_eq!(
            (row.int_of("started"), row.int_of("exited")),
            (1, 1),
            "run {}",
            row.int_of("run")
        );
    }
}

// ---------------------------------------------------------------------------------------
// A database that is locked, unwritable, damaged or from another version
// ---------------------------------------------------------------------------------------

/// Holds `BEGIN EXCLUSIVE` on `db` until its stdin closes (120 s at most: a run of 2 M
/// lines on a busy 2-core runner took 13.8 s); says "locked" by creating `ready`, and
/// "released" by creating `released`.
const LOCK_HOLDER: &str = "\
import select, sqlite3, sys
db, ready, released = sys.argv[1:4]
con = sqlite3.connect(db, isolation_level=None, timeout=30)
con.execute('BEGIN EXCLUSIVE')
open(ready, 'w').close()
select.select([sys.stdin], [], [], 120)
con.execute('COMMIT')
open(released, 'w').close()
";

#[test]
fn locked_database_never_blocks_the_run() {
    let sandbox = Sandbox::new("ev-locked");
    // The first run creates the database; only then can it be locked.
    sandbox.run(&["run", "--", "true"]).assert_code(0);
    let (ready, released) = (sandbox.path("locked"), sandbox.path("released"));
    let mut holder = Command::new(python());
    holder
        .args(["-c", LOCK_HOLDER])
        .arg(sandbox.db())
        .args([&ready, &released])
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let mut holder = Helper(holder.spawn().expect("start the lock holder"));
    let release = holder.0.stdin.take();
    assert!(wait_until(|| ready.exists(), secs(20)), "the lock was not taken");

    let mut direct = Sha256Pipe::new();
    let status = Command::new("seq")
        .args(["1", "2000000"])
        .stdout(direct.input())
        .status()
        .expect("run seq directly");
    assert!(status.success());
    let direct = direct.digest();

    let mut through = Sha256Pipe::new();
    let mut command = sandbox.command(&["run", "--", "seq", "1", "2000000"]);
    command.stdout(through.input());
    let out = sandbox.spawn(command).finish();
    let still_locked = holder.is_running() && !released.exists();
    drop(release);
    let through = through.digest();
    out.assert_code(0);
    assert_eq!(
        through,
        direct,
        "the output changed under a locked database\n{}",
        out.describe()
    );
    assert!(
        still_locked,
        "the lock was released before the run ended ({:?}): the run waited for it",
        out.elapsed
    );
    let held = holder.wait();
    assert!(
        held.status.success(),
        "the lock holder failed: {}",
        String::from_utf8_lossy(&held.stderr)
    );
    sandbox.assert_no_survivors();

    // Nothing is lost: the lifecycle events are in the database or were printed as NDJSON.
    let spilled = ndjson_lines(&out.stderr_text());
    let recorded: Vec<Json> = query(
        &sandbox.db(),
        "SELECT events.category, events.kind FROM events JOIN runs ON runs.id = events.run_id \
         WHERE runs.argv LIKE '%seq%'",
    );
    for kind in ["started", "exited"] {
        assert!(
            has_lifecycle(&spilled, kind) || has_lifecycle(&recorded, kind),
            "the {kind} event is neither in the database nor on stderr\n{}",
            out.describe()
        );
    }
    for line in human_lines(&out) {
        assert!(line.starts_with("flowforge: "), "stray stderr line {line:?}");
    }
}

/// The run goes on with one warning naming the path; with `--require-db` it does not run.
/// `place` prepares the sandbox and returns the path to give to `--db`.
fn unusable_path(name: &str, place: impl Fn(&Sandbox) -> String) {
    let sandbox = Sandbox::new(name);
    let db = place(&sandbox);
    let db = db.as_str();
    let out = sandbox.run(&run_sh_with(&["--db", db], "echo hi; exit 3"));
    out.assert_code(3);
    assert_eq!(out.stdout, b"hi\n");
    let warnings = human_lines(&out);
    assert_eq!(warnings.len(), 1, "one warning\n{}", out.describe());
    assert!(
        warnings[0].starts_with("flowforge: ") && warnings[0].contains(db),
        "the warning names {db}\n{}",
        out.describe()
    );
    // Whatever else is on stderr is the NDJSON of events that could not be recorded.
    for event in ndjson_lines(&out.stderr_text()) {
        assert!(event.field("id").is_null(), "{event:?}");
    }

    let out = sandbox.run(&run_sh_with(&["--require-db", "--db", db], "touch ran; exit 3"));
    out.assert_code(125);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "one line\n{}", out.describe());
    assert!(
        lines[0].starts_with("flowforge: ") && lines[0].contains(db),
        "the line names {db}\n{}",
        out.describe()
    );
    assert!(
        !sandbox.path("ran").exists(),
        "the command ran despite --require-db"
    );
}

#[test]
fn db_under_a_missing_proc_directory_warns_and_runs() {
    unusable_path("ev-proc-path", |_| "/proc/nonexistent/x.db".to_string());
}

#[test]
fn db_under_a_regular_file_warns_and_runs() {
    unusable_path("ev-file-path", |sandbox| {
        let file = sandbox.path("FILE");
        std::fs::write(&file, b"a regular file").expect("create the file");
        file.join("x.db").to_str().expect("utf-8 temp path").to_string()
    });
}

/// The message every command prints for a file that is not a FlowForge database.
fn not_a_database(db: &Path) -> String {
    format!(
        "{} is not a flowforge database (corrupted or another kind of file); \
         use --db elsewhere or move the file away",
        db.display()
    )
}

#[test]
fn garbage_database_is_named_with_the_fix_and_never_touched() {
    let sandbox = Sandbox::new("ev-garbage");
    let db = sandbox.db();
    let bytes = garbage(8192, 0x5eed);
    std::fs::write(&db, &bytes).expect("write garbage");
    let message = not_a_database(&db);

    let out = sandbox.run(&run_sh("touch ran; exit 0"));
    out.assert_code(0);
    assert!(sandbox.path("ran").exists(), "the command did not run");
    let warnings = human_lines(&out);
    assert_eq!(warnings.len(), 1, "one warning\n{}", out.describe());
    assert!(warnings[0].contains(&message), "{}", out.describe());

    let out = sandbox.run(&run_sh_with(&["--require-db"], "touch ran-again; exit 0"));
    out.assert_code(125);
    assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
    assert!(out.stderr_text().contains(&message), "{}", out.describe());
    assert!(
        !sandbox.path("ran-again").exists(),
        "the command ran despite --require-db"
    );

    let out = sandbox.run(&["runs"]);
    out.assert_code(125);
    assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
    assert!(out.stderr_text().contains(&message), "{}", out.describe());

    assert_eq!(
        std::fs::read(&db).expect("read back"),
        bytes,
        "the file was modified"
    );
    assert_eq!(
        listing(&sandbox.home),
        ["flowforge.db", "ran"],
        "files were created next to it"
    );
}

/// A copy of the v1 fixture whose pages 2 to 4 are overwritten: the header is intact, so
/// only SQLite itself can tell that the file is damaged.
fn damaged_copy(sandbox: &Sandbox) -> Vec<u8> {
    let mut bytes = std::fs::read(v1_fixture()).expect("read the fixture");
    assert!(bytes.len() >= 5 * 4096, "the fixture has at least five pages");
    bytes[4096..4 * 4096].copy_from_slice(&garbage(3 * 4096, 0xdead));
    std::fs::write(sandbox.db(), &bytes).expect("write the damaged copy");
    bytes
}

#[test]
fn damaged_database_is_named_with_the_fix_by_runs() {
    let sandbox = Sandbox::new("ev-damaged-runs");
    damaged_copy(&sandbox);
    let out = sandbox.run(&["runs"]);
    out.assert_code(125);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", out.describe());
    let db = sandbox.db();
    assert!(
        lines[0].contains(&db.display().to_string()) && lines[0].contains("--db elsewhere"),
        "the message names the file and the fix\n{}",
        out.describe()
    );
}

#[test]
fn damaged_database_is_never_modified() {
    let sandbox = Sandbox::new("ev-damaged-untouched");
    let bytes = damaged_copy(&sandbox);
    let out = sandbox.run(&["run", "--", "true"]);
    out.assert_code(0);
    let out = sandbox.run(&["runs"]);
    out.assert_code(125);
    assert!(
        std::fs::read(sandbox.db()).expect("read back") == bytes,
        "the damaged file was written to (OPERATIONS.md: a corrupt file is never modified)"
    );
}

#[test]
fn damaged_database_warns_once_before_the_spill_and_promptly() {
    // The open fails a few milliseconds in, often after `true` has ended: the warning must
    // still come out, once, before the NDJSON, without the run waiting for a deadline.
    for round in 0..12 {
        let sandbox = Sandbox::new("ev-damaged-run");
        damaged_copy(&sandbox);
        let out = sandbox.run(&["run", "--", "true"]);
        out.assert_code(0);
        let lines = out.stderr_lines();
        let warning = lines.iter().position(|l| l.contains("--db elsewhere"));
        assert!(
            warning == Some(0) && human_lines(&out).len() == 1,
            "round {round}: one warning naming the fix, first\n{}",
            out.describe()
        );
    }
}

/// `Recorder::finish` must not stall the writer: with `-vv` the writer logs while it
/// creates a new database (often after `true` has already ended), and those lines must not
/// hold it up until the deadline — the run is recorded, nothing is spilled.
#[test]
fn verbose_run_on_a_new_database_is_recorded() {
    for round in 0..5 {
        let sandbox = Sandbox::new("ev-verbose");
        let home = sandbox.path("new");
        let mut command = sandbox.command(&["run", "-vv", "--", "true"]);
        command.env("FLOWFORGE_HOME", &home);
        let out = sandbox.spawn(command).finish();
        sandbox.assert_no_survivors();
        out.assert_code(0);
        assert!(
            ndjson_lines(&out.stderr_text()).is_empty(),
            "round {round}: events were spilled instead of recorded\n{}",
            out.describe()
        );
        let runs = query(&home.join("flowforge.db"), "SELECT outcome, exit_code FROM runs");
        assert_eq!(runs.len(), 1, "round {round}: {runs:?}");
        assert_eq!(
            runs[0].field("outcome").as_str(),
            Some("exited"),
            "round {round}: {runs:?}"
        );
    }
}

#[test]
fn v1_database_is_kept_and_extended() {
    let sandbox = Sandbox::new("ev-v1");
    std::fs::copy(v1_fixture(), sandbox.db()).expect("copy the fixture");
    let out = sandbox.run(&run_sh("exit 0"));
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "{}", out.describe());

    let runs = runs_json(&sandbox);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].int_of("id"), 2);
    assert_eq!(runs[0].str_of("outcome"), "exited");
    assert_eq!(runs[1].int_of("id"), 1);
    assert_eq!(runs[1].field("argv").as_array()[1].as_str(), Some("agent.py"));
    assert_eq!(runs[1].int_of("exit_code"), 143);
    // The old story is still there, and the new run has its own.
    assert_eq!(kinds_of_run(&sandbox.db(), 1).len(), 5);
    assert_eq!(
        kinds_of_run(&sandbox.db(), 2),
        [
            ("lifecycle".to_string(), "started".to_string()),
            ("lifecycle".to_string(), "exited".to_string())
        ]
    );
    let out = sandbox.run(&["show", "1"]);
    out.assert_code(0);
    assert!(
        out.stdout_text().contains("python3 agent.py"),
        "{}",
        out.describe()
    );
}

#[test]
fn newer_schema_is_refused_and_left_untouched() {
    let sandbox = Sandbox::new("ev-v999");
    let db = sandbox.db();
    std::fs::copy(v1_fixture(), &db).expect("copy the fixture");
    let out = sqlite3(&db, "PRAGMA user_version = 999");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&db).expect("read");
    let files = listing(&sandbox.home);

    let out = sandbox.run(&["runs"]);
    out.assert_code(125);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", out.describe());
    assert!(
        lines[0].contains(&db.display().to_string())
            && lines[0].contains("schema version 999")
            && lines[0].contains("the 2 this flowforge knows"),
        "the line names the file and both versions\n{}",
        out.describe()
    );

    let out = sandbox.run(&run_sh_with(&["--require-db"], "touch ran"));
    out.assert_code(125);
    assert!(out.stderr_text().contains("999"), "{}", out.describe());
    assert!(!sandbox.path("ran").exists());

    assert_eq!(
        std::fs::read(&db).expect("read back"),
        bytes,
        "the file was modified"
    );
    assert_eq!(listing(&sandbox.home), files, "files were created next to it");
}

// ---------------------------------------------------------------------------------------
// show, prune, permissions
// ---------------------------------------------------------------------------------------

#[test]
fn show_of_an_unknown_run_is_1_with_one_exact_line() {
    let sandbox = Sandbox::new("ev-show-unknown");
    sandbox.run(&["run", "--", "true"]).assert_code(0);
    let out = sandbox.run(&["show", "99999"]);
    out.assert_code(1);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert_eq!(
        out.stderr_text(),
        "flowforge: no run 99999; `flowforge runs` lists them\n"
    );
}

#[test]
fn show_tells_the_intervention_and_prune_deletes_ended_runs() {
    let sandbox = Sandbox::new("ev-show-prune");
    sandbox
        .run(&["run", "--timeout", "1s", "--", "sleep", "30"])
        .assert_code(124);
    let out = sandbox.run(&["show", "last"]);
    out.assert_code(0);
    let text = out.stdout_text();
    for needle in [
        "run 1: sleep 30",
        "timeout, exit 124",
        "decision/timeout",
        "action/tree_stop",
        "outcome/stopped",
        "flowforge intervened (1 decision, 1 action, 1 outcome)",
    ] {
        assert!(text.contains(needle), "no {needle:?} in show\n{text}");
    }

    let out = sandbox.run(&["prune", "--older-than", "0s"]);
    out.assert_code(0);
    assert!(
        out.stdout_text().starts_with("pruned 1 run(s)"),
        "{}",
        out.describe()
    );
    assert!(runs_json(&sandbox).is_empty(), "prune left runs behind");
    let out = sandbox.run(&["runs"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout_text().lines().count(),
        1,
        "only the header\n{}",
        out.describe()
    );
    assert!(query(&sandbox.db(), "SELECT id FROM events").is_empty());
}

#[test]
fn database_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new("ev-perms");
    let home = sandbox.path("state/flowforge");
    // A permissive umask: the modes must come from FlowForge, not from it.
    let mut command = sandbox.command_of(
        "sh",
        &["-c", "umask 000; exec \"$0\" \"$@\"", BIN, "run", "--", "true"],
    );
    command.env("FLOWFORGE_HOME", &home);
    let out = sandbox.spawn(command).finish();
    sandbox.assert_no_survivors();
    out.assert_code(0);
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    for dir in [sandbox.path("state"), home.clone()] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    let db = home.join("flowforge.db");
    assert_eq!(mode(&db), 0o600, "{}", db.display());
    for side in ["flowforge.db-wal", "flowforge.db-shm"] {
        let path = home.join(side);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}
