//! OpenID Connect relying party (DESIGN §5, §8; `[connections.oidc]` in §4 and §10): the
//! authorization code flow with PKCE (S256), `state` and `nonce`, and the checks an ID
//! token must pass before anyone is signed in. This is the only module that imports
//! `openidconnect`; it imports `domain` and nothing else of the crate (callers pass the
//! validated [`Settings`] and `now`).
//!
//! - [`Providers`] holds, per connection, the provider's endpoints and signing keys
//!   ([`provider`]): discovered at the first login, never at start-up (a down IdP must not
//!   stop idp-sync or make `/readyz` fail), cached, fetched again after a failure, and the
//!   keys fetched again (once per login) when a token names an unknown `kid`.
//! - [`Providers::begin`] makes the authorization URL and the per-login secrets the caller
//!   stores bound to the browser: the `state`, the `nonce` and the PKCE verifier.
//! - [`Providers::complete`] exchanges the code ([`token`]), verifies the ID token and
//!   turns it into an [`Identity`] whose subject is `sub`.
//!
//! Every failure is a [`Refusal`] with a stable code ([`Failure`]). They are 4xx, except
//! `OIDC-PROVIDER` (502): the IdP is unreachable or answered nonsense, which is neither the
//! user's fault nor a refused sign-in.

mod claims;
mod provider;
mod token;

#[cfg(test)]
mod tests;

pub use provider::Providers;

use super::Refusal;
use axum::http::StatusCode;
use secrecy::SecretString;
use url::Url;

/// What one connection's OIDC sign-in needs, validated by the caller.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The issuer identifier, compared with the discovery document's `issuer` and each ID
    /// token's `iss` (a bare `https://host` issuer without its trailing slash).
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// `{public_url}/sso/oidc/{connection}/callback`.
    pub redirect_uri: String,
    /// The ID token (else userinfo) claim that lists the user's groups.
    pub groups_claim: String,
    /// Requested scopes; always includes `openid`.
    pub scopes: Vec<String>,
    pub auth_method: AuthMethod,
    /// Endpoints from the config; any left `None` come from discovery.
    pub endpoints: StaticEndpoints,
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic with the form-encoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// Endpoints configured instead of (or on top of) discovery. With the first three set, no
/// discovery document is fetched at all (offline setups).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticEndpoints {
    pub authorization: Option<Url>,
    pub token: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub userinfo: Option<Url>,
}

impl Settings {
    /// The issuer as ID tokens must name it: the URL as written, except that a bare
    /// `https://host/` loses the slash the URL parser added (Okta, Google and most IdPs
    /// publish `https://host`).
    pub fn expected_issuer(&self) -> String {
        let text = self.issuer.as_str();
        if self.issuer.path() == "/" && self.issuer.query().is_none() {
            text.trim_end_matches('/').to_owned()
        } else {
            text.to_owned()
        }
    }
}

/// A started login: send the browser to `url`; store `state` (the key), `nonce` and
/// `pkce_verifier` with the pending login, bound to the browser.
#[derive(Debug)]
pub struct Authorization {
    pub url: Url,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What the IdP sent back to the callback, once the caller matched its `state`.
#[derive(Debug)]
pub struct Callback<'a> {
    pub code: &'a str,
    /// The `iss` parameter (RFC 9207), when the IdP sends one.
    pub issuer: Option<&'a str>,
}

/// The secrets of a pending login, as stored by [`Providers::begin`]'s caller.
#[derive(Debug)]
pub struct PendingSecrets {
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Why an OIDC sign-in was refused. Each variant has a stable code users can search for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `OIDC-STATE` (400): the callback's `state` is missing, unknown, expired, already
    /// used, or belongs to a login another browser started.
    State,
    /// `OIDC-CODE` (400): the token endpoint refused the code (replayed, expired, wrong
    /// PKCE verifier or client credentials).
    Code,
    /// `OIDC-ISSUER` (401): the ID token was issued by someone else, or the callback's
    /// `iss` (RFC 9207) names another IdP or is missing where the IdP promises it.
    Issuer,
    /// `OIDC-SIGNATURE` (401): the ID token is unsigned (`alg: none`), malformed, or not
    /// signed by any of the provider's keys.
    Signature,
    /// `OIDC-NONCE` (401): the ID token's nonce is not the one this login sent.
    Nonce,
    /// `OIDC-AUDIENCE` (401): the ID token is meant for another client (`aud`/`azp`).
    Audience,
    /// `OIDC-EXPIRED` (401): the ID token has expired.
    Expired,
    /// `OIDC-ERROR` (400): the IdP sent the browser back with `error=` (e.g. the user is not
    /// assigned to the application, or cancelled).
    Error,
    /// `OIDC-PROVIDER` (502): the IdP is unreachable or its discovery document, keys, token
    /// or userinfo answer is unusable. The one non-4xx: the IdP is down, nobody refused.
    Provider,
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Self::State => "OIDC-STATE",
            Self::Code => "OIDC-CODE",
            Self::Issuer => "OIDC-ISSUER",
            Self::Signature => "OIDC-SIGNATURE",
            Self::Nonce => "OIDC-NONCE",
            Self::Audience => "OIDC-AUDIENCE",
            Self::Expired => "OIDC-EXPIRED",
            Self::Error => "OIDC-ERROR",
            Self::Provider => "OIDC-PROVIDER",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::State | Self::Code | Self::Error => StatusCode::BAD_REQUEST,
            Self::Issuer | Self::Signature | Self::Nonce | Self::Audience | Self::Expired => {
                StatusCode::UNAUTHORIZED
            }
            Self::Provider => StatusCode::BAD_GATEWAY,
        }
    }

    /// The one sentence shown to the person signing in.
    pub fn message(self) -> &'static str {
        match self {
            Self::State => {
                "This sign-in link is not valid in this browser (it expired, was already used, or was started elsewhere). Start the sign-in again."
            }
            Self::Code => {
                "The identity provider refused to complete this sign-in (the code was already used or has expired). Start the sign-in again."
            }
            Self::Issuer => {
                "The sign-in answer was not issued by this connection's identity provider."
            }
            Self::Signature => {
                "The sign-in answer is not signed by this connection's identity provider."
            }
            Self::Nonce => {
                "The sign-in answer does not belong to the sign-in this browser started."
            }
            Self::Audience => "The sign-in answer is meant for another application.",
            Self::Expired => "The sign-in answer has expired. Start the sign-in again.",
            Self::Error => "The identity provider did not sign you in.",
            Self::Provider => {
                "The identity provider cannot be reached or answered in a way idp-sync cannot use. Try again later; if it persists, tell your administrator."
            }
        }
    }

    /// This failure as a refusal with `detail` for the audit event and the log.
    pub fn refuse(self, detail: impl Into<String>) -> Refusal {
        Refusal::new(self.code(), self.status(), self.message()).detail(detail)
    }
}
