//! What changed between two locks, grouped the way a reviewer reads a lock
//! change in a pull request (`images diff`).

use crate::lock::{LockedImage, Lockfile};

/// One entry present in both locks, before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryChange {
    /// The entry in the old lock.
    pub old: LockedImage,
    /// The entry in the new lock.
    pub new: LockedImage,
}

impl EntryChange {
    /// The entry's name (the same in both locks).
    pub fn name(&self) -> &str {
        &self.new.name
    }
}

/// The differences between two locks, each list sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockDiff {
    /// Only in the new lock.
    pub added: Vec<LockedImage>,
    /// Only in the old lock.
    pub removed: Vec<LockedImage>,
    /// Same reference, new digest: the tag moved (the change to look at
    /// hardest in review).
    pub repinned: Vec<EntryChange>,
    /// The declared reference changed (another tag, repository or pinned
    /// digest).
    pub retagged: Vec<EntryChange>,
    /// Same reference and digest; only the options or recorded details
    /// changed (`mutable`, `platforms`, `manifests`, `media-type`).
    pub changed: Vec<EntryChange>,
}

impl LockDiff {
    /// True when the two locks hold the same entries.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.repinned.is_empty()
            && self.retagged.is_empty()
            && self.changed.is_empty()
    }
}

/// Compares `old` with `new` entry by entry, matching entries by name.
///
/// ```
/// use images_lockfile::{diff, Lockfile};
/// assert!(diff(&Lockfile::default(), &Lockfile::default()).is_empty());
/// ```
pub fn diff(old: &Lockfile, new: &Lockfile) -> LockDiff {
    let mut result = LockDiff::default();
    // Both maps are BTreeMaps: every list comes out sorted by name.
    for (name, before) in &old.images {
        match new.images.get(name) {
            None => result.removed.push(before.clone()),
            Some(after) => {
                let (mut before, mut after) = (before.clone(), after.clone());
                // Order of platforms and manifests is not a change.
                before.normalize();
                after.normalize();
                if before == after {
                    continue;
                }
                let list = if before.reference != after.reference {
                    &mut result.retagged
                } else if before.digest != after.digest {
                    &mut result.repinned
                } else {
                    &mut result.changed
                };
                list.push(EntryChange {
                    old: before,
                    new: after,
                });
            }
        }
    }
    result.added = new
        .images
        .iter()
        .filter(|(name, _)| !old.images.contains_key(*name))
        .map(|(_, image)| image.clone())
        .collect();
    result
}
