//! Report: the weekly progress report to the ministry, and registry exports.

pub mod export;

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Result};

use crate::app::App;
use crate::daemon::Shutdown;
use crate::health::Health;

pub struct Scheduler;

impl Scheduler {
    pub fn new(_app: &App) -> Result<Scheduler> {
        Ok(Scheduler)
    }
    pub fn run(self, _shutdown: Shutdown, _wake: Arc<tokio::sync::Notify>, _health: Arc<Health>) {}
}

pub fn cli_preview(_app: &App, _at: Option<&str>, _out: &Path) -> Result<()> {
    bail!("the report is being written")
}

pub fn cli_send_now(_app: &App) -> Result<()> {
    bail!("the report is being written")
}
