//! The case service: store + rules + access control, behind one message boundary.
//!
//! Every surface (the TUI, every headless command, the feed poller, screenshots, retention, reports, the
//! audit commands) speaks to it only through [`api::Request`]s, each carrying the [`Viewer`] who asks, and
//! hears what changed through its numbered [`api::Event`] stream ([`events`]). Who may see what is decided
//! here and nowhere else, so a surface added later (the shared service's socket) cannot forget it; and no
//! module outside this one and the store reaches the store.
//!
//! [`CaseService`] is the one instance over a store (cheap to clone, shared by every viewer);
//! [`Session`] is one viewer's handle on it, with a typed method per request.

mod actions;
pub mod api;
mod detail;
pub mod escalation;
pub mod events;
pub mod feed;
mod handle;
pub mod handover;
mod ingest;
pub mod intake;
mod mail;
mod peers;
mod queue;
pub mod records;
pub use mail::{MailReport, RawMail};
mod redaction;
pub mod remote;
mod retention;
pub mod session;
pub mod shots;
pub mod subjects;
mod trail;
pub mod trust;
pub mod wire;

pub use detail::{CaseDetail, ChecklistItem, LinkedCase, TimelineEntry};
pub use queue::{CaseSummary, counts};
pub use redaction::ReportData;
pub use session::Session;

use crate::domain::calendar::{DueLevel, DuePolicy, WorkingCalendar};
use crate::domain::case::RuleError;
use crate::domain::checklist::Templates;
use crate::domain::levels::LevelPolicy;
use crate::domain::{Alert, AlertKey, Level};
use crate::identity::Viewer;
use crate::store::Store;
use crate::store::backend::CaseStore;
pub use crate::store::{KeyError, StoreError, StoreKey, restrict_umask};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no case `{0}`")]
    NotFound(String),
    #[error("`{given}` matches more than one case; use SOURCE:ID, one of: {}", .candidates.join(", "))]
    Ambiguous { given: String, candidates: Vec<String> },
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("your role ({role}) may not do this{why}", role = .0, why = why_not(.0))]
    Forbidden(&'static str),
    #[error(transparent)]
    Screenshot(#[from] crate::feed::screenshots::ScreenshotError),
    #[error(transparent)]
    FeedRepair(#[from] feed::FeedRepairError),
    /// The feed's state cannot be read (a damaged value): said with the DSL's way out.
    #[error(
        "the feed state is damaged ({0}), so no sync can start from it; the DSL starts it afresh with `vigil feed reset-cursor` (from the feed's start, or `--to CURSOR` if the feed's operator has the cursor)"
    )]
    FeedStateDamaged(String),
    /// A decision's case changed under it again and again (see `act`): nothing was recorded.
    #[error(
        "the case kept changing while your decision was being recorded; nothing was recorded: look again, then try again"
    )]
    Busy,
    /// The service answered a request with the wrong kind of reply: a bug, said plainly.
    #[error("vigil's service gave an unexpected answer ({0}); please report this")]
    Unexpected(String),
    /// A rule about the team (who may have or see a case), in words that say what to do.
    #[error("{0}")]
    TeamRule(String),
    /// A form that cannot be saved (an alert taken by phone), saying what to give.
    #[error("{0}")]
    Form(String),
    /// A failure the shared service reported, in its words.
    #[error("{0}")]
    Said(String),
    /// The shared service cannot be reached; nothing was asked of it.
    #[error("the vigil service is not answering ({0}); nothing was recorded")]
    Unreachable(String),
    /// The shared service stopped after a decision was sent and before it confirmed it.
    #[error(
        "the vigil service stopped before confirming this; look at the case's timeline when vigil has reconnected before doing it again"
    )]
    Unconfirmed,
    /// A decision that no longer fits the case because someone else decided first: who did what, and when.
    #[error("{0}")]
    Overtaken(Box<Overtaken>),
}

/// What a refused role is told besides the refusal, where a sentence helps: the trust's lead, whose screen
/// shows the school's cases, is told whose decisions they are.
fn why_not(role: &str) -> &'static str {
    if role == crate::identity::Role::TrustLead.as_str() {
        ": the trust's lead reads the school's cases, and decisions on them are its DSL's and deputy's"
    } else {
        ""
    }
}

/// Who decided first, what they did and when, and the rule the later decision then broke.
#[derive(Debug, thiserror::Error)]
#[error("{by} {what} at {at} while you were deciding; your decision was not recorded ({rule})")]
pub struct Overtaken {
    pub by: String,
    pub what: String,
    pub at: String,
    pub rule: RuleError,
}

/// Why `vigil store compact` did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error("your role ({0}) may not do this")]
    Forbidden(&'static str),
    #[error(transparent)]
    Store(StoreError),
}

/// Why `vigil store copy` did not copy, or its copy did not check out.
#[derive(Debug, thiserror::Error)]
pub enum StoreCopyError {
    #[error("your role ({0}) may not do this")]
    Forbidden(&'static str),
    /// The source could not be opened (in use, another key, not there): nothing was written.
    #[error(transparent)]
    Source(StoreError),
    #[error(transparent)]
    Copy(crate::store::copy::CopyError),
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// The service over one store: shared by every viewer, cheap to clone.
#[derive(Clone)]
pub struct CaseService(std::sync::Arc<Core>);

/// What the service holds: the store, the rules it judges by, and the stream of changes it publishes.
pub struct Core {
    store: std::sync::Arc<dyn CaseStore>,
    trail: std::sync::Arc<dyn crate::audit::Trail>,
    templates: &'static Templates,
    calendar: WorkingCalendar,
    due: DuePolicy,
    levels: LevelPolicy,
    team: crate::identity::Team,
    escalation: crate::config::EscalationConfig,
    trends: crate::config::TrendConfig,
    /// When each subject's alerts were raised, for trend markers (made once, kept up to date).
    subjects: subjects::Subjects,
    intake: crate::config::IntakeConfig,
    mail: MailPolicy,
    bus: events::Bus,
    /// This service among those sharing its store: what its announcements are marked with.
    origin: String,
    /// Whether it follows other services' announcements yet (from its first subscriber on).
    following: std::sync::OnceLock<()>,
    /// The right to poll the feed, while this service holds it.
    feed_lease: std::sync::Mutex<Option<Box<dyn crate::store::peers::FeedLease>>>,
    /// Queue reads under way: an escalation sweep working through a backlog gives way to them between
    /// escalations, so a reviewer's first frame does not wait for the backlog ([`escalation`]).
    queue_reads: std::sync::atomic::AtomicUsize,
}

/// How the service reads the vendors' e-mails: its rules, the level of one no rule reads, the limits.
#[derive(Debug, Clone)]
pub struct MailPolicy {
    pub rules: crate::mail::MailRules,
    pub default_level: Level,
    pub limits: crate::mail::Limits,
}

impl Default for MailPolicy {
    fn default() -> Self {
        MailPolicy {
            rules: crate::mail::MailRules::shipped(),
            default_level: Level::Medium,
            limits: crate::mail::Limits::default(),
        }
    }
}

/// The college's rules a service judges by, from its config: the calendar and due times, the levels, the
/// team, and when to escalate and to see a trend.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub calendar: WorkingCalendar,
    pub due: DuePolicy,
    pub levels: LevelPolicy,
    pub team: crate::identity::Team,
    pub escalation: crate::config::EscalationConfig,
    pub trends: crate::config::TrendConfig,
    pub intake: crate::config::IntakeConfig,
    pub mail: MailPolicy,
}

impl Policy {
    pub fn from_config(config: &crate::config::Config) -> Policy {
        Policy {
            calendar: config.calendar(),
            due: config.due,
            levels: config.levels.clone(),
            team: config.team(),
            escalation: config.escalation.clone(),
            trends: config.trends,
            intake: config.intake,
            // The config was validated when read, its rules with it.
            mail: MailPolicy {
                rules: config.mail.rules().unwrap_or_else(|_| crate::mail::MailRules::shipped()),
                default_level: config.mail.default_level,
                limits: crate::mail::Limits::default(),
            },
        }
    }

    /// The calendar, due times and levels given; the rest as a config without them has it.
    pub fn with(calendar: WorkingCalendar, due: DuePolicy, levels: LevelPolicy) -> Policy {
        Policy { calendar, due, levels, ..Policy::default() }
    }
}

/// One request being answered: the service and who asks. Every rule about what a viewer may see or do reads
/// `viewer` from here, so no answer can be given for nobody in particular.
pub(crate) struct Asking<'a> {
    core: &'a Core,
    viewer: &'a Viewer,
}

impl std::ops::Deref for Asking<'_> {
    type Target = Core;
    fn deref(&self) -> &Core {
        self.core
    }
}

fn due_level(level: Level) -> DueLevel {
    match level {
        Level::Low => DueLevel::Low,
        Level::Medium => DueLevel::Medium,
        Level::High => DueLevel::High,
    }
}

impl CaseService {
    /// The service over the sled `store` (its case data and its audit trail).
    pub fn new(store: Store, policy: Policy) -> Self {
        let trail = std::sync::Arc::new(store.clone());
        CaseService::with_store(std::sync::Arc::new(store), trail, policy)
    }

    /// The service over any backend: its case data through `store`, its audit trail through `trail`.
    pub fn with_store(
        store: std::sync::Arc<dyn CaseStore>,
        trail: std::sync::Arc<dyn crate::audit::Trail>,
        policy: Policy,
    ) -> Self {
        let Policy { calendar, due, levels, team, escalation, trends, intake, mail } = policy;
        // A store that records this service's case writes marks them with its own name: the service takes
        // it, so that it skips its case writes as it skips its own announcements.
        let origin = store.case_writes_origin().map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        CaseService(std::sync::Arc::new(Core {
            store,
            trail,
            templates: Templates::embedded(),
            calendar,
            due,
            levels,
            team,
            escalation,
            trends,
            subjects: subjects::Subjects::default(),
            intake,
            mail,
            bus: events::Bus::default(),
            origin,
            following: std::sync::OnceLock::new(),
            queue_reads: std::sync::atomic::AtomicUsize::new(0),
            feed_lease: std::sync::Mutex::new(None),
        }))
    }

    /// The service over the store in `dir`, opened with `key`: the one way a surface gets at a store.
    pub fn open(dir: &std::path::Path, key: &StoreKey, policy: Policy) -> std::result::Result<CaseService, StoreError> {
        Ok(CaseService::new(Store::open(dir, key)?, policy))
    }

    /// The service over a school's rows of a PostgreSQL store, opened with `key`.
    pub fn open_postgres(
        settings: &crate::store::postgres::PgSettings,
        key: &StoreKey,
        policy: Policy,
    ) -> std::result::Result<CaseService, StoreError> {
        let store = std::sync::Arc::new(crate::store::postgres::PgStore::open(settings, key)?);
        Ok(CaseService::with_store(store.clone(), store, policy))
    }

    /// When cases nobody opened are escalated.
    pub fn escalation(&self) -> &crate::config::EscalationConfig {
        &self.0.escalation
    }

    /// When a subject's alerts make a trend.
    pub fn trends(&self) -> crate::config::TrendConfig {
        self.0.trends
    }

    /// The team the service knows: roles and how people are named.
    pub fn team(&self) -> &crate::identity::Team {
        &self.0.team
    }

    /// Rewrites the store in `dir` small (`vigil store compact`), for a viewer whose role may: the store must
    /// not be open, so this runs instead of a service, not through one.
    pub fn compact(
        viewer: &Viewer,
        dir: &std::path::Path,
        key: &StoreKey,
    ) -> std::result::Result<crate::store::compact::Compacted, CompactError> {
        if !viewer.can_review() {
            return Err(CompactError::Forbidden(viewer.role.as_str()));
        }
        crate::store::compact::compact(dir, key).map_err(CompactError::Store)
    }

    /// Copies the store at `from` whole into `to`, which holds nothing yet, and verifies the copy (`vigil
    /// store copy`), for the DSL alone (it carries every case and the audit trail): like compaction, it runs
    /// instead of a service, on a sled source no service holds. `mailboxes` are the IMAP mailboxes the config
    /// names, whose marks come across by name.
    pub fn copy_store(
        viewer: &Viewer,
        from: &crate::store::copy::Place,
        to: &crate::store::copy::Place,
        key: &StoreKey,
        mailboxes: &[String],
    ) -> std::result::Result<crate::store::copy::Verified, StoreCopyError> {
        if viewer.role != crate::identity::Role::Dsl {
            return Err(StoreCopyError::Forbidden(viewer.role.as_str()));
        }
        let source = from.open_source(key).map_err(StoreCopyError::Source)?;
        let target = to.open_target(key).map_err(StoreCopyError::Copy)?;
        crate::store::copy::copy(source.as_ref(), target.as_ref(), mailboxes, &to.advice())
            .map_err(StoreCopyError::Copy)
    }

    /// The checklist templates cases are judged by (the same for every viewer).
    pub fn templates(&self) -> &'static Templates {
        self.0.templates
    }

    /// The college's working calendar (the same for every viewer).
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.0.calendar
    }

    pub(crate) fn asking<'a>(&'a self, viewer: &'a Viewer) -> Asking<'a> {
        Asking { core: &self.0, viewer }
    }
}

impl Asking<'_> {
    /// The viewer as the actor of what they do: never the feed, whatever their user name.
    fn actor(&self) -> crate::domain::Actor {
        crate::domain::Actor::person(&self.viewer.user)
    }

    fn require_reviewer(&self) -> Result<()> {
        if self.viewer.can_review() { Ok(()) } else { Err(ServiceError::Forbidden(self.viewer.role.as_str())) }
    }

    /// A decision on a case: a reviewer who decides (not the trust's lead, who reads).
    fn require_decider(&self) -> Result<()> {
        if self.viewer.may_decide() { Ok(()) } else { Err(ServiceError::Forbidden(self.viewer.role.as_str())) }
    }

    fn require_dsl(&self) -> Result<()> {
        if self.viewer.role == crate::identity::Role::Dsl {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(self.viewer.role.as_str()))
        }
    }

    /// Whether this viewer may see the case (the rule: [`Viewer::may_see`]).
    fn visible(&self, alert: &Alert, case: &crate::domain::Case) -> bool {
        self.viewer.may_see(alert.is_staff(), &case.shared_with)
    }
}

/// A case's key in 8 bytes, to tell cases apart in this process without holding their keys (the same
/// key always gives the same hash here; not stored, not a checksum).
pub fn key_hash(key: &AlertKey) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}
