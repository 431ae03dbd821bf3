//! PATCH paths and path-less value keys come straight from IdP request bodies: parsing must
//! never panic, and what parses must print and parse back to the same path.

#![no_main]

use idp_sync::scim::path::{Path, ValueKey};
use idp_sync::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = Path::parse(text) {
        let printed = parsed.to_string();
        let reparsed = Path::parse(&printed)
            .unwrap_or_else(|e| panic!("printed path {printed:?} does not parse: {e}"));
        assert_eq!(reparsed, parsed, "round trip changed {printed:?}");
        assert_eq!(reparsed.to_string(), printed, "printing is not canonical");
    }
    let _ = ValueKey::parse(text, &[USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
});
