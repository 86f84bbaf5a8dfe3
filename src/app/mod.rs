//! Application state and the one function that changes it.
//!
//! `update(state, action)` is the only place state changes. It does no I/O: what must touch the store or
//! the feed comes back as [`Effect`]s, which the runtime (`tui.rs`) carries out through the case service
//! and feeds back as actions. Key handling, the hint bar and the help screen are all generated from the one
//! keymap (`assets/keymap.toml`).

pub mod filter;
pub mod keymap;
pub mod update;

use chrono::{DateTime, Utc};

use crate::domain::AlertKey;
use crate::domain::case::CaseCommand;
use crate::identity::Viewer;
use crate::intake::FeedHealth;
use crate::service::{CaseDetail, CaseSummary};

pub use update::update;

/// Below this the screen cannot show a usable queue and case: it says so instead of drawing a broken one,
/// and no key but quit acts (a key acts only on what the screen shows).
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Whether a terminal of `width`x`height` can show vigil (below it shows only a message).
pub fn fits(width: u16, height: u16) -> bool {
    width >= MIN_WIDTH && height >= MIN_HEIGHT
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Queue,
    Detail,
    Checklist,
}

impl Focus {
    pub fn name(self) -> &'static str {
        match self {
            Focus::Queue => "queue",
            Focus::Detail => "detail",
            Focus::Checklist => "checklist",
        }
    }
}

/// What the keyboard is talking to right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    /// The `:` command line.
    Command(String),
    /// Typing a queue filter after `/`; the filter applies as you type. Esc puts back the previous text.
    Search {
        previous: String,
    },
    /// A one-line answer to a question (an item's value).
    Prompt(Prompt),
    /// The multi-line editor, for notes and reasons.
    Editor(Box<Editor>),
    /// The CPOMS entry and the student-tracking note, ready to copy.
    Records(crate::service::records::Records),
    /// A read-only text (the rejected alerts), scrolled like the help.
    Text {
        title: String,
        lines: Vec<String>,
    },
    /// A screenshot over the whole screen, prepared for its size; Esc goes back.
    Picture(ShotView),
    /// The handover (`:handover`), scrolled like the help; its acknowledgement covers what it shows.
    Handover(Box<crate::service::handover::Handover>),
    /// A student's history over the panes; Enter opens the selected case.
    History(Box<HistoryView>),
    /// "Are you sure?" for close, regrade and reopen, and for quitting with typed text unsaved. Cancel is the
    /// default.
    Confirm {
        question: Question,
        yes_selected: bool,
    },
}

/// A student's history as the history view shows it: their cases, oldest first, and the one selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryView {
    pub history: crate::service::subjects::History,
    pub selected: usize,
}

/// What a confirmation asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// A decision on a case (close, regrade, reopen).
    Act {
        /// The case it is about, fixed when the question was asked.
        key: AlertKey,
        command: CaseCommand,
        /// Who has the case, when it is someone else and this reviewer has not yet said they mean to act on
        /// it: asked once per case.
        others: Option<String>,
    },
    /// Quit (Ctrl-C, q) while typed text is not saved: no answers "go back to it", and `back` is the editor,
    /// prompt or command line as it was, text and all.
    Quit { back: Box<Mode> },
}

impl Mode {
    /// Whether the mode holds text the user typed and has not saved: quitting would lose it.
    pub fn unsaved_text(&self) -> bool {
        match self {
            Mode::Editor(e) => !e.content().trim().is_empty(),
            Mode::Prompt(p) => !p.input.trim().is_empty(),
            Mode::Command(line) => !line.trim().is_empty(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The case the answer is for, fixed when the question was asked: the queue may move meanwhile.
    pub key: AlertKey,
    pub label: String,
    pub input: String,
    pub purpose: PromptPurpose,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptPurpose {
    /// The value (or choice) of a checklist item.
    ItemValue { item: String },
}

/// What the editor's text becomes when saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorPurpose {
    /// A free note on the case.
    Note,
    /// The reason for undoing a done item.
    UntickReason { item: String },
    /// The form of an alert taken by phone or in person (`N`): a field on each line.
    NewAlert,
}

/// The multi-line editor (ratatui-textarea gives it the usual editing keys).
#[derive(Debug, Clone)]
pub struct Editor {
    /// The case the text is for, fixed when the editor opened.
    pub key: AlertKey,
    pub label: String,
    pub purpose: EditorPurpose,
    pub text: ratatui_textarea::TextArea<'static>,
}

impl Editor {
    pub fn new(key: AlertKey, label: impl Into<String>, purpose: EditorPurpose) -> Editor {
        Editor { key, label: label.into(), purpose, text: ratatui_textarea::TextArea::default() }
    }

    pub fn content(&self) -> String {
        self.text.lines().join("\n")
    }
}

impl PartialEq for Editor {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
            && self.label == other.label
            && self.purpose == other.purpose
            && self.text.lines() == other.text.lines()
    }
}

impl Eq for Editor {}

/// A case the service escalated because nobody opened it: the banner shows it until it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalated {
    pub key: AlertKey,
    pub level: crate::domain::Level,
    pub round: u32,
    pub unopened_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub until: DateTime<Utc>,
}

/// A screenshot prepared for the terminal (kitty, sixel, iTerm2 or half-blocks).
#[derive(Clone)]
pub struct ShotImage(pub std::sync::Arc<ratatui_image::protocol::Protocol>);

/// The same picture: one prepared image, shared.
impl PartialEq for ShotImage {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ShotImage {}

impl std::fmt::Debug for ShotImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShotImage")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShotStatus {
    Loading,
    Ready(ShotImage),
    Failed(String),
}

/// What a screenshot is prepared for: the case pane, or the whole screen at a size in cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShotFit {
    Pane,
    Screen { width: u16, height: u16 },
}

/// The screenshot shown for the open case, in its pane or over the whole screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShotView {
    pub key: AlertKey,
    /// The capture it belongs to.
    pub index: usize,
    pub fit: ShotFit,
    pub status: ShotStatus,
}

/// What the header and the queue title count, recounted in `update` whenever the cases change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCounts {
    /// Open cases by level, in the order of [`crate::domain::Level::ALL`].
    pub open_by_level: [(crate::domain::Level, usize); 3],
    pub open: usize,
    pub overdue: usize,
}

impl Default for QueueCounts {
    fn default() -> Self {
        QueueCounts::of(&[])
    }
}

impl QueueCounts {
    pub fn of(cases: &[CaseSummary]) -> QueueCounts {
        let open_by_level = crate::service::counts(cases);
        QueueCounts {
            open_by_level,
            open: open_by_level.iter().map(|(_, n)| n).sum(),
            overdue: cases.iter().filter(|c| c.overdue).count(),
        }
    }
}

/// Everything the screen shows. Renderers read it; only `update` writes it.
#[derive(Debug, Clone)]
pub struct State {
    pub viewer: Viewer,
    pub now: DateTime<Utc>,
    /// The cases the viewer may see, in queue order: every open one, and the closed and withdrawn ones too
    /// once `closed_loaded` (they all sort after the open ones).
    pub cases: Vec<CaseSummary>,
    /// Whether `cases` holds the cases that are not open. A store of some years is mostly closed cases and
    /// the default view shows none, so they are read (off the UI) only when a filter asks for them, then
    /// kept.
    pub closed_loaded: bool,
    /// A read of the closed cases is under way.
    pub closed_loading: bool,
    /// Why the last read of the closed cases failed; not tried again until the filter or the cases change.
    pub closed_error: Option<String>,
    /// The raise time and level of every case not open, for the dashboard while `closed_loaded` is false.
    /// `None` when not read yet or out of date.
    pub not_open: Option<Vec<(DateTime<Utc>, crate::domain::Level)>>,
    pub not_open_loading: bool,
    pub not_open_error: Option<String>,
    /// Goes up whenever the set of cases changes: a background read begun before then may be stale.
    pub epoch: u64,
    /// Counts for the header and the queue title, kept with `cases` rather than counted for each frame.
    pub counts: QueueCounts,
    /// Indices into `cases` that pass the filter: what the queue shows.
    pub rows: Vec<usize>,
    pub filter: filter::Filter,
    /// The schools the trust's view reads at once, for the school filter (empty on a school's own view).
    pub schools: Vec<String>,
    /// Row index into `rows`.
    pub selected: usize,
    pub detail: Option<CaseDetail>,
    pub detail_scroll: u16,
    pub checklist_selected: usize,
    pub focus: Focus,
    pub mode: Mode,
    pub health: FeedHealth,
    pub quarantined: usize,
    pub toast: Option<Toast>,
    /// The escalated cases nobody has opened yet, most urgent first: the banner shows the first.
    pub escalated: Vec<Escalated>,
    pub demo: bool,
    pub ascii: bool,
    pub keymap: std::sync::Arc<keymap::Keymap>,
    pub dashboard: bool,
    /// The dashboard's figures, computed in `update` whenever the cases or the clock change.
    pub duty: Option<crate::report::duty::DutySummary>,
    /// Scroll position of the help or records overlay.
    pub overlay_scroll: u16,
    /// The feed counts as stale when nothing succeeded for this long (a few poll intervals).
    pub stale_after: chrono::Duration,
    /// Show screenshots as pictures (where the terminal can) rather than as text references.
    pub screenshot_preview: bool,
    pub screenshot: Option<ShotView>,
    /// Times are shown in the college's zone.
    pub tz: chrono_tz::Tz,
    /// The terminal's size, as the runtime last saw it (`None` until it says: tests that never draw small).
    /// Below the minimum the screen shows only "too small", so the keys can act on nothing else.
    pub screen: Option<ratatui::layout::Size>,
    /// Everyone else connected to the shared service, and the case each has open (when this viewer may
    /// see it). Empty in the embedded mode.
    pub others: Vec<crate::service::wire::Present>,
    /// The connection to the shared service when it is not up (`None`: up, or embedded).
    pub link: Option<crate::service::remote::LinkState>,
    /// The editor whose text was just sent as a decision: put back if the decision is not recorded, so
    /// nothing typed is lost.
    pub sent_editor: Option<Box<Editor>>,
    /// The safeguarding team's reviewers, for completing `:assign` and `:share` (read once, at start).
    pub team: Vec<crate::service::api::Member>,
    /// Cases someone else has that this reviewer said yes to acting on (asked once per case).
    pub acting_on_others: std::collections::BTreeSet<AlertKey>,
    /// A case being opened from a student's history: selected in the queue when it arrives, even when it
    /// is closed and the closed cases are not read yet.
    pub opening: Option<AlertKey>,
    pub quit: bool,
}

impl State {
    pub fn new(viewer: Viewer, now: DateTime<Utc>) -> Self {
        State {
            viewer,
            now,
            cases: Vec::new(),
            closed_loaded: false,
            closed_loading: false,
            closed_error: None,
            not_open: None,
            not_open_loading: false,
            not_open_error: None,
            epoch: 0,
            counts: QueueCounts::default(),
            schools: Vec::new(),
            rows: Vec::new(),
            filter: filter::Filter::default(),
            selected: 0,
            detail: None,
            detail_scroll: 0,
            checklist_selected: 0,
            focus: Focus::Queue,
            mode: Mode::Normal,
            health: FeedHealth::default(),
            quarantined: 0,
            toast: None,
            escalated: Vec::new(),
            demo: false,
            ascii: false,
            keymap: std::sync::Arc::new(keymap::Keymap::embedded()),
            dashboard: false,
            duty: None,
            overlay_scroll: 0,
            stale_after: chrono::Duration::minutes(5),
            screenshot_preview: true,
            screenshot: None,
            tz: chrono_tz::Europe::London,
            screen: None,
            others: Vec::new(),
            link: None,
            sent_editor: None,
            team: Vec::new(),
            acting_on_others: Default::default(),
            opening: None,
            quit: false,
        }
    }

    /// The case open on this screen: the detail, when it is the selected case's.
    pub fn open_case(&self) -> Option<&AlertKey> {
        self.detail.as_ref().map(|d| &d.summary.key).filter(|k| self.selected_key() == Some(*k))
    }

    /// The others connected who have `key` open.
    pub fn others_viewing<'a>(&'a self, key: &'a AlertKey) -> impl Iterator<Item = &'a crate::service::wire::Present> {
        self.others.iter().filter(move |p| p.viewing.as_ref() == Some(key))
    }

    pub fn selected_summary(&self) -> Option<&CaseSummary> {
        self.rows.get(self.selected).and_then(|i| self.cases.get(*i))
    }

    /// The rows the queue shows, in order.
    pub fn visible(&self) -> impl Iterator<Item = &CaseSummary> + '_ {
        self.rows.iter().filter_map(|i| self.cases.get(*i))
    }

    /// Whether the screen is too small to show anything but the "too small" message.
    /// The terminal's size in cells, which a full-screen picture is prepared for (the minimum until told).
    pub fn screen_size(&self) -> ratatui::layout::Size {
        self.screen.unwrap_or(ratatui::layout::Size { width: MIN_WIDTH, height: MIN_HEIGHT })
    }

    pub fn too_small(&self) -> bool {
        self.screen.is_some_and(|s| !fits(s.width, s.height))
    }

    /// The key mode of what is on top of the screen: the keys that can act are the ones this mode binds,
    /// and nothing else (`update` holds every action to it). An overlay, the dashboard and the too-small
    /// screen each have their own short list, so a key cannot reach a pane the screen is not showing.
    pub fn key_mode(&self) -> keymap::KeyMode {
        use keymap::KeyMode;
        match &self.mode {
            // The too-small screen shows this one question, so its answer keys work there too.
            Mode::Confirm { question: Question::Quit { .. }, .. } => KeyMode::Confirm,
            _ if self.too_small() => KeyMode::TooSmall,
            Mode::Normal => self.base_key_mode(),
            Mode::Help => KeyMode::Help,
            Mode::Command(_) | Mode::Prompt(_) | Mode::Search { .. } => KeyMode::Palette,
            Mode::Editor(_) => KeyMode::Editor,
            Mode::Confirm { .. } => KeyMode::Confirm,
            Mode::Records(_) => KeyMode::Records,
            Mode::Handover(_) => KeyMode::Handover,
            Mode::History(_) => KeyMode::History,
            Mode::Text { .. } | Mode::Picture(_) => KeyMode::Help,
        }
    }

    /// The key mode under any overlay: the dashboard, or the focused pane. The help lists its keys.
    pub fn base_key_mode(&self) -> keymap::KeyMode {
        if self.dashboard { keymap::KeyMode::Dashboard } else { keymap::KeyMode::of_pane(self.focus) }
    }

    /// What is on top, in words, for the hint bar.
    pub fn top_name(&self) -> &'static str {
        match &self.mode {
            Mode::Text { .. } => "text",
            Mode::Confirm { .. } => "confirm",
            Mode::Command(_) => "command line",
            Mode::Prompt(_) => "answer",
            Mode::Search { .. } => "filter",
            _ => self.key_mode().name(),
        }
    }

    pub fn selected_key(&self) -> Option<&AlertKey> {
        self.selected_summary().map(|s| &s.key)
    }
}

/// Everything that can happen to the app: keys (already mapped to commands), results from the store, feed
/// events and the clock.
#[derive(Debug, Clone)]
pub enum Action {
    Command(keymap::Command),
    /// A character typed into the command line, a prompt or the editor.
    Type(char),
    /// Any other key while the editor is open (arrows, Backspace, Enter for a new line, ...).
    EditorKey(ratatui_textarea::Input),
    Backspace,
    /// A key the current mode does not bind, by its name: the hint line says why it does nothing.
    Unbound(String),
    /// A mouse click on a queue row (an index into the visible rows).
    Select(usize),
    Submit,
    Cancel,
    /// The whole queue: open and closed cases.
    QueueLoaded(Vec<CaseSummary>),
    /// The open cases (the closed ones held, if any, stay).
    OpenLoaded(Vec<CaseSummary>),
    /// The cases that are not open, read for a filter that asks for them. `epoch` is the state's when the
    /// read was asked for: a later change makes it stale.
    ClosedLoaded {
        epoch: u64,
        result: Result<Vec<CaseSummary>, String>,
    },
    /// The raise time, level and [`crate::service::key_hash`] of every case not open, for the dashboard.
    NotOpenLoaded {
        epoch: u64,
        result: Result<Vec<(DateTime<Utc>, crate::domain::Level, u64)>, String>,
    },
    /// One case's row after a change, or `None` when the viewer may no longer see it; `seq` is the number of
    /// the service's event that said so (an open case read before it is read again).
    CaseChanged {
        key: AlertKey,
        summary: Option<Box<CaseSummary>>,
        seq: Option<u64>,
    },
    /// A decision on a case was stored (flushed).
    Decided {
        key: AlertKey,
        message: String,
    },
    DetailLoaded(Box<CaseDetail>),
    /// The safeguarding team's reviewers.
    TeamLoaded(Vec<crate::service::api::Member>),
    /// Something refused or failed (a decision, a read): the message for the user.
    Failed(String),
    Feed(crate::intake::PollerEvent),
    /// New alerts arrived (the service's event): how many, and how many High.
    Arrived {
        new: usize,
        high_new: usize,
    },
    Quarantined(usize),
    /// The service escalated cases nobody opened (its events, those heard together in one).
    Escalated(Vec<Escalated>),
    /// The CPOMS entry and tracking note, produced by the service.
    RecordsLoaded(crate::service::records::Records),
    /// A student's history, read by the service (an audited view).
    HistoryLoaded(Box<crate::service::subjects::History>),
    /// The tally trend markers are counted from is made: the subjects whose alerts make a trend (or why
    /// it could not be made).
    TrendsWarmed(Result<Vec<crate::service::subjects::SubjectTrend>, String>),
    /// A text to show in an overlay.
    ShowText {
        title: String,
        lines: Vec<String>,
    },
    /// A screenshot was fetched and prepared (or could not be).
    ScreenshotLoaded {
        key: AlertKey,
        index: usize,
        fit: ShotFit,
        result: Result<ShotImage, String>,
    },
    /// The handover, read for `:handover` (an audited view).
    HandoverLoaded(Box<crate::service::handover::Handover>),
    /// The handover shown was acknowledged up to this moment.
    HandoverAcknowledged(DateTime<Utc>),
    /// What changed since the reviewer last looked, read as the TUI starts (`None`: the first look).
    LookedBack(Result<Option<crate::service::handover::LookBack>, String>),
    /// The terminal's size changed (and once at start).
    Resized(ratatui::layout::Size),
    /// Who else is connected to the shared service.
    Presence(Vec<crate::service::wire::Present>),
    /// The connection to the shared service went down or came back.
    Link(crate::service::remote::LinkState),
    Tick(DateTime<Utc>),
}

/// Work for the runtime. Each one's result comes back as an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Read the open cases again (and, if held, the closed ones).
    LoadQueue,
    /// Read the cases that are not open (off the UI task where there is one).
    LoadClosed {
        epoch: u64,
    },
    /// Read the raise time and level of every case not open, for the dashboard (off the UI task).
    LoadNotOpen {
        epoch: u64,
    },
    /// Open a case: records a view and loads its detail.
    OpenCase(AlertKey),
    Act(AlertKey, CaseCommand),
    /// Store an alert taken by phone or in person, as its form has it.
    AddAlert(Box<crate::service::intake::ManualAlert>),
    RetryFeed,
    /// Load the rejected alerts (an audited view) to show them.
    ListRejected,
    /// Produce the CPOMS entry and the tracking note for a case (an audited view).
    LoadRecords(AlertKey),
    /// Read the student's history of a case (an audited view).
    LoadHistory(AlertKey),
    /// Make the tally trend markers are counted from (one pass over the index, off the UI task), then
    /// mark the rows held with it.
    WarmTrends,
    /// Link the case to another (`reason: None`) or unlink them; `other` is the case's `ID` or `SOURCE:ID`,
    /// found by the service first.
    Link {
        key: AlertKey,
        other: String,
        reason: Option<String>,
    },
    /// Fetch, check and prepare a capture's screenshot off the UI task.
    FetchScreenshot {
        key: AlertKey,
        index: usize,
        fit: ShotFit,
    },
    /// New High alerts arrived: ring the bell and set a content-free window title.
    Alarm {
        high_new: usize,
    },
    /// Read the handover (an audited view) to show it.
    LoadHandover,
    /// Acknowledge the handover shown: up to its end and its newest note.
    AcknowledgeHandover {
        until: DateTime<Utc>,
        up_to_note: Option<u64>,
    },
    /// What changed since the reviewer last looked, marking that they look now (once, as the TUI starts).
    LookBack,
    /// A case was escalated: ring the bell and set the window title to `title` (content-free).
    Escalation {
        title: String,
    },
    /// Set the window title (content-free).
    Title(String),
    /// Put text on the user's clipboard (OSC 52, which works over SSH).
    Copy(String),
    Quit,
}
