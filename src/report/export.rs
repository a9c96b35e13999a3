//! Registry exports: CSV and .xlsx with one row per entry (current versions, or every
//! version). The CSV is UTF-8 with a byte-order mark and CRLF lines, which Excel opens with
//! the Chinese intact.

use std::path::Path;

use rust_xlsxwriter::Workbook;

use super::data::line;
use super::wording::ReportWording;
use super::xlsx::{write_table, Val};
use super::{ReportError, Result};
use crate::campaign::Campaign;
use crate::registry::Registry;

/// The export's columns.
pub const COLUMNS: &[&str] = &[
    "回执号",
    "省份代码",
    "省份",
    "批次",
    "逾期",
    "类型",
    "名称",
    "申报单位",
    "状态",
    "问题代码",
    "问题说明",
    "涉及场景",
    "版本",
    "替换的回执号",
    "被替换为",
    "到达时间",
    "登记时间（UTC）",
];

const WIDTHS: &[f64] = &[
    26.0, 8.0, 16.0, 8.0, 6.0, 16.0, 40.0, 28.0, 16.0, 24.0, 60.0, 24.0, 6.0, 26.0, 26.0, 17.0,
    24.0,
];

/// What an export reads: the registry, the campaign, the wording of findings.
pub struct Source<'a> {
    pub reg: &'a Registry,
    pub campaign: &'a Campaign,
    /// The configured templates folder; None: the built-in templates.
    pub templates: Option<&'a Path>,
}

/// Reads the rows to export, ordered by receipt.
pub fn rows(src: &Source, all_versions: bool) -> Result<Vec<Vec<Val>>> {
    let (reg, c) = (src.reg, src.campaign);
    let w = ReportWording::load(src.templates)?;
    let raw = reg.entries_for_export(all_versions)?;
    Ok(raw
        .into_iter()
        .map(|r| {
            let (supersedes, superseded_by) = (r.supersedes.clone(), r.superseded_by.clone());
            let e = line(c, &w, r);
            vec![
                Val::from(e.receipt),
                Val::from(e.province.unwrap_or_default()),
                Val::from(e.province_name),
                Val::from(e.batch_name),
                Val::from(if e.late { "是" } else { "" }),
                Val::from(e.kind_name),
                Val::from(e.name),
                Val::from(e.unit),
                Val::from(e.status_name),
                Val::from(e.codes),
                Val::from(e.problems.join("\n")),
                Val::from(e.themes.join("、")),
                Val::Num(e.version as f64),
                Val::from(supersedes.unwrap_or_default()),
                Val::from(superseded_by.unwrap_or_default()),
                Val::from(e.arrived),
                Val::from(e.created_at),
            ]
        })
        .collect())
}

/// Writes the CSV bytes: a byte-order mark (Excel then reads UTF-8, not the ANSI code
/// page), the header and the rows, CRLF line ends, a field quoted only when it holds a
/// comma, a quote or a line break (quotes doubled) — the csv crate's `Necessary` style.
fn write_csv<W: std::io::Write>(mut out: W, rows: &[Vec<Val>]) -> csv::Result<()> {
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    w.write_record(COLUMNS)?;
    for r in rows {
        w.write_record(r.iter().map(|v| match v {
            Val::Text(t) => t.clone(),
            Val::Num(n) => format!("{n}"),
        }))?;
    }
    w.flush()?;
    Ok(())
}

/// Writes a CSV export; returns the number of entries written.
pub fn csv(src: &Source, out: &Path, all: bool) -> Result<usize> {
    let rows = rows(src, all)?;
    let file = std::fs::File::create(out).map_err(|e| cannot_write(out, e))?;
    write_csv(std::io::BufWriter::new(file), &rows).map_err(|e| cannot_write(out, e))?;
    Ok(rows.len())
}

/// Writes an .xlsx export (one sheet, 登记表); returns the number of entries written.
pub fn xlsx(src: &Source, out: &Path, all: bool) -> Result<usize> {
    let rows = rows(src, all)?;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("登记表")?;
    let n = write_table(ws, COLUMNS, WIDTHS, rows.into_iter())?;
    wb.save(out).map_err(|e| cannot_write(out, e))?;
    Ok(n)
}

fn cannot_write(path: &Path, e: impl std::fmt::Display) -> ReportError {
    ReportError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the hand-written writer produced before the csv crate: BOM, CRLF, quotes
    /// only around a comma, a quote or a line break, quotes doubled.
    #[test]
    fn csv_bytes_are_unchanged() {
        let mut row: Vec<Val> = COLUMNS.iter().map(|_| Val::from("")).collect();
        row[0] = Val::from("ZHZL-B1-11-C-0001");
        row[6] = Val::from("一, 二");
        row[7] = Val::from("\"单位\"");
        row[10] = Val::from("第一行\n第二行\r");
        row[12] = Val::Num(2.0);
        row[13] = Val::from("a;b 'c'");
        let mut out = Vec::new();
        write_csv(&mut out, &[row]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let header = COLUMNS.join(",");
        assert_eq!(
            text,
            format!(
                "\u{feff}{header}\r\nZHZL-B1-11-C-0001,,,,,,\"一, 二\",\"\"\"单位\"\"\",,,\
                 \"第一行\n第二行\r\",,2,a;b 'c',,,\r\n"
            )
        );
    }
}
