//! The desk on the command line: `lndx attention`, the actions (`message …`, `entry …`,
//! `outbox …`, `note …`, `reprocess`) and `lndx audit`. Each action goes through
//! [`crate::desk::Desk::perform`] like the console's, so it is audited the same way; the
//! actor is `cli:<login name>` ($USER, or `--as`). Mail an action queued is delivered at
//! once, like `ingest` does.
//!
//! A refused action prints its Chinese message on stderr (with `--json`, also
//! `{"error": {"code", "message"}}` on stdout) and exits 1; a database failure exits 2.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::flush_outbox;
use crate::app::App;
use crate::desk::{Action, AttentionKind, AttentionQuery, AuditQuery, DeskError};

/// `cli:<login name>`: the name given with `--as`, else $USER (or $LOGNAME).
pub fn actor(given: Option<&str>) -> String {
    let name = given
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    format!("cli:{}", name.trim())
}

/// Prints a refusal and gives the exit code.
fn refused(e: &DeskError, json: bool) -> Result<ExitCode> {
    if json {
        writeln!(
            std::io::stdout(),
            "{}",
            json!({"error": {"code": e.code(), "message": e.message()}})
        )?;
    }
    eprintln!("lndx: {}", e.message());
    Ok(ExitCode::from(match e {
        DeskError::Database(_) | DeskError::Wording(_) | DeskError::Render(_) => 2,
        _ => 1,
    }))
}

/// Performs an action, delivers what it queued, prints what it did.
pub fn perform(app: &App, actor: &str, action: Action, json: bool) -> Result<ExitCode> {
    let desk = app.desk()?;
    let done = match desk.perform(&mut app.registry()?, actor, action) {
        Ok(d) => d,
        Err(e) => return refused(&e, json),
    };
    if !done.queued.is_empty() {
        flush_outbox(app, &app.registry()?)?;
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&done)?)?;
    } else {
        writeln!(out, "{}", done.summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `lndx reprocess ID`: the message filed again through the desk (audited); prints the
/// new filing result as before.
pub fn reprocess(app: &App, actor: &str, id: i64) -> Result<ExitCode> {
    let desk = app.desk()?;
    let done = match desk.perform(
        &mut app.registry()?,
        actor,
        Action::Reprocess { message: id },
    ) {
        Ok(d) => d,
        Err(e) => return refused(&e, false),
    };
    flush_outbox(app, &app.registry()?)?;
    let result = done.result.unwrap_or(serde_json::Value::Null);
    writeln!(std::io::stdout(), "{result}")?;
    Ok(ExitCode::SUCCESS)
}

/// `lndx attention [--all] [--kind K] [--province P] [--json]`.
pub fn attention(
    app: &App,
    all: bool,
    kind: Option<&str>,
    province: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let kind = match kind {
        None => None,
        Some(k) => match AttentionKind::parse(k.trim()) {
            Some(k) => Some(k),
            None => {
                let valid: Vec<&str> = AttentionKind::ALL.iter().map(|k| k.key()).collect();
                let message = format!("没有“{k}”这类事项，可用：{}。", valid.join("、"));
                if json {
                    writeln!(
                        std::io::stdout(),
                        "{}",
                        json!({"error": {"code": "unknown_kind", "message": message, "valid": valid}})
                    )?;
                }
                eprintln!("lndx: {message}");
                return Ok(ExitCode::from(1));
            }
        },
    };
    let desk = app.desk()?;
    let province = province.map(|p| p.trim().to_ascii_uppercase());
    let items = match desk.attention(
        &app.registry()?,
        &AttentionQuery {
            include_resolved: all,
            kind,
            province,
        },
    ) {
        Ok(i) => i,
        Err(e) => return refused(&e, json),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&items)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "key\tkind\tsince\tprovince\tsender\tdetail\tresolved")?;
    for i in &items {
        let resolved = i
            .resolved
            .as_ref()
            .map(|r| format!("{} {} {}", r.how, r.by, r.at))
            .unwrap_or_default();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            i.key,
            desk.wording().kind_name(i.kind),
            i.since,
            i.province.as_deref().unwrap_or("-"),
            i.sender.as_deref().unwrap_or("-"),
            i.detail.replace(['\t', '\n'], " "),
            resolved
        )?;
    }
    writeln!(out, "{} 项", items.len())?;
    Ok(ExitCode::SUCCESS)
}

/// `lndx audit [--object O] [--actor A] [--limit N] [--json]`.
pub fn audit(
    app: &App,
    object: Option<String>,
    actor: Option<String>,
    limit: usize,
    json: bool,
) -> Result<ExitCode> {
    let desk = app.desk()?;
    let rows = match desk.audit(
        &app.registry()?,
        &AuditQuery {
            object,
            actor,
            limit,
        },
    ) {
        Ok(r) => r,
        Err(e) => return refused(&e, json),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&rows)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "id\tat\tactor\taction\tobject\tnote")?;
    for r in &rows {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.id,
            r.at,
            r.actor,
            r.action,
            r.object,
            r.note.as_deref().unwrap_or("").replace(['\t', '\n'], " ")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
