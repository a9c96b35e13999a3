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

// ---------- the warm converter (one long-running LibreOffice per converter worker) ----------

/// The text of a .docx: every `<w:t>` run's text in order, paragraphs on lines of their own.
fn docx_text(docx: &[u8]) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a .docx");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("word/document.xml")
        .read_to_string(&mut xml)
        .unwrap();
    let mut text = String::new();
    let mut rest = xml.as_str();
    while let Some(i) = rest.find('<') {
        let tag_end = rest[i..].find('>').map(|j| i + j + 1).unwrap_or(rest.len());
        let tag = &rest[i..tag_end];
        if tag == "</w:p>" {
            text.push('\n');
        }
        rest = &rest[tag_end..];
        if tag.starts_with("<w:t>") || tag.starts_with("<w:t ") {
            let end = rest.find("</w:t>").unwrap_or(rest.len());
            text.push_str(&rest[..end]);
            rest = &rest[end..];
        }
    }
    text
}

/// The LibreOffice converter on PATH, with a timeout for each conversion.
fn converter(timeout: Duration) -> lndx::convert::Converter {
    assert!(
        soffice_present(),
        "LibreOffice is needed (scripts/install-deps.sh)"
    );
    lndx::convert::Converter::find(None, timeout).expect("soffice on PATH")
}

/// A warm LibreOffice, started; python3-uno must be installed (scripts/install-deps.sh).
fn warm(c: &lndx::convert::Converter) -> lndx::convert::Warm {
    let mut w = c
        .warm()
        .expect("python3-uno is needed for the warm converter (scripts/install-deps.sh)");
    w.start_now();
    assert!(w.group().is_some(), "the warm LibreOffice did not start");
    w
}

/// The process id of `soffice.bin` in process group `group`.
fn soffice_bin(group: u32) -> u32 {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once(" (").map(|(_, c)| c).unwrap_or("");
        // After "comm) ": state, ppid, pgrp.
        let pgrp = rest.split(' ').nth(2).and_then(|g| g.parse::<u32>().ok());
        if comm == "soffice.bin" && pgrp == Some(group) {
            return pid;
        }
    }
    panic!("no soffice.bin in process group {group}");
}

/// Whether a process runs (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

const WORD_97: &str = "files/P10-sh-case-doc.doc";

#[test]
fn a_warm_conversion_reads_like_a_cold_one_and_stays_warm() {
    let c = converter(Duration::from_secs(120));
    let doc = std::fs::read(fixture(WORD_97)).unwrap();
    let cold = docx_text(&c.convert(&doc, "doc", "docx").expect("cold conversion"));
    let mut w = warm(&c);
    let group = w.group();
    for round in 0..3 {
        let out = w
            .convert(&doc, "doc", None, "docx", Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("warm conversion {round}: {e}"));
        let text = docx_text(&out);
        assert!(text.contains("上海"), "{text}");
        assert_eq!(
            text, cold,
            "warm conversion {round} differs from the cold one"
        );
    }
    assert_eq!(
        (w.starts(), w.group()),
        (1, group),
        "one LibreOffice for every file"
    );
    // A workbook goes the same way (Calc in the same LibreOffice).
    let xls = std::fs::read(fixture("office/files/course-html.xls")).unwrap();
    let out = w
        .convert(
            &xls,
            "html",
            Some("HTML (StarCalc)"),
            "xlsx",
            Duration::from_secs(120),
        )
        .expect("warm workbook conversion");
    assert!(out.starts_with(b"PK"), "an .xlsx");
    assert_eq!(w.starts(), 1);
}

#[test]
fn a_warm_libreoffice_killed_mid_conversion_is_started_again() {
    let c = converter(Duration::from_secs(120));
    let doc = std::fs::read(fixture(WORD_97)).unwrap();
    let mut w = warm(&c);
    let group = w.group().unwrap();
    let bin = soffice_bin(group);
    // Stopped, LibreOffice cannot finish the conversion it is given; it is killed while
    // the conversion waits for it.
    signal(bin, "-STOP");
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        signal(bin, "-KILL");
    });
    let r = w.convert(&doc, "doc", None, "docx", Duration::from_secs(120));
    killer.join().unwrap();
    // Killed before the bridge handed it the file (its liveness call hung), the file went
    // to a new LibreOffice; killed after, the conversion failed (a converter worker then
    // converts it cold). Never a wrong text.
    if let Ok(out) = &r {
        assert!(docx_text(out).contains("上海"));
    }
    assert!(!alive(bin));
    assert_eq!(w.starts(), 2, "started again once");
    let out = w
        .convert(&doc, "doc", None, "docx", Duration::from_secs(120))
        .expect("the next conversion, after a restart");
    assert!(docx_text(&out).contains("上海"));
    assert_eq!(w.starts(), 2, "no further start");
    assert_ne!(w.group(), Some(group));
    // Killed between files: the next file starts it again rather than failing.
    signal(soffice_bin(w.group().unwrap()), "-KILL");
    let out = w
        .convert(&doc, "doc", None, "docx", Duration::from_secs(120))
        .expect("a conversion after LibreOffice died between files");
    assert!(docx_text(&out).contains("上海"));
    assert_eq!(w.starts(), 3);
}

#[test]
fn a_hung_warm_libreoffice_times_out_is_killed_and_started_again() {
    let c = converter(Duration::from_secs(120));
    let doc = std::fs::read(fixture(WORD_97)).unwrap();
    let mut w = warm(&c);
    let group = w.group().unwrap();
    let bin = soffice_bin(group);
    signal(bin, "-STOP");
    let e = w
        .convert(&doc, "doc", None, "docx", Duration::from_secs(3))
        .expect_err("a hung LibreOffice converts nothing");
    assert!(matches!(e, lndx::convert::ConvertError::Timeout(_)), "{e}");
    // The whole group was killed (SIGKILL ends a stopped process too) and reaped.
    assert!(!alive(bin), "the hung soffice.bin {bin} still runs");
    assert!(!alive(group), "the launcher {group} still runs");
    let out = w
        .convert(&doc, "doc", None, "docx", Duration::from_secs(120))
        .expect("the next conversion, after a restart");
    assert!(docx_text(&out).contains("上海"));
    assert_eq!(w.starts(), 2);
}

/// The profile of the warm LibreOffice (from its command line) blocks linked resources
/// like the cold converter's; web pages, which LibreOffice 7.4 crashes on when loaded over
/// UNO, are converted cold beside it (fetching nothing) and leave it running.
#[test]
fn a_warm_libreoffice_blocks_linked_resources_and_web_pages_convert_cold() {
    use std::io::ErrorKind;
    use std::net::TcpListener;
    let c = converter(Duration::from_secs(120));
    let mut w = warm(&c);
    let group = w.group().unwrap();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", soffice_bin(group))).unwrap();
    let profile = String::from_utf8_lossy(&cmdline)
        .split('\0')
        .find_map(|a| {
            a.strip_prefix("-env:UserInstallation=file://")
                .map(String::from)
        })
        .expect("a profile of its own");
    let xcu = std::fs::read_to_string(
        std::path::Path::new(&profile).join("user/registrymodifications.xcu"),
    )
    .unwrap();
    assert!(
        xcu.contains(
            "<prop oor:name=\"BlockUntrustedRefererLinks\" oor:op=\"fuse\"><value>true</value>"
        ),
        "{xcu}"
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut page = std::fs::read(fixture("office/files/case-webpage.doc")).unwrap();
    let body = page.windows(5).position(|w| w == b"<body").unwrap();
    let at = body + page[body..].iter().position(|&b| b == b'>').unwrap() + 1;
    let img = format!("<p><img src=\"http://127.0.0.1:{port}/logo.png\" width=10 height=10></p>");
    page.splice(at..at, img.into_bytes());
    assert!(!lndx::convert::Warm::takes(
        "html",
        Some("HTML (StarWriter)")
    ));
    let conversion = lndx::convert::Conversion {
        bytes: page.clone(),
        input_ext: "html",
        import_filter: Some("HTML (StarWriter)"),
        target: "docx",
    };
    c.prepare_with(&conversion, Some(&mut w));
    let out = c
        .convert_with(&page, "html", Some("HTML (StarWriter)"), "docx")
        .expect("the web page converted");
    assert!(docx_text(&out).contains("广东开放大学"));
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("a converter connected to the linked address: {other:?}"),
    }
    assert_eq!(
        (w.starts(), w.group()),
        (1, Some(group)),
        "still the first LibreOffice"
    );
}

/// Per-file time of a Word 97 .doc conversion, cold (a LibreOffice start per file) and
/// warm (the worker's running LibreOffice), each the mean of 10 after one warm-up. Run
/// with `cargo test --test office warm_and_cold_conversion_time -- --ignored --nocapture`;
/// the figures are in docs/decisions.md.
#[test]
#[ignore]
fn warm_and_cold_conversion_time() {
    let c = converter(Duration::from_secs(120));
    let doc = std::fs::read(fixture(WORD_97)).unwrap();
    let n = 10;
    c.convert(&doc, "doc", "docx").unwrap();
    let t = Instant::now();
    for _ in 0..n {
        c.convert(&doc, "doc", "docx").unwrap();
    }
    let cold = t.elapsed().as_secs_f64() / n as f64;
    let t = Instant::now();
    let mut w = warm(&c);
    let start = t.elapsed().as_secs_f64();
    w.convert(&doc, "doc", None, "docx", Duration::from_secs(120))
        .unwrap();
    let t = Instant::now();
    for _ in 0..n {
        w.convert(&doc, "doc", None, "docx", Duration::from_secs(120))
            .unwrap();
    }
    let warm = t.elapsed().as_secs_f64() / n as f64;
    println!(
        "Word 97 .doc ({} bytes) to .docx: cold {:.0} ms per file, warm {:.0} ms per file \
         (the warm LibreOffice started in {:.0} ms, once per worker)",
        doc.len(),
        cold * 1000.0,
        warm * 1000.0,
        start * 1000.0
    );
}
