//! Shared state of the running server and the authorization helper every handler uses.

use std::sync::Arc;

use sparkplane_iam::{
    authorize, Action, Decision, FailureLimiter, Principal, Resource, Role, TokenSigner,
};
use sparkplane_store::{AuditEvent, InstanceRecord, Objects, Outcome, Store};
use tokio::sync::Semaphore;

use crate::error::{request_id, ApiError};
use crate::metrics::Metrics;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

/// The contents of [`AppState`].
pub struct Inner {
    /// Tenant database.
    pub store: Arc<Store>,
    /// Object store.
    pub objects: Objects,
    /// Bearer-token signer.
    pub signer: TokenSigner,
    /// Bad-key limiter (per client address and per key id), consulted before hashing.
    pub limiter: FailureLimiter,
    /// Bounds concurrent argon2 verifications (memory-hard: ~19 MiB each).
    pub hashing: Semaphore,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// The OpenAPI document as JSON (set once the router is built).
    pub openapi: std::sync::OnceLock<String>,
    /// Runs Spark applications (`None` when Spark is not configured).
    pub runner: Option<sparkplane_runner::Runner>,
    /// Root of the runner's data (`<data dir>/runner`); instances' upload areas live under it.
    pub runner_dir: std::path::PathBuf,
    /// Instances already handed to the runner (`ensure_instance`) since start.
    pub runner_instances: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Drives application states while the server runs.
    pub monitor: Option<sparkplane_runner::MonitorHandle>,
    /// Backend of instances whose `default_config` does not set `sparkplane.backend`.
    pub spark_backend: crate::config::SparkBackend,
    /// Where `s3://` application files are fetched from (the server's S3 endpoint) and which
    /// bucket is the platform's own (never fetched from).
    pub app_fetch: crate::api::applications::FetchSettings,
    /// The master key file of encryption at rest (replaced by a rotation).
    pub master_key_file: std::path::PathBuf,
    /// Summaries ingest (routes, outbox, source poller) and the event-log sources' state.
    pub ingest: crate::ingest::Ingestor,
    /// How Spark applications reach the instance's Parquet KMS (HTTPS servers with a runner).
    pub kms_apps: Option<crate::api::kms::AppKms>,
    /// Python (with pip) that builds library sets (the runner's PySpark Python).
    pub library_python: Option<std::path::PathBuf>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// An audit event for the current request.
pub fn audit_event(
    principal: Option<&str>,
    action: &str,
    resource: &str,
    instance: Option<&str>,
    outcome: Outcome,
    status: u16,
) -> AuditEvent {
    let mut e = AuditEvent::new(action, resource, outcome, status, &request_id());
    e.principal_id = principal.map(str::to_owned);
    e.instance_id = instance.map(str::to_owned);
    e
}

impl AppState {
    /// Record a denied request, then return the error to answer with.
    pub async fn deny(
        &self,
        principal: Option<&str>,
        action: &str,
        resource: &str,
        instance: Option<&str>,
        err: ApiError,
    ) -> ApiError {
        let status = err.status_code().0.as_u16();
        let ev = audit_event(
            principal,
            action,
            resource,
            instance,
            Outcome::Denied,
            status,
        );
        if let Err(e) = self.store.record_audit(&ev).await {
            return ApiError::Internal(format!("could not record audit event: {e}"));
        }
        err
    }

    /// Authorize a platform-level action.
    pub async fn check_platform(
        &self,
        caller: &Principal,
        action: Action,
        resource: &str,
    ) -> Result<(), ApiError> {
        self.check_resource(caller, action, Resource::Platform, resource)
            .await
    }

    /// Authorize an action on a principal-owned resource (own API keys).
    pub async fn check_resource(
        &self,
        caller: &Principal,
        action: Action,
        target: Resource<'_>,
        resource: &str,
    ) -> Result<(), ApiError> {
        match authorize(caller, action, target) {
            Decision::Allow => Ok(()),
            Decision::Forbidden => Err(self
                .deny(
                    Some(&caller.id),
                    action.as_str(),
                    resource,
                    None,
                    ApiError::Forbidden(format!("not allowed to {}", action.as_str())),
                )
                .await),
            Decision::NotFound => Err(self
                .deny(
                    Some(&caller.id),
                    action.as_str(),
                    resource,
                    None,
                    ApiError::NotFound("not found".into()),
                )
                .await),
        }
    }

    /// Authorize an action on an instance: unknown or no role → 404; role without the
    /// action → 403. Returns the instance and the caller's role.
    pub async fn check_instance(
        &self,
        caller: &Principal,
        instance_id: &str,
        action: Action,
        resource: &str,
    ) -> Result<(InstanceRecord, Option<Role>), ApiError> {
        let not_found = || ApiError::NotFound(format!("instance `{instance_id}` not found"));
        let Some(instance) = self.store.instance(instance_id) else {
            return Err(self
                .deny(
                    Some(&caller.id),
                    action.as_str(),
                    resource,
                    None,
                    not_found(),
                )
                .await);
        };
        let role = self.store.role_of(instance_id, &caller.id);
        match authorize(caller, action, Resource::Instance { caller_role: role }) {
            Decision::Allow => Ok((instance, role)),
            Decision::Forbidden => Err(self
                .deny(
                    Some(&caller.id),
                    action.as_str(),
                    resource,
                    Some(instance_id),
                    ApiError::Forbidden(format!(
                        "your role on this instance does not allow {}",
                        action.as_str()
                    )),
                )
                .await),
            Decision::NotFound => Err(self
                .deny(
                    Some(&caller.id),
                    action.as_str(),
                    resource,
                    Some(instance_id),
                    not_found(),
                )
                .await),
        }
    }
}
