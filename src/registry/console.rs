//! What the staff console reads and writes: accounts, sign-in links, sessions and sign-in
//! attempts (`0003_accounts.sql`), and the filtered, sorted, paginated lists its pages
//! show (entries with full-text search, messages, the outbox). The web layer holds no SQL:
//! it asks here with plain values and gets plain rows back.
//!
//! Tokens and session ids are stored only as their SHA-256 (the caller hashes them), so a
//! copy of the database signs nobody in.

use rusqlite::{params, params_from_iter, types::Value, OptionalExtension, Row};

use super::entries::{entry_row, ENTRY_COLUMNS};
use super::{now, EntryRow, Registry, Result};
use crate::filing::EntryStatus;

/// A console account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    /// admin | staff | viewer | province | expert (checked by the caller).
    pub role: String,
    pub province: Option<String>,
    pub unit: Option<String>,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: String,
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub role: &'a str,
    pub province: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub name: Option<&'a str>,
    pub created_by: &'a str,
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user: Option<i64>,
    pub csrf: String,
    pub last_seen: String,
    pub ended: bool,
}

const USER_COLUMNS: &str =
    "id, email, role, province, unit, name, password_hash, disabled, created_at";

fn user_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        role: r.get(2)?,
        province: r.get(3)?,
        unit: r.get(4)?,
        name: r.get(5)?,
        password_hash: r.get(6)?,
        disabled: r.get::<_, i64>(7)? != 0,
        created_at: r.get(8)?,
    })
}

impl Registry {
    /// Creates an account; None when the address already has one.
    pub fn create_user(&self, u: &NewUser) -> Result<Option<i64>> {
        let n = self.conn.execute(
            "INSERT INTO users (email, role, province, unit, name, created_at, created_by)
             VALUES (lower(?1), ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(email) DO NOTHING",
            params![
                u.email,
                u.role,
                u.province,
                u.unit,
                u.name,
                now(),
                u.created_by
            ],
        )?;
        Ok((n == 1).then(|| self.conn.last_insert_rowid()))
    }

    pub fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE email = lower(?1)"),
                [email],
                user_row,
            )
            .optional()?)
    }

    pub fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()?)
    }

    /// Every account, in the order they were made.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
        let rows = st
            .query_map([], user_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Disables an account and ends its sessions; false when there is no such account.
    pub fn disable_user(&self, email: &str) -> Result<bool> {
        let tx = self.conn.unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE users SET disabled = 1 WHERE email = lower(?1)",
            [email],
        )?;
        tx.execute(
            "UPDATE sessions SET ended_at = ?2 WHERE ended_at IS NULL
               AND user = (SELECT id FROM users WHERE email = lower(?1))",
            params![email, now()],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    pub fn set_password_hash(&self, user: i64, hash: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user, hash],
        )?;
        Ok(())
    }

    /// Stores a sign-in link's token hash, valid until `expires_at` (RFC 3339).
    pub fn add_signin_link(&self, user: i64, token_hash: &str, expires_at: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO signin_links (token_hash, user, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, user, now(), expires_at],
        )?;
        Ok(())
    }

    /// Uses a sign-in link once: the account it signs in, if the link exists, is unused,
    /// has not expired at `at` and its account is not disabled. Found and marked used in
    /// one statement, so two requests with one link cannot both succeed.
    pub fn use_signin_link(&self, token_hash: &str, at: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "UPDATE signin_links SET used_at = ?3
                 WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                   AND user IN (SELECT id FROM users WHERE disabled = 0)
                 RETURNING user",
                params![token_hash, at, now()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores a new session (`user` None: a visitor not signed in, holding a CSRF token).
    pub fn create_session(&self, id_hash: &str, user: Option<i64>, csrf: &str) -> Result<()> {
        let t = now();
        if user.is_none() {
            // Every visit without a cookie gets a token-only session; those unused for a
            // day are worth nothing (a form that old is posted again) and would otherwise
            // pile up with every anonymous request.
            let day_ago = (chrono::Utc::now() - chrono::Duration::days(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            self.conn.execute(
                "DELETE FROM sessions WHERE user IS NULL AND last_seen < ?1",
                [day_ago],
            )?;
        }
        self.conn.execute(
            "INSERT INTO sessions (id_hash, user, csrf, created_at, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![id_hash, user, csrf, t],
        )?;
        Ok(())
    }

    pub fn session(&self, id_hash: &str) -> Result<Option<SessionRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT user, csrf, last_seen, ended_at IS NOT NULL FROM sessions
                 WHERE id_hash = ?1",
                [id_hash],
                |r| {
                    Ok(SessionRow {
                        user: r.get(0)?,
                        csrf: r.get(1)?,
                        last_seen: r.get(2)?,
                        ended: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records that a session was used now (its idle time starts again).
    pub fn touch_session(&self, id_hash: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1",
            params![id_hash, now()],
        )?;
        Ok(())
    }

    /// Ends a session (sign-out, or replaced at sign-in); the row is kept.
    pub fn end_session(&self, id_hash: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sessions SET ended_at = ?2 WHERE id_hash = ?1 AND ended_at IS NULL",
            params![id_hash, now()],
        )?;
        Ok(())
    }

    /// Records a sign-in attempt (a password, or a link token that did not work).
    pub fn record_signin_attempt(
        &self,
        account: Option<&str>,
        address: &str,
        ok: bool,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO signin_attempts (at, account, address, ok) VALUES (?1, lower(?2), ?3, ?4)",
            params![now(), account, address, ok],
        )?;
        Ok(())
    }

    /// Failed sign-in attempts since `since` (RFC 3339): (for the account, from the address).
    pub fn failed_signins_since(
        &self,
        account: Option<&str>,
        address: &str,
        since: &str,
    ) -> Result<(i64, i64)> {
        let by_account: i64 = match account {
            Some(a) => self.conn.query_row(
                "SELECT count(*) FROM signin_attempts WHERE account = lower(?1) AND at > ?2 AND ok = 0",
                params![a, since],
                |r| r.get(0),
            )?,
            None => 0,
        };
        let by_address: i64 = self.conn.query_row(
            "SELECT count(*) FROM signin_attempts WHERE address = ?1 AND at > ?2 AND ok = 0",
            params![address, since],
            |r| r.get(0),
        )?;
        Ok((by_account, by_address))
    }
}

// ---------------------------------------------------------------------------------------
// Lists

/// How an entry list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntrySort {
    #[default]
    Filed,
    Receipt,
    Province,
    Kind,
    Name,
    Unit,
    Status,
    Arrived,
}

impl EntrySort {
    fn column(self) -> &'static str {
        match self {
            EntrySort::Filed => "e.id",
            EntrySort::Receipt => "e.receipt",
            EntrySort::Province => "e.province",
            EntrySort::Kind => "e.kind",
            EntrySort::Name => "e.name",
            EntrySort::Unit => "e.unit",
            EntrySort::Status => "e.status",
            EntrySort::Arrived => "e.arrived_at",
        }
    }
}

/// Which entries a console list shows.
#[derive(Debug, Clone, Default)]
pub struct EntryQuery {
    /// Only this province (a province account's scope, or a filter).
    pub province: Option<String>,
    pub batch: Option<u8>,
    pub kind: Option<String>,
    pub status: Option<EntryStatus>,
    /// A theme the entry was given (its themes are a JSON list of names).
    pub theme: Option<String>,
    pub late: Option<bool>,
    /// Words to find in the receipt, name, unit or any field (Chinese substrings).
    pub text: Option<String>,
    /// Include superseded versions.
    pub all_versions: bool,
    pub sort: EntrySort,
    pub descending: bool,
    /// None: every row (exports).
    pub limit: Option<usize>,
    pub offset: usize,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_pattern(s: &str) -> String {
    let mut p = String::from("%");
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// An FTS5 query matching `s` as one phrase (double quotes doubled).
fn fts_phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl EntryQuery {
    fn filter(&self) -> Filter {
        let mut f = Filter::new();
        if !self.all_versions {
            f.and("e.superseded_by IS NULL");
        }
        f.eq("e.province", self.province.clone());
        f.eq("e.batch", self.batch.map(|b| b as i64));
        f.eq("e.kind", self.kind.clone());
        f.eq("e.status", self.status.map(|s| s.as_str().to_string()));
        if let Some(t) = &self.theme {
            let p = f.arg(serde_json::to_string(t).unwrap_or_default());
            f.and(&format!("instr(e.themes, {p}) > 0"));
        }
        f.eq("e.late", self.late.map(|l| l as i64));
        if let Some(text) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            // The trigram index needs at least three characters; one or two are looked
            // for with LIKE in the short columns.
            if text.chars().count() >= 3 {
                let p = f.arg(fts_phrase(text));
                f.and(&format!(
                    "e.id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH {p})"
                ));
            } else {
                // Names, units and receipts only: a LIKE through every field's text would
                // read the whole registry (measured: 0.4 s over 10,000 entries).
                let p = f.arg(like_pattern(text));
                f.and(&format!(
                    "(e.receipt LIKE {p} ESCAPE '\\' OR e.name LIKE {p} ESCAPE '\\'
                       OR coalesce(e.unit, '') LIKE {p} ESCAPE '\\')"
                ));
            }
        }
        f
    }
}

impl Registry {
    /// A page of entries and how many match in all.
    pub fn console_entries(&self, q: &EntryQuery) -> Result<(Vec<EntryRow>, i64)> {
        let Filter { sql: filter, args } = q.filter();
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM entries e{filter}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let dir = if q.descending { "DESC" } else { "ASC" };
        let order = format!("ORDER BY {} {dir}, e.id {dir}", q.sort.column());
        let page = match q.limit {
            Some(limit) => format!(" LIMIT {limit} OFFSET {}", q.offset),
            None => String::new(),
        };
        // The page's ids are chosen first and only they are read whole: sorting whole rows
        // (fields hold the forms' text) and their version subqueries made a sorted page of
        // a 10,000-entry registry take about 0.2 s.
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM
               (SELECT e.id AS pick FROM entries e{filter} {order}{page}) p
               JOIN entries e ON e.id = p.pick {order}"
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map(params_from_iter(args.iter()), entry_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok((rows, total))
    }

    /// One entry version by its receipt, with the id of the file it was read from.
    pub fn entry_and_file(&self, receipt: &str) -> Result<Option<(EntryRow, i64)>> {
        let Some(row) = self
            .conn
            .query_row(
                &format!("SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.receipt = ?1"),
                [receipt],
                entry_row,
            )
            .optional()?
        else {
            return Ok(None);
        };
        let file: i64 =
            self.conn
                .query_row("SELECT file FROM entries WHERE id = ?1", [row.id], |r| {
                    r.get(0)
                })?;
        Ok(Some((row, file)))
    }

    /// Every version of an entry (same entry key), oldest first.
    pub fn entry_versions(&self, entry_key: &str) -> Result<Vec<EntryRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.entry_key = ?1 ORDER BY e.version, e.id"
        ))?;
        let rows = st
            .query_map([entry_key], entry_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Entries filed from one message, in filing order.
    pub fn entries_of_message(&self, message: i64) -> Result<Vec<EntryRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.message = ?1 ORDER BY e.id"
        ))?;
        let rows = st
            .query_map([message], entry_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// A file found in a message.
    pub fn file_row(&self, id: i64) -> Result<Option<FileRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {FILE_COLUMNS} FROM files WHERE id = ?1"),
                [id],
                file_row,
            )
            .optional()?)
    }

    /// The files found in a message, in order.
    pub fn files_of_message(&self, message: i64) -> Result<Vec<FileRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE message = ?1 ORDER BY seq"
        ))?;
        let rows = st
            .query_map([message], file_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// A file as recorded (its bytes stay inside the raw message).
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: i64,
    pub message: i64,
    pub seq: i64,
    pub filename: String,
    pub container: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub file_type: String,
    pub role: String,
    pub errors: String,
}

const FILE_COLUMNS: &str =
    "id, message, seq, filename, container, sha256, size, file_type, role, errors";

fn file_row(r: &Row) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get(0)?,
        message: r.get(1)?,
        seq: r.get(2)?,
        filename: r.get(3)?,
        container: r.get(4)?,
        sha256: r.get(5)?,
        size: r.get(6)?,
        file_type: r.get(7)?,
        role: r.get(8)?,
        errors: r.get(9)?,
    })
}

/// A stored message as the console lists it.
#[derive(Debug, Clone)]
pub struct ConsoleMessage {
    pub id: i64,
    pub arrived_at: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub state: String,
    pub province: Option<String>,
    pub batch: Option<i64>,
    pub skipped: Option<String>,
    pub error: Option<String>,
    pub size: i64,
    pub entries: i64,
}

/// A WHERE clause made of the conditions a list's filters ask for, with its numbered
/// parameters (the messages and outbox lists).
struct Filter {
    sql: String,
    args: Vec<Value>,
}

impl Filter {
    fn new() -> Filter {
        Filter {
            sql: String::from(" WHERE 1=1"),
            args: Vec::new(),
        }
    }

    /// The placeholder of a new parameter holding `v`.
    fn arg(&mut self, v: impl Into<Value>) -> String {
        self.args.push(v.into());
        format!("?{}", self.args.len())
    }

    /// `AND {column} = ?` when the filter has a value.
    fn eq(&mut self, column: &str, v: Option<impl Into<Value>>) {
        if let Some(v) = v {
            let p = self.arg(v);
            self.sql.push_str(&format!(" AND {column} = {p}"));
        }
    }

    /// `AND {condition}`, a condition without parameters.
    fn and(&mut self, condition: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
    }
}

impl Registry {
    /// One page of `SELECT {columns} {from}{filter} ORDER BY {order}` and how many rows
    /// match in all.
    fn paged<T>(
        &self,
        columns: &str,
        from: &str,
        filter: &Filter,
        order: &str,
        page: (Option<usize>, usize),
        row: fn(&Row) -> rusqlite::Result<T>,
    ) -> Result<(Vec<T>, i64)> {
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(*) {from}{}", filter.sql),
            params_from_iter(filter.args.iter()),
            |r| r.get(0),
        )?;
        let mut sql = format!("SELECT {columns} {from}{} ORDER BY {order}", filter.sql);
        if let (Some(limit), offset) = page {
            sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        }
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map(params_from_iter(filter.args.iter()), row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok((rows, total))
    }
}

/// Which messages a console list shows.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    pub province: Option<String>,
    pub state: Option<String>,
    /// Some(true): only skipped (not answered) messages; Some(false): only answered ones.
    pub skipped: Option<bool>,
    /// Words in the sender or subject.
    pub text: Option<String>,
    /// Sort by arrival (else by id), newest first unless `ascending`.
    pub by_arrival: bool,
    pub ascending: bool,
    pub limit: Option<usize>,
    pub offset: usize,
}

const MESSAGE_COLUMNS: &str = "m.id, m.arrived_at, m.sender, m.subject, m.state, m.province,
    m.batch, m.skipped, m.error, m.size, (SELECT count(*) FROM entries e WHERE e.message = m.id)";

fn message_row(r: &Row) -> rusqlite::Result<ConsoleMessage> {
    Ok(ConsoleMessage {
        id: r.get(0)?,
        arrived_at: r.get(1)?,
        sender: r.get(2)?,
        subject: r.get(3)?,
        state: r.get(4)?,
        province: r.get(5)?,
        batch: r.get(6)?,
        skipped: r.get(7)?,
        error: r.get(8)?,
        size: r.get(9)?,
        entries: r.get(10)?,
    })
}

impl Registry {
    /// A page of messages and how many match in all.
    pub fn console_messages(&self, q: &MessageQuery) -> Result<(Vec<ConsoleMessage>, i64)> {
        let mut f = Filter::new();
        f.eq("m.province", q.province.clone());
        f.eq("m.state", q.state.clone());
        match q.skipped {
            Some(true) => f.and("m.skipped IS NOT NULL"),
            Some(false) => f.and("m.skipped IS NULL"),
            None => {}
        }
        if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let n = f.arg(like_pattern(t));
            f.and(&format!(
                "(coalesce(m.sender, '') LIKE {n} ESCAPE '\\' OR coalesce(m.subject, '') LIKE {n} ESCAPE '\\')"
            ));
        }
        let dir = if q.ascending { "ASC" } else { "DESC" };
        let col = if q.by_arrival { "m.arrived_at" } else { "m.id" };
        self.paged(
            MESSAGE_COLUMNS,
            "FROM messages m",
            &f,
            &format!("{col} {dir}, m.id {dir}"),
            (q.limit, q.offset),
            message_row,
        )
    }

    /// One message, with its stored JSON result.
    pub fn console_message(&self, id: i64) -> Result<Option<(ConsoleMessage, Option<String>)>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS}, m.result FROM messages m WHERE m.id = ?1"),
                [id],
                |r| Ok((message_row(r)?, r.get(11)?)),
            )
            .optional()?)
    }
}

/// One line of a mail's delivery log: (at, recipient, outcome, detail).
pub type DeliveryLine = (String, String, String, Option<String>);

/// A queued mail as the console lists it (without its bytes).
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: i64,
    pub message: Option<i64>,
    /// The province of the message it answers, if any.
    pub province: Option<String>,
    pub purpose: String,
    pub recipients: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub subject: Option<String>,
}

/// Which queued mail a console list shows.
#[derive(Debug, Clone, Default)]
pub struct OutboxQuery {
    pub province: Option<String>,
    pub state: Option<String>,
    pub purpose: Option<String>,
    pub message: Option<i64>,
    pub ascending: bool,
    pub limit: Option<usize>,
    pub offset: usize,
}

const OUTBOX_COLUMNS: &str = "o.id, o.message, m.province, o.purpose, o.recipients, o.state,
    o.attempts, o.last_error, o.created_at, o.sent_at, m.subject";

fn outbox_item(r: &Row) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        id: r.get(0)?,
        message: r.get(1)?,
        province: r.get(2)?,
        purpose: r.get(3)?,
        recipients: r.get(4)?,
        state: r.get(5)?,
        attempts: r.get(6)?,
        last_error: r.get(7)?,
        created_at: r.get(8)?,
        sent_at: r.get(9)?,
        subject: r.get(10)?,
    })
}

impl Registry {
    /// A page of queued mail and how many match in all.
    pub fn console_outbox(&self, q: &OutboxQuery) -> Result<(Vec<OutboxItem>, i64)> {
        let mut f = Filter::new();
        f.eq("m.province", q.province.clone());
        f.eq("o.state", q.state.clone());
        f.eq("o.purpose", q.purpose.clone());
        f.eq("o.message", q.message);
        let dir = if q.ascending { "ASC" } else { "DESC" };
        self.paged(
            OUTBOX_COLUMNS,
            "FROM outbox o LEFT JOIN messages m ON m.id = o.message",
            &f,
            &format!("o.id {dir}"),
            (q.limit, q.offset),
            outbox_item,
        )
    }

    /// One queued mail with its complete bytes.
    pub fn outbox_item(&self, id: i64) -> Result<Option<(OutboxItem, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {OUTBOX_COLUMNS}, o.body FROM outbox o
                     LEFT JOIN messages m ON m.id = o.message WHERE o.id = ?1"
                ),
                [id],
                |r| Ok((outbox_item(r)?, r.get(11)?)),
            )
            .optional()?)
    }

    /// The delivery log of one queued mail: (at, recipient, outcome, detail).
    pub fn deliveries_of(&self, outbox: i64) -> Result<Vec<DeliveryLine>> {
        let mut st = self.conn.prepare(
            "SELECT at, recipient, outcome, detail FROM deliveries WHERE outbox = ?1 ORDER BY id",
        )?;
        let rows = st
            .query_map([outbox], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
