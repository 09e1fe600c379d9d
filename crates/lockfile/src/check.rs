//! Whether `images.lock` is up to date with `images.toml`, without a
//! network: each lock entry records the declaration it was made from.

use crate::lock::{LockedImage, Lockfile};
use crate::manifest::{ImageSpec, Manifest};

/// Whether a lock entry was made from exactly this declaration: same
/// canonical reference (for a versioned entry: same repository, same
/// `version` and `tags`, and a locked tag they allow), `mutable` flag and
/// platform filter.
///
/// The name is not compared; entries are looked up by name.
pub fn entry_matches(spec: &ImageSpec, locked: &LockedImage) -> bool {
    same_target(spec, locked)
        && spec.mutable == locked.mutable
        && spec.platforms == locked.platforms
        && signatures_match(spec, locked)
}

/// Whether the lock entry records, for exactly the signers the entry
/// requires, a signature by a key each signer still lists.
pub(crate) fn signatures_match(spec: &ImageSpec, locked: &LockedImage) -> bool {
    spec.signed_by == locked.signed_by
        && spec.signer_keys.iter().all(|(signer, keys)| {
            locked
                .signatures
                .iter()
                .any(|s| s.signer == *signer && keys.contains(&s.key))
        })
        && locked
            .signatures
            .iter()
            .all(|s| spec.signer_keys.contains_key(&s.signer))
}

/// Whether a lock entry still pins what this declaration names, whatever
/// its options: the same reference, or for a versioned entry the same
/// repository, `version` and `tags`, and a locked tag they allow. When it
/// does, a change of options alone keeps the pin.
pub(crate) fn same_target(spec: &ImageSpec, locked: &LockedImage) -> bool {
    match (&spec.version, &locked.requirement) {
        (None, None) => spec.reference == locked.reference,
        // A versioned entry names a repository; the lock holds the tag it
        // chose, which must still be one the requirement allows.
        (Some(version), Some(requirement)) => {
            version.declared == *requirement
                && spec.reference.name() == locked.reference.name()
                && locked.reference.digest().is_none()
                && locked
                    .reference
                    .tag()
                    .is_some_and(|tag| version.allows(tag))
        }
        _ => false,
    }
}

/// Where one declared image stands against the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryStatus {
    /// Locked, from this very declaration.
    Locked,
    /// Not in the lock.
    Unlocked,
    /// In the lock, but made from a different declaration (the tag, image,
    /// `mutable` or `platforms` changed since).
    Stale,
}

impl EntryStatus {
    /// Lowercase name for output: `locked`, `unlocked`, `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Locked => "locked",
            EntryStatus::Unlocked => "unlocked",
            EntryStatus::Stale => "stale",
        }
    }
}

impl std::fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one declared image.
pub fn status(spec: &ImageSpec, lock: &Lockfile) -> EntryStatus {
    match lock.images.get(&spec.name) {
        None => EntryStatus::Unlocked,
        Some(locked) if entry_matches(spec, locked) => EntryStatus::Locked,
        Some(_) => EntryStatus::Stale,
    }
}

/// Everything that keeps a lock from matching its manifest, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consistency {
    /// Declared, not locked.
    pub unlocked: Vec<String>,
    /// Locked from a different declaration.
    pub stale: Vec<String>,
    /// Locked, no longer declared.
    pub removed: Vec<String>,
}

impl Consistency {
    /// True when the lock matches the manifest exactly.
    pub fn is_clean(&self) -> bool {
        self.unlocked.is_empty() && self.stale.is_empty() && self.removed.is_empty()
    }
}

/// Compares a whole manifest with a lock. Names come out sorted.
pub fn check(manifest: &Manifest, lock: &Lockfile) -> Consistency {
    let mut result = Consistency::default();
    // Both maps are BTreeMaps, so iterating them yields sorted names.
    for spec in manifest.images.values() {
        match status(spec, lock) {
            EntryStatus::Locked => {}
            EntryStatus::Unlocked => result.unlocked.push(spec.name.clone()),
            EntryStatus::Stale => result.stale.push(spec.name.clone()),
        }
    }
    result.removed = removed(manifest, lock);
    result
}

/// Entries of `lock` that `manifest` no longer declares, in name order.
pub(crate) fn removed(manifest: &Manifest, lock: &Lockfile) -> Vec<String> {
    lock.images
        .keys()
        .filter(|name| !manifest.images.contains_key(*name))
        .cloned()
        .collect()
}
