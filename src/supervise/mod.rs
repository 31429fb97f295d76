//! The supervisor: one single-threaded mio loop that owns one child and its whole tree.
//!
//! Sources, each a constant token: signals (self-pipe from signal-hook), the shim's exit
//! (pidfd; where there is none, SIGCHLD and `waitpid` alone), the shim's control channel,
//! the child's stdout and stderr (or pty master), our own stdout/stderr when they can block,
//! and our stdin when it is copied into a pty. Timers are deadlines that set the poll
//! timeout: the sampling tick, the 250 ms check that asks the [`Watch`] whether to stop,
//! the stop's grace deadline and the drain's. This file owns the long-lived parts and the
//! loop, which only polls and dispatches; the run's phases (`Running`, `Stopping`,
//! `Draining`) and one `on_…` method per event are the state machine in `attempt.rs`. An
//! attempt ends when the shim has exited — which it does only once the command and every
//! descendant are gone — and the output is drained or given up on.
//!
//! An attempt begins with [`Launched::start`], which forks the shim and returns at once; the
//! loop's setup and the confirmation of the exec come after. For the first attempt FlowForge
//! sets up its recorder and this loop in between, while the shim starts the command.
//!
//! Stopping the tree: SIGTERM to the command's process group and to every descendant found
//! below FlowForge (escapees in other groups or sessions included, since the shim and
//! FlowForge are subreapers), then SIGKILL after the grace, repeated until the shim reports
//! the tree empty. The same happens to whatever the command leaves behind when it exits.

mod attempt;
pub mod child;
mod lines;
pub mod output;
pub mod sampler;

use attempt::Attempt;
pub use child::SpawnError;
use child::{Child, Wiring};
use output::{Pump, Sink};

use crate::sample::{Sample, Stream};
use flowforge_platform::fd::{self, AsFdBorrowed};
use flowforge_platform::inherited::Inherited;
use flowforge_platform::kill::{self, Target};
use flowforge_platform::reap::{self, ExitStatus};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::signal::*;
use signal_hook_mio::v1_0::Signals;
use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const SIGNALS: Token = Token(0);
const SHIM_EXIT: Token = Token(1);
const CHANNEL: Token = Token(2);
const CHILD_STDOUT: Token = Token(3);
const CHILD_STDERR: Token = Token(4);
const OUR_STDOUT: Token = Token(5);
const OUR_STDERR: Token = Token(6);
const OUR_STDIN: Token = Token(7);
const PTY_INPUT: Token = Token(8);
const WATCH_WAKE: Token = Token(9);

/// How often the watch is asked whether to stop while the command's output flows.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(250);
/// How often once no line arrived since the previous check: on the samples' whole seconds,
/// so a quiet run wakes once a second, not four times (idle CPU). A line brings the next
/// check back to the [`CHECK_INTERVAL`] grid ([`check_after_output`]), the watch's wake
/// descriptor wakes the loop at once, and a guardrail's deadline ([`Watch::deadline`]) is a
/// timer of its own, so none of them waits for the quiet grid.
pub const QUIET_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// The next check while the watch waits for the rest of a request (see [`Watch::check_soon`]).
const RECHECK: Duration = Duration::from_millis(10);

/// When the check after one at `now` (time since the start) comes: on the grid of
/// [`CHECK_INTERVAL`] while lines arrive, of [`QUIET_CHECK_INTERVAL`] once none came since
/// the previous check, so quiet checks fall on the samples' whole seconds and share their
/// wake-up. The live loop and `flowforge replay` both schedule by it.
pub fn next_check(now: Duration, quiet: bool) -> Duration {
    let step = if quiet {
        QUIET_CHECK_INTERVAL
    } else {
        CHECK_INTERVAL
    };
    let steps = now.as_nanos() / step.as_nanos() + 1;
    Duration::from_nanos(u64::try_from(steps * step.as_nanos()).unwrap_or(u64::MAX))
}

/// The check due after output arrived at `at`, when `scheduled` was set by a quiet check:
/// no later than the next point of the [`CHECK_INTERVAL`] grid, so a job that starts
/// writing again is judged as soon as one that never paused. The live loop and
/// `flowforge replay` both apply it.
pub fn check_after_output(scheduled: Duration, at: Duration) -> Duration {
    scheduled.min(next_check(at, false))
}
/// A second SIGINT within this span kills the tree at once.
const DOUBLE_INTERRUPT: Duration = Duration::from_secs(3);
/// How long a flowing stream is left to gather before the next read (see the loop).
const COALESCE: Duration = Duration::from_micros(250);
/// How often SIGKILL is repeated while the tree is not yet empty.
const KILL_REPEAT: Duration = Duration::from_millis(50);
/// Once the tree is gone, how long a reader may take nothing before the output still held
/// is dropped; any progress starts the wait again.
const DRAIN_STALL: Duration = Duration::from_secs(5);
/// After FlowForge stopped the tree: the whole drain, progress or not, so `--timeout` and
/// the exit status never wait on a reader.
const DRAIN_AFTER_STOP: Duration = Duration::from_secs(1);
/// Lines per second the detector sees at most; the rest pass through unanalysed.
const ANALYSIS_LINES_PER_SECOND: u32 = 25_000;

const FORWARDED: [i32; 6] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];

/// Who asked for a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopper {
    Guardrail,
    Detector,
    /// A user, through the local API (see act/control.rs).
    User,
}

/// A request to stop the tree, with the reason a human reads.
#[derive(Debug, Clone, PartialEq)]
pub struct StopRequest {
    pub by: Stopper,
    /// Short machine name: `timeout`, `max_rss`, `idle_timeout`, `runaway`, ...
    pub kind: &'static str,
    pub reason: String,
}

/// What the supervisor tells the policy layer, and asks it. Everything here is called from
/// the loop thread and must not block.
pub trait Watch {
    fn started(&mut self, _pid: i32) {}
    fn line(&mut self, stream: Stream, line: &[u8], truncated: bool, at: Duration);
    /// Output of `stream` passed through unanalysed before the next line (flood sampling).
    fn gap(&mut self, _stream: Stream) {}
    fn sample(&mut self, sample: &Sample);
    /// Asked every [`CHECK_INTERVAL`] while the command's output flows, every
    /// [`QUIET_CHECK_INTERVAL`] while it is quiet, and at once when [`Watch::wake_fd`] is
    /// readable.
    fn check(&mut self, at: Duration) -> Option<StopRequest>;
    /// A descriptor that, when it becomes readable, asks for a check now (the run's control
    /// socket: a user's kill should not wait for the next check).
    fn wake_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
    /// The watch is in the middle of something (a request half read) and wants the next
    /// check within a few milliseconds.
    fn check_soon(&self) -> bool {
        false
    }
    fn signal_forwarded(&mut self, _signal: i32) {}
    /// The earliest moment a limit of the watch can fire (a `--timeout`, an
    /// `--idle-timeout`): the loop checks then, between its regular checks, so a limit is
    /// exact to the loop's wake-up rather than to the check grid.
    fn deadline(&self) -> Option<Instant> {
        None
    }
}

/// When the command gets a pseudo-terminal (`--pty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtyMode {
    /// When FlowForge's stdout is a terminal.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub pty: PtyMode,
    pub tick: Duration,
    pub kill_grace: Duration,
}

/// How a tree stop went.
#[derive(Debug, Clone)]
pub struct StopReport {
    pub request: StopRequest,
    /// Processes that received SIGTERM (or SIGKILL for an immediate stop).
    pub signalled: usize,
    pub escalated_to_kill: bool,
    /// From the first signal until the tree was empty.
    pub gone_after: Duration,
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptEnd {
    pub pid: i32,
    /// The command's own status, when it was reported.
    pub status: Option<ExitStatus>,
    /// Set when FlowForge stopped the tree on request (not for cleanup after the child exited).
    pub stopped: Option<StopReport>,
    /// A second Ctrl-C killed the tree.
    pub interrupted: bool,
    /// Processes left behind by the command and stopped after it exited.
    pub leftovers_stopped: usize,
    pub duration: Duration,
    /// Our stdout was closed by its reader (EPIPE).
    pub output_closed: bool,
    /// Output bytes dropped because the reader took nothing while the drain waited.
    pub output_dropped: u64,
}

/// The wait for a slow reader once the tree is gone (see [`DRAIN_STALL`]).
struct Drain {
    deadline: Instant,
    /// A hard deadline: progress does not extend it.
    hard: bool,
    written: u64,
}

impl Drain {
    fn new(now: Instant, after_stop: bool, written: u64) -> Drain {
        let wait = if after_stop { DRAIN_AFTER_STOP } else { DRAIN_STALL };
        Drain {
            deadline: now + wait,
            hard: after_stop,
            written,
        }
    }

    /// Whether to give up, given how many bytes the sinks have taken so far.
    fn expired(&mut self, now: Instant, written: u64) -> bool {
        if !self.hard && written != self.written {
            self.written = written;
            self.deadline = now + DRAIN_STALL;
        }
        now >= self.deadline
    }
}

/// An attempt's command, being started by its shim: [`Launched::start`] forks the shim and
/// returns at once, so that the first attempt's command starts while FlowForge sets up its
/// recorder and its loop ([`Supervisor::new`]), on the other core if there is one. A
/// `Launched` that is dropped instead of supervised closes the shim's channel, and the shim
/// takes the tree down.
pub struct Launched {
    launch: child::Launch,
    started: Instant,
}

impl Launched {
    pub fn start(argv: &[OsString], options: &Options) -> Result<Launched, SpawnError> {
        // Orphans of the tree re-parent to us if the shim dies: from the first instant.
        flowforge_platform::process::set_child_subreaper().map_err(|source| SpawnError::Failed {
            what: "becoming a child subreaper",
            source,
        })?;
        let tty = |fd| fd::isatty(fd::stdio(fd));
        let pty = match options.pty {
            PtyMode::Always => true,
            PtyMode::Never => false,
            PtyMode::Auto => tty(1),
        };
        let wiring = Wiring {
            pty,
            stderr_on_pty: pty && tty(2),
            stdin_on_pty: pty && tty(0),
        };
        let started = Instant::now();
        // Forked from a thread of its own: a fork's child starts on its parent's core, and a
        // new thread on an idle one (measured on the 2-core CI machine with perf sched), so
        // the shim execs the command on the other core while this thread sets up the loop
        // and the recorder, instead of waiting for this thread to block.
        let launch = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("flowforge-launch".into())
                .spawn_scoped(scope, || child::launch(argv, wiring))
                .map_err(|source| SpawnError::Failed {
                    what: "starting the launcher thread",
                    source,
                })?
                .join()
                .unwrap_or_else(|_| {
                    Err(SpawnError::Failed {
                        what: "the launcher thread",
                        source: io::Error::other("it panicked"),
                    })
                })
        })?;
        Ok(Launched { launch, started })
    }
}

/// The signals FlowForge catches, caught before the first command starts: a signal aimed at
/// FlowForge in the instant after the command begins (its own `kill -TERM $PPID`, a user's
/// quick Ctrl-C) is forwarded like any later one instead of meeting its default action while
/// the loop is still being set up ([`Launched::start`] runs before [`Supervisor::new`]).
pub struct CaughtSignals(Signals);

impl CaughtSignals {
    pub fn install() -> io::Result<CaughtSignals> {
        // A forwarded signal ignored on entry (`nohup`, SIGINT of a background job) stays
        // ignored, here and in the command (the shim passes the dispositions on).
        let inherited = Inherited::at_start();
        let caught = FORWARDED
            .into_iter()
            .filter(|&signal| !inherited.ignored(signal))
            .chain([SIGCHLD, SIGWINCH]);
        Ok(CaughtSignals(Signals::new(caught)?))
    }
}

/// The loop's long-lived parts, kept across attempts (restarts).
pub struct Supervisor {
    poll: Poll,
    events: Events,
    signals: Signals,
    stdout: Sink,
    stderr: Sink,
    options: Options,
    last_interrupt: Option<Instant>,
}

impl Supervisor {
    pub fn new(options: Options, caught: CaughtSignals) -> io::Result<Supervisor> {
        let poll = Poll::new()?;
        let CaughtSignals(mut signals) = caught;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        let stdout = Sink::new(1);
        let stderr = Sink::new(2);
        for (sink, token) in [(&stdout, OUR_STDOUT), (&stderr, OUR_STDERR)] {
            if sink.pollable() {
                let raw = sink.fd().as_raw_fd();
                poll.registry()
                    .register(&mut SourceFd(&raw), token, Interest::WRITABLE)?;
            }
        }
        Ok(Supervisor {
            poll,
            events: Events::with_capacity(64),
            signals,
            stdout,
            stderr,
            options,
            last_interrupt: None,
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Runs the attempt whose command [`Launched::start`] began, to its end.
    pub fn supervise(&mut self, launched: Launched, watch: &mut dyn Watch) -> Result<AttemptEnd, SpawnError> {
        let Launched { launch, started } = launched;
        let child = launch.confirm()?;
        log::info!(
            "started pid {} (shim {}) pty={}",
            child.pid,
            child.shim,
            child.pty_master.is_some()
        );
        watch.started(child.pid);
        let mut child = child;
        let registered = Registered::of(&child);
        let result = self.attempt(&mut child, started, watch);
        registered.deregister(self.poll.registry());
        result.map_err(|source| {
            // The tree must not outlive a loop failure.
            kill_tree_now(&child);
            SpawnError::Failed {
                what: "supervising the command",
                source,
            }
        })
    }

    /// Waits `duration` between attempts (restart backoff). Returns early with the signal
    /// if FlowForge is asked to stop (INT, TERM, HUP, QUIT); reaps strays meanwhile.
    pub fn pause(&mut self, duration: Duration) -> Option<i32> {
        let deadline = Instant::now() + duration;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            if let Err(e) = self.poll.poll(&mut self.events, Some(left)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    std::thread::sleep(left);
                    return None;
                }
            }
            for signal in self.signals.pending() {
                match signal {
                    SIGINT | SIGTERM | SIGHUP | SIGQUIT => return Some(signal),
                    SIGCHLD => while let Ok(Some(_)) = reap::reap_any() {},
                    _ => {}
                }
            }
        }
    }

    /// Registers the child's descriptors, then runs the loop: poll, hand each readiness to
    /// the [`Attempt`] state machine in a fixed order (signals first, as signal-hook asks:
    /// drain the self-pipe, then act), until the attempt is over.
    fn attempt(
        &mut self,
        child: &mut Child,
        started: Instant,
        watch: &mut dyn Watch,
    ) -> io::Result<AttemptEnd> {
        let registry = self.poll.registry();
        if let Some(notifier) = &child.exit_notifier {
            registry.register(
                &mut SourceFd(&notifier.as_raw_fd()),
                SHIM_EXIT,
                Interest::READABLE,
            )?;
        }
        registry.register(
            &mut SourceFd(&child.channel.as_raw_fd()),
            CHANNEL,
            Interest::READABLE,
        )?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("child stdout already taken"))?;
        registry.register(
            &mut SourceFd(&stdout.as_raw_fd()),
            CHILD_STDOUT,
            Interest::READABLE,
        )?;
        let stdout_pump = Pump::new(Stream::Stdout, stdout);
        let stderr_pump = match child.stderr.take() {
            Some(fd) => {
                registry.register(&mut SourceFd(&fd.as_raw_fd()), CHILD_STDERR, Interest::READABLE)?;
                Some(Pump::new(Stream::Stderr, fd))
            }
            None => None,
        };
        let stdin_copy = match &child.pty_input {
            Some(master) => {
                // Our terminal's description is shared with the shell: O_NONBLOCK is
                // restored when the attempt ends.
                let stdin = fd::stdio(0);
                let restore = matches!(fd::is_nonblocking(stdin), Ok(false));
                fd::set_nonblocking(stdin, true)?;
                registry.register(&mut SourceFd(&0), OUR_STDIN, Interest::READABLE)?;
                registry.register(&mut SourceFd(&master.as_raw_fd()), PTY_INPUT, Interest::WRITABLE)?;
                Some(StdinCopy {
                    master: master.try_clone()?,
                    pending: Vec::new(),
                    restore_blocking: restore,
                    stdin_ready: true,
                    done: false,
                })
            }
            None => None,
        };

        let child: &Child = child;
        let mut attempt = Attempt::new(
            child,
            &self.options,
            started,
            stdout_pump,
            stderr_pump,
            stdin_copy,
        );
        attempt.check_by(watch.deadline());
        if child.exit_notifier.is_none() {
            // Without a pidfd only SIGCHLD tells of the shim's exit, and the first attempt's
            // shim was forked before our handler existed: look once now that it does.
            attempt.on_reap();
        }
        let mut wake: Option<i32> = None;
        while !attempt.is_over() {
            if let Some(fd) = watch.wake_fd().filter(|fd| wake != Some(*fd)) {
                // Registered once it exists (the control socket is bound a few milliseconds
                // into the run), tried once; a failure only costs the wake-up, the check
                // still comes.
                let _ = self
                    .poll
                    .registry()
                    .register(&mut SourceFd(&fd), WATCH_WAKE, Interest::READABLE);
                wake = Some(fd);
            }
            let timeout = attempt.poll_timeout(Instant::now());
            if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    attempt.finish();
                    return Err(e);
                }
            }
            let (mut signals_pending, mut reap_needed) = (false, false);
            for event in self.events.iter() {
                match event.token() {
                    SIGNALS => signals_pending = true,
                    SHIM_EXIT => reap_needed = true,
                    CHANNEL => attempt.on_channel(),
                    CHILD_STDOUT => attempt.on_child_readable(Stream::Stdout),
                    CHILD_STDERR => attempt.on_child_readable(Stream::Stderr),
                    OUR_STDIN => attempt.on_stdin_readable(),
                    WATCH_WAKE => attempt.check_now(),
                    // Writability of our sinks and the pty: the pumps retry every turn.
                    _ => {}
                }
            }
            if signals_pending {
                for signal in self.signals.pending() {
                    reap_needed |= attempt.on_signal(signal, &mut self.last_interrupt, watch);
                }
            }
            if reap_needed {
                attempt.on_reap();
            }
            attempt.on_output(&self.stdout, &self.stderr, watch);
            attempt.on_timers(watch);
        }
        if let Some(fd) = wake {
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        // Adopted orphans of a shim that died early would still be ours: stop them too.
        stop_strays(self.options.kill_grace);
        Ok(attempt.finish())
    }
}

/// The descriptor numbers an attempt registered, remembered before the pumps take (and
/// may close) the descriptors, so they can all be deregistered at the end.
struct Registered(Vec<i32>);

impl Registered {
    fn of(child: &Child) -> Registered {
        let mut fds: Vec<i32> = [
            child.exit_notifier.as_ref(),
            Some(&child.channel),
            child.stdout.as_ref(),
            child.stderr.as_ref(),
            child.pty_input.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|fd| fd.as_raw_fd())
        .collect();
        if child.pty_input.is_some() {
            fds.push(0);
        }
        Registered(fds)
    }

    fn deregister(self, registry: &mio::Registry) {
        for fd in self.0 {
            let _ = registry.deregister(&mut SourceFd(&fd));
        }
    }
}

fn forward(child: &Child, signal: i32, watch: &mut dyn Watch) {
    log::info!(
        "forwarding {} to process group {}",
        kill::signal_name(signal),
        child.pid
    );
    let _ = kill::send(Target::Group(child.pid), signal);
    watch.signal_forwarded(signal);
}

/// One pass of a tree stop: every descendant below FlowForge but the shim (escapees from
/// the group included), then the command's group for anything forked since the walk.
/// Returns how many processes were signalled.
fn kill_tree_once(child: &Child, signal: i32) -> usize {
    let me = flowforge_platform::process::getpid();
    let signalled = kill::signal_descendants(me, signal, &[child.shim]);
    let _ = kill::send(Target::Group(child.pid), signal);
    signalled
}

/// Used when the loop itself failed: SIGKILL everything below us and reap it.
fn kill_tree_now(child: &Child) {
    let _ = kill::send(Target::Group(child.pid), SIGKILL);
    stop_strays(Duration::ZERO);
}

/// Stops and reaps anything still below FlowForge (normally nothing: the shim reaps its tree).
fn stop_strays(grace: Duration) {
    // No child at all (the shim was reaped and adopted nothing): nothing below us either.
    if matches!(reap::has_children(), Ok(false)) {
        return;
    }
    let me = flowforge_platform::process::getpid();
    if flowforge_platform::tree::descendants(me).is_empty() {
        return;
    }
    let began = Instant::now();
    let mut signal = SIGTERM;
    loop {
        while let Ok(Some(_)) = reap::reap_any() {}
        if kill::signal_descendants(me, signal, &[]) == 0 {
            return;
        }
        if began.elapsed() >= grace {
            signal = SIGKILL;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Copies our terminal's input into the pty, bounded by one read's worth.
struct StdinCopy {
    master: std::os::fd::OwnedFd,
    pending: Vec<u8>,
    restore_blocking: bool,
    stdin_ready: bool,
    done: bool,
}

impl StdinCopy {
    /// Gives our terminal its blocking mode back, if we changed it.
    fn restore(&self) {
        if self.restore_blocking {
            let _ = fd::set_nonblocking(fd::stdio(0), false);
        }
    }

    fn turn(&mut self) {
        loop {
            if !self.pending.is_empty() {
                match fd::write(self.master.as_fd_borrowed(), &self.pending) {
                    Ok(n) => {
                        self.pending.drain(..n);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                }
            }
            if self.done || !self.stdin_ready {
                return;
            }
            let mut buf = [0u8; 4096];
            match fd::read(fd::stdio(0), &mut buf) {
                // End of our input: pass the terminal's end-of-file character (^D) on.
                Ok(0) => {
                    self.done = true;
                    self.pending.push(0x04);
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.stdin_ready = false;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{check_after_output, next_check};
    use std::time::Duration;

    #[test]
    fn checks_follow_the_output_and_quiet_ones_fall_on_the_whole_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(next_check(ms(0), false), ms(250));
        assert_eq!(next_check(ms(251), false), ms(500));
        // Quiet: the next whole second, the sample's wake-up.
        assert_eq!(next_check(ms(250), true), ms(1000));
        assert_eq!(next_check(ms(1000), true), ms(2000));
        assert_eq!(next_check(ms(1003), true), ms(2000));
    }

    #[test]
    fn output_after_a_quiet_check_brings_the_next_check_back_to_the_quarter_seconds() {
        let ms = Duration::from_millis;
        // Quiet check at 1.0 s scheduled 2.0 s; a line at 1.1 s wants one at 1.25 s.
        assert_eq!(check_after_output(ms(2000), ms(1100)), ms(1250));
        // Already due sooner (flowing, or a limit's deadline): unchanged.
        assert_eq!(check_after_output(ms(1250), ms(1100)), ms(1250));
        assert_eq!(check_after_output(ms(1200), ms(1100)), ms(1200));
    }
}
