//! Which attributes a response carries (RFC 7644 §3.4.2.5, RFC 7643 §2.2 `returned`).
//!
//! - `attributes=a,b` returns only those (and their sub-attributes), plus what is
//!   `returned: always` (`id`, `schemas`); it takes precedence over `excludedAttributes`.
//! - `excludedAttributes=c` returns the defaults minus those; `always` ones stay.
//! - `returned: never` (`password`) never appears; `returned: request` only when named.
//!
//! Paths compare case-insensitively and may be sub-attributes (`name.givenName`, which
//! keeps or drops that part of every value), extension attributes
//! (`urn:…:enterprise:2.0:User:department`) or a whole extension (`urn:…:enterprise:2.0:User`).
//! Attributes the definitions don't know (an Okta custom extension's) behave as `default`.

use super::definitions::{AttributeDef, ResourceType, ResourceTypeDef, Returned, is_core_urn};
use super::error::ScimError;
use super::filter::AttrPath;
use super::path::Path;
use serde_json::{Map, Value};

/// Reads a comma-separated `attributes` / `excludedAttributes` value. Blank items are
/// skipped (`userName,` is one path); a value filter (`emails[type eq "work"]`) is refused.
pub fn parse_attribute_list(text: &str) -> Result<Vec<AttrPath>, ScimError> {
    let mut paths = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match Path::parse(item) {
            Ok(Path::Attribute(attr)) => paths.push(attr),
            Ok(Path::Filtered { .. }) => {
                return Err(ScimError::invalid_value(format!(
                    "attribute lists name attributes, not filters: {item:?}"
                )));
            }
            // A whole extension whose URN does not end like an attribute name
            // (`urn:okta:custom:user:1.0`): keep it as `schema:name` for matching.
            Err(_) if is_urn(item) && !item.contains(char::is_whitespace) => {
                if let Some((schema, name)) = item.rsplit_once(':') {
                    paths.push(AttrPath {
                        schema: Some(schema.to_owned()),
                        name: name.to_owned(),
                        sub_attr: None,
                    });
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(paths)
}

fn is_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Applies `attributes` / `excludedAttributes` and the `returned` characteristic to a
/// rendered resource. `None` or an empty `attributes` means "the defaults".
pub fn project(
    resource: &mut Value,
    attributes: Option<&[AttrPath]>,
    excluded: Option<&[AttrPath]>,
    resource_type: ResourceType,
) {
    project_with(resource, attributes, excluded, resource_type.def());
}

/// Whether the top-level attribute `path` (e.g. `members`) will be in the response, so the
/// caller can avoid loading what would be dropped.
pub fn wants_attribute(
    path: &AttrPath,
    attributes: Option<&[AttrPath]>,
    excluded: Option<&[AttrPath]>,
    resource_type: ResourceType,
) -> bool {
    let def = resource_type.def();
    let mode = Mode::new(attributes, excluded, &def.schema_urns());
    let target = Target::of(path, &def.schema_urns());
    let attr_def = def.top_level(target.ext.as_deref(), target.attr.as_deref().unwrap_or(""));
    let scope = Scope::of(&mode, target.ext.as_deref());
    match target.attr {
        Some(name) => scope.decide(&name, attr_def) != Decision::Drop,
        None => !matches!(scope, Scope::Dropped),
    }
}

pub(crate) fn project_with(
    resource: &mut Value,
    attributes: Option<&[AttrPath]>,
    excluded: Option<&[AttrPath]>,
    def: &ResourceTypeDef,
) {
    let Some(fields) = resource.as_object_mut() else {
        return;
    };
    let mut urns: Vec<String> = def.schema_urns().into_iter().map(str::to_owned).collect();
    urns.extend(fields.keys().filter(|k| is_urn(k)).cloned());
    let urns: Vec<&str> = urns.iter().map(String::as_str).collect();
    let mode = Mode::new(attributes, excluded, &urns);
    let core = Scope::of(&mode, None);
    let old = std::mem::take(fields);
    for (key, mut value) in old {
        if key == "schemas" {
            fields.insert(key, value);
            continue;
        }
        if is_urn(&key) && value.is_object() {
            let scope = Scope::of(&mode, Some(&key));
            let ext = def.extension(&key);
            if project_object(&mut value, &scope, |name| {
                ext.and_then(|e| e.attribute(name))
            }) {
                fields.insert(key, value);
            }
            continue;
        }
        let attr_def = def.top_level(None, &key);
        if project_value(&key, &mut value, attr_def, &core) {
            fields.insert(key, value);
        }
    }
}

/// Projects the attributes of one object (the resource's top level or an extension's);
/// false when nothing is left of it.
fn project_object(
    value: &mut Value,
    scope: &Scope,
    lookup: impl Fn(&str) -> Option<&'static AttributeDef>,
) -> bool {
    let Some(fields) = value.as_object_mut() else {
        return false;
    };
    let old = std::mem::take(fields);
    for (key, mut v) in old {
        if project_value(&key, &mut v, lookup(&key), scope) {
            fields.insert(key, v);
        }
    }
    !fields.is_empty()
}

fn project_value(
    name: &str,
    value: &mut Value,
    def: Option<&'static AttributeDef>,
    scope: &Scope,
) -> bool {
    match scope.decide(name, def) {
        Decision::Drop => false,
        Decision::Keep => {
            filter_subs(value, def, |_, returned| {
                !matches!(returned, Returned::Never | Returned::Request)
            });
            true
        }
        Decision::KeepAll => true,
        Decision::Only(subs) => filter_subs(value, def, |sub, returned| {
            returned == Returned::Always
                || (returned != Returned::Never && subs.iter().any(|s| s.eq_ignore_ascii_case(sub)))
        }),
        Decision::Without(subs) => filter_subs(value, def, |sub, returned| {
            returned == Returned::Always
                || (matches!(returned, Returned::Default)
                    && !subs.iter().any(|s| s.eq_ignore_ascii_case(sub)))
        }),
    }
}

/// Keeps the sub-attributes `keep(name, returned)` accepts (names compare
/// case-insensitively: the callers' lists are lower case), in the object or in
/// each object of an array (dropping values left empty); false when nothing is left.
/// Values that are not complex are kept as they are.
fn filter_subs(
    value: &mut Value,
    def: Option<&AttributeDef>,
    keep: impl Fn(&str, Returned) -> bool,
) -> bool {
    let filter_object = |object: &mut Map<String, Value>| {
        object.retain(|k, _| {
            let returned = def
                .and_then(|d| d.sub_attribute(k))
                .map_or(Returned::Default, |d| d.returned);
            keep(k, returned)
        });
        !object.is_empty()
    };
    match value {
        Value::Object(object) => filter_object(object),
        Value::Array(items) => {
            items.retain_mut(|item| match item {
                Value::Object(object) => filter_object(object),
                _ => true,
            });
            !items.is_empty()
        }
        _ => true,
    }
}

/// A requested or excluded path, lowercased: an extension (`None` = core), an attribute
/// (`None` = the whole extension) and a sub-attribute.
struct Target {
    ext: Option<String>,
    attr: Option<String>,
    sub: Option<String>,
}

impl Target {
    fn of(path: &AttrPath, urns: &[&str]) -> Self {
        let lower = |s: &str| s.to_ascii_lowercase();
        if let (Some(schema), None) = (&path.schema, &path.sub_attr) {
            let whole = format!("{schema}:{}", path.name);
            if let Some(urn) = urns.iter().find(|u| u.eq_ignore_ascii_case(&whole)) {
                return Self {
                    ext: (!is_core_urn(urn)).then(|| lower(urn)),
                    attr: None,
                    sub: None,
                };
            }
        }
        Self {
            ext: path
                .schema
                .as_deref()
                .filter(|s| !is_core_urn(s))
                .map(lower),
            attr: Some(lower(&path.name)),
            sub: path.sub_attr.as_deref().map(lower),
        }
    }
}

enum Mode {
    /// `attributes` was given: only these.
    Only(Vec<Target>),
    /// The defaults, without these.
    Without(Vec<Target>),
}

impl Mode {
    fn new(attributes: Option<&[AttrPath]>, excluded: Option<&[AttrPath]>, urns: &[&str]) -> Self {
        let targets = |paths: &[AttrPath]| paths.iter().map(|p| Target::of(p, urns)).collect();
        match attributes.filter(|a| !a.is_empty()) {
            Some(requested) => Self::Only(targets(requested)),
            None => Self::Without(excluded.map(targets).unwrap_or_default()),
        }
    }
}

/// What applies inside one object: the core attributes or one extension's.
enum Scope {
    /// `attributes` named the whole extension: its defaults.
    All,
    /// Only the (attribute, sub-attribute) pairs named, plus `always`.
    Only(Vec<(String, Option<String>)>),
    /// The defaults without these.
    Without(Vec<(String, Option<String>)>),
    /// `excludedAttributes` named the whole extension (or `attributes` named nothing in it):
    /// only `always` attributes.
    Dropped,
}

impl Scope {
    fn of(mode: &Mode, ext: Option<&str>) -> Self {
        let ext = ext.map(str::to_ascii_lowercase);
        let (targets, only) = match mode {
            Mode::Only(t) => (t, true),
            Mode::Without(t) => (t, false),
        };
        let here: Vec<&Target> = targets.iter().filter(|t| t.ext == ext).collect();
        let whole = here.iter().any(|t| t.attr.is_none());
        let pairs = || {
            here.iter()
                .filter_map(|t| Some((t.attr.clone()?, t.sub.clone())))
                .collect()
        };
        match (only, whole) {
            (true, true) => Self::All,
            (true, false) if here.is_empty() && ext.is_some() => Self::Dropped,
            (true, false) => Self::Only(pairs()),
            (false, true) => Self::Dropped,
            (false, false) => Self::Without(pairs()),
        }
    }

    fn decide(&self, name: &str, def: Option<&AttributeDef>) -> Decision {
        let returned = def.map_or(Returned::Default, |d| d.returned);
        match returned {
            Returned::Never => return Decision::Drop,
            Returned::Always => return Decision::KeepAll,
            Returned::Default | Returned::Request => {}
        }
        // The pairs are lower case; `name` is compared without allocating its lower case.
        let subs = |pairs: &[(String, Option<String>)]| -> (bool, Vec<String>) {
            let direct = pairs
                .iter()
                .any(|(a, s)| a.eq_ignore_ascii_case(name) && s.is_none());
            let subs = pairs
                .iter()
                .filter(|(a, _)| a.eq_ignore_ascii_case(name))
                .filter_map(|(_, s)| s.clone())
                .collect();
            (direct, subs)
        };
        match self {
            Self::Dropped => Decision::Drop,
            Self::All if returned == Returned::Request => Decision::Drop,
            Self::All => Decision::Keep,
            Self::Only(pairs) => match subs(pairs) {
                (true, _) => Decision::Keep,
                (false, subs) if !subs.is_empty() => Decision::Only(subs),
                _ => Decision::Drop,
            },
            Self::Without(_) if returned == Returned::Request => Decision::Drop,
            Self::Without(pairs) => match subs(pairs) {
                (true, _) => Decision::Drop,
                (false, subs) if !subs.is_empty() => Decision::Without(subs),
                _ => Decision::Keep,
            },
        }
    }
}

#[derive(Debug, PartialEq)]
enum Decision {
    Drop,
    /// Keep, without `never`/`request` sub-attributes.
    Keep,
    /// Keep as is (`returned: always`).
    KeepAll,
    /// Keep only these sub-attributes (lowercase), plus `always` ones.
    Only(Vec<String>),
    /// Keep without these sub-attributes (lowercase).
    Without(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::definitions::SchemaDef;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn paths(text: &str) -> Vec<AttrPath> {
        parse_attribute_list(text).unwrap()
    }

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, "urn:okta:custom:user:1.0"],
            "id": "u1",
            "externalId": "00u1",
            "userName": "ana@acme.com",
            "password": "should never leave",
            "name": {"givenName": "Ana", "familyName": "Lima", "formatted": "Ana Lima"},
            "emails": [
                {"value": "ana@acme.com", "type": "work", "primary": true},
                {"value": "ana@home.example", "type": "home"}
            ],
            "active": true,
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "costCenter": "42"},
            "urn:okta:custom:user:1.0": {"favouriteColour": "teal"}
        })
    }

    fn projected(attrs: Option<&str>, excluded: Option<&str>) -> Value {
        let mut v = user();
        let a = attrs.map(paths);
        let e = excluded.map(paths);
        project(&mut v, a.as_deref(), e.as_deref(), ResourceType::User);
        v
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn defaults_drop_never() {
        let v = projected(None, None);
        assert!(v.get("password").is_none());
        let mut expected = user();
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(v, expected);
    }

    #[test]
    fn attributes_keep_only_those_plus_always() {
        let v = projected(Some("USERNAME,name.givenName,password"), None);
        assert_eq!(keys(&v), ["id", "name", "schemas", "userName"]);
        assert_eq!(v["name"], json!({"givenName": "Ana"}));

        let v = projected(Some("emails.value"), None);
        assert_eq!(
            v["emails"],
            json!([{"value": "ana@acme.com"}, {"value": "ana@home.example"}])
        );
    }

    #[test]
    fn excluded_attributes_never_remove_always() {
        let v = projected(None, Some("id,emails,name.formatted,meta"));
        assert_eq!(v["id"], "u1");
        assert!(v.get("emails").is_none() && v.get("meta").is_none());
        assert_eq!(v["name"], json!({"givenName": "Ana", "familyName": "Lima"}));
        assert_eq!(v["userName"], "ana@acme.com");
    }

    #[test]
    fn extension_paths() {
        let v = projected(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
        );
        assert_eq!(keys(&v), ["id", "schemas", ENTERPRISE_USER_SCHEMA]);
        assert_eq!(v[ENTERPRISE_USER_SCHEMA], json!({"department": "Sales"}));

        let v = projected(Some(&ENTERPRISE_USER_SCHEMA.to_ascii_lowercase()), None);
        assert_eq!(v[ENTERPRISE_USER_SCHEMA], user()[ENTERPRISE_USER_SCHEMA]);
        assert!(v.get("userName").is_none());

        let v = projected(None, Some(ENTERPRISE_USER_SCHEMA));
        assert!(v.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(v["urn:okta:custom:user:1.0"]["favouriteColour"], "teal");

        let v = projected(
            None,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"),
        );
        assert_eq!(v[ENTERPRISE_USER_SCHEMA], json!({"department": "Sales"}));

        // A custom extension whose URN ends in a version number.
        let v = projected(Some("userName,urn:okta:custom:user:1.0"), None);
        assert_eq!(v["urn:okta:custom:user:1.0"]["favouriteColour"], "teal");
        assert!(v.get(ENTERPRISE_USER_SCHEMA).is_none());

        // A core URN prefix means the core attribute.
        let v = projected(
            Some("urn:ietf:params:scim:schemas:core:2.0:User:userName"),
            None,
        );
        assert_eq!(keys(&v), ["id", "schemas", "userName"]);
    }

    const SECRET: AttributeDef =
        AttributeDef::string("nickName", "test: only on request").returned(Returned::Request);
    const TEST_SCHEMA: SchemaDef = SchemaDef {
        id: USER_SCHEMA,
        name: "User",
        description: "",
        attributes: &[
            SECRET,
            AttributeDef::string("userName", "").returned(Returned::Always),
            AttributeDef::complex(
                "name",
                "",
                &[
                    AttributeDef::string("givenName", ""),
                    AttributeDef::string("middleName", "").returned(Returned::Request),
                ],
            ),
        ],
    };
    const TEST_TYPE: ResourceTypeDef = ResourceTypeDef {
        name: "User",
        endpoint: "/Users",
        description: "",
        schema: &TEST_SCHEMA,
        extensions: &[],
    };

    #[test]
    fn request_attributes_only_when_named() {
        let base = json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "a", "nickName": "n",
            "name": {"givenName": "g", "middleName": "m"}, "title": "t"
        });
        let run = |a: Option<&str>, e: Option<&str>| {
            let mut v = base.clone();
            let a = a.map(paths);
            let e = e.map(paths);
            project_with(&mut v, a.as_deref(), e.as_deref(), &TEST_TYPE);
            v
        };
        let v = run(None, None);
        assert!(v.get("nickName").is_none());
        assert_eq!(v["name"], json!({"givenName": "g"}));
        assert_eq!(v["userName"], "a");
        let v = run(Some("nickName,name.middleName"), None);
        assert_eq!(keys(&v), ["id", "name", "nickName", "schemas", "userName"]);
        assert_eq!(v["name"], json!({"middleName": "m"}));
        // userName is `always` here: excluding it changes nothing.
        let v = run(None, Some("userName,title"));
        assert_eq!(keys(&v), ["id", "name", "schemas", "userName"]);
    }

    #[test]
    fn wants_attribute_for_members() {
        let members = AttrPath::new("members");
        let g = ResourceType::Group;
        assert!(wants_attribute(&members, None, None, g));
        assert!(!wants_attribute(&members, None, Some(&paths("Members")), g));
        assert!(!wants_attribute(
            &members,
            Some(&paths("displayName")),
            None,
            g
        ));
        assert!(wants_attribute(
            &members,
            Some(&paths("members.value")),
            None,
            g
        ));
        assert!(wants_attribute(
            &members,
            Some(&[]),
            Some(&paths("displayName")),
            g
        ));
        assert!(wants_attribute(
            &AttrPath::new("id"),
            None,
            Some(&paths("id")),
            g
        ));
        assert!(!wants_attribute(
            &AttrPath::new("password"),
            Some(&paths("password")),
            None,
            ResourceType::User
        ));
    }

    #[test]
    fn attribute_lists() {
        assert_eq!(paths(" userName , name.givenName ,").len(), 2);
        assert!(paths("").is_empty());
        assert!(parse_attribute_list(r#"emails[type eq "work"]"#).is_err());
        assert!(parse_attribute_list("a b").is_err());
        let p = paths("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(p[0].schema.as_deref(), Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(p[0].sub_attr.as_deref(), Some("value"));
    }
}
