//! `vigil handover`: what happened while you were away, a note for the next person, and the acknowledgement.

use std::io::Write;

use anyhow::Result;
use chrono::Utc;

use super::context::{Context_, open_service};
use super::output::write_json;
use super::{dash_from_stdin, exit, exit_err, service_err};
use crate::cli::{HandoverAction, HandoverArgs};

pub(super) fn handover(ctx: Context_, args: HandoverArgs) -> Result<()> {
    match args.action {
        Some(HandoverAction::Note { mut text }) => {
            // Read before the store is opened: it is not held while someone types.
            if let [only] = text.as_mut_slice() {
                dash_from_stdin(vec![only])?;
            }
            let text = text.join(" ");
            let service = open_service(&ctx)?;
            service.handover_note(&text, Utc::now()).map_err(service_err)?;
            writeln!(std::io::stdout(), "recorded: a handover note for the next person on duty")?;
        }
        Some(HandoverAction::Ack) => {
            let service = open_service(&ctx)?;
            let ack = service.acknowledge_handover(None, None, Utc::now()).map_err(service_err)?;
            let tz = service.calendar().time_zone();
            let until = ack.until.with_timezone(&tz).format("%a %d/%m %H:%M");
            writeln!(std::io::stdout(), "recorded: you acknowledged the handover up to {until}")?;
        }
        None => {
            let service = open_service(&ctx)?;
            let tz = service.calendar().time_zone();
            let since = match args.since.as_deref() {
                Some(typed) => Some(crate::domain::values::moment(typed, tz).map_err(|e| exit_err(exit::USAGE, e))?),
                None => None,
            };
            let now = Utc::now();
            let h = service.handover(since, now).map_err(service_err)?;
            let mut out = std::io::stdout().lock();
            if args.json {
                service.audit(None, "exported the handover as JSON", now).map_err(service_err)?;
                write_json(&mut out, &h)?;
            } else {
                for line in crate::ui::handover_lines(&h, tz) {
                    writeln!(out, "{line}")?;
                }
                writeln!(out)?;
                writeln!(out, "Acknowledge it with `vigil handover ack`: your next handover starts from then.")?;
            }
        }
    }
    Ok(())
}
