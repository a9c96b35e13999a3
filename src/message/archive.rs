//! Zip archives: lists the members of an attached zip within the limits (docs/intake.md#limits).
//!
//! Owns: member names (UTF-8 when flagged or valid, else GBK/GB18030 as Chinese Windows
//! tools write them), the member-count, unpacked-total, per-member ratio and file-size limits
//! (enforced while reading, never trusting declared sizes), encrypted and corrupt members,
//! and nested zips up to the nesting limit. Everything stays in memory: names from archives
//! are never used as paths.

use std::io::{Cursor, Read};

use super::filename::{clean_path, decode_raw, sanitize};
use super::sniff::{sniff, FileType};
use super::{File, FileProblem, Limits};

/// Below this many unpacked bytes the compression ratio is not checked (small, very
/// repetitive text files legitimately compress better than 100:1).
const RATIO_FLOOR: u64 = 1024 * 1024;

/// Decodes a zip member name: UTF-8 when valid (the flag-bit-11 case), else GB18030.
pub fn member_name(raw: &[u8]) -> String {
    decode_raw(raw)
}

/// Lists the members of the zip `bytes` (named `archive_name`, at nesting level `depth`,
/// 1 for an attached zip) into `out`. `budget` is the number of unpacked bytes still
/// allowed for the outermost archive. Returns a problem with the archive itself, if any.
pub fn expand(
    bytes: &[u8],
    archive_name: &str,
    depth: usize,
    limits: &Limits,
    budget: &mut u64,
    out: &mut Vec<File>,
) -> Option<FileProblem> {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => return Some(FileProblem::Corrupt(format!("zip: {e}"))),
    };
    let count = archive.len();
    let mut problem = None;
    if count > limits.zip_members {
        problem = Some(FileProblem::TooLarge {
            what: "zip members".into(),
            limit: limits.zip_members as u64,
            actual: count as u64,
        });
    }
    for i in 0..count.min(limits.zip_members) {
        let (raw_name, is_dir, encrypted, compressed, declared) = match archive.by_index_raw(i) {
            Ok(f) => (
                f.name_raw().to_vec(),
                f.is_dir(),
                f.encrypted(),
                f.compressed_size(),
                f.size(),
            ),
            Err(e) => {
                problem.get_or_insert(FileProblem::Corrupt(format!("zip entry {i}: {e}")));
                continue;
            }
        };
        let decoded = member_name(&raw_name);
        if is_dir || decoded.ends_with('/') || decoded.ends_with('\\') {
            continue;
        }
        let path = clean_path(&decoded);
        let filename = sanitize(&decoded).unwrap_or_else(|| format!("member-{}", i + 1));
        let mut member = File {
            filename,
            bytes: Vec::new(),
            file_type: FileType::Unknown,
            container: Some(archive_name.to_string()),
            path_in_container: Some(path),
            problem: None,
        };
        if encrypted {
            member.problem = Some(FileProblem::Encrypted);
            out.push(member);
            continue;
        }
        // The smallest of the three caps decides; it is enforced while reading.
        let caps = [
            ("file size", limits.file_bytes, limits.file_bytes),
            ("zip unpacked total", *budget, limits.zip_unpacked_bytes),
            (
                "zip compression ratio",
                compressed.saturating_mul(limits.zip_ratio).max(RATIO_FLOOR),
                compressed.saturating_mul(limits.zip_ratio).max(RATIO_FLOOR),
            ),
        ];
        let (what, cap, shown_limit) = caps.iter().min_by_key(|c| c.1).copied().unwrap_or((
            "file size",
            limits.file_bytes,
            limits.file_bytes,
        ));
        if declared > cap {
            member.problem = Some(FileProblem::TooLarge {
                what: what.into(),
                limit: shown_limit,
                actual: declared,
            });
            out.push(member);
            continue;
        }
        let mut file = match archive.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                member.problem = Some(match e {
                    zip::result::ZipError::UnsupportedArchive(m) if m.contains("assword") => {
                        FileProblem::Encrypted
                    }
                    e => FileProblem::Corrupt(format!("zip member: {e}")),
                });
                out.push(member);
                continue;
            }
        };
        let mut buf = Vec::new();
        let read = (&mut file)
            .take(cap.saturating_add(1))
            .read_to_end(&mut buf);
        drop(file);
        let got = buf.len() as u64;
        *budget = budget.saturating_sub(got.min(cap));
        if got > cap {
            member.problem = Some(FileProblem::TooLarge {
                what: what.into(),
                limit: shown_limit,
                actual: got.max(declared),
            });
            out.push(member);
            continue;
        }
        if let Err(e) = read {
            member.problem = Some(FileProblem::Corrupt(format!("zip member: {e}")));
            out.push(member);
            continue;
        }
        member.file_type = sniff(&buf, &member.filename);
        member.bytes = buf;
        let nested = member.file_type == FileType::Zip;
        if nested && depth >= limits.nesting {
            member.problem = Some(FileProblem::TooDeep);
            member.bytes = Vec::new();
            out.push(member);
            continue;
        }
        if nested {
            let inner_bytes = std::mem::take(&mut member.bytes);
            let inner_name = member.filename.clone();
            let index = out.len();
            out.push(member);
            let inner_problem = expand(&inner_bytes, &inner_name, depth + 1, limits, budget, out);
            out[index].bytes = inner_bytes;
            out[index].problem = inner_problem;
        } else {
            out.push(member);
        }
    }
    problem
}
