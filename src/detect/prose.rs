//! The gist of a line: its template with the natural-language prose in it masked.
//!
//! An agent stuck on a tool call says something new before every call ("Let me search for
//! flights", "I'll look up flights again") while the call itself — its tool, its arguments
//! — and the result it gets back stay the same. The template keeps every word, so each
//! reworded line is a new template and no exact cycle spans the passes. The gist masks the
//! prose and keeps everything else, so two passes that differ only in their wording have the
//! same gist, while a call with new arguments (a new query, the next page) keeps a gist of
//! its own.
//!
//! Prose is text that reads as a sentence, not as data: at least three words, made almost
//! only of letters and sentence or markdown punctuation (three letters or more to every
//! other byte; a path or a file name mentioned in passing, `action_items.md`, `**bold**`
//! and `` `code` `` are allowed, and digits inside a word of two letters or more, `30-day`,
//! `2nd`, and a JSON string's `\n`, `\t` and `\"` escapes) — no braces, brackets, `=`, other
//! backslashes, `_` outside a file name, numbers standing alone or placeholders — so a
//! query string, JSON-encoded arguments, an identifier (`user_id`, a test's
//! `test_api.py::test_login`) or a key/value pair is never prose. A logging library's time and
//! severity before a message are no part of it (`2026-12-04 18:22:12,705 INFO`). Two places
//! hold it: a double-quoted string (the `"content"` or `"text"` of a JSON message) and the rest
//! of a line after its bracketed tags and a short label (`Thought: ...`, `## Thought: ...`,
//! `[assistant] ...`, `[12:00:01] [say] text ...`, as agents' consoles and output channels
//! print a message), or the whole line. A line without prose has no gist of its own: its gist
//! is its template, so the cost is one scan for the quote and label candidates, and a second
//! normalisation only for lines that hold prose.
//!
//! A sentence can also name the item a job is working on (`Sending the invoice to Acme
//! Corp`, `the 2nd batch`): two such lines have one gist but name other things, so a gist
//! carries a hash of the names its prose mentions (and of its words with digits), and a
//! line rewords another only when their names agree or one of them names nothing
//! ([`Gist::rewords`]).

use super::slots::{SlotKind, Slots};
use super::template;

/// Words a span needs to read as prose.
const MIN_WORDS: usize = 3;

/// A label before the prose of a line ends within this many bytes (`## Thought:`).
const LABEL_LIMIT: usize = 24;

/// A label in capitals may be longer: an agent's name and the section it prints
/// (`MEETINGNOTESSUMMARIZERGPT THOUGHTS:`), and so may a chat prompt (`Assistant (with tool
/// call):> `). A longer one with small letters is the start of a sentence (`The build fails
/// with two type errors:`), part of the prose.
const CAPITALS_LABEL_LIMIT: usize = 40;

/// Bracketed tags before the prose of a line, at most, and the length of each.
const MAX_TAGS: usize = 3;
const TAG_LIMIT: usize = 40;

/// Prose spans masked per line, at most.
const MAX_SPANS: usize = 8;

/// What a masked span becomes: a word no real output prints.
const MARK: &[u8] = b" proseprose ";

/// True when every digit of `s` is part of a word of two letters or more (`30-day`,
/// `2nd`, `gpt-4o`): a number standing alone (`12`, `v2`, `10:00`) is data.
fn digits_in_words_only(s: &[u8]) -> bool {
    s.split(|&b| b == b' ').all(|token| {
        !token.iter().any(u8::is_ascii_digit) || token.iter().filter(|b| b.is_ascii_alphabetic()).count() >= 2
    })
}

/// True when `token`, its quotes and closing punctuation aside, names a file: a stem of
/// letters, digits, `_`, `-`, `/` and `.` and a short extension (`q3_planning_notes.txt`,
/// `src/app_state.py`), and no `::` of a test's node id (`test_api.py::test_login`).
fn is_file_name(token: &[u8]) -> bool {
    let start = token.iter().take_while(|b| b"`'\"(".contains(b)).count();
    let end = token.len()
        - token
            .iter()
            .rev()
            .take_while(|b| b"`'\").,;:!?".contains(b))
            .count();
    let Some(name) = token.get(start..end.max(start)) else {
        return false;
    };
    let Some(dot) = name.iter().rposition(|&b| b == b'.') else {
        return false;
    };
    let (stem, ext) = (&name[..dot], &name[dot + 1..]);
    !stem.is_empty()
        && stem
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_-/.".contains(b))
        && (1..=5).contains(&ext.len())
        && ext.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && ext.iter().any(u8::is_ascii_lowercase)
}

/// True when every `_` of `s` is inside a file name mentioned in passing (`Save them to
/// action_items.md`): an identifier (`user_id`, `test_create_user`) is data.
fn underscores_in_file_names_only(s: &[u8]) -> bool {
    s.split(|&b| b == b' ')
        .all(|token| !token.contains(&b'_') || is_file_name(token))
}

/// True when `s` reads as a sentence (see the module doc).
fn is_prose(s: &[u8]) -> bool {
    if !underscores_in_file_names_only(s) {
        return false;
    }
    let mut words = 0;
    let mut letters = 0;
    let mut others = 0;
    let mut in_word = false;
    let mut escaped = false;
    for &b in s {
        // A JSON string's escapes: `\n` and `\t` between sentences are spaces, `\"` a quote.
        if escaped {
            escaped = false;
            match b {
                b'n' | b't' | b'r' => in_word = false,
                b'"' | b'\'' => {
                    others += 1;
                    in_word = false;
                }
                _ => return false,
            }
            continue;
        }
        match b {
            b'\\' => escaped = true,
            b'a'..=b'z' | b'A'..=b'Z' | 0x80..=0xff => {
                letters += 1;
                if !in_word {
                    words += 1;
                    in_word = true;
                }
            }
            b' ' => in_word = false,
            b'\'' | b'-' | b'/' | b'_' | b'0'..=b'9' => others += 1,
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'(' | b')' | b'"' | b'*' | b'`' => {
                others += 1;
                in_word = false;
            }
            _ => return false,
        }
    }
    words >= MIN_WORDS && letters >= 2 * words && letters >= 3 * others && digits_in_words_only(s)
}

/// Severity words a logging library prints after its timestamp.
const LEVELS: [&[u8]; 9] = [
    b"TRACE",
    b"DEBUG",
    b"INFO",
    b"NOTICE",
    b"WARN",
    b"WARNING",
    b"ERROR",
    b"CRITICAL",
    b"FATAL",
];

/// The length of the timestamp and severity that open a logging library's line, each
/// followed by spaces (`2026-12-04 18:22:12,705 INFO  `, `12:00:01.250 WARN `): a date or
/// time is a token of digits with `-`, `:`, `.`, `,`, `/`, `T`, `Z` or `+` in it, at most
/// two of them, then one severity word. Nothing when the line opens with no time.
fn log_prefix(s: &[u8]) -> usize {
    let token_end = |at: usize| {
        s[at..]
            .iter()
            .position(|&b| b == b' ')
            .map_or(s.len(), |p| at + p)
    };
    let spaces_from = |at: usize| at + s[at..].iter().take_while(|&&b| b == b' ').count();
    let mut at = 0;
    for _ in 0..2 {
        let end = token_end(at);
        let token = &s[at..end];
        let time = token.iter().any(u8::is_ascii_digit)
            && token.iter().any(|b| matches!(b, b'-' | b':' | b'/'))
            && token
                .iter()
                .all(|b| b.is_ascii_digit() || b"-:.,/TZ+".contains(b));
        if !time {
            break;
        }
        at = spaces_from(end);
    }
    if at == 0 {
        return 0;
    }
    let end = token_end(at);
    if LEVELS.iter().any(|l| s[at..end].eq_ignore_ascii_case(l)) {
        at = spaces_from(end);
    }
    at
}

/// The length of the bracketed tags that open `s`, each followed by a space: a time, a
/// level, a speaker (`[2026-12-02T07:35:50Z] [say] `, `[assistant] `, `(agent) `), at most
/// `MAX_TAGS` of them, each at most `TAG_LIMIT` bytes.
fn bracketed_tags(s: &[u8]) -> usize {
    let mut at = 0;
    for _ in 0..MAX_TAGS {
        let close = match s.get(at) {
            Some(b'[') => b']',
            Some(b'(') => b')',
            _ => break,
        };
        let Some(len) = s[at..].iter().take(TAG_LIMIT).position(|&b| b == close) else {
            break;
        };
        if s.get(at + len + 1) != Some(&b' ') {
            break;
        }
        at += len + 2;
    }
    at
}

/// Byte ranges of `s` that hold prose, in order, at most `MAX_SPANS`; returns how many.
fn spans(s: &[u8], out: &mut [(usize, usize); MAX_SPANS]) -> usize {
    let mut n = 0;
    // The whole line, or the rest of it after a logging library's time and severity, its
    // bracketed tags (`[12:00:01] [assistant]`) and a short label ending in `:` (or in the
    // `:>` of a chat sample's prompt, `Assistant:> `).
    let logged = log_prefix(s);
    let tags = logged + bracketed_tags(&s[logged..]);
    let label_end = |c: usize| c + 1 + usize::from(s.get(tags + c + 1) == Some(&b'>'));
    let start = tags
        + s[tags..]
            .iter()
            .take(CAPITALS_LABEL_LIMIT)
            .position(|&b| b == b':')
            .filter(|&c| s.get(tags + label_end(c)) == Some(&b' '))
            .filter(|&c| {
                c < LABEL_LIMIT
                    || label_end(c) > c + 1
                    || !s[tags..tags + c].iter().any(u8::is_ascii_lowercase)
            })
            .map_or(0, label_end);
    let rest = &s[start..];
    let trimmed = rest.iter().take_while(|b| **b == b' ').count();
    if !rest.contains(&b'"') && is_prose(&rest[trimmed..]) {
        out[0] = (start + trimmed, s.len());
        return 1;
    }
    // Double-quoted strings, with backslash escapes.
    let mut i = 0;
    while i < s.len() && n < MAX_SPANS {
        if s[i] != b'"' {
            i += 1;
            continue;
        }
        let open = i + 1;
        let mut j = open;
        while j < s.len() && s[j] != b'"' {
            j += if s[j] == b'\\' { 2 } else { 1 };
        }
        let close = j.min(s.len());
        if is_prose(&s[open..close]) {
            out[n] = (open, close);
            n += 1;
        }
        i = close + 1;
    }
    n
}

/// What a line's prose says beyond its wording: the gist (the template hash of the line with
/// its prose masked) and the names its sentences mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gist {
    pub hash: u64,
    /// A hash of the names in the prose (`NO_NAMES` for none): capitalised words inside a
    /// sentence, after two words of it at least (`the invoice to Acme Corp`; not a
    /// sentence's first word, nor one right after a message type such as `text`, nor `I`).
    /// Two lines with the same gist but other names (`Sending the invoice to Acme Corp`,
    /// `... to Globex Inc`) are a job going through its items, not a model rewording the
    /// same request — a rewording keeps the names it mentions, or mentions none.
    pub names: u64,
    /// A hash of the values the line carries outside its prose, identifiers left out
    /// (counts, fractions, percentages): two rewordings of one step logged as one line are
    /// the same step only when these agree — a status whose numbers move is news.
    pub values: u64,
}

/// The names hash of prose without names.
pub const NO_NAMES: u64 = 0;

impl Gist {
    /// The gist of a line without prose: its template.
    pub fn of_template(template: u64) -> Gist {
        Gist {
            hash: template,
            names: NO_NAMES,
            values: 0,
        }
    }

    /// Whether `self` rewords `other` and carries the same values: one line that logs a
    /// call and its result, said again in other words with the same result.
    pub fn repeats(&self, other: &Gist) -> bool {
        self.rewords(other) && self.values == other.values
    }

    /// Whether `self` says what `other` says in other words: the same gist, and the same
    /// names unless one of the two mentions none.
    pub fn rewords(&self, other: &Gist) -> bool {
        self.hash == other.hash
            && (self.names == other.names || self.names == NO_NAMES || other.names == NO_NAMES)
    }
}

/// Folds the names `prose` mentions into `names` (FNV-1a over each name and a separator).
fn hash_names(prose: &[u8], names: &mut u64) {
    let mut prev = b'.';
    let mut words = 0;
    let mut i = 0;
    while i < prose.len() {
        let b = prose[i];
        let word_start = b.is_ascii_alphanumeric() && (i == 0 || prose[i - 1] == b' ');
        if !word_start {
            if b != b' ' {
                prev = b;
            }
            if matches!(b, b'.' | b'!' | b'?' | b':' | b';' | b'*') {
                words = 0;
            }
            i += 1;
            continue;
        }
        let end = i + prose[i..].iter().take_while(|&&c| c != b' ').count();
        let word = &prose[i..end];
        let letters = word.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        let inside = words >= 2 && (prev.is_ascii_lowercase() || prev == b',');
        let capitalised =
            b.is_ascii_uppercase() && letters >= 2 && word[1..letters].iter().all(u8::is_ascii_lowercase);
        // A word with digits in it (`30-day`, `2nd`) names a thing as precisely as a name.
        // So does a file name (`action_items.md`): the prose of a step on another file is
        // another step.
        let numbered = word.iter().any(u8::is_ascii_digit) || word.contains(&b'_');
        if (inside && capitalised) || numbered {
            let seed = if *names == NO_NAMES {
                template::fnv1a(b"")
            } else {
                *names
            };
            let name = if numbered { word } else { &word[..letters] };
            *names = name
                .iter()
                .chain([&b' '])
                .fold(seed, |h, &c| template::fnv_mix(h, u64::from(c)));
        }
        prev = *word.last().expect("a word has a byte");
        words = if matches!(prev, b'.' | b'!' | b'?' | b':' | b';') {
            0
        } else {
            words + 1
        };
        i = end;
    }
}

/// The gist of the stripped line `s` when it holds prose (`scratch`, `out` and `slots` are
/// reused buffers). `None` when the line holds no prose, so its gist is its template.
pub fn gist(s: &[u8], scratch: &mut Vec<u8>, out: &mut Vec<u8>, slots: &mut Slots) -> Option<Gist> {
    let mut found = [(0, 0); MAX_SPANS];
    let n = spans(s, &mut found);
    if n == 0 {
        return None;
    }
    scratch.clear();
    let mut names = NO_NAMES;
    let mut from = 0;
    for &(a, b) in &found[..n] {
        scratch.extend_from_slice(&s[from..a]);
        scratch.extend_from_slice(MARK);
        hash_names(&s[a..b], &mut names);
        from = b;
    }
    scratch.extend_from_slice(&s[from..]);
    let shape = template::normalise(scratch, out, slots)?;
    let values = (0..slots.len())
        .filter(|&i| slots.kind(i) != Some(SlotKind::Key))
        .filter_map(|i| slots.value(i))
        .fold(template::FNV_OFFSET, |h, v| template::fnv_mix(h, v.to_bits()));
    Some(Gist {
        hash: shape.template,
        names,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gist_of(line: &str) -> Option<Gist> {
        gist(
            line.as_bytes(),
            &mut Vec::new(),
            &mut Vec::new(),
            &mut Slots::default(),
        )
    }

    #[test]
    fn a_logged_sentence_after_its_time_and_severity_is_prose() {
        let a = gist_of("2026-12-04 18:22:12,705 INFO  RESEARCHGPT THOUGHTS: I need to read the notes file before I can summarize it.");
        let b = gist_of("2026-12-04 18:22:16,019 INFO  RESEARCHGPT THOUGHTS: To summarize the meeting I first need the full text of the notes.");
        assert!(a.is_some());
        assert_eq!(a.map(|g| g.hash), b.map(|g| g.hash));
        // A chat sample's prompt is a label too.
        let chat = gist_of("Assistant (with tool call):> Let me try switching the porch light off again.");
        assert_eq!(
            chat.map(|g| g.hash),
            gist_of("Assistant (with tool call):> I'll attempt to turn off the Porch light once more.")
                .map(|g| g.hash)
        );
        assert!(chat.is_some());
        // A long label is one in capitals; with small letters it opens the sentence.
        let sentence = gist_of("The build fails with two type errors: the rows can be null here.");
        assert_eq!(
            sentence.map(|g| g.hash),
            gist_of("Let me run the build again to see whether the errors persist.").map(|g| g.hash)
        );
        let plan = gist_of("12:00:01.250 WARN -  Review the notes file");
        assert!(plan.is_some());
        // Data after the time stays data: a request line is no sentence.
        assert!(gist_of("2026-12-04 18:22:12,705 INFO  GET /api/v1/users?page=2 200 14ms").is_none());
        // A file name mentioned in passing is part of a sentence, and names what it is about;
        // an identifier or a test's node id is data.
        let save = gist_of("2026-12-04 18:22:12,705 INFO  -  Save them to action_items.md");
        let other = gist_of("2026-12-04 18:22:15,102 INFO  -  Save them to report_final.md");
        let (save, other) = (save.expect("prose"), other.expect("prose"));
        assert_eq!(save.hash, other.hash);
        assert!(!save.rewords(&other));
        assert!(gist_of("the user_id is missing from the request body").is_none());
        assert!(gist_of("tests/test_api.py::test_create_user PASSED in the suite").is_none());
        // Without a time first, a severity word is a word of the sentence.
        assert_eq!(log_prefix(b"INFO the build is done"), 0);
        assert_eq!(
            log_prefix(b"2026-12-04T18:22:12Z ERROR boom"),
            "2026-12-04T18:22:12Z ERROR ".len()
        );
    }

    #[test]
    fn reworded_messages_around_the_same_call_share_a_gist() {
        let a = gist_of(
            r#"{"role": "assistant", "content": "Let me look that up.", "tool_calls": [{"id": "call_8Hq2", "name": "search", "arguments": "{\"q\": \"acme\"}"}]}"#,
        );
        let b = gist_of(
            r#"{"role": "assistant", "content": "I will search for it once more, with the same query.", "tool_calls": [{"id": "call_Zx91", "name": "search", "arguments": "{\"q\": \"acme\"}"}]}"#,
        );
        assert!(a.is_some());
        assert_eq!(a, b);
        let other_args = gist_of(
            r#"{"role": "assistant", "content": "Let me look that up.", "tool_calls": [{"id": "call_8Hq2", "name": "search", "arguments": "{\"q\": \"widgets\"}"}]}"#,
        );
        assert_ne!(a, other_args, "new arguments are a new call");
    }

    #[test]
    fn a_sentence_after_a_label_is_prose() {
        assert_eq!(
            gist_of("Thought: I need the pricing page."),
            gist_of("Thought: Let me search again for it.")
        );
        assert_ne!(
            gist_of("Thought: I need the pricing page."),
            gist_of("Action: I need the pricing page.")
        );
        assert!(gist_of("It seems the import failed, please run it again.").is_some());
    }

    #[test]
    fn a_sentence_after_bracketed_tags_is_prose() {
        assert_eq!(
            gist_of("[assistant] Let me check which components already exist."),
            gist_of("[assistant] I'll look at the components directory again.")
        );
        assert_eq!(
            gist_of("[2026-12-02T07:35:50.123Z] [say] text I'll update the retry handler now."),
            gist_of("[2026-12-02T07:35:52.871Z] [say] text Applying the fix to the request client.")
        );
        assert_ne!(
            gist_of("[assistant] Let me check which components already exist."),
            gist_of("[user] Let me check which components already exist.")
        );
        assert!(
            gist_of("[tool_result] exit status 1").is_none(),
            "a digit is data"
        );
        assert!(gist_of("[tool_use] list_files {\"path\": \"src\"}").is_none());
    }

    #[test]
    fn a_sentence_naming_a_new_item_is_not_a_paraphrase() {
        let rewords = |a: &str, b: &str| {
            let (a, b) = (gist_of(a).expect("prose"), gist_of(b).expect("prose"));
            a.rewords(&b)
        };
        assert!(!rewords(
            "[mailer] Sending the monthly invoice to Acme Corp",
            "[mailer] Sending the monthly invoice to Globex Inc"
        ));
        assert!(rewords(
            "Thought: I should look up Acme again, and I will.",
            "Thought: Let me search for Acme once more."
        ));
        assert!(rewords(
            "Thought: Let me fetch the invoices for March.",
            "Thought: I will list the invoices once more."
        ));
        assert_eq!(
            gist_of("Thought: The build failed again. Let me run it."),
            gist_of("Thought: Still failing. I'll try it, as before.")
        );
    }

    #[test]
    fn digits_inside_words_are_prose_and_name_what_they_count() {
        let a = gist_of(
            r#"{"text": "Let me try the search again. The customer is asking about a 30-day window."}"#,
        );
        let b = gist_of(r#"{"text": "I'll look that up in the knowledge base again."}"#);
        assert!(a.is_some());
        assert!(a.expect("prose").rewords(&b.expect("prose")));
        let (second, third) = (
            gist_of("[worker] Retrying the 2nd batch of invoices now.").expect("prose"),
            gist_of("[worker] Retrying the 3rd batch of invoices now.").expect("prose"),
        );
        assert!(!second.rewords(&third), "another numbered item is another item");
        assert!(
            gist_of("[worker] Retrying batch 12 of 40 now.").is_none(),
            "numbers standing alone are data"
        );
    }

    #[test]
    fn json_escapes_in_a_sentence_are_prose() {
        let a = gist_of(
            r#"{"type": "text", "text": "I'll search for \"refund policy\" again.\n\nThe index may be stale."}"#,
        );
        let b = gist_of(r#"{"type": "text", "text": "Let me run that search again."}"#);
        assert!(a.is_some());
        assert_eq!(a, b);
        assert!(
            gist_of(r#"{"path": "C:\\Users\\build\\logs"}"#).is_none(),
            "a path's backslashes are data"
        );
    }

    #[test]
    fn data_is_not_prose() {
        for line in [
            "GET /api/orders HTTP/1.1 200",
            "cc -O2 -Wall -c src/main.c -o build/main.o",
            r#"{"path": "src/lib.rs", "query": "fn main", "top_k": 3}"#,
            "Compiling serde v1.0.210",
            "tests/test_api.py::test_get[case-3] PASSED",
            "step 1200 loss=0.31 lr=3e-4",
            "ok",
            "Epoch 3: train_loss 0.41 val_loss 0.44",
        ] {
            assert_eq!(gist_of(line), None, "{line:?}");
        }
    }
}
