//! The desk: what staff do with what intake could not finish alone — the 待人工处理 queue
//! ([`Desk::attention`]), the actions that resolve it ([`Desk::perform`]) and the audit log
//! ([`Desk::audit`]). The console and the command line both call it; neither holds SQL.
//!
//! Every action runs in ONE SQLite transaction (`BEGIN IMMEDIATE`, so it waits for the
//! intake worker instead of failing) together with its audit row (the object before and
//! after, as JSON), its resolution of queue items and any mail it queues: a crash leaves
//! either the old state or the new one. Nothing is deleted; withdrawn entries stay, counted
//! nowhere. A held message given a province (or released from the authentication hold)
//! is filed again through [`crate::intake::Intake::refile`], the very filing a fresh message
//! gets: entries with receipts, the normal reply queued.
//!
//! The mail wording, summaries and item details are `templates/desk.toml` (Chinese),
//! checked complete at load ([`wording`]).

mod actions;
mod attention;
pub mod wording;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::intake::Intake;
use crate::registry::{Registry, RegistryError};

pub use wording::{DeskWording, WordingError};

/// Staff actions on the registry, with everything needed to file a message again and queue
/// mail. Cheap to clone; each call works on the registry connection it is given (the
/// console's pooled one, the command line's own).
#[derive(Clone)]
pub struct Desk {
    intake: Arc<Intake>,
    wording: Arc<DeskWording>,
}

impl Desk {
    /// A desk filing with `intake`, worded from the templates folder (else the built-in
    /// copy).
    pub fn new(intake: Intake, templates: Option<&Path>) -> Result<Desk, DeskError> {
        Ok(Desk {
            intake: Arc::new(intake),
            wording: Arc::new(DeskWording::load(templates)?),
        })
    }

    /// The Chinese wording (kind names for filters and headings).
    pub fn wording(&self) -> &DeskWording {
        &self.wording
    }

    /// The 待人工处理 queue, computed from the registry: open items, and resolved ones too
    /// when asked, oldest first.
    pub fn attention(
        &self,
        reg: &Registry,
        q: &AttentionQuery,
    ) -> Result<Vec<AttentionItem>, DeskError> {
        attention::items(self, reg, q)
    }

    /// Performs one action as `actor` (an account's e-mail, or `cli:<login name>`).
    pub fn perform(
        &self,
        reg: &mut Registry,
        actor: &str,
        action: Action,
    ) -> Result<Done, DeskError> {
        if actor.trim().is_empty() {
            return Err(DeskError::NoActor);
        }
        actions::perform(self, reg, actor.trim(), action)
    }

    /// Audit rows, newest first.
    pub fn audit(&self, reg: &Registry, q: &AuditQuery) -> Result<Vec<AuditRow>, DeskError> {
        let limit = if q.limit == 0 { 100 } else { q.limit };
        Ok(reg
            .audit_rows(q.object.as_deref(), q.actor.as_deref(), limit)?
            .into_iter()
            .map(|a| AuditRow {
                id: a.id,
                at: a.at,
                actor: a.actor,
                action: a.action,
                object: a.object,
                before: serde_json::from_str(&a.before).unwrap_or(serde_json::Value::Null),
                after: serde_json::from_str(&a.after).unwrap_or(serde_json::Value::Null),
                note: a.note,
            })
            .collect())
    }
}

/// What a note is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteTarget {
    /// An entry version, by receipt.
    Entry(String),
    /// A stored message, by id.
    Message(i64),
}

impl NoteTarget {
    /// The object as the audit log and the notes table name it.
    pub fn object(&self) -> String {
        match self {
            NoteTarget::Entry(r) => format!("entry:{r}"),
            NoteTarget::Message(id) => format!("message:{id}"),
        }
    }
}

/// A staff action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Held for unknown_province → filed with receipts for the province, normal reply queued.
    AssignProvince {
        message: i64,
        province: String,
    },
    /// Held by the authentication check → processed normally.
    ReleaseHeld {
        message: i64,
    },
    /// A held message not accepted; optionally a templated notice to the sender.
    RejectHeld {
        message: i64,
        notify: bool,
    },
    /// A late entry accepted into a batch staff choose; the sender is told.
    AcceptLate {
        receipt: String,
        batch: u8,
    },
    /// A late entry rejected; the sender is told.
    RejectLate {
        receipt: String,
    },
    /// link_attachment / no_attachment / unreadable files dealt with by hand; optionally a
    /// templated reply.
    MarkHandled {
        message: i64,
        note: String,
        reply: bool,
    },
    /// The stored message filed again (with staff's earlier decisions about it).
    Reprocess {
        message: i64,
    },
    /// A failed, unknown or sent reply queued again (new Message-ID), to its recipients or
    /// another address.
    Resend {
        outbox: i64,
        to: Option<String>,
    },
    /// An unknown or failed mail settled without sending.
    CloseMail {
        outbox: i64,
        note: String,
    },
    /// Mail held by the loop guard → pending.
    ReleaseMail {
        outbox: i64,
    },
    /// 撤回: kept, counted nowhere.
    Withdraw {
        receipt: String,
        note: String,
    },
    Note {
        target: NoteTarget,
        text: String,
    },
}

/// The kinds of [`Action`] (which resolve an item; the audit log's `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    AssignProvince,
    ReleaseHeld,
    RejectHeld,
    AcceptLate,
    RejectLate,
    MarkHandled,
    Reprocess,
    Resend,
    CloseMail,
    ReleaseMail,
    Withdraw,
    Note,
}

impl ActionKind {
    pub const ALL: [ActionKind; 12] = [
        ActionKind::AssignProvince,
        ActionKind::ReleaseHeld,
        ActionKind::RejectHeld,
        ActionKind::AcceptLate,
        ActionKind::RejectLate,
        ActionKind::MarkHandled,
        ActionKind::Reprocess,
        ActionKind::Resend,
        ActionKind::CloseMail,
        ActionKind::ReleaseMail,
        ActionKind::Withdraw,
        ActionKind::Note,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ActionKind::AssignProvince => "assign_province",
            ActionKind::ReleaseHeld => "release_held",
            ActionKind::RejectHeld => "reject_held",
            ActionKind::AcceptLate => "accept_late",
            ActionKind::RejectLate => "reject_late",
            ActionKind::MarkHandled => "mark_handled",
            ActionKind::Reprocess => "reprocess",
            ActionKind::Resend => "resend",
            ActionKind::CloseMail => "close_mail",
            ActionKind::ReleaseMail => "release_mail",
            ActionKind::Withdraw => "withdraw",
            ActionKind::Note => "note",
        }
    }
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::AssignProvince { .. } => ActionKind::AssignProvince,
            Action::ReleaseHeld { .. } => ActionKind::ReleaseHeld,
            Action::RejectHeld { .. } => ActionKind::RejectHeld,
            Action::AcceptLate { .. } => ActionKind::AcceptLate,
            Action::RejectLate { .. } => ActionKind::RejectLate,
            Action::MarkHandled { .. } => ActionKind::MarkHandled,
            Action::Reprocess { .. } => ActionKind::Reprocess,
            Action::Resend { .. } => ActionKind::Resend,
            Action::CloseMail { .. } => ActionKind::CloseMail,
            Action::ReleaseMail { .. } => ActionKind::ReleaseMail,
            Action::Withdraw { .. } => ActionKind::Withdraw,
            Action::Note { .. } => ActionKind::Note,
        }
    }
}

/// What an action did.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    /// Its audit row.
    pub audit: i64,
    /// Chinese, one line (a flash message).
    pub summary: String,
    /// Outbox rows it queued.
    pub queued: Vec<i64>,
    /// For an action that filed a message again: the new filing result (as `lndx ingest
    /// --json` prints it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

/// The kinds of items in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    HeldProvince,
    HeldAuth,
    LateEntry,
    LinkOnly,
    NoAttachment,
    UnreadableFile,
    Quarantined,
    ReplyFailed,
    ReplyUnknown,
    MailHeld,
    Bounce,
}

impl AttentionKind {
    pub const ALL: [AttentionKind; 11] = [
        AttentionKind::HeldProvince,
        AttentionKind::HeldAuth,
        AttentionKind::LateEntry,
        AttentionKind::LinkOnly,
        AttentionKind::NoAttachment,
        AttentionKind::UnreadableFile,
        AttentionKind::Quarantined,
        AttentionKind::ReplyFailed,
        AttentionKind::ReplyUnknown,
        AttentionKind::MailHeld,
        AttentionKind::Bounce,
    ];

    pub fn key(self) -> &'static str {
        match self {
            AttentionKind::HeldProvince => "held_province",
            AttentionKind::HeldAuth => "held_auth",
            AttentionKind::LateEntry => "late_entry",
            AttentionKind::LinkOnly => "link_only",
            AttentionKind::NoAttachment => "no_attachment",
            AttentionKind::UnreadableFile => "unreadable_file",
            AttentionKind::Quarantined => "quarantined",
            AttentionKind::ReplyFailed => "reply_failed",
            AttentionKind::ReplyUnknown => "reply_unknown",
            AttentionKind::MailHeld => "mail_held",
            AttentionKind::Bounce => "bounce",
        }
    }

    /// The kind spelled as in JSON (for `--kind`); None when unknown.
    pub fn parse(s: &str) -> Option<AttentionKind> {
        AttentionKind::ALL.into_iter().find(|k| k.key() == s)
    }
}

/// Who resolved an item, when and how.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Resolution {
    pub by: String,
    pub at: String,
    /// The action (snake_case).
    pub how: String,
    /// Its audit row.
    pub audit: i64,
}

/// One thing that needs a person.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AttentionItem {
    /// Stable, e.g. "message:12:unknown_province", "outbox:40:unknown".
    pub key: String,
    pub kind: AttentionKind,
    pub message: Option<i64>,
    pub receipt: Option<String>,
    pub outbox: Option<i64>,
    pub province: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    /// Chinese, one line.
    pub detail: String,
    /// RFC 3339.
    pub since: String,
    /// Which actions resolve it.
    pub actions: Vec<ActionKind>,
    /// Set for resolved items (they leave the open list but stay queryable).
    pub resolved: Option<Resolution>,
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct AttentionQuery {
    pub include_resolved: bool,
    pub kind: Option<AttentionKind>,
    pub province: Option<String>,
}

/// One row of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub note: Option<String>,
}

/// Which audit rows to list (newest first; `limit` 0 means 100).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub object: Option<String>,
    pub actor: Option<String>,
    pub limit: usize,
}

/// An action that could not be done, or a registry failure. Each has a stable code and a
/// Chinese message for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("message {0} is not held")]
    NotHeld(i64),
    #[error("entry {0} is not a late entry")]
    NotLate(String),
    #[error("already resolved: {what} by {by} at {at}")]
    AlreadyResolved {
        what: String,
        by: String,
        at: String,
    },
    #[error("unknown province {0:?}")]
    UnknownProvince(String),
    #[error("no batch {0}")]
    BadBatch(u8),
    #[error("invalid address {0:?}")]
    BadAddress(String),
    #[error("outbox {id} is {state}; this action needs {needs}")]
    BadState {
        id: i64,
        state: String,
        needs: &'static str,
    },
    #[error("a note is required")]
    EmptyNote,
    #[error("entry {0} is already withdrawn")]
    Withdrawn(String),
    #[error("entry {0} has a newer version")]
    Superseded(String),
    #[error("message {0} has nothing a person must handle")]
    NothingToHandle(i64),
    #[error("message {0} has no sender address to write to")]
    NoSender(i64),
    #[error("no actor given")]
    NoActor,
    #[error("the message parser panicked on message {0}")]
    Unparsable(i64),
    #[error("cannot render the mail: {0}")]
    Render(String),
    #[error(transparent)]
    Wording(#[from] WordingError),
    #[error("database: {0}")]
    Database(#[from] RegistryError),
}

impl DeskError {
    /// The stable snake_case code (`--json`, the console).
    pub fn code(&self) -> &'static str {
        match self {
            DeskError::NotFound(_) => "not_found",
            DeskError::NotHeld(_) => "not_held",
            DeskError::NotLate(_) => "not_late",
            DeskError::AlreadyResolved { .. } => "already_resolved",
            DeskError::UnknownProvince(_) => "unknown_province",
            DeskError::BadBatch(_) => "bad_batch",
            DeskError::BadAddress(_) => "bad_address",
            DeskError::BadState { .. } => "bad_state",
            DeskError::EmptyNote => "empty_note",
            DeskError::Withdrawn(_) => "already_withdrawn",
            DeskError::Superseded(_) => "superseded",
            DeskError::NothingToHandle(_) => "nothing_to_handle",
            DeskError::NoSender(_) => "no_sender",
            DeskError::NoActor => "no_actor",
            DeskError::Unparsable(_) => "unparsable",
            DeskError::Render(_) => "render",
            DeskError::Wording(_) => "wording",
            DeskError::Database(_) => "database",
        }
    }

    /// What the person who asked is told, in Chinese.
    pub fn message(&self) -> String {
        match self {
            DeskError::NotFound(what) => format!("找不到{what}。"),
            DeskError::NotHeld(id) => {
                format!("来信 {id} 没有待确认的暂存申报（省份未知或认证未通过），无需此操作。")
            }
            DeskError::NotLate(r) => format!("{r} 不是逾期报送的申报，无需决定是否受理。"),
            DeskError::AlreadyResolved { what, by, at } => {
                format!("{what}已由 {by} 于 {at} 处理，不能重复处理。")
            }
            DeskError::UnknownProvince(p) => {
                format!("没有代码为“{p}”的省份，请使用 provinces.toml 中的省份代码（如 GD）。")
            }
            DeskError::BadBatch(b) => format!("没有第 {b} 批，请使用 campaign.toml 中的批次号。"),
            DeskError::BadAddress(a) => format!("“{a}”不是有效的邮箱地址。"),
            DeskError::BadState { id, state, needs } => {
                format!("邮件 {id} 的状态为 {state}，此操作只适用于{needs}的邮件。")
            }
            DeskError::EmptyNote => "请填写说明。".to_string(),
            DeskError::Withdrawn(r) => format!("{r} 已撤回。"),
            DeskError::Superseded(r) => {
                format!("{r} 已有更新的版本，请对最新版本的回执号操作。")
            }
            DeskError::NothingToHandle(id) => {
                format!("来信 {id} 没有待处理的下载链接、无附件或无法读取的文件（或已处理）。")
            }
            DeskError::NoSender(id) => format!("来信 {id} 没有可回复的发件地址。"),
            DeskError::NoActor => "未指明操作人。".to_string(),
            DeskError::Unparsable(id) => format!("来信 {id} 无法解析，不能重新处理。"),
            DeskError::Render(e) => format!("邮件生成失败：{e}"),
            DeskError::Wording(e) => format!("措辞文件有误：{e}"),
            DeskError::Database(e) => format!("数据库错误：{e}"),
        }
    }
}

/// The console serves requests from several threads with one desk.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Desk>();
};
