//! Reading a saved log into timed observations: plain text at a fixed rate or by its own
//! timestamps (`stamps`), a `script -T`
//! typescript with its timing file, an asciinema v2 cast, or a FlowForge recording.
//!
//! Every reader streams: it holds one chunk (at most [`CHUNK`] bytes, or one cast event of
//! at most [`MAX_EVENT`]) and the splitter's partial line, so memory stays bounded whatever the
//! file holds. Bytes are never required to be UTF-8 — the detector reads bytes and skips what
//! does not look like text, as it does live. What cannot be read is an [`InputError`] naming
//! the place: a cast event that is not JSON, a recording cut short, a timing line that is not
//! two numbers.
//!
//! The format is recognised by its first line: `flowforge-recording 1` is a recording, a JSON
//! object with `"version": 2` is a cast, anything else is plain text (or a typescript, when
//! `--timing` is given).

use super::lines::Splitter;
use super::stamps::TextClock;
use crate::act::recording::MAGIC;
use crate::sample::{Sample, Stream};
use std::fmt;
use std::io::{self, BufRead, Read};
use std::time::Duration;

/// Bytes read at a time from plain text and typescripts.
const CHUNK: usize = 64 * 1024;

/// The longest cast event (one JSON line) accepted.
pub const MAX_EVENT: u64 = 16 * 1024 * 1024;

/// The longest line payload a recording may carry (a live line is at most 64 KiB).
const MAX_RECORDED_LINE: usize = 1024 * 1024;

/// One timed observation, in the order the detector would have seen it.
#[derive(Debug, PartialEq)]
pub enum Observation<'a> {
    Line {
        stream: Stream,
        line: &'a [u8],
        truncated: bool,
        at: Duration,
    },
    Gap(Stream),
    Sample(Sample),
    /// A recorded evaluation tick (recordings only; other formats tick every 250 ms).
    Check(Duration),
    /// A later attempt of the recorded run begins (its detector would start afresh).
    Attempt(u32),
}

/// What a reader says about how to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

#[derive(Debug)]
pub enum InputError {
    Io(io::Error),
    /// The input is not what its format requires; `place` says where.
    Format {
        place: String,
        what: String,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io(e) => write!(f, "cannot read the input: {e}"),
            InputError::Format { place, what } => write!(f, "{place}: {what}"),
        }
    }
}

impl From<io::Error> for InputError {
    fn from(e: io::Error) -> InputError {
        InputError::Io(e)
    }
}

fn format_error(place: impl Into<String>, what: impl Into<String>) -> InputError {
    InputError::Format {
        place: place.into(),
        what: what.into(),
    }
}

/// Which reader an input needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Cast,
    Recording,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "plain text",
            Kind::Cast => "asciinema v2 cast",
            Kind::Recording => "FlowForge recording",
        }
    }
}

/// Recognises the format from the buffered start of the input.
pub fn sniff(input: &mut dyn BufRead) -> io::Result<Kind> {
    let head = input.fill_buf()?;
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    if first == MAGIC.as_bytes() {
        return Ok(Kind::Recording);
    }
    if first.first() == Some(&b'{') {
        if let Ok(serde_json::Value::Object(header)) = serde_json::from_slice(first) {
            if header.get("version").and_then(|v| v.as_u64()) == Some(2) {
                return Ok(Kind::Cast);
            }
        }
    }
    Ok(Kind::Text)
}

/// Plain text, timed by `clock` (`stamps`): at a fixed rate, or by the log's own stamps.
pub fn read_text(
    input: &mut dyn Read,
    clock: &mut TextClock,
    emit: &mut dyn FnMut(Observation<'_>) -> Flow,
) -> Result<(), InputError> {
    let mut splitter = Splitter::default();
    let mut chunk = vec![0u8; CHUNK];
    let flow = std::cell::Cell::new(Flow::Continue);
    let mut timed = |line: &[u8], truncated: bool, at: Duration| {
        if flow.get() == Flow::Continue {
            flow.set(emit(Observation::Line {
                stream: Stream::Stdout,
                line,
                truncated,
                at,
            }));
        }
    };
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        splitter.feed(&chunk[..n], &mut |line, truncated| {
            clock.push(line, truncated, &mut timed)
        });
        if flow.get() == Flow::Stop {
            return Ok(());
        }
    }
    splitter.finish(&mut |line, truncated| clock.push(line, truncated, &mut timed));
    clock.finish(&mut timed);
    Ok(())
}

/// A typescript with its `script -T` timing file: classic `DELAY BYTES` lines, or the
/// multi-stream `O DELAY BYTES` form (input, header and signal entries are skipped).
pub fn read_typescript(
    typescript: &mut dyn BufRead,
    timing: &mut dyn BufRead,
    emit: &mut dyn FnMut(Observation<'_>) -> Flow,
) -> Result<(), InputError> {
    // `script` writes a "Script started on ..." header that the timing file does not cover.
    if typescript.fill_buf()?.starts_with(b"Script started on ") {
        let mut header = Vec::new();
        Read::take(&mut *typescript, 4096).read_until(b'\n', &mut header)?;
    }
    let mut splitter = Splitter::default();
    let mut at = Duration::ZERO;
    let mut entry = String::new();
    let mut chunk = vec![0u8; CHUNK];
    let mut number = 0u64;
    loop {
        entry.clear();
        number += 1;
        if Read::take(&mut *timing, 4096).read_line(&mut entry)? == 0 {
            break;
        }
        let fields: Vec<&str> = entry.split_whitespace().collect();
        let (delay, bytes) = match fields.as_slice() {
            [] => continue,
            [delay, bytes] => (*delay, *bytes),
            ["O", delay, bytes] => (*delay, *bytes),
            ["I" | "S" | "H", delay, ..] => (*delay, "0"),
            _ => {
                return Err(format_error(
                    format!("timing line {number}"),
                    format!("'{}' is not 'DELAY BYTES' (script -T format)", entry.trim_end()),
                ))
            }
        };
        let delay: f64 = delay
            .parse()
            .ok()
            .filter(|d: &f64| d.is_finite() && *d >= 0.0)
            .ok_or_else(|| format_error(format!("timing line {number}"), format!("bad delay '{delay}'")))?;
        let mut left: u64 = bytes.parse().map_err(|_| {
            format_error(
                format!("timing line {number}"),
                format!("bad byte count '{bytes}'"),
            )
        })?;
        at += Duration::from_secs_f64(delay.min(1e9));
        while left > 0 {
            let want = left.min(CHUNK as u64) as usize;
            let n = typescript.read(&mut chunk[..want])?;
            if n == 0 {
                return Err(format_error(
                    format!("timing line {number}"),
                    "the typescript ends before the bytes the timing file announces",
                ));
            }
            left -= n as u64;
            if feed_stdout(&mut splitter, &chunk[..n], at, emit) == Flow::Stop {
                return Ok(());
            }
        }
    }
    finish_stdout(&mut splitter, at, emit);
    Ok(())
}

/// An asciinema v2 cast: a header line, then `[time, "o", "data"]` events.
pub fn read_cast(
    input: &mut dyn BufRead,
    emit: &mut dyn FnMut(Observation<'_>) -> Flow,
) -> Result<(), InputError> {
    let mut splitter = Splitter::default();
    let mut event = Vec::new();
    let mut number = 0u64;
    let mut last = Duration::ZERO;
    loop {
        event.clear();
        number += 1;
        let n = Read::take(&mut *input, MAX_EVENT + 1).read_until(b'\n', &mut event)?;
        if n == 0 {
            break;
        }
        if n as u64 > MAX_EVENT {
            return Err(format_error(
                format!("cast line {number}"),
                "event longer than 16 MiB",
            ));
        }
        if number == 1 || event.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed: serde_json::Value = serde_json::from_slice(&event).map_err(|e| {
            format_error(
                format!("cast line {number}"),
                format!("not a JSON event ({e}); the cast may be truncated"),
            )
        })?;
        let (Some(time), Some(code), Some(data)) = (
            parsed.get(0).and_then(|t| t.as_f64()),
            parsed.get(1).and_then(|c| c.as_str()),
            parsed.get(2).and_then(|d| d.as_str()),
        ) else {
            return Err(format_error(
                format!("cast line {number}"),
                "not a [time, code, data] event",
            ));
        };
        if code != "o" || !time.is_finite() || time < 0.0 {
            continue;
        }
        last = last.max(Duration::from_secs_f64(time.min(1e9)));
        if feed_stdout(&mut splitter, data.as_bytes(), last, emit) == Flow::Stop {
            return Ok(());
        }
    }
    finish_stdout(&mut splitter, last, emit);
    Ok(())
}

/// Feeds `bytes` that arrived at `at` on stdout (typescripts and casts carry no stderr);
/// every complete line goes to `emit` until it says stop.
fn feed_stdout(
    splitter: &mut Splitter,
    bytes: &[u8],
    at: Duration,
    emit: &mut dyn FnMut(Observation<'_>) -> Flow,
) -> Flow {
    let mut flow = Flow::Continue;
    splitter.feed(bytes, &mut |line, truncated| {
        if flow == Flow::Continue {
            flow = emit(Observation::Line {
                stream: Stream::Stdout,
                line,
                truncated,
                at,
            });
        }
    });
    flow
}

/// The last, unterminated stdout line at the end of the input, if any.
fn finish_stdout(splitter: &mut Splitter, at: Duration, emit: &mut dyn FnMut(Observation<'_>) -> Flow) {
    splitter.finish(&mut |line, truncated| {
        emit(Observation::Line {
            stream: Stream::Stdout,
            line,
            truncated,
            at,
        });
    });
}

fn stream_of(letter: &str, place: &str) -> Result<Stream, InputError> {
    match letter {
        "o" => Ok(Stream::Stdout),
        "e" => Ok(Stream::Stderr),
        other => Err(format_error(place, format!("unknown stream '{other}'"))),
    }
}

fn micros(text: &str, place: &str) -> Result<Duration, InputError> {
    text.parse()
        .map(Duration::from_micros)
        .map_err(|_| format_error(place, format!("bad time '{text}'")))
}

/// A FlowForge recording (format in `act::recording`). Returns the number of dropped
/// records it announces; a recording without its end mark is truncated, which is an error.
pub fn read_recording(
    input: &mut dyn BufRead,
    emit: &mut dyn FnMut(Observation<'_>) -> Flow,
) -> Result<u64, InputError> {
    let mut header = String::new();
    let mut number = 0u64;
    let mut payload = Vec::new();
    let mut dropped = 0;
    let truncated = || {
        format_error(
            "recording",
            "truncated: it ends without its end mark (was flowforge killed?)",
        )
    };
    loop {
        header.clear();
        number += 1;
        let place = format!("recording line {number}");
        if Read::take(&mut *input, 4096).read_line(&mut header)? == 0 {
            return Err(truncated());
        }
        if !header.ends_with('\n') {
            return Err(truncated());
        }
        let fields: Vec<&str> = header.split_whitespace().collect();
        let flow = match fields.as_slice() {
            [magic, version] if number == 1 && format!("{magic} {version}") == MAGIC => Flow::Continue,
            ["L", at, stream, cut, len] => {
                let len: usize = len
                    .parse()
                    .ok()
                    .filter(|&l| l <= MAX_RECORDED_LINE)
                    .ok_or_else(|| format_error(&place, format!("bad line length '{len}'")))?;
                payload.resize(len + 1, 0);
                input.read_exact(&mut payload).map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => truncated(),
                    _ => InputError::Io(e),
                })?;
                number += 1;
                if payload[len] != b'\n' {
                    return Err(format_error(&place, "line payload not followed by a newline"));
                }
                emit(Observation::Line {
                    stream: stream_of(stream, &place)?,
                    line: &payload[..len],
                    truncated: *cut == "1",
                    at: micros(at, &place)?,
                })
            }
            ["G", stream] => emit(Observation::Gap(stream_of(stream, &place)?)),
            ["S", at, cpu, rss, processes] => {
                let bad = |what: &str| format_error(&place, format!("bad sample {what}"));
                emit(Observation::Sample(Sample {
                    at: micros(at, &place)?,
                    cpu_percent: cpu
                        .parse()
                        .ok()
                        .filter(|c: &f64| c.is_finite())
                        .ok_or_else(|| bad("CPU"))?,
                    rss_bytes: rss.parse().map_err(|_| bad("RSS"))?,
                    processes: processes.parse().map_err(|_| bad("process count"))?,
                    stdout_bytes: 0,
                    stderr_bytes: 0,
                    lines: 0,
                }))
            }
            ["C", at] => emit(Observation::Check(micros(at, &place)?)),
            ["A", attempt] => {
                let attempt = attempt
                    .parse()
                    .map_err(|_| format_error(&place, format!("bad attempt '{attempt}'")))?;
                emit(Observation::Attempt(attempt))
            }
            ["D", n] => {
                dropped = n
                    .parse()
                    .map_err(|_| format_error(&place, format!("bad drop count '{n}'")))?;
                Flow::Continue
            }
            ["E"] => return Ok(dropped),
            _ if number == 1 => return Err(format_error(&place, "not a FlowForge recording")),
            _ => {
                return Err(format_error(
                    &place,
                    format!("unknown record '{}'", header.trim_end()),
                ))
            }
        };
        if flow == Flow::Stop {
            return Ok(dropped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_recording(bytes: &[u8]) -> Result<Vec<String>, InputError> {
        let mut out = Vec::new();
        read_recording(&mut &bytes[..], &mut |o| {
            out.push(format!("{o:?}"));
            Flow::Continue
        })?;
        Ok(out)
    }

    #[test]
    fn a_recording_round_trips_raw_bytes() {
        let out =
            collect_recording(b"flowforge-recording 1\nA 1\nL 1500000 e 0 5\na\xff\0b\n\nC 1750000\nE\n")
                .expect("reads");
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(
            out[1].contains("line: [97, 255, 0, 98, 10]") || out[1].contains("Stderr"),
            "{out:?}"
        );
    }

    #[test]
    fn a_cut_recording_is_an_error_not_a_panic() {
        let full = b"flowforge-recording 1\nA 1\nL 1500000 o 0 20\n0123456789";
        for cut in 0..full.len() {
            assert!(collect_recording(&full[..cut]).is_err(), "cut at {cut}");
        }
        let err = collect_recording(b"flowforge-recording 1\nC 1\n").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn casts_and_timings_are_recognised_and_timed() {
        let cast = b"{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.5, \"o\", \"hello\\r\\n\"]\n[1.25, \"o\", \"wor\"]\n[2.0, \"o\", \"ld\\n\"]\n";
        assert_eq!(sniff(&mut &cast[..]).expect("sniff"), Kind::Cast);
        let mut lines = Vec::new();
        read_cast(&mut &cast[..], &mut |o| {
            if let Observation::Line { line, at, .. } = o {
                lines.push((String::from_utf8_lossy(line).into_owned(), at));
            }
            Flow::Continue
        })
        .expect("reads");
        assert_eq!(
            lines,
            [
                ("hello".into(), Duration::from_millis(500)),
                ("world".into(), Duration::from_secs(2))
            ]
        );
        let mut broken = cast.to_vec();
        broken.extend_from_slice(b"[3.0, \"o\", \"tru");
        assert!(read_cast(&mut &broken[..], &mut |_| Flow::Continue).is_err());

        let typescript = b"Script started on 2024-06-01 10:00:00+00:00\nab\ncd\nef\n";
        let timing = b"0.5 3\n1.0 6\n";
        let mut times = Vec::new();
        read_typescript(&mut &typescript[..], &mut &timing[..], &mut |o| {
            if let Observation::Line { at, .. } = o {
                times.push(at);
            }
            Flow::Continue
        })
        .expect("reads");
        assert_eq!(
            times,
            [
                Duration::from_millis(500),
                Duration::from_millis(1500),
                Duration::from_millis(1500)
            ]
        );
        assert!(read_typescript(&mut &b"ab\n"[..], &mut &b"0.1 9\n"[..], &mut |_| Flow::Continue).is_err());
    }
}
