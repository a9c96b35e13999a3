//! `lndx check --json FORM`: a province checks its forms before sending them.

mod util;

use util::{fixture, Scratch};

#[test]
fn check_reports_codes_without_filing() {
    let s = Scratch::new("check");
    let out = s.lndx(
        None,
        &[
            "check",
            "--json",
            fixture("forms/P04-sc-case.docx").to_str().unwrap(),
            fixture("forms/P10-sh-project-docm.docm").to_str().unwrap(),
            fixture("forms/P02-zj-project.docx").to_str().unwrap(),
        ],
    );
    // A form to fix and a macro document: exit 1 (`docs/commands.md`), with the result.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = v["attachments"].as_array().unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(a[0]["kind"], "case");
    assert_eq!(a[0]["entry"]["status"], "invalid");
    let e = &a[0]["errors"][0];
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("too_long"), Some("practice"))
    );
    assert_eq!(
        (e["limit"].as_u64(), e["actual"].as_u64()),
        (Some(1500), Some(1622))
    );
    assert_eq!(a[1]["errors"][0]["code"], "macro_document");
    assert_eq!(a[2]["entry"]["status"], "valid");
    assert_eq!(a[2]["entry"]["fields"]["sessions"], 24);
    assert!(a[2]["entry"]["receipt"].is_null(), "nothing is filed");
    assert!(
        !s.data().join("lndx.db").exists() || {
            let out = s.lndx(None, &["registry", "list", "--json"]);
            out.stdout.is_empty()
        }
    );
}

#[test]
fn unreadable_input_is_a_clear_error() {
    let s = Scratch::new("check-missing");
    let out = s.lndx(None, &["check", "--json", "/nonexistent/form.docx"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read /nonexistent/form.docx"), "{err}");
    let out = s.lndx(None, &["ingest", "--json", "/nonexistent/m.eml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_broken_rules_file_names_file_and_line() {
    let s = Scratch::new("badrules");
    std::fs::write(
        s.rules().join("provinces.toml"),
        "provinces = [\n  { code = \"BJ\", name = \"北京市\" short = \"北京\" },\n]\n",
    )
    .unwrap();
    let out = s.lndx(
        None,
        &[
            "check",
            "--json",
            fixture("forms/P02-zj-project.docx").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("provinces.toml") && err.contains("line 2"),
        "{err}"
    );
}

#[test]
fn encrypted_opendocument_and_legacy_files() {
    let s = Scratch::new("check-formats");
    let f = |n: &str| fixture(&format!("files/{n}")).to_str().unwrap().to_string();
    let (enc, odt, xls) = (
        f("P08-cq-course-encrypted.docx"),
        f("P02-zj-course.odt"),
        f("P03-sd-summary.xls"),
    );
    // Without a converter: encrypted is encrypted, the OpenDocument file asks for
    // .docx/.xlsx, and the legacy .xls is read natively (calamine reads BIFF): it is
    // judged as the summary sheet it is, never as an unsupported format.
    let cfg = s.config("[converter]\nenabled = false\n");
    let out = s.lndx(Some(&cfg), &["check", "--json", &enc, &odt, &xls]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = v["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["errors"][0]["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        codes[..2],
        ["encrypted_document", "unsupported_format"],
        "{v}"
    );
    assert_ne!(codes[2], "unsupported_format", "{v}");
    assert_eq!(v["attachments"][2]["role"], "summary", "{v}");
    // With LibreOffice (the test command installs it): both are read.
    let out = s.lndx(None, &["check", "--json", &odt, &xls]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["attachments"][0]["kind"], "course", "{v}");
    assert_eq!(v["attachments"][0]["entry"]["status"], "valid");
    assert_eq!(v["attachments"][1]["role"], "summary");
}

/// A templates folder whose findings.toml lacks the wording of a code, names an unknown
/// one, or has a date format that cannot be used stops start-up naming the file and line.
#[test]
fn wording_without_a_code_or_with_an_unknown_one_is_refused() {
    let original = std::fs::read_to_string(util::repo().join("templates/findings.toml")).unwrap();
    let cases = [
        (
            original.replace("too_long = ", "too_longer = "),
            "no wording for \"too_long\"",
        ),
        (
            original.replace("[roles]\n", "[roles]\nvideo = \"视频\"\n"),
            "video: unknown",
        ),
        (
            original.replace("time_format = \"", "time_format = \"%Q "),
            "not a valid date format",
        ),
    ];
    for (text, want) in cases {
        let s = Scratch::new("badwording");
        let templates = s.dir.join("templates");
        std::fs::create_dir_all(&templates).unwrap();
        for e in std::fs::read_dir(util::repo().join("templates")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), templates.join(e.file_name())).unwrap();
        }
        std::fs::write(templates.join("findings.toml"), text).unwrap();
        let config = s.config("templates_dir = \"templates\"\n");
        let out = s.lndx(
            Some(&config),
            &[
                "check",
                "--json",
                fixture("forms/P02-zj-project.docx").to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{want}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("findings.toml") && err.contains("line ") && err.contains(want),
            "{want}: {err}"
        );
    }
}
