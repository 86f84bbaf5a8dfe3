//! The service's numbered stream of changes, and each subscriber's view of it.
//!
//! The service publishes what changed as [`Change`]s, which name cases by key only. A [`Subscription`]
//! turns them into [`api::Event`]s for its own viewer when it reads them: a case that viewer may not see is
//! skipped (its key included), and a case it may see comes with its row as that viewer's queue shows it. A
//! subscriber that falls more than [`KEPT`] changes behind, or asks to resume from a number the service never
//! gave (a restart), is told to [`api::EventKind::Reload`] rather than miss anything silently.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::api::{self, EventKind};
use super::{CaseService, Result};
use crate::domain::AlertKey;
use crate::identity::Viewer;

/// How many changes the service keeps for subscribers that are behind.
pub const KEPT: usize = 4096;

/// A change as the service records it: content-free, for every viewer alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A case's log or index entry changed, or it was stored for the first time.
    Case(AlertKey),
    /// A case was purged from the store; `staff` says whether it was about a member of staff (so that only
    /// a viewer who may see staff alerts hears of it).
    Removed {
        case: AlertKey,
        staff: bool,
    },
    /// New alerts arrived.
    Arrived {
        new: usize,
        high_new: usize,
    },
    Rejected {
        count: usize,
    },
    Feed,
}

/// The published changes: the last [`KEPT`] of them, numbered, and a watch that wakes subscribers.
pub struct Bus {
    kept: Mutex<VecDeque<(u64, Change)>>,
    /// The number of the last change published (0: none yet).
    last: watch::Sender<u64>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus { kept: Mutex::new(VecDeque::with_capacity(KEPT)), last: watch::Sender::new(0) }
    }
}

impl Bus {
    /// Publishes `changes` in order, numbering them after the last.
    pub(super) fn publish(&self, changes: impl IntoIterator<Item = Change>) {
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut last = *self.last.borrow();
        for change in changes {
            last += 1;
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back((last, change));
        }
        // Sent while the queue is held, so numbers reach the watch in order.
        self.last.send_replace(last);
    }

    /// The number of the last change published.
    pub fn last(&self) -> u64 {
        *self.last.borrow()
    }

    /// The changes after `after`, or `None` when some of them are no longer kept (or `after` is in the future
    /// of this service: it restarted).
    fn after(&self, after: u64) -> Option<Vec<(u64, Change)>> {
        let kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = kept.back().map_or(self.last(), |(n, _)| *n);
        if after > last {
            return None;
        }
        let first = kept.front().map_or(last + 1, |(n, _)| *n);
        if after + 1 < first {
            return None;
        }
        Some(kept.iter().filter(|(n, _)| *n > after).cloned().collect())
    }
}

/// One viewer's place in the stream.
pub struct Subscription {
    service: CaseService,
    viewer: Viewer,
    /// The number of the last change this subscriber has read.
    read: u64,
    wake: watch::Receiver<u64>,
}

impl Subscription {
    pub(super) fn new(service: CaseService, viewer: Viewer, after: Option<u64>) -> Subscription {
        let wake = service.0.bus.last.subscribe();
        let read = after.unwrap_or_else(|| service.0.bus.last());
        Subscription { service, viewer, read, wake }
    }

    /// The number of the last change read: where a subscriber that reconnects resumes from.
    pub fn position(&self) -> u64 {
        self.read
    }

    /// Skips whatever is unread (the subscriber is about to be told to reload): returns the new position.
    pub fn skip_to_end(&mut self) -> u64 {
        self.read = self.service.0.bus.last();
        self.read
    }

    /// Waits until something is published after what was read. Returns at once when it already is; returns
    /// `false` when the service is gone.
    pub async fn changed(&mut self) -> bool {
        loop {
            if *self.wake.borrow_and_update() > self.read {
                return true;
            }
            if self.wake.changed().await.is_err() {
                return false;
            }
        }
    }

    /// The events after what was read, for this viewer, as of `now`; marks them read.
    pub fn read(&mut self, now: DateTime<Utc>) -> Result<Vec<api::Event>> {
        let Some(changes) = self.service.0.bus.after(self.read) else {
            self.read = self.service.0.bus.last();
            return Ok(vec![api::Event { seq: self.read, kind: EventKind::Reload }]);
        };
        let asking = self.service.asking(&self.viewer);
        let mut out = Vec::with_capacity(changes.len());
        for (seq, change) in changes {
            self.read = seq;
            let kind = match change {
                // Not this viewer's to see (`None`): not named to them.
                Change::Case(key) => {
                    asking.summary(&key, now)?.map(|row| EventKind::CaseChanged { case: key, row: Box::new(row) })
                }
                Change::Removed { case, staff } => (asking.viewer.can_review() && (asking.viewer.sees_staff || !staff))
                    .then_some(EventKind::CaseRemoved { case }),
                Change::Arrived { new, high_new } => {
                    asking.viewer.can_review().then_some(EventKind::Arrived { new, high_new })
                }
                Change::Rejected { count } => asking.viewer.can_review().then_some(EventKind::Rejected { count }),
                Change::Feed => Some(EventKind::Feed),
            };
            out.extend(kind.map(|kind| api::Event { seq, kind }));
        }
        Ok(out)
    }
}
