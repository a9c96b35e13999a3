//! `lndx report preview` and `lndx report send-now`: the weekly report as files, or
//! queued and sent at once.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::flush_outbox;
use super::progress::Progress;
use crate::app::App;
use crate::queued::OutboxState;

/// `lndx report preview [--at TIME] --out DIR`: writes report.html, report.txt, the .xlsx
/// and report.eml to a folder; queues nothing.
pub fn preview(app: &App, at: Option<&str>, out: &Path) -> Result<()> {
    let reporter = app.reporter()?;
    let as_of = match at {
        // The report's time zone: the campaign's, the one that decides batches too.
        Some(s) => parse_at(s, reporter.campaign.tz)?,
        None => Utc::now(),
    };
    let reg = app.registry()?;
    let progress = Progress::working("building the report");
    let r = reporter.build(&reg, as_of, None)?;
    drop(progress);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let to = if reporter.sender.to.is_empty() {
        vec![reporter.sender.address.clone()]
    } else {
        reporter.sender.to.clone()
    };
    let (_, eml) = reporter.compose(&r, &to, &reporter.sender.cc)?;
    for (name, bytes) in [
        ("report.html", r.html.as_bytes()),
        ("report.txt", r.text.as_bytes()),
        (r.filename.as_str(), r.xlsx.as_slice()),
        ("report.eml", eml.as_slice()),
    ] {
        let p = out.join(name);
        std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
    }
    eprintln!(
        "report as of {} written to {} (report.html, report.txt, {}, report.eml)",
        r.data.as_of,
        out.display(),
        r.filename
    );
    Ok(())
}

/// Queues a report as of now to the configured recipients; claims no schedule slot.
/// Returns its outbox id.
pub fn queue_now(app: &App) -> Result<i64> {
    let reporter = app.reporter()?;
    let mut reg = app.registry()?;
    let r = reporter.build(&reg, Utc::now(), None)?;
    let id = reporter.queue(&mut reg, &r, None)?;
    eprintln!(
        "report as of {} queued (outbox {}) to {}",
        r.data.as_of,
        id.unwrap_or_default(),
        reporter.sender.recipients().join(", ")
    );
    id.context("the report was not queued")
}

/// `lndx report send-now`: queues a report as of now and delivers it at once.
/// When `lndx run` is running it may take the report first (each mail is claimed by one
/// process, never sent twice); the command then waits for its outcome. Exit 0 once it is
/// sent, 1 when it failed, is held or its fate is unknown, or it is still queued after
/// the send timeout (it stays queued for `lndx run`).
pub fn send_now(app: &App) -> Result<ExitCode> {
    let id = queue_now(app)?;
    let reg = app.registry()?;
    flush_outbox(app, &reg)?;
    let deadline = std::time::Instant::now() + super::SEND_TIMEOUT;
    loop {
        let (state, error) = reg
            .outbox_state(id)?
            .with_context(|| format!("outbox {id} is gone"))?;
        if state == OutboxState::Sent {
            eprintln!("report sent (outbox {id})");
            return Ok(ExitCode::SUCCESS);
        }
        // A pending mail with an error was deferred (a temporary failure): it waits for
        // its next attempt.
        let deferred = state == OutboxState::Pending && error.is_some();
        if !state.in_flight() || deferred || std::time::Instant::now() > deadline {
            eprintln!(
                "report not sent (outbox {id}): {state}{}",
                error.map(|e| format!(": {e}")).unwrap_or_default()
            );
            return Ok(ExitCode::FAILURE);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        // Claimed by `lndx run` or deferred: the daemon or the next pass sends it.
        flush_outbox(app, &reg)?;
    }
}

/// Parses `--at`: RFC 3339, or "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DD" in `tz`.
pub fn parse_at(s: &str, tz: Tz) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.with_timezone(&Utc));
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    let Some(naive) = naive else {
        bail!("--at {s:?}: use RFC 3339 or \"YYYY-MM-DD HH:MM\" ({tz})");
    };
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .with_context(|| format!("--at {s:?} does not exist in {tz}"))
}
