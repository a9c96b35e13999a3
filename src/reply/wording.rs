//! Chinese wording of findings, roles, statuses and subjects (templates/findings.toml).

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::json;

use super::{template_source, ReplyError};
use crate::campaign::Campaign;
use crate::forms::Kind;
use crate::rules::Finding;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WordingFile {
    codes: BTreeMap<String, String>,
    roles: BTreeMap<String, String>,
    status: BTreeMap<String, String>,
    subjects: BTreeMap<String, String>,
}

/// Facts of the message a finding's wording may mention.
pub struct Facts<'a> {
    pub province: Option<String>,
    pub batch: Option<String>,
    pub campaign: &'a Campaign,
}

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
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        for (code, t) in &file.codes {
            hb.register_template_string(code, t)
                .map_err(|e| ReplyError::Wording {
                    path: "templates/findings.toml".into(),
                    message: format!("{code}: {e}"),
                })?;
        }
        for (key, t) in &file.subjects {
            hb.register_template_string(&format!("subject.{key}"), t)
                .map_err(|e| ReplyError::Wording {
                    path: "templates/findings.toml".into(),
                    message: format!("subjects.{key}: {e}"),
                })?;
        }
        Ok(Wording { file, hb })
    }

    /// One sentence in Chinese for a finding.
    pub fn describe(&self, f: &Finding, kind: Option<Kind>, facts: &Facts) -> String {
        let code = f.code.key();
        let label = f.label.clone().or_else(|| {
            f.field.as_ref().map(|field| {
                facts
                    .campaign
                    .field_label(kind.unwrap_or(Kind::Case), field)
            })
        });
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
            "value": province_of(&f.value).filter(|_| f.code == crate::rules::Code::ProvinceMismatch).or_else(|| f.value.clone()),
            "name": f.name,
            "receipt": f.receipt,
            "province": facts.province,
            "batch": facts.batch,
            "named_batch": named_batch,
        });
        self.hb
            .render(code, &ctx)
            .unwrap_or_else(|_| code.to_string())
    }

    pub fn role(&self, role: &str) -> String {
        self.file
            .roles
            .get(role)
            .cloned()
            .unwrap_or_else(|| role.to_string())
    }

    pub fn status(&self, status: &str) -> String {
        self.file
            .status
            .get(status)
            .cloned()
            .unwrap_or_else(|| status.to_string())
    }

    pub fn subject(&self, key: &str, original: &str) -> String {
        self.hb
            .render(&format!("subject.{key}"), &json!({ "subject": original }))
            .unwrap_or_else(|_| original.to_string())
    }
}
