//! `vigil` with no subcommand: the full-screen UI, with the poller feeding the service behind it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::sync::{Notify, mpsc};

use super::context::{Context_, feed_client, open_view};
use super::{exit, exit_err};
use crate::intake::Poller;

pub(super) async fn tui(ctx: Context_) -> Result<()> {
    let started = std::env::var_os("VIGIL_REPORT_FIRST_FRAME").map(|_| std::time::Instant::now());
    let keymap = ctx.config.keymap().map_err(|e| exit_err(exit::USAGE, format!("keymap problems:\n{e}")))?;
    let service = open_view(&ctx)?;
    // The trust's lead reads the schools: each school's own service polls its feed and escalates its cases.
    let reads_only = ctx.config.storage.trust_schools().is_some();
    if !ctx.viewer.can_review() {
        bail!(exit_err(exit::NO_ROLE, "your role (reporter) may run `vigil report` only"));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let retry = Arc::new(Notify::new());
    let mut demo_server = None;
    let mut screenshot_client = None;
    if service.is_remote() {
        // The shared service polls the feed and fetches screenshots; its health comes over the socket, and
        // the retry key asks it to poll now.
        if let Some(mut health) = service.take_health() {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(h) = health.recv().await {
                    if tx.send(crate::intake::PollerEvent::Health(h)).is_err() {
                        return;
                    }
                }
            });
        }
        let (asker, retry) = (service.clone(), retry.clone());
        tokio::spawn(async move {
            loop {
                retry.notified().await;
                let asker = asker.clone();
                let _ =
                    tokio::task::spawn_blocking(move || asker.ask_service(crate::service::wire::Ask::PollNow)).await;
            }
        });
    } else if !reads_only && let Some((client, server)) = feed_client(&ctx).await? {
        demo_server = server;
        screenshot_client = Some(client.clone());
        let poller = Poller {
            client,
            session: service.clone(),
            interval: Duration::from_secs(if ctx.global.demo { 5 } else { ctx.config.feed.poll_seconds }),
            events: tx,
            retry: retry.clone(),
        };
        tokio::spawn(poller.run());
    }
    // The process that owns the store escalates the cases nobody opened (the shared service does its own).
    // Not the demo: its alerts are dated from its start, so what it escalates would depend on the hour.
    let mut escalator = None;
    if let Some(local) = service.local().filter(|_| !ctx.global.demo && !reads_only) {
        let ticker = crate::escalator::Escalator::new(local.clone()).map_err(|e| exit_err(exit::USAGE, e))?;
        escalator = Some(tokio::spawn(ticker.run()));
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
    if let Some(h) = escalator {
        h.abort();
    }
    result
}
