//! `flowforge export` and `flowforge verify` end to end: a stopped loop's bundle verifies;
//! one digit of one message changed in the bundle, or a row edited or deleted in the
//! database behind SQLite's triggers, is caught and the event named; a file that is not a
//! bundle exits 2.

use crate::common::*;
use crate::redaction::{all_secrets, leaky_loop_args};

fn export(sandbox: &Sandbox, name: &str) -> std::path::PathBuf {
    let file = sandbox.path(name);
    let out = sandbox.run(&["export", "last", "--out", &file.to_string_lossy()]);
    out.assert_code(0);
    assert!(out.stderr_text().contains("exported run"), "{}", out.describe());
    file
}

fn verify(sandbox: &Sandbox, file: &std::path::Path) -> Outcome {
    sandbox.run(&["verify", &file.to_string_lossy()])
}

#[test]
fn a_stopped_loop_exports_and_verifies_and_one_changed_digit_breaks_it() {
    let sandbox = Sandbox::new("export-loop");
    sandbox.run(&leaky_loop_args(&sandbox, &[])).assert_code(124);
    let file = export(&sandbox, "run.ffbundle");
    let text = std::fs::read_to_string(&file).expect("read the bundle");
    for secret in all_secrets() {
        assert!(!text.contains(secret), "the bundle carries {secret}");
    }
    let manifest = Json::expect(text.lines().next().expect("a manifest"));
    assert_eq!(manifest.int_of("flowforge_bundle"), 1);
    assert_eq!(manifest.str_of("redaction"), "on");
    assert_eq!(manifest.str_of("chain_head").len(), 64);
    let ok = verify(&sandbox, &file);
    ok.assert_code(0);
    assert!(ok.stdout_text().starts_with("ok: run 1, "), "{}", ok.describe());

    // One digit of one message: "exit 124" in the outcome becomes "exit 125".
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"stopped\"") && l.contains("exit 124"))
        .expect("the outcome line");
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[at] = edited[at].replacen("exit 124", "exit 125", 1);
    let tampered = sandbox.path("tampered.ffbundle");
    std::fs::write(&tampered, edited.join("\n") + "\n").expect("write");
    let broken = verify(&sandbox, &tampered);
    broken.assert_code(1);
    let id = Json::expect(lines[at]).int_of("id");
    assert_eq!(
        broken.stdout_text().trim(),
        format!("broken: event {at} (id {id}): its content does not match its hash: it was changed after it was recorded")
    );
}

#[test]
fn rows_changed_in_the_database_are_caught_in_the_export() {
    let sandbox = Sandbox::new("export-db-tamper");
    sandbox
        .run(&[
            "run",
            "--",
            "sh",
            "-c",
            "while :; do echo 'retry 3 failed'; sleep 0.01; done",
        ])
        .assert_code(124);
    let db = sandbox.db();
    let clean = export(&sandbox, "clean.ffbundle");
    verify(&sandbox, &clean).assert_code(0);

    // Someone with the file edits a message, around the append-only trigger.
    let out = sqlite3(
        &db,
        "DROP TRIGGER events_no_update; UPDATE events SET message = 'nothing happened' WHERE id = 2;",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let edited = verify(&sandbox, &export(&sandbox, "edited.ffbundle"));
    edited.assert_code(1);
    assert!(
        edited
            .stdout_text()
            .starts_with("broken: event 2 (id 2): its content"),
        "{}",
        edited.describe()
    );

    // ... or deletes the decision.
    let out = sqlite3(
        &db,
        "DROP TRIGGER events_no_delete; DELETE FROM events WHERE id = 2;",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let deleted = verify(&sandbox, &export(&sandbox, "deleted.ffbundle"));
    deleted.assert_code(1);
    assert!(
        deleted
            .stdout_text()
            .starts_with("broken: event 2 (id 3): it does not follow the event before it"),
        "{}",
        deleted.describe()
    );
}

#[test]
fn export_to_stdout_and_files_that_are_not_bundles() {
    let sandbox = Sandbox::new("export-stdout");
    sandbox.run(&["run", "--", "true"]).assert_code(0);
    let out = sandbox.run(&["export", "last"]);
    out.assert_code(0);
    let lines = ndjson_lines(&out.stdout_text());
    assert_eq!(lines.len(), 1 + lines[0].int_of("events") as usize);
    assert!(lines[1..]
        .iter()
        .all(|e| e.str_of("hash").len() == 64 && e.str_of("prev_hash").len() == 64));

    let events = sandbox.path("events.ndjson");
    let listed = sandbox.run(&["events", "--json"]);
    std::fs::write(&events, &listed.stdout).expect("write");
    let missing = sandbox.path("missing.ffbundle");
    for file in [&events, &missing] {
        let out = verify(&sandbox, file);
        out.assert_code(2);
        assert!(
            out.stderr_text().contains("is not a flowforge bundle"),
            "{}",
            out.describe()
        );
    }
    sandbox.run(&["export", "99"]).assert_code(1);
}
