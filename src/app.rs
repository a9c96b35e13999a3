//! App: what every command needs, built once from the command line and the config —
//! the campaign rules, templates, converter and data directory — and the composition
//! root where config values become the parts the library takes (an intake, a transport,
//! a reporter, a scheduler). Part of the command layer, with [`crate::commands`]: the
//! modules below it are given values, never the `App`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};

use crate::campaign::Campaign;
use crate::config::{Config, OutboxConfig};
use crate::convert::Converter;
use crate::desk::Desk;
use crate::intake::Intake;
use crate::outbox::{smtp::SmtpSender, Transport};
use crate::registry::Registry;
use crate::reply::Replier;
use crate::report::schedule::Clock;
use crate::report::{Reporter, Scheduler, Sender};

pub use crate::runtime::block_on;

/// Built-in copies of the rules, used when no rules folder is given or found.
pub use crate::campaign::BUILTIN_RULES as EMBEDDED_RULES;

pub struct App {
    pub config: Config,
    pub data_dir: PathBuf,
    pub rules_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
    /// What was read from the rules and templates folders, read once: `lndx run` builds
    /// the daemon, the console, the desk, the reporter and the review reminders, and each
    /// gets a copy of the same campaign, templates, rubric and wording, not a reading of
    /// its own (before, the campaign was read seven times at start-up).
    loaded: Loaded,
}

#[derive(Default)]
struct Loaded {
    has_review: OnceLock<bool>,
    campaign: OnceLock<Campaign>,
    intake: OnceLock<Intake>,
    reporter: OnceLock<Reporter>,
    rubric: OnceLock<crate::review::Rubric>,
    review_wording: OnceLock<crate::review::wording::Wording>,
}

/// The value in `cell`, loaded by `load` the first time (a failure is returned, and the
/// next call tries again).
fn once<T: Clone>(cell: &OnceLock<T>, load: impl FnOnce() -> Result<T>) -> Result<T> {
    if let Some(v) = cell.get() {
        return Ok(v.clone());
    }
    let v = load()?;
    Ok(cell.get_or_init(|| v).clone())
}

impl App {
    pub fn new(
        config_path: Option<&Path>,
        data_dir: Option<PathBuf>,
        rules: Option<PathBuf>,
    ) -> Result<App> {
        let config = Config::load(config_path)?;
        let data_dir = data_dir.unwrap_or_else(|| config.data_dir());
        let rules_dir = rules.or_else(|| config.rules_dir());
        let templates_dir = config.templates_dir();
        Ok(App {
            config,
            data_dir,
            rules_dir,
            templates_dir,
            loaded: Loaded::default(),
        })
    }

    /// The rules folder (or the built-in rules), loaded once.
    pub fn campaign(&self) -> Result<Campaign> {
        once(&self.loaded.campaign, || self.load_campaign())
    }

    fn load_campaign(&self) -> Result<Campaign> {
        let campaign = match &self.rules_dir {
            Some(dir) => Campaign::load(dir).map_err(anyhow::Error::from)?,
            None => Campaign::from_texts(EMBEDDED_RULES).context("built-in rules")?,
        };
        // One time zone: the campaign's. An older config's report.timezone may only agree.
        if let Some(tz) = &self.config.report.timezone {
            if tz.trim() != campaign.info.timezone {
                anyhow::bail!(
                    "report.timezone = {tz:?} in the config differs from the campaign's time zone {:?} \
                     (rules/campaign.toml); remove report.timezone: the report runs in the campaign's zone",
                    campaign.info.timezone
                );
            }
        }
        Ok(campaign)
    }

    pub fn registry(&self) -> Result<Registry> {
        Registry::open(&self.data_dir)
            .with_context(|| format!("cannot open the registry in {}", self.data_dir.display()))
    }

    pub fn converter(&self) -> Option<Converter> {
        let c = &self.config.converter;
        if !c.enabled {
            return None;
        }
        Converter::find(c.program.as_deref(), self.config.converter_timeout())
    }

    /// The intake pipeline (rules, reply templates, converter, score-sheet import), built
    /// once.
    pub fn intake(&self) -> Result<Intake> {
        once(&self.loaded.intake, || self.load_intake())
    }

    fn load_intake(&self) -> Result<Intake> {
        let campaign = self.campaign()?;
        let mut settings = self.config.settings();
        if settings.own_name.trim().is_empty() {
            settings.own_name = campaign.info.sender_name.clone();
        }
        // A rules folder without review.toml has no expert review: score sheets are then
        // not looked for (and `lndx review` says what is missing).
        let review = if self.has_review() {
            Some(crate::intake::ReviewIntake {
                rubric: self.rubric(&campaign)?,
                wording: self.review_wording()?,
                sender: self.report_sender(),
            })
        } else {
            None
        };
        Ok(Intake {
            campaign,
            settings,
            replier: Replier::load(self.templates_dir.as_deref()).context("reply templates")?,
            converter: self.converter(),
            review,
        })
    }

    /// The staff desk (the 待人工处理 queue, actions, audit log) on this registry, filing
    /// with this intake and worded from this templates folder.
    pub fn desk(&self) -> Result<Desk> {
        Desk::new(self.intake()?, self.templates_dir.as_deref())
            .context("desk wording (templates/desk.toml)")
    }

    pub fn transport(&self) -> Result<Transport> {
        Ok(match &self.config.outbox {
            OutboxConfig::Folder { .. } => {
                Transport::Folder(self.config.outbox_folder(&self.data_dir))
            }
            OutboxConfig::Smtp(cfg) => Transport::Smtp(Box::new(
                SmtpSender::new(cfg, &self.config.identity.address).map_err(anyhow::Error::msg)?,
            )),
        })
    }

    /// Who sends the weekly report, and to whom (`[identity]`, `[report]`).
    pub fn report_sender(&self) -> Sender {
        let c = &self.config;
        Sender {
            address: c.identity.address.clone(),
            name: c.identity.name.clone(),
            loop_header: c.identity.loop_header.clone(),
            to: c.report.to.clone(),
            cc: c.report.cc.clone(),
        }
    }

    /// The report builder: the campaign, the report templates and wording, the sender;
    /// built once.
    pub fn reporter(&self) -> Result<Reporter> {
        once(&self.loaded.reporter, || {
            Ok(Reporter::from_parts(
                self.campaign()?,
                self.templates_dir.as_deref(),
                self.report_sender(),
            )?)
        })
    }

    /// The weekly report's scheduler on `report.schedule`, reading the time from `clock`
    /// (`Box::new(chrono::Utc::now)` outside tests), with a registry connection of its own.
    pub fn scheduler(&self, clock: Clock) -> Result<Scheduler> {
        let scheduler = Scheduler::new(
            self.reporter()?,
            self.registry()?,
            &self.config.report.schedule,
            clock,
        )?;
        Ok(if self.has_review() {
            scheduler.with_extra(self.review_reminders()?)
        } else {
            scheduler
        })
    }

    /// Whether the campaign has expert review: its rules folder has `review.toml` (an
    /// optional file), or the built-in rules are used.
    pub fn has_review(&self) -> bool {
        *self.loaded.has_review.get_or_init(|| {
            self.rules_dir
                .as_ref()
                .is_none_or(|d| d.join(crate::review::rubric::FILE).is_file())
        })
    }

    /// The review rubric of the rules folder (or the built-in one), checked against
    /// `campaign`, loaded once.
    pub fn rubric(&self, campaign: &Campaign) -> Result<crate::review::Rubric> {
        once(&self.loaded.rubric, || {
            Ok(match &self.rules_dir {
                Some(dir) => crate::review::Rubric::load(dir, campaign)?,
                None => {
                    crate::review::Rubric::builtin(campaign).context("built-in review rules")?
                }
            })
        })
    }

    /// Review mail's wording (`templates/review.toml`), loaded once.
    fn review_wording(&self) -> Result<crate::review::wording::Wording> {
        once(&self.loaded.review_wording, || {
            Ok(crate::review::wording::Wording::load(
                self.templates_dir.as_deref(),
            )?)
        })
    }

    /// Expert review's setup: the rubric, the mail's wording, who sends.
    pub fn review_setup(&self, campaign: &Campaign) -> Result<crate::review::staff::Setup> {
        Ok(crate::review::staff::Setup {
            rubric: self.rubric(campaign)?,
            wording: self.review_wording()?,
            sender: self.report_sender(),
            sign_in: Some(self.review_sign_in()),
        })
    }

    /// Expert review's reminders and completion mail, run by the report's scheduler on its
    /// clock, with a registry connection of their own.
    pub fn review_reminders(&self) -> Result<crate::report::schedule::Extra> {
        let campaign = self.campaign()?;
        let rubric = self.rubric(&campaign)?;
        let wording = self.review_wording()?;
        let sender = self.report_sender();
        let sign_in = self.review_sign_in();
        let mut reg = self.registry()?;
        Ok(Box::new(move |now| {
            let mailer = crate::review::mail::Mailer {
                campaign: &campaign,
                rubric: &rubric,
                wording: &wording,
                sender: &sender,
                sign_in: Some(&sign_in),
            };
            mailer
                .tick(&mut reg, now)
                .map(|q| q.len())
                .map_err(|e| e.to_string())
        }))
    }

    /// Sign-in links for review mail: the console's own links (single use, `[web]
    /// link_hours`, stored hashed) under the console's address, landing on 我的评审.
    pub fn review_sign_in(&self) -> crate::review::mail::SignIn {
        let hours = self.config.web.link_hours.max(1);
        let base = self.console_base();
        crate::review::mail::SignIn {
            hours,
            make: Box::new(move |reg, user| {
                crate::web::issue_signin_link(reg, user, hours, &base).map_err(|e| e.to_string())
            }),
        }
    }

    /// The console's parts: its own intake (for the self-check and the wording), the
    /// data directory and `[web]`'s settings.
    pub fn console(&self) -> Result<crate::web::Console> {
        let w = &self.config.web;
        Ok(crate::web::Console {
            data_dir: self.data_dir.clone(),
            intake: self.intake()?,
            public_url: w.public_url.clone(),
            link_hours: w.link_hours.max(1),
            session_idle_minutes: w.session_idle_minutes.max(1),
            check_upload_bytes: (w.check_upload_mb.max(1) * 1024 * 1024) as usize,
            reporter: self.reporter()?,
            desk: self.desk()?,
            book: self.book_setup(),
            review: if self.has_review() {
                Some(self.review_setup(&self.campaign()?)?)
            } else {
                None
            },
        })
    }

    /// The book's settings from `[book]` and the templates folder.
    pub fn book_setup(&self) -> crate::book::Setup {
        crate::book::Setup {
            templates_dir: self.templates_dir.clone(),
            fonts: self.config.book.fonts.clone(),
            date: self.config.book.date,
        }
    }

    /// The address sign-in links start with: `[web] public_url`, else the listen address.
    pub fn console_base(&self) -> String {
        match &self.config.web.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!(
                "http://{}",
                self.config
                    .web_listen()
                    .unwrap_or_else(|| crate::config::DEFAULT_WEB_LISTEN.to_string())
            ),
        }
    }

    pub fn cap(&self) -> u32 {
        self.config.limits.per_recipient_per_day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules are read once: with the folder gone after the first reading, every part
    /// `lndx run` builds is still made, from what was read.
    #[test]
    fn the_rules_are_read_once_for_every_part() {
        let tmp = tempfile::tempdir().unwrap();
        let rules = tmp.path().join("rules");
        std::fs::create_dir(&rules).unwrap();
        let repo_rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for f in std::fs::read_dir(&repo_rules).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), rules.join(f.file_name())).unwrap();
        }
        let app = App::new(None, Some(tmp.path().join("var")), Some(rules.clone())).unwrap();
        let first = app.intake().unwrap();
        std::fs::remove_dir_all(&rules).unwrap();
        let again = app.intake().unwrap();
        assert_eq!(
            again.campaign.info.short_name,
            first.campaign.info.short_name
        );
        app.reporter().unwrap();
        app.desk().unwrap();
        app.review_setup(&app.campaign().unwrap()).unwrap();
        let _reminders = app.review_reminders().unwrap();
        assert!(app.console().unwrap().review.is_some());
        // A fresh App reads the folder, and says it is gone.
        let fresh = App::new(None, Some(tmp.path().join("var")), Some(rules)).unwrap();
        assert!(fresh.campaign().is_err());
    }
}
