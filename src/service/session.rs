//! One viewer's handle on the service: a typed method per [`Request`], each a [`CaseService::handle`] call.
//!
//! The surfaces hold a `Session`, never the service's insides, so the TUI and the commands already speak the
//! messages a socket will carry: the shared service swaps what is behind `call`, not the surfaces.

use chrono::{DateTime, Utc};

use super::api::{Call, FeedChange, Reply, Request, Scope, Shot, StoreStatus};
use super::api::{FeedState, IngestReport, Quarantined};
use super::events::Subscription;
use super::{CaseDetail, CaseService, CaseSummary, ChecklistItem, ReportData, Result, ServiceError};
use crate::audit::{AuditRecord, HeadMark, Verdict};
use crate::domain::calendar::WorkingCalendar;
use crate::domain::case::CaseCommand;
use crate::domain::checklist::Templates;
use crate::domain::{AlertKey, CaseEvent, Level};
use crate::feed::protocol::Page;
use crate::identity::Viewer;

/// A viewer and the service they speak to.
#[derive(Clone)]
pub struct Session {
    service: CaseService,
    viewer: Viewer,
}

/// The reply a request did not expect: a bug in the service, said plainly rather than a panic.
fn unexpected(reply: Reply) -> ServiceError {
    ServiceError::Unexpected(format!("{reply:?}").chars().take(60).collect())
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
        Session { service, viewer }
    }

    /// Asks the service, at `at`.
    pub fn call(&self, request: Request, at: DateTime<Utc>) -> Result<Reply> {
        self.service.handle(&self.viewer, Call { at, request })
    }

    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    pub fn service(&self) -> &CaseService {
        &self.service
    }

    pub fn templates(&self) -> &'static Templates {
        self.service.templates()
    }

    pub fn calendar(&self) -> &WorkingCalendar {
        self.service.calendar()
    }

    /// The stream of changes this viewer may hear of, from now.
    pub fn subscribe(&self) -> Subscription {
        self.service.subscribe(self.viewer.clone(), None)
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
    pub fn act(&self, key: &AlertKey, command: &CaseCommand, now: DateTime<Utc>) -> Result<Vec<CaseEvent>> {
        let request = Request::Act { case: key.clone(), command: command.clone() };
        expect!(self.call(request, now)?, Reply::Decided(events) => events)
    }

    /// Stores a page (a copy of it: the poller hands its pages over with [`Session::ingest_page`]).
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

    pub fn audit_upgrade(&self, now: DateTime<Utc>) -> Result<AuditRecord> {
        expect!(self.call(Request::AuditUpgrade, now)?, Reply::AuditRecord(r) => r)
    }
}
