//! Environment overrides (`IDP_SYNC__SECTION__KEY=value`, DESIGN §10), applied after the
//! file. Each variable is checked against the known keys before it is used: an unknown one
//! is left out with a warning (a typo must not stop the daemon, nor be silently ignored).
//!
//! Values are converted by the type of their key: numbers and booleans are parsed, lists
//! are comma-separated, keys that take one string or a list take a list when the value has
//! a comma. Array entries are addressed by index (`IDP_SYNC__CONNECTIONS__0__JIT`); an
//! index the file does not have is refused with a warning.

use super::error::Problems;
use config::{ConfigError, Map, Source, Value, ValueKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Float,
    Bool,
    List,
    StrOrList,
    /// A table of free string keys (`headers`): any sub-key is allowed.
    Table,
}

use Kind::*;

/// Every key of the file, `[]` marking an array of tables. Kept in step with `raw` by the
/// test `schema_matches_the_raw_structs`.
const SCHEMA: &[(&str, Kind)] = &[
    ("version", Int),
    ("server.listen", Str),
    ("server.public_url", Str),
    ("server.trusted_proxies", List),
    ("server.max_body_bytes", Int),
    ("database.url", Str),
    ("database.max_connections", Int),
    ("email.smtp_url", Str),
    ("email.smtp_username", Str),
    ("email.smtp_password_env", Str),
    ("email.smtp_password_file", Str),
    ("email.from", Str),
    ("email.invitation_ttl", Str),
    ("email.templates_dir", Str),
    ("email.application_name", Str),
    ("removal.mode", Str),
    ("removal.mass_threshold", Float),
    ("removal.mass_minimum", Int),
    ("removal.break_glass", List),
    ("removal.grace", Str),
    ("delivery.backoff_base", Str),
    ("delivery.backoff_max", Str),
    ("delivery.max_age", Str),
    ("sessions.idle_timeout", Str),
    ("sessions.absolute_timeout", Str),
    ("roles[].name", Str),
    ("roles[].max_organizations", Int),
    ("roles[].counts_toward_seats", Bool),
    ("organizations[].slug", Str),
    ("organizations[].name", Str),
    ("organizations[].parent", Str),
    ("connections[].id", Str),
    ("connections[].kind", Str),
    ("connections[].scope", List),
    ("connections[].max_role", Str),
    ("connections[].jit", Bool),
    ("connections[].adopt_manual_invitations", Bool),
    ("connections[].scim.token_env", StrOrList),
    ("connections[].scim.token_file", StrOrList),
    ("connections[].scim.token_sha256", StrOrList),
    ("connections[].scim.rate_limit_per_second", Int),
    ("connections[].saml.idp_metadata_file", Str),
    ("connections[].saml.idp_entity_id", Str),
    ("connections[].saml.idp_sso_url", Str),
    ("connections[].saml.idp_certificate_files", List),
    ("connections[].saml.groups_attribute", Str),
    ("connections[].saml.email_attribute", Str),
    ("connections[].saml.first_name_attribute", Str),
    ("connections[].saml.last_name_attribute", Str),
    ("connections[].saml.allow_idp_initiated", Bool),
    ("connections[].saml.sp_key_file", Str),
    ("connections[].saml.sp_cert_file", Str),
    ("connections[].saml.allow_sha1", Bool),
    ("connections[].saml.clock_skew", Str),
    ("connections[].oidc.issuer", Str),
    ("connections[].oidc.client_id", Str),
    ("connections[].oidc.client_secret_env", Str),
    ("connections[].oidc.client_secret_file", Str),
    ("connections[].oidc.groups_claim", Str),
    ("connections[].oidc.scopes", List),
    ("connections[].oidc.token_auth_method", Str),
    ("connections[].oidc.authorization_endpoint", Str),
    ("connections[].oidc.token_endpoint", Str),
    ("connections[].oidc.jwks_uri", Str),
    ("connections[].oidc.userinfo_endpoint", Str),
    ("mappings[].connection", Str),
    ("mappings[].idp_group", Str),
    ("mappings[].idp_group_id", Str),
    ("mappings[].groups", List),
    ("mappings[].role", Str),
    ("mappings[].organizations", List),
    ("mappings[].include_suborganizations", Bool),
    ("mappings[].permissions", List),
    ("mappings[].allow_asset_types", List),
    ("admin_tokens[].name", Str),
    ("admin_tokens[].role", Str),
    ("admin_tokens[].token_env", StrOrList),
    ("admin_tokens[].token_file", StrOrList),
    ("admin_tokens[].token_sha256", StrOrList),
    ("webhooks[].name", Str),
    ("webhooks[].url", Str),
    ("webhooks[].secret_env", StrOrList),
    ("webhooks[].secret_file", StrOrList),
    ("webhooks[].events", List),
    ("connectors[].name", Str),
    ("connectors[].on", StrOrList),
    ("connectors[].method", Str),
    ("connectors[].url", Str),
    ("connectors[].headers", Table),
    ("connectors[].body", Str),
    ("connectors[].env", List),
];

/// The overrides that passed the checks, as `config` path expressions and values.
#[derive(Clone, Debug, Default)]
pub(crate) struct Overrides {
    entries: Vec<(String, Value)>,
    /// `NAME=value` of each applied variable, for the fingerprint.
    pub applied: Vec<(String, String)>,
}

impl Overrides {
    /// The variable that set the key at `path`, if an override did.
    pub fn variable_for(&self, path: &str) -> Option<&str> {
        self.entries
            .iter()
            .zip(&self.applied)
            .find(|((expr, _), _)| expr == path)
            .map(|(_, (name, _))| name.as_str())
    }
}

impl Overrides {
    /// Checks every `IDP_SYNC__*` variable against the schema and the file (for array
    /// indexes). Unknown ones become warnings.
    pub fn from_vars(
        vars: &[(String, String)],
        file: &toml::Table,
        problems: &mut Problems,
    ) -> Self {
        let mut out = Self::default();
        for (name, value) in vars {
            match resolve(name, file) {
                Ok((expr, kind)) => {
                    let origin = format!("environment variable {name}");
                    out.entries.push((expr, convert(value, kind, &origin)));
                    out.applied.push((name.clone(), value.clone()));
                }
                Err(why) => problems.warn(name.clone(), why),
            }
        }
        out
    }
}

impl Source for Overrides {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.entries.iter().cloned().collect())
    }
}

/// Maps `IDP_SYNC__CONNECTIONS__0__SCIM__TOKEN_ENV` to `connections[0].scim.token_env`.
fn resolve(name: &str, file: &toml::Table) -> Result<(String, Kind), String> {
    let rest = name.get(super::OVERRIDE_PREFIX.len()..).unwrap_or_default();
    let segments: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
    let valid = |s: &String| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !segments.iter().all(valid) {
        return Err("ignored: not a config key".to_owned());
    }
    let mut pattern = String::new();
    let mut expr = String::new();
    let mut node: Option<&toml::Value> = None;
    for (i, segment) in segments.iter().enumerate() {
        if let Ok(index) = segment.parse::<usize>() {
            let entry = match node {
                Some(toml::Value::Array(items)) => items.get(index),
                _ => None,
            };
            if entry.is_none() {
                return Err(format!(
                    "ignored: the file has no {expr}[{index}] (overrides change entries, they do not add them)"
                ));
            }
            pattern.push_str("[]");
            expr.push_str(&format!("[{index}]"));
            node = entry;
            continue;
        }
        if let Some((_, Table)) = SCHEMA.iter().find(|(k, _)| *k == pattern) {
            // A free sub-key of a table such as `headers`: exactly one more segment.
            if i + 1 == segments.len() {
                return Ok((format!("{expr}.{segment}"), Str));
            }
            return Err("ignored: not a config key".to_owned());
        }
        if i > 0 {
            pattern.push('.');
            expr.push('.');
        }
        pattern.push_str(segment);
        expr.push_str(segment);
        node = match node {
            None if i == 0 => file.get(segment.as_str()),
            Some(toml::Value::Table(t)) => t.get(segment.as_str()),
            _ => None,
        };
    }
    match SCHEMA.iter().find(|(k, _)| *k == pattern) {
        Some((_, Table)) => Err(format!(
            "ignored: name a key inside `{pattern}`, e.g. {name}__AUTHORIZATION"
        )),
        Some((_, kind)) => Ok((expr, *kind)),
        None => Err(format!("ignored: there is no config key `{pattern}`")),
    }
}

fn convert(value: &str, kind: Kind, origin: &str) -> Value {
    let origin = Some(&origin.to_owned()).cloned();
    let list = |v: &str| {
        ValueKind::Array(
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::new(origin.as_ref(), ValueKind::String(s.to_owned())))
                .collect(),
        )
    };
    let string = || ValueKind::String(value.to_owned());
    let kind = match kind {
        Str | Table => string(),
        Int => value
            .trim()
            .parse::<i64>()
            .map(ValueKind::I64)
            .unwrap_or_else(|_| string()),
        Float => value
            .trim()
            .parse::<f64>()
            .map(ValueKind::Float)
            .unwrap_or_else(|_| string()),
        Bool => match value.trim().to_ascii_lowercase().as_str() {
            "true" => ValueKind::Boolean(true),
            "false" => ValueKind::Boolean(false),
            _ => string(),
        },
        List => list(value),
        StrOrList if value.contains(',') => list(value),
        StrOrList => string(),
    };
    Value::new(origin.as_ref(), kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> toml::Table {
        toml::from_str(
            "[server]\nlisten = \"x\"\n[[connections]]\nid = \"okta\"\n[[connectors]]\nname = \"c\"\n",
        )
        .expect("toml")
    }

    #[test]
    fn names_map_to_paths_by_schema() {
        let f = file();
        assert_eq!(
            resolve("IDP_SYNC__SERVER__LISTEN", &f),
            Ok(("server.listen".to_owned(), Str))
        );
        assert_eq!(
            resolve("IDP_SYNC__CONNECTIONS__0__SCIM__TOKEN_ENV", &f),
            Ok(("connections[0].scim.token_env".to_owned(), StrOrList))
        );
        assert_eq!(
            resolve("IDP_SYNC__CONNECTORS__0__HEADERS__X-API-KEY", &f),
            Ok(("connectors[0].headers.x-api-key".to_owned(), Str))
        );
        assert!(resolve("IDP_SYNC__SERVER__LISTN", &f).is_err());
        assert!(resolve("IDP_SYNC__CONNECTIONS__1__JIT", &f).is_err());
        assert!(resolve("IDP_SYNC__SERVER____LISTEN", &f).is_err());
    }

    #[test]
    fn values_convert_by_kind() {
        assert_eq!(convert("42", Int, "o").into_int().ok(), Some(42));
        assert_eq!(convert("TRUE", Bool, "o").into_bool().ok(), Some(true));
        assert_eq!(
            convert("a, b", List, "o")
                .into_array()
                .map(|a| a.len())
                .ok(),
            Some(2)
        );
        assert_eq!(
            convert("007", Str, "o").into_string().ok().as_deref(),
            Some("007")
        );
    }

    /// Every schema key is accepted by the raw structs (a value of the right type does not
    /// produce "unknown field"), so the two cannot drift apart silently.
    #[test]
    fn schema_matches_the_raw_structs() {
        for (key, kind) in SCHEMA {
            let value = match kind {
                Str => "\"x\"",
                Int => "1",
                Float => "0.5",
                Bool => "true",
                List | StrOrList => "[\"x\"]",
                Table => "{ a = \"b\" }",
            };
            let (head, leaf) = key.rsplit_once('.').unwrap_or(("", key));
            let text = match head.split_once("[].") {
                // connections[].scim.token_env: [[connections]] then [connections.scim]
                Some((array, sub)) => format!("[[{array}]]\n[{array}.{sub}]\n{leaf} = {value}\n"),
                None if head.ends_with("[]") => {
                    format!("[[{}]]\n{leaf} = {value}\n", head.trim_end_matches("[]"))
                }
                None if head.is_empty() => format!("{leaf} = {value}\n"),
                None => format!("[{head}]\n{leaf} = {value}\n"),
            };
            let err = toml::from_str::<super::super::raw::RawConfig>(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!err.contains("unknown field"), "{key}: {err}\n{text}");
        }
    }
}
