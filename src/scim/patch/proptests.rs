//! Property tests: random operation lists never make [`apply`] or [`plan_group`] panic; a
//! request fails exactly when one of its operations fails on the state the ones before it
//! left (so a failure is never a partial application); applying a request in two halves
//! gives what applying it at once gives; and no attribute ends up with two primary values.

use super::*;
use crate::scim::schema::CoreSchema;
use proptest::prelude::*;
use serde_json::json;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "userName": "ana@acme.com",
        "name": {"givenName": "Ana", "familyName": "Lima"},
        "active": true,
        "emails": [
            {"value": "ana@acme.com", "type": "work", "primary": true},
            {"value": "ana@home.example", "type": "home"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"},
        "meta": {"resourceType": "User"}
    })
}

fn op_word() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["add", "Add", "replace", "Replace", "remove", "Remove"])
}

fn path() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(
        0.85,
        prop::sample::select(vec![
            "active",
            "userName",
            "id",
            "meta.created",
            "schemas",
            "title",
            "name",
            "name.givenName",
            "emails",
            "emails.value",
            "emails[type eq \"work\"]",
            "emails[type eq \"work\"].value",
            "emails[type eq \"home\"].primary",
            "emails[value co \"@\"]",
            "emails[primary eq true].type",
            "phoneNumbers[type eq \"mobile\"].value",
            "members",
            "members[value eq \"u2\"]",
            "members[value eq \"u2\" or value eq \"u3\"]",
            "members[display eq \"x\"]",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "displayName",
            "userName[value eq \"x\"]",
        ]),
    )
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec!["True", "false", "", "u2", "work", "x@y"]).prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "value",
        "type",
        "primary",
        "display",
        "givenName",
        "active",
        "id",
        "displayName",
        "members",
        "name.familyName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    ]);
    scalar().prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone().prop_map(str::to_owned), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn operation() -> impl Strategy<Value = Value> {
    (op_word(), path(), prop::option::weighted(0.9, value())).prop_map(|(op, path, value)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), op.into());
        if let Some(p) = path {
            o.insert("path".into(), p.into());
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    })
}

fn body(ops: &[Value]) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

fn primaries_ok(resource: &Value) -> bool {
    resource.as_object().is_none_or(|m| {
        m.values().all(|v| {
            v.as_array().is_none_or(|items| {
                items
                    .iter()
                    .filter(|i| i.get("primary") == Some(&Value::Bool(true)))
                    .count()
                    <= 1
            })
        })
    })
}

proptest! {
    #[test]
    fn apply_is_all_or_nothing(ops in prop::collection::vec(operation(), 1..6)) {
        let Ok(request) = PatchRequest::parse(&body(&ops)) else { return Ok(()) };
        let start = user();
        let whole = apply(&request, &start, &CoreSchema);
        // Replay one operation at a time: the request fails exactly at the first operation
        // that fails on the state the earlier ones left.
        let mut state = start.clone();
        let mut failed = None;
        for (i, op) in ops.iter().enumerate() {
            let one = PatchRequest::parse(&body(std::slice::from_ref(op))).unwrap();
            match apply(&one, &state, &CoreSchema) {
                Ok(next) => state = next,
                Err(e) => {
                    failed = Some((i, e));
                    break;
                }
            }
        }
        match (whole, failed) {
            (Ok(out), None) => {
                prop_assert_eq!(&out, &state);
                prop_assert!(primaries_ok(&out), "two primaries: {}", out);
            }
            (Err(e), Some((i, step))) => {
                let prefix = format!("Operations[{i}] ");
                prop_assert!(e.detail().starts_with(&prefix), "{} vs {}", e, i);
                prop_assert_eq!(e.code(), step.code());
            }
            (whole, failed) => prop_assert!(false, "whole {:?} vs stepwise {:?}", whole, failed),
        }
        prop_assert_eq!(start, user());
    }

    #[test]
    fn plan_group_never_panics(ops in prop::collection::vec(operation(), 1..6)) {
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "id": "g1", "displayName": "Eng"});
        if let Ok(request) = PatchRequest::parse(&body(&ops))
            && let Ok(plan) = plan_group(&request, &group, &CoreSchema)
        {
            prop_assert!(plan.resource.get("members").is_none());
            let non_empty = plan.members.iter().all(|c| match c {
                MemberChange::Add(ids) | MemberChange::Remove(ids) | MemberChange::Replace(ids) =>
                    !ids.is_empty(),
                MemberChange::RemoveAll => true,
            });
            prop_assert!(non_empty, "{:?}", plan.members);
        }
    }

    #[test]
    fn parse_never_panics(body in value()) {
        let _ = PatchRequest::parse(&body);
        let _ = PatchRequest::parse(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [body]}));
    }
}
