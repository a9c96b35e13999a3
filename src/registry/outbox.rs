//! The outbox queue: mail is queued in the transaction that decided to send it, under a
//! Message-ID fixed at queue time, and its fate recorded per recipient.

use rusqlite::{params, OptionalExtension};

use super::{now, Registry, Result, Tx};
use crate::queued::{OutboxState, Purpose};

/// Mail to queue.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub message: Option<i64>,
    /// What the mail is (a reply, a report).
    pub purpose: Purpose,
    pub message_id: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub body: Vec<u8>,
}

/// A queued mail as stored.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub message: Option<i64>,
    pub purpose: Purpose,
    pub message_id: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub body: Vec<u8>,
    pub state: OutboxState,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Staff released it after the loop guard held it: the daily cap does not apply.
    pub released: bool,
}

/// (id, purpose, state, last error) of a queued mail.
pub type OutboxSummary = (i64, String, String, Option<String>);

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Temporary failure: try again at the given time (RFC 3339).
    Deferred {
        error: String,
        retry_at: String,
    },
    /// Permanent failure: never retried.
    Failed {
        error: String,
    },
    /// The connection was lost after the data was handed over: the server may have the
    /// mail. Not resent automatically.
    Unknown {
        error: String,
    },
    /// Over the per-recipient daily cap: not sent (loop guard).
    Capped,
}

impl Delivery {
    /// The mail's state after this outcome.
    pub fn state(&self) -> OutboxState {
        match self {
            Delivery::Sent => OutboxState::Sent,
            Delivery::Deferred { .. } => OutboxState::Pending,
            Delivery::Failed { .. } => OutboxState::Failed,
            Delivery::Unknown { .. } => OutboxState::Unknown,
            Delivery::Capped => OutboxState::Capped,
        }
    }

    /// The outcome as the delivery log spells it.
    pub fn logged(&self) -> &'static str {
        match self {
            Delivery::Sent => "sent",
            Delivery::Deferred { .. } => "deferred",
            Delivery::Failed { .. } => "failed",
            Delivery::Unknown { .. } => "unknown",
            Delivery::Capped => "capped",
        }
    }
}

fn queue(tx: &rusqlite::Connection, m: &QueuedMail) -> Result<i64> {
    let purpose = m.purpose;
    let recipients = serde_json::to_string(&m.recipients).expect("strings serialise");
    tx.execute(
        "INSERT INTO outbox (message, purpose, message_id, envelope_from, recipients, body,
            next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            m.message,
            purpose,
            m.message_id,
            m.envelope_from,
            recipients,
            m.body,
            now()
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

impl Tx<'_> {
    pub fn enqueue(&self, m: &QueuedMail) -> Result<i64> {
        queue(&self.tx, m)
    }

    /// Records a report slot as taken; false when it already was (never queued twice).
    pub fn claim_report_slot(&self, slot: &str) -> Result<bool> {
        let n = self.tx.execute(
            "INSERT OR IGNORE INTO report_slots (slot, created_at) VALUES (?1, ?2)",
            params![slot, now()],
        )?;
        Ok(n == 1)
    }

    pub fn set_report_outbox(&self, slot: &str, outbox: i64) -> Result<()> {
        self.tx.execute(
            "UPDATE report_slots SET outbox = ?2 WHERE slot = ?1",
            params![slot, outbox],
        )?;
        Ok(())
    }
}

impl Registry {
    /// Queues mail outside a filing (reports, send-now).
    pub fn enqueue(&self, m: &QueuedMail) -> Result<i64> {
        queue(&self.conn, m)
    }

    /// Pending mail whose next attempt is due.
    pub fn due_mail(&self, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, message, purpose, message_id, envelope_from, recipients, body, state,
                    attempts, last_error, released_at IS NOT NULL
             FROM outbox WHERE state = ?3 AND next_attempt_at <= ?1
             ORDER BY id LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![now(), limit as i64, OutboxState::Pending], |r| {
                let rcpts: String = r.get(5)?;
                Ok(OutboxRow {
                    id: r.get(0)?,
                    message: r.get(1)?,
                    purpose: r.get(2)?,
                    message_id: r.get(3)?,
                    envelope_from: r.get(4)?,
                    recipients: serde_json::from_str(&rcpts).unwrap_or_default(),
                    body: r.get(6)?,
                    state: r.get(7)?,
                    attempts: r.get(8)?,
                    last_error: r.get(9)?,
                    released: r.get(10)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Marks a mail as being handed to the server: from here a crash must not lead to a
    /// blind resend (see [`Registry::recover_in_flight`]).
    pub fn mark_sending(&self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = ?2 WHERE id = ?1 AND state = ?3",
            params![id, OutboxState::Sending, OutboxState::Pending],
        )?;
        Ok(())
    }

    /// After a crash: mail that was being handed to the server when lndx stopped may have
    /// been accepted. It becomes `unknown` (shown in /healthz and the delivery log), never
    /// resent blindly. Returns how many.
    pub fn recover_in_flight(&self) -> Result<usize> {
        let tx = self.conn.unchecked_transaction()?;
        let at = now();
        let error = "lndx stopped while handing this mail to the server; it may have been delivered, so it is not resent";
        let lost = Delivery::Unknown {
            error: error.to_string(),
        };
        tx.execute(
            "INSERT INTO deliveries (outbox, recipient, outcome, detail, at)
             SELECT o.id, j.value, ?3, ?1, ?2 FROM outbox o, json_each(o.recipients) j
             WHERE o.state = ?4",
            params![error, at, lost.logged(), OutboxState::Sending],
        )?;
        let n = tx.execute(
            "UPDATE outbox SET state = ?2, last_error = ?1 WHERE state = ?3",
            params![error, lost.state(), OutboxState::Sending],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// The earliest next attempt of pending mail, if any.
    pub fn next_due(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT min(next_attempt_at) FROM outbox WHERE state = ?1",
                [OutboxState::Pending],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Records the outcome of an attempt for every recipient of the mail.
    pub fn record_delivery(&self, row: &OutboxRow, outcome: &Delivery) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        let at = now();
        let (detail, next): (Option<&str>, Option<&str>) = match outcome {
            Delivery::Sent => (None, None),
            Delivery::Deferred { error, retry_at } => (Some(error), Some(retry_at)),
            Delivery::Failed { error } | Delivery::Unknown { error } => (Some(error), None),
            Delivery::Capped => (Some("daily cap per recipient reached"), None),
        };
        let state = outcome.state();
        let sent_at = (state == OutboxState::Sent).then_some(at.as_str());
        tx.execute(
            "UPDATE outbox SET state = ?2, attempts = attempts + 1, last_error = ?3,
                next_attempt_at = coalesce(?4, next_attempt_at),
                sent_at = coalesce(?5, sent_at)
             WHERE id = ?1",
            params![row.id, state, detail, next, sent_at],
        )?;
        for r in &row.recipients {
            tx.execute(
                "INSERT INTO deliveries (outbox, recipient, outcome, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row.id, r, outcome.logged(), detail, at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many mails were sent (or handed over) to a recipient since a time (RFC 3339).
    pub fn sent_to_since(&self, recipient: &str, since: &str) -> Result<i64> {
        // Outcomes as `Delivery::logged` spells them.
        Ok(self.conn.query_row(
            "SELECT count(*) FROM deliveries WHERE recipient = ?1 AND outcome IN ('sent', 'unknown') AND at >= ?2",
            params![recipient, since],
            |r| r.get(0),
        )?)
    }

    /// Mail that failed for good or whose fate is unknown (staff should look).
    pub fn undelivered(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE state IN (?1, ?2)",
            [OutboxState::Failed, OutboxState::Unknown],
            |r| r.get(0),
        )?)
    }

    /// Mail waiting for an attempt.
    pub fn outbox_depth(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE state = ?1",
            [OutboxState::Pending],
            |r| r.get(0),
        )?)
    }

    /// Outbox rows of a given purpose and state (for health and tests).
    pub fn outbox_rows(&self, purpose: Option<&str>) -> Result<Vec<OutboxSummary>> {
        let mut st = self.conn.prepare(
            "SELECT id, purpose, state, last_error FROM outbox
             WHERE ?1 IS NULL OR purpose = ?1 ORDER BY id",
        )?;
        let rows = st
            .query_map([purpose], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
