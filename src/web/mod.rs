//! The staff console: the web pages `lndx run` serves on `[web] listen`, with /healthz and
//! /metrics beside them (their content is [`crate::health`]'s; only the serving is here).
//!
//! Where it sits: beside `daemon`, above the stages. Like the command line it reads through
//! the registry ([`crate::registry::console`] holds every query; this module has no SQL)
//! and calls the stages (`message` to re-extract an original file from its raw message,
//! `reply` for the wording of findings, `intake` for the public self-check). It is given
//! ready-made values in a [`Console`]; it never sees the config file or the `App`.
//!
//! Stack: axum 0.8 on a current-thread tokio runtime of its own thread (like every other
//! part of the daemon); each request's registry work runs on tokio's blocking pool with a
//! connection taken from a small pool (SQLite WAL: readers never wait for the intake
//! worker). Pages are rendered on the server with minijinja (auto-escaping every `.html`
//! template; chosen over askama because templates stay plain files checked at start by a
//! test, add no proc-macro build time, and over the project's handlebars because Jinja
//! has template inheritance and loops with `loop` variables that the lists need). They
//! work without JavaScript; the stylesheet is inside the binary, and so is the one script
//! (我的评审's live total, `review_expert.rs`), which only adds to a working page.

mod actions;
pub mod auth;
mod book;
mod export;
mod pages;
mod render;
mod review_expert;
mod review_staff;
mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::campaign::Campaign;
use crate::health::Health;
use crate::intake::Intake;
use crate::registry::{Registry, RegistryError};
use crate::reply::Wording;
use crate::report::Reporter;
use crate::shutdown::Shutdown;

pub use auth::{issue_signin_link, Role};

/// Everything the console needs, prepared by the command layer.
pub struct Console {
    /// The data directory: each request borrows a registry connection opened in it.
    pub data_dir: PathBuf,
    /// Reads and checks forms for the public self-check (nothing is filed), and carries
    /// the campaign and the replies' wording the pages use.
    pub intake: Intake,
    /// The address people open (links, Secure cookies, the expected Origin of forms).
    pub public_url: Option<String>,
    /// Lifetime of a sign-in link, in hours.
    pub link_hours: u32,
    /// A session idle this long must sign in again.
    pub session_idle_minutes: u32,
    /// The largest upload the self-check takes.
    pub check_upload_bytes: usize,
    /// The weekly report: 总览 shows its numbers, 周报 previews and queues it.
    pub reporter: Reporter,
    /// Staff actions and the audit log (the same desk the command line uses).
    pub desk: crate::desk::Desk,
    /// 汇编: the book's settings (`[book]`, the templates folder), as `lndx book` uses them.
    pub book: crate::book::Setup,
    /// 评审, 推介 and 我的评审: the rubric, review mail's wording, sender and sign-in links,
    /// as `lndx review` uses them; None when the campaign has no expert review
    /// (`review.toml`), and then those pages are not found.
    pub review: Option<crate::review::staff::Setup>,
}

impl Console {
    fn campaign(&self) -> &Campaign {
        &self.intake.campaign
    }
    fn wording(&self) -> &Wording {
        &self.intake.replier.wording
    }
}

/// Why a page cannot be shown; each becomes a Chinese error page with its status.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Also what a province account gets for another province's object, so that its
    /// existence does not leak.
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    SignIn,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("csrf check failed")]
    Csrf,
    #[error("too many attempts")]
    TooMany,
    #[error("too large")]
    TooLarge,
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::SignIn => StatusCode::SEE_OTHER,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Registry(_) | WebError::Template(_) | WebError::Report(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// What a person reads.
    fn message(&self) -> String {
        match self {
            WebError::NotFound => "没有找到这个页面或记录。".into(),
            WebError::Forbidden => "您的账号没有查看或办理这一项的权限。".into(),
            WebError::SignIn => "请先登录。".into(),
            WebError::BadRequest(m) => m.clone(),
            WebError::Csrf => {
                "表单已过期或来源不明，未予办理。请返回上一页，刷新后重新提交。".into()
            }
            WebError::TooMany => "尝试次数过多，请稍后再试。".into(),
            WebError::TooLarge => "上传的文件太大。".into(),
            WebError::Registry(_) | WebError::Template(_) | WebError::Report(_) => {
                "系统出错，请稍后再试；如果一直出错，请联系系统管理员。".into()
            }
        }
    }

    /// The stable code (shown on the page, for support).
    fn code(&self) -> &'static str {
        match self {
            WebError::NotFound => "not_found",
            WebError::Forbidden => "forbidden",
            WebError::SignIn => "sign_in_required",
            WebError::BadRequest(_) => "bad_request",
            WebError::Csrf => "csrf_failed",
            WebError::TooMany => "too_many_attempts",
            WebError::TooLarge => "too_large",
            WebError::Registry(_) => "database",
            WebError::Template(_) => "template",
            WebError::Report(_) => "report",
        }
    }
}

/// What every request shares.
pub(crate) struct Inner {
    console: Console,
    health: Arc<Health>,
    pool: Mutex<Vec<Registry>>,
    templates: minijinja::Environment<'static>,
    /// 总览's numbers, computed over the whole registry: served as they are and, once older
    /// than [`OVERVIEW_FOR`], computed again on a thread of their own (see
    /// [`Inner::overview`]).
    overview: Mutex<Option<(std::time::Instant, Arc<crate::report::data::ReportData>)>>,
    /// A computation of 总览's numbers is under way.
    overview_busy: std::sync::atomic::AtomicBool,
    /// Signalled when a computation of 总览's numbers ends (with numbers or without).
    overview_done: std::sync::Condvar,
}

/// How long 总览's numbers count as fresh. The weekly report's computation reads every
/// entry: 0.7 s over 10,000 entries (`benches/console.rs`), far over a page's budget, so no
/// request waits for it once it has run: a request finds the last numbers (the page says
/// the moment they are as of) and, when they are older than this, starts a new computation
/// in the background (stale-while-revalidate). Only a request before the very first
/// computation (started with the server) ends waits for it; it computes the numbers itself
/// only if that computation failed.
pub(crate) const OVERVIEW_FOR: std::time::Duration = std::time::Duration::from_secs(15);

/// Connections kept for reuse between requests.
const POOL: usize = 8;

impl Inner {
    /// Runs `f` with a registry connection from the pool (opened when none is free).
    fn with_registry<T>(
        &self,
        f: impl FnOnce(&mut Registry) -> Result<T, WebError>,
    ) -> Result<T, WebError> {
        let taken = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
        let mut reg = match taken {
            Some(r) => r,
            None => Registry::open(&self.console.data_dir)?,
        };
        let out = f(&mut reg);
        // A connection left inside a transaction (which no path should do) is closed, which
        // rolls it back, rather than handed to the next request.
        if reg.idle() {
            if let Ok(mut p) = self.pool.lock() {
                if p.len() < POOL {
                    p.push(reg);
                }
            }
        } else {
            tracing::error!("console: a registry connection was left in a transaction; closed");
        }
        out
    }
}

impl Inner {
    /// 总览's numbers for a request: the last ones computed (starting a new computation
    /// when they are stale), or, before any exists, those of the computation under way, or
    /// computed now.
    fn overview(
        self: &Arc<Self>,
        reg: &Registry,
    ) -> Result<Arc<crate::report::data::ReportData>, WebError> {
        let last = self.overview.lock().ok().and_then(|c| c.clone());
        match last {
            Some((at, d)) => {
                if at.elapsed() >= OVERVIEW_FOR {
                    Inner::refresh_overview(self);
                }
                Ok(d)
            }
            None => {
                // The first computation (started with the server) is under way: wait for
                // it rather than computing the same numbers twice at once.
                if let Some(d) = self.first_overview() {
                    return Ok(d);
                }
                let d = Arc::new(self.console.reporter.data(reg, chrono::Utc::now())?);
                if let Ok(mut c) = self.overview.lock() {
                    *c = Some((std::time::Instant::now(), d.clone()));
                }
                Ok(d)
            }
        }
    }

    /// Waits while a computation runs and no numbers exist yet; the numbers it left, if any.
    fn first_overview(&self) -> Option<Arc<crate::report::data::ReportData>> {
        use std::sync::atomic::Ordering;
        let mut cached = self.overview.lock().unwrap_or_else(|e| e.into_inner());
        while cached.is_none() && self.overview_busy.load(Ordering::Acquire) {
            // A timeout as well: the end may be signalled between the check and the wait.
            cached = self
                .overview_done
                .wait_timeout(cached, std::time::Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        cached.as_ref().map(|(_, d)| d.clone())
    }

    /// Computes 总览's numbers on a thread of its own, unless a computation is under way.
    /// Failures are logged; the page keeps the numbers it had.
    fn refresh_overview(this: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if this.overview_busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(this);
        let spawned = std::thread::Builder::new()
            .name("overview".into())
            .spawn(move || {
                let done = me.with_registry(|reg| {
                    let d = Arc::new(me.console.reporter.data(reg, chrono::Utc::now())?);
                    if let Ok(mut c) = me.overview.lock() {
                        *c = Some((std::time::Instant::now(), d));
                    }
                    Ok(())
                });
                if let Err(e) = done {
                    tracing::warn!(error = %e, "总览's numbers could not be computed");
                }
                me.overview_busy.store(false, Ordering::Release);
                me.overview_done.notify_all();
            });
        if spawned.is_err() {
            this.overview_busy.store(false, Ordering::Release);
        }
    }
}

type State = Arc<Inner>;

/// Builds the console's router (also used by tests and the benchmark).
pub fn router(console: Console, health: Arc<Health>) -> Result<Router, WebError> {
    let upload = console.check_upload_bytes;
    let inner = Arc::new(Inner {
        templates: render::environment()?,
        console,
        health,
        pool: Mutex::new(Vec::new()),
        overview: Mutex::new(None),
        overview_busy: std::sync::atomic::AtomicBool::new(false),
        overview_done: std::sync::Condvar::new(),
    });
    Inner::refresh_overview(&inner);
    let r = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/static/app.css", get(render::stylesheet))
        .route("/static/review.js", get(review_expert::script))
        .route("/review", get(review_expert::list))
        .route(
            "/review/{id}",
            get(review_expert::form).post(review_expert::save),
        )
        .route("/review/{id}/file", get(review_expert::file))
        .route("/review/{id}/recuse", post(review_expert::recuse))
        .route("/", get(pages::overview))
        .route("/entries", get(pages::entries))
        .route("/entries.xlsx", get(export::entries))
        .route("/entries/{receipt}", get(pages::entry))
        .route("/files/{id}", get(pages::file))
        .route("/messages", get(pages::messages))
        .route("/messages.xlsx", get(export::messages))
        .route("/messages/{id}", get(pages::message))
        .route("/messages/{id}/raw", get(pages::message_raw))
        .route("/outbox", get(pages::outbox))
        .route("/outbox.xlsx", get(export::outbox))
        .route("/outbox/{id}", get(pages::outbox_item))
        .route("/outbox/{id}/eml", get(pages::outbox_eml))
        .route("/attention", get(actions::attention))
        .route("/actions/{kind}", post(actions::perform))
        .route("/audit", get(actions::audit))
        .route("/reports", get(pages::reports))
        .route("/book", get(book::page))
        .route("/book/download", get(book::download_file))
        .route("/reports/preview", get(pages::report_preview))
        .route("/reports/preview.xlsx", get(pages::report_workbook))
        .route("/reports/send", post(pages::report_send))
        .route("/users", get(auth::users).post(auth::add_user))
        .route("/users.xlsx", get(export::users))
        .route("/users/{id}/disable", post(auth::disable_user))
        .route("/users/{id}/link", post(auth::reissue_link))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/signin/{token}", get(auth::signin_page).post(auth::signin))
        .route("/account", get(auth::account).post(auth::set_password))
        .route(
            "/check",
            get(pages::check_page)
                .post(pages::check)
                .layer(DefaultBodyLimit::max(upload + 64 * 1024)),
        )
        .merge(review_staff::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(security_headers))
        .with_state(inner);
    Ok(r)
}

/// The headers every response carries: no script but our own (there is none), no framing,
/// no MIME sniffing, no referrer leaving the site.
async fn security_headers(req: Request<axum::body::Body>, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A page that sets its own (stricter) policy keeps it: the report preview.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

async fn not_found(
    axum::extract::State(s): axum::extract::State<State>,
    headers: axum::http::HeaderMap,
) -> Response {
    run(s, Meta::from_headers(headers), |_, _, _| {
        Err(WebError::NotFound)
    })
    .await
}

async fn healthz(axum::extract::State(s): axum::extract::State<State>) -> Response {
    let s2 = s.clone();
    let body = tokio::task::spawn_blocking(move || {
        s2.with_registry(|reg| Ok(s2.health.snapshot(reg).to_string()))
    })
    .await;
    match body {
        Ok(Ok(b)) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn metrics(axum::extract::State(s): axum::extract::State<State>) -> Response {
    let s2 = s.clone();
    let body =
        tokio::task::spawn_blocking(move || s2.with_registry(|reg| Ok(s2.health.metrics(reg))))
            .await;
    match body {
        Ok(Ok(b)) => (
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            b,
        )
            .into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Runs a page's work on the blocking pool with a registry connection and the request's
/// session ([`auth::Ctx`]); errors become error pages, a new session cookie is attached.
async fn run<F>(s: State, meta: Meta, f: F) -> Response
where
    F: FnOnce(&Inner, &mut Registry, &mut auth::Ctx) -> Result<Response, WebError> + Send + 'static,
{
    let joined = tokio::task::spawn_blocking(move || {
        s.with_registry(|reg| {
            let mut ctx = auth::Ctx::of(&s, reg, &meta)?;
            let mut resp = match f(&s, reg, &mut ctx) {
                Ok(r) => r,
                Err(e) => error_page(&s, &ctx, e),
            };
            if let Some(c) = ctx.set_cookie.take() {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(resp)
        })
    })
    .await;
    match joined {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "console");
            (StatusCode::INTERNAL_SERVER_ERROR, "系统出错，请稍后再试。").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "console task");
            (StatusCode::INTERNAL_SERVER_ERROR, "系统出错，请稍后再试。").into_response()
        }
    }
}

fn error_page(s: &Inner, ctx: &auth::Ctx, e: WebError) -> Response {
    if let WebError::Registry(err) = &e {
        tracing::error!(error = %err, "console: registry");
    }
    if let WebError::Template(err) = &e {
        tracing::error!(error = %err, "console: template");
    }
    if let WebError::Report(err) = &e {
        tracing::error!(error = %err, "console: report");
    }
    if matches!(e, WebError::SignIn) {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    }
    match render::page(
        s,
        ctx,
        "error.html",
        minijinja::context! { message => e.message(), code => e.code() },
    ) {
        Ok(body) => (e.status(), axum::response::Html(body)).into_response(),
        // The message may carry what a person typed: never as HTML unescaped.
        Err(_) => (e.status(), e.message()).into_response(),
    }
}

/// What a page needs of its request besides its own parameters: the headers (cookie,
/// Origin, Host) and the peer address (rate limits).
pub(crate) struct Meta {
    headers: axum::http::HeaderMap,
    peer: Option<SocketAddr>,
}

impl Meta {
    fn from_headers(headers: axum::http::HeaderMap) -> Meta {
        Meta {
            headers,
            peer: None,
        }
    }
    /// The address sign-in attempts are counted under.
    fn address(&self) -> String {
        self.peer
            .map(|p| p.ip().to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Meta, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(Meta {
            headers: parts.headers.clone(),
            peer,
        })
    }
}

/// Why the console could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {listen}: {source}")]
    Listen {
        listen: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Web(#[from] WebError),
}

/// Serves the console, /healthz and /metrics on `listen` until shutdown (on the calling
/// thread, which it blocks).
pub fn serve(
    listen: SocketAddr,
    console: Console,
    health: Arc<Health>,
    mut shutdown: Shutdown,
) -> Result<(), ServeError> {
    let app = router(console, health)?;
    crate::runtime::block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Listen { listen, source })?;
        tracing::info!(%listen, "serving the console, /healthz and /metrics");
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
        .map_err(|source| ServeError::Listen { listen, source })
    })
}
