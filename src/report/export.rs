//! Registry exports: CSV and .xlsx with one row per entry.

use std::path::Path;

use anyhow::Result;

use crate::campaign::Campaign;
use crate::registry::Registry;

pub fn csv(_reg: &Registry, _c: &Campaign, _out: &Path, _all: bool) -> Result<usize> {
    anyhow::bail!("export is being written")
}

pub fn xlsx(_reg: &Registry, _c: &Campaign, _out: &Path, _all: bool) -> Result<usize> {
    anyhow::bail!("export is being written")
}
