-- Performance summaries (one row per application attempt and origin) and event-log sources.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are epoch milliseconds.
-- The full summary JSON lives in the object store under
-- instances/<instance_id>/summaries/<id>.json; the row keeps what listing, filters and trends
-- need.

-- Identity: (instance_id, origin, app_id, attempt). `id` is derived from it (UUIDv5), so an
-- ingest of the same summary again replaces the row and its object, never duplicates them.
-- origin: `runner` | `exporter:<principal id>` | `writer:<principal id>` | `source:<name>`.
CREATE TABLE performance_summaries (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    origin TEXT NOT NULL,
    app_id TEXT NOT NULL,
    attempt TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL,
    completed BIGINT NOT NULL,
    spark_version TEXT,
    start_time BIGINT,
    end_time BIGINT,
    duration_ms BIGINT,
    -- start_time, else the first ingest time: the listing order and the time-range filter.
    sort_time BIGINT NOT NULL,
    core_hours DOUBLE PRECISION NOT NULL,
    memory_gb_hours DOUBLE PRECISION NOT NULL,
    cost DOUBLE PRECISION,
    -- Insight kinds, comma separated and sorted (display); filtering uses the child table.
    insight_kinds TEXT NOT NULL,
    insight_count BIGINT NOT NULL,
    top_severity TEXT,
    events_total BIGINT NOT NULL,
    event_log TEXT,
    application_id TEXT,
    object_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    ingested_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (instance_id, origin, app_id, attempt)
);
CREATE INDEX performance_summaries_time ON performance_summaries (instance_id, sort_time, id);
CREATE INDEX performance_summaries_status ON performance_summaries (instance_id, status, sort_time, id);
CREATE INDEX performance_summaries_name ON performance_summaries (instance_id, name, sort_time, id);
CREATE INDEX performance_summaries_app ON performance_summaries (instance_id, app_id, attempt);
CREATE INDEX performance_summaries_application ON performance_summaries (instance_id, application_id);

-- One row per insight kind of a summary (filter `insight=<kind>` stays indexed).
CREATE TABLE performance_summary_insights (
    summary_id TEXT NOT NULL REFERENCES performance_summaries (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    sort_time BIGINT NOT NULL,
    PRIMARY KEY (summary_id, kind)
);
CREATE INDEX performance_summary_insights_kind
    ON performance_summary_insights (instance_id, kind, sort_time, summary_id);

-- Event-log sources of an instance (a read-only bucket prefix the server polls). The
-- credentials are NOT here: they are in the object store, instances/<id>/sources/<name>/.
CREATE TABLE event_log_sources (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    endpoint TEXT,
    region TEXT,
    has_credentials BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_poll BIGINT,
    last_error TEXT,
    objects_seen BIGINT NOT NULL DEFAULT 0,
    ingested BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, name)
);

-- Checkpoints: every object of a source that was handled, with the version handled, so a
-- restart re-ingests nothing and a grown (or replaced) object is handled again.
CREATE TABLE event_log_source_objects (
    instance_id TEXT NOT NULL,
    source_name TEXT NOT NULL,
    object_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    etag TEXT,
    last_modified BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    summary_id TEXT,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, source_name, object_key)
);
