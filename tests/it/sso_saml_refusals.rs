//! Refused SAML sign-ins, each its own test on both engines: the pysaml2 IdP bends its
//! response (unsigned, another key, altered after signing, signature wrapping, expired,
//! wrong audience…), idp-sync answers with the status and stable code, writes an
//! `sso.refused` audit event with that code, and starts no session.

use crate::sso_saml::{ENTRA_BEA, JC_CAIO, OKTA_ANA, SamlTest, both_engines_saml, urlencode, with};
use crate::support::scripted_browser::{ScriptedBrowser, location};
use serde_json::Value;

/// Signs in (SP-initiated) as `who` and expects a refusal with `status` and `code`.
async fn refused_sign_in(
    t: &SamlTest,
    connection: &str,
    who: &[(&str, &str)],
    status: u16,
    code: &str,
) {
    let mut browser = ScriptedBrowser::new();
    browser.json = true;
    let res = t.sign_in(&mut browser, connection, who).await;
    assert_refused(t, &mut browser, res, status, code).await;
}

/// `res` is the refusal `code` with `status`, audited, and the browser has no session.
async fn assert_refused(
    t: &SamlTest,
    browser: &mut ScriptedBrowser,
    res: reqwest::Response,
    status: u16,
    code: &str,
) {
    assert_eq!(res.status().as_u16(), status, "expected {code}");
    let body: Value = res.json().await.expect("JSON refusal");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let codes = t.refused_codes().await;
    assert!(
        codes.iter().any(|c| c == code),
        "audit has {codes:?}, not {code}"
    );
    assert_eq!(t.session(browser).await.0, 401, "no session after {code}");
}

/// `refusal!(name, connection, who, extra query, status, code)`.
macro_rules! refusal {
    ($name:ident, $connection:expr, $who:expr, $extra:expr, $status:expr, $code:expr) => {
        async fn $name(t: SamlTest) {
            refused_sign_in(&t, $connection, &with($who, $extra), $status, $code).await;
        }
        both_engines_saml!($name);
    };
}

refusal!(
    unsigned_response_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "unsigned")],
    403,
    "SAML-UNSIGNED"
);
refusal!(
    response_signed_by_another_key_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "other_key")],
    403,
    "SAML-SIGNATURE"
);
refusal!(
    response_altered_after_signing_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "altered")],
    403,
    "SAML-SIGNATURE"
);
refusal!(
    assertion_altered_after_signing_is_refused,
    "entrasaml",
    ENTRA_BEA,
    &[("knob", "altered")],
    403,
    "SAML-SIGNATURE"
);
refusal!(
    unsigned_assertion_beside_the_signed_one_is_refused,
    "entrasaml",
    ENTRA_BEA,
    &[("knob", "wrap_beside")],
    403,
    "SAML-UNSIGNED"
);
refusal!(
    unsigned_assertion_around_the_signed_one_is_refused,
    "entrasaml",
    ENTRA_BEA,
    &[("knob", "wrap_around")],
    403,
    "SAML-UNSIGNED"
);
refusal!(
    comment_injected_in_name_id_is_refused,
    "entrasaml",
    ENTRA_BEA,
    &[("knob", "comment")],
    403,
    "SAML-SIGNATURE"
);
refusal!(
    expired_assertion_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "expired")],
    403,
    "SAML-EXPIRED"
);
refusal!(
    assertion_not_yet_valid_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "not_yet_valid")],
    403,
    "SAML-NOT-YET-VALID"
);
refusal!(
    wrong_audience_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "wrong_audience")],
    403,
    "SAML-AUDIENCE"
);
refusal!(
    wrong_recipient_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "wrong_recipient")],
    403,
    "SAML-RECIPIENT"
);
refusal!(
    wrong_destination_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "wrong_destination")],
    403,
    "SAML-DESTINATION"
);
refusal!(
    wrong_issuer_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "wrong_issuer")],
    403,
    "SAML-ISSUER"
);
refusal!(
    sha1_signature_is_refused,
    "jcsaml",
    JC_CAIO,
    &[("knob", "sha1")],
    403,
    "SAML-SHA1"
);
refusal!(
    idp_error_status_is_refused,
    "oktasaml",
    OKTA_ANA,
    &[("knob", "status_error")],
    403,
    "SAML-STATUS"
);

async fn in_response_to_from_another_browser_is_refused(t: SamlTest) {
    let mut victim = ScriptedBrowser::new();
    let to_idp = t.start_login(&mut victim, "oktasaml", "/").await;
    let form = t.at_idp(&mut victim, &to_idp, OKTA_ANA).await;
    // The answer is carried to another browser, which never started a login here.
    let mut attacker = ScriptedBrowser::new();
    attacker.json = true;
    let res = attacker.post(&form).await;
    assert_refused(&t, &mut attacker, res, 403, "SAML-IN-RESPONSE-TO").await;
    // The login was used up by the first attempt: the victim must start again.
    victim.json = true;
    let res = victim.post(&form).await;
    assert_refused(&t, &mut victim, res, 403, "SAML-IN-RESPONSE-TO").await;
}
both_engines_saml!(in_response_to_from_another_browser_is_refused);

async fn replayed_assertion_is_refused(t: SamlTest) {
    t.provision_ana().await;
    // IdP-initiated: nothing but the replay cache stands in the way of a second use.
    let mut browser = ScriptedBrowser::new();
    let form = t
        .unsolicited(&mut browser, "oktasaml", None, OKTA_ANA)
        .await;
    let res = browser.post(&form).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let mut thief = ScriptedBrowser::new();
    thief.json = true;
    let res = thief.post(&form).await;
    assert_refused(&t, &mut thief, res, 403, "SAML-REPLAY").await;

    // SP-initiated, posted twice by the same browser.
    let mut browser = ScriptedBrowser::new();
    let to_idp = t.start_login(&mut browser, "oktasaml", "/").await;
    let form = t.at_idp(&mut browser, &to_idp, OKTA_ANA).await;
    let res = browser.post(&form).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let mut again = ScriptedBrowser::new();
    again.json = true;
    let res = again.post(&form).await;
    assert_refused(&t, &mut again, res, 403, "SAML-REPLAY").await;
}
both_engines_saml!(replayed_assertion_is_refused);

async fn idp_initiated_is_refused_where_not_allowed(t: SamlTest) {
    let mut browser = ScriptedBrowser::new();
    browser.json = true;
    let form = t
        .unsolicited(&mut browser, "jcsaml", Some("/"), JC_CAIO)
        .await;
    let res = browser.post(&form).await;
    assert_refused(&t, &mut browser, res, 403, "SAML-UNSOLICITED").await;
}
both_engines_saml!(idp_initiated_is_refused_where_not_allowed);

async fn garbage_at_the_acs_is_malformed_never_a_server_error(t: SamlTest) {
    let acs = format!("{}/sso/saml/oktasaml/acs", t.app.base);
    let xml_bomb =
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><r>&b;</r>";
    let bodies = [
        "SAMLResponse=%25%25%25".to_owned(),
        "RelayState=%2F".to_owned(),
        format!("SAMLResponse={}", urlencode(&base64_of("not xml"))),
        format!("SAMLResponse={}", urlencode(&base64_of(xml_bomb))),
        "SAMLResponse=%ff%fe".to_owned(),
    ];
    for body in bodies {
        let res = t
            .app
            .http
            .post(&acs)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 400, "{body}");
        let json: Value = res.json().await.expect("json");
        assert_eq!(json["error"]["code"], "SAML-MALFORMED", "{body}");
    }
    let res = t.app.http.post(&acs).body("x").send().await.expect("post");
    assert_eq!(res.status(), 400, "no form content type");
    assert!(
        t.refused_codes()
            .await
            .iter()
            .all(|c| c == "SAML-MALFORMED")
    );
}
both_engines_saml!(garbage_at_the_acs_is_malformed_never_a_server_error);

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
