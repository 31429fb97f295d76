//! Helpers for black-box tests of the real `flowforge` binary against real process trees.
//!
//! Every test gets a [`Sandbox`]: a fresh `FLOWFORGE_HOME` (the binary may keep its evidence
//! database there, so `FLOWFORGE_DB` is removed from the environment) and a unique marker in
//! the environment of the `flowforge` process, which every process of the tree inherits. The
//! marker is how a test finds its tree in `/proc/*/environ` — including double-forked,
//! `setsid` escapees that left the process group and the session — and asserts that none of
//! it survives the run. Zombies have an empty environ, so they are checked separately,
//! through the parent links in `/proc/<pid>/stat`.
//!
//! Waiting is always a bounded poll ([`wait_until`]), never a fixed sleep: the machine may be
//! loaded (two cores, tests in parallel), so every deadline is generous and only bounds the
//! test's runtime when something is broken.

#![allow(dead_code)]

pub mod http;
pub mod json;

pub use json::{ndjson_lines, Json};

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_flowforge");
/// The environment variable that tags every process of a test's tree.
pub const MARKER_VAR: &str = "FF_TEST_MARKER";
/// How long one `flowforge` run may take before the test gives up on it (only reached when
/// something hangs). Generous: a debug build pushing 1.5 M lines through a 2-core runner
/// busy with other work (and a niced test run) was seen to need over a minute.
pub const RUN_LIMIT: Duration = Duration::from_secs(240);
/// How long a tree may take to disappear after `flowforge` has exited.
pub const SURVIVOR_GRACE: Duration = Duration::from_secs(3);

/// Polls `cond` until it holds or `timeout` passes; returns whether it held. Starts fast
/// (1 ms) and backs off to 20 ms, so quick events are seen quickly and slow ones cost little.
pub fn wait_until(mut cond: impl FnMut() -> bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The real python3 executable (pyenv shims are shell scripts; resolving once saves a
/// process per use on a loaded machine).
pub fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 is needed by these tests");
        assert!(out.status.success(), "python3 does not run");
        String::from_utf8(out.stdout)
            .expect("python path is UTF-8")
            .trim()
            .to_string()
    })
}

/// FNV-1a over a byte string: enough to compare outputs without keeping both.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Sends a signal by name (`TERM`, `INT`, `KILL`, ...) to a pid with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "kill -s {signal} {pid} failed");
}

/// One process as seen in /proc.
#[derive(Debug, Clone)]
pub struct ProcInfo {
    pub pid: u32,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    pub state: char,
    /// The process name (`/proc/PID/comm`, as in the stat line).
    pub comm: String,
    pub cmdline: String,
}

/// Reads pid, ppid, state and command line of one process; `None` if it is gone.
pub fn proc_info(pid: u32) -> Option<ProcInfo> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let open = stat.iter().position(|&b| b == b'(')?;
    let comm = String::from_utf8_lossy(stat.get(open + 1..close)?).into_owned();
    let rest = String::from_utf8_lossy(&stat[close + 1..]).into_owned();
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            String::from_utf8_lossy(&raw)
                .split('\0')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(ProcInfo {
        pid,
        ppid,
        pgrp,
        session,
        state,
        comm,
        cmdline,
    })
}

/// Every pid currently in /proc.
pub fn all_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Direct children of `pid`, from every thread's `children` list.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                kids.extend(
                    text.split_ascii_whitespace()
                        .filter_map(|s| s.parse::<u32>().ok()),
                );
            }
        }
    }
    kids
}

/// Zombie children of any of `parents`.
pub fn zombies_below(parents: &[u32]) -> Vec<ProcInfo> {
    all_pids()
        .into_iter()
        .filter_map(proc_info)
        .filter(|p| p.state == 'Z' && parents.contains(&p.ppid))
        .collect()
}

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// A test's private world: its FLOWFORGE_HOME and the marker of its process tree.
pub struct Sandbox {
    pub home: PathBuf,
    pub marker: String,
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let unique = format!("{name}-{}-{n}-{nanos:09}", std::process::id());
        let home = std::env::temp_dir().join(format!("flowforge-test-{unique}"));
        std::fs::create_dir_all(&home).expect("create the test's FLOWFORGE_HOME");
        Sandbox {
            home,
            marker: format!("fft-{unique}"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }

    /// The evidence database a run in this sandbox records into by default.
    pub fn db(&self) -> PathBuf {
        self.home.join("flowforge.db")
    }

    /// `flowforge ARGS` with the sandbox's environment, run in its home; stdin is
    /// /dev/null, stdout and stderr are pipes (override as needed).
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        self.command_of(BIN, args)
    }

    /// Any program with the sandbox's environment (for wrappers such as script(1)).
    pub fn command_of<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.home)
            .env("FLOWFORGE_HOME", &self.home)
            .env_remove("FLOWFORGE_DB")
            .env_remove("RUST_LOG")
            // A test run inside CI must not write to the real job summary or log.
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITLAB_CI")
            .env(MARKER_VAR, &self.marker)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `flowforge ARGS` to its end, then asserts that its tree is gone.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Outcome {
        let outcome = self.spawn(self.command(args)).finish();
        self.assert_no_survivors();
        outcome
    }

    pub fn spawn(&self, mut command: Command) -> Running {
        let mut child = command.spawn().expect("spawn the command under test");
        let stdout = Capture::start(child.stdout.take());
        let stderr = Capture::start(child.stderr.take());
        let stdin = child.stdin.take();
        Running {
            child,
            stdin,
            stdout,
            stderr,
            started: Instant::now(),
            marker: self.marker.clone(),
        }
    }

    /// Living processes that carry this sandbox's marker.
    pub fn survivors(&self) -> Vec<ProcInfo> {
        survivors_of(&self.marker)
    }

    /// Fails the test (listing and killing them) if processes of the tree are still alive
    /// after [`SURVIVOR_GRACE`].
    pub fn assert_no_survivors(&self) {
        self.assert_no_survivors_within(SURVIVOR_GRACE);
    }

    pub fn assert_no_survivors_within(&self, grace: Duration) {
        if wait_until(|| self.survivors().is_empty(), grace) {
            return;
        }
        let left = self.survivors();
        kill_all(&left);
        panic!(
            "{} process(es) of the tree survived {:?}:\n{}",
            left.len(),
            grace,
            left.iter()
                .map(|p| format!(
                    "  pid {} ppid {} pgrp {} session {} [{}] {}",
                    p.pid, p.ppid, p.pgrp, p.session, p.state, p.cmdline
                ))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // A failed test must not leak its tree into the others' (or the machine's) way.
        kill_all(&self.survivors());
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn survivors_of(marker: &str) -> Vec<ProcInfo> {
    let wanted = format!("{MARKER_VAR}={marker}");
    let me = std::process::id();
    all_pids()
        .into_iter()
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|&b| b == 0).any(|entry| entry == wanted.as_bytes()))
                .unwrap_or(false)
        })
        .filter_map(proc_info)
        .filter(|p| p.state != 'Z')
        .collect()
}

fn kill_all(procs: &[ProcInfo]) {
    for p in procs {
        let _ = Command::new("kill")
            .args(["-s", "KILL", &p.pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

/// A stream read to its end on a thread, readable while it grows.
#[derive(Clone)]
pub struct Capture {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: Arc<AtomicBool>,
}

impl Capture {
    fn start<R: Read + Send + 'static>(source: Option<R>) -> Capture {
        let capture = Capture {
            bytes: Arc::new(Mutex::new(Vec::new())),
            done: Arc::new(AtomicBool::new(source.is_none())),
        };
        if let Some(mut source) = source {
            let shared = capture.clone();
            std::thread::spawn(move || {
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    match source.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => shared
                            .bytes
                            .lock()
                            .expect("capture lock")
                            .extend_from_slice(&chunk[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                shared.done.store(true, Ordering::SeqCst);
            });
        }
        capture
    }

    pub fn snapshot(&self) -> Vec<u8> {
        self.bytes.lock().expect("capture lock").clone()
    }

    pub fn len(&self) -> usize {
        self.bytes.lock().expect("capture lock").len()
    }

    pub fn contains(&self, needle: &[u8]) -> bool {
        let bytes = self.bytes.lock().expect("capture lock");
        needle.is_empty() || bytes.windows(needle.len()).any(|w| w == needle)
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }
}

/// A `flowforge` (or wrapper) process the test is driving.
pub struct Running {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stdout: Capture,
    pub stderr: Capture,
    pub started: Instant,
    marker: String,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Waits for `needle` on stdout; panics with both streams if it does not come.
    pub fn expect_stdout(&self, needle: &str, timeout: Duration) {
        if !wait_until(|| self.stdout.contains(needle.as_bytes()), timeout) {
            panic!(
                "no {needle:?} on stdout within {timeout:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&self.stdout.snapshot()),
                String::from_utf8_lossy(&self.stderr.snapshot())
            );
        }
    }

    pub fn expect_stderr(&self, needle: &str, timeout: Duration) {
        if !wait_until(|| self.stderr.contains(needle.as_bytes()), timeout) {
            panic!(
                "no {needle:?} on stderr within {timeout:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&self.stdout.snapshot()),
                String::from_utf8_lossy(&self.stderr.snapshot())
            );
        }
    }

    /// Writes to the process's stdin (which must have been piped).
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        self.stdin
            .as_mut()
            .expect("stdin was piped")
            .write_all(bytes)
            .expect("write to stdin");
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits (at most [`RUN_LIMIT`]) for the process to exit and its streams to end. A
    /// stream still open after a few seconds (held by a survivor, which the caller's
    /// survivor check reports) is returned as read so far.
    pub fn finish(mut self) -> Outcome {
        self.stdin = None;
        let mut status = None;
        let exited = wait_until(
            || {
                status = self.child.try_wait().expect("try_wait");
                status.is_some()
            },
            RUN_LIMIT,
        );
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
            kill_all(&survivors_of(&self.marker));
            panic!(
                "still running after {RUN_LIMIT:?}\nstdout ({}): {}\nstderr ({}): {}",
                self.stdout.len(),
                tail_text(&self.stdout.snapshot()),
                self.stderr.len(),
                tail_text(&self.stderr.snapshot())
            );
        }
        let elapsed = self.started.elapsed();
        wait_until(
            || self.stdout.is_done() && self.stderr.is_done(),
            Duration::from_secs(5),
        );
        Outcome {
            status: status.expect("exited"),
            stdout: self.stdout.snapshot(),
            stderr: self.stderr.snapshot(),
            elapsed,
        }
    }
}

/// How a process ended and what it wrote.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// From spawn to exit.
    pub elapsed: Duration,
}

impl Outcome {
    /// The exit code; panics (with the output) if the process died of a signal.
    pub fn code(&self) -> i32 {
        match self.status.code() {
            Some(code) => code,
            None => panic!(
                "died of signal {:?} instead of exiting\n{}",
                self.status.signal(),
                self.describe()
            ),
        }
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The non-empty lines of stderr.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr_text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn describe(&self) -> String {
        format!(
            "status: {:?}, elapsed {:?}\nstdout ({} bytes): {}\nstderr: {}",
            self.status,
            self.elapsed,
            self.stdout.len(),
            String::from_utf8_lossy(&self.stdout[..self.stdout.len().min(2000)]),
            self.stderr_text()
        )
    }

    /// Asserts the exit code, showing everything on failure.
    pub fn assert_code(&self, expected: i32) {
        assert_eq!(self.code(), expected, "unexpected exit code\n{}", self.describe());
    }
}

/// Writes an executable (or not) script into `dir`.
pub fn write_file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

/// What a statement run with [`sqlite3`] did: `status.success()` and the error text, the
/// shape of the `sqlite3` CLI's output, so tests read the same as with it.
pub struct SqlOutcome {
    pub status: SqlStatus,
    pub stderr: Vec<u8>,
}

pub struct SqlStatus(bool);

impl SqlStatus {
    pub fn success(&self) -> bool {
        self.0
    }
}

/// Opens `db` as a second, independent connection (5 s busy timeout), through rusqlite: the
/// tests need no `sqlite3` CLI.
fn connect(db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    conn
}

/// Runs the statements `sql` on `db` and returns what they did, for statements that are
/// expected to fail.
pub fn sqlite3(db: &Path, sql: &str) -> SqlOutcome {
    match connect(db).execute_batch(sql) {
        Ok(()) => SqlOutcome {
            status: SqlStatus(true),
            stderr: Vec::new(),
        },
        Err(e) => SqlOutcome {
            status: SqlStatus(false),
            stderr: e.to_string().into_bytes(),
        },
    }
}

/// The rows of a query as JSON objects, columns in order (what `sqlite3 -json` printed);
/// panics if the query fails.
pub fn query(db: &Path, sql: &str) -> Vec<Json> {
    let conn = connect(db);
    let mut stmt = conn
        .prepare(sql)
        .unwrap_or_else(|e| panic!("query {} {sql:?} failed: {e}", db.display()));
    let names: Vec<String> = stmt.column_names().iter().map(|n| n.to_string()).collect();
    let rows = stmt
        .query_map([], |row| {
            let mut members = Vec::new();
            for (i, name) in names.iter().enumerate() {
                use rusqlite::types::ValueRef;
                let value = match row.get_ref(i)? {
                    ValueRef::Null => Json::Null,
                    ValueRef::Integer(n) => Json::Number(n as f64),
                    ValueRef::Real(x) => Json::Number(x),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Json::String(String::from_utf8_lossy(t).into_owned())
                    }
                };
                members.push((name.clone(), value));
            }
            Ok(Json::Object(members))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
    rows.unwrap_or_else(|e| panic!("query {} {sql:?} failed: {e}", db.display()))
}

/// A helper process outside the tree under test (a lock holder, a hasher): killed by pid
/// and reaped when dropped, so a failing test does not leave it behind.
pub struct Helper(pub Child);

impl Helper {
    /// Waits for the helper to exit by itself (at most [`RUN_LIMIT`]).
    pub fn wait(mut self) -> std::process::Output {
        let mut status = None;
        let exited = wait_until(
            || {
                status = self.0.try_wait().expect("try_wait");
                status.is_some()
            },
            RUN_LIMIT,
        );
        assert!(exited, "helper {} did not exit", self.0.id());
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let Some(mut out) = self.0.stdout.take() {
            let _ = out.read_to_end(&mut stdout);
        }
        if let Some(mut err) = self.0.stderr.take() {
            let _ = err.read_to_end(&mut stderr);
        }
        std::process::Output {
            status: status.expect("exited"),
            stdout,
            stderr,
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A `sha256sum` reading its stdin: hand [`Sha256Pipe::input`] to a producer, then read
/// the digest with [`Sha256Pipe::digest`].
pub struct Sha256Pipe {
    sum: Helper,
    input: Option<Stdio>,
}

impl Sha256Pipe {
    pub fn new() -> Sha256Pipe {
        let mut sum = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sha256sum runs");
        let stdin = sum.stdin.take().expect("piped stdin");
        Sha256Pipe {
            sum: Helper(sum),
            input: Some(Stdio::from(stdin)),
        }
    }

    /// The write end, for the producer's stdout (only once).
    pub fn input(&mut self) -> Stdio {
        self.input.take().expect("the input is handed out once")
    }

    pub fn digest(mut self) -> String {
        drop(self.input.take());
        let out = self.sum.wait();
        assert!(out.status.success(), "sha256sum failed");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .expect("a digest")
            .to_string()
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), for payloads that are not text.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The last few KiB of a stream, as text: enough to see where a run stood, without
/// pasting a million lines into a failure message.
fn tail_text(bytes: &[u8]) -> String {
    const TAIL: usize = 4096;
    let from = bytes.len().saturating_sub(TAIL);
    let skipped = if from > 0 { "…" } else { "" };
    format!("{skipped}{}", String::from_utf8_lossy(&bytes[from..]))
}
