//! Portal settings: the OIDC provider (`--oidc-issuer`, `--oidc-client-id`,
//! `--oidc-client-secret`, TOML table `[oidc]`) and session lifetimes.

use std::path::PathBuf;

use serde::Deserialize;

/// One layer of OIDC settings (flags/env or the TOML `[oidc]` table); every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcLayer {
    /// Issuer URL (`https://idp.example.com/realms/x`); discovery is read from
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: Option<String>,
    /// OAuth client id registered at the provider.
    pub client_id: Option<String>,
    /// OAuth client secret. Stored encrypted in the object store
    /// (`platform/oidc/client_secret`) at start; later starts may omit it.
    pub client_secret: Option<String>,
    /// Extra PEM CA certificate(s) to trust for the provider (private CA, tests).
    pub ca_file: Option<PathBuf>,
    /// Allow a plain-`http` issuer on a loopback address (tests only).
    pub insecure_loopback: Option<bool>,
    /// The redirect URI registered at the provider (default:
    /// `https://<Host header>/ui/auth/callback`).
    pub redirect_url: Option<String>,
}

impl OidcLayer {
    /// Fill every unset field of `self` from `lower`.
    pub fn or(self, lower: OidcLayer) -> OidcLayer {
        OidcLayer {
            issuer: self.issuer.or(lower.issuer),
            client_id: self.client_id.or(lower.client_id),
            client_secret: self.client_secret.or(lower.client_secret),
            ca_file: self.ca_file.or(lower.ca_file),
            insecure_loopback: self.insecure_loopback.or(lower.insecure_loopback),
            redirect_url: self.redirect_url.or(lower.redirect_url),
        }
    }

    /// Merge two optional layers (flags over file).
    pub fn merge(upper: Option<OidcLayer>, lower: Option<OidcLayer>) -> Option<OidcLayer> {
        match (upper, lower) {
            (Some(u), Some(l)) => Some(u.or(l)),
            (u, l) => u.or(l),
        }
    }

    /// Whether any field is set.
    pub fn is_empty(&self) -> bool {
        self.issuer.is_none()
            && self.client_id.is_none()
            && self.client_secret.is_none()
            && self.ca_file.is_none()
            && self.insecure_loopback.is_none()
            && self.redirect_url.is_none()
    }
}

/// Resolved OIDC settings (issuer and client id present).
#[derive(Clone)]
pub struct OidcSettings {
    /// Issuer URL, without a trailing slash.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret given at this start (else read from the object store).
    pub client_secret: Option<String>,
    /// Extra CA file.
    pub ca_file: Option<PathBuf>,
    /// Plain-http loopback issuer allowed.
    pub insecure_loopback: bool,
    /// Fixed redirect URI.
    pub redirect_url: Option<String>,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("ca_file", &self.ca_file)
            .field("insecure_loopback", &self.insecure_loopback)
            .field("redirect_url", &self.redirect_url)
            .finish()
    }
}

impl OidcSettings {
    /// Resolve a layer: `None` when OIDC is not configured at all; an error when it is only
    /// half configured or the issuer is not acceptable.
    pub fn resolve(layer: Option<OidcLayer>) -> Result<Option<OidcSettings>, String> {
        let Some(l) = layer.filter(|l| !l.is_empty()) else {
            return Ok(None);
        };
        let (Some(issuer), Some(client_id)) = (l.issuer, l.client_id) else {
            return Err("--oidc-issuer and --oidc-client-id go together".into());
        };
        let insecure_loopback = l.insecure_loopback.unwrap_or(false);
        let url = url_parts(&issuer)
            .ok_or_else(|| format!("--oidc-issuer `{issuer}` is not an http(s) URL"))?;
        if url.0 == "http" && !(insecure_loopback && is_loopback_host(&url.1)) {
            return Err(format!(
                "--oidc-issuer `{issuer}` must be https (plain http only on a loopback address with --oidc-insecure-loopback)"
            ));
        }
        Ok(Some(OidcSettings {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id,
            client_secret: l.client_secret.filter(|s| !s.is_empty()),
            ca_file: l.ca_file,
            insecure_loopback,
            redirect_url: l.redirect_url,
        }))
    }
}

/// (scheme, host) of an http(s) URL.
pub(crate) fn url_parts(u: &str) -> Option<(String, String)> {
    let (scheme, rest) = u.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?.to_owned()
    } else {
        authority.split(':').next()?.to_owned()
    };
    (!host.is_empty()).then_some((scheme, host.to_ascii_lowercase()))
}

pub(crate) fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(issuer: &str, loopback: bool) -> Option<OidcLayer> {
        Some(OidcLayer {
            issuer: Some(issuer.into()),
            client_id: Some("c".into()),
            insecure_loopback: Some(loopback),
            ..Default::default()
        })
    }

    #[test]
    fn http_issuer_only_on_loopback_with_flag() {
        assert!(
            OidcSettings::resolve(layer("https://idp.example.com/", false))
                .unwrap()
                .is_some()
        );
        assert!(OidcSettings::resolve(layer("http://idp.example.com", true)).is_err());
        assert!(OidcSettings::resolve(layer("http://127.0.0.1:9000", false)).is_err());
        let s = OidcSettings::resolve(layer("http://127.0.0.1:9000/", true))
            .unwrap()
            .unwrap();
        assert_eq!(s.issuer, "http://127.0.0.1:9000");
        assert!(OidcSettings::resolve(None).unwrap().is_none());
        let half = Some(OidcLayer {
            issuer: Some("https://x".into()),
            ..Default::default()
        });
        assert!(OidcSettings::resolve(half).is_err());
    }
}
