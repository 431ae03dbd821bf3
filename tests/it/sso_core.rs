//! The sign-in core shared by SAML and OIDC, on both engines, driven with identities as the
//! protocols hand them over (the protocol checks have their own tests): which user a
//! sign-in finds or creates, invitation acceptance, sessions with `/session`,
//! `/auth/verify` and `/logout`, refusals with their codes and audit events, and logins
//! under way bound to their browser.

use crate::support::app::{ADMIN_TOKEN, OKTA_TOKEN, TestApp, both_engines_app};
use axum::http::{HeaderMap, HeaderValue, header};
use idp_sync::domain::{AuditEvent, ConnectionId, Session, SsoLogin, UserState};
use idp_sync::http::sso::{self, LoginQuery, Pending};
use idp_sync::sso::{Identity, Protocol};
use idp_sync::store::AuditQuery;
use reqwest::Method;
use serde_json::{Value, json};

const JIT: &str = r#"
[[connections]]
id = "jit"
kind = "generic"
jit = true
[connections.oidc]
issuer = "https://idp.invalid"
client_id = "idp-sync"
client_secret_env = "TEST_OIDC_SECRET"

[[mappings]]
connection = "jit"
idp_group = "Staff"
role = "Creator"
organizations = ["globex"]
"#;

fn identity(subject: &str, email: &str) -> Identity {
    Identity {
        protocol: Protocol::Oidc,
        subject: subject.to_owned(),
        user_name: None,
        email: Some(email.to_owned()),
        given_name: Some("Ana".to_owned()),
        family_name: Some("Lima".to_owned()),
        display_name: None,
        groups: None,
        groups_overage: false,
        reference: None,
    }
}

/// Provisions `user_name` through Okta SCIM with externalId `external_id`, in Engineering
/// when `engineer`; returns the SCIM id.
async fn provision(app: &TestApp, user_name: &str, external_id: &str, engineer: bool) -> String {
    let (status, user) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Users",
            Some(
                json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                         "userName": user_name, "externalId": external_id,
                         "emails": [{ "value": user_name, "primary": true }] }),
            ),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().expect("id").to_owned();
    if engineer {
        let (status, body) = app
            .scim_json(
                OKTA_TOKEN,
                Method::POST,
                "/Groups",
                Some(
                    json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                             "displayName": "Engineering", "members": [{ "value": id }] }),
                ),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    id
}

/// Signs in through the core; returns the status, Location and the session cookie value.
async fn sign_in(
    app: &TestApp,
    connection: &str,
    who: Identity,
    login: Option<SsoLogin>,
) -> (u16, Option<String>, Option<String>) {
    let response = sso::finish(
        &app.state,
        &ConnectionId::new(connection),
        who,
        login,
        Some("/after".to_owned()),
        &HeaderMap::new(),
    )
    .await;
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("idp_sync_session="))
        .map(|v| {
            assert!(
                v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Path=/"),
                "{v}"
            );
            assert!(
                !v.contains("Secure"),
                "http public_url: no Secure flag: {v}"
            );
            v["idp_sync_session=".len()..]
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
    (response.status().as_u16(), location, cookie)
}

async fn get_with(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(format!("{}{path}", app.base));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("idp_sync_session={c}"));
    }
    req.send().await.expect("send")
}

async fn session(app: &TestApp, cookie: &str) -> (u16, Value) {
    let res = get_with(app, "/session", Some(cookie)).await;
    let status = res.status().as_u16();
    (status, res.json().await.expect("json"))
}

async fn audit_kinds(app: &TestApp) -> Vec<AuditEvent> {
    let query = AuditQuery {
        limit: 200,
        ..AuditQuery::default()
    };
    app.db.store.list_audit(&query).await.expect("audit")
}

async fn refused_codes(app: &TestApp) -> Vec<String> {
    audit_kinds(app)
        .await
        .into_iter()
        .filter(|e| e.kind == "sso.refused")
        .map(|e| e.detail["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn scim_user_signs_in_and_is_signed_out_by_suspension(app: TestApp) {
    let id = provision(&app, "ana@acme.com", "00u-ana", true).await;
    let stored = app
        .db
        .store
        .get_user(&id.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, UserState::Invited);

    // Okta's OIDC `sub` is the user id SCIM sent as externalId.
    let (status, location, cookie) =
        sign_in(&app, "okta", identity("00u-ana", "ana@acme.com"), None).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/after"));
    let cookie = cookie.expect("session cookie");
    assert_eq!(cookie.len(), 43);

    let (status, body) = session(&app, &cookie).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["id"], id.as_str());
    assert_eq!(body["user"]["user_name"], "ana@acme.com");
    assert_eq!(body["user"]["state"], "active");
    assert_eq!(body["connection"], "okta");
    assert_eq!(body["access"]["role"], "Editor");
    assert_eq!(
        body["access"]["organizations"],
        json!(["acme", "acme-east"])
    );

    // The invitation is accepted, the subject linked, and the activation told.
    let stored = app
        .db
        .store
        .get_user(&id.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, UserState::Active);
    assert!(stored.accepted_at.is_some());
    assert_eq!(stored.sso_subject.as_deref(), Some("00u-ana"));
    let invitations = app.db.store.list_invitations(&stored.id).await.unwrap();
    assert_eq!(
        invitations[0].status,
        idp_sync::domain::InvitationStatus::Accepted
    );
    let kinds: Vec<String> = audit_kinds(&app)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&"invitation.accepted".to_owned()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"sso.signed_in".to_owned()), "{kinds:?}");
    let events = app
        .db
        .store
        .list_outbox_events(&idp_sync::store::OutboxQuery::default())
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.event_type == idp_sync::domain::EventType::UserActivated)
    );

    // Forward auth for a proxy.
    let res = get_with(&app, "/auth/verify", Some(&cookie)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-idp-sync-user"], "ana@acme.com");
    assert_eq!(res.headers()["x-idp-sync-role"], "Editor");
    assert_eq!(res.headers()["x-idp-sync-orgs"], "acme,acme-east");
    assert_eq!(get_with(&app, "/auth/verify", None).await.status(), 401);
    assert_eq!(
        get_with(&app, "/auth/verify", Some("forged"))
            .await
            .status(),
        401
    );
    let (status, body) = session(&app, "x".repeat(43).as_str()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("AUTH-REQUIRED"))
    );

    // The home page shows who is signed in.
    let home = get_with(&app, "/", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("ana@acme.com") && home.contains("Editor"),
        "{home}"
    );

    // A second sign-in finds the user by the linked subject and rotates the session.
    let mut headers = HeaderMap::new();
    headers.insert(
        header::COOKIE,
        HeaderValue::from_str(&format!("idp_sync_session={cookie}")).unwrap(),
    );
    let response = sso::finish(
        &app.state,
        &ConnectionId::new("okta"),
        identity("00u-ana", "other@x.com"),
        None,
        None,
        &headers,
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        session(&app, &cookie).await.0,
        401,
        "the old session is revoked at sign-in"
    );
    let newer = response.headers()[header::SET_COOKIE].to_str().unwrap()
        ["idp_sync_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(session(&app, &newer).await.0, 200);

    // Leaving the mapped group ends the access and the session at once; coming back
    // re-activates without a new invitation, and signing in works again.
    let (_, groups) = app
        .scim_json(
            OKTA_TOKEN,
            Method::GET,
            "/Groups?filter=displayName%20eq%20%22Engineering%22",
            None,
        )
        .await;
    let group = groups["Resources"][0]["id"]
        .as_str()
        .expect("group")
        .to_owned();
    let membership = |op: &str| {
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": op, "path": "members", "value": [{ "value": id }] }] })
    };
    let path = format!("/Groups/{group}");
    let (status, _) = app
        .scim_json(OKTA_TOKEN, Method::PATCH, &path, Some(membership("remove")))
        .await;
    assert!(status == 200 || status == 204, "{status}");
    assert_eq!(session(&app, &newer).await.0, 401);
    let stored = app
        .db
        .store
        .get_user(&id.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, UserState::Suspended);
    let (status, _) = app
        .scim_json(OKTA_TOKEN, Method::PATCH, &path, Some(membership("add")))
        .await;
    assert!(status == 200 || status == 204, "{status}");
    let stored = app
        .db
        .store
        .get_user(&id.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, UserState::Active);
    assert_eq!(
        app.db
            .store
            .list_invitations(&stored.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let (status, _, cookie) =
        sign_in(&app, "okta", identity("00u-ana", "ana@acme.com"), None).await;
    assert_eq!(status, 303);
    let newer = cookie.expect("cookie");

    // Suspended through SCIM: the old cookie stops working at once.
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(
                json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                         "Operations": [{ "op": "replace", "path": "active", "value": false }] }),
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(session(&app, &newer).await.0, 401);
    assert_eq!(
        get_with(&app, "/auth/verify", Some(&newer)).await.status(),
        401
    );

    // Signing in again is refused: no access.
    let (status, _, cookie) =
        sign_in(&app, "okta", identity("00u-ana", "ana@acme.com"), None).await;
    assert_eq!((status, cookie), (403, None));
    assert_eq!(refused_codes(&app).await, vec!["ACCESS-NONE"]);
}
both_engines_app!(scim_user_signs_in_and_is_signed_out_by_suspension);

async fn logout_ends_the_session(app: TestApp) {
    provision(&app, "ana@acme.com", "00u-ana", true).await;
    let (_, _, cookie) = sign_in(&app, "okta", identity("00u-ana", "ana@acme.com"), None).await;
    let cookie = cookie.expect("cookie");
    let res = app
        .http
        .post(format!("{}/logout", app.base))
        .header("cookie", format!("idp_sync_session={cookie}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cleared = res.headers()[header::SET_COOKIE.as_str()]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cleared.starts_with("idp_sync_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(session(&app, &cookie).await.0, 401);
}
both_engines_app!(logout_ends_the_session);

async fn idle_and_expired_sessions_end(app: TestApp) {
    let id = provision(&app, "ana@acme.com", "00u-ana", true).await;
    sign_in(&app, "okta", identity("00u-ana", "ana@acme.com"), None).await;
    let now = chrono::Utc::now();
    let make = |token: &str, last_seen_hours: i64, expires_hours: i64| Session {
        id_hash: idp_sync::reconcile::lifecycle::token_hash(token),
        user_id: id.as_str().into(),
        connection: ConnectionId::new("okta"),
        created_at: now - chrono::Duration::hours(10),
        last_seen_at: now - chrono::Duration::hours(last_seen_hours),
        expires_at: now + chrono::Duration::hours(expires_hours),
        revoked_at: None,
    };
    let idle = make(&"i".repeat(43), 9, 5);
    let expired = make(&"e".repeat(43), 0, -1);
    let fresh = make(&"f".repeat(43), 0, 5);
    for s in [&idle, &expired, &fresh] {
        app.db.store.create_session(s).await.unwrap();
    }
    assert_eq!(
        session(&app, &"i".repeat(43)).await.0,
        401,
        "idle for 9 h (> 8 h)"
    );
    assert_eq!(
        session(&app, &"e".repeat(43)).await.0,
        401,
        "past its absolute expiry"
    );
    assert_eq!(session(&app, &"f".repeat(43)).await.0, 200);
}
both_engines_app!(idle_and_expired_sessions_end);

async fn unknown_people_and_other_identities_are_refused(app: TestApp) {
    // Nobody provisioned with that subject or name on a SCIM connection.
    let (status, _, cookie) = sign_in(
        &app,
        "okta",
        identity("00u-nobody", "nobody@acme.com"),
        None,
    )
    .await;
    assert_eq!((status, cookie), (403, None));

    // Matching by email alone across connections never happens: Ana exists in Okta only.
    provision(&app, "ana@acme.com", "00u-ana", true).await;
    let (status, _, _) = sign_in(&app, "entra", identity("entra-ana", "ana@acme.com"), None).await;
    assert_eq!(status, 403);

    // The first sign-in links the subject; another subject claiming the same user name
    // afterwards is refused.
    let mut by_name = identity("nameid-ana", "ana@acme.com");
    by_name.user_name = Some("ana@acme.com".to_owned());
    assert_eq!(sign_in(&app, "okta", by_name, None).await.0, 303);
    let mut other = identity("nameid-mallory", "ana@acme.com");
    other.user_name = Some("ana@acme.com".to_owned());
    assert_eq!(sign_in(&app, "okta", other, None).await.0, 403);

    // A connection that is not configured.
    assert_eq!(
        sign_in(&app, "nope", identity("s", "s@x.com"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        refused_codes(&app).await,
        vec![
            "SSO-CONNECTION",
            "SSO-SUBJECT-MISMATCH",
            "USER-UNKNOWN",
            "USER-UNKNOWN"
        ],
        "newest first"
    );
    let page = sso::finish(
        &app.state,
        &ConnectionId::new("okta"),
        identity("00u-x", "x@y.z"),
        None,
        None,
        &HeaderMap::new(),
    )
    .await;
    let body = axum::body::to_bytes(page.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("USER-UNKNOWN") && body.contains("Ask your administrator"),
        "{body}"
    );
    let mut json_headers = HeaderMap::new();
    json_headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let page = sso::finish(
        &app.state,
        &ConnectionId::new("okta"),
        identity("00u-x", "x@y.z"),
        None,
        None,
        &json_headers,
    )
    .await;
    assert_eq!(page.status(), 403);
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(page.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["error"]["code"], "USER-UNKNOWN");
}
both_engines_app!(unknown_people_and_other_identities_are_refused);

async fn jit_users_get_the_groups_of_the_sign_in(app: TestApp) {
    // Without groups that grant access, nobody is created.
    let mut who = identity("jit-1", "bo@globex.com");
    who.groups = Some(vec!["Visitors".to_owned()]);
    assert_eq!(sign_in(&app, "jit", who.clone(), None).await.0, 403);
    assert!(
        app.db
            .store
            .read()
            .await
            .unwrap()
            .find_user_by_sso_subject(&ConnectionId::new("jit"), "jit-1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(refused_codes(&app).await, vec!["ACCESS-NONE"]);

    // A mapped group (matched case-insensitively): created, invited and accepted at once.
    who.groups = Some(vec!["staff".to_owned(), "Visitors".to_owned()]);
    let (status, _, cookie) = sign_in(&app, "jit", who.clone(), None).await;
    assert_eq!(status, 303);
    let (status, body) = session(&app, &cookie.expect("cookie")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["user_name"], "bo@globex.com");
    assert_eq!(body["user"]["display_name"], "Ana Lima");
    assert_eq!(body["access"]["role"], "Creator");
    assert_eq!(body["access"]["organizations"], json!(["globex"]));

    // The next sign-in without the group takes the access away (the IdP is the truth).
    who.groups = Some(vec!["Visitors".to_owned()]);
    assert_eq!(sign_in(&app, "jit", who.clone(), None).await.0, 403);
    let user = app
        .db
        .store
        .read()
        .await
        .unwrap()
        .find_user_by_sso_subject(&ConnectionId::new("jit"), "jit-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.state, UserState::Suspended);

    // Back in the group: active again, without a new invitation.
    who.groups = Some(vec!["Staff".to_owned()]);
    assert_eq!(sign_in(&app, "jit", who, None).await.0, 303);
    let invitations = app.db.store.list_invitations(&user.id).await.unwrap();
    assert_eq!(invitations.len(), 1, "{invitations:?}");
}
both_engines_app!(jit_users_get_the_groups_of_the_sign_in, super::JIT);

async fn manual_invitations_are_accepted_through_the_invitation_page(app: TestApp) {
    let res = app
        .http
        .post(format!("{}/admin/v1/invitations", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "emails": ["cy@partner.com"], "role": "Read-only", "organizations": ["globex"] }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let user = app
        .db
        .store
        .read()
        .await
        .unwrap()
        .find_user_by_user_name(&ConnectionId::manual(), "cy@partner.com")
        .await
        .unwrap()
        .expect("invited user");
    let invitation = app
        .db
        .store
        .list_invitations(&user.id)
        .await
        .unwrap()
        .remove(0);
    let login = |email_invitation: Option<String>| SsoLogin {
        key: "k".to_owned(),
        connection: ConnectionId::new("okta"),
        browser_hash: String::new(),
        return_to: "/".to_owned(),
        nonce: None,
        pkce_verifier: None,
        invitation_id: email_invitation,
        created_at: chrono::Utc::now(),
        expires_at: chrono::Utc::now(),
    };
    // A login started for another connection is refused.
    let mut elsewhere = login(None);
    elsewhere.connection = ConnectionId::new("entra");
    assert_eq!(
        sign_in(
            &app,
            "okta",
            identity("00u-cy", "cy@partner.com"),
            Some(elsewhere)
        )
        .await
        .0,
        400
    );
    // Without the invitation, an Okta identity does not reach the manual user.
    assert_eq!(
        sign_in(&app, "okta", identity("00u-cy", "cy@partner.com"), None)
            .await
            .0,
        403
    );
    // With it, but another address: refused.
    assert_eq!(
        sign_in(
            &app,
            "okta",
            identity("00u-cy", "eve@partner.com"),
            Some(login(Some(invitation.id.clone())))
        )
        .await
        .0,
        403
    );
    // With it and the invited address: accepted and linked.
    let (status, _, cookie) = sign_in(
        &app,
        "okta",
        identity("00u-cy", "CY@partner.com"),
        Some(login(Some(invitation.id))),
    )
    .await;
    assert_eq!(status, 303);
    let (_, body) = session(&app, &cookie.unwrap()).await;
    assert_eq!(body["user"]["state"], "active");
    assert_eq!(body["access"]["role"], "Read-only");
    // Later sign-ins find the link without the invitation.
    assert_eq!(
        sign_in(&app, "okta", identity("00u-cy", "cy@partner.com"), None)
            .await
            .0,
        303
    );
}
both_engines_app!(manual_invitations_are_accepted_through_the_invitation_page);

async fn logins_under_way_are_bound_to_their_browser(app: TestApp) {
    let okta = ConnectionId::new("okta");
    let query = LoginQuery {
        return_to: Some("//evil.example/".to_owned()),
        invitation: None,
    };
    let (login, set_cookie) = sso::begin_login(
        &app.state,
        &okta,
        &HeaderMap::new(),
        "req-1",
        &query,
        Some("n".to_owned()),
        None,
    )
    .await
    .unwrap_or_else(|_| panic!("begin"));
    assert_eq!(
        login.return_to, "/",
        "an off-site return_to falls back to /"
    );
    let set_cookie = set_cookie.to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("idp_sync_sso=") && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    let value = set_cookie["idp_sync_sso=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut browser = HeaderMap::new();
    browser.insert(
        header::COOKIE,
        HeaderValue::from_str(&format!("idp_sync_sso={value}")).unwrap(),
    );

    // A second login from the same browser keeps the same cookie.
    let query = LoginQuery {
        return_to: Some(format!("{}/app?x=1", app.base)),
        invitation: None,
    };
    let (second, again) =
        sso::begin_login(&app.state, &okta, &browser, "req-2", &query, None, None)
            .await
            .unwrap_or_else(|_| panic!("begin"));
    assert_eq!(second.return_to, "/app?x=1");
    assert!(again.to_str().unwrap().contains(&value));

    match sso::take_login(&app.state, "req-1", &browser).await {
        Ok(Pending::Found(l)) => assert_eq!(l.nonce.as_deref(), Some("n")),
        other => panic!("{:?}", other.map(|_| ()).is_ok()),
    }
    assert!(
        matches!(
            sso::take_login(&app.state, "req-1", &browser).await,
            Ok(Pending::Unknown)
        ),
        "used once"
    );
    assert!(matches!(
        sso::take_login(&app.state, "req-2", &HeaderMap::new()).await,
        Ok(Pending::OtherBrowser)
    ));
    assert!(matches!(
        sso::take_login(&app.state, "never", &browser).await,
        Ok(Pending::Unknown)
    ));
}
both_engines_app!(logins_under_way_are_bound_to_their_browser);
