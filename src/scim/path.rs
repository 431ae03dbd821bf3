//! PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`, e.g.
//! `name.givenName`, `members[value eq "2819c223"]`, `emails[type eq "work"].value` or
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`.
//!
//! Paths share the filter's lexer and parser (the same limits apply); every failure is a
//! [`ScimError`] with `scimType` `invalidPath`. [`ValueKey::parse`] reads the keys of a
//! path-less PATCH value, where Entra writes dotted (`name.givenName`) and URN-qualified
//! (`urn:…:enterprise:2.0:User:department`) keys meaning the same as a path.

use super::error::ScimError;
use super::filter::parser::{Grammar, Parser, Problem};
use super::filter::{AttrPath, Filter};
use crate::scim::lexer::Tok;
use std::fmt;

/// What a PATCH operation targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Path {
    /// `[urn:…:]name[.subAttr]`
    Attribute(AttrPath),
    /// `attr[filter]` or `attr[filter].subAttr`: the values of the multi-valued `attr` that
    /// match `filter` (whose paths are sub-attributes of `attr`), or one sub-attribute of them.
    Filtered {
        attr: AttrPath,
        filter: Filter,
        sub_attr: Option<String>,
    },
}

impl Path {
    /// Parses a PATCH `path`; errors are `invalidPath`.
    pub fn parse(text: &str) -> Result<Path, ScimError> {
        let mut parser = Parser::new(text, Grammar::Path)?;
        let attr = parser.attr_path()?;
        let path = if parser.peek() == &Tok::LBracket {
            let filter = parser.value_filter(&attr)?;
            let sub_attr = if parser.peek() == &Tok::Dot {
                parser.bump();
                Some(parser.sub_attr_path()?.name)
            } else {
                None
            };
            Path::Filtered {
                attr,
                filter,
                sub_attr,
            }
        } else {
            Path::Attribute(attr)
        };
        match parser.peek() {
            Tok::End => Ok(path),
            other => {
                let found = other.describe();
                Err(parser.error(
                    Problem::Syntax,
                    format!("expected the end of the path, found {found}"),
                ))
            }
        }
    }

    /// The attribute the path starts from (`emails` for `emails[type eq "work"].value`).
    pub fn attr(&self) -> &AttrPath {
        match self {
            Path::Attribute(attr) | Path::Filtered { attr, .. } => attr,
        }
    }
}

impl std::str::FromStr for Path {
    type Err = ScimError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Attribute(attr) => write!(f, "{attr}"),
            Path::Filtered {
                attr,
                filter,
                sub_attr,
            } => {
                write!(f, "{attr}[{filter}]")?;
                match sub_attr {
                    Some(sub) => write!(f, ".{sub}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// One key of a path-less PATCH value (`{"op": "replace", "value": {KEY: …}}`).
#[derive(Clone, Debug, PartialEq)]
pub enum ValueKey {
    /// The key is a schema URN (`"urn:…:enterprise:2.0:User": {"department": …}`): its value
    /// is an object of that extension's attributes.
    Schema(String),
    /// The key is an attribute path: `userName`, `name.givenName`,
    /// `urn:…:enterprise:2.0:User:department`, or even `emails[type eq "work"].value`.
    Attribute(Path),
}

impl ValueKey {
    /// Reads `key`; `schemas` are the URNs the resource type knows (core and extensions),
    /// needed because `urn:…:2.0:User` and `urn:…:2.0:User:department` have the same shape.
    pub fn parse(key: &str, schemas: &[&str]) -> Result<ValueKey, ScimError> {
        if let Some(urn) = schemas.iter().find(|s| s.eq_ignore_ascii_case(key)) {
            return Ok(ValueKey::Schema((*urn).to_owned()));
        }
        Path::parse(key).map(ValueKey::Attribute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::{ErrorCode, ScimType};
    use crate::scim::filter::{CompValue, CompareOp};
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
    use proptest::prelude::*;

    fn eq(attr: &str, value: &str) -> Filter {
        Filter::compare(
            AttrPath::new(attr),
            CompareOp::Eq,
            CompValue::String(value.into()),
        )
    }

    #[test]
    fn attribute_paths() {
        assert_eq!(
            Path::parse("userName").unwrap(),
            Path::Attribute(AttrPath::new("userName"))
        );
        assert_eq!(
            Path::parse("name.givenName").unwrap(),
            Path::Attribute(AttrPath::with_sub("name", "givenName"))
        );
        let manager =
            Path::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
                .unwrap();
        assert_eq!(
            manager,
            Path::Attribute(AttrPath {
                schema: Some(ENTERPRISE_USER_SCHEMA.into()),
                name: "manager".into(),
                sub_attr: None
            })
        );
    }

    #[test]
    fn value_paths() {
        assert_eq!(
            Path::parse(r#"members[value eq "2819c223"]"#).unwrap(),
            Path::Filtered {
                attr: AttrPath::new("members"),
                filter: eq("value", "2819c223"),
                sub_attr: None
            }
        );
        let p = Path::parse(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(
            p,
            Path::Filtered {
                attr: AttrPath::new("emails"),
                filter: eq("type", "work"),
                sub_attr: Some("value".into())
            }
        );
        assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
        assert_eq!(p.attr(), &AttrPath::new("emails"));
        // Entra capitalises and spaces freely.
        let entra = Path::parse(r#"members[Value EQ "abc"]"#).unwrap();
        assert_eq!(entra.to_string(), r#"members[Value eq "abc"]"#);
    }

    #[test]
    fn errors_are_invalid_path() {
        for (text, code) in [
            ("", ErrorCode::PathSyntax),
            ("emails[", ErrorCode::PathSyntax),
            ("emails[type eq \"work\"", ErrorCode::PathSyntax),
            ("emails[type eq \"work\"].", ErrorCode::PathSyntax),
            ("emails[type eq \"work\"].value.x", ErrorCode::PathAttribute),
            ("emails[type eq work]", ErrorCode::PathValue),
            ("emails[type[value pr]]", ErrorCode::PathSyntax),
            ("name.givenName.x", ErrorCode::PathAttribute),
            ("name.givenName[value pr]", ErrorCode::PathAttribute),
            ("userName eq \"x\"", ErrorCode::PathSyntax),
            ("a b", ErrorCode::PathSyntax),
            ("9abc", ErrorCode::PathSyntax),
            ("emails#", ErrorCode::PathToken),
        ] {
            let err = Path::parse(text).unwrap_err();
            assert_eq!(err.scim_type(), Some(ScimType::InvalidPath), "{text}");
            assert_eq!(err.code(), code, "{text}: {err}");
            assert_eq!(err.status(), 400);
        }
        let long = "a".repeat(crate::scim::filter::MAX_FILTER_LEN + 1);
        assert_eq!(
            Path::parse(&long).unwrap_err().code(),
            ErrorCode::PathTooLong
        );
    }

    #[test]
    fn value_keys() {
        let schemas = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA];
        assert_eq!(
            ValueKey::parse("name.givenName", &schemas).unwrap(),
            ValueKey::Attribute(Path::Attribute(AttrPath::with_sub("name", "givenName")))
        );
        let dept = ValueKey::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            &schemas,
        );
        let ValueKey::Attribute(Path::Attribute(attr)) = dept.unwrap() else {
            panic!("not an attribute")
        };
        assert_eq!(attr.name, "department");
        assert_eq!(attr.schema.as_deref(), Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(
            ValueKey::parse(
                "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                &schemas
            )
            .unwrap(),
            ValueKey::Schema(ENTERPRISE_USER_SCHEMA.into())
        );
        assert!(ValueKey::parse("name..x", &schemas).is_err());
    }

    proptest! {
        #[test]
        fn path_parser_never_panics(text in "\\PC{0,64}") {
            if let Ok(path) = Path::parse(&text) {
                prop_assert_eq!(Path::parse(&path.to_string()).unwrap(), path);
            }
        }

        #[test]
        fn path_parser_never_panics_on_path_like_text(text in r#"[a-z\[\]\. "=:]{0,40}"#) {
            match Path::parse(&text) {
                Ok(path) => prop_assert_eq!(Path::parse(&path.to_string()).unwrap(), path),
                Err(e) => prop_assert_eq!(e.scim_type(), Some(ScimType::InvalidPath)),
            }
        }
    }
}
