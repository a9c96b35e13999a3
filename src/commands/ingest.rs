//! `lndx ingest`: files .eml files in order, then delivers the replies it queued.
//! (`lndx reprocess` goes through the desk, `desk.rs`, so that it is audited.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::flush_outbox;
use super::progress::Progress;
use crate::app::App;
use crate::registry::SourceRef;

/// `lndx ingest [--json] FILE…`: one result per message (JSON, or a summary line per
/// message and per attachment).
pub fn ingest(app: &App, files: &[PathBuf], json: bool) -> Result<ExitCode> {
    let intake = app.intake()?;
    let mut reg = app.registry()?;
    let stdout = std::io::stdout();
    let progress = Progress::counting(files.len() as u64, "messages");
    for path in files {
        let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let span = tracing::info_span!("message", source = %path.display());
        let _in_span = span.enter();
        let filed = intake
            .file(
                &mut reg,
                &raw,
                SourceRef {
                    source: "file",
                    key: None,
                    arrived_at: None,
                    declared_size: None,
                    no_reply: None,
                },
            )
            .with_context(|| format!("cannot file {}", path.display()))?;
        crate::daemon::log_outcome(&filed);
        progress.step(&path.file_name().unwrap_or_default().to_string_lossy());
        let mut out = stdout.lock();
        if json {
            writeln!(out, "{}", filed.json)?;
        } else {
            print_summary(&mut out, path, &filed.json)?;
        }
    }
    drop(progress);
    flush_outbox(app, &reg)?;
    Ok(ExitCode::SUCCESS)
}

fn print_summary(out: &mut impl Write, path: &Path, v: &serde_json::Value) -> Result<()> {
    writeln!(
        out,
        "{}: province {} batch {} {}",
        path.display(),
        v["province"].as_str().unwrap_or("-"),
        v["batch"]
            .as_u64()
            .map(|b| b.to_string())
            .unwrap_or_else(|| "-".into()),
        v["skipped"]
            .as_str()
            .map(|s| format!("skipped ({s})"))
            .unwrap_or_default()
    )?;
    for a in v["attachments"].as_array().into_iter().flatten() {
        let codes: Vec<&str> = a["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(a["warnings"].as_array().into_iter().flatten())
            .filter_map(|f| f["code"].as_str())
            .collect();
        writeln!(
            out,
            "  {} [{}] {} {}",
            a["filename"].as_str().unwrap_or(""),
            a["role"].as_str().unwrap_or(""),
            a["entry"]["receipt"].as_str().unwrap_or(""),
            codes.join(" ")
        )?;
    }
    Ok(())
}
