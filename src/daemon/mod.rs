//! `vigil serve`: the shared service. One process owns the store, its key and the feed; the DSL's TUI, the
//! deputy's over SSH and every headless command are its clients over a Unix socket.
//!
//! Who a client is comes from the kernel (the socket's peer credentials, mapped to an OS user and then to a
//! role by this process's config), never from anything the client says. Every request is then the same
//! [`crate::service::CaseService::handle`] call the embedded mode makes, judged for that viewer here, so a
//! case a viewer may not see never crosses their socket, not even as a count.
//!
//! - [`listener`]: the socket, its directory's safety and its group;
//! - [`identity`]: peer credentials to a viewer;
//! - [`presence`]: who is connected and which case each has open;
//! - [`connection`]: one client: the handshake, its calls, and what is pushed to it.

mod connection;
pub mod identity;
pub mod listener;
mod presence;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use tokio::net::UnixListener;
use tokio::sync::{Notify, watch};

use crate::feed::client::FeedClient;
use crate::service::CaseService;
use crate::service::api::FeedHealth;
pub use identity::{Identify, Identity};
pub use presence::Presence;

/// What every connection shares.
pub struct Daemon {
    pub service: CaseService,
    pub identify: Identify,
    /// Wakes the poller (`vigil sync --once`, the TUI's retry key).
    pub poll_now: Arc<Notify>,
    /// The poller's latest health (`None`: no feed configured).
    pub health: watch::Receiver<Option<FeedHealth>>,
    /// Fetches screenshots the cache lacks, so clients never need the feed's credentials.
    pub screenshots: Option<FeedClient>,
    pub presence: Presence,
    /// The mailbox the service reads (`None`: no `[mail] host`).
    pub mail: Option<Arc<crate::intake::mail::MailReader>>,
    /// This run of the service: events are numbered within it.
    pub instance: String,
    pub started: DateTime<Utc>,
    next_connection: AtomicU64,
}

impl Daemon {
    pub fn new(
        service: CaseService,
        identify: Identify,
        health: watch::Receiver<Option<FeedHealth>>,
        poll_now: Arc<Notify>,
        screenshots: Option<FeedClient>,
        mail: Option<Arc<crate::intake::mail::MailReader>>,
    ) -> Arc<Daemon> {
        Arc::new(Daemon {
            service,
            identify,
            poll_now,
            health,
            screenshots,
            presence: Presence::default(),
            mail,
            instance: uuid::Uuid::new_v4().to_string(),
            started: Utc::now(),
            next_connection: AtomicU64::new(1),
        })
    }

    /// Serves clients on `listener` until `stop` resolves. Each connection is its own task: a slow or stuck
    /// client holds up nobody else.
    pub async fn serve(self: Arc<Self>, listener: UnixListener, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let id = self.next_connection.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::spawn(connection::serve(self.clone(), stream, id));
                    }
                    // Out of descriptors, say: wait a moment rather than spin.
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                },
            }
        }
    }
}
