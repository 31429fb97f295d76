//! Every operating-system primitive FlowForge uses, and every `unsafe` block in the project.
//!
//! The main crate stays safe Rust (`#![deny(unsafe_code)]`); whatever needs a raw syscall
//! lives here behind a small function that returns `std::io::Result` and std types, so no
//! `libc` or raw pointer leaks into the supervisor. Each module owns one concern and names
//! the man page it relies on:
//!
//! - [`fd`]: pipes, socket pairs, non-blocking flags, terminals, raw read/write.
//! - [`inherited`]: the signal dispositions and mask the process was started with.
//! - [`spawn`]: starting the shim (a fork, or a re-exec on macOS) and the command.
//! - [`shim`]: the session-leader shim that owns the process tree (see its docs).
//! - [`tree`]: descendants of a pid, per-process CPU ticks and resident memory.
//! - [`reap`]: pidfd exit notification and non-blocking `waitpid` loops.
//! - [`kill`]: signalling a process, a process group, or a whole tree.
//! - [`pty`]: pseudo-terminals, window size, controlling terminal.
//! - [`process`]: process attributes: subreaper, parent-death signal, signal dispositions.

pub mod fd;
pub mod inherited;
pub mod kill;
pub mod process;
pub mod pty;
pub mod reap;
pub mod shim;
pub mod spawn;
pub mod tree;

/// Turns a `-1` return into the current `errno` as an `io::Error`, at once, before anything
/// else can overwrite errno.
pub(crate) fn check(ret: libc::c_int) -> std::io::Result<libc::c_int> {
    if ret == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Like [`check`] for calls returning `ssize_t`.
pub(crate) fn check_size(ret: libc::ssize_t) -> std::io::Result<usize> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}
