//! The working directory, and paths as the user is shown them.

use std::path::{Path, PathBuf};

use crate::exit::Failure;

/// The current directory, or the bad-input failure that says it is gone.
pub fn current_dir() -> Result<PathBuf, Failure> {
    std::env::current_dir()
        .map_err(|e| Failure::bad_input(format!("cannot read the current directory: {e}")))
}

/// `path` as shown: relative to `base` when under it, else as given.
pub fn relative_to(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `path` as shown: relative to the working directory when under it, so a
/// header says `images.lock` rather than an absolute path.
pub fn relative(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) => relative_to(path, &cwd),
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_under_the_base_is_shown_relative_and_others_as_given() {
        let base = Path::new("/work/repo");
        assert_eq!(
            relative_to(Path::new("/work/repo/deploy/app.yaml"), base),
            "deploy/app.yaml"
        );
        assert_eq!(
            relative_to(Path::new("/elsewhere/app.yaml"), base),
            "/elsewhere/app.yaml"
        );
        assert_eq!(
            relative_to(Path::new("deploy/app.yaml"), base),
            "deploy/app.yaml"
        );
    }
}
