//! TNEF (`winmail.dat`, application/ms-tnef): Outlook and Exchange send a message's
//! attachments inside it when "Rich Text" format is used. Its files are listed like a
//! zip's members.
//!
//! Owns: reading the attribute stream of MS-OXTNEF (signature, legacy key, then attributes
//! of level, id, length, data and checksum): each attachment starts at `attAttachRenddata`,
//! its bytes are in `attAttachData` (or, as newer Outlook writes them, in the
//! `PR_ATTACH_DATA_OBJ` property of `attAttachment`), its name in `attAttachTitle` (8-bit,
//! in the sender's code page) or, better, in the `PR_ATTACH_LONG_FILENAME` property of
//! `attAttachment` (MAPI properties, MS-OXTNEF 2.1.3.4). Every length is checked against what is left of
//! the input, so a hostile file cannot make it read or allocate past its own size; checksums
//! are not checked (a wrong one costs nothing, and readers such as tnef(1) ignore them too).
//! No crate for this is maintained: `tnef` (0.1.1, 2019) is unmaintained and `ytnef` binds
//! a C library.

/// The signature every TNEF stream starts with (little-endian 0x223E9F78).
pub const SIGNATURE: [u8; 4] = [0x78, 0x9F, 0x3E, 0x22];

/// Attribute ids (the low 16 bits of the attribute's id field), MS-OXTNEF 2.1.3.3.
const ATT_ATTACH_DATA: u16 = 0x800F;
const ATT_ATTACH_TITLE: u16 = 0x8010;
const ATT_ATTACH_RENDDATA: u16 = 0x9002;
const ATT_ATTACHMENT: u16 = 0x9005;
/// Attribute level of attachment attributes.
const LEVEL_ATTACHMENT: u8 = 2;

/// MAPI property ids and types used here.
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_ATTACH_DATA_OBJ: u16 = 0x3701;
const PT_OBJECT: u16 = 0x000D;
const PT_BINARY: u16 = 0x0102;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;

/// One file carried in the TNEF stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    /// The best name found: the long file name, else the 8.3 name, else the title. Raw
    /// 8-bit names are decoded by the caller's rules (UTF-8, else GB18030).
    pub name: Option<NameBytes>,
    pub bytes: Vec<u8>,
}

/// A name as stored: UTF-16 (already decoded) or 8-bit bytes in an unknown code page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameBytes {
    Unicode(String),
    Bytes(Vec<u8>),
}

/// Why a stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TnefError {
    #[error("not a TNEF stream")]
    NotTnef,
    #[error("TNEF attribute at byte {0} runs past the end")]
    Truncated(usize),
}

/// The attachments of a TNEF stream, at most `max` of them; the second value says whether
/// there were more. Attachments read before damage are returned with the error's place.
pub fn attachments(
    bytes: &[u8],
    max: usize,
) -> Result<(Vec<Attachment>, bool), (Vec<Attachment>, TnefError)> {
    if !bytes.starts_with(&SIGNATURE) || bytes.len() < 6 {
        return Err((Vec::new(), TnefError::NotTnef));
    }
    let mut out: Vec<Attachment> = Vec::new();
    let mut more = false;
    let mut pos = 6; // signature and legacy key
    while pos < bytes.len() {
        let Some((level, id, data, next)) = attribute(bytes, pos) else {
            return Err((out, TnefError::Truncated(pos)));
        };
        pos = next;
        if level != LEVEL_ATTACHMENT {
            continue;
        }
        if id == ATT_ATTACH_RENDDATA {
            if out.len() == max {
                more = true;
                break;
            }
            out.push(Attachment::default());
            continue;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        match id {
            ATT_ATTACH_DATA => current.bytes = data.to_vec(),
            ATT_ATTACH_TITLE if current.name.is_none() => {
                let title = data.split(|&b| b == 0).next().unwrap_or(&[]);
                if !title.is_empty() {
                    current.name = Some(NameBytes::Bytes(title.to_vec()));
                }
            }
            ATT_ATTACHMENT => {
                let props = mapi_props(data);
                if let Some(name) = props.name {
                    current.name = Some(name);
                }
                if current.bytes.is_empty() {
                    if let Some(bytes) = props.data {
                        current.bytes = bytes.to_vec();
                    }
                }
            }
            _ => {}
        }
    }
    Ok((out, more))
}

/// The attribute at `pos`: level, id, data, and where the next one starts.
fn attribute(b: &[u8], pos: usize) -> Option<(u8, u16, &[u8], usize)> {
    let level = *b.get(pos)?;
    let id = u16::from_le_bytes(b.get(pos + 1..pos + 3)?.try_into().ok()?);
    let len = u32_at(b, pos + 5)? as usize;
    let start = pos + 9;
    let end = start.checked_add(len)?;
    let data = b.get(start..end)?;
    // A two-byte checksum follows; a stream cut inside it still gives its data.
    Some((level, id, data, end.saturating_add(2).min(b.len())))
}

fn u32_at(b: &[u8], pos: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(pos..pos + 4)?.try_into().ok()?))
}

/// What an `attAttachment` MAPI property list says of the file.
#[derive(Default)]
struct AttachProps<'a> {
    /// The long file name, else the short one.
    name: Option<NameBytes>,
    /// The file's bytes, when they are kept in a property.
    data: Option<&'a [u8]>,
}

/// Reads an `attAttachment` property list up to its end or its first damage.
fn mapi_props(b: &[u8]) -> AttachProps<'_> {
    let mut found = AttachProps::default();
    let (mut long, mut short) = (None, None);
    let _ = read_props(b, &mut long, &mut short, &mut found.data);
    found.name = long.or(short).filter(|n| match n {
        NameBytes::Unicode(s) => !s.trim().is_empty(),
        NameBytes::Bytes(b) => !b.is_empty(),
    });
    found
}

fn read_props<'a>(
    b: &'a [u8],
    long: &mut Option<NameBytes>,
    short: &mut Option<NameBytes>,
    data: &mut Option<&'a [u8]>,
) -> Option<()> {
    let mut r = Props { b, pos: 0 };
    let count = r.u32()?;
    for _ in 0..count {
        let ptype = r.u16()?;
        let pid = r.u16()?;
        if pid >= 0x8000 {
            r.named_property_id()?;
        }
        let multi = ptype & 0x1000 != 0;
        let base = ptype & 0x0FFF;
        let values = if multi || matches!(base, 0x001E | 0x001F | 0x0102 | 0x000D) {
            r.u32()?
        } else {
            1
        };
        for _ in 0..values {
            let value = r.value(base)?;
            let name = match base {
                PT_UNICODE => {
                    let units: Vec<u16> = value
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .take_while(|&u| u != 0)
                        .collect();
                    Some(NameBytes::Unicode(String::from_utf16_lossy(&units)))
                }
                PT_STRING8 => {
                    let s = value.split(|&c| c == 0).next().unwrap_or(&[]);
                    Some(NameBytes::Bytes(s.to_vec()))
                }
                _ => None,
            };
            match (pid, base) {
                (PR_ATTACH_LONG_FILENAME, _) if long.is_none() => *long = name,
                (PR_ATTACH_FILENAME, _) if short.is_none() => *short = name,
                // An object value starts with the 16-byte interface id.
                (PR_ATTACH_DATA_OBJ, PT_OBJECT) => *data = value.get(16..),
                (PR_ATTACH_DATA_OBJ, PT_BINARY) => *data = Some(value),
                _ => {}
            }
        }
    }
    Some(())
}

/// A cursor over a MAPI property list; every read is checked against the end.
struct Props<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Props<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// Skips a named property's GUID and its id or name.
    fn named_property_id(&mut self) -> Option<()> {
        self.take(16)?;
        match self.u32()? {
            0 => {
                self.u32()?;
            }
            _ => {
                let len = self.u32()? as usize;
                self.take(len.checked_add(3)? & !3)?;
            }
        }
        Some(())
    }

    /// One value of the base type: fixed-size types are padded to 4 bytes; strings and
    /// binaries carry their length and are padded to 4.
    fn value(&mut self, base: u16) -> Option<&'a [u8]> {
        let fixed = match base {
            0x0002 | 0x0003 | 0x0004 | 0x000A | 0x000B => Some(4),
            0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => Some(8),
            0x0048 => Some(16),
            _ => None,
        };
        match fixed {
            Some(n) => self.take(n),
            None => {
                let len = self.u32()? as usize;
                let padded = len.checked_add(3)? & !3;
                let v = self.b.get(self.pos..self.pos.checked_add(len)?)?;
                self.take(padded)?;
                Some(v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(level: u8, id: u32, data: &[u8]) -> Vec<u8> {
        let mut v = vec![level];
        v.extend_from_slice(&id.to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        let sum = data.iter().map(|&b| b as u32).sum::<u32>() as u16;
        v.extend_from_slice(&sum.to_le_bytes());
        v
    }

    fn stream(attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut v = SIGNATURE.to_vec();
        v.extend_from_slice(&[0x01, 0x00]);
        for a in attrs {
            v.extend_from_slice(a);
        }
        v
    }

    fn long_name(name: &str) -> Vec<u8> {
        let mut units: Vec<u8> = name.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        units.extend_from_slice(&[0, 0]);
        let mut v = 1u32.to_le_bytes().to_vec();
        v.extend_from_slice(&PT_UNICODE.to_le_bytes());
        v.extend_from_slice(&PR_ATTACH_LONG_FILENAME.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&(units.len() as u32).to_le_bytes());
        let padded = (units.len() + 3) & !3;
        units.resize(padded, 0);
        v.extend_from_slice(&units);
        v
    }

    #[test]
    fn attachments_with_titles_and_long_names() {
        let gbk = encoding_rs::GB18030.encode("申报表.doc").0.to_vec();
        let mut title = gbk.clone();
        title.push(0);
        let s = stream(&[
            attr(1, 0x0008_8008, b"IPM.Microsoft Mail.Note\0"),
            attr(2, 0x0006_9002, &[0; 14]),
            attr(2, 0x0001_8010, &title),
            attr(2, 0x0006_800F, b"first"),
            attr(2, 0x0006_9002, &[0; 14]),
            attr(2, 0x0001_8010, b"LONGNA~1.DOC\0"),
            attr(2, 0x0006_800F, b"second"),
            attr(2, 0x0006_9005, &long_name("广东-典型案例申报表.docx")),
        ]);
        let (got, more) = attachments(&s, 10).unwrap();
        assert!(!more);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, Some(NameBytes::Bytes(gbk)));
        assert_eq!(got[0].bytes, b"first");
        assert_eq!(
            got[1].name,
            Some(NameBytes::Unicode("广东-典型案例申报表.docx".into()))
        );
        let (first, more) = attachments(&s, 1).unwrap();
        assert!(more);
        assert_eq!(first.len(), 1);
    }

    #[test]
    fn damage_keeps_what_came_before() {
        let mut s = stream(&[
            attr(2, 0x0006_9002, &[0; 14]),
            attr(2, 0x0006_800F, b"data"),
            attr(2, 0x0006_800F, b"more"),
        ]);
        s.truncate(s.len() - 5);
        let (got, e) = attachments(&s, 10).unwrap_err();
        assert_eq!(got[0].bytes, b"data");
        assert!(matches!(e, TnefError::Truncated(_)));
        assert!(matches!(
            attachments(b"PK\x03\x04", 1),
            Err((_, TnefError::NotTnef))
        ));
        // a property list claiming four billion values ends at the end of its bytes
        let mut props = u32::MAX.to_le_bytes().to_vec();
        props.extend_from_slice(&[0x1E, 0x10, 0x07, 0x37, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(mapi_props(&props).name.is_none());
    }
}
