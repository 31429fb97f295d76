//! One attempt as a state machine: the phases of a run and one `on_…` method per event.
//!
//! ```text
//!   Running ──watch.check says stop──────────► Stopping { request }
//!      │    ──second Ctrl-C (SIGKILL at once)─► Stopping { escalated }
//!      │    ──command exited, leftovers───────► Stopping { no request }
//!      └───────────── shim gone (tree empty) ──► Draining ──drained / deadline──► over
//!   Stopping ─grace over: SIGKILL, repeated──┘
//! ```
//!
//! The shim exits only once the command and every descendant are gone, so "shim gone" is
//! "tree empty": that is the one way out of `Running` and `Stopping`. `Draining` then writes
//! what output is still held, and never waits on a reader longer than the drain allows
//! (see `Drain` in the parent module). The loop in [`super::Supervisor`] polls, dispatches
//! readiness to these methods in a fixed order (signals, reaping, output, timers), and stops
//! when [`Attempt::is_over`] says so; everything here runs on the loop thread and never
//! blocks.

use super::child::{self, ChannelReader, Child};
use super::output::{Analysed, AnalysisBudget, Pump, Sink, Turn};
use super::sampler::TreeSampler;
use super::{
    forward, kill_tree_once, AttemptEnd, Drain, Options, StdinCopy, StopReport, StopRequest, Watch,
    ANALYSIS_LINES_PER_SECOND, CHECK_INTERVAL, COALESCE, DOUBLE_INTERRUPT, FORWARDED, KILL_REPEAT, RECHECK,
};
use crate::sample::Stream;
use flowforge_platform::fd;
use flowforge_platform::pty;
use flowforge_platform::reap;
use flowforge_platform::shim::CommandExit;
use signal_hook::consts::signal::*;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Where the attempt is in its life.
enum Phase {
    /// The command runs; the watch is asked every [`CHECK_INTERVAL`] whether to stop.
    Running,
    /// The tree was sent SIGTERM (or SIGKILL at once); SIGKILL follows at `deadline` and is
    /// repeated until the tree is empty.
    Stopping {
        began: Instant,
        deadline: Instant,
        escalated: bool,
        /// `None` when nobody asked (leftovers of an exited command, a second Ctrl-C).
        request: Option<StopRequest>,
        signalled: usize,
    },
    /// The tree is gone; the output still held goes out within the drain's deadline.
    Draining(Drain),
}

pub(super) struct Attempt<'c> {
    child: &'c Child,
    options: &'c Options,
    started: Instant,
    phase: Phase,
    stdout: Pump,
    stderr: Option<Pump>,
    stdin: Option<StdinCopy>,
    budget: AnalysisBudget,
    sampler: TreeSampler,
    channel: ChannelReader,
    /// The command's end, once the shim has reported it.
    exit: Option<CommandExit>,
    interrupted: bool,
    leftovers_stopped: usize,
    stopped: Option<StopReport>,
    next_sample: Instant,
    next_check: Instant,
    /// Lines seen by the previous check: none since means the run is quiet.
    lines_at_check: u64,
    last_counts: (u64, u64, u64),
    /// A source or sink may have more to do: poll without waiting.
    more_ready: bool,
    /// The drain gave up on the reader: the loop ends.
    abandoned: bool,
    output_dropped: u64,
    tree_gone_after: Option<Duration>,
}

impl<'c> Attempt<'c> {
    pub(super) fn new(
        child: &'c Child,
        options: &'c Options,
        started: Instant,
        stdout: Pump,
        stderr: Option<Pump>,
        stdin: Option<StdinCopy>,
    ) -> Attempt<'c> {
        Attempt {
            child,
            options,
            started,
            phase: Phase::Running,
            stdout,
            stderr,
            stdin,
            budget: AnalysisBudget::new(ANALYSIS_LINES_PER_SECOND),
            sampler: TreeSampler::new(child.shim),
            channel: ChannelReader::default(),
            exit: None,
            interrupted: false,
            leftovers_stopped: 0,
            stopped: None,
            next_sample: started + options.tick,
            next_check: started + CHECK_INTERVAL,
            lines_at_check: 0,
            last_counts: (0, 0, 0),
            more_ready: true,
            abandoned: false,
            output_dropped: 0,
            tree_gone_after: None,
        }
    }

    fn pumps(&mut self) -> impl Iterator<Item = &mut Pump> {
        std::iter::once(&mut self.stdout).chain(self.stderr.as_mut())
    }

    fn written(&self) -> u64 {
        self.stdout.stats.written + self.stderr.as_ref().map_or(0, |p| p.stats.written)
    }

    /// The tree is gone and the output is out (or given up on). A stray the shim could not
    /// reap (it died early) may still hold a pipe open: nothing readable or unwritten then
    /// ends it too, and `stop_strays` stops the stray.
    pub(super) fn is_over(&self) -> bool {
        if !matches!(self.phase, Phase::Draining(_)) {
            return false;
        }
        let pumps = || std::iter::once(&self.stdout).chain(self.stderr.as_ref());
        self.abandoned || pumps().all(Pump::is_done) || (!self.more_ready && pumps().all(Pump::is_drained))
    }

    /// How long the loop may sleep: until the next timer, or not at all while more is ready.
    pub(super) fn poll_timeout(&self, now: Instant) -> Duration {
        if self.more_ready {
            return Duration::ZERO;
        }
        let wake = match &self.phase {
            Phase::Running => self.next_sample.min(self.next_check),
            Phase::Stopping {
                deadline, escalated, ..
            } => {
                let kill = if *escalated { now + KILL_REPEAT } else { *deadline };
                self.next_sample.min(self.next_check).min(kill)
            }
            Phase::Draining(drain) => drain.deadline,
        };
        wake.saturating_duration_since(now)
    }

    /// The shim's control channel is readable: it may report the command's exit status.
    pub(super) fn on_channel(&mut self) {
        if let Some(exit) = self.channel.read(&self.child.channel) {
            self.exit = Some(exit);
        }
    }

    pub(super) fn on_child_readable(&mut self, stream: Stream) {
        match stream {
            Stream::Stdout => self.stdout.mark_readable(),
            Stream::Stderr => {
                if let Some(pump) = self.stderr.as_mut() {
                    pump.mark_readable();
                }
            }
        }
    }

    pub(super) fn on_stdin_readable(&mut self) {
        if let Some(copy) = self.stdin.as_mut() {
            copy.stdin_ready = true;
        }
    }

    /// One signal FlowForge caught. `last_interrupt` outlives the attempt (a Ctrl-C during
    /// one attempt and one during the next still count as two).
    pub(super) fn on_signal(
        &mut self,
        signal: i32,
        last_interrupt: &mut Option<Instant>,
        watch: &mut dyn Watch,
    ) -> bool {
        let running = self.exit.is_none();
        match signal {
            SIGCHLD => return true,
            SIGWINCH => self.on_window_change(),
            SIGINT if running => {
                let now = Instant::now();
                let again = last_interrupt.is_some_and(|t| now.duration_since(t) < DOUBLE_INTERRUPT);
                *last_interrupt = Some(now);
                if again && !matches!(self.phase, Phase::Draining(_)) {
                    log::info!("second interrupt: killing the tree of pid {}", self.child.pid);
                    self.interrupted = true;
                    let signalled = kill_tree_once(self.child, SIGKILL);
                    self.phase = Phase::Stopping {
                        began: now,
                        deadline: now,
                        escalated: true,
                        request: None,
                        signalled,
                    };
                } else {
                    forward(self.child, signal, watch);
                }
            }
            s if FORWARDED.contains(&s) && running => forward(self.child, s, watch),
            _ => {}
        }
        false
    }

    fn on_window_change(&mut self) {
        let Some(master) = &self.child.pty_master else {
            return;
        };
        if let Ok(size) = pty::window_size(fd::stdio(1)).or_else(|_| pty::window_size(fd::stdio(0))) {
            let _ = pty::set_window_size(master.as_fd(), size);
        }
    }

    /// SIGCHLD or the shim's pidfd: reap everything that exited. When the shim is among
    /// them, the tree is empty and the attempt drains.
    pub(super) fn on_reap(&mut self) {
        let mut shim_gone = false;
        loop {
            match reap::reap_any() {
                Ok(Some((pid, _))) if pid == self.child.shim => shim_gone = true,
                Ok(Some((pid, exit))) => log::debug!("reaped adopted pid {pid} ({exit:?})"),
                Ok(None) | Err(_) => break,
            }
        }
        if shim_gone && !matches!(self.phase, Phase::Draining(_)) {
            // The exit report may still sit in the channel.
            self.on_channel();
            self.on_tree_gone(Instant::now());
        }
    }

    fn on_tree_gone(&mut self, now: Instant) {
        if let Phase::Stopping {
            began,
            escalated,
            request: Some(request),
            signalled,
            ..
        } = &self.phase
        {
            self.stopped = Some(StopReport {
                request: request.clone(),
                signalled: *signalled,
                escalated_to_kill: *escalated,
                gone_after: now.duration_since(*began),
            });
        }
        self.tree_gone_after = Some(now.duration_since(self.started));
        let after_stop = self.stopped.is_some() || self.interrupted;
        self.phase = Phase::Draining(Drain::new(now, after_stop, self.written()));
        // Every byte the tree wrote is in the pipes by now, but its readiness event may come
        // in a later poll than the shim's exit: read each source again (to end of file, or
        // WouldBlock when a stray still holds it) instead of ending on a stale "drained".
        self.pumps().for_each(Pump::mark_readable);
        self.more_ready = true;
    }

    /// Moves output from the child to our sinks (and our terminal's input into the pty),
    /// as far as each will go without blocking.
    pub(super) fn on_output(&mut self, stdout_sink: &Sink, stderr_sink: &Sink, watch: &mut dyn Watch) {
        let started = self.started;
        let mut lines = 0u64;
        let mut on_line = |stream: Stream, seen: Analysed<'_>| match seen {
            Analysed::Line { text, truncated } => {
                lines += 1;
                watch.line(stream, text, truncated, started.elapsed());
            }
            Analysed::Gap => watch.gap(stream),
        };
        let mut more = self.stdout.turn(stdout_sink, &mut self.budget, &mut on_line) == Turn::MoreReady;
        if let Some(pump) = self.stderr.as_mut() {
            more |= pump.turn(stderr_sink, &mut self.budget, &mut on_line) == Turn::MoreReady;
        }
        if let Some(copy) = self.stdin.as_mut() {
            copy.turn();
        }
        if lines > 0 && !watch.check_soon() {
            let scheduled = self.next_check.saturating_duration_since(started);
            let at = started.elapsed();
            self.next_check = started + super::check_after_output(scheduled, at);
        }
        self.more_ready = more;
        // Coalescing: a producer writing a flood in small pieces would wake us once per
        // write (a context switch and a contended pipe lock each time). When a turn
        // emptied a flowing pipe, wait a moment and read what gathered in one go; output
        // is delayed by at most COALESCE, and only while it is flowing.
        let flowing = self
            .pumps()
            .fold(false, |any, pump| pump.take_drained_while_flowing() | any);
        if flowing && !more && !matches!(self.phase, Phase::Draining(_)) {
            std::thread::sleep(COALESCE);
            self.pumps().for_each(Pump::mark_readable);
            self.more_ready = true;
        }
    }

    /// The timers, in order: the sample, the watch's check, leftovers of an exited command,
    /// the stop's escalation, the drain's deadline.
    pub(super) fn on_timers(&mut self, watch: &mut dyn Watch) {
        let now = Instant::now();
        if now >= self.next_sample {
            self.on_sample(now, watch);
        }
        if now >= self.next_check {
            self.on_check(now, watch);
        }
        if self.exit.is_some() && matches!(self.phase, Phase::Running) {
            self.on_command_exited(now);
        }
        if matches!(self.phase, Phase::Stopping { .. }) {
            self.on_grace(now);
        }
        if matches!(self.phase, Phase::Draining(_)) {
            self.on_drain(now);
        }
    }

    fn on_sample(&mut self, now: Instant, watch: &mut dyn Watch) {
        let counts = (
            self.stdout.stats.bytes,
            self.stderr.as_ref().map_or(0, |p| p.stats.bytes),
            self.stdout.stats.lines + self.stderr.as_ref().map_or(0, |p| p.stats.lines),
        );
        if !matches!(self.phase, Phase::Draining(_)) {
            let sample = self.sampler.read().into_sample(
                now.duration_since(self.started),
                counts.0 - self.last_counts.0,
                counts.1 - self.last_counts.1,
                counts.2 - self.last_counts.2,
            );
            watch.sample(&sample);
        }
        self.last_counts = counts;
        while self.next_sample <= now {
            self.next_sample += self.options.tick;
        }
    }

    fn on_check(&mut self, now: Instant, watch: &mut dyn Watch) {
        if self.exit.is_none() && matches!(self.phase, Phase::Running) {
            if let Some(request) = watch.check(now.duration_since(self.started)) {
                log::info!("stopping pid {}: {}", self.child.pid, request.reason);
                let signalled = kill_tree_once(self.child, SIGTERM);
                self.phase = Phase::Stopping {
                    began: now,
                    deadline: now + self.options.kill_grace,
                    escalated: false,
                    request: Some(request),
                    signalled,
                };
            }
        }
        let lines = self.stdout.stats.lines + self.stderr.as_ref().map_or(0, |p| p.stats.lines);
        let quiet = lines == self.lines_at_check;
        self.lines_at_check = lines;
        self.next_check = if watch.check_soon() {
            now + RECHECK
        } else {
            self.started + super::next_check(now.duration_since(self.started), quiet)
        };
        // A limit that comes due before the grid's next point is checked at its moment (one
        // already past has had its check: this one).
        self.check_by(watch.deadline().filter(|deadline| *deadline > now));
    }

    /// A limit due before the next check (`--timeout 0.1s`, or between two quiet checks) is
    /// checked at its moment.
    pub(super) fn check_by(&mut self, deadline: Option<Instant>) {
        if let Some(deadline) = deadline {
            self.next_check = self.next_check.min(deadline);
        }
    }

    /// The watch's wake descriptor is readable: check at this turn's timers.
    pub(super) fn check_now(&mut self) {
        self.next_check = Instant::now();
    }

    /// The command is done; whatever it left behind is stopped the same way.
    fn on_command_exited(&mut self, now: Instant) {
        if self.exit.is_some_and(|exit| exit.tree_empty) {
            // The shim had nothing else below it and is exiting: no walk of /proc needed.
            return;
        }
        let leftovers = child::tree_members(self.child.shim);
        if leftovers.is_empty() {
            return;
        }
        log::info!(
            "pid {} exited, stopping {} leftover process(es)",
            self.child.pid,
            leftovers.len()
        );
        self.leftovers_stopped = kill_tree_once(self.child, SIGTERM);
        self.phase = Phase::Stopping {
            began: now,
            deadline: now + self.options.kill_grace,
            escalated: false,
            request: None,
            signalled: self.leftovers_stopped,
        };
    }

    /// Past the grace, SIGKILL to the tree, repeated until the shim reports it empty.
    fn on_grace(&mut self, now: Instant) {
        let Phase::Stopping {
            deadline, escalated, ..
        } = &mut self.phase
        else {
            return;
        };
        if now < *deadline {
            return;
        }
        if !*escalated {
            log::info!(
                "grace of {:?} over: SIGKILL to the tree of pid {}",
                self.options.kill_grace,
                self.child.pid
            );
        }
        *escalated = true;
        kill_tree_once(self.child, SIGKILL);
    }

    /// A reader that takes nothing more is given up on: the rest of the output is dropped.
    fn on_drain(&mut self, now: Instant) {
        let written = self.written();
        let Phase::Draining(drain) = &mut self.phase else {
            return;
        };
        if drain.expired(now, written) {
            self.output_dropped = self.pumps().map(Pump::discard).sum();
            self.abandoned = true;
        }
    }

    pub(super) fn finish(self) -> AttemptEnd {
        if let Some(copy) = &self.stdin {
            copy.restore();
        }
        AttemptEnd {
            pid: self.child.pid,
            status: self.exit.map(|exit| exit.status),
            stopped: self.stopped,
            interrupted: self.interrupted,
            leftovers_stopped: self.leftovers_stopped,
            // How long the tree lived, not how long a slow reader kept the drain waiting.
            duration: self.tree_gone_after.unwrap_or_else(|| self.started.elapsed()),
            output_closed: self.stdout.sink_broken,
            output_dropped: self.output_dropped,
        }
    }
}
