//! The case form's content cell (案例内容): finds the three section headings (基本情况,
//! 主要做法, 经验效果 — numbered or not, in any order, possibly followed by a hint and text in
//! the same paragraph) and returns each section's text without the intro line, the headings
//! and the template hints.

use super::labels::numbering_len;
use super::spec::FormsSpec;
use super::text::{compact_pattern, hint_len, strip_hints, Compact};

/// Prepared patterns of the spec's [sections] and [hints].
struct Patterns {
    intro: Vec<Vec<char>>,
    headings: Vec<(String, Vec<Vec<char>>)>,
    hints: Vec<Vec<char>>,
}

impl Patterns {
    fn new(spec: &FormsSpec) -> Patterns {
        let s = &spec.sections;
        let mut intro: Vec<Vec<char>> = s.intro.iter().map(|i| compact_pattern(i)).collect();
        // Also accept the intro without its trailing colon.
        let bare: Vec<Vec<char>> = intro
            .iter()
            .filter(|p| p.last() == Some(&':'))
            .map(|p| p[..p.len() - 1].to_vec())
            .collect();
        intro.extend(bare);
        intro.sort_by_key(|p| std::cmp::Reverse(p.len()));
        Patterns {
            intro,
            headings: s
                .headings
                .iter()
                .map(|h| {
                    (
                        h.key.clone(),
                        h.words.iter().map(|w| compact_pattern(w)).collect(),
                    )
                })
                .collect(),
            hints: spec
                .hints
                .words
                .iter()
                .map(|w| compact_pattern(w))
                .collect(),
        }
    }
}

/// Splits the content cell into sections: (field key, text) for each heading found, in spec
/// order. When no heading is found at all, everything goes to the first section.
pub fn split(text: &str, spec: &FormsSpec) -> Vec<(String, String)> {
    let pats = Patterns::new(spec);
    let mut parts: Vec<Vec<&str>> = vec![Vec::new(); pats.headings.len()];
    let mut preamble: Vec<&str> = Vec::new();
    let mut current: Option<usize> = None;
    let mut any_heading = false;
    for line in text.split('\n') {
        let line = skip_intro(line, &pats);
        match heading(line, &pats) {
            Some((h, rest)) => {
                any_heading = true;
                current = Some(h);
                if !rest.trim().is_empty() {
                    parts[h].push(rest);
                }
            }
            None => match current {
                Some(h) => parts[h].push(line),
                None => preamble.push(line),
            },
        }
    }
    if !any_heading {
        if let Some(first) = parts.first_mut() {
            *first = preamble;
        }
    }
    pats.headings
        .iter()
        .zip(parts)
        .filter(|(_, lines)| any_heading || !lines.is_empty())
        .map(|((key, _), lines)| (key.clone(), clean(&lines, &pats)))
        .collect()
}

fn clean(lines: &[&str], pats: &Patterns) -> String {
    let joined = lines.join("\n");
    let stripped = strip_hints(&joined, &pats.hints);
    stripped
        .trim_matches(|c: char| super::labels::is_blank(c))
        .to_string()
}

/// The line without a leading intro ("主要围绕以下三方面内容：").
fn skip_intro<'a>(line: &'a str, pats: &Patterns) -> &'a str {
    if pats.intro.is_empty() {
        return line;
    }
    let cs = Compact::new(line);
    for p in &pats.intro {
        if cs.matches_at(0, p) {
            let end = cs.byte_after(p.len(), line.len());
            return &line[end..];
        }
    }
    line
}

/// When the line starts with a section heading: the section's index and the rest of the line
/// after the heading, its colon and its hints.
fn heading<'a>(line: &'a str, pats: &Patterns) -> Option<(usize, &'a str)> {
    let cs = Compact::new(line);
    if cs.chars.is_empty() {
        return None;
    }
    let head: String = cs.chars.iter().take(8).collect();
    let num = head[..numbering_len(&head)].chars().count();
    let (idx, wlen) = pats
        .headings
        .iter()
        .enumerate()
        .find_map(|(i, (_, words))| {
            words
                .iter()
                .find(|w| cs.matches_at(num, w))
                .map(|w| (i, w.len()))
        })?;
    let mut at = num + wlen;
    let mut marked = num > 0;
    if matches!(cs.chars.get(at), Some(':' | '、' | '.' | '。')) {
        at += 1;
        marked = true;
    }
    loop {
        let n = hint_len(&cs, at, &pats.hints);
        if n == 0 {
            break;
        }
        at += n;
        marked = true;
    }
    if at < cs.chars.len() && matches!(cs.chars.get(at), Some(':')) {
        at += 1;
    }
    if !marked && at < cs.chars.len() {
        // "基本情况良好……" is text, not a heading.
        return None;
    }
    Some((idx, &line[cs.byte_after(at, line.len())..]))
}
