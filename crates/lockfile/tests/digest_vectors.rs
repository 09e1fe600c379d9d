//! Every case of `fixtures/digests.json` (go-digest and image-spec vectors)
//! through `Digest`.
//!
//! Our rule: accept exactly what go-digest main accepts by default, sha256
//! and sha512 at full length in lowercase hex, and nothing else (no sha384,
//! blake3 or unregistered algorithms that the OCI grammar would allow).

use images_lockfile::{Algorithm, Digest};
use serde_json::Value;

/// 36 digest strings + 6 algorithm names + 5 content vectors.
const MIN_CASES: usize = 45;

fn vectors() -> Value {
    serde_json::from_str(include_str!("fixtures/digests.json")).expect("digests.json is valid JSON")
}

fn list<'a>(json: &'a Value, key: &str) -> &'a [Value] {
    json[key]
        .as_array()
        .map(Vec::as_slice)
        .expect("an array of cases")
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|&c| c != b'=') {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("base64 character");
        buffer = (buffer << 6) | u32::try_from(value).expect("6 bits");
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).expect("a byte"));
        }
    }
    out
}

#[test]
fn digest_strings_agree_with_go_digest_main() {
    let json = vectors();
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in list(&json, "cases") {
        let id = case["id"].as_str().unwrap_or("?");
        let input = case["input"].as_str().expect("`input` is a string");
        let expected = case["library"]["go_digest_main_default"]["ok"]
            .as_bool()
            .expect("every case records go-digest main's answer");
        let ours = Digest::parse(input);
        if ours.is_ok() != expected {
            failures.push(format!(
                "{id} {input:?}: ours {ours:?}, go-digest main ok={expected}"
            ));
        }
        // The strict lock rule is a subset of ours.
        if case["strict_lock_valid"].as_bool() == Some(true) && ours.is_err() {
            failures.push(format!("{id} {input:?}: strict_lock_valid but refused"));
        }
        if let Ok(digest) = &ours {
            if digest.to_string() != input {
                failures.push(format!("{id}: does not round-trip: {digest}"));
            }
            if let Some(algorithm) = case["algorithm"].as_str() {
                if digest.algorithm().name() != algorithm {
                    failures.push(format!(
                        "{id}: algorithm {:?}, expected {algorithm}",
                        digest.algorithm()
                    ));
                }
            }
            if let Some(encoded) = case["encoded"].as_str() {
                if digest.hex() != encoded {
                    failures.push(format!("{id}: hex {}, expected {encoded}", digest.hex()));
                }
            }
        } else if let Err(err) = &ours {
            let message = err.to_string();
            if !message.contains(&format!("`{input}`"))
                && !message.contains("only sha256 and sha512")
            {
                failures.push(format!("{id}: message does not name the input: {message}"));
            }
        }
        checked += 1;
    }

    for case in list(&json, "algorithm_names") {
        // No registrable name other than sha256 / sha512 pins an image.
        let algorithm = case["algorithm"].as_str().expect("`algorithm` is a string");
        let input = format!("{algorithm}:{}", "a".repeat(64));
        match Digest::parse(&input) {
            Ok(d) => failures.push(format!("algorithm {algorithm:?} accepted: {d}")),
            Err(err) if case["matches_algorithm_grammar"].as_bool() == Some(true) => {
                let message = err.to_string();
                if !message.contains("only sha256 and sha512 can pin an image") {
                    failures.push(format!(
                        "algorithm {algorithm:?}: unclear message {message}"
                    ));
                }
            }
            Err(_) => {}
        }
        checked += 1;
    }

    for case in list(&json, "content_vectors") {
        let content = base64_decode(case["content_base64"].as_str().expect("base64 content"));
        let digest = case["digest"].as_str().expect("`digest` is a string");
        match Digest::parse(digest) {
            Ok(d) => {
                let should_match = case["recomputed_matches"].as_bool() == Some(true);
                if d.matches(&content) != should_match {
                    failures.push(format!(
                        "{digest}: matches() is {}, expected {should_match}",
                        d.matches(&content)
                    ));
                }
                if should_match && Digest::sha256_of(&content) != d {
                    failures.push(format!("{digest}: sha256_of differs"));
                }
                if d.algorithm() != Algorithm::Sha256 {
                    failures.push(format!("{digest}: unexpected algorithm"));
                }
            }
            // Only the blake3 vector is outside what we accept.
            Err(_) if digest.starts_with("blake3:") => {}
            Err(err) => failures.push(format!("{digest}: refused: {err}")),
        }
        checked += 1;
    }

    println!("digests.json: checked {checked} cases");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checked >= MIN_CASES,
        "only {checked} cases checked, expected at least {MIN_CASES}"
    );
}
