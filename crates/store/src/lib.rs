//! The tenant database (sqlx: SQLite by default, PostgreSQL) and the object store
//! (`object_store`: local directory by default, S3), with migrations.
//!
//! Every change commits together with its audit event in ONE transaction. The control-plane
//! tables are small and read on every request, so [`Store`] keeps them in memory too: the
//! cache is loaded at open and updated only after a successful commit, so it never shows
//! an uncommitted change (single server process per database).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod crypto;
mod db;
mod model;
mod objects;

pub use crypto::{Keyring, MasterKey};
pub use db::encryption::{KmsKeyInfo, LibrarySetRecord};
pub use db::outbox::OutboxEntry;
pub use db::portal::PortalSession;
pub use db::sources::{SourceObject, SourceRecord, SourceStats};
pub use db::summaries::{
    summary_id, summary_object_key, NewSummary, Origin, Page, ParseError, RunStatus, Severity,
    SummaryQuery, SummaryRecord, UpsertOutcome,
};
pub use db::{Backend, Store};
pub use model::{
    ApiKeyRecord, AuditEvent, AuditQuery, InstanceRecord, Limits, Outcome, PrincipalRecord,
};
pub use objects::{ObjectStoreSpec, Objects};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Object store failure.
    #[error("object store error: {0}")]
    Objects(#[from] object_store::Error),
    /// Bad configuration (URL, path).
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// The thing to change does not exist.
    #[error("not found")]
    NotFound,
    /// A query argument is invalid (bad cursor, limit out of range).
    #[error("{0}")]
    Invalid(String),
    /// Encrypted data failed authentication (tampered, truncated, moved or swapped, or
    /// sealed with another key): it is never returned.
    #[error("integrity check failed: {0}")]
    Integrity(String),
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
