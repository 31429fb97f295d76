//! Does a line talk about failure, and does it count attempts?
//!
//! Error wording raises confidence that a repeating line is a stuck retry loop, and it
//! changes how counters are read: in `retry 7 failed` the advancing 7 is an attempt number,
//! not work done. Both facts are properties of a template, so they are computed once, on the
//! first line of each new template, and cached by the template table.
//!
//! Matching is on whole words, case-insensitive, with camelCase split
//! (`ConnectionRefusedError` → connection, refused, error) so exception names count. Three
//! guards keep healthy lines healthy: a word glued to another by `_` or `.` is an
//! identifier (`train_error`, `log.error`), a word followed by `=`/`:` and a number is a
//! metric (`errors=0`, `failures: 3`, `"isError": false`), and a word after `no`, `zero`,
//! `without` or `0` is negated (`0 errors`, `no failures`).
//!
//! Two more facts feed the slow-loop paths. Words of waiting (`waiting`, `polling`,
//! `retrying in`, `not ready`) say a loop waits on purpose, for as long as what it waits for
//! takes; an empty result (`No matches found`, `no results`, `[]`, `""`) is the evidence a
//! two-line call-and-result loop needs when nothing fails.
//!
//! And two facts say the repetition comes from outside the job's own code: a server's
//! access-log line (`127.0.0.1 - - [02/Dec/2026 15:01:02] "GET /api/status HTTP/1.1" 200 -`)
//! records a request a client sent — a frontend polling every 100 ms, a load balancer's
//! health check or a load test make a server print the same line many times a second while
//! the server itself does nothing wrong — and a database client's result tag (`INSERT 0 1`)
//! reports one statement of the script it runs, thirty thousand of them for a data load.
//!
//! And a crash: a process that ended abnormally — an exit code or status other than zero
//! (`exited with code 1`, `Exit Code: 1`, `status=1/FAILURE`), a fatal signal (`was sent
//! SIGKILL`), `out of memory`, `core dumped`, `crashed`, `CrashLoopBackOff` — and a start
//! (`Started`, `restarting`, `Booting worker`, `spawned`, `Running`). A block that reports
//! both is a restart loop's (a display of a container that stays dead shows no start), and a
//! line that reports a crash is never a wait, whatever else it says: `container "api" is
//! waiting to start: CrashLoopBackOff` is the crash loop, not a job waiting on purpose.

const ERROR_WORDS: [&str; 30] = [
    "error",
    "errors",
    "err",
    "failed",
    "failure",
    "failures",
    "fail",
    "fails",
    "failing",
    "retry",
    "retrying",
    "retries",
    "retried",
    "refused",
    "timeout",
    "timeouts",
    "exception",
    "traceback",
    "panic",
    "panicked",
    "fatal",
    "denied",
    "unavailable",
    "cannot",
    "unable",
    "econnrefused",
    "econnreset",
    "etimedout",
    "couldn",
    "invalid",
];

/// Two-word phrases: the first word counts only when followed by the second.
const ERROR_PHRASES: [(&str, &str); 3] = [("timed", "out"), ("could", "not"), ("not", "found")];

const ATTEMPT_WORDS: [&str; 6] = ["attempt", "attempts", "try", "tries", "retry", "retries"];

const NEGATIONS: [&str; 4] = ["no", "zero", "without", "0"];

/// Words of a job that says it waits on purpose (a poller, a `until ...; do sleep 1` loop).
const WAIT_WORDS: [&str; 7] = [
    "wait", "waits", "waiting", "sleeping", "poll", "polling", "pending",
];

/// Two-word phrases of waiting: the first word counts only when followed by the second.
const WAIT_PHRASES: [(&str, &str); 5] = [
    ("retrying", "in"),
    ("retry", "in"),
    ("again", "in"),
    ("not", "ready"),
    ("not", "yet"),
];

/// Words that report a process ending abnormally (a crash, a fatal signal, the kernel's
/// OOM killer: `OOMKilled` splits into `OOM` and `Killed`).
const CRASH_WORDS: [&str; 12] = [
    "crash", "crashed", "crashes", "crashing", "segfault", "oom", "sigkill", "sigsegv", "sigabrt", "sigbus",
    "sigill", "sigfpe",
];

/// Two-word phrases of a crash: the first word counts only when followed by the second.
const CRASH_PHRASES: [(&str, &str); 2] = [("core", "dumped"), ("segmentation", "fault")];

/// The three words of the OOM killer's phrase (`Perhaps out of memory?`).
const OUT_OF_MEMORY: [&str; 3] = ["out", "of", "memory"];

/// Words that report a process starting (again): the other half of a restart loop.
const START_WORDS: [&str; 18] = [
    "start",
    "starts",
    "started",
    "starting",
    "restart",
    "restarts",
    "restarted",
    "restarting",
    "respawn",
    "respawned",
    "respawning",
    "spawned",
    "spawning",
    "boot",
    "booting",
    "launched",
    "launching",
    "running",
];

/// Words that announce an exit code or status (`exited with code 1`, `Exit Code: 1`, `exit
/// status 1`, `code=exited, status=1/FAILURE`, `exitCode=1`).
const EXIT_WORDS: [&str; 3] = ["exit", "exited", "exits"];

/// Words that may stand between an exit word and its number.
const EXIT_FILLERS: [&str; 4] = ["with", "code", "status", "value"];

/// After `no`, one of these (within six words) says a search or a read came back empty:
/// `No matches found`, `no results`, `No good DuckDuckGo Search Result was found`.
const EMPTY_NOUNS: [&str; 10] = [
    "match", "matches", "result", "results", "items", "entries", "records", "rows", "output", "found",
];

/// What a template's wording says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wording {
    /// Failure words (error, failed, refused, timed out, ...).
    pub error: bool,
    /// Words that make a counter an attempt number (attempt, try, retry).
    pub attempt: bool,
    /// The job says it waits on purpose (`waiting for`, `polling`, `retrying in 1s`, `not
    /// ready`): a deliberate wait loop, which may go on for as long as what it waits for.
    pub wait: bool,
    /// An empty result: `No matches found`, `no results`, or an empty JSON value (`[]`,
    /// `{}`, `""`) — a search or a read that found nothing.
    pub empty: bool,
    /// A server's record of a request it answered ([`served_request`]).
    pub served: bool,
    /// A database client's result for one statement of its script ([`statement_result`]).
    pub statement: bool,
    /// A process ended abnormally: an exit code or status other than zero, a fatal signal,
    /// `out of memory`, `core dumped`, `crashed`, `CrashLoopBackOff`.
    pub crash: bool,
    /// A process starts, or starts again (`Started`, `restarting`, `Booting worker`,
    /// `spawned`, `Running`; `CrashLoopBackOff` is the kubelet restarting a container).
    pub start: bool,
}

/// What a loop of reply lines answers: repetition that comes from the job's input, not
/// from its own code going round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replies {
    /// Every line is a server's access-log record: its clients repeat their requests.
    Requests,
    /// Every line is a database client's result tag: its script repeats a statement.
    Statements,
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

    /// The protection's words.
    pub fn describe(self) -> &'static str {
        match self {
            Replies::Requests => {
                "a server answering the same request again (its client repeats, not this job)"
            }
            Replies::Statements => "a database client running a script (one result line per statement)",
        }
    }
}

/// A word of the line: its byte range and the bytes just around it.
#[derive(Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
}

/// Splits into words at non-letters and at camelCase humps; digits form their own words so
/// `0 errors` can see its zero.
fn words(s: &[u8], mut visit: impl FnMut(Word)) {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if !b.is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        let digit = b.is_ascii_digit();
        i += 1;
        while i < s.len() && s[i].is_ascii_alphanumeric() && s[i].is_ascii_digit() == digit {
            if !digit && s[i].is_ascii_uppercase() {
                let prev_lower = s[i - 1].is_ascii_lowercase();
                let next_lower = s.get(i + 1).is_some_and(u8::is_ascii_lowercase);
                if prev_lower || (s[i - 1].is_ascii_uppercase() && next_lower) {
                    break;
                }
            }
            i += 1;
        }
        visit(Word { start, end: i });
    }
}

fn is(s: &[u8], w: Word, word: &str) -> bool {
    s[w.start..w.end].eq_ignore_ascii_case(word.as_bytes())
}

fn any_of(s: &[u8], w: Word, list: &[&str]) -> bool {
    w.end - w.start <= LONGEST_WORD && list.iter().any(|word| is(s, w, word))
}

/// Glued to another word by `_` or `.` (an identifier such as `train_error` or `log.error`).
fn in_identifier(s: &[u8], w: Word) -> bool {
    let glue = |b: u8| b == b'_' || b == b'.';
    let before = w.start >= 2 && glue(s[w.start - 1]) && s[w.start - 2].is_ascii_alphanumeric();
    let after = w.end + 1 < s.len() && glue(s[w.end]) && s[w.end + 1].is_ascii_alphanumeric();
    before || after
}

/// Followed by `=` or `:` and then a number (`errors=0`, `failures: 3`, `"errors": 0`) or a
/// flag that is off (`"isError": false`, `error=null`).
fn is_metric(s: &[u8], w: Word) -> bool {
    let mut j = w.end;
    // A JSON key's closing quote may stand between the word and its `:`.
    while j < s.len() && matches!(s[j], b' ' | b'"') {
        j += 1;
    }
    if !matches!(s.get(j), Some(b'=' | b':')) {
        return false;
    }
    j += 1;
    while j < s.len() && matches!(s[j], b' ' | b'"') {
        j += 1;
    }
    // A flag that is off (`"isError": false`, `error=null`) is no failure either.
    let off = ["false", "null", "nil", "none"].iter().any(|v| {
        s.get(j..j + v.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(v.as_bytes()))
            && s.get(j + v.len()).is_none_or(|b| !b.is_ascii_alphanumeric())
    });
    off || s.get(j).is_some_and(u8::is_ascii_digit)
}

/// An empty JSON value: `[]`, `{}`, or `""` after a `:`.
fn empty_value(s: &[u8]) -> bool {
    let compact: Vec<u8> = s.iter().copied().filter(|b| *b != b' ').collect();
    compact.windows(2).any(|w| w == b"[]" || w == b"{}") || compact.windows(3).any(|w| w == b":\"\"")
}

/// HTTP methods of a request line.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"];

/// A server's record of a request it answered: an access-log line ([`quoted_request`]),
/// Express's `morgan('dev')` line (`GET /api/status 200 1.234 ms - 15`), or a line of a Rails
/// request (`Started GET "/api/status" for 127.0.0.1 at ...`, `Processing by
/// StatusController#show as JSON`, `Parameters: {...}`, `Completed 200 OK in 3ms`).
fn served_request(s: &[u8]) -> bool {
    quoted_request(s) || morgan_dev(s) || rails_request(s)
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
fn statement_result(s: &[u8]) -> bool {
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

/// Bytes of a line read for wording: failure words come early in a line.
const WORDING_LIMIT: usize = 2048;

/// The longest word in the lists above.
const LONGEST_WORD: usize = 12;

/// Reads the wording of a stripped line.
pub fn wording(s: &[u8]) -> Wording {
    let s = &s[..s.len().min(WORDING_LIMIT)];
    let mut found = Wording {
        empty: empty_value(s),
        served: served_request(s),
        statement: statement_result(s),
        ..Wording::default()
    };
    let mut previous: Option<Word> = None;
    let mut pending_phrase: Option<&str> = None;
    let mut pending_wait: Option<&str> = None;
    // Words since a `no`, while an empty-result noun may still follow it.
    let mut since_no: Option<u32> = None;
    let mut pending_crash: Option<&str> = None;
    // Words of `out of memory` read in a row so far.
    let mut out_of_memory = 0;
    // Fillers read since an exit word (`exited with code`), while its number may follow.
    let mut since_exit: Option<u32> = None;
    words(s, |w| {
        if let Some(second) = pending_crash.take() {
            if is(s, w, second) {
                found.crash = true;
            }
        }
        if let Some(fillers) = since_exit.take() {
            let word = &s[w.start..w.end];
            if word.iter().all(u8::is_ascii_digit) {
                found.crash |= word.iter().any(|&d| d != b'0');
            } else if fillers < 2 && any_of(s, w, &EXIT_FILLERS) {
                since_exit = Some(fillers + 1);
            }
        }
        if any_of(s, w, &EXIT_WORDS) {
            since_exit = Some(0);
        }
        out_of_memory = if is(s, w, OUT_OF_MEMORY[out_of_memory]) {
            out_of_memory + 1
        } else {
            usize::from(is(s, w, OUT_OF_MEMORY[0]))
        };
        if out_of_memory == OUT_OF_MEMORY.len() {
            found.crash = true;
            out_of_memory = 0;
        }
        pending_crash = CRASH_PHRASES
            .iter()
            .find(|(first, _)| is(s, w, first))
            .map(|p| p.1);
        if let Some(second) = pending_phrase.take() {
            if is(s, w, second) {
                found.error = true;
            }
        }
        if let Some(second) = pending_wait.take() {
            if is(s, w, second) {
                found.wait = true;
            }
        }
        if since_no.is_some() && any_of(s, w, &EMPTY_NOUNS) {
            found.empty = true;
        }
        since_no = since_no.map(|n| n + 1).filter(|&n| n < 6);
        if is(s, w, "no") {
            since_no = Some(0);
        }
        if any_of(s, w, &WAIT_WORDS) {
            found.wait = true;
        }
        pending_wait = WAIT_PHRASES
            .iter()
            .find(|(first, _)| is(s, w, first))
            .map(|p| p.1);
        let negated = previous.is_some_and(|p| any_of(s, p, &NEGATIONS));
        let counts = !negated && !in_identifier(s, w) && !is_metric(s, w);
        if counts && any_of(s, w, &ERROR_WORDS) {
            found.error = true;
        }
        if counts && any_of(s, w, &CRASH_WORDS) {
            found.crash = true;
        }
        if any_of(s, w, &START_WORDS) {
            found.start = true;
        }
        if is(s, w, "loop") && previous.is_some_and(|p| is(s, p, "crash")) {
            found.start = true;
        }
        if counts {
            pending_phrase = ERROR_PHRASES
                .iter()
                .find(|(first, _)| is(s, w, first))
                .map(|p| p.1);
        }
        if any_of(s, w, &ATTEMPT_WORDS) {
            found.attempt = true;
        }
        previous = Some(w);
    });
    // A line that reports a crash is not a wait: `is waiting to start: CrashLoopBackOff`.
    found.wait &= !found.crash;
    found
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn error(line: &str) -> bool {
        wording(line.as_bytes()).error
    }

    #[test]
    fn failure_words_are_found() {
        for line in [
            "ERROR connection lost",
            "retry 7 failed",
            "request timed out after 3s",
            "Traceback (most recent call last):",
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "thread 'main' panicked at src/main.rs:3:5",
            "could not resolve host",
            "E: permission denied",
            "connect ECONNREFUSED 127.0.0.1:5432",
            r#"{"level":"error","msg":"upstream unavailable"}"#,
            "level=error msg=boom",
            "FATAL: cannot open file",
            "java.lang.IllegalStateException: bad",
            "HTTPError 503",
            r#"The Deployment "web" is invalid: spec.replicas: Invalid value: -1"#,
        ] {
            assert!(error(line), "{line:?} should have error wording");
        }
    }

    #[test]
    fn healthy_lines_stay_healthy() {
        for line in [
            "step 1200 train_error=0.31 val_error=0.35",
            "Finished: 0 errors, 2 warnings",
            "no errors found",
            "errors=0 warnings=3",
            "failures: 0",
            "log.error sink configured",
            "GET /health 200 OK",
            "the request was handled in time out of courtesy",
            "stderr redirected",
            "terror and errant errands",
            "0 invalid records skipped",
        ] {
            assert!(!error(line), "{line:?} should not have error wording");
        }
    }

    #[test]
    fn a_flag_that_is_off_is_no_failure() {
        assert!(!error(r#"{"result": [], "isError": false}"#));
        assert!(!error("error=null status=200"));
        assert!(error(r#"{"isError": true}"#));
    }

    #[test]
    fn waiting_and_empty_results_are_read() {
        for line in [
            "api not ready, retrying in 1s",
            "Waiting for deployment \"web\" rollout to finish",
            "Polling for workflow task",
            "Postgres is unavailable - sleeping",
        ] {
            assert!(wording(line.as_bytes()).wait, "{line:?} waits");
        }
        for line in [
            "exec rg -n 'RetryHandler' src",
            "GET /api/items 200",
            "retrying the upload",
        ] {
            assert!(!wording(line.as_bytes()).wait, "{line:?} does not wait");
        }
        for line in [
            "  No matches found",
            "No good DuckDuckGo Search Result was found",
            "[tool_result] No files found.",
            r#"{"content": [{"type": "text", "text": "[]"}]}"#,
            r#"{"call_id": "c1", "output": ""}"#,
        ] {
            assert!(wording(line.as_bytes()).empty, "{line:?} is an empty result");
        }
        for line in [
            "Found 3 files",
            "no problem, continuing with the next file",
            "Read 120 lines",
        ] {
            assert!(!wording(line.as_bytes()).empty, "{line:?} is not empty");
        }
    }

    #[test]
    fn crashes_are_read() {
        for line in [
            "App [api:0] exited with code [1] via signal [SIGINT]",
            r#"Task event: task=api type=Terminated msg="Exit Code: 1" failed=false"#,
            "api.service: Main process exited, code=exited, status=1/FAILURE",
            "billing-api exited (status 1, signal -1), restarting",
            "exited: worker (exit status 1; not expected)",
            "[1] [ERROR] Worker (pid:41) was sent SIGKILL! Perhaps out of memory?",
            "ingest-6f7c9d8b54-qk2zt   0/1     CrashLoopBackOff   3 (1s ago)    22s",
            "Last State: Terminated, Reason: OOMKilled",
            "Segmentation fault (core dumped)",
            "container die 3f2a (exitCode=137, image=acme/api:1.4, name=api)",
        ] {
            assert!(wording(line.as_bytes()).crash, "{line:?} reports a crash");
        }
        for line in [
            "App [api:0] exited with code [0] via signal [SIGINT]",
            r#"Task event: task=web type=Terminated msg="Exit Code: 0" failed=false"#,
            "[41] [INFO] Worker exiting (pid: 41)",
            "Autorestarting worker after current request.",
            "exit 0",
            "Booting worker with pid: 41",
            "web-5d8f7c6b9-q2x7k   0/1     Pending   0          0s",
            "the index takes a lot of memory",
            "crash_reporter initialised, 0 crashes",
        ] {
            assert!(!wording(line.as_bytes()).crash, "{line:?} reports no crash");
        }
    }

    #[test]
    fn starts_are_read() {
        for line in [
            "Booting worker with pid: 41",
            "Started api.service - Acme API.",
            "PM2        | App [api:0] starting in -fork mode-",
            "2024-05-01_10:00:00.11742 starting billing-api (pid 18231)",
            "INFO spawned: 'worker' with pid 300",
            "ingest-6f7c9d8b54-qk2zt   1/1     Running            4 (2s ago)    24s",
            "ingest-6f7c9d8b54-qk2zt   0/1     CrashLoopBackOff   4 (1s ago)    25s",
        ] {
            assert!(wording(line.as_bytes()).start, "{line:?} reports a start");
        }
        for line in [
            "api-7d9f   Exited (1) 3 minutes ago",
            "Worker (pid:41) was sent SIGKILL! Perhaps out of memory?",
        ] {
            assert!(!wording(line.as_bytes()).start, "{line:?} reports no start");
        }
    }

    #[test]
    fn a_crash_is_never_a_wait() {
        let crash = wording(
            br#"Error from server (BadRequest): container "worker" in pod "worker-7c" is waiting to start: CrashLoopBackOff"#,
        );
        assert!(crash.crash && !crash.wait, "{crash:?}");
        let creating = wording(
            br#"Error from server (BadRequest): container "worker" in pod "worker-7c" is waiting to start: ContainerCreating"#,
        );
        assert!(creating.wait && !creating.crash, "{creating:?}");
    }

    #[test]
    fn attempt_words_mark_counters_as_attempts() {
        assert!(wording(b"attempt 4 of 10").attempt);
        assert!(wording(b"Try 3: connecting").attempt);
        assert!(!wording(b"step 4 of 10").attempt);
        assert!(!wording(b"attempted to be clever").attempt);
    }

    #[test]
    fn camel_case_splits_at_humps() {
        let mut seen = Vec::new();
        let s = b"ConnectionRefusedError HTTPError x86";
        words(s, |w| {
            seen.push(String::from_utf8_lossy(&s[w.start..w.end]).into_owned())
        });
        assert_eq!(
            seen,
            ["Connection", "Refused", "Error", "HTTP", "Error", "x", "86"]
        );
    }
}
