//! Progress of long jobs (ingesting many messages, exports), shown as one line on stderr
//! when stderr is a terminal and not at all otherwise, so that logs captured by systemd or
//! redirected to a file never hold progress lines.
//!
//! Log lines are written to the same stderr. While a progress line is on screen, the log
//! writes through [`write_log`], which takes the progress line away, writes the log line,
//! and draws the progress line again below it, so the two never run into each other.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress line on screen, if any.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A progress line; hidden (and costing nothing) when stderr is not a terminal. It is
/// removed from the screen when dropped.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `done/len what` with a bar and the time left, e.g. for the messages of `ingest`.
    pub fn counting(len: u64, what: &str) -> Progress {
        Progress::start(|| {
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{pos}}/{{len}} {what} [{{bar:30}}] {{elapsed}}, about {{eta}} left {{wide_msg}}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        })
    }

    /// A spinner with the time so far, for a job whose size is not known beforehand.
    pub fn working(what: &str) -> Progress {
        let what = what.to_string();
        Progress::start(move || {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(what);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        })
    }

    fn start(make: impl FnOnce() -> ProgressBar) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = make();
        if let Ok(mut active) = ACTIVE.lock() {
            *active = Some(bar.clone());
        }
        Progress { bar: Some(bar) }
    }

    /// One more done, with a note beside the count (e.g. the file in hand).
    pub fn step(&self, note: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(note.to_string());
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            if let Ok(mut active) = ACTIVE.lock() {
                *active = None;
            }
            bar.finish_and_clear();
        }
    }
}

/// Writes a finished log line to stderr, above the progress line if one is on screen.
pub fn write_log(line: &[u8]) -> std::io::Result<()> {
    let active = ACTIVE.lock().ok().and_then(|a| a.clone());
    match active {
        Some(bar) => bar.suspend(|| std::io::stderr().write_all(line)),
        None => std::io::stderr().write_all(line),
    }
}
