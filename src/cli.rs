//! The command line's grammar: flags and subcommands. The case actions and the queue filter are the `:`
//! line's grammar too ([`crate::commands::line`]), so the two can never drift apart.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

pub use crate::commands::line::{CaseAction, FilterArgs};
use crate::domain::values;

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
    /// The shared service's socket: with it, vigil is a client of `vigil serve` and never opens the store
    /// (default: `[service] socket` in the config; none means vigil opens its own store).
    #[arg(long, global = true, env = "VIGIL_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Run on the embedded demo feed, with a store of its own (never your real one).
    #[arg(long, global = true)]
    pub demo: bool,
    /// On the trust's config (`[storage] schools`): the school whose cases to read. `vigil list` and
    /// `vigil report` without it cover every school.
    #[arg(long, global = true, value_name = "NAME")]
    pub school: Option<String>,
    /// ASCII only: no box drawing or symbols.
    #[arg(long, global = true)]
    pub no_unicode: bool,
    /// Colour theme: dark, light, high-contrast, colour-blind or mono. NO_COLOR always means mono.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<crate::ui::theme::ThemeName>,
    /// Let the mouse select rows and scroll (off by default, so the terminal's own selection works).
    #[arg(long, global = true)]
    pub mouse: bool,
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
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// One case: the alert, its checklist and its timeline.
    Show {
        /// The alert id, or SOURCE:ID when the id is ambiguous.
        id: String,
        #[arg(long)]
        json: bool,
        /// Print the CPOMS-ready entry and, separately, the content-free student-tracking note.
        #[arg(long, conflicts_with = "json")]
        cpoms: bool,
        /// Print the raw e-mail the alert was read from, as received (audited; made inert for the terminal).
        #[arg(long, conflicts_with_all = ["json", "cpoms"])]
        raw: bool,
    },
    /// A student's history: every case for the subject, oldest first, with level, category, outcome and
    /// who handled it (only the cases you may see).
    Subject {
        /// The subject's id, as the feed gives it.
        id: String,
        /// Only this source's alerts (a subject id is the feed's: two sources may use the same one).
        #[arg(long)]
        source: Option<String>,
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
    /// What happened while you were away: new alerts, every decision by person, what is open, follow-ups due
    /// by the next working day and handover notes (the view is recorded).
    Handover(HandoverArgs),
    /// Alerts that came another way than the feed.
    Alert {
        #[command(subcommand)]
        action: AlertAction,
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
    /// Anonymised figures for governors and the annual review (reporters may run this).
    Report(ReportArgs),
    /// The audit trail: every view, action and export, hash-chained.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Run the shared service in the foreground (for systemd): it owns the store and the feed, and serves
    /// every other vigil over its Unix socket (`[service] socket`, default /run/vigil/vigil.sock).
    Serve,
    /// The shared service, from a client.
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// The vendors' alert e-mails: import them from files, or see what the rules read of one.
    Mail {
        #[command(subcommand)]
        action: MailAction,
    },
    /// Maintenance of the store itself.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
}

/// `vigil handover`: the handover, or a note or an acknowledgement.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HandoverArgs {
    /// From TIME (YYYY-MM-DD or DD/MM/YYYY, with HH:MM or not, in the college's time zone; or RFC 3339).
    /// Default: the end of the handover you last acknowledged, else the last 24 hours.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<HandoverAction>,
}

#[derive(Debug, Subcommand)]
pub enum HandoverAction {
    /// Leave a note for the next person on duty (the DSL and the deputy); `-` reads it from standard input.
    Note {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Acknowledge the handover up to now: your next one starts from here (recorded).
    Ack,
}

#[derive(Debug, Subcommand)]
pub enum AlertAction {
    /// Record an alert taken by phone or in person (the DSL and the deputy): it becomes a case like a feed
    /// alert, with its level's checklist, due from the time received. Any one TEXT may be `-`: read from
    /// standard input, so it is not a process argument.
    Add(AddAlertArgs),
}

/// The form of an alert taken by phone or in person: the TUI's `N` form, as flags.
#[derive(Debug, Clone, Args)]
pub struct AddAlertArgs {
    /// When it was received: `YYYY-MM-DD HH:MM` (or DD/MM/YYYY HH:MM), or HH:MM today, college time.
    /// Default: now.
    #[arg(long, value_name = "WHEN")]
    pub received: Option<String>,
    /// How it came: phone, in-person, email or other (default phone).
    #[arg(long, value_name = "HOW", value_parser = crate::domain::Delivery::typed)]
    pub how: Option<crate::domain::Delivery>,
    /// Who called or told you, e.g. "Smoothwall moderator".
    #[arg(long, value_name = "TEXT")]
    pub caller: Option<String>,
    /// The vendor's reference for the alert, if they gave one.
    #[arg(long, value_name = "TEXT")]
    pub vendor_ref: Option<String>,
    /// Who it is about: student, staff or unknown (default student).
    #[arg(long, value_name = "KIND", value_parser = crate::domain::SubjectKind::typed)]
    pub subject: Option<crate::domain::SubjectKind>,
    /// Whichever the caller gave of: the network username...
    #[arg(long, value_name = "TEXT")]
    pub username: Option<String>,
    /// ...the college ID number...
    #[arg(long, value_name = "TEXT")]
    pub college_id: Option<String>,
    /// ...the name...
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    /// ...and the group (year, course or tutor group).
    #[arg(long, value_name = "TEXT")]
    pub group: Option<String>,
    /// The category: one of the known list (self-harm, suicide, grooming...) or free text (default general-risk).
    #[arg(long, value_name = "TEXT")]
    pub category: Option<String>,
    /// The level you judge: low, medium or high (required).
    #[arg(long)]
    pub level: Option<crate::domain::Level>,
    /// What the caller said happened (required).
    #[arg(long, value_name = "TEXT")]
    pub summary: Option<String>,
    /// Anything more they said.
    #[arg(long, value_name = "TEXT")]
    pub context: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum MailAction {
    /// Read `.eml` files, mboxes or maildirs and store the alerts in them (the DSL and deputy). Each message is
    /// stored once, however often it is imported; mail not from a monitoring sender is counted and left.
    Import {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Read the mailbox `[mail]` names over IMAP once and store what is new (the DSL and deputy): through
    /// the shared service when vigil is its client (the service reads it with its own credentials).
    Poll {
        /// Poll once and exit (the service polls on its own schedule; cron can run this without one).
        #[arg(long)]
        once: bool,
    },
    /// Show what the rules read from one message, field by field, without storing anything.
    Test {
        #[arg(value_name = "FILE.eml")]
        file: PathBuf,
    },
    /// Fetch an OAuth2 token with `[mail.oauth]` (Microsoft 365 or Google) and say whether it worked, or what
    /// to fix; the token is never shown. Opens no store and needs no role.
    TokenCheck,
}

#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// The service's version, uptime, who is connected, the feed's health and the store's figures.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Rewrite the store into a fresh file: smaller, and faster to write to (for cron, weekly or monthly).
    /// Nothing is decrypted; an interrupted compaction is finished or undone at the next start.
    Compact,
    /// Bring the PostgreSQL store's schema up to this vigil's (`[storage] backend = "postgres"`): run it as
    /// the database role that owns vigil's tables. A database a newer vigil migrated is refused, untouched.
    Migrate,
    /// Copy the whole store into the other backend, then verify the copy (the DSL only): `--to postgres`
    /// copies the sled store in the data dir into the school `[storage]` names (which must hold nothing
    /// yet); `--to sled --into DIR` copies that school into a new sled store in DIR. Stop the service first.
    Copy {
        /// Where to copy to.
        #[arg(long, value_enum)]
        to: CopyTo,
        /// With `--to sled`: the new data dir to copy into (it must not exist, or be empty).
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
    },
}

/// `vigil store copy --to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CopyTo {
    /// The school `[storage]` names, in its PostgreSQL database.
    Postgres,
    /// A new sled store (`--into DIR`).
    Sled,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the keyed chain and that it agrees with every case's event log; names the first broken record
    /// or disagreement and exits non-zero if there is one. Prints the head (N:HASH) to keep elsewhere.
    Verify {
        /// A head kept elsewhere (`N:HASH`, as printed): the trail must still hold that very record.
        #[arg(long, value_name = "HEAD")]
        expect: Option<crate::audit::HeadMark>,
    },
    /// Print the trail's head (N:HASH) once the chain verifies, for keeping somewhere the data dir is not.
    Head,
    /// Key the chain of a store written by an earlier vigil, from a new record on (the DSL only; recorded).
    Upgrade,
    /// List the records, oldest first (the DSL only); with ID, only those about that case.
    Show {
        /// The alert id, or SOURCE:ID (purged cases too).
        id: Option<String>,
    },
}

/// `vigil report`: no names, IDs, groups or alert text; small counts shown as "fewer than N".
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// First day of the period (YYYY-MM-DD or DD/MM/YYYY, local). Default: 29 days before --to.
    #[arg(long, value_name = "DATE", value_parser = values::date)]
    pub from: Option<NaiveDate>,
    /// Last day of the period, inclusive (YYYY-MM-DD or DD/MM/YYYY, local). Default: today.
    #[arg(long, value_name = "DATE", value_parser = values::date)]
    pub to: Option<NaiveDate>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: crate::report::Format,
    /// Write the report to FILE (readable by you only) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Add counts of alerts about staff (the DSL only; on the trust's config, the trust's lead if
    /// `[roles] staff_alerts` names them).
    #[arg(long)]
    pub include_staff: bool,
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
    /// Cursor, last success, last error, the next attempt, and a page the feed keeps sending that vigil
    /// cannot read.
    Status,
    /// Read the feed from its start, or from CURSOR, from the next sync on (the DSL only; audited). For a
    /// feed that has been repaired; alerts already stored are not stored twice.
    ResetCursor {
        #[arg(long, value_name = "CURSOR")]
        to: Option<String>,
    },
    /// Move past the page the feed keeps sending that vigil cannot read (the DSL only; audited; the raw page
    /// is kept), to the page's own cursor or to CURSOR.
    SkipPage {
        #[arg(long, value_name = "CURSOR")]
        to: Option<String>,
    },
}
