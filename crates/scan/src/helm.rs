//! Image references in a Helm values file: every `image` key, either a
//! reference string or the split shape charts use,
//! `image: {registry, repository, tag, digest}` (`registry` defaulting to
//! docker.io, `digest` optional).
//!
//! A split reference is reassembled to be judged like any other; a pin
//! writes the one field that carries the digest: `digest` where the chart
//! has that field, else the tag as `tag: "1.2.3@sha256:…"` (what charts'
//! READMEs advise when they have no digest field).

use crate::yaml::{record, record_split, scan_documents, split_tag, NodeId, Scalar, Yaml};
use crate::{LeftAlone, Scan, ScanError, Target};

/// How deep values are searched for `image` keys.
const MAX_DEPTH: usize = 32;

/// Finds the images a values file sets.
pub fn scan(text: &str) -> Result<Scan, ScanError> {
    scan_documents(text, |yaml, root, scan| walk(text, yaml, root, "", 0, scan))
}

fn walk(
    text: &str,
    yaml: &Yaml,
    id: NodeId,
    path: &str,
    depth: usize,
    scan: &mut Scan,
) -> Result<(), ScanError> {
    if depth > MAX_DEPTH || !yaml.spend() {
        return Ok(());
    }
    for &(key, value) in yaml.pairs(id) {
        let Some(key) = yaml.scalar(key) else {
            continue;
        };
        let site = if path.is_empty() {
            key.value.clone()
        } else {
            format!("{path}.{}", key.value)
        };
        if key.value == "image" {
            if yaml.scalar(value).is_some() {
                record(text, yaml, value, "", site, scan);
            } else if yaml.get(value, "repository").is_some() {
                split(text, yaml, value, &site, scan)?;
            }
            continue;
        }
        walk(text, yaml, value, &site, depth + 1, scan)?;
    }
    for &item in yaml.items(id) {
        walk(text, yaml, item, path, depth + 1, scan)?;
    }
    Ok(())
}

/// The string field `key` of the image mapping at `image`: `None` when it
/// is absent or null, an error when it is not a string.
fn field<'y>(
    yaml: &'y Yaml,
    image: NodeId,
    key: &str,
    site: &str,
) -> Result<Option<&'y Scalar>, ScanError> {
    match yaml.string_field(image, key) {
        Ok(field) => Ok(field.map(|(_, value)| value)),
        Err(line) => Err(ScanError::at(
            line,
            format!("{site}.{key} is not a string; write it as a quoted string like \"1.2.3\""),
        )),
    }
}

/// Records the reference of a split `image` mapping.
fn split(
    text: &str,
    yaml: &Yaml,
    image: NodeId,
    site: &str,
    scan: &mut Scan,
) -> Result<(), ScanError> {
    let registry = field(yaml, image, "registry", site)?;
    let repository = field(yaml, image, "repository", site)?;
    let tag = field(yaml, image, "tag", site)?;
    let digest = field(yaml, image, "digest", site)?;
    let Some(repository) = repository.filter(|r| !r.value.is_empty()) else {
        return Ok(());
    };
    let mut name = match registry.filter(|r| !r.value.is_empty()) {
        Some(registry) => format!("{}/{}", registry.value, repository.value),
        None => repository.value.clone(),
    };
    let tag = tag.filter(|t| !t.value.is_empty());
    let (tag_text, tag_digest) = match tag {
        Some(t) => split_tag(&t.value),
        None => (None, None),
    };
    if let Some(tag) = &tag_text {
        name = format!("{name}:{tag}");
    }
    // An empty digest field beside a tag that carries a digest: the tag's
    // is the one in use, and the one a pin rewrites.
    let digest = digest.filter(|d| !d.value.is_empty() || tag_digest.is_none());
    let tag_place = |t: &'_ Scalar| Target::Tag {
        tag: tag_text.clone().unwrap_or_default(),
        quote: t.is_plain(),
    };
    let (places, written_digest) = match (digest, tag) {
        (Some(d), tag) => {
            if let Some(in_tag) = tag_digest
                .as_ref()
                .filter(|t| !d.value.is_empty() && **t != d.value)
            {
                return Err(ScanError::at(
                    d.line(),
                    format!(
                        "{site}.tag carries {in_tag} but {site}.digest says {}; keep one of them",
                        d.value
                    ),
                ));
            }
            let written = Some(d.value.clone()).filter(|v| !v.is_empty());
            let mut places = vec![(
                d,
                Target::Digest {
                    quote: d.is_plain(),
                },
            )];
            // The same digest in both fields: a pin rewrites both, or the
            // next scan would find them in conflict.
            if let Some(t) = tag.filter(|_| tag_digest.is_some()) {
                places.push((t, tag_place(t)));
            }
            (places, written)
        }
        (None, Some(t)) => (vec![(t, tag_place(t))], tag_digest),
        (None, None) => {
            scan.left_alone.push(LeftAlone {
                text: name,
                line: repository.line(),
                reason: format!(
                    "{site} has no tag; the chart supplies one (often its appVersion), so set {site}.tag"
                ),
            });
            return Ok(());
        }
    };
    if tag_text.is_none() && written_digest.is_none() {
        scan.left_alone.push(LeftAlone {
            text: name,
            line: places[0].0.line(),
            reason: format!("{site} has no tag; the chart supplies one, so set {site}.tag"),
        });
        return Ok(());
    }
    let reference = match written_digest {
        Some(digest) => format!("{name}@{digest}"),
        None => name,
    };
    record_split(text, &places, &reference, site, scan);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_images_are_reassembled_and_point_at_the_field_to_write() {
        let text =
            "image:\n  registry: ghcr.io\n  repository: acme/api\n  tag: \"1.2\"\n  digest: \"\"\n\
                    sidecar:\n  image: {repository: busybox, tag: 1.36}\n\
                    jobs:\n  - image: alpine:3.20\n";
        let scan = scan(text).expect("scans");
        let found: Vec<_> = scan
            .found
            .iter()
            .map(|f| {
                (
                    f.image.as_str(),
                    f.line,
                    &text[f.span.clone()],
                    f.target.clone(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "ghcr.io/acme/api:1.2",
                    5,
                    "",
                    Target::Digest { quote: false }
                ),
                (
                    "busybox:1.36",
                    7,
                    "1.36",
                    Target::Tag {
                        tag: "1.36".into(),
                        quote: true
                    }
                ),
                ("alpine:3.20", 9, "alpine:3.20", Target::Whole),
            ]
        );
    }

    #[test]
    fn a_tag_that_is_not_a_string_is_an_error_with_its_line() {
        let err = scan("a:\n  image:\n    repository: nginx\n    tag: [1]\n").expect_err("refused");
        assert_eq!(err.line, Some(4));
        assert!(
            err.message.contains("a.image.tag is not a string"),
            "{}",
            err.message
        );
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_digest_in_the_tag_beside_an_empty_digest_field_is_rewritten_in_the_tag() {
        let text = "image:\n  repository: nginx\n  tag: 1.27@sha256:aa\n  digest: \"\"\n";
        let scan = scan(text).expect("scans");
        assert_eq!(scan.found.len(), 1);
        assert_eq!(scan.found[0].image, "nginx:1.27@sha256:aa");
        let (pinned, again) = crate::pin_all(crate::FileKind::HelmValues, text, DIGEST);
        assert_eq!(
            pinned,
            text.replace("1.27@sha256:aa", &format!("\"1.27@{DIGEST}\""))
        );
        assert_eq!(again.found[0].image, format!("nginx:1.27@{DIGEST}"));
    }

    #[test]
    fn the_same_digest_in_tag_and_digest_is_rewritten_in_both() {
        let text =
            "image:\n  repository: nginx\n  tag: \"1.27@sha256:aa\"\n  digest: \"sha256:aa\"\n";
        let scan = crate::scan(crate::FileKind::HelmValues, text).expect("scans");
        let lines: Vec<_> = scan.found.iter().map(|f| f.line).collect();
        assert_eq!(lines, [3, 4]);
        let (pinned, again) = crate::pin_all(crate::FileKind::HelmValues, text, DIGEST);
        assert_eq!(pinned, text.replace("sha256:aa", DIGEST));
        assert_eq!(again.found.len(), 2);
    }
}
