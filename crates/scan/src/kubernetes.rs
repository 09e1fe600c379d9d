//! Image references in Kubernetes manifests: the `image` of every entry of
//! `containers`, `initContainers` and `ephemeralContainers` in the pod
//! spec of Pods and of the workload kinds that template one, and any
//! string `image` field of a custom resource (Prometheus `spec.image`,
//! Tekton steps, Argo workflows), whose schema only its operator knows.
//!
//! A file may hold many documents (Helm and kustomize output do); each is
//! read on its own, and a `List` is read item by item.

use crate::yaml::{record, scan_documents, NodeId, Yaml};
use crate::{Scan, ScanError};

/// Where the pod spec is, by kind.
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicaSet"
        | "ReplicationController" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    })
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Finds the images the workloads in a manifest stream run.
pub fn scan(text: &str) -> Result<Scan, ScanError> {
    scan_documents(text, |yaml, root, scan| {
        object(text, yaml, root, 0, scan);
        Ok(())
    })
}

fn object(text: &str, yaml: &Yaml, id: NodeId, depth: usize, scan: &mut Scan) {
    // Items of a `List` may be aliases of one another: each visit counts.
    if !yaml.spend() {
        return;
    }
    let Some(kind) = yaml.get_str(id, "kind") else {
        return;
    };
    if kind == "List" || kind.ends_with("List") {
        if depth < 8 {
            if let Some(items) = yaml.get(id, "items") {
                for &item in yaml.items(items) {
                    object(text, yaml, item, depth + 1, scan);
                }
            }
        }
        return;
    }
    let name = yaml
        .get(id, "metadata")
        .and_then(|m| yaml.get_str(m, "name"))
        .unwrap_or("?");
    let Some(path) = pod_spec_path(kind) else {
        // A custom resource (its API group has a dot: `tekton.dev/v1`)
        // has a schema `images` cannot know: any string `image` in it is
        // read, as Renovate reads it. Built-in kinds without a pod spec
        // hold no images.
        let custom = yaml
            .get_str(id, "apiVersion")
            .and_then(|v| v.split_once('/'))
            .is_some_and(|(group, _)| group.contains('.'));
        if custom {
            for (key, value) in yaml.entries(id) {
                if !matches!(key, "apiVersion" | "kind" | "metadata" | "status") {
                    any_image(text, yaml, value, &format!("{kind}/{name} {key}"), 0, scan);
                }
            }
        }
        return;
    };
    let Some(pod_spec) = path.iter().try_fold(id, |node, key| yaml.get(node, key)) else {
        return;
    };
    for list in CONTAINER_LISTS {
        let Some(containers) = yaml.get(pod_spec, list) else {
            continue;
        };
        for (index, &container) in yaml.items(containers).iter().enumerate() {
            if let Some(image) = yaml.get(container, "image") {
                let container_name = yaml
                    .get_str(container, "name")
                    .map_or_else(|| index.to_string(), str::to_owned);
                let site = format!("{kind}/{name} {list}[{container_name}].image");
                record(text, yaml, image, "", site, scan);
            }
        }
    }
}

/// Records every string `image` under `id`, whose place is `site`.
fn any_image(text: &str, yaml: &Yaml, id: NodeId, site: &str, depth: usize, scan: &mut Scan) {
    if depth > 32 || !yaml.spend() {
        return;
    }
    for (key, value) in yaml.entries(id) {
        let site = format!("{site}.{key}");
        if key == "image" && yaml.scalar(value).is_some() {
            record(text, yaml, value, "", site, scan);
        } else {
            any_image(text, yaml, value, &site, depth + 1, scan);
        }
    }
    for (index, &item) in yaml.items(id).iter().enumerate() {
        let item_name = yaml
            .get_str(item, "name")
            .map_or_else(|| index.to_string(), str::to_owned);
        any_image(
            text,
            yaml,
            item,
            &format!("{site}[{item_name}]"),
            depth + 1,
            scan,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_containers_in_every_document_are_found() {
        let text = "# Source: chart/templates/deploy.yaml\r\n---\r\napiVersion: apps/v1\r\nkind: Deployment\r\n\
                    metadata:\r\n  name: web\r\nspec:\r\n  template:\r\n    spec:\r\n      initContainers:\r\n\
                    \x20       - name: init\r\n          image: 'busybox:1.36'\r\n      containers:\r\n\
                    \x20       - name: web\r\n          image: nginx:1.27  # the server\r\n---\r\n\
                    apiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: web\r\nspec:\r\n  image: not-a-container\r\n---\r\n\
                    apiVersion: batch/v1\r\nkind: CronJob\r\nmetadata:\r\n  name: nightly\r\nspec:\r\n  jobTemplate:\r\n\
                    \x20   spec:\r\n      template:\r\n        spec:\r\n          containers:\r\n\
                    \x20         - {name: job, image: \"alpine:3.20\"}\r\n";
        let scan = crate::scan(crate::FileKind::Kubernetes, text).expect("scans");
        let found: Vec<_> = scan
            .found
            .iter()
            .map(|f| (f.image.as_str(), f.line))
            .collect();
        assert_eq!(
            found,
            [
                ("busybox:1.36", 12),
                ("nginx:1.27", 15),
                ("alpine:3.20", 34)
            ]
        );
        for f in &scan.found {
            assert_eq!(&text[f.span.clone()], f.image);
        }
    }

    #[test]
    fn a_list_is_read_item_by_item() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    ephemeralContainers:\n    - name: debug\n      image: busybox\n";
        let scan = scan(text).expect("scans");
        assert_eq!(scan.found.len(), 1);
        assert_eq!(scan.found[0].image, "busybox");
        assert_eq!(scan.found[0].line, 10);
    }
}
