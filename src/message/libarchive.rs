//! RAR (RAR4 and RAR5) and 7z archives, read with libarchive (the system library, BSD
//! licensed) through a small binding of our own: a reader over bytes in memory that lists
//! entries and streams their data, never touching the disk.
//!
//! Why not the `compress-tools` crate (0.16.1, the maintained binding): its iterator passes
//! `archive_entry_pathname()` to `CStr::from_ptr` unchecked, and libarchive returns NULL
//! when a name cannot be converted to the locale's charset. A 7z whose entry name holds a
//! lone UTF-16 surrogate (a 200-byte file) made it dereference NULL and kill the process
//! with SIGSEGV — a crash no `catch_unwind` stops, on input anyone can mail. Its errors
//! also do not say whether an entry is encrypted (libarchive 3.6 reports an encrypted RAR4
//! member as "Invalid PPMd sequence"), which `archive_entry_is_encrypted` does.
//!
//! Owns: the FFI declarations (libarchive 3.x, as Debian's libarchive-dev provides it), the
//! UTF-8 locale libarchive needs to convert UTF-16 names (set for the calling thread only,
//! restored afterwards), entry names (the locale form, decoded UTF-8-else-GB18030 as zip
//! names are, since RAR4 keeps 8-bit names in the sender's code page), and errors.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::io;
use std::marker::PhantomData;

use super::filename::decode_raw;

#[repr(C)]
struct RawArchive {
    _private: [u8; 0],
}

#[repr(C)]
struct RawEntry {
    _private: [u8; 0],
}

const ARCHIVE_EOF: c_int = 1;
const ARCHIVE_OK: c_int = 0;
const ARCHIVE_WARN: c_int = -20;
/// `AE_IFDIR` and `AE_IFLNK` of archive_entry.h.
const AE_IFDIR: u32 = 0o040000;
const AE_IFLNK: u32 = 0o120000;
/// `AE_IFMT`.
const AE_IFMT: u32 = 0o170000;

#[link(name = "archive")]
extern "C" {
    fn archive_read_new() -> *mut RawArchive;
    fn archive_read_support_format_7zip(a: *mut RawArchive) -> c_int;
    fn archive_read_support_format_rar(a: *mut RawArchive) -> c_int;
    fn archive_read_support_format_rar5(a: *mut RawArchive) -> c_int;
    fn archive_read_open_memory(a: *mut RawArchive, buf: *const c_void, size: usize) -> c_int;
    fn archive_read_next_header(a: *mut RawArchive, entry: *mut *mut RawEntry) -> c_int;
    fn archive_read_data(a: *mut RawArchive, buf: *mut c_void, size: usize) -> isize;
    fn archive_read_free(a: *mut RawArchive) -> c_int;
    fn archive_error_string(a: *mut RawArchive) -> *const c_char;
    fn archive_entry_pathname(e: *mut RawEntry) -> *const c_char;
    fn archive_entry_pathname_utf8(e: *mut RawEntry) -> *const c_char;
    fn archive_entry_filetype(e: *mut RawEntry) -> u32;
    fn archive_entry_size(e: *mut RawEntry) -> i64;
    fn archive_entry_size_is_set(e: *mut RawEntry) -> c_int;
    fn archive_entry_is_encrypted(e: *mut RawEntry) -> c_int;
}

/// What went wrong, with libarchive's own words for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// The archive, or this entry, is password-protected.
    #[error("encrypted: {0}")]
    Encrypted(String),
    #[error("{0}")]
    Failed(String),
}

/// One entry's header.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The decoded name, when libarchive could give one.
    pub name: Option<String>,
    /// Not a folder or a symbolic link: a file to list. (An entry 7-Zip stored from
    /// standard input has no type at all.)
    pub is_file: bool,
    pub encrypted: bool,
    /// The unpacked size the archive declares (checked, never trusted).
    pub declared: Option<u64>,
}

/// A reader of one RAR or 7z archive held in memory.
pub struct Reader<'a> {
    raw: *mut RawArchive,
    _locale: Utf8Locale,
    _bytes: PhantomData<&'a [u8]>,
}

impl<'a> Reader<'a> {
    /// Opens `bytes` as RAR, RAR5 or 7z (no other format, no filters).
    pub fn open(bytes: &'a [u8]) -> Result<Reader<'a>, ArchiveError> {
        let locale = Utf8Locale::enter();
        // SAFETY: a fresh handle; it is freed in Drop (also when opening fails below).
        let raw = unsafe { archive_read_new() };
        if raw.is_null() {
            return Err(ArchiveError::Failed("libarchive: no memory".into()));
        }
        let reader = Reader {
            raw,
            _locale: locale,
            _bytes: PhantomData,
        };
        // SAFETY: `raw` is valid; the buffer outlives the reader ('a), which is all
        // archive_read_open_memory asks.
        let status = unsafe {
            archive_read_support_format_rar(raw);
            archive_read_support_format_rar5(raw);
            archive_read_support_format_7zip(raw);
            archive_read_open_memory(raw, bytes.as_ptr().cast(), bytes.len())
        };
        if status != ARCHIVE_OK {
            return Err(reader.error());
        }
        Ok(reader)
    }

    /// The next entry's header; None at the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, ArchiveError> {
        let mut entry: *mut RawEntry = std::ptr::null_mut();
        // SAFETY: valid handle; libarchive sets `entry` to an object it owns, valid until
        // the next call, and we copy what we need out of it here.
        let status = unsafe { archive_read_next_header(self.raw, &mut entry) };
        match status {
            ARCHIVE_EOF => return Ok(None),
            ARCHIVE_OK | ARCHIVE_WARN if !entry.is_null() => {}
            _ => return Err(self.error()),
        }
        // SAFETY: `entry` is non-null and valid until the next header is read; every
        // string pointer is checked for NULL before it is read.
        unsafe {
            let name = [
                archive_entry_pathname(entry),
                archive_entry_pathname_utf8(entry),
            ]
            .into_iter()
            .find(|p| !p.is_null())
            .map(|p| decode_raw(CStr::from_ptr(p).to_bytes()));
            Ok(Some(Entry {
                name,
                is_file: !matches!(archive_entry_filetype(entry) & AE_IFMT, AE_IFDIR | AE_IFLNK),
                encrypted: archive_entry_is_encrypted(entry) != 0,
                declared: (archive_entry_size_is_set(entry) != 0)
                    .then(|| archive_entry_size(entry))
                    .and_then(|s| u64::try_from(s).ok()),
            }))
        }
    }

    /// libarchive's message for the last failure; encrypted archives and entries say so.
    fn error(&self) -> ArchiveError {
        // SAFETY: valid handle; the message is copied before any other call.
        let text = unsafe {
            let p = archive_error_string(self.raw);
            if p.is_null() {
                "unknown libarchive error".to_string()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        if text.to_ascii_lowercase().contains("encrypt") {
            ArchiveError::Encrypted(text)
        } else {
            ArchiveError::Failed(text)
        }
    }
}

/// The current entry's data.
impl io::Read for Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: valid handle; libarchive writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { archive_read_data(self.raw, buf.as_mut_ptr().cast(), buf.len()) };
        usize::try_from(n).map_err(|_| io::Error::other(self.error()))
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle was made by archive_read_new and is freed once.
        unsafe {
            archive_read_free(self.raw);
        }
    }
}

/// Which entries of a RAR5 archive are encrypted, in the order libarchive lists them (file
/// headers; service headers are not entries). libarchive 3.6 does not mark them
/// (`archive_entry_is_encrypted` stays 0 and reading fails with "Unsupported block header
/// size"), so the file headers' extra records are read here: a record of type 1 is "file
/// encryption" (RAR 5.0 archive format, "File encryption record"). Only headers are
/// walked, each length checked against the input; a damaged header ends the walk.
pub fn rar5_encrypted_entries(b: &[u8]) -> Vec<bool> {
    const SIGNATURE: &[u8] = b"Rar!\x1a\x07\x01\x00";
    let mut out = Vec::new();
    let Some(mut pos) = b.starts_with(SIGNATURE).then_some(SIGNATURE.len()) else {
        return out;
    };
    // At most one entry per header byte: the walk always moves forward.
    while pos < b.len() {
        let Some((size, n)) = vint(b, pos + 4) else {
            break;
        };
        let start = pos + 4 + n;
        let Some(end) = usize::try_from(size)
            .ok()
            .and_then(|s| start.checked_add(s))
        else {
            break;
        };
        let Some(header) = b.get(start..end) else {
            break;
        };
        let Some(block) = rar5_block(header) else {
            break;
        };
        if block.kind == 2 {
            out.push(block.encrypted);
        }
        if block.kind == 5 {
            break;
        }
        let Some(next) = usize::try_from(block.data)
            .ok()
            .and_then(|d| end.checked_add(d))
        else {
            break;
        };
        pos = next;
    }
    out
}

/// What matters of one RAR5 block header.
struct Rar5Block {
    kind: u64,
    data: u64,
    encrypted: bool,
}

fn rar5_block(h: &[u8]) -> Option<Rar5Block> {
    let (kind, a) = vint(h, 0)?;
    let (flags, b) = vint(h, a)?;
    let mut at = a + b;
    let mut extra = 0;
    if flags & 1 != 0 {
        let (e, n) = vint(h, at)?;
        extra = usize::try_from(e).ok()?;
        at += n;
    }
    let mut data = 0;
    if flags & 2 != 0 {
        let (d, _) = vint(h, at)?;
        data = d;
    }
    let mut encrypted = false;
    if kind == 2 && extra > 0 {
        let mut r = h.len().checked_sub(extra)?;
        while r < h.len() {
            let (size, n) = vint(h, r)?;
            let (record, _) = vint(h, r + n)?;
            encrypted |= record == 1;
            r = (r + n).checked_add(usize::try_from(size).ok()?)?;
        }
    }
    Some(Rar5Block {
        kind,
        data,
        encrypted,
    })
}

/// A RAR5 variable-length integer at `pos`: its value and length (at most 10 bytes).
fn vint(b: &[u8], pos: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *b.get(pos + i)?;
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Switches the calling thread to a UTF-8 locale while an archive is read, and back when
/// dropped. libarchive converts UTF-16 names (7z, RAR with Unicode names) to the locale's
/// charset; in the "C" locale a Rust program runs in, every non-ASCII name fails to
/// convert and comes back as NULL. Only this thread is affected (`uselocale`).
struct Utf8Locale {
    locale: libc::locale_t,
    previous: libc::locale_t,
}

impl Utf8Locale {
    fn enter() -> Utf8Locale {
        // SAFETY: newlocale with a constant name; a null result is handled (no switch).
        unsafe {
            let locale = libc::newlocale(
                libc::LC_CTYPE_MASK,
                c"C.UTF-8".as_ptr(),
                std::ptr::null_mut(),
            );
            let previous = if locale.is_null() {
                std::ptr::null_mut()
            } else {
                libc::uselocale(locale)
            };
            Utf8Locale { locale, previous }
        }
    }
}

impl Drop for Utf8Locale {
    fn drop(&mut self) {
        if self.locale.is_null() {
            return;
        }
        // SAFETY: restores the locale that was current before `enter`, then frees ours,
        // which is no longer in use by this thread.
        unsafe {
            libc::uselocale(self.previous);
            libc::freelocale(self.locale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RAR5 block: CRC (not checked here), size, then the header.
    fn block(header: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0, header.len() as u8];
        v.extend_from_slice(header);
        v
    }

    #[test]
    fn rar5_file_headers_with_an_encryption_record_are_found() {
        let mut b = b"Rar!\x1a\x07\x01\x00".to_vec();
        b.extend(block(&[1, 0, 0])); // main header
                                     // file header: type 2, flags 3 (extra area, data), extra 3 bytes, data 2 bytes,
                                     // fields (ignored here), then the extra record: size 2, type 1, one byte
        b.extend(block(&[2, 3, 3, 2, 0x55, 0x55, 2, 1, 0]));
        b.extend_from_slice(b"xx");
        // a plain file header with 1 byte of data
        b.extend(block(&[2, 2, 1, 0x55]));
        b.push(b'y');
        b.extend(block(&[5, 0, 0])); // end of archive
        assert_eq!(rar5_encrypted_entries(&b), [true, false]);
        // cut inside the second header: what was read before stays
        assert_eq!(rar5_encrypted_entries(&b[..b.len() - 13]), [true]);
        assert!(rar5_encrypted_entries(b"Rar!\x1a\x07\x00").is_empty());
    }

    #[test]
    fn variable_length_integers() {
        assert_eq!(vint(&[0x05], 0), Some((5, 1)));
        assert_eq!(vint(&[0x80, 0x01], 0), Some((128, 2)));
        assert_eq!(vint(&[0xFF; 11], 0), None);
        assert_eq!(vint(&[0x80], 0), None);
    }
}
