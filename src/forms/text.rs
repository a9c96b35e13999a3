//! Character-level helpers shared by sections, ticks and hints: folding full-width forms and
//! brackets, a "compact" view of a string (blanks removed) that maps back to byte offsets of the
//! original, and the removal of template hints such as "（500 字以内）。".

use std::borrow::Cow;

use super::labels::{is_blank, unify_bracket};

/// Folds one character: full-width ASCII to ASCII, all brackets to "(" ")", the ideographic
/// colon to ":".
pub fn fold(c: char) -> char {
    let c = unify_bracket(c);
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A string without blanks, folded, with the byte range of each char in the original.
#[derive(Debug, Default)]
pub struct Compact {
    pub chars: Vec<char>,
    /// For chars[i]: (start, end) byte offsets in the original string.
    pub spans: Vec<(usize, usize)>,
}

impl Compact {
    pub fn new(s: &str) -> Compact {
        let mut out = Compact::default();
        for (i, c) in s.char_indices() {
            if is_blank(c) {
                continue;
            }
            out.chars.push(fold(c));
            out.spans.push((i, i + c.len_utf8()));
        }
        out
    }

    /// Whether `pat` (already compact: no blanks, folded) occurs at char index `at`.
    pub fn matches_at(&self, at: usize, pat: &[char]) -> bool {
        at + pat.len() <= self.chars.len() && self.chars[at..at + pat.len()] == *pat
    }

    /// First occurrence of `pat` at or after `from`.
    pub fn find(&self, pat: &[char], from: usize) -> Option<usize> {
        if pat.is_empty() || pat.len() > self.chars.len() {
            return None;
        }
        (from..=self.chars.len() - pat.len()).find(|&i| self.matches_at(i, pat))
    }

    /// Byte offset in the original just after compact char `i - 1` (i.e. where char `i`
    /// would start); `len` of the original when `i` is past the end.
    pub fn byte_after(&self, i: usize, len: usize) -> usize {
        if i == 0 {
            return self.spans.first().map_or(len, |s| s.0);
        }
        self.spans.get(i - 1).map_or(len, |s| s.1)
    }
}

/// A pattern (e.g. a label from the toml) as compact folded chars.
pub fn compact_pattern(s: &str) -> Vec<char> {
    s.chars().filter(|c| !is_blank(*c)).map(fold).collect()
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// Length in compact chars of a hint starting at compact index `at`: "(" digits word ")"
/// followed by an optional "。" or "."; 0 when there is none.
pub fn hint_len(cs: &Compact, at: usize, words: &[Vec<char>]) -> usize {
    let ch = &cs.chars;
    if ch.get(at) != Some(&'(') {
        return 0;
    }
    let mut i = at + 1;
    let digits_start = i;
    while ch.get(i).copied().is_some_and(is_digit) {
        i += 1;
    }
    if i == digits_start {
        return 0;
    }
    let Some(w) = words.iter().find(|w| cs.matches_at(i, w)) else {
        return 0;
    };
    i += w.len();
    if ch.get(i) != Some(&')') {
        return 0;
    }
    i += 1;
    if matches!(ch.get(i), Some('。' | '.')) {
        i += 1;
    }
    i - at
}

/// Removes every template hint from `s`.
pub fn strip_hints<'a>(s: &'a str, words: &[Vec<char>]) -> Cow<'a, str> {
    if words.is_empty() || !(s.contains('（') || s.contains('(')) {
        return Cow::Borrowed(s);
    }
    let cs = Compact::new(s);
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < cs.chars.len() {
        let n = hint_len(&cs, i, words);
        if n > 0 {
            cuts.push((cs.spans[i].0, cs.spans[i + n - 1].1));
            i += n;
        } else {
            i += 1;
        }
    }
    if cuts.is_empty() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (a, b) in cuts {
        out.push_str(&s[last..a]);
        last = b;
    }
    out.push_str(&s[last..]);
    Cow::Owned(out)
}

/// Hint words of the spec as compact patterns.
pub fn hint_words(spec: &super::spec::FormsSpec) -> Vec<Vec<char>> {
    spec.hints
        .words
        .iter()
        .map(|w| compact_pattern(w))
        .collect()
}

/// Trims white space (Unicode, incl. U+3000 and zero-width characters) and empty lines at
/// both ends.
pub fn tidy(s: &str) -> String {
    s.trim_matches(|c: char| is_blank(c)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_removed() {
        let w = vec![compact_pattern("字以内")];
        assert_eq!(strip_hints("（500 字以内）。正文", &w), "正文");
        assert_eq!(strip_hints("a(1000字以内)b", &w), "ab");
        assert_eq!(strip_hints("（共500字）", &w), "（共500字）");
    }
}
