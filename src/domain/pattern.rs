//! Patterns an administrator writes in the config: organization selectors (`acme`,
//! `acme-*`, `*`) and IdP group matchers (display name, exact or glob, case-insensitive;
//! or an IdP object id, exact).

use super::ids::OrgSlug;
use super::organization::Organizations;
use globset::{Glob, GlobBuilder, GlobMatcher};
use std::collections::BTreeSet;
use std::fmt;

/// An organization selector of a mapping or of a connection's `scope`.
#[derive(Clone)]
pub enum OrgPattern {
    /// `*`: every organization, including ones added to the config later.
    All,
    /// One organization by slug.
    Slug(OrgSlug),
    /// A glob such as `acme-*`, matched against slugs at resolution time.
    Glob {
        source: String,
        matcher: GlobMatcher,
    },
}

impl OrgPattern {
    /// Parses a selector. Fails only on a malformed glob.
    pub fn parse(text: &str) -> Result<Self, globset::Error> {
        if text == "*" {
            return Ok(Self::All);
        }
        if text.contains(['*', '?', '[', '{']) {
            let matcher = Glob::new(text)?.compile_matcher();
            return Ok(Self::Glob {
                source: text.to_owned(),
                matcher,
            });
        }
        Ok(Self::Slug(OrgSlug::new(text)))
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Self::All)
    }

    pub fn matches(&self, slug: &OrgSlug) -> bool {
        match self {
            Self::All => true,
            Self::Slug(s) => s == slug,
            Self::Glob { matcher, .. } => matcher.is_match(slug.as_str()),
        }
    }

    /// The organizations of `orgs` this selector names now.
    pub fn expand(&self, orgs: &Organizations) -> BTreeSet<OrgSlug> {
        orgs.iter()
            .filter(|o| self.matches(&o.slug))
            .map(|o| o.slug.clone())
            .collect()
    }
}

impl fmt::Display for OrgPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Slug(s) => f.write_str(s.as_str()),
            Self::Glob { source, .. } => f.write_str(source),
        }
    }
}

impl fmt::Debug for OrgPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgPattern({self})")
    }
}

/// Any selector of `patterns` matches `slug`.
pub fn any_matches(patterns: &[OrgPattern], slug: &OrgSlug) -> bool {
    patterns.iter().any(|p| p.matches(slug))
}

/// How a mapping recognises an IdP group.
#[derive(Clone)]
pub enum IdpGroupMatcher {
    /// `idp_group`: the group's display name (SCIM displayName, or an SSO groups value),
    /// compared case-insensitively; may be a glob.
    Name {
        source: String,
        matcher: GlobMatcher,
    },
    /// `idp_group_id`: the IdP's immutable id (SCIM externalId, Entra object id), exact.
    /// Survives renames of the group.
    Id(String),
}

impl IdpGroupMatcher {
    pub fn name(text: &str) -> Result<Self, globset::Error> {
        let matcher = GlobBuilder::new(&escape_unless_glob(text))
            .case_insensitive(true)
            .literal_separator(false)
            .build()?
            .compile_matcher();
        Ok(Self::Name {
            source: text.to_owned(),
            matcher,
        })
    }

    pub fn id(text: &str) -> Self {
        Self::Id(text.to_owned())
    }

    /// Whether a group with this display name and optional immutable id is matched.
    pub fn matches(&self, display_name: &str, external_id: Option<&str>) -> bool {
        match self {
            Self::Name { matcher, .. } => matcher.is_match(display_name),
            Self::Id(id) => external_id == Some(id.as_str()),
        }
    }
}

/// Display names are matched literally unless they use glob syntax, so a group named
/// `R&D [EU]` is not read as a character class by accident: brackets and braces only act
/// as glob syntax when a `*` or `?` is present too.
fn escape_unless_glob(text: &str) -> String {
    if text.contains(['*', '?']) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '[' | ']' | '{' | '}' | '\\') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for IdpGroupMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name { source, .. } => f.write_str(source),
            Self::Id(id) => write!(f, "id:{id}"),
        }
    }
}

impl fmt::Debug for IdpGroupMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdpGroupMatcher({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Organization;

    #[test]
    fn group_names_match_case_insensitively_and_literally() {
        let m = IdpGroupMatcher::name("Engineering").expect("glob");
        assert!(m.matches("engineering", None));
        assert!(!m.matches("Engineering-2", None));
        let lit = IdpGroupMatcher::name("R&D [EU]").expect("glob");
        assert!(lit.matches("r&d [eu]", None));
        assert!(!lit.matches("R&D E", None));
        let glob = IdpGroupMatcher::name("Client - *").expect("glob");
        assert!(glob.matches("client - acme", None));
    }

    #[test]
    fn group_ids_match_exactly() {
        let m = IdpGroupMatcher::id("00gABC");
        assert!(m.matches("anything", Some("00gABC")));
        assert!(!m.matches("anything", Some("00gabc")));
        assert!(!m.matches("00gABC", None));
    }

    #[test]
    fn org_patterns_expand_against_current_orgs() {
        let orgs = Organizations::new(
            ["acme", "acme-east", "globex"]
                .iter()
                .map(|s| Organization {
                    slug: OrgSlug::from(*s),
                    name: s.to_string(),
                    parent: None,
                })
                .collect(),
        );
        assert_eq!(OrgPattern::parse("*").expect("p").expand(&orgs).len(), 3);
        assert_eq!(
            OrgPattern::parse("acme*").expect("p").expand(&orgs).len(),
            2
        );
        assert_eq!(OrgPattern::parse("nope").expect("p").expand(&orgs).len(), 0);
    }
}
