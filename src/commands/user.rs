//! `lndx user add | list | disable | link`: the console's accounts from the command line.
//! The first admin is made this way: `add` prints the account's one-time sign-in link as
//! the last line of its output (scripts take the last line), and queues it by mail when
//! the outbox is SMTP (delivered by the running `lndx run`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::json;

use crate::app::App;
use crate::config::OutboxConfig;
use crate::queued::Purpose;
use crate::registry::console::NewUser;
use crate::registry::{QueuedMail, Registry};
use crate::web::auth::check_new_user;
use crate::web::issue_signin_link;

/// The account `user add` makes, as typed.
#[derive(Debug, Clone)]
pub struct AddArgs {
    pub email: String,
    pub role: String,
    pub province: Option<String>,
    pub unit: Option<String>,
    pub name: Option<String>,
}

/// Who acts from the command line (recorded as the account's creator).
fn actor() -> String {
    let login = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{login}")
}

/// Says an input error to people (stderr, Chinese) and scripts (`--json`: a JSON line
/// with a stable code), and exits 2.
fn refuse(json: bool, code: &str, message: &str) -> Result<ExitCode> {
    if json {
        println!("{}", json!({"error": {"code": code, "message": message}}));
    }
    eprintln!("lndx: {message}");
    Ok(ExitCode::from(2))
}

pub fn add(app: &App, a: &AddArgs, json: bool) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let province = a.province.as_deref().map(|p| {
        campaign
            .province_typed(p)
            .map(|x| x.code.clone())
            .unwrap_or_else(|| p.trim().to_string())
    });
    let role = match check_new_user(&a.email, &a.role, province.as_deref(), |p| {
        campaign.province(p).is_some()
    }) {
        Ok(r) => r,
        Err((code, message)) => return refuse(json, code, &message),
    };
    let reg = app.registry()?;
    let created = reg.create_user(&NewUser {
        email: a.email.trim(),
        role: role.as_str(),
        province: province.as_deref(),
        unit: a.unit.as_deref(),
        name: a.name.as_deref(),
        created_by: &actor(),
    })?;
    let Some(id) = created else {
        return refuse(
            json,
            "user_exists",
            &format!(
                "{} 已经有账号；要重新发送登录链接，请用 lndx user link {}",
                a.email.trim(),
                a.email.trim()
            ),
        );
    };
    let link = issue_signin_link(&reg, id, app.config.web.link_hours, &app.console_base())
        .map_err(anyhow::Error::msg)?;
    let mailed = mail_link(app, &reg, a.email.trim(), &link)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(
            out,
            "{}",
            json!({"id": id, "email": a.email.trim().to_lowercase(), "role": role.as_str(),
                   "province": province, "mailed": mailed, "link": link})
        )?;
    } else {
        writeln!(
            out,
            "已创建账号 {}（{}）。登录链接 {} 小时内有效，只能使用一次{}：",
            a.email.trim().to_lowercase(),
            role.label(),
            app.config.web.link_hours,
            if mailed {
                "，已排入发信队列"
            } else {
                ""
            }
        )?;
    }
    // The link is the last line either way.
    writeln!(out, "{link}")?;
    Ok(ExitCode::SUCCESS)
}

pub fn link(app: &App, email: &str) -> Result<ExitCode> {
    let reg = app.registry()?;
    let Some(user) = reg.user_by_email(email.trim())? else {
        return refuse(false, "no_such_user", &format!("没有账号 {email}"));
    };
    if user.disabled {
        return refuse(false, "user_disabled", &format!("账号 {email} 已停用"));
    }
    let link = issue_signin_link(
        &reg,
        user.id,
        app.config.web.link_hours,
        &app.console_base(),
    )
    .map_err(anyhow::Error::msg)?;
    let mailed = mail_link(app, &reg, &user.email, &link)?;
    if mailed {
        println!("登录链接已排入发信队列：");
    }
    println!("{link}");
    Ok(ExitCode::SUCCESS)
}

pub fn list(app: &App, json: bool) -> Result<ExitCode> {
    let reg = app.registry()?;
    let users = reg.users()?;
    let mut out = std::io::stdout().lock();
    if json {
        let v: Vec<_> = users
            .iter()
            .map(|u| {
                json!({"id": u.id, "email": u.email, "role": u.role, "province": u.province,
                       "unit": u.unit, "name": u.name, "password": u.password_hash.is_some(),
                       "disabled": u.disabled, "created_at": u.created_at})
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(v))?;
        return Ok(ExitCode::SUCCESS);
    }
    for u in &users {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}{}",
            u.email,
            u.role,
            u.province.as_deref().unwrap_or("-"),
            u.unit.as_deref().unwrap_or("-"),
            u.name.as_deref().unwrap_or("-"),
            if u.disabled { "\t已停用" } else { "" }
        )?;
    }
    if users.is_empty() {
        writeln!(
            out,
            "还没有账号。用 lndx user add 邮箱 --role admin 创建第一个管理员。"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn disable(app: &App, email: &str) -> Result<ExitCode> {
    let reg = app.registry()?;
    if !reg.disable_user(email.trim())? {
        return refuse(false, "no_such_user", &format!("没有账号 {email}"));
    }
    println!("已停用 {}，其登录会话已结束。", email.trim().to_lowercase());
    Ok(ExitCode::SUCCESS)
}

/// Queues the sign-in link to the account when mail goes out over SMTP (a folder outbox
/// delivers nowhere); true when queued.
fn mail_link(app: &App, reg: &Registry, to: &str, link: &str) -> Result<bool> {
    if !matches!(app.config.outbox, OutboxConfig::Smtp(_)) {
        return Ok(false);
    }
    let c = &app.config;
    let campaign = app.campaign()?;
    let from = c.identity.address.clone();
    let name = if c.identity.name.trim().is_empty() {
        campaign.info.sender_name.clone()
    } else {
        c.identity.name.clone()
    };
    let text = format!(
        "您好：\n\n已为您开通{}征集管理平台的账号。请在 {} 小时内打开下面的链接登录（链接只能使用一次）：\n\n{link}\n\n如非本人申请，请忽略本邮件。\n",
        campaign.info.short_name, c.web.link_hours
    );
    let escaped = link
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let html = format!(
        "<p>您好：</p><p>已为您开通{}征集管理平台的账号。请在 {} 小时内打开下面的链接登录（链接只能使用一次）：</p><p><a href=\"{escaped}\">{escaped}</a></p><p>如非本人申请，请忽略本邮件。</p>",
        campaign.info.short_name, c.web.link_hours
    );
    let message_id = crate::mail::new_message_id("signin", &from);
    let out = crate::mail::Outgoing {
        from: from.clone(),
        from_name: Some(name),
        to: vec![to.to_string()],
        cc: Vec::new(),
        subject: format!("{}征集管理平台登录链接", campaign.info.short_name),
        text,
        html,
        message_id: message_id.clone(),
        in_reply_to: None,
        references: Vec::new(),
        headers: crate::mail::automatic_headers(
            crate::mail::Automatic::Generated,
            &c.identity.loop_header,
            &from,
        ),
        attachments: Vec::new(),
    };
    let body = match crate::mail::encode(&out) {
        Ok(b) => b,
        Err(e) => bail!("cannot build the sign-in mail: {e}"),
    };
    reg.enqueue(&QueuedMail {
        message: None,
        purpose: Purpose::Reply,
        message_id,
        envelope_from: from,
        recipients: vec![to.to_string()],
        body,
        held: None,
    })?;
    Ok(true)
}
