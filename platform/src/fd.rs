//! File descriptors: pipes, socket pairs, flags, terminals and raw reads and writes.
//!
//! Every descriptor is born as an `OwnedFd` with `O_CLOEXEC`, so nothing leaks into the
//! child by accident; the one descriptor the shim must inherit is placed on fd 3 by
//! [`crate::spawn`] explicitly. Reads and writes take `BorrowedFd` so FlowForge's own
//! stdout and stderr (which it does not own) go through the same calls as the pipes.

use crate::{check, check_size};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// pipe(2) with both ends close-on-exec: `(read end, write end)`.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `fds` is a valid array of two ints that pipe2 fills on success.
        check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: `fds` is a valid array of two ints that pipe fills on success.
        check(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    }
    // SAFETY: pipe succeeded, so both descriptors are open and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(not(target_os = "linux"))]
    {
        set_cloexec(read.as_fd_borrowed(), true)?;
        set_cloexec(write.as_fd_borrowed(), true)?;
    }
    Ok((read, write))
}

/// socketpair(2) of connected Unix stream sockets, both close-on-exec. FlowForge keeps one
/// end and the shim the other: each sees end-of-file when the other process dies, however
/// it dies.
pub fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    #[cfg(target_os = "linux")]
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    let kind = libc::SOCK_STREAM;
    // SAFETY: `fds` is a valid array of two ints that socketpair fills on success.
    check(unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) })?;
    // SAFETY: socketpair succeeded, so both descriptors are open and owned by nobody else.
    let pair = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(not(target_os = "linux"))]
    {
        set_cloexec(pair.0.as_fd_borrowed(), true)?;
        set_cloexec(pair.1.as_fd_borrowed(), true)?;
    }
    Ok(pair)
}

/// Small helper so callers can borrow an `OwnedFd` without importing `AsFd`.
pub trait AsFdBorrowed {
    fn as_fd_borrowed(&self) -> BorrowedFd<'_>;
}

impl AsFdBorrowed for OwnedFd {
    fn as_fd_borrowed(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.as_fd()
    }
}

fn fcntl_getfl(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFL takes no pointer argument; `fd` is a valid open descriptor.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })
}

/// Current `O_NONBLOCK` state of the open file description behind `fd`.
pub fn is_nonblocking(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(fcntl_getfl(fd)? & libc::O_NONBLOCK != 0)
}

/// Sets or clears `O_NONBLOCK` (fcntl(2) F_SETFL). Note that the flag belongs to the open
/// file description, which may be shared with other processes.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let flags = fcntl_getfl(fd)?;
    let wanted = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if wanted != flags {
        // SAFETY: F_SETFL takes an int argument; `fd` is a valid open descriptor.
        check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, wanted) })?;
    }
    Ok(())
}

/// Sets or clears `FD_CLOEXEC` (fcntl(2) F_SETFD).
pub fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let value = if on { libc::FD_CLOEXEC } else { 0 };
    // SAFETY: F_SETFD takes an int argument; `fd` is a valid open descriptor.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, value) })?;
    Ok(())
}

/// Grows a pipe's kernel buffer (Linux `F_SETPIPE_SZ`); a larger pipe means fewer wake-ups
/// per byte. Best effort: returns the new size, or an error the caller may ignore.
#[cfg(target_os = "linux")]
pub fn set_pipe_size(fd: BorrowedFd<'_>, bytes: usize) -> io::Result<usize> {
    // SAFETY: F_SETPIPE_SZ takes an int argument; `fd` is a valid open pipe descriptor.
    let size = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, bytes as libc::c_int) })?;
    Ok(size as usize)
}

#[cfg(not(target_os = "linux"))]
pub fn set_pipe_size(_fd: BorrowedFd<'_>, _bytes: usize) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// isatty(3).
pub fn isatty(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}

/// What kind of file a descriptor refers to, as far as write scheduling cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file or block device: writes never wait, poll(2) cannot watch it.
    Regular,
    /// A pipe, FIFO or socket: writes can wait, poll(2) can watch it.
    Stream,
    /// A terminal: writes wait while output is suspended (Ctrl-S) or the reader is slow,
    /// and poll(2) can watch it.
    Terminal,
    /// Anything else (character devices such as /dev/null).
    Other,
}

impl FileKind {
    /// Whether a write can wait on a reader, so the loop must write it non-blocking.
    pub fn can_stall(self) -> bool {
        matches!(self, FileKind::Stream | FileKind::Terminal)
    }
}

/// fstat(2) reduced to [`FileKind`].
pub fn file_kind(fd: BorrowedFd<'_>) -> io::Result<FileKind> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid writable memory of the right size; fstat fills it on success.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat returned 0, so `st` is initialised.
    let mode = unsafe { st.assume_init() }.st_mode & libc::S_IFMT;
    Ok(match mode {
        libc::S_IFREG | libc::S_IFBLK => FileKind::Regular,
        libc::S_IFIFO | libc::S_IFSOCK => FileKind::Stream,
        libc::S_IFCHR if isatty(fd) => FileKind::Terminal,
        _ => FileKind::Other,
    })
}

/// Opens a second, independent open file description for the pipe or terminal behind `fd`
/// (through `/proc/self/fd`, Linux), so `O_NONBLOCK` can be set on it without changing the
/// flags that other processes sharing the original description see (a shell sharing our
/// terminal must never find it non-blocking). Fails for sockets.
#[cfg(target_os = "linux")]
pub fn reopen_nonblocking_for_write(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let path = std::ffi::CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: `path` is a valid NUL-terminated string; open returns a new descriptor or -1.
    let raw = check(unsafe { libc::open(path.as_ptr(), flags) })?;
    // SAFETY: open succeeded; the descriptor is new and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

#[cfg(not(target_os = "linux"))]
pub fn reopen_nonblocking_for_write(_fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// poll(2) for writability of one descriptor, at most `timeout_ms` (`EINTR` counts as not
/// ready). `Ok(true)` also when the descriptor reports an error or hang-up: the next write
/// then says what happened.
pub fn poll_writable(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    poll_one(fd, libc::POLLOUT, timeout_ms)
}

/// poll(2) for readability (for a listening socket: a connection to accept), like
/// [`poll_writable`]. Much cheaper than a non-blocking `accept` that finds nothing: Linux
/// allocates the new socket and its file before it looks at the queue.
pub fn poll_readable(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    poll_one(fd, libc::POLLIN, timeout_ms)
}

fn poll_one(fd: BorrowedFd<'_>, events: libc::c_short, timeout_ms: i32) -> io::Result<bool> {
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    match check(unsafe { libc::poll(&mut pollfd, 1, timeout_ms) }) {
        Ok(n) => Ok(n > 0),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
        Err(e) => Err(e),
    }
}

/// read(2) into `buf`; `Ok(0)` is end of file. `EINTR` is returned to the caller as
/// `ErrorKind::Interrupted`.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid writable memory of `buf.len()` bytes.
    check_size(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
}

/// write(2) from `buf`; returns how many bytes the kernel took.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid readable memory of `buf.len()` bytes.
    check_size(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
}

/// Borrows one of the standard descriptors (0, 1, 2) of this process.
pub fn stdio(fd: RawFd) -> BorrowedFd<'static> {
    assert!((0..=2).contains(&fd), "stdio() is only for fds 0, 1 and 2");
    // SAFETY: fds 0-2 stay open for the whole life of the process (FlowForge never closes
    // them; if the parent started us with one closed, calls on it fail with EBADF).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Replaces `target` with a duplicate of `source` (dup2(2)); the new descriptor is not
/// close-on-exec.
pub fn dup2(source: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2 takes two integers; on success `target` refers to `source`'s file.
    check(unsafe { libc::dup2(source.as_raw_fd(), target) })?;
    Ok(())
}

/// Opens /dev/null for reading and writing, close-on-exec.
pub fn open_devnull() -> io::Result<OwnedFd> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    Ok(OwnedFd::from(file))
}

/// Closes every descriptor from `lowest` up that is close-on-exec, as `execve` would, and
/// leaves the others open (for the forked shim, see `spawn`). Walks `/proc/self/fd` with
/// getdents64 into a stack buffer; where /proc is not mounted, tries each number up to the
/// descriptor limit (capped at 65,536).
#[cfg(target_os = "linux")]
pub fn close_cloexec_from(lowest: RawFd) -> io::Result<()> {
    let close_if_cloexec = |fd: RawFd| {
        // SAFETY: F_GETFD on any integer: -1 (EBADF) for a closed number.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags != -1 && flags & libc::FD_CLOEXEC != 0 {
            // SAFETY: closing a descriptor nobody else in this single-threaded child holds.
            unsafe { libc::close(fd) };
        }
    };
    // SAFETY: open(2) with a NUL-terminated path and flags.
    let dir = unsafe {
        libc::open(
            c"/proc/self/fd".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if dir == -1 {
        // SAFETY: an all-zero rlimit is valid memory for getrlimit to fill.
        let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: `limit` is valid writable memory.
        check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) })?;
        let highest = limit.rlim_cur.min(65_536) as RawFd;
        (lowest..highest).for_each(close_if_cloexec);
        return Ok(());
    }
    let mut buf = [0u8; 2048];
    let result = loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes of dirents into `buf`.
        let got = unsafe { libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len()) };
        if got < 0 {
            break Err(io::Error::last_os_error());
        }
        if got == 0 {
            break Ok(());
        }
        let mut at = 0usize;
        while at + 19 < got as usize {
            // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name.
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if reclen == 0 {
                break;
            }
            let name = &buf[at + 19..(at + reclen).min(got as usize)];
            let mut digits = name.iter().take_while(|b| b.is_ascii_digit());
            let fd = digits.try_fold(0i64, |n, b| n.checked_mul(10)?.checked_add(i64::from(b - b'0')));
            if let Some(fd) = fd.filter(|_| name.first().is_some_and(u8::is_ascii_digit)) {
                if fd >= i64::from(lowest) && fd != i64::from(dir) && fd <= i64::from(i32::MAX) {
                    close_if_cloexec(fd as RawFd);
                }
            }
            at += reclen;
        }
    };
    // SAFETY: `dir` was opened above and is closed once.
    unsafe { libc::close(dir) };
    result
}
