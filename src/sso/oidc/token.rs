//! The back-channel calls of a login: the code exchange at the token endpoint (RFC 6749
//! §4.1.3 with the PKCE verifier, RFC 7636) and the userinfo request.

use super::provider::{Provider, read_body};
use super::{AuthMethod, Failure, PendingSecrets, Settings};
use crate::sso::Refusal;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openidconnect::reqwest;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;
use url::form_urlencoded::byte_serialize;

/// The token endpoint's answer, as far as a sign-in needs it.
#[derive(Debug)]
pub(super) struct Tokens {
    /// The compact JWT, verified by the caller.
    pub(super) id_token: String,
    /// For the userinfo request, when the IdP issued one.
    pub(super) access_token: Option<String>,
}

/// Why the exchange failed: the IdP said no (`OIDC-CODE`), or it could not be asked.
pub(super) enum Exchange {
    Refused(Refusal),
    Unreachable(Refusal),
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    error_description: Option<String>,
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 appendix B).
fn form_encode(value: &str) -> String {
    byte_serialize(value.as_bytes()).collect()
}

/// The `Authorization: Basic` value for `client_secret_basic`: id and secret are
/// form-encoded before they are joined and base64-encoded (RFC 6749 §2.3.1).
pub(super) fn basic_credentials(client_id: &str, secret: &str) -> String {
    let pair = format!("{}:{}", form_encode(client_id), form_encode(secret));
    format!("Basic {}", STANDARD.encode(pair))
}

pub(super) async fn exchange(
    http: &reqwest::Client,
    provider: &Provider,
    settings: &Settings,
    code: &str,
    pending: &PendingSecrets,
) -> Result<Tokens, Exchange> {
    let secret = settings.client_secret.expose_secret();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", settings.redirect_uri.as_str()),
        ("code_verifier", pending.pkce_verifier.as_str()),
    ];
    let mut request = http
        .post(provider.token.clone())
        .header(reqwest::header::ACCEPT, "application/json");
    match settings.auth_method {
        AuthMethod::ClientSecretBasic => {
            request = request.header(
                reqwest::header::AUTHORIZATION,
                basic_credentials(&settings.client_id, secret),
            );
        }
        AuthMethod::ClientSecretPost => {
            form.push(("client_id", settings.client_id.as_str()));
            form.push(("client_secret", secret));
        }
    }
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let unreachable = |detail: String| Exchange::Unreachable(Failure::Provider.refuse(detail));
    let response = request
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .map_err(|e| unreachable(format!("token endpoint {}: {e}", provider.token)))?;
    let status = response.status();
    let text = read_body(response)
        .await
        .map_err(|e| unreachable(format!("token endpoint {}: {e}", provider.token)))?;
    if status.is_client_error() {
        // RFC 6749 §5.2: invalid_grant for a used or expired code, invalid_client for
        // wrong credentials; either way the IdP refused this exchange.
        let detail = match serde_json::from_str::<ErrorResponse>(&text) {
            Ok(e) => format!(
                "token endpoint refused the code: {}{}",
                e.error,
                e.error_description
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            Err(_) => format!("token endpoint refused the code: HTTP {status}"),
        };
        return Err(Exchange::Refused(Failure::Code.refuse(detail)));
    }
    if !status.is_success() {
        return Err(unreachable(format!(
            "token endpoint {}: HTTP {status}",
            provider.token
        )));
    }
    let parsed: TokenResponse = serde_json::from_str(&text).map_err(|e| {
        Exchange::Refused(
            Failure::Provider.refuse(format!("token endpoint answered unusable JSON: {e}")),
        )
    })?;
    let id_token = parsed.id_token.ok_or_else(|| {
        Exchange::Refused(Failure::Provider.refuse(
            "token endpoint answered without an id_token (is the `openid` scope allowed for this client?)",
        ))
    })?;
    Ok(Tokens {
        id_token,
        access_token: parsed.access_token,
    })
}

/// The userinfo claims of the signed-in user. Its `sub` must be the ID token's
/// (OpenID Connect Core §5.3.2), else the answer is not about this user.
pub(super) async fn userinfo(
    http: &reqwest::Client,
    endpoint: &Url,
    access_token: Option<&str>,
    subject: &str,
) -> Result<Map<String, Value>, Refusal> {
    let Some(access_token) = access_token else {
        return Err(Failure::Provider.refuse(
            "the ID token lacks claims only userinfo has, and the token endpoint issued no access token",
        ));
    };
    let response = http
        .get(endpoint.clone())
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| Failure::Provider.refuse(format!("userinfo {endpoint}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Failure::Provider.refuse(format!("userinfo {endpoint}: HTTP {status}")));
    }
    let text = read_body(response)
        .await
        .map_err(|e| Failure::Provider.refuse(format!("userinfo {endpoint}: {e}")))?;
    let claims: Map<String, Value> = serde_json::from_str(&text).map_err(|e| {
        Failure::Provider.refuse(format!(
            "userinfo {endpoint}: not a JSON object (signed userinfo is not supported): {e}"
        ))
    })?;
    if claims.get("sub").and_then(Value::as_str) == Some(subject) {
        Ok(claims)
    } else {
        Err(Failure::Provider.refuse(format!(
            "userinfo {endpoint} describes another subject than the ID token"
        )))
    }
}
