//! Tests of the harness's signers against the real registry: what each
//! signer pushed is checked by a verifier we did not write (the `sigstore`
//! crate for legacy signatures, `@sigstore/verify` for bundles), and its
//! structure is read back with the harness's own registry client.

use base64::Engine as _;
use images_testkit::signing::{
    fallback_tag, legacy_tag, sign_bundle, sign_bundle_with, sign_legacy, sign_legacy_flawed,
    verify_bundle, BundleOptions, LegacyFlaw, SigningKey, BUNDLE_MEDIA_TYPE, COSIGN_SIGN_V1,
    SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, SPDX_PREDICATE,
};
use images_testkit::{media_type, sha256_digest, Fixture, Kind, Registry, RegistryClient};
use serde_json::Value;
use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraintVec};
use sigstore::cosign::{verify_constraints, ClientBuilder, CosignCapabilities};
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `(trusted layers, verified)`: what the `sigstore` crate makes of the
/// legacy signatures of `repo@digest`, checked against `key` alone.
fn sigstore_verdict(addr: &str, repo: &str, digest: &str, key: &SigningKey) -> (usize, bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let mut client = ClientBuilder::default()
            .with_oci_client_config(ClientConfig {
                protocol: ClientProtocol::Http,
                ..Default::default()
            })
            .build()
            .expect("sigstore client");
        let image = OciReference::with_digest(addr.into(), repo.into(), digest.into());
        let layers = client
            .trusted_signature_layers(&Auth::Anonymous, &image)
            .await
            .expect("sigstore fetches the signature layers");
        let verifier = PublicKeyVerifier::new(
            key.public_pem().as_bytes(),
            &SigningScheme::ECDSA_P256_SHA256_ASN1,
        )
        .expect("sigstore takes the public key PEM");
        let constraints: VerificationConstraintVec = vec![Box::new(verifier)];
        let verified = verify_constraints(&layers, constraints.iter()).is_ok();
        (layers.len(), verified)
    })
}

/// Whether `signature` (base64 DER) over `payload` verifies with `key`,
/// by the `sigstore` crate.
fn signature_verifies(key: &SigningKey, signature: &str, payload: &[u8]) -> bool {
    CosignVerificationKey::try_from_pem(key.public_pem().as_bytes())
        .expect("sigstore takes the public key PEM")
        .verify_signature(Signature::Base64Encoded(signature.as_bytes()), payload)
        .is_ok()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON")
}

/// The manifest served under `reference`, which must be there.
fn served_manifest(client: &RegistryClient, repo: &str, reference: &str) -> (String, Value) {
    let served = client.manifest(repo, reference).expect("GET manifest");
    assert_eq!(served.status, 200, "{repo}:{reference}");
    let digest = served.digest_header.expect("Docker-Content-Digest");
    assert_eq!(sha256_digest(&served.body), digest, "{repo}:{reference}");
    (digest, json(&served.body))
}

/// The one signature layer of a `.sig` manifest: its descriptor's digest,
/// its signature annotation, and the payload blob as served.
fn only_layer(client: &RegistryClient, repo: &str, sig: &Value) -> (String, String, Vec<u8>) {
    let layers = sig["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "{sig}");
    let digest = layers[0]["digest"].as_str().expect("digest").to_string();
    let signature = layers[0]["annotations"][SIGNATURE_ANNOTATION]
        .as_str()
        .expect("signature annotation")
        .to_string();
    let payload = client.blob(repo, &digest).expect("payload blob");
    (digest, signature, payload)
}

#[test]
fn keys_are_p256_spki_pem_with_sha256_fingerprints() {
    let key = SigningKey::generate().expect("key");
    let pem = key.public_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    assert!(
        pem.trim_end().ends_with("-----END PUBLIC KEY-----"),
        "{pem}"
    );
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = BASE64.decode(body).expect("PEM body is base64");
    assert_eq!(der, key.public_der());
    // id-ecPublicKey with prime256v1, in the SubjectPublicKeyInfo.
    let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    assert!(der.windows(p256.len()).any(|w| w == p256), "not P-256");
    assert_eq!(key.fingerprint(), sha256_digest(&der));
    assert!(key
        .private_pkcs8_pem()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(!format!("{key:?}").contains("PRIVATE"));
    assert_ne!(
        SigningKey::generate().expect("key").fingerprint(),
        key.fingerprint()
    );
}

#[test]
fn legacy_signature_by_two_keys_is_one_sig_manifest_that_sigstore_verifies() {
    let registry = Registry::start().expect("start registry");
    let client = registry.client();
    let pushed = registry
        .push(
            "sign/legacy",
            "v1",
            &Fixture::new(Kind::OciManifest, "legacy-1"),
        )
        .expect("push");
    let (first, second, stranger) = (
        SigningKey::generate().expect("key"),
        SigningKey::generate().expect("key"),
        SigningKey::generate().expect("key"),
    );

    let sig = sign_legacy(
        &registry.addr(),
        "sign/legacy",
        &pushed.digest,
        &[&first, &second],
    )
    .expect("sign");

    let (served, manifest) = served_manifest(client, "sign/legacy", &legacy_tag(&pushed.digest));
    assert_eq!(served, sig);
    assert_eq!(manifest["mediaType"], media_type::OCI_MANIFEST);
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2, "{manifest}");
    for (layer, key) in layers.iter().zip([&first, &second]) {
        assert_eq!(layer["mediaType"], SIMPLE_SIGNING_MEDIA_TYPE);
        let digest = layer["digest"].as_str().expect("digest");
        let payload = client.blob("sign/legacy", digest).expect("payload blob");
        assert_eq!(sha256_digest(&payload), digest);
        let payload_json = json(&payload);
        assert_eq!(
            payload_json["critical"]["image"]["docker-manifest-digest"],
            pushed.digest.as_str()
        );
        assert_eq!(
            payload_json["critical"]["type"],
            "cosign container image signature"
        );
        let signature = layer["annotations"][SIGNATURE_ANNOTATION]
            .as_str()
            .expect("signature annotation");
        assert!(signature_verifies(key, signature, &payload));
    }

    let addr = registry.addr();
    assert_eq!(
        sigstore_verdict(&addr, "sign/legacy", &pushed.digest, &first),
        (2, true)
    );
    assert_eq!(
        sigstore_verdict(&addr, "sign/legacy", &pushed.digest, &second),
        (2, true)
    );
    assert_eq!(
        sigstore_verdict(&addr, "sign/legacy", &pushed.digest, &stranger),
        (2, false)
    );
    // Signing again replaces the manifest: only the new key is there.
    sign_legacy(&addr, "sign/legacy", &pushed.digest, &[&stranger]).expect("sign again");
    assert_eq!(
        sigstore_verdict(&addr, "sign/legacy", &pushed.digest, &stranger),
        (1, true)
    );
    assert_eq!(
        sigstore_verdict(&addr, "sign/legacy", &pushed.digest, &first),
        (1, false)
    );
}

#[test]
fn each_legacy_flaw_is_refused_by_sigstore_and_is_the_only_flaw() {
    let registry = Registry::start().expect("start registry");
    let client = registry.client();
    let key = SigningKey::generate().expect("key");
    let other = Fixture::new(Kind::OciManifest, "flaw-other").digest();
    // (flaw, the digest the payload names, whether the blob hashes to its
    // layer digest, whether the signature verifies over the blob)
    let cases = [
        (
            LegacyFlaw::PayloadNames(other.clone()),
            Some(&other),
            true,
            true,
        ),
        (LegacyFlaw::FlippedSignature, None, true, false),
        (LegacyFlaw::BlobDigestMismatch, None, false, true),
    ];
    for (seed, (flaw, names, hashes, verifies)) in cases.into_iter().enumerate() {
        let pushed = registry
            .push(
                "sign/flaw",
                &format!("v{seed}"),
                &Fixture::new(Kind::OciManifest, &format!("flaw-{seed}")),
            )
            .expect("push");
        let sig = sign_legacy_flawed(&registry, "sign/flaw", &pushed.digest, &key, flaw.clone())
            .expect("sign");
        let (served, manifest) = served_manifest(client, "sign/flaw", &legacy_tag(&pushed.digest));
        assert_eq!(served, sig, "{flaw:?}");
        let (digest, signature, payload) = only_layer(client, "sign/flaw", &manifest);
        assert_eq!(
            manifest["layers"][0]["size"].as_u64(),
            Some(payload.len() as u64),
            "{flaw:?}"
        );
        assert_eq!(sha256_digest(&payload) == digest, hashes, "{flaw:?}");
        assert_eq!(
            json(&payload)["critical"]["image"]["docker-manifest-digest"],
            names.unwrap_or(&pushed.digest).as_str(),
            "{flaw:?}"
        );
        assert_eq!(
            signature_verifies(&key, &signature, &payload),
            verifies,
            "{flaw:?}"
        );
        let (_, verified) = sigstore_verdict(&registry.addr(), "sign/flaw", &pushed.digest, &key);
        assert!(!verified, "sigstore accepted {flaw:?}");
    }
}

#[test]
fn bundles_land_in_the_fallback_index_and_sigstore_js_verifies_them() {
    let registry = Registry::start().expect("start registry");
    let client = registry.client();
    let addr = registry.addr();
    let pushed = registry
        .push(
            "sign/bundle",
            "v1",
            &Fixture::new(Kind::OciIndex, "bundle-1"),
        )
        .expect("push");
    let key = SigningKey::generate().expect("key");
    let stranger = SigningKey::generate().expect("key");

    let referrer = sign_bundle(&addr, "sign/bundle", &pushed.digest, &key).expect("sign");

    // distribution 2.8 has no referrers API, so the fallback index is it.
    let referrers = reqwest::blocking::get(format!(
        "{}/v2/sign/bundle/referrers/{}",
        registry.url(),
        pushed.digest
    ))
    .expect("GET referrers");
    assert_eq!(referrers.status().as_u16(), 404);
    let (_, index) = served_manifest(client, "sign/bundle", &fallback_tag(&pushed.digest));
    assert_eq!(index["mediaType"], media_type::OCI_INDEX);
    let entries = index["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 1, "{index}");
    assert_eq!(entries[0]["digest"], referrer.as_str());
    assert_eq!(entries[0]["mediaType"], media_type::OCI_MANIFEST);
    assert_eq!(entries[0]["artifactType"], BUNDLE_MEDIA_TYPE);
    let annotations = &entries[0]["annotations"];
    assert_eq!(annotations["dev.sigstore.bundle.content"], "dsse-envelope");
    assert_eq!(
        annotations["dev.sigstore.bundle.predicateType"],
        COSIGN_SIGN_V1
    );
    assert!(annotations["org.opencontainers.image.created"].is_string());

    let (served, artifact) = served_manifest(client, "sign/bundle", &referrer);
    assert_eq!(served, referrer);
    let artifact_bytes = client
        .manifest("sign/bundle", &referrer)
        .expect("GET referrer")
        .body;
    assert_eq!(
        entries[0]["size"].as_u64(),
        Some(artifact_bytes.len() as u64)
    );
    assert_eq!(artifact["artifactType"], BUNDLE_MEDIA_TYPE);
    assert_eq!(
        artifact["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(artifact["config"]["digest"], sha256_digest(b"{}").as_str());
    assert_eq!(artifact["subject"]["digest"], pushed.digest.as_str());
    assert_eq!(artifact["subject"]["mediaType"], media_type::OCI_INDEX);
    assert_eq!(
        artifact["subject"]["size"].as_u64(),
        Some(Fixture::new(Kind::OciIndex, "bundle-1").manifest().len() as u64)
    );
    assert_eq!(&artifact["annotations"], annotations);
    let layers = artifact["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "{artifact}");
    assert_eq!(layers[0]["mediaType"], BUNDLE_MEDIA_TYPE);
    let bundle = client
        .blob("sign/bundle", layers[0]["digest"].as_str().expect("digest"))
        .expect("bundle blob");
    let bundle_json = json(&bundle);
    assert_eq!(bundle_json["mediaType"], BUNDLE_MEDIA_TYPE);
    assert_eq!(
        bundle_json["verificationMaterial"]["publicKey"]["hint"],
        key.hint().as_str()
    );
    let envelope = &bundle_json["dsseEnvelope"];
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let statement = json(
        &BASE64
            .decode(envelope["payload"].as_str().expect("payload"))
            .expect("base64 payload"),
    );
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        pushed.digest.trim_start_matches("sha256:")
    );

    let verified = verify_bundle(&bundle, key.public_pem())
        .expect("run @sigstore/verify")
        .expect("the bundle verifies with its key");
    assert_eq!(verified.predicate_type, COSIGN_SIGN_V1);
    assert_eq!(verified.subjects, vec![pushed.digest.clone()]);
    let refused = verify_bundle(&bundle, stranger.public_pem())
        .expect("run @sigstore/verify")
        .expect_err("another key must not verify it");
    assert!(refused.contains("no trusted key"), "{refused}");
    // An SBOM attestation, a statement naming another digest and a broken
    // signature are appended to the same index.
    let sbom = sign_bundle_with(
        &addr,
        "sign/bundle",
        &pushed.digest,
        &key,
        &BundleOptions {
            predicate_type: SPDX_PREDICATE.to_string(),
            ..Default::default()
        },
    )
    .expect("attest");
    let other = Fixture::new(Kind::OciIndex, "bundle-other").digest();
    let misnamed = sign_bundle_with(
        &addr,
        "sign/bundle",
        &pushed.digest,
        &key,
        &BundleOptions {
            statement_digest: Some(other.clone()),
            ..Default::default()
        },
    )
    .expect("sign another digest");
    let broken = sign_bundle_with(
        &addr,
        "sign/bundle",
        &pushed.digest,
        &key,
        &BundleOptions {
            flip_signature: true,
            ..Default::default()
        },
    )
    .expect("sign with a broken signature");
    let (_, index) = served_manifest(client, "sign/bundle", &fallback_tag(&pushed.digest));
    let entries = index["manifests"].as_array().expect("manifests");
    let digests: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["digest"].as_str())
        .collect();
    assert_eq!(
        digests,
        [
            referrer.as_str(),
            sbom.as_str(),
            misnamed.as_str(),
            broken.as_str()
        ]
    );
    assert_eq!(
        entries[1]["annotations"]["dev.sigstore.bundle.predicateType"],
        SPDX_PREDICATE
    );
    for (referrer, predicate_type, subject) in [
        (&sbom, SPDX_PREDICATE, &pushed.digest),
        (&misnamed, COSIGN_SIGN_V1, &other),
    ] {
        let (_, artifact) = served_manifest(client, "sign/bundle", referrer);
        assert_eq!(artifact["subject"]["digest"], pushed.digest.as_str());
        let bundle = client
            .blob(
                "sign/bundle",
                artifact["layers"][0]["digest"].as_str().expect("digest"),
            )
            .expect("bundle blob");
        let verified = verify_bundle(&bundle, key.public_pem())
            .expect("run @sigstore/verify")
            .expect("verifies");
        assert_eq!(verified.predicate_type, predicate_type);
        assert_eq!(&verified.subjects, &[subject.to_string()]);
    }
    let (_, artifact) = served_manifest(client, "sign/bundle", &broken);
    let bundle = client
        .blob(
            "sign/bundle",
            artifact["layers"][0]["digest"].as_str().expect("digest"),
        )
        .expect("bundle blob");
    let payload = json(&bundle)["dsseEnvelope"]["payload"]
        .as_str()
        .expect("payload")
        .to_string();
    let statement = json(&BASE64.decode(payload).expect("base64 payload"));
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        pushed.digest.trim_start_matches("sha256:")
    );
    let refused = verify_bundle(&bundle, key.public_pem())
        .expect("run @sigstore/verify")
        .expect_err("a flipped byte must not verify");
    assert!(
        refused.contains("signature verification failed"),
        "{refused}"
    );
}

#[test]
fn legacy_and_bundle_signatures_of_one_image_sit_side_by_side() {
    let registry = Registry::start().expect("start registry");
    let addr = registry.addr();
    let pushed = registry
        .push("sign/both", "v1", &Fixture::new(Kind::DockerV2S2, "both-1"))
        .expect("push");
    let key = SigningKey::generate().expect("key");
    let sig = sign_legacy(&addr, "sign/both", &pushed.digest, &[&key]).expect("legacy");
    let referrer = sign_bundle(&addr, "sign/both", &pushed.digest, &key).expect("bundle");
    let client = registry.client();
    let (served, _) = served_manifest(client, "sign/both", &legacy_tag(&pushed.digest));
    assert_eq!(served, sig);
    let (_, index) = served_manifest(client, "sign/both", &fallback_tag(&pushed.digest));
    assert_eq!(index["manifests"][0]["digest"], referrer.as_str());
    let (_, artifact) = served_manifest(client, "sign/both", &referrer);
    assert_eq!(
        artifact["subject"]["mediaType"],
        media_type::DOCKER_MANIFEST
    );
    assert_eq!(
        sigstore_verdict(&addr, "sign/both", &pushed.digest, &key),
        (1, true)
    );
}
