//! SCIM errors (RFC 7644 §3.12): an HTTP status, an optional `scimType`, a stable error code
//! users can search for, and a human-readable detail.
//!
//! This module only builds the RFC's JSON body ([`ScimError::to_json`]); turning a
//! [`ScimError`] into an HTTP response belongs to the http layer, so nothing here imports
//! axum.

use serde_json::{Value, json};
use std::fmt;

/// The schema URN of a SCIM error body.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 §3.12, table 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
        }
    }

    /// The HTTP status RFC 7644 pairs with this `scimType`.
    pub const fn status(self) -> u16 {
        match self {
            Self::Uniqueness => 409,
            Self::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stable error codes. Each names one kind of problem; the detail says where and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The filter is longer than [`crate::scim::filter::MAX_FILTER_LEN`].
    FilterTooLong,
    /// Parentheses, `not` and `[...]` are nested deeper than [`crate::scim::filter::MAX_DEPTH`].
    FilterTooDeep,
    /// A character, string or number that is not part of the filter language.
    FilterToken,
    /// Tokens in an order the grammar does not allow (missing operator, unbalanced parens…).
    FilterSyntax,
    /// An attribute path that is not `[urn:…:]name[.subAttr]`.
    FilterAttribute,
    /// A comparison value that is not a JSON string, number, `true`, `false` or `null`.
    FilterValue,
    /// An operator or value that does not apply to the attribute's type (e.g. `active gt true`).
    FilterType,
    /// The PATCH path is longer than [`crate::scim::filter::MAX_FILTER_LEN`].
    PathTooLong,
    /// The PATCH path's value filter is nested too deeply.
    PathTooDeep,
    /// A character, string or number that is not part of the PATCH path language.
    PathToken,
    /// A PATCH path whose tokens do not follow `attrPath / valuePath [subAttr]`.
    PathSyntax,
    /// An attribute path inside a PATCH path that is not `[urn:…:]name[.subAttr]`.
    PathAttribute,
    /// A comparison value inside a PATCH path filter that is not a JSON literal.
    PathValue,
    /// A request body that is not the JSON the operation expects.
    Syntax,
    /// A value that does not fit its attribute.
    Value,
    /// A PATCH operation whose path selects nothing where something is required.
    NoTarget,
    /// An attempt to change a read-only or immutable attribute.
    Mutability,
    /// A value that must be unique (e.g. `userName`) already exists.
    Uniqueness,
    /// A request that would return or touch more resources than allowed.
    TooMany,
    /// The `If-Match` version did not match the resource.
    Version,
    /// A sensitive value (e.g. a filter in a URL) that must be sent in a body.
    Sensitive,
    /// The resource does not exist.
    NotFound,
    /// A PATCH body whose `schemas` does not name the PatchOp message.
    PatchSchema,
    /// A PATCH body without a non-empty `Operations` list.
    PatchOperations,
    /// A PATCH operation that is not an object with a known `op` (add, remove, replace).
    PatchOp,
    /// A PATCH `value` missing, or of a shape the operation and attribute cannot take.
    PatchValue,
    /// A `members[...]` filter other than `value eq "id"` joined by `or`.
    PatchMemberFilter,
    /// More than one value of a multi-valued attribute would be `primary`.
    PatchPrimary,
    /// A PATCH that would remove or empty a required attribute (e.g. `userName`).
    PatchRequired,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FilterTooLong => "SCIM-FILTER-001",
            Self::FilterTooDeep => "SCIM-FILTER-002",
            Self::FilterToken => "SCIM-FILTER-003",
            Self::FilterSyntax => "SCIM-FILTER-004",
            Self::FilterAttribute => "SCIM-FILTER-005",
            Self::FilterValue => "SCIM-FILTER-006",
            Self::FilterType => "SCIM-FILTER-007",
            Self::PathTooLong => "SCIM-PATH-001",
            Self::PathTooDeep => "SCIM-PATH-002",
            Self::PathToken => "SCIM-PATH-003",
            Self::PathSyntax => "SCIM-PATH-004",
            Self::PathAttribute => "SCIM-PATH-005",
            Self::PathValue => "SCIM-PATH-006",
            Self::Syntax => "SCIM-SYNTAX",
            Self::Value => "SCIM-VALUE",
            Self::NoTarget => "SCIM-NO-TARGET",
            Self::Mutability => "SCIM-MUTABILITY",
            Self::Uniqueness => "SCIM-UNIQUENESS",
            Self::TooMany => "SCIM-TOO-MANY",
            Self::Version => "SCIM-VERSION",
            Self::Sensitive => "SCIM-SENSITIVE",
            Self::NotFound => "SCIM-NOT-FOUND",
            Self::PatchSchema => "SCIM-PATCH-001",
            Self::PatchOperations => "SCIM-PATCH-002",
            Self::PatchOp => "SCIM-PATCH-003",
            Self::PatchValue => "SCIM-PATCH-004",
            Self::PatchMemberFilter => "SCIM-PATCH-005",
            Self::PatchPrimary => "SCIM-PATCH-006",
            Self::PatchRequired => "SCIM-PATCH-007",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error a SCIM client is told about: the caller's fault, with enough detail to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    code: ErrorCode,
    detail: String,
    position: Option<usize>,
}

impl ScimError {
    /// An error with a `scimType`; the status is the one RFC 7644 gives that type.
    pub fn new(scim_type: ScimType, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            code,
            detail: detail.into(),
            position: None,
        }
    }

    /// Records where in the filter or path text the problem is (a character offset, from 0).
    #[must_use]
    pub fn at(mut self, position: usize) -> Self {
        self.position = Some(position);
        self
    }

    pub fn invalid_filter(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidFilter, code, detail)
    }
    pub fn invalid_path(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidPath, code, detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidSyntax, ErrorCode::Syntax, detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidValue, ErrorCode::Value, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(ScimType::NoTarget, ErrorCode::NoTarget, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Mutability, ErrorCode::Mutability, detail)
    }
    /// 409: a unique value (userName, a group's displayName…) is already taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Uniqueness, ErrorCode::Uniqueness, detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(ScimType::TooMany, ErrorCode::TooMany, detail)
    }
    pub fn invalid_vers(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidVers, ErrorCode::Version, detail)
    }
    /// 403: e.g. a filter with personal data sent in a URL instead of a POST `.search` body.
    pub fn sensitive(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Sensitive, ErrorCode::Sensitive, detail)
    }
    /// 404 without a `scimType` (RFC 7644 defines none for it).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self {
            status: 404,
            scim_type: None,
            code: ErrorCode::NotFound,
            detail: detail.into(),
            position: None,
        }
    }

    /// Says where the problem is, e.g. `Operations[2] (remove members)`, before the detail.
    #[must_use]
    pub fn context(mut self, prefix: impl fmt::Display) -> Self {
        self.detail = format!("{prefix}: {}", self.detail);
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }
    pub fn code(&self) -> ErrorCode {
        self.code
    }
    pub fn detail(&self) -> &str {
        &self.detail
    }
    /// Character offset (from 0) of the problem in the filter or path text, when known.
    pub fn position(&self) -> Option<usize> {
        self.position
    }

    /// The RFC 7644 §3.12 body. `status` is a string, as the RFC's examples have it; the
    /// stable code leads the detail so it reaches the IdP's logs, and the position is
    /// counted from 1 there, as people count.
    pub fn to_json(&self) -> Value {
        let detail = match self.position {
            Some(pos) => format!("{}: {} (at character {})", self.code, self.detail, pos + 1),
            None => format!("{}: {}", self.code, self.detail),
        };
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": detail,
        });
        if let (Some(t), Some(obj)) = (self.scim_type, body.as_object_mut()) {
            obj.insert("scimType".to_owned(), Value::from(t.as_str()));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_follows_rfc_7644_3_12() {
        let err = ScimError::invalid_filter(ErrorCode::FilterSyntax, "expected an operator").at(9);
        assert_eq!(
            err.to_json(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "SCIM-FILTER-004: expected an operator (at character 10)",
            })
        );
    }

    #[test]
    fn statuses_match_the_rfc_table() {
        assert_eq!(ScimError::uniqueness("taken").status(), 409);
        assert_eq!(ScimError::sensitive("in url").status(), 403);
        assert_eq!(
            ScimError::invalid_path(ErrorCode::PathSyntax, "x").status(),
            400
        );
        assert_eq!(
            ScimError::no_target("x").scim_type(),
            Some(ScimType::NoTarget)
        );
        assert_eq!(
            ScimError::invalid_vers("x")
                .scim_type()
                .map(ScimType::as_str),
            Some("invalidVers")
        );
    }

    #[test]
    fn not_found_has_no_scim_type() {
        let body = ScimError::not_found("no such user").to_json();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn display_leads_with_the_code() {
        let err = ScimError::mutability("id is read-only");
        assert_eq!(err.to_string(), "SCIM-MUTABILITY: id is read-only");
    }
}
