//! Files, entries, versions and receipt numbers.

use rusqlite::{params, OptionalExtension, Row};

use super::{now, Registry, Result, Tx};
use crate::filing::{EntryStatus, FileRole};

/// A file of a message, as recorded.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub message: i64,
    pub seq: usize,
    pub filename: &'a str,
    pub container: Option<&'a str>,
    pub path_in_container: Option<&'a str>,
    pub sha256: &'a str,
    pub size: usize,
    pub file_type: &'a str,
    pub role: FileRole,
    pub kind: Option<&'a str>,
    pub errors: String,
    pub warnings: String,
}

/// A new entry version to file.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub message: i64,
    pub file: i64,
    pub file_sha256: &'a str,
    pub entry_key: String,
    /// Receipt prefix without the sequence, e.g. "ZHZL-2021-B1-GD-C".
    pub receipt_prefix: String,
    pub province: Option<&'a str>,
    pub batch: Option<u8>,
    pub late: bool,
    pub kind: &'a str,
    pub name: &'a str,
    pub unit: Option<&'a str>,
    pub status: EntryStatus,
    pub fields: String,
    pub errors: String,
    pub warnings: String,
    pub themes: String,
    pub arrived_at: Option<String>,
}

/// An entry version as stored.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub id: i64,
    pub receipt: String,
    pub entry_key: String,
    pub version: i64,
    pub supersedes: Option<String>,
    pub superseded_by: Option<String>,
    pub message: i64,
    pub province: Option<String>,
    pub batch: Option<u8>,
    pub late: bool,
    pub kind: String,
    pub name: String,
    pub unit: Option<String>,
    pub status: EntryStatus,
    pub fields: String,
    pub errors: String,
    pub warnings: String,
    pub themes: String,
    pub arrived_at: Option<String>,
    pub created_at: String,
    /// When staff withdrew this version (撤回): kept, counted nowhere.
    pub withdrawn_at: Option<String>,
}

pub(super) const ENTRY_COLUMNS: &str = "e.id, e.receipt, e.entry_key, e.version,
    (SELECT receipt FROM entries s WHERE s.id = e.supersedes),
    (SELECT receipt FROM entries s WHERE s.id = e.superseded_by),
    e.message, e.province, e.batch, e.late, e.kind, e.name, e.unit, e.status, e.fields,
    e.errors, e.warnings, e.themes, e.arrived_at, e.created_at, e.withdrawn_at";

pub(super) fn entry_row(r: &Row) -> rusqlite::Result<EntryRow> {
    Ok(EntryRow {
        id: r.get(0)?,
        receipt: r.get(1)?,
        entry_key: r.get(2)?,
        version: r.get(3)?,
        supersedes: r.get(4)?,
        superseded_by: r.get(5)?,
        message: r.get(6)?,
        province: r.get(7)?,
        batch: r.get(8)?,
        late: r.get::<_, i64>(9)? != 0,
        kind: r.get(10)?,
        name: r.get(11)?,
        unit: r.get(12)?,
        status: r.get(13)?,
        fields: r.get(14)?,
        errors: r.get(15)?,
        warnings: r.get(16)?,
        themes: r.get(17)?,
        arrived_at: r.get(18)?,
        created_at: r.get(19)?,
        withdrawn_at: r.get(20)?,
    })
}

impl Tx<'_> {
    pub fn add_file(&self, f: &NewFile) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO files (message, seq, filename, container, path_in_container, sha256,
                size, file_type, role, kind, errors, warnings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                f.message,
                f.seq as i64,
                f.filename,
                f.container,
                f.path_in_container,
                f.sha256,
                f.size as i64,
                f.file_type,
                f.role,
                f.kind,
                f.errors,
                f.warnings
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The entry filed earlier from a file with these exact bytes by another message (a
    /// message processed again re-files its own files).
    pub fn entry_by_file_sha(&self, sha256: &str, message: i64) -> Result<Option<EntryRow>> {
        Ok(self
            .tx
            .query_row(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries e
                     WHERE e.file_sha256 = ?1 AND e.message != ?2 ORDER BY e.id LIMIT 1"
                ),
                params![sha256, message],
                entry_row,
            )
            .optional()?)
    }

    /// How many current, valid entries a province has in a batch, by kind key (for the
    /// reply's running total; counted inside the filing transaction, so the message being
    /// filed counts too).
    pub fn valid_counts(&self, province: &str, batch: u8) -> Result<Vec<(String, i64)>> {
        let mut st = self.tx.prepare(
            "SELECT kind, count(*) FROM entries
             WHERE province = ?1 AND batch = ?2 AND status = 'valid' AND superseded_by IS NULL
               AND withdrawn_at IS NULL
             GROUP BY kind",
        )?;
        let rows = st
            .query_map(params![province, batch as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The current (not superseded) version of an entry.
    pub fn current_version(&self, entry_key: &str) -> Result<Option<EntryRow>> {
        Ok(self
            .tx
            .query_row(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries e
                     WHERE e.entry_key = ?1 AND e.superseded_by IS NULL ORDER BY e.id DESC LIMIT 1"
                ),
                [entry_key],
                entry_row,
            )
            .optional()?)
    }

    /// Files a new entry version: allocates its receipt number and, when an earlier version
    /// of the same entry exists, links the two. Returns the stored row.
    pub fn file_entry(&self, e: &NewEntry) -> Result<EntryRow> {
        let previous = self.current_version(&e.entry_key)?;
        let seq = self.next_sequence(&e.receipt_prefix)?;
        let receipt = format!("{}-{:04}", e.receipt_prefix, seq);
        let version = previous.as_ref().map(|p| p.version + 1).unwrap_or(1);
        self.tx.execute(
            "INSERT INTO entries (receipt, entry_key, version, supersedes, message, file,
                file_sha256, province, batch, late, kind, name, unit, status, fields, errors,
                warnings, themes, arrived_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20)",
            params![
                receipt,
                e.entry_key,
                version,
                previous.as_ref().map(|p| p.id),
                e.message,
                e.file,
                e.file_sha256,
                e.province,
                e.batch,
                e.late as i64,
                e.kind,
                e.name,
                e.unit,
                e.status,
                e.fields,
                e.errors,
                e.warnings,
                e.themes,
                e.arrived_at,
                now()
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        if let Some(p) = &previous {
            self.tx.execute(
                "UPDATE entries SET superseded_by = ?1 WHERE id = ?2",
                params![id, p.id],
            )?;
        }
        Ok(self.tx.query_row(
            &format!("SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.id = ?1"),
            [id],
            entry_row,
        )?)
    }

    fn next_sequence(&self, scope: &str) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO sequences (scope, next) VALUES (?1, 1)
             ON CONFLICT(scope) DO UPDATE SET next = next + 1",
            [scope],
        )?;
        Ok(self.tx.query_row(
            "SELECT next FROM sequences WHERE scope = ?1",
            [scope],
            |r| r.get(0),
        )?)
    }
}

/// Filters for listing entries.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub province: Option<String>,
    pub batch: Option<u8>,
    pub kind: Option<String>,
    pub status: Option<EntryStatus>,
    /// Include superseded versions.
    pub all_versions: bool,
    /// Include withdrawn entries (撤回), which count nowhere and are left out by default.
    pub include_withdrawn: bool,
}

impl Registry {
    /// Entries, current versions only unless asked, in filing order.
    pub fn entries(&self, filter: &EntryFilter) -> Result<Vec<EntryRow>> {
        let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM entries e WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if !filter.all_versions {
            sql.push_str(" AND e.superseded_by IS NULL");
        }
        if !filter.include_withdrawn {
            sql.push_str(" AND e.withdrawn_at IS NULL");
        }
        if let Some(p) = &filter.province {
            args.push(p.clone().into());
            sql.push_str(&format!(" AND e.province = ?{}", args.len()));
        }
        if let Some(b) = filter.batch {
            args.push((b as i64).into());
            sql.push_str(&format!(" AND e.batch = ?{}", args.len()));
        }
        if let Some(k) = &filter.kind {
            args.push(k.clone().into());
            sql.push_str(&format!(" AND e.kind = ?{}", args.len()));
        }
        if let Some(s) = &filter.status {
            args.push(s.as_str().to_string().into());
            sql.push_str(&format!(" AND e.status = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY e.id");
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args), entry_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
