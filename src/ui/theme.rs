//! Colours and glyphs. Colour is never the only carrier of meaning: every level has a text label, overdue
//! says OVERDUE, and the selection has a marker as well as reverse video, so NO_COLOR, light terminals and
//! colour-blind users lose nothing.

use ratatui::style::{Color, Modifier, Style};

use crate::domain::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThemeName {
    /// For dark terminal backgrounds.
    #[default]
    Dark,
    /// For light terminal backgrounds.
    Light,
    /// Bold, with level labels on solid backgrounds.
    HighContrast,
    /// The Okabe-Ito palette, told apart by people with any common colour-vision deficiency.
    ColourBlind,
    /// No colour at all (chosen automatically when NO_COLOR is set).
    Mono,
}

impl std::str::FromStr for ThemeName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dark" => Ok(ThemeName::Dark),
            "light" => Ok(ThemeName::Light),
            "high-contrast" => Ok(ThemeName::HighContrast),
            "colour-blind" | "color-blind" => Ok(ThemeName::ColourBlind),
            "mono" => Ok(ThemeName::Mono),
            other => Err(format!("unknown theme `{other}` (dark, light, high-contrast, colour-blind, mono)")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub name: ThemeName,
    pub ascii: bool,
}

impl Theme {
    pub fn new(name: ThemeName, ascii: bool) -> Theme {
        Theme { name, ascii }
    }

    /// Honours `NO_COLOR` (any non-empty value, <https://no-color.org>) over the chosen theme.
    pub fn from_env(name: ThemeName, ascii: bool) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { name: if no_color { ThemeName::Mono } else { name }, ascii }
    }

    fn fg(&self, c: Color) -> Style {
        if self.name == ThemeName::Mono { Style::new() } else { Style::new().fg(c) }
    }

    pub fn level(&self, level: Level) -> Style {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        match (self.name, level) {
            (ThemeName::Mono, Level::High) => bold,
            (ThemeName::Mono, _) => Style::new(),
            (ThemeName::Dark, Level::High) => bold.fg(Color::LightRed),
            (ThemeName::Dark, Level::Medium) => Style::new().fg(Color::Yellow),
            (ThemeName::Dark, Level::Low) => Style::new().fg(Color::Cyan),
            (ThemeName::Light, Level::High) => bold.fg(Color::Red),
            (ThemeName::Light, Level::Medium) => Style::new().fg(Color::Indexed(130)),
            (ThemeName::Light, Level::Low) => Style::new().fg(Color::Blue),
            (ThemeName::HighContrast, Level::High) => bold.fg(Color::White).bg(Color::Red),
            (ThemeName::HighContrast, Level::Medium) => bold.fg(Color::Black).bg(Color::Yellow),
            (ThemeName::HighContrast, Level::Low) => bold.fg(Color::Black).bg(Color::White),
            // Okabe-Ito: vermillion, orange, blue.
            (ThemeName::ColourBlind, Level::High) => bold.fg(Color::Rgb(213, 94, 0)),
            (ThemeName::ColourBlind, Level::Medium) => Style::new().fg(Color::Rgb(230, 159, 0)),
            (ThemeName::ColourBlind, Level::Low) => Style::new().fg(Color::Rgb(0, 114, 178)),
        }
    }

    /// The selected row: reverse video in every theme, so it shows without colour too.
    pub fn selected(&self) -> Style {
        let s = Style::new().add_modifier(Modifier::REVERSED);
        if self.name == ThemeName::HighContrast { s.add_modifier(Modifier::BOLD) } else { s }
    }

    pub fn dim(&self) -> Style {
        match self.name {
            ThemeName::Dark | ThemeName::ColourBlind => Style::new().fg(Color::DarkGray),
            ThemeName::Light => Style::new().fg(Color::Gray),
            ThemeName::HighContrast | ThemeName::Mono => Style::new(),
        }
    }

    pub fn warn(&self) -> Style {
        let color = match self.name {
            ThemeName::ColourBlind => Color::Rgb(213, 94, 0),
            ThemeName::Light => Color::Red,
            _ => Color::LightRed,
        };
        self.fg(color).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        match self.name {
            ThemeName::ColourBlind => self.fg(Color::Rgb(0, 158, 115)),
            ThemeName::Light => self.fg(Color::Indexed(28)),
            _ => self.fg(Color::Green),
        }
    }

    pub fn title(&self, focused: bool) -> Style {
        if !focused {
            return Style::new();
        }
        let color = if self.name == ThemeName::Light { Color::Blue } else { Color::LightYellow };
        self.fg(color).add_modifier(Modifier::BOLD)
    }

    pub fn marker(&self) -> &'static str {
        if self.ascii { ">" } else { "▶" }
    }

    pub fn done(&self) -> &'static str {
        if self.ascii { "[x]" } else { "[✓]" }
    }

    /// The separator between fields on one line.
    pub fn sep(&self) -> &'static str {
        if self.ascii { " | " } else { " · " }
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
