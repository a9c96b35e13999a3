//! The report's numbers: one read of the registry as of a moment, turned into plain rows
//! for the templates and the workbook.
//!
//! "As of" means what had arrived by then: a version counts when its message arrived
//! (`arrived_at`, the time that also decides the batch; `created_at` when unknown) at or
//! before that moment and had not yet been replaced by a version that arrived at or before
//! it. With the moment after the last arrival this is simply `superseded_by IS NULL`. So a
//! report for a past date over a registry filed later (a backlog, a reprocessing) shows what
//! had been submitted by that date. Only `valid` entries count toward targets; `invalid` ones are
//! listed as awaiting correction and `held` ones (province unknown) among what needs a person.
//! Duplicates never reach this module: the same bytes filed twice create no entry row.
//!
//! [`collect`] reads ([`Inputs`]), [`summarise`] computes (pure), in named steps kept in
//! [`progress`](super::progress) (targets and calendar), [`breakdown`](super::breakdown)
//! (provinces, batches, themes, corrections) and [`attention`](super::attention) (what
//! needs a person).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::attention::{self, Pending, PendingItem};
use super::breakdown::{
    self, BatchHead, BatchRow, Cell, CorrectionGroup, EntryRef, ProvinceRow, ThemeRow,
};
use super::labels::Labels;
use super::progress::{self, Calendar, Deadline, KindRow, Totals, WeekChart};
use super::wording::ReportWording;
use super::Result;
use crate::campaign::Campaign;
use crate::filing::EntryStatus;
use crate::forms::Kind;
use crate::registry::Registry;

/// How many rows of a list the mail body shows; the workbook always has every row.
pub const BODY_ROWS: usize = 100;

/// The stored form of an instant, as the registry writes `created_at` (comparable as text).
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A stored instant, if it parses.
pub fn parse_stamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// One entry version current as of the report's moment.
#[derive(Debug, Clone, Serialize)]
pub struct EntryLine {
    pub receipt: String,
    pub province: Option<String>,
    /// Full province name, or report.toml's `held_province` for a held entry.
    pub province_name: String,
    pub batch: Option<u8>,
    pub late: bool,
    /// Staff decided about this late entry (an accepted one is no longer late at all), so
    /// it no longer waits in 待人工处理.
    pub late_decided: bool,
    /// Staff rejected the held message this held entry came in: it waits for nobody.
    pub held_resolved: bool,
    /// 第一批 … or report.toml's `late_batch`.
    pub batch_name: String,
    pub kind: String,
    pub kind_name: String,
    pub kind_short: String,
    pub name: String,
    pub unit: String,
    pub status: EntryStatus,
    /// report.toml `[status]`.
    pub status_name: String,
    /// Error codes, comma separated.
    pub codes: String,
    /// Each error in the replies' Chinese.
    pub problems: Vec<String>,
    /// Warning codes, comma separated, and each warning in Chinese.
    pub warning_codes: String,
    pub warnings: Vec<String>,
    pub themes: Vec<String>,
    pub version: i64,
    pub replaces_earlier: bool,
    /// Arrival in the campaign's zone, report.toml `[formats] arrival`.
    pub arrived: String,
    pub sender: String,
    /// The file the entry was read from.
    pub filename: String,
    /// The people a form names with their phones: each phone field of the kind
    /// (checks.toml `phones`) with the field it follows (forms.toml `follows`).
    pub people: Vec<String>,
    /// When the entry's message was answered, and how many days before the report.
    pub replied: String,
    pub reply_days: Option<i64>,
    /// When the entry came in: its arrival, or its filing when the arrival is unknown
    /// (stored form, comparable as text).
    #[serde(skip)]
    pub came_in: String,
    /// When it was filed (stored form).
    #[serde(skip)]
    pub created_at: String,
    /// Arrival and reply in the campaign's zone, for the workbook's date cells.
    #[serde(skip)]
    pub arrived_local: Option<NaiveDateTime>,
    #[serde(skip)]
    pub replied_local: Option<NaiveDateTime>,
    #[serde(skip)]
    pub replied_at: Option<DateTime<Utc>>,
}

impl EntryLine {
    /// The day it came in, in the campaign's zone.
    pub fn came_in_day(&self, c: &Campaign) -> NaiveDate {
        parse_stamp(&self.came_in)
            .map(|t| t.with_timezone(&c.tz).date_naive())
            .unwrap_or(c.info.opens)
    }

    /// A valid entry whose text touches no theme.
    pub fn off_theme(&self) -> bool {
        self.status == EntryStatus::Valid && self.themes.is_empty()
    }
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
    pub fn of(all: Vec<&EntryLine>) -> Listing {
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
    pub calendar: Calendar,
    pub kinds: Vec<KindRow>,
    pub totals: Totals,
    pub weeks: WeekChart,
    /// What needs a person (待人工处理).
    pub pending: Pending,
    pub provinces: Vec<ProvinceRow>,
    /// Valid entries per kind over all provinces.
    pub province_totals: Vec<Cell>,
    /// The batches (then late arrivals) heading the province × batch matrix.
    pub batch_heads: Vec<BatchHead>,
    /// Valid entries per batch over all provinces.
    pub batch_totals: Vec<Cell>,
    pub batches: Vec<BatchRow>,
    pub new_since: NewSince,
    pub invalid: Listing,
    /// Entries awaiting correction by province, with the sender and the reply's age.
    pub corrections: Vec<CorrectionGroup>,
    /// How many awaiting correction are in the workbook only.
    pub corrections_more: usize,
    pub held: Listing,
    /// Provinces that have not written at all (尚未来信).
    pub nothing_yet: Vec<String>,
    pub nothing_yet_count: usize,
    /// Provinces that wrote but have no valid entry (有来信但无有效申报).
    pub no_valid_yet: Vec<String>,
    pub no_valid_yet_count: usize,
    pub themes: Vec<ThemeRow>,
    pub off_theme: usize,
    /// The valid entries that touch no theme, named (the first few), and how many more.
    pub off_theme_entries: Vec<EntryRef>,
    pub off_theme_more: usize,
    pub deadline: Deadline,
    /// Every current entry, for the workbook (not in the mail body).
    #[serde(skip)]
    pub entries: Vec<EntryLine>,
    #[serde(skip)]
    pub as_of_instant: DateTime<Utc>,
    /// The report's moment in the campaign's zone, for the workbook's date cells.
    #[serde(skip)]
    pub as_of_local: NaiveDateTime,
}

/// The label the report uses for its time zone (campaign.toml `timezone_name`).
pub fn tz_label(c: &Campaign) -> String {
    c.info.timezone_name.clone()
}

/// An instant in the campaign's zone, report.toml `[formats] time`.
pub fn local_text(c: &Campaign, l: &Labels, t: DateTime<Utc>) -> String {
    t.with_timezone(&c.tz).format(l.format("time")).to_string()
}

/// The moment of the latest report queued before `as_of` (from `report_slots`), if any.
pub fn previous_report(
    reg: &Registry,
    as_of: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, crate::registry::RegistryError> {
    let slots = reg.queued_report_slots()?;
    Ok(slots
        .iter()
        .filter_map(|s| parse_stamp(s))
        .filter(|d| *d < as_of)
        .max())
}

/// Reads the entries current as of `as_of`, ordered by receipt.
pub fn current_entries(
    reg: &Registry,
    c: &Campaign,
    w: &ReportWording,
    as_of: DateTime<Utc>,
) -> Result<Vec<EntryLine>> {
    let rows = reg.entries_as_of(&stamp(as_of))?;
    Ok(rows.into_iter().map(|r| line(c, w, r)).collect())
}

/// An entry row as read.
pub use crate::registry::ReportEntry as RawEntry;

/// Chinese names of where an entry stands: (province, batch, kind name, kind short).
fn names(c: &Campaign, l: &Labels, r: &RawEntry, kind: Option<Kind>) -> [String; 4] {
    let (kind_name, kind_short) = kind
        .map(|k| {
            let i = c.kind_info(k);
            (i.name.clone(), i.short.clone())
        })
        .unwrap_or_else(|| (r.kind.clone(), r.kind.clone()));
    let province = match r.province.as_deref() {
        Some(code) => c
            .province(code)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| code.to_string()),
        None => l.label("held_province").to_string(),
    };
    let batch = match r.batch {
        Some(b) => c
            .batch(b)
            .map(|b| b.name.clone())
            .unwrap_or_else(|| l.phrase("batch_name", &json!({ "number": b }))),
        None => l.label("late_batch").to_string(),
    };
    [province, batch, kind_name, kind_short]
}

/// A JSON array of findings as (codes, sentences).
fn findings(
    c: &Campaign,
    w: &ReportWording,
    kind: Option<Kind>,
    json: &str,
) -> (String, Vec<String>) {
    let list: Vec<Value> = serde_json::from_str(json).unwrap_or_default();
    let codes = list
        .iter()
        .filter_map(|e| e.get("code").and_then(|v| v.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    (codes, list.iter().map(|e| w.describe(e, kind, c)).collect())
}

/// A field's value as text.
fn field_text(fields: &Value, key: &str) -> String {
    match fields.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// The people a form names, each with the phone field that follows them.
fn people(c: &Campaign, l: &Labels, kind: Option<Kind>, fields: &str) -> Vec<String> {
    let (Some(kind), Ok(fields)) = (kind, serde_json::from_str::<Value>(fields)) else {
        return Vec::new();
    };
    let phones = c
        .checks
        .get(&kind)
        .map(|k| k.phones.as_slice())
        .unwrap_or_default();
    phones
        .iter()
        .filter_map(|phone_field| {
            let person = c
                .forms
                .fields
                .iter()
                .find(|f| &f.key == phone_field)
                .and_then(|f| f.follows.as_deref());
            let phone = field_text(&fields, phone_field);
            let name = person.map(|p| field_text(&fields, p)).unwrap_or_default();
            let role = c.field_label(kind, person.unwrap_or(phone_field));
            (!phone.is_empty() || !name.is_empty()).then(|| {
                l.phrase(
                    "person",
                    &json!({"role": role, "name": name, "phone": phone}),
                )
            })
        })
        .collect()
}

/// A stored instant in the campaign's zone: as text (`[formats] arrival`) and as a date.
fn local(c: &Campaign, l: &Labels, s: Option<&str>) -> (String, Option<NaiveDateTime>) {
    match s.and_then(parse_stamp) {
        Some(t) => {
            let t = t.with_timezone(&c.tz).naive_local();
            (t.format(l.format("arrival")).to_string(), Some(t))
        }
        None => (String::new(), None),
    }
}

/// Turns a stored row into a line with Chinese names and wording.
pub fn line(c: &Campaign, w: &ReportWording, r: RawEntry) -> EntryLine {
    let l = &w.labels;
    let kind = c.kind(&r.kind);
    let [province_name, batch_name, kind_name, kind_short] = names(c, l, &r, kind);
    let (codes, problems) = findings(c, w, kind, &r.errors);
    let (warning_codes, warnings) = findings(c, w, kind, &r.warnings);
    let (arrived, arrived_local) = local(c, l, r.arrived_at.as_deref());
    let (replied, replied_local) = local(c, l, r.replied_at.as_deref());
    EntryLine {
        status_name: w.status(r.status),
        people: people(c, l, kind, &r.fields),
        themes: serde_json::from_str(&r.themes).unwrap_or_default(),
        late: r.late || r.batch.is_none(),
        late_decided: r.late_decision.is_some(),
        held_resolved: r.held_resolved,
        came_in: r.arrived_at.clone().unwrap_or_else(|| r.created_at.clone()),
        replied_at: r.replied_at.as_deref().and_then(parse_stamp),
        receipt: r.receipt,
        province: r.province,
        province_name,
        batch: r.batch,
        batch_name,
        kind: r.kind,
        kind_name,
        kind_short,
        name: r.name,
        unit: r.unit.unwrap_or_default(),
        status: r.status,
        codes,
        problems,
        warning_codes,
        warnings,
        version: r.version,
        replaces_earlier: r.replaces,
        arrived,
        sender: r.sender.unwrap_or_default(),
        filename: r.filename.unwrap_or_default(),
        replied,
        reply_days: None,
        created_at: r.created_at,
        arrived_local,
        replied_local,
    }
}

/// What [`summarise`] needs from the registry.
pub struct Inputs {
    /// The entries current as of the report's moment.
    pub entries: Vec<EntryLine>,
    /// Valid entries per province as of the start of the window (for the change).
    pub earlier: Vec<(String, i64)>,
    /// Provinces that had written by the report's moment.
    pub heard_from: Vec<String>,
    /// What needs a person, every item.
    pub pending: Vec<PendingItem>,
}

/// The window "new since" covers: from the previous report, or the last 7 days.
pub fn window_start(as_of: DateTime<Utc>, previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    previous.unwrap_or(as_of - chrono::Duration::days(7))
}

/// Builds the report's data as of `as_of`; `previous` is the previous report's moment
/// (None: the last 7 days).
pub fn collect(
    reg: &Registry,
    c: &Campaign,
    w: &ReportWording,
    as_of: DateTime<Utc>,
    previous: Option<DateTime<Utc>>,
) -> Result<ReportData> {
    let entries = current_entries(reg, c, w, as_of)?;
    let inputs = Inputs {
        earlier: reg.valid_by_province_as_of(&stamp(window_start(as_of, previous)))?,
        heard_from: reg.provinces_heard_from(&stamp(as_of))?,
        pending: attention::items(reg, c, &w.labels, as_of, &entries)?,
        entries,
    };
    Ok(summarise(c, &w.labels, inputs, as_of, previous))
}

/// What came in during the window.
fn new_since(
    c: &Campaign,
    l: &Labels,
    entries: &[EntryLine],
    since: DateTime<Utc>,
    default_window: bool,
) -> NewSince {
    let since_stamp = stamp(since);
    let fresh: Vec<&EntryLine> = entries.iter().filter(|e| e.came_in > since_stamp).collect();
    let n = |s: EntryStatus| fresh.iter().filter(|e| e.status == s).count();
    NewSince {
        since: format!("{} {}", local_text(c, l, since), tz_label(c)),
        default_window,
        count: fresh.len(),
        valid: n(EntryStatus::Valid),
        invalid: n(EntryStatus::Invalid),
        held: n(EntryStatus::Held),
        replacements: fresh.iter().filter(|e| e.replaces_earlier).count(),
        list: Listing::of(fresh),
    }
}

/// Days from the reply to the report, on every line answered by then (a registry filed
/// from a backlog answered later than the report's moment: no reply yet as of then).
fn reply_ages(entries: &mut [EntryLine], as_of: DateTime<Utc>) {
    for e in entries {
        match e.replied_at.filter(|t| *t <= as_of) {
            Some(t) => e.reply_days = Some((as_of - t).num_days()),
            None => {
                e.replied.clear();
                e.replied_local = None;
            }
        }
    }
}

fn with_status(entries: &[EntryLine], s: EntryStatus) -> Vec<&EntryLine> {
    entries.iter().filter(|e| e.status == s).collect()
}

/// The numbers, from what was read (pure).
pub fn summarise(
    c: &Campaign,
    l: &Labels,
    mut input: Inputs,
    as_of: DateTime<Utc>,
    previous: Option<DateTime<Utc>>,
) -> ReportData {
    reply_ages(&mut input.entries, as_of);
    let entries = input.entries;
    let today = progress::local_day(c, as_of);
    let calendar = Calendar::of(c, l, today);
    let kinds = progress::kind_rows(c, &calendar, &entries);
    let totals = progress::totals(&calendar, l, &kinds, &entries);
    let weeks = progress::week_chart(c, l, &calendar, totals.target, &entries, today);
    let provinces = breakdown::provinces(c, l, &entries, &input.earlier, &input.heard_from);
    let (corrections, corrections_more) = breakdown::corrections(c, &entries);
    let nothing_yet = breakdown::names_where(&provinces, |p| p.nothing);
    let no_valid_yet = breakdown::names_where(&provinces, |p| p.no_valid && !p.nothing);
    let off_theme = entries.iter().filter(|e| e.off_theme()).count();
    let off_theme_entries = breakdown::off_theme(&entries);
    let new_since = new_since(
        c,
        l,
        &entries,
        window_start(as_of, previous),
        previous.is_none(),
    );
    ReportData {
        title: c.info.title.clone(),
        report_title: c.info.report_title.clone(),
        short_name: c.info.short_name.clone(),
        as_of: format!("{} {}", local_text(c, l, as_of), tz_label(c)),
        as_of_date: today.format("%Y-%m-%d").to_string(),
        tz_label: tz_label(c),
        pending: Pending::of(l, input.pending),
        province_totals: breakdown::kind_cells(c, &entries, |e| e.province.is_some()),
        batch_heads: breakdown::batch_heads(c, l, today),
        batch_totals: breakdown::batch_cells(c, &entries, |e| e.province.is_some()),
        batches: breakdown::batches(c, l, &entries, today),
        nothing_yet_count: nothing_yet.len(),
        nothing_yet,
        no_valid_yet_count: no_valid_yet.len(),
        no_valid_yet,
        themes: breakdown::themes(c, &entries),
        off_theme,
        off_theme_more: off_theme - off_theme_entries.len(),
        off_theme_entries,
        invalid: Listing::of(with_status(&entries, EntryStatus::Invalid)),
        held: Listing::of(with_status(&entries, EntryStatus::Held)),
        deadline: progress::deadline(c, l, today),
        as_of_local: as_of.with_timezone(&c.tz).naive_local(),
        as_of_instant: as_of,
        calendar,
        kinds,
        totals,
        weeks,
        provinces,
        new_since,
        corrections,
        corrections_more,
        entries,
    }
}
