//! Credentials the user already has: Docker's `config.json` and podman's
//! `auth.json`, then anonymous.
//!
//! Secrets read here go straight into [`RegistryAuth`], whose `Debug`
//! redacts them; no error message built here contains one.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

use crate::ResolveError;

/// Docker Hub's key in `config.json`, whatever name references use.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Where credentials come from, read once per run.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    files: Vec<ConfigFile>,
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
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

impl CredentialStore {
    /// Reads the files Docker and podman would, in their order of
    /// precedence: `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
    /// then `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`).
    /// Missing files are skipped; a malformed one is an error.
    pub fn from_environment() -> Result<CredentialStore, ResolveError> {
        let mut paths = Vec::new();
        if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
            paths.push(PathBuf::from(p));
        }
        if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
            paths.push(Path::new(&dir).join("containers/auth.json"));
        }
        let docker_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
        if let Some(dir) = docker_dir {
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
            let config: AuthConfig = serde_json::from_str(&text).map_err(|e| {
                ResolveError::Credentials {
                    // serde_json's message names a position, not content.
                    reason: format!("`{}` is not valid JSON: {e}", path.display()),
                }
            })?;
            files.push(ConfigFile { path, config });
        }
        Ok(CredentialStore { files })
    }

    /// The credentials for `registry` (as written in references, `host:port`).
    pub fn auth_for(&self, registry: &str) -> Result<RegistryAuth, ResolveError> {
        let keys = candidate_keys(registry);
        for file in &self.files {
            // A credential helper for this registry wins over everything in its file.
            for key in &keys {
                if let Some(helper) = file.config.cred_helpers.get(key) {
                    return run_helper(helper, key, registry);
                }
            }
            for (stored, entry) in &file.config.auths {
                if keys
                    .iter()
                    .any(|k| normalize_key(stored) == normalize_key(k))
                {
                    if let Some(auth) = decode_entry(entry, &file.path, registry)? {
                        return Ok(auth);
                    }
                }
            }
            if let Some(store) = &file.config.creds_store {
                let key = keys.first().map_or(registry, String::as_str);
                match run_helper(store, key, registry) {
                    Ok(auth) => return Ok(auth),
                    // The store simply has nothing for this registry.
                    Err(ResolveError::Credentials { .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(RegistryAuth::Anonymous)
    }
}

/// The names a registry may be stored under.
fn candidate_keys(registry: &str) -> Vec<String> {
    if registry == "docker.io"
        || registry == "index.docker.io"
        || registry == "registry-1.docker.io"
    {
        vec![
            DOCKER_HUB_KEY.to_string(),
            "docker.io".to_string(),
            "index.docker.io".to_string(),
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
) -> Result<Option<RegistryAuth>, ResolveError> {
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        // An identity token is a refresh token for the registry's OAuth
        // endpoint; sending it as a bearer token is what registries that
        // issue them (ACR, Harbor) accept for the token exchange's result.
        return Ok(Some(RegistryAuth::Bearer(token.to_string())));
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
        return Ok(Some(RegistryAuth::Basic(
            user.to_string(),
            password.to_string(),
        )));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) => Ok(Some(RegistryAuth::Basic(u.clone(), p.clone()))),
        _ => Ok(None),
    }
}

/// Runs `docker-credential-NAME get` with the server name on stdin.
fn run_helper(name: &str, key: &str, registry: &str) -> Result<RegistryAuth, ResolveError> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ResolveError::Credentials {
            reason: format!("cannot run credential helper `{program}` for `{registry}`: {e}"),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(key.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| ResolveError::Credentials {
            reason: format!("credential helper `{program}` failed for `{registry}`: {e}"),
        })?;
    if !output.status.success() {
        // The helper's stderr is its own message ("credentials not found"); its stdout could hold a secret.
        let why = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(ResolveError::Credentials {
            reason: format!(
                "credential helper `{program}` has no credentials for `{registry}`: {why}"
            ),
        });
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&output.stdout).map_err(|_| ResolveError::Credentials {
            reason: format!("credential helper `{program}` answered something other than its JSON for `{registry}`"),
        })?;
    if answer.username == "<token>" {
        return Ok(RegistryAuth::Bearer(answer.secret));
    }
    Ok(RegistryAuth::Basic(answer.username, answer.secret))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            s.auth_for("docker.io").expect("auth"),
            RegistryAuth::Basic("user".into(), "pass".into())
        );
        assert_eq!(
            s.auth_for("r.example:5000").expect("auth"),
            RegistryAuth::Basic("a".into(), "b".into())
        );
        assert_eq!(
            s.auth_for("other:1").expect("auth"),
            RegistryAuth::Anonymous
        );
    }

    #[test]
    fn a_bad_auth_value_is_an_error_without_the_secret() {
        let s = store(r#"{"auths":{"r:1":{"auth":"!!!not-base64-secret"}}}"#);
        let err = s.auth_for("r:1").expect_err("bad base64");
        assert!(!err.to_string().contains("not-base64-secret"), "{err}");
    }
}
