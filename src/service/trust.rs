//! The trust's lead's view of every school at once: one session per school behind one [`Session`], so the
//! TUI shows one queue with the school on each row.
//!
//! Two schools' feeds may number their alerts alike, so at this boundary, and only here, a case's key names
//! its school: its source is `SCHOOL/SOURCE` (a school's name holds no `/`). Each request goes to the school
//! its key names, with that school's own key, and every key in the answer comes back named. Each school's
//! service judges the trust's lead as it would on its own (student cases; decisions refused), and audits
//! what they read in that school's trail.

use chrono::{DateTime, Utc};

use super::api::{Event, EventKind, Reply, Request, StoreStatus};
use super::session::{Events, Gathered, GatheredEvents, Session};
use super::subjects::HistoryOf;
use super::{CaseDetail, CaseSummary, Result, ServiceError};
use crate::domain::AlertKey;
use crate::identity::Viewer;

/// What separates a school's name from the feed's source in a key the trust's view shows.
pub const SCHOOL_MARK: char = '/';

/// Each school's session, by the school's name, in the order the trust's config gives them.
pub struct Trust {
    schools: Vec<(String, Session)>,
}

/// A request the trust's view cannot put to every school at once (a school's feed, its trail, its
/// handover), said with the way to ask one school.
fn one_school_only(what: &str) -> ServiceError {
    ServiceError::Said(format!(
        "{what} is each school's own: start vigil with --school NAME to read one school's (the trust's view reads every school's queue and cases)"
    ))
}

/// The trust's lead's session with every school in `schools` at once: one queue, each key naming its school.
/// `None` without a school.
pub fn view(schools: Vec<(String, Session)>, viewer: Viewer) -> Option<Session> {
    if schools.is_empty() {
        return None;
    }
    Some(Session::gathered(std::sync::Arc::new(Trust { schools }), viewer))
}

impl Gathered for Trust {
    fn call(&self, request: Request, at: DateTime<Utc>) -> Result<Reply> {
        Trust::call(self, request, at)
    }

    fn subscribe(&self) -> Box<dyn GatheredEvents> {
        Box::new(TrustEvents {
            schools: self.schools.iter().map(|(name, s)| (name.clone(), Some(s.subscribe()))).collect(),
        })
    }

    fn schools(&self) -> Vec<String> {
        self.schools.iter().map(|(name, _)| name.clone()).collect()
    }

    fn first(&self) -> &Session {
        &self.schools[0].1
    }
}

impl Trust {
    /// The school a named key is of, its session, and the key as that school knows it.
    fn route(&self, key: &AlertKey) -> Result<(&str, &Session, AlertKey)> {
        let not_found = || ServiceError::NotFound(key.to_string());
        let (school, source) = key.source.split_once(SCHOOL_MARK).ok_or_else(not_found)?;
        let (name, session) = self.schools.iter().find(|(name, _)| name == school).ok_or_else(not_found)?;
        Ok((name, session, AlertKey::new(source, key.id.clone())))
    }

    /// Asks the school `case` names, with its own key in `request`, and names the keys of the answer.
    fn ask_school(
        &self,
        case: &AlertKey,
        request: impl FnOnce(AlertKey) -> Request,
        at: DateTime<Utc>,
    ) -> Result<Reply> {
        let (school, session, own) = self.route(case)?;
        Ok(name_reply(school, session.call(request(own), at)?))
    }

    /// Asks every school, naming the keys of each answer.
    fn ask_all(&self, request: &Request, at: DateTime<Utc>) -> Result<Vec<Reply>> {
        self.schools.iter().map(|(school, s)| Ok(name_reply(school, s.call(request.clone(), at)?))).collect()
    }

    /// Every school's answer of one kind (`pick` takes it out of the reply), as one list.
    fn gather<T>(
        &self,
        request: &Request,
        at: DateTime<Utc>,
        pick: impl Fn(Reply) -> Option<Vec<T>>,
    ) -> Result<Vec<T>> {
        let mut all = Vec::new();
        for reply in self.ask_all(request, at)? {
            all.extend(pick(reply).ok_or_else(|| {
                let kind: String = format!("{request:?}").chars().take(40).collect();
                ServiceError::Unexpected(format!("a school answered {kind} with another kind"))
            })?);
        }
        Ok(all)
    }

    fn call(&self, request: Request, at: DateTime<Utc>) -> Result<Reply> {
        use Request as R;
        match request {
            R::Queue { .. } => {
                let mut rows = self.gather(&request, at, |r| if let Reply::Rows(v) = r { Some(v) } else { None })?;
                // One queue, in the order each school's is in: the most urgent first, whichever school.
                rows.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
                Ok(Reply::Rows(rows))
            }
            R::Row { case } => self.ask_school(&case, |case| R::Row { case }, at),
            R::Open { case } => self.ask_school(&case, |case| R::Open { case }, at),
            R::MarkViewed { case } => self.ask_school(&case, |case| R::MarkViewed { case }, at),
            R::Detail { case } => self.ask_school(&case, |case| R::Detail { case }, at),
            R::Checklist { case } => self.ask_school(&case, |case| R::Checklist { case }, at),
            R::Records { case } => self.ask_school(&case, |case| R::Records { case }, at),
            R::RawMail { case } => self.ask_school(&case, |case| R::RawMail { case }, at),
            R::History { of: HistoryOf::Case(case) } => {
                self.ask_school(&case, |case| R::History { of: HistoryOf::Case(case) }, at)
            }
            R::History { of: HistoryOf::Subject { .. } } => Err(one_school_only("a student's history by their id")),
            R::Act { case, command, seen, token } => {
                self.ask_school(&case, |case| R::Act { case, command, seen, token }, at)
            }
            R::Screenshot { case, index } => self.ask_school(&case, |case| R::Screenshot { case, index }, at),
            R::CacheScreenshot { case, index, bytes } => {
                self.ask_school(&case, |case| R::CacheScreenshot { case, index, bytes }, at)
            }
            R::Audit { case: Some(case), what } => {
                self.ask_school(&case, |case| R::Audit { case: Some(case), what }, at)
            }
            R::Audit { case: None, .. } => self.ask_all(&request, at).map(|_| Reply::Done),
            R::Find { spec } => self.find(&spec, at),
            R::RaisedNotOpen => self
                .gather(&request, at, |r| if let Reply::RaisedNotOpen(v) = r { Some(v) } else { None })
                .map(Reply::RaisedNotOpen),
            R::WarmTrends => {
                self.gather(&request, at, |r| if let Reply::Trends(v) = r { Some(v) } else { None }).map(Reply::Trends)
            }
            R::ScreenshotsToPrefetch => self
                .gather(&request, at, |r| if let Reply::Prefetch(v) = r { Some(v) } else { None })
                .map(Reply::Prefetch),
            R::StoreStatus { .. } => {
                let mut all = StoreStatus { alerts: None, rejected: 0, disk_low: false };
                for reply in self.ask_all(&request, at)? {
                    match reply {
                        Reply::StoreStatus(s) => {
                            all.alerts = match (all.alerts, s.alerts) {
                                (None, n) | (n, None) => n,
                                (Some(a), Some(b)) => Some(a + b),
                            };
                            all.rejected += s.rejected;
                            all.disk_low |= s.disk_low;
                        }
                        other => return Err(unexpected(&other)),
                    }
                }
                Ok(Reply::StoreStatus(all))
            }
            R::Team => {
                let mut all = self.gather(&request, at, |r| if let Reply::Team(v) = r { Some(v) } else { None })?;
                // The same person on several schools' teams is one member of the trust's view.
                let mut seen = std::collections::BTreeSet::new();
                all.retain(|m| seen.insert(m.user.clone()));
                Ok(Reply::Team(all))
            }
            R::SinceLastLook => {
                let mut all: Option<super::handover::LookBack> = None;
                for reply in self.ask_all(&request, at)? {
                    match reply {
                        Reply::LookBack(None) => {}
                        Reply::LookBack(Some(one)) => all = Some(merge_look_back(all, one)),
                        other => return Err(unexpected(&other)),
                    }
                }
                Ok(Reply::LookBack(all))
            }
            R::SyncState | R::FeedStatus | R::Feed { .. } | R::SkipPage { .. } | R::Ingest { .. } => {
                Err(one_school_only("the feed"))
            }
            R::Rejected => Err(one_school_only("the list of rejected alerts")),
            R::ImportMail { .. } | R::ImportMailbox { .. } | R::MailboxMark { .. } => {
                Err(one_school_only("the vendor's mail"))
            }
            R::AddAlert { .. } => Err(one_school_only("an alert taken by phone")),
            R::PurgeExpired { .. } => Err(one_school_only("retention")),
            R::ReportData { .. } => Err(one_school_only("a report's data (`vigil report` counts every school)")),
            R::AuditRecords { .. } | R::AuditVerify { .. } | R::AuditUpgrade => Err(one_school_only("the audit trail")),
            R::Handover { .. } | R::HandoverNote { .. } | R::HandoverAck { .. } => Err(one_school_only("the handover")),
        }
    }

    /// `ID`, `SOURCE:ID` or `SCHOOL/SOURCE:ID` to the one case it names in any school.
    fn find(&self, spec: &str, at: DateTime<Utc>) -> Result<Reply> {
        let request = |spec: &str| Request::Find { spec: spec.to_string() };
        if let Some((school, rest)) = spec.split_once(SCHOOL_MARK)
            && let Some((name, session)) = self.schools.iter().find(|(name, _)| name == school)
        {
            return Ok(name_reply(name, session.call(request(rest), at)?));
        }
        let mut found: Vec<AlertKey> = Vec::new();
        let mut candidates: Vec<String> = Vec::new();
        for (school, session) in &self.schools {
            match session.call(request(spec), at) {
                Ok(Reply::Key(mut key)) => {
                    name_key(school, &mut key);
                    candidates.push(key.to_string());
                    found.push(key);
                }
                Ok(other) => return Err(unexpected(&other)),
                Err(ServiceError::NotFound(_)) => {}
                // Ambiguous within one school: its candidates, named, with the other schools'.
                Err(ServiceError::Ambiguous { candidates: theirs, .. }) => {
                    candidates.extend(theirs.into_iter().map(|c| format!("{school}{SCHOOL_MARK}{c}")));
                }
                Err(e) => return Err(e),
            }
        }
        match (found.len(), candidates.len()) {
            (0, 0) => Err(ServiceError::NotFound(spec.to_string())),
            (1, 1) => Ok(Reply::Key(found.remove(0))),
            _ => Err(ServiceError::Ambiguous { given: spec.to_string(), candidates }),
        }
    }
}

fn unexpected(reply: &Reply) -> ServiceError {
    ServiceError::Unexpected(format!("{reply:?}").chars().take(60).collect())
}

fn merge_look_back(
    all: Option<super::handover::LookBack>,
    one: super::handover::LookBack,
) -> super::handover::LookBack {
    let Some(mut all) = all else { return one };
    all.since = all.since.min(one.since);
    all.new_alerts += one.new_alerts;
    all.new_high += one.new_high;
    for (who, n) in one.closed {
        match all.closed.iter_mut().find(|(w, _)| *w == who) {
            Some((_, m)) => *m += n,
            None => all.closed.push((who, n)),
        }
    }
    all.closed.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all
}

/// A school's key as the trust's view names it.
pub fn name_key(school: &str, key: &mut AlertKey) {
    name_source(school, &mut key.source);
}

fn name_source(school: &str, source: &mut String) {
    *source = format!("{school}{SCHOOL_MARK}{source}");
}

/// A school's row as the trust's view shows it: its key named, the school on it, and found by the school's
/// name in the queue's search.
fn name_row(school: &str, row: &mut CaseSummary) {
    name_key(school, &mut row.key);
    row.source = row.key.source.clone();
    row.search.push('\n');
    row.search.push_str(&school.to_lowercase());
    row.school = Some(school.to_string());
}

fn name_detail(school: &str, d: &mut CaseDetail) {
    name_row(school, &mut d.summary);
    name_key(school, &mut d.alert.key);
    name_case(school, &mut d.case);
    name_events(school, &mut d.events);
    for link in &mut d.links {
        name_key(school, &mut link.key);
    }
    for proposal in &mut d.vendor_proposals {
        name_key(school, &mut proposal.other);
    }
    for record in &mut d.vendor_records {
        name_key(school, &mut record.alert.key);
        name_events(school, &mut record.events);
    }
}

/// A case's fold: its own key and every case it names.
fn name_case(school: &str, case: &mut crate::domain::case::Case) {
    name_key(school, &mut case.key);
    for set in [&mut case.links, &mut case.vendor_records, &mut case.declined_vendor] {
        *set = std::mem::take(set)
            .into_iter()
            .map(|mut k| {
                name_key(school, &mut k);
                k
            })
            .collect();
    }
    if let Some(to) = &mut case.attached_to {
        name_key(school, to);
    }
}

/// The cases a log's events name (a link, a vendor's record attached or declined).
fn name_events(school: &str, events: &mut [crate::domain::CaseEvent]) {
    use crate::domain::EventKind as K;
    for event in events {
        match &mut event.kind {
            K::Linked { other }
            | K::Unlinked { other, .. }
            | K::VendorRecordAttached { other }
            | K::VendorRecordDeclined { other, .. } => name_key(school, other),
            K::AttachedTo { case } => name_key(school, case),
            _ => {}
        }
    }
}

/// What the dashboard matches a row by against [`Request::RaisedNotOpen`]'s hashes: [`super::key_hash`] of the
/// key as its school knows it, mixed with the school in the trust's view (as [`Trust`] mixes the school's
/// hashes), so two schools' alike keys are two cases there too.
pub fn row_hash(row: &CaseSummary) -> u64 {
    let Some(school) = &row.school else { return super::key_hash(&row.key) };
    let own = row.key.source.strip_prefix(school.as_str()).and_then(|s| s.strip_prefix(SCHOOL_MARK));
    let own = AlertKey::new(own.unwrap_or(&row.key.source), row.key.id.clone());
    mix_hash(school, super::key_hash(&own))
}

fn mix_hash(school: &str, hash: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (school, hash).hash(&mut h);
    h.finish()
}

/// Every key in a school's answer, named.
fn name_reply(school: &str, mut reply: Reply) -> Reply {
    match &mut reply {
        Reply::Rows(rows) => rows.iter_mut().for_each(|r| name_row(school, r)),
        Reply::Row(Some(row)) => name_row(school, row),
        Reply::Key(key) => name_key(school, key),
        Reply::Detail(d) => name_detail(school, d),
        Reply::History(h) => h.cases.iter_mut().for_each(|c| name_key(school, &mut c.key)),
        Reply::Trends(trends) => trends.iter_mut().for_each(|t| name_source(school, &mut t.source)),
        Reply::Prefetch(shots) => shots.iter_mut().for_each(|(k, _)| name_key(school, k)),
        Reply::Added(added) => name_key(school, &mut added.key),
        Reply::Decided(events) => name_events(school, events),
        Reply::RaisedNotOpen(briefs) => briefs.iter_mut().for_each(|(_, _, h)| *h = mix_hash(school, *h)),
        _ => {}
    }
    reply
}

/// Every school's stream of changes as one, each change's keys named.
struct TrustEvents {
    /// `None` once a school's stream has ended.
    schools: Vec<(String, Option<Events>)>,
}

impl GatheredEvents for TrustEvents {
    fn changed(&mut self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + '_>> {
        Box::pin(self.any_changed())
    }

    /// Every school's events since the last read. Each keeps its school's number: a number is compared only
    /// with what the same school said (a case's detail is as of its own school's changes).
    fn read(&mut self, now: DateTime<Utc>) -> Result<Vec<Event>> {
        let mut all = Vec::new();
        for (school, events) in &mut self.schools {
            let Some(events) = events else { continue };
            let read = match events.read(now) {
                Ok(read) => read,
                Err(e) => {
                    // What the other schools said is kept; this school's rows are read again with the queue.
                    tracing::warn!(error = %e, "a school's changes could not be read: reading its queue again");
                    all.push(Event { seq: 0, kind: EventKind::Reload });
                    continue;
                }
            };
            for mut event in read {
                match &mut event.kind {
                    EventKind::CaseChanged { case, row } => {
                        name_key(school, case);
                        name_row(school, row);
                    }
                    EventKind::CaseRemoved { case } | EventKind::Escalated { case, .. } => name_key(school, case),
                    EventKind::Arrived { .. } | EventKind::Rejected { .. } | EventKind::Feed | EventKind::Reload => {}
                }
                all.push(event);
            }
        }
        Ok(all)
    }

    fn position(&self) -> u64 {
        self.schools.iter().filter_map(|(_, e)| e.as_ref()).map(Events::position).sum()
    }
}

impl TrustEvents {
    /// Waits until any school has something to read; `false` once no school ever will.
    async fn any_changed(&mut self) -> bool {
        loop {
            let waiting: Vec<_> = self
                .schools
                .iter_mut()
                .enumerate()
                .filter_map(|(i, (_, e))| e.as_mut().map(|e| Box::pin(async move { (i, e.changed().await) })))
                .collect();
            if waiting.is_empty() {
                return false;
            }
            let ((i, more), _, _) = futures_util::future::select_all(waiting).await;
            if more {
                return true;
            }
            self.schools[i].1 = None;
        }
    }
}
