//! What `images lock` does with each entry, decided offline from
//! images.toml and the old lock: keep it, resolve it again, or drop it;
//! and, for `--locked`, whether the lock on disk is the one `images lock`
//! would write.
//!
//! The binary asks the registry for what the plan says and prints; the
//! decisions are here, so they are tested without a registry.

use std::collections::BTreeSet;

use crate::check::{removed, same_target, signatures_match, status, EntryStatus};
use crate::digest::Digest;
use crate::lock::{LockedImage, Lockfile, PlatformManifest};
use crate::manifest::{ImageSpec, Manifest};
use crate::reference::Reference;

/// The plan for one `images lock` run.
#[derive(Debug, Default)]
pub struct LockPlan<'a> {
    /// The new lock as far as it is known offline: the entries kept as
    /// they are, or with only their `mutable` flag changed.
    pub lock: Lockfile,
    /// Entries the registry must be asked about, in images.toml's order.
    pub resolve: Vec<Target<'a>>,
    /// Entries that are not in the old lock.
    pub added: Vec<String>,
    /// Entries of the old lock that images.toml no longer declares.
    pub removed: Vec<String>,
}

/// One entry to ask the registry about.
#[derive(Debug)]
pub struct Target<'a> {
    pub spec: &'a ImageSpec,
    /// What to ask for: the tag, or the locked digest when only the
    /// platforms changed (so the tag cannot move under the pin).
    pub ask: Reference,
    /// The reference the lock records: as declared, or with the tag a
    /// version requirement chose.
    pub record: Reference,
    /// For `--update` of an entry that is up to date: its lock entry, kept
    /// when the tag still names its digest.
    pub keep: Option<LockedImage>,
    /// A versioned entry: its tag is chosen from the repository's tags
    /// first ([`Target::choose`]).
    pub choose_tag: bool,
}

impl Target<'_> {
    /// Points the target at `reference`, the tag a version requirement
    /// chose.
    pub fn choose(&mut self, reference: Reference) {
        self.ask = reference.clone();
        self.record = reference;
    }

    /// The lock entry for what the registry answered.
    pub fn locked(
        &self,
        digest: Digest,
        media_type: String,
        manifests: Vec<PlatformManifest>,
    ) -> LockedImage {
        let spec = self.spec;
        LockedImage {
            name: spec.name.clone(),
            reference: self.record.clone(),
            digest,
            media_type,
            mutable: spec.mutable,
            requirement: spec.version.as_ref().map(|v| v.declared.clone()),
            signed_by: spec.signed_by.clone(),
            signatures: Vec::new(),
            platforms: spec.platforms.clone(),
            manifests,
        }
    }

    /// The entry kept when the registry says the tag still names the
    /// locked digest (for a versioned entry, the tag chosen now may be
    /// another one naming it); `None` when there is nothing to keep.
    pub fn kept(&self) -> Option<LockedImage> {
        let mut kept = self.keep.clone()?;
        kept.reference = self.record.clone();
        Some(kept)
    }
}

/// Decides, for each entry of `manifest`, what `images lock` does with it
/// given the `old` lock; `update` names the entries `--update` forces to
/// be asked again (all of them for a bare `--update`).
pub fn plan_lock<'a>(
    manifest: &'a Manifest,
    old: &Lockfile,
    update: &BTreeSet<String>,
) -> LockPlan<'a> {
    let mut plan = LockPlan::default();
    for spec in manifest.images.values() {
        let forced = update.contains(&spec.name);
        let locked = old.images.get(&spec.name);
        let versioned = spec.version.is_some();
        match (status(spec, old), locked) {
            (EntryStatus::Locked, Some(locked)) if !forced => {
                plan.lock.images.insert(spec.name.clone(), locked.clone());
            }
            // `--update` of an entry that is up to date: asked by HEAD,
            // and fetched only if the tag moved.
            (EntryStatus::Locked, Some(locked)) => plan.resolve.push(Target {
                spec,
                ask: locked.reference.clone(),
                record: locked.reference.clone(),
                keep: Some(locked.clone()),
                choose_tag: versioned,
            }),
            // Only the options changed: the pin stays. A new `mutable` flag
            // needs no registry at all; new `platforms` are read from the
            // locked digest, not the tag.
            (EntryStatus::Stale, Some(locked))
                if same_target(spec, locked) && signatures_match(spec, locked) && !forced =>
            {
                if locked.platforms == spec.platforms {
                    let mut kept = locked.clone();
                    kept.mutable = spec.mutable;
                    plan.lock.images.insert(spec.name.clone(), kept);
                } else {
                    plan.resolve.push(Target {
                        spec,
                        ask: locked.reference.with_digest(locked.digest.clone()),
                        record: locked.reference.clone(),
                        keep: None,
                        choose_tag: false,
                    });
                }
            }
            (state, _) => {
                if state == EntryStatus::Unlocked {
                    plan.added.push(spec.name.clone());
                }
                plan.resolve.push(Target {
                    spec,
                    ask: spec.reference.clone(),
                    record: spec.reference.clone(),
                    keep: None,
                    choose_tag: versioned,
                });
            }
        }
    }
    plan.removed = removed(manifest, old);
    plan
}

impl LockPlan<'_> {
    /// Whether the lock is out of date whatever a registry answers: an
    /// entry to resolve, or kept entries that already differ from `old`.
    /// `--locked` without `--update` decides on this alone, offline.
    pub fn out_of_date_offline(&self, old: &Lockfile) -> bool {
        !self.resolve.is_empty() || self.lock != *old
    }

    /// Whether the lock changes with what is known so far: entries added
    /// or removed, or one in `new` other than its entry in `old`.
    pub fn would_change(&self, old: &Lockfile, new: &Lockfile) -> bool {
        !self.added.is_empty() || !self.removed.is_empty() || !changed(old, new).is_empty()
    }

    /// Entries of `old` that are asked again or already differ in `new`,
    /// sorted: what `--locked` names as changed or re-resolved.
    pub fn changed_or_resolved<'n>(&'n self, old: &Lockfile, new: &'n Lockfile) -> Vec<&'n str> {
        self.resolve
            .iter()
            .map(|target| target.spec.name.as_str())
            .chain(changed(old, new))
            .filter(|name| old.images.contains_key(*name))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// Names of the entries in both locks that differ, in name order.
pub fn changed<'n>(old: &Lockfile, new: &'n Lockfile) -> Vec<&'n str> {
    new.images
        .iter()
        .filter(|(name, entry)| old.images.get(*name).is_some_and(|o| o != *entry))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// How the lock on disk stands against the one `images lock` would write,
/// for `--locked`, which never writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockedCheck {
    /// Byte for byte what `images lock` writes.
    UpToDate,
    /// Different entries.
    Changed,
    /// The same entries in another form (edited by hand, another line
    /// ending): `images lock` would rewrite it, so it is out of date too.
    NotCanonical,
    /// No lock at all.
    Missing,
}

/// Compares the lock `images lock` would write (`new`) with the `old` one
/// read from `on_disk` (its bytes, `None` when there is no file).
pub fn locked_check(old: &Lockfile, new: &Lockfile, on_disk: Option<&[u8]>) -> LockedCheck {
    if new != old {
        return LockedCheck::Changed;
    }
    match on_disk {
        None => LockedCheck::Missing,
        Some(bytes) if bytes == new.to_toml().as_bytes() => LockedCheck::UpToDate,
        Some(_) => LockedCheck::NotCanonical,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::*;

    const ADDR: &str = "127.0.0.1:5000";
    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn manifest(entries: &str) -> Manifest {
        let text = format!("[images]\n{}", entries.replace("ADDR", ADDR));
        Manifest::parse(&text, Path::new("images.toml")).expect("images.toml parses")
    }

    /// The lock `images lock` would make of `manifest` if every tag named
    /// [`DIGEST`].
    pub(crate) fn locked(manifest: &Manifest) -> Lockfile {
        let plan = plan_lock(manifest, &Lockfile::default(), &BTreeSet::new());
        let mut lock = plan.lock.clone();
        for target in &plan.resolve {
            let digest = Digest::parse(DIGEST).expect("digest");
            let entry = target.locked(
                digest,
                "application/vnd.oci.image.manifest.v1+json".into(),
                vec![],
            );
            lock.images.insert(entry.name.clone(), entry);
        }
        lock
    }

    fn names<'n>(targets: impl IntoIterator<Item = &'n Target<'n>>) -> Vec<&'n str> {
        targets.into_iter().map(|t| t.spec.name.as_str()).collect()
    }

    #[test]
    fn an_up_to_date_entry_is_kept_without_asking_a_registry() {
        let m = manifest("api = \"ADDR/acme/api:v1\"\n");
        let old = locked(&m);
        let plan = plan_lock(&m, &old, &BTreeSet::new());
        assert!(plan.resolve.is_empty());
        assert_eq!(plan.lock, old);
        assert!(!plan.out_of_date_offline(&old));
    }

    #[test]
    fn new_and_changed_entries_are_resolved_and_removed_ones_dropped() {
        let before = manifest("api = \"ADDR/acme/api:v1\"\ngone = \"ADDR/acme/gone:v1\"\n");
        let old = locked(&before);
        let after = manifest("api = \"ADDR/acme/api:v2\"\nweb = \"ADDR/acme/web:v1\"\n");
        let plan = plan_lock(&after, &old, &BTreeSet::new());
        assert_eq!(names(&plan.resolve), ["api", "web"]);
        assert_eq!(plan.added, ["web"]);
        assert_eq!(plan.removed, ["gone"]);
        let api = &plan.resolve[0];
        assert_eq!(api.ask.to_string(), format!("{ADDR}/acme/api:v2"));
        assert!(api.keep.is_none(), "a new tag keeps nothing of the old pin");
        assert!(plan.out_of_date_offline(&old));
        assert_eq!(plan.changed_or_resolved(&old, &plan.lock), ["api"]);
    }

    #[test]
    fn update_asks_again_but_keeps_the_entry_if_the_tag_did_not_move() {
        let m = manifest("api = \"ADDR/acme/api:v1\"\nweb = \"ADDR/acme/web:v1\"\n");
        let old = locked(&m);
        let update = BTreeSet::from(["web".to_owned()]);
        let plan = plan_lock(&m, &old, &update);
        assert_eq!(names(&plan.resolve), ["web"]);
        assert_eq!(plan.resolve[0].kept().as_ref(), old.images.get("web"));
        assert!(plan.lock.images.contains_key("api"));
        assert!(plan.added.is_empty() && plan.removed.is_empty());
    }

    #[test]
    fn a_new_mutable_flag_keeps_the_pin_offline() {
        let old = locked(&manifest("api = \"ADDR/acme/api:v1\"\n"));
        let m = manifest("api = { image = \"ADDR/acme/api:v1\", mutable = true }\n");
        let plan = plan_lock(&m, &old, &BTreeSet::new());
        assert!(plan.resolve.is_empty());
        let kept = &plan.lock.images["api"];
        assert!(kept.mutable);
        assert_eq!(kept.digest, old.images["api"].digest);
        // Nothing to ask, yet the lock changes: `--locked` fails offline.
        assert!(plan.out_of_date_offline(&old));
        assert_eq!(changed(&old, &plan.lock), ["api"]);
    }

    #[test]
    fn new_platforms_are_read_from_the_locked_digest_not_the_tag() {
        let old = locked(&manifest("api = \"ADDR/acme/api:v1\"\n"));
        let m = manifest("api = { image = \"ADDR/acme/api:v1\", platforms = [\"linux/arm64\"] }\n");
        let plan = plan_lock(&m, &old, &BTreeSet::new());
        assert_eq!(names(&plan.resolve), ["api"]);
        let target = &plan.resolve[0];
        assert_eq!(
            target.ask.digest().map(ToString::to_string).as_deref(),
            Some(DIGEST)
        );
        assert_eq!(target.record.to_string(), format!("{ADDR}/acme/api:v1"));
        let entry = target.locked(
            Digest::parse(DIGEST).expect("digest"),
            String::new(),
            vec![],
        );
        assert_eq!(entry.reference.to_string(), format!("{ADDR}/acme/api:v1"));
    }

    #[test]
    fn a_versioned_entry_has_its_tag_chosen_before_it_is_resolved() {
        let m = manifest("api = { image = \"ADDR/acme/api\", version = \"^1\" }\n");
        let plan = plan_lock(&m, &Lockfile::default(), &BTreeSet::new());
        let mut target = plan.resolve.into_iter().next().expect("a target");
        assert!(target.choose_tag);
        let chosen = target.spec.reference.with_tag("1.4.2").expect("tag");
        target.choose(chosen);
        assert_eq!(target.ask.to_string(), format!("{ADDR}/acme/api:1.4.2"));
        assert_eq!(target.record, target.ask);
    }

    #[test]
    fn locked_tells_a_missing_a_changed_and_a_hand_edited_lock() {
        let m = manifest("api = \"ADDR/acme/api:v1\"\n");
        let lock = locked(&m);
        let canonical = lock.to_toml();
        assert_eq!(
            locked_check(&lock, &lock, Some(canonical.as_bytes())),
            LockedCheck::UpToDate
        );
        assert_eq!(locked_check(&lock, &lock, None), LockedCheck::Missing);
        let crlf = canonical.replace('\n', "\r\n");
        assert_eq!(
            locked_check(&lock, &lock, Some(crlf.as_bytes())),
            LockedCheck::NotCanonical
        );
        assert_eq!(
            locked_check(&Lockfile::default(), &lock, Some(canonical.as_bytes())),
            LockedCheck::Changed
        );
    }
}
