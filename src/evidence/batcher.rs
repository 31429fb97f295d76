//! The writer thread behind a `Recorder`: opens the store, batches into transactions,
//! retries, warns once.
//!
//! It owns the run's SQLite connection. For `Recorder::start_background` it also opens the
//! database (creating and migrating it) and inserts the run's row, so none of that delays
//! the child's spawn; whatever the recorder sends meanwhile waits in the channels, because
//! events need the run's id. If the open fails it logs one warning naming the file and the
//! fix and ends, leaving every event in the channel for `finish` to spill.
//!
//! Each turn it moves whatever the recorder sent into the shared backlog (critical events)
//! and its own sample buffer, and commits when 100 ms have passed or 500 rows wait, or at
//! once when the run's end has arrived. Events leave the backlog only after their
//! transaction commits, so a failed write loses none of them; a failed write does drop the
//! buffered samples, and while writes keep failing new samples are dropped as they arrive,
//! so memory stays bounded. Retries pause 50 ms, doubling up to 1 s, and the first failure
//! of the run is the only one logged as a warning. The last commit, which `finish` waits
//! for, never checkpoints the WAL: the next commit to find it over the threshold does, as a
//! rule the first commit of a later run, made while that run's child is running.
//!
//! The channel receiver sits behind a mutex that the thread holds only while receiving,
//! never while in SQLite, and the backlog mutex is never held across I/O either: that is
//! what lets `Recorder::finish` take every unwritten event away at its deadline even when
//! this thread is stuck in a write. A recorder dropped without `finish` (a panic upstream)
//! gets a short grace to flush, then its events are spilled to stderr like at a deadline.

use super::chain;
use super::error::EvidenceError;
use super::event::Event;
use super::ndjson::EventRecord;
use super::redact;
use super::sha256::Digest;
use super::{location, sql_int, NewRun, RunEnd, RunId, SampleRow};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::VecDeque;
use std::error::Error;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Longest time a row waits in memory before the writer commits it.
const BATCH_DELAY: Duration = Duration::from_millis(100);
/// How long the writer sleeps when it has nothing to write.
const IDLE_WAIT: Duration = Duration::from_secs(5);
/// Commit early once this many rows of one kind are waiting.
const BATCH_ROWS: usize = 500;
/// Most events in one transaction, so one commit stays short.
const MAX_TXN_EVENTS: usize = 2000;
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(1);
/// How long a writer whose recorder was dropped without `finish` keeps trying.
const ORPHAN_GRACE: Duration = Duration::from_secs(5);
/// The writer's lock wait per attempt; short, so it keeps draining its channels.
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_millis(250);

pub(super) enum Msg {
    Event(Event),
    Pid(u32),
    /// Apply this retention policy once the run has lasted [`RETENTION_AFTER`].
    Retention(super::retention::Policy),
    End(RunEnd),
}

/// How long a run lasts before its writer applies the retention policy: never at the start
/// or the end of a run, where it would add to the run's time (`flowforge run -- true`).
const RETENTION_AFTER: Duration = Duration::from_secs(2);

/// How the writer thread gets its connection.
pub(super) enum Start {
    /// `Recorder::start` opened the database and inserted the run's row itself.
    Opened(Connection, RunId),
    /// `Recorder::start_background`: the thread opens the database and inserts this run.
    Open(NewRun),
}

/// Where the run's row stands; it leaves `Opening` once and never changes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OpenState {
    Opening,
    Open(RunId),
    /// The database could not be opened or the row not inserted, and the writer said so
    /// in its one warning: nothing is written.
    Failed,
    /// The writer ended without a row and without a warning: `finish` stopped waiting
    /// before the open completed, or the thread panicked.
    Gone,
}

/// State the writer and `finish` both touch; never locked across I/O.
pub(super) struct Shared {
    pub(super) backlog: Mutex<VecDeque<Event>>,
    pub(super) abandoned: AtomicBool,
    pub(super) written_events: AtomicU64,
    pub(super) written_samples: AtomicU64,
    /// Samples the recorder was given, written or not: what the loss count is taken from.
    pub(super) recorded_samples: AtomicU64,
    /// Samples sent and not yet received by the writer: the bound of their channel.
    pub(super) queued_samples: AtomicUsize,
    pub(super) end_written: AtomicBool,
    pub(super) done: Mutex<bool>,
    pub(super) done_signal: Condvar,
    open_state: Mutex<OpenState>,
    open_signal: Condvar,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Prints events as NDJSON, ignoring a broken stderr: there is nowhere left to report to.
pub(super) fn spill_events(run_id: Option<RunId>, events: &[Event], out: &mut dyn Write) -> u64 {
    for event in events {
        let _ = EventRecord::unwritten(run_id, event).write_line(out);
    }
    let _ = out.flush();
    events.len() as u64
}

impl Shared {
    pub(super) fn new(open_state: OpenState) -> Shared {
        Shared {
            backlog: Mutex::new(VecDeque::new()),
            abandoned: AtomicBool::new(false),
            written_events: AtomicU64::new(0),
            written_samples: AtomicU64::new(0),
            recorded_samples: AtomicU64::new(0),
            queued_samples: AtomicUsize::new(0),
            end_written: AtomicBool::new(false),
            done: Mutex::new(false),
            done_signal: Condvar::new(),
            open_state: Mutex::new(open_state),
            open_signal: Condvar::new(),
        }
    }

    pub(super) fn open_state(&self) -> OpenState {
        *lock(&self.open_state)
    }

    /// The open's outcome, waiting up to `timeout` while it is still in progress.
    pub(super) fn wait_open(&self, timeout: Duration) -> OpenState {
        let state = lock(&self.open_state);
        let waited = self
            .open_signal
            .wait_timeout_while(state, timeout, |state| *state == OpenState::Opening);
        let (state, _) = waited.unwrap_or_else(PoisonError::into_inner);
        *state
    }

    /// Settles the open; a later call cannot undo `Open` or `Failed`.
    fn settle_open(&self, outcome: OpenState) {
        let mut state = lock(&self.open_state);
        if *state == OpenState::Opening {
            *state = outcome;
        }
        drop(state);
        self.open_signal.notify_all();
    }
}

/// Opens (creating and migrating) the database and inserts the run's row, ready for the
/// writer thread.
pub(super) fn open_run(path: &Path, run: &NewRun) -> Result<(Connection, RunId), EvidenceError> {
    let conn = location::open(path)?;
    let run_id = insert_run(&conn, path, run)?;
    Ok((conn, run_id))
}

fn insert_run(conn: &Connection, path: &Path, run: &NewRun) -> Result<RunId, EvidenceError> {
    let (argv, cwd) = if run.redact {
        (
            redact::redact_argv(&run.argv),
            redact::redact(&run.cwd).into_owned(),
        )
    } else {
        (run.argv.clone(), run.cwd.clone())
    };
    conn.execute(
        "INSERT INTO runs (argv, cwd, started_at_ms, pid, mode, flowforge_version, redaction)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            serde_json::Value::from(argv.as_slice()).to_string(),
            cwd,
            run.started_at_ms,
            run.pid,
            run.mode,
            run.flowforge_version,
            if run.redact { "on" } else { "off" }
        ],
    )
    .map_err(|e| EvidenceError::classify(path, "recording the run start", e))?;
    let run_id = RunId(conn.last_insert_rowid());
    conn.busy_timeout(WRITER_BUSY_TIMEOUT)
        .map_err(|e| EvidenceError::classify(path, "setting busy_timeout", e))?;
    Ok(run_id)
}

/// `open_run` on the writer thread. `None` when the run goes on without a database: the
/// open failed (warned about, once) or `finish` stopped waiting before it completed.
fn open_in_background(path: &Path, run: &NewRun, shared: &Shared) -> Option<(Connection, RunId)> {
    let opened = location::open(path).and_then(|conn| {
        if shared.abandoned.load(Ordering::SeqCst) {
            // `finish` has spilled the events already; a row now would be a run without end.
            return Ok(None);
        }
        let run_id = insert_run(&conn, path, run)?;
        warm_statements(&conn);
        Ok(Some((conn, run_id)))
    });
    match opened {
        Ok(Some((conn, run_id))) => {
            log::debug!("run {run_id}: recording to {}", path.display());
            shared.settle_open(OpenState::Open(run_id));
            Some((conn, run_id))
        }
        Ok(None) => None,
        Err(e) => {
            log::warn!("{}", open_failed_warning(path, &e));
            shared.settle_open(OpenState::Failed);
            None
        }
    }
}

/// One line naming the file, what went wrong and the fix, worded like `main` prints errors.
pub(super) fn open_failed_warning(path: &Path, error: &EvidenceError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    // Most variants name the file and the fix already; the generic SQLite ones do not.
    let file = path.display().to_string();
    if !text.contains(&file) {
        text = format!("evidence database {file}: {text}");
    }
    if !text.contains("--db elsewhere") {
        text.push_str("; use --db elsewhere or move the file away");
    }
    format!("warning: running without evidence: {text}")
}

/// Starts the writer thread; with `Start::Open` it opens the database first.
pub(super) fn spawn(
    start: Start,
    path: PathBuf,
    inbox: Arc<Mutex<Receiver<Msg>>>,
    sample_rx: Receiver<SampleRow>,
    shared: Arc<Shared>,
) -> io::Result<()> {
    let name = match &start {
        Start::Opened(_, run_id) => format!("flowforge-evidence-{run_id}"),
        Start::Open(_) => "flowforge-evidence".to_string(),
    };
    thread::Builder::new()
        .name(name)
        .spawn(move || {
            let done = DoneOnDrop(Arc::clone(&shared));
            let (conn, run_id) = match start {
                Start::Opened(conn, run_id) => (conn, run_id),
                Start::Open(run) => match open_in_background(&path, &run, &shared) {
                    Some(opened) => opened,
                    None => return,
                },
            };
            let mut writer = Writer {
                conn,
                path,
                run_id,
                inbox,
                sample_rx,
                shared,
                samples: Vec::new(),
                pid: None,
                end: None,
                failures: 0,
                retry_at: None,
                warned: false,
                retention: None,
                started: Instant::now(),
            };
            writer.run();
            // `finish` goes on now; the connection closes after, off its path.
            drop(done);
            drop(writer);
        })
        .map(drop)
}

/// The writer thread: owns the connection, batches, retries.
struct Writer {
    conn: Connection,
    path: PathBuf,
    run_id: RunId,
    inbox: Arc<Mutex<Receiver<Msg>>>,
    sample_rx: Receiver<SampleRow>,
    shared: Arc<Shared>,
    samples: Vec<SampleRow>,
    pid: Option<u32>,
    end: Option<RunEnd>,
    failures: u32,
    retry_at: Option<Instant>,
    warned: bool,
    /// The retention policy still to apply in this run.
    retention: Option<super::retention::Policy>,
    started: Instant,
}

/// Marks the writer done on every exit path, panics included, so `finish` stops waiting;
/// a writer that never got its run's row also settles the open, so `run_id` stops waiting.
struct DoneOnDrop(Arc<Shared>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.settle_open(OpenState::Gone);
        *lock(&self.0.done) = true;
        self.0.done_signal.notify_all();
    }
}

impl Writer {
    fn run(&mut self) {
        let mut last_flush = Instant::now();
        let mut orphaned_at: Option<Instant> = None;
        while !self.shared.abandoned.load(Ordering::SeqCst) {
            let next = self.retry_at.unwrap_or(last_flush + BATCH_DELAY);
            let pending =
                !lock(&self.shared.backlog).is_empty() || !self.samples.is_empty() || self.pid.is_some();
            let wait = if self.end.is_some() && self.retry_at.is_none() {
                Duration::ZERO
            } else if !pending && self.retry_at.is_none() {
                // Nothing to write: sleep until an event arrives; samples (their channel does
                // not wake us) are picked up within IDLE_WAIT. Ten wake-ups a second cost an
                // idle supervisor more CPU than everything else it does.
                IDLE_WAIT
            } else {
                next.saturating_duration_since(Instant::now()).min(BATCH_DELAY)
            };
            let wait = match self.retention {
                Some(_) => {
                    wait.min((self.started + RETENTION_AFTER).saturating_duration_since(Instant::now()))
                }
                None => wait,
            };
            let connected = orphaned_at.is_none() && self.receive(wait);
            if !connected {
                // No channel to wait on any more: pace retries by sleeping instead — but
                // not when the run's end just arrived: `finish` is waiting for it.
                orphaned_at.get_or_insert_with(Instant::now);
                if self.end.is_none() || self.retry_at.is_some() {
                    thread::sleep(wait);
                }
            }
            self.take_samples();
            let waiting = lock(&self.shared.backlog).len();
            // While failing, an empty transaction still probes whether writes work again;
            // without it a run that only sends samples would drop them forever.
            let work = waiting > 0
                || !self.samples.is_empty()
                || self.pid.is_some()
                || self.end.is_some()
                || self.retry_at.is_some();
            let due = self.end.is_some()
                || !connected
                || waiting >= BATCH_ROWS
                || self.samples.len() >= BATCH_ROWS
                || last_flush.elapsed() >= BATCH_DELAY;
            let allowed = !matches!(self.retry_at, Some(at) if Instant::now() < at);
            if work && due && allowed {
                last_flush = Instant::now();
                if self.flush() {
                    return; // the run's end is written
                }
            }
            if self.end.is_none() && self.retry_at.is_none() && self.started.elapsed() >= RETENTION_AFTER {
                if let Some(policy) = self.retention.take() {
                    self.apply_retention(&policy);
                }
            }
            if let Some(since) = orphaned_at.filter(|_| self.end.is_none()) {
                // Dropped without finish: write what we have, then leave.
                if !work || since.elapsed() > ORPHAN_GRACE {
                    let left: Vec<Event> = lock(&self.shared.backlog).drain(..).collect();
                    spill_events(Some(self.run_id), &left, &mut crate::diag::Writer);
                    return;
                }
            }
        }
    }

    /// Moves everything waiting in the channel into the backlog; false once every sender
    /// is gone.
    fn receive(&mut self, wait: Duration) -> bool {
        let inbox = lock(&self.inbox);
        if self.shared.abandoned.load(Ordering::SeqCst) {
            return false;
        }
        let first = if wait.is_zero() {
            inbox.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        } else {
            inbox.recv_timeout(wait)
        };
        let mut msg = match first {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        };
        loop {
            match msg {
                Msg::Event(event) => lock(&self.shared.backlog).push_back(event),
                Msg::Pid(pid) => self.pid = Some(pid),
                Msg::Retention(policy) => self.retention = Some(policy).filter(|p| !p.is_off()),
                Msg::End(end) => self.end = Some(end),
            }
            msg = match inbox.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            };
        }
    }

    /// Drains the sample channel; while the database is failing, samples are dropped here.
    fn take_samples(&mut self) {
        let failing = self.retry_at.is_some();
        while let Ok(sample) = self.sample_rx.try_recv() {
            self.shared.queued_samples.fetch_sub(1, Ordering::SeqCst);
            if !failing {
                self.samples.push(sample);
            }
        }
    }

    /// One bounded retention pass on this thread; what it deleted becomes an event of this
    /// run (written with the next batch). A failure is logged, never fatal: the next run
    /// tries again.
    fn apply_retention(&mut self, policy: &super::retention::Policy) {
        match super::retention::apply(&self.conn, policy, self.run_id.0) {
            Ok(report) if report.runs > 0 => {
                log::debug!("run {}: retention deleted {} run(s)", self.run_id, report.runs);
                let event = Event::new(
                    super::Category::Control,
                    "retention",
                    super::Actor::Supervisor,
                    format!(
                        "retention ({}) deleted {} old run(s) with {} event(s) and {} sample(s)",
                        policy.describe(),
                        report.runs,
                        report.events,
                        report.samples
                    ),
                    serde_json::json!({
                        "runs": report.runs,
                        "events": report.events,
                        "samples": report.samples,
                        "keep_s": policy.keep.map(|d| d.as_secs()),
                        "max_bytes": policy.max_bytes,
                    }),
                );
                lock(&self.shared.backlog).push_back(event);
            }
            Ok(_) => {}
            Err(e) => log::debug!("run {}: retention failed: {e}", self.run_id),
        }
    }

    /// The `error/evidence_incomplete` event for the run's end, when samples were dropped:
    /// every sample recorded before the end is written by now, in this batch, or lost.
    fn loss_event(&self) -> Option<Event> {
        let recorded = self.shared.recorded_samples.load(Ordering::SeqCst);
        let written = self.shared.written_samples.load(Ordering::SeqCst) + self.samples.len() as u64;
        let dropped = recorded.saturating_sub(written);
        if dropped == 0 {
            return None;
        }
        Some(Event::new(
            super::Category::Error,
            "evidence_incomplete",
            super::Actor::Supervisor,
            format!(
                "{dropped} of {recorded} sample(s) were dropped: the evidence writer fell behind or the database was failing"
            ),
            serde_json::json!({"dropped_samples": dropped, "recorded_samples": recorded, "write_failures": self.failures}),
        ))
    }

    /// One transaction; returns true when it wrote the run's end.
    fn flush(&mut self) -> bool {
        let (batch, everything) = {
            let backlog = lock(&self.shared.backlog);
            let batch: Vec<Event> = backlog.iter().take(MAX_TXN_EVENTS).cloned().collect();
            let everything = batch.len() == backlog.len();
            (batch, everything)
        };
        let end = self.end.as_ref().filter(|_| everything);
        if end.is_some() {
            // `finish` waits for this commit. SQLite's auto-checkpoint would run inside it
            // whenever the WAL has crossed its threshold (two fsyncs and a page copy), so the
            // last commit leaves that to the next commit of a later run or CLI command, on
            // their writer threads. Failing here only means the checkpoint is not deferred.
            if let Err(e) = self.conn.pragma_update(None, "wal_autocheckpoint", 0) {
                log::debug!("run {}: cannot defer the checkpoint: {e}", self.run_id);
            }
        }
        // The run's end carries the count of what was lost on the way, as an event in the
        // same transaction, so `flowforge show` says so (nothing lost silently).
        let loss = end.and_then(|_| self.loss_event());
        let events: std::borrow::Cow<'_, [Event]> = match loss {
            Some(loss) => batch.iter().cloned().chain([loss]).collect::<Vec<_>>().into(),
            None => batch.as_slice().into(),
        };
        let result = write_batch(&mut self.conn, self.run_id, &events, &self.samples, self.pid, end);
        match result {
            Ok(()) => {
                let mut backlog = lock(&self.shared.backlog);
                let n = batch.len().min(backlog.len());
                backlog.drain(..n);
                drop(backlog);
                let shared = &self.shared;
                shared
                    .written_events
                    .fetch_add(batch.len() as u64, Ordering::SeqCst);
                shared
                    .written_samples
                    .fetch_add(self.samples.len() as u64, Ordering::SeqCst);
                self.samples.clear();
                self.pid = None;
                if self.retry_at.take().is_some() {
                    log::info!(
                        "run {}: evidence database {} is writable again",
                        self.run_id,
                        self.path.display()
                    );
                }
                self.failures = 0;
                let wrote_end = end.is_some();
                if wrote_end {
                    shared.end_written.store(true, Ordering::SeqCst);
                }
                wrote_end
            }
            Err(e) => {
                self.failures += 1;
                self.samples.clear();
                let pause = RETRY_MIN.saturating_mul(1 << self.failures.min(5)).min(RETRY_MAX);
                self.retry_at = Some(Instant::now() + pause);
                if !self.warned {
                    self.warned = true;
                    log::warn!(
                        "run {}: cannot write evidence database {}: {e}; keeping decisions and \
                         actions in memory and dropping samples until it recovers",
                        self.run_id,
                        self.path.display()
                    );
                } else {
                    log::debug!("run {}: evidence write failed again: {e}", self.run_id);
                }
                false
            }
        }
    }
}

/// Every statement a writer's transactions run, prepared once per connection: right after
/// the open by [`warm_statements`], so the run's last commit, which `finish` waits for,
/// parses no SQL.
const SQL_CHAIN_HEAD: &str =
    "SELECT hash FROM events WHERE run_id = ?1 AND hash IS NOT NULL ORDER BY id DESC LIMIT 1";
const SQL_RUN_START: &str =
    "SELECT argv, cwd, started_at_ms, mode, flowforge_version, redaction FROM runs WHERE id = ?1";
const SQL_NEXT_EVENT_ID: &str = "SELECT coalesce(max(id), 0) + 1 FROM events";
const SQL_INSERT_EVENT: &str =
    "INSERT INTO events (id, run_id, at_ms, category, kind, actor, message, payload, hash,
                             prev_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const SQL_INSERT_SAMPLE: &str = "INSERT INTO samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const SQL_SET_PID: &str = "UPDATE runs SET pid = ?2 WHERE id = ?1";
const SQL_SET_END: &str = "UPDATE runs SET ended_at_ms = ?2, exit_code = ?3, outcome = ?4 WHERE id = ?1";
const WRITER_STATEMENTS: [&str; 7] = [
    SQL_CHAIN_HEAD,
    SQL_RUN_START,
    SQL_NEXT_EVENT_ID,
    SQL_INSERT_EVENT,
    SQL_INSERT_SAMPLE,
    SQL_SET_PID,
    SQL_SET_END,
];

/// Prepares [`WRITER_STATEMENTS`] into the connection's statement cache. Best effort: a
/// statement that fails here is prepared (and its error reported) where it is used.
fn warm_statements(conn: &Connection) {
    for sql in WRITER_STATEMENTS {
        if let Err(e) = conn.prepare_cached(sql) {
            log::debug!("cannot prepare a writer statement ahead: {e}");
        }
    }
}

/// The hash the run's next event follows: its last chained event's, or its genesis.
fn chain_head(tx: &rusqlite::Transaction<'_>, run_id: RunId) -> rusqlite::Result<Digest> {
    let last: Option<String> = tx
        .prepare_cached(SQL_CHAIN_HEAD)?
        .query_row(params![run_id.0], |r| r.get(0))
        .optional()?;
    if let Some(head) = last.as_deref().and_then(chain::parse_hex) {
        return Ok(head);
    }
    run_start(tx, run_id).map(|run| chain::genesis(&run))
}

/// The `runs` row as the genesis hash covers it.
pub(super) fn run_start(conn: &Connection, run_id: RunId) -> rusqlite::Result<chain::RunStart> {
    conn.prepare_cached(SQL_RUN_START)?
        .query_row(params![run_id.0], |r| {
            let argv: String = r.get(0)?;
            Ok(chain::RunStart {
                id: run_id.0,
                argv: serde_json::from_str(&argv).unwrap_or_else(|_| vec![argv]),
                cwd: r.get(1)?,
                started_at_ms: r.get(2)?,
                mode: r.get(3)?,
                flowforge_version: r.get(4)?,
                redaction: r.get(5)?,
            })
        })
}

/// Appends `events` to the end of `run_id`'s hash chain. `tx` must hold the write lock
/// (an IMMEDIATE transaction), so the head read here is still the head at the insert, even
/// when another process (the API recording a user's request) appends to the same run.
/// Returns the id of the first event.
pub(crate) fn append_chained(
    tx: &rusqlite::Transaction<'_>,
    run_id: RunId,
    events: &[Event],
) -> rusqlite::Result<i64> {
    let mut head = chain_head(tx, run_id)?;
    // The id SQLite would pick, assigned here so the hash can cover it.
    let first_id: i64 = tx
        .prepare_cached(SQL_NEXT_EVENT_ID)?
        .query_row([], |r| r.get(0))?;
    let mut insert = tx.prepare_cached(SQL_INSERT_EVENT)?;
    for (id, e) in (first_id..).zip(events) {
        let payload = e.payload.to_string();
        let link = chain::Link {
            id,
            run_id: run_id.0,
            at_ms: e.at_ms,
            category: e.category.as_str(),
            kind: &e.kind,
            actor: e.actor.as_str(),
            message: &e.message,
            payload: &payload,
        };
        let prev = chain::hex(&head);
        head = link.hash(&head);
        insert.execute(params![
            id,
            run_id.0,
            e.at_ms,
            link.category,
            e.kind,
            link.actor,
            e.message,
            payload,
            chain::hex(&head),
            prev
        ])?;
    }
    Ok(first_id)
}

/// Appends one event to a run's chain from outside its writer (the API's record of a user's
/// kill or restart request), in its own IMMEDIATE transaction. Returns the event's id.
pub fn append_event(conn: &Connection, run_id: RunId, event: &Event) -> rusqlite::Result<i64> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let id = append_chained(&tx, run_id, std::slice::from_ref(event))?;
    tx.commit()?;
    Ok(id)
}

pub(super) fn write_batch(
    conn: &mut Connection,
    run_id: RunId,
    events: &[Event],
    samples: &[SampleRow],
    pid: Option<u32>,
    end: Option<&RunEnd>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !events.is_empty() {
        append_chained(&tx, run_id, events)?;
    }
    if !samples.is_empty() {
        let mut insert = tx.prepare_cached(SQL_INSERT_SAMPLE)?;
        for s in samples {
            insert.execute(params![
                run_id.0,
                s.at_ms,
                s.cpu_percent,
                sql_int(s.rss_bytes),
                s.processes,
                sql_int(s.stdout_bytes),
                sql_int(s.stderr_bytes),
                sql_int(s.lines)
            ])?;
        }
    }
    if let Some(pid) = pid {
        tx.prepare_cached(SQL_SET_PID)?.execute(params![run_id.0, pid])?;
    }
    if let Some(end) = end {
        tx.prepare_cached(SQL_SET_END)?.execute(params![
            run_id.0,
            end.ended_at_ms,
            end.exit_code,
            end.outcome
        ])?;
    }
    tx.commit()
}
