//! `lndx doctor`: checks each part — rules and registered senders, templates, database,
//! converter, mailbox, outbox, weekly report, health address — and says what to fix, one
//! line each. It changes nothing: no folder, database or file is created (the database is
//! opened read-only when it exists); the mailbox and SMTP server are only logged in to.

use std::io::Write;
use std::process::ExitCode;

use chrono::Utc;

use super::setup;
use crate::app::{block_on, App};
use crate::campaign::Campaign;
use crate::config::SenderPolicy;
use crate::outbox::Transport;
use crate::registry::Registry;
use crate::reply::Replier;

/// How a line of the report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    /// Works, but probably not as meant (e.g. no registered senders).
    Warn,
    /// Must be fixed.
    Fail,
}

/// `lndx doctor`: exit 0 when nothing FAILs (warnings allowed), 1 when a line says FAIL.
pub fn doctor(app: &App) -> anyhow::Result<ExitCode> {
    Ok(if check_all(app) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints one line per part; true when no line failed.
fn check_all(app: &App) -> bool {
    let mut ok = true;
    let mut line = |v: Verdict, what: &str, detail: String| {
        ok &= v != Verdict::Fail;
        let tag = match v {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        };
        // A closed stdout (e.g. `| head`) ends the report, not the process.
        let _ = writeln!(std::io::stdout(), "{tag} {what}: {detail}");
    };
    let campaign = match app.campaign() {
        Ok(c) => {
            line(
                Verdict::Ok,
                "rules",
                format!(
                    "{}: {}, {} provinces, {} batches, {} kinds",
                    setup::rules_source(app),
                    c.info.short_name,
                    c.provinces.len(),
                    c.batches.len(),
                    c.kinds.len()
                ),
            );
            let (v, detail) = senders(app, &c);
            line(v, "senders", detail);
            let (v, detail) = review(app, &c);
            line(v, "review", detail);
            Some(c)
        }
        Err(e) => {
            line(
                Verdict::Fail,
                "rules",
                format!("{e:#} — fix the file and run doctor again"),
            );
            None
        }
    };
    let desk = crate::desk::DeskWording::load(app.templates_dir.as_deref());
    match setup::templates_source(app) {
        Err(e) => line(Verdict::Fail, "templates", e),
        // The staff actions' wording is checked like the replies': a key missing there
        // would fail the first action instead of the start.
        Ok(_) if desk.is_err() => line(
            Verdict::Fail,
            "templates",
            desk.err().map(|e| e.to_string()).unwrap_or_default(),
        ),
        Ok(source) => match Replier::load(app.templates_dir.as_deref()) {
            Ok(_) => match app.reporter() {
                Ok(_) => line(
                    Verdict::Ok,
                    "templates",
                    format!("{source}: reply, report and desk templates load"),
                ),
                Err(e) if campaign.is_some() => line(Verdict::Fail, "templates", format!("{e:#}")),
                // Without rules the report templates cannot be tried; the rules line says why.
                Err(_) => line(
                    Verdict::Ok,
                    "templates",
                    format!("{source}: reply and desk templates load"),
                ),
            },
            Err(e) => line(Verdict::Fail, "templates", e.to_string()),
        },
    }
    let (v, detail) = database(app);
    line(v, "database", detail);
    match app.converter() {
        Some(c) => {
            let how = if app.config.converter.workers == 0 {
                "cold, in the intake worker (converter workers = 0)"
            } else if crate::convert::Converter::warm_available() {
                "warm: one long-running LibreOffice per converter worker, driven through python3-uno"
            } else {
                "cold: LibreOffice starts for each file (install python3-uno for warm converter workers)"
            };
            line(
                Verdict::Ok,
                "converter",
                format!(
                    "{} (legacy .doc/.xls are converted; {how}; {} workers)",
                    c.program.display(),
                    app.config.converter.workers
                ),
            )
        }
        None => line(
            Verdict::Ok,
            "converter",
            "none: .doc/.xls/.wps/.et are answered unsupported_format".into(),
        ),
    }
    let (what, found) = app.config.mailbox.check(&app.data_dir);
    match found {
        Ok(_) if what == "mailbox" => {
            let (said, dir) = setup::mailbox(app);
            line(
                Verdict::Ok,
                what,
                format!("{said}{}", setup::missing_note(dir.as_deref())),
            )
        }
        Ok(d) => line(Verdict::Ok, what, d),
        Err(e) => line(Verdict::Fail, what, e),
    }
    match app.transport() {
        Ok(Transport::Folder(_)) => {
            let (said, dir) = setup::outbox(app);
            line(
                Verdict::Ok,
                "outbox",
                format!("{said}{}", setup::missing_note(dir.as_deref())),
            )
        }
        Ok(Transport::Smtp(s)) => {
            let r = block_on(async { s.connect().await.map(|_| ()) });
            match r {
                Ok(()) => line(
                    Verdict::Ok,
                    "smtp",
                    format!("{}: {}", setup::outbox(app).0, s.describe()),
                ),
                Err(e) => line(Verdict::Fail, "smtp", e),
            }
        }
        Err(e) => line(Verdict::Fail, "outbox", format!("{e:#}")),
    }
    for (v, detail) in report(app, campaign.as_ref()) {
        line(v, "report", detail);
    }
    let (v, detail) = http(app);
    line(v, "http", detail);
    ok
}

/// Expert review's rubric (rules/review.toml) and wording (templates/review.toml).
fn review(app: &App, c: &Campaign) -> (Verdict, String) {
    if !app.has_review() {
        return (
            Verdict::Warn,
            "no review.toml in the rules folder: expert review (lndx review, score sheets) is off"
                .into(),
        );
    }
    match app.rubric(c) {
        Err(e) => (Verdict::Fail, format!("{e:#}")),
        Ok(r) => match crate::review::wording::Wording::load(app.templates_dir.as_deref()) {
            Err(e) => (Verdict::Fail, e.to_string()),
            Ok(_) => (
                Verdict::Ok,
                format!(
                    "rubric for {} kinds ({} points each), {} recommendations; wording loads",
                    c.kinds.len(),
                    c.kinds()
                        .map(|k| r.max_total(k).to_string())
                        .collect::<Vec<_>>()
                        .join("/"),
                    r.settings.recommendations.len()
                ),
            ),
        },
    }
}

/// The registered senders: none is a warning when unregistered senders are filed by the
/// province their forms name (`[senders] policy = "infer"`), and a failure when only
/// registered senders are filed (every message would be refused).
fn senders(app: &App, c: &Campaign) -> (Verdict, String) {
    let n = c.senders.len();
    let policy = app.config.senders.policy;
    match (n, policy) {
        (0, SenderPolicy::Registered) => (
            Verdict::Fail,
            "senders.toml registers no sender and [senders] policy = \"registered\": every \
             message would be refused; register the provinces' addresses or domains"
                .into(),
        ),
        (0, SenderPolicy::Infer) => (
            Verdict::Warn,
            "senders.toml registers no sender: every message is filed under the province its \
             forms or subject name, and its reply says the sender is not registered; register \
             the provinces' addresses or domains in senders.toml"
                .into(),
        ),
        _ => {
            let provinces: std::collections::BTreeSet<&String> = c.senders.values().collect();
            (
                Verdict::Ok,
                format!(
                    "{n} registered senders (addresses or domains) for {} provinces",
                    provinces.len()
                ),
            )
        }
    }
}

/// The database, looked at read-only; a missing one is fine (it is created at the first
/// run), one written by a newer lndx is not.
fn database(app: &App) -> (Verdict, String) {
    match Registry::inspect(&app.data_dir) {
        Ok(None) => (
            Verdict::Ok,
            format!(
                "{} does not exist yet; it is created at the first `lndx run` or `lndx ingest` \
                 (the data folder {} with mode 0700, the database 0600, owned by the user that runs it)",
                app.data_dir.join("lndx.db").display(),
                app.data_dir.display()
            ),
        ),
        Ok(Some(i)) if i.schema > i.known_schema => (
            Verdict::Fail,
            format!(
                "{} was written by a newer lndx (schema {}, this build knows {}); run that version",
                i.path.display(),
                i.schema,
                i.known_schema
            ),
        ),
        Ok(Some(i)) => (
            Verdict::Ok,
            format!(
                "{}: {} messages, {} entries{}",
                i.path.display(),
                i.messages,
                i.entries,
                if i.schema < i.known_schema {
                    format!(
                        " (schema {}; updated to {} at the next run)",
                        i.schema, i.known_schema
                    )
                } else {
                    String::new()
                }
            ),
        ),
        Err(e) => (
            Verdict::Fail,
            format!(
                "cannot read {}: {e}",
                app.data_dir.join("lndx.db").display()
            ),
        ),
    }
}

/// The weekly report: its recipients and its next three times in the campaign's zone.
fn report(app: &App, campaign: Option<&Campaign>) -> Vec<(Verdict, String)> {
    let r = &app.config.report;
    if !r.enabled {
        return vec![(Verdict::Ok, "off (report.enabled = false)".into())];
    }
    let mut lines: Vec<(Verdict, String)> = setup::bad_report_addresses(app)
        .into_iter()
        .map(|p| (Verdict::Fail, format!("{p}; fix it in the config")))
        .collect();
    if r.to.is_empty() {
        lines.push((
            Verdict::Warn,
            "report.to names no recipient: no weekly report is sent (set report.to, or \
             report.enabled = false to say so)"
                .into(),
        ));
    } else if lines.is_empty() {
        let cc = if r.cc.is_empty() {
            String::new()
        } else {
            format!(", cc {}", r.cc.join(", "))
        };
        lines.push((Verdict::Ok, format!("to {}{cc}", r.to.join(", "))));
    }
    if let Some(c) = campaign {
        match setup::next_reports(&r.schedule, c.tz, Utc::now(), 3) {
            Ok(next) if next.is_empty() => lines.push((
                Verdict::Warn,
                format!("schedule {:?} never fires again", r.schedule),
            )),
            Ok(next) => lines.push((
                Verdict::Ok,
                format!(
                    "schedule {:?}, next {} ({})",
                    r.schedule,
                    setup::times(&next),
                    c.info.timezone
                ),
            )),
            Err(e) => lines.push((Verdict::Fail, e)),
        }
    }
    lines
}

/// `[web] listen` (or the older `[http] listen`), parsed by the function `lndx run`
/// serves it with.
fn http(app: &App) -> (Verdict, String) {
    match app.config.web_listen() {
        None => (
            Verdict::Ok,
            "off: the console, /healthz and /metrics are not served ([web] enabled = false)".into(),
        ),
        // The very check `lndx run` makes before it starts.
        Some(l) => match crate::health::check_listen(&l) {
            Ok(a) => (
                Verdict::Ok,
                format!("http://{a}/healthz and http://{a}/metrics, the console at http://{a}/"),
            ),
            Err(e @ crate::health::ListenError::InUse { .. }) => {
                match crate::health::listen_address(&l) {
                    Ok(a) if crate::health::lndx_answers(a) => (
                        Verdict::Ok,
                        format!("http://{a}/healthz is served by a running lndx"),
                    ),
                    _ => (Verdict::Fail, e.to_string()),
                }
            }
            Err(e) => (Verdict::Fail, e.to_string()),
        },
    }
}
