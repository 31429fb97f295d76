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
//! metric (`errors=0`, `failures: 3`), and a word after `no`, `zero`, `without` or `0`
//! is negated (`0 errors`, `no failures`).

const ERROR_WORDS: [&str; 29] = [
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
];

/// Two-word phrases: the first word counts only when followed by the second.
const ERROR_PHRASES: [(&str, &str); 3] = [("timed", "out"), ("could", "not"), ("not", "found")];

const ATTEMPT_WORDS: [&str; 6] = ["attempt", "attempts", "try", "tries", "retry", "retries"];

const NEGATIONS: [&str; 4] = ["no", "zero", "without", "0"];

/// What a template's wording says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wording {
    /// Failure words (error, failed, refused, timed out, ...).
    pub error: bool,
    /// Words that make a counter an attempt number (attempt, try, retry).
    pub attempt: bool,
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

/// Followed by `=` or `:` and then a number (`errors=0`, `failures: 3`).
fn is_metric(s: &[u8], w: Word) -> bool {
    let mut j = w.end;
    while j < s.len() && s[j] == b' ' {
        j += 1;
    }
    if !matches!(s.get(j), Some(b'=' | b':')) {
        return false;
    }
    j += 1;
    while j < s.len() && matches!(s[j], b' ' | b'"') {
        j += 1;
    }
    s.get(j).is_some_and(u8::is_ascii_digit)
}

/// Bytes of a line read for wording: failure words come early in a line.
const WORDING_LIMIT: usize = 2048;

/// The longest word in the lists above.
const LONGEST_WORD: usize = 12;

/// Reads the wording of a stripped line.
pub fn wording(s: &[u8]) -> Wording {
    let s = &s[..s.len().min(WORDING_LIMIT)];
    let mut found = Wording::default();
    let mut previous: Option<Word> = None;
    let mut pending_phrase: Option<&str> = None;
    words(s, |w| {
        if let Some(second) = pending_phrase.take() {
            if is(s, w, second) {
                found.error = true;
            }
        }
        let negated = previous.is_some_and(|p| any_of(s, p, &NEGATIONS));
        let counts = !negated && !in_identifier(s, w) && !is_metric(s, w);
        if counts && any_of(s, w, &ERROR_WORDS) {
            found.error = true;
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
    found
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
        ] {
            assert!(!error(line), "{line:?} should not have error wording");
        }
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
