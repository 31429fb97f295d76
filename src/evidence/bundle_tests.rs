//! Export and verify on real recorder databases: an intact bundle verifies, and each kind of
//! tampering — one byte edited, a line deleted, two lines swapped, the file truncated, the
//! manifest's run edited — is caught and located.

use super::*;
use crate::evidence::event::{Actor, Category, Event};
use crate::evidence::location::open;
use crate::evidence::testutil::TempDir;
use crate::evidence::{NewRun, Recorder, RunEnd};
use std::path::Path;
use std::time::Duration;

/// A run of `n` events with floats, nested payloads and non-ASCII text, exported.
fn bundle(tag: &str, n: usize) -> (TempDir, Vec<u8>) {
    let tmp = TempDir::new(tag);
    let run = NewRun::new(vec!["job".into(), "--flag".into()], Path::new("/tmp"), "kill");
    let (rec, run_id) = Recorder::start(&tmp.db(), run).expect("start");
    for i in 0..n {
        rec.record(Event::new(
            Category::Decision,
            "runaway",
            Actor::Detector,
            format!("step {i} of 1000: “loop” détecté"),
            json!({"i": i, "confidence": 0.1 + 0.2 * i as f64, "cycle": [{"line": format!("l\u{1b}{i}")}]}),
        ));
    }
    let report = rec.finish_to(
        RunEnd::now(Some(124), "stopped"),
        Duration::from_secs(10),
        &mut Vec::new(),
    );
    assert_eq!(report.written_events, n as u64);
    let conn = open(&tmp.db()).expect("open");
    let mut out = Vec::new();
    let exported = export(&conn, RunRef::Id(run_id.0), &mut out).expect("export");
    assert_eq!((exported.events, exported.unchained), (n, 0));
    (tmp, out)
}

fn verdict(bytes: &[u8]) -> Verdict {
    verify(&mut &bytes[..])
}

fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect()
}

fn broken_at(verdict: &Verdict) -> (usize, String) {
    match verdict {
        Verdict::Broken { event, why, .. } => (*event, why.clone()),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[test]
fn an_intact_bundle_verifies() {
    let (_tmp, bytes) = bundle("bundle-ok", 6);
    match verdict(&bytes) {
        Verdict::Intact {
            events,
            chain_head,
            redaction,
            ..
        } => {
            assert_eq!(events, 6);
            assert_eq!(chain_head.len(), 64);
            assert_eq!(redaction.as_deref(), Some("on"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(verdict(&bytes).exit_code(), 0);
}

#[test]
fn one_edited_digit_is_located() {
    let (_tmp, bytes) = bundle("bundle-byte", 6);
    let mut lines = split_lines(&bytes);
    let text = String::from_utf8(lines[3].clone()).expect("utf-8");
    lines[3] = text.replacen("step 2 of 1000", "step 2 of 1001", 1).into_bytes();
    let v = verdict(&join(&lines));
    assert_eq!(
        broken_at(&v),
        (
            3,
            "its content does not match its hash: it was changed after it was recorded".to_string()
        )
    );
    assert_eq!(v.exit_code(), 1);
    // Any single byte of any event line, changed, breaks the chain at that event.
    let original = split_lines(&bytes);
    for (n, line) in original.iter().enumerate().skip(1) {
        for at in (0..line.len()).step_by(7) {
            let mut edited = original.clone();
            edited[n][at] ^= 0x01;
            let v = verdict(&join(&edited));
            assert!(
                matches!(v, Verdict::Broken { event, .. } if event == n),
                "line {n} byte {at}: {v:?}"
            );
        }
    }
}

#[test]
fn a_deleted_line_is_located() {
    let (_tmp, bytes) = bundle("bundle-delete", 6);
    let mut lines = split_lines(&bytes);
    lines.remove(3);
    let (event, why) = broken_at(&verdict(&join(&lines)));
    assert_eq!(event, 3);
    assert!(why.contains("removed, inserted or moved"), "{why}");
}

#[test]
fn swapped_lines_are_located() {
    let (_tmp, bytes) = bundle("bundle-swap", 6);
    let mut lines = split_lines(&bytes);
    lines.swap(2, 4);
    let (event, why) = broken_at(&verdict(&join(&lines)));
    assert_eq!(event, 2);
    assert!(why.contains("removed, inserted or moved"), "{why}");
}

#[test]
fn truncation_is_located() {
    let (_tmp, bytes) = bundle("bundle-truncate", 6);
    // At a line end: the last events are missing.
    let lines = split_lines(&bytes);
    let (event, why) = broken_at(&verdict(&join(&lines[..5])));
    assert_eq!(event, 5);
    assert!(why.contains("truncated"), "{why}");
    // Mid-line: the cut line is not an event.
    let cut = &bytes[..bytes.len() - 40];
    let (event, why) = broken_at(&verdict(cut));
    assert_eq!(event, 6);
    assert!(why.contains("cut or edited"), "{why}");
}

#[test]
fn an_edited_run_in_the_manifest_is_caught() {
    let (_tmp, bytes) = bundle("bundle-manifest", 3);
    let mut lines = split_lines(&bytes);
    let text = String::from_utf8(lines[0].clone()).expect("utf-8");
    lines[0] = text.replacen("--flag", "--other", 1).into_bytes();
    let (event, why) = broken_at(&verdict(&join(&lines)));
    assert_eq!(event, 1);
    assert!(why.contains("manifest's run"), "{why}");
}

#[test]
fn not_a_bundle() {
    for bytes in [&b""[..], b"hello\n", b"{\"id\":1}\n", &[0xff, 0xfe, b'\n']] {
        let v = verdict(bytes);
        assert!(matches!(v, Verdict::NotABundle(_)), "{v:?}");
        assert_eq!(v.exit_code(), 2);
    }
}
