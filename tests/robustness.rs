//! Every attachment of the samples, truncated at several points or with bytes flipped,
//! sent in a message of its own: lndx answers each with a code (or files it when it still
//! reads) and never panics or exits non-zero. Also hostile messages as a whole.

mod util;

use base64::Engine;
use util::{fixture, Scratch};

fn attachments() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["forms", "files"] {
        for e in std::fs::read_dir(fixture(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".json") || name.ends_with(".md") {
                continue;
            }
            out.push((name, std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn message(i: usize, name: &str, bytes: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut body = String::new();
    for chunk in b64.as_bytes().chunks(76) {
        body.push_str(std::str::from_utf8(chunk).unwrap());
        body.push_str("\r\n");
    }
    format!(
        "Received: from x by mx; Tue, 26 Oct 2021 10:00:00 +0800\r\n\
         From: sender{i}@gd.test\r\nTo: lndx@ouchn.test\r\nSubject: test {i}\r\n\
         Message-ID: <robust-{i}@gd.test>\r\nDate: Tue, 26 Oct 2021 10:00:00 +0800\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nforms\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}--b--\r\n"
    )
    .into_bytes()
}

/// Cuts and corruptions of one file, deterministic.
fn damaged(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for pct in [1usize, 10, 35, 55, 75, 90, 99] {
        let n = bytes.len() * pct / 100;
        out.push((format!("cut{pct}"), bytes[..n].to_vec()));
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..4 {
        let mut b = bytes.to_vec();
        for _ in 0..(1 + round * 3) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % b.len().max(1);
            if let Some(x) = b.get_mut(at) {
                *x ^= (seed >> 32) as u8 | 1;
            }
        }
        out.push((format!("flip{round}"), b));
    }
    out
}

#[test]
fn damaged_attachments_are_answered_never_crash() {
    let s = Scratch::new("robust");
    let mut files = Vec::new();
    let mut i = 0;
    for (name, bytes) in attachments() {
        for (how, b) in damaged(&bytes) {
            let p = s.dir.join(format!("m{i}.eml"));
            std::fs::write(&p, message(i, &format!("{how}-{name}"), &b)).unwrap();
            files.push((p, how.starts_with("cut"), name.clone()));
            i += 1;
        }
    }
    let paths: Vec<_> = files.iter().map(|(p, _, _)| p.clone()).collect();
    let results = s.ingest(None, &paths);
    assert_eq!(results.len(), files.len());
    for ((_, cut, name), r) in files.iter().zip(&results) {
        let atts = r["attachments"].as_array().unwrap();
        assert!(
            atts[0]["filename"]
                .as_str()
                .unwrap()
                .ends_with(name.as_str()),
            "{name}: the file is reported: {r}"
        );
        if !name.ends_with(".zip") {
            assert_eq!(atts.len(), 1, "{name}: only the file is reported: {r}");
        }
        for a in atts {
            let has_code = !a["errors"].as_array().unwrap().is_empty();
            let filed = a["entry"].is_object();
            let harmless = matches!(a["role"].as_str(), Some("supporting" | "archive"));
            assert!(
                has_code || filed || harmless,
                "{name}: answered with a code: {a}"
            );
        }
        let a = &atts[0];
        let zip_based = [".docx", ".xlsx", ".docm", ".zip"]
            .iter()
            .any(|e| name.ends_with(e));
        if *cut && zip_based {
            assert!(
                !a["errors"].as_array().unwrap().is_empty(),
                "{name}: a cut OOXML/zip file has an error code: {a}"
            );
        }
        assert!(r["reply"].is_object(), "{name}: answered");
    }
    assert_eq!(s.outbox_files().len(), files.len(), "one reply each");
    let raws: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_raw_kept(&s, &raws);
}

#[test]
fn hostile_whole_messages_never_crash() {
    let s = Scratch::new("hostile");
    let sample = std::fs::read(fixture("eml/P07-fj-zip-gbk.eml")).unwrap();
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\r\n\r\n".to_vec(),
        b"garbage without headers".to_vec(),
        vec![0xff; 4096],
        sample[..sample.len() / 3].to_vec(),
        sample[..sample.len() * 2 / 3].to_vec(),
    ];
    let mut headers = String::from("From: a@gd.test\r\n");
    for i in 0..20_000 {
        headers.push_str(&format!("X-H{i}: {}\r\n", "v".repeat(10)));
    }
    headers.push_str("\r\nbody\r\n");
    inputs.push(headers.into_bytes());
    let mut deep =
        String::from("From: a@gd.test\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
    for d in 1..500 {
        deep.push_str(&format!(
            "--b{}\r\nContent-Type: multipart/mixed; boundary=\"b{d}\"\r\n\r\n",
            d - 1
        ));
    }
    inputs.push(deep.into_bytes());
    let paths: Vec<_> = inputs
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let p = s.dir.join(format!("h{i}.eml"));
            std::fs::write(&p, b).unwrap();
            p
        })
        .collect();
    let results = s.ingest(None, &paths);
    assert_eq!(results.len(), paths.len());
    for r in &results {
        assert!(
            r["stored_id"].as_i64().is_some(),
            "every message is stored: {r}"
        );
    }
    // Every raw message is kept, byte for byte, under its SHA-256.
    assert_raw_kept(&s, &inputs);
}

/// Each input stands in the raw store as `raw/<aa>/<sha256>.eml` with its exact bytes, and
/// the store holds nothing else.
fn assert_raw_kept(s: &Scratch, inputs: &[Vec<u8>]) {
    use sha2::{Digest, Sha256};
    let mut distinct = std::collections::BTreeSet::new();
    for (i, b) in inputs.iter().enumerate() {
        let sha = hex::encode(Sha256::digest(b));
        let p = s
            .data()
            .join("raw")
            .join(&sha[..2])
            .join(format!("{sha}.eml"));
        let kept = std::fs::read(&p).unwrap_or_else(|e| panic!("input {i}: {}: {e}", p.display()));
        assert_eq!(&kept, b, "input {i}: the raw copy is the message's bytes");
        distinct.insert(sha);
    }
    assert_eq!(
        walk(&s.data().join("raw")),
        distinct.len(),
        "one raw file per distinct message"
    );
}

fn walk(p: &std::path::Path) -> usize {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
