//! `idp-sync plan --config NEW.toml`: what the config would do to the directory in the
//! database it names — who would be invited, gain or lose organizations, change role, be
//! suspended, and which conflicts appear — without changing anything.

use super::{AppError, load_config, open_store};
use crate::reconcile::plan::{Change, Plan, PlanEntry, load_directory, plan};
use std::fmt::Write as _;
use std::path::Path;

pub async fn run(config_path: &Path, json: bool) -> Result<(), AppError> {
    let config = load_config(config_path)?;
    let store = open_store(&config).await?;
    let mut read = store.read().await?;
    let directory = load_directory(read.as_mut()).await?;
    let result = plan(
        &config.policy,
        &directory,
        config.removal.mass_threshold,
        config.removal.mass_minimum,
    );
    if json {
        let text = serde_json::to_string_pretty(&result)
            .map_err(|e| AppError::Runtime(format!("cannot print the plan: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", render(&result, &config_path.display().to_string()));
    }
    Ok(())
}

/// The human-readable table.
pub fn render(plan: &Plan, source: &str) -> String {
    let s = &plan.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {source}: {} users, {} with access now.",
        s.users, s.with_access
    );
    if plan.entries.is_empty() {
        let _ = writeln!(out, "\nNo changes.");
        return out;
    }
    let _ = writeln!(
        out,
        "\n{:<10}  {:<10}  {:<32}  {:<28}  ORGANIZATIONS",
        "CHANGE", "CONNECTION", "USERNAME", "ROLE"
    );
    for e in &plan.entries {
        let _ = writeln!(
            out,
            "{:<10}  {:<10}  {:<32}  {:<28}  {}",
            change_name(&e.change),
            e.connection,
            e.user_name,
            role_column(e),
            organizations_column(e)
        );
    }
    let _ = writeln!(
        out,
        "\n{} to invite, {} to reactivate, {} to update, {} to suspend, {} in conflict, {} protected, {} unchanged.",
        s.invite, s.reactivate, s.update, s.suspend, s.conflict, s.protected, s.unchanged
    );
    if plan.mass_removal {
        let _ = writeln!(
            out,
            "Mass removal: {} of {} users with access would lose it — more than removal.mass_threshold \
             allows. As a reload it would be refused until approved: `idp-sync removals approve --reload`.",
            s.suspend, s.with_access
        );
    }
    out
}

fn change_name(change: &Change) -> &'static str {
    match change {
        Change::Invite => "invite",
        Change::Reactivate => "reactivate",
        Change::Update => "update",
        Change::Suspend => "suspend",
        Change::Conflict => "conflict",
        Change::Protected => "protected",
    }
}

fn role_column(e: &PlanEntry) -> String {
    let from = e
        .role_from
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let to = e
        .role_to
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    match (&e.change, &e.conflict) {
        (
            Change::Conflict,
            Some(crate::domain::Conflict::MaxOrganizations { limit, count, .. }),
        ) => {
            format!("{to}: {count} orgs > {limit}")
        }
        (Change::Protected, _) => format!(
            "{from} (kept: {})",
            e.protection.map(|p| format!("{p:?}")).unwrap_or_default()
        ),
        _ if from == to => to,
        _ => format!("{from} → {to}").trim().to_owned(),
    }
}

fn organizations_column(e: &PlanEntry) -> String {
    let mut parts = Vec::new();
    if !e.organizations_added.is_empty() {
        parts.push(format!("+ {}", join(&e.organizations_added)));
    }
    if !e.organizations_removed.is_empty() {
        parts.push(format!("− {}", join(&e.organizations_removed)));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("  ")
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
