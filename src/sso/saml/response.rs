//! Validating a `samlp:Response` received on the ACS (POST binding) into an
//! [`Identity`], or a [`Refusal`] with a stable code.
//!
//! Order of the checks, so that each refusal names the first real problem:
//! 1. the message: base64, XML without DTD or comments, a `samlp:Response` with status
//!    Success (`SAML-MALFORMED`, `SAML-SIGNATURE` for comments, `SAML-STATUS`);
//! 2. SHA-1 anywhere in a signature unless allowed (`SAML-SHA1`);
//! 3. signatures: every one must verify with an IdP certificate, and the assertion we read
//!    comes from the reduced (signed-only) document — the signed Response's, or the
//!    signed Assertion itself; an `EncryptedAssertion` is decrypted (from the signed
//!    Response when that is signed) and its plaintext must be signed unless the Response
//!    was (`SAML-SIGNATURE`, `SAML-UNSIGNED`, `SAML-DECRYPT`). A response carrying more
//!    assertions than the signatures cover is refused (`SAML-UNSIGNED`): that is the shape
//!    of signature-wrapping attacks;
//! 4. Issuer (Response and Assertion), Destination, validity window with the clock skew,
//!    Audience, bearer SubjectConfirmation (Recipient, NotOnOrAfter), InResponseTo
//!    agreement between Response and assertion;
//! 5. the subject and attributes.
//!
//! Whether InResponseTo matches a login started in this browser, IdP-initiated policy and
//! the replay cache are the caller's: it has the store and the cookie.

use super::decrypt::decrypt_assertion;
use super::settings::{
    CM_BEARER, DISPLAY_NAME_ATTRIBUTES, ENTRA_GROUPS_OVERAGE, NAMEID_EMAIL, NAMEID_TRANSIENT,
    NS_ASSERTION, NS_PROTOCOL, STATUS_SUCCESS, SpSettings,
};
use super::signature::{has_comment, has_signature, sha1_algorithm, verify_and_reduce};
use super::sp::private_key;
use super::xml::{self, child, children, descendants, is, text};
use crate::sso::{Identity, Protocol, Refusal};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use roxmltree::Node;
use samael::crypto::{CertificateDer, decode_x509_cert};
use secrecy::ExposeSecret;
use std::collections::BTreeMap;

/// A response that passed every protocol check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedResponse {
    pub identity: Identity,
    /// The AuthnRequest ID it answers; `None`: IdP-initiated.
    pub in_response_to: Option<String>,
    pub assertion_id: String,
    /// Until when the assertion id must be remembered against replays (after that the
    /// assertion is refused as expired anyway).
    pub remember_until: DateTime<Utc>,
}

// Stable codes (the README lists them).
pub const MALFORMED: &str = "SAML-MALFORMED";
pub const SIGNATURE: &str = "SAML-SIGNATURE";
pub const UNSIGNED: &str = "SAML-UNSIGNED";
pub const SHA1: &str = "SAML-SHA1";
pub const ISSUER: &str = "SAML-ISSUER";
pub const AUDIENCE: &str = "SAML-AUDIENCE";
pub const DESTINATION: &str = "SAML-DESTINATION";
pub const RECIPIENT: &str = "SAML-RECIPIENT";
pub const EXPIRED: &str = "SAML-EXPIRED";
pub const NOT_YET_VALID: &str = "SAML-NOT-YET-VALID";
pub const IN_RESPONSE_TO: &str = "SAML-IN-RESPONSE-TO";
pub const DECRYPT: &str = "SAML-DECRYPT";
pub const STATUS: &str = "SAML-STATUS";
pub const NO_SUBJECT: &str = "SAML-NO-SUBJECT";

fn refusal(code: &'static str, detail: impl Into<String>) -> Refusal {
    let (status, message) = match code {
        MALFORMED => (
            StatusCode::BAD_REQUEST,
            "The sign-in response from your identity provider could not be read.",
        ),
        SIGNATURE => (
            StatusCode::FORBIDDEN,
            "The sign-in response's signature is not valid for this identity provider.",
        ),
        UNSIGNED => (
            StatusCode::FORBIDDEN,
            "The sign-in response is not (entirely) signed by the identity provider.",
        ),
        SHA1 => (
            StatusCode::FORBIDDEN,
            "The sign-in response is signed with SHA-1, which this connection does not accept.",
        ),
        ISSUER => (
            StatusCode::FORBIDDEN,
            "The sign-in response comes from another identity provider than this connection's.",
        ),
        AUDIENCE => (
            StatusCode::FORBIDDEN,
            "The sign-in response was issued for another application.",
        ),
        DESTINATION => (
            StatusCode::FORBIDDEN,
            "The sign-in response was sent to another address than this connection's.",
        ),
        RECIPIENT => (
            StatusCode::FORBIDDEN,
            "The sign-in assertion names another recipient than this connection's.",
        ),
        EXPIRED => (
            StatusCode::FORBIDDEN,
            "The sign-in response has expired; please sign in again.",
        ),
        NOT_YET_VALID => (
            StatusCode::FORBIDDEN,
            "The sign-in response is not valid yet (check the clocks); please sign in again.",
        ),
        IN_RESPONSE_TO => (
            StatusCode::FORBIDDEN,
            "The sign-in response does not answer a sign-in started in this browser.",
        ),
        DECRYPT => (
            StatusCode::BAD_REQUEST,
            "The encrypted sign-in assertion could not be decrypted.",
        ),
        STATUS => (
            StatusCode::FORBIDDEN,
            "Your identity provider did not sign you in.",
        ),
        NO_SUBJECT => (
            StatusCode::FORBIDDEN,
            "The sign-in response does not say who you are in a usable way.",
        ),
        _ => (StatusCode::BAD_REQUEST, "The sign-in response was refused."),
    };
    Refusal::new(code, status, message).detail(detail)
}

/// Decodes the `SAMLResponse` form value (base64, line breaks allowed) into XML text.
pub fn decode_post_value(value: &str) -> Result<String, Refusal> {
    let compact: String = value.split_whitespace().collect();
    let bytes = BASE64
        .decode(compact)
        .map_err(|_| refusal(MALFORMED, "SAMLResponse is not base64"))?;
    String::from_utf8(bytes).map_err(|_| refusal(MALFORMED, "SAMLResponse is not UTF-8"))
}

/// Validates a Response (XML text) for the service provider `sp` at time `now`.
pub fn validate_response(
    sp: &SpSettings,
    response_xml: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedResponse, Refusal> {
    let doc = xml::parse(response_xml).map_err(|e| refusal(MALFORMED, format!("XML: {e}")))?;
    let root = doc.root_element();
    if !is(root, NS_PROTOCOL, "Response") {
        return Err(refusal(MALFORMED, "the root element is not samlp:Response"));
    }
    if has_comment(root) {
        return Err(refusal(
            SIGNATURE,
            "XML comment inside the response (comments are not covered by signatures)",
        ));
    }
    check_status(root)?;
    if !sp.allow_sha1
        && let Some(algorithm) = sha1_algorithm(root)
    {
        return Err(refusal(SHA1, format!("signature uses {algorithm}")));
    }
    if let Some(issuer) = child(root, NS_ASSERTION, "Issuer").map(text)
        && issuer != sp.idp_entity_id
    {
        return Err(refusal(
            ISSUER,
            format!(
                "Response Issuer {issuer:?}, expected {:?}",
                sp.idp_entity_id
            ),
        ));
    }
    let certificates = idp_certificates(sp)?;

    let plain_count = descendants(root, NS_ASSERTION, "Assertion").count();
    let encrypted_count = descendants(root, NS_ASSERTION, "EncryptedAssertion").count();
    if plain_count + encrypted_count == 0 {
        return Err(refusal(MALFORMED, "the response carries no assertion"));
    }
    let reduced = if has_signature(root) {
        Some(
            verify_and_reduce(response_xml, &certificates, sp.allow_sha1)
                .map_err(|e| refusal(SIGNATURE, e))?,
        )
    } else {
        None
    };
    let reduced_doc = match &reduced {
        Some(text) => Some(
            xml::parse(text).map_err(|e| refusal(SIGNATURE, format!("reduced document: {e}")))?,
        ),
        None => None,
    };
    let response_signed = reduced_doc
        .as_ref()
        .is_some_and(|d| is(d.root_element(), NS_PROTOCOL, "Response"));

    // The text of a document whose only assertion is the one to trust.
    let trusted: String = if encrypted_count > 0 {
        if encrypted_count + plain_count > 1 {
            return Err(too_many(response_signed));
        }
        let encrypted = match &reduced_doc {
            Some(d) if response_signed => {
                descendants(d.root_element(), NS_ASSERTION, "EncryptedAssertion")
                    .next()
                    .ok_or_else(|| {
                        refusal(
                            UNSIGNED,
                            "the EncryptedAssertion is not covered by the Response signature",
                        )
                    })?
            }
            _ => descendants(root, NS_ASSERTION, "EncryptedAssertion")
                .next()
                .ok_or_else(|| refusal(MALFORMED, "no EncryptedAssertion"))?,
        };
        let key = match &sp.sp_key_pem {
            Some(pem) => Some(
                private_key(pem.expose_secret()).map_err(|e| refusal(DECRYPT, e.to_string()))?,
            ),
            None => None,
        };
        let plaintext = decrypt_assertion(encrypted, key.as_ref())
            .map_err(|e| refusal(DECRYPT, e.to_string()))?;
        decrypted_assertion(sp, encrypted, &plaintext, &certificates, response_signed)?
    } else {
        let Some(reduced_doc) = &reduced_doc else {
            return Err(refusal(
                UNSIGNED,
                "neither the Response nor the Assertion is signed",
            ));
        };
        let reduced_root = reduced_doc.root_element();
        let covered = descendants(reduced_root, NS_ASSERTION, "Assertion").count();
        if covered < plain_count {
            return Err(refusal(
                UNSIGNED,
                format!("{plain_count} assertions, {covered} covered by a signature"),
            ));
        }
        if covered > 1 {
            return Err(too_many(true));
        }
        if !is(reduced_root, NS_PROTOCOL, "Response")
            && !is(reduced_root, NS_ASSERTION, "Assertion")
        {
            return Err(refusal(
                UNSIGNED,
                "the signature covers neither the Response nor the Assertion",
            ));
        }
        reduced.unwrap_or_default()
    };
    let trusted_doc =
        xml::parse(&trusted).map_err(|e| refusal(MALFORMED, format!("assertion XML: {e}")))?;
    let assertion = descendants(trusted_doc.root_element(), NS_ASSERTION, "Assertion")
        .next()
        .ok_or_else(|| refusal(MALFORMED, "no assertion in the signed content"))?;

    check_destination(sp, root, response_signed)?;
    let checked = check_assertion(sp, assertion, now)?;
    let response_irt = root.attribute("InResponseTo").filter(|v| !v.is_empty());
    let in_response_to = match (checked.in_response_to.as_deref(), response_irt) {
        (Some(a), Some(r)) if a != r => {
            return Err(refusal(
                IN_RESPONSE_TO,
                format!("Response InResponseTo {r:?} differs from the assertion's {a:?}"),
            ));
        }
        (a, r) => a.or(r).map(str::to_owned),
    };
    let identity = identity(sp, assertion, &checked.assertion_id)?;
    Ok(VerifiedResponse {
        identity,
        in_response_to,
        assertion_id: checked.assertion_id,
        remember_until: checked.valid_until + sp.clock_skew,
    })
}

fn too_many(response_signed: bool) -> Refusal {
    if response_signed {
        refusal(
            MALFORMED,
            "several assertions in one response; one is expected",
        )
    } else {
        refusal(
            UNSIGNED,
            "several assertions, not all covered by a signature",
        )
    }
}

fn check_status(root: Node<'_, '_>) -> Result<(), Refusal> {
    let status = child(root, NS_PROTOCOL, "Status");
    let code = status.and_then(|s| child(s, NS_PROTOCOL, "StatusCode"));
    let value = code.and_then(|c| c.attribute("Value"));
    if value == Some(STATUS_SUCCESS) {
        return Ok(());
    }
    let sub = code
        .and_then(|c| child(c, NS_PROTOCOL, "StatusCode"))
        .and_then(|c| c.attribute("Value"));
    let message = status
        .and_then(|s| child(s, NS_PROTOCOL, "StatusMessage"))
        .map(text);
    Err(refusal(
        STATUS,
        format!(
            "status {}{}{}",
            value.unwrap_or("(missing)"),
            sub.map(|s| format!(" / {s}")).unwrap_or_default(),
            message.map(|m| format!(": {m}")).unwrap_or_default()
        ),
    ))
}

fn idp_certificates(sp: &SpSettings) -> Result<Vec<CertificateDer>, Refusal> {
    let certificates: Vec<CertificateDer> = sp
        .idp_certificates
        .iter()
        .filter_map(|c| decode_x509_cert(c).ok())
        .collect();
    if certificates.is_empty() {
        // The config check refuses such an IdP; never verify against nothing.
        return Err(refusal(
            SIGNATURE,
            "no usable IdP signing certificate configured",
        ));
    }
    Ok(certificates)
}

/// Checks the plaintext of an `EncryptedAssertion` and returns the document to trust.
fn decrypted_assertion(
    sp: &SpSettings,
    encrypted: Node<'_, '_>,
    plaintext: &str,
    certificates: &[CertificateDer],
    response_signed: bool,
) -> Result<String, Refusal> {
    let body = strip_xml_declaration(plaintext);
    // The plaintext may use prefixes declared around the EncryptedAssertion: declare
    // them on a wrapper so it parses (and verifies) as it would in place.
    let mut shell = String::from("<decrypted");
    for ns in encrypted.namespaces() {
        match ns.name() {
            Some(prefix) => {
                shell.push_str(&format!(" xmlns:{prefix}=\"{}\"", xml::escape(ns.uri())))
            }
            None => shell.push_str(&format!(" xmlns=\"{}\"", xml::escape(ns.uri()))),
        }
    }
    shell.push('>');
    shell.push_str(body);
    shell.push_str("</decrypted>");
    let doc = xml::parse(&shell).map_err(|e| refusal(DECRYPT, format!("decrypted XML: {e}")))?;
    let root = doc.root_element();
    if has_comment(root) {
        return Err(refusal(
            SIGNATURE,
            "XML comment inside the decrypted assertion",
        ));
    }
    if !sp.allow_sha1
        && let Some(algorithm) = sha1_algorithm(root)
    {
        return Err(refusal(
            SHA1,
            format!("assertion signature uses {algorithm}"),
        ));
    }
    let top: Vec<_> = root.children().filter(Node::is_element).collect();
    let all = descendants(root, NS_ASSERTION, "Assertion").count();
    if top.len() != 1 || !is(top[0], NS_ASSERTION, "Assertion") || all != 1 {
        return Err(too_many(response_signed));
    }
    if has_signature(root) {
        let reduced = verify_and_reduce(&shell, certificates, sp.allow_sha1)
            .map_err(|e| refusal(SIGNATURE, e))?;
        let reduced_doc = xml::parse(&reduced)
            .map_err(|e| refusal(SIGNATURE, format!("reduced document: {e}")))?;
        if !is(reduced_doc.root_element(), NS_ASSERTION, "Assertion") {
            return Err(refusal(
                UNSIGNED,
                "the decrypted assertion's signature covers something else",
            ));
        }
        Ok(reduced)
    } else if response_signed {
        Ok(shell)
    } else {
        Err(refusal(
            UNSIGNED,
            "neither the Response nor the decrypted Assertion is signed",
        ))
    }
}

fn strip_xml_declaration(text: &str) -> &str {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("<?xml")
        && let Some(end) = trimmed.find("?>")
    {
        return &trimmed[end + 2..];
    }
    trimmed
}

fn check_destination(sp: &SpSettings, root: Node<'_, '_>, signed: bool) -> Result<(), Refusal> {
    match root.attribute("Destination") {
        Some(d) if d != sp.acs_url => Err(refusal(
            DESTINATION,
            format!("Destination {d:?}, expected {:?}", sp.acs_url),
        )),
        None if signed => Err(refusal(DESTINATION, "signed Response without Destination")),
        _ => Ok(()),
    }
}

struct CheckedAssertion {
    assertion_id: String,
    in_response_to: Option<String>,
    /// The earliest NotOnOrAfter (Conditions, SubjectConfirmationData).
    valid_until: DateTime<Utc>,
}

fn time(node: Node<'_, '_>, attribute: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    match node.attribute(attribute) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                refusal(
                    MALFORMED,
                    format!("{attribute} {v:?} is not a UTC date-time"),
                )
            }),
    }
}

fn check_assertion(
    sp: &SpSettings,
    assertion: Node<'_, '_>,
    now: DateTime<Utc>,
) -> Result<CheckedAssertion, Refusal> {
    let skew = sp.clock_skew;
    let assertion_id = assertion
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| refusal(MALFORMED, "Assertion without ID"))?
        .to_owned();
    let issuer = child(assertion, NS_ASSERTION, "Issuer").map(text);
    if issuer.as_deref() != Some(sp.idp_entity_id.as_str()) {
        return Err(refusal(
            ISSUER,
            format!(
                "Assertion Issuer {issuer:?}, expected {:?}",
                sp.idp_entity_id
            ),
        ));
    }
    if let Some(issued) = time(assertion, "IssueInstant")?
        && issued > now + skew
    {
        return Err(refusal(
            NOT_YET_VALID,
            format!("issued at {issued}, now {now}"),
        ));
    }

    let conditions = child(assertion, NS_ASSERTION, "Conditions");
    let mut valid_until: Option<DateTime<Utc>> = None;
    if let Some(conditions) = conditions {
        if let Some(not_before) = time(conditions, "NotBefore")?
            && now + skew < not_before
        {
            return Err(refusal(
                NOT_YET_VALID,
                format!("Conditions NotBefore {not_before}, now {now}"),
            ));
        }
        if let Some(not_after) = time(conditions, "NotOnOrAfter")? {
            if now - skew >= not_after {
                return Err(refusal(
                    EXPIRED,
                    format!("Conditions NotOnOrAfter {not_after}, now {now}"),
                ));
            }
            valid_until = Some(not_after);
        }
    }
    let restrictions: Vec<_> = conditions
        .map(|c| children(c, NS_ASSERTION, "AudienceRestriction").collect())
        .unwrap_or_default();
    if restrictions.is_empty() {
        return Err(refusal(AUDIENCE, "no AudienceRestriction"));
    }
    for restriction in restrictions {
        let audiences: Vec<String> = children(restriction, NS_ASSERTION, "Audience")
            .map(text)
            .collect();
        if !audiences.contains(&sp.entity_id) {
            return Err(refusal(
                AUDIENCE,
                format!("audiences {audiences:?}, expected {:?}", sp.entity_id),
            ));
        }
    }

    let subject = child(assertion, NS_ASSERTION, "Subject")
        .ok_or_else(|| refusal(NO_SUBJECT, "Assertion without Subject"))?;
    let bearers: Vec<_> = children(subject, NS_ASSERTION, "SubjectConfirmation")
        .filter(|c| c.attribute("Method") == Some(CM_BEARER))
        .collect();
    if bearers.is_empty() {
        return Err(refusal(MALFORMED, "no bearer SubjectConfirmation"));
    }
    let mut first_error = None;
    for bearer in bearers {
        match check_confirmation(sp, bearer, now) {
            Ok((in_response_to, until)) => {
                let valid_until = valid_until.map_or(until, |v| v.min(until));
                return Ok(CheckedAssertion {
                    assertion_id,
                    in_response_to,
                    valid_until,
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| refusal(MALFORMED, "no usable SubjectConfirmation")))
}

/// One bearer SubjectConfirmation: its InResponseTo and NotOnOrAfter when valid.
fn check_confirmation(
    sp: &SpSettings,
    confirmation: Node<'_, '_>,
    now: DateTime<Utc>,
) -> Result<(Option<String>, DateTime<Utc>), Refusal> {
    let data = child(confirmation, NS_ASSERTION, "SubjectConfirmationData")
        .ok_or_else(|| refusal(MALFORMED, "bearer SubjectConfirmation without data"))?;
    let recipient = data.attribute("Recipient");
    if recipient != Some(sp.acs_url.as_str()) {
        return Err(refusal(
            RECIPIENT,
            format!("Recipient {recipient:?}, expected {:?}", sp.acs_url),
        ));
    }
    if let Some(not_before) = time(data, "NotBefore")?
        && now + sp.clock_skew < not_before
    {
        return Err(refusal(
            NOT_YET_VALID,
            format!("SubjectConfirmationData NotBefore {not_before}, now {now}"),
        ));
    }
    let Some(not_after) = time(data, "NotOnOrAfter")? else {
        return Err(refusal(
            MALFORMED,
            "SubjectConfirmationData without NotOnOrAfter",
        ));
    };
    if now - sp.clock_skew >= not_after {
        return Err(refusal(
            EXPIRED,
            format!("SubjectConfirmationData NotOnOrAfter {not_after}, now {now}"),
        ));
    }
    let in_response_to = data
        .attribute("InResponseTo")
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    Ok((in_response_to, not_after))
}

/// The attribute values of the assertion by name (whitespace-trimmed, empty ones dropped).
fn attributes(assertion: Node<'_, '_>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in children(assertion, NS_ASSERTION, "AttributeStatement") {
        for attribute in children(statement, NS_ASSERTION, "Attribute") {
            let Some(name) = attribute.attribute("Name") else {
                continue;
            };
            let values = out.entry(name.to_owned()).or_default();
            for value in children(attribute, NS_ASSERTION, "AttributeValue") {
                let v = text(value);
                if !v.is_empty() && !values.contains(&v) {
                    values.push(v);
                }
            }
        }
    }
    out
}

fn identity(
    sp: &SpSettings,
    assertion: Node<'_, '_>,
    assertion_id: &str,
) -> Result<Identity, Refusal> {
    let names = &sp.attributes;
    let attrs = attributes(assertion);
    let first = |name: &str| attrs.get(name).and_then(|v| v.first()).cloned();
    let subject_node = child(assertion, NS_ASSERTION, "Subject");
    if subject_node
        .and_then(|s| child(s, NS_ASSERTION, "EncryptedID"))
        .is_some()
    {
        return Err(refusal(
            NO_SUBJECT,
            "encrypted NameID (EncryptedID) is not supported",
        ));
    }
    let name_id = subject_node.and_then(|s| child(s, NS_ASSERTION, "NameID"));
    let name_id_value = name_id.map(text).filter(|v| !v.is_empty());
    let name_id_format = name_id.and_then(|n| n.attribute("Format"));

    let immutable = names.immutable_id.as_deref().and_then(first);
    let subject = match (immutable, &name_id_value) {
        (Some(id), _) => id,
        (None, Some(_)) if name_id_format == Some(NAMEID_TRANSIENT) => {
            return Err(refusal(
                NO_SUBJECT,
                "transient NameID: it changes at every sign-in, so it cannot identify a user \
                 (configure the IdP for a persistent or email NameID)",
            ));
        }
        (None, Some(v)) => v.clone(),
        (None, None) => {
            return Err(refusal(
                NO_SUBJECT,
                "no NameID and no immutable id attribute",
            ));
        }
    };
    let email = names.email.iter().find_map(|n| first(n)).or_else(|| {
        (name_id_format == Some(NAMEID_EMAIL))
            .then(|| name_id_value.clone())
            .flatten()
    });
    let groups = attrs.get(&names.groups).cloned();
    // A NameID that is not transient names the person at the IdP (Okta's user name, an
    // email): the core may link a first sign-in to the SCIM user with that userName.
    let user_name = name_id_value.filter(|_| name_id_format != Some(NAMEID_TRANSIENT));
    Ok(Identity {
        protocol: Protocol::Saml,
        subject,
        user_name,
        email,
        given_name: first(&names.first_name),
        family_name: first(&names.last_name),
        display_name: DISPLAY_NAME_ATTRIBUTES.iter().find_map(|n| first(n)),
        groups,
        groups_overage: attrs.contains_key(ENTRA_GROUPS_OVERAGE),
        reference: Some(assertion_id.to_owned()),
    })
}
