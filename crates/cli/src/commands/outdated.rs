//! `images outdated`: for each entry with a `version` requirement, the tag
//! it locked, the newest tag the requirement allows, and the newest tag of
//! the same shape beyond it, like `cargo outdated` and `npm outdated`.

use images_lockfile::{standing, ImageSpec, LOCK_FILE};
use images_resolver::Resolver;
use serde::Serialize;

use crate::args::{Global, OutdatedArgs};
use crate::exit::{Exit, Failure, ImageError};
use crate::output::{write_stdout, yellow, Printer};
use crate::project::Project;

/// The `images outdated --format json` document (docs/json.md).
#[derive(Serialize)]
struct OutdatedReport<'a> {
    version: u32,
    images: &'a [Row],
}

/// One line of the report, and one element of `images` in JSON.
#[derive(Serialize)]
struct Row {
    name: String,
    repository: String,
    requirement: Option<String>,
    locked: Option<String>,
    compatible: Option<String>,
    latest: Option<String>,
    outdated: bool,
}

pub fn run(global: &Global, args: &OutdatedArgs, printer: Printer) -> Result<Exit, Failure> {
    let project = Project::load(global)?;
    let lock = project.load_lock()?.unwrap_or_default();
    let locked_tag = |spec: &ImageSpec| {
        lock.images
            .get(&spec.name)
            .and_then(|l| l.reference.tag().map(str::to_owned))
    };
    let versioned: Vec<&ImageSpec> = project
        .manifest
        .images
        .values()
        .filter(|spec| spec.version.is_some())
        .collect();

    let mut rows = Vec::new();
    let mut outcomes = Vec::new();
    if !versioned.is_empty() {
        let resolver = Resolver::new(project.resolver_config(global)?);
        let repositories: Vec<_> = versioned.iter().map(|s| s.reference.clone()).collect();
        printer.status(&format!(
            "Listing tags of {} versioned image(s)",
            repositories.len()
        ));
        let listed = crate::interrupt::block_on(
            &super::runtime()?,
            resolver.list_tags_many(&repositories),
            "nothing was checked",
        )?;
        for (spec, tags) in versioned.iter().zip(listed) {
            let Some(version) = &spec.version else {
                continue;
            };
            let tags = match tags {
                Ok(tags) => tags,
                Err(e) => {
                    let error = ImageError::registry(&e);
                    printer.error(&format!("{}: {}", spec.name, error.message));
                    if let Some(hint) = &error.hint {
                        printer.hint(hint);
                    }
                    outcomes.push(error.exit);
                    continue;
                }
            };
            let locked = locked_tag(spec);
            // Only tags that are valid references are reported.
            let valid = tags
                .iter()
                .map(String::as_str)
                .filter(|t| spec.reference.with_tag(t).is_some());
            let now = standing(version, locked.as_deref(), valid);
            rows.push(Row {
                name: spec.name.clone(),
                repository: spec.reference.familiar_name(),
                requirement: Some(version.declared.version.clone()),
                locked,
                compatible: now.compatible.map(|t| t.tag.to_owned()),
                latest: now.latest.map(|t| t.tag.to_owned()),
                outdated: now.outdated,
            });
        }
    }
    // Entries without a requirement have nothing to compare; `-v` shows them.
    if global.verbose > 0 {
        for spec in project.manifest.images.values() {
            if spec.version.is_none() {
                rows.push(Row {
                    name: spec.name.clone(),
                    repository: spec.reference.familiar_name(),
                    requirement: None,
                    locked: locked_tag(spec),
                    compatible: None,
                    latest: None,
                    outdated: false,
                });
            }
        }
        rows.sort_by(|a, b| a.name.cmp(&b.name));
    }

    let behind: Vec<&str> = rows
        .iter()
        .filter(|r| r.outdated)
        .map(|r| r.name.as_str())
        .collect();
    if printer.is_json() {
        printer.json(&OutdatedReport {
            version: 1,
            images: &rows,
        });
    } else {
        write_stdout(&render_table(&rows));
        if behind.is_empty() {
            printer.status(&format!(
                "Every versioned image is at the newest tag its requirement allows ({} checked)",
                rows.iter().filter(|r| r.requirement.is_some()).count()
            ));
        } else {
            printer.status(&format!(
                "{} image(s) can move to a newer allowed tag: run `images lock --update {}` and commit {LOCK_FILE}",
                behind.len(),
                behind.join(" ")
            ));
        }
    }
    if args.exit_code && !behind.is_empty() {
        outcomes.push(Exit::Drift);
    }
    Ok(Exit::of(outcomes))
}

fn render_table(rows: &[Row]) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                dash(&r.requirement),
                dash(&r.locked),
                dash(&r.compatible),
                dash(&r.latest),
            ]
        })
        .collect();
    let header = ["NAME", "REQUIREMENT", "LOCKED", "COMPATIBLE", "LATEST"];
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cols: [&str; 5]| {
        let mut out = String::new();
        for (i, col) in cols.iter().enumerate() {
            if i + 1 == cols.len() {
                out.push_str(col);
            } else {
                out.push_str(&format!("{col:w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(header);
    out.push('\n');
    for (row, c) in rows.iter().zip(&cells) {
        let text = line([&c[0], &c[1], &c[2], &c[3], &c[4]]);
        out.push_str(&if row.outdated { yellow(&text) } else { text });
        out.push('\n');
    }
    out
}
