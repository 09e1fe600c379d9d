//! Reading a lock that is exactly in the form [`Lockfile::to_toml`] writes,
//! without a general TOML parser.
//!
//! A lock with 10,000 entries is 3-4 MB; the general reader (toml's
//! spanned document, then our checks) needs about twice as long as this one
//! for it, over 90 ms on the development machine (`images-bench`, see
//! docs/performance.md), and `images lock` with nothing changed reads the
//! lock twice. Since `images lock` is the only writer and its output is
//! fixed, this reader accepts only that output, with LF or CRLF line
//! endings: it reads the lines, then checks that writing the result gives
//! back the very same text. Any difference (hand edits, another layout,
//! escapes, duplicate names, signatures, an error) returns `None` and the
//! caller uses the full parser, which also produces the error messages.
//! Both readers therefore agree on every input the fast one accepts, and a
//! property test runs the full parser on the writer's output too.

use std::collections::BTreeMap;

use crate::{Digest, LockedImage, Lockfile, Platform, PlatformManifest, Reference, Requirement};

/// The lock in `text`, if `text` is exactly what [`Lockfile::to_toml`]
/// writes, with LF or CRLF line endings.
pub(crate) fn parse_canonical(text: &str, header: &str, version_line: &str) -> Option<Lockfile> {
    let mut lines = text.lines().peekable();
    if lines.next()? != header || lines.next()? != version_line {
        return None;
    }
    let mut images = BTreeMap::new();
    while let Some(line) = lines.next() {
        if !line.is_empty() || lines.next()? != "[[image]]" {
            return None;
        }
        let name = string_value(lines.next()?, "name")?.to_string();
        let reference =
            Reference::parse_canonical(string_value(lines.next()?, "reference")?).ok()?;
        let digest = Digest::parse(string_value(lines.next()?, "digest")?).ok()?;
        let media_type = string_value(lines.next()?, "media-type")?.to_string();
        let mut image = LockedImage::new(name.clone(), reference, digest, media_type);
        if lines.peek() == Some(&"mutable = true") {
            lines.next();
            image.mutable = true;
        }
        if let Some(version) = lines.peek().and_then(|l| string_value(l, "version")) {
            lines.next();
            let tags = match lines.peek().and_then(|l| string_value(l, "tags")) {
                Some(tags) => {
                    lines.next();
                    Some(tags.to_string())
                }
                None => None,
            };
            image.requirement = Some(Requirement {
                version: version.to_string(),
                tags,
            });
        }
        if let Some(list) = lines.peek().and_then(|l| l.strip_prefix("platforms = [")) {
            let list = list.strip_suffix(']')?;
            for item in list.split(", ") {
                image
                    .platforms
                    .insert(Platform::parse(plain_string(item)?).ok()?);
            }
            lines.next();
        }
        if lines.peek() == Some(&"manifests = [") {
            lines.next();
            loop {
                let line = lines.next()?;
                if line == "]" {
                    break;
                }
                let inner = line
                    .strip_prefix("    { platform = ")?
                    .strip_suffix(" },")?;
                let (platform, digest) = inner.split_once(", digest = ")?;
                image.manifests.push(PlatformManifest {
                    platform: Platform::parse(plain_string(platform)?).ok()?,
                    digest: Digest::parse(plain_string(digest)?).ok()?,
                });
            }
        }
        images.insert(name, image);
    }
    let lock = Lockfile { images };
    // The proof that this reader understood the text as TOML would: writing
    // the lock gives back the text. `lines` reads LF and CRLF alike, so a
    // lock that a Windows checkout (`core.autocrlf`) turned to CRLF is
    // compared in CRLF; the writer escapes every `\r` in a value, so in
    // its output one can only end a line.
    let written = lock.to_toml();
    let same = if text.contains('\r') {
        written.replace('\n', "\r\n") == text
    } else {
        written == text
    };
    same.then_some(lock)
}

/// The value of `key = "value"`.
fn string_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    plain_string(line.strip_prefix(key)?.strip_prefix(" = ")?)
}

/// The content of a `"…"` literal without escapes; escaped strings are
/// left to the full parser.
fn plain_string(quoted: &str) -> Option<&str> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['"', '\\']) && !inner.chars().any(char::is_control)).then_some(inner)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn sample() -> Lockfile {
        let mut lock = Lockfile::default();
        for (name, mutable, platforms) in
            [("api", false, vec![]), ("web", true, vec!["linux/amd64"])]
        {
            let digest = Digest::sha256_of(name.as_bytes());
            lock.images.insert(
                name.to_string(),
                LockedImage {
                    name: name.to_string(),
                    reference: Reference::parse(&format!("127.0.0.1:5000/acme/{name}:v1"))
                        .expect("reference"),
                    digest: digest.clone(),
                    media_type: "application/vnd.oci.image.index.v1+json".to_string(),
                    mutable,
                    requirement: None,
                    signed_by: Vec::new(),
                    signatures: Vec::new(),
                    platforms: platforms
                        .iter()
                        .map(|p| Platform::parse(p).expect("platform"))
                        .collect(),
                    manifests: vec![PlatformManifest {
                        platform: Platform::parse("linux/amd64").expect("platform"),
                        digest,
                    }],
                },
            );
        }
        lock
    }

    fn fast(text: &str) -> Option<Lockfile> {
        parse_canonical(text, crate::lock::HEADER, "version = 1")
    }

    #[test]
    fn reads_what_to_toml_writes() {
        let lock = sample();
        assert_eq!(fast(&lock.to_toml()), Some(lock));
        assert_eq!(
            fast(&Lockfile::default().to_toml()),
            Some(Lockfile::default())
        );
    }

    #[test]
    fn reads_what_to_toml_writes_with_crlf_line_endings() {
        // What a Windows checkout with `core.autocrlf` makes of the lock:
        // still the writer's output, so still the fast path.
        let lock = sample();
        let crlf = lock.to_toml().replace('\n', "\r\n");
        assert_eq!(fast(&crlf), Some(lock.clone()));
        assert_eq!(
            Lockfile::parse_full(&crlf, Path::new("images.lock")).expect("valid TOML"),
            lock
        );
    }

    #[test]
    fn leaves_anything_else_to_the_full_parser() {
        let text = sample().to_toml();
        let edited = [
            text.replace("[[image]]\n", "[[image]]  # hand edit\n"),
            // What the benchmark times the general parser on.
            format!("# edited\n{text}"),
            text.replace("name = \"web\"", "name = \"api\""),
            format!("{text}\n"),
            text.replace("\"api\"", "\"a\\u0070i\""),
            // Line endings mixed, or a CR that ends no line.
            text.replacen('\n', "\r\n", 1),
            text.replace('\n', "\r\n").replacen("\r\n", "\r\r\n", 2),
        ];
        for variant in &edited {
            assert_eq!(fast(variant), None, "{variant}");
        }
        // The full parser still reads the valid ones, to the same lock.
        for valid in &edited[..2] {
            let full = Lockfile::parse(valid, Path::new("images.lock")).expect("valid TOML");
            assert_eq!(full, sample());
        }
        assert!(
            Lockfile::parse(&edited[2], Path::new("images.lock")).is_err(),
            "duplicate name"
        );
    }
}
