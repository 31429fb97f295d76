//! The dashboard in a real browser: Debian's headless Chromium, driven by puppeteer-core
//! (`tests/browser/dashboard.mjs`), against a real `flowforge dashboard` whose store holds
//! a real intervened run — a loop whose lines carry `<img onerror=…>` and `<script>` — and
//! a run started and killed from the page during the test.
//!
//! Why puppeteer-core: it drives the system's Chromium over the DevTools protocol and
//! downloads nothing (no browser bundle), installs in seconds from npm with a lockfile,
//! and keeps a browser stack out of the Rust dependency tree. `.ci/run` installs chromium,
//! node and `npm ci` in tests/browser; without them this test fails and says how to get them.
//!
//! Screenshots (light and dark) go to `FLOWFORGE_SCREENSHOTS` when it is set (README's
//! `docs/dashboard.png` and `docs/dashboard-dark.png` come from there), else into the sandbox.

use crate::common::http::Client;
use crate::common::{query, wait_until, Sandbox, BIN, MARKER_VAR};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

const START: Duration = Duration::from_secs(20);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn require_browser_tools() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing: Vec<&str> = [
        (
            Path::new(&chromium).exists(),
            "chromium (apt-get install chromium)",
        ),
        (
            std::process::Command::new("node")
                .arg("--version")
                .output()
                .is_ok(),
            "node (apt-get install nodejs npm)",
        ),
        (
            browser_dir().join("node_modules/puppeteer-core").exists(),
            "puppeteer-core (npm ci --prefix tests/browser)",
        ),
    ]
    .into_iter()
    .filter(|(present, _)| !present)
    .map(|(_, what)| what)
    .collect();
    assert!(
        missing.is_empty(),
        "the browser test needs: {} (.ci/run installs them)",
        missing.join(", ")
    );
}

/// The XSS-bait loop: stopped by the detector (exit 124), so the store has an intervention
/// whose cycle lines are markup.
fn record_a_stopped_loop(sandbox: &Sandbox) -> i64 {
    let script = r#"echo 'agent: starting'; while :; do
        echo '<img src=x onerror=window.__ffxss=1>'
        echo '<script>window.__ffxss=2</script> error: connection refused, retrying'
        sleep 0.05
    done"#;
    // A fast tick gives the short run several samples for its sparklines.
    let out = sandbox.run(&["run", "--tick", "200ms", "--", "sh", "-c", script]);
    out.assert_code(124);
    let runs = query(&sandbox.db(), "SELECT id FROM runs ORDER BY id DESC LIMIT 1");
    runs[0].int_of("id")
}

#[test]
fn dashboard_in_a_real_chromium() {
    require_browser_tools();
    let sandbox = Sandbox::new("dashboard");
    let stopped = record_a_stopped_loop(&sandbox);

    let mut command = sandbox.command(&["dashboard", "--listen", "127.0.0.1:0"]);
    command.env_remove(MARKER_VAR);
    let server = sandbox.spawn(command);
    server.expect_stdout("#key=", START);
    let line = String::from_utf8_lossy(&server.stdout.snapshot()).into_owned();
    let url = line
        .lines()
        .find(|l| l.contains("#key="))
        .expect("the address line");
    let (base, key) = url.split_once("/#key=").expect("base and key");
    let addr: SocketAddr = base.trim_start_matches("http://").parse().expect("an address");
    assert_eq!(key.len(), 64, "the key is 64 hex digits: {url}");
    // The key reaches the user once, on stdout; it is not in what the server says on stderr.
    assert!(!String::from_utf8_lossy(&server.stderr.snapshot()).contains(key));

    // The page itself: served without a key, with its policy.
    let page = Client::new(addr, None).get("/");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    page.assert_no_cors("the dashboard's page");
    // The data is not: no key, no runs.
    assert_eq!(Client::new(addr, None).get("/api/v1/runs").status, 401);

    // A relative directory is the repository's (the driver runs in the sandbox).
    let shots = std::env::var("FLOWFORGE_SCREENSHOTS")
        .map(|dir| Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap_or_else(|_| sandbox.path("shots"));
    std::fs::create_dir_all(&shots).expect("the screenshot dir");
    let driver = sandbox
        .command_of("node", &[browser_dir().join("dashboard.mjs")])
        .env("FF_URL", base)
        .env("FF_KEY", key)
        .env("FF_STOPPED_RUN", stopped.to_string())
        .env("FF_BIN", BIN)
        .env("FF_SHOTS", &shots)
        .output()
        .expect("run node");
    let report = String::from_utf8_lossy(&driver.stdout).into_owned();
    let errors = String::from_utf8_lossy(&driver.stderr).into_owned();
    assert!(
        driver.status.success(),
        "browser checks failed:\n{report}\n{errors}"
    );
    assert!(report.contains("all checks passed"), "{report}\n{errors}");
    eprintln!("{report}");

    // The run killed from the page: stopped by a user, and its events say so.
    let live: i64 = report
        .lines()
        .find_map(|l| l.strip_prefix("live-run "))
        .and_then(|id| id.trim().parse().ok())
        .expect("the driver names the run it killed");
    let events = query(
        &sandbox.db(),
        &format!("SELECT actor, category, kind FROM events WHERE run_id = {live}"),
    );
    assert!(
        events.iter().any(|e| e.str_of("actor") == "user"),
        "no event of run {live} names actor user: {events:?}"
    );
    let exit = query(
        &sandbox.db(),
        &format!("SELECT exit_code FROM runs WHERE id = {live}"),
    );
    assert_eq!(exit[0].int_of("exit_code"), 124);
    // The user's request was appended to the run's hash chain: the export verifies.
    let bundle = sandbox.path("live.ffbundle");
    let bundle_arg = bundle.to_string_lossy().into_owned();
    sandbox
        .run(&["export", &live.to_string(), "--out", &bundle_arg])
        .assert_code(0);
    let verified = sandbox.run(&["verify", &bundle_arg]);
    verified.assert_code(0);
    assert!(
        verified.stdout_text().starts_with("ok:"),
        "{}",
        verified.describe()
    );
    for name in ["dashboard.png", "dashboard-dark.png"] {
        assert!(shots.join(name).exists(), "no screenshot {name}");
    }

    server.signal("TERM");
    let outcome = server.finish();
    assert_eq!(outcome.code(), 0, "{}", outcome.describe());
    assert!(wait_until(
        || sandbox.survivors().is_empty(),
        Duration::from_secs(10)
    ));
    sandbox.assert_no_survivors();
}
