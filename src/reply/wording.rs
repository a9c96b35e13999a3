//! Chinese wording of findings, roles, statuses and subjects (templates/findings.toml).
//!
//! The wording gets the campaign's facts as parameters (the last deadline, the themes, the
//! tick options, a limit and a count) instead of copying them, so it never goes stale when
//! the rules folder changes. Loading fails when a code, role, status or subject has no
//! wording, or when the file names one that does not exist.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::json;

use super::{tables, template_source, ReplyError};
use crate::campaign::Campaign;
use crate::filing::{EntryStatus, FileRole};
use crate::forms::Kind;
use crate::rules::{Code, Finding};

/// The reply subjects: everything accepted, something to fix, nothing attached.
pub const SUBJECTS: [&str; 6] = ["ok", "partial", "errors", "empty", "late", "held"];
/// The small phrases around the findings (where a file was found, what it was, when).
pub const PHRASES: [&str; 16] = [
    "no_subject",
    "unknown_time",
    "time_format",
    "form_of",
    "in_forward",
    "in_archive",
    "late_status",
    "summary",
    "summary_nothing",
    "summary_accepted",
    "summary_to_fix",
    "summary_late",
    "summary_held",
    "list_separator",
    "closing",
    "receipt_codes",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WordingFile {
    codes: BTreeMap<String, String>,
    roles: BTreeMap<String, String>,
    status: BTreeMap<String, String>,
    subjects: BTreeMap<String, String>,
    phrases: BTreeMap<String, String>,
}

impl WordingFile {
    /// Every code, role, status, subject and phrase has a wording, every wording belongs to
    /// one, and the time format parses.
    fn check(&self, src: &str) -> Result<(), ReplyError> {
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.key()).collect();
        let roles: Vec<&str> = FileRole::ALL.iter().map(|r| r.as_str()).collect();
        let statuses: Vec<&str> = EntryStatus::ALL.iter().map(|s| s.as_str()).collect();
        tables::check_complete(&[
            ("codes", &self.codes, &codes),
            ("roles", &self.roles, &roles),
            ("status", &self.status, &statuses),
            ("subjects", &self.subjects, &SUBJECTS),
            ("phrases", &self.phrases, &PHRASES),
        ])
        .and_then(|()| {
            tables::check_date_format("phrases", "time_format", &self.phrases["time_format"])
        })
        .map_err(|p| ReplyError::Wording {
            path: "templates/findings.toml".into(),
            message: p.located(src),
        })
    }
}

/// Facts of the message a finding's wording may mention.
pub struct Facts<'a> {
    pub province: Option<String>,
    pub batch: Option<String>,
    pub campaign: &'a Campaign,
    /// Staff get a copy of replies (so a wording may say they were told).
    pub staff_notified: bool,
}

#[derive(Clone)]
pub struct Wording {
    file: WordingFile,
    hb: Handlebars<'static>,
}

impl Wording {
    pub fn load(dir: Option<&Path>) -> Result<Wording, ReplyError> {
        let src = template_source(dir, "findings.toml")?;
        let file: WordingFile = toml::from_str(&src).map_err(|e| ReplyError::Wording {
            path: "templates/findings.toml".into(),
            message: e.to_string(),
        })?;
        file.check(&src)?;
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        for (code, t) in &file.codes {
            hb.register_template_string(code, t)
                .map_err(|e| ReplyError::Wording {
                    path: "templates/findings.toml".into(),
                    message: format!("{code}: {e}"),
                })?;
        }
        for (table, prefix, map) in [
            ("subjects", "subject", &file.subjects),
            ("phrases", "phrase", &file.phrases),
        ] {
            for (key, t) in map {
                hb.register_template_string(&format!("{prefix}.{key}"), t)
                    .map_err(|e| ReplyError::Wording {
                        path: "templates/findings.toml".into(),
                        message: format!("{table}.{key}: {e}"),
                    })?;
            }
        }
        Ok(Wording { file, hb })
    }

    /// One sentence in Chinese for a finding.
    pub fn describe(&self, f: &Finding, kind: Option<Kind>, facts: &Facts) -> String {
        let code = f.code.key();
        let campaign = facts.campaign;
        let kind = kind.or_else(|| campaign.kinds().next());
        let label = f.label.clone().or_else(|| {
            let (field, kind) = (f.field.as_ref()?, kind?);
            Some(campaign.field_label(kind, field))
        });
        let whole = match (&f.field, kind) {
            (Some(field), Some(kind)) => campaign
                .checks
                .get(&kind)
                .is_some_and(|c| c.whole.contains(field)),
            _ => false,
        };
        let answers = &campaign.forms.answers;
        let answer = f.value.as_deref().and_then(|v| {
            if answers.yes.first().is_some_and(|y| y == v) {
                Some("yes")
            } else if answers.no.first().is_some_and(|n| n == v) {
                Some("no")
            } else {
                None
            }
        });
        let last = campaign.last_batch();
        let themes: Vec<&str> = campaign.themes.iter().map(|t| t.name.as_str()).collect();
        let options: Vec<String> = campaign
            .forms
            .ticks
            .options
            .iter()
            .map(|o| format!("“{}”", o.option))
            .collect();
        let megabytes = |n: u64| format!("{:.0} MB", n as f64 / (1024.0 * 1024.0));
        let sizes = f.code == Code::TooLarge && f.limit.is_some_and(|l| l >= 1024 * 1024);
        let named_batch = f
            .actual
            .and_then(|n| facts.campaign.batch(n as u8))
            .map(|b| b.name.clone());
        let province_of = |code: &Option<String>| {
            code.as_deref()
                .and_then(|c| facts.campaign.province(c))
                .map(|p| p.name.clone())
                .or_else(|| code.clone())
        };
        let ctx = json!({
            "label": label,
            "limit": f.limit,
            "actual": f.actual,
            "over": f.actual.zip(f.limit).map(|(a, l)| a.saturating_sub(l)),
            "value": province_of(&f.value).filter(|_| f.code == Code::ProvinceMismatch).or_else(|| f.value.clone()),
            "name": f.name.as_deref().map(super::unwrap_marks),
            "receipt": f.receipt,
            "province": facts.province,
            "batch": facts.batch,
            "named_batch": named_batch,
            "whole": whole,
            "answer": answer,
            "last_batch": last.name,
            "last_deadline": last.deadline.format("%Y年%-m月%-d日").to_string(),
            "themes": themes.join("、"),
            "campaign": campaign.info.short_name,
            "staff_notified": facts.staff_notified,
            "contact": campaign.info.contact,
            "options": options.join(""),
            "limit_size": f.limit.filter(|_| sizes).map(megabytes),
            "actual_size": f.actual.filter(|_| sizes).map(megabytes),
        });
        self.hb
            .render(code, &ctx)
            .unwrap_or_else(|_| code.to_string())
    }

    pub fn role(&self, role: FileRole) -> String {
        self.file
            .roles
            .get(role.as_str())
            .cloned()
            .unwrap_or_else(|| role.to_string())
    }

    pub fn status(&self, status: EntryStatus) -> String {
        self.file
            .status
            .get(status.as_str())
            .cloned()
            .unwrap_or_else(|| status.to_string())
    }

    /// A phrase of `[phrases]` with its parameters.
    pub fn phrase(&self, key: &str, params: &serde_json::Value) -> String {
        self.hb
            .render(&format!("phrase.{key}"), params)
            .unwrap_or_else(|_| key.to_string())
    }

    /// A `[phrases]` entry as written (for formats that are not templates).
    pub fn raw_phrase(&self, key: &str) -> &str {
        self.file.phrases.get(key).map(String::as_str).unwrap_or("")
    }

    /// The reply subject of `key` (findings.toml `[subjects]`), with its parameters (the
    /// original `subject`, counts, a single `receipt`).
    pub fn subject(&self, key: &str, params: &serde_json::Value) -> String {
        self.hb
            .render(&format!("subject.{key}"), params)
            .unwrap_or_else(|_| params["subject"].as_str().unwrap_or_default().to_string())
    }
}
