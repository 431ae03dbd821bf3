//! SCIM PATCH (RFC 7644 §3.5.2): reading a PatchOp request ([`PatchRequest::parse`]),
//! applying it to a resource's JSON ([`apply`]) and, for groups, turning it into a plan
//! whose membership changes the store applies row by row ([`plan_group`]).
//!
//! Everything here is pure: no I/O, no store. [`apply`] and [`plan_group`] never mutate
//! their input and either apply every operation or return the first error (atomic).
//!
//! What real IdPs send, accepted on purpose (DESIGN.md §5):
//! - Entra's capitalised `op` (`Add`, `Replace`, `Remove`) and any case in JSON keys
//!   (`Operations`/`operations`, `Op`, `Path`, `Value`) and attribute names;
//! - string booleans (`"False"`) for boolean attributes and sub-attributes (`active`,
//!   `emails[…].primary`);
//! - path-less add/replace whose keys are dotted (`name.givenName`), URN-qualified
//!   (`urn:…:enterprise:2.0:User:department`) or a schema URN with an object value;
//! - a scalar where a complex value is expected becomes `{"value": scalar}` (Entra's
//!   `manager` sent as the manager's id);
//! - `add` to `attr[filter].sub` when no value matches creates a value from the filter's
//!   `eq` comparisons (Entra's `addresses[type eq "work"].streetAddress`);
//! - an empty or `null` `path` is no path;
//! - Okta Group Push's path-less `{"id": <same id>, "displayName": …}`: a read-only
//!   attribute given its current value is left alone; any other change is `mutability`.
//!
//! Decisions where the RFC leaves room: `replace` of a single-valued complex attribute merges
//! sub-attributes (RFC 7644 §3.5.2.3 says unspecified sub-attributes are left unchanged);
//! `replace` with `"value": null` unassigns (RFC 7643 §2.5), `add` of `null` changes
//! nothing; `remove` of a multi-valued attribute with a `value` list removes only the listed
//! values (Entra's member removal, generalised); setting `primary: true` on one value sets
//! it to `false` on the others, and two new primary values in one operation are refused.

mod apply;
mod group;
mod values;

use super::error::{ErrorCode, ScimError, ScimType};
use super::path::Path;
use serde_json::{Map, Value};
use std::fmt;

pub use apply::apply;
pub use group::{GroupPatchPlan, MemberChange, plan_group};

/// The schema URN a PATCH body must list.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// `add`, `remove` or `replace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

impl PatchOpKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Replace => "replace",
        }
    }

    /// The operation a keyword names, whatever its case (Entra sends `Replace`).
    pub fn from_keyword(word: &str) -> Option<Self> {
        [Self::Add, Self::Remove, Self::Replace]
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for PatchOpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validated operation: `remove` has a path; `add` and `replace` have a value.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchOperation {
    op: PatchOpKind,
    path: Option<Path>,
    value: Option<Value>,
}

impl PatchOperation {
    pub fn op(&self) -> PatchOpKind {
        self.op
    }
    pub fn path(&self) -> Option<&Path> {
        self.path.as_ref()
    }
    /// The `value`; `None` only for a `remove` without one.
    pub fn value(&self) -> Option<&Value> {
        self.value.as_ref()
    }
}

/// Names an operation in error details: `Operations[1] (replace emails[type eq "work"])`.
pub(crate) struct OpLabel<'a>(pub(crate) usize, pub(crate) &'a PatchOperation);

impl fmt::Display for OpLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OpLabel(index, op) = self;
        match &op.path {
            Some(path) => write!(f, "Operations[{index}] ({} {path})", op.op),
            None => write!(f, "Operations[{index}] ({})", op.op),
        }
    }
}

/// A parsed, validated PatchOp request body.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchRequest {
    operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// Reads a PatchOp body. Keys are case-insensitive. Errors: no PatchOp schema →
    /// `invalidSyntax`; no or an empty `Operations` list → `invalidValue`; an unknown `op` →
    /// `invalidSyntax`; a bad path → `invalidPath`; `remove` without a path → `noTarget`;
    /// `add`/`replace` without a value → `invalidValue`.
    pub fn parse(body: &Value) -> Result<PatchRequest, ScimError> {
        let Some(body) = body.as_object() else {
            return Err(syntax(
                ErrorCode::PatchSchema,
                "the body must be a JSON object",
            ));
        };
        let schemas = member(body, "schemas").and_then(Value::as_array);
        let is_patch = schemas.is_some_and(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .any(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
        });
        if !is_patch {
            return Err(syntax(
                ErrorCode::PatchSchema,
                format!("`schemas` must list \"{PATCH_OP_SCHEMA}\""),
            ));
        }
        let operations = match member(body, "Operations") {
            Some(Value::Array(ops)) if !ops.is_empty() => ops,
            Some(Value::Array(_)) => {
                return Err(operations_error("`Operations` is empty"));
            }
            Some(_) => return Err(operations_error("`Operations` must be a list")),
            None => return Err(operations_error("`Operations` is missing")),
        };
        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                parse_operation(op).map_err(|e| e.context(format_args!("Operations[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PatchRequest { operations })
    }

    pub fn operations(&self) -> &[PatchOperation] {
        &self.operations
    }
}

fn parse_operation(op: &Value) -> Result<PatchOperation, ScimError> {
    let Some(op) = op.as_object() else {
        return Err(syntax(
            ErrorCode::PatchOp,
            "an operation must be a JSON object",
        ));
    };
    let kind = match member(op, "op") {
        Some(Value::String(word)) => PatchOpKind::from_keyword(word).ok_or_else(|| {
            syntax(
                ErrorCode::PatchOp,
                format!("unknown op {word:?}: expected add, remove or replace"),
            )
        })?,
        Some(_) => return Err(syntax(ErrorCode::PatchOp, "`op` must be a string")),
        None => return Err(syntax(ErrorCode::PatchOp, "`op` is missing")),
    };
    let path = match member(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(Path::parse(text)?),
        Some(_) => return Err(syntax(ErrorCode::PatchOp, "`path` must be a string")),
    };
    let value = member(op, "value").cloned();
    match (kind, &path, &value) {
        (PatchOpKind::Remove, None, _) => Err(ScimError::no_target(
            "remove needs a `path` naming what to remove",
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, _, None) => Err(ScimError::new(
            ScimType::InvalidValue,
            ErrorCode::PatchValue,
            format!("{kind} needs a `value`"),
        )),
        _ => Ok(PatchOperation {
            op: kind,
            path,
            value,
        }),
    }
}

/// A member of a JSON object by case-insensitive key (exact spelling first).
pub(crate) fn member<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn syntax(code: ErrorCode, detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidSyntax, code, detail)
}

fn operations_error(detail: &str) -> ScimError {
    ScimError::new(
        ScimType::InvalidValue,
        ErrorCode::PatchOperations,
        format!("{detail}: a PatchOp body needs at least one operation"),
    )
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
