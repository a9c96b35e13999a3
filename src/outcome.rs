//! The result of filing one message: what `lndx ingest --json` prints and what the reply
//! and the registry's `messages.result` are made from. Made by `intake`, read by `reply`
//! and the commands; a module of its own so that `reply` does not import `intake`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::filing::{EntryStatus, FileRole};
use crate::rules::Finding;

/// One message's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub message_id: Option<String>,
    pub province: Option<String>,
    pub batch: Option<u8>,
    pub reply: Option<ReplyInfo>,
    pub skipped: Option<&'static str>,
    /// Filed but deliberately not answered: `done_keyword` (an earlier lndx marked it
    /// done) or `existing_mail` (old mail on a first run). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unanswered: Option<&'static str>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    pub attachments: Vec<AttachmentOutcome>,
    /// Arrival time used for the batch (RFC 3339).
    pub arrived_at: Option<String>,
    pub from: Option<String>,
    pub subject: String,
    /// The registry's id of the stored message.
    pub stored_id: i64,
    /// A score sheet mailed back by an expert: what was recorded and what not (the
    /// message then files no entries and its reply is the sheet's receipt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplyInfo {
    pub to: Vec<String>,
    pub subject: String,
    pub sent: bool,
    pub message_id: String,
    /// Why the loop guard held the reply back (queued `held`, not sent until released).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub held: Option<String>,
}

/// One file of the message.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentOutcome {
    pub filename: String,
    pub role: FileRole,
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_in_container: Option<String>,
    pub file_type: &'static str,
    pub size: usize,
    pub sha256: String,
    pub entry: Option<EntryOutcome>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryOutcome {
    pub receipt: String,
    pub name: String,
    pub status: EntryStatus,
    /// Arrived after the last deadline: registered, and staff decide whether it is accepted.
    pub late: bool,
    pub fields: BTreeMap<String, Value>,
    pub themes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    pub version: i64,
}

impl Outcome {
    /// True when nothing in the message is an error.
    pub fn all_clear(&self) -> bool {
        self.errors.is_empty() && self.attachments.iter().all(|a| a.errors.is_empty())
    }
}
