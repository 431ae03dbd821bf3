//! Stored rows to response bodies: the stored resource, without what must not be returned
//! (`writeOnly`, `returned: never`) or what only the server may say (`readOnly`), plus the
//! server's own attributes: `id`, the typed columns, `groups` / `members`, `schemas` and
//! `meta`. Projection ([`crate::scim::projection`]) is applied afterwards by the caller.

use super::etag::etag;
use super::normalize::is_urn;
use crate::domain::entities::{IdpGroup, User};
use crate::domain::ids::{GroupId, UserId};
use crate::scim::definitions::{Mutability, ResourceType, Returned};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// A User as `GET /Users/{id}` returns it. `groups` are the user's direct groups as
/// `(id, displayName)`; `base_url` ends before `/Users` (`https://host/scim/v2`).
pub fn render_user(user: &User, groups: &[(GroupId, String)], base_url: &str) -> Value {
    let mut out = stored(&user.scim, ResourceType::User);
    let base = base_url.trim_end_matches('/');
    out.insert("id".into(), Value::from(user.id.as_str()));
    set_optional(&mut out, "externalId", user.external_id.as_deref());
    out.insert("userName".into(), Value::from(user.user_name.as_str()));
    // `active` as the IdP left it: unassigned (never sent, or removed by a PATCH) is not
    // rendered (RFC 7644 §3.5.2.2), though it means active, as on creation. The column
    // still wins, and an inactive user always says so.
    if out.contains_key("active") || !user.active {
        out.insert("active".into(), Value::Bool(user.active));
    }
    if !groups.is_empty() {
        let groups = groups
            .iter()
            .map(|(id, display)| {
                json!({
                    "value": id.as_str(),
                    "$ref": format!("{base}/Groups/{id}"),
                    "display": display,
                    "type": "direct",
                })
            })
            .collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    finish(
        out,
        ResourceType::User,
        user.id.as_str(),
        Times(user.created_at, user.updated_at),
        user.version,
        base,
    )
}

/// A Group as `GET /Groups/{id}` returns it. `members` are `(user id, display)` (an empty
/// display is left out: unassigned, not `""`); `None` when they were not loaded (excluded
/// by the request), which leaves `members` out.
pub fn render_group(
    group: &IdpGroup,
    members: Option<&[(UserId, String)]>,
    base_url: &str,
) -> Value {
    let mut out = stored(&Value::Null, ResourceType::Group);
    let base = base_url.trim_end_matches('/');
    out.insert("id".into(), Value::from(group.id.as_str()));
    set_optional(&mut out, "externalId", group.external_id.as_deref());
    out.insert(
        "displayName".into(),
        Value::from(group.display_name.as_str()),
    );
    if let Some(members) = members {
        let members = members
            .iter()
            .map(|(id, display)| {
                let mut member = json!({
                    "value": id.as_str(),
                    "$ref": format!("{base}/Users/{id}"),
                    "type": "User",
                });
                if !display.is_empty() {
                    member["display"] = Value::from(display.as_str());
                }
                member
            })
            .collect();
        out.insert("members".into(), Value::Array(members));
    }
    finish(
        out,
        ResourceType::Group,
        group.id.as_str(),
        Times(group.created_at, group.updated_at),
        group.version,
        base,
    )
}

/// A rendered Group without `members` (`render_group(group, None, ..)`), as JSON split
/// where its `members` array goes, so that a large member list can be written page by page
/// instead of as one `Value` tree: `head` ends with `"members":[`, `tail` begins with `]`.
/// `head`, then each member written by [`write_group_member`] separated by `,`, then `tail`
/// is byte for byte `render_group(group, Some(members), base_url).to_string()` for members
/// without a display (serde_json writes an object's keys in sorted order).
pub fn group_json_around_members(rendered: Value) -> (String, String) {
    let map = match rendered {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let (before, after): (Map<String, Value>, Map<String, Value>) = map
        .into_iter()
        .partition(|(key, _)| key.as_str() < "members");
    let mut head = Value::Object(before).to_string();
    head.pop(); // the closing brace
    if head.len() > 1 {
        head.push(',');
    }
    head.push_str("\"members\":[");
    let after = Value::Object(after).to_string();
    let mut tail = String::from("]");
    if after.len() > 2 {
        tail.push(',');
        tail.push_str(&after[1..]);
    } else {
        tail.push('}');
    }
    (head, tail)
}

/// One member of a Group's `members` (no display), as [`render_group`] writes it.
pub fn write_group_member(out: &mut Vec<u8>, id: &UserId, base_url: &str) {
    #[derive(serde::Serialize)]
    struct Member<'a> {
        #[serde(rename = "$ref")]
        reference: String,
        #[serde(rename = "type")]
        kind: &'static str,
        value: &'a str,
    }
    let base = base_url.trim_end_matches('/');
    let member = Member {
        reference: format!("{base}/Users/{id}"),
        kind: "User",
        value: id.as_str(),
    };
    // Writing to a Vec cannot fail, and the struct has only strings.
    let _ = serde_json::to_writer(out, &member);
}

struct Times(DateTime<Utc>, DateTime<Utc>);

/// The stored JSON without what the server owns or never returns.
fn stored(scim: &Value, resource_type: ResourceType) -> Map<String, Value> {
    let def = resource_type.def();
    let mut out = scim.as_object().cloned().unwrap_or_default();
    out.retain(|key, _| {
        key != "schemas"
            && def.top_level(None, key).is_none_or(|d| {
                d.mutability != Mutability::ReadOnly
                    && d.mutability != Mutability::WriteOnly
                    && d.returned != Returned::Never
            })
    });
    out
}

fn set_optional(out: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    match value {
        Some(v) => out.insert(key.to_owned(), Value::from(v)),
        None => out.remove(key),
    };
}

fn finish(
    mut out: Map<String, Value>,
    resource_type: ResourceType,
    id: &str,
    Times(created, modified): Times,
    version: i64,
    base: &str,
) -> Value {
    let mut schemas = vec![Value::from(resource_type.schema_urn())];
    schemas.extend(
        out.keys()
            .filter(|k| is_urn(k) && out.get(*k).is_some_and(Value::is_object))
            .map(|k| Value::from(k.as_str())),
    );
    out.insert("schemas".into(), Value::Array(schemas));
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    out.insert(
        "meta".into(),
        json!({
            "resourceType": resource_type.name(),
            "created": time(created),
            "lastModified": time(modified),
            "location": format!("{base}{}/{id}", resource_type.endpoint()),
            "version": etag(version),
        }),
    );
    Value::Object(out)
}
