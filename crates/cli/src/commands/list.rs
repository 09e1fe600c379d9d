//! `images list`: declared images, their locked digests and status. Offline.

use images_lockfile::{status, EntryStatus};
use serde::Serialize;

use crate::args::Global;
use crate::exit::{Exit, Failure};
use crate::output::{green, red, write_stdout, yellow, Printer};
use crate::project::Project;

pub fn run(global: &Global, printer: Printer) -> Result<Exit, Failure> {
    let project = Project::load(global)?;
    let lock = project.load_lock()?.unwrap_or_default();
    let rows: Vec<Row> = project
        .manifest
        .images
        .values()
        .map(|spec| {
            let state = status(spec, &lock);
            let digest = match state {
                EntryStatus::Unlocked => None,
                _ => lock.images.get(&spec.name).map(|l| l.digest.to_string()),
            };
            // A locked versioned entry is shown at the tag it locked.
            let locked = match state {
                EntryStatus::Locked if spec.version.is_some() => {
                    lock.images.get(&spec.name).map(|l| &l.reference)
                }
                _ => None,
            };
            Row {
                name: spec.name.clone(),
                reference: locked.map_or_else(|| spec.declared(), ToString::to_string),
                familiar: locked.map_or_else(|| spec.declared_familiar(), |r| r.familiar()),
                digest,
                status: state.as_str(),
                signed_by: match state {
                    EntryStatus::Unlocked => Vec::new(),
                    _ => lock
                        .images
                        .get(&spec.name)
                        .map(|l| {
                            l.signatures
                                .iter()
                                .map(|s| Signed {
                                    signer: s.signer.clone(),
                                    key: s.key.to_string(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                },
            }
        })
        .collect();
    if printer.is_json() {
        printer.json(&ListReport {
            version: 1,
            images: &rows,
        });
    } else {
        write_stdout(&render_table(&rows));
    }
    Ok(Exit::Ok)
}

/// The `images list --format json` document (docs/json.md).
#[derive(Serialize)]
struct ListReport<'a> {
    version: u32,
    images: &'a [Row],
}

/// One declared image: a line of the table, an element of `images` in JSON.
#[derive(Serialize)]
struct Row {
    name: String,
    /// Canonical.
    reference: String,
    /// As Docker shows it, for the table.
    #[serde(skip)]
    familiar: String,
    digest: Option<String>,
    status: &'static str,
    /// Who signed the locked digest, with the key that verified; only
    /// entries that require signers carry it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signed_by: Vec<Signed>,
}

/// A signer whose signature verified, and the key it verified with.
#[derive(Serialize)]
struct Signed {
    signer: String,
    key: String,
}

fn render_table(rows: &[Row]) -> String {
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let ref_w = rows
        .iter()
        .map(|r| r.familiar.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut out = format!(
        "{:name_w$}  {:ref_w$}  {:8}  DIGEST\n",
        "NAME", "REFERENCE", "STATUS"
    );
    for r in rows {
        // Pad before painting: escape codes have no width.
        let padded = format!("{:8}", r.status);
        let status = match r.status {
            "locked" => green(&padded),
            "stale" => yellow(&padded),
            _ => red(&padded),
        };
        out.push_str(&format!(
            "{:name_w$}  {:ref_w$}  {status}  {}",
            r.name,
            r.familiar,
            r.digest.as_deref().unwrap_or("-")
        ));
        if !r.signed_by.is_empty() {
            let signers: Vec<&str> = r.signed_by.iter().map(|s| s.signer.as_str()).collect();
            out.push_str(&format!("  signed by {}", signers.join(", ")));
        }
        out.push('\n');
    }
    out
}
