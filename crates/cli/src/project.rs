//! Finding and loading the user's images.toml and images.lock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use images_lockfile::{find_manifest, Lockfile, Manifest, LOCK_FILE, MANIFEST_FILE};
use images_resolver::{CredentialStore, RegistrySettings, ResolverConfig};

use crate::args::Global;
use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::project_lock::ProjectLock;

/// The manifest and where its lock lives.
pub struct Project {
    pub manifest: Manifest,
    pub lock_path: PathBuf,
}

impl Project {
    /// Loads images.toml from `--manifest` or by walking up from the current directory.
    pub fn load(global: &Global) -> Result<Project, Failure> {
        let path = Project::manifest_path(global)?;
        let manifest = Manifest::load(&path)?;
        Ok(Project {
            manifest,
            lock_path: Project::lock_path_beside(&path),
        })
    }

    /// [`Project::load`] for a command that writes images.toml or
    /// images.lock: the project is locked before anything is read, and
    /// stays locked while the returned guard lives.
    pub fn load_for_edit(
        global: &Global,
        printer: Printer,
    ) -> Result<(Project, ProjectLock), Failure> {
        let path = Project::manifest_path(global)?;
        let guard = ProjectLock::acquire(&path, printer)?;
        let manifest = Manifest::load(&path)?;
        let project = Project {
            manifest,
            lock_path: Project::lock_path_beside(&path),
        };
        Ok((project, guard))
    }

    /// Where images.toml is: `--manifest`, or found by walking up from the
    /// current directory. Does not read it.
    pub fn manifest_path(global: &Global) -> Result<PathBuf, Failure> {
        Ok(match &global.manifest {
            Some(path) => path.clone(),
            None => {
                let cwd = crate::paths::current_dir()?;
                find_manifest(&cwd).ok_or_else(|| {
                    Failure::bad_input(format!(
                        "no `{MANIFEST_FILE}` found in `{}` or any parent directory",
                        cwd.display()
                    ))
                    .with_hint("create one with an `[images]` table, or pass `--manifest PATH`")
                })?
            }
        })
    }

    /// The lock that belongs to the images.toml at `manifest_path`.
    pub fn lock_path_beside(manifest_path: &Path) -> PathBuf {
        let dir = manifest_path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        dir.join(LOCK_FILE)
    }

    /// The lock, or `None` when there is none yet.
    pub fn load_lock(&self) -> Result<Option<Lockfile>, Failure> {
        Lockfile::load(&self.lock_path).map_err(|e| {
            Failure::from(e).with_hint(format!(
                "`{}` is written by `images lock`; restore it from version control or delete it and run `images lock`",
                LOCK_FILE
            ))
        })
    }

    /// Resolver settings from `[registries]` and the global flags.
    pub fn resolver_config(&self, global: &Global) -> Result<ResolverConfig, Failure> {
        let credentials = CredentialStore::from_environment()
            .map_err(|e| Failure::new(Exit::Unavailable, e.to_string()))?;
        let mut config = ResolverConfig {
            request_timeout: Duration::from_secs(global.timeout.max(1)),
            jobs: global.jobs.max(1),
            credentials,
            ..ResolverConfig::default()
        };
        for (registry, settings) in &self.manifest.registries {
            if settings.insecure && settings.ca.is_some() {
                // A CA means TLS; `insecure` means plain HTTP. Picking one
                // silently would either ignore the CA or downgrade.
                return Err(Failure::bad_input(format!(
                    "registry `{registry}` in `{}` has both `insecure = true` (plain HTTP) and `ca` (HTTPS with that CA)",
                    self.manifest.path.display()
                ))
                .with_hint("remove `insecure` to reach it over HTTPS, or `ca` for plain HTTP"));
            }
            let ca_pem = match &settings.ca {
                Some(ca) => Some(std::fs::read(ca).map_err(|e| {
                    Failure::bad_input(format!(
                        "cannot read the CA file `{}` of registry `{registry}` in `{}`: {e}",
                        ca.display(),
                        self.manifest.path.display()
                    ))
                })?),
                None => None,
            };
            config.registries.insert(
                registry.clone(),
                RegistrySettings {
                    insecure: settings.insecure,
                    ca_pem,
                },
            );
        }
        Ok(config)
    }
}
