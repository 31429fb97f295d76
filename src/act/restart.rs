//! Restart policy: exponential backoff and a start-limit budget, as systemd does it.
//!
//! After a runaway is stopped under `--action restart`, the next attempt waits 1 s, then
//! 2 s, 4 s, ... up to 30 s; an attempt that ran healthy for 60 s resets the backoff. At most
//! `--max-restarts` restarts may happen within any `--restart-window`; when the budget is
//! spent the run stops for good (exit 124) and says so. Pure: times are passed in.

use std::collections::VecDeque;
use std::time::Duration;

pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// An attempt that ran this long before it had to be stopped resets the backoff.
pub const HEALTHY_RESET: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub max_restarts: u32,
    pub window: Duration,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_restarts: 3,
            window: Duration::from_secs(300),
        }
    }
}

/// What to do after an attempt was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Restart after this delay; `restart` counts from 1.
    RestartAfter { delay: Duration, restart: u32 },
    /// The budget is spent: `used` restarts within the window.
    GiveUp { used: u32 },
}

#[derive(Debug)]
pub struct RestartPolicy {
    budget: Budget,
    /// Run times (since the run started) at which restarts happened, within the window.
    restarts: VecDeque<Duration>,
    backoff: Duration,
    total: u32,
}

impl RestartPolicy {
    pub fn new(budget: Budget) -> RestartPolicy {
        RestartPolicy {
            budget,
            restarts: VecDeque::new(),
            backoff: FIRST_BACKOFF,
            total: 0,
        }
    }

    /// Called when an attempt that ran for `attempt_ran` was stopped at run time `now`.
    pub fn after_stop(&mut self, now: Duration, attempt_ran: Duration) -> Next {
        while self
            .restarts
            .front()
            .is_some_and(|&at| now.saturating_sub(at) >= self.budget.window)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() as u32 >= self.budget.max_restarts {
            return Next::GiveUp {
                used: self.restarts.len() as u32,
            };
        }
        if attempt_ran >= HEALTHY_RESET {
            self.backoff = FIRST_BACKOFF;
        }
        let delay = self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        self.restarts.push_back(now + delay);
        self.total += 1;
        Next::RestartAfter {
            delay,
            restart: self.total,
        }
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_the_budget_runs_out() {
        let mut policy = RestartPolicy::new(Budget {
            max_restarts: 10,
            window: secs(3600),
        });
        let delays: Vec<Duration> = (0..7)
            .map(|i| match policy.after_stop(secs(i * 10), secs(5)) {
                Next::RestartAfter { delay, .. } => delay,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30].map(secs));
    }

    #[test]
    fn budget_is_per_window() {
        let mut policy = RestartPolicy::new(Budget::default());
        for i in 0..3 {
            assert!(matches!(
                policy.after_stop(secs(i), secs(1)),
                Next::RestartAfter { .. }
            ));
        }
        assert_eq!(policy.after_stop(secs(10), secs(1)), Next::GiveUp { used: 3 });
        // Once the first restarts leave the 5-minute window, there is budget again.
        assert!(matches!(
            policy.after_stop(secs(400), secs(1)),
            Next::RestartAfter { .. }
        ));
    }

    #[test]
    fn a_healthy_attempt_resets_the_backoff() {
        let mut policy = RestartPolicy::new(Budget {
            max_restarts: 10,
            window: secs(60),
        });
        policy.after_stop(secs(0), secs(1));
        policy.after_stop(secs(10), secs(1));
        assert!(
            matches!(policy.after_stop(secs(200), secs(90)), Next::RestartAfter { delay, .. } if delay == secs(1))
        );
    }
}
