//! What the configuration amounts to, said in words: where mail is watched and where
//! replies go, which rules and templates are used, when the weekly report runs. Shared by
//! `lndx run` (its start-up lines) and `lndx doctor` (its checks), so that both say the
//! same thing about the same config.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::app::App;
use crate::config::OutboxConfig;
use crate::mailbox::MailboxConfig;

/// The rules folder in use, or that the copy built into the binary is.
pub fn rules_source(app: &App) -> String {
    match &app.rules_dir {
        Some(dir) => format!("rules folder {}", dir.display()),
        None => "built-in rules (no ./rules folder and no rules_dir)".into(),
    }
}

/// The templates folder in use; an error when the config names one that does not exist
/// (every template would then silently come from the built-in copies).
pub fn templates_source(app: &App) -> Result<String, String> {
    match (&app.config.templates_dir, &app.templates_dir) {
        (Some(dir), _) if !dir.is_dir() => Err(format!(
            "templates_dir {} does not exist, so the built-in templates would be used; \
             create it (copy the shipped templates/ there) or remove templates_dir from the config",
            dir.display()
        )),
        (_, Some(dir)) => Ok(format!("templates folder {}", dir.display())),
        (_, None) => Ok("built-in templates".into()),
    }
}

/// The mailbox watched, in words (the Maildir folder, or the IMAP account and folder), and
/// the local folder it needs, if any.
pub fn mailbox(app: &App) -> (String, Option<PathBuf>) {
    match &app.config.mailbox {
        MailboxConfig::Maildir(cfg) => {
            let dir = cfg.dir(&app.data_dir);
            (
                format!(
                    "Maildir {} (messages delivered into {} are filed)",
                    dir.display(),
                    dir.join("new").display()
                ),
                Some(dir),
            )
        }
        MailboxConfig::Imap(cfg) => (
            format!(
                "IMAP {} on {}:{} ({}), folder {}",
                cfg.username, cfg.host, cfg.port, cfg.security, cfg.folder
            ),
            None,
        ),
    }
}

/// Where replies and reports go, in words (the outbox folder, or the SMTP server), and the
/// local folder it needs, if any.
pub fn outbox(app: &App) -> (String, Option<PathBuf>) {
    match &app.config.outbox {
        OutboxConfig::Folder { .. } => {
            let dir = app.config.outbox_folder(&app.data_dir);
            (
                format!(
                    "outbox folder {} (one .eml file per mail; nothing is sent)",
                    dir.display()
                ),
                Some(dir),
            )
        }
        OutboxConfig::Smtp(cfg) => (
            format!(
                "SMTP {}:{} ({}){}",
                cfg.host,
                cfg.port,
                cfg.security,
                cfg.username
                    .as_deref()
                    .map(|u| format!(" as {u}"))
                    .unwrap_or_default()
            ),
            None,
        ),
    }
}

/// For `doctor`: a note that a folder does not exist yet and is created at the first run.
pub fn missing_note(dir: Option<&Path>) -> &'static str {
    match dir {
        Some(d) if !d.is_dir() => "; it does not exist yet and is created at the first run",
        _ => "",
    }
}

/// The next `n` times the report schedule fires after `now`, in the campaign's zone
/// `tz`, parsed as the scheduler parses it (the cron crate, with seconds).
pub fn next_reports(
    schedule: &str,
    tz: Tz,
    now: DateTime<Utc>,
    n: usize,
) -> Result<Vec<DateTime<Tz>>, String> {
    let parsed: cron::Schedule = schedule.parse().map_err(|e| {
        format!(
            "report.schedule {schedule:?} is not a cron expression with seconds \
             (e.g. \"0 0 9 * * Mon\"): {e}"
        )
    })?;
    Ok(parsed.after(&now.with_timezone(&tz)).take(n).collect())
}

/// Times as the schedule is read: `YYYY-MM-DD HH:MM Ddd`, joined.
pub fn times(ts: &[DateTime<Tz>]) -> String {
    ts.iter()
        .map(|t| t.format("%Y-%m-%d %H:%M %a").to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The addresses of `report.to` and `report.cc` that no mail could be sent to.
pub fn bad_report_addresses(app: &App) -> Vec<String> {
    let r = &app.config.report;
    [("report.to", &r.to), ("report.cc", &r.cc)]
        .into_iter()
        .flat_map(|(key, list)| {
            list.iter()
                .filter(|a| crate::mail::check_address(a).is_err())
                .map(move |a| format!("{key} {a:?} is not an e-mail address"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_next_reports_are_in_the_campaigns_zone() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // Sunday 2024-03-03 02:00 UTC is 10:00 in Shanghai.
        let now = Utc.with_ymd_and_hms(2024, 3, 3, 2, 0, 0).unwrap();
        let next = next_reports("0 0 9 * * Mon", tz, now, 3).unwrap();
        assert_eq!(
            times(&next),
            "2024-03-04 09:00 Mon, 2024-03-11 09:00 Mon, 2024-03-18 09:00 Mon"
        );
        let e = next_reports("0 9 * * 1", tz, now, 3).unwrap_err();
        assert!(e.contains("report.schedule"), "{e}");
    }
}
