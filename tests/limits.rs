//! Limits and attacks, each answered with its code through the real `ingest`, with the raw
//! message stored: zip bombs, too many members, deep nesting, path traversal, oversized
//! messages, forged senders, Reply-To redirection, header injection.

mod util;

use std::io::Write;

use base64::Engine;
use util::Scratch;

fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn message(from: &str, extra_headers: &str, attachments: &[(&str, &[u8])]) -> Vec<u8> {
    let mut m = format!(
        "Received: from x by mx; Tue, 26 Oct 2021 10:00:00 +0800\r\nFrom: {from}\r\nTo: lndx@ouchn.test\r\n\
         Subject: 广东省推荐材料\r\nMessage-ID: <{}@gd.test>\r\nDate: Tue, 26 Oct 2021 10:00:00 +0800\r\n{extra_headers}\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n见附件\r\n",
        util::rand_u64()
    );
    for (name, bytes) in attachments {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        m.push_str(&format!(
            "--b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        ));
        for c in b64.as_bytes().chunks(76) {
            m.push_str(std::str::from_utf8(c).unwrap());
            m.push_str("\r\n");
        }
    }
    m.push_str("--b--\r\n");
    m.into_bytes()
}

fn ingest_one(s: &Scratch, cfg: Option<&std::path::Path>, raw: &[u8]) -> serde_json::Value {
    let p = s.dir.join(format!("m{}.eml", util::rand_u64()));
    std::fs::write(&p, raw).unwrap();
    let r = s.ingest(cfg, &[p]).remove(0);
    // The raw message is stored whatever happened.
    let id = r["stored_id"].as_i64().expect("stored");
    assert!(id > 0);
    r
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect()
}

fn form() -> Vec<u8> {
    std::fs::read(util::fixture("forms/P01-gd-case.docx")).unwrap()
}

#[test]
fn zip_bomb_is_too_large() {
    let s = Scratch::new("bomb");
    let bomb = zip_of(&[("zeros.docx", vec![0u8; 300 * 1024 * 1024])]);
    assert!(bomb.len() < 2 * 1024 * 1024);
    let r = ingest_one(&s, None, &message("a@gd.test", "", &[("材料.zip", &bomb)]));
    let member = &r["attachments"][1];
    assert_eq!(member["container"], "材料.zip");
    assert_eq!(codes(&member["errors"]), ["too_large"]);
}

#[test]
fn too_many_members_and_deep_nesting_are_answered() {
    let s = Scratch::new("members");
    let many: Vec<(String, Vec<u8>)> = (0..1001)
        .map(|i| (format!("f{i}.txt"), b"x".to_vec()))
        .collect();
    let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let r = ingest_one(
        &s,
        None,
        &message("a@gd.test", "", &[("many.zip", &zip_of(&many))]),
    );
    assert_eq!(r["attachments"][0]["role"], "archive");
    assert_eq!(codes(&r["attachments"][0]["errors"]), ["too_large"]);

    let mut inner = zip_of(&[("form.docx", form())]);
    for depth in 0..4 {
        inner = zip_of(&[(if depth == 3 { "top.zip" } else { "inner.zip" }, inner)]);
    }
    let r = ingest_one(
        &s,
        None,
        &message("b@gd.test", "", &[("outer.zip", &inner)]),
    );
    let all: Vec<String> = r["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| codes(&a["errors"]))
        .collect();
    assert!(
        all.contains(&"too_large".to_string()),
        "nesting beyond the limit is refused: {r}"
    );
}

#[test]
fn path_traversal_names_are_only_names() {
    let s = Scratch::new("traversal");
    let evil = zip_of(&[
        ("../../../../tmp/lndx-evil.docx", form()),
        ("/etc/lndx-evil.docx", form()),
    ]);
    let r = ingest_one(&s, None, &message("a@gd.test", "", &[("evil.zip", &evil)]));
    let names: Vec<&str> = r["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["evil.zip", "lndx-evil.docx", "lndx-evil.docx"]);
    assert_eq!(
        r["attachments"][1]["path_in_container"],
        "../../../../tmp/lndx-evil.docx"
    );
    assert!(!std::path::Path::new("/tmp/lndx-evil.docx").exists());
    assert!(!std::path::Path::new("/etc/lndx-evil.docx").exists());
    // The form inside was read (the second copy is the same bytes: a duplicate).
    assert_eq!(r["attachments"][1]["entry"]["status"], "valid");
    assert_eq!(codes(&r["attachments"][2]["warnings"]), ["duplicate"]);
}

#[test]
fn an_oversized_message_is_answered_too_large() {
    let s = Scratch::new("oversize");
    let cfg = s.config("[limits]\nmessage_mb = 1\n");
    let big = vec![7u8; 1536 * 1024];
    let r = ingest_one(
        &s,
        Some(&cfg),
        &message("a@gd.test", "", &[("video.mp4", &big)]),
    );
    assert_eq!(codes(&r["errors"]), ["too_large"]);
    assert!(
        r["attachments"].as_array().unwrap().is_empty(),
        "the body is not read"
    );
    assert!(r["reply"].is_object());
}

#[test]
fn a_forged_sender_is_held_for_staff() {
    let s = Scratch::new("forged");
    let ar = "Authentication-Results: mx.ouchn.test; spf=fail smtp.mailfrom=a@gd.test; dkim=none; dmarc=fail header.from=gd.test\r\n\
              Authentication-Results: attacker; spf=pass; dkim=pass; dmarc=pass\r\n";
    let r = ingest_one(&s, None, &message("a@gd.test", ar, &[("表.docx", &form())]));
    assert_eq!(codes(&r["errors"]), ["authentication_failed"]);
    assert_eq!(r["attachments"][0]["entry"]["status"], "held");
    // An attacker's own header lower down changes nothing; a passing top-most one is fine.
    let ok = "Authentication-Results: mx.ouchn.test; spf=pass smtp.mailfrom=a@gd.test; dkim=pass; dmarc=pass\r\n\
              Authentication-Results: attacker; dmarc=fail\r\n";
    let r = ingest_one(
        &s,
        None,
        &message("b@gd.test", ok, &[("表2.docx", &form())]),
    );
    assert!(codes(&r["errors"]).is_empty());
    // The policy can be switched off.
    let cfg = s.config("[senders]\non_auth_failure = \"ignore\"\n");
    let r = ingest_one(
        &s,
        Some(&cfg),
        &message("c@gd.test", ar, &[("表3.docx", &form())]),
    );
    assert!(codes(&r["errors"]).is_empty());
}

#[test]
fn replies_never_follow_a_foreign_reply_to() {
    let s = Scratch::new("replyto");
    let r = ingest_one(
        &s,
        None,
        &message(
            "a@gd.test",
            "Reply-To: victim@elsewhere.test\r\n",
            &[("表.docx", &form())],
        ),
    );
    assert_eq!(r["reply"]["to"][0], "a@gd.test");
    let r = ingest_one(
        &s,
        None,
        &message(
            "b@gd.test",
            "Reply-To: office@gd.test\r\n",
            &[("表2.docx", &form())],
        ),
    );
    assert_eq!(
        r["reply"]["to"][0], "office@gd.test",
        "same registered domain"
    );
}

#[test]
fn header_injection_is_impossible() {
    let s = Scratch::new("inject");
    let subject = base64::engine::general_purpose::STANDARD
        .encode("报送\r\nBcc: victim@elsewhere.test\r\nX-Evil: 1");
    let name = base64::engine::general_purpose::STANDARD.encode("a\r\nX-Evil: 2.docx");
    let raw = String::from_utf8(message("a@gd.test", "", &[("PLACEHOLDER", &form())]))
        .unwrap()
        .replace(
            "Subject: 广东省推荐材料",
            &format!("Subject: =?utf-8?B?{subject}?="),
        )
        .replace("\"PLACEHOLDER\"", &format!("\"=?utf-8?B?{name}?=\""))
        .into_bytes();
    let r = ingest_one(&s, None, &raw);
    assert!(r["reply"].is_object());
    let out = std::fs::read(&s.outbox_files()[0]).unwrap();
    let m = mail_parser::MessageParser::default().parse(&out).unwrap();
    assert!(m.header_raw("Bcc").is_none());
    assert!(m.header_raw("X-Evil").is_none());
    assert!(!String::from_utf8_lossy(&out)
        .lines()
        .any(|l| l.starts_with("X-Evil") || l.starts_with("Bcc")));
}

#[test]
fn absurd_headers_are_answered_too_large() {
    let s = Scratch::new("headers");
    let mut extra = String::new();
    for i in 0..6000 {
        extra.push_str(&format!("X-Noise-{i}: {}\r\n", "v".repeat(20)));
    }
    let r = ingest_one(
        &s,
        None,
        &message("a@gd.test", &extra, &[("表.docx", &form())]),
    );
    assert_eq!(codes(&r["errors"]), ["too_large"]);
    assert!(
        r["attachments"].as_array().unwrap().is_empty(),
        "the body is not read"
    );
    assert_eq!(
        r["reply"]["to"][0], "a@gd.test",
        "answered from the first headers"
    );
    let cfg = s.config("[limits]\nheader_fields = 10000\n");
    let r = ingest_one(
        &s,
        Some(&cfg),
        &message("b@gd.test", &extra, &[("表.docx", &form())]),
    );
    assert!(
        codes(&r["errors"]).is_empty(),
        "a raised limit lets it through"
    );
}
