//! Web portal records (migration 0003): browser sessions, local passwords and the OIDC
//! identities bound to principals. Every change commits with its audit event.

use sqlx::Row;

use super::{insert_audit, Store};
use crate::model::AuditEvent;
use crate::StoreError;

/// A browser session of the portal. The cookie holds a secret; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// Hex SHA-256 of the cookie secret.
    pub id_hash: String,
    /// Who is logged in.
    pub principal_id: String,
    /// The anti-CSRF token every form of this session carries.
    pub csrf_token: String,
    /// `oidc` or `password`.
    pub auth_method: String,
    /// Login time (epoch ms).
    pub created_at: i64,
    /// Last request (epoch ms), for the idle timeout.
    pub last_seen_at: i64,
    /// Absolute end (epoch ms).
    pub expires_at: i64,
}

impl Store {
    /// Start a session (login), with its audit event.
    pub async fn create_portal_session(
        &self,
        s: &PortalSession,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO portal_sessions (id_hash, principal_id, csrf_token, auth_method, created_at, \
             last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id_hash)
        .bind(&s.principal_id)
        .bind(&s.csrf_token)
        .bind(&s.auth_method)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A live (not ended) session by the hash of its cookie secret.
    pub async fn portal_session(&self, id_hash: &str) -> Result<Option<PortalSession>, StoreError> {
        let row = sqlx::query(
            "SELECT id_hash, principal_id, csrf_token, auth_method, created_at, last_seen_at, expires_at \
             FROM portal_sessions WHERE id_hash = $1 AND ended_at IS NULL",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(PortalSession {
                id_hash: r.try_get("id_hash")?,
                principal_id: r.try_get("principal_id")?,
                csrf_token: r.try_get("csrf_token")?,
                auth_method: r.try_get("auth_method")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Record activity on a session (idle timeout).
    pub async fn touch_portal_session(&self, id_hash: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE portal_sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// End a session (logout or expiry), with its audit event.
    pub async fn end_portal_session(
        &self,
        id_hash: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE portal_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL",
        )
        .bind(audit.time)
        .bind(id_hash)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Set (or replace) a principal's portal password hash (argon2 PHC string).
    pub async fn set_portal_password(
        &self,
        principal_id: &str,
        hash: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM portal_passwords WHERE principal_id = $1")
            .bind(principal_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO portal_passwords (principal_id, hash, updated_at) VALUES ($1, $2, $3)",
        )
        .bind(principal_id)
        .bind(hash)
        .bind(audit.time)
        .execute(&mut *tx)
        .await?;
        // Existing sessions of the principal end: a new password logs everybody else out.
        sqlx::query(
            "UPDATE portal_sessions SET ended_at = $1 WHERE principal_id = $2 AND ended_at IS NULL",
        )
        .bind(audit.time)
        .bind(principal_id)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A principal's portal password hash, if one is set.
    pub async fn portal_password(&self, principal_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT hash FROM portal_passwords WHERE principal_id = $1")
            .bind(principal_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("hash")).transpose()?)
    }

    /// Bind an OIDC identity (issuer + subject) to a principal (replaces an older binding).
    pub async fn link_oidc_identity(
        &self,
        issuer: &str,
        subject: &str,
        principal_id: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM oidc_identities WHERE issuer = $1 AND subject = $2")
            .bind(issuer)
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_identities (issuer, subject, principal_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(issuer)
        .bind(subject)
        .bind(principal_id)
        .bind(audit.time)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The principal an OIDC identity is bound to.
    pub async fn oidc_principal(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT principal_id FROM oidc_identities WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("principal_id")).transpose()?)
    }

    /// The OIDC identities (issuer, subject) bound to a principal.
    pub async fn oidc_identities_of(
        &self,
        principal_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT issuer, subject FROM oidc_identities WHERE principal_id = $1 ORDER BY issuer, subject",
        )
        .bind(principal_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("issuer")?, r.try_get("subject")?)))
            .collect()
    }
}
