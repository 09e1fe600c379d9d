//! `images list`: declared images, their locked digests and status. Offline.

use images_lockfile::{status, EntryStatus};
use serde_json::json;

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
                                .map(|s| (s.signer.clone(), s.key.to_string()))
                                .collect()
                        })
                        .unwrap_or_default(),
                },
            }
        })
        .collect();
    if printer.is_json() {
        let images: Vec<_> = rows
            .iter()
            .map(|r| {
                let mut image = json!({"name": r.name, "reference": r.reference, "digest": r.digest, "status": r.status});
                // Only entries that require signers carry who signed them.
                if let (false, Some(object)) = (r.signed_by.is_empty(), image.as_object_mut()) {
                    let signed: Vec<_> = r
                        .signed_by
                        .iter()
                        .map(|(signer, key)| json!({"signer": signer, "key": key}))
                        .collect();
                    object.insert("signed_by".into(), signed.into());
                }
                image
            })
            .collect();
        printer.json(&json!({"version": 1, "images": images}));
    } else {
        write_stdout(&render_table(&rows));
    }
    Ok(Exit::Ok)
}

struct Row {
    name: String,
    reference: String,
    familiar: String,
    digest: Option<String>,
    status: &'static str,
    /// Who signed the locked digest, with the key that verified.
    signed_by: Vec<(String, String)>,
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
            let signers: Vec<&str> = r.signed_by.iter().map(|(s, _)| s.as_str()).collect();
            out.push_str(&format!("  signed by {}", signers.join(", ")));
        }
        out.push('\n');
    }
    out
}
