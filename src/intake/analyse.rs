//! Reads every file of a parsed message: decides its role, reads forms and summary sheets
//! (converting legacy formats when a converter is configured) and checks each form.
//! A panic or error in any reader becomes `unreadable_attachment` for that file only.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::campaign::Campaign;
use crate::convert::Converter;
use crate::filing::FileRole;
use crate::forms::{self, Document, Kind, ReadError, ReadLimits, SummaryRow};
use crate::message::{File, FileProblem, FileType, Inbound};
use crate::rules::{self, CheckedForm, Code, Finding, FormContext};

/// What one file turned out to be.
#[derive(Debug, Clone)]
pub struct FileAnalysis {
    pub role: FileRole,
    pub form: Option<CheckedForm>,
    pub unit: Option<String>,
    pub summary: Vec<SummaryRow>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

impl FileAnalysis {
    fn role(role: FileRole) -> FileAnalysis {
        FileAnalysis {
            role,
            form: None,
            unit: None,
            summary: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn error(role: FileRole, code: Code) -> FileAnalysis {
        let mut a = FileAnalysis::role(role);
        a.errors.push(Finding::new(code));
        a
    }

    pub fn kind(&self) -> Option<Kind> {
        self.form.as_ref().map(|f| f.kind)
    }
}

pub struct Readers<'a> {
    pub campaign: &'a Campaign,
    pub limits: ReadLimits,
    pub converter: Option<&'a Converter>,
}

/// Analyses every file of the message, in order.
pub fn analyse(inbound: &Inbound, r: &Readers) -> Vec<FileAnalysis> {
    let ctx = FormContext {
        has_video_file: inbound
            .files
            .iter()
            .any(|f| f.file_type == FileType::Mp4 || is_video_name(&f.filename)),
        body_has_link: crate::text::has_web_link(&inbound.body_text),
    };
    let mut out: Vec<FileAnalysis> = inbound
        .files
        .iter()
        .map(|f| analyse_file(f, r, &ctx))
        .collect();

    // Summary sheets are checked against the forms of the same message.
    let forms: Vec<(Kind, String)> = out
        .iter()
        .filter_map(|a| a.form.as_ref().map(|f| (f.kind, f.name.clone())))
        .collect();
    for a in out.iter_mut().filter(|a| a.role == FileRole::Summary) {
        a.errors.extend(rules::check_summary(&a.summary, &forms));
    }
    out
}

fn is_video_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    [
        ".mp4", ".mov", ".avi", ".wmv", ".flv", ".mkv", ".m4v", ".mpg", ".mpeg",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}

fn analyse_file(file: &File, r: &Readers, ctx: &FormContext) -> FileAnalysis {
    if let Some(problem) = &file.problem {
        let mut a = FileAnalysis::error(
            if file.file_type.is_archive() {
                FileRole::Archive
            } else {
                FileRole::Unknown
            },
            match problem {
                FileProblem::TooLarge { .. } | FileProblem::TooDeep => Code::TooLarge,
                FileProblem::Corrupt(_) => Code::UnreadableAttachment,
                FileProblem::Unsupported(_) => Code::UnsupportedFormat,
                FileProblem::Encrypted => Code::EncryptedDocument,
            },
        );
        match problem {
            FileProblem::TooLarge { limit, actual, .. } => {
                a.errors[0].limit = Some(*limit);
                a.errors[0].actual = *actual;
            }
            FileProblem::Unsupported(why) => {
                a.errors[0].value = Some(file.filename.clone());
                a.errors[0].detail = Some(why.clone());
            }
            _ => {}
        }
        return a;
    }
    match file.file_type {
        FileType::Docx => read(file, &file.bytes, forms::read_docx, r, ctx),
        FileType::Xlsx => read(file, &file.bytes, forms::read_xlsx, r, ctx),
        FileType::Docm | FileType::Xlsm => {
            FileAnalysis::error(FileRole::Unknown, Code::MacroDocument)
        }
        FileType::EncryptedOoxml => FileAnalysis::error(FileRole::Unknown, Code::EncryptedDocument),
        FileType::Xls => xls(file, r, ctx),
        FileType::Doc
        | FileType::Odt
        | FileType::Ods
        | FileType::Rtf
        | FileType::WordXml
        | FileType::ExcelXml
        | FileType::HtmlDoc
        | FileType::HtmlSheet
        | FileType::MhtmlDoc
        | FileType::MhtmlSheet => legacy(file, r, ctx),
        FileType::Ole2 => FileAnalysis::error(FileRole::Unknown, Code::UnsupportedFormat),
        FileType::Zip | FileType::Rar | FileType::SevenZ | FileType::Tnef => {
            FileAnalysis::role(FileRole::Archive)
        }
        FileType::Pdf | FileType::Jpeg | FileType::Png | FileType::Gif | FileType::Mp4 => {
            FileAnalysis::role(FileRole::Supporting)
        }
        FileType::Unknown => unknown(file),
    }
}

/// A file content could not place: judged by its name.
fn unknown(file: &File) -> FileAnalysis {
    let lower = file.filename.to_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "docx" | "xlsx" | "doc" | "xls" | "pdf" | "zip" => {
            FileAnalysis::error(FileRole::Unknown, Code::UnreadableAttachment)
        }
        "wps" | "et" | "rar" | "7z" | "tar" | "gz" | "tgz" | "bz2" | "xz" | "odt" | "ods"
        | "rtf" | "pages" | "numbers" => {
            FileAnalysis::error(FileRole::Unknown, Code::UnsupportedFormat)
        }
        _ if is_video_name(&lower) => FileAnalysis::role(FileRole::Supporting),
        "txt" | "csv" | "html" | "htm" | "bmp" | "tif" | "tiff" | "webp" | "heic" | "ofd" => {
            FileAnalysis::role(FileRole::Supporting)
        }
        _ => FileAnalysis::role(FileRole::Unknown),
    }
}

/// A legacy workbook (BIFF): read natively by calamine; LibreOffice converts it only when
/// the native reader cannot read it (BIFF versions or records calamine does not know,
/// encryption LibreOffice opens). One over the cell limit is refused either way, as an
/// .xlsx would be (LibreOffice would have to build it in memory too).
fn xls(file: &File, r: &Readers, ctx: &FormContext) -> FileAnalysis {
    let native = read_natively(&file.bytes, r);
    match native {
        Ok(Ok(_)) | Ok(Err(ReadError::TooLarge(_))) => judge(file, native, r, ctx),
        Ok(Err(why)) => {
            tracing::info!(file = %file.filename, %why, "xls not read natively, converting");
            legacy(file, r, ctx)
        }
        Err(_) => {
            tracing::error!(file = %file.filename, "native xls reader panicked, converting");
            legacy(file, r, ctx)
        }
    }
}

type Outcome = std::thread::Result<Result<Document, ReadError>>;

fn read_natively(bytes: &[u8], r: &Readers) -> Outcome {
    let limits = r.limits;
    catch_unwind(AssertUnwindSafe(|| {
        forms::read_xls(bytes, &r.campaign.forms, &limits)
    }))
}

/// Whether [`analyse`] reads this legacy workbook without LibreOffice (so no converter
/// worker needs to convert it ahead).
fn xls_is_native(bytes: &[u8], limits: &ReadLimits) -> bool {
    matches!(
        catch_unwind(AssertUnwindSafe(|| forms::check_xls(bytes, limits))),
        Ok(Ok(())) | Ok(Err(ReadError::TooLarge(_)))
    )
}

fn legacy(file: &File, r: &Readers, ctx: &FormContext) -> FileAnalysis {
    let Some(conv) = r.converter else {
        let mut a = FileAnalysis::error(FileRole::Form, Code::UnsupportedFormat);
        a.errors[0].value = Some(file.filename.clone());
        return a;
    };
    let Some(source) = Source::of(file) else {
        return FileAnalysis::error(FileRole::Unknown, Code::UnreadableAttachment);
    };
    let (target, input_ext, filter) = source.route;
    match conv.convert_with(&source.bytes, input_ext, filter, target) {
        Ok(bytes) => {
            let reader = if target == "docx" {
                forms::read_docx
            } else {
                forms::read_xlsx
            };
            read(file, &bytes, reader, r, ctx)
        }
        Err(e) => {
            tracing::warn!(file = %file.filename, error = %e, "legacy conversion failed");
            let mut a = FileAnalysis::error(FileRole::Form, Code::UnsupportedFormat);
            a.errors[0].detail = Some(e.to_string());
            a
        }
    }
}

/// The conversions filing `inbound` will ask for (its files in formats LibreOffice
/// converts), so that converter workers can make them ahead.
pub fn conversions(inbound: &Inbound, limits: &ReadLimits) -> Vec<crate::convert::Conversion> {
    inbound
        .files
        .iter()
        .filter(|f| f.problem.is_none() && needs_converter(f.file_type))
        .filter(|f| !(f.file_type == FileType::Xls && xls_is_native(&f.bytes, limits)))
        .filter_map(|f| {
            let s = Source::of(f)?;
            let (target, input_ext, import_filter) = s.route;
            Some(crate::convert::Conversion {
                bytes: s.bytes.into_owned(),
                input_ext,
                import_filter,
                target,
            })
        })
        .collect()
}

/// The file types [`analyse`] sends to the converter.
fn needs_converter(t: FileType) -> bool {
    matches!(
        t,
        FileType::Doc
            | FileType::Xls
            | FileType::Odt
            | FileType::Ods
            | FileType::Rtf
            | FileType::WordXml
            | FileType::ExcelXml
            | FileType::HtmlDoc
            | FileType::HtmlSheet
            | FileType::MhtmlDoc
            | FileType::MhtmlSheet
    )
}

/// What LibreOffice is given for a file it converts.
struct Source<'f> {
    /// The bytes to convert: the file's own, or the HTML inside an MHTML file.
    bytes: std::borrow::Cow<'f, [u8]>,
    /// Target format, input extension, and the import filter when the extension alone
    /// would open the file in the wrong application.
    route: (&'static str, &'static str, Option<&'static str>),
}

impl<'f> Source<'f> {
    /// None for an MHTML file without an HTML document in it.
    fn of(file: &'f File) -> Option<Source<'f>> {
        use std::borrow::Cow;
        // HTML opens in Writer unless told otherwise; Word 2003 XML and SpreadsheetML are
        // recognised by LibreOffice's own detection from their content under ".xml".
        const WRITER_HTML: Option<&str> = Some("HTML (StarWriter)");
        const CALC_HTML: Option<&str> = Some("HTML (StarCalc)");
        let route = match file.file_type {
            FileType::Doc => ("docx", "doc", None),
            FileType::Odt => ("docx", "odt", None),
            FileType::Ods => ("xlsx", "ods", None),
            FileType::Rtf => ("docx", "rtf", None),
            FileType::WordXml => ("docx", "xml", None),
            FileType::ExcelXml => ("xlsx", "xml", None),
            FileType::HtmlDoc | FileType::MhtmlDoc => ("docx", "html", WRITER_HTML),
            FileType::HtmlSheet | FileType::MhtmlSheet => ("xlsx", "html", CALC_HTML),
            _ => ("xlsx", "xls", None),
        };
        let bytes = match file.file_type {
            FileType::MhtmlDoc | FileType::MhtmlSheet => {
                Cow::Owned(crate::message::mhtml::root_html(&file.bytes)?)
            }
            _ => Cow::Borrowed(file.bytes.as_slice()),
        };
        Some(Source { bytes, route })
    }
}

type Reader = fn(&[u8], &forms::FormsSpec, &ReadLimits) -> Result<Document, ReadError>;

fn read(file: &File, bytes: &[u8], reader: Reader, r: &Readers, ctx: &FormContext) -> FileAnalysis {
    let spec = &r.campaign.forms;
    let limits = r.limits;
    let result = catch_unwind(AssertUnwindSafe(|| reader(bytes, spec, &limits)));
    judge(file, result, r, ctx)
}

/// What a reader's outcome means for the file.
fn judge(file: &File, result: Outcome, r: &Readers, ctx: &FormContext) -> FileAnalysis {
    let doc = match result {
        Ok(Ok(doc)) => doc,
        Ok(Err(ReadError::Macro)) => {
            return FileAnalysis::error(FileRole::Unknown, Code::MacroDocument)
        }
        Ok(Err(ReadError::Encrypted)) => {
            return FileAnalysis::error(FileRole::Unknown, Code::EncryptedDocument)
        }
        Ok(Err(ReadError::TooLarge(what))) => {
            let mut a = FileAnalysis::error(FileRole::Unknown, Code::TooLarge);
            a.errors[0].detail = Some(what);
            return a;
        }
        Ok(Err(ReadError::Corrupt(why))) => {
            tracing::info!(file = %file.filename, %why, "unreadable attachment");
            return FileAnalysis::error(FileRole::Unknown, Code::UnreadableAttachment);
        }
        Err(_) => {
            tracing::error!(file = %file.filename, "form reader panicked");
            return FileAnalysis::error(FileRole::Unknown, Code::UnreadableAttachment);
        }
    };
    match doc {
        Document::Form(form) => {
            let checked = catch_unwind(AssertUnwindSafe(|| {
                rules::check_form(&form, r.campaign, ctx)
            }));
            match checked {
                Ok(checked) => {
                    let mut a = FileAnalysis::role(FileRole::Form);
                    a.unit = r
                        .campaign
                        .role_field(form.kind, crate::forms::spec::Role::Unit)
                        .and_then(|f| form.fields.get(f))
                        .cloned();
                    a.form = Some(checked);
                    a
                }
                Err(_) => FileAnalysis::error(FileRole::Unknown, Code::UnreadableAttachment),
            }
        }
        Document::Summary(rows) => {
            let mut a = FileAnalysis::role(FileRole::Summary);
            a.summary = rows;
            a
        }
        Document::NotAForm => FileAnalysis::role(FileRole::Supporting),
    }
}
