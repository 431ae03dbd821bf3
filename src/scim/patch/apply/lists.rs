//! Multi-valued attributes: a list as a whole (add appends without duplicates, replace
//! replaces, remove removes all or the listed values) and the values a filter selects.

use super::super::values::{
    coerce, eq_seed, is_primary, key_ci, put, same_value, settle_primary, take, value_error,
    value_list,
};
use super::{Engine, prune, with_sub};
use crate::scim::error::ScimError;
use crate::scim::filter::{AttrPath, Filter, matches, validate};
use crate::scim::patch::PatchOpKind;
use crate::scim::schema::AttributeSchema;
use serde_json::{Map, Value};

impl Engine<'_> {
    /// A multi-valued attribute as a whole: add appends, replace replaces the list, remove
    /// removes it (or, with a `value` list, only those values).
    pub(super) fn whole_list(
        &self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        top: &AttrPath,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let items = match value {
            Some(v) => value_list(v, top, self.schema)?,
            None => Vec::new(),
        };
        let create = kind != PatchOpKind::Remove && !items.is_empty();
        let Some(c) = self.container(root, top, create)? else {
            return Ok(());
        };
        match kind {
            PatchOpKind::Remove if items.is_empty() => {
                take(c, &top.name);
            }
            PatchOpKind::Remove => {
                if let Some(list) = list_mut(c, &top.name, self.schema, false) {
                    list.retain(|el| !items.iter().any(|gone| removes(gone, el)));
                }
            }
            PatchOpKind::Replace => {
                let mut kept: Vec<Value> = Vec::with_capacity(items.len());
                for item in items {
                    if !kept.iter().any(|k| same_value(k, &item)) {
                        kept.push(item);
                    }
                }
                let all: Vec<usize> = (0..kept.len()).collect();
                settle_primary(&mut kept, &all, top)?;
                if kept.is_empty() {
                    take(c, &top.name);
                } else {
                    put(c, &top.name, Value::Array(kept), self.schema);
                }
            }
            PatchOpKind::Add => {
                if let Some(list) = list_mut(c, &top.name, self.schema, create) {
                    let mut written = Vec::new();
                    for item in items {
                        match list.iter().position(|el| same_value(el, &item)) {
                            Some(pos) => {
                                if is_primary(&item)
                                    && let Some(Value::Object(el)) = list.get_mut(pos)
                                {
                                    put(el, "primary", Value::Bool(true), self.schema);
                                    written.push(pos);
                                }
                            }
                            None => {
                                list.push(item);
                                written.push(list.len() - 1);
                            }
                        }
                    }
                    settle_primary(list, &written, top)?;
                }
            }
        }
        prune(c, &top.name);
        Ok(())
    }

    /// Values of a multi-valued attribute that `filter` selects (all of them without one),
    /// or their sub-attribute `sub`.
    pub(super) fn elements(
        &self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        top: &AttrPath,
        filter: Option<&Filter>,
        sub: Option<&str>,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let selector = match filter {
            Some(f) => {
                let wrapped = Filter::ValuePath {
                    attr: AttrPath::new(top.name.clone()),
                    filter: Box::new(f.clone()),
                };
                validate(&wrapped, self.schema)?;
                Some(wrapped)
            }
            None => None,
        };
        let selects = |el: &Value| match &selector {
            None => true,
            Some(wrapped) => {
                let mut scope = Map::new();
                scope.insert(top.name.clone(), Value::Array(vec![el.clone()]));
                matches(wrapped, &Value::Object(scope), self.schema)
            }
        };
        let new = match (kind, value) {
            (PatchOpKind::Add, Some(Value::Null)) => return Ok(()),
            (PatchOpKind::Remove, _) | (_, Some(Value::Null)) => None,
            (_, Some(v)) => Some(match sub {
                Some(s) => coerce(v.clone(), &with_sub(top, s), self.schema)?,
                None => one_object(coerce(unwrap_single(v), top, self.schema)?, top)?,
            }),
            (_, None) => return Err(value_error(format!("{kind} needs a `value`"))),
        };
        let create = kind == PatchOpKind::Add;
        let Some(c) = self.container(root, top, create)? else {
            return no_match(kind, top, filter);
        };
        let Some(list) = list_mut(c, &top.name, self.schema, create) else {
            return no_match(kind, top, filter);
        };
        let chosen: Vec<usize> = (0..list.len())
            .filter(|&i| list.get(i).is_some_and(&selects))
            .collect();
        let touches_primary = sub.is_some_and(|s| s.eq_ignore_ascii_case("primary"))
            || new.as_ref().is_some_and(is_primary);
        match new {
            None => {
                match sub {
                    None => {
                        let mut i = 0;
                        list.retain(|_| {
                            let keep = !chosen.contains(&i);
                            i += 1;
                            keep
                        });
                    }
                    Some(s) => {
                        for &i in &chosen {
                            if let Some(Value::Object(el)) = list.get_mut(i) {
                                take(el, s);
                            }
                        }
                        list.retain(|el| el.as_object().is_none_or(|m| !m.is_empty()));
                    }
                }
                prune(c, &top.name);
                return Ok(());
            }
            Some(new) if chosen.is_empty() => {
                // Entra adds `addresses[type eq "work"].locality` to a user with no work
                // address: the filter's `eq` comparisons describe the value to create.
                let mut element = match (kind, filter.and_then(eq_seed)) {
                    (PatchOpKind::Add, Some(seed)) => seed,
                    _ => return no_match(kind, top, filter),
                };
                match (sub, new) {
                    (Some(s), v) => put(&mut element, s, v, self.schema),
                    (None, Value::Object(fields)) => {
                        for (k, v) in fields {
                            put(&mut element, &k, v, self.schema);
                        }
                    }
                    (None, _) => {}
                }
                let element = coerce(Value::Object(element), top, self.schema)?;
                list.push(element);
                let written = [list.len() - 1];
                if touches_primary {
                    settle_primary(list, &written, top)?;
                }
            }
            Some(new) => {
                for &i in &chosen {
                    let Some(el) = list.get_mut(i) else { continue };
                    match (sub, kind, &new) {
                        (None, PatchOpKind::Replace, _) => *el = new.clone(),
                        (None, _, Value::Object(fields)) => {
                            if let Value::Object(target) = el {
                                for (k, v) in fields {
                                    put(target, k, v.clone(), self.schema);
                                }
                            } else {
                                *el = new.clone();
                            }
                        }
                        (None, ..) => *el = new.clone(),
                        (Some(s), ..) => match el {
                            Value::Object(target) => put(target, s, new.clone(), self.schema),
                            _ => {
                                return Err(value_error(format!(
                                    "a value of `{top}` is not an object, so it has no `{s}`"
                                )));
                            }
                        },
                    }
                }
                if touches_primary {
                    settle_primary(list, &chosen, top)?;
                }
            }
        }
        Ok(())
    }
}

/// The list stored under `name` (a lone value stored where a list belongs becomes a list).
fn list_mut<'c>(
    c: &'c mut Map<String, Value>,
    name: &str,
    schema: &dyn AttributeSchema,
    create: bool,
) -> Option<&'c mut Vec<Value>> {
    let key = match key_ci(c, name) {
        Some(key) => key,
        None if create => schema.canonical_name(name).unwrap_or(name).to_owned(),
        None => return None,
    };
    let slot = c.entry(key).or_insert(Value::Null);
    match slot {
        Value::Null if !create => return None,
        Value::Null => *slot = Value::Array(Vec::new()),
        Value::Array(_) => {}
        _ => *slot = Value::Array(vec![slot.take()]),
    }
    slot.as_array_mut()
}

/// Whether a value listed in `remove`'s `value` removes `el`: the same `value`
/// sub-attribute when it gives one (Entra: `[{"value": "<id>"}]`), else the same value.
fn removes(gone: &Value, el: &Value) -> bool {
    let id = |v: &Value| {
        v.as_object()
            .and_then(|m| crate::scim::patch::member(m, "value"))
            .cloned()
    };
    match (id(gone), id(el)) {
        (Some(a), Some(b)) => a == b,
        _ => same_value(gone, el),
    }
}

/// A one-element list given where one value is expected is that value.
fn unwrap_single(v: &Value) -> Value {
    match v {
        Value::Array(items) if items.len() == 1 => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

fn one_object(v: Value, top: &AttrPath) -> Result<Value, ScimError> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(value_error(format!(
            "a value of `{top}` selected by a filter is replaced by an object, not {v}"
        )))
    }
}

/// `replace` (or an `add` that cannot create a value) that selects nothing is `noTarget`;
/// `remove` of nothing succeeds (idempotent).
fn no_match(kind: PatchOpKind, top: &AttrPath, filter: Option<&Filter>) -> Result<(), ScimError> {
    match (kind, filter) {
        (PatchOpKind::Remove, _) => Ok(()),
        (_, Some(f)) => Err(ScimError::no_target(format!(
            "no value of `{top}` matches `{f}`"
        ))),
        (_, None) => Err(ScimError::no_target(format!("`{top}` has no values"))),
    }
}
