//! The settings one SAML connection's service provider works with, as the caller (the
//! HTTP layer, from the validated config) hands them over; and the names of the SAML
//! protocol constants used across this module.

use chrono::Duration;
use secrecy::SecretString;

pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const NS_METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const NS_XMLENC: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const NS_XMLENC11: &str = "http://www.w3.org/2009/xmlenc11#";

pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
pub const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// Entra's "too many groups" claim: its presence means "ask Graph" (for us: use SCIM).
pub const ENTRA_GROUPS_OVERAGE: &str = "http://schemas.microsoft.com/claims/groups.link";
/// Display-name attributes read when present (Entra's claim URI, then the common name).
pub const DISPLAY_NAME_ATTRIBUTES: [&str; 2] = [
    "http://schemas.microsoft.com/identity/claims/displayname",
    "displayName",
];

/// SAML attribute names to read the person from (the `kind` presets of DESIGN §10, with
/// the connection's overrides applied by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeNames {
    /// Tried in order; without any, an emailAddress-format NameID is the email.
    pub email: Vec<String>,
    pub first_name: String,
    pub last_name: String,
    pub groups: String,
    /// The IdP's immutable user id attribute (Entra's objectidentifier): the subject
    /// when present.
    pub immutable_id: Option<String>,
}

/// One connection's service provider: who we are, whom we trust, and how strictly.
#[derive(Clone, Debug)]
pub struct SpSettings {
    /// Our entity id: `{public_url}/sso/saml/{connection}/metadata`.
    pub entity_id: String,
    /// Our ACS: `{public_url}/sso/saml/{connection}/acs`.
    pub acs_url: String,
    pub idp_entity_id: String,
    /// Where AuthnRequests go (Redirect binding).
    pub idp_sso_url: String,
    /// The IdP's signing certificates, base64 DER; several while the IdP rotates.
    pub idp_certificates: Vec<String>,
    /// PEM private key: signs AuthnRequests, decrypts encrypted assertions.
    pub sp_key_pem: Option<SecretString>,
    /// PEM certificate of that key, published in our metadata.
    pub sp_cert_pem: Option<String>,
    pub allow_sha1: bool,
    pub clock_skew: Duration,
    pub attributes: AttributeNames,
}
