//! Backing off a client that keeps presenting wrong keys, without ever limiting one that
//! presents the right key.
//!
//! Only *failures* cost: each client address has a bucket of [`BURST`] failures that refills
//! at [`REFILL_PER_SECOND`]. While its bucket is empty, every keyed request from that
//! address gets 429 with `Retry-After` before its key is even looked at, so a guesser
//! learns nothing (not even "this one would have worked") and cannot try faster than the
//! refill. A dashboard that polls with the right key never spends a token and is never
//! limited. On loopback every local client shares 127.0.0.1, so a local process guessing
//! keys can delay the dashboard for as long as it keeps guessing; it could as well kill the
//! server, so THREAT_MODEL.md accepts that. The logic is pure (the clock is an argument).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed in a burst.
pub const BURST: f64 = 20.0;
/// Failures forgiven per second.
pub const REFILL_PER_SECOND: f64 = 2.0;
/// Addresses remembered before full buckets are forgotten.
const MAX_CLIENTS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(self, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        Bucket {
            tokens: (self.tokens + elapsed * REFILL_PER_SECOND).min(BURST),
            at: now,
        }
    }
}

#[derive(Default)]
pub struct AuthLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl AuthLimiter {
    /// `Some(wait)` while `client` must back off.
    pub fn blocked(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.get_mut(&client)?;
        *bucket = bucket.refilled(now);
        (bucket.tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - bucket.tokens) / REFILL_PER_SECOND))
    }

    /// Spends one token of `client`'s bucket.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_CLIENTS {
            buckets.retain(|_, b| b.refilled(now).tokens < BURST);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: BURST,
            at: now,
        });
        *bucket = bucket.refilled(now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_and_recover() {
        let limiter = AuthLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().expect("literal");
        let t0 = Instant::now();
        assert_eq!(limiter.blocked(ip, t0), None, "an unknown client is free");
        for _ in 0..BURST as usize {
            assert_eq!(limiter.blocked(ip, t0), None);
            limiter.failed(ip, t0);
        }
        let wait = limiter.blocked(ip, t0).expect("burst spent");
        assert!(
            wait <= Duration::from_secs_f64(1.0 / REFILL_PER_SECOND),
            "{wait:?}"
        );
        assert_eq!(limiter.blocked(ip, t0 + wait), None, "free again after the wait");
        let other: IpAddr = "::1".parse().expect("literal");
        assert_eq!(limiter.blocked(other, t0), None, "per client");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(500)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
