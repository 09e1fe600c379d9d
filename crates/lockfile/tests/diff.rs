//! Lock-to-lock differences as `images diff` groups them.

use images_lockfile::{
    diff, unambiguous_hex_len, Digest, LockedImage, Lockfile, Platform, PlatformManifest,
    Platforms, Reference, SHORT_DIGEST_LEN,
};

fn entry(name: &str, reference: &str, seed: &str) -> LockedImage {
    LockedImage::new(
        name.to_owned(),
        Reference::parse(reference).expect("valid reference"),
        Digest::sha256_of(seed.as_bytes()),
        "application/vnd.oci.image.index.v1+json".to_owned(),
    )
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

fn child(platform: &str, seed: &str) -> PlatformManifest {
    PlatformManifest {
        platform: Platform::parse(platform).expect("valid platform"),
        digest: Digest::sha256_of(seed.as_bytes()),
    }
}

#[test]
fn repinned_entry_reports_platforms_added_and_removed() {
    let mut old = entry("web", "nginx:1.27", "old");
    old.manifests = vec![child("linux/amd64", "a1"), child("linux/s390x", "s1")];
    let mut new = entry("web", "nginx:1.27", "new");
    new.manifests = vec![child("linux/amd64", "a2"), child("linux/arm64/v8", "r2")];
    let d = diff(&lock(&[old]), &lock(&[new]));
    let change = &d.repinned[0];
    let names = |v: Platforms| v.iter().map(Platform::to_string).collect::<Vec<_>>();
    assert_eq!(names(change.platforms_added()), ["linux/arm64/v8"]);
    assert_eq!(names(change.platforms_removed()), ["linux/s390x"]);
    assert_eq!(change.changed_keys(), ["digest", "manifests"]);
}

#[test]
fn same_platforms_with_new_children_is_not_a_platform_change() {
    let mut old = entry("web", "nginx:1.27", "old");
    old.manifests = vec![child("linux/amd64", "a1")];
    let mut new = entry("web", "nginx:1.27", "new");
    new.manifests = vec![child("linux/amd64", "a2")];
    let d = diff(&lock(&[old]), &lock(&[new]));
    assert!(d.repinned[0].platforms_added().is_empty());
    assert!(d.repinned[0].platforms_removed().is_empty());
}

#[test]
fn changed_keys_name_only_what_differs() {
    let old = entry("base", "alpine:3.20", "a");
    let mut new = old.clone();
    new.mutable = true;
    new.platforms = [Platform::parse("linux/amd64").expect("valid platform")]
        .into_iter()
        .collect();
    let d = diff(&lock(&[old]), &lock(&[new]));
    assert_eq!(d.changed[0].changed_keys(), ["mutable", "platforms"]);
}

fn digest_with_prefix(prefix: &str, fill: char) -> Digest {
    let hex: String = prefix
        .chars()
        .chain(std::iter::repeat(fill))
        .take(64)
        .collect();
    Digest::parse(&format!("sha256:{hex}")).expect("valid digest")
}

#[test]
fn short_digests_are_twelve_hex_digits_when_unambiguous() {
    let a = digest_with_prefix("aaaa", '0');
    let b = digest_with_prefix("bbbb", '0');
    assert_eq!(unambiguous_hex_len(&[&a, &b], SHORT_DIGEST_LEN), 12);
    assert_eq!(unambiguous_hex_len(&[], SHORT_DIGEST_LEN), 12);
}

#[test]
fn short_digests_grow_past_a_shared_prefix() {
    // Equal in the first 14 digits: 15 are needed to tell them apart.
    let a = digest_with_prefix("0123456789abcd", '0');
    let b = digest_with_prefix("0123456789abcd", '1');
    assert_eq!(unambiguous_hex_len(&[&a, &b, &a], SHORT_DIGEST_LEN), 15);
}

#[test]
fn the_same_digest_twice_is_not_a_collision() {
    let a = digest_with_prefix("0123456789abcdef", '0');
    assert_eq!(unambiguous_hex_len(&[&a, &a], SHORT_DIGEST_LEN), 12);
}

#[test]
fn diff_short_digest_len_covers_every_digest_it_shows() {
    let mut old = entry("web", "nginx:1.27", "old");
    old.digest = digest_with_prefix("0123456789abcdef01", '0');
    let mut new = entry("web", "nginx:1.27", "new");
    new.digest = digest_with_prefix("0123456789abcdef01", '1');
    let d = diff(&lock(&[old]), &lock(&[new]));
    assert_eq!(d.short_digest_len(), 19);
}
