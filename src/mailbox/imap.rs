//! The IMAP source (async-imap on tokio with rustls): one long-lived session per mailbox,
//! IDLE with a periodic reconciliation poll, reconnects with backoff.

mod conn;
mod watch;

use std::path::PathBuf;

use serde::Deserialize;

use super::{Feed, Source};
use crate::message::Limits;
use crate::registry::Registry;
use crate::secret::Secret;
use crate::security::{ImapAuth, Security};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    /// Implicit TLS by default; STARTTLS, or plain (loopback only).
    #[serde(default = "default_security")]
    pub security: Security,
    pub username: String,
    pub password: Secret,
    /// LOGIN by default, or AUTHENTICATE PLAIN.
    #[serde(default = "default_auth")]
    pub auth: ImapAuth,
    #[serde(default = "default_folder")]
    pub folder: String,
    /// Extra trusted CA (PEM) for a private mail server.
    pub ca_file: Option<PathBuf>,
    /// Name to verify in the server's certificate (default: host).
    pub tls_name: Option<String>,
    /// Keyword set on a message once it is filed (e.g. "$LndxFiled"); none when empty.
    #[serde(default = "default_keyword")]
    pub done_keyword: String,
    /// Folder a filed message is moved to; none when unset.
    pub move_to: Option<String>,
    /// Seconds between reconciliation polls, also while idling.
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// IDLE is re-issued at least this often (≤ 600).
    #[serde(default = "default_idle")]
    pub idle_secs: u64,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Copy every sent reply into this folder (e.g. "Sent"); none when unset.
    pub sent_folder: Option<String>,
    /// What the first run with a fresh data folder does with the mail already in the
    /// folder: `file` (default) files it without replying; `answer` answers it too.
    /// Mail carrying `done_keyword` (marked by an earlier lndx) is never answered again.
    #[serde(default)]
    pub existing_mail: ExistingMail,
}

/// `[mailbox] existing_mail`: see [`ImapConfig::existing_mail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExistingMail {
    /// Filed, not answered: a first install on a mailbox with history, or a fresh data
    /// folder, does not answer months-old mail again.
    #[default]
    File,
    /// Answered like new mail.
    Answer,
}

fn default_security() -> Security {
    Security::Tls
}
fn default_auth() -> ImapAuth {
    ImapAuth::Login
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_keyword() -> String {
    "$LndxFiled".into()
}
fn default_poll() -> u64 {
    120
}
fn default_idle() -> u64 {
    300
}
fn default_timeout() -> u64 {
    60
}

/// The IMAP source, ready to run: its config, its own registry connection (folder state,
/// what was filed, the replies to copy to Sent) and the message limits.
pub struct Imap {
    cfg: ImapConfig,
    reg: Registry,
    limits: Limits,
}

impl Imap {
    pub fn new(cfg: ImapConfig, reg: Registry, limits: Limits) -> Imap {
        Imap { cfg, reg, limits }
    }
}

impl Source for Imap {
    fn name(&self) -> &'static str {
        "imap"
    }

    /// Watches the mailbox until shutdown, on a runtime of this thread's own.
    fn run(self: Box<Self>, feed: Feed) {
        let Imap { cfg, reg, limits } = *self;
        let w = watch::Watcher {
            account: account(&cfg),
            folder: conn::mailbox_name(&cfg.folder),
            cfg,
            reg,
            limits,
            jobs: feed.jobs,
            shutdown: feed.shutdown,
            sent: feed.sent,
            health: feed.health,
            history_uid: None,
        };
        crate::runtime::block_on(w.run());
    }
}

/// The account part of source keys and folder state: who logs in where.
pub fn account(cfg: &ImapConfig) -> String {
    format!("{}@{}", cfg.username, cfg.host)
}

/// Which of these Message-IDs have a copy in the Sent folder (`sent_folder`): one read-only
/// session (EXAMINE), one `UID SEARCH HEADER Message-ID` per id. For `lndx outbox list`: a
/// reply whose fate is unknown has reached the server when its copy is there.
pub async fn in_sent(cfg: &ImapConfig, ids: &[String]) -> Result<Vec<bool>, String> {
    let Some(sent) = cfg.sent_folder.as_deref().filter(|f| !f.is_empty()) else {
        return Err("no sent_folder is configured in [mailbox]".into());
    };
    let t = std::time::Duration::from_secs(cfg.timeout_secs.max(1));
    let explain = |f: conn::Fail| format!("{f} — {}", f.hint());
    let mut o = conn::open(cfg).await.map_err(explain)?;
    conn::step(t, "EXAMINE", o.session.examine(conn::mailbox_name(sent)))
        .await
        .map_err(explain)?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        // The id as a quoted string; a Message-ID holds no quote or backslash worth
        // keeping, so they are dropped rather than escaped.
        let clean: String = id
            .chars()
            .filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n'))
            .collect();
        let hits = conn::step(
            t,
            "UID SEARCH",
            o.session
                .uid_search(format!("HEADER Message-ID \"{clean}\"")),
        )
        .await
        .map_err(explain)?;
        found.push(!hits.is_empty());
    }
    let _ = tokio::time::timeout(t, o.session.logout()).await;
    Ok(found)
}

/// `doctor`: connects, secures, logs in, identifies, selects the folder and reports the
/// capabilities; on failure says what to fix.
pub async fn check(cfg: &ImapConfig) -> Result<String, String> {
    let t = std::time::Duration::from_secs(cfg.timeout_secs.max(1));
    let explain = |f: conn::Fail| format!("{f} — {}", f.hint());
    let mut o = conn::open(cfg).await.map_err(explain)?;
    let folder = conn::mailbox_name(&cfg.folder);
    let mbox = match tokio::time::timeout(t, o.session.select(&folder)).await {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            return Err(explain(conn::Fail::new(
                conn::Stage::Folder,
                format!("SELECT {}: {e}", cfg.folder),
            )))
        }
        Err(_) => return Err("SELECT: no answer".into()),
    };
    let mut problems = Vec::new();
    for (what, name) in [("move_to", &cfg.move_to), ("sent_folder", &cfg.sent_folder)] {
        if let Some(name) = name.as_deref().filter(|n| !n.is_empty()) {
            let st =
                tokio::time::timeout(t, o.session.status(conn::mailbox_name(name), "(MESSAGES)"))
                    .await;
            if !matches!(st, Ok(Ok(_))) {
                problems.push(format!(
                    "{what} folder {name:?} does not exist — create it or fix {what}"
                ));
            }
        }
    }
    let mut caps: Vec<&str> = o.caps.iter().map(String::as_str).collect();
    caps.sort_unstable();
    let mut lines = format!(
        "{}:{} ({}), logged in as {}{}, folder {}: {} messages, UIDVALIDITY {}; IDLE {}, MOVE {}; capabilities: {}",
        cfg.host,
        cfg.port,
        if o.tls { "TLS, certificate checked" } else { "plain, loopback" },
        cfg.username,
        o.server.as_deref().map(|s| format!(", server {s}")).unwrap_or_default(),
        cfg.folder,
        mbox.exists,
        mbox.uid_validity.map(|v| v.to_string()).unwrap_or_else(|| "none".into()),
        if o.has("IDLE") { "yes" } else { "no (NOOP polling)" },
        if o.has("MOVE") { "yes" } else { "no (COPY)" },
        caps.join(" ")
    );
    let _ = tokio::time::timeout(t, o.session.logout()).await;
    if !problems.is_empty() {
        lines.push_str("; ");
        lines.push_str(&problems.join("; "));
        return Err(lines);
    }
    Ok(lines)
}
