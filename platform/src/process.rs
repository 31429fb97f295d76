//! Process attributes: child subreaper, session, signal dispositions and masks.
//!
//! prctl(2) `PR_SET_CHILD_SUBREAPER` makes orphaned descendants (double-forked, `setsid`
//! escapees) re-parent to us instead of init, so they stay visible and reapable. It is
//! Linux-only; on macOS the subreaper has no equivalent and the shim relies on its control
//! channel and kqueue instead (see `shim`). The command's parent-death signal is set
//! between fork and exec, in `spawn`.

use crate::check;
use std::io;

/// prctl(PR_SET_CHILD_SUBREAPER, 1) on Linux; a no-op elsewhere (returns `Ok(false)`).
pub fn set_child_subreaper() -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and no pointers.
        check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) })?;
        Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(false)
    }
}

/// setsid(2): a new session and process group led by the caller.
pub fn setsid() -> io::Result<i32> {
    // SAFETY: setsid takes no arguments.
    check(unsafe { libc::setsid() })
}

/// getpid(2).
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// What a signal should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Default,
    Ignore,
    /// Run an empty handler: the signal interrupts blocking calls (EINTR) and nothing else.
    Wake,
}

extern "C" fn wake_handler(_signal: libc::c_int) {}

/// sigaction(2) for one signal. `SA_RESTART` is deliberately not set for `Wake`, so a
/// blocking `ppoll` returns `EINTR`.
pub fn set_disposition(signal: i32, disposition: Disposition) -> io::Result<()> {
    // SAFETY: an all-zero sigaction is a valid starting value (empty mask, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = match disposition {
        Disposition::Default => libc::SIG_DFL,
        Disposition::Ignore => libc::SIG_IGN,
        Disposition::Wake => wake_handler as extern "C" fn(libc::c_int) as libc::sighandler_t,
    };
    // SAFETY: `action` is fully initialised and the old-action pointer may be null.
    check(unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) })?;
    Ok(())
}

/// A set of signals (sigset_t).
#[derive(Clone, Copy)]
pub struct SignalSet(pub(crate) libc::sigset_t);

impl SignalSet {
    pub fn empty() -> SignalSet {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set it is given.
        unsafe { libc::sigemptyset(set.as_mut_ptr()) };
        // SAFETY: initialised by sigemptyset above.
        SignalSet(unsafe { set.assume_init() })
    }

    pub fn full() -> SignalSet {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigfillset initialises the set it is given.
        unsafe { libc::sigfillset(set.as_mut_ptr()) };
        // SAFETY: initialised by sigfillset above.
        SignalSet(unsafe { set.assume_init() })
    }

    pub fn with(mut self, signal: i32) -> SignalSet {
        // SAFETY: `self.0` is an initialised set; an invalid signal number only returns -1.
        unsafe { libc::sigaddset(&mut self.0, signal) };
        self
    }

    pub fn without(mut self, signal: i32) -> SignalSet {
        // SAFETY: `self.0` is an initialised set; an invalid signal number only returns -1.
        unsafe { libc::sigdelset(&mut self.0, signal) };
        self
    }
}

/// sigprocmask(SIG_BLOCK / SIG_SETMASK) for the calling (single) thread; returns the old mask.
pub fn block_signals(set: &SignalSet) -> io::Result<SignalSet> {
    let mut old = SignalSet::empty();
    // SAFETY: both pointers refer to initialised sigset_t values.
    check(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set.0, &mut old.0) })?;
    Ok(old)
}

/// Replaces the signal mask (sigprocmask SIG_SETMASK).
pub fn set_signal_mask(set: &SignalSet) -> io::Result<()> {
    // SAFETY: the pointer refers to an initialised sigset_t; old mask not requested.
    check(unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set.0, std::ptr::null_mut()) })?;
    Ok(())
}

/// Waits until `fd` is readable or hung up, or a signal arrives, atomically replacing the
/// signal mask with `during` for the wait (ppoll(2) on Linux). This is the race-free way to
/// sleep on "a descriptor or SIGCHLD": SIGCHLD stays blocked outside the wait, so one that
/// arrives between the check and the wait is delivered at the wait. Returns `Ok(true)` when
/// the descriptor is ready, `Ok(false)` on timeout or signal.
pub fn wait_readable_or_signal(
    fd: std::os::fd::BorrowedFd<'_>,
    timeout_ms: i32,
    during: &SignalSet,
) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    #[cfg(target_os = "linux")]
    let ret = {
        let timeout = libc::timespec {
            tv_sec: (timeout_ms / 1000) as libc::time_t,
            tv_nsec: ((timeout_ms % 1000) as libc::c_long) * 1_000_000,
        };
        // SAFETY: one valid pollfd, a valid timespec and an initialised sigset_t.
        unsafe { libc::ppoll(&mut pollfd, 1, &timeout, &during.0) }
    };
    #[cfg(not(target_os = "linux"))]
    let ret = {
        // macOS has no ppoll: unblock, poll with a short timeout, block again. A signal that
        // lands between the two calls is seen by the caller's next reap pass at the latest
        // after the short timeout.
        let old = block_signals(&SignalSet::empty())?;
        set_signal_mask(during)?;
        // SAFETY: one valid pollfd.
        let ret = unsafe { libc::poll(&mut pollfd, 1, timeout_ms.min(50)) };
        let errno = io::Error::last_os_error();
        set_signal_mask(&old)?;
        if ret == -1 {
            return match errno.kind() {
                io::ErrorKind::Interrupted => Ok(false),
                _ => Err(errno),
            };
        }
        ret
    };
    if ret == -1 {
        let err = io::Error::last_os_error();
        return match err.kind() {
            io::ErrorKind::Interrupted => Ok(false),
            _ => Err(err),
        };
    }
    Ok(ret > 0 && pollfd.revents != 0)
}

/// What this process has used so far, from getrusage(2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelfUsage {
    /// User + system CPU time, all threads, in microseconds.
    pub cpu_micros: u64,
    /// Peak resident set size in bytes.
    pub max_rss_bytes: u64,
}

/// Caps glibc's malloc at one arena (mallopt(3) `M_ARENA_MAX`), for a process whose few
/// threads allocate little: without the cap, the first allocation of each new thread
/// maps an arena of its own (64 MiB of address space) and faults its first pages in,
/// which a `run -- true` pays on its critical path. Call it before the first thread starts. A
/// no-op where the C library is not glibc (musl and macOS have no per-thread arenas).
pub fn use_one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and only changes the allocator's tuning; a value
    // it does not accept is refused with 0, which leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// getrusage(RUSAGE_SELF): this process only, not its children.
pub fn self_usage() -> SelfUsage {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `usage` is valid writable memory; RUSAGE_SELF cannot fail.
    let ret = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if ret != 0 {
        return SelfUsage::default();
    }
    // SAFETY: getrusage returned 0, so `usage` is initialised.
    let usage = unsafe { usage.assume_init() };
    let micros = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
    // ru_maxrss is in KiB on Linux and in bytes on macOS. On Linux it also survives execve,
    // so it would report the parent's size before the exec; VmHWM is this image's own peak.
    let rss_unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    SelfUsage {
        cpu_micros: micros(usage.ru_utime) + micros(usage.ru_stime),
        max_rss_bytes: peak_rss_of_this_image().unwrap_or(usage.ru_maxrss as u64 * rss_unit),
    }
}

/// `VmHWM` from /proc/self/status (Linux): the peak resident set of the current image.
fn peak_rss_of_this_image() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
