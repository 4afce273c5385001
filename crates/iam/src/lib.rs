//! Identity and access for sparkplane: principals and roles, API keys (argon2), bearer tokens
//! (JWT, 1 h), the one `authorize(principal, action, resource)` policy table, the rate limiter
//! for bad keys, and the Spark-conf keys an instance may not override.
//!
//! No I/O: persistence lives in `sparkplane-store`, HTTP in `sparkplane-server`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod apikey;
pub mod conf_policy;
pub mod policy;
pub mod ratelimit;
pub mod token;

pub use apikey::{ApiKey, ApiKeyError, KeyId};
pub use policy::{authorize, Action, Decision, Principal, PrincipalKind, Resource, Role};
pub use ratelimit::FailureLimiter;
pub use token::{
    AppKmsClaims, Claims, TokenError, TokenSigner, APP_KMS_TOKEN_MAX_LIFETIME_SECS,
    TOKEN_LIFETIME_SECS,
};
