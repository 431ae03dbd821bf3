//! SCIM filters arrive in query strings and `.search` bodies from anyone holding a token:
//! parsing must never panic, and what parses must print and parse back to the same tree.
//! Parsed filters are also type-checked and evaluated, so those paths see odd trees too.

#![no_main]

use idp_sync::scim::filter::{self, Filter};
use idp_sync::scim::schema::CoreSchema;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Filter::parse(text) else {
        return;
    };
    let printed = parsed.to_string();
    let reparsed = Filter::parse(&printed)
        .unwrap_or_else(|e| panic!("printed filter {printed:?} does not parse: {e}"));
    assert_eq!(reparsed, parsed, "round trip changed {printed:?}");
    assert_eq!(reparsed.to_string(), printed, "printing is not canonical");

    let _ = filter::validate(&parsed, &CoreSchema);
    let user = serde_json::json!({
        "userName": "ana@acme.com", "active": true, "title": "",
        "emails": [{"value": "ana@acme.com", "type": "work", "primary": true}],
        "meta": {"lastModified": "2024-03-01T10:00:00Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1"}
    });
    let _ = filter::matches(&parsed, &user, &CoreSchema);
});
