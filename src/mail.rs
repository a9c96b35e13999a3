//! Outgoing mail: turns a rendered [`Outgoing`] (addresses, subject, text, HTML,
//! attachments, extra headers) into RFC 5322 bytes with lettre's builder.
//!
//! Owns header safety (no CR/LF from a message can reach a header) and the encoding of
//! Chinese subjects and attachment names that QQ Mail, 163 Mail and Outlook display
//! (RFC 2047 `name=` beside RFC 2231 `filename*=`). Pure: no I/O.

use base64::Engine;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;

/// A mail ready to be encoded.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub from: String,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Extra headers (name, value); values are sanitised, names must be ASCII.
    pub headers: Vec<(String, String)>,
    pub attachments: Vec<OutAttachment>,
}

/// What kind of automatic mail one of ours is, for its `Auto-Submitted` header (RFC 3834).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Automatic {
    /// An answer to a message (receipts, findings, the desk's notices).
    Replied,
    /// Sent on its own (reports, review mail).
    Generated,
}

/// The headers every mail of ours carries: `Auto-Submitted` and
/// `X-Auto-Response-Suppress`, so that autoresponders stay silent, and our loop header with
/// our address, by which our own intake knows its mail when it comes back. One place, so
/// that no kind of mail goes out without them.
pub fn automatic_headers(
    why: Automatic,
    loop_header: &str,
    own_address: &str,
) -> Vec<(String, String)> {
    let auto = match why {
        Automatic::Replied => "auto-replied",
        Automatic::Generated => "auto-generated",
    };
    vec![
        ("Auto-Submitted".into(), auto.into()),
        ("X-Auto-Response-Suppress".into(), "All".into()),
        (loop_header.to_string(), own_address.to_string()),
    ]
}

#[derive(Debug, Clone)]
pub struct OutAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// Removes what could break a header: CR, LF and other control characters.
pub fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A new Message-ID under our domain, e.g. `<lndx.r12.a1b2c3@ouchn.edu.cn>`.
pub fn new_message_id(tag: &str, from: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("lndx.invalid");
    let rand: u64 = rand::random();
    format!(
        "<lndx.{}.{}.{:016x}@{}>",
        tag,
        chrono::Utc::now().timestamp_millis(),
        rand,
        domain
    )
}

/// Checks an address the way a mail we build would take it (e.g. `report.to` for
/// `lndx doctor`, before a report fails on it).
pub fn check_address(addr: &str) -> Result<(), MailError> {
    mailbox(addr, None).map(|_| ())
}

fn mailbox(addr: &str, name: Option<&str>) -> Result<Mailbox, MailError> {
    let address = addr
        .trim()
        .parse()
        .map_err(|_| MailError::Address(addr.to_string()))?;
    Ok(Mailbox::new(name.map(header_safe), address))
}

/// Encodes the mail. The returned bytes use CRLF line endings.
pub fn encode(m: &Outgoing) -> Result<Vec<u8>, MailError> {
    let mut b = Message::builder()
        .from(mailbox(&m.from, m.from_name.as_deref())?)
        .subject(header_safe(&m.subject))
        .message_id(Some(header_safe(&m.message_id)))
        .date_now();
    for to in &m.to {
        b = b.to(mailbox(to, None)?);
    }
    for cc in &m.cc {
        b = b.cc(mailbox(cc, None)?);
    }
    if let Some(irt) = &m.in_reply_to {
        b = b.in_reply_to(header_safe(irt));
    }
    if !m.references.is_empty() {
        let refs: Vec<String> = m.references.iter().map(|r| header_safe(r)).collect();
        b = b.references(refs.join(" "));
    }
    for (name, value) in &m.headers {
        let name = HeaderName::new_from_ascii(name.clone())
            .map_err(|_| MailError::Build(format!("invalid header name {name:?}")))?;
        b = b.raw_header(HeaderValue::new(name, header_safe(value)));
    }
    let body = MultiPart::alternative()
        .singlepart(SinglePart::plain(m.text.clone()))
        .singlepart(SinglePart::html(m.html.clone()));
    let message = if m.attachments.is_empty() {
        b.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &m.attachments {
            mixed = mixed.singlepart(attachment(a)?);
        }
        b.multipart(mixed)
    }
    .map_err(|e| MailError::Build(e.to_string()))?;
    Ok(message.formatted())
}

/// An attachment whose Chinese name shows in QQ Mail, 163 Mail and Outlook: RFC 2047
/// `name=` in Content-Type (what older clients read) and RFC 2231 `filename*=` in
/// Content-Disposition (the standard).
fn attachment(a: &OutAttachment) -> Result<SinglePart, MailError> {
    let name = header_safe(&a.filename).replace('"', "'");
    let encoded = if name.is_ascii() {
        name.clone()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(name.as_bytes())
        )
    };
    let ct = ContentType::parse(&format!("{}; name=\"{}\"", a.content_type, encoded))
        .map_err(|e| MailError::Build(e.to_string()))?;
    Ok(Attachment::new(name).body(a.bytes.clone(), ct))
}

/// A queued mail sent again: the same bytes under a new Message-ID and Date, and, when
/// given, to another address (the `To` field is replaced; the envelope is the caller's).
/// Header fields are unfolded by their continuation lines, so a folded `To` goes whole.
pub fn readdress(raw: &[u8], message_id: &str, to: Option<&str>) -> Result<Vec<u8>, MailError> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p + 2, p + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|p| (p + 1, p + 2))
        })
        .ok_or_else(|| MailError::Build("the queued mail has no header block".into()))?;
    let (head, body) = (&raw[..split.0], &raw[split.1..]);
    let mut replaced = vec!["message-id", "date"];
    if to.is_some() {
        replaced.push("to");
    }
    let mut out: Vec<u8> = Vec::with_capacity(raw.len() + 100);
    let mut new_header = format!(
        "Message-ID: {}\r\nDate: {}\r\n",
        header_safe(message_id),
        chrono::Utc::now().to_rfc2822()
    );
    if let Some(to) = to {
        let mb = mailbox(to, None)?;
        new_header.push_str(&format!("To: {}\r\n", mb.email));
    }
    out.extend_from_slice(new_header.as_bytes());
    let mut skipping = false;
    for line in head.split_inclusive(|b| *b == b'\n') {
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            let name = line
                .iter()
                .position(|b| *b == b':')
                .map(|p| {
                    String::from_utf8_lossy(&line[..p])
                        .trim()
                        .to_ascii_lowercase()
                })
                .unwrap_or_default();
            skipping = replaced.contains(&name.as_str());
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}
