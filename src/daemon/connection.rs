//! One client of the shared service: the handshake, its calls in order, and what is pushed to it.
//!
//! Three tasks per connection: this one reads the client's calls and answers them one at a time; a writer
//! owns the socket's sending half, fed by a bounded queue; a pusher sends the client's events, presence and
//! the feed's health. A client that stops reading fills only its own queue: its calls wait, and its pusher,
//! finding the queue full, drops what it would have sent and, once there is room, tells it to reload.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::{Daemon, Identity};
use crate::service::api::{Call, Event, EventKind, FeedChange, Reply, Request, Shot, StoreStatus};
use crate::service::wire::{
    Answer, Ask, Assembler, FEATURES, Failure, FromService, MAX_FRAME, PROTOCOL_VERSION, ServiceStatus, ToService,
    Welcome, code, codec, frames, receive,
};
use crate::service::{ServiceError, Session};

/// How long a client has to say hello.
const HELLO_WITHIN: Duration = Duration::from_secs(10);

/// How many messages wait for a client before its pusher waits for room.
pub const OUT_QUEUE: usize = 256;

/// How long the pusher waits for room before it owes the client a reload instead.
const BEHIND_AFTER: Duration = Duration::from_secs(2);

/// How many answers may wait to be written to one client: a client that asks and never reads holds at most
/// this many (and its further calls wait), however large each answer is.
const REPLIES_WAITING: usize = 2;

/// A message for the writer, with the place it holds among a client's waiting answers.
type Outgoing = (FromService, Option<tokio::sync::OwnedSemaphorePermit>);

type Sink = SplitSink<Framed<UnixStream, LengthDelimitedCodec>, tokio_util::bytes::Bytes>;
type Source = SplitStream<Framed<UnixStream, LengthDelimitedCodec>>;

pub(super) async fn serve(daemon: Arc<Daemon>, stream: UnixStream, connection: u64) {
    // The kernel's word for who connected: a snapshot taken at connect.
    let uid = match stream.peer_cred() {
        Ok(cred) => cred.uid(),
        Err(e) => {
            tracing::warn!(connection, error = %e, "no peer credentials; connection dropped");
            return;
        }
    };
    let (mut sink, mut source) = Framed::new(stream, codec()).split();
    let mut joiner = Assembler::new(MAX_FRAME);
    let hello = match tokio::time::timeout(HELLO_WITHIN, receive(&mut source, &mut joiner)).await {
        Ok(Some(Ok(ToService::Hello { version, resume, .. }))) => (version, resume),
        Ok(Some(Ok(_))) => return refuse(&mut sink, code::USAGE, "the first message must be a hello".into()).await,
        Ok(Some(Err(e))) => {
            tracing::warn!(connection, uid, error = %e, "a client's hello did not parse");
            return refuse(&mut sink, code::USAGE, format!("the hello did not parse ({e})")).await;
        }
        Ok(None) | Err(_) => return,
    };
    let (version, resume) = hello;
    if version != PROTOCOL_VERSION {
        tracing::info!(connection, uid, version, "refused a client of another protocol version");
        let message = format!(
            "this vigil service speaks protocol version {PROTOCOL_VERSION} and the client speaks {version}: install the same vigil on both"
        );
        return refuse(&mut sink, code::USAGE, message).await;
    }
    let identity = match (daemon.identify)(uid) {
        Ok(identity) => identity,
        Err(message) => {
            tracing::info!(connection, uid, "refused a user with no role");
            return refuse(&mut sink, code::NO_ROLE, message).await;
        }
    };
    let welcome = Welcome {
        version: PROTOCOL_VERSION,
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        instance: daemon.instance.clone(),
        user: identity.viewer.user.clone(),
        name: identity.name.clone(),
        role: identity.viewer.role,
        sees_staff: identity.viewer.sees_staff,
        calendar: daemon.service.calendar().clone(),
    };
    // Subscribed before the welcome is sent, so that no change published meanwhile is missed. Resuming a
    // stream of this very run: from where the client stopped; otherwise from now, after a reload.
    let after = resume.as_ref().filter(|r| r.instance == daemon.instance).map(|r| r.after);
    let reload_first = resume.is_some() && after.is_none();
    let events = daemon.service.subscribe(identity.viewer.clone(), after);
    if write(&mut sink, &FromService::Welcome(Box::new(welcome))).await.is_err() {
        return;
    }
    tracing::info!(connection, user = %identity.viewer.user, role = identity.viewer.role.as_str(), "client connected");
    let (out, queued) = mpsc::channel::<Outgoing>(OUT_QUEUE);
    let writer = tokio::spawn(write_queued(sink, queued));
    daemon.presence.join(connection, identity.clone());
    let pusher = tokio::spawn(push(daemon.clone(), identity.clone(), connection, events, reload_first, out.clone()));
    answer_calls(&daemon, &identity, connection, &mut source, &mut joiner, &out).await;
    pusher.abort();
    daemon.presence.leave(connection);
    drop(out);
    let _ = writer.await;
    tracing::info!(connection, user = %identity.viewer.user, "client disconnected");
}

async fn refuse(sink: &mut Sink, code: i32, message: String) {
    let _ = write(sink, &FromService::Refused { code, message }).await;
}

async fn write(sink: &mut Sink, message: &FromService) -> std::io::Result<()> {
    for frame in frames(message).map_err(std::io::Error::other)? {
        sink.feed(frame).await?;
    }
    sink.flush().await
}

async fn write_queued(mut sink: Sink, mut queued: mpsc::Receiver<Outgoing>) {
    while let Some((message, _place)) = queued.recv().await {
        let written = match write(&mut sink, &message).await {
            // An answer too large to send is still an answer: the caller is told, rather than left waiting.
            Err(e) if e.kind() == std::io::ErrorKind::Other => match &message {
                FromService::Reply { id, .. } => {
                    let message = format!("the answer is too large to send over the socket ({e})");
                    let failed = FromService::Reply { id: *id, result: Err(Failure::Other { message }) };
                    write(&mut sink, &failed).await
                }
                _ => Err(e),
            },
            other => other,
        };
        if written.is_err() {
            return;
        }
    }
}

/// Reads the client's calls and answers each in turn, until it goes.
async fn answer_calls(
    daemon: &Arc<Daemon>,
    identity: &Identity,
    connection: u64,
    source: &mut Source,
    joiner: &mut Assembler,
    out: &mpsc::Sender<Outgoing>,
) {
    let waiting = Arc::new(tokio::sync::Semaphore::new(REPLIES_WAITING));
    loop {
        match receive(source, joiner).await {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(connection, error = %e, "a client sent something unreadable; connection closed");
                return;
            }
            Some(Ok(ToService::Call { id, ask })) => {
                let Ok(place) = waiting.clone().acquire_owned().await else { return };
                let result = answer(daemon, identity, ask).await;
                if out.send((FromService::Reply { id, result }, Some(place))).await.is_err() {
                    return;
                }
            }
            Some(Ok(ToService::Viewing { case })) => {
                let seen = match case {
                    None => None,
                    Some(case) => visible(daemon, identity, case).await,
                };
                daemon.presence.viewing(connection, seen);
            }
            Some(Ok(ToService::Hello { .. })) => {
                tracing::warn!(connection, "a second hello; connection closed");
                return;
            }
        }
    }
}

/// The case, and whether it is a staff case, when the client may see it.
async fn visible(
    daemon: &Arc<Daemon>,
    identity: &Identity,
    case: crate::domain::AlertKey,
) -> Option<(crate::domain::AlertKey, bool)> {
    let request = Request::Row { case: case.clone() };
    match handle(daemon, identity, request).await {
        Ok(Reply::Row(Some(row))) => Some((case, row.staff)),
        _ => None,
    }
}

/// A case-service request, on a blocking worker (the store reads and decrypts), at the service's clock.
async fn handle(daemon: &Arc<Daemon>, identity: &Identity, request: Request) -> Result<Reply, ServiceError> {
    let service = daemon.service.clone();
    let viewer = identity.viewer.clone();
    tokio::task::spawn_blocking(move || service.handle(&viewer, Call { at: Utc::now(), request }))
        .await
        .unwrap_or_else(|e| Err(ServiceError::Unexpected(format!("a worker stopped: {e}"))))
}

/// Why a request is not for a client over the socket, if it is not: feeding the store and running
/// retention are the service's own work, and the shared trail's verdict counts every record (staff cases'
/// included), so it is for a viewer who may see staff alerts.
fn refused_over_socket(request: &Request, viewer: &crate::identity::Viewer) -> Option<String> {
    match request {
        Request::Ingest { .. } | Request::CacheScreenshot { .. } => {
            Some("the vigil service's own poller feeds the store; a client cannot".into())
        }
        Request::Feed { change } if !matches!(change, FeedChange::ResetCursor { .. }) => {
            Some("the vigil service's own poller feeds the store; a client cannot".into())
        }
        Request::PurgeExpired { .. } => Some("the vigil service runs retention itself, hourly".into()),
        Request::MailboxMark { .. } | Request::ImportMailbox { .. } => {
            Some("the vigil service reads the mailbox itself; `vigil mail poll --once` asks it to now".into())
        }
        Request::AuditVerify { .. } if !viewer.sees_staff => {
            Some("verifying the shared audit trail is the DSL's: its figures count staff cases' records too".into())
        }
        _ => None,
    }
}

async fn answer(daemon: &Arc<Daemon>, identity: &Identity, ask: Ask) -> Result<Answer, Failure> {
    let fail = |e: ServiceError| Failure::from(&e);
    match ask {
        Ask::PollNow if identity.viewer.can_review() => {
            if daemon.health.borrow().is_none() {
                return Err(Failure::Other { message: "the vigil service has no feed configured ([feed] url)".into() });
            }
            daemon.poll_now.notify_one();
            Ok(Answer::Polled)
        }
        Ask::PollNow => Err(Failure::Forbidden { role: identity.viewer.role }),
        Ask::Status => {
            // A store that cannot be read (its database down) is said in the status, not instead of it.
            let unread = StoreStatus { alerts: None, rejected: 0, disk_low: false };
            let (store, store_error) =
                match handle(daemon, identity, Request::StoreStatus { count_alerts: false }).await {
                    Ok(Reply::StoreStatus(s)) => (s, None),
                    Ok(_) => (unread, Some("the store's status could not be read".to_string())),
                    Err(e) => (unread, Some(e.to_string())),
                };
            Ok(Answer::Status(Box::new(ServiceStatus {
                version: env!("CARGO_PKG_VERSION").to_string(),
                started: daemon.started,
                connected: daemon.presence.everyone(),
                feed: daemon.health.borrow().clone(),
                store,
                store_error,
                mail: daemon.mail.as_ref().map(|m| m.health()),
            })))
        }
        Ask::PollMail if identity.viewer.on_duty() => {
            let Some(reader) = &daemon.mail else {
                return Err(Failure::Other {
                    message: "the vigil service reads no mailbox ([mail] host is not set)".into(),
                });
            };
            Ok(Answer::MailPolled(reader.poll().await.map_err(|e| crate::service::wire::MailPollFailure {
                needs_config: e.needs_config(),
                message: e.to_string(),
            })))
        }
        Ask::PollMail => Err(Failure::Forbidden { role: identity.viewer.role }),
        Ask::Service(request) => {
            if let Some(message) = refused_over_socket(&request, &identity.viewer) {
                return Err(Failure::Other { message });
            }
            match request {
                Request::Screenshot { case, index } => screenshot(daemon, identity, case, index).await,
                request => handle(daemon, identity, request).await.map(|r| Answer::Service(Box::new(r))).map_err(fail),
            }
        }
    }
}

/// A screenshot from the cache, or fetched by the service with its own feed client (checked, then cached):
/// the client always gets bytes, and never needs the feed's credentials.
async fn screenshot(
    daemon: &Arc<Daemon>,
    identity: &Identity,
    case: crate::domain::AlertKey,
    index: usize,
) -> Result<Answer, Failure> {
    let fail = |e: ServiceError| Failure::from(&e);
    let reply = handle(daemon, identity, Request::Screenshot { case: case.clone(), index }).await.map_err(fail)?;
    let Reply::Shot(Shot::Fetch { .. }) = &reply else { return Ok(Answer::Service(Box::new(reply))) };
    let Some(client) = &daemon.screenshots else {
        return Err(Failure::Other { message: "the vigil service has no feed to fetch screenshots from".into() });
    };
    let session = Session::new(daemon.service.clone(), identity.viewer.clone());
    let bytes = crate::intake::screenshots::fetch(Some(client), &session, &case, index).await.map_err(fail)?;
    Ok(Answer::Service(Box::new(Reply::Shot(Shot::Cached { bytes }))))
}

/// Sends the client its events, who else is connected and the feed's health, as they change.
async fn push(
    daemon: Arc<Daemon>,
    identity: Identity,
    connection: u64,
    mut events: crate::service::events::Subscription,
    reload_first: bool,
    out: mpsc::Sender<Outgoing>,
) {
    let viewer = identity.viewer.clone();
    let mut presence = daemon.presence.watch();
    let mut health = daemon.health.clone();
    let reviewer = viewer.can_review();
    let mut owed_reload = reload_first;
    presence.mark_changed();
    if reviewer {
        health.mark_changed();
    }
    loop {
        if owed_reload {
            // Wait for room, then skip what was missed: the client reads the queue again.
            let Ok(permit) = out.reserve().await else { return };
            permit.send((FromService::Event(Event { seq: events.skip_to_end(), kind: EventKind::Reload }), None));
            owed_reload = false;
            // What else was dropped is sent again as it is now.
            presence.mark_changed();
            if reviewer {
                health.mark_changed();
            }
        }
        tokio::select! {
            alive = events.changed() => {
                if !alive {
                    return;
                }
                // Reading names rows from the store: off the runtime's reactor, on this (multi-thread) worker.
                match tokio::task::block_in_place(|| events.read(Utc::now())) {
                    Ok(read) => {
                        for event in read {
                            // A client that is reading keeps up with any burst; one that does not read for
                            // [`BEHIND_AFTER`] is told to reload once it does, and holds up nobody meanwhile.
                            let queued = out.send_timeout((FromService::Event(event), None), BEHIND_AFTER).await;
                            if queued.is_err() {
                                tracing::warn!(connection, "a client fell behind; it will be told to reload");
                                owed_reload = true;
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(connection, error = %e, "events could not be read; the client will reload");
                        owed_reload = true;
                    }
                }
            }
            changed = presence.changed() => {
                if changed.is_err() {
                    return;
                }
                let others = daemon.presence.seen_by(connection, &viewer);
                owed_reload |= out.try_send((FromService::Presence(others), None)).is_err();
            }
            changed = health.changed(), if reviewer => {
                if changed.is_err() {
                    return;
                }
                let now = health.borrow_and_update().clone();
                if let Some(now) = now {
                    owed_reload |= out.try_send((FromService::Health(now), None)).is_err();
                }
            }
        }
    }
}
