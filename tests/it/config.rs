//! Integration tests of config loading: the shipped example, a broken file, overrides,
//! secrets in `Debug`, reloads, and the exact key paths of the main mistakes.
//! Relative paths in configs resolve against the working directory, which `cargo test`
//! sets to the repository root.

use idp_sync::config::{self, ConfigErrors, ConfigHandle, Env, ReloadOutcome};
use idp_sync::domain::{ConnectionId, RoleName};
use std::path::Path;

const EXAMPLE: &str = "config/idp-sync.example.toml";

fn no_env() -> Env {
    Env::from_map(Vec::<(String, String)>::new())
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn errors_of(text: &str) -> ConfigErrors {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "idp-sync.toml", text);
    config::load_with(&path, &no_env()).expect_err("config should be invalid")
}

fn assert_problem(errors: &ConfigErrors, path: &str, needle: &str) {
    let found = errors
        .iter()
        .any(|p| p.path == path && p.message.contains(needle));
    assert!(found, "expected `{path}: …{needle}…` in:\n{errors}");
}

const BASE: &str = r#"
version = 1
[server]
public_url = "https://sso.example.com"
[[organizations]]
slug = "acme"
name = "Acme"
[[organizations]]
slug = "acme-east"
name = "Acme East"
parent = "acme"
[[organizations]]
slug = "globex"
name = "Globex"
[[connections]]
id = "okta"
kind = "okta"
scope = ["acme*"]
[connections.scim]
token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
"#;

#[test]
fn the_example_loads_with_no_secrets_set_and_default_roles() {
    let cfg = config::load_with(EXAMPLE, &no_env())
        .unwrap_or_else(|e| panic!("example config invalid:\n{e}"));
    let roles: Vec<&str> = cfg.policy.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        roles,
        [
            "Administrator",
            "Manager",
            "Editor",
            "Creator",
            "Read-only",
            "Lite"
        ]
    );
    assert_eq!(
        cfg.policy.roles,
        idp_sync::domain::Roles::application_default()
    );
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(cfg.database.url.as_str(), "sqlite://data/idp-sync.db");
    assert_eq!(cfg.invitation_ttl.as_secs(), 14 * 24 * 3600);
    let okta = cfg.connection(&ConnectionId::new("okta")).unwrap();
    assert!(okta.scim.is_none(), "no token set: SCIM off");
    let saml = okta.saml.as_ref().unwrap();
    assert_eq!(saml.idp.certificates.len(), 1);
    assert_eq!(saml.attributes.groups, "groups");
    assert!(
        cfg.warnings
            .iter()
            .any(|w| w.message.contains("IDP_SYNC_OKTA_SCIM_TOKEN"))
    );
    for (i, m) in cfg.policy.mappings.iter().enumerate() {
        assert_eq!(m.index, i);
    }
    assert!(cfg.webhooks.is_empty() && cfg.connectors.is_empty() && cfg.admin_tokens.is_empty());

    // The same file with the example's secrets set enables everything.
    let env = Env::from_map([
        ("IDP_SYNC_OKTA_SCIM_TOKEN", "okta-token-0123456789"),
        ("IDP_SYNC_ENTRA_SCIM_TOKEN", "entra-token-0123456789"),
        ("IDP_SYNC_ADMIN_TOKEN", "admin-token-0123456789"),
        ("IDP_SYNC_WEBHOOK_SECRET", "whsec"),
        ("APP_API_TOKEN", "app-token"),
    ]);
    let cfg = config::load_with(EXAMPLE, &env).unwrap();
    let scim = cfg.connections[0].scim.as_ref().unwrap();
    assert!(scim.tokens.verify("okta-token-0123456789"));
    assert!(!scim.tokens.verify("entra-token-0123456789"));
    assert!(cfg.admin_tokens[0].tokens.verify("admin-token-0123456789"));
    assert_eq!(cfg.webhooks.len(), 1);
    assert_eq!(cfg.connectors.len(), 1);
    assert!(
        cfg.warnings
            .iter()
            .all(|w| w.path == "email" || !w.message.contains("not set"))
    );
}

#[test]
fn the_broken_file_reports_every_mistake_with_its_path() {
    let errors =
        config::load_with("tests/fixtures/config/broken.toml", &no_env()).expect_err("broken");
    let expected = [
        ("version", "unsupported config version 2"),
        ("server.listen", "not a socket address"),
        ("server.public_url", "http"),
        ("email.invitation_ttl", "invalid duration"),
        ("removal.mass_threshold", "outside 0..=1"),
        ("delivery.max_agee", "unknown key"),
        ("roles[2].name", "duplicate role \"Editor\""),
        ("organizations[1].slug", "duplicate organization \"acme\""),
        (
            "organizations[2].parent",
            "unknown organization \"nowhere\"",
        ),
        (
            "organizations[3].parent",
            "cycle: loop-a -> loop-b -> loop-a",
        ),
        ("connections[0].scope[1]", "invalid glob"),
        ("connections[0].max_role", "unknown role \"Owner\""),
        ("connections[0].scim", "at most two tokens"),
        (
            "connections[0].saml.idp_metadata_file",
            "no signing certificate",
        ),
        ("connections[1].id", "reserved"),
        ("connections[2]", "needs at least one of"),
        (
            "mappings[0].organizations[0]",
            "unknown organization \"acme-wst\"",
        ),
        (
            "mappings[1].organizations[0]",
            "outside the scope of connection \"entra\"",
        ),
        (
            "mappings[2].organizations[0]",
            "role \"Lite\" allows at most 5",
        ),
        ("mappings[3]", "not both"),
        ("mappings[3].role", "unknown role \"Viewer\""),
        ("mappings[4].connection", "unknown connection \"okla\""),
        ("admin_tokens[0].role", "unknown role \"Root\""),
        ("admin_tokens[0].token_sha256", "64 hexadecimal digits"),
        (
            "webhooks[0].events[1]",
            "unknown event type \"user.deleted\"",
        ),
        ("connectors[0].on", "unknown event type \"user.created\""),
    ];
    for (path, needle) in expected {
        assert_problem(&errors, path, needle);
    }
    // A connection with mistakes of its own is still known to its mappings.
    assert!(errors.at("mappings[0].connection").is_none(), "{errors}");
    // Display: one `path: message` per line, nothing else.
    let text = errors.to_string();
    assert_eq!(text.lines().count(), errors.len());
    assert!(text.contains("mappings[0].organizations[0]: unknown organization \"acme-wst\""));
}

#[test]
fn an_env_override_wins_over_the_file() {
    let env = Env::from_map([
        ("IDP_SYNC__SERVER__LISTEN", "0.0.0.0:9999"),
        ("IDP_SYNC__DATABASE__URL", "postgres://idp:pw@db/idp"),
        ("IDP_SYNC__REMOVAL__MASS_THRESHOLD", "0.5"),
        ("IDP_SYNC__REMOVAL__MASS_MINIMUM", "3"),
        (
            "IDP_SYNC__SERVER__TRUSTED_PROXIES",
            "10.0.0.0/8, 192.168.1.1",
        ),
        ("IDP_SYNC__CONNECTIONS__1__MAX_ROLE", "Editor"),
        ("IDP_SYNC__SERVER__LISTN", "typo"),
    ]);
    let cfg = config::load_with(EXAMPLE, &env).unwrap();
    assert_eq!(cfg.server.listen.to_string(), "0.0.0.0:9999");
    assert_eq!(cfg.database.url.as_str(), "postgres://idp:pw@db/idp");
    assert!(!format!("{:?}", cfg.database).contains("pw@"));
    assert!((cfg.removal.mass_threshold - 0.5).abs() < f64::EPSILON);
    assert_eq!(cfg.removal.mass_minimum, 3);
    assert_eq!(cfg.server.trusted_proxies.len(), 2);
    assert_eq!(cfg.policy.connections[1].max_role, RoleName::new("Editor"));
    assert!(
        cfg.warnings
            .iter()
            .any(|w| w.path == "IDP_SYNC__SERVER__LISTN"),
        "{:?}",
        cfg.warnings
    );
    // Overrides are part of the fingerprint.
    let plain = config::load_with(EXAMPLE, &no_env()).unwrap();
    assert_ne!(plain.fingerprint, cfg.fingerprint);

    // A bad override is reported at its key, naming the variable.
    let env = Env::from_map([("IDP_SYNC__REMOVAL__MASS_MINIMUM", "many")]);
    let errors = config::load_with(EXAMPLE, &env).unwrap_err();
    assert_problem(
        &errors,
        "removal.mass_minimum",
        "IDP_SYNC__REMOVAL__MASS_MINIMUM",
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = write(dir.path(), "oidc-secret", "file-secret-value\n");
    let text = format!(
        "{BASE}\n[connections.oidc]\nissuer = \"https://acme.okta.com\"\nclient_id = \"0oa1\"\nclient_secret_file = \"{}\"\n\
         [email]\nsmtp_url = \"smtp://127.0.0.1:2525\"\nfrom = \"a@example.com\"\nsmtp_password_env = \"IDP_SYNC_SMTP_PASSWORD\"\n\
         [[webhooks]]\nurl = \"http://127.0.0.1:9/h\"\nsecret_env = \"IDP_SYNC_WEBHOOK_SECRET\"\n\
         [[admin_tokens]]\nname = \"ops\"\nrole = \"Administrator\"\ntoken_env = \"IDP_SYNC_ADMIN_TOKEN\"\n\
         [[connectors]]\nname = \"c\"\non = \"user.invited\"\nurl = \"http://127.0.0.1:9/c\"\nenv = [\"APP_API_TOKEN\"]\n\
         headers = {{ Authorization = \"Bearer {{{{ env.APP_API_TOKEN }}}}\" }}\n",
        secret_file.display()
    );
    let path = write(dir.path(), "idp-sync.toml", &text);
    let env = Env::from_map([
        ("IDP_SYNC_SMTP_PASSWORD", "smtp-secret-value"),
        ("IDP_SYNC_WEBHOOK_SECRET", "webhook-secret-value"),
        ("IDP_SYNC_ADMIN_TOKEN", "admin-secret-value"),
        ("APP_API_TOKEN", "connector-secret-value"),
    ]);
    let cfg = config::load_with(&path, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config::expose_secret(&cfg.connections[0].oidc.as_ref().unwrap().client_secret),
        "file-secret-value",
        "one trailing newline is trimmed"
    );
    assert_eq!(cfg.webhooks.len(), 1);
    assert_eq!(cfg.connectors.len(), 1);
    let debug = format!("{cfg:?}");
    let debug = format!("{debug} {:?}", ConfigHandle::new(cfg, env.clone()));
    for secret in [
        "file-secret-value",
        "smtp-secret-value",
        "webhook-secret-value",
        "admin-secret-value",
        "connector-secret-value",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked in Debug output");
    }
    assert!(!format!("{env:?}").contains("secret-value"));
}

#[test]
fn invalid_reload_keeps_the_old_config_and_identical_reload_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "idp-sync.toml", BASE);
    let handle = ConfigHandle::load(&path, no_env()).unwrap();
    let first = handle.current();

    assert!(matches!(handle.reload(), ReloadOutcome::Unchanged));

    std::fs::write(&path, format!("{BASE}\n[server]\nlisten = \"nope\"\n")).unwrap();
    match handle.reload() {
        ReloadOutcome::Invalid(errors) => assert!(!errors.is_empty()),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(handle.current().fingerprint, first.fingerprint);

    std::fs::write(&path, BASE.replace("Acme East", "Acme East Coast")).unwrap();
    match handle.clone().reload() {
        ReloadOutcome::Applied { previous, current } => {
            assert_eq!(previous.fingerprint, first.fingerprint);
            assert_ne!(current.fingerprint, first.fingerprint);
        }
        other => panic!("expected Applied, got {other:?}"),
    }
    let current = handle.current();
    let name = &current.policy.organizations.iter().nth(1).unwrap().name;
    assert_eq!(name, "Acme East Coast");
    assert!(matches!(handle.reload(), ReloadOutcome::Unchanged));
}

#[test]
fn duplicates_and_cycles_have_exact_paths() {
    let errors = errors_of(&format!(
        "{BASE}\n[[organizations]]\nslug = \"acme\"\nname = \"Dup\"\n\
         [[organizations]]\nslug = \"x\"\nname = \"X\"\nparent = \"y\"\n\
         [[organizations]]\nslug = \"y\"\nname = \"Y\"\nparent = \"x\"\n\
         [[connections]]\nid = \"okta\"\nkind = \"okta\"\n[connections.scim]\ntoken_env = \"IDP_SYNC_T\"\n"
    ));
    assert_problem(
        &errors,
        "organizations[3].slug",
        "duplicate organization \"acme\" (also organizations[0])",
    );
    assert_problem(&errors, "organizations[4].parent", "cycle: x -> y -> x");
    assert!(
        errors.at("organizations[5].parent").is_none(),
        "a cycle is reported once:\n{errors}"
    );
    assert_problem(
        &errors,
        "connections[1].id",
        "duplicate connection id \"okta\"",
    );
}

#[test]
fn scope_and_star_with_lite_have_exact_paths() {
    let errors = errors_of(&format!(
        "{BASE}\n[[mappings]]\nconnection = \"okta\"\nidp_group = \"G\"\nrole = \"Editor\"\norganizations = [\"acme\", \"globex\", \"acme-*\"]\n\
         [[mappings]]\nconnection = \"okta\"\nidp_group = \"Portal\"\nrole = \"Lite\"\norganizations = [\"acme\", \"*\"]\n"
    ));
    assert_problem(
        &errors,
        "mappings[0].organizations[1]",
        "outside the scope of connection \"okta\" (scope: acme*)",
    );
    assert!(errors.at("mappings[0].organizations[0]").is_none());
    assert!(
        errors.at("mappings[0].organizations[2]").is_none(),
        "a glob is restricted, not refused"
    );
    assert_problem(
        &errors,
        "mappings[1].organizations[1]",
        "\"*\" grants every organization, but role \"Lite\" allows at most 5",
    );
    assert_eq!(errors.len(), 2, "{errors}");
}

#[test]
fn saml_without_any_signing_certificate_is_refused() {
    let errors = errors_of(&format!(
        "{BASE}\n[connections.saml]\nidp_entity_id = \"https://idp\"\nidp_sso_url = \"https://idp/sso\"\nidp_certificate_files = []\n"
    ));
    assert_problem(
        &errors,
        "connections[0].saml.idp_certificate_files",
        "no signing certificate",
    );

    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}\n[connections.saml]\nidp_entity_id = \"https://idp\"\nidp_sso_url = \"https://idp/sso\"\nidp_certificate_files = [\"tests/fixtures/saml/idp-cert.pem\"]\n"
    );
    let path = write(dir.path(), "ok.toml", &text);
    let cfg = config::load_with(&path, &no_env()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cfg.connections[0]
            .saml
            .as_ref()
            .unwrap()
            .idp
            .certificates
            .len(),
        1
    );
}

#[test]
fn saml_sp_key_and_certificate_must_be_a_pair() {
    let saml = |key: &str| {
        format!(
            "{BASE}\n[connections.saml]\nidp_entity_id = \"https://idp\"\n\
             idp_sso_url = \"https://idp/sso\"\n\
             idp_certificate_files = [\"tests/fixtures/saml/idp-cert.pem\"]\n\
             sp_key_file = \"tests/saml_idp/keys/{key}.key\"\n\
             sp_cert_file = \"tests/saml_idp/keys/sp.crt\"\n"
        )
    };
    let errors = errors_of(&saml("other"));
    assert_problem(&errors, "connections[0].saml.sp_key_file", "not a pair");

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ok.toml", &saml("sp"));
    let cfg = config::load_with(&path, &no_env()).unwrap_or_else(|e| panic!("{e}"));
    let saml = cfg.connections[0].saml.as_ref().unwrap();
    assert!(saml.sp_key_pem.is_some() && saml.sp_cert_pem.is_some());
}

#[test]
fn a_syntax_error_gives_line_and_column() {
    let errors = errors_of("version = 1\n[server\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors.problems[0].path.ends_with("idp-sync.toml:2:8"),
        "{errors}"
    );
}

#[tokio::test]
async fn watch_file_fires_when_the_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "idp-sync.toml", BASE);
    let mut watch = config::watch_file(&path).unwrap();
    let tmp = write(
        dir.path(),
        "idp-sync.toml.tmp",
        &format!("{BASE}\n# edited\n"),
    );
    std::fs::rename(&tmp, &path).unwrap();
    let fired = tokio::time::timeout(std::time::Duration::from_secs(5), watch.changed()).await;
    assert_eq!(fired, Ok(Some(())));
}

#[test]
fn sessions_have_defaults_and_refuse_an_absolute_timeout_below_the_idle_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let server = "[server]\npublic_url = \"http://127.0.0.1:8080\"\n";
    std::fs::write(&path, format!("version = 1\n{server}")).unwrap();
    let config = idp_sync::config::load(&path).unwrap();
    assert_eq!(
        config.sessions.idle,
        std::time::Duration::from_secs(8 * 3600)
    );
    assert_eq!(
        config.sessions.absolute,
        std::time::Duration::from_secs(24 * 3600)
    );
    std::fs::write(
        &path,
        format!(
            "version = 1\n{server}[sessions]\nidle_timeout = \"2h\"\nabsolute_timeout = \"1h\"\n"
        ),
    )
    .unwrap();
    let errors = idp_sync::config::load(&path).unwrap_err().to_string();
    assert!(errors.contains("sessions.absolute_timeout"), "{errors}");
}
