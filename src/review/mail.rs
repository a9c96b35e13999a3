//! Review mail, all through the outbox (queued rows, `Auto-Submitted: auto-generated`,
//! our loop header, purpose `review`, under the per-recipient daily cap): at publication
//! one invitation per expert listing all their entries with the score sheet attached;
//! reminders 3 days before, on and 3 days after the due date, only to experts with
//! unfinished reviews; one mail to staff when a round is complete; at the publication of
//! decisions one mail per province; and the receipt for a score sheet mailed back.
//!
//! Never one mail per entry. An expert gets at most one invitation or reminder a day
//! (`review_mail`, keyed by address and day in the campaign's time zone). Each reminder
//! day is a once-only slot in the report's `report_slots` (`review:{round}:{day}`), claimed
//! in the transaction that queues its mail, so a restart or a second look never sends it
//! twice; a reminder day missed while lndx was down is recorded, not sent late (its words
//! would be wrong). The clock is the caller's (`lndx review remind --at`, the scheduler's).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde_json::{json, Value};

use super::sheet::{self, Filled, KindPart, SheetSpec};
use super::wording::{html, Wording};
use super::{validate_scores, Result, ReviewError, Rubric, ScoreInput};
use crate::campaign::Campaign;
use crate::mail::{self, OutAttachment, Outgoing};
use crate::queued::Purpose;
use crate::registry::{NewReview, QueuedMail, Registry, Tx};
use crate::report::Sender;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The hour (campaign time) at which a reminder day's slot opens.
const REMINDER_HOUR: u32 = 9;

/// What review mail needs: the campaign, the rubric, the wording and who sends.
pub struct Mailer<'a> {
    pub campaign: &'a Campaign,
    pub rubric: &'a Rubric,
    pub wording: &'a Wording,
    /// lndx's address, name and loop header; `to` and `cc` are the staff.
    pub sender: &'a Sender,
    /// Sign-in links to the console for invitations and reminders (None: the mail says
    /// to use the score sheet).
    pub sign_in: Option<&'a SignIn>,
}

/// How review mail gets a sign-in link for an expert's account: the console's own
/// function (single use, expiring, only its hash stored), handed down by the command layer
/// that knows the public address. Each mail gets a fresh link.
pub struct SignIn {
    /// How long a link is valid, in hours (said in the mail).
    pub hours: u32,
    /// Makes a link for an account id.
    pub make: MakeLink,
}

/// Makes a sign-in link for an account id (the error as text).
pub type MakeLink =
    Box<dyn Fn(&Registry, i64) -> std::result::Result<String, String> + Send + Sync>;

/// An assigned entry as the mail lists it: (receipt, kind key, entry name).
type Listed = (String, String, String);
/// Per expert address: their id, name and assigned entries.
type PerExpert = BTreeMap<String, (i64, String, Vec<Listed>)>;

/// A reminder to be sent if the expert's review mail of the day can still be claimed: its
/// wording's parameters, all but the sign-in link, which is made only for a mail that goes.
struct PendingReminder {
    email: String,
    params: Value,
}

/// A mail queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub to: Vec<String>,
    pub subject: String,
    pub outbox: i64,
}

impl Mailer<'_> {
    fn day(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.campaign.tz).date_naive()
    }

    fn batch_name(&self, batch: u8) -> String {
        self.campaign
            .batch(batch)
            .map(|b| b.name.clone())
            .unwrap_or_else(|| batch.to_string())
    }

    /// The sign-in sentence of an expert's mail: a fresh link to their account, or what
    /// to do without one (no console configured, no usable expert account).
    fn sign_in_text(&self, reg: &Registry, email: &str) -> Result<String> {
        let user = super::expert_user(reg, email)?;
        match (self.sign_in, user) {
            (Some(si), Some(id)) => {
                let link = (si.make)(reg, id).map_err(ReviewError::Mail)?;
                Ok(self.wording.sign_in(&link, si.hours))
            }
            _ => Ok(self.wording.when("sign_in_pending").to_string()),
        }
    }

    fn kind_name(&self, key: &str) -> String {
        self.campaign
            .kind(key)
            .map(|k| self.campaign.kind_info(k).short.clone())
            .unwrap_or_else(|| key.to_string())
    }

    /// Encodes a mail of ours and wraps it for the outbox.
    fn mail(
        &self,
        to: Vec<String>,
        subject: String,
        text: String,
        attachments: Vec<OutAttachment>,
        in_reply_to: Option<String>,
    ) -> Result<QueuedMail> {
        let message_id = mail::new_message_id("review", &self.sender.address);
        let out = Outgoing {
            from: self.sender.address.clone(),
            from_name: Some(self.sender.name.clone()),
            to: to.clone(),
            cc: Vec::new(),
            subject,
            html: html(&text),
            text,
            message_id: message_id.clone(),
            in_reply_to: in_reply_to.clone(),
            references: in_reply_to.into_iter().collect(),
            headers: mail::automatic_headers(
                mail::Automatic::Generated,
                &self.sender.loop_header,
                &self.sender.address,
            ),
            attachments,
        };
        let body = mail::encode(&out).map_err(|e| ReviewError::Mail(e.to_string()))?;
        Ok(QueuedMail {
            message: None,
            purpose: Purpose::Review,
            message_id,
            envelope_from: self.sender.address.clone(),
            recipients: to,
            body,
            held: None,
        })
    }

    /// Per expert (by e-mail): their assigned entries in force, as (receipt, kind, name).
    fn per_expert(&self, reg: &Registry, round: i64) -> Result<PerExpert> {
        let entries: HashMap<String, (String, String)> = reg
            .round_entries(round)?
            .into_iter()
            .map(|e| (e.receipt, (e.kind, e.name)))
            .collect();
        let experts: HashMap<i64, (String, String)> = reg
            .experts()?
            .into_iter()
            .map(|x| (x.id, (x.email, x.name)))
            .collect();
        let mut out: PerExpert = BTreeMap::new();
        for a in reg.assignments(round)? {
            let (Some((email, name)), Some((kind, title))) =
                (experts.get(&a.expert), entries.get(&a.receipt))
            else {
                continue;
            };
            out.entry(email.clone())
                .or_insert_with(|| (a.expert, name.clone(), Vec::new()))
                .2
                .push((a.receipt.clone(), kind.clone(), title.clone()));
        }
        Ok(out)
    }

    /// The score sheet for an expert's entries.
    pub fn sheet_for(
        &self,
        round: i64,
        expert: &str,
        entries: &[(String, String, String)],
    ) -> Result<Vec<u8>> {
        let mut parts: Vec<KindPart> = Vec::new();
        for kind in self.campaign.kinds() {
            let mine: Vec<(String, String)> = entries
                .iter()
                .filter(|(_, k, _)| k == kind.key())
                .map(|(r, _, n)| (r.clone(), n.clone()))
                .collect();
            if mine.is_empty() {
                continue;
            }
            parts.push(KindPart {
                sheet: self.campaign.kind_info(kind).short.clone(),
                kind: kind.key().to_string(),
                criteria: self.rubric.criteria(kind).to_vec(),
                entries: mine,
            });
        }
        sheet::write(
            &SheetSpec {
                round,
                expert: expert.to_string(),
                recommendations: self.rubric.settings.recommendations.clone(),
                parts,
            },
            &self.wording.sheet_words(),
        )
        .map_err(|e| ReviewError::Mail(e.to_string()))
    }

    /// Publishes a round and queues one invitation per expert, in one transaction.
    pub fn publish(
        &self,
        reg: &mut Registry,
        round: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Queued>> {
        let r = super::round(reg, round)?;
        if r.state != "draft" || reg.assignments(round)?.is_empty() {
            return Err(ReviewError::WrongState {
                round,
                state: r.state,
                action: "发布（须为已分配的草案）",
            });
        }
        let day = self.day(now).format("%Y-%m-%d").to_string();
        let mut mails = Vec::new();
        for (email, (_, name, entries)) in self.per_expert(reg, round)? {
            let filename = self.wording.sheet_filename(round);
            let params = json!({
                "name": name,
                "short_name": self.campaign.info.short_name,
                "batch_name": self.batch_name(r.batch),
                "due": crate::text::date_cn(&r.due),
                "count": entries.len(),
                "entries": entries.iter().map(|(rc, k, t)| json!({"receipt": rc, "kind": self.kind_name(k), "title": t})).collect::<Vec<_>>(),
                "sheet": filename,
                "sign_in": self.sign_in_text(reg, &email)?,
                "round": round,
            });
            let bytes = self.sheet_for(round, &email, &entries)?;
            let m = self.mail(
                vec![email.clone()],
                self.wording.subject("invitation", &params),
                self.wording.text("invitation", &params),
                vec![OutAttachment {
                    filename,
                    content_type: XLSX_TYPE.into(),
                    bytes,
                }],
                None,
            )?;
            mails.push((email, m));
        }
        let tx = reg.begin()?;
        tx.set_round_state(round, "published")?;
        let mut out = Vec::new();
        for (email, m) in mails {
            let claimed = tx.claim_review_mail(&email, &day, round, "invitation")?;
            let id = tx.enqueue(&m)?;
            if claimed {
                tx.set_review_mail_outbox(&email, &day, id)?;
            }
            out.push(Queued {
                to: m.recipients.clone(),
                subject: String::new(),
                outbox: id,
            });
        }
        tx.commit()?;
        Ok(out)
    }

    /// The reminder days of a due date: 3 days before, on, 3 days after, with their
    /// wording key.
    pub fn reminder_days(due: NaiveDate) -> [(NaiveDate, &'static str); 3] {
        [
            (due - chrono::Duration::days(3), "before"),
            (due, "on"),
            (due + chrono::Duration::days(3), "after"),
        ]
    }

    /// One look at the clock for every published round: a reminder day whose hour has come
    /// and whose slot is not yet taken is claimed; when it is today, the experts with
    /// unfinished reviews get a reminder (at most one review mail a day each). Also sends
    /// the staff's "complete" mail of a round all of whose reviews are submitted. Returns
    /// what was queued.
    /// A round that fails (a link that cannot be made, a sheet that cannot be written) is
    /// logged and does not hold up the others; the first failure is returned after every
    /// round was looked at.
    pub fn tick(&self, reg: &mut Registry, now: DateTime<Utc>) -> Result<Vec<Queued>> {
        let mut out = Vec::new();
        let mut failed = None;
        for r in reg.published_rounds()? {
            match self.tick_round(reg, &r, now) {
                Ok(queued) => out.extend(queued),
                Err(e) => {
                    tracing::error!(round = r.id, error = %e, "review mail of a round failed");
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// [`Mailer::tick`] for one round.
    fn tick_round(
        &self,
        reg: &mut Registry,
        r: &crate::registry::RoundRow,
        now: DateTime<Utc>,
    ) -> Result<Vec<Queued>> {
        let mut out = Vec::new();
        let today = self.day(now);
        out.extend(self.complete_mail(reg, r.id)?);
        let Ok(due) = NaiveDate::parse_from_str(&r.due, "%Y-%m-%d") else {
            return Ok(out);
        };
        let opened = |d: NaiveDate| {
            let t = d.and_time(NaiveTime::from_hms_opt(REMINDER_HOUR, 0, 0).expect("hour"));
            self.campaign
                .tz
                .from_local_datetime(&t)
                .earliest()
                .map(|t| t.with_timezone(&Utc) <= now)
                .unwrap_or(false)
        };
        let Some((day, when)) = Self::reminder_days(due)
            .into_iter()
            .rev()
            .find(|(d, _)| opened(*d))
        else {
            return Ok(out);
        };
        let key = format!("review:{}:{}", r.id, day.format("%Y-%m-%d"));
        if reg.report_slot_taken(&key)? {
            return Ok(out);
        }
        let pending = if day == today {
            self.reminder_mails(reg, r, when)?
        } else {
            Vec::new()
        };
        // The day's slot, each expert's daily mail, the sign-in links and the queued mail:
        // all or nothing.
        let queued = reg.atomically(|reg| {
            let tx = reg.begin()?;
            let claimed = tx.claim_review_slot(&key)?;
            tx.commit()?;
            if !claimed {
                return Ok(Vec::new());
            }
            let (queued, left_out) = self.queue_reminders(reg, pending, today, r.id)?;
            for email in left_out {
                tracing::info!(round = r.id, expert = %email, "review mail already sent today; reminder left out");
            }
            Ok::<_, ReviewError>(queued)
        })?;
        out.extend(queued);
        if day != today {
            tracing::info!(round = r.id, day = %day, "a reminder day passed while lndx was not running; not sent late");
        }
        Ok(out)
    }

    /// The reminders of a round, one per expert with unfinished reviews, worded with the
    /// `when` phrase; [`Mailer::queue_reminders`] sends those that may go.
    fn reminder_mails(
        &self,
        reg: &Registry,
        r: &crate::registry::RoundRow,
        when: &str,
    ) -> Result<Vec<PendingReminder>> {
        let submitted: Vec<(String, i64)> = reg
            .current_reviews(r.id)?
            .into_iter()
            .filter(|v| v.submitted)
            .map(|v| (v.receipt, v.expert))
            .collect();
        let mut pending = Vec::new();
        for (email, (id, name, entries)) in self.per_expert(reg, r.id)? {
            let open: Vec<&(String, String, String)> = entries
                .iter()
                .filter(|(rc, _, _)| !submitted.contains(&(rc.clone(), id)))
                .collect();
            if open.is_empty() {
                continue;
            }
            let params = json!({
                "name": name,
                "batch_name": self.batch_name(r.batch),
                "due": crate::text::date_cn(&r.due),
                "unfinished": open.len(),
                "when": self.wording.when(when),
                "entries": open.iter().map(|(rc, k, t)| json!({"receipt": rc, "kind": self.kind_name(k), "title": t})).collect::<Vec<_>>(),
                "round": r.id,
            });
            pending.push(PendingReminder { email, params });
        }
        Ok(pending)
    }

    /// Queues reminders of `day`, each only when the expert's one review mail of that day
    /// can still be claimed (those who had one are returned second, not mailed); the
    /// sign-in link of each is made after its claim, so no link is made for a mail that
    /// does not go. Claims, links and mail commit together.
    fn queue_reminders(
        &self,
        reg: &mut Registry,
        pending: Vec<PendingReminder>,
        day: NaiveDate,
        round: i64,
    ) -> Result<(Vec<Queued>, Vec<String>)> {
        let d = day.format("%Y-%m-%d").to_string();
        reg.atomically(|reg| {
            let mut out = Vec::new();
            let mut left_out = Vec::new();
            for PendingReminder { email, mut params } in pending {
                let tx = reg.begin()?;
                let claimed = tx.claim_review_mail(&email, &d, round, "reminder")?;
                tx.commit()?;
                if !claimed {
                    left_out.push(email);
                    continue;
                }
                params["sign_in"] = Value::String(self.sign_in_text(reg, &email)?);
                let m = self.mail(
                    vec![email.clone()],
                    self.wording.subject("reminder", &params),
                    self.wording.text("reminder", &params),
                    Vec::new(),
                    None,
                )?;
                let tx = reg.begin()?;
                let id = tx.enqueue(&m)?;
                tx.set_review_mail_outbox(&email, &d, id)?;
                tx.commit()?;
                out.push(Queued {
                    to: m.recipients,
                    subject: String::new(),
                    outbox: id,
                });
            }
            Ok((out, left_out))
        })
    }

    /// Reminders at staff's request (the console's 立即发送催办): to the experts of a
    /// published round with unfinished reviews, at most one review mail a day each (one who
    /// already had an invitation or reminder today is left out and named in the second
    /// list). No reminder day's slot is taken: the scheduled reminders still come.
    pub fn remind_now(
        &self,
        reg: &mut Registry,
        round: i64,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Queued>, Vec<String>)> {
        let r = super::round(reg, round)?;
        if r.state != "published" {
            return Err(ReviewError::WrongState {
                round,
                state: r.state,
                action: "催办",
            });
        }
        let today = self.day(now);
        let when = match NaiveDate::parse_from_str(&r.due, "%Y-%m-%d") {
            Ok(due) if today == due => "on",
            Ok(due) if today > due => "overdue",
            _ => "soon",
        };
        let pending = self.reminder_mails(reg, &r, when)?;
        self.queue_reminders(reg, pending, today, round)
    }

    /// Queues the staff's mail when every assignment in force of a round has a submitted
    /// review (once per round).
    pub fn complete_mail(&self, reg: &mut Registry, round: i64) -> Result<Option<Queued>> {
        let r = super::round(reg, round)?;
        if r.completed_mail_at.is_some() || r.state == "draft" {
            return Ok(None);
        }
        let assigned = reg.assignments(round)?;
        if assigned.is_empty() {
            return Ok(None);
        }
        let submitted = reg
            .current_reviews(round)?
            .into_iter()
            .filter(|v| v.submitted)
            .count();
        if submitted < assigned.len() {
            return Ok(None);
        }
        let to = self.sender.recipients();
        let entries = reg.round_entries(round)?.len();
        let params = json!({
            "round": round,
            "batch_name": self.batch_name(r.batch),
            "count": entries,
            "kinds": r.kinds.iter().map(|k| self.kind_name(k)).collect::<Vec<_>>().join("、"),
        });
        let m = self.mail(
            to.clone(),
            self.wording.subject("complete", &params),
            self.wording.text("complete", &params),
            Vec::new(),
            None,
        )?;
        let tx = reg.begin()?;
        if !tx.mark_round_complete_mail(round)? {
            return Ok(None);
        }
        let id = if to.is_empty() { 0 } else { tx.enqueue(&m)? };
        tx.commit()?;
        Ok((!to.is_empty()).then_some(Queued {
            to,
            subject: String::new(),
            outbox: id,
        }))
    }

    /// Publishes a round's decisions and queues one mail per province listing its entries'
    /// outcomes (no scores, no experts), to the addresses that sent those entries.
    pub fn publish_decisions(&self, reg: &mut Registry, round: i64) -> Result<Vec<Queued>> {
        let r = super::round(reg, round)?;
        if r.decisions_published_at.is_some() {
            return Ok(Vec::new());
        }
        let decisions: HashMap<String, (String, String)> = reg
            .decisions(round)?
            .into_iter()
            .map(|d| (d.receipt, (d.decision, d.note)))
            .collect();
        let mut by_province: BTreeMap<String, Vec<crate::registry::EntrySender>> = BTreeMap::new();
        for e in reg.round_entry_senders(round)? {
            by_province
                .entry(e.province.clone().unwrap_or_default())
                .or_default()
                .push(e);
        }
        let mut mails = Vec::new();
        for (code, entries) in by_province {
            let mut to: Vec<String> = entries
                .iter()
                .filter_map(|e| e.sender.clone())
                .map(|s| s.to_lowercase())
                .collect();
            to.sort();
            to.dedup();
            if to.is_empty() {
                continue;
            }
            let province = self
                .campaign
                .province(&code)
                .map(|p| p.name.clone())
                .unwrap_or(code.clone());
            let listed: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let (d, note) = decisions
                        .get(&e.receipt)
                        .cloned()
                        .unwrap_or_else(|| ("decline".into(), String::new()));
                    let outcome = if d == "recommend" {
                        "推介"
                    } else {
                        "不推介"
                    };
                    json!({"receipt": e.receipt, "kind": self.kind_name(&e.kind), "title": e.name,
                        "outcome": outcome, "note": note, "recommended": d == "recommend"})
                })
                .collect();
            let recommended = listed.iter().filter(|v| v["recommended"] == true).count();
            let params = json!({
                "province": province,
                "batch_name": self.batch_name(r.batch),
                "entries": listed,
                "count": entries.len(),
                "recommended": recommended,
            });
            let m = self.mail(
                to,
                self.wording.subject("outcome", &params),
                self.wording.text("outcome", &params),
                Vec::new(),
                None,
            )?;
            mails.push(m);
        }
        let tx = reg.begin()?;
        if !tx.mark_decisions_published(round)? {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for m in mails {
            let id = tx.enqueue(&m)?;
            out.push(Queued {
                to: m.recipients,
                subject: String::new(),
                outbox: id,
            });
        }
        tx.commit()?;
        Ok(out)
    }

    /// Records a score sheet mailed back, inside the filing transaction of its message:
    /// each filled row becomes a new, submitted version of that review, or a problem that
    /// records nothing for the row; the receipt to the sender is queued. The sender must
    /// be the expert the sheet was made for, the round published.
    pub fn import_sheet(
        &self,
        tx: &Tx,
        sender: &str,
        filled: &Filled,
        filename: &str,
        message: i64,
        in_reply_to: Option<String>,
    ) -> Result<SheetOutcome> {
        let mut outcome = SheetOutcome {
            round: filled.round,
            ..Default::default()
        };
        let sender = sender.trim().to_lowercase();
        let p = |code: &'static str, v: Value, out: &mut SheetOutcome| {
            out.problems.push((code, self.wording.problem(code, &v)));
        };
        let round = tx.review_round(filled.round)?;
        let expert = tx.review_expert(&sender)?;
        match (&round, &expert) {
            (Some(r), _) if r.state == "closed" => {
                p("round_closed", json!({"round": r.id}), &mut outcome)
            }
            (Some(r), _) if r.state != "published" => {
                p("unknown_round", json!({"round": r.id}), &mut outcome)
            }
            (None, _) => p(
                "unknown_round",
                json!({"round": filled.round}),
                &mut outcome,
            ),
            (Some(_), _) if sender != filled.expert => p(
                "wrong_sender",
                json!({"expert": filled.expert, "sender": sender}),
                &mut outcome,
            ),
            (Some(_), None) => p(
                "wrong_sender",
                json!({"expert": filled.expert, "sender": sender}),
                &mut outcome,
            ),
            (Some(r), Some(x)) => {
                let assigned = tx.review_assigned(r.id, x.id)?;
                let options = self.rubric.settings.recommendations.join("、");
                for row in &filled.rows {
                    if row.is_blank() {
                        continue;
                    }
                    let at = json!({"sheet": row.sheet, "row": row.row, "receipt": row.receipt, "options": options});
                    let with = |extra: Value| {
                        let mut v = at.clone();
                        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                            o.extend(e);
                        }
                        v
                    };
                    if !assigned.contains(&row.receipt) {
                        p("not_assigned", at.clone(), &mut outcome);
                        continue;
                    }
                    let Some(kind) = tx
                        .review_entry_kind(&row.receipt)?
                        .and_then(|k| self.campaign.kind(&k))
                    else {
                        p("not_assigned", at.clone(), &mut outcome);
                        continue;
                    };
                    let criteria = self.rubric.criteria(kind);
                    let mut row_problems = Vec::new();
                    let mut scores = BTreeMap::new();
                    for c in criteria {
                        match row.scores.get(&c.key) {
                            Some(Ok(v)) => {
                                scores.insert(c.key.clone(), *v);
                            }
                            Some(Err(t)) if !t.is_empty() => row_problems.push((
                                "not_a_number",
                                with(json!({"criterion": c.name, "value": t})),
                            )),
                            _ => row_problems
                                .push(("missing_score", with(json!({"criterion": c.name})))),
                        }
                    }
                    let input = ScoreInput {
                        scores: scores.clone(),
                        comment: row.comment.clone(),
                        recommendation: Some(row.recommendation.clone()),
                        submit: true,
                    };
                    if let Err(ps) = validate_scores(self.rubric, kind, &input) {
                        for pr in ps {
                            match pr.code {
                                "score_out_of_range" => {
                                    let c = criteria.iter().find(|c| c.key == pr.field);
                                    if let Some((c, v)) = c.zip(scores.get(&pr.field)) {
                                        row_problems.push((
                                            "score_out_of_range",
                                            with(json!({"criterion": c.name, "value": v, "max": c.points})),
                                        ));
                                    }
                                }
                                "missing_comment" => {
                                    row_problems.push(("missing_comment", at.clone()))
                                }
                                "missing_recommendation" => {
                                    row_problems.push(("missing_recommendation", at.clone()))
                                }
                                "bad_recommendation" => row_problems.push((
                                    "bad_recommendation",
                                    with(json!({"value": row.recommendation})),
                                )),
                                // Missing scores were said above, per criterion.
                                _ => {}
                            }
                        }
                    }
                    if !row_problems.is_empty() {
                        for (code, v) in row_problems {
                            p(code, v, &mut outcome);
                        }
                        continue;
                    }
                    let total: f64 = scores.values().sum();
                    tx.add_review(&NewReview {
                        round: r.id,
                        receipt: row.receipt.clone(),
                        expert: x.id,
                        scores: serde_json::to_string(&scores).expect("numbers serialise"),
                        total,
                        comment: row.comment.trim().to_string(),
                        recommendation: Some(row.recommendation.trim().to_string()),
                        submitted: true,
                        via: "sheet".into(),
                        message: Some(message),
                    })?;
                    outcome.recorded.push((
                        row.receipt.clone(),
                        total,
                        row.recommendation.trim().to_string(),
                    ));
                }
            }
        }
        let name = expert.as_ref().map(|x| x.name.clone()).unwrap_or_default();
        let params = json!({
            "name": name,
            "sheet": filename,
            "recorded": outcome.recorded.iter().map(|(r, t, rec)| json!({"receipt": r, "total": t, "recommendation": rec})).collect::<Vec<_>>(),
            "problems": outcome.problems.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
            "round": filled.round,
        });
        let subject = self.wording.subject(
            "receipt",
            &json!({"round": filled.round, "recorded": outcome.recorded.len(), "problems": outcome.problems.len()}),
        );
        let mut m = self.mail(
            vec![sender.clone()],
            subject.clone(),
            self.wording.text("receipt", &params),
            Vec::new(),
            in_reply_to,
        )?;
        m.message = Some(message);
        outcome.outbox = Some(tx.enqueue(&m)?);
        outcome.subject = subject;
        outcome.message_id = m.message_id;
        Ok(outcome)
    }
}

/// What a score sheet came to.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SheetOutcome {
    pub round: i64,
    /// (receipt, total, recommendation) recorded.
    pub recorded: Vec<(String, f64, String)>,
    /// (code, Chinese text) per problem; nothing was recorded for those rows.
    pub problems: Vec<(&'static str, String)>,
    /// The receipt's outbox row, subject and Message-ID.
    pub outbox: Option<i64>,
    pub subject: String,
    pub message_id: String,
}

/// Whether attachment bytes are a score sheet of ours.
pub fn recognise(bytes: &[u8]) -> Option<Filled> {
    sheet::read(bytes)
}
