//! A SAML Response arrives from anyone who can post a form to the ACS: validation must
//! never panic, whatever the XML (or non-XML), and a response it accepts can only name a
//! person the test IdP signed for — mutating a signed response must never yield another
//! identity. Seeds are responses of the pysaml2 test IdP (tests/fixtures/saml/responses),
//! validated at the instant they were made, with the SP key so encrypted ones decrypt.

#![no_main]

use chrono::{DateTime, Duration, Utc};
use idp_sync::sso::saml::{AttributeNames, SpSettings, decode_post_value, validate_response};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const IDP_CERT: &str = include_str!("../../tests/saml_idp/keys/idp.crt");
const SP_KEY: &str = include_str!("../../tests/saml_idp/keys/sp.key");
const SP_CERT: &str = include_str!("../../tests/saml_idp/keys/sp.crt");
const GENERATED_AT: &str = include_str!("../../tests/fixtures/saml/responses/GENERATED_AT");
/// Whom the seeds name: Okta's persistent id, the email NameID of the Entra and JumpCloud
/// shapes.
const SIGNED_SUBJECTS: [&str; 2] = ["00u-ana", "ana@acme.com"];

fn settings() -> &'static (SpSettings, DateTime<Utc>) {
    static SP: OnceLock<(SpSettings, DateTime<Utc>)> = OnceLock::new();
    SP.get_or_init(|| {
        let cert: String = IDP_CERT
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let sp = SpSettings {
            entity_id: "http://sp.test/sso/saml/okta/metadata".into(),
            acs_url: "http://sp.test/sso/saml/okta/acs".into(),
            idp_entity_id: "http://idp.test/metadata".into(),
            idp_sso_url: "http://idp.test/sso".into(),
            idp_certificates: vec![cert],
            sp_key_pem: Some(SP_KEY.to_owned().into()),
            sp_cert_pem: Some(SP_CERT.to_owned()),
            allow_sha1: false,
            clock_skew: Duration::minutes(2),
            attributes: AttributeNames {
                email: vec!["email".into()],
                first_name: "firstName".into(),
                last_name: "lastName".into(),
                groups: "groups".into(),
                immutable_id: None,
            },
        };
        let now = GENERATED_AT
            .trim()
            .parse::<DateTime<Utc>>()
            .unwrap_or_default()
            + Duration::seconds(30);
        (sp, now)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (sp, now) = settings();
    let _ = decode_post_value(text);
    if let Ok(verified) = validate_response(sp, text, *now) {
        let subject = verified.identity.subject.as_str();
        assert!(
            SIGNED_SUBJECTS.contains(&subject),
            "accepted a response for {subject:?}"
        );
    }
});
