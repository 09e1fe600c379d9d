//! Per-registry `oci-client` clients and the settings they are built from.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::Client;

use oci_client::secrets::RegistryAuth;
use oci_client::token_cache::{RegistryToken, RegistryTokenType};
use oci_client::RegistryOperation;
use tokio::sync::OnceCell;

use crate::token_sharing::SharedToken;
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
    /// Limit for one request, from connecting to the last body byte.
    pub request_timeout: Duration,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// How many requests may be in flight at once.
    pub jobs: usize,
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
            credentials: CredentialStore::default(),
        }
    }
}

/// One `oci-client` per registry, created on first use and then shared so
/// its connection pool and token cache serve every request to that registry.
///
/// Per registry, not one for all: `oci-client` takes extra CAs and the
/// plain-HTTP choice for the whole client, while images.toml sets them per
/// registry.
pub(crate) struct Clients {
    config: ResolverConfig,
    by_registry: Mutex<HashMap<String, Connection>>,
}

/// One completed authorization of a repository, to tell it from a later one.
pub(crate) struct Authorization(Arc<OnceCell<()>>);

/// A registry's client and the credentials it is used with.
#[derive(Clone)]
pub(crate) struct Connection {
    pub client: Arc<Client>,
    pub auth: RegistryAuth,
    /// Where `auth` came from, for messages; `None` when anonymous.
    pub source: Option<String>,
    /// One authorization per repository, shared by every request to it.
    authorized: Arc<Mutex<HashMap<String, Arc<OnceCell<()>>>>>,
    /// For anonymous access: whether the registry's `/v2/` drew no
    /// challenge, and which repository's authorization asked. The ping is
    /// the same for every repository, so one answer serves them all.
    probe: Arc<OnceCell<(bool, String)>>,
    /// Whether one bearer token serves every repository here.
    shared: Arc<SharedToken>,
}

impl Connection {
    /// `err` with what this connection knows added: which credentials a
    /// 401 refused.
    pub(crate) fn explain(&self, err: ResolveError) -> ResolveError {
        match err {
            ResolveError::Unauthorized {
                registry,
                credentials: None,
            } => ResolveError::Unauthorized {
                registry,
                credentials: self.source.clone(),
            },
            other => other,
        }
    }

    fn new(client: Client, auth: RegistryAuth) -> Self {
        Connection {
            client: Arc::new(client),
            auth,
            source: None,
            authorized: Arc::default(),
            probe: Arc::default(),
            shared: Arc::default(),
        }
    }

    /// Authorizes pulls from `target`'s repository once, however many
    /// requests need it at the same moment.
    ///
    /// `oci-client` authorizes inside every call: it caches bearer and
    /// basic tokens, but for a registry that asks for no authentication
    /// it caches nothing and sends `GET /v2/` before every request, which
    /// doubles the requests `verify` makes; and concurrent requests for a
    /// repository each fetch their own token. Calling `Client::auth` once
    /// per repository fixes the second. For the first, an anonymous client
    /// whose ping drew no challenge gets an empty bearer entry in the
    /// client's public token cache: an open registry ignores the header,
    /// and the entry expires like any token, after which the library
    /// simply asks again.
    pub(crate) async fn authorize(
        &self,
        target: &oci_client::Reference,
    ) -> Result<Authorization, oci_client::errors::OciDistributionError> {
        let cell = {
            let mut map = self
                .authorized
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(map.entry(target.repository().to_string()).or_default())
        };
        cell.get_or_try_init(|| async {
            let open = if self.auth == RegistryAuth::Anonymous {
                let (open, prober) = self
                    .probe
                    .get_or_try_init(|| async {
                        let token = self.fetch_token(target).await?;
                        Ok::<_, oci_client::errors::OciDistributionError>((
                            !token,
                            target.repository().to_string(),
                        ))
                    })
                    .await?;
                if !open && prober != target.repository() {
                    // A registry that challenges: a token per repository,
                    // unless one it issued before serves here too.
                    self.borrow_or_fetch_token(target).await?;
                }
                *open
            } else {
                self.borrow_or_fetch_token(target).await?;
                false
            };
            if open {
                self.insert_token(target, String::new()).await;
            }
            Ok::<_, oci_client::errors::OciDistributionError>(())
        })
        .await?;
        Ok(Authorization(cell))
    }

    /// Uses a token issued for another repository when the registry allows
    /// that (see [`SharedToken`]), else asks for one.
    async fn borrow_or_fetch_token(
        &self,
        target: &oci_client::Reference,
    ) -> Result<(), oci_client::errors::OciDistributionError> {
        match self.shared.borrow(target.repository()) {
            Some(token) => {
                self.insert_token(target, token).await;
                Ok(())
            }
            None => self.fetch_token(target).await.map(|_| ()),
        }
    }

    /// Authorizes through `oci-client`, which caches what it gets; returns
    /// whether the registry issued a bearer token, and offers it for sharing.
    async fn fetch_token(
        &self,
        target: &oci_client::Reference,
    ) -> Result<bool, oci_client::errors::OciDistributionError> {
        let token = self
            .client
            .auth(target, &self.auth, RegistryOperation::Pull)
            .await?;
        let issued = token.is_some();
        if let Some(token) = token {
            self.shared.offer(token);
        }
        Ok(issued)
    }

    /// Puts a bearer token for `target`'s repository into the client's cache.
    async fn insert_token(&self, target: &oci_client::Reference, token: String) {
        self.client
            .tokens
            .insert(
                target,
                RegistryOperation::Pull,
                RegistryTokenType::Bearer(RegistryToken::Token { token }),
            )
            .await;
    }

    /// Runs `request` authorized; a 401 (a token revoked or expired early)
    /// re-authenticates once and tries again.
    pub(crate) async fn authorized<T, F, Fut>(
        &self,
        target: &oci_client::Reference,
        request: F,
    ) -> Result<T, oci_client::errors::OciDistributionError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
    {
        let used = self.authorize(target).await?;
        match request().await {
            Err(oci_client::errors::OciDistributionError::UnauthorizedError { .. }) => {
                self.shared.refused(target.repository());
                self.forget(target, &used);
                self.authorize(target).await?;
                request().await
            }
            Ok(value) => {
                self.shared.accepted(target.repository());
                Ok(value)
            }
            other => other,
        }
    }

    /// Forgets the authorization `used` for `target`'s repository, so the
    /// next request authorizes again. Only that one: when several requests
    /// are refused at once, the first to get here starts a new
    /// authorization and the others share it instead of each fetching a
    /// token.
    fn forget(&self, target: &oci_client::Reference, used: &Authorization) {
        let mut map = self
            .authorized
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map
            .get(target.repository())
            .is_some_and(|current| Arc::ptr_eq(current, &used.0))
        {
            map.remove(target.repository());
        }
    }
}

impl Clients {
    pub(crate) fn new(config: ResolverConfig) -> Self {
        Clients {
            config,
            by_registry: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// The connection for `registry`, made on first use. Credential
    /// helpers therefore run once per registry, not once per image.
    pub(crate) fn get(&self, registry: &str) -> Result<Connection, ResolveError> {
        let mut map = self
            .by_registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(connection) = map.get(registry) {
            return Ok(connection.clone());
        }
        let found = self.config.credentials.find(registry)?;
        let connection = Connection {
            source: found.source,
            ..Connection::new(self.build(registry)?, found.auth)
        };
        map.insert(registry.to_string(), connection.clone());
        Ok(connection)
    }

    fn build(&self, registry: &str) -> Result<Client, ResolveError> {
        let settings = self.config.registries.get(registry);
        let plain_http = uses_plain_http(registry, settings);
        let mut config = ClientConfig {
            protocol: if plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            connect_timeout: Some(self.config.request_timeout.min(Duration::from_secs(10))),
            read_timeout: Some(self.config.request_timeout),
            // Index children are recorded, never chosen: no platform resolver.
            platform_resolver: None,
            user_agent: concat!("images/", env!("CARGO_PKG_VERSION")),
            // For tokens without an `exp` claim: Docker's own default lifetime.
            default_token_expiration_secs: 300,
            ..ClientConfig::default()
        };
        // The system roots come from rustls-platform-verifier, which on
        // Linux reads them through rustls-native-certs: `SSL_CERT_FILE` and
        // `SSL_CERT_DIR` replace the system store there, as with OpenSSL.
        // Nothing to load here for them; the e2e tests pin it.
        if let Some(pem) = settings.and_then(|s| s.ca_pem.clone()) {
            config.extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data: pem,
            });
        }
        // `Client::new` silently falls back to a default (https) client when
        // the config is rejected; `try_from` reports it.
        Client::try_from(config).map_err(|e| ResolveError::Config {
            registry: registry.to_string(),
            reason: e.to_string(),
        })
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
