//! Pure types and rules of idp-sync: identifiers, roles, organizations, the policy an
//! administrator writes (connections and mappings), the directory entities the IdPs feed
//! (users, IdP groups), what the application is told (access, invitations, events), and
//! access resolution (DESIGN §2).
//!
//! Nothing here does I/O or knows about HTTP, SQL, SCIM or SAML: every function takes
//! what it needs (including `now`) as arguments, so it can be tested without a clock,
//! a database or a network. The outer modules (`config`, `store`, `http`, …) import this
//! one; it imports none of them.

pub mod access;
pub mod entities;
pub mod ids;
pub mod organization;
pub mod pattern;
pub mod policy;
pub mod role;

pub use access::{
    Access, Conflict, GrantSource, NoAccessReason, Outcome, Protection, ResolvedAccess, UserFacts,
    resolve_directory, resolve_user,
};
pub use entities::*;
pub use ids::{ConnectionId, GroupId, OrgSlug, RoleName, UserId};
pub use organization::{Organization, Organizations};
pub use pattern::{IdpGroupMatcher, OrgPattern};
pub use policy::{ConnectionPolicy, Mapping, Policy};
pub use role::{Role, Roles};
