//! Redaction end to end: a looping job that prints real-shaped secrets, and carries a token
//! in its argv, is stopped; its output passes byte for byte, and none of the secrets reaches
//! the SQLite files (raw bytes of the database, its WAL and shared memory) or `flowforge
//! events --json`, where `[REDACTED:…]` stands in their place. Redaction must not blind the
//! detector: a loop whose every line carries a new token is still a loop.

use crate::common::*;
use std::path::Path;

/// Fake credentials in the shape of the real ones: random bodies, never live keys.
pub const SECRETS: &[(&str, &str)] = &[
    ("github", "ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP"),
    ("gitlab", "glpat-3ZLt4bnlz2MPKgcjnCqa"),
    ("slack", "xoxb-954611139309-5597297926224-6o0NpUmkVO8JmR8y4EMfAdgg"),
    ("slack webhook", "TC6QPZQ05/BS7LEIO49/P2NNern66nVberACpdclsxHK"),
    ("stripe", "sk_live_ifxi5CvQUSHL8iLc7bE6wSt9"),
    ("openai", "sk-proj-Y96vwfRE5e32A8Yb3FKaNQyyLaMeffOhq4AUvy7VSLDCD1If"),
    (
        "anthropic",
        "sk-ant-api03-HWGbtMfEbo9ShFXNQ6Fq5axtjRNmHkW5vQ7CF5puzQqmOBZZW6m4nyoL6uniiFw152cTe8r0khCEr7n1-AyOHFRAA",
    ),
    ("aws key id", "AKIAU2UECRCRWTBIZ3MB"),
    ("aws secret", "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"),
    ("gcp", "AIzaFXlNPHcSke4R1J_dBi2ewQr8t4-lC4LvGNW"),
    (
        "jwt",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ),
    ("url password", "Hunter2PassW0rd"),
    ("pem body", "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB"),
    ("password", "CorrectHorse9Battery"),
];

/// The token the job carries in its argv, as `--token VALUE` (two elements).
pub const ARGV_TOKEN: &str = "glpat-ArgvT0kenZ9y8x7w6v5u";
/// ... and as `--api-token=VALUE`.
pub const ARGV_PAT: &str = "github_pat_11ABCDEFG0aBcDeFgHiJkL_MnOpQrStUvWxYz0123456789aBcDeFgHiJkLmNoPqRsTuV";

/// One pass of the leaky loop: a 16-line cycle naming every secret of [`SECRETS`].
pub fn leaky_block() -> String {
    let s = |kind: &str| {
        SECRETS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
            .expect("a known kind")
    };
    [
        format!(
            "curl -H \"Authorization: Bearer {}\" https://api.github.com failed: 401, retrying",
            s("github")
        ),
        format!("git push with {} refused", s("gitlab")),
        format!("slack client {} rate limited", s("slack")),
        format!(
            "POST https://hooks.slack.com/services/{} -> 404",
            s("slack webhook")
        ),
        format!("stripe.charge({}) declined", s("stripe")),
        format!("OPENAI_API_KEY={} invalid", s("openai")),
        format!("anthropic key {} rejected", s("anthropic")),
        format!("aws: {} not authorised", s("aws key id")),
        format!("aws_secret_access_key = {}", s("aws secret")),
        format!("maps?key={}&q=x failed", s("gcp")),
        format!("session {} expired", s("jwt")),
        format!(
            "connect postgres://app:{}@db:5432/app: refused",
            s("url password")
        ),
        "-----BEGIN RSA PRIVATE KEY-----".to_string(),
        s("pem body").to_string(),
        "-----END RSA PRIVATE KEY-----".to_string(),
        format!("login password={} failed, retrying", s("password")),
    ]
    .iter()
    .map(|line| format!("{line}\n"))
    .collect()
}

/// `flowforge run [options] -- sh LOOP --token T --api-token=P`: the block, forever.
pub fn leaky_loop_args(sandbox: &Sandbox, options: &[&str]) -> Vec<String> {
    let block = sandbox.path("block.txt");
    std::fs::write(&block, leaky_block()).expect("write the block");
    let script = write_file(
        &sandbox.home,
        "leaky.sh",
        "while :; do cat block.txt; sleep 0.01; done\n",
        0o644,
    );
    let mut args = vec!["run".to_string()];
    args.extend(options.iter().map(|s| s.to_string()));
    args.extend(
        [
            "--",
            "sh",
            &script.to_string_lossy(),
            "--token",
            ARGV_TOKEN,
            &format!("--api-token={ARGV_PAT}"),
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args
}

/// Every secret of the loop, and of its argv.
pub fn all_secrets() -> Vec<&'static str> {
    SECRETS
        .iter()
        .map(|(_, v)| *v)
        .chain([ARGV_TOKEN, ARGV_PAT])
        .collect()
}

/// Asserts that stdout is whole passes of `block` followed by a prefix of one.
pub fn assert_passes_of(stdout: &[u8], block: &str) {
    let block = block.as_bytes();
    assert!(
        stdout.len() >= block.len(),
        "not one whole pass: {} bytes",
        stdout.len()
    );
    for (n, chunk) in stdout.chunks(block.len()).enumerate() {
        assert_eq!(chunk, &block[..chunk.len()], "pass {n} differs");
    }
}

/// The secrets found in the raw bytes of the database and its side files.
fn leaks_in_files(db: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = db.with_file_name(format!("flowforge.db{suffix}"));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for secret in all_secrets() {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                found.push(format!("{secret} in {}", path.display()));
            }
        }
    }
    found
}

#[test]
fn secrets_of_a_stopped_loop_reach_neither_the_store_nor_the_export() {
    let sandbox = Sandbox::new("redact-loop");
    let out = sandbox.run(&leaky_loop_args(&sandbox, &[]));
    out.assert_code(124);
    assert_passes_of(&out.stdout, &leaky_block());
    for secret in SECRETS.iter().map(|(_, v)| v) {
        assert!(
            out.stdout_text().contains(secret),
            "the passthrough lost {secret}"
        );
    }
    for secret in all_secrets() {
        assert!(
            !out.stderr_text().contains(secret),
            "stderr shows {secret}:\n{}",
            out.stderr_text()
        );
    }
    let leaks = leaks_in_files(&sandbox.db());
    assert!(leaks.is_empty(), "secrets in the database files: {leaks:#?}");

    let events = sandbox.run(&["events", "--json"]);
    events.assert_code(0);
    let text = events.stdout_text();
    for secret in all_secrets() {
        assert!(!text.contains(secret), "events --json shows {secret}");
    }
    let redactions = text.matches("[REDACTED:").count();
    assert!(redactions >= 10, "only {redactions} redactions in\n{text}");

    // The cycle is in the decision, in order, with its stream.
    let decision = ndjson_lines(&text)
        .into_iter()
        .find(|e| e.str_of("category") == "decision")
        .expect("a decision");
    let cycle = decision.field("payload").field("cycle").as_array().to_vec();
    assert_eq!(cycle.len(), 16, "{decision:?}");
    assert_eq!(
        cycle[0].str_of("line"),
        "curl -H \"Authorization: Bearer [REDACTED:authorization]\" https://api.github.com failed: 401, retrying"
    );
    assert_eq!(cycle[13].str_of("line"), "[REDACTED:private_key]");
    assert!(cycle.iter().all(|l| l.str_of("stream") == "stdout"));

    let runs = sandbox.run(&["runs", "--json"]);
    let argv = runs.stdout_text();
    assert!(
        argv.contains("\"[REDACTED:token]\"") && argv.contains("--api-token=[REDACTED:"),
        "{argv}"
    );

    let show = sandbox.run(&["show", "last"]);
    show.assert_code(0);
    let story = show.stdout_text();
    assert!(story.contains("the repeating lines (16-line cycle):"), "{story}");
    assert!(
        story.contains("stdout | login password=[REDACTED:password] failed, retrying"),
        "{story}"
    );
    assert!(story.contains("last lines before the stop:"), "{story}");
    for secret in all_secrets() {
        assert!(!story.contains(secret), "show prints {secret}");
    }
}

#[test]
fn no_redact_keeps_raw_evidence_and_says_so() {
    let sandbox = Sandbox::new("redact-off");
    let out = sandbox.run(&leaky_loop_args(&sandbox, &["--no-redact"]));
    out.assert_code(124);
    let events = sandbox.run(&["events", "--json"]).stdout_text();
    let started = ndjson_lines(&events)
        .into_iter()
        .find(|e| e.str_of("kind") == "started")
        .expect("a started event");
    assert_eq!(started.field("payload").str_of("redaction"), "off");
    let runs = sandbox.run(&["runs", "--json"]).stdout_text();
    assert!(runs.contains(ARGV_TOKEN), "the raw argv is kept: {runs}");
    assert!(events.contains(SECRETS[0].1), "the raw cycle is kept");
}

#[test]
fn a_secret_split_across_two_writes_is_still_redacted() {
    let sandbox = Sandbox::new("redact-split");
    let (head, tail) = SECRETS[0].1.split_at(17);
    // The halves come from the environment, so the command line holds neither.
    let script =
        "while :; do printf 'auth %s' \"$HEAD\"; sleep 0.02; printf '%s failed, retrying\\n' \"$TAIL\"; done";
    let mut command = sandbox.command(&["run", "--", "sh", "-c", script]);
    command.env("HEAD", head).env("TAIL", tail);
    let out = sandbox.spawn(command).finish();
    sandbox.assert_no_survivors();
    out.assert_code(124);
    assert!(
        out.stdout_text().contains(SECRETS[0].1),
        "the passthrough keeps it whole"
    );
    let leaks = leaks_in_files(&sandbox.db());
    assert!(leaks.is_empty(), "{leaks:#?}");
    let text = sandbox.run(&["events", "--json"]).stdout_text();
    assert!(!text.contains(head) && !text.contains(tail), "{text}");
    assert!(
        text.contains("auth [REDACTED:github_token] failed, retrying"),
        "{text}"
    );
}

#[test]
fn a_loop_with_a_new_token_on_every_line_is_still_a_loop() {
    let sandbox = Sandbox::new("redact-rotating");
    let program = "import secrets, sys, time\n\
                   while True:\n    \
                       print(f'auth failed for ghp_{secrets.token_hex(18)}, retrying', flush=True)\n    \
                       time.sleep(0.005)\n";
    let out = sandbox.run(&["run", "--", python(), "-c", program]);
    out.assert_code(124);
    let text = sandbox.run(&["events", "--json"]).stdout_text();
    assert!(
        text.contains("auth failed for [REDACTED:github_token], retrying"),
        "{text}"
    );
    let stdout = out.stdout_text();
    let printed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .map(|t| t.trim_end_matches(','))
        .collect();
    assert!(printed.len() > 10);
    for token in printed {
        assert!(!text.contains(token), "{token} reached the events");
    }
}

#[test]
fn events_spilled_to_stderr_are_redacted_too() {
    // The database path is a directory: the run goes on and prints its events as NDJSON.
    let sandbox = Sandbox::new("redact-spill");
    std::fs::create_dir(sandbox.db()).expect("a directory where the database should be");
    let out = sandbox.run(&leaky_loop_args(&sandbox, &[]));
    out.assert_code(124);
    let spilled: Vec<Json> = ndjson_lines(
        &out.stderr_lines()
            .into_iter()
            .filter(|l| l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(
        spilled.iter().any(|e| e.str_of("category") == "decision"),
        "the decision is spilled\n{}",
        out.describe()
    );
    let err = out.stderr_text();
    for secret in all_secrets() {
        assert!(!err.contains(secret), "stderr shows {secret}");
    }
    assert!(err.matches("[REDACTED:").count() >= 10, "{err}");
}
