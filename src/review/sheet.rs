//! Score sheets (pure: values in, bytes out, and back): the .xlsx an expert gets with the
//! invitation — one sheet per kind, one row per assigned entry, one column per criterion
//! with its maximum in the header and a decimal validation 0..max in the cells, the total
//! as a formula, a comment column and a recommendation column with a list validation —
//! and the reading of a filled one.
//!
//! A sheet is recognised by a hidden worksheet named [`MARKER_SHEET`] whose A1 holds
//! [`MARKER`], with the round id and the expert's address beside it, and per kind sheet
//! the criterion keys in column order (so the columns are found by key, not by wording);
//! the defined name `lndx_round` points at the round id. Excel, WPS and LibreOffice keep
//! hidden sheets and defined names when a workbook is saved again.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use rust_xlsxwriter::{DataValidation, DataValidationRule, Format, Workbook};

use super::rubric::Criterion;

/// The hidden sheet's name.
pub const MARKER_SHEET: &str = "lndx";
/// What the hidden sheet's A1 holds.
pub const MARKER: &str = "lndx-score-sheet";

/// The wording of the sheet (from `templates/review.toml`, `[sheet]`).
#[derive(Debug, Clone)]
pub struct SheetWords {
    pub receipt: String,
    pub name: String,
    /// "{name}（满分{points}）" style: `{name}` and `{points}` are replaced.
    pub criterion: String,
    pub total: String,
    pub comment: String,
    pub recommendation: String,
    pub invalid_score_title: String,
    /// `{points}` is replaced.
    pub invalid_score: String,
    pub invalid_recommendation: String,
}

/// One kind's part of a sheet.
#[derive(Debug, Clone)]
pub struct KindPart {
    /// The worksheet's name (the kind's short name).
    pub sheet: String,
    pub kind: String,
    pub criteria: Vec<Criterion>,
    /// (receipt, entry name) per assigned entry.
    pub entries: Vec<(String, String)>,
}

/// A sheet to write.
#[derive(Debug, Clone)]
pub struct SheetSpec {
    pub round: i64,
    pub expert: String,
    pub recommendations: Vec<String>,
    pub parts: Vec<KindPart>,
}

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("cannot write the score sheet: {0}")]
    Write(#[from] rust_xlsxwriter::XlsxError),
}

/// Writes the sheet.
pub fn write(spec: &SheetSpec, w: &SheetWords) -> Result<Vec<u8>, SheetError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold().set_text_wrap();
    let open = Format::new().set_unlocked();
    for part in &spec.parts {
        let ws = wb.add_worksheet();
        ws.set_name(&part.sheet)?;
        ws.write_with_format(0, 0, &w.receipt, &bold)?;
        ws.write_with_format(0, 1, &w.name, &bold)?;
        ws.set_column_width(0, 26)?;
        ws.set_column_width(1, 40)?;
        let first = 2u16;
        for (i, c) in part.criteria.iter().enumerate() {
            let col = first + i as u16;
            let head = w
                .criterion
                .replace("{name}", &c.name)
                .replace("{points}", &c.points.to_string());
            ws.write_with_format(0, col, head, &bold)?;
            ws.set_column_width(col, 12)?;
        }
        let n = part.criteria.len() as u16;
        let total_col = first + n;
        let comment_col = total_col + 1;
        let rec_col = total_col + 2;
        ws.write_with_format(0, total_col, &w.total, &bold)?;
        ws.write_with_format(0, comment_col, &w.comment, &bold)?;
        ws.write_with_format(0, rec_col, &w.recommendation, &bold)?;
        ws.set_column_width(comment_col, 50)?;
        ws.set_column_width(rec_col, 12)?;
        ws.set_freeze_panes(1, 2)?;
        let last = part.entries.len() as u32;
        for (r, (receipt, name)) in part.entries.iter().enumerate() {
            let row = 1 + r as u32;
            ws.write(row, 0, receipt)?;
            ws.write(row, 1, name)?;
            for i in 0..n {
                ws.write_blank(row, first + i, &open)?;
            }
            let from = rust_xlsxwriter::utility::row_col_to_cell(row, first);
            let to = rust_xlsxwriter::utility::row_col_to_cell(row, first + n - 1);
            ws.write_formula(row, total_col, format!("=SUM({from}:{to})").as_str())?;
        }
        if last > 0 {
            for (i, c) in part.criteria.iter().enumerate() {
                let dv = DataValidation::new()
                    .allow_decimal_number(DataValidationRule::Between(0.0, c.points as f64))
                    .set_error_title(&w.invalid_score_title)?
                    .set_error_message(
                        w.invalid_score.replace("{points}", &c.points.to_string()),
                    )?;
                let col = first + i as u16;
                ws.add_data_validation(1, col, last, col, &dv)?;
            }
            let dv = DataValidation::new()
                .allow_list_strings(&spec.recommendations)?
                .set_error_title(&w.invalid_score_title)?
                .set_error_message(&w.invalid_recommendation)?;
            ws.add_data_validation(1, rec_col, last, rec_col, &dv)?;
        }
    }
    let marker = wb.add_worksheet();
    marker.set_name(MARKER_SHEET)?;
    marker.write(0, 0, MARKER)?;
    marker.write(0, 1, 1)?;
    marker.write(1, 0, "round")?;
    marker.write(1, 1, spec.round as f64)?;
    marker.write(2, 0, "expert")?;
    marker.write(2, 1, &spec.expert)?;
    for (i, part) in spec.parts.iter().enumerate() {
        let row = 3 + i as u32;
        marker.write(row, 0, &part.sheet)?;
        marker.write(row, 1, &part.kind)?;
        for (j, c) in part.criteria.iter().enumerate() {
            marker.write(row, 2 + j as u16, &c.key)?;
        }
    }
    marker.set_hidden(true);
    wb.define_name("lndx_round", &format!("={MARKER_SHEET}!$B$2"))?;
    Ok(wb.save_to_buffer()?)
}

/// A filled row as read.
#[derive(Debug, Clone, PartialEq)]
pub struct FilledRow {
    /// The worksheet and the row number as the spreadsheet shows it.
    pub sheet: String,
    pub row: usize,
    pub kind: String,
    pub receipt: String,
    /// Criterion key → what the cell holds: a number, or the text that is not one.
    pub scores: BTreeMap<String, Result<f64, String>>,
    pub comment: String,
    pub recommendation: String,
}

impl FilledRow {
    /// True when nothing was filled in (the row is left alone, not reported).
    pub fn is_blank(&self) -> bool {
        self.scores
            .values()
            .all(|v| matches!(v, Err(s) if s.is_empty()))
            && self.comment.is_empty()
            && self.recommendation.is_empty()
    }
}

/// A recognised sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Filled {
    pub round: i64,
    /// The address the sheet was made for.
    pub expert: String,
    pub rows: Vec<FilledRow>,
}

/// A cell as text, trimmed, the way forms are read (`forms::cell_text`).
fn text(d: Option<&Data>) -> String {
    d.map(|d| crate::forms::cell_text(d).trim().to_string())
        .unwrap_or_default()
}

fn number(d: Option<&Data>) -> Result<f64, String> {
    match d {
        Some(Data::Float(f)) => Ok(*f),
        Some(Data::Int(i)) => Ok(*i as f64),
        Some(Data::String(s)) => {
            // "NaN" and "inf" parse as f64 but are no score.
            let t = s.trim();
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| t.to_string())
        }
        _ => Err(String::new()),
    }
}

/// A quick look before [`read`]: whether the bytes are a zip whose workbook names the
/// marker sheet (only `xl/workbook.xml` is read, at most 1 MiB of it), so that intake does
/// not open every form a second time to find out it is not a score sheet.
pub fn looks_like(bytes: &[u8]) -> bool {
    use std::io::Read;
    if !bytes.starts_with(b"PK") {
        return false;
    }
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return false;
    };
    let Ok(entry) = zip.by_name("xl/workbook.xml") else {
        return false;
    };
    let mut xml = String::new();
    if entry.take(1 << 20).read_to_string(&mut xml).is_err() {
        return false;
    }
    xml.contains(&format!("name=\"{MARKER_SHEET}\""))
}

/// Reads a workbook as a score sheet: None when it is not one (no marker), so any other
/// .xlsx goes on through the forms path.
pub fn read(bytes: &[u8]) -> Option<Filled> {
    if !looks_like(bytes) {
        return None;
    }
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).ok()?;
    if !wb.sheet_names().iter().any(|n| n == MARKER_SHEET) {
        return None;
    }
    let m = wb.worksheet_range(MARKER_SHEET).ok()?;
    if text(m.get_value((0, 0))) != MARKER {
        return None;
    }
    let round = number(m.get_value((1, 1))).ok()? as i64;
    let expert = text(m.get_value((2, 1))).to_lowercase();
    let mut parts = Vec::new();
    let mut r = 3u32;
    loop {
        let sheet = text(m.get_value((r, 0)));
        if sheet.is_empty() {
            break;
        }
        let kind = text(m.get_value((r, 1)));
        let mut keys = Vec::new();
        let mut c = 2u32;
        loop {
            let k = text(m.get_value((r, c)));
            if k.is_empty() {
                break;
            }
            keys.push(k);
            c += 1;
        }
        parts.push((sheet, kind, keys));
        r += 1;
    }
    let mut rows = Vec::new();
    for (sheet, kind, keys) in parts {
        let Ok(range) = wb.worksheet_range(&sheet) else {
            continue;
        };
        // Absolute positions: the sheet is read as written (row 0 the header).
        let (start_row, start_col) = range.start().unwrap_or((0, 0));
        let cell = |row: u32, col: u32| -> Option<&Data> {
            if row < start_row || col < start_col {
                return None;
            }
            range.get_value((row, col))
        };
        let n = keys.len() as u32;
        let end = range.end().map(|e| e.0).unwrap_or(0);
        for row in 1..=end {
            let receipt = text(cell(row, 0));
            let scores: BTreeMap<String, Result<f64, String>> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), number(cell(row, 2 + i as u32))))
                .collect();
            let filled = FilledRow {
                sheet: sheet.clone(),
                row: row as usize + 1,
                kind: kind.clone(),
                receipt,
                scores,
                comment: text(cell(row, 2 + n + 1)),
                recommendation: text(cell(row, 2 + n + 2)),
            };
            if filled.receipt.is_empty() && filled.is_blank() {
                continue;
            }
            rows.push(filled);
        }
    }
    Some(Filled {
        round,
        expert,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn words() -> SheetWords {
        SheetWords {
            receipt: "回执号".into(),
            name: "作品名称".into(),
            criterion: "{name}（满分{points}）".into(),
            total: "总分".into(),
            comment: "评审意见".into(),
            recommendation: "推荐意见".into(),
            invalid_score_title: "输入有误".into(),
            invalid_score: "请填写 0 到 {points} 之间的分数".into(),
            invalid_recommendation: "请从下拉列表中选择".into(),
        }
    }

    fn spec() -> SheetSpec {
        let c = |key: &str, name: &str, points| Criterion {
            key: key.into(),
            name: name.into(),
            points,
            hint: String::new(),
        };
        SheetSpec {
            round: 7,
            expert: "li@x.cn".into(),
            recommendations: vec!["推荐".into(), "不推荐".into()],
            parts: vec![KindPart {
                sheet: "案例".into(),
                kind: "case".into(),
                criteria: vec![c("a", "甲", 16), c("b", "乙", 10)],
                entries: vec![
                    ("R-1".into(), "作品一".into()),
                    ("R-2".into(), "作品二".into()),
                ],
            }],
        }
    }

    #[test]
    fn a_written_sheet_reads_back_blank_with_its_marker() {
        let bytes = write(&spec(), &words()).unwrap();
        let f = read(&bytes).expect("recognised");
        assert_eq!(f.round, 7);
        assert_eq!(f.expert, "li@x.cn");
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[0].receipt, "R-1");
        assert_eq!(f.rows[0].row, 2);
        assert!(f.rows.iter().all(FilledRow::is_blank));
        assert_eq!(f.rows[0].scores.keys().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn the_header_names_each_maximum_and_cells_are_validated() {
        let bytes = write(&spec(), &words()).unwrap();
        let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(&bytes[..])).unwrap();
        let r = wb.worksheet_range("案例").unwrap();
        assert_eq!(text(r.get_value((0, 2))), "甲（满分16）");
        assert_eq!(text(r.get_value((0, 3))), "乙（满分10）");
        // The validations are in the sheet's XML.
        let mut zip = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut xml,
        )
        .unwrap();
        assert!(
            xml.contains(r#"type="decimal""#) && xml.contains("<formula2>16</formula2>"),
            "{xml}"
        );
        assert!(xml.contains(r#"type="list""#) && xml.contains("推荐,不推荐"));
        let mut wbx = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/workbook.xml").unwrap(), &mut wbx)
            .unwrap();
        assert!(wbx.contains(r#"state="hidden""#) && wbx.contains("lndx_round"));
    }

    #[test]
    fn the_quick_look_sees_the_marker_and_nothing_else() {
        assert!(looks_like(&write(&spec(), &words()).unwrap()));
        let mut wb = Workbook::new();
        wb.add_worksheet().set_name("评分").unwrap();
        assert!(!looks_like(&wb.save_to_buffer().unwrap()));
        assert!(!looks_like(b"PK\x03\x04 broken"));
    }

    #[test]
    fn an_ordinary_workbook_is_not_a_sheet() {
        let mut wb = Workbook::new();
        wb.add_worksheet().write(0, 0, "lndx-score-sheet").unwrap();
        assert!(read(&wb.save_to_buffer().unwrap()).is_none());
        assert!(read(b"not a zip").is_none());
    }

    #[test]
    fn a_score_cell_is_a_finite_number_or_refused() {
        let cell = |t: &str| number(Some(&Data::String(t.into())));
        assert_eq!(cell(" 12.5 "), Ok(12.5));
        assert_eq!(number(Some(&Data::Int(7))), Ok(7.0));
        for t in ["NaN", "inf", "-infinity", "十二", ""] {
            assert_eq!(cell(t), Err(t.to_string()), "{t}");
        }
    }
}
