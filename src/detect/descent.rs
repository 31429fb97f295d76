//! Is a repeating block an optimiser restarted from new starting points?
//!
//! Multi-start optimisation repeats itself by design: scikit-learn's `KMeans(n_init=10,
//! verbose=1)` prints `Initialization complete`, `Iteration 0, inertia 13481.7.`,
//! `Iteration 1, inertia 9734.2.`, `Converged at iteration 1` once per start, and when every
//! start converges in as many iterations the block repeats as exactly as any loop's. What
//! makes it work rather than a loop is what its numbers do. Within one start the iteration
//! count rises and the measured value (an inertia, a loss, an objective) falls at every
//! iteration: the optimiser descends. And each start begins somewhere new: the first value
//! of every start differs from every other's, because each start is drawn afresh; the
//! starts may well end on the same value (they converge to the same optimum). A loop that
//! re-runs the same failing step prints the same numbers every pass, or numbers that jitter
//! up and down (`loss 1.93`, `1.87`, `1.95`, then `loss nan`), never a fall at every step of
//! every pass from a start it never showed before.
//!
//! So [`restarted_descent`] reads a template's recent readings (the progress ring's, oldest
//! first) for a counter slot and a value slot where the counter rises within a run and
//! drops at a restart, the value falls at every step of every run, at least [`MIN_STARTS`]
//! runs of two readings or more are seen, and their starting values are all distinct. The
//! caller asks only of lines that report no failure and count no attempts.
//!
//! A start need not begin anywhere new to be a start. `GaussianMixture(n_init=10,
//! verbose=2)` on data with one clear optimum prints `Initialization 3`, `Iteration 1 ...
//! ll change inf`, `Iteration 2 ... ll change 0.00000`, `Initialization converged.` for
//! every start, the same numbers each time but the start's own number. What tells it from a
//! loop is that it says so: the line that opens each pass numbers the starts, one more at
//! every pass since the block began repeating, and another line of the pass says the start
//! converged (`wording`: `converged`, not `not converged` or `converged: False`); nothing in
//! it fails, retries or crashes. Such a counter may also be a loop's own pass counter, so it
//! protects a handful of starts only: [`counted_restarts`] answers up to
//! [`MAX_COUNTED_STARTS`], as many as a multi-start fit asks for, and a block numbering more
//! passes than that is judged like any other.

use super::slots::MAX_SLOTS;

/// Runs of two readings or more needed to call it restarts, the first one (which the ring
/// may have cut) included.
pub const MIN_STARTS: usize = 3;

/// Restarts of one optimisation, in numbers for the protection's words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Descent {
    /// Runs seen (each a start of the optimiser).
    pub starts: usize,
    /// The latest complete run's first and last value.
    pub from: f64,
    pub to: f64,
}

impl Descent {
    /// `an optimisation restarted from 5 new starting points, falling at every iteration
    /// (latest 17288 → 9734)`, as protections are worded.
    pub fn describe(&self) -> String {
        format!(
            "an optimisation restarted from {} new starting points, its value falling at every \
             iteration of each (latest {} → {})",
            self.starts,
            significant(self.from),
            significant(self.to)
        )
    }
}

/// The highest start number a counted restart protects: multi-start fits ask for a few to a
/// few dozen starts (`n_init=10`); a pass counter beyond this is a loop's.
pub const MAX_COUNTED_STARTS: f64 = 50.0;

/// Starts of an optimisation numbered by a counter, each one converging.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CountedRestarts {
    pub first: f64,
    pub latest: f64,
}

impl CountedRestarts {
    /// `an optimisation restarted, each start converging (starts 2 → 7 numbered)`.
    pub fn describe(&self) -> String {
        format!(
            "an optimisation restarted, each start converging (starts numbered {} → {})",
            self.first, self.latest
        )
    }
}

/// The restarts a pass counter (`first` to `latest`, one more at every pass) numbers in a
/// block that says each start converged, while it numbers no more than
/// [`MAX_COUNTED_STARTS`].
pub fn counted_restarts(first: f64, latest: f64) -> Option<CountedRestarts> {
    (latest <= MAX_COUNTED_STARTS).then_some(CountedRestarts { first, latest })
}

/// A value with about five significant digits, for the protection's words.
fn significant(v: f64) -> String {
    if v != 0.0 && v.abs() < 1.0 {
        format!("{v:.5}")
    } else {
        format!("{v:.0}")
    }
}

/// One run of a counter and its value: where it started, where it is, how many readings.
#[derive(Clone, Copy)]
struct Run {
    first: f64,
    last: f64,
    readings: usize,
}

/// The restarts of an optimisation in `readings` (oldest first), if any pair of slots shows
/// one: a slot of `counters` that rises within each run and falls at each restart, and
/// another slot of `values` that falls at every reading of every run; at least
/// [`MIN_STARTS`] runs of two readings or more, every run but the latest (still going) of
/// two or more, and the starting values of the runs after the first (which the ring may
/// have cut) all distinct.
pub fn restarted_descent(readings: &[[f64; MAX_SLOTS]], counters: u8, values: u8) -> Option<Descent> {
    let has = |mask: u8, slot: usize| mask >> slot & 1 == 1;
    (0..MAX_SLOTS)
        .filter(|&c| has(counters, c))
        .flat_map(|c| {
            (0..MAX_SLOTS)
                .filter(move |&v| v != c && has(values, v))
                .map(move |v| (c, v))
        })
        .find_map(|(c, v)| descent_of(readings, c, v))
}

fn descent_of(readings: &[[f64; MAX_SLOTS]], c: usize, v: usize) -> Option<Descent> {
    let mut runs: Vec<Run> = Vec::new();
    let mut previous_count = f64::NAN;
    for reading in readings {
        let (count, value) = (reading[c], reading[v]);
        if count.is_nan() || value.is_nan() {
            return None;
        }
        match runs.last_mut() {
            Some(run) if count > previous_count => {
                if value >= run.last {
                    return None;
                }
                run.last = value;
                run.readings += 1;
            }
            _ => runs.push(Run {
                first: value,
                last: value,
                readings: 1,
            }),
        }
        previous_count = count;
    }
    let (latest, complete) = runs.split_last()?;
    let long = runs.iter().filter(|r| r.readings >= 2).count();
    if long < MIN_STARTS || complete.iter().any(|r| r.readings < 2) {
        return None;
    }
    let mut starts: Vec<u64> = runs[1..].iter().map(|r| r.first.to_bits()).collect();
    starts.sort_unstable();
    let distinct = starts.windows(2).all(|w| w[0] != w[1]);
    let shown = if latest.readings >= 2 {
        latest
    } else {
        complete.last()?
    };
    distinct.then_some(Descent {
        starts: runs.len(),
        from: shown.first,
        to: shown.last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(f64, f64)]) -> Vec<[f64; MAX_SLOTS]> {
        pairs
            .iter()
            .map(|&(count, value)| {
                let mut r = [f64::NAN; MAX_SLOTS];
                r[0] = count;
                r[1] = value;
                r
            })
            .collect()
    }

    fn descent(pairs: &[(f64, f64)]) -> Option<Descent> {
        let rows = rows(pairs);
        restarted_descent(&rows, 0b01, 0b10)
    }

    #[test]
    fn starts_that_each_descend_from_somewhere_new_are_restarts() {
        // KMeans(n_init=10, verbose=1): `Iteration 0, inertia 13481.7.`, `Iteration 1,
        // inertia 9734.2.`, per start; every start converges on the same inertia.
        let kmeans = [
            (0.0, 13481.7),
            (1.0, 9734.2),
            (0.0, 14935.2),
            (1.0, 9734.2),
            (0.0, 17821.9),
            (1.0, 9734.2),
            (0.0, 19174.4),
        ];
        let found = descent(&kmeans).expect("restarts");
        assert_eq!(found.starts, 4);
        assert_eq!((found.from, found.to), (17821.9, 9734.2));
        assert!(
            found
                .describe()
                .starts_with("an optimisation restarted from 4 new starting points"),
            "{}",
            found.describe()
        );
        // Runs of different lengths, and the first one cut by the ring.
        let uneven = [
            (5.0, 86133.8),
            (6.0, 86131.7),
            (0.0, 67852.2),
            (1.0, 40500.1),
            (0.0, 80206.3),
            (1.0, 41000.0),
            (2.0, 40600.5),
            (3.0, 40500.1),
        ];
        assert!(descent(&uneven).is_some());
    }

    #[test]
    fn a_counter_numbers_a_handful_of_restarts_only() {
        let found = counted_restarts(0.0, 9.0).expect("ten starts");
        assert_eq!(
            found.describe(),
            "an optimisation restarted, each start converging (starts numbered 0 → 9)"
        );
        assert!(counted_restarts(3.0, MAX_COUNTED_STARTS).is_some());
        assert_eq!(
            counted_restarts(3.0, MAX_COUNTED_STARTS + 1.0),
            None,
            "a loop's pass counter"
        );
    }

    #[test]
    fn the_same_pass_again_or_values_that_jitter_are_no_restarts() {
        // A loop re-running the same deterministic step: the same start every pass.
        let same = [
            (0.0, 5.0),
            (1.0, 3.0),
            (0.0, 5.0),
            (1.0, 3.0),
            (0.0, 5.0),
            (1.0, 3.0),
        ];
        assert_eq!(descent(&same), None);
        // A loss that goes up and down within a pass (the steps before a NaN and a reload).
        let jitter = [
            (4002.0, 1.93),
            (4004.0, 1.87),
            (4006.0, 1.95),
            (4008.0, 1.81),
            (4002.0, 1.88),
            (4004.0, 1.92),
            (4006.0, 1.84),
            (4008.0, 1.90),
        ];
        assert_eq!(descent(&jitter), None);
        // One long descent is no restart (the ring reads it as a counter); two starts are
        // not enough; a start that stopped at its first reading is no run of work.
        let one = [(0.0, 9.0), (1.0, 8.0), (2.0, 7.0), (3.0, 6.0)];
        assert_eq!(descent(&one), None);
        let two = [(0.0, 9.0), (1.0, 8.0), (0.0, 7.0), (1.0, 6.0)];
        assert_eq!(descent(&two), None);
        let stub = [
            (0.0, 9.0),
            (1.0, 8.0),
            (0.0, 7.0),
            (0.0, 7.5),
            (1.0, 6.0),
            (0.0, 9.5),
            (1.0, 6.0),
        ];
        assert_eq!(descent(&stub), None);
        // A value that rises while the counter rises is no descent (a backoff growing).
        let rising = [
            (1.0, 1.0),
            (2.0, 2.0),
            (1.0, 1.5),
            (2.0, 3.0),
            (1.0, 1.2),
            (2.0, 2.4),
        ];
        assert_eq!(descent(&rising), None);
    }
}
