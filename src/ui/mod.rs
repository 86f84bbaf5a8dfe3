//! Rendering: `render(&State, &mut Frame)` draws and does nothing else. One file per panel.

mod checklist;
mod dashboard;
mod detail;
mod handover;
mod help;
mod history;
mod overlay;
mod picture;
mod queue;
mod status;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::{Focus, Mode, State};
pub use detail::lines as detail_lines;
pub use handover::lines as handover_lines;
pub use history::line as history_line;
pub use status::{escalation_banner, hint_line};
pub use theme::Theme;

pub use crate::app::{MIN_HEIGHT, MIN_WIDTH, fits};
/// From this width the queue and the case sit side by side.
const WIDE: u16 = 140;
/// From this width (up to [`WIDE`]) the case and its checklist sit side by side below the queue, so a laptop's
/// terminal shows both at once; below it the lower pane shows whichever has the focus.
const SPLIT: u16 = 100;

/// Where each pane goes on a body of `body` (the screen less its header and status lines).
struct Panes {
    queue: Rect,
    detail: Rect,
    /// `None` when the checklist shares the detail pane's place (narrow screens: the focus picks).
    checklist: Option<Rect>,
}

fn panes(body: Rect) -> Panes {
    if body.width >= WIDE {
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        let [top, bottom] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(right);
        Panes { queue: left, detail: top, checklist: Some(bottom) }
    } else {
        let [top, bottom] = stacked(body);
        if body.width >= SPLIT {
            let [case, checklist] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
            Panes { queue: top, detail: case, checklist: Some(checklist) }
        } else {
            Panes { queue: top, detail: bottom, checklist: None }
        }
    }
}

fn body_area(area: Rect) -> Rect {
    let [_, body, _] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(10), Constraint::Length(2)]).areas(area);
    body
}

/// Where the queue pane sits on a screen of `area` (the same split `render` uses).
pub fn queue_area(area: Rect) -> Rect {
    panes(body_area(area)).queue
}

/// The queue above the case on a narrow screen: two fifths of the height, but at least 11 rows (8 cases)
/// so that 80x24 still shows a useful queue.
fn stacked(body: Rect) -> [Rect; 2] {
    let queue = (body.height * 2 / 5).max(11).min(body.height.saturating_sub(6));
    Layout::vertical([Constraint::Length(queue), Constraint::Min(0)]).areas(body)
}

/// The queue row (index into the visible rows) under a mouse click at (`column`, `row`), if any.
pub fn queue_row_at(state: &State, area: Rect, column: u16, row: u16) -> Option<usize> {
    if !fits(area.width, area.height) {
        return None;
    }
    let q = queue_area(area);
    // Inside the borders, below the column header.
    let first = q.y + 2;
    let inner_rows = q.height.saturating_sub(3) as usize;
    if column <= q.x || column >= q.x + q.width - 1 || row < first || row >= first + inner_rows as u16 {
        return None;
    }
    let start = queue::window_start(state.selected, state.rows.len(), inner_rows);
    let index = start + usize::from(row - first);
    (index < state.rows.len()).then_some(index)
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    if !fits(area.width, area.height) {
        let mut msg = format!(
            "Terminal too small: {}x{}. vigil needs at least {MIN_WIDTH}x{MIN_HEIGHT}. Enlarge the window, or press q to quit.",
            area.width, area.height
        );
        // The one question keys can answer here (the keymap's too-small mode lets nothing else through).
        if let Mode::Confirm { question: question @ crate::app::Question::Quit { .. }, .. } = &state.mode {
            msg = format!("{msg}\n\n{} y quits, n goes back.", overlay::describe(question));
        }
        frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let [header, body, status_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(10), Constraint::Length(2)]).areas(area);
    frame.render_widget(status::header(state, theme), header);
    if let (true, Some(duty)) = (state.dashboard, &state.duty) {
        dashboard::render(state, duty, theme, frame, body);
    } else if state.dashboard {
        dashboard::render_reading(state, theme, frame, body);
    } else {
        let panes = panes(body);
        queue::render(state, theme, frame, panes.queue);
        match panes.checklist {
            Some(place) => {
                detail::render(state, theme, frame, panes.detail);
                checklist::render(state, theme, frame, place);
            }
            // On a narrow screen the lower pane shows the case or its checklist, whichever has the focus.
            None if state.focus == Focus::Checklist => checklist::render(state, theme, frame, panes.detail),
            None => detail::render(state, theme, frame, panes.detail),
        }
    }
    status::render(state, theme, frame, status_area);
    match &state.mode {
        Mode::Help => help::render(state, theme, frame, area),
        Mode::Command(_) | Mode::Prompt(_) | Mode::Confirm { .. } | Mode::Search { .. } => {
            overlay::render(state, theme, frame, area)
        }
        Mode::Records(r) => overlay::records(r, state.overlay_scroll, theme, frame, area),
        Mode::Handover(h) => handover::render(h, state.overlay_scroll, state.tz, theme, frame, area),
        Mode::Editor(e) => overlay::editor(e, theme, frame, area),
        Mode::Text { title, lines } => overlay::text(title, lines, state.overlay_scroll, theme, frame, area),
        Mode::Picture(view) => picture::render(state, view, theme, frame, area),
        Mode::History(view) => history::render(state, view, theme, frame, area),
        Mode::Normal => {}
    }
}

/// A rectangle of `w`x`h` centred in `area`, clipped to it.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// "3m", "2h", "4d": how long ago, in the fewest characters.
pub fn age(now: chrono::DateTime<chrono::Utc>, then: chrono::DateTime<chrono::Utc>) -> String {
    let mins = (now - then).num_minutes().max(0);
    match mins {
        0..=59 => format!("{mins}m"),
        60..=2879 => format!("{}h", mins / 60),
        _ => format!("{}d", mins / 1440),
    }
}

/// How many terminal columns `s` takes (wide characters take two).
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` columns, by whole grapheme clusters measured with unicode-width, with `…`
/// where it was cut. A wide character is never split, and a cell never holds more than it has room for.
pub fn fit(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    use unicode_segmentation::UnicodeSegmentation;
    if width(s) <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = width(g);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push_str(g);
    }
    if max > 0 {
        out.push('…');
    }
    std::borrow::Cow::Owned(out)
}

/// `s` cut to `max` display columns from the middle (`Oakwood…North`): for names that differ at the end,
/// such as schools of one trust.
pub fn fit_middle(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    use unicode_segmentation::UnicodeSegmentation;
    if width(s) <= max || max < 3 {
        return fit(s, max);
    }
    let graphemes: Vec<&str> = s.graphemes(true).collect();
    let keep = max - 1;
    let (mut head, mut tail) = (String::new(), Vec::new());
    let (mut head_used, mut tail_used) = (0, 0);
    let (mut front, mut back) = (0, graphemes.len());
    // The start gets the odd column: a school's name is read from its start.
    while front < back {
        let take_front = head_used <= tail_used;
        let g = if take_front { graphemes[front] } else { graphemes[back - 1] };
        if head_used + tail_used + width(g) > keep {
            break;
        }
        if take_front {
            head.push_str(g);
            head_used += width(g);
            front += 1;
        } else {
            tail.push(g);
            tail_used += width(g);
            back -= 1;
        }
    }
    tail.reverse();
    std::borrow::Cow::Owned(format!("{head}…{}", tail.concat()))
}

fn blank() -> Line<'static> {
    Line::raw("")
}
