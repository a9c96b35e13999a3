//! Bytes as word/document.xml of a real sample form (the rest of the package unchanged),
//! read against the shipped form definitions: tables, merged cells, ticks, sections.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lndx::forms::{read_docx, FormsSpec, ReadLimits};

#[path = "package.rs"]
mod package;

const MAX_INPUT: usize = 1 << 20;

struct Fixture {
    spec: FormsSpec,
    members: Vec<(String, Vec<u8>)>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        spec: lndx::campaign::Campaign::from_texts(lndx::campaign::BUILTIN_RULES)
            .expect("built-in rules")
            .forms,
        members: package::members(include_bytes!(
            "../../tests/fixtures/forms/P02-zj-course.docx"
        )),
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let f = fixture();
    let docx = package::with_part(&f.members, "word/document.xml", data);
    let _ = read_docx(&docx, &f.spec, &ReadLimits::default());
});
