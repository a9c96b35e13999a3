//! The 待人工处理 queue, computed from the registry each time (nothing to keep in step):
//! held messages (province unknown, authentication failed), late entries without a
//! decision, link-only and no-attachment mails, files that could not be read, quarantined
//! messages, undelivered and held mail, bounces. An item a person resolved is left out of
//! the open list by its key; the resolution (with the item as it was) stays queryable.

use std::collections::HashMap;

use serde_json::json;

use super::{
    ActionKind as A, AttentionItem, AttentionKind as K, AttentionQuery, Desk, DeskError, Resolution,
};
use crate::filing::EntryStatus;
use crate::registry::{DeskMessage, MessageState, Registry};
use crate::rules::Code;

/// Message-level codes that hold a message's entries for a province.
pub const HELD_PROVINCE_CODES: [Code; 2] = [Code::UnknownProvince, Code::SenderNotAllowed];
/// Message-level codes a person must follow up (the kind each makes).
pub const MESSAGE_CODES: [(Code, K); 3] = [
    (Code::LinkAttachment, K::LinkOnly),
    (Code::NoAttachment, K::NoAttachment),
    (Code::TooLarge, K::UnreadableFile),
];
/// File-level codes of files that could not be read at all.
pub const FILE_CODES: [Code; 5] = [
    Code::UnreadableAttachment,
    Code::EncryptedDocument,
    Code::MacroDocument,
    Code::UnsupportedFormat,
    Code::TooLarge,
];
/// Outbox states the loop guard leaves mail in (`capped`, renamed `held` by a later schema).
pub const HELD_MAIL_STATES: [&str; 2] = ["capped", "held"];

/// The key of an unreadable-file item: the message and the file's place in it, so that
/// filing the message again (which stores new file rows) keeps a resolution.
pub fn file_key(message: i64, seq: i64, code: &str) -> String {
    format!("file:{message}:{seq}:{code}")
}

/// The key of a held-for-province item of a message.
pub fn held_province_key(message: i64) -> String {
    format!("message:{message}:unknown_province")
}

pub fn held_auth_key(message: i64) -> String {
    format!("message:{message}:authentication_failed")
}

pub fn late_key(receipt: &str) -> String {
    format!("entry:{receipt}:late")
}

pub fn outbox_key(outbox: i64, state: &str) -> String {
    let state = if HELD_MAIL_STATES.contains(&state) {
        "held"
    } else {
        state
    };
    format!("outbox:{outbox}:{state}")
}

/// Every item now, open and (when asked) resolved, filtered, oldest first.
pub fn items(
    desk: &Desk,
    reg: &Registry,
    q: &AttentionQuery,
) -> Result<Vec<AttentionItem>, DeskError> {
    let resolved: HashMap<String, crate::registry::ResolutionRow> = reg
        .resolutions()?
        .into_iter()
        .map(|r| (r.key.clone(), r))
        .collect();
    let mut out: Vec<AttentionItem> = current(desk, reg, Scope::All)?
        .into_iter()
        .filter(|i| !resolved.contains_key(&i.key))
        .collect();
    if q.include_resolved {
        for r in resolved.values() {
            let Ok(mut item) = serde_json::from_str::<AttentionItem>(&r.item) else {
                continue;
            };
            item.resolved = Some(Resolution {
                by: r.by.clone(),
                at: r.at.clone(),
                how: r.how.clone(),
                audit: r.audit,
            });
            out.push(item);
        }
    }
    out.retain(|i| q.kind.is_none_or(|k| i.kind == k));
    if let Some(p) = &q.province {
        out.retain(|i| i.province.as_deref() == Some(p.as_str()));
    }
    out.sort_by(|a, b| (&a.since, &a.key).cmp(&(&b.since, &b.key)));
    Ok(out)
}

/// A blank item about a message.
fn about(key: String, kind: K, m: &DeskMessage, actions: Vec<A>) -> AttentionItem {
    AttentionItem {
        key,
        kind,
        message: Some(m.id),
        receipt: None,
        outbox: None,
        province: m.province.clone(),
        sender: m.sender.clone(),
        subject: m.subject.clone(),
        detail: String::new(),
        since: m.came_in.clone(),
        actions,
        resolved: None,
    }
}

/// Which items to compute: all of them (the queue), or only those of one object (what an
/// action may resolve), or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    All,
    Message(i64),
    Entry(&'a str),
    /// A mail, and the bounces that returned it.
    Outbox(i64),
    Nothing,
}

impl Scope<'_> {
    fn message(self) -> Option<Option<i64>> {
        match self {
            Scope::All => Some(None),
            Scope::Message(id) => Some(Some(id)),
            _ => None,
        }
    }
}

/// The items the registry's state makes now, resolved or not, within `scope`.
pub fn current(desk: &Desk, reg: &Registry, scope: Scope) -> Result<Vec<AttentionItem>, DeskError> {
    let w = &desk.wording;
    let sep = w.phrase("separator").to_string();
    let mut out = Vec::new();
    let codes = |list: &[Code]| list.iter().map(|c| c.key()).collect::<Vec<_>>();

    // Held messages: their held entries' receipts are named.
    let held_receipts = |id: i64| -> Result<String, DeskError> {
        Ok(reg
            .current_entries_of(id)?
            .into_iter()
            .filter(|e| e.status == EntryStatus::Held)
            .map(|e| e.receipt)
            .collect::<Vec<_>>()
            .join(&sep))
    };
    let late_scope = match scope {
        Scope::All => Some(None),
        Scope::Entry(r) => Some(Some(r)),
        _ => None,
    };
    for e in match late_scope {
        Some(only) => reg.undecided_late_entries(only)?,
        None => Vec::new(),
    } {
        let m = reg.desk_message(e.message)?;
        let name = crate::reply::book_title(&e.name);
        out.push(AttentionItem {
            key: late_key(&e.receipt),
            kind: K::LateEntry,
            message: Some(e.message),
            detail: w.detail(K::LateEntry, &json!({"receipt": e.receipt, "name": name})),
            receipt: Some(e.receipt),
            outbox: None,
            province: e.province,
            sender: m.as_ref().and_then(|m| m.sender.clone()),
            subject: m.as_ref().and_then(|m| m.subject.clone()),
            since: e.arrived_at.unwrap_or(e.created_at),
            actions: vec![A::AcceptLate, A::RejectLate, A::Withdraw],
            resolved: None,
        });
    }

    if let Some(only) = scope.message() {
        let mut all_codes = codes(&HELD_PROVINCE_CODES);
        all_codes.push(Code::AuthenticationFailed.key());
        all_codes.extend(MESSAGE_CODES.iter().map(|(c, _)| c.key()));
        for m in reg.messages_with_codes(&all_codes, only)? {
            let has = |list: &[Code]| m.codes.iter().any(|c| list.iter().any(|k| k.key() == c));
            if has(&HELD_PROVINCE_CODES) {
                let mut i = about(
                    held_province_key(m.id),
                    K::HeldProvince,
                    &m,
                    vec![A::AssignProvince, A::RejectHeld, A::Reprocess],
                );
                i.detail = w.detail(K::HeldProvince, &json!({"receipts": held_receipts(m.id)?}));
                out.push(i);
            }
            if has(&[Code::AuthenticationFailed]) {
                let mut i = about(
                    held_auth_key(m.id),
                    K::HeldAuth,
                    &m,
                    vec![A::ReleaseHeld, A::RejectHeld],
                );
                i.detail = w.detail(K::HeldAuth, &json!({"receipts": held_receipts(m.id)?}));
                out.push(i);
            }
            for (code, kind) in MESSAGE_CODES {
                if !m.codes.iter().any(|c| c == code.key()) {
                    continue;
                }
                let mut i = about(
                    format!("message:{}:{}", m.id, code.key()),
                    kind,
                    &m,
                    vec![A::MarkHandled, A::Reprocess],
                );
                i.detail = w.detail(
                    kind,
                    &json!({"file": "", "code": code.key(), "code_name": desk.wording.file_problem(code.key())}),
                );
                out.push(i);
            }
        }
    }
    for f in match scope.message() {
        Some(only) => reg.problem_files(&codes(&FILE_CODES), only)?,
        None => Vec::new(),
    } {
        let Some(m) = reg.desk_message(f.message)? else {
            continue;
        };
        let mut i = about(
            file_key(f.message, f.seq, &f.code),
            K::UnreadableFile,
            &m,
            vec![A::MarkHandled, A::Reprocess],
        );
        let code_name = desk.wording.file_problem(&f.code);
        i.detail = w.detail(
            K::UnreadableFile,
            &json!({"file": f.filename, "code": f.code, "code_name": code_name}),
        );
        out.push(i);
    }

    for m in match scope.message() {
        Some(only) => reg.desk_messages_where(Some(MessageState::Quarantined), None, only)?,
        None => Vec::new(),
    } {
        let mut i = about(
            format!("message:{}:quarantined", m.id),
            K::Quarantined,
            &m,
            vec![A::Reprocess, A::MarkHandled],
        );
        i.detail = w.detail(K::Quarantined, &json!({}));
        out.push(i);
    }

    let mut states = vec!["failed", "unknown"];
    states.extend(HELD_MAIL_STATES);
    let mail_scope = match scope {
        Scope::All => Some(None),
        Scope::Outbox(id) => Some(Some(id)),
        _ => None,
    };
    for o in match mail_scope {
        Some(only) => reg.mail_in_states(&states, only)?,
        None => Vec::new(),
    } {
        let (kind, actions) = match o.state.as_str() {
            "failed" => (K::ReplyFailed, vec![A::Resend, A::CloseMail]),
            "unknown" => (K::ReplyUnknown, vec![A::Resend, A::CloseMail]),
            _ => (K::MailHeld, vec![A::ReleaseMail, A::CloseMail]),
        };
        let m = match o.message {
            Some(id) => reg.desk_message(id)?,
            None => None,
        };
        let error: String = o
            .last_error
            .clone()
            .unwrap_or_default()
            .chars()
            .take(160)
            .collect();
        out.push(AttentionItem {
            key: outbox_key(o.id, &o.state),
            kind,
            message: o.message,
            receipt: None,
            outbox: Some(o.id),
            province: m.as_ref().and_then(|m| m.province.clone()),
            sender: m.as_ref().and_then(|m| m.sender.clone()),
            subject: m.as_ref().and_then(|m| m.subject.clone()),
            detail: w.detail(
                kind,
                &json!({"to": o.recipients.join(&sep), "error": error, "state": o.state}),
            ),
            since: o.created_at,
            actions,
            resolved: None,
        });
    }

    let bounces = match scope {
        Scope::All | Scope::Outbox(_) => reg.desk_messages_where(None, Some("bounce"), None)?,
        Scope::Message(id) => reg.desk_messages_where(None, Some("bounce"), Some(id))?,
        _ => Vec::new(),
    };
    for m in bounces {
        // The mail of ours it returns, when it quotes its Message-ID (as the report does):
        // then it can be resent to another address.
        let raw = match reg.raw_message(m.id) {
            Ok(raw) => raw.unwrap_or_default(),
            Err(crate::registry::RegistryError::Io { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let ids = crate::report::attention::quoted_message_ids(&raw);
        let ours = reg.mail_with_message_ids(&ids)?.into_iter().next();
        if let Scope::Outbox(id) = scope {
            if ours.as_ref().map(|o| o.id) != Some(id) {
                continue;
            }
        }
        let mut i = about(
            format!("message:{}:bounce", m.id),
            K::Bounce,
            &m,
            vec![A::MarkHandled],
        );
        let subject = m
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| w.phrase("no_subject").to_string());
        let to = ours.as_ref().map(|o| o.recipients.join(&sep));
        i.detail = w.detail(K::Bounce, &json!({"subject": subject, "to": to}));
        if let Some(o) = ours {
            i.outbox = Some(o.id);
            i.actions.insert(0, A::Resend);
            if let Some(answered) = o
                .message
                .map(|id| reg.desk_message(id))
                .transpose()?
                .flatten()
            {
                i.province = answered.province;
            }
        }
        out.push(i);
    }
    Ok(out)
}
