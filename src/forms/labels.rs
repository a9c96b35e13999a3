//! Label normalisation and lookup: turns a cell's text into the canonical form used to compare
//! it with the label variants of `rules/forms.toml`, and tells which fields (and which kinds)
//! a label cell stands for.

use unicode_normalization::UnicodeNormalization;

use super::spec::FormsSpec;
use super::Kind;

/// Cells longer than this many chars beyond the longest label are never labels.
const LABEL_SLACK: usize = 16;

/// Normalises a label: NFKC, no white space or zero-width characters, brackets unified to
/// ASCII "(" ")", leading numbering ("一、", "1.", "(一)") and "*" removed, trailing colons
/// and "*" removed.
pub fn normalize_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfkc() {
        if is_blank(c) {
            continue;
        }
        out.push(unify_bracket(c));
    }
    let trimmed = out.trim_start_matches('*').trim_end_matches([':', '*']);
    let body = strip_numbering(trimmed);
    let body = if body.is_empty() { trimmed } else { body };
    if body.len() == out.len() {
        out
    } else {
        body.to_string()
    }
}

/// White space in the widest sense (Unicode White_Space plus zero-width characters).
pub fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
        )
}

/// Maps every kind of opening/closing bracket to "(" / ")".
pub fn unify_bracket(c: char) -> char {
    match c {
        '（' | '【' | '〔' | '[' | '［' | '〖' | '{' => '(',
        '）' | '】' | '〕' | ']' | '］' | '〗' | '}' => ')',
        _ => c,
    }
}

fn is_cjk_numeral(c: char) -> bool {
    matches!(
        c,
        '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十'
    )
}

/// Length in bytes of a leading numbering such as "一、", "1.", "2)", "(三)", "(1)", in a
/// string already without white space and with unified brackets; 0 when there is none.
pub fn numbering_len(s: &str) -> usize {
    let mut chars = s.char_indices().peekable();
    let Some(&(_, first)) = chars.peek() else {
        return 0;
    };
    if first == '(' || first == '（' {
        chars.next();
        let mut n = 0;
        while let Some(&(_, c)) = chars.peek() {
            if c.is_ascii_digit() || is_cjk_numeral(c) || is_fullwidth_digit(c) {
                n += 1;
                chars.next();
            } else {
                break;
            }
        }
        return match chars.next() {
            Some((i, c)) if n > 0 && (c == ')' || c == '）') => {
                let end = i + c.len_utf8();
                end + separator_len(&s[end..])
            }
            _ => 0,
        };
    }
    let mut n = 0;
    let mut end = 0;
    while let Some(&(i, c)) = chars.peek() {
        if c.is_ascii_digit() || is_cjk_numeral(c) || is_fullwidth_digit(c) {
            n += 1;
            end = i + c.len_utf8();
            chars.next();
        } else {
            break;
        }
    }
    if n == 0 || n > 3 {
        return 0;
    }
    let sep = separator_len(&s[end..]);
    if sep == 0 {
        0
    } else {
        end + sep
    }
}

fn is_fullwidth_digit(c: char) -> bool {
    ('０'..='９').contains(&c)
}

fn separator_len(s: &str) -> usize {
    match s.chars().next() {
        Some(c @ ('、' | '.' | '．' | ')' | '）' | ',' | '，' | '︑')) => c.len_utf8(),
        _ => 0,
    }
}

fn strip_numbering(s: &str) -> &str {
    &s[numbering_len(s)..]
}

/// What a label cell stands for.
#[derive(Debug, Clone, Default)]
pub struct LabelHit {
    /// Indices into `spec.fields` of the fields sharing this label.
    pub fields: Vec<usize>,
    /// Kinds this label marks.
    pub kinds: Vec<Kind>,
    /// The label as printed, white space removed.
    pub printed: String,
}

/// Looks a cell's text up among the labels of the spec.
pub fn lookup(spec: &FormsSpec, text: &str) -> Option<LabelHit> {
    let idx = spec.index();
    if text.chars().count() > (idx.max_len + LABEL_SLACK) * 3 {
        return None;
    }
    let norm = normalize_label(text);
    if norm.is_empty() || norm.chars().count() > idx.max_len + LABEL_SLACK {
        return None;
    }
    let key = matching_key(&norm, |k| {
        idx.labels.contains_key(k) || idx.markers.contains_key(k)
    })?;
    let hit = LabelHit {
        fields: idx.labels.get(key).cloned().unwrap_or_default(),
        kinds: idx.markers.get(key).cloned().unwrap_or_default(),
        printed: text.chars().filter(|c| !is_blank(*c)).collect(),
    };
    Some(hit)
}

/// The normalised text itself when it is a known label, else the text without a trailing
/// bracketed hint ("案例内容(3000字以内)。") when that is.
fn matching_key(norm: &str, known: impl Fn(&str) -> bool) -> Option<&str> {
    if known(norm) {
        return Some(norm);
    }
    let t = norm.trim_end_matches(['。', '.', ':']);
    if !t.ends_with(')') {
        return None;
    }
    let open = t.find('(')?;
    let head = t[..open].trim_end_matches(':');
    if !head.is_empty() && known(head) {
        Some(head)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_variants() {
        assert_eq!(normalize_label("负 责 人"), "负责人");
        assert_eq!(normalize_label("单位及职\n务（职称）"), "单位及职务(职称)");
        assert_eq!(normalize_label("联系电话："), "联系电话");
        assert_eq!(normalize_label("案\n例\n内\n容"), "案例内容");
        assert_eq!(normalize_label("一、基本情况"), "基本情况");
        assert_eq!(normalize_label("（二）主要做法"), "主要做法");
        assert_eq!(normalize_label("\u{3000}申报单位\u{a0}"), "申报单位");
        assert_eq!(normalize_label("1."), "1.");
    }
}
