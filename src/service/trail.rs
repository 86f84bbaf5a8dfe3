//! The audit trail as the service offers it: records of views and exports, and the DSL's reads of the trail.

use chrono::{DateTime, Utc};

use super::{Asking, Result, ServiceError};
use crate::audit;
use crate::domain::AlertKey;
use crate::identity::Role;

impl Asking<'_> {
    /// Appends an audit record for this viewer: `case` (if any) and a content-free `what`. For surfaces
    /// outside the service that show or export content (a screenshot shown, a report written).
    /// Only about a case this viewer may see, and only by someone who may review (a report's export is
    /// recorded by the service itself).
    pub fn audit(&self, case: Option<&AlertKey>, what: &str, now: DateTime<Utc>) -> Result<()> {
        if let Some(key) = case {
            self.require_reviewer()?;
            if self.summary(key, now)?.is_none() {
                return Err(ServiceError::NotFound(key.to_string()));
            }
        }
        self.store.audit_append(&audit::Entry::new(now, &self.viewer.user, case, what))?;
        Ok(())
    }

    /// The audit trail, oldest first; with `case`, only the records about it (`ID` or `SOURCE:ID`; purged
    /// cases included). The DSL's alone.
    pub fn audit_records(&self, case: Option<&str>) -> Result<Vec<audit::AuditRecord>> {
        if self.viewer.role != Role::Dsl {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let mut records = self.trail.records()?;
        if let Some(spec) = case {
            records.retain(|r| {
                r.case.as_deref().is_some_and(|c| c == spec || c.split_once(':').is_some_and(|(_, id)| id == spec))
            });
        }
        Ok(records)
    }

    /// Checks the audit chain, and against a head kept elsewhere ([`audit::HeadMark`]) when given. Any
    /// reviewing role may; a `reporter` may not.
    pub fn audit_verify_against(&self, expect: Option<&audit::HeadMark>) -> Result<audit::Verdict> {
        self.require_reviewer()?;
        Ok(self.trail.verify_against(expect)?)
    }

    /// Keys the audit chain of a store written by an earlier vigil (the DSL's alone): one record says from
    /// where, and that the records before it were written unkeyed.
    pub fn audit_upgrade(&self, now: DateTime<Utc>) -> Result<audit::AuditRecord> {
        if self.viewer.role != Role::Dsl {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let before = self.trail.records()?.len();
        let what = format!(
            "keyed the audit chain from this record: the {before} records before it were written unkeyed by an earlier vigil"
        );
        Ok(self.trail.upgrade(&audit::Entry::new(now, &self.viewer.user, None, what))?)
    }
}
