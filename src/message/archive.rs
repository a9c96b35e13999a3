//! Archives: lists the members of an attached zip, RAR, 7z or TNEF (`winmail.dat`) within
//! the limits (docs/intake.md#limits).
//!
//! Owns: member names (UTF-8 when flagged or valid, else GBK/GB18030 as Chinese Windows
//! tools write them), the member-count, unpacked-total, per-member ratio and file-size limits
//! (enforced while reading, never trusting declared sizes), encrypted and corrupt members,
//! and nested archives up to the nesting limit. Zips are read with the `zip` crate, RAR and
//! 7z with libarchive ([`super::libarchive`]), TNEF by [`super::tnef`]. Everything stays in
//! memory: names from archives are never used as paths.

use std::io::{Cursor, Read};

use super::filename::{clean_path, decode_raw, sanitize};
use super::libarchive::{self, ArchiveError};
use super::sniff::{sniff, FileType};
use super::tnef;
use super::{File, FileProblem, Limits};

/// Below this many unpacked bytes the compression ratio is not checked (small, very
/// repetitive text files legitimately compress better than 100:1).
const RATIO_FLOOR: u64 = 1024 * 1024;

/// Decodes a zip member name: UTF-8 when valid (the flag-bit-11 case), else GB18030.
pub fn member_name(raw: &[u8]) -> String {
    decode_raw(raw)
}

/// Lists the members of the archive `bytes` (of type `kind`, named `archive_name`, at
/// nesting level `depth`, 1 for an attached archive) into `out`. `budget` is the number of
/// unpacked bytes still allowed for the outermost archive. Returns a problem with the
/// archive itself, if any.
pub fn expand(
    bytes: &[u8],
    kind: FileType,
    archive_name: &str,
    depth: usize,
    limits: &Limits,
    budget: &mut u64,
    out: &mut Vec<File>,
) -> Option<FileProblem> {
    match kind {
        FileType::Rar | FileType::SevenZ => {
            expand_libarchive(bytes, archive_name, depth, limits, budget, out)
        }
        FileType::Tnef => expand_tnef(bytes, archive_name, depth, limits, budget, out),
        _ => expand_zip(bytes, archive_name, depth, limits, budget, out),
    }
}

/// A member of `archive_name` named `name` as written in it (the `index`-th, from 0).
fn member(archive_name: &str, name: Option<&str>, index: usize) -> File {
    let name = name.unwrap_or("");
    File {
        filename: sanitize(name).unwrap_or_else(|| format!("member-{}", index + 1)),
        bytes: Vec::new(),
        file_type: FileType::Unknown,
        container: Some(archive_name.to_string()),
        path_in_container: Some(clean_path(name)),
        problem: None,
    }
}

fn too_many(limits: &Limits, actual: Option<u64>) -> FileProblem {
    FileProblem::TooLarge {
        what: "archive members".into(),
        limit: limits.zip_members as u64,
        actual,
    }
}

fn expand_zip(
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
    let mut problem = (count > limits.zip_members).then(|| too_many(limits, Some(count as u64)));
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
        let mut member = member(archive_name, Some(&entry.name), i);
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
            actual: Some(actual),
        }
    }

    /// Reads `source` to its end within the cap; what was read counts against `budget`.
    /// `declared` (a size the archive states) only raises the reported size.
    fn read(
        self,
        source: &mut dyn Read,
        declared: u64,
        budget: &mut u64,
    ) -> Result<Result<Vec<u8>, std::io::Error>, FileProblem> {
        let mut buf = Vec::new();
        let read = source
            .take(self.bytes.saturating_add(1))
            .read_to_end(&mut buf);
        let got = buf.len() as u64;
        *budget = budget.saturating_sub(got.min(self.bytes));
        if got > self.bytes {
            return Err(self.exceeded(got.max(declared)));
        }
        Ok(read.map(|_| buf))
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
    cap.read(&mut file, entry.declared, budget)?
        .map_err(|e| FileProblem::Corrupt(format!("zip member: {e}")))
}

/// RAR and 7z through libarchive. Members are read in order, each within its [`Cap`]; the
/// ratio cap takes the whole archive's size as the member's packed size (libarchive does
/// not tell a member's, and a solid archive has none). After a member over a cap the
/// archive is not read further: in a solid archive reaching the next member means
/// unpacking the rest of this one, however large. An archive whose first header cannot be
/// read is `Unsupported`: libarchive does not read every variant (old RAR 1.x/2.x, some
/// RAR5 and 7-Zip features), so damage and an unknown variant look alike, and the useful
/// answer to both is to ask for a zip.
fn expand_libarchive(
    bytes: &[u8],
    archive_name: &str,
    depth: usize,
    limits: &Limits,
    budget: &mut u64,
    out: &mut Vec<File>,
) -> Option<FileProblem> {
    let refused = |e: ArchiveError| match e {
        ArchiveError::Encrypted(_) => FileProblem::Encrypted,
        ArchiveError::Failed(why) => FileProblem::Unsupported(why),
    };
    let mut reader = match libarchive::Reader::open(bytes) {
        Ok(r) => r,
        Err(e) => return Some(refused(e)),
    };
    let rar5_encrypted = libarchive::rar5_encrypted_entries(bytes);
    let mut index = 0;
    loop {
        let entry = match reader.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => return None,
            Err(e) if index == 0 => return Some(refused(e)),
            Err(ArchiveError::Encrypted(_)) => return Some(FileProblem::Encrypted),
            Err(ArchiveError::Failed(why)) => return Some(FileProblem::Corrupt(why)),
        };
        if index == limits.zip_members {
            return Some(too_many(limits, None));
        }
        index += 1;
        if !entry.is_file {
            continue;
        }
        let mut file = member(archive_name, entry.name.as_deref(), index - 1);
        if entry.encrypted || rar5_encrypted.get(index - 1) == Some(&true) {
            file.problem = Some(FileProblem::Encrypted);
            out.push(file);
            continue;
        }
        let cap = Cap::of(limits, *budget, bytes.len() as u64);
        let declared = entry.declared.unwrap_or(0);
        if declared > cap.bytes {
            let problem = cap.exceeded(declared);
            file.problem = Some(problem.clone());
            out.push(file);
            return Some(problem);
        }
        match cap.read(&mut reader, declared, budget) {
            Ok(Ok(buf)) => add_member(file, buf, depth, limits, budget, out),
            Ok(Err(e)) => {
                let encrypted = e
                    .get_ref()
                    .and_then(|i| i.downcast_ref::<ArchiveError>())
                    .is_some_and(|a| matches!(a, ArchiveError::Encrypted(_)));
                file.problem = Some(if encrypted {
                    FileProblem::Encrypted
                } else {
                    FileProblem::Corrupt(format!("archive member: {e}"))
                });
                out.push(file);
                // libarchive cannot go on after a failed read.
                return None;
            }
            Err(problem) => {
                file.problem = Some(problem.clone());
                out.push(file);
                return Some(problem);
            }
        }
    }
}

/// The files of a TNEF stream (`winmail.dat`): uncompressed, so only the member count,
/// the file-size limit and the unpacked total apply.
fn expand_tnef(
    bytes: &[u8],
    archive_name: &str,
    depth: usize,
    limits: &Limits,
    budget: &mut u64,
    out: &mut Vec<File>,
) -> Option<FileProblem> {
    let (attachments, problem) = match tnef::attachments(bytes, limits.zip_members) {
        Ok((list, more)) => (list, more.then(|| too_many(limits, None))),
        Err((list, e)) => (list, Some(FileProblem::Corrupt(e.to_string()))),
    };
    for (i, a) in attachments.into_iter().enumerate() {
        let name = a.name.map(|n| match n {
            tnef::NameBytes::Unicode(s) => s,
            tnef::NameBytes::Bytes(b) => decode_raw(&b),
        });
        let mut file = member(archive_name, name.as_deref(), i);
        let cap = Cap::of(limits, *budget, u64::MAX);
        match cap.read(&mut a.bytes.as_slice(), 0, budget) {
            Ok(Ok(buf)) => add_member(file, buf, depth, limits, budget, out),
            Ok(Err(e)) => {
                file.problem = Some(FileProblem::Corrupt(format!("TNEF member: {e}")));
                out.push(file);
            }
            Err(p) => {
                file.problem = Some(p);
                out.push(file);
            }
        }
    }
    problem
}

/// Adds an unpacked member to `out`, recognised by content; a nested archive is listed
/// right after it, down to the nesting limit (beyond it the archive is kept without its
/// bytes).
fn add_member(
    mut member: File,
    buf: Vec<u8>,
    depth: usize,
    limits: &Limits,
    budget: &mut u64,
    out: &mut Vec<File>,
) {
    member.file_type = sniff(&buf, &member.filename);
    if !member.file_type.is_archive() {
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
    let kind = out[index].file_type;
    let inner_problem = expand(&buf, kind, &inner_name, depth + 1, limits, budget, out);
    out[index].bytes = buf;
    out[index].problem = inner_problem;
}
