//! The attribute definitions of RFC 7643: the User (§4.1, §8.7.1), Group (§4.2) and
//! enterprise User extension (§4.3) schemas, the common attributes every resource has
//! (§3.1: `id`, `externalId`, `meta`), and the two resource types that use them.
//!
//! This is the one source of truth for attribute facts: the filter's [`super::CoreSchema`],
//! request parsing ([`super::resource`]), projection ([`super::projection`]) and the
//! `/Schemas` documents ([`super::discovery`]) all read these tables. Names compare
//! case-insensitively (RFC 7643 §2.1); the tables hold the canonical spelling.
//!
//! Deliberate differences from the RFC's §8.7 JSON: the Group's `displayName` is required
//! (as §4.2's prose says; the JSON's `false` is a known erratum), `members` has a `display`
//! sub-attribute (every IdP sends one) which is read-only — memberships are stored as ids,
//! so what a client sends there is ignored (RFC 7644 §3.3) rather than kept —, and
//! `manager.value` is optional (Entra sends a manager with only `displayName` cleared, or
//! none at all).

use super::filter::{AttrPath, CORE_SCHEMA_PREFIX};
use super::schema::{AttrKind, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// RFC 7643 §2.2 `mutability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "readOnly",
            Self::ReadWrite => "readWrite",
            Self::Immutable => "immutable",
            Self::WriteOnly => "writeOnly",
        }
    }
}

/// RFC 7643 §2.2 `returned`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
            Self::Default => "default",
            Self::Request => "request",
        }
    }
}

/// RFC 7643 §2.2 `uniqueness`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Server => "server",
            Self::Global => "global",
        }
    }
}

impl AttrKind {
    /// The `type` keyword of RFC 7643 §2.3.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Decimal => "decimal",
            Self::Integer => "integer",
            Self::DateTime => "dateTime",
            Self::Reference => "reference",
            Self::Complex => "complex",
            Self::Binary => "binary",
        }
    }
}

/// One attribute's characteristics (RFC 7643 §2.2, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: &'static str,
    pub kind: AttrKind,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttributeDef],
}

impl AttributeDef {
    /// A singular, optional, case-insensitive, readWrite string returned by default: the
    /// RFC's defaults (§2.2), which the builder methods below adjust.
    pub const fn string(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            kind: AttrKind::String,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }
    pub const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::string(name, description).kind(AttrKind::Boolean)
    }
    pub const fn reference(
        name: &'static str,
        description: &'static str,
        types: &'static [&'static str],
    ) -> Self {
        let mut def = Self::string(name, description).kind(AttrKind::Reference);
        def.reference_types = types;
        def
    }
    pub const fn complex(
        name: &'static str,
        description: &'static str,
        sub_attributes: &'static [AttributeDef],
    ) -> Self {
        let mut def = Self::string(name, description).kind(AttrKind::Complex);
        def.sub_attributes = sub_attributes;
        def
    }
    pub const fn kind(mut self, kind: AttrKind) -> Self {
        self.kind = kind;
        self
    }
    pub const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    pub const fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }
    pub const fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }
    pub const fn unique(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }
    pub const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    /// The sub-attribute named `name` (case-insensitively).
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }
}

/// A schema (RFC 7643 §7): its URN and attributes.
#[derive(Debug, PartialEq, Eq)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

impl SchemaDef {
    /// The attribute named `name` (case-insensitively).
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        self.attributes
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }
}

/// A resource type (RFC 7643 §6): its endpoint, core schema and extensions.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceTypeDef {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static SchemaDef,
    /// `(schema, required)`.
    pub extensions: &'static [(&'static SchemaDef, bool)],
}

impl ResourceTypeDef {
    /// The core and extension URNs, core first.
    pub fn schema_urns(&self) -> Vec<&'static str> {
        std::iter::once(self.schema.id)
            .chain(self.extensions.iter().map(|(s, _)| s.id))
            .collect()
    }

    /// The extension whose URN is `urn` (case-insensitively).
    pub fn extension(&self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions
            .iter()
            .map(|(s, _)| *s)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The definition of a top-level attribute of the core schema (common attributes
    /// included) or, with `schema`, of that extension.
    pub fn top_level(&self, schema: Option<&str>, name: &str) -> Option<&'static AttributeDef> {
        match schema {
            Some(urn) if !is_core_urn(urn) => self.extension(urn)?.attribute(name),
            Some(urn) if !urn.eq_ignore_ascii_case(self.schema.id) => None,
            _ => COMMON
                .attribute(name)
                .or_else(|| self.schema.attribute(name)),
        }
    }

    /// The definition `path` names, sub-attribute included.
    pub fn attribute(&self, path: &AttrPath) -> Option<&'static AttributeDef> {
        let top = self.top_level(path.schema.as_deref(), &path.name)?;
        match &path.sub_attr {
            Some(sub) => top.sub_attribute(sub),
            None => Some(top),
        }
    }
}

/// Whether `urn` is a core schema's (whose attributes live at the top of a resource).
pub fn is_core_urn(urn: &str) -> bool {
    urn.len() >= CORE_SCHEMA_PREFIX.len()
        && urn[..CORE_SCHEMA_PREFIX.len()].eq_ignore_ascii_case(CORE_SCHEMA_PREFIX)
}

/// The resource types idp-sync serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceType {
    User,
    Group,
}

impl ResourceType {
    pub const ALL: [ResourceType; 2] = [Self::User, Self::Group];

    pub fn def(self) -> &'static ResourceTypeDef {
        match self {
            Self::User => &USER_RESOURCE,
            Self::Group => &GROUP_RESOURCE,
        }
    }
    /// `User` or `Group`, as `meta.resourceType` says it.
    pub fn name(self) -> &'static str {
        self.def().name
    }
    /// `/Users` or `/Groups`.
    pub fn endpoint(self) -> &'static str {
        self.def().endpoint
    }
    pub fn schema_urn(self) -> &'static str {
        self.def().schema.id
    }
}

/// The definition `path` names for `resource_type`: `userName`, `name.givenName`,
/// `urn:…:enterprise:2.0:User:manager.value`, `id`, `meta.version`…
pub fn attribute(resource_type: ResourceType, path: &AttrPath) -> Option<&'static AttributeDef> {
    resource_type.def().attribute(path)
}

/// Every schema idp-sync publishes at `/Schemas`.
pub const SCHEMAS: [&SchemaDef; 3] = [&USER, &ENTERPRISE_USER, &GROUP];

const CANONICAL_TYPES: &[&str] = &["work", "home", "other"];
const PHONE_TYPES: &[&str] = &["work", "home", "mobile", "fax", "pager", "other"];
const IM_TYPES: &[&str] = &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"];
const PHOTO_TYPES: &[&str] = &["photo", "thumbnail"];
const EXTERNAL: &[&str] = &["external"];
const USER_OR_GROUP: &[&str] = &["User", "Group"];

/// `value`, `display`, `type`, `primary`: the usual sub-attributes of a multi-valued
/// attribute (RFC 7643 §2.4).
macro_rules! multi_value_subs {
    ($value:expr, $types:expr) => {
        &[
            $value,
            AttributeDef::string("display", "A human-readable name, primarily for display."),
            AttributeDef::string("type", "A label indicating the attribute's function.")
                .canonical($types),
            AttributeDef::boolean(
                "primary",
                "Whether this is the preferred value; true at most once.",
            ),
        ]
    };
}

/// The attributes every resource has (RFC 7643 §3.1). Not listed in `/Schemas` (the RFC's
/// schema documents leave them out) but known to parsing and projection.
pub const COMMON: SchemaDef = SchemaDef {
    id: "urn:ietf:params:scim:schemas:core:2.0:Common",
    name: "Common",
    description: "Attributes of every resource",
    attributes: &[
        AttributeDef::string("id", "Unique identifier issued by the service provider.")
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .unique(Uniqueness::Server),
        AttributeDef::string(
            "externalId",
            "Identifier issued by the provisioning client.",
        )
        .case_exact(),
        AttributeDef::complex(
            "meta",
            "Resource metadata.",
            &[
                AttributeDef::string("resourceType", "The resource type's name.")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                AttributeDef::string("created", "When the resource was added.")
                    .kind(AttrKind::DateTime)
                    .mutability(Mutability::ReadOnly),
                AttributeDef::string("lastModified", "When the resource was last updated.")
                    .kind(AttrKind::DateTime)
                    .mutability(Mutability::ReadOnly),
                AttributeDef::reference("location", "The resource's URI.", &["uri"])
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                AttributeDef::string("version", "The resource's version (its ETag).")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
            ],
        )
        .mutability(Mutability::ReadOnly),
    ],
};

pub const USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &[
        AttributeDef::string(
            "userName",
            "Unique identifier for the User, used to authenticate; unique per service provider.",
        )
        .required()
        .unique(Uniqueness::Server),
        AttributeDef::complex(
            "name",
            "The components of the user's real name.",
            &[
                AttributeDef::string("formatted", "The full name, formatted for display."),
                AttributeDef::string("familyName", "The family name (last name)."),
                AttributeDef::string("givenName", "The given name (first name)."),
                AttributeDef::string("middleName", "The middle name(s)."),
                AttributeDef::string("honorificPrefix", "The honorific prefix (Ms.)."),
                AttributeDef::string("honorificSuffix", "The honorific suffix (III)."),
            ],
        ),
        AttributeDef::string("displayName", "The name of the User, suitable for display."),
        AttributeDef::string("nickName", "The casual way to address the user."),
        AttributeDef::reference(
            "profileUrl",
            "A URI to the user's online profile.",
            EXTERNAL,
        ),
        AttributeDef::string("title", "The user's title, such as \"Vice President\"."),
        AttributeDef::string(
            "userType",
            "The relationship to the organization (Employee…).",
        ),
        AttributeDef::string("preferredLanguage", "Preferred language (RFC 7231 form)."),
        AttributeDef::string("locale", "Default location for localisation (en-US)."),
        AttributeDef::string("timezone", "Time zone in IANA form (America/Los_Angeles)."),
        AttributeDef::boolean("active", "The user's administrative status."),
        AttributeDef::string("password", "The user's cleartext password; never returned.")
            .mutability(Mutability::WriteOnly)
            .returned(Returned::Never),
        AttributeDef::complex(
            "emails",
            "Email addresses for the user.",
            multi_value_subs!(
                AttributeDef::string("value", "Email address, canonicalised per RFC 5321."),
                CANONICAL_TYPES
            ),
        )
        .multi(),
        AttributeDef::complex(
            "phoneNumbers",
            "Phone numbers for the user.",
            multi_value_subs!(
                AttributeDef::string("value", "Phone number (RFC 3966 form)."),
                PHONE_TYPES
            ),
        )
        .multi(),
        AttributeDef::complex(
            "ims",
            "Instant messaging addresses for the user.",
            multi_value_subs!(
                AttributeDef::string("value", "Instant messaging address."),
                IM_TYPES
            ),
        )
        .multi(),
        AttributeDef::complex(
            "photos",
            "URLs of images of the user.",
            multi_value_subs!(
                AttributeDef::reference("value", "URL of a photo of the user.", EXTERNAL),
                PHOTO_TYPES
            ),
        )
        .multi(),
        AttributeDef::complex(
            "addresses",
            "Physical mailing addresses for the user.",
            &[
                AttributeDef::string("formatted", "The full mailing address."),
                AttributeDef::string("streetAddress", "The full street address."),
                AttributeDef::string("locality", "The city or locality."),
                AttributeDef::string("region", "The state or region."),
                AttributeDef::string("postalCode", "The zip or postal code."),
                AttributeDef::string("country", "The country (ISO 3166-1 alpha-2)."),
                AttributeDef::string("type", "work, home or other.").canonical(CANONICAL_TYPES),
                AttributeDef::boolean("primary", "The preferred mailing address."),
            ],
        )
        .multi(),
        AttributeDef::complex(
            "groups",
            "The groups the user belongs to; managed through the Group resource.",
            &[
                AttributeDef::string("value", "The group's id.").mutability(Mutability::ReadOnly),
                AttributeDef::reference("$ref", "The group's URI.", USER_OR_GROUP)
                    .mutability(Mutability::ReadOnly),
                AttributeDef::string("display", "The group's displayName.")
                    .mutability(Mutability::ReadOnly),
                AttributeDef::string("type", "direct or indirect membership.")
                    .canonical(&["direct", "indirect"])
                    .mutability(Mutability::ReadOnly),
            ],
        )
        .multi()
        .mutability(Mutability::ReadOnly),
        AttributeDef::complex(
            "entitlements",
            "Entitlements of the user.",
            multi_value_subs!(AttributeDef::string("value", "An entitlement."), &[]),
        )
        .multi(),
        AttributeDef::complex(
            "roles",
            "Roles of the user.",
            multi_value_subs!(AttributeDef::string("value", "A role."), &[]),
        )
        .multi(),
        AttributeDef::complex(
            "x509Certificates",
            "X.509 certificates of the user.",
            multi_value_subs!(
                AttributeDef::string("value", "A DER certificate, base64-encoded.")
                    .kind(AttrKind::Binary)
                    .case_exact(),
                &[]
            ),
        )
        .multi(),
    ],
};

pub const ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        AttributeDef::string("employeeNumber", "Identifier assigned by the organization."),
        AttributeDef::string("costCenter", "Name of a cost center."),
        AttributeDef::string("organization", "Name of an organization."),
        AttributeDef::string("division", "Name of a division."),
        AttributeDef::string("department", "Name of a department."),
        AttributeDef::complex(
            "manager",
            "The user's manager.",
            &[
                AttributeDef::string("value", "The manager's id."),
                AttributeDef::reference("$ref", "The manager's URI.", &["User"]),
                AttributeDef::string("displayName", "The manager's displayName.")
                    .mutability(Mutability::ReadOnly),
            ],
        ),
    ],
};

pub const GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: &[
        AttributeDef::string("displayName", "A human-readable name for the Group.").required(),
        AttributeDef::complex(
            "members",
            "The members of the Group.",
            &[
                AttributeDef::string("value", "The member's id.").mutability(Mutability::Immutable),
                AttributeDef::reference("$ref", "The member's URI.", USER_OR_GROUP)
                    .mutability(Mutability::Immutable),
                AttributeDef::string("display", "The member's display name.")
                    .mutability(Mutability::ReadOnly),
                AttributeDef::string("type", "User or Group.")
                    .canonical(USER_OR_GROUP)
                    .mutability(Mutability::Immutable),
            ],
        )
        .multi(),
    ],
};

pub const USER_RESOURCE: ResourceTypeDef = ResourceTypeDef {
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    schema: &USER,
    extensions: &[(&ENTERPRISE_USER, false)],
};

pub const GROUP_RESOURCE: ResourceTypeDef = ResourceTypeDef {
    name: "Group",
    endpoint: "/Groups",
    description: "Group",
    schema: &GROUP,
    extensions: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> AttrPath {
        match crate::scim::Path::parse(text).unwrap() {
            crate::scim::Path::Attribute(p) => p,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn user_name_characteristics() {
        let d = attribute(ResourceType::User, &path("USERNAME")).unwrap();
        assert_eq!(d.name, "userName");
        assert!(d.required && !d.case_exact);
        assert_eq!(d.uniqueness, Uniqueness::Server);
        assert_eq!(d.returned, Returned::Default);
    }

    #[test]
    fn common_and_special_attributes() {
        let id = attribute(ResourceType::Group, &path("id")).unwrap();
        assert_eq!(
            (id.mutability, id.returned),
            (Mutability::ReadOnly, Returned::Always)
        );
        let pw = attribute(ResourceType::User, &path("password")).unwrap();
        assert_eq!(
            (pw.mutability, pw.returned),
            (Mutability::WriteOnly, Returned::Never)
        );
        let groups = attribute(ResourceType::User, &path("groups")).unwrap();
        assert_eq!(groups.mutability, Mutability::ReadOnly);
        let members = attribute(ResourceType::Group, &path("members")).unwrap();
        assert_eq!(members.mutability, Mutability::ReadWrite);
        let subs: Vec<_> = members.sub_attributes.iter().map(|d| d.name).collect();
        assert_eq!(subs, ["value", "$ref", "display", "type"]);
        assert!(attribute(ResourceType::Group, &path("members.$REF")).is_some());
        // Members are a Group's, not a User's.
        assert!(attribute(ResourceType::User, &path("members")).is_none());
        assert_eq!(
            attribute(ResourceType::User, &path("meta.lastModified"))
                .unwrap()
                .kind,
            AttrKind::DateTime
        );
    }

    #[test]
    fn extension_and_core_urn_paths() {
        let manager =
            path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(
            attribute(ResourceType::User, &manager).unwrap().name,
            "value"
        );
        let dept = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:DEPARTMENT");
        assert_eq!(
            attribute(ResourceType::User, &dept).unwrap().name,
            "department"
        );
        // Extension attributes need their URN; core ones may carry theirs.
        assert!(attribute(ResourceType::User, &path("department")).is_none());
        let core = path("urn:ietf:params:scim:schemas:core:2.0:User:userName");
        assert!(attribute(ResourceType::User, &core).is_some());
        let wrong_core = path("urn:ietf:params:scim:schemas:core:2.0:Group:userName");
        assert!(attribute(ResourceType::User, &wrong_core).is_none());
        assert!(attribute(ResourceType::Group, &dept).is_none());
    }

    #[test]
    fn every_name_is_unique_within_its_schema() {
        for schema in SCHEMAS.iter().chain([&&COMMON]) {
            let mut names: Vec<String> = schema
                .attributes
                .iter()
                .map(|d| d.name.to_ascii_lowercase())
                .collect();
            names.sort();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{}", schema.id);
            for d in schema.attributes {
                assert_eq!(d.kind == AttrKind::Complex, !d.sub_attributes.is_empty());
            }
        }
    }
}
