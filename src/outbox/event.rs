//! Building events: the DESIGN §6 webhook body as a pure function of what changed, and the
//! list of destinations one event goes to under a config.
//!
//! The body is built once, when the change commits, and stored as the event's payload:
//! every destination and every attempt sends the same bytes (the idempotency key is its
//! `id`). Nothing here reads a clock or the store.

use crate::config::Config;
use crate::domain::{Access, Cause, EventType, Invitation, OutboxEvent, User};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The destination name of the invitation email.
pub const EMAIL_DESTINATION: &str = "email";
/// Prefix of a webhook's destination name: `webhook:<name>` (the webhook's `name`, else
/// its URL — stable across reloads, unlike an index).
pub const WEBHOOK_PREFIX: &str = "webhook:";
/// Prefix of a connector's destination name: `connector:<name>`.
pub const CONNECTOR_PREFIX: &str = "connector:";

/// `access.conflict`'s details: which cap refused the access (DESIGN §10 "Events").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// e.g. `max_organizations`.
    pub kind: String,
    pub limit: u64,
    pub count: u64,
}

/// What an event says, as the lifecycle knows it when the change commits.
#[derive(Clone, Debug)]
pub struct EventInput<'a> {
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub user: &'a User,
    /// The new access; `None` for `user.suspended` and `user.removed`. For
    /// `access.conflict`, the refused access.
    pub access: Option<&'a Access>,
    /// The access before the change; `None` for `user.invited`.
    pub previous: Option<&'a Access>,
    pub cause: &'a Cause,
    /// Required for `access.conflict`, ignored otherwise.
    pub conflict: Option<&'a Conflict>,
    /// The invitation of `user.invited` and `invitation.renewed`: adds an `invitation`
    /// object (`id`, `expires_at`, `invited_by`; never the token) to the body.
    pub invitation: Option<&'a Invitation>,
}

/// Builds the event (a fresh `evt_…` id) and its webhook body.
pub fn build_event(input: &EventInput<'_>) -> OutboxEvent {
    let id = OutboxEvent::new_id();
    let payload = event_body(&id, input);
    OutboxEvent {
        id,
        event_type: input.event_type,
        user_id: Some(input.user.id.clone()),
        occurred_at: input.occurred_at,
        payload,
    }
}

/// The webhook body of the event `id` (DESIGN §6). `access` and `previous` are always
/// present (null where they don't apply); lists are sorted (they come from sets).
pub fn event_body(id: &str, input: &EventInput<'_>) -> Value {
    let user = input.user;
    let mut body = json!({
        "id": id,
        "type": input.event_type.as_str(),
        "occurred_at": timestamp(input.occurred_at),
        "connection": user.connection.as_str(),
        "user": user_json(user),
        "access": input.access.map(access_json),
        "previous": input.previous.map(access_json),
        "cause": serde_json::to_value(input.cause).unwrap_or(Value::Null),
    });
    if input.event_type == EventType::AccessConflict
        && let Some(c) = input.conflict
    {
        body["conflict"] = json!({ "kind": c.kind, "limit": c.limit, "count": c.count });
    }
    if matches!(
        input.event_type,
        EventType::UserInvited | EventType::InvitationRenewed
    ) && let Some(inv) = input.invitation
    {
        body["invitation"] = json!({
            "id": inv.id,
            "expires_at": timestamp(inv.expires_at),
            "invited_by": inv.invited_by,
        });
    }
    body
}

/// The `user` object of event bodies (and of `/session`).
pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.as_str(),
        "user_name": user.user_name,
        "email": user.email,
        "display_name": user.event_display_name(),
        "state": user.state.as_str(),
        "external_id": user.external_id,
    })
}

/// The `access` object of event bodies (and of `/session`).
pub fn access_json(a: &Access) -> Value {
    json!({
        "role": a.role.as_str(),
        "organizations": a.organizations.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        "groups": a.groups,
        "permissions": a.permissions,
        "allow_asset_types": a.allow_asset_types,
    })
}

/// RFC 3339 in UTC with a `Z` and whole seconds: `2026-11-21T10:00:00Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Where an event of `event_type` goes under `config`, in a stable order: `email` (for
/// `user.invited` and `invitation.renewed` when `[email]` is set), then each webhook whose
/// `events` include it, then each connector whose `on` does.
pub fn destinations_for(config: &Config, event_type: EventType) -> Vec<String> {
    let mut out = Vec::new();
    if config.email.is_some()
        && matches!(
            event_type,
            EventType::UserInvited | EventType::InvitationRenewed
        )
    {
        out.push(EMAIL_DESTINATION.to_owned());
    }
    for w in &config.webhooks {
        if w.events.includes(event_type) {
            out.push(format!("{WEBHOOK_PREFIX}{}", w.name));
        }
    }
    for c in &config.connectors {
        if c.on.contains(&event_type) {
            out.push(format!("{CONNECTOR_PREFIX}{}", c.name));
        }
    }
    out
}

/// The kind of a destination name, as metrics label it.
pub fn destination_kind(destination: &str) -> &'static str {
    if destination == EMAIL_DESTINATION {
        "email"
    } else if destination.starts_with(WEBHOOK_PREFIX) {
        "webhook"
    } else if destination.starts_with(CONNECTOR_PREFIX) {
        "connector"
    } else {
        "unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InvitationStatus;

    fn user() -> User {
        let mut u = User::new("okta".into(), "ana@acme.com", Utc::now());
        u.email = Some("ana@acme.com".into());
        u.given_name = Some("Ana".into());
        u.family_name = Some("Lima".into());
        u.external_id = Some("00u1".into());
        u
    }

    fn access(role: &str, orgs: &[&str]) -> Access {
        let mut a = Access::new(role.into());
        for o in orgs {
            a.organizations.insert((*o).into());
        }
        a
    }

    #[test]
    fn body_has_every_key_and_sorted_organizations() {
        let u = user();
        let now = "2026-11-21T10:00:00Z".parse().unwrap();
        let new = access("Editor", &["globex", "acme-east", "acme"]);
        let cause = Cause::Scim {
            request_id: "req-1".into(),
        };
        let e = build_event(&EventInput {
            event_type: EventType::UserAccessChanged,
            occurred_at: now,
            user: &u,
            access: Some(&new),
            previous: None,
            cause: &cause,
            conflict: None,
            invitation: None,
        });
        assert!(e.id.starts_with("evt_"));
        let b = &e.payload;
        assert_eq!(b["id"], e.id.as_str());
        assert_eq!(b["type"], "user.access_changed");
        assert_eq!(b["occurred_at"], "2026-11-21T10:00:00Z");
        assert_eq!(b["connection"], "okta");
        assert_eq!(b["user"]["display_name"], "Ana Lima");
        assert_eq!(b["user"]["state"], "provisioned");
        assert_eq!(b["user"]["external_id"], "00u1");
        assert_eq!(
            b["access"]["organizations"],
            json!(["acme", "acme-east", "globex"])
        );
        assert_eq!(b["access"]["allow_asset_types"], json!([]));
        assert!(b.as_object().unwrap().contains_key("previous"));
        assert_eq!(b["previous"], Value::Null);
        assert_eq!(b["cause"], json!({"kind": "scim", "request_id": "req-1"}));
        assert!(b.get("conflict").is_none());
    }

    #[test]
    fn conflict_and_invitation_objects() {
        let u = user();
        let now = Utc::now();
        let a = access("Lite", &["a", "b"]);
        let cause = Cause::ConfigReload {
            revision: "abc".into(),
        };
        let conflict = Conflict {
            kind: "max_organizations".into(),
            limit: 5,
            count: 6,
        };
        let e = build_event(&EventInput {
            event_type: EventType::AccessConflict,
            occurred_at: now,
            user: &u,
            access: Some(&a),
            previous: None,
            cause: &cause,
            conflict: Some(&conflict),
            invitation: None,
        });
        assert_eq!(
            e.payload["conflict"],
            json!({"kind": "max_organizations", "limit": 5, "count": 6})
        );
        let inv = Invitation {
            id: "inv_1".into(),
            user_id: u.id.clone(),
            token_hash: "h".into(),
            email: "ana@acme.com".into(),
            invited_by: "okta".into(),
            access: a.clone(),
            status: InvitationStatus::Pending,
            created_at: now,
            expires_at: now,
            renewed_from: None,
        };
        let e = build_event(&EventInput {
            event_type: EventType::UserInvited,
            occurred_at: now,
            user: &u,
            access: Some(&a),
            previous: None,
            cause: &cause,
            conflict: None,
            invitation: Some(&inv),
        });
        assert_eq!(e.payload["invitation"]["id"], "inv_1");
        assert!(!e.payload.to_string().contains("\"h\""));
    }
}
