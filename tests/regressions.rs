//! Inputs found by fuzzing (fuzz/) or while reviewing its targets, each replayed here so the
//! fixes stay fixed without cargo-fuzz. The inputs live in tests/fixtures/regressions/.

mod util;

use lndx::forms::{read_xlsx, FormsSpec, ReadError, ReadLimits};
use util::fixture;

fn spec() -> FormsSpec {
    let text = std::fs::read_to_string(util::repo().join("rules/forms.toml")).unwrap();
    toml::from_str(&text).unwrap()
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
