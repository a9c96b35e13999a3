//! What the weekly report and the exports read: entry rows with their sender, file and
//! reply; the messages, files, bounces and deliveries that need a person; the provinces
//! heard from; and the report slots already taken. Read-only, every query "as of" a moment
//! (stored form: RFC 3339 UTC with milliseconds, comparable as text).

use rusqlite::{params, OptionalExtension, Row};

use super::{Registry, Result};

/// An entry row as the report and the exports read it.
#[derive(Debug, Clone)]
pub struct ReportEntry {
    pub receipt: String,
    pub province: Option<String>,
    pub batch: Option<u8>,
    pub late: bool,
    pub kind: String,
    pub name: String,
    pub unit: Option<String>,
    pub status: crate::filing::EntryStatus,
    pub errors: String,
    pub themes: String,
    pub version: i64,
    /// This version replaces an earlier one.
    pub replaces: bool,
    pub arrived_at: Option<String>,
    pub created_at: String,
    pub sender: Option<String>,
    /// The receipt this version replaces, and the one that replaced it.
    pub supersedes: Option<String>,
    pub superseded_by: Option<String>,
    /// The form's fields (JSON object) and warnings (JSON array).
    pub fields: String,
    pub warnings: String,
    /// The name of the file the entry was read from.
    pub filename: Option<String>,
    /// When the reply to the entry's message was sent (or queued, when not sent yet).
    pub replied_at: Option<String>,
    /// What staff decided about a late entry (accepted | rejected), if they did.
    pub late_decision: Option<String>,
    /// Staff resolved the hold on the entry's message (rejected it): the entry stays held,
    /// counted nowhere, and no longer waits for a person.
    pub held_resolved: bool,
}

const COLUMNS: &str = "e.receipt, e.province, e.batch, e.late, e.kind, e.name, e.unit, e.status,
    e.errors, e.themes, e.version, e.supersedes IS NOT NULL, e.arrived_at, e.created_at, m.sender,
    (SELECT s.receipt FROM entries s WHERE s.id = e.supersedes),
    (SELECT s.receipt FROM entries s WHERE s.id = e.superseded_by),
    e.fields, e.warnings, f.filename, r.replied_at,
    (SELECT d.decision FROM late_decisions d WHERE d.entry = e.id),
    EXISTS (SELECT 1 FROM resolutions z WHERE z.key IN ('message:' || e.message || ':unknown_province',
                                                        'message:' || e.message || ':authentication_failed'))";

/// The replies are aggregated once and joined: `outbox` has no index on `message`, so a
/// subquery per entry would scan it once per entry.
const FROM: &str = "entries e LEFT JOIN messages m ON m.id = e.message
    LEFT JOIN files f ON f.id = e.file
    LEFT JOIN (SELECT message, min(coalesce(sent_at, created_at)) AS replied_at FROM outbox
               WHERE purpose = 'reply' AND message IS NOT NULL GROUP BY message) r
           ON r.message = e.message";

fn entry(r: &Row) -> rusqlite::Result<ReportEntry> {
    Ok(ReportEntry {
        receipt: r.get(0)?,
        province: r.get(1)?,
        batch: r.get(2)?,
        late: r.get::<_, i64>(3)? != 0,
        kind: r.get(4)?,
        name: r.get(5)?,
        unit: r.get(6)?,
        status: r.get(7)?,
        errors: r.get(8)?,
        themes: r.get(9)?,
        version: r.get(10)?,
        replaces: r.get(11)?,
        arrived_at: r.get(12)?,
        created_at: r.get(13)?,
        sender: r.get(14)?,
        supersedes: r.get(15)?,
        superseded_by: r.get(16)?,
        fields: r.get(17)?,
        warnings: r.get(18)?,
        filename: r.get(19)?,
        replied_at: r.get(20)?,
        late_decision: r.get(21)?,
        held_resolved: r.get(22)?,
    })
}

/// A message, or one of its files, answered with a code that asks a person to act (a link
/// instead of a form, nothing attached, a file that could not be read).
#[derive(Debug, Clone)]
pub struct AnsweredProblem {
    pub code: String,
    pub message: i64,
    pub arrived_at: String,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub province: Option<String>,
    /// The file concerned; None for a message-level code.
    pub filename: Option<String>,
}

/// A stored message as the report lists it (bounces, quarantined messages).
#[derive(Debug, Clone)]
pub struct ListedMessage {
    pub id: i64,
    pub arrived_at: String,
    pub sender: Option<String>,
    pub subject: Option<String>,
}

/// One of our own mails, found by its Message-ID (e.g. quoted in a bounce).
#[derive(Debug, Clone)]
pub struct SentMail {
    pub message_id: String,
    pub purpose: String,
    /// JSON array of addresses.
    pub recipients: String,
    /// The message it answered, and what that message filed.
    pub answered_subject: Option<String>,
    pub province: Option<String>,
    pub receipts: Vec<String>,
}

/// A queued mail that failed, or whose fate is unknown (the connection was lost after the
/// data went out).
#[derive(Debug, Clone)]
pub struct Undelivered {
    pub id: i64,
    pub purpose: String,
    pub state: String,
    /// JSON array of addresses.
    pub recipients: String,
    pub last_error: Option<String>,
    pub created_at: String,
    /// The message it answered, if any.
    pub answered_subject: Option<String>,
    pub province: Option<String>,
}

/// When a message came in: its arrival, else when it was stored.
const CAME_IN: &str = "coalesce(m.arrived_at, m.created_at)";

fn listed(r: &Row) -> rusqlite::Result<ListedMessage> {
    Ok(ListedMessage {
        id: r.get(0)?,
        arrived_at: r.get(1)?,
        sender: r.get(2)?,
        subject: r.get(3)?,
    })
}

impl Registry {
    /// The versions current as of a moment (stored form): a version counts when it came in
    /// (arrival, else filing) by then and had not been replaced by a version that came in by
    /// then. Ordered by receipt.
    pub fn entries_as_of(&self, as_of: &str) -> Result<Vec<ReportEntry>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM {FROM}
             WHERE coalesce(e.arrived_at, e.created_at) <= ?1
               AND (e.withdrawn_at IS NULL OR e.withdrawn_at > ?1)
               AND (e.superseded_by IS NULL
                    OR (SELECT coalesce(s.arrived_at, s.created_at) FROM entries s
                        WHERE s.id = e.superseded_by) > ?1)
             ORDER BY e.receipt"
        ))?;
        let rows = st
            .query_map([as_of], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Valid entries per province among the versions current as of a moment (the same
    /// rule as [`Registry::entries_as_of`]).
    pub fn valid_by_province_as_of(&self, as_of: &str) -> Result<Vec<(String, i64)>> {
        let mut st = self.conn.prepare(
            "SELECT e.province, count(*) FROM entries e
             WHERE e.status = 'valid' AND e.province IS NOT NULL
               AND coalesce(e.arrived_at, e.created_at) <= ?1
               AND (e.withdrawn_at IS NULL OR e.withdrawn_at > ?1)
               AND (e.superseded_by IS NULL
                    OR (SELECT coalesce(s.arrived_at, s.created_at) FROM entries s
                        WHERE s.id = e.superseded_by) > ?1)
             GROUP BY e.province ORDER BY e.province",
        )?;
        let rows = st
            .query_map([as_of], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Entries to export: current versions, or every version. Ordered by receipt.
    pub fn entries_for_export(&self, all_versions: bool) -> Result<Vec<ReportEntry>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM {FROM}
             WHERE (?1 OR e.superseded_by IS NULL) AND e.withdrawn_at IS NULL
             ORDER BY e.receipt"
        ))?;
        let rows = st
            .query_map([all_versions], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Provinces that had written by a moment: a filed, not skipped message was attributed
    /// to them. Sorted codes.
    pub fn provinces_heard_from(&self, as_of: &str) -> Result<Vec<String>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT DISTINCT m.province FROM messages m
             WHERE m.province IS NOT NULL AND m.skipped IS NULL AND {CAME_IN} <= ?1
             ORDER BY m.province"
        ))?;
        let rows = st
            .query_map([as_of], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// Messages (message-level `message_codes`) and files (file-level `file_codes`) that
    /// came in by a moment and were answered with one of those codes, oldest first. One
    /// stays listed until the same sender sends a later message, by that moment, that files
    /// an entry: then the sender has done what the reply asked.
    pub fn answered_problems(
        &self,
        as_of: &str,
        message_codes: &[&str],
        file_codes: &[&str],
    ) -> Result<Vec<AnsweredProblem>> {
        // The findings are picked first (materialized): a condition on the message alone,
        // such as the NOT EXISTS below, would otherwise run once per file and message
        // before json_each found no finding in it.
        let sql = format!(
            "WITH found AS MATERIALIZED (
                SELECT json_extract(c.value, '$.code') AS code, m.id AS message,
                       NULL AS filename, NULL AS file
                FROM messages m, json_each(m.result, '$.errors') c
                WHERE m.result IS NOT NULL
                  AND json_extract(c.value, '$.code') IN (SELECT value FROM json_each(?2))
                UNION ALL
                SELECT json_extract(c.value, '$.code'), f.message, f.filename, f.id
                FROM files f, json_each(f.errors) c
                WHERE f.errors != '[]'
                  AND json_extract(c.value, '$.code') IN (SELECT value FROM json_each(?3)))
             SELECT found.code, m.id, {CAME_IN}, m.sender, m.subject, m.province, found.filename
             FROM found JOIN messages m ON m.id = found.message
             WHERE {CAME_IN} <= ?1 AND m.skipped IS NULL
               AND NOT EXISTS (SELECT 1 FROM resolutions z
                   WHERE z.key = CASE WHEN found.file IS NULL
                                      THEN 'message:' || m.id || ':' || found.code
                                      ELSE 'file:' || found.file || ':' || found.code END
                     AND z.at <= ?1)
               AND NOT EXISTS (
                SELECT 1 FROM entries x JOIN messages n ON n.id = x.message
                WHERE lower(n.sender) = lower(m.sender)
                  AND coalesce(n.arrived_at, n.created_at) > {CAME_IN}
                  AND coalesce(n.arrived_at, n.created_at) <= ?1)
             ORDER BY 3, 2, 7"
        );
        let json = |codes: &[&str]| serde_json::to_string(codes).expect("strings serialise");
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map(params![as_of, json(message_codes), json(file_codes)], |r| {
                Ok(AnsweredProblem {
                    code: r.get(0)?,
                    message: r.get(1)?,
                    arrived_at: r.get(2)?,
                    sender: r.get(3)?,
                    subject: r.get(4)?,
                    province: r.get(5)?,
                    filename: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Bounces (messages filed as `skipped = bounce`) that came in by a moment and that
    /// staff had not marked handled by then, oldest first.
    pub fn bounces_as_of(&self, as_of: &str) -> Result<Vec<ListedMessage>> {
        self.listed_messages(as_of, "m.skipped = 'bounce'", "bounce")
    }

    /// Messages whose processing crashed (quarantined, never answered) by a moment, unless
    /// staff had handled them by then.
    pub fn quarantined_as_of(&self, as_of: &str) -> Result<Vec<ListedMessage>> {
        self.listed_messages(as_of, "m.state = 'quarantined'", "quarantined")
    }

    /// Messages matching `filter`, without those whose desk item (`message:ID:{item}`, the
    /// key `src/desk/attention.rs` gives it) was resolved by the moment.
    fn listed_messages(&self, as_of: &str, filter: &str, item: &str) -> Result<Vec<ListedMessage>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT m.id, {CAME_IN}, m.sender, m.subject FROM messages m
             WHERE {filter} AND {CAME_IN} <= ?1
               AND NOT EXISTS (SELECT 1 FROM resolutions z
                               WHERE z.key = 'message:' || m.id || ':' || ?2 AND z.at <= ?1)
             ORDER BY {CAME_IN}, m.id"
        ))?;
        let rows = st
            .query_map(params![as_of, item], listed)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Our own mails among the Message-IDs given (with angle brackets), with what the
    /// message they answered filed.
    pub fn sent_mail_with_ids(&self, ids: &[String]) -> Result<Vec<SentMail>> {
        let mut st = self.conn.prepare(
            "SELECT o.message_id, o.purpose, o.recipients, m.subject, m.province,
                    (SELECT json_group_array(e.receipt) FROM
                        (SELECT receipt FROM entries WHERE message = o.message ORDER BY receipt) e)
             FROM outbox o LEFT JOIN messages m ON m.id = o.message
             WHERE o.message_id IN (SELECT value FROM json_each(?1))
             ORDER BY o.id",
        )?;
        let ids = serde_json::to_string(ids).expect("strings serialise");
        let rows = st
            .query_map([ids], |r| {
                let receipts: String = r.get(5)?;
                Ok(SentMail {
                    message_id: r.get(0)?,
                    purpose: r.get(1)?,
                    recipients: r.get(2)?,
                    answered_subject: r.get(3)?,
                    province: r.get(4)?,
                    receipts: serde_json::from_str(&receipts).unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Queued mail that failed or whose delivery is unknown, queued by a moment, oldest
    /// first. The state is the one now: a report for a past moment shows today's fate.
    pub fn undelivered_as_of(&self, as_of: &str) -> Result<Vec<Undelivered>> {
        let mut st = self.conn.prepare(
            "SELECT o.id, o.purpose, o.state, o.recipients, o.last_error, o.created_at,
                    m.subject, m.province
             FROM outbox o LEFT JOIN messages m ON m.id = o.message
             WHERE o.state IN ('failed', 'unknown') AND o.created_at <= ?1
               AND NOT EXISTS (SELECT 1 FROM resolutions z
                               WHERE z.key = 'outbox:' || o.id || ':' || o.state AND z.at <= ?1)
             ORDER BY o.created_at, o.id",
        )?;
        let rows = st
            .query_map([as_of], |r| {
                Ok(Undelivered {
                    id: r.get(0)?,
                    purpose: r.get(1)?,
                    state: r.get(2)?,
                    recipients: r.get(3)?,
                    last_error: r.get(4)?,
                    created_at: r.get(5)?,
                    answered_subject: r.get(6)?,
                    province: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Slots whose report was queued, latest first (stored form).
    pub fn queued_report_slots(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT slot FROM report_slots WHERE outbox IS NOT NULL ORDER BY slot DESC")?;
        let slots = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(slots)
    }

    /// True when the slot was taken (its report queued or deliberately skipped).
    pub fn report_slot_taken(&self, slot: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM report_slots WHERE slot = ?1", [slot], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// How many report slots were ever recorded (the review reminders' slots, keyed
    /// `review:…`, share the table and are not counted).
    pub fn report_slot_count(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM report_slots WHERE slot NOT LIKE 'review:%'",
            [],
            |r| r.get(0),
        )?)
    }
}
