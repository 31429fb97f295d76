//! The connection layer: accept, read a bounded request, hand it to a fixed pool, write.
//!
//! tiny_http 0.12 cannot be exposed as it is (read its `lib.rs` and `client.rs`): its
//! accept thread gives every connection a thread from a pool that grows without limit; it
//! sets no read or write timeout, so an idle or slow client holds that thread forever; a
//! header line is read byte by byte into an unbounded buffer; bodies are not capped; and
//! `num_connections()` is `unimplemented!()`. None of that can be configured from outside,
//! and its connection type is private, so we cannot hand it a socket we screened.
//!
//! Its response writer cannot help either: `Response::add_header` silently drops
//! `Connection`, so a server about to close cannot say `Connection: close`, which RFC 9112
//! asks for and a keep-alive client needs. So this file owns the whole exchange and tiny_http
//! is not a dependency: a status line, a few headers and a `Content-Length` body are less
//! code than the workarounds.
//!
//! One *poller* thread runs a mio loop over the listener and every open connection, reading
//! without blocking into a per-connection buffer: an idle or trickling connection costs a
//! buffer, not a thread. A connection must deliver a whole request — head within
//! [`MAX_HEAD`] bytes, body within [`MAX_BODY`] and announced by `Content-Length` — before
//! [`REQUEST_DEADLINE`] runs out, or it gets 431, 413, 411 or 408 and is closed. Only a
//! complete request goes to one of a fixed number of *worker* threads (a bounded queue in
//! between; when it is full the client gets 503), which runs the handler and writes the
//! response under a write timeout, then gives the connection back to the poller for the
//! next (possibly already pipelined) request. The thread count is therefore `1 + WORKERS`
//! whatever the clients do, and the number of open connections is capped too.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

/// Request line plus headers, in bytes (431 beyond).
pub const MAX_HEAD: usize = 8 * 1024;
/// Request body, in bytes (413 beyond).
pub const MAX_BODY: usize = 64 * 1024;
/// Time a connection has to deliver one complete request, counted from when it was
/// accepted or its previous response was written; idle keep-alive connections end with it.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// How long a refused connection is read away before it is closed.
const LINGER: Duration = Duration::from_secs(2);
/// What a refused connection may still send before it is closed anyway.
const MAX_DRAIN: usize = 1024 * 1024;
/// Time a client has to take a response off the socket.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Threads that run handlers.
pub const WORKERS: usize = 8;
/// Complete requests waiting for a worker.
const QUEUE: usize = 64;
/// Open connections, including those a worker holds; more are closed at once.
pub const MAX_CONNECTIONS: usize = 512;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONNECTION: usize = 2;

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

    fn keep_alive(&self) -> bool {
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

/// What the server calls for each request. `Local` is per-worker state (a database
/// connection), made once per worker thread.
pub trait Handler: Send + Sync + 'static {
    type Local;
    fn local(&self) -> Self::Local;
    fn handle(&self, local: &mut Self::Local, request: &Request) -> Response;
    /// A response for a request the connection layer refused (bad framing, too large,
    /// too slow), so errors keep one shape.
    fn refuse(&self, status: u16, field: &str, detail: &str) -> Response;
}

/// A running server; dropping it (or [`Server::shutdown`]) stops it and joins its threads.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts serving `listener` with `handler`. `stop` is shared with handlers that wait
    /// (long polls), so they end promptly at shutdown.
    pub fn start<H: Handler>(
        listener: TcpListener,
        handler: Arc<H>,
        stop: Arc<AtomicBool>,
    ) -> io::Result<Server> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(QUEUE);
        let (back_tx, back_rx) = mpsc::channel::<Conn>();
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let open = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::with_capacity(WORKERS + 1);
        for n in 0..WORKERS {
            let worker = Worker {
                handler: Arc::clone(&handler),
                jobs: Arc::clone(&jobs_rx),
                back: back_tx.clone(),
                waker: Arc::clone(&waker),
                open: Arc::clone(&open),
            };
            threads.push(
                thread::Builder::new()
                    .name(format!("api-worker-{n}"))
                    .spawn(move || worker.run())?,
            );
        }
        drop(back_tx);
        let poller = Poller {
            poll,
            listener,
            conns: HashMap::new(),
            next_token: FIRST_CONNECTION,
            jobs: jobs_tx,
            back: back_rx,
            open,
            stop: Arc::clone(&stop),
            handler,
            accept_stalled: false,
        };
        threads.push(
            thread::Builder::new()
                .name("api-poller".into())
                .spawn(move || poller.run())?,
        );
        Ok(Server {
            addr,
            stop,
            waker,
            threads,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, ends waiting handlers, and joins every thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// A connection between requests.
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
    /// How much of `buf` is known not to end the head, so a trickle is not rescanned.
    scanned: usize,
    /// Refused: its response is sent, what it still sends is read away until it closes.
    draining: bool,
    deadline: Instant,
}

struct Job {
    conn: Conn,
    request: Request,
}

/// The result of looking for one request at the start of a buffer.
#[derive(Debug)]
enum Parsed {
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

struct Poller<H: Handler> {
    poll: Poll,
    listener: TcpListener,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    jobs: SyncSender<Job>,
    back: Receiver<Conn>,
    /// Connections open, whether here or with a worker.
    open: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    handler: Arc<H>,
    /// The last accept failed (EMFILE, ENFILE, ENOBUFS) with connections still waiting:
    /// edge-triggered readiness will not say so again, so accept is retried every turn.
    accept_stalled: bool,
}

impl<H: Handler> Poller<H> {
    fn run(mut self) {
        if let Err(e) = self.poll.registry().register(
            &mut SourceFd(&self.listener.as_raw_fd()),
            LISTENER,
            Interest::READABLE,
        ) {
            log::error!("api: cannot watch the listening socket: {e}");
            return;
        }
        let mut events = Events::with_capacity(256);
        while !self.stop.load(Ordering::SeqCst) {
            let timeout = self
                .conns
                .values()
                .map(|c| c.deadline.saturating_duration_since(Instant::now()))
                .min()
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("api: poll failed: {e}");
                return;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    token => self.on_readable(token),
                }
            }
            self.take_back();
            self.expire();
            if self.accept_stalled {
                self.accept_all();
            }
        }
    }

    fn accept_all(&mut self) {
        self.accept_stalled = false;
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    if self.open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                        log::debug!("api: refusing {peer}: {MAX_CONNECTIONS} connections open");
                        let _ = stream.shutdown(Shutdown::Both);
                        continue;
                    }
                    self.open.fetch_add(1, Ordering::SeqCst);
                    // Each response is one write; nothing is gained by delaying it.
                    let _ = stream.set_nodelay(true);
                    let conn = Conn {
                        stream,
                        peer,
                        buf: Vec::new(),
                        scanned: 0,
                        draining: false,
                        deadline: Instant::now() + REQUEST_DEADLINE,
                    };
                    self.watch(conn);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: the connection stays in the backlog; try later.
                    log::warn!("api: accept failed: {e}");
                    self.accept_stalled = true;
                    return;
                }
            }
        }
    }

    /// Puts a connection under the poller, first serving a request already in its buffer.
    fn watch(&mut self, conn: Conn) {
        if !conn.buf.is_empty() {
            return self.dispatch(conn);
        }
        self.register(conn);
    }

    fn register(&mut self, conn: Conn) {
        if let Err(e) = conn.stream.set_nonblocking(true) {
            log::debug!("api: dropping {}: {e}", conn.peer);
            return self.close(conn);
        }
        let token = Token(self.next_token);
        self.next_token = self.next_token.wrapping_add(1).max(FIRST_CONNECTION);
        let registered =
            self.poll
                .registry()
                .register(&mut SourceFd(&conn.stream.as_raw_fd()), token, Interest::READABLE);
        match registered {
            Ok(()) => {
                self.conns.insert(token, conn);
            }
            Err(e) => {
                log::debug!("api: cannot watch {}: {e}", conn.peer);
                self.close(conn);
            }
        }
    }

    fn unregister(&mut self, token: Token) -> Option<Conn> {
        let conn = self.conns.remove(&token)?;
        let _ = self
            .poll
            .registry()
            .deregister(&mut SourceFd(&conn.stream.as_raw_fd()));
        Some(conn)
    }

    fn close(&mut self, conn: Conn) {
        let _ = conn.stream.shutdown(Shutdown::Both);
        self.open.fetch_sub(1, Ordering::SeqCst);
    }

    fn on_readable(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.draining {
            return self.drain(token);
        }
        let mut chunk = [0u8; 8192];
        let mut eof = false;
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    conn.buf.extend_from_slice(&chunk[..n]);
                    // Enough to decide: the parser refuses anything larger.
                    if conn.buf.len() > MAX_HEAD + MAX_BODY {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        let parsed = parse(&conn.buf, conn.scanned, conn.peer);
        if let Parsed::Incomplete = parsed {
            conn.scanned = conn.buf.len();
            if eof {
                if let Some(conn) = self.unregister(token) {
                    self.close(conn);
                }
            }
            // Otherwise it stays registered and waits for more.
            return;
        }
        if let Some(conn) = self.unregister(token) {
            self.settle(conn, parsed);
        }
    }

    /// Sends a request already in the buffer of a returning connection to a worker, or
    /// waits for the rest of it.
    fn dispatch(&mut self, mut conn: Conn) {
        match parse(&conn.buf, conn.scanned, conn.peer) {
            Parsed::Incomplete => {
                conn.scanned = conn.buf.len();
                self.register(conn)
            }
            parsed => self.settle(conn, parsed),
        }
    }

    /// A complete request goes to a worker (503 when all are busy); a bad one is refused.
    fn settle(&mut self, mut conn: Conn, parsed: Parsed) {
        match parsed {
            Parsed::Incomplete => self.register(conn),
            Parsed::Refused {
                status,
                field,
                detail,
            } => {
                let response = self.handler.refuse(status, field, &detail);
                self.refuse(conn, response);
            }
            Parsed::Complete { request, used } => {
                conn.buf.drain(..used);
                conn.scanned = 0;
                match self.jobs.try_send(Job { conn, request }) {
                    Ok(()) => {}
                    Err(TrySendError::Full(job)) | Err(TrySendError::Disconnected(job)) => {
                        let response = self.handler.refuse(503, "", "the server is busy; retry shortly");
                        self.refuse(job.conn, response.with_header("Retry-After", "1"));
                    }
                }
            }
        }
    }

    /// Writes a small error response without blocking the poller (best effort: a client
    /// that does not read it loses it), then closes our side and reads away what the client
    /// still sends for up to [`LINGER`]: closing a socket with unread data makes the kernel
    /// send a reset, which can destroy the response before the client reads it (a 413 to a
    /// client still sending its 200 KiB body).
    fn refuse(&mut self, mut conn: Conn, mut response: Response) {
        response.close = true;
        let mut bytes = Vec::new();
        if write_response(&mut bytes, response, 1, false).is_ok() {
            let _ = (&conn.stream).write(&bytes);
        }
        let _ = conn.stream.shutdown(Shutdown::Write);
        conn.draining = true;
        conn.buf = Vec::new();
        conn.deadline = Instant::now() + LINGER;
        self.register(conn);
    }

    /// Reads and discards what a refused client still sends; closes at its end.
    fn drain(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let mut chunk = [0u8; 16 * 1024];
        let mut budget = MAX_DRAIN;
        let done = loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) if n >= budget => break true,
                Ok(n) => budget -= n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        if done {
            if let Some(conn) = self.unregister(token) {
                self.close(conn);
            }
        }
    }

    fn take_back(&mut self) {
        while let Ok(conn) = self.back.try_recv() {
            self.watch(conn);
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        let late: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for token in late {
            if let Some(conn) = self.unregister(token) {
                if conn.buf.is_empty() || conn.draining {
                    // An idle keep-alive connection, or a refused one: close quietly.
                    self.close(conn);
                } else {
                    let response = self.handler.refuse(
                        408,
                        "",
                        &format!(
                            "the request did not arrive within {} s",
                            REQUEST_DEADLINE.as_secs()
                        ),
                    );
                    self.refuse(conn, response);
                }
            }
        }
    }
}

struct Worker<H: Handler> {
    handler: Arc<H>,
    jobs: Arc<Mutex<Receiver<Job>>>,
    back: Sender<Conn>,
    waker: Arc<Waker>,
    open: Arc<AtomicUsize>,
}

impl<H: Handler> Worker<H> {
    fn run(self) {
        let mut local = self.handler.local();
        loop {
            let job = {
                let jobs = self
                    .jobs
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                jobs.recv()
            };
            let Ok(Job { conn, request }) = job else {
                return;
            };
            let mut response = self.handler.handle(&mut local, &request);
            let keep = request.keep_alive() && !response.close;
            response.close = !keep;
            let head_only = request.method == "HEAD";
            let written = conn
                .stream
                .set_nonblocking(false)
                .and_then(|()| conn.stream.set_write_timeout(Some(WRITE_TIMEOUT)))
                .and_then(|()| write_response(&mut &conn.stream, response, request.minor, head_only));
            if written.is_ok() && keep {
                let conn = Conn {
                    deadline: Instant::now() + REQUEST_DEADLINE,
                    ..conn
                };
                if self.back.send(conn).is_ok() {
                    let _ = self.waker.wake();
                    continue;
                }
                // The poller is gone: we are shutting down.
                self.open.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let _ = conn.stream.shutdown(Shutdown::Both);
            self.open.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Writes `response` with a Content-Length (never chunked, so a pipelining client can find
/// the next response) and, when the connection ends with it, `Connection: close`.
fn write_response(out: &mut dyn Write, response: Response, minor: u8, head_only: bool) -> io::Result<()> {
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

fn reason_phrase(status: u16) -> &'static str {
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
fn parse(buf: &[u8], scanned: usize, peer: SocketAddr) -> Parsed {
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
