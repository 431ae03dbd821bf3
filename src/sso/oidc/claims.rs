//! ID token verification and the claims a sign-in uses.
//!
//! `openidconnect`'s verifier checks, in this order, `iss`, `aud`, the signature against
//! the provider's JWKS (asymmetric algorithms only: `alg: none` and HMAC with the client
//! secret are never accepted), `exp` and `nonce`. We add `azp`: with several audiences it
//! must name this client, and when present it must always name it.
//!
//! Decisions: `exp` gets [`CLOCK_LEEWAY`] of slack for clocks that disagree a little; an
//! `email` whose `email_verified` is explicitly `false` is ignored (identity is keyed on
//! `sub`, the email is only contact data, but an unverified one must not land on a user);
//! a groups claim may be a list of strings (numbers are accepted as text) or one string.

use super::provider::Provider;
use super::{Failure, PendingSecrets, Settings};
use crate::sso::{Identity, Protocol, Refusal};
use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, IdToken, IdTokenVerifier, IssuerUrl,
    Nonce, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Slack on `exp`, for an IdP whose clock runs a little ahead of ours.
pub(super) const CLOCK_LEEWAY: TimeDelta = TimeDelta::seconds(60);

/// The signature algorithms an ID token may use: asymmetric ones only.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Every claim the standard set does not name (the groups claim among them).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(super) struct ExtraClaims {
    #[serde(flatten)]
    claims: Map<String, Value>,
}

impl AdditionalClaims for ExtraClaims {}

type RpIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// A failed verification: refused, or signed with a key we don't have (yet).
#[derive(Debug)]
pub(super) enum Checked {
    UnknownKey(String),
    Refused(Refusal),
}

/// The verified claims a sign-in uses.
#[derive(Debug)]
pub(super) struct Claims {
    pub(super) subject: String,
    preferred_username: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    given_name: Option<String>,
    family_name: Option<String>,
    name: Option<String>,
    extra: Map<String, Value>,
}

/// Verifies the compact ID token `raw` from `provider`'s token endpoint.
pub(super) fn verify(
    provider: &Provider,
    settings: &Settings,
    raw: &str,
    pending: &PendingSecrets,
    now: DateTime<Utc>,
) -> Result<Claims, Checked> {
    let refused = |failure: Failure, detail: String| Checked::Refused(failure.refuse(detail));
    let token: RpIdToken = serde_json::from_value(Value::String(raw.to_owned())).map_err(|e| {
        refused(
            Failure::Signature,
            format!("the ID token is not a JWS: {e}"),
        )
    })?;
    let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| {
        refused(
            Failure::Provider,
            format!("issuer {:?} is not a URL: {e}", provider.issuer),
        )
    })?;
    let client_id = settings.client_id.clone();
    let verifier = IdTokenVerifier::<CoreJsonWebKey>::new_public_client(
        ClientId::new(client_id.clone()),
        issuer,
        provider.keys.clone(),
    )
    .set_allowed_algs(ALLOWED_ALGS)
    // Other audiences beside ours are judged by `azp` below.
    .set_other_audience_verifier_fn(|_| true)
    .set_time_fn(move || now - CLOCK_LEEWAY);
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = token.claims(&verifier, &nonce).map_err(|e| match e {
        ClaimsVerificationError::InvalidIssuer(d) => refused(Failure::Issuer, d),
        ClaimsVerificationError::InvalidAudience(d) => refused(Failure::Audience, d),
        ClaimsVerificationError::Expired(d) => refused(Failure::Expired, d),
        ClaimsVerificationError::InvalidNonce(d) => refused(Failure::Nonce, d),
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => Checked::UnknownKey(
            "no key of the provider's JWKS matches the ID token's kid and alg".to_owned(),
        ),
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoSignature) => {
            refused(
                Failure::Signature,
                "the ID token is unsigned (alg: none)".to_owned(),
            )
        }
        ClaimsVerificationError::SignatureVerification(s) => {
            refused(Failure::Signature, format!("ID token signature: {s}"))
        }
        other => refused(Failure::Signature, format!("ID token: {other}")),
    })?;
    let audiences = claims.audiences();
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != client_id => {
            return Err(refused(
                Failure::Audience,
                format!("azp is {:?}, not this client", azp.as_str()),
            ));
        }
        None if audiences.len() > 1 => {
            return Err(refused(
                Failure::Audience,
                "several audiences and no azp naming this client".to_owned(),
            ));
        }
        _ => {}
    }
    let localized = |claim: Option<String>| claim.filter(|s| !s.trim().is_empty());
    Ok(Claims {
        subject: claims.subject().as_str().to_owned(),
        preferred_username: claims
            .preferred_username()
            .map(|n| n.as_str().to_owned())
            .filter(|n| !n.trim().is_empty()),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified(),
        given_name: localized(
            claims
                .given_name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        ),
        family_name: localized(
            claims
                .family_name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        ),
        name: localized(
            claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        ),
        extra: claims.additional_claims().claims.clone(),
    })
}

impl Claims {
    /// Entra's groups overage (too many groups for a token): `_claim_names` points at the
    /// groups claim instead of carrying it, or `hasgroups` is set.
    fn overage(&self, settings: &Settings) -> bool {
        let pointed = self
            .extra
            .get("_claim_names")
            .and_then(Value::as_object)
            .is_some_and(|names| names.contains_key(&settings.groups_claim));
        pointed || self.extra.get("hasgroups") == Some(&Value::Bool(true))
    }

    /// The ID token settles the groups: it carries the claim, or Entra's overage marker.
    pub(super) fn has_groups(&self, settings: &Settings) -> bool {
        self.extra.contains_key(&settings.groups_claim) || self.overage(settings)
    }

    /// The ID token lacks the groups claim or the email, which userinfo may have.
    pub(super) fn needs_userinfo(&self, settings: &Settings) -> bool {
        !self.has_groups(settings) || self.email.is_none()
    }

    /// The identity: the ID token's claims, gaps filled from `userinfo`.
    pub(super) fn identity(
        self,
        settings: &Settings,
        userinfo: Option<&Map<String, Value>>,
    ) -> Identity {
        let from_userinfo = |name: &str| {
            userinfo
                .and_then(|u| u.get(name))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let overage = self.overage(settings);
        let groups = if overage {
            None
        } else {
            self.extra
                .get(&settings.groups_claim)
                .or_else(|| userinfo.and_then(|u| u.get(&settings.groups_claim)))
                .and_then(group_values)
        };
        let (email, verified) = match self.email {
            Some(email) => (Some(email), self.email_verified),
            None => (
                from_userinfo("email"),
                userinfo
                    .and_then(|u| u.get("email_verified"))
                    .and_then(flag),
            ),
        };
        Identity {
            protocol: Protocol::Oidc,
            subject: self.subject,
            user_name: self
                .preferred_username
                .or_else(|| from_userinfo("preferred_username")),
            email: email.filter(|_| verified != Some(false)),
            given_name: self.given_name.or_else(|| from_userinfo("given_name")),
            family_name: self.family_name.or_else(|| from_userinfo("family_name")),
            display_name: self.name.or_else(|| from_userinfo("name")),
            groups,
            groups_overage: overage,
            reference: None,
        }
    }
}

/// `true`/`false`, also as the strings some IdPs send (Cognito).
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A groups claim's values: a list of strings or numbers, or one string. Anything else
/// (objects, nested lists) is not a groups claim we understand: treated as absent.
pub(super) fn group_values(value: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}
