//! The protocol checks against responses made by the pysaml2 test IdP
//! (tests/saml_idp/fixtures.py wrote them; they are validated at the instant it recorded).

use super::metadata::certificates_from_pem_or_der;
use super::response::validate_response;
use super::settings::{AttributeNames, SpSettings};
use super::sp::{authn_request_redirect, sp_metadata_xml};
use crate::sso::Protocol;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use std::io::Read as _;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).expect(path)
}

fn response(name: &str) -> String {
    read(&format!("tests/fixtures/saml/responses/{name}.xml"))
}

fn generated_at() -> DateTime<Utc> {
    read("tests/fixtures/saml/responses/GENERATED_AT")
        .trim()
        .parse()
        .expect("GENERATED_AT")
}

fn now() -> DateTime<Utc> {
    generated_at() + Duration::seconds(30)
}

fn cert(name: &str) -> Vec<String> {
    certificates_from_pem_or_der(read(&format!("tests/saml_idp/keys/{name}.crt")).as_bytes())
        .expect("cert")
}

fn okta_names() -> AttributeNames {
    AttributeNames {
        email: vec!["email".into()],
        first_name: "firstName".into(),
        last_name: "lastName".into(),
        groups: "groups".into(),
        immutable_id: None,
    }
}

fn entra_names() -> AttributeNames {
    const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";
    AttributeNames {
        email: vec![format!("{CLAIMS}/emailaddress"), format!("{CLAIMS}/name")],
        first_name: format!("{CLAIMS}/givenname"),
        last_name: format!("{CLAIMS}/surname"),
        groups: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups".into(),
        immutable_id: Some("http://schemas.microsoft.com/identity/claims/objectidentifier".into()),
    }
}

fn jumpcloud_names() -> AttributeNames {
    AttributeNames {
        email: vec!["email".into()],
        first_name: "firstname".into(),
        last_name: "lastname".into(),
        groups: "memberOf".into(),
        immutable_id: None,
    }
}

fn sp(attributes: AttributeNames) -> SpSettings {
    SpSettings {
        entity_id: "http://sp.test/sso/saml/okta/metadata".into(),
        acs_url: "http://sp.test/sso/saml/okta/acs".into(),
        idp_entity_id: "http://idp.test/metadata".into(),
        idp_sso_url: "http://idp.test/sso".into(),
        idp_certificates: cert("idp"),
        sp_key_pem: Some(read("tests/saml_idp/keys/sp.key").into()),
        sp_cert_pem: Some(read("tests/saml_idp/keys/sp.crt")),
        allow_sha1: false,
        clock_skew: Duration::minutes(2),
        attributes,
    }
}

fn refused(sp: &SpSettings, name: &str) -> &'static str {
    match validate_response(sp, &response(name), now()) {
        Ok(v) => panic!("{name} accepted: {v:?}"),
        Err(r) => {
            assert!(r.status.is_client_error(), "{name}: {r:?}");
            assert!(!r.detail.is_empty(), "{name}: no detail");
            r.code
        }
    }
}

#[test]
fn okta_shape_signed_response_is_accepted() {
    let v = validate_response(&sp(okta_names()), &response("okta"), now()).expect("okta");
    assert_eq!(v.in_response_to.as_deref(), Some("_req-1"));
    let id = v.identity;
    assert_eq!(id.protocol, Protocol::Saml);
    assert_eq!(id.subject, "00u-ana");
    assert_eq!(id.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(id.given_name.as_deref(), Some("Ana"));
    assert_eq!(id.family_name.as_deref(), Some("Lima"));
    assert_eq!(
        id.groups,
        Some(vec!["Engineering".to_owned(), "Sales".to_owned()])
    );
    assert!(!id.groups_overage);
    assert_eq!(id.reference.as_deref(), Some(v.assertion_id.as_str()));
    // Remembered until the assertion's end of validity plus the skew.
    assert!(v.remember_until > now() && v.remember_until <= now() + Duration::minutes(8));
}

#[test]
fn entra_shape_signed_assertion_uses_claim_uris_and_object_id() {
    let v = validate_response(&sp(entra_names()), &response("entra"), now()).expect("entra");
    let id = v.identity;
    assert_eq!(id.subject, "6f1c2a4e-0000-4000-8000-00000000a11a");
    assert_eq!(id.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(id.display_name.as_deref(), Some("Ana Lima"));
    assert_eq!(id.groups.as_ref().map(Vec::len), Some(2));
    assert!(!id.groups_overage);

    let v =
        validate_response(&sp(entra_names()), &response("entra-overage"), now()).expect("overage");
    assert!(v.identity.groups_overage);
    assert_eq!(v.identity.groups, None);
}

#[test]
fn jumpcloud_shape_both_signed_reads_member_of() {
    let v = validate_response(&sp(jumpcloud_names()), &response("jumpcloud"), now())
        .expect("jumpcloud");
    assert_eq!(v.identity.subject, "ana@acme.com");
    assert_eq!(v.identity.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(
        v.identity.groups,
        Some(vec!["Engineering".to_owned(), "Sales".to_owned()])
    );
}

#[test]
fn encrypted_assertions_are_decrypted_aes_cbc_and_gcm() {
    for (name, names) in [
        ("okta-aes256-cbc", okta_names()),
        ("entra-aes256-gcm", entra_names()),
        ("jumpcloud-aes128-cbc-oaep11", jumpcloud_names()),
        ("entra-aes128-gcm-rsa15", entra_names()),
    ] {
        let v = validate_response(&sp(names), &response(name), now())
            .unwrap_or_else(|r| panic!("{name}: {r:?}"));
        assert_eq!(v.identity.email.as_deref(), Some("ana@acme.com"), "{name}");
    }
    let mut keyless = sp(okta_names());
    keyless.sp_key_pem = None;
    assert_eq!(refused(&keyless, "okta-aes256-cbc"), "SAML-DECRYPT");
    let mut wrong_key = sp(okta_names());
    wrong_key.sp_key_pem = Some(read("tests/saml_idp/keys/other.key").into());
    assert_eq!(refused(&wrong_key, "okta-aes256-cbc"), "SAML-DECRYPT");
}

#[test]
fn idp_initiated_response_has_no_in_response_to() {
    let v = validate_response(&sp(okta_names()), &response("idp-initiated"), now())
        .expect("unsolicited");
    assert_eq!(v.in_response_to, None);
}

#[test]
fn several_idp_certificates_allow_rotation() {
    let single = sp(okta_names());
    assert_eq!(refused(&single, "next-key"), "SAML-SIGNATURE");
    let mut rotating = sp(okta_names());
    rotating.idp_certificates = [cert("idp"), cert("idp-next")].concat();
    validate_response(&rotating, &response("next-key"), now()).expect("next key");
    validate_response(&rotating, &response("okta"), now()).expect("old key");
}

#[test]
fn signature_refusals() {
    let sp = sp(entra_names());
    assert_eq!(refused(&sp, "unsigned"), "SAML-UNSIGNED");
    assert_eq!(refused(&sp, "unsigned-encrypted"), "SAML-UNSIGNED");
    assert_eq!(refused(&sp, "other-key"), "SAML-SIGNATURE");
    assert_eq!(refused(&sp, "altered"), "SAML-SIGNATURE");
    assert_eq!(refused(&sp, "altered-response"), "SAML-SIGNATURE");
    assert_eq!(refused(&sp, "wrap-beside"), "SAML-UNSIGNED");
    assert_eq!(refused(&sp, "wrap-around"), "SAML-UNSIGNED");
    assert_eq!(refused(&sp, "comment"), "SAML-SIGNATURE");
}

#[test]
fn sha1_is_refused_unless_allowed() {
    let mut sp = sp(okta_names());
    assert_eq!(refused(&sp, "sha1"), "SAML-SHA1");
    sp.allow_sha1 = true;
    validate_response(&sp, &response("sha1"), now()).expect("sha1 allowed");
}

#[test]
fn protocol_refusals() {
    let sp = sp(okta_names());
    assert_eq!(refused(&sp, "status-error"), "SAML-STATUS");
    assert_eq!(refused(&sp, "wrong-audience"), "SAML-AUDIENCE");
    assert_eq!(refused(&sp, "wrong-recipient"), "SAML-RECIPIENT");
    assert_eq!(refused(&sp, "wrong-destination"), "SAML-DESTINATION");
    assert_eq!(refused(&sp, "wrong-issuer"), "SAML-ISSUER");
    assert_eq!(refused(&sp, "expired"), "SAML-EXPIRED");
    assert_eq!(refused(&sp, "not-yet-valid"), "SAML-NOT-YET-VALID");
    assert_eq!(refused(&sp, "transient"), "SAML-NO-SUBJECT");
}

#[test]
fn clock_skew_bounds_the_validity_window() {
    let sp = sp(okta_names());
    let xml = response("okta");
    // Valid 5 minutes from issue; the 2-minute skew stretches both ends.
    validate_response(&sp, &xml, generated_at() - Duration::seconds(90)).expect("early, in skew");
    validate_response(&sp, &xml, generated_at() + Duration::seconds(400)).expect("late, in skew");
    let late = validate_response(&sp, &xml, generated_at() + Duration::minutes(8));
    assert_eq!(late.map_err(|r| r.code), Err("SAML-EXPIRED"));
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let sp = sp(okta_names());
    for text in [
        "",
        "not xml",
        "<x/>",
        "<!DOCTYPE r [<!ENTITY a \"b\">]><r>&a;</r>",
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>",
    ] {
        let r = validate_response(&sp, text, now()).expect_err(text);
        assert!(
            matches!(r.code, "SAML-MALFORMED" | "SAML-STATUS"),
            "{text}: {r:?}"
        );
    }
    assert!(super::decode_post_value("%%%").is_err());
}

#[test]
fn sp_metadata_names_entity_acs_formats_and_certificate() {
    let sp = sp(okta_names());
    let xml = sp_metadata_xml(&sp).expect("metadata");
    let doc = roxmltree::Document::parse(&xml).expect("xml");
    let root = doc.root_element();
    assert_eq!(root.attribute("entityID"), Some(sp.entity_id.as_str()));
    let text = |name: &str| {
        doc.descendants()
            .filter(|n| n.tag_name().name() == name)
            .filter_map(|n| n.text().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert!(
        text("NameIDFormat")
            .iter()
            .any(|f| f.ends_with(":persistent"))
    );
    let acs = doc
        .descendants()
        .find(|n| n.tag_name().name() == "AssertionConsumerService")
        .expect("acs");
    assert_eq!(acs.attribute("Location"), Some(sp.acs_url.as_str()));
    assert_eq!(text("X509Certificate").len(), 2, "signing and encryption");
    let mut bare = sp.clone();
    bare.sp_key_pem = None;
    bare.sp_cert_pem = None;
    let xml = sp_metadata_xml(&bare).expect("metadata");
    assert!(!xml.contains("X509Certificate"));
    assert!(xml.contains("AuthnRequestsSigned=\"false\""));
}

#[test]
fn authn_request_is_deflated_and_signed_with_rsa_sha256() {
    let sp = sp(okta_names());
    let request = authn_request_redirect(&sp, now()).expect("request");
    let url = url::Url::parse(&request.url).expect("url");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(get("SAMLRequest").expect("SAMLRequest"))
        .expect("base64");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .expect("inflate");
    assert!(xml.contains(&format!("ID=\"{}\"", request.id)));
    assert!(xml.contains(&sp.acs_url));
    assert_eq!(
        get("SigAlg").as_deref(),
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    );
    // The signature covers the query as sent, up to `&Signature=`.
    let query = url.query().expect("query");
    let signed = &query[..query.find("&Signature=").expect("signature")];
    let signature = base64::engine::general_purpose::STANDARD
        .decode(get("Signature").expect("Signature"))
        .expect("base64");
    let cert =
        openssl::x509::X509::from_pem(read("tests/saml_idp/keys/sp.crt").as_bytes()).expect("cert");
    let key = cert.public_key().expect("key");
    let mut verifier =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).expect("v");
    verifier.update(signed.as_bytes()).expect("update");
    assert!(verifier.verify(&signature).expect("verify"));

    let mut unsigned = sp.clone();
    unsigned.sp_key_pem = None;
    let request = authn_request_redirect(&unsigned, now()).expect("request");
    assert!(!request.url.contains("Signature="));
}
