//! Configuration: one TOML file, overridable from the command line and the environment.
//!
//! The feed token is never an argument (it would show in `ps`): it comes from `VIGIL_FEED_TOKEN` or a
//! `token_file`. `vigil config check` prints the effective configuration with the token redacted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::calendar::{CalendarConfig, CalendarError, DuePolicy, WorkingCalendar};
use crate::domain::levels::LevelPolicy;
use crate::identity::{Role, Viewer};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub feed: FeedConfig,
    pub calendar: Calendar,
    pub due: DuePolicy,
    pub levels: LevelPolicy,
    pub roles: Roles,
    /// `[people]`: `dsl1 = { name = "A. Example", title = "DSL" }`, how records name each user.
    pub people: std::collections::BTreeMap<String, Person>,
    pub escalation: EscalationConfig,
    pub trends: TrendConfig,
    pub intake: IntakeConfig,
    pub mail: MailConfig,
    pub audit: AuditConfig,
    pub ui: UiConfig,
    pub report: ReportConfig,
    pub storage: StorageConfig,
    pub service: ServiceConfig,
    /// Where logs go (never alert content). Default: `vigil.log` in the data dir.
    pub log_file: Option<PathBuf>,
    /// Key overrides: `[keys.queue] open = ["o", "Enter"]` (see assets/keymap.toml for the actions).
    pub keys: crate::app::keymap::KeyOverrides,
    /// The file's text, kept to point at lines when a later check (the keymap) finds a problem.
    #[serde(skip)]
    pub source: Option<(PathBuf, String)>,
}

/// `[service]`: the shared service (`vigil serve`) and how every other vigil reaches it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// The service's Unix socket. When set (or given with `--socket` / `VIGIL_SOCKET`), every vigil on this
    /// machine is a client of the service and none opens the store itself.
    pub socket: Option<PathBuf>,
    /// The group the socket is given to: its members may connect (the service still checks each one's
    /// role). `""` leaves it the service's own group.
    pub group: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig { socket: None, group: "safeguarding".into() }
    }
}

/// Where `vigil serve` listens when nothing says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/vigil/vigil.sock";

/// `[calendar]`, as written and as validated. It cannot hold a calendar that failed validation (a bad one is
/// an error when the file is read, naming the setting), so nothing can fall back to a default calendar: a
/// college in another zone, or with its holidays mistyped, is told, not given London's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CalendarConfig", into = "CalendarConfig")]
pub struct Calendar {
    written: CalendarConfig,
    working: WorkingCalendar,
}

impl Calendar {
    /// The calendar as the file has it (what `vigil config check` prints).
    pub fn written(&self) -> &CalendarConfig {
        &self.written
    }
}

impl TryFrom<CalendarConfig> for Calendar {
    type Error = String;

    fn try_from(written: CalendarConfig) -> Result<Self, String> {
        let working = WorkingCalendar::new(&written).map_err(|e: CalendarError| format!("[calendar] {e}"))?;
        Ok(Calendar { written, working })
    }
}

impl From<Calendar> for CalendarConfig {
    fn from(calendar: Calendar) -> Self {
        calendar.written
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    pub url: Option<String>,
    pub token_file: Option<PathBuf>,
    pub poll_seconds: u64,
    pub limit: Option<u32>,
    pub connect_timeout_seconds: u64,
    pub read_timeout_seconds: u64,
    pub request_timeout_seconds: u64,
    /// One sync reads at most this many pages, then rests until the next poll, however often the feed
    /// says `more`.
    pub max_pages_per_sync: u32,
    /// One sync reads for at most this long (seconds), then rests until the next poll.
    pub max_sync_seconds: u64,
    /// After this many identical answers vigil cannot read (the same page for the same cursor), the status
    /// bar and `vigil feed status` say so and name `vigil feed skip-page`.
    pub unreadable_page_alarm: u32,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            url: None,
            token_file: None,
            poll_seconds: 60,
            limit: None,
            connect_timeout_seconds: 10,
            read_timeout_seconds: 30,
            request_timeout_seconds: 120,
            max_pages_per_sync: 200,
            max_sync_seconds: 300,
            unreadable_page_alarm: 3,
        }
    }
}

pub use crate::identity::{Person, Roles, Team};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    pub mouse: bool,
    pub unicode: bool,
    pub theme: crate::ui::theme::ThemeName,
    /// Screenshots in the terminal: "halfblocks" (default; works over SSH and in tmux), "auto" (kitty, sixel or
    /// iTerm2 where the terminal says it can) or "off".
    pub images: ImageMode,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            mouse: false,
            unicode: true,
            theme: crate::ui::theme::ThemeName::Dark,
            images: ImageMode::Halfblocks,
        }
    }
}

/// `[escalation]`: an open case nobody has opened, raised again and again until someone does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationConfig {
    /// A High case not opened by anyone this many minutes (of working time; an out-of-hours alert counts
    /// from the next opening) is escalated. 0 turns High escalation off.
    pub high_unopened_minutes: u32,
    /// A Medium case not opened by anyone this many working hours is escalated. 0 turns it off.
    pub medium_unopened_hours: u32,
    /// An escalation is repeated this often until someone opens the case.
    pub repeat_minutes: u32,
    /// A command (split like a shell would, run without one) given a content-free message on its standard
    /// input at each escalation: route it to SMS, Teams or email with the college's own tools.
    pub notify_command: Option<String>,
}

impl Default for EscalationConfig {
    fn default() -> Self {
        EscalationConfig {
            high_unopened_minutes: 10,
            medium_unopened_hours: 4,
            repeat_minutes: 10,
            notify_command: None,
        }
    }
}

impl EscalationConfig {
    /// `notify_command` split into words as a shell would (it is run without one).
    pub fn notify_words(&self) -> Result<Option<Vec<String>>, String> {
        let Some(command) = self.notify_command.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        shlex::split(command)
            .filter(|w| !w.is_empty())
            .map(Some)
            .ok_or_else(|| "[escalation] notify_command cannot be split into words".to_string())
    }

    /// The numbers the escalation rule judges by.
    pub fn rule(&self) -> crate::domain::escalation::EscalationRule {
        crate::domain::escalation::EscalationRule {
            high_minutes: self.high_unopened_minutes,
            medium_hours: self.medium_unopened_hours,
            repeat_minutes: self.repeat_minutes,
        }
    }
}

/// `[mail]`: the vendors' alert e-mails, and the mailbox they arrive in (read over IMAP when `host` is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The level of an alert from a vendor's e-mail that no rule could fully read.
    pub default_level: crate::domain::Level,
    /// The college's own rules (`[[mail.rule]]`), tried before the shipped ones.
    #[serde(rename = "rule")]
    pub rules: Vec<crate::mail::rules::RuleSpec>,
    /// The IMAP server (always over TLS from the first byte). Unset: no mailbox is read.
    pub host: Option<String>,
    pub port: u16,
    /// A CA certificate (PEM) to trust besides the system's: a college's own CA.
    pub ca_file: Option<std::path::PathBuf>,
    pub user: Option<String>,
    pub folder: String,
    pub auth: MailAuth,
    /// The mailbox password, alone in a file only vigil's user may read (never an argument).
    pub password_file: Option<std::path::PathBuf>,
    /// Where a message goes once it is stored. Unset: it stays where it is (vigil remembers what it read).
    pub move_to: Option<String>,
    pub poll_seconds: u64,
    /// `[mail.oauth]`: the mailbox's OAuth2 token for an XOAUTH2 login (Microsoft 365 or Google).
    pub oauth: Option<crate::mail::oauth::OAuthConfig>,
}

/// `[mail] auth`: how vigil logs in to the mailbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailAuth {
    #[default]
    Password,
    /// OAuth 2.0 (Microsoft 365, Google): a bearer token through SASL XOAUTH2.
    Xoauth2,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            default_level: crate::domain::Level::Medium,
            rules: Vec::new(),
            host: None,
            port: 993,
            ca_file: None,
            user: None,
            folder: "INBOX".into(),
            auth: MailAuth::Password,
            password_file: None,
            move_to: None,
            poll_seconds: 60,
            oauth: None,
        }
    }
}

impl MailConfig {
    /// The rules in force: these, then the shipped ones.
    pub fn rules(&self) -> Result<crate::mail::MailRules, String> {
        crate::mail::MailRules::new(&self.rules)
    }

    /// The mailbox's settings when `host` is set, checked (the secret is read later, by [`Self::login`]).
    pub fn imap(&self) -> Result<Option<&str>, String> {
        let Some(host) = self.host.as_deref() else {
            for (key, set) in [
                ("user", self.user.is_some()),
                ("password_file", self.password_file.is_some()),
                ("move_to", self.move_to.is_some()),
                ("ca_file", self.ca_file.is_some()),
            ] {
                if set {
                    return Err(format!("[mail] {key} is set but host is not: set host to read a mailbox"));
                }
            }
            return Ok(None);
        };
        let plain = |s: &str| !s.trim().is_empty() && !s.chars().any(char::is_control);
        if !plain(host) || host.contains(['/', ' ']) {
            return Err("[mail] host must be a server name or address, e.g. host = \"imap.college.example\"".into());
        }
        if self.port == 0 {
            return Err("[mail] port must be 1 to 65535 (993 is IMAP over TLS)".into());
        }
        if !self.user.as_deref().is_some_and(plain) {
            return Err("[mail] host is set, so user (the mailbox's login) must be too".into());
        }
        if !plain(&self.folder) {
            return Err("[mail] folder must name a folder, e.g. \"INBOX\"".into());
        }
        if let Some(to) = &self.move_to {
            if !plain(to) {
                return Err("[mail] move_to must name a folder, e.g. \"Processed\"".into());
            }
            if to == &self.folder {
                return Err("[mail] move_to must be another folder than folder".into());
            }
        }
        if !(10..=86_400).contains(&self.poll_seconds) {
            return Err("[mail] poll_seconds must be 10 to 86400 (a day)".into());
        }
        match self.auth {
            MailAuth::Password if self.password_file.is_none() => Err(
                "[mail] auth = \"password\" needs password_file: a file holding the mailbox password, readable by vigil's user alone".into(),
            ),
            MailAuth::Password => Ok(Some(host)),
            MailAuth::Xoauth2 if self.oauth.is_none() => Err(
                "[mail] auth = \"xoauth2\" needs [mail.oauth]: where vigil gets its token (Microsoft 365 or Google)".into(),
            ),
            MailAuth::Xoauth2 => Ok(Some(host)),
        }
    }
}

/// `[trends]`: a subject with `count` alerts within `window_days` is marked as a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrendConfig {
    pub window_days: u32,
    pub count: u32,
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig { window_days: 30, count: 3 }
    }
}

/// `[intake]`: alerts a reviewer types in (`vigil alert add`, `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeConfig {
    /// The vendor's own record of a phoned-in alert (same subject and category) raised within this many
    /// hours of it is proposed for linking to it.
    pub match_hours: u32,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig { match_hours: 48 }
    }
}

/// How screenshots are drawn in the terminal (`[ui] images`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageMode {
    #[default]
    Halfblocks,
    Auto,
    Off,
}

/// `vigil report`: `min_group = 5` shows any count below 5 (and any share that would reveal one) as
/// "fewer than 5".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    pub min_group: u64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { min_group: 5 }
    }
}

/// `[audit]`: where the audit trail's head goes besides the log, so that a store cut back or rolled back
/// is found (`vigil audit verify --expect`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// A command (split like a shell would, run without one) given the head (`N:HASH` and a newline) on
    /// its standard input after every `vigil audit verify` and `vigil audit head` that finds the chain
    /// intact: mail it, or append it to a file on another machine. The head holds no content.
    pub head_command: Option<String>,
}

/// `[storage]`: where the store's key comes from, and how long closed cases are kept.
///
/// The key is a key file outside the data dir (default: the platform config dir's `vigil/store.key`,
/// created 0600 with 32 random bytes on first run; the demo's is `vigil/demo.key`), or a passphrase
/// stretched with argon2id: `VIGIL_PASSPHRASE`, else `passphrase_file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    pub key_file: Option<PathBuf>,
    pub passphrase_file: Option<PathBuf>,
    /// Closed cases are purged this many months after they were closed (the vendor keeps 15).
    pub retention_months: u32,
    /// Where cases are kept: the embedded sled store in the data dir (the default), or a PostgreSQL
    /// database a trust's schools share.
    pub backend: StorageBackend,
    /// PostgreSQL: the connection URL, without a password (refused with one).
    pub url: Option<String>,
    /// PostgreSQL: a file holding the password (else `PGPASSFILE`'s file, else none).
    pub password_file: Option<PathBuf>,
    /// PostgreSQL with `sslmode=require` in `url`: a CA to trust for the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// PostgreSQL: the school this service keeps.
    pub school: Option<String>,
    /// PostgreSQL, instead of `school`: the trust's config, whose `vigil report` counts these schools
    /// together (the trust's lead's); it keeps no school's cases itself.
    pub schools: Vec<String>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            key_file: None,
            passphrase_file: None,
            retention_months: 15,
            backend: StorageBackend::Sled,
            url: None,
            password_file: None,
            ca_file: None,
            school: None,
            schools: Vec::new(),
        }
    }
}

/// `[storage] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    #[default]
    Sled,
    Postgres,
}

impl StorageConfig {
    /// The PostgreSQL store's settings, when that is the backend (checked when the config was read).
    pub fn postgres(&self) -> Option<crate::store::postgres::PgSettings> {
        (self.backend == StorageBackend::Postgres).then(|| crate::store::postgres::PgSettings {
            url: self.url.clone().unwrap_or_default(),
            password_file: self.password_file.clone(),
            ca_file: self.ca_file.clone(),
            // A trust's config reaches the database as its first school would (to migrate it, say); it
            // opens no school's cases ([`StorageConfig::trust_schools`]).
            school: self.school.clone().or_else(|| self.schools.first().cloned()).unwrap_or_default(),
        })
    }

    /// A trust's config (`schools`): each school's settings, in the order given.
    pub fn trust_schools(&self) -> Option<Vec<crate::store::postgres::PgSettings>> {
        let base = self.postgres().filter(|_| !self.schools.is_empty())?;
        Some(
            self.schools
                .iter()
                .map(|school| crate::store::postgres::PgSettings { school: school.clone(), ..base.clone() })
                .collect(),
        )
    }

    fn validate(&self) -> Result<(), String> {
        match self.backend {
            StorageBackend::Sled => {
                if self.url.is_some()
                    || self.password_file.is_some()
                    || self.ca_file.is_some()
                    || self.school.is_some()
                    || !self.schools.is_empty()
                {
                    return Err(
                        "[storage] url, password_file, ca_file, school and schools are for backend = \"postgres\""
                            .into(),
                    );
                }
                Ok(())
            }
            StorageBackend::Postgres => {
                let url = self.url.as_deref().ok_or("[storage] backend = \"postgres\" needs url")?;
                if self.schools.is_empty() {
                    return crate::store::postgres::PgSettings::check(url, self.school.as_deref().unwrap_or_default());
                }
                if self.school.is_some() {
                    return Err("[storage] has school and schools: a school's service keeps one `school`; the trust's config names `schools` (for its report) and no `school`".into());
                }
                let mut seen = std::collections::BTreeSet::new();
                for school in &self.schools {
                    crate::store::postgres::PgSettings::check(url, school)?;
                    if !seen.insert(school) {
                        return Err(format!("[storage] schools names `{school}` twice"));
                    }
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the config file {path} is invalid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot read the feed token file {path}: {source}")]
    Token { path: PathBuf, source: std::io::Error },
}

impl Config {
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        // toml's message names the line, the column and the key.
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        config.validate().map_err(|message| ConfigError::Invalid { path: path.to_path_buf(), message })?;
        Ok(Config { source: Some((path.to_path_buf(), text.to_string())), ..config })
    }

    /// Loads `path` if given; otherwise the platform config file if it exists; otherwise defaults.
    pub fn load(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            // The user's own config, else the machine's: on a server running `vigil serve`, the one file that
            // tells every user's vigil where the service's socket is.
            None => default_config_path()
                .filter(|p| p.exists())
                .or_else(|| Some(PathBuf::from(SYSTEM_CONFIG)).filter(|p| p.exists())),
        };
        match path {
            None => Ok((Config::default(), None)),
            Some(p) => {
                let text =
                    std::fs::read_to_string(&p).map_err(|source| ConfigError::Read { path: p.clone(), source })?;
                Ok((Config::parse(&p, &text)?, Some(p)))
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.storage.key_file.is_some() && self.storage.passphrase_file.is_some() {
            return Err("[storage] set key_file or passphrase_file, not both".into());
        }
        self.storage.validate()?;
        if !(1..=1200).contains(&self.storage.retention_months) {
            return Err("[storage] retention_months must be 1-1200".into());
        }
        if !(1..=86_400).contains(&self.feed.poll_seconds) {
            return Err("[feed] poll_seconds must be 1 to 86400 (a day)".into());
        }
        for (name, secs) in [
            ("connect_timeout_seconds", self.feed.connect_timeout_seconds),
            ("read_timeout_seconds", self.feed.read_timeout_seconds),
            ("request_timeout_seconds", self.feed.request_timeout_seconds),
        ] {
            if !(1..=3_600).contains(&secs) {
                return Err(format!("[feed] {name} must be 1 to 3600"));
            }
        }
        if let Some(limit) = self.feed.limit
            && !(1..=500).contains(&limit)
        {
            return Err("[feed] limit must be 1-500".into());
        }
        if !(1..=100_000).contains(&self.feed.max_pages_per_sync) {
            return Err("[feed] max_pages_per_sync must be 1 to 100000".into());
        }
        if !(1..=86_400).contains(&self.feed.max_sync_seconds) {
            return Err("[feed] max_sync_seconds must be 1 to 86400 (a day)".into());
        }
        if !(1..=1_000).contains(&self.feed.unreadable_page_alarm) {
            return Err("[feed] unreadable_page_alarm must be 1 to 1000".into());
        }
        self.mail.rules().map_err(|e| format!("[mail] {e}"))?;
        if let Some(oauth) = &self.mail.oauth {
            oauth.validate().map_err(|e| format!("[mail.oauth] {e}"))?;
        }
        self.mail.imap()?;
        if !(1..=1_440).contains(&self.escalation.repeat_minutes) {
            return Err("[escalation] repeat_minutes must be 1 to 1440 (a day)".into());
        }
        if self.escalation.high_unopened_minutes > 1_440 {
            return Err("[escalation] high_unopened_minutes must be 0 (off) to 1440 (a day)".into());
        }
        if self.escalation.medium_unopened_hours > 240 {
            return Err("[escalation] medium_unopened_hours must be 0 (off) to 240".into());
        }
        // Said at `vigil config check` and at start, not at the first escalation.
        self.escalation.notify_words()?;
        if !(1..=720).contains(&self.intake.match_hours) {
            return Err("[intake] match_hours must be 1 to 720 (30 days)".into());
        }
        if !(1..=3_660).contains(&self.trends.window_days) || !(2..=1_000).contains(&self.trends.count) {
            return Err("[trends] window_days must be 1 to 3660 and count 2 to 1000".into());
        }
        for (user, person) in &self.people {
            if person.name.trim().is_empty() || person.name.chars().any(char::is_control) {
                return Err(format!("[people] `{user}` needs a name of plain text on one line"));
            }
            if person.title.as_deref().is_some_and(|t| t.chars().any(char::is_control)) {
                return Err(format!("[people] `{user}`'s title must be plain text on one line"));
            }
        }
        let mut seen = BTreeSet::new();
        for (role, users) in self.role_lists() {
            for user in users {
                if !seen.insert(user.as_str()) {
                    return Err(format!("[roles] user `{user}` has more than one role (second: {})", role.as_str()));
                }
            }
        }
        Ok(())
    }

    fn role_lists(&self) -> [(Role, &Vec<String>); 5] {
        self.roles.lists()
    }

    /// The viewer for an OS user, or `None` when the config gives them no role.
    pub fn viewer(&self, user: &str) -> Option<Viewer> {
        self.roles.viewer(user)
    }

    /// The team the config describes: roles and people.
    pub fn team(&self) -> Team {
        Team { roles: self.roles.clone(), people: self.people.clone(), demo_dsl: None }
    }

    /// The users `[roles] staff_alerts` names who have no reviewing role (none, or `reporter`): the line
    /// gives them nothing. It widens what a dsl, ddsl or officer sees; it is not a role, because the
    /// procedure sends staff alerts to the DSL and a role of "staff alerts only" is in no procedure.
    pub fn staff_alerts_without_role(&self) -> Vec<&str> {
        self.roles
            .staff_alerts
            .iter()
            .filter(|u| !self.viewer(u).is_some_and(|v| v.can_review()))
            .map(String::as_str)
            .collect()
    }

    /// The embedded keymap with this config's `[keys]` applied; every problem is reported with its line.
    pub fn keymap(&self) -> Result<crate::app::keymap::Keymap, String> {
        let base = crate::app::keymap::Keymap::embedded();
        match &self.source {
            None => Ok(base),
            Some((path, text)) => base
                .with_overrides(path, text, &self.keys)
                .map_err(|errs| errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")),
        }
    }

    /// The working calendar `[calendar]` describes (validated when the file was read: see [`Calendar`]).
    pub fn calendar(&self) -> WorkingCalendar {
        self.calendar.working.clone()
    }

    /// The feed token: `VIGIL_FEED_TOKEN` first, then `token_file`. Never a command-line argument.
    pub fn feed_token(&self) -> Result<Option<String>, ConfigError> {
        if let Ok(t) = std::env::var("VIGIL_FEED_TOKEN")
            && !t.trim().is_empty()
        {
            return Ok(Some(t.trim().to_string()));
        }
        match &self.feed.token_file {
            None => Ok(None),
            Some(p) => std::fs::read_to_string(p)
                .map(|t| Some(t.trim().to_string()).filter(|t| !t.is_empty()))
                .map_err(|source| ConfigError::Token { path: p.clone(), source }),
        }
    }

    pub fn sync_bounds(&self) -> crate::feed::client::SyncBounds {
        crate::feed::client::SyncBounds {
            max_pages: self.feed.max_pages_per_sync.max(1),
            max_time: Duration::from_secs(self.feed.max_sync_seconds.max(1)),
            unreadable_alarm: self.feed.unreadable_page_alarm.max(1),
        }
    }

    pub fn timeouts(&self) -> crate::feed::client::FeedTimeouts {
        crate::feed::client::FeedTimeouts {
            connect: Duration::from_secs(self.feed.connect_timeout_seconds.max(1)),
            read: Duration::from_secs(self.feed.read_timeout_seconds.max(1)),
            request: Duration::from_secs(self.feed.request_timeout_seconds.max(1)),
        }
    }
}

/// The machine's config, read when the user has none of their own.
pub const SYSTEM_CONFIG: &str = "/etc/vigil/config.toml";

pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "vigil").map(|d| d.config_dir().join("config.toml"))
}

/// The default store key file: `store.key` (the demo's: `demo.key`) in the platform config dir, outside
/// the data dir, so a copy of the data dir does not carry its key.
pub fn default_key_file(demo: bool) -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "vigil")
        .map(|d| d.config_dir().join(if demo { "demo.key" } else { "store.key" }))
}

pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "vigil").map(|d| d.data_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_key_is_named_with_its_line() {
        let err = Config::parse(Path::new("/etc/vigil.toml"), "[feed]\npoll_seconds = 5\nurl_typo = \"x\"\n")
            .expect_err("unknown key");
        let msg = err.to_string();
        assert!(msg.contains("/etc/vigil.toml"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("url_typo"), "{msg}");
    }

    #[test]
    fn a_trusts_schools_are_checked_and_a_trust_config_is_not_a_schools() {
        let parse = |storage: &str| Config::parse(Path::new("/etc/vigil.toml"), &format!("[storage]\n{storage}"));
        let url = "url = \"host=/run/postgresql dbname=vigil\"";
        let trust =
            parse(&format!("backend = \"postgres\"\n{url}\nschools = [\"north\", \"south\"]\n")).expect("a trust");
        let schools: Vec<String> =
            trust.storage.trust_schools().expect("a trust's config").into_iter().map(|s| s.school).collect();
        assert_eq!(schools, ["north", "south"]);
        let school = parse(&format!("backend = \"postgres\"\n{url}\nschool = \"north\"\n")).expect("a school");
        assert!(school.storage.trust_schools().is_none());
        for (bad, says) in [
            (
                format!("backend = \"postgres\"\n{url}\nschool = \"north\"\nschools = [\"south\"]\n"),
                "has school and schools",
            ),
            (format!("backend = \"postgres\"\n{url}\nschools = [\"north\", \"north\"]\n"), "names `north` twice"),
            (format!("backend = \"postgres\"\n{url}\nschools = [\"\"]\n"), "school"),
            ("schools = [\"north\"]\n".to_string(), "are for backend = \"postgres\""),
        ] {
            let err = parse(&bad).expect_err(says).to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn a_notify_command_that_cannot_be_split_is_refused_at_start() {
        let err = Config::parse(Path::new("/etc/vigil.toml"), "[escalation]\nnotify_command = \"page 'the dsl\"\n")
            .expect_err("an unclosed quote");
        assert!(err.to_string().contains("notify_command"), "{err}");
        let ok = Config::parse(Path::new("/etc/vigil.toml"), "[escalation]\nnotify_command = \"page 'the dsl'\"\n");
        assert!(ok.is_ok(), "{ok:?}");
    }

    /// A bad `[calendar]` is an error naming the setting and the value: never the default (London) calendar.
    #[test]
    fn a_bad_calendar_is_an_error_naming_the_setting_not_london() {
        let bad = [
            ("time_zone = \"Europe/Londn\"", "time_zone", "Europe/Londn"),
            ("time_zone = \"\"", "time_zone", "\"\""),
            ("holidays = [\"2026-13-01\"]", "holidays", "2026-13-01"),
            ("holidays = [2026-12-25T10:00:00]", "holidays", "2026-12-25T10:00:00"),
            ("holidays = [{ from = \"2026-12-21\", to = \"2026-02-30\" }]", "holidays", "2026-02-30"),
            ("holidays = [{ from = 2027-01-01, to = 2026-12-21 }]", "holidays", "2027-01-01"),
            ("open = \"8.30\"", "open", "8.30"),
            ("working_days = [\"funday\"]", "working_days", "funday"),
        ];
        for (line, setting, value) in bad {
            let err = Config::parse(Path::new("c.toml"), &format!("[calendar]\n{line}\n"))
                .expect_err("a bad calendar is refused");
            let msg = err.to_string();
            assert!(msg.contains("c.toml"), "{line}: {msg}");
            assert!(msg.contains(setting) && msg.contains(value), "{line}: {msg}");
        }
        let c = Config::parse(Path::new("c.toml"), "[calendar]\ntime_zone = \"Pacific/Auckland\"\n").expect("valid");
        assert_eq!(c.calendar().time_zone(), chrono_tz::Pacific::Auckland);
        assert_eq!(Config::default().calendar(), WorkingCalendar::london_default(), "the default is London's");
    }

    #[test]
    fn a_mailbox_is_checked_when_the_config_is_read() {
        let parse = |mail: &str| Config::parse(Path::new("c.toml"), &format!("[mail]\n{mail}\n"));
        let base = "host = \"imap.college.example\"\nuser = \"alerts\"\n";
        let refused = [
            (base.to_string(), "needs password_file"),
            (format!("{base}auth = \"xoauth2\""), "xoauth2\" needs [mail.oauth]"),
            (format!("{base}password_file = \"/p\"\nmove_to = \"INBOX\""), "another folder"),
            (format!("{base}password_file = \"/p\"\nport = 0"), "port"),
            (format!("{base}password_file = \"/p\"\npoll_seconds = 1"), "poll_seconds"),
            ("host = \"imap.college.example\"\npassword_file = \"/p\"".to_string(), "user"),
            ("user = \"alerts\"".to_string(), "host is not"),
            (format!("{base}password_file = \"/p\"\nstarttls = false"), "starttls"),
        ];
        for (text, says) in refused {
            let err = parse(&text).expect_err(&text);
            assert!(err.to_string().contains(says), "{text}: {err}");
        }
        let ok = parse(&format!("{base}password_file = \"/p\"")).expect("valid");
        assert_eq!((ok.mail.port, ok.mail.folder.as_str(), ok.mail.poll_seconds), (993, "INBOX", 60));
        assert!(parse("").is_ok(), "no host: no mailbox, nothing to check");
        let oauth = "[mail.oauth]\nprovider = \"microsoft\"\ntenant = \"college.onmicrosoft.com\"\n\
                     client_id = \"6f1c2a9e-0000-4000-8000-0123456789ab\"\nclient_secret_file = \"/s\"";
        let xoauth2 = parse(&format!("{base}auth = \"xoauth2\"\n{oauth}")).expect("xoauth2 with [mail.oauth]");
        assert_eq!(xoauth2.mail.auth, MailAuth::Xoauth2);
    }

    #[test]
    fn a_user_with_two_roles_is_refused() {
        let err =
            Config::parse(Path::new("c.toml"), "[roles]\ndsl = [\"ann\"]\nreporter = [\"ann\"]\n").expect_err("dup");
        assert!(err.to_string().contains("ann"));
    }

    #[test]
    fn viewers_get_their_role_and_staff_visibility() {
        let c = Config::parse(
            Path::new("c.toml"),
            "[roles]\ndsl = [\"ann\"]\nddsl = [\"bob\", \"ap\"]\nreporter = [\"gov\"]\nstaff_alerts = [\"ap\", \"gov\"]\n",
        )
        .expect("valid");
        assert!(c.viewer("ann").is_some_and(|v| v.sees_staff && v.role == Role::Dsl));
        assert!(c.viewer("bob").is_some_and(|v| !v.sees_staff));
        assert!(c.viewer("ap").is_some_and(|v| v.sees_staff));
        assert!(c.viewer("gov").is_some_and(|v| !v.sees_staff), "reporters never see staff alerts");
        assert_eq!(c.viewer("eve"), None);
    }
}
