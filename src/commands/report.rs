//! `vigil report`: the one command a `reporter` may run, from the service's content-free report data.

use std::io::Write;

use anyhow::{Context, Result, bail};
use chrono::Utc;

use super::context::{Context_, open_service};
use super::{exit, exit_err};

/// `vigil report`: the one command a `reporter` may run. An audited export: the log line names the format
/// and period, never a figure.
pub(super) fn report(ctx: Context_, args: crate::cli::ReportArgs) -> Result<()> {
    if let Some(schools) = ctx.config.storage.trust_schools() {
        return trust_report(&ctx, &args, schools);
    }
    let service = open_service(&ctx)?;
    let now = Utc::now();
    let today = now.with_timezone(&service.calendar().time_zone()).date_naive();
    let period = crate::report::Period::resolve(args.from, args.to, today).map_err(|e| exit_err(exit::USAGE, e))?;
    let data = service.report_data(args.include_staff).map_err(refused_staff)?;
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

fn refused_staff(e: crate::service::ServiceError) -> anyhow::Error {
    match e {
        crate::service::ServiceError::Forbidden(role) => exit_err(
            exit::NO_ROLE,
            format!(
                "only the DSL (or a trust's lead [roles] staff_alerts names) may add staff alerts to a report (your role: {role})"
            ),
        ),
        other => anyhow::Error::new(other),
    }
}

/// The trust's report: each school's content-free report data, read from its rows of the database as the
/// trust's lead, counted together (or one school's, `--school`); small numbers are suppressed in the counts
/// as published, so a cell small in each school may show across the trust. Each school's audit trail records
/// the export.
fn trust_report(
    ctx: &Context_,
    args: &crate::cli::ReportArgs,
    schools: Vec<crate::store::postgres::PgSettings>,
) -> Result<()> {
    let sessions = super::context::trust_sessions(ctx, schools)?;
    let now = Utc::now();
    let today = now.with_timezone(&ctx.config.calendar().time_zone()).date_naive();
    let period = crate::report::Period::resolve(args.from, args.to, today).map_err(|e| exit_err(exit::USAGE, e))?;
    let mut data: Option<crate::service::ReportData> = None;
    for (_, session) in &sessions {
        let school = session.report_data(args.include_staff).map_err(refused_staff)?;
        match data.as_mut() {
            None => data = Some(school),
            Some(all) => all.merge(school),
        }
    }
    let Some(data) = data else { bail!(exit_err(exit::USAGE, "[storage] schools names no school")) };
    let options = crate::report::Options { min_group: ctx.config.report.min_group, now };
    let text = crate::report::render(args.format, &crate::report::compute(&data, period, &options));
    let (format, from, to) = (args.format.as_str(), period.from.to_string(), period.to.to_string());
    let staff = if args.include_staff { ", staff counts included" } else { "" };
    let across = match sessions.len() {
        1 => String::new(),
        n => format!(", with {} other schools", n - 1),
    };
    for (_, session) in &sessions {
        session.audit(None, &format!("exported the trust's report ({format}, {from} to {to}{across}{staff})"), now)?;
    }
    match &args.out {
        Some(path) => crate::report::write_file(path, &text)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    tracing::info!(
        format,
        from,
        to,
        schools = sessions.len(),
        include_staff = args.include_staff,
        "trust report exported"
    );
    Ok(())
}
