//! A reviewer's decisions: judged by the domain's `decide` and written with their audit records.

use chrono::{DateTime, Utc};

use super::events::Change;
use super::{Asking, Result, ServiceError, StoreError};

/// How many times a decision is judged again when its case keeps changing under it before the reviewer is
/// told to try again (each time, something else was written to the case in between).
const JUDGED_AT_MOST: usize = 8;
use crate::audit;
use crate::domain::case::{AlertFacts, CaseCommand, decide};
use crate::domain::{AlertKey, CaseEvent};
use uuid::Uuid;

impl Asking<'_> {
    /// Records that the viewer opened the case's content (the first view feeds response-time figures).
    pub fn mark_viewed(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<()> {
        self.require_reviewer()?;
        let (alert, _, case) = self.load(key)?;
        // The trust's lead reading a case is not the school opening it: not its first view (that stops an
        // escalation and starts the response-time figures); their reading is in the audit trail.
        if case.first_viewed.is_none() && self.viewer.may_decide() {
            self.store.append(key, &CaseEvent::by(now, &self.actor(), crate::domain::EventKind::Viewed))?;
            self.publish([Change::Case { key: key.clone(), staff: alert.is_staff() }]);
        }
        Ok(())
    }

    /// Applies a reviewer's decision: the events [`decide`] returns for it, each with its audit record, are
    /// written in one transaction and flushed before this returns. Returns them, in order.
    ///
    /// The decision is judged against the case as it stands when its events are written: the store appends
    /// them only if the case's log still has the length it had when it was read, under the same lock the
    /// feed's revisions and every other decision take. When something landed in between (a revision, the
    /// deputy's tick), the decision is judged again against the new state, so a close can never pass on a
    /// case that changed under it.
    ///
    /// `seen` is how many of the case's events the reviewer's screen showed, and `token` makes the call safe
    /// to send again (see [`crate::service::api::Request::Act`]).
    pub fn decide(
        &self,
        key: &AlertKey,
        command: &CaseCommand,
        seen: Option<usize>,
        token: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>> {
        self.require_decider()?;
        let resolved;
        let mut command = command;
        if let CaseCommand::AttachVendor { .. } | CaseCommand::DeclineVendor { .. } = command {
            // Recorded on the phoned-in case, whichever of the two it was asked on, the other named in full.
            let phoned;
            (phoned, resolved) = self.vendor_decision(key, command)?;
            if &phoned != key {
                return self.decide(&phoned, &resolved, None, token, now);
            }
            command = &resolved;
            if let CaseCommand::AttachVendor { other } = command {
                let (_, _, case) = self.load(key)?;
                if case.vendor_records.contains(other) {
                    let (_, _, theirs) = self.load(other)?;
                    if theirs.attached_to.as_ref() == Some(key) {
                        return Err(crate::domain::case::RuleError::AlreadyAttached(other.to_string()).into());
                    }
                    // Attached here before and not yet there (stopped in between): finish it.
                    return self.attach_vendor_back(other, key, now);
                }
            }
        }
        let mut first_read = None;
        for _ in 0..JUDGED_AT_MOST {
            let (alert, events, case) = self.load(key)?;
            if let Some(token) = token {
                let recorded: Vec<CaseEvent> = events
                    .iter()
                    .skip_while(|e| e.id != token)
                    .enumerate()
                    .take_while(|(i, e)| e.id == token_id(token, *i))
                    .map(|(_, e)| e.clone())
                    .collect();
                if !recorded.is_empty() {
                    return Ok(recorded);
                }
            }
            let seen = *first_read.get_or_insert(seen.unwrap_or(events.len()).min(events.len()));
            let facts = AlertFacts {
                staff: alert.is_staff(),
                category: &alert.category,
                illegal_at_high: self.levels.illegal_at_high(&alert.category),
            };
            self.check_team_rules(&alert, &case, command)?;
            let kinds = match decide(&case, &facts, self.templates, &self.viewer.user, command) {
                Ok(kinds) => kinds,
                Err(rule) => return Err(self.overtaken(&events[seen..], rule)),
            };
            let decided: Vec<(CaseEvent, audit::Entry)> = kinds
                .into_iter()
                .enumerate()
                .map(|(i, kind)| {
                    let mut event = CaseEvent::by(now, &self.actor(), kind);
                    if let Some(token) = token {
                        event.id = token_id(token, i);
                    }
                    let entry = audit::Entry::new(now, &self.viewer.user, Some(key), audit::action_text(&event.kind));
                    (event, entry)
                })
                .collect();
            match self.store.append_decision_at(key, events.len() as u64, &decided) {
                Ok(()) => {
                    let staff = alert.is_staff();
                    let mut changes = vec![Change::Case { key: key.clone(), staff }];
                    if let crate::domain::case::CaseCommand::Unshare { with, .. } = command {
                        changes.push(Change::Withheld { case: key.clone(), from: with.trim().to_string(), staff });
                    }
                    self.publish(changes);
                    let decided: Vec<CaseEvent> = decided.into_iter().map(|(event, _)| event).collect();
                    match command {
                        crate::domain::case::CaseCommand::Link { other } => self.link_back(other, key, token, now)?,
                        crate::domain::case::CaseCommand::Unlink { other, reason } => {
                            self.unlink_back(other, key, reason, token, now)?
                        }
                        _ => {}
                    }
                    if let CaseCommand::AttachVendor { other } = command {
                        let mut decided = decided;
                        decided.extend(self.attach_vendor_back(other, key, now)?);
                        return Ok(decided);
                    }
                    return Ok(decided);
                }
                // The case changed since it was read: judge the decision again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Busy)
    }

    /// Who may be given or shown a case, judged from the team's roles before the decision is.
    fn check_team_rules(
        &self,
        alert: &crate::domain::Alert,
        case: &crate::domain::Case,
        command: &CaseCommand,
    ) -> Result<()> {
        use crate::domain::case::CaseCommand as C;
        let staff = alert.is_staff();
        let member = |user: &str| {
            let user = user.trim();
            let them = self.team.viewer(user).filter(|v| v.can_review()).ok_or_else(|| {
                ServiceError::TeamRule(format!(
                    "`{user}` is not a reviewer in vigil's config ([roles] dsl, ddsl or officer): only a member of the safeguarding team can have or see a case"
                ))
            })?;
            if !them.may_decide() {
                return Err(ServiceError::TeamRule(format!(
                    "{} is the trust's lead, who reads the school's cases and decides none: a case is the school's team's",
                    self.team.name(&them.user)
                )));
            }
            Ok(them)
        };
        match command {
            C::Assign { to } if !to.trim().is_empty() => {
                let them = member(to)?;
                if !them.may_see(staff, &case.shared_with) {
                    let name = self.team.name(&them.user);
                    return Err(ServiceError::TeamRule(if staff && !them.sees_staff {
                        format!("{name} may not see staff alerts, so cannot have this case")
                    } else {
                        format!(
                            "{name} sees only the cases shared with them: share this one with them first (with the reason)"
                        )
                    }));
                }
            }
            C::Share { with, .. } if !with.trim().is_empty() => {
                let them = member(with)?;
                let name = self.team.name(&them.user);
                if staff && !them.sees_staff {
                    return Err(ServiceError::TeamRule(format!(
                        "a staff alert is never shared beyond the DSL and the users [roles] staff_alerts names; {name} is neither"
                    )));
                }
                if them.role != crate::identity::Role::Officer {
                    return Err(ServiceError::TeamRule(format!(
                        "{name} ({}) already sees every case they may: sharing is for the wider safeguarding team (officers)",
                        them.role.as_str()
                    )));
                }
            }
            C::Link { other } => {
                // The other case must be one this viewer may see: `load` says "no case" otherwise.
                let (other_alert, _, _) = self.load(other)?;
                // Each case names the other in its timeline, and a staff alert is for the DSL alone: a
                // student's case must never name one to a deputy or an officer.
                if other_alert.is_staff() != staff {
                    return Err(ServiceError::TeamRule(
                        "a staff alert's case is linked only to another staff alert's case: a student's case would name it to everyone who sees it".into(),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The other half of a link: the case linked to records the link back, unless it already has it.
    fn link_back(&self, other: &AlertKey, key: &AlertKey, token: Option<Uuid>, now: DateTime<Utc>) -> Result<()> {
        let back = crate::domain::case::CaseCommand::Link { other: key.clone() };
        // A token of its own, derived from the decision's, so a resent link is not recorded twice here either.
        let token = token.map(|t| Uuid::from_u128(t.as_u128() ^ (1 << 100)));
        match self.decide(other, &back, None, token, now) {
            Ok(_) | Err(ServiceError::Rule(crate::domain::case::RuleError::AlreadyLinked(_))) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The other half of an unlink: the case it was linked to drops the link too, with the same reason,
    /// unless it no longer has it (or is gone, or not this viewer's to see: nothing there to show).
    fn unlink_back(
        &self,
        other: &AlertKey,
        key: &AlertKey,
        reason: &str,
        token: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let back = crate::domain::case::CaseCommand::Unlink { other: key.clone(), reason: reason.to_string() };
        let token = token.map(|t| Uuid::from_u128(t.as_u128() ^ (1 << 100)));
        match self.decide(other, &back, None, token, now) {
            Ok(_)
            | Err(ServiceError::NotFound(_))
            | Err(ServiceError::Rule(crate::domain::case::RuleError::NotLinked(_))) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A decision's refusal: the rule it broke, and when others' events since the reviewer's screen was
    /// drawn are why, who did what.
    fn overtaken(&self, since: &[CaseEvent], rule: crate::domain::case::RuleError) -> ServiceError {
        let me = self.actor();
        let theirs: Vec<&CaseEvent> =
            since.iter().filter(|e| e.actor() != me && e.kind != crate::domain::EventKind::Viewed).collect();
        let Some(last) = theirs.last() else { return rule.into() };
        let tz = self.calendar.time_zone();
        ServiceError::Overtaken(Box::new(super::Overtaken {
            by: last.actor().to_string(),
            what: theirs.iter().map(|e| e.kind.describe()).collect::<Vec<_>>().join("; "),
            at: last.at.with_timezone(&tz).format("%H:%M").to_string(),
            rule,
        }))
    }
}

/// The id of the `i`th event of a decision sent with `token`: the token itself, then the ids after it.
fn token_id(token: Uuid, i: usize) -> Uuid {
    Uuid::from_u128(token.as_u128().wrapping_add(i as u128))
}
