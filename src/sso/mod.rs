//! Single sign-on: SAML 2.0 ([`saml`]) and OpenID Connect, and what both hand to the
//! sign-in: an [`Identity`] when the IdP's answer passed every check, a [`Refusal`] when it
//! did not.
//!
//! This module owns the protocol side of SSO. It may import `domain`, never `config`,
//! `store` or `http`: callers pass it the settings they validated. What a sign-in does with
//! an identity (find or create the user, accept the invitation, start a session) lives in
//! `http::sso`.

pub mod saml;

use axum::http::StatusCode;

/// Which protocol an identity came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Saml,
    Oidc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Saml => "saml",
            Self::Oidc => "oidc",
        }
    }
}

/// Who the IdP says signed in, after the protocol checks passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub protocol: Protocol,
    /// The IdP's immutable id for the person: the SAML NameID (persistent), or the kind's
    /// immutable-id attribute when present (Entra's objectidentifier); the OIDC `sub`.
    pub subject: String,
    /// The IdP's user name for the person when it has one apart from the subject (a
    /// SAML NameID that is not transient, OIDC `preferred_username`). Used only to link
    /// a first sign-in to a user the same connection provisioned by SCIM.
    pub user_name: Option<String>,
    /// The email: SAML email attribute, else an emailAddress-format NameID; OIDC `email`.
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Group values asserted (display names or object ids); `None` when the assertion or
    /// token carried no groups attribute or claim at all.
    pub groups: Option<Vec<String>>,
    /// Entra's groups-overage claim was present: the groups must come from SCIM.
    pub groups_overage: bool,
    /// For the audit: the SAML assertion id; OIDC has none.
    pub reference: Option<String>,
}

/// A refused sign-in: a stable code (`SAML-AUDIENCE`, `OIDC-STATE`, `ACCESS-NONE`, …), a
/// 4xx status, one sentence for the person in front of the page. `detail` is for the audit
/// event and the log only (it may name what the IdP sent).
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

    /// Adds what went wrong, for the audit and the log.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}
