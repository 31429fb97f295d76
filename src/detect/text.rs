//! First contact with a raw output line: is it text at all, and what does it say once the
//! terminal decoration is gone.
//!
//! The supervisor hands over whatever bytes the child wrote, split on `\n` and `\r`. Those
//! bytes may be invalid UTF-8, binary dumps, or text wrapped in ANSI colour and cursor
//! sequences. Two cheap passes run here before any pattern work: `looks_like_text` rejects a
//! line when a quarter or more of its bytes are control bytes or broken UTF-8 (so a stray
//! binary blob never becomes a "template"), and `strip_decoration` copies the line into a
//! reusable buffer without escape sequences, with every other control byte turned into a
//! space. Only the first `SCAN_LIMIT` bytes are analysed, and only the first `TEXT_SAMPLE`
//! bytes decide whether a line is text: a 64 KiB line costs no more than a 4 KiB one, and
//! 4 KiB are plenty to recognise a repeating line (the line's full length still counts for
//! byte rates).

/// How many bytes of a line are analysed.
pub const SCAN_LIMIT: usize = 4 * 1024;

/// How many bytes decide whether a line is text.
pub const TEXT_SAMPLE: usize = 1024;

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;

/// The analysed prefix of a line.
pub fn scanned_prefix(line: &[u8]) -> &[u8] {
    &line[..line.len().min(SCAN_LIMIT)]
}

/// True when at most a quarter of the first `TEXT_SAMPLE` bytes are control bytes (other
/// than tab and ESC) or bytes that are not part of valid UTF-8.
pub fn looks_like_text(line: &[u8]) -> bool {
    let line = &line[..line.len().min(TEXT_SAMPLE)];
    let mut bad = 0usize;
    for chunk in line.utf8_chunks() {
        bad += chunk.invalid().len();
        bad += chunk
            .valid()
            .bytes()
            .filter(|&b| (b < 0x20 && b != b'\t' && b != ESC) || b == 0x7f)
            .count();
    }
    bad * 4 <= line.len()
}

/// Copies `line` into `out` (cleared first) without ANSI escape sequences; other control
/// bytes become spaces. `out` keeps its capacity between calls, so the common case does not
/// allocate.
pub fn strip_decoration(line: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < line.len() {
        // Copy the plain run up to the next control byte in one go.
        let plain = line[i..].iter().take_while(|&&b| b >= 0x20 && b != 0x7f).count();
        out.extend_from_slice(&line[i..i + plain]);
        i += plain;
        match line.get(i) {
            Some(&ESC) => i = skip_escape(line, i),
            Some(_) => {
                out.push(b' ');
                i += 1;
            }
            None => {}
        }
    }
}

/// Returns the index just past the escape sequence that starts at `start` (an ESC byte).
fn skip_escape(line: &[u8], start: usize) -> usize {
    let Some(&kind) = line.get(start + 1) else {
        return start + 1;
    };
    match kind {
        // CSI: parameters and intermediates, then one final byte in 0x40..=0x7e.
        b'[' => {
            let mut i = start + 2;
            while i < line.len() {
                let b = line[i];
                i += 1;
                if (0x40..=0x7e).contains(&b) {
                    return i;
                }
                if !(0x20..=0x3f).contains(&b) {
                    // Malformed: drop the introducer only and resume at the odd byte.
                    return i - 1;
                }
            }
            i
        }
        // OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (ESC \).
        b']' | b'P' | b'X' | b'^' | b'_' => {
            let mut i = start + 2;
            while i < line.len() {
                if line[i] == BEL {
                    return i + 1;
                }
                if line[i] == ESC {
                    return if line.get(i + 1) == Some(&b'\\') { i + 2 } else { i };
                }
                i += 1;
            }
            i
        }
        // nF sequences such as `ESC ( B`: intermediates then one final byte.
        0x20..=0x2f => {
            let mut i = start + 1;
            while i < line.len() && (0x20..=0x2f).contains(&line[i]) {
                i += 1;
            }
            let has_final = line.get(i).is_some_and(|b| (0x30..=0x7e).contains(b));
            i + usize::from(has_final)
        }
        // Two-byte sequences (`ESC 7`, `ESC M`, ...).
        0x30..=0x7e => start + 2,
        _ => start + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(line: &[u8]) -> String {
        let mut out = Vec::new();
        strip_decoration(line, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn colour_and_cursor_sequences_disappear() {
        assert_eq!(stripped(b"\x1b[31mERROR\x1b[0m: boom"), "ERROR: boom");
        assert_eq!(stripped(b"\x1b[2K\x1b[1G 45% done"), " 45% done");
        assert_eq!(stripped(b"\x1b[38;5;196mred\x1b[m"), "red");
        assert_eq!(stripped(b"\x1b]0;title\x07after"), "after");
        assert_eq!(stripped(b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "link");
        assert_eq!(stripped(b"\x1b(Bplain"), "plain");
        assert_eq!(stripped(b"\x1b7saved\x1b8"), "saved");
    }

    #[test]
    fn control_bytes_become_spaces() {
        assert_eq!(stripped(b"a\tb\x00c\x7fd"), "a b c d");
    }

    #[test]
    fn truncated_escapes_do_not_panic() {
        assert_eq!(stripped(b"text\x1b"), "text");
        assert_eq!(stripped(b"text\x1b["), "text");
        assert_eq!(stripped(b"text\x1b[12;"), "text");
        assert_eq!(stripped(b"text\x1b]0;never ends"), "text");
        assert_eq!(stripped(b"\x1b(\x1b(\x1b("), "");
        assert_eq!(stripped(b"\x1b[1\xffx"), "\u{fffd}x");
    }

    #[test]
    fn text_and_binary_are_told_apart() {
        assert!(looks_like_text(b"plain ascii line"));
        assert!(looks_like_text("caf\u{e9} \u{2588}\u{2588} 45%".as_bytes()));
        assert!(looks_like_text(b"\x1b[31mred\x1b[0m"));
        assert!(looks_like_text(b"one bad byte \xff in a sentence"));
        assert!(looks_like_text(b""));
        assert!(!looks_like_text(b"\x00\x01\x02\x03abc"));
        assert!(!looks_like_text(b"\xff\xfe\xfd\xfcab"));
        assert!(!looks_like_text(&[0u8; 64]));
        let mut text_then_binary = b"a".repeat(TEXT_SAMPLE);
        text_then_binary.extend_from_slice(&[0u8; 4096]);
        assert!(looks_like_text(&text_then_binary), "judged on its first kilobyte");
    }

    #[test]
    fn only_the_prefix_is_scanned() {
        let long = vec![b'a'; SCAN_LIMIT * 3];
        assert_eq!(scanned_prefix(&long).len(), SCAN_LIMIT);
        assert_eq!(scanned_prefix(b"short").len(), 5);
    }
}
