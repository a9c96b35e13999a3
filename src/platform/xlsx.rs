//! `items.xlsx`: the manifest's items as a workbook, one row per item, for people who
//! read the package in a spreadsheet. Its document properties carry the package's
//! generated time (rust_xlsxwriter otherwise writes the current time), so the bytes do not
//! change between two exports of the same registry.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use super::{ExportError, Manifest};

/// The column titles are the manifest's field names: the workbook is a view of the
/// manifest, not a document of its own.
const COLUMNS: &[&str] = &[
    "receipt",
    "kind",
    "name",
    "unit",
    "province_code",
    "province_name",
    "themes",
    "decision",
    "fields",
    "files",
];

pub fn items(m: &Manifest, generated: DateTime<FixedOffset>) -> Result<Vec<u8>, ExportError> {
    let err = |e: rust_xlsxwriter::XlsxError| ExportError::Xlsx(e.to_string());
    let mut wb = Workbook::new();
    let t = generated.naive_utc();
    let stamp = ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)
        .and_then(|d| d.and_hms(t.hour() as u16, t.minute() as u8, t.second() as f64))
        .map_err(err)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title("items")
            .set_creation_datetime(&stamp),
    );
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("items").map_err(err)?;
    for (c, title) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *title, &bold)
            .map_err(err)?;
    }
    for (i, item) in m.items.iter().enumerate() {
        let r = i as u32 + 1;
        let fields = item
            .fields
            .iter()
            .map(|f| format!("{}：{}", f.label, f.value))
            .collect::<Vec<_>>()
            .join("\n");
        let files = item
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let themes = item.themes.join("、");
        let row: [&str; 10] = [
            item.receipt.as_str(),
            item.kind.key.as_str(),
            item.name.as_str(),
            item.unit.as_deref().unwrap_or_default(),
            item.province
                .as_ref()
                .map(|p| p.code.as_str())
                .unwrap_or_default(),
            item.province
                .as_ref()
                .map(|p| p.name.as_str())
                .unwrap_or_default(),
            &themes,
            item.decision,
            &fields,
            &files,
        ];
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r, c as u16, *v).map_err(err)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    wb.save_to_buffer().map_err(err)
}
