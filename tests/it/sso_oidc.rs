//! OpenID Connect sign-in (issue 5) against real providers started by the tests
//! (support::oidc_provider).

mod protocol;
