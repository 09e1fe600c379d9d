//! The signature checks against signatures made by OpenSSL
//! (`tests/fixtures/signatures/make.sh`): right key, other key, a flipped
//! byte, a payload naming another digest, an attestation, garbage.

use std::path::PathBuf;

use images_lockfile::{read_public_key_pem, Digest};
use images_resolver::signature::{check_bundle, check_simple_signing, TrustedKey, Verdict};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/signatures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(name: &str) -> String {
    String::from_utf8(fixture(name)).expect("utf-8")
}

fn key(who: &str) -> TrustedKey {
    let der = read_public_key_pem(&text(&format!("{who}.pub"))).expect("a P-256 key");
    TrustedKey::from_spki_der(who, &der).expect("on the curve")
}

fn digest() -> Digest {
    Digest::parse(&text("digest.txt")).expect("digest")
}

#[test]
fn a_legacy_signature_by_the_signers_key_verifies() {
    let acme = key("acme");
    let verdict = check_simple_signing(
        &fixture("simple.payload"),
        &text("simple.acme.sig"),
        &digest(),
        std::slice::from_ref(&acme),
    );
    assert_eq!(
        verdict,
        Verdict::Verified {
            key: acme.fingerprint.clone()
        }
    );
    // Any one of a signer's keys will do.
    let verdict = check_simple_signing(
        &fixture("simple.payload"),
        &text("simple.acme.sig"),
        &digest(),
        &[key("other"), acme.clone()],
    );
    assert_eq!(
        verdict,
        Verdict::Verified {
            key: acme.fingerprint
        }
    );
}

#[test]
fn a_legacy_signature_by_another_key_or_tampered_is_refused() {
    let keys = [key("acme")];
    assert_eq!(
        check_simple_signing(
            &fixture("simple.payload"),
            &text("simple.other.sig"),
            &digest(),
            &keys
        ),
        Verdict::OtherKey { fingerprint: None }
    );
    let mut payload = fixture("simple.payload");
    let at = payload.len() - 10;
    payload[at] ^= 1;
    assert_eq!(
        check_simple_signing(&payload, &text("simple.acme.sig"), &digest(), &keys),
        Verdict::OtherKey { fingerprint: None }
    );
    let named = String::from_utf8(fixture("simple-other-digest.payload")).expect("utf-8");
    let verdict = check_simple_signing(
        named.as_bytes(),
        &text("simple-other-digest.acme.sig"),
        &digest(),
        &keys,
    );
    assert!(matches!(verdict, Verdict::OtherDigest { named } if named != digest().to_string()));
    assert!(matches!(
        check_simple_signing(&fixture("simple.payload"), "not base64!", &digest(), &keys),
        Verdict::Malformed(_)
    ));
}

#[test]
fn a_bundle_by_the_signers_key_verifies() {
    let acme = key("acme");
    assert_eq!(
        check_bundle(
            &fixture("bundle.acme.json"),
            &digest(),
            std::slice::from_ref(&acme)
        ),
        Verdict::Verified {
            key: acme.fingerprint
        }
    );
}

#[test]
fn a_bundle_by_another_key_names_that_key() {
    let other = key("other");
    let verdict = check_bundle(&fixture("bundle.other.json"), &digest(), &[key("acme")]);
    assert_eq!(
        verdict,
        Verdict::OtherKey {
            fingerprint: Some(other.fingerprint.to_string())
        }
    );
}

#[test]
fn a_bundle_with_a_flipped_signature_byte_is_broken() {
    let bundle: serde_json::Value =
        serde_json::from_slice(&fixture("bundle.acme.json")).expect("json");
    let sig = bundle["dsseEnvelope"]["signatures"][0]["sig"]
        .as_str()
        .expect("sig")
        .to_owned();
    use base64::Engine as _;
    let mut der = base64::engine::general_purpose::STANDARD
        .decode(sig.as_bytes())
        .expect("base64");
    let last = der.len() - 1;
    der[last] ^= 1;
    let mut flipped = bundle.clone();
    flipped["dsseEnvelope"]["signatures"][0]["sig"] =
        base64::engine::general_purpose::STANDARD.encode(der).into();
    let bytes = serde_json::to_vec(&flipped).expect("json");
    assert_eq!(
        check_bundle(&bytes, &digest(), &[key("acme")]),
        Verdict::Broken
    );
}

#[test]
fn a_bundle_for_another_digest_or_of_another_predicate_is_not_a_signature_of_this_one() {
    let keys = [key("acme")];
    assert!(matches!(
        check_bundle(&fixture("bundle-other-digest.acme.json"), &digest(), &keys),
        Verdict::OtherDigest { .. }
    ));
    assert_eq!(
        check_bundle(&fixture("bundle-sbom.acme.json"), &digest(), &keys),
        Verdict::NotASignature {
            predicate_type: "https://spdx.dev/Document".to_owned()
        }
    );
    assert!(matches!(
        check_bundle(b"<html>", &digest(), &keys),
        Verdict::Malformed(_)
    ));
}
