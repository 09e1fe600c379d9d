//! Pure data for `images`: image references and digests, the `images.toml`
//! schema and its in-place editing, the `images.lock` format, consistency checks between them,
//! what `images lock` and `images verify` decide offline from the two (`plan`, `verify_plan`), and
//! the differences between two locks.
//!
//! No network and no async; the only I/O is reading and writing those two
//! files. The resolver turns references into digests; this crate knows what
//! a valid reference, digest, manifest and lock are.
//!
//! ```
//! use std::path::Path;
//! use images_lockfile::{check, Lockfile, Manifest};
//!
//! let manifest = Manifest::parse("[images]\nweb = \"nginx:1.27\"\n", Path::new("images.toml")).unwrap();
//! assert_eq!(manifest.images["web"].reference.to_string(), "docker.io/library/nginx:1.27");
//! let consistency = check(&manifest, &Lockfile::default());
//! assert_eq!(consistency.unlocked, ["web"]);
//! ```

mod check;
mod diff;
mod digest;
mod file_error;
mod lock;
mod lock_fast;
mod lock_lines;
mod manifest;
mod manifest_edit;
mod plan;
mod platform;
#[cfg(test)]
mod properties;
mod reference;
mod signers;
mod spanned_toml;
mod verify_plan;
mod versions;

pub use check::{check, entry_matches, status, Consistency, EntryStatus};
pub use diff::{diff, unambiguous_hex_len, EntryChange, LockDiff, SHORT_DIGEST_LEN};
pub use digest::{Algorithm, Digest, DigestError};
pub use file_error::FileError;
pub use lock::{
    write_if_changed, LockError, LockErrorKind, LockedImage, LockedSignature, Lockfile,
    PlatformManifest, LOCK_FILE,
};
pub use manifest::{
    find_manifest, ImageSpec, Manifest, ManifestError, ManifestErrorKind, PinConfig,
    RegistryConfig, MANIFEST_FILE,
};
pub use manifest_edit::{add_entry, remove_entry, NewEntry};
pub use plan::{changed, locked_check, plan_lock, LockPlan, LockedCheck, Target};
pub use platform::{Platform, PlatformError, Platforms};
pub use reference::{
    is_valid_domain, CanonicalError, ParsedReference, Reference, ReferenceError,
    ReferenceErrorKind, DEFAULT_TAG,
};
pub use signers::{read_public_key_pem, RepositoryPattern, Signer, SignerKey};
pub use verify_plan::{plan_verify, OutOfDate, VerifyPlan};
pub use versions::{
    newest_allowed, standing, versioned_tags, Requirement, Standing, TagFilter, VersionError,
    VersionSpec, VersionedTag,
};
