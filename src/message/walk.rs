//! The MIME tree → the list of files, in MIME order.
//!
//! Owns: which parts are files (every part with a name wherever it sits; unnamed parts only
//! when their content is a recognisable document or archive, never bodies or unnamed inline
//! pictures), choosing between mail-parser's name and our own decoding of the part's raw
//! header, forwarded messages (message/rfc822, depth-limited), size limits on MIME parts,
//! and handing zips to [`super::archive`].

use std::panic::{catch_unwind, AssertUnwindSafe};

use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};

use super::archive;
use super::filename::{
    base64_lenient, decode_2047, param_value, parse_params, quoted_printable, sanitize,
};
use super::headers::RawHeaders;
use super::sniff::{sniff, FileType};
use super::uuencode;
use super::{File, FileProblem, ParseOptions};

/// Multipart nesting deeper than this is not followed (hostile input).
const MAX_MIME_LEVEL: usize = 64;

pub struct Walker<'o> {
    opts: &'o ParseOptions,
    pub files: Vec<File>,
    unnamed: usize,
}

/// Where a part's raw header lies: `offset_header..offset_body` are offsets into the root
/// buffer, except inside a transfer-encoded message/rfc822 part where they are relative to
/// the decoded inner message. Each candidate buffer is checked: the slice must start with
/// the part's first header name.
fn part_buffer<'b>(part: &MessagePart<'_>, bufs: &[&'b [u8]]) -> Option<&'b [u8]> {
    let first = part.headers.first()?.name().as_bytes().to_vec();
    let (start, body) = (part.offset_header as usize, part.offset_body as usize);
    bufs.iter().copied().find(|buf| {
        buf.get(start..body).is_some_and(|h| {
            h.len() > first.len()
                && h[..first.len()].eq_ignore_ascii_case(&first)
                && h[first.len()..]
                    .iter()
                    .find(|c| **c != b' ' && **c != b'\t')
                    .is_some_and(|c| *c == b':')
        })
    })
}

/// The part's raw header block, if it can be located.
pub fn raw_headers(part: &MessagePart<'_>, bufs: &[&[u8]]) -> Option<RawHeaders> {
    let buf = part_buffer(part, bufs)?;
    buf.get(part.offset_header as usize..part.offset_body as usize)
        .map(RawHeaders::parse)
}

fn bad(s: &str) -> bool {
    s.contains('\u{FFFD}') || s.trim().is_empty()
}

/// The part's file name: our own decoding of the raw header (RFC 2231 continuations as
/// octets, RFC 2047 in quotes, raw 8-bit), else mail-parser's, whichever is clean.
fn part_name(part: &MessagePart<'_>, bufs: &[&[u8]]) -> Option<String> {
    let mine = raw_headers(part, bufs).and_then(|h| {
        let from_cd = h
            .get("Content-Disposition")
            .and_then(|v| param_value(&parse_params(v), "filename"))
            .filter(|s| !s.trim().is_empty());
        from_cd.or_else(|| {
            h.get("Content-Type")
                .and_then(|v| param_value(&parse_params(v), "name"))
                .filter(|s| !s.trim().is_empty())
        })
    });
    let theirs = part.attachment_name().map(|s| s.to_string());
    let chosen = match (mine, theirs) {
        (Some(m), _) if !bad(&m) => Some(m),
        (_, Some(t)) if !bad(&t) => Some(t),
        (m, t) => m.or(t),
    };
    chosen.and_then(|n| sanitize(&n))
}

/// The decoded subject of a message: mail-parser's, or our decoding of the raw header when
/// that contains U+FFFD (encoded words split inside a character, raw 8-bit GBK).
pub fn subject_of(msg: &Message<'_>, raw: Option<&RawHeaders>) -> String {
    let theirs = msg.subject().map(|s| s.to_string());
    if let Some(t) = &theirs {
        if !t.contains('\u{FFFD}') {
            return t.trim().to_string();
        }
    }
    raw.and_then(|h| h.get("Subject"))
        .map(|v| decode_2047(v).trim().to_string())
        .or(theirs)
        .unwrap_or_default()
}

impl<'o> Walker<'o> {
    pub fn new(opts: &'o ParseOptions) -> Self {
        Walker {
            opts,
            files: Vec::new(),
            unnamed: 0,
        }
    }

    /// Walks `msg`, whose offsets point into one of `bufs`, at forwarding depth `depth`.
    pub fn message(
        &mut self,
        msg: &Message<'_>,
        bufs: &[&[u8]],
        depth: usize,
        container: Option<&str>,
    ) {
        self.part(msg, 0, bufs, depth, container, 0);
    }

    fn part(
        &mut self,
        msg: &Message<'_>,
        id: usize,
        bufs: &[&[u8]],
        depth: usize,
        container: Option<&str>,
        level: usize,
    ) {
        if level > MAX_MIME_LEVEL {
            return;
        }
        let Some(part) = msg.parts.get(id) else {
            return;
        };
        match &part.body {
            PartType::Multipart(ids) => {
                for child in ids {
                    self.part(msg, *child as usize, bufs, depth, container, level + 1);
                }
            }
            PartType::Message(inner) => {
                if depth >= self.opts.limits.nesting {
                    let name = part_name(part, bufs).unwrap_or_else(|| "message.eml".into());
                    self.files.push(File {
                        path_in_container: container.map(|_| name.clone()),
                        filename: name,
                        bytes: Vec::new(),
                        file_type: FileType::Unknown,
                        container: container.map(str::to_string),
                        problem: Some(FileProblem::TooDeep),
                    });
                    return;
                }
                let mut inner_bufs: Vec<&[u8]> = vec![inner.raw_message()];
                inner_bufs.extend_from_slice(bufs);
                let inner_headers = inner
                    .parts
                    .first()
                    .and_then(|p| raw_headers(p, &inner_bufs));
                let subject = subject_of(inner, inner_headers.as_ref());
                let label = format!("message/rfc822: {subject}");
                self.message(inner, &inner_bufs, depth + 1, Some(&label));
            }
            PartType::Text(_) | PartType::Html(_) => {
                if let Some(name) = part_name(part, bufs) {
                    let bytes = self.original_bytes(part, bufs);
                    self.push_file(name, bytes, container);
                } else if matches!(part.body, PartType::Text(_)) {
                    self.uuencoded(part, bufs, container);
                }
            }
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                // A signature of the body (PGP/MIME, S/MIME) is not a file the sender sent.
                let signature = part.content_type().is_some_and(|ct| {
                    let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
                    ct.ctype().eq_ignore_ascii_case("application")
                        && matches!(
                            sub.as_str(),
                            "pgp-signature" | "pkcs7-signature" | "x-pkcs7-signature"
                        )
                });
                if signature {
                    return;
                }
                // An image the HTML body shows (Content-ID, not disposed as an attachment,
                // e.g. Outlook's image001.png signature) is part of the body, not a file.
                let as_attachment = part
                    .content_disposition()
                    .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
                if part.content_id().is_some() && !as_attachment && sniff(b, "").is_image() {
                    return;
                }
                if let Some(name) = part_name(part, bufs) {
                    self.push_file(name, b.to_vec(), container);
                    return;
                }
                let file_type = sniff(b, "");
                let include = match file_type {
                    FileType::Unknown => false,
                    t if t.is_image() => {
                        let attachment = part
                            .content_disposition()
                            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
                        attachment && part.content_id().is_none()
                    }
                    _ => true,
                };
                if include {
                    self.unnamed += 1;
                    let name = format!("attachment-{}.{}", self.unnamed, file_type.extension());
                    self.push_file(name, b.to_vec(), container);
                }
            }
        }
    }

    /// Files uuencoded in a plain-text body (old clients): found like attachments, their
    /// names decoded like other file names.
    fn uuencoded(&mut self, part: &MessagePart<'_>, bufs: &[&[u8]], container: Option<&str>) {
        let body = self.original_bytes(part, bufs);
        if !body.windows(6).any(|w| w == b"begin ") {
            return;
        }
        for block in uuencode::blocks(&body) {
            let name = sanitize(&decode_2047(&block.name)).unwrap_or_else(|| {
                self.unnamed += 1;
                format!(
                    "attachment-{}.{}",
                    self.unnamed,
                    sniff(&block.bytes, "").extension()
                )
            });
            self.push_file(name, block.bytes, container);
        }
    }

    /// A text part's bytes as sent (transfer-decoded, not charset-converted), so a file
    /// mislabelled text/* keeps its bytes.
    fn original_bytes(&self, part: &MessagePart<'_>, bufs: &[&[u8]]) -> Vec<u8> {
        let raw = part_buffer(part, bufs)
            .and_then(|buf| buf.get(part.offset_body as usize..part.offset_end as usize));
        match raw {
            Some(raw) => match part.encoding {
                Encoding::Base64 => base64_lenient(raw),
                Encoding::QuotedPrintable => quoted_printable(raw),
                Encoding::None => raw.to_vec(),
            },
            None => part.contents().to_vec(),
        }
    }

    fn push_file(&mut self, filename: String, bytes: Vec<u8>, container: Option<&str>) {
        let limits = self.opts.limits;
        let path_in_container = container.map(|_| filename.clone());
        let file_type = sniff(&bytes, &filename);
        if bytes.len() as u64 > limits.file_bytes {
            self.files.push(File {
                filename,
                bytes: Vec::new(),
                file_type,
                container: container.map(str::to_string),
                path_in_container,
                problem: Some(FileProblem::TooLarge {
                    what: "file size".into(),
                    limit: limits.file_bytes,
                    actual: Some(bytes.len() as u64),
                }),
            });
            return;
        }
        let index = self.files.len();
        self.files.push(File {
            filename: filename.clone(),
            bytes,
            file_type,
            container: container.map(str::to_string),
            path_in_container,
            problem: None,
        });
        if file_type.is_archive() && limits.nesting >= 1 {
            let mut members = Vec::new();
            let mut budget = limits.zip_unpacked_bytes;
            let bytes = &self.files[index].bytes;
            let problem = catch_unwind(AssertUnwindSafe(|| {
                archive::expand(
                    bytes,
                    file_type,
                    &filename,
                    1,
                    &limits,
                    &mut budget,
                    &mut members,
                )
            }))
            .unwrap_or_else(|_| Some(FileProblem::Corrupt("archive: reader failed".into())));
            self.files[index].problem = problem;
            self.files.extend(members);
        } else if file_type.is_archive() {
            self.files[index].problem = Some(FileProblem::TooDeep);
        }
    }
}
