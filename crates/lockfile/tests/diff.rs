//! Lock-to-lock differences as `images diff` groups them.

use images_lockfile::{diff, Digest, LockedImage, Lockfile, Platform, PlatformManifest, Reference};

fn entry(name: &str, reference: &str, seed: &str) -> LockedImage {
    LockedImage {
        name: name.to_owned(),
        reference: Reference::parse(reference).expect("valid reference"),
        digest: Digest::sha256_of(seed.as_bytes()),
        media_type: "application/vnd.oci.image.index.v1+json".to_owned(),
        mutable: false,
        platforms: Vec::new(),
        manifests: Vec::new(),
    }
}

fn lock(entries: &[LockedImage]) -> Lockfile {
    let mut lock = Lockfile::default();
    for e in entries {
        lock.images.insert(e.name.clone(), e.clone());
    }
    lock
}

#[test]
fn identical_locks_have_no_diff() {
    let a = lock(&[entry("web", "nginx:1.27", "1")]);
    assert!(diff(&a, &a).is_empty());
}

#[test]
fn groups_added_removed_repinned_retagged_and_changed() {
    let old = lock(&[
        entry("gone", "redis:7", "r"),
        entry("moved", "nginx:1.27", "old"),
        entry("bumped", "postgres:16", "p16"),
        entry("opts", "alpine:3.20", "a"),
    ]);
    let mut opts = entry("opts", "alpine:3.20", "a");
    opts.mutable = true;
    let new = lock(&[
        entry("moved", "nginx:1.27", "new"),
        entry("bumped", "postgres:17", "p17"),
        opts,
        entry("fresh", "busybox:1.36", "b"),
    ]);
    let d = diff(&old, &new);
    let names = |v: &[images_lockfile::EntryChange]| {
        v.iter().map(|c| c.name().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(
        d.added.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["fresh"]
    );
    assert_eq!(
        d.removed
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["gone"]
    );
    assert_eq!(names(&d.repinned), ["moved"]);
    assert_eq!(names(&d.retagged), ["bumped"]);
    assert_eq!(names(&d.changed), ["opts"]);
    assert_ne!(d.repinned[0].old.digest, d.repinned[0].new.digest);
}

#[test]
fn order_of_children_is_not_a_change() {
    let child = |p: &str, seed: &str| PlatformManifest {
        platform: Platform::parse(p).expect("valid platform"),
        digest: Digest::sha256_of(seed.as_bytes()),
    };
    let mut a = entry("web", "nginx:1.27", "1");
    a.manifests = vec![child("linux/amd64", "x"), child("linux/arm64", "y")];
    let mut b = a.clone();
    b.manifests.reverse();
    assert!(diff(&lock(&[a]), &lock(&[b])).is_empty());
}
