//! Read-only commands for operators: `users list|show` and `audit`. They read the
//! database the config names; they never change anything.

use super::cli::{AuditArgs, StateArg, UsersCommand, UsersListArgs, UsersShowArgs};
use super::{AppError, load_config, open_store};
use crate::domain::{ConnectionId, OrgSlug, User, UserId, UserState};
use crate::store::{AuditQuery, Store, StoredAccess, UserQuery};
use chrono::{DateTime, Utc};
use std::path::Path;

pub async fn users(config_path: &Path, cmd: UsersCommand) -> Result<(), AppError> {
    let config = load_config(config_path)?;
    let store = open_store(&config).await?;
    match cmd {
        UsersCommand::List(args) => list_users(store.as_ref(), args).await,
        UsersCommand::Show(args) => show_user(store.as_ref(), args).await,
    }
}

async fn list_users(store: &dyn Store, args: UsersListArgs) -> Result<(), AppError> {
    let query = UserQuery {
        connection: args.connection.map(ConnectionId::from),
        state: args.state.map(state_of),
        organization: args.organization.map(OrgSlug::from),
        limit: args.limit,
        ..UserQuery::default()
    };
    let users = store.list_users(&query).await?;
    if !args.json {
        println!(
            "{:<36}  {:<10}  {:<11}  {:<14}  {:<30}  ORGANIZATIONS",
            "ID", "CONNECTION", "STATE", "ROLE", "USERNAME"
        );
    }
    for user in users {
        let access = store.get_access(&user.id).await?;
        if args.json {
            println!("{}", user_json(&user, access.as_ref()));
        } else {
            let (role, orgs) = access
                .as_ref()
                .map(|a| {
                    (
                        a.access().role.to_string(),
                        join(a.access().organizations.iter()),
                    )
                })
                .unwrap_or_else(|| ("-".to_owned(), "-".to_owned()));
            println!(
                "{:<36}  {:<10}  {:<11}  {:<14}  {:<30}  {}",
                user.id, user.connection, user.state, role, user.user_name, orgs
            );
        }
    }
    Ok(())
}

async fn show_user(store: &dyn Store, args: UsersShowArgs) -> Result<(), AppError> {
    let user = match &args.connection {
        Some(conn) => {
            store
                .find_user_by_user_name(&ConnectionId::from(conn.as_str()), &args.user)
                .await?
        }
        None => store.get_user(&UserId::from(args.user.as_str())).await?,
    };
    let Some(user) = user else {
        return Err(AppError::Usage(format!(
            "no user {:?}{}",
            args.user,
            if args.connection.is_none() {
                " (give --connection to look up by userName)"
            } else {
                ""
            }
        )));
    };
    let access = store.get_access(&user.id).await?;
    if args.json {
        println!("{}", user_json(&user, access.as_ref()));
        return Ok(());
    }
    println!("id:           {}", user.id);
    println!("connection:   {}", user.connection);
    println!("userName:     {}", user.user_name);
    println!(
        "externalId:   {}",
        user.external_id.as_deref().unwrap_or("-")
    );
    println!("email:        {}", user.email.as_deref().unwrap_or("-"));
    println!(
        "display name: {}",
        user.event_display_name().as_deref().unwrap_or("-")
    );
    println!(
        "state:        {}{}",
        user.state,
        if user.active {
            ""
        } else {
            " (inactive in the IdP)"
        }
    );
    match access {
        None => println!("access:       none"),
        Some(stored) => {
            let a = stored.access();
            println!("role:         {}", a.role);
            println!("groups:       {}", join(a.groups.iter()));
            println!("permissions:  {}", join(a.permissions.iter()));
            if !a.allow_asset_types.is_empty() {
                println!("asset types:  {}", join(a.allow_asset_types.iter()));
            }
            println!("organizations:");
            for org in &a.organizations {
                let sources = stored
                    .sources_of(org)
                    .map(|s| {
                        s.iter()
                            .map(|g| {
                                format!("mapping {} via IdP group {:?}", g.mapping, g.idp_group)
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "set directly".to_owned());
                println!("  {org:<20} {} — from {sources}", a.role);
            }
        }
    }
    Ok(())
}

pub async fn audit(config_path: &Path, args: AuditArgs) -> Result<(), AppError> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let config = load_config(config_path)?;
    let store = open_store(&config).await?;
    let query = AuditQuery {
        user: args.user.map(UserId::from),
        kind: args.kind,
        since,
        limit: args.limit,
        ..AuditQuery::default()
    };
    for event in store.list_audit(&query).await? {
        if args.json {
            println!("{}", serde_json::to_string(&event).unwrap_or_default());
        } else {
            println!(
                "{:>6}  {}  {:<24}  {:<16}  {:<30}  {}",
                event.seq,
                event.occurred_at.format("%Y-%m-%dT%H:%M:%SZ"),
                event.kind,
                event.actor,
                event.user_name.as_deref().unwrap_or("-"),
                if event.detail.is_null() {
                    String::new()
                } else {
                    event.detail.to_string()
                }
            );
        }
    }
    Ok(())
}

/// RFC 3339 time, or an age such as `24h` / `7d` counted back from now.
fn parse_since(text: &str) -> Result<DateTime<Utc>, AppError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let age = humantime::parse_duration(text).map_err(|_| {
        AppError::Usage(format!(
            "--since {text:?}: expected an RFC 3339 time (2026-11-21T10:00:00Z) or an age (24h, 7d)"
        ))
    })?;
    let age = chrono::Duration::from_std(age)
        .map_err(|_| AppError::Usage(format!("--since {text:?}: too far back")))?;
    Ok(Utc::now() - age)
}

fn state_of(arg: StateArg) -> UserState {
    match arg {
        StateArg::Provisioned => UserState::Provisioned,
        StateArg::Invited => UserState::Invited,
        StateArg::Active => UserState::Active,
        StateArg::Suspended => UserState::Suspended,
        StateArg::Removed => UserState::Removed,
    }
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let list: Vec<String> = items.map(|i| i.to_string()).collect();
    if list.is_empty() {
        "-".to_owned()
    } else {
        list.join(", ")
    }
}

fn user_json(user: &User, access: Option<&StoredAccess>) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "connection": user.connection,
        "user_name": user.user_name,
        "external_id": user.external_id,
        "email": user.email,
        "display_name": user.event_display_name(),
        "state": user.state,
        "active": user.active,
        "access": access.map(|a| a.access()),
        "sources": access.map(|a| &a.resolved.organization_sources),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_times_and_ages() {
        let t = parse_since("2026-11-21T10:00:00Z").expect("rfc3339");
        assert_eq!(t.to_rfc3339(), "2026-11-21T10:00:00+00:00");
        let a = parse_since("24h").expect("age");
        assert!((Utc::now() - a).num_hours() == 24 || (Utc::now() - a).num_hours() == 23);
        assert!(matches!(parse_since("yesterday"), Err(AppError::Usage(_))));
    }
}
