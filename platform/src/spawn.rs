//! Starting processes: the shim from FlowForge, and the command from the shim.
//!
//! **The shim** is started without an exec on Linux: `fork(2)`, and the child runs
//! [`crate::shim::run`] straight away. Re-executing our own binary for it cost a second
//! process image (exec, the dynamic loader, the Rust runtime): without it `flowforge run
//! --no-db -- true` went from 6.6 to 4.0 ms of CPU (4.9 to 3.8 ms wall). The child of a fork
//! is a copy of FlowForge at that instant, so it first makes itself look like a freshly
//! executed shim: every signal back to its disposition at FlowForge's start (nothing of
//! FlowForge's handlers survives), the stdio and control channel on fds 0–3, and every
//! close-on-exec descriptor closed — exactly what `execve` would have done, so descriptors
//! the caller passed down (a make jobserver, a socket-activation fd) still reach the
//! command, and none of FlowForge's own (its pipe ends, the store, the API) stay open in
//! the tree. The fork may happen while FlowForge's evidence and API threads run; the
//! child then calls the allocator (glibc and musl both make it usable in the child of a
//! multi-threaded fork) and std's `Command`, never a lock of FlowForge's own (no logging,
//! no stdio, no database). Elsewhere (macOS) the shim is `flowforge __shim -- CMD`, exec'd.
//!
//! **The command** goes through `std::process::Command`, which already does the hard parts
//! of fork/exec correctly (close-on-exec error pipe, `ENOENT`/`EACCES` reported as the
//! spawn error, PATH search); the only raw work is the `pre_exec` hook, which runs between
//! fork and exec and therefore calls async-signal-safe syscalls only (dup2, setpgid,
//! tcsetpgrp, signal, sigprocmask, prctl) — no allocation, no locks, no logging. Every
//! return is checked; a failure returns the errno, which std sends back through its
//! close-on-exec error pipe, so `spawn` fails with it instead of running a half-configured
//! process.
//!
//! Signals: std resets SIGPIPE and the mask in every child, and exec resets handled signals
//! to their defaults. Both paths put back what the caller of FlowForge had (see
//! [`crate::inherited`]): ignored signals stay ignored, the mask stays the mask.

use crate::inherited::Inherited;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
#[cfg(not(target_os = "linux"))]
use std::process::Stdio;

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
    #[cfg(not(target_os = "linux"))]
    fn into_stdio(self) -> Stdio {
        match self {
            StdioSource::Inherit => Stdio::inherit(),
            StdioSource::Fd(fd) => Stdio::from(fd),
        }
    }
}

/// Starts the shim for `argv` with the given stdio and `channel` on fd 3 (not close-on-exec
/// there); `pty` says fd 1 is a pty slave the shim must make its controlling terminal.
/// Returns the shim's pid.
pub fn start_shim(
    argv: &[OsString],
    pty: bool,
    stdio: [StdioSource; 3],
    channel: &OwnedFd,
) -> io::Result<i32> {
    #[cfg(target_os = "linux")]
    {
        fork_shim(argv, pty, stdio, channel)
    }
    #[cfg(not(target_os = "linux"))]
    {
        exec_shim(argv, pty, stdio, channel)
    }
}

/// The shim as a fork of this process (see the module docs).
#[cfg(target_os = "linux")]
fn fork_shim(argv: &[OsString], pty: bool, stdio: [StdioSource; 3], channel: &OwnedFd) -> io::Result<i32> {
    let sources: [i32; 3] = [0, 1, 2].map(|target| match &stdio[target] {
        StdioSource::Inherit => target as i32,
        StdioSource::Fd(fd) => fd.as_raw_fd(),
    });
    let channel_fd = channel.as_raw_fd();
    let inherited = Inherited::at_start();
    // No signal may run one of FlowForge's handlers in the child before it has reset them:
    // block them all in this thread across the fork (the child inherits the mask).
    let all = crate::process::SignalSet::full();
    let mut before = crate::process::SignalSet::empty();
    // SAFETY: both sets are initialised sigset_t values; this changes only this thread.
    let blocked = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &all.0, &mut before.0) };
    if blocked != 0 {
        return Err(io::Error::from_raw_os_error(blocked));
    }
    // SAFETY: fork(2) has no preconditions; the child never returns from this block (it
    // ends in `_exit`), and what it runs is discussed in the module docs.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = match become_shim(sources, channel_fd, &inherited) {
            Ok(()) => crate::shim::run(argv, pty),
            Err(_) => 125,
        };
        // SAFETY: _exit ends the child at once, without running FlowForge's exit handlers
        // or flushing buffers that belong to the parent.
        unsafe { libc::_exit(code) }
    }
    let fork_error = (pid == -1).then(io::Error::last_os_error);
    // SAFETY: restores this thread's own mask from the initialised `before`.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &before.0, std::ptr::null_mut()) };
    match fork_error {
        Some(error) => Err(error),
        None => Ok(pid),
    }
}

/// In the forked shim: what exec would have done. Signals to their dispositions and mask at
/// start, the stdio sources on 0–2 and the channel on 3, every close-on-exec descriptor
/// closed.
#[cfg(target_os = "linux")]
fn become_shim(sources: [i32; 3], channel_fd: i32, inherited: &Inherited) -> io::Result<()> {
    let every = |signal| signal != libc::SIGKILL && signal != libc::SIGSTOP;
    restore_signals(inherited, &every, &inherited.mask().0)?;
    // Park every source above the targets first, so no dup2 overwrites a source that a
    // later one still needs (a source may itself be 0-3).
    let mut parked = [0i32; 4];
    for (slot, source) in parked.iter_mut().zip(sources.iter().chain([&channel_fd])) {
        // SAFETY: fcntl F_DUPFD_CLOEXEC on an open descriptor; the copy is closed by the
        // sweep below (it is close-on-exec).
        *slot = crate::check(unsafe { libc::fcntl(*source, libc::F_DUPFD_CLOEXEC, 10) })?;
    }
    for (target, parked) in parked.iter().enumerate() {
        // SAFETY: dup2 on two integers; `parked` is open. The target is not close-on-exec.
        crate::check(unsafe { libc::dup2(*parked, target as i32) })?;
    }
    crate::fd::close_cloexec_from(4)?;
    // SAFETY: PR_SET_NAME takes a pointer to a NUL-terminated name of at most 16 bytes.
    crate::check(unsafe {
        libc::prctl(
            libc::PR_SET_NAME,
            c"flowforge-shim".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        )
    })?;
    Ok(())
}

/// The shim as `flowforge __shim [--pty] -- CMD...`, exec'd (where there is no fork path).
#[cfg(not(target_os = "linux"))]
fn exec_shim(argv: &[OsString], pty: bool, stdio: [StdioSource; 3], channel: &OwnedFd) -> io::Result<i32> {
    let exe = std::env::current_exe()?;
    let mut args: Vec<OsString> = vec!["__shim".into()];
    if pty {
        args.push("--pty".into());
    }
    args.push("--".into());
    args.extend(argv.iter().cloned());
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
            restore_signals(&inherited, &|_| false, &mask.0)
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
            restore_signals(
                &inherited,
                &|signal| FORWARDED_AND_IGNORED.contains(&signal),
                &mask.0,
            )?;
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

/// Between fork and exec (or in the forked shim): every signal that was ignored at start is
/// ignored again, each one `reset` picks that was not goes back to its default, and the mask
/// becomes `mask`.
/// Async-signal-safe: signal(2) and sigprocmask(2) on values computed before the fork.
fn restore_signals(
    inherited: &Inherited,
    reset: &dyn Fn(i32) -> bool,
    mask: &libc::sigset_t,
) -> io::Result<()> {
    for signal in 1..=64 {
        let ret = if inherited.ignored(signal) {
            crate::inherited::ignore_raw(signal)
        } else if reset(signal) {
            crate::inherited::default_raw(signal)
        } else {
            continue;
        };
        if ret == -1 {
            return Err(io::Error::last_os_error());
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
