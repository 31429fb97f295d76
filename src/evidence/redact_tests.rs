//! Table-driven tests of the redactor: real-shaped fake secrets that must go, near misses
//! that must stay, and bad input that must not panic.

use super::*;
use serde_json::json;

/// Fake credentials in the shape of the real ones (random bodies, not live keys).
pub(crate) const GITHUB: &str = "ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP";
const GITHUB_OAUTH: &str = "gho_VNPkNa1Hedcm4pMbXDuCL1mHoOsFaQfDPrAJ";
const GITHUB_PAT: &str =
    "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";
const GITLAB: &str = "glpat-3ZLt4bnlz2MPKgcjnCqa";
const SLACK: &str = "xoxb-954611139309-5597297926224-6o0NpUmkVO8JmR8y4EMfAdgg";
const SLACK_HOOK: &str = "https://hooks.slack.com/services/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";
const STRIPE: &str = "sk_live_ifxi5CvQUSHL8iLc7bE6wSt9";
const STRIPE_RESTRICTED: &str = "rk_live_cbMOeEeUtuieeCIxVc57VVTi";
const OPENAI: &str = "sk-proj-Y96vwfRE5e32A8Yb3FKaNQyyLaMeffOhq4AUvy7VSLDCD1If";
const ANTHROPIC: &str =
    "sk-ant-api03-HWGbtMfEbo9ShFXNQ6Fq5axtjRNmHkW5vQ7CF5puzQqmOBZZW6m4nyoL6uniiFw152cTe8r0khCEr7n1-AyOHFRAA";
const AWS_KEY_ID: &str = "AKIAU2UECRCRWTBIZ3MB";
const AWS_SECRET: &str = "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";
const GCP_KEY: &str = "AIzaFXlNPHcSke4R1J_dBi2ewQr8t4-lC4LvGNW";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

fn r(text: &str) -> String {
    redact(text).into_owned()
}

#[test]
fn secrets_are_replaced_by_their_kind() {
    let cases: Vec<(String, String)> = vec![
        (format!("token {GITHUB} ok"), "token [REDACTED:github_token] ok".into()),
        (format!("oauth={GITHUB_OAUTH}"), "oauth=[REDACTED:github_token]".into()),
        (format!("using {GITHUB_PAT}"), "using [REDACTED:github_token]".into()),
        (format!("gitlab {GITLAB}."), "gitlab [REDACTED:gitlab_token].".into()),
        (format!("slack {SLACK}"), "slack [REDACTED:slack_token]".into()),
        (
            format!("POST {SLACK_HOOK} failed"),
            "POST https://hooks.slack.com/services/[REDACTED:slack_webhook] failed".into(),
        ),
        (format!("stripe {STRIPE}"), "stripe [REDACTED:stripe_key]".into()),
        (format!("({STRIPE_RESTRICTED})"), "([REDACTED:stripe_key])".into()),
        (format!("OPENAI_KEY {OPENAI}"), "OPENAI_KEY [REDACTED:openai_key]".into()),
        (format!("x {ANTHROPIC}"), "x [REDACTED:anthropic_key]".into()),
        (format!("id {AWS_KEY_ID} used"), "id [REDACTED:aws_access_key_id] used".into()),
        (
            format!("aws_secret_access_key = {AWS_SECRET}"),
            "aws_secret_access_key = [REDACTED:aws_secret_key]".into(),
        ),
        (
            format!("AWS_SECRET_ACCESS_KEY={AWS_SECRET}"),
            "AWS_SECRET_ACCESS_KEY=[REDACTED:aws_secret_key]".into(),
        ),
        (format!("key={GCP_KEY}&q=1"), "key=[REDACTED:gcp_api_key]&q=1".into()),
        (format!("jwt {JWT} expired"), "jwt [REDACTED:jwt] expired".into()),
        (
            format!("curl -H \"Authorization: Bearer {GITHUB}\" https://api.github.com failed: 401, retrying"),
            "curl -H \"Authorization: Bearer [REDACTED:authorization]\" https://api.github.com failed: 401, retrying"
                .into(),
        ),
        (
            "authorization: Basic dXNlcjpodW50ZXIy".into(),
            "authorization: Basic [REDACTED:authorization]".into(),
        ),
        (
            "sending bearer abcdefgh12345678.xyz now".into(),
            "sending bearer [REDACTED:bearer] now".into(),
        ),
        (
            "cloning https://deploy:s3cr3t-p4ss@git.example.com/repo.git".into(),
            "cloning https://deploy:[REDACTED:url_password]@git.example.com/repo.git".into(),
        ),
        (
            "postgres://app:hunter2@db:5432/app".into(),
            "postgres://app:[REDACTED:url_password]@db:5432/app".into(),
        ),
        ("login password=hunter2 ok".into(), "login password=[REDACTED:password] ok".into()),
        ("Password: hunter2".into(), "Password: [REDACTED:password]".into()),
        (
            "{\"client_secret\": \"abc\\\"def\", \"n\": 1}".into(),
            "{\"client_secret\": \"[REDACTED:secret]\", \"n\": 1}".into(),
        ),
        ("?api_key=abc123&page=2".into(), "?api_key=[REDACTED:api_key]&page=2".into()),
        ("X-Api-Key: 0123abcd".into(), "X-Api-Key: [REDACTED:api_key]".into()),
        ("secret='top secret'".into(), "secret='[REDACTED:secret]'".into()),
        ("run --api-token=abc123 -v".into(), "run --api-token=[REDACTED:token] -v".into()),
        ("run --token abc123 -v".into(), "run --token [REDACTED:token] -v".into()),
        ("mysql --password s3cret db".into(), "mysql --password [REDACTED:password] db".into()),
        ("Cookie: session=abc; theme=dark".into(), "Cookie: [REDACTED:cookie]; theme=dark".into()),
    ];
    for (input, expected) in cases {
        assert_eq!(r(&input), expected, "input: {input}");
    }
}

#[test]
fn near_misses_survive() {
    for text in [
        "commit 3f2a9c1e7b4d8a0f5e6c2b1a9d8e7f6a5b4c3d2e merged",
        "request 123e4567-e89b-12d3-a456-426614174000 done",
        "fixture: SGVsbG8gV29ybGQhIFRoaXMgaXMgYmFzZTY0IHRlc3QgZGF0YQ==",
        "password reset email sent",
        "token expired, refreshing",
        "max_tokens: 4096",
        "tokens=512 used",
        "sk-learn is installed",
        "task-runner-for-the-long-named-service started",
        "AKIA is a prefix, AKIAFOO is not a key",
        "http://localhost:8080/health ok",
        "visit https://example.com/path?x=1",
        "eyJhbGciOiJIUzI1NiJ9 alone is only a header",
        "--token is required",
        "PWD=/home/user/project",
        "Token::new() called",
        "-----BEGIN CERTIFICATE-----",
        "",
    ] {
        assert_eq!(r(text), text, "near miss was changed");
        assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
    }
}

#[test]
fn pem_private_keys_are_redacted_across_lines() {
    let mut redactor = Redactor::new();
    let lines = [
        "loading key",
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB",
        "aFDrBz9vFqU4yPkT1rF2/mdYMRbyNa3HaLVm2mRHmZMb9b0q0ZGPnZp8XNQXh2a8",
        "-----END RSA PRIVATE KEY-----",
        "key loaded",
    ];
    let out: Vec<String> = lines.iter().map(|l| redactor.line(l).into_owned()).collect();
    assert_eq!(
        out,
        [
            "loading key",
            "[REDACTED:private_key]",
            "[REDACTED:private_key]",
            "[REDACTED:private_key]",
            "[REDACTED:private_key]",
            "key loaded"
        ]
    );
    // A service-account JSON keeps the whole key on one line, with escaped newlines.
    let json_line = "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n\", \"client_email\": \"a@b.iam.gserviceaccount.com\"}";
    assert_eq!(
        r(json_line),
        "{\"type\": \"service_account\", \"private_key\": \"[REDACTED:private_key]\", \"client_email\": \"a@b.iam.gserviceaccount.com\"}"
    );
    assert_eq!(
        r("x -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk -----END OPENSSH PRIVATE KEY----- y"),
        "x [REDACTED:private_key] y"
    );
    // A multi-line message: the state runs across its lines.
    assert_eq!(
        r("a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----\nb"),
        "a\n[REDACTED:private_key]\n[REDACTED:private_key]\n[REDACTED:private_key]\nb"
    );
}

#[test]
fn argv_flags_redact_their_next_element() {
    let argv: Vec<String> = [
        "deploy",
        "--token",
        "abc123",
        "--api-token=xyz789",
        "--password",
        "hunter2",
        "--verbose",
        "-H",
        &format!("Authorization: Bearer {GITHUB}"),
        "--token",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        redact_argv(&argv),
        [
            "deploy",
            "--token",
            "[REDACTED:token]",
            "--api-token=[REDACTED:token]",
            "--password",
            "[REDACTED:password]",
            "--verbose",
            "-H",
            "Authorization: Bearer [REDACTED:authorization]",
            "--token",
        ]
    );
}

#[test]
fn events_are_redacted_in_message_and_payload() {
    let mut event = Event::new(
        super::super::Category::Decision,
        "runaway",
        super::super::Actor::Detector,
        format!("loop on {GITHUB}"),
        json!({"example": format!("auth {JWT}"), "n": 3, "cycle": [{"line": "-----BEGIN PRIVATE KEY-----"}, {"line": "MIIEv"}, {"line": "-----END PRIVATE KEY-----"}, {"line": "after"}]}),
    );
    redact_event(&mut event);
    assert_eq!(event.message, "loop on [REDACTED:github_token]");
    assert_eq!(event.payload["example"], "auth [REDACTED:jwt]");
    assert_eq!(event.payload["n"], 3);
    assert_eq!(event.payload["cycle"][1]["line"], "[REDACTED:private_key]");
    assert_eq!(event.payload["cycle"][3]["line"], "after");
}

#[test]
fn redaction_is_idempotent() {
    let once = r(&format!(
        "password={GITHUB} Authorization: Bearer {JWT} {AWS_KEY_ID}"
    ));
    assert_eq!(r(&once), once);
}

#[test]
fn bad_input_never_panics() {
    // Lossily decoded binary, multi-byte text around every rule's trigger, a huge line.
    let binary: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    let text = String::from_utf8_lossy(&binary);
    let _ = r(&text);
    for trigger in [
        "password=",
        "://a:",
        "-----BEGIN ",
        "--token ",
        "Bearer ",
        "eyJ",
        "AKIA",
        "ghp_",
        "\"secret\": \"é",
    ] {
        for tail in ["", "é", "ü\\", "\"", "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€"]
        {
            let _ = r(&format!("é{trigger}{tail}"));
        }
    }
    let huge = format!("{} password={}{}", "x".repeat(8 << 20), "é".repeat(1 << 20), " y");
    let out = r(&huge);
    assert!(out.ends_with("password=[REDACTED:password] y"));
    let dashes = "a-".repeat(5 << 20);
    assert_eq!(r(&dashes), dashes);
}
