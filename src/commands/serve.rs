//! `vigil serve` (the shared service, in the foreground for systemd) and `vigil service status`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::Utc;
use tokio::sync::{Notify, mpsc, watch};

use super::context::{Context_, Settings, feed_client, init_logging, open_case_service, run_retention};
use super::{exit, exit_err, service_err};
use crate::config::DEFAULT_SOCKET;
use crate::daemon::{Daemon, identity, listener};
use crate::identity::{Role, Viewer};
use crate::intake::{Poller, PollerEvent};
use crate::service::Session;
use crate::service::wire::{Answer, Ask};

/// How often the service runs retention while it is up (it also runs at start).
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

pub async fn serve(settings: Settings) -> Result<()> {
    if settings.global.demo {
        bail!(exit_err(exit::USAGE, "`vigil serve` serves a real store; the demo runs on its own (`vigil --demo`)"));
    }
    let socket = settings.socket().unwrap_or_else(|| DEFAULT_SOCKET.into());
    let group = Some(settings.config.service.group.as_str()).filter(|g| !g.is_empty()).map(str::to_string);
    let config_shown = settings
        .config_path
        .as_ref()
        // Absolute: the refused user reads it from their own shell, not the service's directory.
        .map_or_else(
            || "no config file: every user is refused".to_string(),
            |p| std::path::absolute(p).unwrap_or_else(|_| p.clone()).display().to_string(),
        );
    let identify = identity::by_config(settings.config.clone(), config_shown);
    // The service keeps every alert (staff ones included) once, for the viewers it filters them for.
    let owner = Viewer { user: settings.user.clone(), role: Role::Dsl, sees_staff: true };
    let Settings { global, config, config_path, data_dir, .. } = settings;
    let ctx = Context_ { global, config, config_path, data_dir, viewer: owner, remote: None };
    init_logging(&ctx);
    let service = open_case_service(&ctx)?;
    let session = Session::new(service.clone(), ctx.viewer.clone());
    run_retention(&ctx, &session)?;

    // Bound before any other task starts: binding sets the process's umask for a moment.
    let listener = listener::bind(&socket, group.as_deref()).map_err(|e| {
        let code = if matches!(e, listener::ListenError::InUse(_)) { exit::STORE_IN_USE } else { exit::USAGE };
        exit_err(code, e.to_string())
    })?;
    let poll_now = Arc::new(Notify::new());
    let (health_tx, health) = watch::channel(None);
    let mut screenshots = None;
    if let Some((client, _)) = feed_client(&ctx).await? {
        screenshots = Some(client.clone());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let poller = Poller {
            client,
            session: session.clone(),
            interval: Duration::from_secs(ctx.config.feed.poll_seconds),
            events: tx,
            retry: poll_now.clone(),
        };
        tokio::spawn(poller.run());
        tokio::spawn(async move {
            let mut forwarded: Option<(crate::service::api::FeedHealth, tokio::time::Instant)> = None;
            while let Some(PollerEvent::Health(h)) = rx.recv().await {
                if worth_telling(forwarded.as_ref(), &h) {
                    health_tx.send_replace(Some(h.clone()));
                    forwarded = Some((h, tokio::time::Instant::now()));
                }
            }
        });
    }
    // The vendors' mailbox, read on its own schedule; a login that cannot work is said at start, plainly.
    let mail = match crate::mail::imap::Mailbox::from_config(&ctx.config.mail) {
        Ok(None) => None,
        Ok(Some(mailbox)) => {
            let reader = Arc::new(crate::intake::mail::MailReader::new(mailbox, session.clone()));
            tokio::spawn(reader.clone().run(Duration::from_secs(ctx.config.mail.poll_seconds)));
            Some(reader)
        }
        Err(e) => bail!(exit_err(exit::USAGE, e)),
    };
    let months = ctx.config.storage.retention_months;
    let retention = session.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RETENTION_EVERY);
        every.tick().await; // the first tick is now, and retention ran at start
        loop {
            every.tick().await;
            let s = retention.clone();
            match tokio::task::spawn_blocking(move || s.purge_expired(months, Utc::now())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(purged)) => tracing::info!(purged, "closed cases purged by retention"),
                Ok(Err(e)) => tracing::warn!(error = %e, "retention did not run"),
                Err(e) => tracing::warn!(error = %e, "retention stopped"),
            }
        }
    });

    // High (and Medium) cases nobody opened are escalated to every connected reviewer on duty.
    let escalator = crate::escalator::Escalator::new(service.clone()).map_err(|e| exit_err(exit::USAGE, e))?;
    tokio::spawn(escalator.run());

    let daemon = Daemon::new(service, identify, health, poll_now, screenshots, mail);
    tracing::info!(socket = %socket.display(), "vigil serve is listening");
    eprintln!("vigil serve: listening on {}", socket.display());
    // Type=notify: systemd starts the clients' units once the socket is there.
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    daemon.serve(listener, stop).await;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    let _ = std::fs::remove_file(&socket);
    tracing::info!("vigil serve stopped");
    Ok(())
}

/// How often, at most, the feed's routine health (a poll that went as the last one did) is sent to clients:
/// an idle connection carries almost nothing.
const HEALTH_AT_MOST_EVERY: Duration = Duration::from_secs(30);

/// Whether clients need to hear of the feed's health `now`: when its state changed (an error, a stop, a
/// page it cannot read, a rest), or when the routine news (the last success) is older than
/// [`HEALTH_AT_MOST_EVERY`]. A poll starting (`syncing`) is not news.
fn worth_telling(
    forwarded: Option<&(crate::service::api::FeedHealth, tokio::time::Instant)>,
    now: &crate::service::api::FeedHealth,
) -> bool {
    let Some((then, at)) = forwarded else { return true };
    let state = |h: &crate::service::api::FeedHealth| {
        (h.last_error.as_ref().map(|(_, m)| m.clone()), h.stopped, h.stuck_since, h.rested.clone(), h.standby)
    };
    if now.syncing {
        return false;
    }
    // The end of a poll the clients were last told had started is news, as is a first success.
    then.syncing
        || (then.last_success.is_none() && now.last_success.is_some())
        || state(then) != state(now)
        || at.elapsed() >= HEALTH_AT_MOST_EVERY
}

/// `vigil service status`.
pub(super) fn status(ctx: &Context_, json: bool) -> Result<()> {
    let Some(session) = &ctx.remote else {
        bail!(exit_err(
            exit::USAGE,
            "vigil is not set up as a client of a shared service here: set [service] socket in the config or pass --socket"
        ));
    };
    let Answer::Status(status) = session.ask_service(Ask::Status).map_err(service_err)? else {
        bail!(exit_err(exit::FAILURE, "the vigil service gave an unexpected answer to `status`"));
    };
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &status)?;
        writeln!(out)?;
        return Ok(());
    }
    let up = Utc::now() - status.started;
    writeln!(
        out,
        "vigil service {}, up {}h {:02}m (since {})",
        status.version,
        up.num_hours(),
        up.num_minutes() % 60,
        status.started.format("%Y-%m-%d %H:%M UTC")
    )?;
    writeln!(out, "connected: {}", status.connected.len())?;
    for c in &status.connected {
        writeln!(out, "  {} ({}, {})", c.name, c.user, c.role.as_str())?;
    }
    match &status.feed {
        None => writeln!(out, "feed: none configured")?,
        Some(h) => {
            let when = |t: Option<chrono::DateTime<Utc>>| {
                t.map_or_else(|| "never".to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            };
            writeln!(out, "feed: last success {}; next attempt {}", when(h.last_success), when(h.next_attempt))?;
            if h.standby {
                writeln!(
                    out,
                    "  another vigil service polls it; this one stands by, and takes it over if that one stops"
                )?;
            }
            if let Some((at, message)) = &h.last_error {
                writeln!(out, "  last error at {}: {}", at.format("%H:%M UTC"), message)?;
            }
            if h.stopped {
                writeln!(out, "  polling has stopped: see `vigil feed status`")?;
            }
        }
    }
    if let Some(m) = &status.mail {
        let when = |t: Option<chrono::DateTime<Utc>>| {
            t.map_or_else(|| "never".to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        };
        writeln!(
            out,
            "mail ({}): last success {}; next attempt {}",
            m.mailbox,
            when(m.last_success),
            when(m.next_attempt)
        )?;
        if let Some((at, message)) = &m.last_error {
            writeln!(out, "  last error at {}: {}", at.format("%H:%M UTC"), message)?;
        }
    }
    if let Some(e) = &status.store_error {
        writeln!(out, "store: cannot be read: {e}")?;
        return Ok(());
    }
    writeln!(
        out,
        "store: {} rejected alert(s){}",
        status.store.rejected,
        if status.store.disk_low { "; the disk is nearly full" } else { "" }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::api::FeedHealth;

    #[test]
    fn the_end_of_a_poll_clients_saw_start_and_a_standby_are_news_and_a_routine_success_is_not() {
        let at = tokio::time::Instant::now();
        let then = chrono::DateTime::parse_from_rfc3339("2026-11-16T09:00:00Z").expect("time").to_utc();
        let syncing = FeedHealth { syncing: true, ..FeedHealth::default() };
        let ok = FeedHealth { last_success: Some(then), ..FeedHealth::default() };
        assert!(worth_telling(None, &syncing), "the first health is told");
        assert!(worth_telling(Some(&(syncing.clone(), at)), &ok), "the poll the clients heard start has ended");
        let next = FeedHealth { last_success: Some(then + chrono::Duration::minutes(1)), ..ok.clone() };
        assert!(!worth_telling(Some(&(ok.clone(), at)), &next), "a routine success waits");
        assert!(!worth_telling(Some(&(ok.clone(), at)), &FeedHealth { syncing: true, ..ok.clone() }));
        assert!(worth_telling(Some(&(ok.clone(), at)), &FeedHealth { standby: true, ..ok.clone() }));
        let never = FeedHealth { standby: true, ..FeedHealth::default() };
        assert!(worth_telling(Some(&(never.clone(), at)), &FeedHealth { last_success: Some(then), ..never }));
    }
}
