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
    let b = bold();
    let pct = Format::new().set_num_format("0.0%");

    // 总览
    let ws = wb.add_worksheet();
    ws.set_name("总览")?;
    ws.set_column_width(0, 22.0)?;
    for c in 1..6 {
        ws.set_column_width(c, 12.0)?;
    }
    ws.write_string_with_format(0, 0, &d.report_title, &b)?;
    ws.write_string(1, 0, format!("数据截至 {}", d.as_of))?;
    header(ws, 3, &["类型", "目标", "有效", "完成比例", "待更正"])?;
    let mut r = 4u32;
    for k in &d.kinds {
        ws.write_string(r, 0, &k.name)?;
        ws.write_number(r, 1, k.target as f64)?;
        ws.write_number(r, 2, k.valid as f64)?;
        ws.write_number_with_format(r, 3, k.pct / 100.0, &pct)?;
        ws.write_number(r, 4, k.invalid as f64)?;
        r += 1;
    }
    ws.write_string_with_format(r, 0, "合计", &b)?;
    ws.write_number(r, 1, d.totals.target as f64)?;
    ws.write_number(r, 2, d.totals.valid as f64)?;
    let tp = if d.totals.target == 0 {
        0.0
    } else {
        d.totals.valid as f64 / d.totals.target as f64
    };
    ws.write_number_with_format(r, 3, tp, &pct)?;
    ws.write_number(r, 4, d.totals.invalid as f64)?;
    r += 2;
    let facts: Vec<(&str, f64)> = vec![
        ("暂存（省份待定）", d.totals.held as f64),
        ("有效申报中逾期到达", d.totals.late_valid as f64),
        ("本期新增", d.new_since.count as f64),
        ("尚无申报的省份", d.nothing_yet.len() as f64),
        ("未涉及重点场景的有效申报", d.off_theme as f64),
    ];
    for (label, n) in facts {
        ws.write_string(r, 0, label)?;
        ws.write_number(r, 1, n)?;
        r += 1;
    }
    ws.write_string(r, 0, "本期起点")?;
    ws.write_string(r, 1, &d.new_since.since)?;
    r += 1;
    ws.write_string(r, 0, "报送期限")?;
    ws.write_string(r, 1, &d.deadline.text)?;
    r += 1;
    ws.write_string(r, 0, "尚无申报的省份名单")?;
    ws.write_string(r, 1, d.nothing_yet.join("、"))?;
    r += 2;
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

    // 按省份
    let kinds: Vec<&str> = d.kinds.iter().map(|k| k.short.as_str()).collect();
    let mut cols = vec!["代码", "省份"];
    cols.extend(kinds.iter().copied());
    cols.extend(["合计", "待更正", "情况"]);
    let ws = wb.add_worksheet();
    ws.set_name("按省份")?;
    let mut widths = vec![8.0, 20.0];
    widths.extend(kinds.iter().map(|_| 8.0));
    widths.extend([8.0, 8.0, 16.0]);
    write_table(
        ws,
        &cols,
        &widths,
        d.provinces.iter().map(|p| {
            let mut row: Vec<Val> = vec![p.code.as_str().into(), p.name.as_str().into()];
            row.extend(p.cells.iter().map(|c| Val::Num(c.valid as f64)));
            row.push(Val::Num(p.valid as f64));
            row.push(Val::Num(p.invalid as f64));
            row.push(
                if p.nothing {
                    "尚无申报"
                } else if p.no_valid {
                    "尚无有效申报"
                } else {
                    ""
                }
                .into(),
            );
            row
        }),
    )?;

    // 按批次
    let mut cols = vec!["批次"];
    cols.extend(kinds.iter().copied());
    cols.extend(["合计", "待更正", "说明"]);
    let ws = wb.add_worksheet();
    ws.set_name("按批次")?;
    let mut widths = vec![10.0];
    widths.extend(kinds.iter().map(|_| 8.0));
    widths.extend([8.0, 8.0, 40.0]);
    write_table(
        ws,
        &cols,
        &widths,
        d.batches.iter().map(|b| {
            let mut row: Vec<Val> = vec![b.label.as_str().into()];
            row.extend(b.cells.iter().map(|c| Val::Num(c.valid as f64)));
            row.push(Val::Num(b.valid as f64));
            row.push(Val::Num(b.invalid as f64));
            row.push(b.note.as_str().into());
            row
        }),
    )?;

    // 明细
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
