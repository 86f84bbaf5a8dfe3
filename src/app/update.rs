//! `update`: the only function that changes [`State`].

use chrono::Duration;

use super::keymap::Command;
use super::{Action, Effect, Focus, Mode, Prompt, PromptPurpose, State, Toast};
use crate::cli::{LineCommand, parse_line};
use crate::domain::case::CaseCommand;
use crate::feed::client::PollerEvent;

const TOAST_SECONDS: i64 = 6;
const PAGE: usize = 10;

fn toast(state: &mut State, text: impl Into<String>, error: bool) {
    state.toast = Some(Toast { text: text.into(), error, until: state.now + Duration::seconds(TOAST_SECONDS) });
}

fn step(current: usize, len: usize, delta: isize) -> usize {
    if len == 0 {
        return 0;
    }
    (current as isize + delta).clamp(0, len as isize - 1) as usize
}

/// Whether the detail pane shows the selected case's content (it was opened with Enter).
pub fn detail_is_current(state: &State) -> bool {
    match (&state.detail, state.selected_key()) {
        (Some(d), Some(k)) => &d.alert.key == k,
        _ => false,
    }
}

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Command(c) => command(state, c),
        Action::Type(ch) => {
            match &mut state.mode {
                Mode::Command(line) => line.push(ch),
                Mode::Prompt(p) => p.input.push(ch),
                Mode::Confirm { yes_selected, .. } => match ch {
                    'y' | 'Y' => *yes_selected = true,
                    'n' | 'N' => *yes_selected = false,
                    '\t' => *yes_selected = !*yes_selected,
                    _ => {}
                },
                Mode::Help => state.mode = Mode::Normal,
                Mode::Normal => {}
            }
            vec![]
        }
        Action::Backspace => {
            match &mut state.mode {
                Mode::Command(line) => {
                    line.pop();
                }
                Mode::Prompt(p) => {
                    p.input.pop();
                }
                _ => {}
            }
            vec![]
        }
        Action::Cancel => {
            state.mode = Mode::Normal;
            vec![]
        }
        Action::Submit => submit(state),
        Action::QueueLoaded(queue) => {
            let keep = state.selected_key().cloned();
            state.queue = queue;
            state.selected = keep
                .and_then(|k| state.queue.iter().position(|c| c.key == k))
                .unwrap_or_else(|| step(state.selected, state.queue.len(), 0));
            vec![]
        }
        Action::DetailLoaded(detail) => {
            let same = state.detail.as_ref().is_some_and(|d| d.alert.key == detail.alert.key);
            if !same {
                state.detail_scroll = 0;
                state.checklist_selected = 0;
            }
            state.checklist_selected = step(state.checklist_selected, detail.checklist.len(), 0);
            // Opening a case changes its status (new -> open): refresh its row without reloading the queue.
            if let Some(row) = state.queue.iter_mut().find(|c| c.key == detail.alert.key) {
                *row = detail.summary.clone();
            }
            state.detail = Some(*detail);
            vec![]
        }
        Action::Acted(Ok(message)) => {
            toast(state, message, false);
            let mut effects = vec![Effect::LoadQueue];
            if let Some(d) = &state.detail {
                effects.push(Effect::OpenCase(d.alert.key.clone()));
            }
            effects
        }
        Action::Acted(Err(message)) => {
            toast(state, message, true);
            vec![]
        }
        Action::Feed(PollerEvent::Health(h)) => {
            state.health = h;
            vec![]
        }
        Action::Feed(PollerEvent::Stored { report, .. }) => {
            if report.new > 0 {
                toast(state, format!("{} new alert(s)", report.new), false);
            }
            vec![Effect::LoadQueue]
        }
        Action::Quarantined(n) => {
            state.quarantined = n;
            vec![]
        }
        Action::Tick(now) => {
            state.now = now;
            if state.toast.as_ref().is_some_and(|t| t.until <= now) {
                state.toast = None;
            }
            vec![]
        }
    }
}

fn command(state: &mut State, c: Command) -> Vec<Effect> {
    if state.mode == Mode::Help {
        state.mode = Mode::Normal;
        return if c == Command::Quit { quit(state) } else { vec![] };
    }
    match c {
        Command::Quit => quit(state),
        Command::Help => {
            state.mode = Mode::Help;
            vec![]
        }
        Command::CommandLine => {
            state.mode = Mode::Command(String::new());
            vec![]
        }
        Command::Retry => {
            toast(state, "retrying the feed", false);
            vec![Effect::RetryFeed]
        }
        Command::NextPane | Command::PrevPane => {
            let order = [Focus::Queue, Focus::Detail, Focus::Checklist];
            let i = order.iter().position(|f| *f == state.focus).unwrap_or(0);
            let delta = if c == Command::NextPane { 1 } else { order.len() - 1 };
            state.focus = order[(i + delta) % order.len()];
            vec![]
        }
        Command::Open => match state.selected_key().cloned() {
            Some(k) => {
                state.focus = Focus::Detail;
                vec![Effect::OpenCase(k)]
            }
            None => vec![],
        },
        Command::AddNote => {
            if detail_is_current(state) {
                state.mode =
                    Mode::Prompt(Prompt { label: "Note".into(), input: String::new(), purpose: PromptPurpose::Note });
            } else {
                toast(state, "open a case first (Enter)", true);
            }
            vec![]
        }
        Command::Toggle => toggle(state),
        Command::Up | Command::Down | Command::Top | Command::Bottom | Command::PageUp | Command::PageDown => {
            let delta: isize = match c {
                Command::Up => -1,
                Command::Down => 1,
                Command::PageUp => -(PAGE as isize),
                Command::PageDown => PAGE as isize,
                Command::Top => isize::MIN / 2,
                _ => isize::MAX / 2,
            };
            match state.focus {
                Focus::Queue => state.selected = step(state.selected, state.queue.len(), delta),
                Focus::Detail => {
                    state.detail_scroll = (i64::from(state.detail_scroll) + delta.clamp(-1000, 1000) as i64)
                        .clamp(0, i64::from(u16::MAX)) as u16
                }
                Focus::Checklist => {
                    let len = state.detail.as_ref().map_or(0, |d| d.checklist.len());
                    state.checklist_selected = step(state.checklist_selected, len, delta);
                }
            }
            vec![]
        }
    }
}

fn quit(state: &mut State) -> Vec<Effect> {
    state.quit = true;
    vec![Effect::Quit]
}

fn toggle(state: &mut State) -> Vec<Effect> {
    if !detail_is_current(state) {
        toast(state, "open a case first (Enter)", true);
        return vec![];
    }
    let Some(detail) = &state.detail else { return vec![] };
    let Some(item) = detail.checklist.get(state.checklist_selected) else { return vec![] };
    let key = detail.alert.key.clone();
    if item.done {
        // Undoing a step is itself a decision: it needs a reason, typed on the command line.
        state.mode = Mode::Command(format!("untick {} --reason ", item.id));
        return vec![];
    }
    if item.kind == "tick" {
        return vec![Effect::Act(key, CaseCommand::Tick { item: item.id.clone(), value: None, note: None })];
    }
    let label = if item.choices.is_empty() {
        format!("{} ({})", item.text, item.kind)
    } else {
        format!("{} [{}]", item.text, item.choices.join(" / "))
    };
    state.mode = Mode::Prompt(Prompt {
        label,
        input: String::new(),
        purpose: PromptPurpose::ItemValue { item: item.id.clone() },
    });
    vec![]
}

fn submit(state: &mut State) -> Vec<Effect> {
    let mode = std::mem::replace(&mut state.mode, Mode::Normal);
    let key = state.detail.as_ref().filter(|_| detail_is_current(state)).map(|d| d.alert.key.clone());
    match mode {
        Mode::Normal | Mode::Help => vec![],
        Mode::Confirm { command, yes_selected } => match (yes_selected, key) {
            (true, Some(k)) => vec![Effect::Act(k, command)],
            _ => {
                toast(state, "cancelled", false);
                vec![]
            }
        },
        Mode::Prompt(p) => {
            let Some(k) = key else { return vec![] };
            let command = match p.purpose {
                PromptPurpose::Note => CaseCommand::Note { text: p.input },
                PromptPurpose::ItemValue { item } => {
                    // Choices may be typed by their number.
                    let value = choice_by_number(state, &item, &p.input).unwrap_or(p.input);
                    CaseCommand::Tick { item, value: Some(value), note: None }
                }
            };
            vec![Effect::Act(k, command)]
        }
        Mode::Command(line) => {
            let checklist = state.detail.as_ref().filter(|_| detail_is_current(state)).map(|d| d.checklist.as_slice());
            match parse_line(&line, checklist.unwrap_or(&[])) {
                Ok(LineCommand::Quit) => quit(state),
                Ok(LineCommand::Help) => {
                    state.mode = Mode::Help;
                    vec![]
                }
                Ok(LineCommand::Retry) => vec![Effect::RetryFeed],
                Ok(LineCommand::Case(command)) => match key {
                    None => {
                        toast(state, "open a case first (Enter)", true);
                        vec![]
                    }
                    Some(k) if command.needs_confirmation() => {
                        let _ = k;
                        state.mode = Mode::Confirm { command, yes_selected: false };
                        vec![]
                    }
                    Some(k) => vec![Effect::Act(k, command)],
                },
                Err(e) => {
                    toast(state, e, true);
                    vec![]
                }
            }
        }
    }
}

fn choice_by_number(state: &State, item: &str, input: &str) -> Option<String> {
    let n: usize = input.trim().parse().ok()?;
    let detail = state.detail.as_ref()?;
    let item = detail.checklist.iter().find(|i| i.id == item)?;
    item.choices.get(n.checked_sub(1)?).cloned()
}
