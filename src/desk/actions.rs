//! The actions: each checks what it acts on inside one `BEGIN IMMEDIATE` transaction,
//! changes it, writes its audit row (before → after), resolves the queue items it settles,
//! queues any mail, and commits once. Nothing is deleted.

use serde_json::{json, Value};

use super::attention::{self, HELD_PROVINCE_CODES};
use super::{Action, ActionKind, AttentionItem, AttentionKind as K, Desk, DeskError, Done};
use crate::intake::{Decision, IntakeError};
use crate::queued::Purpose;
use crate::registry::{
    DeskMail, DeskMessage, EntryRow, LateDecision, NewAudit, QueuedMail, Registry, Tx,
};
use crate::rules::Code;

/// The environment variable that makes a debug build pause this many milliseconds inside
/// an action's transaction, just before COMMIT, after printing a line to stderr: the crash
/// test kills the process there. Release builds never read it.
#[cfg(debug_assertions)]
pub const PAUSE_ENV: &str = "LNDX_DESK_PAUSE_BEFORE_COMMIT_MS";

/// The line printed before the pause.
#[cfg(debug_assertions)]
pub const PAUSE_MARK: &str = "lndx-desk: pausing before commit";

pub fn perform(
    desk: &Desk,
    reg: &mut Registry,
    actor: &str,
    action: Action,
) -> Result<Done, DeskError> {
    // The items this action may resolve as they stand, to record them as they were shown.
    use attention::Scope;
    let scope = match &action {
        Action::AssignProvince { message, .. }
        | Action::ReleaseHeld { message }
        | Action::RejectHeld { message, .. }
        | Action::MarkHandled { message, .. }
        | Action::Reprocess { message } => Scope::Message(*message),
        Action::AcceptLate { receipt, .. }
        | Action::RejectLate { receipt }
        | Action::Withdraw { receipt, .. } => Scope::Entry(receipt.trim()),
        Action::Resend { outbox, .. }
        | Action::CloseMail { outbox, .. }
        | Action::ReleaseMail { outbox } => Scope::Outbox(*outbox),
        Action::Note { .. } => Scope::Nothing,
    };
    let shown = attention::current(desk, reg, scope)?;
    let ctx = Ctx {
        desk,
        actor,
        shown: &shown,
    };
    match action {
        Action::AssignProvince { message, province } => {
            let code = ctx.province_code(&province)?;
            ctx.refile(reg, message, Refile::Province(code))
        }
        Action::ReleaseHeld { message } => ctx.refile(reg, message, Refile::Release),
        Action::Reprocess { message } => ctx.refile(reg, message, Refile::Again),
        Action::RejectHeld { message, notify } => ctx.reject_held(reg, message, notify),
        Action::AcceptLate { receipt, batch } => ctx.decide_late(reg, &receipt, Some(batch)),
        Action::RejectLate { receipt } => ctx.decide_late(reg, &receipt, None),
        Action::MarkHandled {
            message,
            note,
            reply,
        } => ctx.mark_handled(reg, message, &note, reply),
        Action::Resend { outbox, to } => ctx.resend(reg, outbox, to.as_deref()),
        Action::CloseMail { outbox, note } => ctx.close_mail(reg, outbox, &note),
        Action::ReleaseMail { outbox } => ctx.release_mail(reg, outbox),
        Action::Withdraw { receipt, note } => ctx.withdraw(reg, &receipt, &note),
        Action::Note { target, text } => ctx.note(reg, target, &text),
    }
}

/// Commits an action's transaction. A debug build may pause first (see [`PAUSE_ENV`]).
fn commit(tx: Tx) -> Result<(), DeskError> {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var(PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        eprintln!("{PAUSE_MARK}");
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    tx.commit()?;
    Ok(())
}

enum Refile {
    Province(String),
    Release,
    Again,
}

struct Ctx<'a> {
    desk: &'a Desk,
    actor: &'a str,
    shown: &'a [AttentionItem],
}

fn entry_json(e: &EntryRow, d: Option<&LateDecision>) -> Value {
    json!({
        "receipt": e.receipt,
        "status": e.status,
        "province": e.province,
        "batch": e.batch,
        "late": e.late,
        "superseded_by": e.superseded_by,
        "withdrawn_at": e.withdrawn_at,
        "late_decision": d.map(|d| json!({"decision": d.decision, "batch": d.batch, "by": d.by, "at": d.at})),
    })
}

fn mail_json(m: &DeskMail) -> Value {
    json!({
        "id": m.id,
        "purpose": m.purpose,
        "state": m.state,
        "recipients": m.recipients,
        "resends": m.resends,
        "released_at": m.released_at,
    })
}

fn message_json(tx: &Tx, m: &DeskMessage) -> Result<Value, DeskError> {
    let entries: Vec<Value> = tx
        .current_entries_of(m.id)?
        .iter()
        .map(|e| entry_json(e, None))
        .collect();
    Ok(json!({
        "id": m.id,
        "state": m.state.as_str(),
        "province": m.province,
        "batch": m.batch,
        "codes": m.codes,
        "entries": entries,
    }))
}

fn has_code(m: &DeskMessage, codes: &[Code]) -> bool {
    m.codes.iter().any(|c| codes.iter().any(|k| k.key() == c))
}

impl Ctx<'_> {
    fn audit(
        &self,
        tx: &Tx,
        action: ActionKind,
        object: &str,
        before: &Value,
        after: &Value,
        note: Option<&str>,
    ) -> Result<i64, DeskError> {
        Ok(tx.audit(&NewAudit {
            actor: self.actor,
            action: action.key(),
            object,
            before: before.to_string(),
            after: after.to_string(),
            note: note.filter(|n| !n.trim().is_empty()),
        })?)
    }

    /// Records the shown items with these keys as resolved by this action.
    fn resolve(
        &self,
        tx: &Tx,
        keys: &[String],
        how: ActionKind,
        audit: i64,
    ) -> Result<Vec<String>, DeskError> {
        let mut done = Vec::new();
        for key in keys {
            let Some(item) = self.shown.iter().find(|i| &i.key == key) else {
                continue;
            };
            let json = serde_json::to_string(item).expect("items serialise");
            if tx.resolve(key, item.kind.key(), &json, self.actor, how.key(), audit)? {
                done.push(key.clone());
            }
        }
        Ok(done)
    }

    /// Open items of a message among `kinds` (shown and not yet resolved).
    fn open_of(&self, tx: &Tx, message: i64, kinds: &[K]) -> Result<Vec<String>, DeskError> {
        let mut keys = Vec::new();
        for i in self.shown {
            if i.message == Some(message)
                && kinds.contains(&i.kind)
                && tx.resolution(&i.key)?.is_none()
            {
                keys.push(i.key.clone());
            }
        }
        Ok(keys)
    }

    fn summary(&self, action: ActionKind, params: Value) -> String {
        self.desk.wording.summary(action, &params)
    }

    fn province_code(&self, p: &str) -> Result<String, DeskError> {
        let c = &self.desk.intake.campaign;
        let p = p.trim();
        if let Some(found) = c.province_typed(p) {
            return Ok(found.code.clone());
        }
        match c.province_in_text(p) {
            Some(code) if !p.is_empty() => Ok(code.to_string()),
            _ => Err(DeskError::UnknownProvince(p.to_string())),
        }
    }

    fn message(&self, tx: &Tx, id: i64) -> Result<DeskMessage, DeskError> {
        tx.desk_message(id)?
            .ok_or_else(|| DeskError::NotFound(format!("来信 {id}")))
    }

    /// A notice to the sender of a message, from desk.toml, queued in `tx`.
    fn notice(
        &self,
        tx: &Tx,
        m: &DeskMessage,
        mail: &str,
        mut params: Value,
    ) -> Result<i64, DeskError> {
        let intake = &self.desk.intake;
        let (settings, info) = (&intake.settings, &intake.campaign.info);
        let to = m
            .sender
            .clone()
            .filter(|s| s.contains('@'))
            .ok_or(DeskError::NoSender(m.id))?;
        let w = &self.desk.wording;
        params["subject"] = json!(m
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| w.phrase("no_subject").to_string()));
        params["campaign"] = json!(info.short_name);
        params["campaign_title"] = json!(info.title);
        params["contact"] = json!(info.contact);
        params["own_address"] = json!(settings.own_address);
        let text = w.body(mail, &params);
        let html = format!(
            "<!DOCTYPE html><html><body>{}</body></html>",
            text.lines()
                .map(|l| format!("<p>{}</p>", handlebars::html_escape(l)))
                .collect::<String>()
        );
        let message_id = crate::mail::new_message_id(&format!("d{}", m.id), &settings.own_address);
        let out = crate::mail::Outgoing {
            from: settings.own_address.clone(),
            from_name: Some(settings.own_name.clone()).filter(|n| !n.trim().is_empty()),
            to: vec![to.clone()],
            cc: Vec::new(),
            subject: w.subject(mail, &params),
            text,
            html,
            message_id: message_id.clone(),
            in_reply_to: m.message_id.clone(),
            references: m.message_id.iter().cloned().collect(),
            headers: crate::mail::automatic_headers(
                crate::mail::Automatic::Replied,
                &settings.loop_header,
                &settings.own_address,
            ),
            attachments: Vec::new(),
        };
        let bytes = crate::mail::encode(&out).map_err(|e| DeskError::Render(e.to_string()))?;
        let mut recipients = vec![to];
        recipients.extend(settings.staff_copies.iter().cloned());
        Ok(tx.enqueue(&QueuedMail {
            message: Some(m.id),
            purpose: Purpose::Reply,
            message_id,
            envelope_from: settings.own_address.clone(),
            recipients,
            body: bytes,
            held: None,
        })?)
    }

    /// Files a stored message again with staff's decisions (the ones recorded before, and
    /// this one): AssignProvince, ReleaseHeld, Reprocess.
    ///
    /// Filing again resolves only the items the new filing no longer has: a file still
    /// unreadable, or a message still without a form, stays in the queue, as it would
    /// after the first filing. Everything commits together.
    fn refile(&self, reg: &mut Registry, id: i64, how: Refile) -> Result<Done, DeskError> {
        let raw = reg
            .raw_message(id)?
            .ok_or_else(|| DeskError::NotFound(format!("来信 {id}")))?;
        let (_, arrived) = reg.message_source(id)?.unwrap_or_default();
        reg.atomically(|reg| self.refile_in(reg, id, how, &raw, arrived.as_deref()))
    }

    fn refile_in(
        &self,
        reg: &mut Registry,
        id: i64,
        how: Refile,
        raw: &[u8],
        arrived: Option<&str>,
    ) -> Result<Done, DeskError> {
        let tx = reg.begin()?;
        let m = self.message(&tx, id)?;
        let (action, keys) = match &how {
            Refile::Province(_) => {
                if !has_code(&m, &HELD_PROVINCE_CODES) {
                    return Err(DeskError::NotHeld(id));
                }
                (
                    ActionKind::AssignProvince,
                    vec![attention::held_province_key(id)],
                )
            }
            Refile::Release => {
                if !has_code(&m, &[Code::AuthenticationFailed]) {
                    return Err(DeskError::NotHeld(id));
                }
                (ActionKind::ReleaseHeld, vec![attention::held_auth_key(id)])
            }
            Refile::Again => {
                let keys = self
                    .shown
                    .iter()
                    .filter(|i| {
                        i.message == Some(id)
                            && matches!(
                                i.kind,
                                K::Quarantined
                                    | K::HeldProvince
                                    | K::LinkOnly
                                    | K::NoAttachment
                                    | K::UnreadableFile
                            )
                    })
                    .map(|i| i.key.clone())
                    .collect();
                (ActionKind::Reprocess, keys)
            }
        };
        // What staff decided about this message before still holds when it is filed again.
        let mut decision = Decision::default();
        for (d, detail) in tx.message_decisions(id)? {
            match d.as_str() {
                "province_assigned" => decision.province = detail,
                "released" => decision.release_auth = true,
                _ => {}
            }
        }
        match &how {
            Refile::Province(p) => decision.province = Some(p.clone()),
            Refile::Release => decision.release_auth = true,
            Refile::Again => {}
        }
        let before = message_json(&tx, &m)?;
        let max = tx.max_entry_id()?;
        let filed = self
            .desk
            .intake
            .refile(&tx, id, raw, arrived, &decision)
            .map_err(|e| match e {
                IntakeError::Registry(e) => DeskError::Database(e),
                IntakeError::Unparsable => DeskError::Unparsable(id),
                IntakeError::Render(e) => DeskError::Render(e),
            })?;
        tx.supersede_held(id, max)?;
        let after_m = self.message(&tx, id)?;
        let after = message_json(&tx, &after_m)?;
        let object = format!("message:{id}");
        let audit = self.audit(&tx, action, &object, &before, &after, None)?;
        match &how {
            Refile::Province(p) => {
                tx.message_decision(id, "province_assigned", Some(p), self.actor, audit)?
            }
            Refile::Release => tx.message_decision(id, "released", None, self.actor, audit)?,
            Refile::Again => tx.message_decision(id, "reprocessed", None, self.actor, audit)?,
        }
        let mut queued = Vec::new();
        if let Some(mid) = filed.json["reply"]["message_id"].as_str() {
            queued.extend(tx.outbox_id(mid)?);
        }
        let count = tx
            .current_entries_of(id)?
            .iter()
            .filter(|e| e.id > max)
            .count();
        let tx = match how {
            Refile::Again => {
                // Inside `atomically`: the new filing is seen, not yet committed.
                commit(tx)?;
                let still: Vec<String> =
                    attention::current(self.desk, reg, attention::Scope::Message(id))?
                        .into_iter()
                        .map(|i| i.key)
                        .collect();
                let tx = reg.begin()?;
                let fixed: Vec<String> = keys.into_iter().filter(|k| !still.contains(k)).collect();
                self.resolve(&tx, &fixed, action, audit)?;
                tx
            }
            _ => {
                self.resolve(&tx, &keys, action, audit)?;
                tx
            }
        };
        commit(tx)?;
        let province = after_m
            .province
            .as_deref()
            .and_then(|p| self.desk.intake.campaign.province(p))
            .map(|p| p.name.clone());
        Ok(Done {
            audit,
            summary: self.summary(
                action,
                json!({"message": id, "province": province, "count": count, "queued": !queued.is_empty()}),
            ),
            queued,
            result: Some(filed.json),
        })
    }

    fn reject_held(&self, reg: &mut Registry, id: i64, notify: bool) -> Result<Done, DeskError> {
        let tx = reg.begin()?;
        let m = self.message(&tx, id)?;
        let mut keys = Vec::new();
        if has_code(&m, &HELD_PROVINCE_CODES) {
            keys.push(attention::held_province_key(id));
        }
        if has_code(&m, &[Code::AuthenticationFailed]) {
            keys.push(attention::held_auth_key(id));
        }
        if keys.is_empty() {
            return Err(DeskError::NotHeld(id));
        }
        let mut open = Vec::new();
        let mut earlier = None;
        for k in &keys {
            match tx.resolution(k)? {
                Some(r) => earlier = Some(r),
                None => open.push(k.clone()),
            }
        }
        if open.is_empty() {
            let r = earlier.expect("keys were all resolved");
            return Err(DeskError::AlreadyResolved {
                what: format!("来信 {id}"),
                by: r.by,
                at: r.at,
            });
        }
        let before = message_json(&tx, &m)?;
        let mut queued = Vec::new();
        if notify {
            queued.push(self.notice(&tx, &m, "reject_held", json!({"note": ""}))?);
        }
        let mut after = before.clone();
        after["decision"] = json!("rejected");
        after["notified"] = json!(notify);
        let object = format!("message:{id}");
        let audit = self.audit(&tx, ActionKind::RejectHeld, &object, &before, &after, None)?;
        tx.message_decision(id, "rejected", None, self.actor, audit)?;
        self.resolve(&tx, &open, ActionKind::RejectHeld, audit)?;
        commit(tx)?;
        Ok(Done {
            audit,
            summary: self.summary(
                ActionKind::RejectHeld,
                json!({"message": id, "queued": !queued.is_empty()}),
            ),
            queued,
            result: None,
        })
    }

    /// The current version of an entry by receipt, not withdrawn.
    fn live_entry(&self, tx: &Tx, receipt: &str) -> Result<EntryRow, DeskError> {
        let receipt = receipt.trim();
        let e = tx
            .entry_by_receipt(receipt)?
            .ok_or_else(|| DeskError::NotFound(format!("回执号 {receipt}")))?;
        if e.withdrawn_at.is_some() {
            return Err(DeskError::Withdrawn(e.receipt));
        }
        if e.superseded_by.is_some() {
            return Err(DeskError::Superseded(e.receipt));
        }
        Ok(e)
    }

    /// AcceptLate (a batch given) or RejectLate.
    fn decide_late(
        &self,
        reg: &mut Registry,
        receipt: &str,
        batch: Option<u8>,
    ) -> Result<Done, DeskError> {
        let action = if batch.is_some() {
            ActionKind::AcceptLate
        } else {
            ActionKind::RejectLate
        };
        let campaign = &self.desk.intake.campaign;
        let batch_name = match batch {
            Some(b) => Some(
                campaign
                    .batch(b)
                    .ok_or(DeskError::BadBatch(b))?
                    .name
                    .clone(),
            ),
            None => None,
        };
        let tx = reg.begin()?;
        let e = self.live_entry(&tx, receipt)?;
        if let Some(d) = tx.late_decision(e.id)? {
            return Err(DeskError::AlreadyResolved {
                what: e.receipt,
                by: d.by,
                at: d.at,
            });
        }
        if !e.late {
            return Err(DeskError::NotLate(e.receipt));
        }
        let m = self.message(&tx, e.message)?;
        let before = entry_json(&e, None);
        let object = format!("entry:{}", e.receipt);
        // The audit row first: the decision points at it. Its `after` is what the decision
        // makes, written out here and checked against the row below.
        let mut after = before.clone();
        let audit_after = |after: &mut Value, d: &LateDecision| {
            after["late_decision"] =
                json!({"decision": d.decision, "batch": d.batch, "by": d.by, "at": d.at});
        };
        let planned = LateDecision {
            decision: if batch.is_some() {
                "accepted"
            } else {
                "rejected"
            }
            .into(),
            batch,
            by: self.actor.to_string(),
            at: crate::registry::now(),
        };
        audit_after(&mut after, &planned);
        if let Some(b) = batch {
            after["batch"] = json!(b);
            after["late"] = json!(false);
        }
        let audit = self.audit(&tx, action, &object, &before, &after, None)?;
        tx.decide_late(e.id, batch.is_some(), batch, self.actor, audit)?;
        let mail = if batch.is_some() {
            "accept_late"
        } else {
            "reject_late"
        };
        let name = crate::reply::book_title(&e.name);
        let mut queued = Vec::new();
        if m.sender.as_deref().is_some_and(|s| s.contains('@')) {
            queued.push(self.notice(
                &tx,
                &m,
                mail,
                json!({"receipt": e.receipt, "name": name, "batch": batch_name, "note": ""}),
            )?);
        }
        self.resolve(&tx, &[attention::late_key(&e.receipt)], action, audit)?;
        commit(tx)?;
        Ok(Done {
            audit,
            summary: self.summary(
                action,
                json!({"receipt": e.receipt, "batch": batch_name, "queued": !queued.is_empty()}),
            ),
            queued,
            result: None,
        })
    }

    fn mark_handled(
        &self,
        reg: &mut Registry,
        id: i64,
        note: &str,
        reply: bool,
    ) -> Result<Done, DeskError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(DeskError::EmptyNote);
        }
        let tx = reg.begin()?;
        let m = self.message(&tx, id)?;
        let open = self.open_of(
            &tx,
            id,
            &[
                K::LinkOnly,
                K::NoAttachment,
                K::UnreadableFile,
                K::Quarantined,
                K::Bounce,
            ],
        )?;
        if open.is_empty() {
            return Err(DeskError::NothingToHandle(id));
        }
        let before = json!({"id": id, "open": open});
        let mut queued = Vec::new();
        if reply {
            queued.push(self.notice(&tx, &m, "handled", json!({"note": note}))?);
        }
        let after = json!({"id": id, "handled": open, "replied": reply});
        let object = format!("message:{id}");
        let audit = self.audit(
            &tx,
            ActionKind::MarkHandled,
            &object,
            &before,
            &after,
            Some(note),
        )?;
        tx.message_decision(id, "handled", Some(note), self.actor, audit)?;
        let done = self.resolve(&tx, &open, ActionKind::MarkHandled, audit)?;
        commit(tx)?;
        Ok(Done {
            audit,
            summary: self.summary(
                ActionKind::MarkHandled,
                json!({"message": id, "count": done.len(), "queued": !queued.is_empty()}),
            ),
            queued,
            result: None,
        })
    }

    fn mail(&self, tx: &Tx, id: i64) -> Result<DeskMail, DeskError> {
        tx.desk_mail(id)?
            .ok_or_else(|| DeskError::NotFound(format!("邮件 {id}")))
    }

    fn resend(&self, reg: &mut Registry, id: i64, to: Option<&str>) -> Result<Done, DeskError> {
        let to = to.map(str::trim).filter(|t| !t.is_empty());
        if let Some(t) = to {
            if !t.contains('@') || crate::mail::check_address(t).is_err() {
                return Err(DeskError::BadAddress(t.to_string()));
            }
        }
        let tx = reg.begin()?;
        let mail = self.mail(&tx, id)?;
        if !matches!(mail.state.as_str(), "failed" | "unknown" | "sent") {
            return Err(DeskError::BadState {
                id,
                state: mail.state,
                needs: "发送失败、投递不明或已发送",
            });
        }
        let row = tx
            .outbox_row(id)?
            .ok_or_else(|| DeskError::NotFound(format!("邮件 {id}")))?;
        let settings = &self.desk.intake.settings;
        let message_id = crate::mail::new_message_id(&format!("s{id}"), &settings.own_address);
        let body = crate::mail::readdress(&row.body, &message_id, to)
            .map_err(|e| DeskError::Render(e.to_string()))?;
        let recipients = match to {
            Some(t) => vec![t.to_string()],
            None => row.recipients.clone(),
        };
        let new = tx.enqueue(&QueuedMail {
            message: row.message,
            purpose: row.purpose,
            message_id,
            envelope_from: row.envelope_from.clone(),
            recipients: recipients.clone(),
            body,
            held: None,
        })?;
        tx.set_resends(new, id)?;
        let before = mail_json(&mail);
        let mut after = before.clone();
        after["resent_as"] = json!(new);
        after["resent_to"] = json!(recipients);
        let object = format!("outbox:{id}");
        let audit = self.audit(&tx, ActionKind::Resend, &object, &before, &after, None)?;
        // The mail's own item, and the bounces that returned it.
        let mut keys = vec![attention::outbox_key(id, &mail.state)];
        keys.extend(
            self.shown
                .iter()
                .filter(|i| i.kind == K::Bounce && i.outbox == Some(id))
                .map(|i| i.key.clone()),
        );
        self.resolve(&tx, &keys, ActionKind::Resend, audit)?;
        commit(tx)?;
        let sep = self.desk.wording.phrase("separator");
        Ok(Done {
            audit,
            summary: self.summary(
                ActionKind::Resend,
                json!({"outbox": id, "to": recipients.join(sep), "queued": new}),
            ),
            queued: vec![new],
            result: None,
        })
    }

    fn close_mail(&self, reg: &mut Registry, id: i64, note: &str) -> Result<Done, DeskError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(DeskError::EmptyNote);
        }
        let tx = reg.begin()?;
        let mail = self.mail(&tx, id)?;
        let open_states = ["failed", "unknown", "capped", "held"];
        if !open_states.contains(&mail.state.as_str()) {
            return Err(DeskError::BadState {
                id,
                state: mail.state,
                needs: "发送失败、投递不明或被拦下",
            });
        }
        let key = attention::outbox_key(id, &mail.state);
        if let Some(r) = tx.resolution(&key)? {
            return Err(DeskError::AlreadyResolved {
                what: format!("邮件 {id}"),
                by: r.by,
                at: r.at,
            });
        }
        let before = mail_json(&mail);
        let mut after = before.clone();
        after["closed"] = json!(true);
        let object = format!("outbox:{id}");
        let audit = self.audit(
            &tx,
            ActionKind::CloseMail,
            &object,
            &before,
            &after,
            Some(note),
        )?;
        self.resolve(&tx, &[key], ActionKind::CloseMail, audit)?;
        commit(tx)?;
        Ok(Done {
            audit,
            summary: self.summary(ActionKind::CloseMail, json!({"outbox": id})),
            queued: Vec::new(),
            result: None,
        })
    }

    fn release_mail(&self, reg: &mut Registry, id: i64) -> Result<Done, DeskError> {
        let tx = reg.begin()?;
        let mail = self.mail(&tx, id)?;
        if !attention::HELD_MAIL_STATES.contains(&mail.state.as_str()) {
            return Err(DeskError::BadState {
                id,
                state: mail.state,
                needs: "被防循环上限拦下",
            });
        }
        let before = mail_json(&mail);
        tx.release_mail(id)?;
        let after = mail_json(&self.mail(&tx, id)?);
        let object = format!("outbox:{id}");
        let audit = self.audit(&tx, ActionKind::ReleaseMail, &object, &before, &after, None)?;
        self.resolve(
            &tx,
            &[attention::outbox_key(id, &mail.state)],
            ActionKind::ReleaseMail,
            audit,
        )?;
        commit(tx)?;
        Ok(Done {
            audit,
            summary: self.summary(ActionKind::ReleaseMail, json!({"outbox": id})),
            queued: vec![id],
            result: None,
        })
    }

    fn withdraw(&self, reg: &mut Registry, receipt: &str, note: &str) -> Result<Done, DeskError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(DeskError::EmptyNote);
        }
        let tx = reg.begin()?;
        let e = self.live_entry(&tx, receipt)?;
        let d = tx.late_decision(e.id)?;
        let before = entry_json(&e, d.as_ref());
        tx.withdraw_entry(e.id)?;
        let after_row = self.live_entry_any(&tx, &e.receipt)?;
        let after = entry_json(&after_row, d.as_ref());
        let object = format!("entry:{}", e.receipt);
        let audit = self.audit(
            &tx,
            ActionKind::Withdraw,
            &object,
            &before,
            &after,
            Some(note),
        )?;
        self.resolve(
            &tx,
            &[attention::late_key(&e.receipt)],
            ActionKind::Withdraw,
            audit,
        )?;
        commit(tx)?;
        Ok(Done {
            audit,
            summary: self.summary(ActionKind::Withdraw, json!({"receipt": e.receipt})),
            queued: Vec::new(),
            result: None,
        })
    }

    fn live_entry_any(&self, tx: &Tx, receipt: &str) -> Result<EntryRow, DeskError> {
        tx.entry_by_receipt(receipt)?
            .ok_or_else(|| DeskError::NotFound(format!("回执号 {receipt}")))
    }

    fn note(
        &self,
        reg: &mut Registry,
        target: super::NoteTarget,
        text: &str,
    ) -> Result<Done, DeskError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DeskError::EmptyNote);
        }
        let tx = reg.begin()?;
        let object = match &target {
            super::NoteTarget::Entry(r) => {
                let e = self.live_entry_any(&tx, r.trim())?;
                format!("entry:{}", e.receipt)
            }
            super::NoteTarget::Message(id) => {
                self.message(&tx, *id)?;
                format!("message:{id}")
            }
        };
        let before = json!({});
        let after = json!({"note": text});
        let audit = self.audit(&tx, ActionKind::Note, &object, &before, &after, Some(text))?;
        tx.add_note(&object, text, self.actor, audit)?;
        commit(tx)?;
        Ok(Done {
            audit,
            summary: self.summary(ActionKind::Note, json!({})),
            queued: Vec::new(),
            result: None,
        })
    }
}
