//! Starting processes: the shim from FlowForge, and the command from the shim.
//!
//! Both go through `std::process::Command`, which already does the hard parts of
//! fork/exec correctly (close-on-exec error pipe, `ENOENT`/`EACCES` reported as the spawn
//! error, PATH search); the only raw work is the `pre_exec` hook, which runs between fork
//! and exec and therefore calls async-signal-safe syscalls only (dup2, setpgid, tcsetpgrp,
//! signal, sigprocmask, prctl) — no allocation, no locks, no logging. Every return is
//! checked; a failure returns the errno, which std sends back through its close-on-exec
//! error pipe, so `spawn` fails with it instead of running a half-configured process.
//!
//! Signals: std resets SIGPIPE and the mask in every child, and exec resets handled signals
//! to their defaults. Both hooks put back what the caller of FlowForge had (see
//! [`crate::inherited`]): ignored signals stay ignored, the mask stays the mask.

use crate::inherited::Inherited;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The descriptor number on which the shim finds its control channel.
pub const SHIM_CHANNEL_FD: i32 = 3;

/// Where one of the child's standard streams comes from.
pub enum StdioSource {
    /// Share FlowForge's own descriptor.
    Inherit,
    /// Use this descriptor (a pipe end or the pty slave).
    Fd(OwnedFd),
}

impl StdioSource {
    fn into_stdio(self) -> Stdio {
        match self {
            StdioSource::Inherit => Stdio::inherit(),
            StdioSource::Fd(fd) => Stdio::from(fd),
        }
    }
}

/// Starts `exe args...` with the given stdio and `channel` duplicated onto fd 3 (not
/// close-on-exec there). Returns the pid.
pub fn spawn_shim(
    exe: &Path,
    args: &[OsString],
    stdio: [StdioSource; 3],
    channel: &OwnedFd,
) -> io::Result<i32> {
    let [stdin, stdout, stderr] = stdio;
    let channel_fd = channel.as_raw_fd();
    let inherited = Inherited::at_start();
    let mask = inherited.mask();
    let mut command = Command::new(exe);
    command
        .args(args)
        .stdin(stdin.into_stdio())
        .stdout(stdout.into_stdio())
        .stderr(stderr.into_stdio());
    // SAFETY: the hook runs between fork and exec and only calls dup2, signal and
    // sigprocmask, which are async-signal-safe, on values computed before the fork;
    // `channel_fd` stays open in the parent for the duration of spawn.
    unsafe {
        command.pre_exec(move || {
            // SAFETY: dup2 on two integers; the source is open (borrowed from the parent).
            if libc::dup2(channel_fd, SHIM_CHANNEL_FD) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The shim captures this state again at its start and hands it to the command.
            restore_signals(&inherited, &[], &mask.0)
        });
    }
    let child = command.spawn()?;
    Ok(child.id() as i32)
}

/// What the command's process needs set up between fork and exec.
pub struct CommandSetup<'a> {
    /// When set, the command becomes the foreground process group of this terminal.
    pub terminal: Option<BorrowedFd<'a>>,
}

/// Starts the supervised command (from the shim): its own process group, the terminal's
/// foreground group under a pty, the signal dispositions and mask FlowForge was started with
/// (the shim ignores the forwarded signals, and ignored dispositions survive exec), and
/// SIGKILL as its parent-death signal. Returns the pid, or the spawn error (ENOENT, EACCES, ...).
pub fn spawn_command(argv: &[OsString], setup: CommandSetup<'_>) -> io::Result<i32> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let terminal = setup.terminal.map(|fd| fd.as_raw_fd());
    let shim = crate::process::getpid();
    let inherited = Inherited::at_start();
    let mask = inherited.mask();
    let mut command = Command::new(program);
    command.args(args);
    // SAFETY: the hook runs between fork and exec of a single-threaded shim and calls only
    // async-signal-safe syscalls; no allocation happens inside it.
    unsafe {
        command.pre_exec(move || {
            // SAFETY: setpgid on integers: the child leads a new group inside the session.
            if libc::setpgid(0, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            if let Some(tty) = terminal {
                // SAFETY: tcsetpgrp on integers; SIGTTOU is still ignored here, inherited
                // from the shim, so a background group may take the terminal.
                if libc::tcsetpgrp(tty, libc::getpid()) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            restore_signals(&inherited, &FORWARDED_AND_IGNORED, &mask.0)?;
            #[cfg(target_os = "linux")]
            {
                // SAFETY: prctl with integer arguments.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // SAFETY: getppid cannot fail. If the shim died before prctl took effect the
                // signal would never come, so give up now.
                if libc::getppid() != shim {
                    libc::_exit(125);
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = shim;
            Ok(())
        });
    }
    let child = command.spawn()?;
    Ok(child.id() as i32)
}

/// Between fork and exec: every signal that was ignored at start is ignored again, each of
/// `reset` that was not goes back to its default, and the mask becomes `mask`.
/// Async-signal-safe: signal(2) and sigprocmask(2) on values computed before the fork.
fn restore_signals(inherited: &Inherited, reset: &[i32], mask: &libc::sigset_t) -> io::Result<()> {
    for signal in 1..=64 {
        if inherited.ignored(signal) {
            if crate::inherited::ignore_raw(signal) == -1 {
                return Err(io::Error::last_os_error());
            }
        } else if reset.contains(&signal) {
            // SAFETY: signal(2) with a valid number and SIG_DFL; async-signal-safe.
            if unsafe { libc::signal(signal, libc::SIG_DFL) } == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
        }
    }
    // SAFETY: `mask` is an initialised sigset_t; the old mask is not requested.
    if unsafe { libc::sigprocmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The signals the shim changes and the command must get back as they were at start.
pub const FORWARDED_AND_IGNORED: [i32; 11] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGTTOU,
    libc::SIGTTIN,
    libc::SIGTSTP,
    libc::SIGCHLD,
];
