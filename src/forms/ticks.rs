//! The tick list of the course form (课程资源类型): which options carry a tick mark, and what
//! was written on the 视频时长 ____ 分钟 blank. Marks may stand before their option (□教材) or,
//! when no mark precedes the first option, after it (教材√).

use super::docx::{EMPTY, TICKED};
use super::labels::is_blank;
use super::spec::FormsSpec;
use super::text::{compact_pattern, Compact};
use super::Choice;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Ticked,
    Empty,
}

/// Reads the options' states from the tick-list cell; every option of the spec is returned.
pub fn choices(value: &str, spec: &FormsSpec) -> Vec<Choice> {
    let t = &spec.ticks;
    let cs = Compact::new(value);
    let mark_of = |c: char| {
        if c == TICKED || t.ticked_marks.contains(c) {
            Some(Mark::Ticked)
        } else if c == EMPTY || t.empty_marks.contains(c) {
            Some(Mark::Empty)
        } else {
            None
        }
    };
    let marks: Vec<(usize, Mark)> = cs
        .chars
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| mark_of(c).map(|m| (i, m)))
        .collect();
    // (option index, start, end) in compact chars, for the options found.
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    for (oi, opt) in t.options.iter().enumerate() {
        if let Some((s, e)) = locate(&cs, &opt.matches, &found) {
            found.push((oi, s, e));
        }
    }
    found.sort_by_key(|f| f.1);
    let prefix = match (marks.first(), found.first()) {
        (Some(m), Some(f)) => m.0 < f.1,
        _ => true,
    };
    let mut ticked = vec![false; t.options.len()];
    for (k, &(oi, start, end)) in found.iter().enumerate() {
        let prev_end = if k == 0 { 0 } else { found[k - 1].2 };
        let next_start = found.get(k + 1).map_or(cs.chars.len(), |f| f.1);
        let mark = if prefix {
            marks.iter().rev().find(|m| m.0 >= prev_end && m.0 < start)
        } else {
            marks.iter().find(|m| m.0 >= end && m.0 < next_start)
        };
        ticked[oi] = mark.is_some_and(|m| m.1 == Mark::Ticked);
    }
    t.options
        .iter()
        .zip(ticked)
        .map(|(o, ticked)| Choice {
            option: o.option.clone(),
            ticked,
        })
        .collect()
}

/// The first occurrence of the first variant that occurs outside the ranges already taken.
fn locate(
    cs: &Compact,
    variants: &[String],
    taken: &[(usize, usize, usize)],
) -> Option<(usize, usize)> {
    for v in variants {
        let pat = compact_pattern(v);
        let mut from = 0;
        while let Some(i) = cs.find(&pat, from) {
            let end = i + pat.len();
            if !taken.iter().any(|&(_, s, e)| i < e && end > s) {
                return Some((i, end));
            }
            from = i + 1;
        }
    }
    None
}

/// What was written on the blank (视频时长 ____ 分钟), fillers and white space removed;
/// `None` when the cell has no such blank.
pub fn blank(value: &str, spec: &FormsSpec) -> Option<String> {
    let t = &spec.ticks;
    let (start, len) = t
        .blank_before
        .iter()
        .filter(|b| !b.is_empty())
        .find_map(|b| value.find(b.as_str()).map(|i| (i, b.len())))?;
    let rest = &value[start + len..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let end = t
        .blank_after
        .iter()
        .filter(|a| !a.is_empty())
        .filter_map(|a| rest[..line_end].find(a.as_str()))
        .min()
        .unwrap_or(line_end);
    Some(
        rest[..end]
            .chars()
            .filter(|&c| !is_blank(c) && !t.blank_filler.contains(c))
            .collect(),
    )
}
