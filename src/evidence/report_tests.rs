//! Tests of the CLI reports on the committed v1 fixture and on live recorder databases.
//!
//! Beside `report.rs` only to keep that file readable; these are its unit tests.

use super::*;
use crate::evidence::event::{Actor, Category, Event};
use crate::evidence::location::open;
use crate::evidence::testutil::TempDir;
use crate::evidence::{NewRun, Recorder, RunEnd};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const V1_DB: &[u8] = include_bytes!("../../tests/data/v1.db");

fn fixture(tag: &str) -> (TempDir, Connection) {
    let tmp = TempDir::new(tag);
    std::fs::write(tmp.db(), V1_DB).expect("copy fixture");
    let conn = open(&tmp.db()).expect("open fixture copy");
    (tmp, conn)
}

fn text(f: impl FnOnce(&mut dyn Write) -> Result<(), EvidenceError>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("report");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn runs_table_and_json() {
    let (_tmp, conn) = fixture("rep-runs");
    let table = text(|out| runs(&conn, 20, false, out));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].contains("ID") && lines[0].contains("COMMAND"), "{table}");
    for part in [
        "1",
        "2024-06-01T10:00:00Z",
        "31.2s",
        "stopped",
        "143",
        "python3 agent.py --task 'fix tests'",
    ] {
        assert!(lines[1].contains(part), "{part} missing: {table}");
    }
    let json: Value = serde_json::from_str(&text(|out| runs(&conn, 20, true, out))).expect("JSON");
    let run = &json[0];
    assert_eq!(run["id"], 1);
    assert_eq!(run["argv"], json!(["python3", "agent.py", "--task", "fix tests"]));
    assert_eq!(run["duration_ms"], 31_210);
    assert_eq!(run["outcome"], "stopped");
    assert_eq!(run["started_at"], "2024-06-01T10:00:00.000Z");
    assert_eq!(text(|out| runs(&conn, 0, true, out)).trim(), "[]");
}

#[test]
fn show_tells_the_story() {
    let (_tmp, conn) = fixture("rep-show");
    let story = text(|out| show(&conn, RunRef::Last, out));
    for part in [
        "run 1: python3 agent.py --task 'fix tests'",
        "in       /home/dev/project",
        "mode kill, pid 4242",
        "after 31.2s: stopped, exit 143",
        "+30.0s",
        "decision/runaway",
        "repeats=120",
        "action/tree_stop",
        "outcome/stopped",
        "flowforge intervened (1 decision, 1 action, 1 outcome); the run ended stopped",
        "with exit 143",
        "resources (4 samples over 29.0s)",
        "peak 98.0 %",
        "peak 110.0 MiB",
        "processes  peak 3",
    ] {
        assert!(story.contains(part), "{part:?} missing:\n{story}");
    }
    assert_eq!(story, text(|out| show(&conn, RunRef::Id(1), out)));
}

#[test]
fn unknown_runs_are_typed_errors() {
    let (_tmp, conn) = fixture("rep-unknown");
    let err = show(&conn, RunRef::Id(99), &mut Vec::new()).expect_err("no run 99");
    assert_eq!(err.to_string(), "no run 99; `flowforge runs` lists them");
    let err = events(&conn, Some(RunRef::Id(99)), true, false, &mut Vec::new()).expect_err("no run 99");
    assert!(matches!(err, EvidenceError::NoRun(99)), "{err:?}");

    let tmp = TempDir::new("rep-empty");
    let conn = open(&tmp.db()).expect("open empty");
    let err = show(&conn, RunRef::Last, &mut Vec::new()).expect_err("empty database");
    assert!(matches!(err, EvidenceError::NoRuns), "{err:?}");
}

#[test]
fn events_json_has_the_stable_fields() {
    let (_tmp, conn) = fixture("rep-events");
    let ndjson = text(|out| events(&conn, None, true, false, out));
    let lines: Vec<&str> = ndjson.lines().collect();
    assert_eq!(lines.len(), 5, "{ndjson}");
    let keys = [
        "id", "run_id", "at_ms", "at", "category", "kind", "actor", "message", "payload",
    ];
    for line in &lines {
        let v: Value = serde_json::from_str(line).expect("each line is JSON");
        let mut got: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = keys.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(
            got, want,
            "same field names (the order is checked on the raw line below)"
        );
    }
    assert!(
        lines[1].starts_with(
            "{\"id\":2,\"run_id\":1,\"at_ms\":1717236030000,\"at\":\"2024-06-01T10:00:30.000Z\",\
         \"category\":\"decision\",\"kind\":\"runaway\",\"actor\":\"detector\","
        ),
        "{}",
        lines[1]
    );
    let human = text(|out| events(&conn, Some(RunRef::Id(1)), false, false, out));
    assert!(
        human.contains("2024-06-01T10:00:30.000Z  run 1  decision/runaway  detector  the same"),
        "{human}"
    );
}

#[test]
fn follow_a_run_until_it_ends() {
    let tmp = TempDir::new("rep-follow");
    let path = tmp.db();
    let run = NewRun::new(vec!["job".into()], Path::new("/"), "kill");
    let (rec, run_id) = Recorder::start(&path, run).expect("start");
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let (path, stop) = (path.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let conn = open(&path).expect("follower open");
            let mut out = Vec::new();
            events_until(&conn, Some(RunRef::Id(run_id.0)), true, true, &stop, &mut out).expect("follow");
            String::from_utf8(out).expect("utf-8")
        })
    };
    for i in 0..6 {
        let e = Event::new(
            Category::Control,
            "pause",
            Actor::User,
            format!("step {i}"),
            json!({ "i": i }),
        );
        rec.record(e);
        thread::sleep(Duration::from_millis(120));
    }
    let report = rec.finish_to(
        RunEnd::now(Some(0), "exited"),
        Duration::from_secs(10),
        &mut Vec::new(),
    );
    assert_eq!(report.written_events, 6);
    // Safety net only: the follower must end by itself once the run has ended.
    let started = Instant::now();
    while !follower.is_finished() && started.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(20));
    }
    let ended_by_itself = follower.is_finished();
    stop.store(true, Ordering::Relaxed);
    let out = follower.join().expect("follower");
    assert!(ended_by_itself, "follow did not stop at the run's end");
    let messages: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON")["message"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(messages, (0..6).map(|i| format!("step {i}")).collect::<Vec<_>>());
}

#[test]
fn follow_everything_stops_on_the_flag() {
    let (_tmp, conn) = fixture("rep-follow-all");
    let stop = AtomicBool::new(true);
    let mut out = Vec::new();
    events_until(&conn, None, true, true, &stop, &mut out).expect("follow");
    assert_eq!(String::from_utf8(out).expect("utf-8").lines().count(), 5);
}

#[test]
fn pure_helpers() {
    let argv: Vec<String> = ["sh", "-c", "echo 'hi'", ""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(command_line(&argv), "sh -c 'echo '\\''hi'\\''' ''");
    assert_eq!(truncate("abcdef", 4), "abc…");
    assert_eq!(truncate("abc", 4), "abc");
    assert_eq!(sparkline(&[0.0, 50.0, 100.0], 40), "▁▅█");
    assert_eq!(sparkline(&[1.0; 100], 10).chars().count(), 10);
    assert_eq!(sparkline(&[], 10), "");
    assert_eq!(
        key_numbers(&json!({"a": 1, "b": "x", "c": {"d": 2}})),
        "  a=1  b=x"
    );
    assert_eq!(key_numbers(&json!(3)), "");
}
