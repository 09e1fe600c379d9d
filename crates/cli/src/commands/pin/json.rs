//! The JSON documents of `images pin` (docs/json.md): the report of a
//! pin or `--check` run, and the `--discover` suggestions.

use serde::Serialize;

/// The report of `images pin` and `images pin --check`.
#[derive(Serialize)]
pub(super) struct PinReport {
    pub version: u32,
    pub ok: bool,
    pub exit_code: u8,
    /// Files written, as shown.
    pub written: Vec<String>,
    pub references: Vec<PinReference>,
    pub errors: Vec<FileProblem>,
    pub skipped: Vec<Skipped>,
    /// Under `--diff`: the unified diff of every file `pin` would change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// One image reference found in a file.
#[derive(Serialize)]
pub(super) struct PinReference {
    pub file: String,
    pub line: usize,
    /// The reference as written.
    pub image: String,
    /// The images.toml entry it is, when one.
    pub name: Option<String>,
    /// The entry's reference, without a digest.
    pub reference: Option<String>,
    /// The digest the entry is locked at.
    pub digest: Option<String>,
    pub status: &'static str,
    pub rewritten: bool,
    /// Why it was left alone, when it was.
    pub reason: Option<String>,
}

/// A file that could not be read or parsed.
#[derive(Serialize)]
pub(super) struct FileProblem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// A file the search left out.
#[derive(Serialize)]
pub(super) struct Skipped {
    pub file: String,
    /// `vendor`, `excluded` or `template`.
    pub reason: &'static str,
    /// For `excluded`: the `[pin] exclude` glob that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glob: Option<String>,
}

/// The `--discover` document.
#[derive(Serialize)]
pub(super) struct Discovered {
    pub version: u32,
    pub undeclared: Vec<DiscoveredImage>,
    pub errors: Vec<FileProblem>,
}

/// An image images.toml lacks.
#[derive(Serialize)]
pub(super) struct DiscoveredImage {
    pub name: String,
    pub image: String,
    /// The images.toml line that declares it.
    pub toml: String,
    pub locations: Vec<Location>,
}

/// A file and line.
#[derive(Serialize)]
pub(super) struct Location {
    pub file: String,
    pub line: usize,
}
