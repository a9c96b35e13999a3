//! 评审 and 推介: the staff side of expert review. Rounds (list, create), one round's
//! progress per expert and its assignment with the actions on it (compute the draft,
//! adjust, publish, remind now, close), the experts (add one, import an .xlsx), and the
//! ranking with the decisions, their spread over provinces, the progress against quotas
//! and targets, publication and an .xlsx export.
//!
//! Everything goes through [`crate::review::staff`], exactly as `lndx review …` does (each
//! action audited there). Admin and staff act; viewers see every page and no button (their
//! POSTs are 403); province and expert accounts get 404, as for a page that does not
//! exist. Every POST carries the session's CSRF token and our own Origin.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::auth::{Ctx, Role};
use super::render::{self, batch_name, kind_name, kinds_text, province_name};
use super::{run, Inner, Meta, WebError};
use crate::registry::Registry;
use crate::review::experts::ExpertInput;
use crate::review::staff::{self, Setup, Staff};
use crate::review::{self, Decision, ReviewError, RoundRequest};

/// The largest experts workbook taken.
const IMPORT_BYTES: usize = 5 * 1024 * 1024;

/// The routes of this module, merged into the console's router.
pub(super) fn routes() -> Router<super::State> {
    Router::new()
        .route("/rounds", get(rounds).post(create_round))
        .route("/rounds/{id}", get(round_page))
        .route("/rounds/{id}/{action}", post(round_action))
        .route("/experts", get(experts_page).post(add_expert))
        .route("/experts/conflict", post(declare_conflict))
        .route(
            "/experts/import",
            post(import_experts).layer(DefaultBodyLimit::max(IMPORT_BYTES + 64 * 1024)),
        )
        .route("/recommend", get(recommend))
        .route("/recommend.xlsx", get(recommend_xlsx))
        .route("/recommend/decide", post(decide))
        .route("/recommend/publish", post(publish_decisions))
}

/// Admin, staff and viewers see these pages (true: may act); everyone else is told there
/// is nothing here, and so is everyone when the campaign has no expert review.
fn sees(s: &Inner, ctx: &Ctx) -> Result<bool, WebError> {
    let (_, role) = ctx.user()?;
    setup(s)?;
    match role {
        Role::Admin | Role::Staff => Ok(true),
        Role::Viewer => Ok(false),
        Role::Province | Role::Expert => Err(WebError::NotFound),
    }
}

/// A POST: the role (404 / 403), the CSRF token and Origin; returns the actor.
fn may_act(s: &Inner, ctx: &Ctx, csrf: &str) -> Result<String, WebError> {
    let acts = sees(s, ctx)?;
    ctx.check_post(csrf)?;
    if !acts {
        return Err(WebError::Forbidden);
    }
    Ok(ctx.user()?.0.email.clone())
}

/// The review setup (rubric, wording, sender), or 404 when the campaign has no expert
/// review (no `review.toml`).
fn setup(s: &Inner) -> Result<&Setup, WebError> {
    s.console.review.as_ref().ok_or(WebError::NotFound)
}

fn staff<'a>(s: &'a Inner, actor: &'a str) -> Result<Staff<'a>, WebError> {
    Ok(Staff {
        campaign: s.console.campaign(),
        setup: setup(s)?,
        actor,
    })
}

/// A review refusal as it reaches a page: database trouble is an error page, anything else
/// a Chinese message with its code, shown on the page the action came from.
fn refusal(e: ReviewError) -> Result<(StatusCode, String), WebError> {
    match e {
        ReviewError::Registry(r) => Err(WebError::Registry(r)),
        ReviewError::NoRound(_) => Err(WebError::NotFound),
        e => {
            let status = match &e {
                ReviewError::WrongState { .. } | ReviewError::DecisionsPublished(_) => {
                    StatusCode::CONFLICT
                }
                _ => StatusCode::BAD_REQUEST,
            };
            Ok((status, format!("{e}（{}）", e.code())))
        }
    }
}

/// A review error where a page cannot be shown at all (an unknown round: 404).
fn page_error(e: ReviewError) -> WebError {
    refusal(e).err().unwrap_or(WebError::NotFound)
}

/// What a page shows after an action: a notice, or a refusal with its status.
#[derive(Default)]
struct Outcome {
    flash: Option<String>,
    error: Option<(StatusCode, String)>,
}

impl Outcome {
    fn done(flash: String) -> Outcome {
        Outcome {
            flash: Some(flash),
            error: None,
        }
    }
    fn refused(status: StatusCode, message: String) -> Outcome {
        Outcome {
            flash: None,
            error: Some((status, message)),
        }
    }
    fn of<T>(r: review::Result<T>, flash: impl FnOnce(T) -> String) -> Result<Outcome, WebError> {
        Ok(match r {
            Ok(v) => Outcome::done(flash(v)),
            Err(e) => Outcome {
                flash: None,
                error: Some(refusal(e)?),
            },
        })
    }
    fn status(&self) -> StatusCode {
        self.error.as_ref().map(|e| e.0).unwrap_or(StatusCode::OK)
    }
    fn message(&self) -> Option<String> {
        self.error.as_ref().map(|e| e.1.clone())
    }
}

fn state_label(state: &str) -> &'static str {
    match state {
        "draft" => "草案",
        "published" => "已发布",
        "closed" => "已结束",
        _ => "未知",
    }
}

/// Today in the campaign's zone.
fn today(s: &Inner) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&s.console.campaign().tz)
        .date_naive()
}

// ---------------------------------------------------------------------------------------
// 评审: the rounds

#[derive(Serialize)]
struct RoundView {
    id: i64,
    batch: String,
    kinds: String,
    per_entry: u32,
    cap: String,
    due: String,
    state: &'static str,
    state_key: String,
    entries: usize,
    experts: usize,
    submitted: usize,
    expected: usize,
    overdue: usize,
    decisions_published: bool,
}

fn round_view(
    s: &Inner,
    reg: &Registry,
    r: &crate::registry::RoundRow,
) -> Result<RoundView, WebError> {
    let submitted = reg
        .current_reviews(r.id)?
        .iter()
        .filter(|v| v.submitted)
        .count();
    Ok(round_view_of(
        s,
        r,
        &reg.assignments(r.id)?,
        submitted,
        reg.round_entries(r.id)?.len(),
    ))
}

/// [`round_view`] from what the caller already read.
fn round_view_of(
    s: &Inner,
    r: &crate::registry::RoundRow,
    assigned: &[crate::registry::AssignmentRow],
    submitted: usize,
    entries: usize,
) -> RoundView {
    let mut experts: Vec<i64> = assigned.iter().map(|a| a.expert).collect();
    experts.sort_unstable();
    experts.dedup();
    let past_due = chrono::NaiveDate::parse_from_str(&r.due, "%Y-%m-%d")
        .map(|d| today(s) > d)
        .unwrap_or(false);
    let overdue = if r.state == "published" && past_due {
        assigned.len().saturating_sub(submitted)
    } else {
        0
    };
    RoundView {
        id: r.id,
        batch: batch_name(s, Some(r.batch)),
        kinds: kinds_text(s, &r.kinds),
        per_entry: r.per_entry,
        cap: r
            .cap
            .map(|c| c.to_string())
            .unwrap_or_else(|| "自动".into()),
        due: r.due.clone(),
        state: state_label(&r.state),
        state_key: r.state.clone(),
        entries,
        experts: experts.len(),
        submitted,
        expected: assigned.len(),
        overdue,
        decisions_published: r.decisions_published_at.is_some(),
    }
}

fn rounds_page(
    s: &Inner,
    reg: &Registry,
    ctx: &Ctx,
    acts: bool,
    out: Outcome,
) -> Result<Response, WebError> {
    let rounds = reg
        .rounds()?
        .iter()
        .rev()
        .map(|r| round_view(s, reg, r))
        .collect::<Result<Vec<_>, _>>()?;
    let c = s.console.campaign();
    let batches: Vec<(String, String)> = c
        .batches
        .iter()
        .map(|b| (b.number.to_string(), b.name.clone()))
        .collect();
    let kinds: Vec<(String, String)> = c
        .kinds()
        .map(|k| (k.key().to_string(), c.kind_info(k).name.clone()))
        .collect();
    let body = render::page(
        s,
        ctx,
        "rounds.html",
        context! {
            rounds, batches, kinds, acts,
            experts => reg.experts()?.len(),
            per_entry => setup(s)?.rubric.settings.per_entry,
            flash => out.flash.clone(), error => out.message(),
        },
    )?;
    Ok((out.status(), Html(body)).into_response())
}

pub(super) async fn rounds(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let acts = sees(s, ctx)?;
        rounds_page(s, reg, ctx, acts, Outcome::default())
    })
    .await
}

/// The round form's fields; `kind` may come several times (one per ticked kind).
#[derive(Default)]
struct CreateForm {
    csrf: String,
    batch: String,
    kinds: Vec<String>,
    k: String,
    due: String,
    show_others: bool,
}

impl CreateForm {
    fn of(pairs: Vec<(String, String)>) -> CreateForm {
        let mut f = CreateForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "batch" => f.batch = v,
                "kind" if !v.trim().is_empty() => f.kinds.push(v.trim().to_string()),
                "show_others" => f.show_others = v == "1",
                "k" => f.k = v,
                "due" => f.due = v,
                _ => {}
            }
        }
        f
    }
}

pub(super) async fn create_round(
    State(s): State<super::State>,
    meta: Meta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = CreateForm::of(pairs);
    run(s, meta, move |s, reg, ctx| {
        let actor = may_act(s, ctx, &f.csrf)?;
        let per_entry = match f.k.trim() {
            "" => None,
            k => match k.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    let out = Outcome::refused(
                        StatusCode::BAD_REQUEST,
                        format!("每件评审专家数“{k}”不是整数（bad_per_entry）"),
                    );
                    return rounds_page(s, reg, ctx, true, out);
                }
            },
        };
        let req = RoundRequest {
            batch: f.batch.clone(),
            kinds: f.kinds.clone(),
            per_entry,
            cap: None,
            due: Some(f.due.trim().to_string()).filter(|d| !d.is_empty()),
            show_others: f.show_others,
        };
        let out = Outcome::of(staff(s, &actor)?.create_round(reg, &req), |id| {
            format!("已创建第 {id} 轮评审。")
        })?;
        rounds_page(s, reg, ctx, true, out)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// One round

#[derive(Serialize)]
struct ExpertProgress {
    name: String,
    email: String,
    assigned: usize,
    submitted: usize,
    drafts: usize,
    recused: i64,
    last_mail: String,
}

#[derive(Serialize)]
struct AssignedExpert {
    name: String,
    email: String,
    /// 已提交 / 草稿 / 未评
    status: &'static str,
    status_key: &'static str,
}

#[derive(Serialize)]
struct EntryRow {
    receipt: String,
    name: String,
    province: String,
    kind: String,
    experts: Vec<AssignedExpert>,
    short: u32,
}

fn mail_purpose(p: &str) -> &'static str {
    match p {
        "invitation" => "评审邀请",
        "reminder" => "催办",
        "complete" => "完成通知",
        "outcome" => "推介结果",
        "receipt" => "评分表回执",
        _ => "邮件",
    }
}

fn round_detail(
    s: &Inner,
    reg: &Registry,
    ctx: &Ctx,
    id: i64,
    acts: bool,
    out: Outcome,
    unservable: Vec<String>,
) -> Result<Response, WebError> {
    let r = review::round(reg, id).map_err(page_error)?;
    let experts = reg.experts()?;
    let by_id: HashMap<i64, &crate::registry::ExpertRow> =
        experts.iter().map(|x| (x.id, x)).collect();
    let assigned = reg.assignments(id)?;
    let reviews: HashMap<(String, i64), bool> = reg
        .current_reviews(id)?
        .into_iter()
        .map(|v| ((v.receipt, v.expert), v.submitted))
        .collect();
    let recused: HashMap<i64, i64> = reg.recusals(id)?.into_iter().collect();
    let mut last_mail: HashMap<String, String> = HashMap::new();
    for m in reg.review_mail_of_round(id)? {
        last_mail.insert(m.address, format!("{} {}", m.day, mail_purpose(&m.purpose)));
    }
    // Progress per expert with assignments in force (or recusals) in the round.
    let mut per: BTreeMap<i64, (usize, usize, usize)> = BTreeMap::new();
    for a in &assigned {
        let e = per.entry(a.expert).or_default();
        e.0 += 1;
        match reviews.get(&(a.receipt.clone(), a.expert)) {
            Some(true) => e.1 += 1,
            Some(false) => e.2 += 1,
            None => {}
        }
    }
    for x in recused.keys() {
        per.entry(*x).or_default();
    }
    let mut progress: Vec<ExpertProgress> = per
        .iter()
        .filter_map(|(x, (n, sub, drafts))| {
            by_id.get(x).map(|e| ExpertProgress {
                name: e.name.clone(),
                email: e.email.clone(),
                assigned: *n,
                submitted: *sub,
                drafts: *drafts,
                recused: recused.get(x).copied().unwrap_or(0),
                last_mail: last_mail.get(&e.email).cloned().unwrap_or_default(),
            })
        })
        .collect();
    progress.sort_by_key(|p| std::cmp::Reverse(p.assigned - p.submitted));
    let entries = reg.round_entries(id)?;
    let submitted = reviews.values().filter(|s| **s).count();
    let view = round_view_of(s, &r, &assigned, submitted, entries.len());
    let mut per_entry: HashMap<&str, Vec<AssignedExpert>> = HashMap::new();
    for a in &assigned {
        let Some(x) = by_id.get(&a.expert) else {
            continue;
        };
        let (status, status_key) = match reviews.get(&(a.receipt.clone(), a.expert)) {
            Some(true) => ("已提交", "valid"),
            Some(false) => ("草稿", "pending"),
            None => ("未评", "none"),
        };
        per_entry
            .entry(a.receipt.as_str())
            .or_default()
            .push(AssignedExpert {
                name: x.name.clone(),
                email: x.email.clone(),
                status,
                status_key,
            });
    }
    let rows: Vec<EntryRow> = entries
        .iter()
        .map(|e| {
            let experts = per_entry.remove(e.receipt.as_str()).unwrap_or_default();
            EntryRow {
                receipt: e.receipt.clone(),
                name: e.name.clone(),
                province: province_name(s, e.province.as_deref()),
                kind: kind_name(s, &e.kind),
                short: r.per_entry.saturating_sub(experts.len() as u32),
                experts,
            }
        })
        .collect();
    let has_assignment = !assigned.is_empty();
    let expert_choices: Vec<(String, String)> = experts
        .iter()
        .map(|x| {
            (
                x.email.clone(),
                format!(
                    "{}（{}{}）",
                    x.name,
                    province_name(s, x.province.as_deref()),
                    x.unit
                        .as_deref()
                        .map(|u| format!("，{u}"))
                        .unwrap_or_default()
                ),
            )
        })
        .collect();
    let body = render::page(
        s,
        ctx,
        "round.html",
        context! {
            r => view, progress, rows, acts, has_assignment, expert_choices, unservable,
            flash => out.flash.clone(), error => out.message(),
        },
    )?;
    Ok((out.status(), Html(body)).into_response())
}

pub(super) async fn round_page(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let acts = sees(s, ctx)?;
        round_detail(s, reg, ctx, id, acts, Outcome::default(), Vec::new())
    })
    .await
}

#[derive(Deserialize, Default)]
pub(super) struct RoundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    remove: String,
    #[serde(default)]
    add: String,
}

pub(super) async fn round_action(
    State(s): State<super::State>,
    meta: Meta,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<RoundForm>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let actor = may_act(s, ctx, &f.csrf)?;
        let st = staff(s, &actor)?;
        let now = chrono::Utc::now();
        let mut unservable = Vec::new();
        let out = match action.as_str() {
            "assign" => match st.draft(reg, id) {
                Ok(list) => Outcome::done(format!("已计算分配草案：共 {} 条分配。", list.len())),
                Err(ReviewError::Unservable { k, entries, list }) => {
                    unservable = list.lines().map(|l| l.trim().to_string()).collect();
                    Outcome::refused(
                        StatusCode::CONFLICT,
                        format!(
                            "无法为所有作品分配 {k} 位专家：{} 件作品无法满足，原因见下（unservable_entries）",
                            entries.len()
                        ),
                    )
                }
                Err(e) => Outcome::of(Err(e), |()| String::new())?,
            },
            "adjust" => {
                let opt = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(String::from);
                let (remove, add) = (opt(&f.remove), opt(&f.add));
                if f.receipt.trim().is_empty() || (remove.is_none() && add.is_none()) {
                    Outcome::refused(
                        StatusCode::BAD_REQUEST,
                        "请选择作品，以及要替换下的专家和/或要加入的专家。".into(),
                    )
                } else {
                    let receipt = f.receipt.trim().to_string();
                    Outcome::of(
                        st.adjust(reg, id, &receipt, remove.as_deref(), add.as_deref()),
                        |()| format!("已调整 {receipt} 的评审专家。"),
                    )?
                }
            }
            "publish" => Outcome::of(st.publish(reg, id, now), |q| {
                format!("已发布，已向 {} 位专家发出评审邀请。", q.len())
            })?,
            "remind" => Outcome::of(st.remind_now(reg, id, now), |(q, left)| {
                let mut m = format!("已向 {} 位专家发出催办邮件。", q.len());
                if !left.is_empty() {
                    m.push_str(&format!(
                        "{} 位专家今天已收到评审邮件，未再发送：{}。",
                        left.len(),
                        left.join("、")
                    ));
                }
                m
            })?,
            "close" => Outcome::of(st.close(reg, id), |()| "本轮评审已结束。".to_string())?,
            _ => return Err(WebError::NotFound),
        };
        round_detail(s, reg, ctx, id, true, out, unservable)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Experts

#[derive(Serialize)]
struct ExpertView {
    name: String,
    email: String,
    province: String,
    unit: String,
    expertise: String,
}

fn experts_view(
    s: &Inner,
    reg: &Registry,
    ctx: &Ctx,
    acts: bool,
    out: Outcome,
    problems: Vec<crate::review::experts::RowProblem>,
) -> Result<Response, WebError> {
    let experts: Vec<ExpertView> = reg
        .experts()?
        .into_iter()
        .map(|x| ExpertView {
            province: province_name(s, x.province.as_deref()),
            unit: x.unit.unwrap_or_default(),
            expertise: x
                .kinds
                .iter()
                .map(|k| kind_name(s, k))
                .chain(x.themes.iter().cloned())
                .collect::<Vec<_>>()
                .join("、"),
            name: x.name,
            email: x.email,
        })
        .collect();
    let body = render::page(
        s,
        ctx,
        "experts.html",
        context! {
            experts, acts, problems, limit_mb => IMPORT_BYTES / (1024 * 1024),
            flash => out.flash.clone(), error => out.message(),
        },
    )?;
    Ok((out.status(), Html(body)).into_response())
}

pub(super) async fn experts_page(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let acts = sees(s, ctx)?;
        experts_view(s, reg, ctx, acts, Outcome::default(), Vec::new())
    })
    .await
}

#[derive(Deserialize, Default)]
pub(super) struct ExpertForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    expertise: String,
}

pub(super) async fn add_expert(
    State(s): State<super::State>,
    meta: Meta,
    Form(f): Form<ExpertForm>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let actor = may_act(s, ctx, &f.csrf)?;
        let x = ExpertInput {
            email: f.email.clone(),
            name: f.name.clone(),
            province: f.province.clone(),
            unit: f.unit.clone(),
            expertise: f.expertise.clone(),
        };
        let out = Outcome::of(staff(s, &actor)?.add_expert(reg, &x), |(added, account)| {
            let email = x.email.trim().to_lowercase();
            format!(
                "{}：{email}。{}",
                if added {
                    "已添加专家"
                } else {
                    "已更新专家"
                },
                account.text(&email)
            )
        })?;
        experts_view(s, reg, ctx, true, out, Vec::new())
    })
    .await
}

#[derive(Deserialize, Default)]
pub(super) struct ConflictForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    note: String,
}

/// 登记回避关系: an expert must never be given an entry (their own unit's work, a
/// student's, whatever they declared), in this round and every later one.
pub(super) async fn declare_conflict(
    State(s): State<super::State>,
    meta: Meta,
    Form(f): Form<ConflictForm>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let actor = may_act(s, ctx, &f.csrf)?;
        let note = f.note.trim();
        let out = Outcome::of(
            staff(s, &actor)?.declare_conflict(reg, &f.email, &f.receipt, note),
            |()| {
                format!(
                    "已登记回避：{} 不再评审 {}。已分配的评审请在评审轮次中调整。",
                    f.email.trim().to_lowercase(),
                    f.receipt.trim()
                )
            },
        )?;
        experts_view(s, reg, ctx, true, out, Vec::new())
    })
    .await
}

pub(super) async fn import_experts(
    State(s): State<super::State>,
    meta: Meta,
    multipart: Multipart,
) -> Response {
    let up = super::upload::Upload::read(multipart).await;
    let csrf = up.csrf;
    let too_large = up.problem.is_some();
    let file: Option<Vec<u8>> = up.files.into_iter().map(|(_, b)| b).find(|b| !b.is_empty());
    run(s, meta, move |s, reg, ctx| {
        let actor = may_act(s, ctx, &csrf)?;
        if too_large || file.as_ref().is_some_and(|b| b.len() > IMPORT_BYTES) {
            return Err(WebError::TooLarge);
        }
        let Some(bytes) = file else {
            let out = Outcome::refused(
                StatusCode::BAD_REQUEST,
                "请选择专家名单文件（.xlsx）。".into(),
            );
            return experts_view(s, reg, ctx, true, out, Vec::new());
        };
        match staff(s, &actor)?.import_experts(reg, &bytes) {
            Ok(report) => {
                let out = Outcome::done(format!(
                    "导入完成：新增 {} 位，更新 {} 位，未导入 {} 行。",
                    report.added,
                    report.updated,
                    report.problems.len()
                ));
                experts_view(s, reg, ctx, true, out, report.problems)
            }
            Err(e) => {
                let out = Outcome::of(Err(e), |()| String::new())?;
                experts_view(s, reg, ctx, true, out, Vec::new())
            }
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// 推介

#[derive(Deserialize, Default, Clone)]
pub(super) struct RecommendParams {
    round: Option<i64>,
    /// A kind key; empty: every kind.
    #[serde(default)]
    kind: String,
    /// `1`: only entries flagged for discussion.
    #[serde(default)]
    flagged: String,
    /// `recommend`, `decline`, `none` (undecided); empty: all.
    #[serde(default)]
    decision: String,
}

#[derive(Serialize)]
struct RankRow {
    receipt: String,
    name: String,
    province: String,
    kind: String,
    rank: usize,
    mean: String,
    median: String,
    mean_z: String,
    spread: String,
    reviews: usize,
    flags: String,
    decision: String,
    decision_label: &'static str,
    note: String,
}

fn figure(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into())
}

fn flag_text(f: &str) -> &'static str {
    match f {
        "spread" => "分差大",
        "recommendations" => "推荐意见不一",
        _ => "待讨论",
    }
}

fn decision_label(d: Option<&str>) -> &'static str {
    d.and_then(|k| Decision::parse(k).ok())
        .map_or("未定", Decision::text)
}

/// The board's rows as filtered.
fn rank_rows(s: &Inner, board: &staff::Board, p: &RecommendParams) -> Vec<RankRow> {
    board
        .rows
        .iter()
        .filter(|r| p.kind.is_empty() || r.ranked.kind == p.kind)
        .filter(|r| p.flagged.is_empty() || r.ranked.flagged)
        .filter(|r| match p.decision.as_str() {
            "" => true,
            "none" => r.decision.is_none(),
            d => r.decision.as_deref() == Some(d),
        })
        .map(|r| RankRow {
            receipt: r.ranked.receipt.clone(),
            name: r.name.clone(),
            province: province_name(s, Some(&r.province)),
            kind: kind_name(s, &r.ranked.kind),
            rank: r.ranked.rank,
            mean: figure(r.ranked.mean),
            median: figure(r.ranked.median),
            mean_z: figure(r.ranked.mean_z),
            spread: figure(r.ranked.spread),
            reviews: r.ranked.reviews,
            flags: r
                .ranked
                .flags
                .iter()
                .map(|f| flag_text(f))
                .collect::<Vec<_>>()
                .join("、"),
            decision: r.decision.clone().unwrap_or_default(),
            decision_label: decision_label(r.decision.as_deref()),
            note: r.note.clone(),
        })
        .collect()
}

/// The query string of the filters (for the export link and the forms' way back).
fn filter_query(p: &RecommendParams, round: i64) -> String {
    let mut q = format!("round={round}");
    for (k, v) in [
        ("kind", &p.kind),
        ("flagged", &p.flagged),
        ("decision", &p.decision),
    ] {
        if !v.is_empty() {
            q.push_str(&format!("&{k}={}", super::pages::percent(v)));
        }
    }
    q
}

fn recommend_view(
    s: &Inner,
    reg: &Registry,
    ctx: &Ctx,
    acts: bool,
    p: RecommendParams,
    out: Outcome,
) -> Result<Response, WebError> {
    let all = reg.rounds()?;
    let rounds: Vec<(String, String)> = all
        .iter()
        .rev()
        .map(|r| {
            (
                r.id.to_string(),
                format!(
                    "第 {} 轮（{}，{}，{}）",
                    r.id,
                    batch_name(s, Some(r.batch)),
                    kinds_text(s, &r.kinds),
                    state_label(&r.state)
                ),
            )
        })
        .collect();
    let Some(id) = p.round.or_else(|| all.last().map(|r| r.id)) else {
        let body = render::page(
            s,
            ctx,
            "recommend.html",
            context! { rounds, acts, flash => out.flash.clone(), error => out.message() },
        )?;
        return Ok((out.status(), Html(body)).into_response());
    };
    let c = s.console.campaign();
    let board = staff::board(reg, c, &setup(s)?.rubric, id).map_err(page_error)?;
    let rows = rank_rows(s, &board, &p);
    let progress: Vec<minijinja::Value> = board
        .kinds
        .iter()
        .map(|k| {
            context! {
                kind => kind_name(s, &k.kind), recommended => k.recommended, quota => k.quota,
                recommended_all => k.recommended_all, target => k.target,
            }
        })
        .collect();
    let mut provinces: Vec<(String, usize)> = board
        .provinces
        .iter()
        .map(|(code, n)| (province_name(s, Some(code)), *n))
        .collect();
    provinces.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let r = review::round(reg, id).map_err(|_| WebError::NotFound)?;
    let kinds: Vec<(String, String)> = r
        .kinds
        .iter()
        .map(|k| (k.clone(), kind_name(s, k)))
        .collect();
    let decided = board.rows.iter().filter(|r| r.decision.is_some()).count();
    let body = render::page(
        s,
        ctx,
        "recommend.html",
        context! {
            rounds, acts, rows, progress, provinces, kinds, decided,
            total => board.rows.len(),
            round => context! { id, batch => batch_name(s, Some(r.batch)), kinds => kinds_text(s, &r.kinds), state => state_label(&r.state) },
            published => board.published,
            query => filter_query(&p, id),
            f => context! { round => id.to_string(), kind => p.kind.clone(), flagged => p.flagged.clone(), decision => p.decision.clone() },
            flash => out.flash.clone(), error => out.message(),
        },
    )?;
    Ok((out.status(), Html(body)).into_response())
}

pub(super) async fn recommend(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<RecommendParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let acts = sees(s, ctx)?;
        recommend_view(s, reg, ctx, acts, p, Outcome::default())
    })
    .await
}

pub(super) async fn recommend_xlsx(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<RecommendParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        sees(s, ctx)?;
        let id = p.round.ok_or(WebError::NotFound)?;
        let board =
            staff::board(reg, s.console.campaign(), &setup(s)?.rubric, id).map_err(page_error)?;
        let head = [
            "类别",
            "名次",
            "回执编号",
            "名称",
            "省份",
            "平均分",
            "中位数",
            "平均标准分",
            "分差",
            "评审数",
            "待讨论",
            "推介结论",
            "说明",
        ];
        let rows = rank_rows(s, &board, &p)
            .into_iter()
            .map(|r| {
                vec![
                    r.kind,
                    r.rank.to_string(),
                    r.receipt,
                    r.name,
                    r.province,
                    r.mean,
                    r.median,
                    r.mean_z,
                    r.spread,
                    r.reviews.to_string(),
                    r.flags,
                    r.decision_label.to_string(),
                    r.note,
                ]
            })
            .collect();
        let bytes = super::export::workbook("推介", &head, rows)?;
        Ok(super::pages::download(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("推介-第{id}轮.xlsx"),
        ))
    })
    .await
}

#[derive(Deserialize, Default)]
pub(super) struct DecideForm {
    #[serde(default)]
    csrf: String,
    round: i64,
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    /// The filters to return to.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    flagged: String,
    #[serde(default)]
    filter_decision: String,
}

pub(super) async fn decide(
    State(s): State<super::State>,
    meta: Meta,
    Form(f): Form<DecideForm>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let actor = may_act(s, ctx, &f.csrf)?;
        let receipt = f.receipt.trim().to_string();
        let st = staff(s, &actor)?;
        let done = Decision::parse(&f.decision)
            .and_then(|d| st.decide(reg, f.round, &receipt, d, &f.note).map(|()| d));
        let out = Outcome::of(done, |d| format!("{receipt}：{}", d.text()))?;
        let p = RecommendParams {
            round: Some(f.round),
            kind: f.kind.clone(),
            flagged: f.flagged.clone(),
            decision: f.filter_decision.clone(),
        };
        recommend_view(s, reg, ctx, true, p, out)
    })
    .await
}

#[derive(Deserialize, Default)]
pub(super) struct PublishForm {
    #[serde(default)]
    csrf: String,
    round: i64,
}

pub(super) async fn publish_decisions(
    State(s): State<super::State>,
    meta: Meta,
    Form(f): Form<PublishForm>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let actor = may_act(s, ctx, &f.csrf)?;
        let out = Outcome::of(staff(s, &actor)?.publish_decisions(reg, f.round), |q| {
            format!("推介结果已发布，已向 {} 个省份发送结果。", q.len())
        })?;
        let p = RecommendParams {
            round: Some(f.round),
            ..RecommendParams::default()
        };
        recommend_view(s, reg, ctx, true, p, out)
    })
    .await
}
