//! Roles, actions and the single policy table every request goes through.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of principal an identity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A person.
    User,
    /// A service identity (automation, exporters).
    ServiceId,
}

impl PrincipalKind {
    /// Stable string stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ServiceId => "service_id",
        }
    }
}

impl FromStr for PrincipalKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Self::User),
            "service_id" => Ok(Self::ServiceId),
            other => Err(UnknownName(other.to_owned())),
        }
    }
}

/// A role a principal holds on one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Role {
    /// Reads everything of the instance.
    Reader,
    /// Reader + submit/stop applications, upload files, export summaries.
    Writer,
    /// Writer + configuration, library sets, sources, KMS keys, access grants.
    Manager,
    /// Service IDs only: may only write performance summaries into the instance.
    Exporter,
}

impl Role {
    /// Stable string stored in the database and used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "Reader",
            Self::Writer => "Writer",
            Self::Manager => "Manager",
            Self::Exporter => "Exporter",
        }
    }

    /// Whether a principal of `kind` may hold this role (Exporter is for service IDs only).
    pub fn allowed_for(self, kind: PrincipalKind) -> bool {
        !(self == Self::Exporter && kind != PrincipalKind::ServiceId)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the known values.
#[derive(Debug, thiserror::Error)]
#[error("unknown value `{0}`")]
pub struct UnknownName(pub String);

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Reader" => Ok(Self::Reader),
            "Writer" => Ok(Self::Writer),
            "Manager" => Ok(Self::Manager),
            "Exporter" => Ok(Self::Exporter),
            other => Err(UnknownName(other.to_owned())),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Principal id (`usr-…` or `sid-…`).
    pub id: String,
    /// User or service ID.
    pub kind: PrincipalKind,
    /// Platform Administrator.
    pub administrator: bool,
}

/// Everything a request can ask to do. Later features add variants; each needs a table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create or list principals, read any principal.
    PrincipalsManage,
    /// Create, list or delete API keys of a principal.
    ApiKeysManage,
    /// Read the platform-wide audit log.
    PlatformAuditRead,
    /// Create an instance.
    InstanceCreate,
    /// Read an instance's metadata and state.
    InstanceRead,
    /// Delete an instance.
    InstanceDelete,
    /// Read default_configs, default_runtime, resource_consumption_limits.
    ConfigRead,
    /// Change default_configs, default_runtime, resource_consumption_limits.
    ConfigWrite,
    /// Read access policies.
    AccessRead,
    /// Grant or revoke roles.
    AccessWrite,
    /// Read the instance's audit log.
    InstanceAuditRead,
    /// Read applications, logs, summaries and insights.
    DataRead,
    /// Submit or stop applications, upload files.
    AppWrite,
    /// Write performance summaries.
    SummaryWrite,
    /// Rotate the master key of encryption at rest (re-wrap data keys).
    MasterKeyRotate,
    /// Create the instance's named Parquet KMS master keys.
    KmsKeysManage,
    /// Wrap a Parquet data key with an instance KMS key (writing encrypted Parquet).
    KmsWrap,
    /// Unwrap a Parquet data key with an instance KMS key (reading encrypted Parquet).
    KmsUnwrap,
    /// Create or delete library sets (code that runs in every app that asks for it).
    LibrarySetsManage,
}

impl Action {
    /// Stable name used in audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrincipalsManage => "iam.principals.manage",
            Self::ApiKeysManage => "iam.api_keys.manage",
            Self::PlatformAuditRead => "platform.audit.read",
            Self::InstanceCreate => "instance.create",
            Self::InstanceRead => "instance.read",
            Self::InstanceDelete => "instance.delete",
            Self::ConfigRead => "instance.config.read",
            Self::ConfigWrite => "instance.config.write",
            Self::AccessRead => "instance.access.read",
            Self::AccessWrite => "instance.access.write",
            Self::InstanceAuditRead => "instance.audit.read",
            Self::DataRead => "instance.data.read",
            Self::AppWrite => "instance.apps.write",
            Self::SummaryWrite => "instance.summaries.write",
            Self::MasterKeyRotate => "platform.master_key.rotate",
            Self::KmsKeysManage => "instance.kms.keys.manage",
            Self::KmsWrap => "instance.kms.wrap",
            Self::KmsUnwrap => "instance.kms.unwrap",
            Self::LibrarySetsManage => "instance.library_sets.manage",
        }
    }
}

/// What an action is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// The platform as a whole (principals, instance creation, platform audit).
    Platform,
    /// A principal's own sub-resources (its API keys): `owner` is the principal id.
    PrincipalOwned {
        /// Principal that owns the resource.
        owner: &'a str,
    },
    /// An existing instance, with the role the caller holds on it (if any).
    Instance {
        /// The caller's role on this instance.
        caller_role: Option<Role>,
    },
}

/// Outcome of [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// The caller may know the resource exists but may not do this: HTTP 403.
    Forbidden,
    /// The caller has no business knowing the resource exists: HTTP 404.
    NotFound,
}

/// Who may do an action: roles on the instance (bit set), and whether a platform Administrator
/// may do it without a role.
struct Rule {
    action: Action,
    roles: &'static [Role],
    administrator: bool,
    /// Instance data (applications, logs, summaries, files): a caller without a role gets
    /// `NotFound` even as Administrator, so not even the existence of an application leaks.
    data: bool,
}

use Role::{Exporter, Manager, Reader, Writer};

/// THE policy table. One row per action.
#[rustfmt::skip]
const RULES: &[Rule] = &[
    Rule { action: Action::PrincipalsManage, roles: &[], administrator: true, data: false },
    Rule { action: Action::ApiKeysManage, roles: &[], administrator: true, data: false },
    Rule { action: Action::PlatformAuditRead, roles: &[], administrator: true, data: false },
    Rule { action: Action::InstanceCreate, roles: &[], administrator: true, data: false },
    Rule { action: Action::InstanceRead, roles: &[Reader, Writer, Manager], administrator: true, data: false },
    Rule { action: Action::InstanceDelete, roles: &[], administrator: true, data: false },
    Rule { action: Action::ConfigRead, roles: &[Reader, Writer, Manager], administrator: false, data: false },
    Rule { action: Action::ConfigWrite, roles: &[Manager], administrator: false, data: false },
    Rule { action: Action::AccessRead, roles: &[Manager], administrator: true, data: false },
    Rule { action: Action::AccessWrite, roles: &[Manager], administrator: true, data: false },
    Rule { action: Action::InstanceAuditRead, roles: &[Manager], administrator: true, data: false },
    Rule { action: Action::DataRead, roles: &[Reader, Writer, Manager], administrator: false, data: true },
    Rule { action: Action::AppWrite, roles: &[Writer, Manager], administrator: false, data: true },
    Rule { action: Action::SummaryWrite, roles: &[Writer, Manager, Exporter], administrator: false, data: false },
    Rule { action: Action::MasterKeyRotate, roles: &[], administrator: true, data: false },
    Rule { action: Action::KmsKeysManage, roles: &[Manager], administrator: false, data: false },
    Rule { action: Action::KmsWrap, roles: &[Writer, Manager], administrator: false, data: true },
    Rule { action: Action::KmsUnwrap, roles: &[Reader, Writer, Manager], administrator: false, data: true },
    Rule { action: Action::LibrarySetsManage, roles: &[Manager], administrator: false, data: false },
];

/// The one authorization decision of sparkplane.
///
/// * Platform actions: Administrator only (a principal may also manage its own API keys).
/// * Instance actions: allowed by the caller's role per the table, or by Administrator where the
///   table says so. A caller with no role (and not Administrator) gets `NotFound`, so an
///   instance's existence is not leaked; a role (or Administrator) without the action gets
///   `Forbidden` — except for instance data (`data` rows: applications, logs, summaries, files),
///   where an Administrator without a role gets `NotFound` too.
pub fn authorize(principal: &Principal, action: Action, resource: Resource<'_>) -> Decision {
    let Some(rule) = RULES.iter().find(|r| r.action == action) else {
        return Decision::Forbidden;
    };
    match resource {
        Resource::Platform => {
            if rule.administrator && principal.administrator {
                Decision::Allow
            } else {
                Decision::Forbidden
            }
        }
        Resource::PrincipalOwned { owner } => {
            let own = action == Action::ApiKeysManage && owner == principal.id;
            if own || (rule.administrator && principal.administrator) {
                Decision::Allow
            } else {
                Decision::Forbidden
            }
        }
        Resource::Instance { caller_role } => {
            let by_role = caller_role.is_some_and(|r| rule.roles.contains(&r));
            if by_role || (rule.administrator && principal.administrator) {
                Decision::Allow
            } else if caller_role.is_some() || (principal.administrator && !rule.data) {
                Decision::Forbidden
            } else {
                Decision::NotFound
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(admin: bool) -> Principal {
        Principal {
            id: "usr-1".into(),
            kind: PrincipalKind::User,
            administrator: admin,
        }
    }

    #[test]
    fn every_action_has_a_rule() {
        use Action::*;
        for a in [
            PrincipalsManage,
            ApiKeysManage,
            PlatformAuditRead,
            InstanceCreate,
            InstanceRead,
            InstanceDelete,
            ConfigRead,
            ConfigWrite,
            AccessRead,
            AccessWrite,
            InstanceAuditRead,
            DataRead,
            AppWrite,
            SummaryWrite,
            MasterKeyRotate,
            KmsKeysManage,
            KmsWrap,
            KmsUnwrap,
            LibrarySetsManage,
        ] {
            assert!(RULES.iter().any(|r| r.action == a), "{a:?}");
        }
    }

    #[test]
    fn no_role_is_not_found_and_admin_reads_no_data() {
        let inst = Resource::Instance { caller_role: None };
        assert_eq!(
            authorize(&user(false), Action::InstanceRead, inst),
            Decision::NotFound
        );
        assert_eq!(
            authorize(&user(true), Action::InstanceRead, inst),
            Decision::Allow
        );
        // Administrator without a role: instance data is not found (not merely forbidden).
        assert_eq!(
            authorize(&user(true), Action::DataRead, inst),
            Decision::NotFound
        );
        assert_eq!(
            authorize(&user(true), Action::AppWrite, inst),
            Decision::NotFound
        );
        let reader = Resource::Instance {
            caller_role: Some(Role::Reader),
        };
        assert_eq!(
            authorize(&user(false), Action::ConfigWrite, reader),
            Decision::Forbidden
        );
        assert_eq!(
            authorize(&user(false), Action::ConfigRead, reader),
            Decision::Allow
        );
    }

    #[test]
    fn own_keys() {
        let me = user(false);
        assert_eq!(
            authorize(
                &me,
                Action::ApiKeysManage,
                Resource::PrincipalOwned { owner: "usr-1" }
            ),
            Decision::Allow
        );
        assert_eq!(
            authorize(
                &me,
                Action::ApiKeysManage,
                Resource::PrincipalOwned { owner: "usr-2" }
            ),
            Decision::Forbidden
        );
    }
}
