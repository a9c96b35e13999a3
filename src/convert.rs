//! Formats lndx does not read itself converted to OOXML with LibreOffice headless: legacy
//! .doc/.xls, WPS .wps/.et, OpenDocument, and the text formats Office and OA systems save
//! under .doc and .xls names (RTF, Word/Excel 2003 XML, HTML). The caller names the input's
//! real format (its extension, and the import filter where the extension alone would make
//! LibreOffice open it in the wrong application, as HTML).
//!
//! Each conversion gets its own temporary directory (`tempfile`, removed when the
//! conversion ends, whatever happened) holding the input, the output and its own
//! LibreOffice profile (concurrent runs sharing a profile silently produce nothing); input
//! and output files are named by us (never by the message). The converter runs in a
//! process group of its own and the whole group is killed after the timeout: `soffice` is
//! a launcher that forks `soffice.bin`, which a kill of the launcher alone would leave
//! running.
//!
//! The profile is made with one setting, `BlockUntrustedRefererLinks`: without it
//! LibreOffice fetches the images an HTML file links to while converting it (seen: an
//! `<img src="http://127.0.0.1:…/logo.png">` in a .doc that is HTML made LibreOffice 7.4
//! send OPTIONS and GET requests), so a mailed file could make the server call any address
//! it names, or tell its sender when the file was read. With it, no request is made
//! (tests/office.rs listens for one).

mod warm;

pub use warm::Warm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::Digest;
use wait_timeout::ChildExt;

#[derive(Debug, Clone)]
pub struct Converter {
    pub program: PathBuf,
    pub timeout: Duration,
    /// Conversions made ahead of filing by converter workers ([`Converter::prepare`]),
    /// shared by every clone; a conversion is taken out when filing asks for it.
    prepared: Prepared,
}

/// Conversions made ahead, by input (SHA-256 of the bytes, extension, filter, target),
/// each with the number of files waiting for it: several messages in flight may carry the
/// same file (a form resent, one template forwarded), and each takes its own copy.
#[derive(Debug, Clone, Default)]
struct Prepared(Arc<Mutex<HashMap<String, (Made, usize)>>>);

/// A conversion made ahead: the output, or the error as text.
type Made = Result<Vec<u8>, String>;

/// At most this many prepared conversions are kept (each is taken when its message is
/// filed; the bound only guards against a message that is never filed).
const PREPARED_MAX: usize = 2000;

/// One file to convert: what [`Converter::convert_with`] takes.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub bytes: Vec<u8>,
    pub input_ext: &'static str,
    pub import_filter: Option<&'static str>,
    pub target: &'static str,
}

fn prepared_key(bytes: &[u8], input_ext: &str, filter: Option<&str>, target: &str) -> String {
    format!(
        "{}:{input_ext}:{}:{target}",
        hex::encode(sha2::Sha256::digest(bytes)),
        filter.unwrap_or("")
    )
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot run the converter {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the converter did not finish within {0:?}")]
    Timeout(Duration),
    #[error("the converter produced no output ({0})")]
    NoOutput(String),
    #[error("temporary files: {0}")]
    Io(#[from] std::io::Error),
    /// A conversion made ahead by a converter worker failed (its error, as text).
    #[error("{0}")]
    Prepared(String),
}

impl Converter {
    /// The converter named in the config (a path, or a name looked up on PATH), or the
    /// first `soffice`/`libreoffice` on PATH. None when none is installed.
    pub fn find(configured: Option<&Path>, timeout: Duration) -> Option<Converter> {
        let candidates: Vec<PathBuf> = match configured {
            Some(p) => vec![p.to_path_buf()],
            None => vec!["soffice".into(), "libreoffice".into()],
        };
        candidates.into_iter().find_map(|c| {
            let resolved = if c.components().count() > 1 {
                Some(c).filter(|p| p.is_file())
            } else {
                which::which(&c).ok()
            };
            resolved.map(|program| Converter {
                program,
                timeout,
                prepared: Prepared::default(),
            })
        })
    }

    /// Converts `bytes` (a file of type `input_ext`: doc, xls, odt, ods, rtf, xml) to
    /// `target` ("docx" or "xlsx").
    pub fn convert(
        &self,
        bytes: &[u8],
        input_ext: &str,
        target: &str,
    ) -> Result<Vec<u8>, ConvertError> {
        self.convert_with(bytes, input_ext, None, target)
    }

    /// Like [`Converter::convert`], opening the input with the named LibreOffice import
    /// filter (e.g. "HTML (StarCalc)": HTML opens in Writer unless told otherwise).
    /// A conversion made ahead by [`Converter::prepare`] is taken instead of running
    /// LibreOffice again.
    pub fn convert_with(
        &self,
        bytes: &[u8],
        input_ext: &str,
        import_filter: Option<&str>,
        target: &str,
    ) -> Result<Vec<u8>, ConvertError> {
        let key = prepared_key(bytes, input_ext, import_filter, target);
        let ready = {
            let mut map = self.prepared.0.lock().unwrap_or_else(|e| e.into_inner());
            match map.get_mut(&key) {
                Some((made, waiting)) if *waiting > 1 => {
                    *waiting -= 1;
                    Some(made.clone())
                }
                Some(_) => map.remove(&key).map(|(made, _)| made),
                None => None,
            }
        };
        match ready {
            Some(Ok(out)) => Ok(out),
            Some(Err(e)) => Err(ConvertError::Prepared(e)),
            None => self.run(bytes, input_ext, import_filter, target),
        }
    }

    /// A warm LibreOffice for one converter worker, or None (with a warning, once) when
    /// Debian's python3 cannot import `uno`: then the worker converts cold.
    pub fn warm(&self) -> Option<Warm> {
        warm::available().then(|| Warm::new(&self.program))
    }

    /// Whether converter workers can keep LibreOffice warm (python3-uno importable).
    pub fn warm_available() -> bool {
        warm::available()
    }

    /// Converts ahead of filing (a converter worker): the result is kept for the
    /// [`Converter::convert_with`] call that filing makes with the same input.
    pub fn prepare(&self, c: &Conversion) {
        self.prepare_with(c, None)
    }

    /// Like [`Converter::prepare`], with the worker's warm LibreOffice when it has one.
    /// A file the warm converter fails on (other than by the timeout) is tried once more
    /// cold, so the warm path never answers worse than the cold one did; while the warm
    /// converter is paused after a failed start, files go cold at once.
    pub fn prepare_with(&self, c: &Conversion, warm: Option<&mut Warm>) {
        let key = prepared_key(&c.bytes, c.input_ext, c.import_filter, c.target);
        {
            // The same file is already made (another message in flight carries it): one
            // more copy is waited for, and LibreOffice is not asked again.
            let mut map = self.prepared.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, waiting)) = map.get_mut(&key) {
                *waiting += 1;
                return;
            }
        }
        let out = match warm.filter(|w| w.usable() && Warm::takes(c.input_ext, c.import_filter)) {
            Some(w) => match w.convert(
                &c.bytes,
                c.input_ext,
                c.import_filter,
                c.target,
                self.timeout,
            ) {
                Ok(out) => Ok(out),
                Err(e @ ConvertError::Timeout(_)) => Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "warm conversion failed, converting cold");
                    self.run(&c.bytes, c.input_ext, c.import_filter, c.target)
                }
            },
            None => self.run(&c.bytes, c.input_ext, c.import_filter, c.target),
        }
        .map_err(|e| e.to_string());
        let mut map = self.prepared.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= PREPARED_MAX {
            map.clear();
        }
        map.entry(key).or_insert((out, 0)).1 += 1;
    }

    /// Runs LibreOffice on one file.
    fn run(
        &self,
        bytes: &[u8],
        input_ext: &str,
        import_filter: Option<&str>,
        target: &str,
    ) -> Result<Vec<u8>, ConvertError> {
        let work = tempfile::Builder::new().prefix("lndx-convert-").tempdir()?;
        let input = work.path().join(format!("input.{input_ext}"));
        std::fs::write(&input, bytes)?;
        let out = work.path().join("out");
        let profile = work.path().join("profile");
        std::fs::create_dir_all(profile.join("user"))?;
        std::fs::write(
            profile.join("user").join("registrymodifications.xcu"),
            PROFILE_SETTINGS,
        )?;
        let mut cmd = Command::new(&self.program);
        cmd.arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--norestore", "--nologo", "--nodefault"]);
        if let Some(filter) = import_filter {
            cmd.arg(format!("--infilter={filter}"));
        }
        cmd.args(["--convert-to", target, "--outdir"])
            .arg(&out)
            .arg(&input)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|source| ConvertError::Spawn {
            program: self.program.clone(),
            source,
        })?;
        let status = wait_or_kill(&mut child, self.timeout)?;
        let produced = out.join(format!("input.{target}"));
        std::fs::read(&produced)
            .map_err(|_| ConvertError::NoOutput(format!("exit status {status}")))
        // `work` is removed here, on every path out of this function.
    }
}

/// The converter's profile settings: linked images and other resources of a document
/// converted are not loaded (see the module documentation).
const PROFILE_SETTINGS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
</oor:items>
"#;

/// Waits for the converter; after `timeout` kills its process group (unix) or the process,
/// and reaps it. `wait-timeout` sleeps until SIGCHLD (it installs one process-wide handler,
/// chained to any earlier one) instead of the 50 ms polling this replaced.
fn wait_or_kill(child: &mut Child, timeout: Duration) -> Result<ExitStatus, ConvertError> {
    if let Some(status) = child.wait_timeout(timeout)? {
        return Ok(status);
    }
    // The child is not reaped yet, so its pid (the group's id) cannot have been reused.
    #[cfg(unix)]
    {
        use rustix::process::{kill_process_group, Pid, Signal};
        let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(ConvertError::Timeout(timeout))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Mutex;
    use std::time::Instant;

    /// Scripts are written and then run: one test at a time, so that no other test's fork
    /// holds a script open for writing when it is executed (ETXTBSY).
    static SERIAL: Mutex<()> = Mutex::new(());

    /// A stand-in converter: `body` runs with `$in` (the input), `$outdir` and `$rec` (a
    /// folder of the test's own) set.
    fn stand_in(dir: &Path, body: &str) -> PathBuf {
        let rec = dir.join("rec");
        std::fs::create_dir_all(&rec).unwrap();
        let script = dir.join("fake-soffice");
        let text = format!(
            "#!/bin/sh\nrec='{}'\nprev=''\nfor a in \"$@\"; do\n  [ \"$prev\" = --outdir ] && outdir=\"$a\"\n  prev=\"$a\"; in=\"$a\"\ndone\ndirname \"$in\" > \"$rec/work\"\n{body}\n",
            rec.display()
        );
        std::fs::write(&script, text).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    fn recorded(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join("rec").join(name))
            .unwrap()
            .trim()
            .to_string()
    }

    #[test]
    fn output_is_read_and_the_work_folder_removed() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let program = stand_in(
            dir.path(),
            "mkdir -p \"$outdir\" && cp \"$in\" \"$outdir/input.docx\"",
        );
        let c = Converter::find(Some(&program), Duration::from_secs(20)).expect("found");
        assert_eq!(c.convert(b"bytes", "doc", "docx").unwrap(), b"bytes");
        assert!(!Path::new(&recorded(dir.path(), "work")).exists());
    }

    #[test]
    fn the_profile_blocks_linked_resources_and_the_import_filter_is_passed() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let program = stand_in(
            dir.path(),
            "for a in \"$@\"; do case \"$a\" in\n               -env:UserInstallation=file://*) p=\"${a#-env:UserInstallation=file://}\";;\n               --infilter=*) echo \"$a\" > \"$rec/filter\";;\n             esac; done\n             cp \"$p/user/registrymodifications.xcu\" \"$rec/xcu\"\n             mkdir -p \"$outdir\" && cp \"$in\" \"$outdir/input.docx\"",
        );
        let c = Converter::find(Some(&program), Duration::from_secs(20)).expect("found");
        let got = c
            .convert_with(b"<html>", "html", Some("HTML (StarWriter)"), "docx")
            .unwrap();
        assert_eq!(got, b"<html>");
        assert!(recorded(dir.path(), "xcu").contains(
            "<prop oor:name=\"BlockUntrustedRefererLinks\" oor:op=\"fuse\"><value>true</value>"
        ));
        assert_eq!(
            recorded(dir.path(), "filter"),
            "--infilter=HTML (StarWriter)"
        );
    }

    #[test]
    fn no_output_says_how_the_converter_ended() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let program = stand_in(dir.path(), "exit 3");
        let c = Converter::find(Some(&program), Duration::from_secs(20)).expect("found");
        let e = c.convert(b"x", "xls", "xlsx").unwrap_err();
        assert!(e.to_string().contains("exit status: 3"), "{e}");
        assert!(!Path::new(&recorded(dir.path(), "work")).exists());
    }

    /// A process still running in the converter's group, or gone (a zombie waiting for
    /// its new parent counts as gone).
    fn running(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
            Err(_) => false,
        }
    }

    #[test]
    fn a_timeout_kills_the_converter_and_what_it_started() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        // Like soffice: a launcher whose own child does the work.
        let program = stand_in(dir.path(), "sleep 60 &\necho $! > \"$rec/child\"\nwait");
        let c = Converter::find(Some(&program), Duration::from_millis(500)).expect("found");
        let start = Instant::now();
        let e = c.convert(b"x", "doc", "docx").unwrap_err();
        assert!(matches!(e, ConvertError::Timeout(_)), "{e}");
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(!Path::new(&recorded(dir.path(), "work")).exists());
        let child = recorded(dir.path(), "child");
        let gone = Instant::now();
        while running(&child) && gone.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!running(&child), "the converter's child {child} still runs");
    }

    #[test]
    fn the_same_file_prepared_for_two_messages_is_made_once_and_taken_twice() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let program = stand_in(
            dir.path(),
            "echo run >> \"$rec/runs\"\nmkdir -p \"$outdir\" && cp \"$in\" \"$outdir/input.docx\"",
        );
        let c = Converter::find(Some(&program), Duration::from_secs(20)).expect("found");
        let conversion = Conversion {
            bytes: b"same form".to_vec(),
            input_ext: "doc",
            import_filter: None,
            target: "docx",
        };
        c.prepare(&conversion);
        c.prepare(&conversion);
        assert_eq!(recorded(dir.path(), "runs"), "run", "converted once");
        for _ in 0..2 {
            assert_eq!(
                c.convert(b"same form", "doc", "docx").unwrap(),
                b"same form"
            );
        }
        assert_eq!(
            recorded(dir.path(), "runs"),
            "run",
            "both taken from the made one"
        );
        // Both copies were taken: a third filing converts again.
        c.convert(b"same form", "doc", "docx").unwrap();
        assert_eq!(recorded(dir.path(), "runs"), "run\nrun");
    }

    #[test]
    fn a_warm_converter_that_did_not_start_is_left_alone_for_a_while() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let program = stand_in(
            dir.path(),
            "echo run >> \"$rec/runs\"\nmkdir -p \"$outdir\" && cp \"$in\" \"$outdir/input.docx\"",
        );
        let c = Converter::find(Some(&program), Duration::from_secs(20)).expect("found");
        // A warm LibreOffice that cannot start (its program is missing).
        let mut warm = Warm::new(Path::new("/nonexistent/soffice"));
        assert!(warm.usable());
        for (i, bytes) in [b"first".as_slice(), b"second"].into_iter().enumerate() {
            c.prepare_with(
                &Conversion {
                    bytes: bytes.to_vec(),
                    input_ext: "doc",
                    import_filter: None,
                    target: "docx",
                },
                Some(&mut warm),
            );
            assert_eq!(c.convert(bytes, "doc", "docx").unwrap(), bytes, "cold");
            assert_eq!(
                recorded(dir.path(), "runs").lines().count(),
                i + 1,
                "converted cold once per file"
            );
        }
        assert_eq!(
            warm.starts(),
            1,
            "the second file did not try the warm start"
        );
        assert!(!warm.usable());
    }

    #[test]
    fn a_configured_converter_must_exist() {
        let missing = Path::new("/nonexistent/soffice");
        assert!(Converter::find(Some(missing), Duration::from_secs(1)).is_none());
        let not_on_path = Path::new("lndx-no-such-converter");
        assert!(Converter::find(Some(not_on_path), Duration::from_secs(1)).is_none());
    }
}
