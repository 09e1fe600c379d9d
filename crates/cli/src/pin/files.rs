//! Which files `images pin` reads: the usual names under a directory,
//! minus what git ignores, and the kind of each.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::FileKind;

/// Directories never searched: version control, build output, packages.
const SKIPPED_DIRS: [&str; 3] = [".git", "target", "node_modules"];

/// The kind of file `path` is by its name and place, when they decide it.
/// YAML files that are neither compose files nor workflows are only
/// Kubernetes manifests if their content says so ([`looks_like_kubernetes`]).
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
    None
}

/// Whether YAML text has the top-level `apiVersion` and `kind` keys of a
/// Kubernetes object in some document.
pub fn looks_like_kubernetes(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut api_version = false;
    let mut kind = false;
    for line in text.lines() {
        api_version |= line.starts_with("apiVersion:");
        kind |= line.starts_with("kind:");
    }
    api_version && kind
}

/// Whether YAML text is a template (Helm's `{{ … }}`) rather than YAML.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") && !text.contains("${{")
}

/// A candidate file found under a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Where it is.
    pub path: PathBuf,
    /// Its kind by name, or `None` for a YAML file that may be a manifest.
    pub kind: Option<FileKind>,
}

/// The Dockerfiles, compose files, workflows and other YAML files under
/// `root`, sorted, skipping [`SKIPPED_DIRS`] and what git ignores.
pub fn under(root: &Path) -> std::io::Result<Vec<Candidate>> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            // `file_type` does not follow symlinks, so a link cannot lead
            // the walk in circles or out of the tree.
            let file_type = entry.file_type()?;
            let name = entry.file_name();
            if file_type.is_dir() {
                if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                    pending.push(path);
                }
            } else if file_type.is_file() {
                let kind = kind_by_name(&path);
                let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
                if kind.is_some() || yaml {
                    found.push(Candidate { path, kind });
                }
            }
        }
    }
    let ignored = git_ignored(root, &found);
    found.retain(|c| !ignored.contains(&c.path));
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// The candidates git ignores, asked of `git check-ignore --stdin` when
/// `root` is inside a work tree. Without git, or outside a repository,
/// nothing is ignored beyond the fixed names.
fn git_ignored(root: &Path, candidates: &[Candidate]) -> Vec<PathBuf> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["check-ignore", "--stdin", "-z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Vec::new();
    };
    let mut input = Vec::new();
    for c in candidates {
        input.extend_from_slice(c.path.as_os_str().as_encoded_bytes());
        input.push(0);
    }
    // Write from a thread: git answers while it reads, and a full stdout
    // pipe would otherwise stall both sides.
    let stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(&input);
        }
    });
    let output = child.wait_with_output();
    let _ = writer.join();
    // Exit 1 means "nothing ignored"; 128 means "not a git repository".
    let Ok(output) = output else {
        return Vec::new();
    };
    output
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| std::str::from_utf8(p).ok())
        .map(PathBuf::from)
        .collect()
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
    fn kubernetes_manifests_are_told_by_their_top_level_keys() {
        assert!(looks_like_kubernetes("---\napiVersion: v1\nkind: Pod\n"));
        assert!(looks_like_kubernetes(
            "\u{feff}apiVersion: v1\r\nkind: Pod\r\n"
        ));
        assert!(!looks_like_kubernetes("name: ci\non: push\n"));
    }
}
