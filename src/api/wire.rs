//! The HTTP/1.1 wire format, without I/O: finding one bounded request at the start of a
//! buffer, and writing one response.
//!
//! The parser is strict where leniency would let two parsers disagree about where a
//! request ends (request smuggling): one `Content-Length` (repeated only with the same
//! value), no `Transfer-Encoding`, no folded header lines, token-only header names, an
//! origin-form target. It is pure — bytes in, a verdict out — so every limit is
//! unit-tested with literal requests. Responses always carry a `Content-Length` (never
//! chunked, so a pipelining client finds the next one) and, when the connection ends with
//! them, `Connection: close`; they are built in memory and written with one `write`, so a
//! head and a body never meet Nagle's algorithm and a delayed ACK (40 ms).

use super::http::{MAX_BODY, MAX_HEAD};
use std::io::{self, Write};
use std::net::SocketAddr;

/// One parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string after `?` (empty if none).
    pub query: String,
    /// The minor HTTP version: 0 or 1.
    pub minor: u8,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub peer: SocketAddr,
}

impl Request {
    /// The value of a header that appears once; `Err(())` if it appears more than once.
    pub fn header(&self, name: &str) -> Result<Option<&str>, ()> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        match values.next() {
            Some(_) => Err(()),
            None => Ok(first),
        }
    }

    pub(super) fn keep_alive(&self) -> bool {
        let connection = self
            .headers
            .iter()
            .filter(|(n, _)| n == "connection")
            .map(|(_, v)| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(",");
        if self.minor == 0 {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        }
    }
}

/// A response; always written with a Content-Length.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// Close the connection after this response.
    pub close: bool,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
            close: false,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

/// The result of looking for one request at the start of a buffer.
#[derive(Debug)]
pub(super) enum Parsed {
    Incomplete,
    Complete {
        request: Request,
        used: usize,
    },
    Refused {
        status: u16,
        field: &'static str,
        detail: String,
    },
}

/// Writes `response` with a Content-Length (never chunked, so a pipelining client can find
/// the next response) and, when the connection ends with it, `Connection: close`.
pub(super) fn write_response(
    out: &mut dyn Write,
    response: Response,
    minor: u8,
    head_only: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.{minor} {} {}\r\nDate: {}\r\nServer: flowforge\r\n",
        response.status,
        reason_phrase(response.status),
        http_date(crate::evidence::now_ms() / 1000)
    );
    for (name, value) in &response.headers {
        // Values are ours, but a CR or LF must never split a header.
        if !value.bytes().any(|b| b == b'\r' || b == b'\n') {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let bodiless = matches!(response.status, 100..=199 | 204 | 304);
    if !bodiless {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    if response.close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    // One write: a head and a body in two segments would meet Nagle's algorithm and the
    // client's delayed ACK, 40 ms per response.
    let mut bytes = head.into_bytes();
    if !head_only && !bodiless {
        bytes.extend_from_slice(&response.body);
    }
    out.write_all(&bytes)
}

/// The reason phrase of `status` (RFC 9110), also the title of a problem+json.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// RFC 9110 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = crate::evidence::ndjson::civil_from_days(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month as usize).saturating_sub(1).min(11)],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Finds one request at the start of `buf`, of which the first `scanned` bytes were seen
/// before without the end of the head. Pure, so the limits are unit-tested.
pub(super) fn parse(buf: &[u8], scanned: usize, peer: SocketAddr) -> Parsed {
    let refuse = |status, field, detail: &str| Parsed::Refused {
        status,
        field,
        detail: detail.to_string(),
    };
    // Tolerate empty lines before a request (RFC 9112 §2.2).
    let skip = buf.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    let buf = &buf[skip..];
    let Some((head_len, sep_len)) = find_head_end(buf, scanned.saturating_sub(skip + 3)) else {
        if buf.len() > MAX_HEAD {
            return refuse(
                431,
                "headers",
                &format!("the request head exceeds {MAX_HEAD} bytes"),
            );
        }
        return Parsed::Incomplete;
    };
    if head_len > MAX_HEAD {
        return refuse(
            431,
            "headers",
            &format!("the request head exceeds {MAX_HEAD} bytes"),
        );
    }
    let Ok(head) = std::str::from_utf8(&buf[..head_len]) else {
        return refuse(400, "headers", "the request head is not valid UTF-8");
    };
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return refuse(
            400,
            "request-line",
            "the request line is not `METHOD TARGET HTTP/1.1`",
        );
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return refuse(400, "method", "the method is not an HTTP method");
    }
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => {
            return refuse(505, "version", "only HTTP/1.0 and HTTP/1.1 are served")
        }
        _ => return refuse(400, "version", "the request line has no HTTP version"),
    };
    if !target.starts_with('/') {
        return refuse(400, "target", "the request target must be a path starting with /");
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            return refuse(400, "headers", "folded header lines are not accepted");
        }
        let Some((name, value)) = line.split_once(':') else {
            return refuse(400, "headers", "a header line has no colon");
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return refuse(400, "headers", "a header name has characters a token cannot have");
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    fn values<'h>(headers: &'h [(String, String)], name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
        headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    if values(&headers, "transfer-encoding").next().is_some() {
        return refuse(
            411,
            "Transfer-Encoding",
            "send the body with a Content-Length, not Transfer-Encoding",
        );
    }
    let mut length: Option<usize> = None;
    for value in values(&headers, "content-length") {
        let Some(n) = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<u64>().ok())
            .flatten()
        else {
            return refuse(400, "Content-Length", "Content-Length is not a number");
        };
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if length.is_some_and(|l| l != n) {
            return refuse(
                400,
                "Content-Length",
                "Content-Length is given twice with different values",
            );
        }
        length = Some(n);
    }
    let length = length.unwrap_or(0);
    if length > MAX_BODY {
        return refuse(413, "body", &format!("the body exceeds {MAX_BODY} bytes"));
    }
    let body_start = head_len + sep_len;
    if buf.len() < body_start + length {
        return Parsed::Incomplete;
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    Parsed::Complete {
        request: Request {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            minor,
            headers,
            body: buf[body_start..body_start + length].to_vec(),
            peer,
        },
        used: skip + body_start + length,
    }
}

/// The length of the head (without the blank line) and of the blank line separator.
fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let limit = buf.len().min(MAX_HEAD + 4);
    let window = &buf[..limit];
    for i in from.min(window.len())..window.len() {
        if window[i..].starts_with(b"\r\n\r\n") {
            return Some((i, 4));
        }
        if window[i..].starts_with(b"\n\n") {
            return Some((i, 2));
        }
    }
    if buf.len() > limit {
        // The separator lies beyond the cap: report a head that is too long.
        return Some((MAX_HEAD + 1, 0));
    }
    None
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:1".parse().expect("literal address")
    }

    fn status(buf: &[u8]) -> u16 {
        match parse(buf, 0, peer()) {
            Parsed::Refused { status, .. } => status,
            Parsed::Complete { .. } => 200,
            Parsed::Incomplete => 0,
        }
    }

    #[test]
    fn parses_a_request_and_reports_what_it_used() {
        let raw = b"POST /api/v1/runs/3/kill?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}GET";
        let Parsed::Complete { request, used } = parse(raw, 0, peer()) else {
            panic!("complete");
        };
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/api/v1/runs/3/kill");
        assert_eq!(request.query, "x=1");
        assert_eq!(request.header("host"), Ok(Some("a")));
        assert_eq!(request.body, b"{}");
        assert_eq!(&raw[used..], b"GET");
    }

    #[test]
    fn waits_for_the_rest() {
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\n"), 0);
        assert_eq!(status(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"), 0);
    }

    #[test]
    fn limits_and_framing() {
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 9 * 1024));
        assert_eq!(status(&big), 431, "an unfinished 9 KiB head");
        big.extend(b"\r\n\r\n");
        assert_eq!(status(&big), 431, "a finished 9 KiB head");
        assert_eq!(status(b"POST / HTTP/1.1\r\nContent-Length: 204800\r\n\r\n"), 413);
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            411
        );
        assert_eq!(status(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(status(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status(b"GET /\r\n\r\n"), 400);
        assert_eq!(status(b"get / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET http://x/ HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\n folded\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n"), 400);
        assert_eq!(status(b"\r\nGET / HTTP/1.0\n\n"), 200);
    }

    #[test]
    fn dates_and_heads() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        let mut out = Vec::new();
        let mut response = Response::new(304, "application/json", b"{}".to_vec());
        response.close = true;
        write_response(&mut out, response, 1, false).expect("to memory");
        let text = String::from_utf8(out).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{text}");
        assert!(text.ends_with("Connection: close\r\n\r\n"), "{text}");
        assert!(!text.contains("Content-Length"), "{text}");
    }

    #[test]
    fn keep_alive_follows_the_version() {
        let request = |raw: &[u8]| match parse(raw, 0, peer()) {
            Parsed::Complete { request, .. } => request,
            other => panic!("{other:?}"),
        };
        assert!(request(b"GET / HTTP/1.1\r\n\r\n").keep_alive());
        assert!(!request(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive());
        assert!(!request(b"GET / HTTP/1.0\r\n\r\n").keep_alive());
        assert!(request(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
    }

    #[test]
    fn duplicate_headers_are_visible() {
        let Parsed::Complete { request, .. } =
            parse(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, peer())
        else {
            panic!("complete");
        };
        assert_eq!(request.header("host"), Err(()));
    }
}
