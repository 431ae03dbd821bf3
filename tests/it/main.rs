//! The one integration-test binary (every extra test file is another slow link): each
//! concern is a module. `support` holds the shared harness (databases on both engines).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod admin_ops;
mod config;
mod e2e;
mod invitations;
mod lifecycle;
mod openapi;
mod outbox;
mod pages_browser;
mod reconcile;
mod removals;
mod scim;
mod scim2_tester;
mod scim_sql;
mod sso_core;
mod sso_oidc;
mod sso_saml;
mod sso_saml_refusals;
mod store;
mod support;
