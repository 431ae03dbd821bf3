use super::*;
use crate::domain::entities::{IdpGroup, User};
use crate::domain::ids::{GroupId, UserId};
use crate::scim::definitions::SchemaDef;
use crate::scim::error::ScimType;
use crate::scim::projection::{parse_attribute_list, project};
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use chrono::TimeZone;
use serde_json::json;

const OKTA_EXT: &str = "urn:ietf:params:scim:schemas:extension:okta:2.0:User";

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}
fn okta_user() -> Value {
    fixture(include_str!("fixtures/okta_create_user.json"))
}
fn entra_user() -> Value {
    fixture(include_str!("fixtures/entra_create_user.json"))
}
fn jumpcloud_group() -> Value {
    fixture(include_str!("fixtures/jumpcloud_create_group.json"))
}

fn assert_invalid_value(result: Result<impl std::fmt::Debug, ScimError>, mentions: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{err}");
    assert_eq!(err.status(), 400);
    assert!(
        err.detail().contains(mentions),
        "{err} should mention {mentions}"
    );
}

#[test]
fn okta_create_user() {
    let w = parse_user(&okta_user()).unwrap();
    assert_eq!(w.user_name, "test.user@okta.local");
    assert_eq!(w.external_id.as_deref(), Some("00ujl29u0le5T6Aj10h7"));
    assert!(w.active);
    assert_eq!(w.display_name.as_deref(), Some("Test User"));
    assert_eq!(w.given_name.as_deref(), Some("Test"));
    assert_eq!(w.family_name.as_deref(), Some("User"));
    assert_eq!(w.email.as_deref(), Some("test.user@okta.local"));
    assert_eq!(w.password.as_deref(), Some("1mz050nq"));
    assert!(w.ignored.is_empty(), "{:?}", w.ignored);
    // The password is not stored; groups (readOnly) are ignored; the custom extension stays.
    assert!(w.resource.get("password").is_none());
    assert!(w.resource.get("groups").is_none());
    assert_eq!(w.resource["locale"], "en-US");
    assert_eq!(w.resource[OKTA_EXT]["badgeNumber"], "B-1138");
    assert_eq!(w.resource["schemas"], json!([USER_SCHEMA, OKTA_EXT]));
}

#[test]
fn entra_create_user() {
    let w = parse_user(&entra_user()).unwrap();
    assert_eq!(
        w.user_name,
        "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
    );
    // No displayName: name.formatted (DESIGN §10).
    assert_eq!(w.display_name.as_deref(), Some("givenName familyName"));
    assert!(w.resource.get("meta").is_none());
    assert!(
        w.resource.get("roles").is_none(),
        "an empty list is unassigned"
    );
    let ent = &w.resource[ENTERPRISE_USER_SCHEMA];
    assert_eq!(ent["department"], "Tour Operations");
    assert_eq!(
        ent["manager"],
        json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d"})
    );
}

#[test]
fn entra_string_booleans() {
    for (text, expected) in [
        ("True", true),
        ("False", false),
        ("FALSE", false),
        ("true", true),
    ] {
        let mut body = entra_user();
        body["active"] = json!(text);
        body["emails"][0]["primary"] = json!(text);
        let w = parse_user(&body).unwrap();
        assert_eq!(w.active, expected, "{text}");
        assert_eq!(w.resource["active"], json!(expected));
        assert_eq!(w.resource["emails"][0]["primary"], json!(expected));
    }
    let mut body = entra_user();
    body["active"] = json!("yes");
    assert_invalid_value(parse_user(&body), "active");
}

#[test]
fn attribute_names_are_case_insensitive() {
    let body = json!({
        "SCHEMAS": ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"],
        "USERNAME": "ana@acme.com",
        "Name": {"GIVENNAME": "Ana", "familyname": "Lima"},
        "Emails": [{"VALUE": "ana@acme.com", "Primary": "true"}],
        "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User": {"Department": "Sales"},
        "displayname": "Ana"
    });
    let w = parse_user(&body).unwrap();
    assert_eq!(w.user_name, "ana@acme.com");
    assert_eq!(w.given_name.as_deref(), Some("Ana"));
    assert_eq!(w.email.as_deref(), Some("ana@acme.com"));
    assert_eq!(
        w.resource,
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "ana@acme.com",
            "name": {"givenName": "Ana", "familyName": "Lima"},
            "emails": [{"value": "ana@acme.com", "primary": true}],
            ENTERPRISE_USER_SCHEMA: {"department": "Sales"},
            "displayName": "Ana"
        })
    );
    let twice = json!({"schemas": [USER_SCHEMA], "userName": "a", "USERNAME": "b"});
    assert_eq!(
        parse_user(&twice).unwrap_err().scim_type(),
        Some(ScimType::InvalidSyntax)
    );
}

#[test]
fn unknown_core_attributes_are_dropped_and_reported() {
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": "ana",
        "favouriteColour": "teal",
        "name": {"givenName": "Ana", "nickname": "A"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"shoeSize": "9"}
    });
    let w = parse_user(&body).unwrap();
    let mut ignored = w.ignored.clone();
    ignored.sort();
    assert_eq!(
        ignored,
        [
            "favouriteColour",
            "name.nickname",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shoeSize"
        ]
    );
    assert!(w.resource.get("favouriteColour").is_none());
    assert_eq!(w.resource["name"], json!({"givenName": "Ana"}));
    // Nothing left of the extension: not stored, not declared.
    assert!(w.resource.get(ENTERPRISE_USER_SCHEMA).is_none());
    assert_eq!(w.resource["schemas"], json!([USER_SCHEMA]));
}

#[test]
fn extension_data_without_its_urn_is_declared() {
    let mut body = okta_user();
    body["schemas"] = json!([USER_SCHEMA]);
    body[ENTERPRISE_USER_SCHEMA] = json!({"costCenter": "42"});
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"] = json!("EMEA");
    let w = parse_user(&body).unwrap();
    assert_eq!(
        w.resource[ENTERPRISE_USER_SCHEMA],
        json!({"costCenter": "42", "division": "EMEA"})
    );
    let schemas = w.resource["schemas"].as_array().unwrap();
    assert!(schemas.contains(&json!(ENTERPRISE_USER_SCHEMA)));
    assert!(schemas.contains(&json!(OKTA_EXT)));
}

#[test]
fn wrong_types_name_the_attribute() {
    let base = || json!({"schemas": [USER_SCHEMA], "userName": "ana"});
    for (key, value, mentions) in [
        ("displayName", json!(42), "displayName"),
        ("emails", json!({"value": "a@b.c"}), "emails"),
        ("emails", json!(["a@b.c"]), "emails"),
        ("name", json!("Ana Lima"), "name"),
        ("active", json!(1), "active"),
        ("externalId", json!(["x"]), "externalId"),
        ("password", json!(12345), "password"),
    ] {
        let mut body = base();
        body[key] = value;
        assert_invalid_value(parse_user(&body), mentions);
    }
    let mut body = base();
    body["emails"] = json!([{"value": "a@b.c", "primary": "sometimes"}]);
    assert_invalid_value(parse_user(&body), "emails.primary");
    let mut body = base();
    body[ENTERPRISE_USER_SCHEMA] = json!({"department": ["a"]});
    assert_invalid_value(parse_user(&body), "department");
    let mut body = base();
    body["urn:example:custom:1.0:User"] = json!("flat");
    assert_invalid_value(parse_user(&body), "urn:example:custom");
    // Entra's bare-string manager is its value.
    let mut body = base();
    body[ENTERPRISE_USER_SCHEMA] = json!({"manager": "m-1"});
    let w = parse_user(&body).unwrap();
    assert_eq!(
        w.resource[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "m-1"})
    );
}

#[test]
fn user_name_and_schemas_are_required() {
    for body in [
        json!({"schemas": [USER_SCHEMA]}),
        json!({"schemas": [USER_SCHEMA], "userName": "  "}),
        json!({"schemas": [USER_SCHEMA], "userName": null}),
    ] {
        assert_invalid_value(parse_user(&body), "userName");
    }
    for body in [
        json!({"userName": "ana"}),
        json!({"schemas": [GROUP_SCHEMA], "userName": "ana"}),
        json!({"schemas": USER_SCHEMA, "userName": "ana"}),
        json!("ana"),
    ] {
        let err = parse_user(&body).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax), "{body}");
    }
}

#[test]
fn read_only_attributes_are_ignored() {
    let body = json!({
        "schemas": [USER_SCHEMA],
        "id": "chosen-by-client",
        "userName": "ana",
        "meta": {"resourceType": "User", "version": "W/\"9\""},
        "groups": [{"value": "g1"}],
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m1", "displayName": "Boss"}}
    });
    let w = parse_user(&body).unwrap();
    assert!(w.ignored.is_empty());
    for key in ["id", "meta", "groups"] {
        assert!(w.resource.get(key).is_none(), "{key}");
    }
    assert_eq!(
        w.resource[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "m1"})
    );
}

#[test]
fn email_choice() {
    let with = |emails: Value| {
        parse_user(&json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": emails}))
            .unwrap()
            .email
    };
    let emails = json!([
        {"value": "home@x", "type": "home"},
        {"value": "work@x", "type": "Work"},
        {"value": "main@x", "primary": true}
    ]);
    assert_eq!(with(emails).as_deref(), Some("main@x"));
    let emails = json!([{"value": "home@x", "type": "home"}, {"value": "work@x", "type": "work"}]);
    assert_eq!(with(emails).as_deref(), Some("work@x"));
    let emails = json!([{"value": "first@x"}, {"value": "second@x"}]);
    assert_eq!(with(emails).as_deref(), Some("first@x"));
    assert_eq!(with(json!([])), None);
}

#[test]
fn jumpcloud_group_with_members() {
    let w = parse_group(&jumpcloud_group()).unwrap();
    assert_eq!(w.display_name, "Engineering");
    assert_eq!(w.external_id.as_deref(), Some("5f8d0f1b2c3e4a5b6c7d8e9f"));
    assert_eq!(
        w.members,
        [
            "0b5f6d1e-2a3c-4d5e-8f90-1a2b3c4d5e6f",
            "6e7f8a9b-0c1d-4e2f-8a3b-4c5d6e7f8a9b"
        ]
    );
    assert!(w.resource.get("members").is_none());
    assert_eq!(w.resource["schemas"], json!([GROUP_SCHEMA]));
}

#[test]
fn group_rules() {
    let base = || json!({"schemas": [GROUP_SCHEMA], "displayName": "Eng"});
    let mut body = base();
    body["members"] = json!([{"value": "u1"}, {"VALUE": "u1", "type": "User"}, {"value": "u2"}]);
    assert_eq!(parse_group(&body).unwrap().members, ["u1", "u2"]);
    let mut body = base();
    body["members"] = json!([{"value": "g2", "type": "Group"}]);
    assert_invalid_value(parse_group(&body), "nested groups");
    let mut body = base();
    body["members"] = json!([{"display": "no id"}]);
    assert_invalid_value(parse_group(&body), "value");
    assert_invalid_value(
        parse_group(&json!({"schemas": [GROUP_SCHEMA], "displayName": ""})),
        "displayName",
    );
    let err = parse_group(&json!({"schemas": [USER_SCHEMA], "displayName": "x"})).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax));
}

const FROZEN: AttributeDef =
    AttributeDef::string("employeeNumber", "test: immutable").mutability(Mutability::Immutable);
const TEST_EXT: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "",
    attributes: &[
        FROZEN,
        AttributeDef::complex(
            "manager",
            "",
            &[AttributeDef::string("value", "").mutability(Mutability::Immutable)],
        ),
    ],
};
const TEST_TYPE: ResourceTypeDef = ResourceTypeDef {
    name: "User",
    endpoint: "/Users",
    description: "",
    schema: &crate::scim::definitions::USER,
    extensions: &[(&TEST_EXT, false)],
};

#[test]
fn immutable_attributes() {
    let user = |number: Option<&str>, manager: Option<&str>| {
        let mut ext = Map::new();
        if let Some(n) = number {
            ext.insert("employeeNumber".into(), json!(n));
        }
        if let Some(m) = manager {
            ext.insert("manager".into(), json!({"value": m}));
        }
        json!({"schemas": [USER_SCHEMA], "userName": "a", ENTERPRISE_USER_SCHEMA: ext})
    };
    let check = |old, new| check_immutable_with(&old, &new, &TEST_TYPE);
    assert!(check(user(Some("7"), None), user(Some("7"), None)).is_ok());
    // Case-insensitive string, as its caseExact says.
    assert!(check(user(Some("ab"), None), user(Some("AB"), None)).is_ok());
    // Setting it for the first time, or leaving it out, is not a change.
    assert!(check(user(None, None), user(Some("7"), None)).is_ok());
    assert!(check(user(Some("7"), None), user(None, None)).is_ok());
    let err = check(user(Some("7"), None), user(Some("8"), None)).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::Mutability));
    assert!(err.detail().contains("employeeNumber"));
    let err = check(user(None, Some("m1")), user(None, Some("m2"))).unwrap_err();
    assert!(err.detail().contains("manager.value"), "{err}");
    // The real schemas have no immutable singular attribute: any change passes.
    let a = parse_user(&okta_user()).unwrap().resource;
    let b = parse_user(&entra_user()).unwrap().resource;
    assert!(check_immutable(&a, &b, ResourceType::User).is_ok());
    let g1 = parse_group(&jumpcloud_group()).unwrap().resource;
    assert!(check_immutable(&g1, &json!({"displayName": "x"}), ResourceType::Group).is_ok());
}

fn stored_user(write: &UserWrite) -> User {
    let t = chrono::Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    let mut user = User::new("okta".into(), write.user_name.clone(), t);
    user.id = UserId::new("2819c223-7f76-453a-919d-413861904646");
    user.external_id = write.external_id.clone();
    user.active = write.active;
    user.scim = write.resource.clone();
    user.version = 3;
    user.updated_at = t + chrono::Duration::minutes(5);
    user
}

#[test]
fn render_user_lets_columns_win_and_never_shows_the_password() {
    let write = parse_user(&okta_user()).unwrap();
    let mut user = stored_user(&write);
    user.user_name = "renamed@okta.local".into();
    user.active = false;
    // Even a password that reached the stored JSON somehow is not rendered.
    user.scim["password"] = json!("leaked");
    user.scim["id"] = json!("stale");
    let groups = [(GroupId::new("g1"), "Engineering".to_owned())];
    let v = render_user(&user, &groups, "https://sync.acme.com/scim/v2/");
    assert!(v.get("password").is_none());
    assert_eq!(v["id"], "2819c223-7f76-453a-919d-413861904646");
    assert_eq!(v["userName"], "renamed@okta.local");
    assert_eq!(v["active"], false);
    assert_eq!(v["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(v["locale"], "en-US");
    assert_eq!(v["schemas"], json!([USER_SCHEMA, OKTA_EXT]));
    assert_eq!(
        v["groups"],
        json!([{
            "value": "g1",
            "$ref": "https://sync.acme.com/scim/v2/Groups/g1",
            "display": "Engineering",
            "type": "direct"
        }])
    );
    assert_eq!(
        v["meta"],
        json!({
            "resourceType": "User",
            "created": "2025-03-01T12:00:00.000Z",
            "lastModified": "2025-03-01T12:05:00.000Z",
            "location": "https://sync.acme.com/scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
            "version": "W/\"3\""
        })
    );
    // Requesting the password still does not return it.
    let mut projected = v.clone();
    let attrs = parse_attribute_list("password,userName").unwrap();
    project(&mut projected, Some(&attrs), None, ResourceType::User);
    assert_eq!(
        projected,
        json!({"id": v["id"], "schemas": v["schemas"], "userName": "renamed@okta.local"})
    );
    // The rendered body parses back to the same stored resource (for PUT round trips).
    let again = parse_user(&v).unwrap();
    assert_eq!(again.resource[OKTA_EXT], write.resource[OKTA_EXT]);
    assert_eq!(again.user_name, "renamed@okta.local");
}

#[test]
fn render_group_with_and_without_members() {
    let t = chrono::Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    let mut group = IdpGroup::new("jumpcloud".into(), "Engineering", t);
    group.id = GroupId::new("g1");
    group.version = 7;
    let members = [(UserId::new("u1"), "ana.lima@acme.com".to_owned())];
    let v = render_group(&group, Some(&members), "https://sync.acme.com/scim/v2");
    assert_eq!(v["schemas"], json!([GROUP_SCHEMA]));
    assert_eq!(v["displayName"], "Engineering");
    assert!(v.get("externalId").is_none());
    assert_eq!(
        v["members"],
        json!([{
            "value": "u1",
            "$ref": "https://sync.acme.com/scim/v2/Users/u1",
            "display": "ana.lima@acme.com",
            "type": "User"
        }])
    );
    assert_eq!(
        v["meta"]["location"],
        "https://sync.acme.com/scim/v2/Groups/g1"
    );
    assert_eq!(v["meta"]["version"], "W/\"7\"");
    let v = render_group(&group, None, "https://sync.acme.com/scim/v2");
    assert!(v.get("members").is_none());
    // A member without a known display name has no `display`, not `""`.
    let unnamed = [(UserId::new("u2"), String::new())];
    let v = render_group(&group, Some(&unnamed), "https://x");
    assert!(v["members"][0].get("display").is_none(), "{v}");
    // What we render, we accept back (Okta PUTs the whole group).
    let back = parse_group(&render_group(&group, Some(&members), "https://x")).unwrap();
    assert_eq!(back.members, ["u1"]);
}

#[test]
fn unassigned_active_means_active_and_is_not_rendered() {
    let mut body = okta_user();
    body.as_object_mut().unwrap().remove("active");
    let write = parse_user(&body).unwrap();
    assert!(write.active);
    let mut user = stored_user(&write);
    let v = render_user(&user, &[], "https://x/scim/v2");
    assert!(v.get("active").is_none(), "{v}");
    // An inactive user always says so, even if the stored JSON has no `active`.
    user.active = false;
    assert_eq!(
        render_user(&user, &[], "https://x/scim/v2")["active"],
        false
    );
    // Sent, it is rendered from the column.
    let write = parse_user(&okta_user()).unwrap();
    assert_eq!(
        render_user(&stored_user(&write), &[], "https://x")["active"],
        true
    );
}

#[test]
fn group_written_around_its_members_is_the_rendered_group() {
    let t = chrono::Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    let mut group = IdpGroup::new("okta".into(), "Eng \"core\" <all>", t);
    group.id = GroupId::new("g1");
    let base = "https://sync.acme.com/scim/v2/";
    for external_id in [None, Some("ext-1".to_owned())] {
        group.external_id = external_id;
        for n in [0, 1, 3] {
            let members: Vec<(UserId, String)> = (0..n)
                .map(|i| (UserId::new(format!("u{i}\"x")), String::new()))
                .collect();
            let (head, tail) = group_json_around_members(render_group(&group, None, base));
            let mut out = head.into_bytes();
            for (i, (id, _)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_group_member(&mut out, id, base);
            }
            out.extend_from_slice(tail.as_bytes());
            let mut expected = render_group(&group, Some(&members), base);
            // The default projection (no attributes, no excludedAttributes) keeps it all.
            let rendered = expected.clone();
            project(&mut expected, None, None, ResourceType::Group);
            assert_eq!(expected, rendered);
            let expected = expected.to_string();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }
}
