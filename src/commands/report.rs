//! `vigil report`: the one command a `reporter` may run, from the service's content-free report data.

use std::io::Write;

use anyhow::{Context, Result};
use chrono::Utc;

use super::context::{Context_, open_service};
use super::{exit, exit_err};

/// `vigil report`: the one command a `reporter` may run. An audited export: the log line names the format
/// and period, never a figure.
pub(super) fn report(ctx: Context_, args: crate::cli::ReportArgs) -> Result<()> {
    let service = open_service(&ctx)?;
    let now = Utc::now();
    let today = now.with_timezone(&service.calendar().time_zone()).date_naive();
    let period = crate::report::Period::resolve(args.from, args.to, today).map_err(|e| exit_err(exit::USAGE, e))?;
    let data = service.report_data(args.include_staff).map_err(|e| match e {
        crate::service::ServiceError::Forbidden(role) => {
            exit_err(exit::NO_ROLE, format!("only the DSL may add staff alerts to a report (your role: {role})"))
        }
        other => anyhow::Error::new(other),
    })?;
    let options = crate::report::Options { min_group: ctx.config.report.min_group, now };
    let text = crate::report::render(args.format, &crate::report::compute(&data, period, &options));
    let (format, from, to) = (args.format.as_str(), period.from.to_string(), period.to.to_string());
    let staff = if args.include_staff { ", staff counts included" } else { "" };
    service.audit(None, &format!("exported a report ({format}, {from} to {to}{staff})"), now)?;
    match &args.out {
        Some(path) => crate::report::write_file(path, &text)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    tracing::info!(format, from, to, include_staff = args.include_staff, "report exported");
    Ok(())
}
