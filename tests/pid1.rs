//! FlowForge as PID 1 of a container: `ENTRYPOINT ["flowforge", "run", "--"]`.
//!
//! Each case starts the binary as the first process of a new PID namespace
//! (`unshare --pid --fork --mount-proc`, inside a user namespace so it needs no root) and
//! checks what an init must do there: reap orphans that re-parent to it, forward the
//! container runtime's SIGTERM to the job, and keep the exit-status contract. CI runs these
//! cases a second time against the static musl binary (`FLOWFORGE_PID1_BIN`), which is what
//! containers get.

use crate::common::{children_of, wait_until, Sandbox, BIN};
use std::process::Command;
use std::time::Duration;

/// The binary under test: the static one when CI names it, else the test build.
fn binary() -> String {
    std::env::var("FLOWFORGE_PID1_BIN").unwrap_or_else(|_| BIN.to_string())
}

/// `unshare … flowforge ARGS`: FlowForge becomes PID 1 of a fresh PID namespace.
fn as_pid1(sandbox: &Sandbox, args: &[&str]) -> Command {
    let bin = binary();
    let mut unshare_args = vec![
        "--user",
        "--map-root-user",
        "--pid",
        "--fork",
        "--mount-proc",
        bin.as_str(),
    ];
    unshare_args.extend_from_slice(args);
    sandbox.command_of("unshare", &unshare_args)
}

#[test]
fn pid1_reaps_orphans_and_keeps_the_exit_code() {
    let sandbox = Sandbox::new("pid1-reap");
    // The orphan's parent exits at once, so it re-parents to init (FlowForge, or the
    // subreaping shim below it); once it exits, nobody may leave it a zombie.
    let script = r#"
        echo "init=$(cat /proc/1/comm)"
        (sh -c 'sleep 0.2' &)
        sleep 1
        echo "zombies=$(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l)"
        exit 3
    "#;
    let outcome = sandbox
        .spawn(as_pid1(
            &sandbox,
            &["run", "--no-detect", "--", "sh", "-c", script],
        ))
        .finish();
    let stdout = outcome.stdout_text();
    assert!(stdout.contains("init=flowforge"), "{}", outcome.describe());
    assert!(stdout.contains("zombies=0"), "{}", outcome.describe());
    outcome.assert_code(3);
    sandbox.assert_no_survivors();
}

#[test]
fn pid1_forwards_sigterm_to_the_job() {
    let sandbox = Sandbox::new("pid1-term");
    let script = r#"trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done"#;
    let running = sandbox.spawn(as_pid1(
        &sandbox,
        &["run", "--no-detect", "--", "sh", "-c", script],
    ));
    running.expect_stdout("ready", Duration::from_secs(20));
    // The runtime signals the namespace's PID 1: the child unshare forked.
    let mut init = None;
    assert!(
        wait_until(
            || {
                init = children_of(running.pid()).into_iter().next();
                init.is_some()
            },
            Duration::from_secs(5)
        ),
        "unshare started no child"
    );
    crate::common::send_signal(init.expect("found above"), "TERM");
    let outcome = running.finish();
    assert!(
        outcome.stdout_text().contains("got TERM"),
        "{}",
        outcome.describe()
    );
    outcome.assert_code(7);
    sandbox.assert_no_survivors();
}

#[test]
fn pid1_timeout_stops_the_tree_with_124() {
    let sandbox = Sandbox::new("pid1-timeout");
    let outcome = sandbox
        .spawn(as_pid1(
            &sandbox,
            &[
                "run",
                "--no-detect",
                "--timeout",
                "1",
                "--",
                "sh",
                "-c",
                "sleep 60 & sleep 60",
            ],
        ))
        .finish();
    outcome.assert_code(124);
    sandbox.assert_no_survivors();
}
