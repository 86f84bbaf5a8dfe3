//! The background poller: syncs on a schedule, backs off on failure as the protocol's table says, and
//! reports the feed's health through [`PollerEvent`]s, so the UI can always show it and tests can assert
//! the schedule without waiting for it.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use chrono::Utc;
use tokio::sync::{Notify, mpsc};

use super::sync::{SyncError, record_attempt, sync_into};
use crate::feed::client::{FeedClient, MAX_BACKOFF, MAX_WAIT, NextStep};
use crate::service::Session;
use crate::service::api::IngestReport;

pub use crate::service::api::FeedHealth;

/// What the poller tells its surface. What it stored, the surface hears from the service's own events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollerEvent {
    Health(FeedHealth),
}

fn new_backoff() -> ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(2))
        .with_max_delay(MAX_BACKOFF)
        .with_jitter()
        .without_max_times()
        .build()
}

/// The next backoff delay, never above [`MAX_BACKOFF`] even with jitter.
pub fn next_backoff(backoff: &mut ExponentialBackoff) -> Duration {
    backoff.next().unwrap_or(MAX_BACKOFF).min(MAX_BACKOFF)
}

/// The poller's pure "what next" decision: after each sync attempt, how long to wait before the next one,
/// or `None` to stop until the user retries. Success resets the backoff.
pub struct Schedule {
    interval: Duration,
    backoff: ExponentialBackoff,
}

impl Schedule {
    pub fn new(interval: Duration) -> Self {
        Schedule { interval, backoff: new_backoff() }
    }

    /// The wait after an attempt that ended with `outcome` (`Ok` = the feed was read).
    pub fn after(&mut self, outcome: Result<(), NextStep>) -> Option<Duration> {
        match outcome {
            Ok(()) => {
                self.backoff = new_backoff();
                Some(self.interval)
            }
            Err(NextStep::Stop) => None,
            Err(NextStep::After(d)) => Some(d),
            Err(NextStep::Backoff) => Some(next_backoff(&mut self.backoff)),
        }
    }
}

/// The background poller. It owns no UI: it reports through `events` and waits on `retry` for the user.
pub struct Poller {
    pub client: FeedClient,
    pub session: Session,
    pub interval: Duration,
    pub events: mpsc::UnboundedSender<PollerEvent>,
    pub retry: std::sync::Arc<Notify>,
}

impl Poller {
    pub async fn run(self) {
        let mut schedule = Schedule::new(self.interval);
        let mut health = FeedHealth {
            last_success: self.session.sync_state().ok().and_then(|s| s.last_success),
            ..FeedHealth::default()
        };
        let mut prefetched = false;
        let feed = self.client.base().to_string();
        loop {
            // Of the services sharing a store, only the one holding the feed's lease polls it; the others
            // stand by and try for it each interval, so one takes over when the holder stops.
            // (Called in place, as the other store calls here are: sled's answer is immediate, and a
            // database's blocking call moves off the runtime's thread by itself.)
            let held = self.session.hold_feed(&feed);
            if !matches!(held, Ok(true)) {
                match held {
                    Ok(_) => {
                        health.standby = true;
                        health.last_error = None;
                    }
                    Err(e) => health.last_error = Some((Utc::now(), e.to_string())),
                }
                health.last_success =
                    self.session.sync_state().ok().and_then(|s| s.last_success).or(health.last_success);
                health.next_attempt =
                    chrono::Duration::from_std(self.interval).ok().and_then(|w| Utc::now().checked_add_signed(w));
                if self.events.send(PollerEvent::Health(health.clone())).is_err() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.interval) => {}
                    _ = self.retry.notified() => {}
                }
                continue;
            }
            health.standby = false;
            health.syncing = true;
            health.stopped = false;
            let _ = self.events.send(PollerEvent::Health(health.clone()));
            let mut report = IngestReport::default();
            let result = sync_into(&self.client, &self.session, &mut report).await;
            health.syncing = false;
            let now = Utc::now();
            let synced = result.is_ok();
            let stored = report.new + report.revised + report.quarantined > 0;
            // What was stored reaches every subscriber through the service's events (and a new High rings),
            // even when a later page failed.
            let outcome = result.as_ref().map(|_| ()).map_err(SyncError::next_step);
            // Whatever the feed or the config asked for, never longer than a day (and no overflow).
            let wait = schedule.after(outcome).map(|w| w.min(MAX_WAIT));
            let next_attempt =
                wait.and_then(|w| chrono::Duration::from_std(w).ok()).and_then(|w| now.checked_add_signed(w));
            let unrecorded = record_attempt(&self.session, result.as_ref(), now, next_attempt).err();
            match &result {
                Ok(finished) => {
                    health.last_success = Some(now);
                    health.last_error = None;
                    health.rested = finished.rested_note();
                }
                Err(e) => {
                    health.last_error = Some((now, e.to_string()));
                    health.rested = None;
                }
            }
            if let Some(message) = unrecorded {
                health.last_error = Some((now, message));
            }
            health.stopped = wait.is_none();
            health.next_attempt = next_attempt;
            health.stuck_since = self
                .session
                .sync_state()
                .ok()
                .and_then(|s| crate::service::feed::stuck_since(&s, self.client.bounds().unreadable_alarm));
            if self.events.send(PollerEvent::Health(health.clone())).is_err() {
                return; // nobody is listening any more
            }
            if synced && (stored || !prefetched) {
                // Screenshots of open High cases are fetched ahead, so opening one is instant; failures are
                // logged by it and never change the feed's health. Only when something arrived (and once at
                // start): it reads every open case, which an idle vigil must not do each poll.
                super::screenshots::prefetch_high(&self.client, &self.session).await;
                prefetched = true;
            }
            match wait {
                Some(w) => {
                    tokio::select! {
                        _ = tokio::time::sleep(w) => {}
                        _ = self.retry.notified() => {}
                    }
                }
                None => self.retry.notified().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::client::{FeedError, NOT_FOUND_RETRY};

    #[test]
    fn the_schedule_backs_off_caps_resets_and_stops() {
        let interval = Duration::from_secs(60);
        let mut s = Schedule::new(interval);
        let mut last = Duration::ZERO;
        let mut waits = Vec::new();
        for _ in 0..12 {
            let w = s.after(Err(NextStep::Backoff)).expect("backoff keeps going");
            assert!(w >= last && w <= MAX_BACKOFF, "{waits:?} then {w:?}");
            waits.push(w);
            last = w;
        }
        assert_eq!(last, MAX_BACKOFF, "{waits:?}");
        assert!(waits[0] >= Duration::from_secs(2) && waits[0] < Duration::from_secs(4), "{waits:?}");
        assert_eq!(s.after(Ok(())), Some(interval));
        let after_reset = s.after(Err(NextStep::Backoff)).expect("backoff");
        assert!(after_reset < Duration::from_secs(4), "success resets the backoff: {after_reset:?}");
        assert_eq!(s.after(Err(NextStep::After(Duration::from_secs(42)))), Some(Duration::from_secs(42)));
        assert_eq!(s.after(Err(NextStep::Stop)), None);
        assert_eq!(s.after(Err(FeedError::NotFound("u".into()).next_step())), Some(NOT_FOUND_RETRY));
    }

    #[test]
    fn backoff_grows_and_is_capped_at_five_minutes() {
        let mut b = new_backoff();
        let delays: Vec<Duration> = (0..20).map(|_| next_backoff(&mut b)).collect();
        assert!(delays.iter().all(|d| *d <= MAX_BACKOFF), "{delays:?}");
        assert_eq!(delays[19], MAX_BACKOFF);
        assert!(delays[10] >= Duration::from_secs(60), "{delays:?}");
    }
}
