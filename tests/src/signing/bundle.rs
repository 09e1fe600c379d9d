//! Cosign v3 bundles, made and checked by sigstore-js through Node: the
//! script `fixtures/sigstore-js/sigstore.mjs` with the npm packages pinned
//! in the package-lock.json beside it.

use super::key::SigningKey;
use super::COSIGN_SIGN_V1;
use crate::registry::find_on_path;
use anyhow::{anyhow, bail, Context as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The error when `node` is missing or too old. Tests fail with it, never
/// skip.
pub const MISSING_NODE: &str = "node 20.17 or later not found on PATH: the cosign v3 bundle signer and verifier are sigstore-js; install Node.js (`apt-get install -y nodejs npm`), then run scripts/install-deps.sh";

/// The error when the npm packages are not installed (or not at the
/// versions package.json pins).
pub const MISSING_SIGSTORE_JS: &str = "sigstore-js is not installed in tests/fixtures/sigstore-js: run scripts/install-deps.sh (it runs `npm ci` there, from package-lock.json)";

/// The oldest Node the pinned packages support (their `engines`).
const NODE_MINIMUM: (u32, u32) = (20, 17);

/// How to make a bundle; [`Default`] is a cosign signature of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleOptions {
    /// The in-toto statement's `predicateType` (also the referrer's
    /// `dev.sigstore.bundle.predicateType` annotation); default
    /// [`COSIGN_SIGN_V1`]. Anything else makes an attestation.
    pub predicate_type: String,
    /// The digest the statement's subject names; default: the digest the
    /// bundle is attached to. Another one makes "a payload naming another
    /// digest".
    pub statement_digest: Option<String>,
    /// Flip the last byte of the DSSE signature sigstore-js made, before
    /// the bundle is pushed: "a broken signature".
    pub flip_signature: bool,
}

impl Default for BundleOptions {
    fn default() -> BundleOptions {
        BundleOptions {
            predicate_type: COSIGN_SIGN_V1.to_string(),
            statement_digest: None,
            flip_signature: false,
        }
    }
}

/// What `@sigstore/verify` found in a bundle it verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatement {
    /// The statement's `predicateType`.
    pub predicate_type: String,
    /// `sha256:<hex>` of each subject of the statement.
    pub subjects: Vec<String>,
}

/// Where the sigstore-js script and its package.json live.
pub fn sigstore_js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sigstore-js")
}

/// Signs `manifest_digest` in `repo` of the plain-HTTP registry at
/// `registry_addr` as cosign v3 does (an in-toto statement with predicate
/// type [`COSIGN_SIGN_V1`], in a DSSE bundle, keyed, no transparency log)
/// and attaches it as a referrer. Returns the referrer manifest's digest.
///
/// On a registry without the referrers API (Debian's distribution 2.8)
/// `@sigstore/oci` also writes the tag-schema fallback index under
/// `sha256-<hex>`, appending to one that is there.
pub fn sign_bundle(
    registry_addr: &str,
    repo: &str,
    manifest_digest: &str,
    key: &SigningKey,
) -> anyhow::Result<String> {
    sign_bundle_with(
        registry_addr,
        repo,
        manifest_digest,
        key,
        &BundleOptions::default(),
    )
}

/// [`sign_bundle`] with another predicate type or statement subject, or a
/// broken signature.
pub fn sign_bundle_with(
    registry_addr: &str,
    repo: &str,
    manifest_digest: &str,
    key: &SigningKey,
    options: &BundleOptions,
) -> anyhow::Result<String> {
    let key_file = temp_file("key", key.private_pkcs8_pem().as_bytes())?;
    let mut args = vec![
        "sign".to_string(),
        "--registry".into(),
        registry_addr.into(),
        "--repo".into(),
        repo.into(),
        "--digest".into(),
        manifest_digest.into(),
        "--key".into(),
        path_arg(key_file.path())?,
        "--predicate-type".into(),
        options.predicate_type.clone(),
    ];
    if let Some(digest) = &options.statement_digest {
        args.extend(["--statement-digest".to_string(), digest.clone()]);
    }
    if options.flip_signature {
        args.push("--flip-signature".to_string());
    }
    let output = run_script(&args)?;
    if !output.status.success() {
        bail!(
            "sigstore-js could not sign {registry_addr}/{repo}@{manifest_digest} ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("sigstore.mjs sign printed {:?}", stdout(&output)))?;
    answer["digest"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("sigstore.mjs sign printed no digest: {answer}"))
}

/// Verifies a bundle (its JSON, as the referrer's layer blob holds it)
/// with `@sigstore/verify` against the one key `public_pem`, with no
/// transparency log or timestamp required. `Ok(Err(why))` when the
/// verifier refuses it; `Err` when it could not be run.
pub fn verify_bundle(
    bundle_json: &[u8],
    public_pem: &str,
) -> anyhow::Result<Result<VerifiedStatement, String>> {
    let bundle = temp_file("bundle", bundle_json)?;
    let key = temp_file("pub", public_pem.as_bytes())?;
    let output = run_script(&[
        "verify".to_string(),
        "--bundle".into(),
        path_arg(bundle.path())?,
        "--public-key".into(),
        path_arg(key.path())?,
    ])?;
    match output.status.code() {
        Some(0) => {}
        Some(1) => {
            return Ok(Err(String::from_utf8_lossy(&output.stderr)
                .trim()
                .to_string()))
        }
        _ => bail!(
            "sigstore.mjs verify ended with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("sigstore.mjs verify printed {:?}", stdout(&output)))?;
    let predicate_type = answer["predicateType"]
        .as_str()
        .ok_or_else(|| anyhow!("sigstore.mjs verify printed no predicateType: {answer}"))?
        .to_string();
    let subjects = answer["subjects"]
        .as_array()
        .ok_or_else(|| anyhow!("sigstore.mjs verify printed no subjects: {answer}"))?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            anyhow!("sigstore.mjs verify printed a subject that is not a string: {answer}")
        })?;
    Ok(Ok(VerifiedStatement {
        predicate_type,
        subjects,
    }))
}

/// Runs `node sigstore.mjs ARGS` in the sigstore-js directory, after
/// checking that node and the pinned packages are there.
fn run_script(args: &[String]) -> anyhow::Result<Output> {
    let node = node()?;
    let dir = sigstore_js_dir();
    check_installed(&dir)?;
    Command::new(&node)
        .arg(dir.join("sigstore.mjs"))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} sigstore.mjs {}", node.display(), args[0]))
}

/// `node` on PATH, when it is at least [`NODE_MINIMUM`].
fn node() -> anyhow::Result<PathBuf> {
    let node = find_on_path("node").context(MISSING_NODE)?;
    let output = Command::new(&node)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} --version", node.display()))?;
    let version = stdout(&output);
    let parsed = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse::<u32>().ok())
        .collect::<Vec<_>>();
    match parsed[..] {
        [Some(major), Some(minor), ..] if (major, minor) >= NODE_MINIMUM => Ok(node),
        _ => bail!(
            "{MISSING_NODE} (found {} {})",
            node.display(),
            version.trim()
        ),
    }
}

/// Checks that each package package.json names is installed at exactly
/// that version.
fn check_installed(dir: &Path) -> anyhow::Result<()> {
    let manifest = dir.join("package.json");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let dependencies = manifest["dependencies"]
        .as_object()
        .ok_or_else(|| anyhow!("{}: no dependencies", dir.join("package.json").display()))?;
    for (name, pinned) in dependencies {
        let installed = dir.join("node_modules").join(name).join("package.json");
        let version = std::fs::read_to_string(&installed)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| json["version"].as_str().map(str::to_string));
        let pinned = pinned.as_str().unwrap_or("?");
        if version.as_deref() != Some(pinned) {
            bail!(
                "{MISSING_SIGSTORE_JS} ({name}: installed {}, pinned {pinned})",
                version.as_deref().unwrap_or("nothing")
            );
        }
    }
    Ok(())
}

/// A temporary file holding `bytes`, removed on drop.
fn temp_file(prefix: &str, bytes: &[u8]) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix(&format!("images-testkit-{prefix}-"))
        .tempfile()
        .context("creating a temporary file for sigstore-js")?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .context("writing a temporary file for sigstore-js")?;
    Ok(file)
}

fn path_arg(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_string)
        .with_context(|| format!("path {} is not UTF-8", path.display()))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_not_installed_fail_saying_how_to_install() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::copy(
            sigstore_js_dir().join("package.json"),
            dir.path().join("package.json"),
        )
        .expect("copy package.json");
        let err = check_installed(dir.path()).expect_err("nothing is installed");
        let text = format!("{err:#}");
        assert!(text.contains(MISSING_SIGSTORE_JS), "{text}");
        assert!(text.contains("installed nothing, pinned "), "{text}");
    }

    #[test]
    fn packages_at_another_version_fail_saying_how_to_install() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"dependencies":{"@sigstore/sign":"3.1.0"}}"#,
        )
        .expect("write package.json");
        let installed = dir.path().join("node_modules/@sigstore/sign");
        std::fs::create_dir_all(&installed).expect("create node_modules");
        std::fs::write(installed.join("package.json"), r#"{"version":"4.0.0"}"#)
            .expect("write installed package.json");
        let text = format!(
            "{:#}",
            check_installed(dir.path()).expect_err("wrong version")
        );
        assert!(text.contains(MISSING_SIGSTORE_JS), "{text}");
        assert!(text.contains("installed 4.0.0, pinned 3.1.0"), "{text}");
        std::fs::write(installed.join("package.json"), r#"{"version":"3.1.0"}"#)
            .expect("write installed package.json");
        check_installed(dir.path()).expect("the pinned version is installed");
    }
}
