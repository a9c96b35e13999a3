//! 专家评议: expert review rounds, from the rubric to the published decisions.
//!
//! Given the campaign, the rubric and a registry (never the app), with typed errors
//! ([`ReviewError`], each with a stable code and a Chinese message):
//! - `rubric.rs`: `rules/review.toml` (criteria per kind, recommendations, thresholds).
//! - `experts.rs`: experts one by one or from an .xlsx (姓名, 单位, 省份, 邮箱, 擅长类型),
//!   every bad row reported; declared conflicts.
//! - `assign.rs`: the exact min-cost-flow assignment (pure), conflicts as hard constraints,
//!   shortfalls explained.
//! - `aggregate.rs`: means, medians, per-expert z-scores, spread, flags, ranking (pure).
//! - this file: rounds (create, draft, adjust, recuse, publish, close), scores and their
//!   validation, decisions and their publication.
//!
//! Adding or importing an expert also makes (or links) their console account with role
//! expert ([`account_for_expert`]); the console's 我的评审 pages record reviews through
//! [`record_review`] and recusals through [`recuse`] like the command line.

pub mod aggregate;
pub mod assign;
pub mod experts;
pub mod mail;
pub mod rubric;
pub mod sheet;
pub mod staff;
pub mod wording;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use crate::campaign::Campaign;
use crate::registry::{
    ExpertRow, NewReview, NewRound, Registry, RegistryError, ReviewEntry, RoundRow,
};
use crate::text::name_key;

pub use aggregate::Ranked;
pub use assign::{Conflict, Shortfall};
pub use rubric::Rubric;

/// Something review could not do; the code is stable (JSON, scripts), the text Chinese.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("没有编号为 {0} 的评审轮次")]
    NoRound(i64),
    #[error("批次 {0} 不存在")]
    NoBatch(String),
    #[error("类型“{0}”不存在（可用：{1}）")]
    NoKind(String, String),
    #[error("截止日期“{0}”无法识别，请写成 YYYY-MM-DD")]
    BadDate(String),
    #[error("每件评审专家数须至少为 1")]
    BadPerEntry,
    #[error("批次 {batch} 中没有可评审的有效作品（类型：{kinds}）")]
    NoEntries { batch: u8, kinds: String },
    #[error("邮箱“{0}”不是有效的电子邮件地址")]
    BadEmail(String),
    #[error("没有邮箱为 {0} 的评审专家")]
    NoExpert(String),
    #[error("省份“{0}”无法识别")]
    BadProvince(String),
    #[error("擅长类型“{0}”既不是作品类型也不是主题")]
    BadExpertise(String),
    #[error("专家姓名不能为空")]
    NoName,
    #[error("没有回执号为 {0} 的申报（回执号见回执邮件，或用 lndx list 查询）")]
    NoReceipt(String),
    #[error("回执号 {receipt} 不在第 {round} 轮评审中")]
    NotInRound { round: i64, receipt: String },
    #[error("专家 {expert} 未被分配评审 {receipt}")]
    NotAssigned { expert: String, receipt: String },
    #[error("专家 {expert} 已分配评审 {receipt}")]
    AlreadyAssigned { expert: String, receipt: String },
    #[error("专家 {expert} 与 {receipt} 存在回避关系（{why}），不能分配")]
    Conflicted {
        expert: String,
        receipt: String,
        why: &'static str,
    },
    #[error("第 {round} 轮评审状态为“{state}”，不能{action}")]
    WrongState {
        round: i64,
        state: String,
        action: &'static str,
    },
    #[error("无法为所有作品分配 {k} 位专家：\n{list}")]
    Unservable {
        k: u32,
        list: String,
        entries: Vec<UnservableEntry>,
    },
    #[error("评分有误：{0}")]
    BadScores(String),
    #[error("评审意见“{0}”不是可选项（可选：{1}）")]
    BadRecommendation(String, String),
    #[error("推介结论“{0}”无法识别，请用“推介”或“不推介”")]
    BadDecision(String),
    #[error("第 {0} 轮的推介结果已发布，不能再修改")]
    DecisionsPublished(i64),
    #[error("无法读取专家名单：{0}")]
    Workbook(String),
    #[error("cannot build review mail: {0}")]
    Mail(String),
}

impl ReviewError {
    /// The stable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            ReviewError::Registry(_) => "registry_error",
            ReviewError::NoRound(_) => "no_round",
            ReviewError::NoBatch(_) => "unknown_batch",
            ReviewError::NoKind(..) => "unknown_kind",
            ReviewError::BadDate(_) => "bad_date",
            ReviewError::BadPerEntry => "bad_per_entry",
            ReviewError::NoEntries { .. } => "no_entries",
            ReviewError::BadEmail(_) => "bad_email",
            ReviewError::NoExpert(_) => "unknown_expert",
            ReviewError::BadProvince(_) => "unknown_province",
            ReviewError::BadExpertise(_) => "unknown_expertise",
            ReviewError::NoName => "missing_name",
            ReviewError::NoReceipt(_) => "unknown_receipt",
            ReviewError::NotInRound { .. } => "not_in_round",
            ReviewError::NotAssigned { .. } => "not_assigned",
            ReviewError::AlreadyAssigned { .. } => "already_assigned",
            ReviewError::Conflicted { .. } => "conflict_of_interest",
            ReviewError::WrongState { .. } => "wrong_round_state",
            ReviewError::Unservable { .. } => "unservable_entries",
            ReviewError::BadScores(_) => "bad_scores",
            ReviewError::BadRecommendation(..) => "bad_recommendation",
            ReviewError::BadDecision(_) => "bad_decision",
            ReviewError::DecisionsPublished(_) => "decisions_published",
            ReviewError::Workbook(_) => "unreadable_workbook",
            ReviewError::Mail(_) => "mail_error",
        }
    }
}

pub type Result<T> = std::result::Result<T, ReviewError>;

/// An entry the assignment could not serve, for `--json` and the console.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnservableEntry {
    pub receipt: String,
    pub got: usize,
    pub needed: u32,
    pub why: Shortfall,
}

/// What adding or importing an expert did about their console account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "account", rename_all = "snake_case")]
pub enum ExpertAccount {
    /// A new account with role expert was made (no password: sign-in links only).
    Created { id: i64 },
    /// The address already had an expert account; it is used as it is.
    Linked { id: i64 },
    /// The address has an account of another role (staff, a province's coordinator …).
    /// It is not changed: an account has one role, and neither widening nor narrowing what
    /// someone may do happens as a side effect of a list of experts. The expert reviews on
    /// the score sheet (their mail carries no sign-in link) until an admin sorts it out.
    OtherRole { id: i64, role: String },
    /// The address's expert account is disabled; it stays disabled (an admin's decision).
    Disabled { id: i64 },
}

impl ExpertAccount {
    /// The stable code (`--json`).
    pub fn code(&self) -> &'static str {
        match self {
            ExpertAccount::Created { .. } => "account_created",
            ExpertAccount::Linked { .. } => "account_linked",
            ExpertAccount::OtherRole { .. } => "account_other_role",
            ExpertAccount::Disabled { .. } => "account_disabled",
        }
    }

    /// The account an expert signs in with to review on the console, if any.
    pub fn usable(&self) -> Option<i64> {
        match self {
            ExpertAccount::Created { id } | ExpertAccount::Linked { id } => Some(*id),
            _ => None,
        }
    }

    /// What a person reads about it.
    pub fn text(&self, email: &str) -> String {
        match self {
            ExpertAccount::Created { .. } => format!("已为 {email} 开通评审账号（评审专家）"),
            ExpertAccount::Linked { .. } => format!("{email} 已有评审账号，沿用"),
            ExpertAccount::OtherRole { role, .. } => format!(
                "{email} 已有其他角色（{role}）的账号，未作改动：该专家暂不能登录评审页面，只能用评分表评分；如需在线评审，请管理员另行处理"
            ),
            ExpertAccount::Disabled { .. } => {
                format!("{email} 的评审账号已停用，未重新启用：该专家只能用评分表评分")
            }
        }
    }
}

/// Who made an expert's account (the `created_by` of accounts made by review).
const EXPERT_ACCOUNT_CREATOR: &str = "review:experts";

/// Called when an expert is added or imported: creates an account with role expert (name,
/// province and unit from the expert), or links the existing one of the same address. An
/// existing account of another role, or a disabled one, is left as it is and said (see
/// [`ExpertAccount`]).
pub fn account_for_expert(reg: &Registry, expert: &ExpertRow) -> Result<ExpertAccount> {
    if let Some(u) = reg.user_by_email(&expert.email)? {
        return Ok(if u.role != "expert" {
            ExpertAccount::OtherRole {
                id: u.id,
                role: u.role,
            }
        } else if u.disabled {
            ExpertAccount::Disabled { id: u.id }
        } else {
            ExpertAccount::Linked { id: u.id }
        });
    }
    let created = reg.create_user(&crate::registry::console::NewUser {
        email: &expert.email,
        role: "expert",
        province: expert.province.as_deref(),
        unit: expert.unit.as_deref(),
        name: Some(expert.name.as_str()),
        created_by: EXPERT_ACCOUNT_CREATOR,
    })?;
    match created {
        Some(id) => Ok(ExpertAccount::Created { id }),
        // Made by someone else in between: look again.
        None => account_for_expert(reg, expert),
    }
}

/// The console account an expert reviews with: their expert account when it is enabled.
pub fn expert_user(reg: &Registry, email: &str) -> Result<Option<i64>> {
    Ok(reg
        .user_by_email(email)?
        .filter(|u| u.role == "expert" && !u.disabled)
        .map(|u| u.id))
}

/// The Chinese name of a conflict.
pub fn conflict_text(c: Conflict) -> &'static str {
    match c {
        Conflict::Province => "同省",
        Conflict::Unit => "同单位",
        Conflict::Declared => "本人申报回避",
    }
}

/// A kind given by key, full name or short name.
pub fn find_kind(campaign: &Campaign, word: &str) -> Option<crate::kind::Kind> {
    let w = word.trim();
    campaign.kinds().find(|k| {
        let i = campaign.kind_info(*k);
        i.key == w || i.name == w || i.short == w
    })
}

fn kinds_list(campaign: &Campaign) -> String {
    campaign
        .kinds()
        .map(|k| format!("{}（{}）", k.key(), campaign.kind_info(k).name))
        .collect::<Vec<_>>()
        .join("、")
}

/// What `lndx review round create` asks for.
#[derive(Debug, Clone)]
pub struct RoundRequest {
    pub batch: String,
    pub kinds: Vec<String>,
    pub per_entry: Option<u32>,
    pub cap: Option<u32>,
    pub due: Option<String>,
    /// Show an expert the others' submitted scores (anonymous) after their own submission.
    pub show_others: bool,
}

/// Creates a round holding the batch's current valid entries of the kinds; returns its id.
/// Without a due date it is 14 days after the batch's deadline.
pub fn create_round(
    reg: &mut Registry,
    campaign: &Campaign,
    rubric: &Rubric,
    req: &RoundRequest,
) -> Result<i64> {
    let batch = req
        .batch
        .trim()
        .parse::<u8>()
        .ok()
        .and_then(|n| campaign.batch(n))
        .or_else(|| campaign.batches.iter().find(|b| b.name == req.batch.trim()))
        .ok_or_else(|| ReviewError::NoBatch(req.batch.clone()))?;
    let mut kinds = Vec::new();
    for k in &req.kinds {
        let kind = find_kind(campaign, k)
            .ok_or_else(|| ReviewError::NoKind(k.clone(), kinds_list(campaign)))?;
        if !kinds.contains(&kind.key().to_string()) {
            kinds.push(kind.key().to_string());
        }
    }
    if kinds.is_empty() {
        kinds = campaign.kinds().map(|k| k.key().to_string()).collect();
    }
    let per_entry = req.per_entry.unwrap_or(rubric.settings.per_entry);
    if per_entry == 0 {
        return Err(ReviewError::BadPerEntry);
    }
    let due = match &req.due {
        Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| ReviewError::BadDate(d.clone()))?,
        None => batch.deadline + chrono::Duration::days(14),
    };
    let entries = reg.reviewable_entries(batch.number, &kinds)?;
    if entries.is_empty() {
        return Err(ReviewError::NoEntries {
            batch: batch.number,
            kinds: kinds.join("、"),
        });
    }
    let ids: Vec<(i64, String)> = entries.iter().map(|e| (e.id, e.receipt.clone())).collect();
    Ok(reg.create_round(
        &NewRound {
            batch: batch.number,
            kinds,
            per_entry,
            cap: req.cap,
            due: due.format("%Y-%m-%d").to_string(),
            show_others: req.show_others,
        },
        &ids,
    )?)
}

/// A round, or [`ReviewError::NoRound`].
pub fn round(reg: &Registry, id: i64) -> Result<RoundRow> {
    reg.round(id)?.ok_or(ReviewError::NoRound(id))
}

/// A round's assignment problem: its entries, every expert, its k and cap, the declared
/// conflicts.
pub struct RoundProblem {
    pub round: RoundRow,
    pub entries: Vec<ReviewEntry>,
    pub experts: Vec<ExpertRow>,
    pub problem: assign::Problem,
}

impl RoundProblem {
    /// Builds it from the registry (the round's entries as they stand now).
    pub fn load(reg: &Registry, rubric: &Rubric, round_id: i64) -> Result<RoundProblem> {
        let round = round(reg, round_id)?;
        let entries = reg.round_entries(round_id)?;
        let experts = reg.experts()?;
        let declared_rows = reg.declared_conflicts()?;
        let expert_index: HashMap<i64, usize> =
            experts.iter().enumerate().map(|(i, x)| (x.id, i)).collect();
        let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_key.entry(e.entry_key.as_str()).or_default().push(i);
        }
        let mut declared = HashSet::new();
        for (x, key) in &declared_rows {
            if let (Some(xi), Some(es)) = (expert_index.get(x), by_key.get(key.as_str())) {
                for e in es {
                    declared.insert((*e, *xi));
                }
            }
        }
        let problem_entries: Vec<assign::EntrySide> = entries
            .iter()
            .map(|e| assign::EntrySide {
                province: e.province.clone(),
                unit_key: e.unit.as_deref().map(name_key).filter(|u| !u.is_empty()),
                kind: e.kind.clone(),
                themes: serde_json::from_str(&e.themes).unwrap_or_default(),
            })
            .collect();
        let problem_experts: Vec<assign::ExpertSide> = experts
            .iter()
            .map(|x| assign::ExpertSide {
                province: x.province.clone(),
                unit_key: x.unit_key.clone(),
                kinds: x.kinds.clone(),
                themes: x.themes.clone(),
            })
            .collect();
        let k = round.per_entry;
        let cap = round.cap.unwrap_or_else(|| {
            assign::default_cap(entries.len(), experts.len(), k, rubric.settings.cap_extra)
        });
        Ok(RoundProblem {
            problem: assign::Problem {
                entries: problem_entries,
                experts: problem_experts,
                k,
                cap,
                declared,
            },
            round,
            entries,
            experts,
        })
    }

    fn entry_index(&self, receipt: &str) -> Result<usize> {
        self.entries
            .iter()
            .position(|e| e.receipt == receipt)
            .ok_or_else(|| ReviewError::NotInRound {
                round: self.round.id,
                receipt: receipt.to_string(),
            })
    }

    /// Refuses `action` on a closed round.
    fn still_open(&self, action: &'static str) -> Result<()> {
        if self.round.state == "closed" {
            return Err(ReviewError::WrongState {
                round: self.round.id,
                state: self.round.state.clone(),
                action,
            });
        }
        Ok(())
    }

    /// The assignment in force of expert `x` on `receipt`, among `current`.
    fn assignment_of<'a>(
        &self,
        current: &'a [crate::registry::AssignmentRow],
        receipt: &str,
        x: usize,
    ) -> Option<&'a crate::registry::AssignmentRow> {
        current
            .iter()
            .find(|a| a.receipt == receipt && a.expert == self.experts[x].id)
    }

    fn expert_index(&self, email: &str) -> Result<usize> {
        let e = email.trim().to_lowercase();
        self.experts
            .iter()
            .position(|x| x.email == e)
            .ok_or_else(|| ReviewError::NoExpert(email.to_string()))
    }

    /// The assignments in force, per entry (indices into experts).
    fn current(&self, reg: &Registry) -> Result<Vec<Vec<usize>>> {
        let mut cur = vec![Vec::new(); self.entries.len()];
        let idx: HashMap<i64, usize> = self
            .experts
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id, i))
            .collect();
        for a in reg.assignments(self.round.id)? {
            if let (Ok(e), Some(x)) = (self.entry_index(&a.receipt), idx.get(&a.expert)) {
                cur[e].push(*x);
            }
        }
        Ok(cur)
    }
}

/// One assignment, for output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Assigned {
    pub receipt: String,
    pub expert: String,
}

/// Computes the draft assignment of a round (draft state only; a redraft ends the earlier
/// draft's rows) and stores it. When some entry cannot get k experts nothing is stored and
/// [`ReviewError::Unservable`] names them and why.
pub fn draft(reg: &mut Registry, rubric: &Rubric, round_id: i64) -> Result<Vec<Assigned>> {
    let r = round(reg, round_id)?;
    if r.state != "draft" {
        return Err(ReviewError::WrongState {
            round: round_id,
            state: r.state,
            action: "重新分配（已发布的轮次请用调整或回避替换）",
        });
    }
    // Entries that became valid since the round was created (a new version, an accepted
    // late entry) join it while it is a draft.
    let now_valid = reg.reviewable_entries(r.batch, &r.kinds)?;
    let ids: Vec<(i64, String)> = now_valid
        .iter()
        .map(|e| (e.id, e.receipt.clone()))
        .collect();
    reg.add_round_entries(round_id, &ids)?;
    let rp = RoundProblem::load(reg, rubric, round_id)?;
    let sol = rp.problem.solve();
    if !sol.complete() {
        let entries: Vec<UnservableEntry> = sol
            .short
            .iter()
            .map(|u| UnservableEntry {
                receipt: rp.entries[u.entry].receipt.clone(),
                got: u.got,
                needed: u.needed,
                why: u.why.clone(),
            })
            .collect();
        let list = entries
            .iter()
            .map(|u| {
                format!(
                    "  {}：{}",
                    u.receipt,
                    shortfall_text(&u.why, u.got, u.needed, &rp.entries, u)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        return Err(ReviewError::Unservable {
            k: rp.round.per_entry,
            list,
            entries,
        });
    }
    let mut rows = Vec::new();
    let mut out = Vec::new();
    for (e, xs) in sol.experts.iter().enumerate() {
        for &x in xs {
            rows.push((rp.entries[e].receipt.clone(), rp.experts[x].id));
            out.push(Assigned {
                receipt: rp.entries[e].receipt.clone(),
                expert: rp.experts[x].email.clone(),
            });
        }
    }
    reg.replace_assignments(round_id, &rows)?;
    out.sort_by(|a, b| (&a.receipt, &a.expert).cmp(&(&b.receipt, &b.expert)));
    Ok(out)
}

fn shortfall_text(
    why: &Shortfall,
    got: usize,
    needed: u32,
    entries: &[ReviewEntry],
    u: &UnservableEntry,
) -> String {
    let e = entries.iter().find(|e| e.receipt == u.receipt);
    let province = e.and_then(|e| e.province.clone()).unwrap_or_default();
    match why {
        Shortfall::TooFewEligible {
            eligible,
            province: p,
            unit,
            declared,
        } => format!(
            "只有 {eligible} 位专家与之无回避关系，需要 {needed} 位（同省 {province} 回避 {p} 位，同单位回避 {unit} 位，申报回避 {declared} 位）"
        ),
        Shortfall::CapsExhausted { eligible, cap } => format!(
            "仅分得 {got} 位专家：{eligible} 位无回避关系的专家均已达每人评审上限 {cap} 件（可增加专家或提高上限 --cap）"
        ),
    }
}

/// The assignments in force in a round, as (receipt, expert e-mail), by receipt.
pub fn assignments(reg: &Registry, round_id: i64) -> Result<Vec<Assigned>> {
    round(reg, round_id)?;
    let experts: HashMap<i64, String> = reg
        .experts()?
        .into_iter()
        .map(|x| (x.id, x.email))
        .collect();
    Ok(reg
        .assignments(round_id)?
        .into_iter()
        .map(|a| Assigned {
            receipt: a.receipt,
            expert: experts.get(&a.expert).cloned().unwrap_or_default(),
        })
        .collect())
}

/// Staff change one assignment: take `remove` off the entry, put `add` on it (either may
/// be missing; at least one is given). The added expert is checked against every conflict
/// and must not already review the entry; the cap is staff's to exceed.
pub fn adjust(
    reg: &mut Registry,
    rubric: &Rubric,
    round_id: i64,
    receipt: &str,
    remove: Option<&str>,
    add: Option<&str>,
) -> Result<()> {
    let rp = RoundProblem::load(reg, rubric, round_id)?;
    rp.still_open("调整分配")?;
    let e = rp.entry_index(receipt)?;
    let current = reg.assignments(round_id)?;
    let ended = match remove {
        Some(email) => {
            let x = rp.expert_index(email)?;
            let row =
                rp.assignment_of(&current, receipt, x)
                    .ok_or_else(|| ReviewError::NotAssigned {
                        expert: email.to_string(),
                        receipt: receipt.to_string(),
                    })?;
            Some(row.id)
        }
        None => None,
    };
    let added = match add {
        Some(email) => {
            let x = rp.expert_index(email)?;
            if rp.assignment_of(&current, receipt, x).is_some() {
                return Err(ReviewError::AlreadyAssigned {
                    expert: email.to_string(),
                    receipt: receipt.to_string(),
                });
            }
            if let Some(c) = rp.problem.conflict(e, x) {
                return Err(ReviewError::Conflicted {
                    expert: email.to_string(),
                    receipt: receipt.to_string(),
                    why: conflict_text(c),
                });
            }
            Some(rp.experts[x].id)
        }
        None => None,
    };
    match (ended, added) {
        (Some(id), new) => {
            reg.swap_assignment(id, "adjusted", new.map(|x| (round_id, receipt, x, "staff")))?
        }
        (None, Some(x)) => reg.add_assignment(round_id, receipt, x, "staff")?,
        (None, None) => {}
    }
    Ok(())
}

/// An expert recuses from an entry: the conflict is recorded as declared, the assignment
/// ends and the next-best feasible expert takes it (returned; None when every other expert
/// is in conflict or at the cap: the entry is then short and staff add one with `adjust`).
/// The audit log's `review_recuse` row (by `actor`) is written in the same transaction.
pub fn recuse(
    reg: &mut Registry,
    rubric: &Rubric,
    round_id: i64,
    receipt: &str,
    email: &str,
    note: &str,
    actor: &str,
) -> Result<Option<String>> {
    let rp = RoundProblem::load(reg, rubric, round_id)?;
    rp.still_open("回避替换")?;
    let e = rp.entry_index(receipt)?;
    let x = rp.expert_index(email)?;
    let current = reg.assignments(round_id)?;
    let row = rp
        .assignment_of(&current, receipt, x)
        .ok_or_else(|| ReviewError::NotAssigned {
            expert: email.to_string(),
            receipt: receipt.to_string(),
        })?;
    let mut current = rp.current(reg)?;
    current[e].retain(|&y| y != x);
    let next = rp.problem.replacement(e, &current, &[x]);
    let replacement = next.map(|n| rp.experts[n].email.clone());
    let tx = reg.begin()?;
    tx.declare_conflict(rp.experts[x].id, &rp.entries[e].entry_key, receipt, note)?;
    tx.swap_assignment(
        row.id,
        "recused",
        next.map(|n| (round_id, receipt, rp.experts[n].id, "replacement")),
    )?;
    tx.audit(&crate::registry::NewAudit {
        actor,
        action: "review_recuse",
        object: &format!("review:{round_id}:{receipt}"),
        before: serde_json::json!({ "expert": rp.experts[x].email }).to_string(),
        after: serde_json::json!({ "replacement": replacement }).to_string(),
        note: Some(note),
    })?;
    tx.commit()?;
    Ok(replacement)
}

/// Scores as given (by the web page, a score sheet or the command line).
#[derive(Debug, Clone, Default)]
pub struct ScoreInput {
    /// Criterion key or name → points.
    pub scores: BTreeMap<String, f64>,
    pub comment: String,
    pub recommendation: Option<String>,
    /// Submitted (final until the round closes), or a saved draft.
    pub submit: bool,
}

/// A problem with given scores: its stable code, what it is about and the Chinese text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreProblem {
    pub code: &'static str,
    /// A criterion's key, `comment`, `recommendation`, or "" (the scores as a whole: a
    /// criterion the rubric does not have).
    pub field: String,
    pub text: String,
}

fn problem(code: &'static str, field: &str, text: String) -> ScoreProblem {
    ScoreProblem {
        code,
        field: field.to_string(),
        text,
    }
}

/// Checks scores against the rubric of a kind: every criterion scored within 0..=max,
/// no unknown criterion, a comment and a recommendation when submitted. Returns the
/// scores by key and the total, or every problem in Chinese.
pub fn validate_scores(
    rubric: &Rubric,
    kind: crate::kind::Kind,
    input: &ScoreInput,
) -> std::result::Result<(BTreeMap<String, f64>, f64), Vec<ScoreProblem>> {
    let criteria = rubric.criteria(kind);
    let mut problems = Vec::new();
    let mut by_key = BTreeMap::new();
    for (given, points) in &input.scores {
        match criteria
            .iter()
            .find(|c| &c.key == given || &c.name == given)
        {
            None => problems.push(problem(
                "unknown_criterion",
                "",
                format!("没有评分项“{given}”"),
            )),
            Some(c) => {
                if !(points.is_finite() && *points >= 0.0 && *points <= c.points as f64) {
                    problems.push(problem(
                        "score_out_of_range",
                        &c.key,
                        format!("{}：{} 分超出范围（0–{} 分）", c.name, points, c.points),
                    ));
                } else {
                    by_key.insert(c.key.clone(), *points);
                }
            }
        }
    }
    if input.submit {
        for c in criteria {
            if !input.scores.keys().any(|g| g == &c.key || g == &c.name) {
                problems.push(problem(
                    "missing_score",
                    &c.key,
                    format!("{}：未评分（0–{} 分）", c.name, c.points),
                ));
            }
        }
        if input.comment.trim().is_empty() {
            problems.push(problem(
                "missing_comment",
                "comment",
                "评审意见（评语）未填写".to_string(),
            ));
        }
        if input
            .recommendation
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
        {
            problems.push(problem(
                "missing_recommendation",
                "recommendation",
                format!(
                    "推荐意见未填写（可选：{}）",
                    rubric.settings.recommendations.join("、")
                ),
            ));
        }
    }
    if let Some(r) = &input.recommendation {
        if !r.trim().is_empty() && !rubric.is_recommendation(r.trim()) {
            problems.push(problem(
                "bad_recommendation",
                "recommendation",
                format!(
                    "推荐意见“{}”不是可选项（可选：{}）",
                    r.trim(),
                    rubric.settings.recommendations.join("、")
                ),
            ));
        }
    }
    if problems.is_empty() {
        let total = by_key.values().sum();
        Ok((by_key, total))
    } else {
        Err(problems)
    }
}

/// Records a new version of an expert's review of an entry (every save is kept). The
/// round must be published and not closed, the entry assigned to the expert.
#[allow(clippy::too_many_arguments)]
pub fn record_review(
    reg: &Registry,
    campaign: &Campaign,
    rubric: &Rubric,
    round_id: i64,
    email: &str,
    receipt: &str,
    input: &ScoreInput,
    via: &str,
    message: Option<i64>,
) -> Result<i64> {
    let new = check_review(
        reg, campaign, rubric, round_id, email, receipt, input, via, message,
    )?;
    Ok(reg.add_review(&new)?)
}

/// What [`record_review`] would record, checked (round open, entry assigned to the expert,
/// scores valid) but not written: for a caller that writes it in a transaction of its own
/// (the console, with its audit row).
#[allow(clippy::too_many_arguments)]
pub fn check_review(
    reg: &Registry,
    campaign: &Campaign,
    rubric: &Rubric,
    round_id: i64,
    email: &str,
    receipt: &str,
    input: &ScoreInput,
    via: &str,
    message: Option<i64>,
) -> Result<NewReview> {
    let r = round(reg, round_id)?;
    if r.state != "published" {
        return Err(ReviewError::WrongState {
            round: round_id,
            state: r.state,
            action: "评分",
        });
    }
    let expert = reg
        .expert_by_email(email)?
        .ok_or_else(|| ReviewError::NoExpert(email.to_string()))?;
    let assigned = reg
        .assignments(round_id)?
        .into_iter()
        .any(|a| a.receipt == receipt && a.expert == expert.id);
    if !assigned {
        return Err(ReviewError::NotAssigned {
            expert: email.to_string(),
            receipt: receipt.to_string(),
        });
    }
    let entry = reg
        .round_entries(round_id)?
        .into_iter()
        .find(|e| e.receipt == receipt)
        .ok_or_else(|| ReviewError::NotInRound {
            round: round_id,
            receipt: receipt.to_string(),
        })?;
    let kind = campaign
        .kind(&entry.kind)
        .ok_or_else(|| ReviewError::NoKind(entry.kind.clone(), kinds_list(campaign)))?;
    let (scores, total) = validate_scores(rubric, kind, input).map_err(|ps| {
        ReviewError::BadScores(
            ps.into_iter()
                .map(|p| p.text)
                .collect::<Vec<_>>()
                .join("；"),
        )
    })?;
    Ok(NewReview {
        round: round_id,
        receipt: receipt.to_string(),
        expert: expert.id,
        scores: serde_json::to_string(&scores).expect("numbers serialise"),
        total,
        comment: input.comment.trim().to_string(),
        recommendation: input
            .recommendation
            .as_deref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        submitted: input.submit,
        via: via.to_string(),
        message,
    })
}

/// Closes a round: reviews can no longer change.
pub fn close(reg: &Registry, round_id: i64) -> Result<()> {
    let r = round(reg, round_id)?;
    if r.state != "published" {
        return Err(ReviewError::WrongState {
            round: round_id,
            state: r.state,
            action: "结束",
        });
    }
    reg.set_round_state(round_id, "closed")?;
    Ok(())
}

/// The round's ranking from the submitted reviews in force.
pub fn ranking(reg: &Registry, rubric: &Rubric, round_id: i64) -> Result<Vec<Ranked>> {
    round(reg, round_id)?;
    let entries: Vec<aggregate::RoundEntry> = reg
        .round_entries(round_id)?
        .into_iter()
        .map(|e| aggregate::RoundEntry {
            receipt: e.receipt,
            kind: e.kind,
        })
        .collect();
    let experts: HashMap<i64, String> = reg
        .experts()?
        .into_iter()
        .map(|x| (x.id, x.email))
        .collect();
    let reviews: Vec<aggregate::Scored> = reg
        .current_reviews(round_id)?
        .into_iter()
        .filter(|r| r.submitted)
        .map(|r| aggregate::Scored {
            receipt: r.receipt,
            expert: experts.get(&r.expert).cloned().unwrap_or_default(),
            total: r.total,
            recommendation: r.recommendation.unwrap_or_default(),
        })
        .collect();
    Ok(aggregate::rank(
        &entries,
        &reviews,
        rubric.settings.discussion_spread,
    ))
}

/// A decision on an entry (择优推介).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// 推介
    Recommend,
    /// 不推介
    Decline,
}

impl Decision {
    pub fn parse(s: &str) -> Result<Decision> {
        match s.trim() {
            "推介" | "recommend" | "yes" => Ok(Decision::Recommend),
            "不推介" | "decline" | "no" => Ok(Decision::Decline),
            other => Err(ReviewError::BadDecision(other.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Recommend => "recommend",
            Decision::Decline => "decline",
        }
    }

    /// The Chinese word.
    pub fn text(self) -> &'static str {
        match self {
            Decision::Recommend => "推介",
            Decision::Decline => "不推介",
        }
    }
}

/// Records a decision (changeable until the round's decisions are published).
pub fn decide(
    reg: &Registry,
    round_id: i64,
    receipt: &str,
    decision: Decision,
    note: &str,
) -> Result<()> {
    let r = round(reg, round_id)?;
    if r.decisions_published_at.is_some() {
        return Err(ReviewError::DecisionsPublished(round_id));
    }
    if !reg
        .round_entries(round_id)?
        .iter()
        .any(|e| e.receipt == receipt)
    {
        return Err(ReviewError::NotInRound {
            round: round_id,
            receipt: receipt.to_string(),
        });
    }
    reg.add_decision(round_id, receipt, decision.as_str(), note.trim())?;
    Ok(())
}
