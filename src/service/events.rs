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

/// A change as the service records it: content-free, for every viewer alike. Serialized, it is what a service
/// tells the others sharing its store ([`super::peers`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    /// A case's log or index entry changed, or it was stored for the first time; `staff` says whether it is
    /// (now) about a member of staff.
    Case {
        key: AlertKey,
        staff: bool,
    },
    /// A case was purged from the store; `staff` says whether it was about a member of staff (so that only
    /// a viewer who may see staff alerts hears of it).
    Removed {
        case: AlertKey,
        staff: bool,
    },
    /// New alerts arrived (and revisions that reached High); of them, those about members of staff.
    Arrived {
        new: usize,
        high_new: usize,
        staff_new: usize,
        staff_high_new: usize,
    },
    /// A case stopped being shared with the user `from`: they hear that it is gone from their queue.
    Withheld {
        case: AlertKey,
        from: String,
        staff: bool,
    },
    /// Nobody opened the case in time: the reviewers on duty who may see it are told (content-free).
    Escalated {
        case: AlertKey,
        staff: bool,
        level: crate::domain::Level,
        round: u32,
        unopened_minutes: u32,
    },
    /// Alerts were rejected; `staff_only` when every one of them may be about staff.
    Rejected {
        staff_only: bool,
    },
    Feed,
    /// Something changed that this service cannot name (another service's changes it could not read, or
    /// more of them than are kept): every subscriber reads everything again.
    Reload,
}

impl Change {
    /// Whether only a viewer who may see staff alerts may hear of this change at all: it is not numbered in
    /// the others' sequence, so not even a gap in it tells them something happened.
    fn staff_only(&self) -> bool {
        match self {
            Change::Case { staff, .. }
            | Change::Removed { staff, .. }
            | Change::Withheld { staff, .. }
            | Change::Escalated { staff, .. } => *staff,
            Change::Arrived { new, high_new, staff_new, staff_high_new } => {
                new == staff_new && high_new == staff_high_new
            }
            Change::Rejected { staff_only } => *staff_only,
            Change::Feed | Change::Reload => false,
        }
    }
}

/// A published change and its two numbers: in the whole sequence, and in the sequence of changes that
/// viewers who may not see staff alerts hear of.
#[derive(Debug, Clone)]
struct Numbered {
    all: u64,
    open: u64,
    change: Change,
}

/// The published changes: the last [`KEPT`] of them, numbered, and a watch that wakes subscribers.
pub struct Bus {
    kept: Mutex<Kept>,
    /// The number (in the whole sequence) of the last change published (0: none yet).
    last: watch::Sender<u64>,
}

#[derive(Default)]
struct Kept {
    changes: VecDeque<Numbered>,
    /// The last numbers given, in each sequence.
    all: u64,
    open: u64,
}

impl Default for Bus {
    fn default() -> Self {
        Bus { kept: Mutex::new(Kept::default()), last: watch::Sender::new(0) }
    }
}

impl Bus {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publishes `changes` in order, numbering them after the last.
    pub(super) fn publish(&self, changes: impl IntoIterator<Item = Change>) {
        let mut kept = self.kept();
        for change in changes {
            kept.all += 1;
            if !change.staff_only() {
                kept.open += 1;
            }
            if kept.changes.len() == KEPT {
                kept.changes.pop_front();
            }
            let numbered = Numbered { all: kept.all, open: kept.open, change };
            kept.changes.push_back(numbered);
        }
        // Sent while the queue is held, so numbers reach the watch in order.
        self.last.send_replace(kept.all);
    }

    /// The number of the last change published.
    pub fn last(&self) -> u64 {
        *self.last.borrow()
    }

    /// The number of the last change published, in the sequence `viewer` hears.
    pub fn last_heard_by(&self, viewer: &Viewer) -> u64 {
        let (all, open) = self.ends();
        if viewer.sees_staff { all } else { open }
    }

    /// The last numbers given: (whole sequence, open sequence).
    fn ends(&self) -> (u64, u64) {
        let kept = self.kept();
        (kept.all, kept.open)
    }

    /// Where a subscriber that read up to `after` in its own sequence stands in the whole one, or `None`
    /// when changes after it are no longer kept (or it is in the future of this service: a restart).
    fn resume_point(&self, after: u64, open: bool) -> Option<u64> {
        let kept = self.kept();
        let end = if open { kept.open } else { kept.all };
        if after == end {
            return Some(kept.all);
        }
        // The next change the subscriber would hear must still be kept: resume just before it.
        kept.changes
            .iter()
            .find(|n| if open { !n.change.staff_only() && n.open == after + 1 } else { n.all == after + 1 })
            .map(|n| n.all - 1)
    }

    /// The changes after `after` (whole sequence), or `None` when some of them are no longer kept.
    fn after(&self, after: u64) -> Option<Vec<Numbered>> {
        let kept = self.kept();
        if after > kept.all {
            return None;
        }
        let first = kept.changes.front().map_or(kept.all + 1, |n| n.all);
        if after + 1 < first {
            return None;
        }
        Some(kept.changes.iter().filter(|n| n.all > after).cloned().collect())
    }
}

/// One viewer's place in the stream.
pub struct Subscription {
    service: CaseService,
    viewer: Viewer,
    /// Whether this viewer hears only the open sequence (they may not see staff alerts).
    open: bool,
    /// The number (whole sequence) of the last change this subscriber has read, and the number of the
    /// last one in its own sequence.
    read: u64,
    position: u64,
    /// It asked to resume from a point no longer kept: its first read says reload.
    lost: bool,
    wake: watch::Receiver<u64>,
}

impl Subscription {
    pub(super) fn new(service: CaseService, viewer: Viewer, after: Option<u64>) -> Subscription {
        let wake = service.0.bus.last.subscribe();
        let open = !viewer.sees_staff;
        let (all, open_end) = service.0.bus.ends();
        let mine = if open { open_end } else { all };
        let (read, position, lost) = match after {
            None => (all, mine, false),
            Some(after) => match service.0.bus.resume_point(after, open) {
                Some(read) => (read, after, false),
                None => (all, mine, true),
            },
        };
        Subscription { service, viewer, open, read, position, lost, wake }
    }

    /// The number of the last change read, in this viewer's own sequence: where a subscriber that
    /// reconnects resumes from.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Skips whatever is unread (the subscriber is about to be told to reload): returns the new position.
    pub fn skip_to_end(&mut self) -> u64 {
        let (all, open) = self.service.0.bus.ends();
        self.read = all;
        self.position = if self.open { open } else { all };
        self.position
    }

    /// Waits until something is published after what was read. Returns at once when it already is; returns
    /// `false` when the service is gone.
    pub async fn changed(&mut self) -> bool {
        loop {
            if self.lost || *self.wake.borrow_and_update() > self.read {
                return true;
            }
            if self.wake.changed().await.is_err() {
                return false;
            }
        }
    }

    /// The events after what was read, for this viewer, as of `now`; marks them read.
    pub fn read(&mut self, now: DateTime<Utc>) -> Result<Vec<api::Event>> {
        let changes = match self.service.0.bus.after(self.read) {
            Some(changes) if !self.lost => changes,
            _ => {
                self.lost = false;
                return Ok(vec![api::Event { seq: self.skip_to_end(), kind: EventKind::Reload }]);
            }
        };
        let asking = self.service.asking(&self.viewer);
        let reviewer = asking.viewer.can_review();
        // Only the DSL and deputy hear of alerts as they arrive: an officer's cases are the ones shared.
        let on_duty = asking.viewer.on_duty();
        let mut out = Vec::with_capacity(changes.len());
        for Numbered { all, open, change } in changes {
            self.read = all;
            if self.open && change.staff_only() {
                continue;
            }
            let seq = if self.open { open } else { all };
            self.position = seq;
            let kind = match change {
                // Not this viewer's to see (`None`): not named to them. A reporter sees no case.
                Change::Case { key, .. } if reviewer => {
                    asking.summary(&key, now)?.map(|row| EventKind::CaseChanged { case: key, row: Box::new(row) })
                }
                Change::Case { .. } => None,
                Change::Removed { case, .. } => reviewer.then_some(EventKind::CaseRemoved { case }),
                Change::Withheld { case, from, .. } => (from == asking.viewer.user
                    && asking.summary(&case, now)?.is_none())
                .then_some(EventKind::CaseRemoved { case }),
                Change::Arrived { new, high_new, staff_new, staff_high_new } => {
                    // Staff alerts are not counted to a viewer who may not see them.
                    let (new, high_new) =
                        if self.open { (new - staff_new, high_new - staff_high_new) } else { (new, high_new) };
                    on_duty.then_some(EventKind::Arrived { new, high_new })
                }
                // The DSL and deputy, and only for a case this viewer may see: an officer hears of none.
                Change::Escalated { case, level, round, unopened_minutes, .. } if on_duty => {
                    asking.summary(&case, now)?.map(|_| EventKind::Escalated { case, level, round, unopened_minutes })
                }
                Change::Escalated { .. } => None,
                Change::Rejected { .. } if on_duty => {
                    let count = asking.rejected_count()?;
                    Some(EventKind::Rejected { count })
                }
                Change::Rejected { .. } => None,
                Change::Feed => Some(EventKind::Feed),
                Change::Reload => Some(EventKind::Reload),
            };
            out.extend(kind.map(|kind| api::Event { seq, kind }));
        }
        Ok(out)
    }
}
