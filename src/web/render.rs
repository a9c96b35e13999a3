//! Rendering: the templates (built into the binary, auto-escaped: every value that came
//! in a message is text on the page, never markup), the stylesheet, and the small
//! conversions pages share (a province's name, a time in the campaign's zone).

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};

use super::auth::Ctx;
use super::{Inner, WebError};

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    ("signin.html", include_str!("templates/signin.html")),
    ("account.html", include_str!("templates/account.html")),
    ("users.html", include_str!("templates/users.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("book.html", include_str!("templates/book.html")),
    ("entries.html", include_str!("templates/entries.html")),
    ("entry.html", include_str!("templates/entry.html")),
    ("messages.html", include_str!("templates/messages.html")),
    ("message.html", include_str!("templates/message.html")),
    ("outbox.html", include_str!("templates/outbox.html")),
    (
        "outbox_item.html",
        include_str!("templates/outbox_item.html"),
    ),
    ("check.html", include_str!("templates/check.html")),
    ("reports.html", include_str!("templates/reports.html")),
    ("attention.html", include_str!("templates/attention.html")),
    ("done.html", include_str!("templates/done.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("rounds.html", include_str!("templates/rounds.html")),
    ("round.html", include_str!("templates/round.html")),
    ("experts.html", include_str!("templates/experts.html")),
    ("recommend.html", include_str!("templates/recommend.html")),
    (
        "review_mine.html",
        include_str!("templates/review_mine.html"),
    ),
    (
        "review_form.html",
        include_str!("templates/review_form.html"),
    ),
];

const STYLESHEET: &str = include_str!("templates/app.css");

/// The template environment: `.html` templates escape every value unless marked safe.
pub(super) fn environment() -> Result<Environment<'static>, WebError> {
    let mut env = Environment::new();
    for (name, src) in TEMPLATES {
        env.add_template(name, src)?;
    }
    Ok(env)
}

pub(super) async fn stylesheet() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Renders a page with what every page shows: the account, its menu, the CSRF token.
pub(super) fn page(s: &Inner, ctx: &Ctx, name: &str, extra: Value) -> Result<String, WebError> {
    let me = ctx.user.as_ref().map(|u| {
        context! {
            email => u.email.clone(),
            name => u.name.clone().unwrap_or_default(),
            role => u.role.clone(),
            role_label => ctx.role.map(|r| r.label()).unwrap_or(""),
            province => u.province.as_deref().map(|p| province_name(s, Some(p))),
        }
    });
    let role = ctx.role.map(|r| r.as_str()).unwrap_or("");
    let sees = ctx
        .role
        .is_some_and(|r| r.sees_all() || r.as_str() == "province");
    let base = context! {
        me,
        role,
        sees,
        admin => role == "admin",
        csrf => ctx.csrf.clone(),
        title_campaign => s.console.campaign().info.short_name.clone(),
    };
    let t = s.templates.get_template(name)?;
    Ok(t.render(context! { ..extra, ..base })?)
}

/// [`page`] as a 200 response.
pub(super) fn html(s: &Inner, ctx: &Ctx, name: &str, extra: Value) -> Result<Response, WebError> {
    Ok(Html(page(s, ctx, name, extra)?).into_response())
}

/// A province's name from its code ("" for none).
pub(super) fn province_name(s: &Inner, code: Option<&str>) -> String {
    s.console.campaign().province_name(code)
}

/// A stored RFC 3339 time in the campaign's zone, to the minute.
pub(super) fn local_time(s: &Inner, t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| {
            d.with_timezone(&s.console.campaign().tz)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| t.to_string())
}

/// A kind's Chinese name from its key.
pub(super) fn kind_name(s: &Inner, key: &str) -> String {
    let c = s.console.campaign();
    c.kind(key)
        .map(|k| c.kind_info(k).name.clone())
        .unwrap_or_else(|| key.to_string())
}

/// Kinds' Chinese names, joined with 、.
pub(super) fn kinds_text(s: &Inner, keys: &[String]) -> String {
    keys.iter()
        .map(|k| kind_name(s, k))
        .collect::<Vec<_>>()
        .join("、")
}

/// A batch's Chinese name.
pub(super) fn batch_name(s: &Inner, batch: Option<u8>) -> String {
    batch
        .and_then(|b| s.console.campaign().batch(b))
        .map(|b| b.name.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template parses, and a value with markup is escaped.
    #[test]
    fn templates_load_and_escape() {
        let env = environment().unwrap();
        let t = env.get_template("error.html").unwrap();
        let out = t
            .render(context! { message => "<script>alert(1)</script>", code => "x", csrf => "" })
            .unwrap();
        assert!(out.contains("&lt;script&gt;"), "{out}");
        assert!(!out.contains("<script>alert"));
    }
}
