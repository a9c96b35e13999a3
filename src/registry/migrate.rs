//! Schema migrations: numbered SQL files applied in order, tracked by `PRAGMA user_version`.

use std::path::Path;

use rusqlite::Connection;

use super::{RegistryError, Result};

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_province_batch.sql"),
    include_str!("migrations/0003_accounts.sql"),
    include_str!("migrations/0004_desk.sql"),
    include_str!("migrations/0005_review.sql"),
    include_str!("migrations/0006_deadline.sql"),
    include_str!("migrations/0007_review_open.sql"),
];

/// The schema version this build knows (and migrates to).
pub fn known() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn run(conn: &Connection, path: &Path) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(RegistryError::TooNew {
            path: path.to_path_buf(),
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
