-- Durable outbox of end-of-run performance summary exports (the runner's completion hook).
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are epoch milliseconds.
-- A row is written (committed) before the export is tried; a background task retries it with
-- backoff until the object-store write and the summary upsert succeed, then deletes it. One
-- row per application: queuing the same application again replaces its row.
CREATE TABLE export_outbox (
    instance_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    -- The redacted summary JSON, written durably in the application's private directory.
    summary_path TEXT NOT NULL,
    -- The application's driver log, where the outcome is logged.
    log_path TEXT NOT NULL,
    -- The event log the summary was made from (recorded with the summary).
    event_log TEXT,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    PRIMARY KEY (instance_id, app_id)
);
CREATE INDEX export_outbox_due ON export_outbox (next_attempt_at);
