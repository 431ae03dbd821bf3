//! Roles: an ordered list, highest first (DESIGN §1). The order is the whole meaning:
//! "highest role wins", "capped at `max_role`" and "a Manager may create the same or lower
//! role" are all comparisons of positions in this list.

use super::ids::RoleName;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Role {
    pub name: RoleName,
    /// At most this many organizations (sub-organizations count). Lite: 5.
    pub max_organizations: Option<u32>,
    /// Whether a user with this role takes a paid seat. Lite: false.
    pub counts_toward_seats: bool,
}

impl Role {
    pub fn new(name: &str) -> Self {
        Self {
            name: RoleName::new(name),
            max_organizations: None,
            counts_toward_seats: true,
        }
    }
}

/// The configured roles, highest first. Never empty once validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn new(roles: Vec<Role>) -> Self {
        Self(roles)
    }

    /// The roles of the application idp-sync was designed for.
    pub fn application_default() -> Self {
        let mut lite = Role::new("Lite");
        lite.max_organizations = Some(5);
        lite.counts_toward_seats = false;
        Self(vec![
            Role::new("Administrator"),
            Role::new("Manager"),
            Role::new("Editor"),
            Role::new("Creator"),
            Role::new("Read-only"),
            lite,
        ])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Role> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Position in the list, 0 being the highest. `None` for an unknown role.
    pub fn rank(&self, name: &RoleName) -> Option<usize> {
        self.0.iter().position(|r| &r.name == name)
    }

    pub fn get(&self, name: &RoleName) -> Option<&Role> {
        self.0.iter().find(|r| &r.name == name)
    }

    /// The highest role (the application's Administrator).
    pub fn top(&self) -> Option<&Role> {
        self.0.first()
    }

    /// True when `a` is the same as or higher than `b`. Unknown roles are never higher.
    pub fn at_least(&self, a: &RoleName, b: &RoleName) -> bool {
        match (self.rank(a), self.rank(b)) {
            (Some(ra), Some(rb)) => ra <= rb,
            _ => false,
        }
    }

    /// `role` lowered to `cap` when it is higher. Returns the role and whether it was capped.
    pub fn cap<'a>(&self, role: &'a RoleName, cap: &'a RoleName) -> (&'a RoleName, bool) {
        match (self.rank(role), self.rank(cap)) {
            (Some(r), Some(c)) if r < c => (cap, true),
            _ => (role, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_order_and_lite_limits() {
        let roles = Roles::application_default();
        let names: Vec<_> = roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Administrator",
                "Manager",
                "Editor",
                "Creator",
                "Read-only",
                "Lite"
            ]
        );
        let lite = roles.get(&RoleName::new("Lite")).expect("lite");
        assert_eq!(lite.max_organizations, Some(5));
        assert!(!lite.counts_toward_seats);
    }

    #[test]
    fn cap_and_compare() {
        let roles = Roles::application_default();
        let admin = RoleName::new("Administrator");
        let editor = RoleName::new("Editor");
        assert_eq!(roles.cap(&admin, &editor), (&editor, true));
        assert_eq!(roles.cap(&editor, &admin), (&editor, false));
        assert!(roles.at_least(&admin, &editor));
        assert!(!roles.at_least(&editor, &admin));
        assert!(!roles.at_least(&RoleName::new("Nope"), &editor));
    }
}
