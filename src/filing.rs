//! The small vocabulary of filing: what an attached file turned out to be ([`FileRole`]) and
//! where an entry stands ([`EntryStatus`]).
//!
//! A leaf (it imports only the leaf [`crate::spelling`]): used by intake, the registry,
//! replies and reports alike. The spellings are part of the stable interface (JSON `role`
//! and `status`, the registry's columns); they are converted at the edges — serde for
//! JSON, rusqlite for the database — and are typed everywhere in between.

use serde::{Deserialize, Serialize};

use crate::spelling::spelled;
pub use crate::spelling::UnknownValue;

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
