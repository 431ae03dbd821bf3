//! Configuration: the TOML file an administrator writes (DESIGN §4), read through the
//! `config` crate with `IDP_SYNC__SECTION__KEY` environment overrides applied last, and
//! validated into a [`Config`] — typed values, resolved secrets and the
//! [`domain::Policy`](crate::domain::Policy) that access resolution reads.
//!
//! Layers: [`raw`] mirrors the file (serde, unknown keys refused); `load` reads the file and
//! the overrides; `validate` checks everything and collects **every** problem with its key
//! path ([`ConfigErrors`]); [`reload`] swaps a running config only for a valid new one.
//!
//! This module may import `domain` and `sso::saml::metadata`, nothing else of the crate.
//!
//! Decisions worth knowing:
//! - Relative paths (files, `sqlite://` URLs) are kept as written and resolve against the
//!   working directory when used (DESIGN §10).
//! - A secret whose variable is unset is not an error: the item that needs it (a
//!   connection's SCIM, an OIDC login, a webhook, an admin token, a connector) is left out
//!   and a warning names the variable ([`Config::warnings`]), so the shipped example runs
//!   with no secrets set. A named secret *file* that cannot be read is an error.
//! - Array entries can be overridden by index: `IDP_SYNC__CONNECTIONS__0__JIT=true`.
//!   List values in overrides are comma-separated.

mod env;
mod error;
mod load;
mod overrides;
pub mod raw;
pub mod reload;
mod secrets;
mod validate;
mod validate_conn;
mod validate_out;
mod validate_sections;
pub use secrets::expose as expose_secret;

pub use env::{Env, OVERRIDE_PREFIX};
pub use error::{ConfigErrors, ConfigProblem};
pub use reload::{Candidate, ConfigHandle, FileWatch, ReloadOutcome, watch_file};
pub use secrets::{SecretSource, TokenDigest, TokenSet};

use crate::domain::{ConnectionId, EventType, Policy, RoleName};
use ipnet::IpNet;
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// Loads and validates the config at `path`, reading overrides and secrets from the process
/// environment. Warnings are logged (`tracing::warn!`) and kept in [`Config::warnings`].
pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
    load_with(path, &Env::process())
}

/// Like [`load`], with the environment given explicitly (tests, `check-config` tooling).
pub fn load_with(path: impl AsRef<Path>, env: &Env) -> Result<Config, ConfigErrors> {
    let config = load::load(path.as_ref(), env)?;
    for warning in &config.warnings {
        tracing::warn!(key = %warning.path, "config: {}", warning.message);
    }
    Ok(config)
}

/// A validated configuration.
#[derive(Debug)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    /// SHA-256 over the file, the applied overrides and everything the file pointed at
    /// (metadata, certificates, secrets): equal fingerprints mean nothing changed.
    pub fingerprint: Fingerprint,
    pub server: Server,
    pub database: Database,
    /// `None` without an `[email]` section: invitations are created but not mailed.
    pub email: Option<Email>,
    /// `email.invitation_ttl`, 14 days by default (also without an `[email]` section).
    pub invitation_ttl: Duration,
    pub removal: Removal,
    pub delivery: Delivery,
    pub sessions: Sessions,
    /// Roles, organizations, connection scopes and caps, mappings, break-glass accounts.
    pub policy: Policy,
    /// Protocol settings of each connection, in config order.
    pub connections: Vec<Connection>,
    /// Admin API tokens whose secret is available.
    pub admin_tokens: Vec<AdminToken>,
    /// Webhooks whose secret is available.
    pub webhooks: Vec<Webhook>,
    /// Connectors whose environment variables are all set.
    pub connectors: Vec<Connector>,
    /// Non-fatal remarks (an item left out for a missing secret, an unknown override).
    pub warnings: Vec<ConfigProblem>,
}

impl Config {
    pub fn connection(&self, id: &ConnectionId) -> Option<&Connection> {
        self.connections.iter().find(|c| &c.id == id)
    }
}

/// SHA-256 of a config's inputs; shown as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[derive(Clone, Debug)]
pub struct Server {
    pub listen: SocketAddr,
    pub public_url: PublicUrl,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: u64,
}

/// The URL people and IdPs reach idp-sync at: http or https, no query, fragment or
/// credentials, no trailing slash (so `format!("{}/sso/...", url)` is right).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicUrl(Url);

impl PublicUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "must be http:// or https://, not {}://",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials".to_owned());
        }
        Ok(Self(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// The URL without a trailing slash, e.g. `https://sso.acme.com/idp`.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// `{public_url}{path}`; `path` starts with `/`.
    pub fn join(&self, path: &str) -> String {
        // Not `format!`: this runs for every SCIM response, and the formatting machinery
        // cost ≈ 900 instructions for two string copies.
        let base = self.as_str();
        let mut url = String::with_capacity(base.len() + path.len());
        url.push_str(base);
        url.push_str(path);
        url
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicUrl({})", self.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct Database {
    /// `sqlite://…` (relative paths resolve against the working directory) or
    /// `postgres://…`. May hold a password: printed redacted.
    pub url: DatabaseUrl,
    pub max_connections: Option<u32>,
}

/// A database URL; `Debug` and `Display` hide any password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    pub(crate) fn new(url: String) -> Self {
        Self(url)
    }

    fn redacted(&self) -> String {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("redacted"));
                url.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

#[derive(Clone, Debug)]
pub struct Email {
    /// `smtp://` (STARTTLS when offered; `?tls=required|none`) or `smtps://`.
    pub smtp_url: Url,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    /// `Name <address>` or a bare address.
    pub from: String,
    pub templates_dir: Option<PathBuf>,
    /// Shown in emails and pages ("You have been invited to …").
    pub application_name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalMode {
    Suspend,
    Delete,
}

#[derive(Clone, Debug)]
pub struct Removal {
    pub mode: RemovalMode,
    /// Share of users with access that one change may remove before it is held.
    pub mass_threshold: f64,
    /// Below this many removals a change is never held.
    pub mass_minimum: u32,
    /// How long a loss of access waits before it takes effect, if set.
    pub grace: Option<Duration>,
}

#[derive(Clone, Debug)]
pub struct Delivery {
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub max_age: Duration,
}

/// `[sessions]`: a browser session ends after `idle` without a request, and after
/// `absolute` whatever happens (defaults 8 hours and 24 hours).
#[derive(Clone, Copy, Debug)]
pub struct Sessions {
    pub idle: Duration,
    pub absolute: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionKind {
    Okta,
    Entra,
    Jumpcloud,
    Google,
    Generic,
}

impl ConnectionKind {
    pub const ALL: [ConnectionKind; 5] = [
        Self::Okta,
        Self::Entra,
        Self::Jumpcloud,
        Self::Google,
        Self::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Okta => "okta",
            Self::Entra => "entra",
            Self::Jumpcloud => "jumpcloud",
            Self::Google => "google",
            Self::Generic => "generic",
        }
    }
}

/// A connection's protocol settings (its scope and `max_role` live in the policy).
#[derive(Clone, Debug)]
pub struct Connection {
    pub id: ConnectionId,
    pub kind: ConnectionKind,
    /// Create users at their first SSO login.
    pub jit: bool,
    /// A SCIM create may adopt a manually invited user with the same userName (audited).
    pub adopt_manual_invitations: bool,
    /// `None` when not configured, or when none of its tokens is available (warned).
    pub scim: Option<Scim>,
    pub saml: Option<Saml>,
    /// `None` when not configured, or when the client secret is unavailable (warned).
    pub oidc: Option<Oidc>,
}

#[derive(Clone, Debug)]
pub struct Scim {
    pub tokens: TokenSet,
    pub rate_limit_per_second: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct Saml {
    pub idp: SamlIdp,
    pub attributes: SamlAttributes,
    pub allow_idp_initiated: bool,
    /// PEM private key that signs AuthnRequests and decrypts assertions.
    pub sp_key_pem: Option<SecretString>,
    pub sp_cert_pem: Option<String>,
    pub allow_sha1: bool,
    pub clock_skew: Duration,
}

/// The IdP as its metadata (or the explicit keys) describe it.
#[derive(Clone, Debug)]
pub struct SamlIdp {
    pub entity_id: String,
    /// Where AuthnRequests go (Redirect binding).
    pub sso_url: String,
    /// Signing certificates, base64 DER. Never empty: an IdP without one is refused.
    pub certificates: Vec<String>,
    /// The metadata document when `idp_metadata_file` was used.
    pub metadata_xml: Option<String>,
}

/// SAML attribute names, from the `kind` presets (DESIGN §10) unless overridden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlAttributes {
    /// Tried in order; without any, an emailAddress-format NameID is the email.
    pub email: Vec<String>,
    pub first_name: String,
    pub last_name: String,
    pub groups: String,
    /// The IdP's immutable user id attribute (Entra's objectidentifier), if the kind has one.
    pub immutable_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

#[derive(Clone, Debug)]
pub struct Oidc {
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub groups_claim: String,
    pub scopes: Vec<String>,
    pub token_auth_method: TokenAuthMethod,
    /// Static endpoints; any left `None` come from discovery at the first login.
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
}

#[derive(Clone, Debug)]
pub struct AdminToken {
    pub name: String,
    pub role: RoleName,
    pub tokens: TokenSet,
}

/// Which events a webhook receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Only(BTreeSet<EventType>),
}

impl EventFilter {
    pub fn includes(&self, event: EventType) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(&event),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Webhook {
    /// The `name` key, else the URL; unique among webhooks.
    pub name: String,
    pub url: Url,
    /// One, or two while rotating (each signs a `v1=`).
    pub secrets: Vec<SecretString>,
    pub events: EventFilter,
}

#[derive(Clone, Debug)]
pub struct Connector {
    pub name: String,
    pub on: BTreeSet<EventType>,
    /// Upper-case HTTP method.
    pub method: String,
    /// A template (`{{ user.id }}` may appear); starts with http:// or https://.
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    /// The variables named in `env`, the only ones templates can read.
    pub env: BTreeMap<String, SecretString>,
}
