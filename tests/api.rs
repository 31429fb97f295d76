//! The local API against a real `flowforge serve` on an ephemeral port, with a real HTTP
//! client: every endpoint's happy path and paging, the long poll, ETags, bad input, the
//! OpenAPI document held against the router, control of a live run in another process,
//! `run --listen`, and `/metrics` through promtool and a real Prometheus.

use crate::common::http::{exchange, Client, Reply};
use crate::common::{query, wait_until, Json, Running, Sandbox};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Bounds waiting for a server or a run to come up; generous, the machine may be loaded.
const START: Duration = Duration::from_secs(60);

/// A `flowforge serve` of a sandbox; stopped with SIGTERM (and checked to exit 0) on drop.
pub struct Served {
    pub running: Option<Running>,
    pub addr: SocketAddr,
    pub key: String,
}

impl Served {
    pub fn start(sandbox: &Sandbox) -> Served {
        let mut command = sandbox.command(&["serve", "--listen", "127.0.0.1:0"]);
        // Not part of the tree under test: the sandbox's survivor checks must not see it.
        command.env_remove(crate::common::MARKER_VAR);
        let running = sandbox.spawn(command);
        running.expect_stderr(" on http://", START);
        let addr = address_in(&String::from_utf8_lossy(&running.stderr.snapshot()));
        let key = std::fs::read_to_string(sandbox.path("api.key")).expect("the key exists once serving");
        Served {
            running: Some(running),
            addr,
            key: key.trim().to_string(),
        }
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr, Some(&self.key))
    }

    pub fn anonymous(&self) -> Client {
        Client::new(self.addr, None)
    }

    pub fn pid(&self) -> u32 {
        self.running.as_ref().expect("running").pid()
    }

    /// SIGTERM, and the server must exit 0.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(running) = self.running.take() {
            running.signal("TERM");
            let outcome = running.finish();
            assert_eq!(outcome.code(), 0, "serve after SIGTERM: {}", outcome.describe());
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(running) = self.running.take() {
                running.signal("KILL");
            }
            return;
        }
        self.stop_now();
    }
}

/// The `http://ADDR` a server announced on stderr.
pub fn address_in(stderr: &str) -> SocketAddr {
    let at = stderr.find("http://").expect("an address on stderr") + "http://".len();
    let text: String = stderr[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')')
        .collect();
    text.trim_end_matches(';')
        .parse()
        .unwrap_or_else(|_| panic!("not an address: {text:?}"))
}

fn ids(page: &Json, list: &str) -> Vec<i64> {
    page.field(list)
        .as_array()
        .iter()
        .map(|r| r.int_of("id"))
        .collect()
}

fn run_ok(sandbox: &Sandbox, args: &[&str]) {
    let outcome = sandbox.run(args);
    assert!(matches!(outcome.code(), 0 | 124), "{}", outcome.describe());
}

#[test]
fn healthz_needs_no_key_and_tells_nothing() {
    let sandbox = Sandbox::new("api-healthz");
    let served = Served::start(&sandbox);
    let reply = served.anonymous().get("/healthz");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), r#"{"status":"ok"}"#);
    reply.assert_no_cors("/healthz");
    served.stop();
}

#[test]
fn runs_are_paged_newest_first_filtered_and_cached() {
    let sandbox = Sandbox::new("api-runs");
    for _ in 0..3 {
        run_ok(&sandbox, &["run", "--", "true"]);
    }
    run_ok(&sandbox, &["run", "--timeout", "200ms", "--", "sleep", "30"]);
    run_ok(&sandbox, &["run", "--tick", "100ms", "--", "sleep", "0.5"]);
    let served = Served::start(&sandbox);
    let client = served.client();

    let first = client.get_json("/api/v1/runs?limit=2");
    assert_eq!(ids(&first, "runs"), [5, 4]);
    let next = first.int_of("next_before");
    let second = client.get_json(&format!("/api/v1/runs?limit=2&before={next}"));
    assert_eq!(ids(&second, "runs"), [3, 2]);
    let third = client.get_json(&format!(
        "/api/v1/runs?limit=2&before={}",
        second.int_of("next_before")
    ));
    assert_eq!(ids(&third, "runs"), [1]);
    assert!(third.field("next_before").is_null());

    assert_eq!(ids(&client.get_json("/api/v1/runs?outcome=timeout"), "runs"), [4]);
    assert_eq!(ids(&client.get_json("/api/v1/runs?state=ended"), "runs").len(), 5);
    assert!(ids(&client.get_json("/api/v1/runs?state=running"), "runs").is_empty());
    let run = client.get_json("/api/v1/runs/4");
    assert_eq!(run.field("run").str_of("state"), "ended");
    assert_eq!(run.field("run").str_of("outcome"), "timeout");

    let events = client.get_json("/api/v1/runs/4/events");
    let kinds: Vec<&str> = events
        .field("events")
        .as_array()
        .iter()
        .map(|e| e.str_of("kind"))
        .collect();
    assert!(kinds.contains(&"timeout"), "{kinds:?}");
    let page = client.get_json("/api/v1/runs/4/events?limit=1");
    assert_eq!(page.field("events").as_array().len(), 1);
    let after = page.int_of("next_after");
    let rest = client.get_json(&format!("/api/v1/runs/4/events?after={after}"));
    assert_eq!(rest.field("events").as_array().len(), kinds.len() - 1);

    let all = client.get_json("/api/v1/events?limit=1000");
    let all_ids: Vec<i64> = all
        .field("events")
        .as_array()
        .iter()
        .map(|e| e.int_of("id"))
        .collect();
    assert!(
        all_ids.windows(2).all(|w| w[0] < w[1]),
        "ascending ids {all_ids:?}"
    );
    let tail = client.get_json(&format!("/api/v1/events?after={}", all_ids[all_ids.len() - 2]));
    assert_eq!(ids(&tail, "events"), [all_ids[all_ids.len() - 1]]);

    let samples = client.get_json("/api/v1/runs/5/samples");
    let rows = samples.field("samples").as_array();
    assert!(!rows.is_empty(), "a 0.5 s run sampled every 100 ms has samples");
    assert!(rows[0].get("rss_bytes").is_some());

    let reply = client.get("/api/v1/runs?limit=2");
    let tag = reply.header("etag").expect("an ETag").to_string();
    let cached = client.send("GET", "/api/v1/runs?limit=2", &[("If-None-Match", &tag)], b"");
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    let stale = client.send(
        "GET",
        "/api/v1/runs?limit=2",
        &[("If-None-Match", "\"other\"")],
        b"",
    );
    assert_eq!(stale.status, 200);
    served.stop();
}

#[test]
fn a_long_poll_wakes_up_for_a_new_event() {
    let sandbox = Sandbox::new("api-longpoll");
    run_ok(&sandbox, &["run", "--", "true"]);
    let served = Served::start(&sandbox);
    let client = served.client();
    let last = client.get_json("/api/v1/events").int_of("next_after");
    let waiting = {
        let client = client.clone();
        std::thread::spawn(move || client.get_json(&format!("/api/v1/events?after={last}&wait=25")))
    };
    run_ok(&sandbox, &["run", "--", "true"]);
    let woke = waiting.join().expect("the poll thread");
    let events = woke.field("events").as_array();
    assert!(
        !events.is_empty(),
        "the long poll returned the new run's events: {woke:?}"
    );
    assert!(events
        .iter()
        .all(|e| e.int_of("id") > last && e.int_of("run_id") == 2));
    // Nothing newer: wait=1 answers with an empty page after its wait; an ended run's
    // events answer at once (not timed here: the result is what is asserted).
    let next = woke.int_of("next_after");
    let idle = client.get_json(&format!("/api/v1/events?after={next}&wait=1"));
    assert!(idle.field("events").as_array().is_empty());
    let ended = client.get_json(&format!("/api/v1/runs/2/events?after={next}&wait=25"));
    assert!(ended.field("events").as_array().is_empty());
    served.stop();
}

#[test]
fn bad_input_is_a_problem_naming_the_field() {
    let sandbox = Sandbox::new("api-bad");
    run_ok(&sandbox, &["run", "--", "true"]);
    let served = Served::start(&sandbox);
    let client = served.client();
    let cases: &[(&str, &str, u16, &str)] = &[
        ("GET", "/api/v1/runs/abc", 400, "id"),
        ("GET", "/api/v1/runs/-3", 400, "id"),
        ("GET", "/api/v1/runs/99999999999999999999999", 400, "id"),
        ("GET", "/api/v1/runs/777", 404, "id"),
        ("GET", "/api/v1/runs?limit=0", 400, "limit"),
        ("GET", "/api/v1/runs?limit=1000000000000", 400, "limit"),
        ("GET", "/api/v1/runs?limit=ten", 400, "limit"),
        ("GET", "/api/v1/runs?before=-1", 400, "before"),
        ("GET", "/api/v1/runs?state=sleeping", 400, "state"),
        ("GET", "/api/v1/runs?outcome=%22;DROP", 400, "outcome"),
        ("GET", "/api/v1/runs?stat=running", 400, "stat"),
        ("GET", "/api/v1/runs?limit=1&limit=2", 400, "limit"),
        ("GET", "/api/v1/events?wait=26", 400, "wait"),
        ("GET", "/api/v1/events?after=x", 400, "after"),
        ("GET", "/api/v1/nothing", 404, "path"),
        ("DELETE", "/api/v1/runs/1", 405, "method"),
        ("POST", "/api/v1/runs", 405, "method"),
        ("GET", "/api/v1/runs/1/kill", 405, "method"),
    ];
    for (method, path, status, field) in cases {
        let reply = client.send(method, path, &[], b"");
        assert_eq!(reply.status, *status, "{method} {path}: {}", reply.text());
        assert_eq!(reply.problem_field(), *field, "{method} {path}");
    }
    let reply = client.send("DELETE", "/api/v1/runs/1", &[], b"");
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));

    let json = [("Content-Type", "application/json")];
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [u8], u16, &'a str);
    let bodies: &[Case] = &[
        (&json, b"{not json", 400, "body"),
        (&json, br#"{"reason": "x", "force": true}"#, 400, "force"),
        (&json, br#"{"reason": 5}"#, 400, "reason"),
        (&[("Content-Type", "text/plain")], b"kill it", 415, "Content-Type"),
        (&[("Idempotency-Key", "")], b"", 400, "Idempotency-Key"),
    ];
    for (headers, body, status, field) in bodies {
        let reply = client.send("POST", "/api/v1/runs/1/kill", headers, body);
        assert_eq!(
            reply.status,
            *status,
            "{}: {}",
            String::from_utf8_lossy(body),
            reply.text()
        );
        assert_eq!(reply.problem_field(), *field);
    }
    // An ended run cannot be killed.
    let reply = client.post("/api/v1/runs/1/kill");
    assert_eq!(
        (reply.status, reply.problem_field().as_str()),
        (409, "id"),
        "{}",
        reply.text()
    );
    assert_eq!(client.get("/healthz").status, 200, "still serving");
    served.stop();
}

#[test]
fn every_path_of_the_openapi_document_is_routed() {
    let sandbox = Sandbox::new("api-openapi");
    run_ok(&sandbox, &["run", "--", "true"]);
    let served = Served::start(&sandbox);
    let client = served.client();
    let doc = client.get_json("/api/v1/openapi.json");
    assert_eq!(doc.str_of("openapi"), "3.0.3");
    let paths = doc.field("paths");
    assert!(paths.keys().len() >= 10, "{:?}", paths.keys());
    for path in paths.keys() {
        for method in paths.field(path).keys() {
            let concrete = path.replace("{id}", "1");
            let reply = client.send(&method.to_uppercase(), &concrete, &[], b"");
            assert!(
                ![404, 405].contains(&reply.status),
                "{method} {concrete} is described but answers {}: {}",
                reply.status,
                reply.text()
            );
        }
    }
    served.stop();
}

fn spawn_run(sandbox: &Sandbox, args: &[&str]) -> Running {
    let mut full = vec!["run"];
    full.extend_from_slice(args);
    sandbox.spawn(sandbox.command(&full))
}

/// Waits until run `id` is `running` through the API (its control socket is up).
fn wait_running(client: &Client, sandbox: &Sandbox, id: i64) {
    let socket = sandbox.path(&format!("run/{id}.sock"));
    assert!(
        wait_until(|| socket.exists(), START),
        "no control socket {}",
        socket.display()
    );
    let mode = std::fs::metadata(&socket).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let run = client.get_json(&format!("/api/v1/runs/{id}"));
    assert_eq!(run.field("run").str_of("state"), "running");
}

fn events_of(sandbox: &Sandbox, id: i64) -> Vec<Json> {
    query(
        &sandbox.db(),
        &format!("SELECT id, category, kind, actor, message FROM events WHERE run_id = {id} ORDER BY id"),
    )
}

#[test]
fn kill_of_a_live_run_in_another_process() {
    let sandbox = Sandbox::new("api-kill");
    let run = spawn_run(&sandbox, &["--", "sleep", "60"]);
    let served = Served::start(&sandbox);
    let client = served.client();
    wait_running(&client, &sandbox, 1);

    let key = [("Idempotency-Key", "kill-1")];
    let reply = client.send("POST", "/api/v1/runs/1/kill", &key, b"");
    assert_eq!(reply.status, 202, "{}", reply.text());
    let event_id = reply.json().int_of("event_id");
    let outcome = run.finish();
    assert_eq!(outcome.code(), 124, "{}", outcome.describe());
    assert!(
        outcome
            .stderr_text()
            .contains("kill requested by a user via the API from 127.0.0.1:"),
        "{}",
        outcome.describe()
    );
    sandbox.assert_no_survivors();

    let events = events_of(&sandbox, 1);
    let find = |kind: &str| {
        events
            .iter()
            .find(|e| e.str_of("kind") == kind)
            .unwrap_or_else(|| panic!("no {kind} in {events:?}"))
    };
    let control = find("kill_requested");
    assert_eq!(
        (
            control.int_of("id"),
            control.str_of("category"),
            control.str_of("actor")
        ),
        (event_id, "control", "user")
    );
    assert_eq!(find("user_kill").str_of("actor"), "user");
    assert_eq!(find("tree_stop").str_of("actor"), "user");
    assert_eq!(find("stopped").str_of("actor"), "user");
    let ended = client.get_json("/api/v1/runs/1");
    assert_eq!(ended.field("run").str_of("outcome"), "stopped");
    assert_eq!(ended.field("run").int_of("exit_code"), 124);

    // The same key gives the same answer, without a second request to the run.
    let again = client.send("POST", "/api/v1/runs/1/kill", &key, b"");
    assert_eq!((again.status, again.json().int_of("event_id")), (202, event_id));
    let other = client.send("POST", "/api/v1/runs/1/restart", &key, b"");
    assert_eq!(
        (other.status, other.problem_field().as_str()),
        (422, "Idempotency-Key")
    );
    assert_eq!(client.post("/api/v1/runs/1/kill").status, 409, "ended");
    assert_eq!(client.post("/api/v1/runs/9/kill").status, 404, "unknown");
    served.stop();
}

#[test]
fn restart_of_a_live_run_then_kill() {
    let sandbox = Sandbox::new("api-restart");
    let run = spawn_run(&sandbox, &["--", "sh", "-c", "echo attempt; exec sleep 60"]);
    let served = Served::start(&sandbox);
    let client = served.client();
    wait_running(&client, &sandbox, 1);
    run.expect_stdout("attempt", START);

    let body = br#"{"reason": "new config"}"#;
    let reply = client.send(
        "POST",
        "/api/v1/runs/1/restart",
        &[("Content-Type", "application/json")],
        body,
    );
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert!(
        wait_until(
            || run
                .stdout
                .snapshot()
                .windows(7)
                .filter(|w| w == b"attempt")
                .count()
                == 2,
            START
        ),
        "the command was started again: {}",
        String::from_utf8_lossy(&run.stdout.snapshot())
    );
    let reply = client.post("/api/v1/runs/1/kill");
    assert_eq!(reply.status, 202, "{}", reply.text());
    let outcome = run.finish();
    assert_eq!(outcome.code(), 124, "{}", outcome.describe());
    sandbox.assert_no_survivors();
    let events = events_of(&sandbox, 1);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.str_of("kind"), e.str_of("actor")))
        .collect();
    for expected in [
        ("restart_requested", "user"),
        ("user_restart", "user"),
        ("restart", "user"),
        ("kill_requested", "user"),
        ("user_kill", "user"),
        ("stopped", "user"),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} in {kinds:?}");
    }
    let message = events
        .iter()
        .find(|e| e.str_of("kind") == "restart_requested")
        .expect("recorded");
    assert!(message.str_of("message").ends_with(": new config"), "{message:?}");
    served.stop();
}

#[test]
fn a_run_that_died_without_its_end_is_lost() {
    let sandbox = Sandbox::new("api-lost");
    run_ok(&sandbox, &["run", "--", "true"]);
    // What a SIGKILLed flowforge leaves: a row without an end, a dead pid, a stale socket.
    let long_ago = 1_000_000_i64;
    let sql = format!(
        "INSERT INTO runs (argv, cwd, started_at_ms, pid, mode, flowforge_version) VALUES ('[\"sleep\"]', '/', {long_ago}, 2147483646, 'kill', 'x');"
    );
    let out = crate::common::sqlite3(&sandbox.db(), &sql);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::create_dir_all(sandbox.path("run")).expect("mkdir");
    drop(std::os::unix::net::UnixListener::bind(sandbox.path("run/2.sock")).expect("bind"));
    let served = Served::start(&sandbox);
    let client = served.client();
    assert_eq!(
        client.get_json("/api/v1/runs/2").field("run").str_of("state"),
        "lost"
    );
    assert_eq!(ids(&client.get_json("/api/v1/runs?state=lost"), "runs"), [2]);
    assert!(ids(&client.get_json("/api/v1/runs?state=running"), "runs").is_empty());
    let reply = client.post("/api/v1/runs/2/kill");
    assert_eq!(reply.status, 409, "{}", reply.text());
    assert!(reply.text().contains("lost"), "{}", reply.text());
    let metrics = client.get("/metrics").text();
    assert!(
        metrics.contains("flowforge_live_runs{state=\"lost\"} 1"),
        "{metrics}"
    );
    served.stop();
}

#[test]
fn run_listen_serves_live_numbers_and_its_own_kill() {
    let sandbox = Sandbox::new("api-listen");
    let script = "head -c 50000 /dev/zero | tr '\\0' 'x'; echo; echo ready; exec sleep 60";
    let run = spawn_run(
        &sandbox,
        &[
            "--listen",
            "127.0.0.1:0",
            "--tick",
            "100ms",
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    run.expect_stderr("API on http://", START);
    let addr = address_in(&String::from_utf8_lossy(&run.stderr.snapshot()));
    let key = std::fs::read_to_string(sandbox.path("api.key")).expect("key");
    let client = Client::new(addr, Some(key.trim()));
    run.expect_stdout("ready", START);
    let bytes_seen = || {
        let text = client.get("/metrics").text();
        text.lines()
            .find_map(|l| l.strip_prefix("flowforge_run_output_bytes_total{stream=\"stdout\"} "))
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|v| v >= 50_000.0)
    };
    assert!(wait_until(bytes_seen, START), "{}", client.get("/metrics").text());
    let text = client.get("/metrics").text();
    for family in [
        "flowforge_run_cpu_seconds_total",
        "flowforge_run_rss_bytes",
        "flowforge_run_processes",
        "flowforge_run_output_lines_total",
    ] {
        assert!(text.contains(&format!("# TYPE {family} ")), "{family} in {text}");
    }
    assert!(wait_until(|| sandbox.path("run/1.sock").exists(), START));
    let reply = client.post("/api/v1/runs/1/kill");
    assert_eq!(reply.status, 202, "{}", reply.text());
    let outcome = run.finish();
    assert_eq!(outcome.code(), 124, "{}", outcome.describe());
    sandbox.assert_no_survivors();
}

#[test]
fn a_port_in_use_or_a_remote_address_is_refused() {
    let sandbox = Sandbox::new("api-port");
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let listen = format!("127.0.0.1:{port}");
    let outcome = sandbox.run(&["serve", "--listen", &listen]);
    assert_eq!(outcome.code(), 125, "{}", outcome.describe());
    let text = outcome.stderr_text();
    assert!(
        text.contains(&format!("port {port} is already in use")) && text.contains("--listen"),
        "{text}"
    );
    let outcome = sandbox.run(&["run", "--listen", &listen, "--", "true"]);
    assert_eq!(outcome.code(), 125, "{}", outcome.describe());
    assert!(
        outcome.stderr_text().contains("--listen"),
        "{}",
        outcome.describe()
    );
    drop(holder);

    let outcome = sandbox.run(&["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(outcome.code(), 125, "{}", outcome.describe());
    assert!(
        outcome.stderr_text().contains("--allow-remote"),
        "{}",
        outcome.describe()
    );
}

#[test]
fn the_key_is_private_and_rotation_revokes_the_old_one() {
    let sandbox = Sandbox::new("api-key");
    let outcome = sandbox.run(&["key"]);
    assert_eq!(outcome.code(), 0, "{}", outcome.describe());
    let path = outcome.stdout_text().trim().to_string();
    assert_eq!(path, sandbox.path("api.key").display().to_string());
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let old = std::fs::read_to_string(&path).expect("read").trim().to_string();
    assert_eq!(old.len(), 64);
    assert!(old.bytes().all(|b| b.is_ascii_hexdigit()));

    let served = Served::start(&sandbox);
    assert_eq!(served.client().get("/api/v1/runs").status, 200);
    assert_eq!(sandbox.run(&["key", "--rotate"]).code(), 0);
    let new = std::fs::read_to_string(&path).expect("read").trim().to_string();
    assert_ne!(new, old);
    assert_eq!(
        served.client().get("/api/v1/runs").status,
        401,
        "the old key is revoked at once"
    );
    assert_eq!(
        Client::new(served.addr, Some(&new)).get("/api/v1/runs").status,
        200
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let outcome = sandbox.run(&["key"]);
    assert_eq!(
        outcome.code(),
        125,
        "a readable key is refused: {}",
        outcome.describe()
    );
    assert!(
        outcome.stderr_text().contains("chmod 600"),
        "{}",
        outcome.describe()
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod back");
    served.stop();
}

fn tool(name: &str) -> String {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .expect("sh runs");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    assert!(
        found.status.success() && !path.is_empty(),
        "{name} is needed by this test: apt-get install prometheus (CI installs it in .ci/run)"
    );
    path
}

#[test]
fn metrics_pass_promtool() {
    let sandbox = Sandbox::new("api-promtool");
    run_ok(&sandbox, &["run", "--", "true"]);
    run_ok(&sandbox, &["run", "--timeout", "100ms", "--", "sleep", "30"]);
    let served = Served::start(&sandbox);
    let reply = served.client().get("/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(served.anonymous().get("/metrics").status, 401);
    let text = reply.text();
    assert!(
        text.contains("flowforge_runs_total{outcome=\"exited\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("flowforge_runs_total{outcome=\"timeout\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("flowforge_interventions_total{action=\"kill\",reason=\"timeout\"} 1"),
        "{text}"
    );
    let mut check = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    use std::io::Write;
    check
        .stdin
        .take()
        .expect("piped")
        .write_all(&reply.body)
        .expect("feed promtool");
    let out = check.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    served.stop();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[test]
fn a_real_prometheus_scrapes_with_the_key() {
    let sandbox = Sandbox::new("api-prometheus");
    run_ok(&sandbox, &["run", "--", "true"]);
    let served = Served::start(&sandbox);
    let port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: flowforge\n    authorization:\n      type: Bearer\n      credentials_file: {}\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        sandbox.path("api.key").display(),
        served.addr.port()
    );
    std::fs::write(sandbox.path("prometheus.yml"), config).expect("write config");
    let mut prometheus = crate::common::Helper(
        Command::new(tool("prometheus"))
            .arg(format!(
                "--config.file={}",
                sandbox.path("prometheus.yml").display()
            ))
            .arg(format!("--storage.tsdb.path={}", sandbox.path("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(sandbox.path("prometheus.log")).expect("log file"))
            .spawn()
            .expect("spawn prometheus"),
    );
    let prom = Client::new(SocketAddr::from(([127, 0, 0, 1], port)), None);
    let mut last = String::new();
    let scraped = wait_until(
        || {
            if !prometheus.is_running() {
                return false;
            }
            let Ok(replies) = exchange(
                prom.addr,
                format!("GET /api/v1/query?query=flowforge_runs_total HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes(),
                1,
            ) else {
                return false;
            };
            let Some(reply): Option<&Reply> = replies.first() else {
                return false;
            };
            last = reply.text();
            reply.status == 200
                && last.contains("\"outcome\":\"exited\"")
                && last.contains("\"job\":\"flowforge\"")
        },
        Duration::from_secs(60),
    );
    assert!(
        scraped,
        "Prometheus did not scrape flowforge_runs_total; last answer: {last}\n{}",
        std::fs::read_to_string(sandbox.path("prometheus.log")).unwrap_or_default()
    );
    let result = Json::expect(&last);
    let sample = &result.field("data").field("result").as_array()[0];
    assert_eq!(sample.field("value").as_array()[1].as_str(), Some("1"));
    drop(prometheus);
    served.stop();
}

/// Regression: each worker opened its connection through `evidence::open`, whose header
/// check closes a std descriptor of the database file and so released the process's other
/// SQLite locks; a sqlite3 reader closing next believed it was the last connection and
/// deleted the WAL under the server, which then never saw a new run again.
#[test]
fn an_external_sqlite_reader_does_not_blind_the_server() {
    let sandbox = Sandbox::new("api-wal");
    run_ok(&sandbox, &["run", "--", "true"]);
    let served = Served::start(&sandbox);
    let client = served.client();
    for _ in 0..24 {
        assert_eq!(client.get("/api/v1/runs?limit=1").status, 200);
    }
    assert_eq!(
        query(&sandbox.db(), "SELECT count(*) AS n FROM runs")[0].int_of("n"),
        1
    );
    assert!(
        sandbox.db().with_extension("db-wal").exists(),
        "the WAL is still there"
    );
    run_ok(&sandbox, &["run", "--", "true"]);
    for _ in 0..8 {
        assert_eq!(
            ids(&client.get_json("/api/v1/runs"), "runs"),
            [2, 1],
            "every worker sees the new run"
        );
    }
    served.stop();
}

#[test]
fn a_kill_for_a_run_that_is_still_starting_waits_and_then_says_retry() {
    let sandbox = Sandbox::new("api-starting");
    run_ok(&sandbox, &["run", "--", "true"]);
    // A run whose row is in but whose control socket is not up yet: it just started.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    let sql = format!(
        "INSERT INTO runs (argv, cwd, started_at_ms, pid, mode, flowforge_version) VALUES ('[\"sleep\"]', '/', {now_ms}, {}, 'kill', 'x');",
        std::process::id()
    );
    let out = crate::common::sqlite3(&sandbox.db(), &sql);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let served = Served::start(&sandbox);
    let client = served.client();
    assert_eq!(ids(&client.get_json("/api/v1/runs?state=running"), "runs"), [2]);
    // Not 409 ("cannot be reached"): the run is about to listen, so the client should retry.
    let reply = client.post("/api/v1/runs/2/kill");
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.problem_field(), "id");
    assert!(reply.text().contains("starting"), "{}", reply.text());
    served.stop();
}
