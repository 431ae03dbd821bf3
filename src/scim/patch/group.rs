//! PATCH of a Group: memberships are rows in the store, never a JSON list the caller reads,
//! changes and writes back (that loses concurrent updates and costs O(group size)). So
//! [`plan_group`] applies the operations on every other attribute to the group's JSON and
//! turns those on `members` into [`MemberChange`]s, in request order, each naming only the
//! members it touches.

use super::apply::Engine;
use super::values::value_error;
use super::{OpLabel, PatchOpKind, PatchRequest};
use crate::scim::error::{ErrorCode, ScimError, ScimType};
use crate::scim::filter::{AttrPath, CORE_SCHEMA_PREFIX, CompValue, CompareOp, Filter};
use crate::scim::path::Path;
use crate::scim::schema::AttributeSchema;
use serde_json::Value;

/// One change to a group's membership. Ids are the members' SCIM ids, as the client sent
/// them (opaque: whether they exist is the store's business), without duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberChange {
    /// Make these members (already a member: no change).
    Add(Vec<String>),
    /// Remove these members (not a member: no change, so retries are harmless).
    Remove(Vec<String>),
    /// Remove every member (`remove` of `members` without a value, or `replace` with `[]`).
    RemoveAll,
    /// The members are exactly these (never empty: an empty list is [`MemberChange::RemoveAll`]).
    Replace(Vec<String>),
}

/// What a Group PATCH does.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupPatchPlan {
    /// The group's new JSON without `members` (e.g. `displayName` renamed).
    pub resource: Value,
    /// Membership changes to apply in this order, in the same transaction as `resource`.
    pub members: Vec<MemberChange>,
}

/// Plans a Group PATCH against the group's current JSON without its `members`. Atomic like
/// [`super::apply`]: an error in any operation, member or not, returns only the error.
/// Member filters other than `value eq "id"` joined by `or` are `invalidFilter`.
pub fn plan_group(
    request: &PatchRequest,
    resource_without_members: &Value,
    schema: &dyn AttributeSchema,
) -> Result<GroupPatchPlan, ScimError> {
    let mut resource = resource_without_members.clone();
    let Some(root) = resource.as_object_mut() else {
        return Err(value_error("the group to patch is not a JSON object"));
    };
    let had_name = has_display_name(root);
    let engine = Engine::new(schema, root);
    let mut members = Vec::new();
    for (i, op) in request.operations().iter().enumerate() {
        let context = |e: ScimError| e.context(OpLabel(i, op));
        match op.path() {
            Some(path) if is_members(path.attr()) => {
                members.extend(member_change(op.op(), path, op.value()).map_err(context)?);
            }
            Some(_) => engine.apply_operation(root, op).map_err(context)?,
            None => {
                // Okta Group Push: `{"id": <same id>, "displayName": …}`; others send
                // `members` among the attributes.
                for (path, value) in engine.pathless_targets(op.value()).map_err(context)? {
                    let result = if is_members(path.attr()) {
                        member_change(op.op(), &path, Some(value))
                            .map(|change| members.extend(change))
                    } else {
                        engine.at_path(root, op.op(), &path, Some(value))
                    };
                    result.map_err(|e| context(e.context(format_args!("`{path}`"))))?;
                }
            }
        }
    }
    engine.finish(root);
    if had_name && !has_display_name(root) {
        return Err(ScimError::new(
            ScimType::InvalidValue,
            ErrorCode::PatchRequired,
            "a group's `displayName` is required: it cannot be removed or emptied",
        ));
    }
    Ok(GroupPatchPlan { resource, members })
}

fn has_display_name(root: &serde_json::Map<String, Value>) -> bool {
    super::member(root, "displayName")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// `members`, or `urn:…:core:2.0:Group:members`.
fn is_members(attr: &AttrPath) -> bool {
    let core = attr.schema.as_deref().is_none_or(|urn| {
        urn.get(..CORE_SCHEMA_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX))
    });
    core && attr.name.eq_ignore_ascii_case("members")
}

fn member_change(
    kind: PatchOpKind,
    path: &Path,
    value: Option<&Value>,
) -> Result<Option<MemberChange>, ScimError> {
    let (filter, sub) = match path {
        Path::Attribute(attr) => (None, attr.sub_attr.as_deref()),
        Path::Filtered {
            filter, sub_attr, ..
        } => (Some(filter), sub_attr.as_deref()),
    };
    if let Some(sub) = sub {
        return Err(ScimError::invalid_path(
            ErrorCode::PathAttribute,
            format!("a member's `{sub}` cannot be patched: add or remove the member (`members`)"),
        ));
    }
    let ids = match value {
        None | Some(Value::Null) => None,
        Some(v) => Some(member_ids(v)?),
    };
    let change = match (kind, filter, ids) {
        (PatchOpKind::Remove, Some(f), _) => Some(MemberChange::Remove(filter_ids(f)?)),
        (_, Some(_), _) => {
            return Err(ScimError::invalid_path(
                ErrorCode::PathSyntax,
                format!("{kind} of members takes the path `members` and a list of members"),
            ));
        }
        // Entra: `remove` of `members` with a value list removes only those members.
        (PatchOpKind::Remove, None, Some(ids)) => Some(MemberChange::Remove(ids)),
        (PatchOpKind::Remove, None, None) => Some(MemberChange::RemoveAll),
        (PatchOpKind::Add, None, Some(ids)) => Some(MemberChange::Add(ids)),
        (PatchOpKind::Add, None, None) => None,
        (PatchOpKind::Replace, None, Some(ids)) if !ids.is_empty() => {
            Some(MemberChange::Replace(ids))
        }
        (PatchOpKind::Replace, None, _) => Some(MemberChange::RemoveAll),
    };
    // An empty list adds or removes nobody.
    Ok(change.filter(|c| match c {
        MemberChange::Add(ids) | MemberChange::Remove(ids) => !ids.is_empty(),
        _ => true,
    }))
}

/// Member ids from `[{"value": id, "display": …}, …]`, one such object, or bare ids.
fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    let one = std::slice::from_ref(value);
    let items = value.as_array().map_or(one, Vec::as_slice);
    let mut ids = UniqueIds::with_capacity(items.len());
    for item in items {
        let id = match item {
            Value::Object(m) => super::member(m, "value"),
            Value::Null => continue,
            bare => Some(bare),
        };
        let id = match id {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(value_error(format!(
                    "a member must be {{\"value\": \"<id>\"}} with a non-empty id, not {item}"
                )));
            }
        };
        ids.push(id);
    }
    Ok(ids.into_vec())
}

/// Ids in first-seen order without duplicates, in O(1) per id: a request may carry a
/// hundred thousand of them.
struct UniqueIds {
    order: Vec<String>,
    seen: std::collections::HashSet<String>,
}

impl UniqueIds {
    fn with_capacity(n: usize) -> Self {
        Self {
            order: Vec::with_capacity(n),
            seen: std::collections::HashSet::with_capacity(n),
        }
    }

    fn push(&mut self, id: String) {
        if self.seen.insert(id.clone()) {
            self.order.push(id);
        }
    }

    fn into_vec(self) -> Vec<String> {
        self.order
    }
}

/// Ids of `members[value eq "a" or value eq "b"]`.
fn filter_ids(filter: &Filter) -> Result<Vec<String>, ScimError> {
    let operands = match filter {
        Filter::Or(operands) => operands.as_slice(),
        one => std::slice::from_ref(one),
    };
    let mut ids = UniqueIds::with_capacity(operands.len());
    for operand in operands {
        match operand {
            Filter::Compare {
                attr,
                op: CompareOp::Eq,
                value: CompValue::String(id),
            } if attr.schema.is_none()
                && attr.sub_attr.is_none()
                && attr.name.eq_ignore_ascii_case("value") =>
            {
                ids.push(id.clone());
            }
            Filter::Or(_) => {
                for id in filter_ids(operand)? {
                    ids.push(id);
                }
            }
            other => {
                return Err(ScimError::invalid_filter(
                    ErrorCode::PatchMemberFilter,
                    format!(
                        "members are removed by id: `members[value eq \"<id>\"]`, several \
                         joined by `or`; `{other}` is not supported"
                    ),
                ));
            }
        }
    }
    Ok(ids.into_vec())
}
