//! Edits as data: a byte range of the original text and its replacement, and the
//! one function that splices a set of them into a text. Rules produce edits;
//! nothing else in the crate rewrites text.

use serde::{Deserialize, Serialize};

/// Replace `text[start..end]` with `replacement` (an insertion when `start == end`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub replacement: String,
}

impl Edit {
    pub fn new(start: usize, end: usize, replacement: impl Into<String>) -> Self {
        Edit {
            start,
            end,
            replacement: replacement.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit::new(at, at, text)
    }

    pub fn delete(start: usize, end: usize) -> Self {
        Edit::new(start, end, "")
    }

    /// True when the two edits' ranges share a byte. Adjacent edits (one ends
    /// where the other starts) do not overlap; two insertions at the same point
    /// do not either, and keep their relative order.
    pub fn overlaps(&self, other: &Edit) -> bool {
        self.start < other.end && other.start < self.end
            || (self.start == self.end && other.start < self.start && self.start < other.end)
            || (other.start == other.end && self.start < other.start && other.start < self.end)
    }
}

/// Why a set of edits cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpliceError {
    #[error("edit {start}..{end} is outside the text ({len} bytes)")]
    OutOfBounds {
        start: usize,
        end: usize,
        len: usize,
    },
    #[error("edit {start}..{end} does not fall on character boundaries")]
    NotCharBoundary { start: usize, end: usize },
    #[error("edits {a_start}..{a_end} and {b_start}..{b_end} overlap")]
    Overlap {
        a_start: usize,
        a_end: usize,
        b_start: usize,
        b_end: usize,
    },
}

/// Apply `edits` to `text`. Edits may come in any order; they are sorted by
/// range (stable, so insertions at one point keep their given order) and must
/// not overlap. Bytes outside every range are copied unchanged.
pub fn splice(text: &str, edits: &[Edit]) -> Result<String, SpliceError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    for e in &sorted {
        if e.start > e.end || e.end > text.len() {
            return Err(SpliceError::OutOfBounds {
                start: e.start,
                end: e.end,
                len: text.len(),
            });
        }
        if !text.is_char_boundary(e.start) || !text.is_char_boundary(e.end) {
            return Err(SpliceError::NotCharBoundary {
                start: e.start,
                end: e.end,
            });
        }
    }
    for pair in sorted.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.start < a.end {
            return Err(SpliceError::Overlap {
                a_start: a.start,
                a_end: a.end,
                b_start: b.start,
                b_end: b.end,
            });
        }
    }
    let extra: usize = sorted.iter().map(|e| e.replacement.len()).sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut pos = 0;
    for e in sorted {
        out.push_str(&text[pos..e.start]);
        out.push_str(&e.replacement);
        pos = e.end;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_in_any_order() {
        let t = "hello world";
        let out = splice(t, &[Edit::new(6, 11, "there"), Edit::new(0, 5, "HELLO")]).unwrap();
        assert_eq!(out, "HELLO there");
    }

    #[test]
    fn adjacent_edits_are_fine() {
        let out = splice("abc", &[Edit::new(0, 1, "X"), Edit::new(1, 2, "Y")]).unwrap();
        assert_eq!(out, "XYc");
    }

    #[test]
    fn insertion_after_replacement_of_same_end() {
        let out = splice("ab", &[Edit::insert(1, "+"), Edit::new(0, 1, "A")]).unwrap();
        assert_eq!(out, "A+b");
    }

    #[test]
    fn insertions_at_one_point_keep_order() {
        let out = splice("ab", &[Edit::insert(1, "1"), Edit::insert(1, "2")]).unwrap();
        assert_eq!(out, "a12b");
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let err = splice("abcdef", &[Edit::new(0, 3, "x"), Edit::new(2, 4, "y")]).unwrap_err();
        assert!(matches!(err, SpliceError::Overlap { .. }));
    }

    #[test]
    fn nested_edits_are_refused() {
        let err = splice("abcdef", &[Edit::new(0, 5, "x"), Edit::new(1, 2, "y")]).unwrap_err();
        assert!(matches!(err, SpliceError::Overlap { .. }));
    }

    #[test]
    fn out_of_bounds_and_char_boundaries() {
        assert!(matches!(
            splice("ab", &[Edit::new(1, 3, "")]),
            Err(SpliceError::OutOfBounds { .. })
        ));
        assert!(matches!(
            splice("é", &[Edit::new(1, 2, "")]),
            Err(SpliceError::NotCharBoundary { .. })
        ));
    }

    #[test]
    fn overlap_predicate() {
        assert!(Edit::new(0, 3, "").overlaps(&Edit::new(2, 4, "")));
        assert!(!Edit::new(0, 2, "").overlaps(&Edit::new(2, 4, "")));
        assert!(Edit::insert(2, "").overlaps(&Edit::new(1, 3, "")));
        assert!(!Edit::insert(2, "").overlaps(&Edit::insert(2, "")));
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn disjoint_edits(len: usize) -> impl Strategy<Value = Vec<Edit>> {
            proptest::collection::vec((0..=len, 0..=len, "[a-z]{0,3}"), 0..6).prop_map(move |raw| {
                let mut out: Vec<Edit> = Vec::new();
                for (a, b, r) in raw {
                    let (s, e) = if a <= b { (a, b) } else { (b, a) };
                    let cand = Edit::new(s, e, r);
                    if out
                        .iter()
                        .all(|o| !(o.overlaps(&cand) || o.start == s && o.end == e))
                    {
                        out.push(cand);
                    }
                }
                out
            })
        }

        fn text_and_edits() -> impl Strategy<Value = (String, Vec<Edit>)> {
            "[ -~]{0,40}".prop_flat_map(|t| {
                let len = t.len();
                (Just(t), disjoint_edits(len))
            })
        }

        proptest! {
            #[test]
            fn untouched_bytes_survive((text, edits) in text_and_edits()) {
                let len = text.len();
                let out = splice(&text, &edits).unwrap();
                // The text before the first edit and after the last one is unchanged.
                let first = edits.iter().map(|e| e.start).min().unwrap_or(len);
                let last = edits.iter().map(|e| e.end).max().unwrap_or(len);
                prop_assert!(out.starts_with(&text[..first]));
                prop_assert!(out.ends_with(&text[last.max(first)..]));
                // Length accounting is exact.
                let delta: isize = edits
                    .iter()
                    .map(|e| e.replacement.len() as isize - (e.end - e.start) as isize)
                    .sum();
                prop_assert_eq!(out.len() as isize, len as isize + delta);
            }

            #[test]
            fn no_edits_is_identity(text in "\\PC{0,60}") {
                prop_assert_eq!(splice(&text, &[]).unwrap(), text);
            }
        }
    }
}
