//! `images pin --discover`: images.toml lines for references that
//! images.toml does not declare yet.

use std::collections::BTreeSet;

use images_lockfile::Reference;

/// A name for an images.toml entry from a reference: the last component of
/// its repository path (`ghcr.io/acme/api` gives `api`), made unique
/// against `taken` by a numeric suffix (`api-2`).
pub fn entry_name(reference: &Reference, taken: &BTreeSet<String>) -> String {
    let last = reference.path().rsplit('/').next().unwrap_or_default();
    // A bare TOML key allows `A-Za-z0-9_-`; repository components may also
    // hold `.`, which would need quoting.
    let mut base: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if base.is_empty() {
        base = "image".to_owned();
    }
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(base)
}

/// One images.toml line: `name = "reference"`, the reference as written.
pub fn toml_line(name: &str, image: &str) -> String {
    // References cannot hold `"` or `\`, so no escaping is needed.
    format!("{name} = \"{image}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(s: &str) -> Reference {
        Reference::parse(s).expect("valid reference")
    }

    #[test]
    fn names_come_from_the_last_path_component_and_are_unique() {
        let mut taken = BTreeSet::new();
        let name = entry_name(&reference("ghcr.io/acme/api:v1"), &taken);
        assert_eq!(name, "api");
        taken.insert(name);
        assert_eq!(
            entry_name(&reference("docker.io/other/api:v2"), &taken),
            "api-2"
        );
        assert_eq!(entry_name(&reference("nginx"), &taken), "nginx");
        assert_eq!(
            entry_name(&reference("quay.io/a/my.tool:1"), &taken),
            "my-tool"
        );
    }

    #[test]
    fn lines_are_ready_to_paste() {
        assert_eq!(toml_line("web", "nginx:1.27"), "web = \"nginx:1.27\"");
    }
}
