//! `./install.sh` on the paths that must fail fast and clearly, before anything is built:
//! help, an unknown flag, no cargo, no C compiler, an unwritable prefix. The whole path
//! (build, install, run twice, demo) is `.ci/run`'s newcomer smoke on a fresh clone.

use crate::common::Sandbox;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

/// A PATH directory holding only the named tools (as links to the real ones), so a test
/// can take cargo or the C compiler away without touching the machine.
fn path_with(sandbox: &Sandbox, tools: &[&str]) -> PathBuf {
    let dir = sandbox.path("bin");
    std::fs::create_dir_all(&dir).expect("create the PATH dir");
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .expect("run sh");
        let real = String::from_utf8_lossy(&found.stdout).trim().to_string();
        assert!(!real.is_empty(), "{tool} is not installed on this machine");
        std::os::unix::fs::symlink(&real, dir.join(tool)).expect("link a tool");
    }
    dir
}

fn install(sandbox: &Sandbox, path: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new("/bin/bash");
    command
        .arg(script())
        .args(args)
        .env("HOME", &sandbox.home)
        .env("FLOWFORGE_HOME", &sandbox.home)
        .env_remove("PREFIX")
        .env_remove("CC")
        .stdin(Stdio::null());
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("run install.sh")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn install_help_answers_without_building() {
    let sandbox = Sandbox::new("install-help");
    // Without cargo on PATH a build could not even start.
    let path = path_with(&sandbox, &["dirname", "cat"]);
    let out = install(&sandbox, Some(&path), &["--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    assert!(help.contains("--prefix") && help.contains("--no-demo"), "{help}");
}

#[test]
fn install_refuses_an_unknown_flag_with_usage_and_exit_2() {
    let sandbox = Sandbox::new("install-flag");
    let out = install(&sandbox, None, &["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown option") && err.contains("--frobnicate"),
        "{err}"
    );
    assert!(err.contains("Usage:"), "{err}");
    assert!(
        text(&out.stdout).is_empty(),
        "nothing may run before the flags are checked"
    );
}

#[test]
fn install_without_cargo_says_how_to_get_it() {
    let sandbox = Sandbox::new("install-nocargo");
    let path = path_with(&sandbox, &["dirname"]);
    let out = install(&sandbox, Some(&path), &["--prefix", "/nonexistent-prefix"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("cargo is not installed") && err.contains("rustup"),
        "{err}"
    );
}

#[test]
fn install_without_a_c_compiler_says_how_to_get_one() {
    let sandbox = Sandbox::new("install-nocc");
    let path = path_with(&sandbox, &["dirname", "cargo"]);
    let out = install(&sandbox, Some(&path), &["--no-demo"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no C compiler") && err.contains("build-essential"),
        "{err}"
    );
}

#[test]
fn install_into_an_unwritable_prefix_fails_before_building() {
    let sandbox = Sandbox::new("install-prefix");
    let out = install(&sandbox, None, &["--prefix", "/proc/flowforge-nope", "--no-demo"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("cannot write to /proc/flowforge-nope/bin"), "{err}");
    assert!(err.contains("--prefix"), "{err}");
    assert!(!text(&out.stdout).contains("building"), "it must not build first");
}
