//! Which manifests kustomizations govern: a file listed in a
//! kustomization's `resources`, directly or through a directory holding a
//! kustomization of its own (and so on down), gets its images from that
//! kustomization's `images:` wherever a name there matches. `images pin`
//! pins the kustomization's entry and leaves those images alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use images_scan::Kustomization;

/// The names kustomize reads a directory's kustomization from.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The manifests kustomizations govern.
#[derive(Debug, Default)]
pub struct Governed {
    /// Each governed file (canonical), with the kustomizations (as found)
    /// whose resources include it.
    files: BTreeMap<PathBuf, Vec<(PathBuf, Rc<Kustomization>)>>,
}

impl Governed {
    /// What the kustomizations at `paths` govern. A kustomization that
    /// cannot be read or parsed governs nothing (its own scan reports it);
    /// a resource that is no local file or directory (a remote URL) is
    /// passed over.
    pub fn new(paths: &[&Path]) -> Governed {
        let mut governed = Governed::default();
        for path in paths {
            let Some(kustomization) = read(path) else {
                continue;
            };
            let kustomization = Rc::new(kustomization);
            let Some(dir) = path.parent() else {
                continue;
            };
            let mut visited = BTreeSet::new();
            if let Ok(canonical) = std::fs::canonicalize(path) {
                visited.insert(canonical);
            }
            let mut files = BTreeSet::new();
            resources(dir, &kustomization, &mut visited, &mut files);
            for file in files {
                governed
                    .files
                    .entry(file)
                    .or_default()
                    .push((path.to_path_buf(), Rc::clone(&kustomization)));
            }
        }
        governed
    }

    /// The kustomizations whose resources include the file at `path`
    /// (none when it is not governed), looked up once per file.
    pub fn of(&self, path: &Path) -> Governors<'_> {
        let kustomizations = if self.files.is_empty() {
            None
        } else {
            std::fs::canonicalize(path)
                .ok()
                .and_then(|canonical| self.files.get(&canonical))
        };
        Governors(kustomizations.map_or(&[], Vec::as_slice))
    }
}

/// The kustomizations that govern one file.
pub struct Governors<'a>(&'a [(PathBuf, Rc<Kustomization>)]);

impl Governors<'_> {
    /// The kustomization (as found) and `images:` name that rewrite
    /// `image` in this file, when one does.
    pub fn governor(&self, image: &str) -> Option<(&Path, &str)> {
        self.0
            .iter()
            .find_map(|(by, k)| Some((by.as_path(), k.rewrites(image)?)))
    }
}

fn read(path: &Path) -> Option<Kustomization> {
    let text = std::fs::read_to_string(path).ok()?;
    Kustomization::parse(&text).ok()
}

/// Adds to `files` the canonical path of every file `kustomization` (in
/// `dir`) lists, following directories to their kustomizations; `visited`
/// holds the kustomizations already followed, so a cycle ends.
fn resources(
    dir: &Path,
    kustomization: &Kustomization,
    visited: &mut BTreeSet<PathBuf>,
    files: &mut BTreeSet<PathBuf>,
) {
    for resource in &kustomization.resources {
        let Ok(path) = std::fs::canonicalize(dir.join(resource)) else {
            continue;
        };
        if path.is_file() {
            files.insert(path);
            continue;
        }
        let Some(inner) = KUSTOMIZATION_FILES
            .iter()
            .map(|name| path.join(name))
            .find(|candidate| candidate.is_file())
        else {
            continue;
        };
        if !visited.insert(inner.clone()) {
            continue;
        }
        if let Some(nested) = read(&inner) {
            resources(&path, &nested, visited, files);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn resources_are_followed_through_directories_and_cycles_end() {
        let root = tempfile::tempdir().expect("temp dir");
        let root = root.path();
        write(
            root,
            "base/kustomization.yaml",
            "resources: [app.yaml, ../overlay]\n",
        );
        write(root, "base/app.yaml", "kind: Pod\n");
        write(
            root,
            "overlay/kustomization.yml",
            "resources: [../base, job.yaml, missing.yaml, https://example.invalid/x]\nimages: [{name: app}]\n",
        );
        write(root, "overlay/job.yaml", "kind: Job\n");
        write(root, "other.yaml", "kind: Pod\n");
        let overlay = root.join("overlay/kustomization.yml");
        let governed = Governed::new(&[&overlay]);
        for file in ["base/app.yaml", "overlay/job.yaml"] {
            assert_eq!(
                governed.of(&root.join(file)).governor("app:1.0"),
                Some((overlay.as_path(), "app")),
                "{file}"
            );
            assert_eq!(governed.of(&root.join(file)).governor("nginx"), None);
        }
        assert_eq!(governed.of(&root.join("other.yaml")).governor("app"), None);
    }
}
