//! ID token checks against tokens signed here with test keys (tests/fixtures/oidc). The
//! flows over HTTP, with a real provider, are in tests/it/sso_oidc*.rs.

use super::claims::{Checked, ExtraClaims, group_values, verify};
use super::provider::fixed_provider;
use super::token::basic_credentials;
use super::{AuthMethod, Failure, PendingSecrets, Settings, StaticEndpoints};
use crate::sso::Protocol;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EndUserEmail, IdToken, IdTokenClaims, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde_json::{Map, Value, json};

const ISSUER: &str = "https://idp.example.com";
const CLIENT: &str = "idp-sync-client";
const NONCE: &str = "n-0123456789";
const KEY_A: &str = include_str!("../../../tests/fixtures/oidc/key-a.pem");
const KEY_B: &str = include_str!("../../../tests/fixtures/oidc/key-b.pem");

fn key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.to_owned()))).unwrap()
}

fn settings() -> Settings {
    Settings {
        issuer: ISSUER.parse().unwrap(),
        client_id: CLIENT.to_owned(),
        client_secret: "secret".to_owned().into(),
        redirect_uri: "https://sync.example.com/sso/oidc/okta/callback".to_owned(),
        groups_claim: "groups".to_owned(),
        scopes: vec!["openid".to_owned(), "email".to_owned()],
        auth_method: AuthMethod::ClientSecretBasic,
        endpoints: StaticEndpoints::default(),
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-22T10:00:00Z".parse().unwrap()
}

fn pending() -> PendingSecrets {
    PendingSecrets {
        nonce: NONCE.to_owned(),
        pkce_verifier: "verifier".to_owned(),
    }
}

/// A token's claims, changed by the test before signing.
struct Draft {
    issuer: String,
    audiences: Vec<String>,
    expires: DateTime<Utc>,
    nonce: Option<String>,
    email: Option<String>,
    extra: Map<String, Value>,
}

impl Draft {
    fn good() -> Self {
        let mut extra = Map::new();
        extra.insert("groups".to_owned(), json!(["Engineering", "Staff"]));
        Self {
            issuer: ISSUER.to_owned(),
            audiences: vec![CLIENT.to_owned()],
            expires: now() + TimeDelta::minutes(5),
            nonce: Some(NONCE.to_owned()),
            email: Some("ana@acme.com".to_owned()),
            extra,
        }
    }

    fn claims(&self) -> IdTokenClaims<ExtraClaims, CoreGenderClaim> {
        let standard = StandardClaims::new(SubjectIdentifier::new("00u-ana".to_owned()))
            .set_email(self.email.clone().map(EndUserEmail::new));
        let extra: ExtraClaims = serde_json::from_value(Value::Object(self.extra.clone())).unwrap();
        IdTokenClaims::new(
            IssuerUrl::new(self.issuer.clone()).unwrap(),
            self.audiences.iter().cloned().map(Audience::new).collect(),
            self.expires,
            now() - TimeDelta::minutes(1),
            standard,
            extra,
        )
        .set_nonce(self.nonce.clone().map(Nonce::new))
    }

    fn sign(&self, key: &CoreRsaPrivateSigningKey) -> String {
        let token: IdToken<
            ExtraClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        > = IdToken::new(
            self.claims(),
            key,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .unwrap();
        serde_json::to_value(&token)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The same claims with `{"alg": "none"}` and an empty signature.
    fn unsigned(&self) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.claims()).unwrap());
        format!("{header}.{payload}.")
    }
}

/// The provider publishing key A (kid "a").
fn provider() -> super::provider::Provider {
    let keys = CoreJsonWebKeySet::new(vec![key(KEY_A, "a").as_verification_key()]);
    fixed_provider(ISSUER, keys)
}

fn refused(raw: &str) -> (Failure, String) {
    match verify(&provider(), &settings(), raw, &pending(), now()) {
        Ok(claims) => panic!("accepted: {claims:?}"),
        Err(Checked::Refused(r)) => {
            let failure = [
                Failure::Issuer,
                Failure::Signature,
                Failure::Nonce,
                Failure::Audience,
                Failure::Expired,
                Failure::Provider,
            ]
            .into_iter()
            .find(|f| f.code() == r.code)
            .unwrap();
            assert_eq!(r.status, failure.status());
            (failure, r.detail)
        }
        Err(Checked::UnknownKey(d)) => panic!("unknown key: {d}"),
    }
}

#[test]
fn a_good_token_gives_the_identity_with_its_groups() {
    let raw = Draft::good().sign(&key(KEY_A, "a"));
    let claims = verify(&provider(), &settings(), &raw, &pending(), now()).unwrap();
    assert!(!claims.needs_userinfo(&settings()));
    let identity = claims.identity(&settings(), None);
    assert_eq!(identity.protocol, Protocol::Oidc);
    assert_eq!(identity.subject, "00u-ana");
    assert_eq!(identity.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(
        identity.groups,
        Some(vec!["Engineering".to_owned(), "Staff".to_owned()])
    );
    assert!(!identity.groups_overage);
}

#[test]
fn another_issuer_is_refused() {
    let mut draft = Draft::good();
    draft.issuer = "https://evil.example.com".to_owned();
    assert_eq!(refused(&draft.sign(&key(KEY_A, "a"))).0, Failure::Issuer);
}

#[test]
fn a_token_for_another_client_is_refused() {
    let mut draft = Draft::good();
    draft.audiences = vec!["someone-else".to_owned()];
    assert_eq!(refused(&draft.sign(&key(KEY_A, "a"))).0, Failure::Audience);
}

#[test]
fn several_audiences_need_azp_naming_this_client() {
    let mut draft = Draft::good();
    draft.audiences = vec![CLIENT.to_owned(), "api".to_owned()];
    assert_eq!(refused(&draft.sign(&key(KEY_A, "a"))).0, Failure::Audience);

    draft.extra.insert("azp".to_owned(), json!("api"));
    assert_eq!(refused(&draft.sign(&key(KEY_A, "a"))).0, Failure::Audience);

    draft.extra.insert("azp".to_owned(), json!(CLIENT));
    let raw = draft.sign(&key(KEY_A, "a"));
    assert!(verify(&provider(), &settings(), &raw, &pending(), now()).is_ok());
}

#[test]
fn an_expired_token_is_refused_beyond_the_leeway() {
    let mut draft = Draft::good();
    draft.expires = now() - TimeDelta::seconds(30);
    let raw = draft.sign(&key(KEY_A, "a"));
    assert!(verify(&provider(), &settings(), &raw, &pending(), now()).is_ok());
    draft.expires = now() - TimeDelta::minutes(5);
    assert_eq!(refused(&draft.sign(&key(KEY_A, "a"))).0, Failure::Expired);
}

#[test]
fn another_nonce_or_none_is_refused() {
    let mut draft = Draft::good();
    draft.nonce = Some("n-other".to_owned());
    assert_eq!(refused(&draft.sign(&key(KEY_A, "a"))).0, Failure::Nonce);
    draft.nonce = None;
    assert_eq!(refused(&draft.sign(&key(KEY_A, "a"))).0, Failure::Nonce);
}

#[test]
fn alg_none_is_refused() {
    let (failure, detail) = refused(&Draft::good().unsigned());
    assert_eq!(failure, Failure::Signature);
    assert!(detail.contains("none"), "{detail}");
}

#[test]
fn another_key_under_a_known_kid_is_refused() {
    let raw = Draft::good().sign(&key(KEY_B, "a"));
    assert_eq!(refused(&raw).0, Failure::Signature);
}

#[test]
fn an_unknown_kid_asks_for_the_keys_again() {
    let raw = Draft::good().sign(&key(KEY_B, "b"));
    let result = verify(&provider(), &settings(), &raw, &pending(), now());
    assert!(matches!(result, Err(Checked::UnknownKey(_))), "{result:?}");
}

#[test]
fn garbage_is_refused_as_unsigned() {
    assert_eq!(refused("not-a-jwt").0, Failure::Signature);
    assert_eq!(refused("a.b.c").0, Failure::Signature);
}

#[test]
fn missing_groups_come_from_userinfo() {
    let mut draft = Draft::good();
    draft.extra.clear();
    draft.email = None;
    let raw = draft.sign(&key(KEY_A, "a"));
    let claims = verify(&provider(), &settings(), &raw, &pending(), now()).unwrap();
    assert!(claims.needs_userinfo(&settings()));
    let userinfo = json!({"sub": "00u-ana", "groups": ["Ops"], "email": "ana@acme.com",
        "email_verified": true, "given_name": "Ana", "name": "Ana Lima",
        "preferred_username": "ana@acme.onmicrosoft.com"});
    let identity = claims.identity(&settings(), userinfo.as_object());
    assert_eq!(identity.groups, Some(vec!["Ops".to_owned()]));
    assert_eq!(identity.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(identity.given_name.as_deref(), Some("Ana"));
    assert_eq!(identity.display_name.as_deref(), Some("Ana Lima"));
    assert_eq!(
        identity.user_name.as_deref(),
        Some("ana@acme.onmicrosoft.com")
    );
}

#[test]
fn no_groups_anywhere_is_none_and_an_unverified_email_is_dropped() {
    let mut draft = Draft::good();
    draft.extra.clear();
    draft
        .extra
        .insert("email_verified".to_owned(), json!(false));
    let raw = draft.sign(&key(KEY_A, "a"));
    let claims = verify(&provider(), &settings(), &raw, &pending(), now()).unwrap();
    let identity = claims.identity(&settings(), json!({"sub": "00u-ana"}).as_object());
    assert_eq!(identity.groups, None);
    assert_eq!(identity.email, None);
}

#[test]
fn entra_overage_means_use_scim() {
    let mut draft = Draft::good();
    draft.extra.clear();
    draft
        .extra
        .insert("_claim_names".to_owned(), json!({"groups": "src1"}));
    let raw = draft.sign(&key(KEY_A, "a"));
    let claims = verify(&provider(), &settings(), &raw, &pending(), now()).unwrap();
    assert!(!claims.needs_userinfo(&settings()));
    let identity = claims.identity(&settings(), None);
    assert!(identity.groups_overage);
    assert_eq!(identity.groups, None);
}

#[test]
fn group_claim_shapes() {
    assert_eq!(
        group_values(&json!(["a", 7])),
        Some(vec!["a".to_owned(), "7".to_owned()])
    );
    assert_eq!(group_values(&json!("solo")), Some(vec!["solo".to_owned()]));
    assert_eq!(group_values(&json!([])), Some(vec![]));
    assert_eq!(group_values(&json!([{"id": 1}])), None);
    assert_eq!(group_values(&json!({"a": 1})), None);
}

#[test]
fn basic_credentials_form_encode_before_base64() {
    // RFC 6749 §2.3.1: "a:b" with a reserved character in the secret.
    let value = basic_credentials("client 1", "p@ss:word");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim_start_matches("Basic "))
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "client+1:p%40ss%3Aword"
    );
}

#[test]
fn a_bare_host_issuer_is_compared_without_the_slash() {
    assert_eq!(settings().expected_issuer(), ISSUER);
    let mut with_path = settings();
    with_path.issuer = "https://login.example.com/tenant/v2.0".parse().unwrap();
    assert_eq!(
        with_path.expected_issuer(),
        "https://login.example.com/tenant/v2.0"
    );
}

#[test]
fn refusal_codes_are_stable() {
    let all = [
        (Failure::State, "OIDC-STATE", 400),
        (Failure::Code, "OIDC-CODE", 400),
        (Failure::Issuer, "OIDC-ISSUER", 401),
        (Failure::Signature, "OIDC-SIGNATURE", 401),
        (Failure::Nonce, "OIDC-NONCE", 401),
        (Failure::Audience, "OIDC-AUDIENCE", 401),
        (Failure::Expired, "OIDC-EXPIRED", 401),
        (Failure::Error, "OIDC-ERROR", 400),
        (Failure::Provider, "OIDC-PROVIDER", 502),
    ];
    for (failure, code, status) in all {
        let refusal = failure.refuse("detail");
        assert_eq!((refusal.code, refusal.status.as_u16()), (code, status));
        assert_eq!(refusal.detail, "detail");
    }
}
