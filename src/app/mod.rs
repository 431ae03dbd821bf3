//! The command-line front end: clap definitions ([`cli`]) and one function per
//! subcommand. `main.rs` only parses arguments, starts logging and calls [`run`].
//!
//! Exit codes: 0 success, 1 runtime failure (database unreachable, port taken), 2 invalid
//! configuration or arguments.

pub mod cli;
mod inspect;
mod plan;
mod review;
mod serve;

use crate::config::{self, Config, ConfigErrors};
use crate::store::{self, Store};
use cli::{Cli, Command};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Database pool size when `[database] max_connections` is not set.
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// Why a command failed, mapped to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid configuration {path}:\n{errors}")]
    Config { path: String, errors: ConfigErrors },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Runtime(String),
}

impl AppError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Config { .. } | Self::Usage(_) => ExitCode::from(2),
            Self::Runtime(_) => ExitCode::from(1),
        }
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        Self::Runtime(format!("database: {e}"))
    }
}

pub async fn run(cli: Cli) -> Result<(), AppError> {
    match cli.command {
        Command::Serve(args) => serve::serve(&cli.config, args).await,
        Command::CheckConfig(args) => check_config(args.file.as_deref().unwrap_or(&cli.config)),
        Command::Migrate => {
            let config = load_config(&cli.config)?;
            let store = open_store(&config).await?;
            store.migrate().await?;
            println!("database is at the latest schema ({})", store.engine());
            Ok(())
        }
        Command::Users(cmd) => inspect::users(&cli.config, cmd).await,
        Command::Audit(args) => inspect::audit(&cli.config, args).await,
        Command::Plan(args) => plan::run(&cli.config, args.json).await,
        Command::Removals(cmd) => review::removals(&cli.config, cmd).await,
        Command::Invitations(cmd) => review::invitations(&cli.config, cmd).await,
        Command::Deliveries(cmd) => review::deliveries(&cli.config, cmd).await,
    }
}

pub(crate) fn load_config(path: &Path) -> Result<Config, AppError> {
    config::load(path).map_err(|errors| AppError::Config {
        path: path.display().to_string(),
        errors,
    })
}

pub(crate) async fn open_store(config: &Config) -> Result<Arc<dyn Store>, AppError> {
    Ok(store::connect(
        config.database.url.as_str(),
        config
            .database
            .max_connections
            .unwrap_or(DEFAULT_MAX_CONNECTIONS),
    )
    .await?)
}

fn check_config(path: &Path) -> Result<(), AppError> {
    let config = load_config(path)?;
    let policy = &config.policy;
    println!(
        "{}: valid — {} roles, {} organizations, {} connections, {} mappings",
        path.display(),
        policy.roles.len(),
        policy.organizations.len(),
        policy.connections.len(),
        policy.mappings.len()
    );
    Ok(())
}
