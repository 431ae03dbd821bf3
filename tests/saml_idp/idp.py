"""A SAML 2.0 identity provider for idp-sync's tests, built on pysaml2 (which signs with
Debian's `xmlsec1`). Started by tests/it/support/saml_idp.rs (`idp.py --watch-stdin`: it
exits when its stdin closes); prints `saml-idp listening on PORT` once it serves.

  GET /metadata[?certs=idp,idp-next]     IdP metadata (signing certificates listed)
  GET /sso?SAMLRequest=…[&SigAlg&Signature][&user and shape parameters]
      The Redirect binding: pysaml2 parses (and, when signed, verifies) the AuthnRequest
      and answers with an auto-submitting POST form to the SP's ACS. The extra query
      parameters stand in for the login form: who signs in and how the response looks.
  GET /idp-initiated?sp=ENTITY_ID[&relay_state=…][&user and shape parameters]
      An unsolicited response (no InResponseTo) in the same form.

SP metadata is fetched from the SP's entity id (idp-sync's entity id is its metadata URL)
the first time an SP is seen.

User parameters: name_id, name_id_format (persistent|email|transient|unspecified), email,
first, last, groups (comma-separated), object_id (Entra), display_name.
Shapes (shape=): okta (signed Response), entra (signed Assertion only, claim URIs),
jumpcloud (both signed, memberOf). encrypt=aes256-cbc|aes256-gcm|aes128-cbc|aes128-gcm
encrypts the assertion for the SP's certificate (key transport kt=oaep|oaep11|rsa15).
knob= (comma-separated) bends the response for refusal tests: expired, not_yet_valid,
wrong_audience, wrong_recipient, wrong_destination, wrong_issuer, other_key, next_key,
sha1, unsigned, altered, wrap_beside, wrap_around, comment, status_error, overage.
"""

import base64
import html
import os
import re
import sys
import threading
import urllib.parse
import urllib.request
import zlib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding as sympadding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml, samlp, xmldsig
from saml2.config import IdPConfig
from saml2.s_utils import success_status_factory
from saml2.server import Server
from saml2.sigver import pre_signature_part, signed_instance_factory

KEYS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keys")
XMLSEC = os.environ.get("IDP_SYNC_XMLSEC1", "/usr/bin/xmlsec1")

NAMEID_FORMATS = {
    "persistent": saml.NAMEID_FORMAT_PERSISTENT,
    "email": saml.NAMEID_FORMAT_EMAILADDRESS,
    "transient": saml.NAMEID_FORMAT_TRANSIENT,
    "unspecified": saml.NAMEID_FORMAT_UNSPECIFIED,
}
CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
ENTRA_GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
ENTRA_OBJECT_ID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
ENTRA_DISPLAY_NAME = "http://schemas.microsoft.com/identity/claims/displayname"
ENTRA_OVERAGE = "http://schemas.microsoft.com/claims/groups.link"
ASSERTION_CLASS = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
RESPONSE_CLASS = "urn:oasis:names:tc:SAML:2.0:protocol:Response"
XMLENC = "http://www.w3.org/2001/04/xmlenc#"
XMLENC11 = "http://www.w3.org/2009/xmlenc11#"
DS = "http://www.w3.org/2000/09/xmldsig#"
ELSEWHERE = "https://elsewhere.example.com"


def server_for(base, key, want_signed_requests=False):
    """A pysaml2 IdP signing with keys/{key}.key."""
    conf = IdPConfig()
    conf.load(
        {
            "entityid": base + "/metadata",
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(base + "/sso", BINDING_HTTP_REDIRECT)]
                    },
                    "policy": {"default": {"lifetime": {"minutes": 5}}},
                    "name_id_format": list(NAMEID_FORMATS.values()),
                    "want_authn_requests_signed": want_signed_requests,
                }
            },
            "key_file": os.path.join(KEYS, key + ".key"),
            "cert_file": os.path.join(KEYS, key + ".crt"),
            "xmlsec_binary": XMLSEC,
            "metadata": {"inline": []},
        }
    )
    return Server(config=conf)


class Idp:
    def __init__(self, base):
        self.base = base
        self.entity_id = base + "/metadata"
        self.servers = {k: server_for(base, k) for k in ("idp", "idp-next", "other")}
        self.strict = server_for(base, "idp", want_signed_requests=True)
        self.sps = {}
        self.lock = threading.Lock()
        # pysaml2's metadata store and security context are not meant for concurrent use:
        # one response at a time (tests run in parallel against one IdP).
        self.work = threading.Lock()

    # ---- SP metadata, fetched from the entity id on first sight
    def sp(self, entity_id):
        with self.lock:
            if entity_id not in self.sps:
                with urllib.request.urlopen(entity_id, timeout=10) as r:
                    self.register_sp(entity_id, r.read().decode())
            return self.sps[entity_id]

    def register_sp(self, entity_id, xml):
        for s in [*self.servers.values(), self.strict]:
            s.metadata.load("inline", xml)
        acs = re.search(r'AssertionConsumerService[^>]*Location="([^"]+)"', xml).group(1)
        certs = re.findall(
            r'<md:KeyDescriptor use="encryption">.*?<ds:X509Certificate>([^<]+)<', xml, re.S
        )
        self.sps[entity_id] = {
            "acs": acs,
            "enc_cert": certs[0] if certs else None,
            "signs": 'AuthnRequestsSigned="true"' in xml,
        }

    def metadata(self, certs):
        keys = ""
        for name in certs:
            pem = open(os.path.join(KEYS, name + ".crt")).read()
            b64 = "".join(pem.strip().splitlines()[1:-1])
            keys += (
                '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="%s"><ds:X509Data>'
                "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
                "</md:KeyDescriptor>" % (DS, b64)
            )
        return (
            '<?xml version="1.0"?>\n<md:EntityDescriptor '
            'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">'
            '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">%s'
            "<md:NameIDFormat>%s</md:NameIDFormat>"
            '<md:SingleSignOnService Binding="%s" Location="%s/sso"/>'
            "</md:IDPSSODescriptor></md:EntityDescriptor>\n"
            % (self.entity_id, keys, saml.NAMEID_FORMAT_PERSISTENT, BINDING_HTTP_REDIRECT, self.base)
        )

    # ---- the Redirect binding
    def sso(self, q):
        request_b64 = q["SAMLRequest"]
        xml = zlib.decompress(base64.b64decode(request_b64), -15).decode()
        issuer = re.search(r"<(?:\w+:)?Issuer[^>]*>([^<]+)<", xml).group(1)
        sp = self.sp(issuer)
        signed = "SigAlg" in q
        if sp["signs"] and not signed:
            raise ValueError("the SP's metadata says AuthnRequestsSigned but the request is not")
        # The strict server demands and verifies the Redirect-binding signature.
        srv = self.strict if signed else self.servers["idp"]
        req = srv.parse_authn_request(
            request_b64,
            BINDING_HTTP_REDIRECT,
            relay_state=q.get("RelayState"),
            sigalg=q.get("SigAlg"),
            signature=q.get("Signature"),
        )
        message = req.message
        acs = message.assertion_consumer_service_url or sp["acs"]
        response = self.response(q, issuer, acs, message.id, sp)
        return form(acs, response, q.get("RelayState"))

    def idp_initiated(self, q):
        sp = self.sp(q["sp"])
        response = self.response(q, q["sp"], sp["acs"], None, sp)
        return form(sp["acs"], response, q.get("relay_state"))

    # ---- building a response
    def response(self, q, sp_entity_id, acs, in_response_to, sp):
        knobs = set(filter(None, q.get("knob", "").split(",")))
        shape = q.get("shape", "okta")
        key = "other" if "other_key" in knobs else "idp-next" if "next_key" in knobs else "idp"
        srv = self.servers[key]
        sign_alg = xmldsig.SIG_RSA_SHA1 if "sha1" in knobs else xmldsig.SIG_RSA_SHA256
        digest_alg = xmldsig.DIGEST_SHA1 if "sha1" in knobs else xmldsig.DIGEST_SHA256

        if "status_error" in knobs:
            status = samlp.Status(
                status_code=samlp.StatusCode(
                    value=samlp.STATUS_RESPONDER,
                    status_code=samlp.StatusCode(value=samlp.STATUS_AUTHN_FAILED),
                ),
                status_message=samlp.StatusMessage(text="User is not assigned to this application"),
            )
            resp = samlp.Response(
                id="_err" + os.urandom(8).hex(),
                version="2.0",
                issue_instant=instant(datetime.now(timezone.utc)),
                destination=acs,
                in_response_to=in_response_to,
                issuer=saml.Issuer(text=self.entity_id, format=saml.NAMEID_FORMAT_ENTITY),
                status=status,
            )
            return str(resp)

        name_id = saml.NameID(
            format=NAMEID_FORMATS[q.get("name_id_format", "persistent")],
            text=q["name_id"],
        )
        resp = srv.create_authn_response(
            {},
            in_response_to,
            acs,
            sp_entity_id,
            name_id=name_id,
            authn={"class_ref": saml.AUTHN_PASSWORD, "authn_auth": self.entity_id},
            sign_response=False,
            sign_assertion=False,
        )
        assertion = resp.assertion
        assertion.attribute_statement = [
            saml.AttributeStatement(attribute=attributes(q, shape, knobs))
        ]
        now = datetime.now(timezone.utc)
        conditions = assertion.conditions
        confirmation = assertion.subject.subject_confirmation[0].subject_confirmation_data
        if "expired" in knobs:
            for node in (assertion, resp):
                node.issue_instant = instant(now - timedelta(minutes=20))
            conditions.not_before = instant(now - timedelta(minutes=20))
            conditions.not_on_or_after = instant(now - timedelta(minutes=10))
            confirmation.not_on_or_after = instant(now - timedelta(minutes=10))
        if "not_yet_valid" in knobs:
            conditions.not_before = instant(now + timedelta(minutes=10))
            conditions.not_on_or_after = instant(now + timedelta(minutes=20))
            confirmation.not_on_or_after = instant(now + timedelta(minutes=20))
        if "wrong_audience" in knobs:
            conditions.audience_restriction[0].audience[0].text = ELSEWHERE + "/sp"
        if "wrong_recipient" in knobs:
            confirmation.recipient = ELSEWHERE + "/acs"
        if "wrong_destination" in knobs:
            resp.destination = ELSEWHERE + "/acs"
        if "wrong_issuer" in knobs:
            resp.issuer.text = ELSEWHERE + "/idp"
            assertion.issuer.text = ELSEWHERE + "/idp"

        sign_assertion = shape in ("entra", "jumpcloud")
        sign_response = shape in ("okta", "jumpcloud")
        if "unsigned" in knobs:
            sign_assertion = sign_response = False
        to_sign = []
        if sign_assertion:
            assertion.signature = pre_signature_part(
                assertion.id, srv.sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
            )
            to_sign.append((ASSERTION_CLASS, assertion.id))
        encrypt = q.get("encrypt")
        if sign_response and not encrypt:
            resp.signature = pre_signature_part(
                resp.id, srv.sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
            )
            to_sign.append((RESPONSE_CLASS, resp.id))
        xml = signed_instance_factory(resp, srv.sec, to_sign) if to_sign else str(resp)
        if isinstance(xml, bytes):
            xml = xml.decode()
        xml = tamper(xml, knobs)
        if encrypt:
            if not sp["enc_cert"]:
                raise ValueError("the SP publishes no encryption certificate")
            xml = encrypt_assertion(xml, sp["enc_cert"], encrypt, q.get("kt", "oaep"))
            if sign_response:
                template = str(
                    pre_signature_part(resp.id, srv.sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg)
                )
                xml = re.sub(r"(</ns1:Issuer>)", lambda m: m.group(1) + template, xml, count=1)
                xml = srv.sec.sign_statement(xml, node_name=RESPONSE_CLASS, node_id=resp.id)
        return xml


def attributes(q, shape, knobs):
    def attr(name, values, fmt=saml.NAME_FORMAT_BASIC):
        return saml.Attribute(
            name=name,
            name_format=fmt,
            attribute_value=[saml.AttributeValue(text=v) for v in values],
        )

    groups = [g for g in q.get("groups", "").split(",") if g]
    out = []
    if shape == "entra":
        uri = saml.NAME_FORMAT_URI
        if q.get("email"):
            out.append(attr(CLAIMS + "/emailaddress", [q["email"]], uri))
            out.append(attr(CLAIMS + "/name", [q["email"]], uri))
        if q.get("first"):
            out.append(attr(CLAIMS + "/givenname", [q["first"]], uri))
        if q.get("last"):
            out.append(attr(CLAIMS + "/surname", [q["last"]], uri))
        if q.get("object_id"):
            out.append(attr(ENTRA_OBJECT_ID, [q["object_id"]], uri))
        if q.get("display_name"):
            out.append(attr(ENTRA_DISPLAY_NAME, [q["display_name"]], uri))
        if "overage" in knobs:
            out.append(attr(ENTRA_OVERAGE, ["https://graph.windows.net/tenant/users/x/getMemberObjects"], uri))
        elif groups:
            out.append(attr(ENTRA_GROUPS, groups, uri))
        return out
    names = (
        ("email", "firstname", "lastname", "memberOf")
        if shape == "jumpcloud"
        else ("email", "firstName", "lastName", "groups")
    )
    for name, key in zip(names[:3], ("email", "first", "last")):
        if q.get(key):
            out.append(attr(name, [q[key]]))
    if groups:
        out.append(attr(names[3], groups))
    return out


def instant(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


ASSERTION_RE = re.compile(r"<ns1:Assertion\b.*?</ns1:Assertion>", re.S)
SIGNATURE_RE = re.compile(r"<(ns\d+):Signature\b.*?</\1:Signature>", re.S)
NAMEID_RE = re.compile(r"(<ns1:NameID\b[^>]*>)([^<]*)(</ns1:NameID>)")


def evil_copy(signed_assertion):
    """An unsigned assertion like the signed one, for someone else."""
    evil = SIGNATURE_RE.sub("", signed_assertion, count=1)
    evil = re.sub(r'\bID="[^"]+"', 'ID="_evil%s"' % os.urandom(6).hex(), evil, count=1)
    return NAMEID_RE.sub(lambda m: m.group(1) + "mallory-admin" + m.group(3), evil, count=1)


def tamper(xml, knobs):
    """Changes made after signing, as an attacker would."""
    if "altered" in knobs:
        xml = NAMEID_RE.sub(lambda m: m.group(1) + m.group(2) + "-altered" + m.group(3), xml, count=1)
    if "comment" in knobs:
        # Splits the NameID's text: a naive reader sees only the part before the comment.
        def split(m):
            text = m.group(2)
            cut = max(1, len(text) - 6)
            return m.group(1) + text[:cut] + "<!---->" + text[cut:] + m.group(3)

        xml = NAMEID_RE.sub(split, xml, count=1)
    if "wrap_beside" in knobs:
        signed = ASSERTION_RE.search(xml).group(0)
        xml = xml.replace(signed, evil_copy(signed) + signed, 1)
    if "wrap_around" in knobs:
        signed = ASSERTION_RE.search(xml).group(0)
        evil = evil_copy(signed)
        evil = evil.replace("</ns1:Conditions>", "</ns1:Conditions><ns1:Advice>" + signed + "</ns1:Advice>", 1)
        xml = xml.replace(signed, evil, 1)
    return xml


def encrypt_assertion(xml, cert_b64, method, key_transport):
    """Replaces the assertion by an EncryptedAssertion for the SP certificate (XML
    Encryption 1.1, written here so that idp-sync's decryption is checked against an
    independent implementation)."""
    match = ASSERTION_RE.search(xml)
    assertion = match.group(0)
    # The plaintext stands alone (as real IdPs write it): declare the prefixes it uses.
    root_start = re.search(r"<ns0:Response\b[^>]*>", xml).group(0)
    declarations = " ".join(re.findall(r'xmlns:[\w]+="[^"]*"', root_start))
    plain = assertion.replace("<ns1:Assertion ", "<ns1:Assertion %s " % declarations, 1).encode()
    bits = int(re.search(r"aes(\d+)", method).group(1))
    key = os.urandom(bits // 8)
    if method.endswith("-gcm"):
        iv = os.urandom(12)
        data = iv + AESGCM(key).encrypt(iv, plain, None)
        data_uri = XMLENC11 + "aes%d-gcm" % bits
    else:
        iv = os.urandom(16)
        padder = sympadding.PKCS7(128).padder()
        padded = padder.update(plain) + padder.finalize()
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        data = iv + enc.update(padded) + enc.finalize()
        data_uri = XMLENC + "aes%d-cbc" % bits
    cert = x509.load_der_x509_certificate(base64.b64decode(cert_b64))
    public = cert.public_key()
    if key_transport == "rsa15":
        wrapped = public.encrypt(key, padding.PKCS1v15())
        method_xml = '<xenc:EncryptionMethod Algorithm="%srsa-1_5"/>' % XMLENC
    elif key_transport == "oaep11":
        wrapped = public.encrypt(
            key,
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )
        method_xml = (
            '<xenc:EncryptionMethod Algorithm="%srsa-oaep">'
            '<ds:DigestMethod Algorithm="%ssha256"/>'
            '<xenc11:MGF xmlns:xenc11="%s" Algorithm="%smgf1sha256"/>'
            "</xenc:EncryptionMethod>" % (XMLENC11, XMLENC, XMLENC11, XMLENC11)
        )
    else:
        wrapped = public.encrypt(
            key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
        )
        method_xml = (
            '<xenc:EncryptionMethod Algorithm="%srsa-oaep-mgf1p">'
            '<ds:DigestMethod Algorithm="%ssha1"/></xenc:EncryptionMethod>' % (XMLENC, DS)
        )
    encrypted = (
        '<ns1:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="%s" xmlns:ds="%s" '
        'Type="%sElement"><xenc:EncryptionMethod Algorithm="%s"/><ds:KeyInfo>'
        "<xenc:EncryptedKey>%s<xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue>"
        "</xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData>"
        "<xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>"
        "</ns1:EncryptedAssertion>"
        % (
            XMLENC,
            DS,
            XMLENC,
            data_uri,
            method_xml,
            base64.b64encode(wrapped).decode(),
            base64.b64encode(data).decode(),
        )
    )
    return xml[: match.start()] + encrypted + xml[match.end() :]


def form(acs, response_xml, relay_state):
    value = base64.b64encode(response_xml.encode()).decode()
    relay = (
        '<input type="hidden" name="RelayState" value="%s"/>' % html.escape(relay_state)
        if relay_state
        else ""
    )
    return (
        "<!DOCTYPE html><html><body onload=\"document.forms[0].submit()\">"
        '<form method="post" action="%s"><input type="hidden" name="SAMLResponse" value="%s"/>'
        "%s<noscript><button>Continue</button></noscript></form></body></html>"
        % (html.escape(acs), value, relay)
    )


def handler(idp):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            try:
                if url.path == "/metadata":
                    certs = q.get("certs", "idp").split(",")
                    self.reply(200, "application/samlmetadata+xml", idp.metadata(certs))
                elif url.path == "/sso":
                    with idp.work:
                        page = idp.sso(q)
                    self.reply(200, "text/html", page)
                elif url.path == "/idp-initiated":
                    with idp.work:
                        page = idp.idp_initiated(q)
                    self.reply(200, "text/html", page)
                else:
                    self.reply(404, "text/plain", "not found")
            except Exception as e:  # the test sees the reason
                self.reply(400, "text/plain", "%s: %s" % (type(e).__name__, e))

        def reply(self, status, ctype, body):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype + "; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


def exit_when_stdin_closes():
    """The test process holds our stdin: when it exits, so do we (Rust tests have no
    global teardown)."""
    sys.stdin.read()
    os._exit(0)


def main():
    if "--watch-stdin" in sys.argv:
        threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), None)
    port = httpd.server_address[1]
    idp = Idp("http://127.0.0.1:%d" % port)
    httpd.RequestHandlerClass = handler(idp)
    print("saml-idp listening on %d" % port, flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
