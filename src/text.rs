//! Text normalisation shared by the stages: 字数 counting, name keys, numbers and phones.
//!
//! Owns the string rules of the intake contract (docs/intake.md#text-rules). Pure functions.

use unicode_normalization::UnicodeNormalization;

/// A stored date (`YYYY-MM-DD`) as people read it, 2021年11月20日; anything else as given.
pub fn date_cn(d: &str) -> String {
    chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y年%-m月%-d日").to_string())
        .unwrap_or_else(|_| d.to_string())
}

/// 字数: characters once every Unicode white-space character is removed (U+3000 and NBSP
/// included); punctuation and digits count.
pub fn char_count(s: &str) -> usize {
    s.chars().filter(|c| !is_space(*c)).count()
}

/// White space as 字数 counts it (docs/intake.md#character-count): Unicode White_Space plus the zero-width characters Word
/// leaves behind.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{2060}')
}

/// The comparison key of an entry name: NFKC, no white space, one form of brackets and
/// quotes.
pub fn name_key(s: &str) -> String {
    s.nfkc()
        .filter(|c| !is_space(*c))
        .map(|c| match c {
            '（' | '［' | '【' | '〔' | '[' | '{' => '(',
            '）' | '］' | '】' | '〕' | ']' | '}' => ')',
            '“' | '”' | '„' | '‟' | '「' | '」' | '『' | '』' | '\'' | '‘' | '’' => {
                '"'
            }
            '《' | '〈' | '<' => '<',
            '》' | '〉' | '>' => '>',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// Collapses all runs of white space into nothing (for comparing short values).
pub fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !is_space(*c)).collect()
}

/// True when a value holds nothing but white space, underscores, dots or bracketed template
/// hints and notes such as "（500字以内）" or "（盖章）": a bracket is a hint when it is empty
/// or holds one of `hint_words` (the campaign's forms.toml `[hints]` words, notes and
/// placeholders), each as [`normalize_hint`] gives it (the campaign normalises them once
/// at load). What is left after the brackets is also blank when it is only one of
/// `hint_words` — a placeholder left standing ("单击此处输入文字。") or a bare note.
/// Template hints and underscores alone count as an empty field.
pub fn is_blank(s: &str, hint_words: &[String]) -> bool {
    let s: String = s.nfkc().filter(|c| !is_space(*c)).collect();
    let mut rest = s.as_str();
    // Strip bracketed hints "(…字以内)" wherever they stand.
    let mut kept = String::new();
    while let Some(open) = rest.find('(') {
        kept.push_str(&rest[..open]);
        match rest[open..].find(')') {
            Some(close) => {
                let inner = &rest[open + 1..open + close];
                let hint =
                    inner.is_empty() || hint_words.iter().any(|w| inner.contains(w.as_str()));
                if !hint {
                    kept.push_str(&rest[open..open + close + 1]);
                }
                rest = &rest[open + close + 1..];
            }
            None => {
                kept.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    kept.push_str(rest);
    let filler = |c: char| matches!(c, '_' | '.' | '…' | '-' | '—' | '/' | '。' | ':' | '：');
    let words: String = kept.chars().filter(|c| !filler(*c)).collect();
    if words.is_empty() {
        return true;
    }
    // Hint words are short; a longer value is content (and most values are), so the
    // comparison below runs only for values that could be a placeholder.
    if words.len() > MAX_HINT_BYTES {
        return false;
    }
    let words = words.to_lowercase();
    hint_words.iter().any(|w| !w.is_empty() && *w == words)
}

/// The longest placeholder or note compared whole (bytes, after normalising); longer
/// values are never blank by that test.
const MAX_HINT_BYTES: usize = 120;

/// A hint word as [`is_blank`] compares it whole: NFKC, no white space or filler, lower case.
pub fn normalize_hint(w: &str) -> String {
    let filler = |c: char| matches!(c, '_' | '.' | '…' | '-' | '—' | '/' | '。' | ':' | '：');
    w.nfkc()
        .filter(|c| !is_space(*c) && !filler(*c))
        .collect::<String>()
        .to_lowercase()
}

/// Parses a whole number as people write it: "6期", "1,260人次", "１２", "12 期".
/// Returns None when the text holds no number or more than one, unless one of `units` (the
/// field's unit words, e.g. 期) follows the first number: "3期（每期4次课）" is 3.
pub fn whole_number(s: &str, units: &[&str]) -> Option<u64> {
    let s: String = s
        .nfkc()
        .filter(|c| !is_space(*c) && !matches!(c, ',' | '，' | '\''))
        .collect();
    let groups = digit_groups(&s);
    // "3期（每期4次课）": the first number, when a unit follows it, is the answer.
    if let [(start, end), _, ..] = groups.as_slice() {
        let unit = units
            .iter()
            .any(|u| !u.is_empty() && s[*end..].starts_with(u));
        return if unit {
            s[*start..*end].parse().ok()
        } else {
            None
        };
    }
    match groups.as_slice() {
        [(start, end)] => {
            // "6.5" is not whole; "约300人" is 300.
            if s[*end..].starts_with('.') && s[*end + 1..].starts_with(|c: char| c.is_ascii_digit())
            {
                return None;
            }
            let _ = start;
            s[*start..*end].parse().ok()
        }
        _ => None,
    }
}

/// Parses a positive decimal number ("96", "45.5", "９６分钟").
pub fn decimal_number(s: &str) -> Option<f64> {
    let s: String = s.nfkc().filter(|c| !is_space(*c)).collect();
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let tail = &s[start..];
    let end = tail
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tail.len());
    let num = &tail[..end];
    if tail[end..].contains(|c: char| c.is_ascii_digit())
        || s[..start].contains(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    num.trim_end_matches('.').parse().ok()
}

/// Reads a duration as people write it, in minutes: "96", "96分钟", "2小时15分" (135),
/// "1.5 小时" (90), "约 30 分钟" (30), "50′" (50), "45分30秒" (45.5), clock notation
/// "00:45:00" (45) and "1:30" (90). None when nothing reads as a duration, or when the same
/// unit is given twice ("10分钟，共3集每集10分钟" is not one duration).
///
/// Clock notation with two parts is hours:minutes when the first part is below 4 (a video of
/// "1:30" is an hour and a half) and minutes:seconds from 4 on ("45:00" is 45 minutes): a
/// course video of four hours or more is not what people mean.
pub fn minutes(s: &str) -> Option<f64> {
    // Keep the prime marks: NFKC turns ′ into ' only in some forms, so map both ourselves.
    let s: String = s
        .nfkc()
        .filter(|c| !is_space(*c))
        .map(|c| match c {
            '′' | '’' => '\'',
            '″' | '”' | '“' => '"',
            '：' => ':',
            c => c,
        })
        .collect::<String>()
        .to_lowercase();
    if let Some(m) = clock_minutes(&s) {
        return Some(m);
    }
    let units: [(&[&str], f64); 3] = [
        (
            &["小时", "钟头", "hours", "hour", "hrs", "hr", "h", "时"],
            60.0,
        ),
        (
            &["分钟", "minutes", "minute", "mins", "min", "分", "'"],
            1.0,
        ),
        (
            &["秒钟", "秒", "seconds", "second", "secs", "sec", "s", "\""],
            1.0 / 60.0,
        ),
    ];
    let mut total = 0.0;
    let mut seen = [false; 3];
    let mut any = false;
    let mut rest = s.as_str();
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(tail.len());
        let value: f64 = tail[..end].trim_end_matches('.').parse().ok()?;
        let after = &tail[end..];
        let unit = units.iter().enumerate().find_map(|(i, (words, factor))| {
            words
                .iter()
                .find(|w| after.starts_with(*w))
                .map(|w| (i, *factor, w.len()))
        });
        match unit {
            Some((i, factor, len)) => {
                if seen[i] {
                    return None;
                }
                seen[i] = true;
                any = true;
                total += value * factor;
                rest = &after[len..];
            }
            None if !any && !after.contains(|c: char| c.is_ascii_digit()) => {
                // A bare number ("96", "约96"): minutes.
                return decimal_number(&s);
            }
            None => return None,
        }
    }
    any.then_some(total)
}

/// "hh:mm:ss", "h:mm" or "mm:ss" standing alone (see [`minutes`]).
fn clock_minutes(s: &str) -> Option<f64> {
    let body = s.trim_start_matches('约').trim_end_matches(['。', '.']);
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() < 2
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n: Vec<f64> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    match n.as_slice() {
        [h, m, sec] if *m < 60.0 && *sec < 60.0 => Some(h * 60.0 + m + sec / 60.0),
        [a, b] if *b < 60.0 && *a < 4.0 => Some(a * 60.0 + b),
        [a, b] if *b < 60.0 => Some(a + b / 60.0),
        _ => None,
    }
}

fn digit_groups(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                out.push((st, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    // "6.5" is one number for our purpose of counting groups.
    out
}

/// Checks a phone cell: one or more numbers separated by / 、 , ， ; ；.
/// Each must be a mainland mobile or a landline with area code (docs/intake.md#phones).
pub fn phones_valid(cell: &str) -> bool {
    let cell: String = cell.nfkc().collect();
    let parts: Vec<&str> = cell
        .split(['/', '、', ',', ';', '；', '，', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    // "0571-88068052 13858012345": numbers separated by spaces only.
    let valid = |p: &str| {
        phone_valid(p) || {
            let words: Vec<&str> = p.split_whitespace().collect();
            words.len() > 1 && words.iter().all(|w| phone_valid(w))
        }
    };
    !parts.is_empty() && parts.iter().all(|p| valid(p))
}

/// One phone number.
pub fn phone_valid(p: &str) -> bool {
    let p: String = p.nfkc().collect();
    // Split off an extension written with 转 / ext / x.
    let lower = p.to_lowercase();
    let (main, ext) = match ["转", "ext.", "ext", "x", "#"]
        .iter()
        .find_map(|sep| lower.find(sep).map(|i| (i, sep.len())))
    {
        Some((i, len)) => (lower[..i].to_string(), Some(lower[i + len..].to_string())),
        None => (lower.clone(), None),
    };
    if let Some(ext) = &ext {
        let e: String = ext.chars().filter(|c| !is_space(*c) && *c != '-').collect();
        if e.is_empty() || e.len() > 6 || !e.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    let cleaned: String = main
        .chars()
        .filter(|c| !is_space(*c) && !matches!(c, '(' | ')' | '[' | ']' | '.'))
        .collect();
    let cleaned = cleaned
        .strip_prefix("+86")
        .or_else(|| cleaned.strip_prefix("0086"))
        .unwrap_or(&cleaned)
        .trim_start_matches('-')
        .to_string();
    if !cleaned.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return false;
    }
    let digits: String = cleaned.chars().filter(|c| c.is_ascii_digit()).collect();
    if is_mobile(&digits) || is_landline(&digits) {
        return true;
    }
    // A trailing "-123" may be an extension when there was none written otherwise.
    if ext.is_none() {
        if let Some(i) = cleaned.rfind('-') {
            let (head, tail) = (&cleaned[..i], &cleaned[i + 1..]);
            let head_digits: String = head.chars().filter(|c| c.is_ascii_digit()).collect();
            if head.contains('-') && (1..=6).contains(&tail.len()) && is_landline(&head_digits) {
                return true;
            }
        }
    }
    false
}

fn is_mobile(d: &str) -> bool {
    d.len() == 11 && d.starts_with('1') && matches!(d.as_bytes()[1], b'3'..=b'9')
}

fn is_landline(d: &str) -> bool {
    if !d.starts_with('0') || d.starts_with("00") {
        return false;
    }
    let area = if d.starts_with("010") || d.starts_with("02") {
        3
    } else {
        4
    };
    if d.len() <= area {
        return false;
    }
    let local = d.len() - area;
    local == 7 || local == 8
}

/// Finds web links (http://, https://, www.) in text.
pub fn has_web_link(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.contains("http://") || l.contains("https://") || l.contains("www.") || l.contains("ftp://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_without_white_space() {
        assert_eq!(char_count("　一、 基\n本\u{a0}情况。"), 7);
    }

    #[test]
    fn numbers_as_written() {
        let units = ["期", "人次", "人"];
        let whole = |s| whole_number(s, &units);
        assert_eq!(whole("6期"), Some(6));
        assert_eq!(whole("1,260人次"), Some(1260));
        assert_eq!(whole("１２"), Some(12));
        assert_eq!(whole("12 期"), Some(12));
        assert_eq!(whole("若干"), None);
        assert_eq!(whole("6.5"), None);
        assert_eq!(whole("3至5期"), None);
        assert_eq!(whole("3期（每期4次课）"), Some(3));
        assert_eq!(whole("共1,260人次，其中"), Some(1260));
        // Without the unit word, two numbers are ambiguous.
        assert_eq!(whole_number("3期（每期4次课）", &[]), None);
        assert_eq!(decimal_number("96"), Some(96.0));
        assert_eq!(decimal_number("45.5分钟"), Some(45.5));
        assert_eq!(decimal_number("______"), None);
    }

    #[test]
    fn phones() {
        for ok in [
            "010-66490580",
            "0755 1234 5678",
            "(010)66096253",
            "13926011873",
            "０２０－８３２５６７１２",
            "0571-88068052-123",
            "010-66490580转123",
            "13926011873 / 020-83256712",
            "+86 139 2601 1873",
            "0991-4523160",
            "0571-88068052 13858012345",
        ] {
            assert!(phones_valid(ok), "{ok}");
        }
        for bad in [
            "66171235",
            "0991-52345",
            "1392601187",
            "12345678901",
            "电话",
            "",
            "010-664905",
        ] {
            assert!(!phones_valid(bad), "{bad}");
        }
    }

    #[test]
    fn durations_as_people_write_them() {
        let cases = [
            ("96", Some(96.0)),
            ("96分钟", Some(96.0)),
            ("９６分钟", Some(96.0)),
            ("2小时15分", Some(135.0)),
            ("2 小时 15 分钟", Some(135.0)),
            ("1.5 小时", Some(90.0)),
            ("约 30 分钟", Some(30.0)),
            ("50′", Some(50.0)),
            ("50'", Some(50.0)),
            ("45分30秒", Some(45.5)),
            ("00:45:00", Some(45.0)),
            ("1:30", Some(90.0)),
            ("45:00", Some(45.0)),
            ("90min", Some(90.0)),
            ("若干", None),
            ("10分钟，每集10分钟", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(minutes(s), want, "{s}");
        }
    }

    #[test]
    fn counts_as_people_write_them() {
        let units = ["人次", "人", "期"];
        assert_eq!(whole_number("300余人次", &units), Some(300));
        assert_eq!(whole_number("300多人", &units), Some(300));
        assert_eq!(whole_number("近千人次", &units), None);
        assert_eq!(whole_number("共6期（每期4次）", &units), Some(6));
    }

    #[test]
    fn blanks() {
        let hints = ["字以内".to_string(), "盖章".to_string()];
        assert!(is_blank("______", &hints));
        assert!(is_blank(" （500 字以内）。", &hints));
        assert!(is_blank("（盖章）", &hints));
        assert!(!is_blank("（盖章）", &[]));
        assert!(!is_blank("周静", &hints));
        let placeholders =
            ["单击此处输入文字", "Click here to enter text.", "请填写"].map(normalize_hint);
        assert!(is_blank("单击此处输入文字。", &placeholders));
        assert!(is_blank(" Click here to enter text. ", &placeholders));
        assert!(is_blank("（请填写单位全称）", &placeholders));
        assert!(!is_blank("单击此处输入文字。广东开放大学", &placeholders));
    }

    #[test]
    fn name_keys_unify() {
        assert_eq!(
            name_key("“数字 助老”（修改）"),
            name_key("\"数字助老\"(修改)")
        );
    }
}
