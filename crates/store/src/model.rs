//! Records kept in the tenant database.

use std::collections::BTreeMap;

use sparkplane_iam::PrincipalKind;

/// A user or service ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRecord {
    /// `usr-…` / `sid-…`.
    pub id: String,
    /// User or service ID.
    pub kind: PrincipalKind,
    /// Display name.
    pub name: String,
    /// E-mail (users).
    pub email: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Platform Administrator.
    pub administrator: bool,
    /// Creation time (epoch ms).
    pub created_at: i64,
}

/// An API key (only its argon2 hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Public key id.
    pub id: String,
    /// Owner.
    pub principal_id: String,
    /// Optional name.
    pub name: Option<String>,
    /// Optional description.
    pub description: Option<String>,
    /// argon2 PHC hash of the secret.
    pub hash: String,
    /// Creation time (epoch ms).
    pub created_at: i64,
}

/// Resource consumption limits of an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Max cores of all its running applications together.
    pub max_cores: Option<i64>,
    /// Max memory (Spark size string, e.g. `64g`).
    pub max_memory: Option<String>,
    /// Max applications running at once.
    pub max_concurrent_applications: Option<i64>,
}

/// A tenant instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    /// Instance id (UUID).
    pub id: String,
    /// Display name.
    pub name: String,
    /// `active` (deleted instances are not returned).
    pub state: String,
    /// Instance-level Spark configuration.
    pub default_config: BTreeMap<String, String>,
    /// Default Spark version for applications.
    pub spark_version: String,
    /// Quotas.
    pub limits: Limits,
    /// Creation time (epoch ms).
    pub created_at: i64,
    /// Last state change (epoch ms).
    pub state_change_time: i64,
}

/// How an audited request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The change was made.
    Success,
    /// Authentication or authorization refused the request.
    Denied,
}

impl Outcome {
    /// Stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
        }
    }
}

/// One audit event. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Time-ordered id (UUIDv7), also the pagination cursor.
    pub id: String,
    /// Epoch ms.
    pub time: i64,
    /// Caller, if authenticated.
    pub principal_id: Option<String>,
    /// Action name (`instance.create`, …).
    pub action: String,
    /// Resource path.
    pub resource: String,
    /// Instance concerned, if any.
    pub instance_id: Option<String>,
    /// `success` or `denied`.
    pub outcome: String,
    /// HTTP status answered.
    pub status: i64,
    /// Request id (the `trace` of error bodies).
    pub request_id: String,
    /// Extra non-secret detail.
    pub detail: Option<String>,
}

impl AuditEvent {
    /// A new event stamped now with a fresh time-ordered id.
    pub fn new(
        action: &str,
        resource: &str,
        outcome: Outcome,
        status: u16,
        request_id: &str,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            time: crate::now_ms(),
            principal_id: None,
            action: action.to_owned(),
            resource: resource.to_owned(),
            instance_id: None,
            outcome: outcome.as_str().to_owned(),
            status: i64::from(status),
            request_id: request_id.to_owned(),
            detail: None,
        }
    }
}

/// Filters and page of an audit query (newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this instance.
    pub instance_id: Option<String>,
    /// Only this principal.
    pub principal_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Only events at or after (epoch ms).
    pub since: Option<i64>,
    /// Only events before (epoch ms).
    pub until: Option<i64>,
    /// Cursor: only events older than this event id.
    pub start: Option<String>,
    /// Page size.
    pub limit: i64,
}
