//! Is a repeating line a measurement?
//!
//! Samplers print one line, or one block, per tick for as long as they run: `iostat -x 1`,
//! `mpstat 1`, `sar -u 1`, `vmstat 1`, `pgbench -P 1`, `redis-benchmark -l`, `nvidia-smi
//! dmon`. Run at a short interval, or replayed from a pasted log at ten lines a second, such
//! a line repeats as exactly as any loop's. What sets it apart is how much each line says. A
//! loop re-runs the same code, so its line is fixed text in which at most a clock, an attempt
//! counter or the one latency of its failing call moves (`curl: (7) Failed to connect ...
//! after 0 ms`, `ERROR connection refused (took 12.3 ms)`). A sampler's line is a row of
//! readings of something outside the job — CPU shares, disk rates, transactions a second,
//! latencies — and several of them move from line to line, each up or down by its own
//! amount. So a template is a measurement row when, over its lines since the loop began (at
//! least four readings), two of its values or more each changed on most lines, went both up
//! and down, took three values or more, and did not climb by one fixed step (a counter, a
//! relative clock). A value that climbs by a fixed step and starts over (`step 4002, 4004,
//! 4006, 4008, 4002`) numbers a loop's own passes — a trainer reloading its checkpoint
//! prints new losses and a new throughput every pass — and then one more moving value is
//! needed. Headers printed between the rows (`avg-cpu:  %user ...`, vmstat's every 21
//! lines) carry no values and change nothing. A loop whose lines report a failure, an
//! attempt, a crash, an empty result or a model call's usage is never a sampler's, whatever
//! numbers it prints beside them.
//!
//! The readings are a line's plain counts, fractions, percentages and durations, in order
//! (`Slots::measures`): a latency `0.751 msec` is a reading as much as `1631.8 tps`, while
//! identifiers, names, places and times are not. Each template keeps a small ring of them,
//! recorded only when a value changed.

use super::slots::MAX_SLOTS;
use super::templates::TemplateInfo;
use std::time::Duration;

/// Recent distinct readings kept per template: enough for the last seconds of a loop.
const RING: usize = 16;

/// Readings since the loop began that a movement is judged over.
const MIN_READINGS: usize = 4;

/// Values that must move on their own for a line to be a row of measurements.
const MIN_MOVING: usize = 2;

/// The readings of one template's recent lines.
#[derive(Debug, Clone)]
pub struct MeasureRing {
    values: [[f64; MAX_SLOTS]; RING],
    times: [Duration; RING],
    len: usize,
    next: usize,
}

impl Default for MeasureRing {
    fn default() -> MeasureRing {
        MeasureRing {
            values: [[f64::NAN; MAX_SLOTS]; RING],
            times: [Duration::ZERO; RING],
            len: 0,
            next: 0,
        }
    }
}

/// How a template's values moved since a loop began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Movement {
    /// Values that moved on their own: on most lines, up and down, by differing amounts.
    pub moving: usize,
    /// A value climbed by a fixed step and started over: a loop numbering its passes.
    pub starts_over: bool,
}

impl Movement {
    /// The line is a row of measurements.
    pub fn measures(self) -> bool {
        self.moving >= MIN_MOVING + usize::from(self.starts_over)
    }
}

impl MeasureRing {
    /// Records a line's readings unless they equal the previous record.
    pub fn record(&mut self, measures: &[f64], at: Duration) {
        let mut row = [f64::NAN; MAX_SLOTS];
        row[..measures.len()].copy_from_slice(measures);
        if self.len > 0 {
            let last = &self.values[(self.next + RING - 1) % RING];
            if last.iter().zip(&row).all(|(a, b)| a.to_bits() == b.to_bits()) {
                return;
            }
        }
        self.values[self.next] = row;
        self.times[self.next] = at;
        self.next = (self.next + 1) % RING;
        self.len = (self.len + 1).min(RING);
    }

    /// Records at or after `since`, oldest first.
    fn since(&self, since: Duration) -> impl Iterator<Item = &[f64; MAX_SLOTS]> + Clone {
        let first = (self.next + RING - self.len) % RING;
        (0..self.len)
            .map(move |i| (first + i) % RING)
            .filter(move |&at| self.times[at] >= since)
            .map(|at| &self.values[at])
    }

    /// How the values moved over the records since `since`.
    pub fn movement(&self, since: Duration) -> Movement {
        let records = self.since(since);
        if records.clone().count() < MIN_READINGS {
            return Movement::default();
        }
        let mut movement = Movement::default();
        for slot in 0..MAX_SLOTS {
            let mut track = Track::default();
            for values in records.clone() {
                track.push(values[slot]);
            }
            movement.moving += usize::from(track.moves());
            movement.starts_over |= track.starts_over();
        }
        movement
    }
}

/// One value followed over a template's records.
#[derive(Default)]
struct Track {
    seen: [u64; RING],
    readings: usize,
    distinct: usize,
    changes: usize,
    rises: usize,
    falls: usize,
    /// The first rise's size, and whether every rise since was the same size.
    step: Option<f64>,
    uneven: bool,
    /// A fall came back to a value seen before.
    returned: bool,
    last: Option<f64>,
}

impl Track {
    fn push(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        let bits = v.to_bits();
        let new = !self.seen[..self.distinct].contains(&bits);
        if let Some(last) = self.last {
            if v != last {
                self.changes += 1;
            }
            if v > last {
                self.rises += 1;
                let rise = v - last;
                match self.step {
                    None => self.step = Some(rise),
                    Some(step) => self.uneven |= (rise - step).abs() > 1e-9 * step.abs().max(1.0),
                }
            } else if v < last {
                self.falls += 1;
                self.returned |= !new;
            }
        }
        if new && self.distinct < RING {
            self.seen[self.distinct] = bits;
            self.distinct += 1;
        }
        self.readings += 1;
        self.last = Some(v);
    }

    /// Climbs by one fixed step (a counter, a relative clock, a sequence number).
    fn steps(&self) -> bool {
        self.rises >= 2 && !self.uneven
    }

    /// Changed on most lines, went up and down by differing amounts, took three values or
    /// more: a reading of something that moves on its own.
    fn moves(&self) -> bool {
        let transitions = self.readings.saturating_sub(1);
        self.readings >= MIN_READINGS
            && 3 * self.changes >= 2 * transitions
            && self.rises >= 1
            && self.falls >= 1
            && self.distinct >= 3
            && !self.steps()
    }

    /// Climbed by a fixed step and fell back to a value it had shown: a pass counter.
    fn starts_over(&self) -> bool {
        self.steps() && self.returned
    }
}

/// A loop whose lines are a sampler's readings.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurements {
    /// Values moving on their own in the busiest row.
    pub moving: usize,
    /// That row's template, for the words.
    pub example: String,
}

impl Measurements {
    /// The measurements of a loop of these templates since it began at `since`: a row among
    /// them whose values move on their own, and nothing failing, counting attempts,
    /// crashing, coming back empty or reporting a model call.
    pub fn of_loop(infos: &[&TemplateInfo], since: Duration) -> Option<Measurements> {
        let loops_own = |t: &&&TemplateInfo| {
            let w = &t.wording;
            w.error || w.attempt || w.crash || w.empty || t.model_call
        };
        if infos.iter().any(|t| loops_own(&t)) {
            return None;
        }
        infos
            .iter()
            .map(|t| (t.movement(since), t))
            .filter(|(m, _)| m.measures())
            .max_by_key(|(m, _)| m.moving)
            .map(|(m, t)| Measurements {
                moving: m.moving,
                example: t.example.to_string(),
            })
    }

    /// The protection's words.
    pub fn describe(&self) -> String {
        format!(
            "measurements that vary on every line ({} values moving up and down on their own in `{}`): a sampler's readings, not a loop",
            self.moving, self.example
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(rows: &[&[f64]]) -> MeasureRing {
        let mut ring = MeasureRing::default();
        for (i, row) in rows.iter().enumerate() {
            ring.record(row, Duration::from_millis(100 * i as u64));
        }
        ring
    }

    fn movement(rows: &[&[f64]]) -> Movement {
        ring(rows).movement(Duration::ZERO)
    }

    #[test]
    fn a_samplers_readings_move_on_their_own() {
        // `mpstat 1`: %usr %nice %sys %iowait %irq %soft %steal %guest (the time masked).
        let rows: [&[f64]; 6] = [
            &[0.50, 73.63, 23.38, 0.00, 0.00, 0.50, 1.99, 0.00],
            &[4.50, 79.00, 16.00, 0.00, 0.00, 0.00, 0.50, 0.00],
            &[6.97, 78.11, 13.93, 0.00, 0.00, 0.50, 0.50, 0.00],
            &[5.47, 80.10, 13.43, 0.00, 0.00, 0.50, 0.50, 0.00],
            &[3.02, 76.88, 18.59, 0.00, 0.00, 0.00, 1.51, 0.00],
            &[5.00, 75.50, 18.00, 0.00, 0.00, 0.50, 1.00, 0.00],
        ];
        let m = movement(&rows);
        assert!(m.moving >= 3, "{m:?}");
        assert!(m.measures());
        // `pgbench -P 1`: 1.0 s (a relative clock), tps, latency, stddev, 0 failed.
        let rows: [&[f64]; 5] = [
            &[1.0, 1631.8, 0.001213, 0.461, 0.0],
            &[2.0, 1810.2, 0.001102, 0.393, 0.0],
            &[3.0, 1910.0, 0.001044, 0.299, 0.0],
            &[4.0, 1903.8, 0.001049, 0.321, 0.0],
            &[5.0, 800.1, 0.002494, 2.292, 0.0],
        ];
        assert_eq!(movement(&rows).moving, 3, "the clock climbs by a fixed step");
        assert!(movement(&rows).measures());
    }

    #[test]
    fn a_loops_line_moves_one_value_or_counts() {
        // `ERROR connection refused (took 12.3 ms)` with an attempt number: one latency.
        let rows: [&[f64]; 6] = [
            &[1.0, 0.0123],
            &[2.0, 0.0087],
            &[3.0, 0.0230],
            &[4.0, 0.0095],
            &[5.0, 0.0301],
            &[6.0, 0.0066],
        ];
        let m = movement(&rows);
        assert_eq!(m.moving, 1, "{m:?}");
        assert!(!m.measures());
        // A value flipping between two, and a constant: no readings.
        let rows: [&[f64]; 6] = [
            &[1.0, 7.0],
            &[2.0, 7.0],
            &[1.0, 7.0],
            &[2.0, 7.0],
            &[1.0, 7.0],
            &[2.0, 7.0],
        ];
        assert_eq!(movement(&rows).moving, 0);
        // Too few lines since the loop began to say.
        let rows: [&[f64]; 3] = [&[0.5, 73.6, 23.4], &[4.5, 79.0, 16.0], &[6.9, 78.1, 13.9]];
        assert_eq!(movement(&rows), Movement::default());
    }

    #[test]
    fn a_pass_counter_that_starts_over_asks_for_one_more_moving_value() {
        // `step 4002 | loss 1.93 | lr 3.00e-04 | 975.2 samples/s`, the checkpoint reloaded
        // after 4008: new losses and throughputs, the same steps again.
        let rows: [&[f64]; 8] = [
            &[4002.0, 1.93, 3e-4, 975.2],
            &[4004.0, 1.81, 3e-4, 951.7],
            &[4006.0, 1.99, 3e-4, 990.3],
            &[4008.0, 1.85, 3e-4, 962.0],
            &[4002.0, 1.88, 3e-4, 983.4],
            &[4004.0, 1.97, 3e-4, 958.8],
            &[4006.0, 1.84, 3e-4, 970.1],
            &[4008.0, 1.90, 3e-4, 996.5],
        ];
        let m = movement(&rows);
        assert_eq!(
            m,
            Movement {
                moving: 2,
                starts_over: true
            }
        );
        assert!(!m.measures());
        // The readings are judged since the loop began: the same steps before it are not.
        let ring = ring(&rows);
        assert_eq!(ring.movement(Duration::from_millis(500)), Movement::default());
    }

    #[test]
    fn identical_lines_are_recorded_once() {
        let mut ring = MeasureRing::default();
        for i in 0..10u64 {
            ring.record(&[1.0, 2.0], Duration::from_millis(i));
        }
        assert_eq!(ring.len, 1);
    }
}
