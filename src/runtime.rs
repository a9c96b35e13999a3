//! A tokio runtime for the thread at hand: the daemon's threads that run async code (the
//! outbox, an IMAP session) and the commands that send mail once each drive one with
//! [`block_on`].
//!
//! A leaf: it imports nothing from the crate.

/// Runs a future to completion on a small current-thread runtime with I/O and timers.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}
