//! The .xlsx reader: checks the package (content types, macro-enabled, size limits), then reads
//! each sheet with calamine into a [`Grid`] (merged regions become one spanning cell plus
//! vertical-continue cells), numbers formatted as typed (no ".0").

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, DataRef, Reader, Xlsx, XlsxError};

use super::grid::{Cell, Grid, Row};
use super::ooxml::{MainPart, Package};
use super::{ReadError, ReadLimits};

/// Most sheets looked at.
const MAX_SHEETS: usize = 32;

/// Role of a sheet position inside a merged region.
#[derive(Clone, Copy)]
enum Merge {
    /// Top-left: the region's width.
    Head(usize),
    /// First column of a lower row: continues the region vertically.
    Continue(usize),
    /// Any other position: covered by the head or a continue cell.
    Covered,
}

/// Reads every sheet of the workbook into a grid.
pub fn read_grids(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<Grid>, ReadError> {
    let mut pkg = Package::open(bytes, limits)?;
    match pkg.main_part()? {
        MainPart::Excel(_) => {}
        MainPart::ExcelMacro => return Err(ReadError::Macro),
        MainPart::Word(_) | MainPart::WordMacro => {
            return Err(ReadError::Corrupt(
                "a Word document, not a spreadsheet".into(),
            ))
        }
        MainPart::Other => return Err(ReadError::Corrupt("no spreadsheet main part".into())),
    }
    pkg.check_all_members()?;
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| ReadError::Corrupt(format!("xlsx: {e}")))?;
    let names: Vec<String> = wb.sheet_names().into_iter().take(MAX_SHEETS).collect();
    let mut grids = Vec::new();
    let mut budget = limits.cells;
    for name in names {
        let range = sheet_range(&mut wb, &name, budget)?;
        let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
        grids.push(sheet_grid(&range, &merges, &mut budget)?);
    }
    Ok(grids)
}

/// Reads one sheet's non-empty cells into a range, refusing a sheet whose extent exceeds the
/// cell budget before the range is allocated: calamine's `worksheet_range` allocates every
/// position between the first and the last cell, so two cells at A1 and XFD1048576 in a
/// 7 KB file ask for 512 GiB and abort the process.
fn sheet_range<RS: std::io::Read + std::io::Seek>(
    wb: &mut Xlsx<RS>,
    name: &str,
    budget: usize,
) -> Result<calamine::Range<Data>, ReadError> {
    let corrupt = |e: XlsxError| ReadError::Corrupt(format!("sheet {name}: {e}"));
    let mut reader = match wb.worksheet_cells_reader(name) {
        Ok(r) => r,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(calamine::Range::empty()),
        Err(e) => return Err(corrupt(e)),
    };
    let too_large = || ReadError::TooLarge(format!("more than {budget} sheet cells"));
    let mut cells = Vec::new();
    let (mut r0, mut r1, mut c1) = (u32::MAX, 0u32, 0u32);
    while let Some(cell) = reader.next_cell().map_err(corrupt)? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (r, c) = cell.get_position();
        (r0, r1, c1) = (r0.min(r), r1.max(r), c1.max(c));
        // The same measure as `sheet_grid` applies: rows spanned × columns from A.
        let extent = (u64::from(r1 - r0) + 1) * (u64::from(c1) + 1);
        if extent > budget as u64 || cells.len() >= budget {
            return Err(too_large());
        }
        cells.push(calamine::Cell::new(
            (r, c),
            Data::from(cell.get_value().clone()),
        ));
    }
    Ok(calamine::Range::from_sparse(cells))
}

/// Where each merged region covers the sheet. Only positions inside the sheet's extent
/// (rows `r0..=r1`, columns `0..=c1`) are mapped, and at most `max_positions` of them in all:
/// regions of a real sheet do not overlap, so they never cover more than the extent, while
/// 10,000 copies of one 100,000-cell region in an 8 KB file meant a billion map inserts
/// (over a minute), and disjoint regions as many entries (gigabytes).
fn merge_map(
    merges: &[calamine::Dimensions],
    (r0, r1, c1): (u32, u32, u32),
    max_positions: usize,
) -> HashMap<(u32, u32), Merge> {
    let mut map = HashMap::new();
    let mut left = max_positions;
    for m in merges.iter().take(10_000) {
        let (mr0, mc0) = m.start;
        let (mr1, mc1) = m.end;
        if mr1 < mr0 || mc1 < mc0 || (mr1 - mr0) as u64 * (mc1 - mc0) as u64 > 100_000 {
            continue;
        }
        let width = (mc1 - mc0 + 1) as usize;
        let (rows, cols) = (mr0.max(r0)..=mr1.min(r1), mc0..=mc1.min(c1));
        if rows.is_empty() || cols.is_empty() {
            continue;
        }
        let area =
            (rows.end() - rows.start() + 1) as usize * (cols.end() - cols.start() + 1) as usize;
        if area > left {
            break;
        }
        left -= area;
        for r in rows {
            for c in cols.clone() {
                let role = match (r == mr0, c == mc0) {
                    (true, true) => Merge::Head(width),
                    (false, true) => Merge::Continue(width),
                    _ => Merge::Covered,
                };
                map.insert((r, c), role);
            }
        }
    }
    map
}

pub(super) fn sheet_grid(
    range: &calamine::Range<Data>,
    merges: &[calamine::Dimensions],
    budget: &mut usize,
) -> Result<Grid, ReadError> {
    let mut grid = Grid::default();
    let (Some((r0, _)), Some((r1, c1))) = (range.start(), range.end()) else {
        return Ok(grid);
    };
    let cells = (r1 - r0 + 1) as usize * (c1 as usize + 1);
    if cells > *budget {
        return Err(ReadError::TooLarge(format!(
            "more than {} sheet cells",
            budget
        )));
    }
    *budget -= cells;
    let map = merge_map(merges, (r0, r1, c1), cells);
    let mut text = Vec::new();
    for r in r0..=r1 {
        let mut row = Row {
            number: r as usize + 1,
            table: 0,
            cells: Vec::new(),
        };
        for c in 0..=c1 {
            let value = range.get_value((r, c)).map(data_text).unwrap_or_default();
            let cell = match map.get(&(r, c)) {
                Some(Merge::Covered) => continue,
                Some(Merge::Head(w)) => Cell::new(value, *w, false),
                Some(Merge::Continue(w)) => Cell::new(String::new(), *w, true),
                None => Cell::new(value, 1, false),
            };
            if !cell.text.trim().is_empty() {
                text.push(cell.text.clone());
            }
            row.cells.push(cell);
        }
        grid.rows.push(row);
    }
    grid.text = text.join("\n");
    Ok(grid)
}

/// A cell's value as text; whole numbers without ".0".
pub fn data_text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => float_text(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(_) | Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e17 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}
