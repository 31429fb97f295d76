//! `flowforge run --record FILE`: everything the detector was fed, with its time, so that
//! `flowforge replay FILE` can feed the same detector the same observations later.
//!
//! The recording wraps the run's [`Watch`] and copies each callback — a line (stream, time,
//! whether it was cut, its bytes), a gap, a tree sample, an evaluation tick, the start of an
//! attempt — into a small text format whose line payloads are length-prefixed raw bytes, so
//! invalid UTF-8 and NUL bytes survive exactly (the detector sees bytes, not strings):
//!
//! ```text
//! flowforge-recording 1
//! A 1                                     attempt 1 begins (times restart at 0)
//! L <micros> <o|e> <0|1: cut> <len>\n<len bytes>\n
//! G <o|e>                                 lines of that stream went unanalysed (flood)
//! S <micros> <cpu %> <rss bytes> <processes>
//! C <micros>                              the supervisor asked for a decision
//! D <n>                                   n records were dropped (buffer full or size cap)
//! E                                       the recording ended cleanly
//! ```
//!
//! Writing must never slow the loop down: the loop thread only formats a record and hands
//! it to a bounded channel with `try_send`; a writer thread owns the file. When the channel
//! is full (a slow disk under a flood) or the file reached [`MAX_RECORDING`] bytes, the record
//! is dropped and counted, and the count is written at the end. A recording without its `E`
//! line was cut short (the process was killed), which `replay` reports as truncated.
//!
//! Like everything else FlowForge stores, a recording is redacted (unless `--no-redact`):
//! the writer thread passes each line through the evidence redactor, one redactor for the
//! whole file so a PEM block split over lines is still caught. A line without a secret keeps
//! its exact bytes; a redacted one is written as its redacted text, which the detector reads
//! the same way (a secret is masked like any other variable field).

use crate::sample::{Sample, Stream};
use crate::supervise::{StopRequest, Watch};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

/// First line of every recording.
pub const MAGIC: &str = "flowforge-recording 1";

/// A recording stops growing here; later records are counted as dropped.
pub const MAX_RECORDING: u64 = 256 * 1024 * 1024;

/// Records in flight between the loop and the writer thread.
const CHANNEL_RECORDS: usize = 8192;

enum Message {
    Record(Vec<u8>),
    /// An `L` record, formatted on the writer thread once its bytes are redacted.
    Line {
        at_micros: u128,
        stream: char,
        truncated: bool,
        bytes: Vec<u8>,
    },
    End {
        dropped: u64,
    },
}

/// An open recording: the sending half, the writer thread and the drop count.
pub struct Recording {
    sender: SyncSender<Message>,
    writer: Option<JoinHandle<io::Result<()>>>,
    written: u64,
    dropped: u64,
    attempts: u32,
}

impl Recording {
    /// Creates (truncates) `path`, private to the user (0600: it holds the job's output, as
    /// the evidence database does), and starts the writer thread, which redacts each line
    /// when `redact` is set.
    pub fn create(path: &Path, redact: bool) -> io::Result<Recording> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        let mut file = BufWriter::with_capacity(256 * 1024, file);
        writeln!(file, "{MAGIC}")?;
        let (sender, receiver) = sync_channel(CHANNEL_RECORDS);
        let writer = std::thread::Builder::new()
            .name("flowforge-record".into())
            .spawn(move || write_records(file, receiver, redact))?;
        Ok(Recording {
            sender,
            writer: Some(writer),
            written: MAGIC.len() as u64 + 1,
            dropped: 0,
            attempts: 0,
        })
    }

    fn push(&mut self, record: Vec<u8>) {
        let len = record.len() as u64;
        self.send(Message::Record(record), len);
    }

    /// Queues `message` of about `len` bytes, or counts it dropped.
    fn send(&mut self, message: Message, len: u64) {
        if self.written + len > MAX_RECORDING {
            self.dropped += 1;
            return;
        }
        match self.sender.try_send(message) {
            Ok(()) => self.written += len,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => self.dropped += 1,
        }
    }

    pub fn begin_attempt(&mut self) {
        self.attempts += 1;
        self.push(format!("A {}\n", self.attempts).into_bytes());
    }

    /// Writes the drop count and the end mark, and waits for the writer thread.
    pub fn finish(mut self) -> io::Result<u64> {
        let dropped = self.dropped;
        // The loop is over: waiting for room in the channel is fine now.
        let _ = self.sender.send(Message::End { dropped });
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result.map(|()| dropped),
            Some(Err(_)) => Err(io::Error::other("the recording writer thread panicked")),
            None => Ok(dropped),
        }
    }
}

fn write_records(mut file: BufWriter<File>, receiver: Receiver<Message>, redact: bool) -> io::Result<()> {
    let mut redactor = crate::evidence::redact::Redactor::new();
    for message in receiver {
        match message {
            Message::Record(bytes) => file.write_all(&bytes)?,
            Message::Line {
                at_micros,
                stream,
                truncated,
                bytes,
            } => {
                let redacted = if redact {
                    let text = String::from_utf8_lossy(&bytes);
                    match redactor.text(&text) {
                        std::borrow::Cow::Borrowed(_) => None,
                        std::borrow::Cow::Owned(clean) => Some(clean.into_bytes()),
                    }
                } else {
                    None
                };
                let line = redacted.as_deref().unwrap_or(&bytes);
                writeln!(
                    file,
                    "L {at_micros} {stream} {} {}",
                    u8::from(truncated),
                    line.len()
                )?;
                file.write_all(line)?;
                file.write_all(b"\n")?;
            }
            Message::End { dropped } => {
                if dropped > 0 {
                    writeln!(file, "D {dropped}")?;
                }
                writeln!(file, "E")?;
                break;
            }
        }
    }
    file.flush()
}

fn stream_letter(stream: Stream) -> char {
    match stream {
        Stream::Stdout => 'o',
        Stream::Stderr => 'e',
    }
}

/// A [`Watch`] that records every observation, then hands it to the real one.
pub struct Recorded<'a> {
    inner: &'a mut dyn Watch,
    recording: &'a mut Recording,
}

impl<'a> Recorded<'a> {
    pub fn new(inner: &'a mut dyn Watch, recording: &'a mut Recording) -> Recorded<'a> {
        Recorded { inner, recording }
    }
}

impl Watch for Recorded<'_> {
    fn started(&mut self, pid: i32) {
        self.inner.started(pid);
    }

    fn line(&mut self, stream: Stream, line: &[u8], truncated: bool, at: Duration) {
        let message = Message::Line {
            at_micros: at.as_micros(),
            stream: stream_letter(stream),
            truncated,
            bytes: line.to_vec(),
        };
        self.recording.send(message, line.len() as u64 + 40);
        self.inner.line(stream, line, truncated, at);
    }

    fn gap(&mut self, stream: Stream) {
        self.recording
            .push(format!("G {}\n", stream_letter(stream)).into_bytes());
        self.inner.gap(stream);
    }

    fn sample(&mut self, sample: &Sample) {
        self.recording.push(
            format!(
                "S {} {:.3} {} {}\n",
                sample.at.as_micros(),
                sample.cpu_percent,
                sample.rss_bytes,
                sample.processes
            )
            .into_bytes(),
        );
        self.inner.sample(sample);
    }

    fn check(&mut self, at: Duration) -> Option<StopRequest> {
        self.recording
            .push(format!("C {}\n", at.as_micros()).into_bytes());
        self.inner.check(at)
    }

    fn signal_forwarded(&mut self, signal: i32) {
        self.inner.signal_forwarded(signal);
    }

    // What only steers the loop's timing passes through unrecorded: a recorded run must be
    // woken by a user's stop and by its limits exactly as an unrecorded one.
    fn wake_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.wake_fd()
    }

    fn check_soon(&self) -> bool {
        self.inner.check_soon()
    }

    fn deadline(&self) -> Option<std::time::Instant> {
        self.inner.deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl Watch for Nothing {
        fn line(&mut self, _: Stream, _: &[u8], _: bool, _: Duration) {}
        fn sample(&mut self, _: &Sample) {}
        fn check(&mut self, _: Duration) -> Option<StopRequest> {
            None
        }
    }

    #[test]
    fn records_lines_as_raw_bytes_and_ends_cleanly() {
        let dir = std::env::temp_dir().join(format!("ff-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("r.ffrec");
        let mut recording = Recording::create(&path, true).expect("create");
        recording.begin_attempt();
        let mut inner = Nothing;
        let mut watch = Recorded::new(&mut inner, &mut recording);
        watch.line(
            Stream::Stderr,
            b"bad \xff\0 bytes",
            false,
            Duration::from_millis(1500),
        );
        watch.gap(Stream::Stdout);
        watch.check(Duration::from_millis(1750));
        assert_eq!(recording.finish().expect("finish"), 0);
        let bytes = std::fs::read(&path).expect("read");
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).expect("stat").permissions());
        assert_eq!(
            mode & 0o777,
            0o600,
            "the recording holds the job's output: private"
        );
        assert_eq!(
            bytes,
            b"flowforge-recording 1\nA 1\nL 1500000 e 0 12\nbad \xff\0 bytes\nG o\nC 1750000\nE\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn secrets_are_redacted_in_a_recording_unless_asked_not_to() {
        let dir = std::env::temp_dir().join(format!("ff-rec-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let line = format!("curl -H 'Authorization: token {token}' failed: 401, retrying");
        for redact in [true, false] {
            let path = dir.join(format!("r-{redact}.ffrec"));
            let mut recording = Recording::create(&path, redact).expect("create");
            recording.begin_attempt();
            let mut inner = Nothing;
            let mut watch = Recorded::new(&mut inner, &mut recording);
            watch.line(Stream::Stdout, line.as_bytes(), false, Duration::from_millis(10));
            watch.line(
                Stream::Stdout,
                b"plain \xff line",
                false,
                Duration::from_millis(20),
            );
            assert_eq!(recording.finish().expect("finish"), 0);
            let bytes = std::fs::read(&path).expect("read");
            let text = String::from_utf8_lossy(&bytes);
            assert_eq!(text.contains(token), !redact, "{text}");
            assert_eq!(text.contains("[REDACTED:"), redact, "{text}");
            // A line without a secret keeps its exact bytes, invalid UTF-8 included.
            assert!(bytes.windows(12).any(|w| w == b"plain \xff line"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
