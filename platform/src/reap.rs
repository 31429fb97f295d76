//! Exit notification and reaping.
//!
//! The direct child is watched through a pidfd (pidfd_open(2), Linux ≥ 5.3): it becomes
//! readable when the process exits, so the event loop needs no SIGCHLD race to notice it.
//! Adopted descendants (we are a subreaper) have no pidfd; SIGCHLD wakes the loop and
//! [`reap_any`] collects every exited child with `waitpid(-1, WNOHANG)` until none is left,
//! so no zombie survives a wake-up.

#[cfg(target_os = "macos")]
use crate::check;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// Decodes a raw wait status (as from waitpid(2)). Stopped/continued statuses are not
    /// exits and yield `None`.
    pub fn from_raw(status: i32) -> Option<ExitStatus> {
        if libc::WIFEXITED(status) {
            Some(ExitStatus::Exited(libc::WEXITSTATUS(status)))
        } else if libc::WIFSIGNALED(status) {
            Some(ExitStatus::Signaled(libc::WTERMSIG(status)))
        } else {
            None
        }
    }

    /// The status a shell reports: the code, or 128+N for death by signal N.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal,
        }
    }
}

/// pidfd_open(2): a descriptor that becomes readable when `pid` exits.
#[cfg(target_os = "linux")]
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags, no pointers.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_long, 0 as libc::c_long) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

/// macOS: a kqueue with an `EVFILT_PROC`/`NOTE_EXIT` filter on `pid`; the kqueue descriptor
/// becomes readable when the process exits, which is what the event loop needs.
#[cfg(target_os = "macos")]
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: kqueue takes no arguments.
    let kq = check(unsafe { libc::kqueue() })?;
    // SAFETY: kqueue returned a new descriptor that nobody else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(kq) };
    let change = libc::kevent {
        ident: pid as libc::uintptr_t,
        filter: libc::EVFILT_PROC,
        flags: libc::EV_ADD | libc::EV_ONESHOT,
        fflags: libc::NOTE_EXIT,
        data: 0,
        udata: std::ptr::null_mut(),
    };
    // SAFETY: one valid change record, no event list requested.
    check(unsafe { libc::kevent(kq, &change, 1, std::ptr::null_mut(), 0, std::ptr::null()) })?;
    Ok(owned)
}

/// One `waitpid(-1, WNOHANG)`: `Ok(Some((pid, status)))` for a reaped child, `Ok(None)`
/// when children exist but none has exited, `Err` with `ECHILD` when there are no children.
pub fn reap_any() -> io::Result<Option<(i32, ExitStatus)>> {
    loop {
        let mut status = 0;
        // SAFETY: `status` is valid writable memory.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match pid {
            -1 => {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            0 => return Ok(None),
            pid => match ExitStatus::from_raw(status) {
                Some(exit) => return Ok(Some((pid, exit))),
                None => continue,
            },
        }
    }
}

/// Reaps `pid`, a child that has exited already (or is about to): a blocking `waitpid` on
/// that pid alone, retried on EINTR. Its status is not wanted.
pub fn reap_exited(pid: i32) {
    let mut status = 0;
    // SAFETY: `status` is valid writable memory.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

/// Whether an error from [`reap_any`] means "no children left".
pub fn is_no_children(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::ECHILD)
}

/// Whether this process has any child at all, running or exited, without reaping one: a
/// `waitid(P_ALL, WNOHANG | WNOWAIT)`. One call where a walk of `/proc` takes a dozen, for
/// the question asked at every run's end, when the answer is nearly always no.
pub fn has_children() -> io::Result<bool> {
    loop {
        // SAFETY: siginfo_t is plain data; zeroed is a valid value to pass in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is valid writable memory; WNOWAIT leaves any exited child waitable.
        let found = unsafe {
            libc::waitid(
                libc::P_ALL,
                0,
                &mut info,
                libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if found == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        if is_no_children(&err) {
            return Ok(false);
        }
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_codes_follow_sh() {
        assert_eq!(ExitStatus::Exited(3).shell_code(), 3);
        assert_eq!(ExitStatus::Signaled(9).shell_code(), 137);
        assert_eq!(ExitStatus::Signaled(11).shell_code(), 139);
    }

    #[test]
    fn a_child_counts_until_it_is_reaped_and_the_look_reaps_nothing() {
        use std::os::unix::process::ExitStatusExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        assert!(has_children().expect("waitid"), "a running child");
        child.kill().expect("kill");
        let stat = format!("/proc/{}/stat", child.id());
        let zombie = || {
            std::fs::read_to_string(&stat).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
        };
        for _ in 0..2000 {
            if zombie() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(zombie(), "the killed child is a zombie");
        assert!(has_children().expect("waitid"), "an exited child not yet reaped");
        // WNOWAIT left it waitable: its status is still there for wait().
        let status = child.wait().expect("the zombie is still ours to reap");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn decodes_raw_statuses() {
        assert_eq!(ExitStatus::from_raw(3 << 8), Some(ExitStatus::Exited(3)));
        assert_eq!(ExitStatus::from_raw(9), Some(ExitStatus::Signaled(9)));
    }
}
