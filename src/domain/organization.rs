//! Organizations (the application's customers/tenants) and their parent links.

use super::ids::OrgSlug;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub slug: OrgSlug,
    pub name: String,
    pub parent: Option<OrgSlug>,
}

/// The configured organizations, in config order. Parent links are acyclic once validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organizations {
    list: Vec<Organization>,
    children: BTreeMap<OrgSlug, Vec<OrgSlug>>,
}

impl Organizations {
    pub fn new(list: Vec<Organization>) -> Self {
        let mut children: BTreeMap<OrgSlug, Vec<OrgSlug>> = BTreeMap::new();
        for org in &list {
            if let Some(parent) = &org.parent {
                children
                    .entry(parent.clone())
                    .or_default()
                    .push(org.slug.clone());
            }
        }
        Self { list, children }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Organization> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, slug: &OrgSlug) -> Option<&Organization> {
        self.list.iter().find(|o| &o.slug == slug)
    }

    pub fn contains(&self, slug: &OrgSlug) -> bool {
        self.get(slug).is_some()
    }

    /// Every organization below `slug` (children, grandchildren, …), not `slug` itself.
    /// Safe on cyclic input: each organization is visited once.
    pub fn descendants(&self, slug: &OrgSlug) -> BTreeSet<OrgSlug> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![slug.clone()];
        while let Some(next) = stack.pop() {
            for child in self.children.get(&next).into_iter().flatten() {
                if child != slug && seen.insert(child.clone()) {
                    stack.push(child.clone());
                }
            }
        }
        seen
    }

    /// The first organization whose parent chain loops back to itself, if any.
    pub fn find_cycle(&self) -> Option<Vec<OrgSlug>> {
        for org in &self.list {
            let mut chain = vec![org.slug.clone()];
            let mut current = org.parent.clone();
            while let Some(parent) = current {
                if parent == org.slug {
                    chain.push(parent);
                    return Some(chain);
                }
                if chain.contains(&parent) {
                    break; // a cycle that does not pass through `org`: found from its own member
                }
                chain.push(parent.clone());
                current = self.get(&parent).and_then(|p| p.parent.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(slug: &str, parent: Option<&str>) -> Organization {
        Organization {
            slug: slug.into(),
            name: slug.to_uppercase(),
            parent: parent.map(OrgSlug::from),
        }
    }

    #[test]
    fn descendants_are_transitive() {
        let orgs = Organizations::new(vec![
            org("acme", None),
            org("acme-east", Some("acme")),
            org("acme-east-1", Some("acme-east")),
            org("globex", None),
        ]);
        let d: Vec<_> = orgs
            .descendants(&"acme".into())
            .into_iter()
            .map(OrgSlug::into_string)
            .collect();
        assert_eq!(d, ["acme-east", "acme-east-1"]);
        assert!(orgs.descendants(&"globex".into()).is_empty());
        assert!(orgs.find_cycle().is_none());
    }

    #[test]
    fn cycles_are_found_and_do_not_hang() {
        let orgs = Organizations::new(vec![org("a", Some("b")), org("b", Some("a"))]);
        let cycle = orgs.find_cycle().expect("cycle");
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(orgs.descendants(&"a".into()).len(), 1);
    }
}
