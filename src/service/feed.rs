//! The feed's state as the service keeps it: what the poller records after each sync, a page vigil cannot
//! read (counted, and kept raw for the DSL), the DSL's repairs (`vigil feed reset-cursor`, `skip-page`:
//! audited first, then done), what a reviewer may read of it, and the words the status bar and
//! `vigil feed status` say about it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::api::FeedChange;
use super::events::Change;
use super::{Asking, Result, ServiceError};
use crate::feed::protocol::{MAX_CURSOR_BYTES, salvage_cursor};
use crate::feed::staff::may_be_staff;
use crate::store::{FeedState, Quarantined, StoreError, UnreadablePage};

/// The blob that holds the raw bytes of the page the feed last sent that vigil could not read (one at a
/// time: a feed that sends a different broken page each time cannot fill the disk).
pub const UNREADABLE_BLOB: &str = "feed/unreadable";

/// Where a skipped page's raw bytes are kept, by their SHA-256.
pub fn skipped_blob(sha256: &str) -> String {
    format!("feed/skipped/{sha256}")
}

/// Why a repair of the feed's state was refused. Content-free.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedRepairError {
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
}

/// A feed state that cannot be read, said with its way out.
fn readable(e: StoreError) -> ServiceError {
    match e {
        StoreError::Corrupt { what, detail } if what == "feed state" => ServiceError::FeedStateDamaged(detail),
        other => other.into(),
    }
}

fn checked(to: Option<&str>) -> Result<()> {
    match to {
        Some("") => Err(FeedRepairError::EmptyCursor.into()),
        Some(c) if c.len() > MAX_CURSOR_BYTES => Err(FeedRepairError::CursorTooLong(c.len()).into()),
        _ => Ok(()),
    }
}

impl Asking<'_> {
    /// Applies a named change to the feed's state. The poller of whoever's store this is records what its
    /// syncs did (a reporter's store is fed too, redacted); the DSL alone moves the cursor.
    pub(super) fn change_feed(&self, change: FeedChange, now: DateTime<Utc>) -> Result<FeedState> {
        // A poll that went well is routine: no event (an idle service's clients hear nothing).
        let news = !matches!(change, FeedChange::Synced { .. } | FeedChange::Etag { .. });
        let state = match change {
            FeedChange::Synced { next_attempt, rested } => self.store.update_feed_state(&|s: &mut FeedState| {
                s.last_success = Some(now);
                s.next_attempt = next_attempt;
                s.rested = rested.clone();
                // Every page was read: the feed is no longer stuck (the raw page stays kept).
                s.unreadable = None;
            }),
            FeedChange::Failed { message, next_attempt } => self.store.update_feed_state(&|s: &mut FeedState| {
                s.last_error = Some((now, message.clone()));
                s.next_attempt = next_attempt;
                s.rested = None;
            }),
            FeedChange::Etag { since, etag } => {
                self.store.update_feed_state(&|s: &mut FeedState| s.etag = etag.clone().map(|e| (since.clone(), e)))
            }
            FeedChange::Unreadable { since, body, reason } => self.record_unreadable(since, &body, reason, now),
            FeedChange::ResetCursor { to } => {
                return self.reset_cursor(to, now).inspect(|_| self.publish([Change::Feed]));
            }
        }
        .map_err(readable)?;
        if news {
            self.publish([Change::Feed]);
        }
        Ok(state)
    }

    /// Counts a page that could not be read, and keeps its raw bytes once it comes a second time (in the
    /// store of a user who may see staff alerts): the same page for the same `since` counts up from when it
    /// first came, another starts afresh. Kept from the second coming only: a feed that sends a different
    /// broken page each time (up to 32 MiB) would otherwise write one each retry, and the store never gives
    /// that space back.
    fn record_unreadable(
        &self,
        since: Option<String>,
        body: &[u8],
        reason: String,
        now: DateTime<Utc>,
    ) -> std::result::Result<FeedState, StoreError> {
        let sha256 = hex::encode(Sha256::digest(body));
        let same = |u: &UnreadablePage| u.sha256 == sha256 && u.since == since;
        let before = self.store.feed_state()?.unreadable.filter(|u| same(u));
        // The raw page may hold staff alerts: only a store whose user may see them keeps it (the DSL's, who
        // alone may skip it); any other keeps its size and hash.
        let keeps_raw = self.viewer.sees_staff && self.viewer.can_review();
        let mut kept = before.as_ref().is_some_and(|u| u.kept);
        if before.is_some() && !kept && keeps_raw {
            match self.store.put_blob(UNREADABLE_BLOB, body) {
                Ok(()) => kept = true,
                Err(e) => tracing::warn!(error = %e, "cannot keep the unreadable page"),
            }
        }
        let cursor_after = salvage_cursor(body);
        self.store.update_feed_state(&|s: &mut FeedState| {
            s.unreadable = Some(match s.unreadable.take() {
                Some(u) if same(&u) => UnreadablePage { count: u.count.saturating_add(1), kept, ..u },
                _ => UnreadablePage {
                    since: since.clone(),
                    sha256: sha256.clone(),
                    bytes: body.len(),
                    reason: reason.clone(),
                    first_at: now,
                    count: 1,
                    cursor_after: cursor_after.clone(),
                    kept: false,
                },
            });
        })
    }

    /// `vigil feed reset-cursor [--to CURSOR]`: the next sync reads from `to`, or from the feed's start
    /// (alerts already stored are not stored twice). The DSL's; audited first, then done. It is also the way
    /// out of a feed state that cannot be read (a damaged value): then the state starts afresh from `to`.
    fn reset_cursor(&self, to: Option<String>, now: DateTime<Utc>) -> Result<FeedState> {
        self.require_dsl()?;
        checked(to.as_deref())?;
        let unreadable = matches!(self.store.feed_state(), Err(StoreError::Corrupt { .. }));
        let mut what = match &to {
            Some(c) => format!("reset the feed cursor to one the DSL gave ({} bytes)", c.len()),
            None => "reset the feed cursor to the feed's start".to_string(),
        };
        if unreadable {
            what.push_str("; the feed's state could not be read and starts afresh");
        }
        self.audit(None, &what, now)?;
        if unreadable {
            let state = FeedState { cursor: to, ..FeedState::default() };
            self.store.replace_feed_state(&state)?;
            return Ok(state);
        }
        Ok(self.store.update_feed_state(&|s: &mut FeedState| {
            s.cursor = to.clone();
            s.etag = None;
            s.unreadable = None;
        })?)
    }

    /// `vigil feed skip-page [--to CURSOR]`: moves past the page the feed keeps sending that vigil cannot
    /// read, to `to` or to the page's own cursor when vigil could read it. The raw page is kept (sealed,
    /// under its SHA-256). The DSL's; audited first, then done. Returns the SHA-256 of the page skipped.
    pub(super) fn skip_page(&self, to: Option<&str>, now: DateTime<Utc>) -> Result<String> {
        self.require_dsl()?;
        checked(to)?;
        let page = self.store.feed_state()?.unreadable.ok_or(FeedRepairError::NothingToSkip)?;
        let target =
            to.map(str::to_string).or_else(|| page.cursor_after.clone()).ok_or(FeedRepairError::NoCursorAfter)?;
        let raw = if page.kept { self.store.blob(UNREADABLE_BLOB)? } else { None };
        if let Some(raw) = &raw {
            self.store.put_blob(&skipped_blob(&page.sha256), raw)?;
        }
        let what = format!(
            "skipped a page the feed sent {} time(s) since {} that vigil could not read ({} bytes, sha256 {}); {}",
            page.count,
            page.first_at.to_rfc3339(),
            page.bytes,
            page.sha256,
            if raw.is_some() { "raw page kept" } else { "raw page not kept (it came once)" }
        );
        self.audit(None, &what, now)?;
        self.store.update_feed_state(&|s: &mut FeedState| {
            s.cursor = Some(target.clone());
            s.etag = None;
            s.unreadable = None;
        })?;
        self.store.remove_blob(UNREADABLE_BLOB)?;
        self.publish([Change::Feed]);
        Ok(page.sha256)
    }

    /// Where this store's poller stands: the feed's state without the count of staff alerts not stored (for
    /// anyone but a viewer who may see staff alerts, even a zero would say something).
    pub(super) fn sync_state(&self) -> Result<FeedState> {
        let mut state = self.store.feed_state().map_err(readable)?;
        state.staff_dropped = 0;
        Ok(state)
    }

    /// The feed's state for `vigil feed status`. Any reviewing role may read it; a `reporter` may not. The
    /// count of staff alerts not stored is there only for a viewer who may see staff alerts (for anyone
    /// else, even a count of zero would say something): otherwise it is `None`.
    pub fn feed_status(&self) -> Result<(FeedState, Option<u64>)> {
        self.require_reviewer()?;
        let mut state = self.store.feed_state().map_err(readable)?;
        let staff_dropped = std::mem::take(&mut state.staff_dropped);
        Ok((state, self.viewer.sees_staff.then_some(staff_dropped)))
    }

    /// Alerts the feed sent that failed validation, with their raw JSON (content: audited). Never one that
    /// may be about staff, unless the viewer may see staff alerts.
    /// How many rejected alerts this viewer may know of: one that may be about staff is staff content.
    pub fn rejected_count(&self) -> Result<usize> {
        // An officer sees the cases shared with them, not the feed's raw alerts.
        if !self.viewer.on_duty() {
            return Ok(0);
        }
        if self.viewer.sees_staff {
            return Ok(self.store.quarantine_count()?);
        }
        Ok(self.store.quarantined()?.iter().filter(|q| !may_be_staff(&q.rejected.raw)).count())
    }

    pub fn rejected(&self, now: DateTime<Utc>) -> Result<Vec<Quarantined>> {
        if !self.viewer.on_duty() {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let mut items = self.store.quarantined()?;
        if !self.viewer.sees_staff {
            items.retain(|q| !may_be_staff(&q.rejected.raw));
        }
        self.audit(None, &format!("listed the rejected alerts ({})", items.len()), now)?;
        Ok(items)
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
