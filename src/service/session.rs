//! One viewer's handle on the service: a typed method per [`Request`], each a [`CaseService::handle`] call.
//!
//! The surfaces hold a `Session`, never the service's insides, so the TUI and the commands already speak the
//! messages a socket will carry: the shared service swaps what is behind `call`, not the surfaces.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::api::{Call, FeedChange, Reply, Request, Scope, Shot, StoreStatus};
use super::api::{FeedState, IngestReport, Quarantined};
use super::events::Subscription;
use super::handover::{Handover, LookBack};
use super::remote::{ConnectError, LinkState, Remote, RemoteEvents};
use super::wire::{Answer, Ask, Present};
use super::{CaseDetail, CaseService, CaseSummary, ChecklistItem, ReportData, Result, ServiceError};
use crate::audit::{AuditRecord, HeadMark, Verdict};
use crate::domain::calendar::WorkingCalendar;
use crate::domain::case::CaseCommand;
use crate::domain::checklist::Templates;
use crate::domain::{AlertKey, CaseEvent, Level};
use crate::feed::protocol::Page;
use crate::identity::Viewer;
use crate::store::HandoverAck;

/// A viewer and the service they speak to: in this process, or the shared service over its socket.
#[derive(Clone)]
pub struct Session {
    backend: Backend,
    viewer: Viewer,
}

#[derive(Clone)]
enum Backend {
    Local(CaseService),
    Remote(Arc<Remote>),
    /// Several sessions read as one: the trust's lead reading every school at once ([`super::trust`]).
    Gathered(Arc<dyn Gathered>),
}

/// Several sessions read as one (the trust's view of its schools, [`super::trust`]): what a [`Session`]
/// asks of them. A trait here, so that sessions made of sessions do not make the two modules need each other.
pub trait Gathered: Send + Sync {
    fn call(&self, request: Request, at: DateTime<Utc>) -> Result<Reply>;
    fn subscribe(&self) -> Box<dyn GatheredEvents>;
    /// The names of the sessions gathered (the schools).
    fn schools(&self) -> Vec<String>;
    /// The first session: where what they all share (the calendar, the checklists) is read.
    fn first(&self) -> &Session;
}

/// Every gathered session's stream of changes, as one.
pub trait GatheredEvents: Send {
    /// Waits until any has something to read; `false` once none ever will.
    fn changed(&mut self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + '_>>;
    fn read(&mut self, now: DateTime<Utc>) -> Result<Vec<super::api::Event>>;
    fn position(&self) -> u64;
}

/// A session's stream of what changed: the service's own subscription in this process, or what the shared
/// service pushes over the socket.
pub enum Events {
    Local(Subscription),
    Remote(RemoteEvents),
    Gathered(Box<dyn GatheredEvents>),
}

impl Events {
    /// Waits until something is there to read; `false` when it never will be.
    pub async fn changed(&mut self) -> bool {
        match self {
            Events::Local(s) => s.changed().await,
            Events::Remote(r) => r.changed().await,
            Events::Gathered(g) => g.changed().await,
        }
    }

    /// The events since the last read, for this viewer, as of `now`.
    pub fn read(&mut self, now: DateTime<Utc>) -> Result<Vec<super::api::Event>> {
        match self {
            Events::Local(s) => s.read(now),
            Events::Remote(r) => Ok(r.read()),
            Events::Gathered(g) => g.read(now),
        }
    }

    /// The number of the last event read.
    pub fn position(&self) -> u64 {
        match self {
            Events::Local(s) => s.position(),
            Events::Remote(r) => r.position(),
            Events::Gathered(g) => g.position(),
        }
    }

    /// Who else is connected, when that changed (never, in this process).
    pub fn presence(&mut self) -> Option<Vec<Present>> {
        match self {
            Events::Local(_) | Events::Gathered(_) => None,
            Events::Remote(r) => r.presence(),
        }
    }

    /// The connection's state, when it changed (never, in this process).
    pub fn link(&mut self) -> Option<LinkState> {
        match self {
            Events::Local(_) | Events::Gathered(_) => None,
            Events::Remote(r) => r.link(),
        }
    }
}

/// The reply a request did not expect: a bug in the service, said plainly rather than a panic.
fn unexpected(answer: impl std::fmt::Debug) -> ServiceError {
    ServiceError::Unexpected(format!("{answer:?}").chars().take(60).collect())
}

macro_rules! expect {
    ($reply:expr, $pattern:pat => $value:expr) => {
        match $reply {
            $pattern => Ok($value),
            other => Err(unexpected(other)),
        }
    };
}

impl Session {
    pub fn new(service: CaseService, viewer: Viewer) -> Session {
        Session { backend: Backend::Local(service), viewer }
    }

    /// A session with the shared service at `socket`, as the kernel says this process's user is.
    pub fn connect(socket: &std::path::Path) -> std::result::Result<Session, ConnectError> {
        let remote = Remote::connect(socket)?;
        let w = remote.welcome();
        let viewer = Viewer { user: w.user.clone(), role: w.role, sees_staff: w.sees_staff };
        Ok(Session { backend: Backend::Remote(remote), viewer })
    }

    /// A session with several sessions read as one ([`super::trust::view`] makes the trust's).
    pub fn gathered(sessions: Arc<dyn Gathered>, viewer: Viewer) -> Session {
        Session { backend: Backend::Gathered(sessions), viewer }
    }

    /// The schools this session reads at once (none unless it is the trust's view).
    pub fn schools(&self) -> Vec<String> {
        match &self.backend {
            Backend::Gathered(g) => g.schools(),
            _ => Vec::new(),
        }
    }

    /// Asks the service, at `at` (in this process; the shared service asks at its own clock).
    pub fn call(&self, request: Request, at: DateTime<Utc>) -> Result<Reply> {
        match &self.backend {
            Backend::Local(service) => service.handle(&self.viewer, Call { at, request }),
            Backend::Remote(remote) => match remote.ask(Ask::Service(request))? {
                Answer::Service(reply) => Ok(*reply),
                other => Err(unexpected(other)),
            },
            Backend::Gathered(g) => g.call(request, at),
        }
    }

    /// Asks the shared service something of its own (not of the cases); refused in this process.
    pub fn ask_service(&self, ask: Ask) -> Result<Answer> {
        match &self.backend {
            Backend::Local(_) | Backend::Gathered(_) => {
                Err(ServiceError::Said("vigil is not connected to a shared service here".into()))
            }
            Backend::Remote(remote) => remote.ask(ask),
        }
    }

    /// The case service in this process (`None` for a client of the shared service).
    pub fn local(&self) -> Option<&CaseService> {
        match &self.backend {
            Backend::Local(service) => Some(service),
            Backend::Remote(_) | Backend::Gathered(_) => None,
        }
    }

    /// Whether this session goes through the shared service's socket.
    pub fn is_remote(&self) -> bool {
        matches!(self.backend, Backend::Remote(_))
    }

    /// Tells the shared service which case is open on this screen (a no-op in this process).
    pub fn viewing(&self, case: Option<&AlertKey>) {
        if let Backend::Remote(remote) = &self.backend {
            remote.viewing(case.cloned());
        }
    }

    /// The feed's health as the shared service reports it (once; `None` in this process).
    pub fn take_health(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<super::api::FeedHealth>> {
        match &self.backend {
            Backend::Local(_) | Backend::Gathered(_) => None,
            Backend::Remote(remote) => remote.take_health(),
        }
    }

    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    pub fn templates(&self) -> &'static Templates {
        match &self.backend {
            Backend::Local(service) => service.templates(),
            Backend::Gathered(g) => g.first().templates(),
            Backend::Remote(_) => Templates::embedded(),
        }
    }

    pub fn calendar(&self) -> &WorkingCalendar {
        match &self.backend {
            Backend::Local(service) => service.calendar(),
            Backend::Remote(remote) => &remote.welcome().calendar,
            Backend::Gathered(g) => g.first().calendar(),
        }
    }

    /// The stream of changes this viewer may hear of, from now.
    pub fn subscribe(&self) -> Events {
        match &self.backend {
            Backend::Local(service) => Events::Local(service.subscribe(self.viewer.clone(), None)),
            Backend::Remote(remote) => Events::Remote(remote.events()),
            Backend::Gathered(g) => Events::Gathered(g.subscribe()),
        }
    }

    fn rows(&self, scope: Scope, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        expect!(self.call(Request::Queue { scope }, now)?, Reply::Rows(rows) => rows)
    }

    /// Every case this viewer may see, in queue order.
    pub fn queue(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(Scope::All, now)
    }

    /// The open cases this viewer may see, in queue order.
    pub fn queue_open(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(Scope::Open, now)
    }

    /// The cases that are not open, in queue order (after every open one).
    pub fn queue_closed(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(Scope::Closed, now)
    }

    /// One case's row, or `None` when it is gone or not this viewer's to see.
    pub fn summary(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<Option<CaseSummary>> {
        expect!(self.call(Request::Row { case: key.clone() }, now)?, Reply::Row(row) => row)
    }

    pub fn raised_not_open(&self) -> Result<Vec<(DateTime<Utc>, Level, u64)>> {
        expect!(self.call(Request::RaisedNotOpen, Utc::now())?, Reply::RaisedNotOpen(v) => v)
    }

    pub fn find(&self, spec: &str) -> Result<AlertKey> {
        expect!(self.call(Request::Find { spec: spec.to_string() }, Utc::now())?, Reply::Key(k) => k)
    }

    /// Marks the case viewed, then its content (audited).
    pub fn open(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<CaseDetail> {
        expect!(self.call(Request::Open { case: key.clone() }, now)?, Reply::Detail(d) => *d)
    }

    /// A student's history: their cases this viewer may see, oldest first (audited).
    pub fn history(&self, of: &super::subjects::HistoryOf, now: DateTime<Utc>) -> Result<super::subjects::History> {
        expect!(self.call(Request::History { of: of.clone() }, now)?, Reply::History(h) => *h)
    }

    /// Makes the tally trend markers are counted from, if it is not made (one pass over the index).
    /// Returns the subjects whose alerts make a trend for this viewer at `now`.
    pub fn warm_trends(&self, now: DateTime<Utc>) -> Result<Vec<super::subjects::SubjectTrend>> {
        expect!(self.call(Request::WarmTrends, now)?, Reply::Trends(t) => t)
    }

    pub fn mark_viewed(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<()> {
        expect!(self.call(Request::MarkViewed { case: key.clone() }, now)?, Reply::Done => ())
    }

    pub fn detail(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<CaseDetail> {
        expect!(self.call(Request::Detail { case: key.clone() }, now)?, Reply::Detail(d) => *d)
    }

    pub fn checklist(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<Vec<ChecklistItem>> {
        expect!(self.call(Request::Checklist { case: key.clone() }, now)?, Reply::Checklist(c) => c)
    }

    pub fn records(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<crate::service::records::Records> {
        expect!(self.call(Request::Records { case: key.clone() }, now)?, Reply::Records(r) => r)
    }

    /// A decision, judged against the case as it stands when it is written. Returns its events, in order.
    /// Stores an alert taken by phone or in person, as the form has it: its new case's key and level.
    pub fn add_alert(&self, form: super::intake::ManualAlert, now: DateTime<Utc>) -> Result<super::intake::Added> {
        expect!(self.call(Request::AddAlert { form: Box::new(form) }, now)?, Reply::Added(added) => added)
    }

    pub fn act(&self, key: &AlertKey, command: &CaseCommand, now: DateTime<Utc>) -> Result<Vec<CaseEvent>> {
        self.act_seen(key, command, None, now)
    }

    /// [`Session::act`] by a reviewer whose screen showed the case's first `seen` events: when others'
    /// events since then make the decision no longer fit, the refusal names who did what.
    pub fn act_seen(
        &self,
        key: &AlertKey,
        command: &CaseCommand,
        seen: Option<usize>,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>> {
        let request = Request::Act { case: key.clone(), command: command.clone(), seen, token: None };
        expect!(self.call(request, now)?, Reply::Decided(events) => events)
    }

    /// Stores a page (a copy of it: the poller hands its pages over with [`Session::ingest_page`]).
    /// Raw vendor e-mails into the store.
    pub fn import_mail(
        &self,
        messages: Vec<super::mail::RawMail>,
        now: DateTime<Utc>,
    ) -> Result<super::mail::MailReport> {
        expect!(self.call(Request::ImportMail { messages }, now)?, Reply::MailImported(r) => r)
    }

    /// How far an IMAP mailbox has been read.
    pub fn mailbox_mark(&self, mailbox: &str, now: DateTime<Utc>) -> Result<Option<crate::store::MailboxMark>> {
        expect!(self.call(Request::MailboxMark { mailbox: mailbox.to_string() }, now)?, Reply::MailboxMark(m) => m)
    }

    /// Messages read from an IMAP mailbox into the store, then the mark that says so.
    pub fn import_mailbox(
        &self,
        mailbox: &str,
        mark: crate::store::MailboxMark,
        messages: Vec<super::mail::RawMail>,
        now: DateTime<Utc>,
    ) -> Result<super::mail::MailReport> {
        let request = Request::ImportMailbox { mailbox: mailbox.to_string(), mark, messages };
        expect!(self.call(request, now)?, Reply::MailImported(r) => r)
    }

    /// The raw e-mail a case was read from (audited).
    pub fn raw_mail(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<Vec<u8>> {
        expect!(self.call(Request::RawMail { case: key.clone() }, now)?, Reply::RawMail(r) => r)
    }

    pub fn ingest(&self, page: &Page, now: DateTime<Utc>) -> Result<IngestReport> {
        self.ingest_page(page.clone(), now)
    }

    pub fn ingest_page(&self, page: Page, now: DateTime<Utc>) -> Result<IngestReport> {
        expect!(self.call(Request::Ingest { page }, now)?, Reply::Ingested(r) => r)
    }

    pub fn change_feed(&self, change: FeedChange, now: DateTime<Utc>) -> Result<FeedState> {
        expect!(self.call(Request::Feed { change }, now)?, Reply::FeedState(s) => s)
    }

    /// The DSL's: moves past the page the feed keeps sending that vigil cannot read. Returns its SHA-256.
    pub fn skip_page(&self, to: Option<&str>, now: DateTime<Utc>) -> Result<String> {
        let request = Request::SkipPage { to: to.map(str::to_string) };
        expect!(self.call(request, now)?, Reply::Skipped { sha256 } => sha256)
    }

    /// Whether this service may poll the feed `feed` names now (see [`CaseService::hold_feed`]); a client
    /// of the shared service polls nothing. Blocks on the store.
    pub fn hold_feed(&self, feed: &str) -> Result<bool> {
        match &self.backend {
            Backend::Local(service) => service.hold_feed(feed),
            Backend::Remote(_) | Backend::Gathered(_) => Ok(false),
        }
    }

    /// Where this store's poller stands (any role whose store is fed).
    pub fn sync_state(&self) -> Result<FeedState> {
        expect!(self.call(Request::SyncState, Utc::now())?, Reply::FeedState(s) => s)
    }

    pub fn feed_status(&self) -> Result<(FeedState, Option<u64>)> {
        expect!(self.call(Request::FeedStatus, Utc::now())?, Reply::FeedStatus { state, staff_dropped } => (state, staff_dropped))
    }

    pub fn rejected(&self, now: DateTime<Utc>) -> Result<Vec<Quarantined>> {
        expect!(self.call(Request::Rejected, now)?, Reply::Rejected(r) => r)
    }

    /// Counts and the disk; the count of alerts (a read of every alert) only with `count_alerts`.
    pub fn store_status(&self, count_alerts: bool) -> Result<StoreStatus> {
        expect!(self.call(Request::StoreStatus { count_alerts }, Utc::now())?, Reply::StoreStatus(s) => s)
    }

    pub fn purge_expired(&self, months: u32, now: DateTime<Utc>) -> Result<usize> {
        expect!(self.call(Request::PurgeExpired { months }, now)?, Reply::Purged(n) => n)
    }

    pub fn report_data(&self, include_staff: bool) -> Result<ReportData> {
        expect!(self.call(Request::ReportData { include_staff }, Utc::now())?, Reply::ReportData(d) => *d)
    }

    pub fn screenshot(&self, key: &AlertKey, index: usize) -> Result<Shot> {
        expect!(self.call(Request::Screenshot { case: key.clone(), index }, Utc::now())?, Reply::Shot(s) => s)
    }

    pub fn cache_screenshot(&self, key: &AlertKey, index: usize, bytes: Vec<u8>) -> Result<()> {
        let request = Request::CacheScreenshot { case: key.clone(), index, bytes };
        expect!(self.call(request, Utc::now())?, Reply::Done => ())
    }

    pub fn screenshots_to_prefetch(&self, now: DateTime<Utc>) -> Result<Vec<(AlertKey, usize)>> {
        expect!(self.call(Request::ScreenshotsToPrefetch, now)?, Reply::Prefetch(v) => v)
    }

    /// A content-free audit record for this viewer.
    pub fn audit(&self, case: Option<&AlertKey>, what: &str, now: DateTime<Utc>) -> Result<()> {
        let request = Request::Audit { case: case.cloned(), what: what.to_string() };
        expect!(self.call(request, now)?, Reply::Done => ())
    }

    pub fn audit_records(&self, case: Option<&str>) -> Result<Vec<AuditRecord>> {
        let request = Request::AuditRecords { case: case.map(str::to_string) };
        expect!(self.call(request, Utc::now())?, Reply::AuditRecords(r) => r)
    }

    pub fn audit_verify(&self) -> Result<Verdict> {
        self.audit_verify_against(None)
    }

    pub fn audit_verify_against(&self, expect: Option<&HeadMark>) -> Result<Verdict> {
        let request = Request::AuditVerify { expect: expect.cloned() };
        expect!(self.call(request, Utc::now())?, Reply::Verdict(v) => v)
    }

    /// The safeguarding team's reviewers and how records name them.
    pub fn team(&self) -> Result<Vec<super::api::Member>> {
        expect!(self.call(Request::Team, Utc::now())?, Reply::Team(t) => t)
    }

    pub fn audit_upgrade(&self, now: DateTime<Utc>) -> Result<AuditRecord> {
        expect!(self.call(Request::AuditUpgrade, now)?, Reply::AuditRecord(r) => r)
    }

    /// What happened while this viewer was away (audited).
    pub fn handover(&self, since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<Handover> {
        expect!(self.call(Request::Handover { since }, now)?, Reply::Handover(h) => *h)
    }

    /// Writes a handover note; returns its number.
    pub fn handover_note(&self, text: &str, now: DateTime<Utc>) -> Result<u64> {
        expect!(self.call(Request::HandoverNote { text: text.to_string() }, now)?, Reply::NoteWritten(id) => id)
    }

    /// Acknowledges the handover up to `until` and the notes up to `up_to_note` (up to now when not given).
    pub fn acknowledge_handover(
        &self,
        until: Option<DateTime<Utc>>,
        up_to_note: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<HandoverAck> {
        expect!(self.call(Request::HandoverAck { until, up_to_note }, now)?, Reply::Acknowledged(a) => a)
    }

    /// What changed since this viewer last looked, and marks that they look now.
    pub fn since_last_look(&self, now: DateTime<Utc>) -> Result<Option<LookBack>> {
        expect!(self.call(Request::SinceLastLook, now)?, Reply::LookBack(l) => l)
    }
}
