//! Version requirements over tags: which of a repository's tags an entry
//! with `version = "~1.27"` may lock, and which one it locks.
//!
//! A tag is read as a version through the entry's tag filter, a regular
//! expression over the whole tag whose first capture group (or the whole
//! match) is the version, as Flux's `filterTags` and Argo CD Image
//! Updater's `allow-tags` do. The requirement is Cargo's syntax, read by
//! the `semver` crate, with Cargo's rule for pre-releases: only when the
//! requirement names one. The choice depends only on the set of tags, never
//! on the order a registry lists them in.

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;
use semver::{Version, VersionReq};

/// The tag filter used when an entry names none: three numbers, with an
/// optional `v` (`1.27.3`, `v1.27.3`).
pub(crate) const DEFAULT_TAG_FILTER: &str = r"^v?(\d+\.\d+\.\d+)$";

/// Why a requirement or a tag filter cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not Cargo requirement syntax.
    #[error("invalid version requirement `{input}`: {reason} (expected Cargo's syntax, like `^1.27`, `~1.27`, `1.27.*` or `>=1.26, <1.28`)")]
    Requirement {
        /// The requirement as written.
        input: String,
        /// What the parser said.
        reason: String,
    },
    /// Not a regular expression.
    #[error("invalid tag filter `{input}`: {reason}")]
    Filter {
        /// The filter as written.
        input: String,
        /// What the regex parser said.
        reason: String,
    },
}

/// An entry's `version` and `tags` as written in images.toml. The lock
/// keeps a copy, so an offline check sees a changed requirement.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Requirement {
    /// The requirement (`~1.27`).
    pub version: String,
    /// The tag filter, when the entry names one (else the default, which
    /// takes `1.2.3` and `v1.2.3`).
    pub tags: Option<String>,
}

/// An entry's version requirement, read and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSpec {
    /// What images.toml says.
    pub declared: Requirement,
    /// `declared.version`, parsed.
    pub requirement: VersionReq,
    /// `declared.tags` compiled, or the default filter.
    pub filter: TagFilter,
}

impl VersionSpec {
    /// Reads a requirement and an optional tag filter.
    pub fn new(version: &str, tags: Option<&str>) -> Result<VersionSpec, VersionError> {
        let requirement = parse_requirement(version)?;
        let filter = match tags {
            Some(text) => TagFilter::new(text)?,
            None => TagFilter::default(),
        };
        Ok(VersionSpec {
            declared: Requirement {
                version: version.to_owned(),
                tags: tags.map(str::to_owned),
            },
            requirement,
            filter,
        })
    }

    /// Whether `tag` is one this entry may lock: the filter reads it as a
    /// version and the requirement allows that version.
    pub fn allows(&self, tag: &str) -> bool {
        self.filter
            .version_of(tag)
            .is_some_and(|v| self.requirement.matches(&v))
    }

    /// The newest tag among `tags` this entry may lock.
    pub fn newest_allowed<'a>(
        &self,
        tags: impl IntoIterator<Item = &'a str>,
    ) -> Option<VersionedTag<'a>> {
        newest_allowed(&self.requirement, &self.filter, tags)
    }
}

/// A tag filter: which tags are versions, and what part of them.
#[derive(Clone, Debug)]
pub struct TagFilter {
    text: String,
    /// `text` anchored at both ends, so it matches whole tags only.
    regex: Regex,
}

impl TagFilter {
    /// Compiles a filter. It always applies to the whole tag, anchored or
    /// not: `\d+\.\d+` does not accept `1.27-alpine`.
    pub fn new(text: &str) -> Result<TagFilter, VersionError> {
        let invalid = |e: regex::Error| VersionError::Filter {
            input: text.to_owned(),
            reason: regex_reason(&e),
        };
        // Checked as written first, so an error points into the user's
        // text rather than into the anchored form.
        Regex::new(text).map_err(invalid)?;
        let regex = Regex::new(&format!("^(?:{text})$")).map_err(invalid)?;
        Ok(TagFilter {
            text: text.to_owned(),
            regex,
        })
    }

    /// The filter as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The version a tag stands for, when the filter accepts it and its
    /// captured text reads as a version (`16.4` as `16.4.0`).
    pub fn version_of(&self, tag: &str) -> Option<Version> {
        let captures = self.regex.captures(tag)?;
        let text = captures.get(1).or_else(|| captures.get(0))?.as_str();
        read_version(text)
    }
}

impl Default for TagFilter {
    fn default() -> TagFilter {
        // A constant that compiles; the test below holds that.
        TagFilter::new(DEFAULT_TAG_FILTER).unwrap_or_else(|_| unreachable!())
    }
}

impl PartialEq for TagFilter {
    fn eq(&self, other: &TagFilter) -> bool {
        self.text == other.text
    }
}

impl Eq for TagFilter {}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The regex crate's message without its multi-line excerpt: its last line
/// (`error: unclosed group` becomes `unclosed group`).
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    last.trim().trim_start_matches("error: ").to_owned()
}

/// Reads `1.27.3`, `1.27` (as `1.27.0`), `16` (as `16.0.0`) and pre-releases
/// such as `1.28.0-rc1`.
fn read_version(text: &str) -> Option<Version> {
    let (core, rest) = match text.find(['-', '+']) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let parts = core.split('.').count();
    let padded = match parts {
        1 => format!("{core}.0.0{rest}"),
        2 => format!("{core}.0{rest}"),
        _ => text.to_owned(),
    };
    Version::parse(&padded).ok()
}

/// Reads a Cargo requirement.
pub(crate) fn parse_requirement(text: &str) -> Result<VersionReq, VersionError> {
    VersionReq::parse(text).map_err(|e| VersionError::Requirement {
        input: text.to_owned(),
        reason: e.to_string(),
    })
}

/// A tag read as a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionedTag<'a> {
    /// The tag.
    pub tag: &'a str,
    /// What it reads as.
    pub version: Version,
}

/// Newer versions first; for one version, the tag that sorts first by
/// bytes (`1.2.3` before `v1.2.3`), so the order tags were listed in
/// never matters.
fn newer_first(a: &VersionedTag, b: &VersionedTag) -> Ordering {
    b.version
        .cmp(&a.version)
        .then_with(|| a.tag.as_bytes().cmp(b.tag.as_bytes()))
}

/// The tags `filter` reads as versions, with their versions, in the order given.
fn read<'a, 'f>(
    filter: &'f TagFilter,
    tags: impl IntoIterator<Item = &'a str> + 'f,
) -> impl Iterator<Item = VersionedTag<'a>> + 'f {
    tags.into_iter().filter_map(move |tag| {
        filter
            .version_of(tag)
            .map(|version| VersionedTag { tag, version })
    })
}

/// The tags the filter reads as versions, newest first.
pub fn versioned_tags<'a>(
    filter: &TagFilter,
    tags: impl IntoIterator<Item = &'a str>,
) -> Vec<VersionedTag<'a>> {
    let mut out: Vec<VersionedTag> = read(filter, tags).collect();
    out.sort_by(newer_first);
    out
}

/// The newest tag the filter accepts and the requirement allows.
pub fn newest_allowed<'a>(
    requirement: &VersionReq,
    filter: &TagFilter,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<VersionedTag<'a>> {
    read(filter, tags)
        .filter(|t| requirement.matches(&t.version))
        .min_by(newer_first)
}

/// The newest release (not pre-release) tag the filter accepts, whatever
/// the requirement: `outdated`'s "latest".
pub(crate) fn newest_of_shape<'a>(
    filter: &TagFilter,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<VersionedTag<'a>> {
    read(filter, tags)
        .filter(|t| t.version.pre.is_empty())
        .min_by(newer_first)
}

/// Where a versioned entry stands against the tags its repository has now:
/// what `images outdated` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing<'a> {
    /// The newest tag the requirement allows.
    pub compatible: Option<VersionedTag<'a>>,
    /// The newest release tag of the same shape (the filter accepts it),
    /// whatever the requirement.
    pub latest: Option<VersionedTag<'a>>,
    /// The locked tag is older than `compatible` (or reads as no version).
    pub outdated: bool,
}

/// Compares the tag an entry locked with the repository's tags.
pub fn standing<'a>(
    spec: &VersionSpec,
    locked_tag: Option<&str>,
    tags: impl IntoIterator<Item = &'a str> + Clone,
) -> Standing<'a> {
    let compatible = spec.newest_allowed(tags.clone());
    let latest = newest_of_shape(&spec.filter, tags);
    let locked = locked_tag.and_then(|t| spec.filter.version_of(t));
    let outdated = match (&locked, &compatible) {
        (Some(locked), Some(compatible)) => *locked < compatible.version,
        (None, Some(_)) => true,
        (_, None) => false,
    };
    Standing {
        compatible,
        latest,
        outdated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAGS: &[&str] = &[
        "1.26.0",
        "1.27.0",
        "1.27.3",
        "1.27.4-alpine",
        "1.27.10",
        "1.28.0-rc1",
        "1.28.0",
        "latest",
    ];

    fn newest(requirement: &str, filter: &TagFilter) -> Option<String> {
        let requirement = parse_requirement(requirement).expect("valid requirement");
        newest_allowed(&requirement, filter, TAGS.iter().copied()).map(|t| t.tag.to_owned())
    }

    #[test]
    fn the_default_filter_compiles_and_reads_three_part_tags() {
        let filter = TagFilter::default();
        assert_eq!(filter.version_of("v1.2.3"), Some(Version::new(1, 2, 3)));
        assert_eq!(filter.version_of("1.2"), None);
        assert_eq!(filter.version_of("1.2.3-alpine"), None);
        assert_eq!(filter.version_of("latest"), None);
    }

    #[test]
    fn requirements_pick_the_newest_allowed_in_semver_order() {
        let filter = TagFilter::default();
        assert_eq!(newest("~1.27", &filter).as_deref(), Some("1.27.10"));
        assert_eq!(newest("^1", &filter).as_deref(), Some("1.28.0"));
        assert_eq!(newest("=1.27.3", &filter).as_deref(), Some("1.27.3"));
        assert_eq!(newest(">=1.26, <1.27", &filter).as_deref(), Some("1.26.0"));
        assert_eq!(newest("1.27.*", &filter).as_deref(), Some("1.27.10"));
        assert_eq!(newest("^2", &filter), None);
    }

    #[test]
    fn pre_releases_only_when_the_requirement_names_one() {
        let filter = TagFilter::new(r"(\d+\.\d+\.\d+(?:-rc\d+)?)").expect("filter");
        let requirement = parse_requirement(">=1.28.0-rc1, <1.28.0").expect("req");
        let tags = ["1.27.10", "1.28.0-rc1"];
        assert_eq!(
            newest_allowed(&requirement, &filter, tags).map(|t| t.tag),
            Some("1.28.0-rc1")
        );
        let requirement = parse_requirement("^1.27").expect("req");
        assert_eq!(
            newest_allowed(&requirement, &filter, tags).map(|t| t.tag),
            Some("1.27.10")
        );
    }

    #[test]
    fn a_capture_group_reads_the_version_out_of_a_longer_tag() {
        let filter = TagFilter::new(r"^(\d+\.\d+\.\d+)-alpine$").expect("filter");
        assert_eq!(newest("~1.27", &filter).as_deref(), Some("1.27.4-alpine"));
        let short = TagFilter::new(r"(\d+\.\d+)").expect("filter");
        assert_eq!(short.version_of("16.4"), Some(Version::new(16, 4, 0)));
        let major = TagFilter::new(r"(\d+)").expect("filter");
        assert_eq!(major.version_of("16"), Some(Version::new(16, 0, 0)));
    }

    #[test]
    fn filters_apply_to_whole_tags() {
        let filter = TagFilter::new(r"\d+\.\d+\.\d+").expect("filter");
        assert_eq!(filter.version_of("1.27.4-alpine"), None);
        assert_eq!(filter.version_of("x1.27.4"), None);
    }

    #[test]
    fn one_version_under_two_tags_picks_the_first_by_bytes() {
        let requirement = parse_requirement("^1").expect("req");
        let filter = TagFilter::default();
        for tags in [["v1.2.3", "1.2.3"], ["1.2.3", "v1.2.3"]] {
            assert_eq!(
                newest_allowed(&requirement, &filter, tags).map(|t| t.tag),
                Some("1.2.3")
            );
        }
    }

    #[test]
    fn bad_requirements_and_filters_say_what_they_are() {
        let err = parse_requirement("~>1.2").expect_err("not cargo syntax");
        assert!(err
            .to_string()
            .starts_with("invalid version requirement `~>1.2`"));
        let err = TagFilter::new("(").expect_err("not a regex");
        assert_eq!(err.to_string(), "invalid tag filter `(`: unclosed group");
    }

    #[test]
    fn newest_of_shape_ignores_the_requirement_and_pre_releases() {
        let filter = TagFilter::new(r"(\d+\.\d+\.\d+(?:-rc\d+)?)").expect("filter");
        assert_eq!(
            newest_of_shape(&filter, TAGS.iter().copied()).map(|t| t.tag),
            Some("1.28.0")
        );
    }

    #[test]
    fn standing_compares_the_locked_tag_with_the_newest_allowed() {
        let spec = VersionSpec::new("~1.27", None).expect("valid");
        let now = standing(&spec, Some("1.27.3"), TAGS.iter().copied());
        assert_eq!(now.compatible.map(|t| t.tag), Some("1.27.10"));
        assert_eq!(now.latest.map(|t| t.tag), Some("1.28.0"));
        assert!(now.outdated);
        let current = standing(&spec, Some("1.27.10"), TAGS.iter().copied());
        assert!(!current.outdated);
        let nothing = standing(
            &VersionSpec::new("^3", None).expect("valid"),
            Some("3.0.0"),
            TAGS.iter().copied(),
        );
        assert!(!nothing.outdated);
        assert_eq!(nothing.compatible, None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn tag() -> impl Strategy<Value = String> {
            prop_oneof![
                (0u64..4, 0u64..12, 0u64..12).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
                (0u64..4, 0u64..12, 0u64..12).prop_map(|(a, b, c)| format!("v{a}.{b}.{c}")),
                (0u64..4, 0u64..12).prop_map(|(a, b)| format!("{a}.{b}")),
                (0u64..4, 0u64..12, 0u64..12).prop_map(|(a, b, c)| format!("{a}.{b}.{c}-rc1")),
                Just("latest".to_string()),
                "[a-z0-9.-]{1,8}",
            ]
        }

        fn requirement() -> impl Strategy<Value = String> {
            prop_oneof![
                (0u64..4).prop_map(|a| format!("^{a}")),
                (0u64..4, 0u64..12).prop_map(|(a, b)| format!("~{a}.{b}")),
                (0u64..4, 0u64..12).prop_map(|(a, b)| format!(">={a}.{b}, <{}.0", a + 1)),
                (0u64..4, 0u64..12, 0u64..12).prop_map(|(a, b, c)| format!("={a}.{b}.{c}")),
                Just("*".to_string()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// The chosen tag is allowed, no allowed tag is newer, and the
            /// order the registry lists tags in does not change the choice.
            #[test]
            fn the_choice_is_the_newest_allowed_whatever_the_order(
                tags in prop::collection::vec(tag(), 0..24),
                requirement in requirement(),
            ) {
                let filter = TagFilter::default();
                let req = parse_requirement(&requirement).expect("generated requirements parse");
                let chosen = newest_allowed(&req, &filter, tags.iter().map(String::as_str));
                let mut reversed = tags.clone();
                reversed.reverse();
                let again = newest_allowed(&req, &filter, reversed.iter().map(String::as_str));
                prop_assert_eq!(&chosen, &again);
                for tag in &tags {
                    if let Some(version) = filter.version_of(tag) {
                        if req.matches(&version) {
                            let chosen = chosen.as_ref().expect("an allowed tag exists");
                            prop_assert!(version <= chosen.version, "{} is newer than {}", tag, chosen.tag);
                        }
                    }
                }
                if let Some(chosen) = &chosen {
                    prop_assert!(req.matches(&chosen.version));
                    prop_assert!(chosen.version.pre.is_empty() || requirement.contains('-'));
                }
            }
        }
    }
}
