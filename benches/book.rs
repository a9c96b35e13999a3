//! The book of 300 entries (PDF and .docx) and the platform export of 800 entries without
//! their files, from a temporary registry filled through the registry's own filing API
//! (`store_raw`, `add_file`, `file_entry`), and prints how long each step takes.
//! Goals: book ≤ 20 s, export ≤ 2 s, on one core. Run on one core with
//! `RAYON_NUM_THREADS=1 taskset -c 0 cargo bench --bench book`.

use std::path::Path;
use std::time::Instant;

use lndx::book::{self, BookTemplate, Fonts, Parts, Selection};
use lndx::campaign::Campaign;
use lndx::config::BookConfig;
use lndx::filing::{EntryStatus, FileRole};
use lndx::message::ParseOptions;
use lndx::platform::{self, ExportParts};
use lndx::registry::{NewEntry, NewFile, Registry, SourceRef};

const SENTENCES: &[&str] = &[
    "学校围绕老年人出行、就医、消费、文娱、办事等高频事项，开发了“智能手机应用”系列课程。",
    "每讲控制在十分钟左右，配套图文并茂的大字版学习手册，将操作步骤拆解为“一步一图”。",
    "考虑到老年人学习节奏慢、记忆力下降等特点，坚持小班教学，每班不超过二十人。",
    "课堂上先示范、再模仿、后练习，学员在自己的手机上同步操作，做到学一个、会一个。",
    "项目实施以来，参训老年人能够独立使用手机扫码出行、预约就医、移动支付的比例明显提高。",
];

/// A text of about `chars` characters in paragraphs of four sentences.
fn text(seed: usize, chars: usize) -> String {
    let mut out = String::new();
    let mut i = seed;
    let mut in_par = 0;
    while out.chars().count() < chars {
        out.push_str(SENTENCES[i % SENTENCES.len()]);
        i += 1;
        in_par += 1;
        if in_par == 4 {
            out.push('\n');
            in_par = 0;
        }
    }
    out
}

/// Files `n` valid entries of batch 3 (kinds and provinces in turn) into the registry.
fn fill(reg: &mut Registry, campaign: &Campaign, n: usize) {
    let kinds: Vec<_> = campaign.kinds().collect();
    for i in 0..n {
        let raw = format!("Subject: bench {i}\r\n\r\nbench\r\n");
        let stored = reg
            .store_raw(
                raw.as_bytes(),
                &SourceRef {
                    source: "file",
                    ..Default::default()
                },
            )
            .unwrap();
        let kind = kinds[i % kinds.len()];
        let info = campaign.kind_info(kind);
        let province = &campaign.provinces[i % campaign.provinces.len()].code;
        let name = format!("第{i}号“智慧助老”示范{}", info.short);
        let fields = match kind.key() {
            "case" => serde_json::json!({
                "name": name, "unit": "某某老年大学", "leader": "张三", "leader_phone": "13800000000",
                "contact": "李四", "contact_phone": "010-12345678",
                "background": text(i, 400), "practice": text(i + 1, 1500), "results": text(i + 2, 800),
            }),
            "project" => serde_json::json!({
                "name": name, "unit": "某某社区学院", "leader": "王五", "leader_phone": "13900000000",
                "teacher": "赵六", "teacher_title": "讲师", "sessions": 12, "trainees": 735,
                "content": text(i, 800), "effect": text(i + 3, 500),
            }),
            _ => serde_json::json!({
                "name": name, "unit": "某某开放大学", "leader": "孙七", "resource_type": "视频资源",
                "video_minutes": 45.0, "shared": "是", "members": "孙七、周八、吴九",
                "awards": "", "summary": text(i, 900),
            }),
        };
        let sha = lndx::registry::sha256_hex(format!("form {i}").as_bytes());
        let tx = reg.begin().unwrap();
        let file = tx
            .add_file(&NewFile {
                message: stored.id,
                seq: 0,
                filename: "申报表.docx",
                container: None,
                path_in_container: None,
                sha256: &sha,
                size: 1000,
                file_type: "docx",
                role: FileRole::Form,
                kind: Some(kind.key()),
                errors: "[]".into(),
                warnings: "[]".into(),
            })
            .unwrap();
        tx.file_entry(&NewEntry {
            message: stored.id,
            file,
            file_sha256: &sha,
            entry_key: format!("{province}|{}|{i}", kind.key()),
            receipt_prefix: format!("{}-B3-{province}-{}", campaign.info.code, info.letter),
            province: Some(province.as_str()),
            batch: Some(3),
            late: false,
            kind: kind.key(),
            name: &name,
            unit: fields["unit"].as_str(),
            status: EntryStatus::Valid,
            fields: fields.to_string(),
            errors: "[]".into(),
            warnings: "[]".into(),
            themes: r#"["出行","就医"]"#.into(),
            arrived_at: None,
        })
        .unwrap();
        tx.commit().unwrap();
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let campaign = Campaign::load(&root.join("rules")).unwrap();
    let template = BookTemplate::load(Some(&root.join("templates")), &campaign).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut reg = Registry::open(&dir.path().join("book")).unwrap();
    let t = Instant::now();
    fill(&mut reg, &campaign, 300);
    println!("filed 300 entries: {:.2} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let fonts = Fonts::load(&BookConfig::default().fonts).unwrap();
    println!("fonts loaded: {:.2} s", t.elapsed().as_secs_f64());
    let parts = Parts {
        campaign: &campaign,
        template: &template,
        fonts: &fonts,
        date: chrono::NaiveDate::from_ymd_opt(2022, 12, 1).unwrap(),
    };
    let t = Instant::now();
    let entries = book::select(&reg, &campaign, 3, &Selection::AllValid).unwrap();
    let data = book::Book::gather(&parts, 3, &entries).unwrap();
    let gathered = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let pdf = book::pdf::typeset(&data, &template.typ, &fonts).unwrap();
    let typeset = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let docx = book::docx::write(&data, &template, parts.date).unwrap();
    let docx_s = t.elapsed().as_secs_f64();
    println!(
        "book of {} entries: select+gather {:.2} s, PDF {:.2} s ({} KB), .docx {:.2} s ({} KB); total {:.2} s (goal ≤ 20 s)",
        entries.len(),
        gathered,
        typeset,
        pdf.len() / 1024,
        docx_s,
        docx.len() / 1024,
        gathered + typeset + docx_s
    );

    let mut reg = Registry::open(&dir.path().join("export")).unwrap();
    let t = Instant::now();
    fill(&mut reg, &campaign, 800);
    println!("filed 800 entries: {:.2} s", t.elapsed().as_secs_f64());
    let parse = ParseOptions {
        own_addresses: Vec::new(),
        loop_header: "X-Lndx-Loop".into(),
        limits: Default::default(),
    };
    let parts = ExportParts {
        campaign: &campaign,
        template: &template,
        parse: &parse,
        generated: chrono::DateTime::parse_from_rfc3339("2022-12-01T00:00:00+08:00").unwrap(),
        include_contacts: false,
        include_files: false,
    };
    let t = Instant::now();
    let package = platform::export(&reg, &parts, 3, &Selection::AllValid).unwrap();
    println!(
        "export of {} entries without files: {:.2} s ({} KB) (goal ≤ 2 s)",
        package.items,
        t.elapsed().as_secs_f64(),
        package.zip.len() / 1024
    );
}
