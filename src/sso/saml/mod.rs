//! SAML 2.0 service-provider support. This is the only module that imports `samael`; its
//! error types are neither `Send` nor `Sync`, so they are turned into our own errors at
//! the call site and never leave this module.
//!
//! For now it holds [`metadata`]: reading an IdP's metadata and certificates, which the
//! config layer uses to refuse an IdP without a signing certificate (samael would
//! otherwise skip signature verification silently).

pub mod metadata;
