//! A warm converter: one long-running LibreOffice per converter worker, with its own profile
//! (the same settings as the cold converter's), accepting UNO connections on a named local
//! pipe, driven by a small Python bridge (`warm.py`, shipped in the binary and written to
//! the worker's temporary directory) run with Debian's `/usr/bin/python3`, for which
//! python3-uno is built. A cold start costs 1.9–2.5 s per file; a loaded LibreOffice
//! converts a small form in a fraction of that (figures in docs/decisions.md).
//!
//! LibreOffice and the bridge run in one process group of their own: when a conversion
//! exceeds the timeout, or either process dies, the whole group is killed and reaped, and
//! the next conversion starts them again. When the bridge's stdin closes (the worker ends,
//! or lndx dies) it tells LibreOffice to quit.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{ConvertError, PROFILE_SETTINGS};

/// The interpreter python3-uno is built for.
pub const PYTHON: &str = "/usr/bin/python3";

const BRIDGE: &str = include_str!("warm.py");

/// How long LibreOffice may take to start and accept the bridge.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// After a start that failed, files go to the cold converter for this long before the warm
/// one is tried again. A start can fail slowly (up to [`START_TIMEOUT`]); without the pause
/// a LibreOffice that never comes up would cost every legacy file that minute before its
/// cold conversion, on deadline day as on any other.
const START_PAUSE: Duration = Duration::from_secs(600);

/// Whether Debian's python3 imports `uno` (checked once per process). When it does not,
/// converter workers use the cold converter.
pub fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let ok = Command::new(PYTHON)
            .args(["-c", "import uno"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            tracing::warn!(
                python = PYTHON,
                "python3-uno is not importable: every legacy file starts LibreOffice cold"
            );
        }
        ok
    })
}

/// One worker's warm LibreOffice, started on first use.
#[derive(Debug)]
pub struct Warm {
    program: PathBuf,
    running: Option<Running>,
    /// Conversions made, naming the files in the work folder.
    count: u64,
    /// LibreOffice starts so far.
    starts: u64,
    /// Until when the warm converter is not used, after a failed start.
    paused_until: Option<Instant>,
}

#[derive(Debug)]
struct Running {
    soffice: Child,
    bridge: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<String>,
    work: tempfile::TempDir,
}

impl Running {
    /// Kills the process group (LibreOffice, the launcher's children, the bridge) and
    /// reaps; the work folder (its profile) goes after them. The same happens when a
    /// `Running` is dropped; this names it where it is meant.
    fn kill(self) {
        drop(self)
    }
}

/// However a `Running` goes (an explicit kill, an early return, a panic), its processes go
/// with it: a dropped `Child` is neither killed nor reaped.
impl Drop for Running {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use rustix::process::{kill_process_group, Pid, Signal};
            let _ = kill_process_group(Pid::from_child(&self.soffice), Signal::KILL);
        }
        let _ = self.bridge.kill();
        let _ = self.soffice.kill();
        let _ = self.bridge.wait();
        let _ = self.soffice.wait();
    }
}

impl Running {
    /// Whether LibreOffice and the bridge both still run.
    fn alive(&mut self) -> bool {
        self.soffice.try_wait().ok().flatten().is_none()
            && self.bridge.try_wait().ok().flatten().is_none()
    }

    /// Process id of LibreOffice's launcher (the group's id).
    fn pid(&self) -> u32 {
        self.soffice.id()
    }
}

impl Warm {
    pub fn new(program: &Path) -> Warm {
        Warm {
            program: program.to_path_buf(),
            running: None,
            count: 0,
            starts: 0,
            paused_until: None,
        }
    }

    /// Whether files should go to this warm converter now: false for a while after
    /// LibreOffice failed to start (see [`START_PAUSE`]).
    pub fn usable(&self) -> bool {
        self.paused_until.is_none_or(|t| Instant::now() >= t)
    }

    /// The process group of the running LibreOffice, if one runs.
    pub fn group(&self) -> Option<u32> {
        self.running.as_ref().map(Running::pid)
    }

    /// How many times LibreOffice was started (the first start and every restart).
    pub fn starts(&self) -> u64 {
        self.starts
    }

    /// Starts LibreOffice now (a converter worker does so when it starts, so that the
    /// first legacy file does not wait for it). A failure is logged and pauses the warm
    /// converter; the first conversion after the pause tries again.
    pub fn start_now(&mut self) {
        if self.running.is_none() {
            // A failure is logged by `start`, which also pauses the warm converter.
            self.running = self.start().ok();
        }
    }

    /// Starts LibreOffice and the bridge; a failure pauses the warm converter.
    fn start(&mut self) -> Result<Running, ConvertError> {
        self.starts += 1;
        let started = self.start_inner();
        match &started {
            Ok(_) => self.paused_until = None,
            Err(e) => {
                self.paused_until = Some(Instant::now() + START_PAUSE);
                tracing::warn!(
                    error = %e,
                    pause_s = START_PAUSE.as_secs(),
                    "the warm converter did not start; legacy files convert cold until it is tried again"
                );
            }
        }
        started
    }

    fn start_inner(&mut self) -> Result<Running, ConvertError> {
        let work = tempfile::Builder::new().prefix("lndx-warm-").tempdir()?;
        let profile = work.path().join("profile");
        std::fs::create_dir_all(profile.join("user"))?;
        std::fs::write(
            profile.join("user").join("registrymodifications.xcu"),
            PROFILE_SETTINGS,
        )?;
        let bridge_py = work.path().join("bridge.py");
        std::fs::write(&bridge_py, BRIDGE)?;
        let pipe = format!(
            "lndx-{}-{}",
            std::process::id(),
            work.path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let mut cmd = Command::new(&self.program);
        cmd.arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
        ])
        .arg(format!("--accept=pipe,name={pipe};urp;"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut soffice = cmd.spawn().map_err(|source| ConvertError::Spawn {
            program: self.program.clone(),
            source,
        })?;
        let mut bridge = Command::new(PYTHON);
        bridge
            .arg(&bridge_py)
            .arg(&pipe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut bridge, soffice.id() as i32);
        let mut bridge = match bridge.spawn() {
            Ok(b) => b,
            Err(source) => {
                let _ = soffice.kill();
                let _ = soffice.wait();
                return Err(ConvertError::Spawn {
                    program: PYTHON.into(),
                    source,
                });
            }
        };
        let stdin = bridge.stdin.take().expect("piped");
        let stdout = bridge.stdout.take().expect("piped");
        let (tx, answers) = mpsc::channel();
        // Answers are read by a thread of their own, so that waiting for one can time out.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let running = Running {
            soffice,
            bridge,
            stdin,
            answers,
            work,
        };
        match running.answers.recv_timeout(START_TIMEOUT) {
            Ok(line) if line.contains("\"ready\"") => Ok(running),
            _ => {
                running.kill();
                Err(ConvertError::NoOutput(
                    "the warm converter did not start".into(),
                ))
            }
        }
    }

    /// Whether the warm converter takes files of this kind: binary documents and
    /// packages. Web pages (`html`, with an import filter) are not: LibreOffice 7.4 loaded
    /// over UNO crashes on them, so they go to the cold converter; so do the XML formats.
    pub fn takes(input_ext: &str, import_filter: Option<&str>) -> bool {
        import_filter.is_none() && matches!(input_ext, "doc" | "xls" | "odt" | "ods" | "rtf")
    }

    /// Converts one file with the warm LibreOffice (started, or started again, first).
    /// When LibreOffice is found dead before the file was given to it, it is started again
    /// and the file given to the new one.
    pub fn convert(
        &mut self,
        bytes: &[u8],
        input_ext: &str,
        import_filter: Option<&str>,
        target: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, ConvertError> {
        match self.convert_once(bytes, input_ext, import_filter, target, timeout) {
            Err(Attempt::NotTried) => self
                .convert_once(bytes, input_ext, import_filter, target, timeout)
                .map_err(Attempt::into_error),
            r => r.map_err(Attempt::into_error),
        }
    }

    fn convert_once(
        &mut self,
        bytes: &[u8],
        input_ext: &str,
        import_filter: Option<&str>,
        target: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, Attempt> {
        let mut running = match self.running.take() {
            Some(mut r) => {
                if r.alive() {
                    r
                } else {
                    // Died since the last file (killed, crashed): start afresh, not fail.
                    tracing::warn!(
                        pid = r.pid(),
                        "the warm LibreOffice had ended; starting it again"
                    );
                    r.kill();
                    self.start()?
                }
            }
            None => self.start()?,
        };
        self.count += 1;
        let input = running
            .work
            .path()
            .join(format!("in-{}.{input_ext}", self.count));
        let output = running
            .work
            .path()
            .join(format!("out-{}.{target}", self.count));
        std::fs::write(&input, bytes)?;
        let request = serde_json::json!({
            "input": input,
            "output": output,
            "target": target,
            "filter": import_filter,
        });
        let sent = writeln!(running.stdin, "{request}").and_then(|_| running.stdin.flush());
        let answer = match sent {
            Ok(()) => running.answers.recv_timeout(timeout),
            Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
        };
        let _ = std::fs::remove_file(&input);
        let answer: serde_json::Value = match answer {
            Ok(line) => serde_json::from_str(&line).unwrap_or_default(),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                running.kill();
                return Err(ConvertError::Timeout(timeout).into());
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                running.kill();
                return Err(ConvertError::NoOutput(
                    "the warm converter ended during the conversion".into(),
                )
                .into());
            }
        };
        if answer["dead"].as_bool() == Some(true) {
            running.kill();
            return Err(Attempt::NotTried);
        }
        // LibreOffice may have died while the bridge lives on: then the bridge answers an
        // error, and the group is started again for the next file.
        let alive = running.alive();
        let made = std::fs::read(&output);
        let _ = std::fs::remove_file(&output);
        let result = match (answer["ok"].as_bool(), made) {
            (Some(true), Ok(out)) => Ok(out),
            _ => Err(ConvertError::NoOutput(
                answer["error"]
                    .as_str()
                    .unwrap_or("the warm converter wrote nothing")
                    .to_string(),
            )),
        };
        if alive && result.is_ok() {
            self.running = Some(running);
        } else {
            // Dead, or a failed conversion that may have left LibreOffice in any state:
            // the next file starts afresh.
            running.kill();
        }
        Ok(result?)
    }
}

/// Why one attempt converted nothing.
enum Attempt {
    /// LibreOffice was found dead before it was given the file.
    NotTried,
    Failed(ConvertError),
}

impl From<ConvertError> for Attempt {
    fn from(e: ConvertError) -> Attempt {
        Attempt::Failed(e)
    }
}

impl From<std::io::Error> for Attempt {
    fn from(e: std::io::Error) -> Attempt {
        Attempt::Failed(e.into())
    }
}

impl Attempt {
    fn into_error(self) -> ConvertError {
        match self {
            Attempt::NotTried => {
                ConvertError::NoOutput("the warm LibreOffice ended twice before converting".into())
            }
            Attempt::Failed(e) => e,
        }
    }
}
