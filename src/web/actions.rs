//! 待人工处理, the action forms and the audit log: the console's side of
//! [`crate::desk::Desk`]. Every action is a POST with the session's CSRF token and our own
//! Origin, allowed to staff and admin only; the desk does the work (one write transaction,
//! audited with before and after) exactly as the command line's `lndx message|entry|outbox|
//! note` do. Pages list what the desk returns; nothing here touches the database itself.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::auth::{Ctx, Scope};
use super::render::{self, local_time, province_name};
use super::{run, Inner, Meta, WebError};
use crate::desk::{
    Action, ActionKind, AttentionItem, AttentionKind, AttentionQuery, AuditQuery, DeskError,
    NoteTarget,
};

/// The Chinese label of an action's button.
pub(super) fn action_label(k: ActionKind) -> &'static str {
    match k {
        ActionKind::AssignProvince => "指定省份并登记",
        ActionKind::ReleaseHeld => "放行并正常处理",
        ActionKind::RejectHeld => "不予受理",
        ActionKind::AcceptLate => "接受逾期报送",
        ActionKind::RejectLate => "不接受逾期报送",
        ActionKind::MarkHandled => "标记已处理",
        ActionKind::Reprocess => "重新处理",
        ActionKind::Resend => "重新发送",
        ActionKind::CloseMail => "关闭（不再发送）",
        ActionKind::ReleaseMail => "放行邮件",
        ActionKind::Withdraw => "撤回申报",
        ActionKind::Note => "添加备注",
    }
}

/// A desk error as a page: its Chinese message and stable code, with a status.
fn desk_error(s: &Inner, ctx: &Ctx, e: DeskError) -> Result<Response, WebError> {
    let status = match &e {
        DeskError::NotFound(_) => StatusCode::NOT_FOUND,
        DeskError::Database(_) | DeskError::Wording(_) | DeskError::Render(_) => {
            tracing::error!(error = %e, "console: desk");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        DeskError::AlreadyResolved { .. } | DeskError::BadState { .. } => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = render::page(
        s,
        ctx,
        "error.html",
        context! { message => e.message(), code => e.code() },
    )?;
    Ok((status, Html(body)).into_response())
}

/// An action's form on a page: what it needs besides the button.
#[derive(Serialize)]
pub(super) struct ActionForm {
    kind: &'static str,
    label: &'static str,
    message: Option<i64>,
    receipt: Option<String>,
    outbox: Option<i64>,
}

pub(super) fn forms_for(
    kinds: &[ActionKind],
    message: Option<i64>,
    receipt: Option<&str>,
    outbox: Option<i64>,
) -> Vec<ActionForm> {
    kinds
        .iter()
        .map(|k| ActionForm {
            kind: k.key(),
            label: action_label(*k),
            message,
            receipt: receipt.map(String::from),
            outbox,
        })
        .collect()
}

/// The choices action forms need: provinces and batches.
pub(super) fn action_choices(s: &Inner) -> minijinja::Value {
    let c = s.console.campaign();
    let provinces: Vec<(String, String)> = c
        .provinces
        .iter()
        .map(|p| (p.code.clone(), p.name.clone()))
        .collect();
    let batches: Vec<(String, String)> = c
        .batches
        .iter()
        .map(|b| (b.number.to_string(), b.name.clone()))
        .collect();
    context! { provinces, batches }
}

// ---------------------------------------------------------------------------------------
// 待人工处理

#[derive(Deserialize, Default)]
pub(super) struct AttentionParams {
    kind: Option<String>,
    all: Option<String>,
}

#[derive(Serialize)]
struct ItemView {
    key: String,
    kind: String,
    kind_key: &'static str,
    message: Option<i64>,
    receipt: Option<String>,
    outbox: Option<i64>,
    province: String,
    sender: String,
    subject: String,
    detail: String,
    since: String,
    forms: Vec<ActionForm>,
    resolved: Option<String>,
}

fn item_view(s: &Inner, i: &AttentionItem) -> ItemView {
    ItemView {
        key: i.key.clone(),
        kind: s.console.desk.wording().kind_name(i.kind).to_string(),
        kind_key: i.kind.key(),
        message: i.message,
        receipt: i.receipt.clone(),
        outbox: i.outbox,
        province: province_name(s, i.province.as_deref()),
        sender: i.sender.clone().unwrap_or_default(),
        subject: i.subject.clone().unwrap_or_default(),
        detail: i.detail.clone(),
        since: local_time(s, &i.since),
        forms: forms_for(&i.actions, i.message, i.receipt.as_deref(), i.outbox),
        resolved: i
            .resolved
            .as_ref()
            .map(|r| format!("{} 于 {} 处理：{}", r.by, local_time(s, &r.at), r.how)),
    }
}

pub(super) async fn attention(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<AttentionParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.list_scope()?;
        let kind = p
            .kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .and_then(AttentionKind::parse);
        let include_resolved = p.all.as_deref().is_some_and(|a| !a.is_empty());
        let items = match s.console.desk.attention(reg, &AttentionQuery {
            include_resolved,
            kind,
            province: scope.province(),
        }) {
            Ok(items) => items,
            Err(e) => return desk_error(s, ctx, e),
        };
        // A province account sees its own province's items only (the desk's filter), and
        // nothing without a province.
        let items: Vec<ItemView> = items
            .iter()
            .filter(|i| scope == Scope::All || scope.allows(i.province.as_deref()))
            .map(|i| item_view(s, i))
            .collect();
        let kinds: Vec<(&str, String)> = AttentionKind::ALL
            .iter()
            .map(|k| (k.key(), s.console.desk.wording().kind_name(*k).to_string()))
            .collect();
        let acts = ctx.role.is_some_and(|r| r.acts());
        render::html(
            s,
            ctx,
            "attention.html",
            context! {
                items, kinds, acts,
                choices => action_choices(s),
                f => context! { kind => p.kind.clone().unwrap_or_default(), all => include_resolved },
            },
        )
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Performing an action

#[derive(Deserialize, Default)]
pub(super) struct ActionFormData {
    #[serde(default)]
    csrf: String,
    message: Option<i64>,
    receipt: Option<String>,
    outbox: Option<i64>,
    province: Option<String>,
    batch: Option<u8>,
    note: Option<String>,
    to: Option<String>,
    notify: Option<String>,
    reply: Option<String>,
    /// The page to go back to (a path on this site).
    back: Option<String>,
}

fn need<T>(v: Option<T>, what: &str) -> Result<T, WebError> {
    v.ok_or_else(|| WebError::BadRequest(format!("表单缺少{what}。")))
}

/// The action a form asks for.
fn action_of(kind: &str, f: &ActionFormData) -> Result<Action, WebError> {
    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
    let checked = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    let receipt = || need(f.receipt.clone().filter(|r| !r.is_empty()), "回执编号");
    Ok(match kind {
        "assign_province" => Action::AssignProvince {
            message: need(f.message, "来信编号")?,
            province: need(f.province.clone().filter(|p| !p.is_empty()), "省份")?,
        },
        "release_held" => Action::ReleaseHeld {
            message: need(f.message, "来信编号")?,
        },
        "reject_held" => Action::RejectHeld {
            message: need(f.message, "来信编号")?,
            notify: checked(&f.notify),
        },
        "accept_late" => Action::AcceptLate {
            receipt: receipt()?,
            batch: need(f.batch, "批次")?,
        },
        "reject_late" => Action::RejectLate {
            receipt: receipt()?,
        },
        "mark_handled" => Action::MarkHandled {
            message: need(f.message, "来信编号")?,
            note: text(&f.note),
            reply: checked(&f.reply),
        },
        "reprocess" => Action::Reprocess {
            message: need(f.message, "来信编号")?,
        },
        "resend" => Action::Resend {
            outbox: need(f.outbox, "邮件编号")?,
            to: f
                .to
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from),
        },
        "close_mail" => Action::CloseMail {
            outbox: need(f.outbox, "邮件编号")?,
            note: text(&f.note),
        },
        "release_mail" => Action::ReleaseMail {
            outbox: need(f.outbox, "邮件编号")?,
        },
        "withdraw" => Action::Withdraw {
            receipt: receipt()?,
            note: text(&f.note),
        },
        "note" => Action::Note {
            target: match (&f.receipt, f.message) {
                (Some(r), _) if !r.is_empty() => NoteTarget::Entry(r.clone()),
                (_, Some(m)) => NoteTarget::Message(m),
                _ => {
                    return Err(WebError::BadRequest(
                        "备注要写在一条申报或一封来信上。".into(),
                    ))
                }
            },
            text: text(&f.note),
        },
        _ => return Err(WebError::NotFound),
    })
}

/// A path on this site to return to ("/…", never "//host").
fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.into(),
        _ => "/attention".into(),
    }
}

pub(super) async fn perform(
    State(s): State<super::State>,
    meta: Meta,
    Path(kind): Path<String>,
    Form(f): Form<ActionFormData>,
) -> Response {
    let shared = std::sync::Arc::clone(&s);
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        let (u, role) = ctx.user()?;
        if !role.acts() {
            return Err(WebError::Forbidden);
        }
        let actor = u.email.clone();
        let action = action_of(&kind, &f)?;
        let back = safe_back(f.back.as_deref());
        match s.console.desk.perform(reg, &actor, action) {
            Ok(done) => {
                // 总览's numbers changed: compute them again in the background (the page
                // keeps serving the last ones meanwhile, never computing inline).
                super::Inner::refresh_overview(&shared);
                render::html(
                    s,
                    ctx,
                    "done.html",
                    context! { summary => done.summary, audit => done.audit, back, queued => done.queued.len() },
                )
            }
            Err(e) => desk_error(s, ctx, e),
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// The audit log

#[derive(Deserialize, Default)]
pub(super) struct AuditParams {
    object: Option<String>,
    actor: Option<String>,
}

#[derive(Serialize)]
pub(super) struct AuditView {
    id: i64,
    at: String,
    actor: String,
    action: String,
    object: String,
    before: String,
    after: String,
    note: String,
}

/// The audit rows of one object (or all), newest first.
pub(super) fn audit_rows(
    s: &Inner,
    reg: &crate::registry::Registry,
    object: Option<String>,
    actor: Option<String>,
    limit: usize,
) -> Result<Vec<AuditView>, DeskError> {
    let rows = s.console.desk.audit(
        reg,
        &AuditQuery {
            object,
            actor,
            limit,
        },
    )?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let action = ActionKind::ALL
                .iter()
                .find(|k| k.key() == r.action)
                .map(|k| action_label(*k).to_string())
                .or_else(|| {
                    crate::review::staff::ACTIONS
                        .iter()
                        .chain(crate::report::ACTIONS)
                        .find(|(k, _)| *k == r.action)
                        .map(|(_, l)| l.to_string())
                })
                .unwrap_or(r.action.clone());
            AuditView {
                id: r.id,
                at: local_time(s, &r.at),
                actor: r.actor,
                action,
                object: r.object,
                before: changed(&r.before, &r.after),
                after: changed(&r.after, &r.before),
                note: r.note.unwrap_or_default(),
            }
        })
        .collect())
}

/// What of `v` differs from `other` (for objects, only the keys whose values differ), in
/// one short line: the audit page shows what an action changed, not every field.
fn changed(v: &serde_json::Value, other: &serde_json::Value) -> String {
    match (v, other) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            let diff: serde_json::Map<String, serde_json::Value> = a
                .iter()
                .filter(|(k, x)| b.get(*k) != Some(*x))
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect();
            compact(&serde_json::Value::Object(diff))
        }
        _ => compact(v),
    }
}

/// A JSON value in one short line.
fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("；"),
        other => other.to_string(),
    }
}

pub(super) async fn audit(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<AuditParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        if ctx.scope()? != Scope::All {
            return Err(WebError::Forbidden);
        }
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let rows = match audit_rows(s, reg, given(&p.object), given(&p.actor), 500) {
            Ok(r) => r,
            Err(e) => return desk_error(s, ctx, e),
        };
        render::html(
            s,
            ctx,
            "audit.html",
            context! { rows, f => context! { object => given(&p.object), actor => given(&p.actor) } },
        )
    })
    .await
}
