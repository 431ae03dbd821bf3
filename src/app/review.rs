//! Commands that act on what waits for an operator: `removals list|approve|reject`,
//! `invitations list|resend|revoke`, `deliveries list|retry`. Each calls the same function
//! as the matching admin API endpoint (`reconcile::removals`, `reconcile::invitations`,
//! `outbox::retry_dead`), on the database the config names. A running daemon picks the
//! results up by itself: its delivery worker polls, and it polls for approved reloads.

use super::cli::{
    DeliveriesCommand, DeliveriesListArgs, DeliveriesRetryArgs, InvitationsCommand,
    InvitationsListArgs, RemovalsCommand, RemovalsDecideArgs, RemovalsListArgs,
};
use super::{AppError, load_config, open_store};
use crate::config::Config;
use crate::domain::{Cause, InvitationStatus, UserId};
use crate::http::admin::delivery_json;
use crate::outbox::{self, OutboxError};
use crate::reconcile::invitations::{self, invitation_json};
use crate::reconcile::removals::{self, ReloadDecisionError, Selection};
use crate::store::{
    DeliveryQuery, DeliveryState, HeldConfigStatus, InvitationQuery, PendingRemovalQuery,
    PendingRemovalStatus, Store,
};
use std::path::Path;

/// Who acts from the command line, as the audit log records it.
fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

fn print_json(value: &impl serde::Serialize) -> Result<(), AppError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| AppError::Runtime(format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

pub async fn removals(config_path: &Path, cmd: RemovalsCommand) -> Result<(), AppError> {
    let config = load_config(config_path)?;
    let store = open_store(&config).await?;
    match cmd {
        RemovalsCommand::List(args) => list_removals(store.as_ref(), args).await,
        RemovalsCommand::Approve(args) => decide(store.as_ref(), &config, args, true).await,
        RemovalsCommand::Reject(args) => decide(store.as_ref(), &config, args, false).await,
    }
}

async fn list_removals(store: &dyn Store, args: RemovalsListArgs) -> Result<(), AppError> {
    let status: PendingRemovalStatus = args.status.parse().map_err(|_| {
        AppError::Usage(format!(
            "--status must be pending, approved, rejected, obsolete or superseded; not {:?}",
            args.status
        ))
    })?;
    let mut read = store.read().await?;
    let items = read
        .list_pending_removals(&PendingRemovalQuery {
            status: Some(status),
            limit: args.limit,
            ..PendingRemovalQuery::default()
        })
        .await?;
    let held = read.list_held_configs(Some(HeldConfigStatus::Held)).await?;
    if args.json {
        return print_json(&serde_json::json!({ "items": items, "held_reloads": held }));
    }
    for h in &held {
        println!(
            "Held config reload {} ({}): {} of {} users with access would lose it. \
             Apply it: idp-sync removals approve --reload; keep the running config: \
             idp-sync removals reject --reload",
            h.fingerprint, h.source, h.removals, h.with_access
        );
    }
    if items.is_empty() {
        println!("No {status} removals.");
        return Ok(());
    }
    println!(
        "{:<36}  {:<5}  {:<10}  {:<30}  {:<20}  {:<20}  WAS",
        "ID", "KIND", "CONNECTION", "USERNAME", "REASON", "DUE"
    );
    for r in &items {
        let r = &r.removal;
        let reason = r.reason.as_str().unwrap_or("-");
        let due = r
            .due_at
            .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "on approval".to_owned());
        let orgs: Vec<String> = r
            .previous
            .organizations
            .iter()
            .map(|o| o.to_string())
            .collect();
        println!(
            "{:<36}  {:<5}  {:<10}  {:<30}  {:<20}  {:<20}  {} on {}",
            r.id,
            r.kind,
            r.connection,
            r.user_name,
            reason,
            due,
            r.previous.role,
            orgs.join(", ")
        );
    }
    if status == PendingRemovalStatus::Pending {
        println!(
            "\n{} pending. Apply: idp-sync removals approve --all (or IDs); keep access: idp-sync removals reject --all (or IDs).",
            items.len()
        );
    }
    Ok(())
}

async fn decide(
    store: &dyn Store,
    config: &Config,
    args: RemovalsDecideArgs,
    approve: bool,
) -> Result<(), AppError> {
    let selection = if args.all {
        Some(Selection::All)
    } else if !args.ids.is_empty() {
        Some(Selection::Ids(args.ids))
    } else {
        None
    };
    // `--all` covers the held reload too, when there is one.
    let reload = match (&args.reload, args.all) {
        (Some(f), _) => Some((!f.is_empty()).then(|| f.clone())),
        (None, true) => Some(None),
        (None, false) => None,
    };
    if selection.is_none() && reload.is_none() {
        return Err(AppError::Usage(
            "say what to decide: --reload (the held config reload), --all, or pending removal ids (see `idp-sync removals list`)".to_owned(),
        ));
    }
    let by = cli_actor();
    let now = chrono::Utc::now();
    let mut reload_result = None;
    if let Some(fingerprint) = &reload {
        match removals::decide_reload(store, fingerprint.as_deref(), approve, &by, now).await {
            Ok(held) => reload_result = Some(held),
            Err(ReloadDecisionError::NoneHeld) if args.all => {}
            Err(ReloadDecisionError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(AppError::Usage(e.to_string())),
        }
    }
    let decided = match &selection {
        None => removals::Decided::default(),
        Some(selection) if approve => {
            removals::approve(store, config, selection, &by, now)
                .await?
                .0
        }
        Some(selection) => removals::reject(store, selection, &by, now).await?,
    };
    if args.json {
        let mut body = serde_json::json!(decided);
        body["reload"] = serde_json::json!(reload_result);
        return print_json(&body);
    }
    if let Some(held) = &reload_result {
        if approve {
            println!(
                "Approved the held config reload {} ({}): {} users lose access. Running daemons apply it within a few seconds.",
                held.fingerprint, held.source, held.removals
            );
        } else {
            println!(
                "Rejected the held config reload {} ({}): the running config stays.",
                held.fingerprint, held.source
            );
        }
    }
    if selection.is_some() {
        println!(
            "{} applied, {} rejected, {} no longer removals (nothing done), {} not pending.",
            decided.applied.len(),
            decided.rejected.len(),
            decided.obsolete.len(),
            decided.not_pending.len()
        );
        for id in &decided.not_pending {
            println!("  not pending: {id}");
        }
    }
    Ok(())
}

pub async fn invitations(config_path: &Path, cmd: InvitationsCommand) -> Result<(), AppError> {
    let config = load_config(config_path)?;
    let store = open_store(&config).await?;
    let now = chrono::Utc::now();
    let by = cli_actor();
    match cmd {
        InvitationsCommand::List(args) => list_invitations(store.as_ref(), args).await,
        InvitationsCommand::Resend(args) => {
            let cause = Cause::Admin { token: by.clone() };
            for id in &args.ids {
                let new = invitations::resend(store.as_ref(), &config, id, &by, &cause, now)
                    .await
                    .map_err(invitation_error)?;
                println!(
                    "{id}: replaced by {} — a new link goes to {}, valid until {}",
                    new.id, new.email, new.expires_at
                );
            }
            Ok(())
        }
        InvitationsCommand::Revoke(args) => {
            for id in &args.ids {
                let revoked = invitations::revoke(store.as_ref(), id, &by, now)
                    .await
                    .map_err(invitation_error)?;
                if revoked {
                    println!("{id}: revoked");
                } else {
                    println!("{id}: not pending; left as it is");
                }
            }
            Ok(())
        }
    }
}

fn invitation_error(e: invitations::InvitationError) -> AppError {
    match e {
        invitations::InvitationError::Store(e) => e.into(),
        other => AppError::Usage(other.to_string()),
    }
}

async fn list_invitations(store: &dyn Store, args: InvitationsListArgs) -> Result<(), AppError> {
    let wanted = args
        .status
        .as_deref()
        .map(|s| {
            s.parse::<InvitationStatus>().map_err(|_| {
                AppError::Usage(format!(
                    "--status must be pending, accepted, expired or revoked; not {s:?}"
                ))
            })
        })
        .transpose()?;
    let stored = match wanted {
        Some(InvitationStatus::Expired) => Some(InvitationStatus::Pending),
        other => other,
    };
    let rows = store
        .read()
        .await?
        .list_all_invitations(&InvitationQuery {
            status: stored,
            user: args.user.map(UserId::from),
            before: None,
            limit: args.limit,
        })
        .await?;
    let now = chrono::Utc::now();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|i| wanted.is_none_or(|w| i.effective_status(now) == w))
        .collect();
    if args.json {
        let items: Vec<_> = rows.iter().map(|i| invitation_json(i, now)).collect();
        return print_json(&items);
    }
    println!(
        "{:<36}  {:<8}  {:<30}  {:<20}  {:<20}  USER",
        "ID", "STATUS", "EMAIL", "INVITED BY", "EXPIRES"
    );
    for i in &rows {
        println!(
            "{:<36}  {:<8}  {:<30}  {:<20}  {:<20}  {}",
            i.id,
            i.effective_status(now).as_str(),
            i.email,
            i.invited_by,
            i.expires_at.format("%Y-%m-%d %H:%M:%S"),
            i.user_id
        );
    }
    Ok(())
}

pub async fn deliveries(config_path: &Path, cmd: DeliveriesCommand) -> Result<(), AppError> {
    let config = load_config(config_path)?;
    let store = open_store(&config).await?;
    match cmd {
        DeliveriesCommand::List(args) => list_deliveries(store.as_ref(), args).await,
        DeliveriesCommand::Retry(args) => retry(store.as_ref(), args).await,
    }
}

async fn list_deliveries(store: &dyn Store, args: DeliveriesListArgs) -> Result<(), AppError> {
    let state: DeliveryState = args.state.parse().map_err(|_| {
        AppError::Usage(format!(
            "--state must be pending, failed, dead or delivered; not {:?}",
            args.state
        ))
    })?;
    let rows = store
        .read()
        .await?
        .list_deliveries_in_state(&DeliveryQuery {
            state,
            destination: args.destination,
            after: None,
            limit: args.limit,
        })
        .await?;
    if args.json {
        let items: Vec<_> = rows.iter().map(delivery_json).collect();
        return print_json(&items);
    }
    println!(
        "{:<40}  {:<22}  {:<28}  {:>8}  LAST ERROR",
        "EVENT", "TYPE", "DESTINATION", "ATTEMPTS"
    );
    for r in &rows {
        println!(
            "{:<40}  {:<22}  {:<28}  {:>8}  {}",
            r.delivery.event_id,
            r.event_type,
            r.delivery.destination,
            r.delivery.attempts,
            r.delivery.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

async fn retry(store: &dyn Store, args: DeliveriesRetryArgs) -> Result<(), AppError> {
    let now = chrono::Utc::now();
    let keys: Vec<(String, String)> = if args.all_dead {
        store
            .read()
            .await?
            .list_deliveries_in_state(&DeliveryQuery {
                state: DeliveryState::Dead,
                destination: args.destination,
                after: None,
                limit: 1_000,
            })
            .await?
            .into_iter()
            .map(|r| (r.delivery.event_id, r.delivery.destination))
            .collect()
    } else {
        match (args.event_id, args.target) {
            (Some(e), Some(d)) => vec![(e, d)],
            _ => {
                return Err(AppError::Usage(
                    "give EVENT_ID DESTINATION, or --all-dead".to_owned(),
                ));
            }
        }
    };
    let mut failed = 0;
    let mut retried = Vec::new();
    for (event_id, destination) in &keys {
        match outbox::retry_dead(store, event_id, destination, now).await {
            Ok(()) => {
                println!("{event_id} → {destination}: pending again, due now");
                retried
                    .push(serde_json::json!({ "event_id": event_id, "destination": destination }));
            }
            Err(OutboxError::Store(e)) => return Err(e.into()),
            Err(e) => {
                failed += 1;
                println!("{event_id} → {destination}: {e}");
            }
        }
    }
    if keys.is_empty() {
        println!("No dead deliveries.");
    }
    if !retried.is_empty() {
        let event = crate::domain::AuditEvent::new("delivery.retried", cli_actor(), now)
            .with_detail(serde_json::json!({ "deliveries": retried }));
        store.append_audit(&event).await?;
    }
    if failed > 0 {
        return Err(AppError::Usage(format!(
            "{failed} delivery(ies) not retried"
        )));
    }
    Ok(())
}
