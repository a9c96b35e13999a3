//! The SMTP transport (lettre's connection API): STARTTLS, implicit TLS or plain, AUTH,
//! a timeout on every step, and an honest account of what happened — a reply code from
//! the server decides between retry (4xx) and give up (5xx); a connection lost after the
//! message data was handed over is `unknown`, because the server may already have it.

use std::path::PathBuf;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::Address;
use serde::Deserialize;

use crate::registry::{Delivery, OutboxRow};
use crate::secret::Secret;
use crate::security::Security;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// STARTTLS by default; implicit TLS (port 465), or plain (loopback only).
    #[serde(default = "default_security")]
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Extra trusted CA (PEM) for a private mail server.
    pub ca_file: Option<PathBuf>,
    /// Name to verify in the server's certificate (default: host).
    pub tls_name: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// EHLO name (default: the identity address's domain).
    pub hello_name: Option<String>,
}

fn default_security() -> Security {
    Security::Starttls
}

fn default_timeout() -> u64 {
    30
}

/// A configured SMTP sender. One connection is kept open across the mails of a delivery
/// pass (a backlog of replies is not one TLS handshake each) and closed when the pass ends.
pub struct SmtpSender {
    cfg: SmtpConfig,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    open: tokio::sync::Mutex<Option<AsyncSmtpConnection>>,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("host", &self.cfg.host)
            .field("port", &self.cfg.port)
            .field("security", &self.cfg.security)
            .field("username", &self.cfg.username)
            .finish()
    }
}

impl SmtpSender {
    pub fn new(cfg: &SmtpConfig, own_address: &str) -> Result<SmtpSender, String> {
        let tls = match cfg.security {
            Security::Plain => None,
            Security::Starttls | Security::Tls => {
                let name = cfg.tls_name.clone().unwrap_or_else(|| cfg.host.clone());
                let mut b = TlsParameters::builder(name);
                if let Some(ca) = &cfg.ca_file {
                    let pem = std::fs::read(ca)
                        .map_err(|e| format!("cannot read CA file {}: {e}", ca.display()))?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|e| format!("CA file {}: {e}", ca.display()))?;
                    b = b.add_root_certificate(cert);
                }
                Some(b.build_rustls().map_err(|e| format!("TLS setup: {e}"))?)
            }
        };
        let credentials = match (&cfg.username, &cfg.password) {
            (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.resolve()?)),
            (Some(_), None) => return Err("smtp.username is set but smtp.password is not".into()),
            _ => None,
        };
        let hello = ClientId::Domain(
            cfg.hello_name
                .clone()
                .or_else(|| own_address.rsplit_once('@').map(|(_, d)| d.to_string()))
                .unwrap_or_else(|| "localhost".into()),
        );
        Ok(SmtpSender {
            cfg: cfg.clone(),
            tls,
            credentials,
            hello,
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
            open: tokio::sync::Mutex::new(None),
        })
    }

    /// Connects, says EHLO, upgrades and authenticates; used by `deliver` and `doctor`.
    pub async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let implicit = if self.cfg.security == Security::Tls {
            self.tls.clone()
        } else {
            None
        };
        let mut conn = step(
            self.timeout,
            AsyncSmtpConnection::connect_tokio1(
                (self.cfg.host.as_str(), self.cfg.port),
                Some(self.timeout),
                &self.hello,
                implicit,
                None,
            ),
        )
        .await
        .map_err(|e| {
            let what = format!("connect {}:{}", self.cfg.host, self.cfg.port);
            self.explain(&what, &e.to_string())
        })?;
        if self.cfg.security == Security::Starttls {
            if !conn.can_starttls() {
                return Err(format!("{} does not offer STARTTLS", self.cfg.host));
            }
            let tls = self.tls.clone().expect("starttls has parameters");
            step(self.timeout, conn.starttls(tls, &self.hello))
                .await
                .map_err(|e| self.explain("STARTTLS", &e.to_string()))?;
        }
        if let Some(c) = &self.credentials {
            step(
                self.timeout,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], c),
            )
            .await
            .map_err(|e| format!("AUTH: {e}"))?;
        }
        Ok(conn)
    }

    /// What `doctor` says after [`Self::connect`] succeeded: how the connection is secured
    /// and whether a login was made (a plain connection without credentials is neither TLS
    /// nor a login).
    pub fn describe(&self) -> String {
        let tls = match self.cfg.security {
            Security::Starttls => "STARTTLS, certificate checked",
            Security::Tls => "TLS, certificate checked",
            Security::Plain => "plain, no TLS (loopback)",
        };
        let login = match &self.cfg.username {
            Some(u) if self.credentials.is_some() => format!("login as {u} accepted"),
            _ => "no login (no username configured)".to_string(),
        };
        format!("connected ({tls}), {login}")
    }

    /// A connection error as a sentence that says what to change: the server's
    /// certificate not trusted → set `ca_file` (or `tls_name`); lettre's doubled
    /// "Connection error: Connection error:" said once.
    fn explain(&self, what: &str, error: &str) -> String {
        let mut e = error.to_string();
        while let Some(i) = e.find("Connection error: Connection error: ") {
            e.replace_range(i..i + "Connection error: ".len(), "");
        }
        let lower = e.to_ascii_lowercase();
        let hint = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
            if self.cfg.ca_file.is_some() {
                " — the server's certificate is not signed by the CA in [outbox] ca_file: check that ca_file holds the CA that signed it"
            } else {
                " — the server's certificate is not signed by a CA this machine trusts: if the mail server uses a private CA, set ca_file = \"/path/to/ca.pem\" (PEM) in [outbox]"
            }
        } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
            " — the certificate does not name this host: set tls_name in [outbox] to a name it holds"
        } else if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
            " — the server did not answer with TLS: check security (starttls for port 587, tls for 465) and the port"
        } else {
            ""
        };
        format!("{what}: {e}{hint}")
    }

    /// One delivery attempt of one queued mail, on the open connection when there is one.
    /// `handing_over` is called once the server has said it will take the data (354),
    /// before the data is written: the caller records that from here a resend is not safe.
    pub async fn deliver(&self, row: &OutboxRow, handing_over: &dyn Fn()) -> Delivery {
        let env = match envelope(row) {
            Ok(e) => e,
            Err(e) => return Delivery::Failed { error: e },
        };
        let mut open = self.open.lock().await;
        // A kept connection may have been closed by the server meanwhile: RSET tells.
        if let Some(conn) = open.as_mut() {
            if step(self.timeout, conn.command(Rset)).await.is_err() {
                *open = None;
            }
        }
        if open.is_none() {
            match self.connect().await {
                Ok(c) => *open = Some(c),
                Err(e) => return super::deferred(row, e),
            }
        }
        let conn = open.as_mut().expect("connected");
        let outcome = send(conn, self.timeout, &env, row, handing_over).await;
        if !matches!(outcome, Delivery::Sent) {
            // After any failure the session's state is unknown: start afresh next time.
            *open = None;
        }
        outcome
    }

    /// Ends the kept connection (QUIT), after a delivery pass.
    pub async fn close(&self) {
        if let Some(mut conn) = self.open.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.quit()).await;
        }
    }
}

/// MAIL, RCPT, DATA and the message: a reply code decides; no reply before the data means
/// try again later; no reply after the data means the server may have it (`unknown`).
async fn send(
    conn: &mut AsyncSmtpConnection,
    timeout: Duration,
    env: &Envelope,
    row: &OutboxRow,
    handing_over: &dyn Fn(),
) -> Delivery {
    let mail = Mail::new(env.from().cloned(), vec![]);
    if let Err(e) = step(timeout, conn.command(mail)).await {
        return classify(row, e, false);
    }
    for to in env.to() {
        if let Err(e) = step(timeout, conn.command(Rcpt::new(to.clone(), vec![]))).await {
            return classify(row, e, false);
        }
    }
    if let Err(e) = step(timeout, conn.command(Data)).await {
        return classify(row, e, false);
    }
    handing_over();
    match step(timeout, conn.message(&row.body)).await {
        Ok(_) => Delivery::Sent,
        Err(e) => classify(row, e, true),
    }
}

/// An SMTP step's error: a server reply, or no reply at all.
#[derive(Debug)]
enum StepError {
    Smtp(lettre::transport::smtp::Error),
    Timeout,
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Smtp(e) => write!(f, "{e}"),
            StepError::Timeout => f.write_str("timed out"),
        }
    }
}

async fn step<T>(
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, StepError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StepError::Smtp(e)),
        Err(_) => Err(StepError::Timeout),
    }
}

/// 5xx → failed; 4xx → retried; no reply → retried, unless the data had been sent.
fn classify(row: &OutboxRow, e: StepError, after_data: bool) -> Delivery {
    let error = e.to_string();
    match &e {
        StepError::Smtp(err) if err.is_permanent() => Delivery::Failed { error },
        StepError::Smtp(err) if err.is_transient() => super::deferred(row, error),
        _ if after_data => Delivery::Unknown { error },
        _ => super::deferred(row, error),
    }
}

fn envelope(row: &OutboxRow) -> Result<Envelope, String> {
    let from: Option<Address> = if row.envelope_from.is_empty() {
        None
    } else {
        Some(
            row.envelope_from
                .parse()
                .map_err(|_| format!("bad sender {:?}", row.envelope_from))?,
        )
    };
    let to = row
        .recipients
        .iter()
        .map(|r| {
            r.parse::<Address>()
                .map_err(|_| format!("bad recipient {r:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(from, to).map_err(|e| e.to_string())
}
