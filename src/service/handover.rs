//! "What happened while I was away": the handover a reviewer reads when they take over, the notes one
//! reviewer leaves for the next, the acknowledgement that they were read, and the line the TUI opens with
//! (what changed since the reviewer last looked).
//!
//! Everything here is read in the reader's visibility ([`super::Asking::visible`], through the queue's rows):
//! an officer's handover has only the cases shared with them, and nobody's has a staff alert they may not
//! see. Handover notes are free text about any case, so they are for those on duty (the DSL and the deputy)
//! alone. Decisions are described without content (what was done, not what was typed): the handover is an
//! overview, and each case's own timeline has the rest.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Asking, CaseSummary, Result, ServiceError};
use crate::audit;
use crate::domain::{Actor, AlertKey, EventKind, Level, Status};
use crate::store::HandoverAck;

/// Where a handover starts from, with neither an acknowledgement nor a time given: the last day.
pub const DEFAULT_LOOKBACK_HOURS: i64 = 24;

/// Why a handover starts where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinceWhy {
    /// The time the reader gave (`--since`).
    Given,
    /// The end of the handover the reader last acknowledged.
    Acknowledged,
    /// The reader has acknowledged no handover: the last [`DEFAULT_LOOKBACK_HOURS`] hours.
    LastDay,
}

/// One case as a handover lists it: what the queue's row says of it, no more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverCase {
    pub key: AlertKey,
    pub level: Level,
    pub category: String,
    pub status: Status,
    pub staff: bool,
    /// Who has it, as named to a reader.
    pub owner: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub follow_up: Option<NaiveDate>,
}

impl HandoverCase {
    fn of(row: &CaseSummary) -> HandoverCase {
        HandoverCase {
            key: row.key.clone(),
            level: row.level,
            category: row.category.clone(),
            status: row.status,
            staff: row.staff,
            owner: row.owner_name.clone(),
            due_at: row.due_at,
            overdue: row.overdue,
            follow_up: row.follow_up,
        }
    }
}

/// One decision, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverDecision {
    pub at: DateTime<Utc>,
    pub case: AlertKey,
    pub what: String,
}

/// Everything one person decided in the handover's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonDecisions {
    /// As named to a reader ("A. Example (DSL)").
    pub person: String,
    pub decisions: Vec<HandoverDecision>,
}

/// A handover note as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteShown {
    pub id: u64,
    pub at: DateTime<Utc>,
    /// As named to a reader.
    pub author: String,
    pub text: String,
}

/// The handover: what happened between `since` and `until`, in the reader's visibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    pub since: DateTime<Utc>,
    pub since_why: SinceWhy,
    pub until: DateTime<Utc>,
    /// The alerts that arrived in the time, in queue order (whatever they are now).
    pub new_alerts: Vec<HandoverCase>,
    /// Every decision in the time, by person (in name order), each person's oldest first.
    pub decisions: Vec<PersonDecisions>,
    /// What is open now, in queue order.
    pub open: Vec<HandoverCase>,
    /// The first working day ahead of `until` (today, before the opening).
    pub next_working_day: NaiveDate,
    /// Open cases whose follow-up date is on or before `next_working_day`, earliest first.
    pub follow_ups: Vec<HandoverCase>,
    /// The handover notes written in the time (for those on duty; an officer's handover has none).
    pub notes: Vec<NoteShown>,
    /// The newest note the reader is shown, or had acknowledged before: what acknowledging this covers.
    pub last_note: Option<u64>,
}

impl Handover {
    /// How many things it lists (cases, people, decisions, lines of notes): how far a reader may need to
    /// scroll, each perhaps wrapped once, past a screen of headings.
    pub fn entries(&self) -> usize {
        let notes: usize = self.notes.iter().map(|n| 1 + n.text.lines().count()).sum();
        let decisions: usize = self.decisions.iter().map(|p| 1 + p.decisions.len()).sum();
        notes + decisions + self.new_alerts.len() + self.open.len() + self.follow_ups.len()
    }

    /// New alerts per level, High first.
    pub fn new_by_level(&self) -> [(Level, usize); 3] {
        Level::ALL.map(|l| (l, self.new_alerts.iter().filter(|c| c.level == l).count()))
    }
}

/// What changed since the reader last looked: the TUI's opening line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookBack {
    pub since: DateTime<Utc>,
    pub new_alerts: usize,
    pub new_high: usize,
    /// How many cases each person closed (named to a reader; "you" for the reader), most first.
    pub closed: Vec<(String, usize)>,
}

impl LookBack {
    /// "Since you last looked (Mon 16/11 09:00): 3 new alerts, 1 High; A. Example closed 2".
    pub fn sentence(&self, tz: chrono_tz::Tz) -> String {
        let when = self.since.with_timezone(&tz).format("%a %d/%m %H:%M");
        let mut parts = Vec::new();
        if self.new_alerts > 0 {
            let plural = if self.new_alerts == 1 { "" } else { "s" };
            let mut s = format!("{} new alert{plural}", self.new_alerts);
            if self.new_high > 0 {
                s.push_str(&format!(", {} High", self.new_high));
            }
            parts.push(s);
        }
        if !self.closed.is_empty() {
            parts.push(self.closed.iter().map(|(who, n)| format!("{who} closed {n}")).collect::<Vec<_>>().join(", "));
        }
        if parts.is_empty() {
            format!("Nothing new since you last looked ({when})")
        } else {
            format!("Since you last looked ({when}): {}", parts.join("; "))
        }
    }
}

/// What happened to the cases a reader may see in a time: the alerts that arrived, and the decisions.
struct Activity {
    arrived: Vec<AlertKey>,
    decided: Vec<(AlertKey, Actor, DateTime<Utc>, EventKind)>,
    /// The rows of the cases whose logs grew in the time, as the reader's queue shows them, in queue order.
    rows: Vec<CaseSummary>,
}

impl Asking<'_> {
    /// The handover for this viewer, from `since` (or their last acknowledged handover, or the last day) to
    /// `now`. An audit record (`viewed the handover`): it lists cases and the notes' text.
    pub fn handover(&self, since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<Handover> {
        self.require_reviewer()?;
        let acked = self.store.handover_ack(&self.viewer.user)?;
        let (since, since_why) = match (since, &acked) {
            (Some(t), _) => (t, SinceWhy::Given),
            (None, Some(ack)) => (ack.until, SinceWhy::Acknowledged),
            (None, None) => (now - Duration::hours(DEFAULT_LOOKBACK_HOURS), SinceWhy::LastDay),
        };
        // The open cases, and the rows of those that changed: never every closed case of the store's years.
        let rows = self.queue_open(now)?;
        let activity = self.activity(since, now)?;
        let arrived: std::collections::HashSet<&AlertKey> = activity.arrived.iter().collect();
        let new_alerts = activity.rows.iter().filter(|r| arrived.contains(&r.key)).map(HandoverCase::of).collect();
        let mut people: BTreeMap<String, Vec<HandoverDecision>> = BTreeMap::new();
        for (case, actor, at, kind) in activity.decided {
            let what = self.decision_text(&actor, &kind);
            people.entry(self.team.actor(&actor)).or_default().push(HandoverDecision { at, case, what });
        }
        let decisions = people
            .into_iter()
            .map(|(person, mut decisions)| {
                decisions.sort_by_key(|d| d.at);
                PersonDecisions { person, decisions }
            })
            .collect();
        let open = rows.iter().filter(|r| r.open).map(HandoverCase::of).collect();
        let next_working_day = self.calendar.next_opening(now).with_timezone(&self.calendar.time_zone()).date_naive();
        let mut follow_ups: Vec<HandoverCase> = rows
            .iter()
            .filter(|r| r.open && r.follow_up.is_some_and(|d| d <= next_working_day))
            .map(HandoverCase::of)
            .collect();
        follow_ups.sort_by_key(|c| c.follow_up);
        let notes = if self.viewer.on_duty() {
            self.store
                .handover_notes(since)?
                .into_iter()
                .filter(|n| n.at > since && n.at <= now)
                .map(|n| NoteShown { id: n.id, at: n.at, author: self.team.display(&n.author), text: n.text })
                .collect()
        } else {
            Vec::new()
        };
        let last_note: Option<u64> = notes.iter().map(|n: &NoteShown| n.id).max().or(acked.and_then(|a| a.up_to_note));
        let handover = Handover {
            since,
            since_why,
            until: now,
            new_alerts,
            decisions,
            open,
            next_working_day,
            follow_ups,
            notes,
            last_note,
        };
        self.audit(None, "viewed the handover", now)?;
        Ok(handover)
    }

    /// Writes a handover note for the next person on duty (the DSL's and the deputy's).
    pub fn handover_note(&self, text: &str, now: DateTime<Utc>) -> Result<u64> {
        self.require_on_duty()?;
        if text.trim().is_empty() {
            return Err(ServiceError::Rule(crate::domain::case::RuleError::EmptyNote));
        }
        let entry = audit::Entry::new(now, &self.viewer.user, None, "wrote a handover note");
        Ok(self.store.add_handover_note(now, &self.viewer.user, text, &entry)?.id)
    }

    /// Records that this viewer read the handover up to `until` (what their screen showed; `now` when not
    /// given) and the notes up to `up_to_note` (the newest written by then when not given). Their next
    /// handover starts from there.
    pub fn acknowledge_handover(
        &self,
        until: Option<DateTime<Utc>>,
        up_to_note: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<HandoverAck> {
        self.require_reviewer()?;
        let until = until.map_or(now, |t| t.min(now));
        let up_to_note = match (until == now, up_to_note) {
            (_, Some(n)) => Some(n),
            (true, None) if self.viewer.on_duty() => {
                self.store.handover_notes(DateTime::<Utc>::MIN_UTC)?.iter().map(|n| n.id).max()
            }
            _ => None,
        };
        let ack = HandoverAck { user: self.viewer.user.clone(), at: now, until, up_to_note };
        let entry = audit::Entry::new(now, &self.viewer.user, None, "acknowledged the handover");
        self.store.acknowledge_handover(&ack, &entry)?;
        Ok(ack)
    }

    /// What changed since this viewer last looked (`None` the first time), and marks that they look now: the
    /// TUI asks once as it starts, embedded and through the shared service alike (the mark is in the store).
    /// Counts and names only: no content, so not an audit record.
    pub fn since_last_look(&self, now: DateTime<Utc>) -> Result<Option<LookBack>> {
        self.require_reviewer()?;
        let last = self.store.last_look(&self.viewer.user)?;
        let look_back = match last {
            Some(since) if since < now => {
                let activity = self.activity(since, now)?;
                let by_key: HashMap<&AlertKey, &CaseSummary> = activity.rows.iter().map(|r| (&r.key, r)).collect();
                let new_high =
                    activity.arrived.iter().filter(|k| by_key.get(k).is_some_and(|r| r.level == Level::High)).count();
                let mut closed: BTreeMap<String, usize> = BTreeMap::new();
                for (_, actor, _, kind) in &activity.decided {
                    if let EventKind::Closed { .. } = kind {
                        let who = match actor {
                            Actor::Person(user) if *user == self.viewer.user => "you".to_string(),
                            Actor::Person(user) => self.team.name(user),
                            other => other.to_string(),
                        };
                        *closed.entry(who).or_default() += 1;
                    }
                }
                let mut closed: Vec<(String, usize)> = closed.into_iter().collect();
                closed.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Some(LookBack { since, new_alerts: activity.arrived.len(), new_high, closed })
            }
            _ => None,
        };
        self.store.set_last_look(&self.viewer.user, now)?;
        Ok(look_back)
    }

    /// The alerts that arrived and the decisions people made in `(since, until]`, of the cases the reader may
    /// see, read from the same events the timelines show. Only the logs that grew in that time are read (the
    /// index keeps when each last did), so its cost follows the day's activity, not the store's years.
    fn activity(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Activity> {
        let changed = std::sync::Mutex::new(Vec::new());
        self.store.visit_index(crate::store::backend::IndexScan::All, &|entry: crate::store::IndexEntry| {
            if entry.case.last_event.is_none_or(|t| t > since) && self.visible(&entry.head, &entry.case) {
                let row = self.summarize_owned(entry.head, &entry.case, until);
                changed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(row);
            }
        })?;
        let mut rows = changed.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        rows.sort_unstable_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let mut activity = Activity { arrived: Vec::new(), decided: Vec::new(), rows: Vec::new() };
        for row in &rows {
            for event in self.store.events(&row.key)? {
                if event.at <= since || event.at > until {
                    continue;
                }
                match (&event.kind, event.actor()) {
                    (EventKind::Raised { .. }, _) => activity.arrived.push(row.key.clone()),
                    (EventKind::Viewed, _) => {}
                    (_, actor @ Actor::Person(_)) => {
                        activity.decided.push((row.key.clone(), actor, event.at, event.kind))
                    }
                    _ => {}
                }
            }
        }
        activity.rows = rows;
        Ok(activity)
    }

    /// A decision in words without its content (what was typed stays in the case), people as named to a
    /// reader.
    fn decision_text(&self, actor: &Actor, kind: &EventKind) -> String {
        match kind {
            EventKind::Assigned { to } if actor.person_name() == Some(to.as_str()) => "took the case".into(),
            EventKind::Assigned { to } => format!("gave the case to {}", self.team.name(to)),
            EventKind::Shared { with, .. } => format!("shared the case with {}", self.team.name(with)),
            EventKind::Unshared { with, .. } => format!("stopped sharing the case with {}", self.team.name(with)),
            other => audit::action_text(other),
        }
    }

    fn require_on_duty(&self) -> Result<()> {
        if self.viewer.on_duty() { Ok(()) } else { Err(ServiceError::Forbidden(self.viewer.role.as_str())) }
    }
}
