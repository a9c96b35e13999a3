//! Raw bytes as a zip attached to a message (base64, named x.zip), so the archive is
//! unpacked exactly as for real mail: limits, member names, nesting, sniffing.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use lndx::message::{parse, ParseOptions};

const MAX_INPUT: usize = 1 << 20;

fn message(zip: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(zip);
    let mut out = Vec::with_capacity(b64.len() + b64.len() / 38 + 512);
    out.extend_from_slice(
        b"From: a@example.test\r\nTo: b@example.test\r\nSubject: zip\r\n\
          Message-ID: <zip@example.test>\r\nMIME-Version: 1.0\r\n\
          Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
          --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nforms\r\n\
          --b\r\nContent-Type: application/zip; name=\"x.zip\"\r\n\
          Content-Disposition: attachment; filename=\"x.zip\"\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n",
    );
    for line in b64.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--b--\r\n");
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let _ = parse(&message(data), &ParseOptions::default());
});
