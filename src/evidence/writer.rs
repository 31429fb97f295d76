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
//! - samples arrive every tick and are only useful in bulk, so they go through a bounded
//!   `sync_channel` with `try_send`: when the writer falls behind they are dropped and
//!   counted, and memory stays bounded however long the database is stuck;
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
//! Without a database there are two degenerate recorders: [`Recorder::disabled`] for
//! `--no-db`, and [`Recorder::spill_only`] for a database that failed to open when the user
//! did not ask for `--require-db`: it keeps critical events in memory for the spill.

use super::batcher::{self, lock, spill_events, Msg, Shared};
use super::error::EvidenceError;
use super::event::{Category, Event};
use super::{location, NewRun, RunEnd, RunId, SampleRow};
use rusqlite::params;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Samples waiting for the writer; at one per second this is 17 minutes of them.
const SAMPLE_QUEUE: usize = 1024;
/// The writer's lock wait per attempt; short, so it keeps draining its channels.
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// What `finish` can say about the run's evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinishReport {
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
    run_id: RunId,
    path: PathBuf,
    events: Sender<Msg>,
    samples: SyncSender<SampleRow>,
    inbox: Arc<Mutex<Receiver<Msg>>>,
    shared: Arc<Shared>,
    /// Events sent after the writer thread went away; spilled at finish.
    orphans: Mutex<Vec<Event>>,
}

impl Recorder {
    /// Opens (creating and migrating) the database, writes the run's row so its id is
    /// known, and starts the writer thread.
    pub fn start(path: &Path, run: NewRun) -> Result<(Recorder, RunId), EvidenceError> {
        let conn = location::open(path)?;
        conn.execute(
            "INSERT INTO runs (argv, cwd, started_at_ms, pid, mode, flowforge_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                serde_json::Value::from(run.argv).to_string(),
                run.cwd,
                run.started_at_ms,
                run.pid,
                run.mode,
                run.flowforge_version
            ],
        )
        .map_err(|e| EvidenceError::classify(path, "recording the run start", e))?;
        let run_id = RunId(conn.last_insert_rowid());
        conn.busy_timeout(WRITER_BUSY_TIMEOUT)
            .map_err(|e| EvidenceError::classify(path, "setting busy_timeout", e))?;

        let (events, inbox) = mpsc::channel();
        let (samples, sample_rx) = mpsc::sync_channel(SAMPLE_QUEUE);
        let inbox = Arc::new(Mutex::new(inbox));
        let shared = Arc::new(Shared::new());
        let (thread_inbox, thread_shared) = (Arc::clone(&inbox), Arc::clone(&shared));
        batcher::spawn(
            conn,
            path.to_path_buf(),
            run_id,
            thread_inbox,
            sample_rx,
            thread_shared,
        )
        .map_err(|source| EvidenceError::Thread { source })?;
        log::debug!("run {run_id}: recording to {}", path.display());
        let live = Live {
            run_id,
            path: path.to_path_buf(),
            events,
            samples,
            inbox,
            shared,
            orphans: Mutex::new(Vec::new()),
        };
        Ok((Recorder::with(Inner::Live(live)), run_id))
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
        }
    }

    /// The run's id when recording to a database.
    pub fn run_id(&self) -> Option<RunId> {
        match &self.inner {
            Inner::Live(live) => Some(live.run_id),
            _ => None,
        }
    }

    /// Queues an event. Never blocks; `Category::Sample` events go to `samples`.
    pub fn record(&self, event: Event) {
        if event.category == Category::Sample {
            return self.record_sample(&SampleRow::from_event(&event));
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
            // Full or disconnected: either way the sample is dropped, and finish counts
            // dropped samples as recorded minus written.
            let _ = live.samples.try_send(*sample);
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
        let stderr = io::stderr();
        let mut out = stderr.lock();
        self.finish_to(end, deadline, &mut out)
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
            run_id,
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
        let spilled = spill_events(Some(run_id), &unwritten, spill);
        if spilled > 0 {
            log::warn!(
                "run {run_id}: {spilled} evidence events could not be written to {}; \
                 printed them to stderr as NDJSON",
                path.display()
            );
        }
        let written_samples = shared.written_samples.load(Ordering::SeqCst);
        FinishReport {
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
