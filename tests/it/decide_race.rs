//! A decision is judged against the case as it stands when its events are written, not as it was read.
//!
//! The service reaches its store through the `CaseStore` trait, so these tests put a store in between that
//! lets something else land on the case at the worst moment: after the close has been judged, before it is
//! written. A feed revision that makes the case High (which owes more before it may close), and the
//! deputy's untick of a required item, each race a close; the close must be judged again and refused. With
//! nothing landing in between, the same close passes (so the tests can fail).

use std::sync::{Arc, Mutex};

use crate::backend_support::{Backend, both_backends};
use crate::common::{dsl, fixed_now, tick_all_required};

use chrono::{DateTime, Utc};
use vigil::audit::{AuditRecord, Entry};
use vigil::domain::case::CaseCommand;
use vigil::domain::{Alert, AlertKey, CaseEvent, Level};
use vigil::feed::protocol::{Rejected, parse_page};
use vigil::identity::{Role, Viewer};
use vigil::service::{CaseService, ServiceError, Session};
use vigil::store::backend::{CaseStore, IndexScan};
use vigil::store::{FeedState, HandoverAck, HandoverNote, Incoming, IndexEntry, IngestReport, Quarantined, Result};

type Landing = Box<dyn FnOnce() + Send>;

/// The real store, and something to run just before the next decision is appended.
struct Racing {
    inner: Arc<dyn CaseStore>,
    before_append: Mutex<Option<Landing>>,
}

impl Racing {
    fn land(&self) {
        let landing = self.before_append.lock().expect("lock").take();
        if let Some(landing) = landing {
            landing();
        }
    }
}

/// Every call goes to the real store; a decision's append lets the landing happen first.
impl CaseStore for Racing {
    fn append_decision_at(&self, key: &AlertKey, expected: u64, events: &[(CaseEvent, Entry)]) -> Result<()> {
        self.land();
        self.inner.append_decision_at(key, expected, events)
    }
    fn alert(&self, key: &AlertKey) -> Result<Option<Alert>> {
        CaseStore::alert(&*self.inner, key)
    }
    fn events(&self, key: &AlertKey) -> Result<Vec<CaseEvent>> {
        CaseStore::events(&*self.inner, key)
    }
    fn case_events_len(&self, key: &AlertKey) -> Result<u64> {
        CaseStore::case_events_len(&*self.inner, key)
    }
    fn index_entry(&self, key: &AlertKey) -> Result<Option<IndexEntry>> {
        CaseStore::index_entry(&*self.inner, key)
    }
    fn scan_index(&self, which: IndexScan) -> Result<Vec<IndexEntry>> {
        self.inner.scan_index(which)
    }
    fn visit_index(&self, which: IndexScan, visit: &(dyn Fn(IndexEntry) + Sync)) -> Result<()> {
        self.inner.visit_index(which, visit)
    }
    fn settled_cases(&self) -> Result<Vec<(AlertKey, DateTime<Utc>)>> {
        CaseStore::settled_cases(&*self.inner)
    }
    fn settled_since(&self) -> Result<Option<DateTime<Utc>>> {
        CaseStore::settled_since(&*self.inner)
    }
    fn set_settled_since(&self, seen: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Result<()> {
        CaseStore::set_settled_since(&*self.inner, seen, at)
    }
    fn ingest_page(
        &self,
        incoming: &[Incoming<'_>],
        rejected: &[Rejected],
        staff_dropped: usize,
        cursor: Option<&str>,
        template_version: u32,
        now: DateTime<Utc>,
    ) -> Result<IngestReport> {
        CaseStore::ingest_page(&*self.inner, incoming, rejected, staff_dropped, cursor, template_version, now)
    }
    fn append_audited(&self, key: &AlertKey, event: &CaseEvent, entry: &Entry) -> Result<()> {
        CaseStore::append_audited(&*self.inner, key, event, entry)
    }
    fn append(&self, key: &AlertKey, event: &CaseEvent) -> Result<()> {
        CaseStore::append(&*self.inner, key, event)
    }
    fn alerts(&self) -> Box<dyn Iterator<Item = Result<Alert>> + '_> {
        CaseStore::alerts(&*self.inner)
    }
    fn all_events(&self) -> Box<dyn Iterator<Item = Result<(AlertKey, CaseEvent)>> + '_> {
        CaseStore::all_events(&*self.inner)
    }
    fn audit_append(&self, entry: &Entry) -> Result<AuditRecord> {
        CaseStore::audit_append(&*self.inner, entry)
    }
    fn purge_case(&self, key: &AlertKey, tombstone: &Entry) -> Result<()> {
        CaseStore::purge_case(&*self.inner, key, tombstone)
    }
    fn feed_state(&self) -> Result<FeedState> {
        CaseStore::feed_state(&*self.inner)
    }
    fn update_feed_state(&self, f: &dyn Fn(&mut FeedState)) -> Result<FeedState> {
        CaseStore::update_feed_state(&*self.inner, f)
    }
    fn replace_feed_state(&self, state: &FeedState) -> Result<()> {
        CaseStore::replace_feed_state(&*self.inner, state)
    }
    fn quarantined(&self) -> Result<Vec<Quarantined>> {
        CaseStore::quarantined(&*self.inner)
    }
    fn quarantine_count(&self) -> vigil::store::Result<usize> {
        CaseStore::quarantine_count(&*self.inner)
    }
    fn purge_quarantined(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize> {
        CaseStore::purge_quarantined(&*self.inner, expired, tombstone)
    }
    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        CaseStore::blob(&*self.inner, name)
    }
    fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        CaseStore::put_blob(&*self.inner, name, bytes)
    }
    fn remove_blob(&self, name: &str) -> Result<()> {
        CaseStore::remove_blob(&*self.inner, name)
    }
    fn has_cached_blob(&self, name: &str) -> Result<bool> {
        CaseStore::has_cached_blob(&*self.inner, name)
    }
    fn cached_blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        CaseStore::cached_blob(&*self.inner, name)
    }
    fn cached_blob_bytes(&self) -> Result<u64> {
        CaseStore::cached_blob_bytes(&*self.inner)
    }
    fn cache_blob(&self, name: &str, bytes: &[u8], cap: u64) -> Result<()> {
        CaseStore::cache_blob(&*self.inner, name, bytes, cap)
    }
    fn cached_blob_names(&self) -> Result<Vec<String>> {
        CaseStore::cached_blob_names(&*self.inner)
    }
    fn uncache_blob(&self, name: &str) -> Result<()> {
        CaseStore::uncache_blob(&*self.inner, name)
    }
    fn alert_count(&self) -> vigil::store::Result<usize> {
        CaseStore::alert_count(&*self.inner)
    }
    fn add_handover_note(&self, at: DateTime<Utc>, author: &str, text: &str, entry: &Entry) -> Result<HandoverNote> {
        CaseStore::add_handover_note(&*self.inner, at, author, text, entry)
    }
    fn handover_notes(&self, since: DateTime<Utc>) -> Result<Vec<HandoverNote>> {
        CaseStore::handover_notes(&*self.inner, since)
    }
    fn purge_handover_notes(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize> {
        CaseStore::purge_handover_notes(&*self.inner, expired, tombstone)
    }
    fn acknowledge_handover(&self, ack: &HandoverAck, entry: &Entry) -> Result<()> {
        CaseStore::acknowledge_handover(&*self.inner, ack, entry)
    }
    fn handover_ack(&self, user: &str) -> Result<Option<HandoverAck>> {
        CaseStore::handover_ack(&*self.inner, user)
    }
    fn last_look(&self, user: &str) -> Result<Option<DateTime<Utc>>> {
        CaseStore::last_look(&*self.inner, user)
    }
    fn set_last_look(&self, user: &str, at: DateTime<Utc>) -> Result<()> {
        CaseStore::set_last_look(&*self.inner, user, at)
    }
    fn mailbox_mark(&self, mailbox: &str) -> Result<Option<vigil::store::MailboxMark>> {
        CaseStore::mailbox_mark(&*self.inner, mailbox)
    }
    fn set_mailbox_mark(&self, mailbox: &str, mark: &vigil::store::MailboxMark) -> Result<()> {
        CaseStore::set_mailbox_mark(&*self.inner, mailbox, mark)
    }
    fn disk_low(&self) -> bool {
        CaseStore::disk_low(&*self.inner)
    }
    fn flush(&self) -> Result<()> {
        CaseStore::flush(&*self.inner)
    }
    fn path(&self) -> &std::path::Path {
        CaseStore::path(&*self.inner)
    }
}

fn alert(id: &str, revision: u32, risk: u8) -> String {
    format!(
        r#"{{"id":"{id}","source":"sm","revision":{revision},"raised_at":"2026-11-16T09:00:00+00:00","risk":{risk},
            "category":"bullying","subject":{{"kind":"student","id":"S1"}},"summary":"s"}}"#
    )
}

fn page(alerts: &[String]) -> vigil::feed::protocol::Page {
    let body = format!(r#"{{"feed":"vigil.alert-feed/1","alerts":[{}],"cursor":"c","more":false}}"#, alerts.join(","));
    parse_page(body.as_bytes()).expect("page")
}

/// The DSL's session through the racing store, the deputy's session as another service on the same data (on
/// PostgreSQL, its own connection: a second service on the database), and the racing store itself.
fn sessions(backend: Backend, tmp: &tempfile::TempDir) -> (Session, Session, Arc<Racing>) {
    let opened = backend.open(&tmp.path().join("data"));
    let c = vigil::config::Config::default();
    let policy = || vigil::service::Policy::from_config(&c);
    let racing = Arc::new(Racing { inner: opened.store.clone(), before_append: Mutex::new(None) });
    let service = CaseService::with_store(racing.clone(), opened.trail.clone(), policy());
    let other = opened.another();
    let deputy = Viewer { user: "deputy".into(), role: Role::Ddsl, sees_staff: true };
    let other = Session::new(CaseService::with_store(other.store, other.trail, policy()), deputy);
    (Session::new(service, dsl()), other, racing)
}

fn close() -> CaseCommand {
    CaseCommand::Close { outcome: "false-positive".into() }
}

/// The close was judged again and refused for what it owes, the refusal naming who changed the case in
/// between (`by`): the reviewer is told why, not just that.
fn refused_for_missing_items(result: std::result::Result<Vec<CaseEvent>, ServiceError>, by: &str) {
    match result {
        Err(ServiceError::Overtaken(o)) => {
            let text = o.rule.to_string();
            assert!(text.contains("required") || text.contains("still"), "refused for what it owes: {text}");
            assert_eq!(o.by, by, "names who changed the case: {o}");
            assert!(o.to_string().starts_with(by), "{o}");
        }
        other => panic!("the close must be judged again and refused, got {other:?}"),
    }
}

both_backends!(
    with_nothing_in_between_the_close_passes,
    a_revision_landing_between_judging_and_writing_a_close_makes_it_be_judged_again,
    a_tick_undone_between_judging_and_writing_a_close_makes_it_be_judged_again,
    a_decision_made_on_what_the_screen_showed_is_refused_naming_who_decided_first,
);

fn with_nothing_in_between_the_close_passes(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dsl, _, _) = sessions(backend, &tmp);
    dsl.ingest(&page(&[alert("R-1", 1, 3)]), fixed_now()).expect("ingest");
    let key = AlertKey::new("sm", "R-1");
    tick_all_required(&dsl, &key);
    dsl.act(&key, &close(), fixed_now()).expect("closes");
    assert!(!dsl.summary(&key, fixed_now()).expect("row").expect("visible").open);
}

fn a_revision_landing_between_judging_and_writing_a_close_makes_it_be_judged_again(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dsl, feed, racing) = sessions(backend, &tmp);
    dsl.ingest(&page(&[alert("R-1", 1, 3)]), fixed_now()).expect("ingest");
    let key = AlertKey::new("sm", "R-1");
    tick_all_required(&dsl, &key);
    // Judged as Medium with every item done; before it is written, the vendor's revision makes it High.
    *racing.before_append.lock().expect("lock") = Some(Box::new(move || {
        feed.ingest(&page(&[alert("R-1", 2, 5)]), fixed_now()).expect("the revision lands");
    }));
    refused_for_missing_items(dsl.act(&key, &close(), fixed_now()), "feed");
    let row = dsl.summary(&key, fixed_now()).expect("row").expect("visible");
    assert!(row.open, "still open");
    assert_eq!(row.level, Level::High, "the revision stands");
    let detail = dsl.detail(&key, fixed_now()).expect("detail");
    assert!(
        !detail.events.iter().any(|e| matches!(e.kind, vigil::domain::EventKind::Closed { .. })),
        "no close in the log"
    );
}

fn a_tick_undone_between_judging_and_writing_a_close_makes_it_be_judged_again(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dsl, deputy, racing) = sessions(backend, &tmp);
    dsl.ingest(&page(&[alert("T-1", 1, 3)]), fixed_now()).expect("ingest");
    let key = AlertKey::new("sm", "T-1");
    tick_all_required(&dsl, &key);
    let detail = dsl.detail(&key, fixed_now()).expect("detail");
    let required = detail.checklist.iter().find(|i| i.required && i.done).expect("a required item done").id.clone();
    let untick_key = key.clone();
    *racing.before_append.lock().expect("lock") = Some(Box::new(move || {
        let untick = CaseCommand::Untick { item: required, reason: "not done after all".into() };
        deputy.act(&untick_key, &untick, fixed_now()).expect("the deputy's untick lands");
    }));
    refused_for_missing_items(dsl.act(&key, &close(), fixed_now()), "deputy");
    assert!(dsl.summary(&key, fixed_now()).expect("row").expect("visible").open, "still open");
}

fn a_decision_made_on_what_the_screen_showed_is_refused_naming_who_decided_first(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dsl, deputy, _) = sessions(backend, &tmp);
    dsl.ingest(&page(&[alert("S-1", 1, 3)]), fixed_now()).expect("ingest");
    let key = AlertKey::new("sm", "S-1");
    tick_all_required(&dsl, &key);
    // The DSL's screen shows the case open; the deputy closes it; the DSL, still looking at the open case,
    // closes it too.
    let seen = dsl.detail(&key, fixed_now()).expect("detail").events.len();
    deputy.act(&key, &close(), fixed_now()).expect("the deputy closes first");
    match dsl.act_seen(&key, &close(), Some(seen), fixed_now()) {
        Err(ServiceError::Overtaken(o)) => {
            assert_eq!(o.by, "deputy");
            assert!(o.what.contains("closed"), "says what the deputy did: {o}");
        }
        other => panic!("refused naming the deputy, got {other:?}"),
    }
    let closes = dsl
        .detail(&key, fixed_now())
        .expect("detail")
        .events
        .iter()
        .filter(|e| matches!(e.kind, vigil::domain::EventKind::Closed { .. }))
        .count();
    assert_eq!(closes, 1, "one close, the deputy's");
}
