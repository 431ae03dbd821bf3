//! The raw config: serde structs that mirror the file's keys (DESIGN §4) one to one, with
//! `deny_unknown_fields` everywhere so a misspelt key is an error rather than a silently
//! ignored setting. Values stay as written (strings for durations, URLs, globs); their
//! meaning is checked in `validate`, which turns this into [`super::Config`].
//!
//! Defaults that need no interpretation live here; the ones that depend on other keys
//! (`max_role` = the top role, the default roles) are applied during validation.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// The whole file. Loading reads it section by section (so one bad entry does not hide the
/// problems of the others), but the struct is complete and can deserialize a file at once.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub version: Option<i64>,
    pub server: Option<RawServer>,
    pub database: Option<RawDatabase>,
    pub email: Option<RawEmail>,
    pub removal: Option<RawRemoval>,
    pub delivery: Option<RawDelivery>,
    pub sessions: Option<RawSessions>,
    /// `None` when the key is absent: the application's default roles apply.
    pub roles: Option<Vec<RawRole>>,
    #[serde(default)]
    pub organizations: Vec<RawOrganization>,
    #[serde(default)]
    pub connections: Vec<RawConnection>,
    #[serde(default)]
    pub mappings: Vec<RawMapping>,
    #[serde(default)]
    pub admin_tokens: Vec<RawAdminToken>,
    #[serde(default)]
    pub webhooks: Vec<RawWebhook>,
    #[serde(default)]
    pub connectors: Vec<RawConnector>,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/idp-sync.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
pub const DEFAULT_INVITATION_TTL: &str = "14d";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    /// IP addresses or CIDR ranges whose `X-Forwarded-*` headers are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    #[serde(default = "default_database_url")]
    pub url: String,
    pub max_connections: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    pub smtp_url: Option<String>,
    pub smtp_username: Option<String>,
    pub smtp_password_env: Option<String>,
    pub smtp_password_file: Option<String>,
    pub from: Option<String>,
    #[serde(default = "default_invitation_ttl")]
    pub invitation_ttl: String,
    pub templates_dir: Option<String>,
    pub application_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRemoval {
    pub mode: Option<String>,
    #[serde(default = "default_mass_threshold")]
    pub mass_threshold: f64,
    #[serde(default = "default_mass_minimum")]
    pub mass_minimum: u32,
    #[serde(default)]
    pub break_glass: Vec<String>,
    pub grace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDelivery {
    #[serde(default = "default_backoff_base")]
    pub backoff_base: String,
    #[serde(default = "default_backoff_max")]
    pub backoff_max: String,
    #[serde(default = "default_max_age")]
    pub max_age: String,
}

/// `[sessions]`: how long a browser stays signed in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSessions {
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: String,
    #[serde(default = "default_absolute_timeout")]
    pub absolute_timeout: String,
}

impl Default for RawSessions {
    fn default() -> Self {
        Self {
            idle_timeout: default_idle_timeout(),
            absolute_timeout: default_absolute_timeout(),
        }
    }
}

fn default_idle_timeout() -> String {
    "8h".to_owned()
}

fn default_absolute_timeout() -> String {
    "24h".to_owned()
}

impl Default for RawDelivery {
    fn default() -> Self {
        Self {
            backoff_base: default_backoff_base(),
            backoff_max: default_backoff_max(),
            max_age: default_max_age(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    pub name: String,
    pub max_organizations: Option<u32>,
    #[serde(default = "default_true")]
    pub counts_toward_seats: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrganization {
    pub slug: String,
    pub name: String,
    pub parent: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnection {
    pub id: String,
    pub kind: String,
    #[serde(default = "default_all")]
    pub scope: Vec<String>,
    pub max_role: Option<String>,
    #[serde(default)]
    pub jit: bool,
    #[serde(default)]
    pub adopt_manual_invitations: bool,
    pub scim: Option<RawScim>,
    pub saml: Option<RawSaml>,
    pub oidc: Option<RawOidc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScim {
    pub token_env: Option<StringList>,
    pub token_file: Option<StringList>,
    pub token_sha256: Option<StringList>,
    pub rate_limit_per_second: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSaml {
    pub idp_metadata_file: Option<String>,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    pub idp_certificate_files: Option<Vec<String>>,
    pub groups_attribute: Option<String>,
    pub email_attribute: Option<String>,
    pub first_name_attribute: Option<String>,
    pub last_name_attribute: Option<String>,
    #[serde(default)]
    pub allow_idp_initiated: bool,
    pub sp_key_file: Option<String>,
    pub sp_cert_file: Option<String>,
    #[serde(default)]
    pub allow_sha1: bool,
    #[serde(default = "default_clock_skew")]
    pub clock_skew: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<String>,
    pub groups_claim: Option<String>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    pub token_auth_method: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub userinfo_endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    pub connection: String,
    pub idp_group: Option<String>,
    pub idp_group_id: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    pub role: Option<String>,
    #[serde(default)]
    pub organizations: Vec<String>,
    #[serde(default)]
    pub include_suborganizations: bool,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub allow_asset_types: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdminToken {
    pub name: String,
    pub role: String,
    pub token_env: Option<StringList>,
    pub token_file: Option<StringList>,
    pub token_sha256: Option<StringList>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub name: Option<String>,
    pub url: String,
    pub secret_env: Option<StringList>,
    pub secret_file: Option<StringList>,
    #[serde(default = "default_all")]
    pub events: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnector {
    pub name: String,
    pub on: StringList,
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    /// Environment variables the templates may read as `{{ env.NAME }}`.
    #[serde(default)]
    pub env: Vec<String>,
}

/// A key that takes one string or a list of strings (`token_env = "A"` or `["A", "B"]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl StringList {
    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrMany;
        impl<'de> Visitor<'de> for OneOrMany {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(vec![v.to_owned()]))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<StringList, E> {
                Ok(StringList(vec![v]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(StringList(out))
            }
        }
        deserializer.deserialize_any(OneOrMany)
    }
}

fn default_max_body_bytes() -> u64 {
    DEFAULT_MAX_BODY_BYTES
}
fn default_database_url() -> String {
    DEFAULT_DATABASE_URL.to_owned()
}
fn default_invitation_ttl() -> String {
    DEFAULT_INVITATION_TTL.to_owned()
}
fn default_mass_threshold() -> f64 {
    0.2
}
fn default_mass_minimum() -> u32 {
    10
}
fn default_backoff_base() -> String {
    "1s".to_owned()
}
fn default_backoff_max() -> String {
    "5m".to_owned()
}
fn default_max_age() -> String {
    "24h".to_owned()
}
fn default_clock_skew() -> String {
    "2m".to_owned()
}
fn default_true() -> bool {
    true
}
fn default_all() -> Vec<String> {
    vec!["*".to_owned()]
}
fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(str::to_owned).to_vec()
}
fn default_method() -> String {
    "POST".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_example_deserializes_and_unknown_keys_are_refused() {
        let ok: RawConfig = toml::from_str(
            r#"
            version = 1
            [server]
            listen = "127.0.0.1:8080"
            [[connections]]
            id = "okta"
            kind = "okta"
            [connections.scim]
            token_env = ["A", "B"]
            [[connectors]]
            name = "x"
            on = "user.invited"
            url = "http://127.0.0.1/"
            "#,
        )
        .expect("valid");
        let scim = ok.connections[0].scim.as_ref().expect("scim");
        assert_eq!(scim.token_env.as_ref().map(StringList::len), Some(2));
        assert_eq!(ok.connections[0].scope, ["*"]);
        assert_eq!(ok.connectors[0].method, "POST");
        assert!(ok.roles.is_none());

        let err = toml::from_str::<RawConfig>("version = 1\n[server]\nlisten_addr = \"x\"\n")
            .expect_err("unknown key");
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }
}
