//! Per-tick CPU and memory of the whole supervised tree, over the interval — not a lifetime
//! average, not the direct child only.
//!
//! Each tick reads every live process below the shim (ticks of its own plus the totals of
//! the children it reaped). The interval's CPU is the growth of those numbers since the
//! previous tick, counting a new process from zero, minus the last known totals of processes
//! that disappeared: their final CPU reappears inside their reaper's children totals (the
//! shim is a subreaper, so every process in the tree is reaped inside the tree), and without
//! the subtraction it would count twice. Processes are keyed by (pid, start time) so a
//! recycled pid never inherits someone else's history.

use crate::sample::Sample;
use flowforge_platform::tree::{self, ProcStat};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct TreeSampler {
    root: i32,
    reader: tree::TreeReader,
    ticks_per_second: f64,
    page_size: u64,
    previous: HashMap<(i32, u64), u64>,
    previous_at: Instant,
}

/// The tree-wide numbers of one reading, before they become a [`Sample`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeReading {
    pub cpu_percent: f64,
    pub rss_bytes: u64,
    pub processes: u32,
}

impl TreeSampler {
    /// Starts sampling the tree below `root` (the shim), which has just been started.
    ///
    /// No baseline is read: every process of a new tree is new, and new processes count
    /// from zero anyway, so the first interval's CPU is exact without one. Not reading
    /// `/proc` at the start also keeps a short command's start and exit cheap: procfs
    /// entries that were never looked up cost nothing to drop when the process is reaped.
    pub fn new(root: i32) -> TreeSampler {
        TreeSampler {
            root,
            reader: tree::TreeReader::new(root),
            ticks_per_second: tree::clock_ticks_per_second() as f64,
            page_size: tree::page_size(),
            previous: HashMap::new(),
            previous_at: Instant::now(),
        }
    }

    pub fn read(&mut self) -> TreeReading {
        let now = Instant::now();
        let stats = self.reader.read();
        let interval = now.saturating_duration_since(self.previous_at);
        self.previous_at = now;
        let (reading, current) = account(
            self.root,
            &stats,
            &self.previous,
            interval,
            self.ticks_per_second,
            self.page_size,
        );
        self.previous = current;
        reading
    }
}

/// The pure part: turns one reading of the tree plus the previous totals into the interval's
/// numbers and the totals to remember.
pub fn account(
    root: i32,
    stats: &[ProcStat],
    previous: &HashMap<(i32, u64), u64>,
    interval: Duration,
    ticks_per_second: f64,
    page_size: u64,
) -> (TreeReading, HashMap<(i32, u64), u64>) {
    let mut current = HashMap::with_capacity(stats.len());
    let mut grown: i64 = 0;
    let mut rss_pages = 0u64;
    let mut processes = 0u32;
    for stat in stats {
        let total = stat.own_ticks + stat.children_ticks;
        let key = (stat.pid, stat.start_time);
        grown += total as i64 - previous.get(&key).copied().unwrap_or(0) as i64;
        current.insert(key, total);
        if stat.pid != root && stat.state != b'Z' {
            rss_pages += stat.rss_pages;
            processes += 1;
        }
    }
    for (key, total) in previous {
        if !current.contains_key(key) {
            grown -= *total as i64;
        }
    }
    let seconds = interval.as_secs_f64();
    let cpu_percent = if seconds > 0.0 {
        (grown.max(0) as f64 / ticks_per_second) / seconds * 100.0
    } else {
        0.0
    };
    (
        TreeReading {
            cpu_percent,
            rss_bytes: rss_pages * page_size,
            processes,
        },
        current,
    )
}

impl TreeReading {
    pub fn into_sample(self, at: Duration, stdout_bytes: u64, stderr_bytes: u64, lines: u64) -> Sample {
        Sample {
            at,
            cpu_percent: self.cpu_percent,
            rss_bytes: self.rss_bytes,
            processes: self.processes,
            stdout_bytes,
            stderr_bytes,
            lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pid: i32, ppid: i32, own: u64, children: u64, rss: u64) -> ProcStat {
        ProcStat {
            pid,
            ppid,
            pgrp: pid,
            session: 1,
            state: b'S',
            own_ticks: own,
            children_ticks: children,
            start_time: pid as u64 * 10,
            rss_pages: rss,
            threads: 1,
        }
    }

    #[test]
    fn two_busy_processes_are_two_hundred_percent() {
        let before = [stat(1, 0, 0, 0, 0), stat(2, 1, 100, 0, 10), stat(3, 1, 50, 0, 10)];
        let (_, previous) = account(1, &before, &HashMap::new(), Duration::from_secs(1), 100.0, 4096);
        let after = [
            stat(1, 0, 0, 0, 0),
            stat(2, 1, 200, 0, 10),
            stat(3, 1, 150, 0, 30),
        ];
        let (reading, _) = account(1, &after, &previous, Duration::from_secs(1), 100.0, 4096);
        assert_eq!(reading.cpu_percent, 200.0);
        assert_eq!(reading.rss_bytes, 40 * 4096);
        assert_eq!(reading.processes, 2);
    }

    #[test]
    fn a_reaped_child_is_not_counted_twice() {
        // Process 3 had used 100 ticks; it then burns 30 more, exits, and its parent 2 reaps
        // it: 2's children total becomes 130. The interval used 30 ticks, not 130.
        let before = [stat(2, 1, 0, 0, 0), stat(3, 2, 100, 0, 0)];
        let (_, previous) = account(1, &before, &HashMap::new(), Duration::from_secs(1), 100.0, 4096);
        let after = [stat(2, 1, 0, 130, 0)];
        let (reading, _) = account(1, &after, &previous, Duration::from_secs(1), 100.0, 4096);
        assert!(
            (reading.cpu_percent - 30.0).abs() < 1e-9,
            "{}",
            reading.cpu_percent
        );
    }

    #[test]
    fn a_short_lived_process_counts_through_its_reaper() {
        let before = [stat(2, 1, 0, 0, 0)];
        let (_, previous) = account(1, &before, &HashMap::new(), Duration::from_secs(1), 100.0, 4096);
        let after = [stat(2, 1, 0, 45, 0)];
        let (reading, _) = account(1, &after, &previous, Duration::from_millis(500), 100.0, 4096);
        assert!((reading.cpu_percent - 90.0).abs() < 1e-9);
    }
}
