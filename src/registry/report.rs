//! What the weekly report and the exports read: entry rows with their sender, and the
//! report slots already taken.

use rusqlite::{OptionalExtension, Row};

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
}

const COLUMNS: &str = "e.receipt, e.province, e.batch, e.late, e.kind, e.name, e.unit, e.status,
    e.errors, e.themes, e.version, e.supersedes IS NOT NULL, e.arrived_at, e.created_at, m.sender,
    (SELECT s.receipt FROM entries s WHERE s.id = e.supersedes),
    (SELECT s.receipt FROM entries s WHERE s.id = e.superseded_by)";

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
    })
}

impl Registry {
    /// The versions current as of a moment (stored form): a version counts when it came in
    /// (arrival, else filing) by then and had not been replaced by a version that came in by
    /// then. Ordered by receipt.
    pub fn entries_as_of(&self, as_of: &str) -> Result<Vec<ReportEntry>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM entries e LEFT JOIN messages m ON m.id = e.message
             WHERE coalesce(e.arrived_at, e.created_at) <= ?1
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

    /// Entries to export: current versions, or every version. Ordered by receipt.
    pub fn entries_for_export(&self, all_versions: bool) -> Result<Vec<ReportEntry>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM entries e LEFT JOIN messages m ON m.id = e.message
             WHERE ?1 OR e.superseded_by IS NULL
             ORDER BY e.receipt"
        ))?;
        let rows = st
            .query_map([all_versions], entry)?
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

    /// How many slots were ever recorded.
    pub fn report_slot_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM report_slots", [], |r| r.get(0))?)
    }
}
