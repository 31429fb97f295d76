//! Splitting replayed chunks into the lines the detector sees, exactly as a live run does.
//!
//! A live run splits the child's bytes in the supervisor (`\n` and `\r` end a line, empty
//! lines are skipped, a line is cut at [`MAX_LINE`] and the rest of it discarded up to the next
//! line end). Replay must hand the detector the same lines, so it follows the same rules;
//! the supervisor's splitter is private to the supervision layer, so this is a small
//! byte-at-a-time copy of its contract (replay is not on the passthrough path, so the eight-
//! bytes-at-a-time search is not needed here). Memory is bounded by [`MAX_LINE`] whatever
//! the input holds: a 10 MiB line with no newline costs 64 KiB.

/// The most of one line kept for analysis (the supervisor's limit).
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct Splitter {
    partial: Vec<u8>,
    /// Inside a line already handed over cut: discard up to the next line end.
    discarding: bool,
}

impl Splitter {
    /// Feeds a chunk; `emit(line, truncated)` gets every complete non-empty line.
    pub fn feed(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&[u8], bool)) {
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let segment = &rest[..end];
            if self.discarding {
                self.discarding = false;
            } else if self.partial.is_empty() {
                if !segment.is_empty() {
                    emit(&segment[..segment.len().min(MAX_LINE)], segment.len() > MAX_LINE);
                }
            } else {
                let room = MAX_LINE - self.partial.len();
                let cut = segment.len() > room;
                self.partial
                    .extend_from_slice(&segment[..segment.len().min(room)]);
                emit(&self.partial, cut);
                self.partial.clear();
            }
            rest = &rest[end + 1..];
        }
        if self.discarding || rest.is_empty() {
            return;
        }
        let room = MAX_LINE - self.partial.len();
        if rest.len() >= room {
            self.partial.extend_from_slice(&rest[..room]);
            emit(&self.partial, true);
            self.partial.clear();
            self.discarding = true;
        } else {
            self.partial.extend_from_slice(rest);
        }
    }

    /// Hands over the unterminated last line at the end of the input.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&[u8], bool)) {
        if !self.discarding && !self.partial.is_empty() {
            emit(&self.partial, false);
        }
        self.partial.clear();
        self.discarding = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        let mut splitter = Splitter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.feed(chunk, &mut |l, t| out.push((l.to_vec(), t)));
        }
        splitter.finish(&mut |l, t| out.push((l.to_vec(), t)));
        out
    }

    #[test]
    fn newlines_and_carriage_returns_end_lines_across_chunks() {
        let lines = split(&[b"a\r\nb", b"c\rd", b"\n\n", b"tail"]);
        let text: Vec<_> = lines.iter().map(|(l, _)| l.as_slice()).collect();
        assert_eq!(text, [&b"a"[..], b"bc", b"d", b"tail"]);
    }

    #[test]
    fn a_huge_line_is_cut_once_and_memory_stays_bounded() {
        let big = vec![b'x'; 10 * 1024 * 1024];
        let mut splitter = Splitter::default();
        let mut out = Vec::new();
        for chunk in big.chunks(100_000) {
            splitter.feed(chunk, &mut |l, t| out.push((l.len(), t)));
            assert!(splitter.partial.capacity() <= 2 * MAX_LINE);
        }
        splitter.feed(b"\nnext\n", &mut |l, t| out.push((l.len(), t)));
        assert_eq!(out, [(MAX_LINE, true), (4, false)]);
    }
}
