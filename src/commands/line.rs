//! The grammar of a decision and of the queue filter, shared by `vigil case ID ...`, `vigil list` and the
//! TUI's `:` line (which adds a few words of its own: `quit`, `retry`, `dashboard`...). One clap definition,
//! so what a reviewer types means the same wherever they type it.

use chrono::NaiveDate;
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::app::filter::Filter;
use crate::domain::Level;
use crate::domain::case::CaseCommand;
use crate::domain::values;
use crate::service::ChecklistItem;

/// A decision on a case. ITEM is an item id or its number in the case's checklist. Arguments named TEXT
/// are free text: on the `:` line they are taken as typed (see [`FREE_TEXT`]).
#[derive(Debug, Clone, Subcommand)]
pub enum CaseAction {
    /// Mark a checklist item done.
    Tick {
        item: String,
        /// The item's value: a choice (its words or its number), a CPOMS or police reference, a time
        /// (HH:MM), a name, a date (YYYY-MM-DD or DD/MM/YYYY).
        #[arg(long, value_name = FREE_TEXT)]
        value: Option<String>,
        #[arg(long, value_name = FREE_TEXT)]
        note: Option<String>,
    },
    /// Mark a done item as not done (needs a reason).
    Untick {
        item: String,
        #[arg(long, value_name = FREE_TEXT)]
        reason: String,
    },
    /// Change the level (needs a reason); the new level's items come in, done ones stay.
    Regrade {
        level: Level,
        #[arg(long, value_name = FREE_TEXT)]
        reason: String,
    },
    /// Put the case on the illegal-content path (needs a reason).
    Illegal {
        #[arg(long, value_name = FREE_TEXT)]
        reason: String,
    },
    /// Add a note to the case's record.
    Note {
        #[arg(required = true, num_args = 1.., value_name = FREE_TEXT)]
        text: Vec<String>,
    },
    /// Set a follow-up date (YYYY-MM-DD or DD/MM/YYYY): the case rises to the top of its level on that day.
    FollowUp {
        #[arg(value_parser = values::date)]
        date: NaiveDate,
    },
    /// Close the case with an outcome (every required item must be done).
    Close {
        #[arg(long)]
        outcome: String,
    },
    /// Reopen a closed case (needs a reason).
    Reopen {
        #[arg(long, value_name = FREE_TEXT)]
        reason: String,
    },
    /// Take the case: it is yours, and the queue says so to everyone.
    Take,
    /// Hand the case to another reviewer (a user whose role may see it).
    Assign { user: String },
    /// Give the case up: nobody has it.
    Release,
    /// Share the case with an officer of the wider safeguarding team (needs a reason: the concern identified).
    Share {
        user: String,
        #[arg(long, value_name = FREE_TEXT)]
        reason: String,
    },
    /// Stop sharing the case with an officer (needs a reason).
    Unshare {
        user: String,
        #[arg(long, value_name = FREE_TEXT)]
        reason: String,
    },
    /// Link the case to another (the same incident seen from two students, a phoned-in alert and the
    /// vendor's record of it): both cases show the link. OTHER is its id, or SOURCE:ID.
    Link { other: String },
    /// Remove the link between the case and another (needs a reason): from both cases.
    Unlink {
        other: String,
        #[arg(long, value_name = FREE_TEXT)]
        reason: String,
    },
    /// Confirm that OTHER (ID or SOURCE:ID) is the vendor's record of this phoned-in alert, or the
    /// phoned-in alert this vendor's record is of: the two become one case, the phoned-in one.
    LinkVendor { other: String },
    /// Say that OTHER is not that alert (needs a reason): it is not proposed again.
    DeclineVendor {
        other: String,
        #[arg(long, value_name = FREE_TEXT)]
        reason: String,
    },
}

impl CaseAction {
    /// The free text given to this action (a note, a reason, an item's value and note): what `vigil case`
    /// replaces with standard input when it is `-`. A note's text counts when it is one word only.
    pub fn text_mut(&mut self) -> Vec<&mut String> {
        match self {
            CaseAction::Tick { value, note, .. } => value.iter_mut().chain(note.iter_mut()).collect(),
            CaseAction::Untick { reason, .. }
            | CaseAction::Regrade { reason, .. }
            | CaseAction::Illegal { reason }
            | CaseAction::Reopen { reason }
            | CaseAction::Share { reason, .. }
            | CaseAction::Unshare { reason, .. }
            | CaseAction::Unlink { reason, .. } => vec![reason],
            CaseAction::DeclineVendor { reason, .. } => vec![reason],
            CaseAction::Note { text } if text.len() == 1 => text.iter_mut().collect(),
            CaseAction::Note { .. }
            | CaseAction::FollowUp { .. }
            | CaseAction::Close { .. }
            | CaseAction::Take
            | CaseAction::Assign { .. }
            | CaseAction::Release
            | CaseAction::Link { .. } => Vec::new(),
            CaseAction::LinkVendor { .. } => Vec::new(),
        }
    }

    /// Turns the parsed words into a command, resolving an item number against the checklist shown and
    /// another case's `ID` or `SOURCE:ID` with `find` (the service's, which knows what the reader may see).
    pub fn resolve(
        self,
        checklist: &[ChecklistItem],
        find: &dyn Fn(&str) -> Result<crate::domain::AlertKey, String>,
    ) -> Result<CaseCommand, String> {
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
            CaseAction::Take => CaseCommand::Take,
            CaseAction::Assign { user } => CaseCommand::Assign { to: user },
            CaseAction::Release => CaseCommand::Release,
            CaseAction::Share { user, reason } => CaseCommand::Share { with: user, reason },
            CaseAction::Unshare { user, reason } => CaseCommand::Unshare { with: user, reason },
            CaseAction::Link { other } => CaseCommand::Link { other: find(&other)? },
            CaseAction::Unlink { other, reason } => CaseCommand::Unlink { other: find(&other)?, reason },
            CaseAction::LinkVendor { other } => CaseCommand::AttachVendor { other: case_spec(&other) },
            CaseAction::DeclineVendor { other, reason } => {
                CaseCommand::DeclineVendor { other: case_spec(&other), reason }
            }
        })
    }
}

/// A case as typed: `SOURCE:ID`, or a bare `ID` (an empty source) that the service resolves as `vigil show`
/// does.
fn case_spec(typed: &str) -> crate::domain::AlertKey {
    let typed = typed.trim();
    match typed.split_once(':') {
        Some((source, id)) => crate::domain::AlertKey::new(source, id),
        None => crate::domain::AlertKey::new("", typed),
    }
}

/// The queue filter, shared by `vigil list` and the TUI's `:filter`.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Words that must all appear in the subject, category or summary.
    #[arg(value_name = FREE_TEXT)]
    pub text: Vec<String>,
    #[arg(long)]
    pub level: Option<Level>,
    /// new, open, in-progress, closed or withdrawn.
    #[arg(long, value_parser = ["new", "open", "in-progress", "closed", "withdrawn"])]
    pub status: Option<String>,
    #[arg(long)]
    pub overdue: bool,
    /// Only alerts raised out of working hours.
    #[arg(long)]
    pub ooh: bool,
    /// Only your cases: the ones you have, and the ones nobody has that you acted on.
    #[arg(long)]
    pub mine: bool,
    /// Only cases nobody has.
    #[arg(long)]
    pub unassigned: bool,
    /// Include closed and withdrawn cases.
    #[arg(long)]
    pub all: bool,
}

impl FilterArgs {
    pub fn to_filter(&self) -> Filter {
        Filter {
            text: self.text.join(" "),
            level: self.level,
            status: self.status.clone(),
            overdue: self.overdue,
            out_of_hours: self.ooh,
            mine: self.mine,
            unassigned: self.unassigned,
            closed: self.all,
            school: None,
        }
    }
}

#[derive(Debug, Parser)]
#[command(name = "", no_binary_name = true, disable_help_flag = true, disable_version_flag = true)]
struct CaseLine {
    #[command(subcommand)]
    action: LineAction,
}

#[derive(Debug, Subcommand)]
enum LineAction {
    #[command(flatten)]
    Case(CaseAction),
    /// Filter the queue (no arguments: clear the filter).
    Filter(FilterArgs),
}

/// What a `:` line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineCommand {
    Case(CaseCommand),
    /// Link the open case to another (`reason: None`), or unlink them: `other` is found by the service
    /// before the decision is made.
    Link {
        other: String,
        reason: Option<String>,
    },
    /// The open case's student's history.
    History,
    Filter(Filter),
    Dashboard,
    /// List the alerts the feed sent that failed validation.
    Rejected,
    /// What happened while the reviewer was away.
    Handover,
    Quit,
    Help,
    Retry,
}

/// The words the `:` line knows first.
pub const LINE_COMMANDS: &[&str] = &[
    "tick",
    "untick",
    "regrade",
    "illegal",
    "note",
    "follow-up",
    "close",
    "reopen",
    "take",
    "assign",
    "release",
    "share",
    "unshare",
    "link",
    "unlink",
    "history",
    "link-vendor",
    "decline-vendor",
    "filter",
    "dashboard",
    "rejected",
    "handover",
    "retry",
    "help",
    "quit",
];

/// Completes the last word of a `:` line: command names, item ids, levels, outcome ids and flags. Returns
/// the new line and the candidates (more than one when the word is ambiguous).
pub fn complete_line(
    line: &str,
    checklist: &[ChecklistItem],
    outcomes: &[&str],
    users: &[&str],
) -> (String, Vec<String>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let typing_new = line.ends_with(' ') || line.is_empty();
    let current = if typing_new { "" } else { words.last().copied().unwrap_or("") };
    let before: Vec<&str> = if typing_new { words.clone() } else { words[..words.len().saturating_sub(1)].to_vec() };
    let items: Vec<&str> = checklist.iter().map(|i| i.id.as_str()).collect();
    let candidates: Vec<&str> = match (before.first().copied(), before.last().copied()) {
        (None, _) => LINE_COMMANDS.to_vec(),
        (_, Some("--outcome")) => outcomes.to_vec(),
        (_, Some("--level")) | (Some("regrade"), Some("regrade")) => vec!["low", "medium", "high"],
        (_, Some("--status")) => vec!["new", "open", "in-progress", "closed", "withdrawn"],
        (Some("tick" | "untick"), Some("tick" | "untick")) => items,
        (Some("assign" | "share" | "unshare"), Some("assign" | "share" | "unshare")) => users.to_vec(),
        (Some("share" | "unshare"), _) => vec!["--reason"],
        (Some("close"), _) => vec!["--outcome"],
        (Some("tick"), _) => vec!["--value", "--note"],
        (Some("untick" | "regrade" | "reopen" | "illegal" | "unlink"), _) => vec!["--reason"],
        (Some("filter"), _) => vec!["--level", "--status", "--overdue", "--ooh", "--mine", "--unassigned", "--all"],
        _ => vec![],
    };
    let matching: Vec<String> = candidates.iter().filter(|c| c.starts_with(current)).map(|c| c.to_string()).collect();
    let completed = match matching.as_slice() {
        [only] => {
            let mut parts: Vec<&str> = before.clone();
            parts.push(only);
            format!("{} ", parts.join(" "))
        }
        _ => {
            // Extend to the longest common prefix.
            let prefix = matching.iter().skip(1).fold(matching.first().cloned().unwrap_or_default(), |acc, m| {
                acc.chars().zip(m.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect()
            });
            if prefix.len() > current.len() {
                let mut parts: Vec<&str> = before.clone();
                parts.push(&prefix);
                parts.join(" ")
            } else {
                line.to_string()
            }
        }
    };
    (completed, matching)
}

/// The value name that marks an argument as free text (a note, a reason, an item's value, filter words).
/// On the `:` line free text is taken as typed, apostrophes, quotes, dashes and spacing included, up to the
/// next of its command's own flags or the end of the line; there is no quoting to learn or to get wrong.
pub const FREE_TEXT: &str = "TEXT";

/// Splits a `:` line into the arguments the shared clap grammar reads: plain arguments (an item, a level,
/// an outcome) are single words, free text is one argument as typed. Flags are given as `--flag=value` and
/// come first, positional arguments after `--`, so text that starts with a dash is still text.
fn line_arguments(line: &str) -> Vec<String> {
    let words = word_spans(line);
    let Some(&(_, name)) = words.first() else { return Vec::new() };
    let grammar = CaseLine::command();
    let Some(command) = grammar.find_subcommand(name) else {
        // Not a command: clap says so, with its suggestions.
        return words.iter().map(|(_, w)| w.to_string()).collect();
    };
    let flag = |word: &str| {
        let long = word.strip_prefix("--")?.split('=').next()?;
        command.get_arguments().find(|a| a.get_long() == Some(long))
    };
    let is_free = |arg: &clap::Arg| arg.get_value_names().is_some_and(|n| n.iter().any(|n| n == FREE_TEXT));
    // Free text starting at byte `from`, before word `first`: up to the next of the command's flags.
    let text_from = |from: usize, first: usize| {
        let next = (first..words.len()).find(|&j| flag(words[j].1).is_some()).unwrap_or(words.len());
        let end = words.get(next).map_or(line.len(), |w| w.0);
        (line[from.min(end)..end].trim().to_string(), next)
    };
    let positionals: Vec<&clap::Arg> = command.get_positionals().collect();
    let (mut flags, mut plain) = (vec![name.to_string()], Vec::new());
    let mut i = 1;
    while i < words.len() {
        let (start, word) = words[i];
        match flag(word) {
            Some(arg) if arg.get_action().takes_values() => {
                let long = arg.get_long().unwrap_or_default();
                let inline = word.find('=').map(|eq| start + eq + 1);
                let (value, next) = if is_free(arg) {
                    let from = inline.or(words.get(i + 1).map(|w| w.0)).unwrap_or(line.len());
                    text_from(from, i + 1)
                } else if let Some(from) = inline {
                    (line[from..start + word.len()].to_string(), i + 1)
                } else {
                    (words.get(i + 1).map_or("", |w| w.1).to_string(), i + 2)
                };
                // No value: the bare flag, for clap to say that it needs one.
                flags.push(if value.is_empty() { format!("--{long}") } else { format!("--{long}={value}") });
                i = next;
            }
            Some(_) => {
                flags.push(word.to_string());
                i += 1;
            }
            None => match positionals.get(plain.len()) {
                Some(arg) if is_free(arg) => {
                    let (text, next) = text_from(start, i);
                    plain.push(text);
                    i = next;
                }
                _ => {
                    plain.push(word.to_string());
                    i += 1;
                }
            },
        }
    }
    if !plain.is_empty() {
        flags.push("--".into());
        flags.extend(plain);
    }
    flags
}

/// The words of `line` with the byte offset each starts at.
fn word_spans(line: &str) -> Vec<(usize, &str)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices().chain(std::iter::once((line.len(), ' '))) {
        match (start, c.is_whitespace()) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                spans.push((s, &line[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    spans
}

/// Parses the TUI's command line with the same grammar as `vigil case ID ...`.
pub fn parse_line(line: &str, checklist: &[ChecklistItem]) -> Result<LineCommand, String> {
    let words = line_arguments(line);
    match words.first().map(String::as_str) {
        None => Err("empty command".into()),
        Some("q" | "quit") => Ok(LineCommand::Quit),
        Some("help" | "?") => Ok(LineCommand::Help),
        Some("retry") => Ok(LineCommand::Retry),
        Some("dashboard") => Ok(LineCommand::Dashboard),
        Some("rejected") => Ok(LineCommand::Rejected),
        Some("handover") => Ok(LineCommand::Handover),
        Some("history") => Ok(LineCommand::History),
        Some(_) => {
            let parsed = CaseLine::try_parse_from(&words).map_err(|e| first_line(&e.to_string()))?;
            match parsed.action {
                LineAction::Case(CaseAction::Link { other }) => Ok(LineCommand::Link { other, reason: None }),
                LineAction::Case(CaseAction::Unlink { other, reason }) => {
                    Ok(LineCommand::Link { other, reason: Some(reason) })
                }
                // Every other action names no other case.
                LineAction::Case(action) => action
                    .resolve(checklist, &|spec| Err(format!("`{spec}` names another case")))
                    .map(LineCommand::Case),
                LineAction::Filter(args) => Ok(LineCommand::Filter(args.to_filter())),
            }
        }
    }
}

/// Clap's message on one line: what is wrong and what was expected, without the usage block.
fn first_line(s: &str) -> String {
    s.lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.trim_start().starts_with("tip:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_knows_commands_items_levels_and_outcomes() {
        let list = [item("review-alert"), item("review-vendor-risk"), item("high-cpoms")];
        assert_eq!(complete_line("cl", &list, &[], &[]).0, "close ");
        assert_eq!(complete_line("close ", &list, &[], &[]).0, "close --outcome ");
        assert_eq!(
            complete_line("close --outcome f", &list, &["false-positive", "safeguarding-plan"], &[]).0,
            "close --outcome false-positive "
        );
        assert_eq!(complete_line("tick h", &list, &[], &[]).0, "tick high-cpoms ");
        let (line, options) = complete_line("tick rev", &list, &[], &[]);
        assert_eq!(line, "tick review-");
        assert_eq!(options.len(), 2);
        assert_eq!(complete_line("regrade m", &list, &[], &[]).0, "regrade medium ");
        assert_eq!(complete_line("zz", &list, &[], &[]).0, "zz", "nothing to complete leaves the line alone");
        let users = ["deputy1", "dsl1", "officer1"];
        assert_eq!(complete_line("assign dep", &list, &[], &users).0, "assign deputy1 ");
        assert_eq!(complete_line("share o", &list, &[], &users).0, "share officer1 ");
        assert_eq!(complete_line("share officer1 ", &list, &[], &users).0, "share officer1 --reason ");
    }

    fn item(id: &str) -> ChecklistItem {
        ChecklistItem {
            section: "s".into(),
            id: id.into(),
            text: "t".into(),
            required: true,
            kind: crate::domain::checklist::ItemKind::Tick,
            choices: vec![],
            condition: None,
            help: None,
            done: false,
            value: None,
            note: None,
            done_at: None,
            done_by: None,
        }
    }

    #[test]
    fn free_text_on_the_line_is_taken_as_typed() {
        let list = [item("review-alert"), item("cpoms-logged")];
        let case = |c| Ok(LineCommand::Case(c));
        assert_eq!(parse_line("note it's fine", &list), case(CaseCommand::Note { text: "it's fine".into() }));
        assert_eq!(
            parse_line("note  -  said \"I'm leaving\";  --see the log", &list),
            case(CaseCommand::Note { text: "-  said \"I'm leaving\";  --see the log".into() })
        );
        assert_eq!(
            parse_line("regrade high --reason two words", &list),
            case(CaseCommand::Regrade { level: Level::High, reason: "two words".into() })
        );
        assert_eq!(
            parse_line("untick 1 --reason=wrong item -- see --note", &list),
            case(CaseCommand::Untick { item: "review-alert".into(), reason: "wrong item -- see --note".into() })
        );
        assert_eq!(
            parse_line("tick 2 --value PC O'Neill --note rang home, it's   done", &list),
            case(CaseCommand::Tick {
                item: "cpoms-logged".into(),
                value: Some("PC O'Neill".into()),
                note: Some("rang home, it's   done".into())
            })
        );
        assert_eq!(
            parse_line("filter o'brien --level high", &list),
            Ok(LineCommand::Filter(Filter { text: "o'brien".into(), level: Some(Level::High), ..Filter::default() }))
        );
        assert!(parse_line("untick 1 --reason", &list).unwrap_err().contains("--reason"));
        assert!(
            parse_line("regrade high --reason two --outcome x", &list).is_ok_and(|c| c
                == LineCommand::Case(CaseCommand::Regrade { level: Level::High, reason: "two --outcome x".into() }))
        );
    }

    #[test]
    fn the_line_and_the_cli_share_one_grammar() {
        let list = [item("review-alert"), item("cpoms-logged")];
        assert_eq!(
            parse_line("tick 2 --note rang home", &list),
            Ok(LineCommand::Case(CaseCommand::Tick {
                item: "cpoms-logged".into(),
                value: None,
                note: Some("rang home".into())
            }))
        );
        assert_eq!(
            parse_line("regrade high --reason named a date", &list),
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
        assert_eq!(
            parse_line("filter knife --level high --overdue", &list),
            Ok(LineCommand::Filter(Filter {
                text: "knife".into(),
                level: Some(Level::High),
                overdue: true,
                ..Filter::default()
            }))
        );
        assert_eq!(parse_line("filter", &list), Ok(LineCommand::Filter(Filter::default())));
        use crate::cli::{Cli, Commands};
        let cli = Cli::try_parse_from(["vigil", "case", "A1", "tick", "2", "--note", "rang home"]).expect("parses");
        match cli.command {
            Some(Commands::Case { action, .. }) => assert_eq!(
                action.resolve(&list, &|_| Err("no other case".into())),
                Ok(CaseCommand::Tick { item: "cpoms-logged".into(), value: None, note: Some("rang home".into()) })
            ),
            other => panic!("{other:?}"),
        }
    }
}
