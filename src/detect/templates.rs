//! Everything remembered per template, in bounded memory.
//!
//! Each template seen recently has an entry: its wording (error words, attempt words, read
//! once from its first line), a short example for the explanation, an exponentially decayed
//! line count (half-life = half the detection window, so "share of recent lines" needs no
//! per-line history), and its progress ring. The table holds at most `MAX_TEMPLATES`
//! entries; when full, the older half by last sighting is dropped at once, so eviction costs
//! O(1) amortised and a loop's own templates, seen a moment ago, always survive.
//!
//! Novelty ("never seen in this run") must outlive eviction, so it is answered by a fixed
//! 128 KiB bit set with two probes per template (a Bloom filter): no false "new", and about
//! 3 % false "seen" after a hundred thousand distinct templates, which only makes novelty
//! slightly less eager to veto.

use super::measures::{MeasureRing, Movement};
use super::progress::{ElapsedClock, Progress, ProgressRing};
use super::slots::{Reading, Slots};
use super::template::Shape;
use super::wording::Wording;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

/// Templates kept at once.
pub const MAX_TEMPLATES: usize = 1024;

/// Bytes of template text kept as an example.
pub const EXAMPLE_LIMIT: usize = 160;

const SEEN_BITS: usize = 1 << 20;

/// Template hashes are already FNV-1a: hash them again only by passing them through.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug)]
pub struct TemplateInfo {
    pub wording: Wording,
    pub example: Box<str>,
    /// The template without its symbols (equal for the frames of a spinner).
    pub skeleton: u64,
    /// A line of this template reported what a model call used (`prompt_tokens`, a cost).
    pub model_call: bool,
    /// A line of this template carried an identifier (a call id, a request id, a pid).
    pub carries_id: bool,
    /// The interval the line says it is printed at (`(every 0.2s)`, a traced wait's
    /// timeout), in seconds.
    pub interval: Option<f64>,
    pub last_seen: Duration,
    weight: f64,
    progress: Option<Box<ProgressRing>>,
    /// The readings of its lines, when they carry two or more (`measures`).
    measures: Option<Box<MeasureRing>>,
    clock: ElapsedClock,
}

impl TemplateInfo {
    /// What this template's numbers say about work done; counters next to error or attempt
    /// wording count attempts, not work.
    /// A count going down is progress whatever the wording: `(12 retries left)` next to
    /// `FAILED` ends within twelve more passes.
    pub fn progress(&self, now: Duration, freshness: Duration) -> Progress {
        match &self.progress {
            Some(ring) if ring.countdown(now, freshness).is_some() => Progress::Countdown,
            Some(ring) if !self.wording.error && !self.wording.attempt => {
                let progress = ring.progress(now, freshness);
                if progress < Progress::Descending && ring.restarted_descent(now, freshness).is_some() {
                    Progress::Descending
                } else if progress < Progress::Walking
                    && (ring.names_walk(now, freshness)
                        || ring.parts_walk(now, freshness)
                        || ring.grid_walk(now, freshness))
                {
                    Progress::Walking
                } else {
                    progress
                }
            }
            _ => Progress::None,
        }
    }

    /// True when this template's lines came back with a higher count every time since
    /// `since` (at least twice), and do not report a failure or count attempts: the counter
    /// of a pass of work, read before the ring could call it progress on its own.
    pub fn returns_counting(&self, since: Duration) -> bool {
        !self.wording.error
            && !self.wording.attempt
            && self
                .progress
                .as_ref()
                .is_some_and(|ring| ring.rises_at_every_return(since))
    }

    /// The first and latest value of a counter of this template's lines that rose by one
    /// at every return since `since`, at least `returns` times, in lines that report no
    /// failure and count no attempts (`ProgressRing::counted_passes`).
    pub fn counted_passes(&self, since: Duration, returns: usize) -> Option<(f64, f64)> {
        if self.wording.error || self.wording.attempt {
            return None;
        }
        self.progress.as_ref()?.counted_passes(since, returns)
    }

    /// What this template's numbers say when each of its lines stands for one item: a
    /// counter next to failure words is the item that failed (`skipping row 1042: invalid
    /// date`), unless the line counts attempts. Only a loop whose every line fails may read
    /// its counters so (`loop_progress`: one line, or lines that each advance an item of
    /// their own); in a pass where another line does the work, a number in its failing
    /// line counts the passes.
    pub fn item_progress(&self, now: Duration, freshness: Duration) -> Progress {
        match &self.progress {
            Some(ring) if ring.countdown(now, freshness).is_some() => Progress::Countdown,
            Some(ring) if !self.wording.attempt => ring.progress(now, freshness),
            _ => Progress::None,
        }
    }

    /// What a countdown or an optimisation's restarts in this template's lines show, in
    /// words for the protection (`countdown 75→41 in 20 s`, `an optimisation restarted from
    /// 4 new starting points, ...`).
    pub fn progress_words(&self, now: Duration, freshness: Duration) -> Option<String> {
        let ring = self.progress.as_ref()?;
        ring.countdown(now, freshness).map(|c| c.describe()).or_else(|| {
            (!self.wording.error && !self.wording.attempt)
                .then(|| ring.restarted_descent(now, freshness))
                .flatten()
                .map(|d| d.describe())
                .or_else(|| ring.grid_words(now, freshness))
        })
    }

    /// An age in the line rising with the clock, in words (`an age rising with the clock,
    /// 3 s → 15 s in 12 s`).
    pub fn clock(&self, now: Duration, freshness: Duration) -> Option<String> {
        let (from, to, over) = self.clock.rising(now, freshness)?;
        Some(format!(
            "an age rising with the clock ({from:.0} s → {to:.0} s in {over:.0} s): a display of a wait"
        ))
    }

    /// How many values of this template's lines are drawn afresh on most lines (a
    /// request's parameters; `ProgressRing::fresh_values`).
    pub fn fresh_values(&self, now: Duration, freshness: Duration) -> usize {
        self.progress
            .as_ref()
            .map_or(0, |ring| ring.fresh_values(now, freshness))
    }

    /// True when each line of this template names something by an identifier new to the
    /// template, and nothing fails: with a line that says it finished, one job after
    /// another (`replies`).
    pub fn fresh_ids(&self, now: Duration, freshness: Duration) -> bool {
        !self.wording.error
            && !self.wording.attempt
            && self
                .progress
                .as_ref()
                .is_some_and(|ring| ring.ids_walk(now, freshness))
    }

    /// True when a value other than identifiers and iteration numbers changes.
    pub fn has_texture(&self) -> bool {
        self.progress.as_ref().is_some_and(|ring| ring.has_texture())
    }

    /// True when a reading since `since` shows a value no earlier one did
    /// (`ProgressRing::news_between`): the pass reports something new. With `counters`, an
    /// iteration number counts too, unless the line says it counts attempts (`attempt 7`).
    pub fn news_since(&self, since: Duration, counters: bool) -> bool {
        self.news_between(since, Duration::MAX, counters)
    }

    /// `news_since` for the lines printed from `from` to `to`.
    pub fn news_between(&self, from: Duration, to: Duration, counters: bool) -> bool {
        let counters = counters && !self.wording.attempt;
        self.progress
            .as_ref()
            .is_some_and(|ring| ring.news_between(from, to, counters))
    }

    /// What this template's numbers say in a block that reports a crash: its plain counts
    /// are the restarts' own (a fresh pid, `restart counter is at 7`), so only percentages,
    /// done parts and numbered names count, and a countdown (`3 restarts left`).
    pub fn restart_progress(&self, now: Duration, freshness: Duration) -> Progress {
        match &self.progress {
            Some(ring) if ring.countdown(now, freshness).is_some() => Progress::Countdown,
            Some(ring) => ring.restart_progress(now, freshness),
            None => Progress::None,
        }
    }

    /// How many times this template's values (identifiers included) changed at or after
    /// `since`: a fresh pid or container id on every pass of a restart loop.
    pub fn changes_since(&self, since: Duration) -> usize {
        self.progress.as_ref().map_or(0, |ring| ring.changes_since(since))
    }

    /// How this template's readings moved since `since` (`measures`): a sampler's move on
    /// their own.
    pub fn movement(&self, since: Duration) -> Movement {
        self.measures
            .as_ref()
            .map_or(Movement::default(), |ring| ring.movement(since))
    }

    /// `has_texture` in a block that reports a crash: plain counts left out.
    pub fn restart_texture(&self) -> bool {
        self.progress.as_ref().is_some_and(|ring| ring.restart_texture())
    }
}

/// What the table learned from one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// First time this template appears in the run.
    pub new_in_run: bool,
    pub error: bool,
    /// The line names one file and nothing else (`Wording::file_header`).
    pub file_header: bool,
    /// The line is a warning about the work (`Wording::advisory`).
    pub advisory: bool,
}

pub struct TemplateTable {
    entries: HashMap<u64, TemplateInfo, BuildHasherDefault<PassThrough>>,
    seen: Vec<u64>,
    total_weight: f64,
    total_at: Duration,
    half_life_s: f64,
}

fn decay(weight: f64, from: Duration, to: Duration, half_life_s: f64) -> f64 {
    let age = to.saturating_sub(from).as_secs_f64();
    weight * (-age / half_life_s).exp2()
}

impl TemplateTable {
    pub fn new(half_life: Duration) -> TemplateTable {
        TemplateTable {
            entries: HashMap::default(),
            seen: vec![0; SEEN_BITS / 64],
            total_weight: 0.0,
            total_at: Duration::ZERO,
            half_life_s: half_life.as_secs_f64().max(0.1),
        }
    }

    /// Marks `hash` as seen; true if it was not seen before.
    fn first_sighting(&mut self, hash: u64) -> bool {
        let probes = [
            hash as usize % SEEN_BITS,
            (hash >> 40 ^ hash.rotate_left(17)) as usize % SEEN_BITS,
        ];
        let mut new = false;
        for bit in probes {
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            new |= self.seen[word] & mask == 0;
            self.seen[word] |= mask;
        }
        new
    }

    /// Records one line of template `shape`. `describe` is called only for a template not
    /// in the table, to read its wording and example.
    pub fn observe(
        &mut self,
        shape: Shape,
        at: Duration,
        slots: &Slots,
        describe: impl FnOnce() -> (Wording, Box<str>),
    ) -> Observed {
        let hash = shape.template;
        let new_in_run = self.first_sighting(hash);
        self.total_weight = decay(self.total_weight, self.total_at, at, self.half_life_s) + 1.0;
        self.total_at = self.total_at.max(at);
        if !self.entries.contains_key(&hash) && self.entries.len() >= MAX_TEMPLATES {
            self.evict_older_half();
        }
        let half_life_s = self.half_life_s;
        let info = self.entries.entry(hash).or_insert_with(|| {
            let (wording, example) = describe();
            TemplateInfo {
                wording,
                example,
                skeleton: shape.skeleton,
                model_call: false,
                carries_id: false,
                // A traced wait's timeout is the pace its trace keeps (`syscall`).
                interval: wording.traced_wait.flatten().map(|ms| f64::from(ms) / 1000.0),
                last_seen: at,
                weight: 0.0,
                progress: None,
                measures: None,
                clock: ElapsedClock::default(),
            }
        });
        info.weight = decay(info.weight, info.last_seen, at, half_life_s) + 1.0;
        info.last_seen = info.last_seen.max(at);
        info.model_call |= slots.model_usage;
        info.carries_id |= slots.has_key();
        if info.wording.every {
            info.interval = slots.elapsed.filter(|&s| s > 0.0);
        }
        if let Some(elapsed) = slots.elapsed {
            info.clock.record(elapsed, at);
        }
        if slots.measures().len() >= 2 {
            info.measures
                .get_or_insert_with(Box::default)
                .record(slots.measures(), at);
        }
        if slots.len() > 0 {
            let reading = Reading::of(slots);
            if !reading.is_empty() {
                info.progress
                    .get_or_insert_with(Box::default)
                    .record(&reading, at);
            }
        }
        Observed {
            new_in_run,
            error: info.wording.error,
            file_header: info.wording.file_header,
            advisory: info.wording.advisory(),
        }
    }

    fn evict_older_half(&mut self) {
        let mut times: Vec<Duration> = self.entries.values().map(|e| e.last_seen).collect();
        let middle = times.len() / 2;
        let (_, median, _) = times.select_nth_unstable(middle);
        let median = *median;
        self.entries.retain(|_, e| e.last_seen > median);
        if self.entries.len() >= MAX_TEMPLATES {
            self.entries.clear();
        }
    }

    pub fn get(&self, hash: u64) -> Option<&TemplateInfo> {
        self.entries.get(&hash)
    }

    /// Templates last seen after `since`, with their hashes.
    pub fn seen_since(&self, since: Duration) -> impl Iterator<Item = (u64, &TemplateInfo)> {
        self.entries
            .iter()
            .filter(move |(_, t)| t.last_seen > since)
            .map(|(&h, t)| (h, t))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Share of recent lines (decayed count) that belong to `hashes`.
    pub fn share(&self, hashes: &[u64], now: Duration) -> f64 {
        let total = decay(self.total_weight, self.total_at, now, self.half_life_s);
        if total <= 0.0 {
            return 0.0;
        }
        let mut counted: Vec<u64> = hashes.to_vec();
        counted.sort_unstable();
        counted.dedup();
        let part: f64 = counted
            .iter()
            .filter_map(|h| self.entries.get(h))
            .map(|e| decay(e.weight, e.last_seen, now, self.half_life_s))
            .sum();
        (part / total).clamp(0.0, 1.0)
    }

    /// The `n` templates with the most recent lines, most frequent first.
    pub fn top(&self, n: usize, now: Duration) -> Vec<u64> {
        let mut ranked: Vec<(f64, u64)> = self
            .entries
            .iter()
            .map(|(&h, e)| (decay(e.weight, e.last_seen, now, self.half_life_s), h))
            .collect();
        ranked.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.into_iter().take(n).map(|(_, h)| h).collect()
    }
}

/// The example kept for a template: its text, cut at a character boundary.
pub fn example(template_text: &[u8]) -> Box<str> {
    let cut = &template_text[..template_text.len().min(EXAMPLE_LIMIT)];
    let text = String::from_utf8_lossy(cut);
    let text = text.trim_end_matches('\u{fffd}');
    text.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn shape(h: u64) -> Shape {
        Shape {
            template: h,
            skeleton: h,
        }
    }

    fn plain() -> (Wording, Box<str>) {
        (Wording::default(), "t".into())
    }

    #[test]
    fn novelty_is_remembered_across_eviction() {
        let mut table = TemplateTable::new(secs(5.0));
        let slots = Slots::default();
        assert!(table.observe(shape(7), secs(0.0), &slots, plain).new_in_run);
        assert!(!table.observe(shape(7), secs(0.1), &slots, plain).new_in_run);
        for h in 100..(100 + 3 * MAX_TEMPLATES as u64) {
            table.observe(shape(h), secs(1.0 + h as f64 / 1e4), &slots, plain);
            assert!(table.len() <= MAX_TEMPLATES);
        }
        assert!(table.get(7).is_none(), "long unseen templates are evicted");
        assert!(!table.observe(shape(7), secs(9.0), &slots, plain).new_in_run);
    }

    #[test]
    fn shares_follow_recent_lines() {
        let mut table = TemplateTable::new(secs(5.0));
        let slots = Slots::default();
        for i in 0..90 {
            table.observe(shape(1), secs(i as f64 * 0.01), &slots, plain);
        }
        for i in 0..10 {
            table.observe(shape(2), secs(0.9 + i as f64 * 0.01), &slots, plain);
        }
        let now = secs(1.0);
        assert!((table.share(&[1], now) - 0.9).abs() < 0.02);
        assert!((table.share(&[1, 2, 2], now) - 1.0).abs() < 1e-9);
        assert_eq!(table.top(1, now), vec![1]);
        // Twenty seconds later the old lines have faded to a few percent of their weight.
        for i in 0..10 {
            table.observe(shape(2), secs(20.0 + i as f64 * 0.01), &slots, plain);
        }
        assert_eq!(table.top(2, secs(20.1)), vec![2, 1]);
        assert!(table.share(&[2], secs(20.1)) > 0.55);
    }

    #[test]
    fn describe_runs_once_per_template() {
        let mut table = TemplateTable::new(secs(5.0));
        let slots = Slots::default();
        let mut calls = 0;
        for i in 0..5 {
            table.observe(shape(3), secs(i as f64), &slots, || {
                calls += 1;
                (
                    Wording {
                        error: true,
                        ..Wording::default()
                    },
                    "boom".into(),
                )
            });
        }
        assert_eq!(calls, 1);
        assert!(table.observe(shape(3), secs(6.0), &slots, plain).error);
        assert_eq!(
            &*table.get(3).map(|t| t.example.clone()).unwrap_or_default(),
            "boom"
        );
    }

    #[test]
    fn examples_are_cut_at_a_character_boundary() {
        let long = "é".repeat(200);
        let cut = example(long.as_bytes());
        assert!(cut.len() <= EXAMPLE_LIMIT);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
