//! The router: the localhost defences every request passes, then one handler per route.
//!
//! Order matters and is the same for every request: (1) `Host` must name this server by a
//! loopback name and its port — after a DNS rebinding the browser sends the attacker's
//! name, so this is what stops a web page from reading the API (421); `X-Forwarded-*` is
//! never consulted; (2) an `Origin`, when present, must be this server's own (403), and no
//! CORS header is ever sent, so no other origin is granted anything; (3) everything under
//! `/api` and `/metrics` needs `Authorization: Bearer <key>`, compared in constant time,
//! with failing clients backed off (see `limit.rs`); `/healthz` alone answers without a key
//! and says nothing but "ok". Then the route table, the method (405 with `Allow`), the
//! handler, and for a `GET` that succeeded an `ETag` (304 on `If-None-Match`).
//!
//! The dashboard's files (`web.rs`) are served at `/` after the Host and Origin checks but
//! without the key: they hold no data, and the page sends the key with each API request.

use super::http::{Handler, Request, Response};
use super::key::KeyStore;
use super::limit::{retry_after_seconds, AuthLimiter};
use super::problem::{problem, Problem, Query};
use super::{metrics, openapi, store, web};
use crate::act::control::{self, LiveStats, UserAction, UserRequest};
use crate::evidence::{self, now_ms};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const JSON: &str = "application/json";
/// Longest `wait` a long poll accepts, in seconds.
pub const MAX_WAIT_SECONDS: i64 = 25;
/// Long polls waiting at once; more are answered at once (the client polls again), so
/// waiting requests can never occupy every worker.
const MAX_WAITERS: usize = super::http::WORKERS / 2;
/// How often a long poll looks for new events.
const WAIT_STEP: Duration = Duration::from_millis(25);
/// How long the API waits for a run to answer on its control socket.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(2);
/// Idempotency keys remembered (oldest forgotten first).
const MAX_IDEMPOTENCY_KEYS: usize = 1024;

/// The routes, in the order they are matched; the OpenAPI description is checked against
/// this table by a test.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/runs"),
    ("GET", "/api/v1/runs/{id}"),
    ("GET", "/api/v1/runs/{id}/events"),
    ("GET", "/api/v1/runs/{id}/samples"),
    ("POST", "/api/v1/runs/{id}/kill"),
    ("POST", "/api/v1/runs/{id}/restart"),
    ("GET", "/api/v1/events"),
];

/// Everything a request handler needs; shared by the workers.
pub struct Api {
    keys: KeyStore,
    db: PathBuf,
    /// The `Host` values that name this server.
    hosts: Vec<String>,
    limiter: AuthLimiter,
    idempotency: Mutex<Vec<(String, IdempotentReply)>>,
    /// Serialises control requests, so one idempotency key is acted on once.
    control: Mutex<()>,
    waiters: AtomicUsize,
    stop: Arc<AtomicBool>,
    live: Option<Arc<LiveStats>>,
}

#[derive(Debug, Clone)]
struct IdempotentReply {
    run: i64,
    action: UserAction,
    body: Vec<u8>,
}

impl Api {
    pub fn new(
        keys: KeyStore,
        db: PathBuf,
        hosts: Vec<String>,
        stop: Arc<AtomicBool>,
        live: Option<Arc<LiveStats>>,
    ) -> Api {
        Api {
            keys,
            db,
            hosts,
            limiter: AuthLimiter::default(),
            idempotency: Mutex::new(Vec::new()),
            control: Mutex::new(()),
            waiters: AtomicUsize::new(0),
            stop,
            live,
        }
    }

    fn guard(&self, request: &Request) -> Result<(), Problem> {
        let host = request
            .header("host")
            .map_err(|()| Problem::bad("Host", "the Host header is given more than once"))?
            .ok_or_else(|| {
                Problem::bad(
                    "Host",
                    "a Host header is required (HTTP/1.0 clients must send one too)",
                )
            })?;
        if !self.hosts.iter().any(|h| h == host) {
            return Err(Problem::new(
                421,
                "Host",
                format!("this server answers to {} only", self.hosts.join(", ")),
            ));
        }
        match request.header("origin") {
            Err(()) => {
                return Err(Problem::new(
                    403,
                    "Origin",
                    "the Origin header is given more than once",
                ))
            }
            Ok(Some(origin)) if origin != format!("http://{host}") => {
                return Err(Problem::new(
                    403,
                    "Origin",
                    "cross-origin requests are not allowed",
                ));
            }
            Ok(_) => {}
        }
        if request.path == "/healthz" || web::is_asset(&request.path) {
            return Ok(());
        }
        let now = Instant::now();
        if let Some(wait) = self.limiter.blocked(request.peer.ip(), now) {
            let mut p = Problem::new(
                429,
                "Authorization",
                "too many requests with a wrong key; retry later",
            );
            p.detail
                .push_str(&format!(" (in {} s)", retry_after_seconds(wait)));
            return Err(p);
        }
        let presented = match request.header("authorization") {
            Ok(Some(value)) => value.strip_prefix("Bearer ").map(str::trim),
            _ => None,
        };
        let ok = presented.is_some_and(|key| self.keys.matches(key.as_bytes()));
        if !ok {
            self.limiter.failed(request.peer.ip(), now);
            return Err(Problem::new(
                401,
                "Authorization",
                "send `Authorization: Bearer <key>`; `flowforge key` prints where the key is",
            ));
        }
        Ok(())
    }

    fn route(&self, conn: &mut Option<Connection>, request: &Request) -> Result<Response, Problem> {
        if let Some(page) = web::asset(&request.path) {
            if request.method != "GET" && request.method != "HEAD" {
                let mut response = problem(405, "method", "the dashboard's files are read with GET");
                response.headers.push(("Allow", "GET, HEAD".to_string()));
                return Ok(response);
            }
            return Ok(page);
        }
        let Some((method, pattern, id)) = match_route(&request.path) else {
            return Err(Problem::new(
                404,
                "path",
                format!("no such endpoint: {}", request.path),
            ));
        };
        let allowed: Vec<&str> = ROUTES
            .iter()
            .filter(|(_, p)| *p == pattern)
            .map(|(m, _)| *m)
            .flat_map(|m| if m == "GET" { vec!["GET", "HEAD"] } else { vec![m] })
            .collect();
        let method_ok = request.method == method || (method == "GET" && request.method == "HEAD");
        if !method_ok {
            let mut response = problem(
                405,
                "method",
                &format!(
                    "{} is not allowed here; use {}",
                    request.method,
                    allowed.join(", ")
                ),
            );
            response.headers.push(("Allow", allowed.join(", ")));
            return Ok(response);
        }
        if method == "GET" && !request.body.is_empty() {
            return Err(Problem::bad("body", "a GET request has no body"));
        }
        if pattern == "/healthz" {
            Query::parse(&request.query, &[])?;
            return Ok(json_response(200, &json!({"status": "ok"})));
        }
        if pattern == "/api/v1/openapi.json" {
            Query::parse(&request.query, &[])?;
            return Ok(json_response(200, &openapi::document()));
        }
        if conn.is_none()
            && self
                .live
                .as_ref()
                .is_some_and(|l| !l.store_ready.load(Ordering::Relaxed))
        {
            let mut p = Problem::new(
                503,
                "",
                "the run is still opening its evidence store; retry shortly",
            );
            p.detail.push_str(" (in 1 s)");
            return Err(p);
        }
        let conn = connection(conn, &self.db)?;
        let id = id.map(parse_id).transpose()?;
        match (pattern, id) {
            ("/metrics", _) => {
                Query::parse(&request.query, &[])?;
                let body =
                    metrics::render(conn, &self.db, self.live.as_deref(), now_ms()).map_err(internal)?;
                Ok(Response::new(200, metrics::CONTENT_TYPE, body))
            }
            ("/api/v1/runs", _) => self.list_runs(conn, request),
            ("/api/v1/runs/{id}", Some(id)) => {
                Query::parse(&request.query, &[])?;
                let run = self.run(conn, id)?;
                Ok(json_response(200, &json!({"run": run})))
            }
            ("/api/v1/runs/{id}/events", Some(id)) => {
                // Nothing new will come for a run that has ended: no point in waiting.
                let ended = self.run(conn, id)?.run.ended_at_ms.is_some();
                self.events(conn, request, Some(id), !ended)
            }
            ("/api/v1/events", _) => self.events(conn, request, None, true),
            ("/api/v1/runs/{id}/samples", Some(id)) => {
                self.run(conn, id)?;
                let q = Query::parse(&request.query, &["after", "limit"])?;
                let after = q.int("after", 0, i64::MAX, 0)?;
                let limit = q.int("limit", 1, 10_000, 1000)?;
                let samples = store::samples(conn, id, after, limit).map_err(internal)?;
                let next = samples.last().map_or(after, |s| s.id);
                Ok(typed_response(&SamplePage {
                    samples: &samples,
                    next_after: next,
                }))
            }
            ("/api/v1/runs/{id}/kill", Some(id)) => self.control(conn, request, id, UserAction::Kill),
            ("/api/v1/runs/{id}/restart", Some(id)) => self.control(conn, request, id, UserAction::Restart),
            _ => Err(Problem::new(
                404,
                "path",
                format!("no such endpoint: {}", request.path),
            )),
        }
    }

    fn run(&self, conn: &Connection, id: i64) -> Result<store::RunView, Problem> {
        let run = store::get_run(conn, id)
            .map_err(internal)?
            .ok_or_else(|| Problem::new(404, "id", format!("no run {id}")))?;
        Ok(store::view(conn, &self.db, run, now_ms()))
    }

    fn list_runs(&self, conn: &Connection, request: &Request) -> Result<Response, Problem> {
        let q = Query::parse(&request.query, &["limit", "before", "state", "outcome"])?;
        let limit = q.int("limit", 1, 500, 50)?;
        let before = q.int("before", 1, i64::MAX, i64::MAX)?;
        let state = q
            .text("state")
            .map(|s| {
                store::RunState::parse(s)
                    .ok_or_else(|| Problem::bad("state", "state is running, ended or lost"))
            })
            .transpose()?;
        let outcome = q.text("outcome");
        if let Some(outcome) = outcome {
            if outcome.is_empty()
                || outcome.len() > 64
                || !outcome.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                return Err(Problem::bad(
                    "outcome",
                    "outcome is a word such as exited, stopped, timeout",
                ));
            }
        }
        let (runs, more) =
            store::list_runs(conn, &self.db, state, outcome, before, limit, now_ms()).map_err(internal)?;
        let next = more.then(|| runs.last().map(|r| r.run.id)).flatten();
        Ok(typed_response(&RunPage {
            runs: &runs,
            next_before: next,
        }))
    }

    fn events(
        &self,
        conn: &Connection,
        request: &Request,
        run: Option<i64>,
        may_wait: bool,
    ) -> Result<Response, Problem> {
        let q = Query::parse(&request.query, &["after", "limit", "wait"])?;
        let after = q.int("after", 0, i64::MAX, 0)?;
        let limit = q.int("limit", 1, 1000, 200)?;
        let wait = q.int("wait", 0, MAX_WAIT_SECONDS, 0)?;
        if may_wait && wait > 0 && !store::has_events_after(conn, run, after).map_err(internal)? {
            self.wait_for_events(conn, run, after, Duration::from_secs(wait as u64))?;
        }
        let events = store::events(conn, run, after, limit).map_err(internal)?;
        let next = events.last().and_then(|e| e.id).unwrap_or(after);
        Ok(typed_response(&EventPage {
            events: &events,
            next_after: next,
        }))
    }

    /// Blocks this worker until an event newer than `after` exists, `wait` passes, or the
    /// server stops. Beyond [`MAX_WAITERS`] the request is answered at once.
    fn wait_for_events(
        &self,
        conn: &Connection,
        run: Option<i64>,
        after: i64,
        wait: Duration,
    ) -> Result<(), Problem> {
        if self.waiters.fetch_add(1, Ordering::SeqCst) >= MAX_WAITERS {
            self.waiters.fetch_sub(1, Ordering::SeqCst);
            return Ok(());
        }
        let deadline = Instant::now() + wait;
        let result = loop {
            if self.stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
                break Ok(());
            }
            std::thread::sleep(WAIT_STEP.min(deadline.saturating_duration_since(Instant::now())));
            match store::has_events_after(conn, run, after) {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(e) => break Err(internal(e)),
            }
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }

    fn control(
        &self,
        conn: &Connection,
        request: &Request,
        id: i64,
        action: UserAction,
    ) -> Result<Response, Problem> {
        Query::parse(&request.query, &[])?;
        let body = parse_control_body(request)?;
        let key = idempotency_key(request)?;
        let _serial = self
            .control
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(key) = &key {
            let seen = self
                .idempotency
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((_, reply)) = seen.iter().find(|(k, _)| k == key) {
                if reply.run != id || reply.action != action {
                    return Err(Problem::new(
                        422,
                        "Idempotency-Key",
                        format!(
                            "this key was used for {} of run {}",
                            reply.action.name(),
                            reply.run
                        ),
                    ));
                }
                return Ok(Response::new(202, JSON, reply.body.clone()));
            }
        }
        let run = self.run(conn, id)?;
        if let Some(outcome) = &run.run.outcome {
            return Err(Problem::new(409, "id", format!("run {id} has ended ({outcome})")));
        }
        let socket = control::socket_path(&self.db, id);
        let stream = match control::connect(&socket) {
            Ok(stream) => stream,
            // A run that has only just started may not listen yet: wait for it a moment
            // rather than refuse a request that is about to be valid.
            Err(_) if run.state == store::RunState::Running => {
                let deadline = Instant::now() + CONTROL_TIMEOUT;
                loop {
                    std::thread::sleep(WAIT_STEP);
                    match control::connect(&socket) {
                        Ok(stream) => break stream,
                        Err(e) if Instant::now() >= deadline => {
                            return Err(Problem::new(
                                503,
                                "id",
                                format!(
                                    "run {id} is starting and does not answer yet ({e}); retry in a moment"
                                ),
                            ))
                        }
                        Err(_) => {}
                    }
                }
            }
            Err(e) => {
                return Err(Problem::new(
                    409,
                    "id",
                    format!(
                        "run {id} cannot be reached ({e}); it is {}",
                        state_name(run.state)
                    ),
                ))
            }
        };
        let client = request.peer.to_string();
        let reason = body.reason.clone();
        let message = format!(
            "{} requested via the API by {client}{}",
            action.name(),
            reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
        );
        let payload = json!({"client": client, "reason": reason, "action": action.name()});
        let kind = format!("{}_requested", action.name());
        let event_id =
            store::insert_control_event(conn, id, &kind, &message, &payload, now_ms()).map_err(internal)?;
        let sent = UserRequest {
            action,
            event_id: Some(event_id),
            client,
            reason,
            sent_at_ms: Some(now_ms()),
        };
        if let Err(e) = control::send(stream, &sent, CONTROL_TIMEOUT) {
            // A run that has just ended keeps its socket until its end is recorded, but no
            // longer answers on it.
            let ended = store::get_run(conn, id).ok().flatten().and_then(|r| r.outcome);
            return Err(match (ended, e) {
                (Some(outcome), _) => Problem::new(409, "id", format!("run {id} has ended ({outcome})")),
                (None, e @ control::ControlError::NoAnswer(_)) => {
                    Problem::new(504, "id", format!("run {id}: {e}"))
                }
                (None, e) => Problem::new(409, "id", format!("run {id}: {e}")),
            });
        }
        let reply = json!({
            "run_id": id,
            "action": action.name(),
            "event_id": event_id,
            "status": "accepted",
            "events": format!("/api/v1/runs/{id}/events?after={}", event_id - 1),
        });
        let bytes = serde_json::to_vec(&reply).unwrap_or_default();
        if let Some(key) = key {
            let mut seen = self
                .idempotency
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if seen.len() >= MAX_IDEMPOTENCY_KEYS {
                seen.remove(0);
            }
            seen.push((
                key,
                IdempotentReply {
                    run: id,
                    action,
                    body: bytes.clone(),
                },
            ));
        }
        Ok(Response::new(202, JSON, bytes))
    }
}

fn state_name(state: store::RunState) -> &'static str {
    match state {
        store::RunState::Running => "starting",
        store::RunState::Ended => "ended",
        store::RunState::Lost => "lost",
    }
}

/// The optional body of kill and restart.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ControlBody {
    reason: Option<String>,
}

fn parse_control_body(request: &Request) -> Result<ControlBody, Problem> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ControlBody::default());
    }
    let content_type = request.header("content-type").ok().flatten().unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(JSON) {
        return Err(Problem::new(
            415,
            "Content-Type",
            "a body must be application/json",
        ));
    }
    let body: ControlBody = serde_json::from_slice(&request.body).map_err(|e| {
        let text = e.to_string();
        let field = if text.starts_with("unknown field") {
            text.split('`').nth(1).unwrap_or("body").to_string()
        } else if text.starts_with("invalid type") {
            "reason".to_string()
        } else {
            "body".to_string()
        };
        Problem::bad(field, format!("the body is not {{\"reason\": \"...\"}}: {text}"))
    })?;
    if body.reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(Problem::bad("reason", "reason is at most 200 characters"));
    }
    Ok(body)
}

fn idempotency_key(request: &Request) -> Result<Option<String>, Problem> {
    let key = request
        .header("idempotency-key")
        .map_err(|()| Problem::bad("Idempotency-Key", "Idempotency-Key is given more than once"))?;
    match key {
        None => Ok(None),
        Some(k) if !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_string()))
        }
        Some(_) => Err(Problem::bad(
            "Idempotency-Key",
            "Idempotency-Key is 1 to 200 visible ASCII characters",
        )),
    }
}

/// The route a path belongs to: (method, pattern, the `{id}` segment if any).
fn match_route(path: &str) -> Option<(&'static str, &'static str, Option<&str>)> {
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES.iter().find_map(|(method, pattern)| {
        let parts: Vec<&str> = pattern.split('/').collect();
        if parts.len() != segments.len() {
            return None;
        }
        let mut id = None;
        for (part, segment) in parts.iter().zip(&segments) {
            if *part == "{id}" {
                id = Some(*segment);
            } else if part != segment {
                return None;
            }
        }
        Some((*method, *pattern, id))
    })
}

fn parse_id(text: &str) -> Result<i64, Problem> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            Problem::new(
                400,
                "id",
                format!(
                    "a run id is a positive integer, not '{}'",
                    text.chars().take(40).collect::<String>()
                ),
            )
        })
}

fn connection<'c>(conn: &'c mut Option<Connection>, db: &std::path::Path) -> Result<&'c Connection, Problem> {
    if conn.is_none() {
        // Never creates the store: `serve` opened it before serving, `run --listen` serves
        // what its recorder creates (until then this fails and the next request tries
        // again).
        *conn = Some(evidence::open_existing(db).map_err(internal)?);
    }
    conn.as_ref()
        .ok_or_else(|| Problem::new(500, "", "no database connection"))
}

fn internal(e: evidence::EvidenceError) -> Problem {
    log::warn!("api: {}", crate::diag::with_sources(&e));
    Problem::new(
        500,
        "",
        "the evidence store could not be read; see the server's log",
    )
}

/// The pages are serialised straight from their rows, without a `Value` tree in between.
#[derive(Serialize)]
struct RunPage<'a> {
    runs: &'a [store::RunView],
    next_before: Option<i64>,
}

#[derive(Serialize)]
struct EventPage<'a> {
    events: &'a [crate::evidence::ndjson::EventRecord],
    next_after: i64,
}

#[derive(Serialize)]
struct SamplePage<'a> {
    samples: &'a [store::SampleView],
    next_after: i64,
}

fn typed_response<T: Serialize>(value: &T) -> Response {
    Response::new(200, JSON, serde_json::to_vec(value).unwrap_or_default())
}

fn json_response(status: u16, value: &Value) -> Response {
    Response::new(status, JSON, serde_json::to_vec(value).unwrap_or_default())
}

/// A weak validator over the body: the same bytes give the same tag.
fn etag(body: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("W/\"{:016x}{:08x}\"", hasher.finish(), body.len())
}

fn if_none_match(request: &Request, tag: &str) -> bool {
    request
        .headers
        .iter()
        .filter(|(n, _)| n == "if-none-match")
        .flat_map(|(_, v)| v.split(','))
        .any(|candidate| {
            let candidate = candidate.trim();
            let weak = |t: &'_ str| t.trim_start_matches("W/").to_string();
            candidate == "*" || weak(candidate) == weak(tag)
        })
}

impl Handler for Api {
    type Local = Option<Connection>;

    fn local(&self) -> Option<Connection> {
        None
    }

    fn handle(&self, conn: &mut Option<Connection>, request: &Request) -> Response {
        let response = match self.guard(request).and_then(|()| self.route(conn, request)) {
            Ok(response) => response,
            Err(problem) => {
                let status = problem.status;
                let mut response = problem.into_response();
                match status {
                    401 => response.headers.push(("WWW-Authenticate", "Bearer".to_string())),
                    503 => response.headers.push(("Retry-After", "1".to_string())),
                    429 => {
                        let wait = self
                            .limiter
                            .blocked(request.peer.ip(), Instant::now())
                            .unwrap_or_default();
                        response
                            .headers
                            .push(("Retry-After", retry_after_seconds(wait).to_string()));
                    }
                    // Who sends a wrong Host or Origin is not a client of ours: do not
                    // keep the connection.
                    400 | 403 | 421 => response.close = true,
                    _ => {}
                }
                response
            }
        };
        let mut response = response;
        response.headers.push(("Cache-Control", "no-store".to_string()));
        response
            .headers
            .push(("X-Content-Type-Options", "nosniff".to_string()));
        if (request.method == "GET" || request.method == "HEAD") && response.status == 200 {
            let tag = etag(&response.body);
            if if_none_match(request, &tag) {
                response.status = 304;
                response.body.clear();
            }
            response.headers.push(("ETag", tag));
        }
        response
    }

    fn refuse(&self, status: u16, field: &str, detail: &str) -> Response {
        problem(status, field, detail)
    }
}

/// Requests seen per route, for tests of the route table.
#[cfg(test)]
pub fn route_names() -> std::collections::HashMap<&'static str, Vec<&'static str>> {
    let mut map: std::collections::HashMap<&'static str, Vec<&'static str>> =
        std::collections::HashMap::new();
    for (method, pattern) in ROUTES {
        map.entry(pattern).or_default().push(method);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_ids() {
        assert_eq!(
            match_route("/api/v1/runs/12/events"),
            Some(("GET", "/api/v1/runs/{id}/events", Some("12")))
        );
        assert_eq!(match_route("/api/v1/runs"), Some(("GET", "/api/v1/runs", None)));
        assert_eq!(
            match_route("/api/v1/runs/x/kill"),
            Some(("POST", "/api/v1/runs/{id}/kill", Some("x")))
        );
        assert_eq!(match_route("/api/v1/nope"), None);
        assert_eq!(match_route("/"), None);
        assert!(parse_id("x").is_err());
        assert!(parse_id("-1").is_err());
        assert!(parse_id("+1").is_err());
        assert!(parse_id("0").is_err());
        assert!(parse_id("99999999999999999999").is_err());
        assert_eq!(parse_id("42"), Ok(42));
    }

    #[test]
    fn openapi_describes_exactly_the_routes() {
        let doc = openapi::document();
        let paths = doc["paths"].as_object().expect("paths");
        let routes = route_names();
        let mut described: std::collections::HashMap<&str, Vec<String>> = std::collections::HashMap::new();
        for (path, item) in paths {
            let methods = item.as_object().expect("path item");
            described.insert(
                path.as_str(),
                methods
                    .keys()
                    .filter(|m| *m != "parameters")
                    .map(|m| m.to_uppercase())
                    .collect(),
            );
        }
        assert_eq!(described.len(), routes.len(), "{described:?}");
        for (pattern, methods) in &routes {
            let got = described
                .get(pattern)
                .unwrap_or_else(|| panic!("{pattern} is not described"));
            let mut want: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
            let mut got = got.clone();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{pattern}");
        }
        assert_eq!(doc["openapi"], "3.0.3");
    }

    #[test]
    fn etags_match_weakly() {
        let tag = etag(b"abc");
        assert_eq!(tag, etag(b"abc"));
        assert_ne!(tag, etag(b"abd"));
        let request = |value: &str| Request {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            minor: 1,
            headers: vec![("if-none-match".into(), value.into())],
            body: Vec::new(),
            peer: "127.0.0.1:1".parse().expect("literal"),
        };
        assert!(if_none_match(&request(&tag), &tag));
        assert!(if_none_match(&request(&format!("\"x\", {tag}")), &tag));
        assert!(if_none_match(&request(tag.trim_start_matches("W/")), &tag));
        assert!(!if_none_match(&request("\"other\""), &tag));
    }
}
