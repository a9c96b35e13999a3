//! Health: counters and timestamps the daemon's parts update, and what `/healthz` (JSON)
//! and Prometheus `/metrics` say; [`crate::web`] serves them beside the console.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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
    metrics: prometheus_client::registry::Registry,
}

impl Default for Health {
    fn default() -> Self {
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
        self.mailbox_connected.set(up as i64);
    }

    pub fn snapshot(&self, reg: &Registry) -> serde_json::Value {
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
        serde_json::json!({
            "status": if failed_reports.is_empty() { "ok" } else { "degraded" },
            "mailbox_connected": self.mailbox_connected.get() == 1,
            "last_fetch": ts(self.last_fetch.get()),
            "last_send": ts(self.last_send.get()),
            "last_report": ts(self.last_report.load(Ordering::Relaxed)),
            "fetched": self.fetched.get(),
            "filed": self.filed.get(),
            "sent": self.sent.get(),
            "send_failures": self.send_failures.get(),
            "errors": self.errors.get(),
            "outbox_depth": reg.outbox_depth().unwrap_or(-1),
            "undelivered": reg.undelivered().unwrap_or(-1),
            "quarantined": reg.count_quarantined().unwrap_or(-1),
            "undelivered_reports": failed_reports,
        })
    }

    /// The Prometheus text exposition (format 0.0.4), with the registry's gauges read now.
    pub fn metrics(&self, reg: &Registry) -> String {
        self.outbox_depth.set(reg.outbox_depth().unwrap_or(-1));
        self.quarantined.set(reg.count_quarantined().unwrap_or(-1));
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
"
        );
        assert_eq!(text, expected);
        let json = h.snapshot(&reg);
        assert_eq!(json["fetched"], 1);
        assert_eq!(json["sent"], 2);
        assert_eq!(json["mailbox_connected"], true);
        assert_eq!(json["status"], "ok");
    }
}
