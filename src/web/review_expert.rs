//! 我的评审: the expert's side of 专家评议. An expert account sees its assignments in
//! published rounds (`/review`), and per assignment (`/review/{id}`) the entry as on the
//! form with its original file, the rubric of the entry's kind with number inputs, a
//! comment and an overall recommendation; it saves drafts, submits, and recuses (replaced
//! by `review::recuse`). Every save is a new version (`review::record_review`, checked by
//! `review::validate_scores`, whose Chinese problems are shown beside their fields); the
//! page lists the expert's own earlier versions. After the round closes the page is
//! read-only. A small script of our own (`/static/review.js`) adds the live total; without
//! it the page works the same and the server computes the total on save.
//!
//! Object checks: an expert sees only its own assignments, in published or closed rounds;
//! anything else (another expert's assignment, a draft round, an assignment the expert
//! recused from) is 404 like a missing one. A province account gets 404 for every page
//! here; staff, admin and viewer get 403 (they follow review on the staff pages, which
//! show what they may see of every expert). Every POST checks the CSRF token and Origin
//! and is written to the audit log in the transaction of its change.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::auth::{Ctx, Role};
use super::pages::{entry_view, field_views, send_file};
use super::render::{self, batch_name, kind_name, kinds_text, local_time};
use super::{run, Inner, Meta, WebError};
use crate::registry::{ExpertAssignment, ExpertRow, NewAudit, Registry, ReviewRow, RoundRow};
use crate::review::{self, ScoreInput};

/// The live total, served from the binary.
const SCRIPT: &str = include_str!("templates/review.js");

pub(super) async fn script() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The signed-in expert: an expert account (province accounts: 404; other roles: 403),
/// and its expert row when it has one.
fn expert(ctx: &Ctx, reg: &Registry) -> Result<(String, Option<ExpertRow>), WebError> {
    let (u, role) = ctx.user()?;
    match role {
        Role::Expert => Ok((u.email.clone(), reg.expert_by_email(&u.email)?)),
        Role::Province => Err(WebError::NotFound),
        _ => Err(WebError::Forbidden),
    }
}

/// The rubric, or 404 when the campaign has no expert review.
fn rubric(s: &Inner) -> Result<&crate::review::Rubric, WebError> {
    s.console
        .review
        .as_ref()
        .map(|r| &r.rubric)
        .ok_or(WebError::NotFound)
}

/// An assignment of the signed-in expert, with its round (published or closed) and the
/// expert; anything else is 404.
struct Mine {
    a: ExpertAssignment,
    round: RoundRow,
    expert: ExpertRow,
}

fn mine(s: &Inner, ctx: &Ctx, reg: &Registry, id: i64) -> Result<Mine, WebError> {
    rubric(s)?;
    let (_, x) = expert(ctx, reg)?;
    let expert = x.ok_or(WebError::NotFound)?;
    let a = reg
        .expert_assignments(expert.id)?
        .into_iter()
        .find(|a| a.id == id && !a.recused)
        .ok_or(WebError::NotFound)?;
    let round = reg.round(a.round)?.ok_or(WebError::NotFound)?;
    // Only rounds experts were invited to (an allow-list: a new state stays hidden).
    if !matches!(round.state.as_str(), "published" | "closed") {
        return Err(WebError::NotFound);
    }
    Ok(Mine { a, round, expert })
}

/// The state of a review as the expert's list shows it: (key, Chinese).
fn state_of(recused: bool, latest: Option<&ReviewRow>) -> (&'static str, &'static str) {
    match (recused, latest) {
        (true, _) => ("recused", "已回避"),
        (false, None) => ("todo", "未开始"),
        (false, Some(v)) if v.submitted => ("submitted", "已提交"),
        (false, Some(_)) => ("draft", "草稿"),
    }
}

fn points(p: f64) -> String {
    let r = (p * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    recused: Option<String>,
}

/// `/review`: the expert's assignments, per round: open rounds first, then closed ones
/// (read-only).
pub(super) async fn list(
    State(s): State<super::State>,
    meta: Meta,
    Query(q): Query<ListQuery>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        rubric(s)?;
        let (_, x) = expert(ctx, reg)?;
        // Per round: the entries, and how many are still to do (not started or draft).
        let mut rounds: BTreeMap<i64, (Vec<minijinja::Value>, usize)> = BTreeMap::new();
        if let Some(x) = &x {
            for a in reg.expert_assignments(x.id)? {
                let versions = reg.review_versions(a.round, &a.receipt, x.id)?;
                let (key, label) = state_of(a.recused, versions.last());
                let entry = reg.entry_and_file(&a.receipt)?.map(|(e, _)| e);
                let round = rounds.entry(a.round).or_default();
                round.1 += usize::from(matches!(key, "todo" | "draft"));
                round.0.push(context! {
                    id => a.id,
                    receipt => a.receipt,
                    name => entry.as_ref().map(|e| e.name.clone()).unwrap_or_default(),
                    kind => entry.as_ref().map(|e| kind_name(s, &e.kind)).unwrap_or_default(),
                    state => key,
                    state_label => label,
                    total => versions.last().map(|v| points(v.total)),
                    link => !a.recused,
                });
            }
        }
        let mut open = Vec::new();
        let mut closed = Vec::new();
        for (id, (entries, todo)) in rounds {
            let Some(r) = reg.round(id)? else { continue };
            let view = context! {
                id,
                batch => batch_name(s, Some(r.batch)),
                kinds => kinds_text(s, &r.kinds),
                due => crate::text::date_cn(&r.due),
                todo,
                entries,
            };
            match r.state.as_str() {
                "published" => open.push(view),
                "closed" => closed.push(view),
                _ => {}
            }
        }
        render::html(
            s,
            ctx,
            "review_mine.html",
            context! { open, closed, recused => q.recused, expert => x.is_some() },
        )
    })
    .await
}

/// One criterion as the form shows it.
#[derive(Serialize)]
struct CriterionView {
    key: String,
    name: String,
    points: u32,
    hint: String,
    value: String,
    errors: Vec<String>,
}

/// What the form holds: as saved last, or as just posted (with its problems).
#[derive(Default)]
struct Filled {
    values: HashMap<String, String>,
    comment: String,
    recommendation: String,
    /// Problems by field (criterion key, `comment`, `recommendation`, `` for the form).
    errors: HashMap<String, Vec<String>>,
}

impl Filled {
    fn from_version(v: &ReviewRow) -> Filled {
        let scores: BTreeMap<String, f64> = serde_json::from_str(&v.scores).unwrap_or_default();
        Filled {
            values: scores.into_iter().map(|(k, p)| (k, points(p))).collect(),
            comment: v.comment.clone(),
            recommendation: v.recommendation.clone().unwrap_or_default(),
            errors: HashMap::new(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct FormQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// Renders the review page of an assignment.
fn form_page(
    s: &Inner,
    reg: &Registry,
    ctx: &Ctx,
    m: &Mine,
    filled: Option<Filled>,
    flash: Option<&str>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (e, file) = reg
        .entry_and_file(&m.a.receipt)?
        .ok_or(WebError::NotFound)?;
    let campaign = s.console.campaign();
    let kind = campaign.kind(&e.kind).ok_or(WebError::NotFound)?;
    let rubric = rubric(s)?;
    let versions = reg.review_versions(m.round.id, &m.a.receipt, m.expert.id)?;
    let filled = filled.unwrap_or_else(|| {
        versions
            .last()
            .map(Filled::from_version)
            .unwrap_or_default()
    });
    let criteria: Vec<CriterionView> = rubric
        .criteria(kind)
        .iter()
        .map(|c| CriterionView {
            key: c.key.clone(),
            name: c.name.clone(),
            points: c.points,
            hint: c.hint.clone(),
            value: filled.values.get(&c.key).cloned().unwrap_or_default(),
            errors: filled.errors.get(&c.key).cloned().unwrap_or_default(),
        })
        .collect();
    let total: f64 = criteria
        .iter()
        .filter_map(|c| c.value.trim().parse::<f64>().ok())
        .filter(|p| p.is_finite())
        .sum();
    let version_views: Vec<minijinja::Value> = versions
        .iter()
        .rev()
        .map(|v| {
            context! {
                at => local_time(s, &v.created_at),
                total => points(v.total),
                submitted => v.submitted,
                recommendation => v.recommendation.clone().unwrap_or_default(),
            }
        })
        .collect();
    // Others' submitted scores of this entry, without names, once this expert's own review
    // is submitted and the round shows them (None: the section is not shown at all).
    let others: Option<Vec<minijinja::Value>> =
        if m.round.show_others && versions.last().is_some_and(|v| v.submitted) {
            Some(
                reg.current_reviews(m.round.id)?
                    .into_iter()
                    .filter(|v| v.receipt == m.a.receipt && v.expert != m.expert.id && v.submitted)
                    .map(|v| {
                        let given: HashMap<String, f64> =
                            serde_json::from_str(&v.scores).unwrap_or_default();
                        let scores: Vec<(String, String)> = rubric
                            .criteria(kind)
                            .iter()
                            .filter_map(|c| {
                                let p = given.get(&c.key)?;
                                Some((c.name.clone(), points(*p)))
                            })
                            .collect();
                        context! {
                            total => points(v.total),
                            recommendation => v.recommendation.unwrap_or_default(),
                            comment => v.comment,
                            scores,
                        }
                    })
                    .collect(),
            )
        } else {
            None
        };
    let (state, state_label) = state_of(false, versions.last());
    let err = |k: &str| filled.errors.get(k).cloned().unwrap_or_default();
    let body = render::page(
        s,
        ctx,
        "review_form.html",
        context! {
            id => m.a.id,
            e => entry_view(s, &e),
            fields => field_views(s, &e),
            file => reg.file_row(file)?.map(|f| context! { name => f.filename, size => f.size }),
            round => context! {
                id => m.round.id,
                batch => batch_name(s, Some(m.round.batch)),
                due => crate::text::date_cn(&m.round.due),
            },
            open => m.round.state == "published",
            criteria,
            total => points(total),
            max_total => rubric.max_total(kind),
            comment => filled.comment,
            recommendation => filled.recommendation,
            options => rubric.settings.recommendations.clone(),
            comment_errors => err("comment"),
            recommendation_errors => err("recommendation"),
            form_errors => err(""),
            recuse_errors => err("recuse"),
            versions => version_views,
            others,
            state, state_label,
            flash,
        },
    )?;
    Ok((status, Html(body)).into_response())
}

/// `/review/{id}`: the review page.
pub(super) async fn form(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
    Query(q): Query<FormQuery>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let m = mine(s, ctx, reg, id)?;
        let flash = match q.saved.as_deref() {
            Some("draft") => Some("草稿已保存。"),
            Some("submitted") => Some("评分已提交。本轮结束前仍可修改，修改后请再次提交。"),
            _ => None,
        };
        form_page(s, reg, ctx, &m, None, flash, StatusCode::OK)
    })
    .await
}

/// `/review/{id}/file`: the entry's original file (only the assigned expert's).
pub(super) async fn file(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let m = mine(s, ctx, reg, id)?;
        let (_, file) = reg
            .entry_and_file(&m.a.receipt)?
            .ok_or(WebError::NotFound)?;
        let f = reg.file_row(file)?.ok_or(WebError::NotFound)?;
        send_file(s, reg, &f)
    })
    .await
}

/// A version as the audit log keeps it.
fn version_json(v: Option<&ReviewRow>) -> serde_json::Value {
    match v {
        None => serde_json::Value::Null,
        Some(v) => serde_json::json!({
            "total": v.total,
            "submitted": v.submitted,
            "recommendation": v.recommendation,
        }),
    }
}

/// The round is closed (or otherwise not open): nothing is recorded.
fn closed_problem() -> String {
    "本轮评审已结束，评分不能再修改。".to_string()
}

/// `POST /review/{id}`: saves a draft (`action=save`) or submits (`action=submit`).
pub(super) async fn save(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let get = |k: &str| {
            f.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        ctx.check_post(&get("csrf"))?;
        let m = mine(s, ctx, reg, id)?;
        let submit = get("action") == "submit";
        let (e, _) = reg
            .entry_and_file(&m.a.receipt)?
            .ok_or(WebError::NotFound)?;
        let kind = s
            .console
            .campaign()
            .kind(&e.kind)
            .ok_or(WebError::NotFound)?;
        let criteria = rubric(s)?.criteria(kind);
        let mut filled = Filled {
            comment: get("comment"),
            recommendation: get("recommendation"),
            ..Filled::default()
        };
        let mut input = ScoreInput {
            comment: filled.comment.clone(),
            recommendation: Some(filled.recommendation.trim().to_string())
                .filter(|r| !r.is_empty()),
            submit,
            ..ScoreInput::default()
        };
        for c in criteria {
            let v = get(&format!("s_{}", c.key)).trim().to_string();
            if v.is_empty() {
                continue;
            }
            match v.parse::<f64>() {
                Ok(p) if p.is_finite() => {
                    input.scores.insert(c.key.clone(), p);
                }
                _ => filled
                    .errors
                    .entry(c.key.clone())
                    .or_default()
                    .push(format!(
                        "{}：“{}”不是分数，请填写 0–{} 之间的数字",
                        c.name, v, c.points
                    )),
            }
            filled.values.insert(c.key.clone(), v);
        }
        if m.round.state != "published" {
            filled
                .errors
                .entry(String::new())
                .or_default()
                .push(closed_problem());
        }
        if filled.errors.is_empty() {
            if let Err(problems) = review::validate_scores(rubric(s)?, kind, &input) {
                for p in problems {
                    filled.errors.entry(p.field).or_default().push(p.text);
                }
            }
        }
        if !filled.errors.is_empty() {
            return form_page(
                s,
                reg,
                ctx,
                &m,
                Some(filled),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        let before = reg
            .review_versions(m.round.id, &m.a.receipt, m.expert.id)?
            .pop();
        let checked = review::check_review(
            reg,
            s.console.campaign(),
            rubric(s)?,
            m.round.id,
            &m.expert.email,
            &m.a.receipt,
            &input,
            "web",
            None,
        );
        let new = match checked {
            Ok(n) => n,
            Err(review::ReviewError::Registry(r)) => return Err(WebError::Registry(r)),
            Err(other) => {
                filled
                    .errors
                    .entry(String::new())
                    .or_default()
                    .push(other.to_string());
                return form_page(
                    s,
                    reg,
                    ctx,
                    &m,
                    Some(filled),
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
        };
        // The version and its audit row in one transaction.
        let actor = ctx.user()?.0.email.clone();
        let object = format!("review:{}:{}", m.round.id, m.a.receipt);
        let after = serde_json::json!({
            "total": new.total,
            "submitted": new.submitted,
            "recommendation": new.recommendation,
        });
        let tx = reg.begin()?;
        tx.add_review(&new)?;
        tx.audit(&NewAudit {
            actor: &actor,
            action: if submit {
                "review_submit"
            } else {
                "review_save"
            },
            object: &object,
            before: version_json(before.as_ref()).to_string(),
            after: after.to_string(),
            note: None,
        })?;
        tx.commit()?;
        let saved = if submit { "submitted" } else { "draft" };
        Ok(Redirect::to(&format!("/review/{id}?saved={saved}")).into_response())
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct RecuseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /review/{id}/recuse`: the expert recuses (a reason is required); the next-best
/// expert free of conflicts takes the entry.
pub(super) async fn recuse(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
    Form(f): Form<RecuseForm>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        let m = mine(s, ctx, reg, id)?;
        let reason = f.reason.trim().to_string();
        let mut problem = None;
        if m.round.state != "published" {
            problem = Some(closed_problem());
        } else if reason.is_empty() {
            problem = Some("请填写回避理由（例如：本单位作品、曾指导该作品）。".to_string());
        }
        if let Some(p) = problem {
            // What was saved stays in the form; the problem is shown beside the recusal.
            let mut with = reg
                .review_versions(m.round.id, &m.a.receipt, m.expert.id)?
                .last()
                .map(Filled::from_version)
                .unwrap_or_default();
            with.errors.insert("recuse".to_string(), vec![p]);
            return form_page(
                s,
                reg,
                ctx,
                &m,
                Some(with),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        let actor = ctx.user()?.0.email.clone();
        let replaced = review::recuse(
            reg,
            rubric(s)?,
            m.round.id,
            &m.a.receipt,
            &m.expert.email,
            &reason,
            &actor,
        );
        match replaced {
            Ok(_) => {}
            Err(review::ReviewError::Registry(r)) => return Err(WebError::Registry(r)),
            Err(other) => return Err(WebError::BadRequest(other.to_string())),
        }
        Ok(Redirect::to(&format!(
            "/review?recused={}",
            super::pages::percent(&m.a.receipt)
        ))
        .into_response())
    })
    .await
}
