//! `[signers]` and `signed-by` in images.toml, and the offline check of
//! the signatures a lock recorded.

use std::path::{Path, PathBuf};

use images_lockfile::{
    status, Digest, EntryStatus, LockedImage, LockedSignature, Lockfile, Manifest,
};

/// A P-256 public key made by OpenSSL (the resolver's signature vectors).
fn key_pem(who: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../resolver/tests/fixtures/signatures")
        .join(format!("{who}.pub"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn project(manifest: &str) -> (tempfile::TempDir, Result<Manifest, String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("keys")).expect("mkdir");
    for who in ["acme", "other"] {
        std::fs::write(dir.path().join(format!("keys/{who}.pub")), key_pem(who)).expect("write");
    }
    std::fs::write(
        dir.path().join("keys/private.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let path = dir.path().join("images.toml");
    std::fs::write(&path, manifest).expect("write");
    let parsed = Manifest::load(&path).map_err(|e| {
        e.to_string()
            .replace(&dir.path().display().to_string(), "[ROOT]")
    });
    (dir, parsed)
}

const SIGNERS: &str = r#"
[signers.acme]
keys = ["keys/acme.pub", "keys/other.pub"]
images = ["ghcr.io/acme/*"]

[signers.ops]
keys = ["keys/other.pub"]
"#;

#[test]
fn an_entry_requires_its_signed_by_and_every_signer_covering_its_repository() {
    let (_dir, manifest) = project(&format!(
        "[images]\napi = \"ghcr.io/acme/api:v1\"\nweb = {{ image = \"nginx:1.27\", signed-by = \"ops\" }}\nboth = {{ image = \"ghcr.io/acme/x/y:1\", signed-by = [\"ops\"] }}\nfree = \"ghcr.io/acmecorp/z:1\"\n{SIGNERS}"
    ));
    let manifest = manifest.expect("valid");
    let required = |name: &str| manifest.images[name].signed_by.clone();
    assert_eq!(required("api"), ["acme"]);
    assert_eq!(required("web"), ["ops"]);
    assert_eq!(required("both"), ["acme", "ops"]);
    assert!(required("free").is_empty());
    let acme = &manifest.signers["acme"];
    assert_eq!(acme.keys.len(), 2);
    assert!(acme.keys[0].fingerprint.to_string().starts_with("sha256:"));
    assert_eq!(manifest.images["api"].signer_keys["acme"].len(), 2);
}

#[test]
fn signer_mistakes_name_the_file_and_line() {
    let cases = [
        ("[images]\nweb = { image = \"nginx\", signed-by = \"acme\" }\n", "images.toml:2:38: image `web`: no signer named `acme`"),
        ("[images]\n[signers.acme]\nkeys = [\"keys/missing.pub\"]\n", "images.toml:3:9: signer `acme`: cannot read key `[ROOT]/keys/missing.pub`"),
        ("[images]\n[signers.acme]\nkeys = [\"keys/private.pem\"]\n", "this is a private key; name the public key"),
        ("[images]\n[signers.acme]\nkeys = []\n", "signer `acme` has no keys"),
        ("[images]\n[signers.acme]\nkeys = [\"keys/acme.pub\"]\nimages = [\"acme/*\"]\n", "images.toml:4:11: signer `acme`: `acme/*` is not a canonical repository; write `docker.io/acme/*`"),
        ("[images]\n[signers.acme]\nkeys = [\"keys/acme.pub\"]\nidentity = \"x\"\n", "unknown key `identity` in signer `acme` (expected `keys` or `images`; keyless `identity` and `issuer` are not supported yet)"),
        ("[images]\nweb = { image = \"nginx\", signed-by = 3 }\n", "`signed-by` in image `web` must be a signer name or a list of them"),
    ];
    for (manifest, expected) in cases {
        let (_dir, parsed) = project(manifest);
        let err = parsed.expect_err(manifest);
        assert!(err.contains(expected), "{manifest}\n{err}");
    }
}

fn locked(signed_by: &[&str], signatures: &[(&str, Digest)]) -> Lockfile {
    let mut lock = Lockfile::default();
    let digest = Digest::sha256_of(b"manifest");
    lock.images.insert(
        "api".to_owned(),
        LockedImage {
            name: "api".to_owned(),
            reference: images_lockfile::Reference::parse("ghcr.io/acme/api:v1").expect("valid"),
            digest: digest.clone(),
            media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
            mutable: false,
            requirement: None,
            platforms: images_lockfile::Platforms::new(),
            manifests: Vec::new(),
            signed_by: signed_by.iter().map(|s| (*s).to_owned()).collect(),
            signatures: signatures
                .iter()
                .map(|(signer, key)| LockedSignature {
                    signer: (*signer).to_owned(),
                    key: key.clone(),
                    artifact: Digest::sha256_of(b"sig"),
                })
                .collect(),
        },
    );
    lock
}

#[test]
fn offline_a_lock_is_up_to_date_only_with_a_signature_by_a_key_still_listed() {
    let (_dir, manifest) = project(&format!(
        "[images]\napi = \"ghcr.io/acme/api:v1\"\n{SIGNERS}"
    ));
    let manifest = manifest.expect("valid");
    let spec = &manifest.images["api"];
    let acme_key = manifest.signers["acme"].keys[0].fingerprint.clone();
    assert_eq!(
        status(spec, &locked(&["acme"], &[("acme", acme_key.clone())])),
        EntryStatus::Locked
    );
    // No signature recorded, or none required when one is.
    assert_eq!(status(spec, &locked(&["acme"], &[])), EntryStatus::Stale);
    assert_eq!(status(spec, &locked(&[], &[])), EntryStatus::Stale);
    // A key that was rotated out of the signer's list.
    let gone = Digest::sha256_of(b"a key nobody lists any more");
    assert_eq!(
        status(spec, &locked(&["acme"], &[("acme", gone)])),
        EntryStatus::Stale
    );

    // And the recorded signature survives a write and a read.
    let lock = locked(&["acme"], &[("acme", acme_key)]);
    let text = lock.to_toml();
    assert!(
        text.contains(
            "signed-by = [\"acme\"]\nsignatures = [\n    { signer = \"acme\", key = \"sha256:"
        ),
        "{text}"
    );
    assert_eq!(
        Lockfile::parse(&text, Path::new("images.lock")).expect("reads back"),
        lock
    );
}
