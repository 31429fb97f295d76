//! The loop itself in the record: the last raw lines of a run, and the excerpt a decision
//! carries — the repeating lines of the cycle and the last lines before the stop.
//!
//! The detector keeps templates, hashes and counts, not the lines (that is what keeps it
//! cheap), so "what exactly was it repeating?" is answered here: [`RecentLines`] keeps the
//! last [`KEPT_LINES`] analysed lines as the child wrote them, in a ring of reused buffers,
//! each cut to [`LINE_BYTES`]. Per line that is one copy of at most a kilobyte into memory
//! already allocated; nothing else happens until a decision is made. Then
//! [`RecentLines::excerpt`] takes the detector's period and stream from the reason's
//! numbers, picks the last `period` text lines of that stream (one whole pass of the cycle,
//! at most [`CYCLE_LINES`] lines and [`CYCLE_BYTES`] bytes, in order, each with its
//! stream), and the last [`LAST_LINES`] lines of the run.
//!
//! The excerpt is redacted before it is recorded, and by one [`Redactor`] fed the whole
//! ring in order, oldest first: a PEM private key printed over thirty lines is recognised
//! from its `BEGIN` line even when the excerpt starts in the middle of it. A line is cut at
//! its last space before [`LINE_BYTES`], never inside a word, so a token is either kept
//! whole (and redacted whole) or dropped whole. Terminal escapes are removed, so `flowforge
//! show` cannot be made to move the cursor of whoever reads it.

use crate::detect;
use crate::evidence::redact::Redactor;
use crate::sample::Stream;
use serde_json::{json, Value};
use std::collections::VecDeque;

/// Lines kept in the ring: enough for a 40-line cycle and a 4096-bit PEM key before it.
pub const KEPT_LINES: usize = 128;
/// Bytes of one line kept.
pub const LINE_BYTES: usize = 1024;
/// Most lines of the cycle recorded.
pub const CYCLE_LINES: usize = 40;
/// Most bytes of the cycle recorded.
pub const CYCLE_BYTES: usize = 8 * 1024;
/// Lines recorded from the end of the output.
pub const LAST_LINES: usize = 10;

struct Kept {
    stream: Stream,
    bytes: Vec<u8>,
    /// The line was longer than what is kept.
    cut: bool,
}

/// The last lines of a run, as written.
pub struct RecentLines {
    lines: VecDeque<Kept>,
}

/// One line of an excerpt, ready to record.
#[derive(Debug, Clone, PartialEq)]
pub struct ExcerptLine {
    pub stream: Stream,
    pub text: String,
    pub cut: bool,
}

impl ExcerptLine {
    fn to_json(&self) -> Value {
        let mut line = json!({"stream": stream_name(self.stream), "line": self.text});
        if self.cut {
            line["cut"] = json!(true);
        }
        line
    }
}

fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    }
}

impl Default for RecentLines {
    fn default() -> Self {
        RecentLines::new()
    }
}

impl RecentLines {
    pub fn new() -> RecentLines {
        RecentLines {
            lines: VecDeque::with_capacity(KEPT_LINES),
        }
    }

    pub fn clear(&mut self) {
        self.lines.clear();
    }

    /// Keeps `line`, dropping the oldest when full; reuses the dropped line's buffer.
    pub fn push(&mut self, stream: Stream, line: &[u8], truncated: bool) {
        let mut kept = if self.lines.len() == KEPT_LINES {
            self.lines.pop_front().expect("a full ring has a front")
        } else {
            Kept {
                stream,
                bytes: Vec::new(),
                cut: false,
            }
        };
        kept.stream = stream;
        kept.bytes.clear();
        let cut = line.len() > LINE_BYTES;
        let end = if cut { cut_at_space(line) } else { line.len() };
        kept.bytes.extend_from_slice(&line[..end]);
        kept.cut = cut || truncated;
        self.lines.push_back(kept);
    }

    /// The text lines of the ring, oldest first, decorations removed, redacted by one
    /// redactor when `redact` is set.
    fn texts(&self, redact: bool) -> Vec<ExcerptLine> {
        let mut redactor = Redactor::new();
        let mut plain = Vec::new();
        self.lines
            .iter()
            .filter(|kept| detect::is_text_line(&kept.bytes))
            .map(|kept| {
                detect::display_text(&kept.bytes, &mut plain);
                let text = String::from_utf8_lossy(&plain);
                let text = if redact {
                    redactor.line(&text).into_owned()
                } else {
                    text.into_owned()
                };
                ExcerptLine {
                    stream: kept.stream,
                    text,
                    cut: kept.cut,
                }
            })
            .collect()
    }

    /// The cycle (when `numbers` names a period) and the last lines, as JSON fields to add
    /// to a decision's payload.
    pub fn excerpt(&self, numbers: &Value, redact: bool) -> Vec<(&'static str, Value)> {
        let lines = self.texts(redact);
        let mut fields = Vec::new();
        let period = numbers.get("period").and_then(Value::as_u64).unwrap_or(0) as usize;
        if period > 0 {
            let stream = match numbers.get("stream").and_then(Value::as_str) {
                Some("stdout") => Some(Stream::Stdout),
                Some("stderr") => Some(Stream::Stderr),
                _ => None,
            };
            let (cycle, whole) = cycle_of(&lines, stream, period);
            fields.push(("cycle", Value::Array(cycle.iter().map(|l| l.to_json()).collect())));
            fields.push(("cycle_complete", json!(whole)));
        }
        let start = lines.len().saturating_sub(LAST_LINES);
        let last = lines[start..].iter().map(ExcerptLine::to_json).collect();
        fields.push(("last_lines", Value::Array(last)));
        fields
    }
}

/// The last `period` lines of `stream` (both when `None`), within the line and byte caps;
/// and whether that is the whole cycle.
fn cycle_of(lines: &[ExcerptLine], stream: Option<Stream>, period: usize) -> (Vec<ExcerptLine>, bool) {
    let wanted = period.min(CYCLE_LINES);
    let mut picked: Vec<ExcerptLine> = lines
        .iter()
        .rev()
        .filter(|l| stream.is_none_or(|s| l.stream == s))
        .take(wanted)
        .cloned()
        .collect();
    picked.reverse();
    let mut whole = picked.len() == period;
    let mut bytes: usize = picked.iter().map(|l| l.text.len()).sum();
    while bytes > CYCLE_BYTES && !picked.is_empty() {
        bytes -= picked.remove(0).text.len();
        whole = false;
    }
    (picked, whole)
}

/// The end of the longest prefix of `line` within [`LINE_BYTES`] that ends before a space
/// or tab; 0 when the kept part has none (a 1 KiB word is no use in an excerpt, and half
/// of it may be half a secret).
fn cut_at_space(line: &[u8]) -> usize {
    line[..LINE_BYTES]
        .iter()
        .rposition(|&b| b == b' ' || b == b'\t')
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(values: &Value) -> Vec<String> {
        values
            .as_array()
            .expect("an array")
            .iter()
            .map(|l| l["line"].as_str().expect("a line").to_string())
            .collect()
    }

    fn fields(recent: &RecentLines, numbers: Value) -> Value {
        let mut out = serde_json::Map::new();
        for (k, v) in recent.excerpt(&numbers, true) {
            out.insert(k.to_string(), v);
        }
        Value::Object(out)
    }

    #[test]
    fn the_cycle_is_the_last_pass_in_order() {
        let mut recent = RecentLines::new();
        for i in 0..30 {
            recent.push(Stream::Stdout, format!("step {}", i % 3).as_bytes(), false);
            if i % 3 == 2 {
                recent.push(Stream::Stderr, b"\x1b[31mwarning: retry\x1b[0m", false);
            }
        }
        let both = fields(&recent, json!({"period": 4, "stream": "both"}));
        assert_eq!(
            texts(&both["cycle"]),
            ["step 0", "step 1", "step 2", "warning: retry"]
        );
        assert_eq!(both["cycle"][3]["stream"], "stderr");
        assert_eq!(both["cycle_complete"], true);
        let stdout = fields(&recent, json!({"period": 3, "stream": "stdout"}));
        assert_eq!(texts(&stdout["cycle"]), ["step 0", "step 1", "step 2"]);
        assert_eq!(texts(&stdout["last_lines"]).len(), LAST_LINES);
        let guardrail = fields(&recent, json!({"reason": "timeout"}));
        assert!(guardrail.get("cycle").is_none());
        assert_eq!(
            texts(&guardrail["last_lines"]).last().map(String::as_str),
            Some("warning: retry")
        );
    }

    #[test]
    fn caps_hold_and_binary_lines_are_left_out() {
        let mut recent = RecentLines::new();
        for i in 0..300 {
            recent.push(
                Stream::Stdout,
                format!("{i:04} {}", "x".repeat(500)).as_bytes(),
                false,
            );
            recent.push(Stream::Stdout, &[0u8, 1, 2, 3, 0xff, 0xfe, 4, 5], false);
        }
        assert_eq!(recent.lines.len(), KEPT_LINES);
        let out = fields(&recent, json!({"period": 60}));
        let cycle = texts(&out["cycle"]);
        assert!(cycle.len() <= CYCLE_LINES);
        assert!(cycle.iter().map(String::len).sum::<usize>() <= CYCLE_BYTES);
        assert!(cycle.last().is_some_and(|l| l.starts_with("0299 ")));
        assert_eq!(out["cycle_complete"], false);
    }

    /// `benches/redact`: what the excerpt and the redactor cost, against the detector's own
    /// per-line cost measured in the same run. Release build, ignored by default.
    #[test]
    #[ignore]
    fn bench_excerpt_and_redaction() {
        use crate::detect::{DetectConfig, Detector};
        use std::hint::black_box;
        use std::time::{Duration, Instant};
        const LINES: usize = 200_000;
        let lines: Vec<String> = (0..LINES)
            .map(|i| {
                format!(
                    "2024-06-01T10:00:{:02}Z INFO worker {i}: GET /api/items?page={} -> 200 in {} ms",
                    i % 60,
                    i % 97,
                    i % 13
                )
            })
            .collect();
        let secret_lines: Vec<String> = (0..LINES / 10)
            .map(|i| {
                format!(
                    "curl -H \"Authorization: Bearer ghp_{:036}\" https://u:p{i}@h/x?api_key=k{i} failed",
                    i
                )
            })
            .collect();
        let per = |elapsed: Duration, n: usize| elapsed.as_nanos() as f64 / n as f64;

        let mut recent = RecentLines::new();
        let t = Instant::now();
        for line in &lines {
            recent.push(Stream::Stdout, line.as_bytes(), false);
        }
        let push_ns = per(t.elapsed(), LINES);

        let mut detector = Detector::new(DetectConfig::default());
        let t = Instant::now();
        for (i, line) in lines.iter().enumerate() {
            detector.observe_line(
                Stream::Stdout,
                line.as_bytes(),
                false,
                Duration::from_micros(i as u64 * 50),
            );
        }
        let detect_ns = per(t.elapsed(), LINES);

        let bytes: usize = lines.iter().map(String::len).sum();
        let t = Instant::now();
        let mut redactor = Redactor::new();
        for line in &lines {
            black_box(redactor.line(line));
        }
        let plain_mb_s = bytes as f64 / t.elapsed().as_secs_f64() / 1e6;
        let secret_bytes: usize = secret_lines.iter().map(String::len).sum();
        let t = Instant::now();
        for line in &secret_lines {
            black_box(redactor.line(line));
        }
        let secret_mb_s = secret_bytes as f64 / t.elapsed().as_secs_f64() / 1e6;
        let t = Instant::now();
        for line in &lines {
            black_box(line.clone());
        }
        let copy_mb_s = bytes as f64 / t.elapsed().as_secs_f64() / 1e6;

        for line in secret_lines.iter().take(KEPT_LINES) {
            recent.push(Stream::Stderr, line.as_bytes(), false);
        }
        let numbers = json!({"period": 40, "stream": "both"});
        let t = Instant::now();
        const EXCERPTS: usize = 200;
        for _ in 0..EXCERPTS {
            black_box(recent.excerpt(&numbers, true));
        }
        let excerpt_us = per(t.elapsed(), EXCERPTS) / 1000.0;

        // benches/redact reads these lines; through diag::stdout, which a closed pipe
        // cannot make panic.
        let report = format!(
            "BENCH ring_push_ns_per_line {push_ns:.1}\nBENCH detector_ns_per_line {detect_ns:.1}\n\
             BENCH redact_plain_mb_s {plain_mb_s:.1}\nBENCH redact_secret_mb_s {secret_mb_s:.1}\n\
             BENCH copy_mb_s {copy_mb_s:.1}\nBENCH excerpt_us {excerpt_us:.1}\n"
        );
        crate::diag::stdout(report.as_bytes());
    }

    #[test]
    fn long_lines_are_cut_between_words_and_secrets_redacted_across_lines() {
        let mut recent = RecentLines::new();
        let long = format!("{} ghp_{}", "word ".repeat(200), "A1".repeat(300));
        recent.push(Stream::Stdout, long.as_bytes(), false);
        recent.push(Stream::Stdout, b"-----BEGIN PRIVATE KEY-----", false);
        for _ in 0..KEPT_LINES - 3 {
            recent.push(
                Stream::Stdout,
                b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
                false,
            );
        }
        recent.push(Stream::Stdout, b"-----END PRIVATE KEY-----", false);
        let out = fields(&recent, json!({"period": 1}));
        for line in texts(&out["last_lines"]) {
            assert_eq!(line, "[REDACTED:private_key]");
        }
        let all = recent.texts(true);
        assert!(all[0].cut && all[0].text.trim_end().ends_with("word") && !all[0].text.contains("ghp_"));
    }
}
