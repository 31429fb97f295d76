//! Guardrails: hard limits a user sets, checked every tick, independent of detection.
//!
//! `--timeout` is a wall-clock limit on the whole run, like timeout(1).

use crate::supervise::{StopRequest, Stopper};
use crate::units::format_duration;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub timeout: Option<Duration>,
}

/// Checks the limits against what the run has done so far.
#[derive(Debug)]
pub struct Guardrails {
    limits: Limits,
}

impl Guardrails {
    pub fn new(limits: Limits) -> Guardrails {
        Guardrails { limits }
    }

    /// `at` is the time since the run (not the attempt) started.
    pub fn check(&self, at: Duration) -> Option<StopRequest> {
        if let Some(limit) = self.limits.timeout {
            if at >= limit {
                return Some(StopRequest {
                    by: Stopper::Guardrail,
                    kind: "timeout",
                    reason: format!(
                        "timeout: ran {} ≥ --timeout {}",
                        format_duration(at),
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

    #[test]
    fn timeout_fires_at_the_limit() {
        let guard = Guardrails::new(Limits {
            timeout: Some(Duration::from_secs(2)),
        });
        assert_eq!(guard.check(Duration::from_millis(1999)), None);
        let stop = guard.check(Duration::from_secs(2)).expect("stop at the limit");
        assert_eq!(stop.kind, "timeout");
        assert!(stop.reason.contains("--timeout 2.0 s"), "{}", stop.reason);
    }
}
