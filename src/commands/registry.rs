//! `lndx registry list | messages | export`: what the registry holds.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::app::App;
use crate::registry::EntryFilter;
use crate::report::export;

/// `lndx registry list`: entries, one per line (tab-separated, or JSON).
pub fn list(app: &App, filter: EntryFilter, json: bool) -> Result<ExitCode> {
    let reg = app.registry()?;
    if let Some(k) = &filter.kind {
        let campaign = app.campaign()?;
        if campaign.kind(k).is_none() {
            let keys: Vec<&str> = campaign.kinds().map(|k| k.key()).collect();
            bail!(
                "--kind {k:?} is not a kind of this campaign; use one of: {}",
                keys.join(", ")
            );
        }
    }
    for r in reg.entries(&filter)? {
        if json {
            writeln!(
                std::io::stdout(),
                "{}",
                serde_json::json!({
                    "receipt": r.receipt, "province": r.province, "batch": r.batch,
                    "kind": r.kind, "name": r.name, "unit": r.unit, "status": r.status,
                    "version": r.version, "supersedes": r.supersedes,
                    "superseded_by": r.superseded_by, "late": r.late,
                    "errors": serde_json::from_str::<serde_json::Value>(&r.errors).unwrap_or_default(),
                })
            )?;
        } else {
            writeln!(
                std::io::stdout(),
                "{}\t{}\t{}\t{}\t{}\t{}",
                r.receipt,
                r.province.as_deref().unwrap_or("-"),
                r.kind,
                r.status,
                r.name,
                r.unit.as_deref().unwrap_or("")
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lndx registry messages`: stored messages, newest first, with their ids.
pub fn messages(app: &App, limit: usize) -> Result<ExitCode> {
    let reg = app.registry()?;
    let mut out = std::io::stdout().lock();
    for m in reg.messages(limit)? {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            m.id,
            m.arrived_at.as_deref().unwrap_or("-"),
            m.state,
            m.skipped.or(m.province).unwrap_or_else(|| "-".into()),
            m.sender.as_deref().unwrap_or("-"),
            m.subject.as_deref().unwrap_or("")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `lndx registry export --out FILE.csv|FILE.xlsx`: entries as a spreadsheet, by the
/// file's extension.
pub fn export(app: &App, out: &Path, all_versions: bool) -> Result<ExitCode> {
    let reg = app.registry()?;
    let campaign = app.campaign()?;
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    let src = export::Source {
        reg: &reg,
        campaign: &campaign,
        templates: app.templates_dir.as_deref(),
    };
    let n = match ext.as_str() {
        "csv" => export::csv(&src, out, all_versions)?,
        "xlsx" => export::xlsx(&src, out, all_versions)?,
        _ => bail!("{}: use a .csv or .xlsx file name", out.display()),
    };
    eprintln!("{n} entries written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}
