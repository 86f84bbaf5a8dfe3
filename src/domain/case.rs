//! A case is the fold of its events. Nothing is edited or deleted: an amendment is a new event, so the
//! audit trail, the timeline in the detail pane and the response-time figures are all reads of one log.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::checklist::{CasePath, ItemKind, Templates};
use super::{AlertKey, Level};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The OS user who acted, or `feed` for what the feed did.
    pub actor: String,
    pub kind: EventKind,
}

impl CaseEvent {
    pub fn new(at: DateTime<Utc>, actor: impl Into<String>, kind: EventKind) -> Self {
        CaseEvent { id: Uuid::new_v4(), at, actor: actor.into(), kind }
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
}

impl EventKind {
    /// A short, content-free description for timelines and audit lists.
    pub fn describe(&self) -> String {
        match self {
            EventKind::Raised { revision, level, .. } => format!("raised (rev {revision}) at {level}"),
            EventKind::Revised { from, to, .. } => format!("alert revised by the feed: rev {from} -> {to}"),
            EventKind::Withdrawn => "withdrawn by the vendor".into(),
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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    New,
    Open,
    InProgress,
    Closed,
    Withdrawn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::InProgress => "in-progress",
            Status::Closed => "closed",
            Status::Withdrawn => "withdrawn",
        }
    }

    /// Open cases are the ones somebody still has to act on.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Open | Status::InProgress)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemState {
    pub value: Option<String>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
    pub actor: String,
}

/// The current state of a case, derived from its events and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub key: AlertKey,
    pub template_version: u32,
    pub raised_level: Level,
    pub level: Level,
    pub illegal_path: bool,
    pub revision: u32,
    pub withdrawn: bool,
    pub closed: Option<(DateTime<Utc>, String)>,
    pub done: BTreeMap<String, ItemState>,
    pub follow_up: Option<NaiveDate>,
    pub first_viewed: Option<DateTime<Utc>>,
    pub acted: bool,
    pub regraded: bool,
    pub events: usize,
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
                        withdrawn: false,
                        closed: None,
                        done: BTreeMap::new(),
                        follow_up: None,
                        first_viewed: None,
                        acted: false,
                        regraded: false,
                        events: 1,
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

    fn apply(&mut self, event: &CaseEvent) {
        self.events += 1;
        match &event.kind {
            EventKind::Raised { .. } => {}
            EventKind::Revised { to, level, illegal_path, .. } => {
                self.revision = *to;
                // A reviewer's regrade stands; otherwise the new content's level does.
                if !self.regraded {
                    self.level = *level;
                    self.raised_level = *level;
                }
                self.illegal_path |= *illegal_path;
            }
            EventKind::Withdrawn => self.withdrawn = true,
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
        }
    }

    pub fn status(&self) -> Status {
        if self.closed.is_some() {
            Status::Closed
        } else if self.withdrawn {
            Status::Withdrawn
        } else if self.acted {
            Status::InProgress
        } else if self.first_viewed.is_some() {
            Status::Open
        } else {
            Status::New
        }
    }

    pub fn path(&self, staff: bool) -> CasePath {
        CasePath { level: self.level, staff, illegal: self.illegal_path }
    }

    /// Required items of the case's current path that are not done, in checklist order.
    pub fn missing_required(&self, templates: &Templates, staff: bool) -> Vec<String> {
        templates
            .sections_for(self.path(staff))
            .into_iter()
            .flat_map(|s| s.items.iter())
            .filter(|i| i.required && !self.done.contains_key(&i.id))
            .map(|i| i.id.clone())
            .collect()
    }
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
}

impl ItemKind {
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Tick => "tick",
            ItemKind::Choice => "choice",
            ItemKind::Note => "note",
            ItemKind::Reference => "reference",
            ItemKind::Date => "date",
            ItemKind::Time => "time",
            ItemKind::Person => "person",
        }
    }
}

/// Checks a decision against the procedure's rules and returns the event that records it.
/// This is the only place the close rules live; the TUI and `vigil case` both come through here.
pub fn decide(case: &Case, staff: bool, templates: &Templates, command: &CaseCommand) -> Result<EventKind, RuleError> {
    let reason = |r: &str| {
        let r = r.trim();
        if r.is_empty() { Err(RuleError::ReasonRequired) } else { Ok(r.to_string()) }
    };
    let open = || if case.closed.is_some() { Err(RuleError::Closed) } else { Ok(()) };
    match command {
        CaseCommand::Tick { item, value, note } => {
            open()?;
            let template = templates.item(item).ok_or_else(|| RuleError::UnknownItem(item.clone()))?;
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
            if template.kind.needs_value() && value.is_none() {
                return Err(RuleError::ValueNeeded { item: item.clone(), kind: template.kind.name() });
            }
            if template.kind == ItemKind::Choice
                && let Some(v) = &value
                && !template.choices.iter().any(|c| c.eq_ignore_ascii_case(v))
            {
                return Err(RuleError::BadChoice {
                    item: item.clone(),
                    value: v.clone(),
                    choices: template.choices.clone(),
                });
            }
            let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
            Ok(EventKind::ItemDone { item: item.clone(), value, note })
        }
        CaseCommand::Untick { item, reason: why } => {
            open()?;
            if !case.done.contains_key(item) {
                return Err(RuleError::NotDone(item.clone()));
            }
            Ok(EventKind::ItemUndone { item: item.clone(), reason: Some(reason(why)?) })
        }
        CaseCommand::Regrade { level, reason: why } => {
            open()?;
            if *level == case.level {
                return Err(RuleError::SameLevel(*level));
            }
            Ok(EventKind::Regraded { from: case.level, to: *level, reason: reason(why)? })
        }
        CaseCommand::Illegal { reason: why } => {
            open()?;
            Ok(EventKind::IllegalPathChosen { reason: reason(why)? })
        }
        CaseCommand::Note { text } => {
            let text = text.trim();
            if text.is_empty() {
                return Err(RuleError::EmptyNote);
            }
            Ok(EventKind::NoteAdded { text: text.to_string() })
        }
        CaseCommand::FollowUp { date } => {
            open()?;
            Ok(EventKind::FollowUpSet { date: *date })
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
            Ok(EventKind::Closed { outcome: outcome.clone() })
        }
        CaseCommand::Reopen { reason: why } => {
            if case.closed.is_none() {
                return Err(RuleError::NotClosed);
            }
            Ok(EventKind::Reopened { reason: reason(why)? })
        }
    }
}

/// A reviewer's decision on a case: the one grammar shared by `vigil case ID ...` and the TUI's `:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseCommand {
    Tick { item: String, value: Option<String>, note: Option<String> },
    Untick { item: String, reason: String },
    Regrade { level: Level, reason: String },
    Illegal { reason: String },
    Note { text: String },
    FollowUp { date: NaiveDate },
    Close { outcome: String },
    Reopen { reason: String },
}

impl CaseCommand {
    /// Whether the UI should ask "are you sure?" first (Cancel is the default answer).
    pub fn needs_confirmation(&self) -> bool {
        matches!(self, CaseCommand::Close { .. } | CaseCommand::Regrade { .. } | CaseCommand::Reopen { .. })
    }
}
