//! Command-line arguments (clap derive). Every subcommand's `--help` ends with an example.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "idp-sync",
    version,
    about = "Makes an invite-based application follow your identity provider (SCIM, SAML, OIDC).",
    after_help = "Example:\n  idp-sync serve --config config/idp-sync.example.toml"
)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        short,
        global = true,
        env = "IDP_SYNC_CONFIG",
        default_value = "config/idp-sync.toml"
    )]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether this runs the daemon (which routes C libraries' stderr into its log).
    pub fn is_serve(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: HTTP server, config reload on SIGHUP and file change.
    #[command(after_help = "Example:\n  idp-sync serve --config /etc/idp-sync/idp-sync.toml")]
    Serve(ServeArgs),
    /// Validate a config file and print every problem with its key path.
    #[command(after_help = "Example:\n  idp-sync check-config config/idp-sync.example.toml")]
    CheckConfig(CheckConfigArgs),
    /// Bring the database to the latest schema (serve does this at start by default).
    #[command(after_help = "Example:\n  idp-sync migrate --config /etc/idp-sync/idp-sync.toml")]
    Migrate,
    /// Show what a config would do — invitations, role and organization changes,
    /// suspensions, conflicts — without changing anything.
    #[command(
        after_help = "Examples:\n  idp-sync plan --config new.toml\n  idp-sync plan --config new.toml --json"
    )]
    Plan(PlanArgs),
    /// List or show users with their state and effective access.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Read the audit log, newest first.
    #[command(
        after_help = "Examples:\n  idp-sync audit --since 24h\n  idp-sync audit --user 6f1c…-… --limit 20 --json"
    )]
    Audit(AuditArgs),
    /// Removals that wait: held as a mass removal, or within `removal.grace`; and config
    /// reloads held as mass removals. List, approve or reject them.
    #[command(subcommand)]
    Removals(RemovalsCommand),
    /// Everyone's invitations: list, resend (a fresh link to the same address), revoke.
    #[command(subcommand)]
    Invitations(InvitationsCommand),
    /// Deliveries of events to email, webhooks and connectors: list by state, retry dead ones.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
}

#[derive(Debug, Subcommand)]
pub enum RemovalsCommand {
    /// List pending removals and held config reloads.
    #[command(
        after_help = "Examples:\n  idp-sync removals list\n  idp-sync removals list --status rejected --json"
    )]
    List(RemovalsListArgs),
    /// Apply removals (each re-checked under today's config and data) and/or a held reload.
    #[command(
        after_help = "Examples:\n  idp-sync removals approve --reload\n  idp-sync removals approve --all\n  idp-sync removals approve 3f2c…-… 9a41…-…"
    )]
    Approve(RemovalsDecideArgs),
    /// Keep the users' access (and/or keep the running config instead of a held reload).
    #[command(
        after_help = "Examples:\n  idp-sync removals reject --all\n  idp-sync removals reject --reload"
    )]
    Reject(RemovalsDecideArgs),
}

#[derive(Debug, Args)]
pub struct RemovalsListArgs {
    /// pending (default), approved, rejected, obsolete, superseded.
    #[arg(long, default_value = "pending")]
    pub status: String,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RemovalsDecideArgs {
    /// Every pending removal (and the held config reload, if any).
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// The held config reload: the newest, or the one with this fingerprint.
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "FINGERPRINT")]
    pub reload: Option<String>,
    /// Pending removal ids (from `idp-sync removals list`).
    pub ids: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum InvitationsCommand {
    /// List invitations, newest first.
    #[command(after_help = "Example:\n  idp-sync invitations list --status expired")]
    List(InvitationsListArgs),
    /// Send a fresh link to the same address; the old link stops working.
    #[command(after_help = "Example:\n  idp-sync invitations resend 5b0e…-…")]
    Resend(InvitationIdsArgs),
    /// Make a pending invitation's link stop working.
    #[command(after_help = "Example:\n  idp-sync invitations revoke 5b0e…-…")]
    Revoke(InvitationIdsArgs),
}

#[derive(Debug, Args)]
pub struct InvitationsListArgs {
    /// pending, accepted, expired, revoked.
    #[arg(long)]
    pub status: Option<String>,
    /// Only this user's invitations.
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InvitationIdsArgs {
    #[arg(required = true)]
    pub ids: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries in one state (dead by default), oldest event first.
    #[command(
        after_help = "Examples:\n  idp-sync deliveries list\n  idp-sync deliveries list --state failed --json"
    )]
    List(DeliveriesListArgs),
    /// Retry a dead delivery (due at once, with a fresh max_age), or every dead one.
    #[command(
        after_help = "Examples:\n  idp-sync deliveries retry evt_… webhook:app\n  idp-sync deliveries retry --all-dead --destination webhook:app"
    )]
    Retry(DeliveriesRetryArgs),
}

#[derive(Debug, Args)]
pub struct DeliveriesListArgs {
    /// pending, failed, dead, delivered.
    #[arg(long, default_value = "dead")]
    pub state: String,
    #[arg(long)]
    pub destination: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeliveriesRetryArgs {
    /// Every dead delivery (of --destination, when given).
    #[arg(long, conflicts_with = "event_id")]
    pub all_dead: bool,
    /// With --all-dead: only this destination.
    #[arg(long, requires = "all_dead")]
    pub destination: Option<String>,
    /// The event id (`evt_…`).
    #[arg(required_unless_present = "all_dead", requires = "target")]
    pub event_id: Option<String>,
    /// The destination (`email`, `webhook:<name>`, `connector:<name>`).
    pub target: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Do not run database migrations at start.
    #[arg(long)]
    pub no_migrate: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The file to check (defaults to --config).
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users.
    #[command(after_help = "Example:\n  idp-sync users list --state invited --organization acme")]
    List(UsersListArgs),
    /// Show one user (by id, or by userName with --connection) and where their access comes from.
    #[command(after_help = "Example:\n  idp-sync users show ana@acme.com --connection okta")]
    Show(UsersShowArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StateArg {
    Provisioned,
    Invited,
    Active,
    Suspended,
    Removed,
}

#[derive(Debug, Args)]
pub struct UsersListArgs {
    #[arg(long, value_enum)]
    pub state: Option<StateArg>,
    #[arg(long)]
    pub connection: Option<String>,
    /// Only users granted this organization.
    #[arg(long)]
    pub organization: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UsersShowArgs {
    /// The user's id, or their userName together with --connection.
    pub user: String,
    #[arg(long)]
    pub connection: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events about this user id.
    #[arg(long)]
    pub user: Option<String>,
    /// Only events of this type, e.g. user.invited.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Only events at or after this time: RFC 3339 (2026-11-21T10:00:00Z) or an age (24h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}
