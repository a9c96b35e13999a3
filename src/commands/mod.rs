//! The commands of `lndx`: each takes the [`App`], does one job, prints its results to
//! stdout and returns an exit code; failures a user can cause are errors with context
//! (`anyhow`, which only this layer, the app and the binary use). One file per command
//! family; `src/cli.rs` parses the arguments and calls them.
//!
//! The layers run one way: the binary → commands (and [`crate::app`]) → the daemon → the
//! stages (mailbox, message, forms, rules, registry, reply, outbox, report, intake) →
//! small leaf types. `tests/modules.rs` fails on an import that runs back.

pub mod book;
pub mod check;
pub mod desk;
pub mod doctor;
pub mod ingest;
pub mod outbox;
pub mod progress;
pub mod registry;
pub mod report;
pub mod review;
pub mod run;
pub mod setup;
pub mod user;

use std::time::Duration;

use anyhow::Result;

use crate::app::{block_on, App};
use crate::registry::Registry;

/// How long a command waits for the outbox before leaving the rest to `lndx run`.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(120);

/// Delivers what is due in the outbox once (folder, or SMTP with timeouts). Mail another
/// process is delivering is left to it; mail left `sending` by a crash is recovered by
/// `lndx run` at start, not here (a running daemon's mail in hand is not lost, it is in
/// flight).
pub fn flush_outbox(app: &App, reg: &Registry) -> Result<()> {
    let transport = app.transport()?;
    let pass = block_on(async {
        tokio::time::timeout(
            SEND_TIMEOUT,
            crate::outbox::deliver_due(reg, &transport, app.cap()),
        )
        .await
    });
    match pass {
        Ok(r) => {
            r?;
        }
        Err(_) => eprintln!("lndx: sending timed out; the rest stays queued for `lndx run`"),
    }
    Ok(())
}
