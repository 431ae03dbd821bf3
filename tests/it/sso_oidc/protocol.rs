//! The protocol layer (`idp_sync::sso::oidc::Providers`) against the real npm
//! `oidc-provider` and the crafted-token provider, without the HTTP routes: discovery,
//! PKCE, both client authentication methods, groups from the ID token or from userinfo,
//! key rotation, and an unreachable IdP.

use crate::support::oidc_provider::{Account, EvilProvider, HttpBrowser, OidcProvider, location};
use chrono::Utc;
use idp_sync::domain::ConnectionId;
use idp_sync::sso::oidc::{
    AuthMethod, Callback, PendingSecrets, Providers, Settings, StaticEndpoints,
};
use idp_sync::sso::{Identity, Refusal};

/// The relying party's redirect URI; nothing listens there, the browser stops at it.
const REDIRECT: &str = "http://127.0.0.1:9/sso/oidc/test/callback";

fn ana() -> Account {
    Account::new(
        "00u-ana",
        "ana@acme.com",
        "Ana Lima",
        &["Engineering", "Staff"],
    )
}

fn settings(issuer: &str, auth_method: AuthMethod) -> Settings {
    Settings {
        issuer: issuer.parse().unwrap(),
        client_id: "idp-sync-test".to_owned(),
        client_secret: "s3cret:with/odd chars".to_owned().into(),
        redirect_uri: REDIRECT.to_owned(),
        groups_claim: "groups".to_owned(),
        scopes: ["openid", "email", "profile", "groups"]
            .map(String::from)
            .to_vec(),
        auth_method,
        endpoints: StaticEndpoints::default(),
    }
}

async fn registered(provider: &OidcProvider, settings: &Settings, method: &str) {
    provider
        .register_client("idp-sync-test", "s3cret:with/odd chars", REDIRECT, method)
        .await;
    assert_eq!(settings.client_id, "idp-sync-test");
}

/// Starts a login, signs `sub` in at the provider (its form when it shows one) and returns
/// the code with the `iss` parameter if any, and the secrets the relying party kept.
async fn authorize(
    providers: &Providers,
    settings: &Settings,
    sub: &str,
) -> (Code, PendingSecrets) {
    let connection = ConnectionId::new("test");
    let auth = providers.begin(&connection, settings).await.unwrap();
    let query: Vec<(String, String)> = auth.url.query_pairs().into_owned().collect();
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("state").as_deref(), Some(auth.state.as_str()));
    assert_eq!(
        param("scope").as_deref(),
        Some("openid email profile groups")
    );

    let browser = HttpBrowser::new();
    let (mut url, response) = browser.follow(auth.url.as_str(), REDIRECT).await;
    if !url.starts_with(REDIRECT) {
        // The provider's sign-in form.
        assert_eq!(response.status(), 200, "{url}");
        let response = browser
            .post_form(&format!("{url}/login"), &[("login", sub)])
            .await;
        let next = location(&format!("{url}/login"), &response).expect("redirect after login");
        url = browser.follow(&next, REDIRECT).await.0;
    }
    let back = reqwest::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some(auth.state.as_str()), "{url}");
    let code = Code {
        code: get("code").unwrap_or_else(|| panic!("no code in {url}")),
        iss: get("iss"),
    };
    (
        code,
        PendingSecrets {
            nonce: auth.nonce,
            pkce_verifier: auth.pkce_verifier,
        },
    )
}

/// What came back to the redirect URI.
struct Code {
    code: String,
    iss: Option<String>,
}

async fn complete(
    providers: &Providers,
    settings: &Settings,
    code: &Code,
    pending: &PendingSecrets,
) -> Result<Identity, Refusal> {
    let callback = Callback {
        code: &code.code,
        issuer: code.iss.as_deref(),
    };
    let connection = ConnectionId::new("test");
    providers
        .complete(&connection, settings, &callback, pending, Utc::now())
        .await
}

#[tokio::test]
async fn groups_from_the_id_token_with_client_secret_basic() {
    let provider = OidcProvider::start(&[ana()], true).await;
    let settings = settings(&provider.issuer, AuthMethod::ClientSecretBasic);
    registered(&provider, &settings, "client_secret_basic").await;
    let providers = Providers::new();
    let (code, pending) = authorize(&providers, &settings, "00u-ana").await;
    let identity = complete(&providers, &settings, &code, &pending)
        .await
        .unwrap();
    assert_eq!(identity.subject, "00u-ana");
    assert_eq!(identity.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(identity.given_name.as_deref(), Some("Ana"));
    assert_eq!(identity.display_name.as_deref(), Some("Ana Lima"));
    assert_eq!(
        identity.groups,
        Some(vec!["Engineering".to_owned(), "Staff".to_owned()])
    );

    // oidc-provider promises RFC 9207's `iss`: an answer without it is refused.
    assert!(code.iss.is_some());
    let (fresh, fresh_pending) = authorize(&providers, &settings, "00u-ana").await;
    let stripped = Callback {
        code: &fresh.code,
        issuer: None,
    };
    let refusal = providers
        .complete(
            &ConnectionId::new("test"),
            &settings,
            &stripped,
            &fresh_pending,
            Utc::now(),
        )
        .await
        .unwrap_err();
    assert_eq!(refusal.code, "OIDC-ISSUER", "{refusal:?}");

    // The code is single-use: the provider refuses it the second time.
    let replay = complete(&providers, &settings, &code, &pending)
        .await
        .unwrap_err();
    assert_eq!(replay.code, "OIDC-CODE", "{replay:?}");
    assert_eq!(replay.status, 400);
}

#[tokio::test]
async fn groups_from_userinfo_with_client_secret_post() {
    // The provider's conformant default: the code flow's ID token has no scope claims.
    let provider = OidcProvider::start(&[ana()], false).await;
    let settings = settings(&provider.issuer, AuthMethod::ClientSecretPost);
    registered(&provider, &settings, "client_secret_post").await;
    let providers = Providers::new();
    let (code, pending) = authorize(&providers, &settings, "00u-ana").await;
    let identity = complete(&providers, &settings, &code, &pending)
        .await
        .unwrap();
    assert_eq!(identity.subject, "00u-ana");
    assert_eq!(identity.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(
        identity.groups,
        Some(vec!["Engineering".to_owned(), "Staff".to_owned()])
    );
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_by_the_provider() {
    let provider = OidcProvider::start(&[ana()], true).await;
    let settings = settings(&provider.issuer, AuthMethod::ClientSecretBasic);
    registered(&provider, &settings, "client_secret_basic").await;
    let providers = Providers::new();
    let (code, mut pending) = authorize(&providers, &settings, "00u-ana").await;
    pending.pkce_verifier = "x".repeat(43);
    let refusal = complete(&providers, &settings, &code, &pending)
        .await
        .unwrap_err();
    assert_eq!(refusal.code, "OIDC-CODE", "{refusal:?}");
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_once() {
    let provider = EvilProvider::start("rotated-key", "idp-sync-test", &ana()).await;
    let settings = settings(&provider.issuer, AuthMethod::ClientSecretBasic);
    let providers = Providers::new();
    // begin() fetched the keys before the rotation; the token names the new kid.
    let (code, pending) = authorize(&providers, &settings, "00u-ana").await;
    let identity = complete(&providers, &settings, &code, &pending)
        .await
        .unwrap();
    assert_eq!(identity.subject, "00u-ana");
}

#[tokio::test]
async fn static_endpoints_need_no_discovery() {
    let provider = EvilProvider::start("good", "idp-sync-test", &ana()).await;
    let mut settings = settings(&provider.issuer, AuthMethod::ClientSecretPost);
    let at = |path: &str| Some(format!("{}{path}", provider.issuer).parse().unwrap());
    settings.endpoints = StaticEndpoints {
        authorization: at("/authorize"),
        token: at("/token"),
        jwks_uri: at("/jwks"),
        userinfo: None,
    };
    // A discovery fetch would fail: the issuer's path has no discovery document.
    settings.issuer = format!("{}/static", provider.issuer).parse().unwrap();
    let providers = Providers::new();
    let (code, pending) = authorize(&providers, &settings, "00u-ana").await;
    // The evil provider's good tokens name the bare issuer, so this one is refused for
    // its issuer — after the exchange, which proves the static endpoints were used.
    let refusal = complete(&providers, &settings, &code, &pending)
        .await
        .unwrap_err();
    assert_eq!(refusal.code, "OIDC-ISSUER", "{refusal:?}");
}

#[tokio::test]
async fn an_unreachable_idp_is_a_502_and_is_retried_next_time() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let settings = settings(&issuer, AuthMethod::ClientSecretBasic);
    let providers = Providers::new();
    let connection = ConnectionId::new("test");
    let refusal = providers.begin(&connection, &settings).await.unwrap_err();
    assert_eq!(refusal.code, "OIDC-PROVIDER");
    assert_eq!(refusal.status, 502);

    // Nothing was cached: once the IdP is up, the next login discovers it.
    let provider = EvilProvider::start("good", "idp-sync-test", &ana()).await;
    let settings = self::settings(&provider.issuer, AuthMethod::ClientSecretBasic);
    assert!(providers.begin(&connection, &settings).await.is_ok());
}

#[tokio::test]
async fn an_authorization_response_from_another_issuer_is_refused() {
    // RFC 9207: the callback's `iss` names the IdP that answered (a mix-up attack sends
    // the code of one IdP to the callback of another).
    let provider = EvilProvider::start("good", "idp-sync-test", &ana()).await;
    let settings = settings(&provider.issuer, AuthMethod::ClientSecretBasic);
    let providers = Providers::new();
    let (code, pending) = authorize(&providers, &settings, "00u-ana").await;
    let connection = ConnectionId::new("test");
    let mixed_up = Callback {
        code: &code.code,
        issuer: Some("https://other-idp.example.com"),
    };
    let refusal = providers
        .complete(&connection, &settings, &mixed_up, &pending, Utc::now())
        .await
        .unwrap_err();
    assert_eq!(refusal.code, "OIDC-ISSUER", "{refusal:?}");
    // The code was not spent on the refused answer: with the right `iss` it still works.
    let right = Callback {
        code: &code.code,
        issuer: Some(&provider.issuer),
    };
    let identity = providers
        .complete(&connection, &settings, &right, &pending, Utc::now())
        .await
        .unwrap();
    assert_eq!(identity.subject, "00u-ana");
}

#[tokio::test]
async fn a_broken_userinfo_only_fails_a_login_that_needs_its_groups() {
    // The ID token has the groups but no email: the login goes on without the email.
    let provider = EvilProvider::start("no-email", "idp-sync-test", &ana()).await;
    let settings = settings(&provider.issuer, AuthMethod::ClientSecretBasic);
    let providers = Providers::new();
    let (code, pending) = authorize(&providers, &settings, "00u-ana").await;
    let identity = complete(&providers, &settings, &code, &pending)
        .await
        .unwrap();
    assert_eq!(identity.email, None);
    assert_eq!(
        identity.groups,
        Some(vec!["Engineering".to_owned(), "Staff".to_owned()])
    );

    // Without groups in the ID token, userinfo is where they are: its failure is a 502.
    let provider = EvilProvider::start("thin", "idp-sync-test", &ana()).await;
    let settings = self::settings(&provider.issuer, AuthMethod::ClientSecretBasic);
    let (code, pending) = authorize(&providers, &settings, "00u-ana").await;
    let refusal = complete(&providers, &settings, &code, &pending)
        .await
        .unwrap_err();
    assert_eq!(refusal.code, "OIDC-PROVIDER", "{refusal:?}");
    assert_eq!(refusal.status, 502);
}

#[tokio::test]
async fn an_oversized_idp_answer_is_not_read() {
    let provider = EvilProvider::start("huge-keys", "idp-sync-test", &ana()).await;
    let settings = settings(&provider.issuer, AuthMethod::ClientSecretBasic);
    let refusal = Providers::new()
        .begin(&ConnectionId::new("test"), &settings)
        .await
        .unwrap_err();
    assert_eq!(refusal.code, "OIDC-PROVIDER");
    assert!(refusal.detail.contains("larger than"), "{}", refusal.detail);
}
