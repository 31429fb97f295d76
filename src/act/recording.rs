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
    End { dropped: u64 },
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
    /// the evidence database does), and starts the writer thread.
    pub fn create(path: &Path) -> io::Result<Recording> {
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
            .spawn(move || write_records(file, receiver))?;
        Ok(Recording {
            sender,
            writer: Some(writer),
            written: MAGIC.len() as u64 + 1,
            dropped: 0,
            attempts: 0,
        })
    }

    fn push(&mut self, record: Vec<u8>) {
        if self.written + record.len() as u64 > MAX_RECORDING {
            self.dropped += 1;
            return;
        }
        let len = record.len() as u64;
        match self.sender.try_send(Message::Record(record)) {
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

fn write_records(mut file: BufWriter<File>, receiver: Receiver<Message>) -> io::Result<()> {
    for message in receiver {
        match message {
            Message::Record(bytes) => file.write_all(&bytes)?,
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
        let mut record = Vec::with_capacity(line.len() + 40);
        let _ = writeln!(
            record,
            "L {} {} {} {}",
            at.as_micros(),
            stream_letter(stream),
            u8::from(truncated),
            line.len()
        );
        record.extend_from_slice(line);
        record.push(b'\n');
        self.recording.push(record);
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
        let mut recording = Recording::create(&path).expect("create");
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
}
