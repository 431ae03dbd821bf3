//! Checks an incoming resource body against the definitions and rewrites it into the form
//! idp-sync stores: canonical attribute names, checked types, booleans as booleans, no
//! nulls, no read-only or write-only attributes, extension data under its canonical URN.
//!
//! Leniencies (each for a client seen in the wild):
//! - attribute and sub-attribute names in any case (RFC 7643 §2.1 makes them insensitive);
//! - `"True"` / `"false"` strings as booleans (Entra);
//! - extension data whose URN is missing from `schemas` (the URN is added);
//! - a flat `urn:…:enterprise:2.0:User:department` key at the top level, as in path-less
//!   PATCH values (stored under the extension);
//! - a singular complex attribute given as a bare string (`"manager": "id"`, Entra) is its
//!   `value`.
//!
//! Unknown attributes of a known schema are dropped and reported in [`Normalized::ignored`]
//! rather than refused: RFC 7644 §3.3 leaves this to the service provider, and refusing
//! would stop an IdP's whole provisioning run over one mapped attribute we don't keep.
//! Objects under unknown extension URNs (Okta custom schemas) are kept as sent.

use crate::scim::definitions::{AttributeDef, Mutability, ResourceTypeDef, is_core_urn};
use crate::scim::error::ScimError;
use crate::scim::schema::AttrKind;
use serde_json::{Map, Value};

/// A body rewritten for storage.
#[derive(Debug, Default)]
pub(crate) struct Normalized {
    pub resource: Map<String, Value>,
    /// Attribute paths that were dropped because no schema defines them.
    pub ignored: Vec<String>,
    /// `writeOnly` values (the password), checked but kept out of `resource`.
    pub write_only: Vec<(&'static str, Value)>,
}

pub(crate) fn is_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

pub(crate) fn normalize(body: &Value, def: &ResourceTypeDef) -> Result<Normalized, ScimError> {
    let Some(fields) = body.as_object() else {
        return Err(ScimError::invalid_syntax(format!(
            "a {} must be a JSON object",
            def.name
        )));
    };
    let mut schemas = read_schemas(fields, def)?;
    let mut out = Normalized::default();
    for (key, value) in fields {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if !is_urn(key) {
            out.attribute(def, None, key, value)?;
            continue;
        }
        if key.eq_ignore_ascii_case(def.schema.id) {
            let object = as_object(key, value)?;
            for (name, v) in object {
                out.attribute(def, None, name, v)?;
            }
        } else if let Some(ext) = def.extension(key) {
            for (name, v) in as_object(key, value)? {
                out.attribute(def, Some(ext.id), name, v)?;
            }
        } else if let Some((urn, name)) = split_qualified(key, def) {
            out.attribute(def, urn, name, value)?;
        } else if is_core_urn(key) {
            out.ignored.push(key.clone()); // another resource type's core schema
        } else if value.is_object() {
            out.resource.insert(key.clone(), value.clone());
        } else if !value.is_null() {
            return Err(ScimError::invalid_value(format!(
                "the extension {key} must be a JSON object"
            )));
        }
    }
    // Every extension with data is declared, whether or not the client listed it.
    for key in out.resource.keys().filter(|k| is_urn(k)) {
        if !schemas.iter().any(|s| s.eq_ignore_ascii_case(key)) {
            schemas.push(key.clone());
        }
    }
    out.resource.insert(
        "schemas".to_owned(),
        Value::Array(schemas.into_iter().map(Value::String).collect()),
    );
    Ok(out)
}

/// `schemas` must be an array of strings naming the resource's core schema. Known URNs
/// are rewritten in their canonical case; duplicates go.
fn read_schemas(
    fields: &Map<String, Value>,
    def: &ResourceTypeDef,
) -> Result<Vec<String>, ScimError> {
    let core = def.schema.id;
    let missing =
        || ScimError::invalid_syntax(format!("schemas must be an array that includes {core}"));
    let list = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(missing)?;
    let mut schemas: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let urn = item.as_str().ok_or_else(missing)?;
        let canonical = def
            .schema_urns()
            .into_iter()
            .find(|u| u.eq_ignore_ascii_case(urn))
            .unwrap_or(urn);
        if !schemas.iter().any(|s| s.eq_ignore_ascii_case(canonical)) {
            schemas.push(canonical.to_owned());
        }
    }
    if !schemas.iter().any(|s| s == core) {
        return Err(missing());
    }
    Ok(schemas)
}

/// `urn:…:enterprise:2.0:User:department` → (the extension's URN, `department`);
/// `urn:…:core:2.0:User:userName` → (None, `userName`).
fn split_qualified<'k>(
    key: &'k str,
    def: &ResourceTypeDef,
) -> Option<(Option<&'static str>, &'k str)> {
    def.schema_urns().into_iter().find_map(|urn| {
        let prefix = key.get(..urn.len())?;
        let rest = key.get(urn.len()..)?.strip_prefix(':')?;
        if !prefix.eq_ignore_ascii_case(urn) || rest.is_empty() {
            return None;
        }
        Some(((!is_core_urn(urn)).then_some(urn), rest))
    })
}

fn as_object<'v>(key: &str, value: &'v Value) -> Result<&'v Map<String, Value>, ScimError> {
    value
        .as_object()
        .ok_or_else(|| ScimError::invalid_value(format!("{key} must be a JSON object")))
}

impl Normalized {
    /// Checks one attribute of the core schema (`ext` None) or of an extension and stores it.
    fn attribute(
        &mut self,
        def: &ResourceTypeDef,
        ext: Option<&'static str>,
        name: &str,
        value: &Value,
    ) -> Result<(), ScimError> {
        let shown = match ext {
            Some(urn) => format!("{urn}:{name}"),
            None => name.to_owned(),
        };
        let Some(attr) = def.top_level(ext, name) else {
            self.ignored.push(shown);
            return Ok(());
        };
        if value.is_null() || attr.mutability == Mutability::ReadOnly {
            return Ok(()); // RFC 7643 §2.5: null is unassigned; §2.2: readOnly is ignored.
        }
        let Some(checked) = self.check(attr, value, &shown)? else {
            return Ok(());
        };
        if attr.mutability == Mutability::WriteOnly {
            self.write_only.push((attr.name, checked));
            return Ok(());
        }
        let target = match ext {
            None => &mut self.resource,
            Some(urn) => {
                let slot = self
                    .resource
                    .entry(urn)
                    .or_insert_with(|| Value::Object(Map::new()));
                match slot.as_object_mut() {
                    Some(object) => object,
                    None => {
                        return Err(ScimError::invalid_value(format!(
                            "{urn} must be a JSON object"
                        )));
                    }
                }
            }
        };
        if target.insert(attr.name.to_owned(), checked).is_some() {
            return Err(ScimError::invalid_syntax(format!(
                "{} is given more than once (names are case-insensitive)",
                attr.name
            )));
        }
        Ok(())
    }

    /// The stored form of `value`, or None when it is empty (an empty list or object is as
    /// good as unassigned).
    fn check(
        &mut self,
        attr: &AttributeDef,
        value: &Value,
        shown: &str,
    ) -> Result<Option<Value>, ScimError> {
        if !attr.multi_valued {
            return self.single(attr, value, shown);
        }
        let Value::Array(items) = value else {
            return Err(ScimError::invalid_value(format!(
                "{shown} must be an array ({} values)",
                attr.kind.as_str()
            )));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter().filter(|v| !v.is_null()) {
            out.extend(self.single(attr, item, shown)?);
        }
        Ok((!out.is_empty()).then_some(Value::Array(out)))
    }

    fn single(
        &mut self,
        attr: &AttributeDef,
        value: &Value,
        shown: &str,
    ) -> Result<Option<Value>, ScimError> {
        if attr.kind != AttrKind::Complex {
            return scalar(attr, value, shown).map(Some);
        }
        let object = match value {
            Value::Object(object) => object,
            // Entra: `"manager": "id"` for `"manager": {"value": "id"}`.
            Value::String(_) if !attr.multi_valued && attr.sub_attribute("value").is_some() => {
                let mut object = Map::new();
                object.insert("value".to_owned(), value.clone());
                return Ok(Some(Value::Object(object)));
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "{shown} must be a JSON object (a complex attribute)"
                )));
            }
        };
        let mut out = Map::new();
        for (name, v) in object {
            let Some(sub) = attr.sub_attribute(name) else {
                self.ignored.push(format!("{shown}.{name}"));
                continue;
            };
            if v.is_null() || sub.mutability == Mutability::ReadOnly {
                continue;
            }
            let checked = scalar(sub, v, &format!("{shown}.{}", sub.name))?;
            if out.insert(sub.name.to_owned(), checked).is_some() {
                return Err(ScimError::invalid_syntax(format!(
                    "{shown}.{} is given more than once",
                    sub.name
                )));
            }
        }
        Ok((!out.is_empty()).then_some(Value::Object(out)))
    }
}

/// A simple (non-complex) value of `attr`'s type.
fn scalar(attr: &AttributeDef, value: &Value, shown: &str) -> Result<Value, ScimError> {
    let wrong = || {
        ScimError::invalid_value(format!(
            "{shown} must be a {}, not {}",
            attr.kind.as_str(),
            json_type(value)
        ))
    };
    let ok = match (attr.kind, value) {
        (AttrKind::String | AttrKind::Reference | AttrKind::Binary, Value::String(_)) => true,
        (AttrKind::Boolean, Value::Bool(_)) => true,
        (AttrKind::Boolean, Value::String(s)) => {
            return match s.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(wrong()),
            };
        }
        (AttrKind::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (AttrKind::Decimal, Value::Number(_)) => true,
        (AttrKind::DateTime, Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        _ => false,
    };
    if ok { Ok(value.clone()) } else { Err(wrong()) }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
