//! Raw bytes as a whole message: headers, MIME walking, attachments, archives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lndx::message::{parse, ParseOptions};

/// Larger inputs add run time, not coverage.
const MAX_INPUT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let _ = parse(data, &ParseOptions::default());
});
