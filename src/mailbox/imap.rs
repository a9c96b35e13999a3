//! The IMAP source (async-imap on tokio with rustls): one long-lived session per mailbox,
//! IDLE with a periodic reconciliation poll, reconnects with backoff.

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    /// "tls" (implicit, default), "starttls" or "plain" (loopback only).
    #[serde(default = "default_security")]
    pub security: String,
    pub username: String,
    pub password: Secret,
    /// "login" (default) or "plain" (AUTHENTICATE PLAIN).
    #[serde(default = "default_auth")]
    pub auth: String,
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

fn default_security() -> String {
    "tls".into()
}
fn default_auth() -> String {
    "login".into()
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
    _cfg: ImapConfig,
    _reg: crate::registry::Registry,
    _limits: crate::message::Limits,
    _jobs: std::sync::mpsc::SyncSender<crate::daemon::Job>,
    _shutdown: crate::daemon::Shutdown,
    _health: std::sync::Arc<crate::health::Health>,
) {
    tracing::error!("IMAP support is being written");
}

/// `doctor`: connects, logs in and checks the folder.
pub async fn check(_cfg: &ImapConfig) -> Result<String, String> {
    Err("IMAP support is being written".into())
}
