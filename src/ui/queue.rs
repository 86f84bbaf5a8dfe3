//! The queue: one row per case, in triage order. Only the visible window of rows is built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{Theme, age, fit, fit_middle, width};
use crate::app::{Focus, State};
use crate::domain::inert;
use crate::service::CaseSummary;

/// The first row to show so that `selected` stays in view, keeping some context above it.
pub fn window_start(selected: usize, len: usize, rows: usize) -> usize {
    if rows == 0 || len <= rows {
        return 0;
    }
    selected.saturating_sub(rows / 3).min(len - rows)
}

pub fn due_text(state: &State, c: &CaseSummary) -> String {
    if !c.open {
        return String::new();
    }
    match c.due_at {
        Some(_) if c.overdue => "OVERDUE".into(),
        Some(d) => {
            let local = d.with_timezone(&state.tz);
            let today = state.now.with_timezone(&state.tz).date_naive();
            if local.date_naive() == today {
                local.format("%H:%M").to_string()
            } else {
                local.format("%a %H:%M").to_string()
            }
        }
        None => String::new(),
    }
}

fn subject(c: &CaseSummary) -> String {
    let mut s = inert::line(&c.subject_id).into_owned();
    if let Some(n) = &c.subject_name {
        s.push(' ');
        s.push_str(&inert::line(n));
    }
    if let Some(g) = &c.subject_group {
        s.push_str(&format!(" ({})", inert::line(g)));
    }
    s
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = state.focus == Focus::Queue;
    let open = state.counts.open;
    let title = if !state.filter.is_active() {
        format!("Queue: {} open", state.rows.len())
    } else if state.filter.wants_closed() && state.closed_error.is_some() && !state.closed_loaded {
        format!("Queue: {} shown of {open} open (the closed cases could not be read)", state.rows.len())
    } else if state.filter.wants_closed() && state.closed_loading && !state.closed_loaded {
        format!("Queue: {} shown of {open} open (reading the closed cases...)", state.rows.len())
    } else if state.filter.wants_closed() {
        format!("Queue: {} shown of {} ({open} open)", state.rows.len(), state.cases.len())
    } else {
        format!("Queue: {} shown of {open} open", state.rows.len())
    };
    let block = theme.block(&title, focused);
    if state.rows.is_empty() {
        let text = if state.filter.is_active() {
            "No case matches the filter. Esc clears it."
        } else if state.cases.is_empty() {
            // Closed cases are read only when asked for, so an empty queue may still have some.
            "Nothing open. The feed status is below; alerts appear here as they arrive. C shows closed and \
             withdrawn cases."
        } else {
            "Nothing open. C shows closed and withdrawn cases."
        };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let rows_visible = area.height.saturating_sub(3) as usize; // borders and header
    let start = window_start(state.selected, state.rows.len(), rows_visible);
    let shown: Vec<(usize, &CaseSummary)> = state.visible().enumerate().skip(start).take(rows_visible).collect();
    let categories: Vec<String> = shown.iter().map(|(_, c)| inert::line(&c.category).into_owned()).collect();
    let flags: Vec<String> = shown.iter().map(|(_, c)| c.flags().join(" ")).collect();
    let subjects: Vec<String> = shown.iter().map(|(_, c)| subject(c)).collect();
    let owners: Vec<String> = shown
        .iter()
        .map(|(_, c)| c.owner_name.as_deref().map(|o| inert::line(o).into_owned()).unwrap_or_default())
        .collect();
    let schools: Vec<String> = shown
        .iter()
        .map(|(_, c)| c.school.as_deref().map(|s| inert::line(s).into_owned()).unwrap_or_default())
        .collect();
    let widths = Columns::measure(area.width.saturating_sub(2) as usize, &categories, &flags, &owners, &schools);
    let rows = shown.iter().enumerate().map(|(n, (i, c))| {
        let selected = *i == state.selected;
        let marker = if selected { theme.marker() } else { " " };
        let due = due_text(state, c);
        let due_style = if c.overdue { theme.warn() } else { theme.dim() };
        // Every cell is cut here, by display width, so a wide character is never split by the table.
        let mut cells = vec![
            Cell::from(marker),
            Cell::from(Span::styled(c.level.label(), theme.level(c.level))),
            Cell::from(c.status.as_str()),
            Cell::from(fit(&categories[n], widths.category).into_owned()),
            Cell::from(fit(&subjects[n], widths.subject).into_owned()),
            Cell::from(fit(&flags[n], widths.flags).into_owned()),
            Cell::from(age(state.now, c.raised_at)),
            Cell::from(Span::styled(due, due_style)),
        ];
        if widths.owner > 0 {
            cells.insert(OWNER_COLUMN, Cell::from(fit(&owners[n], widths.owner).into_owned()));
        }
        if widths.school > 0 {
            cells.insert(SCHOOL_COLUMN, Cell::from(fit_middle(&schools[n], widths.school).into_owned()));
        }
        let row = Row::new(cells);
        if selected { row.style(theme.selected()) } else { row }
    });
    let mut header = vec!["", "LVL", "STATUS", "CATEGORY", "SUBJECT", "FLAGS", "AGE", "DUE"];
    if widths.owner > 0 {
        header.insert(OWNER_COLUMN, "OWNER");
    }
    if widths.school > 0 {
        header.insert(SCHOOL_COLUMN, "SCHOOL");
    }
    let header = Row::new(header).style(theme.dim());
    let table = Table::new(rows, widths.constraints()).header(header).block(block).column_spacing(1);
    frame.render_widget(table, area);
}

/// The widths of the columns that vary: the category and the flags get what the rows on screen need, and
/// the subject the rest; on a narrow screen the subject gives way first (down to `MIN_SUBJECT`), then the
/// category.
struct Columns {
    category: usize,
    subject: usize,
    flags: usize,
    /// 0 when no case on screen has an owner.
    owner: usize,
    /// 0 outside the trust's view (no case on screen names a school).
    school: usize,
}

/// The most an owner's name takes: beyond it, the name is cut.
const MAX_OWNER: usize = 16;
/// Where the owner column goes (after the flags) while a case on screen has an owner: only then is it there.
const OWNER_COLUMN: usize = 6;
/// The most a school's name takes in the trust's view: beyond it, the name is cut.
const MAX_SCHOOL: usize = 14;
/// The least a school's name takes when the pane is narrow.
const MIN_SCHOOL: usize = 6;
/// Where the school column goes in the trust's view: first after the marker (inserted after the owner's).
const SCHOOL_COLUMN: usize = 1;

/// LVL, STATUS, AGE and DUE, the marker, and a space between each of the eight columns.
const FIXED: usize = 1 + 4 + 11 + 4 + 9 + 7;
const MIN_SUBJECT: usize = 12;
const MIN_CATEGORY: usize = 8;

impl Columns {
    fn measure(
        inner: usize,
        categories: &[String],
        flags: &[String],
        owners: &[String],
        schools: &[String],
    ) -> Columns {
        let widest =
            |texts: &[String], header: &str| texts.iter().map(|t| width(t)).max().unwrap_or(0).max(header.len());
        let flags = widest(flags, "FLAGS");
        let optional = |texts: &[String], header: &str, most: usize| {
            if texts.iter().all(String::is_empty) { 0 } else { widest(texts, header).min(most) }
        };
        let mut owner = optional(owners, "OWNER", MAX_OWNER);
        let mut school = optional(schools, "SCHOOL", MAX_SCHOOL);
        // The owner and school columns, when there, bring their own space between columns. On a narrow
        // pane they give way before the subject and category do: the owner first, then the school shrinks.
        let extra = |owner: usize, school: usize| [owner, school].iter().filter(|w| **w > 0).map(|w| w + 1).sum();
        let squeezed =
            |owner, school| inner.saturating_sub(FIXED + flags + extra(owner, school)) < MIN_SUBJECT + MIN_CATEGORY;
        if squeezed(owner, school) {
            owner = 0;
        }
        if squeezed(owner, school) {
            school = school.min(MIN_SCHOOL);
        }
        let owner_room: usize = extra(owner, school);
        let want = widest(categories, "CATEGORY");
        let room = inner.saturating_sub(FIXED + flags + owner_room);
        let category = want.min(room.saturating_sub(MIN_SUBJECT)).max(MIN_CATEGORY.min(want));
        Columns { category, subject: room.saturating_sub(category).max(1), flags, owner, school }
    }

    fn constraints(&self) -> Vec<Constraint> {
        let len = |w: usize| Constraint::Length(u16::try_from(w).unwrap_or(u16::MAX));
        let mut constraints = vec![
            Constraint::Length(1),
            Constraint::Length(4),
            Constraint::Length(11),
            len(self.category),
            Constraint::Fill(1),
            len(self.flags),
            Constraint::Length(4),
            Constraint::Length(9),
        ];
        if self.owner > 0 {
            constraints.insert(OWNER_COLUMN, len(self.owner));
        }
        if self.school > 0 {
            constraints.insert(SCHOOL_COLUMN, len(self.school));
        }
        constraints
    }
}

#[cfg(test)]
mod tests {
    use super::{Columns, FIXED, MIN_CATEGORY, MIN_SCHOOL, MIN_SUBJECT, window_start};

    #[test]
    fn a_long_school_name_is_cut_from_the_middle_so_two_schools_stay_apart() {
        use super::super::{fit_middle, width};
        let (north, south) = (fit_middle("Oakwood Academy North", 12), fit_middle("Oakwood Academy South", 12));
        assert_eq!((north.as_ref(), south.as_ref()), ("Oakwoo…North", "Oakwoo…South"));
        assert_eq!(width(&north), 12);
        assert_eq!(fit_middle("North", 12), "North");
    }

    #[test]
    fn on_a_narrow_pane_the_owner_gives_way_then_the_school_shrinks_before_the_subject() {
        let texts = |s: &str| vec![s.to_string()];
        let (categories, flags) = (texts("self-harm"), texts("FLAGS"));
        let (owners, schools) = (texts("A. Example (DSL)"), texts("Oakwood Academy North"));
        let wide = Columns::measure(140, &categories, &flags, &owners, &schools);
        assert!(wide.owner > 0 && wide.school > MIN_SCHOOL, "room for both: {:?}", (wide.owner, wide.school));
        // Half of a 140-column screen: the pane the queue has beside an open case.
        let narrow = Columns::measure(68, &categories, &flags, &owners, &schools);
        assert_eq!(narrow.owner, 0, "the owner gives way first");
        assert!(narrow.subject >= MIN_SUBJECT && narrow.category >= MIN_CATEGORY.min(9), "{:?}", narrow.subject);
        let tight =
            Columns::measure(FIXED + 5 + MIN_SUBJECT + MIN_CATEGORY + 4, &categories, &flags, &owners, &schools);
        assert_eq!((tight.owner, tight.school), (0, MIN_SCHOOL), "then the school shrinks");
    }

    #[test]
    fn the_window_keeps_the_selection_in_view() {
        assert_eq!(window_start(0, 100, 10), 0);
        assert_eq!(window_start(50, 100, 10), 47);
        assert_eq!(window_start(99, 100, 10), 90);
        assert_eq!(window_start(5, 8, 10), 0);
        for sel in 0..100 {
            let s = window_start(sel, 100, 10);
            assert!(s <= sel && sel < s + 10);
        }
    }
}
