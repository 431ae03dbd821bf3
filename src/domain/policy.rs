//! The policy: the part of the validated configuration that access resolution reads —
//! roles, organizations, each connection's scope and role cap, the mappings, and the
//! break-glass accounts. `config` builds it; nothing here parses files.

use super::ids::{ConnectionId, OrgSlug, RoleName};
use super::organization::Organizations;
use super::pattern::{IdpGroupMatcher, OrgPattern, any_matches};
use super::role::Roles;
use std::collections::BTreeSet;

#[derive(Clone, Debug)]
pub struct ConnectionPolicy {
    pub id: ConnectionId,
    /// Organizations this connection may grant. Mappings can never reach outside it.
    pub scope: Vec<OrgPattern>,
    /// The highest role this connection may grant; higher mapped roles are lowered to it.
    pub max_role: RoleName,
}

impl ConnectionPolicy {
    pub fn in_scope(&self, slug: &OrgSlug) -> bool {
        any_matches(&self.scope, slug)
    }
}

#[derive(Clone, Debug)]
pub struct Mapping {
    /// Position in `[[mappings]]` (0-based), used to name the source of a grant.
    pub index: usize,
    pub connection: ConnectionId,
    pub idp_group: IdpGroupMatcher,
    /// Local groups in the application.
    pub groups: Vec<String>,
    /// The role this mapping grants; a mapping may also only add groups or permissions.
    pub role: Option<RoleName>,
    pub organizations: Vec<OrgPattern>,
    /// Granting a parent also grants its sub-organizations (DESIGN §10).
    pub include_suborganizations: bool,
    pub permissions: Vec<String>,
    pub allow_asset_types: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub roles: Roles,
    pub organizations: Organizations,
    pub connections: Vec<ConnectionPolicy>,
    pub mappings: Vec<Mapping>,
    /// userNames (lower-cased) that no IdP input may suspend or remove.
    pub break_glass: BTreeSet<String>,
}

impl Policy {
    pub fn connection(&self, id: &ConnectionId) -> Option<&ConnectionPolicy> {
        self.connections.iter().find(|c| &c.id == id)
    }

    pub fn mappings_of<'a>(&'a self, id: &'a ConnectionId) -> impl Iterator<Item = &'a Mapping> {
        self.mappings.iter().filter(move |m| &m.connection == id)
    }

    pub fn is_break_glass(&self, user_name: &str) -> bool {
        self.break_glass.contains(&user_name.to_lowercase())
    }
}
