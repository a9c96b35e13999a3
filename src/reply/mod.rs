//! Reply: renders the answer to one message — plain text and HTML from handlebars
//! templates in `templates/`, Chinese wording of every finding from
//! `templates/findings.toml` — and encodes it as a threaded, auto-submitted mail.
//!
//! Pure: takes the parsed message and its outcome, returns bytes. Templates are read once
//! at start (from the templates folder, or the copies built into the binary).

mod wording;

use std::path::Path;

use handlebars::Handlebars;
use serde_json::{json, Value};

pub use wording::{Facts, Wording};

use crate::campaign::Campaign;
use crate::filing::FileRole;
use crate::mail::{self, Outgoing};
use crate::message::Inbound;
use crate::outcome::Outcome;
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

    /// The reply's subject.
    pub fn subject(&self, inbound: &Inbound, outcome: &Outcome) -> String {
        let original = if inbound.subject.trim().is_empty() {
            self.wording.phrase("no_subject", &json!({}))
        } else {
            mail::header_safe(&inbound.subject)
        };
        let key = if outcome.attachments.is_empty() && !outcome.all_clear() {
            "empty"
        } else if outcome.all_clear() {
            "ok"
        } else {
            "errors"
        };
        self.wording.subject(key, &original)
    }

    /// The template context for a message's reply.
    pub fn context(
        &self,
        inbound: &Inbound,
        outcome: &Outcome,
        campaign: &Campaign,
        settings: &Settings,
    ) -> Value {
        let province = outcome
            .province
            .as_deref()
            .and_then(|c| campaign.province(c))
            .map(|p| p.name.clone());
        let batch_name = outcome
            .batch
            .and_then(|b| campaign.batch(b))
            .map(|b| b.name.clone());
        let facts = wording::Facts {
            province: province.clone(),
            batch: batch_name.clone(),
            campaign,
        };
        let describe = |fs: &[crate::rules::Finding], kind| -> Vec<String> {
            fs.iter()
                .map(|f| self.wording.describe(f, kind, &facts))
                .collect()
        };
        let attachments: Vec<Value> = outcome
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| {
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
                    let params = json!({"container": c, "path": a.path_in_container});
                    let key = match &a.path_in_container {
                        Some(_) if c.starts_with("message/rfc822") => "in_forward",
                        Some(_) => "in_archive",
                        None => "in_container",
                    };
                    self.wording.phrase(key, &params)
                });
                let entry = a.entry.as_ref();
                json!({
                    "index": i + 1,
                    "filename": a.filename,
                    "location": location,
                    "what": what,
                    "receipt": entry.map(|e| e.receipt.clone()),
                    "status": entry.map(|e| self.wording.status(e.status)),
                    "name": entry.map(|e| e.name.clone()).filter(|n| !n.is_empty()),
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
        json!({
            "sender_name": inbound.from.as_ref().and_then(|f| f.name.clone()).map(|n| mail::header_safe(&n)),
            "subject": if inbound.subject.trim().is_empty() { self.wording.phrase("no_subject", &json!({})) } else { inbound.subject.clone() },
            "received": received,
            "province": province.map(|p| format!("{p}（{}）", outcome.province.clone().unwrap_or_default())),
            "batch": batch_name,
            "message_errors": describe(&outcome.errors, None),
            "message_warnings": describe(&outcome.warnings, None),
            "attachments": attachments,
            "all_clear": outcome.all_clear(),
            "campaign_title": campaign.info.title,
            "campaign_name": campaign.info.short_name,
            "own_address": settings.own_address,
        })
    }

    /// Renders and encodes the reply to a message.
    pub fn render(
        &self,
        to: &str,
        inbound: &Inbound,
        outcome: &Outcome,
        campaign: &Campaign,
        settings: &Settings,
    ) -> Result<Rendered, ReplyError> {
        let ctx = self.context(inbound, outcome, campaign, settings);
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
        let subject = self.subject(inbound, outcome);
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
            headers: vec![
                ("Auto-Submitted".into(), "auto-replied".into()),
                ("X-Auto-Response-Suppress".into(), "All".into()),
                (settings.loop_header.clone(), settings.own_address.clone()),
            ],
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
