//! A real CNCF distribution registry (`docker-registry serve`) per test, on
//! a free loopback port, with its own storage.

use crate::client::{Pushed, RegistryClient};
use crate::fixture::Fixture;
use crate::tls::ServerTls;
use crate::token_server::TokenAuth;
use anyhow::{bail, Context as _};
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The error when the registry binary is missing. Tests fail with it, never
/// skip: a suite that silently skips its end-to-end tests proves nothing.
pub const MISSING_REGISTRY: &str =
    "docker-registry not found on PATH: install it with `apt-get install -y docker-registry skopeo`";

const MISSING_HTPASSWD: &str =
    "htpasswd not found on PATH: install it with `apt-get install -y apache2-utils`";

/// How long a registry may take to answer `GET /v2/` after it started.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts at a free port: another process may take the port between our
/// probe and the registry's bind.
const PORT_ATTEMPTS: usize = 5;

/// How to start a [`Registry`]. Build it with struct update syntax so that
/// fields added later (TLS) do not break callers:
///
/// ```no_run
/// use images_testkit::{Registry, RegistryOptions};
/// let registry = Registry::start_with(RegistryOptions {
///     htpasswd: Some(("alice".into(), "s3cret".into())),
///     ..Default::default()
/// })?;
/// # anyhow::Ok(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Port on 127.0.0.1; default: a free one.
    pub port: Option<u16>,
    /// Storage directory, kept after the registry stops (to restart a
    /// registry on the same content); default: inside the registry's own
    /// temporary directory, removed on drop.
    pub storage: Option<PathBuf>,
    /// `(user, password)`: require HTTP basic auth, checked against a
    /// bcrypt htpasswd file made with `htpasswd -Bbn`.
    pub htpasswd: Option<(String, String)>,
    /// Serve HTTPS (`http.tls`) with this certificate and key; the
    /// harness's own client trusts its CA.
    pub tls: Option<ServerTls>,
    /// Require bearer tokens from a [`TokenServer`](crate::TokenServer)
    /// (`auth: token`); the harness's client fetches tokens with the
    /// server's credentials.
    pub token: Option<TokenAuth>,
    /// Write the access log (one line per request, naming its protocol,
    /// `HTTP/2.0` or `HTTP/1.1`, and the client's `User-Agent`) to
    /// [`Registry::log`].
    pub access_log: bool,
}

impl RegistryOptions {
    /// Writes `config.yml` (and `htpasswd`, if asked for) into `dir` for a
    /// registry on `127.0.0.1:port` storing in `storage`; returns the
    /// config's path. For the `images-testkit registry` command; tests use
    /// [`Registry::start_with`].
    pub fn write_config(&self, dir: &Path, port: u16, storage: &Path) -> anyhow::Result<PathBuf> {
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: {}\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: images-testkit-only\n",
            !self.access_log,
            yaml_path(storage)?
        );
        if let Some((user, password)) = &self.htpasswd {
            let file = dir.join("htpasswd");
            fs::write(&file, htpasswd_line(user, password)?)
                .with_context(|| format!("writing {}", file.display()))?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: images-testkit\n    path: {}\n",
                yaml_path(&file)?
            ));
        }
        if let Some(tls) = &self.tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                yaml_path(&tls.certificate)?,
                yaml_path(&tls.key)?
            ));
        }
        if let Some(token) = &self.token {
            if self.htpasswd.is_some() {
                bail!("a registry takes one of `htpasswd` and `token`, not both");
            }
            config.push_str(&format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                serde_json::Value::String(token.realm.clone()),
                serde_json::Value::String(token.service.clone()),
                serde_json::Value::String(token.issuer.clone()),
                yaml_path(&token.root_certificates)?
            ));
        }
        let path = dir.join("config.yml");
        fs::write(&path, config).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// A running `docker-registry serve` on `127.0.0.1`, with its own temporary
/// directory (config, log, default storage). Killed, by the registry's own
/// PID, on drop.
///
/// ```no_run
/// use images_testkit::{Fixture, Kind, Registry};
/// let registry = Registry::start()?;
/// let pushed = registry.push("demo/web", "1.0", &Fixture::new(Kind::OciIndex, "web-1"))?;
/// println!("{}/demo/web:1.0 is {}", registry.addr(), pushed.digest);
/// # anyhow::Ok(())
/// ```
#[derive(Debug)]
pub struct Registry {
    child: Option<Child>,
    port: u16,
    tls: bool,
    client: RegistryClient,
    storage: PathBuf,
    log: PathBuf,
    // Held only to be removed, after `child` is killed (Drop::drop runs
    // before the fields are dropped).
    _dir: tempfile::TempDir,
}

impl Registry {
    /// A registry over plain HTTP without auth, on a free port.
    pub fn start() -> anyhow::Result<Registry> {
        Registry::start_with(RegistryOptions::default())
    }

    /// A registry configured by `options`; returns once `GET /v2/` answers
    /// 200 (with the credentials, when auth is on).
    pub fn start_with(options: RegistryOptions) -> anyhow::Result<Registry> {
        let program = find_on_path("docker-registry").context(MISSING_REGISTRY)?;
        let dir = tempfile::Builder::new()
            .prefix("images-testkit-registry-")
            .tempdir()
            .context("creating the registry's temporary directory")?;
        let storage = match &options.storage {
            Some(path) => path.clone(),
            None => dir.path().join("storage"),
        };
        fs::create_dir_all(&storage)
            .with_context(|| format!("creating storage {}", storage.display()))?;
        let log = dir.path().join("registry.log");

        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = match options.port {
                Some(port) => port,
                None => free_port()?,
            };
            let config = options.write_config(dir.path(), port, &storage)?;
            let addr = format!("127.0.0.1:{port}");
            let mut client = match &options.tls {
                Some(tls) => RegistryClient::new_https(&addr, &tls.ca)?,
                None => RegistryClient::new(&addr)?,
            };
            let credentials = options
                .htpasswd
                .as_ref()
                .or(options.token.as_ref().and_then(|t| t.credentials.as_ref()));
            if let Some((user, password)) = credentials {
                client = client.with_credentials(user, password);
            }
            let log_file =
                fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
            let mut child = Command::new(&program)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().context("duplicating the log file")?)
                .stderr(log_file)
                .spawn()
                .with_context(|| format!("starting {}", program.display()))?;
            match wait_ready(&mut child, &client) {
                Ok(()) => {
                    return Ok(Registry {
                        child: Some(child),
                        port,
                        tls: options.tls.is_some(),
                        client,
                        storage,
                        log,
                        _dir: dir,
                    })
                }
                Err(Startup::Exited(status)) => {
                    let text = fs::read_to_string(&log).unwrap_or_default();
                    // Another process took the port after we probed it.
                    if options.port.is_none()
                        && attempt < PORT_ATTEMPTS
                        && text.contains("address already in use")
                    {
                        continue;
                    }
                    bail!("docker-registry exited ({status}) before it was ready:\n{text}");
                }
                Err(Startup::NotReady(last)) => {
                    // Gone either way; the error below is what matters.
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!(
                        "docker-registry on 127.0.0.1:{port} did not answer GET /v2/ with 200 within {READY_TIMEOUT:?} (last: {last})\n{}",
                        fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, or `https://` when it serves TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// A client for this registry, with its credentials when auth is on.
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// Where the registry stores blobs and manifests.
    pub fn storage(&self) -> &Path {
        &self.storage
    }

    /// What the registry has written to stdout and stderr so far (level
    /// `warn` and up; the access log only with
    /// [`RegistryOptions::access_log`]).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Pushes a fixture under `repo:tag` through the registry HTTP API,
    /// byte-exact; see [`RegistryClient::push`].
    pub fn push(&self, repo: &str, tag: &str, image: &Fixture) -> anyhow::Result<Pushed> {
        self.client.push(repo, tag, image).with_context(|| {
            format!(
                "pushing {} to {}/{repo}:{tag}; registry log:\n{}",
                image.kind(),
                self.addr(),
                self.log()
            )
        })
    }

    /// `DELETE /v2/<repo>/manifests/<digest>`: the tags pointing at it go
    /// too, and fetching it by digest then answers 404.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> anyhow::Result<()> {
        self.client.delete_manifest(repo, digest)
    }

    /// Stops the registry now, to test "registry down"; the port then
    /// refuses connections. Drop also stops it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine: either way it is gone.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `GET /v2/` until it answers 200, the registry exits, or
/// [`READY_TIMEOUT`] passes.
fn wait_ready(child: &mut Child, client: &RegistryClient) -> Result<(), Startup> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Startup::Exited(status));
        }
        let last = match client.ping() {
            Ok(200) => return Ok(()),
            Ok(status) => format!("status {status}"),
            Err(err) => format!("{err:#}"),
        };
        if Instant::now() >= deadline {
            return Err(Startup::NotReady(last));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Why a registry did not become ready.
enum Startup {
    Exited(std::process::ExitStatus),
    NotReady(String),
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("probing for a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The full path of `program` when an executable of that name is on PATH.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// One bcrypt line of an htpasswd file; distribution accepts only bcrypt.
fn htpasswd_line(user: &str, password: &str) -> anyhow::Result<Vec<u8>> {
    let program = find_on_path("htpasswd").context(MISSING_HTPASSWD)?;
    let output = Command::new(program)
        .args(["-Bbn", user, password])
        .stdin(Stdio::null())
        .output()
        .context("running htpasswd")?;
    if !output.status.success() {
        // The password is on htpasswd's command line, not in its stderr.
        bail!(
            "htpasswd -Bbn failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

/// A path as a YAML scalar (JSON strings are valid YAML).
fn yaml_path(path: &Path) -> anyhow::Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("path {} is not UTF-8", path.display()))?;
    Ok(serde_json::Value::String(text.to_string()).to_string())
}
