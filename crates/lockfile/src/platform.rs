//! Platforms (`linux/arm64/v8`) as written in `images.toml` and `images.lock`.

use std::collections::{btree_set, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// Why a string is not a platform.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform `{input}`: expected `os/architecture` or `os/architecture/variant` (like `linux/arm64/v8`), each part lowercase letters, digits, `.`, `_` or `-`")]
pub struct PlatformError {
    input: String,
}

impl PlatformError {
    /// The string that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }
}

/// An OCI platform: operating system, CPU architecture and optional variant,
/// as found in an image index.
///
/// Ordered by os, then architecture, then variant (none first), which is the
/// order platforms are written in the lock.
///
/// ```
/// use images_lockfile::Platform;
/// let p = Platform::parse("linux/arm64/v8").unwrap();
/// assert_eq!((p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()), ("linux", "arm64", Some("v8")));
/// assert_eq!(p.to_string(), "linux/arm64/v8");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    /// Operating system (`linux`, `windows`).
    pub os: String,
    /// CPU architecture in GOARCH spelling (`amd64`, `arm64`, `arm`).
    pub architecture: String,
    /// CPU variant (`v7`, `v8`), if any.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/architecture[/variant]`.
    ///
    /// Values are taken as written: no aliasing of `aarch64` to `arm64` or
    /// defaulting of variants, so the lock shows exactly what was asked for.
    pub fn parse(s: &str) -> Result<Platform, PlatformError> {
        let error = || PlatformError {
            input: s.to_owned(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| is_part(p)) {
            return Err(error());
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        })
    }

    /// Reads a platform as an image index states it, normalized the way
    /// containerd normalizes case: `{"os": "Linux", "architecture":
    /// "AMD64"}` is `linux/amd64`. An empty variant is no variant.
    ///
    /// Anything else that [`Platform::parse`] would refuse (an empty os, a
    /// space, a `/`, a quote, a newline, a non-ASCII letter) is refused
    /// here too, so that what comes from a registry can always be written
    /// to images.lock and read back.
    ///
    /// ```
    /// use images_lockfile::Platform;
    /// let p = Platform::from_index("Linux", "AMD64", Some("")).unwrap();
    /// assert_eq!(p.to_string(), "linux/amd64");
    /// assert!(Platform::from_index("linux", "amd64/v3", None).is_err());
    /// ```
    pub fn from_index(
        os: &str,
        architecture: &str,
        variant: Option<&str>,
    ) -> Result<Platform, PlatformError> {
        let platform = Platform {
            os: os.to_ascii_lowercase(),
            architecture: architecture.to_ascii_lowercase(),
            variant: variant
                .filter(|v| !v.is_empty())
                .map(str::to_ascii_lowercase),
        };
        let parts_valid = is_part(&platform.os)
            && is_part(&platform.architecture)
            && platform.variant.as_deref().is_none_or(is_part);
        if parts_valid {
            Ok(platform)
        } else {
            // Escaped: this text came from a registry and ends up in messages.
            let mut input = format!("{}/{}", os.escape_debug(), architecture.escape_debug());
            if let Some(v) = variant {
                input.push('/');
                input.push_str(&v.escape_debug().to_string());
            }
            Err(PlatformError { input })
        }
    }
}

/// The OCI spec uses GOOS/GOARCH values: lowercase ASCII, digits, and the
/// odd `_` or `-`.
fn is_part(part: &str) -> bool {
    !part.is_empty()
        && part.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Platform, PlatformError> {
        Platform::parse(s)
    }
}

/// A set of platforms, such as an entry's `platforms` filter: always
/// sorted in [`Platform`]'s order and without duplicates, whatever order
/// it was built in, so two sets compare equal when they hold the same
/// platforms and iterate in the order the lock writes them.
///
/// ```
/// use images_lockfile::{Platform, Platforms};
/// let parse = |s| Platform::parse(s).unwrap();
/// let a: Platforms = [parse("linux/arm64"), parse("linux/amd64"), parse("linux/arm64")]
///     .into_iter()
///     .collect();
/// let b: Platforms = [parse("linux/amd64"), parse("linux/arm64")].into_iter().collect();
/// assert_eq!(a, b);
/// let names: Vec<String> = a.iter().map(Platform::to_string).collect();
/// assert_eq!(names, ["linux/amd64", "linux/arm64"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Platforms(BTreeSet<Platform>);

impl Platforms {
    /// The empty set (as a filter: all platforms).
    pub fn new() -> Platforms {
        Platforms::default()
    }

    /// The platforms in order: os, then architecture, then variant.
    pub fn iter(&self) -> btree_set::Iter<'_, Platform> {
        self.0.iter()
    }

    /// Whether the set holds no platform.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many platforms the set holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `platform` is in the set.
    pub fn contains(&self, platform: &Platform) -> bool {
        self.0.contains(platform)
    }

    /// Adds `platform`; `false` if it was already there.
    pub fn insert(&mut self, platform: Platform) -> bool {
        self.0.insert(platform)
    }

    /// The platforms in `self` that are not in `other`.
    pub fn difference(&self, other: &Platforms) -> Platforms {
        self.0.difference(&other.0).cloned().collect()
    }
}

impl FromIterator<Platform> for Platforms {
    fn from_iter<I: IntoIterator<Item = Platform>>(iter: I) -> Platforms {
        Platforms(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Platforms {
    type Item = &'a Platform;
    type IntoIter = btree_set::Iter<'a, Platform>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_and_three_parts() {
        let p = Platform::parse("linux/amd64").expect("valid platform");
        assert_eq!(p.variant, None);
        assert_eq!(p.to_string(), "linux/amd64");
    }

    #[test]
    fn refuses_malformed() {
        for s in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "linux/amd64/v8/x",
            "Linux/amd64",
            "linux amd64",
        ] {
            let err = Platform::parse(s).expect_err(s);
            assert!(err
                .to_string()
                .starts_with(&format!("invalid platform `{s}`")));
        }
    }

    #[test]
    fn index_platforms_are_lowercased_and_empty_variants_dropped() {
        let p = Platform::from_index("Linux", "ARM64", Some("V8")).expect("valid");
        assert_eq!(p.to_string(), "linux/arm64/v8");
        let p = Platform::from_index("windows", "amd64", Some("")).expect("valid");
        assert_eq!(p.variant, None);
    }

    #[test]
    fn index_platforms_the_lock_cannot_hold_are_refused() {
        for (os, arch, variant) in [
            ("", "amd64", None),
            ("linux", "", None),
            (" ", "amd64", None),
            ("linux", "amd64/v3", None),
            ("linüx", "amd64", None),
            ("linux", "arm", Some("v7\"\n")),
            ("linux", "amd 64", None),
        ] {
            let err = Platform::from_index(os, arch, variant).expect_err(os);
            assert!(!err.input().contains('\n'), "{err}");
        }
    }

    #[test]
    fn sorts_variantless_first() {
        let mut v = [
            Platform::parse("linux/arm64/v8").expect("valid"),
            Platform::parse("linux/arm64").expect("valid"),
            Platform::parse("linux/amd64").expect("valid"),
        ];
        v.sort();
        let s: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["linux/amd64", "linux/arm64", "linux/arm64/v8"]);
    }

    fn platforms(items: &[&str]) -> Platforms {
        items
            .iter()
            .map(|p| Platform::parse(p).expect("valid"))
            .collect()
    }

    fn names(set: &Platforms) -> Vec<String> {
        set.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn sets_come_out_sorted_and_unique() {
        let set = platforms(&[
            "linux/arm64/v8",
            "linux/amd64",
            "linux/arm64",
            "linux/amd64",
            "linux/arm64/v8",
        ]);
        assert_eq!(set.len(), 3);
        assert_eq!(
            names(&set),
            ["linux/amd64", "linux/arm64", "linux/arm64/v8"]
        );
        let mut grown = Platforms::new();
        assert!(grown.is_empty());
        assert!(grown.insert(Platform::parse("linux/s390x").expect("valid")));
        assert!(!grown.insert(Platform::parse("linux/s390x").expect("valid")));
        for platform in &set {
            grown.insert(platform.clone());
        }
        assert_eq!(
            names(&grown),
            [
                "linux/amd64",
                "linux/arm64",
                "linux/arm64/v8",
                "linux/s390x"
            ]
        );
    }

    #[test]
    fn sets_are_equal_whatever_the_input_order() {
        let a = platforms(&["linux/arm64", "linux/amd64", "windows/amd64"]);
        let b = platforms(&["windows/amd64", "linux/amd64", "linux/arm64", "linux/amd64"]);
        assert_eq!(a, b);
        assert_ne!(a, platforms(&["linux/amd64", "linux/arm64"]));
        assert_eq!(Platforms::new(), platforms(&[]));
    }

    #[test]
    fn difference_and_contains() {
        let old = platforms(&["linux/amd64", "linux/s390x"]);
        let new = platforms(&["linux/arm64/v8", "linux/amd64"]);
        assert_eq!(names(&new.difference(&old)), ["linux/arm64/v8"]);
        assert_eq!(names(&old.difference(&new)), ["linux/s390x"]);
        assert!(old.difference(&old).is_empty());
        assert!(new.contains(&Platform::parse("linux/amd64").expect("valid")));
        assert!(!new.contains(&Platform::parse("linux/arm64").expect("valid")));
    }
}
