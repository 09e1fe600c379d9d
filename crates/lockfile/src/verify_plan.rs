//! What `images verify` asks the registry about, decided offline from
//! images.toml and the lock: the entries the lock is up to date for are
//! checked; every other one is reported as out of date without a request,
//! since a lock that no longer matches its manifest fails the gate
//! whatever the registry says.

use crate::check::{entry_matches, removed};
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

/// One entry whose lock does not match images.toml, with what each side
/// has of it.
#[derive(Debug, Clone, Copy)]
pub enum OutOfDate<'a> {
    /// Declared but not locked.
    Unlocked(&'a ImageSpec),
    /// Locked from another declaration.
    Changed(&'a ImageSpec, &'a LockedImage),
    /// Locked but no longer declared.
    Removed(&'a LockedImage),
}

impl<'a> OutOfDate<'a> {
    /// The entry's name.
    pub fn name(self) -> &'a str {
        match self {
            OutOfDate::Unlocked(spec) | OutOfDate::Changed(spec, _) => &spec.name,
            OutOfDate::Removed(locked) => &locked.name,
        }
    }

    /// Its lock entry, if the lock has one.
    pub fn locked(self) -> Option<&'a LockedImage> {
        match self {
            OutOfDate::Unlocked(_) => None,
            OutOfDate::Changed(_, locked) | OutOfDate::Removed(locked) => Some(locked),
        }
    }

    /// The reason, in words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            OutOfDate::Unlocked(_) => "declared in images.toml but not locked",
            OutOfDate::Changed(..) => "images.toml changed since it was locked",
            OutOfDate::Removed(_) => "locked but no longer declared in images.toml",
        }
    }
}

/// Splits the lock into what to check and what is out of date.
pub fn plan_verify<'a>(manifest: &'a Manifest, lock: &'a Lockfile) -> VerifyPlan<'a> {
    let mut plan = VerifyPlan::default();
    for spec in manifest.images.values() {
        match lock.images.get(&spec.name) {
            None => plan.out_of_date.push(OutOfDate::Unlocked(spec)),
            Some(locked) if entry_matches(spec, locked) => plan.check.push(locked),
            Some(locked) => plan.out_of_date.push(OutOfDate::Changed(spec, locked)),
        }
    }
    for name in removed(manifest, lock) {
        if let Some(locked) = lock.images.get(&name) {
            plan.out_of_date.push(OutOfDate::Removed(locked));
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
        // Each kind carries what each side has: a declaration unless
        // removed, a lock entry unless never locked.
        assert!(matches!(plan.out_of_date[0], OutOfDate::Changed(..)));
        assert!(matches!(plan.out_of_date[1], OutOfDate::Unlocked(_)));
        assert!(matches!(plan.out_of_date[2], OutOfDate::Removed(_)));
        let out: Vec<(&str, &str, bool)> = plan
            .out_of_date
            .iter()
            .map(|o| (o.name(), o.describe(), o.locked().is_some()))
            .collect();
        assert_eq!(
            out,
            [
                ("api", "images.toml changed since it was locked", true),
                ("new", "declared in images.toml but not locked", false),
                ("gone", "locked but no longer declared in images.toml", true),
            ]
        );
    }
}
