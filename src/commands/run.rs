//! `lndx run`: builds the daemon's parts from the config and runs it until SIGTERM or
//! SIGINT.

use std::process::ExitCode;

use anyhow::Result;

use crate::app::App;
use crate::daemon::{self, Daemon};

/// `lndx run`: the mailbox → intake → outbox pipeline, the weekly report, /healthz and
/// /metrics.
pub fn run(app: &App) -> Result<ExitCode> {
    let config = &app.config;
    let intake = app.intake()?;
    let transport = app.transport()?;
    let source = config
        .mailbox
        .open(&app.data_dir, config.settings().limits)?;
    let scheduler = if config.report.enabled && !config.report.to.is_empty() {
        Some(app.scheduler(Box::new(chrono::Utc::now))?)
    } else {
        None
    };
    daemon::run(Daemon {
        intake,
        data_dir: app.data_dir.clone(),
        source,
        transport,
        cap: app.cap(),
        scheduler,
        listen: config.http.listen.clone(),
    })?;
    Ok(ExitCode::SUCCESS)
}
