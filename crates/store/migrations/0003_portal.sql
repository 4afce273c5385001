-- Web portal: browser sessions, local passwords, OIDC identities of principals.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are epoch milliseconds.

-- A browser session. Only the SHA-256 of the cookie's secret is stored, so a copy of the
-- database does not let anyone take over a session.
CREATE TABLE portal_sessions (
    id_hash TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    csrf_token TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX portal_sessions_principal ON portal_sessions (principal_id);

-- Local username/password login (argon2 PHC hash), for the embedded default deployment.
CREATE TABLE portal_passwords (
    principal_id TEXT PRIMARY KEY REFERENCES principals (id),
    hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An OIDC identity (issuer + subject) bound to a principal.
CREATE TABLE oidc_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_principal ON oidc_identities (principal_id);
