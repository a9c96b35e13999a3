//! Tests of the `message` stage: the sample corpus (tests/fixtures/eml with its manifest),
//! file-name decoding edge cases, zip limits and hostile input.

mod util;

use std::io::{Cursor, Write};
use std::path::PathBuf;

use lndx::message::{
    parse, sniff::sniff, FileProblem, FileType, Inbound, Limits, ParseOptions, Skip,
};

fn fixtures() -> PathBuf {
    util::fixture("eml")
}

fn opts() -> ParseOptions {
    ParseOptions {
        own_addresses: vec!["lndx@ouchn.test".into()],
        loop_header: "X-Lndx-Loop".into(),
        limits: Limits::default(),
    }
}

fn load(name: &str) -> Inbound {
    let raw = std::fs::read(fixtures().join(name)).expect("fixture");
    parse(&raw, &opts())
}

fn manifest() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest json")
}

fn names(inb: &Inbound) -> Vec<(String, Option<String>, Option<String>)> {
    inb.files
        .iter()
        .map(|f| {
            (
                f.filename.clone(),
                f.container.clone(),
                f.path_in_container.clone(),
            )
        })
        .collect()
}

#[test]
fn corpus_matches_manifest() {
    let mut failures = Vec::new();
    for case in manifest() {
        let file = case["file"].as_str().unwrap().to_string();
        let expect = &case["expect"];
        let inb = load(&file);
        assert!(!inb.unparseable, "{file}: unparseable");
        let skip = inb.skip.map(|s| s.key().to_string());
        let want_skip = expect["skipped"].as_str().map(str::to_string);
        if skip != want_skip {
            failures.push(format!("{file}: skip {skip:?} != {want_skip:?}"));
        }
        let got = names(&inb);
        // Expected attachments appear in this order (as a subsequence of the files found).
        let mut at = 0;
        for a in expect["attachments"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let want = (
                a["filename"].as_str().unwrap().to_string(),
                a["container"].as_str().map(str::to_string),
                a["path_in_container"].as_str().map(str::to_string),
            );
            match got[at..].iter().position(|g| *g == want) {
                Some(p) => at += p + 1,
                None => failures.push(format!("{file}: missing {want:?} in {got:?}")),
            }
        }
        // every listed file of a non-skipped message is expected (no stray bodies)
        if want_skip.is_none() {
            let n = expect["attachments"]
                .as_array()
                .map(|a| a.len())
                .unwrap_or(0);
            if got.len() != n {
                failures.push(format!(
                    "{file}: {} files, expected {n}: {got:?}",
                    got.len()
                ));
            }
        }
        assert!(
            inb.message_id
                .as_deref()
                .is_some_and(|m| m.starts_with('<') && m.ends_with('>')),
            "{file}"
        );
        assert!(inb.from.is_some(), "{file}: from");
        assert!(inb.received.is_some(), "{file}: received");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn zip_with_gbk_names() {
    let inb = load("P07-fj-zip-gbk.eml");
    let archive = &inb.files[0];
    assert_eq!(archive.filename, "福建省智慧助老第三批推荐材料.zip");
    assert_eq!(archive.file_type, FileType::Zip);
    assert_eq!(archive.problem, None);
    let members: Vec<_> = inb.files[1..].iter().collect();
    assert_eq!(members.len(), 3);
    for m in &members {
        assert_eq!(
            m.container.as_deref(),
            Some("福建省智慧助老第三批推荐材料.zip")
        );
        assert_eq!(m.file_type, FileType::Docx, "{}", m.filename);
        assert!(m
            .path_in_container
            .as_deref()
            .unwrap()
            .starts_with("福建省第三批推荐材料/"));
        assert!(!m.bytes.is_empty());
    }
    assert_eq!(
        members[1].path_in_container.as_deref(),
        Some("福建省第三批推荐材料/教育培训项目/附件3：教育培训项目申报表（泉州市老年大学）.docx")
    );
}

#[test]
fn file_types_of_mixed_formats() {
    let inb = load("P10-sh-mixed-formats.eml");
    let types: Vec<FileType> = inb.files.iter().map(|f| f.file_type).collect();
    assert_eq!(
        types,
        vec![
            FileType::Doc,
            FileType::Docx,
            FileType::Docx,
            FileType::Docm,
            FileType::Rar
        ]
    );
    let p01 = load("P01-gd-valid-case-with-scan.eml");
    assert_eq!(p01.files[1].file_type, FileType::Pdf);
    let p03 = load("P03-sd-summary-mismatch.eml");
    assert_eq!(p03.files[0].file_type, FileType::Xlsx);
}

#[test]
fn big_attachment_link_and_bodies() {
    let p11 = load("P11-ah-large-attachment-link.eml");
    assert!(p11.big_attachment_link);
    assert!(p11.files.is_empty());
    let p12 = load("P12-tj-no-attachment.eml");
    assert!(!p12.big_attachment_link);
    assert!(p12.files.is_empty());
    assert!(
        p12.body_text.contains("附件为我市第三批推荐材料"),
        "{}",
        p12.body_text
    );
}

#[test]
fn headers_of_samples() {
    let p09a = load("P09a-xj-project-invalid.eml");
    assert_eq!(
        p09a.received.unwrap().to_rfc3339(),
        "2021-10-22T12:40:18+08:00"
    );
    assert_eq!(p09a.date.unwrap().to_rfc3339(), "2021-10-22T12:40:12+08:00");
    assert_eq!(
        p09a.message_id.as_deref(),
        Some("<20211022044012.GA2207@xj.test>")
    );
    assert_eq!(p09a.from.as_ref().unwrap().address, "mali@xj.test");
    assert!(!p09a.subject.contains('\u{FFFD}'));
    assert!(p09a.subject.starts_with("新疆"), "{}", p09a.subject);

    let p12 = load("P12-tj-no-attachment.eml");
    assert_eq!(
        p12.received.unwrap().to_rfc3339(),
        "2022-07-05T08:56:30+08:00"
    );
    let p17 = load("P17-ln-forwarded.eml");
    assert_eq!(
        p17.received.unwrap().to_rfc3339(),
        "2021-10-28T09:44:20+08:00"
    );
    let p13 = load("P13-gd-out-of-office.eml");
    assert_eq!(p13.skip, Some(Skip::AutoReply));
    assert!(p13.in_reply_to.is_some());
    let p14 = load("P14-sc-bounce.eml");
    assert_eq!(p14.skip, Some(Skip::Bounce));
}

// ---- skip rules -------------------------------------------------------------------------

fn simple(headers: &str) -> Inbound {
    let raw = format!("{headers}Subject: x\r\nContent-Type: text/plain\r\n\r\nhello\r\n");
    parse(raw.as_bytes(), &opts())
}

/// Every kind of mail lndx sends carries the automatic headers, so that it comes back to
/// the mailbox (a forward, a catch-all, a staff copy) as our own mail, never answered,
/// even from an address intake does not know as its own.
#[test]
fn our_own_mail_is_known_as_ours_when_it_comes_back() {
    use lndx::mail::{automatic_headers, encode, Automatic, Outgoing};
    for why in [Automatic::Replied, Automatic::Generated] {
        let out = Outgoing {
            from: "other-robot@ouchn.test".into(),
            to: vec!["gd@gd.test".into()],
            subject: "回执".into(),
            text: "已收到".into(),
            html: "<p>已收到</p>".into(),
            message_id: "<x@ouchn.test>".into(),
            headers: automatic_headers(why, "X-Lndx-Loop", "other-robot@ouchn.test"),
            ..Outgoing::default()
        };
        let raw = encode(&out).unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("X-Auto-Response-Suppress: All"), "{text}");
        assert_eq!(parse(&raw, &opts()).skip, Some(Skip::OwnMail), "{why:?}");
        let no_loop = ParseOptions {
            loop_header: String::new(),
            ..opts()
        };
        assert_eq!(
            parse(&raw, &no_loop).skip,
            Some(Skip::AutoReply),
            "{why:?}: an autoresponder's rules hold even without our loop header"
        );
    }
}

#[test]
fn skip_rules_in_order() {
    assert_eq!(
        simple("From: LNDX@ouchn.test\r\n").skip,
        Some(Skip::OwnMail)
    );
    assert_eq!(
        simple("From: a@b.test\r\nX-Lndx-Loop: 1\r\n").skip,
        Some(Skip::OwnMail)
    );
    assert_eq!(
        simple("From: postmaster@b.test\r\nAuto-Submitted: auto-replied\r\n").skip,
        Some(Skip::Bounce)
    );
    assert_eq!(
        simple("Return-Path: <>\r\nFrom: a@b.test\r\n").skip,
        Some(Skip::Bounce)
    );
    assert_eq!(
        simple("From: a@b.test\r\nList-Id: <x.b.test>\r\n").skip,
        Some(Skip::List)
    );
    assert_eq!(
        simple("From: a@b.test\r\nPrecedence: bulk\r\n").skip,
        Some(Skip::List)
    );
    assert_eq!(
        simple("From: a@b.test\r\nAuto-Submitted: no\r\n").skip,
        None
    );
    assert_eq!(
        simple("From: a@b.test\r\nAuto-Submitted: auto-generated\r\n").skip,
        Some(Skip::AutoReply)
    );
    assert_eq!(
        simple("From: a@b.test\r\nX-Autoreply: yes\r\n").skip,
        Some(Skip::AutoReply)
    );
    assert_eq!(
        simple("From: a@b.test\r\nPrecedence: auto_reply\r\n").skip,
        Some(Skip::AutoReply)
    );
    assert_eq!(simple("From: a@b.test\r\n").skip, None);
}

#[test]
fn top_most_authentication_results_and_received() {
    let inb = simple(
        "Received: from a by b; Mon, 1 Nov 2021 09:00:00 +0800 (CST)\r\n\
Received: from c by a; Mon, 1 Nov 2021 08:59:00 +0800\r\n\
Authentication-Results: mx.ouchn.test;\r\n\tspf=pass smtp.mailfrom=b.test\r\n\
Authentication-Results: other.test; spf=fail\r\nFrom: a@b.test\r\nMessage-ID: <x@y>\r\n",
    );
    assert_eq!(
        inb.authentication_results.as_deref(),
        Some("mx.ouchn.test; spf=pass smtp.mailfrom=b.test")
    );
    assert_eq!(
        inb.received.unwrap().to_rfc3339(),
        "2021-11-01T09:00:00+08:00"
    );
    assert_eq!(inb.message_id.as_deref(), Some("<x@y>"));
    assert_eq!(inb.date, None);
}

// ---- names --------------------------------------------------------------------------------

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(s).0.into_owned()
}

fn pct(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn with_attachment(part_headers: &[u8]) -> Vec<u8> {
    let mut raw = b"From: a@b.test\r\nSubject: t\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nbody\r\n--XX\r\n"
        .to_vec();
    raw.extend_from_slice(part_headers);
    raw.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n");
    raw
}

#[test]
fn rfc2231_continuation_split_inside_a_gbk_character() {
    let name = "新疆维吾尔自治区-培训项目-数字助老巡回培训.docx";
    let bytes = gbk(name);
    // split in the middle of a two-byte character
    let cut = bytes.iter().position(|&b| b >= 0x80).unwrap() + 5;
    let header = format!(
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n\tfilename*0*=gb2312''{};\r\n\tfilename*1*={}\r\n",
        pct(&bytes[..cut]),
        pct(&bytes[cut..])
    );
    let inb = parse(&with_attachment(header.as_bytes()), &opts());
    assert_eq!(inb.files.len(), 1);
    assert_eq!(inb.files[0].filename, name);
    assert_eq!(inb.files[0].file_type, FileType::Pdf);
}

#[test]
fn rfc2047_in_quoted_name_and_split_words() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let name = "四川-典型工作案例.docx";
    let bytes = gbk(name);
    // two encoded words, split inside a character, folded
    let header = format!(
        "Content-Type: application/octet-stream;\r\n name=\"=?GBK?B?{}?=\r\n =?GBK?B?{}?=\"\r\nContent-Disposition: attachment\r\n",
        b64(&bytes[..3]),
        b64(&bytes[3..])
    );
    let inb = parse(&with_attachment(header.as_bytes()), &opts());
    assert_eq!(inb.files[0].filename, name);

    // subject split inside a character
    let subj = gbk("四川省第二批推荐材料");
    let raw = format!(
        "From: a@b.test\r\nSubject: =?gb2312?B?{}?=\r\n =?gb2312?B?{}?=\r\n\r\nx\r\n",
        b64(&subj[..5]),
        b64(&subj[5..])
    );
    assert_eq!(
        parse(raw.as_bytes(), &opts()).subject,
        "四川省第二批推荐材料"
    );
}

#[test]
fn raw_8bit_names_and_subject() {
    let name = "广东-案例申报表盖章扫描件.pdf";
    let mut header = b"Content-Type: application/pdf; name=\"".to_vec();
    header.extend(gbk(name));
    header.extend_from_slice(b"\"\r\nContent-Disposition: attachment; filename=\"");
    header.extend(gbk(name));
    header.extend_from_slice(b"\"\r\n");
    let inb = parse(&with_attachment(&header), &opts());
    assert_eq!(inb.files[0].filename, name);

    let mut utf8 = b"Content-Disposition: attachment; filename=\"".to_vec();
    utf8.extend_from_slice("北京-培训项目.pdf".as_bytes());
    utf8.extend_from_slice(b"\"\r\n");
    assert_eq!(
        parse(&with_attachment(&utf8), &opts()).files[0].filename,
        "北京-培训项目.pdf"
    );

    let mut raw = b"From: a@b.test\r\nSubject: ".to_vec();
    raw.extend(gbk("广东省推荐材料"));
    raw.extend_from_slice(b"\r\n\r\nx\r\n");
    assert_eq!(parse(&raw, &opts()).subject, "广东省推荐材料");
}

#[test]
fn directory_parts_and_control_chars_are_stripped() {
    let header = b"Content-Disposition: attachment; filename=\"..\\\\..\\\\evil\\x01.pdf\"\r\n";
    let header = String::from_utf8_lossy(header).replace("\\x01", "\u{1}");
    let inb = parse(&with_attachment(header.as_bytes()), &opts());
    assert_eq!(inb.files[0].filename, "evil.pdf");
}

// ---- zips -----------------------------------------------------------------------------------

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, data) in entries {
        w.start_file(*name, o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn mail_with_zip(zip: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(zip);
    let mut raw = b"From: a@b.test\r\nSubject: z\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n\
Content-Type: application/zip; name=\"a.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    for chunk in b64.as_bytes().chunks(76) {
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"--XX--\r\n");
    raw
}

#[test]
fn zip_bomb_is_too_large_without_unpacking_it() {
    // 300 MB of zeros, written in chunks
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    w.start_file("zeros.bin", o).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..300 {
        w.write_all(&chunk).unwrap();
    }
    w.start_file("ok.txt", o).unwrap();
    w.write_all(b"fine").unwrap();
    let zip = w.finish().unwrap().into_inner();
    assert!(zip.len() < 2_000_000);
    let inb = parse(&mail_with_zip(&zip), &opts());
    assert_eq!(inb.files.len(), 3, "{:?}", names(&inb));
    assert_eq!(inb.files[0].problem, None);
    match &inb.files[1].problem {
        Some(FileProblem::TooLarge { what, actual, .. }) => {
            assert_eq!(what, "zip compression ratio");
            assert!(actual.is_some_and(|a| a >= 300 << 20), "{actual:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(inb.files[1].bytes.is_empty());
    assert_eq!(inb.files[2].bytes, b"fine");
}

#[test]
fn zip_with_too_many_members() {
    let data: Vec<(String, Vec<u8>)> = (0..1001)
        .map(|i| (format!("f{i}.txt"), vec![b'x']))
        .collect();
    let entries: Vec<(&str, &[u8])> = data
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let inb = parse(&mail_with_zip(&zip_of(&entries)), &opts());
    assert!(matches!(
        inb.files[0].problem,
        Some(FileProblem::TooLarge {
            limit: 1000,
            actual: Some(1001),
            ..
        })
    ));
    assert!(inb.files.len() <= 1001);
}

#[test]
fn nested_zips_stop_at_the_limit() {
    let z4 = zip_of(&[("deep.txt", b"4")]);
    let z3 = zip_of(&[("z4.zip", &z4)]);
    let z2 = zip_of(&[("z3.zip", &z3)]);
    let z1 = zip_of(&[("z2.zip", &z2)]);
    let inb = parse(&mail_with_zip(&z1), &opts());
    let got: Vec<_> = inb
        .files
        .iter()
        .map(|f| {
            (
                f.filename.as_str(),
                f.container.as_deref(),
                f.problem.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("a.zip", None, None),
            ("z2.zip", Some("a.zip"), None),
            ("z3.zip", Some("z2.zip"), None),
            ("z4.zip", Some("z3.zip"), Some(FileProblem::TooDeep)),
        ]
    );
}

#[test]
fn corrupt_zip_and_gbk_member_names() {
    let inb = parse(
        &mail_with_zip(b"PK\x03\x04garbage that is not a zip"),
        &opts(),
    );
    assert!(matches!(
        inb.files[0].problem,
        Some(FileProblem::Corrupt(_))
    ));

    // a member name in raw GBK (no UTF-8 flag), as Chinese Windows tools write them
    let name = gbk("材料/申请表.docx");
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "placeholder_name_xx.docx",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(b"data").unwrap();
    let mut zip = w.finish().unwrap().into_inner();
    // patch the name bytes in place (same length) in both headers
    let placeholder = b"placeholder_name_xx.docx";
    let mut patched = name.clone();
    patched.resize(placeholder.len(), b'_');
    let mut i = 0;
    while i + placeholder.len() <= zip.len() {
        if &zip[i..i + placeholder.len()] == placeholder {
            zip[i..i + placeholder.len()].copy_from_slice(&patched);
        }
        i += 1;
    }
    let inb = parse(&mail_with_zip(&zip), &opts());
    let member = &inb.files[1];
    assert!(
        member.filename.starts_with("申请表.docx"),
        "{}",
        member.filename
    );
    assert!(member
        .path_in_container
        .as_deref()
        .unwrap()
        .starts_with("材料/申请表"));
}

// ---- hostile input ----------------------------------------------------------------------------

#[test]
fn truncated_garbage_empty_and_many_headers() {
    let raw = std::fs::read(fixtures().join("P07-fj-zip-gbk.eml")).unwrap();
    for cut in [10, 500, 3000, raw.len() / 2, raw.len() - 7] {
        let _ = parse(&raw[..cut], &opts());
    }
    let half = parse(&raw[..raw.len() / 2], &opts());
    assert!(half
        .files
        .iter()
        .all(|f| f.problem.is_some() || !f.bytes.is_empty()));

    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for len in [1usize, 7, 100, 4096, 100_000] {
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = parse(&garbage, &opts());
        let _ = sniff(&garbage, "x.docx");
    }

    let empty = parse(b"", &opts());
    assert!(empty.unparseable);
    assert!(empty.files.is_empty());

    let mut many = String::new();
    for i in 0..10_000 {
        many.push_str(&format!("X-Header-{i}: value {i}\r\n"));
    }
    many.push_str("From: a@b.test\r\nSubject: many\r\n\r\nbody\r\n");
    let inb = parse(many.as_bytes(), &opts());
    assert_eq!(inb.subject, "many");
}

#[test]
fn sniff_magic_bytes() {
    assert_eq!(sniff(b"%PDF-1.4", ""), FileType::Pdf);
    assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0], ""), FileType::Jpeg);
    assert_eq!(sniff(b"\x89PNG\r\n", ""), FileType::Png);
    assert_eq!(sniff(b"GIF89a", ""), FileType::Gif);
    assert_eq!(sniff(b"\0\0\0\x18ftypmp42", ""), FileType::Mp4);
    assert_eq!(sniff(b"Rar!\x1a\x07", ""), FileType::Rar);
    assert_eq!(sniff(b"7z\xBC\xAF\x27\x1C", ""), FileType::SevenZ);
    assert_eq!(
        sniff(b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", ""),
        FileType::Zip
    );
    assert_eq!(sniff(b"PK\x03\x04broken", "a.docx"), FileType::Docx);
    assert_eq!(sniff(b"PK\x03\x04broken", "a.zip"), FileType::Zip);
    assert_eq!(
        sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], ""),
        FileType::Ole2
    );
    assert_eq!(sniff(b"", ""), FileType::Unknown);
    let docx = zip_of(&[(
        "[Content_Types].xml",
        b"<Override ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>",
    )]);
    assert_eq!(sniff(&docx, "x.zip"), FileType::Xlsx);
}

const OLE2_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const NO_STREAM: u32 = 0xFFFF_FFFF;
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const FREE_SECTOR: u32 = 0xFFFF_FFFF;
const FAT_SECTOR: u32 = 0xFFFF_FFFD;

fn put32(f: &mut [u8], at: usize, v: u32) {
    f[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// One directory entry: name, object type (1 storage, 2 stream, 5 root), left and right
/// sibling, child.
type DirEntry<'a> = (&'a str, u8, u32, u32, u32);

/// An OLE2 compound file header for sectors of `1 << shift` bytes (9: version 3, 12:
/// version 4) with the DIFAT in the header listing `fat` and the directory starting at `dir`.
fn ole2_header(shift: u16, fat: &[u32], dir: u32) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..8].copy_from_slice(&OLE2_MAGIC);
    h[0x18..0x1A].copy_from_slice(&0x3Eu16.to_le_bytes());
    let version: u16 = if shift == 12 { 4 } else { 3 };
    h[0x1A..0x1C].copy_from_slice(&version.to_le_bytes());
    h[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes());
    h[0x1E..0x20].copy_from_slice(&shift.to_le_bytes());
    h[0x20..0x22].copy_from_slice(&6u16.to_le_bytes());
    put32(&mut h, 0x2C, fat.len() as u32);
    put32(&mut h, 0x30, dir);
    put32(&mut h, 0x38, 4096);
    put32(&mut h, 0x3C, END_OF_CHAIN); // no MiniFAT
    put32(&mut h, 0x44, END_OF_CHAIN); // no DIFAT sectors
    for i in 0..109 {
        put32(
            &mut h,
            0x4C + i * 4,
            fat.get(i).copied().unwrap_or(FREE_SECTOR),
        );
    }
    h
}

/// A well-formed compound file: the FAT in the first sectors, then the directory
/// `entries`; no stream data. `shift` as in [`ole2_header`].
fn ole2_file(shift: u16, entries: &[DirEntry]) -> Vec<u8> {
    let sector = 1usize << shift;
    let per_fat = sector / 4;
    let dir_sectors = entries.len().div_ceil(sector / 128);
    let fat_sectors = (dir_sectors + dir_sectors / per_fat + 1).div_ceil(per_fat);
    assert!(fat_sectors <= 109, "the header's DIFAT is enough");
    let total = fat_sectors + dir_sectors;
    let fat_ids: Vec<u32> = (0..fat_sectors as u32).collect();
    let mut f = ole2_header(shift, &fat_ids, fat_sectors as u32);
    f.resize(sector * (1 + total), 0);
    // the FAT: its own sectors, then the directory chain
    for i in 0..fat_sectors * per_fat {
        let v = match i {
            i if i < fat_sectors => FAT_SECTOR,
            i if i + 1 == total => END_OF_CHAIN,
            i if i < total => i as u32 + 1,
            _ => FREE_SECTOR,
        };
        put32(&mut f, sector + i * 4, v);
    }
    let dir = sector * (1 + fat_sectors);
    for (i, (name, kind, left, right, child)) in entries.iter().enumerate() {
        let at = dir + i * 128;
        let units: Vec<u8> = name.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        f[at..at + units.len()].copy_from_slice(&units);
        f[at + 0x40..at + 0x42].copy_from_slice(&((units.len() + 2) as u16).to_le_bytes());
        f[at + 0x42] = *kind;
        f[at + 0x43] = 1; // black
        put32(&mut f, at + 0x44, *left);
        put32(&mut f, at + 0x48, *right);
        put32(&mut f, at + 0x4C, *child);
        put32(&mut f, at + 0x74, END_OF_CHAIN);
    }
    f
}

/// A minimal OLE2 compound file (512-byte sectors) whose root storage holds `stream`.
fn cfb_with(stream: &str) -> Vec<u8> {
    ole2_file(
        9,
        &[
            ("Root Entry", 5, NO_STREAM, NO_STREAM, 1),
            (stream, 2, NO_STREAM, NO_STREAM, NO_STREAM),
        ],
    )
}

#[test]
fn sniff_ole2_streams() {
    assert_eq!(
        sniff(&cfb_with("EncryptedPackage"), "a.docx"),
        FileType::EncryptedOoxml
    );
    assert_eq!(sniff(&cfb_with("WordDocument"), "a.wps"), FileType::Doc);
    assert_eq!(sniff(&cfb_with("Workbook"), "a.et"), FileType::Xls);
    assert_eq!(sniff(&cfb_with("Book"), "a.xls"), FileType::Xls);
    assert_eq!(sniff(&cfb_with("Other"), "a.msg"), FileType::Ole2);
    // a damaged directory still finds the stream name
    let mut broken = cfb_with("EncryptedPackage");
    broken[0x30..0x34].copy_from_slice(&77u32.to_le_bytes());
    assert_eq!(sniff(&broken, ""), FileType::EncryptedOoxml);
}

#[test]
fn sniff_ole2_of_the_samples_and_cut_short() {
    let files = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/files");
    for (name, want) in [
        ("P10-sh-case-doc.doc", FileType::Doc),
        ("P03-sd-summary.xls", FileType::Xls),
    ] {
        let b = std::fs::read(files.join(name)).expect("fixture");
        assert_eq!(sniff(&b, name), want, "{name}");
        // Cut anywhere: no panic, an answer at once, never another kind of file.
        let start = std::time::Instant::now();
        for len in (8..b.len()).step_by(b.len() / 97 + 1).chain([b.len() - 1]) {
            let t = sniff(&b[..len], name);
            assert!(
                t == want || t == FileType::Ole2,
                "{name} cut at {len}: {t:?}"
            );
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{name}"
        );
    }
}

/// A hostile DIFAT lists sector 0 as a FAT sector over a million times: a reader that
/// reads each listed FAT sector would read 4 GiB out of this 4 MiB file.
#[test]
fn sniff_ole2_with_a_hostile_difat_returns_at_once() {
    let sector = 4096;
    let sectors = 1024;
    let mut f = ole2_header(12, &[0; 109], 1);
    put32(&mut f, 0x2C, u32::MAX);
    put32(&mut f, 0x44, 1); // DIFAT chain: sectors 1, 2, … to the end of the file
    f.resize(sector * (sectors + 1), 0);
    for s in 1..sectors {
        let at = sector * (s + 1);
        // 1,023 listings of sector 0, then the next DIFAT sector
        let next = if s + 1 < sectors {
            s as u32 + 1
        } else {
            END_OF_CHAIN
        };
        put32(&mut f, at + sector - 4, next);
    }
    let mut named = f.clone();
    let units: Vec<u8> = "WordDocument"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    named[8192..8192 + units.len()].copy_from_slice(&units);
    let start = std::time::Instant::now();
    assert_eq!(sniff(&f, "x.doc"), FileType::Ole2);
    // the damaged directory's fallback still finds a stream name
    assert_eq!(sniff(&named, "x.doc"), FileType::Doc);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

/// Storages nested 120,000 deep in a 15 MB file (entry i is the only child of entry
/// i − 1): only the root's entries are listed, so this costs no more than a flat directory
/// (listing every entry by its path would copy the growing path once per level: minutes).
#[test]
fn sniff_ole2_with_deeply_nested_storages_returns_at_once() {
    let n = 120_000u32;
    let mut entries: Vec<DirEntry> = vec![("Root Entry", 5, NO_STREAM, NO_STREAM, 1)];
    for i in 1..n {
        let child = if i + 1 < n { i + 1 } else { NO_STREAM };
        entries.push((
            "nested storage, a long name",
            1,
            NO_STREAM,
            NO_STREAM,
            child,
        ));
    }
    // "Book" (Excel 5): a name only the directory gives, not the fallback scan
    entries[1].0 = "Book";
    let f = ole2_file(12, &entries);
    let start = std::time::Instant::now();
    assert_eq!(sniff(&f, "x.xls"), FileType::Xls);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn related_and_alternative_parts() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let docx = zip_of(&[(
        "[Content_Types].xml",
        b"<Override ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>",
    )]);
    let raw = format!(
        "From: a@b.test\r\nSubject: r\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/related; boundary=\"R\"\r\n\r\n\
--R\r\nContent-Type: multipart/alternative; boundary=\"A\"\r\n\r\n\
--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n见附件\r\n\
--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>见附件<img src=\"cid:img1\"></p>\r\n\
--A\r\nContent-Type: application/pdf; name=\"in-alternative.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n\
--A--\r\n\
--R\r\nContent-Type: image/png\r\nContent-ID: <img1>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n\
--R\r\nContent-Type: application/octet-stream\r\nContent-Disposition: inline; filename=\"inline-named.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{docx}\r\n\
--R\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{docx}\r\n\
--R--\r\n",
        pdf = b64(b"%PDF-1.4\n"),
        png = b64(b"\x89PNG\r\n\x1a\n0000"),
        docx = b64(&docx),
    );
    let inb = parse(raw.as_bytes(), &opts());
    let got: Vec<_> = inb
        .files
        .iter()
        .map(|f| (f.filename.as_str(), f.file_type))
        .collect();
    assert_eq!(
        got,
        vec![
            ("in-alternative.pdf", FileType::Pdf),
            ("inline-named.docx", FileType::Docx),
            ("attachment-1.docx", FileType::Docx),
        ]
    );
    assert!(inb.body_text.contains("见附件"));
}

#[test]
fn zip_bomb_with_a_lying_size_header() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("zeros.bin", o).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..300 {
        w.write_all(&chunk).unwrap();
    }
    let mut zip = w.finish().unwrap().into_inner();
    // claim 10 bytes unpacked in the local and the central header
    let mut i = 0;
    while i + 4 <= zip.len() {
        if zip[i..i + 4] == *b"PK\x03\x04" && i + 26 <= zip.len() {
            zip[i + 22..i + 26].copy_from_slice(&10u32.to_le_bytes());
        }
        if zip[i..i + 4] == *b"PK\x01\x02" && i + 28 <= zip.len() {
            zip[i + 24..i + 28].copy_from_slice(&10u32.to_le_bytes());
        }
        i += 1;
    }
    let inb = parse(&mail_with_zip(&zip), &opts());
    assert_eq!(inb.files.len(), 2);
    let member = &inb.files[1];
    assert!(member.problem.is_some(), "{:?}", member.problem);
    assert!(member.bytes.len() <= 10);
}

#[test]
fn deeply_nested_multiparts_and_forwards() {
    let mut raw = String::from("From: a@b.test\r\nSubject: deep\r\n");
    let depth = 2000;
    for i in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    raw.push_str("Content-Type: application/pdf; name=\"x.pdf\"\r\n\r\n%PDF-1.4\r\n");
    let _ = parse(raw.as_bytes(), &opts());

    // forwards nested deeper than the limit
    let mut inner = String::from(
        "From: a@b.test\r\nSubject: level\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\n\r\n%PDF-1.4\r\n",
    );
    for _ in 0..6 {
        inner = format!(
            "From: a@b.test\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"F\"\r\n\r\n--F\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--F--\r\n",
            inner.replace("boundary=\"F\"", "boundary=\"F1\"").replace("--F", "--F1")
        );
    }
    let inb = parse(inner.as_bytes(), &opts());
    let got: Vec<_> = inb
        .files
        .iter()
        .map(|f| (f.filename.as_str(), f.problem.clone()))
        .collect();
    assert_eq!(got, vec![("message.eml", Some(FileProblem::TooDeep))]);
}

#[test]
fn base64_encoded_forward_keeps_gbk_continuation_names() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let name = "沈阳开放大学-典型工作案例申报表.pdf";
    let bytes = gbk(name);
    let cut = 7; // inside a character
    let mut inner = format!(
        "From: x@y.test\r\nSubject: =?utf-8?B?{}?=\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"I\"\r\n\r\n--I\r\nContent-Type: text/plain\r\n\r\nhi\r\n--I\r\n\
Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename*0*=gbk''{};\r\n filename*1*={}\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--I--\r\n",
        b64("沈阳市推荐材料".as_bytes()),
        pct(&bytes[..cut]),
        pct(&bytes[cut..]),
        b64(b"%PDF-1.4\n")
    )
    .into_bytes();
    inner.extend_from_slice(b"");
    let outer = format!(
        "From: a@b.test\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"O\"\r\n\r\n\
--O\r\nContent-Type: text/plain\r\n\r\nfwd\r\n--O\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--O--\r\n",
        b64(&inner)
    );
    let inb = parse(outer.as_bytes(), &opts());
    let got = names(&inb);
    assert_eq!(
        got,
        vec![(
            name.to_string(),
            Some("message/rfc822: 沈阳市推荐材料".to_string()),
            Some(name.to_string())
        )]
    );
}

#[test]
fn outlook_signature_images_are_body_not_files() {
    let png = b"\x89PNG\r\n\x1a\n0000IHDR".to_vec();
    let b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&png)
    };
    let raw = format!(
        "From: a@gd.test\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
         --m\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>见附件<img src=\"cid:image001.png@01D7\"></p>\r\n\
         --r\r\nContent-Type: image/png; name=\"image001.png\"\r\nContent-Disposition: inline; filename=\"image001.png\"\r\n\
         Content-ID: <image001.png@01D7>\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--r--\r\n\
         --m\r\nContent-Type: image/png; name=\"盖章页.png\"\r\nContent-Disposition: attachment; filename=\"盖章页.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--m--\r\n"
    );
    let inb = parse(raw.as_bytes(), &opts());
    let names: Vec<&str> = inb.files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(
        names,
        ["盖章页.png"],
        "the signature image is not a file; the attached scan is"
    );
}
