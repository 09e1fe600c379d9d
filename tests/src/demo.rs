//! The images `scripts/demo.sh` serves, in one place: the demo pushes
//! them, and a test checks that the repository's own images.lock is what
//! `images lock` makes of them.

use crate::{Fixture, Kind, RegistryClient};

/// One image of the demo: repository, tag, kind and seed.
pub struct DemoImage {
    /// Repository on the demo registry.
    pub repo: &'static str,
    /// Tag it is pushed under.
    pub tag: &'static str,
    /// Manifest kind.
    pub kind: Kind,
    /// Seed of its deterministic content.
    pub seed: &'static str,
}

/// What the demo registry serves before anything is overwritten; the
/// repository's images.toml declares these at `127.0.0.1:5055`.
pub const DEMO_IMAGES: &[DemoImage] = &[
    DemoImage {
        repo: "demo/web",
        tag: "1.27",
        kind: Kind::OciIndex,
        seed: "web-1.27",
    },
    DemoImage {
        repo: "acme/api",
        tag: "v1.2.11",
        kind: Kind::DockerV2S2,
        seed: "api-v1.2.11",
    },
    DemoImage {
        repo: "acme/worker",
        tag: "2.0",
        kind: Kind::DockerManifestList,
        seed: "worker-2.0",
    },
    DemoImage {
        repo: "demo/base",
        tag: "latest",
        kind: Kind::OciManifest,
        seed: "base-1",
    },
];

/// The address the repository's images.toml names for the demo registry.
pub const DEMO_REGISTRY: &str = "127.0.0.1:5055";

/// Pushes every [`DEMO_IMAGES`] entry.
pub fn push_demo(client: &RegistryClient) -> anyhow::Result<()> {
    for image in DEMO_IMAGES {
        client.push(image.repo, image.tag, &Fixture::new(image.kind, image.seed))?;
    }
    Ok(())
}
