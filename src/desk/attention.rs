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
    let mut out: Vec<AttentionItem> = current(desk, reg)?
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

/// The items the registry's state makes now, resolved or not.
pub fn current(desk: &Desk, reg: &Registry) -> Result<Vec<AttentionItem>, DeskError> {
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
    for m in reg.messages_with_codes(&codes(&HELD_PROVINCE_CODES))? {
        let mut i = about(
            held_province_key(m.id),
            K::HeldProvince,
            &m,
            vec![A::AssignProvince, A::RejectHeld, A::Reprocess],
        );
        i.detail = w.detail(K::HeldProvince, &json!({"receipts": held_receipts(m.id)?}));
        out.push(i);
    }
    for m in reg.messages_with_codes(&[Code::AuthenticationFailed.key()])? {
        let mut i = about(
            held_auth_key(m.id),
            K::HeldAuth,
            &m,
            vec![A::ReleaseHeld, A::RejectHeld],
        );
        i.detail = w.detail(K::HeldAuth, &json!({"receipts": held_receipts(m.id)?}));
        out.push(i);
    }

    for e in reg.undecided_late_entries()? {
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

    let message_codes: Vec<&str> = MESSAGE_CODES.iter().map(|(c, _)| c.key()).collect();
    for m in reg.messages_with_codes(&message_codes)? {
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
    for f in reg.problem_files(&codes(&FILE_CODES))? {
        let Some(m) = reg.desk_message(f.message)? else {
            continue;
        };
        let mut i = about(
            format!("file:{}:{}", f.file, f.code),
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

    for m in reg.desk_messages_where(Some(MessageState::Quarantined), None)? {
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
    for o in reg.mail_in_states(&states)? {
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

    for m in reg.desk_messages_where(None, Some("bounce"))? {
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
        i.detail = w.detail(K::Bounce, &json!({"subject": subject}));
        out.push(i);
    }
    Ok(out)
}
