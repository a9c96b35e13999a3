//! Decoding of header text and file names as Chinese mail clients write them.
//!
//! Owns: charset labels (every GB2312/GBK label → GB18030), RFC 2047 encoded words (also
//! inside quoted parameters; adjacent words of one charset are joined as bytes before
//! decoding, so words split inside a character decode right), RFC 2231 parameters with
//! continuations (segments joined as octets before decoding), raw 8-bit text (UTF-8, else
//! GB18030), parameter parsing of a raw header value, and the sanitising of file names.

use encoding_rs::{Encoding, GB18030, UTF_8};
use unicode_normalization::UnicodeNormalization;

/// The decoder for a charset label; GB2312/GBK and friends map to GB18030 (a superset).
pub fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches('"').to_ascii_lowercase();
    // RFC 2231 allows "charset*language" in encoded words.
    let label = label.split('*').next().unwrap_or("");
    match label {
        "gb2312" | "gbk" | "x-gbk" | "gb_2312" | "gb_2312-80" | "csgb2312" | "cp936" | "ms936"
        | "windows-936" | "euc-cn" | "eucgb2312_cn" | "x-euc-cn" | "gb18030" | "csgbk"
        | "chinese" | "iso-ir-58" | "gb18030-2000" | "gb18030-2005" | "gb18030-2022" => {
            Some(GB18030)
        }
        "utf8" | "utf-8" => Some(UTF_8),
        "" => None,
        other => Encoding::for_label(other.as_bytes()),
    }
}

/// Bytes without a declared charset: UTF-8 if valid, else GB18030.
pub fn decode_raw(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// Bytes in a declared charset; an unknown label falls back to [`decode_raw`], and a
/// declared UTF-8 that is not valid UTF-8 is tried as GB18030.
pub fn decode_charset(label: &str, bytes: &[u8]) -> String {
    match encoding_for(label) {
        Some(enc) if enc == UTF_8 => decode_raw(bytes),
        Some(enc) => enc.decode_without_bom_handling(bytes).0.into_owned(),
        None => decode_raw(bytes),
    }
}

/// Lenient base64: skips anything outside the alphabet, ignores missing padding.
pub fn base64_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The byte written as two hex digits at `at` ("=XX" escapes), if they are there.
fn hex_byte(input: &[u8], at: usize) -> Option<u8> {
    let h = input.get(at).and_then(|&c| hex_val(c))?;
    let l = input.get(at + 1).and_then(|&c| hex_val(c))?;
    Some(h << 4 | l)
}

/// Quoted-printable body decoding (soft line breaks removed), lenient.
pub fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c == b'=' {
            if let Some(b) = hex_byte(input, i + 1) {
                out.push(b);
                i += 3;
                continue;
            }
            // soft line break: "=" followed by optional blanks and a line end
            let mut j = i + 1;
            while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
                j += 1;
            }
            if input.get(j) == Some(&b'\r') {
                j += 1;
            }
            if input.get(j) == Some(&b'\n') {
                i = j + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// RFC 2047 "Q" text: `_` is a space, `=XX` a byte.
fn q_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'_' => out.push(b' '),
            b'=' => {
                if let Some(b) = hex_byte(input, i + 1) {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Percent-decoding of an RFC 2231 extended value.
pub fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            if let Some(b) = hex_byte(input, i + 1) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// The longest an encoded word is looked for (keeps hostile input linear).
const MAX_WORD: usize = 4096;

/// Parses an encoded word starting at `start` (at "=?"): (charset, decoded bytes, end).
fn encoded_word(input: &[u8], start: usize) -> Option<(String, Vec<u8>, usize)> {
    let rest = input.get(start + 2..)?;
    let rest = &rest[..rest.len().min(MAX_WORD)];
    let q1 = rest.iter().position(|&c| c == b'?')?;
    let charset = std::str::from_utf8(&rest[..q1]).ok()?;
    if charset.is_empty() || charset.bytes().any(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let text_len = rest
        .get(text_start..)?
        .windows(2)
        .position(|w| w == b"?=")?;
    let text = &rest[text_start..text_start + text_len];
    let bytes = match enc {
        b'B' | b'b' => base64_lenient(text),
        b'Q' | b'q' => q_decode(text),
        _ => return None,
    };
    let end = start + 2 + text_start + text_len + 2;
    Some((charset.to_ascii_lowercase(), bytes, end))
}

/// Decodes header text with RFC 2047 encoded words anywhere (also inside quotes). Adjacent
/// words of the same charset are joined as bytes before decoding; text outside words is
/// decoded as raw 8-bit (UTF-8, else GB18030).
pub fn decode_2047(input: &[u8]) -> String {
    let mut out = String::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut literal: Vec<u8> = Vec::new();
    let mut i = 0;
    fn flush(out: &mut String, pending: &mut Option<(String, Vec<u8>)>) {
        if let Some((cs, bytes)) = pending.take() {
            out.push_str(&decode_charset(&cs, &bytes));
        }
    }
    while i < input.len() {
        if input[i] == b'=' && input.get(i + 1) == Some(&b'?') {
            if let Some((cs, bytes, end)) = encoded_word(input, i) {
                let only_space = literal.iter().all(|c| c.is_ascii_whitespace());
                if !(only_space && pending.is_some()) {
                    flush(&mut out, &mut pending);
                    out.push_str(&decode_raw(&literal));
                }
                literal.clear();
                match &mut pending {
                    Some((pcs, buf)) if *pcs == cs => buf.extend_from_slice(&bytes),
                    _ => {
                        flush(&mut out, &mut pending);
                        pending = Some((cs, bytes));
                    }
                }
                i = end;
                continue;
            }
        }
        literal.push(input[i]);
        i += 1;
    }
    flush(&mut out, &mut pending);
    out.push_str(&decode_raw(&literal));
    out
}

/// One `name=value` parameter of a structured header, value unquoted but not decoded.
#[derive(Debug, Clone)]
pub struct Param {
    /// Lower-cased attribute name, e.g. `filename*0*`.
    pub name: String,
    pub value: Vec<u8>,
}

/// Splits an unfolded header value into its parameters (after the first `;`). Quoted
/// strings may hold `;` and backslash escapes; unquoted values run to the next `;`.
pub fn parse_params(value: &[u8]) -> Vec<Param> {
    let mut params = Vec::new();
    let mut i = 0;
    let n = value.len();
    // skip the main value (may itself be quoted in broken mail)
    let mut in_quote = false;
    while i < n {
        match value[i] {
            b'"' => in_quote = !in_quote,
            b';' if !in_quote => break,
            _ => {}
        }
        i += 1;
    }
    while i < n && params.len() < 1000 {
        // at ';'
        i += 1;
        while i < n && (value[i].is_ascii_whitespace() || value[i] == b';') {
            i += 1;
        }
        let name_start = i;
        while i < n && value[i] != b'=' && value[i] != b';' {
            i += 1;
        }
        if i >= n || value[i] == b';' {
            continue;
        }
        let name = String::from_utf8_lossy(&value[name_start..i])
            .trim()
            .to_ascii_lowercase();
        i += 1; // '='
        while i < n && (value[i] == b' ' || value[i] == b'\t') {
            i += 1;
        }
        let mut v = Vec::new();
        if i < n && value[i] == b'"' {
            i += 1;
            while i < n && value[i] != b'"' {
                if value[i] == b'\\' && i + 1 < n {
                    i += 1;
                }
                if value[i] != b'\r' && value[i] != b'\n' {
                    v.push(value[i]);
                }
                i += 1;
            }
            // skip to the next ';'
            while i < n && value[i] != b';' {
                i += 1;
            }
        } else {
            let start = i;
            while i < n && value[i] != b';' {
                i += 1;
            }
            v.extend_from_slice(value[start..i].trim_ascii());
        }
        if !name.is_empty() {
            params.push(Param { name, value: v });
        }
    }
    params
}

/// The decoded value of parameter `attr` (e.g. "filename", "name"): RFC 2231 continuations
/// (`attr*0*`, `attr*1`, …) joined as octets then decoded with the declared charset, else
/// `attr*`, else `attr` (RFC 2047 words inside, or raw 8-bit).
pub fn param_value(params: &[Param], attr: &str) -> Option<String> {
    // RFC 2231 continuations
    let mut segments: Vec<(u32, bool, &[u8])> = Vec::new();
    for p in params {
        if let Some(rest) = p.name.strip_prefix(attr).and_then(|r| r.strip_prefix('*')) {
            let (num, extended) = match rest.strip_suffix('*') {
                Some(n) => (n, true),
                None => (rest, false),
            };
            if num.is_empty() {
                continue;
            }
            if let Ok(k) = num.parse::<u32>() {
                if k < 1000 && !segments.iter().any(|s| s.0 == k) {
                    segments.push((k, extended, &p.value));
                }
            }
        }
    }
    if !segments.is_empty() {
        segments.sort_by_key(|s| s.0);
        let mut charset = String::new();
        let mut bytes = Vec::new();
        for (k, extended, value) in &segments {
            if *extended {
                let mut v: &[u8] = value;
                if *k == segments[0].0 {
                    if let Some((cs, rest)) = split_charset(v) {
                        charset = cs;
                        v = rest;
                    }
                }
                bytes.extend(percent_decode(v));
            } else {
                bytes.extend_from_slice(value);
            }
        }
        return Some(finish_value(&charset, &bytes));
    }
    if let Some(p) = params.iter().find(|p| p.name == format!("{attr}*")) {
        let (charset, v) = split_charset(&p.value).unwrap_or((String::new(), &p.value));
        return Some(finish_value(&charset, &percent_decode(v)));
    }
    params
        .iter()
        .find(|p| p.name == attr)
        .map(|p| finish_value("", &p.value))
}

/// `charset'language'rest` → (charset, rest).
fn split_charset(v: &[u8]) -> Option<(String, &[u8])> {
    let a = v.iter().position(|&c| c == b'\'')?;
    let b = a + 1 + v[a + 1..].iter().position(|&c| c == b'\'')?;
    Some((String::from_utf8_lossy(&v[..a]).into_owned(), &v[b + 1..]))
}

fn finish_value(charset: &str, bytes: &[u8]) -> String {
    let text = if charset.is_empty() {
        decode_raw(bytes)
    } else {
        decode_charset(charset, bytes)
    };
    if text.contains("=?") {
        // RFC 2047 words inside a parameter (Outlook, Foxmail, QQ Mail, Coremail)
        decode_2047(text.as_bytes())
    } else {
        text
    }
}

/// A file name fit to show and store: NFC, no directory part, no control characters.
/// `None` when nothing is left.
pub fn sanitize(name: &str) -> Option<String> {
    let cleaned = clean_path(name);
    let base = cleaned
        .rsplit(['/', '\\'])
        .find(|s| !s.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    if base.is_empty() || base == "." || base == ".." {
        None
    } else {
        Some(base)
    }
}

/// A path as written, NFC, with control characters removed (for `path_in_container`).
pub fn clean_path(path: &str) -> String {
    path.nfc()
        .filter(|c| !c.is_control() && *c != '\u{FEFF}')
        .collect::<String>()
        .trim()
        .to_string()
}
