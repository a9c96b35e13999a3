//! Raw bytes as a .xlsx package read against the real form definitions.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lndx::forms::{read_xlsx, FormsSpec, ReadLimits};

const MAX_INPUT: usize = 1 << 20;

fn spec() -> &'static FormsSpec {
    static SPEC: OnceLock<FormsSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        lndx::campaign::Campaign::from_texts(lndx::campaign::BUILTIN_RULES)
            .expect("built-in rules")
            .forms
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let _ = read_xlsx(data, spec(), &ReadLimits::default());
});
