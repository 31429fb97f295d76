//! Is a repeating template counting work done?
//!
//! A training log (`step 1200 loss=0.31`), a `processed 450/1000` counter and a `\r`
//! progress bar repeat one template as steadily as any loop; what sets them apart is a
//! number that advances. Each template keeps a small ring of the numeric slots of its
//! recent lines (`RING` entries, recorded only when a value changed, so a bar redrawn twenty
//! times a second at the same percentage does not flush its own history).
//!
//! A count advances when, read in order, it rose at least `MIN_RISES` times, almost never
//! fell (at most one fall per eight rises) and last rose recently. A percentage or the done
//! part of `done/total` says "progress" by its very shape, so one recent rise and no fall
//! are enough; a percentage that has not moved yet (a bar at 0 % redrawn for a few seconds)
//! is `Progress::StalledPercent`, a smaller penalty rather than none. A count that rises by
//! exactly one per line while nothing else in the line changes (`--- step 41 ---`) is an
//! iteration counter, `Progress::Counting`: a stuck agent numbers its steps too, so the
//! scorer only lets it protect a short burst. Keys (identifiers) and fractions (losses,
//! latencies) are never progress themselves, but a fraction that changes is the "something
//! else changes" (`texture`) that makes a unit counter real work: a loss next to a step.
//!
//! Parallel workers interleave their counters (`[w1] 120`, `[w2] 80`, `[w1] 121`), which is
//! only monotone per worker; so rises and falls are counted per group, where a group is the
//! combination of the template's categorical slots (few distinct values: the worker number,
//! its id, the `/1000` total, the epoch). A random latency printed as an integer rises and
//! falls about equally and never passes; a counter that cycles (`step 1/3, 2/3, 3/3, 1/3`)
//! falls once per turn and never passes either. Attempt numbers are excluded by the caller,
//! which knows the template's wording.
//!
//! Two readings need fewer lines. Parts of a whole done in whatever order workers finish
//! them (`[CV 2/5]`, `[CV 1/5]`, `[CV 3/5]`, then the next candidate's folds) are a walk
//! when each part is new to its group: a loop starting its parts over shows one again. And
//! a line that returns inside a repeating run — one evaluation line per hundred identical
//! warnings — has not returned `MIN_RISES` times by the time the run could be judged, so
//! `rises_at_every_return` asks only that its count rose at every return since the run
//! began, by more than one or beside another value that changes.
//!
//! The ring also says what no progress is but a loop does not print either (`replies`): how
//! many of a line's whole numbers are drawn afresh (new on most lines, going up and down: a
//! request's parameters), and whether an id has been new on every line.

use super::descent::{self, Descent};
use super::slots::{Reading, MAX_SLOTS};
use super::template;
use std::time::Duration;

/// Recent distinct readings kept per template.
pub const RING: usize = 32;

/// Rises needed before a plain count counts as progress.
const MIN_RISES: u32 = 3;

/// Falls needed before a count that only goes down is a countdown.
const MIN_FALLS: u32 = 2;

/// Readings a slot must have shown, going both up and down, before a new value inside the
/// range of the others is the same measurement again (`wanders`): four, the passes a
/// failing block must have shown.
const WANDER_VALUES: usize = 4;

/// How far from the level of an amount's other readings a new one may lie and still be the
/// same measurement (`within_the_others`): a fifth of it. A try that gets further moves by
/// more.
const LEVEL_SHARE: f64 = 0.2;

/// Distinct places a source location must have shown to be a walk over them.
const WALK_PLACES: usize = 4;

/// Readings a grid walk needs: with two parameters, enough for each to have come back to
/// a value (four values of the inner one, then the outer one's next, at the least).
const GRID_READINGS: usize = 5;

/// How a grid walk's protection begins, so the scorer can tell its words from a countdown's.
pub const GRID_WALK: &str = "a grid of parameters walked";

/// Worker groups told apart per slot.
const MAX_GROUPS: usize = 16;

/// What a template's numbers say about work being done, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Progress {
    None,
    /// A percentage that has shown one value only: a bar that has not started yet, or a
    /// loop that prints the same `[ 28%]` forever; the scorer gives it a few seconds.
    FrozenPercent,
    /// A percentage that has not risen (nor fallen) recently.
    StalledPercent,
    /// A counter rising by one per line with nothing else changing: an iteration number.
    Counting,
    /// A count that only goes down (remaining items, retries left, replicas pending): it is
    /// bounded below, so whatever repeats around it ends.
    Countdown,
    /// An iteration count that starts over while a measured value falls at every iteration
    /// of every start, each start from somewhere new (`descent`): an optimiser restarted
    /// from fresh starting points (`KMeans(n_init=10)`), not a pass done again.
    Descending,
    /// Source locations that keep moving in no fixed turn (`io.c:359`, `:360`, `:358`,
    /// `:361`, ...): a compiler or linter reporting on one place after another; or, in
    /// lines that do not fail, a numbered name new on every line (`test_bug_1661 ... ok`):
    /// one item after another. A loop re-runs the same code, so its places and names repeat
    /// every pass, or every few in a fixed turn.
    Walking,
    Advancing,
}

/// A duration in a repeating line that rises with the clock — the AGE of a pod that stays
/// Pending, a container's `Up 12 seconds (health: starting)`, `[10s elapsed]`: the age of
/// something being waited on, which a display redraws while nothing else moves. A loop's
/// own durations (`took 2.1s`) jitter; a wall-clock timestamp is a time, not a duration, and
/// is never read here. Rows of one template in the same pass may show different ages, so
/// the clock follows the largest value and starts over only below its first one, or when the
/// value stops keeping pace with the clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct ElapsedClock {
    first: Option<(f64, Duration)>,
    max: Option<(f64, Duration)>,
    rises: u32,
}

/// Rises an elapsed clock needs, and the time it must span.
const CLOCK_RISES: u32 = 3;
const CLOCK_SPAN: Duration = Duration::from_secs(3);

impl ElapsedClock {
    /// The age grew by the time that passed, give or take a quarter and the rounding of a
    /// display that prints whole seconds.
    fn keeps_pace(grew: f64, passed: f64) -> bool {
        (grew - passed).abs() <= 0.25 * passed + 1.5
    }

    pub fn record(&mut self, value: f64, at: Duration) {
        let Some((first, since)) = self.first else {
            *self = ElapsedClock {
                first: Some((value, at)),
                max: Some((value, at)),
                rises: 0,
            };
            return;
        };
        let (max, _) = self.max.unwrap_or((first, since));
        if value < first {
            *self = ElapsedClock::default();
            self.record(value, at);
        } else if value > max {
            if Self::keeps_pace(value - first, at.saturating_sub(since).as_secs_f64()) {
                self.max = Some((value, at));
                self.rises += 1;
            } else {
                *self = ElapsedClock::default();
                self.record(value, at);
            }
        }
    }

    /// `(first age, latest age, seconds between)` while the age keeps rising with the
    /// clock, last within `freshness`.
    pub fn rising(&self, now: Duration, freshness: Duration) -> Option<(f64, f64, f64)> {
        let ((first, since), (max, until)) = (self.first?, self.max?);
        let passed = until.saturating_sub(since);
        (self.rises >= CLOCK_RISES
            && passed >= CLOCK_SPAN
            && now.saturating_sub(until) <= freshness
            && Self::keeps_pace(max - first, passed.as_secs_f64()))
        .then_some((first, max, passed.as_secs_f64()))
    }
}

/// A count that went down: from `from` at `since` to `to` at `until`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Countdown {
    pub from: f64,
    pub to: f64,
    pub since: Duration,
    pub until: Duration,
}

impl Countdown {
    /// `countdown 75→41 in 20 s`, as protections are worded.
    pub fn describe(&self) -> String {
        format!(
            "countdown {}→{} in {:.0} s",
            self.from,
            self.to,
            self.until.saturating_sub(self.since).as_secs_f64()
        )
    }
}

impl Progress {
    pub fn name(self) -> &'static str {
        match self {
            Progress::None => "none",
            Progress::FrozenPercent => "frozen_percent",
            Progress::StalledPercent => "stalled_percent",
            Progress::Counting => "iteration_counter",
            Progress::Countdown => "countdown",
            Progress::Descending => "descending",
            Progress::Walking => "walking",
            Progress::Advancing => "advancing",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProgressRing {
    values: [[f64; MAX_SLOTS]; RING],
    times: [Duration; RING],
    len: usize,
    next: usize,
    percent: u8,
    ratio: u8,
    keys: u8,
    fractions: u8,
    names: u8,
    locations: u8,
}

impl Default for ProgressRing {
    fn default() -> ProgressRing {
        ProgressRing {
            values: [[f64::NAN; MAX_SLOTS]; RING],
            times: [Duration::ZERO; RING],
            len: 0,
            next: 0,
            percent: 0,
            ratio: 0,
            keys: 0,
            fractions: 0,
            names: 0,
            locations: 0,
        }
    }
}

fn same(a: &[f64; MAX_SLOTS], b: &[f64; MAX_SLOTS]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn has(mask: u8, slot: usize) -> bool {
    mask >> slot & 1 == 1
}

/// How one slot moved over the ring.
#[derive(Debug, Default)]
struct Trend {
    rises: u32,
    falls: u32,
    last_rise: Option<Duration>,
    last_fall: Option<Duration>,
    /// The first and the latest value seen, with their times.
    first: Option<(f64, Duration)>,
    latest: Option<(f64, Duration)>,
    /// Every rise was by exactly one.
    unit_rises: bool,
}

impl ProgressRing {
    /// Records a line's readings unless they equal the previous record.
    pub fn record(&mut self, reading: &Reading, at: Duration) {
        self.percent |= reading.percent;
        self.ratio |= reading.ratio;
        self.keys |= reading.keys;
        self.fractions |= reading.fractions;
        self.names |= reading.names;
        self.locations |= reading.locations;
        if self.len > 0 {
            let last = (self.next + RING - 1) % RING;
            if same(&self.values[last], &reading.values) {
                return;
            }
        }
        self.values[self.next] = reading.values;
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

    /// Distinct values per slot, counted up to 9.
    fn distinct(&self) -> [usize; MAX_SLOTS] {
        let mut out = [0; MAX_SLOTS];
        for (slot, distinct) in out.iter_mut().enumerate() {
            let mut seen = [0u64; 9];
            for (values, _) in self.ordered() {
                let v = values[slot];
                if v.is_nan() || seen[..*distinct].contains(&v.to_bits()) {
                    continue;
                }
                if *distinct == seen.len() {
                    break;
                }
                seen[*distinct] = v.to_bits();
                *distinct += 1;
            }
        }
        out
    }

    /// What the slots say at `now`; a rise older than `freshness` no longer counts.
    pub fn progress(&self, now: Duration, freshness: Duration) -> Progress {
        self.progress_besides(0, now, freshness)
    }

    /// Readings recorded at or after `since`: each one a change of the template's values
    /// (identifiers included) from the reading before it.
    pub fn changes_since(&self, since: Duration) -> usize {
        self.ordered().filter(|(_, at)| *at >= since).count()
    }

    /// Slots holding plain counts: not percentages, done parts, names, identifiers or
    /// fractions. In a block that reports a crash they are the restarts' own numbers — a
    /// fresh process id, a restart counter — never work.
    fn plain_counts(&self) -> u8 {
        !(self.percent | self.ratio | self.keys | self.fractions | self.names)
    }

    /// Progress that a restart cannot fake: percentages, done parts of ratios and numbered
    /// names (`shard-17`), with plain counts read as the restarts' own numbers.
    pub fn restart_progress(&self, now: Duration, freshness: Duration) -> Progress {
        self.progress_besides(self.plain_counts(), now, freshness)
    }

    /// True when a value other than identifiers and plain counts changes: what a restart
    /// loop's passes would show if they reported anything new.
    pub fn restart_texture(&self) -> bool {
        self.texture_besides(self.plain_counts(), &self.distinct())
    }

    /// `progress` with the slots of `skip` left out.
    fn progress_besides(&self, skip: u8, now: Duration, freshness: Duration) -> Progress {
        if self.len == 0 {
            return Progress::None;
        }
        let distinct = self.distinct();
        // Slots with few distinct values (workers, totals, epochs) group the others.
        let limit = (self.len / 2).clamp(1, 8);
        let categorical = distinct.map(|d| d > 0 && d <= limit);
        let mut best = Progress::None;
        let mut unit_counters = 0u8;
        for slot in (0..MAX_SLOTS).filter(|&s| !has(self.keys | self.fractions | skip, s)) {
            let trend = self.trend(slot, &categorical);
            let recent = trend
                .last_rise
                .is_some_and(|t| now.saturating_sub(t) <= freshness);
            let shaped = has(self.percent | self.ratio, slot);
            if shaped && recent && trend.rises >= 1 && trend.falls == 0 {
                return Progress::Advancing;
            }
            let steady = trend.rises >= MIN_RISES && trend.falls * 8 <= trend.rises;
            if !shaped && steady && recent {
                if !trend.unit_rises || has(self.names, slot) {
                    return Progress::Advancing;
                }
                unit_counters |= 1 << slot;
                best = best.max(Progress::Counting);
            }
            if has(self.percent, slot) && trend.falls == 0 {
                best = best.max(if distinct[slot] <= 1 {
                    Progress::FrozenPercent
                } else {
                    Progress::StalledPercent
                });
            }
        }
        if best == Progress::Counting && self.texture_besides(unit_counters, &distinct) {
            return Progress::Advancing;
        }
        if (0..MAX_SLOTS).any(|slot| has(self.locations, slot) && self.walks(slot, &distinct, now, freshness))
        {
            return Progress::Walking;
        }
        best
    }

    /// True when a numbered name (`test_bug_1661`, `/users/123`) has shown a new value on
    /// every line the ring holds, at least [`WALK_PLACES`] of them, the latest within
    /// `freshness`: one item after another, in whatever order (a test runner lists its tests
    /// sorted as text, so `test_bug_117612` comes before `test_bug_1661`). The caller asks
    /// only of lines that do not fail: a failing line with a fresh name each pass (`request
    /// req-5831 failed`) is a loop's.
    pub fn names_walk(&self, now: Duration, freshness: Duration) -> bool {
        let latest = self.ordered().last().map(|(_, at)| at);
        if self.len < WALK_PLACES || latest.is_none_or(|at| now.saturating_sub(at) > freshness) {
            return false;
        }
        (0..MAX_SLOTS)
            .filter(|&slot| has(self.names & !self.locations, slot))
            .any(|slot| {
                let mut values = [0u64; RING];
                let mut n = 0;
                for (v, _) in self.ordered().filter(|(v, _)| !v[slot].is_nan()) {
                    let bits = v[slot].to_bits();
                    if values[..n].contains(&bits) {
                        return false;
                    }
                    values[n] = bits;
                    n += 1;
                }
                n >= WALK_PLACES
            })
    }

    /// True when the done part of a `done/total` has shown a value new to its group on every
    /// line the ring holds, at least [`WALK_PLACES`] of them, the latest within `freshness`,
    /// and the groups hold two lines or more on average: the parts of a known whole being
    /// completed in whatever order parallel workers finish them (cross-validation folds
    /// `[CV 2/5]`, `[CV 1/5]`, `[CV 3/5]` under two workers, then the next candidate's), one
    /// item after another. A group is the combination of the line's other categorical values
    /// (the `/5`, a grid's parameters), as for worker counters. A loop that starts its parts
    /// over (`1/3, 2/3, 3/3, 1/3`) shows a part again in the same group. Parts are whole numbers:
    /// a done part with a decimal (`259.7/779.1 MB`) is an amount, whatever it reads.
    pub fn parts_walk(&self, now: Duration, freshness: Duration) -> bool {
        let latest = self.ordered().last().map(|(_, at)| at);
        if self.len < WALK_PLACES || latest.is_none_or(|at| now.saturating_sub(at) > freshness) {
            return false;
        }
        let distinct = self.distinct();
        let limit = (self.len / 2).clamp(1, 8);
        let categorical = distinct.map(|d| d > 0 && d <= limit);
        (0..MAX_SLOTS).filter(|&slot| has(self.ratio, slot)).any(|slot| {
            let mut seen = [(0u64, 0u64); RING];
            let mut groups = [0u64; RING];
            let (mut n, mut g) = (0, 0);
            for (values, _) in self.ordered().filter(|(v, _)| !v[slot].is_nan()) {
                // A part is numbered: `259.7/779.1 MB` is an amount of the whole, and
                // amounts that differ every time are no parts walked.
                if values[slot].fract() != 0.0 {
                    return false;
                }
                let key = (0..MAX_SLOTS)
                    .filter(|&other| other != slot && categorical[other])
                    .fold(template::FNV_OFFSET, |h, other| {
                        template::fnv_mix(h, values[other].to_bits())
                    });
                let part = (key, values[slot].to_bits());
                if seen[..n].contains(&part) {
                    return false;
                }
                seen[n] = part;
                n += 1;
                if !groups[..g].contains(&key) {
                    groups[g] = key;
                    g += 1;
                }
            }
            n >= WALK_PLACES && 2 * g <= n
        })
    }

    /// True when the line walks a grid: two values or more change, each drawn from a set
    /// its lines come back to (some value of each varying slot shown again over the ring:
    /// a value drawn afresh every time is no parameter of a grid), nested (only one of them
    /// changes at most steps), while their combination is new on every reading the ring
    /// holds, at least [`GRID_READINGS`] of them, the latest within `freshness`. A parameter
    /// search prints one line per fit (`[CV] END ....C=0.1, gamma=0.001; total time= 0.0s`,
    /// five folds alike, then `C=0.1, gamma=0.01`): each parameter takes a few values again
    /// and again, but no candidate comes back. A loop re-running one candidate shows one
    /// combination (the ring keeps only changes, so one reading, or the same few if a
    /// timing jitters), and a loop cycling through a few candidates shows them again.
    /// Identifiers, places, percentages and done parts are no parameters.
    pub fn grid_walk(&self, now: Duration, freshness: Duration) -> bool {
        self.grid_combinations(now, freshness).is_some()
    }

    /// `a grid of parameters walked: 2 values from small sets, 7 combinations each new`,
    /// as protections are worded, when the line walks a grid (`grid_walk`).
    pub fn grid_words(&self, now: Duration, freshness: Duration) -> Option<String> {
        let (parameters, combinations) = self.grid_combinations(now, freshness)?;
        Some(format!(
            "{GRID_WALK}: {parameters} values each from a small set, {combinations} combinations \
             each new (a parameter search)"
        ))
    }

    /// How many values vary and how many combinations the ring holds, when `grid_walk`.
    fn grid_combinations(&self, now: Duration, freshness: Duration) -> Option<(u32, usize)> {
        let latest = self.ordered().last().map(|(_, at)| at);
        if self.len < GRID_READINGS || latest.is_none_or(|at| now.saturating_sub(at) > freshness) {
            return None;
        }
        let parameters = !(self.keys | self.locations | self.percent | self.ratio);
        let mut varying = 0u8;
        for slot in (0..MAX_SLOTS).filter(|&s| has(parameters, s)) {
            let shown = self.ordered().filter(|(v, _)| !v[slot].is_nan()).count();
            if shown == 0 {
                continue;
            }
            if shown < self.len {
                return None;
            }
            let distinct = self.distinct_values(slot);
            if distinct >= 2 {
                if distinct == self.len {
                    return None;
                }
                varying |= 1 << slot;
            }
        }
        if varying.count_ones() < 2 || self.slots_changing_every_time(varying) > 1 {
            return None;
        }
        let mut combinations = [0u64; RING];
        for (n, (values, _)) in self.ordered().enumerate() {
            let combination = (0..MAX_SLOTS)
                .filter(|&s| has(parameters, s) && !values[s].is_nan())
                .fold(template::FNV_OFFSET, |h, s| {
                    template::fnv_mix(h, values[s].to_bits())
                });
            if combinations[..n].contains(&combination) {
                return None;
            }
            combinations[n] = combination;
        }
        Some((varying.count_ones(), self.len))
    }

    /// The first and latest value of a plain count that rose by exactly one at every
    /// reading since `since`, at least `returns` times: a counter of the passes themselves
    /// (`Initialization 4`, then `5`), read with nothing else in the line required to change.
    pub fn counted_passes(&self, since: Duration, returns: usize) -> Option<(f64, f64)> {
        let plain = self.plain_counts();
        (0..MAX_SLOTS).filter(|&s| has(plain, s)).find_map(|slot| {
            let mut readings = self
                .ordered()
                .filter(|(_, at)| *at >= since)
                .map(|(v, _)| v[slot]);
            let first = readings.next().filter(|v| !v.is_nan())?;
            let (mut latest, mut rises) = (first, 0);
            for v in readings {
                if v - latest != 1.0 {
                    return None;
                }
                (latest, rises) = (v, rises + 1);
            }
            (rises >= returns).then_some((first, latest))
        })
    }

    /// How many slots of `mask` changed at more than half of the steps from one reading to
    /// the next. A grid's parameters are nested: the innermost one changes at every
    /// candidate, the others only when the one inside them has gone round; a loop's own
    /// measurements (a loss, a throughput) and its step numbers change at every line.
    fn slots_changing_every_time(&self, mask: u8) -> usize {
        let steps = self.len.saturating_sub(1);
        (0..MAX_SLOTS)
            .filter(|&slot| has(mask, slot))
            .filter(|&slot| {
                let mut previous: Option<u64> = None;
                let mut changes = 0;
                for (values, _) in self.ordered() {
                    let bits = values[slot].to_bits();
                    changes += usize::from(previous.is_some_and(|p| p != bits));
                    previous = Some(bits);
                }
                2 * changes > steps
            })
            .count()
    }

    /// True when a count of this template rose at every one of its readings since `since`,
    /// at least two of them, and never fell there, by more than one at a time or next to
    /// another value that changes (`[200] valid_0's l2: 0.31` after `[100] ... 0.35`): a
    /// line that returns inside a repeating run with a higher count each time counts the
    /// run's passes of work. The ring needs [`MIN_RISES`] rises to call a count progress on
    /// its own; a line printed once per long pass (one evaluation per hundred warnings) has
    /// not returned that often by the time the run could be judged.
    pub fn rises_at_every_return(&self, since: Duration) -> bool {
        let mut readings = self.ordered().filter(|(_, at)| *at >= since);
        let Some((first, _)) = readings.next() else {
            return false;
        };
        let (mut previous, mut returns) = (*first, 0);
        let (mut rising, mut unit, mut changed) = (self.counts(), self.counts(), 0u8);
        for (values, _) in readings {
            returns += 1;
            for slot in 0..MAX_SLOTS {
                let (v, before) = (values[slot], previous[slot]);
                if v.partial_cmp(&before) != Some(std::cmp::Ordering::Greater) {
                    rising &= !(1 << slot);
                }
                if v - before != 1.0 {
                    unit &= !(1 << slot);
                }
                if v.to_bits() != before.to_bits() {
                    changed |= 1 << slot;
                }
            }
            previous = *values;
        }
        let texture = changed & !(self.keys | self.locations);
        returns >= 1
            && (0..MAX_SLOTS)
                .filter(|&s| has(rising, s))
                .any(|s| !has(unit, s) || texture & !(1 << s) != 0)
    }

    /// The restarts of an optimisation in this template's lines (`descent`), the latest
    /// within `freshness`: an iteration count that starts over while a measured value falls
    /// at every iteration of every start, each start from a value not seen before.
    pub fn restarted_descent(&self, now: Duration, freshness: Duration) -> Option<Descent> {
        let latest = self.ordered().last().map(|(_, at)| at)?;
        if now.saturating_sub(latest) > freshness {
            return None;
        }
        let counters =
            !(self.keys | self.fractions | self.locations | self.names | self.percent | self.ratio);
        let values = !(self.keys | self.locations | self.names);
        let readings: Vec<[f64; MAX_SLOTS]> = self.ordered().map(|(v, _)| *v).collect();
        descent::restarted_descent(&readings, counters, values)
    }

    /// Slots that may count work: not identifiers, fractions or source locations.
    fn counts(&self) -> u8 {
        !(self.keys | self.fractions | self.locations)
    }

    /// True when an identifier (a job's UUID, a request id) has been new on every line the
    /// ring holds, at least [`WALK_PLACES`] of them, the latest within `freshness`: one
    /// job after another, when the line says it finished one (the caller asks only of such
    /// lines, without failure words; a retry loop stamps fresh ids too, on lines that fail).
    pub fn ids_walk(&self, now: Duration, freshness: Duration) -> bool {
        let latest = self.ordered().last().map(|(_, at)| at);
        if self.len < WALK_PLACES || latest.is_none_or(|at| now.saturating_sub(at) > freshness) {
            return false;
        }
        (0..MAX_SLOTS)
            .filter(|&slot| has(self.keys, slot))
            .any(|slot| self.all_new(slot) >= WALK_PLACES)
    }

    /// How many values of a line are drawn afresh: whole numbers (not identifiers, source
    /// locations, percentages, done parts or decimal figures) that, over the ring (at least [`WALK_PLACES`] readings, the latest
    /// within `freshness`), took a new value on most readings and went both up and down —
    /// neither fixed, nor a counter, nor a few values in turn (workers, pids). A request's
    /// parameters (`WHERE aid = 80667`, `+ -695`) are; a loop prints its own fixed values,
    /// stamps, and measurements of its own work (decimal figures: a loss, a throughput).
    pub fn fresh_values(&self, now: Duration, freshness: Duration) -> usize {
        let latest = self.ordered().last().map(|(_, at)| at);
        if self.len < WALK_PLACES || latest.is_none_or(|at| now.saturating_sub(at) > freshness) {
            return 0;
        }
        (0..MAX_SLOTS)
            .filter(|&slot| {
                !has(
                    self.keys | self.locations | self.fractions | self.percent | self.ratio,
                    slot,
                )
            })
            .filter(|&slot| {
                let (mut rises, mut falls, mut last, mut n) = (0, 0, f64::NAN, 0);
                for (values, _) in self.ordered() {
                    let v = values[slot];
                    if v.is_nan() {
                        continue;
                    }
                    n += 1;
                    if v > last {
                        rises += 1;
                    } else if v < last {
                        falls += 1;
                    }
                    last = v;
                }
                n >= WALK_PLACES && rises >= 2 && falls >= 2 && 2 * self.distinct_values(slot) > n
            })
            .count()
    }

    /// Distinct values of `slot` over the ring.
    fn distinct_values(&self, slot: usize) -> usize {
        let mut values = [0u64; RING];
        let mut n = 0;
        for (v, _) in self.ordered().filter(|(v, _)| !v[slot].is_nan()) {
            let bits = v[slot].to_bits();
            if !values[..n].contains(&bits) {
                values[n] = bits;
                n += 1;
            }
        }
        n
    }

    /// Readings of `slot` (counted while each is new; 0 once one repeats).
    fn all_new(&self, slot: usize) -> usize {
        let readings = self.ordered().filter(|(v, _)| !v[slot].is_nan()).count();
        if self.distinct_values(slot) == readings {
            readings
        } else {
            0
        }
    }

    /// True when the source location in `slot` has shown at least [`WALK_PLACES`] places,
    /// moved within `freshness`, follows no fixed turn (no lag at which every value of the
    /// ring equals the one that lag before: a loop printing the same six warnings each pass
    /// has the lag six) and still finds new places (the newer half of the ring shows one the
    /// older half did not: a loop whose parallel build prints its warnings in another order
    /// each pass only revisits them).
    fn walks(&self, slot: usize, distinct: &[usize; MAX_SLOTS], now: Duration, freshness: Duration) -> bool {
        let mut places = [0f64; RING];
        let mut n = 0;
        let mut moved = None;
        for (values, at) in self.ordered() {
            let v = values[slot];
            if v.is_nan() {
                continue;
            }
            if n > 0 && places[n - 1].to_bits() != v.to_bits() {
                moved = Some(at);
            }
            places[n] = v;
            n += 1;
        }
        let places = &places[..n];
        let recent = moved.is_some_and(|t| now.saturating_sub(t) <= freshness);
        let turn = (1..=n / 2).any(|lag| (lag..n).all(|i| places[i].to_bits() == places[i - lag].to_bits()));
        let (older, newer) = places.split_at(n / 2);
        let finds_new = newer
            .iter()
            .any(|p| older.iter().all(|o| o.to_bits() != p.to_bits()));
        recent && distinct[slot] >= WALK_PLACES && !turn && finds_new
    }

    /// A count that only went down, at least [`MIN_FALLS`] times and last within
    /// `freshness`: remaining work, retries left, replicas still pending. Identifiers,
    /// fractions (latencies, losses) and names are never countdowns (a resolver trying
    /// `boto3-1.44.7`, `.6`, `.5` walks through items, which `names_walk` reads); a
    /// countdown that starts over (`retrying in 3, 2, 1, 3, ...`) rises once per turn and is
    /// none either.
    pub fn countdown(&self, now: Duration, freshness: Duration) -> Option<Countdown> {
        if self.len == 0 {
            return None;
        }
        let distinct = self.distinct();
        let limit = (self.len / 2).clamp(1, 8);
        let categorical = distinct.map(|d| d > 0 && d <= limit);
        (0..MAX_SLOTS)
            .filter(|&s| !has(self.keys | self.fractions | self.names, s))
            .find_map(|slot| {
                let t = self.trend(slot, &categorical);
                let recent = t.last_fall.is_some_and(|at| now.saturating_sub(at) <= freshness);
                let ((from, since), (to, until)) = (t.first?, t.latest?);
                (t.falls >= MIN_FALLS && t.rises * 8 <= t.falls && recent && to >= 0.0 && to < from)
                    .then_some(Countdown {
                        from,
                        to,
                        since,
                        until,
                    })
            })
    }

    /// True when some value other than identifiers changes in this template: a loss, a
    /// latency, a count that is not a plain iteration number.
    pub fn has_texture(&self) -> bool {
        self.texture_besides(self.unit_counter_slots(), &self.distinct())
    }

    /// True when a reading recorded from `from` to `to` shows, in a slot that could be
    /// texture (not an identifier, a source location or an iteration number), a value no
    /// earlier reading showed: something new. (A template's first reading is compared with
    /// nothing: a line first printed in the second pass of a loop, whose first pass ran in
    /// another thread, is not news.) A pass that repeats the passes before it shows
    /// only values they showed — a Java trace's `... 5 more` and `... 9 more`, or `... 25
    /// more` when the thread that fails takes another path — where a status block whose
    /// numbers advance shows new ones every pass. With `counters`, a plain count rising by
    /// one counts too: a number the loop's own passes would not bring unless it counts them.
    ///
    /// An amount that wanders is no news either. Where a slot of amounts (decimals with a
    /// unit, or the done part of a ratio: `260.9/779.1 MB`, `108.5 MB/s`) went both up and
    /// down over the ring, over `WANDER_VALUES` readings or more, a new value about the level
    /// of the others (`within_the_others`) is the same measurement again:
    /// where each try of a download broke, at what rate. An amount that moves on leaves the
    /// range as it climbs. Whole numbers count things, and a count that goes up and down is
    /// still news (`Found 3 errors`, then 2, then 4, as a developer edits); a fraction
    /// without a unit is a loss or a score, whose every new value is news too.
    pub fn news_between(&self, from: Duration, to: Duration, counters: bool) -> bool {
        let counted = if counters { 0 } else { self.unit_counter_slots() };
        let skip = self.keys | self.locations | counted;
        let readings: Vec<_> = self.ordered().collect();
        (0..MAX_SLOTS).filter(|&s| !has(skip, s)).any(|slot| {
            let column: Vec<f64> = readings.iter().map(|(values, _)| values[slot]).collect();
            let measured = !has(self.fractions, slot) && wanders(&column);
            readings.iter().enumerate().any(|(i, (values, at))| {
                let v = values[slot];
                (from..=to).contains(at)
                    && i > 0
                    && !v.is_nan()
                    && !readings[..i]
                        .iter()
                        .any(|(earlier, _)| earlier[slot].to_bits() == v.to_bits())
                    && !(measured && within_the_others(&column, i))
            })
        })
    }

    fn unit_counter_slots(&self) -> u8 {
        let distinct = self.distinct();
        let limit = (self.len / 2).clamp(1, 8);
        let categorical = distinct.map(|d| d > 0 && d <= limit);
        (0..MAX_SLOTS)
            .filter(|&s| !has(self.keys | self.fractions, s))
            .filter(|&s| !has(self.names, s))
            .filter(|&s| {
                let t = self.trend(s, &categorical);
                t.unit_rises && t.rises >= MIN_RISES && t.falls * 8 <= t.rises
            })
            .fold(0, |mask, s| mask | 1 << s)
    }

    /// Source locations are never texture: they are places, not values measured. A loop
    /// re-running a build or a lint that fails prints the same few in turn (a stack trace's
    /// frames, a file's problems), and a walk through new ones is progress of its own
    /// (`Walking`).
    fn texture_besides(&self, skip: u8, distinct: &[usize; MAX_SLOTS]) -> bool {
        (0..MAX_SLOTS).any(|s| !has(self.keys | self.locations | skip, s) && distinct[s] >= 2)
    }

    /// Rises and falls of `slot`, counted per worker group.
    fn trend(&self, slot: usize, categorical: &[bool; MAX_SLOTS]) -> Trend {
        let mut keys = [0u64; MAX_GROUPS];
        let mut last = [0f64; MAX_GROUPS];
        let mut groups = 0;
        let mut trend = Trend {
            unit_rises: true,
            ..Trend::default()
        };
        for (values, at) in self.ordered() {
            let v = values[slot];
            if v.is_nan() {
                continue;
            }
            trend.first.get_or_insert((v, at));
            trend.latest = Some((v, at));
            let key = (0..MAX_SLOTS)
                .filter(|&other| other != slot && categorical[other])
                .fold(template::FNV_OFFSET, |h, other| {
                    template::fnv_mix(h, values[other].to_bits())
                });
            match keys[..groups].iter().position(|&k| k == key) {
                Some(g) => {
                    if v > last[g] {
                        trend.rises += 1;
                        trend.last_rise = Some(at);
                        trend.unit_rises &= v - last[g] == 1.0;
                    } else if v < last[g] {
                        trend.falls += 1;
                        trend.last_fall = Some(at);
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
        trend.unit_rises &= trend.rises > 0;
        trend
    }
}

/// True when a slot's readings (in order, gaps as NaN) went both up and down over at least
/// `WANDER_VALUES` of them, some with a decimal part: an amount jittering about a level.
fn wanders(column: &[f64]) -> bool {
    let values: Vec<f64> = column.iter().copied().filter(|x| !x.is_nan()).collect();
    let rises = values.windows(2).filter(|w| w[1] > w[0]).count();
    let falls = values.windows(2).filter(|w| w[1] < w[0]).count();
    values.len() >= WANDER_VALUES && rises > 0 && falls > 0 && values.iter().any(|x| x.fract() != 0.0)
}

/// True when reading `i` of a slot lies about the level of its other readings: within their
/// range widened on each side by that range or by `LEVEL_SHARE` of their middle value,
/// whichever is more. A handful of readings of a jittering amount may bunch together, and
/// the next one falls a little beyond them.
fn within_the_others(column: &[f64], i: usize) -> bool {
    let mut others: Vec<f64> = column
        .iter()
        .enumerate()
        .filter(|&(j, x)| j != i && !x.is_nan())
        .map(|(_, &x)| x)
        .collect();
    if others.is_empty() {
        return false;
    }
    others.sort_by(f64::total_cmp);
    let (low, high, middle) = (others[0], others[others.len() - 1], others[others.len() / 2]);
    let margin = (high - low).max(LEVEL_SHARE * middle.abs());
    (low - margin..=high + margin).contains(&column[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_locations_that_move_in_no_fixed_turn_are_a_walk() {
        let located = |rows: &[&[f64]]| {
            ring_with(rows, |r| {
                r.names = 1;
                r.locations = 1;
            })
        };
        let walk: Vec<&[f64]> = [359.0, 360.0, 361.0, 358.0, 359.0, 360.0, 357.0, 358.0, 356.0]
            .iter()
            .map(std::slice::from_ref)
            .collect();
        let ring = located(&walk);
        assert_eq!(ring.progress(at_end(&walk), FRESH), Progress::Walking);
        // The same places in a fixed turn: a loop re-running the same code.
        let turn: Vec<&[f64]> = [12.0, 40.0, 77.0, 103.0, 150.0, 188.0]
            .iter()
            .cycle()
            .take(24)
            .map(std::slice::from_ref)
            .collect();
        assert_eq!(located(&turn).progress(at_end(&turn), FRESH), Progress::None);
        // The same places in another order every pass: revisited, never new.
        let shuffled: Vec<&[f64]> = [
            12.0, 40.0, 77.0, 103.0, 150.0, 40.0, 150.0, 12.0, 77.0, 103.0, 12.0, 103.0, 150.0, 40.0, 77.0,
            103.0, 77.0, 40.0, 150.0, 12.0, 150.0, 77.0, 103.0, 12.0, 40.0,
        ]
        .iter()
        .map(std::slice::from_ref)
        .collect();
        assert_eq!(
            located(&shuffled).progress(at_end(&shuffled), FRESH),
            Progress::None
        );
        // Too few places to tell a walk, and the same walk as a plain count.
        let few: Vec<&[f64]> = [359.0, 360.0, 358.0, 359.0, 358.0, 360.0, 359.0, 358.0]
            .iter()
            .map(std::slice::from_ref)
            .collect();
        assert_eq!(located(&few).progress(at_end(&few), FRESH), Progress::None);
        assert_eq!(
            ring_with(&walk, |_| {}).progress(at_end(&walk), FRESH),
            Progress::None
        );
    }

    #[test]
    fn a_count_going_down_is_a_countdown_even_between_repeats() {
        // "10 old replicas pending" printed a dozen times, then 9, then 8: the ring keeps
        // only changes, so the repeats do not hide the steps.
        let mut rows: Vec<&[f64]> = Vec::new();
        for n in [&[10.0][..], &[9.0], &[8.0], &[7.0]] {
            rows.extend(std::iter::repeat_n(n, 12));
        }
        let ring = ring(&rows);
        let countdown = ring.countdown(at_end(&rows), FRESH).expect("a countdown");
        assert_eq!((countdown.from, countdown.to), (10.0, 7.0));
        assert!(
            countdown.describe().starts_with("countdown 10→7 in "),
            "{}",
            countdown.describe()
        );
    }

    #[test]
    fn parts_of_a_whole_done_out_of_order_are_a_walk() {
        // `[CV 2/5] ... C=0.001`: the fold (done part), the total, the candidate's C.
        let ratio = |rows: &[&[f64]]| ring_with(rows, |r| (r.ratio, r.fractions) = (0b001, 0b100));
        let folds: Vec<[f64; 3]> = [2.0, 1.0, 3.0, 5.0, 4.0, 1.0, 2.0, 4.0, 3.0, 5.0]
            .iter()
            .enumerate()
            .map(|(i, &fold)| [fold, 5.0, if i < 5 { 0.001 } else { 0.0017 }])
            .collect();
        let rows = rows_of(&folds);
        assert!(ratio(&rows).parts_walk(at_end(&rows), FRESH));
        // Parts that start over with nothing else changing: a loop's `1/3, 2/3, 3/3, 1/3`.
        let over: Vec<[f64; 3]> = (0..12).map(|i| [f64::from(i % 3 + 1), 3.0, 0.5]).collect();
        let rows = rows_of(&over);
        assert!(!ratio(&rows).parts_walk(at_end(&rows), FRESH));
        // The same parts as plain counts are no parts of a whole.
        let rows = rows_of(&folds);
        assert!(!ring(&rows).parts_walk(at_end(&rows), FRESH));
        // Where each try of a download broke (`259.7/779.1 MB`): an amount, new every try.
        let amounts: Vec<[f64; 3]> = [259.7, 265.1, 257.3, 248.0, 269.2]
            .iter()
            .map(|&done| [done, 779.1, 0.5])
            .collect();
        let rows = rows_of(&amounts);
        assert!(!ratio(&rows).parts_walk(at_end(&rows), FRESH));
    }

    #[test]
    fn an_amount_jittering_about_one_level_is_no_news() {
        // One reading a try: where the download broke and its rate (`259.7/779.1 MB 95.3
        // MB/s`), the done part and the rate amounts with a unit.
        let tries = [
            [259.7, 779.1, 95.3],
            [265.1, 779.1, 101.1],
            [257.3, 779.1, 91.5],
            [248.0, 779.1, 99.0],
            [269.2, 779.1, 93.8],
        ];
        let amounts = |rows: &[&[f64]]| ring_with(rows, |r| r.ratio = 0b001);
        let rows = rows_of(&tries);
        let since_second = Duration::from_millis(100);
        assert!(!amounts(&rows).news_between(since_second, Duration::MAX, false));
        // Too few readings to tell jitter from a move: the third try is still news.
        let rows = rows_of(&tries[..3]);
        assert!(amounts(&rows).news_between(since_second, Duration::MAX, false));
        // A transfer that gets further on its last try leaves the range.
        let mut further = tries;
        further[4][0] = 412.6;
        let rows = rows_of(&further);
        assert!(amounts(&rows).news_between(Duration::from_millis(400), Duration::MAX, false));
        // Whole numbers count things: `Found 3 errors`, then 2, 4, 1, 5 as a developer edits.
        let found: Vec<[f64; 1]> = [3.0, 2.0, 4.0, 1.0, 5.0].iter().map(|&n| [n]).collect();
        let rows = rows_of(&found);
        assert!(ring(&rows).news_between(since_second, Duration::MAX, false));
        // A loss is a fraction without a unit: every new value of it is news.
        let losses: Vec<[f64; 1]> = [0.52, 0.48, 0.55, 0.47, 0.5].iter().map(|&n| [n]).collect();
        let rows = rows_of(&losses);
        let loss = ring_with(&rows, |r| r.fractions = 0b1);
        assert!(loss.news_between(since_second, Duration::MAX, false));
    }

    #[test]
    fn nested_parameters_combined_anew_are_a_grid_walk() {
        // `[CV] END ....C=0.1, gamma=0.001`: the ring keeps one reading per candidate.
        let grid: Vec<[f64; 2]> = [0.1, 1.0, 10.0]
            .iter()
            .flat_map(|&c| [0.001, 0.01, 0.1, 1.0].map(|g| [c, g]))
            .collect();
        let fractions = |rows: &[&[f64]]| ring_with(rows, |r| r.fractions = 0b11);
        let rows = rows_of(&grid);
        let walk = fractions(&rows);
        assert!(walk.grid_walk(at_end(&rows), FRESH));
        assert_eq!(walk.progress(at_end(&rows), FRESH), Progress::None, "no counter");
        assert_eq!(
            walk.grid_words(at_end(&rows), FRESH).as_deref(),
            Some("a grid of parameters walked: 2 values each from a small set, 12 combinations each new (a parameter search)")
        );
        // As soon as the inner value has come back once: four candidates and the fifth.
        let rows = rows_of(&grid[..5]);
        assert!(fractions(&rows).grid_walk(at_end(&rows), FRESH));
        let rows = rows_of(&grid[..4]);
        assert!(
            !fractions(&rows).grid_walk(at_end(&rows), FRESH),
            "no value came back yet"
        );
        // The same few candidates in turn: a combination comes back.
        let turn: Vec<[f64; 2]> = (0..12)
            .map(|i| [[0.1, 1.0, 10.0][i % 3], [0.001, 0.01, 0.001][i % 3]])
            .collect();
        let rows = rows_of(&turn);
        assert!(!fractions(&rows).grid_walk(at_end(&rows), FRESH));
        // One candidate whose timing jitters: its readings alternate, and come back.
        let jitter: Vec<[f64; 3]> = (0..12).map(|i| [0.1, 0.001, f64::from(i % 2) / 10.0]).collect();
        let rows = rows_of(&jitter);
        assert!(!ring_with(&rows, |r| r.fractions = 0b111).grid_walk(at_end(&rows), FRESH));
        // One parameter alone is a walk of names or a counter, read elsewhere.
        let single: Vec<[f64; 2]> = (0..12).map(|i| [f64::from(i % 4), 5.0]).collect();
        let rows = rows_of(&single);
        assert!(!ring(&rows).grid_walk(at_end(&rows), FRESH));
        // A loop's step numbers beside its own measurements change at every line, and a
        // rounded loss may come back: not nested, so no grid.
        let steps: Vec<[f64; 2]> = (0..16)
            .map(|i| {
                [
                    4002.0 + 2.0 * f64::from(i % 4),
                    [1.87, 1.93, 1.81, 1.87, 1.95][i as usize % 5],
                ]
            })
            .collect();
        let rows = rows_of(&steps);
        assert!(!ring_with(&rows, |r| r.fractions = 0b10).grid_walk(at_end(&rows), FRESH));
        // Values drawn afresh every time (a randomised search's) come from no small set.
        let fresh: Vec<[f64; 2]> = (0..8)
            .map(|i| [0.37 * f64::from(i) + 0.01, 3.1 - 0.2 * f64::from(i)])
            .collect();
        let rows = rows_of(&fresh);
        assert!(!fractions(&rows).grid_walk(at_end(&rows), FRESH));
        // An old walk is no progress now.
        let rows = rows_of(&grid);
        assert!(!walk.grid_walk(at_end(&rows) + 2 * FRESH, FRESH));
    }

    #[test]
    fn a_count_rising_by_one_every_pass_counts_passes() {
        let starts: Vec<[f64; 1]> = (0..6).map(|i| [f64::from(i)]).collect();
        let rows = rows_of(&starts);
        assert_eq!(ring(&rows).counted_passes(Duration::ZERO, 3), Some((0.0, 5.0)));
        assert_eq!(ring(&rows).counted_passes(Duration::ZERO, 6), None, "five rises");
        let skipping: Vec<[f64; 1]> = [0.0, 1.0, 2.0, 4.0, 5.0].map(|v| [v]).to_vec();
        let rows = rows_of(&skipping);
        assert_eq!(ring(&rows).counted_passes(Duration::ZERO, 3), None);
        let fraction = ring_with(&rows_of(&starts), |r| r.fractions = 1);
        assert_eq!(
            fraction.counted_passes(Duration::ZERO, 3),
            None,
            "a measurement counts no passes"
        );
    }

    #[test]
    fn a_line_returning_with_a_higher_count_each_time_counts_passes() {
        let since = Duration::ZERO;
        // `[100] valid_0's l2: 0.81`, `[200] ... 0.33`: twice is enough.
        let eval = ring_with(&[&[100.0, 0.0, 0.81], &[200.0, 0.0, 0.33]], |r| {
            (r.names, r.fractions) = (0b010, 0b100)
        });
        assert!(eval.rises_at_every_return(since));
        assert!(
            !eval.rises_at_every_return(Duration::from_millis(50)),
            "once since then"
        );
        // A bare iteration number rising by one is not a pass of work by itself.
        assert!(!ring(&[&[41.0], &[42.0], &[43.0]]).rises_at_every_return(since));
        assert!(ring(&[&[41.0, 7.0], &[42.0, 9.0]]).rises_at_every_return(since));
        // A count that fell since is no counter of passes; nor are identifiers.
        assert!(!ring(&[&[120.0], &[300.0], &[80.0]]).rises_at_every_return(since));
        let keys = ring_with(&[&[5e9], &[7e9]], |r| r.keys = 1);
        assert!(!keys.rises_at_every_return(since));
    }

    #[test]
    fn a_countdown_that_starts_over_is_not_one() {
        let rows: Vec<&[f64]> = [&[3.0][..], &[2.0], &[1.0]]
            .iter()
            .copied()
            .cycle()
            .take(30)
            .collect();
        assert_eq!(ring(&rows).countdown(at_end(&rows), FRESH), None);
        let once: Vec<&[f64]> = vec![&[5.0], &[4.0]];
        assert_eq!(
            ring(&once).countdown(at_end(&once), FRESH),
            None,
            "one step is not a trend"
        );
    }

    const FRESH: Duration = Duration::from_secs(10);

    fn ring_with(rows: &[&[f64]], mask: impl Fn(&mut Reading)) -> ProgressRing {
        let mut ring = ProgressRing::default();
        for (i, row) in rows.iter().enumerate() {
            let mut r = Reading {
                values: [f64::NAN; MAX_SLOTS],
                ..Reading::default()
            };
            r.values[..row.len()].copy_from_slice(row);
            mask(&mut r);
            ring.record(&r, Duration::from_millis(100 * i as u64));
        }
        ring
    }

    fn ring(rows: &[&[f64]]) -> ProgressRing {
        ring_with(rows, |_| {})
    }

    fn at_end(rows: &[&[f64]]) -> Duration {
        Duration::from_millis(100 * rows.len() as u64)
    }

    fn progress(rows: &[&[f64]]) -> Progress {
        ring(rows).progress(at_end(rows), FRESH)
    }

    fn rows_of<const N: usize>(rows: &[[f64; N]]) -> Vec<&[f64]> {
        rows.iter().map(|r| &r[..]).collect()
    }

    #[test]
    fn a_counter_is_progress() {
        assert_eq!(
            progress(&[&[10.0], &[20.0], &[30.0], &[40.0]]),
            Progress::Advancing
        );
        assert_eq!(
            progress(&[&[1200.0, 7.0], &[1210.0, 7.0], &[1220.0, 7.0], &[1230.0, 7.0]]),
            Progress::Advancing
        );
    }

    #[test]
    fn a_bare_unit_counter_is_an_iteration_number() {
        assert_eq!(
            progress(&[&[41.0], &[42.0], &[43.0], &[44.0]]),
            Progress::Counting
        );
        // Numbered items (`module_41.c`) are work, not iterations.
        let items = ring_with(&[&[41.0], &[42.0], &[43.0], &[44.0]], |r| r.names = 1);
        assert_eq!(items.progress(Duration::from_secs(1), FRESH), Progress::Advancing);
        // With a loss that changes next to it, the same counter is a training step.
        let ml = ring_with(&[&[1.0, 0.9], &[2.0, 0.7], &[3.0, 0.8], &[4.0, 0.6]], |r| {
            r.fractions = 0b10
        });
        assert_eq!(ml.progress(Duration::from_secs(1), FRESH), Progress::Advancing);
        // A fresh request id each line is not "something else changing".
        let agent = ring_with(&[&[1.0, 5e9], &[2.0, 7e9], &[3.0, 1e9], &[4.0, 3e9]], |r| {
            r.keys = 0b10
        });
        assert_eq!(agent.progress(Duration::from_secs(1), FRESH), Progress::Counting);
        assert!(!agent.has_texture());
        assert!(ml.has_texture());
    }

    #[test]
    fn a_constant_or_cycling_value_is_not() {
        assert_eq!(
            progress(&[&[5.0], &[5.0], &[5.0], &[5.0], &[5.0]]),
            Progress::None
        );
        let cycling: Vec<[f64; 1]> = (0..24).map(|i| [f64::from(i % 3 + 1)]).collect();
        assert_eq!(progress(&rows_of(&cycling)), Progress::None);
    }

    #[test]
    fn random_values_are_not_progress() {
        let latencies = [
            412.0, 87.0, 230.0, 95.0, 301.0, 66.0, 250.0, 140.0, 390.0, 120.0, 75.0, 333.0,
        ];
        let rows: Vec<[f64; 1]> = latencies.iter().map(|&v| [v]).collect();
        assert_eq!(progress(&rows_of(&rows)), Progress::None);
    }

    #[test]
    fn interleaved_workers_advance_per_worker() {
        let mut rows = Vec::new();
        for step in 0..8 {
            for (worker, offset) in [(1.0, 500.0), (2.0, 100.0), (3.0, 300.0), (4.0, 50.0)] {
                rows.push([worker, offset + f64::from(step) * 7.0, 1000.0]);
            }
        }
        assert_eq!(progress(&rows_of(&rows)), Progress::Advancing);
        // Told apart by an identifier key instead of a number, counting shards one by one.
        let mut rows = Vec::new();
        let mut done = [10.0, 500.0, 90.0];
        for i in 0..30 {
            let w = i * 7 % 3;
            done[w] += 1.0;
            rows.push([1e15 + w as f64, done[w]]);
        }
        let ring = ring_with(&rows_of(&rows), |r| r.keys = 0b1);
        assert_eq!(ring.progress(Duration::from_secs(3), FRESH), Progress::Counting);
        let ring = ring_with(&rows_of(&rows), |r| (r.keys, r.ratio) = (0b1, 0b10));
        assert_eq!(ring.progress(Duration::from_secs(3), FRESH), Progress::Advancing);
    }

    #[test]
    fn a_slow_percentage_survives_fast_redraws() {
        let mut rows = Vec::new();
        for percent in 40..46 {
            for _ in 0..20 {
                rows.push([f64::from(percent)]);
            }
        }
        let ring = ring_with(&rows_of(&rows), |r| r.percent = 1);
        assert_eq!(ring.len(), 6, "identical redraws are recorded once");
        assert_eq!(ring.progress(Duration::from_secs(12), FRESH), Progress::Advancing);
    }

    #[test]
    fn one_rise_of_a_percentage_is_enough_and_a_stuck_one_is_stalled() {
        let at = Duration::from_secs(1);
        let pct = |rows: &[&[f64]]| ring_with(rows, |r| r.percent = 1);
        assert_eq!(
            pct(&[&[0.0], &[0.0], &[1.0]]).progress(at, FRESH),
            Progress::Advancing
        );
        assert_eq!(
            ring(&[&[0.0], &[0.0], &[1.0]]).progress(at, FRESH),
            Progress::None
        );
        // One value only: frozen (the scorer protects it for a few seconds), not stalled.
        assert_eq!(
            pct(&[&[0.0], &[0.0]]).progress(at, FRESH),
            Progress::FrozenPercent
        );
        assert_eq!(pct(&[&[50.0], &[10.0]]).progress(at, FRESH), Progress::None);
        let later = Duration::from_secs(60);
        assert_eq!(
            pct(&[&[0.0], &[1.0]]).progress(later, FRESH),
            Progress::StalledPercent
        );
    }

    #[test]
    fn stalled_progress_goes_stale() {
        let ring = ring(&[&[10.0], &[20.0], &[30.0], &[40.0]]);
        assert_eq!(ring.progress(Duration::from_secs(5), FRESH), Progress::Advancing);
        assert_eq!(ring.progress(Duration::from_secs(30), FRESH), Progress::None);
    }

    #[test]
    fn the_ring_never_grows_past_its_size() {
        let rows: Vec<[f64; 1]> = (0..500).map(|i| [f64::from(i)]).collect();
        assert_eq!(ring(&rows_of(&rows)).len(), RING);
    }
}
