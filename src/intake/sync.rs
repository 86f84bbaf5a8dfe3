//! One sync: the feed read page by page into the service, each page and its cursor stored before the next
//! is asked for, and every attempt recorded in the feed's state.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::feed::client::{FeedClient, FeedError, Fetched, FetchedBody, NextStep};
use crate::feed::protocol::{MAX_CURSOR_BYTES, Page, parse_page};
use crate::service::Session;
use crate::service::api::{FeedChange, IngestReport};

/// How a sync ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The feed had nothing more.
    UpToDate,
    /// The feed still said `more`, but the sync reached its [`SyncBounds`]: it rests until the next poll.
    Bounded { pages: u32, elapsed: Duration },
}

impl Finished {
    /// What the user is told about a sync that stopped at its bounds.
    pub fn rested_note(&self) -> Option<String> {
        match self {
            Finished::UpToDate => None,
            Finished::Bounded { pages, elapsed } => Some(format!(
                "the feed still had more after {pages} pages in {}s: vigil rests until the next poll",
                elapsed.as_secs()
            )),
        }
    }
}

/// Polls until `more` is false (or the client's [`SyncBounds`] are reached), storing each page (and its
/// cursor) in order.
///
/// The cursor of a page is written in the same transaction as its alerts and flushed with them
/// (the service's ingest), so it is never acknowledged before the page is durable. The ETag is
/// remembered with the `since` it answered, and `If-None-Match` is sent only for that same `since`.
///
/// While a page is being stored (on a blocking worker), the next one is fetched and parsed: catching up on
/// a long feed uses two cores. A page's store starts only after the one before it is stored, so the cursor
/// on disk always names a page whose alerts, and all before them, are durable.
pub async fn sync_once(client: &FeedClient, session: &Session) -> Result<IngestReport, SyncError> {
    sync_once_finished(client, session).await.map(|(report, _)| report)
}

/// [`sync_once`], saying also whether the sync stopped at its bounds.
pub async fn sync_once_finished(client: &FeedClient, session: &Session) -> Result<(IngestReport, Finished), SyncError> {
    let mut total = IngestReport::default();
    sync_into(client, session, &mut total).await.map(|finished| (total, finished))
}

/// [`sync_once`], adding what each page stored to `total` as it goes: when it fails part way, `total` still
/// says what the pages before the failure stored (the poller must not stay silent about those).
pub async fn sync_into(
    client: &FeedClient,
    session: &Session,
    total: &mut IngestReport,
) -> Result<Finished, SyncError> {
    let started = tokio::time::Instant::now();
    let bounds = client.bounds();
    let state = session.sync_state()?;
    let mut since = state.cursor;
    if let Some(n) = since.as_ref().map(String::len).filter(|n| *n > MAX_CURSOR_BYTES) {
        // Stored before the limit was checked on arrival: it could only fail to build a URL.
        return Err(FeedError::StoredCursorTooLong(n).into());
    }
    let mut etag = state.etag.filter(|(s, _)| *s == since).map(|(_, e)| e);
    let mut storing: Option<Storing> = None;
    let mut pages = 0u32;
    loop {
        let fetched = match client.fetch_body(since.as_deref(), etag.as_deref()).await {
            Ok(FetchedBody::NotModified) => Ok(Fetched::NotModified),
            Ok(FetchedBody::Body { body, etag }) => match parse_page(&body) {
                Ok(page) => Ok(Fetched::Page { page, etag }),
                Err(e) => {
                    if e.is_unreadable() {
                        // Kept for the DSL, and counted: a feed stuck on this page is named.
                        let change =
                            FeedChange::Unreadable { since: since.clone(), body: body.clone(), reason: e.to_string() };
                        if let Err(e) = session.change_feed(change, Utc::now()) {
                            // The sync's own error is what the user must see; this one is logged.
                            tracing::warn!(error = %e, "cannot record the unreadable page");
                        }
                    }
                    Err(FeedError::Page(e))
                }
            },
            Err(e) => Err(e),
        };
        // Whatever the fetch gave, the page before it is stored (and counted) first.
        if let Some(pending) = storing.take() {
            *total += pending.finish(session, false).await?;
        }
        match fetched? {
            Fetched::NotModified => return Ok(Finished::UpToDate),
            Fetched::Page { page, etag: answer } => {
                if let Some(refused) = page.cursor_refused.clone() {
                    // Its alerts are stored; the stored cursor stays (the page carries none), and the user
                    // is told why.
                    *total += Storing::start(session, page, since, None).finish(session, false).await?;
                    return Err(FeedError::CursorRefused(refused).into());
                }
                pages = pages.saturating_add(1);
                // `more` with the cursor we sent would ask for the same page again at once: wait for the
                // next poll instead of spinning on it.
                let more = page.more && page.cursor.is_some() && page.cursor != since;
                // A feed that says `more` with a fresh cursor every time cannot keep vigil here: past its
                // bounds, the sync rests until the next poll and says so.
                let bounded = more && (pages >= bounds.max_pages || started.elapsed() >= bounds.max_time);
                // The store keeps the cursor it had when a page has none.
                let next = page.cursor.clone().or_else(|| since.clone());
                let pending = Storing::start(session, page, since, answer);
                if !more || bounded {
                    *total += pending.finish(session, true).await?;
                    let elapsed = started.elapsed();
                    return Ok(if bounded { Finished::Bounded { pages, elapsed } } else { Finished::UpToDate });
                }
                storing = Some(pending);
                since = next;
                etag = None;
            }
        }
    }
}

/// Records one sync attempt, by whichever path it was made (the poller, `vigil sync --once`), in the feed's
/// stored health and in the log: a failed attempt never leaves "last error: none" behind it.
/// `next_attempt` is when the caller will try again (`None`: it will not). A failure to record it is logged
/// and returned, for the caller to show: the feed's health on screen must not claim what the store lacks.
pub fn record_attempt(
    session: &Session,
    result: Result<&Finished, &SyncError>,
    now: DateTime<Utc>,
    next_attempt: Option<DateTime<Utc>>,
) -> Result<(), String> {
    let recorded = match result {
        Ok(finished) => {
            let rested = finished.rested_note();
            if let Some(note) = &rested {
                tracing::info!(note = %note, "feed sync rested at its bounds");
            }
            session.change_feed(FeedChange::Synced { next_attempt, rested }, now)
        }
        Err(e) => {
            // Logged without content: the error texts never carry alert data or the token.
            tracing::warn!(error = %e, "feed sync failed");
            let message = e.to_string();
            session.change_feed(FeedChange::Failed { message, next_attempt }, now)
        }
    };
    recorded.map(|_| ()).map_err(|e| {
        tracing::warn!(error = %e, "cannot record the feed's health in the store");
        format!("the feed's state could not be recorded: {e}")
    })
}

/// A page being stored on a blocking worker, with the `since` it answered and its ETag.
struct Storing {
    task: tokio::task::JoinHandle<Result<IngestReport, crate::service::ServiceError>>,
    since: Option<String>,
    etag: Option<String>,
}

impl Storing {
    fn start(session: &Session, page: Page, since: Option<String>, etag: Option<String>) -> Storing {
        let session = session.clone();
        let task = tokio::task::spawn_blocking(move || session.ingest_page(page, Utc::now()));
        Storing { task, since, etag }
    }

    /// Waits for the page to be stored, then, for the last page of a sync, remembers its ETag. Only that one
    /// can be sent again: the next poll asks for the same `since` only when this page did not move the
    /// cursor. (Each write of it is a flush, one more disk sync per page.)
    async fn finish(self, session: &Session, last: bool) -> Result<IngestReport, SyncError> {
        let report = match self.task.await {
            Ok(stored) => stored?,
            // The store panicked: nothing after this page may be stored.
            Err(e) => return Err(SyncError::Worker(e.to_string())),
        };
        let Storing { since, etag, .. } = self;
        if last {
            session.change_feed(FeedChange::Etag { since, etag }, Utc::now())?;
        }
        Ok(report)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error(transparent)]
    Service(#[from] crate::service::ServiceError),
    #[error("storing a page failed: {0}")]
    Worker(String),
}

impl SyncError {
    pub fn next_step(&self) -> NextStep {
        match self {
            SyncError::Feed(e) => e.next_step(),
            _ => NextStep::Backoff,
        }
    }
}
