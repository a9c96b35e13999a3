//! What the staff desk reads and writes: the append-only audit log, resolutions of the
//! 待人工处理 queue, notes, late-entry decisions, withdrawn entries, decisions on held
//! messages, and the outbox changes staff make (a resend, a release of held mail).
//!
//! Every write here runs inside a [`Tx`] the desk opens with `BEGIN IMMEDIATE`, together
//! with the action's audit row and any mail it queues, so a crash leaves either the old
//! state or the new one (migration 0004 has the tables; triggers refuse UPDATE and DELETE
//! on `audit_log`).

use rusqlite::{params, OptionalExtension, Row};

use super::{now, EntryRow, MessageState, OutboxRow, Registry, Result, Tx};
use crate::queued::OutboxState;

/// One row of the audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    /// JSON text.
    pub before: String,
    /// JSON text.
    pub after: String,
    pub note: Option<String>,
}

/// An audit row to write.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub object: &'a str,
    pub before: String,
    pub after: String,
    pub note: Option<&'a str>,
}

/// A resolution of a queue item, as stored.
#[derive(Debug, Clone)]
pub struct ResolutionRow {
    pub key: String,
    pub kind: String,
    /// JSON of the item when it was resolved.
    pub item: String,
    pub by: String,
    pub at: String,
    pub how: String,
    pub audit: i64,
}

/// A stored message as the desk shows it.
#[derive(Debug, Clone)]
pub struct DeskMessage {
    pub id: i64,
    /// Arrival, else when it was stored.
    pub came_in: String,
    pub state: MessageState,
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub province: Option<String>,
    pub batch: Option<u8>,
    pub skipped: Option<String>,
    /// The codes of the message-level errors of its latest filing.
    pub codes: Vec<String>,
}

/// A file of a message's latest filing that was answered with a code asking a person.
#[derive(Debug, Clone)]
pub struct ProblemFile {
    pub file: i64,
    pub message: i64,
    /// The file's place in its message (the same on every filing).
    pub seq: i64,
    pub filename: String,
    pub code: String,
}

/// A queued mail as the desk shows it.
#[derive(Debug, Clone)]
pub struct DeskMail {
    pub id: i64,
    pub message: Option<i64>,
    pub purpose: String,
    pub state: String,
    pub recipients: Vec<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub resends: Option<i64>,
    /// When staff released it from the loop guard.
    pub released_at: Option<String>,
}

/// A late-entry decision as stored.
#[derive(Debug, Clone)]
pub struct LateDecision {
    pub decision: String,
    pub batch: Option<u8>,
    pub by: String,
    pub at: String,
}

/// A note as stored.
#[derive(Debug, Clone)]
pub struct NoteRow {
    pub id: i64,
    pub target: String,
    pub text: String,
    pub by: String,
    pub at: String,
}

const MESSAGE_COLUMNS: &str = "m.id, coalesce(m.arrived_at, m.created_at), m.state, m.message_id,
    m.sender, m.subject, m.province, m.batch, m.skipped,
    (SELECT json_group_array(json_extract(c.value, '$.code'))
     FROM json_each(CASE WHEN m.result IS NULL THEN '{}' ELSE m.result END, '$.errors') c)";

fn desk_message(r: &Row) -> rusqlite::Result<DeskMessage> {
    let codes: Option<String> = r.get(9)?;
    Ok(DeskMessage {
        id: r.get(0)?,
        came_in: r.get(1)?,
        state: r.get(2)?,
        message_id: r.get(3)?,
        sender: r.get(4)?,
        subject: r.get(5)?,
        province: r.get(6)?,
        batch: r.get(7)?,
        skipped: r.get(8)?,
        codes: codes
            .and_then(|c| serde_json::from_str::<Vec<Option<String>>>(&c).ok())
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect(),
    })
}

const MAIL_COLUMNS: &str = "o.id, o.message, o.purpose, o.state, o.recipients, o.last_error,
    o.created_at, o.resends, o.released_at";

fn desk_mail(r: &Row) -> rusqlite::Result<DeskMail> {
    let rcpts: String = r.get(4)?;
    Ok(DeskMail {
        id: r.get(0)?,
        message: r.get(1)?,
        purpose: r.get(2)?,
        state: r.get(3)?,
        recipients: serde_json::from_str(&rcpts).unwrap_or_default(),
        last_error: r.get(5)?,
        created_at: r.get(6)?,
        resends: r.get(7)?,
        released_at: r.get(8)?,
    })
}

fn resolution(r: &Row) -> rusqlite::Result<ResolutionRow> {
    Ok(ResolutionRow {
        key: r.get(0)?,
        kind: r.get(1)?,
        item: r.get(2)?,
        by: r.get(3)?,
        at: r.get(4)?,
        how: r.get(5)?,
        audit: r.get(6)?,
    })
}

fn audit_entry(r: &Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        object: r.get(4)?,
        before: r.get(5)?,
        after: r.get(6)?,
        note: r.get(7)?,
    })
}

/// Reads shared by the registry and a desk transaction.
fn message_by_id(c: &rusqlite::Connection, id: i64) -> Result<Option<DeskMessage>> {
    Ok(c.query_row(
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?1"),
        [id],
        desk_message,
    )
    .optional()?)
}

fn mail_by_id(c: &rusqlite::Connection, id: i64) -> Result<Option<DeskMail>> {
    Ok(c.query_row(
        &format!("SELECT {MAIL_COLUMNS} FROM outbox o WHERE o.id = ?1"),
        [id],
        desk_mail,
    )
    .optional()?)
}

fn late_decision(c: &rusqlite::Connection, entry: i64) -> Result<Option<LateDecision>> {
    Ok(c.query_row(
        "SELECT decision, batch, by, at FROM late_decisions WHERE entry = ?1",
        [entry],
        |r| {
            Ok(LateDecision {
                decision: r.get(0)?,
                batch: r.get(1)?,
                by: r.get(2)?,
                at: r.get(3)?,
            })
        },
    )
    .optional()?)
}

fn resolution_by_key(c: &rusqlite::Connection, key: &str) -> Result<Option<ResolutionRow>> {
    Ok(c.query_row(
        "SELECT key, kind, item, by, at, how, audit FROM resolutions WHERE key = ?1",
        [key],
        resolution,
    )
    .optional()?)
}

impl Registry {
    /// Filed, not skipped messages whose latest filing has one of the message-level error
    /// `codes` (e.g. unknown_province, authentication_failed, link_attachment), oldest
    /// first; only message `only` when given.
    pub fn messages_with_codes(
        &self,
        codes: &[&str],
        only: Option<i64>,
    ) -> Result<Vec<DeskMessage>> {
        // A result with a message-level error holds `"errors":[{` (serde's compact form);
        // one without any error anywhere, most of them, is passed over unparsed.
        let mut st = self.conn.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m
             WHERE m.state = ?1 AND m.skipped IS NULL AND m.result IS NOT NULL
               AND (?3 IS NULL OR m.id = ?3)
               AND instr(m.result, '\"errors\":[{{') > 0
               AND EXISTS (SELECT 1 FROM json_each(m.result, '$.errors') c
                           WHERE json_extract(c.value, '$.code') IN (SELECT value FROM json_each(?2)))
             ORDER BY coalesce(m.arrived_at, m.created_at), m.id"
        ))?;
        let codes = serde_json::to_string(codes).expect("strings serialise");
        let rows = st
            .query_map(params![MessageState::Filed, codes, only], desk_message)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Files of each message's latest filing (a message filed again has a second set of
    /// file rows, starting at its latest `seq = 0`) answered with one of `codes`; only
    /// message `only`'s when given.
    pub fn problem_files(&self, codes: &[&str], only: Option<i64>) -> Result<Vec<ProblemFile>> {
        let mut st = self.conn.prepare(
            "SELECT f.id, f.message, f.filename, json_extract(c.value, '$.code'), f.seq
             FROM files f JOIN messages m ON m.id = f.message, json_each(f.errors) c
             WHERE f.errors != '[]' AND m.skipped IS NULL AND (?2 IS NULL OR f.message = ?2)
               AND json_extract(c.value, '$.code') IN (SELECT value FROM json_each(?1))
               AND f.id >= (SELECT max(g.id) FROM files g WHERE g.message = f.message AND g.seq = 0)
             ORDER BY f.message, f.id",
        )?;
        let codes = serde_json::to_string(codes).expect("strings serialise");
        let rows = st
            .query_map(params![codes, only], |r| {
                Ok(ProblemFile {
                    file: r.get(0)?,
                    message: r.get(1)?,
                    filename: r.get(2)?,
                    code: r.get(3)?,
                    seq: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Messages in a state (quarantined) or skipped for a reason (bounce), oldest first.
    pub fn desk_messages_where(
        &self,
        state: Option<MessageState>,
        skipped: Option<&str>,
        only: Option<i64>,
    ) -> Result<Vec<DeskMessage>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m
             WHERE (?1 IS NULL OR m.state = ?1) AND (?2 IS NULL OR m.skipped = ?2)
               AND (?3 IS NULL OR m.id = ?3)
             ORDER BY coalesce(m.arrived_at, m.created_at), m.id"
        ))?;
        let rows = st
            .query_map(params![state, skipped, only], desk_message)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn desk_message(&self, id: i64) -> Result<Option<DeskMessage>> {
        message_by_id(&self.conn, id)
    }

    /// Current, not withdrawn late entries without a staff decision, oldest first; only
    /// the one with receipt `only` when given.
    pub fn undecided_late_entries(&self, only: Option<&str>) -> Result<Vec<EntryRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {} FROM entries e
             WHERE e.late = 1 AND e.superseded_by IS NULL AND e.withdrawn_at IS NULL
               AND (?1 IS NULL OR e.receipt = ?1)
               AND e.status != 'held'
               AND NOT EXISTS (SELECT 1 FROM late_decisions d WHERE d.entry = e.id)
             ORDER BY e.id",
            super::entries::ENTRY_COLUMNS
        ))?;
        let rows = st
            .query_map([only], super::entries::entry_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Queued mail in one of the given states (e.g. failed, unknown, capped; spelled as
    /// stored, so a state a newer schema adds can be named), oldest first.
    pub fn mail_in_states(&self, states: &[&str], only: Option<i64>) -> Result<Vec<DeskMail>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {MAIL_COLUMNS} FROM outbox o
             WHERE o.state IN (SELECT value FROM json_each(?1)) AND (?2 IS NULL OR o.id = ?2)
             ORDER BY o.created_at, o.id"
        ))?;
        let rows = st
            .query_map(
                params![
                    serde_json::to_string(&states).expect("strings serialise"),
                    only
                ],
                desk_mail,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn desk_mail(&self, id: i64) -> Result<Option<DeskMail>> {
        mail_by_id(&self.conn, id)
    }

    /// Our own queued mails among these Message-IDs (with angle brackets), e.g. the ones
    /// a bounce quotes; oldest first.
    pub fn mail_with_message_ids(&self, ids: &[String]) -> Result<Vec<DeskMail>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {MAIL_COLUMNS} FROM outbox o
             WHERE o.message_id IN (SELECT value FROM json_each(?1)) ORDER BY o.id"
        ))?;
        let rows = st
            .query_map(
                [serde_json::to_string(ids).expect("strings serialise")],
                desk_mail,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every resolution, oldest first.
    pub fn resolutions(&self) -> Result<Vec<ResolutionRow>> {
        let mut st = self.conn.prepare(
            "SELECT key, kind, item, by, at, how, audit FROM resolutions ORDER BY at, key",
        )?;
        let rows = st
            .query_map([], resolution)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Audit rows, newest first, filtered by object and actor.
    pub fn audit_rows(
        &self,
        object: Option<&str>,
        actor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        let mut st = self.conn.prepare(
            "SELECT id, at, actor, action, object, before, after, note FROM audit_log
             WHERE (?1 IS NULL OR object = ?1) AND (?2 IS NULL OR actor = ?2)
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = st
            .query_map(params![object, actor, limit as i64], audit_entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Notes on a target (entry:<receipt> | message:<id>), oldest first.
    pub fn notes(&self, target: &str) -> Result<Vec<NoteRow>> {
        let mut st = self
            .conn
            .prepare("SELECT id, target, text, by, at FROM notes WHERE target = ?1 ORDER BY id")?;
        let rows = st
            .query_map([target], |r| {
                Ok(NoteRow {
                    id: r.get(0)?,
                    target: r.get(1)?,
                    text: r.get(2)?,
                    by: r.get(3)?,
                    at: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// An entry version by its receipt.
    pub fn entry_by_receipt(&self, receipt: &str) -> Result<Option<EntryRow>> {
        entry_by_receipt(&self.conn, receipt)
    }

    pub fn late_decision(&self, entry: i64) -> Result<Option<LateDecision>> {
        late_decision(&self.conn, entry)
    }

    /// Entries (current versions) filed from a message, in filing order.
    pub fn current_entries_of(&self, message: i64) -> Result<Vec<EntryRow>> {
        current_entries_of(&self.conn, message)
    }
}

fn current_entries_of(c: &rusqlite::Connection, message: i64) -> Result<Vec<EntryRow>> {
    let mut st = c.prepare(&format!(
        "SELECT {} FROM entries e WHERE e.message = ?1 AND e.superseded_by IS NULL
         ORDER BY e.id",
        super::entries::ENTRY_COLUMNS
    ))?;
    let rows = st
        .query_map([message], super::entries::entry_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn entry_by_receipt(c: &rusqlite::Connection, receipt: &str) -> Result<Option<EntryRow>> {
    Ok(c.query_row(
        &format!(
            "SELECT {} FROM entries e WHERE e.receipt = ?1",
            super::entries::ENTRY_COLUMNS
        ),
        [receipt],
        super::entries::entry_row,
    )
    .optional()?)
}

impl Tx<'_> {
    /// Appends an audit row; returns its id.
    pub fn audit(&self, a: &NewAudit) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO audit_log (at, actor, action, object, before, after, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                now(),
                a.actor,
                a.action,
                a.object,
                a.before,
                a.after,
                a.note
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Records that a queue item was resolved. False when it already was.
    pub fn resolve(
        &self,
        key: &str,
        kind: &str,
        item: &str,
        by: &str,
        how: &str,
        audit: i64,
    ) -> Result<bool> {
        let n = self.tx.execute(
            "INSERT OR IGNORE INTO resolutions (key, kind, item, by, at, how, audit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![key, kind, item, by, now(), how, audit],
        )?;
        Ok(n == 1)
    }

    pub fn resolution(&self, key: &str) -> Result<Option<ResolutionRow>> {
        resolution_by_key(&self.tx, key)
    }

    pub fn add_note(&self, target: &str, text: &str, by: &str, audit: i64) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO notes (target, text, by, at, audit) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![target, text, by, now(), audit],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn entry_by_receipt(&self, receipt: &str) -> Result<Option<EntryRow>> {
        entry_by_receipt(&self.tx, receipt)
    }

    pub fn desk_message(&self, id: i64) -> Result<Option<DeskMessage>> {
        message_by_id(&self.tx, id)
    }

    pub fn desk_mail(&self, id: i64) -> Result<Option<DeskMail>> {
        mail_by_id(&self.tx, id)
    }

    /// A queued mail with its body, for a resend.
    pub fn outbox_row(&self, id: i64) -> Result<Option<OutboxRow>> {
        Ok(self
            .tx
            .query_row(
                &format!(
                    "SELECT {} FROM outbox WHERE id = ?1",
                    super::outbox::OUTBOX_ROW_COLUMNS
                ),
                [id],
                super::outbox::outbox_row,
            )
            .optional()?)
    }

    pub fn late_decision(&self, entry: i64) -> Result<Option<LateDecision>> {
        late_decision(&self.tx, entry)
    }

    /// Records a late-entry decision; an accepted entry moves into the batch and stops
    /// being late, so it counts there like any other entry.
    pub fn decide_late(
        &self,
        entry: i64,
        accepted: bool,
        batch: Option<u8>,
        by: &str,
        audit: i64,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO late_decisions (entry, decision, batch, by, at, audit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                entry,
                if accepted { "accepted" } else { "rejected" },
                batch,
                by,
                now(),
                audit
            ],
        )?;
        if accepted {
            self.tx.execute(
                "UPDATE entries SET batch = ?2, late = 0 WHERE id = ?1",
                params![entry, batch],
            )?;
        }
        Ok(())
    }

    /// Withdraws an entry version: kept, counted nowhere from now on.
    pub fn withdraw_entry(&self, entry: i64) -> Result<String> {
        let at = now();
        self.tx.execute(
            "UPDATE entries SET withdrawn_at = ?2 WHERE id = ?1 AND withdrawn_at IS NULL",
            params![entry, at],
        )?;
        Ok(at)
    }

    /// Records what staff decided about a message.
    pub fn message_decision(
        &self,
        message: i64,
        decision: &str,
        detail: Option<&str>,
        by: &str,
        audit: i64,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO message_decisions (message, decision, detail, by, at, audit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![message, decision, detail, by, now(), audit],
        )?;
        Ok(())
    }

    /// The highest entry id so far (entries filed later in this transaction are above it).
    pub fn max_entry_id(&self) -> Result<i64> {
        Ok(self
            .tx
            .query_row("SELECT coalesce(max(id), 0) FROM entries", [], |r| r.get(0))?)
    }

    /// After a message was filed again with staff's decision: its held entries filed
    /// before `before` (same message, same file bytes) are superseded by the new ones.
    pub fn supersede_held(&self, message: i64, before: i64) -> Result<usize> {
        Ok(self.tx.execute(
            "UPDATE entries SET superseded_by = (
                SELECT n.id FROM entries n WHERE n.message = ?1 AND n.id > ?2
                  AND n.file_sha256 = entries.file_sha256 ORDER BY n.id LIMIT 1)
             WHERE message = ?1 AND id <= ?2 AND status = 'held' AND superseded_by IS NULL
               AND EXISTS (SELECT 1 FROM entries n WHERE n.message = ?1 AND n.id > ?2
                           AND n.file_sha256 = entries.file_sha256)",
            params![message, before],
        )?)
    }

    /// Entries (current versions) filed from a message, in filing order.
    pub fn current_entries_of(&self, message: i64) -> Result<Vec<EntryRow>> {
        current_entries_of(&self.tx, message)
    }

    /// The outbox row queued under a Message-ID.
    pub fn outbox_id(&self, message_id: &str) -> Result<Option<i64>> {
        Ok(self
            .tx
            .query_row(
                "SELECT id FROM outbox WHERE message_id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// What staff decided about a message so far (decision, detail), oldest first.
    pub fn message_decisions(&self, message: i64) -> Result<Vec<(String, Option<String>)>> {
        let mut st = self.tx.prepare(
            "SELECT decision, detail FROM message_decisions WHERE message = ?1 ORDER BY id",
        )?;
        let rows = st
            .query_map([message], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Marks a mail that repeats an earlier one.
    pub fn set_resends(&self, outbox: i64, original: i64) -> Result<()> {
        self.tx.execute(
            "UPDATE outbox SET resends = ?2 WHERE id = ?1",
            params![outbox, original],
        )?;
        Ok(())
    }

    /// Lets mail held by the loop guard go: pending, due now, and exempt from the cap.
    pub fn release_mail(&self, outbox: i64) -> Result<usize> {
        let at = now();
        Ok(self.tx.execute(
            "UPDATE outbox SET state = ?2, next_attempt_at = ?3, released_at = ?3
             WHERE id = ?1 AND state IN ('capped', 'held')",
            params![outbox, OutboxState::Pending, at],
        )?)
    }
}
