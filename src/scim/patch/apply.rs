//! Applying PATCH operations to a resource's JSON (RFC 7644 §3.5.2.1–3).
//!
//! [`apply`] works on a copy and returns it only when every operation succeeded, so a
//! failing operation never leaves a half-patched resource. [`Engine`] is shared with the
//! group planner, which routes `members` elsewhere and everything else through here.

use super::values::{coerce, key_ci, put, take, unchanged, value_error};
use super::{OpLabel, PatchOpKind, PatchOperation, PatchRequest};
use crate::scim::error::{ErrorCode, ScimError, ScimType};
use crate::scim::filter::{AttrPath, CORE_SCHEMA_PREFIX};
use crate::scim::path::{Path, ValueKey};
use crate::scim::schema::{
    AttrKind, AttributeSchema, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Mutability, USER_SCHEMA,
};
use serde_json::{Map, Value};

mod lists;

/// Applies every operation of `request` to a copy of `resource` and returns the copy; on
/// the first failing operation returns its error (naming the operation) and nothing else.
pub fn apply(
    request: &PatchRequest,
    resource: &Value,
    schema: &dyn AttributeSchema,
) -> Result<Value, ScimError> {
    let mut out = resource.clone();
    let Some(root) = out.as_object_mut() else {
        return Err(value_error("the resource to patch is not a JSON object"));
    };
    let engine = Engine::new(schema, root);
    for (i, op) in request.operations().iter().enumerate() {
        engine
            .apply_operation(root, op)
            .map_err(|e| e.context(OpLabel(i, op)))?;
    }
    engine.finish(root);
    Ok(out)
}

/// Applies operations to one resource; knows the schema URNs path-less keys may use.
pub(super) struct Engine<'s> {
    schema: &'s dyn AttributeSchema,
    urns: Vec<String>,
}

fn is_core(urn: &str) -> bool {
    urn.get(..CORE_SCHEMA_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX))
}

fn is_urn(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// A `schemas` member inside an extension object: clients that serialise the extension as
/// a model of its own (scim2-models does) add it; it is the resource's, not an attribute.
fn is_schemas_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("schemas")
}

fn top_of(attr: &AttrPath) -> AttrPath {
    AttrPath {
        schema: attr.schema.clone(),
        name: attr.name.clone(),
        sub_attr: None,
    }
}

fn with_sub(top: &AttrPath, sub: &str) -> AttrPath {
    AttrPath {
        sub_attr: Some(sub.to_owned()),
        ..top.clone()
    }
}

fn set_schema(path: Path, urn: &str) -> Path {
    let fill = |attr: &mut AttrPath| {
        if attr.schema.is_none() {
            attr.schema = Some(urn.to_owned());
        }
    };
    match path {
        Path::Attribute(mut attr) => {
            fill(&mut attr);
            Path::Attribute(attr)
        }
        Path::Filtered {
            mut attr,
            filter,
            sub_attr,
        } => {
            fill(&mut attr);
            Path::Filtered {
                attr,
                filter,
                sub_attr,
            }
        }
    }
}

/// A `null`, `""`, `[]` or `{}` left behind is the attribute being unassigned.
fn prune(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = key_ci(map, name) {
        let empty = match map.get(&key) {
            Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            _ => false,
        };
        if empty {
            map.remove(&key);
        }
    }
}

impl<'s> Engine<'s> {
    pub(super) fn new(schema: &'s dyn AttributeSchema, root: &Map<String, Value>) -> Self {
        let mut urns: Vec<String> = [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let listed = super::member(root, "schemas")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        let keys = root.keys().map(String::as_str).filter(|k| is_urn(k));
        for urn in listed.chain(keys) {
            if !urns.iter().any(|u| u.eq_ignore_ascii_case(urn)) {
                urns.push(urn.to_owned());
            }
        }
        Self { schema, urns }
    }

    pub(super) fn apply_operation(
        &self,
        root: &mut Map<String, Value>,
        op: &PatchOperation,
    ) -> Result<(), ScimError> {
        match op.path() {
            Some(path) => match self.extension_named(path) {
                Some(urn) => self.whole_extension(root, op.op(), urn, op.value()),
                None => self.at_path(root, op.op(), path, op.value()),
            },
            None => {
                for (path, value) in self.pathless_targets(op.value())? {
                    self.at_path(root, op.op(), &path, Some(value))
                        .map_err(|e| e.context(format_args!("`{path}`")))?;
                }
                Ok(())
            }
        }
    }

    /// The extension a path names as a whole (`urn:…:enterprise:2.0:User`), which reads
    /// like the attribute `User` of a schema `urn:…:enterprise:2.0`. Only URNs this
    /// resource knows count, so an attribute of an unknown schema stays an attribute.
    fn extension_named(&self, path: &Path) -> Option<String> {
        let Path::Attribute(AttrPath {
            schema: Some(schema),
            name,
            sub_attr: None,
        }) = path
        else {
            return None;
        };
        let full = format!("{schema}:{name}");
        self.urns
            .iter()
            .find(|u| !is_core(u) && u.eq_ignore_ascii_case(&full))
            .cloned()
    }

    /// An operation whose path is an extension's URN (RFC 7644 §3.10: the URN is the
    /// extension's attribute container): `remove` unassigns every attribute of it; `add`
    /// and `replace` take an object of its attributes, each applied like a path of its own
    /// (so sub-attributes merge as for any complex attribute); `replace` with `null`
    /// removes it, `add` of `null` changes nothing.
    fn whole_extension(
        &self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        urn: String,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        match (kind, value) {
            (PatchOpKind::Remove, _) | (PatchOpKind::Replace, Some(Value::Null)) => {
                // Left empty, [`Engine::finish`] drops it and its URN from `schemas`.
                if let Some(key) = key_ci(root, &urn) {
                    root.insert(key, Value::Null);
                }
                Ok(())
            }
            (PatchOpKind::Add, Some(Value::Null)) => Ok(()),
            (_, Some(Value::Object(attrs))) => {
                for (name, v) in attrs.iter().filter(|(n, _)| !is_schemas_key(n)) {
                    let path = set_schema(Path::parse(name)?, &urn);
                    self.at_path(root, kind, &path, Some(v))
                        .map_err(|e| e.context(format_args!("`{path}`")))?;
                }
                Ok(())
            }
            _ => Err(value_error(format!(
                "`{urn}` is a schema: the value must be an object of its attributes"
            ))),
        }
    }

    /// The (path, value) pairs of a path-less `add`/`replace` value: plain, dotted and
    /// URN-qualified keys, and schema URN keys whose object holds that schema's attributes.
    pub(super) fn pathless_targets<'v>(
        &self,
        value: Option<&'v Value>,
    ) -> Result<Vec<(Path, &'v Value)>, ScimError> {
        let Some(Value::Object(map)) = value else {
            return Err(value_error(
                "without a `path`, `value` must be an object of attributes",
            ));
        };
        let urns: Vec<&str> = self.urns.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        for (key, v) in map {
            let key_path = match ValueKey::parse(key, &urns)? {
                ValueKey::Attribute(path) => {
                    // An extension nobody listed (`"urn:acme:2.0:User": {…}`) reads like an
                    // attribute `User` of schema `urn:acme:2.0`; an object for a non-complex
                    // attribute means the key is the schema.
                    let unknown_schema = is_urn(key)
                        && v.is_object()
                        && self.schema.kind(&top_of(path.attr())) != AttrKind::Complex;
                    if !unknown_schema {
                        out.push((path, v));
                        continue;
                    }
                    key.clone()
                }
                ValueKey::Schema(urn) => urn,
            };
            let Value::Object(attrs) = v else {
                return Err(value_error(format!(
                    "`{key}` is a schema: its value must be an object of its attributes"
                )));
            };
            for (name, sub) in attrs.iter().filter(|(n, _)| !is_schemas_key(n)) {
                out.push((set_schema(Path::parse(name)?, &key_path), sub));
            }
        }
        Ok(out)
    }

    pub(super) fn at_path(
        &self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        path: &Path,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let attr = path.attr();
        let top = top_of(attr);
        if !self.mutable(root, kind, path, value)? {
            return Ok(());
        }
        if self.schema.required(&top) && matches!(path, Path::Attribute(a) if a.sub_attr.is_none())
        {
            let empties = match (kind, value) {
                (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => true,
                (_, Some(Value::String(s))) => s.is_empty(),
                _ => false,
            };
            if empties {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    ErrorCode::PatchRequired,
                    format!("`{top}` is required: it cannot be removed or emptied"),
                ));
            }
        }
        let multi = self.schema.multi_valued(&top)
            || matches!(self.current(root, &top), Some(Value::Array(_)));
        match path {
            Path::Attribute(a) => match (&a.sub_attr, multi) {
                (None, true) => self.whole_list(root, kind, &top, value),
                (None, false) => self.single(root, kind, &top, value),
                (Some(sub), true) => self.elements(root, kind, &top, None, Some(sub), value),
                (Some(sub), false) => self.single_sub(root, kind, &top, sub, value),
            },
            Path::Filtered {
                filter, sub_attr, ..
            } => {
                if !multi {
                    return Err(ScimError::invalid_path(
                        ErrorCode::PathAttribute,
                        format!("`{top}` is not multi-valued, so `{path}` selects nothing"),
                    ));
                }
                self.elements(root, kind, &top, Some(filter), sub_attr.as_deref(), value)
            }
        }
    }

    /// Whether the operation should go ahead (`false`: it changes nothing and is skipped),
    /// or a `mutability` error.
    fn mutable(
        &self,
        root: &Map<String, Value>,
        kind: PatchOpKind,
        path: &Path,
        value: Option<&Value>,
    ) -> Result<bool, ScimError> {
        let attr = path.attr();
        let server_managed = attr.schema.is_none() && attr.name.eq_ignore_ascii_case("schemas");
        let mutability = if server_managed {
            Mutability::ReadOnly
        } else {
            self.schema.mutability(attr)
        };
        let same = || match (kind, path, value) {
            (PatchOpKind::Remove, ..) => false,
            (_, Path::Attribute(a), Some(v)) => unchanged(self.current(root, a), v),
            _ => false,
        };
        match mutability {
            Mutability::ReadWrite | Mutability::WriteOnly => Ok(true),
            Mutability::ReadOnly if same() => Ok(false),
            Mutability::ReadOnly => Err(ScimError::mutability(format!(
                "`{attr}` is read-only: a PATCH cannot {kind} it"
            ))),
            Mutability::Immutable if same() => Ok(false),
            Mutability::Immutable
                if kind != PatchOpKind::Remove && self.current(root, attr).is_none() =>
            {
                Ok(true)
            }
            Mutability::Immutable => Err(ScimError::mutability(format!(
                "`{attr}` is immutable: it can be set once, never changed or removed"
            ))),
        }
    }

    /// The value at `attr` (`name` or `name.sub`), if any.
    fn current<'r>(&self, root: &'r Map<String, Value>, attr: &AttrPath) -> Option<&'r Value> {
        let container = match &attr.schema {
            Some(urn) if !is_core(urn) => root.get(&key_ci(root, urn)?)?.as_object()?,
            _ => root,
        };
        let v = container.get(&key_ci(container, &attr.name)?)?;
        match &attr.sub_attr {
            None => Some(v),
            Some(sub) => v.as_object().and_then(|m| m.get(&key_ci(m, sub)?)),
        }
    }

    /// The object an attribute lives in: the resource, or its extension's object (created
    /// when `create`).
    fn container<'r>(
        &self,
        root: &'r mut Map<String, Value>,
        top: &AttrPath,
        create: bool,
    ) -> Result<Option<&'r mut Map<String, Value>>, ScimError> {
        let urn = match &top.schema {
            Some(urn) if !is_core(urn) => urn,
            _ => return Ok(Some(root)),
        };
        let key = match key_ci(root, urn) {
            Some(key) => key,
            None if create => self
                .urns
                .iter()
                .find(|u| u.eq_ignore_ascii_case(urn))
                .cloned()
                .unwrap_or_else(|| urn.clone()),
            None => return Ok(None),
        };
        let slot = root.entry(key).or_insert(Value::Null);
        if slot.is_null() {
            if !create {
                return Ok(None);
            }
            *slot = Value::Object(Map::new());
        }
        match slot {
            Value::Object(map) => Ok(Some(map)),
            _ => Err(value_error(format!(
                "the resource's `{urn}` is not an object of extension attributes"
            ))),
        }
    }

    /// A single-valued attribute as a whole.
    fn single(
        &self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        top: &AttrPath,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let value = match (kind, value) {
            (PatchOpKind::Remove, _) | (PatchOpKind::Replace, Some(Value::Null)) => {
                if let Some(c) = self.container(root, top, false)? {
                    take(c, &top.name);
                }
                return Ok(());
            }
            (PatchOpKind::Add, Some(Value::Null)) => return Ok(()),
            (_, Some(v)) => coerce(v.clone(), top, self.schema)?,
            (_, None) => return Err(value_error(format!("{kind} needs a `value`"))),
        };
        let Some(c) = self.container(root, top, true)? else {
            return Ok(());
        };
        let is_complex = self.schema.kind(top) == AttrKind::Complex;
        match value {
            // RFC 7644 §3.5.2.1/3: sub-attributes given are set, the others are kept.
            Value::Object(subs) if is_complex => {
                let key = key_ci(c, &top.name);
                let slot = match key {
                    Some(k) => c.entry(k).or_insert(Value::Null),
                    None => {
                        let k = self.schema.canonical_name(&top.name).unwrap_or(&top.name);
                        c.entry(k.to_owned()).or_insert(Value::Null)
                    }
                };
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(target) = slot {
                    for (sub, v) in subs {
                        if v.is_null() {
                            take(target, &sub);
                        } else {
                            put(target, &sub, v, self.schema);
                        }
                    }
                }
                prune(c, &top.name);
            }
            other => put(c, &top.name, other, self.schema),
        }
        Ok(())
    }

    /// `name.sub` of a single-valued complex attribute.
    fn single_sub(
        &self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        top: &AttrPath,
        sub: &str,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if !matches!(self.schema.kind(top), AttrKind::Complex | AttrKind::String) {
            return Err(ScimError::invalid_path(
                ErrorCode::PathAttribute,
                format!("`{top}` has no sub-attributes"),
            ));
        }
        let full = with_sub(top, sub);
        let new = match (kind, value) {
            (PatchOpKind::Add, Some(Value::Null)) => return Ok(()),
            (PatchOpKind::Remove, _) | (_, Some(Value::Null)) => None,
            (_, Some(v)) => Some(coerce(v.clone(), &full, self.schema)?),
            (_, None) => return Err(value_error(format!("{kind} needs a `value`"))),
        };
        let Some(c) = self.container(root, top, new.is_some())? else {
            return Ok(());
        };
        let key = match (key_ci(c, &top.name), &new) {
            (Some(k), _) => k,
            (None, Some(_)) => self
                .schema
                .canonical_name(&top.name)
                .unwrap_or(&top.name)
                .to_owned(),
            (None, None) => return Ok(()),
        };
        let slot = c.entry(key).or_insert(Value::Null);
        if slot.is_null() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(target) = slot else {
            return Err(ScimError::invalid_path(
                ErrorCode::PathAttribute,
                format!("`{top}` has no sub-attributes"),
            ));
        };
        match new {
            Some(v) => put(target, sub, v, self.schema),
            None => {
                take(target, sub);
            }
        }
        prune(c, &top.name);
        Ok(())
    }

    /// Bookkeeping after the operations: an extension left empty disappears with its URN
    /// from `schemas`; an extension that has attributes is listed in `schemas`. The
    /// extensions' URNs follow the others in `schemas`, in sorted order: one request and
    /// the same operations sent as several leave the same list (the order carries no
    /// meaning, and responses list the extensions a resource holds anyway).
    pub(super) fn finish(&self, root: &mut Map<String, Value>) {
        let extensions: Vec<String> = root
            .keys()
            .filter(|k| is_urn(k) && !is_core(k))
            .cloned()
            .collect();
        let mut listed = Vec::new();
        let mut dropped = Vec::new();
        for key in extensions {
            let empty = match root.get(&key) {
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                root.remove(&key);
                dropped.push(key);
            } else {
                listed.push(key);
            }
        }
        let Some(Value::Array(schemas)) = key_ci(root, "schemas").and_then(|k| root.get_mut(&k))
        else {
            return;
        };
        schemas.retain(|s| {
            s.as_str()
                .is_none_or(|s| !dropped.iter().any(|d| d.eq_ignore_ascii_case(s)))
        });
        for urn in listed {
            let present = schemas
                .iter()
                .filter_map(Value::as_str)
                .any(|s| s.eq_ignore_ascii_case(&urn));
            if !present {
                schemas.push(Value::String(urn));
            }
        }
        // A stable sort: the core schema keeps its place in front.
        schemas.sort_by_cached_key(|s| match s.as_str() {
            Some(urn) if is_urn(urn) && !is_core(urn) => (1, urn.to_ascii_lowercase()),
            _ => (0, String::new()),
        });
    }
}
