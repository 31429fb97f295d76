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
//! `without` or `0` is negated (`0 errors`, `no failures`). An attempt word in an
//! identifier counts attempts only when the identifier holds a number (`retry_count=3`),
//! not in a name (`test_http_retry[21] PASSED`). And a test runner's line for a passing
//! test (`✓ retries after a timeout (40 ms)`) fails nothing: its words are the test's name.
//!
//! A line may also say how often it is printed (`(every 0.2s)`, `Every 2.0s:`): a display
//! redrawn by its own timer, which the scorer checks against the pace.
//!
//! Two more facts feed the slow-loop paths. Words of waiting (`waiting`, `polling`,
//! `retrying in`, `not ready`) say a loop waits on purpose, for as long as what it waits for
//! takes; a bare `wait` followed by `and retry` or `and try again` is advice to the reader
//! (PostgreSQL's `If not, wait a few seconds and retry.`), not the job waiting. An empty
//! result (`No matches found`, `no results`, `[]`, `""`) is the evidence a two-line
//! call-and-result loop needs when nothing fails.
//!
//! A system-call trace's wait that ran out its timeout (`poll(..., 100) = 0 (Timeout)`,
//! `futex(...) = -1 ETIMEDOUT`, `syscall`) is a wait too, and its `Timeout` no failure: the
//! traced process slept with nothing to do.
//!
//! Whether a line is a reply to input from outside the job (a server's access log or
//! statement log, a line naming its client, a database client's result tag) is read here
//! too, by `replies`, once per template, and whether it reports something finished.
//!
//! And a crash: a process that ended abnormally — an exit code or status other than zero
//! (`exited with code 1`, `Exit Code: 1`, `status=1/FAILURE`), a fatal signal (`was sent
//! SIGKILL`), `out of memory`, `core dumped`, `crashed`, `CrashLoopBackOff` — and a start
//! (`Started`, `restarting`, `Booting worker`, `spawned`, `Running`). A block that reports
//! both is a restart loop's (a display of a container that stays dead shows no start), and a
//! line that reports a crash is never a wait, whatever else it says: `container "api" is
//! waiting to start: CrashLoopBackOff` is the crash loop, not a job waiting on purpose.

use super::replies;
use super::syscall;

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

/// Words that introduce a state: `status`, `state`, `phase`, and `still` (`still running`).
const STATE_WORDS: [&str; 4] = ["status", "state", "phase", "still"];

/// States of something under way, read within three words after a `STATE_WORDS` word.
const UNDER_WAY_WORDS: [&str; 9] = [
    "running",
    "queued",
    "pending",
    "progress",
    "building",
    "deploying",
    "provisioning",
    "starting",
    "creating",
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

/// Words that report something finished: a job, a task, a request handled.
/// A warning's severity word (`[Warning]`, `WARN`, `ConvergenceWarning` split at its hump).
const WARNING_WORDS: [&str; 2] = ["warning", "warn"];

/// Words saying the job does something over again (`reloading checkpoint`, `re-queueing`,
/// `polling again`, `falling back`): a warning that says so reports a loop's own step.
const REDO_WORDS: [&str; 10] = [
    "again",
    "back",
    "re",
    "reload",
    "reloading",
    "reloaded",
    "requeue",
    "requeueing",
    "requeuing",
    "rerunning",
];

const DONE_WORDS: [&str; 9] = [
    "done",
    "completed",
    "complete",
    "succeeded",
    "success",
    "successful",
    "successfully",
    "finished",
    "processed",
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

/// How far a bare `wait` has been read as advice to the reader: a job that waits says it
/// waits (`waiting for db`, `retrying in 2s`); one that tells you to `wait a few seconds
/// and retry` (PostgreSQL's hint when its port is taken) leaves the retrying to you.
#[derive(Clone, Copy)]
enum Advice {
    Pending,
    And,
    Given,
}

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
    /// A server's record of a request it answered ([`served_request`]), or a line without
    /// failure words that names the client end of a connection ([`names_client`]).
    pub served: bool,
    /// The line says how often it is printed (`(every 0.2s)`, watch's `Every 2.0s:`): a
    /// display redrawn by its own timer.
    pub every: bool,
    /// The line reports something finished (`done`, `completed`, `succeeded`, `processed`):
    /// with an identifier new on every line, one job after another (`replies`).
    pub done: bool,
    /// A database client's result for one statement of its script ([`statement_result`]).
    pub statement: bool,
    /// A process ended abnormally: an exit code or status other than zero, a fatal signal,
    /// `out of memory`, `core dumped`, `crashed`, `CrashLoopBackOff`.
    pub crash: bool,
    /// A process starts, or starts again (`Started`, `restarting`, `Booting worker`,
    /// `spawned`, `Running`; `CrashLoopBackOff` is the kubelet restarting a container).
    pub start: bool,
    /// The line names one file and nothing else (`/app/src/api/users.js`, `config/app.yaml`):
    /// the header above a linter's problems in that file (ESLint's, yamllint's and stylelint's
    /// stylish format), so a block under a new one is the report on the next file.
    pub file_header: bool,
    /// The line is a system-call trace of a wait that ran out its timeout (`poll(..., 100)
    /// = 0 (Timeout)`, `syscall`): a wait, never a failure; the timeout in milliseconds when
    /// the call shows it.
    pub traced_wait: Option<Option<u32>>,
    /// A warning's severity word (`[Warning]`, `WARN`, `UserWarning`), not negated or
    /// counted (`0 warnings`, `warnings=3`).
    pub warning: bool,
    /// A word saying the job does something over again (`again`, `reloading`, `re-queueing`).
    pub redo: bool,
    /// An optimisation says it converged (`Initialization converged.`, `Converged at
    /// iteration 3`, `converged: True`), not `not converged` or `converged: False`.
    pub converged: bool,
    /// The line tallies a test run with failures (`1 failed`, `Tests: 1 failed, 2 passed`,
    /// `3 examples, 1 failure`, `test result: FAILED. 2 passed; 1 failed`): the block is a
    /// test run's report, and a wait in it (`Timed out 5000ms waiting for expect(...)`,
    /// `- waiting for locator(...)`) is a step of a test, not the job waiting.
    pub failed_tests: bool,
    /// The line reports the state of something still under way (`status running`, `state:
    /// queued`, `still building`, `in progress`): what a poller is shown while it waits.
    pub under_way: bool,
    /// The line names a model's call of a tool (`"type": "tool_use"`, `"tool_calls": [`,
    /// `Tool Calls:`, `function_call`, `FunctionCall(id=...)`, `functionCall`, MCP's
    /// `tools/call`, `Calling tool:`, `Invoking tool search`): the block it is in is an
    /// agent's turn ([`names_a_tool_call`]).
    pub tool_call: bool,
    /// The line shows a call's arguments under their key (`"arguments": "{...}"`, `"input":
    /// {`, `"args":`, `args=`, LangGraph's `Args:`, smolagents' `with arguments:`): with a
    /// tool call named in its block, what was asked is on the page ([`shows_arguments`]).
    pub arguments: bool,
}

impl Wording {
    /// A warning about the work that reports nothing failing, nothing retried or redone,
    /// no wait, no crash and no empty result (`[LightGBM] [Warning] No further splits with
    /// positive gain`): a job that tells of a condition it goes on working under, the kind
    /// of line a library prints once per round of work (`advisory`).
    pub fn advisory(&self) -> bool {
        self.warning && !self.error && !self.attempt && !self.wait && !self.crash && !self.empty && !self.redo
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

/// Glued to another word by `_` or `.` (an identifier such as `train_error` or `log.error`),
/// or the first part of a hyphenated name (`retry-mode`, `error-page`, `--timeout-seconds`):
/// a word joined to the word after it by `-` names a setting or a part, as the user agent
/// every AWS SDK request carries says `cfg/retry-mode#legacy`. The last part still reports
/// (`connection-refused`, `non-fatal` is negated by its own word).
fn in_identifier(s: &[u8], w: Word) -> bool {
    let glue = |b: u8| b == b'_' || b == b'.';
    let before = w.start >= 2 && glue(s[w.start - 1]) && s[w.start - 2].is_ascii_alphanumeric();
    let after = w.end + 1 < s.len() && glue(s[w.end]) && s[w.end + 1].is_ascii_alphanumeric();
    let names_what_follows = w.end + 1 < s.len() && s[w.end] == b'-' && s[w.end + 1].is_ascii_alphabetic();
    before || after || names_what_follows
}

/// An attempt word inside an identifier counts attempts only when the identifier holds a
/// number (`retry_count=3`, `attempts_left: 2`); elsewhere it is a name (`test_http_retry[21]
/// PASSED`, `retry_policy.py`), and the numbers around it are not attempts.
fn counts_attempts(s: &[u8], w: Word) -> bool {
    let glued = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    let end = w.end + s[w.end..].iter().take_while(|b| glued(b)).count();
    is_metric(s, Word { start: w.start, end })
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

/// The whole line, but for the spaces around it, is one file's path: a single word with a
/// letter that holds a path separator or ends in an extension of one to five letters and
/// digits (`src/a.css`, `app.yaml`), not a version (`1.2.3`) or a sentence's last word.
fn names_one_file(s: &[u8]) -> bool {
    let path = s.trim_ascii();
    // A Windows drive (`C:\`) is the only colon a path may hold (`app.js:12` is a place).
    let path = match path {
        [drive, b':', b'\\', rest @ ..] if drive.is_ascii_alphabetic() => rest,
        _ => path,
    };
    if path.len() < 3
        || path.iter().any(|b| b.is_ascii_whitespace())
        || !path.iter().any(u8::is_ascii_alphabetic)
    {
        return false;
    }
    let ext = path
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let extension = (1..=5).contains(&ext)
        && path.len() > ext + 1
        && path[path.len() - ext - 1] == b'.'
        && path[path.len() - ext..].iter().any(u8::is_ascii_alphabetic);
    let separated = path.contains(&b'/') || path.contains(&b'\\');
    let plain = path
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"/\\._-@+~".contains(&b));
    plain && (separated || extension) && !path.contains(&b':')
}

/// An empty JSON value: `[]`, `{}`, or `""` after a `:`.
fn empty_value(s: &[u8]) -> bool {
    let compact: Vec<u8> = s.iter().copied().filter(|b| *b != b' ').collect();
    compact.windows(2).any(|w| w == b"[]" || w == b"{}") || compact.windows(3).any(|w| w == b":\"\"")
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
        served: replies::served_request(s),
        statement: replies::statement_result(s),
        file_header: names_one_file(s),
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
    let mut bare_wait: Option<Advice> = None;
    // Just read `converged`, while a `False` may still follow it.
    let mut converged_now = false;
    // Words since a state word, while the state may still follow it.
    let mut since_state: Option<u32> = None;
    words(s, |w| {
        // A state is read within its sentence: `The errors are still there. Running the
        // build again` reports no build still running.
        let gap = &s[previous.map_or(w.start, |p: Word| p.end)..w.start];
        if gap.contains(&b'.') && gap.iter().any(u8::is_ascii_whitespace) {
            since_state = None;
        }
        if since_state.is_some() && any_of(s, w, &UNDER_WAY_WORDS)
            || is(s, w, "progress") && previous.is_some_and(|p| is(s, p, "in"))
        {
            found.under_way = true;
        }
        since_state = since_state.map(|n| n + 1).filter(|&n| n < 3);
        if any_of(s, w, &STATE_WORDS) {
            since_state = Some(0);
        }
        if std::mem::take(&mut converged_now) && any_of(s, w, &["false", "no"]) {
            found.converged = false;
        }
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
        // `will wait and retry`, `going to wait`: the job says what it does next.
        let own = previous.is_some_and(|p| any_of(s, p, &["will", "ll", "to", "shall"]));
        if is(s, w, "wait") && !own {
            // Advice to whoever reads the line (`If not, wait a few seconds and retry.`)
            // until it proves to be the job's own wait.
            bare_wait = Some(Advice::Pending);
        } else if any_of(s, w, &WAIT_WORDS) {
            found.wait = true;
        }
        bare_wait = match bare_wait {
            Some(Advice::Pending) if is(s, w, "and") => Some(Advice::And),
            Some(Advice::And) if is(s, w, "retry") || is(s, w, "try") => Some(Advice::Given),
            Some(Advice::And) => Some(Advice::Pending),
            other => other,
        };
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
        if counts && any_of(s, w, &WARNING_WORDS) {
            found.warning = true;
        }
        if any_of(s, w, &REDO_WORDS) {
            found.redo = true;
        }
        if is(s, w, "converged") && !previous.is_some_and(|p| any_of(s, p, &["not", "never", "no"])) {
            found.converged = true;
            converged_now = true;
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
        if any_of(s, w, &ATTEMPT_WORDS) && (!in_identifier(s, w) || counts_attempts(s, w)) {
            found.attempt = true;
        }
        if previous.is_some_and(|p| is(s, p, "every")) && s[w.start].is_ascii_digit() {
            found.every = true;
        }
        if !negated && any_of(s, w, &DONE_WORDS) {
            found.done = true;
        }
        previous = Some(w);
    });
    found.wait |= matches!(bare_wait, Some(Advice::Pending | Advice::And));
    if reports_a_pass(s) {
        // `✓ retries the request after a timeout (40 ms)`: the failure words name the test.
        found.error = false;
        found.attempt = false;
        found.crash = false;
    }
    if let Some(wait) = syscall::timed_out_wait(s) {
        // `= 0 (Timeout)`, `ETIMEDOUT`: the traced process slept through its timeout.
        // Its `[]` is the empty list of events a timeout returns, no empty result.
        found.error = false;
        found.empty = false;
        found.wait = true;
        found.traced_wait = Some(wait.timeout_ms);
    }
    if found.under_way && announces_a_start(s) {
        // `{"type":"item.started","item":{..."status":"in_progress"}}`: an event stream's
        // start event says its item is under way by definition; the item's own completion
        // follows. A poll's answer about something outside is no such event.
        found.under_way = false;
    }
    found.failed_tests = tallies_failed_tests(s);
    found.tool_call = names_a_tool_call(s);
    found.arguments = shows_arguments(s);
    // A line that reports a crash is not a wait: `is waiting to start: CrashLoopBackOff`.
    found.wait &= !found.crash;
    found.served |= !found.error && !found.crash && replies::names_client(s);
    found
}

/// Last parts of an event's name that announce its item beginning (`item.started`,
/// `response.created`, `response.output_item.added`, `response.in_progress`).
const START_EVENTS: [&str; 4] = ["started", "created", "added", "in_progress"];

/// True for a line of an event stream whose event is a start: a JSON `"type"` or `"event"`
/// whose value names an event (a dotted name, `item.started`) ending in a `START_EVENTS`
/// part. A status field (`"status": "in_progress"`) or a `started_at` key names no event.
fn announces_a_start(s: &[u8]) -> bool {
    [&b"\"type\":"[..], b"\"event\":"].iter().any(|key| {
        s.windows(key.len()).enumerate().any(|(i, w)| {
            if w != *key {
                return false;
            }
            let rest = &s[i + key.len()..];
            let rest = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
            let Some(value) = rest.strip_prefix(b"\"") else {
                return false;
            };
            let name = &value[..value.iter().position(|&b| b == b'"').unwrap_or(value.len())];
            let last = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
            name.contains(&b'.') && START_EVENTS.iter().any(|e| last == e.as_bytes())
        })
    })
}

/// Words that count failed tests in a test run's tally (`1 failed`, `2 failing`).
const FAILED_TALLY_WORDS: [&str; 4] = ["failed", "failing", "failure", "failures"];

/// Words that count the other tests of a tally (`2 passed`, `3 examples`, `5 total`).
const OTHER_TALLY_WORDS: [&str; 7] = [
    "passed", "passing", "examples", "tests", "total", "skipped", "ignored",
];

/// Words that make a line a wait, a retry or the status of something still under way, never
/// a finished test run's tally (`Waiting for pods: 2 failed`, `3 failed attempts, retrying`,
/// `1 failing, 3 successful, and 2 pending checks`).
const NOT_A_TALLY: [&str; 15] = [
    "wait",
    "waits",
    "waiting",
    "sleeping",
    "poll",
    "polling",
    "retry",
    "retrying",
    "attempt",
    "attempts",
    "pending",
    "running",
    "queued",
    "remaining",
    "progress",
];

/// A finished test run's tally with failures: a count of one or more followed by `failed`,
/// `failing` or `failure(s)`, on a line that is nothing but that count (Playwright's
/// `  1 failed`, Mocha's `  1 failing`) or also counts the other tests (`1 failed, 2
/// passed`, `3 examples, 1 failure`), and says nothing of waiting, retrying or of parts
/// still under way (`2 pending`, `3 running`: a status display of a remote run). A job's own
/// count of failures (`Processed 1000 rows, 3 failed`) counts no tests.
fn tallies_failed_tests(s: &[u8]) -> bool {
    let mut words: Vec<&[u8]> = Vec::new();
    for word in s.split(|b| !b.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if words.len() == 16 {
            return false;
        }
        words.push(word);
    }
    let count = |w: &[u8]| w.iter().all(u8::is_ascii_digit);
    let among = |w: &[u8], list: &[&str]| list.iter().any(|l| w.eq_ignore_ascii_case(l.as_bytes()));
    if words.iter().any(|w| among(w, &NOT_A_TALLY)) {
        return false;
    }
    let counted = |list: &[&str], nonzero: bool| {
        words
            .windows(2)
            .any(|p| count(p[0]) && (!nonzero || p[0].iter().any(|&d| d != b'0')) && among(p[1], list))
    };
    counted(&FAILED_TALLY_WORDS, true) && (words.len() == 2 || counted(&OTHER_TALLY_WORDS, false))
}

/// Words that name what a model calls (`tool_use`, `function_call`, `ToolCall`).
const CALLED_WORDS: [&str; 3] = ["tool", "tools", "function"];

/// Words that, after a `CALLED_WORDS` word, make it a call (`tool_calls`, `Tool Use`).
const CALL_WORDS: [&str; 4] = ["call", "calls", "use", "invocation"];

/// Words that, before `tool`, make it a call (`Calling tool: 'search'`, `Invoking tool`).
const CALLING_WORDS: [&str; 5] = ["calling", "invoking", "invoke", "call", "running"];

/// True for a line that names a model's call of a tool: a `CALLED_WORDS` word followed by
/// a `CALL_WORDS` one (`tool_use`, `"tool_calls"`, `Tool Calls:`, `function_call`,
/// camelCase `functionCall` and `ToolCallRequestEvent`, MCP's `tools/call`), or `tool`
/// after a `CALLING_WORDS` one (`Calling tool:`); or a line that opens as ReAct's
/// `Action:` or LangChain `AgentExecutor`'s `Invoking: ``. The two must be next to each other, in
/// one name or with one space, `_` or `/` between: `Function.call` is a method in a
/// JavaScript stack trace, not an agent's turn.
fn names_a_tool_call(s: &[u8]) -> bool {
    let line = s.trim_ascii_start();
    // ReAct's `Action: search` (its arguments follow as `Action Input: ...`) and LangChain
    // `AgentExecutor`'s `Invoking: `search` with `{...}``.
    if line.starts_with(b"Action:") || line.starts_with(b"Invoking: `") {
        return true;
    }
    let mut previous: Option<Word> = None;
    let mut found = false;
    words(s, |w| {
        if let Some(p) = previous.filter(|p| matches!(&s[p.end..w.start], b"" | b" " | b"_" | b"/")) {
            found |= any_of(s, p, &CALLED_WORDS) && any_of(s, w, &CALL_WORDS)
                || any_of(s, p, &CALLING_WORDS) && is(s, w, "tool");
        }
        previous = Some(w);
    });
    found
}

/// Keys under which a call's arguments are shown.
const ARGUMENT_KEYS: [&str; 5] = ["arguments", "args", "input", "parameters", "params"];

/// True for a line with an `ARGUMENT_KEYS` word followed, after a closing quote, by `:` or
/// `=` (`"arguments": "{\"q\": 1}"`, `args={...}`, `  Args:`), ReAct's `Action Input:`,
/// `AgentExecutor`'s `Invoking: `search` with `{...}``, or a call written out with its
/// arguments named (`search_issues(query='flaky login', state='open')`, `read({"path": ...})`).
fn shows_arguments(s: &[u8]) -> bool {
    let line = s.trim_ascii_start();
    if line.starts_with(b"Action Input:")
        || line.starts_with(b"Invoking: `") && line.windows(8).any(|w| w == b"` with `")
        || names_its_arguments(line)
    {
        return true;
    }
    let mut found = false;
    words(s, |w| {
        found = found || names_arguments_as_key(&s[w.start..w.end], &s[w.end..]);
    });
    found
}

/// True for a word that names a call's arguments as a key (`ARGUMENT_KEYS`), followed in
/// `rest`, after a closing quote, by `:` or `=` (`args: {`, `"arguments": "{`, `input=`;
/// not `input_tokens`).
pub fn names_arguments_as_key(word: &[u8], rest: &[u8]) -> bool {
    let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
    let rest = rest.strip_prefix(b"'").unwrap_or(rest);
    matches!(rest.first(), Some(b':' | b'='))
        && word.len() <= LONGEST_WORD
        && ARGUMENT_KEYS
            .iter()
            .any(|k| k.as_bytes().eq_ignore_ascii_case(word))
}

/// True for a call written out with its first argument named or given as an object: a
/// name, `(` right after it, then `key=` (not `==`) or `{`. A call with positional arguments
/// (`print(x)`, `at Object.<anonymous> (index.js:3:9)`) shows values, not what they ask.
fn names_its_arguments(s: &[u8]) -> bool {
    s.iter()
        .enumerate()
        .skip(1)
        .any(|(i, &b)| b == b'(' && is_name_byte(s[i - 1]) && opens_named_arguments(&s[i..]))
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// True when `rest`, which follows a name, opens a call with its first argument named or
/// given as an object: `(`, then `key=` (not `==`) or `{`.
pub fn opens_named_arguments(rest: &[u8]) -> bool {
    let Some(rest) = rest.strip_prefix(b"(") else {
        return false;
    };
    let rest = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
    if rest.first() == Some(&b'{') {
        return true;
    }
    let key = rest.iter().take_while(|b| is_name_byte(**b)).count();
    let after = &rest[key..];
    let after = &after[after.iter().take_while(|b| **b == b' ').count()..];
    key > 0 && after.first() == Some(&b'=') && after.get(1) != Some(&b'=')
}

/// A test runner's line for a test that passed: a leading check mark (Jest, Vitest, Mocha:
/// `✓ handles a refused connection (12 ms)`), TAP's `ok 12 - ...`, Go's `--- PASS: ...`,
/// pytest's `... PASSED`, or unittest's and cargo's `... ok` at the end. Test names are
/// prose about what can go wrong (`retries on timeout`, `TestConnectionRefused`), so the
/// failure and attempt words in such a line are the test's name, not a failure.
fn reports_a_pass(s: &[u8]) -> bool {
    let start = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let line = &s[start..];
    let end = line.len() - line.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
    let line = &line[..end];
    let marks: [&[u8]; 3] = ["✓ ".as_bytes(), "✔ ".as_bytes(), "√ ".as_bytes()];
    let tap = line
        .strip_prefix(b"ok ")
        .is_some_and(|rest| rest.first().is_some_and(u8::is_ascii_digit));
    let pytest = line.windows(8).any(|w| w == b" PASSED " || w == b" PASSED[") || line.ends_with(b" PASSED");
    marks.iter().any(|m| line.starts_with(m))
        || tap
        || line.starts_with(b"--- PASS: ")
        || pytest
        || line.ends_with(b" ... ok")
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "reset reason: connection-refused",
            "Error - connection lost",
        ] {
            assert!(error(line), "{line:?} should have error wording");
        }
    }

    #[test]
    fn an_optimisation_says_it_converged() {
        let converged = |line: &str| wording(line.as_bytes()).converged;
        for line in [
            "Initialization converged. time lapse 0.02558s\t lower bound -4.29357.",
            "Initialization converged: True\t time lapse 0.03s\t ll -4.29",
            "Converged at iteration 1: strict convergence.",
        ] {
            assert!(converged(line), "{line:?}");
        }
        for line in [
            "Initialization converged: False\t time lapse 0.03s\t ll -4.29",
            "not converged after 100 iterations",
            "ConvergenceWarning: lbfgs failed to converge",
            "Iteration 2\t time lapse 0.00060s\t ll change 0.00000",
        ] {
            assert!(!converged(line), "{line:?}");
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
            "User-Agent: aws-cli/1.45.11 md/Botocore#1.43.11 cfg/retry-mode#legacy botocore/1.43.11",
            "--retry-delay 5 --timeout-seconds 30 set",
            "error-free run",
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
    fn a_warning_about_the_work_is_told_from_a_loop_s_own_warning() {
        for line in [
            "[LightGBM] [Warning] No further splits with positive gain, best gain: -inf",
            "/app/train.py:41: UserWarning: The given NumPy array is not writable",
            "WARN  tokenizer: sequence longer than the model's maximum, truncated",
        ] {
            assert!(wording(line.as_bytes()).advisory(), "{line:?}");
        }
        for line in [
            "WARNING consumer: queue 'jobs' returned no messages, polling again",
            "WARNING: non-finite loss at step 4010, reloading checkpoint ckpt/step-4000.pt",
            "WARN  scheduler: worker rejected job 4411 (409 conflict), re-queueing",
            "Warning: Attempt 3 failed. Reason: Child_process exited with error code 1",
            "ConvergenceWarning: lbfgs failed to converge after 5 iteration(s)",
            "Finished: 0 errors, 2 warnings",
            "loss: nan",
        ] {
            assert!(!wording(line.as_bytes()).advisory(), "{line:?}");
        }
    }

    #[test]
    fn a_model_calling_a_tool_is_read() {
        for line in [
            r#"{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "search"}"#,
            r#"{"role": "assistant", "tool_calls": [{"id": "call_abc123", "type": "function"}]}"#,
            r#"{"type": "function_call", "call_id": "call_8f2k", "name": "lookup"}"#,
            "Tool Calls:",
            "[FunctionCall(id='call_5b1', arguments='{}', name='search')]",
            r#"{"functionCall": {"name": "search", "args": {}}}"#,
            "---------- ToolCallRequestEvent (assistant) ----------",
            r#"{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "grep"}}"#,
            "Calling tool: 'search' with arguments: {'query': 'x'}",
            "Invoking tool search",
            "Action: search",
            "Invoking: `search` with `{'query': 'src/main.py'}`",
        ] {
            assert!(wording(line.as_bytes()).tool_call, "{line:?} names a tool call");
        }
        for line in [
            r#"{"type": "tool_use", "id": "toolu_01", "name": "search", "input": {"q": "x"}}"#,
            r#"{"function_call": {"name": "search", "arguments": "{\"q\": \"x\"}"}}"#,
            "  Args:",
            "INFO agent: tool call search args={\"q\": \"x\"}",
            "Action Input: {\"query\": \"release date\"}",
            "Invoking: `search` with `{'query': 'src/main.py'}`",
            "-> calling tool search_issues(query='flaky login test', state='open')",
            r#"Calling read_file({"path": "src/app.py"})"#,
        ] {
            assert!(wording(line.as_bytes()).arguments, "{line:?} shows arguments");
        }
        for line in [
            "Invoking tool search",
            "Tool search completed.",
            "parse the input file",
            "-> calling tool search_issues('flaky login test')",
            "    at Object.<anonymous> (/app/index.js:3:9)",
            "assert (x == 3)",
            "check(count==0) failed",
        ] {
            assert!(!wording(line.as_bytes()).arguments, "{line:?} shows no arguments");
        }
        for line in [
            "    at Function.call (<anonymous>)",
            r#"{"type": "function", "function": {"name": "search"}}"#,
            "rustup toolchain install stable",
            "warning: unused function `call_home`",
            "the tool is in use by another process",
            "Required Action: review",
        ] {
            assert!(!wording(line.as_bytes()).tool_call, "{line:?} names no tool call");
        }
    }

    #[test]
    fn a_state_still_under_way_is_read() {
        for line in [
            "Build 4411: status running, stage test",
            r#"{"state": "queued", "id": 7}"#,
            "the deployment is still rolling out, still deploying",
            "run 8812 in_progress",
            "Job is in progress",
            r#"{"id": 88, "status": "in_progress", "started_at": "2026-12-04T10:00:00Z"}"#,
            r#"{"type": "check_run", "status": "queued"}"#,
        ] {
            assert!(wording(line.as_bytes()).under_way, "{line:?} is under way");
        }
        for line in [
            "The errors are still there. Running the build one more time to make sure.",
            "Status: done. Running checks",
            r#"{"type":"item.started","item":{"id":"item_1","type":"command_execution","status":"in_progress"}}"#,
            r#"{"type": "response.in_progress", "response": {"id": "resp_1", "status": "in_progress"}}"#,
        ] {
            assert!(!wording(line.as_bytes()).under_way, "{line:?} is not under way");
        }
        for line in [
            "Running tests...",
            "Build 4411: status success, all 212 checks green",
            "state: failed after 3 steps, running cleanup",
            "progress: 40 of 100",
        ] {
            assert!(!wording(line.as_bytes()).under_way, "{line:?} is not under way");
        }
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
            "Wait for /healthz to return 200",
            "wait and see",
            "please wait",
            "rate limited: will wait and retry",
            "I'll wait and try again",
        ] {
            assert!(wording(line.as_bytes()).wait, "{line:?} waits");
        }
        for line in [
            "Is another postmaster already running on port 5432? If not, wait a few seconds and retry.",
            "Please wait a moment and try again.",
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
    fn a_line_that_names_one_file_is_a_file_header() {
        for line in [
            "/home/dev/shop/src/api/users.js",
            "  src/styles/a.css  ",
            "config/app.yaml",
            "app.yaml",
            r"C:\work\shop\src\main.ts",
        ] {
            assert!(wording(line.as_bytes()).file_header, "{line:?} names a file");
        }
        for line in [
            "Done.",
            "1.2.3",
            "v1.2.3",
            "---",
            "src/app.js: line 3, col 1, Error - Unexpected var",
            "Reading src/app.js",
            "https://example.com/a.js",
            "ok",
        ] {
            assert!(
                !wording(line.as_bytes()).file_header,
                "{line:?} is not a file header"
            );
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
    fn a_test_runs_tally_of_failures_is_read_and_is_no_wait() {
        for line in [
            "  1 failed",
            "  2 failing",
            "Tests:       1 failed, 2 passed, 3 total",
            "========================= 1 failed, 2 passed in 0.12s =========================",
            "3 examples, 1 failure",
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
        ] {
            let w = wording(line.as_bytes());
            assert!(w.failed_tests && !w.wait, "{line:?} tallies failed tests: {w:?}");
        }
        for line in [
            "  0 failed",
            "Tests:       3 passed, 3 total",
            "Processed 1000 rows, 3 failed",
            "Waiting for pods: 2 failed, 1 passed",
            "3 failed attempts, retrying in 5s",
            "1 failing, 3 successful, 0 skipped, and 2 pending checks",
            "CI run 4821: 1 failed, 2 passed, 3 running",
            "Error: Timed out 5000ms waiting for expect(locator).toBeVisible()",
        ] {
            assert!(
                !wording(line.as_bytes()).failed_tests,
                "{line:?} tallies no failed tests"
            );
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
    fn a_passing_test_named_after_a_failure_is_no_failure() {
        for line in [
            "    ✓ retries request 12 with backoff (40 ms)",
            "  ✔ throws an error when the connection is refused (3ms)",
            "ok 12 - times out after 5 s",
            "--- PASS: TestRetryOnTimeout (0.00s)",
            "tests/test_net.py::test_x[connection refused] PASSED   [ 40%]",
            "test client::retry_on_error ... ok",
        ] {
            let w = wording(line.as_bytes());
            assert!(!w.error && !w.attempt, "{line}");
        }
        assert!(error("    ✕ retries request 12 with backoff (40 ms)"));
        assert!(error("not ok 12 - handles a refused connection"));
        assert!(error("--- FAIL: TestRetryOnTimeout (0.00s)"));
    }

    #[test]
    fn attempt_words_mark_counters_as_attempts() {
        assert!(wording(b"attempt 4 of 10").attempt);
        assert!(wording(b"Try 3: connecting").attempt);
        assert!(!wording(b"step 4 of 10").attempt);
        assert!(!wording(b"attempted to be clever").attempt);
        assert!(wording(b"retry_count=3 backing off").attempt);
        assert!(wording(b"upload attempts_left: 2").attempt);
        assert!(wording(b"retry-count=3 backing off").attempt);
        assert!(!wording(b"cfg/retry-mode#legacy").attempt);
        assert!(!wording(b"test_many.py::test_http_retry[21] PASSED [ 91%]").attempt);
        assert!(!wording(b"collecting tests/test_retry_policy.py").attempt);
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
