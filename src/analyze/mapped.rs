//! A text assembled from pieces of a file, with a map from every byte of the
//! assembled text back to the file. Docker hands a `RUN` body to the shell with
//! line continuations and comment lines removed (NOTES §19): that assembled
//! text is what gets parsed, and edits computed on it are mapped back here.

/// One contiguous piece: `len` bytes at `virt` in the assembled text are the
/// bytes at `file` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    virt: usize,
    file: usize,
    len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedText {
    pub text: String,
    pieces: Vec<Piece>,
}

impl MappedText {
    /// A text that is one contiguous range of the file starting at `file_start`.
    pub fn contiguous(file_start: usize, text: &str) -> Self {
        MappedText {
            text: text.to_string(),
            pieces: vec![Piece {
                virt: 0,
                file: file_start,
                len: text.len(),
            }],
        }
    }

    /// Assemble from `(file_start, file_end)` ranges of `file`, in order.
    pub fn from_ranges(file: &str, ranges: &[(usize, usize)]) -> Self {
        let mut text = String::new();
        let mut pieces = Vec::with_capacity(ranges.len());
        for &(s, e) in ranges {
            if s >= e || e > file.len() {
                continue;
            }
            pieces.push(Piece {
                virt: text.len(),
                file: s,
                len: e - s,
            });
            text.push_str(&file[s..e]);
        }
        MappedText { text, pieces }
    }

    /// File offset of an assembled offset used as the *start* of a range: at a
    /// boundary between two pieces it maps to the start of the later piece.
    pub fn start_to_file(&self, v: usize) -> usize {
        for p in &self.pieces {
            if v < p.virt + p.len {
                return p.file + v.saturating_sub(p.virt);
            }
        }
        self.pieces.last().map(|p| p.file + p.len).unwrap_or(0)
    }

    /// File offset of an assembled offset used as the *end* of a range (or an
    /// insertion point): at a boundary it maps to the end of the earlier piece.
    pub fn end_to_file(&self, v: usize) -> usize {
        for p in &self.pieces {
            if v <= p.virt + p.len {
                return p.file + v.saturating_sub(p.virt);
            }
        }
        self.pieces.last().map(|p| p.file + p.len).unwrap_or(0)
    }

    /// Map an assembled range to a file range. An empty range is an insertion
    /// point and sticks to the text before it.
    pub fn range_to_file(&self, start: usize, end: usize) -> (usize, usize) {
        if start == end {
            let f = self.end_to_file(end);
            (f, f)
        } else {
            (self.start_to_file(start), self.end_to_file(end))
        }
    }

    /// Map an assembled range that is deleted. Like [`Self::range_to_file`],
    /// except for a deletion that starts where a file line starts (a piece
    /// boundary) and empties the rest of that line: it takes the gap before
    /// it along (the line continuation, and any comment lines in it). Left
    /// behind, the continuation would sit on a line of its own (`curl\`, a
    /// deleted `bash\`, then `&& …`) or, at the end of a RUN, join the file's
    /// next line to what remains.
    pub fn deletion_to_file(&self, start: usize, end: usize) -> (usize, usize) {
        let (s, e) = self.range_to_file(start, end);
        let before = self.end_to_file(start);
        if start < end && before < s && self.rest_of_piece(end).trim().is_empty() {
            (before, e)
        } else {
            (s, e)
        }
    }

    /// The assembled text from `v` to the end of the piece it is in (the
    /// rest of that file line).
    fn rest_of_piece(&self, v: usize) -> &str {
        for p in &self.pieces {
            let end = p.virt + p.len;
            if v <= end {
                return self.text.get(v.max(p.virt)..end).unwrap_or("");
            }
        }
        ""
    }

    /// True when the assembled range lies in one piece (so replacing it in the
    /// file touches no line continuation or comment).
    pub fn is_contiguous(&self, start: usize, end: usize) -> bool {
        let (fs, fe) = self.range_to_file(start, end);
        fe - fs == end - start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_across_continuations() {
        let file = "RUN a \\\n    b\n";
        // Docker joins "a " and "    b".
        let m = MappedText::from_ranges(file, &[(4, 6), (8, 13)]);
        assert_eq!(m.text, "a     b");
        assert_eq!(m.start_to_file(0), 4);
        assert_eq!(m.end_to_file(2), 6);
        assert_eq!(m.start_to_file(2), 8);
        assert_eq!(m.range_to_file(6, 7), (12, 13));
        assert_eq!(m.range_to_file(0, 7), (4, 13));
        assert!(!m.is_contiguous(0, 7));
        assert!(m.is_contiguous(6, 7));
        assert_eq!(m.range_to_file(2, 2), (6, 6));
        // Deleting "    b" (from the boundary to the end) takes the `\` along.
        let file = "RUN a\\\n    b\n";
        let m = MappedText::from_ranges(file, &[(4, 5), (7, 12)]);
        assert_eq!(m.text, "a    b");
        assert_eq!(m.range_to_file(1, 6), (7, 12));
        assert_eq!(m.deletion_to_file(1, 6), (5, 12));
        // Not emptying the line, or not a boundary: the same as range_to_file.
        assert_eq!(m.deletion_to_file(1, 3), (7, 9));
        assert_eq!(m.deletion_to_file(2, 6), (8, 12));
        // A middle line emptied: `curl\`, `  bash\`, `  && x` without bash.
        let file = "RUN curl\\\n  bash\\\n  && x\n";
        let m = MappedText::from_ranges(file, &[(4, 8), (10, 16), (18, 24)]);
        assert_eq!(m.text, "curl  bash  && x");
        let (s, e) = m.deletion_to_file(4, 10);
        assert_eq!(
            format!("{}{}", &file[..s], &file[e..]),
            "RUN curl\\\n  && x\n"
        );
    }
}
