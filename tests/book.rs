//! 汇编成册 and the platform export, end to end through the real binary on a registry
//! made by `lndx ingest` of the sample messages: the PDF read back with poppler
//! (pdftotext, pdffonts, pdftoppm), the .docx read back from its XML and converted by
//! headless LibreOffice, the export checked against its JSON Schema, its files' SHA-256
//! and its LOM records' element paths; no phone number of the registry in anything public;
//! the same bytes when built twice; the second campaign's book and export.

mod util;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::events::Event;
use serde_json::Value;
use sha2::{Digest, Sha256};

use util::{fixture, repo, squeeze, Scratch};

/// The batch the tests compile: the samples' batch 2 has entries of all three kinds from
/// several provinces.
const BATCH: &str = "2";

fn run_ok(s: &Scratch, config: Option<&Path>, args: &[&str]) -> std::process::Output {
    let out = s.lndx(config, args);
    assert!(
        out.status.success(),
        "lndx {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A tool the tests need; missing is a failure (scripts/install-deps.sh installs it).
fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} is needed (scripts/install-deps.sh): {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The current valid entries of a batch as `registry list --json` gives them.
fn valid_entries(s: &Scratch, batch: &str) -> Vec<Value> {
    let out = run_ok(
        s,
        None,
        &[
            "registry", "list", "--json", "--batch", batch, "--status", "valid",
        ],
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every phone number in the registry: digit groups (hyphens allowed) of 7 digits or more
/// in any field value of any entry, read straight from the database.
fn registry_phones(data: &Path) -> BTreeSet<String> {
    let db = rusqlite::Connection::open(data.join("lndx.db")).unwrap();
    let mut st = db.prepare("SELECT fields FROM entries").unwrap();
    let mut phones = BTreeSet::new();
    for fields in st.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let v: Value = serde_json::from_str(&fields.unwrap()).unwrap();
        for (_, val) in v.as_object().unwrap() {
            let Some(text) = val.as_str() else { continue };
            for tok in text.split(|c: char| !(c.is_ascii_digit() || c == '-')) {
                let digits: String = tok.chars().filter(char::is_ascii_digit).collect();
                // Phone numbers: mobile (1…, 11 digits) or with an area code (0…).
                if (digits.len() == 11 && digits.starts_with('1'))
                    || (digits.len() >= 10 && digits.starts_with('0'))
                {
                    phones.insert(tok.trim_matches('-').to_string());
                    phones.insert(digits);
                }
            }
        }
    }
    phones
}

fn assert_no_phone(what: &str, text: &str, phones: &BTreeSet<String>) {
    let squeezed = squeeze(text);
    for p in phones {
        assert!(
            !squeezed.contains(p.as_str()),
            "{what} holds the phone number {p}"
        );
    }
}

/// A scratch registry holding every sample message.
fn registry() -> Scratch {
    let s = Scratch::new("book");
    s.ingest(None, &util::sample_messages());
    s
}

fn only_file(dir: &Path, ext: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    assert_eq!(found.len(), 1, "one .{ext} in {}: {found:?}", dir.display());
    found.into_iter().next().unwrap()
}

fn artefacts() -> PathBuf {
    let d = repo().join("target/test-artefacts/book");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The pages of a PDF as text (layout kept), and each page's printed number (the footer
/// "— N —"), if it has one.
fn pages(pdf: &Path) -> Vec<(Option<u32>, String)> {
    let text = tool(
        "pdftotext",
        &["-layout", "-enc", "UTF-8", pdf.to_str().unwrap(), "-"],
    );
    text.split('\u{c}')
        .map(|p| {
            let number = p
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .and_then(|l| {
                    let l = l.trim();
                    l.strip_prefix('—')
                        .and_then(|r| r.strip_suffix('—'))
                        .and_then(|n| n.trim().parse().ok())
                });
            (number, p.to_string())
        })
        .collect()
}

/// The page number the table of contents gives for `name`: the digits after the name and
/// its dot leader on a page that has them.
fn toc_page(pages: &[(Option<u32>, String)], name: &str) -> Option<u32> {
    let name = squeeze(name);
    for (_, text) in pages {
        let flat = squeeze(text);
        let mut from = 0;
        while let Some(at) = flat[from..].find(&name) {
            let rest = &flat[from + at + name.len()..];
            // typst puts a word joiner (U+2060) before the page number.
            let after_dots = rest.trim_start_matches(['.', '…', '·', '\u{2060}']);
            if after_dots.len() < rest.len() {
                let digits: String = after_dots
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(n) = digits.parse() {
                    return Some(n);
                }
            }
            from += at + name.len();
        }
    }
    None
}

#[test]
fn the_book_pdf_holds_every_entry_where_its_table_of_contents_says() {
    let s = registry();
    let entries = valid_entries(&s, BATCH);
    assert!(
        entries.len() >= 5,
        "the samples' batch 2: {}",
        entries.len()
    );
    let kinds: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3, "all three kinds in batch 2: {kinds:?}");
    let out = s.dir.join("book");
    run_ok(
        &s,
        None,
        &[
            "book",
            "--batch",
            BATCH,
            "--all-valid",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let pdf = only_file(&out, "pdf");
    let pages = pages(&pdf);
    let all = pages.iter().map(|(_, t)| t.as_str()).collect::<String>();
    let flat = squeeze(&all);
    // Every entry's name, and its TOC page is the page its heading stands on.
    for e in &entries {
        let name = e["name"].as_str().unwrap();
        assert!(flat.contains(&squeeze(name)), "{name} is in the PDF");
        let n = toc_page(&pages, name).unwrap_or_else(|| panic!("{name} is in the contents"));
        let (_, page) = pages
            .iter()
            .find(|(num, _)| *num == Some(n))
            .unwrap_or_else(|| panic!("a page numbered {n}"));
        let page_flat = squeeze(page);
        let at = page_flat
            .find(&squeeze(name))
            .unwrap_or_else(|| panic!("{name} stands on page {n}:\n{page}"));
        // The heading, not a mention: the entry's facts follow it.
        let unit = e["unit"].as_str().unwrap();
        assert!(
            page_flat[at..].contains(&squeeze(unit)),
            "{name}'s facts ({unit}) follow its heading on page {n}"
        );
    }
    // Entries by kind in the campaign's order (case, project, course), the cover first.
    let first = |needle: &str| flat.find(&squeeze(needle)).unwrap();
    let by_kind = |k: &str| {
        entries
            .iter()
            .filter(|e| e["kind"] == k)
            .map(|e| first(e["name"].as_str().unwrap()))
            .min()
            .unwrap()
    };
    assert!(by_kind("case") < by_kind("project") && by_kind("project") < by_kind("course"));
    assert!(flat.contains("前言") && flat.contains("目录"));
    // No phone number of the registry.
    assert_no_phone("the PDF", &all, &registry_phones(&s.data()));
    // Chinese line breaking: no line of the body starts with closing punctuation.
    // pdftotext puts a mark that typst squeezed after a closing quote (”，) on a row of its
    // own although it stands on the same line in the page (looked at in the page images), so
    // such a pair is not counted.
    for (_, page) in &pages {
        let mut prev = "";
        for line in page.lines().filter(|l| !l.trim().is_empty()) {
            let t = line.trim_start();
            let after_closing = prev
                .trim_end()
                .ends_with(['”', '’', '）', '」', '』', '》']);
            assert!(
                after_closing
                    || !t.starts_with(['，', '。', '、', '；', '！', '？', '）', '」', '』', '》']),
                "a line starts with closing punctuation: {line:?}"
            );
            prev = line;
        }
    }
    // Fonts: the CJK faces embedded, a real bold face among them.
    let fonts = tool("pdffonts", &[pdf.to_str().unwrap()]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type [encoding…] emb sub uni object ID: emb is the 5th from the end.
        assert_eq!(cols[cols.len() - 5], "yes", "embedded: {row}");
    }
    assert!(fonts.contains("NotoSerifCJK"), "{fonts}");
    assert!(fonts.contains("NotoSansCJK"), "{fonts}");
    assert!(
        rows.iter().any(|r| r.contains("CJK") && r.contains("Bold")),
        "a real bold face: {fonts}"
    );
    // A few pages as pictures, kept to look at.
    let prefix = artefacts().join("page");
    tool(
        "pdftoppm",
        &[
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "6",
            "-png",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    std::fs::copy(&pdf, artefacts().join("book.pdf")).unwrap();
}

/// Paragraph texts of a .docx with the given style.
fn docx_paragraphs(docx: &[u8], style: &str) -> Vec<String> {
    let xml = zip_member(docx, "word/document.xml");
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut out = Vec::new();
    let mut in_p = false;
    let mut p_style = String::new();
    let mut text = String::new();
    let mut in_t = false;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == "w:p" => {
                in_p = true;
                p_style.clear();
                text.clear();
            }
            Event::Empty(e) | Event::Start(e) if e.name().as_ref() == "w:pStyle" && in_p => {
                for a in e.attributes() {
                    let a = a.unwrap();
                    if a.key.as_ref() == "w:val" {
                        p_style = a.value.to_string();
                    }
                }
            }
            Event::Start(e) if e.name().as_ref() == "w:t" => in_t = true,
            Event::End(e) if e.name().as_ref() == "w:t" => in_t = false,
            Event::Text(t) if in_t => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_t => {
                let s = format!("&{};", &*r);
                text.push_str(&quick_xml::escape::unescape(&s).unwrap());
            }
            Event::End(e) if e.name().as_ref() == "w:p" => {
                in_p = false;
                if p_style == style {
                    out.push(text.clone());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn zip_member(zip: &[u8], name: &str) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut f = z
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the zip"));
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    v
}

#[test]
fn the_book_docx_has_heading_styles_east_asian_fonts_a_toc_field_and_opens_in_libreoffice() {
    let s = registry();
    let entries = valid_entries(&s, BATCH);
    let out = s.dir.join("book");
    run_ok(
        &s,
        None,
        &[
            "book",
            "--batch",
            BATCH,
            "--all-valid",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let docx_path = only_file(&out, "docx");
    let docx = std::fs::read(&docx_path).unwrap();
    // Headings read back: one Heading 2 per entry, the names of the registry.
    let h2: BTreeSet<String> = docx_paragraphs(&docx, "Heading2").into_iter().collect();
    let names: BTreeSet<String> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(h2, names);
    let h1 = docx_paragraphs(&docx, "Heading1");
    assert!(h1.len() >= 4, "前言 and one part per kind: {h1:?}");
    assert!(!docx_paragraphs(&docx, "Heading3").is_empty());
    // East Asian fonts on the styles and the runs; a TOC field.
    let styles = String::from_utf8(zip_member(&docx, "word/styles.xml")).unwrap();
    let document = String::from_utf8(zip_member(&docx, "word/document.xml")).unwrap();
    assert!(
        styles.contains("w:eastAsia=\"黑体\""),
        "heading styles name 黑体"
    );
    assert!(
        styles.contains("w:eastAsia=\"宋体\""),
        "body style names 宋体"
    );
    assert!(
        document.contains("w:eastAsia="),
        "runs name their East Asian font"
    );
    assert!(document.contains("TOC \\o"), "a table-of-contents field");
    assert_no_phone("the .docx", &document, &registry_phones(&s.data()));
    // LibreOffice opens it: converted headless with a profile of its own.
    let profile = s.dir.join("lo-profile");
    let converted = s.dir.join("converted");
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&converted)
        .arg(&docx_path)
        .output()
        .expect("soffice (scripts/install-deps.sh)");
    assert!(status.status.success(), "{status:?}");
    let pdf = only_file(&converted, "pdf");
    let text = squeeze(&tool("pdftotext", &[pdf.to_str().unwrap(), "-"]));
    for n in &names {
        assert!(text.contains(&squeeze(n)), "{n} in LibreOffice's rendering");
    }
    std::fs::copy(&pdf, artefacts().join("book-docx-libreoffice.pdf")).unwrap();
}

#[test]
fn book_and_export_are_the_same_bytes_when_made_twice() {
    let s = registry();
    let mut books = Vec::new();
    let mut zips = Vec::new();
    for i in 0..2 {
        let out = s.dir.join(format!("book{i}"));
        run_ok(
            &s,
            None,
            &[
                "book",
                "--batch",
                BATCH,
                "--all-valid",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        books.push((
            std::fs::read(only_file(&out, "pdf")).unwrap(),
            std::fs::read(only_file(&out, "docx")).unwrap(),
        ));
        let zip = s.dir.join(format!("export{i}.zip"));
        run_ok(
            &s,
            None,
            &[
                "export",
                "platform",
                "--batch",
                BATCH,
                "--all-valid",
                "--include-contacts",
                "--out",
                zip.to_str().unwrap(),
            ],
        );
        zips.push(std::fs::read(&zip).unwrap());
    }
    assert!(books[0].0 == books[1].0, "the PDF is the same bytes");
    assert!(books[0].1 == books[1].1, "the .docx is the same bytes");
    assert!(zips[0] == zips[1], "the export is the same bytes");
}

/// Every member of a zip, OOXML members unpacked too, as (name, bytes).
fn members(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        if name.ends_with(".xlsx") || name.ends_with(".docx") {
            for (inner, bytes) in members(&v) {
                out.push((format!("{name}!{inner}"), bytes));
            }
        }
        out.push((name, v));
    }
    out
}

/// Paths of the elements of an XML document ("lom/general/title/string") with their text.
fn element_paths(xml: &[u8]) -> Vec<(String, String)> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                stack.push(e.local_name().as_ref().to_string());
                out.push((stack.join("/"), String::new()));
            }
            Event::Empty(e) => {
                stack.push(e.local_name().as_ref().to_string());
                out.push((stack.join("/"), String::new()));
                stack.pop();
            }
            Event::Text(t) => {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(last) = out.last_mut() {
                    let s = format!("&{};", &*r);
                    last.1.push_str(&quick_xml::escape::unescape(&s).unwrap());
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "every element closed");
    out
}

#[test]
fn the_platform_export_validates_and_keeps_contacts_out_unless_asked() {
    let s = registry();
    let entries = valid_entries(&s, BATCH);
    let phones = registry_phones(&s.data());
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/platform-manifest.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    for contacts in [false, true] {
        let zip_path = s.dir.join(format!("export-{contacts}.zip"));
        let mut args = vec!["export", "platform", "--batch", BATCH, "--all-valid"];
        if contacts {
            args.push("--include-contacts");
        }
        args.extend(["--out", zip_path.to_str().unwrap()]);
        run_ok(&s, None, &args);
        let zip = std::fs::read(&zip_path).unwrap();
        let all = members(&zip);
        let get = |name: &str| {
            &all.iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{name} in the export"))
                .1
        };
        let manifest: Value = serde_json::from_slice(get("manifest.json")).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&manifest)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "manifest.json against its schema: {errors:#?}"
        );
        assert_eq!(manifest["contacts_included"], contacts);
        let items = manifest["items"].as_array().unwrap();
        let receipts: BTreeSet<&str> = items
            .iter()
            .map(|i| i["receipt"].as_str().unwrap())
            .collect();
        let expected: BTreeSet<&str> = entries
            .iter()
            .map(|e| e["receipt"].as_str().unwrap())
            .collect();
        assert_eq!(receipts, expected);
        // Every file listed is in the zip with the size and SHA-256 the manifest gives.
        let mut listed = BTreeSet::new();
        for item in items {
            for f in item["files"].as_array().unwrap() {
                let path = f["path"].as_str().unwrap();
                let bytes = get(path);
                assert_eq!(bytes.len() as u64, f["size"].as_u64().unwrap(), "{path}");
                assert_eq!(hex::encode(Sha256::digest(bytes)), f["sha256"], "{path}");
                listed.insert(path.to_string());
            }
            // The form travels with the contacts only.
            let has_form = item["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["role"] == "form");
            assert_eq!(has_form, contacts, "{}", item["receipt"]);
        }
        let in_zip: BTreeSet<String> = all
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| n.starts_with("files/") && !n.contains('!'))
            .collect();
        assert_eq!(in_zip, listed, "the files in the zip are the ones listed");
        // items.xlsx has a row per item.
        let shared = String::from_utf8(get("items.xlsx!xl/sharedStrings.xml").clone()).unwrap();
        for r in &receipts {
            assert!(shared.contains(r), "{r} in items.xlsx");
        }
        // LOM: one per course, well-formed, with the documented element paths.
        for item in items {
            let lom = item["lom"].as_str();
            assert_eq!(
                lom.is_some(),
                item["kind"]["key"] == "course",
                "{}",
                item["receipt"]
            );
            let Some(lom) = lom else { continue };
            let paths = element_paths(get(lom));
            let value = |p: &str| {
                paths
                    .iter()
                    .find(|(q, _)| q == p)
                    .map(|(_, v)| v.trim().to_string())
                    .unwrap_or_else(|| panic!("{p} in {lom}"))
            };
            assert_eq!(
                value("lom/general/title/string"),
                item["name"].as_str().unwrap()
            );
            assert_eq!(value("lom/general/language"), "zh");
            assert_eq!(
                value("lom/general/identifier/entry"),
                item["receipt"].as_str().unwrap()
            );
            assert!(!value("lom/general/description/string").is_empty());
            assert!(
                value("lom/lifeCycle/contribute/entity").contains(item["unit"].as_str().unwrap())
            );
            assert_eq!(value("lom/lifeCycle/contribute/role/value"), "author");
            assert_eq!(value("lom/educational/language"), "zh");
            assert!(value("lom/rights/description/string").contains('：'));
            value("lom/rights/copyrightAndOtherRestrictions/value");
            let duration = paths
                .iter()
                .find(|(q, _)| q == "lom/educational/typicalLearningTime/duration");
            let minutes = item["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["key"] == "video_minutes");
            assert_eq!(
                duration.is_some(),
                minutes,
                "a duration when the video length is known"
            );
            if let Some((_, d)) = duration {
                assert!(d.starts_with("PT") && d.len() > 2, "{d}");
            }
            if !item["files"].as_array().unwrap().is_empty() {
                value("lom/technical/format");
            }
        }
        // Phone numbers: nowhere without --include-contacts; in the manifest with it.
        let manifest_text = String::from_utf8(get("manifest.json").clone()).unwrap();
        if contacts {
            let present = phones.iter().any(|p| manifest_text.contains(p.as_str()));
            assert!(present, "the contacts' phone numbers are in the manifest");
        } else {
            for (name, bytes) in &all {
                let text = String::from_utf8_lossy(bytes);
                assert_no_phone(name, &text, &phones);
            }
        }
    }
}

#[test]
fn without_published_decisions_the_book_and_export_say_so() {
    let s = registry();
    let out = s.dir.join("book");
    for args in [
        vec![
            "book",
            "--batch",
            BATCH,
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
        vec![
            "export", "platform", "--batch", BATCH, "--json", "--out", "x.zip",
        ],
    ] {
        let o = s.lndx(None, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["code"], "no_published_decisions", "{v}");
        assert!(v["message"].as_str().unwrap().contains("--all-valid"));
    }
    let o = s.lndx(
        None,
        &[
            "book",
            "--batch",
            "9",
            "--all-valid",
            "--json",
            "--out",
            "b",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["code"], "unknown_batch");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn the_second_campaign_gets_its_own_book_and_export() {
    let dir = fixture("campaign-xxz");
    let s = Scratch::with_rules("book-xxz", &dir.join("rules"));
    let mut messages: Vec<PathBuf> = std::fs::read_dir(dir.join("messages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    messages.sort();
    let config = s.config(&format!(
        "templates_dir = {:?}\n",
        dir.join("templates").display().to_string()
    ));
    s.ingest(Some(&config), &messages);
    let entries = valid_entries(&s, "1");
    assert!(entries.len() >= 2, "{entries:?}");
    let out = s.dir.join("book");
    run_ok(
        &s,
        Some(&config),
        &[
            "book",
            "--batch",
            "1",
            "--all-valid",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let pdf = only_file(&out, "pdf");
    assert!(pdf
        .file_name()
        .unwrap()
        .to_string_lossy()
        .contains("第一批"));
    let text = tool("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    let flat = squeeze(&text);
    for e in &entries {
        assert!(
            flat.contains(&squeeze(e["name"].as_str().unwrap())),
            "{}",
            e["name"]
        );
    }
    assert!(!flat.contains("智慧助老"), "nothing of the other campaign");
    let phones = registry_phones(&s.data());
    assert!(!phones.is_empty());
    assert_no_phone("the second campaign's PDF", &text, &phones);
    let zip = s.dir.join("xxz.zip");
    run_ok(
        &s,
        Some(&config),
        &[
            "export",
            "platform",
            "--batch",
            "1",
            "--all-valid",
            "--out",
            zip.to_str().unwrap(),
        ],
    );
    let manifest: Value =
        serde_json::from_slice(&zip_member(&std::fs::read(&zip).unwrap(), "manifest.json"))
            .unwrap();
    assert_eq!(manifest["campaign"]["code"], "XXZ-2026");
    assert_eq!(manifest["items"].as_array().unwrap().len(), entries.len());
    assert!(
        manifest["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["lom"].is_null()),
        "no kind of this campaign has a video"
    );
    assert_no_phone(
        "the second campaign's manifest",
        &manifest.to_string(),
        &phones,
    );
}
