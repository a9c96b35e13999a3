//! Message: raw RFC 5322 bytes → an [`Inbound`] with every attached file found.
//!
//! Owns: MIME walking (mail-parser), file-name decoding (RFC 2231/2047 and raw 8-bit
//! fallbacks), archive unpacking within limits (zip, RAR, 7z, TNEF), uuencoded files in
//! text bodies, forwarded messages, content sniffing, the
//! arrival time written in headers, and the skip classification (auto-replies, bounces,
//! lists, our own mail). Pure: no disk, network or database.

pub mod archive;
pub mod filename;
pub mod headers;
pub mod libarchive;
pub mod links;
pub mod mhtml;
pub mod sniff;
pub mod tnef;
pub mod uuencode;
pub mod walk;

use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::{DateTime, FixedOffset};
use mail_parser::{HeaderValue, MessageParser};

use headers::RawHeaders;

pub use sniff::{sniff, FileType};

/// Limits applied while unpacking (defaults: docs/intake.md#limits).
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

/// Why a message gets no reply (docs/intake.md#skip-reasons; first match wins).
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
    TooLarge {
        what: String,
        limit: u64,
        /// None when it was not measured (an archive's members are not counted past the
        /// limit: in a solid archive that would mean unpacking them).
        actual: Option<u64>,
    },
    /// A corrupt archive or member.
    Corrupt(String),
    /// An archive whose format lndx recognises but cannot read (a RAR or 7z variant
    /// libarchive does not know, or damaged beyond telling); the detail is for logs.
    Unsupported(String),
    /// A password-protected archive or archive member.
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
pub fn parse(raw: &[u8], opts: &ParseOptions) -> Inbound {
    catch_unwind(AssertUnwindSafe(|| parse_inner(raw, opts))).unwrap_or_else(|_| Inbound {
        unparseable: true,
        ..Inbound::default()
    })
}

fn header_ids(value: &HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<String> = match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    };
    ids.into_iter()
        .map(|id| id.trim().trim_matches(['<', '>']).trim().to_string())
        .filter(|id| !id.is_empty())
        .map(|id| format!("<{id}>"))
        .collect()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The display name of a raw `From:`-like value, decoded by us.
fn display_name(raw: &[u8]) -> Option<String> {
    let text = filename::decode_2047(raw);
    let name = text.split('<').next()?.trim().trim_matches('"').trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn parse_inner(raw: &[u8], opts: &ParseOptions) -> Inbound {
    let headers = RawHeaders::parse(raw);
    let mut inbound = Inbound {
        received: headers.get("Received").and_then(headers::received_date),
        authentication_results: headers
            .get("Authentication-Results")
            .map(|v| collapse(&filename::decode_raw(v))),
        ..Inbound::default()
    };
    let Some(msg) = MessageParser::default().parse(raw) else {
        inbound.unparseable = true;
        inbound.subject = headers
            .get("Subject")
            .map(|v| filename::decode_2047(v).trim().to_string())
            .unwrap_or_default();
        inbound.skip = headers::classify(&headers, None, opts);
        return inbound;
    };
    if headers.fields.is_empty() && msg.headers().is_empty() {
        inbound.unparseable = true;
    }

    inbound.message_id = msg
        .message_id()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .or_else(|| {
            // unparseable by mail-parser: keep what is written
            headers
                .text("Message-ID")
                .map(|id| id.trim_matches(['<', '>', ' ']).to_string())
                .filter(|id| !id.is_empty() && !id.contains(char::is_whitespace))
        })
        .map(|id| format!("<{id}>"));
    inbound.in_reply_to = header_ids(msg.in_reply_to()).into_iter().next();
    inbound.references = header_ids(msg.references());
    inbound.from = msg.from().and_then(|a| a.first()).map(|a| {
        let mut name = a
            .name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if name.as_deref().is_some_and(|n| n.contains('\u{FFFD}')) {
            name = headers.get("From").and_then(display_name).or(name);
        }
        Address {
            name,
            address: a.address().unwrap_or("").trim().to_string(),
        }
    });
    inbound.reply_to = msg
        .reply_to()
        .map(|list| {
            list.iter()
                .map(|a| Address {
                    name: a.name().map(str::to_string),
                    address: a.address().unwrap_or("").trim().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    inbound.subject = walk::subject_of(&msg, Some(&headers));
    inbound.date = msg.date().and_then(headers::convert_date).or_else(|| {
        headers
            .get("Date")
            .and_then(|v| headers::parse_date(&String::from_utf8_lossy(v)))
    });
    inbound.skip = headers::classify(&headers, inbound.from.as_ref(), opts);

    inbound.body_text = msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let mut texts: Vec<String> = Vec::new();
    for i in 0..msg.text_body_count() {
        if let Some(t) = msg.body_text(i) {
            texts.push(t.into_owned());
        }
    }
    for i in 0..msg.html_body_count() {
        if let Some(t) = msg.body_html(i) {
            texts.push(t.into_owned());
        }
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    inbound.big_attachment_link = links::mentions_big_attachment(&refs);

    let mut walker = walk::Walker::new(opts);
    walker.message(&msg, &[raw], 0, None);
    inbound.files = walker.files;
    inbound
}
