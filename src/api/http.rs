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

use super::wire::{parse, write_response, Parsed};
pub use super::wire::{Request, Response};

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
