//! Every case of the samples' manifest (tests/fixtures/eml/manifest.json) through the real
//! `lndx ingest --json`, with every assertion the manifest makes — sequence cases included —
//! once with the LibreOffice converter and once with it switched off.

mod util;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde_json::Value;
use util::{fixture, squeeze, Scratch};

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(fixture("eml/manifest.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Runs one case (its `after` files first) in a fresh registry; returns the results by file.
fn run_case(case: &Value, converter: bool) -> (HashMap<String, Value>, Scratch) {
    let s = Scratch::new("manifest");
    let config = s.config(&format!("[converter]\nenabled = {converter}\n"));
    let mut files: Vec<String> = case["after"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    files.push(case["file"].as_str().unwrap().to_string());
    let paths: Vec<PathBuf> = files.iter().map(|f| fixture(&format!("eml/{f}"))).collect();
    let results = s.ingest(Some(&config), &paths);
    assert_eq!(results.len(), files.len(), "one result per message");
    (files.into_iter().zip(results).collect(), s)
}

fn codes(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Finds the attachment an expectation describes (by file name, container and path).
fn find<'a>(actual: &'a Value, exp: &Value) -> Option<&'a Value> {
    actual["attachments"].as_array()?.iter().find(|a| {
        a["filename"] == exp["filename"]
            && (exp.get("container").is_none() || a["container"] == exp["container"])
            && (exp.get("path_in_container").is_none()
                || a["path_in_container"] == exp["path_in_container"])
    })
}

fn receipt_of(results: &HashMap<String, Value>, r: &Value) -> String {
    let earlier = &results[r["file"].as_str().unwrap()];
    let att =
        find(earlier, &serde_json::json!({"filename": r["filename"]})).expect("earlier attachment");
    att["entry"]["receipt"]
        .as_str()
        .expect("earlier receipt")
        .to_string()
}

fn check_attachment(
    file: &str,
    exp: &Value,
    act: &Value,
    results: &HashMap<String, Value>,
    converter: bool,
) {
    let name = exp["filename"].as_str().unwrap_or("?");
    let ctx = format!("{file} / {name}");
    let exp = match (converter, exp.get("if_no_converter")) {
        (false, Some(alt)) => {
            let mut e = alt.clone();
            e["filename"] = exp["filename"].clone();
            e
        }
        _ => exp.clone(),
    };
    for key in ["role", "kind", "container", "path_in_container"] {
        if let Some(v) = exp.get(key) {
            assert_eq!(&act[key], v, "{ctx}: {key}");
        }
    }
    // Errors: the exact set of (code, field) plus counts and names where given.
    if let Some(errors) = exp.get("errors") {
        let want: BTreeSet<(String, String)> = errors
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["code"].as_str().unwrap().into(),
                    e["field"].as_str().unwrap_or("").into(),
                )
            })
            .collect();
        let got: BTreeSet<(String, String)> = act["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["code"].as_str().unwrap().into(),
                    e["field"].as_str().unwrap_or("").into(),
                )
            })
            .map(|(c, f)| {
                let field_expected = want.iter().any(|(wc, wf)| wc == &c && !wf.is_empty());
                (c, if field_expected { f } else { String::new() })
            })
            .collect();
        assert_eq!(got, want, "{ctx}: errors");
        for e in errors.as_array().unwrap() {
            let a = act["errors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| {
                    a["code"] == e["code"] && (e.get("field").is_none() || a["field"] == e["field"])
                })
                .unwrap();
            for key in ["limit", "actual"] {
                if let Some(v) = e.get(key) {
                    assert_eq!(&a[key], v, "{ctx}: {} {key}", e["code"]);
                }
            }
            if let Some(n) = e.get("name") {
                assert_eq!(
                    squeeze(a["name"].as_str().unwrap_or("")),
                    squeeze(n.as_str().unwrap()),
                    "{ctx}: summary row name"
                );
            }
        }
    }
    if let Some(warnings) = exp.get("warnings") {
        assert_eq!(codes(&act["warnings"]), codes(warnings), "{ctx}: warnings");
        for w in warnings.as_array().unwrap() {
            let a = act["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["code"] == w["code"])
                .unwrap();
            for key in ["limit", "actual"] {
                if let Some(v) = w.get(key) {
                    assert_eq!(&a[key], v, "{ctx}: {} {key}", w["code"]);
                }
            }
        }
    }
    let Some(entry) = exp.get("entry") else {
        return;
    };
    let got = &act["entry"];
    assert!(got.is_object(), "{ctx}: an entry was filed");
    assert!(
        got["receipt"]
            .as_str()
            .is_some_and(|r| r.starts_with("ZHZL-")),
        "{ctx}: receipt"
    );
    if let Some(st) = entry.get("status") {
        assert_eq!(&got["status"], st, "{ctx}: status");
    }
    if let Some(n) = entry.get("name") {
        assert_eq!(
            squeeze(got["name"].as_str().unwrap()),
            squeeze(n.as_str().unwrap()),
            "{ctx}: name"
        );
    }
    for (k, v) in entry
        .get("fields")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let g = &got["fields"][k];
        match v {
            Value::String(s) => assert_eq!(
                squeeze(g.as_str().unwrap_or("<missing>")),
                squeeze(s),
                "{ctx}: field {k}"
            ),
            other => assert_eq!(g, other, "{ctx}: field {k}"),
        }
    }
    if let Some(themes) = entry.get("themes") {
        let have: BTreeSet<&str> = got["themes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        for t in themes.as_array().unwrap() {
            assert!(
                have.contains(t.as_str().unwrap()),
                "{ctx}: theme {t} missing from {have:?}"
            );
        }
    }
    if let Some(sup) = entry.get("supersedes") {
        assert_eq!(
            got["supersedes"].as_str(),
            Some(receipt_of(results, sup).as_str()),
            "{ctx}: supersedes"
        );
    }
    if let Some(same) = entry.get("receipt_same_as") {
        assert_eq!(
            got["receipt"].as_str(),
            Some(receipt_of(results, same).as_str()),
            "{ctx}: duplicate receipt"
        );
        let dup = act["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["code"] == "duplicate")
            .expect("duplicate warning");
        assert_eq!(
            dup["receipt"], got["receipt"],
            "{ctx}: duplicate warning names the receipt"
        );
    }
}

fn check_case(case: &Value, converter: bool) {
    let file = case["file"].as_str().unwrap();
    let (results, scratch) = run_case(case, converter);
    let act = &results[file];
    let exp = &case["expect"];
    assert_eq!(act["skipped"], exp["skipped"], "{file}: skipped");
    if !exp["skipped"].is_null() {
        assert!(
            act["reply"].is_null(),
            "{file}: skipped messages get no reply"
        );
        return;
    }
    assert_eq!(act["province"], exp["province"], "{file}: province");
    if let Some(b) = exp.get("batch") {
        assert_eq!(&act["batch"], b, "{file}: batch");
    } else {
        assert!(
            act["batch"].is_null(),
            "{file}: a late message has batch null"
        );
    }
    // Message-level codes: exactly those expected, at the top level.
    for key in ["errors", "warnings"] {
        let want = exp.get(key).map(codes).unwrap_or_default();
        assert_eq!(codes(&act[key]), want, "{file}: message-level {key}");
    }
    let expected = exp["attachments"].as_array().cloned().unwrap_or_default();
    for e in &expected {
        let a = find(act, e).unwrap_or_else(|| panic!("{file}: no attachment {}", e["filename"]));
        check_attachment(file, e, a, &results, converter);
    }
    assert_eq!(
        act["attachments"].as_array().unwrap().len(),
        expected.len(),
        "{file}: attachments reported {:?}",
        act["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["filename"].clone())
            .collect::<Vec<_>>()
    );
    // One reply per answered message, threaded to it.
    assert!(
        act["reply"]["to"].as_array().is_some_and(|t| !t.is_empty()),
        "{file}: reply recipient"
    );
    let answered = results.values().filter(|r| r["skipped"].is_null()).count();
    assert_eq!(
        scratch.outbox_files().len(),
        answered,
        "{file}: one reply per message in the outbox"
    );
}

fn soffice_present() -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p)
            .any(|d| d.join("soffice").is_file() || d.join("libreoffice").is_file())
    })
}

#[test]
fn every_manifest_case_with_the_converter() {
    assert!(
        soffice_present(),
        "LibreOffice (soffice) is not installed; the README's test command installs it (scripts/test.sh)"
    );
    for case in manifest() {
        check_case(&case, true);
    }
}

#[test]
fn every_manifest_case_without_a_converter() {
    for case in manifest() {
        check_case(&case, false);
    }
}

#[test]
fn legacy_doc_is_unsupported_without_a_converter_and_filed_with_one() {
    let case = manifest()
        .into_iter()
        .find(|c| c["file"] == "P10-sh-mixed-formats.eml")
        .unwrap();
    let doc = "上海-案例-长宁智慧银发课堂.doc";
    let (off, _s1) = run_case(&case, false);
    let a = find(
        &off["P10-sh-mixed-formats.eml"],
        &serde_json::json!({"filename": doc}),
    )
    .unwrap();
    assert_eq!(
        codes(&a["errors"]),
        BTreeSet::from(["unsupported_format".to_string()])
    );
    assert!(a["entry"].is_null());
    if soffice_present() {
        let (on, _s2) = run_case(&case, true);
        let a = find(
            &on["P10-sh-mixed-formats.eml"],
            &serde_json::json!({"filename": doc}),
        )
        .unwrap();
        assert_eq!(a["entry"]["status"], "valid");
        assert_eq!(a["kind"], "case");
    }
}
