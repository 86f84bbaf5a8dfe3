//! Alert text is hostile until rendered inert.
//!
//! Every string from the feed may carry terminal escapes (CSI, OSC 52 clipboard writes, OSC 8 links),
//! C0/C1 controls, NUL, and bidi overrides that make text read differently from what it is. Nothing of that
//! may reach the terminal raw. The store keeps the original; every surface that shows text (TUI, `list`,
//! `show`, CPOMS text, reports) passes it through here first, so the escapes stay visible as evidence.

use std::borrow::Cow;

/// Lines longer than this are cut, with a visible count of what was cut.
pub const MAX_LINE_CHARS: usize = 2_000;

/// Renders `s` for a single-line field: newlines and tabs become visible marks too.
pub fn line(s: &str) -> Cow<'_, str> {
    render(s, false)
}

/// Renders `s` for a block of text: newlines are kept, everything else that could act on a terminal is
/// made visible.
pub fn block(s: &str) -> Cow<'_, str> {
    render(s, true)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Bidi embeddings, overrides, isolates and marks: they reorder what the reader sees.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn render(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let clean = !s.chars().any(|c| needs_escape(c) && !(keep_newlines && c == '\n'));
    if clean && s.lines().all(|l| l.len() <= MAX_LINE_CHARS) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut line_chars = 0usize;
    let mut cut = 0usize;
    for c in s.chars() {
        if keep_newlines && c == '\n' {
            flush_cut(&mut out, &mut cut);
            out.push('\n');
            line_chars = 0;
            continue;
        }
        if line_chars >= MAX_LINE_CHARS {
            cut += 1;
            continue;
        }
        line_chars += 1;
        match c {
            // Control Pictures block: ␀ ␁ ... ␛ ... ␟ keep the byte recognisable without its effect.
            '\u{0}'..='\u{1F}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7F}' => out.push('␡'),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:04X}}}", c as u32)),
            c => out.push(c),
        }
    }
    flush_cut(&mut out, &mut cut);
    Cow::Owned(out)
}

fn flush_cut(out: &mut String, cut: &mut usize) {
    if *cut > 0 {
        out.push_str(&format!("…[+{} chars]", *cut));
        *cut = 0;
    }
}

/// True when `s` holds nothing that could act on a terminal. Tests use it on whole frames of output.
pub fn is_inert(s: &str) -> bool {
    !s.chars().any(|c| needs_escape(c) && c != '\n')
}

/// A log writer that renders every record inert before it reaches the file: feed text (an error naming the
/// feed's version string, a server message) can carry escapes, and a log is read on a terminal (`tail -f`,
/// `less -R`). Each record keeps to one line: a newline inside it becomes a visible mark, so a feed cannot
/// forge a record either. The one place every log line passes, whatever produced it.
pub struct InertLines<W>(pub W);

impl<W: std::io::Write> std::io::Write for InertLines<W> {
    /// The formatter hands over one whole record, ending in a newline, per call.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (record, newline) = match text.strip_suffix('\n') {
            Some(r) => (r, "\n"),
            None => (&*text, ""),
        };
        self.0.write_all(format!("{}{newline}", line(record)).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(line("Student searched for 'shot list'"), Cow::Borrowed(_)));
    }

    #[test]
    fn csi_becomes_visible() {
        assert_eq!(line("a\u{1b}[2Jb"), "a␛[2Jb");
    }

    #[test]
    fn osc52_and_osc8_become_visible() {
        let out = line("\u{1b}]52;c;SGVsbG8=\u{7}x\u{1b}]8;;http://e\u{1b}\\link");
        assert!(is_inert(&out), "{out:?}");
        assert!(out.contains("␛]52;c;SGVsbG8=␇"));
    }

    #[test]
    fn bidi_overrides_isolates_and_c1_are_escaped() {
        assert_eq!(line("a\u{202E}b"), "a\\u{202E}b");
        assert_eq!(line("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(line("\u{9b}2J"), "\\u{009B}2J");
    }

    #[test]
    fn nul_and_newlines() {
        assert_eq!(line("a\0b\nc\td"), "a␀b␊c␉d");
        assert_eq!(block("a\0b\nc"), "a␀b\nc");
    }

    #[test]
    fn overlong_lines_are_cut_with_a_count() {
        let s = "x".repeat(MAX_LINE_CHARS + 10);
        let out = line(&s);
        assert!(out.ends_with("…[+10 chars]"));
        let two = format!("{s}\nshort");
        assert!(block(&two).ends_with("…[+10 chars]\nshort"));
    }

    #[test]
    fn log_records_are_written_inert_one_line_each() {
        use std::io::Write;
        let mut out = InertLines(Vec::new());
        out.write_all(b"WARN feed: speaks `\x1b]52;c;SGVsbG8=\x07` and\nFAKE record\n").expect("write");
        let text = String::from_utf8(out.0).expect("utf-8");
        assert!(is_inert(&text), "{text:?}");
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(text.ends_with("record\n"));
    }

    proptest! {
        #[test]
        fn any_string_renders_inert(s in any::<String>()) {
            prop_assert!(is_inert(&line(&s)));
            prop_assert!(is_inert(&block(&s)));
        }
    }
}
