//! What filters and PATCH need to know about attributes: their type ([`AttrKind`]), whether
//! string comparison is case-sensitive (`caseExact`), and for PATCH whether they are
//! multi-valued, their [`Mutability`], whether they are required and their canonical
//! spelling, behind the small [`AttributeSchema`] trait.
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

/// RFC 7643 §7 `mutability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    /// May be set once, when it has no value; never changed or removed afterwards.
    Immutable,
    WriteOnly,
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

/// Multi-valued attributes of RFC 7643 §4.1.2, §4.2 and §4.3 (normalized names).
const MULTI_VALUED: &[&str] = &[
    "emails",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509certificates",
    "members",
];

/// Read-only attributes (a User's `groups` is derived from Group memberships).
const READ_ONLY: &[&str] = &["id", "meta", "groups"];

/// The spelling of every User, Group and enterprise User (sub-)attribute name of RFC 7643.
const CANONICAL_NAMES: &[&str] = &[
    "id",
    "externalId",
    "meta",
    "userName",
    "name",
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "streetAddress",
    "locality",
    "region",
    "postalCode",
    "country",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "members",
    "value",
    "display",
    "type",
    "primary",
    "$ref",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
    "created",
    "lastModified",
    "location",
    "version",
    "resourceType",
];

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
    fn multi_valued(&self, path: &AttrPath) -> bool {
        path.sub_attr.is_none() && MULTI_VALUED.contains(&path.normalized_name().as_str())
    }
    fn mutability(&self, path: &AttrPath) -> Mutability {
        let top = path.name.to_ascii_lowercase();
        if READ_ONLY.contains(&top.as_str()) {
            Mutability::ReadOnly
        } else if top == "password" {
            Mutability::WriteOnly
        } else {
            Mutability::ReadWrite
        }
    }
    fn required(&self, path: &AttrPath) -> bool {
        path.sub_attr.is_none() && path.name.eq_ignore_ascii_case("userName")
    }
    fn canonical_name(&self, name: &str) -> Option<&str> {
        CANONICAL_NAMES
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .copied()
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
