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
    let mut problem = (count > limits.zip_members).then(|| FileProblem::TooLarge {
        what: "zip members".into(),
        limit: limits.zip_members as u64,
        actual: count as u64,
    });
    for i in 0..count.min(limits.zip_members) {
        let entry = match Entry::read(&mut archive, i) {
            Ok(e) => e,
            Err(e) => {
                problem.get_or_insert(FileProblem::Corrupt(format!("zip entry {i}: {e}")));
                continue;
            }
        };
        if entry.is_dir {
            continue;
        }
        let mut member = File {
            filename: sanitize(&entry.name).unwrap_or_else(|| format!("member-{}", i + 1)),
            bytes: Vec::new(),
            file_type: FileType::Unknown,
            container: Some(archive_name.to_string()),
            path_in_container: Some(clean_path(&entry.name)),
            problem: None,
        };
        match read_member(&mut archive, i, &entry, limits, budget) {
            Ok(buf) => add_member(member, buf, depth, limits, budget, out),
            Err(p) => {
                member.problem = Some(p);
                out.push(member);
            }
        }
    }
    problem
}

/// What the central directory says of one member, before anything is unpacked.
struct Entry {
    /// The decoded name (see [`member_name`]).
    name: String,
    /// A folder (flagged, or named with a trailing slash): nothing to list.
    is_dir: bool,
    encrypted: bool,
    compressed: u64,
    /// The unpacked size it declares (checked, never trusted).
    declared: u64,
}

impl Entry {
    fn read(
        archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
        i: usize,
    ) -> zip::result::ZipResult<Entry> {
        let f = archive.by_index_raw(i)?;
        let name = member_name(f.name_raw());
        Ok(Entry {
            is_dir: f.is_dir() || name.ends_with('/') || name.ends_with('\\'),
            name,
            encrypted: f.encrypted(),
            compressed: f.compressed_size(),
            declared: f.size(),
        })
    }
}

/// The cap a member's unpacked bytes must stay within, and how a breach is reported.
#[derive(Clone, Copy)]
struct Cap {
    what: &'static str,
    bytes: u64,
    /// The limit named in the report (the configured total, not what was left of it).
    shown: u64,
}

impl Cap {
    /// The smallest of the file-size cap, what is left of the archive's unpacked total
    /// and the compression-ratio cap (not below [`RATIO_FLOOR`]).
    fn of(limits: &Limits, budget: u64, compressed: u64) -> Cap {
        let ratio = compressed.saturating_mul(limits.zip_ratio).max(RATIO_FLOOR);
        [
            Cap {
                what: "file size",
                bytes: limits.file_bytes,
                shown: limits.file_bytes,
            },
            Cap {
                what: "zip unpacked total",
                bytes: budget,
                shown: limits.zip_unpacked_bytes,
            },
            Cap {
                what: "zip compression ratio",
                bytes: ratio,
                shown: ratio,
            },
        ]
        .into_iter()
        .min_by_key(|c| c.bytes)
        .expect("three caps")
    }

    fn exceeded(self, actual: u64) -> FileProblem {
        FileProblem::TooLarge {
            what: self.what.into(),
            limit: self.shown,
            actual,
        }
    }
}

/// Unpacks member `i` within its [`Cap`], enforced while reading (a declared size is
/// checked first but never trusted); what was read counts against `budget`.
fn read_member(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    i: usize,
    entry: &Entry,
    limits: &Limits,
    budget: &mut u64,
) -> Result<Vec<u8>, FileProblem> {
    if entry.encrypted {
        return Err(FileProblem::Encrypted);
    }
    let cap = Cap::of(limits, *budget, entry.compressed);
    if entry.declared > cap.bytes {
        return Err(cap.exceeded(entry.declared));
    }
    let mut file = archive.by_index(i).map_err(|e| match e {
        zip::result::ZipError::UnsupportedArchive(m) if m.contains("assword") => {
            FileProblem::Encrypted
        }
        e => FileProblem::Corrupt(format!("zip member: {e}")),
    })?;
    let mut buf = Vec::new();
    let read = (&mut file)
        .take(cap.bytes.saturating_add(1))
        .read_to_end(&mut buf);
    drop(file);
    let got = buf.len() as u64;
    *budget = budget.saturating_sub(got.min(cap.bytes));
    if got > cap.bytes {
        return Err(cap.exceeded(got.max(entry.declared)));
    }
    read.map_err(|e| FileProblem::Corrupt(format!("zip member: {e}")))?;
    Ok(buf)
}

/// Adds an unpacked member to `out`, recognised by content; a nested zip is listed right
/// after it, down to the nesting limit (beyond it the zip is kept without its bytes).
fn add_member(
    mut member: File,
    buf: Vec<u8>,
    depth: usize,
    limits: &Limits,
    budget: &mut u64,
    out: &mut Vec<File>,
) {
    member.file_type = sniff(&buf, &member.filename);
    if member.file_type != FileType::Zip {
        member.bytes = buf;
        out.push(member);
        return;
    }
    if depth >= limits.nesting {
        member.problem = Some(FileProblem::TooDeep);
        out.push(member);
        return;
    }
    let inner_name = member.filename.clone();
    let index = out.len();
    out.push(member);
    let inner_problem = expand(&buf, &inner_name, depth + 1, limits, budget, out);
    out[index].bytes = buf;
    out[index].problem = inner_problem;
}
