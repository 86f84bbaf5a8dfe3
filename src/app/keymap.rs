//! The one list of commands. Key handling, the hint bar and the `?` help are all generated from it, so a
//! key cannot do one thing and be documented as another.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::Focus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    CommandLine,
    Help,
    Retry,
    Quit,
}

/// Where a binding applies. `All` means every pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Pane(Focus),
}

pub struct Binding {
    pub command: Command,
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub description: &'static str,
    pub scope: Scope,
    /// Shown in the hint bar of its scope.
    pub hint: bool,
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        command: Command::Down,
        name: "down",
        keys: &["j", "Down"],
        description: "next row",
        scope: Scope::All,
        hint: true,
    },
    Binding {
        command: Command::Up,
        name: "up",
        keys: &["k", "Up"],
        description: "previous row",
        scope: Scope::All,
        hint: false,
    },
    Binding {
        command: Command::Top,
        name: "top",
        keys: &["g", "Home"],
        description: "first row",
        scope: Scope::All,
        hint: false,
    },
    Binding {
        command: Command::Bottom,
        name: "bottom",
        keys: &["G", "End"],
        description: "last row",
        scope: Scope::All,
        hint: false,
    },
    Binding {
        command: Command::PageDown,
        name: "page-down",
        keys: &["PageDown", "Ctrl-d"],
        description: "down a page",
        scope: Scope::All,
        hint: false,
    },
    Binding {
        command: Command::PageUp,
        name: "page-up",
        keys: &["PageUp", "Ctrl-u"],
        description: "up a page",
        scope: Scope::All,
        hint: false,
    },
    Binding {
        command: Command::Open,
        name: "open",
        keys: &["Enter"],
        description: "open the selected case",
        scope: Scope::Pane(Focus::Queue),
        hint: true,
    },
    Binding {
        command: Command::Toggle,
        name: "tick",
        keys: &["Space", "Enter"],
        description: "tick the item (asks for its value)",
        scope: Scope::Pane(Focus::Checklist),
        hint: true,
    },
    Binding {
        command: Command::NextPane,
        name: "next-pane",
        keys: &["Tab"],
        description: "next pane",
        scope: Scope::All,
        hint: true,
    },
    Binding {
        command: Command::PrevPane,
        name: "prev-pane",
        keys: &["BackTab"],
        description: "previous pane",
        scope: Scope::All,
        hint: false,
    },
    Binding {
        command: Command::AddNote,
        name: "note",
        keys: &["n"],
        description: "add a note to the case",
        scope: Scope::All,
        hint: true,
    },
    Binding {
        command: Command::CommandLine,
        name: "command",
        keys: &[":"],
        description: "command line (tick, regrade, close, ...)",
        scope: Scope::All,
        hint: true,
    },
    Binding {
        command: Command::Retry,
        name: "retry",
        keys: &["r"],
        description: "retry the feed now",
        scope: Scope::All,
        hint: false,
    },
    Binding { command: Command::Help, name: "help", keys: &["?"], description: "help", scope: Scope::All, hint: true },
    Binding {
        command: Command::Quit,
        name: "quit",
        keys: &["q", "Ctrl-c"],
        description: "quit",
        scope: Scope::All,
        hint: true,
    },
];

/// The name of a key as the bindings spell it.
pub fn key_name(key: &KeyEvent) -> Option<String> {
    let base = match key.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "BackTab".into(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PageUp".into(),
        KeyCode::PageDown => "PageDown".into(),
        KeyCode::Esc => "Esc".into(),
        _ => return None,
    };
    if key.modifiers.contains(KeyModifiers::CONTROL) { Some(format!("Ctrl-{base}")) } else { Some(base) }
}

fn applies(scope: Scope, focus: Focus) -> bool {
    match scope {
        Scope::All => true,
        Scope::Pane(f) => f == focus,
    }
}

/// The command a key means in `focus`. Pane-specific bindings win over global ones.
pub fn lookup(key: &KeyEvent, focus: Focus) -> Option<Command> {
    let name = key_name(key)?;
    let matches = |b: &&Binding| applies(b.scope, focus) && b.keys.contains(&name.as_str());
    BINDINGS
        .iter()
        .filter(matches)
        .find(|b| b.scope != Scope::All)
        .or_else(|| BINDINGS.iter().find(matches))
        .map(|b| b.command)
}

/// The bindings that apply in `focus`, for the help screen.
pub fn help_for(focus: Focus) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| applies(b.scope, focus))
}

/// The few keys that matter now, for the hint bar.
pub fn hints_for(focus: Focus) -> impl Iterator<Item = &'static Binding> {
    help_for(focus).filter(|b| b.hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn enter_opens_in_the_queue_and_ticks_in_the_checklist() {
        assert_eq!(lookup(&key(KeyCode::Enter), Focus::Queue), Some(Command::Open));
        assert_eq!(lookup(&key(KeyCode::Enter), Focus::Checklist), Some(Command::Toggle));
        assert_eq!(lookup(&key(KeyCode::Char(' ')), Focus::Queue), None);
    }

    #[test]
    fn vim_keys_and_arrows_agree() {
        assert_eq!(lookup(&key(KeyCode::Char('j')), Focus::Queue), lookup(&key(KeyCode::Down), Focus::Queue));
        assert_eq!(lookup(&key(KeyCode::Char('G')), Focus::Detail), Some(Command::Bottom));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(&ctrl_c, Focus::Checklist), Some(Command::Quit));
    }

    #[test]
    fn no_key_is_bound_twice_in_one_pane() {
        for focus in [Focus::Queue, Focus::Detail, Focus::Checklist] {
            let mut seen = std::collections::HashMap::new();
            for b in help_for(focus) {
                for k in b.keys {
                    if let Some(prev) = seen.insert(*k, (b.name, b.scope)) {
                        // A pane binding may shadow a global one, never another binding of its own scope.
                        assert_ne!(prev.1, b.scope, "{k} bound to {} and {} in {focus:?}", prev.0, b.name);
                    }
                }
            }
        }
    }
}
