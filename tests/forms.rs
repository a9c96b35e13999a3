//! Reads every sample form of tests/fixtures/forms with the spec in rules/forms.toml and checks
//! the fields against entries.json and the section lengths against index.json; also checks the
//! failure modes (truncated, macro, renamed, damaged files) end quickly without panicking.

mod util;

use std::time::{Duration, Instant};

use lndx::forms::{read_docx, read_xlsx, Document, Form, FormsSpec, ReadError, ReadLimits};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let p = util::fixture("forms").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The shipped campaign's forms (the spec needs the campaign's kinds to resolve).
fn spec() -> FormsSpec {
    lndx::campaign::Campaign::load(&util::repo().join("rules"))
        .expect("rules/ loads")
        .forms
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("json")
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn count(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

fn read(name: &str, spec: &FormsSpec) -> Result<Document, ReadError> {
    let bytes = fixture(name);
    let limits = ReadLimits::default();
    if name.ends_with(".xlsx") {
        read_xlsx(&bytes, spec, &limits)
    } else {
        read_docx(&bytes, spec, &limits)
    }
}

fn form(name: &str, spec: &FormsSpec) -> Form {
    match read(name, spec) {
        Ok(Document::Form(f)) => f,
        other => panic!("{name}: not a form: {other:?}"),
    }
}

/// The sample forms: (file name, key in entries.json / index.json).
fn samples() -> Vec<(String, String)> {
    let index = json("index.json");
    let mut out = Vec::new();
    for item in index.as_array().expect("index is a list") {
        let file = item["file"].as_str().unwrap_or_default();
        let base = file.rsplit('/').next().unwrap_or_default().to_string();
        let key = item["key"].as_str().unwrap_or_default().to_string();
        let is_form = item["expect"]["role"].as_str() == Some("form");
        if is_form && (base.ends_with(".docx") || base.ends_with(".xlsx")) {
            out.push((base, key));
        }
    }
    out
}

#[test]
fn every_sample_form_reads_as_expected() {
    let spec = spec();
    let entries = json("entries.json");
    let samples = samples();
    assert!(samples.len() >= 25, "only {} samples", samples.len());
    for (file, key) in samples {
        let e = &entries[&key];
        let f = form(&file, &spec);
        let kind = Some(f.kind.key());
        assert_eq!(kind, e["kind"].as_str(), "{file}: kind");
        for field in [
            "name",
            "unit",
            "leader",
            "contact",
            "leader_phone",
            "contact_phone",
            "teacher",
            "teacher_title",
            "members",
            "shared",
            "video_minutes",
        ] {
            let Some(want) = e[field].as_str() else {
                continue;
            };
            let got = f.fields.get(field).map(|s| squash(s));
            assert_eq!(
                got.as_deref(),
                Some(squash(want).as_str()),
                "{file}: {field}"
            );
        }
        for field in ["sessions", "trainees"] {
            if let Some(want) = e[field].as_str() {
                let got = f.fields.get(field).cloned().unwrap_or_default();
                assert!(got.contains(want), "{file}: {field} {got:?} lacks {want:?}");
            }
        }
        if let Some(want) = e["resource_type"].as_array() {
            let want: Vec<&str> = want.iter().filter_map(|v| v.as_str()).collect();
            let got: Vec<&str> = f
                .choices
                .iter()
                .filter(|c| c.ticked)
                .map(|c| c.option.as_str())
                .collect();
            assert_eq!(got, want, "{file}: ticked options");
            assert_eq!(f.choices.len(), 3, "{file}: all options reported");
        }
        assert!(
            f.text.contains(&*f.fields["name"]),
            "{file}: text has the name"
        );
    }
}

#[test]
fn section_lengths_match_the_index() {
    let spec = spec();
    let index = json("index.json");
    let mut checked = 0;
    for item in index.as_array().expect("list") {
        let file = item["file"].as_str().unwrap_or_default();
        let base = file.rsplit('/').next().unwrap_or_default();
        if !base.ends_with(".docx") {
            continue;
        }
        let Some(lengths) = item["lengths"].as_object().filter(|l| !l.is_empty()) else {
            continue;
        };
        let f = form(base, &spec);
        for (field, want) in lengths {
            if field == "total" {
                continue;
            }
            let got = f.fields.get(field).map(|s| count(s));
            assert_eq!(got, want.as_u64().map(|n| n as usize), "{base}: {field}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} lengths checked");
}

#[test]
fn p04_sections() {
    let spec = spec();
    let f = form("P04-sc-case.docx", &spec);
    assert_eq!(count(&f.fields["background"]), 391);
    assert_eq!(count(&f.fields["practice"]), 1622);
    assert_eq!(count(&f.fields["results"]), 995);
    assert!(f.fields["background"].starts_with("锦江区"));
}

#[test]
fn tick_variants() {
    let spec = spec();
    let ticked =
        |name: &str| -> Vec<bool> { form(name, &spec).choices.iter().map(|c| c.ticked).collect() };
    // w:sym Wingdings glyphs, all empty.
    assert_eq!(
        ticked("P06-js-course-none-ticked.docx"),
        [false, false, false]
    );
    // √ characters, two ticked.
    assert_eq!(ticked("P06-js-course-two-ticked.docx"), [true, false, true]);
    // checkbox content controls.
    assert_eq!(ticked("P15-yn-course.docx"), [false, true, false]);
    // Wingdings 2 private-use characters.
    assert_eq!(ticked("P07-fj-course.docx"), [false, true, false]);
    let f = form("P07-fj-course.docx", &spec);
    assert_eq!(f.fields["video_minutes"], "45");
    let f = form("P06-js-course-none-ticked.docx", &spec);
    assert_eq!(f.fields["video_minutes"], "");
}

#[test]
fn labels_are_kept_as_printed() {
    let spec = spec();
    let f = form("P02-zj-project.docx", &spec);
    assert_eq!(f.labels["leader"], "负责人");
    assert_eq!(f.labels["teacher_title"], "单位及职务(职称)");
    assert_eq!(f.fields["teacher"], "周静");
}

#[test]
fn course_form_in_a_spreadsheet() {
    let spec = spec();
    let f = form("P03-sd-course.xlsx", &spec);
    assert_eq!(Some(f.kind.key()), Some("course"));
    assert!(f
        .choices
        .iter()
        .any(|c| c.ticked && c.option == "教材（读本）"));
}

#[test]
fn summary_sheet() {
    let spec = spec();
    let Ok(Document::Summary(rows)) = read("P03-sd-summary.xlsx", &spec) else {
        panic!("not a summary");
    };
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0].row, 4);
    assert_eq!(rows[0].kind.map(|k| k.key()), Some("case"));
    assert!(rows.iter().all(|r| r.kind.is_some() && r.unit.is_some()));
}

#[test]
fn truncated_docx_is_corrupt() {
    let spec = spec();
    let r = read("P10-sh-course-truncated.docx", &spec);
    assert!(matches!(r, Err(ReadError::Corrupt(_))), "{r:?}");
}

#[test]
fn macro_document_is_refused() {
    let spec = spec();
    let r = read_docx(
        &fixture("P10-sh-project-docm.docm"),
        &spec,
        &ReadLimits::default(),
    );
    assert!(matches!(r, Err(ReadError::Macro)), "{r:?}");
}

#[test]
fn renamed_and_foreign_files_fail_quickly() {
    let spec = spec();
    let limits = ReadLimits::default();
    let t = Instant::now();
    let xlsx = fixture("P03-sd-summary.xlsx");
    assert!(matches!(
        read_docx(&xlsx, &spec, &limits),
        Err(ReadError::Corrupt(_))
    ));
    let docx = fixture("P01-gd-case.docx");
    assert!(matches!(
        read_xlsx(&docx, &spec, &limits),
        Err(ReadError::Corrupt(_))
    ));
    assert!(matches!(
        read_docx(b"", &spec, &limits),
        Err(ReadError::Corrupt(_))
    ));
    assert!(read_docx(b"PK\x03\x04garbage", &spec, &limits).is_err());
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn limits_are_enforced() {
    let spec = spec();
    let docx = fixture("P04-sc-case.docx");
    let tight = ReadLimits {
        cells: 5,
        ..ReadLimits::default()
    };
    assert!(matches!(
        read_docx(&docx, &spec, &tight),
        Err(ReadError::TooLarge(_))
    ));
    let shallow = ReadLimits {
        xml_depth: 4,
        ..ReadLimits::default()
    };
    let r = read_docx(&docx, &spec, &shallow);
    assert!(matches!(r, Err(ReadError::TooLarge(_))), "{r:?}");
    let small = ReadLimits {
        unpacked_bytes: 1000,
        ..ReadLimits::default()
    };
    assert!(matches!(
        read_docx(&docx, &spec, &small),
        Err(ReadError::TooLarge(_))
    ));
}

#[test]
fn damaged_samples_never_panic_or_hang() {
    let spec = spec();
    let limits = ReadLimits::default();
    let t = Instant::now();
    for (file, _) in samples() {
        let bytes = fixture(&file);
        let reader = if file.ends_with(".xlsx") {
            read_xlsx
        } else {
            read_docx
        };
        for k in 1..=10 {
            let cut = bytes.len() * k / 11;
            let _ = reader(&bytes[..cut], &spec, &limits);
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ bytes.len() as u64;
        for _ in 0..10 {
            let mut damaged = bytes.clone();
            for _ in 0..8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed % damaged.len() as u64) as usize;
                damaged[i] ^= (seed >> 32) as u8 | 1;
            }
            let _ = reader(&damaged, &spec, &limits);
        }
    }
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn not_a_form() {
    let spec = spec();
    // The summary sheet has no form labels; a docx made of its text alone is not a form.
    let f = form("P01-gd-case.docx", &spec);
    assert!(f.fields.contains_key("unit_opinion"));
    let empty = FormsSpec::default();
    let r = read_docx(&fixture("P01-gd-case.docx"), &empty, &ReadLimits::default());
    assert!(matches!(r, Ok(Document::NotAForm)), "{r:?}");
}

/// Builds a minimal .docx around a `w:body` content.
fn make_docx(body: &str) -> Vec<u8> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let ct = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"><w:body>{body}</w:body></w:document>"#
    );
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    zw.start_file("[Content_Types].xml", opts).expect("zip");
    zw.write_all(ct.as_bytes()).expect("zip");
    zw.start_file("word/document.xml", opts).expect("zip");
    zw.write_all(doc.as_bytes()).expect("zip");
    zw.finish().expect("zip").into_inner()
}

fn p(text: &str) -> String {
    format!("<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
}

fn tc(props: &str, content: &str) -> String {
    format!("<w:tc><w:tcPr>{props}</w:tcPr>{content}</w:tc>")
}

fn tr(cells: &[String]) -> String {
    format!("<w:tr>{}</w:tr>", cells.concat())
}

const SPAN2: &str = r#"<w:gridSpan w:val="2"/>"#;
const RESTART: &str = r#"<w:vMerge w:val="restart"/>"#;
const CONT: &str = "<w:vMerge/>";

#[test]
fn vertical_label_with_section_rows() {
    let spec = spec();
    let vertical = "<w:p><w:r><w:t>案</w:t><w:br/><w:t>例</w:t><w:br/><w:t>内</w:t><w:br/><w:t>容</w:t></w:r></w:p>";
    let body = format!(
        "<w:tbl>{}{}{}{}{}{}</w:tbl>",
        tr(&[tc("", &p("案 例 名 称")), tc(SPAN2, &p("测试案例"))]),
        tr(&[
            tc("", &p("负责人")),
            tc("", &p("张三")),
            tc("", &p("电话")),
            tc("", &p("13800000000"))
        ]),
        tr(&[
            tc("", &p("联系人")),
            tc("", &p("李四")),
            tc("", &p("电　话：")),
            tc("", &p("010-12345678"))
        ]),
        tr(&[
            tc(RESTART, vertical),
            tc("", &p("一、基本情况（500字以内）")),
            tc(SPAN2, &p("背景文字"))
        ]),
        tr(&[
            tc(CONT, "<w:p/>"),
            tc("", &p("主要做法")),
            tc(SPAN2, &p("做法文字"))
        ]),
        tr(&[
            tc(CONT, "<w:p/>"),
            tc("", &p("三、经验效果：")),
            tc(
                SPAN2,
                &format!("{}{}", p("（1000 字以内）。"), p("效果文字"))
            )
        ]),
    );
    let Ok(Document::Form(f)) = read_docx(&make_docx(&body), &spec, &ReadLimits::default()) else {
        panic!("not a form");
    };
    assert_eq!(Some(f.kind.key()), Some("case"));
    assert_eq!(f.fields["name"], "测试案例");
    assert_eq!(f.fields["leader_phone"], "13800000000");
    assert_eq!(f.fields["contact_phone"], "010-12345678");
    assert_eq!(f.fields["background"], "背景文字");
    assert_eq!(f.fields["practice"], "做法文字");
    assert_eq!(f.fields["results"], "效果文字");
}

#[test]
fn sections_in_one_cell_any_order() {
    let spec = spec();
    let content = [
        "主要围绕以下三方面内容：",
        "1.主要做法：（1500 字以内）。做法A",
        "（一）基本情况",
        "背景B",
        "三、经验效果",
        "效果C",
        "基本情况良好",
    ]
    .iter()
    .map(|s| p(s))
    .collect::<String>();
    let body = format!(
        "{}<w:tbl>{}{}</w:tbl>",
        p("典型工作案例申报表"),
        tr(&[tc("", &p("案例名称")), tc("", &p("X"))]),
        tr(&[tc("", &p("案例内容")), tc("", &content)]),
    );
    let Ok(Document::Form(f)) = read_docx(&make_docx(&body), &spec, &ReadLimits::default()) else {
        panic!("not a form");
    };
    assert_eq!(f.fields["practice"], "做法A");
    assert_eq!(f.fields["background"], "背景B");
    assert_eq!(f.fields["results"], "效果C\n基本情况良好");
}

#[test]
fn ticks_after_options_and_value_below_label() {
    let spec = spec();
    let sym = |c: &str| format!(r#"<w:r><w:sym w:font="Wingdings 2" w:char="{c}"/></w:r>"#);
    let t = |s: &str| format!("<w:r><w:t xml:space=\"preserve\">{s}</w:t></w:r>");
    let list = format!(
        "<w:p>{}{}</w:p><w:p>{}{}{}</w:p><w:p>{}{}</w:p>",
        t("教材(读本)"),
        sym("F0A3"),
        t("视频资源"),
        sym("F052"),
        t("，视频时长 ___30___ 分钟"),
        t("其他"),
        sym("F0A3"),
    );
    let body = format!(
        "{}<w:tbl>{}{}{}{}</w:tbl>",
        p("附件4"),
        tr(&[tc("", &p("课程名称：")), tc("", &p("课程X"))]),
        tr(&[tc("", &p("课程资源类型")), tc("", &list)]),
        tr(&[tc(SPAN2, &p("课程主要内容"))]),
        tr(&[tc(SPAN2, &p("内容文字"))]),
    );
    let Ok(Document::Form(f)) = read_docx(&make_docx(&body), &spec, &ReadLimits::default()) else {
        panic!("not a form");
    };
    assert_eq!(Some(f.kind.key()), Some("course"));
    let ticked: Vec<bool> = f.choices.iter().map(|c| c.ticked).collect();
    assert_eq!(ticked, [false, true, false]);
    assert_eq!(f.fields["video_minutes"], "30");
    assert_eq!(f.fields["summary"], "内容文字");
}

#[test]
fn a_table_without_form_labels_is_not_a_form() {
    let spec = spec();
    let body = format!(
        "{}<w:tbl>{}</w:tbl>",
        p("会议通知"),
        tr(&[tc("", &p("时间")), tc("", &p("上午"))])
    );
    let r = read_docx(&make_docx(&body), &spec, &ReadLimits::default());
    assert!(matches!(r, Ok(Document::NotAForm)), "{r:?}");
}

/// Word as offices use it: a content control still showing its placeholder is empty, deleted
/// text of tracked changes is not part of the form and inserted text is, a text box's VML
/// fallback does not count twice, and a field shows its result.
#[test]
fn placeholders_tracked_changes_text_boxes_and_fields() {
    let spec = spec();
    let placeholder = r#"<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent><w:p><w:r><w:t>单击此处输入文字。</w:t></w:r></w:p></w:sdtContent></w:sdt>"#;
    let typed = r#"<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>广东开放大学</w:t></w:r></w:p></w:sdtContent></w:sdt>"#;
    let tracked = r#"<w:p><w:del w:id="1" w:author="a"><w:r><w:delText>旧名称</w:delText></w:r></w:del><w:ins w:id="2" w:author="a"><w:r><w:t>新名称</w:t></w:r></w:ins><w:moveFrom w:id="3"><w:r><w:t>挪走的</w:t></w:r></w:moveFrom><w:moveTo w:id="4"><w:r><w:t>课程</w:t></w:r></w:moveTo></w:p>"#;
    let textbox = r#"<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>王国平</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>王国平</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"#;
    let field = r#"<w:p><w:fldSimple w:instr=" DOCPROPERTY Contact "><w:r><w:t>沈佳怡</w:t></w:r></w:fldSimple></w:p>"#;
    let complex = r#"<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> MERGEFIELD phone </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>13800138000</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#;
    let body = format!(
        "<w:tbl>{}{}{}{}{}{}</w:tbl>",
        tr(&[tc("", &p("课程名称")), tc("", tracked)]),
        tr(&[tc("", &p("申报单位")), tc("", typed)]),
        tr(&[tc("", &p("负责人")), tc("", textbox)]),
        tr(&[tc("", &p("联系电话")), tc("", complex)]),
        tr(&[tc("", &p("联系人")), tc("", field)]),
        tr(&[tc("", &p("核心成员")), tc("", placeholder)]),
    );
    let Ok(Document::Form(f)) = read_docx(&make_docx(&body), &spec, &ReadLimits::default()) else {
        panic!("a course form");
    };
    assert_eq!(f.fields["name"], "新名称课程");
    assert_eq!(f.fields["unit"], "广东开放大学");
    assert_eq!(f.fields["leader"], "王国平");
    assert_eq!(f.fields["leader_phone"], "13800138000");
    assert_eq!(f.fields["contact"], "沈佳怡");
    assert_eq!(f.fields["members"], "", "a placeholder is not content");
}

/// A package whose member names use backslashes (as some Windows zip tools write them) is
/// read like any other.
#[test]
fn backslash_member_names_are_read() {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let spec = spec();
    let ct = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    let body = format!(
        "<w:tbl>{}{}</w:tbl>",
        tr(&[tc("", &p("课程名称")), tc("", &p("智能手机入门"))]),
        tr(&[tc("", &p("申报单位")), tc("", &p("广东开放大学"))]),
    );
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    zw.start_file("[Content_Types].xml", opts).unwrap();
    zw.write_all(ct.as_bytes()).unwrap();
    zw.start_file("word\\document.xml", opts).unwrap();
    zw.write_all(doc.as_bytes()).unwrap();
    let bytes = zw.finish().unwrap().into_inner();
    let Ok(Document::Form(f)) = read_docx(&bytes, &spec, &ReadLimits::default()) else {
        panic!("a course form from a package with backslash names");
    };
    assert_eq!(f.fields["name"], "智能手机入门");
}
