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
    /// Queued as `held` with this reason (the loop guard's): kept, not sent until released.
    pub held: Option<String>,
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

/// A queued mail as `lndx outbox list` shows it (no body).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxListed {
    pub id: i64,
    pub message: Option<i64>,
    pub purpose: Purpose,
    pub message_id: String,
    pub recipients: Vec<String>,
    pub state: OutboxState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// The sender and subject of the message answered, when it is a reply.
    pub answered_from: Option<String>,
    pub answered_subject: Option<String>,
}

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
    /// Held back by the loop guard (over the per-recipient ceiling): kept as `held`,
    /// sent once staff release it.
    Held {
        reason: String,
    },
}

impl Delivery {
    /// The mail's state after this outcome.
    pub fn state(&self) -> OutboxState {
        match self {
            Delivery::Sent => OutboxState::Sent,
            Delivery::Deferred { .. } => OutboxState::Pending,
            Delivery::Failed { .. } => OutboxState::Failed,
            Delivery::Unknown { .. } => OutboxState::Unknown,
            Delivery::Held { .. } => OutboxState::Held,
        }
    }

    /// The outcome as the delivery log spells it.
    pub fn logged(&self) -> &'static str {
        match self {
            Delivery::Sent => "sent",
            Delivery::Deferred { .. } => "deferred",
            Delivery::Failed { .. } => "failed",
            Delivery::Unknown { .. } => "unknown",
            Delivery::Held { .. } => "held",
        }
    }
}

fn queue(tx: &rusqlite::Connection, m: &QueuedMail) -> Result<i64> {
    let purpose = m.purpose;
    let recipients = serde_json::to_string(&m.recipients).expect("strings serialise");
    let state = if m.held.is_some() {
        OutboxState::Held
    } else {
        OutboxState::Pending
    };
    tx.execute(
        "INSERT INTO outbox (message, purpose, message_id, envelope_from, recipients, body,
            next_attempt_at, created_at, state, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
        params![
            m.message,
            purpose,
            m.message_id,
            m.envelope_from,
            recipients,
            m.body,
            now(),
            state,
            m.held
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// What the loop guard counts for one sender within its window (see `intake::guard`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopEvidence {
    /// Earlier messages with the same fingerprint that were answered.
    pub same_content: i64,
    /// Earlier messages that answered one of our mails without a file, and were answered.
    pub bare_answers: i64,
}

/// The columns [`outbox_row`] reads, in its order.
pub(super) const OUTBOX_ROW_COLUMNS: &str = "id, message, purpose, message_id, envelope_from,
    recipients, body, state, attempts, last_error, released_at IS NOT NULL";

/// A queued mail as the outbox delivers it (columns [`OUTBOX_ROW_COLUMNS`]).
pub(super) fn outbox_row(r: &rusqlite::Row) -> rusqlite::Result<OutboxRow> {
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
}

/// Flips one `held` mail to `pending`, due now, and logs the release for each recipient.
/// False when the mail is not held (already released, sent, or no such mail): a release
/// never sends anything twice. The desk's `ReleaseMail` calls it inside its own
/// transaction (through [`Tx::release_held_mail`]) so that the audit row and the release
/// commit together.
fn release(conn: &rusqlite::Connection, outbox: i64) -> Result<bool> {
    let at = now();
    let n = conn.execute(
        "UPDATE outbox SET state = ?2, next_attempt_at = ?3, last_error = NULL
         WHERE id = ?1 AND state = ?4",
        params![outbox, OutboxState::Pending, at, OutboxState::Held],
    )?;
    if n == 1 {
        conn.execute(
            "INSERT INTO deliveries (outbox, recipient, outcome, detail, at)
             SELECT ?1, j.value, 'released', 'released by staff', ?2
             FROM outbox o, json_each(o.recipients) j WHERE o.id = ?1",
            params![outbox, at],
        )?;
    }
    Ok(n == 1)
}

impl Tx<'_> {
    pub fn enqueue(&self, m: &QueuedMail) -> Result<i64> {
        queue(&self.tx, m)
    }

    /// See [`Registry::release_held_mail`]; inside the caller's transaction.
    pub fn release_held_mail(&self, outbox: i64) -> Result<bool> {
        release(&self.tx, outbox)
    }

    /// Whether any of these Message-IDs is one of the mails we queued.
    pub fn answers_ours(&self, ids: &[String]) -> Result<bool> {
        for id in ids {
            let found: Option<i64> = self
                .tx
                .query_row("SELECT id FROM outbox WHERE message_id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The loop guard's evidence about `sender` since `since` (RFC 3339), not counting
    /// message `this`: answered messages with the same fingerprint, and answered bare
    /// answers to our mail.
    pub fn loop_evidence(
        &self,
        this: i64,
        sender: &str,
        fingerprint: &str,
        since: &str,
    ) -> Result<LoopEvidence> {
        Ok(self.tx.query_row(
            "SELECT coalesce(sum(m.fingerprint = ?3), 0), coalesce(sum(m.bare_answer), 0)
             FROM messages m
             WHERE m.sender = ?2 COLLATE NOCASE AND m.created_at >= ?4 AND m.id <> ?1
               AND EXISTS (SELECT 1 FROM outbox o WHERE o.message = m.id AND o.purpose = ?5)",
            params![this, sender, fingerprint, since, Purpose::Reply],
            |r| {
                Ok(LoopEvidence {
                    same_content: r.get(0)?,
                    bare_answers: r.get(1)?,
                })
            },
        )?)
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
        let mut st = self.conn.prepare(&format!(
            "SELECT {OUTBOX_ROW_COLUMNS} FROM outbox
                 WHERE state = ?3 AND next_attempt_at <= ?1
                   AND (claimed_until IS NULL OR claimed_until < ?1)
                 ORDER BY id LIMIT ?2"
        ))?;
        let rows = st
            .query_map(
                params![now(), limit as i64, OutboxState::Pending],
                outbox_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Claims a due mail for one delivery attempt by this connection for `lease`, so that
    /// another process delivering the same outbox (`lndx run` and `report send-now` at
    /// once) does not attempt it too. False when it is no longer pending and due, or another
    /// process holds the claim: the caller must not send it. Recording the attempt ends the
    /// claim; a claim left by a crash is cleared when `lndx run` starts
    /// ([`Self::recover_in_flight`]): nothing was handed over yet (from the handover on the
    /// mail is `sending`, see [`Self::mark_sending`]).
    pub fn claim_due(&self, id: i64, lease: std::time::Duration) -> Result<bool> {
        let now = chrono::Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        let stamp = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        let n = self.conn.execute(
            "UPDATE outbox SET claimed_until = ?2
             WHERE id = ?1 AND state = ?3 AND next_attempt_at <= ?4
               AND (claimed_until IS NULL OR claimed_until < ?4)",
            params![id, stamp(until), OutboxState::Pending, stamp(now)],
        )?;
        Ok(n == 1)
    }

    /// The state of one queued mail (None: no such mail).
    pub fn outbox_state(&self, id: i64) -> Result<Option<(OutboxState, Option<String>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT state, last_error FROM outbox WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// When the last report was queued and when the last one was sent (RFC 3339): what
    /// /healthz shows, whichever process queued it (the scheduler or `report send-now`).
    pub fn last_report(&self) -> Result<(Option<String>, Option<String>)> {
        Ok(self.conn.query_row(
            "SELECT max(created_at), max(sent_at) FROM outbox WHERE purpose = ?1",
            [Purpose::Report],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
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
            "UPDATE outbox SET state = ?2, last_error = ?1, claimed_until = NULL WHERE state = ?3",
            params![error, lost.state(), OutboxState::Sending],
        )?;
        // Claims of attempts a crash cut off before the handover: attempted again.
        tx.execute(
            "UPDATE outbox SET claimed_until = NULL WHERE claimed_until IS NOT NULL",
            [],
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
            Delivery::Held { reason } => (Some(reason.as_str()), None),
        };
        let state = outcome.state();
        let sent_at = (state == OutboxState::Sent).then_some(at.as_str());
        tx.execute(
            "UPDATE outbox SET state = ?2, attempts = attempts + 1, last_error = ?3,
                next_attempt_at = coalesce(?4, next_attempt_at),
                sent_at = coalesce(?5, sent_at), claimed_until = NULL
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

    /// Releases mail the loop guard held: `held` → `pending`, due now (see [`release`]).
    /// True when it was held; false otherwise (nothing changes).
    pub fn release_held_mail(&self, outbox: i64) -> Result<bool> {
        let tx = self.conn.unchecked_transaction()?;
        let done = release(&tx, outbox)?;
        tx.commit()?;
        Ok(done)
    }

    /// Queued mail in any of `states`, oldest first (for `lndx outbox list`).
    pub fn outbox_list(&self, states: &[OutboxState]) -> Result<Vec<OutboxListed>> {
        let spelled: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let states = serde_json::to_string(&spelled).expect("strings serialise");
        let mut st = self.conn.prepare(
            "SELECT o.id, o.message, o.purpose, o.message_id, o.recipients, o.state, o.attempts,
                    o.last_error, o.created_at, o.sent_at, m.sender, m.subject
             FROM outbox o LEFT JOIN messages m ON m.id = o.message
             WHERE o.state IN (SELECT value FROM json_each(?1))
             ORDER BY o.id",
        )?;
        let rows = st
            .query_map([states], |r| {
                let rcpts: String = r.get(4)?;
                Ok(OutboxListed {
                    id: r.get(0)?,
                    message: r.get(1)?,
                    purpose: r.get(2)?,
                    message_id: r.get(3)?,
                    recipients: serde_json::from_str(&rcpts).unwrap_or_default(),
                    state: r.get(5)?,
                    attempts: r.get(6)?,
                    last_error: r.get(7)?,
                    created_at: r.get(8)?,
                    sent_at: r.get(9)?,
                    answered_from: r.get(10)?,
                    answered_subject: r.get(11)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Mail held back by the loop guard, waiting for staff.
    pub fn held_mail(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE state = ?1",
            [OutboxState::Held],
            |r| r.get(0),
        )?)
    }

    /// Mail that failed for good or whose fate is unknown and that staff have not settled
    /// at the desk (a resolution `outbox:ID:STATE`, see `src/desk/attention.rs`).
    pub fn undelivered(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox o WHERE o.state IN (?1, ?2)
               AND NOT EXISTS (SELECT 1 FROM resolutions z
                               WHERE z.key = 'outbox:' || o.id || ':' || o.state)",
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
