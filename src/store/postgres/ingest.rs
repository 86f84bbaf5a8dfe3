//! A feed page into PostgreSQL in one transaction: new cases, revisions, the quarantined alerts and the
//! cursor, by the same rules as sled's ([`crate::store::ingest`]). Idempotent by (`source`, `id`,
//! `revision`): each alert's row is locked while its revision is compared, and a page that meets a row
//! another writer inserted first (two services, one feed) runs again and finds it stored.

use chrono::{DateTime, Utc};

use super::PgStore;
use super::cases::{count_events, lower_settled_since};
use crate::domain::{Alert, Case, CaseEvent};
use crate::feed::protocol::Rejected;
use crate::store::codec::{decode, encode};
use crate::store::feed_state::{FeedState, Quarantined};
use crate::store::index::IndexEntry;
use crate::store::ingest::{Revision, first_kinds};
use crate::store::keys::{ALERTS, QUARANTINE, case_key, quarantine_key};
use crate::store::{Incoming, IngestReport, Result};

impl PgStore {
    pub(super) fn ingest_page(
        &self,
        incoming: &[Incoming<'_>],
        rejected: &[Rejected],
        staff_dropped: usize,
        cursor: Option<&str>,
        template_version: u32,
        now: DateTime<Utc>,
    ) -> Result<IngestReport> {
        let school = self.school();
        self.transact(true, |tx| {
            if incoming.iter().any(|inc| inc.alert.withdrawn) {
                lower_settled_since(tx, school, now)?;
            }
            let mut report = IngestReport { staff_dropped, ..IngestReport::default() };
            for inc in incoming {
                let alert = inc.alert;
                let ck = case_key(&alert.key);
                let stored = tx.query_opt(
                    "SELECT sealed FROM alerts WHERE school = $1 AND case_key = $2 FOR UPDATE",
                    &[&school, &ck],
                )?;
                let old: Option<Alert> = stored.map(|r| self.unseal("alert", ALERTS, &ck, r.get(0))).transpose()?;
                match old {
                    None => {
                        let sealed = self.seal(ALERTS, &ck, alert)?;
                        tx.execute(
                            "INSERT INTO alerts (school, case_key, sealed) VALUES ($1, $2, $3)",
                            &[&school, &ck, &sealed],
                        )?;
                        let events: Vec<CaseEvent> = first_kinds(inc, template_version)
                            .into_iter()
                            .map(|kind| CaseEvent::new(now, inc.raised_by, kind))
                            .collect();
                        self.insert_events(tx, &ck, 0, events.iter())?;
                        if let Some(case) = Case::fold(alert.key.clone(), &events) {
                            self.put_index(tx, &ck, &IndexEntry::new(alert, case))?;
                        }
                        report.count_new(inc);
                    }
                    Some(old) if old.revision < alert.revision => {
                        let sealed = self.seal(ALERTS, &ck, alert)?;
                        tx.execute(
                            "UPDATE alerts SET sealed = $3 WHERE school = $1 AND case_key = $2",
                            &[&school, &ck, &sealed],
                        )?;
                        let before = tx.query_opt(
                            "SELECT sealed FROM case_index WHERE school = $1 AND case_key = $2",
                            &[&school, &ck],
                        )?;
                        let before = before.map(|r| self.open_index(&ck, r.get(0))).transpose()?;
                        let revision = Revision::of(&old, inc, before.as_ref().map(|e| &e.case));
                        report.count_revision(&revision, alert);
                        let events: Vec<CaseEvent> =
                            revision.kinds.into_iter().map(|kind| CaseEvent::new(now, "feed", kind)).collect();
                        let count = count_events(tx, school, &ck)?;
                        self.insert_events(tx, &ck, count, events.iter())?;
                        self.fold_into_index(tx, &ck, Some(alert), events.iter())?;
                    }
                    Some(_) => report.unchanged += 1,
                }
            }
            for r in rejected {
                // Keyed by the alert's own bytes, so a replayed page does not quarantine it twice.
                let qk = quarantine_key(r).to_vec();
                let sealed = self.seal(QUARANTINE, &qk, &Quarantined { received_at: now, rejected: r.clone() })?;
                report.quarantined += tx.execute(
                    "INSERT INTO quarantine (school, qkey, received_at, sealed) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                    &[&school, &qk, &now, &sealed],
                )? as usize;
            }
            let stored = tx.query_opt("SELECT state FROM feed_state WHERE school = $1 FOR UPDATE", &[&school])?;
            let mut state: FeedState = match stored {
                Some(r) => decode("feed state", r.get(0))?,
                None => FeedState::default(),
            };
            if let Some(c) = cursor {
                state.cursor = Some(c.to_string());
            }
            state.staff_dropped += staff_dropped as u64;
            super::feed::put_state(tx, school, &encode("feed state", &state)?)?;
            Ok(report)
        })
    }
}
