//! Is a line a reply to input from outside the job's own code?
//!
//! Two kinds of line repeat because the job's input repeats, not its code: a server's
//! access-log line (`127.0.0.1 - - [02/Dec/2026 15:01:02] "GET /api/status HTTP/1.1" 200 -`)
//! records a request a client sent — a frontend polling every 100 ms, a load balancer's
//! health check or a load test make a server print the same line many times a second while
//! the server itself does nothing wrong — and a database client's result tag (`INSERT 0 1`)
//! reports one statement of the script it runs, thirty thousand of them for a data load.
//!
//! Servers and monitors say it in more ways. A database server logging the statements it
//! runs (`LOG:  statement: UPDATE ...`, `LOG:  duration: 0.24 ms`), memcached tracing its
//! protocol (`<26 get user:18594`, `>26 END`) and any line naming the client end of a
//! connection (an address with an ephemeral port: `Accepted 127.0.0.1:44952`, a command
//! monitor's `[0 127.0.0.1:35786] "SET" ...`) record what a client sent. And what varies
//! tells input from a loop's own doing: a loop re-runs the same code on the same input, so
//! its lines carry fixed values, the time, ids it stamps itself and measurements of its own
//! work (`latency_ms=412`, a loss, a throughput); a line carrying two whole numbers or more
//! drawn afresh each time (a request's parameters: an account, an amount) reports data from
//! outside, while decimal figures never count (a trainer reloading its checkpoint prints new
//! losses every pass). A fresh id alone is what a retry loop stamps too, so it counts only
//! where one line is the whole pass and says a job finished (a queue worker: `job 3f2a...
//! done`; an operator's pass of four lines sharing a fresh `reconcileID` is its own code going
//! round), and nothing with failure, attempt or crash
//! words is ever a reply read from its values.
//!
//! A loop of nothing but such replies is capped like a heartbeat (`score`). The wording is
//! read once per template, with the rest of its wording (`wording`); the values from the
//! template's progress ring (`progress`), at each evaluation.

use super::templates::TemplateInfo;
use super::wording::Wording;
use std::time::Duration;

/// What a loop of reply lines answers: repetition that comes from the job's input, not
/// from its own code going round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replies {
    /// Every line is a server's access-log record: its clients repeat their requests.
    Requests,
    /// Every line is a database client's result tag: its script repeats a statement.
    Statements,
    /// A line of every pass carries two whole numbers or more drawn afresh (a request's
    /// parameters) and nothing fails: the passes report data from outside, each one
    /// different.
    Data,
    /// One line a pass, naming a job by an identifier new on every line and saying it
    /// finished, nothing failing: a worker taking jobs from a queue.
    Jobs,
}

impl Replies {
    /// The replies of a loop whose templates have these wordings, when all are of one kind.
    pub fn of<'a>(wordings: impl Iterator<Item = &'a Wording> + Clone) -> Option<Replies> {
        let all = |f: fn(&Wording) -> bool| {
            let mut any = false;
            wordings.clone().all(|w| {
                any = true;
                f(w)
            }) && any
        };
        if all(|w| w.served) {
            Some(Replies::Requests)
        } else if all(|w| w.statement) {
            Some(Replies::Statements)
        } else {
            None
        }
    }

    /// The replies of a loop of these templates: by their wording ([`Replies::of`]), else
    /// by their values. A loop prints its own fixed values, the time, a fresh id of its own
    /// and measurements of its own work (`latency_ms=412`, a loss); a line that carries two
    /// whole numbers or more drawn afresh each time reports data that came from outside. An id new on every
    /// line is what a retry loop stamps too, so it says "another job" only next to words of
    /// a job finished, and never next to failure or attempt words.
    pub fn of_templates(infos: &[&TemplateInfo], now: Duration, freshness: Duration) -> Option<Replies> {
        if let Some(replies) = Replies::of(infos.iter().map(|t| &t.wording)) {
            return Some(replies);
        }
        let failing = |t: &&&TemplateInfo| t.wording.error || t.wording.attempt || t.wording.crash;
        if infos.is_empty() || infos.iter().any(|t| failing(&t)) {
            return None;
        }
        if infos.iter().any(|t| t.fresh_values(now, freshness) >= 2) {
            return Some(Replies::Data);
        }
        // One line per job: a pass of several lines sharing a fresh id is one run of the
        // job's own code, stamped (a controller's `reconcileID` on every requeue).
        (infos.len() == 1 && infos[0].fresh_ids(now, freshness) && infos[0].wording.done)
            .then_some(Replies::Jobs)
    }

    /// The protection's words.
    pub fn describe(self) -> &'static str {
        match self {
            Replies::Requests => {
                "a server answering the same request again (its client repeats, not this job)"
            }
            Replies::Statements => "a database client running a script (one result line per statement)",
            Replies::Data => {
                "each pass carries new values (two whole numbers or more in a line drawn afresh, nothing failing): data from outside"
            }
            Replies::Jobs => "a worker reporting jobs done, each under an id new on every line (jobs from a queue)",
        }
    }
}

/// HTTP methods of a request line.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"];

/// A server's record of a request it answered: an access-log line ([`quoted_request`]),
/// Express's `morgan('dev')` line (`GET /api/status 200 1.234 ms - 15`), or a line of a Rails
/// request (`Started GET "/api/status" for 127.0.0.1 at ...`, `Processing by
/// StatusController#show as JSON`, `Parameters: {...}`, `Completed 200 OK in 3ms`).
pub fn served_request(s: &[u8]) -> bool {
    quoted_request(s) || morgan_dev(s) || rails_request(s) || server_statement(s) || protocol_trace(s)
}

/// First words of SQL statements, as a database server logs them (either case).
const SQL_WORDS: [&str; 34] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "WITH",
    "VALUES",
    "TABLE",
    "BEGIN",
    "START",
    "END",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "SET",
    "SHOW",
    "RESET",
    "DISCARD",
    "COPY",
    "CREATE",
    "ALTER",
    "DROP",
    "TRUNCATE",
    "VACUUM",
    "ANALYZE",
    "EXPLAIN",
    "CALL",
    "DO",
    "PREPARE",
    "EXECUTE",
    "DEALLOCATE",
    "LOCK",
    "LISTEN",
];

/// A database server's log of a statement a client sent: PostgreSQL's `log_statement`
/// (`LOG:  statement: UPDATE ...`, `LOG:  execute P0_1: SELECT ...`), its
/// `log_min_duration_statement` (`LOG:  duration: 0.244 ms  statement: BEGIN;`, or the
/// duration alone when the statement was logged already) and the bound parameters
/// (`DETAIL:  parameters: $1 = '80667'`); MySQL's general query log (`   12 Query\tSELECT ...`).
fn server_statement(s: &[u8]) -> bool {
    if let Some(rest) = after_marker(s, b"LOG:  ") {
        let sql = if let Some(statement) = rest.strip_prefix(b"statement: ") {
            statement
        } else if let Some(execute) = rest.strip_prefix(b"execute ") {
            // `execute <unnamed>: ...`, `execute P0_1: ...`
            match execute.iter().position(|&b| b == b':') {
                Some(colon) if colon <= 64 && !execute[..colon].contains(&b' ') => &execute[colon + 1..],
                _ => return false,
            }
        } else if let Some(duration) = rest.strip_prefix(b"duration: ") {
            let digits = duration
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'.')
                .count();
            return digits > 0 && duration[digits..].starts_with(b" ms");
        } else {
            return false;
        };
        return starts_with_sql(sql.trim_ascii_start());
    }
    if after_marker(s, b"DETAIL:  parameters: $").is_some() {
        return true;
    }
    after_marker(s, b"Query\t").is_some_and(starts_with_sql)
}

/// The text begins with an SQL statement's first word.
fn starts_with_sql(s: &[u8]) -> bool {
    let word = s.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    SQL_WORDS
        .iter()
        .any(|w| w.as_bytes().eq_ignore_ascii_case(&s[..word]))
}

/// memcached's verbose trace of its protocol (`memcached -vv`): a command read from a
/// client's connection (`<26 get user:18594`) or the reply written to it (`>26 END`),
/// marked with the direction and the connection's descriptor.
fn protocol_trace(s: &[u8]) -> bool {
    let line = s.trim_ascii_start();
    let Some(rest) = line.strip_prefix(b"<").or_else(|| line.strip_prefix(b">")) else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    (1..=6).contains(&digits)
        && rest.get(digits) == Some(&b' ')
        && rest.get(digits + 1).is_some_and(u8::is_ascii_alphabetic)
}

/// The first port of the ephemeral range Linux hands to the client end of a connection
/// (IANA's starts at 49152): a server listens below it, by convention.
const EPHEMERAL_PORTS: u32 = 32768;

/// The line names the client end of a connection: an IPv4 address with a port in the
/// ephemeral range (`Accepted 127.0.0.1:44952`, `addr=10.1.2.3:51234`, a command monitor's
/// `[0 127.0.0.1:35786] "GET" "key:12"`). A server records who sent what; a job calling out
/// names the server's address, whose port is a listening one (`db:5432`, `10.0.0.5:8080`).
/// The caller leaves out lines with failure words (`read tcp 10.0.0.5:48362->...: connection
/// reset`).
pub fn names_client(s: &[u8]) -> bool {
    let mut at = 0;
    s.split(|b| !(b.is_ascii_digit() || *b == b'.' || *b == b':'))
        .any(|part| {
            let end = at + part.len();
            at = end + 1;
            let Some(colon) = part.iter().position(|&b| b == b':') else {
                return false;
            };
            let (address, port) = (&part[..colon], &part[colon + 1..]);
            let numbers: Vec<&[u8]> = address.split(|&b| b == b'.').collect();
            let port: Option<u32> = std::str::from_utf8(port).ok().and_then(|p| p.parse().ok());
            // `10.0.0.5:48362->10.0.0.7:443`: a job's own end of a connection it made (Go's
            // `read tcp` errors), not a client of its own.
            let outgoing = s[end..].starts_with(b"->");
            numbers.len() == 4
                && numbers.iter().all(|n| (1..=3).contains(&n.len()))
                && port.is_some_and(|p| (EPHEMERAL_PORTS..=65535).contains(&p))
                && !outgoing
        })
}

/// The access-log formats of nginx, Apache, gunicorn, Werkzeug, `python -m http.server`,
/// uvicorn and Django's runserver: a quoted request line (`"GET /api/status HTTP/1.1"`) and
/// then a status code, with the client's address or the time in brackets before it. A
/// client that logs its own requests names the server's URL there instead
/// (`http://db:8080 "GET /status HTTP/1.1" 200`), and is not a server.
fn quoted_request(s: &[u8]) -> bool {
    let Some(quote) = s.iter().position(|&b| b == b'"') else {
        return false;
    };
    let (before, rest) = (&s[..quote], &s[quote + 1..]);
    let Some(target) = method_and_path(rest) else {
        return false;
    };
    let Some(close) = target.iter().position(|&b| b == b'"') else {
        return false;
    };
    let request = &target[..close];
    let has_version = request.windows(6).any(|w| w == b" HTTP/");
    let from_client = before.contains(&b']') || has_ip(before);
    has_version
        && status_code(target[close + 1..].trim_ascii_start())
        && from_client
        && !before.windows(3).any(|w| w == b"://")
}

/// `GET /api/status 200 1.234 ms - 15` at the start of the line or after a `| ` prefix
/// (`docker compose`'s `web-1  | `).
fn morgan_dev(s: &[u8]) -> bool {
    let line = after_marker(s, b"| ").unwrap_or(s);
    let Some(target) = method_and_path(line) else {
        return false;
    };
    let Some(space) = target.iter().position(|&b| b == b' ') else {
        return false;
    };
    let rest = &target[space + 1..];
    let time = rest.get(4..).unwrap_or_default();
    let digits = time
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    status_code(rest) && rest.get(3) == Some(&b' ') && digits > 0 && time[digits..].starts_with(b" ms")
}

/// The lines Rails logs for each request, after any tags in front of them.
fn rails_request(s: &[u8]) -> bool {
    if let Some(rest) = after_marker(s, b"Started ") {
        // `Started GET "/api/status" for 127.0.0.1 at 2026-12-02 15:01:02 +0000`
        return METHODS.iter().any(|m| {
            rest.strip_prefix(m.as_bytes())
                .and_then(|r| r.strip_prefix(b" \"/"))
                .is_some_and(|r| r.windows(6).any(|w| w == b"\" for "))
        });
    }
    if let Some(rest) = after_marker(s, b"Completed ") {
        // `Completed 200 OK in 3ms (Views: 0.2ms | ActiveRecord: 0.0ms)`
        return status_code(rest)
            && rest.windows(4).any(|w| w == b" in ")
            && rest.windows(2).any(|w| w == b"ms");
    }
    // `  Parameters: {"since"=>"41"}`, between the two
    if after_marker(s, b"Parameters: {").is_some() {
        return true;
    }
    // `Processing by StatusController#show as JSON`
    after_marker(s, b"Processing by ")
        .is_some_and(|rest| rest.contains(&b'#') && rest.windows(4).any(|w| w == b" as "))
}

/// The text after `marker` where it starts the line or follows a space (after a tag, a
/// timestamp or a `| ` prefix).
fn after_marker<'a>(s: &'a [u8], marker: &[u8]) -> Option<&'a [u8]> {
    let at = s.windows(marker.len()).position(|w| w == marker)?;
    (at == 0 || s[at - 1] == b' ').then(|| &s[at + marker.len()..])
}

/// After an HTTP method and ` /`: the rest of the request target and what follows it.
fn method_and_path(s: &[u8]) -> Option<&[u8]> {
    let method = METHODS.iter().find(|m| s.starts_with(m.as_bytes()))?;
    s[method.len()..].strip_prefix(b" /")
}

/// Three digits that are not part of a longer number: an HTTP status.
fn status_code(s: &[u8]) -> bool {
    s.len() >= 3 && s[..3].iter().all(u8::is_ascii_digit) && s.get(3).is_none_or(|b| !b.is_ascii_digit())
}

/// Statements whose result tag ends in a row count (`INSERT 0 1`, `UPDATE 3`, `COPY 1000`).
const COUNTED_TAGS: [&str; 8] = [
    "INSERT", "UPDATE", "DELETE", "SELECT", "MERGE", "COPY", "FETCH", "MOVE",
];

/// First words of the other result tags psql prints (`CREATE TABLE`, `ALTER INDEX`, `BEGIN`).
const BARE_TAGS: [&str; 16] = [
    "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT", "REVOKE", "COMMENT", "BEGIN", "COMMIT", "ROLLBACK",
    "SET", "DO", "CALL", "VACUUM", "ANALYZE", "REFRESH",
];

/// A database client's result for one statement: psql's command tag alone on its line
/// (`INSERT 0 1`, `UPDATE 3`, `CREATE TABLE`, `COMMIT`), or mysql's `Query OK, 1 row
/// affected (0.00 sec)`.
pub fn statement_result(s: &[u8]) -> bool {
    let line = s.trim_ascii();
    if line.starts_with(b"Query OK, ") {
        return line.windows(9).any(|w| w == b" affected");
    }
    if line.len() > 40 {
        return false;
    }
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return false;
    };
    let is = |list: &[&str]| list.iter().any(|t| t.as_bytes() == first);
    let rest: Vec<&[u8]> = words.collect();
    if is(&COUNTED_TAGS) {
        (1..=2).contains(&rest.len()) && rest.iter().all(|w| w.iter().all(u8::is_ascii_digit))
    } else if is(&BARE_TAGS) {
        rest.len() <= 2 && rest.iter().all(|w| w.iter().all(u8::is_ascii_uppercase))
    } else {
        false
    }
}

/// An IPv4 address (four dotted numbers) or an IPv6 one (`::1`, `fe80::1`).
fn has_ip(s: &[u8]) -> bool {
    s.windows(2).any(|w| w == b"::")
        || s.split(|b| !(b.is_ascii_digit() || *b == b'.')).any(|part| {
            let numbers: Vec<&[u8]> = part.split(|&b| b == b'.').collect();
            numbers.len() == 4 && numbers.iter().all(|n| (1..=3).contains(&n.len()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::wording::wording;

    #[test]
    fn a_database_clients_result_tag_is_a_statement_result() {
        for line in [
            "INSERT 0 1",
            "UPDATE 3",
            "COPY 100000",
            "CREATE TABLE",
            "COMMIT",
            "ALTER TABLE",
            "Query OK, 1 row affected (0.00 sec)",
        ] {
            assert!(wording(line.as_bytes()).statement, "{line}");
        }
        for line in [
            "INSERT failed",
            "UPDATE 3 rows now",
            "insert 0 1",
            "CREATE TABLE users (id int)",
            "ERROR:  duplicate key value",
            "BEGIN retry 3",
            "OK",
        ] {
            assert!(!wording(line.as_bytes()).statement, "{line}");
        }
    }

    #[test]
    fn a_loop_of_replies_is_of_one_kind() {
        let served = wording(br#"127.0.0.1 - - [02/Dec/2026 15:01:02] "GET / HTTP/1.1" 200 -"#);
        let tag = wording(b"INSERT 0 1");
        let other = wording(b"lock is held by another deploy, checking again");
        assert_eq!(Replies::of([served, served].iter()), Some(Replies::Requests));
        assert_eq!(Replies::of([tag].iter()), Some(Replies::Statements));
        assert_eq!(Replies::of([served, tag].iter()), None);
        assert_eq!(Replies::of([tag, other].iter()), None);
        assert_eq!(Replies::of([].iter()), None);
    }

    #[test]
    fn a_servers_record_of_what_a_client_sent_is_a_served_request() {
        for line in [
            "2026-12-03 07:29:19.727 UTC [16537] LOG:  statement: BEGIN;",
            "2026-12-03 07:29:19.727 UTC [16537] LOG:  statement: UPDATE pgbench_accounts SET abalance = abalance + -695 WHERE aid = 80667;",
            "2026-12-03 07:29:19.612 UTC [16536] LOG:  statement: select count(*) from pgbench_branches",
            "2026-12-03 07:31:27.916 UTC [19176] LOG:  duration: 0.244 ms",
            "2026-12-03 07:31:27.916 UTC [19176] LOG:  duration: 0.244 ms  statement: END;",
            "2026-12-03 07:31:27.916 UTC [19176] LOG:  execute P0_1: SELECT abalance FROM pgbench_accounts WHERE aid = $1;",
            "2026-12-03 07:31:27.916 UTC [19176] DETAIL:  parameters: $1 = '48466'",
            "2026-12-03T07:31:27.916123Z\t   12 Query\tSELECT * FROM users WHERE id = 7",
            "<26 get user:18594",
            ">26 END",
            ">26 sending key user:18594",
            "19254:M 03 Dec 2026 07:31:37.726 - Accepted 127.0.0.1:44952",
            "19254:M 03 Dec 2026 07:31:38.212 - Client closed connection id=22 addr=127.0.0.1:44956 laddr=127.0.0.1:6379 fd=16 name= age=1",
            r#"1796283110.776952 [0 127.0.0.1:35786] "SET" "key:000000057802" "VXK""#,
        ] {
            assert!(wording(line.as_bytes()).served, "{line}");
        }
        for line in [
            // A job calling out names the server's listening port, or its own end.
            "connecting to 10.0.0.5:5432",
            "Get \"https://api/\": read tcp 10.0.0.5:48362->10.0.0.7:443: read: connection reset by peer",
            "connect ECONNREFUSED 127.0.0.1:54321",
            "2026-12-03 07:31:27.916 UTC [19176] ERROR:  relation \"accounts\" does not exist",
            "2026-12-03 07:31:27.916 UTC [19176] STATEMENT:  SELECT * FROM accounts",
            "2026-12-03 07:31:27.916 UTC [19176] LOG:  checkpoint starting: time",
            "statement: the run went well",
            "duration: 12 ms",
            "<b>bold</b>",
            "> 26 items",
        ] {
            assert!(!wording(line.as_bytes()).served, "{line}");
        }
    }

    #[test]
    fn a_server_access_log_line_is_a_served_request() {
        for line in [
            r#"127.0.0.1 - - [02/Dec/2026 15:01:02] "GET /api/status HTTP/1.1" 200 -"#,
            r#"10.1.2.3 - - [02/Dec/2026:15:01:02 +0000] "POST /v1/jobs HTTP/1.1" 201 88 "-" "curl/8.5.0""#,
            r#"INFO:     127.0.0.1:54012 - "GET /healthz HTTP/1.1" 200 OK"#,
            r#"[02/Dec/2026 15:01:02] "GET /api/poll?since=41 HTTP/1.1" 304 0"#,
            r#"::1 - - [02/Dec/2026:15:01:02 +0000] "HEAD / HTTP/2.0" 200 0"#,
            "GET /api/status 200 1.234 ms - 15",
            "web-1  | GET /api/status 304 0.812 ms - -",
            r#"Started GET "/api/status" for 127.0.0.1 at 2026-12-02 15:01:02 +0000"#,
            "[3f9c2e1a] Processing by StatusController#show as JSON",
            r#"  Parameters: {"since"=>"41"}"#,
            "Completed 200 OK in 3ms (Views: 0.2ms | ActiveRecord: 0.0ms | Allocations: 412)",
        ] {
            assert!(wording(line.as_bytes()).served, "{line}");
        }
        for line in [
            // A client logging its own request names the server's URL.
            r#"DEBUG:urllib3.connectionpool:http://db:8080 "GET /status HTTP/1.1" 200 None"#,
            "GET http://inventory:8080/api/stock -> 503 Service Unavailable (took 12ms)",
            r#"127.0.0.1 said "GET /x is slow" yesterday"#,
            r#"10.0.0.7 - - "GET /api/status HTTP/1.1" pending"#,
            "plain text without quotes",
            "GET /api/status failed: connection refused",
            "Completed 200 of 500 files",
            "Started worker 3 for queue default",
        ] {
            assert!(!wording(line.as_bytes()).served, "{line}");
        }
    }
}
