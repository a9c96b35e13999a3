//! A second campaign, shaped unlike 智慧助老 (tests/fixtures/campaign-xxz: two kinds with
//! other fields, one batch, another receipt prefix, other tick options and count units),
//! runs through the same binary with no code change: its manifest of expected results,
//! replies worded from its own data, and its rules folder checked at load.

mod util;

use util::manifest::Manifest;
use util::{fixture, Scratch};

fn xxz() -> Manifest {
    let dir = fixture("campaign-xxz");
    Manifest::load(
        &dir.join("rules"),
        &dir.join("messages"),
        &dir.join("manifest.json"),
        "XXZ-2026",
    )
}

#[test]
fn every_case_of_the_second_campaign() {
    xxz().check_all(false);
}

/// Receipts carry the campaign's own code and kind letters; no reply mentions another
/// campaign's words.
#[test]
fn receipts_and_replies_speak_of_the_second_campaign_only() {
    let m = xxz();
    let s = Scratch::with_rules("xxz-replies", &m.rules);
    let files: Vec<_> = m
        .cases
        .iter()
        .filter(|c| c.get("after").is_none())
        .map(|c| m.messages.join(c["file"].as_str().unwrap()))
        .collect();
    let results = s.ingest(None, &files);
    let mut letters = std::collections::BTreeSet::new();
    for r in &results {
        for a in r["attachments"].as_array().unwrap() {
            if let Some(receipt) = a["entry"]["receipt"].as_str() {
                assert!(receipt.starts_with("XXZ-2026-"), "{receipt}");
                letters.insert(receipt.split('-').nth(4).unwrap().to_string());
            }
        }
    }
    assert_eq!(
        letters,
        ["B", "S"].iter().map(|s| s.to_string()).collect(),
        "both kinds filed"
    );
    let replies = s.outbox_files();
    assert!(!replies.is_empty());
    for p in replies {
        let raw = std::fs::read(&p).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let text = msg.body_text(0).unwrap_or_default().to_string();
        for foreign in ["智慧助老", "案例", "课程资源", "视频", "出行"] {
            assert!(
                !text.contains(foreign),
                "{}: reply mentions {foreign}:\n{text}",
                p.display()
            );
        }
    }
}

/// Broken rules stop start-up with the file, the line and what to do.
#[test]
fn a_broken_campaign_folder_names_file_and_line() {
    let m = xxz();
    let cases: &[(&str, &str, &str, &str)] = &[
        // (file, text to replace, replacement, expected in the message)
        (
            "checks.toml",
            "[kinds.brand]",
            "[kinds.brands]",
            "brands is not a kind",
        ),
        ("checks.toml", "\"intro\"", "\"intro_text\"", "intro_text"),
        (
            "campaign.toml",
            "letter = \"B\"",
            "letter = \"S\"",
            "share the receipt letter",
        ),
        ("forms.toml", "role = \"name\"", "role = \"title\"", "role"),
        ("campaign.toml", "timezone_name", "tz_name", "unknown field"),
    ];
    for (file, from, to, want) in cases {
        let s = Scratch::with_rules("xxz-broken", &m.rules);
        let path = s.rules().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} holds {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let out = s.lndx(None, &["check", "--json", "nothing.docx"]);
        assert!(!out.status.success(), "{file}: {from} → {to} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(file), "{file}: names the file: {err}");
        assert!(err.contains("line"), "{file}: names the line: {err}");
        assert!(err.contains(want), "{file}: says {want:?}: {err}");
    }
}
