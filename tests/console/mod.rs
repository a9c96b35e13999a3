//! A running console for the console tests: a registry made from the real sample messages
//! (`lndx ingest`) plus one hostile message whose subject, file name and unit carry HTML
//! and script, accounts of every role made with `lndx user add`, and `lndx run` serving
//! on a free loopback port. Stopped (SIGTERM, then SIGKILL) when dropped.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::util::{fixture, sample_messages, Scratch};

pub mod client;

/// The roles accounts are made for, with the province a province account sees.
pub const ACCOUNTS: &[(&str, &str, Option<&str>)] = &[
    ("admin@nou.test", "admin", None),
    ("staff@nou.test", "staff", None),
    ("viewer@moe.test", "viewer", None),
    ("gd@gd.test", "province", Some("GD")),
    ("zj@zj.test", "province", Some("ZJ")),
    ("expert@nou.test", "expert", None),
];

/// Where the weekly report goes.
pub const REPORT_TO: &str = "report@moe.test";

/// What carries markup in the hostile message.
pub const HOSTILE_SUBJECT: &str = "<script>alert('subject')</script>广东补报";
pub const HOSTILE_FILE: &str = "<img src=x onerror=alert(1)>案例.docx";
pub const HOSTILE_UNIT: &str = "<script>alert(3)</script>";

pub struct Console {
    pub scratch: Scratch,
    pub port: u16,
    child: Child,
    /// Sign-in links by account, as `lndx user add` printed them (last line).
    pub links: Vec<(String, String)>,
    /// Every stored message's ingest result, in order.
    pub results: Vec<serde_json::Value>,
    pub log: PathBuf,
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The sample P01 form with `HOSTILE_UNIT` added to its unit text, in a message from a
/// registered Guangdong address whose subject and attachment name carry markup.
fn hostile_message(dir: &std::path::Path) -> PathBuf {
    let docx = std::fs::read(fixture("forms/P01-gd-case.docx")).unwrap();
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
        if name == "word/document.xml" {
            let xml = String::from_utf8(bytes).unwrap();
            let escaped = HOSTILE_UNIT.replace('<', "&lt;").replace('>', "&gt;");
            // The unit's cell holds exactly the unit's name.
            let xml = xml.replacen(">广东开放大学<", &format!(">广东开放大学{escaped}<"), 1);
            bytes = xml.into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    let docx = out.finish().unwrap().into_inner();
    let b64 = base64::engine::general_purpose::STANDARD;
    let body: String = b64
        .encode(&docx)
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let subject = format!("=?UTF-8?B?{}?=", b64.encode(HOSTILE_SUBJECT));
    let filename: String = HOSTILE_FILE
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let eml = format!(
        "From: =?UTF-8?B?{}?= <hacker@gd.test>\r\nTo: lndx@ouchn.test\r\nSubject: {subject}\r\n\
         Date: Tue, 26 Oct 2021 10:00:00 +0800\r\nMessage-ID: <hostile-1@gd.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n见附件。\r\n\
         --b1\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\
         Content-Disposition: attachment; filename*=UTF-8''{filename}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}--b1--\r\n",
        b64.encode("<b>黑客</b>")
    );
    let p = dir.join("hostile.eml");
    std::fs::write(&p, eml).unwrap();
    p
}

impl Console {
    /// Ingests the samples and the hostile message, makes the accounts and starts `lndx run`.
    pub fn start(tag: &str) -> Console {
        let scratch = Scratch::new(tag);
        let mut files = sample_messages();
        files.push(hostile_message(&scratch.dir));
        let results = scratch.ingest(None, &files);
        let port = free_port();
        // The weekly report has a recipient (the console can send one) but no schedule
        // of its own, so no report appears in the outbox at a time the test cannot know.
        let cfg = scratch.config(&format!(
            "[web]\nlisten = \"127.0.0.1:{port}\"\n\n[report]\nto = [\"{REPORT_TO}\"]\nenabled = false\n"
        ));
        let mut links = Vec::new();
        for (email, role, province) in ACCOUNTS {
            let mut args = vec!["user", "add", email, "--role", role];
            if let Some(p) = province {
                args.extend(["--province", p]);
            }
            let out = scratch.lndx(Some(&cfg), &args);
            assert!(
                out.status.success(),
                "user add: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let stdout = String::from_utf8(out.stdout).unwrap();
            let link = stdout.lines().last().unwrap().to_string();
            assert!(
                link.starts_with(&format!("http://127.0.0.1:{port}/signin/")),
                "{stdout}"
            );
            links.push((email.to_string(), link));
        }
        let log = scratch.dir.join("run.log");
        let child = Command::new(env!("CARGO_BIN_EXE_lndx"))
            .arg("--data-dir")
            .arg(scratch.data())
            .arg("--rules")
            .arg(scratch.rules())
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .current_dir(&scratch.dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start lndx run");
        let c = Console {
            scratch,
            port,
            child,
            links,
            results,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the console did not come up: {}",
                std::fs::read_to_string(&c.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn link(&self, email: &str) -> String {
        self.links
            .iter()
            .find(|(e, _)| e == email)
            .map(|(_, l)| l.clone())
            .unwrap()
    }

    /// A fresh sign-in link for an account (`lndx user link`).
    pub fn new_link(&self, email: &str) -> String {
        let cfg = self.scratch.dir.join("lndx.toml");
        let out = self.scratch.lndx(Some(&cfg), &["user", "link", email]);
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_string()
    }

    /// The receipts filed for a province, from the ingest results.
    pub fn receipts_of(&self, province: &str) -> Vec<String> {
        self.results
            .iter()
            .filter(|r| r["province"] == province)
            .flat_map(|r| r["attachments"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a["entry"]["receipt"].as_str().map(String::from))
            .collect()
    }

    /// The stored message ids of a province, from the ingest results.
    pub fn messages_of(&self, province: &str) -> Vec<i64> {
        self.results
            .iter()
            .filter(|r| r["province"] == province)
            .filter_map(|r| r["stored_id"].as_i64())
            .collect()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.scratch.data().join("lndx.db")).unwrap()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-15")
            .arg(self.child.id().to_string())
            .status();
        let end = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 专家评议 for the console's review pages: the console's expert account and three more
/// experts, a round over batch 1 (two experts per entry, due far ahead) in which the
/// console's expert reviews at least two entries, published (invitations queued).
impl Console {
    /// Every criterion key of a kind (its own and the general ones), as lndx's own rubric
    /// loader reads them from the scratch rules.
    pub fn criterion_keys(&self, kind: &str) -> Vec<String> {
        let rules = self.scratch.rules();
        let campaign = lndx::campaign::Campaign::load(&rules).expect("the scratch rules");
        let rubric = lndx::review::Rubric::load(&rules, &campaign).expect("review.toml");
        let kind = campaign.kind(kind).expect("a kind of the rules");
        rubric
            .criteria(kind)
            .iter()
            .map(|c| c.key.clone())
            .collect()
    }

    pub const EXPERT: &'static str = "expert@nou.test";

    /// Makes and publishes the round; returns its id and the outbox files before it.
    pub fn published_round(&self) -> (String, usize) {
        self.published_round_with(&[])
    }

    /// As [`Console::published_round`], with more `review round create` options.
    pub fn published_round_with(&self, options: &[&str]) -> (String, usize) {
        let cfg = self.scratch.dir.join("lndx.toml");
        let lndx = |args: &[&str]| -> String {
            let out = self.scratch.lndx(Some(&cfg), args);
            assert!(
                out.status.success(),
                "lndx {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        for (email, name, province) in [
            (Self::EXPERT, "评审甲", "四川"),
            ("x2@experts.test", "评审乙", "湖南"),
            ("x3@experts.test", "评审丙", "湖北"),
            ("x4@experts.test", "评审丁", "云南"),
        ] {
            lndx(&[
                "review",
                "expert",
                "add",
                email,
                "--name",
                name,
                "--province",
                province,
                "--expertise",
                "案例、项目、课程",
            ]);
        }
        let mut create = vec![
            "review",
            "round",
            "create",
            "--batch",
            "1",
            "--per-entry",
            "2",
            "--due",
            "2031-01-20",
        ];
        create.extend_from_slice(options);
        let out = lndx(&create);
        let round = out.lines().last().unwrap().trim().to_string();
        let doc: serde_json::Value =
            serde_json::from_str(&lndx(&["review", "assign", &round, "--json"])).unwrap();
        let list = doc["assignments"].as_array().unwrap();
        let mine = |r: &str| {
            list.iter()
                .any(|a| a["receipt"] == r && a["expert"] == Self::EXPERT)
        };
        let mut count = list.iter().filter(|a| a["expert"] == Self::EXPERT).count();
        let receipts: Vec<String> = list
            .iter()
            .map(|a| a["receipt"].as_str().unwrap().to_string())
            .collect();
        for r in receipts {
            if count >= 2 {
                break;
            }
            if !mine(&r) {
                lndx(&["review", "adjust", &round, &r, "--add", Self::EXPERT]);
                count += 1;
            }
        }
        let before = self.scratch.outbox_files().len();
        lndx(&["review", "publish", &round]);
        (round, before)
    }
}
