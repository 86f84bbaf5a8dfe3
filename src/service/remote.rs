//! The client side of the shared service's socket: a [`Remote`] is what a [`super::Session`] calls through
//! when vigil runs against `vigil serve` instead of opening the store itself.
//!
//! One thread per client owns the connection (its own small runtime), so the surfaces keep calling
//! synchronously, as they do in-process, and the connection's reading, reconnecting and resuming happen in
//! one place. When the service goes away the thread reconnects with backoff and resumes the event stream
//! from the last number read; meanwhile a new call fails at once ("not answering; nothing was recorded")
//! rather than freezing the screen. A call that was in flight is sent again on the new connection when that
//! is safe (reads, and decisions, which carry a token the service recognises), for up to [`RESEND_FOR`];
//! otherwise the caller is told the service stopped before confirming it.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc as std_mpsc};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::SinkExt;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, watch};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::ServiceError;
use super::api::{Event, EventKind, FeedHealth, Request};
use super::wire::{
    Answer, Ask, Assembler, FEATURES, FromService, MAX_MESSAGE, PROTOCOL_VERSION, Present, Resume, ToService, Welcome,
    codec, frames, receive,
};

/// How long a call that was in flight when the service went away waits for it to come back.
pub const RESEND_FOR: Duration = Duration::from_secs(10);

/// How long a client waits for the service's welcome, and for the answer to a call: a service that is
/// stopped (not gone) must not freeze the screen.
pub const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);
pub const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// How many unread events a client keeps before it replaces them with one "reload".
const EVENTS_KEPT: usize = 10_000;

/// Why a client could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "cannot reach the vigil service at {path} ({reason}); is `vigil serve` running? (`systemctl status vigil`)"
    )]
    Unreachable { path: String, reason: String },
    /// The kernel refused the connection: the socket is its group's alone.
    #[error(
        "you may not connect to the vigil service at {path}: only members of its group may (`[service] group` in the service's config; an administrator adds you with `usermod -aG GROUP USER`, then you log in again)"
    )]
    NotInGroup { path: String },
    /// The service refused this user or this version; `code` is the exit code to end with.
    #[error("{message}")]
    Refused { code: i32, message: String },
    #[error("the vigil service at {path} answered with something that is not vigil's protocol ({reason})")]
    Protocol { path: String, reason: String },
}

/// Whether the connection is up, as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connected,
    Reconnecting {
        since: DateTime<Utc>,
    },
    /// The service refused this user when reconnecting (their role was taken away): said once, plainly.
    Refused(String),
}

/// A client's connection to the shared service.
pub struct Remote {
    outgoing: mpsc::UnboundedSender<Outgoing>,
    shared: Arc<Shared>,
    welcome: Welcome,
    next_id: AtomicU64,
    health: Mutex<Option<mpsc::UnboundedReceiver<FeedHealth>>>,
}

enum Outgoing {
    Call { id: u64, ask: Ask, reply: std_mpsc::Sender<Result<Answer, ServiceError>> },
    Viewing(Option<crate::domain::AlertKey>),
}

/// What the connection's thread hands to the surface without being asked.
struct Shared {
    inner: Mutex<Inner>,
    wake: watch::Sender<u64>,
}

#[derive(Default)]
struct Inner {
    events: VecDeque<Event>,
    presence: Option<Vec<Present>>,
    link: Option<LinkState>,
}

impl Shared {
    fn change(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner));
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn push_event(&self, event: Event) {
        self.change(|inner| {
            if inner.events.len() >= EVENTS_KEPT {
                inner.events.clear();
                inner.events.push_back(Event { seq: event.seq, kind: EventKind::Reload });
            } else {
                inner.events.push_back(event);
            }
        });
    }
}

impl Remote {
    /// Connects to the service at `path` and says hello. A refusal (no role, another version) or a service
    /// that is not there is an error here, before anything is drawn.
    pub fn connect(path: &Path) -> Result<Arc<Remote>, ConnectError> {
        let unreachable = |reason: String| ConnectError::Unreachable { path: path.display().to_string(), reason };
        let (outgoing, incoming) = mpsc::unbounded_channel();
        let (health_tx, health_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared { inner: Mutex::new(Inner::default()), wake: watch::Sender::new(0) });
        // The handshake runs on the connection's own thread and runtime, so that a caller may be anywhere
        // (a command before its runtime starts, a test inside one); its outcome comes back here.
        let (ready, handshaken) = std_mpsc::channel();
        let (thread_path, thread_shared) = (path.to_path_buf(), shared.clone());
        std::thread::Builder::new()
            .name("vigil-link".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(format!("no runtime: {e}")).map_err(|reason| {
                            ConnectError::Unreachable { path: thread_path.display().to_string(), reason }
                        }));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let (conn, welcome) = match handshake(&thread_path, None).await {
                        Ok(done) => done,
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return;
                        }
                    };
                    let instance = welcome.instance.clone();
                    if ready.send(Ok(welcome)).is_err() {
                        return;
                    }
                    let link =
                        Link { path: thread_path, shared: thread_shared, health: health_tx, instance, last_seq: 0 };
                    link.run(conn, incoming).await;
                });
            })
            .map_err(|e| unreachable(e.to_string()))?;
        let welcome = handshaken.recv().map_err(|_| unreachable("the connection's thread stopped".into()))??;
        Ok(Arc::new(Remote {
            outgoing,
            shared,
            welcome,
            next_id: AtomicU64::new(1),
            health: Mutex::new(Some(health_rx)),
        }))
    }

    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// Asks the service and waits for its answer.
    pub fn ask(&self, ask: Ask) -> Result<Answer, ServiceError> {
        let ask = match ask {
            // A decision carries a token, so that it can be sent again after a reconnect without being
            // recorded twice.
            Ask::Service(Request::Act { case, command, seen, token: None }) => {
                Ask::Service(Request::Act { case, command, seen, token: Some(uuid::Uuid::new_v4()) })
            }
            other => other,
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = std_mpsc::channel();
        self.outgoing
            .send(Outgoing::Call { id, ask, reply })
            .map_err(|_| ServiceError::Unreachable("the connection has closed".into()))?;
        match answer.recv_timeout(ANSWER_WITHIN) {
            Ok(answer) => answer,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                Err(ServiceError::Unreachable("the connection has closed".into()))
            }
            // Sent, and not answered: whatever it asked may or may not have been done.
            Err(std_mpsc::RecvTimeoutError::Timeout) => Err(ServiceError::Unconfirmed),
        }
    }

    /// Tells the service which case this client has open (for the others' presence line).
    pub fn viewing(&self, case: Option<crate::domain::AlertKey>) {
        let _ = self.outgoing.send(Outgoing::Viewing(case));
    }

    /// The feed's health as the service reports it: once, to the surface that shows it.
    pub fn take_health(&self) -> Option<mpsc::UnboundedReceiver<FeedHealth>> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// The events and other news from the service, from now.
    pub fn events(&self) -> RemoteEvents {
        RemoteEvents { shared: self.shared.clone(), wake: self.shared.wake.subscribe(), position: 0 }
    }
}

/// A client's stream of what the service pushes.
pub struct RemoteEvents {
    shared: Arc<Shared>,
    wake: watch::Receiver<u64>,
    position: u64,
}

impl RemoteEvents {
    /// Waits for news; `false` when the connection's thread has ended.
    pub async fn changed(&mut self) -> bool {
        self.wake.changed().await.is_ok()
    }

    /// The events pushed since the last read.
    pub fn read(&mut self) -> Vec<Event> {
        let events: Vec<Event> =
            self.shared.inner.lock().unwrap_or_else(PoisonError::into_inner).events.drain(..).collect();
        if let Some(last) = events.last() {
            self.position = last.seq;
        }
        events
    }

    pub fn position(&self) -> u64 {
        self.position
    }

    /// Who else is connected, when that changed since the last look.
    pub fn presence(&mut self) -> Option<Vec<Present>> {
        self.shared.inner.lock().unwrap_or_else(PoisonError::into_inner).presence.take()
    }

    /// The connection's state, when it changed since the last look.
    pub fn link(&mut self) -> Option<LinkState> {
        self.shared.inner.lock().unwrap_or_else(PoisonError::into_inner).link.take()
    }
}

type Conn = Framed<UnixStream, LengthDelimitedCodec>;

async fn send(conn: &mut Conn, message: &ToService) -> std::io::Result<()> {
    let frames = frames(message).map_err(std::io::Error::other)?;
    for frame in frames {
        conn.feed(frame).await?;
    }
    SinkExt::<tokio_util::bytes::Bytes>::flush(conn).await
}

/// Connects and says hello: the service's welcome, or why not.
async fn handshake(path: &Path, resume: Option<Resume>) -> Result<(Conn, Welcome), ConnectError> {
    let shown = || path.display().to_string();
    let stream = UnixStream::connect(path).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => ConnectError::NotInGroup { path: shown() },
        _ => ConnectError::Unreachable { path: shown(), reason: e.to_string() },
    })?;
    let mut conn = Framed::new(stream, codec());
    let hello = ToService::Hello {
        version: PROTOCOL_VERSION,
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        resume,
    };
    send(&mut conn, &hello).await.map_err(|e| ConnectError::Unreachable { path: shown(), reason: e.to_string() })?;
    let mut joiner = Assembler::new(MAX_MESSAGE);
    let answer = tokio::time::timeout(HANDSHAKE_WITHIN, receive(&mut conn, &mut joiner)).await.map_err(|_| {
        ConnectError::Unreachable { path: shown(), reason: format!("no answer within {}s", HANDSHAKE_WITHIN.as_secs()) }
    })?;
    match answer {
        Some(Ok(FromService::Welcome(welcome))) if welcome.version == PROTOCOL_VERSION => Ok((conn, *welcome)),
        Some(Ok(FromService::Welcome(welcome))) => Err(ConnectError::Refused {
            code: super::wire::code::USAGE,
            message: format!(
                "the vigil service speaks protocol version {} and this vigil speaks {PROTOCOL_VERSION}: install the same vigil on both",
                welcome.version
            ),
        }),
        Some(Ok(FromService::Refused { code, message })) => Err(ConnectError::Refused { code, message }),
        Some(Ok(other)) => {
            Err(ConnectError::Protocol { path: shown(), reason: format!("{:.40}", format!("{other:?}")) })
        }
        Some(Err(reason)) => Err(ConnectError::Protocol { path: shown(), reason }),
        None => Err(ConnectError::Unreachable { path: shown(), reason: "it closed the connection".into() }),
    }
}

/// A call sent and not yet answered.
struct Pending {
    ask: Ask,
    reply: std_mpsc::Sender<Result<Answer, ServiceError>>,
}

/// Whether a call may be sent again after the connection dropped under it: reading twice is harmless and a
/// decision carries its token; anything else might be done twice.
fn safe_to_resend(ask: &Ask) -> bool {
    match ask {
        Ask::Service(Request::Act { token, .. }) => token.is_some(),
        Ask::Service(
            Request::Audit { .. }
            | Request::AuditUpgrade
            | Request::SkipPage { .. }
            | Request::Feed { .. }
            | Request::Ingest { .. }
            | Request::CacheScreenshot { .. }
            | Request::PurgeExpired { .. }
            | Request::HandoverNote { .. }
            | Request::HandoverAck { .. }
            | Request::SinceLastLook,
        ) => false,
        // A mail poll stores each message once, however often it runs.
        Ask::Service(_) | Ask::PollNow | Ask::Status | Ask::PollMail => true,
    }
}

/// The connection's thread: its state across reconnects.
struct Link {
    path: PathBuf,
    shared: Arc<Shared>,
    health: mpsc::UnboundedSender<FeedHealth>,
    instance: String,
    last_seq: u64,
}

impl Link {
    async fn run(mut self, mut conn: Conn, mut incoming: mpsc::UnboundedReceiver<Outgoing>) {
        let mut pending: HashMap<u64, Pending> = HashMap::new();
        let mut viewing = None;
        loop {
            // Connected: calls out, answers and news in, until either side goes.
            let mut joiner = Assembler::new(MAX_MESSAGE);
            let gone = loop {
                tokio::select! {
                    out = incoming.recv() => match out {
                        None => return, // the surface has ended
                        Some(Outgoing::Call { id, ask, reply }) => {
                            if let Err(e) = send(&mut conn, &ToService::Call { id, ask: ask.clone() }).await {
                                pending.insert(id, Pending { ask, reply });
                                break e.to_string();
                            }
                            pending.insert(id, Pending { ask, reply });
                        }
                        Some(Outgoing::Viewing(case)) => {
                            viewing = case.clone();
                            if let Err(e) = send(&mut conn, &ToService::Viewing { case }).await {
                                break e.to_string();
                            }
                        }
                    },
                    message = receive(&mut conn, &mut joiner) => match message {
                        None => break "the service closed the connection".to_string(),
                        Some(Err(e)) => break e,
                        Some(Ok(message)) => self.take(message, &mut pending),
                    },
                }
            };
            tracing::warn!(reason = %gone, "lost the connection to the vigil service; reconnecting");
            self.shared.change(|i| i.link = Some(LinkState::Reconnecting { since: Utc::now() }));
            // What cannot safely be sent twice is answered now: it may or may not have been done.
            let mut resend: Vec<(u64, Pending)> = Vec::new();
            for (id, call) in pending.drain() {
                if safe_to_resend(&call.ask) {
                    resend.push((id, call));
                } else {
                    let _ = call.reply.send(Err(unconfirmed(&call.ask)));
                }
            }
            let Some(new) = self.reconnect(&mut incoming, &mut resend, &mut viewing).await else { return };
            conn = new;
            resend.sort_by_key(|(id, _)| *id);
            for (id, call) in resend {
                if send(&mut conn, &ToService::Call { id, ask: call.ask.clone() }).await.is_err() {
                    let _ = call.reply.send(Err(unconfirmed(&call.ask)));
                    continue;
                }
                pending.insert(id, call);
            }
            if viewing.is_some() {
                let _ = send(&mut conn, &ToService::Viewing { case: viewing.clone() }).await;
            }
            self.shared.change(|i| i.link = Some(LinkState::Connected));
        }
    }

    /// Handles one message from the service.
    fn take(&mut self, message: FromService, pending: &mut HashMap<u64, Pending>) {
        match message {
            FromService::Reply { id, result } => {
                if let Some(call) = pending.remove(&id) {
                    let _ = call.reply.send(result.map_err(ServiceError::from));
                }
            }
            FromService::Event(event) => {
                self.last_seq = event.seq;
                self.shared.push_event(event);
            }
            FromService::Presence(present) => self.shared.change(|i| i.presence = Some(present)),
            FromService::Health(health) => {
                let _ = self.health.send(health);
            }
            FromService::Welcome(_) | FromService::Refused { .. } => {
                tracing::warn!("the vigil service sent a second handshake; ignored");
            }
        }
    }

    /// Reconnects with backoff, resuming the event stream. Calls made meanwhile fail at once; the calls in
    /// `resend` wait up to [`RESEND_FOR`]. `None` when the surface has ended.
    async fn reconnect(
        &mut self,
        incoming: &mut mpsc::UnboundedReceiver<Outgoing>,
        resend: &mut Vec<(u64, Pending)>,
        viewing: &mut Option<crate::domain::AlertKey>,
    ) -> Option<Conn> {
        let give_up_resend = tokio::time::Instant::now() + RESEND_FOR;
        let mut delay = Duration::from_millis(100);
        let mut refused_said = false;
        loop {
            let resume = Resume { instance: self.instance.clone(), after: self.last_seq };
            match handshake(&self.path, Some(resume)).await {
                Ok((conn, welcome)) => {
                    if welcome.instance != self.instance {
                        // A new run of the service: numbers start again, and its first event says reload.
                        self.instance = welcome.instance;
                        self.last_seq = 0;
                    }
                    tracing::info!("reconnected to the vigil service");
                    return Some(conn);
                }
                Err(ConnectError::Refused { message, .. }) if !refused_said => {
                    refused_said = true;
                    self.shared.change(|i| i.link = Some(LinkState::Refused(message)));
                }
                Err(_) => {}
            }
            let wake = tokio::time::sleep(delay);
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    () = &mut wake => break,
                    () = tokio::time::sleep_until(give_up_resend), if !resend.is_empty() => {
                        for (_, call) in resend.drain(..) {
                            let _ = call.reply.send(Err(unconfirmed(&call.ask)));
                        }
                    }
                    out = incoming.recv() => match out {
                        None => return None,
                        Some(Outgoing::Call { reply, .. }) => {
                            let _ = reply.send(Err(ServiceError::Unreachable("reconnecting".into())));
                        }
                        Some(Outgoing::Viewing(case)) => *viewing = case,
                    },
                }
            }
            delay = (delay * 2).min(Duration::from_secs(3));
        }
    }
}

/// What a call that was sent and never answered is told.
fn unconfirmed(ask: &Ask) -> ServiceError {
    if safe_to_resend(ask) && !matches!(ask, Ask::Service(Request::Act { .. })) {
        ServiceError::Unreachable("it stopped while answering".into())
    } else {
        ServiceError::Unconfirmed
    }
}
