-- Control plane: principals, API keys, instances, access policies, audit events.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are epoch milliseconds.
CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    description TEXT,
    administrator BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    name TEXT,
    description TEXT,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_principal ON api_keys (principal_id);

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    default_config TEXT NOT NULL,
    spark_version TEXT NOT NULL,
    max_cores BIGINT,
    max_memory TEXT,
    max_concurrent_applications BIGINT,
    created_at BIGINT NOT NULL,
    state_change_time BIGINT NOT NULL
);

CREATE TABLE access_policies (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    principal_id TEXT NOT NULL REFERENCES principals (id),
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, principal_id)
);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    time BIGINT NOT NULL,
    principal_id TEXT,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    instance_id TEXT,
    outcome TEXT NOT NULL,
    status BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_events_instance ON audit_events (instance_id, id);
CREATE INDEX audit_events_principal ON audit_events (principal_id, id);
