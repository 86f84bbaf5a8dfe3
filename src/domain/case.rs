//! A case is the fold of its events. Nothing is edited or deleted: an amendment is a new event, so the
//! audit trail, the timeline in the detail pane and the response-time figures are all reads of one log.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::actor::Actor;
use super::checklist::{AppliesTo, CasePath, ItemKind, ItemRole, ItemTemplate, Section, Templates};
use super::{AlertKey, Level};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who acted, in its stored form ([`Actor::stored`]): read it with [`CaseEvent::actor`].
    pub actor: String,
    pub kind: EventKind,
}

impl CaseEvent {
    /// An event by the actor whose stored form is `actor` (`"feed"` is the feed): what the store and tests
    /// write. A person's event is made with [`CaseEvent::by`], which cannot take their name for the feed.
    pub fn new(at: DateTime<Utc>, actor: impl Into<String>, kind: EventKind) -> Self {
        CaseEvent { id: Uuid::new_v4(), at, actor: actor.into(), kind }
    }

    pub fn by(at: DateTime<Utc>, actor: &Actor, kind: EventKind) -> Self {
        Self::new(at, actor.stored(), kind)
    }

    /// Who acted.
    pub fn actor(&self) -> Actor {
        Actor::from_stored(&self.actor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    /// The alert arrived. The case keeps the checklist template version it was opened with.
    Raised {
        revision: u32,
        level: Level,
        illegal_path: bool,
        template_version: u32,
    },
    /// A higher revision replaced the alert's content; the case and its history stay.
    Revised {
        from: u32,
        to: u32,
        level: Level,
        illegal_path: bool,
    },
    Withdrawn,
    /// The vendor took back a withdrawal: the case is in the open queue again.
    Reinstated,
    Viewed,
    Regraded {
        from: Level,
        to: Level,
        reason: String,
    },
    IllegalPathChosen {
        reason: String,
    },
    ItemDone {
        item: String,
        value: Option<String>,
        note: Option<String>,
    },
    ItemUndone {
        item: String,
        reason: Option<String>,
    },
    NoteAdded {
        text: String,
    },
    FollowUpSet {
        date: NaiveDate,
    },
    Closed {
        outcome: String,
    },
    Reopened {
        reason: String,
    },
    /// The case is `to`'s now: taken (the actor is `to`) or handed to them.
    Assigned {
        to: String,
    },
    /// Nobody has the case now.
    Released,
    /// Shared with a member of the wider safeguarding team (an officer), who sees it from now on: the
    /// procedure informs them "where a genuine safeguarding concern is identified", and `reason` says what.
    Shared {
        with: String,
        reason: String,
    },
    /// No longer shared with `with`.
    Unshared {
        with: String,
        reason: String,
    },
    /// Linked to another case (the same incident seen from two students; a phoned-in alert and the vendor's
    /// record of it). Each of the two cases records the link.
    Linked {
        other: AlertKey,
    },
    Unlinked {
        other: AlertKey,
        reason: String,
    },
    /// The vendor's own record of the alert this (phoned-in) case was taken from, `other`, was confirmed by a
    /// reviewer as the same alert and attached: its content is read with this case, and `other` records
    /// [`EventKind::AttachedTo`].
    VendorRecordAttached {
        other: AlertKey,
    },
    /// This (vendor's) case was attached to the phoned-in case `case`: it is no longer a case of its own, and
    /// its key leads to `case`. Never undone by a later event: a correction is a note on `case`.
    AttachedTo {
        case: AlertKey,
    },
    /// A reviewer said the vendor's record `other` is not the alert this phoned-in case was taken from: it is
    /// not proposed again.
    VendorRecordDeclined {
        other: AlertKey,
        reason: String,
    },
    /// Nobody opened the case in time, so vigil raised it with every reviewer on duty (the `round`th time,
    /// the case unopened `unopened_minutes` after it was raised). `reference` is minted at random at the
    /// first escalation and kept by the later ones: it names the case to `[escalation] notify_command` and
    /// means nothing outside vigil (`vigil show REF` finds the case).
    Escalated {
        round: u32,
        unopened_minutes: u32,
        #[serde(default)]
        reference: String,
    },
}

impl EventKind {
    /// A short, content-free description for timelines and audit lists, people named by their user names.
    pub fn describe(&self) -> String {
        self.describe_naming(&|user| user.to_string())
    }

    /// [`EventKind::describe`], each person an event names (not its actor) named by `name`.
    pub fn describe_naming(&self, name: &dyn Fn(&str) -> String) -> String {
        match self {
            EventKind::Raised { revision, level, .. } => format!("raised (rev {revision}) at {level}"),
            EventKind::Revised { from, to, .. } => format!("alert revised by the feed: rev {from} -> {to}"),
            EventKind::Withdrawn => "withdrawn by the vendor".into(),
            EventKind::Reinstated => "reinstated by the vendor (no longer withdrawn)".into(),
            EventKind::Viewed => "viewed".into(),
            EventKind::Regraded { from, to, reason } => format!("regraded {from} -> {to}: {reason}"),
            EventKind::IllegalPathChosen { reason } => format!("illegal-content path chosen: {reason}"),
            EventKind::ItemDone { item, value, note } => {
                let mut s = format!("done: {item}");
                if let Some(v) = value {
                    s.push_str(&format!(" = {v}"));
                }
                if let Some(n) = note {
                    s.push_str(&format!(" ({n})"));
                }
                s
            }
            EventKind::ItemUndone { item, reason } => match reason {
                Some(r) => format!("undone: {item} ({r})"),
                None => format!("undone: {item}"),
            },
            EventKind::NoteAdded { text } => format!("note: {text}"),
            EventKind::FollowUpSet { date } => format!("follow-up set for {date}"),
            EventKind::Closed { outcome } => format!("closed: {outcome}"),
            EventKind::Reopened { reason } => format!("reopened: {reason}"),
            EventKind::Assigned { to } => format!("case is now {}'s", name(to)),
            EventKind::Released => "released the case: nobody has it".into(),
            EventKind::Shared { with, reason } => format!("shared with {}: {reason}", name(with)),
            EventKind::Unshared { with, reason } => format!("no longer shared with {}: {reason}", name(with)),
            EventKind::Linked { other } => format!("linked to case {other}"),
            EventKind::Unlinked { other, reason } => format!("unlinked from case {other}: {reason}"),
            EventKind::VendorRecordAttached { other } => format!("vendor's record {other} attached"),
            EventKind::AttachedTo { case } => format!("attached to phoned-in case {case}"),
            EventKind::VendorRecordDeclined { other, reason } => {
                format!("vendor's record {other} declined: {reason}")
            }
            EventKind::Escalated { round, unopened_minutes, reference } => {
                format!("ESCALATED (#{round}, {reference}): not opened by anyone for {unopened_minutes} min")
            }
        }
    }

    /// Events about who has or sees the case, not about the student: they do not make a case in progress
    /// nor its reviewer one who acted on it.
    pub fn is_team_bookkeeping(&self) -> bool {
        matches!(
            self,
            EventKind::Viewed
                | EventKind::Assigned { .. }
                | EventKind::Released
                | EventKind::Shared { .. }
                | EventKind::Unshared { .. }
                | EventKind::Linked { .. }
                | EventKind::Unlinked { .. }
                | EventKind::Escalated { .. }
        )
    }
}

/// What a decision recorded, for the message that confirms it: each event's description, in order.
pub fn describe_decision(events: &[CaseEvent]) -> String {
    events.iter().map(|e| e.kind.describe()).collect::<Vec<_>>().join("; ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    New,
    Open,
    InProgress,
    Closed,
    Withdrawn,
    /// Attached to a phoned-in case ([`EventKind::AttachedTo`]): read there, not a case of its own.
    Merged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::InProgress => "in-progress",
            Status::Closed => "closed",
            Status::Withdrawn => "withdrawn",
            Status::Merged => "merged",
        }
    }

    /// Open cases are the ones somebody still has to act on.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Open | Status::InProgress)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemState {
    pub value: Option<String>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
    /// Who did it, in its stored form ([`Actor::stored`]).
    pub actor: String,
}

/// The current state of a case, derived from its events and nothing else. (The store keeps a copy of it
/// in its index so the queue opens without folding every log; that copy is rebuilt from the events
/// whenever in doubt.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub key: AlertKey,
    pub template_version: u32,
    pub raised_level: Level,
    pub level: Level,
    pub illegal_path: bool,
    pub revision: u32,
    /// When the vendor withdrew the alert; `None` while it stands (and again once it is reinstated).
    /// Retention counts from here for a case withdrawn and never closed.
    pub withdrawn: Option<DateTime<Utc>>,
    pub closed: Option<(DateTime<Utc>, String)>,
    pub done: BTreeMap<String, ItemState>,
    pub follow_up: Option<NaiveDate>,
    pub first_viewed: Option<DateTime<Utc>>,
    pub acted: bool,
    pub regraded: bool,
    pub events: usize,
    /// The user names of the people who have acted on the case (not merely viewed it), for the "mine" filter.
    #[serde(default)]
    pub actors: std::collections::BTreeSet<String>,
    /// The done items that record a level's response ([`ItemRole::Response`]). Kept apart from `done` because the
    /// queue's index stores the case without `done`, and "overdue" needs to know whether the response was made.
    #[serde(default)]
    pub responses: std::collections::BTreeSet<String>,
    /// Who has the case (a user name), if anyone.
    #[serde(default)]
    pub owner: Option<String>,
    /// The officers it is shared with (user names).
    #[serde(default)]
    pub shared_with: std::collections::BTreeSet<String>,
    /// The cases it is linked to.
    #[serde(default)]
    pub links: std::collections::BTreeSet<AlertKey>,
    /// How many times it was escalated, and the last time.
    #[serde(default)]
    pub escalations: u32,
    #[serde(default)]
    pub last_escalated: Option<DateTime<Utc>>,
    /// When vigil stored the alert (its first event), and when the case's log last grew: what a handover
    /// reads to find the cases that changed in its time without reading every case's log.
    #[serde(default)]
    pub received: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_event: Option<DateTime<Utc>>,
    /// Of a phoned-in case: the vendor's records attached to it, and those a reviewer said are not its.
    #[serde(default)]
    pub vendor_records: std::collections::BTreeSet<AlertKey>,
    #[serde(default)]
    pub declined_vendor: std::collections::BTreeSet<AlertKey>,
    /// Of a vendor's case: the phoned-in case it was attached to.
    #[serde(default)]
    pub attached_to: Option<AlertKey>,
}

impl Case {
    /// Folds a case's events in order. Returns `None` when the log has no `Raised` event (nothing to fold).
    pub fn fold(key: AlertKey, events: &[CaseEvent]) -> Option<Case> {
        let mut case: Option<Case> = None;
        for event in events {
            case = Some(match case {
                None => match &event.kind {
                    EventKind::Raised { revision, level, illegal_path, template_version } => Case {
                        key: key.clone(),
                        template_version: *template_version,
                        raised_level: *level,
                        level: *level,
                        illegal_path: *illegal_path,
                        revision: *revision,
                        withdrawn: None,
                        closed: None,
                        done: BTreeMap::new(),
                        follow_up: None,
                        first_viewed: None,
                        acted: false,
                        regraded: false,
                        events: 1,
                        actors: Default::default(),
                        responses: Default::default(),
                        owner: None,
                        shared_with: Default::default(),
                        links: Default::default(),
                        escalations: 0,
                        last_escalated: None,
                        received: Some(event.at),
                        last_event: Some(event.at),
                        vendor_records: Default::default(),
                        declined_vendor: Default::default(),
                        attached_to: None,
                    },
                    // Events before `Raised` cannot happen through the service; skip rather than fail.
                    _ => continue,
                },
                Some(mut c) => {
                    c.apply(event);
                    c
                }
            });
        }
        case
    }

    /// Folds one more event into the case. The items' roles are the built-in templates' (the only ones; a case
    /// records their version).
    pub fn apply(&mut self, event: &CaseEvent) {
        let templates = Templates::embedded();
        self.events += 1;
        self.last_event = Some(self.last_event.map_or(event.at, |t| t.max(event.at)));
        match &event.kind {
            EventKind::ItemDone { item, .. } if templates.has_role(item, ItemRole::Response) => {
                self.responses.insert(item.clone());
            }
            EventKind::ItemUndone { item, .. } => {
                self.responses.remove(item);
            }
            _ => {}
        }
        if let Actor::Person(name) = event.actor()
            && !event.kind.is_team_bookkeeping()
        {
            self.actors.insert(name);
        }
        match &event.kind {
            EventKind::Raised { .. } => {}
            EventKind::Revised { to, level, illegal_path, .. } => {
                self.revision = *to;
                self.illegal_path |= *illegal_path;
                // A reviewer's regrade stands; otherwise the new content's level does, except that a case on
                // the illegal-content path (a High response) is not taken below High by the feed.
                if !self.regraded {
                    let level = if self.illegal_path { (*level).max(Level::High) } else { *level };
                    self.level = level;
                    self.raised_level = level;
                }
            }
            EventKind::Withdrawn => self.withdrawn = Some(event.at),
            EventKind::Reinstated => self.withdrawn = None,
            EventKind::Viewed => {
                self.first_viewed.get_or_insert(event.at);
            }
            EventKind::Regraded { to, .. } => {
                self.level = *to;
                self.regraded = true;
                self.acted = true;
            }
            EventKind::IllegalPathChosen { .. } => {
                self.illegal_path = true;
                self.acted = true;
            }
            EventKind::ItemDone { item, value, note } => {
                // A follow-up date ticked on the checklist ("follow-up meetings arranged") is the case's follow-up
                // date: on that day the case rises to the top of its level.
                if templates.has_role(item, ItemRole::FollowUpDate)
                    && let Some(date) = value.as_deref().and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
                {
                    self.follow_up = Some(date);
                }
                self.done.insert(
                    item.clone(),
                    ItemState { value: value.clone(), note: note.clone(), at: event.at, actor: event.actor.clone() },
                );
                self.acted = true;
            }
            EventKind::ItemUndone { item, .. } => {
                self.done.remove(item);
            }
            EventKind::NoteAdded { .. } => self.acted = true,
            EventKind::FollowUpSet { date } => self.follow_up = Some(*date),
            EventKind::Closed { outcome } => self.closed = Some((event.at, outcome.clone())),
            EventKind::Reopened { .. } => self.closed = None,
            EventKind::Assigned { to } => self.owner = Some(to.clone()),
            EventKind::Released => self.owner = None,
            EventKind::Shared { with, .. } => {
                self.shared_with.insert(with.clone());
            }
            EventKind::Unshared { with, .. } => {
                self.shared_with.remove(with);
            }
            EventKind::Linked { other } => {
                self.links.insert(other.clone());
            }
            EventKind::Unlinked { other, .. } => {
                self.links.remove(other);
            }
            EventKind::VendorRecordAttached { other } => {
                self.vendor_records.insert(other.clone());
            }
            EventKind::AttachedTo { case } => self.attached_to = Some(case.clone()),
            EventKind::VendorRecordDeclined { other, .. } => {
                self.declined_vendor.insert(other.clone());
            }
            EventKind::Escalated { .. } => {
                self.escalations += 1;
                self.last_escalated = Some(event.at);
            }
        }
    }

    /// Whether `user` counts this case as theirs: they have it, or nobody has it and they acted on it.
    pub fn is_mine(&self, user: &str) -> bool {
        match &self.owner {
            Some(owner) => owner == user,
            None => self.actors.contains(user),
        }
    }

    /// When the case stopped needing anyone, the time retention counts from: its close, or, for a case
    /// withdrawn by the vendor and never closed, the withdrawal.
    pub fn settled(&self) -> Option<DateTime<Utc>> {
        self.closed.as_ref().map(|(at, _)| *at).or(self.withdrawn)
    }

    pub fn status(&self) -> Status {
        if self.attached_to.is_some() {
            Status::Merged
        } else if self.closed.is_some() {
            Status::Closed
        } else if self.withdrawn.is_some() {
            Status::Withdrawn
        } else if self.acted {
            Status::InProgress
        } else if self.first_viewed.is_some() {
            Status::Open
        } else {
            Status::New
        }
    }

    /// Whether the level's response has been recorded: its item of role [`ItemRole::Response`] (High, contact
    /// with the student, "immediately on receipt"; Medium, the same-day / next-day follow-up) is done. Low has
    /// none: a Low case is due to be closed. Once the response is recorded the case is no longer overdue, though
    /// it stays open until closed.
    pub fn responded(&self) -> bool {
        Templates::embedded().response_item(self.level).is_some_and(|item| self.responses.contains(&item.id))
    }

    /// Whether the case is overdue at `now`, its due time being `due`: see [`is_overdue`].
    pub fn is_overdue(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        is_overdue(self.status().is_open(), self.responded(), due, now)
    }

    pub fn path(&self, staff: bool) -> CasePath {
        CasePath { level: self.level, staff, illegal: self.illegal_path, trend: false }
    }

    /// Required items of the case's current path that are not done, in checklist order: what closing needs.
    pub fn missing_required(&self, templates: &Templates, staff: bool) -> Vec<String> {
        templates
            .items_for(self.path(staff))
            .into_iter()
            .filter(|(section, item)| self.requires(templates, section, item) && !self.done.contains_key(&item.id))
            .map(|(_, i)| i.id.clone())
            .collect()
    }

    /// Whether closing the case needs `item` (of `section`, on the case's path) done. Normally: the items the
    /// template marks required.
    ///
    /// A case the vendor withdrew is different: the alert no longer stands, so the review and the level's
    /// response it asked for are not owed. What is still owed is the record of what was started: the
    /// illegal-content path's steps, if the case is on it (a suspicion of illegal content is for the college
    /// and the police to settle, not the vendor), and, if anything was already done about the student (an
    /// item beyond the initial review ticked), the CPOMS reference and the student-tracking note, since what
    /// was done is part of their safeguarding record.
    pub fn requires(&self, templates: &Templates, section: &Section, item: &ItemTemplate) -> bool {
        if !item.required {
            return false;
        }
        if self.withdrawn.is_none() {
            return true;
        }
        let acted_on_student = self.done.keys().any(|id| {
            templates
                .section_of_item(id)
                .is_some_and(|s| !matches!(s.applies_to, AppliesTo::StudentAlerts | AppliesTo::IllegalContent))
        });
        section.applies_to == AppliesTo::IllegalContent
            || acted_on_student && (item.has_role(ItemRole::Cpoms) || item.has_role(ItemRole::TrackingNote))
    }
}

/// The one rule for "overdue", used by the queue, its header, the dashboard and the reports: a case is overdue
/// while it is open, the response its due time is for ([`Case::responded`]) is not recorded, and its due time
/// has passed. (Callers that hold only a queue row pass its fields; those that hold the case use
/// [`Case::is_overdue`].)
pub fn is_overdue(open: bool, responded: bool, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    open && !responded && now > due
}

/// Why a command on a case was refused. Every message names what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("this case is closed; reopen it first (with a reason)")]
    Closed,
    #[error("this case is not closed")]
    NotClosed,
    #[error("cannot close: required items still open: {}", .0.join(", "))]
    MissingRequired(Vec<String>),
    #[error("unknown outcome `{given}` for this case; choose one of: {}", .allowed.join(", "))]
    UnknownOutcome { given: String, allowed: Vec<String> },
    #[error("unknown checklist item `{0}`")]
    UnknownItem(String),
    #[error("item `{item}` needs a value ({kind})")]
    ValueNeeded { item: String, kind: &'static str },
    #[error("`{value}` is not one of the choices for `{item}`: {}", .choices.join(", "))]
    BadChoice { item: String, value: String, choices: Vec<String> },
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the case is already at {0}")]
    SameLevel(Level),
    #[error("item `{0}` is not done")]
    NotDone(String),
    #[error("a note cannot be empty")]
    EmptyNote,
    #[error(
        "a case on the illegal-content path stays High; if the path was chosen in error, close the case \
         (false-positive is offered) and say why in a note"
    )]
    IllegalPathIsHigh,
    #[error("this case is already on the illegal-content path")]
    AlreadyIllegal,
    #[error("`{value}` is not a valid value for `{item}`: expected {expected}")]
    BadValue { item: String, value: String, expected: &'static str },
    #[error("the case is already {0}'s")]
    AlreadyOwner(String),
    #[error("nobody has this case")]
    NotAssigned,
    #[error("name a user")]
    UserRequired,
    #[error("the case is already shared with {0}")]
    AlreadyShared(String),
    #[error("the case is not shared with {0}")]
    NotShared(String),
    #[error("a case cannot be linked to itself")]
    LinkSelf,
    #[error("the case is already linked to {0}")]
    AlreadyLinked(String),
    #[error("the case is not linked to {0}")]
    NotLinked(String),
    #[error("the vendor's record {0} is attached to this case already")]
    AlreadyAttached(String),
    #[error("the vendor's record {0} was declined for this case already")]
    AlreadyDeclined(String),
    #[error("this case was attached to {0}: act on that case")]
    AttachedElsewhere(String),
}

/// What [`decide`] needs to know about a case's alert, besides the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertFacts<'a> {
    /// The alert is about a member of staff.
    pub staff: bool,
    /// The alert's category, as the feed sent it.
    pub category: &'a str,
    /// Its category takes the illegal-content path at High ([`super::levels::LevelPolicy::illegal_at_high`]).
    pub illegal_at_high: bool,
}

/// Checks a decision against the procedure's rules and returns the events that record it, in order: one
/// decision, written whole or not at all. Most decisions are one event. Putting a case on the illegal-content
/// path makes it High in the same decision (a regrade, then the path), since the path is a High response; a
/// regrade to High of a category that takes that path at High puts it on the path too (as ingest would have).
/// This is the only place these rules and the close rules live; the TUI and `vigil case` both come through
/// here. `by` is the user name of who decides. (Who may be given or shown a case is the service's to judge,
/// from the team's roles, before it asks here.)
pub fn decide(
    case: &Case,
    alert: &AlertFacts<'_>,
    templates: &Templates,
    by: &str,
    command: &CaseCommand,
) -> Result<Vec<EventKind>, RuleError> {
    let staff = alert.staff;
    let reason = |r: &str| {
        let r = r.trim();
        if r.is_empty() { Err(RuleError::ReasonRequired) } else { Ok(r.to_string()) }
    };
    let open = || if case.closed.is_some() { Err(RuleError::Closed) } else { Ok(()) };
    let user = |u: &str| {
        let u = u.trim();
        if u.is_empty() { Err(RuleError::UserRequired) } else { Ok(u.to_string()) }
    };
    match command {
        CaseCommand::Take => decide(case, alert, templates, by, &CaseCommand::Assign { to: by.to_string() }),
        CaseCommand::Assign { to } => {
            open()?;
            let to = user(to)?;
            if case.owner.as_deref() == Some(to.as_str()) {
                return Err(RuleError::AlreadyOwner(to));
            }
            Ok(vec![EventKind::Assigned { to }])
        }
        CaseCommand::Release => {
            if case.owner.is_none() {
                return Err(RuleError::NotAssigned);
            }
            Ok(vec![EventKind::Released])
        }
        CaseCommand::Share { with, reason: why } => {
            let with = user(with)?;
            if case.shared_with.contains(&with) {
                return Err(RuleError::AlreadyShared(with));
            }
            Ok(vec![EventKind::Shared { with, reason: reason(why)? }])
        }
        CaseCommand::Unshare { with, reason: why } => {
            let with = user(with)?;
            if !case.shared_with.contains(&with) {
                return Err(RuleError::NotShared(with));
            }
            Ok(vec![EventKind::Unshared { with, reason: reason(why)? }])
        }
        CaseCommand::Link { other } => {
            if *other == case.key {
                return Err(RuleError::LinkSelf);
            }
            if case.links.contains(other) {
                return Err(RuleError::AlreadyLinked(other.to_string()));
            }
            Ok(vec![EventKind::Linked { other: other.clone() }])
        }
        CaseCommand::Unlink { other, reason: why } => {
            if !case.links.contains(other) {
                return Err(RuleError::NotLinked(other.to_string()));
            }
            Ok(vec![EventKind::Unlinked { other: other.clone(), reason: reason(why)? }])
        }
        CaseCommand::AttachVendor { other } => {
            if *other == case.key {
                return Err(RuleError::LinkSelf);
            }
            if let Some(into) = &case.attached_to {
                return Err(RuleError::AttachedElsewhere(into.to_string()));
            }
            if case.vendor_records.contains(other) {
                return Err(RuleError::AlreadyAttached(other.to_string()));
            }
            Ok(vec![EventKind::VendorRecordAttached { other: other.clone() }])
        }
        CaseCommand::DeclineVendor { other, reason: why } => {
            if case.vendor_records.contains(other) {
                return Err(RuleError::AlreadyAttached(other.to_string()));
            }
            if case.declined_vendor.contains(other) {
                return Err(RuleError::AlreadyDeclined(other.to_string()));
            }
            Ok(vec![EventKind::VendorRecordDeclined { other: other.clone(), reason: reason(why)? }])
        }
        CaseCommand::Tick { item, value, note } => {
            open()?;
            let template = templates.item(item).ok_or_else(|| RuleError::UnknownItem(item.clone()))?;
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
            if template.kind.needs_value() && value.is_none() {
                return Err(RuleError::ValueNeeded { item: item.clone(), kind: template.kind.as_str() });
            }
            let value = match value {
                Some(v) => Some(normalize_value(item, template.kind, &template.choices, v)?),
                None => None,
            };
            let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
            Ok(vec![EventKind::ItemDone { item: item.clone(), value, note }])
        }
        CaseCommand::Untick { item, reason: why } => {
            open()?;
            if !case.done.contains_key(item) {
                return Err(RuleError::NotDone(item.clone()));
            }
            Ok(vec![EventKind::ItemUndone { item: item.clone(), reason: Some(reason(why)?) }])
        }
        CaseCommand::Regrade { level, reason: why } => {
            open()?;
            if *level == case.level {
                return Err(RuleError::SameLevel(*level));
            }
            if case.illegal_path && *level < Level::High {
                return Err(RuleError::IllegalPathIsHigh);
            }
            let mut events = vec![EventKind::Regraded { from: case.level, to: *level, reason: reason(why)? }];
            if *level == Level::High && !case.illegal_path && alert.illegal_at_high {
                // The category is the feed's: one line, so it cannot add lines to a record that quotes the reason.
                let category = super::inert::line(alert.category);
                let reason = format!("regraded to High: {category} alerts take the illegal-content path");
                events.push(EventKind::IllegalPathChosen { reason });
            }
            Ok(events)
        }
        CaseCommand::Illegal { reason: why } => {
            open()?;
            if case.illegal_path {
                return Err(RuleError::AlreadyIllegal);
            }
            let reason = reason(why)?;
            let mut events = Vec::with_capacity(2);
            if case.level != Level::High {
                events.push(EventKind::Regraded {
                    from: case.level,
                    to: Level::High,
                    reason: format!("illegal-content path: {reason}"),
                });
            }
            events.push(EventKind::IllegalPathChosen { reason });
            Ok(events)
        }
        CaseCommand::Note { text } => {
            let text = text.trim();
            if text.is_empty() {
                return Err(RuleError::EmptyNote);
            }
            Ok(vec![EventKind::NoteAdded { text: text.to_string() }])
        }
        CaseCommand::FollowUp { date } => {
            open()?;
            Ok(vec![EventKind::FollowUpSet { date: *date }])
        }
        CaseCommand::Close { outcome } => {
            open()?;
            let missing = case.missing_required(templates, staff);
            if !missing.is_empty() {
                return Err(RuleError::MissingRequired(missing));
            }
            let allowed: Vec<String> =
                templates.outcomes_for(case.path(staff)).into_iter().map(|o| o.id.clone()).collect();
            if !allowed.iter().any(|o| o == outcome) {
                return Err(RuleError::UnknownOutcome { given: outcome.clone(), allowed });
            }
            Ok(vec![EventKind::Closed { outcome: outcome.clone() }])
        }
        CaseCommand::Reopen { reason: why } => {
            if case.closed.is_none() {
                return Err(RuleError::NotClosed);
            }
            Ok(vec![EventKind::Reopened { reason: reason(why)? }])
        }
    }
}

/// Checks a value against its item's kind and returns it in one canonical form (dates `YYYY-MM-DD`, times
/// `HH:MM`, choices spelled as in the template), so reports and records can rely on it.
fn normalize_value(item: &str, kind: ItemKind, choices: &[String], v: String) -> Result<String, RuleError> {
    let bad = |expected| RuleError::BadValue { item: item.to_string(), value: v.clone(), expected };
    match kind {
        ItemKind::Choice => super::values::choice(choices, &v).cloned().ok_or_else(|| RuleError::BadChoice {
            item: item.to_string(),
            value: v.clone(),
            choices: choices.to_vec(),
        }),
        ItemKind::Date => super::values::date(&v)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .map_err(|_| bad("a date, YYYY-MM-DD or DD/MM/YYYY")),
        ItemKind::Time => {
            super::values::time(&v).map(|t| t.format("%H:%M").to_string()).map_err(|_| bad("a time, HH:MM (24-hour)"))
        }
        _ => Ok(v),
    }
}

/// A reviewer's decision on a case: the one grammar shared by `vigil case ID ...` and the TUI's `:` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaseCommand {
    Tick {
        item: String,
        value: Option<String>,
        note: Option<String>,
    },
    Untick {
        item: String,
        reason: String,
    },
    Regrade {
        level: Level,
        reason: String,
    },
    Illegal {
        reason: String,
    },
    Note {
        text: String,
    },
    FollowUp {
        date: NaiveDate,
    },
    Close {
        outcome: String,
    },
    Reopen {
        reason: String,
    },
    /// The case becomes the decider's.
    Take,
    Assign {
        to: String,
    },
    Release,
    Share {
        with: String,
        reason: String,
    },
    Unshare {
        with: String,
        reason: String,
    },
    /// Links this case and `other`: the service records it on both.
    Link {
        other: AlertKey,
    },
    Unlink {
        other: AlertKey,
        reason: String,
    },
    /// Confirms that the vendor's record `other` is the alert a phoned-in case was taken from: the two become
    /// one case (the service records it on both, whichever of the two it is asked on).
    AttachVendor {
        other: AlertKey,
    },
    /// Says the vendor's record `other` is not that alert: it is not proposed again.
    DeclineVendor {
        other: AlertKey,
        reason: String,
    },
}

/// A command's word, as `vigil case ID WORD` and the `:` line spell it.
pub fn command_word(command: &CaseCommand) -> &'static str {
    match command {
        CaseCommand::Tick { .. } => "tick",
        CaseCommand::Untick { .. } => "untick",
        CaseCommand::Regrade { .. } => "regrade",
        CaseCommand::Illegal { .. } => "illegal",
        CaseCommand::Note { .. } => "note",
        CaseCommand::FollowUp { .. } => "follow-up",
        CaseCommand::Close { .. } => "close",
        CaseCommand::Reopen { .. } => "reopen",
        CaseCommand::Take => "take",
        CaseCommand::Assign { .. } => "assign",
        CaseCommand::Release => "release",
        CaseCommand::Share { .. } => "share",
        CaseCommand::Unshare { .. } => "unshare",
        CaseCommand::Link { .. } => "link",
        CaseCommand::Unlink { .. } => "unlink",
        CaseCommand::AttachVendor { .. } => "link-vendor",
        CaseCommand::DeclineVendor { .. } => "decline-vendor",
    }
}

impl CaseCommand {
    /// Whether the UI should ask "are you sure?" first (Cancel is the default answer).
    pub fn needs_confirmation(&self) -> bool {
        matches!(
            self,
            CaseCommand::Close { .. }
                | CaseCommand::Regrade { .. }
                | CaseCommand::Reopen { .. }
                | CaseCommand::Share { .. }
                | CaseCommand::Unshare { .. }
                | CaseCommand::AttachVendor { .. }
        )
    }

    /// Commands about who has or sees the case, which never need the case's owner to agree.
    pub fn is_team_bookkeeping(&self) -> bool {
        matches!(
            self,
            CaseCommand::Take
                | CaseCommand::Assign { .. }
                | CaseCommand::Release
                | CaseCommand::Share { .. }
                | CaseCommand::Unshare { .. }
                | CaseCommand::Link { .. }
                | CaseCommand::Unlink { .. }
                | CaseCommand::AttachVendor { .. }
                | CaseCommand::DeclineVendor { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 11, 10, h, m, 0).single().expect("valid literal")
    }

    fn raised(level: Level) -> Vec<CaseEvent> {
        vec![CaseEvent::new(
            at(9, 0),
            "feed",
            EventKind::Raised { revision: 1, level, illegal_path: false, template_version: 1 },
        )]
    }

    fn fold(events: &[CaseEvent]) -> Case {
        Case::fold(AlertKey::new("s", "a"), events).expect("raised")
    }

    fn apply(events: &mut Vec<CaseEvent>, command: CaseCommand) -> Result<(), RuleError> {
        let case = fold(events);
        let facts = AlertFacts { staff: false, category: "violence", illegal_at_high: false };
        for kind in decide(&case, &facts, Templates::embedded(), "dsl", &command)? {
            events.push(CaseEvent::new(at(10, events.len() as u32), "dsl", kind));
        }
        Ok(())
    }

    fn tick_all_required(events: &mut Vec<CaseEvent>) {
        let t = Templates::embedded();
        for id in fold(events).missing_required(t, false) {
            let item = t.item(&id).expect("template item");
            let value = match item.kind {
                ItemKind::Tick => None,
                ItemKind::Choice => item.choices.first().cloned(),
                ItemKind::Date => Some("2026-11-20".into()),
                ItemKind::Time => Some("10:05".into()),
                _ => Some("REF-1".into()),
            };
            apply(events, CaseCommand::Tick { item: id, value, note: None }).expect("tick");
        }
    }

    #[test]
    fn a_new_case_is_new_then_open_then_in_progress() {
        let mut ev = raised(Level::Medium);
        assert_eq!(fold(&ev).status(), Status::New);
        ev.push(CaseEvent::new(at(9, 5), "dsl", EventKind::Viewed));
        assert_eq!(fold(&ev).status(), Status::Open);
        assert_eq!(fold(&ev).first_viewed, Some(at(9, 5)));
        apply(&mut ev, CaseCommand::Note { text: "spoke to tutor".into() }).expect("note");
        assert_eq!(fold(&ev).status(), Status::InProgress);
    }

    #[test]
    fn a_case_cannot_close_with_required_items_open_and_the_message_names_them() {
        let mut ev = raised(Level::Medium);
        let err = apply(&mut ev, CaseCommand::Close { outcome: "false-positive".into() }).expect_err("missing");
        match err {
            RuleError::MissingRequired(items) => {
                assert!(items.contains(&"medium-cpoms".to_string()), "{items:?}");
                assert!(items.contains(&"medium-tracking-note".to_string()));
            }
            other => panic!("{other:?}"),
        }
        tick_all_required(&mut ev);
        let err = apply(&mut ev, CaseCommand::Close { outcome: "no-such".into() }).expect_err("bad outcome");
        assert!(matches!(err, RuleError::UnknownOutcome { .. }));
        apply(&mut ev, CaseCommand::Close { outcome: "false-positive".into() }).expect("close");
        assert_eq!(fold(&ev).status(), Status::Closed);
        assert_eq!(apply(&mut ev, CaseCommand::Note { text: "late note".into() }), Ok(()), "notes are always allowed");
        assert_eq!(
            apply(&mut ev, CaseCommand::Tick { item: "review-alert".into(), value: None, note: None }),
            Err(RuleError::Closed)
        );
    }

    #[test]
    fn reopening_needs_a_reason_and_low_needs_no_cpoms() {
        let mut ev = raised(Level::Low);
        tick_all_required(&mut ev);
        assert!(!fold(&ev).done.contains_key("medium-cpoms"));
        apply(&mut ev, CaseCommand::Close { outcome: "no-further-action".into() }).expect("close");
        assert_eq!(apply(&mut ev, CaseCommand::Reopen { reason: "  ".into() }), Err(RuleError::ReasonRequired));
        apply(&mut ev, CaseCommand::Reopen { reason: "new information".into() }).expect("reopen");
        assert_eq!(fold(&ev).status(), Status::InProgress);
    }

    #[test]
    fn regrading_needs_a_reason_brings_in_new_items_and_keeps_done_ones() {
        let mut ev = raised(Level::Low);
        apply(&mut ev, CaseCommand::Tick { item: "review-alert".into(), value: None, note: None }).expect("tick");
        assert_eq!(
            apply(&mut ev, CaseCommand::Regrade { level: Level::High, reason: "".into() }),
            Err(RuleError::ReasonRequired)
        );
        assert_eq!(
            apply(&mut ev, CaseCommand::Regrade { level: Level::Low, reason: "same".into() }),
            Err(RuleError::SameLevel(Level::Low))
        );
        apply(&mut ev, CaseCommand::Regrade { level: Level::High, reason: "named a date".into() }).expect("regrade");
        let case = fold(&ev);
        assert_eq!(case.level, Level::High);
        assert!(case.done.contains_key("review-alert"));
        let missing = case.missing_required(Templates::embedded(), false);
        assert!(missing.contains(&"high-cpoms".to_string()));
        assert!(!missing.contains(&"review-alert".to_string()));
    }

    #[test]
    fn items_that_need_a_value_refuse_a_bare_tick_and_choices_are_checked() {
        let mut ev = raised(Level::Medium);
        assert!(matches!(
            apply(&mut ev, CaseCommand::Tick { item: "medium-cpoms".into(), value: None, note: None }),
            Err(RuleError::ValueNeeded { .. })
        ));
        assert!(matches!(
            apply(
                &mut ev,
                CaseCommand::Tick { item: "medium-parents".into(), value: Some("maybe".into()), note: None }
            ),
            Err(RuleError::BadChoice { .. })
        ));
        assert!(matches!(
            apply(&mut ev, CaseCommand::Tick { item: "nope".into(), value: None, note: None }),
            Err(RuleError::UnknownItem(_))
        ));
    }

    #[test]
    fn undoing_an_item_needs_a_reason_and_reopens_the_requirement() {
        let mut ev = raised(Level::Medium);
        apply(&mut ev, CaseCommand::Tick { item: "medium-tracking-note".into(), value: None, note: None })
            .expect("tick");
        assert_eq!(
            apply(&mut ev, CaseCommand::Untick { item: "medium-tracking-note".into(), reason: " ".into() }),
            Err(RuleError::ReasonRequired)
        );
        apply(&mut ev, CaseCommand::Untick { item: "medium-tracking-note".into(), reason: "ticked by mistake".into() })
            .expect("untick");
        assert!(fold(&ev).missing_required(Templates::embedded(), false).contains(&"medium-tracking-note".to_string()));
    }

    #[test]
    fn a_revision_changes_the_level_unless_a_reviewer_regraded() {
        let mut ev = raised(Level::Low);
        ev.push(CaseEvent::new(
            at(9, 1),
            "feed",
            EventKind::Revised { from: 1, to: 2, level: Level::Medium, illegal_path: false },
        ));
        assert_eq!(fold(&ev).level, Level::Medium);
        assert_eq!(fold(&ev).revision, 2);
        apply(&mut ev, CaseCommand::Regrade { level: Level::Low, reason: "context is filming".into() })
            .expect("regrade");
        ev.push(CaseEvent::new(
            at(11, 0),
            "feed",
            EventKind::Revised { from: 2, to: 3, level: Level::High, illegal_path: false },
        ));
        assert_eq!(fold(&ev).level, Level::Low, "the reviewer's regrade stands");
    }

    #[test]
    fn dates_and_times_are_checked_and_normalised_and_a_follow_up_date_is_the_case_follow_up() {
        let mut ev = raised(Level::Medium);
        let bad = apply(
            &mut ev,
            CaseCommand::Tick { item: "post-follow-up-date".into(), value: Some("next week".into()), note: None },
        );
        assert!(matches!(bad, Err(RuleError::BadValue { .. })), "{bad:?}");
        apply(
            &mut ev,
            CaseCommand::Tick { item: "post-follow-up-date".into(), value: Some("20/11/2026".into()), note: None },
        )
        .expect("date");
        let case = fold(&ev);
        assert_eq!(case.done["post-follow-up-date"].value.as_deref(), Some("2026-11-20"));
        assert_eq!(case.follow_up, NaiveDate::from_ymd_opt(2026, 11, 20));
        let mut high = raised(Level::High);
        assert!(matches!(
            apply(
                &mut high,
                CaseCommand::Tick { item: "high-contact-time".into(), value: Some("25:00".into()), note: None }
            ),
            Err(RuleError::BadValue { .. })
        ));
        apply(
            &mut high,
            CaseCommand::Tick { item: "high-contact-time".into(), value: Some("9:05".into()), note: None },
        )
        .expect("time");
        assert_eq!(fold(&high).done["high-contact-time"].value.as_deref(), Some("09:05"));
        apply(&mut high, CaseCommand::Tick { item: "high-parents".into(), value: Some("informed".into()), note: None })
            .expect("choice, any case");
        assert_eq!(fold(&high).done["high-parents"].value.as_deref(), Some("Informed"));
    }

    #[test]
    fn withdrawn_cases_leave_the_open_queue_but_stay() {
        let mut ev = raised(Level::High);
        ev.push(CaseEvent::new(at(9, 1), "feed", EventKind::Withdrawn));
        let case = fold(&ev);
        assert_eq!(case.status(), Status::Withdrawn);
        assert!(!case.status().is_open());
    }

    #[test]
    fn choosing_the_illegal_path_regrades_to_high_in_the_same_decision_and_keeps_it_there() {
        let mut ev = raised(Level::Medium);
        apply(&mut ev, CaseCommand::Illegal { reason: "indecent image".into() }).expect("illegal");
        let kinds: Vec<&EventKind> = ev.iter().skip(1).map(|e| &e.kind).collect();
        assert!(
            matches!(
                kinds[..],
                [EventKind::Regraded { from: Level::Medium, to: Level::High, .. }, EventKind::IllegalPathChosen { .. }]
            ),
            "{kinds:?}"
        );
        assert_eq!(
            apply(&mut ev, CaseCommand::Regrade { level: Level::Low, reason: "r".into() }),
            Err(RuleError::IllegalPathIsHigh)
        );
        // A revision at a lower level does not take it below High either.
        ev.push(CaseEvent::new(
            at(11, 0),
            "feed",
            EventKind::Revised { from: 1, to: 2, level: Level::Low, illegal_path: false },
        ));
        let case = fold(&ev);
        assert_eq!((case.level, case.illegal_path), (Level::High, true));
        // Ingest put a grooming case on the path at High; the feed lowering its risk keeps it High.
        let mut grooming = vec![CaseEvent::new(
            at(9, 0),
            "feed",
            EventKind::Raised { revision: 1, level: Level::High, illegal_path: true, template_version: 1 },
        )];
        grooming.push(CaseEvent::new(
            at(9, 30),
            "feed",
            EventKind::Revised { from: 1, to: 2, level: Level::Medium, illegal_path: false },
        ));
        assert_eq!(fold(&grooming).level, Level::High);
    }

    /// Issue 14: `decide` returns every event a command implies. A regrade to High of a category that takes the
    /// illegal-content path at High (grooming) is one decision: the regrade and the path, from one call, so the
    /// service writes them in one transaction. Other regrades, and a case already on the path, get the regrade
    /// alone.
    #[test]
    fn regrading_grooming_to_high_is_one_decision_with_the_illegal_path() {
        let grooming = AlertFacts { staff: false, category: "grooming", illegal_at_high: true };
        let regrade = |level| CaseCommand::Regrade { level, reason: "adult arranging to meet".into() };
        let case = fold(&raised(Level::Medium));
        let kinds = decide(&case, &grooming, Templates::embedded(), "dsl", &regrade(Level::High)).expect("regrade");
        assert!(
            matches!(
                &kinds[..],
                [EventKind::Regraded { from: Level::Medium, to: Level::High, .. }, EventKind::IllegalPathChosen { reason }]
                    if reason == "regraded to High: grooming alerts take the illegal-content path"
            ),
            "{kinds:?}"
        );
        let kinds = decide(&case, &grooming, Templates::embedded(), "dsl", &regrade(Level::Low)).expect("regrade");
        assert!(matches!(&kinds[..], [EventKind::Regraded { to: Level::Low, .. }]), "{kinds:?}");
        let violence = AlertFacts { staff: false, category: "violence", illegal_at_high: false };
        let kinds = decide(&case, &violence, Templates::embedded(), "dsl", &regrade(Level::High)).expect("regrade");
        assert!(matches!(&kinds[..], [EventKind::Regraded { to: Level::High, .. }]), "{kinds:?}");
    }

    #[test]
    fn the_illegal_path_adds_its_required_steps() {
        let mut ev = raised(Level::High);
        apply(&mut ev, CaseCommand::Illegal { reason: "image described as indecent".into() }).expect("illegal");
        let missing = fold(&ev).missing_required(Templates::embedded(), false);
        assert!(missing.contains(&"illegal-police-ref".to_string()));
        assert!(missing.contains(&"illegal-second-senior".to_string()));
    }
}
