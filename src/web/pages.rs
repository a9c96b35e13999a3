//! The console's read pages: 总览, 申报登记 (entries, with search), an entry, 来信
//! (messages), 发信 (the outbox), downloads of original files and raw messages, and the
//! public 报送前自查. Every object page checks the account's scope: what a province
//! account may not see is "not found", exactly like what does not exist.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::auth::{Ctx, Scope};
use super::render::{self, batch_name, kind_name, local_time, province_name};
use super::{run, Inner, Meta, WebError};
use crate::filing::EntryStatus;
use crate::queued::{OutboxState, Purpose};
use crate::registry::console::{
    ConsoleMessage, EntryQuery, EntrySort, MessageQuery, OutboxItem, OutboxQuery,
};
use crate::registry::{sha256_hex, EntryRow, Registry};
use crate::reply::Facts;
use crate::rules::Finding;

/// Rows per page.
pub(super) const PAGE: usize = 50;

/// An empty form field is no filter.
fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
}

/// A yes/no filter: Some(true) for "yes", Some(false) for "no", else no filter.
fn yes_no(v: &Option<String>) -> Option<bool> {
    match given(v).as_deref() {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

/// The rows before page `page` (1-based) of `limit` rows each.
fn offset(page: Option<usize>, limit: Option<usize>) -> usize {
    limit
        .map(|l| l * (page.unwrap_or(1).max(1) - 1))
        .unwrap_or(0)
}

/// A list page's position: 1-based page and the pages there are.
#[derive(Serialize)]
pub(super) struct Pager {
    page: usize,
    pages: usize,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

impl Pager {
    fn new(page: usize, total: i64, link: impl Fn(usize) -> String) -> Pager {
        let pages = (total as usize).div_ceil(PAGE).max(1);
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

/// Encodes query parameters (skipping empty ones).
fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            out.push(if out.is_empty() { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            out.push_str(&percent(v));
        }
    }
    out
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(super) fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A download: `Content-Disposition: attachment` with the name in both forms (RFC 6266:
/// an ASCII fallback and the UTF-8 name).
pub(super) fn download(bytes: Vec<u8>, content_type: &str, filename: &str) -> Response {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent(filename)
    );
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

// ---------------------------------------------------------------------------------------
// 申报登记

#[derive(Deserialize, Default, Clone)]
pub(super) struct EntryParams {
    q: Option<String>,
    province: Option<String>,
    batch: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    theme: Option<String>,
    late: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<usize>,
    versions: Option<String>,
}

impl EntryParams {
    /// The registry query these parameters ask for, within the account's scope.
    pub(super) fn query(&self, scope: &Scope, limit: Option<usize>) -> EntryQuery {
        let sort = match given(&self.sort).as_deref() {
            Some("receipt") => EntrySort::Receipt,
            Some("province") => EntrySort::Province,
            Some("kind") => EntrySort::Kind,
            Some("name") => EntrySort::Name,
            Some("unit") => EntrySort::Unit,
            Some("status") => EntrySort::Status,
            Some("arrived") => EntrySort::Arrived,
            _ => EntrySort::Filed,
        };
        EntryQuery {
            province: scope.province().or_else(|| given(&self.province)),
            batch: given(&self.batch).and_then(|b| b.parse().ok()),
            kind: given(&self.kind),
            status: given(&self.status).and_then(|s| s.parse::<EntryStatus>().ok()),
            theme: given(&self.theme),
            late: yes_no(&self.late),
            text: given(&self.q),
            all_versions: given(&self.versions).is_some(),
            sort,
            descending: given(&self.dir).as_deref() != Some("asc"),
            limit,
            offset: offset(self.page, limit),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("q", given(&self.q)),
            ("province", given(&self.province)),
            ("batch", given(&self.batch)),
            ("kind", given(&self.kind)),
            ("status", given(&self.status)),
            ("theme", given(&self.theme)),
            ("late", given(&self.late)),
            ("versions", given(&self.versions)),
            ("sort", given(&self.sort)),
            ("dir", given(&self.dir)),
        ]
    }

    /// This list's address with one parameter changed.
    fn link(&self, path: &str, set: &[(&'static str, Option<String>)]) -> String {
        let mut pairs = self.pairs();
        for (k, v) in set {
            match pairs.iter_mut().find(|(pk, _)| pk == k) {
                Some(p) => p.1 = v.clone(),
                None => pairs.push((k, v.clone())),
            }
        }
        format!("{path}{}", query_string(&pairs))
    }
}

/// An entry as lists show it.
#[derive(Serialize)]
pub(super) struct EntryView {
    pub receipt: String,
    pub name: String,
    pub unit: String,
    pub province: String,
    pub batch: String,
    pub kind: String,
    pub status: String,
    pub status_key: String,
    pub late: bool,
    pub version: i64,
    pub current: bool,
    pub arrived: String,
    pub themes: Vec<String>,
    pub errors: usize,
}

pub(super) fn entry_view(s: &Inner, e: &EntryRow) -> EntryView {
    EntryView {
        receipt: e.receipt.clone(),
        name: e.name.clone(),
        unit: e.unit.clone().unwrap_or_default(),
        province: province_name(s, e.province.as_deref()),
        batch: batch_name(s, e.batch),
        kind: kind_name(s, &e.kind),
        status: s.console.wording().status(e.status),
        status_key: e.status.as_str().to_string(),
        late: e.late,
        version: e.version,
        current: e.superseded_by.is_none(),
        arrived: e
            .arrived_at
            .as_deref()
            .map(|t| local_time(s, t))
            .unwrap_or_default(),
        themes: serde_json::from_str(&e.themes).unwrap_or_default(),
        errors: serde_json::from_str::<Vec<serde_json::Value>>(&e.errors)
            .map(|v| v.len())
            .unwrap_or(0),
    }
}

/// The choices of the filters: provinces, batches, kinds, statuses, themes.
fn filter_choices(s: &Inner, scope: &Scope) -> minijinja::Value {
    let c = s.console.campaign();
    let provinces: Vec<(String, String)> = match scope {
        Scope::All => c
            .provinces
            .iter()
            .map(|p| (p.code.clone(), p.name.clone()))
            .collect(),
        _ => Vec::new(),
    };
    let batches: Vec<(String, String)> = c
        .batches
        .iter()
        .map(|b| (b.number.to_string(), b.name.clone()))
        .collect();
    let kinds: Vec<(String, String)> = c
        .kinds()
        .map(|k| {
            let i = c.kind_info(k);
            (i.key.clone(), i.name.clone())
        })
        .collect();
    let statuses: Vec<(String, String)> =
        [EntryStatus::Valid, EntryStatus::Invalid, EntryStatus::Held]
            .into_iter()
            .map(|st| (st.as_str().to_string(), s.console.wording().status(st)))
            .collect();
    let themes: Vec<String> = c.themes.iter().map(|t| t.name.clone()).collect();
    context! { provinces, batches, kinds, statuses, themes }
}

pub(super) async fn entries(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<EntryParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.list_scope()?;
        let (rows, total) = reg.console_entries(&p.query(&scope, Some(PAGE)))?;
        let page = p.page.unwrap_or(1).max(1);
        let pager = Pager::new(page, total, |n| {
            p.link("/entries", &[("page", Some(n.to_string()))])
        });
        let entries: Vec<EntryView> = rows.iter().map(|e| entry_view(s, e)).collect();
        let current_sort = given(&p.sort).unwrap_or_else(|| "filed".into());
        let asc = given(&p.dir).as_deref() == Some("asc");
        let sort_links: BTreeMap<&str, String> = [
            "receipt", "province", "kind", "name", "unit", "status", "arrived",
        ]
        .into_iter()
        .map(|k| {
            let dir = if current_sort == k && !asc {
                "asc"
            } else {
                "desc"
            };
            (
                k,
                p.link(
                    "/entries",
                    &[
                        ("sort", Some(k.into())),
                        ("dir", Some(dir.into())),
                        ("page", None),
                    ],
                ),
            )
        })
        .collect();
        render::html(
            s,
            ctx,
            "entries.html",
            context! {
                entries,
                pg => pager,
                choices => filter_choices(s, &scope),
                f => context! {
                    q => given(&p.q), province => given(&p.province), batch => given(&p.batch),
                    kind => given(&p.kind), status => given(&p.status), theme => given(&p.theme),
                    late => given(&p.late), versions => given(&p.versions).is_some(),
                    sort => current_sort, asc,
                },
                sort_links,
                export => p.link("/entries.xlsx", &[]),
                province_scope => scope.province().map(|c| province_name(s, Some(&c))),
            },
        )
    })
    .await
}

// ---------------------------------------------------------------------------------------
// An entry

/// One field as on the form: its label, value and 字数.
#[derive(Serialize)]
pub(super) struct FieldView {
    label: String,
    value: String,
    chars: usize,
}

fn findings(s: &Inner, e: &EntryRow, json: &str) -> Vec<String> {
    let c = s.console.campaign();
    let list: Vec<Finding> = serde_json::from_str(json).unwrap_or_default();
    let facts = Facts {
        province: e.province.clone(),
        batch: e.batch.map(|b| b.to_string()),
        campaign: c,
        staff_notified: false,
    };
    list.iter()
        .map(|f| s.console.wording().describe(f, c.kind(&e.kind), &facts))
        .collect()
}

/// An entry's fields as text (numbers are stored as numbers).
fn field_values(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str::<BTreeMap<String, serde_json::Value>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, text)
        })
        .collect()
}

/// The fields in the order forms.toml lists them (then any others).
pub(super) fn field_views(s: &Inner, e: &EntryRow) -> Vec<FieldView> {
    let c = s.console.campaign();
    let values = field_values(&e.fields);
    let Some(kind) = c.kind(&e.kind) else {
        return values
            .into_iter()
            .map(|(k, v)| FieldView {
                chars: crate::text::char_count(&v),
                label: k,
                value: v,
            })
            .collect();
    };
    let mut order: Vec<&str> = c
        .forms
        .fields
        .iter()
        .map(|f| f.key.as_str())
        .filter(|k| values.contains_key(*k))
        .collect();
    for k in values.keys() {
        if !order.contains(&k.as_str()) {
            order.push(k);
        }
    }
    order
        .into_iter()
        .map(|k| {
            let v = &values[k];
            FieldView {
                label: c.field_label(kind, k),
                value: v.clone(),
                chars: crate::text::char_count(v),
            }
        })
        .collect()
}

/// What changed from one version to the next: the labels of fields that differ.
fn changes(s: &Inner, before: &EntryRow, after: &EntryRow) -> Vec<String> {
    let c = s.console.campaign();
    let a = field_values(&before.fields);
    let b = field_values(&after.fields);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| match c.kind(&after.kind) {
            Some(kind) => c.field_label(kind, k),
            None => k.clone(),
        })
        .collect();
    if before.status != after.status {
        out.push(format!(
            "状态：{} → {}",
            s.console.wording().status(before.status),
            s.console.wording().status(after.status)
        ));
    }
    out
}

/// A reply or other mail about a message, as shown beside it (and in the outbox's .xlsx).
#[derive(Serialize)]
pub(super) struct MailView {
    pub(super) id: i64,
    pub(super) purpose: String,
    pub(super) recipients: String,
    pub(super) state: String,
    state_key: String,
    pub(super) attempts: i64,
    pub(super) error: String,
    pub(super) created: String,
    pub(super) sent: String,
    pub(super) subject: String,
}

/// An outbox state's Chinese name (the command line's too).
fn state_label(state: &str) -> &'static str {
    state
        .parse::<OutboxState>()
        .map_or("其他", OutboxState::label)
}

/// A purpose's Chinese name (the command line's too).
fn purpose_label(p: &str) -> &'static str {
    p.parse::<Purpose>().map_or("其他", Purpose::label)
}

pub(super) fn mail_view(s: &Inner, o: &OutboxItem) -> MailView {
    MailView {
        id: o.id,
        purpose: purpose_label(&o.purpose).into(),
        recipients: serde_json::from_str::<Vec<String>>(&o.recipients)
            .map(|v| v.join(", "))
            .unwrap_or_else(|_| o.recipients.clone()),
        state: state_label(&o.state).into(),
        state_key: o.state.clone(),
        attempts: o.attempts,
        error: o.last_error.clone().unwrap_or_default(),
        created: local_time(s, &o.created_at),
        sent: o
            .sent_at
            .as_deref()
            .map(|t| local_time(s, t))
            .unwrap_or_default(),
        subject: o.subject.clone().unwrap_or_default(),
    }
}

fn mails_of(s: &Inner, reg: &Registry, message: i64) -> Result<Vec<MailView>, WebError> {
    let (rows, _) = reg.console_outbox(&OutboxQuery {
        message: Some(message),
        ascending: true,
        ..OutboxQuery::default()
    })?;
    Ok(rows.iter().map(|o| mail_view(s, o)).collect())
}

pub(super) async fn entry(
    State(s): State<super::State>,
    meta: Meta,
    Path(receipt): Path<String>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.scope()?;
        let (e, file) = reg.entry_and_file(&receipt)?.ok_or(WebError::NotFound)?;
        if !scope.allows(e.province.as_deref()) {
            return Err(WebError::NotFound);
        }
        let versions = reg.entry_versions(&e.entry_key)?;
        let versions_view: Vec<minijinja::Value> = versions
            .iter()
            .enumerate()
            .filter(|(_, v)| scope.allows(v.province.as_deref()))
            .map(|(i, v)| {
                let changed = if i == 0 {
                    Vec::new()
                } else {
                    changes(s, &versions[i - 1], v)
                };
                context! { entry => entry_view(s, v), changed, this => v.receipt == e.receipt }
            })
            .collect();
        let file_row = reg.file_row(file)?;
        let message = reg.console_message(e.message)?.map(|(m, _)| message_view(s, &m));
        let acts = ctx.role.is_some_and(|r| r.acts());
        let history = history_of(s, reg, ctx, &format!("entry:{}", e.receipt));
        let mut kinds = vec![crate::desk::ActionKind::Note];
        if e.superseded_by.is_none() {
            kinds.push(crate::desk::ActionKind::Withdraw);
            if e.late {
                kinds.push(crate::desk::ActionKind::AcceptLate);
                kinds.push(crate::desk::ActionKind::RejectLate);
            }
        }
        let forms = super::actions::forms_for(&kinds, None, Some(&e.receipt), None);
        render::html(
            s,
            ctx,
            "entry.html",
            context! {
                e => entry_view(s, &e),
                fields => field_views(s, &e),
                errors => findings(s, &e, &e.errors),
                warnings => findings(s, &e, &e.warnings),
                versions => versions_view,
                file => file_row.map(|f| context! { id => f.id, name => f.filename, size => f.size }),
                message,
                mail_list => mails_of(s, reg, e.message)?,
                acts, forms, history,
                choices => super::actions::action_choices(s),
                back => format!("/entries/{}", e.receipt),
            },
        )
    })
    .await
}

/// The original file of an entry or message, re-extracted from the stored raw message
/// (the registry keeps the message, not the files).
pub(super) async fn file(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.scope()?;
        let f = reg.file_row(id)?.ok_or(WebError::NotFound)?;
        let (m, _) = reg.console_message(f.message)?.ok_or(WebError::NotFound)?;
        if !scope.allows(m.province.as_deref()) {
            return Err(WebError::NotFound);
        }
        send_file(s, reg, &f)
    })
    .await
}

/// A stored file as a download, re-extracted from its raw message and checked against its
/// recorded SHA-256 (the caller has checked that the account may have it).
pub(super) fn send_file(
    s: &Inner,
    reg: &Registry,
    f: &crate::registry::console::FileRow,
) -> Result<Response, WebError> {
    let raw = reg.raw_message(f.message)?.ok_or(WebError::NotFound)?;
    let inbound = crate::message::parse(&raw, &s.console.intake.parse_options());
    let found = inbound
        .files
        .into_iter()
        .find(|x| sha256_hex(&x.bytes) == f.sha256)
        .ok_or(WebError::NotFound)?;
    Ok(download(
        found.bytes,
        "application/octet-stream",
        &f.filename,
    ))
}

/// Notes and actions on an object, newest first (from the desk's audit log), for accounts
/// that see everything (the log names staff and holds their notes, like 办理记录); empty
/// for others, and when the log cannot be read (logged).
fn history_of(
    s: &Inner,
    reg: &Registry,
    ctx: &Ctx,
    object: &str,
) -> Vec<super::actions::AuditView> {
    if !matches!(ctx.scope(), Ok(Scope::All)) {
        return Vec::new();
    }
    super::actions::audit_rows(s, reg, Some(object.to_string()), None, 200).unwrap_or_else(|e| {
        tracing::error!(error = %e, "console: audit log");
        Vec::new()
    })
}

// ---------------------------------------------------------------------------------------
// 来信

#[derive(Deserialize, Default, Clone)]
pub(super) struct MessageParams {
    q: Option<String>,
    province: Option<String>,
    state: Option<String>,
    skipped: Option<String>,
    dir: Option<String>,
    page: Option<usize>,
}

impl MessageParams {
    pub(super) fn query(&self, scope: &Scope, limit: Option<usize>) -> MessageQuery {
        MessageQuery {
            province: scope.province().or_else(|| given(&self.province)),
            state: given(&self.state),
            skipped: yes_no(&self.skipped),
            text: given(&self.q),
            by_arrival: false,
            ascending: given(&self.dir).as_deref() == Some("asc"),
            limit,
            offset: offset(self.page, limit),
        }
    }
    fn link(&self, path: &str, page: Option<usize>, dir: Option<&str>) -> String {
        format!(
            "{path}{}",
            query_string(&[
                ("q", given(&self.q)),
                ("province", given(&self.province)),
                ("state", given(&self.state)),
                ("skipped", given(&self.skipped)),
                ("dir", dir.map(String::from).or_else(|| given(&self.dir))),
                ("page", page.map(|p| p.to_string())),
            ])
        )
    }
}

/// Why a message was not answered, in Chinese.
pub(super) fn skip_label(reason: &str) -> String {
    match reason {
        "self" | "own" | "own_mail" => "本系统自己发出的邮件".into(),
        "bounce" => "退信".into(),
        "list" => "邮件列表".into(),
        "auto_reply" => "自动回复".into(),
        "too_large" => "邮件过大".into(),
        other => other.to_string(),
    }
}

#[derive(Serialize)]
pub(super) struct MessageView {
    pub id: i64,
    pub arrived: String,
    pub sender: String,
    pub subject: String,
    pub state: String,
    pub province: String,
    pub batch: String,
    pub skipped: String,
    pub error: String,
    pub size: i64,
    pub entries: i64,
}

pub(super) fn message_view(s: &Inner, m: &ConsoleMessage) -> MessageView {
    MessageView {
        id: m.id,
        arrived: m
            .arrived_at
            .as_deref()
            .map(|t| local_time(s, t))
            .unwrap_or_default(),
        sender: m.sender.clone().unwrap_or_default(),
        subject: m.subject.clone().unwrap_or_default(),
        state: match m.state.as_str() {
            "filed" => "已登记",
            "received" => "待处理",
            "quarantined" => "无法处理",
            _ => "其他",
        }
        .into(),
        province: province_name(s, m.province.as_deref()),
        batch: batch_name(s, m.batch.and_then(|b| u8::try_from(b).ok())),
        skipped: m.skipped.as_deref().map(skip_label).unwrap_or_default(),
        error: m.error.clone().unwrap_or_default(),
        size: m.size,
        entries: m.entries,
    }
}

pub(super) async fn messages(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<MessageParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.list_scope()?;
        let (rows, total) = reg.console_messages(&p.query(&scope, Some(PAGE)))?;
        let page = p.page.unwrap_or(1).max(1);
        let pager = Pager::new(page, total, |n| p.link("/messages", Some(n), None));
        let messages: Vec<MessageView> = rows.iter().map(|m| message_view(s, m)).collect();
        let asc = given(&p.dir).as_deref() == Some("asc");
        render::html(
            s,
            ctx,
            "messages.html",
            context! {
                messages, pg => pager,
                choices => filter_choices(s, &scope),
                f => context! {
                    q => given(&p.q), province => given(&p.province), state => given(&p.state),
                    skipped => given(&p.skipped), asc,
                },
                flip => p.link("/messages", None, Some(if asc { "desc" } else { "asc" })),
                export => p.link("/messages.xlsx", None, None),
            },
        )
    })
    .await
}

pub(super) async fn message(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.scope()?;
        let (m, _) = reg.console_message(id)?.ok_or(WebError::NotFound)?;
        if !scope.allows(m.province.as_deref()) {
            return Err(WebError::NotFound);
        }
        let entries: Vec<EntryView> = reg
            .entries_of_message(id)?
            .iter()
            .map(|e| entry_view(s, e))
            .collect();
        let files: Vec<minijinja::Value> = reg
            .files_of_message(id)?
            .into_iter()
            .map(|f| {
                let problems = serde_json::from_str::<Vec<Finding>>(&f.errors)
                    .unwrap_or_default()
                    .iter()
                    .map(|x| {
                        s.console.wording().describe(
                            x,
                            None,
                            &Facts {
                                province: m.province.clone(),
                                batch: m.batch.map(|b| b.to_string()),
                                campaign: s.console.campaign(),
                                staff_notified: false,
                            },
                        )
                    })
                    .collect::<Vec<_>>();
                context! {
                    id => f.id, name => f.filename, container => f.container,
                    size => f.size, file_type => f.file_type, role => f.role, problems,
                }
            })
            .collect();
        let acts = ctx.role.is_some_and(|r| r.acts());
        let history = history_of(s, reg, ctx, &format!("message:{id}"));
        let mut kinds = vec![
            crate::desk::ActionKind::Note,
            crate::desk::ActionKind::Reprocess,
        ];
        if m.province.is_none() && m.skipped.is_none() {
            kinds.push(crate::desk::ActionKind::AssignProvince);
        }
        let forms = super::actions::forms_for(&kinds, Some(id), None, None);
        render::html(
            s,
            ctx,
            "message.html",
            context! {
                acts, forms, history,
                choices => super::actions::action_choices(s),
                back => format!("/messages/{id}"),
                m => message_view(s, &m),
                entries,
                files,
                mail_list => mails_of(s, reg, id)?,
            },
        )
    })
    .await
}

pub(super) async fn message_raw(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
) -> Response {
    run(s, meta, move |_, reg, ctx| {
        let scope = ctx.scope()?;
        let (m, _) = reg.console_message(id)?.ok_or(WebError::NotFound)?;
        if !scope.allows(m.province.as_deref()) {
            return Err(WebError::NotFound);
        }
        let raw = reg.raw_message(id)?.ok_or(WebError::NotFound)?;
        Ok(download(
            raw,
            "message/rfc822",
            &format!("message-{id}.eml"),
        ))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// 发信

#[derive(Deserialize, Default, Clone)]
pub(super) struct OutboxParams {
    state: Option<String>,
    purpose: Option<String>,
    dir: Option<String>,
    page: Option<usize>,
}

impl OutboxParams {
    pub(super) fn query(&self, scope: &Scope, limit: Option<usize>) -> OutboxQuery {
        OutboxQuery {
            province: scope.province(),
            state: given(&self.state),
            purpose: given(&self.purpose),
            message: None,
            ascending: given(&self.dir).as_deref() == Some("asc"),
            limit,
            offset: offset(self.page, limit),
        }
    }
    fn link(&self, path: &str, page: Option<usize>, dir: Option<&str>) -> String {
        format!(
            "{path}{}",
            query_string(&[
                ("state", given(&self.state)),
                ("purpose", given(&self.purpose)),
                ("dir", dir.map(String::from).or_else(|| given(&self.dir))),
                ("page", page.map(|p| p.to_string())),
            ])
        )
    }
}

/// Mail a scope may see: a province account sees replies to its own province's messages.
fn mail_allowed(scope: &Scope, o: &OutboxItem) -> bool {
    match scope {
        Scope::All => true,
        Scope::Province(_) => o.message.is_some() && scope.allows(o.province.as_deref()),
        Scope::Nothing => false,
    }
}

pub(super) async fn outbox(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<OutboxParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.list_scope()?;
        let (rows, total) = reg.console_outbox(&p.query(&scope, Some(PAGE)))?;
        let page = p.page.unwrap_or(1).max(1);
        let pager = Pager::new(page, total, |n| p.link("/outbox", Some(n), None));
        let mails: Vec<MailView> = rows.iter().map(|o| mail_view(s, o)).collect();
        let states: Vec<(&str, &str)> = OutboxState::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect();
        let purposes: Vec<(&str, &str)> = Purpose::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect();
        let asc = given(&p.dir).as_deref() == Some("asc");
        render::html(
            s,
            ctx,
            "outbox.html",
            context! {
                mail_list => mails, pg => pager, states, purposes,
                f => context! { state => given(&p.state), purpose => given(&p.purpose), asc },
                flip => p.link("/outbox", None, Some(if asc { "desc" } else { "asc" })),
                export => p.link("/outbox.xlsx", None, None),
            },
        )
    })
    .await
}

/// The mail's text part, for reading on the page (decoded by the message parser).
fn mail_text(s: &Inner, body: &[u8]) -> String {
    crate::message::parse(body, &s.console.intake.parse_options()).body_text
}

pub(super) async fn outbox_item(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.scope()?;
        let (o, body) = reg.outbox_item(id)?.ok_or(WebError::NotFound)?;
        if !mail_allowed(&scope, &o) {
            return Err(WebError::NotFound);
        }
        let deliveries: Vec<minijinja::Value> = reg
            .deliveries_of(id)?
            .into_iter()
            .map(|(at, to, outcome, detail)| {
                context! { at => local_time(s, &at), to, outcome => state_label(&outcome), detail }
            })
            .collect();
        let acts = ctx.role.is_some_and(|r| r.acts());
        let history = history_of(s, reg, ctx, &format!("outbox:{id}"));
        let mut kinds = vec![crate::desk::ActionKind::Resend];
        if matches!(o.state.as_str(), "failed" | "unknown") {
            kinds.push(crate::desk::ActionKind::CloseMail);
        }
        if o.state == OutboxState::Held.as_str() {
            kinds.push(crate::desk::ActionKind::ReleaseMail);
        }
        let forms = super::actions::forms_for(&kinds, None, None, Some(id));
        render::html(
            s,
            ctx,
            "outbox_item.html",
            context! {
                acts, forms, history,
                choices => super::actions::action_choices(s),
                back => format!("/outbox/{id}"),
                o => mail_view(s, &o),
                message => o.message,
                text => mail_text(s, &body),
                deliveries,
            },
        )
    })
    .await
}

pub(super) async fn outbox_eml(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
) -> Response {
    run(s, meta, move |_, reg, ctx| {
        let scope = ctx.scope()?;
        let (o, body) = reg.outbox_item(id)?.ok_or(WebError::NotFound)?;
        if !mail_allowed(&scope, &o) {
            return Err(WebError::NotFound);
        }
        Ok(download(body, "message/rfc822", &format!("mail-{id}.eml")))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// 总览

pub(super) async fn overview(State(s): State<super::State>, meta: Meta) -> Response {
    let shared = s.clone();
    run(s, meta, move |s, reg, ctx| {
        overview_page(&shared, s, reg, ctx)
    })
    .await
}

/// One bar of the weekly chart, placed in the SVG's coordinates.
#[derive(Serialize)]
struct Bar {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    value: usize,
    label: String,
    show_label: bool,
    future: bool,
    current: bool,
}

/// The chart's geometry: the width and height of the drawing, then the bars.
const CHART_W: f64 = 720.0;
const CHART_H: f64 = 180.0;

fn week_bars(weeks: &[crate::report::progress::Week]) -> Vec<Bar> {
    let top = weeks.iter().map(|w| w.new_valid).max().unwrap_or(0).max(1) as f64;
    let n = weeks.len().max(1) as f64;
    let step = CHART_W / n;
    let every = (weeks.len() / 8).max(1);
    weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let h = (w.new_valid as f64 / top) * (CHART_H - 40.0);
            Bar {
                x: i as f64 * step + step * 0.15,
                y: CHART_H - 20.0 - h,
                w: step * 0.7,
                h,
                value: w.new_valid,
                label: w.label.clone(),
                show_label: i % every == 0,
                future: w.future,
                current: w.current,
            }
        })
        .collect()
}

fn overview_page(
    shared: &super::State,
    s: &Inner,
    reg: &Registry,
    ctx: &Ctx,
) -> Result<Response, WebError> {
    let scope = ctx.scope()?;
    match scope {
        Scope::Nothing => render::html(s, ctx, "overview.html", context! { nothing => true }),
        Scope::Province(code) => {
            // A province sees its own entries only: counts per kind, no other province's.
            let (entries, _) = reg.console_entries(&EntryQuery {
                province: Some(code.clone()),
                ..EntryQuery::default()
            })?;
            let c = s.console.campaign();
            let kinds: Vec<minijinja::Value> = c
                .kinds()
                .map(|k| {
                    let info = c.kind_info(k);
                    let of = |st: EntryStatus| {
                        entries
                            .iter()
                            .filter(|e| e.kind == info.key && e.status == st)
                            .count()
                    };
                    context! { name => info.name.clone(), valid => of(EntryStatus::Valid),
                    invalid => of(EntryStatus::Invalid), held => of(EntryStatus::Held) }
                })
                .collect();
            render::html(
                s,
                ctx,
                "overview.html",
                context! { province => province_name(s, Some(&code)), kinds },
            )
        }
        Scope::All => {
            // The weekly report's own numbers: targets, the calendar, the pace still
            // needed, the weekly chart, the province × kind matrix, 待人工处理.
            let d = shared.overview(reg)?;
            let bars = week_bars(&d.weeks.weeks);
            render::html(
                s,
                ctx,
                "overview.html",
                context! {
                    all => true,
                    bars,
                    chart_w => CHART_W,
                    chart_h => CHART_H,
                    d => minijinja::Value::from_serialize(&*d),
                },
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// 周报

/// Reports are the whole campaign's numbers: for the accounts that see everything.
pub(super) fn require_all(ctx: &Ctx) -> Result<(), WebError> {
    match ctx.scope()? {
        Scope::All => Ok(()),
        _ => Err(WebError::Forbidden),
    }
}

pub(super) async fn reports(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, move |s, reg, ctx| {
        require_all(ctx)?;
        let (rows, _) = reg.console_outbox(&OutboxQuery {
            purpose: Some("report".into()),
            ..OutboxQuery::default()
        })?;
        let sent: Vec<MailView> = rows.iter().map(|o| mail_view(s, o)).collect();
        let acts = ctx.role.is_some_and(|r| r.acts());
        let to = s.console.reporter.sender.recipients().join("、");
        render::html(
            s,
            ctx,
            "reports.html",
            context! { mail_list => sent, acts, to },
        )
    })
    .await
}

pub(super) async fn report_preview(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, move |s, reg, ctx| {
        require_all(ctx)?;
        let r = s.console.reporter.build(reg, chrono::Utc::now(), None)?;
        let mut resp = axum::response::Html(r.html).into_response();
        // The report is a mail's HTML with inline styles: shown with styles only, no
        // script, no forms, nothing fetched (sandboxed).
        resp.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                 frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox",
            ),
        );
        Ok(resp)
    })
    .await
}

pub(super) async fn report_workbook(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, move |s, reg, ctx| {
        require_all(ctx)?;
        let r = s.console.reporter.build(reg, chrono::Utc::now(), None)?;
        Ok(download(
            r.xlsx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &r.filename,
        ))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// 立即发送: queues a report as of now to the configured recipients (the outbox worker
/// sends it within a second); staff and admin only.
pub(super) async fn report_send(
    State(s): State<super::State>,
    meta: Meta,
    axum::Form(f): axum::Form<CsrfOnly>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        let (u, role) = ctx.user()?;
        if !role.acts() {
            return Err(WebError::Forbidden);
        }
        let reporter = &s.console.reporter;
        if reporter.sender.to.is_empty() {
            return Err(WebError::BadRequest(
                "配置中没有周报收件人（report.to），无法发送。".into(),
            ));
        }
        let r = reporter.build(reg, chrono::Utc::now(), None)?;
        let id = reporter.queue_by(reg, &r, &u.email)?;
        tracing::info!(by = %u.email, outbox = ?id, "weekly report queued from the console");
        Ok(axum::response::Redirect::to("/reports").into_response())
    })
    .await
}

// ---------------------------------------------------------------------------------------
// 报送前自查

/// Uploads per address and hour on the public self-check.
const CHECKS_PER_HOUR: usize = 30;

/// Recent self-checks per address, in memory (nothing of a self-check is stored).
static CHECKS: std::sync::Mutex<BTreeMap<String, Vec<std::time::Instant>>> =
    std::sync::Mutex::new(BTreeMap::new());

/// Counts a self-check from `address`; false when it already made too many this hour.
fn check_allowed(address: &str) -> bool {
    let hour = std::time::Duration::from_secs(3600);
    let now = std::time::Instant::now();
    let Ok(mut map) = CHECKS.lock() else {
        return true;
    };
    map.retain(|_, v| {
        v.retain(|t| now.duration_since(*t) < hour);
        !v.is_empty()
    });
    let list = map.entry(address.to_string()).or_default();
    if list.len() >= CHECKS_PER_HOUR {
        return false;
    }
    list.push(now);
    true
}

pub(super) async fn check_page(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, |s, _, ctx| {
        render::html(
            s,
            ctx,
            "check.html",
            context! { limit_mb => s.console.check_upload_bytes / (1024 * 1024) },
        )
    })
    .await
}

pub(super) async fn check(
    State(s): State<super::State>,
    meta: Meta,
    multipart: Multipart,
) -> Response {
    let limit = s.console.check_upload_bytes;
    let address = meta.address();
    let super::upload::Upload {
        csrf,
        files,
        problem,
    } = super::upload::Upload::read(multipart).await;
    // A file input left empty still sends a part without a file name.
    let files: Vec<(String, Vec<u8>)> = files.into_iter().filter(|(n, _)| !n.is_empty()).collect();
    run(s, meta, move |s, _, ctx| {
        if let Some(p) = problem {
            return Err(p);
        }
        ctx.check_post(&csrf)?;
        if !check_allowed(&address) {
            return Err(WebError::TooMany);
        }
        let limit_mb = limit / (1024 * 1024);
        if files.is_empty() {
            let body = render::page(
                s,
                ctx,
                "check.html",
                context! { limit_mb, error => "请选择要检查的申报表文件。" },
            )?;
            return Ok((StatusCode::BAD_REQUEST, axum::response::Html(body)).into_response());
        }
        if files.iter().map(|(_, b)| b.len()).sum::<usize>() > limit {
            return Err(WebError::TooLarge);
        }
        let checked = crate::intake::selfcheck::self_check(&s.console.intake, files);
        render::html(
            s,
            ctx,
            "check.html",
            context! { limit_mb, account => checked.account, ready => checked.ready() },
        )
    })
    .await
}
