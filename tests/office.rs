//! Forms and mail as Chinese offices make them, through `lndx ingest --json`: .doc and .xls
//! files that are HTML, MHTML, Word/Excel 2003 XML or RTF; WPS .wps/.et; Strict OOXML;
//! .7z and RAR4/RAR5 archives (also password-protected, truncated, a bomb, a bad name, too
//! many members); Outlook's winmail.dat; uuencoded files. The fixtures and how they were
//! made are in tests/fixtures/office/ (make.py).

mod util;

use std::time::{Duration, Instant};

use serde_json::Value;
use util::{fixture, soffice_present, Scratch};

const CASE: &str = "“银龄e路通”——广东开放大学社区智慧助老工作案例";
const COURSE: &str = "《老年人智能手机应用》读本";

/// Ingests messages of tests/fixtures/office/ in one scratch registry.
fn ingest(s: &Scratch, config: Option<&str>, names: &[&str]) -> Vec<Value> {
    let cfg = config.map(|c| s.config(c));
    let files: Vec<_> = names
        .iter()
        .map(|n| fixture(&format!("office/{n}")))
        .collect();
    s.ingest(cfg.as_deref(), &files)
}

/// The attachment named `name` (first match).
fn attachment<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["filename"] == name)
        .unwrap_or_else(|| panic!("no attachment {name} in {result:#}"))
}

fn codes(a: &Value) -> Vec<String> {
    a["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect()
}

/// A form read as `kind`, valid, with this entry name and no error.
fn assert_form(a: &Value, kind: &str, name: &str) {
    assert_eq!(a["role"], "form", "{a:#}");
    assert_eq!(a["kind"], kind, "{a:#}");
    assert!(codes(a).is_empty(), "{a:#}");
    assert_eq!(a["entry"]["name"], name, "{a:#}");
    assert_eq!(a["entry"]["status"], "valid", "{a:#}");
}

#[test]
fn doc_and_xls_that_are_not_word_97_or_biff_are_converted_and_read() {
    assert!(
        soffice_present(),
        "LibreOffice is needed (scripts/install-deps.sh)"
    );
    let s = Scratch::new("office-docs");
    let out = ingest(&s, None, &["documents.eml", "sheets.eml"]);
    let docs = &out[0];
    for (name, file_type) in [
        ("广东-案例-网页.doc", "html"),
        ("广东-案例-单个文件网页.doc", "mhtml"),
        ("广东-案例-Word2003.doc", "word2003xml"),
        ("广东-案例-RTF.doc", "rtf"),
        ("广东-案例.wps", "doc"),
    ] {
        let a = attachment(docs, name);
        assert_eq!(a["file_type"], file_type, "{name}");
        assert_form(a, "case", CASE);
        let fields = &a["entry"]["fields"];
        assert_eq!(fields["unit"], "广东开放大学", "{name}");
        assert_eq!(fields["leader_phone"], "020-83256712", "{name}");
    }
    assert_eq!(docs["province"], "GD");
    let sheets = &out[1];
    for (name, file_type) in [
        ("山东-课程-网页.xls", "html"),
        ("山东-课程-XML表格.xls", "excel2003xml"),
        ("山东-课程.et", "xls"),
    ] {
        let a = attachment(sheets, name);
        assert_eq!(a["file_type"], file_type, "{name}");
        assert_form(a, "course", COURSE);
        let fields = &a["entry"]["fields"];
        assert_eq!(fields["unit"], "山东老年大学", "{name}");
        assert_eq!(fields["shared"], "是", "{name}");
        assert_eq!(fields["resource_type"], "教材（读本）", "{name}");
    }
}

#[test]
fn without_a_converter_such_files_are_unsupported_never_unreadable() {
    let s = Scratch::new("office-noconv");
    let out = ingest(
        &s,
        Some("[converter]\nenabled = false\n"),
        &["documents.eml", "sheets.eml"],
    );
    let mut native = 0;
    for result in &out {
        for a in result["attachments"].as_array().unwrap() {
            // A BIFF workbook (the .et is Excel 97 inside) is read natively, converter or not.
            if a["file_type"] == "xls" && a["filename"].as_str().unwrap().ends_with(".et") {
                assert_form(a, "course", COURSE);
                native += 1;
                continue;
            }
            assert_eq!(codes(a), ["unsupported_format"], "{a:#}");
            assert_eq!(a["role"], "form", "{a:#}");
            assert_eq!(a["errors"][0]["value"], a["filename"], "{a:#}");
        }
    }
    assert_eq!(native, 1);
}

#[test]
fn strict_ooxml_reads_the_same_forms() {
    let s = Scratch::new("office-strict");
    let out = ingest(&s, None, &["strict.eml"]);
    let docx = attachment(&out[0], "广东-案例-Strict.docx");
    assert_eq!(docx["file_type"], "docx");
    assert_form(docx, "case", CASE);
    assert_eq!(docx["entry"]["fields"]["contact"], "黄晓敏");
    let xlsx = attachment(&out[0], "山东-课程-Strict.xlsx");
    assert_eq!(xlsx["file_type"], "xlsx");
    assert_form(xlsx, "course", COURSE);
    assert_eq!(xlsx["entry"]["fields"]["contact_phone"], "0531-86197326");
}

#[test]
fn seven_zip_and_rar_archives_are_unpacked_like_zips() {
    let s = Scratch::new("office-archives");
    let out = ingest(&s, None, &["archives.eml"]);
    let atts = out[0]["attachments"].as_array().unwrap();
    for archive in ["广东材料.7z", "广东材料-RAR4.rar", "广东材料-RAR5.rar"] {
        let a = attachment(&out[0], archive);
        assert_eq!(a["role"], "archive", "{a:#}");
        assert!(codes(a).is_empty(), "{a:#}");
        let members: Vec<&Value> = atts.iter().filter(|m| m["container"] == archive).collect();
        assert_eq!(members.len(), 2, "{archive}: {members:#?}");
        for m in members {
            // names in GBK (RAR4 without the Unicode flag) and UTF-8/UTF-16 alike
            let name = m["filename"].as_str().unwrap();
            if name == "广东-典型工作案例-银龄e路通.docx" {
                assert_eq!(m["role"], "form");
                assert_eq!(m["entry"]["name"], CASE);
            } else {
                assert_eq!(name, "山东-课程资源-老年人智能手机应用.xlsx");
                assert_eq!(m["entry"]["name"], COURSE);
            }
            assert!(codes(m).is_empty(), "{m:#}");
            let path = m["path_in_container"].as_str().unwrap();
            if archive.ends_with("RAR4.rar") {
                assert_eq!(path, name);
            } else {
                assert_eq!(path, format!("广东材料/{name}"));
            }
        }
    }
    assert_eq!(out[0]["errors"], serde_json::json!([]));
}

#[test]
fn hostile_archives_end_quickly_with_a_code() {
    let s = Scratch::new("office-hostile");
    let start = Instant::now();
    let out = ingest(&s, None, &["hostile.eml"]);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    let r = &out[0];
    let members = |archive: &str| -> Vec<&Value> {
        r["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["container"] == archive)
            .collect()
    };
    // Data encrypted, names readable: each member is named and answered as encrypted.
    for archive in ["加密.7z", "加密-RAR4.rar", "加密-RAR5.rar"] {
        assert!(codes(attachment(r, archive)).is_empty(), "{archive}");
        let m = members(archive);
        assert!(!m.is_empty(), "{archive}");
        for member in m {
            assert_eq!(codes(member), ["encrypted_document"], "{member:#}");
            let name = member["filename"].as_str().unwrap();
            assert!(
                name.starts_with("广东-典型工作案例") || name.starts_with("山东-课程资源"),
                "{name}"
            );
        }
    }
    // Names encrypted too: the archive itself.
    assert_eq!(
        codes(attachment(r, "加密文件名.7z")),
        ["encrypted_document"]
    );
    // Cut short: its headers (at the end of a 7z) are gone.
    let truncated = attachment(r, "不完整.7z");
    assert_eq!(codes(truncated), ["unsupported_format"]);
    assert_eq!(truncated["errors"][0]["value"], "不完整.7z");
    // 300 MiB of zeros in 46 KB: refused before unpacking, by the ratio limit.
    let bomb = attachment(r, "炸弹.7z");
    assert_eq!(codes(bomb), ["too_large"]);
    let inside = members("炸弹.7z");
    assert_eq!(inside.len(), 1);
    assert_eq!(codes(inside[0]), ["too_large"]);
    assert_eq!(inside[0]["errors"][0]["actual"], 300 * 1024 * 1024);
    // A name libarchive cannot convert: listed under a made-up name, and still read.
    let bad = members("坏文件名.7z");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["filename"], "member-1");
    assert_eq!(bad[0]["entry"]["name"], CASE);
    // 1,500 members: the first 1,000 are listed, the archive is too large.
    let many = attachment(r, "扫描件.rar");
    assert_eq!(codes(many), ["too_large"]);
    assert_eq!(many["errors"][0]["limit"], 1000);
    assert_eq!(members("扫描件.rar").len(), 1000);
}

#[test]
fn outlook_winmail_dat_carries_the_forms() {
    let s = Scratch::new("office-tnef");
    let out = ingest(&s, None, &["tnef.eml"]);
    let r = &out[0];
    let winmail = attachment(r, "winmail.dat");
    assert_eq!(winmail["file_type"], "tnef");
    assert_eq!(winmail["role"], "archive");
    assert!(codes(winmail).is_empty());
    let case = attachment(r, "广东-典型工作案例-银龄e路通.docx");
    assert_eq!(case["container"], "winmail.dat");
    assert_form(case, "case", CASE);
    let course = attachment(r, "山东-课程资源-老年人智能手机应用.xlsx");
    assert_form(course, "course", COURSE);
    assert_eq!(r["errors"], serde_json::json!([]));
    assert!(
        r["reply"]["subject"].as_str().unwrap().contains("已受理"),
        "{r:#}"
    );
}

#[test]
fn uuencoded_files_in_a_text_body_are_found() {
    let s = Scratch::new("office-uu");
    let out = ingest(&s, None, &["uuencode.eml"]);
    let r = &out[0];
    assert_eq!(r["attachments"].as_array().unwrap().len(), 1, "{r:#}");
    let a = attachment(r, "广东-典型工作案例-银龄e路通.docx");
    assert_eq!(a["file_type"], "docx");
    assert_form(a, "case", CASE);
    assert_eq!(r["errors"], serde_json::json!([]));
}

#[test]
fn converting_a_web_page_fetches_nothing_it_links_to() {
    use base64::Engine;
    use std::io::ErrorKind;
    use std::net::TcpListener;
    assert!(
        soffice_present(),
        "LibreOffice is needed (scripts/install-deps.sh)"
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // The Word web page of the fixtures, with a picture on this machine's listener.
    let mut page = std::fs::read(fixture("office/files/case-webpage.doc")).unwrap();
    let body = page.windows(5).position(|w| w == b"<body").unwrap();
    let at = body + page[body..].iter().position(|&b| b == b'>').unwrap() + 1;
    let img = format!("<p><img src=\"http://127.0.0.1:{port}/logo.png\" width=10 height=10></p>");
    page.splice(at..at, img.into_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&page);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let eml = format!(
        "From: zhangli@gd.test\r\nTo: lndx@ouchn.test\r\nSubject: web page\r\n\
         Date: Mon, 16 May 2022 11:00:00 +0800\r\nMessage-ID: <office-img@gd.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n\
         --b\r\nContent-Type: application/msword; name=\"case.doc\"\r\n\
         Content-Disposition: attachment; filename=\"case.doc\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        lines.join("\r\n")
    );
    let s = Scratch::new("office-img");
    let path = s.dir.join("img.eml");
    std::fs::write(&path, eml).unwrap();
    let out = s.ingest(None, &[path]);
    assert_form(attachment(&out[0], "case.doc"), "case", CASE);
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the converter connected to the linked address: {other:?}"),
    }
}

/// A message carrying `bytes` as one base64 attachment named `name`.
fn message_with(name: &str, bytes: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = format!(
        "From: a@gd.test\r\nTo: lndx@ouchn.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: application/octet-stream; name=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    for line in b64.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--b--\r\n");
    out
}

#[test]
fn damaged_archives_never_crash_the_readers() {
    use lndx::message::{parse, ParseOptions};
    // Truncations and byte changes of each archive kind read by libarchive or our TNEF
    // reader, deterministic (a fixed linear congruential sequence). A crash in the C
    // library would end this test process; a hang would exceed the time asserted.
    let start = Instant::now();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    // LNDX_MUTATIONS=N runs N changed copies of each archive (default 1000).
    let mutations: usize = std::env::var("LNDX_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut runs = 0;
    for name in [
        "forms.7z",
        "forms-rar4.rar",
        "forms-rar5.rar",
        "password-rar5.rar",
        "forms-header-password.7z",
        "winmail.dat",
    ] {
        let good = std::fs::read(fixture(&format!("office/files/{name}"))).unwrap();
        let opts = ParseOptions::default();
        for i in 1..=20 {
            let cut = &good[..good.len() * i / 21];
            parse(&message_with(name, cut), &opts);
            runs += 1;
        }
        for _ in 0..mutations {
            let mut bad = good.clone();
            for _ in 0..1 + next() % 4 {
                let at = next() % bad.len();
                bad[at] = (next() % 256) as u8;
            }
            let inbound = parse(&message_with(name, &bad), &opts);
            assert!(!inbound.files.is_empty());
            runs += 1;
        }
    }
    assert_eq!(runs, 6 * (20 + mutations));
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "{:?}",
        start.elapsed()
    );
}
