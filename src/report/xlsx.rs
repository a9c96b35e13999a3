//! The report's workbook, written with rust_xlsxwriter: an overview, the progress per week
//! with a native Excel chart against the target line, by province (with the change over
//! the window and the province × batch matrix), by batch, the detail (one row per entry:
//! people and phones, sender, file, problems and warnings) and the mail that needs a
//! person. Sheet names and column titles come from `templates/report.toml`.
//!
//! Every sheet is set up to print: A4 landscape, one page wide, the header rows repeated
//! on every page, page numbers in the footer. Times are Excel dates in the campaign's
//! zone, not text. (Before, the sample registry's 25 entries printed on 12 pages, columns
//! alone on pages.)

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{
    Chart, ChartAxisDateUnitType, ExcelDateTime, Format, FormatAlign, Workbook, Worksheet,
    XlsxError,
};

use super::data::{EntryLine, ReportData};
use super::labels::Labels;

/// Excel's paper size code for A4.
const A4: u8 = 9;
/// Number formats of date cells (not wording: Excel shows them in the reader's locale).
const DATE_TIME: &str = "yyyy-mm-dd hh:mm";
const DATE: &str = "yyyy-mm-dd";

/// A cell value of a table row.
pub enum Val {
    Text(String),
    Num(f64),
    /// A share, 0–1, shown as a percentage.
    Pct(f64),
    /// A local date and time; empty when unknown.
    Time(Option<NaiveDateTime>),
    /// A local day.
    Day(NaiveDate),
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

impl From<usize> for Val {
    fn from(n: usize) -> Val {
        Val::Num(n as f64)
    }
}

/// A column of a table: its title, width (characters) and whether long text wraps.
pub struct Column {
    pub title: String,
    pub width: f64,
    pub wrap: bool,
}

/// Columns from report.toml `[columns]` keys: (key, width, wraps).
pub fn columns(l: &Labels, spec: &[(&'static str, f64, bool)]) -> Vec<Column> {
    spec.iter()
        .map(|(key, width, wrap)| Column {
            title: l.column(key).to_string(),
            width: *width,
            wrap: *wrap,
        })
        .collect()
}

/// A column whose title is not a `[columns]` key (a kind's or a batch's name).
fn named(title: &str, width: f64) -> Column {
    Column {
        title: title.to_string(),
        width,
        wrap: false,
    }
}

fn bold() -> Format {
    Format::new().set_bold()
}

fn header_format() -> Format {
    bold()
        .set_background_color("F2F2F2")
        .set_text_wrap()
        .set_align(FormatAlign::Top)
}

fn cell_format(wrap: bool) -> Format {
    let f = Format::new().set_align(FormatAlign::Top);
    if wrap {
        f.set_text_wrap()
    } else {
        f
    }
}

fn excel_time(t: NaiveDateTime) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)?.and_hms(
        t.hour() as u16,
        t.minute() as u8,
        t.second() as f64,
    )
}

fn excel_day(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

/// Writes one value with the column's format.
fn write_val(ws: &mut Worksheet, row: u32, col: u16, v: Val, wrap: bool) -> Result<(), XlsxError> {
    let f = cell_format(wrap);
    match v {
        Val::Text(s) if s.is_empty() => {}
        Val::Text(s) => {
            ws.write_string_with_format(row, col, s, &f)?;
        }
        Val::Num(x) => {
            ws.write_number_with_format(row, col, x, &f)?;
        }
        Val::Pct(x) => {
            ws.write_number_with_format(row, col, x, &f.set_num_format("0.0%"))?;
        }
        Val::Time(None) => {}
        Val::Time(Some(t)) => {
            ws.write_datetime_with_format(row, col, excel_time(t)?, &f.set_num_format(DATE_TIME))?;
        }
        Val::Day(d) => {
            ws.write_datetime_with_format(row, col, excel_day(d)?, &f.set_num_format(DATE))?;
        }
    }
    Ok(())
}

/// Height of one line of 11-point text in points: a CJK font's line is taller than the
/// Latin default (15), so wrapped Chinese needs this much per line not to be cut off in
/// LibreOffice's print.
const LINE: f64 = 17.0;

/// Width of a text in Excel's column units (the width of a digit): wide characters (CJK)
/// count two.
fn text_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) < 0x1100 { 1 } else { 2 })
        .sum()
}

/// How many lines a text wraps into in a column `width` units wide.
fn lines_in(s: &str, width: f64) -> usize {
    let room = (width - 1.0).max(1.0);
    s.split('\n')
        .map(|l| (text_width(l) as f64 / room).ceil().max(1.0) as usize)
        .sum()
}

/// The lines a row needs: its tallest wrapping text. Row heights are set from this
/// because neither Excel nor LibreOffice grows a row for wrapped text in a file written
/// without heights, and a print then cuts the text off.
fn row_lines(cols: &[Column], row: &[Val]) -> usize {
    row.iter()
        .zip(cols)
        .filter_map(|(v, c)| match v {
            Val::Text(s) if c.wrap => Some(lines_in(s, c.width)),
            _ => None,
        })
        .max()
        .unwrap_or(1)
}

/// Writes a table whose header is at `top`: the header row frozen and repeated on every
/// printed page, filterable, each row as tall as its wrapped text; returns the rows
/// written.
pub fn write_table(
    ws: &mut Worksheet,
    top: u32,
    cols: &[Column],
    rows: impl Iterator<Item = Vec<Val>>,
) -> Result<usize, XlsxError> {
    let h = header_format();
    for (i, c) in cols.iter().enumerate() {
        ws.write_string_with_format(top, i as u16, &c.title, &h)?;
        ws.set_column_width(i as u16, c.width)?;
    }
    let title_lines = cols
        .iter()
        .map(|c| lines_in(&c.title, c.width))
        .max()
        .unwrap_or(1);
    ws.set_row_height(top, title_lines as f64 * LINE)?;
    let mut n = 0u32;
    for row in rows {
        n += 1;
        let lines = row_lines(cols, &row);
        if lines > 1 {
            ws.set_row_height(top + n, lines as f64 * LINE)?;
        }
        for (c, v) in row.into_iter().enumerate() {
            let wrap = cols.get(c).is_some_and(|x| x.wrap);
            write_val(ws, top + n, c as u16, v, wrap)?;
        }
    }
    ws.set_freeze_panes(top + 1, 0)?;
    ws.set_repeat_rows(0, top)?;
    if n > 0 {
        ws.autofilter(top, 0, top + n, cols.len() as u16 - 1)?;
    }
    Ok(n as usize)
}

/// Print setup: A4 landscape, one page wide (`tall` pages high, 0 = as many as needed),
/// narrow margins, the sheet's name and page numbers in the footer.
pub fn print_setup(ws: &mut Worksheet, l: &Labels, tall: u16) {
    ws.set_paper_size(A4);
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, tall);
    ws.set_margins(0.4, 0.4, 0.5, 0.6, 0.3, 0.3);
    ws.set_footer(l.label("page_footer"));
}

/// A new sheet named by report.toml `[sheets]`.
fn sheet<'a>(
    wb: &'a mut Workbook,
    l: &Labels,
    key: &'static str,
) -> Result<&'a mut Worksheet, XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(l.sheet(key))?;
    Ok(ws)
}

/// The 明细 columns: the first eight stay where earlier workbooks had them.
const DETAIL: &[(&str, f64, bool)] = &[
    ("receipt", 23.0, false),
    ("province", 10.0, true),
    ("batch", 6.0, false),
    ("kind", 9.0, true),
    ("name", 24.0, true),
    ("unit", 16.0, true),
    ("status", 7.0, true),
    ("codes", 13.0, true),
    ("problems", 32.0, true),
    ("warnings", 22.0, true),
    ("people", 22.0, true),
    ("sender", 16.0, true),
    ("file", 18.0, true),
    ("themes", 10.0, true),
    ("arrived", 15.0, false),
    ("replied", 15.0, false),
    ("version", 4.0, false),
];

/// One 明细 row.
pub fn detail_row(e: &EntryLine, l: &Labels) -> Vec<Val> {
    let lines = |v: &[String]| Val::from(v.join("\n"));
    vec![
        e.receipt.as_str().into(),
        e.province_name.as_str().into(),
        e.batch_name.as_str().into(),
        e.kind_name.as_str().into(),
        e.name.as_str().into(),
        e.unit.as_str().into(),
        e.status_name.as_str().into(),
        e.codes.as_str().into(),
        lines(&e.problems),
        lines(&e.warnings),
        lines(&e.people),
        e.sender.as_str().into(),
        e.filename.as_str().into(),
        e.themes.join(l.label("separator")).into(),
        Val::Time(e.arrived_local),
        Val::Time(e.replied_local),
        Val::Num(e.version as f64),
    ]
}

/// The report's workbook as bytes.
pub fn report_workbook(d: &ReportData, l: &Labels) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    overview(&mut wb, d, l)?;
    progress(&mut wb, d, l)?;
    provinces(&mut wb, d, l)?;
    batches(&mut wb, d, l)?;
    let ws = sheet(&mut wb, l, "detail")?;
    write_table(
        ws,
        0,
        &columns(l, DETAIL),
        d.entries.iter().map(|e| detail_row(e, l)),
    )?;
    print_setup(ws, l, 0);
    pending(&mut wb, d, l)?;
    wb.save_to_buffer()
}

/// 总览: the title, the moment, progress per kind against the calendar, a few facts and
/// the themes.
fn overview(wb: &mut Workbook, d: &ReportData, l: &Labels) -> Result<(), XlsxError> {
    let ws = sheet(wb, l, "overview")?;
    ws.write_string_with_format(0, 0, &d.report_title, &bold())?;
    ws.write_string(1, 0, l.label("fact_as_of"))?;
    let when = Format::new()
        .set_num_format(DATE_TIME)
        .set_align(FormatAlign::Left);
    ws.merge_range(1, 1, 1, 3, "", &when)?;
    ws.write_datetime_with_format(1, 1, excel_time(d.as_of_local)?, &when)?;
    ws.write_string(2, 0, l.label("fact_time_passed"))?;
    write_val(ws, 2, 1, Val::Pct(d.calendar.share), false)?;
    let cols = columns(
        l,
        &[
            ("kind", 26.0, false),
            ("target", 9.0, false),
            ("valid", 9.0, false),
            ("pct", 10.0, false),
            ("expected", 11.0, false),
            ("pace", 11.0, false),
            ("invalid", 9.0, false),
        ],
    );
    let rows = d.kinds.iter().chain([&d.totals.row]).map(|k| {
        vec![
            k.name.as_str().into(),
            Val::Num(k.target as f64),
            k.valid.into(),
            Val::Pct(k.pct / 100.0),
            Val::Num(k.expected as f64),
            k.pace
                .map(|p| Val::Num(p as f64))
                .unwrap_or(Val::Text(String::new())),
            k.invalid.into(),
        ]
    });
    let n = write_table(ws, 4, &cols, rows)? as u32;
    let r = facts(ws, d, l, 4 + n + 2)?;
    themes(ws, d, l, r + 1)?;
    print_setup(ws, l, 1);
    Ok(())
}

/// The overview's facts from row `r`; returns the next free row.
fn facts(ws: &mut Worksheet, d: &ReportData, l: &Labels, mut r: u32) -> Result<u32, XlsxError> {
    let sep = l.label("separator");
    let facts: Vec<(&str, Val)> = vec![
        ("fact_pending", d.pending.count.into()),
        ("fact_held", d.totals.held.into()),
        ("fact_late_valid", d.totals.late_valid.into()),
        ("fact_new", d.new_since.count.into()),
        ("fact_since", d.new_since.since.as_str().into()),
        ("fact_deadline", d.deadline.text.as_str().into()),
        ("fact_nothing_yet", d.nothing_yet.join(sep).into()),
        ("fact_no_valid_yet", d.no_valid_yet.join(sep).into()),
        ("fact_off_theme", d.off_theme.into()),
    ];
    for (label, v) in facts {
        ws.write_string(r, 0, l.label(label))?;
        write_val(ws, r, 1, v, false)?;
        r += 1;
    }
    Ok(r)
}

/// Themes among valid entries, from row `r`.
fn themes(ws: &mut Worksheet, d: &ReportData, l: &Labels, r: u32) -> Result<(), XlsxError> {
    let h = header_format();
    for (i, key) in ["theme", "valid", "share"].iter().enumerate() {
        ws.write_string_with_format(r, i as u16, l.column(key), &h)?;
    }
    for (i, t) in d.themes.iter().enumerate() {
        let row = r + 1 + i as u32;
        let share = if d.totals.valid == 0 {
            0.0
        } else {
            t.valid as f64 / d.totals.valid as f64
        };
        ws.write_string(row, 0, &t.name)?;
        write_val(ws, row, 1, t.valid.into(), false)?;
        write_val(ws, row, 2, Val::Pct(share), false)?;
    }
    Ok(())
}

/// 进度: valid entries per week against the target line, with the chart beside the table.
fn progress(wb: &mut Workbook, d: &ReportData, l: &Labels) -> Result<(), XlsxError> {
    let ws = sheet(wb, l, "progress")?;
    let cols = columns(
        l,
        &[
            ("week", 12.0, false),
            ("new_valid", 10.0, false),
            ("cumulative", 10.0, false),
            ("target_line", 10.0, false),
        ],
    );
    let rows = d.weeks.weeks.iter().map(|w| {
        vec![
            Val::Day(w.start),
            w.new_valid.into(),
            w.cumulative
                .map(Val::from)
                .unwrap_or(Val::Text(String::new())),
            Val::Num((w.target_line * 10.0).round() / 10.0),
        ]
    });
    let n = write_table(ws, 0, &cols, rows)? as u32;
    if n > 0 {
        ws.insert_chart(1, 5, &week_chart(l, n))?;
    }
    print_setup(ws, l, 0);
    Ok(())
}

/// Cumulative valid entries as columns, the target line as a line, over the weeks of rows
/// 1..=n of the progress sheet.
fn week_chart(l: &Labels, n: u32) -> Chart {
    let name = l.sheet("progress");
    let mut chart = Chart::new_column();
    chart
        .add_series()
        .set_name(l.label("chart_cumulative"))
        .set_categories((name, 1, 0, n, 0))
        .set_values((name, 1, 2, n, 2));
    let mut line = Chart::new_line();
    line.add_series()
        .set_name(l.label("chart_target"))
        .set_categories((name, 1, 0, n, 0))
        .set_values((name, 1, 3, n, 3));
    chart.combine(&line);
    chart.title().set_name(l.label("chart_title"));
    chart
        .x_axis()
        .set_date_axis(true)
        .set_num_format("yyyy-mm")
        .set_major_unit(1)
        .set_major_unit_date_type(ChartAxisDateUnitType::Months);
    chart.set_width(760).set_height(420);
    chart
}

/// 按省份: valid entries per kind, the change over the window, per batch (closed ones
/// said so) and the province's situation.
fn provinces(wb: &mut Workbook, d: &ReportData, l: &Labels) -> Result<(), XlsxError> {
    let ws = sheet(wb, l, "provinces")?;
    let mut cols = columns(
        l,
        &[("province_code", 7.0, false), ("province", 18.0, false)],
    );
    cols.extend(d.kinds.iter().map(|k| named(&k.short, 7.0)));
    cols.extend(columns(
        l,
        &[
            ("valid", 7.0, false),
            ("invalid", 7.0, false),
            ("change", 7.0, false),
        ],
    ));
    cols.extend(d.batch_heads.iter().map(|b| Column {
        title: if b.closed {
            format!("{}\n{}", b.label, l.label("batch_closed"))
        } else {
            b.label.clone()
        },
        width: 8.0,
        wrap: false,
    }));
    cols.extend(columns(l, &[("situation", 20.0, false)]));
    let rows = d.provinces.iter().map(|p| {
        let mut row: Vec<Val> = vec![p.code.as_str().into(), p.name.as_str().into()];
        row.extend(p.cells.iter().map(|c| Val::from(c.valid)));
        row.extend([p.valid.into(), p.invalid.into(), Val::Num(p.change as f64)]);
        row.extend(p.by_batch.iter().map(|c| Val::from(c.valid)));
        row.push(p.situation.as_str().into());
        row
    });
    write_table(ws, 0, &cols, rows)?;
    print_setup(ws, l, 1);
    Ok(())
}

/// 按批次: each batch by kind, then late arrivals.
fn batches(wb: &mut Workbook, d: &ReportData, l: &Labels) -> Result<(), XlsxError> {
    let ws = sheet(wb, l, "batches")?;
    let mut cols = columns(l, &[("batch", 10.0, false)]);
    cols.extend(d.kinds.iter().map(|k| named(&k.short, 8.0)));
    cols.extend(columns(
        l,
        &[
            ("valid", 8.0, false),
            ("invalid", 8.0, false),
            ("note", 44.0, true),
        ],
    ));
    let rows = d.batches.iter().map(|b| {
        let mut row: Vec<Val> = vec![b.label.as_str().into()];
        row.extend(b.cells.iter().map(|c| Val::from(c.valid)));
        row.extend([b.valid.into(), b.invalid.into(), b.note.as_str().into()]);
        row
    });
    write_table(ws, 0, &cols, rows)?;
    print_setup(ws, l, 1);
    Ok(())
}

/// The 待处理来信 columns.
const PENDING: &[(&str, f64, bool)] = &[
    ("item", 12.0, true),
    ("province", 10.0, true),
    ("sender", 18.0, true),
    ("subject", 24.0, true),
    ("file", 20.0, true),
    ("receipt", 23.0, false),
    ("name", 20.0, true),
    ("detail", 24.0, true),
    ("since", 15.0, false),
    ("age", 5.0, false),
    ("action", 30.0, true),
];

/// 待处理来信: every item that needs a person.
fn pending(wb: &mut Workbook, d: &ReportData, l: &Labels) -> Result<(), XlsxError> {
    let ws = sheet(wb, l, "pending")?;
    let rows = d.pending.all.iter().map(|i| {
        vec![
            l.item(i.key).into(),
            i.province_name.as_str().into(),
            i.address.as_str().into(),
            i.subject.as_str().into(),
            i.file.as_str().into(),
            i.receipt.as_str().into(),
            i.name.as_str().into(),
            i.detail.as_str().into(),
            Val::Time(i.since_local),
            Val::Num(i.age_days as f64),
            l.action(i.key).into(),
        ]
    });
    write_table(ws, 0, &columns(l, PENDING), rows)?;
    print_setup(ws, l, 0);
    Ok(())
}
