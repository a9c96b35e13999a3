//! Every case of the samples' manifest (tests/fixtures/eml/manifest.json) through the real
//! `lndx ingest --json`, with every assertion the manifest makes — sequence cases included —
//! once with the LibreOffice converter and once with it switched off. The checker itself is
//! shared with other campaigns (tests/util/manifest.rs, tests/campaigns.rs).

mod util;

use std::collections::BTreeSet;

use util::manifest::{codes, find, Manifest};
use util::{fixture, repo, soffice_present};

fn manifest() -> Manifest {
    Manifest::load(
        &repo().join("rules"),
        &fixture("eml"),
        &fixture("eml/manifest.json"),
        "ZHZL-2021",
    )
}

#[test]
fn every_manifest_case_with_the_converter() {
    assert!(
        soffice_present(),
        "LibreOffice (soffice) is not installed; the README's test command installs it (scripts/test.sh)"
    );
    manifest().check_all(true);
}

#[test]
fn every_manifest_case_without_a_converter() {
    manifest().check_all(false);
}

#[test]
fn legacy_doc_is_unsupported_without_a_converter_and_filed_with_one() {
    let m = manifest();
    let case = m.case("P10-sh-mixed-formats.eml");
    let doc = "上海-案例-长宁智慧银发课堂.doc";
    let (off, _s1) = m.run_case(case, false);
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
        let (on, _s2) = m.run_case(case, true);
        let a = find(
            &on["P10-sh-mixed-formats.eml"],
            &serde_json::json!({"filename": doc}),
        )
        .unwrap();
        assert_eq!(a["entry"]["status"], "valid");
        assert_eq!(a["kind"], "case");
    }
}
