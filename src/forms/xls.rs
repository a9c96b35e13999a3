//! The native .xls (BIFF5/BIFF8) reader: calamine reads the legacy workbook itself, so most
//! .xls forms never need LibreOffice (a cold LibreOffice start costs 1.9–2.5 s per file;
//! see docs/decisions.md for the measurement).
//!
//! calamine 0.38 parses every sheet when the workbook is opened (`Xls::new`), reserves
//! room for the extent a sheet's DIMENSIONS record declares (rows × columns cells, 32
//! bytes each) and then allocates the extent between the first and the last cell record
//! (`Range::from_sparse`). A BIFF8 sheet may declare 2^32 rows × 256 columns, and two
//! cells at A1 and IV65536 span 16.7 million positions (about 0.5 GB), in a file of a few
//! kilobytes; an inverted DIMENSIONS record or MULRK makes its arithmetic underflow. So
//! [`check_extent`] walks the Workbook stream first, the way calamine does (each
//! BoundSheet's substream from its BOF to its EOF, nested substreams skipped), and refuses
//! a workbook whose declared or used extent exceeds the reader's cell limit, before
//! calamine sees it: the same limit and the same answer (`TooLarge`) as the .xlsx reader.

use std::io::{Cursor, Read};

use calamine::{Reader, Xls, XlsError};

use super::grid::Grid;
use super::xlsx::sheet_grid;
use super::{ReadError, ReadLimits};

/// Most sheets a workbook may have (calamine reads them all when it opens the file).
const MAX_SHEETS: usize = 32;

/// Reads every sheet of a legacy workbook into a grid.
pub fn read_grids(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<Grid>, ReadError> {
    check_extent(bytes, limits.cells)?;
    let mut wb: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(|e| match e {
        XlsError::Password => ReadError::Encrypted,
        e => ReadError::Corrupt(format!("xls: {e}")),
    })?;
    let names: Vec<String> = wb.sheet_names().into_iter().take(MAX_SHEETS).collect();
    let mut grids = Vec::new();
    let mut budget = limits.cells;
    for name in names {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| ReadError::Corrupt(format!("sheet {name}: {e}")))?;
        let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
        grids.push(sheet_grid(&range, &merges, &mut budget)?);
    }
    Ok(grids)
}

/// The Workbook (BIFF8) or Book (BIFF5) stream of the compound file.
fn workbook_stream(bytes: &[u8]) -> Result<Vec<u8>, ReadError> {
    let mut cfb = cfb::CompoundFile::open(Cursor::new(bytes))
        .map_err(|e| ReadError::Corrupt(format!("xls: {e}")))?;
    let name = ["/Workbook", "/Book"]
        .into_iter()
        .find(|n| cfb.is_stream(n))
        .ok_or_else(|| ReadError::Corrupt("xls: no Workbook stream".into()))?;
    let mut stream = cfb
        .open_stream(name)
        .map_err(|e| ReadError::Corrupt(format!("xls: {e}")))?;
    let mut out = Vec::new();
    // The compound file was read from memory: the stream is at most as large as the file.
    (&mut stream)
        .take(bytes.len() as u64)
        .read_to_end(&mut out)
        .map_err(|e| ReadError::Corrupt(format!("xls: {e}")))?;
    Ok(out)
}

/// One BIFF record: type and data (CONTINUE records are records of their own here; their
/// type is none of those looked at).
fn records(mut stream: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if stream.len() < 4 {
            return None;
        }
        let typ = u16::from_le_bytes([stream[0], stream[1]]);
        let len = u16::from_le_bytes([stream[2], stream[3]]) as usize;
        let data = stream.get(4..4 + len)?;
        stream = &stream[4 + len..];
        Some((typ, data))
    })
}

fn u16_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?) as u32)
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// Refuses a workbook calamine would allocate more than `max_cells` cells for, in all its
/// sheets together: each sheet's declared extent (DIMENSIONS, record 0x0200) and the extent
/// its cell records span. Malformed records calamine would compute with (an inverted
/// DIMENSIONS or MULRK) are refused as corrupt.
pub fn check_extent(bytes: &[u8], max_cells: usize) -> Result<(), ReadError> {
    let stream = workbook_stream(bytes)?;
    let corrupt = |what: &str| ReadError::Corrupt(format!("xls: {what}"));
    let too_large = || ReadError::TooLarge(format!("more than {max_cells} sheet cells"));
    // The globals substream: where each sheet's substream starts (BoundSheet8, 0x0085).
    let mut sheets = Vec::new();
    for (typ, data) in records(&stream) {
        match typ {
            0x0085 => sheets.push(u32_at(data, 0).ok_or_else(|| corrupt("BoundSheet"))?),
            0x000A => break,
            _ => {}
        }
    }
    if sheets.len() > MAX_SHEETS * 8 {
        return Err(too_large());
    }
    let mut total: u64 = 0;
    for pos in sheets {
        let sub = stream
            .get(pos as usize..)
            .ok_or_else(|| corrupt("sheet offset"))?;
        let mut declared: u64 = 0;
        let (mut r0, mut r1, mut c0, mut c1) = (u32::MAX, 0u32, u32::MAX, 0u32);
        let mut cells: u64 = 0;
        let mut seen_bof = false;
        let mut depth = 0usize;
        let mut used = |r: u32, c: u32| {
            (r0, r1, c0, c1) = (r0.min(r), r1.max(r), c0.min(c), c1.max(c));
        };
        for (typ, d) in records(sub) {
            if depth > 0 {
                match typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            match typ {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                // DIMENSIONS, read as calamine reads it (BIFF5: 16-bit rows; BIFF8: 32-bit).
                0x0200 => {
                    let (rf, rl, cf, cl) = match d.len() {
                        10 => (u16_at(d, 0), u16_at(d, 2), u16_at(d, 4), u16_at(d, 6)),
                        14 | 16 => (u32_at(d, 0), u32_at(d, 4), u16_at(d, 8), u16_at(d, 10)),
                        _ => return Err(corrupt("DIMENSIONS")),
                    };
                    let (Some(rf), Some(rl), Some(mut cf), Some(cl)) = (rf, rl, cf, cl) else {
                        return Err(corrupt("DIMENSIONS"));
                    };
                    if cf > 0xFF || cl < cf {
                        cf = 0;
                    }
                    declared = if rl >= 1 && cl >= 1 {
                        // calamine computes (rl - 1) - rf + 1 rows and (cl - 1) - cf + 1
                        // columns in u32: both must not underflow.
                        if rl - 1 < rf || cl - 1 < cf {
                            return Err(corrupt("DIMENSIONS"));
                        }
                        u64::from(rl - rf) * u64::from(cl - cf)
                    } else {
                        1
                    };
                    if declared > max_cells as u64 {
                        return Err(too_large());
                    }
                }
                // Number, Label, RString, BoolErr, RK, LabelSst, Formula: row, column first.
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
                    let (Some(r), Some(c)) = (u16_at(d, 0), u16_at(d, 2)) else {
                        return Err(corrupt("cell record"));
                    };
                    used(r, c);
                    cells += 1;
                }
                // MULRK: row, first column, …, last column.
                0x00BD => {
                    let (Some(r), Some(first), Some(last)) =
                        (u16_at(d, 0), u16_at(d, 2), u16_at(d, d.len().max(2) - 2))
                    else {
                        return Err(corrupt("MULRK"));
                    };
                    if d.len() < 6 || last < first {
                        return Err(corrupt("MULRK"));
                    }
                    used(r, first);
                    used(r, last);
                    cells += u64::from(last - first + 1);
                }
                _ => {}
            }
            if cells > max_cells as u64 {
                return Err(too_large());
            }
        }
        let spanned = if cells == 0 {
            0
        } else {
            (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1)
        };
        total += declared.max(spanned);
        if total > max_cells as u64 {
            return Err(too_large());
        }
    }
    Ok(())
}
