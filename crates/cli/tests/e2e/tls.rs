//! A registry serving HTTPS with a certificate from a private CA, on
//! loopback. A loopback registry is plain HTTP unless images.toml has a
//! `[registries]` table for it; a table with `ca` (or `insecure = false`)
//! makes it HTTPS, and HTTPS never falls back to plain HTTP.

use std::ffi::OsStr;

use images_testkit::{
    FaultProxy, Fixture, HttpsRedirector, Kind, Registry, RegistryOptions, TestCa, TokenServer,
};

use crate::auth::images_env;
use crate::support::Project;

fn tls_registry(ca: &TestCa) -> Registry {
    Registry::start_with(RegistryOptions {
        tls: Some(ca.server_files().expect("server certificate")),
        ..Default::default()
    })
    .expect("start the TLS registry")
}

fn push_api(registry: &Registry) -> String {
    registry
        .push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push")
        .digest
}

/// images.toml locking `acme/api:v1` from `addr` (`127.0.0.1:PORT` or
/// `localhost:PORT`), with `registry_table` appended.
fn project(addr: &str, registry_table: &str) -> Project {
    Project::new(&format!(
        "[images]\napi = \"{addr}/acme/api:v1\"\n{registry_table}"
    ))
}

fn ca_table(addr: &str, ca: &TestCa) -> String {
    format!(
        "[registries.\"{addr}\"]\nca = \"{}\"\n",
        ca.ca_path().display()
    )
}

#[test]
fn lock_and_verify_work_when_images_toml_names_the_ca() {
    let ca = TestCa::new("private CA").expect("CA");
    let registry = tls_registry(&ca);
    let digest = push_api(&registry);
    for addr in [registry.addr(), format!("localhost:{}", registry.port())] {
        let project = project(&addr, &ca_table(&addr, &ca));
        images_env(&project, &["lock"], &[]).expect_code(0);
        assert_eq!(project.lock().images["api"].digest.to_string(), digest);
        images_env(&project, &["verify"], &[]).expect_code(0);
    }
}

#[test]
fn a_ca_path_in_images_toml_is_relative_to_images_toml() {
    let ca = TestCa::new("private CA").expect("CA");
    let registry = tls_registry(&ca);
    push_api(&registry);
    let addr = registry.addr();
    let project = project(
        &addr,
        &format!("[registries.\"{addr}\"]\nca = \"certs/ca.pem\"\n"),
    );
    std::fs::create_dir(project.path().join("certs")).expect("mkdir");
    std::fs::copy(ca.ca_path(), project.path().join("certs/ca.pem")).expect("copy CA");
    images_env(&project, &["lock"], &[]).expect_code(0);
}

#[test]
fn lock_and_verify_work_with_ssl_cert_file_naming_the_ca() {
    let ca = TestCa::new("private CA").expect("CA");
    let registry = tls_registry(&ca);
    let digest = push_api(&registry);
    let addr = registry.addr();
    // No `ca`: the table only says this loopback registry speaks TLS.
    let project = project(
        &addr,
        &format!("[registries.\"{addr}\"]\ninsecure = false\n"),
    );
    let ca_path = ca.ca_path();
    let env: &[(&str, &OsStr)] = &[("SSL_CERT_FILE", ca_path.as_os_str())];
    images_env(&project, &["lock"], env).expect_code(0);
    assert_eq!(project.lock().images["api"].digest.to_string(), digest);
    images_env(&project, &["verify"], env).expect_code(0);
}

#[test]
fn an_untrusted_certificate_is_a_clear_error_with_exit_3() {
    let ca = TestCa::new("private CA").expect("CA");
    let other = TestCa::new("some other CA").expect("CA");
    let registry = tls_registry(&ca);
    push_api(&registry);
    let addr = registry.addr();
    for table in [
        format!("[registries.\"{addr}\"]\ninsecure = false\n"),
        ca_table(&addr, &other),
    ] {
        // Locked while the CA was trusted, so `verify` has a lock to check.
        let project = project(&addr, &ca_table(&addr, &ca));
        images_env(&project, &["lock"], &[]).expect_code(0);
        let locked = project.lock_bytes();
        project.write_manifest(&format!("[images]\napi = \"{addr}/acme/api:v1\"\n{table}"));
        for args in [&["lock", "--update"][..], &["verify"]] {
            let run = images_env(&project, args, &[]);
            run.expect_code(3);
            // `verify` reports per image on stdout, `lock` on stderr.
            let said = format!("{}{}", run.stdout, run.stderr);
            assert!(
                said.contains(&format!(
                    "the TLS certificate of registry `{addr}` is not trusted"
                )),
                "{said}"
            );
            assert!(said.contains("ca = "), "hint at `ca`: {said}");
            assert!(said.contains("hint: if it uses a private CA"), "{said}");
            // Our message only, not the TLS library's own log line before it.
            assert!(!run.stderr.contains("rustls"), "{}", run.stderr);
        }
        assert_eq!(project.lock_bytes(), locked, "the lock is untouched");
    }
}

#[test]
fn https_is_never_silently_downgraded_to_plain_http() {
    // A plain-HTTP registry where images.toml says HTTPS: the TLS handshake
    // fails and nothing is sent in clear, however often it is retried.
    let registry = Registry::start().expect("start the registry");
    push_api(&registry);
    let addr = registry.addr();
    let ca = TestCa::new("private CA").expect("CA");
    let project = project(&addr, &ca_table(&addr, &ca));
    let run = images_env(&project, &["lock", "--timeout", "5"], &[]);
    run.expect_code(3);
    assert!(run.stderr.contains("did not answer TLS"), "{}", run.stderr);
    assert!(run.stderr.contains(&addr), "{}", run.stderr);
    assert!(project.lock_bytes().is_empty(), "nothing written");
}

#[test]
fn insecure_and_ca_together_are_refused_as_bad_input() {
    let ca = TestCa::new("private CA").expect("CA");
    let project = project(
        "127.0.0.1:1",
        &format!(
            "[registries.\"127.0.0.1:1\"]\ninsecure = true\nca = \"{}\"\n",
            ca.ca_path().display()
        ),
    );
    let run = images_env(&project, &["lock"], &[]);
    run.expect_code(2);
    assert!(run.stderr.contains("insecure"), "{}", run.stderr);
}

/// An HTTPS registry that redirects its manifests to plain HTTP hands the
/// moment of trust to anyone on the way: the redirect is refused (exit 3),
/// the plain-HTTP side is never asked, nothing is written.
#[test]
fn a_redirect_from_https_to_plain_http_is_refused_with_exit_3() {
    let registry = Registry::start().expect("start the registry");
    push_api(&registry);
    // The plain side serves the real manifest: following would lock it.
    let plain = FaultProxy::start(&registry.addr()).expect("start proxy");
    let ca = TestCa::new("private CA").expect("CA");
    let front = HttpsRedirector::start(
        &ca.server_files().expect("server certificate"),
        &format!("http://{}", plain.addr()),
    )
    .expect("start the redirector");
    let project = project(&front.addr(), &ca_table(&front.addr(), &ca));
    let run = images_env(&project, &["lock"], &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("from HTTPS to plain HTTP"),
        "{}",
        run.stderr
    );
    assert!(
        front.requests().iter().any(|r| r.contains("/manifests/")),
        "the manifest was asked for over HTTPS: {:?}",
        front.requests()
    );
    assert!(
        plain.requests().is_empty(),
        "plain HTTP was followed: {:?}",
        plain.requests()
    );
    assert!(project.lock_bytes().is_empty(), "nothing written");
}

/// An HTTPS registry whose challenge names a plain-HTTP token realm would
/// have the user's credentials sent in clear: the realm is refused (exit
/// 3) and the token server gets no request at all.
#[test]
fn a_plain_http_realm_named_by_an_https_registry_gets_no_credentials() {
    const PASSWORD: &str = "realm-Zq8-never-in-clear";
    let server = TokenServer::start(Some(("alice".into(), PASSWORD.into())))
        .expect("start the token server");
    assert!(server.realm().starts_with("http://"), "{}", server.realm());
    let ca = TestCa::new("private CA").expect("CA");
    let registry = Registry::start_with(RegistryOptions {
        tls: Some(ca.server_files().expect("server certificate")),
        token: Some(server.registry_auth()),
        ..Default::default()
    })
    .expect("start the TLS token registry");
    push_api(&registry);
    server.clear_requests();
    let addr = registry.addr();
    let project = project(&addr, &ca_table(&addr, &ca));
    std::fs::write(
        project.docker_config_dir().join("config.json"),
        serde_json::json!({"auths": {addr.clone(): {"username": "alice", "password": PASSWORD}}})
            .to_string(),
    )
    .expect("write config.json");
    let run = images_env(&project, &["lock"], &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("plain-HTTP token realm"),
        "{}",
        run.stderr
    );
    assert!(
        server.requests().is_empty(),
        "the plain-HTTP realm was asked: {:?}",
        server.requests()
    );
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    assert!(project.lock_bytes().is_empty(), "nothing written");
}

/// A registry that offers HTTP/2 by ALPN gets every request of a run over
/// it (so requests share one connection and handshake); the registry's own
/// access log names the protocol of each request.
#[test]
fn requests_to_a_tls_registry_use_http2() {
    let ca = TestCa::new("private CA").expect("CA");
    let registry = Registry::start_with(RegistryOptions {
        tls: Some(ca.server_files().expect("server certificate")),
        access_log: true,
        ..Default::default()
    })
    .expect("start the TLS registry");
    push_api(&registry);
    let addr = registry.addr();
    let project = project(&addr, &ca_table(&addr, &ca));
    images_env(&project, &["lock"], &[]).expect_code(0);
    images_env(&project, &["verify"], &[]).expect_code(0);
    let log = registry.log();
    let ours: Vec<&str> = log.lines().filter(|l| l.contains("images/")).collect();
    assert!(
        ours.iter().any(|l| l.contains("/manifests/")),
        "no request of ours in the access log:\n{log}"
    );
    assert!(
        ours.iter().all(|l| l.contains("HTTP/2.0")),
        "not all over HTTP/2:\n{}",
        ours.join("\n")
    );
}
