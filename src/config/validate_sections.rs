//! Validation of the plain sections: `[server]`, `[database]`, `[email]`, `[removal]`,
//! `[delivery]`.

use super::raw::*;
use super::secrets::SecretSource;
use super::validate::Ctx;
use super::{
    Database, DatabaseUrl, Delivery, Email, PublicUrl, Removal, RemovalMode, Server, Sessions,
};
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use url::Url;

pub(crate) fn server(ctx: &mut Ctx<'_>, raw: Option<RawServer>) -> Option<Server> {
    let Some(raw) = raw else {
        ctx.error(
            "server.public_url",
            "missing: [server] needs public_url (links in emails, SAML and OIDC addresses)",
        );
        return None;
    };
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = match listen_text.trim().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.error("server.listen", format!("{listen_text:?} is not a socket address (IP:port, e.g. 127.0.0.1:8080 or [::]:8080)"));
            None
        }
    };
    let public_url = match raw.public_url.as_deref() {
        None => {
            ctx.error(
                "server.public_url",
                "missing: the URL people and IdPs reach idp-sync at, e.g. https://sso.example.com",
            );
            None
        }
        Some(text) => PublicUrl::parse(text)
            .map_err(|e| ctx.error("server.public_url", e))
            .ok(),
    };
    let mut trusted_proxies = Vec::new();
    for (i, text) in raw.trusted_proxies.iter().enumerate() {
        let parsed = text
            .trim()
            .parse::<IpNet>()
            .or_else(|_| text.trim().parse::<IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => trusted_proxies.push(net),
            Err(_) => ctx.error(
                format!("server.trusted_proxies[{i}]"),
                format!("{text:?} is not an IP address or CIDR range"),
            ),
        }
    }
    if raw.max_body_bytes == 0 {
        ctx.error("server.max_body_bytes", "must be greater than 0");
    }
    Some(Server {
        listen: listen?,
        public_url: public_url?,
        trusted_proxies,
        max_body_bytes: raw.max_body_bytes,
    })
}

pub(crate) fn database(ctx: &mut Ctx<'_>, raw: Option<RawDatabase>) -> Option<Database> {
    let (url, max_connections) = match raw {
        Some(r) => (r.url, r.max_connections),
        None => (DEFAULT_DATABASE_URL.to_owned(), None),
    };
    let ok = url.starts_with("sqlite:") && url.len() > "sqlite:".len()
        || ((url.starts_with("postgres://") || url.starts_with("postgresql://"))
            && Url::parse(&url).is_ok());
    if !ok {
        ctx.error(
            "database.url",
            "must be sqlite://PATH (relative or sqlite:///absolute) or postgres://user@host/db",
        );
    }
    if max_connections == Some(0) {
        ctx.error("database.max_connections", "must be greater than 0");
    }
    ok.then(|| Database {
        url: DatabaseUrl::new(url),
        max_connections,
    })
}

pub(crate) fn email(ctx: &mut Ctx<'_>, raw: Option<RawEmail>) -> (Option<Email>, Option<Duration>) {
    let Some(raw) = raw else {
        ctx.warn(
            "email",
            "no [email] section: invitations are created but no email is sent",
        );
        return (None, humantime::parse_duration(DEFAULT_INVITATION_TTL).ok());
    };
    let ttl = ctx.duration("email.invitation_ttl", &raw.invitation_ttl);
    let smtp_url = match raw.smtp_url.as_deref() {
        None => {
            ctx.error(
                "email.smtp_url",
                "missing: e.g. smtp://127.0.0.1:2525 or smtps://smtp.example.com",
            );
            None
        }
        Some(text) => match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "smtp" | "smtps") && url.host_str().is_some() => {
                let tls = url
                    .query_pairs()
                    .find(|(k, _)| k == "tls")
                    .map(|(_, v)| v.into_owned());
                match tls.as_deref() {
                    None | Some("required" | "none") => Some(url),
                    Some(other) => {
                        ctx.error(
                            "email.smtp_url",
                            format!("tls={other} is not known; use tls=required or tls=none"),
                        );
                        None
                    }
                }
            }
            Ok(_) => {
                ctx.error(
                    "email.smtp_url",
                    "must be smtp://host[:port] or smtps://host[:port]",
                );
                None
            }
            Err(e) => {
                ctx.error("email.smtp_url", format!("invalid URL ({e})"));
                None
            }
        },
    };
    let from = match raw.from {
        Some(f) if f.contains('@') => Some(f),
        Some(f) => {
            ctx.error(
                "email.from",
                format!("{f:?} has no email address; write \"Name <access@example.com>\""),
            );
            None
        }
        None => {
            ctx.error(
                "email.from",
                "missing: e.g. \"Acme Access <access@example.com>\"",
            );
            None
        }
    };
    let mut password = None;
    match (&raw.smtp_password_env, &raw.smtp_password_file) {
        (Some(_), Some(_)) => ctx.error(
            "email",
            "set smtp_password_env or smtp_password_file, not both",
        ),
        (Some(name), None) => {
            let source = SecretSource::Env(name.clone());
            match ctx.secret("email.smtp_password_env", &source) {
                Ok(Some(v)) => password = Some(v.into()),
                Ok(None) => ctx.warn(
                    "email.smtp_password_env",
                    format!("{name} is not set: SMTP is used without a password"),
                ),
                Err(()) => {}
            }
        }
        (None, Some(file)) => {
            if let Ok(Some(v)) = ctx.secret(
                "email.smtp_password_file",
                &SecretSource::File(file.clone()),
            ) {
                password = Some(v.into());
            }
        }
        (None, None) => {}
    }
    let templates_dir = raw.templates_dir.map(std::path::PathBuf::from);
    if let Some(dir) = &templates_dir
        && !dir.is_dir()
    {
        ctx.error(
            "email.templates_dir",
            format!("{} is not a directory", dir.display()),
        );
    }
    let email = match (smtp_url, from) {
        (Some(smtp_url), Some(from)) => Some(Email {
            smtp_url,
            smtp_username: raw.smtp_username,
            smtp_password: password,
            from,
            templates_dir,
            application_name: raw.application_name,
        }),
        _ => None,
    };
    (email, ttl)
}

pub(crate) fn removal(
    ctx: &mut Ctx<'_>,
    raw: Option<RawRemoval>,
) -> (Option<Removal>, BTreeSet<String>) {
    let raw = raw.unwrap_or(RawRemoval {
        mode: None,
        mass_threshold: 0.2,
        mass_minimum: 10,
        break_glass: Vec::new(),
        grace: None,
    });
    let mode = match raw.mode.as_deref() {
        None | Some("suspend") => Some(RemovalMode::Suspend),
        Some("delete") => Some(RemovalMode::Delete),
        Some(other) => {
            ctx.error(
                "removal.mode",
                format!("{other:?} is not a removal mode; use \"suspend\" or \"delete\""),
            );
            None
        }
    };
    if !(0.0..=1.0).contains(&raw.mass_threshold) {
        ctx.error(
            "removal.mass_threshold",
            format!(
                "{} is outside 0..=1 (a share of users, e.g. 0.2 for 20%)",
                raw.mass_threshold
            ),
        );
    }
    let mut break_glass = BTreeSet::new();
    for (i, name) in raw.break_glass.iter().enumerate() {
        if name.trim().is_empty() {
            ctx.error(format!("removal.break_glass[{i}]"), "empty userName");
        } else {
            break_glass.insert(name.trim().to_lowercase());
        }
    }
    let grace = match raw.grace.as_deref() {
        None => Some(None),
        Some(text) => ctx.duration("removal.grace", text).map(Some),
    };
    let removal = match (mode, grace) {
        (Some(mode), Some(grace)) => Some(Removal {
            mode,
            mass_threshold: raw.mass_threshold,
            mass_minimum: raw.mass_minimum,
            grace,
        }),
        _ => None,
    };
    (removal, break_glass)
}

pub(crate) fn delivery(ctx: &mut Ctx<'_>, raw: RawDelivery) -> Option<Delivery> {
    let base = ctx.duration("delivery.backoff_base", &raw.backoff_base);
    let max = ctx.duration("delivery.backoff_max", &raw.backoff_max);
    let age = ctx.duration("delivery.max_age", &raw.max_age);
    let (base, max, age) = (base?, max?, age?);
    if base.is_zero() {
        ctx.error("delivery.backoff_base", "must be greater than 0");
    } else if base > max {
        ctx.error(
            "delivery.backoff_base",
            format!(
                "{} is longer than backoff_max ({})",
                raw.backoff_base, raw.backoff_max
            ),
        );
    }
    Some(Delivery {
        backoff_base: base,
        backoff_max: max,
        max_age: age,
    })
}

pub(crate) fn sessions(ctx: &mut Ctx<'_>, raw: RawSessions) -> Option<Sessions> {
    let idle = ctx.duration("sessions.idle_timeout", &raw.idle_timeout);
    let absolute = ctx.duration("sessions.absolute_timeout", &raw.absolute_timeout);
    let (idle, absolute) = (idle?, absolute?);
    if idle.is_zero() {
        ctx.error("sessions.idle_timeout", "must be greater than 0");
    }
    if absolute < idle {
        ctx.error(
            "sessions.absolute_timeout",
            format!(
                "{} is shorter than idle_timeout ({})",
                raw.absolute_timeout, raw.idle_timeout
            ),
        );
    }
    Some(Sessions { idle, absolute })
}
