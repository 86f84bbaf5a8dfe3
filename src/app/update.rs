//! `update`: the only function that changes [`State`].

use chrono::Duration;

use super::filter::Filter;
use super::keymap::{Command, KeyMode};
use super::{
    Action, Editor, EditorPurpose, Effect, Focus, Mode, Prompt, PromptPurpose, Question, QueueCounts, State, Toast,
};
use crate::commands::line::{LineCommand, complete_line, parse_line};
use crate::domain::case::CaseCommand;
use crate::domain::{AlertKey, Level};
use crate::intake::PollerEvent;
use crate::service::CaseSummary;

const TOAST_SECONDS: i64 = 6;
/// Why a key about the open case did nothing.
const NO_CASE_OPEN: &str = "no case is open: select one in the queue and press Enter";
const PAGE: usize = 10;

fn toast(state: &mut State, text: impl Into<String>, error: bool) {
    state.toast = Some(Toast { text: text.into(), error, until: state.now + Duration::seconds(TOAST_SECONDS) });
}

/// How far a movement key moves a selection: a row, a page, or to either end (clamped by [`step`]).
fn row_step(c: Command) -> isize {
    match c {
        Command::Up => -1,
        Command::Down => 1,
        Command::PageUp => -(PAGE as isize),
        Command::PageDown => PAGE as isize,
        Command::Top => isize::MIN / 2,
        _ => isize::MAX / 2,
    }
}

fn step(current: usize, len: usize, delta: isize) -> usize {
    if len == 0 {
        return 0;
    }
    (current as isize).saturating_add(delta).clamp(0, len as isize - 1) as usize
}

/// Whether the detail pane shows the selected case's content (it was opened with Enter).
pub fn detail_is_current(state: &State) -> bool {
    match (&state.detail, state.selected_key()) {
        (Some(d), Some(k)) => &d.alert.key == k,
        _ => false,
    }
}

/// Recomputes the dashboard's figures while it is shown. Without the closed cases it counts them from their
/// raise times (`not_open`), and until those are read it keeps the figures it has.
fn refresh_duty(state: &mut State) {
    if !state.dashboard {
        state.duty = None;
        return;
    }
    let not_open: &[_] = match (&state.not_open, state.closed_loaded) {
        (_, true) => &[],
        (Some(briefs), false) => briefs,
        (None, false) => return,
    };
    state.duty = Some(crate::report::duty::duty_summary(&state.cases, not_open, state.now, state.tz));
}

/// Recomputes the visible rows after the cases or the filter changed, keeping the selected case selected
/// when it is still visible.
fn refilter(state: &mut State) {
    let keep = state.selected_key().cloned();
    refilter_keeping(state, keep);
}

/// [`refilter`], keeping `keep` selected: the key must be taken before `cases` changes, since `rows` points
/// into it.
fn refilter_keeping(state: &mut State, keep: Option<AlertKey>) {
    let matches = state.filter.matcher();
    state.rows = state.cases.iter().enumerate().filter(|(_, c)| matches(c)).map(|(i, _)| i).collect();
    let at = keep.and_then(|k| state.rows.iter().position(|i| state.cases[*i].key == k));
    state.selected = at.unwrap_or_else(|| step(state.selected, state.rows.len(), 0));
}

/// Changes `cases` with `f`; then the counts, the visible rows (the selected case stays selected) and the
/// dashboard follow. When the change may touch the cases that are not open, a background read of them
/// begun before now is stale.
fn change_cases(state: &mut State, not_open_changed: bool, f: impl FnOnce(&mut State)) {
    let keep = state.selected_key().cloned();
    let was_current = detail_is_current(state);
    f(state);
    if not_open_changed {
        state.epoch += 1;
        state.not_open = None;
    }
    state.counts = QueueCounts::of(&state.cases);
    // An escalation's banner stays until the case is opened (or acted on, closed, withdrawn, gone).
    let cases = &state.cases;
    state.escalated.retain(|e| cases.iter().any(|c| c.key == e.key && c.status == crate::domain::Status::New));
    refilter_keeping(state, keep);
    // The open case left the queue (closed, withdrawn, filtered out): the case and checklist panes no
    // longer show it, so the keys go back to the queue, where the next case is picked.
    if was_current && !detail_is_current(state) {
        state.focus = Focus::Queue;
    }
    refresh_duty(state);
}

/// Puts one case's new row in its place in the queue order (or takes it out: `None` when the viewer may no
/// longer see it; a closed case while the closed ones are not held).
fn upsert_case(state: &mut State, key: &AlertKey, summary: Option<CaseSummary>) {
    let was_open = state.cases.iter().find(|c| &c.key == key).map(|c| c.open);
    let stays_open = was_open == Some(true) && summary.as_ref().is_some_and(|c| c.open);
    change_cases(state, !stays_open, |state| {
        state.cases.retain(|c| &c.key != key);
        // A closed case opened from a student's history is held until the closed cases are read.
        if let Some(s) = summary.filter(|s| s.open || state.closed_loaded || state.opening.as_ref() == Some(&s.key)) {
            let at = state.cases.partition_point(|c| c.sort_key() < s.sort_key());
            state.cases.insert(at, s);
        }
    });
}

/// The cases held that are open (`open`) or not, without any that a newer read (`fresh`) gives: the part of
/// the queue a read of the other part leaves as it is.
fn held_apart_from(held: Vec<CaseSummary>, open: bool, fresh: &[CaseSummary]) -> Vec<CaseSummary> {
    let fresh: std::collections::HashSet<&AlertKey> = fresh.iter().map(|c| &c.key).collect();
    held.into_iter().filter(|c| c.open == open && !fresh.contains(&c.key)).collect()
}

/// Starts the background reads that what is shown needs and the app does not hold: the closed cases for a
/// filter that can show them, the raise times of the cases not open for the dashboard.
fn load_wanted(state: &mut State) -> Vec<Effect> {
    let mut effects = Vec::new();
    if state.filter.wants_closed() && !state.closed_loaded && !state.closed_loading && state.closed_error.is_none() {
        state.closed_loading = true;
        effects.push(Effect::LoadClosed { epoch: state.epoch });
    }
    if state.dashboard
        && !state.closed_loaded
        && state.not_open.is_none()
        && !state.not_open_loading
        && state.not_open_error.is_none()
    {
        state.not_open_loading = true;
        effects.push(Effect::LoadNotOpen { epoch: state.epoch });
    }
    effects
}

/// Applies `action` to the state, and returns the work it asks of the runtime: its own, and the reads of
/// whatever the screen now needs and the state does not hold.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    if !admitted(state, &action) {
        return vec![];
    }
    let escalated = !state.escalated.is_empty();
    let mut effects = apply(state, action);
    effects.extend(load_wanted(state));
    // The last escalated case was opened (or left the queue): the window title stops saying so.
    if escalated && state.escalated.is_empty() {
        effects.push(Effect::Title(PLAIN_TITLE.to_string()));
    }
    effects
}

/// The window title with nothing to call attention to.
pub const PLAIN_TITLE: &str = "vigil";

/// The window title while a case is escalated: the level only, never anything of the alert.
pub fn escalation_title(level: Level) -> String {
    format!("vigil: ESCALATION, a {} case nobody has opened", level.label())
}

/// The one rule for input: a key (or a click) acts only on what the screen shows. What is on top (an
/// overlay, the dashboard, the too-small screen, else the focused pane) has a key mode, and only what that
/// mode binds in the keymap gets through; typing reaches only the overlays that take text. Quit always
/// gets through (it asks first where typed text would be lost). Everything else (results, the feed, the
/// clock) is not input and always applies.
fn admitted(state: &mut State, action: &Action) -> bool {
    let mode = state.key_mode();
    match action {
        Action::Command(Command::Quit) => true,
        Action::Command(c) if state.keymap.binds(mode, *c) => true,
        Action::Command(c) => {
            let text = format!("{} does nothing {}", c.name(), where_keys_act(state));
            toast(state, text, false);
            false
        }
        Action::Type(_) | Action::Backspace | Action::EditorKey(_) | Action::Submit | Action::Cancel => {
            matches!(mode, KeyMode::Editor | KeyMode::Palette | KeyMode::Confirm)
        }
        Action::Select(_) => mode.is_pane(),
        _ => true,
    }
}

/// "in the case pane", "while the dashboard is shown (D closes it)": for messages about a key that did
/// nothing.
fn where_keys_act(state: &State) -> String {
    let mode = state.key_mode();
    let closer = |c: Command| {
        state
            .keymap
            .help_for(mode)
            .into_iter()
            .find(|b| b.command == c)
            .and_then(|b| b.keys.first().cloned())
            .unwrap_or_default()
    };
    match mode {
        KeyMode::Dashboard => format!("while the dashboard is shown ({} closes it)", closer(Command::Dashboard)),
        KeyMode::TooSmall => "while the terminal is too small".to_string(),
        KeyMode::Queue => "in the queue".to_string(),
        KeyMode::Detail => "in the case pane".to_string(),
        KeyMode::Checklist => "in the checklist".to_string(),
        _ => format!("in the {}", state.top_name()),
    }
}

fn apply(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Command(c) => command(state, c),
        Action::Type(ch) => {
            match &mut state.mode {
                Mode::Command(line) => line.push(ch),
                Mode::Prompt(p) => p.input.push(ch),
                Mode::Editor(e) => e.text.insert_char(ch),
                Mode::Search { .. } => {
                    state.filter.text.push(ch);
                    refilter(state);
                }
                Mode::Confirm { yes_selected, .. } => match ch {
                    'y' | 'Y' => *yes_selected = true,
                    'n' | 'N' => *yes_selected = false,
                    '\t' => *yes_selected = !*yes_selected,
                    _ => {}
                },
                Mode::Help
                | Mode::Text { .. }
                | Mode::Picture(_)
                | Mode::Records(_)
                | Mode::Handover(_)
                | Mode::History(_)
                | Mode::Normal => {}
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
                Mode::Search { .. } => {
                    state.filter.text.pop();
                    refilter(state);
                }
                _ => {}
            }
            vec![]
        }
        Action::Cancel => cancel(state),
        Action::Unbound(name) => {
            let mode = state.key_mode();
            let mut text = format!("{name} does nothing {}", where_keys_act(state));
            if let Some(b) = state.keymap.elsewhere(&name, mode).first() {
                text.push_str(&format!("; in the {}: {}", b.mode.name(), b.description));
            }
            toast(state, text, false);
            vec![]
        }
        Action::EditorKey(input) => {
            if let Mode::Editor(e) = &mut state.mode {
                e.text.input(input);
            }
            vec![]
        }
        Action::Select(row) => {
            if state.mode == Mode::Normal && row < state.rows.len() {
                state.focus = Focus::Queue;
                state.selected = row;
            }
            vec![]
        }
        Action::Submit => submit(state),
        Action::QueueLoaded(cases) => {
            change_cases(state, true, |state| {
                state.cases = cases;
                state.closed_loaded = true;
            });
            vec![]
        }
        Action::OpenLoaded(mut open) => {
            change_cases(state, true, |state| {
                // The closed cases held stay, but for any the new read shows open again (the feed reopened it).
                let closed = held_apart_from(std::mem::take(&mut state.cases), false, &open);
                open.extend(closed);
                state.cases = open;
            });
            // New data: a read that failed may work now.
            state.closed_error = None;
            state.not_open_error = None;
            // The feed can also have closed or withdrawn cases: read the closed ones again, if they are held.
            if state.closed_loaded && !state.closed_loading {
                state.closed_loading = true;
                return vec![Effect::LoadClosed { epoch: state.epoch }];
            }
            vec![]
        }
        Action::ClosedLoaded { epoch, result } => {
            state.closed_loading = false;
            match result {
                Err(e) => {
                    // Not asked for again until the filter or the cases change.
                    toast(state, format!("could not read the closed cases: {e}"), true);
                    state.closed_error = Some(e);
                    vec![]
                }
                // Asked for, then not: do not hold them.
                Ok(_) if !state.closed_loaded && !state.filter.wants_closed() => vec![],
                Ok(_) if epoch != state.epoch => {
                    state.closed_loading = true;
                    vec![Effect::LoadClosed { epoch: state.epoch }]
                }
                Ok(closed) => {
                    change_cases(state, false, |state| {
                        // Nothing changed here since the read began (the epoch says so), but the feed may have
                        // closed a case the open rows still show (its Stored comes at the end of the sync):
                        // the read is the newer.
                        state.cases = held_apart_from(std::mem::take(&mut state.cases), true, &closed);
                        state.cases.extend(closed);
                        state.closed_loaded = true;
                    });
                    vec![]
                }
            }
        }
        Action::NotOpenLoaded { epoch, result } => {
            state.not_open_loading = false;
            match result {
                Err(e) => {
                    // Not asked for again until the cases change; the dashboard says why it is empty.
                    toast(state, format!("could not read the closed cases: {e}"), true);
                    state.not_open_error = Some(e);
                }
                Ok(_) if epoch != state.epoch => {}
                Ok(briefs) => {
                    // As for the closed cases: one the open rows still show is counted as open, once.
                    let open: std::collections::HashSet<u64> =
                        state.cases.iter().map(crate::service::trust::row_hash).collect();
                    let briefs = briefs.into_iter().filter(|(_, _, k)| !open.contains(k)).map(|(t, l, _)| (t, l));
                    state.not_open = Some(briefs.collect());
                    refresh_duty(state);
                }
            }
            vec![]
        }
        Action::CaseChanged { key, summary, seq } => {
            let gone = summary.is_none();
            upsert_case(state, &key, summary.map(|s| *s));
            match &state.detail {
                // Gone, or no longer this viewer's to see: its content leaves the screen too.
                Some(d) if d.alert.key == key && gone => {
                    state.detail = None;
                    state.screenshot = None;
                    toast(state, "the case that was open is no longer in your queue", true);
                    vec![]
                }
                // Changed since the open case was read (a decision, a revision, the deputy's tick): read it again,
                // so no key acts on a checklist that is out of date.
                Some(d) if d.alert.key == key && seq.is_some_and(|s| s > d.as_of) => vec![Effect::OpenCase(key)],
                _ => vec![],
            }
        }
        Action::DetailLoaded(detail) => {
            let same = state.detail.as_ref().is_some_and(|d| d.alert.key == detail.alert.key);
            if !same {
                state.detail_scroll = 0;
                state.checklist_selected = 0;
            }
            state.checklist_selected = step(state.checklist_selected, detail.checklist.len(), 0);
            // Opening a case changes its status (new -> open): refresh its row without reloading the queue.
            upsert_case(state, &detail.alert.key, Some(detail.summary.clone()));
            if state.opening.as_ref() == Some(&detail.alert.key) {
                state.opening = None;
                if let Some(at) = state.rows.iter().position(|i| state.cases[*i].key == detail.alert.key) {
                    state.selected = at;
                }
            }
            let wants_shot = !same && state.screenshot_preview;
            state.detail = Some(*detail);
            if wants_shot { want_screenshot(state) } else { vec![] }
        }
        Action::ScreenshotLoaded { key, index, fit, result } => {
            let status = match result {
                Ok(img) => super::ShotStatus::Ready(img),
                Err(e) => super::ShotStatus::Failed(e),
            };
            let full = match &mut state.mode {
                Mode::Picture(view) => Some(view),
                _ => None,
            };
            let view = if fit == super::ShotFit::Pane { state.screenshot.as_mut() } else { full };
            if let Some(view) = view.filter(|v| v.key == key && v.index == index && v.fit == fit) {
                view.status = status;
            }
            vec![]
        }
        Action::Resized(size) => {
            state.screen = Some(size);
            // A full-screen picture is prepared for the screen's size: prepare it again for the new one.
            match &state.mode {
                Mode::Picture(v) if v.fit != full_screen_fit(size) => view_screenshot(state),
                _ => vec![],
            }
        }
        Action::Decided { message, .. } => {
            state.sent_editor = None;
            toast(state, message, false);
            // Its row, and the open case read again, come with the service's event for it.
            vec![]
        }
        Action::Failed(message) => {
            match state.sent_editor.take() {
                // The text typed is never lost: the editor comes back with it, and the reason.
                Some(editor) => {
                    state.mode = Mode::Editor(editor);
                    toast(state, format!("{message} (your text is kept in the editor)"), true);
                }
                None => toast(state, message, true),
            }
            vec![]
        }
        Action::Presence(others) => {
            state.others = others;
            vec![]
        }
        Action::Link(crate::service::remote::LinkState::Connected) => {
            state.link = None;
            toast(state, "reconnected to the vigil service", false);
            // What changed meanwhile arrives as events (or a reload); the queue is read again to be sure.
            vec![Effect::LoadQueue]
        }
        Action::Link(link) => {
            state.link = Some(link);
            vec![]
        }
        Action::Feed(PollerEvent::Health(h)) => {
            state.health = h;
            vec![]
        }
        Action::Arrived { new, high_new } => {
            // Their rows came with the service's events; this is the word (and the bell) that they came.
            if high_new > 0 {
                toast(state, format!("{high_new} new HIGH alert(s)"), true);
                vec![Effect::Alarm { high_new }]
            } else {
                if new > 0 {
                    toast(state, format!("{new} new alert(s)"), false);
                }
                vec![]
            }
        }
        Action::Escalated(heard) => {
            // Only cases still unopened in this queue: their rows came with the service's events just before.
            let unopened =
                |key: &AlertKey| state.cases.iter().any(|c| &c.key == key && c.status == crate::domain::Status::New);
            let heard: Vec<_> = heard.into_iter().filter(|e| unopened(&e.key)).collect();
            let Some(level) = heard.iter().map(|e| e.level).max() else { return vec![] };
            for escalation in heard {
                state.escalated.retain(|e| e.key != escalation.key);
                state.escalated.push(escalation);
            }
            // The most urgent first, then the one heard last. One bell for what was heard together.
            state.escalated.sort_by_key(|e| std::cmp::Reverse(e.level));
            vec![Effect::Escalation { title: escalation_title(level) }]
        }
        Action::RecordsLoaded(records) => {
            state.mode = Mode::Records(records);
            state.overlay_scroll = 0;
            vec![]
        }
        Action::HandoverLoaded(handover) => {
            state.mode = Mode::Handover(handover);
            state.overlay_scroll = 0;
            vec![]
        }
        Action::HandoverAcknowledged(until) => {
            let until = until.with_timezone(&state.tz).format("%a %d/%m %H:%M");
            toast(state, format!("recorded: you acknowledged the handover up to {until}"), false);
            vec![]
        }
        Action::LookedBack(Ok(Some(look))) => {
            toast(state, look.sentence(state.tz), false);
            vec![]
        }
        Action::LookedBack(Ok(None)) => vec![],
        Action::LookedBack(Err(e)) => {
            toast(state, format!("could not read what changed since you last looked: {e}"), true);
            vec![]
        }
        Action::HistoryLoaded(history) => {
            // The case it was asked from is selected: the reader starts from where they are.
            let from = state.detail.as_ref().map(|d| &d.summary.key);
            let selected = history.cases.iter().position(|c| Some(&c.key) == from).unwrap_or(0);
            state.mode = Mode::History(Box::new(super::HistoryView { history: *history, selected }));
            vec![]
        }
        Action::TrendsWarmed(Ok(trends)) => {
            // The rows held are marked in place: reading the whole queue again would hold it twice.
            let count: std::collections::HashMap<(&str, &str), u32> =
                trends.iter().map(|t| ((t.source.as_str(), t.subject_id.as_str()), t.count)).collect();
            change_cases(state, false, |state| {
                for c in &mut state.cases {
                    c.trend = count.get(&(c.source.as_str(), c.subject_id.as_str())).copied();
                }
            });
            vec![]
        }
        // The queue works without markers; the reason is said once.
        Action::TrendsWarmed(Err(e)) => {
            toast(state, format!("could not count trends: {e}"), true);
            vec![]
        }
        Action::ShowText { title, lines } => {
            state.mode = Mode::Text { title, lines };
            state.overlay_scroll = 0;
            vec![]
        }
        Action::TeamLoaded(team) => {
            state.team = team;
            vec![]
        }
        Action::Quarantined(n) => {
            state.quarantined = n;
            vec![]
        }
        Action::Tick(now) => {
            state.now = now;
            // Cases fall overdue and follow-ups come due as time passes, and either can move a case up.
            let today = now.with_timezone(&state.tz).date_naive();
            let mut moved = false;
            for c in &mut state.cases {
                moved |= c.refresh_clock(now, today);
            }
            if moved {
                change_cases(state, false, |state| {
                    state.cases.sort_unstable_by(|a, b| a.sort_key().cmp(&b.sort_key()));
                });
            } else {
                refresh_duty(state);
            }
            if state.toast.as_ref().is_some_and(|t| t.until <= now) {
                state.toast = None;
            }
            vec![]
        }
    }
}

fn cancel(state: &mut State) -> Vec<Effect> {
    match std::mem::replace(&mut state.mode, Mode::Normal) {
        Mode::Search { previous } => {
            state.filter.text = previous;
            refilter(state);
        }
        // Not quitting: back to the text as it was.
        Mode::Confirm { question: Question::Quit { back }, .. } => state.mode = *back,
        _ => {}
    }
    vec![]
}

fn set_filter(state: &mut State, f: impl FnOnce(&mut Filter)) -> Vec<Effect> {
    f(&mut state.filter);
    // Asking again (C off and on) tries a read of the closed cases that failed once more.
    state.closed_error = None;
    refilter(state);
    vec![]
}

fn command(state: &mut State, c: Command) -> Vec<Effect> {
    match c {
        Command::Quit if state.mode.unsaved_text() => {
            let back = Box::new(std::mem::replace(&mut state.mode, Mode::Normal));
            state.mode = Mode::Confirm { question: Question::Quit { back }, yes_selected: false };
            vec![]
        }
        Command::Quit => quit(state),
        Command::CopyCpoms | Command::CopyTracking => {
            let Mode::Records(r) = &state.mode else { return vec![] };
            let text = if c == Command::CopyCpoms { Some(r.cpoms.clone()) } else { r.tracking.clone() };
            match text {
                Some(text) => {
                    state.mode = Mode::Normal;
                    toast(state, "copied to the clipboard (OSC 52)", false);
                    vec![Effect::Copy(text)]
                }
                None => {
                    toast(state, "this case has no student-tracking note", true);
                    vec![]
                }
            }
        }
        Command::Acknowledge => match &state.mode {
            // What the screen shows is what is acknowledged: its end and its newest note.
            Mode::Handover(h) => {
                let effect = Effect::AcknowledgeHandover { until: h.until, up_to_note: h.last_note };
                state.mode = Mode::Normal;
                vec![effect]
            }
            _ => vec![],
        },
        Command::Help => {
            state.mode = Mode::Help;
            state.overlay_scroll = 0;
            vec![]
        }
        Command::CloseHelp | Command::Cancel | Command::No => cancel(state),
        Command::Submit | Command::Choose => submit(state),
        Command::Yes => {
            if let Mode::Confirm { yes_selected, .. } = &mut state.mode {
                *yes_selected = true;
            }
            submit(state)
        }
        Command::Switch => update(state, super::Action::Type('\t')),
        Command::Complete => {
            if let Mode::Command(line) = &state.mode {
                let checklist = state.detail.as_ref().map(|d| d.checklist.as_slice()).unwrap_or(&[]);
                let outcomes: Vec<&str> = state
                    .detail
                    .as_ref()
                    .map(|d| d.outcomes.iter().map(|(id, _)| id.as_str()).collect())
                    .unwrap_or_default();
                let users: Vec<&str> = state.team.iter().map(|m| m.user.as_str()).collect();
                let (completed, options) = complete_line(line, checklist, &outcomes, &users);
                if options.len() > 1 {
                    toast(state, options.join("  "), false);
                }
                state.mode = Mode::Command(completed);
            }
            vec![]
        }
        Command::CommandLine => {
            state.mode = Mode::Command(String::new());
            vec![]
        }
        Command::Filter => {
            state.focus = Focus::Queue;
            state.mode = Mode::Search { previous: state.filter.text.clone() };
            vec![]
        }
        Command::ClearFilter => set_filter(state, |f| *f = Filter::default()),
        Command::FilterHigh => set_filter(state, |f| f.toggle_level(Level::High)),
        Command::FilterMedium => set_filter(state, |f| f.toggle_level(Level::Medium)),
        Command::FilterLow => set_filter(state, |f| f.toggle_level(Level::Low)),
        Command::FilterOverdue => set_filter(state, |f| f.overdue = !f.overdue),
        Command::FilterOutOfHours => set_filter(state, |f| f.out_of_hours = !f.out_of_hours),
        Command::FilterMine => set_filter(state, |f| f.mine = !f.mine),
        Command::FilterUnassigned => set_filter(state, |f| f.unassigned = !f.unassigned),
        Command::FilterSchool => {
            let schools = state.schools.clone();
            set_filter(state, |f| f.next_school(&schools))
        }
        Command::Take => match state.detail.as_ref().filter(|_| detail_is_current(state)) {
            Some(d) => {
                let key = d.alert.key.clone();
                act(state, key, CaseCommand::Take)
            }
            None => {
                toast(state, NO_CASE_OPEN, true);
                vec![]
            }
        },
        Command::FilterClosed => set_filter(state, |f| f.closed = !f.closed),
        Command::Dashboard => {
            state.dashboard = !state.dashboard;
            state.not_open_error = None;
            refresh_duty(state);
            vec![]
        }
        Command::Screenshot => {
            state.screenshot_preview = !state.screenshot_preview;
            if state.screenshot_preview && detail_is_current(state) { want_screenshot(state) } else { vec![] }
        }
        Command::ViewScreenshot => view_screenshot(state),
        Command::CopyReference => match state.detail.as_ref().filter(|_| detail_is_current(state)) {
            Some(d) => {
                let mut text = d.alert.key.to_string();
                // A suspected-illegal alert's screenshots are never fetched, shown or passed on.
                if !d.alert.suspected_illegal && !d.case.illegal_path {
                    for s in d.alert.screenshots() {
                        text.push('\n');
                        text.push_str(&s.url);
                    }
                }
                toast(state, "case reference copied to the clipboard (OSC 52)", false);
                vec![Effect::Copy(text)]
            }
            None => {
                toast(state, NO_CASE_OPEN, true);
                vec![]
            }
        },
        Command::Retry => {
            toast(state, "retrying the feed", false);
            vec![Effect::RetryFeed]
        }
        Command::History => match state.detail.as_ref().filter(|_| detail_is_current(state)) {
            Some(d) => vec![Effect::LoadHistory(d.alert.key.clone())],
            None => {
                toast(state, NO_CASE_OPEN, true);
                vec![]
            }
        },
        Command::Open if matches!(state.mode, Mode::History(_)) => open_from_history(state),
        Command::Up | Command::Down | Command::Top | Command::Bottom | Command::PageUp | Command::PageDown
            if matches!(state.mode, Mode::History(_)) =>
        {
            if let Mode::History(view) = &mut state.mode {
                view.selected = step(view.selected, view.history.cases.len(), row_step(c));
            }
            vec![]
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
                state.dashboard = false;
                vec![Effect::OpenCase(k)]
            }
            None => {
                toast(state, "no case to open: the queue shows none", true);
                vec![]
            }
        },
        Command::AddNote => {
            match state.detail.as_ref().filter(|_| detail_is_current(state)).map(|d| d.alert.key.clone()) {
                Some(key) => {
                    state.mode = Mode::Editor(Box::new(Editor::new(key, "Note on the case", EditorPurpose::Note)))
                }
                None => toast(state, NO_CASE_OPEN, true),
            }
            vec![]
        }
        Command::NewAlert => {
            if state.viewer.on_duty() {
                let now = state.now.with_timezone(&state.tz).format("%Y-%m-%d %H:%M").to_string();
                let label = "An alert taken by phone or in person: fill in after each colon (level low, medium or \
                             high, and a summary, are required). Ctrl-S saves; Esc abandons it, keeping nothing.";
                let lines = crate::service::intake::form_template(&now).lines().map(str::to_string).collect();
                let mut editor = Editor::new(AlertKey::new("manual", ""), label, EditorPurpose::NewAlert);
                editor.text = ratatui_textarea::TextArea::new(lines);
                // The cursor after `caller: `, the first field with nothing in it.
                editor.text.move_cursor(ratatui_textarea::CursorMove::Jump(2, 8));
                state.mode = Mode::Editor(Box::new(editor));
            } else {
                toast(state, "only the DSL and the deputy record alerts taken by phone", true);
            }
            vec![]
        }
        Command::Toggle => toggle(state),
        Command::Records => match state.detail.as_ref().filter(|_| detail_is_current(state)) {
            Some(d) => vec![Effect::LoadRecords(d.alert.key.clone())],
            None => {
                toast(state, NO_CASE_OPEN, true);
                vec![]
            }
        },
        Command::Up | Command::Down | Command::PageUp | Command::PageDown
            if matches!(
                state.mode,
                Mode::Help | Mode::Records(_) | Mode::Handover(_) | Mode::Text { .. } | Mode::Picture(_)
            ) =>
        {
            let delta: i32 = match c {
                Command::Up => -1,
                Command::Down => 1,
                Command::PageUp => -(PAGE as i32),
                _ => PAGE as i32,
            };
            // A handover lists every decision of a busy day: it scrolls as far as it is long.
            let most = match &state.mode {
                Mode::Handover(h) => {
                    i32::try_from(h.entries().saturating_mul(2).saturating_add(30)).unwrap_or(i32::MAX)
                }
                _ => 500,
            };
            state.overlay_scroll =
                (i32::from(state.overlay_scroll) + delta).clamp(0, most.min(i32::from(u16::MAX))) as u16;
            vec![]
        }
        Command::Up | Command::Down | Command::Top | Command::Bottom | Command::PageUp | Command::PageDown => {
            let delta = row_step(c);
            match state.focus {
                Focus::Queue => state.selected = step(state.selected, state.rows.len(), delta),
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

/// The open case's first screenshot, or why there is none to show. A case on the illegal-content path
/// (suspected illegal, grooming or illegal content at High, or chosen by the reviewer) never has its
/// screenshots fetched, by any path (the fetch refuses too): only a placeholder shows.
pub fn viewable_screenshot(
    detail: Option<&crate::service::CaseDetail>,
) -> Result<(crate::domain::AlertKey, usize), &'static str> {
    let Some(d) = detail else { return Err("open a case first (Enter)") };
    if d.alert.suspected_illegal || d.case.illegal_path {
        return Err("no picture: this case is on the illegal-content path");
    }
    match d.alert.captures.iter().position(|c| c.screenshot.is_some()) {
        Some(index) => Ok((d.alert.key.clone(), index)),
        None => Err("this case has no screenshot"),
    }
}

/// Asks for the open case's first screenshot for its pane.
fn want_screenshot(state: &mut State) -> Vec<Effect> {
    let Ok((key, index)) = viewable_screenshot(state.detail.as_ref()) else {
        state.screenshot = None;
        return vec![];
    };
    if state.screenshot.as_ref().is_some_and(|v| v.key == key && !matches!(v.status, super::ShotStatus::Failed(_))) {
        return vec![];
    }
    let fit = super::ShotFit::Pane;
    state.screenshot = Some(super::ShotView { key: key.clone(), index, fit, status: super::ShotStatus::Loading });
    vec![Effect::FetchScreenshot { key, index, fit }]
}

/// The picture's place on a full screen of `size`: all of it but a title line and a hint line.
pub fn full_screen_fit(size: ratatui::layout::Size) -> super::ShotFit {
    super::ShotFit::Screen { width: size.width, height: size.height.saturating_sub(2) }
}

/// Shows the open case's first screenshot over the whole screen, prepared (and its view recorded) afresh.
fn view_screenshot(state: &mut State) -> Vec<Effect> {
    match viewable_screenshot(state.detail.as_ref().filter(|_| detail_is_current(state))) {
        Ok((key, index)) => {
            let fit = full_screen_fit(state.screen_size());
            state.mode =
                Mode::Picture(super::ShotView { key: key.clone(), index, fit, status: super::ShotStatus::Loading });
            vec![Effect::FetchScreenshot { key, index, fit }]
        }
        Err(why) => {
            state.mode = Mode::Normal;
            toast(state, why, true);
            vec![]
        }
    }
}

/// A decision on the case the screen shows: asked first when it needs confirming (close, regrade...) or when
/// the case is someone else's and this reviewer has not yet said they mean to act on it; otherwise sent.
/// Every key and line that decides comes through here.
fn act(state: &mut State, key: AlertKey, command: CaseCommand) -> Vec<Effect> {
    let others = state
        .detail
        .as_ref()
        .filter(|d| d.alert.key == key)
        .and_then(|d| d.case.owner.as_deref().filter(|owner| *owner != state.viewer.user).map(|o| d.name(o)))
        .filter(|_| {
            !command.is_team_bookkeeping()
                && !matches!(command, CaseCommand::Note { .. })
                && !state.acting_on_others.contains(&key)
        });
    if command.needs_confirmation() || others.is_some() {
        state.mode = Mode::Confirm { question: Question::Act { key, command, others }, yes_selected: false };
        return vec![];
    }
    vec![Effect::Act(key, command)]
}

/// Opens the case selected in a student's history: the queue's filter is cleared so that the queue shows
/// it (closed cases included when it is one), and it is selected there when it arrives.
fn open_from_history(state: &mut State) -> Vec<Effect> {
    let Mode::History(view) = &state.mode else { return vec![] };
    let Some(row) = view.history.cases.get(view.selected) else { return vec![] };
    let (key, open) = (row.key.clone(), row.status.is_open());
    state.mode = Mode::Normal;
    let shows_it = Filter { closed: !open || state.filter.closed, ..Filter::default() };
    if state.filter != shows_it {
        state.filter = shows_it;
        state.closed_error = None;
        refilter(state);
        toast(state, "the queue's filter was cleared to show the case", false);
    }
    state.opening = Some(key.clone());
    state.focus = Focus::Detail;
    state.dashboard = false;
    vec![Effect::OpenCase(key)]
}

fn quit(state: &mut State) -> Vec<Effect> {
    state.quit = true;
    vec![Effect::Quit]
}

fn toggle(state: &mut State) -> Vec<Effect> {
    if !detail_is_current(state) {
        toast(state, NO_CASE_OPEN, true);
        return vec![];
    }
    let Some(detail) = &state.detail else { return vec![] };
    let Some(item) = detail.checklist.get(state.checklist_selected) else { return vec![] };
    let key = detail.alert.key.clone();
    if item.done {
        // Undoing a step is itself a decision: it needs a reason.
        let label = format!("Why undo \"{}\"?", item.text);
        let purpose = EditorPurpose::UntickReason { item: item.id.clone() };
        state.mode = Mode::Editor(Box::new(Editor::new(key, label, purpose)));
        return vec![];
    }
    if item.kind == crate::domain::checklist::ItemKind::Tick {
        let command = CaseCommand::Tick { item: item.id.clone(), value: None, note: None };
        return act(state, key, command);
    }
    let label = if item.choices.is_empty() {
        format!("{} ({})", item.text, item.kind)
    } else {
        let numbered: Vec<String> = item.choices.iter().enumerate().map(|(i, c)| format!("{} {c}", i + 1)).collect();
        format!("{} [{}]", item.text, numbered.join(" / "))
    };
    state.mode = Mode::Prompt(Prompt {
        key,
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
        Mode::Normal
        | Mode::Help
        | Mode::Records(_)
        | Mode::Handover(_)
        | Mode::Text { .. }
        | Mode::Picture(_)
        | Mode::History(_)
        | Mode::Search { .. } => vec![],
        Mode::Confirm { question, yes_selected } => match (question, yes_selected) {
            (Question::Act { key, command, others }, true) => {
                if others.is_some() {
                    state.acting_on_others.insert(key.clone());
                }
                vec![Effect::Act(key, command)]
            }
            (Question::Quit { .. }, true) => quit(state),
            (Question::Quit { back }, false) => {
                state.mode = *back;
                vec![]
            }
            (Question::Act { key, .. }, false) => {
                // Text typed for the decision goes back in its editor: cancelling loses nothing typed.
                match state.sent_editor.take().filter(|e| e.key == key) {
                    Some(editor) => state.mode = Mode::Editor(editor),
                    None => toast(state, "cancelled", false),
                }
                vec![]
            }
        },
        Mode::Editor(e) if e.purpose == EditorPurpose::NewAlert => {
            // Checked here first so a form that lacks something stays open, saying what; nothing is sent.
            let form = crate::service::intake::ManualAlert::from_form(&e.content())
                .and_then(|form| form.check().map(|_| form).map_err(|e| e.to_string()));
            match form {
                Ok(form) => {
                    state.sent_editor = Some(e);
                    vec![Effect::AddAlert(Box::new(form))]
                }
                Err(message) => {
                    state.mode = Mode::Editor(e);
                    toast(state, message, true);
                    vec![]
                }
            }
        }
        Mode::Editor(e) => {
            let k = e.key.clone();
            let text = e.content();
            let command = match e.purpose.clone() {
                EditorPurpose::Note => CaseCommand::Note { text },
                EditorPurpose::UntickReason { item } => CaseCommand::Untick { item, reason: text },
                // Taken by the arm above.
                EditorPurpose::NewAlert => return vec![],
            };
            state.sent_editor = Some(e);
            act(state, k, command)
        }
        Mode::Prompt(p) => {
            let k = p.key.clone();
            let command = match p.purpose {
                // The value is read (a choice by its number too) where every surface's is: domain::values.
                PromptPurpose::ItemValue { item } => CaseCommand::Tick { item, value: Some(p.input), note: None },
            };
            act(state, k, command)
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
                Ok(LineCommand::Rejected) => vec![Effect::ListRejected],
                Ok(LineCommand::Handover) => vec![Effect::LoadHandover],
                Ok(LineCommand::Dashboard) => {
                    state.dashboard = !state.dashboard;
                    refresh_duty(state);
                    vec![]
                }
                // `:filter` has no word for a school: the school `S` chose stays.
                Ok(LineCommand::Filter(f)) => {
                    set_filter(state, |current| *current = Filter { school: current.school.take(), ..f })
                }
                Ok(LineCommand::History) => command(state, Command::History),
                Ok(LineCommand::Link { other, reason }) => match key {
                    Some(key) => vec![Effect::Link { key, other, reason }],
                    None => {
                        toast(state, NO_CASE_OPEN, true);
                        vec![]
                    }
                },
                Ok(LineCommand::Case(command)) => match key {
                    None => {
                        toast(state, NO_CASE_OPEN, true);
                        vec![]
                    }
                    Some(k) => act(state, k, command),
                },
                Err(e) => {
                    toast(state, e, true);
                    vec![]
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_clamped_and_never_overflow() {
        assert_eq!(step(0, 0, 5), 0);
        assert_eq!(step(3, 10, isize::MAX / 2), 9);
        assert_eq!(step(3, 10, isize::MIN / 2), 0);
        assert_eq!(step(usize::MAX / 4, 10, 1), 9);
    }

    fn editing(text: &str) -> State {
        let viewer = crate::identity::Viewer { user: "dsl".into(), role: crate::identity::Role::Dsl, sees_staff: true };
        let mut state = State::new(viewer, chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
        let mut editor = Editor::new(AlertKey::new("sm", "A-1"), "Note on the case", EditorPurpose::Note);
        editor.text.insert_str(text);
        state.mode = Mode::Editor(Box::new(editor));
        state
    }

    #[test]
    fn a_note_that_was_not_recorded_comes_back_in_the_editor_with_its_text() {
        let mut state = editing("rang home, mum answered");
        let effects = submit(&mut state);
        assert!(
            matches!(&effects[..], [Effect::Act(_, CaseCommand::Note { text })] if text == "rang home, mum answered")
        );
        assert!(!matches!(state.mode, Mode::Editor(_)), "the editor closes while the note is sent");
        update(&mut state, Action::Failed("the vigil service is not answering (reconnecting)".into()));
        match &state.mode {
            Mode::Editor(e) => assert_eq!(e.content(), "rang home, mum answered"),
            _ => panic!("the editor is back with the text"),
        }
        assert!(state.toast.as_ref().is_some_and(|t| t.text.contains("your text is kept")));
    }

    #[test]
    fn a_note_that_was_recorded_does_not_come_back_on_a_later_failure() {
        let mut state = editing("seen by the school nurse");
        let _ = submit(&mut state);
        update(&mut state, Action::Decided { key: AlertKey::new("sm", "A-1"), message: "recorded: note".into() });
        update(&mut state, Action::Failed("a later read failed".into()));
        assert!(!matches!(state.mode, Mode::Editor(_)));
    }
}

#[cfg(test)]
mod handover_tests {
    use super::*;
    use crate::service::handover::{Handover, HandoverCase, SinceWhy};

    /// A busy day's handover is longer than any other overlay: it scrolls to its end, not to a fixed 500.
    #[test]
    fn a_long_handover_scrolls_to_its_end() {
        let now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let case = |i: usize| HandoverCase {
            key: AlertKey::new("s", format!("A-{i}")),
            level: Level::Low,
            category: "bullying".into(),
            status: crate::domain::Status::New,
            staff: false,
            owner: None,
            due_at: None,
            overdue: false,
            follow_up: None,
        };
        let open: Vec<HandoverCase> = (0..600).map(case).collect();
        let h = Handover {
            since: now,
            since_why: SinceWhy::LastDay,
            until: now,
            new_alerts: open.clone(),
            decisions: Vec::new(),
            open,
            next_working_day: now.date_naive(),
            follow_ups: Vec::new(),
            notes: Vec::new(),
            last_note: None,
        };
        let mut state = State::new(
            crate::identity::Viewer { user: "u".into(), role: crate::identity::Role::Dsl, sees_staff: true },
            now,
        );
        state.mode = Mode::Handover(Box::new(h));
        for _ in 0..300 {
            update(&mut state, Action::Command(Command::PageDown));
        }
        assert_eq!(state.overlay_scroll, 1200 * 2 + 30, "as far as its 1200 cases, each wrapped once");
    }
}
