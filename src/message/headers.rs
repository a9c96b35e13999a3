//! Raw header blocks, dates and the skip classification.
//!
//! Owns: splitting a raw header block into unfolded (name, bytes) pairs without trusting
//! its encoding, lenient RFC 2822 date parsing (the top-most `Received:` date decides the
//! arrival of a single .eml), and the RFC 3834-style skip rules (own mail, bounces, lists,
//! auto-replies; first match wins).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};

use super::{Address, ParseOptions, Skip};

/// The headers of one block, in order, values unfolded (CR/LF removed) but not decoded.
#[derive(Debug, Clone, Default)]
pub struct RawHeaders {
    pub fields: Vec<(String, Vec<u8>)>,
}

impl RawHeaders {
    /// Parses a header block; stops at the first empty line.
    pub fn parse(raw: &[u8]) -> RawHeaders {
        let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
        for line in raw.split(|&c| c == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                if let Some((_, v)) = fields.last_mut() {
                    v.extend_from_slice(line);
                }
                continue;
            }
            if let Some(colon) = line.iter().position(|&c| c == b':') {
                let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
                if name.is_empty() || name.contains(' ') {
                    continue;
                }
                let value = line[colon + 1..].trim_ascii_start().to_vec();
                fields.push((name, value));
            }
        }
        RawHeaders { fields }
    }

    /// The first (top-most) value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The first value of `name` as lossy text, trimmed.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
    }
}

/// Removes RFC 5322 comments "( … )" (nesting allowed) and collapses white space.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses an RFC 2822 date leniently: comments and odd spacing are ignored, a missing
/// weekday or seconds, or a zone name, still parse.
pub fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let cleaned = strip_comments(s);
    if cleaned.is_empty() || cleaned.len() > 200 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(&cleaned) {
        return Some(d);
    }
    // Let mail-parser's lenient date parser try.
    let fake = format!("Date: {cleaned}\r\n\r\n");
    let msg = mail_parser::MessageParser::default().parse(fake.as_bytes())?;
    msg.date().and_then(convert_date)
}

/// mail-parser's date → chrono.
pub fn convert_date(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let secs = (d.tz_hour as i32) * 3600 + (d.tz_minute as i32) * 60;
    let offset = FixedOffset::east_opt(if d.tz_before_gmt { -secs } else { secs })?;
    let naive = NaiveDate::from_ymd_opt(d.year as i32, d.month as u32, d.day as u32)?.and_hms_opt(
        d.hour as u32,
        d.minute as u32,
        d.second as u32,
    )?;
    offset.from_local_datetime(&naive).single()
}

/// The date of a `Received:` value: the part after its last ';'.
pub fn received_date(value: &[u8]) -> Option<DateTime<FixedOffset>> {
    let text = String::from_utf8_lossy(value);
    let (_, date) = text.rsplit_once(';')?;
    parse_date(date)
}

/// Why a message gets no reply, if it should get none (docs/intake.md#skip-reasons).
pub fn classify(headers: &RawHeaders, from: Option<&Address>, opts: &ParseOptions) -> Option<Skip> {
    let lower = |name: &str| headers.text(name).map(|v| v.to_ascii_lowercase());
    let from_addr = from.map(|a| a.address.trim().to_ascii_lowercase());

    // self
    if let Some(addr) = &from_addr {
        if !addr.is_empty()
            && opts
                .own_addresses
                .iter()
                .any(|own| own.trim().eq_ignore_ascii_case(addr))
        {
            return Some(Skip::OwnMail);
        }
    }
    if !opts.loop_header.trim().is_empty() && headers.has(opts.loop_header.trim()) {
        return Some(Skip::OwnMail);
    }

    // bounce
    if let Some(ct) = lower("Content-Type") {
        if ct.starts_with("multipart/report") && ct.contains("delivery-status") {
            return Some(Skip::Bounce);
        }
    }
    if let Some(addr) = &from_addr {
        let local = addr.split('@').next().unwrap_or("");
        if local == "mailer-daemon" || local == "postmaster" {
            return Some(Skip::Bounce);
        }
    }
    if let Some(rp) = headers.text("Return-Path") {
        let inner: String = strip_comments(&rp)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if inner == "<>" {
            return Some(Skip::Bounce);
        }
    }

    // list
    let precedence = lower("Precedence").unwrap_or_default();
    let precedence = precedence.trim();
    if headers.has("List-Id")
        || headers.has("List-Unsubscribe")
        || matches!(precedence, "list" | "bulk" | "junk")
    {
        return Some(Skip::List);
    }

    // auto-reply
    if let Some(auto) = lower("Auto-Submitted") {
        let value = auto.split(';').next().unwrap_or("").trim().to_string();
        if value != "no" {
            return Some(Skip::AutoReply);
        }
    }
    if headers.has("X-Autoreply")
        || headers.has("X-Autorespond")
        || headers.has("X-Auto-Response-Suppress")
        || precedence == "auto_reply"
    {
        return Some(Skip::AutoReply);
    }
    None
}
