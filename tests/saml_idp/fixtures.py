"""Writes the SAML responses the unit tests of src/sso/saml read
(tests/fixtures/saml/responses/), made by idp.py for the SP `http://sp.test/.../okta`.

Run from the repository root with the test IdP's venv python:
    target/saml-idp-venv/<hash>/bin/python tests/saml_idp/fixtures.py
The unit tests validate them at the instant recorded in GENERATED_AT.
"""

import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import idp as I  # noqa: E402

OUT = os.path.join(os.path.dirname(I.KEYS), "..", "fixtures", "saml", "responses")
SP = "http://sp.test/sso/saml/okta/metadata"
ACS = "http://sp.test/sso/saml/okta/acs"

ANA = dict(name_id="00u-ana", email="ana@acme.com", first="Ana", last="Lima", groups="Engineering,Sales")
ENTRA_ANA = dict(
    name_id="ana@acme.com",
    name_id_format="email",
    email="ana@acme.com",
    first="Ana",
    last="Lima",
    display_name="Ana Lima",
    object_id="6f1c2a4e-0000-4000-8000-00000000a11a",
    groups="0b5e7c1a-1111-4111-8111-111111111111,0b5e7c1a-2222-4222-8222-222222222222",
)

CASES = {
    "okta": dict(ANA, shape="okta"),
    "entra": dict(ENTRA_ANA, shape="entra"),
    "jumpcloud": dict(ANA, shape="jumpcloud", name_id="ana@acme.com", name_id_format="email"),
    "idp-initiated": dict(ANA, shape="okta", unsolicited="1"),
    "okta-aes256-cbc": dict(ANA, shape="okta", encrypt="aes256-cbc"),
    "entra-aes256-gcm": dict(ENTRA_ANA, shape="entra", encrypt="aes256-gcm"),
    "jumpcloud-aes128-cbc-oaep11": dict(ANA, shape="jumpcloud", encrypt="aes128-cbc", kt="oaep11"),
    "entra-aes128-gcm-rsa15": dict(ENTRA_ANA, shape="entra", encrypt="aes128-gcm", kt="rsa15"),
    "entra-overage": dict(ENTRA_ANA, shape="entra", knob="overage"),
    "next-key": dict(ANA, shape="okta", knob="next_key"),
    "unsigned": dict(ANA, shape="okta", knob="unsigned"),
    "unsigned-encrypted": dict(ANA, shape="okta", knob="unsigned", encrypt="aes256-cbc"),
    "other-key": dict(ANA, shape="okta", knob="other_key"),
    "sha1": dict(ANA, shape="okta", knob="sha1"),
    "altered": dict(ENTRA_ANA, shape="entra", knob="altered"),
    "altered-response": dict(ANA, shape="okta", knob="altered"),
    "wrap-beside": dict(ENTRA_ANA, shape="entra", knob="wrap_beside"),
    "wrap-around": dict(ENTRA_ANA, shape="entra", knob="wrap_around"),
    "comment": dict(ENTRA_ANA, shape="entra", knob="comment"),
    "status-error": dict(ANA, shape="okta", knob="status_error"),
    "wrong-audience": dict(ANA, shape="okta", knob="wrong_audience"),
    "wrong-recipient": dict(ANA, shape="okta", knob="wrong_recipient"),
    "wrong-destination": dict(ANA, shape="okta", knob="wrong_destination"),
    "wrong-issuer": dict(ANA, shape="okta", knob="wrong_issuer"),
    "expired": dict(ANA, shape="okta", knob="expired"),
    "not-yet-valid": dict(ANA, shape="okta", knob="not_yet_valid"),
    "transient": dict(ANA, shape="okta", name_id_format="transient"),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    cert = "".join(open(os.path.join(I.KEYS, "sp.crt")).read().strip().splitlines()[1:-1])
    sp_metadata = (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">'
        '<md:SPSSODescriptor AuthnRequestsSigned="false" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        "<ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        '</md:KeyDescriptor><md:AssertionConsumerService Binding="%s" Location="%s" index="0"/>'
        "</md:SPSSODescriptor></md:EntityDescriptor>" % (SP, cert, I.BINDING_HTTP_POST, ACS)
    )
    idp = I.Idp("http://idp.test")
    idp.register_sp(SP, sp_metadata)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, q in CASES.items():
        in_response_to = None if q.pop("unsolicited", None) else "_req-1"
        xml = idp.response(q, SP, ACS, in_response_to, idp.sps[SP])
        with open(os.path.join(OUT, name + ".xml"), "w") as f:
            f.write(xml)
    with open(os.path.join(OUT, "idp-metadata.xml"), "w") as f:
        f.write(idp.metadata(["idp", "idp-next"]))
    with open(os.path.join(OUT, "GENERATED_AT"), "w") as f:
        f.write(now + "\n")


if __name__ == "__main__":
    main()
