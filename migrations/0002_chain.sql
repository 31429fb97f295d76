-- 0002_chain.sql: tamper evidence and the redaction flag (user_version 2).
--
-- events.hash: lower-case hex SHA-256 over the previous event's hash (of the same run) and
-- this event's canonical JSON; events.prev_hash: that previous hash, kept so a removed or
-- moved row is told apart from an edited one. The first event of a run links to the run's
-- genesis hash,
-- computed from its start (id, argv, cwd, started_at_ms, mode, flowforge_version,
-- redaction). src/evidence/chain.rs defines both; the writer fills it inside the insert's
-- transaction. Rows written before this migration keep NULL: they were never chained, and
-- `flowforge verify` says so instead of pretending.
--
-- runs.redaction: 'on' when secrets were redacted before the run's evidence was stored,
-- 'off' for `flowforge run --no-redact`, NULL for runs recorded before redaction existed.
--
-- Both columns are covered by the triggers of 0001: events are never updated, and a run is
-- frozen once it has ended.

ALTER TABLE events ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 64);

ALTER TABLE events ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR length(prev_hash) = 64);

ALTER TABLE runs ADD COLUMN redaction TEXT CHECK (redaction IS NULL OR redaction IN ('on', 'off'));
