//! The hash chain that makes a run's events tamper-evident.
//!
//! Each event's `hash` is SHA-256 over the previous event's hash (32 bytes) followed by the
//! event's canonical JSON; the first event of a run follows the run's *genesis*, SHA-256 of
//! a fixed tag and the canonical JSON of the run's start. Changing, removing, inserting or
//! reordering any event therefore changes every hash after it, and the last hash — the
//! chain head — stands for the whole run: whoever holds a copy of the head can tell whether
//! a run they are shown later is the one that was recorded.
//!
//! Canonical JSON is serde_json's compact form of an object with its keys in sorted order:
//! `{"actor":…,"at_ms":…,"category":…,"id":…,"kind":…,"message":…,"payload":…,"run_id":…}`,
//! where
//! the payload is itself compact with sorted keys (serde_json's map is a `BTreeMap`, and the
//! `float_roundtrip` feature makes parse-then-print of a number exact, so a payload read
//! back from the database or a bundle prints to the same bytes). The row id is part of it:
//! the writer assigns ids itself (one more than the largest, inside the write transaction,
//! which is what SQLite would pick), so a bundle cannot renumber events either.
//!
//! What is hashed is what is stored: the redacted text. The hashes are computed by the
//! writer thread inside the transaction that inserts the events, reading the run's last
//! hash from the database first, so a second writer to the same run (there is none today)
//! would continue the chain rather than fork it.

use super::sha256::{self, Digest, Sha256};
use serde_json::{json, Value};

/// Tag of the genesis hash, versioned so a future chain format cannot be confused with this.
const GENESIS_TAG: &[u8] = b"flowforge-chain-v1\n";

/// What the genesis hash covers: the `runs` row as it is when the run starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStart {
    pub id: i64,
    pub argv: Vec<String>,
    pub cwd: String,
    pub started_at_ms: i64,
    pub mode: String,
    pub flowforge_version: String,
    /// `Some("on")`/`Some("off")`; `None` for a run recorded before redaction existed.
    pub redaction: Option<String>,
}

/// The hash the first event of `run` links to.
pub fn genesis(run: &RunStart) -> Digest {
    let canonical = json!({
        "argv": run.argv,
        "cwd": run.cwd,
        "flowforge_version": run.flowforge_version,
        "id": run.id,
        "mode": run.mode,
        "redaction": run.redaction,
        "started_at_ms": run.started_at_ms,
    })
    .to_string();
    let mut hasher = Sha256::new();
    hasher.update(GENESIS_TAG);
    hasher.update(canonical.as_bytes());
    hasher.finish()
}

/// The fields of one event that the chain covers, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    /// The row id: the writer assigns it inside the insert's transaction.
    pub id: i64,
    pub run_id: i64,
    pub at_ms: i64,
    pub category: &'a str,
    pub kind: &'a str,
    pub actor: &'a str,
    pub message: &'a str,
    /// The payload's compact JSON, as `Value::to_string` prints it.
    pub payload: &'a str,
}

impl Link<'_> {
    /// The canonical JSON of the event.
    pub fn canonical(&self) -> String {
        let s = |text: &str| Value::from(text).to_string();
        format!(
            "{{\"actor\":{},\"at_ms\":{},\"category\":{},\"id\":{},\"kind\":{},\"message\":{},\"payload\":{},\"run_id\":{}}}",
            s(self.actor),
            self.at_ms,
            s(self.category),
            self.id,
            s(self.kind),
            s(self.message),
            self.payload,
            self.run_id
        )
    }

    /// This event's hash when it follows `prev`.
    pub fn hash(&self, prev: &Digest) -> Digest {
        let mut hasher = Sha256::new();
        hasher.update(prev);
        hasher.update(self.canonical().as_bytes());
        hasher.finish()
    }
}

pub use sha256::{hex, parse_hex};

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunStart {
        RunStart {
            id: 7,
            argv: vec!["sh".into(), "-c".into(), "echo hi".into()],
            cwd: "/tmp".into(),
            started_at_ms: 1_717_236_000_000,
            mode: "kill".into(),
            flowforge_version: "0.1.0".into(),
            redaction: Some("on".into()),
        }
    }

    #[test]
    fn canonical_json_is_sorted_and_compact() {
        let payload = json!({"z": 1, "a": [0.1, 2.5e-7], "m": {"y": null, "b": "é\n"}}).to_string();
        let link = Link {
            id: 3,
            run_id: 7,
            at_ms: 5,
            category: "decision",
            kind: "runaway",
            actor: "detector",
            message: "say \"hi\"",
            payload: &payload,
        };
        assert_eq!(
            link.canonical(),
            "{\"actor\":\"detector\",\"at_ms\":5,\"category\":\"decision\",\"id\":3,\"kind\":\"runaway\",\
             \"message\":\"say \\\"hi\\\"\",\"payload\":{\"a\":[0.1,2.5e-7],\"m\":{\"b\":\"é\\n\",\"y\":null},\"z\":1},\
             \"run_id\":7}"
        );
    }

    #[test]
    fn payloads_print_the_same_after_a_round_trip() {
        for text in [
            r#"{"confidence":0.9999999999821676,"ran_s":1.253072687,"x":1e300,"n":-0.0}"#,
            r#"{"cpu_percent":15.078,"lines":[{"line":"a\u001bb"}],"big":18446744073709551615}"#,
        ] {
            let once = serde_json::from_str::<Value>(text).expect("json").to_string();
            let twice = serde_json::from_str::<Value>(&once).expect("json").to_string();
            assert_eq!(once, twice);
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let g = genesis(&run());
        let mut other = run();
        other.argv.push("x".into());
        assert_ne!(genesis(&other), g);
        let base = Link {
            id: 1,
            run_id: 7,
            at_ms: 5,
            category: "action",
            kind: "tree_stop",
            actor: "detector",
            message: "sent SIGTERM to 2 processes",
            payload: "{\"signalled\":2}",
        };
        let h = base.hash(&g);
        assert_ne!(
            Link {
                message: "sent SIGTERM to 3 processes",
                ..base
            }
            .hash(&g),
            h
        );
        assert_ne!(Link { at_ms: 6, ..base }.hash(&g), h);
        assert_ne!(Link { id: 2, ..base }.hash(&g), h);
        assert_ne!(
            Link {
                payload: "{\"signalled\":3}",
                ..base
            }
            .hash(&g),
            h
        );
        assert_ne!(base.hash(&sha256::digest(b"another prev")), h);
        assert_eq!(base.hash(&g), h, "deterministic");
    }
}
