-- Content of tests/data/v1.db on top of migrations/0001_init.sql; see make-v1.sh.
-- One finished run that FlowForge stopped as a runaway, with its story and a few samples.
INSERT INTO runs (id, argv, cwd, started_at_ms, ended_at_ms, pid, mode, exit_code, outcome, flowforge_version)
VALUES (1, '["python3","agent.py","--task","fix tests"]', '/home/dev/project',
        1717236000000, NULL, 4242, 'kill', NULL, NULL, '0.1.0');

INSERT INTO events (run_id, at_ms, category, kind, actor, message, payload) VALUES
 (1, 1717236000000, 'lifecycle', 'started',   'supervisor', 'started python3 agent.py (pid 4242)', '{"pid":4242}'),
 (1, 1717236030000, 'decision',  'runaway',   'detector',   'the same 3 lines repeated 120 times in 30 s with CPU above 90 %', '{"repeats":120,"window_s":30,"cpu_percent":97.5}'),
 (1, 1717236030010, 'action',    'tree_stop', 'detector',   'sent SIGTERM to 3 processes, SIGKILL after 5 s', '{"processes":3,"grace_ms":5000}'),
 (1, 1717236031200, 'outcome',   'stopped',   'supervisor', 'process tree gone after 1.2 s', '{"after_ms":1190}'),
 (1, 1717236031210, 'lifecycle', 'exited',    'supervisor', 'python3 terminated by SIGTERM', '{"signal":15,"exit_code":143}');

INSERT INTO samples (run_id, at_ms, cpu_percent, rss_bytes, processes, stdout_bytes, stderr_bytes, lines) VALUES
 (1, 1717236001000, 12.0,  52428800, 1,  120, 0,  3),
 (1, 1717236010000, 95.5,  73400320, 3, 4096, 0, 120),
 (1, 1717236020000, 98.0,  94371840, 3, 4096, 0, 120),
 (1, 1717236030000, 97.5, 115343360, 3, 4096, 0, 120);

-- The end is written once, last, as the recorder does.
UPDATE runs SET ended_at_ms = 1717236031210, exit_code = 143, outcome = 'stopped' WHERE id = 1;
