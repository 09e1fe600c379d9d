//! Checking a lock entry against what its registry serves now.

use images_lockfile::{Digest, LockedImage};

use crate::{ResolveError, Resolver};

/// What `verify` found wrong with one lock entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind of problem it is.
    pub kind: FindingKind,
    /// The digest the tag names now, when it names one.
    pub current: Option<Digest>,
    /// Extra explanation (e.g. the tampering details).
    pub detail: Option<String>,
}

/// The kinds of drift `verify` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// The tag names another digest; the locked one still exists.
    TagMoved,
    /// The tag no longer exists.
    TagGone,
    /// The locked digest no longer exists (the tag moved or was pinned by digest).
    LockedDigestGone,
    /// The registry's answer does not hash to the digest it names.
    Tampered,
}

impl FindingKind {
    /// Stable kebab-case name for JSON and annotations.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::TagMoved => "tag-moved",
            FindingKind::TagGone => "tag-gone",
            FindingKind::LockedDigestGone => "locked-digest-gone",
            FindingKind::Tampered => "tampered",
        }
    }

    /// Short human description.
    pub fn describe(self) -> &'static str {
        match self {
            FindingKind::TagMoved => "tag moved",
            FindingKind::TagGone => "tag gone",
            FindingKind::LockedDigestGone => "locked digest gone",
            FindingKind::Tampered => "answer tampered",
        }
    }
}

impl Resolver {
    /// Checks one lock entry: `Ok(None)` when the tag still names the
    /// locked digest, `Ok(Some(finding))` for drift, `Err` when the
    /// registry could not be asked.
    ///
    /// One HEAD when nothing moved: if the tag still names the locked
    /// digest, that digest exists. A moved tag costs a GET of the new
    /// manifest (hashed, so tampering shows) and a HEAD of the old digest.
    pub async fn verify(&self, locked: &LockedImage) -> Result<Option<Finding>, ResolveError> {
        let reference = &locked.reference;
        if reference.digest().is_some() {
            // Pinned by digest in images.toml: only its existence matters.
            return self.verify_digest_pinned(locked).await;
        }
        let current = match self.head_digest(reference).await {
            Ok(d) => d,
            Err(ResolveError::NotFound { .. }) => {
                return Ok(Some(Finding {
                    kind: FindingKind::TagGone,
                    current: None,
                    detail: None,
                }))
            }
            Err(e @ ResolveError::Tampered { .. }) => return Ok(Some(tampered(e))),
            Err(e) => return Err(e),
        };
        if current == locked.digest {
            return Ok(None);
        }
        // A header in another algorithm (sha512) cannot be compared with
        // the lock's digest: the body's hash decides.
        let comparable = current.algorithm() == locked.digest.algorithm();
        let current = match self.fetch(reference).await {
            Ok((d, _)) => d,
            Err(e @ ResolveError::Tampered { .. }) => return Ok(Some(tampered(e))),
            Err(ResolveError::NotFound { .. }) => {
                return Ok(Some(Finding {
                    kind: FindingKind::TagGone,
                    current: None,
                    detail: None,
                }))
            }
            Err(e) => return Err(e),
        };
        if current == locked.digest && !comparable {
            return Ok(None);
        }
        if current == locked.digest {
            // The HEAD header named another digest than the body hashes to.
            return Ok(Some(Finding {
                kind: FindingKind::Tampered,
                current: Some(current),
                detail: Some(
                    "the registry's HEAD answer named a digest its body does not have".into(),
                ),
            }));
        }
        let kind = if self.exists(reference, &locked.digest).await? {
            FindingKind::TagMoved
        } else {
            FindingKind::LockedDigestGone
        };
        Ok(Some(Finding {
            kind,
            current: Some(current),
            detail: None,
        }))
    }

    /// Verifies many entries, `jobs` at a time; results in input order.
    pub async fn verify_many(
        &self,
        entries: &[LockedImage],
    ) -> Vec<Result<Option<Finding>, ResolveError>> {
        self.verify_many_with_progress(entries, &|| {}).await
    }

    /// [`Resolver::verify_many`], calling `progress` once per entry as its
    /// result becomes known, for a caller's progress bar.
    pub async fn verify_many_with_progress(
        &self,
        entries: &[LockedImage],
        progress: &(dyn Fn() + Sync),
    ) -> Vec<Result<Option<Finding>, ResolveError>> {
        // Entries that lock the same reference to the same digest are one check.
        let keys: Vec<(&images_lockfile::Reference, &Digest)> =
            entries.iter().map(|e| (&e.reference, &e.digest)).collect();
        let mut first: std::collections::HashMap<_, &LockedImage> =
            std::collections::HashMap::new();
        for (key, entry) in keys.iter().zip(entries) {
            first.entry(*key).or_insert(entry);
        }
        self.run_deduplicated(
            &keys,
            |key| {
                let entry = first.get(key).copied();
                async move {
                    match entry {
                        Some(entry) => self.verify(entry).await,
                        None => Ok(None),
                    }
                }
            },
            progress,
        )
        .await
    }

    async fn verify_digest_pinned(
        &self,
        locked: &LockedImage,
    ) -> Result<Option<Finding>, ResolveError> {
        match self.exists(&locked.reference, &locked.digest).await {
            Ok(true) => Ok(None),
            Ok(false) => Ok(Some(Finding {
                kind: FindingKind::LockedDigestGone,
                current: None,
                detail: None,
            })),
            Err(e @ ResolveError::Tampered { .. }) => Ok(Some(tampered(e))),
            Err(e) => Err(e),
        }
    }
}

fn tampered(err: ResolveError) -> Finding {
    let current = match &err {
        ResolveError::Tampered { actual, .. } => Digest::parse(actual).ok(),
        _ => None,
    };
    Finding {
        kind: FindingKind::Tampered,
        current,
        detail: Some(err.to_string()),
    }
}
