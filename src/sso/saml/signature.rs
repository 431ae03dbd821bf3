//! XML signature checks: verification and reduction to the signed content (samael over
//! xmlsec), the SHA-1 policy, and the refusal of XML comments.
//!
//! samael's `reduce_xml_to_signed` verifies **every** `ds:Signature` in the document
//! against the IdP certificates (any one of them: rotation) and returns a new document
//! holding only the content those signatures cover; everything we read afterwards comes
//! from that document, so unsigned content placed beside or around signed content
//! (signature wrapping) is never read. Its errors are not `Send`: only their text leaves.
//!
//! Comments are refused outright: canonicalization drops them, so
//! `ana@acme.com<!---->.evil.com` verifies like `ana@acme.com.evil.com` while a careless
//! reader sees `ana@acme.com`. No IdP puts comments in its responses.

use super::settings::NS_DSIG;
use super::xml::{child, children, descendants};
use roxmltree::Node;
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider as _, ReduceMode,
};

/// Algorithms accepted when SHA-1 is not allowed (signature and digest both SHA-2).
const SHA2_ONLY: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// Does any signature below `root` use SHA-1 (as signature or digest algorithm)? Returns
/// the offending algorithm URI.
pub fn sha1_algorithm(root: Node<'_, '_>) -> Option<String> {
    for signature in descendants(root, NS_DSIG, "Signature") {
        let Some(info) = child(signature, NS_DSIG, "SignedInfo") else {
            continue;
        };
        if let Some(method) = child(info, NS_DSIG, "SignatureMethod")
            .and_then(|m| m.attribute("Algorithm"))
            .filter(|a| a.ends_with("-sha1"))
        {
            return Some(method.to_owned());
        }
        for reference in children(info, NS_DSIG, "Reference") {
            if let Some(digest) = child(reference, NS_DSIG, "DigestMethod")
                .and_then(|m| m.attribute("Algorithm"))
                .filter(|a| *a == DIGEST_SHA1)
            {
                return Some(digest.to_owned());
            }
        }
    }
    None
}

/// Is there a comment anywhere inside `root`?
pub fn has_comment(root: Node<'_, '_>) -> bool {
    root.descendants().any(|n| n.is_comment())
}

/// Does the document contain any `ds:Signature`?
pub fn has_signature(root: Node<'_, '_>) -> bool {
    descendants(root, NS_DSIG, "Signature").next().is_some()
}

/// Verifies every signature in `xml` with the IdP certificates and returns the document
/// reduced to what they cover. The error is a one-line reason for the audit.
pub fn verify_and_reduce(
    xml: &str,
    certificates: &[CertificateDer],
    allow_sha1: bool,
) -> Result<String, String> {
    let allowed = (!allow_sha1).then_some(&SHA2_ONLY[..]);
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        certificates,
        ReduceMode::ValidateAndMarkNoAncestors,
        allowed,
    )
    .map_err(|e| {
        // Not Send: keep the text only.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    })
}
