//! Application state and the one function that changes it.
//!
//! `update(state, action)` is the only place state changes. It does no I/O: what must touch the store or
//! the feed comes back as [`Effect`]s, which the runtime (`tui.rs`) carries out through the case service
//! and feeds back as actions. The keymap and the help screen are both generated from [`keymap::BINDINGS`].

pub mod keymap;
pub mod update;

use chrono::{DateTime, Utc};

use crate::domain::AlertKey;
use crate::domain::case::CaseCommand;
use crate::feed::client::FeedHealth;
use crate::identity::Viewer;
use crate::service::{CaseDetail, CaseSummary};

pub use update::update;

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
    /// A one-line answer to a question (an item's value, a note).
    Prompt(Prompt),
    /// "Are you sure?" for close, regrade and reopen. Cancel is the default.
    Confirm {
        command: CaseCommand,
        yes_selected: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub label: String,
    pub input: String,
    pub purpose: PromptPurpose,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptPurpose {
    /// The value (or choice) of a checklist item.
    ItemValue { item: String },
    /// A free note on the case.
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub until: DateTime<Utc>,
}

/// Everything the screen shows. Renderers read it; only `update` writes it.
#[derive(Debug, Clone)]
pub struct State {
    pub viewer: Viewer,
    pub now: DateTime<Utc>,
    pub queue: Vec<CaseSummary>,
    pub selected: usize,
    pub detail: Option<CaseDetail>,
    pub detail_scroll: u16,
    pub checklist_selected: usize,
    pub focus: Focus,
    pub mode: Mode,
    pub health: FeedHealth,
    pub quarantined: usize,
    pub toast: Option<Toast>,
    pub demo: bool,
    pub ascii: bool,
    /// Times are shown in the college's zone.
    pub tz: chrono_tz::Tz,
    pub quit: bool,
}

impl State {
    pub fn new(viewer: Viewer, now: DateTime<Utc>) -> Self {
        State {
            viewer,
            now,
            queue: Vec::new(),
            selected: 0,
            detail: None,
            detail_scroll: 0,
            checklist_selected: 0,
            focus: Focus::Queue,
            mode: Mode::Normal,
            health: FeedHealth::default(),
            quarantined: 0,
            toast: None,
            demo: false,
            ascii: false,
            tz: chrono_tz::Europe::London,
            quit: false,
        }
    }

    pub fn selected_summary(&self) -> Option<&CaseSummary> {
        self.queue.get(self.selected)
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
    /// A character typed into the command line or a prompt.
    Type(char),
    Backspace,
    Submit,
    Cancel,
    QueueLoaded(Vec<CaseSummary>),
    DetailLoaded(Box<CaseDetail>),
    /// A decision was stored (flushed) or refused.
    Acted(Result<String, String>),
    Feed(crate::feed::client::PollerEvent),
    Quarantined(usize),
    Tick(DateTime<Utc>),
}

/// Work for the runtime. Each one's result comes back as an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    LoadQueue,
    /// Open a case: records a view and loads its detail.
    OpenCase(AlertKey),
    Act(AlertKey, CaseCommand),
    RetryFeed,
    Quit,
}
