//! Staff's review actions with their audit rows, and the figures staff decide with: what
//! `lndx review …` and the console's 评审 and 推介 pages both call (never copies).
//!
//! Each action runs the review step (`super::create_round`, `draft`, `adjust`, the
//! [`Mailer`]'s publish, reminders and outcomes, `close`, `decide`, the experts' add and
//! import) and then appends its row to the append-only audit log (who, what, the object,
//! before → after as JSON). A refused action changes nothing and writes no row. The step
//! and its audit row commit together ([`Registry::atomically`]): a crash leaves both or
//! neither.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::experts::{self, ExpertInput, ImportReport};
use super::mail::{Mailer, Queued};
use super::wording::Wording;
use super::{Assigned, Decision, Ranked, Result, ReviewError, RoundRequest, Rubric};
use crate::campaign::Campaign;
use crate::registry::{NewAudit, Registry};
use crate::report::Sender;

/// What review needs besides the campaign: the rubric, the mail's wording, who sends.
pub struct Setup {
    pub rubric: Rubric,
    pub wording: Wording,
    pub sender: Sender,
    /// Sign-in links for invitations and reminders (None: the mail points to the sheet).
    pub sign_in: Option<super::mail::SignIn>,
}

impl Setup {
    pub fn mailer<'a>(&'a self, campaign: &'a Campaign) -> Mailer<'a> {
        Mailer {
            campaign,
            rubric: &self.rubric,
            wording: &self.wording,
            sender: &self.sender,
            sign_in: self.sign_in.as_ref(),
        }
    }
}

/// The audit log's action keys of review (the console labels them).
pub const ACTIONS: &[(&str, &str)] = &[
    ("review_round_create", "创建评审轮次"),
    ("review_assign", "计算分配草案"),
    ("review_adjust", "调整评审分配"),
    ("review_publish", "发布评审分配"),
    ("review_remind", "发送催办邮件"),
    ("review_close", "结束评审轮次"),
    ("review_decide", "推介结论"),
    ("review_publish_decisions", "发布推介结果"),
    ("review_expert_add", "添加评审专家"),
    ("review_expert_import", "导入评审专家"),
    ("review_save", "保存评审草稿"),
    ("review_submit", "提交评审"),
    ("review_recuse", "专家回避"),
    ("review_conflict", "登记回避关系"),
];

/// Staff acting on review, as `actor` (an account's e-mail, or `cli:<login>`).
pub struct Staff<'a> {
    pub campaign: &'a Campaign,
    pub setup: &'a Setup,
    pub actor: &'a str,
}

fn round_object(round: i64) -> String {
    format!("round:{round}")
}

impl Staff<'_> {
    fn audit(
        &self,
        reg: &mut Registry,
        action: &str,
        object: &str,
        before: Value,
        after: Value,
    ) -> Result<i64> {
        let tx = reg.begin()?;
        let id = tx.audit(&NewAudit {
            actor: self.actor,
            action,
            object,
            before: before.to_string(),
            after: after.to_string(),
            note: None,
        })?;
        tx.commit()?;
        Ok(id)
    }

    /// The assignments in force as "receipt → e-mail" lines (an audit row's before/after).
    fn assignment_lines(reg: &Registry, round: i64) -> Result<Vec<String>> {
        Ok(super::assignments(reg, round)?
            .into_iter()
            .map(|a| format!("{} → {}", a.receipt, a.expert))
            .collect())
    }

    /// Creates a round; returns its id.
    pub fn create_round(&self, reg: &mut Registry, req: &RoundRequest) -> Result<i64> {
        reg.atomically(|reg| {
            let id = super::create_round(reg, self.campaign, &self.setup.rubric, req)?;
            let r = super::round(reg, id)?;
            let entries = reg.round_entries(id)?.len();
            self.audit(
                reg,
                "review_round_create",
                &round_object(id),
                Value::Null,
                json!({"batch": r.batch, "kinds": r.kinds.join("、"), "per_entry": r.per_entry,
                       "cap": r.cap, "due": r.due, "entries": entries, "state": r.state}),
            )?;
            Ok(id)
        })
    }

    /// Computes and stores the draft assignment.
    pub fn draft(&self, reg: &mut Registry, round: i64) -> Result<Vec<Assigned>> {
        reg.atomically(|reg| {
            let before = Self::assignment_lines(reg, round)?;
            let list = super::draft(reg, &self.setup.rubric, round)?;
            let after: Vec<String> = list
                .iter()
                .map(|a| format!("{} → {}", a.receipt, a.expert))
                .collect();
            self.audit(
                reg,
                "review_assign",
                &round_object(round),
                json!({"assignments": before.len(), "list": before}),
                json!({"assignments": after.len(), "list": after}),
            )?;
            Ok(list)
        })
    }

    /// Takes `remove` off an entry and/or puts `add` on it (conflicts refused).
    pub fn adjust(
        &self,
        reg: &mut Registry,
        round: i64,
        receipt: &str,
        remove: Option<&str>,
        add: Option<&str>,
    ) -> Result<()> {
        reg.atomically(|reg| {
            let of_entry = |reg: &Registry| -> Result<Vec<String>> {
                Ok(super::assignments(reg, round)?
                    .into_iter()
                    .filter(|a| a.receipt == receipt)
                    .map(|a| a.expert)
                    .collect())
            };
            let before = of_entry(reg)?;
            super::adjust(reg, &self.setup.rubric, round, receipt, remove, add)?;
            let after = of_entry(reg)?;
            self.audit(
                reg,
                "review_adjust",
                &format!("round:{round}:{receipt}"),
                json!({"experts": before.join("、")}),
                json!({"experts": after.join("、")}),
            )?;
            Ok(())
        })
    }

    /// Publishes the draft and queues one invitation per expert.
    pub fn publish(
        &self,
        reg: &mut Registry,
        round: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Queued>> {
        reg.atomically(|reg| {
            let before = super::round(reg, round)?.state;
            let queued = self.setup.mailer(self.campaign).publish(reg, round, now)?;
            self.audit(
                reg,
                "review_publish",
                &round_object(round),
                json!({"state": before}),
                json!({"state": "published", "invitations": queued.len()}),
            )?;
            Ok(queued)
        })
    }

    /// Reminders now to experts with unfinished reviews (one review mail a day each);
    /// returns what was queued and who was left out (already mailed today).
    pub fn remind_now(
        &self,
        reg: &mut Registry,
        round: i64,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Queued>, Vec<String>)> {
        reg.atomically(|reg| {
            let (queued, left_out) = self
                .setup
                .mailer(self.campaign)
                .remind_now(reg, round, now)?;
            let to: Vec<String> = queued.iter().flat_map(|q| q.to.clone()).collect();
            self.audit(
                reg,
                "review_remind",
                &round_object(round),
                Value::Null,
                json!({"reminders": queued.len(), "to": to.join("、"),
                       "left_out": left_out.join("、")}),
            )?;
            Ok((queued, left_out))
        })
    }

    /// Closes a round.
    pub fn close(&self, reg: &mut Registry, round: i64) -> Result<()> {
        reg.atomically(|reg| {
            let before = super::round(reg, round)?.state;
            super::close(reg, round)?;
            self.audit(
                reg,
                "review_close",
                &round_object(round),
                json!({"state": before}),
                json!({"state": "closed"}),
            )?;
            Ok(())
        })
    }

    /// Records a decision on an entry (changeable until published).
    pub fn decide(
        &self,
        reg: &mut Registry,
        round: i64,
        receipt: &str,
        decision: Decision,
        note: &str,
    ) -> Result<()> {
        reg.atomically(|reg| {
            let before = reg
                .decisions(round)?
                .into_iter()
                .find(|d| d.receipt == receipt)
                .map(|d| json!({"decision": d.decision, "note": d.note}))
                .unwrap_or(Value::Null);
            super::decide(reg, round, receipt, decision, note)?;
            self.audit(
                reg,
                "review_decide",
                &format!("round:{round}:{receipt}"),
                before,
                json!({"decision": decision.as_str(), "note": note.trim()}),
            )?;
            Ok(())
        })
    }

    /// Publishes a round's decisions: one outcome mail per province.
    pub fn publish_decisions(&self, reg: &mut Registry, round: i64) -> Result<Vec<Queued>> {
        reg.atomically(|reg| {
            let was = super::round(reg, round)?.decisions_published_at.is_some();
            let queued = self
                .setup
                .mailer(self.campaign)
                .publish_decisions(reg, round)?;
            if !was {
                self.audit(
                    reg,
                    "review_publish_decisions",
                    &round_object(round),
                    json!({"published": false}),
                    json!({"published": true, "provinces": queued.len()}),
                )?;
            }
            Ok(queued)
        })
    }

    /// Adds an expert (or updates the one with that address); true when added.
    pub fn add_expert(
        &self,
        reg: &mut Registry,
        x: &ExpertInput,
    ) -> Result<(bool, super::ExpertAccount)> {
        reg.atomically(|reg| {
            let email = x.email.trim().to_lowercase();
            let before = reg
                .expert_by_email(&email)?
                .map(|e| expert_json(&e))
                .unwrap_or(Value::Null);
            let added = experts::add_expert(reg, self.campaign, x)?;
            let after = reg
                .expert_by_email(&email)?
                .map(|e| expert_json(&e))
                .unwrap_or(Value::Null);
            self.audit(
                reg,
                "review_expert_add",
                &format!("expert:{email}"),
                before,
                after,
            )?;
            Ok(added)
        })
    }

    /// Records that an expert must not review an entry (their own work, a colleague's, a
    /// student's: whatever they declare). The conflict binds every round, present and
    /// future; an assignment already made is left to [`Staff::adjust`] or a recusal.
    pub fn declare_conflict(
        &self,
        reg: &mut Registry,
        email: &str,
        receipt: &str,
        note: &str,
    ) -> Result<()> {
        reg.atomically(|reg| {
            let email = email.trim().to_lowercase();
            let receipt = receipt.trim();
            let x = reg
                .expert_by_email(&email)?
                .ok_or_else(|| ReviewError::NoExpert(email.clone()))?;
            let key = reg
                .entry_key_of(receipt)?
                .ok_or_else(|| ReviewError::NoReceipt(receipt.to_string()))?;
            reg.declare_conflict(x.id, &key, receipt, note)?;
            self.audit(
                reg,
                "review_conflict",
                &format!("expert:{email}"),
                Value::Null,
                json!({"receipt": receipt, "note": note}),
            )?;
            Ok(())
        })
    }

    /// Imports experts from an .xlsx (every bad row reported, the good ones recorded).
    pub fn import_experts(&self, reg: &mut Registry, bytes: &[u8]) -> Result<ImportReport> {
        reg.atomically(|reg| {
            let before = reg.experts()?.len();
            let report = experts::import_experts(reg, self.campaign, bytes)?;
            self.audit(
                reg,
                "review_expert_import",
                "experts",
                json!({"experts": before}),
                json!({"experts": reg.experts()?.len(), "added": report.added,
                       "updated": report.updated, "rows_refused": report.problems.len()}),
            )?;
            Ok(report)
        })
    }
}

fn expert_json(x: &crate::registry::ExpertRow) -> Value {
    json!({"name": x.name, "province": x.province, "unit": x.unit,
           "kinds": x.kinds.join("、"), "themes": x.themes.join("、")})
}

/// One entry of the board staff decide on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BoardRow {
    #[serde(flatten)]
    pub ranked: Ranked,
    pub name: String,
    pub province: String,
    /// recommend | decline; None while undecided.
    pub decision: Option<String>,
    pub note: String,
}

/// Per kind of the round: recommended in this round, the batch's quota (review.toml),
/// recommended over every round so far, the campaign's target.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KindProgress {
    pub kind: String,
    pub recommended: usize,
    pub quota: Option<u32>,
    pub recommended_all: usize,
    pub target: u32,
}

/// What staff decide with (`lndx review decisions`, the console's 推介).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Board {
    pub round: i64,
    pub batch: u8,
    pub published: bool,
    pub rows: Vec<BoardRow>,
    pub kinds: Vec<KindProgress>,
    /// Province code → recommended entries in this round.
    pub provinces: BTreeMap<String, usize>,
}

/// The ranking of a round with each entry's province and current decision, the progress
/// against quotas and targets, and the spread over provinces.
pub fn board(reg: &Registry, campaign: &Campaign, rubric: &Rubric, round: i64) -> Result<Board> {
    let ranked = super::ranking(reg, rubric, round)?;
    let r = super::round(reg, round)?;
    let entries: HashMap<String, (String, String)> = reg
        .round_entries(round)?
        .into_iter()
        .map(|e| (e.receipt, (e.province.unwrap_or_default(), e.name)))
        .collect();
    let decided: HashMap<String, (String, String)> = reg
        .decisions(round)?
        .into_iter()
        .map(|d| (d.receipt, (d.decision, d.note)))
        .collect();
    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut provinces: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows = Vec::new();
    for e in ranked {
        let (province, name) = entries.get(&e.receipt).cloned().unwrap_or_default();
        let (decision, note) = match decided.get(&e.receipt) {
            Some((d, n)) => (Some(d.clone()), n.clone()),
            None => (None, String::new()),
        };
        if decision.as_deref() == Some("recommend") {
            *per_kind.entry(e.kind.clone()).or_default() += 1;
            *provinces.entry(province.clone()).or_default() += 1;
        }
        rows.push(BoardRow {
            ranked: e,
            name,
            province,
            decision,
            note,
        });
    }
    // Recommended over every round (the latest decision of each entry in each round).
    let mut all: BTreeMap<String, usize> = BTreeMap::new();
    for other in reg.rounds()? {
        let kinds: HashMap<String, String> = reg
            .round_entries(other.id)?
            .into_iter()
            .map(|e| (e.receipt, e.kind))
            .collect();
        for d in reg.decisions(other.id)? {
            if d.decision == "recommend" {
                if let Some(k) = kinds.get(&d.receipt) {
                    *all.entry(k.clone()).or_default() += 1;
                }
            }
        }
    }
    let kinds = r
        .kinds
        .iter()
        .filter_map(|k| campaign.kind(k))
        .map(|k| KindProgress {
            kind: k.key().to_string(),
            recommended: per_kind.get(k.key()).copied().unwrap_or(0),
            quota: rubric.quota(r.batch, k),
            recommended_all: all.get(k.key()).copied().unwrap_or(0),
            target: campaign.kind_info(k).target,
        })
        .collect();
    Ok(Board {
        round,
        batch: r.batch,
        published: r.decisions_published_at.is_some(),
        rows,
        kinds,
        provinces,
    })
}
