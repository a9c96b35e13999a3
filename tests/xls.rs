//! The native .xls (BIFF8) reader: workbooks LibreOffice saves as Excel 97 from the sample
//! .xlsx forms read with the same fields as the .xlsx itself; hostile workbooks (a huge
//! declared extent, cells far apart, an inverted DIMENSIONS record) are refused quickly,
//! before calamine allocates for them. Prints the read time native vs LibreOffice.

mod util;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lndx::forms::{read_xls, read_xlsx, Document, FormsSpec, ReadError, ReadLimits};

fn spec() -> FormsSpec {
    lndx::campaign::Campaign::load(&util::repo().join("rules"))
        .expect("rules/ loads")
        .forms
}

/// `name` (an .xlsx sample form) saved by LibreOffice as "MS Excel 97".
fn saved_as_xls(name: &str, dir: &Path) -> Vec<u8> {
    assert!(util::soffice_present(), "LibreOffice (soffice) is needed");
    let src = util::fixture("forms").join(name);
    let profile = dir.join("profile");
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            "xls:MS Excel 97",
        ])
        .arg("--outdir")
        .arg(dir)
        .arg(&src)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("soffice runs");
    assert!(status.success());
    let out = dir.join(name.replace(".xlsx", ".xls"));
    std::fs::read(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()))
}

fn fields(doc: &Document) -> String {
    match doc {
        Document::Form(f) => format!("{:?} {:?}", f.kind, f.fields),
        Document::Summary(rows) => format!("{rows:?}"),
        Document::NotAForm => panic!("not a form"),
    }
}

#[test]
fn libreoffice_xls_reads_like_the_xlsx() {
    let spec = spec();
    let limits = ReadLimits::default();
    for name in ["P03-sd-course.xlsx", "P03-sd-summary.xlsx"] {
        let dir = tempfile::tempdir().unwrap();
        let xls = saved_as_xls(name, dir.path());
        assert_eq!(&xls[..4], b"\xD0\xCF\x11\xE0", "{name}: a compound file");
        let original = read_xlsx(
            &std::fs::read(util::fixture("forms").join(name)).unwrap(),
            &spec,
            &limits,
        )
        .unwrap();
        let native = read_xls(&xls, &spec, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(fields(&native), fields(&original), "{name}");
        if let Document::Form(f) = &native {
            assert!(f.fields.len() >= 5, "{name}: {f:?}");
        }
    }
}

/// One BIFF record.
fn rec(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend((data.len() as u16).to_le_bytes());
    r.extend(data);
    r
}

/// A BIFF8 workbook of one sheet: `sheet` holds the records between the sheet's BOF and EOF.
fn workbook(sheet: &[Vec<u8>]) -> Vec<u8> {
    let bof = |dt: u16| {
        rec(
            0x0809,
            &[&0x0600u16.to_le_bytes()[..], &dt.to_le_bytes(), &[0; 12]].concat(),
        )
    };
    let name = b"S";
    let bound = |pos: u32| {
        rec(
            0x0085,
            &[&pos.to_le_bytes()[..], &[0, 0, name.len() as u8, 0], name].concat(),
        )
    };
    let globals_len = bof(0x0005).len() + bound(0).len() + rec(0x000A, &[]).len();
    let mut stream = bof(0x0005);
    stream.extend(bound(globals_len as u32));
    stream.extend(rec(0x000A, &[]));
    stream.extend(bof(0x0010));
    for r in sheet {
        stream.extend(r);
    }
    stream.extend(rec(0x000A, &[]));
    let mut cfb = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    cfb.create_stream("/Workbook")
        .unwrap()
        .write_all(&stream)
        .unwrap();
    cfb.flush().unwrap();
    cfb.into_inner().into_inner()
}

fn dimensions(rf: u32, rl: u32, cf: u16, cl: u16) -> Vec<u8> {
    rec(
        0x0200,
        &[
            &rf.to_le_bytes()[..],
            &rl.to_le_bytes(),
            &cf.to_le_bytes(),
            &cl.to_le_bytes(),
            &[0, 0],
        ]
        .concat(),
    )
}

fn number(row: u16, col: u16) -> Vec<u8> {
    rec(
        0x0203,
        &[
            &row.to_le_bytes()[..],
            &col.to_le_bytes(),
            &[0, 0],
            &1.0f64.to_le_bytes(),
        ]
        .concat(),
    )
}

fn refused(bytes: &[u8]) -> Result<Document, ReadError> {
    let start = Instant::now();
    let r = read_xls(bytes, &spec(), &ReadLimits::default());
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    r
}

#[test]
fn hostile_workbooks_are_refused_before_calamine_allocates() {
    // The crafted workbook is well formed: within the limit it reads (as no form).
    let fine = workbook(&[dimensions(0, 2, 0, 2), number(0, 0), number(1, 1)]);
    assert!(
        matches!(refused(&fine), Ok(Document::NotAForm)),
        "{:?}",
        refused(&fine)
    );
    // A declared extent of 2^31 rows × 256 columns (calamine would reserve 64 GiB).
    let declared = workbook(&[dimensions(0, 0x8000_0000, 0, 256), number(0, 0)]);
    assert!(declared.len() < 64 * 1024, "{}", declared.len());
    let r = refused(&declared);
    assert!(matches!(r, Err(ReadError::TooLarge(_))), "{r:?}");
    // A small declared extent, cells at A1 and IV65536 (16.7 million positions).
    let spread = workbook(&[dimensions(0, 1, 0, 1), number(0, 0), number(65535, 255)]);
    let r = refused(&spread);
    assert!(matches!(r, Err(ReadError::TooLarge(_))), "{r:?}");
    // An inverted extent, on which calamine's arithmetic underflows.
    let inverted = workbook(&[dimensions(10, 5, 0, 1), number(0, 0)]);
    let r = refused(&inverted);
    assert!(matches!(r, Err(ReadError::Corrupt(_))), "{r:?}");
}

#[test]
fn a_real_workbook_with_a_huge_declared_extent_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut xls = saved_as_xls("P03-sd-course.xlsx", dir.path());
    // The BIFF8 DIMENSIONS record (type 0x0200, 14 bytes): last row + 1 and last column + 1.
    let at = xls
        .windows(4)
        .position(|w| w == [0x00, 0x02, 0x0E, 0x00])
        .expect("a DIMENSIONS record");
    xls[at + 8..at + 12].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    xls[at + 14..at + 16].copy_from_slice(&256u16.to_le_bytes());
    let r = refused(&xls);
    assert!(matches!(r, Err(ReadError::TooLarge(_))), "{r:?}");
}

/// Not an assertion on speed: prints what reading one .xls costs natively and through a cold
/// LibreOffice conversion to .xlsx (the figures in docs/decisions.md).
#[test]
fn read_time_native_and_libreoffice() {
    let dir = tempfile::tempdir().unwrap();
    let xls = saved_as_xls("P03-sd-course.xlsx", dir.path());
    let spec = spec();
    let limits = ReadLimits::default();
    let n = 50;
    let start = Instant::now();
    for _ in 0..n {
        read_xls(&xls, &spec, &limits).unwrap();
    }
    let native = start.elapsed() / n;
    let conv = lndx::convert::Converter::find(None, Duration::from_secs(60)).expect("soffice");
    let start = Instant::now();
    let xlsx = conv.convert(&xls, "xls", "xlsx").unwrap();
    read_xlsx(&xlsx, &spec, &limits).unwrap();
    let cold = start.elapsed();
    println!("xls read: native {native:?} per file ({n} reads); LibreOffice cold convert + read {cold:?}");
}
