//! Mailbox: where raw messages come from — a local Maildir folder or an IMAP mailbox.
//!
//! Owns fetching and the per-source bookkeeping (which messages were handed over), never
//! parsing or filing: each source yields raw bytes, an arrival time and a unique key, and
//! the daemon files them through `intake`.

pub mod imap;
pub mod maildir;
