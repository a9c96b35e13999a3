//! Form layouts the public samples do not show (made by python-docx and openpyxl, see
//! tests/fixtures/variants/make.py): label and value in one cell, a form typed as
//! paragraphs, a case form in a sheet.

mod util;

use serde_json::Value;
use util::{fixture, Scratch};

fn check(file: &str) -> Value {
    let s = Scratch::new("variants");
    let out = s.lndx(
        None,
        &[
            "check",
            "--json",
            fixture(&format!("variants/{file}")).to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["attachments"][0].clone()
}

fn field(a: &Value, k: &str) -> Value {
    a["entry"]["fields"][k].clone()
}

#[test]
fn label_and_value_in_one_cell() {
    let a = check("inline-pairs-project.docx");
    assert_eq!(a["kind"], "project");
    assert_eq!(a["entry"]["status"], "valid", "{a}");
    assert_eq!(field(&a, "name"), "“银发智学”社区数字技能培训");
    assert_eq!(field(&a, "leader"), "李明");
    assert_eq!(field(&a, "leader_phone"), "0731-84123456");
    assert_eq!(field(&a, "contact"), "周芳");
    assert_eq!(field(&a, "contact_phone"), "13974561234");
    assert_eq!(field(&a, "sessions"), 8);
    assert_eq!(field(&a, "trainees"), 1260);
}

#[test]
fn a_form_typed_as_paragraphs() {
    let a = check("paragraph-course.docx");
    assert_eq!(a["kind"], "course");
    assert_eq!(a["entry"]["status"], "valid", "{a}");
    assert_eq!(field(&a, "resource_type"), "视频资源");
    assert_eq!(field(&a, "video_minutes"), 64.0);
    assert_eq!(field(&a, "shared"), "是");
    assert_eq!(field(&a, "unit"), "江西开放大学");
}

#[test]
fn a_case_form_in_a_sheet() {
    let a = check("sheet-case.xlsx");
    assert_eq!(a["kind"], "case");
    assert_eq!(a["entry"]["status"], "valid", "{a}");
    assert_eq!(
        field(&a, "contact_phone"),
        "13831112345",
        "a phone typed as a number"
    );
    assert!(field(&a, "practice")
        .as_str()
        .unwrap()
        .starts_with("一是设立驿站"));
}
