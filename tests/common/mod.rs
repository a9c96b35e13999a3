//! Shared helpers of the live tests: the real Dovecot + Postfix stack from
//! tests/mailstack, an IMAP/SMTP client for the test's side, and the `lndx` binary run
//! with a generated config.
//!
//! The stack: when MAILSTACK_ENV names an env file, that running instance is used;
//! otherwise the first test that needs it runs install.sh and start.sh on a private state
//! dir, and a small watcher process stops it once this test process has exited. Tests
//! that stop a daemon on purpose get a stack of their own. A missing stack is a failure
//! with a message, never a silent skip.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use async_imap::Session;
use futures::TryStreamExt;
use tokio::net::TcpStream;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// A running mail stack.
pub struct Stack {
    pub env: HashMap<String, String>,
    /// Set when this process started the stack and stops it on drop.
    own: Option<PathBuf>,
}

static SHARED: OnceLock<Stack> = OnceLock::new();
static NEXT_PRIVATE: AtomicU32 = AtomicU32::new(1);

fn port_base(slot: u32) -> u32 {
    // Bases a few apart never share a port (the offsets 25/143/465/587/993 differ by
    // none of 1..=9), and the pid spreads parallel test processes.
    20000 + (std::process::id() % 900) * 10 + slot
}

/// What a developer without root (or without a running stack) is told: a failure, never a
/// silent skip, that says how to run these tests and which ones need nothing.
const NEEDS_STACK: &str = "\
the live tests (tests/live.rs) need a real Dovecot and Postfix on 127.0.0.1, which \
tests/mailstack/ installs and starts as root. Either run everything as root with \
scripts/test.sh (the README's test command: installs the packages, starts the stack, runs \
every test, stops it), or start a stack yourself (sudo tests/mailstack/start.sh DIR) and run \
with MAILSTACK_ENV=DIR/env. Every other test target needs no server, e.g. \
cargo test --lib --test manifest --test campaigns --test replies --test report";

/// Whether this process runs as root (the mail stack's scripts need it).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Stack {
    /// The stack all tests share (started once per process when not given).
    pub fn shared() -> &'static Stack {
        SHARED.get_or_init(|| match std::env::var("MAILSTACK_ENV") {
            Ok(path) if !path.is_empty() => Stack::from_env_file(Path::new(&path), None)
                .unwrap_or_else(|e| panic!("MAILSTACK_ENV={path}: {e}")),
            _ => Stack::start(0, true),
        })
    }

    /// A stack of this test's own, stopped when dropped (for stopping daemons on purpose).
    pub fn private() -> Stack {
        let slot = NEXT_PRIVATE.fetch_add(1, Ordering::SeqCst);
        Stack::start(slot, false)
    }

    fn start(slot: u32, shared: bool) -> Stack {
        let harness = Path::new(REPO).join("tests/mailstack");
        assert!(is_root(), "{}", NEEDS_STACK);
        let out = Command::new(harness.join("install.sh"))
            .output()
            .expect("run tests/mailstack/install.sh");
        assert!(
            out.status.success(),
            "the live tests need Dovecot and Postfix: tests/mailstack/install.sh failed (run the tests as root):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut last_err = String::new();
        for attempt in 0..4 {
            let base = port_base(slot + attempt * 5 + if attempt > 0 { 100 } else { 0 });
            let state = PathBuf::from(format!(
                "/tmp/lndx-ms-{}-{slot}-{attempt}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&state);
            std::fs::create_dir_all(&state).expect("create the stack's state dir");
            chmod_ox(&state);
            let out = Command::new(harness.join("start.sh"))
                .arg(&state)
                .env("MAILSTACK_PORT_BASE", base.to_string())
                .env_remove("MAILSTACK_SMTP_EXTRA_PORTS")
                .stdin(Stdio::null())
                .output()
                .expect("run tests/mailstack/start.sh");
            if out.status.success() {
                if shared {
                    watch_for_exit(&harness, &state);
                }
                return Stack::from_env_file(&state.join("env"), (!shared).then(|| state.clone()))
                    .unwrap_or_else(|e| panic!("{}: {e}", state.display()));
            }
            last_err = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let _ = std::fs::remove_dir_all(&state);
        }
        panic!("cannot start the mail stack (tests/mailstack/start.sh):\n{last_err}");
    }

    fn from_env_file(path: &Path, own: Option<PathBuf>) -> Result<Stack, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "mail stack not started: cannot read {}: {e}",
                path.display()
            )
        })?;
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(Stack { env, own })
    }

    pub fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("the mail stack env has no {key}"))
    }

    pub fn port(&self, key: &str) -> u16 {
        self.get(key).parse().expect("a port")
    }

    pub fn host(&self) -> &str {
        self.get("MAILSTACK_HOST")
    }

    pub fn state_dir(&self) -> &str {
        self.get("MAILSTACK_STATE_DIR")
    }

    /// Stops one daemon ("dovecot" or "postfix").
    pub fn stop(&self, which: &str) {
        let out = Command::new(Path::new(REPO).join("tests/mailstack/stop.sh"))
            .arg(self.state_dir())
            .arg(which)
            .output()
            .expect("run stop.sh");
        assert!(out.status.success(), "stop.sh {which}: {out:?}");
    }

    /// Starts whatever is down.
    pub fn start_again(&self) {
        // The state dir remembers its ports; a base inherited from the environment (the
        // test command's own stack) must not override them.
        let out = Command::new(Path::new(REPO).join("tests/mailstack/start.sh"))
            .arg(self.state_dir())
            .env_remove("MAILSTACK_PORT_BASE")
            .stdin(Stdio::null())
            .output()
            .expect("run start.sh");
        assert!(out.status.success(), "start.sh: {out:?}");
    }

    /// The last lines of the stack's logs, for failure messages.
    pub fn logs(&self) -> String {
        let dir = Path::new(self.get("MAILSTACK_LOG_DIR"));
        ["dovecot.log", "postfix.log"]
            .iter()
            .map(|f| format!("== {f}\n{}", tail(&dir.join(f), 30)))
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(state) = &self.own {
            let _ = Command::new(Path::new(REPO).join("tests/mailstack/stop.sh"))
                .arg(state)
                .env("MAILSTACK_STOP_FAST", "1")
                .output();
            let _ = std::fs::remove_dir_all(state);
        }
    }
}

fn chmod_ox(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
}

/// A detached watcher that stops the shared stack once this process is gone (the test
/// harness has no hook that runs at exit).
fn watch_for_exit(harness: &Path, state: &Path) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; MAILSTACK_STOP_FAST=1 '{stop}' '{state}' >/dev/null 2>&1; rm -rf '{state}'",
        pid = std::process::id(),
        stop = harness.join("stop.sh").display(),
        state = state.display()
    );
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A short random token for addresses and Message-IDs.
pub fn token() -> String {
    format!("{:08x}", rand::random::<u32>())
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------- the test's own IMAP and SMTP side ----------

pub type Imap = Session<TcpStream>;

/// Logs in as `user` (password from the stack) over plain IMAP on loopback.
pub async fn imap_login(stack: &Stack, user: &str) -> Imap {
    let tcp = TcpStream::connect((stack.host(), stack.port("MAILSTACK_IMAP_PORT")))
        .await
        .expect("connect to IMAP");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting");
    client
        .login(user, stack.get("MAILSTACK_PASSWORD"))
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP login")
}

/// IMAP INTERNALDATE from the top-most Received header (the arrival time), if any.
pub fn arrival_date(raw: &[u8]) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    let received = msg.header_raw("Received")?;
    let date = received.rsplit(';').next()?.trim();
    let d = chrono::DateTime::parse_from_rfc2822(date.split(" (").next().unwrap_or(date).trim())
        .ok()?;
    Some(format!("\"{}\"", d.format("%d-%b-%Y %H:%M:%S %z")))
}

/// Appends a message to `user`'s INBOX with its arrival time as INTERNALDATE.
pub async fn append(stack: &Stack, user: &str, raw: &[u8]) {
    let mut s = imap_login(stack, user).await;
    let date = arrival_date(raw);
    s.append("INBOX", None, date.as_deref(), raw)
        .await
        .expect("APPEND");
    let _ = s.logout().await;
}

/// Appends many messages over one session.
pub async fn append_all(stack: &Stack, user: &str, raws: &[Vec<u8>]) {
    let mut s = imap_login(stack, user).await;
    for raw in raws {
        let date = arrival_date(raw);
        s.append("INBOX", None, date.as_deref(), raw)
            .await
            .expect("APPEND");
    }
    let _ = s.logout().await;
}

/// What the tests look at in a received mail.
#[derive(Debug, Clone)]
pub struct Seen {
    pub uid: u32,
    pub from: String,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: String,
    pub auto_submitted: String,
    pub raw_header: String,
}

/// Headers of every message in `user`'s `folder` (empty when the folder is empty).
pub async fn headers(stack: &Stack, user: &str, folder: &str) -> Vec<Seen> {
    let mut s = imap_login(stack, user).await;
    let out = headers_in(&mut s, folder, 1).await;
    let _ = s.logout().await;
    out
}

/// Headers of the messages from UID `from_uid` on, over an open session.
pub async fn headers_in(s: &mut Imap, folder: &str, from_uid: u32) -> Vec<Seen> {
    let mbox = s.select(folder).await.expect("SELECT");
    if mbox.exists == 0 {
        return Vec::new();
    }
    let fetches: Vec<_> = s
        .uid_fetch(format!("{from_uid}:*"), "(UID BODY.PEEK[HEADER])")
        .await
        .expect("FETCH")
        .try_collect()
        .await
        .expect("FETCH stream");
    let mut out = Vec::new();
    for f in fetches {
        let (Some(uid), Some(h)) = (f.uid, f.header()) else {
            continue;
        };
        if uid < from_uid {
            continue;
        }
        out.push(parse_seen(uid, h));
    }
    out.sort_by_key(|s| s.uid);
    out
}

pub fn parse_seen(uid: u32, h: &[u8]) -> Seen {
    let msg = mail_parser::MessageParser::default()
        .parse_headers(h)
        .expect("headers parse");
    let text = |name: &str| {
        msg.header_raw(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    Seen {
        uid,
        from: msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_lowercase(),
        subject: msg.subject().unwrap_or_default().to_string(),
        message_id: msg
            .message_id()
            .map(|m| format!("<{m}>"))
            .unwrap_or_default(),
        in_reply_to: msg
            .in_reply_to()
            .as_text()
            .map(|m| format!("<{m}>"))
            .unwrap_or_default(),
        auto_submitted: text("Auto-Submitted"),
        raw_header: String::from_utf8_lossy(h).to_string(),
    }
}

/// Sends a raw message through Postfix's MX-like port (no auth from loopback).
pub async fn smtp_send(stack: &Stack, from: &str, to: &str, raw: &[u8]) {
    use lettre::address::Envelope;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let t: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(stack.host())
            .port(stack.port("MAILSTACK_SMTP_PORT"))
            .timeout(Some(Duration::from_secs(10)))
            .build();
    let env = Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    // Postfix's smtpd can drop a connection while Dovecot (its SASL helper) restarts: a
    // client retries, so does this one.
    let mut last = String::new();
    for _ in 0..5 {
        match tokio::time::timeout(Duration::from_secs(20), t.send_raw(&env, raw)).await {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "timed out".into(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("SMTP send: {last}");
}

// ---------- samples ----------

pub fn sample_dir() -> PathBuf {
    Path::new(REPO).join("tests/fixtures/eml")
}

pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(sample_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Sample file names in order.
pub fn sample_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(sample_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    v.sort();
    v
}

/// The sample with a new Message-ID and, when given, a new From address (the header's
/// first occurrence only).
pub fn variant(raw: &[u8], message_id: &str, from: Option<&str>) -> Vec<u8> {
    let text = raw.to_vec();
    let end = text
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| text.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(text.len());
    let (head, body) = text.split_at(end);
    let head = String::from_utf8_lossy(head).to_string();
    let mut out = String::new();
    let mut skip_cont = false;
    let mut done_from = false;
    let mut done_id = false;
    for line in head.split_inclusive('\n') {
        if skip_cont && (line.starts_with(' ') || line.starts_with('\t')) {
            continue;
        }
        skip_cont = false;
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("message-id:") && !done_id {
            out.push_str(&format!("Message-ID: {message_id}\r\n"));
            done_id = true;
            skip_cont = true;
            continue;
        }
        if let Some(f) = from {
            if lower.starts_with("from:") && !done_from {
                out.push_str(&format!("From: <{f}>\r\n"));
                done_from = true;
                skip_cont = true;
                continue;
            }
        }
        out.push_str(line);
    }
    let mut v = out.into_bytes();
    v.extend_from_slice(body);
    v
}

// ---------- lndx ----------

/// One lndx installation for a test: config, rules, data dir.
pub struct Lndx {
    pub dir: tempfile::TempDir,
    pub robot: String,
    pub config: PathBuf,
    pub bin: PathBuf,
    child: Option<Child>,
}

/// Options of a test's lndx config.
pub struct Opts {
    pub tls: bool,
    pub cap: u32,
    pub poll_secs: u64,
    pub message_mb: u64,
    /// The weekly report: (cron expression in Asia/Shanghai, recipient); off when None.
    pub report: Option<(String, String)>,
    /// `[mailbox] existing_mail`: the tests' backlogs are appended before the first start
    /// and must be answered, so `answer` unless a test says otherwise.
    pub existing_mail: &'static str,
    /// Convert legacy files with LibreOffice (with converter workers).
    pub converter: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            tls: true,
            cap: 0,
            poll_secs: 5,
            message_mb: 50,
            report: None,
            existing_mail: "answer",
            converter: false,
        }
    }
}

/// The binary, copied once: the shared target dir may be rebuilt while tests run.
fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lndx-live-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dst = dir.join("lndx");
        std::fs::copy(env!("CARGO_BIN_EXE_lndx"), &dst).expect("copy the lndx binary");
        dst
    })
    .clone()
}

/// Writes rules/ with senders.toml from the sample senders plus the robot as `self`.
pub fn write_rules(dir: &Path, robot: &str) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for e in std::fs::read_dir(Path::new(REPO).join("rules")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), rules.join(e.file_name())).unwrap();
    }
    let senders: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(REPO).join("tests/fixtures/senders.json")).unwrap(),
    )
    .unwrap();
    let mut own: Vec<String> = senders["self"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    own.push(robot.to_string());
    let mut toml = format!(
        "self = [{}]\n\n[senders]\n",
        own.iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for key in ["domains", "addresses"] {
        if let Some(m) = senders[key].as_object() {
            for (k, v) in m {
                toml.push_str(&format!("{k:?} = {:?}\n", v.as_str().unwrap()));
            }
        }
    }
    std::fs::write(rules.join("senders.toml"), toml).unwrap();
    rules
}

impl Lndx {
    pub fn new(stack: &Stack, opts: Opts) -> Lndx {
        let dir = tempfile::tempdir().unwrap();
        let robot = format!("lndx-{}@ouchn.test", token());
        let rules = write_rules(dir.path(), &robot);
        let ca = stack.get("MAILSTACK_CA");
        let (port, security) = if opts.tls {
            (stack.port("MAILSTACK_IMAPS_PORT"), "tls")
        } else {
            (stack.port("MAILSTACK_IMAP_PORT"), "plain")
        };
        let config = dir.path().join("lndx.toml");
        let text = format!(
            r#"data_dir = {data:?}
rules_dir = {rules:?}
templates_dir = {templates:?}

[identity]
address = "{robot}"
name = "智慧助老申报收件"

[mailbox]
kind = "imap"
host = "{host}"
port = {port}
security = "{security}"
username = "{robot}"
password = {{ value = "{pw}" }}
ca_file = {ca:?}
tls_name = "{tls_name}"
poll_secs = {poll}
idle_secs = 60
timeout_secs = 10
sent_folder = "Sent"
existing_mail = "{existing}"

[outbox]
kind = "smtp"
host = "{host}"
port = {sub}
security = "starttls"
username = "{robot}"
password = {{ value = "{pw}" }}
ca_file = {ca:?}
tls_name = "{tls_name}"
timeout_secs = 10

[limits]
per_recipient_per_day = {cap}
message_mb = {mb}

[converter]
enabled = {converter}

# Several of these run at once; the console's default port would be taken by the first.
[web]
enabled = false

[report]
{report}
"#,
            report = match &opts.report {
                Some((schedule, to)) => format!(
                    "enabled = true\nschedule = {schedule:?}\ntimezone = \"Asia/Shanghai\"\nto = [{to:?}]"
                ),
                None => "enabled = false".to_string(),
            },
            data = dir.path().join("data"),
            templates = Path::new(REPO).join("templates"),
            host = stack.host(),
            pw = stack.get("MAILSTACK_PASSWORD"),
            tls_name = stack.get("MAILSTACK_TLS_NAME"),
            poll = opts.poll_secs,
            sub = stack.port("MAILSTACK_SUBMISSION_PORT"),
            cap = opts.cap,
            mb = opts.message_mb,
            existing = opts.existing_mail,
            converter = opts.converter,
        );
        std::fs::write(&config, text).unwrap();
        Lndx {
            dir,
            robot,
            config,
            bin: bin(),
            child: None,
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("lndx.log")
    }

    pub fn log(&self) -> String {
        tail(&self.log_path(), 60)
    }

    /// Starts `lndx run`.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env("LNDX_LOG", "warn,lndx=debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start lndx");
        self.child = Some(child);
    }

    /// Stops lndx with SIGTERM (graceful) and waits.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe_kill(c.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    panic!("lndx did not stop within 20 s of SIGTERM\n{}", self.log());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Kills lndx with SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Runs another lndx command with this config; returns stdout.
    pub fn cmd(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("LNDX_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    pub fn db(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(self.data().join("lndx.db")).expect("open lndx.db");
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        c
    }

    /// Messages filed (or quarantined) so far; 0 before the database exists.
    pub fn filed(&self) -> i64 {
        if !self.data().join("lndx.db").exists() {
            return 0;
        }
        self.db()
            .query_row(
                "SELECT count(*) FROM messages WHERE state <> 'received'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }

    /// Waits until `n` messages are filed.
    pub fn wait_filed(&mut self, n: i64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let got = self.filed();
            if got >= n {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{got} of {n} messages filed after {within:?}\n--- lndx log\n{}",
                    self.log()
                );
            }
            assert!(self.running(), "lndx exited\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Lndx {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Polls `f` until it returns Some, or panics after `within` with `what`.
pub fn wait_for<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {within:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value at fraction `p` of sorted figures (NaN when there are none).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

impl Lndx {
    /// Appends text (whole sections) to the test's config.
    pub fn append_config(&self, extra: &str) {
        let mut text = std::fs::read_to_string(&self.config).unwrap();
        text.push('\n');
        text.push_str(extra);
        std::fs::write(&self.config, text).unwrap();
    }

    /// Replaces one `[section]` of the test's config (up to the next section).
    pub fn replace_section(&self, section: &str, body: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let start = text.find(&format!("[{section}]\n")).expect("section");
        let end = text[start + 1..]
            .find("\n[")
            .map(|i| start + 1 + i + 1)
            .unwrap_or(text.len());
        let new = format!("{}[{section}]\n{body}\n\n{}", &text[..start], &text[end..]);
        std::fs::write(&self.config, new).unwrap();
    }

    /// Serves the console (and /healthz) for a test that reads it: the shared live config
    /// turns the web server off, since several daemons run at once.
    pub fn enable_web(&self) {
        self.replace_section("web", "enabled = true");
    }
}
