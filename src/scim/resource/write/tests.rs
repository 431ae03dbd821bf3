//! [`write_user`] against the tree path it stands in for, byte for byte.

use super::*;
use crate::domain::entities::User;
use crate::domain::ids::{GroupId, UserId};
use crate::scim::list::ListResponse;
use crate::scim::projection::project;
use crate::scim::resource::{parse_user, render_user};
use chrono::{SecondsFormat, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;

const BASE: &str = "https://sync.acme.com/scim/v2/";

fn tree_path(user: &User, groups: &[(GroupId, String)]) -> String {
    let mut v = render_user(user, groups, BASE);
    project(&mut v, None, None, ResourceType::User);
    serde_json::to_string(&v).unwrap()
}

/// The direct path from the parsed resource and from its stored text, each `None` when it
/// declined. The text path may decline more often (`{}` inside a string), never less.
fn direct_paths(user: &User, groups: &[(GroupId, String)]) -> (Option<String>, Option<String>) {
    let times = UserTimes::of(user);
    let columns = UserColumns::of(user, &times);
    let mut parsed = b"prefix".to_vec();
    let parsed_ok = write_user(
        &mut parsed,
        &columns,
        StoredScim::Parsed(&user.scim),
        groups,
        BASE,
    );
    if !parsed_ok {
        assert_eq!(
            parsed, b"prefix",
            "a declined write leaves the buffer as it was"
        );
    }
    let text = serde_json::to_string(&user.scim).unwrap();
    let mut raw = Vec::new();
    let raw_ok = write_user(&mut raw, &columns, StoredScim::Text(&text), groups, BASE);
    if user.scim.is_object() {
        assert!(
            parsed_ok || !raw_ok,
            "the text path accepted what the tree path declined: {text}"
        );
    }
    let parsed = String::from_utf8(parsed.split_off(6)).unwrap();
    (
        parsed_ok.then_some(parsed),
        raw_ok.then(|| String::from_utf8(raw).unwrap()),
    )
}

/// The direct path's answer, checked to be the same from the tree and from the text.
fn direct_path(user: &User, groups: &[(GroupId, String)]) -> Option<String> {
    let (parsed, raw) = direct_paths(user, groups);
    if let (Some(p), Some(r)) = (&parsed, &raw) {
        assert_eq!(p, r);
    }
    parsed
}

fn user_from(scim: Value) -> User {
    let t = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    let mut user = User::new("okta".into(), "bjensen@acme.com", t);
    user.id = UserId::new("2819c223-7f76-453a-919d-413861904646");
    user.scim = scim;
    user.version = 7;
    user.updated_at = t + chrono::Duration::milliseconds(300_123);
    user
}

fn groups() -> Vec<(GroupId, String)> {
    vec![
        (GroupId::new("0b4a"), "Engineering".to_owned()),
        (GroupId::new("9f00"), "Sales \"EMEA\" é".to_owned()),
        (GroupId::new("a1"), String::new()),
    ]
}

#[test]
fn idp_fixtures_are_written_directly_and_equal_the_tree_path() {
    for fixture in [
        include_str!("../fixtures/okta_create_user.json"),
        include_str!("../fixtures/entra_create_user.json"),
    ] {
        let write = parse_user(&serde_json::from_str(fixture).unwrap()).unwrap();
        let mut user = user_from(write.resource.clone());
        user.user_name = write.user_name.clone();
        user.external_id = write.external_id.clone();
        for (active, groups) in [(true, groups()), (false, Vec::new()), (true, Vec::new())] {
            user.active = active;
            let direct = direct_path(&user, &groups).expect("an IdP's user is written directly");
            assert_eq!(direct, tree_path(&user, &groups));
        }
    }
}

#[test]
fn the_columns_win_and_what_must_not_be_returned_is_not() {
    let mut user = user_from(json!({
        "userName": "stale@acme.com", "externalId": "stale", "id": "stale", "active": true,
        "password": "leaked", "groups": [{"value": "x"}], "meta": {"version": "W/\"1\""},
        "schemas": ["urn:nonsense"], "UserName": "odd case kept",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "R&D", "manager": {"value": "m1", "displayName": "Boss"}
        },
        "urn:okta:custom:1.0:User": {"shoe": 42.5, "tags": ["a", "b"]},
        "urn:not:an:object": "text",
        "nickName": null, "title": "", "x509Certificates": [{"value": "MII="}],
    }));
    user.external_id = None;
    user.active = false;
    let direct = direct_path(&user, &groups()).unwrap();
    assert_eq!(direct, tree_path(&user, &groups()));
    assert!(!direct.contains("leaked") && !direct.contains("stale"));
}

#[test]
fn values_the_projection_would_rewrite_are_left_to_the_tree_path() {
    for scim in [
        json!({"emails": []}),
        json!({"emails": [{}]}),
        json!({"name": {}}),
        json!({"urn:x:y:1.0:User": {"a": []}}),
    ] {
        let user = user_from(scim.clone());
        assert_eq!(direct_path(&user, &[]), None, "{scim}");
    }
    // An empty extension object is dropped, while `schemas` still names it: as the tree.
    let user = user_from(json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {}}));
    assert_eq!(direct_path(&user, &[]).unwrap(), tree_path(&user, &[]));
    // Keys with escapes cannot be borrowed from the text: declined there.
    let columns = UserColumns {
        id: "u1",
        user_name: "a",
        external_id: None,
        active: true,
        version: 1,
        created: "2025-03-01T12:00:00.000Z",
        last_modified: "2025-03-01T12:00:00.000Z",
    };
    let mut out = Vec::new();
    assert!(!write_user(
        &mut out,
        &columns,
        StoredScim::Text(r#"{"ti\"tle":"x"}"#),
        &[] as &[(&str, &str)],
        BASE
    ));
    assert!(out.is_empty());
}

#[test]
fn stored_timestamps_give_the_millisecond_form() {
    let mut x: i64 = 99;
    for _ in 0..2_000 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let secs = (x >> 20).rem_euclid(253_402_300_799);
        let t = chrono::DateTime::from_timestamp(secs, (x as u32) % 1_000_000_000).unwrap();
        let stored = t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        assert_eq!(
            millis_of_stored(&stored).as_ref().map(StoredMillis::as_str),
            Some(t.to_rfc3339_opts(SecondsFormat::Millis, true).as_str()),
            "{stored}"
        );
    }
    assert_eq!(millis_of_stored("2025-03-01 12:00:00+00:00"), None);
    assert_eq!(millis_of_stored("2025-03-01T12:00:00Z"), None);
}

#[test]
fn list_responses_equal_the_tree_path() {
    for n in [0_usize, 1, 3] {
        let resources: Vec<Value> = (0..n).map(|i| json!({"id": i, "x": [i]})).collect();
        let written: Vec<Vec<u8>> = resources
            .iter()
            .map(|r| serde_json::to_vec(r).unwrap())
            .collect();
        let mut out = Vec::new();
        write_list_response(&mut out, 1_234, 7, &written);
        let tree = ListResponse::new(1_234, 7, resources).to_json();
        assert_eq!(String::from_utf8(out).unwrap(), tree.to_string());
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-zA-Z0-9 é\"\\\\/\u{1}{}\\[\\]]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("value".to_owned()),
        Just("type".to_owned()),
        Just("primary".to_owned()),
        Just("givenName".to_owned()),
        Just("displayName".to_owned()),
        Just("$ref".to_owned()),
        // Keys that need escapes: the tree path writes them escaped, the text path declines.
        Just("a\"b".to_owned()),
        Just("tab\tkey".to_owned()),
        "[a-zA-Z]{1,6}",
    ]
}

fn top_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_owned()),
        Just("emails".to_owned()),
        Just("displayName".to_owned()),
        Just("active".to_owned()),
        Just("password".to_owned()),
        Just("groups".to_owned()),
        Just("meta".to_owned()),
        Just("id".to_owned()),
        Just("externalId".to_owned()),
        Just("userName".to_owned()),
        Just("schemas".to_owned()),
        Just("Emails".to_owned()),
        Just("x509Certificates".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        Just("urn:okta:custom:1.0:User".to_owned()),
        key(),
    ]
}

fn user_strategy() -> impl Strategy<Value = (User, Vec<(GroupId, String)>)> {
    (
        prop::collection::btree_map(top_key(), json_value(), 0..8),
        any::<bool>(),
        prop::option::of("[a-z0-9\"]{1,6}"),
        prop::collection::vec(("[a-f0-9]{1,4}", "[A-Za-z \"]{0,5}"), 0..3),
    )
        .prop_map(|(fields, active, external_id, groups)| {
            let mut user = user_from(Value::Object(fields.into_iter().collect()));
            user.active = active;
            user.external_id = external_id;
            let groups = groups
                .into_iter()
                .map(|(id, name)| (GroupId::new(id), name))
                .collect();
            (user, groups)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_resources_are_written_as_the_tree_path_writes_them((user, groups) in user_strategy()) {
        let (parsed, raw) = direct_paths(&user, &groups);
        let tree = tree_path(&user, &groups);
        for direct in [parsed, raw].into_iter().flatten() {
            prop_assert_eq!(&direct, &tree);
        }
    }
}

proptest! {
    /// The eight-bytes-at-a-time test agrees with the plain one at every length and offset,
    /// multi-byte UTF-8 included.
    #[test]
    fn the_word_escape_test_agrees_with_the_byte_test(
        text in proptest::collection::vec(
            prop_oneof![
                4 => 0x20u8..0x7f,
                1 => 0u8..0x20,
                1 => Just(b'"'),
                1 => Just(b'\\'),
                2 => 0x80u8..=0xff,
            ],
            0..40,
        )
    ) {
        let plain = text.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        prop_assert_eq!(super::needs_escape(&text), plain);
    }
}

#[test]
fn stored_members_are_read_in_map_order() {
    for text in [
        r#"{"b":1,"a":2}"#,
        r#"{"a":1,"b":2,"a":3}"#,
        r#"{"a":{"y":1,"x":2},"c":[],"b":"t"}"#,
        r#"{}"#,
    ] {
        let map: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
        let read: Vec<(String, Value)> = raw_members(text)
            .unwrap()
            .into_iter()
            .map(|(k, v)| {
                let Stored::Raw(raw) = v else { panic!("raw") };
                (k.to_owned(), serde_json::from_str(raw.get()).unwrap())
            })
            .collect();
        let expected: Vec<(String, Value)> = map.into_iter().collect();
        assert_eq!(read, expected, "{text}");
    }
    for not_plain in [r#"{"a\"b":1}"#, "[1]", "1", "{"] {
        assert!(raw_members(not_plain).is_none(), "{not_plain}");
    }
}
