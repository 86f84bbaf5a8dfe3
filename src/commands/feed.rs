//! `vigil sync`, `vigil feed ...` and `vigil demo-feed`: the feed read into the service, its state shown,
//! and the DSL's repairs.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use tokio::sync::{Notify, mpsc};

use super::context::{Context_, feed_client, open_service};
use super::output::write_json;
use super::{exit, exit_err, service_err};
use crate::cli::{Commands, FeedAction};
use crate::domain::inert;
use crate::feed::demo::{self, DemoData};
use crate::intake::{Poller, PollerEvent, record_attempt, sync_once_finished};
use crate::service::ServiceError;
use crate::service::api::FeedChange;
use crate::service::feed::FeedRepairError;

pub(super) async fn sync(ctx: Context_, once: bool) -> Result<()> {
    if let Some(session) = &ctx.remote {
        if !once {
            anyhow::bail!(exit_err(
                exit::USAGE,
                "the vigil service polls the feed itself; `vigil sync --once` asks it to poll now"
            ));
        }
        session.ask_service(crate::service::wire::Ask::PollNow).map_err(super::service_err)?;
        writeln!(
            std::io::stdout(),
            "asked the vigil service to poll the feed now (`vigil service status` shows how it went)"
        )?;
        return Ok(());
    }
    let service = open_service(&ctx)?;
    let (client, _server) = feed_client(&ctx).await?.ok_or_else(|| {
        exit_err(exit::USAGE, "no feed URL: pass --feed-url, set VIGIL_FEED_URL, or set [feed] url in the config")
    })?;
    if once {
        let result = sync_once_finished(&client, &service).await;
        // A failure is recorded (feed status, the log) like the poller's, then reported.
        if let Err(message) = record_attempt(&service, result.as_ref().map(|(_, finished)| finished), Utc::now(), None)
        {
            eprintln!("vigil: {message}");
        }
        let (report, finished) = result.map_err(|e| exit_err(exit::FAILURE, format!("sync failed: {e}")))?;
        // Screenshots of open High cases, fetched ahead (never a suspected-illegal one); failures are logged only.
        crate::intake::screenshots::prefetch_high(&client, &service).await;
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
        session: service,
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
                Some(PollerEvent::Health(h)) if h.stopped => {
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

pub(super) fn feed(ctx: Context_, action: FeedAction) -> Result<()> {
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
            for line in crate::service::feed::status_lines(&s, Utc::now(), alarm, &tz) {
                writeln!(out, "{}", inert::line(&line))?;
            }
            let status = service.store_status(true).map_err(service_err)?;
            writeln!(out, "alerts stored: {}", status.alerts.unwrap_or_default())?;
            writeln!(out, "rejected: {}", status.rejected)?;
            // Only for a viewer who may see staff alerts: for anyone else even a zero would say something.
            if let Some(n) = staff_dropped {
                writeln!(out, "staff alerts not stored for this user: {n}")?;
            }
        }
        FeedAction::ResetCursor { to } => {
            service.change_feed(FeedChange::ResetCursor { to: to.clone() }, Utc::now()).map_err(admin_err)?;
            writeln!(
                out,
                "the next sync reads the feed from {}",
                if to.is_some() { "the cursor given" } else { "its start" }
            )?;
        }
        FeedAction::SkipPage { to } => {
            let sha = service.skip_page(to.as_deref(), Utc::now()).map_err(admin_err)?;
            writeln!(out, "skipped the unreadable page (sha256 {sha}; its raw bytes are kept in the store)")?;
        }
    }
    Ok(())
}

fn admin_err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Forbidden(role) => exit_err(
            exit::NO_ROLE,
            format!("only the DSL may change where vigil reads the feed from (your role: {role})"),
        ),
        ServiceError::FeedRepair(e @ (FeedRepairError::CursorTooLong(_) | FeedRepairError::EmptyCursor)) => {
            exit_err(exit::USAGE, e.to_string())
        }
        other => exit_err(exit::FAILURE, other.to_string()),
    }
}

/// `vigil demo-feed`, which runs without config, store or role.
pub async fn run_demo_feed(command: Option<Commands>) -> Result<()> {
    match command {
        Some(Commands::DemoFeed { listen, drip }) => demo_feed(listen, drip).await,
        _ => Ok(()),
    }
}

pub(super) async fn demo_feed(listen: std::net::SocketAddr, drip: Option<f64>) -> Result<()> {
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
