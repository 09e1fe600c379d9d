//! A TOML document as a tree that remembers where each key and value is.
//!
//! Both `images.toml` and `images.lock` are validated by hand from this tree
//! rather than by `#[derive(Deserialize)]`: errors must name the file, line,
//! column, entry and what was expected (cargo-deny style), and unknown keys
//! must be refused with their own position, which serde's messages do not
//! give us in a form we can reword.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A key and its value, each with its span.
pub(crate) type Entry = (Key, Located);

/// A table key and, when toml knows it, where it is.
///
/// toml gives spans for keys written as `key = value` but not for the last
/// component of a table header (`[images.web]`), so the span is optional
/// and [`key_span`] falls back to the value's (the header's) span.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) span: Option<Range<usize>>,
}

impl Key {
    pub(crate) fn as_str(&self) -> &str {
        &self.name
    }
}

/// Where to point for a message about an entry's key.
pub(crate) fn key_span(entry: &Entry) -> Range<usize> {
    let (key, value) = entry;
    key.span.clone().unwrap_or_else(|| value.span())
}

/// A value and where it is.
///
/// Like `toml::Spanned<Node>`, except that it also accepts values toml has
/// no span for (an implicit table such as `images` in `[images.web]`,
/// which `Spanned` refuses outright); those borrow their key's span.
#[derive(Debug)]
pub(crate) struct Located {
    node: Node,
    span: Option<Range<usize>>,
}

impl Located {
    pub(crate) fn get_ref(&self) -> &Node {
        &self.node
    }

    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone().unwrap_or_default()
    }
}

/// One TOML value with the spans of everything inside it.
#[derive(Debug)]
pub(crate) enum Node {
    String(String),
    Integer(i64),
    Float,
    Boolean(bool),
    Datetime,
    Array(Vec<Located>),
    Table(Vec<Entry>),
}

impl Node {
    /// The value's TOML type with an article, for "expected …, found …".
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::String(_) => "a string",
            Node::Integer(_) => "an integer",
            Node::Float => "a float",
            Node::Boolean(_) => "a boolean",
            Node::Datetime => "a date or time",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
        }
    }
}

/// Parses `text` into a tree.
pub(crate) fn parse(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    match toml::from_str::<Node>(text) {
        Ok(Node::Table(entries)) => Ok(entries),
        Ok(other) => Err(SyntaxError {
            message: format!("expected a table at the top level, found {}", other.kind()),
            span: None,
        }),
        Err(err) => Err(SyntaxError {
            message: tidy_message(err.message()),
            span: err.span(),
        }),
    }
}

/// toml's messages can span lines; keep every message on one line.
fn tidy_message(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

/// A TOML syntax (or type) error with its position, if toml knows it.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) span: Option<Range<usize>>,
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Line numbers for many offsets into one text: the line starts are found
/// once, so numbering every entry of a 10,000-line file stays linear
/// ([`line_col`] rescans the text and is for the single offset of an error).
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    /// 1-based line of `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

/// Quotes a list of keys for "expected `a`, `b` or `c`".
pub(crate) fn one_of(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Boolean(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Integer(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Integer)
            .map_err(|_| E::custom("integer is too large"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Float)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        match map.next_key::<Key>()? {
            Some(first) => table_from(first, map),
            None => Ok(Node::Table(Vec::new())),
        }
    }
}

/// The rest of a table whose first key has been read.
fn table_from<'de, A: MapAccess<'de>>(first: Key, mut map: A) -> Result<Node, A::Error> {
    // toml hands a datetime to serde as a one-entry map under a private
    // key; neither of our files has a use for one.
    if first.name == DATETIME_KEY {
        map.next_value::<de::IgnoredAny>()?;
        return Ok(Node::Datetime);
    }
    let mut entries = Vec::new();
    let mut key = Some(first);
    while let Some(k) = key {
        let mut value = map.next_value::<Located>()?;
        if value.span.is_none() {
            value.span.clone_from(&k.span);
        }
        entries.push((k, value));
        key = map.next_key::<Key>()?;
    }
    Ok(Node::Table(entries))
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Located, D::Error> {
        deserializer.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, LocatedVisitor)
    }
}

/// Accepts the span-carrying map toml offers when asked for a spanned
/// value, or any plain value when it has no span to offer.
struct LocatedVisitor;

impl LocatedVisitor {
    fn plain<E>(node: Result<Node, E>) -> Result<Located, E> {
        node.map(|node| Located { node, span: None })
    }
}

impl<'de> Visitor<'de> for LocatedVisitor {
    type Value = Located;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Located, E> {
        Self::plain(NodeVisitor.visit_bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Located, E> {
        Self::plain(NodeVisitor.visit_i64(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Located, E> {
        Self::plain(NodeVisitor.visit_u64(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Located, E> {
        Self::plain(NodeVisitor.visit_f64(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Located, E> {
        Self::plain(NodeVisitor.visit_str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Located, A::Error> {
        Self::plain(NodeVisitor.visit_seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located, A::Error> {
        let Some(first) = map.next_key::<Key>()? else {
            return Ok(Located {
                node: Node::Table(Vec::new()),
                span: None,
            });
        };
        if first.name != SPANNED_START {
            return Self::plain(table_from(first, map));
        }
        let start = map.next_value::<usize>()?;
        let (mut end, mut node) = (None, None);
        while let Some(field) = map.next_key::<Key>()? {
            match field.name.as_str() {
                SPANNED_END => end = Some(map.next_value::<usize>()?),
                SPANNED_VALUE => node = Some(map.next_value::<Node>()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let node = node.ok_or_else(|| de::Error::missing_field(SPANNED_VALUE))?;
        Ok(Located {
            node,
            span: end.map(|end| start..end),
        })
    }
}

/// The private key under which toml passes a datetime (toml_datetime).
const DATETIME_KEY: &str = "$__toml_private_datetime";

/// The private struct name and fields by which a deserializer recognizes a
/// request for `serde_spanned::Spanned` (serde_spanned's `__unstable`
/// constants, not reachable without a direct dependency). If they ever
/// change, toml treats the request as a plain one and keys simply lose
/// their spans, falling back to the value's.
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key {
            name: v.to_owned(),
            span: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
        let (mut start, mut end, mut name) = (None, None, None);
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                SPANNED_START => start = Some(map.next_value::<usize>()?),
                SPANNED_END => end = Some(map.next_value::<usize>()?),
                SPANNED_VALUE => name = Some(map.next_value::<String>()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field(SPANNED_VALUE))?;
        let span = match (start, end) {
            (Some(start), Some(end)) => Some(start..end),
            _ => None,
        };
        Ok(Key { name, span })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, text.find('=').map_or(0, |i| i)), (1, 3));
        assert_eq!(line_col(text, 7), (2, 2)); // inside `é`
        assert_eq!(line_col(text, 1000), (3, 1));
        let index = LineIndex::new(text);
        for offset in [0, 5, 6, 7, 1000] {
            assert_eq!(
                index.line(offset),
                line_col(text, offset).0,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn keys_and_values_have_spans() {
        let entries = parse("[images]\nweb = \"nginx\"\n").expect("valid toml");
        let (key, value) = &entries[0];
        assert_eq!(key.as_str(), "images");
        let Node::Table(images) = value.get_ref() else {
            panic!("expected a table");
        };
        let web = images[0]
            .0
            .span
            .clone()
            .expect("`key = value` keys have spans");
        assert_eq!(line_col("[images]\nweb = \"nginx\"\n", web.start), (2, 1));
    }

    #[test]
    fn datetimes_are_a_kind_of_value() {
        let entries = parse("a = 1979-05-27T07:32:00Z\n").expect("valid toml");
        assert_eq!(entries[0].1.get_ref().kind(), "a date or time");
    }

    #[test]
    fn header_keys_fall_back_to_the_header_span() {
        let text = "[images]\n\n[images.web]\nimage = \"nginx\"\n";
        let entries = parse(text).expect("valid toml");
        let Node::Table(images) = entries[0].1.get_ref() else {
            panic!("expected a table");
        };
        assert_eq!(images[0].0.as_str(), "web");
        assert_eq!(line_col(text, key_span(&images[0]).start).0, 3);
    }

    #[test]
    fn one_of_reads_naturally() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
