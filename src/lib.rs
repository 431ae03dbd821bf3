//! idp-sync: makes an invite-based application follow the company's identity provider.
//!
//! IdPs push users and groups over SCIM 2.0 and people sign in over SAML 2.0 or OpenID
//! Connect; the administrator's config maps IdP groups to a role, organizations, local
//! groups and permissions; idp-sync turns every change into an invitation, access update or
//! removal, records it in an audit log and delivers it by email, webhooks and connectors.
//!
//! Layers, innermost first (an inner layer never imports an outer one):
//! [`domain`] (pure types and access resolution) → [`config`] (file → validated policy) and
//! [`store`] (SQLite/PostgreSQL behind one trait) → [`http`] (axum router, probes, metrics)
//! → [`app`] (the CLI commands `main` dispatches to).

pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod outbox;
pub mod provision;
pub mod reconcile;
pub mod scim;
pub mod sso;
pub mod store;
pub mod telemetry;
