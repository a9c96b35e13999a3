//! Configuration: one TOML file (see deploy/lndx.example.toml), parsed once at start into
//! typed values and passed explicitly. With no file, the built-in default runs a local
//! Maildir inbox (./var/mail), a folder outbox (./var/outbox) and SQLite under ./var.
//! Secrets come from the environment or a file and are redacted in Debug output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::forms::ReadLimits;
use crate::intake::Settings;
use crate::message::Limits;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Database, raw messages and stored files (default ./var).
    pub data_dir: Option<PathBuf>,
    /// Rules folder (default ./rules, else the built-in copy).
    pub rules_dir: Option<PathBuf>,
    /// Templates folder (default ./templates, else the built-in copy).
    pub templates_dir: Option<PathBuf>,
    #[serde(default)]
    pub identity: Identity,
    #[serde(default)]
    pub mailbox: MailboxConfig,
    #[serde(default)]
    pub outbox: OutboxConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub converter: ConverterConfig,
    #[serde(default)]
    pub senders: SendersPolicy,
    #[serde(default)]
    pub report: ReportConfig,
    #[serde(default)]
    pub http: HttpConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Identity {
    /// The robot's address: From of replies and reports.
    pub address: String,
    pub name: String,
    /// Addresses that receive a copy of every reply (NOU staff).
    pub staff_copies: Vec<String>,
    /// Our own loop header, set on everything we send.
    pub loop_header: String,
}

impl Default for Identity {
    fn default() -> Self {
        let s = Settings::default();
        Identity {
            address: s.own_address,
            name: s.own_name,
            staff_copies: Vec::new(),
            loop_header: s.loop_header,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum MailboxConfig {
    /// A local Maildir: messages dropped into new/ are filed.
    Maildir { path: Option<PathBuf> },
    /// An IMAP mailbox.
    Imap(Box<crate::mailbox::imap::ImapConfig>),
}

impl Default for MailboxConfig {
    fn default() -> Self {
        MailboxConfig::Maildir { path: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum OutboxConfig {
    /// Write each mail as an .eml file into a folder.
    Folder { path: Option<PathBuf> },
    /// Send through an SMTP server.
    Smtp(Box<crate::outbox::smtp::SmtpConfig>),
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig::Folder { path: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub message_mb: u64,
    pub file_mb: u64,
    pub zip_members: usize,
    pub zip_unpacked_mb: u64,
    pub zip_ratio: u64,
    pub nesting: usize,
    /// The header block of a message: at most this many KiB and this many fields.
    pub header_kb: usize,
    pub header_fields: usize,
    /// Replies and reports to one recipient per day, the last guard against loops.
    pub per_recipient_per_day: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let l = Limits::default();
        LimitsConfig {
            message_mb: l.message_bytes / (1024 * 1024),
            file_mb: l.file_bytes / (1024 * 1024),
            zip_members: l.zip_members,
            zip_unpacked_mb: l.zip_unpacked_bytes / (1024 * 1024),
            zip_ratio: l.zip_ratio,
            nesting: l.nesting,
            header_kb: 1024,
            header_fields: 5000,
            per_recipient_per_day: 40,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConverterConfig {
    /// Convert .doc/.xls/.wps/.et with LibreOffice when it is installed.
    pub enabled: bool,
    /// Path to soffice; default: `soffice` or `libreoffice` on PATH.
    pub program: Option<PathBuf>,
    pub timeout_secs: u64,
}

impl Default for ConverterConfig {
    fn default() -> Self {
        ConverterConfig {
            enabled: true,
            program: None,
            timeout_secs: 120,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SendersPolicy {
    /// "infer" (default): unregistered senders are filed under the province their forms
    /// name; "registered": only registered senders are filed.
    pub policy: Option<String>,
    /// "hold" (default): a message whose sender failed authentication (DMARC fail, or SPF
    /// fail without a passing DKIM signature, per the top-most Authentication-Results) is
    /// filed with its entries held for staff; "ignore": such results are not looked at.
    pub on_auth_failure: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Cron expression with seconds (cron crate syntax; use day names: "0 0 9 * * Mon").
    pub schedule: String,
    /// No longer used: the schedule runs in the campaign's time zone (rules/campaign.toml
    /// `timezone`), the one that decides batches. Accepted so older configs still load;
    /// a value that differs from the campaign's is refused at start (see `App`).
    pub timezone: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub enabled: bool,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            schedule: "0 0 9 * * Mon".into(),
            timezone: None,
            to: Vec::new(),
            cc: Vec::new(),
            enabled: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Loopback address for /healthz and /metrics, e.g. "127.0.0.1:9925"; off when unset.
    pub listen: Option<String>,
}

/// How a mail connection (IMAP or SMTP) is secured: `security = "tls" | "starttls" |
/// "plain"`. Another value fails loading with a message naming the three (written here,
/// not serde's, because the mailbox and outbox sections are tagged enums, whose errors
/// point at the section and would not name the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Security {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Tls,
    /// Plain first, then STARTTLS (IMAP 143, SMTP 587).
    Starttls,
    /// No TLS at all: a loopback server only (tests, a local relay).
    Plain,
}

impl TryFrom<String> for Security {
    type Error = String;

    fn try_from(s: String) -> Result<Security, String> {
        match s.as_str() {
            "tls" => Ok(Security::Tls),
            "starttls" => Ok(Security::Starttls),
            "plain" => Ok(Security::Plain),
            _ => Err(format!(
                "security {s:?} is not known: use tls, starttls or plain"
            )),
        }
    }
}

/// How lndx logs in to IMAP: `auth = "login" | "plain"` (LOGIN, or AUTHENTICATE PLAIN).
/// Another value fails loading with a message naming the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ImapAuth {
    Login,
    Plain,
}

impl TryFrom<String> for ImapAuth {
    type Error = String;

    fn try_from(s: String) -> Result<ImapAuth, String> {
        match s.as_str() {
            "login" => Ok(ImapAuth::Login),
            "plain" => Ok(ImapAuth::Plain),
            _ => Err(format!("auth {s:?} is not known: use login or plain")),
        }
    }
}

impl Config {
    /// Reads a config file; `None` gives the built-in default.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        cfg.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        if !self.identity.address.contains('@') {
            return Err(format!(
                "identity.address {:?} is not an address",
                self.identity.address
            ));
        }
        match self.senders.policy.as_deref() {
            None | Some("infer") | Some("registered") => {}
            Some(other) => {
                return Err(format!(
                    "senders.policy {other:?}: use \"infer\" or \"registered\""
                ))
            }
        }
        match self.senders.on_auth_failure.as_deref() {
            None | Some("hold") | Some("ignore") => {}
            Some(other) => {
                return Err(format!(
                    "senders.on_auth_failure {other:?}: use \"hold\" or \"ignore\""
                ))
            }
        }
        if self.report.schedule.parse::<cron::Schedule>().is_err() {
            return Err(format!(
                "report.schedule {:?} is not a cron expression with seconds (e.g. \"0 0 9 * * Mon\")",
                self.report.schedule
            ));
        }
        Ok(())
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("var"))
    }

    pub fn rules_dir(&self) -> Option<PathBuf> {
        self.rules_dir
            .clone()
            .or_else(|| Some(PathBuf::from("rules")).filter(|p| p.is_dir()))
    }

    pub fn templates_dir(&self) -> Option<PathBuf> {
        self.templates_dir
            .clone()
            .or_else(|| Some(PathBuf::from("templates")).filter(|p| p.is_dir()))
    }

    /// The Maildir watched when no other is configured: `mail/` in the data directory.
    pub fn maildir(&self, data_dir: &Path) -> PathBuf {
        match &self.mailbox {
            MailboxConfig::Maildir { path: Some(p) } => p.clone(),
            _ => data_dir.join("mail"),
        }
    }

    /// The outbox folder when no other is configured: `outbox/` in the data directory.
    pub fn outbox_folder(&self, data_dir: &Path) -> PathBuf {
        match &self.outbox {
            OutboxConfig::Folder { path: Some(p) } => p.clone(),
            _ => data_dir.join("outbox"),
        }
    }

    /// The intake settings this config gives.
    pub fn settings(&self) -> Settings {
        let mb = 1024 * 1024;
        let l = &self.limits;
        Settings {
            own_address: self.identity.address.trim().to_string(),
            own_name: self.identity.name.clone(),
            staff_copies: self.identity.staff_copies.clone(),
            loop_header: self.identity.loop_header.clone(),
            limits: Limits {
                message_bytes: l.message_mb * mb,
                file_bytes: l.file_mb * mb,
                zip_members: l.zip_members,
                zip_unpacked_bytes: l.zip_unpacked_mb * mb,
                zip_ratio: l.zip_ratio,
                nesting: l.nesting,
            },
            read_limits: ReadLimits {
                unpacked_bytes: l.zip_unpacked_mb * mb,
                ratio: l.zip_ratio,
                ..ReadLimits::default()
            },
            registered_only: self.senders.policy.as_deref() == Some("registered"),
            header_bytes: l.header_kb * 1024,
            header_fields: l.header_fields,
            hold_on_auth_failure: self.senders.on_auth_failure.as_deref() != Some("ignore"),
        }
    }

    pub fn converter_timeout(&self) -> Duration {
        Duration::from_secs(self.converter.timeout_secs.max(1))
    }
}

/// A secret: given inline, from an environment variable or from a file. Never printed.
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    pub value: Option<String>,
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn resolve(&self) -> Result<String, String> {
        if let Some(v) = &self.value {
            return Ok(v.clone());
        }
        if let Some(name) = &self.env {
            return std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set"));
        }
        if let Some(p) = &self.file {
            return std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("cannot read secret file {}: {e}", p.display()));
        }
        Err("no password given (set value, env or file)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let cfg: Config = toml::from_str(
            r#"
            [outbox]
            kind = "smtp"
            host = "127.0.0.1"
            port = 2587
            username = "lndx@ouchn.test"
            password = { value = "hunter2-very-secret" }
            "#,
        )
        .unwrap();
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
        match &cfg.outbox {
            OutboxConfig::Smtp(s) => assert_eq!(
                s.password.as_ref().unwrap().resolve().unwrap(),
                "hunter2-very-secret"
            ),
            _ => panic!("smtp"),
        }
    }

    #[test]
    fn secrets_from_environment_and_file() {
        let dir = std::env::temp_dir().join(format!("lndx-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("pw");
        std::fs::write(&f, "from-file\n").unwrap();
        let s = Secret {
            value: None,
            env: None,
            file: Some(f),
        };
        assert_eq!(s.resolve().unwrap(), "from-file");
        let s = Secret {
            value: None,
            env: Some("LNDX_TEST_SURELY_UNSET_VAR".into()),
            file: None,
        };
        assert!(s
            .resolve()
            .unwrap_err()
            .contains("LNDX_TEST_SURELY_UNSET_VAR"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_values_are_named() {
        let dir = std::env::temp_dir().join(format!("lndx-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(&p, "[report]\nschedule = \"0 9 * * 1\"\n").unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("report.schedule"), "{e}");
        std::fs::write(&p, "[limits]\nmessage_mb = \"big\"\n").unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
