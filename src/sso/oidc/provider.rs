//! The provider's endpoints and signing keys, per connection, cached in this process.
//!
//! Nothing is fetched until the first login of a connection. A fetch that fails caches
//! nothing, so the next login tries again; a token endpoint that cannot be reached drops
//! the entry (the IdP may have moved its endpoints). A token whose `kid` is unknown makes
//! one new JWKS fetch (key rotation) before it is refused. A config reload that changes
//! the issuer or the static endpoints makes the old entry stale.

use super::claims::{self, Checked};
use super::token::{self, Exchange};
use super::{Authorization, Callback, Failure, PendingSecrets, Settings, StaticEndpoints};
use crate::domain::ConnectionId;
use crate::sso::{Identity, Refusal};
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::reqwest;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// Connect and whole-request limits for calls to an IdP: a login waits at most this long,
/// well under the server's request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// All the IdP calls of one login step together (a callback may discover, exchange, fetch
/// the keys again and ask userinfo): answered `OIDC-PROVIDER` before the server's own
/// 30-second request timeout would cut it off without a page.
const STEP_DEADLINE: Duration = Duration::from_secs(25);

/// OIDC providers by connection, and the HTTP client that talks to them.
pub struct Providers {
    /// `Err` when the TLS backend could not start: every login is then `OIDC-PROVIDER`.
    http: Result<reqwest::Client, String>,
    cache: Mutex<HashMap<ConnectionId, Arc<Provider>>>,
}

impl Default for Providers {
    fn default() -> Self {
        Self::new()
    }
}

/// One provider as discovered (and overridden by static endpoints).
#[derive(Debug)]
pub(super) struct Provider {
    /// What it was resolved from: a changed config makes the entry stale.
    source: Source,
    /// The exact issuer string ID tokens must carry.
    pub(super) issuer: String,
    pub(super) authorization: Url,
    pub(super) token: Url,
    pub(super) userinfo: Option<Url>,
    jwks_uri: Url,
    pub(super) keys: CoreJsonWebKeySet,
    /// The discovery document promises the `iss` authorization response parameter
    /// (RFC 9207 `authorization_response_iss_parameter_supported`): a callback without it
    /// is then refused.
    requires_iss: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Source {
    issuer: Url,
    endpoints: StaticEndpoints,
}

impl Providers {
    pub fn new() -> Self {
        // Redirects off: a token or discovery answer that redirects is an error, not a
        // request replayed (with credentials) somewhere else.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        Self {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a login: fresh `state`, `nonce` and PKCE verifier, and the authorization URL
    /// (code flow, S256) that carries them with the configured scopes.
    pub async fn begin(
        &self,
        connection: &ConnectionId,
        settings: &Settings,
    ) -> Result<Authorization, Refusal> {
        let provider = within_deadline(self.provider(connection, settings)).await?;
        let state = CsrfToken::new_random();
        let nonce = Nonce::new_random();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut url = provider.authorization.clone();
        let scope = scope_param(&settings.scopes);
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &settings.client_id)
            .append_pair("redirect_uri", &settings.redirect_uri)
            .append_pair("scope", &scope)
            .append_pair("state", state.secret())
            .append_pair("nonce", nonce.secret())
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", challenge.method().as_str());
        Ok(Authorization {
            url,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Completes a login whose `state` the caller already matched to this browser:
    /// checks the authorization response's `iss` when it has one (RFC 9207, against IdP
    /// mix-up), exchanges `code`, verifies the ID token (fetching the keys again once if
    /// it names an unknown `kid`), reads the groups (from userinfo when the ID token has
    /// no such claim).
    pub async fn complete(
        &self,
        connection: &ConnectionId,
        settings: &Settings,
        callback: &Callback<'_>,
        pending: &PendingSecrets,
        now: DateTime<Utc>,
    ) -> Result<Identity, Refusal> {
        within_deadline(self.complete_unbounded(connection, settings, callback, pending, now)).await
    }

    async fn complete_unbounded(
        &self,
        connection: &ConnectionId,
        settings: &Settings,
        callback: &Callback<'_>,
        pending: &PendingSecrets,
        now: DateTime<Utc>,
    ) -> Result<Identity, Refusal> {
        let http = self.http()?;
        let provider = self.provider(connection, settings).await?;
        match callback.issuer {
            Some(iss) if iss != provider.issuer => {
                return Err(Failure::Issuer.refuse(format!(
                    "the authorization response names the issuer {iss:?}, not {:?}",
                    provider.issuer
                )));
            }
            None if provider.requires_iss => {
                return Err(Failure::Issuer.refuse(
                    "the authorization response has no iss, which this IdP promises (RFC 9207)",
                ));
            }
            _ => {}
        }
        let code = callback.code;
        let tokens = match token::exchange(http, &provider, settings, code, pending).await {
            Ok(tokens) => tokens,
            Err(Exchange::Refused(refusal)) => return Err(refusal),
            Err(Exchange::Unreachable(refusal)) => {
                self.forget(connection);
                return Err(refusal);
            }
        };
        let checked = match claims::verify(&provider, settings, &tokens.id_token, pending, now) {
            Err(Checked::UnknownKey(_)) => {
                let provider = self.refresh_keys(connection, &provider).await?;
                claims::verify(&provider, settings, &tokens.id_token, pending, now)
            }
            other => other,
        };
        let claims = match checked {
            Ok(claims) => claims,
            Err(Checked::UnknownKey(detail)) => return Err(Failure::Signature.refuse(detail)),
            Err(Checked::Refused(refusal)) => return Err(refusal),
        };
        let userinfo = match (&provider.userinfo, claims.needs_userinfo(settings)) {
            (Some(endpoint), true) => {
                let access_token = tokens.access_token.as_deref();
                match token::userinfo(http, endpoint, access_token, &claims.subject).await {
                    Ok(userinfo) => Some(userinfo),
                    // Only the email or names were missing: sign in without them rather
                    // than fail on an IdP's broken userinfo.
                    Err(refusal) if claims.has_groups(settings) => {
                        tracing::warn!(connection = %connection, detail = %refusal.detail,
                            "OIDC userinfo unusable; using the ID token's claims only");
                        None
                    }
                    Err(refusal) => return Err(refusal),
                }
            }
            _ => None,
        };
        Ok(claims.identity(settings, userinfo.as_ref()))
    }

    fn http(&self) -> Result<&reqwest::Client, Refusal> {
        self.http
            .as_ref()
            .map_err(|e| Failure::Provider.refuse(e.clone()))
    }

    fn cached(&self, connection: &ConnectionId) -> Option<Arc<Provider>> {
        self.cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(connection).cloned())
    }

    fn store(&self, connection: &ConnectionId, provider: Arc<Provider>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(connection.clone(), provider);
        }
    }

    fn forget(&self, connection: &ConnectionId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(connection);
        }
    }

    /// The cached provider of `connection`, or a freshly resolved one.
    pub(super) async fn provider(
        &self,
        connection: &ConnectionId,
        settings: &Settings,
    ) -> Result<Arc<Provider>, Refusal> {
        let source = Source {
            issuer: settings.issuer.clone(),
            endpoints: settings.endpoints.clone(),
        };
        if let Some(provider) = self.cached(connection)
            && provider.source == source
        {
            return Ok(provider);
        }
        let provider = Arc::new(self.resolve(settings, source).await?);
        self.store(connection, provider.clone());
        Ok(provider)
    }

    async fn resolve(&self, settings: &Settings, source: Source) -> Result<Provider, Refusal> {
        let http = self.http()?;
        let fixed = &settings.endpoints;
        let expected = settings.expected_issuer();
        let (issuer, authorization, token, jwks_uri, userinfo, requires_iss) =
            match (&fixed.authorization, &fixed.token, &fixed.jwks_uri) {
                (Some(a), Some(t), Some(j)) => (
                    expected,
                    a.clone(),
                    t.clone(),
                    j.clone(),
                    fixed.userinfo.clone(),
                    false,
                ),
                _ => {
                    let (meta, requires_iss) = discover(http, &expected).await?;
                    let discovered = |url: &str, what: &str| {
                        Url::parse(url).map_err(|e| {
                            Failure::Provider.refuse(format!("discovery: {what} {url:?}: {e}"))
                        })
                    };
                    let authorization = match &fixed.authorization {
                        Some(url) => url.clone(),
                        None => discovered(
                            meta.authorization_endpoint().as_str(),
                            "authorization_endpoint",
                        )?,
                    };
                    let token = match (&fixed.token, meta.token_endpoint()) {
                        (Some(url), _) => url.clone(),
                        (None, Some(url)) => discovered(url.as_str(), "token_endpoint")?,
                        (None, None) => {
                            return Err(Failure::Provider
                                .refuse("discovery document has no token_endpoint"));
                        }
                    };
                    let jwks_uri = match &fixed.jwks_uri {
                        Some(url) => url.clone(),
                        None => discovered(meta.jwks_uri().as_str(), "jwks_uri")?,
                    };
                    let userinfo = match (&fixed.userinfo, meta.userinfo_endpoint()) {
                        (Some(url), _) => Some(url.clone()),
                        (None, Some(url)) => Some(discovered(url.as_str(), "userinfo_endpoint")?),
                        (None, None) => None,
                    };
                    (
                        meta.issuer().as_str().to_owned(),
                        authorization,
                        token,
                        jwks_uri,
                        userinfo,
                        requires_iss,
                    )
                }
            };
        let keys = fetch_keys(http, &jwks_uri).await?;
        Ok(Provider {
            source,
            issuer,
            authorization,
            token,
            userinfo,
            jwks_uri,
            keys,
            requires_iss,
        })
    }

    /// The provider with its JWKS fetched again (a token named a `kid` we don't know).
    async fn refresh_keys(
        &self,
        connection: &ConnectionId,
        old: &Provider,
    ) -> Result<Arc<Provider>, Refusal> {
        let keys = fetch_keys(self.http()?, &old.jwks_uri).await?;
        let provider = Arc::new(Provider {
            source: old.source.clone(),
            issuer: old.issuer.clone(),
            authorization: old.authorization.clone(),
            token: old.token.clone(),
            userinfo: old.userinfo.clone(),
            jwks_uri: old.jwks_uri.clone(),
            keys,
            requires_iss: old.requires_iss,
        });
        self.store(connection, provider.clone());
        Ok(provider)
    }
}

async fn within_deadline<T>(step: impl Future<Output = Result<T, Refusal>>) -> Result<T, Refusal> {
    tokio::time::timeout(STEP_DEADLINE, step)
        .await
        .unwrap_or_else(|_| {
            Err(Failure::Provider.refuse(format!(
                "the identity provider did not answer within {} s",
                STEP_DEADLINE.as_secs()
            )))
        })
}

/// The `scope` parameter: `openid` first, then the configured scopes, each once.
fn scope_param(scopes: &[String]) -> String {
    let mut out = vec!["openid"];
    for scope in scopes {
        if !out.contains(&scope.as_str()) {
            out.push(scope);
        }
    }
    out.join(" ")
}

/// Fetches `{issuer}/.well-known/openid-configuration` and checks that it describes this
/// issuer (OpenID Connect Discovery §4.3), up to a trailing slash the config cannot keep.
/// Also says whether the IdP promises RFC 9207's `iss` parameter.
async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<(CoreProviderMetadata, bool), Refusal> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let document: serde_json::Value = get_json(http, &url, "discovery").await?;
    let requires_iss = document.get("authorization_response_iss_parameter_supported")
        == Some(&serde_json::Value::Bool(true));
    let meta: CoreProviderMetadata = serde_json::from_value(document).map_err(|e| {
        Failure::Provider.refuse(format!("discovery: GET {url}: unusable document: {e}"))
    })?;
    // The configured URL may have lost or gained the trailing slash of a bare host
    // (`https://tenant.auth0.com/`); the published issuer is the one tokens carry.
    let published = meta.issuer().as_str();
    if published.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(Failure::Provider.refuse(format!(
            "discovery at {url} names the issuer {published:?}, not {issuer:?}"
        )));
    }
    Ok((meta, requires_iss))
}

async fn fetch_keys(http: &reqwest::Client, url: &Url) -> Result<CoreJsonWebKeySet, Refusal> {
    get_json(http, url.as_str(), "JWKS").await
}

/// The most of an IdP's answer (discovery, keys, tokens, userinfo) read into memory; real
/// ones are a few kilobytes.
const MAX_BODY_BYTES: usize = 1 << 20;

/// A response body as text, refused beyond [`MAX_BODY_BYTES`] (a broken or hostile
/// endpoint must not fill the memory).
pub(super) async fn read_body(mut response: reqwest::Response) -> Result<String, String> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(format!("answer larger than {MAX_BODY_BYTES} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("answer larger than {MAX_BODY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "answer is not UTF-8".to_owned())
}

/// GET `url` and parse its JSON body; any failure is `OIDC-PROVIDER`.
pub(super) async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &str,
) -> Result<T, Refusal> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| Failure::Provider.refuse(format!("{what}: GET {url}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Failure::Provider.refuse(format!("{what}: GET {url}: HTTP {status}")));
    }
    let text = read_body(response)
        .await
        .map_err(|e| Failure::Provider.refuse(format!("{what}: GET {url}: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::Provider.refuse(format!("{what}: GET {url}: unusable JSON: {e}")))
}

#[cfg(test)]
pub(super) fn fixed_provider(issuer: &str, keys: CoreJsonWebKeySet) -> Provider {
    let url =
        |path: &str| Url::parse(&format!("{issuer}{path}")).unwrap_or_else(|_| unreachable!());
    Provider {
        source: Source {
            issuer: url("/"),
            endpoints: StaticEndpoints::default(),
        },
        issuer: issuer.to_owned(),
        authorization: url("/auth"),
        token: url("/token"),
        userinfo: Some(url("/me")),
        jwks_uri: url("/jwks"),
        keys,
        requires_iss: false,
    }
}

#[cfg(test)]
mod unit {
    use super::scope_param;

    #[test]
    fn openid_comes_first_and_once() {
        let scopes = ["email", "openid", "groups", "email"].map(String::from);
        assert_eq!(scope_param(&scopes), "openid email groups");
    }
}
