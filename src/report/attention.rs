//! 待人工处理: what lndx could not finish alone, each item with its age in days as of the
//! report's moment.
//!
//! - messages answered `link_attachment` or `no_attachment` (or `too_large` as a whole),
//!   and files answered `unreadable_attachment`, `encrypted_document`, `macro_document`,
//!   `unsupported_format` or `too_large`: listed until the same sender files an entry in a
//!   later message (then they did what the reply asked);
//! - messages whose processing crashed (quarantined: never answered);
//! - held entries (the province is unknown) whose message staff have not rejected, and
//!   late entries (after the last deadline) that staff have not yet accepted or rejected,
//!   each named with its receipt;
//! - anything below that staff resolved at the desk (`resolutions`) is left out from the
//!   moment it was resolved;
//! - bounces: when a bounce quotes the Message-ID of one of our mails, the reply, its
//!   recipient and its receipts are named; otherwise the bounce as received;
//! - queued mail that `failed`, or whose delivery is `unknown`.
//!
//! The order of the kinds is report.toml's `[items]` order ([`ITEMS`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::data::{parse_stamp, stamp, EntryLine};
use super::labels::{Labels, ITEMS};
use super::Result;
use crate::campaign::Campaign;
use crate::filing::EntryStatus;
use crate::registry::{AnsweredProblem, ListedMessage, Registry, RegistryError, Undelivered};
use crate::rules::Code;

/// How many items of each kind the mail body shows; the workbook's sheet has every one.
pub const GROUP_ROWS: usize = 20;

/// Codes a whole message is answered with that leave the sender's forms unread.
pub const MESSAGE_CODES: [Code; 3] = [Code::LinkAttachment, Code::NoAttachment, Code::TooLarge];
/// Codes a file is answered with when it could not be read at all.
pub const FILE_CODES: [Code; 5] = [
    Code::UnreadableAttachment,
    Code::EncryptedDocument,
    Code::MacroDocument,
    Code::UnsupportedFormat,
    Code::TooLarge,
];

/// One thing that needs a person.
#[derive(Debug, Clone, Serialize)]
pub struct PendingItem {
    /// Its kind: a key of report.toml `[items]`.
    pub key: &'static str,
    pub province_name: String,
    /// Who wrote (or, for a delivery, to whom it went).
    pub address: String,
    pub subject: String,
    pub file: String,
    pub receipt: String,
    pub name: String,
    /// What else is known: the bounced reply, a delivery's state and error.
    pub detail: String,
    /// Since when ([formats] arrival), and how many whole days before the report.
    pub since: String,
    pub age_days: i64,
    #[serde(skip)]
    pub since_local: Option<NaiveDateTime>,
}

/// Items of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct PendingGroup {
    pub key: &'static str,
    pub label: String,
    pub action: String,
    pub count: usize,
    /// The oldest [`GROUP_ROWS`]; the workbook's sheet has all.
    pub rows: Vec<PendingItem>,
    pub more: usize,
}

/// Everything that needs a person, by kind.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub count: usize,
    pub groups: Vec<PendingGroup>,
    #[serde(skip)]
    pub all: Vec<PendingItem>,
}

impl Pending {
    /// Groups the items by kind, in [`ITEMS`] order; each kind oldest first.
    pub fn of(l: &Labels, mut all: Vec<PendingItem>) -> Pending {
        let rank = |k: &str| ITEMS.iter().position(|x| *x == k).unwrap_or(ITEMS.len());
        all.sort_by(|a, b| {
            (rank(a.key), -a.age_days, &a.since).cmp(&(rank(b.key), -b.age_days, &b.since))
        });
        let groups = ITEMS
            .iter()
            .filter_map(|key| {
                let mine: Vec<&PendingItem> = all.iter().filter(|i| i.key == *key).collect();
                (!mine.is_empty()).then(|| PendingGroup {
                    key,
                    label: l.item(key).to_string(),
                    action: l.action(key).to_string(),
                    count: mine.len(),
                    more: mine.len().saturating_sub(GROUP_ROWS),
                    rows: mine.into_iter().take(GROUP_ROWS).cloned().collect(),
                })
            })
            .collect();
        Pending {
            count: all.len(),
            groups,
            all,
        }
    }
}

/// The item kind a stored code stands for.
fn item_key(code: &str) -> Option<&'static str> {
    ITEMS.iter().copied().find(|k| *k == code)
}

/// A blank item of a kind, since a stored moment.
fn item(
    c: &Campaign,
    l: &Labels,
    key: &'static str,
    since: &str,
    as_of: DateTime<Utc>,
) -> PendingItem {
    let at = parse_stamp(since);
    let local = at.map(|t| t.with_timezone(&c.tz).naive_local());
    PendingItem {
        key,
        province_name: String::new(),
        address: String::new(),
        subject: String::new(),
        file: String::new(),
        receipt: String::new(),
        name: String::new(),
        detail: String::new(),
        since: local
            .map(|t| t.format(l.format("arrival")).to_string())
            .unwrap_or_default(),
        age_days: at.map(|t| (as_of - t).num_days().max(0)).unwrap_or(0),
        since_local: local,
    }
}

fn subject(l: &Labels, s: Option<String>) -> String {
    s.filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| l.label("no_subject").to_string())
}

/// Everything that needs a person as of `as_of`; `entries` are the current ones.
pub fn items(
    reg: &Registry,
    c: &Campaign,
    l: &Labels,
    as_of: DateTime<Utc>,
    entries: &[EntryLine],
) -> Result<Vec<PendingItem>> {
    let t = stamp(as_of);
    let codes = |list: &[Code]| list.iter().map(|c| c.key()).collect::<Vec<_>>();
    let mut out: Vec<PendingItem> = reg
        .answered_problems(&t, &codes(&MESSAGE_CODES), &codes(&FILE_CODES))?
        .into_iter()
        .filter_map(|p| answered(c, l, p, as_of))
        .collect();
    for m in reg.quarantined_as_of(&t)? {
        out.push(message(c, l, "quarantined", m, as_of));
    }
    out.extend(entries.iter().filter_map(|e| decision(c, l, e, as_of)));
    for m in reg.bounces_as_of(&t)? {
        out.push(bounce(reg, c, l, m, as_of)?);
    }
    out.extend(
        reg.undelivered_as_of(&t)?
            .into_iter()
            .map(|u| undelivered(c, l, u, as_of)),
    );
    Ok(out)
}

fn answered(
    c: &Campaign,
    l: &Labels,
    p: AnsweredProblem,
    as_of: DateTime<Utc>,
) -> Option<PendingItem> {
    let mut i = item(c, l, item_key(&p.code)?, &p.arrived_at, as_of);
    i.province_name = c.province_name(p.province.as_deref());
    i.address = p.sender.unwrap_or_default();
    i.subject = subject(l, p.subject);
    i.file = p.filename.unwrap_or_default();
    Some(i)
}

fn message(
    c: &Campaign,
    l: &Labels,
    key: &'static str,
    m: ListedMessage,
    as_of: DateTime<Utc>,
) -> PendingItem {
    let mut i = item(c, l, key, &m.arrived_at, as_of);
    i.address = m.sender.unwrap_or_default();
    i.subject = subject(l, m.subject);
    i
}

/// A held or a late entry: staff decide.
fn decision(c: &Campaign, l: &Labels, e: &EntryLine, as_of: DateTime<Utc>) -> Option<PendingItem> {
    let key = if e.status == EntryStatus::Held {
        if e.held_resolved {
            return None;
        }
        "held"
    } else if e.late && !e.late_decided {
        "late"
    } else {
        return None;
    };
    let mut i = item(c, l, key, &e.came_in, as_of);
    i.province_name = e
        .province
        .as_ref()
        .map(|_| e.province_name.clone())
        .unwrap_or_default();
    i.address = e.sender.clone();
    i.file = e.filename.clone();
    i.receipt = e.receipt.clone();
    i.name = e.name.clone();
    i.detail = l.phrase(
        "entry_detail",
        &json!({"late": key == "late", "status": e.status_name, "unit": e.unit}),
    );
    Some(i)
}

/// The Message-IDs a message quotes: every `<…@…>` without spaces (a bounce carries the
/// headers of the mail it returns). Our own IDs are plain ASCII, so bytes will do.
pub fn quoted_message_ids(raw: &[u8]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.iter().position(|b| *b == b'<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.iter().take(250).position(|b| *b == b'>') else {
            continue;
        };
        let token = &rest[..end];
        let plain = token.iter().all(|b| b.is_ascii_graphic() && *b != b'<');
        if plain && token.contains(&b'@') {
            let id = format!("<{}>", String::from_utf8_lossy(token));
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        rest = &rest[end..];
    }
    ids
}

/// A bounce, with the mail of ours it returns when the registry can tell.
fn bounce(
    reg: &Registry,
    c: &Campaign,
    l: &Labels,
    m: ListedMessage,
    as_of: DateTime<Utc>,
) -> Result<PendingItem> {
    let raw = match reg.raw_message(m.id) {
        Ok(raw) => raw.unwrap_or_default(),
        // A missing raw file must not stop the weekly report; the bounce is still listed.
        Err(RegistryError::Io { path, source }) => {
            tracing::warn!(path = %path.display(), error = %source, "bounce not readable for the report");
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let ours = reg.sent_mail_with_ids(&quoted_message_ids(&raw))?;
    let mut i = message(c, l, "bounce", m, as_of);
    i.detail = match ours.first() {
        None => l.label("unmatched_bounce").to_string(),
        Some(s) => {
            let to: Vec<String> = serde_json::from_str(&s.recipients).unwrap_or_default();
            i.province_name = c.province_name(s.province.as_deref());
            let sep = l.label("separator");
            i.receipt = s.receipts.join(sep);
            l.phrase(
                "bounce_matched",
                &json!({
                    "to": to.join(sep),
                    "purpose": purpose(l, &s.purpose),
                    "subject": s.answered_subject,
                    "receipts": s.receipts.join(sep),
                }),
            )
        }
    };
    Ok(i)
}

fn purpose<'a>(l: &'a Labels, p: &str) -> &'a str {
    match p {
        "reply" => l.label("purpose_reply"),
        "copy" => l.label("purpose_copy"),
        _ => l.label("purpose_report"),
    }
}

fn undelivered(c: &Campaign, l: &Labels, u: Undelivered, as_of: DateTime<Utc>) -> PendingItem {
    let mut i = item(c, l, "undelivered", &u.created_at, as_of);
    let to: Vec<String> = serde_json::from_str(&u.recipients).unwrap_or_default();
    let state = if u.state == "unknown" {
        l.label("state_unknown")
    } else {
        l.label("state_failed")
    };
    let error: String = u.last_error.unwrap_or_default().chars().take(160).collect();
    i.province_name = c.province_name(u.province.as_deref());
    i.address = to.join(l.label("separator"));
    i.subject = u.answered_subject.unwrap_or_default();
    i.detail = l.phrase(
        "delivery",
        &json!({"purpose": purpose(l, &u.purpose), "state": state, "error": error}),
    );
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_ids_are_found_in_a_bounce() {
        let raw =
            b"To: <wangfang@sc.test>\r\nMessage-ID: <lndx.r.1.ab@ouchn.test>\r\n<not an id> <a@b>";
        assert_eq!(
            quoted_message_ids(raw),
            ["<wangfang@sc.test>", "<lndx.r.1.ab@ouchn.test>", "<a@b>"]
        );
        assert!(quoted_message_ids(b"<<<").is_empty());
    }
}
