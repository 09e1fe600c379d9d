//! Editing images.toml in place for `images add` and `images remove`.
//!
//! Goes through `toml_edit`, which keeps everything it is not asked to
//! change byte for byte: comments, blank lines, key order, alignment and
//! quoting. A new entry is appended at the end of `[images]` in the short
//! form (`name = "ref"`) when it has no options, else as an inline table.
//! Removing an entry also removes the comment lines directly above it,
//! which `toml_edit` treats as part of the entry (they describe it).

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

/// What a new `[images]` entry says.
pub struct NewEntry<'a> {
    pub name: &'a str,
    /// The reference as the user typed it (not canonicalized: the file is theirs).
    pub reference: &'a str,
    pub mutable: bool,
    pub platforms: &'a [String],
    /// A version requirement (`~1.27`) and tag filter, for a versioned entry.
    pub version: Option<&'a str>,
    pub tags: Option<&'a str>,
}

/// `text` with `entry` appended to `[images]`, creating the table when the
/// file has none. `text` must already be a valid manifest without `entry.name`.
pub fn add_entry(text: &str, entry: &NewEntry) -> Result<String, String> {
    keeping_bom_and_crlf(text, |text| add_lf(text, entry))
}

fn add_lf(text: &str, entry: &NewEntry) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("invalid TOML: {e}"))?;
    if !doc.contains_key("images") {
        doc.insert("images", Item::Table(Table::new()));
    }
    let images = doc
        .get_mut("images")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| "`images` is not a table".to_string())?;
    let value = if !entry.mutable && entry.platforms.is_empty() && entry.version.is_none() {
        Value::from(entry.reference)
    } else {
        let mut table = InlineTable::new();
        table.insert("image", Value::from(entry.reference));
        if let Some(version) = entry.version {
            table.insert("version", Value::from(version));
        }
        if let Some(tags) = entry.tags {
            table.insert("tags", Value::from(tags));
        }
        if entry.mutable {
            table.insert("mutable", Value::from(true));
        }
        if !entry.platforms.is_empty() {
            let platforms: Array = entry.platforms.iter().map(String::as_str).collect();
            table.insert("platforms", Value::Array(platforms));
        }
        table.fmt();
        Value::InlineTable(table)
    };
    images.insert(entry.name, Item::Value(value));
    Ok(doc.to_string())
}

/// `text` without the `[images]` entry `name`; `None` when there is no such entry.
pub fn remove_entry(text: &str, name: &str) -> Result<Option<String>, String> {
    let mut found = false;
    let edited = keeping_bom_and_crlf(text, |text| {
        let mut doc: DocumentMut = text.parse().map_err(|e| format!("invalid TOML: {e}"))?;
        found = doc
            .get_mut("images")
            .and_then(Item::as_table_like_mut)
            .and_then(|images| images.remove(name))
            .is_some();
        Ok(doc.to_string())
    })?;
    Ok(found.then_some(edited))
}

/// Runs `edit` on `text` without its UTF-8 byte order mark and, when every
/// line ends in CRLF, with LF endings (`toml_edit` writes LF and drops the
/// mark), then puts both back: a Windows-made images.toml keeps its form
/// byte for byte outside the entry edited.
fn keeping_bom_and_crlf(
    text: &str,
    edit: impl FnOnce(&str) -> Result<String, String>,
) -> Result<String, String> {
    const BOM: char = '\u{feff}';
    let (bom, body) = match text.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let lines = body.matches('\n').count();
    let crlf = lines > 0 && body.matches("\r\n").count() == lines;
    let edited = if crlf {
        edit(&body.replace("\r\n", "\n"))?.replace('\n', "\r\n")
    } else {
        edit(body)?
    };
    Ok(if bom {
        format!("{BOM}{edited}")
    } else {
        edited
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "\
# Our images.
[images]
web   = \"nginx:1.27\"   # the front end
# The API, pinned for the release.
api   = { image = \"ghcr.io/acme/api:v1.2.11\" }

[registries.\"registry.internal:5000\"]
insecure = true # plain HTTP
";

    fn entry<'a>(name: &'a str, reference: &'a str) -> NewEntry<'a> {
        NewEntry {
            name,
            reference,
            mutable: false,
            platforms: &[],
            version: None,
            tags: None,
        }
    }

    #[test]
    fn add_appends_to_images_and_keeps_everything_else() {
        let out = add_entry(MANIFEST, &entry("db", "postgres:16")).expect("adds");
        let expected = MANIFEST.replace("v1.2.11\" }\n", "v1.2.11\" }\ndb = \"postgres:16\"\n");
        assert_eq!(out, expected);
    }

    #[test]
    fn add_writes_options_as_an_inline_table() {
        let platforms = ["linux/amd64".to_string(), "linux/arm64".to_string()];
        let new = NewEntry {
            mutable: true,
            platforms: &platforms,
            ..entry("base", "alpine:latest")
        };
        let out = add_entry("[images]\n", &new).expect("adds");
        assert_eq!(
            out,
            "[images]\nbase = { image = \"alpine:latest\", mutable = true, platforms = [\"linux/amd64\", \"linux/arm64\"] }\n"
        );
    }

    #[test]
    fn add_quotes_names_that_are_not_bare_keys() {
        let out = add_entry("[images]\n", &entry("my web", "nginx")).expect("adds");
        assert_eq!(out, "[images]\n\"my web\" = \"nginx\"\n");
    }

    #[test]
    fn add_creates_the_images_table_when_missing() {
        assert_eq!(
            add_entry("", &entry("web", "nginx")).expect("adds"),
            "[images]\nweb = \"nginx\"\n"
        );
        let out = add_entry(
            "# mine\n[registries.\"r:5000\"]\ninsecure = true\n",
            &entry("web", "nginx"),
        )
        .expect("adds");
        assert_eq!(
            out,
            "# mine\n[registries.\"r:5000\"]\ninsecure = true\n\n[images]\nweb = \"nginx\"\n"
        );
    }

    #[test]
    fn remove_drops_the_entry_and_its_comment_only() {
        let out = remove_entry(MANIFEST, "api")
            .expect("parses")
            .expect("found");
        assert_eq!(
            out,
            MANIFEST.replace(
                "# The API, pinned for the release.\napi   = { image = \"ghcr.io/acme/api:v1.2.11\" }\n",
                ""
            )
        );
    }

    #[test]
    fn add_and_remove_keep_a_bom_and_crlf_endings() {
        let windows = format!("\u{feff}{}", MANIFEST.replace('\n', "\r\n"));
        let added = add_entry(&windows, &entry("db", "postgres:16")).expect("add");
        assert_eq!(
            added,
            format!(
                "\u{feff}{}",
                add_entry(MANIFEST, &entry("db", "postgres:16"))
                    .expect("add")
                    .replace('\n', "\r\n")
            )
        );
        let removed = remove_entry(&added, "db").expect("remove").expect("found");
        assert_eq!(removed, windows);
    }

    #[test]
    fn remove_of_an_unknown_name_is_none() {
        assert_eq!(remove_entry(MANIFEST, "nope").expect("parses"), None);
    }

    #[test]
    fn remove_handles_entries_written_as_tables() {
        let text = "[images]\nweb = \"nginx\"\n\n[images.api]\nimage = \"acme/api:v1\"\n";
        let out = remove_entry(text, "api").expect("parses").expect("found");
        assert_eq!(out, "[images]\nweb = \"nginx\"\n");
    }
}
