//! The shim: a fork of FlowForge (a re-exec on macOS) that leads the child's session and owns
//! its tree.
//!
//! Why a shim: a parent-death signal reaches only the direct child, so if FlowForge itself
//! is killed with SIGKILL, grandchildren (and daemons that double-forked and called
//! `setsid`) would live on. The shim closes that hole. FlowForge forks it (see
//! [`crate::spawn::start_shim`]; on macOS it execs `flowforge __shim -- CMD...`); the shim
//!
//! 1. calls `setsid` (new session; with a pty, takes it as controlling terminal),
//! 2. becomes a child subreaper, so every orphan below it re-parents to it, never to init,
//! 3. ignores the signals FlowForge forwards (they are aimed at the command's group, which is
//!    not the shim's) and starts the command in its own process group,
//! 4. reports `Started(pid)` / `SpawnFailed(errno)` / `Exited(status)` on its control
//!    channel (a socket pair on fd 3), reaps everything that dies below it, and exits once
//!    the command has exited and it has no children left — so "the shim is gone" means "the
//!    whole tree is gone". `Exited` also says whether the command was the last process of
//!    the tree, so FlowForge need not look for leftovers the shim knows are not there;
//! 5. when the channel reads end-of-file, FlowForge is dead: it SIGKILLs every descendant
//!    until none is left, then exits. FlowForge's own stop logic (TERM, grace, KILL) works
//!    on the same tree from outside; the shim only ever acts alone when FlowForge cannot.
//!
//! The command gets SIGKILL as parent-death signal, so even a SIGKILL of the shim takes the
//! command down; anything below it then re-parents to FlowForge, itself a subreaper.

use crate::fd::{self, AsFdBorrowed};
use crate::inherited::Inherited;
use crate::kill::{self, Target};
use crate::process::{self, Disposition, SignalSet};
use crate::reap::{self, ExitStatus};
use crate::spawn::{self, CommandSetup, FORWARDED_AND_IGNORED, SHIM_CHANNEL_FD};
use std::ffi::OsString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// One report from the shim to FlowForge; 12 bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Started { pid: i32 },
    SpawnFailed { errno: i32 },
    Exited(CommandExit),
}

/// How the command ended, as the shim saw it when it reaped the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandExit {
    pub status: ExitStatus,
    /// The shim had no other child left as it reaped the command (so it is exiting too, and
    /// nothing below it is left over).
    pub tree_empty: bool,
}

pub const MESSAGE_LEN: usize = 12;

/// The longest the shim sleeps without a SIGCHLD or a word from FlowForge.
const SAFETY_WAIT_MS: i32 = 60_000;

impl Message {
    pub fn encode(self) -> [u8; MESSAGE_LEN] {
        let (tag, a, b): (i32, i32, i32) = match self {
            Message::Started { pid } => (1, pid, 0),
            Message::SpawnFailed { errno } => (2, errno, 0),
            Message::Exited(CommandExit { status, tree_empty }) => {
                let (kind, value) = match status {
                    ExitStatus::Exited(code) => (0, code),
                    ExitStatus::Signaled(signal) => (1, signal),
                };
                (3, kind | (i32::from(tree_empty) << 1), value)
            }
        };
        let mut out = [0u8; MESSAGE_LEN];
        out[0..4].copy_from_slice(&tag.to_le_bytes());
        out[4..8].copy_from_slice(&a.to_le_bytes());
        out[8..12].copy_from_slice(&b.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8; MESSAGE_LEN]) -> Option<Message> {
        let word = |i: usize| i32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        match (word(0), word(4), word(8)) {
            (1, pid, _) => Some(Message::Started { pid }),
            (2, errno, _) => Some(Message::SpawnFailed { errno }),
            (3, flags @ 0..=3, value) => Some(Message::Exited(CommandExit {
                status: match flags & 1 {
                    0 => ExitStatus::Exited(value),
                    _ => ExitStatus::Signaled(value),
                },
                tree_empty: flags & 2 != 0,
            })),
            _ => None,
        }
    }
}

/// Runs the shim; returns the exit code for the shim process. `pty` says the command's
/// stdout (fd 1) is a pty slave that must become the session's controlling terminal.
pub fn run(argv: &[OsString], pty: bool) -> i32 {
    // SAFETY: FlowForge spawned us with the control channel on fd 3 (spawn_shim); nothing
    // else in this process owns it.
    let channel = unsafe { OwnedFd::from_raw_fd(SHIM_CHANNEL_FD) };
    if fd::set_cloexec(channel.as_fd_borrowed(), true).is_err() {
        return 125;
    }
    match supervise(&channel, argv, pty) {
        Ok(code) => code,
        Err(_) => {
            // Whatever failed, never leave the tree behind.
            kill_everything();
            125
        }
    }
}

fn supervise(channel: &OwnedFd, argv: &[OsString], pty: bool) -> io::Result<i32> {
    process::setsid()?;
    process::set_child_subreaper()?;
    let stdout = fd::stdio(1);
    if pty {
        crate::pty::make_controlling_terminal(stdout)?;
    }
    for signal in FORWARDED_AND_IGNORED {
        if signal != libc::SIGCHLD {
            process::set_disposition(signal, Disposition::Ignore)?;
        }
    }
    // SIGCHLD stays blocked except inside the wait, where it interrupts it.
    let sigchld = SignalSet::empty().with(libc::SIGCHLD);
    process::block_signals(&sigchld)?;
    process::set_disposition(libc::SIGCHLD, Disposition::Wake)?;

    let setup = CommandSetup {
        terminal: pty.then_some(stdout),
    };
    let command = match spawn::spawn_command(argv, setup) {
        Ok(pid) => pid,
        Err(err) => {
            send(
                channel,
                Message::SpawnFailed {
                    errno: err.raw_os_error().unwrap_or(libc::EIO),
                },
            )?;
            return Ok(0);
        }
    };
    send(channel, Message::Started { pid: command })?;
    spawn::close_flowforge_descriptors()?;
    // The shim holds no stream: output ends when the tree's writers are gone.
    let devnull = fd::open_devnull()?;
    for target in 0..=2 {
        fd::dup2(devnull.as_fd_borrowed(), target)?;
    }

    let mut command_done = false;
    let mut flowforge_gone = false;
    // During the wait only SIGCHLD is let through beyond what the caller already allowed.
    let unblocked = Inherited::at_start().mask().without(libc::SIGCHLD);
    loop {
        // Reap everything that has exited; the loop ends on "none exited yet" or on ECHILD,
        // and ECHILD right after the command's reap is the report that its tree is empty.
        let mut command_status = None;
        let no_children_left = loop {
            match reap::reap_any() {
                Ok(Some((pid, status))) if pid == command => {
                    command_done = true;
                    command_status = Some(status);
                }
                Ok(Some(_)) => {}
                Ok(None) => break false,
                Err(err) if reap::is_no_children(&err) => break true,
                Err(err) => return Err(err),
            }
        };
        if let Some(status) = command_status {
            if !flowforge_gone {
                let tree_empty = no_children_left;
                let _ = send(channel, Message::Exited(CommandExit { status, tree_empty }));
            }
        }
        if no_children_left && (command_done || flowforge_gone) {
            return Ok(0);
        }
        if flowforge_gone {
            kill_everything_once(command);
            std::thread::sleep(std::time::Duration::from_millis(10));
            continue;
        }
        // SIGCHLD and the channel's end-of-file both end the wait; the timeout is only a
        // safety net, long so that an idle shim does not wake every second.
        if process::wait_readable_or_signal(channel.as_fd_borrowed(), SAFETY_WAIT_MS, &unblocked)? {
            let mut byte = [0u8; 64];
            match fd::read(channel.as_fd_borrowed(), &mut byte) {
                Ok(0) => flowforge_gone = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => flowforge_gone = true,
            }
        }
    }
}

fn kill_everything_once(command: i32) {
    let _ = kill::send(Target::Group(command), libc::SIGKILL);
    kill::signal_descendants(process::getpid(), libc::SIGKILL, &[]);
}

fn kill_everything() {
    let me = process::getpid();
    for _ in 0..200 {
        if kill::signal_descendants(me, libc::SIGKILL, &[]) == 0 {
            break;
        }
        while let Ok(Some(_)) = reap::reap_any() {}
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn send(channel: &OwnedFd, message: Message) -> io::Result<()> {
    let bytes = message.encode();
    let mut written = 0;
    while written < bytes.len() {
        match fd::write(channel.as_fd_borrowed(), &bytes[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for message in [
            Message::Started { pid: 4242 },
            Message::SpawnFailed { errno: 2 },
            Message::Exited(CommandExit {
                status: ExitStatus::Exited(3),
                tree_empty: false,
            }),
            Message::Exited(CommandExit {
                status: ExitStatus::Signaled(9),
                tree_empty: true,
            }),
            Message::Exited(CommandExit {
                status: ExitStatus::Exited(0),
                tree_empty: true,
            }),
        ] {
            assert_eq!(Message::decode(&message.encode()), Some(message));
        }
        assert_eq!(Message::decode(&[9; MESSAGE_LEN]), None);
        // An Exited with flags this version does not know is not read as a status.
        let mut unknown = Message::Exited(CommandExit {
            status: ExitStatus::Exited(0),
            tree_empty: false,
        })
        .encode();
        unknown[4] = 4;
        assert_eq!(Message::decode(&unknown), None);
    }
}
