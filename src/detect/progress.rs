//! Is a repeating template counting work done?
//!
//! A training log (`step 1200 loss=0.31`), a `processed 450/1000` counter and a `\r`
//! progress bar repeat one template as steadily as any loop; what sets them apart is a
//! number that advances. Each template keeps a small ring of the numeric slots of its
//! recent lines (`RING` entries, recorded only when a countable value changed, so a bar
//! redrawn twenty times a second at the same percentage does not flush its own history).
//!
//! A slot shows progress when, read in order, it rose at least `MIN_RISES` times, almost
//! never fell (at most one fall per eight rises), and last rose recently. Parallel workers
//! interleave their counters (`[w1] 120`, `[w2] 80`, `[w1] 121`), which is only monotone per
//! worker; so the rise/fall count is taken per group, where a group is the combination of
//! the template's categorical slots (few distinct values: the worker number, the `/1000`
//! total, the epoch). A random latency printed as an integer rises and falls about equally
//! and never passes; a counter that cycles (`step 1/3, 2/3, 3/3, 1/3`) falls once per turn
//! and never passes either. Attempt numbers are excluded by the caller, which knows the
//! template's wording.

use super::template::{Slots, MAX_SLOTS};
use std::time::Duration;

/// Recent distinct readings kept per template.
pub const RING: usize = 32;

/// Rises needed before a slot counts as progress.
const MIN_RISES: u32 = 3;

/// Worker groups told apart per slot.
const MAX_GROUPS: usize = 16;

#[derive(Debug, Clone)]
pub struct ProgressRing {
    values: [[f64; MAX_SLOTS]; RING],
    times: [Duration; RING],
    len: usize,
    next: usize,
}

impl Default for ProgressRing {
    fn default() -> ProgressRing {
        ProgressRing {
            values: [[f64::NAN; MAX_SLOTS]; RING],
            times: [Duration::ZERO; RING],
            len: 0,
            next: 0,
        }
    }
}

/// The countable values of `slots`, NaN where a slot is missing or a fraction.
pub fn readings(slots: &Slots) -> [f64; MAX_SLOTS] {
    let mut out = [f64::NAN; MAX_SLOTS];
    for (i, value) in out.iter_mut().enumerate() {
        if let Some(v) = slots.progress_value(i) {
            *value = v;
        }
    }
    out
}

fn same(a: &[f64; MAX_SLOTS], b: &[f64; MAX_SLOTS]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

impl ProgressRing {
    /// Records a line's readings unless they equal the previous record.
    pub fn record(&mut self, reading: [f64; MAX_SLOTS], at: Duration) {
        if self.len > 0 {
            let last = (self.next + RING - 1) % RING;
            if same(&self.values[last], &reading) {
                return;
            }
        }
        self.values[self.next] = reading;
        self.times[self.next] = at;
        self.next = (self.next + 1) % RING;
        self.len = (self.len + 1).min(RING);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Records in order, oldest first.
    fn ordered(&self) -> impl Iterator<Item = (&[f64; MAX_SLOTS], Duration)> {
        let first = (self.next + RING - self.len) % RING;
        (0..self.len).map(move |i| {
            let at = (first + i) % RING;
            (&self.values[at], self.times[at])
        })
    }

    /// Slots whose values take few distinct values: worker numbers, totals, epochs.
    fn categorical(&self) -> [bool; MAX_SLOTS] {
        let limit = (self.len / 2).clamp(1, 8);
        let mut out = [false; MAX_SLOTS];
        for (slot, is_categorical) in out.iter_mut().enumerate() {
            let mut seen = [0u64; 9];
            let mut distinct = 0;
            for (values, _) in self.ordered() {
                let v = values[slot];
                if v.is_nan() {
                    continue;
                }
                if !seen[..distinct].contains(&v.to_bits()) {
                    if distinct == seen.len() {
                        distinct += 1;
                        break;
                    }
                    seen[distinct] = v.to_bits();
                    distinct += 1;
                }
            }
            *is_categorical = distinct > 0 && distinct <= limit;
        }
        out
    }

    /// True when some slot advanced steadily and its latest rise is at most `freshness`
    /// before `now`.
    pub fn shows_progress(&self, now: Duration, freshness: Duration) -> bool {
        if self.len < MIN_RISES as usize + 1 {
            return false;
        }
        let categorical = self.categorical();
        (0..MAX_SLOTS).any(|slot| self.slot_advances(slot, &categorical, now, freshness))
    }

    fn slot_advances(
        &self,
        slot: usize,
        categorical: &[bool; MAX_SLOTS],
        now: Duration,
        freshness: Duration,
    ) -> bool {
        let mut keys = [0u64; MAX_GROUPS];
        let mut last = [0f64; MAX_GROUPS];
        let mut groups = 0;
        let (mut rises, mut falls) = (0u32, 0u32);
        let mut last_rise = None;
        for (values, at) in self.ordered() {
            let v = values[slot];
            if v.is_nan() {
                continue;
            }
            let key = (0..MAX_SLOTS)
                .filter(|&other| other != slot && categorical[other])
                .fold(0xcbf2_9ce4_8422_2325u64, |h, other| {
                    (h ^ values[other].to_bits()).wrapping_mul(0x0000_0100_0000_01b3)
                });
            match keys[..groups].iter().position(|&k| k == key) {
                Some(g) => {
                    if v > last[g] {
                        rises += 1;
                        last_rise = Some(at);
                    } else if v < last[g] {
                        falls += 1;
                    }
                    last[g] = v;
                }
                None if groups < MAX_GROUPS => {
                    keys[groups] = key;
                    last[groups] = v;
                    groups += 1;
                }
                None => {}
            }
        }
        let steady = rises >= MIN_RISES && falls * 8 <= rises;
        let recent = last_rise.is_some_and(|t| now.saturating_sub(t) <= freshness);
        steady && recent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: Duration = Duration::from_secs(10);

    fn ring(rows: &[&[f64]]) -> ProgressRing {
        let mut ring = ProgressRing::default();
        for (i, row) in rows.iter().enumerate() {
            let mut reading = [f64::NAN; MAX_SLOTS];
            reading[..row.len()].copy_from_slice(row);
            ring.record(reading, Duration::from_millis(100 * i as u64));
        }
        ring
    }

    fn progress(rows: &[&[f64]]) -> bool {
        let at = Duration::from_millis(100 * rows.len() as u64);
        ring(rows).shows_progress(at, FRESH)
    }

    #[test]
    fn a_counter_is_progress() {
        assert!(progress(&[&[1.0], &[2.0], &[3.0], &[4.0]]));
        assert!(progress(&[&[1200.0, 0.3], &[1210.0, 0.2], &[1220.0, 0.4], &[1230.0, 0.1]]));
    }

    #[test]
    fn a_constant_or_cycling_value_is_not() {
        assert!(!progress(&[&[5.0], &[5.0], &[5.0], &[5.0], &[5.0]]));
        let cycling: Vec<[f64; 1]> = (0..24).map(|i| [f64::from(i % 3 + 1)]).collect();
        let rows: Vec<&[f64]> = cycling.iter().map(|r| &r[..]).collect();
        assert!(!progress(&rows));
    }

    #[test]
    fn random_values_are_not_progress() {
        let latencies = [412.0, 87.0, 230.0, 95.0, 301.0, 66.0, 250.0, 140.0, 390.0, 120.0, 75.0, 333.0];
        let rows: Vec<[f64; 1]> = latencies.iter().map(|&v| [v]).collect();
        let rows: Vec<&[f64]> = rows.iter().map(|r| &r[..]).collect();
        assert!(!progress(&rows));
    }

    #[test]
    fn interleaved_workers_advance_per_worker() {
        let mut rows = Vec::new();
        for step in 0..8 {
            for (worker, offset) in [(1.0, 500.0), (2.0, 100.0), (3.0, 300.0), (4.0, 50.0)] {
                rows.push([worker, offset + f64::from(step) * 7.0, 1000.0]);
            }
        }
        let rows: Vec<&[f64]> = rows.iter().map(|r| &r[..]).collect();
        assert!(progress(&rows));
    }

    #[test]
    fn a_slow_percentage_survives_fast_redraws() {
        let mut rows = Vec::new();
        for percent in 40..46 {
            for _ in 0..20 {
                rows.push([f64::from(percent)]);
            }
        }
        let rows: Vec<&[f64]> = rows.iter().map(|r| &r[..]).collect();
        let ring = ring(&rows);
        assert_eq!(ring.len(), 6, "identical redraws are recorded once");
        assert!(ring.shows_progress(Duration::from_secs(12), FRESH));
    }

    #[test]
    fn stalled_progress_goes_stale() {
        let ring = ring(&[&[1.0], &[2.0], &[3.0], &[4.0]]);
        assert!(ring.shows_progress(Duration::from_secs(5), FRESH));
        assert!(!ring.shows_progress(Duration::from_secs(30), FRESH));
    }

    #[test]
    fn the_ring_never_grows_past_its_size() {
        let rows: Vec<[f64; 1]> = (0..500).map(|i| [f64::from(i)]).collect();
        let rows: Vec<&[f64]> = rows.iter().map(|r| &r[..]).collect();
        assert_eq!(ring(&rows).len(), RING);
    }
}
