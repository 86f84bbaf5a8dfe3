//! Command-line grammar. The case actions are one clap definition shared by `vigil case ID ...` and the
//! TUI's `:` line, so the two can never drift apart.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::domain::Level;
use crate::domain::case::CaseCommand;
use crate::service::ChecklistItem;

#[derive(Debug, Parser)]
#[command(name = "vigil", version, about = "Triage safeguarding alerts from monitoring software.", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Commands>,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Config file (TOML). Default: the platform config dir's vigil/config.toml.
    #[arg(long, global = true, env = "VIGIL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where the store lives. Default: the platform data dir.
    #[arg(long, global = true, env = "VIGIL_DATA_DIR", value_name = "PATH")]
    pub data_dir: Option<PathBuf>,
    /// The feed's base URL (protocol v1). The token comes from VIGIL_FEED_TOKEN or the config's token_file.
    #[arg(long, global = true, env = "VIGIL_FEED_URL", value_name = "URL")]
    pub feed_url: Option<String>,
    /// Run on the embedded demo feed, with a store of its own (never your real one).
    #[arg(long, global = true)]
    pub demo: bool,
    /// ASCII only: no box drawing or symbols.
    #[arg(long, global = true)]
    pub no_unicode: bool,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Fetch alerts from the feed into the store.
    Sync {
        /// Fetch until the feed has nothing more, print one summary line and exit.
        #[arg(long)]
        once: bool,
    },
    /// The queue, in triage order.
    List {
        #[arg(long)]
        json: bool,
        /// Include closed and withdrawn cases.
        #[arg(long)]
        all: bool,
    },
    /// One case: the alert, its checklist and its timeline.
    Show {
        /// The alert id, or SOURCE:ID when the id is ambiguous.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Record a decision on a case (the same grammar as the TUI's `:` line).
    Case {
        /// The alert id, or SOURCE:ID.
        id: String,
        #[command(subcommand)]
        action: CaseAction,
    },
    /// Serve the embedded demo data set over protocol v1.
    DemoFeed {
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        /// Release the alerts over time, one every SECONDS after the first 30.
        #[arg(long, value_name = "SECONDS")]
        drip: Option<f64>,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// The feed's state.
    Feed {
        #[command(subcommand)]
        action: FeedAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate the configuration and print the effective settings (the token redacted).
    Check,
}

#[derive(Debug, Subcommand)]
pub enum FeedAction {
    /// Alerts the feed sent that failed validation, with the reason and their raw JSON.
    Rejected {
        #[arg(long)]
        json: bool,
    },
    /// Cursor, last success and last error.
    Status,
}

/// A decision on a case. ITEM is an item id or its number in the case's checklist.
#[derive(Debug, Clone, Subcommand)]
pub enum CaseAction {
    /// Mark a checklist item done.
    Tick {
        item: String,
        /// The item's value: a choice, a CPOMS or police reference, a time, a name, a date.
        #[arg(long)]
        value: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Mark a done item as not done (needs a reason).
    Untick {
        item: String,
        #[arg(long)]
        reason: String,
    },
    /// Change the level (needs a reason); the new level's items come in, done ones stay.
    Regrade {
        level: Level,
        #[arg(long)]
        reason: String,
    },
    /// Put the case on the illegal-content path (needs a reason).
    Illegal {
        #[arg(long)]
        reason: String,
    },
    /// Add a note to the case's record.
    Note {
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Set a follow-up date: the case rises to the top of its level on that day.
    FollowUp { date: NaiveDate },
    /// Close the case with an outcome (every required item must be done).
    Close {
        #[arg(long)]
        outcome: String,
    },
    /// Reopen a closed case (needs a reason).
    Reopen {
        #[arg(long)]
        reason: String,
    },
}

impl CaseAction {
    /// Turns the parsed words into a command, resolving an item number against the checklist shown.
    pub fn resolve(self, checklist: &[ChecklistItem]) -> Result<CaseCommand, String> {
        let item = |spec: String| -> Result<String, String> {
            match spec.parse::<usize>() {
                Ok(n) => checklist
                    .get(n.wrapping_sub(1))
                    .map(|i| i.id.clone())
                    .ok_or_else(|| format!("no checklist item number {n} (1-{})", checklist.len())),
                Err(_) => Ok(spec),
            }
        };
        Ok(match self {
            CaseAction::Tick { item: i, value, note } => CaseCommand::Tick { item: item(i)?, value, note },
            CaseAction::Untick { item: i, reason } => CaseCommand::Untick { item: item(i)?, reason },
            CaseAction::Regrade { level, reason } => CaseCommand::Regrade { level, reason },
            CaseAction::Illegal { reason } => CaseCommand::Illegal { reason },
            CaseAction::Note { text } => CaseCommand::Note { text: text.join(" ") },
            CaseAction::FollowUp { date } => CaseCommand::FollowUp { date },
            CaseAction::Close { outcome } => CaseCommand::Close { outcome },
            CaseAction::Reopen { reason } => CaseCommand::Reopen { reason },
        })
    }
}

#[derive(Debug, Parser)]
#[command(name = "", no_binary_name = true, disable_help_flag = true, disable_version_flag = true)]
struct CaseLine {
    #[command(subcommand)]
    action: CaseAction,
}

/// What a `:` line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineCommand {
    Case(CaseCommand),
    Quit,
    Help,
    Retry,
}

/// Parses the TUI's command line with the same grammar as `vigil case ID ...`.
pub fn parse_line(line: &str, checklist: &[ChecklistItem]) -> Result<LineCommand, String> {
    let words = shlex::split(line.trim()).ok_or_else(|| "unbalanced quotes".to_string())?;
    match words.first().map(String::as_str) {
        None => Err("empty command".into()),
        Some("q" | "quit") => Ok(LineCommand::Quit),
        Some("help" | "?") => Ok(LineCommand::Help),
        Some("retry") => Ok(LineCommand::Retry),
        Some(_) => {
            let parsed = CaseLine::try_parse_from(&words).map_err(|e| first_line(&e.to_string()))?;
            parsed.action.resolve(checklist).map(LineCommand::Case)
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim().trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> ChecklistItem {
        ChecklistItem {
            section: "s".into(),
            id: id.into(),
            text: "t".into(),
            required: true,
            kind: "tick",
            choices: vec![],
            condition: None,
            done: false,
            value: None,
            note: None,
            done_at: None,
            done_by: None,
        }
    }

    #[test]
    fn the_line_and_the_cli_share_one_grammar() {
        let list = [item("review-alert"), item("cpoms-logged")];
        assert_eq!(
            parse_line("tick 2 --note 'rang home'", &list),
            Ok(LineCommand::Case(CaseCommand::Tick {
                item: "cpoms-logged".into(),
                value: None,
                note: Some("rang home".into())
            }))
        );
        assert_eq!(
            parse_line("regrade high --reason \"named a date\"", &list),
            Ok(LineCommand::Case(CaseCommand::Regrade { level: Level::High, reason: "named a date".into() }))
        );
        assert_eq!(
            parse_line("close --outcome false-positive", &list),
            Ok(LineCommand::Case(CaseCommand::Close { outcome: "false-positive".into() }))
        );
        assert_eq!(parse_line("q", &list), Ok(LineCommand::Quit));
        assert!(parse_line("tick 9", &list).unwrap_err().contains("no checklist item number 9"));
        assert!(parse_line("regrade purple --reason x", &list).is_err());
        assert!(parse_line("close", &list).unwrap_err().contains("--outcome"));
        let cli = Cli::try_parse_from(["vigil", "case", "A1", "tick", "2", "--note", "rang home"]).expect("parses");
        match cli.command {
            Some(Commands::Case { action, .. }) => assert_eq!(
                action.resolve(&list),
                Ok(CaseCommand::Tick { item: "cpoms-logged".into(), value: None, note: Some("rang home".into()) })
            ),
            other => panic!("{other:?}"),
        }
    }
}
