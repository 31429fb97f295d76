//! A small HTTP/1.1 client over `std::net::TcpStream`, for tests of the local API.
//!
//! Written here rather than taken from a crate because the attack tests need what a
//! polite client library will not do: send a raw, malformed or half request, pipeline two
//! requests, hold a connection idle, or trickle bytes. Responses are read by
//! `Content-Length` (the server never chunks).

#![allow(dead_code)]

use super::json::Json;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a test waits for one response before failing (only reached when broken).
pub const REPLY_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Json {
        Json::expect(&self.text())
    }

    /// No CORS header of any kind: nothing is granted to another origin.
    pub fn assert_no_cors(&self, context: &str) {
        let granted: Vec<&(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| n.starts_with("access-control-"))
            .collect();
        assert!(granted.is_empty(), "{context}: CORS headers {granted:?}");
    }

    /// The `field` of a problem+json body.
    pub fn problem_field(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not a problem: {} {}",
            self.status,
            self.text()
        );
        self.json()
            .get("field")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    }
}

/// Sends `raw` on a new connection and reads every response until the server closes or
/// `count` responses arrived.
pub fn exchange(addr: SocketAddr, raw: &[u8], count: usize) -> io::Result<Vec<Reply>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(REPLY_LIMIT))?;
    stream.write_all(raw)?;
    let mut all = Vec::new();
    let mut rest = Vec::new();
    stream.read_to_end_until(&mut rest, count, &mut all)?;
    Ok(all)
}

trait ReadReplies {
    fn read_to_end_until(&mut self, rest: &mut Vec<u8>, count: usize, out: &mut Vec<Reply>)
        -> io::Result<()>;
}

impl ReadReplies for TcpStream {
    /// Reads responses (which may arrive in one segment) until `count` or end of stream.
    fn read_to_end_until(
        &mut self,
        rest: &mut Vec<u8>,
        count: usize,
        out: &mut Vec<Reply>,
    ) -> io::Result<()> {
        let mut chunk = [0u8; 8192];
        loop {
            while let Some(reply) = split_reply(rest) {
                out.push(reply);
                if out.len() >= count {
                    return Ok(());
                }
            }
            let n = match self.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(());
            }
            rest.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Takes one complete response off the front of `buf`.
fn split_reply(buf: &mut Vec<u8>) -> Option<Reply> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if buf.len() < head_end + 4 + length {
        return None;
    }
    let body = buf[head_end + 4..head_end + 4 + length].to_vec();
    buf.drain(..head_end + 4 + length);
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// A client of one server: the address, the Host it sends and the key (if any).
#[derive(Debug, Clone)]
pub struct Client {
    pub addr: SocketAddr,
    pub host: String,
    pub key: Option<String>,
}

impl Client {
    pub fn new(addr: SocketAddr, key: Option<&str>) -> Client {
        Client {
            addr,
            host: format!("127.0.0.1:{}", addr.port()),
            key: key.map(str::to_string),
        }
    }

    /// `METHOD path` with the client's Host and key plus `extra` headers and `body`.
    pub fn send(&self, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host
        );
        if let Some(key) = &self.key {
            raw.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        for (name, value) in extra {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        raw.push_str("\r\n");
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body);
        let replies = exchange(self.addr, &bytes, 1).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        replies
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{method} {path}: the server closed without a response"))
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], b"")
    }

    pub fn post(&self, path: &str) -> Reply {
        self.send("POST", path, &[], b"")
    }

    /// GET that must answer 200 with JSON.
    pub fn get_json(&self, path: &str) -> Json {
        let reply = self.get(path);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
        reply.json()
    }
}
