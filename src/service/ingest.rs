//! A page from the feed into the store, graded, with what this store may not hold left out.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::events::Change;
use super::redaction::redact_alert;
use super::{Asking, Result};
use crate::audit;
use crate::domain::{Alert, AlertKey};
use crate::feed::protocol::Page;
use crate::feed::staff::may_be_staff;
use crate::store::{Incoming, IngestReport};

impl Asking<'_> {
    /// Grades and stores a page. Staff alerts never enter the store of a user who may not see them: only
    /// their count is kept. An alert stored earlier that a later revision makes a staff alert is purged
    /// from that user's store, leaving a content-free tombstone in the audit trail.
    ///
    /// A `reporter` may read nothing but figures, so their store keeps nothing else: their alerts are
    /// stored already redacted (as [`CaseService::report_data`] would return them) and rejected alerts,
    /// whose raw JSON is content, are not kept at all.
    pub fn ingest(&self, page: &Page, now: DateTime<Utc>) -> Result<IngestReport> {
        let mut staff_dropped = 0;
        // The highest revision of each staff alert dropped here: an earlier revision of it is staff now too.
        let mut staff_top: HashMap<&AlertKey, u32> = HashMap::new();
        for a in page.alerts.iter().filter(|a| !self.viewer.sees_staff && a.is_staff()) {
            staff_dropped += 1;
            let top = staff_top.entry(&a.key).or_insert(a.revision);
            *top = (*top).max(a.revision);
        }
        let superseded = |a: &Alert| staff_top.get(&a.key).is_some_and(|&staff| staff >= a.revision);
        let kept: Vec<(&Alert, crate::domain::levels::Grading)> = page
            .alerts
            .iter()
            .filter(|a| (self.viewer.sees_staff || !a.is_staff()) && !superseded(a))
            .map(|alert| (alert, self.levels.grade(alert)))
            .collect();
        // A case stored from an earlier revision that was not about staff goes, before the page is stored
        // (so a crash in between cannot leave it behind a cursor that has moved on), unless this page also
        // brings a later revision that is not about staff either.
        for (key, revision) in &staff_top {
            if kept.iter().any(|(a, _)| &&a.key == key) {
                continue;
            }
            if self.store.alert(key)?.is_some_and(|old| old.revision < *revision) {
                self.purge(key, &audit::Entry::new(now, "feed", Some(key), "removed: no longer visible to this role"))?;
            }
        }
        let reporter = !self.viewer.can_review();
        let redacted: Vec<Alert> =
            if reporter { kept.iter().map(|(a, _)| redact_alert((*a).clone())).collect() } else { Vec::new() };
        let incoming: Vec<Incoming<'_>> = kept
            .iter()
            .enumerate()
            .map(|(i, (alert, grading))| Incoming {
                alert: redacted.get(i).unwrap_or(alert),
                grading: *grading,
                raised_by: "feed",
            })
            .collect();
        let rejected: Vec<_> = page
            .rejected
            .iter()
            // A rejected alert that may be about staff is still staff content.
            .filter(|r| !reporter && (self.viewer.sees_staff || !may_be_staff(&r.raw)))
            .cloned()
            .collect();
        let report = self.store.ingest_page(
            &incoming,
            &rejected,
            staff_dropped,
            page.cursor.as_deref(),
            self.templates.version(),
            now,
        )?;
        self.subjects.stored(incoming.iter().map(|inc| inc.alert));
        // Every case the page brought, stored or not (a replay changes nothing; a subscriber reads the row
        // again, which costs one index read): a subscriber further behind than the bus keeps reloads instead.
        let mut changes: Vec<Change> = incoming
            .iter()
            .map(|inc| Change::Case { key: inc.alert.key.clone(), staff: inc.alert.is_staff() })
            .collect();
        if report.new > 0 || report.new_high > 0 {
            changes.push(Change::Arrived {
                new: report.new,
                high_new: report.new_high,
                staff_new: report.staff_new,
                staff_high_new: report.staff_new_high,
            });
        }
        if report.quarantined > 0 {
            let staff_only = rejected.iter().all(|r| may_be_staff(&r.raw));
            changes.push(Change::Rejected { staff_only });
        }
        self.publish(changes);
        Ok(report)
    }
}
