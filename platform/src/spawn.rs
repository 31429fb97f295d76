//! Starting processes: the shim from FlowForge, and the command from the shim.
//!
//! **The shim** is started without an exec on Linux: `fork(2)`, and the child runs
//! [`crate::shim::run`] straight away. Re-executing our own binary for it cost a second
//! process image (exec, the dynamic loader, the Rust runtime): without it `flowforge run
//! --no-db -- true` went from 6.6 to 4.0 ms of CPU (4.9 to 3.8 ms wall). The child of a fork
//! is a copy of FlowForge at that instant, so it first makes itself look like a freshly
//! executed shim: every signal back to its disposition at FlowForge's start (nothing of
//! FlowForge's handlers survives), the stdio and control channel on fds 0–3, and, once
//! the command runs, every close-on-exec descriptor closed — exactly what `execve` would
//! have done, so descriptors the caller passed down (a make jobserver, a socket-activation
//! fd) still reach the command, and none of FlowForge's own (its pipe ends, the store, the
//! API) stay open in the tree. The fork may happen while FlowForge's evidence and API
//! threads run; the child then calls the allocator (glibc and musl both make it usable in
//! the child of a multi-threaded fork), never a lock of FlowForge's own (no logging, no
//! stdio, no database). Elsewhere (macOS) the shim is `flowforge __shim -- CMD`, exec'd.
//!
//! **The command** is started by the shim with `clone(CLONE_VM | CLONE_VFORK)` on Linux, the
//! way glibc's `posix_spawn` does it (see [`spawn_command`]), and with
//! `std::process::Command` elsewhere. Between that fork and the exec the child makes
//! async-signal-safe syscalls only (setpgid, tcsetpgrp, sigaction, sigprocmask, prctl) — no
//! allocation, no locks, no logging. Every return is checked; a failure becomes the spawn
//! error (as do `ENOENT`/`EACCES` from the exec), so the shim never runs a half-configured
//! process.
//!
//! Signals: FlowForge and the shim change dispositions and the mask, and exec resets handled
//! signals to their defaults. Both paths put back what the caller of FlowForge had (see
//! [`crate::inherited`]): ignored signals stay ignored, the mask stays the mask.

use crate::inherited::Inherited;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
#[cfg(not(target_os = "linux"))]
use std::os::unix::process::CommandExt;
#[cfg(not(target_os = "linux"))]
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
    // they are all blocked in this thread across the fork (the child inherits the mask).
    with_signals_blocked(|| {
        // SAFETY: fork(2) has no preconditions; the child never returns from this block (it
        // ends in `_exit`), and what it runs is discussed in the module docs.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = match become_shim(sources, channel_fd, &inherited) {
                Ok(()) => crate::shim::run(argv, pty),
                Err(_) => 125,
            };
            // SAFETY: _exit ends the child at once, without running FlowForge's exit
            // handlers or flushing buffers that belong to the parent.
            unsafe { libc::_exit(code) }
        }
        crate::check(pid)
    })?
}

/// Runs `f` with every signal blocked in this thread, then puts the thread's mask back.
/// Around fork and clone: the child starts with everything blocked, so no handler of the
/// parent's can run in it before it has set its own dispositions.
#[cfg(target_os = "linux")]
fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> io::Result<T> {
    let all = crate::process::SignalSet::full();
    let mut before = crate::process::SignalSet::empty();
    // SAFETY: both sets are initialised sigset_t values; this changes only this thread.
    let blocked = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &all.0, &mut before.0) };
    if blocked != 0 {
        return Err(io::Error::from_raw_os_error(blocked));
    }
    let result = f();
    // SAFETY: restores this thread's own mask from the initialised `before`.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &before.0, std::ptr::null_mut()) };
    Ok(result)
}

/// In the forked shim: what exec would have done. Signals to their dispositions and mask at
/// start, the stdio sources on 0–2 and the channel on 3. The close-on-exec descriptors are
/// closed by the shim once the command runs ([`close_flowforge_descriptors`]): the
/// command's exec closes its own copies, so the sweep need not delay its start.
#[cfg(target_os = "linux")]
fn become_shim(sources: [i32; 3], channel_fd: i32, inherited: &Inherited) -> io::Result<()> {
    let every = |signal| signal != libc::SIGKILL && signal != libc::SIGSTOP;
    restore_signals(inherited, &every, &inherited.mask().0)?;
    // Park every source above the targets first, so no dup2 overwrites a source that a
    // later one still needs (a source may itself be 0-3).
    let mut parked = [0i32; 4];
    for (slot, source) in parked.iter_mut().zip(sources.iter().chain([&channel_fd])) {
        // SAFETY: fcntl F_DUPFD_CLOEXEC on an open descriptor; the copy is closed by the
        // sweep (it is close-on-exec).
        *slot = crate::check(unsafe { libc::fcntl(*source, libc::F_DUPFD_CLOEXEC, 10) })?;
    }
    for (target, parked) in parked.iter().enumerate() {
        // SAFETY: dup2 on two integers; `parked` is open. The target is not close-on-exec.
        crate::check(unsafe { libc::dup2(*parked, target as i32) })?;
    }
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

/// In the shim, once the command runs: closes what exec would have closed had the shim been
/// exec'd — FlowForge's own descriptors (pipe ends, the store, sockets), all close-on-exec,
/// which the forked shim still holds. The caller's inherited descriptors stay. On macOS the
/// shim is exec'd and holds none.
pub fn close_flowforge_descriptors() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        crate::fd::close_cloexec_from(SHIM_CHANNEL_FD + 1)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(())
    }
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
///
/// On Linux the command's process is a `clone(CLONE_VM | CLONE_VFORK)` child, as glibc's
/// `posix_spawn` makes one: it shares the shim's memory until its exec, so there is no copy
/// of the shim's page tables and no copy-on-write fault, and the shim resumes only once the
/// exec has succeeded or failed (the child leaves the errno in shared memory: no error pipe).
/// `posix_spawn` itself cannot set a parent-death signal. Elsewhere it is
/// `std::process::Command` with a `pre_exec` hook doing the same setup.
pub fn spawn_command(argv: &[OsString], setup: CommandSetup<'_>) -> io::Result<i32> {
    if argv.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    }
    let prepare = CommandPrepare {
        terminal: setup.terminal.map(|fd| fd.as_raw_fd()),
        #[cfg(target_os = "linux")]
        shim: crate::process::getpid(),
        inherited: Inherited::at_start(),
    };
    #[cfg(target_os = "linux")]
    {
        clone_command(argv, &prepare)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        // SAFETY: the hook runs between fork and exec of a single-threaded shim and calls
        // only async-signal-safe syscalls (see `CommandPrepare::apply`).
        unsafe {
            command.pre_exec(move || prepare.apply());
        }
        let child = command.spawn()?;
        Ok(child.id() as i32)
    }
}

/// The command process's own setup, between fork (or clone) and exec. Everything it needs
/// is computed before; `apply` makes async-signal-safe syscalls only: no allocation, no
/// lock, no logging.
struct CommandPrepare {
    terminal: Option<RawFd>,
    /// The shim's pid, for the parent-death check (Linux has PR_SET_PDEATHSIG).
    #[cfg(target_os = "linux")]
    shim: i32,
    inherited: Inherited,
}

impl CommandPrepare {
    fn apply(&self) -> io::Result<()> {
        // SAFETY: setpgid on integers: the child leads a new group inside the session.
        crate::check(unsafe { libc::setpgid(0, 0) })?;
        if let Some(tty) = self.terminal {
            // SAFETY: tcsetpgrp on integers; SIGTTOU is still ignored here, inherited from
            // the shim, so a background group may take the terminal.
            crate::check(unsafe { libc::tcsetpgrp(tty, libc::getpid()) })?;
        }
        restore_signals(
            &self.inherited,
            &|signal| FORWARDED_AND_IGNORED.contains(&signal),
            &self.inherited.mask().0,
        )?;
        #[cfg(target_os = "linux")]
        {
            // SAFETY: prctl with integer arguments.
            crate::check(unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0)
            })?;
            // SAFETY: getppid cannot fail. If the shim died before prctl took effect the
            // signal would never come, so give up now.
            if unsafe { libc::getppid() } != self.shim {
                // SAFETY: _exit ends this half-started child at once.
                unsafe { libc::_exit(125) };
            }
        }
        Ok(())
    }
}

/// What the cloned child reads: the setup, the exec's arguments, and where it leaves the
/// errno when it cannot exec.
#[cfg(target_os = "linux")]
struct CloneChild<'a> {
    prepare: &'a CommandPrepare,
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    errno: std::sync::atomic::AtomicI32,
}

#[cfg(target_os = "linux")]
fn clone_command(argv: &[OsString], prepare: &CommandPrepare) -> io::Result<i32> {
    use std::os::unix::ffi::OsStrExt;
    use std::sync::atomic::Ordering;
    let args = argv
        .iter()
        .map(|arg| std::ffi::CString::new(arg.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "an argument contains a NUL byte"))?;
    let pointers: Vec<*const libc::c_char> = args
        .iter()
        .map(|arg| arg.as_ptr())
        .chain([std::ptr::null()])
        .collect();
    let child = CloneChild {
        prepare,
        program: args[0].as_ptr(),
        argv: pointers.as_ptr(),
        errno: std::sync::atomic::AtomicI32::new(0),
    };
    let stack = ChildStack::new(args.len())?;
    let pid = with_signals_blocked(|| {
        // SAFETY: `run_clone_child` gets a pointer to `child`, which outlives the child's
        // use of it: with CLONE_VFORK this thread is suspended until the child has exec'd or
        // exited, and `child`, the strings and the stack are dropped only after. The stack
        // is a fresh mapping of the size `ChildStack` computes, and grows down from `top`.
        crate::check(unsafe {
            libc::clone(
                run_clone_child,
                stack.top(),
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                &child as *const CloneChild as *mut libc::c_void,
            )
        })
    })??;
    match child.errno.load(Ordering::Acquire) {
        0 => Ok(pid),
        errno => {
            crate::reap::reap_exited(pid);
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

/// The cloned child: setup, exec; on failure the errno for the shim, then `_exit`.
#[cfg(target_os = "linux")]
extern "C" fn run_clone_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `CloneChild` that `clone_command` keeps alive until we exec or
    // exit (CLONE_VFORK); we only read it and store into its atomic.
    let child = unsafe { &*(arg as *const CloneChild) };
    let errno = match child.prepare.apply() {
        Ok(()) => {
            // SAFETY: NUL-terminated program name and a null-terminated array of
            // NUL-terminated arguments, alive in the suspended shim. execvp searches PATH
            // with stack buffers only, as glibc's posix_spawnp does in the same position.
            unsafe { libc::execvp(child.program, child.argv) };
            io::Error::last_os_error().raw_os_error()
        }
        Err(error) => error.raw_os_error(),
    };
    child.errno.store(
        errno.filter(|&e| e != 0).unwrap_or(libc::EIO),
        std::sync::atomic::Ordering::Release,
    );
    // SAFETY: _exit ends the child without touching the shim's shared state further.
    unsafe { libc::_exit(127) }
}

/// The cloned child's stack: its own anonymous mapping with a guard page below it. 64 KiB
/// plus room for the argument pointers covers execvp (a PATH-sized buffer, and glibc's
/// ENOEXEC fallback copies argv on the stack) and the setup.
#[cfg(target_os = "linux")]
struct ChildStack {
    base: *mut libc::c_void,
    len: usize,
}

#[cfg(target_os = "linux")]
impl ChildStack {
    fn new(args: usize) -> io::Result<ChildStack> {
        let page = crate::tree::page_size() as usize;
        let wanted = 64 * 1024 + (args + 2) * std::mem::size_of::<usize>();
        let len = wanted.div_ceil(page) * page + page;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = ChildStack { base, len };
        // SAFETY: the lowest page of our own mapping becomes the guard.
        crate::check(unsafe { libc::mprotect(base, page, libc::PROT_NONE) })?;
        Ok(stack)
    }

    fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping, where a downward-growing stack starts.
        unsafe { self.base.cast::<u8>().add(self.len).cast() }
    }
}

#[cfg(target_os = "linux")]
impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; no child runs on it any more.
        unsafe { libc::munmap(self.base, self.len) };
    }
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
