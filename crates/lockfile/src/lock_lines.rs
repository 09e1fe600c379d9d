//! Where each entry sits in the text of an `images.lock`, so reports (CI
//! annotations) can point at the line a reviewer should look at.

use std::collections::BTreeMap;

use crate::lock::Lockfile;
use crate::spanned_toml::{self, LineIndex, Node};

impl Lockfile {
    /// The 1-based line of each entry's `digest = …` key in lock `text`, by
    /// entry name; the line of its `name = …` key when it has no digest.
    ///
    /// The digest line is the one a tag that moved makes wrong, so it is
    /// where a CI annotation belongs. Text that does not parse, or an entry
    /// without a string `name`, contributes nothing: callers have already
    /// loaded the lock with [`Lockfile::parse`] and only want positions.
    ///
    /// ```
    /// use images_lockfile::Lockfile;
    ///
    /// let text = "version = 1\n\n[[image]]\nname = \"web\"\ndigest = \"sha256:…\"\n";
    /// assert_eq!(Lockfile::entry_lines(text)["web"], 5);
    /// ```
    pub fn entry_lines(text: &str) -> BTreeMap<String, usize> {
        let mut lines = BTreeMap::new();
        let Ok(entries) = spanned_toml::parse(text) else {
            return lines;
        };
        let items = entries
            .iter()
            .find_map(|(key, value)| match value.get_ref() {
                Node::Array(items) if key.as_str() == "image" => Some(items),
                _ => None,
            });
        let index = LineIndex::new(text);
        for item in items.into_iter().flatten() {
            let Node::Table(keys) = item.get_ref() else {
                continue;
            };
            let find = |wanted: &str| keys.iter().find(|(k, _)| k.as_str() == wanted);
            let Some((name_key, name_value)) = find("name") else {
                continue;
            };
            let Node::String(name) = name_value.get_ref() else {
                continue;
            };
            let key = find("digest").map_or(name_key, |(digest_key, _)| digest_key);
            lines.insert(name.clone(), index.line(key.span.start));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_A: &str =
        "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn entry_lines_point_at_each_digest_key() {
        let text = format!(
            "# generated\nversion = 1\n\n[[image]]\nname = \"api\"\nreference = \"docker.io/acme/api:v1\"\ndigest = \"{DIGEST_A}\"\nmedia-type = \"x\"\n\n[[image]]\nname = \"web\"\nreference = \"docker.io/library/nginx:1\"\ndigest = \"{DIGEST_A}\"\nmedia-type = \"x\"\n"
        );
        let lines = Lockfile::entry_lines(&text);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines["api"], 7);
        assert_eq!(lines["web"], 13);
    }

    #[test]
    fn entry_lines_match_what_to_toml_writes() {
        use crate::{Digest, LockedImage, Reference};
        let mut lock = Lockfile::default();
        for name in ["b", "a"] {
            lock.images.insert(
                name.to_owned(),
                LockedImage::new(
                    name.to_owned(),
                    Reference::parse("nginx:1").expect("valid reference"),
                    Digest::parse(DIGEST_A).expect("valid digest"),
                    "application/vnd.oci.image.manifest.v1+json".to_owned(),
                ),
            );
        }
        let text = lock.to_toml();
        let lines = Lockfile::entry_lines(&text);
        for (name, line) in &lines {
            let at = text.lines().nth(line - 1).unwrap_or_default();
            assert!(at.starts_with("digest = "), "{name}: line {line} is {at:?}");
        }
        assert!(lines["a"] < lines["b"]);
    }

    #[test]
    fn entry_lines_fall_back_to_the_name_and_skip_unnamed_entries() {
        let text = "version = 1\n[[image]]\nname = \"web\"\n[[image]]\nreference = \"x\"\n";
        let lines = Lockfile::entry_lines(text);
        assert_eq!(
            lines.into_iter().collect::<Vec<_>>(),
            [("web".to_owned(), 3)]
        );
    }

    #[test]
    fn entry_lines_of_unparseable_text_are_empty() {
        assert!(Lockfile::entry_lines("[[image]\nname = ").is_empty());
    }
}
