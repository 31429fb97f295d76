//! Control of a live run from another process: a per-run Unix socket, polled by the run.
//!
//! The channel is `<store dir>/run/<run-id>.sock` (with the default store,
//! `$FLOWFORGE_HOME/run/<id>.sock`): a Unix socket in a 0700 directory, itself mode 0600, so
//! only the user who owns the store can connect — the file system is the authentication,
//! as it already is for the database. We chose it over a control table polled in SQLite
//! because a socket also answers "is this run alive?": a run that died without cleaning up
//! leaves a file nobody accepts on, so a connect fails with ECONNREFUSED and the API shows
//! the run as `lost` instead of running forever. And the run learns of a request without
//! writing to or polling the database.
//!
//! The run side never blocks its loop: [`ControlSocket::poll`] is called from
//! `RunWatch::check` every 250 ms, accepts without blocking, reads what has arrived without
//! blocking, and answers one line. The protocol is one JSON line each way:
//! `{"action":"kill","event_id":12,"client":"127.0.0.1:50412","reason":"..."}` and
//! `{"accepted":true}`. The API has already recorded the request as a `control` event
//! (its id is what a client gets back in the 202); the run records the decision, the stop
//! and the outcome, all with actor `user`.
//!
//! [`LiveStats`] is the other thing a run shares with an API thread (`run --listen`):
//! counters the loop stores with relaxed atomics and the API only loads, so a scrape can
//! never hold up supervision.

use super::record::RunRecorder;
use crate::supervise::{StopRequest, Stopper};
use flowforge_platform::fd;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A request line larger than this is dropped.
const MAX_LINE: usize = 4096;
/// A connection that has not sent its line within this time is dropped.
const PENDING_DEADLINE: Duration = Duration::from_secs(2);
/// Connections kept waiting for their line at once.
const MAX_PENDING: usize = 16;

/// What a user asked of a live run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserAction {
    Kill,
    Restart,
}

impl UserAction {
    pub fn name(self) -> &'static str {
        match self {
            UserAction::Kill => "kill",
            UserAction::Restart => "restart",
        }
    }

    /// The `StopRequest` kind of this action, as the decision and the restart logic see it.
    pub fn stop_kind(self) -> &'static str {
        match self {
            UserAction::Kill => "user_kill",
            UserAction::Restart => "user_restart",
        }
    }
}

/// One request on the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    pub action: UserAction,
    /// The `control` event the API recorded for this request.
    pub event_id: Option<i64>,
    /// The API client's address, for the record.
    pub client: String,
    pub reason: Option<String>,
    /// When the API sent it (ms since the epoch); a request older than
    /// [`MAX_REQUEST_AGE_MS`] was already answered 504 and is dropped, not acted on late.
    #[serde(default)]
    pub sent_at_ms: Option<i64>,
}

/// How old a request may be when the run reads it (the API waits 2 s for the answer).
pub const MAX_REQUEST_AGE_MS: i64 = 2_000;

/// The run's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub accepted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Where the control socket of run `run_id` of the store at `db` lives.
pub fn socket_path(db: &Path, run_id: i64) -> PathBuf {
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join("run").join(format!("{run_id}.sock"))
}

/// What a run's watch holds for control: the socket (bound once the run's id is known,
/// which a background store open delays by a few milliseconds) and the live numbers.
pub struct RunControl {
    db: PathBuf,
    socket: Option<ControlSocket>,
    bind_failed: bool,
    live: Option<Arc<LiveStats>>,
}

impl RunControl {
    pub fn new(db: PathBuf, live: Option<Arc<LiveStats>>) -> RunControl {
        RunControl {
            db,
            socket: None,
            bind_failed: false,
            live,
        }
    }

    /// The listening socket, once bound: readable when a client connects, so the loop can
    /// wake for it instead of waiting for its next check.
    pub fn wake_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.socket.as_ref().map(|socket| socket.listener.as_raw_fd())
    }

    /// A client is connected whose request line has not fully arrived yet.
    pub fn request_in_progress(&self) -> bool {
        self.socket
            .as_ref()
            .is_some_and(|socket| !socket.pending.is_empty())
    }

    /// A user's request that arrived since the last call, as a stop request and the
    /// numbers for its decision event. Never blocks.
    pub fn user_stop(&mut self, record: &RunRecorder) -> Option<(StopRequest, Value)> {
        if self.socket.is_none() && !self.bind_failed {
            let run_id = record.run_id_now()?;
            if let Some(live) = &self.live {
                live.store_ready.store(true, Ordering::Relaxed);
            }
            let path = socket_path(&self.db, run_id);
            match ControlSocket::bind(&path) {
                Ok(socket) => self.socket = Some(socket),
                Err(e) => {
                    self.bind_failed = true;
                    log::warn!(
                        "run {run_id}: no control socket at {} ({e}); the API cannot stop this run",
                        path.display()
                    );
                }
            }
        }
        let request = self.socket.as_mut()?.poll()?;
        let reason = format!(
            "{} requested by a user via the API from {}{}",
            request.action.name(),
            request.client,
            request
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        let numbers = json!({
            "verdict": request.action.name(),
            "client": request.client,
            "control_event_id": request.event_id,
            "user_reason": request.reason,
        });
        Some((
            StopRequest {
                by: Stopper::User,
                kind: request.action.stop_kind(),
                reason,
            },
            numbers,
        ))
    }

    pub fn started(&self) {
        if let Some(live) = &self.live {
            live.running.store(true, Ordering::Relaxed);
        }
    }

    pub fn begin_attempt(&self) {
        if let Some(live) = &self.live {
            live.begin_attempt();
        }
    }

    pub fn observe(&self, sample: &crate::sample::Sample, record: &RunRecorder) {
        if let Some(live) = &self.live {
            live.observe(sample);
            live.samples_dropped
                .store(record.samples_refused(), Ordering::Relaxed);
        }
    }
}

/// The listening end, owned by the run; the socket file is removed on drop.
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    pending: Vec<(UnixStream, Vec<u8>, Instant)>,
}

impl ControlSocket {
    /// Binds `path` (replacing a stale file left by a run that died), mode 0600 in a 0700
    /// directory, non-blocking. The socket is bound under a temporary name, given its mode,
    /// then renamed into place, so `path` never exists with the mode bind(2) gave it.
    pub fn bind(path: &Path) -> io::Result<ControlSocket> {
        if let Some(dir) = path.parent() {
            crate::evidence::location::create_private_dir(dir)?;
        }
        match fs::remove_file(path) {
            Ok(()) => log::debug!("removed a stale control socket {}", path.display()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = path.with_file_name(format!(".{name}.{}.new", std::process::id()));
        let _ = fs::remove_file(&staging);
        let listener = UnixListener::bind(&staging)?;
        let placed = fs::set_permissions(&staging, fs::Permissions::from_mode(0o600))
            .and_then(|()| fs::rename(&staging, path));
        if let Err(e) = placed {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
        listener.set_nonblocking(true)?;
        Ok(ControlSocket {
            listener,
            path: path.to_path_buf(),
            pending: Vec::new(),
        })
    }

    /// Accepts every connection in the queue, non-blocking.
    fn accept_waiting(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_ok() {
                        self.pending.push((stream, Vec::new(), Instant::now()));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    }

    /// Takes what has arrived, without blocking; returns the first complete request.
    pub fn poll(&mut self) -> Option<UserRequest> {
        // Asked four times a second for the whole run: a poll(2) says "nobody" for a
        // fraction of what a refused accept costs (idle CPU, see benches/passthrough).
        let waiting = fd::poll_readable(self.listener.as_fd(), 0).unwrap_or(true);
        if waiting {
            self.accept_waiting();
        }
        let mut found = None;
        let mut keep = Vec::with_capacity(self.pending.len());
        for (mut stream, mut buf, since) in std::mem::take(&mut self.pending) {
            if found.is_some() {
                keep.push((stream, buf, since));
                continue;
            }
            match read_available(&mut stream, &mut buf) {
                Err(_) => continue,
                Ok(eof) => match buf.iter().position(|b| *b == b'\n') {
                    Some(end) => {
                        let reply = match serde_json::from_slice::<UserRequest>(&buf[..end]) {
                            Ok(request)
                                if request.sent_at_ms.is_some_and(|at| {
                                    crate::evidence::now_ms() - at > MAX_REQUEST_AGE_MS
                                }) =>
                            {
                                Reply {
                                    accepted: false,
                                    detail: Some("the request is too old; its client has given up".into()),
                                }
                            }
                            Ok(request) => {
                                found = Some(request);
                                Reply {
                                    accepted: true,
                                    detail: None,
                                }
                            }
                            Err(e) => Reply {
                                accepted: false,
                                detail: Some(format!("bad control request: {e}")),
                            },
                        };
                        write_reply(&mut stream, &reply);
                    }
                    None if eof || buf.len() > MAX_LINE || since.elapsed() > PENDING_DEADLINE => {}
                    None => keep.push((stream, buf, since)),
                },
            }
        }
        // The API's liveness probes connect and close at once and are gone by now; if
        // anything else piles up, the oldest waiters go first.
        if keep.len() > MAX_PENDING {
            keep.drain(..keep.len() - MAX_PENDING);
        }
        self.pending = keep;
        found
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Reads without blocking; `Ok(true)` at end of stream.
fn read_available(stream: &mut UnixStream, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > MAX_LINE {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One short line into an empty socket buffer: does not block in practice, and a client
/// that went away only loses its answer.
fn write_reply(stream: &mut UnixStream, reply: &Reply) {
    if let Ok(mut line) = serde_json::to_vec(reply) {
        line.push(b'\n');
        let _ = stream.write_all(&line);
    }
}

/// Why a request could not be delivered.
#[derive(Debug)]
pub enum ControlError {
    /// Nobody accepts on the socket: the run has ended or died.
    Unreachable(io::Error),
    /// The run did not answer in time (it may be stopping already).
    NoAnswer(io::Error),
    Refused(String),
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::Unreachable(e) => write!(f, "the run's control socket does not answer ({e})"),
            ControlError::NoAnswer(e) => write!(f, "the run did not answer its control socket ({e})"),
            ControlError::Refused(why) => write!(f, "the run refused the request: {why}"),
        }
    }
}

/// Connects to a run's control socket: the run is alive if it succeeds.
pub fn connect(path: &Path) -> Result<UnixStream, ControlError> {
    UnixStream::connect(path).map_err(ControlError::Unreachable)
}

/// Sends `request` on a connection from [`connect`] and waits up to `timeout` for the answer.
pub fn send(stream: UnixStream, request: &UserRequest, timeout: Duration) -> Result<(), ControlError> {
    let mut line = serde_json::to_vec(request).map_err(|e| ControlError::Refused(e.to_string()))?;
    line.push(b'\n');
    stream
        .set_write_timeout(Some(timeout))
        .and_then(|()| stream.set_read_timeout(Some(timeout)))
        .and_then(|()| (&stream).write_all(&line))
        .map_err(ControlError::Unreachable)?;
    let mut answer = String::new();
    BufReader::new((&stream).take(MAX_LINE as u64))
        .read_line(&mut answer)
        .map_err(ControlError::NoAnswer)?;
    if answer.is_empty() {
        return Err(ControlError::NoAnswer(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed without an answer",
        )));
    }
    match serde_json::from_str::<Reply>(&answer) {
        Ok(Reply { accepted: true, .. }) => Ok(()),
        Ok(Reply { detail, .. }) => Err(ControlError::Refused(detail.unwrap_or_default())),
        Err(e) => Err(ControlError::Refused(format!("unreadable answer: {e}"))),
    }
}

/// The live numbers of a run for `run --listen`'s /metrics. Written by the loop thread
/// only, read by API threads; relaxed atomics, no locks.
#[derive(Debug, Default)]
pub struct LiveStats {
    pub cpu_micros: AtomicU64,
    pub rss_bytes: AtomicU64,
    pub processes: AtomicU64,
    pub stdout_bytes: AtomicU64,
    pub stderr_bytes: AtomicU64,
    pub lines: AtomicU64,
    pub samples: AtomicU64,
    pub samples_dropped: AtomicU64,
    /// Milliseconds of run time at the last sample, to turn CPU percent into seconds.
    last_sample_ms: AtomicU64,
    pub running: AtomicBool,
    /// The run's recorder has opened the store: the API's connections, which never create
    /// it, can open now.
    pub store_ready: AtomicBool,
}

impl LiveStats {
    pub fn observe(&self, sample: &crate::sample::Sample) {
        let at_ms = u64::try_from(sample.at.as_millis()).unwrap_or(u64::MAX);
        let previous = self.last_sample_ms.swap(at_ms, Ordering::Relaxed);
        let interval_ms = at_ms.saturating_sub(previous) as f64;
        let cpu = (sample.cpu_percent / 100.0 * interval_ms * 1000.0).max(0.0) as u64;
        self.cpu_micros.fetch_add(cpu, Ordering::Relaxed);
        self.rss_bytes.store(sample.rss_bytes, Ordering::Relaxed);
        self.processes
            .store(u64::from(sample.processes), Ordering::Relaxed);
        self.stdout_bytes
            .fetch_add(sample.stdout_bytes, Ordering::Relaxed);
        self.stderr_bytes
            .fetch_add(sample.stderr_bytes, Ordering::Relaxed);
        self.lines.fetch_add(sample.lines, Ordering::Relaxed);
        self.samples.fetch_add(1, Ordering::Relaxed);
    }

    /// A new attempt starts its clock at zero.
    pub fn begin_attempt(&self) {
        self.last_sample_ms.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::testutil::TempDir;

    #[test]
    fn a_request_travels_and_is_answered() {
        let tmp = TempDir::new("control");
        let path = socket_path(&tmp.db(), 7);
        assert_eq!(path, tmp.path().join("run/7.sock"));
        let mut socket = ControlSocket::bind(&path).expect("bind");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(path.parent().expect("run dir"))
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(
            names,
            ["7.sock"],
            "the socket under its name only, no staging file left"
        );
        assert_eq!(socket.poll(), None, "nothing yet");
        let request = UserRequest {
            action: UserAction::Kill,
            event_id: Some(3),
            client: "127.0.0.1:9".into(),
            reason: None,
            sent_at_ms: Some(crate::evidence::now_ms()),
        };
        let sent = request.clone();
        let stream = connect(&path).expect("connect");
        let client = std::thread::spawn(move || send(stream, &sent, Duration::from_secs(5)));
        let mut got = None;
        for _ in 0..200 {
            got = socket.poll();
            if got.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(got, Some(request));
        assert!(client.join().expect("client thread").is_ok());
        drop(socket);
        assert!(!path.exists(), "removed on drop");
        assert!(matches!(connect(&path), Err(ControlError::Unreachable(_))));
    }

    #[test]
    fn a_request_its_client_gave_up_on_is_not_acted_on() {
        let tmp = TempDir::new("control-old");
        let path = socket_path(&tmp.db(), 3);
        let mut socket = ControlSocket::bind(&path).expect("bind");
        let old = UserRequest {
            action: UserAction::Kill,
            event_id: None,
            client: "127.0.0.1:9".into(),
            reason: None,
            sent_at_ms: Some(crate::evidence::now_ms() - 10 * MAX_REQUEST_AGE_MS),
        };
        let stream = connect(&path).expect("connect");
        let client = std::thread::spawn(move || send(stream, &old, Duration::from_secs(5)));
        let mut answered = false;
        for _ in 0..200 {
            assert_eq!(socket.poll(), None, "an old request is dropped");
            if client.is_finished() {
                answered = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(answered);
        let result = client.join().expect("client thread");
        assert!(matches!(result, Err(ControlError::Refused(_))), "{result:?}");
    }

    #[test]
    fn a_stale_socket_file_refuses_connections() {
        let tmp = TempDir::new("stale");
        let path = socket_path(&tmp.db(), 1);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        // What a SIGKILLed run leaves behind: the file, and nobody listening on it.
        drop(UnixListener::bind(&path).expect("bind"));
        assert!(path.exists());
        assert!(matches!(connect(&path), Err(ControlError::Unreachable(_))));
        let rebound = ControlSocket::bind(&path).expect("a stale file is replaced");
        assert!(connect(&path).is_ok());
        drop(rebound);
    }
}
