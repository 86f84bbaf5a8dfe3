//! Checklist templates: the college's alert procedure as steps a DSL ticks off.
//!
//! The templates live in `assets/checklists.toml` (built in as [`EMBEDDED`]) and are parsed and validated
//! by [`Templates::parse`]. The file is the procedure in data form; the tests at the bottom of this module
//! tie every step of the source documents (the college's *Responding to monitoring software alerts*
//! procedure and the Online Safety policy's *Responding to incidents of misuse*) to the item that covers
//! it, so a change to one without the other fails the build.
//!
//! Which templates a case shows follows from its [`CasePath`]:
//!
//! - a student alert gets the initial review, then its level's template (Low, Medium or High), then the
//!   post-alert actions for Medium and High;
//! - a staff alert gets the staff template instead of all of those;
//! - suspected illegal content adds the illegal-content template, for students **and staff**: the policy's
//!   misuse procedure (police, isolating the device, a second senior member of staff) applies to illegal
//!   activity "by staff or students" alike. It comes first, and it replaces the case's review item (its
//!   `replaces`): the policy says stop reviewing.
//!
//! Item ids are stable forever (case events refer to them) and unique across all templates, so
//! [`Templates::item`] needs no template id. A case records [`Templates::version`] when it is opened.
//!
//! No I/O here: the text is passed in, or built in.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::domain::Level;

/// The built-in templates (`assets/checklists.toml`).
pub const EMBEDDED: &str = include_str!("../../assets/checklists.toml");

/// The longest id allowed, for templates, items and outcomes alike.
pub const MAX_ID_LEN: usize = 40;

/// What a checklist item asks for when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// Done or not; nothing to record.
    Tick,
    /// One of the item's `choices`.
    Choice,
    /// Free text.
    Note,
    /// A reference number: a CPOMS number or a police reference.
    Reference,
    /// A date (e.g. of a follow-up meeting).
    Date,
    /// A time (e.g. when the student was contacted).
    Time,
    /// A person's name.
    Person,
}

impl ItemKind {
    /// Every kind but [`ItemKind::Tick`] needs a value or note when the item is done.
    pub fn needs_value(self) -> bool {
        !matches!(self, ItemKind::Tick)
    }

    /// The name used in the TOML file.
    pub fn as_str(self) -> &'static str {
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

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule of vigil's needs an item for. The rules find their items by role (`roles = [...]` in the
/// file), never by id, so the file can rename or add items without a rule silently losing its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemRole {
    /// Records a level's response, the thing its due time is for: once done the case is no longer overdue.
    /// Only in a level's template (low, medium, high); a level without one is due to be closed.
    Response,
    /// The time contact was made with the student: a `time` item. Reports time the first contact by it, and
    /// its value is the one checklist value a report keeps.
    ContactTime,
    /// A follow-up date: a `date` item, whose date is the case's follow-up date.
    FollowUpDate,
    /// The CPOMS reference of a Medium or High case.
    Cpoms,
    /// The content-free note on student tracking.
    TrackingNote,
}

impl ItemRole {
    /// Every role; each must be on some item, since a rule needs it.
    pub const ALL: [ItemRole; 5] =
        [ItemRole::Response, ItemRole::ContactTime, ItemRole::FollowUpDate, ItemRole::Cpoms, ItemRole::TrackingNote];

    /// The name used in the TOML file.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemRole::Response => "response",
            ItemRole::ContactTime => "contact-time",
            ItemRole::FollowUpDate => "follow-up-date",
            ItemRole::Cpoms => "cpoms",
            ItemRole::TrackingNote => "tracking-note",
        }
    }

    /// The kind an item must be for the rule to read its value, if the rule reads one.
    fn kind(self) -> Option<ItemKind> {
        match self {
            ItemRole::ContactTime => Some(ItemKind::Time),
            ItemRole::FollowUpDate => Some(ItemKind::Date),
            ItemRole::Response | ItemRole::Cpoms | ItemRole::TrackingNote => None,
        }
    }
}

impl fmt::Display for ItemRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which cases a template is for. Each value is used by exactly one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppliesTo {
    /// Every student alert, whatever its level (the initial review).
    StudentAlerts,
    /// Student alerts graded Low.
    Low,
    /// Student alerts graded Medium.
    Medium,
    /// Student alerts graded High.
    High,
    /// After a Medium or High student alert (post-alert actions).
    MediumAndHigh,
    /// Suspected illegal content, about a student or a member of staff.
    IllegalContent,
    /// Alerts about a member of staff (instead of all the student templates).
    StaffAlerts,
    /// A student whose alerts make a trend (`[trends]`): shown last, never required.
    Trend,
}

impl AppliesTo {
    /// All values (the illegal-content template, when it applies, comes first in [`Templates::sections_for`]).
    pub const ALL: [AppliesTo; 8] = [
        AppliesTo::StudentAlerts,
        AppliesTo::Low,
        AppliesTo::Medium,
        AppliesTo::High,
        AppliesTo::MediumAndHigh,
        AppliesTo::StaffAlerts,
        AppliesTo::IllegalContent,
        AppliesTo::Trend,
    ];

    /// The name used in the TOML file.
    pub fn as_str(self) -> &'static str {
        match self {
            AppliesTo::StudentAlerts => "student-alerts",
            AppliesTo::Low => "low",
            AppliesTo::Medium => "medium",
            AppliesTo::High => "high",
            AppliesTo::MediumAndHigh => "medium-and-high",
            AppliesTo::IllegalContent => "illegal-content",
            AppliesTo::StaffAlerts => "staff-alerts",
            AppliesTo::Trend => "trend",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for AppliesTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    Student,
    Staff,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Subject::Student => "student",
            Subject::Staff => "staff",
        })
    }
}

/// One template: a titled list of items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub applies_to: AppliesTo,
    pub items: Vec<ItemTemplate>,
    /// Items of other templates that do not apply when this one does (the illegal-content path replaces the
    /// case's review item: the policy says stop reviewing).
    pub replaces: Vec<String>,
}

impl Section {
    /// The item with this id, if it is in this section.
    pub fn item(&self, id: &str) -> Option<&ItemTemplate> {
        self.items.iter().find(|item| item.id == id)
    }

    /// The items that must be done before a case can close.
    pub fn required_items(&self) -> impl Iterator<Item = &ItemTemplate> {
        self.items.iter().filter(|item| item.required)
    }
}

/// One step of a checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTemplate {
    /// Short kebab-case, unique across all templates, stable forever.
    pub id: String,
    pub text: String,
    /// Must be done before the case can close. Never true for a conditional item unless the file says so.
    pub required: bool,
    pub kind: ItemKind,
    /// The options of a [`ItemKind::Choice`] item (two or more); empty for every other kind.
    pub choices: Vec<String>,
    /// When the step applies, as a short phrase ("if discriminatory language was used").
    pub condition: Option<String>,
    /// One line of guidance.
    pub help: Option<String>,
    /// What vigil's rules use the item for (see [`ItemRole`]).
    pub roles: Vec<ItemRole>,
}

impl ItemTemplate {
    pub fn has_role(&self, role: ItemRole) -> bool {
        self.roles.contains(&role)
    }
}

/// How a case can be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub id: String,
    pub text: String,
    /// The levels at which it is offered.
    pub levels: Vec<Level>,
    /// Whom the alert must be about for it to be offered.
    pub subjects: Vec<Subject>,
    /// Offered only on the illegal-content path.
    pub illegal_only: bool,
}

impl Outcome {
    /// Whether a case on this path may close with this outcome.
    pub fn offered_for(&self, path: CasePath) -> bool {
        self.levels.contains(&path.level)
            && self.subjects.contains(&path.subject())
            && (path.illegal || !self.illegal_only)
    }
}

/// What decides a case's templates and outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CasePath {
    pub level: Level,
    /// The alert is about a member of staff.
    pub staff: bool,
    /// Suspected illegal content is involved.
    pub illegal: bool,
    /// The student's alerts make a trend (`[trends]`): the trend template's optional items join the
    /// checklist. Not part of the case's record (it moves with time), so never what closing requires.
    pub trend: bool,
}

impl CasePath {
    /// Whom the alert is about.
    pub fn subject(self) -> Subject {
        if self.staff { Subject::Staff } else { Subject::Student }
    }
}

/// Why a templates file was rejected. Every message names the template, item or outcome at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// Not valid TOML, a missing or unknown field, or a value of the wrong type. Keeps line and column.
    #[error("checklist templates: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("checklist templates: `version` must be 1 or more, found {found}")]
    Version { found: u32 },
    #[error("checklist templates: {what} id `{id}` is not short kebab-case: {why}")]
    BadId { what: &'static str, id: String, why: &'static str },
    #[error("checklist templates: {what} `{id}` has an empty `{field}`")]
    Empty { what: &'static str, id: String, field: &'static str },
    #[error("checklist templates: template id `{id}` is used twice")]
    DuplicateSection { id: String },
    #[error(
        "checklist templates: item id `{id}` is in template `{first}` and again in template `{second}`; \
         item ids must be unique across all templates"
    )]
    DuplicateItem { id: String, first: String, second: String },
    #[error("checklist templates: outcome id `{id}` is used twice")]
    DuplicateOutcome { id: String },
    #[error("checklist templates: template `{section}` replaces `{item}`, which is not an item of another template")]
    BadReplaces { section: String, item: String },
    #[error("checklist templates: template `{section}` has no items")]
    NoItems { section: String },
    #[error(
        "checklist templates: item `{item}` (template `{section}`) has no `required`; write \
         `required = true` or `required = false` (only an item with a `condition` may leave it out)"
    )]
    MissingRequired { section: String, item: String },
    #[error(
        "checklist templates: item `{item}` (template `{section}`) is a choice with {found} choice(s); \
         it needs at least 2"
    )]
    TooFewChoices { section: String, item: String, found: usize },
    #[error(
        "checklist templates: item `{item}` (template `{section}`) is kind `{kind}` but has `choices`; \
         only choice items have them"
    )]
    UnexpectedChoices { section: String, item: String, kind: ItemKind },
    #[error("checklist templates: item `{item}` (template `{section}`) lists the choice `{choice}` twice")]
    DuplicateChoice { section: String, item: String, choice: String },
    #[error(
        "checklist templates: item `{item}` of the trend template is required or has a role; a trend's items are optional"
    )]
    TrendItemRequired { item: String },
    #[error("checklist templates: no template has `applies_to = \"{applies_to}\"`; one is required")]
    MissingSection { applies_to: AppliesTo },
    #[error(
        "checklist templates: templates `{first}` and `{second}` both have `applies_to = \"{applies_to}\"`; \
         only one may"
    )]
    DuplicateAppliesTo { applies_to: AppliesTo, first: String, second: String },
    #[error(
        "checklist templates: {subject} alerts at level {level:?} have {found} outcome(s) \
         (not counting illegal-only ones); every level needs at least 2"
    )]
    TooFewOutcomes { level: Level, subject: Subject, found: usize },
    #[error(
        "checklist templates: items `{first}` and `{second}` both have the role `{role}` on the checklist of \
         {path}; a role marks one item of a checklist"
    )]
    DuplicateRole { role: ItemRole, first: String, second: String, path: String },
    #[error("checklist templates: no item has the role `{role}` (`roles = [\"{role}\"]`); vigil's rules need one")]
    MissingRole { role: ItemRole },
    #[error("checklist templates: item `{item}` has the role `{role}`, which needs kind `{expected}`, not `{kind}`")]
    RoleKind { item: String, role: ItemRole, kind: ItemKind, expected: ItemKind },
    #[error(
        "checklist templates: item `{item}` (template `{section}`) has the role `response`, which only an item \
         of a level's template (low, medium or high) may have"
    )]
    ResponseOutsideLevel { section: String, item: String },
}

/// The parsed and validated templates and outcomes.
#[derive(Debug, Clone)]
pub struct Templates {
    version: u32,
    sections: Vec<Section>,
    outcomes: Vec<Outcome>,
    /// Index into `sections` by [`AppliesTo::index`].
    by_role: [usize; AppliesTo::ALL.len()],
    /// Item id -> (section index, item index).
    items: HashMap<String, (usize, usize)>,
    /// Outcome id -> index into `outcomes`.
    outcome_index: HashMap<String, usize>,
}

impl Templates {
    /// The built-in templates, parsed once.
    ///
    /// # Panics
    /// If the built-in file is invalid. That is a build bug, caught by this module's tests.
    pub fn embedded() -> &'static Templates {
        static PARSED: OnceLock<Templates> = OnceLock::new();
        PARSED.get_or_init(|| match Templates::parse(EMBEDDED) {
            Ok(templates) => templates,
            Err(err) => {
                panic!("the built-in assets/checklists.toml is invalid (a build bug: `cargo test` catches it): {err}")
            }
        })
    }

    /// Parses and validates a templates file.
    ///
    /// # Errors
    /// [`TemplateError::Toml`] (with line and column) if the text is not valid TOML, has an unknown or
    /// missing field or a value of the wrong type; any other variant if it breaks a rule of the format
    /// (see `assets/checklists.toml`). Each names the template, item or outcome at fault.
    pub fn parse(text: &str) -> Result<Templates, TemplateError> {
        let raw: RawFile = toml::from_str(text)?;
        validate(raw)
    }

    /// The templates' version; a case keeps the version it was opened with.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The templates for a case, in the order they are worked through: first, if `path.illegal`, the
    /// illegal-content template (for staff too: the policy's steps come before anything else); then staff ->
    /// [staff]; a student -> [initial review, the level's template, post-alert (Medium and High)].
    pub fn sections_for(&self, path: CasePath) -> Vec<&Section> {
        let mut roles = Vec::with_capacity(4);
        if path.illegal {
            roles.push(AppliesTo::IllegalContent);
        }
        if path.staff {
            roles.push(AppliesTo::StaffAlerts);
        } else {
            roles.push(AppliesTo::StudentAlerts);
            roles.push(level_template(path.level));
            if path.level >= Level::Medium {
                roles.push(AppliesTo::MediumAndHigh);
            }
            if path.trend {
                roles.push(AppliesTo::Trend);
            }
        }
        roles.into_iter().map(|role| self.section_for(role)).collect()
    }

    /// The checklist of a case on `path`: each item of [`Templates::sections_for`] with its template, in
    /// order, less the items one of those templates replaces. What the reviewer sees and what closing
    /// requires are both this list.
    pub fn items_for(&self, path: CasePath) -> Vec<(&Section, &ItemTemplate)> {
        let sections = self.sections_for(path);
        let replaced = |id: &str| sections.iter().any(|s| s.replaces.iter().any(|r| r == id));
        sections
            .iter()
            .flat_map(|section| section.items.iter().map(move |item| (*section, item)))
            .filter(|(_, item)| !replaced(&item.id))
            .collect()
    }

    /// The one template with this `applies_to`.
    pub fn section_for(&self, applies_to: AppliesTo) -> &Section {
        &self.sections[self.by_role[applies_to.index()]]
    }

    /// The template with this id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|section| section.id == id)
    }

    /// All templates, in file order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The item with this id, in whichever template holds it.
    pub fn item(&self, id: &str) -> Option<&ItemTemplate> {
        let &(section, item) = self.items.get(id)?;
        Some(&self.sections[section].items[item])
    }

    /// The template that holds the item with this id.
    pub fn section_of_item(&self, id: &str) -> Option<&Section> {
        let &(section, _) = self.items.get(id)?;
        Some(&self.sections[section])
    }

    /// The outcomes a case on this path may close with, in file order.
    pub fn outcomes_for(&self, path: CasePath) -> Vec<&Outcome> {
        self.outcomes.iter().filter(|outcome| outcome.offered_for(path)).collect()
    }

    /// The outcome with this id.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.outcome_index.get(id).map(|&index| &self.outcomes[index])
    }

    /// All outcomes, in file order.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// Whether the item with this id has `role`.
    pub fn has_role(&self, id: &str, role: ItemRole) -> bool {
        self.item(id).is_some_and(|item| item.has_role(role))
    }

    /// The item that records `level`'s response (its role [`ItemRole::Response`], in the level's template),
    /// or `None` for a level that has none.
    pub fn response_item(&self, level: Level) -> Option<&ItemTemplate> {
        self.section_for(level_template(level)).items.iter().find(|item| item.has_role(ItemRole::Response))
    }
}

/// A path in words, for messages: "high student alerts on the illegal-content path".
fn describe_path(path: CasePath) -> String {
    let illegal = if path.illegal { " on the illegal-content path" } else { "" };
    format!("{} {} alerts{illegal}", path.level, path.subject())
}

/// The template of a student alert's level.
fn level_template(level: Level) -> AppliesTo {
    match level {
        Level::Low => AppliesTo::Low,
        Level::Medium => AppliesTo::Medium,
        Level::High => AppliesTo::High,
    }
}

// --- the file as written ------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u32,
    #[serde(default)]
    template: Vec<RawTemplate>,
    #[serde(default)]
    outcome: Vec<RawOutcome>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    id: String,
    title: String,
    applies_to: AppliesTo,
    #[serde(default)]
    replaces: Vec<String>,
    #[serde(default)]
    item: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    text: String,
    required: Option<bool>,
    kind: ItemKind,
    choices: Option<Vec<String>>,
    condition: Option<String>,
    help: Option<String>,
    #[serde(default)]
    roles: Vec<ItemRole>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutcome {
    id: String,
    text: String,
    levels: Vec<Level>,
    subjects: Vec<Subject>,
    #[serde(default)]
    illegal_only: bool,
}

// --- validation ---------------------------------------------------------------------------------------

const LEVELS: [Level; 3] = [Level::Low, Level::Medium, Level::High];

fn validate(raw: RawFile) -> Result<Templates, TemplateError> {
    if raw.version < 1 {
        return Err(TemplateError::Version { found: raw.version });
    }

    let mut sections = Vec::with_capacity(raw.template.len());
    let mut items: HashMap<String, (usize, usize)> = HashMap::new();
    let mut roles: [Option<usize>; AppliesTo::ALL.len()] = [None; AppliesTo::ALL.len()];

    for (section_index, template) in raw.template.into_iter().enumerate() {
        check_id("template", &template.id)?;
        check_text("template", &template.id, "title", &template.title)?;
        if sections.iter().any(|s: &Section| s.id == template.id) {
            return Err(TemplateError::DuplicateSection { id: template.id });
        }
        let role = &mut roles[template.applies_to.index()];
        if let Some(first) = *role {
            let first: &Section = &sections[first];
            return Err(TemplateError::DuplicateAppliesTo {
                applies_to: template.applies_to,
                first: first.id.clone(),
                second: template.id,
            });
        }
        *role = Some(section_index);
        if template.item.is_empty() {
            return Err(TemplateError::NoItems { section: template.id });
        }

        let mut section_items = Vec::with_capacity(template.item.len());
        for (item_index, raw_item) in template.item.into_iter().enumerate() {
            let item = validate_item(&template.id, raw_item)?;
            if let Some(&(first, _)) = items.get(&item.id) {
                let first = if first == section_index { template.id.clone() } else { sections[first].id.clone() };
                return Err(TemplateError::DuplicateItem { id: item.id, first, second: template.id });
            }
            items.insert(item.id.clone(), (section_index, item_index));
            section_items.push(item);
        }
        sections.push(Section {
            id: template.id,
            title: template.title,
            applies_to: template.applies_to,
            items: section_items,
            replaces: template.replaces,
        });
    }
    for (index, section) in sections.iter().enumerate() {
        for id in &section.replaces {
            if items.get(id).is_none_or(|&(owner, _)| owner == index) {
                return Err(TemplateError::BadReplaces { section: section.id.clone(), item: id.clone() });
            }
        }
    }

    let mut by_role = [0; AppliesTo::ALL.len()];
    for applies_to in AppliesTo::ALL {
        match roles[applies_to.index()] {
            Some(index) => by_role[applies_to.index()] = index,
            None => return Err(TemplateError::MissingSection { applies_to }),
        }
    }

    let mut outcomes = Vec::with_capacity(raw.outcome.len());
    let mut outcome_index = HashMap::new();
    for raw_outcome in raw.outcome {
        check_id("outcome", &raw_outcome.id)?;
        check_text("outcome", &raw_outcome.id, "text", &raw_outcome.text)?;
        if raw_outcome.levels.is_empty() {
            return Err(empty("outcome", raw_outcome.id, "levels"));
        }
        if raw_outcome.subjects.is_empty() {
            return Err(empty("outcome", raw_outcome.id, "subjects"));
        }
        if outcome_index.contains_key(&raw_outcome.id) {
            return Err(TemplateError::DuplicateOutcome { id: raw_outcome.id });
        }
        outcome_index.insert(raw_outcome.id.clone(), outcomes.len());
        outcomes.push(Outcome {
            id: raw_outcome.id,
            text: raw_outcome.text,
            levels: raw_outcome.levels,
            subjects: raw_outcome.subjects,
            illegal_only: raw_outcome.illegal_only,
        });
    }

    for subject in [Subject::Student, Subject::Staff] {
        for level in LEVELS {
            let path = CasePath { level, staff: subject == Subject::Staff, illegal: false, trend: false };
            let found = outcomes.iter().filter(|o| o.offered_for(path)).count();
            if found < 2 {
                return Err(TemplateError::TooFewOutcomes { level, subject, found });
            }
        }
    }

    let templates = Templates { version: raw.version, sections, outcomes, by_role, items, outcome_index };
    check_roles(&templates)?;
    Ok(templates)
}

/// Each role the rules need is on some item, of the kind the rule reads, and on no checklist twice (a rule
/// asks for "the" item of its role on a case's path); `response` only in a level's template.
fn check_roles(templates: &Templates) -> Result<(), TemplateError> {
    for section in templates.sections() {
        for item in &section.items {
            for &role in &item.roles {
                if let Some(expected) = role.kind()
                    && item.kind != expected
                {
                    return Err(TemplateError::RoleKind { item: item.id.clone(), role, kind: item.kind, expected });
                }
                if role == ItemRole::Response
                    && !matches!(section.applies_to, AppliesTo::Low | AppliesTo::Medium | AppliesTo::High)
                {
                    return Err(TemplateError::ResponseOutsideLevel {
                        section: section.id.clone(),
                        item: item.id.clone(),
                    });
                }
            }
        }
    }
    // A trend comes and goes with time, and is no part of the case's record: closing never waits on it.
    let trend = templates.section_for(AppliesTo::Trend);
    if let Some(item) = trend.items.iter().find(|i| i.required || !i.roles.is_empty()) {
        return Err(TemplateError::TrendItemRequired { item: item.id.clone() });
    }
    for role in ItemRole::ALL {
        if !templates.sections().iter().any(|s| s.items.iter().any(|i| i.has_role(role))) {
            return Err(TemplateError::MissingRole { role });
        }
    }
    for level in LEVELS {
        for staff in [false, true] {
            for illegal in [false, true] {
                let path = CasePath { level, staff, illegal, trend: false };
                let mut seen: Vec<(ItemRole, &str)> = Vec::new();
                // Every item a case on this path can have done: its checklist, replaced items included.
                for item in templates.sections_for(path).into_iter().flat_map(|s| &s.items) {
                    for &role in &item.roles {
                        if let Some((_, first)) = seen.iter().find(|(r, _)| *r == role) {
                            return Err(TemplateError::DuplicateRole {
                                role,
                                first: (*first).to_string(),
                                second: item.id.clone(),
                                path: describe_path(path),
                            });
                        }
                        seen.push((role, &item.id));
                    }
                }
            }
        }
    }
    Ok(())
}

fn validate_item(section: &str, raw: RawItem) -> Result<ItemTemplate, TemplateError> {
    check_id("item", &raw.id)?;
    check_text("item", &raw.id, "text", &raw.text)?;
    if let Some(condition) = &raw.condition {
        check_text("item", &raw.id, "condition", condition)?;
    }
    if let Some(help) = &raw.help {
        check_text("item", &raw.id, "help", help)?;
    }
    // A conditional item is optional unless the file says otherwise; an unconditional one must say.
    let required = match (raw.required, &raw.condition) {
        (Some(required), _) => required,
        (None, Some(_)) => false,
        (None, None) => {
            return Err(TemplateError::MissingRequired { section: section.to_owned(), item: raw.id });
        }
    };
    let choices = match (raw.kind, raw.choices) {
        (ItemKind::Choice, choices) => {
            let choices = choices.unwrap_or_default();
            if choices.len() < 2 {
                return Err(TemplateError::TooFewChoices {
                    section: section.to_owned(),
                    item: raw.id,
                    found: choices.len(),
                });
            }
            for (index, choice) in choices.iter().enumerate() {
                check_text("item", &raw.id, "choices", choice)?;
                if choices[..index].contains(choice) {
                    return Err(TemplateError::DuplicateChoice {
                        section: section.to_owned(),
                        item: raw.id,
                        choice: choice.clone(),
                    });
                }
            }
            choices
        }
        (kind, Some(_)) => {
            return Err(TemplateError::UnexpectedChoices { section: section.to_owned(), item: raw.id, kind });
        }
        (_, None) => Vec::new(),
    };
    Ok(ItemTemplate {
        id: raw.id,
        text: raw.text,
        required,
        kind: raw.kind,
        choices,
        condition: raw.condition,
        help: raw.help,
        roles: raw.roles,
    })
}

/// Ids are short kebab-case: lowercase ASCII letters and digits in words joined by single hyphens,
/// starting with a letter.
fn check_id(what: &'static str, id: &str) -> Result<(), TemplateError> {
    let why = if id.is_empty() {
        Some("it is empty")
    } else if id.len() > MAX_ID_LEN {
        Some("it is longer than 40 characters")
    } else if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        Some("it must start with a lowercase letter")
    } else if !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        Some("only lowercase letters, digits and hyphens are allowed")
    } else if id.ends_with('-') || id.contains("--") {
        Some("hyphens must join words")
    } else {
        None
    };
    match why {
        Some(why) => Err(TemplateError::BadId { what, id: id.to_owned(), why }),
        None => Ok(()),
    }
}

fn check_text(what: &'static str, id: &str, field: &'static str, text: &str) -> Result<(), TemplateError> {
    if text.trim().is_empty() { Err(empty(what, id.to_owned(), field)) } else { Ok(()) }
}

fn empty(what: &'static str, id: String, field: &'static str) -> TemplateError {
    TemplateError::Empty { what, id, field }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> &'static Templates {
        Templates::embedded()
    }

    fn path(level: Level, staff: bool, illegal: bool) -> CasePath {
        CasePath { level, staff, illegal, trend: false }
    }

    // --- the built-in file ------------------------------------------------------------------------

    #[test]
    fn embedded_file_parses() {
        let parsed = Templates::parse(EMBEDDED).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(parsed.version(), 1);
        assert_eq!(templates().version(), 1);
        assert_eq!(parsed.sections().len(), AppliesTo::ALL.len());
    }

    #[test]
    fn sections_for_every_path() {
        use Level::*;
        let cases: &[(Level, bool, bool, &[&str])] = &[
            (Low, false, false, &["initial-review", "low"]),
            (Low, false, true, &["illegal-content", "initial-review", "low"]),
            (Medium, false, false, &["initial-review", "medium", "post-alert"]),
            (Medium, false, true, &["illegal-content", "initial-review", "medium", "post-alert"]),
            (High, false, false, &["initial-review", "high", "post-alert"]),
            (High, false, true, &["illegal-content", "initial-review", "high", "post-alert"]),
            // Staff alerts replace every student template; illegal content still adds its own, first.
            (Low, true, false, &["staff"]),
            (Low, true, true, &["illegal-content", "staff"]),
            (Medium, true, false, &["staff"]),
            (Medium, true, true, &["illegal-content", "staff"]),
            (High, true, false, &["staff"]),
            (High, true, true, &["illegal-content", "staff"]),
        ];
        assert_eq!(cases.len(), 12, "every level x staff x illegal");
        for &(level, staff, illegal, expected) in cases {
            let case = path(level, staff, illegal);
            let got: Vec<&str> = templates().sections_for(case).iter().map(|section| section.id.as_str()).collect();
            assert_eq!(got, expected, "{case:?}");
        }
    }

    #[test]
    fn every_item_is_found_by_id_in_its_section() {
        for section in templates().sections() {
            for item in &section.items {
                assert_eq!(templates().item(&item.id), Some(item));
                assert_eq!(templates().section_of_item(&item.id).map(|s| &s.id), Some(&section.id));
            }
        }
        assert!(templates().item("no-such-item").is_none());
        assert!(templates().outcome("no-such-outcome").is_none());
    }

    #[test]
    fn conditional_items_are_optional_and_values_match_kinds() {
        for section in templates().sections() {
            for item in &section.items {
                if item.condition.is_some() {
                    assert!(!item.required, "conditional item `{}` is required", item.id);
                }
                assert_eq!(item.kind == ItemKind::Choice, !item.choices.is_empty(), "`{}`", item.id);
            }
        }
    }

    #[test]
    fn needs_value_is_false_only_for_tick() {
        use ItemKind::*;
        for kind in [Choice, Note, Reference, Date, Time, Person] {
            assert!(kind.needs_value(), "{kind}");
        }
        assert!(!Tick.needs_value());
    }

    #[test]
    fn outcomes_for_every_path() {
        use Level::*;
        let ids = |case: CasePath| -> Vec<&str> {
            templates().outcomes_for(case).iter().map(|outcome| outcome.id.as_str()).collect()
        };
        assert_eq!(ids(path(Low, false, false)), ["no-further-action", "referred-conversation", "false-positive"]);
        assert_eq!(
            ids(path(Medium, false, false)),
            ["followed-up-closed", "support-referral", "behaviour-contract", "false-positive"]
        );
        assert_eq!(
            ids(path(High, false, false)),
            [
                "followed-up-closed",
                "support-referral",
                "behaviour-contract",
                "safeguarding-plan",
                "external-referral",
                "emergency-services",
                "behaviour-policy",
                "false-positive"
            ]
        );
        for level in LEVELS {
            assert_eq!(ids(path(level, true, false)), ["allegations-procedure", "no-case-to-answer", "false-positive"]);
            for staff in [false, true] {
                let plain = ids(path(level, staff, false));
                let illegal = ids(path(level, staff, true));
                // Reports count false positives, so every case can close as one.
                assert!(plain.contains(&"false-positive"), "{level:?} staff={staff}");
                assert!(plain.len() >= 2);
                // The illegal path adds the police referral to the level's outcomes.
                assert!(!plain.contains(&"police-referral"));
                let expected: Vec<&str> = plain.iter().copied().chain(["police-referral"]).collect();
                let mut got = illegal.clone();
                got.sort_unstable();
                let mut want = expected;
                want.sort_unstable();
                assert_eq!(got, want, "{level:?} staff={staff}");
            }
        }
        assert_eq!(templates().outcome("false-positive").map(|o| o.text.as_str()), Some("False positive"));
    }

    // --- CPOMS and student tracking ---------------------------------------------------------------

    fn mentions_recording(item: &ItemTemplate) -> bool {
        let id = item.id.as_str();
        item.kind == ItemKind::Reference || id.contains("cpoms") || id.contains("tracking")
    }

    #[test]
    fn low_requires_no_cpoms_or_tracking_item() {
        let low = templates().section_for(AppliesTo::Low);
        for item in low.items.iter().filter(|item| mentions_recording(item)) {
            assert!(!item.required, "Low item `{}` must not be required", item.id);
        }
        // Nothing Low shows may demand a CPOMS or tracking entry.
        for section in templates().sections_for(path(Level::Low, false, false)) {
            for item in section.required_items() {
                assert!(!mentions_recording(item), "`{}`", item.id);
                assert!(!item.text.contains("CPOMS"), "Low path requires `{}`: {}", item.id, item.text);
            }
        }
        let not_logged = templates().item("low-not-logged").expect("low-not-logged");
        assert_eq!(not_logged.text, "Not logged on CPOMS or student tracking");
        assert_eq!(not_logged.kind, ItemKind::Tick);
        assert!(!not_logged.required);
    }

    #[test]
    fn medium_and_high_require_cpoms_reference_and_tracking_note() {
        for (applies_to, prefix) in [(AppliesTo::Medium, "medium"), (AppliesTo::High, "high")] {
            let section = templates().section_for(applies_to);
            let cpoms = section.item(&format!("{prefix}-cpoms")).expect("cpoms item");
            assert_eq!(cpoms.kind, ItemKind::Reference);
            assert!(cpoms.required && cpoms.condition.is_none());
            assert!(cpoms.text.contains("CPOMS"));
            let tracking = section.item(&format!("{prefix}-tracking-note")).expect("tracking item");
            assert_eq!(tracking.kind, ItemKind::Tick);
            assert!(tracking.required && tracking.condition.is_none());
            assert!(tracking.text.contains("without detailing the content"));
        }
    }

    // --- each template against the procedure -------------------------------------------------------
    //
    // Each table quotes a short phrase of a source document and names the item (or outcome) that covers
    // that step. Every item of the template must be covered by some step, so nothing is in a checklist
    // that the documents do not ask for. Each phrase is also checked to occur in its document's words, as
    // kept in docs/procedure (built in: a missing file fails the build).

    #[derive(Clone, Copy, Debug)]
    enum Doc {
        /// `docs/procedure/alerts-procedure.txt`: Responding to monitoring software alerts procedure.
        Procedure,
        /// `docs/procedure/online-safety-policy-misuse.txt`: Online Safety policy ("Responding to incidents of
        /// misuse").
        Policy,
    }

    #[derive(Clone, Copy, Debug)]
    enum Covers {
        Item(&'static str),
        Outcome(&'static str),
    }
    use Covers::{Item, Outcome as Out};
    use Doc::{Policy, Procedure};

    type Step = (Doc, &'static str, &'static [Covers]);

    /// The document's words, as the repository keeps them (excerpts: see docs/procedure/README.md).
    fn source(doc: Doc) -> &'static str {
        match doc {
            Doc::Procedure => include_str!("../../docs/procedure/alerts-procedure.txt"),
            Doc::Policy => include_str!("../../docs/procedure/online-safety-policy-misuse.txt"),
        }
    }

    /// The excerpts are the documents' own words. The documents are not in the repository (see
    /// docs/procedure/README.md), so this runs only when asked, where they are beside it (shared/seeds).
    #[test]
    #[ignore = "needs the full source documents beside the repository (shared/seeds)"]
    fn the_excerpts_are_verbatim_from_the_source_documents() {
        for (doc, file) in [(Doc::Procedure, "000_d534f8e63d5e4b5d.txt"), (Doc::Policy, "002_09155c197e5f839f.txt")] {
            let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|dir| dir.join("shared").join("seeds").join(file))
                .find_map(|candidate| std::fs::read_to_string(candidate).ok())
                .unwrap_or_else(|| panic!("shared/seeds/{file} is not beside the repository"));
            let full = normalise(&full);
            for part in source(doc).split("\n[...]\n") {
                assert!(full.contains(&normalise(part)), "{doc:?}: not in {file}: {part:?}");
            }
        }
    }

    fn normalise(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn check_template(section_id: &str, case: CasePath, steps: &[Step]) {
        let templates = templates();
        let section = templates.section(section_id).expect("section exists");
        assert!(templates.sections_for(case).contains(&section), "`{section_id}` is shown for {case:?}");
        let docs = [Doc::Procedure, Doc::Policy].map(|doc| normalise(source(doc)));
        let mut covered = Vec::new();
        for &(doc, phrase, covers) in steps {
            assert!(!phrase.trim().is_empty() && !covers.is_empty());
            assert!(docs[doc as usize].contains(&normalise(phrase)), "{doc:?} does not say {phrase:?}");
            for cover in covers {
                match *cover {
                    Covers::Item(id) => {
                        assert!(
                            section.item(id).is_some(),
                            "step {phrase:?}: item `{id}` is not in template `{section_id}`"
                        );
                        covered.push(id);
                    }
                    Covers::Outcome(id) => {
                        let outcome =
                            templates.outcome(id).unwrap_or_else(|| panic!("step {phrase:?}: no outcome `{id}`"));
                        assert!(
                            outcome.offered_for(case),
                            "step {phrase:?}: outcome `{id}` is not offered for {case:?}"
                        );
                    }
                }
            }
        }
        for item in &section.items {
            assert!(
                covered.contains(&item.id.as_str()),
                "item `{}` of `{section_id}` is not traced to the procedure",
                item.id
            );
        }
    }

    fn assert_item(id: &str, kind: ItemKind, required: bool) -> &'static ItemTemplate {
        let item = templates().item(id).unwrap_or_else(|| panic!("no item `{id}`"));
        assert_eq!((item.kind, item.required), (kind, required), "`{id}`");
        item
    }

    #[test]
    fn initial_review_follows_the_procedure() {
        const STEPS: &[Step] = &[
            (Procedure, "reviews the alert, context", &[Item("review-alert")]),
            (Procedure, "context is generally provided with screenshots", &[Item("review-alert")]),
            (Procedure, "risk level Smoothwall has ranked it at", &[Item("review-vendor-risk")]),
            (Procedure, "identify if the alert requires immediate action", &[Item("immediate-action")]),
            (Procedure, "Having determined the context and/or severity of the alert", &[Item("confirm-level")]),
        ];
        for level in LEVELS {
            check_template("initial-review", path(level, false, false), STEPS);
        }
        for item in &templates().section_for(AppliesTo::StudentAlerts).items {
            assert!(item.required, "initial review item `{}`", item.id);
        }
        assert_item("immediate-action", ItemKind::Choice, true);
    }

    #[test]
    fn low_follows_the_procedure() {
        const STEPS: &[Step] = &[
            (Procedure, "Likely to be a false positive", &[Item("low-assessment"), Out("false-positive")]),
            (Procedure, "non-harmful curiosity", &[Item("low-assessment")]),
            (Procedure, "no further action and closed on the system", &[Out("no-further-action")]),
            (
                Procedure,
                "referred to either PDT/DTL/PTL for a conversation",
                &[Item("low-referred-to"), Out("referred-conversation")],
            ),
            (
                Procedure,
                "Student will be gently reminded of what constitutes acceptable use",
                &[Item("low-acceptable-use")],
            ),
            (Procedure, "Not logged on CPOMS or student tracking.", &[Item("low-not-logged")]),
        ];
        check_template("low", path(Level::Low, false, false), STEPS);
        assert_item("low-acceptable-use", ItemKind::Tick, false);
        assert_item("low-referred-to", ItemKind::Person, false);
    }

    #[test]
    fn medium_follows_the_procedure() {
        const STEPS: &[Step] = &[
            (Procedure, "same day/ next day(s) follow up", &[Item("medium-follow-up-date")]),
            (Procedure, "Either PDT/PTL/DTL will contact the student", &[Item("medium-contact-by")]),
            (Procedure, "or the DSL/DDSL/safeguarding officer, where deemed appropriate", &[Item("medium-contact-by")]),
            (
                Procedure,
                "to discuss it further and understand the context",
                &[Item("medium-contact-by"), Out("followed-up-closed")],
            ),
            (
                Procedure,
                "Where there has been use of discriminatory language, the PTL will meet with the student",
                &[Item("medium-ptl-meeting")],
            ),
            (
                Procedure,
                "three-week behaviour contract",
                &[Item("medium-behaviour-contract"), Out("behaviour-contract")],
            ),
            (
                Procedure,
                "Student will be reminded of what constitutes acceptable use",
                &[Item("medium-acceptable-use")],
            ),
            (
                Procedure,
                "college pastoral or counselling/student services team may offer further support",
                &[Item("medium-support"), Out("support-referral")],
            ),
            (Procedure, "gather information from other staff", &[Item("medium-staff-info")]),
            (Procedure, "Parents/carers might also be informed", &[Item("medium-parents")]),
            (Procedure, "unless this puts the student at greater risk", &[Item("medium-parents-reason")]),
            (Procedure, "Logged on CPOMS", &[Item("medium-cpoms")]),
            (
                Procedure,
                "a note to say there has been a Smoothwall alert on student tracking (without detailing the content)",
                &[Item("medium-tracking-note")],
            ),
        ];
        check_template("medium", path(Level::Medium, false, false), STEPS);
        let contact = assert_item("medium-contact-by", ItemKind::Choice, true);
        assert_eq!(contact.choices, ["PDT/PTL/DTL", "DSL/DDSL/safeguarding officer"]);
        for id in ["medium-ptl-meeting", "medium-behaviour-contract"] {
            let item = templates().item(id).expect(id);
            assert_eq!(item.condition.as_deref(), Some("if discriminatory language was used"));
            assert!(!item.required);
        }
        assert_item("medium-follow-up-date", ItemKind::Date, true);
        assert_item("medium-parents", ItemKind::Choice, true);
        assert_item("medium-parents-reason", ItemKind::Note, true);
        assert_item("medium-cpoms", ItemKind::Reference, true);
        assert_item("medium-tracking-note", ItemKind::Tick, true);
    }

    #[test]
    fn high_follows_the_procedure() {
        const STEPS: &[Step] = &[
            (Procedure, "will contact the student immediately on receipt of the alert", &[Item("high-contact-time")]),
            (Procedure, "The student will be sought out immediately", &[Item("high-contact-time")]),
            (
                Procedure,
                "discussed between them and the DSL and/or DDSL, possibly with the safeguarding officer present",
                &[Item("high-contact-by")],
            ),
            (Procedure, "This could involve taking the student out of a lesson", &[Item("high-out-of-lesson")]),
            (
                Procedure,
                "If we cannot reach the student (on or off site) we may need to go directly to the next of kin",
                &[Item("high-next-of-kin")],
            ),
            (Procedure, "gather information from other staff", &[Item("high-staff-info")]),
            (Procedure, "Parents/carers are highly likely to be informed", &[Item("high-parents")]),
            (Procedure, "unless this puts the student at greater risk", &[Item("high-parents-reason")]),
            (Procedure, "Student will be reminded of what constitutes acceptable use", &[Item("high-acceptable-use")]),
            (
                Procedure,
                "the result could be a three-week behaviour contract",
                &[Item("high-behaviour-contract"), Out("behaviour-contract")],
            ),
            (
                Procedure,
                "the college behaviour policy will need to be followed",
                &[Item("high-behaviour-policy"), Out("behaviour-policy")],
            ),
            (
                Procedure,
                "college pastoral or counselling/student services team may offer further support",
                &[Item("high-support"), Out("support-referral")],
            ),
            (
                Procedure,
                "make a referral to an external specialist agency or organisation",
                &[Item("high-external-referral"), Out("external-referral")],
            ),
            (Procedure, "to safeguard the student or others", &[Out("safeguarding-plan")]),
            (
                Procedure,
                "This could include contacting the emergency services",
                &[Item("high-external-referral"), Out("emergency-services")],
            ),
            (Procedure, "Logged on CPOMS", &[Item("high-cpoms")]),
            (
                Procedure,
                "a note to say there has been a Smoothwall alert on student tracking (without detailing the content)",
                &[Item("high-tracking-note")],
            ),
        ];
        check_template("high", path(Level::High, false, false), STEPS);
        assert_item("high-contact-time", ItemKind::Time, true);
        assert_item("high-contact-by", ItemKind::Person, true);
        assert_item("high-next-of-kin", ItemKind::Person, false);
        assert_item("high-parents", ItemKind::Choice, true);
        assert_item("high-parents-reason", ItemKind::Note, true);
        assert_item("high-behaviour-policy", ItemKind::Tick, false);
        let referral = assert_item("high-external-referral", ItemKind::Choice, true);
        assert!(referral.choices.iter().any(|c| c == "None needed"));
        assert!(referral.choices.iter().any(|c| c == "Emergency services"));
        assert_item("high-cpoms", ItemKind::Reference, true);
        assert_item("high-tracking-note", ItemKind::Tick, true);
    }

    #[test]
    fn the_trend_template_follows_the_procedure() {
        const STEPS: &[Step] = &[(
            Procedure,
            "members of the safeguarding team might also be informed, particularly where we are able to identify trends in activity",
            &[Item("trend-wider-referral")],
        )];
        let trend = CasePath { trend: true, ..path(Level::Low, false, false) };
        check_template("trend", trend, STEPS);
        assert_item("trend-wider-referral", ItemKind::Note, false);
        // Shown last for a student, never for a member of staff, never without a trend.
        let ids = |p: CasePath| templates().sections_for(p).iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(trend), ["initial-review", "low", "trend"]);
        assert!(!ids(CasePath { trend: true, ..path(Level::High, true, false) }).contains(&"trend".to_string()));
        assert!(!ids(path(Level::High, false, false)).contains(&"trend".to_string()));
        // Closing never waits on a trend, so a file that makes one of its items required is refused.
        let required = "id = \"t7-tick\"\ntext = \"Tick\"\nrequired = true";
        let err = parse_err(&minimal_with("id = \"t7-tick\"\ntext = \"Tick\"\nrequired = false", required));
        assert!(matches!(&err, TemplateError::TrendItemRequired { item } if item == "t7-tick"), "{err:?}");
    }

    #[test]
    fn post_alert_follows_the_procedure() {
        const STEPS: &[Step] = &[
            (
                Procedure,
                "Ensure all actions and decisions are logged on CPOMS and student tracking",
                &[Item("post-all-logged")],
            ),
            (
                Procedure,
                "Inform all necessary staff members and external agencies where appropriate",
                &[Item("post-informed")],
            ),
            (
                Procedure,
                "Arrange any follow-up meetings and support with the student and/or parents/carers",
                &[Item("post-follow-up-date")],
            ),
        ];
        check_template("post-alert", path(Level::Medium, false, false), STEPS);
        check_template("post-alert", path(Level::High, false, false), STEPS);
        assert_item("post-informed", ItemKind::Note, true);
        assert_item("post-follow-up-date", ItemKind::Date, false);
    }

    #[test]
    fn illegal_path_follows_the_misuse_procedure() {
        const STEPS: &[Step] = &[
            (Policy, "the monitoring should be halted", &[Item("illegal-stop-review")]),
            (Policy, "except in the case of images of child sexual abuse", &[Item("illegal-no-copies")]),
            (Policy, "report immediately to the police", &[Item("illegal-police-ref"), Out("police-referral")]),
            (Policy, "referred to the police immediately", &[Item("illegal-police-ref")]),
            (Policy, "Isolate the computer in question as best you can", &[Item("illegal-isolate-device")]),
            (
                Policy,
                "Have more than one senior member of staff/volunteer involved in this process",
                &[Item("illegal-second-senior"), Item("illegal-second-senior-time")],
            ),
            (Policy, "Record the URL of any site containing the alleged misuse", &[Item("illegal-evidence-trail")]),
            (Policy, "provide an evidence trail", &[Item("illegal-evidence-trail")]),
        ];
        for level in LEVELS {
            for staff in [false, true] {
                check_template("illegal-content", path(level, staff, true), STEPS);
            }
        }
        for item in &templates().section_for(AppliesTo::IllegalContent).items {
            assert!(item.required, "illegal-content item `{}`", item.id);
        }
        assert_item("illegal-police-ref", ItemKind::Reference, true);
        assert_item("illegal-second-senior", ItemKind::Person, true);
        assert_item("illegal-second-senior-time", ItemKind::Time, true);
    }

    /// Issue 19 item 9: on the illegal-content path the path's own steps come first, in the order the policy's
    /// "Responding to incidents of misuse" gives them, and the case's review item is not there at all (the
    /// policy says stop reviewing): replaced, not ticked.
    #[test]
    fn illegal_path_steps_come_first_in_the_policys_order_and_replace_the_review() {
        // Each item, with where the policy first asks for it.
        const FIRST_ASKED: &[(&str, &str)] = &[
            ("illegal-police-ref", "report immediately to the police"),
            ("illegal-second-senior", "Have more than one senior member of staff/volunteer involved"),
            ("illegal-second-senior-time", "Have more than one senior member of staff/volunteer involved"),
            ("illegal-evidence-trail", "Record the URL of any site containing the alleged misuse"),
            ("illegal-no-copies", "except in the case of images of child sexual abuse"),
            ("illegal-stop-review", "the monitoring should be halted"),
            ("illegal-isolate-device", "Isolate the computer in question as best you can"),
        ];
        let illegal = templates().section_for(AppliesTo::IllegalContent);
        let ids: Vec<&str> = illegal.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, FIRST_ASKED.iter().map(|(id, _)| *id).collect::<Vec<_>>());
        let policy = normalise(source(Doc::Policy));
        let start = policy.rfind("Responding to incidents of misuse").expect("the appendix");
        let at: Vec<usize> = FIRST_ASKED
            .iter()
            .map(|(_, phrase)| policy[start..].find(&normalise(phrase)).expect("the policy says it"))
            .collect();
        assert!(at.windows(2).all(|w| w[0] <= w[1]), "not in the policy's order: {at:?}");
        for level in LEVELS {
            for staff in [false, true] {
                let items: Vec<&str> =
                    templates().items_for(path(level, staff, true)).iter().map(|(_, i)| i.id.as_str()).collect();
                assert_eq!(&items[..ids.len()], &ids[..], "{level:?} staff={staff}");
                assert!(!items.contains(&"review-alert") && !items.contains(&"staff-review-alert"), "{items:?}");
                let plain: Vec<&str> =
                    templates().items_for(path(level, staff, false)).iter().map(|(_, i)| i.id.as_str()).collect();
                let review = if staff { "staff-review-alert" } else { "review-alert" };
                assert_eq!(plain.first(), Some(&review), "off the path the review comes first");
            }
        }
    }

    #[test]
    fn staff_template_follows_the_procedure() {
        const STEPS: &[Step] = &[
            (Procedure, "reviews the alert, context and risk level", &[Item("staff-review-alert")]),
            (
                Procedure,
                "In the case of alerts relating to staff, only the DSL/Assistant Principal for Student Experience is informed",
                &[Item("staff-review-alert"), Item("staff-informed")],
            ),
            (
                Policy,
                "serious Online Safety allegation being made against a member of staff",
                &[Item("staff-allegations"), Out("allegations-procedure")],
            ),
            (
                Policy,
                "judge whether this concern has substance or not",
                &[Item("staff-allegations-reason"), Out("no-case-to-answer")],
            ),
        ];
        for level in LEVELS {
            check_template("staff", path(level, true, false), STEPS);
        }
        let decision = assert_item("staff-allegations", ItemKind::Choice, true);
        assert_eq!(decision.choices, ["Yes", "No"]);
        assert_item("staff-allegations-reason", ItemKind::Note, true);
        assert_item("staff-informed", ItemKind::Person, true);
    }

    // --- invalid files ----------------------------------------------------------------------------

    /// A small valid file: one template per `applies_to`, two outcomes for everyone.
    fn minimal() -> String {
        let mut text = String::from("version = 1\n");
        for (n, applies_to) in AppliesTo::ALL.iter().enumerate() {
            // A trend's items are never required.
            let required = *applies_to != AppliesTo::Trend;
            text.push_str(&format!(
                "\n[[template]]\nid = \"t{n}\"\ntitle = \"Template {n}\"\napplies_to = \"{applies_to}\"\n\
                 \n[[template.item]]\nid = \"t{n}-tick\"\ntext = \"Tick\"\nrequired = {required}\nkind = \"tick\"\n"
            ));
            // The roles the rules need: the Low response, and the rest in the High template.
            match applies_to {
                AppliesTo::Low => text.push_str("roles = [\"response\"]\n"),
                AppliesTo::High => text.push_str(
                    "roles = [\"cpoms\", \"tracking-note\"]\n\
                     \n[[template.item]]\nid = \"contact\"\ntext = \"Contact\"\nrequired = true\nkind = \"time\"\n\
                     roles = [\"contact-time\", \"response\"]\n\
                     \n[[template.item]]\nid = \"follow\"\ntext = \"Follow-up\"\nrequired = false\nkind = \"date\"\n\
                     roles = [\"follow-up-date\"]\n",
                ),
                AppliesTo::IllegalContent => text.push_str(
                    "\n[[template.item]]\nid = \"pick\"\ntext = \"Pick one\"\nrequired = true\nkind = \"choice\"\n\
                     choices = [\"Yes\", \"No\"]\n",
                ),
                _ => {}
            }
        }
        for n in 1..=2 {
            text.push_str(&format!(
                "\n[[outcome]]\nid = \"o{n}\"\ntext = \"Outcome {n}\"\nlevels = [\"low\", \"medium\", \"high\"]\n\
                 subjects = [\"student\", \"staff\"]\n"
            ));
        }
        text
    }

    /// `minimal()` with `from` (which must occur exactly once) replaced by `to`.
    fn minimal_with(from: &str, to: &str) -> String {
        let text = minimal();
        assert_eq!(text.matches(from).count(), 1, "{from:?} in\n{text}");
        text.replace(from, to)
    }

    fn parse_err(text: &str) -> TemplateError {
        match Templates::parse(text) {
            Ok(_) => panic!("parsed, but should not have:\n{text}"),
            Err(err) => err,
        }
    }

    #[test]
    fn minimal_file_parses() {
        let parsed = Templates::parse(&minimal()).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(parsed.sections().len(), 8);
        assert_eq!(parsed.item("pick").map(|i| i.choices.len()), Some(2));
    }

    #[test]
    fn duplicate_item_id_is_rejected() {
        let err = parse_err(&minimal_with("id = \"t3-tick\"", "id = \"t1-tick\""));
        assert!(
            matches!(&err, TemplateError::DuplicateItem { id, first, second }
                if id == "t1-tick" && first == "t1" && second == "t3"),
            "{err:?}"
        );
        assert!(err.to_string().contains("`t1-tick`"), "{err}");
        // Within one template too.
        let err = parse_err(&minimal_with("id = \"pick\"", "id = \"t6-tick\""));
        assert!(matches!(err, TemplateError::DuplicateItem { .. }), "{err:?}");
    }

    #[test]
    fn choice_without_enough_choices_is_rejected() {
        let err = parse_err(&minimal_with("choices = [\"Yes\", \"No\"]\n", ""));
        assert!(matches!(&err, TemplateError::TooFewChoices { item, found: 0, .. } if item == "pick"), "{err:?}");
        assert!(err.to_string().contains("`pick`"), "{err}");
        let err = parse_err(&minimal_with("[\"Yes\", \"No\"]", "[\"Yes\"]"));
        assert!(matches!(&err, TemplateError::TooFewChoices { found: 1, .. }), "{err:?}");
        let err = parse_err(&minimal_with("[\"Yes\", \"No\"]", "[\"Yes\", \"Yes\"]"));
        assert!(matches!(&err, TemplateError::DuplicateChoice { .. }), "{err:?}");
    }

    #[test]
    fn choices_on_other_kinds_are_rejected() {
        let err = parse_err(&minimal_with(
            "id = \"t2-tick\"\ntext = \"Tick\"\nrequired = true\nkind = \"tick\"\n",
            "id = \"t2-tick\"\ntext = \"Tick\"\nrequired = true\nkind = \"tick\"\nchoices = []\n",
        ));
        assert!(
            matches!(&err, TemplateError::UnexpectedChoices { item, kind: ItemKind::Tick, .. } if item == "t2-tick"),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_field_is_rejected_with_its_line() {
        let err = parse_err(&minimal_with("kind = \"choice\"\n", "kind = \"choice\"\ncolour = \"red\"\n"));
        assert!(matches!(err, TemplateError::Toml(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("unknown field `colour`"), "{message}");
        assert!(message.contains("line"), "{message}");
        // At the top level and on outcomes too.
        let err = parse_err(&minimal_with("version = 1\n", "version = 1\nauthor = \"x\"\n"));
        assert!(err.to_string().contains("unknown field `author`"), "{err}");
        let err = parse_err(&minimal_with("id = \"o2\"", "id = \"o2\"\nstaff = false"));
        assert!(err.to_string().contains("unknown field `staff`"), "{err}");
    }

    #[test]
    fn toml_syntax_errors_keep_line_numbers() {
        let text = minimal_with("title = \"Template 2\"", "title = \"Template 2");
        let line = text[..text.find("title = \"Template 2").expect("title")].lines().count() + 1;
        let err = parse_err(&text);
        let message = err.to_string();
        assert!(matches!(err, TemplateError::Toml(_)), "{err:?}");
        assert!(message.contains(&format!("line {line},")), "{message}");
    }

    #[test]
    fn missing_section_is_rejected() {
        let err = parse_err(&minimal_with("applies_to = \"staff-alerts\"", "applies_to = \"low\""));
        assert!(
            matches!(&err, TemplateError::DuplicateAppliesTo { applies_to: AppliesTo::Low, first, second }
                if first == "t1" && second == "t5"),
            "{err:?}"
        );
        // Drop the staff template (t5) and its item entirely.
        let text = minimal();
        let start = text.find("[[template]]\nid = \"t5\"").expect("t5");
        let end = text.find("[[template]]\nid = \"t6\"").expect("t6");
        let text = format!("{}{}", &text[..start], &text[end..]);
        let err = parse_err(&text);
        assert!(matches!(err, TemplateError::MissingSection { applies_to: AppliesTo::StaffAlerts }), "{err:?}");
        assert!(err.to_string().contains("staff-alerts"), "{err}");
        let err = parse_err(&minimal_with("applies_to = \"medium\"", "applies_to = \"middling\""));
        assert!(matches!(err, TemplateError::Toml(_)), "{err:?}");
    }

    #[test]
    fn the_rules_find_their_items_by_role() {
        let t = templates();
        let id = |item: Option<&ItemTemplate>| item.map(|i| i.id.clone());
        assert_eq!(id(t.response_item(Level::High)).as_deref(), Some("high-contact-time"));
        assert_eq!(id(t.response_item(Level::Medium)).as_deref(), Some("medium-follow-up-date"));
        assert_eq!(id(t.response_item(Level::Low)), None, "a Low case is due to be closed");
        assert!(t.has_role("high-contact-time", ItemRole::ContactTime));
        assert!(t.has_role("post-follow-up-date", ItemRole::FollowUpDate));
        for id in ["medium-cpoms", "high-cpoms"] {
            assert!(t.has_role(id, ItemRole::Cpoms), "{id}");
        }
        for id in ["medium-tracking-note", "high-tracking-note"] {
            assert!(t.has_role(id, ItemRole::TrackingNote), "{id}");
        }
        let minimal = Templates::parse(&minimal()).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(id(minimal.response_item(Level::Low)).as_deref(), Some("t1-tick"));
        assert_eq!(id(minimal.response_item(Level::Medium)), None);
    }

    #[test]
    fn roles_are_checked_when_the_file_is_read() {
        // A role twice on one checklist: the initial review is on every student path, as is the High template.
        let err = parse_err(&minimal_with(
            "id = \"t0-tick\"\ntext = \"Tick\"\nrequired = true\nkind = \"tick\"\n",
            "id = \"t0-tick\"\ntext = \"Tick\"\nrequired = true\nkind = \"tick\"\nroles = [\"cpoms\"]\n",
        ));
        assert!(
            matches!(&err, TemplateError::DuplicateRole { role: ItemRole::Cpoms, first, second, .. }
                if first == "t0-tick" && second == "t3-tick"),
            "{err:?}"
        );
        assert!(err.to_string().contains("high student alerts"), "{err}");
        // Twice in one item's list is twice too.
        let err = parse_err(&minimal_with(
            "roles = [\"follow-up-date\"]",
            "roles = [\"follow-up-date\", \"follow-up-date\"]",
        ));
        assert!(matches!(&err, TemplateError::DuplicateRole { role: ItemRole::FollowUpDate, .. }), "{err:?}");
        // A role the rules need that no item has.
        let err = parse_err(&minimal_with("roles = [\"follow-up-date\"]", "roles = []"));
        assert!(matches!(err, TemplateError::MissingRole { role: ItemRole::FollowUpDate }), "{err:?}");
        assert!(err.to_string().contains("follow-up-date"), "{err}");
        // A role whose value a rule reads, on an item of another kind.
        let err = parse_err(&minimal_with("roles = [\"response\"]", "roles = [\"response\", \"contact-time\"]"));
        assert!(
            matches!(&err, TemplateError::RoleKind { role: ItemRole::ContactTime, kind: ItemKind::Tick, .. }),
            "{err:?}"
        );
        // The response outside a level's template.
        let err = parse_err(&minimal_with(
            "id = \"t4-tick\"\ntext = \"Tick\"\nrequired = true\nkind = \"tick\"\n",
            "id = \"t4-tick\"\ntext = \"Tick\"\nrequired = true\nkind = \"tick\"\nroles = [\"response\"]\n",
        ));
        assert!(matches!(&err, TemplateError::ResponseOutsideLevel { item, .. } if item == "t4-tick"), "{err:?}");
        // A role vigil does not know.
        let err = parse_err(&minimal_with("roles = [\"response\"]", "roles = [\"responce\"]"));
        assert!(matches!(err, TemplateError::Toml(_)), "{err:?}");
    }

    #[test]
    fn other_invalid_files_are_rejected() {
        let err = parse_err(&minimal_with("applies_to = \"low\"\n", "applies_to = \"low\"\nreplaces = [\"nope\"]\n"));
        assert!(
            matches!(&err, TemplateError::BadReplaces { section, item } if section == "t1" && item == "nope"),
            "{err:?}"
        );
        let err =
            parse_err(&minimal_with("applies_to = \"low\"\n", "applies_to = \"low\"\nreplaces = [\"t1-tick\"]\n"));
        assert!(matches!(&err, TemplateError::BadReplaces { .. }), "a template cannot replace its own item: {err:?}");

        let err = parse_err(&minimal_with("version = 1", "version = 0"));
        assert!(matches!(err, TemplateError::Version { found: 0 }), "{err:?}");

        let err = parse_err(&minimal_with("id = \"o2\"", "id = \"o1\""));
        assert!(matches!(&err, TemplateError::DuplicateOutcome { id } if id == "o1"), "{err:?}");

        let err = parse_err(&minimal_with("id = \"t0\"", "id = \"t1\""));
        assert!(matches!(&err, TemplateError::DuplicateSection { id } if id == "t1"), "{err:?}");

        // Too few outcomes: o2 for students only leaves staff with one.
        let err = parse_err(&minimal_with(
            "id = \"o2\"\ntext = \"Outcome 2\"\nlevels = [\"low\", \"medium\", \"high\"]\nsubjects = [\"student\", \"staff\"]",
            "id = \"o2\"\ntext = \"Outcome 2\"\nlevels = [\"low\", \"medium\", \"high\"]\nsubjects = [\"student\"]",
        ));
        assert!(matches!(err, TemplateError::TooFewOutcomes { subject: Subject::Staff, found: 1, .. }), "{err:?}");
        // An illegal-only outcome does not count towards the two.
        let err = parse_err(&minimal_with(
            "subjects = [\"student\", \"staff\"]\n\n[[outcome]]\nid = \"o2\"",
            "subjects = [\"student\", \"staff\"]\n\n[[outcome]]\nillegal_only = true\nid = \"o2\"",
        ));
        assert!(matches!(err, TemplateError::TooFewOutcomes { .. }), "{err:?}");

        // An unconditional item must say whether it is required; a conditional one need not.
        let err = parse_err(&minimal_with(
            "id = \"pick\"\ntext = \"Pick one\"\nrequired = true\n",
            "id = \"pick\"\ntext = \"Pick one\"\n",
        ));
        assert!(matches!(&err, TemplateError::MissingRequired { item, .. } if item == "pick"), "{err:?}");
        let parsed = Templates::parse(&minimal_with(
            "id = \"pick\"\ntext = \"Pick one\"\nrequired = true\n",
            "id = \"pick\"\ntext = \"Pick one\"\ncondition = \"if it applies\"\n",
        ))
        .unwrap_or_else(|err| panic!("{err}"));
        assert!(!parsed.item("pick").expect("pick").required);

        for bad in ["Pick", "pick one", "pick--one", "pick-", "1pick", ""] {
            let err = parse_err(&minimal_with("id = \"pick\"", &format!("id = \"{bad}\"")));
            assert!(matches!(&err, TemplateError::BadId { what: "item", id, .. } if id == bad), "{bad:?}: {err:?}");
        }
        let err = parse_err(&minimal_with("text = \"Pick one\"", "text = \"  \""));
        assert!(matches!(&err, TemplateError::Empty { id, field: "text", .. } if id == "pick"), "{err:?}");
    }
}
