//! What the service provider sends: its metadata document and AuthnRequests over the
//! HTTP-Redirect binding (DEFLATE + base64 in the query; signed with `SigAlg` and
//! `Signature` query parameters, rsa-sha256, when an SP key is configured).

use super::settings::{
    BINDING_POST, NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_UNSPECIFIED, NS_ASSERTION, NS_DSIG,
    NS_METADATA, NS_PROTOCOL, SpSettings,
};
use super::xml::escape;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use secrecy::ExposeSecret;
use std::io::Write as _;

const SIG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Encryption algorithms we can decrypt, advertised in the metadata.
const ENCRYPTION_METHODS: [&str; 6] = [
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2009/xmlenc11#rsa-oaep",
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
];

/// The SP key or certificate cannot be used (the config check reads them too, so this
/// means a file changed under a running config).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpKeyError {
    #[error("the SP private key is not a usable PEM RSA key: {0}")]
    Key(String),
    #[error("the SP certificate is not a PEM certificate: {0}")]
    Certificate(String),
}

/// Our metadata: entity id, the ACS (HTTP-POST), the NameID formats we read, and the SP
/// certificate for signing and encryption when one is configured.
pub fn sp_metadata_xml(sp: &SpSettings) -> Result<String, SpKeyError> {
    let mut keys = String::new();
    if let Some(pem) = &sp.sp_cert_pem {
        let cert = certificate_base64(pem)?;
        let key_info = format!(
            "<ds:KeyInfo xmlns:ds=\"{NS_DSIG}\"><ds:X509Data><ds:X509Certificate>{cert}\
             </ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        );
        keys.push_str(&format!(
            "<md:KeyDescriptor use=\"signing\">{key_info}</md:KeyDescriptor>"
        ));
        keys.push_str(&format!("<md:KeyDescriptor use=\"encryption\">{key_info}"));
        for method in ENCRYPTION_METHODS {
            keys.push_str(&format!("<md:EncryptionMethod Algorithm=\"{method}\"/>"));
        }
        keys.push_str("</md:KeyDescriptor>");
    }
    let signed = if sp.sp_key_pem.is_some() {
        "true"
    } else {
        "false"
    };
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"{NS_METADATA}\" entityID=\"{entity}\">\
         <md:SPSSODescriptor AuthnRequestsSigned=\"{signed}\" \
         protocolSupportEnumeration=\"{NS_PROTOCOL}\">{keys}\
         <md:NameIDFormat>{NAMEID_PERSISTENT}</md:NameIDFormat>\
         <md:NameIDFormat>{NAMEID_EMAIL}</md:NameIDFormat>\
         <md:AssertionConsumerService Binding=\"{BINDING_POST}\" Location=\"{acs}\" \
         index=\"0\" isDefault=\"true\"/>\
         </md:SPSSODescriptor></md:EntityDescriptor>\n",
        entity = escape(&sp.entity_id),
        acs = escape(&sp.acs_url),
    ))
}

/// An AuthnRequest ready to send: its ID (the key of the pending login, checked against
/// InResponseTo) and the IdP URL carrying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectRequest {
    pub id: String,
    pub url: String,
}

/// A new AuthnRequest for the Redirect binding, signed when the SP has a key.
pub fn authn_request_redirect(
    sp: &SpSettings,
    now: DateTime<Utc>,
) -> Result<RedirectRequest, SpKeyError> {
    let id = format!("_{}", hex::encode(rand::random::<[u8; 20]>()));
    let xml = authn_request_xml(sp, &id, now);
    let mut deflated = Vec::new();
    {
        let mut encoder = DeflateEncoder::new(&mut deflated, Compression::default());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(xml.as_bytes());
        let _ = encoder.finish();
    }
    let mut query = format!("SAMLRequest={}", form_encode(&BASE64.encode(&deflated)));
    if let Some(key) = &sp.sp_key_pem {
        let key = private_key(key.expose_secret())?;
        query.push_str(&format!("&SigAlg={}", form_encode(SIG_RSA_SHA256)));
        let signature = sign_sha256(&key, query.as_bytes())?;
        query.push_str(&format!(
            "&Signature={}",
            form_encode(&BASE64.encode(signature))
        ));
    }
    let separator = if sp.idp_sso_url.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(RedirectRequest {
        url: format!("{}{separator}{query}", sp.idp_sso_url),
        id,
    })
}

fn authn_request_xml(sp: &SpSettings, id: &str, now: DateTime<Utc>) -> String {
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{NS_ASSERTION}\" \
         ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{instant}\" Destination=\"{dest}\" \
         AssertionConsumerServiceURL=\"{acs}\" ProtocolBinding=\"{BINDING_POST}\">\
         <saml:Issuer>{issuer}</saml:Issuer>\
         <samlp:NameIDPolicy Format=\"{NAMEID_UNSPECIFIED}\" AllowCreate=\"true\"/>\
         </samlp:AuthnRequest>",
        instant = now.to_rfc3339_opts(SecondsFormat::Secs, true),
        dest = escape(&sp.idp_sso_url),
        acs = escape(&sp.acs_url),
        issuer = escape(&sp.entity_id),
    )
}

fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Parses a PEM private key (PKCS#8 or PKCS#1) and insists on RSA (rsa-sha256 signing,
/// RSA key transport).
pub(crate) fn private_key(pem: &str) -> Result<PKey<Private>, SpKeyError> {
    let key = PKey::private_key_from_pem(pem.as_bytes())
        .map_err(|e| SpKeyError::Key(first_reason(&e)))?;
    if key.rsa().is_err() {
        return Err(SpKeyError::Key("not an RSA key".to_owned()));
    }
    Ok(key)
}

fn sign_sha256(key: &PKey<Private>, data: &[u8]) -> Result<Vec<u8>, SpKeyError> {
    let sign = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut signer = Signer::new(MessageDigest::sha256(), key)?;
        signer.update(data)?;
        signer.sign_to_vec()
    };
    sign().map_err(|e| SpKeyError::Key(first_reason(&e)))
}

/// The first certificate of a PEM file, as base64 DER on one line.
fn certificate_base64(pem: &str) -> Result<String, SpKeyError> {
    let cert = openssl::x509::X509::from_pem(pem.as_bytes())
        .map_err(|e| SpKeyError::Certificate(first_reason(&e)))?;
    let der = cert
        .to_der()
        .map_err(|e| SpKeyError::Certificate(first_reason(&e)))?;
    Ok(BASE64.encode(der))
}

pub(crate) fn first_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .and_then(|e| e.reason().map(str::to_owned))
        .unwrap_or_else(|| "unreadable".to_owned())
}
