//! Line → template: the masked shape of a line that stays the same on every pass of a loop.
//!
//! Loop detection compares lines by their template, not their bytes. The scanner walks the
//! stripped line once, left to right. At each word boundary it tries the recognisers in
//! `tokens` in a fixed order (UUID, hex, time, address, random id, number), so the most
//! specific shape wins: `2024-01-02` is a date before it is three numbers, `10.0.0.1` an
//! address before it is a version. Whatever matches becomes a placeholder (`<ts>`, `<n>`,
//! ...); letters are kept; digits inside words (`worker3`, `/users/123`) become `<n>`; runs
//! of whitespace collapse to one space and runs of the same symbol to one (`=====>` → `=>`),
//! so a growing progress bar keeps one template.
//!
//! Plain numbers are also kept, in order, in `Slots` (at most `MAX_SLOTS`): a template that
//! repeats while one of its counters advances is progress, not a loop. Times, durations, ids
//! and addresses are masked but never recorded, because they change in loops too.
//!
//! The template text goes into a caller-owned buffer (reused, so a line costs no allocation)
//! and is hashed with FNV-1a. A line with no letters, digits or placeholders (a separator,
//! a lone spinner frame, the test runner's dots) has no template: it is decoration.

use super::tokens::{self, is_alnum, Num, Token};

/// How many numbers of a line are remembered for progress.
pub const MAX_SLOTS: usize = 6;

/// Template text is cut here (about three times the scanned prefix at worst).
pub const TEMPLATE_LIMIT: usize = 3 * super::text::SCAN_LIMIT;

/// How a remembered number was written. Only `Fraction` can never show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    Count,
    Fraction,
    Percent,
    RatioDone,
    RatioTotal,
}

/// The plain numbers of one line, in order of appearance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slots {
    len: usize,
    kinds: [SlotKind; MAX_SLOTS],
    values: [f64; MAX_SLOTS],
}

impl Default for Slots {
    fn default() -> Slots {
        Slots { len: 0, kinds: [SlotKind::Count; MAX_SLOTS], values: [0.0; MAX_SLOTS] }
    }
}

impl Slots {
    pub fn clear(&mut self) {
        self.len = 0;
    }

    fn push(&mut self, kind: SlotKind, value: f64) {
        if self.len < MAX_SLOTS && value.is_finite() {
            self.kinds[self.len] = kind;
            self.values[self.len] = value;
            self.len += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The value of slot `i` if it can show progress (not a fraction), else `None`.
    pub fn progress_value(&self, i: usize) -> Option<f64> {
        (i < self.len && self.kinds[i] != SlotKind::Fraction).then(|| self.values[i])
    }
}

/// FNV-1a, 64 bit: fast, good enough to tell templates apart, no dependency.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Start of the last symbol written, for collapsing runs of the same symbol.
    last_symbol: Option<usize>,
    pending_space: bool,
    has_content: bool,
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
        self.out.extend_from_slice(bytes);
        self.last_symbol = None;
        self.has_content = true;
    }

    fn symbol(&mut self, bytes: &[u8]) {
        self.space_if_pending();
        if let Some(start) = self.last_symbol {
            if &self.out[start..] == bytes {
                return;
            }
        }
        self.last_symbol = Some(self.out.len());
        self.out.extend_from_slice(bytes);
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
/// into `slots`. Returns the template hash, or `None` for a line without content.
pub fn normalise(text: &[u8], out: &mut Vec<u8>, slots: &mut Slots) -> Option<u64> {
    out.clear();
    slots.clear();
    let mut w = Writer { out, last_symbol: None, pending_space: false, has_content: false };
    let mut i = 0;
    while i < text.len() && w.out.len() < TEMPLATE_LIMIT {
        let b = text[i];
        if b.is_ascii_whitespace() {
            w.pending_space = true;
            i += 1;
            continue;
        }
        let at_boundary = i == 0 || !is_alnum(text[i - 1]);
        if at_boundary {
            if let Some(end) = masked(text, i, &mut w, slots) {
                i = end;
                continue;
            }
        }
        if is_alnum(b) {
            i = word(text, i, &mut w, slots);
        } else {
            let n = char_len(b).min(text.len() - i);
            w.symbol(&text[i..i + n]);
            i += n;
        }
    }
    let has_content = w.has_content;
    has_content.then(|| fnv1a(out))
}

/// Tries the recognisers at a boundary; on a match writes the placeholder and returns the
/// end of the match.
fn masked(s: &[u8], i: usize, w: &mut Writer, slots: &mut Slots) -> Option<usize> {
    let b = s[i];
    let signed = matches!(b, b'+' | b'-') && s.get(i + 1).is_some_and(u8::is_ascii_digit);
    let colon_pair = b == b':' && s.get(i + 1) == Some(&b':');
    if !(is_alnum(b) || signed || colon_pair) {
        return None;
    }
    let quoted = i > 0 && matches!(s[i - 1], b'"' | b'\'') && {
        let n = s[i..].iter().take_while(|&&c| is_alnum(c)).count();
        s.get(i + n) == Some(&s[i - 1])
    };
    let (end, token) = if signed {
        tokens::number(s, i)?
    } else if let Some(end) = tokens::uuid(s, i) {
        (end, Token::Uuid)
    } else if let Some(end) = tokens::hex(s, i) {
        (end, Token::Hex)
    } else if let Some(end) = tokens::time(s, i) {
        (end, Token::Time)
    } else if let Some(end) = tokens::ip(s, i) {
        (end, Token::Ip)
    } else if let Some(end) = tokens::id(s, i, quoted) {
        (end, Token::Id)
    } else {
        tokens::number(s, i)?
    };
    emit(token, w, slots);
    Some(end)
}

/// Writes the placeholder for `token`, recording plain numbers in `slots`.
fn emit(token: Token, w: &mut Writer, slots: &mut Slots) {
    let placeholder: &[u8] = match token {
        Token::Uuid => b"<uuid>",
        Token::Hex => b"<hex>",
        Token::Time => b"<ts>",
        Token::Ip => b"<ip>",
        Token::Id => b"<id>",
        Token::Duration => b"<dur>",
        Token::Version => b"<ver>",
        Token::Num(Num::Count(v)) => {
            slots.push(SlotKind::Count, v);
            b"<n>"
        }
        Token::Num(Num::Fraction(v)) => {
            slots.push(SlotKind::Fraction, v);
            b"<n>"
        }
        Token::Num(Num::Percent(v)) => {
            slots.push(SlotKind::Percent, v);
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

/// Copies a run of letters and digits; a digit run inside it (`worker3`, `v1.2.3`, `64bit`)
/// is masked like a number that starts a word.
fn word(s: &[u8], mut i: usize, w: &mut Writer, slots: &mut Slots) -> usize {
    while i < s.len() && is_alnum(s[i]) {
        let start = i;
        if s[i].is_ascii_digit() {
            if let Some((end, token)) = tokens::number(s, i) {
                emit(token, w, slots);
                i = end;
                continue;
            }
            // A digit run glued to letters on both sides that no recogniser accepts.
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            w.word_bytes(b"<n>");
        } else {
            while i < s.len() && s[i].is_ascii_alphabetic() {
                i += 1;
            }
            w.word_bytes(&s[start..i]);
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(line: &str) -> String {
        let mut out = Vec::new();
        let mut slots = Slots::default();
        match normalise(line.as_bytes(), &mut out, &mut slots) {
            Some(hash) => {
                assert_eq!(hash, fnv1a(&out));
                String::from_utf8_lossy(&out).into_owned()
            }
            None => "<none>".to_string(),
        }
    }

    fn numbers(line: &str) -> Vec<Option<f64>> {
        let mut out = Vec::new();
        let mut slots = Slots::default();
        normalise(line.as_bytes(), &mut out, &mut slots);
        (0..slots.len()).map(|i| slots.progress_value(i)).collect()
    }

    #[test]
    fn examples_become_their_templates() {
        let table = [
            ("retry 7 failed", "retry <n> failed"),
            ("x=-5 y=+3.25 z=1e-5", "x=<n> y=<n> z=<n>"),
            ("2024-01-02T03:04:05.123Z ERROR attempt 3", "<ts> ERROR attempt <n>"),
            ("2024-01-02 03:04:05,123 - app - INFO - ok", "<ts> - app - INFO - ok"),
            ("Nov 28 17:58:01 host sshd[1234]: denied", "Nov <n> <ts> host sshd[<n>]: denied"),
            (
                r#"10.0.0.5 - - [28/Nov/2024:17:58:01 +0000] "GET /api/users/123 HTTP/1.1" 200 512"#,
                r#"<ip> - - [<ts> <n>] "GET /api/users/<n> HTTP/<n>" <n> <n>"#,
            ),
            ("connect [::1]:8080 refused", "connect [<ip>]:<n> refused"),
            ("from 192.168.1.20:51234", "from <ip>"),
            ("id=550e8400-e29b-41d4-a716-446655440000 ok", "id=<uuid> ok"),
            ("ptr 0x7ffd1234 sha a3f9c2e1b7", "ptr <hex> sha <hex>"),
            ("epoch 1712345678 ms 1712345678123", "epoch <ts> ms <ts>"),
            ("took 12ms, then 1.5s, then 3 m", "took <dur>, then <dur>, then <n> m"),
            ("waited 250 ms (1m30s total)", "waited <dur> (<dur> total)"),
            ("processed 450/1000 (45.0 %)", "processed <n>/<n> (<n>%)"),
            (" 45%|████▌     | 450/1000 [00:04<00:05, 99.5it/s]", "<n>%|█▌ | <n>/<n> [<ts><<ts>, <n>it/s]"),
            ("[=====>      ] 12%", "[=> ] <n>%"),
            ("epoch 3/10 step 1200 loss=0.3142", "epoch <n>/<n> step <n> loss=<n>"),
            ("worker-3 wrote /tmp/run-17/part_004.csv", "worker-<n> wrote /tmp/run-<n>/part_<n>.csv"),
            (r#"{"request_id": "req_k3J9xQ2mP", "user": "AbC9xZ"}"#, r#"{"request_id": "req_<id>", "user": "<id>"}"#),
            ("   lots    of\tspace   ", "lots of space"),
            ("Compiling serde v1.0.229", "Compiling serde v<ver>"),
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
        assert_ne!(template("Compiling serde v1.0.229"), template("Compiling libc v0.2.150"));
        assert_ne!(template("GET /api/users/1 200"), template("POST /api/orders/1 201"));
    }

    #[test]
    fn plain_numbers_are_remembered_but_not_times_or_ids() {
        assert_eq!(numbers("2024-01-02T03:04:05Z step 1200 loss=0.31"), vec![Some(1200.0), None]);
        assert_eq!(numbers("processed 450/1000 (45 %)"), vec![Some(450.0), Some(1000.0), Some(45.0)]);
        assert_eq!(numbers("took 12ms id a3f9c2e1b7 at 10.0.0.1"), Vec::<Option<f64>>::new());
        assert_eq!(numbers("worker3 item 9"), vec![Some(3.0), Some(9.0)]);
        assert_eq!(numbers("1 2 3 4 5 6 7 8").len(), MAX_SLOTS);
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
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
