//! SARIF 2.1.0 (`--format sarif`): what `verify` and `pin --check` find, as
//! the static-analysis log code-scanning dashboards read (GitHub's
//! `codeql-action/upload-sarif`, GitLab, Azure DevOps).
//!
//! Only the part of the format those findings need, as typed structures:
//! one run, its tool with one rule per finding kind, and one result per
//! finding located at a line of a file. Paths are relative to
//! `%SRCROOT%` (the repository root) so the log stays valid wherever the
//! repository is checked out; `originalUriBaseIds` says where it was.
//! The standard: <https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html>.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The schema a log names, the OASIS errata 01 text of SARIF 2.1.0.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base every relative `uri` is resolved against.
const SRCROOT: &str = "%SRCROOT%";

/// How loud a result is. `error` fails a code-scanning check; `warning`
/// and `note` are shown without failing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Note,
}

impl From<crate::github::Level> for Level {
    fn from(level: crate::github::Level) -> Self {
        match level {
            crate::github::Level::Error => Level::Error,
            crate::github::Level::Warning => Level::Warning,
        }
    }
}

/// One kind of finding a command reports: its stable id (the `status` the
/// command's JSON gives it) and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable kebab-case id, e.g. `tag-moved`.
    pub id: &'static str,
    /// The same in PascalCase, as SARIF viewers title a rule.
    pub name: &'static str,
    /// One line: what was found.
    pub short: &'static str,
    /// What it means and what to do about it.
    pub full: &'static str,
    /// The level its results have unless they say otherwise.
    pub level: Level,
}

/// A SARIF log: `serde_json` prints it as the document.
#[derive(Debug, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run; 1],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    /// Where `%SRCROOT%` was when the log was written; absent when that
    /// directory has no `file:` URI (a relative path cannot have one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    original_uri_base_ids: BTreeMap<&'static str, BaseLocation>,
    /// Columns count characters, not UTF-16 code units.
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Debug, Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    default_configuration: Configuration,
}

#[derive(Debug, Serialize)]
struct Configuration {
    level: Level,
}

/// A SARIF `message` or `multiformatMessageString`: plain text.
#[derive(Debug, Serialize)]
struct Text {
    text: String,
}

#[derive(Debug, Serialize)]
struct BaseLocation {
    uri: String,
}

/// One finding.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    rule_id: &'static str,
    level: Level,
    message: Text,
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<Fix>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    /// `%SRCROOT%` when `uri` is relative to it; absent for an absolute
    /// `file:` URI (a file outside the repository).
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    #[serde(skip_serializing_if = "Option::is_none")]
    start_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    byte_offset: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    byte_length: Option<usize>,
}

/// What would make a result go away: bytes of a file to replace.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Fix {
    description: Text,
    artifact_changes: Vec<ArtifactChange>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    inserted_content: Text,
}

impl SarifResult {
    /// Adds the fix of replacing `span` (bytes) of the result's file by `text`.
    pub fn fix(&mut self, description: &str, span: &Range<usize>, text: &str) {
        let Some(location) = self.locations.first() else {
            return;
        };
        let artifact_location = location.physical_location.artifact_location.clone();
        self.fixes.push(Fix {
            description: Text {
                text: description.to_owned(),
            },
            artifact_changes: vec![ArtifactChange {
                artifact_location,
                replacements: vec![Replacement {
                    deleted_region: Region {
                        byte_offset: Some(span.start),
                        byte_length: Some(span.len()),
                        ..Region::default()
                    },
                    inserted_content: Text {
                        text: text.to_owned(),
                    },
                }],
            }],
        });
    }
}

/// Collects one command's results, each located in a file under the
/// repository root.
pub struct Report {
    rules: &'static [Rule],
    /// The directory `%SRCROOT%` stands for, absolute and normalized.
    root: PathBuf,
    /// The directory relative paths are read from.
    cwd: PathBuf,
    results: Vec<SarifResult>,
}

impl Report {
    /// A report whose results are among `rules`, with paths relative to
    /// the root of the git repository that holds `cwd` (or `cwd` itself
    /// outside one), as `--format github` names them.
    pub fn new(rules: &'static [Rule], cwd: &Path) -> Report {
        Report {
            rules,
            root: crate::github::repository_base(cwd),
            cwd: cwd.to_path_buf(),
            results: Vec::new(),
        }
    }

    /// Adds a result of rule `rule_id` at `line` (and `column`) of `file`,
    /// 1-based, where known.
    pub fn push(
        &mut self,
        rule_id: &'static str,
        level: Level,
        message: &str,
        file: &Path,
        line: Option<usize>,
        column: Option<usize>,
    ) -> &mut SarifResult {
        debug_assert!(
            self.rules.iter().any(|r| r.id == rule_id),
            "rule `{rule_id}` is not among the report's rules"
        );
        let region = line.map(|line| Region {
            start_line: Some(line),
            start_column: column,
            ..Region::default()
        });
        self.results.push(SarifResult {
            rule_id,
            level,
            message: Text {
                text: message.to_owned(),
            },
            locations: vec![Location {
                physical_location: PhysicalLocation {
                    artifact_location: self.artifact(file),
                    region,
                },
            }],
            fixes: Vec::new(),
        });
        let last = self.results.len() - 1;
        &mut self.results[last]
    }

    /// Where `file` is, as an artifact location.
    fn artifact(&self, file: &Path) -> ArtifactLocation {
        let absolute = crate::github::absolute(file, &self.cwd);
        let relative = absolute
            .strip_prefix(&self.root)
            .ok()
            .and_then(relative_uri);
        match relative {
            Some(uri) => ArtifactLocation {
                uri,
                uri_base_id: Some(SRCROOT),
            },
            // Outside the repository: the file's own URI, or its path as
            // written when it has none.
            None => ArtifactLocation {
                uri: url::Url::from_file_path(&absolute)
                    .map_or_else(|()| absolute.display().to_string(), String::from),
                uri_base_id: None,
            },
        }
    }

    /// The log of one run of `images`.
    pub fn into_log(self) -> Log {
        let base = url::Url::from_directory_path(&self.root)
            .map(|uri| BaseLocation { uri: uri.into() })
            .ok();
        let rules = self
            .rules
            .iter()
            .map(|rule| ReportingDescriptor {
                id: rule.id,
                name: rule.name,
                short_description: Text {
                    text: rule.short.to_owned(),
                },
                full_description: Text {
                    text: rule.full.to_owned(),
                },
                default_configuration: Configuration { level: rule.level },
            })
            .collect();
        let repository = env!("CARGO_PKG_REPOSITORY");
        Log {
            schema: SCHEMA,
            version: "2.1.0",
            runs: [Run {
                tool: Tool {
                    driver: Driver {
                        name: "images",
                        version: env!("CARGO_PKG_VERSION"),
                        information_uri: (!repository.is_empty()).then_some(repository),
                        rules,
                    },
                },
                original_uri_base_ids: base.map(|b| (SRCROOT, b)).into_iter().collect(),
                column_kind: "unicodeCodePoints",
                results: self.results,
            }],
        }
    }
}

/// `relative` as a relative URI reference: `/`-separated, each segment
/// percent-encoded, so a space or a `#` in a file name stays part of the
/// path. `None` for a path that is not plain names (`..`, not UTF-8).
fn relative_uri(relative: &Path) -> Option<String> {
    let segments: Option<Vec<String>> = relative
        .components()
        .map(|c| match c {
            std::path::Component::Normal(name) => name.to_str().map(encode_segment),
            _ => None,
        })
        .collect();
    let segments = segments?;
    (!segments.is_empty()).then(|| segments.join("/"))
}

/// Percent-encodes every byte but RFC 3986's unreserved characters. A `:`
/// is encoded too: in a first segment it would read as a URI scheme.
fn encode_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The 1-based column, in characters, of byte `offset` of `text`.
pub fn column_at(text: &str, offset: usize) -> Option<usize> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some(before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &[Rule] = &[Rule {
        id: "tag-moved",
        name: "TagMoved",
        short: "The tag moved",
        full: "The tag names another digest than images.lock.",
        level: Level::Error,
    }];

    #[test]
    fn paths_are_relative_to_the_repository_root_and_encoded() {
        let repo = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(repo.path().join(".git")).expect("mkdir .git");
        std::fs::create_dir_all(repo.path().join("deploy")).expect("mkdir");
        let cwd = repo.path().join("deploy");
        let mut report = Report::new(RULES, &cwd);
        report.push(
            "tag-moved",
            Level::Error,
            "moved",
            Path::new("a b#1:x.lock"),
            Some(3),
            Some(5),
        );
        let log = serde_json::to_value(report.into_log()).expect("serialize");
        let location = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"]["uri"],
            "deploy/a%20b%231%3Ax.lock"
        );
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(location["region"]["startLine"], 3);
        assert_eq!(location["region"]["startColumn"], 5);
        let base = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
            .as_str()
            .expect("a base URI");
        assert!(
            base.starts_with("file:///") && base.ends_with('/'),
            "{base}"
        );
    }

    #[test]
    fn a_file_outside_the_repository_gets_its_own_uri() {
        let repo = tempfile::tempdir().expect("temp dir");
        let other = tempfile::tempdir().expect("temp dir");
        let mut report = Report::new(RULES, repo.path());
        report.push(
            "tag-moved",
            Level::Error,
            "moved",
            &other.path().join("x"),
            None,
            None,
        );
        let log = serde_json::to_value(report.into_log()).expect("serialize");
        let artifact =
            &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
        assert!(
            artifact["uri"]
                .as_str()
                .is_some_and(|uri| uri.starts_with("file:///")),
            "{artifact}"
        );
        assert!(artifact.get("uriBaseId").is_none(), "{artifact}");
    }

    #[test]
    fn columns_count_characters_from_the_line_start() {
        let text = "a\nné: x\n";
        assert_eq!(column_at(text, 0), Some(1));
        assert_eq!(column_at(text, 2), Some(1));
        assert_eq!(column_at(text, "a\nné: ".len()), Some(5));
        assert_eq!(column_at(text, 99), None);
    }
}
