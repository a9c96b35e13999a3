//! Legacy formats (.doc/.xls, WPS .wps/.et) converted to OOXML with LibreOffice headless.
//!
//! Each conversion gets its own temporary directory and its own LibreOffice profile
//! (concurrent runs sharing a profile silently produce nothing), input and output files
//! are named by us (never by the message), and the converter is killed after a timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Converter {
    pub program: PathBuf,
    pub timeout: Duration,
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
}

impl Converter {
    /// The converter named in the config, or the first `soffice`/`libreoffice` on PATH.
    /// None when none is installed.
    pub fn find(configured: Option<&Path>, timeout: Duration) -> Option<Converter> {
        let candidates: Vec<PathBuf> = match configured {
            Some(p) => vec![p.to_path_buf()],
            None => vec!["soffice".into(), "libreoffice".into()],
        };
        candidates.into_iter().find_map(|c| {
            let resolved = if c.components().count() > 1 {
                Some(c)
            } else {
                which(&c)
            };
            resolved
                .filter(|p| p.is_file())
                .map(|program| Converter { program, timeout })
        })
    }

    /// Converts `bytes` (a file of type `input_ext`: doc, xls, odt, ods) to `target`
    /// ("docx" or "xlsx").
    pub fn convert(
        &self,
        bytes: &[u8],
        input_ext: &str,
        target: &str,
    ) -> Result<Vec<u8>, ConvertError> {
        let work = TempDir::new()?;
        let input = work.path().join(format!("input.{input_ext}"));
        std::fs::write(&input, bytes)?;
        let out = work.path().join("out");
        let profile = work.path().join("profile");
        let mut child = Command::new(&self.program)
            .arg(format!(
                "-env:UserInstallation=file://{}",
                profile.display()
            ))
            .args([
                "--headless",
                "--norestore",
                "--nologo",
                "--nodefault",
                "--convert-to",
                target,
                "--outdir",
            ])
            .arg(&out)
            .arg(&input)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| ConvertError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ConvertError::Timeout(self.timeout));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let produced = out.join(format!("input.{target}"));
        std::fs::read(&produced)
            .map_err(|_| ConvertError::NoOutput(format!("exit status {status}")))
    }
}

fn which(name: &Path) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A private temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("lndx-convert-{:016x}", rand::random::<u64>()));
        std::fs::create_dir(&dir)?;
        Ok(TempDir(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
