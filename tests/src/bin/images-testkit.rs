//! `images-testkit`: the harness from the command line, for the demo script
//! and for poking at a registry by hand.
//!
//! ```text
//! images-testkit registry --port 5055 --storage DIR
//! images-testkit push --registry 127.0.0.1:5055 --image demo/web:1.0 --kind oci-index --seed web-1
//! ```

use anyhow::{bail, Context as _};
use images_testkit::{
    find_on_path, Fixture, Kind, RegistryClient, RegistryOptions, MISSING_REGISTRY,
};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "\
images-testkit: a test registry on loopback, and deterministic images to push to it

USAGE:
    images-testkit registry --port PORT [--storage DIR] [--user USER --password PASSWORD]
        Runs docker-registry on 127.0.0.1:PORT in the foreground (the process
        becomes the registry, so killing it stops the registry) and prints
        `ready 127.0.0.1:PORT` once GET /v2/ answers. Without --storage the
        content goes to a new temporary directory, printed on stderr.

    images-testkit push --registry HOST:PORT --image REPO:TAG --kind KIND --seed SEED
                        [--platform OS/ARCH[/VARIANT]]... [--attestation]
                        [--user USER --password PASSWORD]
        Pushes a deterministic image and prints its digest on stdout.
        KIND: docker-v2s2, docker-manifest-list, oci-manifest, oci-index.
        The same kind, seed and platforms always give the same digest.

    images-testkit push-demo --registry HOST:PORT
        Pushes the images scripts/demo.sh serves (the repository's images.toml).

    images-testkit sign --registry HOST:PORT --image REPO:TAG --public-key-out PATH
        Generates a P-256 key, writes its public key (PEM) to PATH, and signs
        the digest REPO:TAG names with a legacy cosign signature made by the
        `sigstore` crate. Prints the digest of the `.sig` manifest.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("registry") => Args::parse(&args[1..]).and_then(registry),
        Some("push") => Args::parse(&args[1..]).and_then(push),
        Some("push-demo") => Args::parse(&args[1..]).and_then(push_demo),
        Some("sign") => Args::parse(&args[1..]).and_then(sign),
        // Internal: run by `registry` before it becomes the registry.
        Some("wait-ready") => Args::parse(&args[1..]).and_then(wait_ready),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` options and `--flag` switches, in any order.
#[derive(Default)]
struct Args {
    values: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Args {
    const SWITCHES: &'static [&'static str] = &["attestation"];

    fn parse(args: &[String]) -> anyhow::Result<Args> {
        let mut parsed = Args::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let Some(name) = arg.strip_prefix("--") else {
                bail!("unexpected argument `{arg}`\n\n{USAGE}");
            };
            if Args::SWITCHES.contains(&name) {
                parsed.flags.push(name.to_string());
                continue;
            }
            let Some(value) = iter.next() else {
                bail!("`--{name}` needs a value");
            };
            parsed.values.push((name.to_string(), value.clone()));
        }
        Ok(parsed)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> anyhow::Result<&str> {
        self.get(name)
            .with_context(|| format!("`--{name}` is required\n\n{USAGE}"))
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn credentials(&self) -> anyhow::Result<Option<(String, String)>> {
        match (self.get("user"), self.get("password")) {
            (Some(user), Some(password)) => Ok(Some((user.into(), password.into()))),
            (None, None) => Ok(None),
            _ => bail!("`--user` and `--password` go together"),
        }
    }

    fn reject_unknown(&self, known: &[&str]) -> anyhow::Result<()> {
        for name in self.values.iter().map(|(n, _)| n).chain(&self.flags) {
            if !known.contains(&name.as_str()) {
                bail!("unknown option `--{name}`\n\n{USAGE}");
            }
        }
        Ok(())
    }
}

/// `push-demo --registry HOST:PORT`: the images `scripts/demo.sh` serves.
fn push_demo(args: Args) -> anyhow::Result<()> {
    args.reject_unknown(&["registry"])?;
    images_testkit::push_demo(&RegistryClient::new(args.required("registry")?)?)
}

fn sign(args: Args) -> anyhow::Result<()> {
    args.reject_unknown(&["registry", "image", "public-key-out"])?;
    let registry = args.required("registry")?;
    let image = args.required("image")?;
    let (repo, tag) = image
        .rsplit_once(':')
        .with_context(|| format!("`--image {image}` must be REPO:TAG"))?;
    let served = RegistryClient::new(registry)?.manifest(repo, tag)?;
    let digest = served
        .digest_header
        .filter(|_| served.status == 200)
        .with_context(|| format!("{registry}/{image} is not there (status {})", served.status))?;
    let key = images_testkit::signing::SigningKey::generate()?;
    let out = PathBuf::from(args.required("public-key-out")?);
    std::fs::write(&out, key.public_pem()).with_context(|| format!("writing {}", out.display()))?;
    let sig = images_testkit::signing::sign_legacy(registry, repo, &digest, &[&key])?;
    println!("{sig}");
    Ok(())
}

fn push(args: Args) -> anyhow::Result<()> {
    args.reject_unknown(&[
        "registry",
        "image",
        "kind",
        "seed",
        "platform",
        "attestation",
        "user",
        "password",
    ])?;
    let registry = args.required("registry")?;
    let image = args.required("image")?;
    let kind: Kind = args.required("kind")?.parse().map_err(anyhow::Error::msg)?;
    let seed = args.required("seed")?;
    // The tag is after the last `:` that follows the last `/` (a port is not a tag).
    let (repo, tag) = match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (&image[..i], &image[i + 1..]),
        _ => (image, "latest"),
    };

    let mut fixture = Fixture::new(kind, seed);
    let platforms = args.all("platform");
    if !platforms.is_empty() {
        for p in &platforms {
            let parts = p.split('/').count();
            if !(2..=3).contains(&parts) || p.split('/').any(str::is_empty) {
                bail!("platform `{p}` is not `os/architecture[/variant]`");
            }
        }
        fixture = fixture.platforms(&platforms);
    }
    if args.flags.iter().any(|f| f == "attestation") {
        fixture = fixture.with_attestation();
    }

    let mut client = RegistryClient::new(registry)?;
    if let Some((user, password)) = args.credentials()? {
        client = client.with_credentials(&user, &password);
    }
    let pushed = client
        .push(repo, tag, &fixture)
        .with_context(|| format!("pushing {kind} to {registry}/{repo}:{tag}"))?;
    println!("{}", pushed.digest);
    Ok(())
}

/// Becomes the registry (exec), after starting a helper that announces
/// readiness. Exec rather than a parent waiting on a child: whoever kills
/// our PID (the demo's trap, Ctrl-C, a CI timeout) kills the registry
/// itself, and no signal handling is needed.
fn registry(args: Args) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt as _;

    args.reject_unknown(&["port", "storage", "user", "password"])?;
    let program = find_on_path("docker-registry").context(MISSING_REGISTRY)?;
    let port: u16 = args
        .required("port")?
        .parse()
        .context("`--port` must be a port number")?;
    let storage = match args.get("storage") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("images-testkit-storage-")
                .tempdir()
                .context("creating a storage directory")?
                .keep();
            eprintln!("storage: {}", dir.display());
            dir
        }
    };
    std::fs::create_dir_all(&storage).with_context(|| format!("creating {}", storage.display()))?;
    let storage = storage
        .canonicalize()
        .with_context(|| format!("resolving {}", storage.display()))?;
    let htpasswd = args.credentials()?;

    // The config lives beside the content: the process that could delete a
    // temporary directory is about to be replaced by the registry.
    let config_dir = storage.join(".images-testkit");
    std::fs::create_dir_all(&config_dir)
        .with_context(|| format!("creating {}", config_dir.display()))?;
    let options = RegistryOptions {
        port: Some(port),
        storage: Some(storage.clone()),
        htpasswd: htpasswd.clone(),
        ..RegistryOptions::default()
    };
    let config = options.write_config(&config_dir, port, &storage)?;

    let me = std::env::current_exe().context("finding the images-testkit binary")?;
    let mut announcer = Command::new(me);
    announcer
        .args(["wait-ready", "--registry", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null());
    if let Some((user, password)) = &htpasswd {
        announcer.args(["--user", user, "--password", password]);
    }
    let mut announcer = announcer.spawn().context("starting the readiness check")?;

    let err = Command::new(&program).arg("serve").arg(&config).exec();
    // Only reached when exec failed.
    let _ = announcer.kill();
    Err(err).with_context(|| format!("running {}", program.display()))
}

/// Prints `ready HOST:PORT` once `GET /v2/` answers 200; gives up after 10 s.
fn wait_ready(args: Args) -> anyhow::Result<()> {
    let addr = args.required("registry")?;
    let mut client = RegistryClient::new(addr)?;
    if let Some((user, password)) = args.credentials()? {
        client = client.with_credentials(&user, &password);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(200) = client.ping() {
            println!("ready {addr}");
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("the registry on {addr} did not answer GET /v2/ within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
