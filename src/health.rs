//! Health: counters and timestamps the daemon's parts update, served as `/healthz` (JSON)
//! and Prometheus `/metrics` on a loopback address.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::daemon::Shutdown;
use crate::registry::Registry;

#[derive(Debug, Default)]
pub struct Health {
    fetched: AtomicU64,
    filed: AtomicU64,
    sent: AtomicU64,
    send_failures: AtomicU64,
    errors: AtomicU64,
    outbox_depth: AtomicI64,
    last_fetch: AtomicI64,
    last_send: AtomicI64,
    last_report: AtomicI64,
    report_failures: AtomicU64,
    mailbox_connected: AtomicI64,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Health {
    pub fn fetched(&self) {
        self.fetched.fetch_add(1, Ordering::Relaxed);
        self.last_fetch.store(now(), Ordering::Relaxed);
    }
    /// A successful poll or IDLE wake-up with nothing new.
    pub fn polled(&self) {
        self.last_fetch.store(now(), Ordering::Relaxed);
    }
    pub fn filed(&self) {
        self.filed.fetch_add(1, Ordering::Relaxed);
    }
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
    pub fn delivered(&self, sent: usize, failed: usize) {
        if sent > 0 {
            self.sent.fetch_add(sent as u64, Ordering::Relaxed);
            self.last_send.store(now(), Ordering::Relaxed);
        }
        self.send_failures
            .fetch_add(failed as u64, Ordering::Relaxed);
    }
    pub fn set_outbox_depth(&self, d: i64) {
        self.outbox_depth.store(d, Ordering::Relaxed);
    }
    pub fn report_queued(&self) {
        self.last_report.store(now(), Ordering::Relaxed);
    }
    pub fn report_failed(&self) {
        self.report_failures.fetch_add(1, Ordering::Relaxed);
    }
    pub fn set_connected(&self, up: bool) {
        self.mailbox_connected.store(up as i64, Ordering::Relaxed);
    }

    fn snapshot(&self, reg: &Registry) -> serde_json::Value {
        let ts = |a: &AtomicI64| {
            let v = a.load(Ordering::Relaxed);
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
            "mailbox_connected": self.mailbox_connected.load(Ordering::Relaxed) == 1,
            "last_fetch": ts(&self.last_fetch),
            "last_send": ts(&self.last_send),
            "last_report": ts(&self.last_report),
            "fetched": self.fetched.load(Ordering::Relaxed),
            "filed": self.filed.load(Ordering::Relaxed),
            "sent": self.sent.load(Ordering::Relaxed),
            "send_failures": self.send_failures.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
            "outbox_depth": reg.outbox_depth().unwrap_or(-1),
            "undelivered": reg.undelivered().unwrap_or(-1),
            "quarantined": reg.count_quarantined().unwrap_or(-1),
            "undelivered_reports": failed_reports,
        })
    }

    fn metrics(&self, reg: &Registry) -> String {
        let mut out = String::new();
        let mut m = |name: &str, help: &str, kind: &str, v: i64| {
            out.push_str(&format!(
                "# HELP lndx_{name} {help}\n# TYPE lndx_{name} {kind}\nlndx_{name} {v}\n"
            ));
        };
        m(
            "messages_fetched_total",
            "Messages handed over by the mailbox.",
            "counter",
            self.fetched.load(Ordering::Relaxed) as i64,
        );
        m(
            "messages_filed_total",
            "Messages filed.",
            "counter",
            self.filed.load(Ordering::Relaxed) as i64,
        );
        m(
            "mail_sent_total",
            "Mails delivered by the outbox.",
            "counter",
            self.sent.load(Ordering::Relaxed) as i64,
        );
        m(
            "mail_failures_total",
            "Deliveries that failed for good.",
            "counter",
            self.send_failures.load(Ordering::Relaxed) as i64,
        );
        m(
            "errors_total",
            "Errors while filing or sending.",
            "counter",
            self.errors.load(Ordering::Relaxed) as i64,
        );
        m(
            "outbox_depth",
            "Mails waiting to be sent.",
            "gauge",
            reg.outbox_depth().unwrap_or(-1),
        );
        m(
            "quarantined",
            "Messages that could not be processed.",
            "gauge",
            reg.count_quarantined().unwrap_or(-1),
        );
        m(
            "last_fetch_timestamp_seconds",
            "Last successful fetch or poll.",
            "gauge",
            self.last_fetch.load(Ordering::Relaxed),
        );
        m(
            "last_send_timestamp_seconds",
            "Last successful delivery.",
            "gauge",
            self.last_send.load(Ordering::Relaxed),
        );
        m(
            "mailbox_connected",
            "1 while the mailbox session is up.",
            "gauge",
            self.mailbox_connected.load(Ordering::Relaxed),
        );
        out
    }
}

/// Serves /healthz and /metrics until shutdown. Only loopback addresses are accepted.
pub fn serve(listen: String, health: Arc<Health>, reg: Registry, shutdown: Shutdown) {
    let is_loopback = listen
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or(false);
    if !is_loopback {
        tracing::error!(%listen, "http.listen must be a loopback address such as 127.0.0.1:9925; not serving");
        return;
    }
    let server = match tiny_http::Server::http(&listen) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(%listen, error = %e, "cannot listen");
            return;
        }
    };
    tracing::info!(%listen, "serving /healthz and /metrics");
    while !shutdown.is_set() {
        let Ok(Some(req)) = server.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let (code, ctype, body) = match req.url() {
            "/healthz" => (200, "application/json", health.snapshot(&reg).to_string()),
            "/metrics" => (200, "text/plain; version=0.0.4", health.metrics(&reg)),
            _ => (404, "text/plain", "not found\n".to_string()),
        };
        let header = tiny_http::Header::from_bytes("Content-Type", ctype).expect("static header");
        let _ = req.respond(
            tiny_http::Response::from_string(body)
                .with_status_code(code)
                .with_header(header),
        );
    }
}
