//! Colours and glyphs. Colour is never the only carrier of meaning: every level has a text label and the
//! selection has a marker, so NO_COLOR and colour-blind users lose nothing.

use ratatui::style::{Color, Modifier, Style};

use crate::domain::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
}

impl Theme {
    /// Honours `NO_COLOR` (any non-empty value), as <https://no-color.org> asks.
    pub fn from_env(ascii: bool) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color, ascii }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::High => self.fg(Color::LightRed).add_modifier(Modifier::BOLD),
            Level::Medium => self.fg(Color::Yellow),
            Level::Low => self.fg(Color::Cyan),
        }
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn dim(&self) -> Style {
        if self.color { Style::new().fg(Color::DarkGray) } else { Style::new() }
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused { self.fg(Color::LightYellow).add_modifier(Modifier::BOLD) } else { Style::new() }
    }

    pub fn marker(&self) -> &'static str {
        if self.ascii { ">" } else { "▶" }
    }

    pub fn done(&self) -> &'static str {
        if self.ascii { "[x]" } else { "[✓]" }
    }

    pub fn border_set(&self) -> ratatui::symbols::border::Set<'static> {
        if self.ascii {
            ratatui::symbols::border::Set {
                top_left: "+",
                top_right: "+",
                bottom_left: "+",
                bottom_right: "+",
                vertical_left: "|",
                vertical_right: "|",
                horizontal_top: "-",
                horizontal_bottom: "-",
            }
        } else {
            ratatui::symbols::border::PLAIN
        }
    }

    pub fn block<'a>(&self, title: &'a str, focused: bool) -> ratatui::widgets::Block<'a> {
        let mark = if focused { "* " } else { "" };
        ratatui::widgets::Block::bordered()
            .border_set(self.border_set())
            .title(ratatui::text::Span::styled(format!("{mark}{title}"), self.title(focused)))
    }
}
