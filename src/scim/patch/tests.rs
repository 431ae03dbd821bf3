//! PATCH tests against the request bodies Entra ID and Okta send (fixtures in
//! `tests/fixtures/scim/patch/`) and the RFC 7644 §3.5.2 rules.

use super::*;
use crate::scim::error::{ErrorCode, ScimType};
use crate::scim::schema::CoreSchema;
use serde_json::json;

macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/scim/patch/",
            $name,
            ".json"
        )))
        .unwrap()
    };
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "00u1f9cMYQZFMPVXIDIZ",
        "userName": "ana@acme.com",
        "name": {"givenName": "Ana", "familyName": "Lima", "formatted": "Ana Lima"},
        "active": true,
        "emails": [
            {"value": "ana@acme.com", "type": "work", "primary": true},
            {"value": "ana@home.example", "type": "home"}
        ],
        "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z"}
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "00g1emaKYZTWRYYRRTSK",
        "displayName": "Engineering",
        "meta": {"resourceType": "Group"}
    })
}

fn ops(operations: Value) -> PatchRequest {
    PatchRequest::parse(&json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": operations,
    }))
    .unwrap()
}

fn patch(resource: &Value, operations: Value) -> Result<Value, ScimError> {
    apply(&ops(operations), resource, &CoreSchema)
}

fn group_plan(operations: Value) -> Result<GroupPatchPlan, ScimError> {
    plan_group(&ops(operations), &group(), &CoreSchema)
}

// ---- parsing ----

#[test]
fn parse_reads_any_key_and_op_case() {
    let req = PatchRequest::parse(&json!({
        "Schemas": ["URN:ietf:params:scim:api:messages:2.0:PatchOp"],
        "operations": [
            {"Op": "Add", "Path": "title", "Value": "x"},
            {"op": "REMOVE", "path": "nickName"},
            {"op": "replace", "path": "", "value": {"title": "y"}},
        ],
    }))
    .unwrap();
    let kinds: Vec<_> = req.operations().iter().map(PatchOperation::op).collect();
    assert_eq!(
        kinds,
        [PatchOpKind::Add, PatchOpKind::Remove, PatchOpKind::Replace]
    );
    assert_eq!(req.operations()[0].value(), Some(&json!("x")));
    assert!(
        req.operations()[2].path().is_none(),
        "empty path is no path"
    );
}

#[test]
fn parse_errors_follow_the_rfc_types() {
    let with = |ops: Value| json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops});
    for (body, scim_type, code) in [
        (json!([]), ScimType::InvalidSyntax, ErrorCode::PatchSchema),
        (
            json!({"Operations": [{"op": "add", "value": {}}]}),
            ScimType::InvalidSyntax,
            ErrorCode::PatchSchema,
        ),
        (
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []}),
            ScimType::InvalidSyntax,
            ErrorCode::PatchSchema,
        ),
        (
            json!({"schemas": [PATCH_OP_SCHEMA]}),
            ScimType::InvalidValue,
            ErrorCode::PatchOperations,
        ),
        (
            with(json!([])),
            ScimType::InvalidValue,
            ErrorCode::PatchOperations,
        ),
        (
            with(json!({"op": "add"})),
            ScimType::InvalidValue,
            ErrorCode::PatchOperations,
        ),
        (
            with(json!([{"op": "move", "path": "a", "value": 1}])),
            ScimType::InvalidSyntax,
            ErrorCode::PatchOp,
        ),
        (
            with(json!([{"path": "a", "value": 1}])),
            ScimType::InvalidSyntax,
            ErrorCode::PatchOp,
        ),
        (
            with(json!(["add"])),
            ScimType::InvalidSyntax,
            ErrorCode::PatchOp,
        ),
        (
            with(json!([{"op": "remove"}])),
            ScimType::NoTarget,
            ErrorCode::NoTarget,
        ),
        (
            with(json!([{"op": "Replace", "path": "active"}])),
            ScimType::InvalidValue,
            ErrorCode::PatchValue,
        ),
        (
            with(json!([{"op": "add", "path": "emails[", "value": 1}])),
            ScimType::InvalidPath,
            ErrorCode::PathSyntax,
        ),
    ] {
        let err = PatchRequest::parse(&body).unwrap_err();
        assert_eq!(err.scim_type(), Some(scim_type), "{body}: {err}");
        assert_eq!(err.code(), code, "{body}: {err}");
    }
    let err = PatchRequest::parse(&with(json!([
        {"op": "add", "path": "title", "value": "x"},
        {"op": "remove"}
    ])))
    .unwrap_err();
    assert!(err.detail().starts_with("Operations[1]"), "{err}");
}

// ---- users: what Entra and Okta send ----

#[test]
fn entra_deactivates_with_a_string_boolean() {
    let req = PatchRequest::parse(&fixture!("entra-user-deactivate")).unwrap();
    let out = apply(&req, &user(), &CoreSchema).unwrap();
    assert_eq!(out["active"], json!(false));
    let mut expected = user();
    expected["active"] = json!(false);
    assert_eq!(out, expected, "nothing else changes");
}

#[test]
fn okta_deactivates_with_a_pathless_replace() {
    let req = PatchRequest::parse(&fixture!("okta-user-deactivate")).unwrap();
    assert_eq!(
        apply(&req, &user(), &CoreSchema).unwrap()["active"],
        json!(false)
    );
}

#[test]
fn entra_pathless_replace_with_dotted_and_urn_keys() {
    let req = PatchRequest::parse(&fixture!("entra-user-pathless-replace")).unwrap();
    let out = apply(&req, &user(), &CoreSchema).unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "Ana Maria", "familyName": "Lima", "formatted": "Ana Lima"})
    );
    assert_eq!(out[ENTERPRISE], json!({"department": "Finance"}));
    assert_eq!(out["active"], json!(false));
    assert_eq!(
        out["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]),
        "an extension with attributes is listed in schemas"
    );
}

#[test]
fn pathless_schema_urn_key_with_an_object() {
    let out = patch(
        &user(),
        json!([{"op": "add", "value": {
            ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
            "urn:acme:params:scim:schemas:extension:custom:2.0:User": {"badge": "B-17"},
        }}]),
    )
    .unwrap();
    assert_eq!(
        out[ENTERPRISE],
        json!({"employeeNumber": "701984", "manager": {"value": "26118915"}})
    );
    assert_eq!(
        out["urn:acme:params:scim:schemas:extension:custom:2.0:User"],
        json!({"badge": "B-17"})
    );
}

#[test]
fn entra_replaces_the_work_email() {
    let req = PatchRequest::parse(&fixture!("entra-user-work-email")).unwrap();
    let out = apply(&req, &user(), &CoreSchema).unwrap();
    assert_eq!(
        out["emails"],
        json!([
            {"value": "ana.lima@acme.com", "type": "work", "primary": true},
            {"value": "ana@home.example", "type": "home"}
        ])
    );
    // Nothing matches: replace has no target.
    let mut no_work = user();
    no_work["emails"] = json!([{"value": "a@home.example", "type": "home"}]);
    let err = apply(&req, &no_work, &CoreSchema).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::NoTarget), "{err}");
}

#[test]
fn entra_add_creates_values_from_the_filter_and_wraps_manager() {
    let req = PatchRequest::parse(&fixture!("entra-user-add-attributes")).unwrap();
    let out = apply(&req, &user(), &CoreSchema).unwrap();
    assert_eq!(
        out["addresses"],
        json!([{"type": "work", "locality": "Lisbon", "country": "PT"}])
    );
    assert_eq!(
        out[ENTERPRISE]["manager"],
        json!({"value": "2819c223-manager"})
    );
    assert_eq!(out["title"], json!("Controller"));
}

#[test]
fn add_appends_to_multi_valued_without_duplicates() {
    let out = patch(
        &user(),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "ana@home.example", "type": "home"},
            {"value": "ana@other.example", "type": "other"}
        ]}]),
    )
    .unwrap();
    let emails = out["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 3);
    assert_eq!(emails[2]["value"], "ana@other.example");
    // A single object where a list belongs is one value.
    let out = patch(
        &user(),
        json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "+351 1", "type": "work"}}]),
    )
    .unwrap();
    assert_eq!(
        out["phoneNumbers"],
        json!([{"value": "+351 1", "type": "work"}])
    );
}

#[test]
fn add_and_replace_of_a_complex_attribute_merge_sub_attributes() {
    for op in ["add", "replace"] {
        let out = patch(
            &user(),
            json!([{"op": op, "path": "name", "value": {"middleName": "M", "GIVENNAME": "Ann"}}]),
        )
        .unwrap();
        assert_eq!(
            out["name"],
            json!({"givenName": "Ann", "familyName": "Lima", "formatted": "Ana Lima", "middleName": "M"}),
            "{op}: existing key spelling kept"
        );
    }
    let out = patch(
        &user(),
        json!([{"op": "add", "path": "userName", "value": "ana.lima@acme.com"}]),
    )
    .unwrap();
    assert_eq!(
        out["userName"], "ana.lima@acme.com",
        "add of single-valued replaces"
    );
}

#[test]
fn attribute_names_are_case_insensitive_and_keep_their_spelling() {
    let out = patch(
        &user(),
        json!([
            {"op": "replace", "path": "USERNAME", "value": "x@acme.com"},
            {"op": "add", "path": "NICKNAME", "value": "ana"},
            {"op": "replace", "path": "Name.FamilyName", "value": "Lima-Souza"},
        ]),
    )
    .unwrap();
    assert_eq!(out["userName"], "x@acme.com");
    assert_eq!(
        out["nickName"], "ana",
        "a new key takes the schema's spelling"
    );
    assert_eq!(out["name"]["familyName"], "Lima-Souza");
    assert!(out.get("USERNAME").is_none());
}

#[test]
fn replace_of_selected_values_and_of_a_whole_list() {
    let out = patch(
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"]",
                "value": {"value": "ana@new.example", "type": "home"}}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"][1],
        json!({"value": "ana@new.example", "type": "home"})
    );
    assert_eq!(out["emails"][0], user()["emails"][0]);

    let out = patch(
        &user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "only@acme.com"}]}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"value": "only@acme.com"}]));
}

#[test]
fn remove_with_a_filter_and_of_a_sub_attribute() {
    let out = patch(
        &user(),
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([user()["emails"][0]]));

    let out = patch(
        &user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"][0],
        json!({"value": "ana@acme.com", "type": "work"})
    );

    let out = patch(
        &user(),
        json!([{"op": "remove", "path": "emails[value ew \"example\" or type eq \"work\"]"}]),
    )
    .unwrap();
    assert!(out.get("emails").is_none(), "an emptied list is unassigned");

    let out = patch(&user(), json!([{"op": "remove", "path": "name.formatted"}])).unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "Ana", "familyName": "Lima"})
    );
}

#[test]
fn remove_of_absent_things_succeeds() {
    for path in [
        "nickName",
        "name.middleName",
        "phoneNumbers",
        "phoneNumbers[type eq \"work\"]",
        "emails[type eq \"other\"]",
        "emails[type eq \"other\"].value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    ] {
        let out = patch(&user(), json!([{"op": "remove", "path": path}])).unwrap();
        assert_eq!(out, user(), "{path}");
    }
    let out = patch(
        &user(),
        json!([{"op": "remove", "path": "emails", "value": [{"value": "nobody@acme.com"}]}]),
    )
    .unwrap();
    assert_eq!(out, user());
}

#[test]
fn a_path_naming_a_whole_extension() {
    let core_and_ext = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    // add: the object's attributes, without the `schemas` a client's model put in it.
    let out = patch(
        &user(),
        json!([{"op": "add", "path": ENTERPRISE, "value": {
            "schemas": [ENTERPRISE],
            "costCenter": "4130",
            "manager": {"value": "26118915"},
        }}]),
    )
    .unwrap();
    assert_eq!(
        out[ENTERPRISE],
        json!({"costCenter": "4130", "manager": {"value": "26118915"}})
    );
    assert_eq!(out["schemas"], core_and_ext);
    assert!(
        out.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
            .is_none()
    );
    // replace: merges like any complex attribute; the URN is case-insensitive.
    let out = patch(
        &out,
        json!([{"op": "replace", "path": ENTERPRISE.to_uppercase(), "value": {
            "costCenter": "4200", "manager": {"displayName": "Bea"},
        }}]),
    )
    .unwrap();
    assert_eq!(
        out[ENTERPRISE],
        json!({"costCenter": "4200", "manager": {"value": "26118915", "displayName": "Bea"}})
    );
    // remove: the extension and its URN in schemas go.
    let removed = patch(&out, json!([{"op": "remove", "path": ENTERPRISE}])).unwrap();
    assert_eq!(removed, user());
    assert_eq!(
        patch(
            &out,
            json!([{"op": "replace", "path": ENTERPRISE, "value": null}])
        )
        .unwrap(),
        user()
    );
    let err = patch(
        &user(),
        json!([{"op": "add", "path": ENTERPRISE, "value": "x"}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    // A URN-qualified attribute is still an attribute.
    let out = patch(
        &user(),
        json!([{"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "Finance"}]),
    )
    .unwrap();
    assert_eq!(out[ENTERPRISE], json!({"department": "Finance"}));
}

#[test]
fn pathless_extension_objects_drop_their_schemas_member() {
    let out = patch(
        &user(),
        json!([{"op": "replace", "value": {ENTERPRISE: {"schemas": [ENTERPRISE], "division": "R&D"}}}]),
    )
    .unwrap();
    assert_eq!(out[ENTERPRISE], json!({"division": "R&D"}));
}

#[test]
fn removing_the_last_extension_attribute_unlists_the_extension() {
    let mut with_ext = user();
    with_ext["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    with_ext[ENTERPRISE] = json!({"department": "Finance"});
    let out = patch(
        &with_ext,
        json!([{"op": "remove", "path": format!("{ENTERPRISE}:department")}]),
    )
    .unwrap();
    assert_eq!(out, user());
}

#[test]
fn one_primary_value_per_attribute() {
    // A new primary value takes the flag from the old one.
    let out = patch(
        &user(),
        json!([{"op": "add", "path": "emails",
                "value": [{"value": "ana@new.example", "type": "other", "primary": "True"}]}]),
    )
    .unwrap();
    assert_eq!(out["emails"][0]["primary"], json!(false));
    assert_eq!(out["emails"][2]["primary"], json!(true));

    let out = patch(
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    )
    .unwrap();
    assert_eq!(out["emails"][0]["primary"], json!(false));
    assert_eq!(out["emails"][1]["primary"], json!(true));

    // Re-adding an existing value as primary moves the flag instead of duplicating it.
    let out = patch(
        &user(),
        json!([{"op": "add", "path": "emails",
                "value": [{"value": "ana@home.example", "type": "home", "primary": true}]}]),
    )
    .unwrap();
    assert_eq!(out["emails"].as_array().unwrap().len(), 2);
    assert_eq!(out["emails"][0]["primary"], json!(false));
    assert_eq!(out["emails"][1]["primary"], json!(true));

    let err = patch(
        &user(),
        json!([{"op": "replace", "path": "emails", "value": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}
        ]}]),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::PatchPrimary);
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
}

#[test]
fn read_only_and_required_attributes() {
    for (op, why) in [
        (
            json!({"op": "replace", "path": "id", "value": "other"}),
            "id",
        ),
        (json!({"op": "remove", "path": "id"}), "remove id"),
        (
            json!({"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}),
            "meta",
        ),
        (
            json!({"op": "add", "path": "groups", "value": [{"value": "g1"}]}),
            "groups",
        ),
        (
            json!({"op": "replace", "path": "schemas", "value": ["urn:x"]}),
            "schemas",
        ),
        (
            json!({"op": "replace", "value": {"id": "other", "title": "x"}}),
            "path-less id",
        ),
    ] {
        let err = patch(&user(), json!([op])).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::Mutability), "{why}: {err}");
    }
    // The same value is no change (Okta resends `id`).
    let out = patch(
        &user(),
        json!([{"op": "replace", "value": {"id": "2819c223-7f76-453a-919d-413861904646", "title": "x"}}]),
    )
    .unwrap();
    assert_eq!(out["title"], "x");

    for op in [
        json!({"op": "remove", "path": "userName"}),
        json!({"op": "replace", "path": "userName", "value": ""}),
        json!({"op": "replace", "value": {"userName": null}}),
    ] {
        let err = patch(&user(), json!([op])).unwrap_err();
        assert_eq!(err.code(), ErrorCode::PatchRequired, "{err}");
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    }
}

#[test]
fn value_type_errors() {
    let err = patch(
        &user(),
        json!([{"op": "replace", "path": "active", "value": "maybe"}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{err}");
    let err = patch(&user(), json!([{"op": "replace", "value": "active"}])).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{err}");
    for bad in [json!([1]), json!("Ana Lima")] {
        let err = patch(
            &user(),
            json!([{"op": "add", "path": "name", "value": bad}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{err}");
    }
    let err = patch(
        &user(),
        json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": "y"}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidPath), "{err}");
}

#[test]
fn a_failing_operation_applies_nothing() {
    let original = user();
    let err = patch(
        &original,
        json!([
            {"op": "replace", "path": "active", "value": false},
            {"op": "replace", "path": "emails[type eq \"pager\"].value", "value": "x"},
        ]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::NoTarget));
    assert!(
        err.detail().starts_with("Operations[1] (replace emails"),
        "{err}"
    );
    assert_eq!(original, user(), "the input is never mutated");
}

// ---- groups ----

#[test]
fn entra_adds_a_member() {
    let req = PatchRequest::parse(&fixture!("entra-group-add-member")).unwrap();
    let plan = plan_group(&req, &group(), &CoreSchema).unwrap();
    assert_eq!(plan.members, [MemberChange::Add(vec!["id1".into()])]);
    assert_eq!(plan.resource, group());
    // One object instead of a list.
    let plan =
        group_plan(json!([{"op": "Add", "path": "members", "value": {"value": "id2"}}])).unwrap();
    assert_eq!(plan.members, [MemberChange::Add(vec!["id2".into()])]);
}

#[test]
fn entra_removes_members_both_ways() {
    let req = PatchRequest::parse(&fixture!("entra-group-remove-member-filter")).unwrap();
    let plan = plan_group(&req, &group(), &CoreSchema).unwrap();
    assert_eq!(plan.members, [MemberChange::Remove(vec!["id1".into()])]);

    let req = PatchRequest::parse(&fixture!("entra-group-remove-member-list")).unwrap();
    let plan = plan_group(&req, &group(), &CoreSchema).unwrap();
    assert_eq!(
        plan.members,
        [MemberChange::Remove(vec!["id1".into(), "id2".into()])],
        "a value list removes only the listed members"
    );
}

#[test]
fn member_filters() {
    let plan = group_plan(json!([
        {"op": "remove", "path": "members[value eq \"a\" or Value EQ \"b\" or value eq \"a\"]"}
    ]))
    .unwrap();
    assert_eq!(
        plan.members,
        [MemberChange::Remove(vec!["a".into(), "b".into()])]
    );
    let plan = group_plan(json!([{"op": "remove", "path": "members"}])).unwrap();
    assert_eq!(plan.members, [MemberChange::RemoveAll]);

    for path in [
        "members[display eq \"Ana\"]",
        "members[value sw \"a\"]",
        "members[value eq \"a\" and type eq \"User\"]",
    ] {
        let err = group_plan(json!([{"op": "remove", "path": path}])).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter), "{path}");
        assert_eq!(err.code(), ErrorCode::PatchMemberFilter, "{path}");
    }
    let err = group_plan(
        json!([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "x"}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidPath));
    let err =
        group_plan(json!([{"op": "add", "path": "members", "value": [{"display": "no id"}]}]))
            .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
}

#[test]
fn okta_group_push_renames_and_changes_members_in_one_request() {
    let req = PatchRequest::parse(&fixture!("okta-group-push")).unwrap();
    let plan = plan_group(&req, &group(), &CoreSchema).unwrap();
    assert_eq!(plan.resource["displayName"], "Engineering (all)");
    assert_eq!(plan.resource["id"], "00g1emaKYZTWRYYRRTSK");
    assert_eq!(
        plan.members,
        [
            MemberChange::Remove(vec!["00u1f96ECLNVOKVMUSEA".into()]),
            MemberChange::Add(vec![
                "00u1f9cMYQZFMPVXIDIZ".into(),
                "00u1fai6HMLCKWWQDDTN".into()
            ]),
        ]
    );
    let err =
        group_plan(json!([{"op": "replace", "value": {"id": "someone-else", "displayName": "X"}}]))
            .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::Mutability));
}

#[test]
fn okta_replaces_all_members() {
    let req = PatchRequest::parse(&fixture!("okta-group-replace-members")).unwrap();
    let plan = plan_group(&req, &group(), &CoreSchema).unwrap();
    assert_eq!(
        plan.members,
        [MemberChange::Replace(vec![
            "00u1f9cMYQZFMPVXIDIZ".into(),
            "00u1fai6HMLCKWWQDDTN".into()
        ])]
    );
    let cleared = group_plan(json!([{"op": "replace", "path": "members", "value": []}])).unwrap();
    assert_eq!(cleared.members, [MemberChange::RemoveAll]);
    let pathless = group_plan(json!([{"op": "replace", "value": {
        "displayName": "Eng", "members": [{"value": "u1"}]
    }}]))
    .unwrap();
    assert_eq!(pathless.members, [MemberChange::Replace(vec!["u1".into()])]);
    assert_eq!(pathless.resource["displayName"], "Eng");
    assert!(pathless.resource.get("members").is_none());
}

#[test]
fn group_errors_are_atomic_and_display_name_is_required() {
    let err = group_plan(json!([
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "remove", "path": "displayName"},
    ]))
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::PatchRequired);
    let ok = group_plan(json!([{"op": "add", "path": "externalId", "value": "ext-1"}])).unwrap();
    assert_eq!(ok.resource["externalId"], "ext-1");
    assert!(ok.members.is_empty());
}
