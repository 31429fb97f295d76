//! The CI adapters end to end: with a temporary `GITHUB_STEP_SUMMARY`, a stopped loop appends
//! a Markdown summary naming the loop, its lines and exit 124, and prints one `::error`
//! annotation on stderr while stdout passes byte for byte; a healthy run appends a summary
//! and no annotation; under `GITLAB_CI` the card is a collapsed log section.

use crate::common::*;
use crate::redaction::{all_secrets, assert_passes_of, leaky_block, leaky_loop_args};

#[test]
fn a_stopped_loop_writes_the_github_summary_and_an_error_annotation() {
    let sandbox = Sandbox::new("ci-github");
    let summary = sandbox.path("step_summary.md");
    std::fs::write(&summary, "## earlier step\n\n").expect("write");
    let mut command = sandbox.command(&leaky_loop_args(&sandbox, &[]));
    command
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_ACTIONS", "true");
    let out = sandbox.spawn(command).finish();
    sandbox.assert_no_survivors();
    out.assert_code(124);
    assert_passes_of(&out.stdout, &leaky_block());

    let md = std::fs::read_to_string(&summary).expect("read the summary");
    assert!(
        md.starts_with("## earlier step\n\n### "),
        "appended, not overwritten:\n{md}"
    );
    assert!(md.contains("FlowForge stopped sh "), "{md}");
    assert!(md.contains("a runaway loop (exit 124)"), "{md}");
    assert!(md.contains("| exit code | 124 |"), "{md}");
    assert!(md.contains("**Why:** output loop: 16-line cycle"), "{md}");
    assert!(
        md.contains("<summary>The repeating lines (16-line cycle)</summary>"),
        "{md}"
    );
    assert!(
        md.contains("stdout | login password=[REDACTED:password] failed, retrying"),
        "{md}"
    );
    assert!(md.contains("<code>flowforge show 1</code>"), "{md}");
    for secret in all_secrets() {
        assert!(!md.contains(secret), "the summary shows {secret}");
    }
    let annotations: Vec<String> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("::"))
        .collect();
    assert_eq!(annotations.len(), 1, "{}", out.describe());
    assert!(
        annotations[0].starts_with("::error title=FlowForge stopped the job::FlowForge stopped sh "),
        "{}",
        annotations[0]
    );
}

#[test]
fn a_healthy_run_appends_a_summary_without_annotation() {
    let sandbox = Sandbox::new("ci-healthy");
    let summary = sandbox.path("step_summary.md");
    let mut command = sandbox.command(&["run", "--", "sh", "-c", "echo built; exit 3"]);
    command.env("GITHUB_STEP_SUMMARY", &summary);
    let out = sandbox.spawn(command).finish();
    out.assert_code(3);
    assert_eq!(out.stdout, b"built\n");
    assert!(!out.stderr_text().contains("::"), "{}", out.describe());
    let md = std::fs::read_to_string(&summary).expect("read the summary");
    assert!(
        md.starts_with("### ❌ sh -c echo built; exit 3 exited with exit 3 after "),
        "{md}"
    );
    assert!(md.contains("| exit code | 3 |") && !md.contains("Why"), "{md}");
}

#[test]
fn gitlab_gets_a_collapsed_section_for_an_intervention() {
    let sandbox = Sandbox::new("ci-gitlab");
    let mut command = sandbox.command(&[
        "run",
        "--",
        "sh",
        "-c",
        "while :; do echo 'connect failed: retrying'; sleep 0.01; done",
    ]);
    command.env("GITLAB_CI", "true");
    let out = sandbox.spawn(command).finish();
    sandbox.assert_no_survivors();
    out.assert_code(124);
    let err = out.stderr_text();
    let start = err.find("section_start:").expect("a section start");
    let end = err.find("section_end:").expect("a section end");
    assert!(start < end, "{err}");
    assert!(
        err[start..].contains(":flowforge_verdict[collapsed=true]\r\x1b[0KFlowForge stopped sh"),
        "{err}"
    );
    assert!(
        err[start..end].contains("stdout | connect failed: retrying"),
        "{err}"
    );
    assert!(
        !err.contains("::error"),
        "no GitHub annotation under GitLab: {err}"
    );
}
