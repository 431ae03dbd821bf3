//! SCIM resources in and out: request bodies become checked writes ([`parse_user`],
//! [`parse_group`]), stored rows become response bodies ([`render_user`],
//! [`render_group`]), and versions become ETags ([`etag`], [`EtagCondition`]).
//!
//! The store keeps typed columns (userName, externalId, active…) next to the full
//! resource as last written (`scim`). Parsing produces both from one body: the typed
//! fields for the columns and `resource`, the normalised JSON for `scim` (see
//! [`normalize`] for what is accepted and how it is rewritten). Rendering starts from the
//! stored JSON and lets the typed columns win, so a column updated elsewhere (a rename by
//! SSO, `active` by PATCH) is never contradicted by stale JSON.
//!
//! Decisions:
//! - `schemas` is required and must name the resource's core schema (400 invalidSyntax).
//! - Unknown core attributes are dropped and listed in `ignored` so the caller can log
//!   them; unknown extension objects are kept.
//! - A Group member whose `type` is `Group` is refused (400 invalidValue): idp-sync
//!   resolves access from direct memberships only, and silently ignoring a nested group
//!   would grant less than the IdP admin expects without anyone noticing.
//! - `password` is checked and handed to the caller, never stored in `resource`.
//! - `active` absent (never sent, or removed by a PATCH) means active, as most service
//!   providers read it (RFC 7643 §4.1.1 leaves the meaning to us); it is then unassigned
//!   and not rendered (RFC 7644 §3.5.2.2), so a client reads back what it wrote.

mod etag;
mod normalize;
mod render;
mod write;

pub use etag::{EntityTag, EtagCondition, etag};
pub use render::{group_json_around_members, render_group, render_user, write_group_member};
pub use write::{
    StoredScim, UserColumns, UserTimes, millis_of_stored, write_list_response, write_user,
};

use super::definitions::{
    AttributeDef, GROUP_RESOURCE, Mutability, ResourceType, ResourceTypeDef, USER_RESOURCE,
};
use super::error::ScimError;
use super::schema::AttrKind;
use normalize::normalize;
use serde_json::{Map, Value};

/// A User create or replace, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct UserWrite {
    pub user_name: String,
    pub external_id: Option<String>,
    /// SCIM `active`; true when absent.
    pub active: bool,
    /// `displayName`, else `name.formatted` (DESIGN §10; the given + family fallback is
    /// [`crate::domain::User::event_display_name`]'s).
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The primary email, else the work one, else the first.
    pub email: Option<String>,
    /// The write-only password, if the IdP sent one. Never part of `resource`.
    pub password: Option<String>,
    /// The normalised resource to store as `scim`.
    pub resource: Value,
    /// Attributes no schema defines, dropped (for a warning in the logs).
    pub ignored: Vec<String>,
}

/// A Group create or replace, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupWrite {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Member ids (`members[].value`), in order, without duplicates.
    pub members: Vec<String>,
    /// The normalised resource to store, without `members` (kept as rows, not JSON).
    pub resource: Value,
    pub ignored: Vec<String>,
}

/// Checks a POST/PUT `/Users` body.
pub fn parse_user(body: &Value) -> Result<UserWrite, ScimError> {
    let normalized = normalize(body, &USER_RESOURCE)?;
    let resource = normalized.resource;
    let user_name = text(&resource, "userName")
        .map(str::to_owned)
        .ok_or_else(|| ScimError::invalid_value("userName is required and must not be empty"))?;
    let name = resource.get("name");
    let name_part = |part: &str| name.and_then(|n| text_in(n, part)).map(str::to_owned);
    let password = normalized
        .write_only
        .into_iter()
        .find(|(n, _)| *n == "password")
        .and_then(|(_, v)| v.as_str().map(str::to_owned));
    Ok(UserWrite {
        user_name,
        external_id: text(&resource, "externalId").map(str::to_owned),
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        display_name: text(&resource, "displayName")
            .map(str::to_owned)
            .or_else(|| name_part("formatted")),
        given_name: name_part("givenName"),
        family_name: name_part("familyName"),
        email: primary_email(resource.get("emails")),
        password,
        resource: Value::Object(resource),
        ignored: normalized.ignored,
    })
}

/// Checks a POST/PUT `/Groups` body.
pub fn parse_group(body: &Value) -> Result<GroupWrite, ScimError> {
    // Before normalising, which drops the read-only `display`: a member given only by its
    // display name must be refused, not silently left out.
    let raw_members = body
        .as_object()
        .and_then(|o| ci_member(o, "members"))
        .and_then(Value::as_array);
    for item in raw_members.into_iter().flatten().filter(|v| !v.is_null()) {
        let id = item.as_object().and_then(|o| ci_member(o, "value"));
        if id
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(ScimError::invalid_value(
                "every member needs a value (its id)",
            ));
        }
    }
    let normalized = normalize(body, &GROUP_RESOURCE)?;
    let mut resource = normalized.resource;
    let display_name = text(&resource, "displayName")
        .map(str::to_owned)
        .ok_or_else(|| ScimError::invalid_value("displayName is required and must not be empty"))?;
    let mut members: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    if let Some(Value::Array(items)) = resource.remove("members") {
        for item in &items {
            if text_in(item, "type").is_some_and(|t| t.eq_ignore_ascii_case("Group")) {
                return Err(ScimError::invalid_value(
                    "nested groups are not supported: members must be Users",
                ));
            }
            let id = text_in(item, "value")
                .ok_or_else(|| ScimError::invalid_value("every member needs a value (its id)"))?;
            if seen.insert(id) {
                members.push(id.to_owned());
            }
        }
    }
    Ok(GroupWrite {
        display_name,
        external_id: text(&resource, "externalId").map(str::to_owned),
        members,
        resource: Value::Object(resource),
        ignored: normalized.ignored,
    })
}

/// For a PUT: refuses (400 mutability) a change to an `immutable` attribute that already
/// has a value. Both sides are normalised resources (as stored and as parsed). An
/// attribute absent from `new` is not a change (the caller keeps the old value).
/// Multi-valued attributes with immutable sub-attributes (Group `members`) are not
/// compared: a value with another `value` is another member, which may be added freely.
pub fn check_immutable(
    old: &Value,
    new: &Value,
    resource_type: ResourceType,
) -> Result<(), ScimError> {
    check_immutable_with(old, new, resource_type.def())
}

fn check_immutable_with(old: &Value, new: &Value, def: &ResourceTypeDef) -> Result<(), ScimError> {
    let scopes = std::iter::once((None, def.schema.attributes))
        .chain(std::iter::once((
            None,
            super::definitions::COMMON.attributes,
        )))
        .chain(
            def.extensions
                .iter()
                .map(|(s, _)| (Some(s.id), s.attributes)),
        );
    for (urn, attributes) in scopes {
        let (old_scope, new_scope) = match urn {
            None => (Some(old), Some(new)),
            Some(urn) => (old.get(urn), new.get(urn)),
        };
        for attr in attributes.iter().filter(|a| !a.multi_valued) {
            let old_value = old_scope.and_then(|o| o.get(attr.name));
            let new_value = new_scope.and_then(|n| n.get(attr.name));
            let (Some(old_value), Some(new_value)) = (old_value, new_value) else {
                continue;
            };
            if attr.mutability == Mutability::Immutable && !same(attr, old_value, new_value) {
                return Err(ScimError::mutability(format!("{} is immutable", attr.name)));
            }
            for sub in attr
                .sub_attributes
                .iter()
                .filter(|s| s.mutability == Mutability::Immutable)
            {
                if let (Some(o), Some(n)) = (old_value.get(sub.name), new_value.get(sub.name))
                    && !same(sub, o, n)
                {
                    return Err(ScimError::mutability(format!(
                        "{}.{} is immutable",
                        attr.name, sub.name
                    )));
                }
            }
        }
    }
    Ok(())
}

fn same(attr: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b))
            if !attr.case_exact && matches!(attr.kind, AttrKind::String) =>
        {
            a.to_lowercase() == b.to_lowercase()
        }
        _ => a == b,
    }
}

/// A member of a JSON object by case-insensitive name (attribute names are, RFC 7643 §2.1).
fn ci_member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A non-blank string member of an object.
fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    object
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn text_in<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.as_object().and_then(|o| text(o, name))
}

fn primary_email(emails: Option<&Value>) -> Option<String> {
    let emails: Vec<&Value> = emails?
        .as_array()?
        .iter()
        .filter(|e| text_in(e, "value").is_some())
        .collect();
    let primary = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    let work = || {
        emails
            .iter()
            .find(|e| text_in(e, "type").is_some_and(|t| t.eq_ignore_ascii_case("work")))
    };
    primary
        .or_else(work)
        .or_else(|| emails.first())
        .and_then(|e| text_in(e, "value"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;
