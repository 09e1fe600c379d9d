//! Image references in a GitHub Actions workflow: `jobs.*.container` (a
//! string or a mapping with `image`), `jobs.*.services.*.image`, and steps
//! that run a container action with `uses: docker://IMAGE`.
//!
//! `${{ … }}` expressions are left alone: their value is only known when
//! the workflow runs.

use crate::yaml::{record, scan_documents};
use crate::{Scan, ScanError};

const DOCKER_ACTION: &str = "docker://";

/// Finds the images a workflow's jobs run.
pub fn scan(text: &str) -> Result<Scan, ScanError> {
    scan_documents(text, |yaml, root, scan| {
        let Some(jobs) = yaml.get(root, "jobs") else {
            return Ok(());
        };
        for (job_name, job) in yaml.entries(jobs) {
            if let Some(container) = yaml.get(job, "container") {
                let site = format!("jobs.{job_name}.container");
                match yaml.scalar(container) {
                    Some(_) => record(text, yaml, container, "", site, scan),
                    None => {
                        if let Some(image) = yaml.get(container, "image") {
                            record(text, yaml, image, "", format!("{site}.image"), scan);
                        }
                    }
                }
            }
            if let Some(services) = yaml.get(job, "services") {
                for (service, spec) in yaml.entries(services) {
                    if let Some(image) = yaml.get(spec, "image") {
                        let site = format!("jobs.{job_name}.services.{service}.image");
                        record(text, yaml, image, "", site, scan);
                    }
                }
            }
            if let Some(steps) = yaml.get(job, "steps") {
                for (index, &step) in yaml.items(steps).iter().enumerate() {
                    if let Some(uses) = yaml.get(step, "uses") {
                        let site = format!("jobs.{job_name}.steps[{index}].uses");
                        record(text, yaml, uses, DOCKER_ACTION, site, scan);
                    }
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_services_and_docker_actions_are_found() {
        let text = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: node:20\n\
                    \x20   services:\n      db:\n        image: \"postgres:16\"\n      cache:\n        image: ${{ matrix.cache }}\n\
                    \x20   steps:\n      - uses: actions/checkout@v4\n      - uses: docker://alpine:3.20\n  lint:\n\
                    \x20   container:\n      image: golang:1.22\n";
        let scan = scan(text).expect("scans");
        let found: Vec<_> = scan
            .found
            .iter()
            .map(|f| (f.image.as_str(), f.line))
            .collect();
        assert_eq!(
            found,
            [
                ("node:20", 5),
                ("postgres:16", 8),
                ("alpine:3.20", 13),
                ("golang:1.22", 16)
            ]
        );
        for f in &scan.found {
            assert_eq!(&text[f.span.clone()], f.image);
        }
        assert_eq!(scan.left_alone.len(), 1);
    }
}
