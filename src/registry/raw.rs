//! The raw-message store: every message is written to `raw/<aa>/<sha256>.eml` (fsync'd)
//! and given a row before anything else is done with it. Nothing is ever deleted.

use std::io::Write;

use rusqlite::OptionalExtension;
use sha2::{Digest, Sha256};

use super::{now, MessageState, Registry, RegistryError, Result, SourceRef};

/// A stored message.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub sha256: String,
    /// The message was stored before from the same source; its state then.
    pub earlier_state: Option<MessageState>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Registry {
    /// Stores the raw bytes and a `messages` row. When the source key was seen before,
    /// returns that row instead (nothing is stored twice).
    pub fn store_raw(&mut self, raw: &[u8], source: &SourceRef) -> Result<Stored> {
        if let Some(key) = &source.key {
            let earlier: Option<(i64, String, MessageState)> = self
                .conn
                .query_row(
                    "SELECT id, sha256, state FROM messages WHERE source_key = ?1",
                    [key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            if let Some((id, sha256, state)) = earlier {
                return Ok(Stored {
                    id,
                    sha256,
                    earlier_state: Some(state),
                });
            }
        }
        let sha256 = sha256_hex(raw);
        let rel = format!("raw/{}/{}.eml", &sha256[..2], sha256);
        let path = self.dir.join(&rel);
        if !path.exists() {
            let parent = path.parent().expect("raw path has a parent");
            std::fs::create_dir_all(parent).map_err(|source| RegistryError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
            let tmp = path.with_extension("tmp");
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(raw)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                Ok(())
            };
            write().map_err(|source| RegistryError::Io {
                path: path.clone(),
                source,
            })?;
        }
        self.conn.execute(
            "INSERT INTO messages (sha256, raw_path, size, source, source_key, arrived_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                sha256,
                rel,
                raw.len() as i64,
                source.source,
                source.key,
                source.arrived_at,
                now()
            ],
        )?;
        Ok(Stored {
            id: self.conn.last_insert_rowid(),
            sha256,
            earlier_state: None,
        })
    }

    /// Other messages with the same bytes (for re-matching after a UIDVALIDITY change).
    pub fn messages_with_sha(&self, sha256: &str) -> Result<Vec<i64>> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM messages WHERE sha256 = ?1 ORDER BY id")?;
        let ids = st
            .query_map([sha256], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// Source details of a stored message (for reprocessing).
    pub fn message_source(&self, id: i64) -> Result<Option<(String, Option<String>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT source, arrived_at FROM messages WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}
