//! `vigil config check`: what vigil read, for anyone who can read the config.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::context::Settings;
use super::{exit, exit_err};
use crate::identity::Role;

/// `vigil config check`: for anyone who can read the config, role or none (the IT technician checks it
/// before adding anyone). It opens no store, so it shows no alert content.
pub fn config_check(ctx: Settings) -> Result<()> {
    let mut shown = ctx.config.clone();
    if shown.feed.token_file.is_some() {
        shown.feed.token_file =
            shown.feed.token_file.map(|p| PathBuf::from(format!("{} (contents redacted)", p.display())));
    }
    let token = ctx.config.feed_token().map_err(|e| exit_err(exit::USAGE, e.to_string()))?;
    ctx.config.keymap().map_err(|e| exit_err(exit::USAGE, format!("keymap problems:\n{e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# config file: {}",
        ctx.config_path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "none (defaults)".into())
    )?;
    writeln!(out, "# data dir: {}", ctx.data_dir.display())?;
    writeln!(
        out,
        "# feed url: {}",
        ctx.global.feed_url.clone().or(ctx.config.feed.url.clone()).unwrap_or_else(|| "not set".into())
    )?;
    writeln!(out, "# feed token: {}", if token.is_some() { "set (redacted)" } else { "not set" })?;
    match ctx.viewer() {
        Some(v) => writeln!(
            out,
            "# you: {} ({}{})",
            v.user,
            v.role.as_str(),
            if v.sees_staff && v.role != Role::Dsl { ", staff alerts too" } else { "" }
        )?,
        None => writeln!(out, "# you: {} (no role: vigil refuses you until you are added under [roles])", ctx.user)?,
    }
    let warnings = ctx.config.staff_alerts_without_role();
    for user in &warnings {
        writeln!(
            out,
            "# warning: [roles] staff_alerts names `{user}`, who has no reviewing role: staff_alerts lets a dsl, \
             ddsl or officer also see staff alerts and is not a role itself (staff alerts go to the DSL)"
        )?;
    }
    write!(out, "{}", toml::to_string_pretty(&shown).context("cannot print the config")?)?;
    match warnings.len() {
        0 => writeln!(out, "# config OK")?,
        n => writeln!(out, "# config OK, with {n} warning{}", if n == 1 { "" } else { "s" })?,
    }
    Ok(())
}
