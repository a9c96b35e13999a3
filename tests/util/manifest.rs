//! A campaign's manifest of expected results (the samples' `manifest.json` schema: one case
//! per message with `file`, optional `after`, and `expect`), checked through the real
//! `lndx ingest --json` with every assertion the manifest makes.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{squeeze, Scratch};

/// A campaign's messages and what they must give.
pub struct Manifest {
    /// The campaign's rules folder.
    pub rules: PathBuf,
    /// The folder holding the messages the cases name.
    pub messages: PathBuf,
    /// The campaign code every receipt starts with (campaign.toml `code`).
    pub receipt_prefix: String,
    pub cases: Vec<Value>,
}

impl Manifest {
    /// Reads `manifest` (a JSON list of cases) for messages in `messages`.
    pub fn load(rules: &Path, messages: &Path, manifest: &Path, receipt_prefix: &str) -> Manifest {
        let text = std::fs::read_to_string(manifest)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let cases = serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .expect("a manifest is a list of cases")
            .clone();
        assert!(!cases.is_empty(), "{}: no cases", manifest.display());
        Manifest {
            rules: rules.to_path_buf(),
            messages: messages.to_path_buf(),
            receipt_prefix: receipt_prefix.to_string(),
            cases,
        }
    }

    /// The case of a message file.
    pub fn case(&self, file: &str) -> &Value {
        self.cases
            .iter()
            .find(|c| c["file"] == file)
            .unwrap_or_else(|| panic!("no case {file}"))
    }

    /// Runs one case (its `after` files first) in a fresh registry; returns the results by
    /// file.
    pub fn run_case(&self, case: &Value, converter: bool) -> (HashMap<String, Value>, Scratch) {
        let s = Scratch::with_rules("manifest", &self.rules);
        let config = s.config(&format!("[converter]\nenabled = {converter}\n"));
        let mut files: Vec<String> = case["after"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        files.push(case["file"].as_str().unwrap().to_string());
        let paths: Vec<PathBuf> = files.iter().map(|f| self.messages.join(f)).collect();
        let results = s.ingest(Some(&config), &paths);
        assert_eq!(results.len(), files.len(), "one result per message");
        (files.into_iter().zip(results).collect(), s)
    }

    /// Every case.
    pub fn check_all(&self, converter: bool) {
        for case in &self.cases {
            check_case(self, case, converter);
        }
    }
}

pub fn codes(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Finds the attachment an expectation describes (by file name, container and path).
pub fn find<'a>(actual: &'a Value, exp: &Value) -> Option<&'a Value> {
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
    m: &Manifest,
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
            .is_some_and(|r| r.starts_with(&format!("{}-", m.receipt_prefix))),
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

/// Checks one case: its `after` messages, then its own, in a fresh registry.
pub fn check_case(m: &Manifest, case: &Value, converter: bool) {
    let file = case["file"].as_str().unwrap();
    let (results, scratch) = m.run_case(case, converter);
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
        check_attachment(m, file, e, a, &results, converter);
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
