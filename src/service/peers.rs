//! The other services sharing this service's store (PostgreSQL: one per school, or two for one school for
//! failover), as the store lets them speak ([`crate::store::peers`]).
//!
//! What one service changes it announces after publishing it to its own subscribers; each other service
//! reads the announcement and publishes the same [`Change`]s to its own, so a decision made through one is on
//! every client of every service. Reading is woken by the store's listener and also runs on a timer, so a
//! lost wake-up delays a change and never loses it; more changes missed than the store keeps make every
//! subscriber reload. The feed is polled only by the service holding its lease.
//!
//! A write to a case is not announced by the service: a store that is shared records it in the write's own
//! transaction ([`CaseWrite`]), and the others turn that record into the [`Change::Case`] or
//! [`Change::Removed`] the writer published. Announced after the commit, a decision was lost to the others
//! when its service was killed in between: their clients showed the case as it was until they reloaded.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::events::Change;
use super::{CaseService, Core, Result};
use crate::store::peers::{Announced, CaseWrite, Listener};

/// How long a service goes without reading other services' changes when no wake-up comes.
const RECHECK: Duration = Duration::from_secs(5);

/// How long to wait before listening again after the listening connection was lost.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

impl Core {
    /// Publishes `changes` to this service's subscribers, then tells the services sharing its store of
    /// those its store did not record with their write (every change but a case's, on PostgreSQL). Told
    /// after the change is stored: a failure to tell them is logged and changes nothing already decided.
    pub(super) fn publish(&self, changes: impl IntoIterator<Item = Change>) {
        let changes: Vec<Change> = changes.into_iter().collect();
        let recorded = self.store.case_writes_origin().is_some();
        let told: Vec<&Change> = changes
            .iter()
            .filter(|c| !(recorded && matches!(c, Change::Case { .. } | Change::Removed { .. })))
            .collect();
        if self.store.shared() && !told.is_empty() {
            match serde_json::to_vec(&told) {
                Ok(payload) => {
                    if let Err(e) = self.store.announce(&self.origin, &payload) {
                        tracing::warn!(error = %e, "other services sharing the store were not told of a change");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "a change could not be put into words for other services"),
            }
        }
        self.bus.publish(changes);
    }

    /// Publishes what other services announced and what their store recorded they wrote to cases (never
    /// announcing it again).
    fn take_in(&self, announced: Announced) {
        let mut changes = Vec::new();
        if announced.gap {
            changes.push(Change::Reload);
        }
        for wrote in announced.wrote {
            changes.push(self.written(wrote));
        }
        for payload in &announced.payloads {
            match serde_json::from_slice::<Vec<Change>>(payload) {
                Ok(theirs) => {
                    self.note_trends(&theirs);
                    changes.extend(theirs);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "another service's change could not be read (a newer vigil?): reloading");
                    changes.push(Change::Reload);
                }
            }
        }
        if !changes.is_empty() {
            self.bus.publish(changes);
        }
    }

    /// The change another service published for a case it wrote, as its store recorded it; a new or
    /// revised alert is counted in this service's trends, a purged case taken out of them (a decision costs
    /// no read here).
    fn written(&self, wrote: CaseWrite) -> Change {
        match wrote {
            CaseWrite::Written { key, staff, alert } => {
                if alert {
                    match self.store.alert(&key) {
                        Ok(Some(alert)) => self.subjects.stored([&alert]),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "another service's new alert could not be read"),
                    }
                }
                Change::Case { key, staff }
            }
            CaseWrite::Purged { key, staff } => {
                self.subjects.removed(&key);
                Change::Removed { case: key, staff }
            }
        }
    }

    /// Counts another service's new alerts in this service's trends, from an announcement that names the
    /// cases it wrote (a vigil before stores recorded them, still running on a school being upgraded). Only
    /// an announcement of arrivals (`Arrived` with the cases it stored) is read for them.
    fn note_trends(&self, theirs: &[Change]) {
        let arrived = theirs.iter().any(|c| matches!(c, Change::Arrived { .. }));
        for change in theirs {
            match change {
                Change::Case { key, .. } if arrived => match self.store.alert(key) {
                    Ok(Some(alert)) => self.subjects.stored([&alert]),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "another service's new alert could not be read"),
                },
                Change::Removed { case, .. } => self.subjects.removed(case),
                _ => {}
            }
        }
    }
}

impl CaseService {
    /// Starts following other services' announcements, once (from the first subscriber on: a command that
    /// subscribes to nothing opens no listening connection).
    pub(super) fn follow_peers(&self) {
        if !self.0.store.shared() {
            return;
        }
        self.0.following.get_or_init(|| {
            // Where the announcements stand now, read before returning: the subscriber that asked hears of
            // every change announced after its subscription began.
            let from = match self.0.store.announced_after(None, &self.0.origin) {
                Ok(now) => Some(now.last),
                Err(e) => {
                    tracing::warn!(error = %e, "other services' changes could not be read; trying again");
                    None
                }
            };
            let core = Arc::downgrade(&self.0);
            if let Err(e) = std::thread::Builder::new().name("vigil-peers".into()).spawn(move || follow(&core, from)) {
                tracing::warn!(error = %e, "cannot follow other services' changes");
            }
        });
    }

    /// Whether this service may poll the feed `feed` names now: it holds the feed's lease, or takes it
    /// (`false`: another service holds it, and this one stands by). Blocks on the store.
    pub fn hold_feed(&self, feed: &str) -> Result<bool> {
        let mut lease = self.0.feed_lease.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(held) = lease.as_mut()
            && held.held()
        {
            return Ok(true);
        }
        *lease = None;
        *lease = self.0.store.feed_lease(feed)?;
        Ok(lease.is_some())
    }
}

/// Reads other services' announcements until the service is gone.
fn follow(core: &Weak<Core>, from: Option<u64>) {
    let mut last = from;
    let mut listener: Option<Box<dyn Listener>> = None;
    loop {
        let Some(service) = core.upgrade() else { return };
        if listener.is_none() {
            listener = service.store.listener().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot listen for other services' changes; reading them every few seconds");
                None
            });
        }
        match service.store.announced_after(last, &service.origin) {
            Ok(announced) => {
                let read_to = announced.last;
                // The first read only says where they stand: this service's subscribers start from now.
                if last.is_some() {
                    service.take_in(announced);
                }
                last = Some(read_to);
            }
            Err(e) => tracing::warn!(error = %e, "other services' changes could not be read; trying again"),
        }
        drop(service);
        let waited = match listener.as_mut() {
            Some(l) => l.wait(RECHECK),
            None => {
                std::thread::sleep(RECHECK);
                Ok(())
            }
        };
        if let Err(e) = waited {
            tracing::warn!(error = %e, "stopped listening for other services' changes; listening again");
            listener = None;
            std::thread::sleep(RELISTEN_AFTER);
        }
    }
}
