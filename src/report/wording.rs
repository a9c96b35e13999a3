//! The report's words: the findings an entry carries in the replies' own wording
//! (`templates/findings.toml`, see `reply::Wording`), so staff, the ministry and provinces
//! read the same sentences; and the report's own labels, formats and phrases
//! (`templates/report.toml`, see [`Labels`]).

use std::path::Path;

use serde_json::Value;

use super::labels::Labels;
use super::Result;
use crate::campaign::Campaign;
use crate::filing::EntryStatus;
use crate::forms::Kind;
use crate::reply::{Facts, Wording};
use crate::rules::Finding;

#[derive(Clone)]
pub struct ReportWording {
    findings: Wording,
    pub labels: Labels,
}

impl ReportWording {
    /// Loads both files from the templates folder, else the built-in copies; either one
    /// incomplete or unknown keys stop loading, naming the file and the line.
    pub fn load(dir: Option<&Path>) -> Result<ReportWording> {
        Ok(ReportWording {
            findings: Wording::load(dir)?,
            labels: Labels::load(dir)?,
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

    /// The short status word used in report tables (report.toml `[status]`).
    pub fn status(&self, status: EntryStatus) -> String {
        self.labels.status(status).to_string()
    }
}
