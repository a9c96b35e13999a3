//! The weekly report's own wording (`templates/report.toml`): status words, labels, date
//! formats, sheet names, column titles, what each kind of item that needs a person is
//! called and what to do about it, and the sentences the report's data carries
//! (deadlines, the note on a late report, the subject).
//!
//! Like `templates/findings.toml` for replies (`reply::Wording`), the file is checked
//! complete when it is loaded: a missing or unknown key, a phrase that is not a valid
//! template or a format that is not a valid date format stops loading, naming the file and
//! the line. The campaign's facts (dates, names, targets) reach the phrases as parameters.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::Value;

use super::render::template_source;
use super::{ReportError, Result};
use crate::filing::EntryStatus;
use crate::reply::tables;

/// The file's name in the templates folder.
pub const FILE: &str = "report.toml";

/// `[labels]`: words the data and the workbook use.
pub const LABELS: &[&str] = &[
    "held_province",
    "late_batch",
    "total",
    "yes",
    "separator",
    "batch_closed",
    "nothing_yet",
    "no_valid_yet",
    "purpose_reply",
    "purpose_copy",
    "purpose_report",
    "state_failed",
    "state_unknown",
    "no_subject",
    "unmatched_bounce",
    "fact_as_of",
    "fact_time_passed",
    "fact_held",
    "fact_late_valid",
    "fact_new",
    "fact_since",
    "fact_deadline",
    "fact_pending",
    "fact_nothing_yet",
    "fact_no_valid_yet",
    "fact_off_theme",
    "chart_title",
    "chart_cumulative",
    "chart_target",
    "page_footer",
];

/// `[formats]`: chrono strftime formats.
pub const FORMATS: &[&str] = &["date", "time", "arrival", "week", "month"];

/// `[sheets]`: the workbook's sheet names.
pub const SHEETS: &[&str] = &[
    "overview",
    "progress",
    "provinces",
    "batches",
    "detail",
    "pending",
    "export",
];

/// `[columns]`: column titles of the workbook's tables and of the export.
pub const COLUMNS: &[&str] = &[
    "receipt",
    "province_code",
    "province",
    "batch",
    "late",
    "kind",
    "name",
    "unit",
    "status",
    "codes",
    "problems",
    "warnings",
    "themes",
    "arrived",
    "version",
    "supersedes",
    "superseded_by",
    "filed",
    "people",
    "sender",
    "file",
    "replied",
    "target",
    "valid",
    "invalid",
    "pct",
    "expected",
    "pace",
    "change",
    "situation",
    "note",
    "item",
    "subject",
    "since",
    "age",
    "detail",
    "action",
    "week",
    "new_valid",
    "cumulative",
    "target_line",
    "theme",
    "share",
];

/// `[items]` and `[actions]`: the kinds of thing that need a person, in the report's order.
pub const ITEMS: &[&str] = &[
    "link_attachment",
    "no_attachment",
    "unreadable_attachment",
    "encrypted_document",
    "macro_document",
    "unsupported_format",
    "too_large",
    "quarantined",
    "held",
    "late",
    "bounce",
    "undelivered",
];

/// `[phrases]`: handlebars templates, with the parameters named in the file.
pub const PHRASES: &[&str] = &[
    "subject",
    "attachment",
    "batch_name",
    "batch_note",
    "late_note",
    "deadline_next",
    "deadline_today",
    "deadline_all_closed",
    "campaign_over",
    "late_report",
    "person",
    "bounce_matched",
    "delivery",
    "entry_detail",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelsFile {
    status: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    formats: BTreeMap<String, String>,
    sheets: BTreeMap<String, String>,
    columns: BTreeMap<String, String>,
    items: BTreeMap<String, String>,
    actions: BTreeMap<String, String>,
    phrases: BTreeMap<String, String>,
}

/// The report's wording, checked complete.
#[derive(Clone)]
pub struct Labels {
    file: LabelsFile,
    hb: Handlebars<'static>,
}

/// Where the file was read from, for messages.
fn shown_path(dir: Option<&Path>) -> String {
    match dir.map(|d| d.join(FILE)).filter(|p| p.exists()) {
        Some(p) => p.display().to_string(),
        None => format!("templates/{FILE} (built in)"),
    }
}

/// A problem in report.toml, naming the line where `needle` first starts a line.
fn problem(path: &str, src: &str, needle: &str, message: String) -> ReportError {
    let line = src.lines().position(|l| l.trim_start().starts_with(needle));
    ReportError::Labels {
        path: path.to_string(),
        message: match line {
            Some(n) => format!("line {}: {message}", n + 1),
            None => message,
        },
    }
}

impl LabelsFile {
    /// The tables and the keys each must have, exactly.
    fn tables(&self) -> [(&'static str, &BTreeMap<String, String>, Vec<&'static str>); 8] {
        let status = EntryStatus::ALL.iter().map(|s| s.as_str()).collect();
        [
            ("status", &self.status, status),
            ("labels", &self.labels, LABELS.to_vec()),
            ("formats", &self.formats, FORMATS.to_vec()),
            ("sheets", &self.sheets, SHEETS.to_vec()),
            ("columns", &self.columns, COLUMNS.to_vec()),
            ("items", &self.items, ITEMS.to_vec()),
            ("actions", &self.actions, ITEMS.to_vec()),
            ("phrases", &self.phrases, PHRASES.to_vec()),
        ]
    }

    /// Every key is there and none is unknown; formats parse.
    fn check(&self, path: &str, src: &str) -> Result<()> {
        let tables = self.tables();
        let tables: Vec<tables::Table> = tables
            .iter()
            .map(|(name, have, want)| (*name, *have, want.as_slice()))
            .collect();
        tables::check_complete(&tables)
            .and_then(|()| {
                self.formats
                    .iter()
                    .try_for_each(|(key, f)| tables::check_date_format("formats", key, f))
            })
            .map_err(|p| ReportError::Labels {
                path: path.to_string(),
                message: p.located(src),
            })
    }
}

impl Labels {
    /// Loads `report.toml` from the templates folder, else the built-in copy, and checks it.
    pub fn load(dir: Option<&Path>) -> Result<Labels> {
        let path = shown_path(dir);
        let src = template_source(dir, FILE)?;
        let file: LabelsFile = toml::from_str(&src).map_err(|e| ReportError::Labels {
            path: path.clone(),
            message: e.to_string(),
        })?;
        file.check(&path, &src)?;
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        for (key, t) in &file.phrases {
            hb.register_template_string(key, t).map_err(|e| {
                problem(
                    &path,
                    &src,
                    &format!("{key} ="),
                    format!("[phrases] {key}: {e}"),
                )
            })?;
        }
        Ok(Labels { file, hb })
    }

    /// A value of a table; the key lists above are the contract, so a key outside them is a
    /// mistake in the code (caught by the tests through the debug assertion).
    fn get<'a>(map: &'a BTreeMap<String, String>, known: &[&str], key: &'a str) -> &'a str {
        debug_assert!(known.contains(&key), "report.toml has no key {key:?}");
        map.get(key).map(String::as_str).unwrap_or(key)
    }

    pub fn status(&self, s: EntryStatus) -> &str {
        self.file
            .status
            .get(s.as_str())
            .map(String::as_str)
            .unwrap_or(s.as_str())
    }

    pub fn label<'a>(&'a self, key: &'a str) -> &'a str {
        Self::get(&self.file.labels, LABELS, key)
    }

    pub fn format<'a>(&'a self, key: &'a str) -> &'a str {
        Self::get(&self.file.formats, FORMATS, key)
    }

    pub fn sheet<'a>(&'a self, key: &'a str) -> &'a str {
        Self::get(&self.file.sheets, SHEETS, key)
    }

    pub fn column<'a>(&'a self, key: &'a str) -> &'a str {
        Self::get(&self.file.columns, COLUMNS, key)
    }

    /// Column titles for a list of column keys.
    pub fn columns(&self, keys: &[&'static str]) -> Vec<String> {
        keys.iter().map(|k| self.column(k).to_string()).collect()
    }

    pub fn item<'a>(&'a self, key: &'a str) -> &'a str {
        Self::get(&self.file.items, ITEMS, key)
    }

    pub fn action<'a>(&'a self, key: &'a str) -> &'a str {
        Self::get(&self.file.actions, ITEMS, key)
    }

    /// A phrase rendered with its parameters.
    pub fn phrase(&self, key: &str, params: &Value) -> String {
        debug_assert!(PHRASES.contains(&key), "report.toml has no phrase {key:?}");
        self.hb
            .render(key, params)
            .unwrap_or_else(|_| key.to_string())
    }
}
