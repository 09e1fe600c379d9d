//! The harness's TLS, token-auth and htpasswd registries start, accept the
//! harness's own pushes and refuse what they should.

use images_testkit::{Fixture, Kind, Registry, RegistryOptions, TestCa, TokenServer};

#[test]
fn tls_registry_serves_https_with_a_certificate_from_the_test_ca() {
    let ca = TestCa::new("harness CA").expect("CA");
    let registry = Registry::start_with(RegistryOptions {
        tls: Some(ca.server_files().expect("leaf")),
        ..Default::default()
    })
    .expect("registry");
    assert!(registry.url().starts_with("https://"), "{}", registry.url());
    let pushed = registry
        .push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "tls"))
        .expect("push");
    let served = registry.client().manifest("acme/api", "v1").expect("get");
    assert_eq!(
        served.digest_header.as_deref(),
        Some(pushed.digest.as_str())
    );
}

#[test]
fn token_registry_accepts_tokens_from_the_token_server_only() {
    let server =
        TokenServer::start(Some(("alice".into(), "tok-pass".into()))).expect("token server");
    let registry = Registry::start_with(RegistryOptions {
        token: Some(server.registry_auth()),
        ..Default::default()
    })
    .expect("registry");
    registry
        .push("acme/api", "v1", &Fixture::new(Kind::DockerV2S2, "token"))
        .expect("push");
    assert!(
        server.requests_for("acme/api") > 0,
        "{:?}",
        server.requests()
    );
    let anonymous = images_testkit::RegistryClient::new(&registry.addr()).expect("client");
    let refused = anonymous
        .manifest("acme/api", "v1")
        .expect_err("anonymous clients get no token");
    assert!(format!("{refused:#}").contains("401"), "{refused:#}");
}
