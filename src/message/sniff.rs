//! Recognises a file's format by its content (magic bytes, OOXML content types, OLE2
//! streams, the first bytes of text formats), never by its declared MIME type or extension
//! alone.
//!
//! Owns: the magic-byte table, reading `[Content_Types].xml` from a zip (size-capped,
//! parsed with quick-xml), the names of an OLE2 (Compound File Binary) file's root
//! streams, read with the `cfb` crate under a read budget, and the office formats that are
//! text: RTF, Word 2003 XML, SpreadsheetML 2003, HTML saved by Word or Excel (or named like
//! their files) and MHTML ("single file web page"), which OA systems and older Office save
//! under .doc and .xls names.

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use quick_xml::events::{BytesStart, Event};

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
    /// Rich Text Format (Word and WPS save it, often named .doc).
    Rtf,
    /// Word 2003 XML ("WordprocessingML", a single XML file, often named .doc).
    WordXml,
    /// Excel 2003 XML ("SpreadsheetML", a single XML file, often named .xls).
    ExcelXml,
    /// HTML of a document: Word's "save as web page", or HTML named like a Word file.
    HtmlDoc,
    /// HTML of a workbook: Excel's web page, or an HTML table named like an Excel file.
    HtmlSheet,
    /// MHTML (a MIME multipart/related "single file web page") holding a document.
    MhtmlDoc,
    /// MHTML holding a workbook.
    MhtmlSheet,
    /// Outlook's TNEF (`winmail.dat`), which carries a message's attachments.
    Tnef,
    Unknown,
}

impl FileType {
    /// The stable name of the type in results and the registry (`file_type`).
    pub fn key(self) -> &'static str {
        match self {
            FileType::EncryptedOoxml => "encrypted",
            FileType::Ole2 => "ole2",
            FileType::Jpeg => "jpeg",
            FileType::WordXml => "word2003xml",
            FileType::ExcelXml => "excel2003xml",
            FileType::HtmlDoc | FileType::HtmlSheet => "html",
            FileType::MhtmlDoc | FileType::MhtmlSheet => "mhtml",
            FileType::Tnef => "tnef",
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
            FileType::Rtf => "rtf",
            FileType::WordXml | FileType::ExcelXml => "xml",
            FileType::HtmlDoc | FileType::HtmlSheet => "html",
            FileType::MhtmlDoc | FileType::MhtmlSheet => "mht",
            FileType::Tnef => "dat",
            FileType::Unknown => "bin",
        }
    }

    /// An archive lndx unpacks (its members follow it as files of their own).
    pub fn is_archive(self) -> bool {
        matches!(
            self,
            FileType::Zip | FileType::Rar | FileType::SevenZ | FileType::Tnef
        )
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
    if bytes.starts_with(&super::tnef::SIGNATURE) {
        return FileType::Tnef;
    }
    sniff_text(bytes, filename)
}

/// How much of a text file is looked at to recognise it.
const TEXT_HEAD: usize = 8 * 1024;

/// The start of a file as lower-case text for recognising text formats: UTF-16 (with a byte
/// order mark) decoded, a UTF-8 BOM and leading white space dropped; other bytes kept as
/// they are (the markers looked for are ASCII, whatever the file's charset).
fn text_head(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(TEXT_HEAD)];
    let text = if let Some(rest) = head.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if let Some(rest) = head.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        let rest = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
        String::from_utf8_lossy(rest).into_owned()
    };
    text.trim_start().to_ascii_lowercase()
}

/// Office documents that are text: RTF, Word/Excel 2003 XML, MHTML and HTML. HTML counts
/// as an office document only when Word or Excel wrote it (their namespaces) or when it is
/// named like an office file; other HTML stays an unrecognised file, judged by its name.
fn sniff_text(bytes: &[u8], filename: &str) -> FileType {
    let head = text_head(bytes);
    if head.starts_with("{\\rtf") {
        return FileType::Rtf;
    }
    let ext = extension_of(filename);
    let named_sheet = matches!(ext.as_str(), "xls" | "xlt" | "et" | "xlsx");
    let excel_ns = head.contains("urn:schemas-microsoft-com:office:excel");
    if is_mhtml(&head) {
        // Excel's namespace may come after the head; look a little further for it.
        let more = &bytes[..bytes.len().min(64 * 1024)];
        let excel = excel_ns
            || contains(more, b"urn:schemas-microsoft-com:office:excel")
            || contains(more, b"Excel.Sheet");
        return if excel || named_sheet {
            FileType::MhtmlSheet
        } else {
            FileType::MhtmlDoc
        };
    }
    if head.starts_with("<?xml") || head.starts_with("<w:worddocument") {
        if head.contains("progid=\"word.document\"") || head.contains("<w:worddocument") {
            return FileType::WordXml;
        }
        if head.contains("progid=\"excel.sheet\"")
            || head.contains("urn:schemas-microsoft-com:office:spreadsheet")
        {
            return FileType::ExcelXml;
        }
    }
    if is_html(&head) {
        let word_ns = head.contains("urn:schemas-microsoft-com:office:word");
        if excel_ns || (named_sheet && !word_ns) {
            return FileType::HtmlSheet;
        }
        if word_ns || matches!(ext.as_str(), "doc" | "dot" | "wps" | "docx") {
            return FileType::HtmlDoc;
        }
    }
    FileType::Unknown
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// MHTML: a MIME header block at the very start naming a multipart/related body.
fn is_mhtml(head: &str) -> bool {
    let Some(end) = head.find("\n\n").or_else(|| head.find("\r\n\r\n")) else {
        return false;
    };
    let block = &head[..end];
    let header_like = block.lines().next().is_some_and(|l| {
        l.split_once(':')
            .is_some_and(|(name, _)| !name.is_empty() && !name.contains(' '))
    });
    header_like && block.contains("mime-version:") && block.contains("multipart/related")
}

/// HTML: markup at the start (a doctype, `<html`, or a comment or `<meta`/`<table` that
/// HTML exported by OA systems begins with).
fn is_html(head: &str) -> bool {
    [
        "<!doctype html",
        "<html",
        "<head",
        "<meta",
        "<table",
        "<!--",
        "<body",
    ]
    .iter()
    .any(|m| head.starts_with(m))
        || (head.starts_with("<?xml") && head.contains("<html"))
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
        Ok(Some(types)) => {
            let declares = |t: &str| types.iter().any(|ct| ct.contains(t));
            if declares("wordprocessingml.document.main") {
                FileType::Docx
            } else if declares("ms-word.document.macroenabled") {
                FileType::Docm
            } else if declares("spreadsheetml.sheet.main") {
                FileType::Xlsx
            } else if declares("ms-excel.sheet.macroenabled") {
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

/// `Ok(Some(types))` when the zip holds `[Content_Types].xml` (the content types it
/// declares, see [`declared_content_types`]), `Ok(None)` when it is a readable zip without
/// one, `Err` when the zip cannot be read.
fn content_types(bytes: &[u8]) -> Result<Option<Vec<String>>, ()> {
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
    Ok(Some(declared_content_types(&buf)))
}

/// The `ContentType` values of the `Default` and `Override` elements of a
/// `[Content_Types].xml`, lower-cased. Tolerant like the text search it replaced: a
/// document damaged or cut short (by the size cap or a broken deflate stream) gives the
/// types declared before the damage; element and attribute names match in any case.
fn declared_content_types(xml: &[u8]) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut types = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => types.extend(content_type(&e)),
            Ok(Event::Eof) | Err(_) => return types,
            Ok(_) => {}
        }
    }
}

/// The `ContentType` of a `Default` or `Override` element, lower-cased.
fn content_type(e: &BytesStart<'_>) -> Option<String> {
    let is = |name: &str, wanted: &str| name.eq_ignore_ascii_case(wanted);
    let element = e.local_name();
    if !is(element.as_ref(), "Override") && !is(element.as_ref(), "Default") {
        return None;
    }
    let mut attrs = e.attributes();
    attrs.with_checks(false);
    attrs
        .flatten()
        .find(|a| is(a.key.local_name().as_ref(), "ContentType"))
        .map(|a| a.value.to_ascii_lowercase())
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

/// The bytes `cfb` may read from a file of `len` bytes: twice the file. Opening reads the
/// header, the DIFAT, FAT, directory and MiniFAT sectors, each once in a well-formed file
/// (so at most `len`); a hostile DIFAT can list one sector as a FAT sector again and again,
/// and cfb reads (and keeps) it once per listing — 1,023 listings per 4 KiB DIFAT sector,
/// so a few MB would become gigabytes of FAT. Past the budget reading fails, and so does
/// opening.
fn ole2_read_budget(len: usize) -> u64 {
    2 * len as u64
}

/// A reader over the file that fails once `left` bytes have been read.
struct Budgeted<'a> {
    inner: Cursor<&'a [u8]>,
    left: u64,
}

impl Read for Budgeted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 && !buf.is_empty() {
            return Err(io::Error::other("OLE2 read budget spent"));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

impl Seek for Budgeted<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Names of the streams and storages in an OLE2 file's root storage, where Word
/// (`WordDocument`), Excel (`Workbook`, Excel 5 `Book`) and an encrypted OOXML package
/// (`EncryptedPackage`) keep theirs. Only the directory is read (no stream data), within
/// [`ole2_read_budget`]; only the root's entries are listed, not nested storages (listing
/// those builds one path per entry, quadratic in a hostile nesting depth). `None` when
/// cfb finds the structure inconsistent.
fn ole2_stream_names(b: &[u8]) -> Option<Vec<String>> {
    let reader = Budgeted {
        inner: Cursor::new(b),
        left: ole2_read_budget(b.len()),
    };
    let file = cfb::CompoundFile::open(reader).ok()?;
    let names: Vec<String> = file
        .read_root_storage()
        .map(|e| e.name().to_string())
        .collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    const WORD: &str =
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";

    #[test]
    fn content_types_come_from_default_and_override_elements() {
        let xml = format!(
            "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/word/document.xml\" ContentType=\"{WORD}\"/></Types>"
        );
        assert_eq!(
            declared_content_types(xml.as_bytes()),
            ["application/xml".to_string(), WORD.to_string()]
        );
    }

    #[test]
    fn office_formats_that_are_text_are_recognised_by_content() {
        let word_page = "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\" \
                         xmlns:w=\"urn:schemas-microsoft-com:office:word\"><body>";
        let cases: &[(&[u8], &str, FileType)] = &[
            (b"{\\rtf1\\ansi\\ansicpg936", "a.doc", FileType::Rtf),
            (b"\xEF\xBB\xBF  {\\rtf1", "a.txt", FileType::Rtf),
            (
                b"<?xml version=\"1.0\"?>\n<?mso-application progid=\"Word.Document\"?>\n<w:wordDocument>",
                "a.doc",
                FileType::WordXml,
            ),
            (
                b"<?xml version=\"1.0\"?><?mso-application progid=\"Excel.Sheet\"?><Workbook>",
                "a.xls",
                FileType::ExcelXml,
            ),
            (word_page.as_bytes(), "a.htm", FileType::HtmlDoc),
            (b"<html><body><table>", "a.doc", FileType::HtmlDoc),
            (b"<html><body><table>", "a.xls", FileType::HtmlSheet),
            (b"<table><tr><td>x", "a.et", FileType::HtmlSheet),
            (
                b"<html xmlns:x=\"urn:schemas-microsoft-com:office:excel\">",
                "a.htm",
                FileType::HtmlSheet,
            ),
            // HTML that no office program wrote, named .html, stays a plain file.
            (b"<!DOCTYPE html><html>", "a.html", FileType::Unknown),
            (
                b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b",
                "a.doc",
                FileType::MhtmlDoc,
            ),
            (
                b"MIME-Version: 1.0\nContent-Type: multipart/related; boundary=b\n\n--b\nContent-Type: text/html\n\n<html xmlns:x=\"urn:schemas-microsoft-com:office:excel\">",
                "a.mht",
                FileType::MhtmlSheet,
            ),
            // A mail that is not a web archive.
            (
                b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n",
                "a.eml",
                FileType::Unknown,
            ),
            (&[0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00], "winmail.dat", FileType::Tnef),
        ];
        for (bytes, name, want) in cases {
            assert_eq!(
                sniff(bytes, name),
                *want,
                "{name}: {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        // Word can save its web page as UTF-16.
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(word_page.encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(sniff(&utf16, "a.doc"), FileType::HtmlDoc);
    }

    #[test]
    fn content_types_are_read_up_to_damage() {
        // cut short inside the second element, and a stray end tag
        let xml = format!(
            "<Types><override contenttype=\"Application/VND.ms-Word.Document.macroEnabled.main+xml\"/>\
             </Wrong><Override ContentType=\"{WORD}\"/><Override Content"
        );
        let types = declared_content_types(xml.as_bytes());
        assert_eq!(
            types.first().map(String::as_str),
            Some("application/vnd.ms-word.document.macroenabled.main+xml")
        );
        assert!(declared_content_types(b"\xff\xfe<\0T\0").is_empty());
    }
}
