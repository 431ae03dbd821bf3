//! Single sign-on: SAML 2.0 ([`saml`]) and, later, OpenID Connect and browser sessions.
//!
//! This module owns the protocol side of SSO. It may import `domain`, never `config`,
//! `store` or `http`: callers pass it the settings they validated.

pub mod saml;
