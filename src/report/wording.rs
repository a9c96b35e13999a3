//! Chinese wording of the findings an entry carries, for the report: the replies' own
//! wording (`templates/findings.toml`, see `reply::Wording`), so staff and provinces read
//! the same words.

use std::path::Path;

use serde_json::Value;

use crate::campaign::Campaign;
use crate::filing::EntryStatus;
use crate::forms::Kind;
use crate::reply::{Facts, ReplyError, Wording};
use crate::rules::Finding;

pub struct ReportWording {
    findings: Wording,
}

impl ReportWording {
    /// Loads the wording from the templates folder, else the built-in copy.
    pub fn load(dir: Option<&Path>) -> Result<ReportWording, ReplyError> {
        Ok(ReportWording {
            findings: Wording::load(dir)?,
        })
    }

    /// One sentence for a stored finding (`{"code": …, "label": …, "limit": …}`).
    pub fn describe(&self, e: &Value, kind: Option<Kind>, campaign: &Campaign) -> String {
        match serde_json::from_value::<Finding>(e.clone()) {
            Ok(f) => {
                let facts = Facts {
                    province: None,
                    batch: None,
                    campaign,
                    staff_notified: false,
                };
                self.findings.describe(&f, kind, &facts)
            }
            Err(_) => e
                .get("code")
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string(),
        }
    }

    /// The short status word used in report tables.
    pub fn status(&self, status: EntryStatus) -> String {
        match status {
            EntryStatus::Valid => "有效",
            EntryStatus::Invalid => "待更正",
            EntryStatus::Held => "暂存（省份待定）",
        }
        .to_string()
    }
}
