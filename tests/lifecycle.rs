//! The lifecycle matrix of `flowforge run`: exit statuses, signals, stopping the tree,
//! escapees, output passthrough and terminals — each case a real process tree run under the
//! built binary, and each ending with the check that no process of that tree survives.
//!
//! Cases wait on what the tree says (a `ready` line, a log line, a byte count) instead of
//! sleeping, and no case asserts a time (timings belong in `benches/`): "promptly" means
//! before a process that would otherwise run longer than [`RUN_LIMIT`] ends by itself, and
//! a grace is checked by the order of what happened (TERM survived, then SIGKILL).

use crate::common::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `flowforge run -- sh -c SCRIPT`, as an argument list.
fn run_sh(script: &str) -> Vec<String> {
    run_sh_with(&[], script)
}

/// `flowforge run FLAGS... -- sh -c SCRIPT`, as an argument list.
fn run_sh_with(flags: &[&str], script: &str) -> Vec<String> {
    std::iter::once("run")
        .chain(flags.iter().copied())
        .chain(["--", "sh", "-c", script])
        .map(str::to_string)
        .collect()
}

fn assert_same_bytes(what: &str, got: &[u8], want: &[u8]) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: {} bytes (fnv {:016x}) instead of {} (fnv {:016x}); first difference at {:?}",
            got.len(),
            fnv1a(got),
            want.len(),
            fnv1a(want),
            first
        );
    }
}

// ---------------------------------------------------------------------------------------
// Exit statuses (coreutils timeout(1) conventions)
// ---------------------------------------------------------------------------------------

#[test]
fn exit_zero_is_passed_on_and_flowforge_stays_quiet() {
    let sandbox = Sandbox::new("exit0");
    let out = sandbox.run(&["run", "--", "true"]);
    out.assert_code(0);
    assert!(
        out.stderr.is_empty(),
        "FlowForge must be quiet by default\n{}",
        out.describe()
    );
}

#[test]
fn exit_three_is_passed_on() {
    let sandbox = Sandbox::new("exit3");
    let out = sandbox.run(&run_sh("echo before; exit 3"));
    out.assert_code(3);
    assert_eq!(out.stdout, b"before\n");
}

#[test]
fn death_by_sigkill_is_137() {
    let sandbox = Sandbox::new("kill9");
    sandbox.run(&run_sh("kill -9 $$")).assert_code(137);
}

#[test]
fn death_by_sigsegv_is_139() {
    let sandbox = Sandbox::new("segv");
    sandbox
        .run(&run_sh("ulimit -c 0; kill -SEGV $$"))
        .assert_code(139);
}

#[test]
fn non_executable_file_is_126_with_one_line() {
    let sandbox = Sandbox::new("noexec");
    let script = write_file(&sandbox.home, "not-executable.sh", "#!/bin/sh\necho hi\n", 0o644);
    let script = script.to_str().expect("utf-8 temp path").to_string();
    let out = sandbox.run(&["run", "--", &script]);
    out.assert_code(126);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "one line on stderr\n{}", out.describe());
    assert!(
        lines[0].starts_with("flowforge: ") && lines[0].contains(&script),
        "the line names the file\n{}",
        out.describe()
    );
}

#[test]
fn missing_program_is_127_with_one_line() {
    let sandbox = Sandbox::new("notfound");
    let out = sandbox.run(&["run", "--", "/nonexistent"]);
    out.assert_code(127);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "one line on stderr\n{}", out.describe());
    assert!(
        lines[0].starts_with("flowforge: ")
            && lines[0].contains("/nonexistent")
            && lines[0].contains("not found"),
        "the line names the problem\n{}",
        out.describe()
    );
}

/// Bad usage: 125 and one line that names what is wrong.
fn assert_usage_error(args: &[&str], needle: &str) {
    let sandbox = Sandbox::new("usage");
    let out = sandbox.run(args);
    out.assert_code(125);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "one line for {args:?}\n{}", out.describe());
    assert!(
        lines[0].starts_with("flowforge: ") && lines[0].contains(needle),
        "the line for {args:?} names {needle:?}\n{}",
        out.describe()
    );
}

#[test]
fn unknown_option_is_125_with_one_line() {
    assert_usage_error(&["run", "--bogus", "--", "true"], "--bogus");
}

#[test]
fn missing_command_is_125_with_one_line() {
    assert_usage_error(&["run"], "no command");
    assert_usage_error(&["run", "--timeout", "5s", "--"], "no command");
}

#[test]
fn invalid_timeout_is_125_with_one_line() {
    assert_usage_error(&["run", "--timeout", "soon", "--", "true"], "--timeout");
    assert_usage_error(&["run", "--timeout", "0", "--", "true"], "--timeout");
}

#[test]
fn version_exits_zero() {
    let sandbox = Sandbox::new("version");
    let out = sandbox.run(&["--version"]);
    out.assert_code(0);
    assert!(out.stdout_text().starts_with("flowforge "), "{}", out.describe());
}

#[test]
fn help_exits_zero() {
    let sandbox = Sandbox::new("help");
    for args in [&["--help"][..], &["run", "--help"][..]] {
        let out = sandbox.run(args);
        out.assert_code(0);
        assert!(
            out.stdout_text().contains("Usage"),
            "{args:?}\n{}",
            out.describe()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Signals sent to FlowForge
// ---------------------------------------------------------------------------------------

/// Sends `signal` to FlowForge once the command is ready and expects `code`.
fn forwarded(name: &str, signal: &str, script: &str, code: i32) {
    let sandbox = Sandbox::new(name);
    let running = sandbox.spawn(sandbox.command(&run_sh(script)));
    running.expect_stdout("ready", secs(20));
    running.signal(signal);
    let out = running.finish();
    out.assert_code(code);
    sandbox.assert_no_survivors();
}

#[test]
fn sigterm_is_forwarded_and_the_trap_status_returned() {
    forwarded(
        "term-trap",
        "TERM",
        "trap 'exit 42' TERM; echo ready; sleep 60 & wait",
        42,
    );
}

#[test]
fn sigterm_is_forwarded_and_death_by_it_is_143() {
    forwarded("term-die", "TERM", "echo ready; exec sleep 60", 143);
}

#[test]
fn sigint_is_forwarded_and_the_trap_status_returned() {
    // The background sleep ignores SIGINT (POSIX sh does that for async commands): it is a
    // leftover after the trap exits, and must be stopped too.
    forwarded(
        "int-trap",
        "INT",
        "trap 'exit 43' INT; echo ready; sleep 60 & wait",
        43,
    );
}

#[test]
fn sighup_is_forwarded_and_death_by_it_is_129() {
    forwarded("hup-die", "HUP", "echo ready; exec sleep 60", 129);
}

#[test]
fn sigusr1_is_forwarded() {
    forwarded(
        "usr1-trap",
        "USR1",
        "trap 'exit 44' USR1; echo ready; sleep 60 & wait",
        44,
    );
}

#[test]
fn double_ctrl_c_kills_the_tree_with_130() {
    let sandbox = Sandbox::new("double-int");
    let script = "trap '' INT; echo ready; sleep 60 & while :; do sleep 1; done";
    let args = run_sh_with(&["-v"], script);
    let running = sandbox.spawn(sandbox.command(&args));
    running.expect_stdout("ready", secs(20));
    running.signal("INT");
    // The first one must have been handled (forwarded) before the second is sent, or the
    // two would merge into one pending signal.
    running.expect_stderr("SIGINT", secs(20));
    running.signal("INT");
    // The loop never ends by itself: only the kill ends the run (or RUN_LIMIT fails it).
    let out = running.finish();
    out.assert_code(130);
    assert!(out.stderr_text().contains("interrupted"), "{}", out.describe());
    sandbox.assert_no_survivors();
}

// ---------------------------------------------------------------------------------------
// Stopping the tree: timeout, grace, leftovers, escapees, FlowForge's own death
// ---------------------------------------------------------------------------------------

#[test]
fn timeout_is_124_with_a_stopped_line_and_nothing_left() {
    let sandbox = Sandbox::new("timeout");
    let args = run_sh_with(
        &["--timeout", "1s"],
        "sleep 600 & setsid sleep 600 & (sleep 600 & exec sleep 601) & exec sleep 602",
    );
    let out = sandbox.run(&args);
    out.assert_code(124);
    let stopped = out
        .stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("flowforge: stopped"));
    assert!(
        stopped.as_deref().is_some_and(|l| l.contains("timeout")),
        "a 'flowforge: stopped ...' line naming the timeout\n{}",
        out.describe()
    );
}

#[test]
fn term_ignoring_child_is_killed_after_the_grace() {
    let sandbox = Sandbox::new("grace");
    // The command says when SIGTERM reached it and goes on: the order, TERM survived and
    // then SIGKILL after the grace, is what is checked (no clock).
    let args = run_sh_with(
        &["--kill-grace", "1s", "--timeout", "1s"],
        "trap 'echo got-term' TERM; while :; do sleep 0.1; done",
    );
    let out = sandbox.run(&args);
    out.assert_code(124);
    assert!(out.stdout_text().contains("got-term"), "{}", out.describe());
    assert!(
        out.stderr_text().contains("SIGTERM, then SIGKILL"),
        "{}",
        out.describe()
    );
}

#[test]
fn background_grandchild_is_stopped_when_the_command_exits() {
    let sandbox = Sandbox::new("leftover");
    // A grace longer than RUN_LIMIT shows that SIGTERM did it, not the escalation.
    let args = run_sh_with(&["--kill-grace", "10m"], "sleep 600 >/dev/null 2>&1 & exit 0");
    let out = sandbox.run(&args);
    out.assert_code(0);
}

#[test]
fn grandchild_holding_the_output_pipe_does_not_hold_flowforge() {
    let sandbox = Sandbox::new("pipe-holder");
    // The grandchild ignores SIGTERM and keeps stdout and stderr open: only the SIGKILL
    // after the grace ends it, and with it the output.
    let args = run_sh_with(
        &["--kill-grace", "1s"],
        "(trap '' TERM; exec sleep 600) & echo done; exit 0",
    );
    // Held longer than RUN_LIMIT, the pipe would fail the run by itself.
    let out = sandbox.run(&args);
    out.assert_code(0);
    assert_eq!(out.stdout, b"done\n", "{}", out.describe());
}

#[test]
fn double_forked_setsid_daemon_is_gone_after_the_run() {
    let sandbox = Sandbox::new("daemon");
    // The classic daemon: fork, setsid, fork again, the middle one exits; the parent waits
    // for the middle one, so the daemon exists before the command exits.
    let program = "\
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
        os._exit(0)
    os._exit(0)
os.wait()
print('daemon started', flush=True)
";
    let out = sandbox.run(&["run", "--", python(), "-c", program]);
    out.assert_code(0);
    assert_eq!(out.stdout, b"daemon started\n", "{}", out.describe());
}

#[test]
fn sigkill_of_flowforge_leaves_no_survivors() {
    let sandbox = Sandbox::new("ff-killed");
    let script = "\
while :; do sleep 1; done &
(trap '' TERM HUP INT; while :; do sleep 1; done) &
setsid sh -c 'while :; do sleep 1; done' &
echo ready
wait";
    let running = sandbox.spawn(sandbox.command(&run_sh(script)));
    running.expect_stdout("ready", secs(20));
    let command_session = |procs: &[ProcInfo]| {
        procs
            .iter()
            .find(|p| p.cmdline.starts_with("sh -c while :; do sleep 1; done &"))
            .map(|p| p.session)
    };
    // sh, two loops, the escapee in a session of its own, and sleeps: the tree is up.
    let up = wait_until(
        || {
            let procs = sandbox.survivors();
            let session = command_session(&procs);
            procs.len() >= 5
                && procs
                    .iter()
                    .any(|p| p.cmdline == "sh -c while :; do sleep 1; done" && Some(p.session) != session)
        },
        secs(20),
    );
    assert!(up, "the tree did not start: {:#?}", sandbox.survivors());
    running.signal("KILL");
    let out = running.finish();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9)
    );
    sandbox.assert_no_survivors_within(secs(2));
}

#[test]
fn shim_killed_from_outside_is_125_and_the_tree_is_stopped() {
    let sandbox = Sandbox::new("shim-killed");
    // Without its shim the command dies of its parent-death signal; the grandchildren are
    // adopted by FlowForge, which must stop them itself (one ignores SIGTERM).
    let args = run_sh_with(
        &["--kill-grace", "1s"],
        "sleep 600 & (trap '' TERM; exec sleep 601) & echo ready; wait",
    );
    let running = sandbox.spawn(sandbox.command(&args));
    running.expect_stdout("ready", secs(20));
    let shims: Vec<ProcInfo> = children_of(running.pid())
        .into_iter()
        .filter_map(proc_info)
        .filter(|p| p.comm == "flowforge-shim")
        .collect();
    assert_eq!(shims.len(), 1, "one shim below flowforge: {shims:?}");
    send_signal(shims[0].pid, "KILL");
    let out = running.finish();
    out.assert_code(125);
    assert!(
        out.stderr_lines()
            .iter()
            .any(|l| l.starts_with("flowforge: ") && l.contains("shim")),
        "a line says the shim died\n{}",
        out.describe()
    );
    sandbox.assert_no_survivors();
}

#[test]
fn hundred_short_lived_grandchildren_leave_no_zombies() {
    let sandbox = Sandbox::new("zombies");
    // Each subshell starts a sleep and exits at once: the sleeps are orphans, adopted and
    // reaped by the shim.
    let script = "\
i=0
while [ $i -lt 100 ]; do (sleep 0.01 &); i=$((i+1)); done
echo spawned
read line
exit 0";
    let mut command = sandbox.command(&run_sh(script));
    command.stdin(Stdio::piped());
    let mut running = sandbox.spawn(command);
    let flowforge = running.pid();
    // Watch while it runs: zombies may exist for an instant, never accumulate.
    let mut most_zombies = 0;
    assert!(
        wait_until(
            || {
                let mut parents = vec![flowforge];
                parents.extend(children_of(flowforge));
                most_zombies = most_zombies.max(zombies_below(&parents).len());
                running.stdout.contains(b"spawned")
            },
            secs(30)
        ),
        "the loop did not finish"
    );
    let settled = wait_until(
        || {
            let mut parents = vec![flowforge];
            parents.extend(children_of(flowforge));
            zombies_below(&parents).is_empty()
                && !sandbox.survivors().iter().any(|p| p.cmdline.starts_with("sleep"))
        },
        secs(10),
    );
    let mut parents = vec![flowforge];
    parents.extend(children_of(flowforge));
    assert!(
        settled,
        "zombies or sleeps left while running (peak {most_zombies} zombies): {:?} {:?}",
        zombies_below(&parents),
        sandbox.survivors()
    );
    running.write_stdin(b"go\n");
    let out = running.finish();
    out.assert_code(0);
    sandbox.assert_no_survivors();
}

#[test]
fn command_killed_from_outside_is_137() {
    let sandbox = Sandbox::new("outside-kill");
    let running = sandbox.spawn(sandbox.command(&run_sh("echo pid=$$; exec sleep 60")));
    running.expect_stdout("\n", secs(20));
    let text = String::from_utf8_lossy(&running.stdout.snapshot()).into_owned();
    let pid: u32 = text
        .trim()
        .strip_prefix("pid=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {text:?}"));
    assert!(
        sandbox.survivors().iter().any(|p| p.pid == pid),
        "pid {pid} is not in the tree"
    );
    send_signal(pid, "KILL");
    let out = running.finish();
    out.assert_code(137);
    sandbox.assert_no_survivors();
}

// ---------------------------------------------------------------------------------------
// Output and input passthrough
// ---------------------------------------------------------------------------------------

#[test]
fn two_hundred_mib_pass_byte_exact() {
    let sandbox = Sandbox::new("200mib");
    let generator = "\
import random, sys
r = random.Random(20240601)
w = sys.stdout.buffer
for _ in range(200):
    w.write(r.randbytes(1 << 20))
w.flush()
";
    let mut sum = Sha256Pipe::new();
    let status = Command::new(python())
        .args(["-c", generator])
        .stdout(sum.input())
        .status()
        .expect("run the generator directly");
    assert!(status.success());
    let direct = sum.digest();

    let mut sum = Sha256Pipe::new();
    let mut command = sandbox.command(&["run", "--", python(), "-c", generator]);
    command.stdout(sum.input());
    let out = sandbox.spawn(command).finish();
    out.assert_code(0);
    let through = sum.digest();
    assert_eq!(
        through,
        direct,
        "200 MiB through FlowForge differ\n{}",
        out.describe()
    );
    assert!(out.stderr.is_empty(), "{}", out.describe());
    sandbox.assert_no_survivors();
}

/// Regression: when the tree exited while our stdout was full, FlowForge ended its loop with
/// the child's last bytes still unread in the pipe and dropped them (up to the pipe's size).
#[test]
fn output_still_in_the_pipe_when_the_tree_exits_is_not_lost() {
    let sandbox = Sandbox::new("late-drain");
    const LEN: usize = 400 * 1024;
    // 400 KiB fit in FlowForge's pipe (1 MiB), its one pending chunk and our pipe: the
    // command finishes writing and exits although nobody reads yet.
    let mut command = sandbox.command(&run_sh("yes 0123456789abcdef | head -c 409600; touch written"));
    command.stderr(Stdio::null());
    let mut flowforge = command.spawn().expect("spawn flowforge");
    let ff = flowforge.id();
    let written = sandbox.path("written");
    let exited =
        wait_until(|| written.exists(), secs(20)) && wait_until(|| children_of(ff).is_empty(), secs(20));
    // Only now, with the whole tree gone, is our end read.
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(flowforge.stdout.as_mut().expect("piped stdout"), &mut stdout)
        .expect("read flowforge's stdout");
    let status = flowforge.wait().expect("wait flowforge");
    assert!(exited, "the command did not finish writing while unread");
    assert_eq!(status.code(), Some(0));
    let line = b"0123456789abcdef\n";
    let want: Vec<u8> = line.iter().copied().cycle().take(LEN).collect();
    assert_same_bytes("stdout", &stdout, &want);
    sandbox.assert_no_survivors();
}

#[test]
fn line_structured_output_on_both_streams_passes_exact() {
    let sandbox = Sandbox::new("lines");
    let out = sandbox.run(&run_sh("seq 1 500000 >&2 & seq 1 1000000; wait"));
    out.assert_code(0);
    let expect = |n: u32| -> Vec<u8> {
        let mut text = Vec::new();
        for i in 1..=n {
            writeln!(text, "{i}").expect("write to a Vec");
        }
        text
    };
    assert_same_bytes("stdout", &out.stdout, &expect(1_000_000));
    assert_same_bytes("stderr", &out.stderr, &expect(500_000));
}

#[test]
fn invalid_utf8_and_nul_bytes_pass_exact() {
    let sandbox = Sandbox::new("binary");
    let out = sandbox.run(&run_sh(
        r"printf '\377\376\000abc\000\n\300\200\r\n\355\240\200 \033[31mred\033[0m\r'; printf '\000\377err\n\376' >&2",
    ));
    out.assert_code(0);
    assert_same_bytes(
        "stdout",
        &out.stdout,
        b"\xff\xfe\x00abc\x00\n\xc0\x80\r\n\xed\xa0\x80 \x1b[31mred\x1b[0m\r",
    );
    assert_same_bytes("stderr", &out.stderr, b"\x00\xfferr\n\xfe");
}

#[test]
fn ten_mib_line_passes_exact_with_bounded_memory() {
    let sandbox = Sandbox::new("long-line");
    const LEN: usize = 10 * 1024 * 1024;
    let mut command = sandbox.command(&run_sh("head -c 10485760 /dev/zero | tr '\\000' x; read done"));
    command.stdin(Stdio::piped());
    let mut running = sandbox.spawn(command);
    assert!(
        wait_until(|| running.stdout.len() >= LEN, secs(30)),
        "only {} bytes arrived",
        running.stdout.len()
    );
    // The command waits for our go, so FlowForge is still alive to be measured.
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.pid()))
        .expect("flowforge is still running");
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    running.write_stdin(b"\n");
    let out = running.finish();
    out.assert_code(0);
    assert_eq!(out.stdout.len(), LEN);
    assert!(out.stdout.iter().all(|&b| b == b'x'), "bytes changed");
    assert!(
        peak_kib < 40 * 1024,
        "FlowForge's peak RSS was {peak_kib} KiB for a 10 MiB line"
    );
    sandbox.assert_no_survivors();
}

/// glibc gives every thread that allocates an arena of its own, a 64 MiB reservation
/// whose first pages the thread faults in; `run` caps it at one arena (mallopt), so a live
/// run with its writer thread busy holds no such reservation.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_run_keeps_one_malloc_arena() {
    let sandbox = Sandbox::new("one-arena");
    let mut command = sandbox.command(&run_sh("echo started; read done"));
    command.stdin(Stdio::piped());
    let mut running = sandbox.spawn(command);
    let db = sandbox.db();
    // The writer thread has opened the store and recorded the start once `started` is in.
    let started_in_store = || {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let conn = rusqlite::Connection::open_with_flags(&db, flags).ok()?;
        let sql = "SELECT count(*) FROM events WHERE kind = 'started'";
        conn.query_row(sql, [], |row| row.get::<_, i64>(0)).ok()
    };
    assert!(
        wait_until(|| started_in_store() == Some(1), secs(30)),
        "the run's start never reached the store"
    );
    let maps =
        std::fs::read_to_string(format!("/proc/{}/maps", running.pid())).expect("flowforge is running");
    // An arena is a 64 MiB-aligned anonymous mapping: the part in use read-write, the
    // rest reserved with no access. Thread stacks' guard pages are a few KiB.
    let reserved: Vec<&str> = maps
        .lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some((start, end)) = fields[0].split_once('-') else {
                return false;
            };
            let size =
                u64::from_str_radix(end, 16).unwrap_or(0) - u64::from_str_radix(start, 16).unwrap_or(0);
            fields[1] == "---p" && fields.len() == 5 && size >= 1 << 20
        })
        .collect();
    running.write_stdin(b"\n");
    running.finish().assert_code(0);
    assert!(
        reserved.is_empty(),
        "arena reservations in a live run: {reserved:#?}"
    );
    sandbox.assert_no_survivors();
}

#[test]
fn broken_output_pipe_ends_yes_with_141() {
    let sandbox = Sandbox::new("yes-head");
    // `flowforge run -- yes | head -1`
    let mut head = Command::new("head")
        .arg("-1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("head runs");
    let pipe = Stdio::from(head.stdin.take().expect("piped stdin"));
    let mut command = sandbox.command(&["run", "--", "yes"]);
    command.stdout(pipe);
    let out = sandbox.spawn(command).finish();
    let head_out = head.wait_with_output().expect("head finishes");
    assert_eq!(head_out.stdout, b"y\n");
    out.assert_code(141);
    sandbox.assert_no_survivors();
}

#[test]
fn stdin_passes_through_byte_exact() {
    let sandbox = Sandbox::new("stdin");
    let input = pseudo_random(3 * 1024 * 1024 + 17, 7);
    let mut command = sandbox.command(&["run", "--", "cat"]);
    command.stdin(Stdio::piped());
    let mut running = sandbox.spawn(command);
    let mut stdin = running.stdin.take().expect("piped stdin");
    let payload = input.clone();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&payload).expect("write stdin");
    });
    let out = running.finish();
    writer.join().expect("writer thread");
    out.assert_code(0);
    assert_same_bytes("stdout", &out.stdout, &input);
    sandbox.assert_no_survivors();
}

#[test]
fn stdout_and_stderr_stay_separate() {
    let sandbox = Sandbox::new("streams");
    let out = sandbox.run(&run_sh(
        "echo out1; echo err1 >&2; echo out2; echo err2 >&2; printf tail-out; printf tail-err >&2",
    ));
    out.assert_code(0);
    assert_eq!(out.stdout_text(), "out1\nout2\ntail-out");
    assert_eq!(out.stderr_text(), "err1\nerr2\ntail-err");
}

// ---------------------------------------------------------------------------------------
// Terminals
// ---------------------------------------------------------------------------------------

/// `script -qec "flowforge run [PTY] -- sh -c 'test -t 1 ...'" /dev/null`: FlowForge's
/// stdout is a terminal.
fn under_script(pty: &[&str]) -> Outcome {
    let sandbox = Sandbox::new("script");
    let inner = format!(
        "'{BIN}' run {} -- sh -c 'test -t 1 && echo TTY || echo NOTTY'",
        pty.join(" ")
    );
    let running = sandbox.spawn(sandbox.command_of("script", &["-qec", &inner, "/dev/null"]));
    let out = running.finish();
    sandbox.assert_no_survivors();
    out
}

#[test]
fn command_sees_a_terminal_under_script() {
    let out = under_script(&[]);
    out.assert_code(0);
    let text = out.stdout_text();
    assert!(
        text.contains("TTY") && !text.contains("NOTTY"),
        "{}",
        out.describe()
    );
}

#[test]
fn pty_never_keeps_pipes_under_script() {
    let out = under_script(&["--pty", "never"]);
    out.assert_code(0);
    assert!(out.stdout_text().contains("NOTTY"), "{}", out.describe());
}

#[test]
fn pty_always_gives_a_terminal_to_a_piped_run() {
    let sandbox = Sandbox::new("pty-always");
    let out = sandbox.run(&[
        "run",
        "--pty",
        "always",
        "--",
        "sh",
        "-c",
        "test -t 1 && echo TTY || echo NOTTY; echo err >&2",
    ]);
    out.assert_code(0);
    assert!(out.stdout_text().starts_with("TTY"), "{}", out.describe());
    // Our stderr is not a terminal, so the command's stderr stays a separate pipe.
    assert_eq!(out.stderr_text(), "err\n");
}

#[test]
fn pty_output_arrives_complete() {
    let sandbox = Sandbox::new("pty-bulk");
    let out = sandbox.run(&["run", "--pty", "always", "--", "seq", "1", "200000"]);
    out.assert_code(0);
    // The terminal turns each \n into \r\n (ONLCR); nothing else may change or go missing.
    let mut want = Vec::new();
    for i in 1..=200_000 {
        write!(want, "{i}\r\n").expect("write to a Vec");
    }
    assert_same_bytes("stdout", &out.stdout, &want);
}

// ---------------------------------------------------------------------------------------
// Readers that never read (issue 13): the guardrails keep running
// ---------------------------------------------------------------------------------------

/// `sleep 600` reading nothing from a pipe: its stdin, for FlowForge's stdout.
fn stalled_reader() -> (std::process::Child, Stdio) {
    let mut reader = Command::new("sleep")
        .arg("600")
        .stdin(Stdio::piped())
        .spawn()
        .expect("sleep runs");
    let pipe = Stdio::from(reader.stdin.take().expect("piped stdin"));
    (reader, pipe)
}

#[test]
fn stalled_pipe_reader_does_not_hold_the_timeout() {
    let sandbox = Sandbox::new("stalled-pipe");
    // `{ flowforge run --no-detect --timeout 1s -- yes; } | sleep 600`
    let (mut reader, pipe) = stalled_reader();
    let mut command = sandbox.command(&["run", "--no-detect", "--timeout", "1s", "--", "yes"]);
    command.stdout(pipe);
    let out = sandbox.spawn(command).finish();
    let reader_alive = reader.try_wait().expect("try_wait").is_none();
    let _ = reader.kill();
    let _ = reader.wait();
    out.assert_code(124);
    assert!(reader_alive, "FlowForge waited for the reader to go away");
    let stderr = out.stderr_text();
    assert!(stderr.contains("flowforge: stopped yes"), "{}", out.describe());
    assert!(stderr.contains("flowforge: dropped"), "{}", out.describe());
    sandbox.assert_no_survivors();
}

#[test]
fn stopped_terminal_does_not_hold_the_timeout() {
    // FlowForge on a terminal whose reader (script, blocked on a pipe nobody reads) takes
    // nothing more: the terminal of a Ctrl-S.
    let sandbox = Sandbox::new("stalled-tty");
    let status = sandbox.path("status");
    let inner = format!(
        "'{BIN}' run --no-detect --timeout 1s -- yes; echo $? > '{}'",
        status.display()
    );
    let (mut reader, pipe) = stalled_reader();
    let mut script = sandbox.command_of("script", &["-qec", &inner, "/dev/null"]);
    script.stdout(pipe).stderr(Stdio::null());
    let mut script = script.spawn().expect("script runs");
    let code = || std::fs::read_to_string(&status).unwrap_or_default();
    let ended = wait_until(|| code().ends_with('\n'), RUN_LIMIT);
    for child in [&mut script, &mut reader] {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(ended, "flowforge did not end under a stopped terminal");
    assert_eq!(code().trim(), "124");
    sandbox.assert_no_survivors();
}

// ---------------------------------------------------------------------------------------
// Closed and broken stdout/stderr (issue 13): the exit status never changes
// ---------------------------------------------------------------------------------------

/// The pid of FlowForge, as the command finds it: the parent of its shim.
const FLOWFORGE_PID: &str = "$(awk '{print $4}' /proc/$PPID/stat)";

/// Every way a run ends, with the status it must end with whatever its streams are.
fn stop_paths() -> Vec<(&'static str, Vec<String>, i32)> {
    let sh = |flags: &[&str], script: &str| run_sh_with(flags, script);
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("exit status", sh(&[], "exit 3"), 3),
        (
            "timeout",
            args(&["run", "--timeout", "1s", "--", "sleep", "30"]),
            124,
        ),
        ("idle timeout", sh(&["--idle-timeout", "1s"], "sleep 30"), 124),
        (
            "forwarded SIGTERM",
            sh(&[], &format!("kill -TERM {FLOWFORGE_PID}; sleep 30")),
            143,
        ),
        (
            "double interrupt",
            sh(
                &[],
                &format!("trap '' INT; p={FLOWFORGE_PID}; while :; do kill -INT $p; sleep 0.2; done"),
            ),
            130,
        ),
        ("not found", args(&["run", "--", "/nonexistent/ff-test"]), 127),
        ("usage error", args(&["run", "--no-such-flag"]), 125),
    ]
}

#[test]
fn closed_stdout_and_stderr_change_no_exit_status() {
    let mut cases = stop_paths();
    cases.push((
        "runaway",
        run_sh_with(
            &[],
            "while :; do echo 'ERROR: connection refused, retrying'; done",
        ),
        124,
    ));
    for (name, args, code) in cases {
        let sandbox = Sandbox::new("closed-stdio");
        // `flowforge ARGS >&- 2>&-`
        let mut wrapped = vec!["-c".to_string(), "exec \"$@\" >&- 2>&-".into(), "sh".into()];
        wrapped.push(BIN.to_string());
        wrapped.extend(args);
        let out = sandbox.spawn(sandbox.command_of("sh", &wrapped)).finish();
        assert_eq!(out.status.code(), Some(code), "{name}\n{}", out.describe());
        sandbox.assert_no_survivors();
    }
}

#[test]
fn broken_stdout_and_stderr_change_no_exit_status() {
    for (name, args, code) in stop_paths() {
        let sandbox = Sandbox::new("broken-stdio");
        // A pipe whose reader is gone before FlowForge starts.
        let mut reader = Command::new("true")
            .stdin(Stdio::piped())
            .spawn()
            .expect("true runs");
        let broken = std::os::fd::OwnedFd::from(reader.stdin.take().expect("piped stdin"));
        reader.wait().expect("true ends");
        let mut command = sandbox.command(&args);
        command.stdout(broken.try_clone().expect("dup")).stderr(broken);
        let out = sandbox.spawn(command).finish();
        assert_eq!(out.status.code(), Some(code), "{name}\n{}", out.describe());
        sandbox.assert_no_survivors();
    }
}

// ---------------------------------------------------------------------------------------
// Transparency (issue 13): the command gets the caller's signal dispositions and mask
// ---------------------------------------------------------------------------------------

/// `sh -c "trap '' INT PIPE HUP; exec [PREFIX...] grep SigIgn|SigBlk /proc/self/status"`.
fn signal_state(sandbox: &Sandbox, prefix: &[&str]) -> String {
    let inner = format!(
        "trap '' INT PIPE HUP; exec {} grep -E 'SigIgn|SigBlk' /proc/self/status",
        prefix.join(" ")
    );
    let out = sandbox.spawn(sandbox.command_of("sh", &["-c", &inner])).finish();
    out.assert_code(0);
    out.stdout_text()
}

#[test]
fn ignored_signals_and_the_mask_reach_the_command_unchanged() {
    let sandbox = Sandbox::new("inherit");
    let bin = format!("'{BIN}'");
    let direct = signal_state(&sandbox, &[]);
    let ignored = direct
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:\t"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .expect("a SigIgn line");
    assert_eq!(ignored & 0x1003, 0x1003, "HUP, INT and PIPE ignored: {direct}");
    assert_eq!(signal_state(&sandbox, &[&bin, "run", "--"]), direct);
    // coreutils timeout keeps SIGPIPE and the mask but catches INT, HUP and TERM itself, so
    // its command gets those back as defaults; FlowForge keeps them ignored (nohup, `cmd &`).
    assert_eq!(
        signal_state(&sandbox, &[&bin, "run", "--pty", "always", "--"]).replace('\r', ""),
        direct
    );
    // A blocked signal stays blocked (the shell cannot block one; python can).
    let blocked = |prefix: &[&str]| {
        let block = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1]); os.execvp(sys.argv[1], sys.argv[1:])";
        let mut args = vec!["-c", block];
        args.extend_from_slice(prefix);
        args.extend(["grep", "SigBlk", "/proc/self/status"]);
        let out = sandbox.spawn(sandbox.command_of(python(), &args)).finish();
        out.assert_code(0);
        out.stdout_text()
    };
    let direct = blocked(&[]);
    assert_eq!(direct, "SigBlk:\t0000000000000200\n");
    assert_eq!(blocked(&[BIN, "run", "--"]), direct);
    sandbox.assert_no_survivors();
}

/// Run as the command: writes to the caller's fd 7, then prints its own descriptors on one
/// line and its parent's (the shim's), one `N TARGET` per line.
const DESCRIPTORS: &str = r#"
import os
os.write(7, b"from-the-command\n")
def fds(pid):
    found = {}
    for n in os.listdir(f"/proc/{pid}/fd"):
        try:
            found[int(n)] = os.readlink(f"/proc/{pid}/fd/{n}")
        except OSError:
            pass
    return {fd: target for fd, target in found.items() if not target.startswith("/proc/")}
print(sorted(fds("self")))
for fd, target in sorted(fds(os.getppid()).items()):
    print(fd, target)
"#;

#[test]
fn the_callers_descriptors_reach_the_command_and_none_of_flowforges() {
    // A descriptor the caller left open (a make jobserver, a socket-activation fd) reaches
    // the command, as under timeout(1); FlowForge's own (its pipe ends, the store, the
    // control socket) reach neither the command nor the shim, which is a fork of FlowForge.
    let sandbox = Sandbox::new("descriptors");
    let through = sandbox.path("through-7");
    let run = |prefix: &str| {
        let outer = format!(
            "exec 7>'{}'; exec {prefix} '{}' -c \"$0\"",
            through.display(),
            python()
        );
        let out = sandbox
            .spawn(sandbox.command_of("sh", &["-c", &outer, DESCRIPTORS]))
            .finish();
        out.assert_code(0);
        let written = std::fs::read_to_string(&through).unwrap_or_default();
        assert_eq!(written, "from-the-command\n", "{}", out.describe());
        out
    };
    // What the caller passes down: fd 7, plus whatever the test runner itself inherited.
    let direct = run("").stdout_text();
    let passed = direct.lines().next().unwrap_or_default().to_string();
    assert!(passed.contains(" 7"), "the direct command has fd 7: {direct}");
    let out = run(&format!("'{BIN}' run --"));
    let text = out.stdout_text();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(passed.as_str()),
        "the command's descriptors\n{}",
        out.describe()
    );
    let shim: Vec<&str> = lines.collect();
    assert!(
        shim.len() >= 5,
        "the shim's descriptors are listed\n{}",
        out.describe()
    );
    for line in &shim {
        let (fd, target) = line.split_once(' ').unwrap_or((line, ""));
        let allowed = target == "/dev/null"
            || (fd == "3" && target.starts_with("socket:"))
            || passed.contains(&format!(" {fd},"))
            || passed.contains(&format!(" {fd}]"));
        assert!(
            allowed,
            "the shim holds one of FlowForge's descriptors ({line}):\n{text}"
        );
    }
    sandbox.assert_no_survivors();
}

#[test]
fn ignored_sigpipe_gives_the_command_epipe_like_timeout() {
    // `(trap '' PIPE; flowforge run -- yes | :)`: yes sees EPIPE, says so and exits 1.
    let run = |prefix: &str| {
        let sandbox = Sandbox::new("sigpipe-ignored");
        let mut reader = Command::new("true")
            .stdin(Stdio::piped())
            .spawn()
            .expect("true runs");
        let broken = std::os::fd::OwnedFd::from(reader.stdin.take().expect("piped stdin"));
        reader.wait().expect("true ends");
        let inner = format!("trap '' PIPE; exec {prefix} yes");
        let mut command = sandbox.command_of("sh", &["-c", &inner]);
        command.stdout(broken);
        let out = sandbox.spawn(command).finish();
        sandbox.assert_no_survivors();
        out
    };
    let timeout = run("timeout 10");
    let flowforge = run(&format!("'{BIN}' run --"));
    timeout.assert_code(1);
    flowforge.assert_code(1);
    assert!(
        flowforge.stderr_text().contains("Broken pipe"),
        "{}",
        flowforge.describe()
    );
}

// ---------------------------------------------------------------------------------------
// Fallbacks (issue 13): no pidfd, closed standard descriptors
// ---------------------------------------------------------------------------------------

#[test]
fn without_pidfd_sigchld_and_waitpid_carry_every_ending() {
    // FLOWFORGE_TEST_NO_PIDFD (debug builds only) makes FlowForge behave as on a kernel or
    // seccomp profile without pidfd_open.
    let cases: [(&[&str], i32); 4] = [
        (&["--", "sh", "-c", "exit 3"], 3),
        (&["--", "sh", "-c", "kill -KILL $$"], 137),
        (&["--timeout", "1s", "--", "sleep", "30"], 124),
        (
            &[
                "--kill-grace",
                "30s",
                "--",
                "sh",
                "-c",
                "sleep 60 >/dev/null 2>&1 & exit 0",
            ],
            0,
        ),
    ];
    for (flags, code) in cases {
        let sandbox = Sandbox::new("no-pidfd");
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        let mut command = sandbox.command(&args);
        command.env("FLOWFORGE_TEST_NO_PIDFD", "1");
        let out = sandbox.spawn(command).finish();
        assert_eq!(out.status.code(), Some(code), "{flags:?}\n{}", out.describe());
        sandbox.assert_no_survivors();
    }
}

#[test]
fn closed_stdio_at_start_is_reopened_on_dev_null() {
    // `flowforge run -- CMD <&- >&- 2>&-`: FlowForge's own fds 0-2 are /dev/null, not
    // whatever it opens first (the database, a pipe to the child).
    let sandbox = Sandbox::new("closed-at-start");
    let listing = sandbox.path("fds");
    let inner = format!(
        "ff=$(awk '{{print $4}}' /proc/$PPID/stat); for n in 0 1 2; do readlink /proc/$ff/fd/$n; done > '{}'",
        listing.display()
    );
    let script = format!("exec '{BIN}' run -- sh -c \"$1\" <&- >&- 2>&-");
    let out = sandbox
        .spawn(sandbox.command_of("sh", &["-c", &script, "sh", &inner]))
        .finish();
    out.assert_code(0);
    let fds = std::fs::read_to_string(&listing).expect("the command listed FlowForge's fds");
    assert_eq!(fds, "/dev/null\n/dev/null\n/dev/null\n");
    sandbox.assert_no_survivors();
}

// ---------------------------------------------------------------------------------------
// Evidence of what was lost, and automatic retention (issue 13)
// ---------------------------------------------------------------------------------------

#[test]
fn output_a_reader_never_took_is_in_the_record() {
    let sandbox = Sandbox::new("dropped-recorded");
    let (mut reader, pipe) = stalled_reader();
    let mut command = sandbox.command(&["run", "--no-detect", "--timeout", "1s", "--", "yes"]);
    command.stdout(pipe);
    let out = sandbox.spawn(command).finish();
    let _ = reader.kill();
    let _ = reader.wait();
    out.assert_code(124);
    let conn = rusqlite::Connection::open(sandbox.db()).expect("open the store");
    let dropped: i64 = conn
        .query_row(
            "SELECT json_extract(payload, '$.bytes') FROM events WHERE kind = 'output_dropped'",
            [],
            |r| r.get(0),
        )
        .expect("an output_dropped event");
    assert!(dropped > 0);
    let show = sandbox.run(&["show", "last"]);
    assert!(
        show.stdout_text().contains("outcome/output_dropped"),
        "{}",
        show.describe()
    );
}

#[test]
fn retention_deletes_old_runs_while_a_run_goes_on_and_says_so() {
    let sandbox = Sandbox::new("retention");
    sandbox.run(&["run", "--", "true"]).assert_code(0);
    let conn = rusqlite::Connection::open(sandbox.db()).expect("open the store");
    insert_old_run(&conn);
    // The run waits (no sleep for correctness) until its own retention event is committed.
    let wait = format!("until '{BIN}' events --json | grep -q '\"kind\":\"retention\"'; do sleep 0.1; done");
    let out = sandbox.run(&run_sh(&wait));
    out.assert_code(0);
    let runs: Vec<i64> = conn
        .prepare("SELECT id FROM runs ORDER BY id")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("list runs");
    assert_eq!(runs, vec![1, 3], "the 60-day-old run is gone, the others stay");
    let show = sandbox.run(&["show", "last"]);
    let text = show.stdout_text();
    assert!(
        text.contains("control/retention") && text.contains("deleted 1 old run"),
        "{text}"
    );
}

#[test]
fn retention_off_keeps_everything() {
    let sandbox = Sandbox::new("retention-off");
    sandbox.run(&["run", "--", "true"]).assert_code(0);
    let conn = rusqlite::Connection::open(sandbox.db()).expect("open the store");
    insert_old_run(&conn);
    let mut command = sandbox.command(&["run", "--", "sleep", "3"]);
    command.env("FLOWFORGE_RETENTION", "off");
    sandbox.spawn(command).finish().assert_code(0);
    let runs: i64 = conn
        .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
        .expect("count");
    assert_eq!(runs, 3);
}

/// A run (with one event) that ended 60 days ago, as run 2.
fn insert_old_run(conn: &rusqlite::Connection) {
    let ended: i64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
        - 60 * 24 * 3600 * 1000;
    conn.execute(
        "INSERT INTO runs (id, argv, cwd, started_at_ms, ended_at_ms, exit_code, outcome, mode, flowforge_version)
         VALUES (2, '[\"old\"]', '/', ?1, ?1, 0, 'exited', 'kill', 'test')",
        [ended],
    )
    .expect("insert an old run");
    conn.execute(
        "INSERT INTO events (run_id, at_ms, category, kind, actor, message)
         VALUES (2, ?1, 'lifecycle', 'started', 'supervisor', 'old')",
        [ended],
    )
    .expect("insert its event");
}

#[test]
fn terminal_that_vanishes_ends_with_129_and_nothing_left() {
    // FlowForge as the session leader on a terminal that is then closed: the kernel sends
    // SIGHUP, FlowForge forwards it, and writes to the dead terminal fail quietly.
    let sandbox = Sandbox::new("tty-vanishes");
    let program = r#"
import fcntl, os, pty, subprocess, sys, termios
master, slave = pty.openpty()
def own_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
run = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave, preexec_fn=own_terminal)
os.close(slave)
seen = b""
while b"ready" not in seen:
    seen += os.read(master, 100)
os.close(master)
print(run.wait(), flush=True)
"#;
    let args = [
        "-c",
        program,
        BIN,
        "run",
        "--",
        "sh",
        "-c",
        "echo ready; sleep 600",
    ];
    let out = sandbox.spawn(sandbox.command_of(python(), &args)).finish();
    out.assert_code(0);
    assert_eq!(out.stdout_text().trim(), "129", "{}", out.describe());
    sandbox.assert_no_survivors();
}
