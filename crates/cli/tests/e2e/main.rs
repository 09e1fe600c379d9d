//! End-to-end tests: the real `images` binary against a real registry
//! (Debian's `docker-registry`, started per test on a free loopback port).
//!
//! One test binary for all scenarios keeps link time down; each module is a
//! group of behaviours.

mod auth;
mod bad_input;
mod ci_recipes;
mod diff;
mod diffs;
mod edit;
mod exit_codes;
mod faults;
mod files;
mod hostile;
mod init;
mod interop;
mod interrupt;
mod list;
mod lock;
mod output;
mod pin;
mod pin_deploy;
mod pin_inputs;
mod pin_kustomize;
mod pin_walk;
mod registry_text;
mod repository;
mod requests;
mod sarif;
mod signatures;
mod snapshot;
mod support;
mod tls;
mod verify;
mod versions;
mod yaml;
