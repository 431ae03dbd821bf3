//! Secrets: values named by `*_env` (an environment variable) or `*_file` (a file, e.g. a
//! systemd credential), and token digests given as `token_sha256`.
//!
//! Secret values are held in [`secrecy::SecretString`], whose `Debug` prints nothing of
//! the value. Bearer tokens (SCIM, admin API) are not kept at all: only their SHA-256
//! digests, compared in constant time by [`TokenSet::verify`].

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of a token value.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Parses a hex digest as written in `token_sha256` (64 hex digits, any case).
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out).ok()?;
        Some(Self(out))
    }

    fn matches(&self, presented: &TokenDigest) -> subtle::Choice {
        self.0.ct_eq(&presented.0)
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest([redacted])")
    }
}

/// The accepted tokens of one SCIM connection or admin token: one, or two while rotating.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenSet {
    digests: Vec<TokenDigest>,
}

impl TokenSet {
    pub fn new(digests: Vec<TokenDigest>) -> Self {
        Self { digests }
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the tokens. Compares against every digest, in
    /// constant time, without stopping at a match.
    pub fn verify(&self, presented: &str) -> bool {
        let presented = TokenDigest::of(presented);
        let mut found = subtle::Choice::from(0);
        for digest in &self.digests {
            found |= digest.matches(&presented);
        }
        bool::from(found) && !self.digests.is_empty()
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSet({} token(s), [redacted])", self.digests.len())
    }
}

/// Where a secret comes from, as the config names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(String),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::File(path) => write!(f, "file {path}"),
        }
    }
}

/// The text of a secret file: one trailing newline (`\n` or `\r\n`) is not part of it.
pub fn trim_secret_file(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// Exposes a secret's text (for hashing it into the fingerprint and for callers that must
/// send it). Kept here so grepping for `expose_secret` finds every use.
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_each_rotation_token_and_nothing_else() {
        let set = TokenSet::new(vec![
            TokenDigest::of("old-token"),
            TokenDigest::from_hex(&hex::encode(Sha256::digest(b"new-token"))).expect("hex"),
        ]);
        assert!(set.verify("old-token"));
        assert!(set.verify("new-token"));
        assert!(!set.verify("new-token "));
        assert!(!set.verify(""));
        assert!(!TokenSet::default().verify(""));
        assert!(!format!("{set:?}").contains("token\""));
    }

    #[test]
    fn hex_digests_must_be_64_hex_digits() {
        assert!(TokenDigest::from_hex("abc").is_none());
        assert!(TokenDigest::from_hex(&"g".repeat(64)).is_none());
        assert!(TokenDigest::from_hex(&"A".repeat(64)).is_some());
    }

    #[test]
    fn one_trailing_newline_is_trimmed() {
        assert_eq!(trim_secret_file("s3cret\n".into()), "s3cret");
        assert_eq!(trim_secret_file("s3cret\r\n".into()), "s3cret");
        assert_eq!(trim_secret_file("s3cret\n\n".into()), "s3cret\n");
    }
}
