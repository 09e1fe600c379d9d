//! Finding image references in the files that deploy images, and the text
//! a pin writes over them: Dockerfiles, Docker Compose files, Kubernetes
//! manifests (any kind), GitHub Actions workflows, Helm values files and
//! kustomizations.
//!
//! Pure text in, spans out: no file system, no network, no async. A scan
//! returns each reference found with the exact byte span of its text, so a
//! rewrite touches nothing else; nothing is ever re-serialized, so
//! comments, quoting, indentation and line endings survive. Which files to
//! read, and which digest a reference should carry, are the caller's
//! (`images pin` walks a tree and consults images.lock).
//!
//! One module per format (`dockerfile`, `compose`, `kubernetes`,
//! `workflow`, `helm`, `kustomize`), over `yaml`, a read-only YAML tree that
//! keeps every scalar's place; `kind` tells a file's kind from its text.
//!
//! ```
//! use images_scan::{scan, splice, FileKind, Pin};
//!
//! let text = "FROM nginx:1.27 AS web\n";
//! let found = &scan(FileKind::Dockerfile, text).unwrap().found[0];
//! assert_eq!(found.image, "nginx:1.27");
//! let digest = format!("sha256:{}", "a".repeat(64));
//! let pin = Pin { reference: "nginx:1.27", tag: None, digest: &digest };
//! let edit = found.pin(&pin).unwrap();
//! assert_eq!(splice(text, &[edit]), format!("FROM nginx:1.27@{digest} AS web\n"));
//! ```

mod compose;
mod dockerfile;
mod helm;
mod kind;
mod kubernetes;
mod kustomize;
mod workflow;
mod yaml;

pub use kind::{is_template, FileKind};
pub use kustomize::Kustomization;

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
/// is the field a pin rewrites (when the digest is kept in both the tag and
/// the digest field, each is a [`Found`] of its own).
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

/// What a pin writes at a [`Found`] reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin<'a> {
    /// The reference without its digest, as the file should say it
    /// (`nginx:1.27`): what a [`Target::Whole`] span gets before the digest.
    pub reference: &'a str,
    /// The tag to write when it is not the one written (another version of
    /// the image). A [`Target::Tag`] field takes it; a digest field cannot
    /// say it, so it gets no edit.
    pub tag: Option<&'a str>,
    /// The digest: `sha256:…`.
    pub digest: &'a str,
}

impl Found {
    /// The edit that pins this reference, for [`splice`]: its span and the
    /// text to write there. `None` when the span cannot say what `pin`
    /// asks for (a digest field cannot move the tag).
    pub fn pin(&self, pin: &Pin<'_>) -> Option<(Range<usize>, String)> {
        let quoted = |quote: bool, text: String| {
            if quote {
                format!("\"{text}\"")
            } else {
                text
            }
        };
        let text = match (&self.target, pin.tag) {
            (Target::Whole, _) => format!("{}@{}", pin.reference, pin.digest),
            (Target::Tag { tag, quote }, new_tag) => {
                let tag = new_tag.unwrap_or(tag);
                quoted(*quote, format!("{tag}@{}", pin.digest))
            }
            // Another version needs its tag moved too: reported, not written.
            (Target::Digest { .. } | Target::Insert { .. }, Some(_)) => return None,
            (Target::Digest { quote }, None) => quoted(*quote, pin.digest.to_owned()),
            (Target::Insert { before, after }, None) => format!("{before}{}{after}", pin.digest),
        };
        Some((self.span.clone(), text))
    }
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

impl std::error::Error for ScanError {}

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
///
/// # Panics
///
/// When a span is out of `text`'s bounds, not on a character boundary, or
/// overlaps another: spans from a [`scan`] of the same `text` never are.
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

/// For the scanners' tests: `text` with every reference pinned at
/// `digest` as written, and what the pinned text scans to.
#[cfg(test)]
fn pin_all(kind: FileKind, text: &str, digest: &str) -> (String, Scan) {
    let edits: Vec<_> = scan(kind, text)
        .expect("scans")
        .found
        .iter()
        .filter_map(|f| {
            let reference = f.image.split('@').next().unwrap_or_default();
            f.pin(&Pin {
                reference,
                tag: None,
                digest,
            })
        })
        .collect();
    let pinned = splice(text, &edits);
    let again = scan(kind, &pinned).expect("the pinned text scans");
    (pinned, again)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(target: Target, span: Range<usize>) -> Found {
        Found {
            image: "nginx:1.27".into(),
            span,
            line: 1,
            site: "image".into(),
            target,
        }
    }

    #[test]
    fn a_pin_writes_what_each_target_holds() {
        let pin = Pin {
            reference: "nginx:1.27",
            tag: None,
            digest: "sha256:aa",
        };
        let text = |target: Target| found(target, 2..5).pin(&pin).map(|(_, text)| text);
        assert_eq!(text(Target::Whole).as_deref(), Some("nginx:1.27@sha256:aa"));
        let tag = |quote| Target::Tag {
            tag: "1.27".into(),
            quote,
        };
        assert_eq!(text(tag(false)).as_deref(), Some("1.27@sha256:aa"));
        assert_eq!(text(tag(true)).as_deref(), Some("\"1.27@sha256:aa\""));
        assert_eq!(
            text(Target::Digest { quote: true }).as_deref(),
            Some("\"sha256:aa\"")
        );
        let insert = Target::Insert {
            before: "\n  digest: ".into(),
            after: String::new(),
        };
        assert_eq!(text(insert).as_deref(), Some("\n  digest: sha256:aa"));
        assert_eq!(
            found(Target::Whole, 2..5).pin(&pin).map(|(s, _)| s),
            Some(2..5)
        );
    }

    #[test]
    fn another_version_moves_the_tag_and_a_digest_field_alone_cannot() {
        let pin = Pin {
            reference: "nginx:1.28",
            tag: Some("1.28"),
            digest: "sha256:bb",
        };
        let text = |target: Target| found(target, 0..4).pin(&pin).map(|(_, text)| text);
        assert_eq!(text(Target::Whole).as_deref(), Some("nginx:1.28@sha256:bb"));
        let tag = Target::Tag {
            tag: "1.27".into(),
            quote: false,
        };
        assert_eq!(text(tag).as_deref(), Some("1.28@sha256:bb"));
        assert_eq!(text(Target::Digest { quote: false }), None);
        let insert = Target::Insert {
            before: ", digest: ".into(),
            after: String::new(),
        };
        assert_eq!(text(insert), None);
    }

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
