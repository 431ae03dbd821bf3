//! Single sign-on: SAML 2.0 ([`saml`]) and OpenID Connect ([`oidc`]).
//!
//! This module owns the protocol side of SSO. It may import `domain`, never `config`,
//! `store` or `http`: callers pass it the settings they validated.

pub mod oidc;
pub mod saml;

use axum::http::StatusCode;

/// Which protocol signed someone in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Saml,
    Oidc,
}

/// Who the IdP says signed in, after the protocol checks passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub protocol: Protocol,
    pub subject: String,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub groups: Option<Vec<String>>,
    pub groups_overage: bool,
    pub reference: Option<String>,
}

/// A refused sign-in: stable code, a 4xx status, one human sentence; `detail` goes to the
/// audit event and the log only.
#[derive(Clone, Debug)]
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

/// Per-process caches of the SSO protocols (one per process; replicas each keep their own,
/// which is safe because they only hold what the IdPs publish).
#[derive(Default)]
pub struct SsoCaches {
    /// OIDC provider metadata and signing keys, per connection.
    pub oidc: oidc::Providers,
}
