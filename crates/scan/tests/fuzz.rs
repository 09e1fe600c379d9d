//! A fuzz target run by `cargo test`: real files that deploy images, damaged
//! at random (bytes cut, YAML and Dockerfile syntax spliced in, pieces of
//! the file copied elsewhere), scanned as their own kind or as any other.
//!
//! For every input: no panic; every span in bounds, on character
//! boundaries, in file order and not overlapping; each span holds what its
//! target says. And pinning is stable: the pinned text scans to the same
//! references, each now carrying the digest, and pinning it again changes
//! nothing, so `images pin` never damages a file it could read.
//!
//! The corpus is this crate's `tests/corpus` (Helm values, kustomizations,
//! custom resources, Dockerfile ARGs and heredocs, CRLF and BOM files) and
//! the tree `images pin`'s end-to-end tests pin
//! (`crates/cli/tests/e2e/fixtures/pin`). 256 cases per run, the proptest
//! default, keeps the suite fast on two cores; `PROPTEST_CASES=100000`
//! runs a longer fuzz.

use std::path::{Path, PathBuf};

use images_lockfile::Reference;
use images_scan::{scan, splice, FileKind, Kustomization, Pin, Scan, Target};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

/// The e2e fixtures name their registry `[REGISTRY]`; the tests put an
/// address there, and so does this.
const REGISTRY: (&str, &str) = ("[REGISTRY]", "127.0.0.1:5000");

/// The digest every pin writes.
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Every corpus file and its kind.
const CORPUS: &[(&str, FileKind)] = &[
    ("corpus/.github/workflows/release.yml", FileKind::Workflow),
    ("corpus/app/Dockerfile", FileKind::Dockerfile),
    ("corpus/app/Dockerfile.windows", FileKind::Dockerfile),
    ("corpus/charts/api/values.yaml", FileKind::HelmValues),
    ("corpus/compose.yaml", FileKind::Compose),
    ("corpus/deploy/monitoring.yaml", FileKind::Kubernetes),
    (
        "corpus/overlays/prod/kustomization.yaml",
        FileKind::Kustomization,
    ),
    (
        "corpus/overlays/prod/kustomization.crlf.yaml",
        FileKind::Kustomization,
    ),
    (
        "../../cli/tests/e2e/fixtures/pin/project/Dockerfile",
        FileKind::Dockerfile,
    ),
    (
        "../../cli/tests/e2e/fixtures/pin/project/services/api/api.dockerfile",
        FileKind::Dockerfile,
    ),
    (
        "../../cli/tests/e2e/fixtures/pin/project/docker-compose.yml",
        FileKind::Compose,
    ),
    (
        "../../cli/tests/e2e/fixtures/pin/project/deploy/acme.yaml",
        FileKind::Kubernetes,
    ),
    (
        "../../cli/tests/e2e/fixtures/pin/project/.github/workflows/ci.yml",
        FileKind::Workflow,
    ),
];

const KINDS: [FileKind; 6] = [
    FileKind::Dockerfile,
    FileKind::Compose,
    FileKind::Kubernetes,
    FileKind::Workflow,
    FileKind::HelmValues,
    FileKind::Kustomization,
];

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The corpus, read once.
fn corpus() -> &'static [(String, FileKind)] {
    static CORPUS_TEXT: std::sync::OnceLock<Vec<(String, FileKind)>> = std::sync::OnceLock::new();
    CORPUS_TEXT.get_or_init(|| {
        CORPUS
            .iter()
            .map(|(path, kind)| {
                let path = tests_dir().join(path);
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                (text.replace(REGISTRY.0, REGISTRY.1), *kind)
            })
            .collect()
    })
}

/// One change to a file.
#[derive(Debug, Clone)]
enum Mutation {
    /// Up to `len` bytes cut at `at`.
    Cut { at: Index, len: usize },
    /// `text` put in at `at`.
    Insert { at: Index, text: String },
    /// Up to `len` bytes from `from` copied to `to`: a line or an entry
    /// repeated, a key moved.
    Copy { from: Index, len: usize, to: Index },
}

/// Text that means something to the scanners, or nothing at all.
fn syntax() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            " ",
            "\n",
            "\r\n",
            "\t",
            ":",
            ": ",
            "- ",
            "#",
            "\"",
            "'",
            "{",
            "}",
            "[",
            "]",
            ", ",
            "&a ",
            "*a",
            "<<: *a",
            "${X}",
            "$X",
            "@",
            "\\",
            "`",
            "\u{feff}",
            "é",
            "{{ .x }}",
            "image: ",
            "image:\n  ",
            "repository: ",
            "tag: ",
            "digest: ",
            "registry: ",
            "newTag: ",
            "newName: ",
            "name: ",
            "images:\n- ",
            "FROM ",
            "AS ",
            "ARG X=",
            "COPY --from=",
            "--mount=from=",
            "<<EOF",
            "<<-EOF\n",
            "\nEOF\n",
            "# escape=`\n",
            "---\n",
            "kind: Pod\n",
            "apiVersion: x.io/v1\n",
            "~",
            "null",
            "|\n  ",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,6}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1..24usize).prop_map(|(at, len)| Mutation::Cut { at, len }),
        (any::<Index>(), syntax()).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<Index>(), 1..80usize, any::<Index>()).prop_map(|(from, len, to)| Mutation::Copy {
            from,
            len,
            to
        }),
    ]
}

/// The character boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let place = |at: &Index| boundary(text, at.index(text.len() + 1));
    match mutation {
        Mutation::Cut { at, len } => {
            let start = place(at);
            let end = boundary(text, start + len);
            format!("{}{}", &text[..start], &text[end..])
        }
        Mutation::Insert { at, text: new } => {
            let at = place(at);
            format!("{}{new}{}", &text[..at], &text[at..])
        }
        Mutation::Copy { from, len, to } => {
            let start = place(from);
            let piece = &text[start..boundary(text, start + len)];
            let to = place(to);
            format!("{}{piece}{}", &text[..to], &text[to..])
        }
    }
}

/// Every span in bounds, on character boundaries, in order, apart, and
/// holding what its target says.
fn check_spans(text: &str, scan: &Scan) -> Result<(), TestCaseError> {
    let mut end_of_last = 0;
    for found in &scan.found {
        let span = found.span.clone();
        prop_assert!(
            span.start <= span.end && span.end <= text.len(),
            "{found:?}"
        );
        prop_assert!(
            text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
            "{found:?}"
        );
        prop_assert!(
            span.start >= end_of_last,
            "overlaps the one before: {found:?}"
        );
        end_of_last = span.end;
        prop_assert!(found.line >= 1, "{found:?}");
        let held = &text[span];
        match &found.target {
            Target::Whole => prop_assert_eq!(held, found.image.as_str()),
            Target::Tag { tag, .. } => prop_assert!(held.starts_with(tag.as_str()), "{found:?}"),
            Target::Insert { .. } => prop_assert_eq!(held, ""),
            Target::Digest { .. } => prop_assert!(
                held.is_empty() || found.image.ends_with(&format!("@{held}")),
                "{found:?}"
            ),
        }
    }
    Ok(())
}

/// Whether `images pin` would pin a found reference: it leaves alone what
/// is not a valid reference.
fn pinnable(image: &str) -> bool {
    Reference::parse(image).is_ok()
}

/// The edits that pin every valid reference of `scan` at [`DIGEST`],
/// keeping the reference as written.
fn pins(scan: &Scan) -> Vec<(std::ops::Range<usize>, String)> {
    scan.found
        .iter()
        .filter(|found| pinnable(&found.image))
        .filter_map(|found| {
            let reference = found.image.split('@').next().unwrap_or_default();
            found.pin(&Pin {
                reference,
                tag: None,
                digest: DIGEST,
            })
        })
        .collect()
}

/// Pinning `text` (which scanned to `before`) gives a file that scans to
/// the same references, the valid ones now at the digest, and that a
/// second pin leaves as it is.
fn check_pin_is_stable(kind: FileKind, text: &str, before: &Scan) -> Result<(), TestCaseError> {
    let pinned = splice(text, &pins(before));
    let after = scan(kind, &pinned);
    prop_assert!(
        after.is_ok(),
        "the pinned file no longer scans: {:?}\n--- before\n{text}\n--- pinned\n{pinned}",
        after.err()
    );
    let after = after.unwrap_or_default();
    check_spans(&pinned, &after)?;
    let images: Vec<&str> = after.found.iter().map(|f| f.image.as_str()).collect();
    prop_assert_eq!(
        after.found.len(),
        before.found.len(),
        "{:?}\n--- pinned\n{}",
        images,
        pinned
    );
    let suffix = format!("@{DIGEST}");
    for (was, is) in before.found.iter().zip(&after.found) {
        if pinnable(&was.image) {
            prop_assert!(is.image.ends_with(&suffix), "{is:?}\n{pinned}");
        } else {
            prop_assert_eq!(&is.image, &was.image);
        }
    }
    prop_assert_eq!(after.left_alone.len(), before.left_alone.len());
    let again = splice(&pinned, &pins(&after));
    prop_assert_eq!(again, pinned);
    Ok(())
}

/// The file at `file` (an index into the corpus) with `mutations`, read as
/// its own kind or, when `other` is given, as that kind.
fn input(file: Index, mutations: &[Mutation], other: Option<Index>) -> (FileKind, String) {
    let corpus = corpus();
    let (text, kind) = &corpus[file.index(corpus.len())];
    let text = mutations.iter().fold(text.clone(), |t, m| apply(&t, m));
    let kind = other.map_or(*kind, |k| KINDS[k.index(KINDS.len())]);
    (kind, text)
}

#[test]
fn every_corpus_file_scans_finds_images_and_pins_stably() {
    for ((path, _), (text, kind)) in CORPUS.iter().zip(corpus()) {
        let found = scan(*kind, text).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        assert!(!found.found.is_empty(), "{path}: no image found");
        check_spans(text, &found).unwrap_or_else(|e| panic!("{path}: {e}"));
        check_pin_is_stable(*kind, text, &found).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

proptest! {
    // A failure prints its minimal input; it becomes a unit test of the
    // scanner it found, so no regressions file is kept.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn damaged_files_never_panic_and_pin_stably(
        file in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 0..6),
        other in prop::option::weighted(0.25, any::<Index>()),
    ) {
        let (kind, text) = input(file, &mutations, other);
        if let Ok(found) = scan(kind, &text) {
            check_spans(&text, &found)?;
            check_pin_is_stable(kind, &text, &found)?;
        }
        // The content sniffing the binary does before a scan, and the
        // reading of a kustomization's resources.
        let _ = FileKind::from_text(&text, true);
        let _ = images_scan::is_template(&text);
        let _ = Kustomization::parse(&text);
    }
}
