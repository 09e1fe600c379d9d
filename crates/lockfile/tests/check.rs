//! Offline consistency between `images.toml` and `images.lock`.

use std::path::Path;

use images_lockfile::{
    check, entry_matches, status, Digest, EntryStatus, LockedImage, Lockfile, Manifest,
};

fn manifest(text: &str) -> Manifest {
    Manifest::parse(text, Path::new("images.toml")).expect("valid manifest")
}

/// A lock made from exactly this manifest.
fn lock_for(m: &Manifest) -> Lockfile {
    let mut lock = Lockfile::default();
    for spec in m.images.values() {
        lock.images.insert(
            spec.name.clone(),
            LockedImage {
                name: spec.name.clone(),
                reference: spec.reference.clone(),
                digest: Digest::sha256_of(spec.name.as_bytes()),
                media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
                mutable: spec.mutable,
                requirement: None,
                signed_by: Vec::new(),
                signatures: Vec::new(),
                platforms: spec.platforms.clone(),
                manifests: Vec::new(),
            },
        );
    }
    lock
}

const MANIFEST: &str = r#"[images]
web  = "nginx:1.27"
base = { image = "alpine:3.20", mutable = true }
db   = { image = "postgres:16", platforms = ["linux/amd64"] }
"#;

#[test]
fn a_lock_made_from_the_manifest_is_clean() {
    let m = manifest(MANIFEST);
    let lock = lock_for(&m);
    let result = check(&m, &lock);
    assert!(result.is_clean(), "{result:?}");
    for spec in m.images.values() {
        assert_eq!(status(spec, &lock), EntryStatus::Locked);
        assert!(entry_matches(spec, &lock.images[&spec.name]));
    }
}

#[test]
fn spelling_does_not_matter_only_the_canonical_reference() {
    let lock = lock_for(&manifest(MANIFEST));
    let respelled = manifest(
        r#"[images]
web  = "docker.io/library/nginx:1.27"
base = { image = "index.docker.io/alpine:3.20", mutable = true }
db   = { image = "postgres:16", platforms = ["linux/amd64", "linux/amd64"] }
"#,
    );
    assert!(check(&respelled, &lock).is_clean());
}

#[test]
fn changed_declarations_are_stale() {
    let lock = lock_for(&manifest(MANIFEST));
    let changed = manifest(
        r#"[images]
web  = "nginx:1.28"
base = "alpine:3.20"
db   = { image = "postgres:16", platforms = ["linux/amd64", "linux/arm64"] }
"#,
    );
    let result = check(&changed, &lock);
    assert_eq!(result.stale, ["base", "db", "web"]);
    assert!(result.unlocked.is_empty() && result.removed.is_empty());
    assert!(!result.is_clean());
    assert_eq!(status(&changed.images["web"], &lock), EntryStatus::Stale);
}

#[test]
fn new_and_removed_entries_are_reported_sorted() {
    let lock = lock_for(&manifest(MANIFEST));
    let edited = manifest(
        r#"[images]
web   = "nginx:1.27"
zeta  = "busybox"
alpha = "redis:7"
"#,
    );
    let result = check(&edited, &lock);
    assert_eq!(result.unlocked, ["alpha", "zeta"]);
    assert_eq!(result.removed, ["base", "db"]);
    assert!(result.stale.is_empty());
    assert_eq!(status(&edited.images["zeta"], &lock), EntryStatus::Unlocked);
    assert_eq!(EntryStatus::Unlocked.to_string(), "unlocked");
}

#[test]
fn user_pinned_digest_is_part_of_the_declaration() {
    let digest = Digest::sha256_of(b"pinned");
    let m = manifest(&format!("[images]\nweb = \"nginx:1.27@{digest}\"\n"));
    let lock = lock_for(&m);
    assert!(check(&m, &lock).is_clean());
    let unpinned = manifest("[images]\nweb = \"nginx:1.27\"\n");
    assert_eq!(check(&unpinned, &lock).stale, ["web"]);
}
