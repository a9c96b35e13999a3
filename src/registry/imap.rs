//! IMAP bookkeeping: per folder the UIDVALIDITY seen and the highest UID handed over,
//! which messages of a mailbox were filed (by source key), re-matching by content after a
//! UIDVALIDITY change, and which sent replies were copied to the Sent folder.
//!
//! The database alone says what was processed; server flags such as \Seen never do.

use rusqlite::OptionalExtension;

use super::{MessageState, Registry, Result};
use crate::queued::{OutboxState, Purpose};

/// The stored state of one watched folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderState {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

/// A sent mail to copy into the Sent folder.
#[derive(Debug, Clone)]
pub struct SentCopy {
    pub id: i64,
    pub body: Vec<u8>,
    /// When it was sent (RFC 3339), for the copy's INTERNALDATE.
    pub sent_at: Option<String>,
}

impl Registry {
    /// The folder's UIDVALIDITY and highest processed UID, if it was watched before.
    pub fn imap_folder(&self, account: &str, folder: &str) -> Result<Option<FolderState>> {
        Ok(self
            .conn
            .query_row(
                "SELECT uidvalidity, last_uid FROM imap_folders WHERE account = ?1 AND folder = ?2",
                [account, folder],
                |r| {
                    Ok(FolderState {
                        uidvalidity: r.get::<_, i64>(0)? as u32,
                        last_uid: r.get::<_, i64>(1)? as u32,
                    })
                },
            )
            .optional()?)
    }

    /// Records the folder's state. Within one UIDVALIDITY the UID only moves forward; a new
    /// UIDVALIDITY replaces the old state.
    pub fn set_imap_folder(&self, account: &str, folder: &str, st: FolderState) -> Result<()> {
        self.conn.execute(
            "INSERT INTO imap_folders (account, folder, uidvalidity, last_uid)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account, folder) DO UPDATE SET
                last_uid = CASE WHEN uidvalidity = excluded.uidvalidity
                                THEN max(last_uid, excluded.last_uid)
                                ELSE excluded.last_uid END,
                uidvalidity = excluded.uidvalidity",
            rusqlite::params![account, folder, st.uidvalidity as i64, st.last_uid as i64],
        )?;
        Ok(())
    }

    /// The highest UID that was already in the folder when this data folder first watched
    /// it (None: watched before this was recorded, or never).
    pub fn imap_history(&self, account: &str, folder: &str) -> Result<Option<u32>> {
        Ok(self
            .conn
            .query_row(
                "SELECT history_uid FROM imap_folders WHERE account = ?1 AND folder = ?2",
                [account, folder],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten()
            .map(|u| u as u32))
    }

    /// Records the folder's old mail boundary (see [`Self::imap_history`]); the folder's row
    /// must exist ([`Self::set_imap_folder`]).
    pub fn set_imap_history(&self, account: &str, folder: &str, uid: u32) -> Result<()> {
        self.conn.execute(
            "UPDATE imap_folders SET history_uid = ?3 WHERE account = ?1 AND folder = ?2",
            rusqlite::params![account, folder, uid as i64],
        )?;
        Ok(())
    }

    /// The state of the message stored under any of `keys` (e.g. the plain key and its
    /// oversize variant): `received`, `filed` or `quarantined`.
    pub fn source_state(&self, keys: &[&str]) -> Result<Option<MessageState>> {
        for key in keys {
            let st: Option<MessageState> = self
                .conn
                .query_row(
                    "SELECT state FROM messages WHERE source_key = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()?;
            if st.is_some() {
                return Ok(st);
            }
        }
        Ok(None)
    }

    /// A message with these exact bytes that was filed from this folder under an earlier
    /// UIDVALIDITY (`folder_prefix` is the key up to the UIDVALIDITY, `current_prefix` the
    /// key up to the current one): the same message seen again after the server renumbered.
    pub fn filed_in_earlier_epoch(
        &self,
        sha256: &str,
        folder_prefix: &str,
        current_prefix: &str,
    ) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM messages
                 WHERE sha256 = ?1 AND source = 'imap' AND state <> ?4
                   AND substr(source_key, 1, length(?2)) = ?2
                   AND substr(source_key, 1, length(?3)) <> ?3
                 ORDER BY id LIMIT 1",
                rusqlite::params![
                    sha256,
                    folder_prefix,
                    current_prefix,
                    MessageState::Received
                ],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Replies handed over after outbox row `after`, in order, up to the first one still
    /// in flight (pending), so that a copy is never skipped. Returns the rows to copy (only
    /// those sent) and the id up to which everything is settled.
    pub fn sent_replies_after(&self, after: i64, limit: usize) -> Result<(Vec<SentCopy>, i64)> {
        let mut st = self.conn.prepare(
            "SELECT id, purpose, state, body, sent_at FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = st
            .query_map(rusqlite::params![after, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Purpose>(1)?,
                    r.get::<_, OutboxState>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::new();
        let mut settled = after;
        for (id, purpose, state, body, sent_at) in rows {
            if state.in_flight() {
                break;
            }
            if state == OutboxState::Sent && purpose == Purpose::Reply {
                out.push(SentCopy { id, body, sent_at });
            }
            settled = id;
        }
        Ok((out, settled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_state_moves_forward_within_one_uidvalidity() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path()).unwrap();
        assert_eq!(reg.imap_folder("a", "INBOX").unwrap(), None);
        let st = |v, u| FolderState {
            uidvalidity: v,
            last_uid: u,
        };
        reg.set_imap_folder("a", "INBOX", st(7, 10)).unwrap();
        reg.set_imap_folder("a", "INBOX", st(7, 4)).unwrap();
        assert_eq!(reg.imap_folder("a", "INBOX").unwrap(), Some(st(7, 10)));
        reg.set_imap_folder("a", "INBOX", st(9, 2)).unwrap();
        assert_eq!(reg.imap_folder("a", "INBOX").unwrap(), Some(st(9, 2)));
        assert_eq!(reg.imap_folder("b", "INBOX").unwrap(), None);
    }
}
