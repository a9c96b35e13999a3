//! Health: counters and timestamps the daemon's parts update, served as `/healthz` (JSON)
//! and Prometheus `/metrics` on a loopback address.
//!
//! /healthz says `degraded`, with every reason, whenever an operator has something to do
//! (see [`Health::reasons`]): the mailbox disconnected longer than a threshold, errors
//! climbing, the last fetch stale, replies or reports undelivered, mail held by the loop
//! guard. The thresholds come from `[health]` in the config ([`Thresholds`]); /metrics
//! carries the same facts as gauges for alert rules (`lndx_degraded`, `lndx_mail_held`,
//! `lndx_undelivered`, `lndx_mailbox_disconnected_seconds`, `lndx_recent_errors`, …).
//! [`crate::web`] serves them beside the console; this module holds no HTTP.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use crate::registry::Registry;

/// The daemon's counters and timestamps. The ones /metrics exports are prometheus-client
/// metrics registered (under the `lndx_` prefix) in `metrics`; /healthz reads the same values.
#[derive(Debug)]
pub struct Health {
    fetched: Counter,
    filed: Counter,
    sent: Counter,
    send_failures: Counter,
    errors: Counter,
    /// Read from the registry when /metrics is served.
    outbox_depth: Gauge,
    /// Read from the registry when /metrics is served.
    quarantined: Gauge,
    last_fetch: Gauge,
    last_send: Gauge,
    mailbox_connected: Gauge,
    last_report: AtomicI64,
    report_failures: AtomicU64,
    /// Since when the mailbox session is down (0: it is up); the daemon starts down.
    disconnected_since: AtomicI64,
    /// When the recent errors happened (trimmed to the errors window).
    recent_errors: Mutex<VecDeque<i64>>,
    thresholds: Thresholds,
    /// Read from the registry when /metrics is served.
    held: Gauge,
    /// Read from the registry when /metrics is served.
    undelivered: Gauge,
    degraded: Gauge,
    disconnected_seconds: Gauge,
    recent_errors_gauge: Gauge,
    last_report_gauge: Gauge,
    metrics: prometheus_client::registry::Registry,
}

/// When /healthz turns `degraded` (`[health]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// The mailbox may be disconnected this long (reconnects after a server restart take
    /// a few seconds; backoff grows to minutes).
    pub disconnected_secs: u64,
    /// The last successful fetch or poll may be this old.
    pub fetch_stale_secs: u64,
    /// This many errors within `errors_window_secs` mean errors are climbing.
    pub errors: u64,
    pub errors_window_secs: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            disconnected_secs: 120,
            fetch_stale_secs: 900,
            errors: 5,
            errors_window_secs: 600,
        }
    }
}

/// One reason /healthz is degraded: a stable code and a Chinese sentence for the operator
/// (the people who run lndx read Chinese; alert rules use the code).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub detail: String,
}

/// What the registry says, read when /healthz or /metrics is served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub outbox_depth: i64,
    /// Failed or unknown mail (replies, copies, reports).
    pub undelivered: i64,
    pub held: i64,
    pub quarantined: i64,
    pub last_report: Option<String>,
    pub last_report_sent: Option<String>,
}

impl Stored {
    /// Reads the figures; a figure the registry cannot give is -1 (and shows as such).
    pub fn read(reg: &Registry) -> Stored {
        let (last_report, last_report_sent) = reg.last_report().unwrap_or_default();
        Stored {
            outbox_depth: reg.outbox_depth().unwrap_or(-1),
            undelivered: reg.undelivered().unwrap_or(-1),
            held: reg.held_mail().unwrap_or(-1),
            quarantined: reg.count_quarantined().unwrap_or(-1),
            last_report,
            last_report_sent,
        }
    }
}

impl Default for Health {
    fn default() -> Self {
        Health::new(Thresholds::default())
    }
}

impl Health {
    /// Counters at zero, the mailbox down since now, with these thresholds.
    pub fn new(thresholds: Thresholds) -> Self {
        let mut h = Health {
            fetched: Counter::default(),
            filed: Counter::default(),
            sent: Counter::default(),
            send_failures: Counter::default(),
            errors: Counter::default(),
            outbox_depth: Gauge::default(),
            quarantined: Gauge::default(),
            last_fetch: Gauge::default(),
            last_send: Gauge::default(),
            mailbox_connected: Gauge::default(),
            last_report: AtomicI64::default(),
            report_failures: AtomicU64::default(),
            disconnected_since: AtomicI64::new(now()),
            recent_errors: Mutex::new(VecDeque::new()),
            thresholds,
            held: Gauge::default(),
            undelivered: Gauge::default(),
            degraded: Gauge::default(),
            disconnected_seconds: Gauge::default(),
            recent_errors_gauge: Gauge::default(),
            last_report_gauge: Gauge::default(),
            metrics: prometheus_client::registry::Registry::with_prefix("lndx"),
        };
        // The exported names are `lndx_` + name (+ `_total` for counters, which the
        // encoder adds); the help texts get their final period from the encoder too.
        let m = &mut h.metrics;
        m.register(
            "messages_fetched",
            "Messages handed over by the mailbox",
            h.fetched.clone(),
        );
        m.register("messages_filed", "Messages filed", h.filed.clone());
        m.register("mail_sent", "Mails delivered by the outbox", h.sent.clone());
        m.register(
            "mail_failures",
            "Deliveries that failed for good",
            h.send_failures.clone(),
        );
        m.register("errors", "Errors while filing or sending", h.errors.clone());
        m.register(
            "outbox_depth",
            "Mails waiting to be sent",
            h.outbox_depth.clone(),
        );
        m.register(
            "quarantined",
            "Messages that could not be processed",
            h.quarantined.clone(),
        );
        m.register(
            "last_fetch_timestamp_seconds",
            "Last successful fetch or poll",
            h.last_fetch.clone(),
        );
        m.register(
            "last_send_timestamp_seconds",
            "Last successful delivery",
            h.last_send.clone(),
        );
        m.register(
            "mailbox_connected",
            "1 while the mailbox session is up",
            h.mailbox_connected.clone(),
        );
        m.register(
            "mail_held",
            "Mails held by the loop guard until staff release them",
            h.held.clone(),
        );
        m.register(
            "undelivered",
            "Mails that failed for good or whose delivery is unknown",
            h.undelivered.clone(),
        );
        m.register(
            "mailbox_disconnected_seconds",
            "Seconds the mailbox session has been down (0 while it is up)",
            h.disconnected_seconds.clone(),
        );
        m.register(
            "recent_errors",
            "Errors within the health errors window",
            h.recent_errors_gauge.clone(),
        );
        m.register(
            "last_report_timestamp_seconds",
            "Last time a report was queued",
            h.last_report_gauge.clone(),
        );
        m.register(
            "degraded",
            "1 while /healthz reports degraded",
            h.degraded.clone(),
        );
        h
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Health {
    pub fn fetched(&self) {
        self.fetched.inc();
        self.last_fetch.set(now());
    }
    /// A successful poll or IDLE wake-up with nothing new.
    pub fn polled(&self) {
        self.last_fetch.set(now());
    }
    pub fn filed(&self) {
        self.filed.inc();
    }
    pub fn error(&self) {
        self.errors.inc();
        let mut recent = self.recent_errors.lock().unwrap_or_else(|e| e.into_inner());
        recent.push_back(now());
        if recent.len() > 10_000 {
            recent.pop_front();
        }
    }

    /// Errors within the errors window, counted at `at`.
    fn recent_errors(&self, at: i64) -> u64 {
        let mut recent = self.recent_errors.lock().unwrap_or_else(|e| e.into_inner());
        let since = at - self.thresholds.errors_window_secs as i64;
        while recent.front().is_some_and(|t| *t < since) {
            recent.pop_front();
        }
        recent.len() as u64
    }
    pub fn delivered(&self, sent: usize, failed: usize) {
        if sent > 0 {
            self.sent.inc_by(sent as u64);
            self.last_send.set(now());
        }
        self.send_failures.inc_by(failed as u64);
    }
    pub fn report_queued(&self) {
        self.last_report.store(now(), Ordering::Relaxed);
    }
    pub fn report_failed(&self) {
        self.report_failures.fetch_add(1, Ordering::Relaxed);
    }
    pub fn set_connected(&self, up: bool) {
        let was_up = self.mailbox_connected.set(up as i64) == 1;
        if up {
            self.disconnected_since.store(0, Ordering::Relaxed);
        } else if was_up || self.disconnected_since.load(Ordering::Relaxed) == 0 {
            self.disconnected_since.store(now(), Ordering::Relaxed);
        }
    }

    /// Seconds the mailbox has been down at `at` (0 while it is up).
    fn disconnected_for(&self, at: i64) -> i64 {
        match self.disconnected_since.load(Ordering::Relaxed) {
            0 => 0,
            since => (at - since).max(0),
        }
    }

    /// Why /healthz is degraded at `at` (empty: ok). Each threshold is in `[health]`.
    pub fn reasons(&self, stored: &Stored, at: i64) -> Vec<Reason> {
        let t = &self.thresholds;
        let mut out = Vec::new();
        let down = self.disconnected_for(at);
        if down > t.disconnected_secs as i64 {
            out.push(Reason {
                code: "mailbox_disconnected",
                detail: format!(
                    "邮箱已断开 {down} 秒（阈值 {} 秒）：请检查邮件服务器和网络",
                    t.disconnected_secs
                ),
            });
        }
        let errors = self.recent_errors(at);
        if t.errors > 0 && errors >= t.errors {
            out.push(Reason {
                code: "errors_climbing",
                detail: format!(
                    "最近 {} 秒内出错 {errors} 次（阈值 {} 次）：请查看日志",
                    t.errors_window_secs, t.errors
                ),
            });
        }
        let last = self.last_fetch.get();
        // Counted from the start when nothing was fetched yet (disconnected_since is the
        // start then, or the mailbox reason already says it).
        if last > 0 && at - last > t.fetch_stale_secs as i64 {
            out.push(Reason {
                code: "fetch_stale",
                detail: format!(
                    "距上次收信已 {} 秒（阈值 {} 秒）：请检查邮箱连接",
                    at - last,
                    t.fetch_stale_secs
                ),
            });
        }
        if stored.undelivered != 0 {
            out.push(Reason {
                code: "undelivered",
                detail: format!(
                    "{} 封邮件发送失败或不确定是否送达：请运行 lndx outbox list 查看并处理",
                    stored.undelivered
                ),
            });
        }
        if stored.held != 0 {
            out.push(Reason {
                code: "held",
                detail: format!(
                    "{} 封邮件被防循环机制暂扣，待工作人员在“待人工处理”中放行",
                    stored.held
                ),
            });
        }
        out
    }

    /// The /healthz document: `status` ok or degraded with its `reasons`, and the figures.
    pub fn snapshot(&self, reg: &Registry) -> serde_json::Value {
        self.snapshot_of(&Stored::read(reg), reg, now())
    }

    fn snapshot_of(&self, stored: &Stored, reg: &Registry, at: i64) -> serde_json::Value {
        let ts = |v: i64| {
            (v > 0).then(|| chrono::DateTime::from_timestamp(v, 0).map(|d| d.to_rfc3339()))
        };
        let failed_reports: Vec<serde_json::Value> = reg
            .outbox_rows(Some("report"))
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, _, state, _)| state == "failed" || state == "unknown")
            .map(|(id, _, state, err)| serde_json::json!({"outbox": id, "state": state, "error": err}))
            .collect();
        let reasons = self.reasons(stored, at);
        serde_json::json!({
            "status": if reasons.is_empty() { "ok" } else { "degraded" },
            "reasons": reasons,
            "mailbox_connected": self.mailbox_connected.get() == 1,
            "mailbox_disconnected_secs": self.disconnected_for(at),
            "last_fetch": ts(self.last_fetch.get()),
            "last_send": ts(self.last_send.get()),
            "last_report": stored.last_report.clone()
                .or_else(|| ts(self.last_report.load(Ordering::Relaxed)).flatten()),
            "last_report_sent": stored.last_report_sent,
            "fetched": self.fetched.get(),
            "filed": self.filed.get(),
            "sent": self.sent.get(),
            "send_failures": self.send_failures.get(),
            "errors": self.errors.get(),
            "recent_errors": self.recent_errors(at),
            "outbox_depth": stored.outbox_depth,
            "undelivered": stored.undelivered,
            "held": stored.held,
            "quarantined": stored.quarantined,
            "undelivered_reports": failed_reports,
        })
    }

    /// The Prometheus text exposition (format 0.0.4), with the registry's gauges read now.
    pub fn metrics(&self, reg: &Registry) -> String {
        let stored = Stored::read(reg);
        let at = now();
        self.outbox_depth.set(stored.outbox_depth);
        self.quarantined.set(stored.quarantined);
        self.held.set(stored.held);
        self.undelivered.set(stored.undelivered);
        self.disconnected_seconds.set(self.disconnected_for(at));
        self.recent_errors_gauge.set(self.recent_errors(at) as i64);
        let last_report = stored
            .last_report
            .as_deref()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.timestamp())
            .unwrap_or_else(|| self.last_report.load(Ordering::Relaxed));
        self.last_report_gauge.set(last_report);
        self.degraded
            .set(!self.reasons(&stored, at).is_empty() as i64);
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.metrics).expect("writing to a String");
        out
    }
}

/// Why `[http] listen` cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    #[error("http.listen = {listen:?} is not an address and port; write it as 127.0.0.1:9925")]
    NotAnAddress { listen: String },
    #[error(
        "http.listen = {listen:?} is not a loopback address; /healthz and /metrics are served \
         on 127.0.0.1 or [::1] only (put a proxy in front to reach them from elsewhere)"
    )]
    NotLoopback { listen: String },
    #[error(
        "http.listen = {listen:?} cannot be served: {error}; another program uses the port \
         (choose a free port, or stop that program)"
    )]
    InUse { listen: String, error: String },
}

/// The check `lndx run` makes before it starts and `lndx doctor` makes too: the address
/// must pass [`listen_address`] and be free to bind now (bound and released at once). A
/// port taken by another program stops `run`, instead of leaving /healthz silently
/// unserved.
pub fn check_listen(listen: &str) -> Result<std::net::SocketAddr, ListenError> {
    let addr = listen_address(listen)?;
    match std::net::TcpListener::bind(addr) {
        Ok(l) => {
            drop(l);
            Ok(addr)
        }
        Err(e) => Err(ListenError::InUse {
            listen: listen.to_string(),
            error: e.to_string(),
        }),
    }
}

/// Whether a running lndx answers /healthz at `addr` (doctor: a taken port is fine when
/// it is lndx's own).
pub fn lndx_answers(addr: std::net::SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.starts_with("HTTP/1.") && body.contains("\"mailbox_connected\"")
}

/// The address `[http] listen` names, as `lndx run` serves it and `lndx doctor` checks it:
/// an IP address with a port, loopback only (the endpoints have no authentication).
pub fn listen_address(listen: &str) -> Result<std::net::SocketAddr, ListenError> {
    let addr: std::net::SocketAddr =
        listen
            .trim()
            .parse()
            .map_err(|_| ListenError::NotAnAddress {
                listen: listen.to_string(),
            })?;
    if !addr.ip().is_loopback() {
        return Err(ListenError::NotLoopback {
            listen: listen.to_string(),
        });
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exported names, types and help texts are what dashboards and alerts use: they
    /// stay exactly as they were when /metrics was written by hand.
    #[test]
    fn only_a_loopback_address_with_a_port_is_served() {
        assert_eq!(
            listen_address("127.0.0.1:9925").unwrap().to_string(),
            "127.0.0.1:9925"
        );
        assert!(listen_address("[::1]:9925").is_ok());
        assert!(matches!(
            listen_address("0.0.0.0:9925"),
            Err(ListenError::NotLoopback { .. })
        ));
        for bad in ["localhost:9925", "127.0.0.1", "9925", ""] {
            assert!(
                matches!(listen_address(bad), Err(ListenError::NotAnAddress { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn metrics_keep_their_names_types_and_help() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path()).unwrap();
        let h = Health::default();
        h.fetched();
        h.filed();
        h.delivered(2, 1);
        h.error();
        h.set_connected(true);
        let text = h.metrics(&reg);
        let fetch = h.last_fetch.get();
        let send = h.last_send.get();
        assert!(fetch > 0 && send > 0);
        let expected = format!(
            "# HELP lndx_messages_fetched_total Messages handed over by the mailbox.
# TYPE lndx_messages_fetched_total counter
lndx_messages_fetched_total 1
# HELP lndx_messages_filed_total Messages filed.
# TYPE lndx_messages_filed_total counter
lndx_messages_filed_total 1
# HELP lndx_mail_sent_total Mails delivered by the outbox.
# TYPE lndx_mail_sent_total counter
lndx_mail_sent_total 2
# HELP lndx_mail_failures_total Deliveries that failed for good.
# TYPE lndx_mail_failures_total counter
lndx_mail_failures_total 1
# HELP lndx_errors_total Errors while filing or sending.
# TYPE lndx_errors_total counter
lndx_errors_total 1
# HELP lndx_outbox_depth Mails waiting to be sent.
# TYPE lndx_outbox_depth gauge
lndx_outbox_depth 0
# HELP lndx_quarantined Messages that could not be processed.
# TYPE lndx_quarantined gauge
lndx_quarantined 0
# HELP lndx_last_fetch_timestamp_seconds Last successful fetch or poll.
# TYPE lndx_last_fetch_timestamp_seconds gauge
lndx_last_fetch_timestamp_seconds {fetch}
# HELP lndx_last_send_timestamp_seconds Last successful delivery.
# TYPE lndx_last_send_timestamp_seconds gauge
lndx_last_send_timestamp_seconds {send}
# HELP lndx_mailbox_connected 1 while the mailbox session is up.
# TYPE lndx_mailbox_connected gauge
lndx_mailbox_connected 1
# HELP lndx_mail_held Mails held by the loop guard until staff release them.
# TYPE lndx_mail_held gauge
lndx_mail_held 0
# HELP lndx_undelivered Mails that failed for good or whose delivery is unknown.
# TYPE lndx_undelivered gauge
lndx_undelivered 0
# HELP lndx_mailbox_disconnected_seconds Seconds the mailbox session has been down (0 while it is up).
# TYPE lndx_mailbox_disconnected_seconds gauge
lndx_mailbox_disconnected_seconds 0
# HELP lndx_recent_errors Errors within the health errors window.
# TYPE lndx_recent_errors gauge
lndx_recent_errors 1
# HELP lndx_last_report_timestamp_seconds Last time a report was queued.
# TYPE lndx_last_report_timestamp_seconds gauge
lndx_last_report_timestamp_seconds 0
# HELP lndx_degraded 1 while /healthz reports degraded.
# TYPE lndx_degraded gauge
lndx_degraded 0
"
        );
        assert_eq!(text, expected);
        let json = h.snapshot(&reg);
        assert_eq!(json["fetched"], 1);
        assert_eq!(json["sent"], 2);
        assert_eq!(json["mailbox_connected"], true);
        assert_eq!(json["status"], "ok");
        assert_eq!(json["reasons"], serde_json::json!([]));
    }

    fn codes(h: &Health, stored: &Stored, at: i64) -> Vec<&'static str> {
        h.reasons(stored, at).into_iter().map(|r| r.code).collect()
    }

    /// Each condition an operator must act on turns /healthz degraded with its reason,
    /// at the configured threshold and not before.
    #[test]
    fn degraded_names_each_reason_at_its_threshold() {
        let t = Thresholds {
            disconnected_secs: 60,
            fetch_stale_secs: 300,
            errors: 3,
            errors_window_secs: 100,
        };
        let h = Health::new(t);
        let ok = Stored::default();
        let start = now();
        // Down since start: fine for 60 s, then degraded.
        assert!(codes(&h, &ok, start + 60).is_empty());
        assert_eq!(codes(&h, &ok, start + 61), ["mailbox_disconnected"]);
        h.set_connected(true);
        h.polled();
        assert!(codes(&h, &ok, start + 61).is_empty());
        // A reconnect resets the clock.
        h.set_connected(false);
        assert!(codes(&h, &ok, now() + 30).is_empty());
        h.set_connected(true);
        // A stale fetch.
        assert!(codes(&h, &ok, now() + 300).is_empty());
        assert_eq!(codes(&h, &ok, now() + 302), ["fetch_stale"]);
        // Errors climbing: three within the window; they age out of it.
        h.error();
        h.error();
        assert!(codes(&h, &ok, now()).is_empty());
        h.error();
        assert_eq!(codes(&h, &ok, now()), ["errors_climbing"]);
        assert!(codes(&h, &ok, now() + 101).is_empty());
        // Undelivered and held mail, as the registry counts them.
        let stored = Stored {
            undelivered: 2,
            held: 1,
            ..Stored::default()
        };
        let reasons = h.reasons(&stored, now());
        let got: Vec<_> = reasons.iter().map(|r| r.code).collect();
        assert_eq!(got, ["undelivered", "held"]);
        assert!(
            reasons[1].detail.starts_with("1 封邮件被防循环机制暂扣"),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_taken_port_is_refused_by_the_check_run_and_doctor_share() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let e = check_listen(&addr).unwrap_err();
        assert!(matches!(e, ListenError::InUse { .. }), "{e}");
        assert!(
            e.to_string().contains("another program uses the port"),
            "{e}"
        );
        drop(taken);
        assert_eq!(check_listen(&addr).unwrap().to_string(), addr);
        assert!(matches!(
            check_listen("0.0.0.0:9925"),
            Err(ListenError::NotLoopback { .. })
        ));
    }
}
