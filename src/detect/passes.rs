//! Slow passes: output that arrives in bursts with seconds of silence between them, compared
//! burst by burst for what they print rather than line by line.
//!
//! A retry loop that sleeps between attempts prints each attempt at once and then nothing:
//! the silence cuts its output into passes. The cycle trackers need every pass to repeat the
//! one before exactly, line for line; a Java client's failure is not so tidy. Which thread
//! completes the failed request decides which frames its stack trace shows (27 lines one
//! pass, 44 the next, in no fixed order), and its `... N more` counts differ with them. What
//! stays is the pass's shape: it begins with the same line, and most of its templates are
//! the ones the pass before printed. So each burst is kept as the set of its templates (and
//! its first template, its times, whether it printed a template new to the run), and
//! `alike` reports the run of bursts at the tail that begin alike and share at least half
//! their templates with the burst before (`ALIKE_SHARE`). The latest burst may still be in
//! progress; it counts as begun once its first line is the run's.
//!
//! Nothing here judges whether such a run is a loop (error wording, words of waiting,
//! values that advance are the scorer's and the template table's); it only says which
//! bursts are alike and when each began. Memory is bounded: `KEPT` bursts of at most
//! `MAX_TEMPLATES` templates each.

use std::collections::VecDeque;
use std::time::Duration;

/// A silence this long between two lines ends a burst: a job that sleeps between attempts.
/// A display redrawn every second by `sleep 1` falls just under it with its own work, and a
/// second is long against the few milliseconds a pass takes to print.
pub const PASS_SILENCE: Duration = Duration::from_millis(1000);

/// Bursts remembered: a run of five alike ones and the one before it.
const KEPT: usize = 6;

/// Distinct templates kept per burst (a pass longer than this is compared on its first ones).
const MAX_TEMPLATES: usize = 256;

/// Least share of a burst's templates that the burst before printed too, and the reverse.
const ALIKE_SHARE: f64 = 0.5;

/// One burst of output.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    pub started: Duration,
    pub latest: Duration,
    /// The template of its first line.
    pub first: u64,
    /// Its distinct templates, sorted.
    pub templates: Vec<u64>,
    pub lines: u64,
    /// It printed a template new to the run.
    pub novel: bool,
}

impl Burst {
    fn new(template: u64, at: Duration, novel: bool) -> Burst {
        Burst {
            started: at,
            latest: at,
            first: template,
            templates: vec![template],
            lines: 1,
            novel,
        }
    }

    fn add(&mut self, template: u64, at: Duration, novel: bool) {
        self.latest = at;
        self.lines += 1;
        self.novel |= novel;
        if let Err(i) = self.templates.binary_search(&template) {
            if self.templates.len() < MAX_TEMPLATES {
                self.templates.insert(i, template);
            }
        }
    }

    /// Share of the smaller burst's templates that the other one printed too.
    fn shared(&self, other: &Burst) -> f64 {
        let common = self
            .templates
            .iter()
            .filter(|t| other.templates.binary_search(t).is_ok())
            .count();
        common as f64 / self.templates.len().max(other.templates.len()).max(1) as f64
    }
}

/// Bursts at the tail that begin alike and print mostly the same templates.
#[derive(Debug, Clone, PartialEq)]
pub struct AlikeBursts {
    /// Oldest first; the last one may still be in progress.
    pub bursts: Vec<Burst>,
}

impl AlikeBursts {
    /// The bursts, the latest (perhaps still printing) included.
    pub fn passes(&self) -> u64 {
        self.bursts.len() as u64
    }

    /// Every template the bursts printed, each once.
    pub fn templates(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self
            .bursts
            .iter()
            .flat_map(|b| b.templates.iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The times between the starts of consecutive bursts, oldest first.
    pub fn intervals(&self) -> Vec<f64> {
        self.bursts
            .windows(2)
            .map(|w| w[1].started.saturating_sub(w[0].started).as_secs_f64())
            .collect()
    }
}

#[derive(Debug, Default)]
pub struct Passes {
    recent: VecDeque<Burst>,
}

impl Passes {
    /// One text line and whether its template is new to the run.
    pub fn push_line(&mut self, template: u64, at: Duration, novel: bool) {
        match self.recent.back_mut() {
            Some(burst) if at.saturating_sub(burst.latest) < PASS_SILENCE => burst.add(template, at, novel),
            _ => {
                if self.recent.len() == KEPT {
                    self.recent.pop_front();
                }
                self.recent.push_back(Burst::new(template, at, novel));
            }
        }
    }

    /// The run of alike bursts at the tail, if it holds two or more.
    pub fn alike(&self) -> Option<AlikeBursts> {
        let latest = self.recent.back()?;
        let mut start = self.recent.len() - 1;
        while start > 0 {
            let (earlier, later) = (&self.recent[start - 1], &self.recent[start]);
            // The latest burst may be printing still: its first line is all it must share.
            let complete = start + 1 < self.recent.len();
            let alike = later.first == earlier.first && (!complete || later.shared(earlier) >= ALIKE_SHARE);
            if !alike {
                break;
            }
            start -= 1;
        }
        let bursts: Vec<Burst> = self.recent.range(start..).cloned().collect();
        (bursts.len() >= 2 && bursts.last() == Some(latest)).then_some(AlikeBursts { bursts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_pass(bursts: &mut Passes, templates: &[u64], at: f64) {
        for (i, &t) in templates.iter().enumerate() {
            bursts.push_line(t, Duration::from_secs_f64(at + 0.001 * i as f64), false);
        }
    }

    #[test]
    fn bursts_of_two_shapes_that_begin_alike_are_one_run() {
        let short: Vec<u64> = (1..=27).collect();
        let long: Vec<u64> = (1..=22).chain(100..120).collect();
        let mut bursts = Passes::default();
        for (n, pass) in [&short, &short, &long, &short, &long, &short].iter().enumerate() {
            push_pass(&mut bursts, pass, 2.0 * n as f64);
        }
        let alike = bursts.alike().expect("alike bursts");
        assert_eq!(alike.passes(), 6);
        assert_eq!(alike.intervals(), vec![2.0; 5]);
        assert_eq!(alike.templates().len(), 27 + 20);
    }

    #[test]
    fn lines_closer_than_the_silence_are_one_burst() {
        let mut bursts = Passes::default();
        for i in 0..50 {
            bursts.push_line(7, Duration::from_millis(900 * i), false);
        }
        assert!(bursts.alike().is_none(), "one burst of 50 lines");
    }

    #[test]
    fn another_beginning_or_other_templates_end_the_run() {
        let mut bursts = Passes::default();
        push_pass(&mut bursts, &[1, 2, 3, 4], 0.0);
        push_pass(&mut bursts, &[9, 2, 3, 4], 2.0);
        push_pass(&mut bursts, &[9, 2, 3, 4], 4.0);
        assert_eq!(bursts.alike().map(|a| a.passes()), Some(2));
        push_pass(&mut bursts, &[9, 5, 6, 7], 6.0);
        push_pass(&mut bursts, &[9, 5, 6, 7], 8.0);
        assert_eq!(
            bursts.alike().map(|a| a.passes()),
            Some(2),
            "a burst sharing only its first line with the one before starts a new run"
        );
    }
}
