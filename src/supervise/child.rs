//! Starting one supervised child: its streams (pipes or a pty), the shim that leads its
//! session, and the first report that says whether the command could be executed at all.
//!
//! The exec result comes back over the shim's control channel as an errno, which maps to
//! the coreutils convention: `ENOENT` → 127 (not found), `EACCES`/`ENOEXEC`/... → 126 (not
//! executable).

use flowforge_platform::fd::{self, AsFdBorrowed};
use flowforge_platform::reap;
use flowforge_platform::shim::{CommandExit, Message, MESSAGE_LEN};
use flowforge_platform::spawn::{self, StdioSource};
use flowforge_platform::{pty, tree};
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

/// Why a child could not be started.
#[derive(Debug)]
pub enum SpawnError {
    NotFound { program: String },
    NotExecutable { program: String, source: io::Error },
    Failed { what: &'static str, source: io::Error },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::NotFound { program } => write!(
                f,
                "command not found: {program}; check the spelling and your PATH, or give the full path"
            ),
            SpawnError::NotExecutable { program, source } => write!(
                f,
                "cannot execute {program}: {source}; check its permissions (chmod +x) and its #! line"
            ),
            SpawnError::Failed { what, source } => write!(f, "could not start the command: {what}: {source}"),
        }
    }
}

impl SpawnError {
    pub fn exit_code(&self) -> i32 {
        match self {
            SpawnError::NotFound { .. } => 127,
            SpawnError::NotExecutable { .. } => 126,
            SpawnError::Failed { .. } => 125,
        }
    }
}

fn failed(what: &'static str) -> impl FnOnce(io::Error) -> SpawnError {
    move |source| SpawnError::Failed { what, source }
}

/// How the child's streams are wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wiring {
    /// The child's stdout is a pty slave.
    pub pty: bool,
    /// With a pty: stderr goes to the pty too (our stderr is a terminal as well).
    pub stderr_on_pty: bool,
    /// With a pty: stdin comes from the pty (our stdin is a terminal) and we copy ours in.
    pub stdin_on_pty: bool,
}

/// A running child, as FlowForge holds it.
pub struct Child {
    pub shim: i32,
    pub pid: i32,
    /// Readable when the shim exits; `None` where pidfd_open is unavailable (kernel < 5.3,
    /// or a seccomp profile that refuses it), and SIGCHLD alone tells the loop.
    pub exit_notifier: Option<OwnedFd>,
    /// Our end of the shim's control channel (non-blocking).
    pub channel: OwnedFd,
    /// The child's stdout (pipe read end or pty master), non-blocking. Taken by the pump,
    /// which must be its only holder: closing it is how a broken sink reaches the child.
    pub stdout: Option<OwnedFd>,
    /// A second handle on the pty master, for window-size changes.
    pub pty_master: Option<OwnedFd>,
    /// The child's stderr pipe when it is not on the pty.
    pub stderr: Option<OwnedFd>,
    /// A second handle on the pty master for copying our stdin in.
    pub pty_input: Option<OwnedFd>,
}

/// A shim that has been forked and is starting the command; its first report (the exec's
/// result) is not read yet. FlowForge finishes setting itself up meanwhile, then calls
/// [`Launch::confirm`]. Dropped unconfirmed, it closes the channel, and the shim takes
/// the tree down (FlowForge is gone, as far as it can tell).
pub struct Launch {
    shim: i32,
    program: String,
    wiring: Wiring,
    exit_notifier: Option<OwnedFd>,
    ours: OwnedFd,
    stdout_read: OwnedFd,
    stderr_read: Option<OwnedFd>,
    pty_input: Option<OwnedFd>,
}

/// Starts the command: its streams, and the shim that execs it.
pub fn launch(argv: &[OsString], wiring: Wiring) -> Result<Launch, SpawnError> {
    let (ours, theirs) = fd::socketpair().map_err(failed("socketpair"))?;
    let mut stdin = StdioSource::Inherit;
    let (stdout_read, stdout, stderr_read, stderr, pty_input);
    if wiring.pty {
        let (master, slave) = pty::openpty().map_err(failed("openpty"))?;
        pty::disable_echo(slave.as_fd()).map_err(failed("configuring the pty"))?;
        for candidate in [1, 0, 2] {
            if let Ok(size) = pty::window_size(fd::stdio(candidate)) {
                let _ = pty::set_window_size(master.as_fd(), size);
                break;
            }
        }
        if wiring.stdin_on_pty {
            stdin = StdioSource::Fd(slave.try_clone().map_err(failed("dup"))?);
            pty_input = Some(master.try_clone().map_err(failed("dup"))?);
        } else {
            pty_input = None;
        }
        if wiring.stderr_on_pty {
            stderr = StdioSource::Fd(slave.try_clone().map_err(failed("dup"))?);
            stderr_read = None;
        } else {
            let (read, write) = fd::pipe().map_err(failed("pipe"))?;
            stderr = StdioSource::Fd(write);
            stderr_read = Some(read);
        }
        stdout = StdioSource::Fd(slave);
        stdout_read = master;
    } else {
        let (out_read, out_write) = fd::pipe().map_err(failed("pipe"))?;
        let (err_read, err_write) = fd::pipe().map_err(failed("pipe"))?;
        // A bigger pipe means fewer wake-ups per byte; best effort.
        let _ = fd::set_pipe_size(out_write.as_fd(), 1 << 20);
        stdout_read = out_read;
        stdout = StdioSource::Fd(out_write);
        stderr_read = Some(err_read);
        stderr = StdioSource::Fd(err_write);
        pty_input = None;
    }

    let shim = spawn::start_shim(argv, wiring.pty, [stdin, stdout, stderr], &theirs)
        .map_err(failed("starting the supervisor shim"))?;
    drop(theirs);
    Ok(Launch {
        shim,
        program: argv
            .first()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        wiring,
        exit_notifier: exit_notifier(shim),
        ours,
        stdout_read,
        stderr_read,
        pty_input,
    })
}

impl Launch {
    /// Waits for the shim's report: the running child, or why the command could not start.
    pub fn confirm(self) -> Result<Child, SpawnError> {
        let Launch {
            shim,
            program,
            wiring,
            exit_notifier,
            ours,
            stdout_read,
            stderr_read,
            pty_input,
        } = self;
        let pid = match read_message_blocking(&ours) {
            Ok(Some(Message::Started { pid })) => pid,
            Ok(Some(Message::SpawnFailed { errno })) => {
                wait_for(shim);
                let source = io::Error::from_raw_os_error(errno);
                return Err(match errno {
                    libc::ENOENT => SpawnError::NotFound { program },
                    _ => SpawnError::NotExecutable { program, source },
                });
            }
            Ok(_) => {
                wait_for(shim);
                return Err(SpawnError::Failed {
                    what: "the supervisor shim",
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "it ended before starting the command",
                    ),
                });
            }
            Err(source) => {
                wait_for(shim);
                return Err(SpawnError::Failed {
                    what: "reading from the supervisor shim",
                    source,
                });
            }
        };
        let pty_master = match wiring.pty {
            true => Some(stdout_read.try_clone().map_err(failed("dup"))?),
            false => None,
        };
        for fd in [
            Some(&ours),
            Some(&stdout_read),
            stderr_read.as_ref(),
            pty_input.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            fd::set_nonblocking(fd.as_fd_borrowed(), true).map_err(failed("setting O_NONBLOCK"))?;
        }
        Ok(Child {
            shim,
            pid,
            exit_notifier,
            channel: ours,
            stdout: Some(stdout_read),
            pty_master,
            stderr: stderr_read,
            pty_input,
        })
    }
}

/// Debug builds only: with this variable set, pidfd_open is treated as unavailable, so the
/// tests can run the SIGCHLD fallback on a kernel that has pidfds.
const NO_PIDFD_VAR: &str = "FLOWFORGE_TEST_NO_PIDFD";

/// A pidfd for the shim, or `None` to rely on SIGCHLD and `waitpid` (which the loop listens
/// to anyway, for the orphans it adopts as a subreaper): the pidfd only saves a wake-up.
fn exit_notifier(shim: i32) -> Option<OwnedFd> {
    if cfg!(debug_assertions) && std::env::var_os(NO_PIDFD_VAR).is_some() {
        log::debug!("pidfd_open disabled by {NO_PIDFD_VAR}: waiting on SIGCHLD");
        return None;
    }
    match reap::pidfd_open(shim) {
        Ok(fd) => Some(fd),
        Err(e) => {
            log::debug!("pidfd_open({shim}) failed ({e}): waiting on SIGCHLD");
            None
        }
    }
}

/// Reads one whole message from a blocking channel; `Ok(None)` at end of file.
fn read_message_blocking(channel: &OwnedFd) -> io::Result<Option<Message>> {
    let mut buf = [0u8; MESSAGE_LEN];
    let mut got = 0;
    while got < MESSAGE_LEN {
        match fd::read(channel.as_fd(), &mut buf[got..]) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Message::decode(&buf))
}

/// Reaps a shim that is about to exit on its own (after a failed exec).
fn wait_for(shim: i32) {
    for _ in 0..2000 {
        match reap::reap_any() {
            Ok(Some((pid, _))) if pid == shim => return,
            Ok(Some(_)) => {}
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(_) => return,
        }
    }
}

/// Accumulates the shim's reports from the non-blocking channel.
#[derive(Default)]
pub struct ChannelReader {
    buf: Vec<u8>,
    pub closed: bool,
}

impl ChannelReader {
    /// Reads what is available; returns the shim's report of the command's exit, if it came.
    pub fn read(&mut self, channel: &OwnedFd) -> Option<CommandExit> {
        let mut status = None;
        let mut chunk = [0u8; 256];
        loop {
            match fd::read(channel.as_fd(), &mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.closed = true;
                    break;
                }
            }
        }
        while self.buf.len() >= MESSAGE_LEN {
            let mut message = [0u8; MESSAGE_LEN];
            message.copy_from_slice(&self.buf[..MESSAGE_LEN]);
            self.buf.drain(..MESSAGE_LEN);
            if let Some(Message::Exited(exit)) = Message::decode(&message) {
                status = Some(exit);
            }
        }
        status
    }
}

/// Every process below FlowForge except the shim: what a tree stop must signal.
pub fn tree_members(shim: i32) -> Vec<i32> {
    let me = flowforge_platform::process::getpid();
    tree::descendants(me)
        .into_iter()
        .filter(|&pid| pid != shim)
        .collect()
}
