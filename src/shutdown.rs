//! The shutdown signal: one [`Trigger`] held by whoever decides to stop (the daemon, on
//! SIGTERM or SIGINT), and any number of [`Shutdown`] copies that the long-running loops
//! watch — blocking loops by polling [`Shutdown::is_set`] or sleeping with
//! [`Shutdown::sleep`], async ones by selecting on [`Shutdown::wait`].
//!
//! A leaf: it imports nothing from the crate. (tokio-rs/mini-redis keeps its `Shutdown` in a
//! module of its own in the same way.)

use std::thread;
use std::time::Duration;

use tokio::sync::watch;

/// Requests shutdown: every [`Shutdown`] made with it sees the request.
pub struct Trigger(watch::Sender<bool>);

impl Trigger {
    /// Requests shutdown (once is enough; later calls change nothing).
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

/// The shutdown signal every loop watches.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A trigger and the signal it sets.
    pub fn channel() -> (Trigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (Trigger(tx), Shutdown(rx))
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until shutdown is requested.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }

    /// Sleeps for `d`, returning early (true) on shutdown.
    pub fn sleep(&self, d: Duration) -> bool {
        let step = Duration::from_millis(100);
        let mut left = d;
        while left > Duration::ZERO {
            if self.is_set() {
                return true;
            }
            let s = left.min(step);
            thread::sleep(s);
            left = left.saturating_sub(s);
        }
        self.is_set()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_ends_early_when_shutdown_is_requested() {
        let (trigger, shutdown) = Shutdown::channel();
        assert!(!shutdown.is_set());
        assert!(!shutdown.sleep(Duration::from_millis(10)));
        let t = thread::spawn(move || {
            let started = std::time::Instant::now();
            (shutdown.sleep(Duration::from_secs(30)), started.elapsed())
        });
        thread::sleep(Duration::from_millis(50));
        trigger.fire();
        let (stopped, took) = t.join().unwrap();
        assert!(stopped);
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
}
