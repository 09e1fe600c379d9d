//! Finding image references in the files that deploy images, and splicing
//! digests into them.
//!
//! The scanners are pure functions: text in, the references found (with the
//! exact byte span of each, so a rewrite touches nothing else) out. They
//! never re-serialize a file: comments, quoting, indentation and line
//! endings survive because only the bytes of the image text are replaced.

pub mod compose;
pub mod discover;
pub mod dockerfile;
pub mod files;
pub mod helm;
pub mod kubernetes;
pub mod kustomize;
pub mod workflow;
pub mod yaml;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

/// One image reference found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The reference as written: `nginx:1.27`, `ghcr.io/acme/api:v1@sha256:…`.
    pub image: String,
    /// The byte span of exactly that text in the file.
    pub span: Range<usize>,
    /// 1-based line of the span's start.
    pub line: usize,
    /// Where in the file's structure: `FROM`, `COPY --from`, `services.web.image`.
    pub site: String,
    /// What the span holds, and so what a pin writes there.
    pub target: Target,
}

/// What the bytes of a [`Found`] span hold. A Helm values file splits a
/// reference over several fields (`image.repository`, `image.tag`,
/// `image.digest`): `image` is then the reassembled reference and the span
/// is the one field a pin rewrites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The whole reference: a pin writes `reference@digest`.
    Whole,
    /// A tag field: a pin writes `tag@digest`, quoted when the field was
    /// a plain scalar.
    Tag {
        /// The tag as written, without any digest.
        tag: String,
        /// Whether the field is unquoted, so the new text brings quotes.
        quote: bool,
    },
    /// An empty span where a missing digest field goes (a kustomization
    /// entry's): a pin writes `before`, the digest, `after`.
    Insert {
        /// The text before the digest: the line break, indentation and key.
        before: String,
        /// The text after it.
        after: String,
    },
    /// A digest field (empty or stale): a pin writes the digest alone.
    Digest {
        /// Whether the field is unquoted, so the new text brings quotes.
        quote: bool,
    },
}

/// Something in an image position that `images` reports and leaves alone:
/// a build `ARG`, a compose `${VAR}`, a workflow `${{ … }}` expression, or a
/// scalar written in a way a byte-exact splice cannot safely rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftAlone {
    /// The text as written.
    pub text: String,
    /// 1-based line.
    pub line: usize,
    /// Why it was left alone.
    pub reason: String,
}

/// What a scanner found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// References that can be checked and rewritten.
    pub found: Vec<Found>,
    /// References reported and left alone.
    pub left_alone: Vec<LeftAlone>,
    /// Where each found reference starts, to record each place once.
    spans: BTreeSet<usize>,
}

impl Scan {
    /// Records a reference, or leaves it alone when it holds a variable
    /// (`$` is never part of a valid reference, and its value is unknown
    /// until build or deploy time).
    fn push(&mut self, image: &str, span: Range<usize>, line: usize, site: String) {
        self.push_target(image, span, line, site, Target::Whole);
    }

    /// Records a reference whose span holds `target`.
    fn push_target(
        &mut self,
        image: &str,
        span: Range<usize>,
        line: usize,
        site: String,
        target: Target,
    ) {
        if image.contains('$') {
            self.left_alone.push(LeftAlone {
                text: image.to_owned(),
                line,
                reason: format!(
                    "{site} uses a variable; its value is only known at build or deploy time"
                ),
            });
        } else if self.spans.insert(span.start) {
            // An aliased YAML value reaches the same anchor more than once:
            // it is one reference in the file, rewritten once.
            self.found.push(Found {
                image: image.to_owned(),
                span,
                line,
                site,
                target,
            });
        }
    }
}

/// A file a scanner could not make sense of; the file is left untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ScanError {
    fn at(line: usize, message: impl Into<String>) -> ScanError {
        ScanError {
            line: Some(line),
            message: message.into(),
        }
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

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

/// Finds the image references in `text`, read as a file of `kind`.
/// Both lists come in file order.
pub fn scan(kind: FileKind, text: &str) -> Result<Scan, ScanError> {
    let mut scan = match kind {
        FileKind::Dockerfile => dockerfile::scan(text),
        FileKind::Compose => compose::scan(text),
        FileKind::Kubernetes => kubernetes::scan(text),
        FileKind::Workflow => workflow::scan(text),
        FileKind::HelmValues => helm::scan(text),
        FileKind::Kustomization => kustomize::scan(text),
    }?;
    scan.found.sort_by_key(|f| f.span.start);
    scan.left_alone.sort_by_key(|l| l.line);
    Ok(scan)
}

/// `text` with each span replaced by its new text. Spans must not overlap;
/// they may come in any order.
pub fn splice(text: &str, edits: &[(Range<usize>, String)]) -> String {
    let mut edits: Vec<&(Range<usize>, String)> = edits.iter().collect();
    edits.sort_by_key(|(span, _)| span.start);
    let mut out = String::with_capacity(text.len() + edits.len() * 72);
    let mut at = 0;
    for (span, replacement) in edits {
        out.push_str(&text[at..span.start]);
        out.push_str(replacement);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_spans_in_any_order() {
        let text = "a x b yy c";
        let out = splice(text, &[(6..8, "Y".to_string()), (2..3, "XXX".to_string())]);
        assert_eq!(out, "a XXX b Y c");
    }

    #[test]
    fn variables_are_left_alone() {
        let mut scan = Scan::default();
        scan.push("${BASE}", 0..7, 1, "FROM".into());
        assert!(scan.found.is_empty());
        assert_eq!(scan.left_alone.len(), 1);
    }

    #[test]
    fn the_same_span_is_found_once() {
        let mut scan = Scan::default();
        scan.push("nginx", 3..8, 1, "a".into());
        scan.push("nginx", 3..8, 1, "b".into());
        assert_eq!(scan.found.len(), 1);
    }
}
