//! What changed between two locks, grouped the way a reviewer reads a lock
//! change in a pull request (`images diff`).

use crate::digest::Digest;
use crate::lock::{LockedImage, Lockfile};
use crate::platform::Platforms;

/// The shortest hex prefix `images diff` shows for a digest, as `docker
/// images` does.
pub const SHORT_DIGEST_LEN: usize = 12;

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

    /// Platforms the new entry records a manifest for and the old one did
    /// not, sorted: the image gained an architecture, or the platform filter
    /// was widened.
    pub fn platforms_added(&self) -> Platforms {
        recorded_platforms(&self.new).difference(&recorded_platforms(&self.old))
    }

    /// Platforms the old entry recorded a manifest for and the new one does
    /// not, sorted: the image dropped an architecture, or the platform filter
    /// was narrowed.
    pub fn platforms_removed(&self) -> Platforms {
        recorded_platforms(&self.old).difference(&recorded_platforms(&self.new))
    }

    /// The `images.lock` keys whose values differ, in the lock's key order
    /// (`reference`, `digest`, `media-type`, `mutable`, `platforms`,
    /// `manifests`), so a reviewer sees what an entry in
    /// [`LockDiff::changed`] changed.
    pub fn changed_keys(&self) -> Vec<&'static str> {
        let (old, new) = (&self.old, &self.new);
        [
            ("reference", old.reference != new.reference),
            ("digest", old.digest != new.digest),
            ("media-type", old.media_type != new.media_type),
            ("mutable", old.mutable != new.mutable),
            (
                "version",
                old.requirement.as_ref().map(|r| &r.version)
                    != new.requirement.as_ref().map(|r| &r.version),
            ),
            (
                "tags",
                old.requirement.as_ref().map(|r| &r.tags)
                    != new.requirement.as_ref().map(|r| &r.tags),
            ),
            ("platforms", old.platforms != new.platforms),
            ("signed-by", old.signed_by != new.signed_by),
            ("signatures", old.signatures != new.signatures),
            ("manifests", old.manifests != new.manifests),
        ]
        .into_iter()
        .filter_map(|(key, differs)| differs.then_some(key))
        .collect()
    }
}

/// The platforms an entry pinned a child manifest for.
fn recorded_platforms(image: &LockedImage) -> Platforms {
    image.manifests.iter().map(|m| m.platform.clone()).collect()
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

    /// Every digest the diff shows: entry digests of both sides and their
    /// platform manifests.
    pub fn digests(&self) -> Vec<&Digest> {
        let mut images: Vec<&LockedImage> = self.added.iter().chain(&self.removed).collect();
        for change in self
            .repinned
            .iter()
            .chain(&self.retagged)
            .chain(&self.changed)
        {
            images.push(&change.old);
            images.push(&change.new);
        }
        images
            .into_iter()
            .flat_map(|image| {
                std::iter::once(&image.digest).chain(image.manifests.iter().map(|m| &m.digest))
            })
            .collect()
    }

    /// How many hex digits to show of every digest in this diff so that no
    /// two different digests look the same: at least
    /// [`SHORT_DIGEST_LEN`], more only when two of them share a longer
    /// prefix. One length for the whole diff keeps columns even.
    pub fn short_digest_len(&self) -> usize {
        unambiguous_hex_len(&self.digests(), SHORT_DIGEST_LEN)
    }
}

/// The shortest hex prefix length, at least `min`, that tells all different
/// `digests` apart. Equal digests do not count as a collision; digests of
/// different algorithms never collide (their prefixes differ).
///
/// ```
/// use images_lockfile::{unambiguous_hex_len, Digest};
/// let a = Digest::sha256_of(b"a");
/// assert_eq!(unambiguous_hex_len(&[&a, &a], 12), 12);
/// ```
pub fn unambiguous_hex_len(digests: &[&Digest], min: usize) -> usize {
    let mut sorted: Vec<(&str, &str)> = digests
        .iter()
        .map(|d| (d.algorithm().name(), d.hex()))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    // After sorting, the longest common prefix of any pair is found between
    // neighbours.
    let needed = sorted
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| common_prefix(pair[0].1, pair[1].1) + 1)
        .max()
        .unwrap_or(0);
    // Different digests of one algorithm have equal lengths, so `needed`
    // never exceeds the hex length.
    needed.max(min)
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
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
                // Order of manifests, signers and signatures is not a
                // change (platforms are a set, in one order already).
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
