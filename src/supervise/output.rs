//! Output passthrough: the child's bytes to FlowForge's stdout/stderr, exact and in order,
//! with back-pressure instead of buffering, and never a blocking write.
//!
//! Each stream is a [`Pump`]: a non-blocking read end (the child's pipe or the pty master)
//! and a [`Sink`] (our fd 1 or 2). A pump holds at most one read's worth ([`CHUNK`], 128 KiB)
//! of unwritten bytes; while they wait, it stops reading, so a slow reader of our stdout
//! (`| less`, a stalled CI log pipe, a terminal stopped with Ctrl-S) fills the child's pipe
//! and blocks the child — memory stays bounded and the other stream keeps flowing — while
//! the loop itself goes on serving timers, signals and the watch. To wait on a slow sink
//! without blocking, a sink that can stall (a pipe, a socket or a terminal) is written
//! non-blocking: through its own open file description (reopened through `/proc/self/fd`),
//! so `O_NONBLOCK` never leaks to the processes that share our stdout, or, where reopening
//! fails (sockets), by setting the flag on the shared description and restoring it when the
//! sink is dropped. Regular files are written as they are (poll cannot watch them and they
//! do not stall on a reader). A broken sink (EPIPE: `| head -1` is done) closes the read
//! end, so the child gets SIGPIPE on its next write, exactly as without FlowForge. When the
//! tree is gone and a reader still takes nothing, [`Pump::discard`] drops what is left
//! (the loop decides when, see `supervise`).
//!
//! Lines are split for analysis on the way through, within a budget: under a flood the
//! pump passes whole chunks through unanalysed rather than slow the child down.

use super::lines::LineSplitter;
use crate::sample::Stream;
use flowforge_platform::fd::{self, FileKind};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

/// How much a pump reads per call; also the most unwritten bytes it holds.
const CHUNK: usize = 128 * 1024;
/// The first reads' size. Many commands print a few lines, or nothing before their end of
/// file, and a zeroed 128 KiB buffer is 32 pages to fault in and clear on the way to the exit
/// (`flowforge run -- true`); a read that fills this grows the buffer to [`CHUNK`].
const FIRST_CHUNK: usize = 4 * 1024;
/// Reads per wake-up before yielding to the other sources (fairness under a flood).
const READS_PER_TURN: usize = 8;

/// One of FlowForge's own output streams.
pub struct Sink {
    raw: BorrowedFd<'static>,
    reopened: Option<OwnedFd>,
    /// We set O_NONBLOCK on the shared description and must clear it again.
    restore_blocking: bool,
    pollable: bool,
}

impl Sink {
    /// Prepares fd 1 or 2 for non-blocking writes where that is possible.
    pub fn new(stdio_fd: i32) -> Sink {
        let raw = fd::stdio(stdio_fd);
        let mut sink = Sink {
            raw,
            reopened: None,
            restore_blocking: false,
            pollable: false,
        };
        if !fd::file_kind(raw).is_ok_and(FileKind::can_stall) {
            return sink;
        }
        if let Ok(own) = fd::reopen_nonblocking_for_write(raw) {
            sink.reopened = Some(own);
            sink.pollable = true;
            return sink;
        }
        match fd::is_nonblocking(raw) {
            Ok(true) => sink.pollable = true,
            Ok(false) if fd::set_nonblocking(raw, true).is_ok() => {
                sink.restore_blocking = true;
                sink.pollable = true;
            }
            _ => {}
        }
        sink
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        match &self.reopened {
            Some(own) => own.as_fd(),
            None => self.raw,
        }
    }

    /// Whether writes can return WouldBlock (and the fd can be registered for writability).
    pub fn pollable(&self) -> bool {
        self.pollable
    }

    pub fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        loop {
            match fd::write(self.fd(), bytes) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if self.restore_blocking {
            let _ = fd::set_nonblocking(self.raw, false);
        }
    }
}

/// Lines-per-second budget for analysis, as a token bucket refilled by elapsed time.
pub struct AnalysisBudget {
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl AnalysisBudget {
    pub fn new(lines_per_second: u32) -> AnalysisBudget {
        AnalysisBudget {
            per_second: lines_per_second as f64,
            tokens: lines_per_second as f64 / 4.0,
            last: Instant::now(),
        }
    }

    fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second / 4.0);
        self.tokens > 0.0
    }

    fn spend(&mut self, lines: u64) {
        self.tokens -= lines as f64;
    }
}

/// What a pump did on one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Nothing more to do until the next readiness event.
    Idle,
    /// It stopped to let others run; call again without waiting.
    MoreReady,
    /// The source reached end of file (or was closed after a broken sink).
    Done,
}

/// Counters a pump keeps for samples and evidence.
#[derive(Debug, Default, Clone, Copy)]
pub struct PumpStats {
    /// Read from the child.
    pub bytes: u64,
    /// Taken by our sink.
    pub written: u64,
    /// Read or still unread when the tree was gone and the reader took nothing more.
    pub discarded: u64,
    pub lines: u64,
    pub unanalysed_bytes: u64,
}

pub struct Pump {
    pub stream: Stream,
    source: Option<OwnedFd>,
    pending: Vec<u8>,
    pending_from: usize,
    source_ready: bool,
    splitter: LineSplitter,
    buffer: ReadBuffer,
    pub stats: PumpStats,
    /// Set when our sink broke (EPIPE): the source was closed on purpose.
    pub sink_broken: bool,
    /// A chunk passed through unanalysed since the last analysed one.
    skipped: bool,
    /// The last turn read data and then emptied the source: output is flowing in small
    /// writes, and waiting a moment lets it arrive in bigger reads (see `coalesce`).
    drained_while_flowing: bool,
}

/// A pump's read buffer, allocated at the first read and small until output flows: a
/// command that prints little never pays for the full one (a run's start and exit, its
/// resident memory).
#[derive(Default)]
struct ReadBuffer(Box<[u8]>);

impl ReadBuffer {
    fn get_or_allocate(&mut self) -> &mut [u8] {
        if self.0.is_empty() {
            self.0 = vec![0u8; FIRST_CHUNK].into_boxed_slice();
        }
        &mut self.0
    }

    /// After a read of `n` bytes has been passed on: one that filled a small buffer means
    /// output is flowing, so the next reads get the full [`CHUNK`].
    fn grow_after(&mut self, n: usize) {
        if n == self.0.len() && self.0.len() < CHUNK {
            self.0 = vec![0u8; CHUNK].into_boxed_slice();
        }
    }
}

impl std::ops::Deref for ReadBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// What the analysis sees of a stream.
pub enum Analysed<'a> {
    /// A complete line (without its terminator), cut at 64 KiB.
    Line { text: &'a [u8], truncated: bool },
    /// Output passed through unanalysed before the next line.
    Gap,
}

impl Pump {
    pub fn new(stream: Stream, source: OwnedFd) -> Pump {
        Pump {
            stream,
            source: Some(source),
            pending: Vec::new(),
            pending_from: 0,
            source_ready: true,
            splitter: LineSplitter::new(),
            buffer: ReadBuffer::default(),
            stats: PumpStats::default(),
            sink_broken: false,
            skipped: false,
            drained_while_flowing: false,
        }
    }

    pub fn is_done(&self) -> bool {
        self.source.is_none() && self.pending_from >= self.pending.len()
    }

    /// Nothing unwritten and the source read dry (it would block): the pump waits on its
    /// source only, never on the sink.
    pub fn is_drained(&self) -> bool {
        self.pending_from >= self.pending.len() && (self.source.is_none() || !self.source_ready)
    }

    pub fn mark_readable(&mut self) {
        self.source_ready = true;
    }

    /// Whether the last turn drained a flowing source; clears the flag.
    pub fn take_drained_while_flowing(&mut self) -> bool {
        std::mem::take(&mut self.drained_while_flowing)
    }

    /// Moves bytes from source to sink until either would block, the turn's quota is used,
    /// or the source ends. Lines (and gaps where chunks went unanalysed) go to `on_line`
    /// within `budget`.
    pub fn turn(
        &mut self,
        sink: &Sink,
        budget: &mut AnalysisBudget,
        on_line: &mut dyn FnMut(Stream, Analysed<'_>),
    ) -> Turn {
        let mut read_any = false;
        for _ in 0..READS_PER_TURN {
            if self.pending_from < self.pending.len() {
                match sink.write(&self.pending[self.pending_from..]) {
                    Ok(n) => {
                        self.pending_from += n;
                        self.stats.written += n as u64;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Turn::Idle,
                    Err(_) => return self.break_sink(),
                }
            }
            self.pending.clear();
            self.pending_from = 0;
            let Some(source) = self.source.as_ref() else {
                return Turn::Done;
            };
            if !self.source_ready {
                return Turn::Idle;
            }
            let n = match fd::read(source.as_fd(), self.buffer.get_or_allocate()) {
                Ok(0) => return self.end_of_source(on_line),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.source_ready = false;
                    self.drained_while_flowing = read_any;
                    return Turn::Idle;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A pty master reads EIO once the last slave is closed: that is its EOF.
                Err(_) => return self.end_of_source(on_line),
            };
            self.stats.bytes += n as u64;
            read_any = true;
            self.analyse(n, budget, on_line);
            match sink.write(&self.buffer[..n]) {
                Ok(written) => {
                    self.stats.written += written as u64;
                    if written < n {
                        self.pending.extend_from_slice(&self.buffer[written..n]);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.pending.extend_from_slice(&self.buffer[..n])
                }
                Err(_) => return self.break_sink(),
            }
            self.buffer.grow_after(n);
        }
        Turn::MoreReady
    }

    fn analyse(
        &mut self,
        n: usize,
        budget: &mut AnalysisBudget,
        on_line: &mut dyn FnMut(Stream, Analysed<'_>),
    ) {
        let stream = self.stream;
        if !budget.allow(Instant::now()) {
            self.stats.unanalysed_bytes += n as u64;
            self.splitter.skip_to_next_line();
            self.skipped = true;
            return;
        }
        if std::mem::take(&mut self.skipped) {
            on_line(stream, Analysed::Gap);
        }
        let mut lines = 0u64;
        self.splitter.feed(&self.buffer[..n], &mut |line, truncated| {
            lines += 1;
            on_line(
                stream,
                Analysed::Line {
                    text: line,
                    truncated,
                },
            );
        });
        self.stats.lines += lines;
        budget.spend(lines);
    }

    fn end_of_source(&mut self, on_line: &mut dyn FnMut(Stream, Analysed<'_>)) -> Turn {
        let stream = self.stream;
        self.splitter.finish(&mut |line, truncated| {
            on_line(
                stream,
                Analysed::Line {
                    text: line,
                    truncated,
                },
            )
        });
        self.source = None;
        if self.pending_from < self.pending.len() {
            Turn::MoreReady
        } else {
            Turn::Done
        }
    }

    fn break_sink(&mut self) -> Turn {
        // Closing our read end makes the child's next write raise SIGPIPE, as it would
        // have if it wrote to the broken pipe itself.
        self.source = None;
        self.pending.clear();
        self.pending_from = 0;
        self.sink_broken = true;
        Turn::Done
    }

    /// Unwritten bytes held for the sink.
    pub fn pending_len(&self) -> usize {
        self.pending.len() - self.pending_from
    }

    /// Gives up on a reader that takes nothing: drops the unwritten bytes and what the
    /// source still holds (read until it would block, bounded), then closes the source.
    /// Returns how many bytes were dropped.
    pub fn discard(&mut self) -> u64 {
        let mut dropped = self.pending_len() as u64;
        self.pending.clear();
        self.pending_from = 0;
        if let Some(source) = self.source.take() {
            for _ in 0..64 {
                match fd::read(source.as_fd(), self.buffer.get_or_allocate()) {
                    Ok(0) => break,
                    Ok(n) => {
                        self.stats.bytes += n as u64;
                        dropped += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        self.stats.discarded += dropped;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::{ReadBuffer, CHUNK, FIRST_CHUNK};

    #[test]
    fn the_read_buffer_starts_small_and_grows_once_a_read_fills_it() {
        let mut buffer = ReadBuffer::default();
        assert!(buffer.is_empty(), "nothing allocated before the first read");
        assert_eq!(buffer.get_or_allocate().len(), FIRST_CHUNK);
        buffer.grow_after(10);
        assert_eq!(buffer.len(), FIRST_CHUNK, "a short read keeps it small");
        buffer.grow_after(FIRST_CHUNK);
        assert_eq!(buffer.len(), CHUNK);
        buffer.grow_after(CHUNK);
        assert_eq!(buffer.len(), CHUNK);
    }
}
