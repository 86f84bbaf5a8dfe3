//! The one place a request becomes an answer: [`CaseService::handle`].

use super::api::{Call, Reply, Request, Scope, StoreStatus};
use super::events::Subscription;
use super::{Asking, CaseService, Result};
use crate::identity::Viewer;

impl CaseService {
    /// Answers `call` for `viewer`. Every surface's every request comes through here, in this process or
    /// from the shared service's socket.
    pub fn handle(&self, viewer: &Viewer, call: Call) -> Result<Reply> {
        let asking = self.asking(viewer);
        let now = call.at;
        Ok(match call.request {
            Request::Queue { scope } => {
                let _reading = self.reading_queue();
                Reply::Rows(match scope {
                    Scope::Open => asking.queue_open(now)?,
                    Scope::Closed => asking.queue_closed(now)?,
                    Scope::All => asking.queue(now)?,
                })
            }
            Request::Row { case } => Reply::Row(asking.summary(&case, now)?),
            Request::RaisedNotOpen => Reply::RaisedNotOpen(asking.raised_not_open()?),
            Request::Find { spec } => Reply::Key(asking.find(&spec)?),
            Request::Open { case } => {
                asking.mark_viewed(&case, now)?;
                Reply::Detail(Box::new(asking.detail(&case, now)?))
            }
            Request::History { of } => Reply::History(Box::new(asking.history(&of, now)?)),
            Request::WarmTrends => Reply::Trends(asking.warm_trends(now)?),
            Request::MarkViewed { case } => {
                asking.mark_viewed(&case, now)?;
                Reply::Done
            }
            Request::Detail { case } => Reply::Detail(Box::new(asking.detail(&case, now)?)),
            Request::Checklist { case } => Reply::Checklist(asking.checklist(&case, now)?),
            Request::Records { case } => Reply::Records(asking.records(&case, now)?),
            Request::Act { case, command, seen, token } => {
                Reply::Decided(asking.decide(&case, &command, seen, token, now)?)
            }
            Request::Ingest { page } => Reply::Ingested(asking.ingest(&page, now)?),
            Request::ImportMail { messages } => Reply::MailImported(asking.import_mail(&messages, now)?),
            Request::RawMail { case } => Reply::RawMail(asking.raw_mail(&case, now)?),
            Request::MailboxMark { mailbox } => Reply::MailboxMark(asking.mailbox_mark(&mailbox)?),
            Request::ImportMailbox { mailbox, mark, messages } => {
                Reply::MailImported(asking.import_mailbox(&mailbox, mark, &messages, now)?)
            }
            Request::Feed { change } => Reply::FeedState(asking.change_feed(change, now)?),
            Request::SkipPage { to } => Reply::Skipped { sha256: asking.skip_page(to.as_deref(), now)? },
            Request::SyncState => Reply::FeedState(asking.sync_state()?),
            Request::FeedStatus => {
                let (state, staff_dropped) = asking.feed_status()?;
                Reply::FeedStatus { state, staff_dropped }
            }
            Request::Rejected => Reply::Rejected(asking.rejected(now)?),
            Request::StoreStatus { count_alerts } => Reply::StoreStatus(asking.store_status(count_alerts, now)?),
            Request::PurgeExpired { months } => Reply::Purged(asking.purge_expired(months, now)?),
            Request::ReportData { include_staff } => Reply::ReportData(Box::new(asking.report_data(include_staff)?)),
            Request::Screenshot { case, index } => Reply::Shot(asking.screenshot(&case, index)?),
            Request::CacheScreenshot { case, index, bytes } => {
                asking.cache_screenshot(&case, index, &bytes)?;
                Reply::Done
            }
            Request::ScreenshotsToPrefetch => Reply::Prefetch(asking.screenshots_to_prefetch(now)?),
            Request::Audit { case, what } => {
                asking.audit(case.as_ref(), &what, now)?;
                Reply::Done
            }
            Request::AuditRecords { case } => Reply::AuditRecords(asking.audit_records(case.as_deref())?),
            Request::AuditVerify { expect } => Reply::Verdict(asking.audit_verify_against(expect.as_ref())?),
            Request::AuditUpgrade => Reply::AuditRecord(asking.audit_upgrade(now)?),
            Request::AddAlert { form } => Reply::Added(asking.add_alert(&form, now)?),
            Request::Team => {
                asking.require_reviewer()?;
                let team = &asking.team;
                Reply::Team(
                    team.reviewers()
                        .into_iter()
                        .map(|v| super::api::Member { display: team.display(&v.user), user: v.user, role: v.role })
                        .collect(),
                )
            }
            Request::Handover { since } => Reply::Handover(Box::new(asking.handover(since, now)?)),
            Request::HandoverNote { text } => Reply::NoteWritten(asking.handover_note(&text, now)?),
            Request::HandoverAck { until, up_to_note } => {
                Reply::Acknowledged(asking.acknowledge_handover(until, up_to_note, now)?)
            }
            Request::SinceLastLook => Reply::LookBack(asking.since_last_look(now)?),
        })
    }

    /// A subscription to the numbered stream of changes for `viewer`, from after change `after` (a client
    /// that reconnects) or from now.
    pub fn subscribe(&self, viewer: Viewer, after: Option<u64>) -> Subscription {
        // Subscribed first: what other services announce from here on is published after this point.
        let subscription = Subscription::new(self.clone(), viewer, after);
        self.follow_peers();
        subscription
    }
}

impl Asking<'_> {
    /// Counts and the disk: nothing that names anyone, so any role may ask. A count is of what this viewer
    /// may see: a store shared with the DSL holds staff alerts, and not even their number reaches anyone
    /// else (a reporter is given no count of alerts).
    fn store_status(&self, count_alerts: bool, now: chrono::DateTime<chrono::Utc>) -> Result<StoreStatus> {
        let alerts = match (count_alerts, self.viewer.sees_staff, self.viewer.can_review()) {
            (false, _, _) | (true, false, false) => None,
            (true, true, _) => Some(self.store.alert_count()?),
            (true, false, true) => Some(self.queue(now)?.len()),
        };
        Ok(StoreStatus {
            alerts,
            rejected: if self.viewer.can_review() { self.rejected_count()? } else { 0 },
            disk_low: self.store.disk_low(),
        })
    }
}
