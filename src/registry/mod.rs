//! Registry: the SQLite database and the raw-message store under the data directory.
//!
//! Owns: every SQL statement of lndx, schema migrations, content-addressed raw messages,
//! receipt numbers (stable, never reused), entry versions, the outbox queue and its
//! delivery log. Knows nothing of IMAP, MIME or forms: callers hand it plain values.

mod book;
pub mod console;
mod desk;
mod entries;
pub mod imap;
mod report;
mod review;
mod review_staff;

pub use report::{AnsweredProblem, ListedMessage, ReportEntry, SentMail, Undelivered};
mod migrate;
mod outbox;
mod raw;

pub use raw::sha256_hex;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use crate::spelling::spelled;

pub use book::{PublishedEntry, StoredFile};
pub use desk::{
    AuditEntry, DeskMail, DeskMessage, LateDecision, NewAudit, NoteRow, ProblemFile, ResolutionRow,
};
pub use entries::{EntryFilter, EntryRow, NewEntry, NewFile};
pub use outbox::{Delivery, LoopEvidence, OutboxListed, OutboxRow, QueuedMail};
pub use raw::Stored;
pub use review::{
    AssignmentRow, DecisionRow, EntrySender, ExpertAssignment, ExpertRow, NewExpert, NewReview,
    NewRound, ReviewEntry, ReviewRow, RoundRow,
};
pub use review_staff::ReviewMailRow;

/// A registry operation that failed; these stop the current message, never the daemon.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the database at {path} was written by a newer lndx (schema {found}, this build knows {known})")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

pub type Result<T> = std::result::Result<T, RegistryError>;

/// Where a stored message stands (`messages.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// Stored raw, not yet filed (a crash came in between): filed at the next start.
    Received,
    /// Filed, with its result.
    Filed,
    /// Could not be processed: kept, shown in health, not retried.
    Quarantined,
}

spelled!(MessageState, "message state", [
    Received => "received",
    Filed => "filed",
    Quarantined => "quarantined",
]);

/// Where a message came from, so that the same mailbox message is never filed twice.
#[derive(Debug, Clone, Default)]
pub struct SourceRef {
    /// file | maildir | imap
    pub source: &'static str,
    /// Unique per source, or None for one-off files.
    pub key: Option<String>,
    /// Arrival time (RFC 3339, UTC) as the source knows it.
    pub arrived_at: Option<String>,
    /// The message's size on the server when only its header was fetched (it is over the
    /// size limit): the filing answers `too_large` from the header alone.
    pub declared_size: Option<u64>,
    /// Filed without a reply, for this reason: `done_keyword` (an earlier lndx marked it
    /// done) or `existing_mail` (it was in the mailbox before lndx first watched it).
    pub no_reply: Option<&'static str>,
}

/// The registry: one SQLite connection plus the data directory.
pub struct Registry {
    conn: Connection,
    dir: PathBuf,
}

impl Registry {
    /// Opens (creating when needed) the registry in `dir`: `lndx.db` and `raw/`.
    /// The directory is made private (0700) and the database 0600.
    pub fn open(dir: &Path) -> Result<Registry> {
        create_private_dir(dir)?;
        let path = dir.join("lndx.db");
        let conn = Connection::open(&path)?;
        restrict_file(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate::run(&conn, &path)?;
        Ok(Registry {
            conn,
            dir: dir.to_path_buf(),
        })
    }

    /// Looks at the registry in `dir` without changing anything (for `lndx doctor`): None
    /// when there is no database yet; else its schema version and how many messages and
    /// entries it holds. The file is opened read-only and never migrated, so a database
    /// of a newer schema is reported, not refused.
    pub fn inspect(dir: &Path) -> Result<Option<Inspection>> {
        let path = dir.join("lndx.db");
        if !path.is_file() {
            return Ok(None);
        }
        let conn = open_untouched(&path)?;
        let schema: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let count = |table: &str| -> Result<i64> {
            Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
        };
        let (messages, entries) = if schema > 0 {
            (count("messages")?, count("entries")?)
        } else {
            (0, 0)
        };
        Ok(Some(Inspection {
            path,
            schema,
            known_schema: migrate::known(),
            messages,
            entries,
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts the one transaction in which a message is filed (or an action recorded).
    /// Inside [`Registry::atomically`] it is a savepoint of the outer transaction: its
    /// commit is kept only if the whole of the outer work commits.
    pub fn begin(&mut self) -> Result<Tx<'_>> {
        let tx = if self.conn.is_autocommit() {
            Open::Transaction(
                self.conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?,
            )
        } else {
            Open::Savepoint(self.conn.savepoint()?)
        };
        Ok(Tx { tx })
    }

    /// Whether no transaction is open on this connection (it may be reused as it is).
    pub fn idle(&self) -> bool {
        self.conn.is_autocommit()
    }

    /// Runs `work` in one transaction (taken at once, like `begin`): whatever it writes,
    /// through `begin` or not, commits together when it returns Ok and is rolled back when
    /// it returns an error or panics. An action and its audit row are written this way.
    pub fn atomically<T, E: From<RegistryError>>(
        &mut self,
        work: impl FnOnce(&mut Registry) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if !self.conn.is_autocommit() {
            // Already inside: the outer transaction decides.
            return work(self);
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(RegistryError::from)?;
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(self)));
        match out {
            Ok(Ok(v)) => {
                if let Err(e) = self.conn.execute_batch("COMMIT") {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(RegistryError::from(e).into());
                }
                Ok(v)
            }
            Ok(Err(e)) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
            Err(panic) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// The stored JSON result of a message already filed from the same source, if any.
    pub fn result_for_source(&self, key: &str) -> Result<Option<(i64, Option<String>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, result FROM messages WHERE source_key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Raw bytes of a stored message.
    pub fn raw_message(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let path: Option<String> = self
            .conn
            .query_row("SELECT raw_path FROM messages WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        match path {
            None => Ok(None),
            Some(p) => {
                let full = self.dir.join(&p);
                std::fs::read(&full)
                    .map(Some)
                    .map_err(|source| RegistryError::Io { path: full, source })
            }
        }
    }

    /// Messages stored but not filed (a crash happened in between): to be processed again.
    pub fn unfinished_messages(&self) -> Result<Vec<i64>> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM messages WHERE state = ?1 ORDER BY id")?;
        let ids = st
            .query_map([MessageState::Received], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// Records that a message could not be processed (kept, shown in health, not retried).
    pub fn quarantine(&self, id: i64, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE messages SET state = ?4, error = ?2, processed_at = ?3 WHERE id = ?1",
            rusqlite::params![id, error, now(), MessageState::Quarantined],
        )?;
        Ok(())
    }

    /// Stored messages, newest first: (id, arrived_at, sender, subject, state, province,
    /// skipped).
    pub fn messages(&self, limit: usize) -> Result<Vec<MessageRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, arrived_at, sender, subject, state, province, skipped
             FROM messages ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st
            .query_map([limit as i64], |r| {
                Ok(MessageRow {
                    id: r.get(0)?,
                    arrived_at: r.get(1)?,
                    sender: r.get(2)?,
                    subject: r.get(3)?,
                    state: r.get(4)?,
                    province: r.get(5)?,
                    skipped: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn count_quarantined(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM messages WHERE state = ?1",
            [MessageState::Quarantined],
            |r| r.get(0),
        )?)
    }
}

/// The transaction that files one message: files, entries, receipts, queued replies and
/// the message's result either all land or none do.
pub struct Tx<'a> {
    tx: Open<'a>,
}

/// A transaction of its own, or a savepoint inside [`Registry::atomically`]'s.
enum Open<'a> {
    Transaction(rusqlite::Transaction<'a>),
    Savepoint(rusqlite::Savepoint<'a>),
}

impl std::ops::Deref for Open<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Open::Transaction(t) => t,
            Open::Savepoint(s) => s,
        }
    }
}

impl Tx<'_> {
    pub fn commit(self) -> Result<()> {
        match self.tx {
            Open::Transaction(t) => t.commit()?,
            Open::Savepoint(s) => s.commit()?,
        }
        Ok(())
    }

    /// Marks a message filed with its JSON result and what it was judged to be.
    pub fn finish_message(&self, id: i64, fin: &Finished) -> Result<()> {
        self.tx.execute(
            "UPDATE messages SET state = ?11, message_id = ?2, sender = ?3, subject = ?4,
                province = ?5, batch = ?6, skipped = ?7, result = ?8, processed_at = ?9,
                arrived_at = coalesce(arrived_at, ?10), fingerprint = ?12, bare_answer = ?13
             WHERE id = ?1",
            rusqlite::params![
                id,
                fin.message_id,
                fin.sender,
                fin.subject,
                fin.province,
                fin.batch,
                fin.skipped,
                fin.result,
                now(),
                fin.arrived_at,
                MessageState::Filed,
                fin.fingerprint,
                fin.bare_answer
            ],
        )?;
        Ok(())
    }
}

/// What [`Registry::inspect`] found.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub path: PathBuf,
    /// The database's schema version (`PRAGMA user_version`; 0: empty).
    pub schema: i64,
    /// The schema version this build writes (an older database is migrated at open).
    pub known_schema: i64,
    pub messages: i64,
    pub entries: i64,
}

/// A stored message, for listings.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: i64,
    pub arrived_at: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub state: MessageState,
    pub province: Option<String>,
    pub skipped: Option<String>,
}

/// What is recorded of a filed message.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub province: Option<String>,
    pub batch: Option<u8>,
    pub skipped: Option<String>,
    pub result: String,
    pub arrived_at: Option<String>,
    /// What the loop guard compares (see `intake::guard`).
    pub fingerprint: Option<String>,
    /// The message answers one of our mails and carries no file.
    pub bare_answer: bool,
}

/// The current time as stored (RFC 3339, UTC, seconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Opens a database read-only without creating a file next to it. A read-only
/// connection to a WAL database creates `-wal` and `-shm` when they are missing and
/// leaves them behind (seen here: `doctor` run as root left root-owned files the service
/// user could then not open). So when they are not both there, the database has no
/// write-ahead log in use and is opened `immutable` (no locks, no side files); when they
/// are, a running lndx may be writing, and a plain read-only connection sees its data.
fn open_untouched(path: &Path) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let side = |ext: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p).exists()
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if side("-wal") && side("-shm") {
        return Ok(Connection::open_with_flags(path, flags)?);
    }
    // A URI, with the characters that URIs reserve escaped.
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    Ok(Connection::open_with_flags(
        uri,
        flags | OpenFlags::SQLITE_OPEN_URI,
    )?)
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| RegistryError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
            |source| RegistryError::Io {
                path: dir.to_path_buf(),
                source,
            },
        )?;
    }
    Ok(())
}

fn restrict_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| RegistryError::Io {
                path: path.to_path_buf(),
                source,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit_rows(reg: &Registry) -> i64 {
        reg.conn
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
            .unwrap()
    }

    fn write(reg: &mut Registry, what: &str) -> Result<()> {
        let tx = reg.begin()?;
        tx.audit(&NewAudit {
            actor: "test",
            action: what,
            object: "x",
            before: "null".into(),
            after: "null".into(),
            note: None,
        })?;
        tx.commit()
    }

    #[test]
    fn atomically_keeps_all_or_nothing_of_what_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Registry::open(dir.path()).unwrap();
        // An error after an inner commit: the inner commit is undone too.
        let failed: Result<()> = reg.atomically(|reg| {
            write(reg, "first")?;
            Err(RegistryError::Sql(rusqlite::Error::InvalidQuery))
        });
        assert!(failed.is_err());
        assert_eq!(audit_rows(&reg), 0);
        // A panic rolls back and leaves the registry usable.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<()> = reg.atomically(|reg| {
                write(reg, "second")?;
                panic!("in the middle");
            });
        }));
        assert!(panicked.is_err());
        assert!(reg.conn.is_autocommit());
        assert_eq!(audit_rows(&reg), 0);
        // Success: both writes, one commit.
        assert!(reg.idle());
        reg.atomically(|reg| {
            assert!(!reg.idle(), "inside the transaction");
            write(reg, "third")?;
            write(reg, "fourth")
        })
        .unwrap();
        assert!(reg.idle());
        assert_eq!(audit_rows(&reg), 2);
        // Outside, `begin` is a transaction of its own again.
        write(&mut reg, "fifth").unwrap();
        assert_eq!(audit_rows(&reg), 3);
    }

    #[test]
    fn token_only_sessions_unused_for_a_day_are_dropped_when_another_starts() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path()).unwrap();
        reg.create_session("old", None, "c1").unwrap();
        reg.create_session("recent", None, "c2").unwrap();
        reg.conn
            .execute(
                "UPDATE sessions SET last_seen = '2020-01-01T00:00:00.000Z' WHERE id_hash = 'old'",
                [],
            )
            .unwrap();
        reg.create_session("new", None, "c3").unwrap();
        let left: Vec<String> = reg
            .conn
            .prepare("SELECT id_hash FROM sessions ORDER BY id_hash")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(left, ["new", "recent"]);
    }
}
