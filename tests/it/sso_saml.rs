//! SAML sign-in end to end, on both engines, against the pysaml2 IdP the suite starts
//! (support/saml_idp.rs): SP-initiated and IdP-initiated flows in the Okta, Entra ID and
//! JumpCloud shapes, up to `/session` showing the right access — a user provisioned by
//! SCIM, and users created just in time on connections without SCIM. The refusals are in
//! `sso_saml_refusals`.
//!
//! Connections of these tests (see [`SAML_TOML`]):
//! * `oktasaml` — kind okta, SCIM on, SP key (signed AuthnRequests, encrypted assertions),
//!   IdP metadata listing two certificates (rotation), IdP-initiated allowed;
//! * `entrasaml` — kind entra, `jit = true`, no SCIM, groups as object ids;
//! * `jcsaml` — kind jumpcloud, `jit = true`, no SCIM, `memberOf`, IdP-initiated refused.

use crate::support::app::TestApp;
use crate::support::saml_idp::SamlIdp;
use crate::support::scripted_browser::{PostForm, ScriptedBrowser, location};
use idp_sync::store::{AuditQuery, Engine};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const SCIM_TOKEN: &str = "saml-okta-scim-token-0123456789";
pub const ENTRA_OBJECT_ID: &str = "6f1c2a4e-0000-4000-8000-00000000a11a";
pub const ENTRA_STAFF_GROUP: &str = "0b5e7c1a-1111-4111-8111-111111111111";

fn keys(name: &str) -> String {
    format!("{}/tests/saml_idp/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The test connections, reading the IdP metadata from `metadata` (a file path).
fn saml_toml(metadata: &str) -> String {
    let token = hex::encode(Sha256::digest(SCIM_TOKEN.as_bytes()));
    let (key, cert) = (keys("sp.key"), keys("sp.crt"));
    format!(
        r#"
[[connections]]
id = "oktasaml"
kind = "okta"
[connections.scim]
token_sha256 = "{token}"
rate_limit_per_second = 100000
[connections.saml]
idp_metadata_file = "{metadata}"
allow_idp_initiated = true
sp_key_file = "{key}"
sp_cert_file = "{cert}"

[[connections]]
id = "entrasaml"
kind = "entra"
jit = true
[connections.saml]
idp_metadata_file = "{metadata}"
sp_key_file = "{key}"
sp_cert_file = "{cert}"

[[connections]]
id = "jcsaml"
kind = "jumpcloud"
jit = true
[connections.saml]
idp_metadata_file = "{metadata}"
sp_key_file = "{key}"
sp_cert_file = "{cert}"

[[mappings]]
connection = "oktasaml"
idp_group = "Engineering"
role = "Editor"
organizations = ["acme", "acme-east"]

[[mappings]]
connection = "entrasaml"
idp_group_id = "{ENTRA_STAFF_GROUP}"
role = "Manager"
organizations = ["globex"]

[[mappings]]
connection = "jcsaml"
idp_group = "Staff"
role = "Creator"
organizations = ["acme"]
"#
    )
}

/// One test's idp-sync with the SAML connections, and the shared IdP.
pub struct SamlTest {
    pub app: TestApp,
    pub idp: &'static SamlIdp,
    _files: tempfile::TempDir,
}

impl SamlTest {
    pub async fn spawn(engine: Engine) -> SamlTest {
        let idp = SamlIdp::get().await;
        let files = tempfile::tempdir().expect("tempdir");
        let metadata = files.path().join("idp-metadata.xml");
        std::fs::write(&metadata, idp.metadata("idp,idp-next").await).expect("metadata");
        let toml = saml_toml(metadata.to_str().expect("utf-8 path"));
        let app = TestApp::spawn(engine, &toml).await;
        SamlTest {
            app,
            idp,
            _files: files,
        }
    }

    /// `/sso/saml/{connection}/login?return_to=…` in `browser`: the 303 to the IdP.
    pub async fn start_login(
        &self,
        browser: &mut ScriptedBrowser,
        connection: &str,
        return_to: &str,
    ) -> String {
        let url = format!(
            "{}/sso/saml/{connection}/login?return_to={}",
            self.app.base,
            urlencode(return_to)
        );
        let res = browser.get(&url).await;
        assert_eq!(
            res.status(),
            303,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let to_idp = location(&res);
        assert!(to_idp.starts_with(&self.idp.base), "{to_idp}");
        to_idp
    }

    /// Signs in at the IdP as `who` (the login form's answer): the form it posts back.
    pub async fn at_idp(
        &self,
        browser: &mut ScriptedBrowser,
        to_idp: &str,
        who: &[(&str, &str)],
    ) -> PostForm {
        let url = format!("{to_idp}&{}", query(who));
        ScriptedBrowser::form_of(browser.get(&url).await).await
    }

    /// An IdP-initiated response for `connection`, as the IdP's portal would post it.
    pub async fn unsolicited(
        &self,
        browser: &mut ScriptedBrowser,
        connection: &str,
        relay_state: Option<&str>,
        who: &[(&str, &str)],
    ) -> PostForm {
        let sp = format!("{}/sso/saml/{connection}/metadata", self.app.base);
        let mut url = format!(
            "{}/idp-initiated?sp={}&{}",
            self.idp.base,
            urlencode(&sp),
            query(who)
        );
        if let Some(relay) = relay_state {
            url.push_str(&format!("&relay_state={}", urlencode(relay)));
        }
        ScriptedBrowser::form_of(browser.get(&url).await).await
    }

    /// A whole SP-initiated sign-in: the ACS's answer.
    pub async fn sign_in(
        &self,
        browser: &mut ScriptedBrowser,
        connection: &str,
        who: &[(&str, &str)],
    ) -> reqwest::Response {
        let to_idp = self.start_login(browser, connection, "/app").await;
        let form = self.at_idp(browser, &to_idp, who).await;
        browser.post(&form).await
    }

    /// `GET /session` with the browser's cookies.
    pub async fn session(&self, browser: &mut ScriptedBrowser) -> (u16, Value) {
        let res = browser.get(&format!("{}/session", self.app.base)).await;
        let status = res.status().as_u16();
        (status, res.json().await.expect("session JSON"))
    }

    /// The codes of the `sso.refused` audit events so far.
    pub async fn refused_codes(&self) -> Vec<String> {
        let query = AuditQuery {
            limit: 200,
            ..AuditQuery::default()
        };
        self.app
            .db
            .store
            .list_audit(&query)
            .await
            .expect("audit")
            .into_iter()
            .filter(|e| e.kind == "sso.refused")
            .map(|e| e.detail["code"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Provisions Ana through the `oktasaml` SCIM endpoint, in Engineering.
    pub async fn provision_ana(&self) -> String {
        let (status, user) = self
            .app
            .scim_json(
                SCIM_TOKEN,
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ana@acme.com", "externalId": "00u-ana",
                    "name": { "givenName": "Ana", "familyName": "Lima" },
                    "emails": [{ "value": "ana@acme.com", "primary": true }] })),
            )
            .await;
        assert_eq!(status, 201, "{user}");
        let id = user["id"].as_str().expect("id").to_owned();
        let (status, group) = self
            .app
            .scim_json(
                SCIM_TOKEN,
                Method::POST,
                "/Groups",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Engineering", "members": [{ "value": id }] })),
            )
            .await;
        assert_eq!(status, 201, "{group}");
        id
    }
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Ana at Okta: persistent NameID = her Okta id (the SCIM externalId).
pub const OKTA_ANA: &[(&str, &str)] = &[
    ("shape", "okta"),
    ("name_id", "00u-ana"),
    ("email", "ana@acme.com"),
    ("first", "Ana"),
    ("last", "Lima"),
    ("groups", "Engineering"),
];

/// Bea at Entra: email NameID, object id, group object ids.
pub const ENTRA_BEA: &[(&str, &str)] = &[
    ("shape", "entra"),
    ("name_id", "bea@globex.com"),
    ("name_id_format", "email"),
    ("email", "bea@globex.com"),
    ("first", "Bea"),
    ("last", "Souza"),
    ("display_name", "Bea Souza"),
    ("object_id", ENTRA_OBJECT_ID),
    (
        "groups",
        "0b5e7c1a-1111-4111-8111-111111111111,0b5e7c1a-9999-4999-8999-999999999999",
    ),
];

/// Caio at JumpCloud: email NameID, `memberOf`.
pub const JC_CAIO: &[(&str, &str)] = &[
    ("shape", "jumpcloud"),
    ("name_id", "caio@acme.com"),
    ("name_id_format", "email"),
    ("email", "caio@acme.com"),
    ("first", "Caio"),
    ("last", "Prado"),
    ("groups", "Staff,Everyone"),
];

/// `who` with extra parameters.
pub fn with<'a>(
    who: &[(&'a str, &'a str)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut out = who.to_vec();
    out.extend_from_slice(extra);
    out
}

/// `both_engines_saml!(name)`: `async fn name(t: SamlTest)` as `name::sqlite` and
/// `name::postgres`.
macro_rules! both_engines_saml {
    ($name:ident) => {
        mod $name {
            use idp_sync::store::Engine;

            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::sso_saml::SamlTest::spawn(Engine::Sqlite).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name($crate::sso_saml::SamlTest::spawn(Engine::Postgres).await).await;
            }
        }
    };
}
pub(crate) use both_engines_saml;

// ---- flows

async fn okta_sp_initiated_signs_in_a_scim_user(t: SamlTest) {
    let id = t.provision_ana().await;
    let mut browser = ScriptedBrowser::new();
    let to_idp = t
        .start_login(&mut browser, "oktasaml", "/app/projects?tab=1")
        .await;
    // The connection has an SP key: the AuthnRequest is signed (pysaml2 verified it).
    assert!(
        to_idp.contains("SigAlg=") && to_idp.contains("Signature="),
        "{to_idp}"
    );
    assert!(browser.cookie(&t.app.base, "idp_sync_sso").is_some());
    let form = t.at_idp(&mut browser, &to_idp, OKTA_ANA).await;
    assert_eq!(form.action, format!("{}/sso/saml/oktasaml/acs", t.app.base));
    let res = browser.post(&form).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(location(&res), "/app/projects?tab=1");

    let (status, body) = t.session(&mut browser).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["id"], id.as_str());
    assert_eq!(body["user"]["state"], "active");
    assert_eq!(body["connection"], "oktasaml");
    assert_eq!(body["access"]["role"], "Editor");
    assert_eq!(
        body["access"]["organizations"],
        json!(["acme", "acme-east"])
    );
}
both_engines_saml!(okta_sp_initiated_signs_in_a_scim_user);

async fn okta_idp_initiated_goes_to_a_safe_relay_state(t: SamlTest) {
    t.provision_ana().await;
    let mut browser = ScriptedBrowser::new();
    let form = t
        .unsolicited(&mut browser, "oktasaml", Some("/reports"), OKTA_ANA)
        .await;
    assert_eq!(form.field("RelayState"), Some("/reports"));
    let res = browser.post(&form).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(location(&res), "/reports");
    let (status, body) = t.session(&mut browser).await;
    assert_eq!(
        (status, body["access"]["role"].clone()),
        (200, json!("Editor"))
    );

    // A RelayState leaving the origin lands on `/` instead.
    let mut other = ScriptedBrowser::new();
    let form = t
        .unsolicited(
            &mut other,
            "oktasaml",
            Some("https://evil.example.com/"),
            OKTA_ANA,
        )
        .await;
    let res = other.post(&form).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
}
both_engines_saml!(okta_idp_initiated_goes_to_a_safe_relay_state);

async fn okta_encrypted_aes256_cbc_and_rotated_key_sign_in(t: SamlTest) {
    t.provision_ana().await;
    let mut browser = ScriptedBrowser::new();
    let res = t
        .sign_in(
            &mut browser,
            "oktasaml",
            &with(OKTA_ANA, &[("encrypt", "aes256-cbc")]),
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    // Signed with the IdP's next certificate: the metadata lists both.
    let mut browser = ScriptedBrowser::new();
    let res = t
        .sign_in(
            &mut browser,
            "oktasaml",
            &with(OKTA_ANA, &[("knob", "next_key")]),
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(t.session(&mut browser).await.0, 200);
}
both_engines_saml!(okta_encrypted_aes256_cbc_and_rotated_key_sign_in);

async fn entra_encrypted_aes256_gcm_creates_a_jit_user(t: SamlTest) {
    let mut browser = ScriptedBrowser::new();
    let res = t
        .sign_in(
            &mut browser,
            "entrasaml",
            &with(ENTRA_BEA, &[("encrypt", "aes256-gcm")]),
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let (status, body) = t.session(&mut browser).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["connection"], "entrasaml");
    assert_eq!(body["user"]["email"], "bea@globex.com");
    assert_eq!(body["access"]["role"], "Manager");
    assert_eq!(body["access"]["organizations"], json!(["globex"]));
    // The subject is Entra's object id, not the (changeable) email.
    let user = t
        .app
        .db
        .store
        .get_user(&body["user"]["id"].as_str().expect("id").into())
        .await
        .expect("read")
        .expect("user");
    assert_eq!(user.sso_subject.as_deref(), Some(ENTRA_OBJECT_ID));

    // Signing in again finds the same user.
    let mut again = ScriptedBrowser::new();
    let res = t.sign_in(&mut again, "entrasaml", ENTRA_BEA).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        t.session(&mut again).await.1["user"]["id"],
        body["user"]["id"]
    );
}
both_engines_saml!(entra_encrypted_aes256_gcm_creates_a_jit_user);

async fn jumpcloud_both_signed_creates_a_jit_user_from_member_of(t: SamlTest) {
    let mut browser = ScriptedBrowser::new();
    let res = t.sign_in(&mut browser, "jcsaml", JC_CAIO).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let (status, body) = t.session(&mut browser).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["access"]["role"], "Creator");
    assert_eq!(body["access"]["organizations"], json!(["acme"]));

    // Encrypted too (AES-256-GCM, RSA-OAEP with SHA-256).
    let mut browser = ScriptedBrowser::new();
    let encrypted = with(JC_CAIO, &[("encrypt", "aes256-gcm"), ("kt", "oaep11")]);
    let res = t.sign_in(&mut browser, "jcsaml", &encrypted).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
}
both_engines_saml!(jumpcloud_both_signed_creates_a_jit_user_from_member_of);

async fn a_person_without_mapped_groups_gets_no_session(t: SamlTest) {
    let mut browser = ScriptedBrowser::new();
    browser.json = true;
    let who: Vec<_> = JC_CAIO
        .iter()
        .map(|&(k, v)| {
            if k == "groups" {
                (k, "Everyone")
            } else {
                (k, v)
            }
        })
        .collect();
    let res = t.sign_in(&mut browser, "jcsaml", &who).await;
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "ACCESS-NONE");
    assert_eq!(t.session(&mut browser).await.0, 401);
}
both_engines_saml!(a_person_without_mapped_groups_gets_no_session);

async fn sp_metadata_is_served_per_connection(t: SamlTest) {
    let res = t
        .app
        .http
        .get(format!("{}/sso/saml/oktasaml/metadata", t.app.base))
        .send()
        .await
        .expect("metadata");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let xml = res.text().await.expect("body");
    let entity = format!("entityID=\"{}/sso/saml/oktasaml/metadata\"", t.app.base);
    assert!(xml.contains(&entity), "{xml}");
    let acs = format!("Location=\"{}/sso/saml/oktasaml/acs\"", t.app.base);
    assert!(xml.contains(&acs), "{xml}");
    assert!(xml.contains("AuthnRequestsSigned=\"true\""));
    assert!(xml.contains("use=\"encryption\"") && xml.contains("aes256-gcm"));
    assert!(xml.contains("nameid-format:persistent"));

    // Unknown connection, and a connection without SAML: the 404 page.
    for path in [
        "/sso/saml/nope/metadata",
        "/sso/saml/okta/metadata",
        "/sso/saml/okta/login",
    ] {
        let res = t
            .app
            .http
            .get(format!("{}{path}", t.app.base))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = t
        .app
        .http
        .post(format!("{}/sso/saml/nope/acs", t.app.base))
        .form(&[("SAMLResponse", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 404);
}
both_engines_saml!(sp_metadata_is_served_per_connection);
