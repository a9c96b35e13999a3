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
    include_str!("migrations/0008_file_item_keys.sql"),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry at schema 7 with a file item resolved under its old key (the file's
    /// row), and one whose new key is already taken; migrated to the current schema.
    #[test]
    fn file_item_resolutions_move_to_keys_that_survive_a_reprocess() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..7] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 7).unwrap();
        conn.execute_batch(
            "INSERT INTO messages (id, sha256, raw_path, size, source, created_at)
               VALUES (12, 'x', 'raw/x', 1, 'file', '2021-11-01T00:00:00Z');
             INSERT INTO files (id, message, seq, filename, sha256, size, file_type, role)
               VALUES (34, 12, 0, 'a.doc', 'x', 1, 'doc', 'form'),
                      (35, 12, 2, 'b.doc', 'y', 1, 'doc', 'form'),
                      (36, 12, 2, 'b.doc', 'y', 1, 'doc', 'form');
             INSERT INTO audit_log (id, at, actor, action, object, before, after)
               VALUES (1, 'now', 'cli:a', 'mark_handled', 'message:12', '{}', '{}');
             INSERT INTO resolutions (key, kind, item, by, at, how, audit) VALUES
               ('file:34:encrypted_document', 'unreadable_file', '{}', 'a', 'now', 'mark_handled', 1),
               ('file:35:too_large', 'unreadable_file', '{}', 'a', 'now', 'mark_handled', 1),
               ('file:36:too_large', 'unreadable_file', '{}', 'a', 'now', 'mark_handled', 1),
               ('message:12:unknown_province', 'held_province', '{}', 'a', 'now', 'x', 1);",
        )
        .unwrap();
        run(&conn, Path::new(":memory:")).unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT key FROM resolutions ORDER BY key")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            keys,
            [
                "file:12:0:encrypted_document",
                "file:12:2:too_large",
                // Its new key was taken by the row above: kept as it was.
                "file:36:too_large",
                "message:12:unknown_province",
            ]
        );
    }
}
