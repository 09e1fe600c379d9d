//! Credentials the user already has: Docker's `config.json` and podman's
//! `auth.json`, then anonymous.
//!
//! Secrets read here go straight into [`Credential`], whose `Debug`
//! redacts them; no error message built here contains one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

use crate::ResolveError;

/// Docker Hub's key in `config.json`, whatever name references use.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Where credentials come from, read once per run.
///
/// The files are read in podman's order, then Docker's:
/// `$REGISTRY_AUTH_FILE` (or, when unset, `$XDG_RUNTIME_DIR/containers/auth.json`),
/// `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config/...`), then
/// `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`). The first
/// file with credentials for a registry wins; none means anonymous.
///
/// Within one file, as in Docker: a `credHelpers` entry for the registry
/// runs that helper; otherwise an `auths` entry with credentials is used;
/// otherwise `credsStore` runs. (Docker asks `credsStore` before `auths`,
/// but `docker login` never writes credentials to `auths` when a store is
/// set, so a filled `auths` entry beside a store was put there on purpose,
/// typically a CI job writing config.json by hand.)
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    files: Vec<ConfigFile>,
}

/// What a registry is asked with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// No credentials: only what the registry serves to anyone.
    Anonymous,
    /// A user name and password, sent as HTTP basic authentication to the
    /// registry or its token realm.
    Basic {
        /// The user name.
        username: String,
        /// The password or personal access token.
        password: String,
    },
    /// A refresh token (`identitytoken`, or a helper's `<token>` user), as
    /// `az acr login` and Docker's OAuth logins store it: traded at the
    /// token realm for access tokens, never sent to the registry itself.
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic { username, .. } => write!(f, "Basic({username:?}, <redacted>)"),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

impl Credential {
    fn basic(username: impl Into<String>, password: impl Into<String>) -> Credential {
        Credential::Basic {
            username: username.into(),
            password: password.into(),
        }
    }
}

/// Credentials found for a registry, and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub auth: Credential,
    /// `` `path` `` or `` credential helper `docker-credential-x` ``; `None` for anonymous.
    pub source: Option<String>,
}

#[derive(Debug, Clone)]
struct ConfigFile {
    path: PathBuf,
    config: AuthConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

#[derive(Clone, Default, Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

impl std::fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthEntry(<redacted>)")
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// What docker-credential-helpers print (on stdout) when they have nothing.
const HELPER_NOT_FOUND: &str = "credentials not found in native keychain";

impl CredentialStore {
    /// Reads the files podman and Docker would, in the order described on
    /// [`CredentialStore`]. Missing files are skipped; a file that cannot be
    /// read or is not JSON of the expected shape is an error naming it.
    pub fn from_environment() -> Result<CredentialStore, ResolveError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let home = var("HOME").map(PathBuf::from);
        let mut paths = Vec::new();
        // Podman: REGISTRY_AUTH_FILE replaces the runtime file, it does not
        // come before it.
        if let Some(p) = var("REGISTRY_AUTH_FILE") {
            paths.push(PathBuf::from(p));
        } else if let Some(dir) = var("XDG_RUNTIME_DIR") {
            paths.push(Path::new(&dir).join("containers/auth.json"));
        }
        if let Some(dir) = var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".config")))
        {
            paths.push(dir.join("containers/auth.json"));
        }
        if let Some(dir) = var("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".docker")))
        {
            paths.push(dir.join("config.json"));
        }
        let mut files = Vec::new();
        for path in paths {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(ResolveError::Credentials {
                        reason: format!("cannot read `{}`: {e}", path.display()),
                    })
                }
            };
            files.push(ConfigFile {
                config: parse_config(&text, &path)?,
                path,
            });
        }
        Ok(CredentialStore { files })
    }

    /// The credentials for `registry` (as written in references,
    /// `host:port`). A credential helper it runs is stopped after `timeout`,
    /// or when the returned future is dropped (Ctrl-C).
    pub async fn auth_for(
        &self,
        registry: &str,
        timeout: Duration,
    ) -> Result<Credential, ResolveError> {
        self.find(registry, timeout).await.map(|found| found.auth)
    }

    /// The credentials for `registry` and where they came from.
    pub(crate) async fn find(
        &self,
        registry: &str,
        timeout: Duration,
    ) -> Result<Found, ResolveError> {
        let keys = candidate_keys(registry);
        for file in &self.files {
            let config = &file.config;
            let helper = keys
                .iter()
                .find_map(|k| config.cred_helpers.get(k).map(|h| (k, h)));
            if let Some((key, helper)) = helper {
                let helper = Helper {
                    name: helper,
                    config: &file.path,
                    field: "credHelpers",
                    timeout,
                };
                match helper.run(key, registry).await? {
                    Some(found) => return Ok(found),
                    None => continue,
                }
            }
            if let Some(entry) = find_entry(&config.auths, &keys) {
                if let Some(auth) = decode_entry(entry, &file.path, registry)? {
                    return Ok(Found {
                        auth,
                        source: Some(format!("`{}`", file.path.display())),
                    });
                }
            }
            if let Some(store) = &config.creds_store {
                let key = keys.first().map_or(registry, String::as_str);
                let helper = Helper {
                    name: store,
                    config: &file.path,
                    field: "credsStore",
                    timeout,
                };
                if let Some(found) = helper.run(key, registry).await? {
                    return Ok(found);
                }
            }
        }
        Ok(Found {
            auth: Credential::Anonymous,
            source: None,
        })
    }
}

/// A config file's JSON; the error names the file and a position, never
/// the content around it (which may be a secret).
fn parse_config(text: &str, path: &Path) -> Result<AuthConfig, ResolveError> {
    if text.trim().is_empty() {
        // Docker treats an empty config.json as no config.
        return Ok(AuthConfig::default());
    }
    serde_json::from_str(text).map_err(|e| ResolveError::Credentials {
        reason: format!(
            "`{}` is not valid JSON ({} at line {}, column {}); fix or remove it, or point `DOCKER_CONFIG`/`REGISTRY_AUTH_FILE` elsewhere",
            path.display(),
            match e.classify() {
                serde_json::error::Category::Data => "unexpected value",
                serde_json::error::Category::Eof => "unexpected end of file",
                _ => "syntax error",
            },
            e.line(),
            e.column()
        ),
    })
}

/// The `auths` entry for one of `keys`: an exact key first, then one that
/// names the same host in another spelling (`https://host/v1/`).
fn find_entry<'a>(auths: &'a HashMap<String, AuthEntry>, keys: &[String]) -> Option<&'a AuthEntry> {
    keys.iter().find_map(|k| auths.get(k)).or_else(|| {
        // Sorted, so the choice between two spellings is stable.
        let mut stored: Vec<&String> = auths.keys().collect();
        stored.sort();
        stored
            .into_iter()
            .find(|s| keys.iter().any(|k| normalize_key(s) == normalize_key(k)))
            .and_then(|s| auths.get(s))
    })
}

/// The names a registry may be stored under, the one `docker login` writes first.
fn candidate_keys(registry: &str) -> Vec<String> {
    if registry == "docker.io"
        || registry == "index.docker.io"
        || registry == "registry-1.docker.io"
    {
        vec![
            DOCKER_HUB_KEY.to_string(),
            "docker.io".to_string(),
            "index.docker.io".to_string(),
            "registry-1.docker.io".to_string(),
        ]
    } else {
        vec![registry.to_string()]
    }
}

/// `https://host:port/v1/` and `host:port` name the same registry.
fn normalize_key(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

fn decode_entry(
    entry: &AuthEntry,
    path: &Path,
    registry: &str,
) -> Result<Option<Credential>, ResolveError> {
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::IdentityToken(token.to_string())));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = || ResolveError::Credentials {
            reason: format!(
                "the `auth` value for `{registry}` in `{}` is not base64 of `user:password`",
                path.display()
            ),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, password) = text.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credential::basic(user, password)));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() || !p.is_empty() => {
            Ok(Some(Credential::basic(u.clone(), p.clone())))
        }
        _ => Ok(None),
    }
}

/// A credential helper named by a config file.
struct Helper<'a> {
    /// `NAME` of `docker-credential-NAME`.
    name: &'a str,
    /// The file that names it, and under which key, for messages.
    config: &'a Path,
    field: &'a str,
    /// How long it may take before it is stopped.
    timeout: Duration,
}

impl Helper<'_> {
    /// Runs `docker-credential-NAME get` with the server name on stdin.
    /// `Ok(None)` when the helper has no credentials for it.
    ///
    /// The helper is killed when it takes longer than the timeout, and
    /// when this future is dropped (Ctrl-C ends the run that awaits it).
    /// Its stderr is never shown: a broken helper may print a secret there.
    async fn run(&self, key: &str, registry: &str) -> Result<Option<Found>, ResolveError> {
        let program = format!("docker-credential-{}", self.name);
        let failed = |why: String| ResolveError::Credentials {
            reason: format!("credential helper `{program}` failed for `{registry}`: {why}"),
        };
        let mut child = tokio::process::Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ResolveError::Credentials {
                reason: format!(
                    "cannot run credential helper `{program}` for `{registry}` (named by `{}` in `{}`): {e}; install it or remove it from that file",
                    self.field,
                    self.config.display()
                ),
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading is judged by its answer;
            // one that never reads is caught by the timeout below.
            let _ = tokio::time::timeout(self.timeout, stdin.write_all(key.as_bytes())).await;
        }
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(output) => output.map_err(|e| failed(e.to_string()))?,
            // Dropping the `wait_with_output` future dropped the child,
            // which kills it (`kill_on_drop`).
            Err(_) => {
                return Err(failed(format!(
                    "it did not answer within {}s and was stopped",
                    self.timeout.as_secs_f64()
                )))
            }
        };
        if !output.status.success() {
            // Helpers print "credentials not found" on stdout. Anything else
            // on stdout is not shown either: it might be a secret.
            let stdout = String::from_utf8_lossy(&output.stdout);
            if stdout.trim() == HELPER_NOT_FOUND {
                return Ok(None);
            }
            return Err(failed(format!("{}", output.status)));
        }
        let answer: HelperAnswer =
            serde_json::from_slice(&output.stdout).map_err(|_| ResolveError::Credentials {
                reason: format!(
                    "credential helper `{program}` answered something other than its JSON for `{registry}`"
                ),
            })?;
        if answer.secret.is_empty() {
            return Ok(None);
        }
        let auth = if answer.username == "<token>" {
            Credential::IdentityToken(answer.secret)
        } else {
            Credential::basic(answer.username, answer.secret)
        };
        Ok(Some(Found {
            auth,
            source: Some(format!("credential helper `{program}`")),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn block<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    fn basic(username: &str, password: &str) -> Credential {
        Credential::basic(username, password)
    }

    impl CredentialStore {
        fn auth_now(&self, registry: &str) -> Result<Credential, ResolveError> {
            block(self.auth_for(registry, TIMEOUT))
        }
    }

    fn store(json: &str) -> CredentialStore {
        CredentialStore {
            files: vec![ConfigFile {
                path: PathBuf::from("config.json"),
                config: serde_json::from_str(json).expect("valid config"),
            }],
        }
    }

    #[test]
    fn auths_entries_decode_base64_and_match_docker_hub_names() {
        let s = store(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"r.example:5000":{"username":"a","password":"b"}}}"#,
        );
        assert_eq!(
            s.auth_now("docker.io").expect("auth"),
            basic("user", "pass")
        );
        assert_eq!(s.auth_now("r.example:5000").expect("auth"), basic("a", "b"));
        assert_eq!(s.auth_now("other:1").expect("auth"), Credential::Anonymous);
    }

    #[test]
    fn docker_hub_credentials_are_found_under_the_v1_url_for_every_hub_name() {
        let s = store(r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"}}}"#);
        for name in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert_eq!(
                s.auth_now(name).expect("auth"),
                basic("user", "pass"),
                "{name}"
            );
        }
    }

    #[test]
    fn an_exact_auths_key_wins_over_another_spelling_of_the_host() {
        let s = store(
            r#"{"auths":{"https://r.example:5000/v2/":{"username":"url","password":"x"},"r.example:5000":{"username":"exact","password":"y"}}}"#,
        );
        assert_eq!(
            s.auth_now("r.example:5000").expect("auth"),
            basic("exact", "y")
        );
        let only_url = store(r#"{"auths":{"https://r.example:5000":{"auth":"dXNlcjpwYXNz"}}}"#);
        assert_eq!(
            only_url.auth_now("r.example:5000").expect("auth"),
            basic("user", "pass")
        );
    }

    #[test]
    fn cred_helpers_take_precedence_over_auths() {
        // The helper does not exist: that it is run at all, despite the
        // `auths` entry, is the precedence; the error names it.
        let s = store(
            r#"{"auths":{"r:1":{"auth":"dXNlcjpwYXNz"}},"credHelpers":{"r:1":"images-test-absent"}}"#,
        );
        let err = s.auth_now("r:1").expect_err("helper is absent");
        assert!(
            err.to_string()
                .contains("docker-credential-images-test-absent"),
            "{err}"
        );
        assert!(err.to_string().contains("credHelpers"), "{err}");
        // A helper for another registry changes nothing here.
        let other = store(
            r#"{"auths":{"r:1":{"auth":"dXNlcjpwYXNz"}},"credHelpers":{"r:2":"images-test-absent"}}"#,
        );
        assert_eq!(other.auth_now("r:1").expect("auth"), basic("user", "pass"));
    }

    #[test]
    fn creds_store_is_asked_when_auths_has_no_credentials_for_the_registry() {
        let s = store(r#"{"auths":{"r:1":{}},"credsStore":"images-test-absent"}"#);
        let err = s.auth_now("r:1").expect_err("store is absent");
        assert!(err.to_string().contains("credsStore"), "{err}");
        // Filled `auths` entries are used without asking the store.
        let filled = store(
            r#"{"auths":{"r:1":{"username":"a","password":"b"}},"credsStore":"images-test-absent"}"#,
        );
        assert_eq!(filled.auth_now("r:1").expect("auth"), basic("a", "b"));
    }

    #[test]
    fn an_identity_token_is_used_instead_of_the_password() {
        let s = store(r#"{"auths":{"r:1":{"auth":"dXNlcjpwYXNz","identitytoken":"refresh-me"}}}"#);
        assert_eq!(
            s.auth_now("r:1").expect("auth"),
            Credential::IdentityToken("refresh-me".into())
        );
    }

    #[test]
    fn the_first_file_with_credentials_wins() {
        let mut first = store(r#"{"auths":{"r:2":{"username":"podman","password":"p"}}}"#);
        let second = store(
            r#"{"auths":{"r:1":{"username":"docker","password":"d"},"r:2":{"username":"docker","password":"d"}}}"#,
        );
        first.files.extend(second.files);
        assert_eq!(first.auth_now("r:2").expect("auth"), basic("podman", "p"));
        assert_eq!(first.auth_now("r:1").expect("auth"), basic("docker", "d"));
    }

    #[test]
    fn found_credentials_name_their_file_and_anonymous_names_none() {
        let s = store(r#"{"auths":{"r:1":{"username":"a","password":"b"}}}"#);
        assert_eq!(
            block(s.find("r:1", TIMEOUT))
                .expect("auth")
                .source
                .as_deref(),
            Some("`config.json`")
        );
        assert_eq!(block(s.find("r:9", TIMEOUT)).expect("auth").source, None);
    }

    #[test]
    fn malformed_json_names_the_file_and_never_its_content() {
        let err = parse_config(
            r#"{"auths":{"r:1":{"auth":"c2VjcmV0LXZhbHVl"#,
            Path::new("/home/u/.docker/config.json"),
        )
        .expect_err("truncated");
        let text = err.to_string();
        assert!(text.contains("/home/u/.docker/config.json"), "{text}");
        assert!(!text.contains("c2VjcmV0"), "{text}");
        let wrong_shape = parse_config(r#"{"auths":[1]}"#, Path::new("c.json"))
            .expect_err("auths must be an object");
        assert!(wrong_shape.to_string().contains("c.json"), "{wrong_shape}");
        assert!(
            parse_config("  \n", Path::new("c.json")).is_ok(),
            "empty is no config"
        );
    }

    #[test]
    fn a_bad_auth_value_is_an_error_without_the_secret() {
        let s = store(r#"{"auths":{"r:1":{"auth":"!!!not-base64-secret"}}}"#);
        let err = s.auth_now("r:1").expect_err("bad base64");
        assert!(!err.to_string().contains("not-base64-secret"), "{err}");
    }
}
