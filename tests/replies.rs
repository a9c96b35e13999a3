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
    assert!(m.subject().unwrap().starts_with("【已受理】"));
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
