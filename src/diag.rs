//! FlowForge's own messages on stderr — errors, the one-line stop report, log records —
//! through one writer that can neither panic nor hang.
//!
//! The standard stderr print macro panics when stderr is closed or a broken pipe (with
//! `panic = "abort"` that is exit 134 instead of 124), and it blocks while the reader of
//! stderr is stalled or the terminal is stopped with Ctrl-S, which would hold the exit
//! status hostage. So every
//! message goes through [`write`]: stderr is reopened once as its own non-blocking open
//! file description (see `fd::reopen_nonblocking_for_write`; the shared one keeps its
//! flags), a write that would block waits for writability within a small budget shared by
//! the whole process, and any error (EPIPE, EBADF, EIO from a vanished terminal) drops the
//! message. Once the budget is spent, messages that cannot be written at once are dropped:
//! a stderr nobody reads costs at most [`WAIT_BUDGET`] per run.

use flowforge_platform::fd::{self, FileKind};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long all messages of the process together may wait for a stalled stderr.
const WAIT_BUDGET: Duration = Duration::from_millis(250);

struct Stderr {
    /// Our own non-blocking description of fd 2, when it can stall and could be reopened.
    reopened: Option<OwnedFd>,
    /// Whether writes to fd 2 can wait on a reader at all.
    can_stall: bool,
    budget: Duration,
}

impl Stderr {
    fn open() -> Stderr {
        let raw = fd::stdio(2);
        let can_stall = fd::file_kind(raw).is_ok_and(FileKind::can_stall);
        Stderr {
            reopened: can_stall
                .then(|| fd::reopen_nonblocking_for_write(raw).ok())
                .flatten(),
            can_stall,
            budget: WAIT_BUDGET,
        }
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match &self.reopened {
            Some(own) => own.as_fd(),
            None => fd::stdio(2),
        }
    }

    /// Waits for writability within what is left of the budget; `false` when it is spent.
    fn wait(&mut self) -> bool {
        if self.budget.is_zero() {
            return false;
        }
        let began = Instant::now();
        let ms = self.budget.as_millis().clamp(1, 1000) as i32;
        let ready = fd::poll_writable(self.fd(), ms).unwrap_or(false);
        self.budget = self.budget.saturating_sub(began.elapsed());
        ready
    }

    fn write_all(&mut self, mut bytes: &[u8]) {
        // A blocking description we could not reopen (a socket): write only what poll says
        // fits, one pipe buffer's worth at a time.
        let blocking = self.can_stall && self.reopened.is_none();
        while !bytes.is_empty() {
            if blocking && !self.wait() {
                return;
            }
            let piece = if blocking {
                &bytes[..bytes.len().min(4096)]
            } else {
                bytes
            };
            match fd::write(self.fd(), piece) {
                Ok(0) => return,
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.wait() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }
}

fn stderr() -> &'static Mutex<Stderr> {
    static STDERR: OnceLock<Mutex<Stderr>> = OnceLock::new();
    STDERR.get_or_init(|| Mutex::new(Stderr::open()))
}

/// Writes `bytes` to stderr as far as it will take them without waiting past the budget.
pub fn write(bytes: &[u8]) {
    let mut stderr = match stderr().lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    stderr.write_all(bytes);
}

/// Writes one `flowforge: MESSAGE` line.
pub fn line(message: fmt::Arguments<'_>) {
    write(format!("flowforge: {message}\n").as_bytes());
}

/// `diag!("…", args)`: one `flowforge: …` line on stderr (see the module docs).
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::diag::line(format_args!($($arg)*))
    };
}
pub(crate) use diag;

/// [`write`] as an `io::Write`: the env_logger target and the evidence spill.
pub struct Writer;

impl io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `what failed: why`, following the error's source chain.
pub fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Writes to stdout outside the supervisor (help, version); a closed or broken stdout is
/// not an error worth reporting.
pub fn stdout(bytes: &[u8]) {
    use io::Write;
    let mut out = io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}
