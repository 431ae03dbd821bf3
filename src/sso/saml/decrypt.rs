//! Decrypting an `EncryptedAssertion` with the SP key, done here with the openssl crate
//! because samael decrypts AES-128 only while Okta and Entra default to AES-256.
//!
//! Supported: key transport RSA-OAEP (`xmlenc#rsa-oaep-mgf1p`, `xmlenc11#rsa-oaep` with
//! its DigestMethod and MGF) and RSA-1_5; content AES-128/192/256 in CBC (`xmlenc#`) and
//! GCM (`xmlenc11#`). The `EncryptedKey` may sit in the `EncryptedData`'s `KeyInfo` or
//! beside it in the `EncryptedAssertion`; each candidate is tried.
//!
//! RSA-1_5 invites Bleichenbacher's padding oracle; a failed key unwrap therefore goes on
//! with a random key, so every failure looks the same (the content decryption fails).

use super::settings::{NS_DSIG, NS_XMLENC, NS_XMLENC11};
use super::xml::{child, children, descendants, text};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};
use roxmltree::Node;

const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";

/// Why an assertion could not be decrypted (the detail of a `SAML-DECRYPT` refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("the assertion is encrypted but no SP key (sp_key_file) is configured")]
    NoKey,
    #[error("malformed EncryptedAssertion: {0}")]
    Malformed(&'static str),
    #[error("unsupported algorithm {0}")]
    Unsupported(String),
    #[error("decryption failed (wrong key, or the data was altered)")]
    Failed,
}

#[derive(Clone, Copy)]
enum Content {
    Cbc(usize),
    Gcm(usize),
}

fn content_algorithm(uri: &str) -> Option<Content> {
    Some(match uri {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Content::Cbc(16),
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Content::Cbc(24),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Content::Cbc(32),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Content::Gcm(16),
        "http://www.w3.org/2009/xmlenc11#aes192-gcm" => Content::Gcm(24),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Content::Gcm(32),
        _ => return None,
    })
}

/// Decrypts the `EncryptedAssertion` element `encrypted` and returns the plaintext XML.
pub fn decrypt_assertion(
    encrypted: Node<'_, '_>,
    key: Option<&PKey<Private>>,
) -> Result<String, DecryptError> {
    let key = key.ok_or(DecryptError::NoKey)?;
    let data = child(encrypted, NS_XMLENC, "EncryptedData")
        .ok_or(DecryptError::Malformed("no EncryptedData"))?;
    let method = child(data, NS_XMLENC, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or(DecryptError::Malformed("no EncryptedData EncryptionMethod"))?;
    let content =
        content_algorithm(method).ok_or_else(|| DecryptError::Unsupported(method.to_owned()))?;
    let cipher_value = cipher_value(data)?;

    let mut candidates: Vec<Node<'_, '_>> = Vec::new();
    if let Some(info) = child(data, NS_DSIG, "KeyInfo") {
        candidates.extend(children(info, NS_XMLENC, "EncryptedKey"));
    }
    candidates.extend(children(encrypted, NS_XMLENC, "EncryptedKey"));
    if candidates.is_empty() {
        return Err(DecryptError::Malformed("no EncryptedKey"));
    }
    let key_len = match content {
        Content::Cbc(n) | Content::Gcm(n) => n,
    };
    let mut last = DecryptError::Failed;
    for candidate in candidates {
        let result = unwrap_key(candidate, key, key_len)
            .and_then(|session_key| decrypt_content(content, &session_key, &cipher_value));
        match result {
            Ok(plain) => {
                return String::from_utf8(plain).map_err(|_| DecryptError::Failed);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn cipher_value(node: Node<'_, '_>) -> Result<Vec<u8>, DecryptError> {
    let value = child(node, NS_XMLENC, "CipherData")
        .and_then(|d| child(d, NS_XMLENC, "CipherValue"))
        .ok_or(DecryptError::Malformed("no CipherData/CipherValue"))?;
    let compact: String = text(value).split_whitespace().collect();
    BASE64
        .decode(compact)
        .map_err(|_| DecryptError::Malformed("CipherValue is not base64"))
}

fn digest_by_uri(uri: &str) -> Option<&'static MdRef> {
    Some(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Md::sha1(),
        "http://www.w3.org/2001/04/xmlenc#sha256" => Md::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Md::sha384(),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Md::sha512(),
        _ => return None,
    })
}

fn mgf_by_uri(uri: &str) -> Option<&'static MdRef> {
    Some(match uri {
        "http://www.w3.org/2009/xmlenc11#mgf1sha1" => Md::sha1(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha256" => Md::sha256(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha384" => Md::sha384(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha512" => Md::sha512(),
        _ => return None,
    })
}

/// Recovers the session key from one `EncryptedKey`.
fn unwrap_key(
    encrypted_key: Node<'_, '_>,
    key: &PKey<Private>,
    key_len: usize,
) -> Result<Vec<u8>, DecryptError> {
    let method = child(encrypted_key, NS_XMLENC, "EncryptionMethod")
        .ok_or(DecryptError::Malformed("no EncryptedKey EncryptionMethod"))?;
    let algorithm = method
        .attribute("Algorithm")
        .ok_or(DecryptError::Malformed(
            "EncryptionMethod without Algorithm",
        ))?;
    let wrapped = cipher_value(encrypted_key)?;
    let sha1 = Md::sha1();
    let (oaep, digest, mgf) = match algorithm {
        RSA_1_5 => (false, sha1, sha1),
        RSA_OAEP_MGF1P | RSA_OAEP => {
            let digest = match descendants(method, NS_DSIG, "DigestMethod")
                .next()
                .and_then(|d| d.attribute("Algorithm"))
            {
                Some(uri) => {
                    digest_by_uri(uri).ok_or_else(|| DecryptError::Unsupported(uri.to_owned()))?
                }
                None => sha1,
            };
            // rsa-oaep-mgf1p fixes MGF1 with SHA-1; xmlenc11#rsa-oaep names it.
            let mgf = match child(method, NS_XMLENC11, "MGF").and_then(|m| m.attribute("Algorithm"))
            {
                Some(uri) if algorithm == RSA_OAEP => {
                    mgf_by_uri(uri).ok_or_else(|| DecryptError::Unsupported(uri.to_owned()))?
                }
                _ => sha1,
            };
            (true, digest, mgf)
        }
        other => return Err(DecryptError::Unsupported(other.to_owned())),
    };
    let label = match child(method, NS_XMLENC, "OAEPparams") {
        Some(p) => Some(
            BASE64
                .decode(text(p))
                .map_err(|_| DecryptError::Malformed("OAEPparams is not base64"))?,
        ),
        None => None,
    };
    let attempt = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut ctx = PkeyCtx::new(key)?;
        ctx.decrypt_init()?;
        if oaep {
            ctx.set_rsa_padding(Padding::PKCS1_OAEP)?;
            ctx.set_rsa_oaep_md(digest)?;
            ctx.set_rsa_mgf1_md(mgf)?;
            if let Some(label) = &label {
                ctx.set_rsa_oaep_label(label)?;
            }
        } else {
            ctx.set_rsa_padding(Padding::PKCS1)?;
        }
        let mut out = Vec::new();
        ctx.decrypt_to_vec(&wrapped, &mut out)?;
        Ok(out)
    };
    match attempt() {
        Ok(k) if k.len() == key_len => Ok(k),
        // RSA-1_5: no oracle — go on with a random key, failing at the content step.
        _ if !oaep => Ok((0..key_len).map(|_| rand::random::<u8>()).collect()),
        _ => Err(DecryptError::Failed),
    }
}

fn decrypt_content(content: Content, key: &[u8], data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    match content {
        Content::Cbc(len) => {
            let cipher = match len {
                16 => Cipher::aes_128_cbc(),
                24 => Cipher::aes_192_cbc(),
                _ => Cipher::aes_256_cbc(),
            };
            if data.len() < 32 || !data.len().is_multiple_of(16) {
                return Err(DecryptError::Failed);
            }
            let (iv, body) = data.split_at(16);
            let mut plain = run(cipher, key, iv, body, None)?;
            // XML Encryption pads with ISO 10126: only the last byte (the length) counts.
            let pad = usize::from(*plain.last().ok_or(DecryptError::Failed)?);
            if pad == 0 || pad > 16 || pad > plain.len() {
                return Err(DecryptError::Failed);
            }
            plain.truncate(plain.len() - pad);
            Ok(plain)
        }
        Content::Gcm(len) => {
            let cipher = match len {
                16 => Cipher::aes_128_gcm(),
                24 => Cipher::aes_192_gcm(),
                _ => Cipher::aes_256_gcm(),
            };
            if data.len() < 12 + 16 {
                return Err(DecryptError::Failed);
            }
            let (iv, rest) = data.split_at(12);
            let (body, tag) = rest.split_at(rest.len() - 16);
            run(cipher, key, iv, body, Some(tag))
        }
    }
}

fn run(
    cipher: Cipher,
    key: &[u8],
    iv: &[u8],
    body: &[u8],
    tag: Option<&[u8]>,
) -> Result<Vec<u8>, DecryptError> {
    let go = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv))?;
        crypter.pad(false);
        if let Some(tag) = tag {
            crypter.set_tag(tag)?;
        }
        let mut out = vec![0u8; body.len() + cipher.block_size()];
        let mut n = crypter.update(body, &mut out)?;
        n += crypter.finalize(&mut out[n..])?;
        out.truncate(n);
        Ok(out)
    };
    go().map_err(|_| DecryptError::Failed)
}
