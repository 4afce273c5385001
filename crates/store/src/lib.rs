//! The tenant database (sqlx: SQLite by default, PostgreSQL), the object store (`object_store`:
//! local directory by default, S3), envelope encryption at rest, and migrations.
