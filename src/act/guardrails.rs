//! Guardrails: hard limits a user sets, off by default, independent of detection.
//!
//! `--timeout` is a wall-clock limit on the whole run (like timeout(1)), `--max-rss` a limit
//! on the tree's resident memory at a sample, `--idle-timeout` a limit on how long the job
//! may go without writing a byte (like CI no-output timeouts). All are pure checks on the
//! numbers the supervisor hands over.

use crate::supervise::{StopRequest, Stopper};
use crate::units::{format_duration, format_size};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Option<Duration>,
    pub max_rss: Option<u64>,
    pub idle_timeout: Option<Duration>,
}

/// Checks the limits against what the run has done so far.
#[derive(Debug)]
pub struct Guardrails {
    limits: Limits,
    /// Set by a sample over `--max-rss`, reported at the next check.
    rss_breach: Option<u64>,
}

impl Guardrails {
    pub fn new(limits: Limits) -> Guardrails {
        Guardrails {
            limits,
            rss_breach: None,
        }
    }

    /// Notes the tree's resident memory from a sample.
    pub fn observe_rss(&mut self, rss_bytes: u64) {
        if self.limits.max_rss.is_some_and(|limit| rss_bytes > limit) {
            self.rss_breach = Some(rss_bytes);
        }
    }

    /// When the next limit comes due if nothing changes: `--timeout` from the run's start,
    /// `--idle-timeout` from the last output (`--max-rss` is judged at samples, which the
    /// loop has a timer for anyway).
    pub fn deadline(&self, run_started: Instant, last_output: Instant) -> Option<Instant> {
        let timeout = self.limits.timeout.map(|limit| run_started + limit);
        let idle = self.limits.idle_timeout.map(|limit| last_output + limit);
        timeout.into_iter().chain(idle).min()
    }

    /// `run_time` is the time since the run (not the attempt) started; `silent_for` the
    /// time since the attempt last wrote any output (or since it started).
    pub fn check(&mut self, run_time: Duration, silent_for: Duration) -> Option<StopRequest> {
        if let Some(limit) = self.limits.timeout {
            if run_time >= limit {
                return Some(StopRequest {
                    by: Stopper::Guardrail,
                    kind: "timeout",
                    reason: format!(
                        "timeout: ran {} ≥ --timeout {}",
                        format_duration(run_time),
                        format_duration(limit)
                    ),
                });
            }
        }
        if let (Some(rss), Some(limit)) = (self.rss_breach.take(), self.limits.max_rss) {
            return Some(StopRequest {
                by: Stopper::Guardrail,
                kind: "max_rss",
                reason: format!(
                    "memory: tree resident memory {} > --max-rss {}",
                    format_size(rss),
                    format_size(limit)
                ),
            });
        }
        if let Some(limit) = self.limits.idle_timeout {
            if silent_for >= limit {
                return Some(StopRequest {
                    by: Stopper::Guardrail,
                    kind: "idle_timeout",
                    reason: format!(
                        "no output for {} ≥ --idle-timeout {}",
                        format_duration(silent_for),
                        format_duration(limit)
                    ),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZERO: Duration = Duration::ZERO;

    #[test]
    fn timeout_fires_at_the_limit() {
        let mut guard = Guardrails::new(Limits {
            timeout: Some(Duration::from_secs(2)),
            ..Limits::default()
        });
        assert_eq!(guard.check(Duration::from_millis(1999), ZERO), None);
        let stop = guard
            .check(Duration::from_secs(2), ZERO)
            .expect("stop at the limit");
        assert_eq!(stop.kind, "timeout");
        assert!(stop.reason.contains("--timeout 2.0 s"), "{}", stop.reason);
    }

    #[test]
    fn the_deadline_is_the_first_limit_to_come_due() {
        let start = Instant::now();
        let secs = Duration::from_secs;
        let none = Guardrails::new(Limits::default());
        assert_eq!(none.deadline(start, start), None);
        let both = Guardrails::new(Limits {
            timeout: Some(secs(10)),
            idle_timeout: Some(secs(3)),
            ..Limits::default()
        });
        assert_eq!(both.deadline(start, start), Some(start + secs(3)));
        // Output at 8 s moves the idle deadline to 11 s, past the timeout.
        assert_eq!(both.deadline(start, start + secs(8)), Some(start + secs(10)));
    }

    #[test]
    fn max_rss_fires_after_a_sample_over_the_limit() {
        let mut guard = Guardrails::new(Limits {
            max_rss: Some(100 << 20),
            ..Limits::default()
        });
        guard.observe_rss(50 << 20);
        assert_eq!(guard.check(ZERO, ZERO), None);
        guard.observe_rss(150 << 20);
        let stop = guard.check(ZERO, ZERO).expect("stop over the limit");
        assert_eq!(stop.kind, "max_rss");
        assert!(
            stop.reason.contains("150.0 MiB > --max-rss 100.0 MiB"),
            "{}",
            stop.reason
        );
    }

    #[test]
    fn idle_timeout_counts_silence() {
        let mut guard = Guardrails::new(Limits {
            idle_timeout: Some(Duration::from_secs(10)),
            ..Limits::default()
        });
        assert_eq!(
            guard.check(Duration::from_secs(100), Duration::from_secs(9)),
            None
        );
        let stop = guard
            .check(Duration::from_secs(100), Duration::from_secs(10))
            .expect("idle");
        assert_eq!(stop.kind, "idle_timeout");
    }

    #[test]
    fn nothing_fires_without_limits() {
        let mut guard = Guardrails::new(Limits::default());
        guard.observe_rss(u64::MAX);
        assert_eq!(guard.check(Duration::MAX, Duration::MAX), None);
    }
}
