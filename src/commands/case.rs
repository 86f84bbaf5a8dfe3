//! `vigil case ID ACTION`: a decision from the command line, judged by the service like a key in the TUI.

use std::io::Write;

use anyhow::Result;
use chrono::Utc;

use super::context::{Context_, open_service};
use super::{dash_from_stdin, exit, exit_err, service_err};
use crate::cli::CaseAction;
use crate::domain::inert;

pub(super) fn case(ctx: Context_, id: &str, mut action: CaseAction) -> Result<()> {
    // Read before the store is opened: it is not held while someone types.
    dash_from_stdin(action.text_mut())?;
    let service = open_service(&ctx)?;
    let now = Utc::now();
    let key = service.find(id).map_err(service_err)?;
    let checklist = service.checklist(&key, now).map_err(service_err)?;
    let find = |spec: &str| service.find(spec).map_err(|e| e.to_string());
    let command = action.resolve(&checklist, &find).map_err(|e| exit_err(exit::FAILURE, e))?;
    // A decision on someone else's case is said, as the TUI asks it: a command line is its own yes.
    let theirs = match service.summary(&key, now).map_err(service_err)? {
        Some(row) if !command.is_team_bookkeeping() && row.owner.as_deref() != Some(service.viewer().user.as_str()) => {
            row.owner_name
        }
        _ => None,
    };
    let events = service.act(&key, &command, now).map_err(service_err)?;
    if let Some(owner) = theirs {
        eprintln!("vigil: note: this case is {}'s; they will see what you recorded", inert::line(&owner));
    }
    writeln!(std::io::stdout(), "recorded: {}", inert::line(&crate::domain::case::describe_decision(&events)))?;
    Ok(())
}
