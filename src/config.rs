//! Configuration: one TOML file (see deploy/lndx.example.toml), parsed once at start into
//! typed values and passed explicitly. With no file, the built-in default runs a local
//! Maildir inbox (./var/mail), a folder outbox (./var/outbox) and SQLite under ./var.
//! Secrets ([`crate::secret::Secret`]) come from the environment or a file and are redacted
//! in Debug output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::forms::ReadLimits;
use crate::mailbox::MailboxConfig;
use crate::message::Limits;
use crate::settings::Settings;

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
    /// The old name of `[web]` (only `listen`): configs written before the console keep
    /// working.
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub loop_guard: LoopGuardConfig,
    #[serde(default)]
    pub health: HealthConfig,
    /// The staff console, /healthz and /metrics.
    #[serde(default)]
    pub web: WebConfig,
    /// The book (汇编成册) and the platform export.
    #[serde(default)]
    pub book: BookConfig,
}

/// `[health]`: when /healthz turns `degraded` (see `health::Thresholds`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// The mailbox may be disconnected this many seconds.
    pub disconnected_secs: u64,
    /// The last fetch or poll may be this many seconds old.
    pub fetch_stale_secs: u64,
    /// This many errors within `errors_window_secs` mean errors climb (0: not checked).
    pub errors: u64,
    pub errors_window_secs: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        let t = crate::health::Thresholds::default();
        HealthConfig {
            disconnected_secs: t.disconnected_secs,
            fetch_stale_secs: t.fetch_stale_secs,
            errors: t.errors,
            errors_window_secs: t.errors_window_secs,
        }
    }
}

impl HealthConfig {
    pub fn thresholds(&self) -> crate::health::Thresholds {
        crate::health::Thresholds {
            disconnected_secs: self.disconnected_secs,
            fetch_stale_secs: self.fetch_stale_secs,
            errors: self.errors,
            errors_window_secs: self.errors_window_secs.max(1),
        }
    }
}

/// `[loop_guard]`: when a reply is held because mail bounces back and forth (see
/// `intake::guard`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoopGuardConfig {
    /// After this many answered repeats from one sender within the window (the same
    /// content, or answers to our mail without a file), the next reply is held. 0: off.
    pub repeats: u32,
    pub window_minutes: u32,
}

impl Default for LoopGuardConfig {
    fn default() -> Self {
        let g = crate::settings::LoopGuard::default();
        LoopGuardConfig {
            repeats: g.repeats,
            window_minutes: g.window_minutes,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Identity {
    /// The robot's address: From of replies and reports.
    pub address: String,
    /// Display name of replies and reports; empty: the campaign's `sender_name`.
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
    /// Replies to one recipient per day past which further replies are held (not dropped):
    /// a last resort behind the loop guard. 0 (the default): no ceiling. A province that
    /// sends each course in its own mail must get every receipt.
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
            per_recipient_per_day: 0,
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
    /// Converter workers: LibreOffice conversions run beside the intake worker, which
    /// files other messages meanwhile (0: convert in the intake worker).
    pub workers: usize,
}

impl Default for ConverterConfig {
    fn default() -> Self {
        ConverterConfig {
            enabled: true,
            program: None,
            timeout_secs: 120,
            workers: 2,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SendersPolicy {
    /// Which senders are filed (`infer` by default).
    pub policy: SenderPolicy,
    /// What a failed authentication check does (`hold` by default).
    pub on_auth_failure: OnAuthFailure,
}

/// `[senders] policy`: which senders are filed. A value other than these is refused when
/// the config is read, with the allowed values named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderPolicy {
    /// Unregistered senders are filed under the province their forms name.
    #[default]
    Infer,
    /// Only registered senders are filed.
    Registered,
}

/// `[senders] on_auth_failure`: what happens to a message whose sender failed
/// authentication (DMARC fail, or SPF fail without a passing DKIM signature, per the
/// top-most Authentication-Results).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnAuthFailure {
    /// The message is filed with its entries held for staff.
    #[default]
    Hold,
    /// Authentication results are not looked at.
    Ignore,
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
    /// Loopback address for /healthz and /metrics, e.g. "127.0.0.1:9925"; now an alias of
    /// `[web] listen`.
    pub listen: Option<String>,
}

/// A secret written as a plain string (`password = "secret"`): the line, the key and the
/// three ways to give it, never the value itself.
fn plain_secret(text: &str) -> Option<String> {
    let mut section = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            section = l.trim_matches(['[', ']', ' ']).to_string();
            continue;
        }
        let Some((key, value)) = l.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let value = value.trim_start();
        if key == "password" && (value.starts_with('"') || value.starts_with('\'')) {
            let name = if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            };
            let var = format!("LNDX_{}_PASSWORD", section.to_ascii_uppercase());
            return Some(format!(
                "line {}: {name} is written as a plain string; give it as \
                 {key} = {{ env = \"{var}\" }} (from the environment), \
                 {key} = {{ file = \"/etc/lndx/{section}.password\" }} (from a file, mode 0600) \
                 or {key} = {{ value = \"…\" }} (inline, for tests)",
                i + 1
            ));
        }
    }
    None
}

/// `[web]`: where the console (and /healthz, /metrics beside it) is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Loopback address and port (default 127.0.0.1:9925); `[http] listen` is read when
    /// this is unset. A reverse proxy adds TLS in front of it.
    pub listen: Option<String>,
    /// Set to false to serve nothing at all.
    pub enabled: bool,
    /// The address people open, e.g. "https://lndx.example.org": used in sign-in links and,
    /// when https, to mark the session cookie Secure and to check the Origin of forms.
    pub public_url: Option<String>,
    /// How long a sign-in link stays valid, in hours.
    pub link_hours: u32,
    /// A session unused this many minutes must sign in again.
    pub session_idle_minutes: u32,
    /// The largest form the public self-check page takes, in MB.
    pub check_upload_mb: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: None,
            enabled: true,
            public_url: None,
            link_hours: 72,
            session_idle_minutes: 120,
            check_upload_mb: 20,
        }
    }
}

/// `[book]`: the book (汇编成册) and the platform export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookConfig {
    /// The date on the cover and under the 前言, and the platform export's generated time
    /// (that day, 00:00 in the campaign's time zone). Unset: the batch's deadline. Never
    /// the clock, so a book made twice is the same file.
    pub date: Option<chrono::NaiveDate>,
    /// Font files the PDF is set in (.ttf/.otf/.ttc): they must hold the families that
    /// templates/book.toml [fonts] names. Default: Debian's fonts-noto-cjk.
    pub fonts: Vec<PathBuf>,
}

impl Default for BookConfig {
    fn default() -> Self {
        let dir = Path::new("/usr/share/fonts/opentype/noto");
        BookConfig {
            date: None,
            fonts: [
                "NotoSerifCJK-Regular.ttc",
                "NotoSerifCJK-Bold.ttc",
                "NotoSansCJK-Regular.ttc",
                "NotoSansCJK-Bold.ttc",
            ]
            .iter()
            .map(|f| dir.join(f))
            .collect(),
        }
    }
}

/// The console's address when nothing is configured.
pub const DEFAULT_WEB_LISTEN: &str = "127.0.0.1:9925";

impl Config {
    /// The address the console is served on: `[web] listen`, else the older `[http]
    /// listen`, else the default; None when `[web] enabled = false`.
    pub fn web_listen(&self) -> Option<String> {
        if !self.web.enabled {
            return None;
        }
        Some(
            self.web
                .listen
                .clone()
                .or_else(|| self.http.listen.clone())
                .unwrap_or_else(|| DEFAULT_WEB_LISTEN.to_string()),
        )
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
            // toml points at the section for a wrong secret (the sections are tagged
            // enums, which lose the key's position): name the key and the fix instead.
            message: plain_secret(&text).unwrap_or_else(|| e.to_string().trim_end().to_string()),
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
            registered_only: self.senders.policy == SenderPolicy::Registered,
            header_bytes: l.header_kb * 1024,
            header_fields: l.header_fields,
            hold_on_auth_failure: self.senders.on_auth_failure == OnAuthFailure::Hold,
            loop_guard: crate::settings::LoopGuard {
                repeats: self.loop_guard.repeats,
                window_minutes: self.loop_guard.window_minutes.max(1),
            },
        }
    }

    pub fn converter_timeout(&self) -> Duration {
        Duration::from_secs(self.converter.timeout_secs.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lndx.toml");
        std::fs::write(&p, text).unwrap();
        Config::load(Some(&p)).unwrap()
    }

    /// `[web] listen` is where the console is served; a config written for the older
    /// `[http] listen` keeps its address; with neither the default is served.
    #[test]
    fn web_listen_reads_web_then_http_then_the_default() {
        assert_eq!(
            Config::default().web_listen().as_deref(),
            Some(DEFAULT_WEB_LISTEN)
        );
        let old = load_text("[http]\nlisten = \"127.0.0.1:9100\"\n");
        assert_eq!(old.web_listen().as_deref(), Some("127.0.0.1:9100"));
        let both = load_text(
            "[http]\nlisten = \"127.0.0.1:9100\"\n[web]\nlisten = \"127.0.0.1:9200\"\npublic_url = \"https://lndx.example.org\"\n",
        );
        assert_eq!(both.web_listen().as_deref(), Some("127.0.0.1:9200"));
        assert_eq!(
            both.web.public_url.as_deref(),
            Some("https://lndx.example.org")
        );
        assert_eq!(both.web.link_hours, 72);
        let off = load_text("[web]\nenabled = false\n");
        assert_eq!(off.web_listen(), None);
    }

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
        std::fs::write(&p, "[senders]\npolicy = \"everyone\"\n").unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("`infer` or `registered`"),
            "{e}"
        );
        std::fs::write(
            &p,
            "[outbox]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 25\n\
             username = \"u\"\npassword = \"hunter2\"\n",
        )
        .unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(
            e.contains("line 6: outbox.password is written as a plain string")
                && e.contains("password = { env = \"LNDX_OUTBOX_PASSWORD\" }")
                && e.contains("{ file =")
                && e.contains("{ value ="),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "the value is never shown: {e}");
        std::fs::write(&p, "[senders]\non_auth_failure = \"drop\"\n").unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("`hold` or `ignore`"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The IMAP mailbox's security and auth settings as the config reads them.
#[cfg(test)]
mod imap_settings {
    use super::*;
    use crate::mailbox::MailboxConfig;
    use crate::security::{ImapAuth, Security};

    fn load_imap(mailbox: &str) -> Result<Config, String> {
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
        } = load_imap("").unwrap()
        else {
            panic!("an IMAP mailbox");
        };
        assert_eq!((c.security, c.auth), (Security::Tls, ImapAuth::Login));
        let Config {
            mailbox: MailboxConfig::Imap(c),
            ..
        } = load_imap("security = \"starttls\"\nauth = \"plain\"\n").unwrap()
        else {
            panic!("an IMAP mailbox");
        };
        assert_eq!((c.security, c.auth), (Security::Starttls, ImapAuth::Plain));
    }

    #[test]
    fn unknown_security_or_auth_names_the_allowed_values() {
        let e = load_imap("security = \"ssl\"\n").unwrap_err();
        assert!(
            e.contains("security \"ssl\" is not known: use tls, starttls or plain"),
            "{e}"
        );
        let e = load_imap("auth = \"cram-md5\"\n").unwrap_err();
        assert!(
            e.contains("auth \"cram-md5\" is not known: use login or plain"),
            "{e}"
        );
    }
}

/// The SMTP outbox's security setting as the config reads it.
#[cfg(test)]
mod smtp_settings {
    use super::*;
    use crate::security::Security;

    fn load_smtp(extra: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lndx.toml");
        let text = format!("[outbox]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 25\n{extra}");
        std::fs::write(&p, text).unwrap();
        Config::load(Some(&p)).map_err(|e| e.to_string())
    }

    #[test]
    fn security_is_typed_starttls_by_default() {
        for (extra, want) in [
            ("", Security::Starttls),
            ("security = \"tls\"\n", Security::Tls),
            ("security = \"plain\"\n", Security::Plain),
        ] {
            let Config {
                outbox: OutboxConfig::Smtp(c),
                ..
            } = load_smtp(extra).unwrap()
            else {
                panic!("an SMTP outbox");
            };
            assert_eq!(c.security, want);
        }
        let e = load_smtp("security = \"STARTTLS\"\n").unwrap_err();
        assert!(e.contains("use tls, starttls or plain"), "{e}");
    }
}
