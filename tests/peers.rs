//! A peer's corpus: every message of CPython's email test data (tests/fixtures/cpython-email,
//! written over the years to exercise odd MIME) through one real `lndx ingest --json`.
//! None of them is an application, so the point is that each is stored and answered sensibly:
//! bounces and list mail skipped for the right reason, plain letters answered
//! `no_attachment`, and nothing panics.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use util::{fixture, Scratch};

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("cpython-email"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("msg_") && name.ends_with(".txt")
        })
        .collect();
    files.sort();
    files
}

fn codes(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect()
}

/// Runs the whole corpus once; returns the results by file stem ("msg_05").
fn ingest_all() -> BTreeMap<String, Value> {
    let files = corpus();
    assert_eq!(files.len(), 48, "CPython ships 48 msg_*.txt files");
    let s = Scratch::new("peers");
    let mut args = vec!["ingest".to_string(), "--json".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = s.lndx(None, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "lndx ingest failed ({}): {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "a panic on stderr: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "one JSON line per message");
    files
        .iter()
        .zip(lines)
        .map(|(f, l)| {
            let v: Value = serde_json::from_str(l).expect("one JSON document per line");
            let stem = f.file_stem().unwrap().to_string_lossy().to_string();
            (stem, v)
        })
        .collect()
}

#[test]
fn cpython_email_corpus_is_stored_and_answered_sensibly() {
    let results = ingest_all();

    // Every message stored once, none quarantined (the parser never gave up).
    let ids: BTreeSet<i64> = results
        .values()
        .map(|v| v["stored_id"].as_i64().expect("stored_id"))
        .collect();
    assert_eq!(ids.len(), results.len(), "distinct stored ids");
    assert!(ids.iter().all(|&id| id > 0));
    for (name, v) in &results {
        assert!(v.get("quarantined").is_none(), "{name} quarantined: {v}");
    }

    // Skips, checked by hand against each message's top-level headers.
    let expected_skips: BTreeMap<&str, &str> = [
        // multipart/report; report-type=delivery-status
        ("msg_05", "bounce"),
        // Return-Path: <> and From: postmaster@… win over its Precedence: bulk
        ("msg_16", "bounce"),
        // From: MAILER-DAEMON@… and a delivery-status report
        ("msg_25", "bounce"),
        // a delivery-status report From: "MAILER DAEMON <>"
        ("msg_43", "bounce"),
        // Precedence: bulk
        ("msg_32", "list"),
        ("msg_33", "list"),
    ]
    .into_iter()
    .collect();
    for (name, v) in &results {
        let skipped = v["skipped"].as_str();
        assert_eq!(
            skipped,
            expected_skips.get(name.as_str()).copied(),
            "{name}: skip reason"
        );
        if skipped.is_some() {
            // Skipped mail is stored but not judged or answered.
            assert!(v["reply"].is_null(), "{name} skipped yet answered: {v}");
            assert!(codes(&v["errors"]).is_empty(), "{name}: {v}");
            continue;
        }
        let attachments = v["attachments"].as_array().unwrap();
        let errors = codes(&v["errors"]);
        // None of the senders is registered.
        assert!(errors.contains("unknown_province"), "{name}: {errors:?}");
        // Supporting files alone (text parts, images) do not answer a call for forms; a file
        // that could not be read is answered by its own code instead.
        let usable = attachments.iter().any(|a| match a["role"].as_str() {
            Some("supporting") => false,
            Some("archive") => !a["errors"].as_array().unwrap().is_empty(),
            _ => true,
        });
        assert_eq!(
            errors.contains("no_attachment") || errors.contains("link_attachment"),
            !usable,
            "{name}: no_attachment exactly when no usable file was found: {v}"
        );
        for a in attachments {
            // Not forms: never filed as an entry.
            assert!(a["entry"].is_null(), "{name}: {a}");
            assert_ne!(a["role"], "form", "{name}: {a}");
        }
        // A reply goes to whoever has an address; messages without From: get none.
        if v["from"].as_str().is_some_and(|f| f.contains('@')) {
            assert!(v["reply"].is_object(), "{name}: unanswered: {v}");
        }
    }

    // A few outcomes checked by hand.
    let files = |name: &str| -> Vec<(String, String)> {
        results[name]["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["filename"].as_str().unwrap().to_string(),
                    a["file_type"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // A base64 image attached to a letter.
    assert_eq!(files("msg_07"), [("dingusfish.gif".into(), "gif".into())]);
    assert_eq!(
        results["msg_07"]["reply"]["subject"],
        "【需修改】Here is your dingus fish"
    );
    // Two inline images with upper-case extensions.
    assert_eq!(
        files("msg_22"),
        [
            ("wibble.JPG".into(), "jpeg".into()),
            ("wibble2.JPG".into(), "jpeg".into())
        ]
    );
    // A Mailman digest: Precedence: bulk only inside the digest's parts, not on the message
    // itself, so it is answered like any letter without a file.
    assert!(results["msg_02"]["skipped"].is_null());
    assert!(codes(&results["msg_02"]["errors"]).contains("no_attachment"));
    // A message whose nested multipart reuses the outer boundary still yields its file.
    assert_eq!(files("msg_15"), [("xx.gif".into(), "unknown".into())]);
    // Plain text letter: answered "no attachment" under its own subject.
    assert_eq!(
        results["msg_01"]["reply"]["subject"],
        "【未收到申报表】This is a test message"
    );
    assert_eq!(results["msg_01"]["from"], "bbb@ddd.com");
    // The bounce from UCLA's postmaster keeps its subject and message id.
    assert_eq!(
        results["msg_16"]["subject"],
        "Delivery Notification: Delivery has failed"
    );
    assert_eq!(
        results["msg_16"]["message_id"],
        "<0GK500B04D0B8X@cougar.noc.ucla.edu>"
    );
    // A PGP/MIME signature is part of the body, not a file: nothing was attached.
    assert!(results["msg_45"]["attachments"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(codes(&results["msg_45"]["errors"]).contains("no_attachment"));
}
