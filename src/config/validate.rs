//! Validation: raw config → [`Config`]. Every check records a problem with its key path and
//! moves on, so one run reports every mistake; nothing here panics or stops early.
//!
//! This file holds the shared context (file reads and secrets feed the fingerprint), roles,
//! organizations and mappings; the plain sections are checked in `validate_sections`,
//! connections in `validate_conn`, admin tokens, webhooks and connectors in `validate_out`.

use super::env::{Env, OVERRIDE_PREFIX};
use super::error::{ConfigErrors, Problems};
use super::raw::*;
use super::secrets::{SecretSource, TokenDigest, trim_secret_file};
use super::{Config, Fingerprint, validate_conn, validate_out, validate_sections};
use crate::domain::{
    ConnectionPolicy, IdpGroupMatcher, Mapping, OrgPattern, OrgSlug, Organization, Organizations,
    Policy, Role, RoleName, Roles,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use url::Url;

/// Names of entries that failed to deserialize: references to them are not reported again.
#[derive(Debug, Default)]
pub(crate) struct Failed {
    pub roles: BTreeSet<String>,
    pub organizations: BTreeSet<String>,
    pub connections: BTreeSet<String>,
}

/// What validation carries along: the environment, the problems found, and the hash of
/// every input read (the fingerprint).
pub(crate) struct Ctx<'a> {
    env: &'a Env,
    pub p: Problems,
    inputs: Sha256,
    pub failed: Failed,
}

impl Ctx<'_> {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.p.error(path, message);
    }

    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.p.warn(path, message);
    }

    /// Reads a file named by the config (relative to the working directory) and adds its
    /// digest to the fingerprint.
    pub fn read_file(&mut self, path: &str) -> Result<Vec<u8>, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        self.inputs.update(format!("\0file {path} ").as_bytes());
        self.inputs.update(Sha256::digest(&bytes));
        Ok(bytes)
    }

    pub fn read_text_file(&mut self, path: &str) -> Result<String, String> {
        String::from_utf8(self.read_file(path)?).map_err(|_| format!("{path} is not UTF-8 text"))
    }

    /// Checks the name a `*_env` key gives.
    pub fn env_name_ok(&mut self, path: &str, name: &str) -> bool {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.error(
                path,
                format!("{name:?} is not a valid environment variable name"),
            );
            return false;
        }
        if name.to_ascii_uppercase().starts_with(OVERRIDE_PREFIX) {
            self.error(
                path,
                format!("{name} starts with {OVERRIDE_PREFIX}, which is for overrides; name secrets IDP_SYNC_… (one underscore)"),
            );
            return false;
        }
        true
    }

    /// A secret's value: `Ok(None)` when its variable is unset (the caller decides what
    /// that disables), `Err` after recording a problem (unreadable or empty file).
    pub fn secret(&mut self, path: &str, source: &SecretSource) -> Result<Option<String>, ()> {
        let value = match source {
            SecretSource::Env(name) => {
                if !self.env_name_ok(path, name) {
                    return Err(());
                }
                match self.env.var(name) {
                    Some(v) => v,
                    None => return Ok(None),
                }
            }
            SecretSource::File(file) => match self.read_text_file(file) {
                Ok(text) => trim_secret_file(text),
                Err(e) => {
                    self.error(path, e);
                    return Err(());
                }
            },
        };
        if value.is_empty() {
            self.error(path, format!("the {source} is empty"));
            return Err(());
        }
        self.inputs.update(format!("\0secret {path} ").as_bytes());
        self.inputs.update(Sha256::digest(value.as_bytes()));
        Ok(Some(value))
    }

    pub fn duration(&mut self, path: &str, text: &str) -> Option<Duration> {
        match humantime::parse_duration(text.trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(path, format!("invalid duration {text:?} ({e}); write e.g. \"90s\", \"2m\", \"24h\", \"14d\""));
                None
            }
        }
    }

    pub fn http_url(&mut self, path: &str, text: &str) -> Option<Url> {
        match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                Some(url)
            }
            Ok(url) => {
                self.error(
                    path,
                    format!(
                        "must be an http:// or https:// URL, not {}://",
                        url.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                self.error(path, format!("invalid URL {text:?} ({e})"));
                None
            }
        }
    }
}

/// `key` when the list had one value, `key[i]` otherwise.
pub(crate) fn item_path(base: &str, key: &str, list: &StringList, i: usize) -> String {
    if list.len() == 1 {
        format!("{base}.{key}")
    } else {
        format!("{base}.{key}[{i}]")
    }
}

/// The secret sources named by a `*_env` and a `*_file` key, with their key paths.
pub(crate) fn secret_sources(
    base: &str,
    env: (&str, Option<&StringList>),
    file: (&str, Option<&StringList>),
) -> Vec<(String, SecretSource)> {
    let mut out = Vec::new();
    if let (key, Some(list)) = env {
        for (i, name) in list.iter().enumerate() {
            out.push((
                item_path(base, key, list, i),
                SecretSource::Env(name.clone()),
            ));
        }
    }
    if let (key, Some(list)) = file {
        for (i, name) in list.iter().enumerate() {
            out.push((
                item_path(base, key, list, i),
                SecretSource::File(name.clone()),
            ));
        }
    }
    out
}

/// Token digests from `token_env`, `token_file` and `token_sha256` (at most two in all).
/// Returns the available digests and the variables that were unset.
pub(crate) fn token_digests(
    ctx: &mut Ctx<'_>,
    base: &str,
    env: Option<&StringList>,
    file: Option<&StringList>,
    sha: Option<&StringList>,
) -> (Vec<TokenDigest>, Vec<String>) {
    let sources = secret_sources(base, ("token_env", env), ("token_file", file));
    let total = sources.len() + sha.map_or(0, StringList::len);
    if total == 0 {
        ctx.error(base, "needs token_env, token_file or token_sha256");
    } else if total > 2 {
        ctx.error(
            base,
            format!("at most two tokens (old and new, for rotation), found {total}"),
        );
    }
    let mut digests = Vec::new();
    let mut missing = Vec::new();
    for (path, source) in sources {
        match ctx.secret(&path, &source) {
            Ok(Some(token)) => digests.push(TokenDigest::of(&token)),
            Ok(None) => missing.push(match source {
                SecretSource::Env(name) | SecretSource::File(name) => name,
            }),
            Err(()) => {}
        }
    }
    if let Some(list) = sha {
        for (i, text) in list.iter().enumerate() {
            match TokenDigest::from_hex(text) {
                Some(d) => digests.push(d),
                None => ctx.error(
                    item_path(base, "token_sha256", list, i),
                    "must be a SHA-256 digest: 64 hexadecimal digits",
                ),
            }
        }
    }
    (digests, missing)
}

pub(crate) fn validate(
    path: &Path,
    raw: RawConfig,
    failed: Failed,
    env: &Env,
    inputs: Sha256,
    problems: Problems,
) -> Result<Config, ConfigErrors> {
    let mut ctx = Ctx {
        env,
        p: problems,
        inputs,
        failed,
    };
    match raw.version {
        Some(1) => {}
        Some(v) => ctx.error(
            "version",
            format!("unsupported config version {v}; this idp-sync reads version 1"),
        ),
        None if ctx.p.errors.iter().any(|e| e.path == "version") => {}
        None => ctx.error("version", "missing: the file must start with `version = 1`"),
    }
    let server = validate_sections::server(&mut ctx, raw.server);
    let database = validate_sections::database(&mut ctx, raw.database);
    let (email, invitation_ttl) = validate_sections::email(&mut ctx, raw.email);
    let (removal, break_glass) = validate_sections::removal(&mut ctx, raw.removal);
    let delivery = validate_sections::delivery(&mut ctx, raw.delivery.unwrap_or_default());
    let sessions = validate_sections::sessions(&mut ctx, raw.sessions.unwrap_or_default());
    let roles = roles(&mut ctx, raw.roles);
    let organizations = organizations(&mut ctx, &raw.organizations);
    let (policies, connections) =
        validate_conn::connections(&mut ctx, &raw.connections, &roles, &organizations);
    let mappings = mappings(&mut ctx, &raw.mappings, &roles, &organizations, &policies);
    let admin_tokens = validate_out::admin_tokens(&mut ctx, &raw.admin_tokens, &roles);
    let webhooks = validate_out::webhooks(&mut ctx, &raw.webhooks);
    let connectors = validate_out::connectors(&mut ctx, &raw.connectors);

    let Ctx { p, inputs, .. } = ctx;
    if !p.errors.is_empty() {
        return Err(ConfigErrors { problems: p.errors });
    }
    let (
        Some(server),
        Some(database),
        Some(invitation_ttl),
        Some(removal),
        Some(delivery),
        Some(sessions),
    ) = (
        server,
        database,
        invitation_ttl,
        removal,
        delivery,
        sessions,
    )
    else {
        return Err(ConfigErrors::single(
            "",
            "internal: a section failed without a reported problem",
        ));
    };
    Ok(Config {
        source: path.to_path_buf(),
        fingerprint: Fingerprint(inputs.finalize().into()),
        server,
        database,
        email,
        invitation_ttl,
        removal,
        delivery,
        sessions,
        policy: Policy {
            roles,
            organizations,
            connections: policies,
            mappings,
            break_glass,
        },
        connections,
        admin_tokens,
        webhooks,
        connectors,
        warnings: p.warnings,
    })
}

fn roles(ctx: &mut Ctx<'_>, raw: Option<Vec<RawRole>>) -> Roles {
    let Some(raw) = raw else {
        return Roles::application_default();
    };
    if raw.is_empty() && ctx.failed.roles.is_empty() {
        ctx.error(
            "roles",
            "at least one role is required (or leave [[roles]] out for the default roles)",
        );
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let name = r.name.trim();
        if name.is_empty() {
            ctx.error(format!("roles[{i}].name"), "must not be empty");
            continue;
        }
        if let Some(first) = seen.insert(name.to_owned(), i) {
            ctx.error(
                format!("roles[{i}].name"),
                format!("duplicate role {name:?} (also roles[{first}])"),
            );
            continue;
        }
        if r.max_organizations == Some(0) {
            ctx.error(
                format!("roles[{i}].max_organizations"),
                "must be at least 1 (leave it out for no limit)",
            );
        }
        out.push(Role {
            name: RoleName::new(name),
            max_organizations: r.max_organizations,
            counts_toward_seats: r.counts_toward_seats,
        });
    }
    Roles::new(out)
}

fn organizations(ctx: &mut Ctx<'_>, raw: &[RawOrganization]) -> Organizations {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut list = Vec::new();
    for (i, o) in raw.iter().enumerate() {
        let slug = o.slug.as_str();
        let bad_char = |c: char| c.is_whitespace() || "*?[]{}/,\\".contains(c);
        if slug.is_empty() || slug.contains(bad_char) {
            ctx.error(
                format!("organizations[{i}].slug"),
                format!("{slug:?} is not a valid slug (no spaces, glob characters or slashes)"),
            );
            continue;
        }
        if let Some(first) = seen.insert(slug, i) {
            ctx.error(
                format!("organizations[{i}].slug"),
                format!("duplicate organization {slug:?} (also organizations[{first}])"),
            );
            continue;
        }
        if o.name.trim().is_empty() {
            ctx.error(format!("organizations[{i}].name"), "must not be empty");
        }
        list.push((
            i,
            Organization {
                slug: OrgSlug::new(slug),
                name: o.name.clone(),
                parent: o.parent.clone().map(OrgSlug::new),
            },
        ));
    }
    for (i, org) in &list {
        if let Some(parent) = &org.parent
            && !seen.contains_key(parent.as_str())
            && !ctx.failed.organizations.contains(parent.as_str())
        {
            ctx.error(
                format!("organizations[{i}].parent"),
                format!("unknown organization {:?}", parent.as_str()),
            );
        }
    }
    // Cycles: report each once, at its member that comes first in the file.
    let parent_of: BTreeMap<&str, &str> = list
        .iter()
        .filter_map(|(_, o)| Some((o.slug.as_str(), o.parent.as_ref()?.as_str())))
        .collect();
    let mut reported: BTreeSet<&str> = BTreeSet::new();
    for (i, org) in &list {
        let start = org.slug.as_str();
        if reported.contains(start) {
            continue;
        }
        let mut chain = vec![start];
        let mut current = parent_of.get(start).copied();
        while let Some(next) = current {
            if next == start {
                chain.push(next);
                reported.extend(chain.iter().copied());
                ctx.error(
                    format!("organizations[{i}].parent"),
                    format!("parent links form a cycle: {}", chain.join(" -> ")),
                );
                break;
            }
            if chain.contains(&next) {
                break; // a cycle further up, reported from its own member
            }
            chain.push(next);
            current = parent_of.get(next).copied();
        }
    }
    Organizations::new(list.into_iter().map(|(_, o)| o).collect())
}

/// Parses an organization selector and checks a plain slug names a known organization.
pub(crate) fn org_pattern(
    ctx: &mut Ctx<'_>,
    path: &str,
    text: &str,
    orgs: &Organizations,
) -> Option<OrgPattern> {
    match OrgPattern::parse(text.trim()) {
        Err(e) => {
            ctx.error(path, format!("invalid glob {text:?}: {}", e.kind()));
            None
        }
        Ok(OrgPattern::Slug(slug)) if !orgs.contains(&slug) => {
            if !ctx.failed.organizations.contains(slug.as_str()) {
                ctx.error(path, format!("unknown organization {:?}", slug.as_str()));
            }
            None
        }
        Ok(p) => Some(p),
    }
}

fn mappings(
    ctx: &mut Ctx<'_>,
    raw: &[RawMapping],
    roles: &Roles,
    orgs: &Organizations,
    connections: &[ConnectionPolicy],
) -> Vec<Mapping> {
    let mut out = Vec::new();
    for (i, m) in raw.iter().enumerate() {
        let base = format!("mappings[{i}]");
        let connection = connections.iter().find(|c| c.id.as_str() == m.connection);
        if connection.is_none() && !ctx.failed.connections.contains(&m.connection) {
            ctx.error(
                format!("{base}.connection"),
                format!("unknown connection {:?}", m.connection),
            );
        }
        let idp_group = match (&m.idp_group, &m.idp_group_id) {
            (Some(_), Some(_)) => {
                ctx.error(&base, "set idp_group or idp_group_id, not both");
                None
            }
            (None, None) => {
                ctx.error(
                    &base,
                    "needs idp_group (the group's display name) or idp_group_id (its immutable id)",
                );
                None
            }
            (Some(name), None) if name.trim().is_empty() => {
                ctx.error(format!("{base}.idp_group"), "must not be empty");
                None
            }
            (Some(name), None) => IdpGroupMatcher::name(name)
                .map_err(|e| {
                    ctx.error(
                        format!("{base}.idp_group"),
                        format!("invalid glob {name:?}: {}", e.kind()),
                    )
                })
                .ok(),
            (None, Some(id)) if id.trim().is_empty() => {
                ctx.error(format!("{base}.idp_group_id"), "must not be empty");
                None
            }
            (None, Some(id)) => Some(IdpGroupMatcher::id(id)),
        };
        let role = m.role.as_deref().map(RoleName::new);
        let role_def = role.as_ref().and_then(|r| roles.get(r));
        if let Some(r) = &role
            && role_def.is_none()
            && !ctx.failed.roles.contains(r.as_str())
        {
            ctx.error(
                format!("{base}.role"),
                format!("unknown role {:?}", r.as_str()),
            );
        }
        let mut organizations = Vec::new();
        for (j, text) in m.organizations.iter().enumerate() {
            let path = format!("{base}.organizations[{j}]");
            let Some(pattern) = org_pattern(ctx, &path, text, orgs) else {
                continue;
            };
            if let (OrgPattern::Slug(slug), Some(c)) = (&pattern, connection)
                && !c.in_scope(slug)
            {
                let scope: Vec<String> = c.scope.iter().map(ToString::to_string).collect();
                ctx.error(
                    &path,
                    format!(
                        "organization {:?} is outside the scope of connection {:?} (scope: {})",
                        slug.as_str(),
                        c.id.as_str(),
                        scope.join(", ")
                    ),
                );
            }
            if let (true, Some(limit)) =
                (pattern.is_all(), role_def.and_then(|r| r.max_organizations))
            {
                ctx.error(&path, format!(
                    "\"*\" grants every organization, but role {:?} allows at most {limit}; list the organizations",
                    m.role.as_deref().unwrap_or_default()
                ));
            }
            organizations.push(pattern);
        }
        for (key, list) in [
            ("groups", &m.groups),
            ("permissions", &m.permissions),
            ("allow_asset_types", &m.allow_asset_types),
        ] {
            for (j, v) in list.iter().enumerate() {
                if v.trim().is_empty() {
                    ctx.error(format!("{base}.{key}[{j}]"), "must not be empty");
                }
            }
        }
        if let Some(idp_group) = idp_group {
            out.push(Mapping {
                index: i,
                connection: m.connection.as_str().into(),
                idp_group,
                groups: m.groups.clone(),
                role,
                organizations,
                include_suborganizations: m.include_suborganizations,
                permissions: m.permissions.clone(),
                allow_asset_types: m.allow_asset_types.clone(),
            });
        }
    }
    out
}
