//! How a connection to a mail server is secured and how lndx logs in: the `security` and
//! `auth` settings of the IMAP mailbox and the SMTP outbox.
//!
//! A leaf: both the mailbox and the outbox read these from their config sections, and the
//! config module imports theirs, so the types live apart from all three.

use std::fmt;

use serde::Deserialize;

/// How a mail connection (IMAP or SMTP) is secured: `security = "tls" | "starttls" |
/// "plain"`. Another value fails loading with a message naming the three (written here,
/// not serde's, because the mailbox and outbox sections are tagged enums, whose errors
/// point at the section and would not name the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Security {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Tls,
    /// Plain first, then STARTTLS (IMAP 143, SMTP 587).
    Starttls,
    /// No TLS at all: a loopback server only (tests, a local relay).
    Plain,
}

impl TryFrom<String> for Security {
    type Error = String;

    fn try_from(s: String) -> Result<Security, String> {
        match s.as_str() {
            "tls" => Ok(Security::Tls),
            "starttls" => Ok(Security::Starttls),
            "plain" => Ok(Security::Plain),
            _ => Err(format!(
                "security {s:?} is not known: use tls, starttls or plain"
            )),
        }
    }
}

/// How lndx logs in to IMAP: `auth = "login" | "plain"` (LOGIN, or AUTHENTICATE PLAIN).
/// Another value fails loading with a message naming the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ImapAuth {
    Login,
    Plain,
}

impl TryFrom<String> for ImapAuth {
    type Error = String;

    fn try_from(s: String) -> Result<ImapAuth, String> {
        match s.as_str() {
            "login" => Ok(ImapAuth::Login),
            "plain" => Ok(ImapAuth::Plain),
            _ => Err(format!("auth {s:?} is not known: use login or plain")),
        }
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::Plain => "plain",
        })
    }
}

impl fmt::Display for ImapAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImapAuth::Login => "login",
            ImapAuth::Plain => "plain",
        })
    }
}
