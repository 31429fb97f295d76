//! A spinner redrawn in place is one line of the log, however many frames it took.
//!
//! Consoles animate a wait on one terminal line: AutoGPT's `- Thinking...`, `/ Thinking...`,
//! `| Thinking...` ten times a second, each frame ended by `\r`, for as long as the model
//! takes to answer. The supervisor splits on `\r` too, so each frame reaches the detector as
//! a line. A loop of such a tool prints the same turn every pass with a different number of
//! frames in it (the model's time varies), so no two passes had the same length and the
//! trackers, which compare line with line, never saw the turn repeat; the spinner alone, a
//! few frames of one skeleton, was all that cycled, and a spinner is never stopped.
//!
//! A frame is a line with the skeleton of the line just before it on the same stream (the
//! same words, `template::Shape::skeleton`), as long as it, printed later, and with another
//! template: one glyph swapped for another after a tick. Or it is a line that goes on a run
//! of such frames. A banner's lines arrive together (Spring Boot's ASCII art behind
//! `api-1  | `, the same words and other symbols on every line) and stay lines.
//!
//! The first frame of a run stands for the whole run in the cycle trackers, the passes cut
//! by silences and the window's shares of matched lines; the frames after it are left out
//! of them, as a terminal leaves only one line where a spinner ran. Templates, progress and
//! rates still see every frame, so a progress display is read as before. A bar that grows
//! keeps one template (`template` collapses runs of a symbol), so its redraws are not
//! frames: a repeated line stays a repeated line.

use super::template::Shape;
use std::time::Duration;

/// One line as a redraw sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drawn {
    pub shape: Shape,
    /// Its length once its decoration is stripped.
    pub len: usize,
    pub at: Duration,
}

/// The last line of each stream (stdout, stderr) and whether it was a frame of a redraw.
#[derive(Debug, Default)]
pub struct Redraws {
    last: [Option<(Drawn, bool)>; 2],
}

impl Redraws {
    /// Whether this line of `stream` (0 stdout, 1 stderr) redraws the one before it.
    pub fn is_frame(&mut self, stream: usize, line: Drawn) -> bool {
        let frame = self.last[stream].is_some_and(|(last, was_frame)| {
            last.shape.skeleton == line.shape.skeleton
                && (was_frame
                    || last.shape.template != line.shape.template
                        && last.len == line.len
                        && line.at > last.at)
        });
        self.last[stream] = Some((line, frame));
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(template: u64, skeleton: u64, len: usize, ms: u64) -> Drawn {
        Drawn {
            shape: Shape { template, skeleton },
            len,
            at: Duration::from_millis(ms),
        }
    }

    #[test]
    fn a_spinner_is_its_first_frame() {
        let mut r = Redraws::default();
        let frames: Vec<bool> = [1, 2, 3, 4, 1, 1, 2]
            .iter()
            .enumerate()
            .map(|(i, &glyph)| r.is_frame(0, drawn(glyph, 100, 13, 100 * i as u64)))
            .collect();
        assert_eq!(frames, [false, true, true, true, true, true, true]);
        // The next line of other words ends the run and is a line again.
        assert!(!r.is_frame(0, drawn(7, 200, 40, 800)));
        assert!(!r.is_frame(0, drawn(1, 100, 13, 900)));
    }

    #[test]
    fn a_repeated_line_is_no_redraw() {
        let mut r = Redraws::default();
        assert!((0..5).all(|i| !r.is_frame(0, drawn(9, 90, 20, 100 * i))));
    }

    #[test]
    fn a_banner_printed_at_once_is_lines() {
        let mut r = Redraws::default();
        // The same words (a container's prefix), other symbols, one instant.
        assert!((0..6).all(|i| !r.is_frame(0, drawn(10 + i, 5, 40, 970))));
        // Lines of other lengths printed apart are no frames either.
        assert!(!r.is_frame(0, drawn(1, 5, 30, 1000)));
        assert!(!r.is_frame(0, drawn(2, 5, 31, 1100)));
    }

    #[test]
    fn streams_redraw_apart() {
        let mut r = Redraws::default();
        assert!(!r.is_frame(0, drawn(1, 100, 13, 0)));
        assert!(!r.is_frame(1, drawn(2, 100, 13, 50)));
        assert!(r.is_frame(0, drawn(2, 100, 13, 100)));
    }
}
