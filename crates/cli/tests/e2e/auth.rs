//! Credentials: Docker's config.json, podman's auth.json, credential
//! helpers, basic and token auth against the real registry, and no secret in
//! any output.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;

use base64::Engine as _;
use images_testkit::{Fixture, Flaw, Kind, Registry, RegistryOptions, TokenServer};

use crate::support::{Project, Run};

const USER: &str = "alice";
/// Distinctive, so a leak is found by a plain substring search.
const PASSWORD: &str = "pw-Qx7vLm2-never-print-me";

fn basic_registry() -> Registry {
    Registry::start_with(RegistryOptions {
        htpasswd: Some((USER.into(), PASSWORD.into())),
        ..Default::default()
    })
    .expect("start the htpasswd registry")
}

fn token_registry(server: &TokenServer) -> Registry {
    Registry::start_with(RegistryOptions {
        token: Some(server.registry_auth()),
        ..Default::default()
    })
    .expect("start the token-auth registry")
}

fn token_server() -> TokenServer {
    TokenServer::start(Some((USER.into(), PASSWORD.into()))).expect("start the token server")
}

/// A project locking `acme/api:v1` from `registry`, pushed there.
fn api_project(registry: &Registry) -> (Project, String) {
    let pushed = registry
        .push("acme/api", "v1", &Fixture::new(Kind::OciIndex, "api"))
        .expect("push");
    let project = Project::new(&format!(
        "[images]\napi = \"{}/acme/api:v1\"\n",
        registry.addr()
    ));
    (project, pushed.digest)
}

/// `acme/api:v1` behind token auth, with the right credentials in the
/// project's config.json and the harness's own token requests forgotten.
struct TokenSetup {
    server: TokenServer,
    registry: Registry,
    project: Project,
    digest: String,
}

fn token_setup() -> TokenSetup {
    let server = token_server();
    let registry = token_registry(&server);
    let (project, digest) = api_project(&registry);
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {registry.addr(): {"auth": basic_auth_value(USER, PASSWORD)}}}),
    );
    server.clear_requests();
    TokenSetup {
        server,
        registry,
        project,
        digest,
    }
}

fn basic_auth_value(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn write_docker_config(project: &Project, json: &serde_json::Value) {
    std::fs::write(
        project.docker_config_dir().join("config.json"),
        json.to_string(),
    )
    .expect("write config.json");
}

/// Runs `images ARGS` with `env` on top of the hermetic environment of
/// [`Project::command`], which also keeps podman's
/// `$XDG_CONFIG_HOME/containers/auth.json` of the developer out.
pub fn images_env(project: &Project, args: &[&str], env: &[(&str, &OsStr)]) -> Run {
    let output = project
        .command(args)
        .env("XDG_CONFIG_HOME", project.docker_config_dir())
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(env.iter().copied())
        .output()
        .expect("run images");
    Run::from(output)
}

fn expect_locked_and_verified(project: &Project, digest: &str, env: &[(&str, &OsStr)]) {
    images_env(project, &["lock"], env).expect_code(0);
    let lock = project.lock();
    let entry = lock.images.get("api").expect("api is locked");
    assert_eq!(entry.digest.to_string(), digest);
    images_env(project, &["verify"], env).expect_code(0);
}

/// A `docker-credential-test` on a PATH of its own, answering `secret`
/// for `server`, recording each call's stdin in `calls.log`.
struct FakeHelper {
    dir: tempfile::TempDir,
}

impl FakeHelper {
    fn new(server: &str, user: &str, secret: &str) -> FakeHelper {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("calls.log");
        let script = format!(
            "#!/bin/sh\n\
             [ \"$1\" = get ] || exit 2\n\
             read -r server\n\
             printf '%s\\n' \"$server\" >> '{log}'\n\
             if [ \"$server\" = '{server}' ]; then\n\
               printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\\n' \"$server\"\n\
             else\n\
               echo 'credentials not found in native keychain'\n\
               exit 1\n\
             fi\n",
            log = log.display()
        );
        let path = dir.path().join("docker-credential-test");
        std::fs::write(&path, script).expect("write helper");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod helper");
        FakeHelper { dir }
    }

    /// PATH with the helper's directory first.
    fn path_env(&self) -> std::ffi::OsString {
        path_with(self.dir.path())
    }

    /// The server names the helper was asked about, one per call.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

#[test]
fn lock_and_verify_use_docker_config_auths_with_base64_auth() {
    let registry = basic_registry();
    let (project, digest) = api_project(&registry);
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {registry.addr(): {"auth": basic_auth_value(USER, PASSWORD)}}}),
    );
    expect_locked_and_verified(&project, &digest, &[]);
}

#[test]
fn lock_and_verify_use_podman_auth_json_from_registry_auth_file() {
    let registry = basic_registry();
    let (project, digest) = api_project(&registry);
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let auth_file = elsewhere.path().join("podman-auth.json");
    std::fs::write(
        &auth_file,
        serde_json::json!({"auths": {registry.addr(): {"auth": basic_auth_value(USER, PASSWORD)}}})
            .to_string(),
    )
    .expect("write auth.json");
    expect_locked_and_verified(
        &project,
        &digest,
        &[("REGISTRY_AUTH_FILE", auth_file.as_os_str())],
    );
}

#[test]
fn lock_and_verify_use_a_credential_helper_named_in_cred_helpers() {
    let registry = basic_registry();
    let (project, digest) = api_project(&registry);
    let helper = FakeHelper::new(&registry.addr(), USER, PASSWORD);
    // credHelpers wins over an `auths` entry for the same registry.
    write_docker_config(
        &project,
        &serde_json::json!({
            "auths": {registry.addr(): {"auth": basic_auth_value(USER, "stale-password")}},
            "credHelpers": {registry.addr(): "test"},
        }),
    );
    let path = helper.path_env();
    expect_locked_and_verified(&project, &digest, &[("PATH", path.as_os_str())]);
    assert_eq!(
        helper.calls(),
        [registry.addr(), registry.addr()],
        "the helper runs once per command and registry"
    );
}

#[test]
fn lock_uses_creds_store_for_registries_without_a_helper() {
    let registry = basic_registry();
    let (project, digest) = api_project(&registry);
    let helper = FakeHelper::new(&registry.addr(), USER, PASSWORD);
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {registry.addr(): {}}, "credsStore": "test"}),
    );
    let path = helper.path_env();
    expect_locked_and_verified(&project, &digest, &[("PATH", path.as_os_str())]);
}

#[test]
fn lock_without_credentials_fails_with_exit_3_and_says_how_to_log_in() {
    let registry = basic_registry();
    let (project, _) = api_project(&registry);
    let run = images_env(&project, &["lock"], &[]);
    run.expect_code(3);
    assert!(run.stderr.contains(&registry.addr()), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("docker login {}", registry.addr())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no credentials"), "{}", run.stderr);
    // The resolver says what happened; the binary says what to do, once.
    let hint = format!("hint: log in with `docker login {}`", registry.addr());
    assert_eq!(run.stderr.matches(&hint).count(), 1, "{}", run.stderr);
    assert!(project.lock_bytes().is_empty(), "nothing written");
}

#[test]
fn lock_with_a_wrong_password_fails_with_exit_3_without_printing_it() {
    let registry = basic_registry();
    let (project, _) = api_project(&registry);
    let wrong = "wrong-pw-Zk4-never-print-me";
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {registry.addr(): {"auth": basic_auth_value(USER, wrong)}}}),
    );
    for args in [
        &["lock"][..],
        &["lock", "-vv"],
        &["lock", "--format", "json"],
    ] {
        let run = images_env(&project, args, &[]);
        run.expect_code(3);
        assert!(run.stderr.contains(&registry.addr()), "{}", run.stderr);
        assert!(
            run.stderr.contains("refused the credentials"),
            "{}",
            run.stderr
        );
        assert_no_secret(&run, &[wrong, &basic_auth_value(USER, wrong)]);
    }
}

#[test]
fn a_malformed_docker_config_is_an_error_naming_the_file() {
    let registry = basic_registry();
    let (project, _) = api_project(&registry);
    let config = project.docker_config_dir().join("config.json");
    std::fs::write(
        &config,
        format!("{{\"auths\": {{\"x\": {{\"auth\": \"{PASSWORD}\"}}"),
    )
    .expect("write config.json");
    let run = images_env(&project, &["lock"], &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains(&config.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("not valid JSON"), "{}", run.stderr);
    assert_no_secret(&run, &[PASSWORD]);
}

#[test]
fn lock_and_verify_through_token_auth() {
    let server = token_server();
    let registry = token_registry(&server);
    let (project, digest) = api_project(&registry);
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {registry.addr(): {"username": USER, "password": PASSWORD}}}),
    );
    server.clear_requests();
    expect_locked_and_verified(&project, &digest, &[]);
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.granted && r.user.as_deref() == Some(USER)),
        "{requests:#?}"
    );
}

#[test]
fn token_auth_without_credentials_fails_with_exit_3() {
    let server = token_server();
    let registry = token_registry(&server);
    let (project, _) = api_project(&registry);
    let run = images_env(&project, &["lock"], &[]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains(&format!("docker login {}", registry.addr())),
        "{}",
        run.stderr
    );
}

/// Many tags of one repository, resolved eight at a time, share one token.
#[test]
fn tokens_are_fetched_once_per_repository_not_once_per_request() {
    let server = token_server();
    let registry = token_registry(&server);
    let a = registry.addr();
    let mut manifest = String::from("[images]\n");
    let api = Fixture::new(Kind::DockerV2S2, "api");
    let web = Fixture::new(Kind::OciIndex, "web");
    registry.push("acme/api", "v0", &api).expect("push");
    registry.push("acme/web", "v0", &web).expect("push");
    for i in 0..16 {
        registry
            .client()
            .tag("acme/api", &format!("v{i}"), &api)
            .expect("tag");
        manifest.push_str(&format!("api{i} = \"{a}/acme/api:v{i}\"\n"));
    }
    for i in 0..4 {
        registry
            .client()
            .tag("acme/web", &format!("v{i}"), &web)
            .expect("tag");
        manifest.push_str(&format!("web{i} = \"{a}/acme/web:v{i}\"\n"));
    }
    let project = Project::new(&manifest);
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {a.clone(): {"auth": basic_auth_value(USER, PASSWORD)}}}),
    );
    for command in ["lock", "verify"] {
        server.clear_requests();
        project.images(&[command, "--jobs", "8"]).expect_code(0);
        assert_eq!(
            server.requests_for("acme/api"),
            1,
            "{command}: {:#?}",
            server.requests()
        );
        assert_eq!(
            server.requests_for("acme/web"),
            1,
            "{command}: {:#?}",
            server.requests()
        );
        assert_eq!(server.requests().len(), 2, "{:#?}", server.requests());
    }
}

#[test]
fn one_token_serves_every_repository_when_the_registry_accepts_it() {
    let server = token_server();
    let registry = token_registry(&server);
    let a = registry.addr();
    let repositories = ["team/a", "team/b", "team/c", "team/d"];
    let mut manifest = String::from("[images]\n");
    for repo in repositories {
        registry
            .push(repo, "v1", &Fixture::new(Kind::OciManifest, repo))
            .expect("push");
        manifest.push_str(&format!("{} = \"{a}/{repo}:v1\"\n", repo.replace('/', "-")));
    }
    let project = Project::new(&manifest);
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {a.clone(): {"auth": basic_auth_value(USER, PASSWORD)}}}),
    );

    // Tokens that cover every repository, as account-wide tokens do.
    server.also_grant(&repositories);
    server.clear_requests();
    project.images(&["lock", "--jobs", "1"]).expect_code(0);
    assert_eq!(server.requests().len(), 1, "{:#?}", server.requests());

    // Tokens scoped to one repository, as distribution's: one try, then a
    // token per repository, and the run still succeeds.
    server.also_grant(&[]);
    server.clear_requests();
    project.images(&["verify", "--jobs", "1"]).expect_code(0);
    assert_eq!(
        server.requests().len(),
        repositories.len(),
        "{:#?}",
        server.requests()
    );
}

#[test]
fn a_token_refused_for_insufficient_scope_is_fetched_again_once() {
    let TokenSetup {
        server,
        registry: _registry,
        project,
        digest,
    } = token_setup();
    server.flaw_next(Flaw::WrongScope, 1);
    images_env(&project, &["lock"], &[]).expect_code(0);
    assert_eq!(project.lock().images["api"].digest.to_string(), digest);
    assert_eq!(
        server.requests_for("acme/api"),
        2,
        "{:#?}",
        server.requests()
    );
}

#[test]
fn a_token_refused_every_time_gives_up_after_one_new_token() {
    let TokenSetup {
        server,
        registry,
        project,
        ..
    } = token_setup();
    server.flaw_next(Flaw::WrongScope, 1000);
    let run = images_env(&project, &["lock"], &[]);
    run.expect_code(3);
    assert!(run.stderr.contains(&registry.addr()), "{}", run.stderr);
    assert_eq!(
        server.requests_for("acme/api"),
        2,
        "{:#?}",
        server.requests()
    );
}

#[test]
fn an_expired_token_is_replaced_by_a_fresh_one() {
    let TokenSetup {
        server,
        registry: _registry,
        project,
        digest,
    } = token_setup();
    server.flaw_next(Flaw::Expired, 1);
    expect_locked_and_verified(&project, &digest, &[]);
    assert_eq!(
        server.requests_for("acme/api"),
        3,
        "lock: the expired token and its replacement; verify: one: {:#?}",
        server.requests()
    );
}

/// Every command, at every verbosity and format, against both kinds of
/// authenticated registry: the password, its base64 form and every token
/// the token server issued are nowhere in stdout or stderr.
#[test]
fn no_secret_appears_in_any_output_at_any_verbosity() {
    let server = token_server();
    let token_reg = token_registry(&server);
    let basic_reg = basic_registry();
    let fixture = Fixture::new(Kind::OciIndex, "app");
    token_reg.push("acme/app", "v1", &fixture).expect("push");
    basic_reg.push("acme/app", "v1", &fixture).expect("push");
    let (t, b) = (token_reg.addr(), basic_reg.addr());
    let project = Project::new(&format!(
        "[images]\ntoken = \"{t}/acme/app:v1\"\nbasic = \"{b}/acme/app:v1\"\n"
    ));
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {
            t.clone(): {"auth": basic_auth_value(USER, PASSWORD)},
            b.clone(): {"username": USER, "password": PASSWORD},
        }}),
    );
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(project.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .output()
            .expect("run git");
        assert!(status.status.success(), "git {args:?}: {status:?}");
    };
    let mut runs: Vec<(String, Run)> = Vec::new();
    let variants: [&[&str]; 4] = [&["-vv"], &["-v"], &["-vv", "--format", "json"], &[]];
    let mut first = true;
    for extra in variants {
        for command in ["lock", "verify", "list", "diff"] {
            let mut args = vec![command];
            if command == "lock" {
                args.push("--update");
            }
            args.extend_from_slice(extra);
            let run = images_env(&project, &args, &[]);
            if command == "lock" || command == "verify" {
                run.expect_code(0);
            }
            runs.push((args.join(" "), run));
            if first && command == "lock" {
                git(&["init", "-q"]);
                git(&["add", "images.lock", "images.toml"]);
                git(&["commit", "-q", "-m", "lock"]);
                first = false;
            }
        }
    }
    // A failing run prints the most: wrong credentials on both registries.
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {
            t.clone(): {"auth": basic_auth_value(USER, &format!("{PASSWORD}-x"))},
            b.clone(): {"auth": basic_auth_value(USER, &format!("{PASSWORD}-x"))},
        }}),
    );
    for args in [&["lock", "--update", "-vv"][..], &["verify", "-vv"]] {
        let run = images_env(&project, args, &[]);
        run.expect_code(3);
        runs.push((args.join(" "), run));
    }
    let tokens = server.issued_tokens();
    assert!(!tokens.is_empty(), "the token registry was used");
    let mut secrets: Vec<String> = vec![
        PASSWORD.to_string(),
        basic_auth_value(USER, PASSWORD),
        basic_auth_value(USER, &format!("{PASSWORD}-x")),
    ];
    for token in &tokens {
        secrets.push(token.clone());
        // A token's signature alone is as good as the token to a log reader.
        secrets.extend(token.rsplit('.').next().map(str::to_string));
    }
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let mut verbose_bytes = 0;
    for (args, run) in &runs {
        if args.contains("-vv") {
            verbose_bytes += run.stderr.len();
        }
        for secret in &secrets {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "`images {args}` printed a secret"
            );
        }
    }
    // The test only means something if -vv really printed the debug logs.
    assert!(
        verbose_bytes > 10_000,
        "-vv printed only {verbose_bytes} bytes"
    );
}

#[track_caller]
fn assert_no_secret(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret was printed\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout.replace(secret, "[SECRET]"),
            run.stderr.replace(secret, "[SECRET]")
        );
    }
}

/// An `identitytoken` is a refresh token: it is traded at the realm by the
/// OAuth2 form (`POST`, `grant_type=refresh_token`), the only way this
/// token server takes it; sent to the registry as a bearer token, it is
/// refused.
#[test]
fn an_identity_token_is_traded_for_access_tokens_at_the_realm() {
    const REFRESH: &str = "refresh-Hk3-never-print-me";
    let server =
        TokenServer::start_with(Some((USER.into(), PASSWORD.into())), Some(REFRESH.into()))
            .expect("start the token server");
    let registry = token_registry(&server);
    let (project, digest) = api_project(&registry);
    write_docker_config(
        &project,
        &serde_json::json!({"auths": {registry.addr(): {"identitytoken": REFRESH}}}),
    );
    server.clear_requests();
    expect_locked_and_verified(&project, &digest, &[]);
    let requests = server.requests();
    assert!(!requests.is_empty(), "no token was asked for");
    assert!(
        requests.iter().all(|r| r.method == "POST" && r.granted),
        "{requests:#?}"
    );
    let run = images_env(&project, &["lock", "--update", "-vv"], &[]);
    run.expect_code(0);
    assert_no_secret(&run, &[REFRESH]);
}

/// PATH with `dir` first, where a test's credential helper is.
fn path_with(dir: &std::path::Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).expect("join PATH")
}

/// A `docker-credential-hang` that records its pid and never answers.
fn hanging_helper() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("helper.pid");
    let script = format!(
        "#!/bin/sh\necho $$ > '{}'\nexec sleep 120\n",
        pid_file.display()
    );
    let path = dir.path().join("docker-credential-hang");
    std::fs::write(&path, script).expect("write helper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod helper");
    (dir, pid_file)
}

/// `images ARGS` with the hanging helper on PATH, as a child to signal.
fn spawn_with_hanging_helper(
    project: &Project,
    helper_dir: &std::path::Path,
    args: &[&str],
) -> std::process::Child {
    project
        .command(args)
        .env("XDG_CONFIG_HOME", project.docker_config_dir())
        .env("PATH", path_with(helper_dir))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn images")
}

/// Waits for `child` to end by itself, for at most a minute (a liveness
/// bound, not a timing target); kills it and fails the test otherwise.
fn ends_by_itself(mut child: std::process::Child, what: &str) -> Run {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait for images").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("images still running a minute after {what}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Run::from(child.wait_with_output().expect("output of images"))
}

/// Whether the process whose pid is in `pid_file` is gone (given a few
/// seconds to be reaped).
fn helper_is_gone(pid_file: &std::path::Path) -> bool {
    let pid = std::fs::read_to_string(pid_file).expect("the helper ran");
    let proc = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    for _ in 0..100 {
        let state = std::fs::read_to_string(proc.join("status")).unwrap_or_default();
        if !proc.exists() || state.contains("State:\tZ") {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

fn hanging_helper_project() -> (Registry, Project) {
    let registry = basic_registry();
    let (project, _) = api_project(&registry);
    write_docker_config(
        &project,
        &serde_json::json!({"credHelpers": {registry.addr(): "hang"}}),
    );
    (registry, project)
}

#[test]
fn a_hanging_credential_helper_is_stopped_at_the_timeout() {
    let (_registry, project) = hanging_helper_project();
    let (dir, pid_file) = hanging_helper();
    let child = spawn_with_hanging_helper(&project, dir.path(), &["lock", "--timeout", "2"]);
    let run = ends_by_itself(child, "its --timeout 2");
    run.expect_code(3);
    assert!(
        run.stderr.contains("docker-credential-hang") && run.stderr.contains("within 2s"),
        "{}",
        run.stderr
    );
    assert!(helper_is_gone(&pid_file), "the helper was left running");
    assert!(project.lock_bytes().is_empty(), "nothing written");
}

#[test]
fn a_hanging_credential_helper_is_stopped_by_ctrl_c_with_exit_130() {
    let (_registry, project) = hanging_helper_project();
    let (dir, pid_file) = hanging_helper();
    let child = spawn_with_hanging_helper(&project, dir.path(), &["lock"]);
    // Ctrl-C once the helper hangs.
    for _ in 0..600 {
        if pid_file.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(pid_file.exists(), "the helper never ran");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let run = ends_by_itself(child, "Ctrl-C");
    run.expect_code(130);
    assert!(helper_is_gone(&pid_file), "the helper was left running");
    assert!(project.lock_bytes().is_empty(), "nothing written");
}

/// A helper that fails may print the secret on stderr (a debug line, a
/// dumped request): it is never shown.
#[test]
fn a_failing_credential_helper_s_stderr_is_not_shown() {
    let registry = basic_registry();
    let (project, _) = api_project(&registry);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("docker-credential-leaky");
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho 'debug: password={PASSWORD}' >&2\nexit 1\n"),
    )
    .expect("write helper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod helper");
    write_docker_config(
        &project,
        &serde_json::json!({"credHelpers": {registry.addr(): "leaky"}}),
    );
    let joined = path_with(dir.path());
    for verbosity in ["-v", "-vv"] {
        let run = images_env(
            &project,
            &["lock", verbosity],
            &[("PATH", joined.as_os_str())],
        );
        run.expect_code(3);
        assert!(
            run.stderr.contains("docker-credential-leaky"),
            "{}",
            run.stderr
        );
        assert_no_secret(&run, &[PASSWORD]);
    }
}

/// A broken token endpoint that echoes the request (its `Authorization`
/// header) in its error body: the body is never logged or shown, at any
/// `-v`.
#[test]
fn a_token_endpoint_s_error_body_is_never_printed() {
    let TokenSetup {
        server,
        registry: _registry,
        project,
        ..
    } = token_setup();
    server.flaw_next(Flaw::EchoCredentials, 1000);
    for verbosity in ["-v", "-vv"] {
        let run = images_env(&project, &["lock", verbosity], &[]);
        run.expect_code(3);
        assert_no_secret(&run, &[PASSWORD, &basic_auth_value(USER, PASSWORD)]);
    }
    assert!(
        server.requests().iter().any(|r| r.user.is_some()),
        "the credentials reached the token endpoint: {:#?}",
        server.requests()
    );
}
