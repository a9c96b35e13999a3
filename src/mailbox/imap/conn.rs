//! Opening an IMAP session: TCP, TLS (implicit or STARTTLS, certificates checked against
//! the web roots plus an optional private CA), login (LOGIN or AUTHENTICATE PLAIN), the ID
//! command when offered, and the capabilities. Every step has a timeout; a failure says
//! at which step it happened so that `doctor` can say what to fix.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::{Client, Session};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::ImapConfig;
use crate::security::{ImapAuth, Security};

/// The connection under the IMAP session: plain TCP (loopback only) or TLS.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type ImapSession = Session<Stream>;

/// The step at which opening a session failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Config,
    Connect,
    Tls,
    Greeting,
    Login,
    Folder,
    Protocol,
}

/// Why a session could not be opened or was lost.
#[derive(Debug, Clone)]
pub struct Fail {
    pub stage: Stage,
    pub detail: String,
}

impl Fail {
    /// A failure at `stage`; the detail is made readable first ([`readable`]).
    pub fn new(stage: Stage, detail: impl Into<String>) -> Fail {
        Fail {
            stage,
            detail: readable(&detail.into()),
        }
    }

    /// Login refused or bad configuration: retrying soon does not help.
    pub fn is_persistent(&self) -> bool {
        matches!(self.stage, Stage::Config | Stage::Login | Stage::Tls)
    }

    /// What the operator should do about it.
    pub fn hint(&self) -> &'static str {
        let d = self.detail.to_ascii_lowercase();
        match self.stage {
            Stage::Config => "fix the [mailbox] section of the config",
            Stage::Connect => "check host and port, and that the server is reachable",
            Stage::Tls if d.contains("unknownissuer") || d.contains("unknown issuer") => {
                "the server's certificate is not signed by a known CA: set ca_file to your CA (PEM)"
            }
            Stage::Tls if d.contains("notvalidforname") || d.contains("not valid for name") => {
                "the certificate does not name this host: set tls_name to a name it holds"
            }
            Stage::Tls => "check security (tls, starttls or plain) and the port; set ca_file for a private CA",
            Stage::Greeting => "the server did not greet as IMAP: check the port and security",
            Stage::Login => "check username and password (some providers need an app password or an authorisation code)",
            Stage::Folder => "check the folder name (it must exist on the server)",
            Stage::Protocol => "the connection was lost or the server misbehaved; lndx retries",
        }
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stage = match self.stage {
            Stage::Config => "config",
            Stage::Connect => "connect",
            Stage::Tls => "TLS",
            Stage::Greeting => "greeting",
            Stage::Login => "login",
            Stage::Folder => "folder",
            Stage::Protocol => "IMAP",
        };
        write!(f, "{stage}: {}", self.detail)
    }
}

/// The text inside `key: Some("…")` of a Debug-printed structure, unescaped.
fn some_text<'a>(text: &'a str, key: &str) -> Option<std::borrow::Cow<'a, str>> {
    let start = text.find(&format!("{key}: Some(\""))? + key.len() + 8;
    let rest = &text[start..];
    let end = rest.find("\")")?;
    let inner = &rest[..end];
    Some(if inner.contains('\\') {
        std::borrow::Cow::Owned(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
    } else {
        std::borrow::Cow::Borrowed(inner)
    })
}

/// The bytes of `input: [109, 97, …]` in a Debug-printed parser error, as text.
fn parser_input(text: &str) -> Option<String> {
    let start = text.find("input: [")? + 8;
    let rest = &text[start..];
    let end = rest.find(']')?;
    let bytes: Vec<u8> = rest[..end]
        .split(',')
        .filter_map(|b| b.trim().parse::<u8>().ok())
        .collect();
    let shown: String = String::from_utf8_lossy(&bytes)
        .chars()
        .take(80)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Some(shown.trim().to_string())
}

/// What the IMAP library's errors print, as an operator reads it: the server's own words
/// for a NO or BAD answer (`no response: code: None, info: Some("[AUTHENTICATIONFAILED]
/// …")` → `the server answered NO: [AUTHENTICATIONFAILED] …`), and the text a parser
/// choked on (`Error(Error { input: [109, 97, …] })` → `the server's answer is not
/// IMAP: "ma…"`) instead of Debug-printed structures.
pub fn readable(detail: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    for (marker, said) in [
        ("no response", "the server answered NO"),
        ("bad response", "the server answered BAD"),
    ] {
        if let Some(at) = lower.find(marker) {
            let words = some_text(detail, "info").unwrap_or_default();
            return format!("{}{said}: {}", &detail[..at], words.trim());
        }
    }
    if detail.contains("Outcome {") {
        let at = detail.find("Outcome {").unwrap_or(0);
        let words = some_text(detail, "information").unwrap_or_default();
        return format!("{}the server refused: {}", &detail[..at], words.trim());
    }
    if let Some(input) = parser_input(detail) {
        let at = detail.find("Error(").unwrap_or(0);
        return format!(
            "{}the server's answer is not IMAP: {input:?} (is this an IMAP port?)",
            &detail[..at]
        );
    }
    detail.to_string()
}

/// Runs one IMAP step under the timeout.
pub async fn step<T, E: std::fmt::Display>(
    t: Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Fail> {
    match tokio::time::timeout(t, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Fail::new(Stage::Protocol, format!("{what}: {e}"))),
        Err(_) => Err(Fail::new(
            Stage::Protocol,
            format!("{what}: no answer within {} s", t.as_secs()),
        )),
    }
}

/// An open, logged-in session.
pub struct Opened {
    pub session: ImapSession,
    /// Upper-case capability names (e.g. IDLE, MOVE, ID, UIDPLUS).
    pub caps: HashSet<String>,
    /// The server's ID answer ("name version"), when it has one.
    pub server: Option<String>,
    pub tls: bool,
}

impl Opened {
    pub fn has(&self, cap: &str) -> bool {
        self.caps.contains(cap)
    }
}

/// The TLS client configuration: web roots plus the configured CA.
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, Fail> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Fail::new(
                Stage::Config,
                format!("cannot read ca_file {}: {e}", path.display()),
            )
        })?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| {
                Fail::new(Stage::Config, format!("ca_file {}: {e}", path.display()))
            })?;
            roots.add(cert).map_err(|e| {
                Fail::new(Stage::Config, format!("ca_file {}: {e}", path.display()))
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(Fail::new(
                Stage::Config,
                format!("ca_file {} holds no PEM certificate", path.display()),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Fail::new(Stage::Config, format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

async fn wrap_tls(cfg: &ImapConfig, tcp: TcpStream, t: Duration) -> Result<Stream, Fail> {
    let tls = tls_config(cfg.ca_file.as_deref())?;
    let name = cfg.tls_name.clone().unwrap_or_else(|| cfg.host.clone());
    let server = rustls::pki_types::ServerName::try_from(name.clone())
        .map_err(|e| Fail::new(Stage::Config, format!("tls_name {name:?}: {e}")))?;
    let conn = tokio_rustls::TlsConnector::from(tls);
    match tokio::time::timeout(t, conn.connect(server, tcp)).await {
        Ok(Ok(s)) => Ok(Stream::Tls(Box::new(s))),
        Ok(Err(e)) => Err(Fail::new(Stage::Tls, format!("handshake with {name}: {e}"))),
        Err(_) => Err(Fail::new(Stage::Tls, "handshake timed out")),
    }
}

async fn greeting(client: &mut Client<Stream>, t: Duration) -> Result<(), Fail> {
    match tokio::time::timeout(t, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(Fail::new(
            Stage::Greeting,
            "the server closed the connection",
        )),
        Ok(Err(e)) => Err(Fail::new(Stage::Greeting, e.to_string())),
        Err(_) => Err(Fail::new(Stage::Greeting, "no greeting")),
    }
}

struct PlainAuth {
    user: String,
    pass: String,
}

impl async_imap::Authenticator for PlainAuth {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        let mut r = Vec::with_capacity(self.user.len() + self.pass.len() + 2);
        r.push(0);
        r.extend_from_slice(self.user.as_bytes());
        r.push(0);
        r.extend_from_slice(self.pass.as_bytes());
        r
    }
}

/// Connects, secures, logs in, identifies and reads the capabilities.
pub async fn open(cfg: &ImapConfig) -> Result<Opened, Fail> {
    let t = Duration::from_secs(cfg.timeout_secs.max(1));
    let password = password(cfg)?;
    let tcp = connect(cfg, t).await?;
    let (client, tls) = secure(cfg, tcp, t).await?;
    let mut session = login(client, cfg, password, t).await?;
    let caps = capabilities(&mut session, t).await?;
    let server = if caps.contains("ID") {
        identify(&mut session, t).await?
    } else {
        None
    };
    Ok(Opened {
        session,
        caps,
        server,
        tls,
    })
}

/// The password, once the config allows sending it: never in clear beyond loopback.
fn password(cfg: &ImapConfig) -> Result<String, Fail> {
    let password = cfg
        .password
        .resolve()
        .map_err(|e| Fail::new(Stage::Config, format!("password: {e}")))?;
    if cfg.security == Security::Plain && !is_loopback(&cfg.host) {
        return Err(Fail::new(
            Stage::Config,
            format!(
                "security = \"plain\" sends the password in clear; it is allowed only to a loopback host, not {}",
                cfg.host
            ),
        ));
    }
    Ok(password)
}

/// The TCP connection to the server, Nagle off (IMAP is many small commands).
async fn connect(cfg: &ImapConfig, t: Duration) -> Result<TcpStream, Fail> {
    let tcp = match tokio::time::timeout(t, TcpStream::connect((cfg.host.as_str(), cfg.port))).await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(Fail::new(
                Stage::Connect,
                format!("{}:{}: {e}", cfg.host, cfg.port),
            ))
        }
        Err(_) => {
            return Err(Fail::new(
                Stage::Connect,
                format!("{}:{}: timed out", cfg.host, cfg.port),
            ))
        }
    };
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// The greeted client over TLS, STARTTLS or plain TCP; true when TLS is on.
async fn secure(
    cfg: &ImapConfig,
    tcp: TcpStream,
    t: Duration,
) -> Result<(Client<Stream>, bool), Fail> {
    match cfg.security {
        Security::Tls => {
            let mut c = Client::new(wrap_tls(cfg, tcp, t).await?);
            greeting(&mut c, t).await?;
            Ok((c, true))
        }
        Security::Starttls => {
            let mut c = Client::new(Stream::Plain(tcp));
            greeting(&mut c, t).await?;
            match tokio::time::timeout(t, c.run_command_and_check_ok("STARTTLS", None)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(Fail::new(Stage::Tls, format!("STARTTLS refused: {e}"))),
                Err(_) => return Err(Fail::new(Stage::Tls, "STARTTLS: no answer")),
            }
            let Stream::Plain(tcp) = c.into_inner() else {
                unreachable!("the stream before STARTTLS is plain")
            };
            Ok((Client::new(wrap_tls(cfg, tcp, t).await?), true))
        }
        Security::Plain => {
            let mut c = Client::new(Stream::Plain(tcp));
            greeting(&mut c, t).await?;
            Ok((c, false))
        }
    }
}

/// LOGIN or AUTHENTICATE PLAIN, as configured.
async fn login(
    client: Client<Stream>,
    cfg: &ImapConfig,
    password: String,
    t: Duration,
) -> Result<ImapSession, Fail> {
    let login = match cfg.auth {
        ImapAuth::Login => tokio::time::timeout(t, client.login(&cfg.username, &password)).await,
        ImapAuth::Plain => {
            let auth = PlainAuth {
                user: cfg.username.clone(),
                pass: password,
            };
            tokio::time::timeout(t, client.authenticate("PLAIN", auth)).await
        }
    };
    match login {
        Ok(Ok(s)) => Ok(s),
        Ok(Err((e, _))) => Err(Fail::new(
            Stage::Login,
            format!("{} refused: {e}", cfg.username),
        )),
        Err(_) => Err(Fail::new(Stage::Login, "no answer to the login")),
    }
}

/// The server's capabilities, upper-cased (`AUTH=` ones as `AUTH=MECH`).
async fn capabilities(session: &mut ImapSession, t: Duration) -> Result<HashSet<String>, Fail> {
    Ok(step(t, "CAPABILITY", session.capabilities())
        .await?
        .iter()
        .map(|c| match c {
            async_imap::types::Capability::Imap4rev1 => "IMAP4REV1".to_string(),
            async_imap::types::Capability::Atom(a) => a.to_ascii_uppercase(),
            async_imap::types::Capability::Auth(a) => format!("AUTH={}", a.to_ascii_uppercase()),
        })
        .collect())
}

/// The ID exchange (RFC 2971): lndx names itself and gets the server's "name version".
/// 163/126/Coremail refuse SELECT from a client that did not identify itself.
async fn identify(session: &mut ImapSession, t: Duration) -> Result<Option<String>, Fail> {
    let id = step(
        t,
        "ID",
        session.id([
            ("name", Some("lndx")),
            ("version", Some(env!("CARGO_PKG_VERSION"))),
            ("vendor", Some("lndx")),
        ]),
    )
    .await?;
    Ok(id.map(|m| {
        let name = m.get("name").cloned().unwrap_or_default();
        match m.get("version") {
            Some(v) => format!("{name} {v}"),
            None => name,
        }
    }))
}

/// A folder name as IMAP wants it: modified UTF-7 (RFC 3501 §5.1.3) for non-ASCII names.
pub fn mailbox_name(name: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
        out.push('&');
        out.push_str(&b64.replace('/', ","));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_modified_utf7() {
        assert_eq!(mailbox_name("INBOX"), "INBOX");
        assert_eq!(mailbox_name("A&B"), "A&-B");
        assert_eq!(mailbox_name("已发送"), "&XfJT0ZAB-");
        assert_eq!(mailbox_name("其他文件夹/申报"), "&UXZO1mWHTvZZOQ-/&dTNipQ-");
    }

    /// A self-signed CA made for this test (`openssl req -x509`, P-256); only parsed.
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBhTCCASugAwIBAgIUbkKXYnA2Jww8jkqv75uf3wW2EcYwCgYIKoZIzj0EAwIw\n\
FzEVMBMGA1UEAwwMbG5keCB0ZXN0IENBMCAXDTI2MTIwMjAyNTkxNloYDzIxMjYx\n\
MTA4MDI1OTE2WjAXMRUwEwYDVQQDDAxsbmR4IHRlc3QgQ0EwWTATBgcqhkjOPQIB\n\
BggqhkjOPQMBBwNCAAQ4wwbO9QeosrbIO7BENCj6EZxqQrpBNQ81TVgoblOBMXTj\n\
Tm11ymt9wEn7eoA8BnGc1rPoN3wN0HJigQ2WJUOVo1MwUTAdBgNVHQ4EFgQU335j\n\
p6a33fO9s120XW1t9lT/3LwwHwYDVR0jBBgwFoAU335jp6a33fO9s120XW1t9lT/\n\
3LwwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAiaJnyTgMMgaqN\n\
BeA9rnklmBZDbkpPUgFoa1iladMnxAIhALXe5inLSAinSVpAXCQVcgaB8AQvzaJL\n\
gSP+esaDEr0Z\n\
-----END CERTIFICATE-----";

    #[test]
    fn ca_file_certificates_are_read_from_pem() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        // text around the blocks, as `openssl x509 -text` leaves it, is skipped
        let ok = write("ca.pem", &format!("subject=CN = lndx test CA\n{TEST_CA}\n"));
        assert!(tls_config(Some(&ok)).is_ok());
        let none = write("none.pem", "no certificate here\n");
        let e = tls_config(Some(&none)).unwrap_err();
        assert!(
            e.detail.contains("holds no PEM certificate"),
            "{}",
            e.detail
        );
        let cut = write("cut.pem", &TEST_CA[..TEST_CA.len() - 30]);
        let e = tls_config(Some(&cut)).unwrap_err();
        assert_eq!(e.stage, Stage::Config);
        assert!(e.detail.contains("cut.pem"), "{}", e.detail);
    }

    #[test]
    fn hints_name_the_fix() {
        let f = Fail::new(Stage::Tls, "invalid peer certificate: UnknownIssuer");
        assert!(f.hint().contains("ca_file"));
    }

    /// The IMAP library's Debug-printed errors become sentences with the server's words.
    #[test]
    fn library_errors_read_as_sentences() {
        let f = Fail::new(
            Stage::Login,
            "u@x refused: no response: code: None, info: Some(\"[AUTHENTICATIONFAILED] Authentication failed.\")",
        );
        assert_eq!(
            f.to_string(),
            "login: u@x refused: the server answered NO: [AUTHENTICATIONFAILED] Authentication failed."
        );
        let f = Fail::new(
            Stage::Protocol,
            "MOVE: Outcome { code: None, information: Some(\"[CANNOT] Mailbox is read-only\") }",
        );
        assert_eq!(
            f.to_string(),
            "IMAP: MOVE: the server refused: [CANNOT] Mailbox is read-only"
        );
        // An SMTP server's banner on the IMAP port.
        let f = Fail::new(
            Stage::Greeting,
            "Error(Error { input: [50, 50, 48, 32, 109, 97, 105, 108, 13, 10], code: Tag })",
        );
        assert_eq!(
            f.to_string(),
            "greeting: the server's answer is not IMAP: \"220 mail\" (is this an IMAP port?)"
        );
        assert!(!f.to_string().contains("input"));
        assert!(Fail::new(Stage::Login, "x").hint().contains("password"));
    }
}
