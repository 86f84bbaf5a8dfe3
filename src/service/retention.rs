//! Retention: what has been settled long enough is purged, leaving a content-free tombstone.

use chrono::{DateTime, Utc};

use super::events::Change;
use super::{Asking, Result};
use crate::audit;
use crate::domain::AlertKey;

impl Asking<'_> {
    /// Purges closed cases whose close is `months` or more before `now`, and cases the vendor withdrew that
    /// long ago and nobody closed: alert, events, index entry and cached screenshots go; the audit trail
    /// keeps a content-free tombstone (ids, dates, level, outcome). The vendor's records attached to a purged
    /// case (a phoned-in alert the vendor's own record was merged into) go with it.
    /// Quarantined alerts (raw JSON) received `months` or more before `now` go too, with one record of how
    /// many, and so do handover notes written that long ago (free text about cases: content). Returns how
    /// many cases were purged. `vigil` runs this every time it opens a store.
    pub fn purge_expired(&self, months: u32, now: DateTime<Utc>) -> Result<usize> {
        let tz = self.calendar.time_zone();
        let mut expired = Vec::new();
        // Only the close times are read (from the front of each index entry); only what expired is decoded.
        let expires = |closed_at: &DateTime<Utc>| {
            closed_at.checked_add_months(chrono::Months::new(months)).is_some_and(|until| until <= now)
        };
        self.store.purge_quarantined(&expires, &|n| {
            let what = format!(
                "purged by retention ({months} months after receipt): {n} rejected alert{}",
                if n == 1 { "" } else { "s" }
            );
            audit::Entry::new(now, "retention", None, what)
        })?;
        self.store.purge_handover_notes(&expires, &|n| {
            let what = format!(
                "purged by retention ({months} months after writing): {n} handover note{}",
                if n == 1 { "" } else { "s" }
            );
            audit::Entry::new(now, "retention", None, what)
        })?;
        // Nothing was closed or withdrawn early enough to have expired: nothing to read (the usual case at each
        // start).
        let seen = self.store.settled_since()?;
        if seen.is_some_and(|since| !expires(&since)) {
            return Ok(0);
        }
        let mut oldest_kept = DateTime::<Utc>::MAX_UTC;
        for (key, settled_at) in self.store.settled_cases()? {
            if !expires(&settled_at) {
                oldest_kept = oldest_kept.min(settled_at);
                continue;
            }
            let Some(entry) = self.store.index_entry(&key)? else { continue };
            // The whole entry, read now, is what counts.
            let Some(settled_at) = entry.case.settled() else { continue };
            if !expires(&settled_at) {
                oldest_kept = oldest_kept.min(settled_at);
                continue;
            }
            let day = |at: &DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m-%d").to_string();
            let (raised, level) = (day(&entry.head.raised_at.with_timezone(&Utc)), entry.case.level.as_str());
            let what = match &entry.case.closed {
                Some((closed_at, outcome)) => format!(
                    "purged by retention ({months} months after closing): raised {raised}, closed {}, level {level}, outcome {outcome}",
                    day(closed_at)
                ),
                None => format!(
                    "purged by retention ({months} months after the vendor withdrew it, never closed): raised {raised}, withdrawn {}, level {level}",
                    day(&settled_at)
                ),
            };
            // A vendor's record attached to this case is its content too: it goes with it, whatever its own
            // status (merged, never settled by itself).
            for vendor in &entry.case.vendor_records {
                let what =
                    format!("purged by retention with the phoned-in case it was attached to ({})", entry.head.key);
                expired.push((vendor.clone(), what));
            }
            expired.push((entry.head.key.clone(), what));
        }
        for (key, what) in &expired {
            self.purge(key, &audit::Entry::new(now, "retention", Some(key), what.as_str()))?;
        }
        self.store.set_settled_since(seen, oldest_kept)?;
        Ok(expired.len())
    }

    /// Removes a case from the store (alert, events, index entry: [`Store::purge_case`], with `tombstone`
    /// in the audit trail) and then its cached screenshots. Retention and ingest (an alert that became one
    /// this viewer may not see) both purge through here.
    pub(super) fn purge(&self, key: &AlertKey, tombstone: &audit::Entry) -> Result<()> {
        let alert = self.store.alert(key)?;
        self.store.purge_case(key, tombstone)?;
        self.subjects.removed(key);
        let staff = alert.as_ref().is_none_or(crate::domain::Alert::is_staff);
        self.publish([Change::Removed { case: key.clone(), staff }]);
        // The raw e-mail an alert was read from is its content too: it goes with the case.
        if let Some(a) = &alert
            && let Some(origin) = &a.mail
        {
            self.store.remove_blob(&origin.blob_name())?;
            for shot in a.captures.iter().filter_map(|c| c.screenshot.as_ref()) {
                if let Some(name) = origin.image_blob_name(&shot.url) {
                    self.store.remove_blob(&name)?;
                }
            }
        }
        let shots = alert.iter().flat_map(|a| &a.captures).filter_map(|c| c.screenshot.as_ref());
        for shot in shots {
            self.store.uncache_blob(&super::shots::cache_name(key, shot))?;
            // Caches of earlier vigils named these by their URL.
            let path = shot.url.trim().trim_start_matches('/');
            if shot.sha256.is_none() && !path.is_empty() {
                for name in self.store.cached_blob_names()? {
                    if name.starts_with("url:") && name.ends_with(path) {
                        self.store.uncache_blob(&name)?;
                    }
                }
            }
        }
        Ok(())
    }
}
