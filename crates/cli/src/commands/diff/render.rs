//! How `images diff` shows a [`LockDiff`]: text for a terminal, a Markdown
//! pull-request comment, a JSON document, and the line form of one lock
//! for `--textconv`.

use images_lockfile::{Digest, EntryChange, LockDiff, LockedImage, Lockfile, Platforms, LOCK_FILE};
use serde::Serialize;

use crate::output::{green, red, yellow};
use crate::untrusted::escape;

/// How digests are shown: shortened to `hex_len` digits, or in full.
#[derive(Clone, Copy)]
pub(super) struct Shown {
    pub(super) hex_len: Option<usize>,
}

impl Shown {
    fn digest(self, digest: &Digest) -> String {
        match self.hex_len {
            None => digest.to_string(),
            Some(len) => {
                let hex = digest.hex();
                format!(
                    "{}:{}",
                    digest.algorithm().name(),
                    &hex[..len.min(hex.len())]
                )
            }
        }
    }
}

/// `1 added, 2 re-pinned`: the non-empty groups.
fn summary(changes: &LockDiff) -> String {
    let counts = [
        (changes.added.len(), "added"),
        (changes.removed.len(), "removed"),
        (changes.repinned.len(), "re-pinned"),
        (changes.retagged.len(), "re-tagged"),
        (changes.changed.len(), "changed"),
    ];
    counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What changed in an entry besides its reference, one phrase each; the
/// digest change first, when `with_digest` and there is one.
fn details(change: &EntryChange, shown: Shown, with_digest: bool) -> Vec<String> {
    let (old, new) = (&change.old, &change.new);
    let mut out = Vec::new();
    if with_digest && old.digest != new.digest {
        out.push(format!(
            "{} -> {}",
            shown.digest(&old.digest),
            shown.digest(&new.digest)
        ));
    }
    let added = change.platforms_added();
    if !added.is_empty() {
        out.push(format!("platforms added: {}", join(&added)));
    }
    let removed = change.platforms_removed();
    if !removed.is_empty() {
        out.push(format!("platforms removed: {}", join(&removed)));
    }
    if old.digest == new.digest
        && added.is_empty()
        && removed.is_empty()
        && old.manifests != new.manifests
    {
        out.push("platform manifests changed".to_owned());
    }
    // Media types and platforms are what a registry named at lock time
    // (or what a pull request says it named): shown escaped.
    if old.media_type != new.media_type {
        out.push(format!(
            "media type: {} -> {}",
            escape(&old.media_type),
            escape(&new.media_type)
        ));
    }
    if old.mutable != new.mutable {
        out.push(format!(
            "mutable: {} -> {}",
            yes_no(old.mutable),
            yes_no(new.mutable)
        ));
    }
    if old.requirement != new.requirement {
        let shown = |r: &Option<images_lockfile::Requirement>| match r {
            Some(r) => match &r.tags {
                Some(tags) => format!("{} (tags `{tags}`)", r.version),
                None => r.version.clone(),
            },
            None => "none".to_owned(),
        };
        out.push(format!(
            "version requirement: {} -> {}",
            shown(&old.requirement),
            shown(&new.requirement)
        ));
    }
    if old.signatures != new.signatures || old.signed_by != new.signed_by {
        let shown = |image: &LockedImage| {
            if image.signatures.is_empty() {
                return "none".to_owned();
            }
            image
                .signatures
                .iter()
                .map(|s| format!("{} (key {})", s.signer, shown.digest(&s.key)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(format!("signed by: {} -> {}", shown(old), shown(new)));
    }
    if old.platforms != new.platforms {
        out.push(format!(
            "platform filter: {} -> {}",
            filter(&old.platforms),
            filter(&new.platforms)
        ));
    }
    out
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| escape(&item.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn filter(platforms: &Platforms) -> String {
    if platforms.is_empty() {
        "all".to_owned()
    } else {
        join(platforms)
    }
}

/// The human report: a summary line, then one block per non-empty group.
pub(super) fn text(changes: &LockDiff, old: &str, new: &str, shown: Shown) -> String {
    if changes.is_empty() {
        return format!("No changes: {old} and {new} pin the same images\n");
    }
    let names = changes
        .added
        .iter()
        .chain(&changes.removed)
        .map(|i| i.name.as_str())
        .chain(
            changes
                .repinned
                .iter()
                .chain(&changes.retagged)
                .chain(&changes.changed)
                .map(EntryChange::name),
        );
    let width = names.map(str::len).max().unwrap_or(0);
    // Details line up under the reference, after `  ~ ` and the name.
    let indent = " ".repeat(4 + width + 2);
    let mut out = format!("{old} -> {new}: {}\n", summary(changes));

    let entries = |out: &mut String, heading: &str, marker: String, images: &[LockedImage]| {
        if images.is_empty() {
            return;
        }
        out.push_str(&format!("\n{heading} ({})\n", images.len()));
        for image in images {
            out.push_str(&format!(
                "  {marker} {:width$}  {}  {}\n",
                image.name,
                image.reference.familiar(),
                shown.digest(&image.digest)
            ));
        }
    };
    entries(&mut out, "added", green("+"), &changes.added);
    entries(&mut out, "removed", red("-"), &changes.removed);

    let groups = [
        (
            "re-pinned",
            ": same tag, new digest, the tag moved upstream",
            &changes.repinned,
        ),
        ("re-tagged", ": new reference", &changes.retagged),
        ("changed", ": same digest, other details", &changes.changed),
    ];
    for (heading, why, group) in groups {
        if group.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{heading} ({}){why}\n", group.len()));
        for change in group {
            let (old, new) = (&change.old, &change.new);
            let mut headline = if old.reference == new.reference {
                old.reference.familiar()
            } else {
                format!(
                    "{} -> {}",
                    old.reference.familiar(),
                    new.reference.familiar()
                )
            };
            if old.digest == new.digest {
                headline.push_str(&format!("  {}", shown.digest(&new.digest)));
            }
            out.push_str(&format!(
                "  {} {:width$}  {headline}\n",
                yellow("~"),
                change.name()
            ));
            for line in details(change, shown, true) {
                out.push_str(&format!("{indent}{line}\n"));
            }
        }
    }
    out
}

/// A pull-request comment: a heading, then a table per non-empty group.
pub(super) fn markdown(changes: &LockDiff, old: &str, new: &str, shown: Shown) -> String {
    let sides = format!("{} → {}", code(old), code(new));
    if changes.is_empty() {
        return format!("### `{LOCK_FILE}`: no changes\n\n{sides} pin the same images.\n");
    }
    let mut out = format!("### `{LOCK_FILE}`: {}\n\n{sides}\n", summary(changes));
    let digest = |d: &Digest| code(&shown.digest(d));
    let image_rows = |images: &[LockedImage]| -> Vec<Vec<String>> {
        images
            .iter()
            .map(|image| {
                vec![
                    code(&image.name),
                    code(&image.reference.familiar()),
                    digest(&image.digest),
                ]
            })
            .collect()
    };
    let image_columns = ["name", "image", "digest"];
    table(
        &mut out,
        "Added",
        &image_columns,
        image_rows(&changes.added),
    );
    table(
        &mut out,
        "Removed",
        &image_columns,
        image_rows(&changes.removed),
    );
    // Re-pinned and re-tagged rows differ only in whether the old image is
    // worth a column: a re-pinned entry kept its reference.
    let moved_rows = |group: &[EntryChange], with_old_image: bool| -> Vec<Vec<String>> {
        group
            .iter()
            .map(|change| {
                let mut row = vec![code(change.name())];
                if with_old_image {
                    row.push(code(&change.old.reference.familiar()));
                }
                row.extend([
                    code(&change.new.reference.familiar()),
                    digest(&change.old.digest),
                    digest(&change.new.digest),
                    cell(&details(change, shown, false)),
                ]);
                row
            })
            .collect()
    };
    table(
        &mut out,
        "Re-pinned: same tag, new digest (the tag moved upstream)",
        &["name", "image", "old digest", "new digest", "also changed"],
        moved_rows(&changes.repinned, false),
    );
    table(
        &mut out,
        "Re-tagged: new reference",
        &[
            "name",
            "old image",
            "new image",
            "old digest",
            "new digest",
            "also changed",
        ],
        moved_rows(&changes.retagged, true),
    );
    table(
        &mut out,
        "Changed: same digest, other details",
        &["name", "image", "digest", "what changed"],
        changes
            .changed
            .iter()
            .map(|change| {
                vec![
                    code(change.name()),
                    code(&change.new.reference.familiar()),
                    digest(&change.new.digest),
                    cell(&details(change, shown, true)),
                ]
            })
            .collect(),
    );
    out
}

/// A `####` heading with the row count, then the table; nothing for no rows.
fn table(out: &mut String, heading: &str, columns: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        return;
    }
    let (title, why) = heading.split_once(": ").unwrap_or((heading, ""));
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(": {why}")
    };
    out.push_str(&format!("\n#### {title} ({}){why}\n\n", rows.len()));
    out.push_str(&format!("| {} |\n", columns.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(columns.len())));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
}

/// A Markdown code span that survives a table: `|` escaped, and no code
/// span at all when the text holds a backtick (rare in names, impossible in
/// references and digests).
fn code(text: &str) -> String {
    let escaped = text.replace('|', "\\|");
    if text.contains('`') {
        escaped
    } else {
        format!("`{escaped}`")
    }
}

/// Detail phrases joined for one table cell.
fn cell(phrases: &[String]) -> String {
    if phrases.is_empty() {
        return String::new();
    }
    phrases
        .iter()
        .map(|p| p.replace('|', "\\|").replace("->", "→"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `images diff --format json` document (docs/json.md).
#[derive(Serialize)]
pub(super) struct DiffReport<'a> {
    version: u32,
    added: Vec<EntryJson<'a>>,
    removed: Vec<EntryJson<'a>>,
    repinned: Vec<ChangeJson<'a>>,
    retagged: Vec<ChangeJson<'a>>,
    changed: Vec<ChangeJson<'a>>,
}

/// An entry that is in both locks, and differs.
#[derive(Serialize)]
struct ChangeJson<'a> {
    name: &'a str,
    old: EntryJson<'a>,
    new: EntryJson<'a>,
    /// The lock keys whose values differ.
    keys: Vec<&'static str>,
    platforms_added: Vec<String>,
    platforms_removed: Vec<String>,
}

/// A lock entry as the diff shows it.
#[derive(Serialize)]
struct EntryJson<'a> {
    name: &'a str,
    reference: String,
    digest: String,
    media_type: &'a str,
    mutable: bool,
    platforms: Vec<String>,
    manifests: Vec<ManifestJson>,
    /// Only versioned entries have `version` and `tags`, so other
    /// documents are as they were before versions existed.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    requirement: Option<RequirementJson<'a>>,
}

#[derive(Serialize)]
struct ManifestJson {
    platform: String,
    digest: String,
}

#[derive(Serialize)]
struct RequirementJson<'a> {
    version: &'a str,
    tags: Option<&'a str>,
}

/// The stable JSON document: full digests and canonical references.
pub(super) fn json_report(changes: &LockDiff) -> DiffReport<'_> {
    DiffReport {
        version: 1,
        added: changes.added.iter().map(entry_json).collect(),
        removed: changes.removed.iter().map(entry_json).collect(),
        repinned: changes.repinned.iter().map(change_json).collect(),
        retagged: changes.retagged.iter().map(change_json).collect(),
        changed: changes.changed.iter().map(change_json).collect(),
    }
}

fn change_json(c: &EntryChange) -> ChangeJson<'_> {
    let strings = |v: Platforms| -> Vec<String> { v.iter().map(ToString::to_string).collect() };
    ChangeJson {
        name: c.name(),
        old: entry_json(&c.old),
        new: entry_json(&c.new),
        keys: c.changed_keys(),
        platforms_added: strings(c.platforms_added()),
        platforms_removed: strings(c.platforms_removed()),
    }
}

fn entry_json(image: &LockedImage) -> EntryJson<'_> {
    EntryJson {
        name: &image.name,
        reference: image.reference.to_string(),
        digest: image.digest.to_string(),
        media_type: &image.media_type,
        mutable: image.mutable,
        platforms: image.platforms.iter().map(ToString::to_string).collect(),
        manifests: image
            .manifests
            .iter()
            .map(|m| ManifestJson {
                platform: m.platform.to_string(),
                digest: m.digest.to_string(),
            })
            .collect(),
        requirement: image.requirement.as_ref().map(|r| RequirementJson {
            version: &r.version,
            tags: r.tags.as_deref(),
        }),
    }
}

/// One fact per line, `name  key  value`, in the lock's key order. Names
/// are not padded: a new long name must not change every other line.
pub(super) fn lock_lines(lock: &Lockfile) -> String {
    let mut out = String::new();
    for image in lock.images.values() {
        let name = &image.name;
        let mut line =
            |key: &str, value: &str| out.push_str(&format!("{name}  {key:<10}  {value}\n"));
        line("reference", &image.reference.to_string());
        line("digest", &image.digest.to_string());
        line("media-type", &escape(&image.media_type));
        if image.mutable {
            line("mutable", "true");
        }
        if let Some(requirement) = &image.requirement {
            line("version", &requirement.version);
            if let Some(tags) = &requirement.tags {
                line("tags", tags);
            }
        }
        if !image.platforms.is_empty() {
            line("platforms", &join(&image.platforms));
        }
        for m in &image.manifests {
            line(
                "manifest",
                &format!("{}  {}", escape(&m.platform.to_string()), m.digest),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(prefix: &str) -> Digest {
        let hex: String = prefix
            .chars()
            .chain(std::iter::repeat('0'))
            .take(64)
            .collect();
        Digest::parse(&format!("sha256:{hex}")).expect("valid digest")
    }

    #[test]
    fn shown_digest_is_cut_to_the_length_asked_or_full() {
        let d = digest("0123456789abcdef");
        assert_eq!(
            Shown { hex_len: Some(12) }.digest(&d),
            "sha256:0123456789ab"
        );
        assert_eq!(Shown { hex_len: None }.digest(&d), d.to_string());
    }

    #[test]
    fn markdown_code_spans_escape_table_pipes() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "a`b");
    }

    #[test]
    fn summary_names_only_non_empty_groups() {
        let mut changes = LockDiff::default();
        assert_eq!(summary(&changes), "");
        let image = LockedImage::new(
            "web".to_owned(),
            images_lockfile::Reference::parse("nginx:1.27").expect("valid reference"),
            digest("ab"),
            "application/vnd.oci.image.manifest.v1+json".to_owned(),
        );
        changes.added.push(image.clone());
        changes.added.push(image);
        assert_eq!(summary(&changes), "2 added");
    }
}
