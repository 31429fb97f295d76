//! Pseudo-terminals: open a pair, size it, make it a controlling terminal.
//!
//! When FlowForge's own stdout is a terminal the child gets the slave side of a pty, so it
//! keeps colours and line buffering (isatty is true for it) exactly as it would without
//! FlowForge; FlowForge reads the master side. Echo is turned off on the slave because the
//! outer terminal already echoes what the user types (it stays in cooked mode, so Ctrl-C
//! reaches FlowForge as SIGINT and is forwarded to the child's process group).

use crate::check;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// openpty(3): `(master, slave)`, both close-on-exec.
pub fn openpty() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    // SAFETY: both out-pointers are valid; name, termios and winsize may be null.
    check(unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    })?;
    // SAFETY: openpty succeeded; both descriptors are new and owned by nobody else.
    let pair = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    use std::os::fd::AsFd;
    crate::fd::set_cloexec(pair.0.as_fd(), true)?;
    crate::fd::set_cloexec(pair.1.as_fd(), true)?;
    Ok(pair)
}

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    pub rows: u16,
    pub cols: u16,
}

/// ioctl(TIOCGWINSZ): the size of the terminal behind `fd`.
pub fn window_size(fd: BorrowedFd<'_>) -> io::Result<WindowSize> {
    // SAFETY: an all-zero winsize is a valid value for the kernel to overwrite.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize through the valid pointer.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) })?;
    Ok(WindowSize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// ioctl(TIOCSWINSZ): resizes the terminal; the kernel sends SIGWINCH to its foreground
/// process group.
pub fn set_window_size(fd: BorrowedFd<'_>, size: WindowSize) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize through the valid pointer.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) })?;
    Ok(())
}

/// Clears ECHO on a terminal (tcsetattr(3)).
pub fn disable_echo(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: `termios` is valid writable memory that tcgetattr fills on success.
    check(unsafe { libc::tcgetattr(fd.as_raw_fd(), termios.as_mut_ptr()) })?;
    // SAFETY: tcgetattr returned 0, so `termios` is initialised.
    let mut termios = unsafe { termios.assume_init() };
    termios.c_lflag &= !(libc::ECHO | libc::ECHONL);
    // SAFETY: `termios` is a valid, initialised termios.
    check(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &termios) })?;
    Ok(())
}

/// ioctl(TIOCSCTTY): makes the terminal the controlling terminal of the calling session
/// leader. Async-signal-safe.
pub fn make_controlling_terminal(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal).
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY as _, 0) })?;
    Ok(())
}
