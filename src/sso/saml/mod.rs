//! SAML 2.0 service provider: the protocol only. This is the only module that imports
//! `samael`; its error types are neither `Send` nor `Sync`, so they are turned into our
//! own errors at the call site and never leave this module. It may import `domain` and
//! the protocol-neutral types of [`crate::sso`]; callers (the HTTP layer) pass validated
//! [`SpSettings`] and the current time, and own the cookie, the pending logins and the
//! replay cache.
//!
//! - [`metadata`]: reading an IdP's metadata and certificates (the config layer refuses
//!   an IdP without a signing certificate: samael would skip signature verification).
//! - [`sp`]: our metadata and AuthnRequests (Redirect binding, signed when keyed).
//! - [`response`]: validating a Response from the ACS into an [`Identity`](crate::sso::Identity)
//!   or a [`Refusal`](crate::sso::Refusal) with a stable `SAML-…` code.
//!
//! Verification is CPU-bound C (xmlsec): callers run [`response::validate_response`] in
//! `spawn_blocking`. xmlsec reports verification failures on stderr by itself; `serve`
//! puts a pipe on stderr and logs those lines through tracing
//! (`telemetry::init_logging_with_native_capture`).

mod decrypt;
pub mod metadata;
pub mod response;
mod settings;
mod signature;
pub mod sp;
mod xml;

pub use response::{VerifiedResponse, decode_post_value, validate_response};
pub use settings::{AttributeNames, SpSettings};
pub use sp::{RedirectRequest, SpKeyError, authn_request_redirect, sp_metadata_xml};

#[cfg(test)]
mod tests;
