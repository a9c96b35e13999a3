//! The desk's Chinese wording (`templates/desk.toml`): the mails staff actions send, the
//! one-line summaries after an action, the queue items' details and the names of their
//! kinds. Checked complete at load with the checker the replies and the report share
//! (`reply::tables`), so a missing or unknown key stops lndx at start, not at the moment
//! staff act.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::Value;

use crate::reply::tables;

use super::{ActionKind, AttentionKind};

/// The mails an action may send.
pub const MAILS: [&str; 4] = ["accept_late", "reject_late", "reject_held", "handled"];
pub const PHRASES: [&str; 2] = ["no_subject", "separator"];

const FILE: &str = "templates/desk.toml";
const EMBEDDED: &str = include_str!("../../templates/desk.toml");

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WordingError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeskFile {
    subjects: BTreeMap<String, String>,
    bodies: BTreeMap<String, String>,
    summaries: BTreeMap<String, String>,
    details: BTreeMap<String, String>,
    kinds: BTreeMap<String, String>,
    files: BTreeMap<String, String>,
    phrases: BTreeMap<String, String>,
}

/// The loaded wording.
#[derive(Debug)]
pub struct DeskWording {
    file: DeskFile,
    hb: Handlebars<'static>,
}

impl DeskWording {
    /// Reads `desk.toml` from the templates folder (else the copy built into the binary)
    /// and checks every key.
    pub fn load(dir: Option<&Path>) -> Result<DeskWording, WordingError> {
        let err = |message: String| WordingError {
            path: FILE.into(),
            message,
        };
        let src = match dir.map(|d| d.join("desk.toml")).filter(|p| p.exists()) {
            Some(p) => std::fs::read_to_string(&p).map_err(|e| WordingError {
                path: p.display().to_string(),
                message: e.to_string(),
            })?,
            None => EMBEDDED.to_string(),
        };
        let file: DeskFile = toml::from_str(&src).map_err(|e| err(e.to_string()))?;
        let summaries: Vec<&str> = ActionKind::ALL.iter().map(|a| a.key()).collect();
        let kinds: Vec<&str> = AttentionKind::ALL.iter().map(|k| k.key()).collect();
        let files: Vec<&str> = super::attention::FILE_CODES
            .iter()
            .map(|c| c.key())
            .collect();
        tables::check_complete(&[
            ("subjects", &file.subjects, &MAILS),
            ("bodies", &file.bodies, &MAILS),
            ("summaries", &file.summaries, &summaries),
            ("details", &file.details, &kinds),
            ("kinds", &file.kinds, &kinds),
            ("files", &file.files, &files),
            ("phrases", &file.phrases, &PHRASES),
        ])
        .map_err(|p| err(p.located(&src)))?;
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        for (table, map) in [
            ("subjects", &file.subjects),
            ("bodies", &file.bodies),
            ("summaries", &file.summaries),
            ("details", &file.details),
        ] {
            for (key, t) in map {
                hb.register_template_string(&format!("{table}.{key}"), t)
                    .map_err(|e| err(format!("{table}.{key}: {e}")))?;
            }
        }
        Ok(DeskWording { file, hb })
    }

    fn render(&self, name: &str, params: &Value) -> String {
        // Every template was registered and compiled at load; a render error can only come
        // from a helper given odd data, and then the raw template is better than nothing.
        self.hb
            .render(name, params)
            .unwrap_or_else(|_| name.to_string())
    }

    pub fn subject(&self, mail: &str, params: &Value) -> String {
        crate::mail::header_safe(&self.render(&format!("subjects.{mail}"), params))
    }

    pub fn body(&self, mail: &str, params: &Value) -> String {
        crate::reply::squeeze_blank_lines(&self.render(&format!("bodies.{mail}"), params))
    }

    pub fn summary(&self, action: ActionKind, params: &Value) -> String {
        self.render(&format!("summaries.{}", action.key()), params)
    }

    pub fn detail(&self, kind: AttentionKind, params: &Value) -> String {
        self.render(&format!("details.{}", kind.key()), params)
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The Chinese name of a kind of item.
    pub fn kind_name(&self, kind: AttentionKind) -> &str {
        &self.file.kinds[kind.key()]
    }

    /// Why a file could not be read, in a few words (a file-level code's key).
    pub fn file_problem(&self, code: &str) -> String {
        self.file
            .files
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    pub fn phrase(&self, key: &str) -> &str {
        &self.file.phrases[key]
    }
}
