//! The feed's state as the user reads it: when it is stuck on a page vigil cannot read, and the lines
//! `vigil feed status` shows about what comes next. (The service keeps that state and does the DSL's
//! repairs: [`crate::service::feed`].)

use chrono::{DateTime, Utc};

use crate::service::api::FeedState;

/// When the feed has sent the same unreadable page `alarm` times or more: since when.
pub fn stuck_since(state: &FeedState, alarm: u32) -> Option<DateTime<Utc>> {
    state.unreadable.as_ref().filter(|u| u.count >= alarm).map(|u| u.first_at)
}

/// What the status bar and `vigil feed status` say about a feed stuck on one page.
pub fn stuck_message(since: DateTime<Utc>, tz: &chrono_tz::Tz) -> String {
    format!(
        "the feed keeps sending a page vigil cannot read since {}; the DSL can skip it with `vigil feed skip-page`",
        since.with_timezone(tz).format("%H:%M")
    )
}

/// The lines `vigil feed status` adds about what comes next: the next attempt, why a sync rested, and a
/// page the feed keeps sending that vigil cannot read.
pub fn status_lines(state: &FeedState, now: DateTime<Utc>, alarm: u32, tz: &chrono_tz::Tz) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(match state.next_attempt {
        Some(t) if t > now => format!("next attempt: {} (scheduled by the vigil that last polled)", t.to_rfc3339()),
        Some(t) => format!("next attempt: {} (passed: no vigil is polling the feed now)", t.to_rfc3339()),
        None => "next attempt: none scheduled (the last attempt was `vigil sync --once`, or polling stopped)".into(),
    });
    if let Some(note) = &state.rested {
        lines.push(format!("last sync: {note}"));
    }
    if let Some(u) = &state.unreadable {
        match stuck_since(state, alarm) {
            Some(since) => lines.push(stuck_message(since, tz)),
            None => {
                lines.push(format!("unreadable page: received {} time(s) since {}", u.count, u.first_at.to_rfc3339()))
            }
        }
        lines.push(format!(
            "  {} bytes, sha256 {}{}; the page's own cursor: {}",
            u.bytes,
            u.sha256,
            if u.kept { ", kept for the DSL" } else { "" },
            if u.cursor_after.is_some() { "readable" } else { "unreadable (skip with --to CURSOR)" }
        ));
    }
    lines
}
