//! The OOXML package layer shared by both readers: opening the zip, reading one member within
//! the [`ReadLimits`] (declared and actual size, compression ratio, running total), and telling
//! from `[Content_Types].xml` which main part the package has (Word, Excel, macro-enabled).
//!
//! Strict OOXML (ISO/IEC 29500 Strict, namespaces under `http://purl.oclc.org/ooxml/`) needs
//! nothing of its own: its content types are the Transitional ones, the Word reader matches
//! element names without their namespace, and calamine 0.38 finds sheets by relationship id,
//! looking at relationship types only for tables and pivot tables (`src/xlsx/mod.rs`), so
//! Strict .docx and .xlsx read as the same forms (tests/office.rs).

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{ReadError, ReadLimits};

/// Members smaller than this are not subject to the ratio check (tiny XML compresses well).
const RATIO_FLOOR: u64 = 1024 * 1024;

/// An opened package with a running budget of decompressed bytes.
pub struct Package<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    limits: ReadLimits,
    unpacked: u64,
}

/// What the package's main part is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainPart {
    Word(String),
    WordMacro,
    Excel(String),
    ExcelMacro,
    Other,
}

const OLE2_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Whether the bytes are an OLE2 compound file holding an encrypted OOXML package
/// (an `EncryptionInfo` stream, as Office and msoffcrypto-tool write it).
pub fn is_encrypted_package(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&OLE2_MAGIC) {
        return false;
    }
    let needle: Vec<u8> = "EncryptionInfo"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    bytes.windows(needle.len()).any(|w| w == needle.as_slice())
}

impl<'a> Package<'a> {
    /// Opens a zip package; anything else is `Corrupt` (or `Encrypted` for an encrypted OOXML).
    pub fn open(bytes: &'a [u8], limits: &ReadLimits) -> Result<Package<'a>, ReadError> {
        if is_encrypted_package(bytes) {
            return Err(ReadError::Encrypted);
        }
        if !bytes.starts_with(b"PK") {
            return Err(ReadError::Corrupt("not a zip package".into()));
        }
        let zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ReadError::Corrupt(format!("zip: {e}")))?;
        Ok(Package {
            zip,
            limits: *limits,
            unpacked: 0,
        })
    }

    /// Reads one member fully, within the limits. `Ok(None)` when it does not exist.
    pub fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ReadError> {
        // Some Windows zip tools (and packages rezipped with them) store member names with
        // backslashes ("word\\document.xml"); Office and calamine read those packages too.
        let index = self
            .zip
            .index_for_name(name)
            .or_else(|| self.zip.index_for_name(&name.replace('/', "\\")));
        let Some(index) = index else {
            return Ok(None);
        };
        let mut file = self
            .zip
            .by_index(index)
            .map_err(|e| ReadError::Corrupt(format!("{name}: {e}")))?;
        let size = file.size();
        let packed = file.compressed_size().max(1);
        let remaining = self.limits.unpacked_bytes.saturating_sub(self.unpacked);
        if size > remaining {
            return Err(ReadError::TooLarge(format!(
                "{name}: {size} bytes unpacked"
            )));
        }
        if size > RATIO_FLOOR && size / packed > self.limits.ratio {
            return Err(ReadError::TooLarge(format!(
                "{name}: compression ratio {}:1",
                size / packed
            )));
        }
        let cap = remaining.min(size.saturating_add(1));
        let mut out = Vec::with_capacity(usize::try_from(size.min(64 << 20)).unwrap_or(0));
        (&mut file)
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|e| ReadError::Corrupt(format!("{name}: {e}")))?;
        let got = out.len() as u64;
        if got > size {
            return Err(ReadError::Corrupt(format!("{name}: size mismatch")));
        }
        self.unpacked = self.unpacked.saturating_add(got);
        Ok(Some(out))
    }

    /// Checks the declared sizes of all members against the limits (for readers that take the
    /// whole package, like calamine).
    pub fn check_all_members(&mut self) -> Result<(), ReadError> {
        let mut total = 0u64;
        for i in 0..self.zip.len() {
            let f = self
                .zip
                .by_index_raw(i)
                .map_err(|e| ReadError::Corrupt(format!("zip: {e}")))?;
            let size = f.size();
            let packed = f.compressed_size().max(1);
            if size > RATIO_FLOOR && size / packed > self.limits.ratio {
                return Err(ReadError::TooLarge(format!(
                    "{}: compression ratio {}:1",
                    f.name().unwrap_or_default(),
                    size / packed
                )));
            }
            total = total.saturating_add(size);
        }
        if total > self.limits.unpacked_bytes {
            return Err(ReadError::TooLarge(format!("{total} bytes unpacked")));
        }
        Ok(())
    }

    /// The main part named by `[Content_Types].xml`.
    pub fn main_part(&mut self) -> Result<MainPart, ReadError> {
        let Some(ct) = self.read("[Content_Types].xml")? else {
            return Err(ReadError::Corrupt("no [Content_Types].xml".into()));
        };
        let ct = String::from_utf8_lossy(&ct);
        Ok(classify_content_types(&ct))
    }
}

/// Finds the main part in the text of `[Content_Types].xml` (a tolerant scan of the
/// `Override` elements, which is all that is needed).
pub fn classify_content_types(ct: &str) -> MainPart {
    let mut found = MainPart::Other;
    for part in ct.split('<').filter(|p| p.starts_with("Override")) {
        let Some(ctype) = attr(part, "ContentType") else {
            continue;
        };
        let name = attr(part, "PartName").unwrap_or_default();
        let name = name.trim_start_matches('/').to_string();
        let kind = if ctype.contains("ms-word.document.macroEnabled")
            || ctype.contains("ms-word.template.macroEnabled")
        {
            MainPart::WordMacro
        } else if ctype.contains("wordprocessingml.document.main+xml")
            || ctype.contains("wordprocessingml.template.main+xml")
        {
            MainPart::Word(name)
        } else if ctype.contains("ms-excel.sheet.macroEnabled")
            || ctype.contains("ms-excel.template.macroEnabled")
        {
            MainPart::ExcelMacro
        } else if ctype.contains("spreadsheetml.sheet.main+xml")
            || ctype.contains("spreadsheetml.template.main+xml")
        {
            MainPart::Excel(name)
        } else {
            continue;
        };
        found = kind;
        break;
    }
    found
}

fn attr(element: &str, name: &str) -> Option<String> {
    let mut rest = element;
    while let Some(i) = rest.find(name) {
        let after = &rest[i + name.len()..];
        let before_ok = i > 0 && rest.as_bytes()[i - 1].is_ascii_whitespace();
        let after = after.trim_start();
        if before_ok {
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                let quote = v.chars().next()?;
                if quote == '"' || quote == '\'' {
                    let v = &v[1..];
                    let end = v.find(quote)?;
                    return Some(v[..end].to_string());
                }
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let ct = r#"<Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
        assert_eq!(
            classify_content_types(ct),
            MainPart::Word("word/document.xml".into())
        );
        let ct = r#"<Types><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>"#;
        assert_eq!(classify_content_types(ct), MainPart::WordMacro);
    }
}
