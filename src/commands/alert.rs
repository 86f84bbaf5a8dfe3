//! `vigil alert add`: an alert taken by phone or in person, recorded from the command line as the TUI's
//! `N` form records it.

use std::io::Write;

use anyhow::Result;
use chrono::Utc;

use super::context::{Context_, open_service};
use super::{dash_from_stdin, exit, exit_err, service_err};
use crate::cli::AddAlertArgs;
use crate::domain::{inert, values};
use crate::service::intake::ManualAlert;

pub(super) fn add(ctx: Context_, mut args: AddAlertArgs) -> Result<()> {
    // Read before the store is opened: it is not held while someone types.
    let AddAlertArgs { caller, vendor_ref, username, college_id, name, group, category, summary, context, .. } =
        &mut args;
    let texts = [caller, vendor_ref, username, college_id, name, group, category, summary, context];
    dash_from_stdin(texts.into_iter().filter_map(Option::as_mut).collect())?;
    let received = match args.received.as_deref() {
        Some(typed) => Some(values::date_time(typed).map_err(|e| exit_err(exit::USAGE, format!("--received: {e}")))?),
        None => None,
    };
    let form = ManualAlert {
        received,
        how: args.how,
        caller: args.caller,
        vendor_ref: args.vendor_ref,
        kind: args.subject,
        username: args.username,
        college_id: args.college_id,
        name: args.name,
        group: args.group,
        category: args.category,
        level: args.level,
        summary: args.summary.unwrap_or_default(),
        context: args.context,
    };
    // What the form lacks is said before anything is opened: nothing is stored.
    form.check().map_err(|e| exit_err(exit::USAGE, e.to_string()))?;
    let service = open_service(&ctx)?;
    let added = service.add_alert(form, Utc::now()).map_err(service_err)?;
    let path = if added.illegal_path { ", on the illegal-content path" } else { "" };
    writeln!(
        std::io::stdout(),
        "recorded: case {} at {}{path}; its checklist is ready (`vigil show {}`)",
        inert::line(&added.key.to_string()),
        added.level,
        inert::line(&added.key.to_string())
    )?;
    Ok(())
}
