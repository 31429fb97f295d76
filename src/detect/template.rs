//! Line → template: the masked shape of a line that stays the same on every pass of a loop.
//!
//! Loop detection compares lines by their template, not their bytes. The scanner walks the
//! stripped line once, left to right. At each word boundary it tries the recognisers in
//! `tokens` that can start with that byte, in a fixed order (UUID, hex, time, address,
//! random id, number), so the most specific shape wins: `2024-01-02` is a date before it is
//! three numbers, `10.0.0.1` an address before it is a version. Whatever matches becomes a
//! placeholder (`<ts>`, `<n>`, ...). After a word that names an identifier (`id`,
//! `request`, `pid`, `traceId`, journald's `__CURSOR` and `__SEQNUM`) the value is `<id>`
//! whatever it looks like, a whole quoted value without spaces included (a journal cursor,
//! `"s=739a...;i=4ece7;..."`), because short request ids (`8f3a`) have no shape of their
//! own. Words are kept as written, digits glued to letters included (`Handler0007`,
//! `sha256`: differently named things are different work), while a number after a separator
//! (`/users/123`, `worker-3`) is a number. Runs of whitespace collapse to one space and
//! runs of the same symbol to one (`=====>` → `=>`), a bar's partial end cell included
//! (`████▌` → `█`, `━━━╸` → `━`), so a growing progress bar keeps one template.
//!
//! Numbers and identifiers are also kept, in order, in `Slots`: a template that repeats while
//! one of its counters advances is progress, not a loop, and identifiers tell parallel workers
//! apart, and a dotted version is kept as a name (one release after another is one item after
//! another). Times, durations and addresses are masked but never kept, because they change
//! in loops too. The pid a log line's prefix carries (`<ts> UTC [12345] FATAL:`, syslog's
//! `sshd[1234]:`, Redis's `12345:M`) is kept as an identifier: a loop that restarts a
//! process prints a higher one on every pass, which is no work done. Besides the template
//! hash, the scanner returns a skeleton hash that leaves the symbols out, so the frames of a
//! spinner (`⠋ fetching`, `⠙ fetching`) can be recognised.
//!
//! The template text goes into a reused buffer (no allocation per line) and is hashed with
//! FNV-1a. A line without letters, digits or placeholders (`-----`, dots) is decoration,
//! but for an empty value printed alone (`[]`, `{}`, `""`): that is a result, the one a
//! tool's search or read hands back when it finds nothing (an agent printing its tool's
//! output), and a loop that gets it every pass must be seen getting it.

use super::slots::{in_location, in_name, key_value, lint_position, SlotKind, Slots};
use super::tokens::{self, is_alnum, Num, Token};
use super::wording;

/// Template text is cut here (about three times the scanned prefix at worst).
pub const TEMPLATE_LIMIT: usize = 3 * super::text::SCAN_LIMIT;

/// FNV-1a's starting state, for hashes folded with [`fnv_mix`].
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// One FNV-1a step: `value` (a byte, or a whole number's bits) folded into `hash`.
pub fn fnv_mix(hash: u64, value: u64) -> u64 {
    (hash ^ value).wrapping_mul(FNV_PRIME)
}

/// FNV-1a, 64 bit: fast, good enough to tell templates apart, no dependency.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(FNV_OFFSET, |hash, &b| fnv_mix(hash, u64::from(b)))
}

/// A line's template hash and its skeleton: the hash of its words and placeholders without
/// the symbols, equal for the frames of a spinner (`⠋ fetching`, `⠙ fetching`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub template: u64,
    pub skeleton: u64,
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Start of the last symbol written, for collapsing runs of the same symbol.
    last_symbol: Option<usize>,
    pending_space: bool,
    has_content: bool,
    /// The last word names an identifier (`id`, `request`, `pid`, `traceId`, ...).
    id_context: bool,
    /// The last word names what a model call used (`prompt_tokens`, `Input tokens:`,
    /// `tokensIn`, `cost`): the next number is the call's metadata, not a count of work.
    usage_context: bool,
    /// The last word was the first half of such a name (`prompt`, `completion`, `input`).
    usage_part: bool,
    /// The last word was `eval`: a count after it is a count of tokens (`eval_count`).
    eval_part: bool,
    /// The last word names a timestamp (`ts`, `timestamp`, `__REALTIME_TIMESTAMP`): the
    /// number after it is a time in whatever unit, not a count.
    time_context: bool,
    /// A word naming a call's arguments (`args`, `arguments`, `input`, `params`) came
    /// earlier in the line: what follows is what the call asks for.
    in_arguments: bool,
    /// FNV-1a state over the words and placeholders only (symbols left out).
    skeleton: u64,
}

impl Writer<'_> {
    fn space_if_pending(&mut self) {
        if self.pending_space && !self.out.is_empty() {
            self.out.push(b' ');
            self.last_symbol = None;
        }
        self.pending_space = false;
    }

    fn word_bytes(&mut self, bytes: &[u8]) {
        self.space_if_pending();
        for &b in bytes.iter().chain([&0x1f]) {
            self.skeleton = (self.skeleton ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        self.out.extend_from_slice(bytes);
        self.last_symbol = None;
        self.has_content = true;
        self.id_context = false;
        self.usage_context = false;
        self.usage_part = false;
        self.eval_part = false;
        self.time_context = false;
    }

    fn symbol(&mut self, bytes: &[u8]) {
        self.space_if_pending();
        if let Some(start) = self.last_symbol {
            let last = &self.out[start..];
            // A bar's partial cell is part of its run: `████▌` and `━━━╸` are one bar
            // whatever fraction of a cell its end has reached.
            if last == bytes || is_bar_glyph(last) && is_bar_glyph(bytes) {
                return;
            }
        }
        self.last_symbol = Some(self.out.len());
        self.out.extend_from_slice(bytes);
    }
}

/// A character progress bars are drawn with: the block elements (`█`, `▌`, `▏`, U+2580 to
/// U+259F: tqdm, cargo, indicatif) and the horizontal lines and half lines of box drawing
/// (`━`, `╸`, `╺`, `─`: rich, pip). Vertical and corner pieces (`│`, `├`) draw tables and
/// trees, not bars.
fn is_bar_glyph(c: &[u8]) -> bool {
    match std::str::from_utf8(c).ok().and_then(|s| s.chars().next()) {
        Some(ch) => matches!(ch, '\u{2580}'..='\u{259F}' | '─' | '━' | '╴'..='╻' | '╼'..='╿'),
        None => false,
    }
}

fn char_len(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

/// Writes the template of `text` (already stripped of escapes) into `out` and its numbers
/// into `slots`. Returns the template's shape, or `None` for a line without content.
pub fn normalise(text: &[u8], out: &mut Vec<u8>, slots: &mut Slots) -> Option<Shape> {
    out.clear();
    slots.clear();
    let mut w = Writer {
        out,
        last_symbol: None,
        pending_space: false,
        has_content: false,
        id_context: false,
        in_arguments: false,
        usage_context: false,
        usage_part: false,
        eval_part: false,
        time_context: false,
        skeleton: FNV_OFFSET,
    };
    let mut i = 0;
    while i < text.len() && w.out.len() < TEMPLATE_LIMIT {
        let b = text[i];
        if b.is_ascii_whitespace() {
            w.pending_space = true;
            i += 1;
            continue;
        }
        let at_boundary = i == 0 || !is_alnum(text[i - 1]);
        if at_boundary && w.id_context {
            if let Some(end) = id_value(text, i) {
                match asked_for(&text[i..end], w.in_arguments) {
                    // `with args: {"id": 3}`: the item a call asks for is named by its number,
                    // one item after another when the next call asks for 4.
                    Some(number) => {
                        slots.push(SlotKind::Name, number);
                        w.word_bytes(b"<n>");
                    }
                    None => emit(Token::Id, text, i..end, &mut w, slots),
                }
                i = end;
                continue;
            }
        }
        if at_boundary {
            if let Some(end) = masked(text, i, &mut w, slots) {
                i = end;
                continue;
            }
        }
        if is_alnum(b) {
            i = word(text, i, &mut w);
            slots.model_usage |= w.usage_context;
        } else {
            let n = char_len(b).min(text.len() - i);
            w.symbol(&text[i..i + n]);
            i += n;
        }
    }
    let (has_content, skeleton) = (w.has_content || empty_value_alone(text), w.skeleton);
    has_content.then(|| Shape {
        template: fnv1a(out),
        skeleton,
    })
}

/// An empty list, object or string and nothing else on the line: a printed result.
fn empty_value_alone(text: &[u8]) -> bool {
    matches!(text.trim_ascii(), b"[]" | b"{}" | b"\"\"" | b"''")
}

/// Words after which a value is an identifier, whatever it looks like.
const ID_KEYS: [&str; 24] = [
    "id",
    "ids",
    "uuid",
    "guid",
    "pid",
    "ppid",
    "tid",
    "req",
    "rid",
    "request",
    "trace",
    "span",
    "session",
    "sid",
    "correlation",
    "hash",
    "sha",
    "commit",
    "token",
    "nonce",
    "etag",
    "txn",
    "tx",
    "key",
];

/// True for a word that introduces an identifier: one of `ID_KEYS`, or a camelCase name
/// ending in `Id` (`traceId`, `requestID`).
fn is_id_key(word: &[u8]) -> bool {
    let n = word.len();
    let camel = n > 2
        && word[n - 2] == b'I'
        && matches!(word[n - 1], b'd' | b'D')
        && word[n - 3].is_ascii_lowercase();
    camel || ID_KEYS.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(word))
}

/// A word naming a timestamp: `ts`, `timestamp`, or a name ending in it (`createdTimestamp`,
/// journald's `__REALTIME_TIMESTAMP`, whose parts the scanner reads as separate words).
fn is_time_key(word: &[u8]) -> bool {
    let n = word.len();
    word.eq_ignore_ascii_case(b"ts") || n >= 9 && word[n - 9..].eq_ignore_ascii_case(b"timestamp")
}

/// journald's address fields (`__CURSOR`, `__SEQNUM`, `__SEQNUM_ID` in `journalctl -o
/// json`): the name after the two underscores that mark them. A cursor is an opaque position
/// and a sequence number counts entries of the journal, never work of the job.
const JOURNAL_ADDRESS_KEYS: [&str; 3] = ["cursor", "seqnum", "seqnum_id"];

/// True for a journald address field: one of `JOURNAL_ADDRESS_KEYS` right after `__`.
fn is_journal_address(s: &[u8], i: usize, word: &[u8]) -> bool {
    i >= 2
        && &s[i - 2..i] == b"__"
        && JOURNAL_ADDRESS_KEYS
            .iter()
            .any(|k| k.as_bytes().eq_ignore_ascii_case(word))
}

/// An identifier's value by its look: it holds a digit (`a1b2`, `req-77`, `4242`), or it is
/// long and its letters switch case at random (`call_HWFroASiSJQgbMJWmnmzLcPi`): random
/// base-62 ids, as model APIs give their calls, now and then have no digit (one in 70 of
/// OpenAI's 24-letter call ids), and read as a word, such a pass showed new text. Random
/// letters switch case at every other pair; a name after the key (`"id": "search_issues"`,
/// `id: main`, `IntegrationTests`) is short, in one case, or switches at its humps only.
fn looks_like_an_id(value: &[u8]) -> bool {
    if value.iter().any(u8::is_ascii_digit) {
        return true;
    }
    let letters: Vec<bool> = value
        .iter()
        .filter(|b| b.is_ascii_alphabetic())
        .map(u8::is_ascii_uppercase)
        .collect();
    let switches = letters.windows(2).filter(|p| p[0] != p[1]).count();
    letters.len() >= 16 && 10 * switches >= 3 * (letters.len() - 1)
}

/// After an id key: a run of letters, digits, `-`, `_` and `.` that looks like an id
/// (`looks_like_an_id`) is the identifier's value; so is a whole quoted string without
/// spaces that does (journald's cursor `"s=739a...;i=4ece7;b=..."`).
fn id_value(s: &[u8], i: usize) -> Option<usize> {
    if i > 0 && s[i - 1] == b'"' {
        let n = s[i..]
            .iter()
            .take(256)
            .take_while(|&&b| b != b'"' && !b.is_ascii_whitespace())
            .count();
        let value = &s[i..i + n];
        if s.get(i + n) == Some(&b'"') && looks_like_an_id(value) {
            return Some(i + n);
        }
    }
    let n = s[i..]
        .iter()
        .take(128)
        .take_while(|&&b| is_alnum(b) || matches!(b, b'-' | b'_' | b'.'))
        .count();
    let value = &s[i..i + n];
    let value = value.strip_suffix(b".").unwrap_or(value);
    (is_alnum(s[i]) && looks_like_an_id(value)).then_some(i + value.len())
}

/// Tries the recognisers at a boundary; on a match writes the placeholder and returns the
/// end of the match.
fn masked(s: &[u8], i: usize, w: &mut Writer, slots: &mut Slots) -> Option<usize> {
    let next = s.get(i + 1).copied().unwrap_or(0);
    if let Some(end) = repeat_count(s, i) {
        w.word_bytes(b"x<n>");
        return Some(end);
    }
    // Only the first thing on the line can be a lint position: one check per line.
    if s[i].is_ascii_digit() && !w.has_content {
        if let Some((line, column, end)) = lint_position(s, i) {
            slots.push(SlotKind::Location, line);
            slots.push(SlotKind::Location, column);
            w.word_bytes(b"<n>:<n>");
            return Some(end);
        }
    }
    // Only the recognisers that can start with this byte are tried: most boundaries start
    // a plain word, and those cost one look at the word's letters and digits.
    let (end, token) = match s[i] {
        b'+' | b'-' if next.is_ascii_digit() => tokens::number(s, i)?,
        b':' if next == b':' => (tokens::ip(s, i)?, Token::Ip),
        // What a model call used is a number whatever its size: a duration of 1.26e9 ns
        // looks like epoch seconds, and must not change the template when it does.
        b'0'..=b'9' if w.usage_context => tokens::number(s, i)?,
        b'0'..=b'9' => {
            if let Some(end) = tokens::uuid(s, i) {
                (end, Token::Uuid)
            } else if let Some(end) = tokens::hex(s, i) {
                (end, Token::Hex)
            } else if let Some(end) = tokens::time(s, i) {
                (end, Token::Time)
            } else if let Some(end) = tokens::ip(s, i) {
                (end, Token::Ip)
            } else if let Some(end) = tokens::id(s, i, quoted(s, i)) {
                (end, Token::Id)
            } else {
                tokens::number(s, i)?
            }
        }
        b'a'..=b'f' | b'A'..=b'F' => {
            if let Some(end) = tokens::uuid(s, i) {
                (end, Token::Uuid)
            } else if let Some(end) = tokens::hex(s, i) {
                (end, Token::Hex)
            } else if let Some(end) = tokens::ip(s, i) {
                (end, Token::Ip)
            } else {
                (tokens::id(s, i, quoted(s, i))?, Token::Id)
            }
        }
        b'g'..=b'z' | b'G'..=b'Z' => (tokens::id(s, i, quoted(s, i))?, Token::Id),
        _ => return None,
    };
    emit(token, s, i..end, w, slots);
    Some(end)
}

/// The end of a repeat count at `i`: `x` and digits standing alone (vitest's `RERUN
/// src/data.json x12`, vite's `hmr update /src/App.vue (x3)`), how many times the same
/// thing has happened again. The repeat counts itself, so the number rises by one with every
/// pass of a watcher re-running on its own writes; read as a word it made every pass new
/// text, and it is never a count of work, so it is masked and not kept. A name that only
/// starts so (`x86_64`, `x1f`, `x2.5`) is not one.
fn repeat_count(s: &[u8], i: usize) -> Option<usize> {
    if !matches!(s[i], b'x' | b'X') {
        return None;
    }
    let digits = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
    let end = i + 1 + digits;
    let stands_alone = match s.get(end) {
        None => true,
        Some(&b) => b.is_ascii_whitespace() || matches!(b, b')' | b']' | b',' | b';'),
    };
    (digits > 0 && stands_alone).then_some(end)
}

/// True when the letters and digits at `i` are exactly the content of a quoted string.
fn quoted(s: &[u8], i: usize) -> bool {
    i > 0 && matches!(s[i - 1], b'"' | b'\'') && {
        let n = s[i..].iter().take_while(|&&c| is_alnum(c)).count();
        s.get(i + n) == Some(&s[i - 1])
    }
}

/// `0x`-prefixed hex: an address or a literal, never an identifier of work.
fn is_address(text: &[u8]) -> bool {
    matches!(text, [b'0', b'x' | b'X', ..])
}

/// Writes the placeholder for the `token` matched at `at` in `s`, recording plain numbers
/// and identifiers in `slots`.
fn emit(token: Token, s: &[u8], at: std::ops::Range<usize>, w: &mut Writer, slots: &mut Slots) {
    let text = &s[at.clone()];
    let placeholder: &[u8] = match token {
        Token::Uuid => {
            slots.push(SlotKind::Key, key_value(text));
            b"<uuid>"
        }
        Token::Hex => {
            // `0x7f3a2b1c4d50`: a memory address (an object's repr, a frame's arguments) says
            // where the allocator put something this run, not which item of work a line is
            // about; a job re-run prints its objects at new addresses every time.
            if !is_address(text) {
                slots.push(SlotKind::Key, key_value(text));
            }
            b"<hex>"
        }
        Token::Id => {
            slots.push(SlotKind::Key, key_value(text));
            b"<id>"
        }
        Token::Time => b"<ts>",
        Token::Ip => b"<ip>",
        Token::Duration => {
            let seconds = tokens::duration_seconds(text);
            if slots.elapsed.is_none() {
                slots.elapsed = seconds;
            }
            if let Some(seconds) = seconds {
                slots.push_measure(seconds);
            }
            b"<dur>"
        }
        Token::Version => {
            // `Downloading boto3-1.44.7`, `.6`, `.5`: each version is another item (a
            // resolver trying one release after another), never an iteration number.
            slots.push(SlotKind::Name, tokens::version_value(text));
            b"<ver>"
        }
        // `"ts": 1717171717.5`, `"__MONOTONIC_TIMESTAMP": "5186900000"`: a time, which
        // rises with the clock in a loop as in real work.
        Token::Num(Num::Count(_) | Num::Fraction(_)) if w.time_context => b"<ts>",
        Token::Num(Num::Count(_) | Num::Fraction(_)) if w.usage_context => {
            // `Input tokens: 8,412`: the thousands after the comma belong to it too.
            let grouped = s.get(at.end) == Some(&b',')
                && s.get(at.end + 1..at.end + 4)
                    .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                && !s.get(at.end + 4).is_some_and(u8::is_ascii_digit);
            w.word_bytes(b"<n>");
            w.usage_context = grouped;
            return;
        }
        Token::Num(Num::Count(v)) => {
            let kind = if in_location(s, &at) {
                SlotKind::Location
            } else if thread_name(s, &at) {
                SlotKind::Key
            } else if in_name(s, &at) {
                SlotKind::Name
            } else if process_id(s, &at, w.out) {
                SlotKind::Key
            } else {
                SlotKind::Count
            };
            if kind == SlotKind::Count {
                slots.push_measure(v);
            }
            slots.push(kind, v);
            b"<n>"
        }
        Token::Num(Num::Fraction(v)) => {
            slots.push(SlotKind::Fraction, v);
            slots.push_measure(v);
            b"<n>"
        }
        Token::Num(Num::Percent(v)) => {
            slots.push(SlotKind::Percent, v);
            slots.push_measure(v);
            b"<n>%"
        }
        Token::Num(Num::Ratio(done, total)) => {
            slots.push(SlotKind::RatioDone, done);
            slots.push(SlotKind::RatioTotal, total);
            b"<n>/<n>"
        }
    };
    w.word_bytes(placeholder);
}

/// True when the count at `at` numbers a thread (`Thread-12`, `pool-1-thread-3`,
/// `HttpClient-1-Worker-3`, `ForkJoinPool.commonPool-worker-5`, `http-nio-8080-exec-2`): a
/// runtime names its threads in the order it starts them, so a retry loop that hands each
/// attempt to a new or another pooled thread prints a new number every pass, which is an
/// identifier of the loop's own machinery and never an item of work.
fn thread_name(s: &[u8], at: &std::ops::Range<usize>) -> bool {
    let part = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    let start = at.start - s[..at.start].iter().rev().take_while(|b| part(b)).count();
    let end = at.end + s[at.end..].iter().take_while(|b| part(b)).count();
    let name = &s[start..end];
    name.len() > at.len()
        && name.split(|b| matches!(b, b'-' | b'_' | b'.')).any(|segment| {
            let lower = segment.to_ascii_lowercase();
            ["thread", "worker", "executor"]
                .iter()
                .any(|w| lower.ends_with(w.as_bytes()))
                || lower == b"exec"
        })
}

/// True when the count at `at` is the process id a log line's prefix carries: the same on
/// every line a process prints, new when the process is started again, so an identifier
/// and never a count of work (a crash-restart loop's pids rise from pass to pass). It is
/// `[12345]` right after the line's timestamp (PostgreSQL's `2026-12-03 07:00:00.123 UTC
/// [12345] FATAL:`, gunicorn's `[<ts> +0000] [12345] [INFO]`), a program's `name[1234]:`
/// (syslog's `sshd[1234]:`), or the pid and role letter Redis starts its lines with
/// (`12345:M 03 Dec 2026 07:00:00.123 #`).
fn process_id(s: &[u8], at: &std::ops::Range<usize>, written: &[u8]) -> bool {
    let bracketed = at.start > 0 && s[at.start - 1] == b'[' && s.get(at.end) == Some(&b']');
    if bracketed {
        let after_name = at.start >= 2 && is_alnum(s[at.start - 2]) && s.get(at.end + 1) == Some(&b':');
        return after_name || only_a_timestamp(written);
    }
    let role = s.get(at.end + 1).is_some_and(u8::is_ascii_uppercase) && s.get(at.end + 2) == Some(&b' ');
    written.is_empty() && s.get(at.end) == Some(&b':') && role
}

/// True when the template written so far is a log line's timestamp and nothing else: a
/// `<ts>`, perhaps with its zone (`UTC`, `+0000`) and brackets around it.
fn only_a_timestamp(written: &[u8]) -> bool {
    let mut words = written
        .split(|&b| !(is_alnum(b) || b == b'<' || b == b'>'))
        .filter(|w| !w.is_empty());
    words.next() == Some(b"<ts>")
        && words.all(|w| {
            w == b"<ts>" || w == b"<n>" || (2..=5).contains(&w.len()) && w.iter().all(u8::is_ascii_uppercase)
        })
}

/// Copies a run of letters and digits as written: digits glued after letters belong to a
/// name (`Handler0001`, `sha256`, `worker3`), and differently named things are different
/// work, not one line repeating.
fn word(s: &[u8], i: usize, w: &mut Writer) -> usize {
    let n = s[i..].iter().take_while(|&&b| is_alnum(b)).count();
    let word = &s[i..i + n];
    let usage = is_usage_key(word, w.usage_part, w.eval_part);
    // `total_cost_usd`: the currency between the name and its value.
    let currency = w.usage_context && word.eq_ignore_ascii_case(b"usd");
    w.word_bytes(word);
    w.id_context = is_id_key(word) || is_journal_address(s, i, word);
    w.usage_context = usage || currency;
    w.usage_part = USAGE_PARTS
        .iter()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(word));
    w.eval_part = word.eq_ignore_ascii_case(b"eval");
    w.time_context = is_time_key(word);
    w.in_arguments |= names_arguments(word, &s[i + n..]);
    i + n
}

/// True for a word that opens a call's arguments: one that names them as a key (`args: {`,
/// `"arguments": "{`, not `input_tokens`), or a call's name followed by its first argument
/// named (`get_order(id=1234)`, `read({"id": 7})`).
fn names_arguments(word: &[u8], rest: &[u8]) -> bool {
    wording::opens_named_arguments(rest) || wording::names_arguments_as_key(word, rest)
}

/// The number an id key holds in a call's arguments (`{"id": 3}`, at most nine digits):
/// the row, record or device the call asks for, which a call with other arguments names
/// by another number. A call's own id (`call_8Hq2`, a UUID) has letters in it and a
/// request id outside the arguments is the loop's own stamp: both stay identifiers.
fn asked_for(value: &[u8], in_arguments: bool) -> Option<f64> {
    let digits = in_arguments && (1..=9).contains(&value.len()) && value.iter().all(u8::is_ascii_digit);
    digits.then(|| value.iter().fold(0.0, |n, &d| n * 10.0 + f64::from(d - b'0')))
}

/// First halves of the names model APIs give the tokens of a call (`prompt_tokens`,
/// `input_tokens`, `Output tokens:`, `cache_read_input_tokens`).
const USAGE_PARTS: [&str; 11] = [
    "prompt",
    "completion",
    "input",
    "output",
    "total",
    "cached",
    "cache",
    "reasoning",
    "candidates",
    "eval",
    "load",
];

/// True for a word that names what a model call used, given whether the word before it
/// was one of `USAGE_PARTS`: `tokens` after such a part (`prompt_tokens`, `Input tokens`),
/// the tokens and timings a local model server reports for a call (Ollama's `eval_count`,
/// `prompt_eval_count`, `total_duration`, `eval_duration` in nanoseconds), a camelCase
/// usage name (`inputTokens`, `tokensOut`, `promptTokenCount`), or a cost. The
/// number after it measures the call — it jitters from pass to pass and grows with the
/// conversation in a loop as in real work — so it is masked but never kept: neither a
/// count of work nor a sign that the result changed.
fn is_usage_key(word: &[u8], after_part: bool, after_eval: bool) -> bool {
    let lower: Vec<u8> = word.iter().map(u8::to_ascii_lowercase).collect();
    let lower = lower.as_slice();
    if lower == b"tokens" || lower == b"duration" {
        return after_part;
    }
    if lower == b"count" {
        return after_part && after_eval;
    }
    if lower == b"cost" || lower.ends_with(b"cost") && word.len() > 4 {
        return true;
    }
    let camel_tokens = (lower.starts_with(b"tokens") && word.get(6).is_some_and(u8::is_ascii_uppercase))
        || lower.ends_with(b"tokencount");
    let prefixed = USAGE_PARTS.iter().any(|p| {
        lower.starts_with(p.as_bytes())
            && matches!(
                &lower[p.len()..],
                b"tokens" | b"tokencount" | b"reads" | b"writes"
            )
    });
    camel_tokens || prefixed
}

#[cfg(test)]
mod tests {
    use super::super::slots::MAX_SLOTS;
    use super::*;

    fn template(line: &str) -> String {
        let mut out = Vec::new();
        let mut slots = Slots::default();
        match normalise(line.as_bytes(), &mut out, &mut slots) {
            Some(shape) => {
                assert_eq!(shape.template, fnv1a(&out));
                String::from_utf8_lossy(&out).into_owned()
            }
            None => "<none>".to_string(),
        }
    }

    /// The numbers of a line that may count work (keys left out, fractions as `None`).
    fn numbers(line: &str) -> Vec<Option<f64>> {
        let mut out = Vec::new();
        let mut slots = Slots::default();
        normalise(line.as_bytes(), &mut out, &mut slots);
        (0..slots.len())
            .filter(|&i| slots.kind(i) != Some(SlotKind::Key))
            .map(|i| {
                slots
                    .value(i)
                    .filter(|_| slots.kind(i) != Some(SlotKind::Fraction))
            })
            .collect()
    }

    fn kinds(line: &str) -> Vec<SlotKind> {
        let mut out = Vec::new();
        let mut slots = Slots::default();
        normalise(line.as_bytes(), &mut out, &mut slots);
        (0..slots.len()).filter_map(|i| slots.kind(i)).collect()
    }

    fn shape(line: &str) -> Option<Shape> {
        normalise(line.as_bytes(), &mut Vec::new(), &mut Slots::default())
    }

    #[test]
    fn a_repeat_count_is_masked_and_never_kept() {
        let a = "RERUN src/data.json x1";
        let b = "RERUN src/data.json x12";
        assert_eq!(template(a), template(b));
        assert_eq!(numbers(b), vec![]);
        assert_eq!(
            template("hmr update /src/App.vue (x3)"),
            template("hmr update /src/App.vue (x4)")
        );
        // Names that only begin like one stay words.
        for line in ["target x86_64", "flag x1f", "speed x2.5"] {
            assert!(!template(line).contains("x<n>"), "{line}: {}", template(line));
        }
    }

    #[test]
    fn a_memory_address_is_masked_and_kept_as_no_value() {
        // A re-run prints its objects at new addresses: the line is the same, and no value
        // of it is new. Hex that is no address (a commit, a digest) is still an identifier.
        for (a, b) in [
            (
                "api_client = <starlette.testclient.TestClient object at 0x7f3a2b1c4d50>",
                "api_client = <starlette.testclient.TestClient object at 0x7f09e4c2a8b0>",
            ),
            (
                "main.(*Registry).Register(0xc0001a2b40, {0x9e1c2a, 0x5})",
                "main.(*Registry).Register(0xc000312f00, {0x9e1c2a, 0x5})",
            ),
        ] {
            assert_eq!(template(a), template(b));
            assert_eq!(kinds(a), vec![], "{a}");
        }
        assert_eq!(kinds("HEAD is now at 3f9c2e1b7a fix"), vec![SlotKind::Key]);
    }

    #[test]
    fn the_number_of_a_thread_is_an_identifier() {
        for line in [
            "13:42:20.231 ERROR [Thread-12] c.e.Sync - stock sync failed",
            "13:42:20.208 INFO [pool-1-thread-3] c.e.Sync - fetching stock list",
            r#"Exception in thread "HttpClient-1-Worker-3" java.net.ConnectException"#,
            "[ForkJoinPool.commonPool-worker-5] WARN retry failed",
            "[http-nio-8080-exec-2] ERROR request failed",
            "[2026-12-03 07:00:00,001: ERROR/ForkPoolWorker-7] Task failed",
        ] {
            let kinds = kinds(line);
            assert!(kinds.contains(&SlotKind::Key), "{line}: {kinds:?}");
            assert_eq!(numbers(line), vec![], "{line}: {kinds:?}");
        }
        // Numbered names that are no thread stay names; a count after the word stays a count.
        assert_eq!(kinds("uploaded shard-17 of the index"), vec![SlotKind::Name]);
        assert_eq!(kinds("worker 3 done"), vec![SlotKind::Count]);
    }

    #[test]
    fn the_process_id_of_a_log_prefix_is_an_identifier() {
        for (a, b) in [
            (
                r#"2026-12-03 07:00:00.123 UTC [12345] FATAL:  lock file "postmaster.pid" already exists"#,
                r#"2026-12-03 07:00:01.160 UTC [12351] FATAL:  lock file "postmaster.pid" already exists"#,
            ),
            (
                "12345:M 03 Dec 2026 07:00:00.123 # Failed listening on port 6379 (TCP), aborting.",
                "12377:M 03 Dec 2026 07:00:00.651 # Failed listening on port 6379 (TCP), aborting.",
            ),
            (
                "[2026-12-03 07:00:00 +0000] [4170] [INFO] Starting gunicorn 23.0.0",
                "[2026-12-03 07:00:01 +0000] [4178] [INFO] Starting gunicorn 23.0.0",
            ),
            (
                "Dec  3 07:00:00 build-7 sshd[1234]: Connection closed",
                "Dec  3 07:00:01 build-7 sshd[1240]: Connection closed",
            ),
        ] {
            assert_eq!(template(a), template(b));
            assert_eq!(kinds(a).first(), kinds(b).first());
            assert!(
                kinds(a).contains(&SlotKind::Key) && numbers(a).len() + 1 == kinds(a).len(),
                "{a}: {:?}",
                kinds(a)
            );
        }
        // Counts that are no process's id stay counts.
        for line in [
            "epoch [3] loss 0.31",
            "07:00:00 processed [120] rows",
            "12:5  error  'x' is never used",
            "3:M",
            "[4170] [INFO] ready",
        ] {
            assert!(!kinds(line).contains(&SlotKind::Key), "{line}: {:?}", kinds(line));
        }
    }

    #[test]
    fn a_random_call_id_without_a_digit_is_still_an_identifier() {
        // OpenAI's call ids are `call_` and 24 random letters and digits; about one in 70
        // has no digit at all.
        let with =
            r#"{"type": "function_call_output", "call_id": "call_aqgQwolbjBQfv0PDd25EpeEi", "output": "[]"}"#;
        let without =
            r#"{"type": "function_call_output", "call_id": "call_HWFroASiSJQgbMJWmnmzLcPi", "output": "[]"}"#;
        assert_eq!(template(with), template(without));
        assert_eq!(
            template("Call ID: call_HWFroASiSJQgbMJWmnmzLcPi"),
            "Call ID: <id>"
        );
        // Names after an id key stay words.
        for line in [
            r#"{"id": "search_issues"}"#,
            "id: main",
            r#"{"id": "IntegrationTests"}"#,
        ] {
            assert!(!template(line).contains("<id>"), "{line}: {}", template(line));
        }
    }

    #[test]
    fn journal_cursors_and_sequence_numbers_are_identifiers() {
        let a = r#"{"__CURSOR":"s=739ad4;i=4ece7;b=9f0c;m=1a2b;t=5f3c;x=77aa","__SEQNUM":"318712","MESSAGE":"Started api.service"}"#;
        let b = r#"{"__CURSOR":"s=739ad4;i=4ece8;b=9f0c;m=1a3c;t=5f4d;x=1290","__SEQNUM":"318713","MESSAGE":"Started api.service"}"#;
        assert_eq!(template(a), template(b));
        assert_eq!(numbers(a), Vec::<Option<f64>>::new(), "{}", template(a));
        assert_eq!(kinds(a), vec![SlotKind::Key, SlotKind::Key]);
    }

    #[test]
    #[rustfmt::skip]
    fn examples_become_their_templates() {
        let table = [
            ("retry 7 failed", "retry <n> failed"),
            ("x=-5 y=+3.25 z=1e-5", "x=<n> y=<n> z=<n>"),
            ("2024-01-02T03:04:05.123Z ERROR attempt 3", "<ts> ERROR attempt <n>"),
            ("2024-01-02 03:04:05,123 - app - INFO - ok", "<ts> - app - INFO - ok"),
            ("Nov 28 17:58:01 host sshd[1234]: denied", "Nov <n> <ts> host sshd[<n>]: denied"),
            (r#"10.0.0.5 - - [28/Nov/2024:17:58:01 +0000] "GET /api/users/123 HTTP/1.1" 200 512"#,
             r#"<ip> - - [<ts> <n>] "GET /api/users/<n> HTTP/<n>" <n> <n>"#),
            ("connect [::1]:8080 refused", "connect [<ip>]:<n> refused"),
            ("from 192.168.1.20:51234", "from <ip>"),
            ("call=550e8400-e29b-41d4-a716-446655440000 ok", "call=<uuid> ok"),
            ("ptr 0x7ffd1234 blob a3f9c2e1b7", "ptr <hex> blob <hex>"),
            ("epoch 1712345678 ms 1712345678123", "epoch <ts> ms <ts>"),
            (
                r#"{"__REALTIME_TIMESTAMP":"1796214908748324","__MONOTONIC_TIMESTAMP":"5186900000","ns":1796214908748324123}"#,
                r#"{"_REALTIME_TIMESTAMP":"<ts>","_MONOTONIC_TIMESTAMP":"<ts>","ns":<ts>}"#,
            ),
            ("took 12ms, then 1.5s, then 3 m", "took <dur>, then <dur>, then <n> m"),
            ("waited 250 ms (1m30s total)", "waited <dur> (<dur> total)"),
            ("processed 450/1000 (45.0 %)", "processed <n>/<n> (<n>%)"),
            (" 45%|████▌     | 450/1000 [00:04<00:05, 99.5it/s]", "<n>%|█ | <n>/<n> [<ts><<ts>, <n>it/s]"),
            (" 46%|████▋     | 460/1000 [00:04<00:05, 99.5it/s]", "<n>%|█ | <n>/<n> [<ts><<ts>, <n>it/s]"),
            ("   ━━━━━━━━━━━━━╸                  265.1/779.1 MB 101.1 MB/s eta 0:00:05",
             "━ <n>/<n> MB <n> MB/s eta <ts>"),
            ("   ━━━━━━━━━━━━━                   257.3/779.1 MB 91.5 MB/s eta 0:00:05",
             "━ <n>/<n> MB <n> MB/s eta <ts>"),
            ("├── src/main.rs", "├─ src/main.rs"),
            ("[=====>      ] 12%", "[=> ] <n>%"),
            ("epoch 3/10 step 1200 loss=0.3142", "epoch <n>/<n> step <n> loss=<n>"),
            ("worker-3 wrote /tmp/run-17/part_004.csv", "worker-<n> wrote /tmp/run-<n>/part_<n>.csv"),
            (r#"{"request_id": "req_k3J9xQ2mP", "user": "AbC9xZ"}"#,
             r#"{"request_id": "<id>", "user": "<id>"}"#),
            ("GET /x req=8f3a traceId=77 (pid 4242) id missing",
             "GET /x req=<id> traceId=<id> (pid <id>) id missing"),
            ("session expired; key=user-17.", "session expired; key=<id>."),
            ("session k3J9xQ2mPz", "session <id>"),
            ("valid 12 paid 100", "valid <n> paid <n>"),
            ("   lots    of\tspace   ", "lots of space"),
            ("Compiling serde v1.0.229", "Compiling serde v1.<n>"),
            ("loading org.acme.Handler0007 ok", "loading org.acme.Handler0007 ok"),
            ("version 1.2.3 built", "version <ver> built"),
            ("payload 450MB of 2GB", "payload <n>MB of <n>GB"),
            ("big 123456789012345678 number", "big <id> number"),
            ("......F....", ".F."),
            ("-----", "<none>"),
            ("", "<none>"),
            ("⠋", "<none>"),
            ("42", "<n>"),
        ];
        for (line, expected) in table {
            assert_eq!(template(line), expected, "template of {line:?}");
        }
    }

    #[test]
    fn loop_passes_share_one_template() {
        let a = template("2024-05-01T10:00:00Z WARN retry 1 for req a3f9c2e1 failed after 12ms");
        let b = template("2024-05-01T10:00:07Z WARN retry 9 for req 77b0d4e2 failed after 430ms");
        assert_eq!(a, b);
        let a = template("agent step 550e8400-e29b-41d4-a716-446655440000: calling tool search");
        let b = template("agent step 6ba7b810-9dad-11d1-80b4-00c04fd430c8: calling tool search");
        assert_eq!(a, b);
    }

    #[test]
    fn distinct_work_keeps_distinct_templates() {
        assert_ne!(
            template("Compiling serde v1.0.229"),
            template("Compiling libc v0.2.150")
        );
        assert_ne!(
            template("GET /api/users/1 200"),
            template("POST /api/orders/1 201")
        );
    }

    #[test]
    fn plain_numbers_are_remembered_but_not_times_or_ids() {
        assert_eq!(
            numbers("2024-01-02T03:04:05Z step 1200 loss=0.31"),
            vec![Some(1200.0), None]
        );
        assert_eq!(
            numbers("processed 450/1000 (45 %)"),
            vec![Some(450.0), Some(1000.0), Some(45.0)]
        );
        assert_eq!(
            numbers("took 12ms id a3f9c2e1b7 at 10.0.0.1"),
            Vec::<Option<f64>>::new()
        );
        assert_eq!(numbers("worker3 item 9"), vec![Some(9.0)], "worker3 is a name");
        assert_eq!(numbers("1 2 3 4 5 6 7 8 9 10").len(), MAX_SLOTS);
        assert_eq!(
            numbers("downloaded 45.2 MB of 80.0 MB"),
            vec![Some(45.2), Some(80.0)]
        );
    }

    #[test]
    fn identifiers_are_kept_as_keys() {
        use SlotKind::*;
        assert_eq!(
            kinds("[pid 4242] processed 12/100"),
            vec![Key, RatioDone, RatioTotal]
        );
        assert_eq!(
            kinds("cc -c src/module_17.c /users/9 step 3 10-20"),
            vec![Name, Name, Count, Count, Count]
        );
        assert_eq!(
            kinds("Downloading boto3-1.44.8-py3-none-any.whl (140 kB)"),
            vec![Name, Count],
            "a version is a name"
        );
        assert_eq!(
            kinds("req a3f9c2e1 uuid 550e8400-e29b-41d4-a716-446655440000"),
            vec![Key, Key]
        );
        let key = |line: &str| {
            let (mut out, mut slots) = (Vec::new(), Slots::default());
            normalise(line.as_bytes(), &mut out, &mut slots);
            slots.value(0)
        };
        assert_eq!(key("worker a3f9c2e1 step"), key("worker a3f9c2e1 step"));
        assert_ne!(key("worker a3f9c2e1 step"), key("worker b3f9c2e1 step"));
    }

    #[test]
    fn what_a_model_call_used_is_masked_but_not_kept() {
        let table = [
            (
                r#"{"usage": {"prompt_tokens": 1012, "completion_tokens": 41, "total_tokens": 1053}}"#,
                vec![],
            ),
            (
                "[Step 3: Duration 2.41 seconds| Input tokens: 8,412 | Output tokens: 391]",
                vec![Some(3.0)],
            ),
            (
                r#"{"tokensIn": 4, "tokensOut": 188, "cacheReads": 24100, "cost": 0.0131}"#,
                vec![],
            ),
            (
                r#"{"promptTokenCount": 310, "totalTokenCount": 355, "total_cost_usd": 0.41}"#,
                vec![],
            ),
            (
                r#"{"input_tokens": 9, "cache_read_input_tokens": 18641, "page": 2}"#,
                vec![Some(2.0)],
            ),
            (
                r#"{"done": true, "total_duration": 1259950510, "prompt_eval_count": 903, "eval_count": 37, "eval_duration": 869829411, "page": 4}"#,
                vec![Some(4.0)],
            ),
            (
                r#"{"done": true, "total_duration": 959950510, "prompt_eval_count": 973, "eval_count": 41, "eval_duration": 1069829411, "page": 4}"#,
                vec![Some(4.0)],
            ),
            // Tokens as the unit of work stay counts: a tokenizer's progress, a token budget.
            (
                "tokenized 1200 docs, 882000 tokens so far",
                vec![Some(1200.0), Some(882000.0)],
            ),
            ("tokens 12582912 step 300", vec![Some(12_582_912.0), Some(300.0)]),
        ];
        for (line, expected) in table {
            assert_eq!(numbers(line), expected, "{line}");
        }
        assert_eq!(
            template("Input tokens: 8,412 | Output tokens: 391"),
            template("Input tokens: 9,977 | Output tokens: 402")
        );
        // A call's timing in nanoseconds, ten digits on one pass and nine on the next.
        assert_eq!(
            template(r#"{"total_duration": 1259950510, "eval_count": 37}"#),
            template(r#"{"total_duration": 959950510, "eval_count": 41}"#)
        );
    }

    #[test]
    fn an_id_in_a_calls_arguments_names_what_it_asks_for() {
        let line = r#"INFO:semantic_kernel.kernel:Calling Lights-change_state function with args: {"id": 3, "is_on": false}"#;
        assert_eq!(kinds(line), vec![SlotKind::Name]);
        assert_eq!(numbers(line), vec![Some(3.0)]);
        assert_eq!(template(line), template(&line.replace("\"id\": 3", "\"id\": 4")));
        // A call's own id, and an id outside the arguments, stay identifiers.
        assert_eq!(
            kinds(r#"{"id": "call_8Hq2x", "name": "search", "arguments": "{\"q\": \"acme\"}"}"#),
            vec![SlotKind::Key]
        );
        assert_eq!(
            kinds(r#"request id: 48213 failed, args: {"q": "acme"}"#),
            vec![SlotKind::Key]
        );
        assert_eq!(
            kinds(r#"args: {"id": "8f2c9e1a-77d0-4c1e-9a51-2f0c1d9b7e44"}"#),
            vec![SlotKind::Key]
        );
        // A call written out with its arguments named opens them too; a pid before a call
        // with positional arguments stays an identifier.
        assert_eq!(
            kinds("Calling get_order(id=1234, expand=True)"),
            vec![SlotKind::Name]
        );
        assert_eq!(kinds("pid=4821 get_order(x) failed"), vec![SlotKind::Key]);
        // A usage line's `input_tokens` names no arguments.
        assert_eq!(
            kinds(r#"{"usage": {"input_tokens": 12}, "request": {"id": 4821}}"#),
            vec![SlotKind::Key]
        );
    }

    #[test]
    fn spinner_frames_share_a_skeleton_not_a_template() {
        let (a, b) = (
            shape("⠋ reify: fetching lodash"),
            shape("⠙ reify: fetching lodash"),
        );
        let (a, b) = (a.expect("content"), b.expect("content"));
        assert_ne!(a.template, b.template);
        assert_eq!(a.skeleton, b.skeleton);
        let c = shape("⠙ reify: fetching esbuild").expect("content");
        assert_ne!(a.skeleton, c.skeleton);
    }

    #[test]
    fn odd_bytes_are_symbols_not_crashes() {
        assert_eq!(template("a\u{fffd}\u{fffd}b"), "a\u{fffd}b");
        let mut out = Vec::new();
        let mut slots = Slots::default();
        assert!(normalise(b"ok \xff\xfe \xe2\x96", &mut out, &mut slots).is_some());
        assert!(normalise(b"\xf0", &mut out, &mut slots).is_none());
    }

    #[test]
    fn an_empty_value_alone_is_a_result_not_decoration() {
        let mut out = Vec::new();
        let mut slots = Slots::default();
        for line in ["[]", "  {} ", "\"\""] {
            assert!(
                normalise(line.as_bytes(), &mut out, &mut slots).is_some(),
                "{line}"
            );
        }
        for line in ["-----", "[ ]", "[]:", "..."] {
            assert!(
                normalise(line.as_bytes(), &mut out, &mut slots).is_none(),
                "{line}"
            );
        }
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
