//! Image references in a kustomization's `images:` list: each entry's
//! `name` (or `newName`) with its `newTag` and `digest` is the reference
//! kustomize writes into the manifests it builds.
//!
//! A pin writes the entry's `digest` and keeps `newTag`, so the file still
//! says which tag the digest came from: an existing `digest` field is
//! rewritten in place, and a missing one is added on the line after
//! `newTag` (or after it in a flow mapping).
//!
//! A kustomization also governs the manifests it builds: [`Kustomization`]
//! says which `resources` it lists and which image names its `images:`
//! rewrites, so the caller can leave those manifests' images alone.

use crate::yaml::{locate, record_split, scan_documents, split_tag, Located, NodeId, Scalar, Yaml};
use crate::{LeftAlone, Scan, ScanError, Target};

/// What a kustomization says about the manifests it builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kustomization {
    /// Its `resources` as written: files and directories relative to the
    /// kustomization's directory (a directory holds a kustomization of its
    /// own), or remote URLs.
    pub resources: Vec<String>,
    /// The `name` of each `images:` entry: the image names it rewrites in
    /// those resources.
    pub images: Vec<String>,
}

impl Kustomization {
    /// Reads a kustomization's `resources` and `images:` names; entries
    /// that are not strings are skipped (a [`scan`](crate::scan) of the
    /// file reports them).
    ///
    /// ```
    /// let text = "resources:\n- ../../base\nimages:\n- name: base-image\n  newName: ghcr.io/acme/api\n";
    /// let k = images_scan::Kustomization::parse(text).unwrap();
    /// assert_eq!(k.resources, ["../../base"]);
    /// assert_eq!(k.rewrites("base-image:dev"), Some("base-image"));
    /// assert_eq!(k.rewrites("ghcr.io/acme/api:1.0"), None);
    /// ```
    pub fn parse(text: &str) -> Result<Kustomization, ScanError> {
        let yaml = Yaml::parse(text)?;
        let mut kustomization = Kustomization::default();
        let strings = |id: Option<NodeId>| -> Vec<String> {
            id.map_or(&[][..], |id| yaml.items(id))
                .iter()
                .filter_map(|&item| yaml.scalar(item))
                .map(|s| s.value.clone())
                .collect()
        };
        for &root in &yaml.documents {
            kustomization
                .resources
                .extend(strings(yaml.get(root, "resources")));
            let entries = yaml
                .get(root, "images")
                .map_or(&[][..], |id| yaml.items(id));
            kustomization.images.extend(
                entries
                    .iter()
                    .filter_map(|&entry| yaml.get_str(entry, "name"))
                    .map(str::to_owned),
            );
        }
        yaml.within_budget()?;
        Ok(kustomization)
    }

    /// The `images:` name that rewrites `image` (a reference as a manifest
    /// writes it), matched as kustomize matches: the image's name without
    /// its tag and digest equals the entry's `name`.
    pub fn rewrites(&self, image: &str) -> Option<&str> {
        let name = image_name(image);
        self.images.iter().map(String::as_str).find(|n| *n == name)
    }
}

/// An image's name without its tag and digest: `nginx` of
/// `nginx:1.27@sha256:…`, `localhost:5000/app` of `localhost:5000/app:v1`.
fn image_name(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    match name.rfind(':') {
        Some(colon) if !name[colon..].contains('/') => &name[..colon],
        _ => name,
    }
}

/// Finds the images a kustomization sets.
pub fn scan(text: &str) -> Result<Scan, ScanError> {
    scan_documents(text, |yaml, root, scan| {
        let Some(images) = yaml.get(root, "images") else {
            return Ok(());
        };
        for &entry in yaml.items(images) {
            image(text, yaml, entry, scan)?;
        }
        Ok(())
    })
}

/// The string field `key` of `entry` with its key's scalar, when present
/// and not null; an error when it is not a string.
fn field<'y>(
    yaml: &'y Yaml,
    entry: NodeId,
    key: &str,
) -> Result<Option<(&'y Scalar, &'y Scalar)>, ScanError> {
    yaml.string_field(entry, key)
        .map_err(|line| ScanError::at(line, format!("images[].{key} is not a string")))
}

fn image(text: &str, yaml: &Yaml, entry: NodeId, scan: &mut Scan) -> Result<(), ScanError> {
    let Some((_, name)) = field(yaml, entry, "name")? else {
        return Ok(());
    };
    let site = format!("images[{}]", name.value);
    let repository = field(yaml, entry, "newName")?.map_or(name, |(_, s)| s);
    let tag = field(yaml, entry, "newTag")?;
    let digest = field(yaml, entry, "digest")?;
    let (tag_text, tag_digest) = match tag {
        Some((_, t)) => split_tag(&t.value),
        None => (None, None),
    };
    if let (Some(in_tag), Some((_, d))) = (&tag_digest, digest) {
        if *in_tag != d.value && !d.value.is_empty() {
            return Err(ScanError::at(
                d.line(),
                format!(
                    "{site} has newTag with {in_tag} and digest {}; kustomize uses the digest: remove `@{in_tag}` from newTag",
                    d.value
                ),
            ));
        }
    }
    // An empty digest field beside a newTag that carries a digest: the
    // tag's is the one kustomize uses, and the one a pin rewrites.
    let digest = digest.filter(|(_, d)| !d.value.is_empty() || tag_digest.is_none());
    let mut reference = repository.value.clone();
    if let Some(tag) = &tag_text {
        reference = format!("{reference}:{tag}");
    }
    let written = digest
        .map(|(_, d)| d.value.clone())
        .filter(|d| !d.is_empty())
        .or_else(|| tag_digest.clone());
    if let Some(digest) = &written {
        reference = format!("{reference}@{digest}");
    }
    let tag_place = |t| {
        let tag = tag_text.clone().unwrap_or_default();
        (t, Target::Tag { tag, quote: false })
    };
    let places = match (digest, tag) {
        (Some((_, d)), tag) => {
            let mut places = vec![(d, Target::Digest { quote: false })];
            // The same digest in both fields: a pin rewrites both, or the
            // next scan would find them in conflict.
            if let Some((_, t)) = tag.filter(|_| tag_digest.is_some()) {
                places.push(tag_place(t));
            }
            places
        }
        (None, Some((_, t))) if tag_digest.is_some() => vec![tag_place(t)],
        (None, Some((key, t))) => {
            match (insertion(text, yaml.is_flow_mapping(entry), key, t), locate(text, t)) {
                (Some((at, before, after)), Located::At(_, line)) => {
                    scan.push_target(&reference, at..at, line, site, Target::Insert { before, after });
                }
                _ => scan.left_alone.push(LeftAlone {
                    text: reference,
                    line: t.line(),
                    reason: format!("{site} is written in a way a digest cannot be added to; add `digest:` to it"),
                }),
            }
            return Ok(());
        }
        (None, None) => {
            scan.left_alone.push(LeftAlone {
                text: reference,
                line: name.line(),
                reason: format!(
                    "{site} has no newTag: the tag comes from the manifests; set newTag"
                ),
            });
            return Ok(());
        }
    };
    record_split(text, &places, &reference, &site, scan);
    Ok(())
}

/// Where a missing `digest` goes after `newTag` (whose key and value are
/// given), and the text around the digest: `, digest: …` right after the
/// value in a flow mapping (`flow`), or on the next line at the key's
/// indentation in a block mapping (after any comment, with the file's line
/// ending) when the value ends its line.
fn insertion(
    text: &str,
    flow: bool,
    key: &Scalar,
    value: &Scalar,
) -> Option<(usize, String, String)> {
    let Located::At(key_span, _) = locate(text, key) else {
        return None;
    };
    let Located::At(value_span, _) = locate(text, value) else {
        return None;
    };
    let value_end = value_span.end + usize::from(!value.is_plain());
    if flow {
        return Some((value_end, ", digest: ".to_owned(), String::new()));
    }
    let line_start = text[..key_span.start].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..key_span.start];
    if !prefix.chars().all(|c| c == ' ' || c == '-') {
        return None;
    }
    let indent = prefix.replace('-', " ");
    let (at, eol) = match text[value_end..].find('\n') {
        Some(i) if text[..value_end + i].ends_with('\r') => (value_end + i - 1, "\r\n"),
        Some(i) => (value_end + i, "\n"),
        None => (text.len(), "\n"),
    };
    // Only blanks and a comment may follow the value on its line: the new
    // line then holds the digest and nothing of the old one.
    let rest = text[value_end..at].trim_start_matches([' ', '\t']);
    if !rest.is_empty() && !rest.starts_with('#') {
        return None;
    }
    Some((at, format!("{eol}{indent}digest: "), String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_reassembled_and_a_missing_digest_goes_after_new_tag() {
        let text =
            "images:\r\n- name: web\r\n  newName: ghcr.io/acme/web\r\n  newTag: \"1.0\" # keep\r\n\
                    - {name: nginx, newTag: '1.27'}\r\n\
                    - name: tools\r\n  newTag: \"1\"\r\n  digest: sha256:00\r\n";
        let scan = scan(text).expect("scans");
        let found: Vec<_> = scan
            .found
            .iter()
            .map(|f| (f.image.as_str(), f.line, f.span.clone(), f.target.clone()))
            .collect();
        let keep = text.find(" # keep").expect("comment") + " # keep".len();
        let flow = text.find("'1.27'").expect("flow") + "'1.27'".len();
        let digest = text.find("sha256:00").expect("digest");
        let insert = |before: &str| Target::Insert {
            before: before.to_owned(),
            after: String::new(),
        };
        assert_eq!(
            found,
            [
                (
                    "ghcr.io/acme/web:1.0",
                    4,
                    keep..keep,
                    insert("\r\n  digest: ")
                ),
                ("nginx:1.27", 5, flow..flow, insert(", digest: ")),
                (
                    "tools:1@sha256:00",
                    8,
                    digest..digest + 9,
                    Target::Digest { quote: false }
                ),
            ]
        );
    }

    #[test]
    fn a_digest_conflicting_with_the_one_in_new_tag_is_an_error() {
        let text = "images:\n- name: web\n  newTag: 1.0@sha256:aa\n  digest: sha256:bb\n";
        let err = scan(text).expect_err("refused");
        assert_eq!(err.line, Some(4));
        assert!(err.message.contains("images[web]"), "{}", err.message);
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_flow_mapping_over_several_lines_gets_its_digest_inside_the_braces() {
        let text = "images:\n- {name: nginx,\n   newTag: '1.27'\n  }\n";
        let (pinned, again) = crate::pin_all(crate::FileKind::Kustomization, text, DIGEST);
        assert_eq!(
            pinned,
            format!("images:\n- {{name: nginx,\n   newTag: '1.27', digest: {DIGEST}\n  }}\n")
        );
        assert_eq!(again.found[0].image, format!("nginx:1.27@{DIGEST}"));
    }

    #[test]
    fn a_digest_in_new_tag_beside_an_empty_digest_field_is_rewritten_in_new_tag() {
        let text = "images:\n- name: web\n  newTag: 1.0@sha256:aa\n  digest: \"\"\n";
        let scan = scan(text).expect("scans");
        assert_eq!(scan.found.len(), 1);
        assert_eq!(scan.found[0].image, "web:1.0@sha256:aa");
        assert_eq!(&text[scan.found[0].span.clone()], "1.0@sha256:aa");
        let (pinned, again) = crate::pin_all(crate::FileKind::Kustomization, text, DIGEST);
        assert_eq!(pinned, text.replace("sha256:aa", DIGEST));
        assert_eq!(again.found[0].image, format!("web:1.0@{DIGEST}"));
    }

    #[test]
    fn the_same_digest_in_new_tag_and_digest_is_rewritten_in_both() {
        let text = "images:\n- name: web\n  newTag: 1.0@sha256:aa\n  digest: sha256:aa\n";
        let scan = crate::scan(crate::FileKind::Kustomization, text).expect("scans");
        let lines: Vec<_> = scan
            .found
            .iter()
            .map(|f| (f.image.as_str(), f.line))
            .collect();
        assert_eq!(lines, [("web:1.0@sha256:aa", 3), ("web:1.0@sha256:aa", 4)]);
        let (pinned, _) = crate::pin_all(crate::FileKind::Kustomization, text, DIGEST);
        assert_eq!(pinned, text.replace("sha256:aa", DIGEST));
    }

    #[test]
    fn a_digest_is_not_added_after_a_value_followed_by_more_than_a_comment() {
        // A lone `\r` ends a line in YAML too: the line the `\n` ends holds
        // a byte order mark, and a line after it would put the mark inside
        // the document, which YAML refuses.
        let text = "images:\r\n- name: web\r\n  newTag: v3\r\u{feff}\n";
        let scan = scan(text).expect("scans");
        assert!(scan.found.is_empty());
        assert_eq!(scan.left_alone.len(), 1);
    }

    #[test]
    fn a_kustomization_lists_its_resources_and_the_names_it_rewrites() {
        let text = "resources:\n- ../../base\n- job.yaml\n- [not, a, string]\n\
                    images:\n- name: base-image\n  newName: ghcr.io/acme/api\n\
                    - {name: localhost:5000/tools, newTag: '1'}\n- newTag: nameless\n";
        let k = Kustomization::parse(text).expect("parses");
        assert_eq!(k.resources, ["../../base", "job.yaml"]);
        assert_eq!(k.images, ["base-image", "localhost:5000/tools"]);
        assert_eq!(k.rewrites("base-image"), Some("base-image"));
        assert_eq!(k.rewrites("base-image:dev@sha256:aa"), Some("base-image"));
        assert_eq!(
            k.rewrites("localhost:5000/tools:2"),
            Some("localhost:5000/tools")
        );
        assert_eq!(k.rewrites("localhost:5000/tools/sub"), None);
        assert_eq!(k.rewrites("docker.io/library/base-image"), None);
    }
}
