-- Logins started here and not finished yet (SAML AuthnRequest ID or OIDC state), bound to
-- the browser that started them by the SHA-256 of its `idp_sync_sso` cookie. In the
-- database, not in memory, so that the IdP's answer may reach any replica. Each row is
-- used once (deleted when the answer arrives) and expires after a few minutes.
CREATE TABLE sso_logins (
    login_key     TEXT NOT NULL CONSTRAINT sso_logins_pkey PRIMARY KEY,
    connection    TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    nonce         TEXT,
    pkce_verifier TEXT,
    invitation_id TEXT,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX sso_logins_expires_at_idx ON sso_logins (expires_at);
