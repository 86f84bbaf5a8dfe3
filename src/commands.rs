//! What each subcommand does. `main.rs` only parses and dispatches here.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use serde_json::json;
use tokio::sync::{Notify, mpsc};

use crate::cli::{AuditAction, CaseAction, Commands, ConfigAction, FeedAction, Global, StoreAction};
use crate::config::{Config, default_data_dir, default_key_file};
use crate::domain::inert;
use crate::feed::client::{FeedClient, Poller, record_attempt, sync_once_finished};
use crate::feed::demo::{self, DemoData};
use crate::identity::{Role, Viewer, os_user};
use crate::service::{CaseDetail, CaseService, CaseSummary, ServiceError};
use crate::store::{Store, StoreError, StoreKey};

/// Exit codes a script can rely on.
pub mod exit {
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const NO_ROLE: i32 = 3;
    pub const STORE_IN_USE: i32 = 4;
}

/// An error with the exit code it should end the process with.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

fn exit_err(code: i32, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Exit { code, message: message.into() })
}

/// Everything a command needs, resolved once from flags, environment and config.
pub struct Context_ {
    pub global: Global,
    pub config: Config,
    pub config_path: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub viewer: Viewer,
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
    crate::store::restrict_umask();
    let (config, config_path) =
        Config::load(global.config.as_deref()).map_err(|e| exit_err(exit::USAGE, e.to_string()))?;
    let data_dir = match (&global.data_dir, global.demo) {
        (Some(d), _) => d.clone(),
        (None, true) => {
            default_data_dir().map(|d| d.join("demo")).ok_or_else(|| anyhow!("no home directory: pass --data-dir"))?
        }
        (None, false) => default_data_dir().ok_or_else(|| anyhow!("no home directory: pass --data-dir"))?,
    };
    let user = os_user().map_err(|e| exit_err(exit::NO_ROLE, e))?;
    Ok(Settings { global, config, config_path, data_dir, user })
}

impl Settings {
    /// Who the config makes the user, if anyone. The demo is the user's own sandbox: they are its DSL.
    fn viewer(&self) -> Option<Viewer> {
        if self.global.demo {
            return Some(Viewer { user: self.user.clone(), role: Role::Dsl, sees_staff: true });
        }
        self.config.viewer(&self.user)
    }

    /// The config this process read, for a message: its file, or where vigil looked for one.
    fn config_read(&self) -> String {
        match (&self.config_path, crate::config::default_config_path()) {
            (Some(path), _) => format!("the config file {}", path.display()),
            (None, Some(default)) => {
                format!("vigil's config (no --config or VIGIL_CONFIG was given, and there is no {})", default.display())
            }
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
        Ok(Context_ { global, config, config_path, data_dir, viewer })
    }
}

pub fn resolve(global: Global) -> Result<Context_> {
    settings(global)?.with_role()
}

/// The store's key: `VIGIL_PASSPHRASE`, else `[storage] passphrase_file`, else the key file (`[storage]
/// key_file`, by default the platform config dir's `vigil/store.key`). The demo always uses its own
/// `vigil/demo.key`. A key file inside the data dir is refused: a copy of the data dir would carry its key.
pub fn store_key(ctx: &Context_) -> Result<StoreKey> {
    if !ctx.global.demo {
        if let Ok(p) = std::env::var("VIGIL_PASSPHRASE")
            && !p.is_empty()
        {
            return Ok(StoreKey::passphrase(p));
        }
        if let Some(path) = &ctx.config.storage.passphrase_file {
            use std::os::unix::fs::MetadataExt;
            let unreadable = |e: std::io::Error| {
                exit_err(exit::USAGE, format!("cannot read the passphrase file {}: {e}", path.display()))
            };
            let mode = std::fs::metadata(path).map_err(unreadable)?.mode() & 0o777;
            if mode & 0o077 != 0 {
                bail!(exit_err(
                    exit::USAGE,
                    format!(
                        "the passphrase file {} can be read by other users (mode {mode:03o}): fix it with `chmod 600 {}`",
                        path.display(),
                        path.display()
                    )
                ));
            }
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(unreadable)?);
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

fn open_service(ctx: &Context_) -> Result<CaseService> {
    let key = store_key(ctx)?;
    let store = Store::open(&ctx.data_dir, &key).map_err(|e| match e {
        StoreError::InUse { .. } => exit_err(exit::STORE_IN_USE, e.to_string()),
        StoreError::Key(_) => exit_err(exit::USAGE, e.to_string()),
        StoreError::Exposed { .. } => exit_err(exit::FAILURE, e.to_string()),
        other => anyhow::Error::new(other),
    })?;
    let service =
        CaseService::new(store, ctx.config.calendar(), ctx.config.due, ctx.config.levels.clone(), ctx.viewer.clone());
    if service.store().disk_low() {
        eprintln!(
            "vigil: the disk holding {} is nearly full: vigil has given back the room it kept in reserve, so what you do now is still recorded, but once that is used nothing new can be (decisions, views, alerts from the feed) until space is freed; everything stored so far is safe. Free space on that disk soon",
            ctx.data_dir.display()
        );
    }
    // Retention runs whenever a store is opened: closed cases past their time go, leaving a tombstone. On a
    // full disk it waits for the next open: reading what is there comes first.
    match service.purge_expired(ctx.config.storage.retention_months, Utc::now()) {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "closed cases purged by retention"),
        Err(ServiceError::Store(StoreError::DiskFull)) => tracing::warn!("retention skipped: the disk is full"),
        Err(e) => return Err(e.into()),
    }
    Ok(service)
}

/// A refusal by the service as the plain message and exit code a script can rely on.
fn service_err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Forbidden(role) if role == Role::Reporter.as_str() => {
            exit_err(exit::NO_ROLE, "your role (reporter) may run `vigil report` only")
        }
        ServiceError::Forbidden(role) => exit_err(exit::NO_ROLE, format!("your role ({role}) may not do this")),
        other => exit_err(exit::FAILURE, other.to_string()),
    }
}

/// Writes `value` as pretty JSON with every character that could act on a terminal escaped (`\u001b`,
/// `\u009b`, `\u202e`): serde_json escapes C0 controls only, and JSON output is often read on a terminal.
/// The text is the original, JSON-escaped; nothing is cut or replaced.
pub fn write_json<W: Write, T: serde::Serialize + ?Sized>(out: &mut W, value: &T) -> Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, InertJson(serde_json::ser::PrettyFormatter::new()));
    // As an io::Error, so that a closed pipe is still recognised as one (serde_json's error hides it).
    value.serialize(&mut ser).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

struct InertJson<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for InertJson<'_> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> std::io::Result<()> {
        let mut buf = [0u8; 4];
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if !inert::is_inert(c.encode_utf8(&mut buf)) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", u)?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Logs go to a file, never to the terminal UI, and never carry alert content.
pub fn init_logging(ctx: &Context_) {
    let path = ctx.config.log_file.clone().unwrap_or_else(|| ctx.data_dir.join("vigil.log"));
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
async fn feed_client(ctx: &Context_) -> Result<Option<(FeedClient, Option<tokio::task::JoinHandle<()>>)>> {
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

pub async fn run(ctx: Context_, command: Option<Commands>) -> Result<()> {
    match command {
        None => tui(ctx).await,
        Some(Commands::Sync { once }) => sync(ctx, once).await,
        Some(Commands::List { json, mut filter }) => {
            if let [words] = filter.text.as_mut_slice() {
                dash_from_stdin(vec![words])?;
            }
            list(ctx, json, &filter.to_filter())
        }
        Some(Commands::Show { id, json, cpoms }) => show(ctx, &id, json, cpoms),
        Some(Commands::Case { id, action }) => case(ctx, &id, action),
        Some(Commands::DemoFeed { listen, drip }) => demo_feed(listen, drip).await,
        Some(Commands::Config { action: ConfigAction::Check }) => {
            let Context_ { global, config, config_path, data_dir, viewer } = ctx;
            config_check(Settings { global, config, config_path, data_dir, user: viewer.user })
        }
        Some(Commands::Feed { action }) => feed(ctx, action),
        Some(Commands::Report(args)) => report(ctx, args),
        Some(Commands::Audit { action }) => audit(ctx, action),
        Some(Commands::Store { action: StoreAction::Compact }) => compact_store(&ctx),
    }
}

fn compact_store(ctx: &Context_) -> Result<()> {
    if !ctx.viewer.can_review() {
        bail!(exit_err(exit::NO_ROLE, "your role (reporter) may run `vigil report` only"));
    }
    let key = store_key(ctx)?;
    let started = std::time::Instant::now();
    let done = crate::store::compact::compact(&ctx.data_dir, &key).map_err(|e| match e {
        StoreError::InUse { .. } => exit_err(exit::STORE_IN_USE, e.to_string()),
        StoreError::Key(_) => exit_err(exit::USAGE, e.to_string()),
        other => exit_err(
            exit::FAILURE,
            format!("compaction failed ({other}); nothing is lost: the next start finishes or undoes it"),
        ),
    })?;
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    writeln!(
        std::io::stdout(),
        "compacted: {:.1} MiB -> {:.1} MiB ({} entries) in {:.1} s",
        mib(done.bytes_before),
        mib(done.bytes_after),
        done.entries,
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}

async fn tui(ctx: Context_) -> Result<()> {
    let started = std::env::var_os("VIGIL_REPORT_FIRST_FRAME").map(|_| std::time::Instant::now());
    let keymap = ctx.config.keymap().map_err(|e| exit_err(exit::USAGE, format!("keymap problems:\n{e}")))?;
    let service = open_service(&ctx)?;
    if !ctx.viewer.can_review() {
        bail!(exit_err(exit::NO_ROLE, "your role (reporter) may run `vigil report` only"));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let retry = Arc::new(Notify::new());
    let mut demo_server = None;
    let mut screenshot_client = None;
    if let Some((client, server)) = feed_client(&ctx).await? {
        demo_server = server;
        screenshot_client = Some(client.clone());
        let poller = Poller {
            client,
            service: service.clone(),
            interval: Duration::from_secs(if ctx.global.demo { 5 } else { ctx.config.feed.poll_seconds }),
            events: tx,
            retry: retry.clone(),
        };
        tokio::spawn(poller.run());
    }
    let options = crate::tui::TuiOptions {
        demo: ctx.global.demo,
        ascii: ctx.global.no_unicode || !ctx.config.ui.unicode,
        theme: ctx.global.theme.unwrap_or(ctx.config.ui.theme),
        mouse: ctx.global.mouse || ctx.config.ui.mouse,
        images: ctx.config.ui.images,
        poll_seconds: if ctx.global.demo { 5 } else { ctx.config.feed.poll_seconds },
        report_first_frame: started,
    };
    let result = crate::tui::run(service, screenshot_client, rx, retry, keymap, options).await;
    if let Some(h) = demo_server {
        h.abort();
    }
    result
}

async fn sync(ctx: Context_, once: bool) -> Result<()> {
    let service = open_service(&ctx)?;
    let (client, _server) = feed_client(&ctx).await?.ok_or_else(|| {
        exit_err(exit::USAGE, "no feed URL: pass --feed-url, set VIGIL_FEED_URL, or set [feed] url in the config")
    })?;
    if once {
        let result = sync_once_finished(&client, &service).await;
        // A failure is recorded (feed status, the log) like the poller's, then reported.
        record_attempt(&service, result.as_ref().map(|(_, finished)| finished), Utc::now(), None);
        let (report, finished) = result.map_err(|e| exit_err(exit::FAILURE, format!("sync failed: {e}")))?;
        // Screenshots of open High cases, fetched ahead (never a suspected-illegal one); failures are logged only.
        crate::feed::screenshots::prefetch_high(&client, &service).await;
        writeln!(
            std::io::stdout(),
            // Staff alerts do not exist for a user who may not see them: not even as a count here.
            "synced: {} new, {} revised, {} unchanged, {} quarantined{}",
            report.new,
            report.revised,
            report.unchanged,
            report.quarantined,
            finished.rested_note().map(|n| format!("; {n}")).unwrap_or_default(),
        )?;
        return Ok(());
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let poller = Poller {
        client,
        service,
        interval: Duration::from_secs(ctx.config.feed.poll_seconds),
        events: tx,
        retry: Arc::new(Notify::new()),
    };
    let task = tokio::spawn(poller.run());
    tracing::info!("sync started");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            ev = rx.recv() => match ev {
                Some(crate::feed::client::PollerEvent::Health(h)) if h.stopped => {
                    task.abort();
                    let msg = h.last_error.map(|(_, e)| e).unwrap_or_else(|| "polling stopped".into());
                    return Err(exit_err(exit::FAILURE, format!("sync stopped: {msg}")));
                }
                Some(_) => {}
                None => {
                    // The poller ended without being asked to: that is a failure, not a clean stop.
                    tracing::error!("the poller stopped unexpectedly");
                    return Err(exit_err(exit::FAILURE, "sync stopped unexpectedly; see the log file"));
                }
            }
        }
    }
    task.abort();
    tracing::info!("sync stopped by signal");
    Ok(())
}

fn plain_row(c: &CaseSummary) -> String {
    let mut subject = inert::line(&c.subject_id).into_owned();
    if let Some(n) = &c.subject_name {
        subject.push_str(&format!(" {}", inert::line(n)));
    }
    let flags: String = c.flags().iter().map(|f| format!(" {f}")).collect();
    format!(
        "{:<4} {:<11} {:<20} {:<18} {:<30} {} {}{}{flags}",
        c.level.label(),
        c.status,
        inert::line(&c.key.to_string()),
        inert::line(&c.category),
        subject,
        c.raised_at.format("%Y-%m-%d %H:%M"),
        c.due_at.map(|d| format!("due {}", d.format("%Y-%m-%d %H:%M"))).unwrap_or_default(),
        if c.overdue { " OVERDUE" } else { "" },
    )
}

fn list(ctx: Context_, json: bool, filter: &crate::app::filter::Filter) -> Result<()> {
    let service = open_service(&ctx)?;
    let now = Utc::now();
    // Most of a store of some years is closed cases: they are read only when the filter can show them.
    let cases = if filter.wants_closed() { service.queue(now) } else { service.queue_open(now) };
    let matches = filter.matcher();
    let queue: Vec<CaseSummary> = cases.map_err(service_err)?.into_iter().filter(|c| matches(c)).collect();
    let what = if json { "exported the queue as JSON" } else { "listed the queue" };
    service.audit(None, &format!("{what} ({} cases)", queue.len()), now)?;
    let mut out = std::io::stdout().lock();
    if json {
        write_json(&mut out, &queue)?;
    } else {
        for c in &queue {
            writeln!(out, "{}", plain_row(c))?;
        }
        if queue.is_empty() {
            writeln!(out, "no cases{}", if filter.is_active() { " match the filter" } else { " open" })?;
        }
    }
    Ok(())
}

pub fn detail_json(d: &CaseDetail) -> serde_json::Value {
    json!({
        "case": d.summary,
        "alert": d.alert,
        "checklist": d.checklist,
        "missing_required": d.missing_required,
        "outcomes": d.outcomes.iter().map(|(id, text)| json!({"id": id, "text": text})).collect::<Vec<_>>(),
        "events": d.events,
    })
}

fn show(ctx: Context_, id: &str, json: bool, cpoms: bool) -> Result<()> {
    let service = open_service(&ctx)?;
    let key = service.find(id).map_err(service_err)?;
    let now = Utc::now();
    service.mark_viewed(&key, now).map_err(service_err)?;
    let mut out = std::io::stdout().lock();
    if cpoms {
        let r = service.records(&key, now).map_err(service_err)?;
        writeln!(out, "== CPOMS entry ==\n{}\n", r.cpoms)?;
        match r.tracking {
            Some(t) => writeln!(out, "== Student tracking note (no alert content) ==\n{t}")?,
            None => writeln!(
                out,
                "== Student tracking note ==\nnone: Low and staff alerts are not logged on student tracking"
            )?,
        }
        return Ok(());
    }
    let d = service.detail(&key, now).map_err(service_err)?;
    if json {
        service.audit(Some(&key), "exported the case as JSON", now)?;
        write_json(&mut out, &detail_json(&d))?;
        return Ok(());
    }
    let state =
        crate::app::State { tz: service.calendar().time_zone(), ..crate::app::State::new(ctx.viewer.clone(), now) };
    let theme = crate::ui::Theme::new(crate::ui::theme::ThemeName::Mono, true);
    for line in crate::ui::detail_lines(&state, &theme, &d) {
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    writeln!(out, "Checklist")?;
    for (i, item) in d.checklist.iter().enumerate() {
        let tick = if item.done { "[x]" } else { "[ ]" };
        let req = if item.required { " (required)" } else { "" };
        let value = item.value.as_deref().map(|v| format!(" = {}", inert::line(v))).unwrap_or_default();
        writeln!(out, "  {:>2} {tick} {} [{}]{req}{value}", i + 1, item.text, item.id)?;
    }
    writeln!(out, "Outcomes: {}", d.outcomes.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", "))?;
    Ok(())
}

fn case(ctx: Context_, id: &str, mut action: CaseAction) -> Result<()> {
    // Read before the store is opened: it is not held while someone types.
    dash_from_stdin(action.text_mut())?;
    let service = open_service(&ctx)?;
    let now = Utc::now();
    let key = service.find(id).map_err(service_err)?;
    let checklist = service.checklist(&key, now).map_err(service_err)?;
    let command = action.resolve(&checklist).map_err(|e| exit_err(exit::FAILURE, e))?;
    let events = service.act(&key, &command, now).map_err(service_err)?;
    writeln!(std::io::stdout(), "recorded: {}", inert::line(&crate::domain::case::describe_decision(&events)))?;
    Ok(())
}

/// Replaces the one argument given as `-` among `args` (case text: a note, a reason, a value; `list`'s
/// words) with standard input, read to its end less its trailing newlines, so that the text need not be a
/// process argument (`/proc/PID/cmdline`, shell history). Input is read once, so two `-` are refused.
/// Headless commands only: on the TUI's `:` line, which shares the grammar, `-` is just a dash.
fn dash_from_stdin(args: Vec<&mut String>) -> Result<()> {
    let mut dashes = args.into_iter().filter(|a| a.as_str() == "-");
    let Some(arg) = dashes.next() else { return Ok(()) };
    if dashes.next().is_some() {
        bail!(exit_err(exit::USAGE, "only one argument may be `-`: standard input is read once"));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
        .map_err(|e| exit_err(exit::FAILURE, format!("cannot read standard input: {e}")))?;
    text.truncate(text.trim_end_matches(['\n', '\r']).len());
    *arg = text;
    Ok(())
}

/// `vigil demo-feed`, which runs without config, store or role.
pub async fn run_demo_feed(command: Option<Commands>) -> Result<()> {
    match command {
        Some(Commands::DemoFeed { listen, drip }) => demo_feed(listen, drip).await,
        _ => Ok(()),
    }
}

async fn demo_feed(listen: std::net::SocketAddr, drip: Option<f64>) -> Result<()> {
    let drip = match drip {
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => bail!(exit_err(
            exit::USAGE,
            format!("--drip must be a number of seconds above 0 and at most 86400 (got {s})")
        )),
        None => None,
    };
    let data = DemoData::embedded(Utc::now()).map_err(|e| anyhow!(e))?;
    let n = data.alerts.len();
    let (addr, handle) =
        demo::spawn(listen, data, drip, None).await.with_context(|| format!("cannot listen on {listen}"))?;
    // The banner is a courtesy: the server is what was asked for, and it serves whether or not anyone reads it.
    let _ =
        writeln!(std::io::stdout(), "demo feed: {n} fictional alerts on http://{addr} (protocol v1); Ctrl-C stops it");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = handle => {}
    }
    Ok(())
}

/// `vigil config check`: for anyone who can read the config, role or none (the IT technician checks it
/// before adding anyone). It opens no store, so it shows no alert content.
pub fn config_check(ctx: Settings) -> Result<()> {
    let mut shown = ctx.config.clone();
    if shown.feed.token_file.is_some() {
        shown.feed.token_file =
            shown.feed.token_file.map(|p| PathBuf::from(format!("{} (contents redacted)", p.display())));
    }
    let token = ctx.config.feed_token().map_err(|e| exit_err(exit::USAGE, e.to_string()))?;
    ctx.config.keymap().map_err(|e| exit_err(exit::USAGE, format!("keymap problems:\n{e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# config file: {}",
        ctx.config_path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "none (defaults)".into())
    )?;
    writeln!(out, "# data dir: {}", ctx.data_dir.display())?;
    writeln!(
        out,
        "# feed url: {}",
        ctx.global.feed_url.clone().or(ctx.config.feed.url.clone()).unwrap_or_else(|| "not set".into())
    )?;
    writeln!(out, "# feed token: {}", if token.is_some() { "set (redacted)" } else { "not set" })?;
    match ctx.viewer() {
        Some(v) => writeln!(
            out,
            "# you: {} ({}{})",
            v.user,
            v.role.as_str(),
            if v.sees_staff && v.role != Role::Dsl { ", staff alerts too" } else { "" }
        )?,
        None => writeln!(out, "# you: {} (no role: vigil refuses you until you are added under [roles])", ctx.user)?,
    }
    let warnings = ctx.config.staff_alerts_without_role();
    for user in &warnings {
        writeln!(
            out,
            "# warning: [roles] staff_alerts names `{user}`, who has no reviewing role: staff_alerts lets a dsl, \
             ddsl or officer also see staff alerts and is not a role itself (staff alerts go to the DSL)"
        )?;
    }
    write!(out, "{}", toml::to_string_pretty(&shown).context("cannot print the config")?)?;
    match warnings.len() {
        0 => writeln!(out, "# config OK")?,
        n => writeln!(out, "# config OK, with {n} warning{}", if n == 1 { "" } else { "s" })?,
    }
    Ok(())
}

fn feed(ctx: Context_, action: FeedAction) -> Result<()> {
    let service = open_service(&ctx)?;
    let mut out = std::io::stdout().lock();
    match action {
        FeedAction::Rejected { json } => {
            let items = service.rejected(Utc::now()).map_err(service_err)?;
            if json {
                write_json(&mut out, &items)?;
            } else if items.is_empty() {
                writeln!(out, "no rejected alerts")?;
            } else {
                for q in items {
                    writeln!(
                        out,
                        "{}  {}:{}  {}\n  raw: {}",
                        q.received_at.format("%Y-%m-%d %H:%M"),
                        inert::line(q.rejected.source.as_deref().unwrap_or("?")),
                        inert::line(q.rejected.id.as_deref().unwrap_or("?")),
                        inert::line(&q.rejected.reason),
                        inert::line(&q.rejected.raw)
                    )?;
                }
            }
        }
        FeedAction::Status => {
            let (s, staff_dropped) = service.feed_status().map_err(service_err)?;
            writeln!(
                out,
                "cursor: {}",
                s.cursor.as_deref().map(|c| inert::line(c).into_owned()).unwrap_or_else(|| "none".into())
            )?;
            writeln!(
                out,
                "last success: {}",
                s.last_success.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into())
            )?;
            match &s.last_error {
                Some((at, e)) => writeln!(out, "last error: {} {}", at.to_rfc3339(), inert::line(e))?,
                None => writeln!(out, "last error: none")?,
            }
            let (alarm, tz) = (ctx.config.feed.unreadable_page_alarm, service.calendar().time_zone());
            for line in crate::feed::admin::status_lines(&s, Utc::now(), alarm, &tz) {
                writeln!(out, "{}", inert::line(&line))?;
            }
            writeln!(out, "alerts stored: {}", service.store().alert_count())?;
            writeln!(out, "rejected: {}", service.store().quarantine_count())?;
            // Only for a viewer who may see staff alerts: for anyone else even a zero would say something.
            if let Some(n) = staff_dropped {
                writeln!(out, "staff alerts not stored for this user: {n}")?;
            }
        }
        FeedAction::ResetCursor { to } => {
            crate::feed::admin::reset_cursor(&service, to.as_deref(), Utc::now()).map_err(admin_err)?;
            writeln!(
                out,
                "the next sync reads the feed from {}",
                if to.is_some() { "the cursor given" } else { "its start" }
            )?;
        }
        FeedAction::SkipPage { to } => {
            let sha = crate::feed::admin::skip_page(&service, to.as_deref(), Utc::now()).map_err(admin_err)?;
            writeln!(out, "skipped the unreadable page (sha256 {sha}; its raw bytes are kept in the store)")?;
        }
    }
    Ok(())
}

fn admin_err(e: crate::feed::admin::AdminError) -> anyhow::Error {
    use crate::feed::admin::AdminError;
    match e {
        AdminError::NotDsl(_) => exit_err(exit::NO_ROLE, e.to_string()),
        AdminError::CursorTooLong(_) | AdminError::EmptyCursor => exit_err(exit::USAGE, e.to_string()),
        other => exit_err(exit::FAILURE, other.to_string()),
    }
}

/// `vigil report`: the one command a `reporter` may run. An audited export: the log line names the format
/// and period, never a figure.
fn report(ctx: Context_, args: crate::cli::ReportArgs) -> Result<()> {
    let service = open_service(&ctx)?;
    let now = Utc::now();
    let today = now.with_timezone(&service.calendar().time_zone()).date_naive();
    let period = crate::report::Period::resolve(args.from, args.to, today).map_err(|e| exit_err(exit::USAGE, e))?;
    let data = service.report_data(args.include_staff).map_err(|e| match e {
        crate::service::ServiceError::Forbidden(role) => {
            exit_err(exit::NO_ROLE, format!("only the DSL may add staff alerts to a report (your role: {role})"))
        }
        other => anyhow::Error::new(other),
    })?;
    let options = crate::report::Options { min_group: ctx.config.report.min_group, now };
    let text = crate::report::render(args.format, &crate::report::compute(&data, period, &options));
    let (format, from, to) = (args.format.as_str(), period.from.to_string(), period.to.to_string());
    let staff = if args.include_staff { ", staff counts included" } else { "" };
    service.audit(None, &format!("exported a report ({format}, {from} to {to}{staff})"), now)?;
    match &args.out {
        Some(path) => crate::report::write_file(path, &text)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    tracing::info!(format, from, to, include_staff = args.include_staff, "report exported");
    Ok(())
}

/// `vigil audit verify [--expect HEAD]` and `vigil audit head` (any reviewing role), `vigil audit show [ID]`
/// and `vigil audit upgrade` (the DSL only).
fn audit(ctx: Context_, action: AuditAction) -> Result<()> {
    use crate::audit::Verdict;
    let service = open_service(&ctx)?;
    match action {
        AuditAction::Verify { expect } => {
            let verdict = service.audit_verify_against(expect.as_ref()).map_err(service_err)?;
            let head = audit_verdict(&verdict)?;
            let Verdict::Intact { records, unkeyed, .. } = verdict else { return Ok(()) };
            let earlier = if unkeyed > 0 {
                format!(" (records 1 to {unkeyed} were written unkeyed by an earlier vigil: a plain hash chain)")
            } else {
                String::new()
            };
            let expected = expect.map(|e| format!(", and holds the kept head {e}")).unwrap_or_default();
            writeln!(
                std::io::stdout(),
                "audit trail intact: {records} records{earlier}; head {head}{expected} (keep it elsewhere: `vigil audit verify --expect {head}` then finds the trail cut back or rolled back)"
            )?;
            keep_head(&ctx, &head)
        }
        AuditAction::Head => {
            let verdict = service.audit_verify().map_err(service_err)?;
            let head = audit_verdict(&verdict)?;
            writeln!(std::io::stdout(), "{head}")?;
            keep_head(&ctx, &head)
        }
        AuditAction::Upgrade => {
            let record = service.audit_upgrade(Utc::now()).map_err(|e| match e {
                ServiceError::Forbidden(role) => {
                    exit_err(exit::NO_ROLE, format!("only the DSL may key the audit trail (your role: {role})"))
                }
                other => service_err(other),
            })?;
            writeln!(
                std::io::stdout(),
                "audit trail keyed from record {}: records 1 to {} stay a plain hash chain; verify it now and keep the head it prints",
                record.seq,
                record.seq - 1
            )?;
            Ok(())
        }
        AuditAction::Show { id } => {
            let records = service.audit_records(id.as_deref()).map_err(|e| match e {
                ServiceError::Forbidden(role) => {
                    exit_err(exit::NO_ROLE, format!("the audit trail is the DSL's to read (your role: {role})"))
                }
                other => service_err(other),
            })?;
            let mut out = std::io::stdout().lock();
            if records.is_empty() {
                writeln!(out, "no audit records{}", if id.is_some() { " for this case" } else { "" })?;
            }
            for r in &records {
                writeln!(
                    out,
                    "{:>6}  {}  {}  {}  {}",
                    r.seq,
                    r.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    inert::line(&r.actor),
                    r.case.as_deref().map_or(std::borrow::Cow::Borrowed("-"), inert::line),
                    inert::line(&r.what)
                )?;
            }
            Ok(())
        }
    }
}

/// The head of a chain that holds, or the exit a script can rely on: 1 for a broken, disagreeing or
/// unkeyed trail, with the reason on one line.
fn audit_verdict(verdict: &crate::audit::Verdict) -> Result<crate::audit::HeadMark> {
    use crate::audit::Verdict;
    match verdict {
        Verdict::Intact { head, .. } => Ok(head.clone()),
        Verdict::Unkeyed { records, .. } => Err(exit_err(
            exit::FAILURE,
            format!(
                "audit trail not keyed: its {records} records were written by an earlier vigil as a plain hash chain, which anyone who can write the data dir can rewrite; the DSL keys it from now on with `vigil audit upgrade` (check it first against any head you kept)"
            ),
        )),
        Verdict::Broken { seq, reason } => {
            Err(exit_err(exit::FAILURE, format!("audit trail broken at record {seq}: {reason}")))
        }
        Verdict::Disagrees { detail } => {
            Err(exit_err(exit::FAILURE, format!("audit trail and case log disagree: {detail}")))
        }
    }
}

/// Writes a verified head to the log and gives it to `[audit] head_command`, so it is kept somewhere an
/// attacker with the data dir alone cannot reset. The head holds no content.
fn keep_head(ctx: &Context_, head: &crate::audit::HeadMark) -> Result<()> {
    tracing::info!(head = %head, "audit trail verified");
    let Some(command) = &ctx.config.audit.head_command else { return Ok(()) };
    let words = shlex::split(command)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| exit_err(exit::USAGE, "[audit] head_command cannot be split into words"))?;
    let failed = |why: String| {
        tracing::warn!(error = %why, "audit head_command failed");
        exit_err(
            exit::FAILURE,
            format!("the trail verified, but [audit] head_command failed ({why}): the head was not kept"),
        )
    };
    let mut child = std::process::Command::new(&words[0])
        .args(&words[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{head}").map_err(|e| failed(e.to_string()))?;
    }
    let status = child.wait().map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        return Err(failed(status.to_string()));
    }
    Ok(())
}
