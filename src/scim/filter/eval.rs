//! Evaluating a filter against one resource's JSON, and checking a filter against the
//! attribute types before it is run (here or translated to SQL).
//!
//! Semantics (RFC 7644 §3.4.2.2), decided where the RFC is silent:
//! - a multi-valued attribute matches when any of its values matches;
//! - a complex value compared without a sub-attribute stands for its `value` sub-attribute
//!   (`emails co "@acme.com"`);
//! - an absent or `null` attribute matches nothing except `ne` (it is not equal to anything),
//!   `eq null` (which tests absence) and the negation of a filter that does not match;
//! - `pr`: present and not null, not `""`, not `[]`, not an object without present members;
//! - strings compare case-insensitively (Unicode lowercase) unless the schema says
//!   `caseExact`; `gt`/`lt` on strings are lexicographic on those forms;
//! - dateTime values compare as instants (RFC 3339; without an offset, UTC); a dateTime
//!   that does not parse is compared as text;
//! - a value whose JSON type does not fit the comparison (a string where a number is
//!   expected) does not match. [`validate`] refuses such filters up front.

use super::{AttrPath, CORE_SCHEMA_PREFIX, CompValue, CompareOp, Filter};
use crate::scim::error::{ErrorCode, ScimError};
use crate::scim::schema::{AttrKind, AttributeSchema};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Whether `resource` (a SCIM resource as JSON) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value, schema: &dyn AttributeSchema) -> bool {
    eval(filter, resource, None, schema)
}

/// `scope` is the resource, or one value of `parent` inside `parent[...]`.
fn eval(
    filter: &Filter,
    scope: &Value,
    parent: Option<&AttrPath>,
    schema: &dyn AttributeSchema,
) -> bool {
    match filter {
        Filter::Present(attr) => values(scope, attr, parent.is_some())
            .iter()
            .any(|v| is_present(v)),
        Filter::Compare { attr, op, value } => {
            let mut absolute = absolute_path(attr, parent);
            if absolute.sub_attr.is_none() && schema.kind(&absolute) == AttrKind::Complex {
                // A complex value compared as a whole stands for its `value` sub-attribute.
                absolute.sub_attr = Some("value".to_owned());
            }
            let kind = schema.kind(&absolute);
            let exact = schema.case_exact(&absolute);
            let found: Vec<&Value> = values(scope, attr, parent.is_some())
                .into_iter()
                .filter_map(|v| {
                    if v.is_object() {
                        get_ci(v, "value")
                    } else {
                        Some(v)
                    }
                })
                .filter(|v| !v.is_null())
                .collect();
            match (op, value) {
                (CompareOp::Eq, CompValue::Null) => found.is_empty(),
                (CompareOp::Ne, CompValue::Null) => !found.is_empty(),
                (_, CompValue::Null) => false,
                (CompareOp::Ne, _) if found.is_empty() => true,
                _ => found.iter().any(|v| compare(v, *op, value, kind, exact)),
            }
        }
        Filter::Not(inner) => !eval(inner, scope, parent, schema),
        Filter::And(operands) => operands.iter().all(|f| eval(f, scope, parent, schema)),
        Filter::Or(operands) => operands.iter().any(|f| eval(f, scope, parent, schema)),
        Filter::ValuePath { attr, filter } => {
            let absolute = absolute_path(attr, parent);
            values(scope, attr, parent.is_some())
                .into_iter()
                .any(|element| {
                    element.is_object() && eval(filter, element, Some(&absolute), schema)
                })
        }
    }
}

/// The path the schema is asked about: `emails.type` for `type` inside `emails[...]`.
fn absolute_path(attr: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
    match parent {
        Some(p) => AttrPath {
            schema: p.schema.clone(),
            name: p.name.clone(),
            sub_attr: Some(attr.name.clone()),
        },
        None => attr.clone(),
    }
}

/// Case-insensitive member lookup (attribute names are case-insensitive).
fn get_ci<'v>(object: &'v Value, key: &str) -> Option<&'v Value> {
    let map: &Map<String, Value> = object.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Pushes `v`'s values: the elements of an array, or `v` itself; nulls are dropped.
fn flatten<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Array(items) => out.extend(items.iter().filter(|i| !i.is_null())),
        Value::Null => {}
        other => out.push(other),
    }
}

/// Every value `attr` names in `scope`. At the top level a schema URN selects the extension
/// object of that name, or the resource itself for a core schema.
fn values<'v>(scope: &'v Value, attr: &AttrPath, relative: bool) -> Vec<&'v Value> {
    let base = match (&attr.schema, relative) {
        (Some(urn), false) => match get_ci(scope, urn) {
            Some(ext) => Some(ext),
            None => {
                let core = urn
                    .get(..CORE_SCHEMA_PREFIX.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX));
                core.then_some(scope)
            }
        },
        _ => Some(scope),
    };
    let mut top = Vec::new();
    if let Some(v) = base.and_then(|b| get_ci(b, &attr.name)) {
        flatten(v, &mut top);
    }
    match &attr.sub_attr {
        None => top,
        Some(sub) => {
            let mut out = Vec::new();
            for v in top {
                if let Some(s) = get_ci(v, sub) {
                    flatten(s, &mut out);
                }
            }
            out
        }
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare(found: &Value, op: CompareOp, want: &CompValue, kind: AttrKind, exact: bool) -> bool {
    match (found, want) {
        (Value::Bool(a), CompValue::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        (Value::Number(a), CompValue::Number(b)) => {
            if op.is_substring() {
                return false;
            }
            let ord = match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
                (Some(a), Some(b), ..) => Some(a.cmp(&b)),
                (.., Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
            };
            ord.is_some_and(|o| ordering_matches(op, o))
        }
        (Value::String(a), CompValue::String(b)) => {
            if kind == AttrKind::DateTime
                && !op.is_substring()
                && let (Some(a), Some(b)) = (parse_instant(a), parse_instant(b))
            {
                return ordering_matches(op, a.cmp(&b));
            }
            if exact || kind == AttrKind::Binary || kind == AttrKind::DateTime {
                string_matches(a, op, b)
            } else {
                string_matches(&a.to_lowercase(), op, &b.to_lowercase())
            }
        }
        _ => false,
    }
}

fn string_matches(a: &str, op: CompareOp, b: &str) -> bool {
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => ordering_matches(op, a.cmp(b)),
    }
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// An RFC 3339 instant; xsd:dateTime also allows leaving out the offset, read as UTC.
fn parse_instant(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok().or_else(|| {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|naive| naive.and_utc().fixed_offset())
    })
}

/// Refuses filters whose operators or values do not fit the attributes' types: ordering on
/// booleans, binary or complex values; `co`/`sw`/`ew` on non-strings; a value of the wrong
/// JSON type; `[...]` on an attribute that is not complex. Errors are `invalidFilter`.
pub fn validate(filter: &Filter, schema: &dyn AttributeSchema) -> Result<(), ScimError> {
    check(filter, None, schema)
}

fn check(
    filter: &Filter,
    parent: Option<&AttrPath>,
    schema: &dyn AttributeSchema,
) -> Result<(), ScimError> {
    match filter {
        Filter::Present(_) => Ok(()),
        Filter::Compare { attr, op, value } => {
            let absolute = absolute_path(attr, parent);
            check_compare(&absolute, *op, value, schema.kind(&absolute))
        }
        Filter::Not(inner) => check(inner, parent, schema),
        Filter::And(operands) | Filter::Or(operands) => {
            operands.iter().try_for_each(|f| check(f, parent, schema))
        }
        Filter::ValuePath { attr, filter } => {
            let absolute = absolute_path(attr, parent);
            if schema.kind(&absolute) != AttrKind::Complex {
                return Err(type_error(format!(
                    "`{attr}` is not a complex attribute, so `{attr}[...]` selects nothing"
                )));
            }
            check(filter, Some(&absolute), schema)
        }
    }
}

fn type_error(detail: String) -> ScimError {
    ScimError::invalid_filter(ErrorCode::FilterType, detail)
}

fn check_compare(
    attr: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    kind: AttrKind,
) -> Result<(), ScimError> {
    let kind_name = match kind {
        AttrKind::String => "a string",
        AttrKind::Boolean => "a boolean",
        AttrKind::Decimal => "a decimal",
        AttrKind::Integer => "an integer",
        AttrKind::DateTime => "a dateTime",
        AttrKind::Reference => "a reference",
        AttrKind::Complex => "complex",
        AttrKind::Binary => "binary",
    };
    if matches!(value, CompValue::Null) {
        return match op {
            CompareOp::Eq | CompareOp::Ne => Ok(()),
            _ => Err(type_error(format!(
                "`{attr} {op} null`: only eq and ne compare with null"
            ))),
        };
    }
    if op.is_ordering()
        && matches!(
            kind,
            AttrKind::Boolean | AttrKind::Binary | AttrKind::Complex
        )
    {
        return Err(type_error(format!(
            "`{attr}` is {kind_name}: `{op}` does not apply to it"
        )));
    }
    if op.is_substring()
        && matches!(
            kind,
            AttrKind::Boolean | AttrKind::Decimal | AttrKind::Integer
        )
    {
        return Err(type_error(format!(
            "`{attr}` is {kind_name}: `{op}` applies only to strings"
        )));
    }
    let fits = match kind {
        AttrKind::Boolean => matches!(value, CompValue::Bool(_)),
        AttrKind::Integer | AttrKind::Decimal => matches!(value, CompValue::Number(_)),
        AttrKind::DateTime => match value {
            CompValue::String(s) => op.is_substring() || parse_instant(s).is_some(),
            _ => false,
        },
        AttrKind::String | AttrKind::Reference | AttrKind::Binary | AttrKind::Complex => {
            matches!(value, CompValue::String(_))
        }
    };
    if fits {
        Ok(())
    } else {
        let hint = if kind == AttrKind::DateTime {
            " (RFC 3339, e.g. \"2011-05-13T04:42:34Z\")"
        } else {
            ""
        };
        Err(type_error(format!(
            "`{attr}` is {kind_name}: {value} is not a value of that type{hint}"
        )))
    }
}
