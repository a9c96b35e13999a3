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
pub mod doctor;
pub mod ingest;
pub mod progress;
pub mod registry;
pub mod report;
pub mod run;
pub mod setup;

use std::time::Duration;

use anyhow::Result;

use crate::app::{block_on, App};
use crate::registry::Registry;

/// How long a command waits for the outbox before leaving the rest to `lndx run`.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(120);

/// Delivers what is due in the outbox once (folder, or SMTP with timeouts).
pub fn flush_outbox(app: &App, reg: &Registry) -> Result<()> {
    reg.recover_in_flight()?;
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
