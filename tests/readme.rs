//! README.md against the binary: the CLI reference is each command's real `--help` (made by
//! `docs/readme-gen`), and every `--flag` the README mentions exists — in FlowForge's help,
//! in install.sh's, or in the short list of other tools' flags it quotes.

use crate::common::BIN;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md")
}

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--help")
        .output()
        .expect("run flowforge");
    assert!(out.status.success(), "flowforge {args:?} --help failed");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The commands `docs/readme-gen` documents, as it names them.
const COMMANDS: &[&str] = &["", "run", "runs", "serve", "dashboard", "key", "demo", "replay"];

fn flags(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 2 < bytes.len() {
        let starts = bytes[i] == b'-' && bytes[i + 1] == b'-' && bytes[i + 2].is_ascii_lowercase();
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-');
        if starts && boundary {
            let end = (i + 2..bytes.len())
                .find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'-'))
                .unwrap_or(bytes.len());
            found.insert(text[i..end].trim_end_matches('-').to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

#[test]
fn readme_cli_reference_is_the_real_help() {
    let readme = readme();
    let begin = readme
        .find("<!-- cli:begin -->")
        .expect("README has a CLI reference block");
    let end = readme.find("<!-- cli:end -->").expect("the block ends");
    let block = &readme[begin..end];
    for command in COMMANDS {
        let args: Vec<&str> = command.split_whitespace().collect();
        let title = format!(
            "### `flowforge{}{command} --help`",
            if command.is_empty() { "" } else { " " }
        );
        let expected = format!("{title}\n\n```\n{}```\n", help(&args));
        assert!(
            block.contains(&expected),
            "README's reference for `flowforge {command}` differs from its --help: run docs/readme-gen"
        );
    }
}

#[test]
fn readme_names_no_flag_that_does_not_exist() {
    let mut known = BTreeSet::new();
    for command in COMMANDS {
        let args: Vec<&str> = command.split_whitespace().collect();
        known.extend(flags(&help(&args)));
    }
    for sub in ["export", "verify", "show", "events", "prune"] {
        known.extend(flags(&help(&[sub])));
    }
    let install = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .arg("--help")
        .output()
        .expect("install.sh --help");
    known.extend(flags(&String::from_utf8_lossy(&install.stdout)));
    // Other tools' flags the README quotes (cargo, benches, npm).
    for other in [
        "--workspace",
        "--test",
        "--release",
        "--locked",
        "--target",
        "--check",
        "--all-targets",
        "--jobs",
        "--repeat",
        "--both",
        "--prefix",
        "--advisories",
        "--no-demo",
        "--gib",
        "--idle",
        "--starts",
        "--split",
        "--throughput-only",
        "--baseline",
    ] {
        known.insert(other.to_string());
    }
    let unknown: Vec<String> = flags(&readme()).difference(&known).cloned().collect();
    assert!(
        unknown.is_empty(),
        "README names flags that nothing has: {unknown:?}"
    );
}
