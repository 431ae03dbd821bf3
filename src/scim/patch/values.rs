//! Value helpers for PATCH: case-insensitive keys, coercing what IdPs send into the
//! attribute's type, equality of multi-valued values, and the `primary` rule.

use crate::scim::error::{ErrorCode, ScimError, ScimType};
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::schema::{AttrKind, AttributeSchema};
use serde_json::{Map, Value};

/// The existing key spelling `name` in any case (exact spelling first).
pub(super) fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Sets `name` to `value`, keeping an existing key's spelling, else the schema's.
pub(super) fn put(
    map: &mut Map<String, Value>,
    name: &str,
    value: Value,
    schema: &dyn AttributeSchema,
) {
    let key =
        key_ci(map, name).unwrap_or_else(|| schema.canonical_name(name).unwrap_or(name).to_owned());
    map.insert(key, value);
}

/// Removes `name` in any case; whether it was there.
pub(super) fn take(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    key_ci(map, name).and_then(|k| map.remove(&k))
}

pub(super) fn value_error(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidValue, ErrorCode::PatchValue, detail)
}

/// Brings a value a client sent for `path` to the attribute's type: `"True"`/`"False"` (any
/// case) become booleans where the schema says boolean, a scalar where a complex value with
/// a `value` sub-attribute is expected becomes `{"value": scalar}`, and sub-attributes of a complex value are coerced
/// in turn. A value that cannot be the attribute's type is `invalidValue`.
pub(super) fn coerce(
    value: Value,
    path: &AttrPath,
    schema: &dyn AttributeSchema,
) -> Result<Value, ScimError> {
    match schema.kind(path) {
        AttrKind::Boolean => match value {
            Value::Bool(_) | Value::Null => Ok(value),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            other => Err(value_error(format!(
                "`{path}` is a boolean; {other} is not true or false"
            ))),
        },
        AttrKind::Complex if path.sub_attr.is_none() => match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, sub) in map {
                    let sub_path = AttrPath {
                        schema: path.schema.clone(),
                        name: path.name.clone(),
                        sub_attr: Some(key.clone()),
                    };
                    out.insert(key, coerce(sub, &sub_path, schema)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(_) => Err(value_error(format!("`{path}` takes an object, not a list"))),
            Value::Null => Ok(Value::Null),
            // `name` and `meta` have no `value` sub-attribute for a scalar to stand for.
            scalar
                if ["name", "meta"]
                    .iter()
                    .any(|n| path.name.eq_ignore_ascii_case(n)) =>
            {
                Err(value_error(format!(
                    "`{path}` takes an object of sub-attributes, not {scalar}"
                )))
            }
            scalar => {
                let mut out = Map::new();
                out.insert("value".to_owned(), scalar);
                Ok(Value::Object(out))
            }
        },
        _ => Ok(value),
    }
}

/// The values a client gave for a multi-valued attribute: a list, or one value alone;
/// `null`s dropped, each coerced.
pub(super) fn value_list(
    value: &Value,
    path: &AttrPath,
    schema: &dyn AttributeSchema,
) -> Result<Vec<Value>, ScimError> {
    let items: Vec<Value> = match value {
        Value::Array(items) => items.iter().filter(|v| !v.is_null()).cloned().collect(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    items.into_iter().map(|v| coerce(v, path, schema)).collect()
}

/// Whether two values of a multi-valued attribute are the same value: equal JSON, object
/// keys compared case-insensitively, `primary` ignored (it is a flag on the value).
pub(super) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let relevant = |m: &Map<String, Value>| {
                m.iter()
                    .filter(|(k, v)| !k.eq_ignore_ascii_case("primary") && !v.is_null())
                    .count()
            };
            relevant(a) == relevant(b)
                && a.iter()
                    .filter(|(k, v)| !k.eq_ignore_ascii_case("primary") && !v.is_null())
                    .all(|(k, v)| b_get(b, k).is_some_and(|w| w == v))
        }
        _ => a == b,
    }
}

fn b_get<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    key_ci(map, key).and_then(|k| map.get(&k))
}

pub(super) fn is_primary(v: &Value) -> bool {
    v.as_object()
        .and_then(|m| b_get(m, "primary"))
        .is_some_and(|p| p == &Value::Bool(true))
}

/// RFC 7643 §2.4: `primary: true` appears at most once. `written` are the indices this
/// operation wrote; if one of them is primary, the others stop being primary; two written
/// primaries are refused.
pub(super) fn settle_primary(
    items: &mut [Value],
    written: &[usize],
    attr: &AttrPath,
) -> Result<(), ScimError> {
    let winners: Vec<usize> = written
        .iter()
        .copied()
        .filter(|&i| items.get(i).is_some_and(is_primary))
        .collect();
    match winners.as_slice() {
        [] => Ok(()),
        [winner] => {
            for (i, item) in items.iter_mut().enumerate() {
                if i != *winner
                    && is_primary(item)
                    && let Some(map) = item.as_object_mut()
                    && let Some(key) = key_ci(map, "primary")
                {
                    map.insert(key, Value::Bool(false));
                }
            }
            Ok(())
        }
        _ => Err(ScimError::new(
            ScimType::InvalidValue,
            ErrorCode::PatchPrimary,
            format!("only one value of `{attr}` may be primary"),
        )),
    }
}

/// The sub-attribute values a filter of `eq` comparisons joined by `and` pins down
/// (`type eq "work"` → `{"type": "work"}`), from which `add` creates a value when none
/// matches; `None` for any other filter.
pub(super) fn eq_seed(filter: &Filter) -> Option<Map<String, Value>> {
    let mut seed = Map::new();
    let operands = match filter {
        Filter::And(operands) => operands.as_slice(),
        one => std::slice::from_ref(one),
    };
    for operand in operands {
        let Filter::Compare {
            attr,
            op: CompareOp::Eq,
            value,
        } = operand
        else {
            return None;
        };
        if attr.sub_attr.is_some() || attr.schema.is_some() {
            return None;
        }
        let value = match value {
            CompValue::String(s) => Value::String(s.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        seed.insert(attr.name.clone(), value);
    }
    Some(seed)
}

/// Whether `new` is what a read-only attribute already holds (Okta Group Push resends the
/// group's `id`): then the operation changes nothing and is accepted.
pub(super) fn unchanged(current: Option<&Value>, new: &Value) -> bool {
    match (current, new) {
        (Some(Value::Array(cur)), Value::Array(new)) => {
            // `schemas` and other lists: the same values in any order and case.
            let lower = |items: &[Value]| {
                let mut out: Vec<String> = items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.to_ascii_lowercase(),
                        other => other.to_string(),
                    })
                    .collect();
                out.sort();
                out.dedup();
                out
            };
            lower(cur) == lower(new)
        }
        (Some(cur), new) => cur == new,
        (None, new) => new.is_null(),
    }
}
