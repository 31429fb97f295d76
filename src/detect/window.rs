//! The sliding window: per quarter-second counts of what the output did.
//!
//! `observe_line` may run 100k times a second, so the window does not keep lines: it keeps a
//! ring of `BUCKET`-wide buckets covering the configured window, each holding counters
//! (lines and bytes per stream, text lines, lines with error wording, new templates, and for
//! each cycle period the lines that matched the line that many places back). Updating is a
//! handful of additions; memory is fixed by the window length. Rates, the share of error
//! lines and the "repetition without an exact cycle" evidence are all sums over buckets.
//!
//! That weaker evidence exists for loops that are not exact: a pass that now and then prints
//! one extra line resets the tail run, but the fraction of lines that match the line k back
//! stays near 1 for the loop's period and far below it for a random mix of templates (an
//! access log). `repetition` finds the best period over the last second and walks back while
//! each bucket agrees, so its span starts at the loop's onset, not at the window's start.

use super::cycle::MAX_SHORT_PERIOD;
use crate::sample::Stream;
use std::time::Duration;

pub const BUCKET: Duration = Duration::from_millis(250);

const BUCKET_MS: u128 = BUCKET.as_millis();

/// Buckets that decide the best period of the repetition evidence (one second).
const RECENT_BUCKETS: u64 = 4;

/// A bucket agrees with the repetition when this share of its lines matched.
const AGREEMENT: f64 = 0.7;

/// Consecutive empty buckets that end the repetition span (two seconds of silence).
const MAX_GAP_BUCKETS: u64 = 8;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Bucket number + 1; 0 marks a bucket never used.
    tag: u64,
    lines: [u64; 2],
    bytes: [u64; 2],
    text_lines: u64,
    error_lines: u64,
    new_templates: u64,
    matches: [u64; MAX_SHORT_PERIOD],
}

/// Output rates over the recent past.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub lines_per_s: [f64; 2],
    pub bytes_per_s: [f64; 2],
}

impl Rates {
    pub fn total_lines_per_s(&self) -> f64 {
        self.lines_per_s[0] + self.lines_per_s[1]
    }
}

/// Repetition evidence that does not need an exact cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repetition {
    pub period: usize,
    pub lines: u64,
    pub matched: u64,
    pub error_lines: u64,
    pub new_templates: u64,
    pub span: Duration,
}

fn stream_index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

fn bucket_number(at: Duration) -> u64 {
    u64::try_from(at.as_millis() / BUCKET_MS).unwrap_or(u64::MAX / 2)
}

fn bucket_start(number: u64) -> Duration {
    Duration::from_millis(number.saturating_mul(BUCKET_MS as u64))
}

pub struct Window {
    buckets: Vec<Bucket>,
    newest: u64,
}

impl Window {
    /// A window of at least `span` (between 2 s and 60 s), plus the bucket being filled.
    pub fn new(span: Duration) -> Window {
        let count = (span.as_millis() / BUCKET_MS).clamp(8, 240) as usize + 1;
        Window {
            buckets: vec![Bucket::default(); count],
            newest: 0,
        }
    }

    #[cfg(test)]
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    fn bucket_mut(&mut self, at: Duration) -> &mut Bucket {
        let mut number = bucket_number(at);
        self.newest = self.newest.max(number);
        let len = self.buckets.len() as u64;
        if number + len <= self.newest {
            // Late by more than the window: count it in the newest bucket.
            number = self.newest;
        }
        let bucket = &mut self.buckets[(number % len) as usize];
        if bucket.tag != number + 1 {
            *bucket = Bucket {
                tag: number + 1,
                ..Bucket::default()
            };
        }
        bucket
    }

    fn bucket(&self, number: u64) -> Option<&Bucket> {
        let bucket = &self.buckets[(number % self.buckets.len() as u64) as usize];
        (bucket.tag == number + 1).then_some(bucket)
    }

    /// Every line, text or not.
    pub fn add_line(&mut self, stream: Stream, bytes: usize, at: Duration) {
        let bucket = self.bucket_mut(at);
        let s = stream_index(stream);
        bucket.lines[s] += 1;
        bucket.bytes[s] += bytes as u64;
    }

    /// A line that has a template; `matched` has bit k-1 set when it matched period k.
    pub fn add_text_line(&mut self, at: Duration, matched: u32, new_template: bool, error: bool) {
        let bucket = self.bucket_mut(at);
        bucket.text_lines += 1;
        bucket.error_lines += u64::from(error);
        bucket.new_templates += u64::from(new_template);
        for (k, count) in bucket.matches.iter_mut().enumerate() {
            *count += u64::from(matched >> k & 1);
        }
    }

    /// Lines and bytes per second over the last `span` (or since the start, if shorter).
    pub fn rates(&self, now: Duration, span: Duration) -> Rates {
        let now_number = bucket_number(now);
        let count = (span.as_millis() / BUCKET_MS).max(1) as u64;
        let oldest = now_number.saturating_sub(count);
        let mut rates = Rates::default();
        for number in oldest..=now_number {
            if let Some(b) = self.bucket(number) {
                for s in 0..2 {
                    rates.lines_per_s[s] += b.lines[s] as f64;
                    rates.bytes_per_s[s] += b.bytes[s] as f64;
                }
            }
        }
        let covered = now
            .saturating_sub(bucket_start(oldest))
            .as_secs_f64()
            .max(BUCKET.as_secs_f64());
        for s in 0..2 {
            rates.lines_per_s[s] /= covered;
            rates.bytes_per_s[s] /= covered;
        }
        rates
    }

    /// The best period over the last second, extended back while buckets agree with it.
    pub fn repetition(&self, now: Duration) -> Option<Repetition> {
        let now_number = bucket_number(now);
        let mut lines = 0;
        let mut per_period = [0u64; MAX_SHORT_PERIOD];
        for number in now_number.saturating_sub(RECENT_BUCKETS - 1)..=now_number {
            if let Some(b) = self.bucket(number) {
                lines += b.text_lines;
                for (sum, m) in per_period.iter_mut().zip(b.matches) {
                    *sum += m;
                }
            }
        }
        if lines < 4 {
            return None;
        }
        let mut period = 0;
        for k in 1..MAX_SHORT_PERIOD {
            if per_period[k] > per_period[period] {
                period = k;
            }
        }
        let mut found = Repetition {
            period: period + 1,
            lines: 0,
            matched: 0,
            error_lines: 0,
            new_templates: 0,
            span: Duration::ZERO,
        };
        let mut oldest = now_number;
        let mut gap = 0;
        let reach = self.buckets.len() as u64 - 1;
        for number in (now_number.saturating_sub(reach)..=now_number).rev() {
            let Some(b) = self.bucket(number).filter(|b| b.text_lines > 0) else {
                gap += 1;
                if gap > MAX_GAP_BUCKETS {
                    break;
                }
                continue;
            };
            if (b.matches[period] as f64) < AGREEMENT * b.text_lines as f64 {
                break;
            }
            gap = 0;
            oldest = number;
            found.lines += b.text_lines;
            found.matched += b.matches[period];
            found.error_lines += b.error_lines;
            found.new_templates += b.new_templates;
        }
        found.span = now.saturating_sub(bucket_start(oldest));
        (found.lines > 0).then_some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rates_count_lines_and_bytes_per_stream() {
        let mut w = Window::new(Duration::from_secs(10));
        for i in 0..200 {
            w.add_line(Stream::Stdout, 50, ms(i * 10));
        }
        for i in 0..20 {
            w.add_line(Stream::Stderr, 10, ms(i * 100));
        }
        let r = w.rates(ms(2000), Duration::from_secs(2));
        assert!((r.lines_per_s[0] - 100.0).abs() < 1.0, "{r:?}");
        assert!((r.bytes_per_s[0] - 5000.0).abs() < 50.0, "{r:?}");
        assert!((r.lines_per_s[1] - 10.0).abs() < 0.5, "{r:?}");
        assert!((r.total_lines_per_s() - 110.0).abs() < 1.5);
        let quiet = w.rates(ms(30_000), Duration::from_secs(2));
        assert_eq!(quiet.total_lines_per_s(), 0.0, "old buckets are not reused");
    }

    #[test]
    fn repetition_starts_at_the_onset_of_the_loop() {
        let mut w = Window::new(Duration::from_secs(10));
        // Three seconds of unrelated lines, then four seconds matching period 2.
        for i in 0..300 {
            w.add_text_line(ms(i * 10), 0, i % 10 == 0, false);
        }
        for i in 300..700 {
            let matched = if i % 50 == 0 { 0 } else { 0b10 };
            w.add_text_line(ms(i * 10), matched, false, true);
        }
        let r = w.repetition(ms(7000)).expect("repetition");
        assert_eq!(r.period, 2);
        assert_eq!(r.span, ms(4000));
        assert_eq!(r.lines, 400);
        assert_eq!(r.matched, 392);
        assert_eq!((r.error_lines, r.new_templates), (400, 0));
    }

    #[test]
    fn a_random_mix_has_no_repetition_span() {
        let mut w = Window::new(Duration::from_secs(10));
        for i in 0..1000u64 {
            let matched = if i % 3 == 0 { 1 } else { 0 };
            w.add_text_line(ms(i * 5), matched, false, false);
        }
        assert_eq!(w.repetition(ms(5000)), None, "no bucket agrees with any period");
    }

    #[test]
    fn late_and_far_future_times_do_not_panic() {
        let mut w = Window::new(Duration::from_secs(10));
        w.add_line(Stream::Stdout, 1, Duration::from_secs(100));
        w.add_line(Stream::Stdout, 1, Duration::from_secs(1));
        w.add_text_line(Duration::MAX, 0xffff, true, true);
        w.add_line(Stream::Stderr, 1, Duration::ZERO);
        let _ = w.rates(Duration::MAX, Duration::from_secs(2));
        let _ = w.repetition(Duration::MAX);
        assert_eq!(w.bucket_count(), 41);
    }
}
