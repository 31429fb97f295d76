//! The supervisor: one single-threaded mio loop that owns one child and its whole tree.
//!
//! Sources, each a constant token: signals (self-pipe from signal-hook), the shim's exit
//! (pidfd; where there is none, SIGCHLD and `waitpid` alone), the shim's control channel,
//! the child's stdout and stderr (or pty master), our own stdout/stderr when they can block,
//! and our stdin when it is copied into a pty.
//! Timers are deadlines that set the poll timeout: the sampling tick, the 250 ms check that
//! asks the [`Watch`] whether to stop, and the stop's grace deadline. An attempt ends when
//! the shim has exited — which it does only once the command and every descendant are gone
//! — and the output is drained.
//!
//! Stopping the tree: SIGTERM to the command's process group and to every descendant found
//! below FlowForge (escapees in other groups or sessions included, since the shim and
//! FlowForge are subreapers), then SIGKILL after the grace, repeated until the shim reports
//! the tree empty. The same happens to whatever the command leaves behind when it exits.

pub mod child;
mod lines;
pub mod output;
pub mod sampler;

pub use child::SpawnError;
use child::{ChannelReader, Child, Wiring};
use output::{Analysed, AnalysisBudget, Pump, Sink, Turn};
use sampler::TreeSampler;

use crate::sample::{Sample, Stream};
use flowforge_platform::fd::{self, AsFdBorrowed};
use flowforge_platform::inherited::Inherited;
use flowforge_platform::kill::{self, Target};
use flowforge_platform::pty;
use flowforge_platform::reap::{self, ExitStatus};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::signal::*;
use signal_hook_mio::v1_0::Signals;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
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

/// How often the watch is asked whether to stop.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(250);
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
    /// Asked every [`CHECK_INTERVAL`] while the command runs.
    fn check(&mut self, at: Duration) -> Option<StopRequest>;
    fn signal_forwarded(&mut self, _signal: i32) {}
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

enum Phase {
    Running,
    Stopping {
        began: Instant,
        deadline: Instant,
        escalated: bool,
        request: Option<StopRequest>,
        signalled: usize,
    },
}

impl Supervisor {
    pub fn new(options: Options) -> io::Result<Supervisor> {
        flowforge_platform::process::set_child_subreaper()?;
        let poll = Poll::new()?;
        // A forwarded signal ignored on entry (`nohup`, SIGINT of a background job) stays
        // ignored, here and in the command (the shim passes the dispositions on).
        let inherited = Inherited::at_start();
        let caught = FORWARDED
            .into_iter()
            .filter(|&signal| !inherited.ignored(signal))
            .chain([SIGCHLD, SIGWINCH]);
        let mut signals = Signals::new(caught)?;
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

    fn wiring(&self) -> Wiring {
        let tty = |fd| fd::isatty(fd::stdio(fd));
        let pty = match self.options.pty {
            PtyMode::Always => true,
            PtyMode::Never => false,
            PtyMode::Auto => tty(1),
        };
        Wiring {
            pty,
            stderr_on_pty: pty && tty(2),
            stdin_on_pty: pty && tty(0),
        }
    }

    /// Runs one attempt of `argv` to its end.
    pub fn run(&mut self, argv: &[OsString], watch: &mut dyn Watch) -> Result<AttemptEnd, SpawnError> {
        let wiring = self.wiring();
        let started = Instant::now();
        let child = child::spawn(argv, wiring)?;
        log::info!(
            "started pid {} (shim {}) pty={}",
            child.pid,
            child.shim,
            wiring.pty
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
        let mut stdout_pump = Pump::new(Stream::Stdout, stdout);
        let mut stderr_pump = match child.stderr.take() {
            Some(fd) => {
                registry.register(&mut SourceFd(&fd.as_raw_fd()), CHILD_STDERR, Interest::READABLE)?;
                Some(Pump::new(Stream::Stderr, fd))
            }
            None => None,
        };
        let mut stdin_copy = match &child.pty_input {
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

        let mut budget = AnalysisBudget::new(ANALYSIS_LINES_PER_SECOND);
        let mut sampler = TreeSampler::new(child.shim);
        let mut channel = ChannelReader::default();
        let mut phase = Phase::Running;
        let mut status: Option<ExitStatus> = None;
        let mut shim_gone = false;
        let mut interrupted = false;
        let mut leftovers_stopped = 0;
        let mut stopped: Option<StopReport> = None;
        let mut next_sample = started + self.options.tick;
        let mut next_check = started + CHECK_INTERVAL;
        let mut last_counts = (0u64, 0u64, 0u64);
        let mut more_ready = true;
        let mut drain: Option<Drain> = None;
        let mut output_dropped = 0;
        let mut tree_gone_after = None;

        loop {
            let pumps_done = stdout_pump.is_done() && stderr_pump.as_ref().is_none_or(|p| p.is_done());
            // Once the shim is gone the tree's writers are gone: drain to end of file, waiting
            // for a slow sink. Only a stray the shim could not reap (it died early) may still
            // hold a pipe open; stop when nothing is readable or unwritten, stop_strays ends it.
            let pumps_drained =
                stdout_pump.is_drained() && stderr_pump.as_ref().is_none_or(|p| p.is_drained());
            if shim_gone && (pumps_done || (!more_ready && pumps_drained)) {
                break;
            }
            let now = Instant::now();
            let mut wake = next_sample.min(next_check);
            if let Phase::Stopping {
                deadline, escalated, ..
            } = &phase
            {
                wake = wake.min(if *escalated { now + KILL_REPEAT } else { *deadline });
            }
            if let Some(drain) = &drain {
                wake = wake.min(drain.deadline);
            }
            let timeout = if more_ready {
                Duration::ZERO
            } else {
                wake.saturating_duration_since(now)
            };
            if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            let mut reap_needed = false;
            let mut signals_pending = false;
            for event in self.events.iter() {
                match event.token() {
                    SIGNALS => signals_pending = true,
                    SHIM_EXIT => reap_needed = true,
                    CHANNEL => {
                        if let Some(exit) = channel.read(&child.channel) {
                            status = Some(exit);
                        }
                    }
                    CHILD_STDOUT => stdout_pump.mark_readable(),
                    CHILD_STDERR => {
                        if let Some(p) = stderr_pump.as_mut() {
                            p.mark_readable()
                        }
                    }
                    OUR_STDIN => {
                        if let Some(c) = stdin_copy.as_mut() {
                            c.stdin_ready = true
                        }
                    }
                    // Writability of our sinks and the pty: the pumps below retry.
                    _ => {}
                }
            }
            if signals_pending {
                let pending: Vec<i32> = self.signals.pending().collect();
                for signal in pending {
                    match signal {
                        SIGCHLD => reap_needed = true,
                        SIGWINCH => {
                            if let Ok(size) =
                                pty::window_size(fd::stdio(1)).or_else(|_| pty::window_size(fd::stdio(0)))
                            {
                                if let Some(master) = &child.pty_master {
                                    let _ = pty::set_window_size(master.as_fd(), size);
                                }
                            }
                        }
                        SIGINT if status.is_none() => {
                            let now = Instant::now();
                            let again = self
                                .last_interrupt
                                .is_some_and(|t| now.duration_since(t) < DOUBLE_INTERRUPT);
                            self.last_interrupt = Some(now);
                            if again {
                                log::info!("second interrupt: killing the tree of pid {}", child.pid);
                                interrupted = true;
                                let signalled = kill_tree_once(child, SIGKILL);
                                phase = Phase::Stopping {
                                    began: now,
                                    deadline: now,
                                    escalated: true,
                                    request: None,
                                    signalled,
                                };
                            } else {
                                forward(child, signal, watch);
                            }
                        }
                        s if FORWARDED.contains(&s) && status.is_none() => forward(child, s, watch),
                        _ => {}
                    }
                }
            }
            if reap_needed {
                loop {
                    match reap::reap_any() {
                        Ok(Some((pid, _))) if pid == child.shim => shim_gone = true,
                        Ok(Some((pid, exit))) => log::debug!("reaped adopted pid {pid} ({exit:?})"),
                        Ok(None) => break,
                        Err(_) => break,
                    }
                }
                if shim_gone {
                    // The exit report may still sit in the channel.
                    if let Some(exit) = channel.read(&child.channel) {
                        status = Some(exit);
                    }
                }
            }

            more_ready = false;
            let mut on_line = |stream: Stream, seen: Analysed<'_>| match seen {
                Analysed::Line { text, truncated } => watch.line(stream, text, truncated, started.elapsed()),
                Analysed::Gap => watch.gap(stream),
            };
            if stdout_pump.turn(&self.stdout, &mut budget, &mut on_line) == Turn::MoreReady {
                more_ready = true;
            }
            if let Some(pump) = stderr_pump.as_mut() {
                if pump.turn(&self.stderr, &mut budget, &mut on_line) == Turn::MoreReady {
                    more_ready = true;
                }
            }
            if let Some(copy) = stdin_copy.as_mut() {
                copy.turn();
            }
            // Coalescing: a producer writing a flood in small pieces would wake us once per
            // write (a context switch and a contended pipe lock each time). When a turn
            // emptied a flowing pipe, wait a moment and read what gathered in one go; output
            // is delayed by at most COALESCE, and only while it is flowing.
            let flowing = stdout_pump.take_drained_while_flowing()
                | stderr_pump
                    .as_mut()
                    .is_some_and(|p| p.take_drained_while_flowing());
            if flowing && !more_ready && !shim_gone {
                std::thread::sleep(COALESCE);
                stdout_pump.mark_readable();
                if let Some(p) = stderr_pump.as_mut() {
                    p.mark_readable();
                }
                more_ready = true;
            }

            let now = Instant::now();
            if now >= next_sample {
                let counts = (
                    stdout_pump.stats.bytes,
                    stderr_pump.as_ref().map_or(0, |p| p.stats.bytes),
                    stdout_pump.stats.lines + stderr_pump.as_ref().map_or(0, |p| p.stats.lines),
                );
                if !shim_gone {
                    let reading = sampler.read();
                    let sample = reading.into_sample(
                        now.duration_since(started),
                        counts.0 - last_counts.0,
                        counts.1 - last_counts.1,
                        counts.2 - last_counts.2,
                    );
                    watch.sample(&sample);
                }
                last_counts = counts;
                while next_sample <= now {
                    next_sample += self.options.tick;
                }
            }
            if now >= next_check {
                if status.is_none() && matches!(phase, Phase::Running) {
                    if let Some(request) = watch.check(now.duration_since(started)) {
                        log::info!("stopping pid {}: {}", child.pid, request.reason);
                        let signalled = kill_tree_once(child, SIGTERM);
                        phase = Phase::Stopping {
                            began: now,
                            deadline: now + self.options.kill_grace,
                            escalated: false,
                            request: Some(request),
                            signalled,
                        };
                    }
                }
                while next_check <= now {
                    next_check += CHECK_INTERVAL;
                }
            }
            if status.is_some() && matches!(phase, Phase::Running) && !shim_gone {
                // The command is done; whatever it left behind is stopped the same way.
                let leftovers = child::tree_members(child.shim);
                if !leftovers.is_empty() {
                    log::info!(
                        "pid {} exited, stopping {} leftover process(es)",
                        child.pid,
                        leftovers.len()
                    );
                    leftovers_stopped = kill_tree_once(child, SIGTERM);
                    phase = Phase::Stopping {
                        began: now,
                        deadline: now + self.options.kill_grace,
                        escalated: false,
                        request: None,
                        signalled: leftovers_stopped,
                    };
                }
            }
            if let Phase::Stopping {
                deadline, escalated, ..
            } = &mut phase
            {
                if now >= *deadline && !shim_gone {
                    if !*escalated {
                        log::info!(
                            "grace of {:?} over: SIGKILL to the tree of pid {}",
                            self.options.kill_grace,
                            child.pid
                        );
                    }
                    *escalated = true;
                    kill_tree_once(child, SIGKILL);
                }
            }
            if shim_gone {
                if let Phase::Stopping {
                    began,
                    escalated,
                    request: Some(request),
                    signalled,
                    ..
                } = &phase
                {
                    if stopped.is_none() {
                        stopped = Some(StopReport {
                            request: request.clone(),
                            signalled: *signalled,
                            escalated_to_kill: *escalated,
                            gone_after: now.duration_since(*began),
                        });
                    }
                }
                let written = stdout_pump.stats.written + stderr_pump.as_ref().map_or(0, |p| p.stats.written);
                let drain = drain.get_or_insert_with(|| {
                    tree_gone_after = Some(now.duration_since(started));
                    Drain::new(now, stopped.is_some() || interrupted, written)
                });
                if drain.expired(now, written) {
                    output_dropped = stdout_pump.discard() + stderr_pump.as_mut().map_or(0, |p| p.discard());
                    break;
                }
            }
        }
        // Adopted orphans of a shim that died early would still be ours: stop them too.
        stop_strays(self.options.kill_grace);
        if let Some(copy) = stdin_copy {
            if copy.restore_blocking {
                let _ = fd::set_nonblocking(fd::stdio(0), false);
            }
        }
        Ok(AttemptEnd {
            pid: child.pid,
            status,
            stopped,
            interrupted,
            leftovers_stopped,
            // How long the tree lived, not how long a slow reader kept the drain waiting.
            duration: tree_gone_after.unwrap_or_else(|| started.elapsed()),
            output_closed: stdout_pump.sink_broken,
            output_dropped,
        })
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
