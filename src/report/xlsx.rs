//! The report's workbook: 总览 (overview), 按省份 (by province), 按批次 (by batch) and
//! 明细 (one row per entry), written with rust_xlsxwriter; and the detail sheet the
//! registry export shares.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::data::{EntryLine, ReportData};

/// A cell value of a detail row.
pub enum Val {
    Text(String),
    Num(f64),
}

impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}

fn bold() -> Format {
    Format::new().set_bold()
}

fn header(ws: &mut Worksheet, row: u32, cols: &[&str]) -> Result<(), XlsxError> {
    let b = bold().set_background_color("F2F2F2");
    for (i, c) in cols.iter().enumerate() {
        ws.write_string_with_format(row, i as u16, *c, &b)?;
    }
    Ok(())
}

/// Writes a table with a header row, frozen and filterable; returns the rows written.
pub fn write_table(
    ws: &mut Worksheet,
    cols: &[&str],
    widths: &[f64],
    rows: impl Iterator<Item = Vec<Val>>,
) -> Result<usize, XlsxError> {
    header(ws, 0, cols)?;
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, *w)?;
    }
    let mut n = 0u32;
    for row in rows {
        n += 1;
        for (c, v) in row.into_iter().enumerate() {
            match v {
                Val::Text(s) if s.is_empty() => {}
                Val::Text(s) => {
                    ws.write_string(n, c as u16, s)?;
                }
                Val::Num(x) => {
                    ws.write_number(n, c as u16, x)?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    if n > 0 {
        ws.autofilter(0, 0, n, cols.len() as u16 - 1)?;
    }
    Ok(n as usize)
}

/// The columns of the 明细 sheet.
pub const DETAIL_COLUMNS: &[&str] = &[
    "回执号",
    "省份",
    "批次",
    "类型",
    "名称",
    "申报单位",
    "状态",
    "问题代码",
    "问题说明",
    "涉及场景",
    "到达时间",
    "版本",
];

const DETAIL_WIDTHS: &[f64] = &[
    26.0, 16.0, 8.0, 16.0, 40.0, 28.0, 16.0, 24.0, 60.0, 24.0, 17.0, 6.0,
];

/// One 明细 row.
pub fn detail_row(e: &EntryLine) -> Vec<Val> {
    vec![
        e.receipt.as_str().into(),
        e.province_name.as_str().into(),
        e.batch_name.as_str().into(),
        e.kind_name.as_str().into(),
        e.name.as_str().into(),
        e.unit.as_str().into(),
        e.status_name.as_str().into(),
        e.codes.as_str().into(),
        e.problems.join("\n").into(),
        e.themes.join("、").into(),
        e.arrived.as_str().into(),
        Val::Num(e.version as f64),
    ]
}

/// The report's workbook as bytes.
pub fn report_workbook(d: &ReportData) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    overview_sheet(wb.add_worksheet(), d)?;
    province_sheet(wb.add_worksheet(), d)?;
    batch_sheet(wb.add_worksheet(), d)?;
    let ws = wb.add_worksheet();
    ws.set_name("明细")?;
    write_table(
        ws,
        DETAIL_COLUMNS,
        DETAIL_WIDTHS,
        d.entries.iter().map(detail_row),
    )?;
    wb.save_to_buffer()
}

fn percent() -> Format {
    Format::new().set_num_format("0.0%")
}

/// 总览: the title, the kinds against their targets, the facts of the week, the themes.
fn overview_sheet(ws: &mut Worksheet, d: &ReportData) -> Result<(), XlsxError> {
    ws.set_name("总览")?;
    ws.set_column_width(0, 22.0)?;
    for c in 1..6 {
        ws.set_column_width(c, 12.0)?;
    }
    ws.write_string_with_format(0, 0, &d.report_title, &bold())?;
    ws.write_string(1, 0, format!("数据截至 {}", d.as_of))?;
    let r = kind_table(ws, 3, d)?;
    let r = facts(ws, r + 2, d)?;
    theme_table(ws, r + 2, d)
}

/// The kinds' table from row `r` (header, one row per kind, 合计); returns the 合计 row.
fn kind_table(ws: &mut Worksheet, mut r: u32, d: &ReportData) -> Result<u32, XlsxError> {
    let pct = percent();
    header(ws, r, &["类型", "目标", "有效", "完成比例", "待更正"])?;
    r += 1;
    for k in &d.kinds {
        ws.write_string(r, 0, &k.name)?;
        ws.write_number(r, 1, k.target as f64)?;
        ws.write_number(r, 2, k.valid as f64)?;
        ws.write_number_with_format(r, 3, k.pct / 100.0, &pct)?;
        ws.write_number(r, 4, k.invalid as f64)?;
        r += 1;
    }
    ws.write_string_with_format(r, 0, "合计", &bold())?;
    ws.write_number(r, 1, d.totals.target as f64)?;
    ws.write_number(r, 2, d.totals.valid as f64)?;
    let tp = if d.totals.target == 0 {
        0.0
    } else {
        d.totals.valid as f64 / d.totals.target as f64
    };
    ws.write_number_with_format(r, 3, tp, &pct)?;
    ws.write_number(r, 4, d.totals.invalid as f64)?;
    Ok(r)
}

/// Label–value lines from row `r`: counts, the window, the deadline, who sent nothing;
/// returns the last row written.
fn facts(ws: &mut Worksheet, mut r: u32, d: &ReportData) -> Result<u32, XlsxError> {
    let counts: Vec<(&str, f64)> = vec![
        ("暂存（省份待定）", d.totals.held as f64),
        ("有效申报中逾期到达", d.totals.late_valid as f64),
        ("本期新增", d.new_since.count as f64),
        ("尚无申报的省份", d.nothing_yet.len() as f64),
        ("未涉及重点场景的有效申报", d.off_theme as f64),
    ];
    for (label, n) in counts {
        ws.write_string(r, 0, label)?;
        ws.write_number(r, 1, n)?;
        r += 1;
    }
    let texts = [
        ("本期起点", d.new_since.since.clone()),
        ("报送期限", d.deadline.text.clone()),
        ("尚无申报的省份名单", d.nothing_yet.join("、")),
    ];
    for (i, (label, text)) in texts.into_iter().enumerate() {
        if i > 0 {
            r += 1;
        }
        ws.write_string(r, 0, label)?;
        ws.write_string(r, 1, text)?;
    }
    Ok(r)
}

/// The themes' table from row `r`: valid entries per theme and their share.
fn theme_table(ws: &mut Worksheet, mut r: u32, d: &ReportData) -> Result<(), XlsxError> {
    let pct = percent();
    header(ws, r, &["重点场景", "有效申报", "占有效申报"])?;
    r += 1;
    for t in &d.themes {
        ws.write_string(r, 0, &t.name)?;
        ws.write_number(r, 1, t.valid as f64)?;
        let share = if d.totals.valid == 0 {
            0.0
        } else {
            t.valid as f64 / d.totals.valid as f64
        };
        ws.write_number_with_format(r, 2, share, &pct)?;
        r += 1;
    }
    Ok(())
}

/// The header of a table of counts per kind: `first` columns, the kinds' short names,
/// then `last`; and the column widths (8 for every count).
fn count_columns<'a>(
    d: &'a ReportData,
    first: &[(&'a str, f64)],
    last: &[(&'a str, f64)],
) -> (Vec<&'a str>, Vec<f64>) {
    let kinds = d.kinds.iter().map(|k| (k.short.as_str(), 8.0));
    first
        .iter()
        .copied()
        .chain(kinds)
        .chain(last.iter().copied())
        .unzip()
}

/// 按省份: valid entries per province and kind, invalid ones, and a word on who lags.
fn province_sheet(ws: &mut Worksheet, d: &ReportData) -> Result<(), XlsxError> {
    ws.set_name("按省份")?;
    let (cols, widths) = count_columns(
        d,
        &[("代码", 8.0), ("省份", 20.0)],
        &[("合计", 8.0), ("待更正", 8.0), ("情况", 16.0)],
    );
    let rows = d.provinces.iter().map(|p| {
        let mut row: Vec<Val> = vec![p.code.as_str().into(), p.name.as_str().into()];
        row.extend(p.cells.iter().map(|c| Val::Num(c.valid as f64)));
        row.push(Val::Num(p.valid as f64));
        row.push(Val::Num(p.invalid as f64));
        let state = if p.nothing {
            "尚无申报"
        } else if p.no_valid {
            "尚无有效申报"
        } else {
            ""
        };
        row.push(state.into());
        row
    });
    write_table(ws, &cols, &widths, rows)?;
    Ok(())
}

/// 按批次: valid entries per batch and kind, invalid ones, and each batch's deadline.
fn batch_sheet(ws: &mut Worksheet, d: &ReportData) -> Result<(), XlsxError> {
    ws.set_name("按批次")?;
    let (cols, widths) = count_columns(
        d,
        &[("批次", 10.0)],
        &[("合计", 8.0), ("待更正", 8.0), ("说明", 40.0)],
    );
    let rows = d.batches.iter().map(|b| {
        let mut row: Vec<Val> = vec![b.label.as_str().into()];
        row.extend(b.cells.iter().map(|c| Val::Num(c.valid as f64)));
        row.push(Val::Num(b.valid as f64));
        row.push(Val::Num(b.invalid as f64));
        row.push(b.note.as_str().into());
        row
    });
    write_table(ws, &cols, &widths, rows)?;
    Ok(())
}
