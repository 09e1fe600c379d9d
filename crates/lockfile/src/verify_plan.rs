//! What `images verify` asks the registry about, decided offline from
//! images.toml and the lock: the entries the lock is up to date for are
//! checked; every other one is reported as out of date without a request,
//! since a lock that no longer matches its manifest fails the gate
//! whatever the registry says.

use crate::check::{check, EntryStatus};
use crate::lock::{LockedImage, Lockfile};
use crate::manifest::{ImageSpec, Manifest};

/// The plan for one `images verify` run.
#[derive(Debug, Default)]
pub struct VerifyPlan<'a> {
    /// Lock entries to check against the registry, in name order.
    pub check: Vec<&'a LockedImage>,
    /// Entries the lock is out of date for: declared ones in name order,
    /// then the lock's leftovers in name order.
    pub out_of_date: Vec<OutOfDate<'a>>,
}

/// One entry whose lock does not match images.toml.
#[derive(Debug)]
pub struct OutOfDate<'a> {
    /// The entry's name.
    pub name: &'a str,
    /// How it is out of date.
    pub why: Staleness,
    /// Its declaration, unless images.toml no longer has it.
    pub spec: Option<&'a ImageSpec>,
    /// Its lock entry, if the lock has one.
    pub locked: Option<&'a LockedImage>,
}

/// How a lock entry is out of date with images.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Declared but not locked.
    Unlocked,
    /// Locked from another declaration.
    Changed,
    /// Locked but no longer declared.
    Removed,
}

impl Staleness {
    /// The reason, in words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Staleness::Unlocked => "declared in images.toml but not locked",
            Staleness::Changed => "images.toml changed since it was locked",
            Staleness::Removed => "locked but no longer declared in images.toml",
        }
    }
}

/// Splits the lock into what to check and what is out of date.
pub fn plan_verify<'a>(manifest: &'a Manifest, lock: &'a Lockfile) -> VerifyPlan<'a> {
    let mut plan = VerifyPlan::default();
    for spec in manifest.images.values() {
        let locked = lock.images.get(&spec.name);
        let why = match (crate::check::status(spec, lock), locked) {
            (EntryStatus::Locked, Some(locked)) => {
                plan.check.push(locked);
                continue;
            }
            (EntryStatus::Stale, _) => Staleness::Changed,
            (EntryStatus::Unlocked | EntryStatus::Locked, _) => Staleness::Unlocked,
        };
        plan.out_of_date.push(OutOfDate {
            name: &spec.name,
            why,
            spec: Some(spec),
            locked,
        });
    }
    for name in check(manifest, lock).removed {
        if let Some((name, locked)) = lock.images.get_key_value(&name) {
            plan.out_of_date.push(OutOfDate {
                name,
                why: Staleness::Removed,
                spec: None,
                locked: Some(locked),
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::plan::tests::locked;

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(text, Path::new("images.toml")).expect("a valid images.toml")
    }

    #[test]
    fn an_up_to_date_lock_is_checked_whole() {
        let m = manifest("[images]\nweb = \"nginx:1.27\"\napi = \"acme/api:v1\"\n");
        let lock = locked(&m);
        let plan = plan_verify(&m, &lock);
        let names: Vec<&str> = plan.check.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["api", "web"]);
        assert!(plan.out_of_date.is_empty());
    }

    #[test]
    fn unlocked_changed_and_removed_entries_are_out_of_date_without_a_check() {
        let old =
            manifest("[images]\nweb = \"nginx:1.27\"\napi = \"acme/api:v1\"\ngone = \"redis:7\"\n");
        let lock = locked(&old);
        let new =
            manifest("[images]\nweb = \"nginx:1.27\"\napi = \"acme/api:v2\"\nnew = \"alpine:3\"\n");
        let plan = plan_verify(&new, &lock);
        let names: Vec<&str> = plan.check.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["web"]);
        let out: Vec<(&str, Staleness, bool, bool)> = plan
            .out_of_date
            .iter()
            .map(|o| (o.name, o.why, o.spec.is_some(), o.locked.is_some()))
            .collect();
        assert_eq!(
            out,
            [
                ("api", Staleness::Changed, true, true),
                ("new", Staleness::Unlocked, true, false),
                ("gone", Staleness::Removed, false, true),
            ]
        );
    }
}
