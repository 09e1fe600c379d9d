//! Which files `images pin` reads: the usual names under a directory,
//! minus what git ignores, what `[pin] exclude` names and vendored code,
//! and the kind of each.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use globset::{GlobBuilder, GlobMatcher};
use ignore::WalkBuilder;

use images_scan::FileKind;

/// Directories never searched: version control, build output, packages.
const SKIPPED_DIRS: [&str; 3] = [".git", "target", "node_modules"];

/// Directories skipped by default, and reported under `-v`: vendored
/// code is someone else's to pin (Renovate skips `**/vendor/**` too).
const VENDOR_DIR: &str = "vendor";

/// The kind of file `path` is by its name and place, when they decide it.
/// What other YAML files are, their text tells ([`FileKind::from_text`]).
pub fn kind_by_name(path: &Path) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    // `Dockerfile.dockerignore` is the ignore file BuildKit reads beside
    // `Dockerfile`, not a Dockerfile.
    if lower.ends_with(".dockerignore") {
        return None;
    }
    if name == "Dockerfile"
        || name.starts_with("Dockerfile.")
        || lower.ends_with(".dockerfile")
        || name == "Containerfile"
        || name.starts_with("Containerfile.")
    {
        return Some(FileKind::Dockerfile);
    }
    if super::kustomizations::KUSTOMIZATION_FILES.contains(&name) {
        return Some(FileKind::Kustomization);
    }
    let yaml_stem = lower
        .strip_suffix(".yaml")
        .or_else(|| lower.strip_suffix(".yml"))?;
    let in_workflows = path
        .parent()
        .is_some_and(|p| p.ends_with(Path::new(".github").join("workflows")));
    if in_workflows {
        return Some(FileKind::Workflow);
    }
    if yaml_stem == "compose"
        || yaml_stem.starts_with("compose.")
        || yaml_stem.starts_with("docker-compose")
    {
        return Some(FileKind::Compose);
    }
    // A chart's values files sit beside its Chart.yaml.
    if yaml_stem.starts_with("values")
        && path
            .parent()
            .is_some_and(|dir| dir.join("Chart.yaml").is_file())
    {
        return Some(FileKind::HelmValues);
    }
    None
}

/// A candidate file found under a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Where it is.
    pub path: PathBuf,
    /// Its kind by name, or `None` for a YAML file that may be a manifest.
    pub kind: Option<FileKind>,
}

/// Why a file or directory found by a search was not searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// A `vendor` directory.
    Vendor,
    /// It matches this `[pin] exclude` glob.
    Excluded(String),
}

/// What `images pin` leaves out of a search: the `[pin] exclude` globs,
/// matched against paths relative to the directory of images.toml, and
/// `vendor` directories.
#[derive(Debug, Clone)]
pub struct Exclusions {
    /// The directory of images.toml, canonical.
    root: PathBuf,
    globs: Vec<(String, GlobMatcher)>,
}

impl Exclusions {
    /// Exclusions for the project whose images.toml is in `root`. The
    /// globs were checked when images.toml was read; one that does not
    /// build here is an error all the same.
    pub fn new(root: &Path, globs: &[String]) -> Result<Exclusions, globset::Error> {
        let globs = globs
            .iter()
            .map(|glob| {
                let matcher = GlobBuilder::new(glob)
                    .literal_separator(true)
                    .build()?
                    .compile_matcher();
                Ok((glob.clone(), matcher))
            })
            .collect::<Result<_, globset::Error>>()?;
        Ok(Exclusions {
            root: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
            globs,
        })
    }

    /// Why `path` (canonical), a directory when `is_dir`, is not searched.
    fn skip(&self, path: &Path, is_dir: bool) -> Option<Skip> {
        if is_dir && path.file_name().is_some_and(|n| n == VENDOR_DIR) {
            return Some(Skip::Vendor);
        }
        let relative = path.strip_prefix(&self.root).ok()?;
        self.globs
            .iter()
            .find(|(_, matcher)| matcher.is_match(relative))
            .map(|(glob, _)| Skip::Excluded(glob.clone()))
    }
}

/// What a search under a directory found.
#[derive(Debug, Default)]
pub struct Search {
    /// The files to read, sorted.
    pub candidates: Vec<Candidate>,
    /// What was left out and why, sorted.
    pub skipped: Vec<(PathBuf, Skip)>,
    /// What could not be read (a directory, an entry), and why: the search
    /// went on without it.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Ignore files that could not be read in full; what they say is
    /// applied as far as it could be read.
    pub warnings: Vec<String>,
}

/// The Dockerfiles, compose files, workflows and other YAML files under
/// `dir`, skipping [`SKIPPED_DIRS`], what `exclusions` names and what git
/// ignores. Git's rules are applied as git applies them, by the `ignore`
/// crate (ripgrep's walker): every `.gitignore` from the repository's root
/// down, `.git/info/exclude` and the global excludes file, with anchored
/// patterns relative to the file that holds them, whichever way `dir` is
/// written (the walk runs on its canonical path). Outside a git
/// repository nothing is ignored beyond the fixed names.
pub fn under(dir: &Path, exclusions: &Exclusions) -> Search {
    let mut search = Search::default();
    let canonical = match std::fs::canonicalize(dir) {
        Ok(canonical) => canonical,
        Err(e) => {
            search.unreadable.push((dir.to_path_buf(), e.to_string()));
            return search;
        }
    };
    // Paths are reported as the user wrote the directory.
    let shown = |path: &Path| match path.strip_prefix(&canonical) {
        Ok(rest) if rest.as_os_str().is_empty() => dir.to_path_buf(),
        Ok(rest) => dir.join(rest),
        Err(_) => path.to_path_buf(),
    };
    let skipped: Arc<Mutex<Vec<(PathBuf, Skip)>>> = Arc::default();
    let filter_skipped = Arc::clone(&skipped);
    let filter_exclusions = exclusions.clone();
    let walk = WalkBuilder::new(&canonical)
        .hidden(false)
        .ignore(false)
        .parents(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .require_git(true)
        .follow_links(false)
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if is_dir && SKIPPED_DIRS.iter().any(|s| entry.file_name() == *s) {
                return false;
            }
            match filter_exclusions.skip(entry.path(), is_dir) {
                Some(why) => {
                    filter_skipped
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((entry.path().to_path_buf(), why));
                    false
                }
                None => true,
            }
        })
        .build();
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = error_path(&e).map_or_else(|| dir.to_path_buf(), &shown);
                let reason = e
                    .io_error()
                    .map_or_else(|| e.to_string(), ToString::to_string);
                search.unreadable.push((path, reason));
                continue;
            }
        };
        if let Some(e) = entry.error() {
            search.warnings.push(e.to_string());
        }
        // `file_type` does not follow symlinks, so a link cannot lead the
        // walk in circles or out of the tree.
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = shown(entry.path());
        let kind = kind_by_name(&path);
        let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if kind.is_some() || yaml {
            search.candidates.push(Candidate { path, kind });
        }
    }
    search.candidates.sort_by(|a, b| a.path.cmp(&b.path));
    let mut skipped = std::mem::take(&mut *skipped.lock().unwrap_or_else(PoisonError::into_inner));
    skipped.iter_mut().for_each(|(path, _)| *path = shown(path));
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    search.skipped = skipped;
    search.unreadable.sort();
    search
}

/// The path a walk error is about, when it names one.
fn error_path(error: &ignore::Error) -> Option<&Path> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_names_are_recognized() {
        for (path, kind) in [
            ("Dockerfile", Some(FileKind::Dockerfile)),
            ("app/Dockerfile.prod", Some(FileKind::Dockerfile)),
            ("build/api.dockerfile", Some(FileKind::Dockerfile)),
            ("Dockerfile.dockerignore", None),
            ("app/api.Dockerfile.dockerignore", None),
            ("compose.yaml", Some(FileKind::Compose)),
            ("docker-compose.override.yml", Some(FileKind::Compose)),
            (".github/workflows/ci.yml", Some(FileKind::Workflow)),
            ("deploy/app.yaml", None),
            ("README.md", None),
        ] {
            assert_eq!(kind_by_name(Path::new(path)), kind, "{path}");
        }
    }

    #[test]
    fn exclusions_match_paths_relative_to_the_manifest_and_vendor_dirs() {
        let root = tempfile::tempdir().expect("temp dir");
        let root = std::fs::canonicalize(root.path()).expect("canonical");
        let globs = ["deploy/legacy".to_owned(), "**/*.gen.yaml".to_owned()];
        let exclusions = Exclusions::new(&root, &globs).expect("valid globs");
        let skip = |path: &str, is_dir: bool| exclusions.skip(&root.join(path), is_dir);
        assert_eq!(skip("third_party/vendor", true), Some(Skip::Vendor));
        assert_eq!(skip("vendor", false), None, "only a directory");
        assert_eq!(
            skip("deploy/legacy", true),
            Some(Skip::Excluded("deploy/legacy".to_owned()))
        );
        assert_eq!(
            skip("a/b/x.gen.yaml", false),
            Some(Skip::Excluded("**/*.gen.yaml".to_owned()))
        );
        assert_eq!(skip("deploy/legacy-2", true), None);
        assert_eq!(skip("deploy/app.yaml", false), None);
        assert_eq!(
            exclusions.skip(Path::new("/elsewhere/deploy/legacy"), true),
            None,
            "outside the project nothing is excluded"
        );
    }
}
