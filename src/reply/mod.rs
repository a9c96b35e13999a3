//! Reply: renders the answer to one message — plain text and HTML from handlebars
//! templates in `templates/`, Chinese wording of every finding from
//! `templates/findings.toml` — and encodes it as a threaded, auto-submitted mail.
//!
//! Pure: takes the parsed message and its outcome, returns bytes. Templates are read once
//! at start (from the templates folder, or the copies built into the binary).

pub mod tables;
mod wording;

use std::path::Path;

use handlebars::Handlebars;
use serde_json::{json, Value};

pub use wording::{Facts, Wording};

use crate::campaign::Campaign;
use crate::filing::{EntryStatus, FileRole};
use crate::mail::{self, Outgoing};
use crate::message::Inbound;
use crate::outcome::Outcome;
use crate::rules::Code;
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("{path}: {message}")]
    Wording { path: String, message: String },
    #[error(transparent)]
    Mail(#[from] mail::MailError),
}

/// A rendered reply.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub bytes: Vec<u8>,
}

/// Built-in copies of the templates, used when no templates folder is found.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "reply.txt.hbs",
        include_str!("../../templates/reply.txt.hbs"),
    ),
    (
        "reply.html.hbs",
        include_str!("../../templates/reply.html.hbs"),
    ),
    (
        "findings.toml",
        include_str!("../../templates/findings.toml"),
    ),
];

/// Reads a template file from `dir`, else the built-in copy.
pub fn template_source(dir: Option<&Path>, name: &str) -> Result<String, ReplyError> {
    if let Some(dir) = dir {
        let p = dir.join(name);
        if p.exists() {
            return std::fs::read_to_string(&p).map_err(|e| ReplyError::Template {
                name: p.display().to_string(),
                message: e.to_string(),
            });
        }
    }
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s.to_string())
        .ok_or_else(|| ReplyError::Template {
            name: name.to_string(),
            message: "not found".into(),
        })
}

/// Two handlebars registries: HTML-escaping and plain.
pub fn registries() -> (Handlebars<'static>, Handlebars<'static>) {
    let mut text = Handlebars::new();
    text.register_escape_fn(handlebars::no_escape);
    let html = Handlebars::new();
    (text, html)
}

#[derive(Clone)]
pub struct Replier {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
    pub wording: Wording,
}

impl Replier {
    /// Loads the reply templates from `dir` (or the built-in copies) and checks they render.
    pub fn load(dir: Option<&Path>) -> Result<Replier, ReplyError> {
        let (mut text, mut html) = registries();
        for (reg, name) in [(&mut text, "reply.txt.hbs"), (&mut html, "reply.html.hbs")] {
            let src = template_source(dir, name)?;
            reg.register_template_string(name, src)
                .map_err(|e| ReplyError::Template {
                    name: name.to_string(),
                    message: e.to_string(),
                })?;
        }
        let wording = Wording::load(dir)?;
        Ok(Replier {
            text,
            html,
            wording,
        })
    }

    /// The reply's subject: what the message came to, in a few words.
    pub fn subject(&self, inbound: &Inbound, outcome: &Outcome, tally: &Tally) -> String {
        let original = if inbound.subject.trim().is_empty() {
            self.wording.phrase("no_subject", &json!({}))
        } else {
            mail::header_safe(&inbound.subject)
        };
        let (key, params) = tally.subject(outcome);
        let mut params = params;
        params["subject"] = Value::from(original);
        self.wording.subject(key, &params)
    }

    /// The first line's account of the message: each count that is not zero, in order.
    fn summary(&self, t: &Tally) -> String {
        let parts: Vec<String> = [
            ("summary_accepted", t.accepted),
            ("summary_to_fix", t.to_fix),
            ("summary_late", t.late),
            ("summary_held", t.held),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(key, n)| self.wording.phrase(key, &json!({ "n": n })))
        .collect();
        if parts.is_empty() {
            return self.wording.phrase("summary_nothing", &json!({}));
        }
        let joined = parts.join(&self.wording.phrase("list_separator", &json!({})));
        self.wording.phrase("summary", &json!({ "parts": joined }))
    }

    /// The template context for a message's reply.
    pub fn context(&self, m: &Message) -> Value {
        let (inbound, outcome, campaign, settings) = (m.inbound, m.outcome, m.campaign, m.settings);
        let tally = Tally::of(outcome);
        let province = outcome
            .province
            .as_deref()
            .and_then(|c| campaign.province(c))
            .map(|p| p.name.clone());
        let batch = outcome.batch.and_then(|b| campaign.batch(b));
        let batch_name = batch.map(|b| b.name.clone());
        let facts = wording::Facts {
            province: province.clone(),
            batch: batch_name.clone(),
            campaign,
            staff_notified: !settings.staff_copies.is_empty(),
        };
        let describe = |fs: &[crate::rules::Finding], kind| -> Vec<String> {
            fs.iter()
                .map(|f| self.wording.describe(f, kind, &facts))
                .collect()
        };
        let mut index = 0;
        let attachments: Vec<Value> = outcome
            .attachments
            .iter()
            .map(|a| {
                let kind = a.kind.and_then(|k| campaign.kind(k));
                let what = match (a.role, kind) {
                    (FileRole::Form, Some(k)) => {
                        let info = campaign.kind_info(k);
                        let params = json!({"kind": info.name, "form": info.form});
                        self.wording.phrase("form_of", &params)
                    }
                    (role, _) => self.wording.role(role),
                };
                let location = a.container.as_ref().map(|c| {
                    let folder = a
                        .path_in_container
                        .as_deref()
                        .and_then(|p| p.rsplit_once('/'))
                        .map(|(dir, _)| dir.to_string());
                    let params = json!({"container": c, "folder": folder});
                    let key = if c.starts_with("message/rfc822") {
                        "in_forward"
                    } else {
                        "in_archive"
                    };
                    self.wording.phrase(key, &params)
                });
                // A zip is listed, but not numbered: its members are the items.
                let numbered = a.role != FileRole::Archive || !a.errors.is_empty();
                if numbered {
                    index += 1;
                }
                let entry = a.entry.as_ref();
                let status = entry.map(|e| {
                    if e.late && e.status == EntryStatus::Valid {
                        self.wording.phrase("late_status", &json!({}))
                    } else {
                        self.wording.status(e.status)
                    }
                });
                json!({
                    "index": numbered.then_some(index),
                    "filename": a.filename,
                    "location": location,
                    "what": what,
                    "receipt": entry.map(|e| e.receipt.clone()),
                    "status": status,
                    "name": entry.map(|e| book_title(&e.name)).filter(|n| !n.is_empty()),
                    "supersedes": entry.and_then(|e| e.supersedes.clone()),
                    "themes": entry.map(|e| e.themes.join("、")).filter(|t| !t.is_empty()),
                    "errors": describe(&a.errors, kind),
                    "warnings": describe(&a.warnings, kind),
                })
            })
            .collect();
        let received = outcome
            .arrived_at
            .as_deref()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| {
                let time = d
                    .with_timezone(&campaign.tz)
                    .format(self.wording.raw_phrase("time_format"))
                    .to_string();
                format!("{time}（{}）", campaign.info.timezone_name)
            })
            .unwrap_or_else(|| self.wording.phrase("unknown_time", &json!({})));
        let totals: Vec<String> = campaign
            .kinds()
            .filter_map(|k| {
                let n = m.totals.iter().find(|(key, _)| key == k.key())?.1;
                let info = campaign.kind_info(k);
                Some(format!("{} {n} {}", info.short, info.measure))
            })
            .collect();
        let info = &campaign.info;
        let receipts_note = self.wording.phrase(
            "receipt_codes",
            &json!({
                "held": tally.held > 0,
                "late": tally.late > 0,
                "held_tag": info.held_province,
                "late_tag": info.late_batch_tag,
            }),
        );
        json!({
            "sender_name": inbound.from.as_ref().and_then(|f| f.name.clone()).map(|n| mail::header_safe(&n)),
            "subject": if inbound.subject.trim().is_empty() { self.wording.phrase("no_subject", &json!({})) } else { inbound.subject.clone() },
            "received": received,
            "summary": self.summary(&tally),
            "province": province.map(|p| format!("{p}（{}）", outcome.province.clone().unwrap_or_default())),
            "batch": batch_name,
            "deadline": batch.map(|b| b.deadline.format("%Y年%-m月%-d日").to_string()),
            "totals": (!totals.is_empty()).then(|| totals.join("、")),
            "message_errors": describe(&outcome.errors, None),
            "message_warnings": describe(&outcome.warnings, None),
            "attachments": attachments,
            "closing": self.wording.phrase("closing", &tally.params()),
            "receipts_note": Some(receipts_note).filter(|n| !n.trim().is_empty()),
            "length_note": tally.length_finding,
            "contact": info.contact,
            "campaign_title": info.title,
            "campaign_name": info.short_name,
            "own_address": settings.own_address,
        })
    }

    /// Renders and encodes the reply to a message.
    pub fn render(&self, to: &str, m: &Message) -> Result<Rendered, ReplyError> {
        let (inbound, outcome, settings) = (m.inbound, m.outcome, m.settings);
        let ctx = self.context(m);
        let text = self
            .text
            .render("reply.txt.hbs", &ctx)
            .map_err(|e| ReplyError::Template {
                name: "reply.txt.hbs".into(),
                message: e.to_string(),
            })?;
        let text = squeeze_blank_lines(&text);
        let html = self
            .html
            .render("reply.html.hbs", &ctx)
            .map_err(|e| ReplyError::Template {
                name: "reply.html.hbs".into(),
                message: e.to_string(),
            })?;
        let subject = self.subject(inbound, outcome, &Tally::of(outcome));
        let message_id =
            mail::new_message_id(&format!("r{}", outcome.stored_id), &settings.own_address);
        let mut references = inbound.references.clone();
        if let Some(id) = &inbound.message_id {
            if !references.contains(id) {
                references.push(id.clone());
            }
        }
        let to = vec![to.to_string()];
        let out = Outgoing {
            from: settings.own_address.clone(),
            from_name: Some(settings.own_name.clone()).filter(|n| !n.trim().is_empty()),
            to,
            cc: Vec::new(),
            subject: subject.clone(),
            text: text.clone(),
            html: html.clone(),
            message_id: message_id.clone(),
            in_reply_to: inbound.message_id.clone(),
            references,
            headers: mail::automatic_headers(
                mail::Automatic::Replied,
                &settings.loop_header,
                &settings.own_address,
            ),
            attachments: Vec::new(),
        };
        let bytes = mail::encode(&out)?;
        Ok(Rendered {
            message_id,
            subject,
            text,
            html,
            bytes,
        })
    }
}

/// What a reply is about: the message, what filing it came to, and where the sender's
/// province stands.
pub struct Message<'a> {
    pub inbound: &'a Inbound,
    pub outcome: &'a Outcome,
    pub campaign: &'a Campaign,
    pub settings: &'a Settings,
    /// Current valid entries of the sender's province in this batch, by kind key (this
    /// message included).
    pub totals: &'a [(String, i64)],
}

/// What the files of a message came to, counted once for the subject, the summary line and
/// the closing words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Entries filed valid, on time, with a province.
    pub accepted: usize,
    /// Files with an error: a form to correct, a file to send again.
    pub to_fix: usize,
    /// Valid entries that arrived after the last deadline (staff decide).
    pub late: usize,
    /// Entries held until staff confirm the province or the sender.
    pub held: usize,
    /// Warnings only, nothing to fix.
    pub warnings: usize,
    /// A length finding is among them (the 字数 footnote applies).
    pub length_finding: bool,
    /// The message itself has an error (no attachment, unknown province …).
    pub message_error: bool,
}

impl Tally {
    pub fn of(outcome: &Outcome) -> Tally {
        let mut t = Tally {
            message_error: !outcome.errors.is_empty(),
            ..Tally::default()
        };
        for a in &outcome.attachments {
            let counts_as_item = a.role != FileRole::Archive || !a.errors.is_empty();
            if !a.errors.is_empty() && counts_as_item {
                t.to_fix += 1;
            }
            if !a.warnings.is_empty() {
                t.warnings += 1;
            }
            t.length_finding |= a
                .errors
                .iter()
                .chain(&a.warnings)
                .any(|f| matches!(f.code, Code::TooLong | Code::OverTotal));
            let Some(e) = &a.entry else { continue };
            match e.status {
                EntryStatus::Held => t.held += 1,
                EntryStatus::Valid if e.late => t.late += 1,
                EntryStatus::Valid if a.errors.is_empty() => t.accepted += 1,
                _ => {}
            }
        }
        t
    }

    /// Parameters of the summary and closing phrases.
    fn params(&self) -> Value {
        json!({
            "accepted": self.accepted,
            "to_fix": self.to_fix,
            "late": self.late,
            "held": self.held,
            "warnings": self.warnings,
            "message_error": self.message_error,
            "nothing": self.accepted + self.to_fix + self.late + self.held == 0,
        })
    }

    /// The subject's key in findings.toml `[subjects]`, with its parameters.
    fn subject(&self, outcome: &Outcome) -> (&'static str, Value) {
        let mut params = self.params();
        let receipts: Vec<&str> = outcome
            .attachments
            .iter()
            .filter_map(|a| a.entry.as_ref().map(|e| e.receipt.as_str()))
            .collect();
        if let [one] = receipts.as_slice() {
            params["receipt"] = Value::from(*one);
        }
        let key = if self.held > 0 {
            "held"
        } else if self.late > 0 && self.to_fix == 0 {
            "late"
        } else if self.to_fix > 0 && self.accepted > 0 {
            "partial"
        } else if self.to_fix > 0 || self.message_error {
            if outcome.attachments.is_empty() {
                "empty"
            } else {
                "errors"
            }
        } else {
            "ok"
        };
        (key, params)
    }
}

/// A name as a title in 《》: as it is when it already holds book-title marks (《…》读本),
/// else without the quotes that wrap it whole, in 《》 — never doubled marks.
pub fn book_title(name: &str) -> String {
    let t = name.trim();
    if t.is_empty() || t.contains('《') || t.contains('》') {
        return t.to_string();
    }
    format!("《{}》", unwrap_marks(t))
}

/// A name without the book-title marks or quotes that wrap it whole, so templates that add
/// their own marks never double them (《《…》读本》).
pub fn unwrap_marks(name: &str) -> String {
    let t = name.trim();
    for (open, close) in [('《', '》'), ('“', '”'), ('"', '"'), ('「', '」')] {
        if let Some(inner) = t.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            if !inner.contains(open) && !inner.contains(close) {
                return inner.to_string();
            }
        }
    }
    t.to_string()
}

/// Collapses runs of blank lines left by template conditionals into one.
pub fn squeeze_blank_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
