//! Validation of what reaches outside: `[[admin_tokens]]`, `[[webhooks]]` and
//! `[[connectors]]`. An item whose secret variable is unset is left out with a warning.

use super::raw::{RawAdminToken, RawConnector, RawWebhook, StringList};
use super::secrets::TokenSet;
use super::validate::{Ctx, item_path, secret_sources, token_digests};
use super::{AdminToken, Connector, EventFilter, Webhook};
use crate::domain::{EventType, RoleName, Roles};
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn known_events() -> String {
    EventType::ALL.map(EventType::as_str).join(", ")
}

pub(crate) fn admin_tokens(
    ctx: &mut Ctx<'_>,
    raw: &[RawAdminToken],
    roles: &Roles,
) -> Vec<AdminToken> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let base = format!("admin_tokens[{i}]");
        if t.name.trim().is_empty() {
            ctx.error(format!("{base}.name"), "must not be empty");
        } else if let Some(first) = seen.insert(t.name.as_str(), i) {
            ctx.error(
                format!("{base}.name"),
                format!(
                    "duplicate admin token {:?} (also admin_tokens[{first}])",
                    t.name
                ),
            );
        }
        let role = RoleName::new(t.role.as_str());
        if roles.get(&role).is_none() && !ctx.failed.roles.contains(&t.role) {
            ctx.error(format!("{base}.role"), format!("unknown role {:?}", t.role));
        }
        let (digests, missing) = token_digests(
            ctx,
            &base,
            t.token_env.as_ref(),
            t.token_file.as_ref(),
            t.token_sha256.as_ref(),
        );
        if !missing.is_empty() {
            let names = missing.join(", ");
            if digests.is_empty() {
                ctx.warn(
                    &base,
                    format!("admin token {:?} is disabled: {names} is not set", t.name),
                );
            } else {
                ctx.warn(
                    &base,
                    format!("{names} is not set: only the other token is accepted"),
                );
            }
        }
        if !digests.is_empty() {
            out.push(AdminToken {
                name: t.name.clone(),
                role,
                tokens: TokenSet::new(digests),
            });
        }
    }
    out
}

/// Event types from a list: `*` alone (or anywhere) means all when `allow_all`.
fn events(
    ctx: &mut Ctx<'_>,
    base: &str,
    key: &str,
    list: &StringList,
    allow_all: bool,
) -> Option<EventFilter> {
    if list.is_empty() {
        ctx.error(format!("{base}.{key}"), "must name at least one event type");
        return None;
    }
    let mut set = BTreeSet::new();
    let mut all = false;
    let mut ok = true;
    for (j, name) in list.iter().enumerate() {
        if name == "*" && allow_all {
            all = true;
        } else if let Ok(event) = name.parse::<EventType>() {
            set.insert(event);
        } else {
            ok = false;
            let path = item_path(base, key, list, j);
            let star = if allow_all { "\"*\" or " } else { "" };
            ctx.error(
                path,
                format!(
                    "unknown event type {name:?} (expected {star}one of {})",
                    known_events()
                ),
            );
        }
    }
    ok.then_some(if all {
        EventFilter::All
    } else {
        EventFilter::Only(set)
    })
}

pub(crate) fn webhooks(ctx: &mut Ctx<'_>, raw: &[RawWebhook]) -> Vec<Webhook> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, w) in raw.iter().enumerate() {
        let base = format!("webhooks[{i}]");
        let url = ctx.http_url(&format!("{base}.url"), &w.url);
        let name = w.name.clone().unwrap_or_else(|| w.url.clone());
        if let Some(first) = seen.insert(name.clone(), i) {
            ctx.error(
                format!("{base}.name"),
                format!("duplicate webhook {name:?} (also webhooks[{first}]); give each a name"),
            );
        }
        let sources = secret_sources(
            &base,
            ("secret_env", w.secret_env.as_ref()),
            ("secret_file", w.secret_file.as_ref()),
        );
        if sources.is_empty() {
            ctx.error(
                &base,
                "needs secret_env or secret_file: webhooks are signed",
            );
        } else if sources.len() > 2 {
            ctx.error(
                &base,
                format!(
                    "at most two secrets (old and new, for rotation), found {}",
                    sources.len()
                ),
            );
        }
        let mut secrets: Vec<SecretString> = Vec::new();
        let mut missing = Vec::new();
        for (path, source) in &sources {
            match ctx.secret(path, source) {
                Ok(Some(s)) => secrets.push(s.into()),
                Ok(None) => missing.push(source.to_string()),
                Err(()) => {}
            }
        }
        if !missing.is_empty() {
            let what = missing.join(", ");
            if secrets.is_empty() {
                ctx.warn(
                    &base,
                    format!("webhook {name:?} is disabled: {what} is not set"),
                );
            } else {
                ctx.warn(
                    &base,
                    format!("{what} is not set: signing with the other secret only"),
                );
            }
        }
        let events = events(ctx, &base, "events", &StringList(w.events.clone()), true);
        if let (Some(url), Some(events), false) = (url, events, secrets.is_empty()) {
            out.push(Webhook {
                name,
                url,
                secrets,
                events,
            });
        }
    }
    out
}

pub(crate) fn connectors(ctx: &mut Ctx<'_>, raw: &[RawConnector]) -> Vec<Connector> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let base = format!("connectors[{i}]");
        if c.name.trim().is_empty() {
            ctx.error(format!("{base}.name"), "must not be empty");
        } else if let Some(first) = seen.insert(c.name.as_str(), i) {
            ctx.error(
                format!("{base}.name"),
                format!(
                    "duplicate connector {:?} (also connectors[{first}])",
                    c.name
                ),
            );
        }
        let on = match events(ctx, &base, "on", &c.on, false) {
            Some(EventFilter::Only(set)) => Some(set),
            _ => None,
        };
        let method = c.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            ctx.error(
                format!("{base}.method"),
                format!("{:?} is not one of {}", c.method, METHODS.join(", ")),
            );
        }
        // The URL is a template: check it with the placeholders filled in.
        let filled = fill_placeholders(&c.url);
        let url_ok = ctx.http_url(&format!("{base}.url"), &filled).is_some();
        for name in c.headers.keys() {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_".contains(ch))
            {
                ctx.error(
                    format!("{base}.headers"),
                    format!("{name:?} is not a valid header name"),
                );
            }
        }
        let listed: BTreeSet<&str> = c.env.iter().map(String::as_str).collect();
        let templates = std::iter::once(("url".to_owned(), c.url.as_str()))
            .chain(
                c.headers
                    .iter()
                    .map(|(k, v)| (format!("headers.{k}"), v.as_str())),
            )
            .chain(c.body.iter().map(|b| ("body".to_owned(), b.as_str())));
        let mut unlisted = Vec::new();
        for (key, text) in templates {
            for var in env_references(text) {
                if !listed.contains(var.as_str()) {
                    unlisted.push((format!("{base}.{key}"), var));
                }
            }
        }
        for (path, var) in unlisted {
            ctx.error(
                path,
                format!("the template reads env.{var}, which is not listed in `env`"),
            );
        }
        let mut env = BTreeMap::new();
        let mut missing = Vec::new();
        for (j, name) in c.env.iter().enumerate() {
            let path = format!("{base}.env[{j}]");
            if !ctx.env_name_ok(&path, name) {
                continue;
            }
            match ctx.secret(&path, &super::SecretSource::Env(name.clone())) {
                Ok(Some(v)) => {
                    env.insert(name.clone(), SecretString::from(v));
                }
                Ok(None) => missing.push(name.clone()),
                Err(()) => {}
            }
        }
        if !missing.is_empty() {
            ctx.warn(
                &base,
                format!(
                    "connector {:?} is disabled: {} is not set",
                    c.name,
                    missing.join(", ")
                ),
            );
            continue;
        }
        if let (Some(on), true) = (on, url_ok) {
            out.push(Connector {
                name: c.name.clone(),
                on,
                method,
                url: c.url.clone(),
                headers: c.headers.clone(),
                body: c.body.clone(),
                env,
            });
        }
    }
    out
}

/// Replaces each `{{ … }}` by `x` so the rest can be checked as a URL.
fn fill_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push('x');
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `NAME`s of `{{ env.NAME }}` placeholders in a template.
fn env_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        if let Some(name) = inner.strip_prefix("env.") {
            out.push(name.trim().to_owned());
        }
        rest = &after[end + 2..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_scanned_for_env_references() {
        assert_eq!(
            env_references("Bearer {{ env.APP_API_TOKEN }} {{user.email}}"),
            ["APP_API_TOKEN"]
        );
        assert_eq!(
            fill_placeholders("https://app/{{ user.id }}/x"),
            "https://app/x/x"
        );
    }
}
