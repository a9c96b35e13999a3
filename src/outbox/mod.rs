//! Outbox: delivers the mail queued in the registry — replies, staff copies, reports —
//! to a folder of .eml files or through SMTP, with retries and an optional per-recipient
//! daily ceiling past which mail is held (kept as `held` for staff to release, never dropped).
//!
//! Owns transports and retry policy: 4xx and connection failures are retried with
//! backoff; 5xx is recorded and not retried; a connection lost after the data was handed
//! over is marked `unknown` and never resent blindly. Each attempt is logged per recipient.

pub mod folder;
pub mod smtp;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;

use crate::backoff::{jitter, Exponential};
use crate::queued::Purpose;
use crate::registry::{Delivery, OutboxRow, Registry, RegistryError};

/// Where mail goes.
pub enum Transport {
    Folder(PathBuf),
    Smtp(Box<smtp::SmtpSender>),
}

/// How long a claimed mail stays out of other processes' passes: longer than an attempt
/// can take (connect, STARTTLS, login and data, each under the SMTP timeouts).
const CLAIM: Duration = Duration::from_secs(600);

/// What one delivery pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub deferred: usize,
    pub failed: usize,
    /// Held by the per-recipient ceiling.
    pub held: usize,
}

/// The delay before the next attempt after `attempts` attempts (≥ 1) failed: 10 s, 20 s,
/// 40 s … capped at 30 min, with ±20 % jitter.
pub fn backoff(attempts: i64) -> Duration {
    const DELAYS: Exponential = Exponential {
        first: Duration::from_secs(5),
        max: Duration::from_secs(30 * 60),
    };
    // From 2¹⁰ · 5 s on the cap holds anyway; the clamp keeps the count in range.
    let n = attempts.clamp(0, 10) as u32;
    jitter(DELAYS.delay(n), 0.2)
}

/// Delivers every due mail once. `cap` is the optional per-recipient daily ceiling (0 =
/// none, the default): past it a reply is held, not sent and not dropped. It applies to the
/// first recipient (the person answered), not to staff copies nor reports. Loops are
/// recognised earlier, by the intake's loop guard; the ceiling is a last resort.
pub async fn deliver_due(
    reg: &Registry,
    transport: &Transport,
    cap: u32,
) -> Result<Pass, RegistryError> {
    deliver_until(reg, transport, cap, &|| false).await
}

/// As [`deliver_due`], stopping between mails when `stop` says so (shutdown): what is left
/// stays queued.
pub async fn deliver_until(
    reg: &Registry,
    transport: &Transport,
    cap: u32,
    stop: &dyn Fn() -> bool,
) -> Result<Pass, RegistryError> {
    let result = deliver_loop(reg, transport, cap, stop).await;
    if let Transport::Smtp(s) = transport {
        s.close().await;
    }
    result
}

async fn deliver_loop(
    reg: &Registry,
    transport: &Transport,
    cap: u32,
    stop: &dyn Fn() -> bool,
) -> Result<Pass, RegistryError> {
    let mut pass = Pass::default();
    loop {
        let due = reg.due_mail(50)?;
        if due.is_empty() {
            return Ok(pass);
        }
        for row in &due {
            if stop() {
                return Ok(pass);
            }
            if !reg.claim_due(row.id, CLAIM)? {
                // Another process (lndx run, a command) is delivering it.
                continue;
            }
            let outcome = attempt(reg, transport, row, cap).await?;
            pass.count(row, &outcome);
            reg.record_delivery(row, &outcome)?;
        }
        if pass.deferred > 0 {
            // Deferred mail is not due again in this pass.
            return Ok(pass);
        }
    }
}

/// One delivery attempt of one due mail, unless the recipient's daily ceiling is reached.
async fn attempt(
    reg: &Registry,
    transport: &Transport,
    row: &OutboxRow,
    cap: u32,
) -> Result<Delivery, RegistryError> {
    if over_cap(reg, row, cap)? {
        return Ok(Delivery::Held {
            reason: format!("per-recipient ceiling of {cap} mails a day reached"),
        });
    }
    Ok(match transport {
        Transport::Folder(dir) => folder::deliver(dir, row),
        Transport::Smtp(s) => {
            let mark = || {
                if let Err(e) = reg.mark_sending(row.id) {
                    tracing::error!(outbox = row.id, error = %e, "cannot record a send in progress");
                }
            };
            s.deliver(row, &mark).await
        }
    })
}

impl Pass {
    /// Counts and logs one attempt's outcome.
    fn count(&mut self, row: &OutboxRow, outcome: &Delivery) {
        match outcome {
            Delivery::Sent => self.sent += 1,
            Delivery::Deferred { error, .. } => {
                tracing::warn!(outbox = row.id, %error, "delivery deferred");
                self.deferred += 1
            }
            Delivery::Failed { error } | Delivery::Unknown { error } => {
                tracing::error!(outbox = row.id, %error, "delivery failed");
                self.failed += 1
            }
            Delivery::Held { reason } => {
                tracing::warn!(
                    outbox = row.id,
                    recipient = %row.recipients.first().map(String::as_str).unwrap_or("-"),
                    %reason,
                    "mail held; staff can release it"
                );
                self.held += 1
            }
        }
    }
}

fn over_cap(reg: &Registry, row: &OutboxRow, cap: u32) -> Result<bool, RegistryError> {
    // A report is never capped; nor is mail staff released after the cap held it.
    if cap == 0 || row.purpose == Purpose::Report || row.released {
        return Ok(false);
    }
    let Some(first) = row.recipients.first() else {
        return Ok(false);
    };
    let since = (Utc::now() - chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(reg.sent_to_since(first, &since)? >= cap as i64)
}

/// A deferred outcome with the next attempt computed from the attempts so far.
pub fn deferred(row: &OutboxRow, error: String) -> Delivery {
    let at = Utc::now() + chrono::Duration::from_std(backoff(row.attempts + 1)).unwrap_or_default();
    Delivery::Deferred {
        error,
        retry_at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}
