//! Where environment variables come from: the real process environment, or a map given by
//! a test. Both overrides (`IDP_SYNC__SECTION__KEY`) and secrets (`*_env` keys) are read
//! through [`Env`], so loading can be tested without touching the process environment.

use std::collections::BTreeMap;
use std::fmt;

/// The prefix of override variables (`IDP_SYNC__SERVER__LISTEN`). Variables with a single
/// underscore after `IDP_SYNC` are the operator's secrets, read only where a `*_env` key
/// names them.
pub const OVERRIDE_PREFIX: &str = "IDP_SYNC__";

/// An environment to read variables from.
#[derive(Clone, Default)]
pub struct Env {
    /// `None`: the process environment, read at each use (so a reload sees the current one).
    map: Option<BTreeMap<String, String>>,
}

impl Env {
    /// The real process environment.
    pub fn process() -> Self {
        Self { map: None }
    }

    /// A fixed set of variables (tests, tools); the process environment is not read.
    pub fn from_map<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            map: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The value of `name`; `None` when unset, empty, or not valid Unicode.
    pub fn var(&self, name: &str) -> Option<String> {
        let value = match &self.map {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.is_empty())
    }

    /// Every `IDP_SYNC__*` variable, sorted by name.
    pub fn overrides(&self) -> Vec<(String, String)> {
        let is_override = |k: &str| {
            k.len() > OVERRIDE_PREFIX.len()
                && k.get(..OVERRIDE_PREFIX.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(OVERRIDE_PREFIX))
        };
        let mut out: Vec<(String, String)> = match &self.map {
            Some(map) => map
                .iter()
                .filter(|(k, _)| is_override(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            None => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| is_override(k))
                .collect(),
        };
        out.sort();
        out
    }
}

/// Prints variable names only: an injected map may hold secrets.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.map {
            None => f.write_str("Env(process)"),
            Some(map) => f.debug_set().entries(map.keys()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_the_double_underscore_variables_only() {
        let env = Env::from_map([
            ("IDP_SYNC__SERVER__LISTEN", "0.0.0.0:9000"),
            ("IDP_SYNC_OKTA_SCIM_TOKEN", "secret"),
            ("IDP_SYNC__", "x"),
            ("PATH", "/bin"),
        ]);
        assert_eq!(
            env.overrides(),
            [(
                "IDP_SYNC__SERVER__LISTEN".to_owned(),
                "0.0.0.0:9000".to_owned()
            )]
        );
        assert_eq!(
            env.var("IDP_SYNC_OKTA_SCIM_TOKEN").as_deref(),
            Some("secret")
        );
        assert!(!format!("{env:?}").contains("secret\""));
    }
}
