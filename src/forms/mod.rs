//! Forms: reads one attachment's bytes as one of the campaign's application forms or a
//! province summary sheet (推荐汇总表), and returns typed fields.
//!
//! Owns: OOXML reading (.docx via zip + quick-xml, .xlsx via calamine), legacy .xls
//! (BIFF) via calamine behind an extent check, label matching,
//! tick detection, the case form's three sections. Does not own: validation (see `rules`),
//! file-type sniffing (see `message::sniff`), legacy conversion (see `convert`).
//! Pure: takes bytes, returns values; never touches the disk, the network or the database.

mod docx;
mod form;
mod grid;
mod inline;
pub mod labels;
mod ooxml;
mod sections;
pub mod spec;
mod summary;
mod text;
mod ticks;
mod xls;
mod xlsx;

use std::collections::BTreeMap;

pub use crate::kind::Kind;
pub use ooxml::is_encrypted_package;
pub use spec::FormsSpec;
/// A spreadsheet cell as text, as forms read it (also for review's workbooks).
pub use xlsx::data_text as cell_text;

/// One option of a tick list (课程资源类型) and whether it was ticked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Canonical option label from the spec, e.g. "教材（读本）".
    pub option: String,
    pub ticked: bool,
}

/// A recognised application form.
#[derive(Debug, Clone)]
pub struct Form {
    pub kind: Kind,
    /// Field key (see rules/forms.toml) → the value's text, trimmed, paragraphs joined by '\n'.
    /// Only fields whose label was found are present (an empty string when the label was found
    /// but its value cell was empty). Case sections (background/practice/results) hold the
    /// section text with headings, the intro line and template hints removed. `video_minutes`
    /// holds what was written on the 视频时长 blank (underscores removed).
    pub fields: BTreeMap<String, String>,
    /// Field key → the label as printed on the form (white space removed), for messages.
    pub labels: BTreeMap<String, String>,
    /// Options of the tick list with their state, in form order (course form only).
    pub choices: Vec<Choice>,
    /// All text of the document in reading order (for theme keywords and web links).
    pub text: String,
}

/// One row of a summary sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// 1-based row number in the sheet, for messages.
    pub row: usize,
    pub name: String,
    pub kind: Option<Kind>,
    pub unit: Option<String>,
}

/// What a readable document turned out to be.
#[derive(Debug, Clone)]
pub enum Document {
    Form(Form),
    Summary(Vec<SummaryRow>),
    /// Readable, but neither a form nor a summary sheet.
    NotAForm,
}

/// Bounds applied while reading, so hostile files cannot exhaust time or memory.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Largest total of decompressed bytes read out of the package.
    pub unpacked_bytes: u64,
    /// Largest ratio of decompressed to compressed size for one package member.
    pub ratio: u64,
    /// Deepest XML element nesting accepted.
    pub xml_depth: usize,
    /// Most table cells (docx) or sheet cells (xlsx) looked at.
    pub cells: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            unpacked_bytes: 200 * 1024 * 1024,
            ratio: 100,
            xml_depth: 256,
            cells: 200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the document: {0}")]
    Corrupt(String),
    #[error("the document contains macros")]
    Macro,
    #[error("the document is encrypted")]
    Encrypted,
    #[error("the document exceeds a limit: {0}")]
    TooLarge(String),
}

/// Reads a WordprocessingML package (.docx).
pub fn read_docx(
    bytes: &[u8],
    spec: &FormsSpec,
    limits: &ReadLimits,
) -> Result<Document, ReadError> {
    let grid = docx::read_grid(bytes, spec, limits)?;
    Ok(form::classify(grid, spec))
}

/// Reads a SpreadsheetML package (.xlsx): a form laid out as label/value cells, or a summary.
/// The first sheet that is a form or a summary decides; otherwise `NotAForm`.
pub fn read_xlsx(
    bytes: &[u8],
    spec: &FormsSpec,
    limits: &ReadLimits,
) -> Result<Document, ReadError> {
    classify_sheets(xlsx::read_grids(bytes, limits)?, spec)
}

/// Reads a legacy Excel 97–2003 (BIFF8) or Excel 5/95 (BIFF5) workbook (.xls) like an .xlsx.
pub fn read_xls(
    bytes: &[u8],
    spec: &FormsSpec,
    limits: &ReadLimits,
) -> Result<Document, ReadError> {
    classify_sheets(xls::read_grids(bytes, limits)?, spec)
}

/// Whether [`read_xls`] can read the workbook's sheets (what it would refuse, as it would).
pub fn check_xls(bytes: &[u8], limits: &ReadLimits) -> Result<(), ReadError> {
    xls::read_grids(bytes, limits).map(|_| ())
}

fn classify_sheets(grids: Vec<grid::Grid>, spec: &FormsSpec) -> Result<Document, ReadError> {
    for grid in grids {
        match form::classify(grid, spec) {
            Document::NotAForm => continue,
            doc => return Ok(doc),
        }
    }
    Ok(Document::NotAForm)
}
