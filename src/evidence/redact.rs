//! Redaction: secrets are replaced by `[REDACTED:kind]` before any text is stored or
//! printed in a reason.
//!
//! Agent and CI output is full of credentials: a `curl -H "Authorization: Bearer …"` in a
//! retry loop, a token in argv, a `.env` dumped by a debug print. The evidence store keeps
//! excerpts of that output and the command line for as long as the user keeps runs, and
//! exports travel, so the one place to stop a leak is before the bytes leave memory. Every
//! event passes through [`redact_event`] in `Recorder::record`, the command line through
//! [`redact_argv`] before the run's row is written, and the excerpt of a loop through a
//! [`Redactor`] fed its lines in order. The child's own output to the terminal is never
//! touched: only copies are redacted.
//!
//! Why a hand-written scanner and not a regex set: the rules are few and anchored (a fixed
//! prefix, a `key=`/`key:` before a value, `://user:pass@`, a PEM header), and a single
//! left-to-right pass over the bytes handles them all in linear time with no dependency and
//! no pathological pattern. A rule only starts where its first byte is seen at a word
//! boundary, or (for `key=value` and `--flag value`) at the separator, looking back at most
//! [`MAX_KEY`] bytes; a failed attempt costs at most the length of what it looked at, and
//! the scan never revisits a byte it has copied. The redactor works on lines, never on
//! reads: a secret split across two reads of a pipe is whole again in the line splitter
//! before it gets here. PEM private keys span lines, so a [`Redactor`] carries one bit of
//! state from line to line: inside a `BEGIN … PRIVATE KEY` block, every line is redacted
//! until its `END` line.
//!
//! The bias is deliberate: a false positive costs a word of evidence, a false negative
//! leaks a credential. Near misses that must survive are in the tests: git SHAs, UUIDs,
//! base64 test data, "password reset email sent", `max_tokens: 4096`.

use serde_json::Value;
use std::borrow::Cow;

use super::event::Event;

/// The longest key (`client_secret`, `--api-token`, `X-Api-Key`) looked back at.
const MAX_KEY: usize = 64;
/// The longest value, token or URL userinfo a rule reads.
const MAX_VALUE: usize = 4096;

/// Key names, lowercased with `-`, `_` and `.` removed, whose value is a secret, by the
/// suffix the key ends with, and the kind named in the replacement.
const SENSITIVE_KEYS: &[(&str, &str)] = &[
    ("password", "password"),
    ("passwd", "password"),
    ("passphrase", "password"),
    ("pwd", "password"),
    ("secretaccesskey", "aws_secret_key"),
    ("clientsecret", "secret"),
    ("secretkey", "secret"),
    ("secret", "secret"),
    ("token", "token"),
    ("apikey", "api_key"),
    ("accesskey", "api_key"),
    ("privatekey", "private_key"),
    ("credentials", "credentials"),
    ("credential", "credentials"),
    ("authorization", "authorization"),
    ("cookie", "cookie"),
];

/// Fixed prefixes of well-known token formats: the prefix, the bytes allowed after it, the
/// fewest of them a real token has, and the kind.
struct Prefixed {
    prefix: &'static [u8],
    body: fn(u8) -> bool,
    min_body: usize,
    kind: &'static str,
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn alnum_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

const PREFIXED: &[Prefixed] = &[
    Prefixed {
        prefix: b"github_pat_",
        body: alnum_underscore,
        min_body: 22,
        kind: "github_token",
    },
    Prefixed {
        prefix: b"ghp_",
        body: alnum,
        min_body: 30,
        kind: "github_token",
    },
    Prefixed {
        prefix: b"gho_",
        body: alnum,
        min_body: 30,
        kind: "github_token",
    },
    Prefixed {
        prefix: b"ghu_",
        body: alnum,
        min_body: 30,
        kind: "github_token",
    },
    Prefixed {
        prefix: b"ghs_",
        body: alnum,
        min_body: 30,
        kind: "github_token",
    },
    Prefixed {
        prefix: b"ghr_",
        body: alnum,
        min_body: 30,
        kind: "github_token",
    },
    Prefixed {
        prefix: b"glpat-",
        body: url_safe,
        min_body: 20,
        kind: "gitlab_token",
    },
    Prefixed {
        prefix: b"xoxb-",
        body: url_safe,
        min_body: 10,
        kind: "slack_token",
    },
    Prefixed {
        prefix: b"xoxp-",
        body: url_safe,
        min_body: 10,
        kind: "slack_token",
    },
    Prefixed {
        prefix: b"xoxa-",
        body: url_safe,
        min_body: 10,
        kind: "slack_token",
    },
    Prefixed {
        prefix: b"xoxr-",
        body: url_safe,
        min_body: 10,
        kind: "slack_token",
    },
    Prefixed {
        prefix: b"xoxs-",
        body: url_safe,
        min_body: 10,
        kind: "slack_token",
    },
    Prefixed {
        prefix: b"xoxe-",
        body: url_safe,
        min_body: 10,
        kind: "slack_token",
    },
    Prefixed {
        prefix: b"sk_live_",
        body: alnum,
        min_body: 16,
        kind: "stripe_key",
    },
    Prefixed {
        prefix: b"sk_test_",
        body: alnum,
        min_body: 16,
        kind: "stripe_key",
    },
    Prefixed {
        prefix: b"rk_live_",
        body: alnum,
        min_body: 16,
        kind: "stripe_key",
    },
    Prefixed {
        prefix: b"rk_test_",
        body: alnum,
        min_body: 16,
        kind: "stripe_key",
    },
    Prefixed {
        prefix: b"whsec_",
        body: alnum,
        min_body: 16,
        kind: "stripe_key",
    },
    Prefixed {
        prefix: b"sk-ant-",
        body: url_safe,
        min_body: 20,
        kind: "anthropic_key",
    },
    Prefixed {
        prefix: b"sk-",
        body: url_safe,
        min_body: 20,
        kind: "openai_key",
    },
    Prefixed {
        prefix: b"AIza",
        body: url_safe,
        min_body: 35,
        kind: "gcp_api_key",
    },
];

/// The four-letter prefixes of AWS access key ids (user, temporary, role, group, ...).
const AWS_KEY_PREFIXES: &[&[u8]] = &[
    b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"AGPA", b"AIDA", b"AIPA", b"ANPA", b"ANVA", b"AROA", b"APKA",
];

/// Redacts a sequence of lines, carrying the PEM-block state from one to the next.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    in_private_key: bool,
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// One line (no line end inside). Borrowed when nothing was redacted.
    pub fn line<'a>(&mut self, line: &'a str) -> Cow<'a, str> {
        let bytes = line.as_bytes();
        let mut out = Scan::new(line);
        let mut i = 0;
        if self.in_private_key {
            match find_pem_end(bytes, 0) {
                Some(end) => {
                    self.in_private_key = false;
                    out.replace(0, end, "private_key");
                    i = end;
                }
                None => {
                    out.replace(0, bytes.len(), "private_key");
                    return out.finish();
                }
            }
        }
        while i < bytes.len() {
            let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
            match self.rule_at(bytes, i, boundary, out.copied) {
                Some(Hit { start, end, kind }) => {
                    out.replace(start, end, kind);
                    i = end.max(i + 1);
                }
                None => i += 1,
            }
        }
        out.finish()
    }

    /// A text that may hold several lines (a message, a multi-line argument).
    pub fn text<'a>(&mut self, text: &'a str) -> Cow<'a, str> {
        if !text.contains('\n') {
            return self.line(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        for (n, line) in text.split('\n').enumerate() {
            if n > 0 {
                out.push('\n');
            }
            let redacted = self.line(line);
            changed |= matches!(redacted, Cow::Owned(_));
            out.push_str(&redacted);
        }
        if changed {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// The rule that matches at `i`, if any; `copied` is where the output's verbatim copy
    /// has reached, so a look-back never reaches into a redaction.
    fn rule_at(&mut self, bytes: &[u8], i: usize, boundary: bool, copied: usize) -> Option<Hit> {
        match bytes[i] {
            b'=' => key_value(bytes, i, copied),
            b':' => url_credentials(bytes, i).or_else(|| key_value(bytes, i, copied)),
            b'-' if bytes[i..].starts_with(b"-----BEGIN ") => self.pem_begin(bytes, i),
            b'-' if boundary && bytes[i..].starts_with(b"--") => flag_value(bytes, i),
            b'b' | b'B' if boundary => bearer(bytes, i),
            b'e' if boundary => jwt(bytes, i),
            b'A' if boundary => aws_key_id(bytes, i).or_else(|| prefixed(bytes, i)),
            b'h' if boundary => slack_webhook(bytes, i),
            b'g' | b'x' | b's' | b'r' | b'w' if boundary => prefixed(bytes, i),
            _ => None,
        }
    }

    fn pem_begin(&mut self, bytes: &[u8], i: usize) -> Option<Hit> {
        let label_start = i + b"-----BEGIN ".len();
        let label_len = bytes[label_start..]
            .windows(5)
            .take(MAX_KEY)
            .position(|w| w == b"-----")?;
        let label = &bytes[label_start..label_start + label_len];
        if !label.windows(b"PRIVATE KEY".len()).any(|w| w == b"PRIVATE KEY") {
            return None;
        }
        let after_header = label_start + label_len + 5;
        match find_pem_end(bytes, after_header) {
            Some(end) => Some(Hit::new(i, end, "private_key")),
            None => {
                self.in_private_key = true;
                Some(Hit::new(i, bytes.len(), "private_key"))
            }
        }
    }
}

/// A text redacted on its own (a message, one argument).
pub fn redact(text: &str) -> Cow<'_, str> {
    Redactor::new().text(text)
}

/// The command line: each element redacted, and the element after a secret-carrying flag
/// (`--token VALUE`, `--password VALUE`) replaced whole.
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut redactor = Redactor::new();
    let mut value_is_secret = false;
    for arg in argv {
        if std::mem::take(&mut value_is_secret) {
            out.push(format!(
                "[REDACTED:{}]",
                flag_kind(out.last().map_or("", String::as_str))
            ));
            continue;
        }
        value_is_secret = arg.starts_with('-') && !arg.contains('=') && sensitive(arg.as_bytes()).is_some();
        out.push(redactor.text(arg).into_owned());
    }
    out
}

fn flag_kind(flag: &str) -> &'static str {
    sensitive(flag.as_bytes()).unwrap_or("secret")
}

/// Redacts the message and every string inside the payload of `event`, in place.
pub fn redact_event(event: &mut Event) {
    if let Cow::Owned(message) = redact(&event.message) {
        event.message = message;
    }
    redact_value(&mut event.payload, &mut Redactor::new());
}

/// Every string of a JSON value, in document order, through one redactor (so an array of
/// excerpt lines keeps its PEM state from line to line).
pub fn redact_value(value: &mut Value, redactor: &mut Redactor) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(redacted) = redactor.text(text) {
                *text = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, redactor)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_value(v, redactor)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A span of the line to replace by `[REDACTED:kind]`.
struct Hit {
    start: usize,
    end: usize,
    kind: &'static str,
}

impl Hit {
    fn new(start: usize, end: usize, kind: &'static str) -> Hit {
        Hit { start, end, kind }
    }
}

/// The output of one line: copied verbatim up to `copied`, replacements appended.
struct Scan<'a> {
    line: &'a str,
    out: Option<String>,
    copied: usize,
}

impl<'a> Scan<'a> {
    fn new(line: &'a str) -> Scan<'a> {
        Scan {
            line,
            out: None,
            copied: 0,
        }
    }

    fn replace(&mut self, start: usize, mut end: usize, kind: &str) {
        let line = self.line;
        while end < line.len() && !line.is_char_boundary(end) {
            end += 1; // a token cut at its length cap may stop inside a character
        }
        let out = self.out.get_or_insert_with(|| String::with_capacity(line.len()));
        // Rules only cut at ASCII bytes, so both ends are character boundaries; `get`
        // keeps that an invariant rather than a panic.
        if let Some(kept) = line.get(self.copied..start) {
            out.push_str(kept);
        }
        out.push_str("[REDACTED:");
        out.push_str(kind);
        out.push(']');
        self.copied = end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.out {
            None => Cow::Borrowed(self.line),
            Some(mut out) => {
                if let Some(rest) = self.line.get(self.copied..) {
                    out.push_str(rest);
                }
                Cow::Owned(out)
            }
        }
    }
}

/// Bytes that end an unquoted value.
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'"' | b'\'' | b',' | b';' | b'&' | b')' | b'}' | b']' | b'<' | b'>' | b'`'
        )
}

fn key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// The kind of secret a key names, by its normalised suffix.
fn sensitive(key: &[u8]) -> Option<&'static str> {
    let mut norm = [0u8; MAX_KEY];
    let mut len = 0;
    for &b in key.iter().filter(|b| b.is_ascii_alphanumeric()) {
        if len == MAX_KEY {
            return None;
        }
        norm[len] = b.to_ascii_lowercase();
        len += 1;
    }
    let norm = &norm[..len];
    if norm == b"pwd" || norm == b"oldpwd" {
        return None; // the shell's working directory, not a password
    }
    SENSITIVE_KEYS
        .iter()
        .find(|(suffix, _)| norm.ends_with(suffix.as_bytes()))
        .map(|(_, kind)| *kind)
}

/// The value after a separator at `from`: skips spaces and an opening quote; returns the
/// value's span, which ends before the closing quote or at the first byte ending a value.
fn value_span(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < bytes.len() && i - from < 4 && bytes[i] == b' ' {
        i += 1;
    }
    let quote = bytes.get(i).copied().filter(|&b| b == b'"' || b == b'\'');
    if quote.is_some() {
        i += 1;
    }
    let start = i;
    // No length cap: a value's end is its closing quote or delimiter, and the scan that
    // finds it is never repeated (the caller jumps past the redaction).
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => break,
            Some(_) if b == b'\\' => i += 1,
            Some(_) => {}
            None if ends_value(b) => break,
            None => {}
        }
        i += 1;
    }
    let end = i.min(bytes.len());
    let value = &bytes[start..end];
    if value.is_empty() || value.starts_with(b"[REDACTED") {
        return None;
    }
    Some((start, end))
}

/// `password=…`, `"api_key": "…"`, `X-Api-Key: …`, `--token=…`, `Authorization: Bearer …`
/// with the separator at `sep`.
fn key_value(bytes: &[u8], sep: usize, copied: usize) -> Option<Hit> {
    let mut key_end = sep;
    while key_end > 0 && sep - key_end < 2 && bytes[key_end - 1] == b' ' {
        key_end -= 1;
    }
    if key_end > 0 && matches!(bytes[key_end - 1], b'"' | b'\'') {
        key_end -= 1;
    }
    let mut key_start = key_end;
    while key_start > 0 && key_end - key_start <= MAX_KEY && key_byte(bytes[key_start - 1]) {
        key_start -= 1;
    }
    if key_start == key_end || key_end - key_start > MAX_KEY || key_start < copied {
        return None;
    }
    let kind = sensitive(&bytes[key_start..key_end])?;
    if sep + 1 < bytes.len() && bytes[sep] == b':' && bytes[sep + 1] == b':' {
        return None; // `Token::new`, a path, not a value
    }
    let (mut start, mut end) = value_span(bytes, sep + 1)?;
    if kind == "authorization" {
        // Keep the scheme (`Bearer`, `Basic`), redact the credential after it.
        let scheme_len = bytes[start..end]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if scheme_len == end - start && bytes.get(end) == Some(&b' ') {
            let (s, e) = value_span(bytes, end + 1)?;
            start = s;
            end = e;
            if bytes[s..e].iter().all(|b| ends_value(*b)) {
                return None;
            }
        }
    }
    Some(Hit::new(start, end, kind))
}

/// `--token VALUE`, `--password VALUE` written on one line.
fn flag_value(bytes: &[u8], i: usize) -> Option<Hit> {
    let name_len = bytes[i + 2..]
        .iter()
        .take(MAX_KEY)
        .take_while(|&&b| key_byte(b))
        .count();
    let name_end = i + 2 + name_len;
    if name_len == 0 || bytes.get(name_end) != Some(&b' ') {
        return None;
    }
    let kind = sensitive(&bytes[i..name_end])?;
    let (start, end) = value_span(bytes, name_end + 1)?;
    let value = &bytes[start..end];
    if value[0] == b'-' {
        return None; // the next flag, not a value
    }
    // In prose (`--token is required`) the next word is a word; a secret is random. Argv
    // elements have no such doubt: `redact_argv` replaces the element after the flag.
    if value.len() < 16 && value.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    Some(Hit::new(start, end, kind))
}

/// `Bearer <token>`, anywhere (an `Authorization:` header is caught by its key first).
fn bearer(bytes: &[u8], i: usize) -> Option<Hit> {
    let word = bytes.get(i..i + 7)?;
    if !word[..6].eq_ignore_ascii_case(b"bearer") || word[6] != b' ' {
        return None;
    }
    let start = i + 7;
    let len = bytes[start..]
        .iter()
        .take(MAX_VALUE)
        .take_while(|&&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
        })
        .count();
    (len >= 8).then(|| Hit::new(start, start + len, "bearer"))
}

/// `scheme://user:password@host`: the password goes, the user and host stay. At `colon`,
/// the `:` of `://`.
fn url_credentials(bytes: &[u8], colon: usize) -> Option<Hit> {
    if !bytes[colon..].starts_with(b"://") || colon == 0 || !bytes[colon - 1].is_ascii_alphanumeric() {
        return None;
    }
    let start = colon + 3;
    let mut user_end = None;
    let limit = bytes.len().min(start + MAX_VALUE);
    for (offset, &b) in bytes[start..limit].iter().enumerate() {
        let at = start + offset;
        match b {
            b':' if user_end.is_none() => user_end = Some(at),
            b'@' => {
                let password_start = user_end? + 1;
                return (at > password_start).then(|| Hit::new(password_start, at, "url_password"));
            }
            b'/' | b'?' | b'#' => return None,
            _ if ends_value(b) => return None,
            _ => {}
        }
    }
    None
}

/// `https://hooks.slack.com/services/T…/B…/…`: the whole path after `/services/`.
fn slack_webhook(bytes: &[u8], i: usize) -> Option<Hit> {
    const HOOK: &[u8] = b"https://hooks.slack.com/services/";
    if !bytes[i..].starts_with(HOOK) {
        return None;
    }
    let start = i + HOOK.len();
    let len = bytes[start..]
        .iter()
        .take(MAX_VALUE)
        .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'/')
        .count();
    (len >= 8).then(|| Hit::new(start, start + len, "slack_webhook"))
}

/// A JSON Web Token: three base64url parts, the first two JSON objects (`eyJ`).
fn jwt(bytes: &[u8], i: usize) -> Option<Hit> {
    if !bytes[i..].starts_with(b"eyJ") {
        return None;
    }
    let part = |from: usize| {
        bytes[from.min(bytes.len())..]
            .iter()
            .take(MAX_VALUE)
            .take_while(|&&b| url_safe(b))
            .count()
    };
    let header = part(i);
    let dot1 = i + header;
    if header < 10 || bytes.get(dot1) != Some(&b'.') || !bytes[dot1 + 1..].starts_with(b"eyJ") {
        return None;
    }
    let payload = part(dot1 + 1);
    let dot2 = dot1 + 1 + payload;
    if payload < 10 || bytes.get(dot2) != Some(&b'.') {
        return None;
    }
    let signature = part(dot2 + 1);
    Some(Hit::new(i, dot2 + 1 + signature, "jwt"))
}

/// `AKIA` and its siblings followed by exactly 16 upper-case letters or digits.
fn aws_key_id(bytes: &[u8], i: usize) -> Option<Hit> {
    let head = bytes.get(i..i + 4)?;
    if !AWS_KEY_PREFIXES.contains(&head) {
        return None;
    }
    let body = bytes[i + 4..]
        .iter()
        .take(17)
        .take_while(|&&b| upper_digit(b))
        .count();
    let end = i + 4 + body;
    let followed_by_word = bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric());
    (body == 16 && !followed_by_word).then(|| Hit::new(i, end, "aws_access_key_id"))
}

fn prefixed(bytes: &[u8], i: usize) -> Option<Hit> {
    let rest = &bytes[i..];
    let rule = PREFIXED.iter().find(|p| rest.starts_with(p.prefix))?;
    let start = i + rule.prefix.len();
    let body = bytes[start..]
        .iter()
        .take(MAX_VALUE)
        .take_while(|&&b| (rule.body)(b))
        .count();
    let end = start + body;
    // `sk-` also starts slugs (`sk-learn-…`); real keys are random and carry digits.
    let random = rule.prefix != b"sk-" || bytes[start..end].iter().any(u8::is_ascii_digit);
    (body >= rule.min_body && random).then(|| Hit::new(i, end, rule.kind))
}

/// The end of an `-----END … PRIVATE KEY-----` marker at or after `from`.
fn find_pem_end(bytes: &[u8], from: usize) -> Option<usize> {
    let at = bytes.get(from..)?.windows(9).position(|w| w == b"-----END ")? + from;
    let label_start = at + 9;
    let close = bytes[label_start..]
        .windows(5)
        .take(MAX_KEY)
        .position(|w| w == b"-----")?;
    Some(label_start + close + 5)
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
