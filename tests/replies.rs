//! Snapshot tests of the replies (text and HTML) and checks of their headers: a receipt
//! for a valid case, an error reply with a length error, a message-level error reply.

mod util;

use mail_parser::MessageParser;
use util::{fixture, Scratch};

struct Reply {
    raw: Vec<u8>,
}

impl Reply {
    fn parsed(&self) -> mail_parser::Message<'_> {
        MessageParser::default()
            .parse(&self.raw)
            .expect("reply parses")
    }
}

/// Ingests the given samples in order and returns the reply to the last one.
fn reply_to(files: &[&str]) -> (serde_json::Value, Reply) {
    let s = Scratch::new("reply");
    let paths: Vec<_> = files.iter().map(|f| fixture(&format!("eml/{f}"))).collect();
    let results = s.ingest(None, &paths);
    let last = results.last().unwrap().clone();
    let id = last["reply"]["message_id"]
        .as_str()
        .expect("a reply was queued");
    let raw = s
        .outbox_files()
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .find(|raw| String::from_utf8_lossy(raw).contains(id))
        .expect("the reply is in the outbox");
    (last, Reply { raw })
}

fn check_headers(result: &serde_json::Value, reply: &Reply, original_id: &str) {
    let m = reply.parsed();
    assert_eq!(
        m.in_reply_to().as_text(),
        Some(original_id.trim_matches(['<', '>']))
    );
    assert!(m
        .references()
        .as_text_list()
        .is_some_and(|r| r.iter().any(|x| *x == original_id.trim_matches(['<', '>']))));
    let header = |name: &str| m.header_raw(name).map(|v| v.trim().to_string());
    assert_eq!(header("Auto-Submitted").as_deref(), Some("auto-replied"));
    assert!(header("X-Lndx-Loop").is_some(), "our loop header");
    assert_eq!(m.subject(), result["reply"]["subject"].as_str());
    assert!(
        m.body_text(0).is_some() && m.body_html(0).is_some(),
        "text and HTML parts"
    );
}

#[test]
fn receipt_for_a_valid_case() {
    let (result, reply) = reply_to(&["P01-gd-valid-case-with-scan.eml"]);
    check_headers(&result, &reply, result["message_id"].as_str().unwrap());
    let m = reply.parsed();
    let text = m.body_text(0).unwrap().to_string();
    assert!(text.contains("ZHZL-2021-B1-GD-C-0001"));
    insta::assert_snapshot!("receipt_text", text);
    insta::assert_snapshot!("receipt_html", m.body_html(0).unwrap().to_string());
    // One entry: its receipt stands in the subject.
    assert!(
        m.subject()
            .unwrap()
            .starts_with("【已受理 ZHZL-2021-B1-GD-C-0001】"),
        "{:?}",
        m.subject()
    );
    // A plain receipt carries no 字数 footnote.
    assert!(!text.contains("字数按"), "{text}");
}

#[test]
fn error_reply_names_label_rule_limit_and_count() {
    let (result, reply) = reply_to(&["P04-sc-case-too-long.eml"]);
    check_headers(&result, &reply, result["message_id"].as_str().unwrap());
    let m = reply.parsed();
    let text = m.body_text(0).unwrap().to_string();
    assert!(text.contains("主要做法") && text.contains("1500") && text.contains("1622"));
    insta::assert_snapshot!("too_long_text", text);
    insta::assert_snapshot!("too_long_html", m.body_html(0).unwrap().to_string());
    assert!(m.subject().unwrap().starts_with("【需修改】"));
}

#[test]
fn field_errors_and_superseding_versions_are_explained() {
    let (_, reply) = reply_to(&["P05-bj-project-errors-and-offtheme.eml"]);
    let m = reply.parsed();
    insta::assert_snapshot!("field_errors_text", m.body_text(0).unwrap().to_string());
    let (_, reply) = reply_to(&[
        "P09a-xj-project-invalid.eml",
        "P09b-xj-project-corrected.eml",
    ]);
    let text = reply.parsed().body_text(0).unwrap().to_string();
    assert!(text.contains("已替换此前报送的版本 ZHZL-2021-B1-XJ-P-0001"));
}

#[test]
fn message_level_errors_get_a_reply_too() {
    let (result, reply) = reply_to(&["P11-ah-large-attachment-link.eml"]);
    check_headers(&result, &reply, result["message_id"].as_str().unwrap());
    insta::assert_snapshot!(
        "link_attachment_text",
        reply.parsed().body_text(0).unwrap().to_string()
    );
}

#[test]
fn html_escapes_what_came_from_the_message() {
    // A subject with markup must not reach the HTML unescaped.
    let s = Scratch::new("escape");
    let eml = s.dir.join("x.eml");
    let raw = std::fs::read_to_string(fixture("eml/P12-tj-no-attachment.eml"))
        .unwrap()
        .replacen(
            "Subject:",
            "Subject: <script>alert(1)</script>\r\nX-Old-Subject:",
            1,
        );
    std::fs::write(&eml, raw).unwrap();
    let results = s.ingest(None, &[eml]);
    assert!(results[0]["reply"].is_object());
    let out = std::fs::read(&s.outbox_files()[0]).unwrap();
    let m = MessageParser::default().parse(&out).unwrap();
    let html = m.body_html(0).unwrap();
    assert!(!html.contains("<script>"), "escaped");
    assert!(html.contains("&lt;script&gt;"));
}

/// A late message reads as registered and awaiting a decision, never as accepted; its
/// receipt's BL is explained.
#[test]
fn late_entries_read_as_registered_awaiting_a_decision() {
    let (result, reply) = reply_to(&["P19-jl-late.eml"]);
    let m = reply.parsed();
    let subject = m.subject().unwrap();
    assert!(subject.starts_with("【已登记，逾期待定】"), "{subject}");
    let text = m.body_text(0).unwrap().to_string();
    assert!(!text.contains("已受理，请妥善保存"), "{text}");
    assert!(text.contains("是否受理由工作人员决定"), "{text}");
    assert!(text.contains("BL 表示逾期到达"), "{text}");
    assert!(result["batch"].is_null());
    insta::assert_snapshot!("late_text", text);
}

/// Entries of an unknown province are held: the subject and the receipt's XX say so.
#[test]
fn held_entries_wait_for_a_province() {
    let (_, reply) = reply_to(&["P16-unknown-province.eml"]);
    let m = reply.parsed();
    let subject = m.subject().unwrap();
    assert!(subject.starts_with("【已暂存，待确认省份】"), "{subject}");
    let text = m.body_text(0).unwrap().to_string();
    assert!(text.contains("XX 表示省份待确认"), "{text}");
    insta::assert_snapshot!("held_text", text);
}

/// A message with accepted and rejected files gives both counts in the subject and the
/// first line; a zip is listed without taking a number.
#[test]
fn partial_acceptance_counts_both_and_zips_are_not_items() {
    let (_, reply) = reply_to(&["P05-bj-project-errors-and-offtheme.eml"]);
    let m = reply.parsed();
    let subject = m.subject().unwrap();
    assert!(
        subject.starts_with("【1 份已受理，1 个需修改】"),
        "{subject}"
    );
    let text = m.body_text(0).unwrap().to_string();
    assert!(
        text.contains("处理结果：1 份已受理，1 个需修改后重新发送。"),
        "{text}"
    );
    assert!(text.contains("贵省本批次目前已受理：项目 1 个。"), "{text}");
    let (_, zipped) = reply_to(&["P07-fj-zip-gbk.eml"]);
    let text = zipped.parsed().body_text(0).unwrap().to_string();
    let first = text.lines().find(|l| l.starts_with("1. ")).unwrap();
    assert!(
        first.contains(".docx"),
        "the first item is a form, not the zip: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("· ") && l.contains(".zip")),
        "{text}"
    );
}

#[test]
fn names_already_in_marks_are_not_marked_twice() {
    assert_eq!(
        lndx::reply::unwrap_marks("《智能手机读本》"),
        "智能手机读本"
    );
    assert_eq!(lndx::reply::unwrap_marks("“银龄e路通”"), "银龄e路通");
    // Marks around a part of the name stay.
    assert_eq!(
        lndx::reply::unwrap_marks("“银龄e路通”——社区案例"),
        "“银龄e路通”——社区案例"
    );
    assert_eq!(
        lndx::reply::unwrap_marks("《甲》与《乙》"),
        "《甲》与《乙》"
    );
}
