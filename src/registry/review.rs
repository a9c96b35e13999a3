//! 专家评议's tables (migration 0005): experts and their declared conflicts, rounds and the
//! entries they hold, assignments (ended, never deleted), every saved version of a review,
//! decisions (the latest counts) and the review mail log (one mail per address and day).
//! Plain values in and out; the stage that uses them is `crate::review`.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{now, Registry, Result, Tx};

/// An expert to add or update (keyed by e-mail, lower case).
#[derive(Debug, Clone, Default)]
pub struct NewExpert {
    pub email: String,
    pub name: String,
    pub province: Option<String>,
    pub unit: Option<String>,
    pub unit_key: Option<String>,
    pub kinds: Vec<String>,
    pub themes: Vec<String>,
}

/// An expert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub province: Option<String>,
    pub unit: Option<String>,
    pub unit_key: Option<String>,
    pub kinds: Vec<String>,
    pub themes: Vec<String>,
}

/// A round as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRow {
    pub id: i64,
    pub batch: u8,
    pub kinds: Vec<String>,
    pub per_entry: u32,
    pub cap: Option<u32>,
    /// YYYY-MM-DD.
    pub due: String,
    /// draft | published | closed
    pub state: String,
    pub published_at: Option<String>,
    pub closed_at: Option<String>,
    pub completed_mail_at: Option<String>,
    pub decisions_published_at: Option<String>,
    /// An expert sees the others' submitted scores of an entry (not who they are) once
    /// their own review of it is submitted.
    pub show_others: bool,
}

/// A round to create.
#[derive(Debug, Clone)]
pub struct NewRound {
    pub batch: u8,
    pub kinds: Vec<String>,
    pub per_entry: u32,
    pub cap: Option<u32>,
    pub due: String,
    pub show_others: bool,
}

/// An entry as review sees it: the current valid version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewEntry {
    pub id: i64,
    pub receipt: String,
    pub entry_key: String,
    pub province: Option<String>,
    pub unit: Option<String>,
    pub kind: String,
    pub name: String,
    /// JSON array of theme names.
    pub themes: String,
}

/// An assignment in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    pub id: i64,
    pub receipt: String,
    pub expert: i64,
    pub origin: String,
}

/// One of an expert's assignments: in force, or ended by the expert's recusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertAssignment {
    pub id: i64,
    pub round: i64,
    pub receipt: String,
    pub recused: bool,
}

/// A review version to record.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub round: i64,
    pub receipt: String,
    pub expert: i64,
    /// JSON object: criterion key → points.
    pub scores: String,
    pub total: f64,
    pub comment: String,
    pub recommendation: Option<String>,
    pub submitted: bool,
    /// web | sheet | cli
    pub via: String,
    pub message: Option<i64>,
}

/// The latest version of one review.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub id: i64,
    pub receipt: String,
    pub expert: i64,
    pub scores: String,
    pub total: f64,
    pub comment: String,
    pub recommendation: Option<String>,
    pub submitted: bool,
    pub created_at: String,
}

/// The latest decision on an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    pub receipt: String,
    /// recommend | decline
    pub decision: String,
    pub note: String,
    pub created_at: String,
}

fn json_list(s: String) -> Vec<String> {
    serde_json::from_str(&s).unwrap_or_default()
}

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).expect("strings serialise")
}

const EXPERT_COLUMNS: &str = "id, email, name, province, unit, unit_key, kinds, themes";

fn expert_row(r: &Row) -> rusqlite::Result<ExpertRow> {
    Ok(ExpertRow {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        province: r.get(3)?,
        unit: r.get(4)?,
        unit_key: r.get(5)?,
        kinds: json_list(r.get(6)?),
        themes: json_list(r.get(7)?),
    })
}

const ROUND_COLUMNS: &str = "id, batch, kinds, per_entry, cap, due, state, published_at,
    closed_at, completed_mail_at, decisions_published_at, show_others";

fn round_row(r: &Row) -> rusqlite::Result<RoundRow> {
    Ok(RoundRow {
        id: r.get(0)?,
        batch: r.get::<_, i64>(1)? as u8,
        kinds: json_list(r.get(2)?),
        per_entry: r.get::<_, i64>(3)? as u32,
        cap: r.get::<_, Option<i64>>(4)?.map(|c| c as u32),
        due: r.get(5)?,
        state: r.get(6)?,
        published_at: r.get(7)?,
        closed_at: r.get(8)?,
        completed_mail_at: r.get(9)?,
        decisions_published_at: r.get(10)?,
        show_others: r.get::<_, i64>(11)? != 0,
    })
}

const REVIEW_ENTRY_COLUMNS: &str =
    "e.id, e.receipt, e.entry_key, e.province, e.unit, e.kind, e.name, e.themes";

fn review_entry(r: &Row) -> rusqlite::Result<ReviewEntry> {
    Ok(ReviewEntry {
        id: r.get(0)?,
        receipt: r.get(1)?,
        entry_key: r.get(2)?,
        province: r.get(3)?,
        unit: r.get(4)?,
        kind: r.get(5)?,
        name: r.get(6)?,
        themes: r.get(7)?,
    })
}

fn review_row(r: &Row) -> rusqlite::Result<ReviewRow> {
    Ok(ReviewRow {
        id: r.get(0)?,
        receipt: r.get(1)?,
        expert: r.get(2)?,
        scores: r.get(3)?,
        total: r.get(4)?,
        comment: r.get(5)?,
        recommendation: r.get(6)?,
        submitted: r.get::<_, i64>(7)? != 0,
        created_at: r.get(8)?,
    })
}

impl Registry {
    /// Adds an expert, or updates the one with the same address; returns (id, added).
    pub fn upsert_expert(&self, x: &NewExpert) -> Result<(i64, bool)> {
        let email = x.email.trim().to_lowercase();
        let existing: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM review_experts WHERE email = ?1",
                [&email],
                |r| r.get(0),
            )
            .optional()?;
        let t = now();
        match existing {
            Some(id) => {
                self.conn.execute(
                    "UPDATE review_experts SET name = ?2, province = ?3, unit = ?4, unit_key = ?5,
                        kinds = ?6, themes = ?7, updated_at = ?8 WHERE id = ?1",
                    params![
                        id,
                        x.name,
                        x.province,
                        x.unit,
                        x.unit_key,
                        to_json(&x.kinds),
                        to_json(&x.themes),
                        t
                    ],
                )?;
                Ok((id, false))
            }
            None => {
                self.conn.execute(
                    "INSERT INTO review_experts (email, name, province, unit, unit_key, kinds,
                        themes, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                    params![
                        email,
                        x.name,
                        x.province,
                        x.unit,
                        x.unit_key,
                        to_json(&x.kinds),
                        to_json(&x.themes),
                        t
                    ],
                )?;
                Ok((self.conn.last_insert_rowid(), true))
            }
        }
    }

    /// Every expert, in the order they were added.
    pub fn experts(&self) -> Result<Vec<ExpertRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {EXPERT_COLUMNS} FROM review_experts ORDER BY id"
        ))?;
        let rows = st
            .query_map([], expert_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The expert with this address (any case).
    pub fn expert_by_email(&self, email: &str) -> Result<Option<ExpertRow>> {
        expert_by_email(&self.conn, email)
    }

    /// Records a conflict an expert declared with an entry (idempotent).
    pub fn declare_conflict(
        &self,
        expert: i64,
        entry_key: &str,
        receipt: &str,
        note: &str,
    ) -> Result<()> {
        declare_conflict(&self.conn, expert, entry_key, receipt, note)
    }

    /// Declared conflicts: (expert id, entry key).
    pub fn declared_conflicts(&self) -> Result<Vec<(i64, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT expert, entry_key FROM review_conflicts ORDER BY id")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Any version of an entry by its receipt (current or not).
    pub fn entry_key_of(&self, receipt: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT entry_key FROM entries WHERE receipt = ?1",
                [receipt],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The current valid entries of a batch and kinds, in filing order (superseded and
    /// not valid versions left out).
    pub fn reviewable_entries(&self, batch: u8, kinds: &[String]) -> Result<Vec<ReviewEntry>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {REVIEW_ENTRY_COLUMNS} FROM entries e
             WHERE e.batch = ?1 AND e.status = 'valid' AND e.superseded_by IS NULL
               AND e.kind IN (SELECT value FROM json_each(?2))
             ORDER BY e.id"
        ))?;
        let rows = st
            .query_map(params![batch as i64, to_json(kinds)], review_entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Creates a round holding `entries` (ids and receipts); returns its id.
    pub fn create_round(&mut self, r: &NewRound, entries: &[(i64, String)]) -> Result<i64> {
        let tx = self.begin()?;
        tx.tx.execute(
            "INSERT INTO review_rounds (batch, kinds, per_entry, cap, due, show_others, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                r.batch as i64,
                to_json(&r.kinds),
                r.per_entry as i64,
                r.cap.map(|c| c as i64),
                r.due,
                r.show_others as i64,
                now()
            ],
        )?;
        let id = tx.tx.last_insert_rowid();
        tx.add_round_entries(id, entries)?;
        tx.commit()?;
        Ok(id)
    }

    pub fn round(&self, id: i64) -> Result<Option<RoundRow>> {
        round_by_id(&self.conn, id)
    }

    pub fn rounds(&self) -> Result<Vec<RoundRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {ROUND_COLUMNS} FROM review_rounds ORDER BY id"
        ))?;
        let rows = st
            .query_map([], round_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Adds entries to a round (those already in it are kept as they are).
    pub fn add_round_entries(&mut self, round: i64, entries: &[(i64, String)]) -> Result<()> {
        let tx = self.begin()?;
        tx.add_round_entries(round, entries)?;
        tx.commit()
    }

    /// The entries a round holds that are still current and valid, in filing order.
    pub fn round_entries(&self, round: i64) -> Result<Vec<ReviewEntry>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {REVIEW_ENTRY_COLUMNS} FROM review_round_entries re
             JOIN entries e ON e.receipt = re.receipt
             WHERE re.round = ?1 AND e.status = 'valid' AND e.superseded_by IS NULL
             ORDER BY e.id"
        ))?;
        let rows = st
            .query_map([round], review_entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Replaces a round's assignments (the earlier rows end as `redrafted`).
    pub fn replace_assignments(&mut self, round: i64, rows: &[(String, i64)]) -> Result<()> {
        let tx = self.begin()?;
        let t = now();
        tx.tx.execute(
            "UPDATE review_assignments SET ended_at = ?2, ended_why = 'redrafted'
             WHERE round = ?1 AND ended_at IS NULL",
            params![round, t],
        )?;
        for (receipt, expert) in rows {
            tx.add_assignment(round, receipt, *expert, "solver")?;
        }
        tx.commit()
    }

    /// The assignments in force in a round, by receipt then expert; those of entries that
    /// are no longer current and valid (superseded, withdrawn) are left out.
    pub fn assignments(&self, round: i64) -> Result<Vec<AssignmentRow>> {
        let mut st = self.conn.prepare(
            "SELECT a.id, a.receipt, a.expert, a.origin FROM review_assignments a
             WHERE a.round = ?1 AND a.ended_at IS NULL
               AND EXISTS (SELECT 1 FROM entries e WHERE e.receipt = a.receipt
                           AND e.status = 'valid' AND e.superseded_by IS NULL)
             ORDER BY a.receipt, a.expert",
        )?;
        let rows = st
            .query_map([round], |r| {
                Ok(AssignmentRow {
                    id: r.get(0)?,
                    receipt: r.get(1)?,
                    expert: r.get(2)?,
                    origin: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Ends one assignment and, when given, starts another in its place, in one
    /// transaction. `why`: adjusted | recused; `origin` of the new one: staff | replacement.
    pub fn swap_assignment(
        &mut self,
        ended: i64,
        why: &str,
        new: Option<(i64, &str, i64, &str)>,
    ) -> Result<()> {
        let tx = self.begin()?;
        tx.swap_assignment(ended, why, new)?;
        tx.commit()
    }

    /// Adds one assignment (staff adding an expert to an entry).
    pub fn add_assignment(
        &mut self,
        round: i64,
        receipt: &str,
        expert: i64,
        origin: &str,
    ) -> Result<()> {
        let tx = self.begin()?;
        tx.add_assignment(round, receipt, expert, origin)?;
        tx.commit()
    }

    /// Moves a round to `state` (published | closed), stamping the time.
    pub fn set_round_state(&self, round: i64, state: &str) -> Result<()> {
        set_state(&self.conn, round, state)
    }

    /// Records a new version of a review; returns its id.
    pub fn add_review(&self, r: &NewReview) -> Result<i64> {
        insert_review(&self.conn, r)
    }

    /// The latest version of every review in a round whose assignment is in force.
    pub fn current_reviews(&self, round: i64) -> Result<Vec<ReviewRow>> {
        let mut st = self.conn.prepare(
            "SELECT v.id, v.receipt, v.expert, v.scores, v.total, v.comment, v.recommendation,
                    v.submitted, v.created_at
             FROM review_versions v
             WHERE v.round = ?1
               AND v.id = (SELECT max(id) FROM review_versions w
                           WHERE w.round = v.round AND w.receipt = v.receipt AND w.expert = v.expert)
               AND EXISTS (SELECT 1 FROM review_assignments a
                           WHERE a.round = v.round AND a.receipt = v.receipt
                             AND a.expert = v.expert AND a.ended_at IS NULL)
             ORDER BY v.receipt, v.expert",
        )?;
        let rows = st
            .query_map([round], review_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every saved version of one expert's review of an entry in a round, oldest first.
    pub fn review_versions(
        &self,
        round: i64,
        receipt: &str,
        expert: i64,
    ) -> Result<Vec<ReviewRow>> {
        let mut st = self.conn.prepare(
            "SELECT v.id, v.receipt, v.expert, v.scores, v.total, v.comment, v.recommendation,
                    v.submitted, v.created_at
             FROM review_versions v
             WHERE v.round = ?1 AND v.receipt = ?2 AND v.expert = ?3
             ORDER BY v.id",
        )?;
        let rows = st
            .query_map(params![round, receipt, expert], review_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// An expert's assignments, in force or ended by their recusal, of entries still
    /// current and valid, over every round: what the expert's review page lists.
    pub fn expert_assignments(&self, expert: i64) -> Result<Vec<ExpertAssignment>> {
        let mut st = self.conn.prepare(
            "SELECT a.id, a.round, a.receipt, a.ended_why FROM review_assignments a
             WHERE a.expert = ?1 AND (a.ended_at IS NULL OR a.ended_why = 'recused')
               AND EXISTS (SELECT 1 FROM entries e WHERE e.receipt = a.receipt
                           AND e.status = 'valid' AND e.superseded_by IS NULL)
             ORDER BY a.round, a.receipt, a.id",
        )?;
        let rows = st
            .query_map([expert], |r| {
                Ok(ExpertAssignment {
                    id: r.get(0)?,
                    round: r.get(1)?,
                    receipt: r.get(2)?,
                    recused: r.get::<_, Option<String>>(3)?.is_some(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How many versions a review has (every save is kept).
    pub fn review_version_count(&self, round: i64, receipt: &str, expert: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM review_versions WHERE round = ?1 AND receipt = ?2 AND expert = ?3",
            params![round, receipt, expert],
            |r| r.get(0),
        )?)
    }

    /// Records a decision on an entry (the latest counts).
    pub fn add_decision(
        &self,
        round: i64,
        receipt: &str,
        decision: &str,
        note: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO review_decisions (round, receipt, decision, note, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![round, receipt, decision, note, now()],
        )?;
        Ok(())
    }

    /// The latest decision per entry of a round.
    pub fn decisions(&self, round: i64) -> Result<Vec<DecisionRow>> {
        let mut st = self.conn.prepare(
            "SELECT d.receipt, d.decision, d.note, d.created_at FROM review_decisions d
             WHERE d.round = ?1
               AND d.id = (SELECT max(id) FROM review_decisions e
                           WHERE e.round = d.round AND e.receipt = d.receipt)
             ORDER BY d.receipt",
        )?;
        let rows = st
            .query_map([round], |r| {
                Ok(DecisionRow {
                    receipt: r.get(0)?,
                    decision: r.get(1)?,
                    note: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The receipts recommended (推介) in a batch's published decisions, in receipt order;
    /// None when no round of the batch has published its decisions. For the book and the
    /// platform export.
    pub fn published_recommendations(&self, batch: u8) -> Result<Option<Vec<String>>> {
        let published: i64 = self.conn.query_row(
            "SELECT count(*) FROM review_rounds WHERE batch = ?1 AND decisions_published_at IS NOT NULL",
            [batch as i64],
            |r| r.get(0),
        )?;
        if published == 0 {
            return Ok(None);
        }
        let mut st = self.conn.prepare(
            "SELECT d.receipt FROM review_decisions d JOIN review_rounds r ON r.id = d.round
             WHERE r.batch = ?1 AND r.decisions_published_at IS NOT NULL
               AND d.created_at <= r.decisions_published_at
               AND d.id = (SELECT max(id) FROM review_decisions e
                           WHERE e.round = d.round AND e.receipt = d.receipt
                             AND e.created_at <= r.decisions_published_at)
               AND d.decision = 'recommend'
             ORDER BY d.receipt",
        )?;
        let rows = st
            .query_map([batch as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(Some(rows))
    }
}

/// An entry of a round with the address that sent it (for the outcome mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySender {
    pub receipt: String,
    pub province: Option<String>,
    pub kind: String,
    pub name: String,
    pub sender: Option<String>,
}

impl Registry {
    /// The round's entries with their provinces and the addresses that sent them.
    pub fn round_entry_senders(&self, round: i64) -> Result<Vec<EntrySender>> {
        let mut st = self.conn.prepare(
            "SELECT e.receipt, e.province, e.kind, e.name, m.sender
             FROM review_round_entries re
             JOIN entries e ON e.receipt = re.receipt
             JOIN messages m ON m.id = e.message
             WHERE re.round = ?1 AND e.status = 'valid' AND e.superseded_by IS NULL
             ORDER BY e.province, e.id",
        )?;
        let rows = st
            .query_map([round], |r| {
                Ok(EntrySender {
                    receipt: r.get(0)?,
                    province: r.get(1)?,
                    kind: r.get(2)?,
                    name: r.get(3)?,
                    sender: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Published rounds (reminders look at these).
    pub fn published_rounds(&self) -> Result<Vec<RoundRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {ROUND_COLUMNS} FROM review_rounds WHERE state = 'published' ORDER BY id"
        ))?;
        let rows = st
            .query_map([], round_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    /// As [`Registry::swap_assignment`], inside the transaction.
    pub fn swap_assignment(
        &self,
        ended: i64,
        why: &str,
        new: Option<(i64, &str, i64, &str)>,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE review_assignments SET ended_at = ?2, ended_why = ?3
             WHERE id = ?1 AND ended_at IS NULL",
            params![ended, now(), why],
        )?;
        if let Some((round, receipt, expert, origin)) = new {
            self.add_assignment(round, receipt, expert, origin)?;
        }
        Ok(())
    }

    /// As [`Registry::declare_conflict`], inside the transaction.
    pub fn declare_conflict(
        &self,
        expert: i64,
        entry_key: &str,
        receipt: &str,
        note: &str,
    ) -> Result<()> {
        declare_conflict(&self.tx, expert, entry_key, receipt, note)
    }

    /// As [`Registry::round`], inside the transaction.
    pub fn review_round(&self, id: i64) -> Result<Option<RoundRow>> {
        round_by_id(&self.tx, id)
    }

    /// As [`Registry::expert_by_email`], inside the transaction.
    pub fn review_expert(&self, email: &str) -> Result<Option<ExpertRow>> {
        expert_by_email(&self.tx, email)
    }

    /// The receipts assigned to an expert in a round (assignments in force).
    pub fn review_assigned(&self, round: i64, expert: i64) -> Result<Vec<String>> {
        let mut st = self.tx.prepare(
            "SELECT a.receipt FROM review_assignments a
             WHERE a.round = ?1 AND a.expert = ?2 AND a.ended_at IS NULL
               AND EXISTS (SELECT 1 FROM entries e WHERE e.receipt = a.receipt
                           AND e.status = 'valid' AND e.superseded_by IS NULL)
             ORDER BY a.receipt",
        )?;
        let rows = st
            .query_map(params![round, expert], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// The kind key of a receipt.
    pub fn review_entry_kind(&self, receipt: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row(
                "SELECT kind FROM entries WHERE receipt = ?1",
                [receipt],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// As [`Registry::add_review`], inside the transaction.
    pub fn add_review(&self, r: &NewReview) -> Result<i64> {
        insert_review(&self.tx, r)
    }

    /// As [`Registry::set_round_state`], inside the transaction.
    pub fn set_round_state(&self, round: i64, state: &str) -> Result<()> {
        set_state(&self.tx, round, state)
    }

    /// Claims a once-only slot (the report's `report_slots`, keyed so no report slot can
    /// collide); false when it was claimed before.
    pub fn claim_review_slot(&self, key: &str) -> Result<bool> {
        self.claim_report_slot(key)
    }

    fn add_round_entries(&self, round: i64, entries: &[(i64, String)]) -> Result<()> {
        for (id, receipt) in entries {
            self.tx.execute(
                "INSERT OR IGNORE INTO review_round_entries (round, entry, receipt) VALUES (?1, ?2, ?3)",
                params![round, id, receipt],
            )?;
        }
        Ok(())
    }

    fn add_assignment(&self, round: i64, receipt: &str, expert: i64, origin: &str) -> Result<()> {
        self.tx.execute(
            "INSERT INTO review_assignments (round, receipt, expert, origin, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![round, receipt, expert, origin, now()],
        )?;
        Ok(())
    }

    /// Claims the day's review mail for an address; false when one was already claimed
    /// (the mail is then not queued). Queue the mail in the same transaction.
    pub fn claim_review_mail(
        &self,
        address: &str,
        day: &str,
        round: i64,
        purpose: &str,
    ) -> Result<bool> {
        let n = self.tx.execute(
            "INSERT OR IGNORE INTO review_mail (address, day, round, purpose, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![address.to_lowercase(), day, round, purpose, now()],
        )?;
        Ok(n == 1)
    }

    /// Links a claimed review mail to its outbox row.
    pub fn set_review_mail_outbox(&self, address: &str, day: &str, outbox: i64) -> Result<()> {
        self.tx.execute(
            "UPDATE review_mail SET outbox = ?3 WHERE address = ?1 AND day = ?2",
            params![address.to_lowercase(), day, outbox],
        )?;
        Ok(())
    }

    /// Stamps that a round's decisions were published; false when they already were.
    pub fn mark_decisions_published(&self, round: i64) -> Result<bool> {
        let n = self.tx.execute(
            "UPDATE review_rounds SET decisions_published_at = ?2
             WHERE id = ?1 AND decisions_published_at IS NULL",
            params![round, now()],
        )?;
        Ok(n == 1)
    }

    /// Stamps that the round's "complete" mail to staff was queued; false when it already
    /// was.
    pub fn mark_round_complete_mail(&self, round: i64) -> Result<bool> {
        let n = self.tx.execute(
            "UPDATE review_rounds SET completed_mail_at = ?2 WHERE id = ?1 AND completed_mail_at IS NULL",
            params![round, now()],
        )?;
        Ok(n == 1)
    }
}

fn set_state(conn: &Connection, round: i64, state: &str) -> Result<()> {
    let column = match state {
        "published" => "published_at",
        "closed" => "closed_at",
        _ => "created_at",
    };
    conn.execute(
        &format!(
            "UPDATE review_rounds SET state = ?2, {column} = coalesce({column}, ?3) WHERE id = ?1"
        ),
        params![round, state, now()],
    )?;
    Ok(())
}

fn insert_review(conn: &Connection, r: &NewReview) -> Result<i64> {
    conn.execute(
        "INSERT INTO review_versions (round, receipt, expert, scores, total, comment,
            recommendation, submitted, via, message, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            r.round,
            r.receipt,
            r.expert,
            r.scores,
            r.total,
            r.comment,
            r.recommendation,
            r.submitted as i64,
            r.via,
            r.message,
            now()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

// Statements used both on the registry and inside a transaction.

fn expert_by_email(c: &Connection, email: &str) -> Result<Option<ExpertRow>> {
    Ok(c.query_row(
        &format!("SELECT {EXPERT_COLUMNS} FROM review_experts WHERE email = ?1"),
        [email.trim().to_lowercase()],
        expert_row,
    )
    .optional()?)
}

fn round_by_id(c: &Connection, id: i64) -> Result<Option<RoundRow>> {
    Ok(c.query_row(
        &format!("SELECT {ROUND_COLUMNS} FROM review_rounds WHERE id = ?1"),
        [id],
        round_row,
    )
    .optional()?)
}

fn declare_conflict(
    c: &Connection,
    expert: i64,
    entry_key: &str,
    receipt: &str,
    note: &str,
) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO review_conflicts (expert, entry_key, receipt, note, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![expert, entry_key, receipt, note, now()],
    )?;
    Ok(())
}
