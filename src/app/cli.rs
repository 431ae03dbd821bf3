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
