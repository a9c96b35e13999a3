//! The report scheduler: a cron expression (with seconds; day names, e.g.
//! "0 0 9 * * Mon") in the campaign's time zone. Each tick looks for the latest slot at or
//! before now; a slot not yet in `report_slots` gets its report, claimed and queued in one
//! transaction, so it is queued once however often or by however many processes it is
//! looked at. After downtime only the latest missed slot is sent (once), with a note that
//! it comes late. The very first run of a registry is not downtime: a slot that passed
//! before the schedule ever ran is recorded without a report (unless it is only just past),
//! so installing lndx mid-week sends nothing until the next slot. The clock is injected so
//! tests can move time.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::data::{local_text, tz_label};
use super::{ReportError, Reporter, Result};
use crate::health::Health;
use crate::registry::Registry;
use crate::shutdown::Shutdown;

/// Where the scheduler reads the time.
pub type Clock = Box<dyn Fn() -> DateTime<Utc> + Send>;

/// Another job the scheduler looks at on its ticks (expert review's reminders): given the
/// time, it queues what is due (with once-only slots of its own) and says how many mails
/// it queued, or what failed.
pub type Extra = Box<dyn FnMut(DateTime<Utc>) -> std::result::Result<usize, String> + Send>;

/// How often the extra job looks (its slots are days, not seconds).
const EXTRA_EVERY: i64 = 60;

/// How late a slot may be handled and still count as on time.
const ON_TIME: i64 = 120;

pub struct Scheduler {
    reporter: Reporter,
    reg: Registry,
    schedule: cron::Schedule,
    tz: Tz,
    clock: Clock,
    extra: Option<Extra>,
    /// Whether weekly reports are queued (else only the extra job runs).
    reports: bool,
}

/// What a tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    /// No slot is due (none yet, or the latest was handled).
    Idle,
    /// A report was queued for a slot.
    Queued { slot: String, outbox: i64 },
}

/// The stored key of a slot: RFC 3339 UTC, seconds.
pub fn slot_key(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Scheduler {
    /// A scheduler for the cron expression `schedule` (the config's `report.schedule`),
    /// queuing `reporter`'s reports through `reg`, looking at the time with `clock`
    /// (`Box::new(Utc::now)` in the daemon). Slots are in the campaign's time zone, the
    /// one that decides batches.
    pub fn new(
        reporter: Reporter,
        reg: Registry,
        schedule: &str,
        clock: Clock,
    ) -> Result<Scheduler> {
        let parsed = cron::Schedule::from_str(schedule).map_err(|e| ReportError::Schedule {
            schedule: schedule.to_string(),
            message: e.to_string(),
        })?;
        let tz = reporter.campaign.tz;
        Ok(Scheduler {
            reporter,
            reg,
            schedule: parsed,
            tz,
            clock,
            extra: None,
            reports: true,
        })
    }

    /// Runs only the extra job: the weekly report is off (`report.enabled = false` or no
    /// recipients) while expert review still needs its reminders.
    pub fn without_reports(mut self) -> Scheduler {
        self.reports = false;
        self
    }

    /// Adds a job looked at every minute from the same loop and clock.
    pub fn with_extra(mut self, extra: Extra) -> Scheduler {
        self.extra = Some(extra);
        self
    }

    /// The latest slot at or before `now`.
    pub fn latest_slot(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after = (now + chrono::Duration::seconds(1)).with_timezone(&self.tz);
        self.schedule
            .after(&after)
            .next_back()
            .map(|d| d.with_timezone(&Utc))
            .filter(|d| *d <= now)
    }

    /// The first slot after `now`.
    pub fn next_slot(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .after(&now.with_timezone(&self.tz))
            .next()
            .map(|d| d.with_timezone(&Utc))
    }

    fn taken(&self, key: &str) -> Result<bool> {
        Ok(self.reg.report_slot_taken(key)?)
    }

    /// True when no slot was ever recorded in this registry.
    fn first_run(&self) -> Result<bool> {
        Ok(self.reg.report_slot_count()? == 0)
    }

    /// One look at the clock: queues the latest slot's report if it is not yet taken.
    pub fn tick(&mut self) -> Result<Tick> {
        let now = (self.clock)();
        self.tick_at(now)
    }

    pub fn tick_at(&mut self, now: DateTime<Utc>) -> Result<Tick> {
        let Some(slot) = self.latest_slot(now) else {
            return Ok(Tick::Idle);
        };
        let key = slot_key(slot);
        if self.taken(&key)? {
            return Ok(Tick::Idle);
        }
        let late = (now - slot).num_seconds() > ON_TIME;
        if late && self.first_run()? {
            let tx = self.reg.begin()?;
            tx.claim_report_slot(&key)?;
            tx.commit()?;
            tracing::info!(slot = %key, "report schedule starts; the slot before the first run is not sent");
            return Ok(Tick::Idle);
        }
        let c = &self.reporter.campaign;
        let l = self.reporter.labels();
        let note = late.then(|| {
            l.phrase(
                "late_report",
                &serde_json::json!({
                    "slot": local_text(c, l, slot),
                    "now": local_text(c, l, now),
                    "tz": tz_label(c),
                }),
            )
        });
        let report = self.reporter.build(&self.reg, slot, note)?;
        match self.reporter.queue(&mut self.reg, &report, Some(&key))? {
            Some(outbox) => {
                tracing::info!(slot = %key, outbox, "weekly report queued");
                Ok(Tick::Queued { slot: key, outbox })
            }
            None => Ok(Tick::Idle),
        }
    }

    /// Runs until shutdown, looking every second; a failure is logged, counted in health
    /// and tried again a minute later.
    pub fn run(mut self, shutdown: Shutdown, wake: Arc<tokio::sync::Notify>, health: Arc<Health>) {
        if let Some(next) = self.next_slot((self.clock)()).filter(|_| self.reports) {
            tracing::info!(
                next = %next.with_timezone(&self.tz),
                schedule = self.schedule.source(),
                "weekly report scheduled"
            );
        }
        let mut extra_at: Option<DateTime<Utc>> = None;
        loop {
            let now = (self.clock)();
            if let Some(extra) = self.extra.as_mut() {
                if extra_at.is_none_or(|t| (now - t).num_seconds() >= EXTRA_EVERY) {
                    extra_at = Some(now);
                    match extra(now) {
                        Ok(0) => {}
                        Ok(_) => wake.notify_one(),
                        Err(e) => tracing::error!(error = %e, "scheduled review mail failed"),
                    }
                }
            }
            if !self.reports {
                if shutdown.sleep(Duration::from_secs(1)) {
                    return;
                }
                continue;
            }
            let pause = match self.tick() {
                Ok(Tick::Queued { .. }) => {
                    health.report_queued();
                    wake.notify_one();
                    Duration::from_secs(1)
                }
                Ok(Tick::Idle) => Duration::from_secs(1),
                Err(e) => {
                    tracing::error!(error = %e, "weekly report failed");
                    health.report_failed();
                    Duration::from_secs(60)
                }
            };
            if shutdown.sleep(pause) {
                return;
            }
        }
    }
}
