//! Turns a [`Grid`] into a [`Document`]: recognises a summary sheet, else finds the label
//! cells, decides the kind of form, reads each label's value (cells to its right up to the
//! next label, rows a vertical label spans, or the row below a lone label), then splits the
//! case content into sections and reads the tick list.

use std::collections::BTreeMap;

use unicode_normalization::UnicodeNormalization;

use super::grid::{Grid, Row};
use super::labels::{is_blank, lookup, LabelHit};
use super::spec::FormsSpec;
use super::text::{hint_words, strip_hints, tidy};
use super::{inline, sections, summary, ticks, Document, Form, Kind};

/// Label hits per row and cell (None: not a label).
type Hits = Vec<Vec<Option<LabelHit>>>;

/// Classifies a grid.
pub fn classify(mut grid: Grid, spec: &FormsSpec) -> Document {
    if let Some(rows) = summary::find(&grid, spec) {
        return Document::Summary(rows);
    }
    inline::split_pairs(&mut grid, spec);
    let hits = label_hits(&grid, spec);
    let Some(kind) = detect_kind(&grid, &hits, spec) else {
        return Document::NotAForm;
    };
    let mut form = Form {
        kind,
        fields: BTreeMap::new(),
        labels: BTreeMap::new(),
        choices: Vec::new(),
        text: String::new(),
    };
    extract(&grid, &hits, spec, kind, &mut form);
    post_process(spec, kind, &mut form);
    form.text = grid.text;
    Document::Form(form)
}

fn label_hits(grid: &Grid, spec: &FormsSpec) -> Hits {
    grid.rows
        .iter()
        .map(|r| {
            r.cells
                .iter()
                .map(|c| if c.vcont { None } else { lookup(spec, &c.text) })
                .collect()
        })
        .collect()
}

fn squash(s: &str) -> String {
    s.nfkc().filter(|c| !is_blank(*c)).collect()
}

/// Scores each kind: 2 per marker label found, 3 when a title keyword appears in the free
/// paragraphs or the first table row. The best positive score wins; a tie decides nothing.
fn detect_kind(grid: &Grid, hits: &Hits, spec: &FormsSpec) -> Option<Kind> {
    let mut score: BTreeMap<Kind, u32> = BTreeMap::new();
    for h in hits.iter().flatten().flatten() {
        for k in &h.kinds {
            *score.entry(*k).or_default() += 2;
        }
    }
    let mut title_text: String = grid.paragraphs.iter().take(12).map(|p| squash(p)).collect();
    if let Some(first) = grid.rows.first() {
        for c in &first.cells {
            title_text.push_str(&squash(&c.text));
        }
    }
    for k in &spec.kinds {
        let Some(kind) = spec.kind(&k.key) else {
            continue;
        };
        if k.titles.iter().any(|t| {
            let t = squash(t);
            !t.is_empty() && title_text.contains(&t)
        }) {
            *score.entry(kind).or_default() += 3;
        }
    }
    let best = score.values().copied().max().filter(|&s| s > 0)?;
    let mut winners = score.iter().filter(|(_, &s)| s == best);
    let first = winners.next().map(|(k, _)| *k);
    if winners.next().is_some() {
        return None;
    }
    first
}

/// Reads every label's value into the form.
fn extract(grid: &Grid, hits: &Hits, spec: &FormsSpec, kind: Kind, form: &mut Form) {
    let mut last_field: Option<String> = None;
    for r in 0..grid.rows.len() {
        // Once per row: a row of many labels made this quadratic (120,000 label cells in a
        // 760 KB .docx took over half a minute).
        let columns = grid.rows[r].columns();
        for (i, hit) in hits[r].iter().enumerate() {
            let Some(hit) = hit else { continue };
            let Some(fi) = choose_field(hit, spec, kind, last_field.as_deref(), form) else {
                continue;
            };
            let key = spec.fields[fi].key.clone();
            let col = columns.get(i).copied().unwrap_or(0);
            let value = value_of(grid, hits, r, i, col);
            let keep_old = form.fields.get(&key).is_some_and(|v| !v.is_empty());
            if !keep_old {
                form.fields.insert(key.clone(), value);
                form.labels.insert(key.clone(), hit.printed.clone());
            }
            last_field = Some(key);
        }
    }
}

/// Among the fields sharing a label, the one that follows the previous label, else the first
/// not yet read, else the first.
fn choose_field(
    hit: &LabelHit,
    spec: &FormsSpec,
    kind: Kind,
    last: Option<&str>,
    form: &Form,
) -> Option<usize> {
    let cands: Vec<usize> = hit
        .fields
        .iter()
        .copied()
        .filter(|&f| spec.field_applies(&spec.fields[f], kind))
        .collect();
    if cands.len() <= 1 {
        return cands.first().copied();
    }
    if let Some(last) = last {
        if let Some(&f) = cands
            .iter()
            .find(|&&f| spec.fields[f].follows.as_deref() == Some(last))
        {
            return Some(f);
        }
    }
    cands
        .iter()
        .copied()
        .find(|&f| !form.fields.contains_key(&spec.fields[f].key))
        .or(cands.first().copied())
}

/// The value of the label at row `r`, cell `i`, which starts at grid column `col`.
fn value_of(grid: &Grid, hits: &Hits, r: usize, i: usize, col: usize) -> String {
    let row = &grid.rows[r];
    let mut parts: Vec<&str> = Vec::new();
    collect_right(row, &hits[r], i + 1, &mut parts);
    let mut spanned = false;
    for (rr, next) in grid.rows.iter().enumerate().skip(r + 1) {
        if next.table != row.table {
            break;
        }
        match next.cell_at(col) {
            Some(ci) if next.cells[ci].vcont => {
                spanned = true;
                collect_right(next, &hits[rr], ci + 1, &mut parts);
            }
            _ => break,
        }
    }
    if parts.is_empty() && !spanned {
        below(grid, hits, r, i, &mut parts);
    }
    let joined: Vec<String> = parts
        .iter()
        .map(|p| tidy(p))
        .filter(|p| !p.is_empty())
        .collect();
    joined.join("\n")
}

/// Pushes the texts of cells from `from` to the next label cell.
fn collect_right<'g>(row: &'g Row, hits: &[Option<LabelHit>], from: usize, out: &mut Vec<&'g str>) {
    for (j, c) in row.cells.iter().enumerate().skip(from) {
        if hits.get(j).is_some_and(|h| h.is_some()) {
            break;
        }
        if !c.vcont {
            out.push(&c.text);
        }
    }
}

/// A lone label in its row (a heading row): the value is the next row, if it has no labels.
fn below<'g>(grid: &'g Grid, hits: &Hits, r: usize, i: usize, out: &mut Vec<&'g str>) {
    let row = &grid.rows[r];
    let lone = row
        .cells
        .iter()
        .enumerate()
        .all(|(j, c)| j == i || c.vcont || c.text.trim().is_empty());
    if !lone {
        return;
    }
    let Some(next) = grid.rows.get(r + 1) else {
        return;
    };
    if next.table != row.table || hits[r + 1].iter().any(|h| h.is_some()) {
        return;
    }
    out.extend(
        next.cells
            .iter()
            .filter(|c| !c.vcont)
            .map(|c| c.text.as_str()),
    );
}

/// Sections, tick list, blank, hint removal.
fn post_process(spec: &FormsSpec, kind: Kind, form: &mut Form) {
    let hints = hint_words(spec);
    for v in form.fields.values_mut() {
        let s = strip_hints(v, &hints);
        if let std::borrow::Cow::Owned(s) = s {
            *v = tidy(&s);
        }
    }
    let sec = &spec.sections;
    if !sec.field.is_empty() {
        if let Some(content) = form.fields.get(&sec.field).cloned() {
            for (key, text) in sections::split(&content, spec) {
                let empty = form.fields.get(&key).is_none_or(|v| v.is_empty());
                if empty {
                    form.fields.insert(key, text);
                }
            }
        }
    }
    let t = &spec.ticks;
    let has_ticks = !t.field.is_empty()
        && spec
            .fields
            .iter()
            .any(|f| f.key == t.field && spec.field_applies(f, kind));
    if has_ticks {
        let value = form.fields.get(&t.field).cloned().unwrap_or_default();
        form.choices = ticks::choices(&value, spec);
        if !t.blank_field.is_empty() {
            if let Some(b) = ticks::blank(&value, spec) {
                form.fields.insert(t.blank_field.clone(), b);
            }
        }
    }
}
