//! The axum HTTP(S) API (IBM Analytics Engine v3 shapes), OpenAPI, web portal, OIDC login, metrics.
