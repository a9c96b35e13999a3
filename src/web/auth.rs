//! Accounts and sign-in: roles and what each may see and do, sign-in links (single use,
//! expiring, stored hashed), passwords (Argon2id, optional), sessions in SQLite (the id
//! stored hashed, replaced at sign-in, ended after idle time), a CSRF token per session
//! checked with the Origin on every POST, and sign-in attempts slowed per account and
//! per address. The account pages (账号, admin only) are here too.

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;

use super::{render, run, Inner, Meta, WebError};
use crate::registry::console::{NewUser, User};
use crate::registry::{sha256_hex, Registry};

/// The session cookie's name.
const COOKIE: &str = "lndx_session";
/// Failed sign-ins counted over this window.
const WINDOW_MINUTES: i64 = 15;
/// Failures for one account within the window before sign-in is refused for it.
const ACCOUNT_FAILURES: i64 = 5;
/// Failures from one address within the window before sign-in is refused from it.
const ADDRESS_FAILURES: i64 = 20;
/// Shortest password accepted.
const MIN_PASSWORD: usize = 10;

/// What an account is (LIFECYCLE.md, "Who, and what each may do").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Staff,
    Viewer,
    Province,
    Expert,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Staff,
        Role::Viewer,
        Role::Province,
        Role::Expert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Viewer => "viewer",
            Role::Province => "province",
            Role::Expert => "expert",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// The role's Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Staff => "工作人员",
            Role::Viewer => "查看者",
            Role::Province => "省级联络人",
            Role::Expert => "评审专家",
        }
    }

    /// Sees every province's messages and entries.
    pub fn sees_all(self) -> bool {
        matches!(self, Role::Admin | Role::Staff | Role::Viewer)
    }

    /// May act on the registry (the desk's actions).
    pub fn acts(self) -> bool {
        matches!(self, Role::Admin | Role::Staff)
    }
}

/// A random token, URL-safe (256 bits).
fn token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// What is stored of a token or session id.
fn hashed(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Makes a single-use sign-in link for an account, valid for `hours`, under `base` (the
/// console's public address): the link is returned, only its hash is stored.
pub fn issue_signin_link(
    reg: &Registry,
    user: i64,
    hours: u32,
    base: &str,
) -> Result<String, WebError> {
    let t = token();
    let expires = chrono::Utc::now() + chrono::Duration::hours(hours as i64);
    reg.add_signin_link(user, &hashed(&t), &rfc3339(expires))?;
    Ok(format!("{}/signin/{t}", base.trim_end_matches('/')))
}

/// Hashes a password with Argon2id (the crate's defaults: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, WebError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| WebError::BadRequest(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| WebError::BadRequest(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Compares two secrets in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// What a page may show: every province, one, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Province(String),
    Nothing,
}

impl Scope {
    /// The province a query is limited to (Nothing is never queried).
    pub fn province(&self) -> Option<String> {
        match self {
            Scope::Province(p) => Some(p.clone()),
            _ => None,
        }
    }
    /// Whether an object of `province` is visible.
    pub fn allows(&self, province: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Province(p) => province == Some(p.as_str()),
            Scope::Nothing => false,
        }
    }
}

/// The request's session: who is signed in (if anyone), the CSRF token of its forms, and
/// a cookie to set when a session was made.
pub struct Ctx {
    pub user: Option<User>,
    pub role: Option<Role>,
    pub csrf: String,
    sid_hash: String,
    pub(super) set_cookie: Option<HeaderValue>,
    /// The Origin (or Referer) of the request is this site's own.
    same_origin: bool,
    secure: bool,
}

impl Ctx {
    /// Reads the session from the cookie, or starts one for a visitor (who needs a CSRF
    /// token for the sign-in and self-check forms).
    pub(super) fn of(s: &Inner, reg: &Registry, meta: &Meta) -> Result<Ctx, WebError> {
        let secure = s
            .console
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let same_origin = same_origin(s, meta);
        let idle = chrono::Duration::minutes(s.console.session_idle_minutes.max(1) as i64);
        if let Some(sid) = cookie(meta) {
            let sid_hash = hashed(&sid);
            if let Some(row) = reg.session(&sid_hash)? {
                let fresh = chrono::DateTime::parse_from_rfc3339(&row.last_seen)
                    .map(|t| chrono::Utc::now() - t.with_timezone(&chrono::Utc) < idle)
                    .unwrap_or(false);
                if !row.ended && fresh {
                    let user = match row.user {
                        Some(id) => reg.user_by_id(id)?.filter(|u| !u.disabled),
                        None => None,
                    };
                    if row.user.is_none() || user.is_some() {
                        // Written at most once a minute: a page view is otherwise a read.
                        let stale = chrono::DateTime::parse_from_rfc3339(&row.last_seen)
                            .map(|t| {
                                chrono::Utc::now() - t.with_timezone(&chrono::Utc)
                                    > chrono::Duration::seconds(60)
                            })
                            .unwrap_or(true);
                        if stale {
                            reg.touch_session(&sid_hash)?;
                        }
                        let role = user.as_ref().and_then(|u| Role::parse(&u.role));
                        return Ok(Ctx {
                            user,
                            role,
                            csrf: row.csrf,
                            sid_hash,
                            set_cookie: None,
                            same_origin,
                            secure,
                        });
                    }
                }
            }
        }
        let mut ctx = Ctx {
            user: None,
            role: None,
            csrf: String::new(),
            sid_hash: String::new(),
            set_cookie: None,
            same_origin,
            secure,
        };
        ctx.new_session(reg, None)?;
        Ok(ctx)
    }

    /// Replaces the session with a new one (a new id and CSRF token) for `user`: at
    /// sign-in, so that an id known before it is worth nothing after.
    fn new_session(&mut self, reg: &Registry, user: Option<&User>) -> Result<(), WebError> {
        if !self.sid_hash.is_empty() {
            reg.end_session(&self.sid_hash)?;
        }
        let sid = token();
        let csrf = token();
        self.sid_hash = hashed(&sid);
        reg.create_session(&self.sid_hash, user.map(|u| u.id), &csrf)?;
        self.csrf = csrf;
        self.user = user.cloned();
        self.role = user.and_then(|u| Role::parse(&u.role));
        let secure = if self.secure { "; Secure" } else { "" };
        self.set_cookie = HeaderValue::from_str(&format!(
            "{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict{secure}"
        ))
        .ok();
        Ok(())
    }

    /// The signed-in account, or a redirect to the sign-in page.
    pub fn user(&self) -> Result<(&User, Role), WebError> {
        match (&self.user, self.role) {
            (Some(u), Some(r)) => Ok((u, r)),
            _ => Err(WebError::SignIn),
        }
    }

    /// What the account may see of messages and entries.
    pub fn scope(&self) -> Result<Scope, WebError> {
        let (u, role) = self.user()?;
        Ok(match role {
            r if r.sees_all() => Scope::All,
            Role::Province => match &u.province {
                Some(p) => Scope::Province(p.clone()),
                None => Scope::Nothing,
            },
            _ => Scope::Nothing,
        })
    }

    /// Lists of messages and entries: refused to accounts that see none (experts).
    pub fn list_scope(&self) -> Result<Scope, WebError> {
        match self.scope()? {
            Scope::Nothing => Err(WebError::Forbidden),
            s => Ok(s),
        }
    }

    /// Checks a form POST: the session's CSRF token and our own Origin.
    pub fn check_post(&self, csrf: &str) -> Result<(), WebError> {
        if !self.same_origin || self.sid_hash.is_empty() || !same(csrf, &self.csrf) {
            return Err(WebError::Csrf);
        }
        Ok(())
    }

    /// Admin only (accounts).
    pub fn require_admin(&self) -> Result<&User, WebError> {
        let (u, role) = self.user()?;
        if role != Role::Admin {
            return Err(WebError::Forbidden);
        }
        Ok(u)
    }
}

/// The session id in the request's cookie.
fn cookie(meta: &Meta) -> Option<String> {
    meta.headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The origin forms must come from: the public URL's, else this request's Host over http.
fn expected_origin(s: &Inner, meta: &Meta) -> Option<String> {
    if let Some(u) = &s.console.public_url {
        let u = u.trim_end_matches('/');
        // scheme://host[:port] — the part before the first '/' after the scheme.
        let (scheme, rest) = u.split_once("://")?;
        let host = rest.split('/').next()?;
        return Some(format!("{scheme}://{host}").to_ascii_lowercase());
    }
    let host = meta.headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}").to_ascii_lowercase())
}

/// Whether the request says it comes from this site: its Origin, else its Referer, must
/// be ours; a POST with neither is refused (browsers send Origin with every form POST).
fn same_origin(s: &Inner, meta: &Meta) -> bool {
    let Some(expected) = expected_origin(s, meta) else {
        return false;
    };
    let h = |name| {
        meta.headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase())
    };
    if let Some(origin) = h(header::ORIGIN) {
        return origin == expected;
    }
    if let Some(referer) = h(header::REFERER) {
        return referer == expected || referer.starts_with(&format!("{expected}/"));
    }
    false
}

/// Since when failed attempts count.
fn window_start() -> String {
    rfc3339(chrono::Utc::now() - chrono::Duration::minutes(WINDOW_MINUTES))
}

/// Refuses a sign-in attempt when the account or the address failed too often lately;
/// every failure already counted also costs a little time, so guessing is slow.
fn throttle(reg: &Registry, account: Option<&str>, address: &str) -> Result<(), WebError> {
    let (by_account, by_address) = reg.failed_signins_since(account, address, &window_start())?;
    let delay = by_account.max(by_address / 4).min(5) as u64;
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(200 * delay));
    }
    if by_account >= ACCOUNT_FAILURES || by_address >= ADDRESS_FAILURES {
        reg.record_signin_attempt(account, address, false)?;
        return Err(WebError::TooMany);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Sign-in pages

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn login_page(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, |s, _, ctx| {
        render::html(s, ctx, "login.html", minijinja::context! {})
    })
    .await
}

pub(super) async fn login(
    State(s): State<super::State>,
    meta: Meta,
    Form(f): Form<LoginForm>,
) -> Response {
    let address = meta.address();
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        let email = f.email.trim().to_lowercase();
        throttle(reg, Some(&email), &address)?;
        let user = reg.user_by_email(&email)?.filter(|u| !u.disabled);
        let ok = match &user {
            Some(u) => u
                .password_hash
                .as_deref()
                .is_some_and(|h| verify_password(&f.password, h)),
            None => {
                // Same work whether or not the account exists.
                let _ = hash_password(&f.password);
                false
            }
        };
        reg.record_signin_attempt(Some(&email), &address, ok)?;
        if !ok {
            let body = render::page(
                s,
                ctx,
                "login.html",
                minijinja::context! { error => "邮箱或密码不正确。", email => email },
            )?;
            return Ok((StatusCode::UNAUTHORIZED, axum::response::Html(body)).into_response());
        }
        ctx.new_session(reg, user.as_ref())?;
        let expert = user
            .as_ref()
            .is_some_and(|u| u.role == Role::Expert.as_str());
        Ok(Redirect::to(if expert { "/review" } else { "/" }).into_response())
    })
    .await
}

pub(super) async fn logout(
    State(s): State<super::State>,
    meta: Meta,
    Form(f): Form<CsrfForm>,
) -> Response {
    run(s, meta, move |_, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        ctx.new_session(reg, None)?;
        Ok(Redirect::to("/login").into_response())
    })
    .await
}

/// A sign-in link opened: a page with one button. The link is used only by the POST, so
/// a mail scanner that opens links does not spend it.
pub(super) async fn signin_page(
    State(s): State<super::State>,
    meta: Meta,
    Path(token): Path<String>,
) -> Response {
    run(s, meta, move |s, _, ctx| {
        render::html(
            s,
            ctx,
            "signin.html",
            minijinja::context! { token => token },
        )
    })
    .await
}

pub(super) async fn signin(
    State(s): State<super::State>,
    meta: Meta,
    Path(token): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let address = meta.address();
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        throttle(reg, None, &address)?;
        let now = rfc3339(chrono::Utc::now());
        let user = match reg.use_signin_link(&hashed(&token), &now)? {
            Some(id) => reg.user_by_id(id)?,
            None => None,
        };
        let Some(user) = user else {
            reg.record_signin_attempt(None, &address, false)?;
            let body = render::page(
                s,
                ctx,
                "error.html",
                minijinja::context! {
                    message => "这个登录链接无效：它可能已经用过、已经过期，或者账号已停用。请联系系统管理员重新发送。",
                    code => "invalid_signin_link",
                },
            )?;
            return Ok((StatusCode::FORBIDDEN, axum::response::Html(body)).into_response());
        };
        reg.record_signin_attempt(Some(&user.email), &address, true)?;
        ctx.new_session(reg, Some(&user))?;
        // An expert's link comes in review mail: it leads to 我的评审 (a password can be
        // set under 我的账号 at any time).
        let to = if user.role == Role::Expert.as_str() {
            "/review"
        } else if user.password_hash.is_none() {
            "/account?welcome=1"
        } else {
            "/"
        };
        Ok(Redirect::to(to).into_response())
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct Welcome {
    #[serde(default)]
    welcome: Option<String>,
}

pub(super) async fn account(
    State(s): State<super::State>,
    meta: Meta,
    axum::extract::Query(q): axum::extract::Query<Welcome>,
) -> Response {
    run(s, meta, move |s, _, ctx| {
        let (u, _) = ctx.user()?;
        let has_password = u.password_hash.is_some();
        render::html(
            s,
            ctx,
            "account.html",
            minijinja::context! { welcome => q.welcome.is_some(), has_password },
        )
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    again: String,
}

pub(super) async fn set_password(
    State(s): State<super::State>,
    meta: Meta,
    Form(f): Form<PasswordForm>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        let (u, _) = ctx.user()?;
        let error = if f.password.chars().count() < MIN_PASSWORD {
            Some(format!("密码至少需要 {MIN_PASSWORD} 个字符。"))
        } else if f.password != f.again {
            Some("两次输入的密码不一致。".to_string())
        } else {
            None
        };
        if let Some(error) = error {
            let has_password = u.password_hash.is_some();
            let body = render::page(
                s,
                ctx,
                "account.html",
                minijinja::context! { error, has_password },
            )?;
            return Ok((StatusCode::BAD_REQUEST, axum::response::Html(body)).into_response());
        }
        reg.set_password_hash(u.id, &hash_password(&f.password)?)?;
        let has_password = true;
        render::html(
            s,
            ctx,
            "account.html",
            minijinja::context! { done => "密码已设置。以后可以用邮箱和密码登录。", has_password },
        )
    })
    .await
}

// ---------------------------------------------------------------------------------------
// 账号 (admin)

/// An account as the page shows it.
#[derive(serde::Serialize)]
pub(super) struct UserView {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub role_label: String,
    pub province: String,
    pub unit: String,
    pub name: String,
    pub password: bool,
    pub disabled: bool,
    pub created_at: String,
}

pub(super) fn user_views(s: &Inner, users: Vec<User>) -> Vec<UserView> {
    users
        .into_iter()
        .map(|u| UserView {
            id: u.id,
            role_label: Role::parse(&u.role).map(Role::label).unwrap_or("").into(),
            province: u
                .province
                .as_deref()
                .map(|p| render::province_name(s, Some(p)))
                .unwrap_or_default(),
            email: u.email,
            role: u.role,
            unit: u.unit.unwrap_or_default(),
            name: u.name.unwrap_or_default(),
            password: u.password_hash.is_some(),
            disabled: u.disabled,
            created_at: render::local_time(s, &u.created_at),
        })
        .collect()
}

fn users_page(
    s: &Inner,
    reg: &Registry,
    ctx: &Ctx,
    flash: Option<String>,
    link: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    ctx.require_admin()?;
    let users = user_views(s, reg.users()?);
    let roles: Vec<(&str, &str)> = Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect();
    let provinces: Vec<(String, String)> = s
        .console
        .campaign()
        .provinces
        .iter()
        .map(|p| (p.code.clone(), p.name.clone()))
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = render::page(
        s,
        ctx,
        "users.html",
        minijinja::context! { users, roles, provinces, flash, link, error },
    )?;
    Ok((status, axum::response::Html(body)).into_response())
}

pub(super) async fn users(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, |s, reg, ctx| {
        users_page(s, reg, ctx, None, None, None)
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct AddUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    name: String,
}

/// Why an account cannot be made as asked: (stable code, Chinese message).
pub fn check_new_user(
    email: &str,
    role: &str,
    province: Option<&str>,
    known_province: impl Fn(&str) -> bool,
) -> Result<Role, (&'static str, String)> {
    let email = email.trim();
    // The address must be one mail can go to (sign-in links are mailed).
    if crate::mail::check_address(email).is_err() {
        return Err(("bad_email", format!("“{email}”不是有效的邮箱地址。")));
    }
    let Some(role) = Role::parse(role) else {
        return Err((
            "bad_role",
            format!("角色“{role}”不存在；可用的角色：admin、staff、viewer、province、expert。"),
        ));
    };
    match (role, province) {
        (Role::Province, None) => Err((
            "province_required",
            "省级联络人账号需要指定省份（--province 省份代码）。".into(),
        )),
        (_, Some(p)) if !known_province(p) => Err((
            "unknown_province",
            format!("省份代码“{p}”不在规则的省份表中。"),
        )),
        _ => Ok(role),
    }
}

pub(super) async fn add_user(
    State(s): State<super::State>,
    meta: Meta,
    Form(f): Form<AddUserForm>,
) -> Response {
    let base = base_url(&s, &meta);
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        let admin = ctx.require_admin()?.email.clone();
        let opt = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        let province = opt(&f.province);
        let campaign = s.console.campaign();
        let checked = check_new_user(&f.email, &f.role, province.as_deref(), |p| {
            campaign.province(p).is_some()
        });
        let role = match checked {
            Ok(r) => r,
            Err((_, msg)) => return users_page(s, reg, ctx, None, None, Some(msg)),
        };
        let (unit, name) = (opt(&f.unit), opt(&f.name));
        let created = reg.create_user(&NewUser {
            email: f.email.trim(),
            role: role.as_str(),
            province: province.as_deref(),
            unit: unit.as_deref(),
            name: name.as_deref(),
            created_by: &admin,
        })?;
        let Some(id) = created else {
            return users_page(s, reg, ctx, None, None, Some("这个邮箱已经有账号。".into()));
        };
        let link = issue_signin_link(reg, id, s.console.link_hours, &base)?;
        users_page(
            s,
            reg,
            ctx,
            Some(format!(
                "账号已创建。请把下面的登录链接发给对方（{} 小时内有效，只能使用一次）：",
                s.console.link_hours
            )),
            Some(link),
            None,
        )
    })
    .await
}

pub(super) async fn disable_user(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        ctx.require_admin()?;
        let user = reg.user_by_id(id)?.ok_or(WebError::NotFound)?;
        reg.disable_user(&user.email)?;
        users_page(
            s,
            reg,
            ctx,
            Some(format!("已停用 {}。", user.email)),
            None,
            None,
        )
    })
    .await
}

pub(super) async fn reissue_link(
    State(s): State<super::State>,
    meta: Meta,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let base = base_url(&s, &meta);
    run(s, meta, move |s, reg, ctx| {
        ctx.check_post(&f.csrf)?;
        ctx.require_admin()?;
        let user = reg.user_by_id(id)?.ok_or(WebError::NotFound)?;
        if user.disabled {
            return users_page(
                s,
                reg,
                ctx,
                None,
                None,
                Some("账号已停用，不能发送登录链接。".into()),
            );
        }
        let link = issue_signin_link(reg, id, s.console.link_hours, &base)?;
        users_page(
            s,
            reg,
            ctx,
            Some(format!("{} 的新登录链接：", user.email)),
            Some(link),
            None,
        )
    })
    .await
}

/// The address links are made under: the public URL, else this request's host.
fn base_url(s: &Inner, meta: &Meta) -> String {
    if let Some(u) = &s.console.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = meta
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:9925");
    format!("http://{host}")
}
