//! What filters and PATCH need to know about attributes: their type ([`AttrKind`]), whether
//! string comparison is case-sensitive (`caseExact`), and for PATCH whether they are
//! multi-valued, their [`Mutability`], whether they are required and their canonical
//! spelling, behind the small [`AttributeSchema`] trait.
//!
//! [`CoreSchema`] answers for the User, Group and enterprise User attributes of RFC 7643
//! §4 and §8.7, from [`super::definitions`]; attributes it does not know are case-insensitive strings, which is how an
//! unknown attribute in a filter behaves (it simply has no value to match).

use super::definitions::{
    AttributeDef, COMMON, ENTERPRISE_USER, GROUP, SCHEMAS, SchemaDef, USER, is_core_urn,
};
use super::filter::AttrPath;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// SCIM attribute data types (RFC 7643 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttrKind {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

/// The attribute facts a filter needs. `path` is absolute: inside `emails[type eq "work"]`
/// the evaluator asks about `emails.type`. Implementations compare names
/// case-insensitively (see [`AttrPath::normalized_name`]).
pub trait AttributeSchema {
    fn case_exact(&self, path: &AttrPath) -> bool;
    fn kind(&self, path: &AttrPath) -> AttrKind;

    /// Whether the attribute holds a list of values (RFC 7643 `multiValued`).
    fn multi_valued(&self, _path: &AttrPath) -> bool {
        false
    }

    /// Whether and how a client may change the attribute (RFC 7643 §7 `mutability`); a
    /// sub-attribute of a read-only attribute is read-only too.
    fn mutability(&self, _path: &AttrPath) -> Mutability {
        Mutability::ReadWrite
    }

    /// Whether the attribute must keep a value (RFC 7643 `required`), e.g. `userName`.
    fn required(&self, _path: &AttrPath) -> bool {
        false
    }

    /// The attribute or sub-attribute name as the schema spells it (`givenName` for
    /// `GIVENNAME`), used when PATCH creates a key; `None` keeps the client's spelling.
    fn canonical_name(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// RFC 7643 §7 `mutability` (defined with the attribute definitions).
pub use super::definitions::Mutability;

/// The standard attributes of Users, Groups and the enterprise User extension, answered
/// from [`super::definitions`] (the one source of truth).
///
/// It serves filters on either resource type, so a path without a schema URN is looked up
/// in the common and User attributes, then the Group's, then the enterprise extension's
/// (so `manager.$ref` still reads as a reference); a path with a URN only in that schema.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreSchema;

impl CoreSchema {
    fn lookup(path: &AttrPath) -> Option<&'static AttributeDef> {
        let find = |schema: &SchemaDef| {
            let top = schema.attribute(&path.name)?;
            match &path.sub_attr {
                Some(sub) => top.sub_attribute(sub),
                None => Some(top),
            }
        };
        match &path.schema {
            Some(urn) => SCHEMAS
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(urn))
                .and_then(|s| find(s).or_else(|| find(&COMMON).filter(|_| is_core_urn(urn)))),
            None => [&COMMON, &USER, &GROUP, &ENTERPRISE_USER]
                .into_iter()
                .find_map(find),
        }
    }
}

impl AttributeSchema for CoreSchema {
    fn case_exact(&self, path: &AttrPath) -> bool {
        Self::lookup(path).is_some_and(|d| d.case_exact)
    }
    fn kind(&self, path: &AttrPath) -> AttrKind {
        Self::lookup(path).map_or(AttrKind::String, |d| d.kind)
    }
    fn multi_valued(&self, path: &AttrPath) -> bool {
        path.sub_attr.is_none() && Self::lookup(path).is_some_and(|d| d.multi_valued)
    }
    fn mutability(&self, path: &AttrPath) -> Mutability {
        // A sub-attribute of a read-only attribute is read-only too.
        let top = AttrPath {
            schema: path.schema.clone(),
            name: path.name.clone(),
            sub_attr: None,
        };
        match Self::lookup(&top).map(|d| d.mutability) {
            Some(Mutability::ReadOnly) => Mutability::ReadOnly,
            _ => Self::lookup(path).map_or(Mutability::ReadWrite, |d| d.mutability),
        }
    }
    fn required(&self, path: &AttrPath) -> bool {
        path.sub_attr.is_none() && Self::lookup(path).is_some_and(|d| d.required)
    }
    fn canonical_name(&self, name: &str) -> Option<&str> {
        [&COMMON, &USER, &GROUP, &ENTERPRISE_USER]
            .into_iter()
            .flat_map(|s| s.attributes.iter())
            .flat_map(|a| std::iter::once(a).chain(a.sub_attributes.iter()))
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_is_case_insensitive_on_names() {
        let s = CoreSchema;
        assert_eq!(
            s.kind(&AttrPath::with_sub("META", "lastModified")),
            AttrKind::DateTime
        );
        assert_eq!(s.kind(&AttrPath::new("Active")), AttrKind::Boolean);
        assert!(s.case_exact(&AttrPath::new("externalId")));
        assert!(!s.case_exact(&AttrPath::new("userName")));
        assert_eq!(s.kind(&AttrPath::new("somethingElse")), AttrKind::String);
        assert_eq!(
            s.kind(&AttrPath::with_sub("members", "$ref")),
            AttrKind::Reference
        );
        assert_eq!(
            s.kind(&AttrPath::with_sub("manager", "$ref")),
            AttrKind::Reference
        );
        assert!(s.case_exact(&AttrPath::with_sub("x509Certificates", "value")));
        let dept = AttrPath {
            schema: Some(ENTERPRISE_USER_SCHEMA.to_ascii_uppercase()),
            name: "department".into(),
            sub_attr: None,
        };
        assert_eq!(s.kind(&dept), AttrKind::String);
        let core_meta = AttrPath {
            schema: Some(GROUP_SCHEMA.into()),
            name: "meta".into(),
            sub_attr: Some("created".into()),
        };
        assert_eq!(s.kind(&core_meta), AttrKind::DateTime);
    }

    #[test]
    fn core_schema_patch_facts() {
        let s = CoreSchema;
        assert!(s.multi_valued(&AttrPath::new("Emails")));
        assert!(!s.multi_valued(&AttrPath::with_sub("emails", "value")));
        assert!(!s.multi_valued(&AttrPath::new("name")));
        assert_eq!(
            s.mutability(&AttrPath::with_sub("meta", "created")),
            Mutability::ReadOnly
        );
        assert_eq!(s.mutability(&AttrPath::new("ID")), Mutability::ReadOnly);
        assert_eq!(
            s.mutability(&AttrPath::new("active")),
            Mutability::ReadWrite
        );
        assert!(s.required(&AttrPath::new("username")));
        assert_eq!(s.canonical_name("GIVENNAME"), Some("givenName"));
        assert_eq!(s.canonical_name("custom"), None);
    }
}
