//! Reading a config: the file's bytes (kept for the fingerprint), a TOML syntax check that
//! reports line and column, the `config` crate merging the file with the environment
//! overrides (applied last), then the raw sections one by one, so that one malformed entry
//! is reported without hiding the problems of all the others.

use super::Config;
use super::env::Env;
use super::error::{ConfigErrors, Problems};
use super::overrides::Overrides;
use super::raw::*;
use super::validate::{self, Failed};
use config::{ConfigError, File, FileFormat, Value};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::Path;

pub(crate) fn load(path: &Path, env: &Env) -> Result<Config, ConfigErrors> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigErrors::single(shown.clone(), format!("cannot read the config file: {e}"))
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| ConfigErrors::single(shown.clone(), format!("not UTF-8 text: {e}")))?;
    let file: toml::Table = toml::from_str(text).map_err(|e| syntax_error(&shown, text, &e))?;

    let mut problems = Problems::default();
    let overrides = Overrides::from_vars(&env.overrides(), &file, &mut problems);

    let mut inputs = Sha256::new();
    inputs.update(b"idp-sync config v1\0");
    inputs.update((bytes.len() as u64).to_le_bytes());
    inputs.update(&bytes);
    for (name, value) in &overrides.applied {
        inputs.update(format!("\0env {name}={value}").as_bytes());
    }

    let merged = ::config::Config::builder()
        .add_source(File::from_str(text, FileFormat::Toml))
        .add_source(overrides.clone())
        .build()
        .and_then(|c| c.try_deserialize::<::config::Map<String, Value>>())
        .map_err(|e| ConfigErrors::single(shown.clone(), e.to_string()))?;

    let before = problems.errors.len();
    let (raw, failed) = split(merged, &mut problems);
    for problem in problems.errors.iter_mut().skip(before) {
        if let Some(name) = overrides.variable_for(&problem.path) {
            problem
                .message
                .push_str(&format!(" (from environment variable {name})"));
        }
    }
    validate::validate(path, raw, failed, env, inputs, problems)
}

/// A TOML syntax error as `file:line:column: message`.
fn syntax_error(shown: &str, text: &str, err: &toml::de::Error) -> ConfigErrors {
    let message = err.message().trim().to_owned();
    match err.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before
                .rfind('\n')
                .map_or(before.len(), |nl| before.len() - nl - 1)
                + 1;
            ConfigErrors::single(
                format!("{shown}:{line}:{column}"),
                format!("TOML syntax error: {message}"),
            )
        }
        None => ConfigErrors::single(shown, format!("TOML syntax error: {message}")),
    }
}

/// Deserializes each top-level section, and each entry of the arrays of tables, on its own.
fn split(mut root: config::Map<String, Value>, problems: &mut Problems) -> (RawConfig, Failed) {
    let mut raw = RawConfig::default();
    let mut failed = Failed::default();
    let mut keys: Vec<String> = root.keys().cloned().collect();
    keys.sort();
    for key in keys {
        let Some(value) = root.remove(&key) else {
            continue;
        };
        match key.as_str() {
            "version" => raw.version = one(value, "version", problems),
            "server" => raw.server = one(value, "server", problems),
            "database" => raw.database = one(value, "database", problems),
            "email" => raw.email = one(value, "email", problems),
            "removal" => raw.removal = one(value, "removal", problems),
            "delivery" => raw.delivery = one(value, "delivery", problems),
            "sessions" => raw.sessions = one(value, "sessions", problems),
            "roles" => raw.roles = Some(many(value, "roles", "name", &mut failed.roles, problems)),
            "organizations" => {
                raw.organizations = many(
                    value,
                    "organizations",
                    "slug",
                    &mut failed.organizations,
                    problems,
                )
            }
            "connections" => {
                raw.connections = many(
                    value,
                    "connections",
                    "id",
                    &mut failed.connections,
                    problems,
                )
            }
            "mappings" => {
                raw.mappings = many(value, "mappings", "", &mut Default::default(), problems)
            }
            "admin_tokens" => {
                raw.admin_tokens =
                    many(value, "admin_tokens", "", &mut Default::default(), problems)
            }
            "webhooks" => {
                raw.webhooks = many(value, "webhooks", "", &mut Default::default(), problems)
            }
            "connectors" => {
                raw.connectors = many(value, "connectors", "", &mut Default::default(), problems)
            }
            other => problems.error(other, "unknown key (not a config section)"),
        }
    }
    (raw, failed)
}

fn one<T: DeserializeOwned>(value: Value, path: &str, problems: &mut Problems) -> Option<T> {
    match value.try_deserialize::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            let (p, m) = describe(e, path);
            problems.error(p, m);
            None
        }
    }
}

/// An array of tables. The `name_key` of an entry that fails (its id, slug or name) goes to
/// `failed`, so references to it are not reported a second time as "unknown".
fn many<T: DeserializeOwned>(
    value: Value,
    path: &str,
    name_key: &str,
    failed: &mut std::collections::BTreeSet<String>,
    problems: &mut Problems,
) -> Vec<T> {
    let items = match value.into_array() {
        Ok(items) => items,
        Err(_) => {
            problems.error(
                path,
                format!("must be an array of tables: write [[{path}]]"),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let name = item
            .clone()
            .into_table()
            .ok()
            .and_then(|t| t.get(name_key).cloned())
            .and_then(|v| v.into_string().ok());
        match one(item, &format!("{path}[{i}]"), problems) {
            Some(v) => out.push(v),
            None => failed.extend(name),
        }
    }
    out
}

/// Turns a `config` deserialization error into (key path, message).
fn describe(err: ConfigError, prefix: &str) -> (String, String) {
    match err {
        ConfigError::Type {
            origin,
            unexpected,
            expected,
            key,
        } => (
            join(prefix, key.as_deref().unwrap_or_default()),
            format!(
                "invalid type: {unexpected}, expected {expected}{}",
                from(origin)
            ),
        ),
        ConfigError::At { error, origin, key } => {
            let here = join(prefix, key.as_deref().unwrap_or_default());
            let (path, message) = describe(*error, &here);
            (path, format!("{message}{}", from(origin)))
        }
        ConfigError::NotFound(key) => (
            join(prefix, &key),
            "missing (this key is required)".to_owned(),
        ),
        ConfigError::Message(message) => unknown_field(&message)
            .map(|(field, rest)| (join(prefix, field), format!("unknown key ({rest})")))
            .unwrap_or_else(|| (prefix.to_owned(), message)),
        other => (prefix.to_owned(), other.to_string()),
    }
}

/// Splits serde's "unknown field `x`, expected one of …" into (`x`, "expected one of …").
fn unknown_field(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    Some((field, rest.trim_start_matches(',').trim()))
}

fn from(origin: Option<String>) -> String {
    origin.map(|o| format!(" (from {o})")).unwrap_or_default()
}

/// `connections[1]` + `scim.token` → `connections[1].scim.token`.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (_, true) => prefix.to_owned(),
        (true, false) => key.to_owned(),
        (false, false) if key.starts_with('[') => format!("{prefix}{key}"),
        (false, false) => format!("{prefix}.{key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(toml_text: &str) -> Vec<(String, String)> {
        let merged = ::config::Config::builder()
            .add_source(File::from_str(toml_text, FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize::<::config::Map<String, Value>>())
            .expect("toml");
        let mut problems = Problems::default();
        split(merged, &mut problems);
        problems
            .errors
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect()
    }

    #[test]
    fn raw_errors_carry_key_paths_and_do_not_stop_other_entries() {
        let found = problems_of(
            r#"
            [server]
            listn = "x"
            [[connections]]
            id = "a"
            kind = "okta"
            [[connections]]
            id = "b"
            kind = "okta"
            jit = "maybe"
            [connections.scim]
            tokn_env = "X"
            [[mappings]]
            idp_group = "x"
            "#,
        );
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&"server.listn"), "{found:?}");
        assert!(paths.contains(&"mappings[0].connection"), "{found:?}");
        assert!(
            paths.iter().any(|p| p.starts_with("connections[1].")),
            "{found:?}"
        );
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let text = "version = 1\n[server\nlisten = 1\n";
        let err = toml::from_str::<toml::Table>(text).expect_err("syntax");
        let errors = syntax_error("f.toml", text, &err);
        assert!(errors.problems[0].path.starts_with("f.toml:2:"), "{errors}");
    }
}
