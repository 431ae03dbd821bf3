//! IdP metadata and certificates: the entity id, the single-sign-on endpoints and the
//! signing certificates of an identity provider, read from its SAML metadata XML or from
//! PEM/DER certificate files.
//!
//! An IdP without a signing certificate is refused here ([`MetadataError::NoSigningCertificate`]):
//! samael's `parse_xml_response` skips signature verification when it has no certificate,
//! which would accept a forged response.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use samael::crypto::{CertificateDer, UrlVerifier, decode_x509_cert};
use samael::metadata::EntityDescriptor;

/// SAML binding URIs of the single-sign-on endpoints we look for.
const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("not valid SAML metadata: {0}")]
    Parse(String),
    #[error("the metadata has no IDPSSODescriptor (is it SP metadata?)")]
    NotAnIdp,
    #[error(
        "the IdP has no signing certificate (KeyDescriptor use=\"signing\" or without use); \
         responses could not be verified"
    )]
    NoSigningCertificate,
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
}

/// What idp-sync needs to know of an IdP, read from its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: Option<String>,
    /// `SingleSignOnService` with the HTTP-Redirect binding (used for AuthnRequests).
    pub sso_redirect_url: Option<String>,
    /// `SingleSignOnService` with the HTTP-POST binding.
    pub sso_post_url: Option<String>,
    /// Signing certificates, base64 DER without line breaks. Never empty.
    pub signing_certificates: Vec<String>,
}

/// Parses IdP metadata (an `EntityDescriptor` with an `IDPSSODescriptor`) and checks that
/// it names at least one valid signing certificate.
pub fn parse_idp_metadata(xml: &str) -> Result<IdpMetadata, MetadataError> {
    // samael's error is not Send: keep only its text.
    let descriptor = xml
        .parse::<EntityDescriptor>()
        .map_err(|e| MetadataError::Parse(first_line(&e)))?;
    let idps = descriptor
        .idp_sso_descriptors
        .filter(|d| !d.is_empty())
        .ok_or(MetadataError::NotAnIdp)?;

    let mut certificates = Vec::new();
    let mut sso_redirect_url = None;
    let mut sso_post_url = None;
    for idp in &idps {
        for key in &idp.key_descriptors {
            if !matches!(key.key_use.as_deref(), None | Some("signing")) {
                continue;
            }
            let Some(x509) = &key.key_info.x509_data else {
                continue;
            };
            for cert in &x509.certificates {
                let normalized = normalize_base64_certificate(cert)?;
                if !certificates.contains(&normalized) {
                    certificates.push(normalized);
                }
            }
        }
        for sso in &idp.single_sign_on_services {
            if sso.binding == BINDING_REDIRECT && sso_redirect_url.is_none() {
                sso_redirect_url = Some(sso.location.clone());
            }
            if sso.binding == BINDING_POST && sso_post_url.is_none() {
                sso_post_url = Some(sso.location.clone());
            }
        }
    }
    if certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }
    Ok(IdpMetadata {
        entity_id: descriptor.entity_id,
        sso_redirect_url,
        sso_post_url,
        signing_certificates: certificates,
    })
}

/// The IdP's signing certificates (base64 DER), refusing metadata that has none.
pub fn idp_signing_certificates(xml: &str) -> Result<Vec<String>, MetadataError> {
    parse_idp_metadata(xml).map(|m| m.signing_certificates)
}

/// Certificates from a file's bytes: one or more PEM `CERTIFICATE` blocks, or a single
/// DER certificate. Returns each as base64 DER; fails when none is found or one does not
/// parse as X.509.
pub fn certificates_from_pem_or_der(bytes: &[u8]) -> Result<Vec<String>, MetadataError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(vec![check_der(bytes)?]);
    };
    if !text.contains(BEGIN) {
        if text.trim_start().starts_with("-----BEGIN") {
            return Err(MetadataError::InvalidCertificate(
                "PEM file without a CERTIFICATE block".to_owned(),
            ));
        }
        return Ok(vec![check_der(bytes)?]);
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let end = after.find(END).ok_or_else(|| {
            MetadataError::InvalidCertificate("unterminated PEM CERTIFICATE block".to_owned())
        })?;
        out.push(normalize_base64_certificate(&after[..end])?);
        rest = &after[end + END.len()..];
    }
    Ok(out)
}

/// Checks that an SP key and certificate belong together and can be used; the config
/// check calls this so a bad pair is found at load time, not at the first login.
pub fn check_sp_key_pair(key_pem: &str, cert_pem: &str) -> Result<(), String> {
    let key = super::sp::private_key(key_pem).map_err(|e| e.to_string())?;
    let cert = openssl::x509::X509::from_pem(cert_pem.as_bytes())
        .map_err(|e| super::sp::SpKeyError::Certificate(super::sp::first_reason(&e)).to_string())?;
    let public = cert
        .public_key()
        .map_err(|e| super::sp::SpKeyError::Certificate(super::sp::first_reason(&e)).to_string())?;
    if !key.public_eq(&public) {
        return Err("sp_key_file and sp_cert_file are not a pair (different keys)".to_owned());
    }
    Ok(())
}

/// Strips whitespace, checks the base64 decodes to an X.509 certificate, and returns the
/// canonical (unwrapped) base64.
fn normalize_base64_certificate(text: &str) -> Result<String, MetadataError> {
    let der = decode_x509_cert(text)
        .map_err(|e| MetadataError::InvalidCertificate(format!("bad base64: {e}")))?;
    check_der(der.der_data())
}

fn check_der(der: &[u8]) -> Result<String, MetadataError> {
    let cert = CertificateDer::from(der.to_vec());
    UrlVerifier::from_x509(&cert)
        .map_err(|e| MetadataError::InvalidCertificate(first_line(&e.to_string())))?;
    Ok(BASE64.encode(der))
}

fn first_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/saml");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
    }

    #[test]
    fn reads_entity_id_endpoints_and_signing_certificate() {
        let xml = String::from_utf8(fixture("idp-metadata.xml")).expect("utf8");
        let meta = parse_idp_metadata(&xml).expect("metadata");
        assert_eq!(
            meta.entity_id.as_deref(),
            Some("http://www.okta.com/exk-test")
        );
        assert!(meta.sso_redirect_url.is_some());
        assert!(meta.sso_post_url.is_some());
        assert_eq!(meta.signing_certificates.len(), 1);
        let from_pem = certificates_from_pem_or_der(&fixture("idp-cert.pem")).expect("pem");
        assert_eq!(from_pem, meta.signing_certificates);
        let from_der = certificates_from_pem_or_der(&fixture("idp-cert.der")).expect("der");
        assert_eq!(from_der, meta.signing_certificates);
    }

    #[test]
    fn metadata_without_signing_certificate_is_refused() {
        let xml = String::from_utf8(fixture("idp-metadata-no-cert.xml")).expect("utf8");
        assert_eq!(
            idp_signing_certificates(&xml),
            Err(MetadataError::NoSigningCertificate)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            parse_idp_metadata("<nope/>"),
            Err(MetadataError::Parse(_) | MetadataError::NotAnIdp)
        ));
        assert!(parse_idp_metadata("not xml at all").is_err());
        assert!(certificates_from_pem_or_der(b"hello").is_err());
        assert!(
            certificates_from_pem_or_der(
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
    }
}
