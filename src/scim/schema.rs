//! What filters need to know about attributes: their type ([`AttrKind`]) and whether string
//! comparison is case-sensitive (`caseExact`), behind the small [`AttributeSchema`] trait.
//!
//! [`CoreSchema`] answers for the User, Group and enterprise User attributes of RFC 7643
//! §4 and §8.7; attributes it does not know are case-insensitive strings, which is how an
//! unknown attribute in a filter behaves (it simply has no value to match).

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
}

/// The standard attributes of Users, Groups and the enterprise User extension.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreSchema;

/// `(normalized name, kind, caseExact)`; anything missing is a case-insensitive string.
const CORE_ATTRIBUTES: &[(&str, AttrKind, bool)] = {
    use AttrKind::*;
    &[
        ("id", String, true),
        ("externalid", String, true),
        ("active", Boolean, false),
        ("password", String, true),
        ("profileurl", Reference, false),
        ("name", Complex, false),
        ("emails", Complex, false),
        ("emails.primary", Boolean, false),
        ("phonenumbers", Complex, false),
        ("phonenumbers.primary", Boolean, false),
        ("ims", Complex, false),
        ("ims.primary", Boolean, false),
        ("photos", Complex, false),
        ("photos.value", Reference, false),
        ("photos.primary", Boolean, false),
        ("addresses", Complex, false),
        ("addresses.primary", Boolean, false),
        ("groups", Complex, false),
        ("groups.$ref", Reference, false),
        ("entitlements", Complex, false),
        ("entitlements.primary", Boolean, false),
        ("roles", Complex, false),
        ("roles.primary", Boolean, false),
        ("x509certificates", Complex, false),
        ("x509certificates.value", Binary, true),
        ("x509certificates.primary", Boolean, false),
        ("members", Complex, false),
        ("members.$ref", Reference, false),
        ("manager", Complex, false),
        ("manager.$ref", Reference, false),
        ("meta", Complex, false),
        ("meta.created", DateTime, false),
        ("meta.lastmodified", DateTime, false),
        ("meta.location", Reference, true),
        ("meta.version", String, true),
        ("meta.resourcetype", String, true),
    ]
};

impl CoreSchema {
    fn lookup(path: &AttrPath) -> Option<(AttrKind, bool)> {
        let key = path.normalized_name();
        CORE_ATTRIBUTES
            .iter()
            .find(|(name, ..)| *name == key)
            .map(|&(_, kind, exact)| (kind, exact))
    }
}

impl AttributeSchema for CoreSchema {
    fn case_exact(&self, path: &AttrPath) -> bool {
        Self::lookup(path).is_some_and(|(_, exact)| exact)
    }
    fn kind(&self, path: &AttrPath) -> AttrKind {
        Self::lookup(path).map_or(AttrKind::String, |(kind, _)| kind)
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
    }
}
