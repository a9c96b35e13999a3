//! Inputs found by fuzzing (fuzz/) or while reviewing its targets, each replayed here so the
//! fixes stay fixed without cargo-fuzz. The inputs live in tests/fixtures/regressions/.

mod util;

use lndx::forms::{read_docx, read_xlsx, Document, FormsSpec, ReadError, ReadLimits};
use util::fixture;

fn spec() -> FormsSpec {
    lndx::campaign::Campaign::load(&util::repo().join("rules"))
        .unwrap()
        .forms
}

fn regression(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("regressions/{name}"))).unwrap()
}

/// A 7 KB workbook (a sample course form plus one number in cell XFD1048576) used to abort
/// the whole process: calamine allocated every cell between A1 and XFD1048576 (512 GiB).
/// The sheet's extent is now checked against the cell budget while its cells are read.
#[test]
fn xlsx_sheet_spanning_the_whole_grid_is_too_large_not_an_abort() {
    let bytes = regression("xlsx-a1-to-xfd1048576.xlsx");
    assert!(bytes.len() < 16 * 1024);
    match read_xlsx(&bytes, &spec(), &ReadLimits::default()) {
        Err(ReadError::TooLarge(what)) => assert!(what.contains("sheet cells"), "{what}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

/// Merged regions used to be expanded cell by cell whatever the sheet held: 10,000 copies of
/// A1:J10000 (an 8 KB file) took over a minute, 200 disjoint 100,000-cell regions (16 KB)
/// 20 million map entries. Only the sheet's extent is mapped now, at most once over.
#[test]
fn xlsx_merged_regions_are_bounded_by_the_sheet() {
    for name in [
        "xlsx-10000-overlapping-merges.xlsx",
        "xlsx-200-disjoint-merges.xlsx",
    ] {
        let bytes = regression(name);
        let started = std::time::Instant::now();
        let read = read_xlsx(&bytes, &spec(), &ReadLimits::default());
        let took = started.elapsed();
        assert!(read.is_ok(), "{name}: {read:?}");
        // Microseconds now; generous for an unoptimised build on a busy machine.
        assert!(took.as_secs() < 10, "{name} took {took:?}");
    }
}

/// One table row of 60,000 label cells (a sample form with such a row put first; 370 KB,
/// within the ratio and cell limits) took 6.5 s in a release build and 120,000 cells over
/// half a minute: every label recomputed the grid columns of its whole row. The columns
/// are now computed once per row.
#[test]
fn docx_row_of_many_labels_is_read_in_linear_time() {
    let bytes = regression("docx-row-of-60000-labels.docx");
    let started = std::time::Instant::now();
    let read = read_docx(&bytes, &spec(), &ReadLimits::default());
    let took = started.elapsed();
    assert!(matches!(read, Ok(Document::Form(_))), "{read:?}");
    // About a second unoptimised now; half a minute or more before.
    assert!(took.as_secs() < 10, "took {took:?}");
}
