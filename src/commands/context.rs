//! Everything a command needs, resolved once from flags, environment and config: who the user is, the
//! store's key, the session with the service, the log file and the feed's client.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use chrono::Utc;

use super::{exit, exit_err};
use crate::cli::Global;
use crate::config::{Config, default_data_dir, default_key_file};
use crate::domain::inert;
use crate::feed::client::FeedClient;
use crate::feed::demo::{self, DemoData};
use crate::identity::{Role, Viewer, os_user};
use crate::service::remote::ConnectError;
use crate::service::{CaseService, ServiceError, Session, StoreError, StoreKey};

/// Everything a command needs, resolved once from flags, environment and config.
pub struct Context_ {
    pub global: Global,
    pub config: Config,
    pub config_path: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub viewer: Viewer,
    /// The session with the shared service, when vigil is its client (`[service] socket`, `--socket`).
    pub remote: Option<Session>,
}

/// What is known before anyone's role is: the config and the file it came from, the data dir and the OS
/// user. `vigil config check` needs no more (anyone who can read the file may check it); every other
/// command needs a role too ([`Settings::with_role`]).
pub struct Settings {
    pub global: Global,
    pub config: Config,
    pub config_path: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub user: String,
}

pub fn settings(global: Global) -> Result<Settings> {
    // Before anything is written: every file this process creates is its owner's alone.
    crate::service::restrict_umask();
    let (config, config_path) =
        Config::load(global.config.as_deref()).map_err(|e| exit_err(exit::USAGE, e.to_string()))?;
    let data_dir = match (&global.data_dir, global.demo) {
        (Some(d), _) => d.clone(),
        (None, true) => {
            default_data_dir().map(|d| d.join("demo")).ok_or_else(|| anyhow!("no home directory: pass --data-dir"))?
        }
        // A client of the shared service opens no store, so it needs no data dir (a system user may have
        // no home): the lack is said only if a store is opened.
        (None, false) => default_data_dir().unwrap_or_default(),
    };
    let user = os_user().map_err(|e| exit_err(exit::NO_ROLE, e))?;
    Ok(Settings { global, config, config_path, data_dir, user })
}

impl Settings {
    /// Who the config makes the user, if anyone. The demo is the user's own sandbox: they are its DSL.
    pub(super) fn viewer(&self) -> Option<Viewer> {
        if self.global.demo {
            return Some(Viewer { user: self.user.clone(), role: Role::Dsl, sees_staff: true });
        }
        self.config.viewer(&self.user)
    }

    /// The config this process read, for a message: its file, or where vigil looked for one.
    fn config_read(&self) -> String {
        match (&self.config_path, crate::config::default_config_path()) {
            (Some(path), _) => format!("the config file {}", path.display()),
            (None, Some(default)) => format!(
                "vigil's config (no --config or VIGIL_CONFIG was given, and there is no {} nor {})",
                default.display(),
                crate::config::SYSTEM_CONFIG
            ),
            (None, None) => "vigil's config (no --config or VIGIL_CONFIG was given)".into(),
        }
    }

    /// The settings with the user's role; a user the config gives none is refused (exit 3), told which
    /// config was read, and why a `[roles] staff_alerts` line did not give them one.
    pub fn with_role(self) -> Result<Context_> {
        let viewer = self.viewer().ok_or_else(|| {
            let staff_only = if self.config.roles.staff_alerts.contains(&self.user) {
                " (it names you under staff_alerts only, which lets a dsl, ddsl or officer also see staff alerts \
                 and is not a role)"
            } else {
                ""
            };
            exit_err(
                exit::NO_ROLE,
                format!(
                    "user `{}` has no role in {}{staff_only}; ask the DSL to add you under [roles] \
                     (`vigil config check` shows what vigil read)",
                    self.user,
                    self.config_read()
                ),
            )
        })?;
        let Settings { global, config, config_path, data_dir, .. } = self;
        Ok(Context_ { global, config, config_path, data_dir, viewer, remote: None })
    }

    /// The shared service's socket, when vigil is to be its client: `--socket`, `VIGIL_SOCKET`, or
    /// `[service] socket`. The demo is always the user's own sandbox.
    pub fn socket(&self) -> Option<PathBuf> {
        if self.global.demo {
            return None;
        }
        self.global.socket.clone().or_else(|| self.config.service.socket.clone())
    }

    /// The settings with the session the shared service gives this user: the service, not this process's
    /// config, says who they are (a user it gives no role is refused with exit 3).
    pub fn connect(self, socket: &std::path::Path) -> Result<Context_> {
        let session = Session::connect(socket).map_err(|e| match e {
            ConnectError::Refused { code, message } => exit_err(code, message),
            e @ ConnectError::NotInGroup { .. } => exit_err(exit::NO_ROLE, e.to_string()),
            other => exit_err(exit::FAILURE, other.to_string()),
        })?;
        let Settings { global, config, config_path, data_dir, .. } = self;
        let viewer = session.viewer().clone();
        Ok(Context_ { global, config, config_path, data_dir, viewer, remote: Some(session) })
    }
}

/// The context for a command: a client of the shared service when a socket is configured, else this
/// process's own store with the role its config gives the user.
pub fn resolve(global: Global) -> Result<Context_> {
    let settings = settings(global)?;
    match settings.socket() {
        Some(socket) => settings.connect(&socket),
        None => settings.with_role(),
    }
}

/// The store's key: `VIGIL_PASSPHRASE`, else `[storage] passphrase_file`, else the key file (`[storage]
/// key_file`, by default the platform config dir's `vigil/store.key`). The demo always uses its own
/// `vigil/demo.key`. A key file inside the data dir is refused: a copy of the data dir would carry its key.
pub fn store_key(ctx: &Context_) -> Result<StoreKey> {
    if ctx.data_dir.as_os_str().is_empty() {
        bail!(exit_err(exit::USAGE, "no home directory: pass --data-dir"));
    }
    if !ctx.global.demo {
        if let Ok(p) = std::env::var("VIGIL_PASSPHRASE")
            && !p.is_empty()
        {
            return Ok(StoreKey::passphrase(p));
        }
        if let Some(path) = &ctx.config.storage.passphrase_file {
            let bytes =
                crate::secret_file::read(path, "passphrase file").map_err(|e| exit_err(exit::USAGE, e.to_string()))?;
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                exit_err(exit::USAGE, format!("the passphrase file {} is not UTF-8 text", path.display()))
            })?;
            let passphrase = text.trim_end_matches(['\n', '\r']);
            if passphrase.is_empty() {
                bail!(exit_err(exit::USAGE, format!("the passphrase file {} is empty", path.display())));
            }
            return Ok(StoreKey::passphrase(passphrase));
        }
    }
    let path = if ctx.global.demo { None } else { ctx.config.storage.key_file.clone() }
        .or_else(|| default_key_file(ctx.global.demo))
        .ok_or_else(|| exit_err(exit::USAGE, "no home directory: set [storage] key_file in the config"))?;
    let resolved = |p: &std::path::Path| {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        abs.canonicalize().unwrap_or(abs)
    };
    let key_dir = path.parent().map(resolved).unwrap_or_default();
    if key_dir.starts_with(resolved(&ctx.data_dir)) {
        bail!(exit_err(
            exit::USAGE,
            format!(
                "the store key file {} is inside the data dir {}: keep it elsewhere ([storage] key_file), so that a copy of the data dir does not carry its key",
                path.display(),
                ctx.data_dir.display()
            )
        ));
    }
    Ok(StoreKey::file(path))
}

/// The user's session with the case service: the shared service's, when vigil is its client; otherwise
/// the store in the data dir opened with its key, a warning when the disk is nearly full, and retention run.
pub(super) fn open_service(ctx: &Context_) -> Result<Session> {
    if let Some(remote) = &ctx.remote {
        return Ok(remote.clone());
    }
    let session = Session::new(open_case_service(ctx)?, ctx.viewer.clone());
    // A school's retention is its own service's to run, not the trust's lead's reading it.
    if ctx.config.storage.trust_schools().is_none() {
        run_retention(ctx, &session)?;
    }
    Ok(session)
}

/// The session the full-screen UI reads: on the trust's config without `--school`, every school's at once
/// (one queue, the school on each row); otherwise [`open_service`]'s.
pub(super) fn open_view(ctx: &Context_) -> Result<Session> {
    match ctx.config.storage.trust_schools().filter(|_| ctx.global.school.is_none() && ctx.remote.is_none()) {
        Some(schools) => crate::service::trust::view(trust_sessions(ctx, schools)?, ctx.viewer.clone())
            .ok_or_else(|| exit_err(exit::USAGE, "[storage] schools names no school")),
        None => open_service(ctx),
    }
}

/// The case service over the store in the data dir, with a warning when the disk is nearly full.
pub(super) fn open_case_service(ctx: &Context_) -> Result<CaseService> {
    let key = store_key(ctx)?;
    let config = &ctx.config;
    let mut policy = crate::service::Policy::from_config(config);
    if ctx.global.demo {
        policy.team.demo_dsl = Some(ctx.viewer.user.clone());
    }
    let opened = match config.storage.trust_schools() {
        Some(schools) => {
            let [school] = <[_; 1]>::try_from(trust_schools_chosen(ctx, schools)?).map_err(|all| {
                let names: Vec<&str> = all.iter().map(|s| s.school.as_str()).collect();
                exit_err(
                    exit::USAGE,
                    format!(
                        "this config is the trust's (`[storage] schools`): name the school whose cases to read with --school ({}); `vigil list` and `vigil report` cover every school",
                        names.join(", ")
                    ),
                )
            })?;
            CaseService::open_postgres(&school, &key, policy)
        }
        None if ctx.global.school.is_some() => bail!(exit_err(
            exit::USAGE,
            "--school is for the trust's config (`[storage] schools`); this config keeps one school"
        )),
        None => match config.storage.postgres() {
            Some(settings) => CaseService::open_postgres(&settings, &key, policy),
            None => CaseService::open(&ctx.data_dir, &key, policy),
        },
    };
    let service = opened.map_err(opening_failed)?;
    let session = Session::new(service.clone(), ctx.viewer.clone());
    if session.store_status(false)?.disk_low {
        eprintln!(
            "vigil: the disk holding {} is nearly full: vigil has given back the room it kept in reserve, so what you do now is still recorded, but once that is used nothing new can be (decisions, views, alerts from the feed) until space is freed; everything stored so far is safe. Free space on that disk soon",
            ctx.data_dir.display()
        );
    }
    Ok(service)
}

/// A store that would not open, with the exit code a script can rely on.
fn opening_failed(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::InUse { .. } => exit_err(exit::STORE_IN_USE, e.to_string()),
        StoreError::Key(_) => exit_err(exit::USAGE, e.to_string()),
        StoreError::Exposed { .. } => exit_err(exit::FAILURE, e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// The trust's lead's session with each school a command on the trust's config covers (the one `--school`
/// names, or every one), with the school's name: what `vigil list` and `vigil report` read together.
pub(super) fn trust_sessions(
    ctx: &Context_,
    schools: Vec<crate::store::postgres::PgSettings>,
) -> Result<Vec<(String, Session)>> {
    let chosen = trust_schools_chosen(ctx, schools)?;
    let key = store_key(ctx)?;
    let policy = crate::service::Policy::from_config(&ctx.config);
    chosen
        .into_iter()
        .map(|school| {
            let service = CaseService::open_postgres(&school, &key, policy.clone()).map_err(opening_failed)?;
            Ok((school.school, Session::new(service, ctx.viewer.clone())))
        })
        .collect()
}

/// The schools of the trust's config a command covers: the one `--school` names, or every one. The trust's
/// config is the trust's lead's alone: it would make anyone else it named a reviewer of every school.
fn trust_schools_chosen(
    ctx: &Context_,
    schools: Vec<crate::store::postgres::PgSettings>,
) -> Result<Vec<crate::store::postgres::PgSettings>> {
    if ctx.viewer.role != crate::identity::Role::TrustLead {
        bail!(exit_err(
            exit::NO_ROLE,
            format!(
                "the trust's config (`[storage] schools`) is the trust's lead's (`[roles] trust_lead`; your role: {}); a school's own team uses that school's config",
                ctx.viewer.role.as_str()
            )
        ));
    }
    let Some(name) = &ctx.global.school else { return Ok(schools) };
    let names: Vec<String> = schools.iter().map(|s| s.school.clone()).collect();
    let one: Vec<_> = schools.into_iter().filter(|s| &s.school == name).collect();
    if one.is_empty() {
        bail!(exit_err(exit::USAGE, format!("no school `{name}` in [storage] schools ({})", names.join(", "))));
    }
    Ok(one)
}

/// Retention: closed cases past their time go, leaving a tombstone.
pub(super) fn run_retention(ctx: &Context_, session: &Session) -> Result<()> {
    // Retention runs whenever a store is opened: closed cases past their time go, leaving a tombstone. On a
    // full disk it waits for the next open: reading what is there comes first.
    match session.purge_expired(ctx.config.storage.retention_months, Utc::now()) {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "closed cases purged by retention"),
        Err(ServiceError::Store(StoreError::DiskFull)) => tracing::warn!("retention skipped: the disk is full"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Logs go to a file, never to the terminal UI, and never carry alert content.
pub fn init_logging(ctx: &Context_) {
    let path = match (&ctx.config.log_file, ctx.data_dir.as_os_str().is_empty()) {
        (Some(file), _) => file.clone(),
        (None, false) => ctx.data_dir.join("vigil.log"),
        (None, true) => return,
    };
    if let Some(parent) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent);
    }
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path);
    if let Ok(file) = file {
        // Every record is made inert on its way to the file: feed text can carry terminal escapes.
        let writer = std::sync::Mutex::new(inert::InertLines(file));
        let _ = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).try_init();
    }
}

/// The feed URL to use: the in-process demo feed, the flag/env, or the config.
pub(super) async fn feed_client(ctx: &Context_) -> Result<Option<(FeedClient, Option<tokio::task::JoinHandle<()>>)>> {
    if ctx.global.demo {
        let data = DemoData::embedded(Utc::now()).map_err(|e| anyhow!(e))?;
        let drip = Some(Duration::from_secs(20));
        let (addr, handle) = demo::spawn(([127, 0, 0, 1], 0).into(), data, drip, None).await?;
        let client = FeedClient::new(&format!("http://{addr}"), None, None, ctx.config.timeouts())?
            .with_bounds(ctx.config.sync_bounds());
        return Ok(Some((client, Some(handle))));
    }
    let url = ctx.global.feed_url.clone().or_else(|| ctx.config.feed.url.clone());
    let Some(url) = url else { return Ok(None) };
    let token = ctx.config.feed_token()?;
    let client = FeedClient::new(&url, token, ctx.config.feed.limit, ctx.config.timeouts())?
        .with_bounds(ctx.config.sync_bounds());
    Ok(Some((client, None)))
}
