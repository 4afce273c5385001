//! Encryption at rest in the database (migration 0004): the keyring of data keys, sealed
//! columns (instance `default_config`), the Parquet KMS's named master keys and library-set
//! manifests. Every change commits with its audit event.

use std::sync::Arc;

use sqlx::Row;
use zeroize::Zeroizing;

use super::{insert_audit, Store};
use crate::crypto::{instance_scope, Keyring, MasterKey, VALUE_PREFIX};
use crate::model::AuditEvent;
use crate::StoreError;

/// A named Parquet master key of an instance (its material never leaves the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyInfo {
    /// Key name (`k1`).
    pub name: String,
    /// Who created it.
    pub created_by: Option<String>,
    /// Creation time (epoch ms).
    pub created_at: i64,
}

/// A library set's record; the manifest is JSON owned by the server's library-set API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibrarySetRecord {
    /// Instance.
    pub instance_id: String,
    /// Set name.
    pub name: String,
    /// Manifest JSON (decrypted).
    pub manifest: String,
    /// Who created it.
    pub created_by: Option<String>,
    /// Creation time (epoch ms).
    pub created_at: i64,
}

fn config_context(instance: &str) -> String {
    format!("instances.default_config/{instance}")
}

/// Decrypt a `default_config` column value (plaintext JSON is accepted only without a keyring
/// or from before encryption was enabled; [`Store::open_encrypted`] re-seals such rows).
pub(super) fn open_config(
    keyring: Option<&Keyring>,
    instance: &str,
    stored: String,
) -> Result<String, StoreError> {
    if !stored.starts_with(VALUE_PREFIX) {
        return Ok(stored);
    }
    let Some(k) = keyring else {
        return Err(StoreError::Config(
            "the database is encrypted: a master key is needed to open it".into(),
        ));
    };
    let plain = k.open_value(
        &instance_scope(instance),
        &config_context(instance),
        &stored,
    )?;
    String::from_utf8(plain.to_vec()).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Open the database with encryption at rest: data keys are unwrapped with `master`,
    /// sealed columns decrypted, and plaintext left from before encryption was enabled sealed.
    pub async fn open_encrypted(url: &str, master: MasterKey) -> Result<Self, StoreError> {
        Self::open_with(url, Some(master)).await
    }

    pub(super) async fn enable_encryption(&self, master: MasterKey) -> Result<(), StoreError> {
        let keyring = Arc::new(Keyring::open(self.pool.clone(), master).await?);
        let _ = self.keyring.set(keyring.clone());
        // Seal default configs written before encryption at rest existed.
        let rows = sqlx::query("SELECT id, default_config FROM instances")
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            let id: String = r.try_get("id")?;
            let cfg: String = r.try_get("default_config")?;
            if cfg.starts_with(VALUE_PREFIX) {
                continue;
            }
            let sealed = self.seal_config(&id, cfg).await?;
            sqlx::query("UPDATE instances SET default_config = $1 WHERE id = $2")
                .bind(sealed)
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        // Seal summary application names written before encryption at rest (0006).
        self.seal_summary_names().await?;
        // Seal source error texts written before they were sealed.
        self.seal_source_texts().await?;
        // The pages that held that plaintext now have sealed versions in the WAL, but the main
        // database file keeps the old page images until a checkpoint copies the new ones over
        // them: do it now rather than at some later automatic checkpoint.
        if self.backend == super::Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// The keyring (`None` when opened without encryption, e.g. by offline tools and tests).
    pub fn keyring(&self) -> Option<&Arc<Keyring>> {
        self.keyring.get()
    }

    /// The connection pool (for modules of this crate).
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &sqlx::AnyPool {
        &self.pool
    }

    fn require_keyring(&self) -> Result<&Arc<Keyring>, StoreError> {
        self.keyring
            .get()
            .ok_or_else(|| StoreError::Config("encryption at rest is not enabled".into()))
    }

    pub(super) async fn seal_config(
        &self,
        instance: &str,
        json: String,
    ) -> Result<String, StoreError> {
        match self.keyring.get() {
            Some(k) => {
                k.seal_value(
                    &instance_scope(instance),
                    &config_context(instance),
                    json.as_bytes(),
                )
                .await
            }
            None => Ok(json),
        }
    }

    /// Rotate the master key (re-wrap every data key) with an audit event. `stage` persists the
    /// new key before the database commit (see [`Keyring::rotate_master`]).
    pub async fn rotate_master_key(
        &self,
        new: MasterKey,
        stage: impl FnOnce(&MasterKey) -> Result<(), StoreError>,
        audit: &AuditEvent,
    ) -> Result<usize, StoreError> {
        let k = self.require_keyring()?;
        let n = k.rotate_master(new, stage).await?;
        self.record_audit(audit).await?;
        Ok(n)
    }

    // ---- Parquet KMS master keys ------------------------------------------------------

    /// Create a named KMS master key of an instance (sealed with the instance's data key).
    /// `Ok(false)` if the name is taken.
    pub async fn create_kms_key(
        &self,
        instance: &str,
        name: &str,
        material: &[u8],
        created_by: Option<&str>,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let k = self.require_keyring()?;
        let sealed = k
            .seal_value(
                &instance_scope(instance),
                &kms_context(instance, name),
                material,
            )
            .await?;
        let _w = self.write.lock().await;
        let exists = sqlx::query("SELECT 1 FROM kms_keys WHERE instance_id = $1 AND name = $2")
            .bind(instance)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        if exists {
            return Ok(false);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO kms_keys (instance_id, name, material, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(instance)
        .bind(name)
        .bind(sealed)
        .bind(created_by.map(str::to_owned))
        .bind(audit.time)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The KMS keys of an instance, by name.
    pub async fn kms_keys(&self, instance: &str) -> Result<Vec<KmsKeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, created_by, created_at FROM kms_keys WHERE instance_id = $1 ORDER BY name",
        )
        .bind(instance)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KmsKeyInfo {
                    name: r.try_get("name")?,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The material of a KMS key (decrypted), `None` if there is no such key.
    pub async fn kms_key_material(
        &self,
        instance: &str,
        name: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let k = self.require_keyring()?;
        let row = sqlx::query("SELECT material FROM kms_keys WHERE instance_id = $1 AND name = $2")
            .bind(instance)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.try_get("material")?;
        Ok(Some(k.open_value(
            &instance_scope(instance),
            &kms_context(instance, name),
            &sealed,
        )?))
    }

    // ---- library sets ---------------------------------------------------------------------

    /// Record a built library set. `Ok(false)` if the name is taken (sets are immutable).
    pub async fn create_library_set(
        &self,
        rec: &LibrarySetRecord,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let k = self.require_keyring()?;
        let sealed = k
            .seal_value(
                &instance_scope(&rec.instance_id),
                &libset_context(&rec.instance_id, &rec.name),
                rec.manifest.as_bytes(),
            )
            .await?;
        let _w = self.write.lock().await;
        if self
            .library_set(&rec.instance_id, &rec.name)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO library_sets (instance_id, name, manifest, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&rec.instance_id)
        .bind(&rec.name)
        .bind(sealed)
        .bind(rec.created_by.clone())
        .bind(rec.created_at)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One library set of an instance.
    pub async fn library_set(
        &self,
        instance: &str,
        name: &str,
    ) -> Result<Option<LibrarySetRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT instance_id, name, manifest, created_by, created_at FROM library_sets \
             WHERE instance_id = $1 AND name = $2",
        )
        .bind(instance)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| self.libset_from_row(&r)).transpose()
    }

    /// The library sets of an instance, by name.
    pub async fn library_sets(&self, instance: &str) -> Result<Vec<LibrarySetRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT instance_id, name, manifest, created_by, created_at FROM library_sets \
             WHERE instance_id = $1 ORDER BY name",
        )
        .bind(instance)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| self.libset_from_row(r)).collect()
    }

    /// Delete a library set. `NotFound` if there was none.
    pub async fn delete_library_set(
        &self,
        instance: &str,
        name: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("DELETE FROM library_sets WHERE instance_id = $1 AND name = $2")
            .bind(instance)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    fn libset_from_row(&self, r: &sqlx::any::AnyRow) -> Result<LibrarySetRecord, StoreError> {
        let k = self.require_keyring()?;
        let instance_id: String = r.try_get("instance_id")?;
        let name: String = r.try_get("name")?;
        let sealed: String = r.try_get("manifest")?;
        let plain = k.open_value(
            &instance_scope(&instance_id),
            &libset_context(&instance_id, &name),
            &sealed,
        )?;
        Ok(LibrarySetRecord {
            manifest: String::from_utf8(plain.to_vec())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            instance_id,
            name,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

fn kms_context(instance: &str, name: &str) -> String {
    format!("kms_keys/{instance}/{name}")
}

fn libset_context(instance: &str, name: &str) -> String {
    format!("library_sets/{instance}/{name}")
}
