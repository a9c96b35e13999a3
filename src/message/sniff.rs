//! Recognises a file's format by its content (magic bytes, OOXML content types, OLE2
//! streams), never by its declared MIME type or extension alone.

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

/// Recognises `bytes`; `filename` only breaks ties content cannot (e.g. .wps vs .doc).
pub fn sniff(_bytes: &[u8], _filename: &str) -> FileType {
    todo!("sniff")
}
