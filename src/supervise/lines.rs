//! Splitting output into lines for analysis, with bounded memory whatever the child writes.
//!
//! The bytes themselves pass through untouched elsewhere; this only decides what the
//! detector sees. `\n` and `\r` both end a line (a `\r` progress bar is a sequence of
//! lines), empty lines are skipped, and a line longer than [`MAX_LINE`] is handed over
//! truncated once, with the rest of it discarded up to the next line end — so a 10 MiB line
//! with no newline costs 64 KiB, not 10 MiB. Line ends are found eight bytes at a time.

/// The most of one line kept for analysis.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// Inside a line that was already handed over truncated (or skipped): discard up to the
    /// next line end.
    discarding: bool,
}

impl LineSplitter {
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Feeds a chunk; `emit(line, truncated)` is called for every complete non-empty line.
    pub fn feed(&mut self, mut bytes: &[u8], emit: &mut dyn FnMut(&[u8], bool)) {
        while let Some(end) = find_line_end(bytes) {
            let segment = &bytes[..end];
            if self.discarding {
                self.discarding = false;
            } else if self.partial.is_empty() {
                if !segment.is_empty() {
                    emit(segment, false);
                }
            } else {
                let room = MAX_LINE - self.partial.len();
                self.partial
                    .extend_from_slice(&segment[..segment.len().min(room)]);
                emit(&self.partial, false);
                self.partial.clear();
            }
            bytes = &bytes[end + 1..];
        }
        if self.discarding || bytes.is_empty() {
            return;
        }
        let room = MAX_LINE - self.partial.len();
        if bytes.len() >= room {
            self.partial.extend_from_slice(&bytes[..room]);
            emit(&self.partial, true);
            self.partial.clear();
            self.discarding = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// Hands over the unterminated last line at end of stream.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&[u8], bool)) {
        if !self.discarding && !self.partial.is_empty() {
            emit(&self.partial, false);
        }
        self.partial.clear();
        self.discarding = false;
    }

    /// Forgets the current partial line: called when a chunk was passed through without
    /// analysis, so the next bytes start mid-line.
    pub fn skip_to_next_line(&mut self) {
        self.partial.clear();
        self.discarding = true;
    }

    /// Bytes currently buffered (never more than [`MAX_LINE`]).
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }
}

/// Index of the first `\n` or `\r` in `hay`.
pub fn find_line_end(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    const RETURNS: u64 = ONES * b'\r' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks_exact yields 8 bytes"));
        let a = word ^ NEWLINES;
        let b = word ^ RETURNS;
        // The lowest set high bit marks the first zero byte exactly (borrows only run upward).
        let hits = (a.wrapping_sub(ONES) & !a & HIGHS) | (b.wrapping_sub(ONES) & !b & HIGHS);
        if hits != 0 {
            return Some(offset + (hits.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|i| offset + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        let mut splitter = LineSplitter::new();
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.feed(chunk, &mut |line, truncated| out.push((line.to_vec(), truncated)));
        }
        splitter.finish(&mut |line, truncated| out.push((line.to_vec(), truncated)));
        out
    }

    #[test]
    fn splits_on_newline_and_carriage_return_across_chunks() {
        let lines = split(&[b"one\ntw", b"o\r\nthree 10%\rthree 20%", b"\n\nlast"]);
        let texts: Vec<&[u8]> = lines.iter().map(|(l, _)| l.as_slice()).collect();
        assert_eq!(
            texts,
            vec![&b"one"[..], b"two", b"three 10%", b"three 20%", b"last"]
        );
    }

    #[test]
    fn long_line_is_truncated_once_and_memory_stays_bounded() {
        let big = vec![b'x'; 10 * 1024 * 1024];
        let mut splitter = LineSplitter::new();
        let mut out = Vec::new();
        for chunk in big.chunks(65_536 + 7) {
            splitter.feed(chunk, &mut |line, t| out.push((line.len(), t)));
            assert!(splitter.buffered() <= MAX_LINE);
        }
        splitter.feed(b"\nnext\n", &mut |line, t| out.push((line.len(), t)));
        assert_eq!(out, vec![(MAX_LINE, true), (4, false)]);
    }

    #[test]
    fn finds_line_ends_at_every_offset() {
        for len in 0..40 {
            for pos in 0..len {
                let mut hay = vec![b'a'; len];
                hay[pos] = if pos % 2 == 0 { b'\n' } else { b'\r' };
                assert_eq!(find_line_end(&hay), Some(pos), "len {len} pos {pos}");
            }
            assert_eq!(find_line_end(&vec![0xffu8; len]), None);
        }
        // Bytes that differ from '\n' by a borrow must not match.
        assert_eq!(
            find_line_end(&[0x0b, 0x0c, 0x0e, 0x8a, 0x8d, 0x00, 0x09, 0x0b]),
            None
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut splitter = LineSplitter::new();
        for _ in 0..2000 {
            let len = (next() % 9000) as usize;
            let chunk: Vec<u8> = (0..len).map(|_| (next() % 256) as u8).collect();
            splitter.feed(&chunk, &mut |line, _| {
                assert!(line.len() <= MAX_LINE && !line.is_empty())
            });
            if next() % 50 == 0 {
                splitter.skip_to_next_line();
            }
            assert!(splitter.buffered() <= MAX_LINE);
        }
    }
}
