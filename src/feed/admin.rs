//! The feed's state as the user reads it and the DSL repairs it: a page vigil cannot read, kept raw and
//! counted; `vigil feed reset-cursor` and `vigil feed skip-page` (the DSL's, audited); and the lines
//! `vigil feed status` shows about them.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::protocol::{MAX_CURSOR_BYTES, PageError, salvage_cursor};
use crate::identity::Role;
use crate::service::CaseService;
use crate::store::{FeedState, UnreadablePage};

/// The blob that holds the raw bytes of the page the feed last sent that vigil could not read (one at a
/// time: a feed that sends a different broken page each time cannot fill the disk).
pub const UNREADABLE_BLOB: &str = "feed/unreadable";

/// Where a skipped page's raw bytes are kept, by their SHA-256.
pub fn skipped_blob(sha256: &str) -> String {
    format!("feed/skipped/{sha256}")
}

/// Counts a page that could not be read, and keeps its raw bytes once it comes a second time (in the store
/// of a user who may see staff alerts): the same page for the same `since` counts up from when it first
/// came, another starts afresh. Kept from the second coming only: a feed that sends a different broken page
/// each time (up to 32 MiB) would otherwise write one each retry, and the store never gives that space
/// back. Failures to record are logged only: the sync's own error is what the user must see.
pub fn record_unreadable(
    service: &CaseService,
    since: Option<&str>,
    body: &[u8],
    error: &PageError,
    now: DateTime<Utc>,
) {
    let sha256 = hex::encode(Sha256::digest(body));
    let store = service.store();
    let same = |u: &UnreadablePage| u.sha256 == sha256 && u.since.as_deref() == since;
    let before = store.feed_state().ok().and_then(|s| s.unreadable).filter(|u| same(u));
    // The raw page may hold staff alerts: only a store whose user may see them keeps it (the DSL's, who
    // alone may skip it); any other keeps its size and hash.
    let keeps_raw = service.viewer().sees_staff && service.viewer().can_review();
    let mut kept = before.as_ref().is_some_and(|u| u.kept);
    if before.is_some() && !kept && keeps_raw {
        match store.put_blob(UNREADABLE_BLOB, body) {
            Ok(()) => kept = true,
            Err(e) => tracing::warn!(error = %e, "cannot keep the unreadable page"),
        }
    }
    let cursor_after = salvage_cursor(body);
    let recorded = store.update_feed_state(|s| {
        s.unreadable = Some(match s.unreadable.take() {
            Some(u) if same(&u) => UnreadablePage { count: u.count.saturating_add(1), kept, ..u },
            _ => UnreadablePage {
                since: since.map(str::to_string),
                sha256: sha256.clone(),
                bytes: body.len(),
                reason: error.to_string(),
                first_at: now,
                count: 1,
                cursor_after: cursor_after.clone(),
                kept: false,
            },
        });
    });
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "cannot record the unreadable page");
    }
}

/// When the feed has sent the same unreadable page `alarm` times or more: since when.
pub fn stuck_since(state: &FeedState, alarm: u32) -> Option<DateTime<Utc>> {
    state.unreadable.as_ref().filter(|u| u.count >= alarm).map(|u| u.first_at)
}

/// What the status bar and `vigil feed status` say about a feed stuck on one page.
pub fn stuck_message(since: DateTime<Utc>, tz: &chrono_tz::Tz) -> String {
    format!(
        "the feed keeps sending a page vigil cannot read since {}; the DSL can skip it with `vigil feed skip-page`",
        since.with_timezone(tz).format("%H:%M")
    )
}

/// The lines `vigil feed status` adds about what comes next: the next attempt, why a sync rested, and a
/// page the feed keeps sending that vigil cannot read.
pub fn status_lines(state: &FeedState, now: DateTime<Utc>, alarm: u32, tz: &chrono_tz::Tz) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(match state.next_attempt {
        Some(t) if t > now => format!("next attempt: {} (scheduled by the vigil that last polled)", t.to_rfc3339()),
        Some(t) => format!("next attempt: {} (passed: no vigil is polling the feed now)", t.to_rfc3339()),
        None => "next attempt: none scheduled (the last attempt was `vigil sync --once`, or polling stopped)".into(),
    });
    if let Some(note) = &state.rested {
        lines.push(format!("last sync: {note}"));
    }
    if let Some(u) = &state.unreadable {
        match stuck_since(state, alarm) {
            Some(since) => lines.push(stuck_message(since, tz)),
            None => {
                lines.push(format!("unreadable page: received {} time(s) since {}", u.count, u.first_at.to_rfc3339()))
            }
        }
        lines.push(format!(
            "  {} bytes, sha256 {}{}; the page's own cursor: {}",
            u.bytes,
            u.sha256,
            if u.kept { ", kept for the DSL" } else { "" },
            if u.cursor_after.is_some() { "readable" } else { "unreadable (skip with --to CURSOR)" }
        ));
    }
    lines
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("only the DSL may change where vigil reads the feed from (your role: {0})")]
    NotDsl(&'static str),
    #[error("a cursor is at most {MAX_CURSOR_BYTES} bytes (this one is {0})")]
    CursorTooLong(usize),
    #[error("a cursor may not be empty: leave out --to to read the feed from its start")]
    EmptyCursor,
    #[error("the feed has sent no page vigil could not read: there is nothing to skip")]
    NothingToSkip,
    #[error(
        "vigil could not read the cursor of the page it cannot read: ask the feed's operator for the cursor after it, then run `vigil feed skip-page --to CURSOR`"
    )]
    NoCursorAfter,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Service(#[from] crate::service::ServiceError),
}

fn require_dsl(service: &CaseService) -> Result<(), AdminError> {
    let role = service.viewer().role;
    if role == Role::Dsl { Ok(()) } else { Err(AdminError::NotDsl(role.as_str())) }
}

fn checked(to: Option<&str>) -> Result<(), AdminError> {
    match to {
        Some("") => Err(AdminError::EmptyCursor),
        Some(c) if c.len() > MAX_CURSOR_BYTES => Err(AdminError::CursorTooLong(c.len())),
        _ => Ok(()),
    }
}

/// `vigil feed reset-cursor [--to CURSOR]`: the next sync reads from `to`, or from the feed's start (alerts
/// already stored are not stored twice). The DSL's; audited first, then done.
pub fn reset_cursor(service: &CaseService, to: Option<&str>, now: DateTime<Utc>) -> Result<(), AdminError> {
    require_dsl(service)?;
    checked(to)?;
    let what = match to {
        Some(c) => format!("reset the feed cursor to one the DSL gave ({} bytes)", c.len()),
        None => "reset the feed cursor to the feed's start".to_string(),
    };
    service.audit(None, &what, now)?;
    service.store().update_feed_state(|s| {
        s.cursor = to.map(str::to_string);
        s.etag = None;
        s.unreadable = None;
    })?;
    Ok(())
}

/// `vigil feed skip-page [--to CURSOR]`: moves past the page the feed keeps sending that vigil cannot read,
/// to `to` or to the page's own cursor when vigil could read it. The raw page is kept (sealed, under its
/// SHA-256). The DSL's; audited first, then done. Returns the SHA-256 of the page skipped.
pub fn skip_page(service: &CaseService, to: Option<&str>, now: DateTime<Utc>) -> Result<String, AdminError> {
    require_dsl(service)?;
    checked(to)?;
    let store = service.store();
    let page = store.feed_state()?.unreadable.ok_or(AdminError::NothingToSkip)?;
    let target = to.map(str::to_string).or_else(|| page.cursor_after.clone()).ok_or(AdminError::NoCursorAfter)?;
    let raw = if page.kept { store.blob(UNREADABLE_BLOB)? } else { None };
    if let Some(raw) = &raw {
        store.put_blob(&skipped_blob(&page.sha256), raw)?;
    }
    let what = format!(
        "skipped a page the feed sent {} time(s) since {} that vigil could not read ({} bytes, sha256 {}); {}",
        page.count,
        page.first_at.to_rfc3339(),
        page.bytes,
        page.sha256,
        if raw.is_some() { "raw page kept" } else { "raw page not kept (it came once)" }
    );
    service.audit(None, &what, now)?;
    store.update_feed_state(|s| {
        s.cursor = Some(target.clone());
        s.etag = None;
        s.unreadable = None;
    })?;
    store.remove_blob(UNREADABLE_BLOB)?;
    Ok(page.sha256)
}
