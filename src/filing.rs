//! The small vocabulary of filing: what an attached file turned out to be ([`FileRole`]) and
//! where an entry stands ([`EntryStatus`]).
//!
//! A leaf: used by intake, the registry, replies and reports alike. The spellings are part
//! of the stable interface (JSON `role` and `status`, the registry's columns); they are
//! converted at the edges — serde for JSON, rusqlite for the database — and are typed
//! everywhere in between.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

/// What one attached file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// An application form of one of the campaign's kinds.
    Form,
    /// A province summary sheet (推荐汇总表).
    Summary,
    /// A scan, photo, video or other file kept with the message.
    Supporting,
    /// A zip (its members are listed as files of their own).
    Archive,
    /// A file that could not be read (its errors say why).
    Unknown,
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Passed every check.
    Valid,
    /// Filed with errors; the province is asked to correct it.
    Invalid,
    /// Filed, but counted nowhere until staff act (unknown province, failed authentication).
    Held,
}

/// A spelling that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {what}; use one of: {known}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub known: String,
}

/// Spelling, parsing and SQL conversion for a unit-only enum with a fixed list of values.
macro_rules! spelled {
    ($ty:ident, $what:literal, [$($variant:ident => $text:literal),+ $(,)?]) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<$ty, UnknownValue> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        known: $ty::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }

        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<$ty> {
                let s = value.as_str()?;
                s.parse().map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

spelled!(FileRole, "file role", [
    Form => "form",
    Summary => "summary",
    Supporting => "supporting",
    Archive => "archive",
    Unknown => "unknown",
]);

spelled!(EntryStatus, "status", [
    Valid => "valid",
    Invalid => "invalid",
    Held => "held",
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_through_text_and_json() {
        for s in EntryStatus::ALL {
            assert_eq!(s.as_str().parse::<EntryStatus>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for r in FileRole::ALL {
            assert_eq!(r.as_str().parse::<FileRole>(), Ok(*r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        let e = "late".parse::<EntryStatus>().unwrap_err();
        assert!(e.to_string().contains("valid, invalid, held"), "{e}");
    }
}
