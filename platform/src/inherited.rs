//! The signal dispositions and mask this process was started with, before anything changed
//! them — so the command can get them back, as it would under coreutils `timeout`.
//!
//! A wrapper must be invisible: a command started from `(trap '' PIPE; flowforge run -- yes)`
//! must find SIGPIPE ignored, and a background job (`sh` ignores SIGINT and SIGQUIT for
//! `cmd &`) must stay deaf to Ctrl-C. But by the time `main` runs, Rust's runtime has already
//! set SIGPIPE to `SIG_IGN` (so writes return EPIPE), and later signal-hook installs handlers;
//! and `std::process::Command` resets SIGPIPE and the mask in every child. So the state is
//! captured by an ELF constructor (`.init_array`, `__mod_init_func` on macOS), which the
//! loader runs before the Rust runtime starts. It only calls sigaction(2) and sigprocmask(2)
//! to read, and stores plain bits in atomics.
//!
//! Who uses it: FlowForge does not catch a forwarded signal that was ignored on entry (the
//! old Unix rule for `SIGINT` in background jobs); the shim passes both the ignored set and
//! the mask on to the command (see `spawn::spawn_command`), restoring exactly what FlowForge
//! and the shim changed and nothing else.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Highest signal number looked at (Linux real-time signals end at 64).
const MAX_SIGNAL: i32 = 64;

static IGNORED: AtomicU64 = AtomicU64::new(0);
static BLOCKED: AtomicU64 = AtomicU64::new(0);
static CAPTURED: AtomicBool = AtomicBool::new(false);

#[used]
#[cfg_attr(any(target_os = "linux", target_os = "android"), link_section = ".init_array")]
#[cfg_attr(target_os = "macos", link_section = "__DATA,__mod_init_func")]
static CAPTURE_AT_START: extern "C" fn() = capture;

extern "C" fn capture() {
    let (mut ignored, mut blocked) = (0u64, 0u64);
    let mut mask = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: a null new set only reads the current mask into `mask`.
    let have_mask = unsafe { libc::sigprocmask(libc::SIG_BLOCK, std::ptr::null(), mask.as_mut_ptr()) } == 0;
    for signal in 1..=MAX_SIGNAL {
        if is_ignored_now(signal) {
            ignored |= bit(signal);
        }
        // SAFETY: `mask` was initialised by sigprocmask when `have_mask` holds.
        if have_mask && unsafe { libc::sigismember(mask.as_ptr(), signal) } == 1 {
            blocked |= bit(signal);
        }
    }
    IGNORED.store(ignored, Ordering::Relaxed);
    BLOCKED.store(blocked, Ordering::Relaxed);
    CAPTURED.store(true, Ordering::Release);
}

/// The kernel's view of one signal's disposition. On Linux this is the raw rt_sigaction(2)
/// syscall: glibc refuses the two real-time signals it reserves (32, 33), yet a caller may
/// have them ignored and the command must keep them so.
fn is_ignored_now(signal: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        // The kernel's struct sigaction starts with the handler; four words cover every
        // layout (handler, flags, restorer where the architecture has one, mask).
        let mut old = [0usize; 4];
        // SAFETY: a null new action only reads; `old` is large enough for the kernel struct
        // and the set size is the kernel's (8 bytes).
        let ret = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal as libc::c_long,
                std::ptr::null::<usize>(),
                old.as_mut_ptr(),
                8 as libc::c_long,
            )
        };
        ret == 0 && old[0] == libc::SIG_IGN
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: an all-zero sigaction is valid memory for the old action to be written to.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only reads the current one; invalid numbers return -1.
        unsafe {
            libc::sigaction(signal, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
        }
    }
}

/// Sets `signal` to `SIG_IGN` with the same raw call (async-signal-safe: one syscall), so
/// the signals glibc reserves are restored too. Returns -1 with errno set on failure.
pub(crate) fn ignore_raw(signal: i32) -> libc::c_int {
    set_raw(signal, libc::SIG_IGN)
}

/// Sets `signal` to `SIG_DFL` the same way (see [`ignore_raw`]).
pub(crate) fn default_raw(signal: i32) -> libc::c_int {
    set_raw(signal, libc::SIG_DFL)
}

fn set_raw(signal: i32, handler: libc::sighandler_t) -> libc::c_int {
    #[cfg(target_os = "linux")]
    {
        let action = [handler, 0usize, 0, 0];
        // SAFETY: `action` is a valid kernel struct sigaction (SIG_IGN or SIG_DFL, no flags,
        // empty mask); the old action is not requested.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal as libc::c_long,
                action.as_ptr(),
                std::ptr::null_mut::<usize>(),
                8 as libc::c_long,
            ) as libc::c_int
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: signal(2) with a valid number and SIG_IGN or SIG_DFL; async-signal-safe.
        if unsafe { libc::signal(signal, handler) } == libc::SIG_ERR {
            -1
        } else {
            0
        }
    }
}

fn bit(signal: i32) -> u64 {
    1u64 << (signal - 1)
}

/// The signal state of this process when it was executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inherited {
    ignored: u64,
    blocked: u64,
}

impl Inherited {
    /// What the constructor saw; if it did not run (a platform without constructors), the
    /// defaults: nothing ignored, nothing blocked.
    pub fn at_start() -> Inherited {
        if !CAPTURED.load(Ordering::Acquire) {
            return Inherited {
                ignored: 0,
                blocked: 0,
            };
        }
        Inherited {
            ignored: IGNORED.load(Ordering::Relaxed),
            blocked: BLOCKED.load(Ordering::Relaxed),
        }
    }

    /// Whether `signal` was ignored (`SIG_IGN`) at start.
    pub fn ignored(&self, signal: i32) -> bool {
        (1..=MAX_SIGNAL).contains(&signal) && self.ignored & bit(signal) != 0
    }

    /// The signal mask at start.
    pub fn mask(&self) -> crate::process::SignalSet {
        let mut set = crate::process::SignalSet::empty();
        for signal in 1..=MAX_SIGNAL {
            if self.blocked & bit(signal) != 0 {
                set = set.with(signal);
            }
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constructor_ran_before_the_runtime() {
        assert!(
            CAPTURED.load(Ordering::Acquire),
            "the .init_array constructor ran"
        );
        // The test harness changes neither SIGKILL nor SIGSTOP (they cannot be ignored).
        let inherited = Inherited::at_start();
        assert!(!inherited.ignored(libc::SIGKILL));
        assert!(!inherited.ignored(0) && !inherited.ignored(65));
    }
}
