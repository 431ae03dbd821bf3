//! The browser side of single sign-on, shared by SAML and OpenID Connect (DESIGN §5, §8,
//! §10): pending logins bound to the browser that started them ([`login`]), what a
//! successful sign-in does ([`signin`]: find or link or create the user, accept the
//! invitation, start a session), refusals ([`refusal`]: a page with a stable code, an
//! audit event), and what a session is good for afterwards ([`session`]: `/session`,
//! `/logout`, `/auth/verify`, the home page).
//!
//! Cookies:
//! * `idp_sync_session` — the session (DESIGN §10): 256 random bits, only their SHA-256 in
//!   the database; HttpOnly, SameSite=Lax, Path=/, Secure when `public_url` is https.
//! * `idp_sync_sso` — names the browser while a login is under way (10 minutes, Path=/sso/).
//!   A SAML answer arrives as a cross-site POST from the IdP, which a SameSite=Lax cookie
//!   does not accompany: over https this cookie is `SameSite=None; Secure`; over plain http
//!   (development) it carries no SameSite attribute.

pub mod login;
pub mod oidc;
pub mod refusal;
pub mod saml;
pub mod session;
pub mod signin;

pub use login::{LoginQuery, Pending, begin_login, safe_return_to, take_login};
pub use refusal::refuse;
pub use signin::finish;

use crate::http::AppState;
use axum::Router;
use axum::http::{HeaderMap, header};

/// The session cookie (DESIGN §10).
pub const SESSION_COOKIE: &str = "idp_sync_session";
/// The browser cookie of logins under way.
pub const SSO_COOKIE: &str = "idp_sync_sso";

/// `/session`, `/logout`, `/auth/verify` and `/`, and the protocols' under `/sso/…`.
pub fn routes() -> Router<AppState> {
    session::routes()
        .merge(saml::routes())
        .merge(oidc::routes())
}

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Whether the client asked for JSON rather than a page.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            let json = accept.find("application/json");
            let html = accept.find("text/html");
            match (json, html) {
                (Some(j), Some(h)) => j < h,
                (Some(_), None) => true,
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_a_cookie_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("idp_sync_session=abc"),
        );
        assert_eq!(cookie(&headers, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn json_is_chosen_only_when_preferred_over_html() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_static(v));
            wants_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("application/json, text/html;q=0.5"));
        assert!(!with("text/html,application/xhtml+xml,application/json"));
        assert!(!with("*/*"));
        assert!(!wants_json(&HeaderMap::new()));
    }
}
