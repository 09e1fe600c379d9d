//! Image references in a Docker Compose file: `services.*.image`.
//!
//! Services often share settings through YAML anchors and merge keys
//! (`x-base: &base {image: …}` then `<<: *base`); the image is then one
//! scalar at the anchor, found and rewritten once. `${VAR}` interpolation
//! is left alone: its value comes from the environment at deploy time.

use crate::yaml::{record, scan_documents};
use crate::{Scan, ScanError};

/// Finds the images a compose file's services run.
pub fn scan(text: &str) -> Result<Scan, ScanError> {
    scan_documents(text, |yaml, root, scan| {
        let Some(services) = yaml.get(root, "services") else {
            return Ok(());
        };
        for (name, service) in yaml.entries(services) {
            if let Some(image) = yaml.get(service, "image") {
                record(
                    text,
                    yaml,
                    image,
                    "",
                    format!("services.{name}.image"),
                    scan,
                );
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_images_through_anchors_are_found_once_at_the_anchor() {
        let text = "x-app: &app\n  image: \"acme/app:1.0\"\n  restart: always\n\
                    services:\n  web:\n    <<: *app\n  worker:\n    <<: *app\n    command: work\n\
                    \x20 db:\n    image: postgres:16 # pinned by images\n\
                    \x20 cache:\n    image: ${CACHE_IMAGE:-redis:7}\n  built:\n    build: .\n";
        let scan = scan(text).expect("scans");
        let found: Vec<_> = scan
            .found
            .iter()
            .map(|f| (f.image.as_str(), f.line))
            .collect();
        assert_eq!(found, [("acme/app:1.0", 2), ("postgres:16", 11)]);
        assert_eq!(&text[scan.found[0].span.clone()], "acme/app:1.0");
        assert_eq!(scan.left_alone.len(), 1);
        assert_eq!(scan.left_alone[0].line, 13);
    }
}
