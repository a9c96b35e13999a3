//! What the book (汇编成册) and the platform export read: the current valid entries of a
//! batch with the file each came from, and the files of a message.
//!
//! Only current versions whose status is `valid` are returned: a superseded version, and
//! any entry whose status is not `valid` (invalid, held, or a later status such as a
//! withdrawal), never reaches a public document.

use rusqlite::{params, Row};

use super::{Registry, Result};
use crate::filing::{EntryStatus, FileRole};

/// One entry as the book and the export see it.
#[derive(Debug, Clone)]
pub struct PublishedEntry {
    pub receipt: String,
    pub message: i64,
    pub province: Option<String>,
    pub batch: Option<u8>,
    pub kind: String,
    pub name: String,
    pub unit: Option<String>,
    /// Field key → value (JSON object as filed).
    pub fields: String,
    /// Theme names (JSON array as filed).
    pub themes: String,
    /// The form the entry was read from.
    pub form: StoredFile,
}

/// A file of a stored message, as recorded at filing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: i64,
    pub message: i64,
    /// Position among the message's files (the order `message::parse` gives them).
    pub seq: i64,
    pub filename: String,
    pub container: Option<String>,
    pub path_in_container: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub file_type: String,
    pub role: FileRole,
}

const FILE_COLUMNS: &str =
    "f.id, f.message, f.seq, f.filename, f.container, f.path_in_container, f.sha256, f.size,
     f.file_type, f.role";

fn file_row(r: &Row, at: usize) -> rusqlite::Result<StoredFile> {
    Ok(StoredFile {
        id: r.get(at)?,
        message: r.get(at + 1)?,
        seq: r.get(at + 2)?,
        filename: r.get(at + 3)?,
        container: r.get(at + 4)?,
        path_in_container: r.get(at + 5)?,
        sha256: r.get(at + 6)?,
        size: r.get(at + 7)?,
        file_type: r.get(at + 8)?,
        role: r.get(at + 9)?,
    })
}

impl Registry {
    /// The current valid entries of `batch`, in receipt order; when `receipts` is given, only
    /// those among them (a receipt that is not a current valid entry of the batch is left
    /// out, and the caller can tell by comparing).
    pub fn published_entries(
        &self,
        batch: u8,
        receipts: Option<&[String]>,
    ) -> Result<Vec<PublishedEntry>> {
        let sql = format!(
            "SELECT e.receipt, e.message, e.province, e.batch, e.kind, e.name, e.unit, e.fields,
                    e.themes, {FILE_COLUMNS}
             FROM entries e JOIN files f ON f.id = e.file
             WHERE e.batch = ?1 AND e.status = ?2 AND e.superseded_by IS NULL
             ORDER BY e.receipt"
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map(params![batch as i64, EntryStatus::Valid], |r| {
                Ok(PublishedEntry {
                    receipt: r.get(0)?,
                    message: r.get(1)?,
                    province: r.get(2)?,
                    batch: r.get(3)?,
                    kind: r.get(4)?,
                    name: r.get(5)?,
                    unit: r.get(6)?,
                    fields: r.get(7)?,
                    themes: r.get(8)?,
                    form: file_row(r, 9)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(match receipts {
            None => rows,
            Some(wanted) => rows
                .into_iter()
                .filter(|e| wanted.iter().any(|w| w == &e.receipt))
                .collect(),
        })
    }

    /// The files of a message with the given role, one per position (a message processed
    /// again records its files again; the latest record of each position counts).
    pub fn message_files(&self, message: i64, role: FileRole) -> Result<Vec<StoredFile>> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files f
             WHERE f.message = ?1 AND f.role = ?2
               AND f.id = (SELECT max(g.id) FROM files g WHERE g.message = f.message AND g.seq = f.seq)
             ORDER BY f.seq"
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map(params![message, role], |r| file_row(r, 0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
