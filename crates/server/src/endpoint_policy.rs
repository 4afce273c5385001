//! Which S3 endpoints an instance's event-log source may point the server at (SSRF guard).
//!
//! A Manager chooses a source's `endpoint`, and the server's poller then sends requests there
//! from inside the deployment's network. Two rules keep that from reaching what it should not:
//!
//! - never a cloud instance-metadata service: link-local, unspecified, multicast and broadcast
//!   addresses, and the well-known metadata host names, are always refused;
//! - if the operator sets `--source-endpoint-allow` (TOML `[ingest] source_endpoint_allow`),
//!   only the listed hosts (`host`, `host:port`, or `*.suffix`) are accepted.
//!
//! The policy is checked when a source is saved and again before every poll (an allow-list
//! tightened later stops sources saved before).

use std::net::IpAddr;

/// Host names of instance-metadata services (AWS, GCP, Azure, OpenStack, Alibaba).
const METADATA_HOSTS: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
    "metadata.tencentyun.com",
    "100.100.100.200",
];

/// The operator's endpoint policy for event-log sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// `None`: any endpoint that is not a metadata service. `Some`: only these hosts.
    allow: Option<Vec<String>>,
}

impl EndpointPolicy {
    /// A policy with an allow-list (entries lower-cased; an empty list allows nothing).
    pub fn allow_only(entries: Vec<String>) -> Self {
        EndpointPolicy {
            allow: Some(
                entries
                    .into_iter()
                    .map(|e| e.trim().to_ascii_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect(),
            ),
        }
    }

    /// Check an endpoint URL; the error says why it is refused.
    pub fn check(&self, endpoint: &str) -> Result<(), String> {
        let url = url::Url::parse(endpoint)
            .map_err(|e| format!("endpoint `{endpoint}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("endpoint must be an http:// or https:// URL".into());
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err("endpoint has no host".into()),
        };
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if ip.is_some_and(forbidden_ip) || METADATA_HOSTS.contains(&host.as_str()) {
            return Err(format!(
                "endpoint host `{host}` is an instance-metadata, link-local or non-unicast \
                 address; sources may not point there"
            ));
        }
        let Some(allow) = &self.allow else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(0);
        let with_port = format!("{host}:{port}");
        let ok = allow.iter().any(|a| {
            if let Some(suffix) = a.strip_prefix("*.") {
                host.ends_with(&format!(".{suffix}"))
            } else {
                *a == host || *a == with_port
            }
        });
        if ok {
            Ok(())
        } else {
            Err(format!(
                "endpoint host `{host}` is not in this server's --source-endpoint-allow list"
            ))
        }
    }
}

fn forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_link_local() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            let mapped = v6.to_ipv4_mapped();
            mapped.is_some_and(|m| forbidden_ip(IpAddr::V4(m)))
                || v6.is_unspecified()
                || v6.is_multicast()
                // fe80::/10 (link-local unicast) and AWS's fd00:ec2::254 metadata address.
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.segments() == [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_link_local_are_always_refused() {
        let open = EndpointPolicy::default();
        for bad in [
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.170.2",
            "http://[fe80::1]:9000",
            "http://[fd00:ec2::254]",
            "http://[::ffff:169.254.169.254]",
            "http://0.0.0.0:9000",
            "http://metadata.google.internal",
            "http://METADATA.google.internal.",
            "http://100.100.100.200",
            "http://224.0.0.1",
            "ftp://s3.example.com",
            "not a url",
        ] {
            assert!(open.check(bad).is_err(), "{bad} accepted");
        }
        for good in [
            "https://s3.eu-west-1.amazonaws.com",
            "http://127.0.0.1:9000",
            "https://minio.internal.example:9000",
        ] {
            assert_eq!(open.check(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn allow_list_restricts_hosts() {
        let p = EndpointPolicy::allow_only(vec![
            "minio.example.com:9000".into(),
            "*.amazonaws.com".into(),
            " 127.0.0.1 ".into(),
        ]);
        assert_eq!(p.check("http://minio.example.com:9000"), Ok(()));
        assert!(p.check("http://minio.example.com:9001").is_err());
        assert_eq!(p.check("https://s3.us-east-1.amazonaws.com"), Ok(()));
        assert!(p.check("https://amazonaws.com.evil.example").is_err());
        assert_eq!(p.check("http://127.0.0.1:45123"), Ok(()));
        assert!(p.check("http://10.0.0.5").is_err());
        let err = p.check("http://10.0.0.5").unwrap_err();
        assert!(err.contains("--source-endpoint-allow"), "{err}");
        // Metadata stays refused even when listed.
        let p = EndpointPolicy::allow_only(vec!["169.254.169.254".into()]);
        assert!(p.check("http://169.254.169.254").is_err());
        assert!(EndpointPolicy::allow_only(vec![])
            .check("http://127.0.0.1")
            .is_err());
    }
}
