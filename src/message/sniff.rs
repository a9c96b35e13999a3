//! Recognises a file's format by its content (magic bytes, OOXML content types, OLE2
//! streams), never by its declared MIME type or extension alone.
//!
//! Owns: the magic-byte table, reading `[Content_Types].xml` from a zip (size-capped) and a
//! minimal, bounds-checked reader of the OLE2 (CFB) directory to find its stream names.

use std::io::{Cursor, Read};

/// A file's format as recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Docx,
    Docm,
    Xlsx,
    Xlsm,
    /// Any other zip (an archive of files).
    Zip,
    /// OLE2 Word 97 document (.doc, also WPS .wps).
    Doc,
    /// OLE2 Excel workbook (.xls, also WPS .et).
    Xls,
    /// OpenDocument text (.odt; WPS and LibreOffice can save it).
    Odt,
    /// OpenDocument spreadsheet (.ods).
    Ods,
    /// OLE2 container of an encrypted OOXML package (msoffcrypto / Office "password to open").
    EncryptedOoxml,
    /// Another OLE2 file.
    Ole2,
    Pdf,
    Jpeg,
    Png,
    Gif,
    Mp4,
    Rar,
    SevenZ,
    Unknown,
}

impl FileType {
    /// The stable name of the type in results and the registry (`file_type`).
    pub fn key(self) -> &'static str {
        match self {
            FileType::EncryptedOoxml => "encrypted",
            FileType::Ole2 => "ole2",
            FileType::Jpeg => "jpeg",
            FileType::Unknown => "unknown",
            other => other.extension(),
        }
    }

    /// A usual file extension (without dot) for this type, for parts that come without a name.
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Docx => "docx",
            FileType::Docm => "docm",
            FileType::Xlsx => "xlsx",
            FileType::Xlsm => "xlsm",
            FileType::Zip => "zip",
            FileType::Doc => "doc",
            FileType::Xls => "xls",
            FileType::Odt => "odt",
            FileType::Ods => "ods",
            FileType::EncryptedOoxml | FileType::Ole2 => "bin",
            FileType::Pdf => "pdf",
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
            FileType::Gif => "gif",
            FileType::Mp4 => "mp4",
            FileType::Rar => "rar",
            FileType::SevenZ => "7z",
            FileType::Unknown => "bin",
        }
    }

    /// An image format (possibly an inline picture of an HTML body).
    pub fn is_image(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png | FileType::Gif)
    }
}

const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// `[Content_Types].xml` is read up to this many bytes.
const CONTENT_TYPES_CAP: u64 = 1024 * 1024;

/// Recognises `bytes`; `filename` only breaks ties content cannot (e.g. .wps vs .doc).
pub fn sniff(bytes: &[u8], filename: &str) -> FileType {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return sniff_zip(bytes, filename);
    }
    if bytes.starts_with(OLE2_MAGIC) {
        return sniff_ole2(bytes);
    }
    if bytes.starts_with(b"%PDF") {
        return FileType::Pdf;
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return FileType::Jpeg;
    }
    if bytes.starts_with(b"\x89PNG") {
        return FileType::Png;
    }
    if bytes.starts_with(b"GIF8") {
        return FileType::Gif;
    }
    if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        return FileType::Mp4;
    }
    if bytes.starts_with(b"Rar!") {
        return FileType::Rar;
    }
    if bytes.starts_with(b"7z\xBC\xAF") {
        return FileType::SevenZ;
    }
    FileType::Unknown
}

fn extension_of(filename: &str) -> String {
    filename
        .rsplit('.')
        .next()
        .filter(|_| filename.contains('.'))
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn sniff_zip(bytes: &[u8], filename: &str) -> FileType {
    match content_types(bytes) {
        Ok(Some(ct)) => {
            let ct = ct.to_ascii_lowercase();
            if ct.contains("wordprocessingml.document.main") {
                FileType::Docx
            } else if ct.contains("ms-word.document.macroenabled") {
                FileType::Docm
            } else if ct.contains("spreadsheetml.sheet.main") {
                FileType::Xlsx
            } else if ct.contains("ms-excel.sheet.macroenabled") {
                FileType::Xlsm
            } else {
                office_by_parts(bytes, filename)
            }
        }
        Ok(None) => office_by_parts(bytes, filename),
        // The central directory cannot be read: trust the extension only to route an office
        // file to the form reader, which then reports it unreadable.
        Err(()) => match extension_of(filename).as_str() {
            "docx" => FileType::Docx,
            "docm" => FileType::Docm,
            "xlsx" => FileType::Xlsx,
            "xlsm" => FileType::Xlsm,
            _ => FileType::Zip,
        },
    }
}

/// A zip whose content types are missing or damaged is still an Office package when it
/// holds the package's main part, or when it is named like one: it goes to the form reader
/// (which reports it unreadable) rather than being unpacked as an archive of XML parts.
fn office_by_parts(bytes: &[u8], filename: &str) -> FileType {
    if let Some(t) = opendocument(bytes) {
        return t;
    }
    let names: Vec<String> = zip::ZipArchive::new(Cursor::new(bytes))
        .map(|a| {
            a.file_names()
                .filter_map(|n| n.ok())
                .map(|n| n.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let has = |n: &str| names.iter().any(|x| x == n);
    let macros = names.iter().any(|x| x.ends_with("vbaproject.bin"));
    match extension_of(filename).as_str() {
        _ if has("word/document.xml") && macros => FileType::Docm,
        _ if has("word/document.xml") => FileType::Docx,
        _ if has("xl/workbook.xml") && macros => FileType::Xlsm,
        _ if has("xl/workbook.xml") => FileType::Xlsx,
        "docx" => FileType::Docx,
        "docm" => FileType::Docm,
        "xlsx" => FileType::Xlsx,
        "xlsm" => FileType::Xlsm,
        _ => FileType::Zip,
    }
}

/// An OpenDocument package names its type in a first, stored member `mimetype`.
fn opendocument(bytes: &[u8]) -> Option<FileType> {
    // Local header: 30 bytes, then the name; stored (method 0) data follows.
    let name_len = u16::from_le_bytes([*bytes.get(26)?, *bytes.get(27)?]) as usize;
    let extra_len = u16::from_le_bytes([*bytes.get(28)?, *bytes.get(29)?]) as usize;
    if bytes.get(30..30 + name_len)? != b"mimetype" {
        return None;
    }
    let data = bytes.get(30 + name_len + extra_len..)?;
    let head = &data[..data.len().min(80)];
    if head.starts_with(b"application/vnd.oasis.opendocument.text") {
        Some(FileType::Odt)
    } else if head.starts_with(b"application/vnd.oasis.opendocument.spreadsheet") {
        Some(FileType::Ods)
    } else {
        None
    }
}

/// `Ok(Some(xml))` when the zip holds `[Content_Types].xml`, `Ok(None)` when it is a readable
/// zip without one, `Err` when the zip cannot be read.
fn content_types(bytes: &[u8]) -> Result<Option<String>, ()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| ())?;
    let index = match archive.index_for_name("[Content_Types].xml") {
        Some(i) => i,
        None => return Ok(None),
    };
    let file = match archive.by_index(index) {
        Ok(f) => f,
        Err(_) => return Ok(None),
    };
    let mut buf = Vec::new();
    if file.take(CONTENT_TYPES_CAP).read_to_end(&mut buf).is_err() && buf.is_empty() {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

fn sniff_ole2(bytes: &[u8]) -> FileType {
    let names = ole2_stream_names(bytes).unwrap_or_else(|| ole2_names_by_scan(bytes));
    let has = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    if has("EncryptedPackage") {
        FileType::EncryptedOoxml
    } else if has("WordDocument") {
        FileType::Doc
    } else if has("Workbook") || has("Book") {
        FileType::Xls
    } else {
        FileType::Ole2
    }
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Names of the entries of an OLE2 compound file's directory, read by following the FAT
/// chain of the directory. `None` when the structure is inconsistent.
fn ole2_stream_names(b: &[u8]) -> Option<Vec<String>> {
    const END: u32 = 0xFFFF_FFFE;
    let shift = le_u16(b, 0x1E)?;
    if shift != 9 && shift != 12 {
        return None;
    }
    let sector = 1usize << shift;
    let sector_count = b.len() / sector; // upper bound on the number of sectors
    let sector_at = |sid: u32| -> Option<&[u8]> {
        let start = (sid as usize).checked_add(1)?.checked_mul(sector)?;
        b.get(start..start.checked_add(sector)?)
    };
    // FAT sector ids: 109 in the header, then the DIFAT chain.
    let mut fat_sids: Vec<u32> = Vec::new();
    for i in 0..109 {
        let sid = le_u32(b, 0x4C + i * 4)?;
        if sid < 0xFFFF_FFFA {
            fat_sids.push(sid);
        }
    }
    let mut difat = le_u32(b, 0x44)?;
    let mut guard = 0;
    while difat < 0xFFFF_FFFA && guard <= sector_count {
        guard += 1;
        let s = sector_at(difat)?;
        let per = sector / 4 - 1;
        for i in 0..per {
            let sid = le_u32(s, i * 4)?;
            if sid < 0xFFFF_FFFA {
                fat_sids.push(sid);
            }
        }
        difat = le_u32(s, per * 4)?;
    }
    let mut fat: Vec<u32> = Vec::new();
    for sid in fat_sids.iter().take(sector_count + 1) {
        if let Some(s) = sector_at(*sid) {
            fat.extend(
                s.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
    }
    let mut names = Vec::new();
    let mut sid = le_u32(b, 0x30)?;
    let mut steps = 0;
    while sid != END && steps <= sector_count {
        steps += 1;
        let s = sector_at(sid)?;
        for entry in s.chunks_exact(128) {
            let len = le_u16(entry, 0x40)? as usize;
            let kind = entry[0x42];
            if kind == 0 || !(2..=64).contains(&len) {
                continue;
            }
            let units: Vec<u16> = entry[..len - 2]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            names.push(String::from_utf16_lossy(&units));
        }
        sid = *fat.get(sid as usize)?;
    }
    if names.is_empty() {
        None
    } else {
        Some(names)
    }
}

/// Fallback for a damaged directory: look for the UTF-16LE names of the streams that matter.
fn ole2_names_by_scan(b: &[u8]) -> Vec<String> {
    ["EncryptedPackage", "WordDocument", "Workbook"]
        .iter()
        .filter(|name| {
            let pat: Vec<u8> = name.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
            b.windows(pat.len()).any(|w| w == pat.as_slice())
        })
        .map(|s| s.to_string())
        .collect()
}
