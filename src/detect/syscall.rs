//! Is a line a system-call trace of a process waiting out its timer?
//!
//! `strace -tt -f -p <pid>` of an idle server prints the server's event loop as it waits:
//! `poll([{fd=3, events=POLLIN}], 1, 100) = 0 (Timeout)` ten times a second from a Python
//! server's `serve_forever(poll_interval=0.1)`, Redis's `epoll_wait(5, [], 10128, 100) = 0`
//! between its reads of `/proc/self/stat`, a thread's `futex(...) = -1 ETIMEDOUT
//! (Connection timed out)`. The trace repeats exactly, as fast as the timer ticks, and its
//! `Timeout` reads like a failure word. But each such line records another process sleeping
//! through a wait with nothing to do: a wait, not a failure, and the timeout it shows is the
//! pace the trace keeps, as a display's `(every 0.2s)` is. So the line's wording is a wait,
//! and its timeout the interval the scorer checks the passes against (a display on its own
//! timer, `score`). A traced process that spins does not wait out a timeout between its
//! passes (a wait with a zero timeout returns at once and is no wait), and one retrying a
//! refused `connect` reports `ECONNREFUSED`, which stays a failure.
//!
//! strace's line: an optional `[pid N]` or bare pid (`-f`), an optional time (`-t`, `-tt`,
//! `-ttt`, `-r`), the call with its arguments as C literals (`[...]`, `{tv_sec=0,
//! tv_nsec=100000000}`, quoted strings), then ` = ` and the result, an errno name and its
//! message in parentheses.

/// A traced wait that ran out its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOutWait {
    /// The timeout it waited, when the call shows it relative to now.
    pub timeout_ms: Option<u32>,
}

/// Where a call's timeout stands among its arguments, and how it is written.
#[derive(Clone, Copy)]
enum Timeout {
    /// Milliseconds, as an integer argument (`poll`, `epoll_wait`).
    Millis(usize),
    /// A `struct timespec` or `timeval` (`select`, `ppoll`, `nanosleep`).
    Struct(usize),
    /// A relative timespec when the flags before it are 0 (`clock_nanosleep`).
    RelativeStruct(usize),
    /// Not shown in a way that says how long (`futex`'s absolute deadlines).
    Unknown,
}

/// The calls a process blocks in to wait for events or time, and where their timeout is.
const WAITS: [(&str, Timeout); 10] = [
    ("poll", Timeout::Millis(2)),
    ("epoll_wait", Timeout::Millis(3)),
    ("epoll_pwait", Timeout::Millis(3)),
    ("epoll_pwait2", Timeout::Struct(3)),
    ("ppoll", Timeout::Struct(2)),
    ("select", Timeout::Struct(4)),
    ("pselect6", Timeout::Struct(4)),
    ("nanosleep", Timeout::Struct(0)),
    ("clock_nanosleep", Timeout::RelativeStruct(2)),
    ("futex", Timeout::Unknown),
];

/// The wait that `line` traces, when it is a system-call trace line of a wait that timed
/// out: `= 0` (no event, or a sleep done) or `= -1 ETIMEDOUT`.
pub fn timed_out_wait(line: &[u8]) -> Option<TimedOutWait> {
    let Call {
        name,
        args,
        result,
        resumed,
    } = call(line)?;
    let &(_, timeout) = WAITS
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .expect("call() reads waits only");
    // A resumed call shows only its last arguments, and a timeout already partly spent.
    let timeout = if resumed { Timeout::Unknown } else { timeout };
    let timed_out = match result {
        [b'0'] => true,
        _ if result.starts_with(b"0 (Timeout)") => true,
        _ => result.starts_with(b"-1 ETIMEDOUT"),
    };
    if !timed_out {
        return None;
    }
    let args = arguments(args);
    let arg = |i: usize| args.get(i).copied();
    let seconds = match timeout {
        Timeout::Millis(i) => arg(i).and_then(integer).map(|ms| ms as f64 / 1000.0),
        Timeout::Struct(i) => arg(i).and_then(timespec),
        Timeout::RelativeStruct(i) if arg(i - 1) == Some(b"0") => arg(i).and_then(timespec),
        Timeout::RelativeStruct(_) | Timeout::Unknown => None,
    };
    if seconds == Some(0.0) {
        // A zero timeout polls and returns at once: the process did not wait.
        return None;
    }
    Some(TimedOutWait {
        timeout_ms: seconds
            .filter(|s| *s > 0.0 && *s < 86_400.0)
            .map(|s| (s * 1000.0).round() as u32),
    })
}

/// One call as a trace line shows it.
struct Call<'a> {
    name: &'a [u8],
    /// The argument text, without the parentheses.
    args: &'a [u8],
    /// What follows ` = `: the return value, an errno name and its message.
    result: &'a [u8],
    /// The line is the end of a call begun on an earlier one (`<... poll resumed>`).
    resumed: bool,
}

/// The call a trace line shows, when it is one of the `WAITS`.
fn call(line: &[u8]) -> Option<Call<'_>> {
    let line = line.trim_ascii();
    let mut rest = line;
    // `[pid 14504] `, a bare pid, a time: whatever comes before the call.
    if let Some(after) = rest.strip_prefix(b"[pid ") {
        let close = after.iter().position(|&b| b == b']')?;
        rest = after[close + 1..].trim_ascii_start();
    }
    while let Some(space) = rest.iter().position(|&b| b == b' ') {
        let word = &rest[..space];
        if word.is_empty()
            || !word
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b'.' || *b == b':')
        {
            break;
        }
        rest = rest[space..].trim_ascii_start();
    }
    // `<... epoll_wait resumed>[], 10128, 83) = 0`: the end of a call another thread's
    // line interrupted (`-f`), its first arguments on the line that began it.
    let (name, body) = if let Some(resumed) = rest.strip_prefix(b"<... ") {
        let end = resumed.windows(9).position(|w| w == b" resumed>")?;
        (&resumed[..end], &resumed[end + 9..])
    } else {
        let open = rest.iter().position(|&b| b == b'(')?;
        (&rest[..open], &rest[open + 1..])
    };
    // Only waits are read further: most lines are no trace at all, and stop here.
    if !WAITS.iter().any(|(wait, _)| wait.as_bytes() == name) {
        return None;
    }
    let equals = body.windows(4).rposition(|w| w == b") = ")?;
    Some(Call {
        name,
        args: &body[..equals],
        result: body[equals + 4..].trim_ascii(),
        resumed: rest.starts_with(b"<... "),
    })
}

/// The top-level arguments of a call, split at commas outside brackets, braces and quotes.
fn arguments(args: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0);
    for (i, &b) in args.iter().enumerate() {
        if quoted {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'[' | b'{' | b'(' => depth += 1,
            b']' | b'}' | b')' => depth -= 1,
            b',' if depth == 0 => {
                out.push(args[start..i].trim_ascii());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(args[start..].trim_ascii());
    out
}

fn integer(s: &[u8]) -> Option<u64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `{tv_sec=0, tv_nsec=100000000}` or `{tv_sec=0, tv_usec=500000}`, in seconds.
fn timespec(s: &[u8]) -> Option<f64> {
    let inner = s.strip_prefix(b"{")?.strip_suffix(b"}")?;
    let (mut seconds, mut fraction) = (None, None);
    for field in inner.split(|&b| b == b',') {
        let field = field.trim_ascii();
        if let Some(v) = field.strip_prefix(b"tv_sec=") {
            seconds = integer(v).map(|v| v as f64);
        } else if let Some(v) = field.strip_prefix(b"tv_nsec=") {
            fraction = integer(v).map(|v| v as f64 / 1e9);
        } else if let Some(v) = field.strip_prefix(b"tv_usec=") {
            fraction = integer(v).map(|v| v as f64 / 1e6);
        }
    }
    Some(seconds? + fraction?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(line: &str) -> Option<Option<u32>> {
        timed_out_wait(line.as_bytes()).map(|w| w.timeout_ms)
    }

    #[test]
    fn a_traced_wait_that_timed_out_is_read_with_its_timeout() {
        // Python's `serve_forever(poll_interval=0.1)` and Redis at `hz 10`, as strace -tt -f
        // prints them.
        assert_eq!(
            timeout("13:47:27.376888 poll([{fd=3, events=POLLIN}], 1, 100) = 0 (Timeout)"),
            Some(Some(100))
        );
        assert_eq!(
            timeout("17513 13:45:31.454317 epoll_wait(5, [], 10128, 100) = 0"),
            Some(Some(100))
        );
        assert_eq!(
            timeout("[pid 14504] 13:46:35.412160 epoll_wait(8, [], 1, 200) = 0"),
            Some(Some(200))
        );
        assert_eq!(
            timeout("select(4, [3], NULL, NULL, {tv_sec=0, tv_usec=500000}) = 0 (Timeout)"),
            Some(Some(500))
        );
        assert_eq!(
            timeout("1733233531.370590 nanosleep({tv_sec=1, tv_nsec=0}, NULL) = 0"),
            Some(Some(1000))
        );
        assert_eq!(
            timeout("clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=250000000}, NULL) = 0"),
            Some(Some(250))
        );
        // An absolute deadline says nothing of the pace; still a wait.
        assert_eq!(
            timeout(
                "[pid 8812] futex(0x7f1a78e16630, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, {tv_sec=1733233532, tv_nsec=0}, FUTEX_BITSET_MATCH_ANY) = -1 ETIMEDOUT (Connection timed out)"
            ),
            Some(None)
        );
        assert_eq!(
            timeout("17513 13:45:31.453948 <... epoll_wait resumed>[], 10128, 83) = 0"),
            Some(None),
            "what is left of a timeout says nothing of the pace"
        );
    }

    #[test]
    fn events_failures_and_zero_timeouts_are_no_timed_out_wait() {
        for line in [
            // An event arrived: the process works.
            "epoll_wait(5, [{events=EPOLLIN, data={u32=7, u64=7}}], 10128, 100) = 1",
            // A zero timeout returns at once: a process spinning on its poll.
            "epoll_pwait(4, [], 128, 0, NULL, 0) = 0",
            // A refused connect is a failure, whatever the call.
            "connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = -1 ECONNREFUSED (Connection refused)",
            "read(8, \"17513 (redis-server) R 1\"..., 4095) = 316",
            // Not a trace line.
            "ERROR poll(queue) = 0 items after timeout",
            "progress: 1.0 s, 1631.8 tps, lat 1.213 ms stddev 0.461, 0 failed",
        ] {
            assert_eq!(timeout(line), None, "{line}");
        }
    }
}
