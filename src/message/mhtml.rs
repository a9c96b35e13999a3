//! MHTML ("single file web page", .mht): Word and Excel, and OA systems that export through
//! them, save documents as a MIME multipart/related message whose root part is the HTML.
//! LibreOffice 7.4 does not import MHTML (it opens it as plain text), so the root HTML is
//! taken out here and converted as HTML.
//!
//! Owns: finding the root HTML part (the `start` parameter's Content-ID, else the first
//! text/html part) and returning its bytes as written (transfer encoding undone, the
//! charset kept, since the HTML's own `<meta charset>` names it; one is added when only the
//! MIME header names the charset). Pure: no disk.

use mail_parser::{Encoding, MessageParser, MimeHeaders, PartType};

use super::filename::{base64_lenient, quoted_printable};

/// The root HTML document of an MHTML file, or None when there is none.
pub fn root_html(bytes: &[u8]) -> Option<Vec<u8>> {
    let msg = MessageParser::default().parse(bytes)?;
    let start = msg
        .content_type()
        .and_then(|ct| ct.attribute("start"))
        .map(|s| s.trim().trim_matches(['<', '>']).to_string());
    let is_html = |p: &&mail_parser::MessagePart<'_>| matches!(p.body, PartType::Html(_));
    let root = start
        .as_deref()
        .and_then(|id| {
            msg.parts.iter().filter(is_html).find(|p| {
                p.content_id()
                    .is_some_and(|c| c.trim_matches(['<', '>']) == id)
            })
        })
        .or_else(|| msg.parts.iter().find(is_html))?;
    let raw = bytes.get(root.offset_body as usize..root.offset_end as usize)?;
    let mut html = match root.encoding {
        Encoding::Base64 => base64_lenient(raw),
        Encoding::QuotedPrintable => quoted_printable(raw),
        Encoding::None => raw.to_vec(),
    };
    let declared = root
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(str::to_string);
    let head = &html[..html.len().min(4096)];
    let names_charset = head.windows(7).any(|w| w.eq_ignore_ascii_case(b"charset"));
    if let (Some(charset), false) = (declared, names_charset) {
        let meta =
            format!("<meta http-equiv=\"Content-Type\" content=\"text/html; charset={charset}\">");
        let mut with = meta.into_bytes();
        with.append(&mut html);
        html = with;
    }
    Some(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_html_keeps_its_bytes_and_gets_the_mime_charset() {
        let html = "<html><body><table><tr><td>案例名称</td></tr></table></body></html>";
        let gbk = encoding_rs::GB18030.encode(html).0;
        let qp: String = gbk
            .iter()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"<>/ ".contains(b) {
                    (*b as char).to_string()
                } else {
                    format!("={b:02X}")
                }
            })
            .collect();
        let mht = format!(
            "MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/html; charset=\"gb2312\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
             {qp}\r\n--b\r\nContent-Type: image/png\r\nContent-Location: a.png\r\n\r\nxx\r\n--b--\r\n"
        );
        let got = root_html(mht.as_bytes()).expect("root");
        let text = encoding_rs::GB18030.decode(&got).0;
        assert!(text.starts_with(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">"
        ));
        assert!(text.contains("案例名称"), "{text}");
    }

    #[test]
    fn no_html_part_is_none() {
        let mht = b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: image/png\r\n\r\nxx\r\n--b--\r\n";
        assert!(root_html(mht).is_none());
    }
}
