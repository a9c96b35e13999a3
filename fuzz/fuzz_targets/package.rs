//! Shared by the `*_xml` targets: a real sample package with one part replaced by the fuzz
//! input, every member stored uncompressed. Mutating a whole .docx/.xlsx mostly breaks its
//! deflate streams or CRCs, so the XML readers behind them are reached far more often this
//! way.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// The members of `package`, read once.
pub fn members(package: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = ZipArchive::new(Cursor::new(package)).expect("sample package");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("sample member");
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).expect("sample member reads");
            (f.name().expect("member name").to_string(), bytes)
        })
        .collect()
}

/// The package with `part` replaced by `data`.
pub fn with_part(members: &[(String, Vec<u8>)], part: &str, data: &[u8]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, bytes) in members {
        w.start_file(name.as_str(), opts).expect("start member");
        let body = if name == part { data } else { bytes.as_slice() };
        w.write_all(body).expect("write member");
    }
    w.finish().expect("finish package").into_inner()
}
