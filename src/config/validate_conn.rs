//! Validation of `[[connections]]`: identity, kind, scope and role cap (the policy part),
//! and the protocol sections — SCIM tokens, SAML IdP trust (an IdP without a signing
//! certificate is refused), OIDC client settings.

use super::raw::{RawConnection, RawOidc, RawSaml, RawScim};
use super::secrets::{SecretSource, TokenSet};
use super::validate::{Ctx, org_pattern, token_digests};
use super::{
    Connection, ConnectionKind, Oidc, Saml, SamlAttributes, SamlIdp, Scim, TokenAuthMethod,
};
use crate::domain::{ConnectionId, ConnectionPolicy, OrgPattern, Organizations, RoleName, Roles};
use crate::sso::saml::metadata::{
    certificates_from_pem_or_der, check_sp_key_pair, parse_idp_metadata,
};
use std::collections::BTreeMap;

pub(crate) fn connections(
    ctx: &mut Ctx<'_>,
    raw: &[RawConnection],
    roles: &Roles,
    orgs: &Organizations,
) -> (Vec<ConnectionPolicy>, Vec<Connection>) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut policies = Vec::new();
    let mut connections = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let base = format!("connections[{i}]");
        let id = c.id.as_str();
        let mut ok = true;
        if id.is_empty()
            || !id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            ctx.error(
                format!("{base}.id"),
                format!("{id:?} is not a valid id (letters, digits, - and _; it appears in URLs)"),
            );
            ok = false;
        } else if id == ConnectionId::manual().as_str() {
            ctx.error(
                format!("{base}.id"),
                "\"manual\" is reserved for users invited through the admin API",
            );
            ok = false;
        } else if let Some(first) = seen.insert(id, i) {
            ctx.error(
                format!("{base}.id"),
                format!("duplicate connection id {id:?} (also connections[{first}])"),
            );
            ok = false;
        }
        let kind = ConnectionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == c.kind);
        if kind.is_none() {
            ctx.error(
                format!("{base}.kind"),
                format!(
                    "{:?} is not a kind; use okta, entra, jumpcloud, google or generic",
                    c.kind
                ),
            );
        }
        if c.scope.is_empty() {
            ctx.error(
                format!("{base}.scope"),
                "must name at least one organization, glob or \"*\"",
            );
        }
        let mut scope = Vec::new();
        let mut scope_ok = true;
        for (j, text) in c.scope.iter().enumerate() {
            match org_pattern(ctx, &format!("{base}.scope[{j}]"), text, orgs) {
                Some(p) => scope.push(p),
                None => scope_ok = false,
            }
        }
        if !scope_ok {
            // Already reported; an open scope keeps mappings from being blamed for it.
            scope = vec![OrgPattern::All];
        }
        let max_role = match &c.max_role {
            Some(name) if roles.get(&RoleName::new(name.as_str())).is_some() => {
                Some(RoleName::new(name.as_str()))
            }
            Some(name) => {
                if !ctx.failed.roles.contains(name) {
                    ctx.error(format!("{base}.max_role"), format!("unknown role {name:?}"));
                }
                None
            }
            None => None,
        };
        // A connection with other mistakes still counts as known, so its mappings are not
        // reported as naming an unknown connection.
        let max_role = max_role.or_else(|| roles.top().map(|r| r.name.clone()));
        if c.scim.is_none() && c.saml.is_none() && c.oidc.is_none() {
            ctx.error(
                &base,
                "needs at least one of [connections.scim], [connections.saml], [connections.oidc]",
            );
        }
        if c.jit && c.saml.is_none() && c.oidc.is_none() {
            ctx.error(
                format!("{base}.jit"),
                "just-in-time creation needs [connections.saml] or [connections.oidc]",
            );
        }
        let kind = kind.unwrap_or(ConnectionKind::Generic);
        let scim = c
            .scim
            .as_ref()
            .and_then(|s| scim(ctx, &format!("{base}.scim"), s));
        let saml = c
            .saml
            .as_ref()
            .and_then(|s| saml(ctx, &format!("{base}.saml"), s, kind));
        let oidc = c
            .oidc
            .as_ref()
            .and_then(|o| oidc(ctx, &format!("{base}.oidc"), o));
        if !ok || max_role.is_none() {
            ctx.failed.connections.insert(id.to_owned());
        }
        if let (true, Some(max_role)) = (ok, max_role) {
            policies.push(ConnectionPolicy {
                id: id.into(),
                scope,
                max_role,
            });
            connections.push(Connection {
                id: id.into(),
                kind,
                jit: c.jit,
                adopt_manual_invitations: c.adopt_manual_invitations,
                scim,
                saml,
                oidc,
            });
        }
    }
    (policies, connections)
}

fn scim(ctx: &mut Ctx<'_>, base: &str, raw: &RawScim) -> Option<Scim> {
    let (digests, missing) = token_digests(
        ctx,
        base,
        raw.token_env.as_ref(),
        raw.token_file.as_ref(),
        raw.token_sha256.as_ref(),
    );
    if raw.rate_limit_per_second == Some(0) {
        ctx.error(
            format!("{base}.rate_limit_per_second"),
            "must be at least 1 (leave it out for no limit)",
        );
    }
    if !missing.is_empty() {
        let names = missing.join(", ");
        if digests.is_empty() {
            ctx.warn(
                base,
                format!("SCIM is disabled for this connection: {names} is not set"),
            );
        } else {
            ctx.warn(
                base,
                format!("{names} is not set: only the other token is accepted"),
            );
        }
    }
    (!digests.is_empty()).then(|| Scim {
        tokens: TokenSet::new(digests),
        rate_limit_per_second: raw.rate_limit_per_second,
    })
}

fn saml(ctx: &mut Ctx<'_>, base: &str, raw: &RawSaml, kind: ConnectionKind) -> Option<Saml> {
    let explicit = raw.idp_entity_id.is_some()
        || raw.idp_sso_url.is_some()
        || raw.idp_certificate_files.is_some();
    let idp = match (&raw.idp_metadata_file, explicit) {
        (Some(_), true) => {
            ctx.error(base, "set idp_metadata_file, or idp_entity_id + idp_sso_url + idp_certificate_files, not both");
            None
        }
        (Some(file), false) => idp_from_metadata(ctx, &format!("{base}.idp_metadata_file"), file),
        (None, true) => idp_from_keys(ctx, base, raw),
        (None, false) => {
            ctx.error(
                base,
                "needs idp_metadata_file, or idp_entity_id + idp_sso_url + idp_certificate_files",
            );
            None
        }
    };
    let sp_key_pem = match (&raw.sp_key_file, &raw.sp_cert_file) {
        (Some(key), Some(cert)) => {
            let key_path = format!("{base}.sp_key_file");
            let key = match ctx.secret(&key_path, &SecretSource::File(key.clone())) {
                Ok(Some(pem)) if pem.contains("PRIVATE KEY-----") => Some(pem),
                Ok(_) => {
                    ctx.error(&key_path, "is not a PEM private key");
                    None
                }
                Err(()) => None,
            };
            let cert_path = format!("{base}.sp_cert_file");
            let cert = match ctx.read_file(cert) {
                Ok(bytes) => match certificates_from_pem_or_der(&bytes) {
                    Ok(_) => String::from_utf8(bytes).ok(),
                    Err(e) => {
                        ctx.error(&cert_path, e.to_string());
                        None
                    }
                },
                Err(e) => {
                    ctx.error(&cert_path, e);
                    None
                }
            };
            let pair = key.zip(cert);
            if let Some((key, cert)) = &pair
                && let Err(e) = check_sp_key_pair(key, cert)
            {
                ctx.error(&key_path, e);
                return None;
            }
            pair
        }
        (None, None) => None,
        _ => {
            ctx.error(base, "sp_key_file and sp_cert_file go together");
            None
        }
    };
    let clock_skew = ctx.duration(&format!("{base}.clock_skew"), &raw.clock_skew);
    let attributes = saml_attributes(kind, raw);
    let (sp_key_pem, sp_cert_pem) = match sp_key_pem {
        Some((k, c)) => (Some(k.into()), Some(c)),
        None => (None, None),
    };
    Some(Saml {
        idp: idp?,
        attributes,
        allow_idp_initiated: raw.allow_idp_initiated,
        sp_key_pem,
        sp_cert_pem,
        allow_sha1: raw.allow_sha1,
        clock_skew: clock_skew?,
    })
}

fn idp_from_metadata(ctx: &mut Ctx<'_>, path: &str, file: &str) -> Option<SamlIdp> {
    let xml = ctx
        .read_text_file(file)
        .map_err(|e| ctx.error(path, e))
        .ok()?;
    let meta = parse_idp_metadata(&xml)
        .map_err(|e| ctx.error(path, format!("{file}: {e}")))
        .ok()?;
    let Some(entity_id) = meta.entity_id.filter(|e| !e.is_empty()) else {
        ctx.error(path, format!("{file}: the metadata has no entityID"));
        return None;
    };
    let Some(sso_url) = meta.sso_redirect_url.or(meta.sso_post_url) else {
        ctx.error(
            path,
            format!("{file}: the metadata has no SingleSignOnService"),
        );
        return None;
    };
    Some(SamlIdp {
        entity_id,
        sso_url,
        certificates: meta.signing_certificates,
        metadata_xml: Some(xml),
    })
}

fn idp_from_keys(ctx: &mut Ctx<'_>, base: &str, raw: &RawSaml) -> Option<SamlIdp> {
    let entity_id = raw.idp_entity_id.clone().filter(|e| !e.trim().is_empty());
    if entity_id.is_none() {
        ctx.error(
            format!("{base}.idp_entity_id"),
            "missing: the IdP's entity id (or use idp_metadata_file)",
        );
    }
    let sso_url = match &raw.idp_sso_url {
        Some(u) => ctx
            .http_url(&format!("{base}.idp_sso_url"), u)
            .map(|u| u.to_string()),
        None => {
            ctx.error(
                format!("{base}.idp_sso_url"),
                "missing: the IdP's single-sign-on URL (or use idp_metadata_file)",
            );
            None
        }
    };
    let mut certificates = Vec::new();
    let files = raw.idp_certificate_files.clone().unwrap_or_default();
    if files.is_empty() {
        ctx.error(
            format!("{base}.idp_certificate_files"),
            "an IdP with no signing certificate cannot be trusted: list its certificate file(s)",
        );
    }
    for (i, file) in files.iter().enumerate() {
        let path = format!("{base}.idp_certificate_files[{i}]");
        match ctx.read_file(file) {
            Ok(bytes) => match certificates_from_pem_or_der(&bytes) {
                Ok(certs) => certificates.extend(certs),
                Err(e) => ctx.error(&path, format!("{file}: {e}")),
            },
            Err(e) => ctx.error(&path, e),
        }
    }
    if certificates.is_empty() {
        return None;
    }
    Some(SamlIdp {
        entity_id: entity_id?,
        sso_url: sso_url?,
        certificates,
        metadata_xml: None,
    })
}

/// DESIGN §10 presets by kind, each overridable.
fn saml_attributes(kind: ConnectionKind, raw: &RawSaml) -> SamlAttributes {
    const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";
    let (email, first, last, groups, immutable): (
        Vec<String>,
        String,
        String,
        String,
        Option<String>,
    ) = match kind {
        ConnectionKind::Entra => (
            vec![format!("{CLAIMS}/emailaddress"), format!("{CLAIMS}/name")],
            format!("{CLAIMS}/givenname"),
            format!("{CLAIMS}/surname"),
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups".to_owned(),
            Some("http://schemas.microsoft.com/identity/claims/objectidentifier".to_owned()),
        ),
        ConnectionKind::Jumpcloud => (
            vec!["email".into()],
            "firstname".into(),
            "lastname".into(),
            "memberOf".into(),
            None,
        ),
        ConnectionKind::Okta | ConnectionKind::Google | ConnectionKind::Generic => (
            vec!["email".into()],
            "firstName".into(),
            "lastName".into(),
            "groups".into(),
            None,
        ),
    };
    SamlAttributes {
        email: raw.email_attribute.clone().map_or(email, |e| vec![e]),
        first_name: raw.first_name_attribute.clone().unwrap_or(first),
        last_name: raw.last_name_attribute.clone().unwrap_or(last),
        groups: raw.groups_attribute.clone().unwrap_or(groups),
        immutable_id: immutable,
    }
}

fn oidc(ctx: &mut Ctx<'_>, base: &str, raw: &RawOidc) -> Option<Oidc> {
    let issuer = ctx.http_url(&format!("{base}.issuer"), &raw.issuer);
    if raw.client_id.trim().is_empty() {
        ctx.error(format!("{base}.client_id"), "must not be empty");
    }
    let source = match (&raw.client_secret_env, &raw.client_secret_file) {
        (Some(name), None) => Some((
            format!("{base}.client_secret_env"),
            SecretSource::Env(name.clone()),
        )),
        (None, Some(file)) => Some((
            format!("{base}.client_secret_file"),
            SecretSource::File(file.clone()),
        )),
        (Some(_), Some(_)) => {
            ctx.error(
                base,
                "set client_secret_env or client_secret_file, not both",
            );
            None
        }
        (None, None) => {
            ctx.error(base, "needs client_secret_env or client_secret_file");
            None
        }
    };
    let secret = match &source {
        Some((path, source)) => match ctx.secret(path, source) {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                ctx.warn(
                    path.as_str(),
                    format!(
                        "OIDC sign-in is disabled for this connection: {} is not set",
                        source_name(source)
                    ),
                );
                None
            }
            Err(()) => None,
        },
        None => None,
    };
    if !raw.scopes.iter().any(|s| s == "openid") {
        ctx.error(format!("{base}.scopes"), "must include \"openid\"");
    }
    let token_auth_method = match raw.token_auth_method.as_deref() {
        None | Some("client_secret_basic") => Some(TokenAuthMethod::ClientSecretBasic),
        Some("client_secret_post") => Some(TokenAuthMethod::ClientSecretPost),
        Some(other) => {
            ctx.error(
                format!("{base}.token_auth_method"),
                format!(
                    "{other:?} is not supported; use client_secret_basic or client_secret_post"
                ),
            );
            None
        }
    };
    let mut endpoint = |key: &str, value: &Option<String>| -> Option<Option<url::Url>> {
        match value {
            None => Some(None),
            Some(text) => ctx.http_url(&format!("{base}.{key}"), text).map(Some),
        }
    };
    let authorization_endpoint = endpoint("authorization_endpoint", &raw.authorization_endpoint);
    let token_endpoint = endpoint("token_endpoint", &raw.token_endpoint);
    let jwks_uri = endpoint("jwks_uri", &raw.jwks_uri);
    let userinfo_endpoint = endpoint("userinfo_endpoint", &raw.userinfo_endpoint);
    Some(Oidc {
        issuer: issuer?,
        client_id: raw.client_id.clone(),
        client_secret: secret?.into(),
        groups_claim: raw
            .groups_claim
            .clone()
            .unwrap_or_else(|| "groups".to_owned()),
        scopes: raw.scopes.clone(),
        token_auth_method: token_auth_method?,
        authorization_endpoint: authorization_endpoint?,
        token_endpoint: token_endpoint?,
        jwks_uri: jwks_uri?,
        userinfo_endpoint: userinfo_endpoint?,
    })
}

fn source_name(source: &SecretSource) -> &str {
    match source {
        SecretSource::Env(name) | SecretSource::File(name) => name,
    }
}
