//! Cell text through the string rules (phones, numbers, name keys, 字数, blanks).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lndx::text::{char_count, decimal_number, is_blank, name_key, phones_valid, whole_number};

/// Form cells are short; NFKC of a long string is linear anyway.
const MAX_INPUT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let s = String::from_utf8_lossy(data);
    let _ = phones_valid(&s);
    let _ = whole_number(&s, &["期", "人次"]);
    if let Some(d) = decimal_number(&s) {
        assert!(d >= 0.0 || d.is_nan(), "negative decimal {d} from {s:?}");
    }
    let _ = name_key(&s);
    let n = char_count(&s);
    assert!(n <= s.chars().count());
    let _ = is_blank(&s, &["字以内".to_string()]);
});
