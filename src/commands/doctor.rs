//! `lndx doctor`: checks each part — rules, templates, database, converter, mailbox,
//! outbox — and says what to fix, one line each.

use std::io::Write;
use std::process::ExitCode;

use crate::app::{block_on, App};
use crate::outbox::Transport;
use crate::reply::Replier;

/// `lndx doctor`: exit 0 when all is well, 1 when a line says FAIL.
pub fn doctor(app: &App) -> anyhow::Result<ExitCode> {
    Ok(if check_all(app) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints one line per part; true when all is well.
fn check_all(app: &App) -> bool {
    let mut ok = true;
    let mut line = |good: bool, what: &str, detail: String| {
        ok &= good;
        // A closed stdout (e.g. `| head`) ends the report, not the process.
        let _ = writeln!(
            std::io::stdout(),
            "{} {what}: {detail}",
            if good { "ok  " } else { "FAIL" }
        );
    };
    match app.campaign() {
        Ok(c) => line(
            true,
            "rules",
            format!(
                "{} provinces, {} batches, {} registered senders",
                c.provinces.len(),
                c.batches.len(),
                c.senders.len()
            ),
        ),
        Err(e) => line(
            false,
            "rules",
            format!("{e:#} — fix the file and run doctor again"),
        ),
    }
    match Replier::load(app.templates_dir.as_deref()) {
        Ok(_) => line(true, "templates", "reply templates render".into()),
        Err(e) => line(false, "templates", e.to_string()),
    }
    match app.registry() {
        Ok(r) => line(
            true,
            "database",
            format!("{}", r.dir().join("lndx.db").display()),
        ),
        Err(e) => line(false, "database", format!("{e:#}")),
    }
    match app.converter() {
        Some(c) => line(
            true,
            "converter",
            format!("{} (legacy .doc/.xls are converted)", c.program.display()),
        ),
        None => line(
            true,
            "converter",
            "none: .doc/.xls/.wps/.et are answered unsupported_format".into(),
        ),
    }
    let (what, found) = app.config.mailbox.check(&app.data_dir);
    match found {
        Ok(d) => line(true, what, d),
        Err(e) => line(false, what, e),
    }
    match app.transport() {
        Ok(Transport::Folder(dir)) => line(true, "outbox", format!("folder {}", dir.display())),
        Ok(Transport::Smtp(s)) => {
            let r = block_on(async { s.connect().await.map(|_| ()) });
            match r {
                Ok(()) => line(true, "smtp", "connected, TLS and login accepted".into()),
                Err(e) => line(false, "smtp", e),
            }
        }
        Err(e) => line(false, "outbox", format!("{e:#}")),
    }
    ok
}
