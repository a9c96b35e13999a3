//! Label and value written in one cell ("负责人：张三", or "负责人：张三　联系电话：138…"),
//! and forms typed as plain paragraphs rather than a table: both are rewritten into
//! label cell / value cell pairs, so the label matching sees the usual layout.

use super::grid::{Cell, Grid, Row};
use super::labels::lookup;
use super::spec::FormsSpec;

/// Longest label text looked back from a colon, in characters.
const LOOKBACK: usize = 24;

/// Rewrites cells holding "label：value" pairs, and a table-less document's paragraphs.
pub fn split_pairs(grid: &mut Grid, spec: &FormsSpec) {
    if grid.rows.is_empty() {
        let table = 0;
        grid.rows = grid
            .paragraphs
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.trim().is_empty())
            .map(|(i, p)| Row {
                number: i + 1,
                table,
                cells: vec![Cell::new(p.clone(), 1, false)],
            })
            .collect();
    }
    for row in &mut grid.rows {
        let mut cells = Vec::with_capacity(row.cells.len());
        // A cell right of a label cell is that label's value (the case content cell holds
        // "一、基本情况：…" headings): never split it.
        let mut after_label = false;
        for cell in row.cells.drain(..) {
            let is_label = !cell.vcont && lookup(spec, &cell.text).is_some();
            if cell.vcont || is_label || after_label {
                after_label = is_label;
                cells.push(cell);
                continue;
            }
            match pairs(&cell.text, spec) {
                Some(found) => {
                    let n = found.len() * 2;
                    for (k, (label, value)) in found.into_iter().enumerate() {
                        // Keep the row's grid width: the last value cell takes what is left.
                        let last = k * 2 + 2 == n;
                        let span = if last {
                            cell.span.saturating_sub(n - 1).max(1)
                        } else {
                            1
                        };
                        cells.push(Cell::new(label, 1, false));
                        cells.push(Cell::new(value, span, false));
                    }
                }
                None => cells.push(cell),
            }
            after_label = false;
        }
        row.cells = cells;
    }
}

/// The (label, value) pairs of a text that starts with a known label followed by a colon.
fn pairs(text: &str, spec: &FormsSpec) -> Option<Vec<(String, String)>> {
    let starts = label_starts(text, spec);
    let first = starts.first()?;
    if !text[..first.0].trim().is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for (k, &(start, colon_end)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map(|s| s.0).unwrap_or(text.len());
        let label = text[start..colon_end]
            .trim_end_matches([':', '：'])
            .trim()
            .to_string();
        out.push((label, text[colon_end..end].trim().to_string()));
    }
    Some(out)
}

/// (label start, colon end) of every "label：" in the text.
fn label_starts(text: &str, spec: &FormsSpec) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, c) in text.char_indices() {
        if c != ':' && c != '：' {
            continue;
        }
        let colon_end = i + c.len_utf8();
        let before = &text[..i];
        let floor = out.last().map(|&(_, e): &(usize, usize)| e).unwrap_or(0);
        // The longest suffix of what precedes the colon that is a label.
        let mut best = None;
        for (n, (j, _)) in before.char_indices().rev().enumerate() {
            if n >= LOOKBACK || j < floor {
                break;
            }
            let boundary = j == 0
                || before[..j].ends_with(|p: char| p.is_whitespace() || "，,；;。".contains(p));
            if boundary && lookup(spec, &before[j..]).is_some() {
                best = Some(j);
            }
        }
        if let Some(j) = best {
            out.push((j, colon_end));
        }
    }
    out
}
