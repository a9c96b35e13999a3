//! Registry exports: CSV and .xlsx with one row per entry (current versions, or every
//! version). The CSV is UTF-8 with a byte-order mark and CRLF lines, which Excel opens with
//! the Chinese intact.

use std::path::Path;

use rust_xlsxwriter::Workbook;

use super::data::line;
use super::labels::Labels;
use super::wording::ReportWording;
use super::xlsx::{columns, write_table, Val};
use super::{ReportError, Result};
use crate::campaign::Campaign;
use crate::registry::Registry;

/// The export's columns: report.toml `[columns]` keys, widths, and whether text wraps.
pub const COLUMNS: &[(&str, f64, bool)] = &[
    ("receipt", 26.0, false),
    ("province_code", 8.0, false),
    ("province", 16.0, false),
    ("batch", 8.0, false),
    ("late", 6.0, false),
    ("kind", 16.0, false),
    ("name", 40.0, false),
    ("unit", 28.0, false),
    ("status", 16.0, false),
    ("codes", 24.0, false),
    ("problems", 60.0, false),
    ("themes", 24.0, false),
    ("version", 6.0, false),
    ("supersedes", 26.0, false),
    ("superseded_by", 26.0, false),
    ("arrived", 17.0, false),
    ("filed", 24.0, false),
];

/// What an export reads: the registry, the campaign, the wording of findings.
pub struct Source<'a> {
    pub reg: &'a Registry,
    pub campaign: &'a Campaign,
    /// The configured templates folder; None: the built-in templates.
    pub templates: Option<&'a Path>,
}

/// Reads the rows to export, ordered by receipt, with the wording they were written in.
pub fn rows(src: &Source, all_versions: bool) -> Result<(ReportWording, Vec<Vec<Val>>)> {
    let (reg, c) = (src.reg, src.campaign);
    let w = ReportWording::load(src.templates)?;
    let raw = reg.entries_for_export(all_versions)?;
    let l = &w.labels;
    let rows = raw
        .into_iter()
        .map(|r| {
            let (supersedes, superseded_by) = (r.supersedes.clone(), r.superseded_by.clone());
            let e = line(c, &w, r);
            vec![
                Val::from(e.receipt),
                Val::from(e.province.unwrap_or_default()),
                Val::from(e.province_name),
                Val::from(e.batch_name),
                Val::from(if e.late { l.label("yes") } else { "" }),
                Val::from(e.kind_name),
                Val::from(e.name),
                Val::from(e.unit),
                Val::from(e.status_name),
                Val::from(e.codes),
                Val::from(e.problems.join("\n")),
                Val::from(e.themes.join(l.label("separator"))),
                Val::Num(e.version as f64),
                Val::from(supersedes.unwrap_or_default()),
                Val::from(superseded_by.unwrap_or_default()),
                Val::from(e.arrived),
                Val::from(e.created_at),
            ]
        })
        .collect();
    Ok((w, rows))
}

fn titles(l: &Labels) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|(key, _, _)| l.column(key).to_string())
        .collect()
}

/// Writes the CSV bytes: a byte-order mark (Excel then reads UTF-8, not the ANSI code
/// page), the header and the rows, CRLF line ends, a field quoted only when it holds a
/// comma, a quote or a line break (quotes doubled) — the csv crate's `Necessary` style.
fn write_csv<W: std::io::Write>(
    mut out: W,
    titles: &[String],
    rows: &[Vec<Val>],
) -> csv::Result<()> {
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    w.write_record(titles)?;
    for r in rows {
        w.write_record(r.iter().map(|v| match v {
            Val::Text(t) => t.clone(),
            Val::Num(n) => format!("{n}"),
            // The export writes no other kind of value.
            _ => String::new(),
        }))?;
    }
    w.flush()?;
    Ok(())
}

/// Writes a CSV export; returns the number of entries written.
pub fn csv(src: &Source, out: &Path, all: bool) -> Result<usize> {
    let (w, rows) = rows(src, all)?;
    let file = std::fs::File::create(out).map_err(|e| cannot_write(out, e))?;
    write_csv(std::io::BufWriter::new(file), &titles(&w.labels), &rows)
        .map_err(|e| cannot_write(out, e))?;
    Ok(rows.len())
}

/// Writes an .xlsx export (one sheet, report.toml `[sheets] export`); returns the number of
/// entries written.
pub fn xlsx(src: &Source, out: &Path, all: bool) -> Result<usize> {
    let (w, rows) = rows(src, all)?;
    let l = &w.labels;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(l.sheet("export"))?;
    let n = write_table(ws, 0, &columns(l, COLUMNS), rows.into_iter())?;
    super::xlsx::print_setup(ws, l, 0);
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
        let titles: Vec<String> = COLUMNS.iter().map(|c| c.0.to_string()).collect();
        let mut out = Vec::new();
        write_csv(&mut out, &titles, &[row]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let header = titles.join(",");
        assert_eq!(
            text,
            format!(
                "\u{feff}{header}\r\nZHZL-B1-11-C-0001,,,,,,\"一, 二\",\"\"\"单位\"\"\",,,\
                 \"第一行\n第二行\r\",,2,a;b 'c',,,\r\n"
            )
        );
    }
}
