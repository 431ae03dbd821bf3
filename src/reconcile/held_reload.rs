//! Config reloads held as mass removals (DESIGN §3: "a config reload that would cause it is
//! refused with a message that says how many and how to approve").
//!
//! The refused config is recorded in `held_configs` by the fingerprint of its inputs (the
//! file, the overrides applied, everything it points at). An approval — `idp-sync removals
//! approve --reload`, or the admin API — is a row there, not a message to one process: each
//! daemon polls for approved fingerprints (every two seconds, and at once on the replica
//! that served the admin request) and reloads its file; the reload skips the mass-removal
//! check when the file's fingerprint is an approved one. So every replica reading the same
//! file applies it, a replica started later applies it too, and an edited file (another
//! fingerprint) needs approving again.

use crate::config::Config;
use crate::domain::AuditEvent;
use crate::store::{HeldConfig, HeldConfigStatus, Store, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Records a config reload refused as a mass removal (see the module docs).
pub async fn hold_reload(
    store: &dyn Store,
    config: &Config,
    removals: usize,
    with_access: usize,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let held = HeldConfig {
        fingerprint: config.fingerprint.to_string(),
        source: config.source.display().to_string(),
        removals: i64::try_from(removals).unwrap_or(i64::MAX),
        with_access: i64::try_from(with_access).unwrap_or(i64::MAX),
        status: HeldConfigStatus::Held,
        held_at: now,
        decided_at: None,
        decided_by: None,
    };
    let mut tx = store.begin().await?;
    tx.hold_config(&held).await?;
    tx.commit().await
}

/// Why a held reload could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum ReloadDecisionError {
    #[error("no config reload is held")]
    NoneHeld,
    #[error("no held config reload has the fingerprint {0}")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Approves or rejects a held reload: the one with `fingerprint`, or the newest held one.
/// Daemons apply an approved reload within a few seconds (they poll for approvals).
pub async fn decide_reload(
    store: &dyn Store,
    fingerprint: Option<&str>,
    approve: bool,
    by: &str,
    now: DateTime<Utc>,
) -> Result<HeldConfig, ReloadDecisionError> {
    let held = {
        let mut read = store.read().await?;
        match fingerprint {
            Some(f) => read
                .get_held_config(f)
                .await?
                .filter(|h| h.status == HeldConfigStatus::Held)
                .ok_or_else(|| ReloadDecisionError::Unknown(f.to_owned()))?,
            None => read
                .list_held_configs(Some(HeldConfigStatus::Held))
                .await?
                .into_iter()
                .next()
                .ok_or(ReloadDecisionError::NoneHeld)?,
        }
    };
    let status = if approve {
        HeldConfigStatus::Approved
    } else {
        HeldConfigStatus::Rejected
    };
    let mut tx = store.begin().await?;
    if !tx
        .decide_held_config(&held.fingerprint, status, by, now)
        .await?
    {
        return Err(ReloadDecisionError::Unknown(held.fingerprint));
    }
    let kind = if approve {
        "config.reload_approved"
    } else {
        "config.reload_rejected"
    };
    tx.append_audit(&AuditEvent::new(kind, by, now).with_detail(json!({
        "fingerprint": held.fingerprint,
        "source": held.source,
        "removals": held.removals,
        "with_access": held.with_access,
    })))
    .await?;
    tx.commit().await?;
    Ok(HeldConfig {
        status,
        decided_at: Some(now),
        decided_by: Some(by.to_owned()),
        ..held
    })
}
