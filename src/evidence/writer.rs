//! The recorder: evidence off the supervisor's hot path, and nothing critical lost silently.
//!
//! The supervisor loop is single-threaded and stands between the child and its terminal;
//! if it waits for a disk, the child's output stalls. So [`Recorder::record`] and
//! [`Recorder::record_sample`] only push into channels and return: no lock that I/O holds,
//! no syscall beyond what a channel send needs. A writer thread owns the SQLite connection
//! and batches whatever arrived into one transaction every 100 ms (sooner once 500 rows
//! wait), which is also what makes SQLite fast.
//!
//! Two channels, because the two kinds of rows deserve different failure modes:
//! - samples arrive every tick and are only useful in bulk, so their channel is bounded (a
//!   count of queued samples in [`Shared`], checked before each send): when the writer
//!   falls behind they are dropped and counted, and memory stays bounded however long the
//!   database is stuck. Not a `sync_channel`: that allocates and touches every slot at
//!   once, work on every run's start for a queue that is almost always empty;
//! - every other category (lifecycle, decision, action, outcome, control, alert, error) is
//!   rare and is the explanation of an intervention, so it goes through an unbounded
//!   channel and is never dropped: the writer keeps it in a backlog until a commit succeeds.
//!
//! When the database is locked, slow or unwritable, the writer (`batcher.rs`) keeps
//! retrying the backlog, drops samples meanwhile, and logs one warning for the whole run
//! rather than one per event. [`Recorder::finish`] sends the run's end and waits up to a
//! deadline; if the backlog is still not written, it takes the backlog (and whatever is
//! still in the channel) away from the writer and prints it to stderr as NDJSON, in the
//! shape of `flowforge events --json`. An event whose commit lands after the deadline may
//! therefore appear both on stderr and in the database; it never appears in neither.
//!
//! Opening the store is not free either: creating or migrating the file, WAL recovery and
//! the run's first commit take milliseconds, more than supervising `true` does. So a run
//! starts its recorder with [`Recorder::start_background`], which returns at once and lets
//! the writer thread open the database and insert the run's row while the child is being
//! spawned; what is recorded meanwhile waits in the channels, and [`Recorder::run_id`] is
//! `None` until the row exists. If the open fails, the writer warns once and the recorder
//! behaves like [`Recorder::spill_only`]. Only `--require-db` uses the synchronous
//! [`Recorder::start`], so that a database it cannot use stops the run before it starts.
//!
//! Without a database there are two degenerate recorders: [`Recorder::disabled`] for
//! `--no-db`, and [`Recorder::spill_only`], which keeps critical events in memory for the
//! spill.

use super::batcher::{self, lock, spill_events, Msg, OpenState, Shared, Start};
use super::error::EvidenceError;
use super::event::{Category, Event};
use super::redact;
use super::{NewRun, RunEnd, RunId, SampleRow};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Samples waiting for the writer; at one per second this is 17 minutes of them.
const SAMPLE_QUEUE: usize = 1024;
/// How long `run_id` waits for a background open still in progress.
const RUN_ID_WAIT: Duration = Duration::from_millis(50);

/// What `finish` can say about the run's evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinishReport {
    /// The run's row, if it was ever inserted.
    pub run_id: Option<RunId>,
    /// Critical events committed to the database.
    pub written_events: u64,
    pub written_samples: u64,
    /// Samples recorded but never written (queue full, database failing, no database).
    pub dropped_samples: u64,
    /// Critical events printed to stderr as NDJSON because they could not be written.
    pub spilled_events: u64,
    /// Whether the run's end (exit code, outcome) reached the `runs` row.
    pub run_end_written: bool,
}

/// The supervisor's handle on the evidence store. `Send + Sync`; recording never blocks.
pub struct Recorder {
    inner: Inner,
    samples_recorded: AtomicU64,
    /// Every event goes through the redactor before it is queued (unless `--no-redact`).
    redact: bool,
    /// Samples refused by a full queue (the writer was behind), for live metrics.
    samples_refused: AtomicU64,
}

enum Inner {
    /// `--no-db`: nothing is recorded.
    Disabled,
    /// The database could not be opened: critical events wait in memory for the spill.
    SpillOnly {
        held: Mutex<Vec<Event>>,
    },
    Live(Live),
}

struct Live {
    path: PathBuf,
    events: Sender<Msg>,
    samples: Sender<SampleRow>,
    inbox: Arc<Mutex<Receiver<Msg>>>,
    shared: Arc<Shared>,
    /// Events sent after the writer thread went away; spilled at finish.
    orphans: Mutex<Vec<Event>>,
}

impl Recorder {
    /// Opens (creating and migrating) the database, writes the run's row so its id is
    /// known, and starts the writer thread. For `--require-db`: a database that cannot be
    /// used is an error before the run starts.
    pub fn start(path: &Path, run: NewRun) -> Result<(Recorder, RunId), EvidenceError> {
        let (conn, run_id) = batcher::open_run(path, &run)?;
        let redact = run.redact;
        let recorder = Recorder::live(path, Start::Opened(conn, run_id), OpenState::Open(run_id))
            .map_err(|source| EvidenceError::Thread { source })?
            .redacting(redact);
        log::debug!("run {run_id}: recording to {}", path.display());
        Ok((recorder, run_id))
    }

    /// Returns at once; the writer thread opens (creating and migrating) the database and
    /// writes the run's row while the caller spawns the child. Events, samples and the pid
    /// recorded meanwhile are queued and written once the row exists. If the database
    /// cannot be used, the writer logs one warning naming the file and the fix, and the
    /// recorder acts like [`Recorder::spill_only`]: critical events are printed as NDJSON
    /// by `finish`, samples are dropped and counted.
    pub fn start_background(path: &Path, run: NewRun) -> Recorder {
        let redact = run.redact;
        match Recorder::live(path, Start::Open(run), OpenState::Opening) {
            Ok(recorder) => recorder.redacting(redact),
            Err(e) => {
                log::warn!(
                    "{}",
                    batcher::open_failed_warning(path, &EvidenceError::Thread { source: e })
                );
                Recorder::spill_only().redacting(redact)
            }
        }
    }

    fn live(path: &Path, start: Start, open_state: OpenState) -> io::Result<Recorder> {
        let (events, inbox) = mpsc::channel();
        let (samples, sample_rx) = mpsc::channel();
        let inbox = Arc::new(Mutex::new(inbox));
        let shared = Arc::new(Shared::new(open_state));
        let (thread_inbox, thread_shared) = (Arc::clone(&inbox), Arc::clone(&shared));
        batcher::spawn(start, path.to_path_buf(), thread_inbox, sample_rx, thread_shared)?;
        let live = Live {
            path: path.to_path_buf(),
            events,
            samples,
            inbox,
            shared,
            orphans: Mutex::new(Vec::new()),
        };
        Ok(Recorder::with(Inner::Live(live)))
    }

    /// For `--no-db`: records nothing, spills nothing.
    pub fn disabled() -> Recorder {
        Recorder::with(Inner::Disabled)
    }

    /// For a database that could not be opened without `--require-db`: keeps critical
    /// events in memory and prints them as NDJSON at `finish`; samples are dropped.
    pub fn spill_only() -> Recorder {
        Recorder::with(Inner::SpillOnly {
            held: Mutex::new(Vec::new()),
        })
    }

    fn with(inner: Inner) -> Recorder {
        Recorder {
            inner,
            samples_recorded: AtomicU64::new(0),
            redact: true,
            samples_refused: AtomicU64::new(0),
        }
    }

    /// Turns redaction of recorded events on or off (`--no-redact`).
    pub fn redacting(mut self, on: bool) -> Recorder {
        self.redact = on;
        self
    }

    /// Whether recorded events are redacted.
    pub fn redacts(&self) -> bool {
        self.redact
    }

    /// The run's id once its row is in the database. After `start_background` the open
    /// may still be in progress: this then waits up to 50 ms for it and answers `None` if
    /// it has not completed, failed, or there is no database. Callers name the run in an
    /// intervention's message (`flowforge show N`), never on the supervisor's hot path, and
    /// fall back to `last`.
    pub fn run_id(&self) -> Option<RunId> {
        match &self.inner {
            Inner::Live(live) => match live.shared.wait_open(RUN_ID_WAIT) {
                OpenState::Open(run_id) => Some(run_id),
                OpenState::Opening | OpenState::Failed | OpenState::Gone => None,
            },
            _ => None,
        }
    }

    /// Queues an event, redacted. Never blocks; `Category::Sample` events go to `samples`.
    pub fn record(&self, mut event: Event) {
        if event.category == Category::Sample {
            return self.record_sample(&SampleRow::from_event(&event));
        }
        if self.redact && !matches!(self.inner, Inner::Disabled) {
            redact::redact_event(&mut event);
        }
        match &self.inner {
            Inner::Disabled => {}
            Inner::SpillOnly { held } => lock(held).push(event),
            Inner::Live(live) => {
                if let Err(mpsc::SendError(Msg::Event(event))) = live.events.send(Msg::Event(event)) {
                    lock(&live.orphans).push(event);
                }
            }
        }
    }

    /// Queues a sample. Never blocks; dropped (and counted) when the writer is behind.
    pub fn record_sample(&self, sample: &SampleRow) {
        if let Inner::Disabled = self.inner {
            return;
        }
        self.samples_recorded.fetch_add(1, Ordering::Relaxed);
        if let Inner::Live(live) = &self.inner {
            // Full or disconnected: either way the sample is dropped, and the run's end
            // (and finish) count dropped samples as recorded minus written.
            live.shared.recorded_samples.fetch_add(1, Ordering::SeqCst);
            let queued = &live.shared.queued_samples;
            let room = queued.fetch_add(1, Ordering::SeqCst) < SAMPLE_QUEUE;
            if !room || live.samples.send(*sample).is_err() {
                queued.fetch_sub(1, Ordering::SeqCst);
                self.samples_refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Samples dropped so far because the writer was behind; `finish` reports the exact
    /// total, which also counts samples lost to failing writes.
    pub fn samples_refused(&self) -> u64 {
        self.samples_refused.load(Ordering::Relaxed)
    }

    /// The run's id if its row is already in the database, without waiting (for the
    /// supervisor loop, which must not block on a background open).
    pub fn run_id_now(&self) -> Option<RunId> {
        match &self.inner {
            Inner::Live(live) => match live.shared.wait_open(Duration::ZERO) {
                OpenState::Open(run_id) => Some(run_id),
                OpenState::Opening | OpenState::Failed | OpenState::Gone => None,
            },
            _ => None,
        }
    }

    /// Asks the writer to apply `policy` once the run has lasted a moment (see
    /// `retention`); nothing happens without a database.
    pub fn apply_retention(&self, policy: super::retention::Policy) {
        if let Inner::Live(live) = &self.inner {
            let _ = live.events.send(Msg::Retention(policy));
        }
    }

    /// Records the child's pid on the run row, for a recorder started before the spawn.
    pub fn set_pid(&self, pid: u32) {
        if let Inner::Live(live) = &self.inner {
            let _ = live.events.send(Msg::Pid(pid));
        }
    }

    /// Ends the run: writes `end`, waits up to `deadline` for everything to be committed,
    /// and prints what could not be written to stderr as NDJSON.
    pub fn finish(self, end: RunEnd, deadline: Duration) -> FinishReport {
        // Through the diagnostics writer: a broken or stalled stderr must not hold the exit.
        self.finish_to(end, deadline, &mut crate::diag::Writer)
    }

    /// [`Recorder::finish`], spilling to `spill` instead of stderr.
    pub fn finish_to(self, end: RunEnd, deadline: Duration, spill: &mut dyn Write) -> FinishReport {
        let recorded = self.samples_recorded.load(Ordering::Relaxed);
        match self.inner {
            Inner::Disabled => FinishReport::default(),
            Inner::SpillOnly { held } => {
                let held = held.into_inner().unwrap_or_else(PoisonError::into_inner);
                FinishReport {
                    dropped_samples: recorded,
                    spilled_events: spill_events(None, &held, spill),
                    ..FinishReport::default()
                }
            }
            Inner::Live(live) => live.finish(end, deadline, recorded, spill),
        }
    }
}

impl Live {
    fn finish(self, end: RunEnd, deadline: Duration, recorded: u64, spill: &mut dyn Write) -> FinishReport {
        let Live {
            path,
            events,
            samples,
            inbox,
            shared,
            orphans,
        } = self;
        let sent = events.send(Msg::End(end)).is_ok();
        drop(events);
        drop(samples);
        if sent {
            let done = lock(&shared.done);
            let waited = shared
                .done_signal
                .wait_timeout_while(done, deadline, |done| !*done);
            drop(waited.unwrap_or_else(PoisonError::into_inner));
        }
        // Take whatever the writer did not commit. After a clean finish both are empty.
        shared.abandoned.store(true, Ordering::SeqCst);
        let mut unwritten = Vec::new();
        {
            let inbox = lock(&inbox);
            while let Ok(msg) = inbox.try_recv() {
                if let Msg::Event(event) = msg {
                    unwritten.push(event);
                }
            }
        }
        let mut unwritten: Vec<Event> = lock(&shared.backlog).drain(..).chain(unwritten).collect();
        unwritten.extend(orphans.into_inner().unwrap_or_else(PoisonError::into_inner));
        let open_state = shared.open_state();
        let run_id = match open_state {
            OpenState::Open(run_id) => Some(run_id),
            OpenState::Opening | OpenState::Failed | OpenState::Gone => None,
        };
        let spilled = spill_events(run_id, &unwritten, spill);
        // A failed open has said everything in its one warning already.
        if spilled > 0 && open_state != OpenState::Failed {
            let run = run_id.map_or_else(|| "run".to_string(), |id| format!("run {id}"));
            log::warn!(
                "{run}: {spilled} evidence events could not be written to {}; \
                 printed them to stderr as NDJSON",
                path.display()
            );
        }
        let written_samples = shared.written_samples.load(Ordering::SeqCst);
        FinishReport {
            run_id,
            written_events: shared.written_events.load(Ordering::SeqCst),
            written_samples,
            dropped_samples: recorded.saturating_sub(written_samples),
            spilled_events: spilled,
            run_end_written: shared.end_written.load(Ordering::SeqCst),
        }
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
