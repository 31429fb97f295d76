-- 0001_init.sql: the first FlowForge evidence schema (user_version 1).
--
-- Applied by src/evidence/migrate.rs inside one transaction, which then sets
-- PRAGMA user_version = 1. Never edit this file once released: add 0002_*.sql instead.
--
-- Three kinds of rows:
--   runs     one row per `flowforge run`, updated once when the run ends, then frozen;
--   events   the append-only story (lifecycle, decisions, actions, outcomes, ...);
--   samples  one small row per supervisor tick, for sparklines and the CPU/RSS summary.
--
-- Size of a run-hour at one sample per second: a samples row is about 40 bytes in the
-- table plus about 20 bytes in samples_run_time; measured (writer_tests.rs), 3600 samples
-- and 100 events take about 210 KB. The budget is 5 MB per run-hour, so even a tick of
-- 100 ms (36,000 rows, about 2 MB) fits.

CREATE TABLE runs (
    id                INTEGER PRIMARY KEY,
    argv              TEXT    NOT NULL CHECK (json_valid(argv) AND json_type(argv) = 'array'),
    cwd               TEXT    NOT NULL,
    started_at_ms     INTEGER NOT NULL,
    ended_at_ms       INTEGER,
    pid               INTEGER,
    mode              TEXT    NOT NULL,
    exit_code         INTEGER,
    -- 'exited', 'signalled', 'stopped', 'timeout', ...; NULL while the run is going.
    outcome           TEXT,
    flowforge_version TEXT    NOT NULL
);

CREATE INDEX runs_started ON runs (started_at_ms);
CREATE INDEX runs_ended ON runs (ended_at_ms);

-- The categories and actors are the closed sets of src/evidence/event.rs. 'sample' is
-- allowed for fidelity to that set, but the writer sends samples to the samples table.
CREATE TABLE events (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER NOT NULL REFERENCES runs (id),
    at_ms    INTEGER NOT NULL,
    category TEXT    NOT NULL CHECK (category IN ('lifecycle', 'sample', 'decision', 'action',
                                                  'outcome', 'control', 'alert', 'error')),
    kind     TEXT    NOT NULL,
    actor    TEXT    NOT NULL CHECK (actor IN ('supervisor', 'detector', 'user', 'signal',
                                               'guardrail')),
    message  TEXT    NOT NULL,
    payload  TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
);

-- "The events of run R in order" and "events of run R after id N" (events --follow).
CREATE INDEX events_run ON events (run_id, id);

CREATE TABLE samples (
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    at_ms        INTEGER NOT NULL,
    cpu_percent  REAL    NOT NULL,
    rss_bytes    INTEGER NOT NULL,
    processes    INTEGER NOT NULL,
    stdout_bytes INTEGER NOT NULL,
    stderr_bytes INTEGER NOT NULL,
    lines        INTEGER NOT NULL
);

-- "The samples of run R in time order": a range scan on this index, nothing else.
CREATE INDEX samples_run_time ON samples (run_id, at_ms);

-- Retention gate. Evidence is append-only: events can never be updated, and rows of
-- events, samples and runs can be deleted only while this single row says open = 1.
-- Only `flowforge prune` (src/evidence/retention.rs) opens it, and only inside its own
-- write transaction, closing it again before COMMIT, so no other connection ever sees
-- it open. A deleted or damaged gate row reads as closed.
CREATE TABLE retention_gate (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    open INTEGER NOT NULL DEFAULT 0 CHECK (open IN (0, 1))
);
INSERT INTO retention_gate (id, open) VALUES (1, 0);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'flowforge events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN (SELECT open FROM retention_gate WHERE id = 1) IS NOT 1
BEGIN
    SELECT RAISE(ABORT, 'flowforge events are append-only; use `flowforge prune` to delete old runs');
END;

CREATE TRIGGER samples_no_delete BEFORE DELETE ON samples
WHEN (SELECT open FROM retention_gate WHERE id = 1) IS NOT 1
BEGIN
    SELECT RAISE(ABORT, 'flowforge samples are deleted only by `flowforge prune`');
END;

CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs
WHEN (SELECT open FROM retention_gate WHERE id = 1) IS NOT 1
BEGIN
    SELECT RAISE(ABORT, 'flowforge runs are deleted only by `flowforge prune`');
END;

-- A run is written twice: when it starts, and once when it ends. After that it is frozen.
CREATE TRIGGER runs_frozen_after_end BEFORE UPDATE ON runs
WHEN OLD.ended_at_ms IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a finished flowforge run cannot be changed');
END;
