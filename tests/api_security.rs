//! Attacks on the local API, each against a real server (THREAT_MODEL.md maps each
//! threat to one of these tests): missing and wrong keys, DNS rebinding (foreign Host),
//! cross-site requests (foreign Origin), oversized heads and bodies, key guessing, idle
//! and slow-loris connections, and malformed or pipelined requests.

use crate::api::Served;
use crate::common::http::{exchange, Client, REPLY_LIMIT};
use crate::common::{wait_until, Sandbox};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn seeded(name: &str) -> (Sandbox, Served) {
    let sandbox = Sandbox::new(name);
    let mut command = sandbox.command(&["run", "--", "true"]);
    command.env("FF_SECRET_TOKEN", "hunter2-env");
    let outcome = sandbox.spawn(command).finish();
    assert_eq!(outcome.code(), 0, "{}", outcome.describe());
    let served = Served::start(&sandbox);
    (sandbox, served)
}

#[test]
fn no_key_wrong_key_or_one_byte_off_gets_401_and_no_data() {
    let (_sandbox, served) = seeded("sec-401");
    let mut off_by_one = served.key.clone().into_bytes();
    off_by_one[17] = if off_by_one[17] == b'a' { b'b' } else { b'a' };
    let off_by_one = String::from_utf8(off_by_one).expect("hex");
    let short = served.key[..63].to_string();
    let long = format!("{}0", served.key);
    let headers: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("Authorization", format!("Bearer {off_by_one}"))],
        vec![("Authorization", format!("Bearer {short}"))],
        vec![("Authorization", format!("Bearer {long}"))],
        vec![("Authorization", "Bearer ".to_string())],
        vec![("Authorization", format!("Basic {}", served.key))],
        vec![("Authorization", served.key.clone())],
        vec![("X-Api-Key", served.key.clone())],
    ];
    let anonymous = served.anonymous();
    // Two paths × eight headers stay under the burst of failures that triggers 429.
    for path in ["/api/v1/runs/1", "/metrics"] {
        for extra in &headers {
            let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let reply = anonymous.send("GET", path, &extra, b"");
            assert_eq!(reply.status, 401, "{path} {extra:?}: {}", reply.text());
            assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
            let text = reply.text();
            assert!(
                !text.contains("argv") && !text.contains("flowforge_runs_total"),
                "{text}"
            );
            assert!(!text.contains(&served.key), "the key is never echoed");
        }
    }
    let reply = anonymous.post("/api/v1/runs/1/kill");
    assert_eq!(reply.status, 401);
    assert_eq!(served.client().get("/api/v1/runs").status, 200);
}

#[test]
fn responses_never_echo_the_key_or_the_environment() {
    let (_sandbox, served) = seeded("sec-echo");
    let client = served.client();
    for path in [
        "/api/v1/runs",
        "/api/v1/runs/1",
        "/api/v1/runs/1/events",
        "/api/v1/events",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/runs/zz",
        "/nope",
    ] {
        let reply = client.get(path);
        let all = format!("{:?}{}", reply.headers, reply.text());
        assert!(!all.contains(&served.key), "{path} echoes the key");
        for secret in [
            "hunter2-env",
            "FF_SECRET_TOKEN",
            "FF_TEST_MARKER",
            "FLOWFORGE_HOME",
        ] {
            assert!(
                !all.contains(secret),
                "{path} shows the child's environment ({secret})"
            );
        }
    }
}

#[test]
fn a_foreign_host_is_misdirected_whatever_x_forwarded_says() {
    let (_sandbox, served) = seeded("sec-host");
    let port = served.addr.port();
    let mut client = served.client();
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "127.0.0.1",
        &format!("127.0.0.1:{}", port + 1),
        &format!("localhost.evil.example:{port}"),
    ] {
        client.host = host.to_string();
        for path in ["/api/v1/runs", "/healthz"] {
            let reply = client.get(path);
            assert_eq!(reply.status, 421, "Host {host} {path}: {}", reply.text());
            assert!(!reply.text().contains("argv"));
        }
        let forwarded = [
            ("X-Forwarded-Host", format!("127.0.0.1:{port}")),
            ("X-Forwarded-For", "127.0.0.1".to_string()),
        ];
        let forwarded: Vec<(&str, &str)> = forwarded.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(client.send("GET", "/api/v1/runs", &forwarded, b"").status, 421);
    }
    for host in [
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("127.0.0.1:{port}"),
    ] {
        client.host = host.clone();
        assert_eq!(client.get("/api/v1/runs").status, 200, "Host {host}");
    }
    // HTTP/1.0 without Host, and two Hosts.
    let replies = exchange(served.addr, b"GET /api/v1/runs HTTP/1.0\r\n\r\n", 1).expect("exchange");
    assert_eq!(replies[0].status, 400);
    assert_eq!(replies[0].problem_field(), "Host");
    let twice = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n");
    assert_eq!(
        exchange(served.addr, twice.as_bytes(), 1).expect("exchange")[0].status,
        400
    );
}

#[test]
fn a_foreign_origin_is_forbidden_and_nothing_grants_cors() {
    let (_sandbox, served) = seeded("sec-origin");
    let port = served.addr.port();
    let client = served.client();
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://localhost:{port}"),
        &format!("https://127.0.0.1:{port}"),
        &format!("http://127.0.0.1:{port}.evil.example"),
    ] {
        for (method, path) in [
            ("GET", "/api/v1/runs"),
            ("POST", "/api/v1/runs/1/kill"),
            ("OPTIONS", "/api/v1/runs"),
            ("GET", "/healthz"),
        ] {
            let reply = client.send(method, path, &[("Origin", origin)], b"");
            assert_eq!(reply.status, 403, "{origin} {method} {path}: {}", reply.text());
            assert_eq!(reply.problem_field(), "Origin");
            reply.assert_no_cors(&format!("{origin} {method} {path}"));
        }
    }
    let own = format!("http://127.0.0.1:{port}");
    let reply = client.send("GET", "/api/v1/runs", &[("Origin", &own)], b"");
    assert_eq!(reply.status, 200, "the server's own origin (the dashboard)");
    reply.assert_no_cors("the server's own origin");
}

#[test]
fn oversized_heads_and_bodies_are_refused() {
    let (_sandbox, served) = seeded("sec-size");
    let client = served.client();
    let big = "a".repeat(9 * 1024);
    let reply = client.send("GET", "/api/v1/runs", &[("X-Padding", &big)], b"");
    assert_eq!(reply.status, 431, "{}", reply.text());
    let body = vec![b'{'; 200 * 1024];
    let reply = client.send(
        "POST",
        "/api/v1/runs/1/kill",
        &[("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert_eq!(reply.problem_field(), "body");
    // The same without a key: the limits come before anything else.
    assert_eq!(
        served
            .anonymous()
            .send("GET", "/healthz", &[("X-Padding", &big)], b"")
            .status,
        431
    );
    assert_eq!(client.get("/healthz").status, 200);
}

#[test]
fn guessing_keys_backs_off_and_the_right_key_works_after_retry_after() {
    let (_sandbox, served) = seeded("sec-429");
    let client = served.client();
    // A dashboard polling with the right key is never limited.
    for _ in 0..300 {
        assert_eq!(client.get("/api/v1/runs?limit=1").status, 200);
    }
    let guesser = Client::new(served.addr, Some(&"0".repeat(64)));
    let statuses: Vec<u16> = (0..200).map(|_| guesser.get("/api/v1/runs").status).collect();
    assert!(statuses.iter().all(|s| [401, 429].contains(s)), "{statuses:?}");
    let first_429 = statuses
        .iter()
        .position(|s| *s == 429)
        .expect("guessing is backed off");
    assert!(statuses[..first_429].iter().all(|s| *s == 401));
    let reply = (0..100)
        .map(|_| guesser.get("/api/v1/runs"))
        .find(|r| r.status == 429)
        .expect("still backed off while guessing");
    assert_eq!(reply.problem_field(), "Authorization");
    let retry: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    // While backed off, even the right key is not looked at (no oracle for a guesser). The
    // bucket refills 2 tokens/s, so on a loaded machine the right key may arrive after a
    // refill: retry the pair until it lands inside a back-off.
    let refused = (0..50).any(|_| {
        let backed_off = (0..100).any(|_| guesser.get("/api/v1/runs").status == 429);
        backed_off && client.get("/api/v1/runs").status == 429
    });
    assert!(
        refused,
        "the right key is refused while its address is backed off"
    );
    let recovered = wait_until(
        || client.get("/api/v1/runs").status == 200,
        Duration::from_secs(retry + 10),
    );
    assert!(recovered, "the right key works again after Retry-After");
    assert_eq!(client.get("/healthz").status, 200, "health is never limited");
}

fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads line")
}

#[test]
fn idle_and_slow_loris_clients_do_not_stall_health_and_threads_stay_bounded() {
    let (_sandbox, served) = seeded("sec-loris");
    let client = served.client();
    let before = threads_of(served.pid());
    let idle: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(served.addr).expect("connect"))
        .collect();
    let mut loris: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(served.addr).expect("connect");
            s.write_all(b"GET /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .expect("write");
            s
        })
        .collect();
    for round in 0..5 {
        for s in &mut loris {
            let _ = s.write_all(b"a");
        }
        for _ in 0..4 {
            let reply = client.get("/healthz");
            assert_eq!(reply.status, 200, "round {round}");
        }
        assert_eq!(client.get("/api/v1/runs?limit=1").status, 200);
    }
    let during = threads_of(served.pid());
    assert_eq!(during, before, "70 hostile connections add no thread");
    assert!(during <= 16, "{during} threads");
    // The server drops them once the request deadline (10 s) has passed.
    let mut probe = idle.into_iter().next().expect("an idle connection");
    probe.set_read_timeout(Some(REPLY_LIMIT)).expect("timeout");
    let mut rest = Vec::new();
    let _ = probe.read_to_end(&mut rest);
    let mut slow = loris.remove(0);
    slow.set_read_timeout(Some(REPLY_LIMIT)).expect("timeout");
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(client.get("/healthz").status, 200);
}

#[test]
fn the_server_survives_malformed_and_pipelined_requests() {
    let (_sandbox, served) = seeded("sec-malformed");
    let port = served.addr.port();
    let host = format!("127.0.0.1:{port}");
    let cases: Vec<Vec<u8>> = vec![
        b"\r\n\r\n".to_vec(),
        b"garbage\r\n\r\n".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        b"GET /healthz HTTP/1.1\r\nHost \r\n\r\n".to_vec(),
        b"GET /healthz HTTP/1.1\r\nHo\0st: x\r\n\r\n".to_vec(),
        b"GET /\xff\xfe HTTP/1.1\r\n\r\n".to_vec(),
        format!("POST /api/v1/runs/1/kill HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").into_bytes(),
        format!("POST /api/v1/runs/1/kill HTTP/1.1\r\nHost: {host}\r\nContent-Length: -5\r\n\r\n").into_bytes(),
        format!("POST /api/v1/runs/1/kill HTTP/1.1\r\nHost: {host}\r\nContent-Length: 99999999999999999999999\r\n\r\n").into_bytes(),
        format!("GET /{} HTTP/1.1\r\nHost: {host}\r\n\r\n", "a".repeat(20_000)).into_bytes(),
        format!("GET /api/v1/runs?{} HTTP/1.1\r\nHost: {host}\r\n\r\n", "%".repeat(100)).into_bytes(),
        format!("GET http://{host}/healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes(),
    ];
    for raw in &cases {
        let replies = exchange(served.addr, raw, 1).expect("exchange");
        let shown = String::from_utf8_lossy(raw).chars().take(80).collect::<String>();
        let reply = replies
            .first()
            .unwrap_or_else(|| panic!("no answer to {shown:?}"));
        assert!(
            (400..500).contains(&reply.status) || reply.status == 505,
            "{shown:?}: {}",
            reply.status
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{shown:?}"
        );
        assert_eq!(
            Client::new(served.addr, None).get("/healthz").status,
            200,
            "alive after {shown:?}"
        );
    }
    // Pipelined requests are answered in order on one connection.
    let auth = format!("Authorization: Bearer {}\r\n", served.key);
    let pipelined = format!(
        "GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\nGET /api/v1/runs/1 HTTP/1.1\r\nHost: {host}\r\n{auth}\r\nGET /api/v1/runs/x HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    );
    let replies = exchange(served.addr, pipelined.as_bytes(), 3).expect("exchange");
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 400], "{replies:#?}");
    // HTTP/1.0 with a Host works and closes.
    let replies = exchange(
        served.addr,
        format!("GET /healthz HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes(),
        2,
    )
    .expect("exchange");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].status, 200);
    assert_eq!(replies[0].header("connection"), Some("close"));
}
