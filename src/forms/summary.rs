//! Summary sheets (推荐汇总表): finds the header row (a name column and a 类型 column) in a
//! grid and returns one [`SummaryRow`] per non-empty row below it.

use super::grid::{Grid, Row};
use super::labels::normalize_label;
use super::spec::FormsSpec;
use super::text::tidy;
use super::{Kind, SummaryRow};

/// Grid columns of the header row.
struct Header {
    row: usize,
    table: usize,
    name: usize,
    kind: usize,
    unit: Option<usize>,
}

/// The rows of the summary table, when the grid has one.
pub fn find(grid: &Grid, spec: &FormsSpec) -> Option<Vec<SummaryRow>> {
    let s = &spec.summary;
    if s.name_headers.is_empty() || s.type_headers.is_empty() {
        return None;
    }
    let names: Vec<String> = s.name_headers.iter().map(|h| normalize_label(h)).collect();
    let types: Vec<String> = s.type_headers.iter().map(|h| normalize_label(h)).collect();
    let units: Vec<String> = s.unit_headers.iter().map(|h| normalize_label(h)).collect();
    let header = grid
        .rows
        .iter()
        .enumerate()
        .find_map(|(i, r)| header_of(i, r, &names, &types, &units))?;
    let rows = grid.rows[header.row + 1..]
        .iter()
        .filter(|r| r.table == header.table)
        .filter_map(|r| summary_row(r, &header, spec))
        .collect();
    Some(rows)
}

fn header_of(
    i: usize,
    row: &Row,
    names: &[String],
    types: &[String],
    units: &[String],
) -> Option<Header> {
    let cols = row.columns();
    let mut name = None;
    let mut kind = None;
    let mut unit = None;
    for (c, cell) in row.cells.iter().enumerate() {
        if cell.text.chars().count() > 40 {
            continue;
        }
        let n = normalize_label(&cell.text);
        if name.is_none() && names.contains(&n) {
            name = Some(cols[c]);
        } else if kind.is_none() && types.contains(&n) {
            kind = Some(cols[c]);
        } else if unit.is_none() && units.contains(&n) {
            unit = Some(cols[c]);
        }
    }
    Some(Header {
        row: i,
        table: row.table,
        name: name?,
        kind: kind?,
        unit,
    })
}

/// Text of the cell covering grid column `col`.
fn text_at(row: &Row, col: usize) -> String {
    let mut start = 0usize;
    for c in &row.cells {
        let end = start.saturating_add(c.span);
        if col >= start && col < end {
            return if c.vcont {
                String::new()
            } else {
                tidy(&c.text)
            };
        }
        start = end;
    }
    String::new()
}

fn summary_row(row: &Row, h: &Header, spec: &FormsSpec) -> Option<SummaryRow> {
    let name = text_at(row, h.name);
    if name.is_empty() {
        return None;
    }
    let kind_text = text_at(row, h.kind);
    let unit = h.unit.map(|c| text_at(row, c)).filter(|u| !u.is_empty());
    Some(SummaryRow {
        row: row.number,
        name,
        kind: kind_of(&kind_text, spec),
        unit,
    })
}

/// The kind named by a 类型 cell: an exact value first, else the longest value it contains.
pub fn kind_of(text: &str, spec: &FormsSpec) -> Option<Kind> {
    let n = normalize_label(text);
    if n.is_empty() {
        return None;
    }
    let mut best: Option<(usize, Kind)> = None;
    for k in &spec.kinds {
        let Some(kind) = spec.kind(&k.key) else {
            continue;
        };
        for v in &k.summary_names {
            let v = normalize_label(v);
            if v.is_empty() {
                continue;
            }
            if v == n {
                return Some(kind);
            }
            if n.contains(&v) && best.is_none_or(|(l, _)| v.len() > l) {
                best = Some((v.len(), kind));
            }
        }
    }
    best.map(|(_, k)| k)
}
