//! The database: connection, migrations, the in-memory view, and transactional writes.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use sparkplane_iam::{PrincipalKind, Role};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::model::{ApiKeyRecord, AuditEvent, AuditQuery, InstanceRecord, Limits, PrincipalRecord};
use crate::StoreError;

/// Encryption at rest: the keyring, sealed columns, KMS keys, library sets (migration 0004).
pub mod encryption;
/// The export outbox of end-of-run summaries (migration 0005).
pub mod outbox;
/// Web portal sessions, passwords and OIDC identities (migration 0003).
pub mod portal;
/// Event-log sources and their checkpoints (migration 0002).
pub mod sources;
/// Performance summaries (migration 0002).
pub mod summaries;

/// Which database engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "control plane",
        include_str!("../migrations/0001_control_plane.sql"),
    ),
    (
        2,
        "performance summaries and sources",
        include_str!("../migrations/0002_performance_summaries.sql"),
    ),
    (3, "portal", include_str!("../migrations/0003_portal.sql")),
    (
        4,
        "encryption at rest",
        include_str!("../migrations/0004_encryption.sql"),
    ),
    (
        5,
        "export outbox",
        include_str!("../migrations/0005_export_outbox.sql"),
    ),
    (
        6,
        "sealed summary names",
        include_str!("../migrations/0006_sealed_summary_names.sql"),
    ),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(v, d, sql)| {
            Migration::new(
                *v,
                Cow::Borrowed(*d),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

#[derive(Default)]
struct Cache {
    principals: HashMap<String, PrincipalRecord>,
    keys: HashMap<String, ApiKeyRecord>,
    instances: HashMap<String, InstanceRecord>,
    policies: HashMap<String, BTreeMap<String, Role>>,
}

/// The tenant database.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    write: tokio::sync::Mutex<()>,
    cache: RwLock<Cache>,
    /// Encryption at rest (set by [`Store::open_encrypted`]).
    keyring: std::sync::OnceLock<std::sync::Arc<crate::crypto::Keyring>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Store {
    /// Open `sqlite://path` (created if missing) or `postgres://…`, run migrations and load
    /// the in-memory view.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, None).await
    }

    async fn open_with(
        url: &str,
        master: Option<crate::crypto::MasterKey>,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(
                "database URL must start with sqlite: or postgres://".into(),
            ));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => Cow::Owned(format!("{url}?mode=rwc")),
            _ => Cow::Borrowed(url),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = FULL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        // Overwrite deleted and replaced content (e.g. plaintext replaced by
                        // its sealed form) instead of leaving it in free space.
                        sqlx::query("PRAGMA secure_delete = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        migrator().run(&pool).await?;
        let store = Self {
            pool,
            backend,
            write: tokio::sync::Mutex::new(()),
            cache: RwLock::new(Cache::default()),
            keyring: std::sync::OnceLock::new(),
        };
        if let Some(master) = master {
            store.enable_encryption(master).await?;
        }
        store.load().await?;
        Ok(store)
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Close the pool (flushes SQLite's WAL on the last connection).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A cheap round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn load(&self) -> Result<(), StoreError> {
        let mut c = Cache::default();
        for r in sqlx::query(
            "SELECT id, kind, name, email, description, administrator, created_at FROM principals",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let p = PrincipalRecord {
                id: r.try_get("id")?,
                kind: r.try_get::<String, _>("kind")?.parse().map_err(corrupt)?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                description: r.try_get("description")?,
                administrator: r.try_get::<i64, _>("administrator")? != 0,
                created_at: r.try_get("created_at")?,
            };
            c.principals.insert(p.id.clone(), p);
        }
        for r in sqlx::query(
            "SELECT id, principal_id, name, description, hash, created_at FROM api_keys WHERE revoked_at IS NULL",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let k = ApiKeyRecord {
                id: r.try_get("id")?,
                principal_id: r.try_get("principal_id")?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                hash: r.try_get("hash")?,
                created_at: r.try_get("created_at")?,
            };
            c.keys.insert(k.id.clone(), k);
        }
        for r in sqlx::query(
            "SELECT id, name, state, default_config, spark_version, max_cores, max_memory, \
             max_concurrent_applications, created_at, state_change_time FROM instances WHERE state <> 'deleted'",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let i = instance_from_row(&r, self.keyring.get().map(|k| &**k))?;
            c.instances.insert(i.id.clone(), i);
        }
        for r in sqlx::query(
            "SELECT p.instance_id, p.principal_id, p.role FROM access_policies p \
             JOIN instances i ON i.id = p.instance_id WHERE i.state <> 'deleted'",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let role: Role = r.try_get::<String, _>("role")?.parse().map_err(corrupt)?;
            c.policies
                .entry(r.try_get("instance_id")?)
                .or_default()
                .insert(r.try_get("principal_id")?, role);
        }
        *self.cache.write().map_err(corrupt)? = c;
        Ok(())
    }

    fn read<T>(&self, f: impl FnOnce(&Cache) -> T) -> T {
        match self.cache.read() {
            Ok(c) => f(&c),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn modify(&self, f: impl FnOnce(&mut Cache)) {
        match self.cache.write() {
            Ok(mut c) => f(&mut c),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    // ---- reads (in-memory view of committed state) -----------------------------------------

    /// A principal by id.
    pub fn principal(&self, id: &str) -> Option<PrincipalRecord> {
        self.read(|c| c.principals.get(id).cloned())
    }

    /// Whether a principal is a platform Administrator (fast path for every request).
    pub fn principal_kind_admin(&self, id: &str) -> Option<(PrincipalKind, bool)> {
        self.read(|c| c.principals.get(id).map(|p| (p.kind, p.administrator)))
    }

    /// All principals of a kind, oldest first.
    pub fn principals(&self, kind: PrincipalKind) -> Vec<PrincipalRecord> {
        let mut v: Vec<_> = self.read(|c| {
            c.principals
                .values()
                .filter(|p| p.kind == kind)
                .cloned()
                .collect()
        });
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        v
    }

    /// Number of principals.
    pub fn principal_count(&self) -> usize {
        self.read(|c| c.principals.len())
    }

    /// An active (not revoked) API key.
    pub fn api_key(&self, id: &str) -> Option<ApiKeyRecord> {
        self.read(|c| c.keys.get(id).cloned())
    }

    /// Whether key `id` is active and belongs to `principal` (checked on every request).
    pub fn key_active_for(&self, id: &str, principal: &str) -> bool {
        self.read(|c| c.keys.get(id).is_some_and(|k| k.principal_id == principal))
    }

    /// Active keys of a principal, oldest first.
    pub fn api_keys_of(&self, principal: &str) -> Vec<ApiKeyRecord> {
        let mut v: Vec<_> = self.read(|c| {
            c.keys
                .values()
                .filter(|k| k.principal_id == principal)
                .cloned()
                .collect()
        });
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        v
    }

    /// A live instance.
    pub fn instance(&self, id: &str) -> Option<InstanceRecord> {
        self.read(|c| c.instances.get(id).cloned())
    }

    /// Whether a live instance exists.
    pub fn instance_exists(&self, id: &str) -> bool {
        self.read(|c| c.instances.contains_key(id))
    }

    /// Live instances on which `principal` has a role, oldest first.
    pub fn instances_with_role(&self, principal: &str) -> Vec<(InstanceRecord, Role)> {
        let mut v: Vec<_> = self.read(|c| {
            c.policies
                .iter()
                .filter_map(|(inst, m)| Some((c.instances.get(inst)?.clone(), *m.get(principal)?)))
                .collect()
        });
        v.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
        v
    }

    /// The role of `principal` on `instance`.
    pub fn role_of(&self, instance: &str, principal: &str) -> Option<Role> {
        self.read(|c| {
            c.policies
                .get(instance)
                .and_then(|m| m.get(principal).copied())
        })
    }

    /// All grants on an instance.
    pub fn policies_of(&self, instance: &str) -> Vec<(String, Role)> {
        self.read(|c| {
            c.policies
                .get(instance)
                .map(|m| m.iter().map(|(p, r)| (p.clone(), *r)).collect())
                .unwrap_or_default()
        })
    }

    // ---- writes: change + audit event in one transaction ----------------------------------

    /// Create a principal.
    pub async fn create_principal(
        &self,
        p: &PrincipalRecord,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        insert_principal(&mut tx, p).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            c.principals.insert(p.id.clone(), p.clone());
        });
        Ok(())
    }

    /// First start: the bootstrap Administrator and its key, with the audit event, at once.
    pub async fn bootstrap(
        &self,
        p: &PrincipalRecord,
        k: &ApiKeyRecord,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        insert_principal(&mut tx, p).await?;
        insert_key(&mut tx, k).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            c.principals.insert(p.id.clone(), p.clone());
            c.keys.insert(k.id.clone(), k.clone());
        });
        Ok(())
    }

    /// Store a new API key.
    pub async fn create_api_key(
        &self,
        k: &ApiKeyRecord,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        insert_key(&mut tx, k).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            c.keys.insert(k.id.clone(), k.clone());
        });
        Ok(())
    }

    /// Revoke an API key: its tokens stop working as soon as this returns.
    pub async fn revoke_api_key(&self, id: &str, audit: &AuditEvent) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let n =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(audit.time)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            c.keys.remove(id);
        });
        Ok(())
    }

    /// Create an instance.
    pub async fn create_instance(
        &self,
        i: &InstanceRecord,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        let config = serde_json::to_string(&i.default_config).map_err(corrupt)?;
        let config = self.seal_config(&i.id, config).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO instances (id, name, state, default_config, spark_version, max_cores, max_memory, \
             max_concurrent_applications, created_at, state_change_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.state)
        .bind(config)
        .bind(&i.spark_version)
        .bind(i.limits.max_cores)
        .bind(i.limits.max_memory.clone())
        .bind(i.limits.max_concurrent_applications)
        .bind(i.created_at)
        .bind(i.state_change_time)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            c.instances.insert(i.id.clone(), i.clone());
        });
        Ok(())
    }

    /// Change an instance under the write lock (no lost updates): `f` edits the current record.
    pub async fn update_instance(
        &self,
        id: &str,
        f: impl FnOnce(&mut InstanceRecord),
        audit: &AuditEvent,
    ) -> Result<InstanceRecord, StoreError> {
        let _w = self.write.lock().await;
        let mut rec = self.instance(id).ok_or(StoreError::NotFound)?;
        f(&mut rec);
        let config = serde_json::to_string(&rec.default_config).map_err(corrupt)?;
        let config = self.seal_config(&rec.id, config).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE instances SET name = $1, state = $2, default_config = $3, spark_version = $4, max_cores = $5, \
             max_memory = $6, max_concurrent_applications = $7, state_change_time = $8 WHERE id = $9",
        )
        .bind(&rec.name)
        .bind(&rec.state)
        .bind(config)
        .bind(&rec.spark_version)
        .bind(rec.limits.max_cores)
        .bind(rec.limits.max_memory.clone())
        .bind(rec.limits.max_concurrent_applications)
        .bind(rec.state_change_time)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            c.instances.insert(rec.id.clone(), rec.clone());
        });
        Ok(rec)
    }

    /// Delete an instance (kept as `deleted` for the audit trail; its grants are removed).
    pub async fn delete_instance(&self, id: &str, audit: &AuditEvent) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        if !self.instance_exists(id) {
            return Err(StoreError::NotFound);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE instances SET state = 'deleted', state_change_time = $1 WHERE id = $2")
            .bind(audit.time)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM access_policies WHERE instance_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            c.instances.remove(id);
            c.policies.remove(id);
        });
        Ok(())
    }

    /// Grant (or change) a role.
    pub async fn set_policy(
        &self,
        instance: &str,
        principal: &str,
        role: Role,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        if !self.instance_exists(instance) {
            return Err(StoreError::NotFound);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO access_policies (instance_id, principal_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (instance_id, principal_id) DO UPDATE SET role = excluded.role",
        )
        .bind(instance)
        .bind(principal)
        .bind(role.as_str())
        .bind(audit.time)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            c.policies
                .entry(instance.to_owned())
                .or_default()
                .insert(principal.to_owned(), role);
        });
        Ok(())
    }

    /// Revoke a role. `NotFound` if there was none.
    pub async fn delete_policy(
        &self,
        instance: &str,
        principal: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let n =
            sqlx::query("DELETE FROM access_policies WHERE instance_id = $1 AND principal_id = $2")
                .bind(instance)
                .bind(principal)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        self.modify(|c| {
            if let Some(m) = c.policies.get_mut(instance) {
                m.remove(principal);
            }
        });
        Ok(())
    }

    /// Record an audit event on its own (denied requests).
    pub async fn record_audit(&self, audit: &AuditEvent) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_audit(&mut conn, audit).await
    }

    /// Query audit events, newest first.
    pub async fn audit_events(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut sql = String::from(
            "SELECT id, time, principal_id, action, resource, instance_id, outcome, status, request_id, detail \
             FROM audit_events WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = |col: &str, op: &str, sql: &mut String| {
            n += 1;
            sql.push_str(&format!(" AND {col} {op} ${n}"));
        };
        if q.instance_id.is_some() {
            next("instance_id", "=", &mut sql);
        }
        if q.principal_id.is_some() {
            next("principal_id", "=", &mut sql);
        }
        if q.action.is_some() {
            next("action", "=", &mut sql);
        }
        if q.outcome.is_some() {
            next("outcome", "=", &mut sql);
        }
        if q.since.is_some() {
            next("time", ">=", &mut sql);
        }
        if q.until.is_some() {
            next("time", "<", &mut sql);
        }
        if q.start.is_some() {
            next("id", "<", &mut sql);
        }
        n += 1;
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
        let mut query = sqlx::query(&sql);
        for s in [&q.instance_id, &q.principal_id, &q.action, &q.outcome]
            .into_iter()
            .flatten()
        {
            query = query.bind(s.clone());
        }
        for t in [q.since, q.until].into_iter().flatten() {
            query = query.bind(t);
        }
        if let Some(s) = &q.start {
            query = query.bind(s.clone());
        }
        query = query.bind(q.limit);
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(audit_from_row).collect()
    }
}

async fn insert_principal(conn: &mut AnyConnection, p: &PrincipalRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO principals (id, kind, name, email, description, administrator, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&p.id)
    .bind(p.kind.as_str())
    .bind(&p.name)
    .bind(p.email.clone())
    .bind(p.description.clone())
    .bind(i64::from(p.administrator))
    .bind(p.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_key(conn: &mut AnyConnection, k: &ApiKeyRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_keys (id, principal_id, name, description, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&k.id)
    .bind(&k.principal_id)
    .bind(k.name.clone())
    .bind(k.description.clone())
    .bind(&k.hash)
    .bind(k.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_audit(conn: &mut AnyConnection, a: &AuditEvent) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (id, time, principal_id, action, resource, instance_id, outcome, status, \
         request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&a.id)
    .bind(a.time)
    .bind(a.principal_id.clone())
    .bind(&a.action)
    .bind(&a.resource)
    .bind(a.instance_id.clone())
    .bind(&a.outcome)
    .bind(a.status)
    .bind(&a.request_id)
    .bind(a.detail.clone())
    .execute(conn)
    .await?;
    Ok(())
}

fn instance_from_row(
    r: &AnyRow,
    keyring: Option<&crate::crypto::Keyring>,
) -> Result<InstanceRecord, StoreError> {
    let id: String = r.try_get("id")?;
    let config: String = r.try_get("default_config")?;
    let config = encryption::open_config(keyring, &id, config)?;
    Ok(InstanceRecord {
        id,
        name: r.try_get("name")?,
        state: r.try_get("state")?,
        default_config: serde_json::from_str(&config).map_err(corrupt)?,
        spark_version: r.try_get("spark_version")?,
        limits: Limits {
            max_cores: r.try_get("max_cores")?,
            max_memory: r.try_get("max_memory")?,
            max_concurrent_applications: r.try_get("max_concurrent_applications")?,
        },
        created_at: r.try_get("created_at")?,
        state_change_time: r.try_get("state_change_time")?,
    })
}

fn audit_from_row(r: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: r.try_get("id")?,
        time: r.try_get("time")?,
        principal_id: r.try_get("principal_id")?,
        action: r.try_get("action")?,
        resource: r.try_get("resource")?,
        instance_id: r.try_get("instance_id")?,
        outcome: r.try_get("outcome")?,
        status: r.try_get("status")?,
        request_id: r.try_get("request_id")?,
        detail: r.try_get("detail")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;

    #[tokio::test]
    async fn sqlite_roundtrip_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let s = Store::open(&url).await.unwrap();
        let p = PrincipalRecord {
            id: "usr-1".into(),
            kind: PrincipalKind::User,
            name: "a".into(),
            email: None,
            description: None,
            administrator: true,
            created_at: 1,
        };
        s.create_principal(
            &p,
            &AuditEvent::new("x", "/v1/users", Outcome::Success, 201, "r1"),
        )
        .await
        .unwrap();
        let q = AuditQuery {
            limit: 10,
            ..Default::default()
        };
        assert_eq!(s.audit_events(&q).await.unwrap().len(), 1);
        s.close().await;
        let s2 = Store::open(&url).await.unwrap();
        assert_eq!(s2.principal("usr-1"), Some(p));
    }
}
