//! Versions as ETags (RFC 7644 §3.14): a resource's `version` column `3` is `W/"3"`, both in
//! `meta.version` and the `ETag` header. `If-Match` / `If-None-Match` values are lists of
//! entity tags or `*` (RFC 9110 §13.1). Our tags are weak, so they compare weakly: `"3"`
//! and `W/"3"` both name version 3. Clients that drop the quotes (`If-Match: 3`) are
//! understood too.
//!
//! What a mismatch means is the caller's: `If-Match` failing is 412 Precondition Failed,
//! `If-None-Match` matching on a GET is 304 Not Modified.

use crate::scim::error::ScimError;

/// The ETag of `version`: `W/"3"`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// One entity tag of a header list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    /// The opaque tag without quotes.
    pub tag: String,
}

/// A parsed `If-Match` or `If-None-Match` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EtagCondition {
    /// `*`: any current version.
    Any,
    Tags(Vec<EntityTag>),
}

impl EtagCondition {
    /// Reads a header value (several header lines may be joined with commas first).
    pub fn parse(header: &str) -> Result<Self, ScimError> {
        let bad = |why: &str| {
            ScimError::invalid_syntax(format!("malformed entity tag list ({why}): {header:?}"))
        };
        let text = header.trim();
        if text == "*" {
            return Ok(Self::Any);
        }
        let mut tags = Vec::new();
        let mut rest = text;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let (weak, after) = match rest.get(..2) {
                Some(p) if p.eq_ignore_ascii_case("W/") => (true, &rest[2..]),
                _ => (false, rest),
            };
            let (tag, remainder) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').ok_or_else(|| bad("unterminated quote"))?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = after.find([',', ' ', '\t']).unwrap_or(after.len());
                let tag = &after[..end];
                if tag.is_empty() || tag.contains('"') || tag == "*" {
                    return Err(bad("expected a quoted tag"));
                }
                (tag, &after[end..])
            };
            tags.push(EntityTag {
                weak,
                tag: tag.to_owned(),
            });
            let next = remainder.trim_start_matches([' ', '\t']);
            if !next.is_empty() && !next.starts_with(',') {
                return Err(bad("expected a comma between tags"));
            }
            rest = next;
        }
        if tags.is_empty() {
            return Err(bad("empty"));
        }
        Ok(Self::Tags(tags))
    }

    /// Whether the resource at `version` matches (weak comparison).
    pub fn matches(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => {
                let current = version.to_string();
                tags.iter().any(|t| t.tag == current)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_round_trip() {
        for version in [1, 3, 42, i64::MAX] {
            let condition = EtagCondition::parse(&etag(version)).unwrap();
            assert!(condition.matches(version));
            assert!(!condition.matches(version - 1));
        }
        assert_eq!(etag(3), "W/\"3\"");
    }

    #[test]
    fn header_lists() {
        assert_eq!(EtagCondition::parse(" * ").unwrap(), EtagCondition::Any);
        assert!(EtagCondition::Any.matches(7));
        let c = EtagCondition::parse(r#"W/"1", "2" ,w/"3""#).unwrap();
        let EtagCondition::Tags(tags) = &c else {
            panic!("{c:?}")
        };
        assert_eq!(
            tags.iter()
                .map(|t| (t.weak, t.tag.as_str()))
                .collect::<Vec<_>>(),
            [(true, "1"), (false, "2"), (true, "3")]
        );
        assert!(c.matches(2) && c.matches(3) && !c.matches(4));
        // Unquoted, as some clients send it.
        assert!(EtagCondition::parse("5").unwrap().matches(5));
        assert!(EtagCondition::parse("W/5, 6").unwrap().matches(6));
        // Commas inside a quoted tag belong to the tag.
        let odd = EtagCondition::parse(r#""a,b""#).unwrap();
        assert_eq!(
            odd,
            EtagCondition::Tags(vec![EntityTag {
                weak: false,
                tag: "a,b".into()
            }])
        );
        for bad in ["", " , ", r#""3"#, r#""3" "4""#, r#"W/"3"x"#, "*, \"1\""] {
            assert!(EtagCondition::parse(bad).is_err(), "{bad:?}");
        }
    }
}
