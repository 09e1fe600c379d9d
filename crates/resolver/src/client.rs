//! The resolver's settings, and one transport per registry built from them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use tokio::sync::OnceCell;

use crate::transport::{Endpoint, Registry};
use crate::{CredentialStore, ResolveError, RetryPolicy};

/// Transport settings for one registry, from `[registries."host:port"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySettings {
    /// Plain HTTP is allowed for this registry.
    pub insecure: bool,
    /// Extra trust root (PEM) for this registry only.
    pub ca_pem: Option<Vec<u8>>,
}

/// How the resolver behaves: timeouts, retries, concurrency, per-registry settings.
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// Settings keyed by registry host as written in references (`host:port`).
    pub registries: BTreeMap<String, RegistrySettings>,
    /// Limit for one request, from connecting to the last body byte; also
    /// for a credential helper to answer.
    pub request_timeout: Duration,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// How many requests may be in flight at once.
    pub jobs: usize,
    /// How many of them may go to one registry at once. Over HTTP/2 they
    /// share one connection, whose servers commonly allow 100 or more
    /// streams at once; the bound keeps one registry from taking every
    /// slot and spares a registry's rate limiter.
    pub jobs_per_registry: usize,
    /// Credentials per registry; anonymous where it has none.
    pub credentials: CredentialStore,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            registries: BTreeMap::new(),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            jobs: 16,
            jobs_per_registry: 100,
            credentials: CredentialStore::default(),
        }
    }
}

/// One [`Registry`] per registry, created on first use and then shared so
/// its connections, ping and tokens serve every request to it.
///
/// Per registry, not one for all: the plain-HTTP choice and extra CAs are
/// set per registry in images.toml, and an HTTPS registry's client refuses
/// plain HTTP altogether.
pub(crate) struct Clients {
    config: ResolverConfig,
    /// Registries marked `insecure`, which may be reached over plain HTTP.
    insecure: Arc<Vec<String>>,
    by_registry: Mutex<HashMap<String, Arc<RegistryCell>>>,
}

/// A registry's transport once made, or why it could not be.
type RegistryCell = OnceCell<Result<Arc<Registry>, ResolveError>>;

impl Clients {
    pub(crate) fn new(config: ResolverConfig) -> Self {
        let insecure = config
            .registries
            .iter()
            .filter(|(_, s)| s.insecure)
            .map(|(name, _)| name.clone())
            .collect();
        Clients {
            config,
            insecure: Arc::new(insecure),
            by_registry: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// The transport for `registry`, made on first use. Credential helpers
    /// therefore run once per registry, not once per image, and a failure
    /// to find credentials is reported for every image of that registry
    /// without running the helper again.
    pub(crate) async fn get(&self, registry: &str) -> Result<Arc<Registry>, ResolveError> {
        let cell = {
            let mut map = self
                .by_registry
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(map.entry(registry.to_string()).or_default())
        };
        cell.get_or_init(|| async { self.build(registry).await.map(Arc::new) })
            .await
            .clone()
    }

    async fn build(&self, registry: &str) -> Result<Registry, ResolveError> {
        let config_error = |reason: String| ResolveError::Config {
            registry: registry.to_string(),
            reason,
        };
        let settings = self.config.registries.get(registry);
        let plain_http = uses_plain_http(registry, settings);
        let timeout = self.config.request_timeout;
        // HTTP/2 where the registry offers it by ALPN (TLS): every request
        // in flight shares one connection and handshake. Plain HTTP stays
        // HTTP/1.1 (no prior knowledge), with a pool of connections.
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("images/", env!("CARGO_PKG_VERSION")))
            // Redirects are followed by hand (see `transport`): the rules
            // for scheme and credentials are ours.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .https_only(!plain_http);
        // The system roots come from rustls-platform-verifier, which on
        // Linux reads them through rustls-native-certs: `SSL_CERT_FILE` and
        // `SSL_CERT_DIR` replace the system store there, as with OpenSSL.
        // Nothing to load here for them; the e2e tests pin it.
        if let Some(pem) = settings.and_then(|s| s.ca_pem.as_deref()) {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| config_error(format!("its CA file is not PEM certificates: {e}")))?;
            if certificates.is_empty() {
                return Err(config_error("its CA file holds no certificate".into()));
            }
            builder = builder.tls_certs_merge(certificates);
        }
        let http = builder.build().map_err(|e| config_error(e.to_string()))?;
        let scheme = if plain_http { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{}/", api_host(registry)))
            .map_err(|e| config_error(format!("not a host name: {e}")))?;
        let found = self.config.credentials.find(registry, timeout).await?;
        Ok(Registry::new(Endpoint {
            name: registry.to_string(),
            base,
            http,
            credential: found.auth,
            source: found.source,
            timeout,
            insecure: Arc::clone(&self.insecure),
            in_flight: self.config.jobs_per_registry.max(1),
        }))
    }
}

/// Where a registry's API answers: Docker Hub's is `registry-1.docker.io`,
/// as docker and containerd send it.
fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// Whether `registry` is spoken to over plain HTTP. Never a fallback: the
/// scheme is decided here, before any request, and an HTTPS failure stays
/// a failure.
///
/// - A registry with a `[registries]` table: plain HTTP only with
///   `insecure = true`. Writing the table (with `ca`, or just
///   `insecure = false`) is how a loopback registry that serves TLS is
///   reached over HTTPS.
/// - Without a table: plain HTTP for loopback (127.0.0.0/8, ::1,
///   localhost), which Docker also allows without configuration; HTTPS
///   for everything else. (Docker tries HTTPS first on loopback and falls
///   back; a silent fallback is exactly what we refuse.)
pub(crate) fn uses_plain_http(registry: &str, settings: Option<&RegistrySettings>) -> bool {
    match settings {
        Some(settings) => settings.insecure && settings.ca_pem.is_none(),
        None => is_loopback(registry),
    }
}

/// Loopback registries get plain HTTP, as Docker allows: 127.0.0.0/8, ::1, localhost.
pub(crate) fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, _)| h)
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::{is_loopback, uses_plain_http, RegistrySettings};

    #[test]
    fn a_registry_table_decides_the_scheme_even_on_loopback() {
        let table = |insecure: bool, ca: bool| RegistrySettings {
            insecure,
            ca_pem: ca.then(|| b"pem".to_vec()),
        };
        assert!(uses_plain_http("127.0.0.1:5000", None));
        assert!(uses_plain_http("localhost:5000", None));
        assert!(!uses_plain_http("registry.internal:5000", None));
        assert!(!uses_plain_http(
            "127.0.0.1:5000",
            Some(&table(false, false))
        ));
        assert!(!uses_plain_http(
            "127.0.0.1:5000",
            Some(&table(false, true))
        ));
        assert!(uses_plain_http(
            "registry.internal:5000",
            Some(&table(true, false))
        ));
        // A CA is never ignored in favour of plain HTTP.
        assert!(!uses_plain_http(
            "registry.internal:5000",
            Some(&table(true, true))
        ));
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost:80",
            "[::1]:5000",
            "LOCALHOST",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "registry.internal:5000",
            "10.0.0.1:5000",
            "docker.io",
            "[::2]:1",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
