//! The IMAP source (async-imap on tokio with rustls): one long-lived session per mailbox,
//! IDLE with a periodic reconciliation poll, reconnects with backoff.

mod conn;
mod watch;

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::{ImapAuth, Secret, Security};

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

/// Watches the mailbox until shutdown.
pub async fn watch(
    cfg: ImapConfig,
    reg: crate::registry::Registry,
    limits: crate::message::Limits,
    jobs: std::sync::mpsc::SyncSender<crate::daemon::Job>,
    shutdown: crate::daemon::Shutdown,
    health: std::sync::Arc<crate::health::Health>,
    sent: std::sync::Arc<tokio::sync::Notify>,
) {
    let w = watch::Watcher {
        account: account(&cfg),
        folder: conn::mailbox_name(&cfg.folder),
        cfg,
        reg,
        limits,
        jobs,
        shutdown,
        sent,
        health,
    };
    w.run().await;
}

/// The account part of source keys and folder state: who logs in where.
pub fn account(cfg: &ImapConfig) -> String {
    format!("{}@{}", cfg.username, cfg.host)
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

#[cfg(test)]
mod tests {
    use crate::config::{Config, ImapAuth, MailboxConfig, Security};

    fn load(mailbox: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lndx.toml");
        let text = format!(
            "[mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = 993\n\
             username = \"u\"\npassword = {{ value = \"p\" }}\n{mailbox}"
        );
        std::fs::write(&p, text).unwrap();
        Config::load(Some(&p)).map_err(|e| e.to_string())
    }

    #[test]
    fn security_and_auth_are_typed_with_defaults() {
        let Config {
            mailbox: MailboxConfig::Imap(c),
            ..
        } = load("").unwrap()
        else {
            panic!("an IMAP mailbox");
        };
        assert_eq!((c.security, c.auth), (Security::Tls, ImapAuth::Login));
        let Config {
            mailbox: MailboxConfig::Imap(c),
            ..
        } = load("security = \"starttls\"\nauth = \"plain\"\n").unwrap()
        else {
            panic!("an IMAP mailbox");
        };
        assert_eq!((c.security, c.auth), (Security::Starttls, ImapAuth::Plain));
    }

    #[test]
    fn unknown_security_or_auth_names_the_allowed_values() {
        let e = load("security = \"ssl\"\n").unwrap_err();
        assert!(
            e.contains("security \"ssl\" is not known: use tls, starttls or plain"),
            "{e}"
        );
        let e = load("auth = \"cram-md5\"\n").unwrap_err();
        assert!(
            e.contains("auth \"cram-md5\" is not known: use login or plain"),
            "{e}"
        );
    }
}
