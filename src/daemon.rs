//! Daemon: `lndx run` — the only place that knows every long-running part and wires them:
//! a mailbox source (Maildir or IMAP) hands raw messages to the intake worker, which files
//! them and queues replies; the outbox worker delivers queued mail; the scheduler queues
//! weekly reports; an optional HTTP listener serves /healthz and /metrics.
//!
//! Each part runs on its own thread with its own registry connection (SQLite in WAL mode
//! lets them share the file). Shutdown (SIGTERM/SIGINT) is a watch channel every loop
//! selects on; the intake worker finishes the message in hand before it stops.

use std::io::Write;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;

use crate::app::App;
use crate::config::MailboxConfig;
use crate::health::Health;
use crate::registry::SourceRef;

/// A raw message for the intake worker, with a channel for the outcome.
pub struct Job {
    pub raw: Vec<u8>,
    pub source: SourceRef,
    pub done: mpsc::Sender<Result<i64, String>>,
}

/// The shutdown signal every loop watches.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until shutdown is requested.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }

    /// Sleeps for `d`, returning early (true) on shutdown.
    pub fn sleep(&self, d: Duration) -> bool {
        let step = Duration::from_millis(100);
        let mut left = d;
        while left > Duration::ZERO {
            if self.is_set() {
                return true;
            }
            let s = left.min(step);
            thread::sleep(s);
            left = left.saturating_sub(s);
        }
        self.is_set()
    }
}

pub fn run(app: &App) -> Result<()> {
    let intake = app.intake()?;
    // Open once here so configuration and database problems stop start-up.
    let mut reg = app.registry()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let shutdown = Shutdown(stop_rx);
    let health = Arc::new(Health::default());
    let outbox_wake = Arc::new(tokio::sync::Notify::new());
    // The outbox rings this after sending, so the IMAP session copies replies to Sent.
    let sent_wake = Arc::new(tokio::sync::Notify::new());

    // Finish what a crash left half done: mail that was being handed to the SMTP server
    // is not resent blindly, messages stored but not filed are filed now.
    let interrupted = reg.recover_in_flight()?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "mail was being sent when lndx stopped; marked unknown, not resent"
        );
    }
    for id in reg.unfinished_messages()? {
        if let Some(raw) = reg.raw_message(id)? {
            let (_, arrived) = reg.message_source(id)?.unwrap_or_default();
            if let Err(e) = intake.process_stored(&mut reg, id, &raw, arrived.as_deref()) {
                tracing::error!(id, error = %e, "cannot finish a stored message");
            }
        }
    }

    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(16);
    let mut threads = Vec::new();

    // Intake worker: the only writer of filings.
    {
        let health = health.clone();
        let wake = outbox_wake.clone();
        threads.push(thread::Builder::new().name("intake".into()).spawn(move || {
            for job in job_rx {
                let span = tracing::info_span!("message", source = %job.source.key.as_deref().unwrap_or("-"));
                let _g = span.enter();
                let res = intake.file(&mut reg, &job.raw, job.source);
                match &res {
                    Ok(f) => {
                        health.filed();
                        tracing::info!(id = f.id, province = ?f.json["province"], "filed");
                    }
                    Err(e) => {
                        health.error();
                        tracing::error!(error = %e, "cannot file a message");
                    }
                }
                wake.notify_one();
                let _ = job.done.send(res.map(|f| f.id).map_err(|e| e.to_string()));
            }
        })?);
    }

    // Outbox worker.
    {
        let transport = app.transport()?;
        let reg = app.registry()?;
        let cap = app.cap();
        let mut shutdown = shutdown.clone();
        let health = health.clone();
        let wake = outbox_wake.clone();
        let sent_signal = sent_wake.clone();
        threads.push(
            thread::Builder::new()
                .name("outbox".into())
                .spawn(move || {
                    crate::app::block_on(async move {
                        loop {
                            let stopping = shutdown.clone();
                            let stop = move || stopping.is_set();
                            match crate::outbox::deliver_until(&reg, &transport, cap, &stop).await {
                                Ok(pass) => {
                                    health.delivered(pass.sent, pass.failed);
                                    if pass.sent > 0 {
                                        sent_signal.notify_one();
                                    }
                                }
                                Err(e) => {
                                    health.error();
                                    tracing::error!(error = %e, "outbox");
                                }
                            }
                            if let Ok(depth) = reg.outbox_depth() {
                                health.set_outbox_depth(depth);
                            }
                            if shutdown.is_set() {
                                break;
                            }
                            tokio::select! {
                                _ = wake.notified() => {}
                                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                                _ = shutdown.wait() => {}
                            }
                        }
                    })
                })?,
        );
    }

    // Weekly report scheduler.
    if app.config.report.enabled && !app.config.report.to.is_empty() {
        let app_report = crate::report::Scheduler::new(app)?;
        let shutdown = shutdown.clone();
        let wake = outbox_wake.clone();
        let health = health.clone();
        threads.push(
            thread::Builder::new()
                .name("report".into())
                .spawn(move || app_report.run(shutdown, wake, health))?,
        );
    }

    // Health and metrics.
    if let Some(listen) = app.config.http.listen.clone() {
        let shutdown = shutdown.clone();
        let health = health.clone();
        let reg = app.registry()?;
        threads.push(
            thread::Builder::new()
                .name("http".into())
                .spawn(move || crate::health::serve(listen, health, reg, shutdown))?,
        );
    }

    // The mailbox source.
    {
        let shutdown = shutdown.clone();
        let health = health.clone();
        match app.config.mailbox.clone() {
            MailboxConfig::Maildir { .. } => {
                let dir = app.maildir();
                crate::mailbox::maildir::ensure(&dir)
                    .with_context(|| format!("maildir {}", dir.display()))?;
                tracing::info!(maildir = %dir.display(), "watching");
                threads.push(
                    thread::Builder::new()
                        .name("maildir".into())
                        .spawn(move || watch_maildir(&dir, job_tx, shutdown, health))?,
                );
            }
            MailboxConfig::Imap(cfg) => {
                let reg = app.registry()?;
                let limits = app.config.settings().limits;
                threads.push(thread::Builder::new().name("imap".into()).spawn(move || {
                    crate::app::block_on(crate::mailbox::imap::watch(
                        *cfg, reg, limits, job_tx, shutdown, health, sent_wake,
                    ))
                })?);
            }
        }
    }

    // Wait for SIGTERM or SIGINT.
    crate::app::block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    outbox_wake.notify_one();
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn watch_maildir(
    dir: &std::path::Path,
    jobs: mpsc::SyncSender<Job>,
    shutdown: Shutdown,
    health: Arc<Health>,
) {
    loop {
        match crate::mailbox::maildir::waiting(dir) {
            Ok(list) => {
                for w in list {
                    if shutdown.is_set() {
                        return;
                    }
                    let raw = match std::fs::read(&w.path) {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(path = %w.path.display(), error = %e, "cannot read");
                            continue;
                        }
                    };
                    let (tx, rx) = mpsc::channel();
                    let job = Job {
                        raw,
                        source: SourceRef {
                            source: "maildir",
                            key: Some(w.key.clone()),
                            arrived_at: Some(w.arrived_at.clone()),
                            declared_size: None,
                        },
                        done: tx,
                    };
                    if jobs.send(job).is_err() {
                        return;
                    }
                    health.fetched();
                    if let Ok(Ok(_)) = rx.recv() {
                        if let Err(e) = crate::mailbox::maildir::mark_done(dir, &w) {
                            tracing::warn!(error = %e, "cannot move a filed message to cur/");
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the maildir"),
        }
        if shutdown.sleep(Duration::from_millis(250)) {
            return;
        }
    }
}

/// `lndx doctor`: checks each part and says what to fix. True when all is well.
pub fn doctor(app: &App) -> bool {
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
    match crate::reply::Replier::load(app.templates_dir.as_deref()) {
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
    match &app.config.mailbox {
        MailboxConfig::Maildir { .. } => line(
            true,
            "mailbox",
            format!("maildir {}", app.maildir().display()),
        ),
        MailboxConfig::Imap(cfg) => {
            let r = crate::app::block_on(crate::mailbox::imap::check(cfg));
            match r {
                Ok(d) => line(true, "imap", d),
                Err(e) => line(false, "imap", e),
            }
        }
    }
    match app.transport() {
        Ok(crate::outbox::Transport::Folder(dir)) => {
            line(true, "outbox", format!("folder {}", dir.display()))
        }
        Ok(crate::outbox::Transport::Smtp(s)) => {
            let r = crate::app::block_on(async { s.connect().await.map(|_| ()) });
            match r {
                Ok(()) => line(true, "smtp", "connected, TLS and login accepted".into()),
                Err(e) => line(false, "smtp", e),
            }
        }
        Err(e) => line(false, "outbox", format!("{e:#}")),
    }
    ok
}
