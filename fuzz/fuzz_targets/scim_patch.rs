//! Whole PATCH bodies come straight from IdPs: parsing, applying to a user and planning a
//! group must never panic, a plan never carries `members` in its JSON, and the input
//! resource is never changed (apply works on a copy).

#![no_main]

use idp_sync::scim::patch::{PatchRequest, apply, plan_group};
use idp_sync::scim::schema::CoreSchema;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(request) = PatchRequest::parse(&body) else {
        return;
    };
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1", "userName": "ana@acme.com", "active": true,
        "name": {"givenName": "Ana", "familyName": "Lima"},
        "emails": [{"value": "ana@acme.com", "type": "work", "primary": true}],
    });
    let before = user.clone();
    let _ = apply(&request, &user, &CoreSchema);
    assert_eq!(user, before);
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "id": "g1", "displayName": "Eng"});
    if let Ok(plan) = plan_group(&request, &group, &CoreSchema) {
        assert!(plan.resource.get("members").is_none());
    }
});
