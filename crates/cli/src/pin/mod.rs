//! What `images pin` needs beside the scanners of `images_scan`: which
//! files to read under a directory ([`files`]), which manifests a
//! kustomization governs ([`kustomizations`]), and the images.toml lines
//! `--discover` suggests ([`discover`]).

pub mod discover;
pub mod files;
pub mod kustomizations;
