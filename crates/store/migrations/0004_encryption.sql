-- Encryption at rest, Parquet KMS keys, library sets. Portable SQL (SQLite and PostgreSQL).
-- Times are epoch milliseconds.

-- Data keys (one per instance `instance/<id>`, one `platform`), AES-256-GCM-wrapped by the
-- master key (which is never stored here). `master_key_id` is a hash naming the wrapping key.
CREATE TABLE data_keys (
    scope TEXT PRIMARY KEY,
    wrapped TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    rewrapped_at BIGINT NOT NULL
);

-- Named master keys of an instance's Parquet KMS; `material` is sealed with the instance's
-- data key.
CREATE TABLE kms_keys (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    material TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, name)
);

-- Immutable library sets of an instance; `manifest` (JSON: packages, files, hashes, object
-- keys) is sealed with the instance's data key. The built set lives in the object store under
-- instances/<id>/library_sets/<name>/.
CREATE TABLE library_sets (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    manifest TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, name)
);
