//! `images-bench`: how fast `images` resolves against a real registry,
//! as ratios to a raw keep-alive client measured in the same run.
//!
//! ```text
//! cargo build --release -p images-cli -p images-testkit
//! target/release/images-bench [N...] [--jobs J] [--skopeo-sample S]
//! ```
//!
//! For each N (default 100 1000 10000) it starts its own registry on
//! loopback, pushes N tags of the four manifest kinds over N/10
//! repositories, and measures: a raw GET and a raw HEAD baseline (one
//! request per tag, keep-alive, J in flight), cold `images lock`,
//! `images verify`, `images lock` with nothing changed, reading the
//! images.lock it wrote in process (the line reader, the general parser,
//! and CRLF), and `skopeo inspect` 8 in parallel (on a sample of S tags,
//! scaled to N).
//!
//! `images-bench --latency MS [N...]` measures instead against a TLS
//! registry (which offers HTTP/2) behind a latency proxy of ours, MS
//! milliseconds each way: `images verify` and cold `images lock` against
//! `curl --http2 -Z --parallel-max 100` making the same HEADs and GETs,
//! and `skopeo inspect` 8 in parallel on a sample; with the connections
//! each opened. `--token` adds a token-auth registry whose token server
//! is behind such a proxy too, against one token request for every
//! repository followed by curl.
//!
//! `images-bench --serve N DIR` only sets up: registry, N tags, and
//! DIR/images.toml, then waits for Enter, so a profiler can be pointed
//! at `images verify` run in DIR (see docs/performance.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::stream::{self, StreamExt};
use images_lockfile::Lockfile;
use images_testkit::{
    Fixture, Kind, LatencyProxy, Registry, RegistryOptions, TestCa, TokenServer,
    ACCEPT_ALL_MANIFESTS, TOKEN_SERVICE,
};

const KINDS: [Kind; 4] = [
    Kind::OciIndex,
    Kind::DockerV2S2,
    Kind::DockerManifestList,
    Kind::OciManifest,
];
const TAGS_PER_REPO: usize = 10;

fn main() -> anyhow::Result<()> {
    let mut sizes = Vec::new();
    let mut jobs = 16;
    let mut skopeo_sample = 400;
    let mut serve: Option<PathBuf> = None;
    let mut latency: Option<u64> = None;
    let mut token = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--jobs" => jobs = args.next().context("--jobs needs a number")?.parse()?,
            "--skopeo-sample" => {
                skopeo_sample = args
                    .next()
                    .context("--skopeo-sample needs a number")?
                    .parse()?
            }
            "--latency" => {
                latency = Some(
                    args.next()
                        .context("--latency needs milliseconds")?
                        .parse()?,
                )
            }
            "--token" => token = true,
            "--serve" => serve = Some(args.next().context("--serve needs N and DIR")?.into()),
            "-h" | "--help" => {
                println!("usage: images-bench [N...] [--jobs J] [--skopeo-sample S]\n       images-bench --latency MS [N...] [--skopeo-sample S] [--token]\n       images-bench N --serve DIR");
                return Ok(());
            }
            n => sizes.push(
                n.parse::<usize>()
                    .with_context(|| format!("not a size: {n}"))?,
            ),
        }
    }
    if let Some(dir) = serve {
        let n = sizes.first().copied().unwrap_or(1000);
        let registry = Registry::start()?;
        let tags = push_tags(&registry, n)?;
        write_manifest(&dir, &registry.addr(), &tags)?;
        println!(
            "ready: {n} tags on {}; images.toml in {}",
            registry.addr(),
            dir.display()
        );
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    if let Some(ms) = latency {
        let images = sibling_binary("images")?;
        for n in if sizes.is_empty() { vec![1000] } else { sizes } {
            if token {
                bench_token_latency(&images, n, Duration::from_millis(ms))?;
            } else {
                bench_latency(
                    &images,
                    n,
                    Duration::from_millis(ms),
                    skopeo_sample.min(100),
                )?;
            }
        }
        return Ok(());
    }
    if sizes.is_empty() {
        sizes = vec![100, 1000, 10000];
    }
    let images = sibling_binary("images")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut verify_times = Vec::new();
    for n in sizes {
        let result = bench_size(&runtime, &images, n, jobs, skopeo_sample)?;
        verify_times.push((n, result));
    }
    if verify_times.len() > 1 {
        println!("\ngrowth (time ratio between sizes; linear = size ratio):");
        for pair in verify_times.windows(2) {
            let ((n0, t0), (n1, t1)) = (&pair[0], &pair[1]);
            println!(
                "  {n0} -> {n1} tags ({:.0}x): lock {:.1}x, verify {:.1}x",
                *n1 as f64 / *n0 as f64,
                t1.0.as_secs_f64() / t0.0.as_secs_f64(),
                t1.1.as_secs_f64() / t0.1.as_secs_f64()
            );
        }
    }
    Ok(())
}

/// The `images` binary built beside this one (same profile).
fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    if !path.exists() {
        bail!(
            "`{}` not found: build it first with `cargo build --release -p images-cli -p images-testkit`",
            path.display()
        );
    }
    Ok(path)
}

/// (lock wall, verify wall) for the growth summary.
fn bench_size(
    runtime: &tokio::runtime::Runtime,
    images: &Path,
    n: usize,
    jobs: usize,
    skopeo_sample: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let registry = Registry::start()?;
    let repos = n.div_ceil(TAGS_PER_REPO);
    eprintln!("N={n}: pushing {n} tags over {repos} repositories...");
    let started = Instant::now();
    let tags = push_tags(&registry, n)?;
    eprintln!("  pushed in {:.1}s", started.elapsed().as_secs_f64());

    let dir = tempfile::tempdir()?;
    write_manifest(dir.path(), &registry.addr(), &tags)?;

    let base = format!("http://{}", registry.addr());
    let get = runtime.block_on(raw_baseline(&base, &tags, jobs, reqwest::Method::GET))?;
    let head = runtime.block_on(raw_baseline(&base, &tags, jobs, reqwest::Method::HEAD))?;
    let jobs_arg = jobs.to_string();
    let lock = run_images(images, dir.path(), &["lock", "--jobs", &jobs_arg, "-q"], 0)?;
    let verify = run_images(
        images,
        dir.path(),
        &["verify", "--jobs", &jobs_arg, "-q"],
        0,
    )?;
    let unchanged = run_images(images, dir.path(), &["lock", "-q"], 0)?;
    let [line_reader, general, crlf] = lock_readers(&dir.path().join("images.lock"))?;
    let skopeo = skopeo_inspect(&registry.addr(), &tags, skopeo_sample.min(n))?;

    println!("\nN = {n} tags in {repos} repositories, {jobs} in flight");
    println!(
        "{:<34} {:>9} {:>10} {:>10} {:>14}",
        "measure", "wall", "tags/s", "peak RSS", "ratio"
    );
    let row = |name: &str, wall: Duration, rss: Option<u64>, ratio: String| {
        println!(
            "{:<34} {:>8.3}s {:>10.0} {:>10} {:>14}",
            name,
            wall.as_secs_f64(),
            n as f64 / wall.as_secs_f64().max(1e-9),
            rss.map_or("-".to_string(), |kib| format!(
                "{:.1} MiB",
                kib as f64 / 1024.0
            )),
            ratio
        )
    };
    let ratio = |a: Duration, b: Duration| format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64());
    row(
        "raw GET baseline (keep-alive)",
        get,
        None,
        "1.00x GET".into(),
    );
    row(
        "raw HEAD baseline (keep-alive)",
        head,
        None,
        "1.00x HEAD".into(),
    );
    row(
        "images lock (cold)",
        lock.wall,
        Some(lock.peak_rss_kib),
        format!("{} GET", ratio(lock.wall, get)),
    );
    row(
        "images verify",
        verify.wall,
        Some(verify.peak_rss_kib),
        format!("{} HEAD", ratio(verify.wall, head)),
    );
    row(
        "images lock (nothing changed)",
        unchanged.wall,
        Some(unchanged.peak_rss_kib),
        "0 requests".into(),
    );
    row(
        "read images.lock: line reader",
        line_reader,
        None,
        "1.00x".into(),
    );
    row(
        "read images.lock: general parser",
        general,
        None,
        format!("{} line reader", ratio(general, line_reader)),
    );
    row(
        "read images.lock: CRLF",
        crlf,
        None,
        format!("{} line reader", ratio(crlf, line_reader)),
    );
    if let Some((sample, wall)) = skopeo {
        let scaled = wall.mul_f64(n as f64 / sample as f64);
        let label = if sample == n {
            "skopeo inspect, 8 in parallel".to_string()
        } else {
            format!("skopeo inspect x8 ({sample}, scaled)")
        };
        row(
            &label,
            scaled,
            None,
            format!(
                "verify {:.0}x faster",
                scaled.as_secs_f64() / verify.wall.as_secs_f64()
            ),
        );
    } else {
        println!(
            "{:<34} (skopeo not installed)",
            "skopeo inspect, 8 in parallel"
        );
    }
    Ok((lock.wall, verify.wall))
}

/// How long `Lockfile::parse` takes, in process and best of five, on the
/// lock `images lock` wrote: as written (the line reader of `lock_fast`),
/// with a comment above its header (the same lock, which the line reader
/// declines on its first line, so the general parser reads all of it),
/// and with CRLF line endings, as a Windows checkout has it.
fn lock_readers(path: &Path) -> anyhow::Result<[Duration; 3]> {
    let text = std::fs::read_to_string(path)?;
    let expected = Lockfile::parse(&text, path)?;
    let variants = [
        text.clone(),
        format!("# edited\n{text}"),
        text.replace('\n', "\r\n"),
    ];
    let mut best = [Duration::MAX; 3];
    // Interleaved, so that a busy moment of a shared machine costs each
    // reader alike.
    for _ in 0..5 {
        for (slot, variant) in best.iter_mut().zip(&variants) {
            let started = Instant::now();
            let lock = Lockfile::parse(variant, path)?;
            *slot = (*slot).min(started.elapsed());
            if lock != expected {
                bail!("a variant of {} read as another lock", path.display());
            }
        }
    }
    Ok(best)
}

/// `images` against curl over HTTP/2 and skopeo, through a latency proxy
/// `delay` each way in front of a TLS registry.
fn bench_latency(
    images: &Path,
    n: usize,
    delay: Duration,
    skopeo_sample: usize,
) -> anyhow::Result<()> {
    let ca = TestCa::new("images-bench CA")?;
    let registry = Registry::start_with(RegistryOptions {
        tls: Some(ca.server_files()?),
        ..Default::default()
    })?;
    eprintln!("N={n}: pushing {n} tags to a TLS registry...");
    let tags = push_tags(&registry, n)?;
    let proxy = LatencyProxy::start(&registry.addr(), delay)?;
    let addr = proxy.addr();
    let dir = tempfile::tempdir()?;
    write_tls_manifest(dir.path(), &addr, &tags, &ca)?;

    let counted = |run: &dyn Fn() -> anyhow::Result<Duration>| -> anyhow::Result<(Duration, u64)> {
        let before = proxy.connections();
        let wall = run()?;
        Ok((wall, proxy.connections() - before))
    };
    let curl_head =
        counted(&|| curl_parallel(&addr, &ca.ca_path(), &tags, dir.path(), true, None))?;
    let curl_get =
        counted(&|| curl_parallel(&addr, &ca.ca_path(), &tags, dir.path(), false, None))?;
    let lock =
        counted(&|| Ok(run_images(images, dir.path(), &["lock", "--jobs", "100", "-q"], 0)?.wall))?;
    let verify = counted(&|| {
        Ok(run_images(images, dir.path(), &["verify", "--jobs", "100", "-q"], 0)?.wall)
    })?;
    let skopeo =
        counted(&|| {
            Ok(skopeo_inspect(&addr, &tags, skopeo_sample)?
                .map_or(Duration::ZERO, |(sample, wall)| {
                    wall.mul_f64(n as f64 / sample as f64)
                }))
        })?;

    println!(
        "\nN = {n} tags, TLS registry behind {} ms each way",
        delay.as_millis()
    );
    println!(
        "{:<44} {:>9} {:>12} {:>16}",
        "measure", "wall", "connections", "ratio"
    );
    let row = |name: &str, (wall, connections): (Duration, u64), ratio: String| {
        println!(
            "{:<44} {:>8.3}s {:>12} {:>16}",
            name,
            wall.as_secs_f64(),
            connections,
            ratio
        )
    };
    let ratio = |a: Duration, b: Duration| format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64());
    row(
        "curl --http2 -Z --parallel-max 100, HEAD",
        curl_head,
        "1.00x HEAD".into(),
    );
    row(
        "curl --http2 -Z --parallel-max 100, GET",
        curl_get,
        "1.00x GET".into(),
    );
    row(
        "images verify --jobs 100",
        verify,
        format!("{} HEAD", ratio(verify.0, curl_head.0)),
    );
    row(
        "images lock --jobs 100 (cold)",
        lock,
        format!("{} GET", ratio(lock.0, curl_get.0)),
    );
    if skopeo.0 > Duration::ZERO {
        row(
            &format!("skopeo inspect x8 ({skopeo_sample}, scaled)"),
            skopeo,
            format!(
                "verify {:.0}x faster",
                skopeo.0.as_secs_f64() / verify.0.as_secs_f64()
            ),
        );
    }
    Ok(())
}

/// A token-auth TLS registry and its TLS token server, each behind a
/// latency proxy `delay` each way: `images verify` (a token per
/// repository) against one token request naming every repository's scope
/// followed by curl's HEADs over HTTP/2.
fn bench_token_latency(images: &Path, n: usize, delay: Duration) -> anyhow::Result<()> {
    const USER: (&str, &str) = ("bench", "bench-password");
    let ca = TestCa::new("images-bench CA")?;
    let server = TokenServer::start_tls(Some((USER.0.into(), USER.1.into())), &ca.server_files()?)?;
    let token_proxy = LatencyProxy::start(&server.addr(), Duration::ZERO)?;
    let mut auth = server.registry_auth();
    auth.realm = format!("https://{}/token", token_proxy.addr());
    let registry = Registry::start_with(RegistryOptions {
        tls: Some(ca.server_files()?),
        token: Some(auth),
        ..Default::default()
    })?;
    eprintln!("N={n}: pushing {n} tags to a token-auth TLS registry...");
    let tags = push_tags(&registry, n)?;
    let proxy = LatencyProxy::start(&registry.addr(), Duration::ZERO)?;
    token_proxy.set_delay(delay);
    proxy.set_delay(delay);
    let addr = proxy.addr();
    let dir = tempfile::tempdir()?;
    write_tls_manifest(dir.path(), &addr, &tags, &ca)?;
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::json!({"auths": {addr.clone(): {"username": USER.0, "password": USER.1}}})
            .to_string(),
    )?;

    let mut repositories: Vec<&str> = tags.iter().map(|(r, _)| r.as_str()).collect();
    repositories.dedup();
    let started = Instant::now();
    let before = proxy.connections() + token_proxy.connections();
    let mut url = format!(
        "https://{}/token?service={TOKEN_SERVICE}",
        token_proxy.addr()
    );
    for repo in &repositories {
        url.push_str(&format!("&scope=repository:{repo}:pull"));
    }
    let answer = Command::new("curl")
        .args([
            "-s",
            "--fail",
            "--http2",
            "-u",
            &format!("{}:{}", USER.0, USER.1),
        ])
        .arg("--cacert")
        .arg(ca.ca_path())
        .arg(&url)
        .output()
        .context("running curl for a token")?;
    let token: serde_json::Value =
        serde_json::from_slice(&answer.stdout).context("the token server's answer to curl")?;
    let token = token["token"]
        .as_str()
        .context("no token for curl")?
        .to_string();
    curl_parallel(&addr, &ca.ca_path(), &tags, dir.path(), true, Some(&token))?;
    let curl = (
        started.elapsed(),
        proxy.connections() + token_proxy.connections() - before,
    );
    let before = proxy.connections() + token_proxy.connections();
    let lock = run_images(images, dir.path(), &["lock", "--jobs", "100", "-q"], 0)?.wall;
    let lock = (
        lock,
        proxy.connections() + token_proxy.connections() - before,
    );
    let before = proxy.connections() + token_proxy.connections();
    let verify = run_images(images, dir.path(), &["verify", "--jobs", "100", "-q"], 0)?.wall;
    let verify = (
        verify,
        proxy.connections() + token_proxy.connections() - before,
    );

    println!(
        "\nN = {n} tags in {} repositories, token auth; registry and token server each {} ms away",
        repositories.len(),
        delay.as_millis()
    );
    println!(
        "{:<52} {:>9} {:>12} {:>10}",
        "measure", "wall", "connections", "ratio"
    );
    println!(
        "{:<52} {:>8.3}s {:>12} {:>10}",
        "one token request (all scopes) + curl HEADs, HTTP/2",
        curl.0.as_secs_f64(),
        curl.1,
        "1.00x"
    );
    println!(
        "{:<52} {:>8.3}s {:>12} {:>10}",
        "images lock --jobs 100 (cold; GETs)",
        lock.0.as_secs_f64(),
        lock.1,
        "-"
    );
    println!(
        "{:<52} {:>8.3}s {:>12} {:>9.2}x",
        "images verify --jobs 100",
        verify.0.as_secs_f64(),
        verify.1,
        verify.0.as_secs_f64() / curl.0.as_secs_f64()
    );
    Ok(())
}

/// curl making one HEAD (or GET) per tag, 100 at a time, multiplexed over
/// HTTP/2 where it can: the floor for a client of this registry.
fn curl_parallel(
    addr: &str,
    ca: &Path,
    tags: &[(String, String)],
    dir: &Path,
    head: bool,
    bearer: Option<&str>,
) -> anyhow::Result<Duration> {
    let config = dir.join("curl.config");
    let mut text = String::new();
    for (repo, tag) in tags {
        text.push_str(&format!(
            "url = \"https://{addr}/v2/{repo}/manifests/{tag}\"\noutput = \"/dev/null\"\n"
        ));
    }
    std::fs::write(&config, text)?;
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["--http2", "-Z", "--parallel-max", "100", "-s", "--fail"])
        .arg("--cacert")
        .arg(ca)
        .args(["-H", &format!("Accept: {ACCEPT_ALL_MANIFESTS}")])
        .args(if head { &["--head"][..] } else { &[][..] })
        .args(
            bearer
                .map(|t| ["-H".to_string(), format!("Authorization: Bearer {t}")])
                .into_iter()
                .flatten(),
        )
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        // Its parallel progress meter ignores `-s`.
        .stderr(Stdio::null())
        .status()
        .context("running curl")?;
    let wall = started.elapsed();
    if !status.success() {
        bail!("curl failed: {status}");
    }
    Ok(wall)
}

/// An images.toml declaring every tag of a TLS registry whose CA is `ca`.
fn write_tls_manifest(
    dir: &Path,
    addr: &str,
    tags: &[(String, String)],
    ca: &TestCa,
) -> anyhow::Result<()> {
    write_manifest(dir, addr, tags)?;
    let toml = dir.join("images.toml");
    let mut text = std::fs::read_to_string(&toml)?;
    text.push_str(&format!(
        "\n[registries.\"{addr}\"]\nca = \"{}\"\n",
        ca.ca_path().display()
    ));
    std::fs::write(&toml, text)?;
    Ok(())
}

/// An images.toml declaring every tag.
fn write_manifest(dir: &Path, addr: &str, tags: &[(String, String)]) -> anyhow::Result<()> {
    let mut manifest = String::from("[images]\n");
    for (repo, tag) in tags {
        let name = format!("{}-{tag}", repo.replace('/', "-"));
        manifest.push_str(&format!("{name} = \"{addr}/{repo}:{tag}\"\n"));
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("images.toml"), manifest)?;
    Ok(())
}

/// Pushes `n` tags: per repository one image of each kind, then the
/// remaining tags point at those (a tag is a reference either way).
fn push_tags(registry: &Registry, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    let repos = n.div_ceil(TAGS_PER_REPO);
    let next = AtomicUsize::new(0);
    let workers = 8.min(repos.max(1));
    let results: Vec<anyhow::Result<Vec<(String, String)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut tags = Vec::new();
                    loop {
                        let r = next.fetch_add(1, Ordering::Relaxed);
                        if r >= repos {
                            return Ok(tags);
                        }
                        let repo = format!("bench/r{r}");
                        let fixtures: Vec<Fixture> = KINDS
                            .iter()
                            .map(|&kind| Fixture::new(kind, &format!("{repo}-{kind:?}")))
                            .collect();
                        let count = TAGS_PER_REPO.min(n - r * TAGS_PER_REPO);
                        for t in 0..count {
                            let tag = format!("t{t}");
                            let fixture = &fixtures[t % fixtures.len()];
                            if t < fixtures.len() {
                                registry.push(&repo, &tag, fixture)?;
                            } else {
                                registry.client().tag(&repo, &tag, fixture)?;
                            }
                            tags.push((repo.clone(), tag));
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| bail!("a push thread panicked")))
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    all.sort();
    Ok(all)
}

/// One request per tag over a keep-alive pool with `jobs` in flight: the
/// floor any client of this registry can reach.
async fn raw_baseline(
    base: &str,
    tags: &[(String, String)],
    jobs: usize,
    method: reqwest::Method,
) -> anyhow::Result<Duration> {
    let client = reqwest::Client::builder().build()?;
    let started = Instant::now();
    let failures = stream::iter(tags)
        .map(|(repo, tag)| {
            let request = client
                .request(method.clone(), format!("{base}/v2/{repo}/manifests/{tag}"))
                .header("Accept", ACCEPT_ALL_MANIFESTS);
            async move {
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_err()
                    }
                    _ => true,
                }
            }
        })
        .buffer_unordered(jobs)
        .filter(|failed| futures::future::ready(*failed))
        .count()
        .await;
    let wall = started.elapsed();
    if failures > 0 {
        bail!("{failures} baseline requests failed");
    }
    Ok(wall)
}

struct Measured {
    wall: Duration,
    peak_rss_kib: u64,
}

/// Runs `images ARGS` in `dir`, timing it and sampling its peak RSS
/// (`VmHWM`, the kernel's high-water mark) every couple of milliseconds
/// until it exits; the workspace forbids the `unsafe` that `wait4` needs.
fn run_images(images: &Path, dir: &Path, args: &[&str], expect: i32) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let mut child = Command::new(images)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // Credentials only from the benchmark's own config.json, if any.
        .env("DOCKER_CONFIG", dir)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env("XDG_CONFIG_HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", images.display()))?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|text| high_water_mark_kib(&text))
        {
            peak_rss_kib = peak_rss_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed();
    let code = status.code().unwrap_or(-1);
    if code != expect {
        let mut text = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut text);
        }
        bail!(
            "`images {}` exited {code}, expected {expect}: {text}",
            args.join(" ")
        );
    }
    Ok(Measured { wall, peak_rss_kib })
}

fn high_water_mark_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `skopeo inspect --format {{.Digest}}` over `sample` tags, 8 at a time.
fn skopeo_inspect(
    addr: &str,
    tags: &[(String, String)],
    sample: usize,
) -> anyhow::Result<Option<(usize, Duration)>> {
    if images_testkit::find_on_path("skopeo").is_none() {
        return Ok(None);
    }
    let picked: Vec<&(String, String)> = tags.iter().take(sample).collect();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let failures = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((repo, tag)) = picked.get(i) else {
                    return;
                };
                let ok = Command::new("skopeo")
                    .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
                    .arg(format!("docker://{addr}/{repo}:{tag}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let wall = started.elapsed();
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        bail!("{failed} skopeo inspect runs failed");
    }
    Ok(Some((picked.len(), wall)))
}
