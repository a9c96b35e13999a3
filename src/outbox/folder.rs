//! The folder transport: each mail becomes `<folder>/<message-id>.eml` (written to a
//! temporary name, then renamed, so a reader never sees half a file).

use std::io::Write;
use std::path::Path;

use crate::registry::{Delivery, OutboxRow};

pub fn deliver(dir: &Path, row: &OutboxRow) -> Delivery {
    match write(dir, row) {
        Ok(()) => Delivery::Sent,
        Err(e) => super::deferred(row, format!("cannot write to {}: {e}", dir.display())),
    }
}

fn write(dir: &Path, row: &OutboxRow) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let name: String = row
        .message_id
        .trim_matches(['<', '>'])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}.eml"));
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    // The envelope, as an mbox-style line, so a folder reader knows who it was for.
    f.write_all(format!("X-Lndx-Envelope-To: {}\r\n", row.recipients.join(", ")).as_bytes())?;
    f.write_all(&row.body)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)
}
