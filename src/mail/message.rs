//! One raw message, parsed within limits into what vigil reads of it: who sent it, its subject, date and
//! Message-ID, its text (an HTML body turned into text, never rendered as HTML), its images, and a forwarded
//! alert inside it.

use chrono::{DateTime, FixedOffset};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// What a message may be before it is refused: far above any real alert e-mail, far below what would hurt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole message, in bytes.
    pub message_bytes: usize,
    /// The header block of the top-level message, in bytes.
    pub header_bytes: usize,
    /// MIME parts, counted at every depth.
    pub parts: usize,
    /// Multiparts and attached messages inside one another.
    pub depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { message_bytes: 25 << 20, header_bytes: 64 << 10, parts: 200, depth: 8 }
    }
}

/// Why a message was refused (quarantined): content-free, so it may be logged and shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("the message is {0} bytes, more than the {1} a message may be")]
    TooLarge(usize, usize),
    #[error("the message's header is more than {0} bytes")]
    HeaderTooLarge(usize),
    #[error("the message has more than {0} MIME parts")]
    TooManyParts(usize),
    #[error("the message nests parts more than {0} deep")]
    TooDeep(usize),
    #[error("the message is not an e-mail vigil can read (no header)")]
    Unreadable,
}

/// An image a message carries, as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub name: Option<String>,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// A parsed message: owned, bounded, and nothing in it yet trusted (every string is shown through
/// [`crate::domain::inert`] like feed text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The sender's address, lower case.
    pub from: Option<String>,
    /// The sender of the alert a forwarded message carries, when the message is a forward.
    pub forwarded_from: Option<String>,
    pub subject: String,
    pub date: Option<DateTime<FixedOffset>>,
    pub message_id: Option<String>,
    /// The plain-text body (from the HTML body when there is no plain one); a forward's inner text follows.
    pub text: String,
    pub images: Vec<Image>,
    /// The SHA-256 of the raw bytes, hex: what the raw message is kept and checked by.
    pub sha256: String,
}

/// The width HTML is laid out to as text: wide, so lines break where the sender's do.
const HTML_WIDTH: usize = 200;

impl Mail {
    /// Parses `raw` within `limits`.
    pub fn parse(raw: &[u8], limits: &Limits) -> Result<Mail, MailError> {
        if raw.len() > limits.message_bytes {
            return Err(MailError::TooLarge(raw.len(), limits.message_bytes));
        }
        let header_end = header_len(raw);
        if header_end > limits.header_bytes {
            return Err(MailError::HeaderTooLarge(limits.header_bytes));
        }
        let message = MessageParser::default().parse(raw).ok_or(MailError::Unreadable)?;
        if message.parts.len() > limits.parts {
            return Err(MailError::TooManyParts(limits.parts));
        }
        let mut depth = 0;
        check_depth(&message, 0, limits, &mut depth)?;
        if message.headers().is_empty() {
            return Err(MailError::Unreadable);
        }
        let from = sender(&message);
        let mut text = body_text(&message);
        let mut forwarded_from = None;
        let mut images = Vec::new();
        for part in message.parts.iter() {
            match &part.body {
                PartType::Message(inner) => {
                    // An alert forwarded as an attachment (message/rfc822): its sender and text count.
                    if forwarded_from.is_none() {
                        forwarded_from = sender(inner);
                    }
                    let inner_text = body_text(inner);
                    if !inner_text.trim().is_empty() {
                        text.push_str("\n\n");
                        text.push_str(&inner_text);
                    }
                }
                PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                    let media_type = part
                        .content_type()
                        .map(|c| format!("{}/{}", c.c_type, c.c_subtype.as_deref().unwrap_or("")).to_lowercase())
                        .unwrap_or_default();
                    if media_type.starts_with("image/") {
                        images.push(Image {
                            name: part.attachment_name().map(str::to_string),
                            media_type,
                            bytes: bytes.to_vec(),
                        });
                    }
                }
                _ => {}
            }
        }
        // A forward in the body ("---------- Forwarded message ---------", "From: ... <noreply@...>").
        if forwarded_from.is_none() {
            forwarded_from = inline_forward_sender(&text);
        }
        Ok(Mail {
            from,
            forwarded_from,
            subject: message.subject().unwrap_or("").to_string(),
            date: message.date().and_then(|d| DateTime::parse_from_rfc3339(&d.to_rfc3339()).ok()),
            message_id: message.message_id().map(str::to_string),
            text,
            images,
            sha256: hex::encode(Sha256::digest(raw)),
        })
    }

    /// The address the alert came from: a forward's original sender when there is one, else the sender.
    pub fn alert_sender(&self) -> Option<&str> {
        self.forwarded_from.as_deref().or(self.from.as_deref())
    }
}

/// How many bytes the header block takes (up to the first empty line).
fn header_len(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = raw.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => raw.len(),
    }
}

fn check_depth(
    message: &mail_parser::Message<'_>,
    at: usize,
    limits: &Limits,
    deepest: &mut usize,
) -> Result<(), MailError> {
    // A multipart's sub-parts are listed by index: walk them to measure the nesting.
    fn walk(
        message: &mail_parser::Message<'_>,
        part: usize,
        at: usize,
        limits: &Limits,
        deepest: &mut usize,
        seen: &mut usize,
    ) -> Result<(), MailError> {
        *seen += 1;
        if *seen > limits.parts {
            return Err(MailError::TooManyParts(limits.parts));
        }
        *deepest = (*deepest).max(at);
        if at > limits.depth {
            return Err(MailError::TooDeep(limits.depth));
        }
        let Some(p) = message.parts.get(part) else { return Ok(()) };
        match &p.body {
            PartType::Multipart(children) => {
                for &child in children {
                    // A part cannot contain an earlier one; refuse a loop rather than follow it.
                    if child as usize <= part {
                        return Err(MailError::Unreadable);
                    }
                    walk(message, child as usize, at + 1, limits, deepest, seen)?;
                }
            }
            PartType::Message(inner) => {
                if inner.parts.len() > limits.parts {
                    return Err(MailError::TooManyParts(limits.parts));
                }
                walk(inner, 0, at + 1, limits, deepest, seen)?;
            }
            _ => {}
        }
        Ok(())
    }
    let mut seen = 0;
    walk(message, 0, at, limits, deepest, &mut seen)
}

fn sender(message: &mail_parser::Message<'_>) -> Option<String> {
    message.from().and_then(|a| a.first()).and_then(|a| a.address()).map(|a| a.trim().to_lowercase())
}

/// The message's text: its plain bodies, or its HTML bodies turned into text (scripts, styles and remote
/// images are not run, fetched or kept: only text comes out).
fn body_text(message: &mail_parser::Message<'_>) -> String {
    let mut out = Vec::new();
    for i in 0..message.text_body_count() {
        // mail-parser gives an HTML-only message's text as HTML converted by itself; read the HTML ourselves.
        let is_html = message
            .text_body
            .get(i)
            .and_then(|&p| message.parts.get(p as usize))
            .is_some_and(|p| matches!(p.body, PartType::Html(_)));
        if is_html {
            if let Some(html) = message.body_html(i) {
                out.push(html_to_text(&html));
            }
        } else if let Some(text) = message.body_text(i) {
            out.push(text.into_owned());
        }
    }
    if out.is_empty() {
        for i in 0..message.html_body_count() {
            if let Some(html) = message.body_html(i) {
                out.push(html_to_text(&html));
            }
        }
    }
    out.join("\n")
}

/// HTML as plain text, links as their text only (a tracking URL is not kept as content).
pub fn html_to_text(html: &str) -> String {
    html2text::config::plain_no_decorate()
        .link_footnotes(false)
        .string_from_read(html.as_bytes(), HTML_WIDTH)
        .unwrap_or_default()
}

/// The sender named in a forwarded-message block in the body, if there is one.
fn inline_forward_sender(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let start = ["forwarded message", "original message", "begin forwarded message"]
        .iter()
        .filter_map(|m| lower.find(m))
        .min()?;
    let after = &text[start..];
    let line = after.lines().take(12).find(|l| l.trim_start().to_lowercase().starts_with("from:"))?;
    let addr = match (line.rfind('<'), line.rfind('>')) {
        (Some(a), Some(b)) if a < b => &line[a + 1..b],
        _ => line.trim_start()[5..].trim(),
    };
    let addr = addr.trim().to_lowercase();
    addr.contains('@').then_some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_message_is_read_with_its_sender_subject_and_id() {
        let raw = b"From: Smoothwall <NoReply@Smoothwall.com>\r\nSubject: Monitor alert\r\nMessage-ID: <a1@x>\r\nDate: Tue, 10 Nov 2026 10:05:00 +0000\r\n\r\nRisk Level: 5\r\n";
        let mail = Mail::parse(raw, &Limits::default()).expect("parses");
        assert_eq!(mail.from.as_deref(), Some("noreply@smoothwall.com"));
        assert_eq!(mail.subject, "Monitor alert");
        assert_eq!(mail.message_id.as_deref(), Some("a1@x"));
        assert!(mail.text.contains("Risk Level: 5"));
        assert_eq!(mail.date.map(|d| d.to_rfc3339()).as_deref(), Some("2026-11-10T10:05:00+00:00"));
    }

    #[test]
    fn limits_refuse_a_large_message_a_huge_header_and_too_many_parts() {
        let tiny = Limits { message_bytes: 10, ..Limits::default() };
        assert!(matches!(Mail::parse(b"From: a@b\r\n\r\nhello there", &tiny), Err(MailError::TooLarge(..))));
        let mut header = b"From: a@b\r\nX-Pad: ".to_vec();
        header.extend(std::iter::repeat_n(b'a', 70_000));
        header.extend_from_slice(b"\r\n\r\nbody");
        assert!(matches!(Mail::parse(&header, &Limits::default()), Err(MailError::HeaderTooLarge(_))));
        let mut many = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n".to_vec();
        for _ in 0..300 {
            many.extend_from_slice(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n");
        }
        many.extend_from_slice(b"--b--\r\n");
        assert!(matches!(Mail::parse(&many, &Limits::default()), Err(MailError::TooManyParts(_))));
    }

    #[test]
    fn html_becomes_text_without_script_or_remote_images() {
        let raw = b"From: a@b\r\nContent-Type: text/html\r\n\r\n<html><script>alert(1)</script><p>Risk <b>Level</b>: 4</p><img src=\"https://track.example/p.gif\"></html>";
        let mail = Mail::parse(raw, &Limits::default()).expect("parses");
        assert!(mail.text.contains("Risk Level: 4"), "{}", mail.text);
        assert!(!mail.text.contains("alert(1)") && !mail.text.contains("track.example"), "{}", mail.text);
    }

    #[test]
    fn a_forward_names_the_original_sender() {
        let raw = b"From: DSL <dsl@college.example>\r\nSubject: Fwd: alert\r\n\r\n---------- Forwarded message ---------\r\nFrom: Smoothwall <noreply@smoothwall.com>\r\nDate: ...\r\n\r\nRisk Level: 3\r\n";
        let mail = Mail::parse(raw, &Limits::default()).expect("parses");
        assert_eq!(mail.alert_sender(), Some("noreply@smoothwall.com"));
    }
}
