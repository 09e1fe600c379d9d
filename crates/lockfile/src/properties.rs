//! Property tests of the three readers of user- and tool-written text: the
//! reference parser, the images.toml reader and the images.lock reader.
//!
//! Two kinds of property: no input makes a reader panic (each returns a
//! value or an error), and a lock printed by `to_toml` reads back as the
//! same lock and prints to the same bytes (the lock is the tool's own
//! output, so anything it writes it must read). `Lockfile::parse` reads
//! the writer's own output with the line reader (`lock_fast`), so the
//! round trip is also run through the general reader directly; that is
//! why these live inside the crate rather than in `tests/`.
//!
//! Case counts stay modest (256 each, the proptest default) so the suite
//! stays fast on two cores.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{
    Digest, LockedImage, LockedSignature, Lockfile, Manifest, Platform, PlatformManifest,
    Reference, Requirement,
};
use proptest::prelude::*;

/// Text that looks like a reference often enough to reach deep into the
/// parser: pieces of real references glued at random, plus raw noise.
fn reference_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("docker.io".to_string()),
        Just("index.docker.io".to_string()),
        Just("localhost".to_string()),
        Just("127.0.0.1:5000".to_string()),
        Just("[::1]:5000".to_string()),
        Just("ghcr.io".to_string()),
        Just("/".to_string()),
        Just(":".to_string()),
        Just("@".to_string()),
        Just("sha256:".to_string()),
        Just("sha512:".to_string()),
        Just("library".to_string()),
        Just("__".to_string()),
        Just("--".to_string()),
        "[a-z0-9]{1,8}",
        "[A-Za-z0-9._-]{1,12}",
        "[0-9a-f]{64}",
        "[0-9a-f]{128}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|parts| parts.concat())
}

/// A path component of the reference grammar.
fn component() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?"
}

fn digest() -> impl Strategy<Value = Digest> {
    prop_oneof![
        "[0-9a-f]{64}".prop_map(|hex| format!("sha256:{hex}")),
        "[0-9a-f]{128}".prop_map(|hex| format!("sha512:{hex}")),
    ]
    .prop_filter_map("a digest the parser accepts", |s| Digest::parse(&s).ok())
}

fn platform() -> impl Strategy<Value = Platform> {
    (
        "[a-z0-9]{1,8}",
        "[a-z0-9_]{1,8}",
        prop::option::of("v[0-9]"),
    )
        .prop_map(|(os, architecture, variant)| Platform {
            os,
            architecture,
            variant,
        })
}

/// A valid reference, in any of the forms a user may write, already
/// normalized by the parser.
fn reference() -> impl Strategy<Value = Reference> {
    (
        prop::option::of(prop_oneof![
            Just("docker.io".to_string()),
            Just("localhost:5000".to_string()),
            "[a-z]{1,8}\\.[a-z]{2,4}(:[1-9][0-9]{0,3})?",
        ]),
        prop::collection::vec(component(), 1..4),
        prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        prop::option::of(digest()),
    )
        .prop_filter_map(
            "a reference the parser accepts",
            |(domain, path, tag, digest)| {
                let mut text = path.join("/");
                if let Some(domain) = domain {
                    text = format!("{domain}/{text}");
                }
                if let Some(tag) = tag {
                    text = format!("{text}:{tag}");
                }
                if let Some(digest) = digest {
                    text = format!("{text}@{digest}");
                }
                Reference::parse(&text).ok()
            },
        )
}

/// Entry names: the lock quotes them, so anything printable and more.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_-]{0,12}",
        "\\PC{1,12}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

/// A version requirement as the lock copies it from images.toml: any
/// text, since the lock quotes it.
fn requirement() -> impl Strategy<Value = Requirement> {
    (
        prop_oneof!["[~^<>=]{0,2}[0-9]{1,2}(\\.[0-9]{1,2}){0,2}", "\\PC{1,8}"],
        prop::option::of(prop_oneof![Just("^v?(.*)$".to_string()), any::<String>()]),
    )
        .prop_map(|(version, tags)| Requirement { version, tags })
}

fn signature() -> impl Strategy<Value = LockedSignature> {
    (name(), digest(), digest()).prop_map(|(signer, key, artifact)| LockedSignature {
        signer,
        key,
        artifact,
    })
}

fn locked_image() -> impl Strategy<Value = LockedImage> {
    (
        (
            reference(),
            digest(),
            prop_oneof![
                Just("application/vnd.oci.image.index.v1+json".to_string()),
                Just("application/vnd.oci.image.manifest.v1+json".to_string()),
                "[a-z]{1,10}/[a-z.+-]{1,20}",
            ],
            any::<bool>(),
            prop::option::of(requirement()),
        ),
        prop::collection::vec(platform(), 0..3),
        prop::collection::vec(
            (platform(), digest())
                .prop_map(|(platform, digest)| PlatformManifest { platform, digest }),
            0..4,
        ),
        // Most entries are unsigned, and only those take the line reader.
        prop_oneof![
            3 => Just((Vec::new(), Vec::new())),
            1 => (
                prop::collection::vec(name(), 1..3),
                prop::collection::vec(signature(), 0..3)
            ),
        ],
    )
        .prop_map(
            |(
                (reference, digest, media_type, mutable, requirement),
                platforms,
                manifests,
                (signed_by, signatures),
            )| LockedImage {
                name: String::new(),
                reference,
                digest,
                media_type,
                mutable,
                requirement,
                signed_by,
                signatures,
                platforms: platforms.into_iter().collect(),
                manifests,
            },
        )
}

fn lockfile() -> impl Strategy<Value = Lockfile> {
    prop::collection::btree_map(name(), locked_image(), 0..6).prop_map(|entries| {
        let images: BTreeMap<String, LockedImage> = entries
            .into_iter()
            .map(|(name, mut image)| {
                image.name = name.clone();
                // The lock keeps manifests, signers and signatures sorted
                // and unique; compare against that form.
                image.normalize();
                (name, image)
            })
            .collect();
        Lockfile { images }
    })
}

/// Lines of TOML that an images.toml or images.lock might contain, for the
/// "no panic" properties: real keys and tables, valid and broken values.
fn toml_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[images]".to_string()),
        Just("[[image]]".to_string()),
        Just("[registries.\"localhost:5000\"]".to_string()),
        Just("version = 1".to_string()),
        Just("version = 2".to_string()),
        Just("version = \"1\"".to_string()),
        Just("insecure = true".to_string()),
        Just("ca = \"ca.pem\"".to_string()),
        Just("mutable = true".to_string()),
        Just("platforms = [\"linux/amd64\", \"linux/arm64/v8\"]".to_string()),
        Just("manifests = [ { platform = \"linux/amd64\", digest = \"sha256:0\" } ]".to_string()),
        Just("media-type = \"application/vnd.oci.image.index.v1+json\"".to_string()),
        "[a-z]{1,6} = \"[a-z0-9:/@._-]{0,30}\"",
        "[a-z]{1,6} = \\{ image = \"[a-z0-9:/@._-]{0,30}\"(, mutable = (true|1))? \\}",
        "(name|reference|digest) = \"[a-z0-9:/@._-]{0,70}\"",
        "digest = \"sha256:[0-9a-f]{64}\"",
        "\\PC{0,20}",
        any::<String>(),
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reference_parser_never_panics(text in reference_like()) {
        let _ = Reference::parse(&text);
        let _ = Reference::parse_canonical(&text);
    }

    #[test]
    fn a_parsed_reference_prints_as_its_canonical_form(reference in reference()) {
        let printed = reference.to_string();
        let again = Reference::parse_canonical(&printed);
        prop_assert_eq!(again.as_ref().ok(), Some(&reference), "{:?}", again);
    }

    #[test]
    fn manifest_reader_never_panics(text in toml_like()) {
        let _ = Manifest::parse(&text, Path::new("images.toml"));
    }

    #[test]
    fn lock_reader_never_panics(text in toml_like()) {
        let _ = Lockfile::parse(&text, Path::new("images.lock"));
    }

    #[test]
    fn lock_reader_never_panics_on_a_damaged_lock(
        lock in lockfile(),
        cut in any::<prop::sample::Index>(),
        junk in "\\PC{0,8}",
    ) {
        // Real damage: a lock cut short or with a few characters spliced in
        // (a bad merge, an editor), not only random text.
        let text = lock.to_toml();
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let _ = Lockfile::parse(&text[..at], Path::new("images.lock"));
        let spliced = format!("{}{junk}{}", &text[..at], &text[at..]);
        let _ = Lockfile::parse(&spliced, Path::new("images.lock"));
    }

    #[test]
    fn a_printed_lock_parses_back_to_the_same_lock(lock in lockfile()) {
        let text = lock.to_toml();
        let parsed = Lockfile::parse(&text, Path::new("images.lock"));
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), text);
        let parsed = parsed.unwrap_or_default();
        prop_assert_eq!(&parsed, &lock);
        // And printing is a fixed point: byte-identical the second time.
        prop_assert_eq!(&parsed.to_toml(), &text);
        // A checkout that turned the line endings to CRLF reads the same.
        let crlf = text.replace('\n', "\r\n");
        let parsed = Lockfile::parse(&crlf, Path::new("images.lock")).ok();
        prop_assert_eq!(parsed.as_ref(), Some(&lock));
    }

    #[test]
    fn the_general_reader_reads_a_printed_lock_as_the_same_lock(lock in lockfile()) {
        // `parse` hands the writer's output to the line reader; the
        // general reader must agree with it on every such text.
        let text = lock.to_toml();
        let parsed = Lockfile::parse_full(&text, Path::new("images.lock"));
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), text);
        prop_assert_eq!(parsed.unwrap_or_default(), lock);
    }
}
