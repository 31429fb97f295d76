//! What the supervisor observes, in the shape every later stage consumes.
//!
//! The supervisor produces two kinds of observation: output lines (split from the child's
//! streams, capped in length) and per-tick samples of the whole process tree. Both are plain
//! data with a time measured from the start of the run, so the detector can be fed synthetic
//! timelines in tests with no clock and no processes.

use std::time::Duration;

/// Which of the child's output streams a line came from. Under a pseudo-terminal both
/// streams arrive merged on the terminal and count as `Stdout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One sample of the supervised tree, taken every tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Time since the run started.
    pub at: Duration,
    /// CPU used by the whole tree over the interval since the previous sample, in percent of
    /// one core (two busy threads = 200 %). Not a lifetime average.
    pub cpu_percent: f64,
    /// Resident memory of the whole tree, summed over its processes, in bytes.
    pub rss_bytes: u64,
    /// Number of live processes in the tree (the command and its descendants).
    pub processes: u32,
    /// Bytes the child wrote on stdout and stderr during the interval.
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// Lines (split for analysis) the child wrote during the interval, both streams.
    pub lines: u64,
}
