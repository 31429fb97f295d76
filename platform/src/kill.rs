//! Signalling: one process, one process group, or a whole tree.
//!
//! A kill target is a type (`Target::Process` vs `Target::Group`) so the ±pid convention of
//! kill(2) never appears at call sites. Tree signalling walks the descendants of a root
//! (see `tree`) and signals each, which reaches processes that left the group or the
//! session; callers repeat it until the tree is empty, because a process can fork between
//! the walk and the signal.

use crate::check;
use std::io;

/// Who receives a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Process(i32),
    Group(i32),
}

/// kill(2) to a process or (negative pid) a process group. `ESRCH` (already gone) is
/// reported as `Ok(false)`.
pub fn send(target: Target, signal: i32) -> io::Result<bool> {
    let pid = match target {
        Target::Process(pid) => pid,
        Target::Group(pgid) => -pgid,
    };
    if pid == 0 || pid == -1 || pid == 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to signal pid 0, -1 or 1",
        ));
    }
    // SAFETY: kill takes two integers; the guard above keeps us from broadcasting.
    match check(unsafe { libc::kill(pid, signal) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sends `signal` to every descendant of `root` (not `root` itself, nor any pid in
/// `spare`), followed by SIGCONT so stopped processes act on it. Returns how many processes
/// were signalled.
pub fn signal_descendants(root: i32, signal: i32, spare: &[i32]) -> usize {
    let mut signalled = 0;
    for pid in crate::tree::descendants(root) {
        if spare.contains(&pid) {
            continue;
        }
        if let Ok(true) = send(Target::Process(pid), signal) {
            signalled += 1;
            if signal != libc::SIGKILL && signal != libc::SIGCONT {
                let _ = send(Target::Process(pid), libc::SIGCONT);
            }
        }
    }
    signalled
}

pub use libc::{
    SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGPIPE, SIGQUIT, SIGTERM, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2,
    SIGWINCH,
};

/// The conventional name of a signal, for messages ("SIGTERM").
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGXCPU => "SIGXCPU",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}
