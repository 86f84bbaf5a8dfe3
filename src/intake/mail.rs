//! The mailbox read on a schedule ([`MailReader::run`]) or on demand ([`MailReader::poll`]: `vigil mail poll
//! --once`), one poll at a time, with the mailbox's health kept for `vigil service status`: when it last
//! worked, and the last error, which names the server and the folder, never a message.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::poller::Schedule;
use crate::feed::client::{MAX_WAIT, NextStep};
use crate::mail::imap::{ImapError, Mailbox, PollReport, poll_once};
use crate::service::Session;

/// How the mailbox has gone: content-free, like the feed's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailHealth {
    /// The mailbox read: `imap://user@host:port/folder`.
    pub mailbox: String,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<(DateTime<Utc>, String)>,
    pub next_attempt: Option<DateTime<Utc>>,
}

/// A mailbox and the session its mail is stored through; one poll runs at a time.
pub struct MailReader {
    mailbox: Mailbox,
    session: Session,
    busy: tokio::sync::Mutex<()>,
    health: std::sync::Mutex<MailHealth>,
}

impl MailReader {
    pub fn new(mailbox: Mailbox, session: Session) -> MailReader {
        let health = MailHealth { mailbox: mailbox.id(), ..MailHealth::default() };
        MailReader { mailbox, session, busy: tokio::sync::Mutex::new(()), health: std::sync::Mutex::new(health) }
    }

    pub fn health(&self) -> MailHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// One poll (after any other that is running), its outcome kept as the health and logged without content.
    pub async fn poll(&self) -> Result<PollReport, ImapError> {
        let _one_at_a_time = self.busy.lock().await;
        let result = poll_once(&self.mailbox, &self.session).await;
        let now = Utc::now();
        match &result {
            Ok(r) => {
                if r.mail.messages > 0 || r.moved > 0 {
                    tracing::info!(
                        messages = r.mail.messages,
                        new = r.mail.new,
                        quarantined = r.mail.quarantined,
                        moved = r.moved,
                        "mailbox read"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "mailbox not read"),
        }
        if let Ok(mut h) = self.health.lock() {
            match &result {
                Ok(_) => {
                    h.last_success = Some(now);
                    h.last_error = None;
                }
                Err(e) => h.last_error = Some((now, e.to_string())),
            }
        }
        result
    }

    /// Polls every `interval`, backing off after a failure (from 2 s up to 5 minutes), until dropped.
    pub async fn run(self: std::sync::Arc<Self>, interval: Duration) {
        let mut schedule = Schedule::new(interval);
        loop {
            let outcome = self.poll().await.map(|_| ()).map_err(|_| NextStep::Backoff);
            let wait = schedule.after(outcome).unwrap_or(interval).min(MAX_WAIT);
            if let Ok(mut h) = self.health.lock() {
                h.next_attempt = chrono::Duration::from_std(wait).ok().and_then(|w| Utc::now().checked_add_signed(w));
            }
            tokio::time::sleep(wait).await;
        }
    }
}
