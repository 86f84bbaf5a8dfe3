//! A feed page into PostgreSQL in one transaction: new cases, revisions, the quarantined alerts and the
//! cursor, by the same rules as sled's ([`crate::store::ingest`]). Idempotent by (`source`, `id`,
//! `revision`): each alert's row is locked while its revision is compared, and a page that meets a row
//! another writer inserted first (two services, one feed) runs again and finds it stored.
//!
//! A page's alerts are read in one statement and its new cases (nearly all of a page, usually) are sealed
//! on every core and written in three statements, one per table: a round trip an alert cost the page
//! about a third of a millisecond each, five times over. A revision is written alone, as before; so is
//! every alert of a page that names one alert twice, so that the second meets the first.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::cases::{count_events, event_key, lower_settled_since};
use super::{Fail, PgStore};
use crate::domain::{Alert, Case, CaseEvent};
use crate::feed::protocol::Rejected;
use crate::store::codec::{decode, encode};
use crate::store::feed_state::{FeedState, Quarantined};
use crate::store::index::{IndexEntry, seal_index_entry};
use crate::store::ingest::{Revision, first_kinds};
use crate::store::keys::{ALERTS, EVENTS, QUARANTINE, case_key, quarantine_key};
use crate::store::peers::CaseWrite;
use crate::store::{Incoming, IngestReport, Result};

/// An alert stored or revised, as the page records it for the other services.
fn written(inc: &Incoming<'_>) -> CaseWrite {
    CaseWrite::Written { key: inc.alert.key.clone(), staff: inc.alert.is_staff(), alert: true }
}

/// A new case's rows, sealed, ready for the page's multi-row inserts.
struct NewCase {
    ck: Vec<u8>,
    alert: Vec<u8>,
    /// Each event's number, time and sealed value.
    events: Vec<(i64, DateTime<Utc>, Vec<u8>)>,
    /// Its queue index row (open, settled at, sealed), when its events fold into a case.
    index: Option<(bool, Option<DateTime<Utc>>, Vec<u8>)>,
}

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
        let keys: Vec<Vec<u8>> = incoming.iter().map(|inc| case_key(&inc.alert.key)).collect();
        let distinct = keys.iter().collect::<HashSet<_>>().len() == keys.len();
        self.transact(true, |tx| {
            if incoming.iter().any(|inc| inc.alert.withdrawn) {
                lower_settled_since(tx, school, now)?;
            }
            let mut report = IngestReport { staff_dropped, ..IngestReport::default() };
            // Every case the page stores or revises, recorded for the other services with the page.
            let mut wrote = Vec::new();
            if distinct {
                wrote = self.store_together(tx, incoming, &keys, template_version, now, &mut report)?;
            } else {
                for (inc, ck) in incoming.iter().zip(&keys) {
                    let old = tx.query_opt(
                        "SELECT sealed FROM alerts WHERE school = $1 AND case_key = $2 FOR UPDATE",
                        &[&school, ck],
                    )?;
                    let old: Option<Alert> = old.map(|r| self.unseal("alert", ALERTS, ck, r.get(0))).transpose()?;
                    match old {
                        None => {
                            let case = self.seal_new_case(inc, ck, template_version, now)?;
                            self.insert_new_cases(tx, std::slice::from_ref(&case))?;
                            report.count_new(inc);
                            wrote.push(written(inc));
                        }
                        Some(old) if old.revision < inc.alert.revision => {
                            self.revise(tx, inc, ck, &old, now, &mut report)?;
                            wrote.push(written(inc));
                        }
                        Some(_) => report.unchanged += 1,
                    }
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
            self.record_writes(tx, &wrote)?;
            Ok(report)
        })
    }

    /// A page whose alerts are all different: the stored ones read (and locked) in one statement, the new
    /// ones sealed on every core and inserted together, each revision written on its own. Returns what it
    /// stored.
    fn store_together(
        &self,
        tx: &mut postgres::Transaction<'_>,
        incoming: &[Incoming<'_>],
        keys: &[Vec<u8>],
        template_version: u32,
        now: DateTime<Utc>,
        report: &mut IngestReport,
    ) -> std::result::Result<Vec<CaseWrite>, Fail> {
        let rows = tx.query(
            "SELECT case_key, sealed FROM alerts WHERE school = $1 AND case_key = ANY($2) FOR UPDATE",
            &[&self.school(), &keys],
        )?;
        let mut stored: HashMap<Vec<u8>, Alert> = rows
            .par_iter()
            .map(|r| {
                let ck: Vec<u8> = r.get(0);
                let alert = self.unseal("alert", ALERTS, &ck, r.get(1))?;
                Ok((ck, alert))
            })
            .collect::<Result<_>>()?;
        let mut new = Vec::with_capacity(incoming.len());
        let mut wrote = Vec::with_capacity(incoming.len());
        for (inc, ck) in incoming.iter().zip(keys) {
            match stored.remove(ck) {
                None => new.push((inc, ck)),
                Some(old) if old.revision < inc.alert.revision => {
                    self.revise(tx, inc, ck, &old, now, report)?;
                    wrote.push(written(inc));
                }
                Some(_) => report.unchanged += 1,
            }
        }
        let cases: Vec<NewCase> = new
            .par_iter()
            .map(|(inc, ck)| self.seal_new_case(inc, ck, template_version, now))
            .collect::<Result<_>>()?;
        self.insert_new_cases(tx, &cases)?;
        for (inc, _) in &new {
            report.count_new(inc);
            wrote.push(written(inc));
        }
        Ok(wrote)
    }

    /// A new alert's rows: the alert, its first events, its index entry.
    fn seal_new_case(
        &self,
        inc: &Incoming<'_>,
        ck: &[u8],
        template_version: u32,
        now: DateTime<Utc>,
    ) -> Result<NewCase> {
        let alert = inc.alert;
        let events: Vec<CaseEvent> = first_kinds(inc, template_version)
            .into_iter()
            .map(|kind| CaseEvent::new(now, inc.raised_by, kind))
            .collect();
        let index = match Case::fold(alert.key.clone(), &events) {
            Some(case) => {
                let entry = IndexEntry::new(alert, case);
                let sealed = seal_index_entry(&self.cipher, &self.bound(ck), &entry)?;
                Some((entry.case.status().is_open(), entry.case.settled(), sealed))
            }
            None => None,
        };
        let events = events
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let seq = i as i64 + 1;
                Ok((seq, event.at, self.seal(EVENTS, &event_key(ck, seq), event)?))
            })
            .collect::<Result<_>>()?;
        Ok(NewCase { ck: ck.to_vec(), alert: self.seal(ALERTS, ck, alert)?, events, index })
    }

    /// New cases' rows, one statement a table. A row another writer inserted first is a unique violation,
    /// which runs the page again.
    fn insert_new_cases(&self, tx: &mut postgres::Transaction<'_>, cases: &[NewCase]) -> std::result::Result<(), Fail> {
        if cases.is_empty() {
            return Ok(());
        }
        let school = self.school();
        let keys: Vec<&[u8]> = cases.iter().map(|c| c.ck.as_slice()).collect();
        let alerts: Vec<&[u8]> = cases.iter().map(|c| c.alert.as_slice()).collect();
        tx.execute(
            "INSERT INTO alerts (school, case_key, sealed) SELECT $1, k, s FROM unnest($2::bytea[], $3::bytea[]) AS t(k, s)",
            &[&school, &keys, &alerts],
        )?;
        let events = cases.iter().flat_map(|c| c.events.iter().map(move |e| (c.ck.as_slice(), e)));
        let (mut eks, mut seqs, mut ats, mut sealed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (ck, (seq, at, s)) in events {
            eks.push(ck);
            seqs.push(*seq);
            ats.push(*at);
            sealed.push(s.as_slice());
        }
        tx.execute(
            "INSERT INTO events (school, case_key, seq, at, sealed) \
             SELECT $1, k, q, a, s FROM unnest($2::bytea[], $3::int8[], $4::timestamptz[], $5::bytea[]) AS t(k, q, a, s)",
            &[&school, &eks, &seqs, &ats, &sealed],
        )?;
        let indexed = cases.iter().filter_map(|c| c.index.as_ref().map(|i| (c.ck.as_slice(), i)));
        let (mut iks, mut opens, mut settled, mut sealed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (ck, (open, settled_at, s)) in indexed {
            iks.push(ck);
            opens.push(*open);
            settled.push(*settled_at);
            sealed.push(s.as_slice());
        }
        // As `put_index` writes an entry: over one left behind, if any.
        tx.execute(
            "INSERT INTO case_index (school, case_key, open, settled_at, sealed) \
             SELECT $1, k, o, t, s FROM unnest($2::bytea[], $3::bool[], $4::timestamptz[], $5::bytea[]) AS u(k, o, t, s) \
             ON CONFLICT (school, case_key) DO UPDATE SET open = excluded.open, settled_at = excluded.settled_at, \
             sealed = excluded.sealed",
            &[&school, &iks, &opens, &settled, &sealed],
        )?;
        Ok(())
    }

    /// A newer revision of a stored alert: the alert replaced, the events it makes appended and folded.
    fn revise(
        &self,
        tx: &mut postgres::Transaction<'_>,
        inc: &Incoming<'_>,
        ck: &[u8],
        old: &Alert,
        now: DateTime<Utc>,
        report: &mut IngestReport,
    ) -> std::result::Result<(), Fail> {
        let school = self.school();
        let alert = inc.alert;
        let sealed = self.seal(ALERTS, ck, alert)?;
        tx.execute("UPDATE alerts SET sealed = $3 WHERE school = $1 AND case_key = $2", &[&school, &ck, &sealed])?;
        let before =
            tx.query_opt("SELECT sealed FROM case_index WHERE school = $1 AND case_key = $2", &[&school, &ck])?;
        let before = before.map(|r| self.open_index(ck, r.get(0))).transpose()?;
        let revision = Revision::of(old, inc, before.as_ref().map(|e| &e.case));
        report.count_revision(&revision, alert);
        let events: Vec<CaseEvent> = revision.kinds.into_iter().map(|kind| CaseEvent::new(now, "feed", kind)).collect();
        let count = count_events(tx, school, ck)?;
        self.insert_events(tx, ck, count, events.iter())?;
        self.fold_into_index(tx, ck, Some(alert), events.iter())?;
        Ok(())
    }
}
