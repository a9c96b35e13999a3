//! The report's numbers: one read of the registry as of a moment, turned into plain rows
//! for the templates and the workbook.
//!
//! "As of" means what had arrived by then: a version counts when its message arrived
//! (`arrived_at`, the time that also decides the batch; `created_at` when unknown) at or
//! before that moment and had not yet been replaced by a version that arrived at or before
//! it. With the moment after the last arrival this is simply `superseded_by IS NULL`. So a
//! report for a past date over a registry filed later (a backlog, a reprocessing) shows what
//! had been submitted by that date. Only `valid` entries count toward targets; `invalid` ones are
//! listed as awaiting correction and `held` ones (province unknown) are listed apart.
//! Duplicates never reach this module: the same bytes filed twice create no entry row.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use super::wording::ReportWording;
use crate::campaign::Campaign;
use crate::filing::EntryStatus;
use crate::forms::Kind;
use crate::registry::{Registry, RegistryError};

/// How many rows of a list the mail body shows; the workbook always has every row.
pub const BODY_ROWS: usize = 100;

/// The stored form of an instant, as the registry writes `created_at` (comparable as text).
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One entry version current as of the report's moment.
#[derive(Debug, Clone, Serialize)]
pub struct EntryLine {
    pub receipt: String,
    pub province: Option<String>,
    /// Full province name, or 待定 for a held entry.
    pub province_name: String,
    pub batch: Option<u8>,
    pub late: bool,
    /// 第一批 … or 逾期.
    pub batch_name: String,
    pub kind: String,
    pub kind_name: String,
    pub kind_short: String,
    pub name: String,
    pub unit: String,
    pub status: EntryStatus,
    /// 有效 / 待更正 / 暂存.
    pub status_name: String,
    /// Error codes, comma separated.
    pub codes: String,
    /// Each error in Chinese.
    pub problems: Vec<String>,
    pub themes: Vec<String>,
    pub version: i64,
    pub replaces_earlier: bool,
    /// Arrival in the campaign's zone, "2022-05-20 15:22".
    pub arrived: String,
    pub sender: String,
    /// When the entry came in: its arrival, or its filing when the arrival is unknown
    /// (stored form, comparable as text).
    #[serde(skip)]
    pub came_in: String,
    /// When it was filed (stored form).
    #[serde(skip)]
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindRow {
    pub key: String,
    pub name: String,
    pub short: String,
    pub target: u32,
    pub valid: usize,
    pub invalid: usize,
    pub pct: f64,
    pub pct_text: String,
    /// Bar width in percent (0–100) and the rest.
    pub bar: u32,
    pub rest: u32,
    /// The bar in 20 text cells.
    pub bar_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub valid: usize,
    pub zero: bool,
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
    pub valid: usize,
    pub invalid: usize,
    /// No entry of any status yet.
    pub nothing: bool,
    /// No valid entry yet.
    pub no_valid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchRow {
    pub label: String,
    /// "截止 2021-10-31", or a note for late arrivals.
    pub note: String,
    pub cells: Vec<Cell>,
    pub valid: usize,
    pub invalid: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThemeRow {
    pub name: String,
    pub valid: usize,
    pub pct_text: String,
    pub zero: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub count: usize,
    /// The first [`BODY_ROWS`] lines.
    pub rows: Vec<EntryLine>,
    /// How many more are in the workbook only.
    pub more: usize,
}

impl Listing {
    fn of(all: Vec<&EntryLine>) -> Listing {
        let count = all.len();
        let rows: Vec<EntryLine> = all.into_iter().take(BODY_ROWS).cloned().collect();
        Listing {
            count,
            more: count - rows.len(),
            rows,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NewSince {
    /// When the window starts, in words.
    pub since: String,
    /// True when no earlier report exists and the window is the last 7 days.
    pub default_window: bool,
    pub count: usize,
    pub valid: usize,
    pub invalid: usize,
    pub held: usize,
    /// New versions of entries filed before.
    pub replacements: usize,
    pub list: Listing,
}

#[derive(Debug, Clone, Serialize)]
pub struct Deadline {
    pub text: String,
    pub days: Option<i64>,
    pub closed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub target: u32,
    pub valid: usize,
    pub invalid: usize,
    pub held: usize,
    pub late_valid: usize,
    pub pct_text: String,
    pub bar: u32,
    pub rest: u32,
    pub bar_text: String,
}

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub title: String,
    /// The report's own title (campaign.toml `report_title`).
    pub report_title: String,
    /// The campaign's short name (智慧助老).
    pub short_name: String,
    /// "2022年05月30日 09:00 北京时间".
    pub as_of: String,
    /// "2022-05-30", for file names and the subject.
    pub as_of_date: String,
    pub tz_label: String,
    pub kinds: Vec<KindRow>,
    pub totals: Totals,
    pub provinces: Vec<ProvinceRow>,
    /// Valid entries per kind over all provinces, and the total.
    pub province_totals: Vec<Cell>,
    pub batches: Vec<BatchRow>,
    pub new_since: NewSince,
    pub invalid: Listing,
    pub held: Listing,
    pub nothing_yet: Vec<String>,
    pub nothing_yet_count: usize,
    pub no_valid_yet: Vec<String>,
    pub themes: Vec<ThemeRow>,
    pub off_theme: usize,
    pub deadline: Deadline,
    /// Every current entry, for the workbook (not in the mail body).
    #[serde(skip)]
    pub entries: Vec<EntryLine>,
    #[serde(skip)]
    pub as_of_instant: DateTime<Utc>,
}

/// The label the report uses for its time zone (campaign.toml `timezone_name`).
pub fn tz_label(c: &Campaign) -> String {
    c.info.timezone_name.clone()
}

/// An instant in the campaign's zone, "2022年05月30日 09:00".
pub fn local_text(c: &Campaign, t: DateTime<Utc>) -> String {
    t.with_timezone(&c.tz)
        .format("%Y年%m月%d日 %H:%M")
        .to_string()
}

fn date_text(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

fn pct(n: usize, of: u32) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

fn bar(p: f64) -> (u32, u32) {
    let b = p.round().clamp(0.0, 100.0) as u32;
    (b, 100 - b)
}

/// A 20-cell text bar: one cell per 5 %.
fn bar_text(p: f64) -> String {
    let full = ((p / 5.0).round().clamp(0.0, 20.0)) as usize;
    let mut s = "█".repeat(full);
    s.push_str(&"░".repeat(20 - full));
    s
}

/// The moment of the latest report queued before `as_of` (from `report_slots`), if any.
pub fn previous_report(
    reg: &Registry,
    as_of: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, RegistryError> {
    let slots = reg.queued_report_slots()?;
    Ok(slots
        .iter()
        .filter_map(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .filter(|d| *d < as_of)
        .max())
}

/// Reads the entries current as of `as_of`, ordered by receipt.
pub fn current_entries(
    reg: &Registry,
    c: &Campaign,
    w: &ReportWording,
    as_of: DateTime<Utc>,
) -> Result<Vec<EntryLine>, RegistryError> {
    let rows = reg.entries_as_of(&stamp(as_of))?;
    Ok(rows.into_iter().map(|r| line(c, w, r)).collect())
}

/// An entry row as read.
pub use crate::registry::ReportEntry as RawEntry;

/// Turns a stored row into a line with Chinese names and wording.
pub fn line(c: &Campaign, w: &ReportWording, r: RawEntry) -> EntryLine {
    let kind = c.kind(&r.kind);
    let (kind_name, kind_short) = kind
        .map(|k| {
            let i = c.kind_info(k);
            (i.name.clone(), i.short.clone())
        })
        .unwrap_or_else(|| (r.kind.clone(), r.kind.clone()));
    let province_name = match r.province.as_deref() {
        Some(code) => c
            .province(code)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| code.to_string()),
        None => "待定".to_string(),
    };
    let batch_name = match r.batch {
        Some(b) => c
            .batch(b)
            .map(|b| b.name.clone())
            .unwrap_or_else(|| format!("第{b}批")),
        None => "逾期".to_string(),
    };
    let errors: Vec<serde_json::Value> = serde_json::from_str(&r.errors).unwrap_or_default();
    let codes = errors
        .iter()
        .filter_map(|e| e.get("code").and_then(|v| v.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let problems = errors.iter().map(|e| w.describe(e, kind, c)).collect();
    let themes: Vec<String> = serde_json::from_str(&r.themes).unwrap_or_default();
    let arrived = r
        .arrived_at
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&c.tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    EntryLine {
        status_name: w.status(r.status),
        receipt: r.receipt,
        province: r.province,
        province_name,
        batch: r.batch,
        late: r.late || r.batch.is_none(),
        batch_name,
        kind: r.kind,
        kind_name,
        kind_short,
        name: r.name,
        unit: r.unit.unwrap_or_default(),
        status: r.status,
        codes,
        problems,
        themes,
        version: r.version,
        replaces_earlier: r.replaces,
        arrived,
        sender: r.sender.unwrap_or_default(),
        came_in: r.arrived_at.clone().unwrap_or_else(|| r.created_at.clone()),
        created_at: r.created_at,
    }
}

/// A name padded with ideographic spaces (U+3000, two columns each) to at least eight
/// columns, the width of four 汉字; widths as in the `pad` helper (East Asian, CJK context).
fn pad4(s: &str) -> String {
    let cols = UnicodeWidthStr::width_cjk(s);
    let mut out = s.to_string();
    for _ in (cols..8).step_by(2) {
        out.push('\u{3000}');
    }
    out
}

/// Builds the report's data as of `as_of`; `previous` is the previous report's moment
/// (None: the last 7 days).
pub fn collect(
    reg: &Registry,
    c: &Campaign,
    w: &ReportWording,
    as_of: DateTime<Utc>,
    previous: Option<DateTime<Utc>>,
) -> Result<ReportData, RegistryError> {
    let entries = current_entries(reg, c, w, as_of)?;
    Ok(summarise(c, entries, as_of, previous))
}

/// The numbers, from the current entries (pure).
pub fn summarise(
    c: &Campaign,
    entries: Vec<EntryLine>,
    as_of: DateTime<Utc>,
    previous: Option<DateTime<Utc>>,
) -> ReportData {
    let split = ByStatus::of(c, &entries);
    let kinds = kind_rows(c, &split);
    let totals = totals(&kinds, &split);
    let provinces = province_rows(c, &entries, &split);
    let province_totals = split.cells(&|e| e.province.is_some());
    let batches = batch_rows(c, &split);
    let new_since = new_since(c, &entries, as_of, previous);
    let themes = theme_rows(c, &split);
    let off_theme = split.valid.iter().filter(|e| e.themes.is_empty()).count();
    let nothing_yet: Vec<String> = provinces
        .iter()
        .filter(|p| p.nothing)
        .map(|p| p.name.clone())
        .collect();
    let no_valid_yet = provinces
        .iter()
        .filter(|p| p.no_valid && !p.nothing)
        .map(|p| p.name.clone())
        .collect();
    let (invalid, held) = (Listing::of(split.invalid), Listing::of(split.held));
    let as_of_date = as_of.with_timezone(&c.tz).date_naive();
    ReportData {
        title: c.info.title.clone(),
        report_title: c.info.report_title.clone(),
        short_name: c.info.short_name.clone(),
        as_of: format!("{} {}", local_text(c, as_of), tz_label(c)),
        as_of_date: as_of_date.format("%Y-%m-%d").to_string(),
        tz_label: tz_label(c),
        kinds,
        totals,
        provinces,
        province_totals,
        batches,
        new_since,
        invalid,
        held,
        nothing_yet_count: nothing_yet.len(),
        nothing_yet,
        no_valid_yet,
        themes,
        off_theme,
        deadline: deadline(c, as_of_date),
        entries,
        as_of_instant: as_of,
    }
}

/// The entries split by status, and the campaign's kinds in order (the columns of every
/// table of counts).
struct ByStatus<'a> {
    kinds: Vec<Kind>,
    valid: Vec<&'a EntryLine>,
    invalid: Vec<&'a EntryLine>,
    held: Vec<&'a EntryLine>,
}

impl<'a> ByStatus<'a> {
    fn of(c: &Campaign, entries: &'a [EntryLine]) -> ByStatus<'a> {
        let with = |status| entries.iter().filter(|e| e.status == status).collect();
        ByStatus {
            kinds: c.kinds.keys().copied().collect(),
            valid: with(EntryStatus::Valid),
            invalid: with(EntryStatus::Invalid),
            held: with(EntryStatus::Held),
        }
    }

    /// Valid entries chosen by `sel`, counted per kind.
    fn cells(&self, sel: &dyn Fn(&EntryLine) -> bool) -> Vec<Cell> {
        let mut n = vec![0usize; self.kinds.len()];
        for e in self.valid.iter().filter(|e| sel(e)) {
            if let Some(i) = self.kinds.iter().position(|x| x.key() == e.kind) {
                n[i] += 1;
            }
        }
        n.into_iter()
            .map(|v| Cell {
                valid: v,
                zero: v == 0,
            })
            .collect()
    }
}

/// One row per kind: valid and invalid entries against the kind's target.
fn kind_rows(c: &Campaign, split: &ByStatus) -> Vec<KindRow> {
    split
        .kinds
        .iter()
        .map(|k| {
            let info = c.kind_info(*k);
            let v = split.valid.iter().filter(|e| e.kind == k.key()).count();
            let inv = split.invalid.iter().filter(|e| e.kind == k.key()).count();
            let p = pct(v, info.target);
            let (b, rest) = bar(p);
            KindRow {
                key: k.key().to_string(),
                name: info.name.clone(),
                short: info.short.clone(),
                target: info.target,
                valid: v,
                invalid: inv,
                pct: p,
                pct_text: format!("{p:.1}%"),
                bar: b,
                rest,
                bar_text: bar_text(p),
            }
        })
        .collect()
}

/// The totals over every kind.
fn totals(kinds: &[KindRow], split: &ByStatus) -> Totals {
    let target: u32 = kinds.iter().map(|k| k.target).sum();
    let p = pct(split.valid.len(), target);
    let (bar, rest) = bar(p);
    Totals {
        target,
        valid: split.valid.len(),
        invalid: split.invalid.len(),
        held: split.held.len(),
        late_valid: split.valid.iter().filter(|e| e.late).count(),
        pct_text: format!("{p:.1}%"),
        bar,
        rest,
        bar_text: bar_text(p),
    }
}

/// One row per province of the campaign, in its order, with or without entries.
fn province_rows(c: &Campaign, entries: &[EntryLine], split: &ByStatus) -> Vec<ProvinceRow> {
    let mut by_province: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for e in entries {
        if let Some(p) = e.province.as_deref() {
            let s = by_province.entry(p).or_default();
            match e.status {
                EntryStatus::Valid => s.0 += 1,
                EntryStatus::Invalid => s.1 += 1,
                EntryStatus::Held => s.2 += 1,
            }
        }
    }
    c.provinces
        .iter()
        .map(|p| {
            let (v, inv, other) = by_province
                .get(p.code.as_str())
                .copied()
                .unwrap_or_default();
            ProvinceRow {
                code: p.code.clone(),
                name: p.name.clone(),
                short: p.short.clone(),
                padded: pad4(&p.short),
                cells: split.cells(&|e| e.province.as_deref() == Some(p.code.as_str())),
                valid: v,
                invalid: inv,
                nothing: v + inv + other == 0,
                no_valid: v == 0,
            }
        })
        .collect()
}

/// One row per batch, then one for entries that arrived after the last deadline.
fn batch_rows(c: &Campaign, split: &ByStatus) -> Vec<BatchRow> {
    let row = |label: String, note: String, batch: Option<u8>| BatchRow {
        label,
        note,
        cells: split.cells(&|e| e.batch == batch),
        valid: split.valid.iter().filter(|e| e.batch == batch).count(),
        invalid: split.invalid.iter().filter(|e| e.batch == batch).count(),
    };
    let mut rows: Vec<BatchRow> = c
        .batches
        .iter()
        .map(|b| {
            let note = format!("截止 {}", date_text(b.deadline));
            row(b.name.clone(), note, Some(b.number))
        })
        .collect();
    rows.push(row(
        "逾期".to_string(),
        "最后截止日后到达，是否受理由工作人员决定".to_string(),
        None,
    ));
    rows
}

/// What came in since the previous report (or, before the first one, in the last 7 days).
fn new_since(
    c: &Campaign,
    entries: &[EntryLine],
    as_of: DateTime<Utc>,
    previous: Option<DateTime<Utc>>,
) -> NewSince {
    let since = previous.unwrap_or(as_of - chrono::Duration::days(7));
    let since_stamp = stamp(since);
    let fresh: Vec<&EntryLine> = entries.iter().filter(|e| e.came_in > since_stamp).collect();
    let with = |status| fresh.iter().filter(|e| e.status == status).count();
    NewSince {
        since: format!("{} {}", local_text(c, since), tz_label(c)),
        default_window: previous.is_none(),
        count: fresh.len(),
        valid: with(EntryStatus::Valid),
        invalid: with(EntryStatus::Invalid),
        held: with(EntryStatus::Held),
        replacements: fresh.iter().filter(|e| e.replaces_earlier).count(),
        list: Listing::of(fresh),
    }
}

/// Valid entries per theme, as a share of all valid entries.
fn theme_rows(c: &Campaign, split: &ByStatus) -> Vec<ThemeRow> {
    c.themes
        .iter()
        .map(|t| {
            let n = split
                .valid
                .iter()
                .filter(|e| e.themes.contains(&t.name))
                .count();
            ThemeRow {
                name: t.name.clone(),
                valid: n,
                pct_text: format!("{:.1}%", pct(n, split.valid.len() as u32)),
                zero: n == 0,
            }
        })
        .collect()
}

/// Days to the next batch deadline (inclusive), or that the campaign has closed.
pub fn deadline(c: &Campaign, today: NaiveDate) -> Deadline {
    if let Some(b) = c.batches.iter().find(|b| b.deadline >= today) {
        let days = (b.deadline - today).num_days();
        let text = if days == 0 {
            format!("今天（{}）是{}报送截止日", date_text(b.deadline), b.name)
        } else {
            format!(
                "距{}报送截止（{}）还有 {} 天",
                b.name,
                date_text(b.deadline),
                days
            )
        };
        return Deadline {
            text,
            days: Some(days),
            closed: false,
        };
    }
    if today <= c.info.closes {
        let days = (c.info.closes - today).num_days();
        Deadline {
            text: format!(
                "各批次报送均已截止（最后截止日{}）；征集活动于{}结束，还有 {} 天",
                c.batches
                    .last()
                    .map(|b| date_text(b.deadline))
                    .unwrap_or_default(),
                date_text(c.info.closes),
                days
            ),
            days: None,
            closed: true,
        }
    } else {
        Deadline {
            text: format!("征集活动已于{}结束", date_text(c.info.closes)),
            days: None,
            closed: true,
        }
    }
}
