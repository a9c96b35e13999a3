//! Message: raw RFC 5322 bytes → an [`Inbound`] with every attached file found.
//!
//! Owns: MIME walking (mail-parser), file-name decoding (RFC 2231/2047 and raw 8-bit
//! fallbacks), zip unpacking within limits, forwarded messages, content sniffing, the
//! arrival time written in headers, and the skip classification (auto-replies, bounces,
//! lists, our own mail). Pure: no disk, network or database.

pub mod sniff;

use chrono::{DateTime, FixedOffset};

pub use sniff::FileType;

/// Limits applied while unpacking (SPEC defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub message_bytes: u64,
    pub file_bytes: u64,
    pub zip_members: usize,
    pub zip_unpacked_bytes: u64,
    pub zip_ratio: u64,
    pub nesting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_bytes: 50 * 1024 * 1024,
            file_bytes: 40 * 1024 * 1024,
            zip_members: 1000,
            zip_unpacked_bytes: 200 * 1024 * 1024,
            zip_ratio: 100,
            nesting: 3,
        }
    }
}

/// What the parser needs to know about this deployment.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// The robot's own addresses (lower-case); mail from them is [`Skip::OwnMail`].
    pub own_addresses: Vec<String>,
    /// Name of our own loop header (e.g. "X-Lndx-Loop"); a message carrying it is ours.
    pub loop_header: String,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: Option<String>,
    /// As written; compare lower-cased.
    pub address: String,
}

/// Why a message gets no reply (SPEC "Skip reasons", first match wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    OwnMail,
    Bounce,
    List,
    AutoReply,
}

impl Skip {
    pub fn key(self) -> &'static str {
        match self {
            Skip::OwnMail => "self",
            Skip::Bounce => "bounce",
            Skip::List => "list",
            Skip::AutoReply => "auto_reply",
        }
    }
}

/// A problem found while extracting a file, before any form reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// Over a size limit; `what` names the limit in English for logs.
    TooLarge { what: String, limit: u64, actual: u64 },
    /// A corrupt archive or member.
    Corrupt(String),
    /// An encrypted zip member.
    Encrypted,
    /// Archives nested deeper than allowed.
    TooDeep,
}

/// One file found in the message: a MIME attachment, a zip member, or a file of a forwarded
/// message. Archives are listed themselves, followed by their members.
#[derive(Debug, Clone)]
pub struct File {
    /// Decoded file name (base name for archive members).
    pub filename: String,
    pub bytes: Vec<u8>,
    pub file_type: FileType,
    /// The outer file's name (a zip's file name, or "message/rfc822: SUBJECT").
    pub container: Option<String>,
    /// Full path inside the container (zip member path, or the name in the forwarded message).
    pub path_in_container: Option<String>,
    pub problem: Option<FileProblem>,
}

/// A parsed message.
#[derive(Debug, Clone, Default)]
pub struct Inbound {
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub from: Option<Address>,
    pub reply_to: Vec<Address>,
    pub subject: String,
    pub date: Option<DateTime<FixedOffset>>,
    /// Date of the top-most `Received:` header.
    pub received: Option<DateTime<FixedOffset>>,
    pub skip: Option<Skip>,
    /// The text body (or the HTML body reduced to text), decoded.
    pub body_text: String,
    /// The body links to a "超大附件" download (QQ Mail, 163/126 Mail, …).
    pub big_attachment_link: bool,
    /// The top-most `Authentication-Results` header, unfolded.
    pub authentication_results: Option<String>,
    pub files: Vec<File>,
    /// The message could not be parsed as MIME at all.
    pub unparseable: bool,
}

/// Parses a raw message. Never fails and never panics: what cannot be read is reported in
/// the result.
pub fn parse(_raw: &[u8], _opts: &ParseOptions) -> Inbound {
    todo!("message::parse")
}
