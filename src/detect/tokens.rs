//! Recognisers for the parts of a log line that change on every pass through a loop.
//!
//! A runaway loop rarely prints byte-identical lines: each pass stamps a time, a request
//! id, an attempt number or a latency. Each recogniser here matches one such shape at a
//! word boundary of stripped text and returns where it ends, so the template scanner can
//! replace it with a fixed placeholder. They are hand-written byte matchers rather than
//! regular expressions because they run on every line (up to 100k lines per second) and
//! must never allocate. Each one insists on ending at a boundary (the next byte is not an
//! ASCII letter or digit), which is what keeps `deadbeef-cafe` or `v1.2.3rc` from being
//! half-masked into a template that changes from line to line.
//!
//! Only plain numbers carry their value out (`Num`): timestamps, durations, ids and
//! addresses vary in a loop without meaning that work is done, so progress never sees them.

/// What a recogniser found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token {
    Uuid,
    Hex,
    /// Dates, clock times, date-times with zones, epoch seconds or milliseconds.
    Time,
    Ip,
    /// Long random-looking identifiers (`k3J9xQ2m`, 15+ digit numbers).
    Id,
    Duration,
    /// Dotted versions with three or more parts (`1.2.3`); [`version_value`] orders them.
    Version,
    Num(Num),
}

/// A plain number and how it was written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// An integer (a count, a step, a worker number, an HTTP status).
    Count(f64),
    /// A number with a fraction or an exponent (a loss, a latency without unit).
    Fraction(f64),
    /// A number directly followed by `%`.
    Percent(f64),
    /// `done/total`.
    Ratio(f64, f64),
}

pub fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// True when position `j` ends a token: end of text or a byte that is not a letter or digit.
pub fn ends_token(s: &[u8], j: usize) -> bool {
    j >= s.len() || !is_alnum(s[j])
}

fn count_while(s: &[u8], i: usize, pred: impl Fn(u8) -> bool) -> usize {
    s.get(i..)
        .map_or(0, |rest| rest.iter().take_while(|&&b| pred(b)).count())
}

fn digits(s: &[u8], i: usize) -> usize {
    count_while(s, i, |b| b.is_ascii_digit())
}

fn hexes(s: &[u8], i: usize) -> usize {
    count_while(s, i, |b| b.is_ascii_hexdigit())
}

fn byte(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn value(s: &[u8], from: usize, to: usize) -> f64 {
    std::str::from_utf8(&s[from..to])
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// A dotted version as one number that sorts as versions do: `1.43.127` before `1.44.0`.
/// The first three parts weigh 10¹², 10⁶ and 1 (exact in an `f64` for any version a tool
/// prints); later parts are left out, so two versions differing only there read as one.
pub fn version_value(text: &[u8]) -> f64 {
    // `boto3-1.44.7`: the dash before it is a separator, not a sign.
    let text = text
        .strip_prefix(b"-")
        .or(text.strip_prefix(b"+"))
        .unwrap_or(text);
    let mut value = 0.0;
    for (weight, part) in [1e12, 1e6, 1.0].into_iter().zip(text.split(|&b| b == b'.')) {
        let whole = &part[..digits(part, 0)];
        let n = std::str::from_utf8(whole)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0);
        value += weight * n.min(999_999.0);
    }
    value
}

/// `550e8400-e29b-41d4-a716-446655440000`.
pub fn uuid(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    for (n, len) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
        if n > 0 {
            if byte(s, j) != b'-' {
                return None;
            }
            j += 1;
        }
        if hexes(s, j) != len {
            return None;
        }
        j += len;
    }
    ends_token(s, j).then_some(j)
}

/// `0x7ffd1234`, or six or more hex digits mixing letters and digits (`a3f9c2e1`).
pub fn hex(s: &[u8], i: usize) -> Option<usize> {
    if byte(s, i) == b'0' && matches!(byte(s, i + 1), b'x' | b'X') {
        let n = hexes(s, i + 2);
        let end = i + 2 + n;
        return (n > 0 && ends_token(s, end)).then_some(end);
    }
    let n = hexes(s, i);
    let run = &s[i..i + n];
    let mixed = run.iter().any(u8::is_ascii_digit) && run.iter().any(u8::is_ascii_alphabetic);
    (n >= 6 && mixed && ends_token(s, i + n)).then_some(i + n)
}

/// Dates, clock times and date-times (ISO-8601, syslog and common-log parts), epoch numbers.
pub fn time(s: &[u8], i: usize) -> Option<usize> {
    if let Some(end) = date(s, i) {
        let sep = byte(s, end);
        if matches!(sep, b'T' | b'_' | b' ' | b':') {
            if let Some(after) = clock(s, end + 1) {
                return Some(after);
            }
        }
        return ends_token(s, end).then_some(end);
    }
    if let Some(end) = clock(s, i) {
        return Some(end);
    }
    epoch(s, i)
}

fn date(s: &[u8], i: usize) -> Option<usize> {
    let first = digits(s, i);
    let sep = byte(s, i + first);
    if !matches!(sep, b'-' | b'/' | b'.') {
        return None;
    }
    let second_at = i + first + 1;
    if first == 4 {
        let m = digits(s, second_at);
        let d_at = second_at + m + 1;
        let d = digits(s, d_at);
        return ((1..=2).contains(&m) && byte(s, second_at + m) == sep && (1..=2).contains(&d))
            .then_some(d_at + d);
    }
    if !(1..=2).contains(&first) {
        return None;
    }
    // Common log format: 28/Nov/2024.
    let letters = count_while(s, second_at, |b| b.is_ascii_alphabetic());
    let middle = if letters == 3 { 3 } else { digits(s, second_at) };
    if !(letters == 3 || (1..=2).contains(&middle)) {
        return None;
    }
    let y_at = second_at + middle + 1;
    (byte(s, second_at + middle) == sep && digits(s, y_at) == 4).then_some(y_at + 4)
}

/// `7:04`, `03:04:05`, `03:04:05.123Z`, `03:04:05,123+02:00`.
fn clock(s: &[u8], i: usize) -> Option<usize> {
    let h = digits(s, i);
    if !(1..=2).contains(&h) || byte(s, i + h) != b':' || digits(s, i + h + 1) != 2 {
        return None;
    }
    let mut j = i + h + 3;
    if byte(s, j) == b':' && digits(s, j + 1) == 2 {
        j += 3;
    }
    if matches!(byte(s, j), b'.' | b',') && digits(s, j + 1) > 0 {
        j += 1 + digits(s, j + 1);
    }
    if byte(s, j) == b'Z' && ends_token(s, j + 1) {
        j += 1;
    } else if matches!(byte(s, j), b'+' | b'-') {
        let zh = digits(s, j + 1);
        if zh == 4 {
            j += 5;
        } else if zh == 2 && byte(s, j + 3) == b':' && digits(s, j + 4) == 2 {
            j += 6;
        }
    }
    ends_token(s, j).then_some(j)
}

/// Ten-, thirteen-, sixteen- or nineteen-digit numbers starting with 1 (epoch seconds,
/// milliseconds, microseconds — journald's `__REALTIME_TIMESTAMP` — and nanoseconds in
/// this century), optionally with a fraction.
fn epoch(s: &[u8], i: usize) -> Option<usize> {
    let n = digits(s, i);
    if !matches!(n, 10 | 13 | 16 | 19) || byte(s, i) != b'1' {
        return None;
    }
    let mut j = i + n;
    if byte(s, j) == b'.' && digits(s, j + 1) > 0 {
        j += 1 + digits(s, j + 1);
    }
    ends_token(s, j).then_some(j)
}

/// `10.0.0.1`, `10.0.0.1:8080`, `10.0.0.0/8`, `fe80::1`, `::1`, `2001:db8:0:0:0:0:2:1`.
pub fn ip(s: &[u8], i: usize) -> Option<usize> {
    ipv4(s, i).or_else(|| ipv6(s, i))
}

fn ipv4(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    for part in 0..4 {
        if part > 0 {
            if byte(s, j) != b'.' {
                return None;
            }
            j += 1;
        }
        let n = digits(s, j);
        if !(1..=3).contains(&n) || value(s, j, j + n) > 255.0 {
            return None;
        }
        j += n;
    }
    if matches!(byte(s, j), b':' | b'/') && digits(s, j + 1) > 0 {
        j += 1 + digits(s, j + 1);
    }
    ends_token(s, j).then_some(j)
}

/// Longest textual IPv6 address (with an embedded IPv4 tail it is 45 bytes).
const IPV6_MAX: usize = 45;

fn ipv6(s: &[u8], i: usize) -> Option<usize> {
    let n = count_while(s, i, |b| b.is_ascii_hexdigit() || b == b':');
    if n > IPV6_MAX {
        // Also keeps a long `1:2:3:...` run from being rescanned at every colon.
        return None;
    }
    let run = &s[i..i + n];
    let colons = run.iter().filter(|&&b| b == b':').count();
    let has_digit = run.iter().any(u8::is_ascii_digit);
    let compressed = run.windows(2).any(|w| w == b"::");
    let groups_ok = run.split(|&b| b == b':').all(|g| g.len() <= 4);
    let shape = colons >= 2 && (compressed || colons >= 5) && !run.ends_with(b":::");
    (shape && has_digit && groups_ok && !run.ends_with(b":") && ends_token(s, i + n)).then_some(i + n)
}

/// A long run of letters and digits that alternates often enough to be random
/// (`k3J9xQ2mP`), or, inside quotes, any such run of six or more.
pub fn id(s: &[u8], i: usize, quoted: bool) -> Option<usize> {
    let n = count_while(s, i, is_alnum);
    let run = &s[i..i + n];
    let has_digit = run.iter().any(u8::is_ascii_digit);
    let has_letter = run.iter().any(u8::is_ascii_alphabetic);
    if !(has_digit && has_letter) {
        return None;
    }
    let switches = run
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    let random = (n >= 8 && switches >= 3) || (quoted && n >= 6);
    random.then_some(i + n)
}

const DURATION_UNITS: [&str; 22] = [
    "ns", "us", "ms", "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes", "h",
    "hr", "hrs", "hour", "hours", "d", "day", "days", "µs",
];

/// Units that make a fractional number a quantity of work (`45.2 MB`, `1.5k rows`).
const QUANTITY_UNITS: [&str; 17] = [
    "b", "kb", "kib", "mb", "mib", "gb", "gib", "tb", "tib", "bytes", "items", "rows", "records", "files",
    "lines", "samples", "it",
];

/// Seconds per unit of a duration word, if it is one (`ms`, `s`, `seconds`, `m`, `h`, ...).
fn unit_seconds(word: &[u8]) -> Option<f64> {
    if !is_duration_unit(word) {
        return None;
    }
    let w = word.to_ascii_lowercase();
    Some(match w.as_slice() {
        b"ns" => 1e-9,
        b"us" => 1e-6,
        b"ms" => 1e-3,
        b"m" | b"min" | b"mins" | b"minute" | b"minutes" => 60.0,
        b"h" | b"hr" | b"hrs" | b"hour" | b"hours" => 3600.0,
        b"d" | b"day" | b"days" => 86400.0,
        _ if word.starts_with("µ".as_bytes()) => 1e-6,
        _ => 1.0,
    })
}

/// The length in seconds of a duration token (`12s`, `1m30s`, `12 seconds`, `2.5 ms`).
pub fn duration_seconds(s: &[u8]) -> Option<f64> {
    let mut total = 0.0;
    let mut i = 0;
    let mut parts = 0;
    while i < s.len() {
        let (end, _) = decimal(s, i)?;
        let value = value(s, i, end);
        let mut j = end;
        if byte(s, j) == b' ' {
            j += 1;
        }
        let u = unit_len(s, j);
        total += value * unit_seconds(&s[j..j + u])?;
        parts += 1;
        i = j + u;
    }
    (parts > 0).then_some(total)
}

fn is_duration_unit(word: &[u8]) -> bool {
    DURATION_UNITS
        .iter()
        .any(|u| u.as_bytes().eq_ignore_ascii_case(word))
        && word != b"M"
}

fn unit_len(s: &[u8], j: usize) -> usize {
    if s.get(j..j + 2) == Some("µ".as_bytes()) {
        return 2 + count_while(s, j + 2, |b| b.is_ascii_alphabetic());
    }
    count_while(s, j, |b| b.is_ascii_alphabetic())
}

/// The digits, fraction and exponent of an unsigned decimal number at `i`; returns the end
/// and whether it had a fraction or an exponent.
fn decimal(s: &[u8], i: usize) -> Option<(usize, bool)> {
    let n = digits(s, i);
    if n == 0 {
        return None;
    }
    let mut j = i + n;
    let mut fractional = false;
    if byte(s, j) == b'.' && digits(s, j + 1) > 0 {
        j += 1 + digits(s, j + 1);
        fractional = true;
    }
    if matches!(byte(s, j), b'e' | b'E') {
        let sign = usize::from(matches!(byte(s, j + 1), b'+' | b'-'));
        let e = digits(s, j + 1 + sign);
        if e > 0 && ends_token(s, j + 1 + sign + e) {
            j += 1 + sign + e;
            fractional = true;
        }
    }
    Some((j, fractional))
}

/// Numbers and what follows them: `-3`, `0.31`, `1e-5`, `45%`, `450/1000`, `12ms`,
/// `1m30s`, `12 ms`, `1.2.3`, `450MB` (the unit is left for the caller to copy).
pub fn number(s: &[u8], i: usize) -> Option<(usize, Token)> {
    let sign = usize::from(matches!(byte(s, i), b'+' | b'-'));
    let start = i + sign;
    let int_len = digits(s, start);
    if int_len >= 15 && ends_token(s, start + int_len) {
        return Some((start + int_len, Token::Id));
    }
    let (mut j, fractional) = decimal(s, start)?;
    // Versions: three or more dotted parts.
    if !fractional || byte(s, j) == b'.' {
        let mut parts = 1 + usize::from(fractional);
        let mut k = j;
        while byte(s, k) == b'.' && digits(s, k + 1) > 0 {
            k += 1 + digits(s, k + 1);
            parts += 1;
        }
        if parts >= 3 {
            return Some((k, Token::Version));
        }
    }
    let v = value(s, i, j);
    if byte(s, j) == b'%' {
        return Some((j + 1, Token::Num(Num::Percent(v))));
    }
    if byte(s, j) == b' ' && byte(s, j + 1) == b'%' {
        return Some((j + 2, Token::Num(Num::Percent(v))));
    }
    let unit = unit_len(s, j);
    if unit > 0 && is_duration_unit(&s[j..j + unit]) {
        j += unit;
        // Compound durations: 1h30m, 2m3.5s.
        while let Some((after, _)) = decimal(s, j) {
            let u = unit_len(s, after);
            if u == 0 || !is_duration_unit(&s[after..after + u]) {
                break;
            }
            j = after + u;
        }
        return ends_token(s, j).then_some((j, Token::Duration));
    }
    if unit > 0 {
        // `450MB`, `45.2MB`, `3rd`, `64bit`: a quantity with a unit (so even a fraction may
        // count work done); the number is masked, the suffix kept as written.
        return Some((j, Token::Num(Num::Count(v))));
    }
    let plain = if fractional {
        Num::Fraction(v)
    } else {
        Num::Count(v)
    };
    if byte(s, j) == b'/' && sign == 0 {
        if let Some((end, _)) = decimal(s, j + 1) {
            if ends_token(s, end) {
                return Some((end, Token::Num(Num::Ratio(v, value(s, j + 1, end)))));
            }
        }
    }
    if byte(s, j) == b' ' {
        let u = unit_len(s, j + 1);
        let word = &s[j + 1..j + 1 + u];
        let spaced_unit = u > 1 || word == b"s";
        if spaced_unit && is_duration_unit(word) && ends_token(s, j + 1 + u) {
            return Some((j + 1 + u, Token::Duration));
        }
        if QUANTITY_UNITS
            .iter()
            .any(|q| q.as_bytes().eq_ignore_ascii_case(word))
        {
            // `45.2 MB`: the unit stays in the template as a word.
            return Some((j, Token::Num(Num::Count(v))));
        }
    }
    ends_token(s, j).then_some((j, Token::Num(plain)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(f: impl Fn(&[u8], usize) -> Option<usize>, text: &str) -> bool {
        f(text.as_bytes(), 0) == Some(text.len())
    }

    #[test]
    fn uuids_and_hex() {
        assert!(whole(uuid, "550e8400-e29b-41d4-a716-446655440000"));
        assert!(whole(uuid, "550E8400-E29B-41D4-A716-446655440000"));
        assert!(!whole(uuid, "550e8400-e29b-41d4-a716-44665544000"));
        assert_eq!(uuid(b"550e8400-e29b-41d4-a716-446655440000x", 0), None);
        assert!(whole(hex, "0x7ffd1234"));
        assert!(whole(hex, "a3f9c2e1b7"));
        assert!(whole(hex, "DEADBEEF01"));
        assert_eq!(hex(b"decade", 0), None, "a word made of hex letters stays a word");
        assert_eq!(hex(b"123456", 0), None, "pure digits are numbers");
        assert_eq!(hex(b"a3f9c2zz", 0), None);
    }

    #[test]
    fn times_and_dates() {
        for t in [
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.123456+02:00",
            "2024-01-02 03:04:05,123",
            "2024/01/02",
            "02/01/2024",
            "28/Nov/2024:17:58:01",
            "17:58:01",
            "7:04",
            "00:04",
            "12:00:00.5-0700",
            "1712345678",
            "1712345678123",
            "1712345678.25",
        ] {
            assert!(whole(time, t), "{t} should be a time");
        }
        for t in ["12:3", "123:45", "2024-1", "9999999999", "12345"] {
            assert!(!whole(time, t), "{t} should not be a time");
        }
    }

    #[test]
    fn addresses() {
        for a in [
            "10.0.0.1",
            "192.168.1.20:8080",
            "10.0.0.0/8",
            "fe80::1",
            "::1",
            "2001:db8::2:1",
        ] {
            assert!(whole(ip, a), "{a} should be an address");
        }
        for a in ["1.2.3", "300.1.1.1", "dead::beef", "a:b", "12:34"] {
            assert!(!whole(ip, a), "{a} should not be an address");
        }
    }

    #[test]
    fn random_ids() {
        assert_eq!(id(b"k3J9xQ2mP", 0, false), Some(9));
        assert_eq!(id(b"sha256sum", 0, false), None);
        assert_eq!(id(b"user12345", 0, false), None);
        assert_eq!(id(b"AbC9xZ", 0, true), Some(6));
        assert_eq!(id(b"letters", 0, true), None);
    }

    fn num(text: &str) -> Option<(usize, Token)> {
        number(text.as_bytes(), 0)
    }

    #[test]
    fn numbers_with_their_suffixes() {
        assert_eq!(num("42"), Some((2, Token::Num(Num::Count(42.0)))));
        assert_eq!(num("-3"), Some((2, Token::Num(Num::Count(-3.0)))));
        assert_eq!(num("0.31"), Some((4, Token::Num(Num::Fraction(0.31)))));
        assert_eq!(num("1e-5"), Some((4, Token::Num(Num::Fraction(1e-5)))));
        assert_eq!(num("45%"), Some((3, Token::Num(Num::Percent(45.0)))));
        assert_eq!(num("45.5%"), Some((5, Token::Num(Num::Percent(45.5)))));
        assert_eq!(num("450/1000"), Some((8, Token::Num(Num::Ratio(450.0, 1000.0)))));
        assert_eq!(num("45.2/120.0"), Some((10, Token::Num(Num::Ratio(45.2, 120.0)))));
        assert_eq!(num("450MB"), Some((3, Token::Num(Num::Count(450.0)))));
        assert_eq!(num("1.2.3"), Some((5, Token::Version)));
        assert!(version_value(b"1.43.127") < version_value(b"1.44.0"));
        assert!(version_value(b"1.44.0") < version_value(b"1.44.8"));
        assert!(version_value(b"2.0.0") > version_value(b"1.999.999"));
        assert_eq!(version_value(b"1.2.3.4"), version_value(b"1.2.3.5"));
        assert_eq!(version_value(b"-1.44.7"), version_value(b"1.44.7"));
        assert_eq!(num("123456789012345678"), Some((18, Token::Id)));
        assert_eq!(num("12x3"), Some((2, Token::Num(Num::Count(12.0)))));
        assert_eq!(num("45.2MB"), Some((4, Token::Num(Num::Count(45.2)))));
        assert_eq!(num("45.2 MB"), Some((4, Token::Num(Num::Count(45.2)))));
        assert_eq!(num("0.31 acc"), Some((4, Token::Num(Num::Fraction(0.31)))));
    }

    #[test]
    fn durations() {
        for d in [
            "12ms",
            "1.5s",
            "3m",
            "1m30s",
            "2h3m4.5s",
            "100us",
            "7µs",
            "12 ms",
            "3 seconds",
        ] {
            assert_eq!(num(d), Some((d.len(), Token::Duration)), "{d}");
        }
        assert_eq!(num("3 items"), Some((1, Token::Num(Num::Count(3.0)))));
        assert_eq!(num("3 m"), Some((1, Token::Num(Num::Count(3.0)))));
        assert_eq!(num("5M"), Some((1, Token::Num(Num::Count(5.0)))));
    }
}
