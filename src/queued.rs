//! The small vocabulary of queued mail: why a mail was queued ([`Purpose`]) and where it
//! stands ([`OutboxState`]).
//!
//! A leaf, like `filing`: used by the registry (which stores them) and the outbox (which
//! decides by them). The spellings are the registry's column values; they are converted at
//! that edge (rusqlite `ToSql`/`FromSql`) and typed everywhere else. The traits are written
//! out here rather than with `filing`'s `spelled!` macro, which is private to that module;
//! once that macro lives in a leaf of its own these two enums can use it.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;

/// Why a mail is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The answer to a filed message (staff copies ride along as extra recipients).
    Reply,
    /// A separate copy for staff (kept for rows queued that way).
    Copy,
    /// The weekly report; never subject to the per-recipient daily cap.
    Report,
    /// Expert review mail: invitations, reminders, sheet receipts, completion and outcomes.
    Review,
}

/// Where a queued mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// Being handed to the SMTP server; after a crash this becomes `Unknown`.
    Sending,
    Sent,
    /// Refused for good (5xx, bad address): never retried.
    Failed,
    /// The server may have it (connection lost after the data): never resent blindly.
    Unknown,
    /// Held back by the loop guard (mail bouncing back and forth, or over the optional
    /// per-recipient ceiling): kept, not sent until staff release it (→ `Pending`).
    /// Databases written before 0006 called it `capped`; the migration renames the rows.
    Held,
}

impl Purpose {
    /// What operators read (the command line): Chinese, as in the console.
    pub fn label(self) -> &'static str {
        match self {
            Purpose::Reply => "回执",
            Purpose::Copy => "抄送",
            Purpose::Report => "周报",
            Purpose::Review => "专家评议",
        }
    }

    pub const ALL: &'static [Purpose] = &[
        Purpose::Reply,
        Purpose::Copy,
        Purpose::Report,
        Purpose::Review,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Reply => "reply",
            Purpose::Copy => "copy",
            Purpose::Report => "report",
            Purpose::Review => "review",
        }
    }
}

impl OutboxState {
    /// What operators read (the command line): Chinese, as in the console.
    pub fn label(self) -> &'static str {
        match self {
            OutboxState::Pending => "待发送",
            OutboxState::Sending => "发送中",
            OutboxState::Sent => "已发送",
            OutboxState::Failed => "发送失败",
            OutboxState::Unknown => "状态不明",
            OutboxState::Held => "已暂缓",
        }
    }

    pub const ALL: &'static [OutboxState] = &[
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Sent,
        OutboxState::Failed,
        OutboxState::Unknown,
        OutboxState::Held,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Unknown => "unknown",
            OutboxState::Held => "held",
        }
    }

    /// Still to be settled: waiting for an attempt or in the middle of one.
    pub fn in_flight(self) -> bool {
        matches!(self, OutboxState::Pending | OutboxState::Sending)
    }
}

/// A spelling that is none of the known values (a database written by a newer lndx, or a
/// hand edit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an outbox {what}; known: {known}")]
pub struct UnknownSpelling {
    pub what: &'static str,
    pub value: String,
    pub known: String,
}

fn parse<T: Copy>(
    all: &[T],
    spell: fn(T) -> &'static str,
    what: &'static str,
    s: &str,
) -> Result<T, UnknownSpelling> {
    all.iter()
        .copied()
        .find(|v| spell(*v) == s)
        .ok_or_else(|| UnknownSpelling {
            what,
            value: s.to_string(),
            known: all.iter().map(|v| spell(*v)).collect::<Vec<_>>().join(", "),
        })
}

impl FromStr for Purpose {
    type Err = UnknownSpelling;

    fn from_str(s: &str) -> Result<Purpose, UnknownSpelling> {
        parse(Purpose::ALL, Purpose::as_str, "purpose", s)
    }
}

impl FromStr for OutboxState {
    type Err = UnknownSpelling;

    fn from_str(s: &str) -> Result<OutboxState, UnknownSpelling> {
        parse(OutboxState::ALL, OutboxState::as_str, "state", s)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ToSql for Purpose {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl ToSql for OutboxState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Purpose {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Purpose> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

impl FromSql for OutboxState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<OutboxState> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse::<Purpose>(), Ok(*p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for s in OutboxState::ALL {
            assert_eq!(s.as_str().parse::<OutboxState>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        let e = "queued".parse::<OutboxState>().unwrap_err();
        assert!(e.to_string().contains("pending, sending, sent"), "{e}");
    }

    #[test]
    fn spellings_round_trip_through_sqlite() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let (p, s): (Purpose, OutboxState) = db
            .query_row(
                "SELECT ?1, ?2",
                rusqlite::params![Purpose::Report, OutboxState::Held],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((p, s), (Purpose::Report, OutboxState::Held));
        let bad = db.query_row("SELECT 'queued'", [], |r| r.get::<_, OutboxState>(0));
        assert!(bad.unwrap_err().to_string().contains("not an outbox state"));
    }
}
