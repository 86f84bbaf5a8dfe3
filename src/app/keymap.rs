//! The keymap: the one list of commands, in `assets/keymap.toml`, overridable from the user's config.
//!
//! Key handling, the hint bar and the `?` help are all generated from it, so a key cannot do one thing and
//! be documented as another. Unknown actions, unknown modes, unreadable key names and two actions on one
//! key are reported at start with the file and the line.

use std::collections::BTreeMap;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use super::Focus;

pub const EMBEDDED: &str = include_str!("../../assets/keymap.toml");

/// Every action a key can trigger. Each has a name, used in the keymap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    NextPane,
    PrevPane,
    Toggle,
    AddNote,
    Records,
    CommandLine,
    Filter,
    ClearFilter,
    FilterHigh,
    FilterMedium,
    FilterLow,
    FilterOverdue,
    FilterOutOfHours,
    FilterMine,
    FilterUnassigned,
    FilterClosed,
    /// The trust's view only: one school's cases, the next school each time.
    FilterSchool,
    Take,
    NewAlert,
    Dashboard,
    Screenshot,
    ViewScreenshot,
    CopyReference,
    Help,
    Retry,
    Quit,
    // Editor, palette, confirm and help modes.
    Submit,
    Cancel,
    Complete,
    Yes,
    No,
    Switch,
    Choose,
    CloseHelp,
    // The records overlay.
    CopyCpoms,
    CopyTracking,
    // The handover view.
    Acknowledge,
    /// The open case's student's history.
    History,
}

const NAMES: &[(Command, &str)] = &[
    (Command::Up, "up"),
    (Command::Down, "down"),
    (Command::Top, "top"),
    (Command::Bottom, "bottom"),
    (Command::PageUp, "page-up"),
    (Command::PageDown, "page-down"),
    (Command::Open, "open"),
    (Command::NextPane, "next-pane"),
    (Command::PrevPane, "prev-pane"),
    (Command::Toggle, "tick"),
    (Command::AddNote, "note"),
    (Command::Records, "records"),
    (Command::CommandLine, "command"),
    (Command::Filter, "filter"),
    (Command::ClearFilter, "clear-filter"),
    (Command::FilterHigh, "filter-high"),
    (Command::FilterMedium, "filter-medium"),
    (Command::FilterLow, "filter-low"),
    (Command::FilterOverdue, "filter-overdue"),
    (Command::FilterOutOfHours, "filter-ooh"),
    (Command::FilterMine, "filter-mine"),
    (Command::FilterUnassigned, "filter-unassigned"),
    (Command::FilterSchool, "filter-school"),
    (Command::Take, "take"),
    (Command::NewAlert, "new-alert"),
    (Command::FilterClosed, "filter-closed"),
    (Command::Dashboard, "dashboard"),
    (Command::Screenshot, "screenshot"),
    (Command::ViewScreenshot, "view-screenshot"),
    (Command::CopyReference, "copy-reference"),
    (Command::Help, "help"),
    (Command::Retry, "retry"),
    (Command::Quit, "quit"),
    (Command::Submit, "submit"),
    (Command::Cancel, "cancel"),
    (Command::Complete, "complete"),
    (Command::Yes, "yes"),
    (Command::No, "no"),
    (Command::Switch, "switch"),
    (Command::Choose, "choose"),
    (Command::CloseHelp, "close"),
    (Command::CopyCpoms, "copy-cpoms"),
    (Command::CopyTracking, "copy-tracking"),
    (Command::Acknowledge, "acknowledge"),
    (Command::History, "history"),
];

impl Command {
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(c, _)| *c == self).map_or("?", |(_, n)| n)
    }

    pub fn from_name(name: &str) -> Option<Command> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
    }

    /// Whether the command records a decision on a case: a key the trust's lead, who decides nothing, is
    /// not given (the `:` line stays, for its filters and views; a decision typed there is refused).
    pub fn decides(self) -> bool {
        matches!(self, Command::Toggle | Command::AddNote | Command::Take | Command::NewAlert)
    }
}

/// A keymap section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyMode {
    Global,
    Queue,
    Detail,
    Checklist,
    Editor,
    Palette,
    Confirm,
    Help,
    Records,
    Dashboard,
    Handover,
    TooSmall,
    /// A student's history, over the panes.
    History,
}

impl KeyMode {
    const ALL: [(KeyMode, &'static str); 13] = [
        (KeyMode::Global, "global"),
        (KeyMode::Queue, "queue"),
        (KeyMode::Detail, "detail"),
        (KeyMode::Checklist, "checklist"),
        (KeyMode::Editor, "editor"),
        (KeyMode::Palette, "palette"),
        (KeyMode::Confirm, "confirm"),
        (KeyMode::Help, "help"),
        (KeyMode::Records, "records"),
        (KeyMode::Dashboard, "dashboard"),
        (KeyMode::Handover, "handover"),
        (KeyMode::TooSmall, "too-small"),
        (KeyMode::History, "history"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(m, _)| *m == self).map_or("?", |(_, n)| n)
    }

    fn from_name(name: &str) -> Option<KeyMode> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
    }

    pub fn of_pane(focus: Focus) -> KeyMode {
        match focus {
            Focus::Queue => KeyMode::Queue,
            Focus::Detail => KeyMode::Detail,
            Focus::Checklist => KeyMode::Checklist,
        }
    }

    /// The panes: the only modes where [global] bindings apply.
    pub fn is_pane(self) -> bool {
        matches!(self, KeyMode::Queue | KeyMode::Detail | KeyMode::Checklist)
    }

    /// The actions that make sense in this section. Quit is allowed everywhere: where text is being typed
    /// it asks first.
    fn allows(self, c: Command) -> bool {
        use Command::*;
        match self {
            KeyMode::Editor => matches!(c, Submit | Cancel | Quit),
            KeyMode::Palette => matches!(c, Submit | Cancel | Complete | Quit),
            KeyMode::Confirm => matches!(c, Yes | No | Switch | Choose | Quit),
            KeyMode::Help => matches!(c, CloseHelp | Up | Down | PageUp | PageDown | Quit),
            KeyMode::Records => {
                matches!(c, CloseHelp | Up | Down | PageUp | PageDown | CopyCpoms | CopyTracking | Quit)
            }
            KeyMode::Dashboard => matches!(c, Dashboard | Help | Retry | Quit),
            KeyMode::Handover => matches!(c, CloseHelp | Up | Down | PageUp | PageDown | Acknowledge | Quit),
            KeyMode::TooSmall => matches!(c, Quit),
            KeyMode::History => {
                matches!(c, Open | CloseHelp | Up | Down | Top | Bottom | PageUp | PageDown | Quit)
            }
            KeyMode::Global | KeyMode::Queue | KeyMode::Detail | KeyMode::Checklist => !matches!(
                c,
                Submit
                    | Cancel
                    | Complete
                    | Yes
                    | No
                    | Switch
                    | Choose
                    | CloseHelp
                    | CopyCpoms
                    | CopyTracking
                    | Acknowledge
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub mode: KeyMode,
    pub command: Command,
    pub keys: Vec<String>,
    pub description: String,
    pub hint: bool,
    /// The words in the hint bar (the action's name when not given).
    pub short: Option<String>,
}

impl Binding {
    /// "n note": the first key and the short words, for the hint bar.
    pub fn hint_text(&self) -> String {
        let key = self.keys.first().map_or("", String::as_str);
        format!("{key} {}", self.short.as_deref().unwrap_or(self.command.name()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

/// User overrides as they come from the config: `[keys.MODE] action = ["key", ...]`, with spans for errors.
pub type KeyOverrides = BTreeMap<String, BTreeMap<String, toml::Spanned<Vec<String>>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecEntry {
    keys: Vec<String>,
    description: String,
    #[serde(default)]
    hint: bool,
    #[serde(default)]
    short: Option<String>,
}

type Spec = BTreeMap<String, BTreeMap<String, toml::Spanned<SpecEntry>>>;

/// One problem in a keymap or a config's `[keys]`, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for KeymapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

/// Parses a key name as the keymap spells it into (code, modifiers).
pub fn parse_key(name: &str) -> Option<(KeyCode, KeyModifiers)> {
    let (mods, base) = match name.split_once('-') {
        Some(("Ctrl", rest)) if !rest.is_empty() => (KeyModifiers::CONTROL, rest),
        Some(("Alt", rest)) if !rest.is_empty() => (KeyModifiers::ALT, rest),
        _ => (KeyModifiers::NONE, name),
    };
    let code = match base {
        "Enter" => KeyCode::Enter,
        "Esc" => KeyCode::Esc,
        "Tab" => KeyCode::Tab,
        "BackTab" => KeyCode::BackTab,
        "Space" => KeyCode::Char(' '),
        "Backspace" => KeyCode::Backspace,
        "Up" => KeyCode::Up,
        "Down" => KeyCode::Down,
        "Left" => KeyCode::Left,
        "Right" => KeyCode::Right,
        "Home" => KeyCode::Home,
        "End" => KeyCode::End,
        "PageUp" => KeyCode::PageUp,
        "PageDown" => KeyCode::PageDown,
        f if f.len() > 1 && f.starts_with('F') => KeyCode::F(f[1..].parse().ok().filter(|n| (1..=12).contains(n))?),
        c if c.chars().count() == 1 => KeyCode::Char(c.chars().next()?),
        _ => return None,
    };
    Some((code, mods))
}

/// The name of a key event as the keymap spells it.
pub fn key_name(key: &KeyEvent) -> Option<String> {
    let base = match key.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "BackTab".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::Left => "Left".into(),
        KeyCode::Right => "Right".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PageUp".into(),
        KeyCode::PageDown => "PageDown".into(),
        KeyCode::F(n) => format!("F{n}"),
        _ => return None,
    };
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        Some(format!("Ctrl-{base}"))
    } else if key.modifiers.contains(KeyModifiers::ALT) {
        Some(format!("Alt-{base}"))
    } else {
        Some(base)
    }
}

impl Keymap {
    /// The built-in keymap. It is checked by a test, so it always parses; should it not, vigil still runs
    /// with no bindings rather than crash.
    pub fn embedded() -> Keymap {
        Keymap::parse("assets/keymap.toml", EMBEDDED).unwrap_or(Keymap { bindings: Vec::new() })
    }

    /// Parses a keymap file.
    pub fn parse(file: &str, text: &str) -> Result<Keymap, Vec<KeymapError>> {
        let err = |line, message: String| KeymapError { file: file.to_string(), line, message };
        let spec: Spec = toml::from_str(text)
            .map_err(|e| vec![err(e.span().map_or(1, |s| line_of(text, s.start)), e.message().to_string())])?;
        let mut errors = Vec::new();
        let mut bindings = Vec::new();
        let mut order = Vec::new();
        for (mode_name, actions) in spec {
            let Some(mode) = KeyMode::from_name(&mode_name) else {
                errors.push(err(1, format!("unknown mode [{mode_name}]")));
                continue;
            };
            for (action, entry) in actions {
                let start = entry.span().start;
                let line = line_of(text, start);
                let entry = entry.into_inner();
                match Command::from_name(&action).filter(|c| mode.allows(*c)) {
                    None => errors.push(err(line, format!("unknown action `{action}` in [{mode_name}]"))),
                    Some(command) => order.push((
                        start,
                        Binding {
                            mode,
                            command,
                            keys: entry.keys,
                            description: entry.description,
                            hint: entry.hint,
                            short: entry.short,
                        },
                    )),
                }
            }
        }
        // Help lists bindings in the order the file gives them.
        order.sort_by_key(|(start, _)| *start);
        bindings.extend(order.into_iter().map(|(_, b)| b));
        let keymap = Keymap { bindings };
        errors.extend(keymap.check(|_, _| 1).into_iter().map(|(line, m)| err(line, m)));
        if errors.is_empty() { Ok(keymap) } else { Err(errors) }
    }

    /// Applies a config's `[keys]` overrides: each replaces the keys of one action in one mode.
    pub fn with_overrides(
        mut self,
        file: &Path,
        text: &str,
        overrides: &KeyOverrides,
    ) -> Result<Keymap, Vec<KeymapError>> {
        let file = file.display().to_string();
        let mut errors = Vec::new();
        let mut lines = BTreeMap::new();
        for (mode_name, actions) in overrides {
            let Some(mode) = KeyMode::from_name(mode_name) else {
                let line = actions.values().next().map_or(1, |v| line_of(text, v.span().start));
                errors.push(KeymapError {
                    file: file.clone(),
                    line,
                    message: format!("unknown mode [keys.{mode_name}]"),
                });
                continue;
            };
            for (action, keys) in actions {
                let line = line_of(text, keys.span().start);
                let err = |message: String| KeymapError { file: file.clone(), line, message };
                let Some(command) = Command::from_name(action).filter(|c| mode.allows(*c)) else {
                    errors.push(err(format!("unknown action `{action}` in [keys.{mode_name}]")));
                    continue;
                };
                if let Some(bad) = keys.get_ref().iter().find(|k| parse_key(k).is_none()) {
                    errors.push(err(format!("unknown key name `{bad}` for `{action}` in [keys.{mode_name}]")));
                    continue;
                }
                lines.insert((mode, command), line);
                match self.bindings.iter_mut().find(|b| b.mode == mode && b.command == command) {
                    Some(b) => b.keys = keys.get_ref().clone(),
                    None => self.bindings.push(Binding {
                        mode,
                        command,
                        keys: keys.get_ref().clone(),
                        description: action.replace('-', " "),
                        hint: false,
                        short: None,
                    }),
                }
            }
        }
        let clash_line = |mode, command| lines.get(&(mode, command)).copied().unwrap_or(1);
        errors.extend(self.check(clash_line).into_iter().map(|(line, message)| KeymapError {
            file: file.clone(),
            line,
            message,
        }));
        if errors.is_empty() { Ok(self) } else { Err(errors) }
    }

    /// Unreadable key names and clashes (one key, two actions, one mode).
    fn check(&self, line: impl Fn(KeyMode, Command) -> usize) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut seen: BTreeMap<(KeyMode, &str), Command> = BTreeMap::new();
        for b in &self.bindings {
            for k in &b.keys {
                if parse_key(k).is_none() {
                    out.push((line(b.mode, b.command), format!("unknown key name `{k}` in [{}]", b.mode.name())));
                }
                if let Some(other) = seen.insert((b.mode, k.as_str()), b.command)
                    && other != b.command
                {
                    out.push((
                        line(b.mode, b.command),
                        format!(
                            "key `{k}` is bound to both `{}` and `{}` in [{}]",
                            other.name(),
                            b.command.name(),
                            b.mode.name()
                        ),
                    ));
                }
            }
        }
        out
    }

    /// The command `key` means in `mode`. In a pane, the pane's own bindings win over [global] ones.
    pub fn lookup(&self, key: &KeyEvent, mode: KeyMode) -> Option<Command> {
        let name = key_name(key)?;
        let find = |m: KeyMode| self.bindings.iter().find(|b| b.mode == m && b.keys.contains(&name));
        find(mode).or_else(|| if mode.is_pane() { find(KeyMode::Global) } else { None }).map(|b| b.command)
    }

    /// Whether some key triggers `command` in `mode`: what a mode does not bind cannot act in it.
    pub fn binds(&self, mode: KeyMode, command: Command) -> bool {
        self.help_for(mode).iter().any(|b| b.command == command && !b.keys.is_empty())
    }

    /// The modes other than `mode` in which the key named `name` does something, and what.
    pub fn elsewhere(&self, name: &str, mode: KeyMode) -> Vec<&Binding> {
        let here = |b: &&Binding| b.mode == mode || (mode.is_pane() && b.mode == KeyMode::Global);
        self.bindings.iter().filter(|b| !here(b) && b.keys.iter().any(|k| k == name)).collect()
    }

    /// The bindings that apply in `mode` (a pane's own first, then the global ones it does not shadow).
    pub fn help_for(&self, mode: KeyMode) -> Vec<&Binding> {
        let mut out: Vec<&Binding> = self.bindings.iter().filter(|b| b.mode == mode).collect();
        if mode.is_pane() {
            let own: Vec<&str> = out.iter().flat_map(|b| b.keys.iter().map(String::as_str)).collect();
            let own_commands: Vec<Command> = out.iter().map(|b| b.command).collect();
            out.extend(self.bindings.iter().filter(|b| {
                b.mode == KeyMode::Global
                    && !own_commands.contains(&b.command)
                    && !b.keys.iter().all(|k| own.contains(&k.as_str()))
            }));
        }
        out
    }

    /// The keys for the hint bar in `mode`, most important first (the order of the keymap file, a pane's
    /// own before the global ones); help and quit come last, as they are always shown.
    pub fn hints_for(&self, mode: KeyMode) -> Vec<&Binding> {
        let (mut hints, last): (Vec<&Binding>, Vec<&Binding>) = self
            .help_for(mode)
            .into_iter()
            .filter(|b| b.hint)
            .partition(|b| !matches!(b.command, Command::Help | Command::Quit));
        hints.extend(last);
        hints
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The keymap as this viewer's screen has it: without the keys that record a decision for one who may
    /// not decide, and with the school filter only in the trust's view of several schools. Keys, hints and
    /// help all come from what is left, so the screen offers nothing its reader cannot do.
    pub fn for_viewer(mut self, may_decide: bool, several_schools: bool) -> Keymap {
        self.bindings.retain(|b| {
            (may_decide || !b.command.decides()) && (several_schools || b.command != Command::FilterSchool)
        });
        if !may_decide {
            // Its hint names decisions ("close, regrade..."): for this reader, the line is for its views.
            for b in self.bindings.iter_mut().filter(|b| b.command == Command::CommandLine) {
                b.short = Some("filter, history...".into());
                b.description =
                    "command line (filter, history, dashboard, ...): a decision typed there is refused".into();
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_embedded_keymap_is_valid() {
        let km = Keymap::parse("assets/keymap.toml", EMBEDDED);
        assert!(km.is_ok(), "{km:?}");
    }

    #[test]
    fn every_pane_command_has_a_key() {
        let km = Keymap::embedded();
        for (c, name) in NAMES {
            let bound = km.bindings().iter().any(|b| b.command == *c);
            assert!(bound, "`{name}` has no key in assets/keymap.toml");
        }
    }

    #[test]
    fn enter_opens_in_the_queue_and_ticks_in_the_checklist() {
        let km = Keymap::embedded();
        assert_eq!(km.lookup(&key(KeyCode::Enter), KeyMode::Queue), Some(Command::Open));
        assert_eq!(km.lookup(&key(KeyCode::Enter), KeyMode::Checklist), Some(Command::Toggle));
        assert_eq!(km.lookup(&key(KeyCode::Char(' ')), KeyMode::Queue), None);
        assert_eq!(km.lookup(&key(KeyCode::Char('j')), KeyMode::Palette), None, "typing is not a command");
    }

    #[test]
    fn vim_keys_and_arrows_agree() {
        let km = Keymap::embedded();
        assert_eq!(km.lookup(&key(KeyCode::Char('j')), KeyMode::Queue), km.lookup(&key(KeyCode::Down), KeyMode::Queue));
        assert_eq!(km.lookup(&key(KeyCode::Char('G')), KeyMode::Detail), Some(Command::Bottom));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.lookup(&ctrl_c, KeyMode::Checklist), Some(Command::Quit));
    }

    #[test]
    fn key_names_round_trip() {
        for name in ["j", "G", "/", "Enter", "Ctrl-d", "Alt-Enter", "F1", "Space", "BackTab", "PageDown"] {
            let (code, mods) = parse_key(name).expect(name);
            assert_eq!(key_name(&KeyEvent::new(code, mods)).as_deref(), Some(name));
        }
        assert_eq!(parse_key("Hyper-x"), None);
        assert_eq!(parse_key("F13"), None);
    }

    fn overrides(text: &str) -> Result<Keymap, Vec<KeymapError>> {
        #[derive(Deserialize)]
        struct C {
            keys: KeyOverrides,
        }
        let c: C = toml::from_str(text).expect("fixture parses");
        Keymap::embedded().with_overrides(Path::new("/home/dsl/.config/vigil/config.toml"), text, &c.keys)
    }

    #[test]
    fn a_user_can_rebind_an_action() {
        let km = overrides("[keys.queue]\nopen = [\"o\", \"Enter\"]\n").expect("valid");
        assert_eq!(km.lookup(&key(KeyCode::Char('o')), KeyMode::Queue), Some(Command::Open));
    }

    #[test]
    fn unknown_actions_modes_and_keys_are_reported_with_file_and_line() {
        let errs = overrides("[keys.queue]\nopen = [\"o\"]\nopne = [\"p\"]\n").expect_err("unknown action");
        assert_eq!(errs[0].to_string(), "/home/dsl/.config/vigil/config.toml:3: unknown action `opne` in [keys.queue]");
        let errs = overrides("[keys.qeueu]\nopen = [\"o\"]\n").expect_err("unknown mode");
        assert!(errs[0].message.contains("unknown mode [keys.qeueu]"), "{errs:?}");
        assert_eq!(errs[0].line, 2);
        let errs = overrides("\n[keys.global]\nquit = [\"Hyper-q\"]\n").expect_err("bad key");
        assert_eq!((errs[0].line, errs[0].message.contains("Hyper-q")), (3, true), "{errs:?}");
    }

    #[test]
    fn clashes_are_reported() {
        let errs = overrides("[keys.global]\n\nretry = [\"j\"]\n").expect_err("clash with down");
        assert!(errs.iter().any(|e| e.line == 3 && e.message.contains("`j` is bound to both")), "{errs:?}");
        let bad =
            "[global]\nup = { keys = [\"k\"], description = \"u\" }\ndown = { keys = [\"k\"], description = \"d\" }\n";
        let errs = Keymap::parse("k.toml", bad).expect_err("clash");
        assert!(errs[0].message.contains("bound to both"), "{errs:?}");
        let errs = Keymap::parse("k.toml", "[queue]\nsubmit = { keys = [\"x\"], description = \"s\" }\n")
            .expect_err("wrong mode");
        assert_eq!(errs[0].to_string(), "k.toml:2: unknown action `submit` in [queue]");
    }
}
