//! Principals, API keys (argon2), bearer tokens (JWT, 1 h), per-instance roles, the one
//! `authorize(principal, action, resource)` policy table, and audit events.
