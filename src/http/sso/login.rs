//! Logins under way: what the SAML AuthnRequest or the OIDC authorization request must be
//! matched with when the IdP answers. Each is a database row ([`SsoLogin`]) keyed by the
//! AuthnRequest ID or the OIDC `state`, so that any replica can take the answer; it is
//! bound to the browser that started it (the SHA-256 of its `idp_sync_sso` cookie), used
//! once, and forgotten after [`LOGIN_TTL_MINUTES`].

use super::{SSO_COOKIE, cookie};
use crate::config::Config;
use crate::domain::{ConnectionId, InvitationStatus, SsoLogin};
use crate::http::AppState;
use crate::http::pages;
use crate::reconcile::lifecycle::{new_token, token_hash};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use chrono::{Duration, Utc};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// How long the IdP has to answer a login started here.
pub const LOGIN_TTL_MINUTES: i64 = 10;

/// The query of `/sso/{saml,oidc}/{connection}/login`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Where to go after signing in: a path here, or a URL on `public_url`'s origin.
    pub return_to: Option<String>,
    /// The token of the invitation whose page started the sign-in.
    pub invitation: Option<String>,
}

/// Records a login under way, bound to this browser. Returns the row and the `Set-Cookie`
/// value of the browser cookie, which the caller sets on its redirect to the IdP.
pub async fn begin_login(
    state: &AppState,
    connection: &ConnectionId,
    headers: &HeaderMap,
    key: &str,
    query: &LoginQuery,
    nonce: Option<String>,
    pkce_verifier: Option<String>,
) -> Result<(SsoLogin, HeaderValue), Response> {
    let config = state.config.current();
    let now = Utc::now();
    // Reuse the browser's cookie when it has a well-formed one: two tabs signing in at
    // once keep both logins valid.
    let browser = cookie(headers, SSO_COOKIE)
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_else(new_token);
    let return_to = query
        .return_to
        .as_deref()
        .and_then(|raw| safe_return_to(&config, raw))
        .unwrap_or_else(|| "/".to_owned());
    let invitation_id = match &query.invitation {
        Some(token) => invitation_of(state, token).await,
        None => None,
    };
    let login = SsoLogin {
        key: key.to_owned(),
        connection: connection.clone(),
        browser_hash: token_hash(&browser),
        return_to,
        nonce,
        pkce_verifier,
        invitation_id,
        created_at: now,
        expires_at: now + Duration::minutes(LOGIN_TTL_MINUTES),
    };
    let stored = async {
        let mut tx = state.store.begin().await?;
        tx.create_sso_login(&login, now).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, connection = %connection, "could not record a login");
        return Err(pages::unavailable(&config, "SSO-UNAVAILABLE"));
    }
    Ok((login, browser_cookie(&config, &browser)))
}

/// What became of a login when the IdP answered.
#[derive(Debug)]
pub enum Pending {
    /// Started by this browser; now used up.
    Found(SsoLogin),
    /// No such login: never started, already used, or expired.
    Unknown,
    /// Started by another browser (the answer was carried elsewhere); now used up.
    OtherBrowser,
}

/// Takes (one use) the login with that key and checks that this browser started it.
pub async fn take_login(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
) -> Result<Pending, Response> {
    let now = Utc::now();
    let taken = async {
        let mut tx = state.store.begin().await?;
        let login = tx.take_sso_login(key, now).await?;
        tx.commit().await?;
        Ok::<_, crate::store::StoreError>(login)
    }
    .await;
    let login = match taken {
        Ok(Some(login)) => login,
        Ok(None) => return Ok(Pending::Unknown),
        Err(e) => {
            tracing::warn!(error = %e, "could not read a login under way");
            return Err(pages::unavailable(
                &state.config.current(),
                "SSO-UNAVAILABLE",
            ));
        }
    };
    let presented = cookie(headers, SSO_COOKIE).map(|v| token_hash(&v));
    let same =
        presented.is_some_and(|h| bool::from(h.as_bytes().ct_eq(login.browser_hash.as_bytes())));
    Ok(if same {
        Pending::Found(login)
    } else {
        Pending::OtherBrowser
    })
}

/// `raw` as a path on this origin, or `None` when it would leave it (open-redirect safe):
/// a path starting with one `/` (not `//` or `/\`, which browsers read as another host),
/// or an absolute URL with `public_url`'s scheme, host and port, reduced to its path and
/// query. Control characters and backslashes are refused anywhere.
pub fn safe_return_to(config: &Config, raw: &str) -> Option<String> {
    if raw.is_empty() || raw.len() > 2048 || raw.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    if raw.starts_with('/') {
        if raw.starts_with("//") {
            return None;
        }
        return Some(raw.to_owned());
    }
    let url = url::Url::parse(raw).ok()?;
    let public = config.server.public_url.url();
    if url.origin() != public.origin() || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    Some(path)
}

/// The id of the pending invitation with that token, if there is one.
async fn invitation_of(state: &AppState, token: &str) -> Option<String> {
    if token.len() != 43 {
        return None;
    }
    let mut read = state.store.read().await.ok()?;
    let invitation = read
        .find_invitation_by_token_hash(&token_hash(token))
        .await
        .ok()??;
    (invitation.effective_status(Utc::now()) == InvitationStatus::Pending).then_some(invitation.id)
}

fn browser_cookie(config: &Config, value: &str) -> HeaderValue {
    let https = config.server.public_url.is_https();
    let mut c = cookie::Cookie::build((SSO_COOKIE, value.to_owned()))
        .http_only(true)
        .path("/sso/")
        .max_age(cookie::time::Duration::minutes(LOGIN_TTL_MINUTES))
        .secure(https);
    if https {
        c = c.same_site(cookie::SameSite::None);
    }
    // The value is base64url and the attributes are fixed: always a valid header.
    HeaderValue::from_str(&c.build().to_string()).unwrap_or(HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(public_url: &str) -> Config {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            format!("version = 1\n[server]\npublic_url = \"{public_url}\"\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn return_to_stays_on_this_origin() {
        let c = config("https://sso.example.com");
        let ok = |raw: &str| safe_return_to(&c, raw);
        assert_eq!(ok("/").as_deref(), Some("/"));
        assert_eq!(ok("/app?x=1").as_deref(), Some("/app?x=1"));
        assert_eq!(
            ok("https://sso.example.com/a/b?c=d").as_deref(),
            Some("/a/b?c=d")
        );
        for bad in [
            "//evil.com/",
            "/\\evil.com",
            "https://evil.com/",
            "http://sso.example.com/",
            "https://sso.example.com:444/",
            "https://user@sso.example.com/",
            "javascript:alert(1)",
            "evil.com",
            "/a\nb",
            "",
        ] {
            assert_eq!(ok(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn the_browser_cookie_is_cross_site_only_over_https() {
        let https = browser_cookie(&config("https://sso.example.com"), "v");
        let https = https.to_str().unwrap_or_default();
        assert!(
            https.contains("SameSite=None") && https.contains("Secure"),
            "{https}"
        );
        assert!(
            https.contains("HttpOnly") && https.contains("Path=/sso/"),
            "{https}"
        );
        let http = browser_cookie(&config("http://127.0.0.1:8080"), "v");
        let http = http.to_str().unwrap_or_default();
        assert!(
            !http.contains("SameSite") && !http.contains("Secure"),
            "{http}"
        );
    }
}
