//! uuencoded files inside a plain-text body, as old mail clients (and some OA systems'
//! mailers) attach them: `begin 644 name.docx`, lines of uuencoded data, a zero-length line,
//! `end`. Each block becomes a file like a MIME attachment.
//!
//! Owns: finding `begin MODE NAME` … `end` blocks in the raw body bytes and decoding them
//! leniently (a damaged line is decoded as far as it goes; a block without `end` keeps
//! what was decoded). The name is returned as raw bytes for the caller's file-name
//! decoding. Bounded by the body: the output is never larger than the input.

/// One uuencoded file: its name as written (raw bytes) and its decoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub name: Vec<u8>,
    pub bytes: Vec<u8>,
}

/// Every uuencoded block of `body`, in order.
pub fn blocks(body: &[u8]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    while let Some(line) = lines.next() {
        let Some(name) = begin_line(line) else {
            continue;
        };
        let mut bytes = Vec::new();
        for data in lines.by_ref() {
            if data == b"end" || data.starts_with(b"end ") {
                break;
            }
            decode_line(data, &mut bytes);
        }
        out.push(Block {
            name: name.to_vec(),
            bytes,
        });
    }
    out
}

/// The name of a `begin MODE NAME` line (MODE: three or four octal digits).
fn begin_line(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"begin ")?;
    let space = rest.iter().position(|&b| b == b' ')?;
    let (mode, name) = (&rest[..space], &rest[space + 1..]);
    let octal = (3..=4).contains(&mode.len()) && mode.iter().all(|b| (b'0'..=b'7').contains(b));
    let name = name.trim_ascii();
    (octal && !name.is_empty()).then_some(name)
}

/// The value of one uuencoded character (space and backquote are both zero).
fn value(c: u8) -> u8 {
    c.wrapping_sub(b' ') & 0x3F
}

/// Decodes one data line into `out`: its first character gives the byte count.
fn decode_line(line: &[u8], out: &mut Vec<u8>) {
    let Some((&len, data)) = line.split_first() else {
        return;
    };
    let want = value(len) as usize;
    let mut got = 0;
    for group in data.chunks(4) {
        if got >= want {
            break;
        }
        let mut v = [0u8; 4];
        for (i, c) in group.iter().enumerate() {
            v[i] = value(*c);
        }
        let three = [
            v[0] << 2 | v[1] >> 4,
            v[1] << 4 | v[2] >> 2,
            v[2] << 6 | v[3],
        ];
        let take = (want - got).min(3).min(group.len().saturating_sub(1));
        out.extend_from_slice(&three[..take]);
        got += take;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_uuencode_writes() {
        // `printf 'Hello, uuencode!\n' | uuencode hello.txt` (sharutils 4.15)
        let body = b"Text before.\r\n\r\nbegin 644 hello.txt\r\n12&5L;&\\L('5U96YC;V1E(0H`\r\n`\r\nend\r\nText after.\r\n";
        let got = blocks(body);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, b"hello.txt");
        assert_eq!(got[0].bytes, b"Hello, uuencode!\n");
    }

    #[test]
    fn a_block_without_end_keeps_what_was_decoded_and_other_lines_are_ignored() {
        assert!(blocks(b"begin here\nbegin 6444 x\n").len() == 1);
        assert!(blocks(b"begin the letter\n").is_empty());
        let got = blocks(b"begin 600 a b.doc\n#86)C\n");
        assert_eq!(got[0].name, b"a b.doc");
        assert_eq!(got[0].bytes, b"abc");
    }
}
