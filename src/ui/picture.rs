//! A screenshot over the whole screen: the picture prepared for the screen's size, its caption, and the way
//! back. A picture is drawn only once its view is on the record (the runtime sees to that).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::{Theme, centered};
use crate::app::{ShotStatus, ShotView, State};
use crate::domain::inert;

pub fn render(state: &State, view: &ShotView, theme: &Theme, frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let [title, picture, hint] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let caption = state
        .detail
        .as_ref()
        .filter(|d| d.alert.key == view.key)
        .and_then(|d| d.alert.captures.get(view.index))
        .and_then(|c| c.screenshot.as_ref())
        .and_then(|s| s.caption.as_deref())
        .map(|c| format!(": {}", inert::line(c)))
        .unwrap_or_default();
    let heading = format!("Screenshot of {}{caption}", inert::line(&view.key.id));
    frame.render_widget(Paragraph::new(Line::styled(heading, theme.title(true))), title);
    frame.render_widget(Paragraph::new(Line::styled("Esc goes back. This view is recorded.", theme.dim())), hint);
    let message = |text: String| Paragraph::new(Line::styled(text, theme.dim())).centered();
    match &view.status {
        ShotStatus::Ready(img) => {
            let size = img.0.size();
            let place = centered(picture, size.width, size.height);
            frame.render_widget(ratatui_image::Image::new(&img.0), place);
        }
        ShotStatus::Loading => frame.render_widget(message("preparing the screenshot…".into()), picture),
        ShotStatus::Failed(e) => {
            frame.render_widget(message(format!("screenshot unavailable: {}", inert::line(e))), picture)
        }
    }
}
