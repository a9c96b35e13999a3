//! The report's tables by province, batch and theme: valid entries per province and kind
//! with the change over the window, the province × batch matrix (each batch whose deadline
//! has passed said to be closed), batches by kind, themes, the entries off every theme,
//! and the entries awaiting correction grouped by province.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use super::data::{EntryLine, BODY_ROWS};
use super::labels::Labels;
use crate::campaign::Campaign;
use crate::filing::EntryStatus;

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub valid: usize,
    pub zero: bool,
}

fn cells(counts: Vec<usize>) -> Vec<Cell> {
    counts
        .into_iter()
        .map(|v| Cell {
            valid: v,
            zero: v == 0,
        })
        .collect()
}

fn valid<'a>(
    entries: &'a [EntryLine],
    sel: impl Fn(&EntryLine) -> bool + 'a,
) -> impl Iterator<Item = &'a EntryLine> + 'a {
    entries
        .iter()
        .filter(move |e| e.status == EntryStatus::Valid && sel(e))
}

/// Valid entries per kind, in the campaign's kind order, among those `sel` picks.
pub fn kind_cells(
    c: &Campaign,
    entries: &[EntryLine],
    sel: impl Fn(&EntryLine) -> bool,
) -> Vec<Cell> {
    let kinds: Vec<&str> = c.kinds().map(|k| k.key()).collect();
    let mut n = vec![0usize; kinds.len()];
    for e in valid(entries, sel) {
        if let Some(i) = kinds.iter().position(|k| *k == e.kind) {
            n[i] += 1;
        }
    }
    cells(n)
}

/// Valid entries per batch, then late arrivals, among those `sel` picks.
pub fn batch_cells(
    c: &Campaign,
    entries: &[EntryLine],
    sel: impl Fn(&EntryLine) -> bool,
) -> Vec<Cell> {
    let mut n = vec![0usize; c.batches.len() + 1];
    for e in valid(entries, sel) {
        let i = e
            .batch
            .and_then(|b| c.batches.iter().position(|x| x.number == b))
            .unwrap_or(c.batches.len());
        n[i] += 1;
    }
    cells(n)
}

/// A column of the province × batch matrix.
#[derive(Debug, Clone, Serialize)]
pub struct BatchHead {
    pub label: String,
    /// "截止 2021年10月31日（已截止）", or the note on late arrivals.
    pub note: String,
    pub closed: bool,
}

fn date(l: &Labels, d: NaiveDate) -> String {
    d.format(l.format("date")).to_string()
}

/// The batches, then late arrivals; a batch whose deadline is before `today` is closed.
pub fn batch_heads(c: &Campaign, l: &Labels, today: NaiveDate) -> Vec<BatchHead> {
    let mut heads: Vec<BatchHead> = c
        .batches
        .iter()
        .map(|b| {
            let closed = b.deadline < today;
            BatchHead {
                label: b.name.clone(),
                note: l.phrase(
                    "batch_note",
                    &json!({"date": date(l, b.deadline), "closed": closed, "closed_word": l.label("batch_closed")}),
                ),
                closed,
            }
        })
        .collect();
    heads.push(BatchHead {
        label: l.label("late_batch").to_string(),
        note: l.phrase("late_note", &json!({})),
        closed: false,
    });
    heads
}

#[derive(Debug, Clone, Serialize)]
pub struct ProvinceRow {
    pub code: String,
    pub name: String,
    pub short: String,
    /// Short name padded to four columns for the text table.
    pub padded: String,
    /// Valid entries per kind, in the campaign's kind order.
    pub cells: Vec<Cell>,
    /// Valid entries per batch, then late arrivals.
    pub by_batch: Vec<Cell>,
    pub valid: usize,
    pub invalid: usize,
    /// Valid entries now less those at the window's start, and as text ("+2", "-1", "").
    pub change: i64,
    pub change_text: String,
    /// A filed message was attributed to the province, or an entry was.
    pub heard: bool,
    /// Not heard from at all (尚未来信).
    pub nothing: bool,
    /// No valid entry yet.
    pub no_valid: bool,
    /// 尚未来信, 有来信但无有效申报, or empty.
    pub situation: String,
}

fn pad4(s: &str) -> String {
    let n = s.chars().count();
    let mut out = s.to_string();
    for _ in n..4 {
        out.push('\u{3000}');
    }
    out
}

/// Per province: (valid, invalid, any) now, and valid at the window's start.
fn province_counts<'a>(
    entries: &'a [EntryLine],
    earlier: &'a [(String, i64)],
) -> BTreeMap<&'a str, [usize; 4]> {
    let mut by: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for e in entries {
        if let Some(p) = e.province.as_deref() {
            let s = by.entry(p).or_default();
            s[0] += (e.status == EntryStatus::Valid) as usize;
            s[1] += (e.status == EntryStatus::Invalid) as usize;
            s[2] += 1;
        }
    }
    for (p, n) in earlier {
        by.entry(p.as_str()).or_default()[3] += *n as usize;
    }
    by
}

/// Every province of the campaign, in its order.
pub fn provinces(
    c: &Campaign,
    l: &Labels,
    entries: &[EntryLine],
    earlier: &[(String, i64)],
    heard_from: &[String],
) -> Vec<ProvinceRow> {
    let counts = province_counts(entries, earlier);
    c.provinces
        .iter()
        .map(|p| {
            let [v, inv, any, before] = counts.get(p.code.as_str()).copied().unwrap_or_default();
            let mine = |e: &EntryLine| e.province.as_deref() == Some(p.code.as_str());
            let heard = any > 0 || heard_from.contains(&p.code);
            let change = v as i64 - before as i64;
            let situation = match (heard, v) {
                (false, _) => l.label("nothing_yet"),
                (true, 0) => l.label("no_valid_yet"),
                _ => "",
            };
            ProvinceRow {
                code: p.code.clone(),
                name: p.name.clone(),
                short: p.short.clone(),
                padded: pad4(&p.short),
                cells: kind_cells(c, entries, mine),
                by_batch: batch_cells(c, entries, mine),
                valid: v,
                invalid: inv,
                change,
                change_text: if change == 0 {
                    String::new()
                } else {
                    format!("{change:+}")
                },
                heard,
                nothing: !heard,
                no_valid: v == 0,
                situation: situation.to_string(),
            }
        })
        .collect()
}

/// Names of the provinces `sel` picks.
pub fn names_where(rows: &[ProvinceRow], sel: impl Fn(&ProvinceRow) -> bool) -> Vec<String> {
    rows.iter()
        .filter(|p| sel(p))
        .map(|p| p.name.clone())
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchRow {
    pub label: String,
    /// "截止 2021年10月31日（已截止）", or the note on late arrivals.
    pub note: String,
    pub closed: bool,
    pub cells: Vec<Cell>,
    pub valid: usize,
    pub invalid: usize,
}

/// Each batch by kind, then late arrivals.
pub fn batches(c: &Campaign, l: &Labels, entries: &[EntryLine], today: NaiveDate) -> Vec<BatchRow> {
    let numbers: Vec<Option<u8>> = c
        .batches
        .iter()
        .map(|b| Some(b.number))
        .chain([None])
        .collect();
    batch_heads(c, l, today)
        .into_iter()
        .zip(numbers)
        .map(|(head, number)| {
            let of = |s: EntryStatus| {
                entries
                    .iter()
                    .filter(|e| e.status == s && e.batch == number)
                    .count()
            };
            BatchRow {
                cells: kind_cells(c, entries, |e| e.batch == number),
                valid: of(EntryStatus::Valid),
                invalid: of(EntryStatus::Invalid),
                label: head.label,
                note: head.note,
                closed: head.closed,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct ThemeRow {
    pub name: String,
    pub valid: usize,
    pub pct_text: String,
    pub zero: bool,
}

/// Valid entries touching each theme, and their share of all valid entries.
pub fn themes(c: &Campaign, entries: &[EntryLine]) -> Vec<ThemeRow> {
    let all = valid(entries, |_| true).count();
    c.themes
        .iter()
        .map(|t| {
            let n = valid(entries, |e| e.themes.contains(&t.name)).count();
            let share = if all == 0 {
                0.0
            } else {
                n as f64 * 100.0 / all as f64
            };
            ThemeRow {
                name: t.name.clone(),
                valid: n,
                pct_text: format!("{share:.1}%"),
                zero: n == 0,
            }
        })
        .collect()
}

/// An entry named in a list.
#[derive(Debug, Clone, Serialize)]
pub struct EntryRef {
    pub receipt: String,
    pub name: String,
    pub province_name: String,
    pub kind_short: String,
}

impl From<&EntryLine> for EntryRef {
    fn from(e: &EntryLine) -> EntryRef {
        EntryRef {
            receipt: e.receipt.clone(),
            name: e.name.clone(),
            province_name: e.province_name.clone(),
            kind_short: e.kind_short.clone(),
        }
    }
}

/// How many entries off every theme the mail names; the workbook's 明细 has them all.
pub const OFF_THEME_ROWS: usize = 20;

/// The valid entries off every theme (the first [`OFF_THEME_ROWS`]).
pub fn off_theme(entries: &[EntryLine]) -> Vec<EntryRef> {
    entries
        .iter()
        .filter(|e| e.off_theme())
        .take(OFF_THEME_ROWS)
        .map(EntryRef::from)
        .collect()
}

/// Entries awaiting correction from one province.
#[derive(Debug, Clone, Serialize)]
pub struct CorrectionGroup {
    pub province_name: String,
    pub count: usize,
    /// The rows the mail shows (at most [`BODY_ROWS`] over all groups).
    pub rows: Vec<EntryLine>,
}

/// Entries awaiting correction by province (the campaign's order), and how many do not fit
/// the mail.
pub fn corrections(c: &Campaign, entries: &[EntryLine]) -> (Vec<CorrectionGroup>, usize) {
    let invalid: Vec<&EntryLine> = entries
        .iter()
        .filter(|e| e.status == EntryStatus::Invalid)
        .collect();
    let mut room = BODY_ROWS;
    let mut groups = Vec::new();
    let codes = c
        .provinces
        .iter()
        .map(|p| Some(p.code.as_str()))
        .chain([None]);
    for code in codes {
        let mine: Vec<&EntryLine> = invalid
            .iter()
            .copied()
            .filter(|e| e.province.as_deref() == code)
            .collect();
        if mine.is_empty() || room == 0 {
            continue;
        }
        let rows: Vec<EntryLine> = mine.iter().take(room).map(|e| (*e).clone()).collect();
        room -= rows.len();
        groups.push(CorrectionGroup {
            province_name: mine[0].province_name.clone(),
            count: mine.len(),
            rows,
        });
    }
    let shown: usize = groups.iter().map(|g| g.rows.len()).sum();
    (groups, invalid.len() - shown)
}
