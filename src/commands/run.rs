//! `lndx run`: builds the daemon's parts from the config, says what it is about to do, and
//! runs it until SIGTERM or SIGINT.

use std::process::ExitCode;

use anyhow::Result;

use super::setup;
use crate::app::App;
use crate::daemon::{self, Daemon};
use crate::intake::Intake;

/// `lndx run`: the mailbox → intake → outbox pipeline, the weekly report, the console with
/// /healthz and /metrics.
pub fn run(app: &App) -> Result<ExitCode> {
    let config = &app.config;
    let intake = app.intake()?;
    let transport = app.transport()?;
    // The same function that `doctor` checks the address with: a wrong address stops
    // start-up instead of leaving the endpoints silently unserved.
    let listen = config
        .web_listen()
        .as_deref()
        .map(crate::health::check_listen)
        .transpose()?;
    let web = match listen {
        Some(address) => Some((address, app.console()?)),
        None => None,
    };
    let source = config
        .mailbox
        .open(&app.data_dir, config.settings().limits)?;
    // Expert review's reminders run on the report's scheduler, with or without reports.
    let reports = config.report.enabled && !config.report.to.is_empty();
    let scheduler = if reports {
        Some(app.scheduler(Box::new(chrono::Utc::now))?)
    } else if app.has_review() {
        Some(app.scheduler(Box::new(chrono::Utc::now))?.without_reports())
    } else {
        None
    };
    say_what_runs(app, &intake, listen);
    daemon::run(Daemon {
        intake,
        data_dir: app.data_dir.clone(),
        source,
        transport,
        cap: app.cap(),
        scheduler,
        web,
        thresholds: config.health.thresholds(),
        converter_workers: config.converter.workers,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The start-up lines: what is watched, where replies go, which rules (and how many
/// registered senders), the weekly report and the health address — what an operator
/// checks first when mail is not answered as expected.
fn say_what_runs(app: &App, intake: &Intake, listen: Option<std::net::SocketAddr>) {
    let config = &app.config;
    let campaign = &intake.campaign;
    tracing::info!(
        version = %env!("CARGO_PKG_VERSION"),
        data_dir = %app.data_dir.display(),
        "starting"
    );
    tracing::info!("watching {}", setup::mailbox(app).0);
    tracing::info!("replies go to {}", setup::outbox(app).0);
    tracing::info!(
        "using {}: {}, {} provinces, {} batches, {} registered senders",
        setup::rules_source(app),
        campaign.info.short_name,
        campaign.provinces.len(),
        campaign.batches.len(),
        campaign.senders.len()
    );
    if campaign.senders.is_empty() {
        tracing::warn!(
            "the rules register no sender (senders.toml): every message is filed under the province \
             its forms or subject name, with a warning in the reply"
        );
    }
    match setup::templates_source(app) {
        Ok(t) => tracing::info!("using {t}"),
        Err(e) => tracing::warn!("{e}"),
    }
    let report = &config.report;
    if !report.enabled {
        tracing::info!("weekly report off (report.enabled = false)");
    } else if report.to.is_empty() {
        tracing::warn!("weekly report not sent: report.to names no recipient");
    } else {
        let next = setup::next_reports(&report.schedule, campaign.tz, chrono::Utc::now(), 1)
            .map(|t| setup::times(&t))
            .unwrap_or_default();
        tracing::info!(
            "weekly report to {} on {:?} ({}), next {next}",
            report.to.join(", "),
            report.schedule,
            campaign.info.timezone
        );
    }
    match listen {
        Some(a) => tracing::info!(
            "console at http://{a}/ (health at http://{a}/healthz and http://{a}/metrics)"
        ),
        None => tracing::info!("console and health endpoints off ([web] enabled = false)"),
    }
}
