//! Single sign-on: SAML 2.0 ([`saml`]) and, later, OpenID Connect and browser sessions.
//!
//! This module owns the protocol side of SSO. It may import `domain`, never `config`,
//! `store` or `http`: callers pass it the settings they validated.

pub mod saml;

use axum::http::StatusCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Saml,
    Oidc,
}

/// Who the IdP says signed in, after the protocol checks passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub protocol: Protocol,
    /// Immutable id: SAML NameID (persistent) or the kind's immutable-id attribute
    /// (Entra objectidentifier) when present; OIDC `sub`.
    pub subject: String,
    /// The email (SAML email attribute, else an emailAddress-format NameID; OIDC `email`).
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Group values asserted (display names or object ids); `None` when the assertion or
    /// token carried no groups attribute/claim at all.
    pub groups: Option<Vec<String>>,
    /// Entra's groups-overage claim was present: use the SCIM data (audited).
    pub groups_overage: bool,
    /// For the audit: SAML assertion id; OIDC None.
    pub reference: Option<String>,
}

/// A refused sign-in: stable code (`SAML-AUDIENCE`, `OIDC-STATE`, …), a 4xx status,
/// one human sentence for the page; `detail` goes to the audit event and the log only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub status: StatusCode,
    pub message: String,
    pub detail: String,
}

impl Refusal {
    pub fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status,
            message: message.into(),
            detail: String::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}
