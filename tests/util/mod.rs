//! Helpers shared by the offline integration tests: a scratch folder with a campaign's
//! rules (the shipped rules plus the samples' sender registration, unless told otherwise),
//! a runner for the real binary, and a checker of a campaign's manifest.

#![allow(dead_code)]

pub mod mail;
pub mod manifest;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

/// A scratch directory removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    /// A scratch folder with the shipped rules and the samples' senders.
    pub fn new(tag: &str) -> Scratch {
        let s = Scratch::empty(tag);
        s.copy_rules(&repo().join("rules"));
        s.register_sample_senders();
        s
    }

    /// A scratch folder with another campaign's rules folder, copied as it is.
    pub fn with_rules(tag: &str, rules: &Path) -> Scratch {
        let s = Scratch::empty(tag);
        s.copy_rules(rules);
        if rules == repo().join("rules") {
            s.register_sample_senders();
        }
        s
    }

    fn empty(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "lndx-test-{tag}-{}-{:x}",
            std::process::id(),
            rand_u64()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    pub fn rules(&self) -> PathBuf {
        self.dir.join("rules")
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("var")
    }

    pub fn outbox(&self) -> PathBuf {
        self.data().join("outbox")
    }

    fn copy_rules(&self, from: &Path) {
        let rules = self.rules();
        std::fs::create_dir_all(&rules).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), rules.join(e.file_name())).unwrap();
        }
    }

    /// Registers the samples' senders (senders.json) in the scratch rules.
    fn register_sample_senders(&self) {
        register_sample_senders(&self.rules());
    }

    /// Writes a config file and returns its path.
    pub fn config(&self, text: &str) -> PathBuf {
        let p = self.dir.join("lndx.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs `lndx --data-dir D --rules R [--config C] ARGS`.
    pub fn lndx(&self, config: Option<&Path>, args: &[&str]) -> std::process::Output {
        lndx_in(&self.dir, &self.data(), &self.rules(), config, args)
    }

    /// `ingest --json` of files in order; one JSON value per file.
    pub fn ingest(&self, config: Option<&Path>, files: &[PathBuf]) -> Vec<serde_json::Value> {
        let mut args = vec!["ingest".to_string(), "--json".to_string()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.lndx(config, &args);
        assert!(
            out.status.success(),
            "lndx ingest failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
            .collect()
    }

    /// The .eml files written to the outbox folder.
    pub fn outbox_files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.outbox())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish()
}

/// Strips white space, for comparing field values as the manifest asks.
pub fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether LibreOffice is on the PATH (the test command installs it).
pub fn soffice_present() -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p)
            .any(|d| d.join("soffice").is_file() || d.join("libreoffice").is_file())
    })
}

/// Registers the samples' senders (tests/fixtures/senders.json) in a rules folder's
/// senders.toml.
pub fn register_sample_senders(rules: &Path) {
    let senders: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("senders.json")).unwrap()).unwrap();
    let mut toml = format!("self = {}\n\n[senders]\n", senders["self"]);
    for table in ["domains", "addresses"] {
        for (k, v) in senders[table].as_object().unwrap() {
            toml.push_str(&format!("{:?} = {}\n", k, v));
        }
    }
    std::fs::write(rules.join("senders.toml"), toml).unwrap();
}

/// DIR/rules: the shipped rules with the samples' senders registered.
pub fn sample_rules_in(dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for e in std::fs::read_dir(repo().join("rules")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), rules.join(e.file_name())).unwrap();
    }
    register_sample_senders(&rules);
    rules
}

/// The sample messages (tests/fixtures/eml/*.eml), in name order.
pub fn sample_messages() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture("eml"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    v.sort();
    v
}

/// Runs `lndx --data-dir DATA --rules RULES [--config C] ARGS` in `cwd`.
pub fn lndx_in(
    cwd: &Path,
    data: &Path,
    rules: &Path,
    config: Option<&Path>,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lndx"));
    cmd.arg("--data-dir").arg(data).arg("--rules").arg(rules);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    cmd.args(args).env("LNDX_LOG", "error").current_dir(cwd);
    cmd.output().expect("run lndx")
}

/// The experts workbook (a title row, then the header, then `rows`), as staff fill it in.
pub fn experts_xlsx(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write(0, 0, "评审专家名单").unwrap();
    for (c, h) in ["姓名", "单位", "省份", "邮箱", "擅长类型"]
        .iter()
        .enumerate()
    {
        ws.write(1, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write(2 + r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}
