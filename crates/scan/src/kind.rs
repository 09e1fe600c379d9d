//! The kinds of file a scan reads, and telling a YAML file's kind from its
//! text when its name does not say.

/// The kinds of file `images pin` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    /// A Dockerfile or Containerfile.
    Dockerfile,
    /// A Docker Compose file.
    Compose,
    /// Kubernetes manifests, possibly many documents.
    Kubernetes,
    /// A GitHub Actions workflow.
    Workflow,
    /// A Helm values file.
    HelmValues,
    /// A kustomization (`kustomization.yaml`).
    Kustomization,
}

impl FileKind {
    /// The kind of a file whose name did not tell, from its text. Any file
    /// with Kubernetes' top-level keys is a manifest. A YAML file the user
    /// named (`named_yaml`) is also read as a compose file or a workflow by
    /// its top-level `services:` or `jobs:`, and otherwise as Helm values
    /// (`helm install -f my-values.yaml`); a file found by a search is not.
    pub fn from_text(text: &str, named_yaml: bool) -> Option<FileKind> {
        if looks_like_kubernetes(text) {
            return Some(FileKind::Kubernetes);
        }
        if !named_yaml {
            return None;
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let top_level = |key: &str| text.lines().any(|l| l.starts_with(key));
        if top_level("services:") {
            Some(FileKind::Compose)
        } else if top_level("jobs:") {
            Some(FileKind::Workflow)
        } else {
            Some(FileKind::HelmValues)
        }
    }
}

/// Whether YAML text has the top-level `apiVersion` and `kind` keys of a
/// Kubernetes object in some document.
fn looks_like_kubernetes(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut api_version = false;
    let mut kind = false;
    for line in text.lines() {
        api_version |= line.starts_with("apiVersion:");
        kind |= line.starts_with("kind:");
    }
    api_version && kind
}

/// Whether YAML text looks like a template (Helm's `{{ … }}`), to tell a
/// file that does not parse because it is one from a broken file.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") && !text.contains("${{")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_manifests_are_told_by_their_top_level_keys() {
        assert!(looks_like_kubernetes("---\napiVersion: v1\nkind: Pod\n"));
        assert!(looks_like_kubernetes(
            "\u{feff}apiVersion: v1\r\nkind: Pod\r\n"
        ));
        assert!(!looks_like_kubernetes("name: ci\non: push\n"));
    }

    #[test]
    fn a_named_yaml_file_is_compose_a_workflow_or_helm_values() {
        let kind = |text: &str| FileKind::from_text(text, true);
        assert_eq!(kind("services:\n  web: {}\n"), Some(FileKind::Compose));
        assert_eq!(kind("on: push\njobs: {}\n"), Some(FileKind::Workflow));
        assert_eq!(kind("image: {repository: x}\n"), Some(FileKind::HelmValues));
        assert_eq!(
            kind("apiVersion: v1\nkind: Pod\n"),
            Some(FileKind::Kubernetes)
        );
        assert_eq!(FileKind::from_text("services:\n", false), None);
    }

    #[test]
    fn helm_templates_are_told_from_workflow_expressions() {
        assert!(is_template("name: {{ .Release.Name }}\n"));
        assert!(!is_template("image: ${{ matrix.image }}\n"));
    }
}
