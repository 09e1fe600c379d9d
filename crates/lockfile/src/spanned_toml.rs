//! A TOML document as a tree that remembers where each key and value is.
//!
//! Both `images.toml` and `images.lock` are validated by hand from this tree
//! rather than by `#[derive(Deserialize)]`: errors must name the file, line,
//! column, entry and what was expected (cargo-deny style), and unknown keys
//! must be refused with their own position, which serde's messages do not
//! give us in a form we can reword.
//!
//! The tree is built from toml's own spanned document ([`DeTable`]), whose
//! every key and value carries its byte range; entries keep the order in
//! which they are written (toml's `preserve_order`).

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A key and its value, each with its span.
pub(crate) type Entry = (Key, Located);

/// A table key and where it is: the key itself, also for the last
/// component of a table header (`web` in `[images.web]`).
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) span: Range<usize>,
}

impl Key {
    pub(crate) fn as_str(&self) -> &str {
        &self.name
    }
}

/// Where to point for a message about an entry's key.
pub(crate) fn key_span(entry: &Entry) -> Range<usize> {
    entry.0.span.clone()
}

/// A value and where it is. A table written as a header (`[images.web]`)
/// spans its header; one only implied by a longer header (`images` in
/// `[images.web]`) spans its key there.
#[derive(Debug)]
pub(crate) struct Located {
    node: Node,
    span: Range<usize>,
}

impl Located {
    pub(crate) fn get_ref(&self) -> &Node {
        &self.node
    }

    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The string this value is, or where it is and what it is instead.
    pub(crate) fn as_str(&self) -> Result<&str, WrongType> {
        match &self.node {
            Node::String(s) => Ok(s),
            _ => Err(self.wrong_type()),
        }
    }

    /// The integer this value is, or where it is and what it is instead.
    pub(crate) fn as_integer(&self) -> Result<i64, WrongType> {
        match self.node {
            Node::Integer(i) => Ok(i),
            _ => Err(self.wrong_type()),
        }
    }

    /// The boolean this value is, or where it is and what it is instead.
    pub(crate) fn as_bool(&self) -> Result<bool, WrongType> {
        match self.node {
            Node::Boolean(b) => Ok(b),
            _ => Err(self.wrong_type()),
        }
    }

    /// The items of the array this value is, or where it is and what it is
    /// instead.
    pub(crate) fn as_array(&self) -> Result<&[Located], WrongType> {
        match &self.node {
            Node::Array(items) => Ok(items),
            _ => Err(self.wrong_type()),
        }
    }

    /// The entries of the table this value is, or where it is and what it
    /// is instead.
    pub(crate) fn as_table(&self) -> Result<&[Entry], WrongType> {
        match &self.node {
            Node::Table(entries) => Ok(entries),
            _ => Err(self.wrong_type()),
        }
    }

    /// This value as one of a type the reader did not expect, for a reader
    /// that accepts several types and so matches on [`Located::get_ref`]
    /// itself.
    pub(crate) fn wrong_type(&self) -> WrongType {
        WrongType {
            span: self.span(),
            found: self.node.kind(),
        }
    }
}

/// A value of another type than the reader expected: where it is and what
/// it is ([`Node::kind`]). The reader words the message, since only it
/// knows which key of which entry the value belongs to.
#[derive(Debug)]
pub(crate) struct WrongType {
    /// Where the value is.
    pub(crate) span: Range<usize>,
    /// What it is, with an article: `an integer`.
    pub(crate) found: &'static str,
}

impl WrongType {
    /// `{expected}, found {kind}` (`` `name` must be a string, found an
    /// integer``): the one wording both readers use for a value of the wrong
    /// type, kept here so that the two cannot drift apart.
    pub(crate) fn message(&self, expected: impl std::fmt::Display) -> String {
        format!("{expected}, found {}", self.found)
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
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut builder = Builder::default();
    let entries = builder.table(root.into_inner());
    // toml checks the syntax of the whole text before it builds tables,
    // and leaves the range of integers to us, so the error it meets first
    // may not be the first in the text; report that one, as a reader would
    // meet it.
    let first = errors
        .into_iter()
        .map(|err| {
            let start = err.span().map_or(usize::MAX, |span| span.start);
            (start, SyntaxError::new(text, &err))
        })
        .chain(builder.too_large.into_iter().map(|span| {
            let error = SyntaxError {
                message: "number too large to fit in target type".to_owned(),
                span: Some(span.clone()),
                duplicate: None,
            };
            (span.start, error)
        }))
        .min_by_key(|(start, _)| *start);
    match first {
        None => Ok(entries),
        Some((_, err)) => Err(err),
    }
}

/// A TOML syntax (or type) error with its position, if toml knows it.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) span: Option<Range<usize>>,
    /// Set when the error is a key defined a second time in one table.
    pub(crate) duplicate: Option<DuplicateKey>,
}

/// A key defined twice: the path of the table it is in (empty for the
/// top level) and the key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    pub(crate) table: Vec<String>,
    pub(crate) key: String,
}

impl SyntaxError {
    fn new(text: &str, err: &toml::de::Error) -> SyntaxError {
        let span = err.span();
        let duplicate = span.as_ref().and_then(|span| duplicate_key(text, span));
        let message = match &duplicate {
            // Name the key and its table, which toml's message does not.
            Some(DuplicateKey { table, key }) if table.is_empty() => {
                format!("duplicate key `{key}` in document root")
            }
            Some(DuplicateKey { table, key }) => {
                format!("duplicate key `{key}` in table `{}`", table.join("."))
            }
            None => tidy_message(err.message()),
        };
        SyntaxError {
            message,
            span,
            duplicate,
        }
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

/// Whether the error at `span` of `text` is a key defined a second time,
/// and if so which key in which table.
///
/// toml says so only in English, so this asks the document instead: the
/// span must hold exactly one key, and writing a name used nowhere else in
/// its place must make that error go away and leave the new name in a
/// table. Then the name there was the problem, and the only thing TOML
/// finds wrong with a well-formed key is that its table already has it
/// (as a value, or as a table defined in another way).
fn duplicate_key(text: &str, span: &Range<usize>) -> Option<DuplicateKey> {
    let key = single_key(text.get(span.clone())?)?;
    let fresh = (0..)
        .map(|n| format!("images-fresh-key-{n}"))
        .find(|candidate| !text.contains(candidate.as_str()))?;
    let renamed = format!("{}{fresh}{}", &text[..span.start], &text[span.end..]);
    let (root, errors) = DeTable::parse_recoverable(&renamed);
    let still_there = errors
        .iter()
        .any(|err| err.span().is_some_and(|s| s.start == span.start));
    if still_there {
        return None;
    }
    let table = path_of(root.get_ref(), &fresh)?;
    Some(DuplicateKey { table, key })
}

/// The key `written` spells, if it is exactly one key (`web`, `"web"`,
/// `'w.b'`), not a dotted path or anything else.
fn single_key(written: &str) -> Option<String> {
    let line = format!("{written} = 0");
    let root = DeTable::parse(&line).ok()?.into_inner();
    let mut entries = root.into_iter();
    match (entries.next(), entries.next()) {
        (Some((key, _)), None) if key.span() == (0..written.len()) => {
            Some(key.into_inner().into_owned())
        }
        _ => None,
    }
}

/// The path of the table that holds `key`, searching tables and arrays of
/// tables.
fn path_of(table: &DeTable<'_>, key: &str) -> Option<Vec<String>> {
    if table.contains_key(key) {
        return Some(Vec::new());
    }
    table.iter().find_map(|(name, value)| {
        let tables: Vec<&DeTable<'_>> = match value.get_ref() {
            DeValue::Table(inner) => vec![inner],
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| item.get_ref().as_table())
                .collect(),
            _ => Vec::new(),
        };
        tables.into_iter().find_map(|inner| {
            let mut path = path_of(inner, key)?;
            path.insert(0, name.get_ref().to_string());
            Some(path)
        })
    })
}

/// Turns toml's tree into ours, noting integers too large for an `i64`.
#[derive(Default)]
struct Builder {
    too_large: Vec<Range<usize>>,
}

impl Builder {
    /// toml's table as our entries, in the order they are written.
    fn table(&mut self, table: DeTable<'_>) -> Vec<Entry> {
        table
            .into_iter()
            .map(|(key, value)| {
                let span = key.span();
                let key = Key {
                    name: key.into_inner().into_owned(),
                    span,
                };
                (key, self.located(value))
            })
            .collect()
    }

    fn located(&mut self, value: Spanned<DeValue<'_>>) -> Located {
        let span = value.span();
        let node = match value.into_inner() {
            DeValue::String(s) => Node::String(s.into_owned()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(v) => Node::Integer(v),
                Err(_) => {
                    self.too_large.push(span.clone());
                    Node::Integer(0)
                }
            },
            DeValue::Float(_) => Node::Float,
            DeValue::Boolean(b) => Node::Boolean(b),
            DeValue::Datetime(_) => Node::Datetime,
            DeValue::Array(items) => {
                Node::Array(items.into_iter().map(|item| self.located(item)).collect())
            }
            DeValue::Table(entries) => Node::Table(self.table(entries)),
        };
        Located { node, span }
    }
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
        let web = images[0].0.span.clone();
        assert_eq!(line_col("[images]\nweb = \"nginx\"\n", web.start), (2, 1));
    }

    #[test]
    fn datetimes_are_a_kind_of_value() {
        let entries = parse("a = 1979-05-27T07:32:00Z\n").expect("valid toml");
        assert_eq!(entries[0].1.get_ref().kind(), "a date or time");
    }

    #[test]
    fn typed_accessors_say_what_they_found_where() {
        let text = "s = \"x\"\ni = 7\nb = true\na = [1]\nt = { k = 1 }\n";
        let entries = parse(text).expect("valid toml");
        let value = |key: &str| {
            let found = entries.iter().find(|(k, _)| k.as_str() == key);
            &found.expect("key is in the text").1
        };
        assert_eq!(value("s").as_str().ok(), Some("x"));
        assert_eq!(value("i").as_integer().ok(), Some(7));
        assert_eq!(value("b").as_bool().ok(), Some(true));
        assert_eq!(value("a").as_array().map(<[_]>::len).ok(), Some(1));
        assert_eq!(value("t").as_table().map(<[_]>::len).ok(), Some(1));
        let err = value("i").as_str().expect_err("an integer is not a string");
        assert_eq!(err.found, "an integer");
        assert_eq!(&text[err.span.clone()], "7");
        assert_eq!(
            err.message("`i` must be a string"),
            "`i` must be a string, found an integer"
        );
        // Each accessor refuses a value of another type and names that type.
        let refused = [
            (value("s").as_table().err(), "a string"),
            (value("t").as_array().err(), "a table"),
            (value("a").as_bool().err(), "an array"),
            (value("b").as_integer().err(), "a boolean"),
        ];
        for (err, found) in refused {
            assert_eq!(err.map(|e| e.found), Some(found));
        }
    }

    #[test]
    fn header_keys_have_spans() {
        let text = "[images]\n\n[images.web]\nimage = \"nginx\"\n";
        let entries = parse(text).expect("valid toml");
        let Node::Table(images) = entries[0].1.get_ref() else {
            panic!("expected a table");
        };
        assert_eq!(images[0].0.as_str(), "web");
        assert_eq!(line_col(text, key_span(&images[0]).start).0, 3);
    }

    fn duplicate(text: &str) -> Option<DuplicateKey> {
        parse(text).expect_err("invalid toml").duplicate
    }

    fn key_in(table: &[&str], key: &str) -> Option<DuplicateKey> {
        Some(DuplicateKey {
            table: table.iter().map(|t| t.to_string()).collect(),
            key: key.to_owned(),
        })
    }

    #[test]
    fn duplicate_keys_are_found_with_their_table() {
        let images = key_in(&["images"], "web");
        assert_eq!(duplicate("[images]\nweb = 1\nweb = 2\n"), images);
        assert_eq!(duplicate("[images]\nweb = 1\n\"web\" = 2\n"), images);
        assert_eq!(duplicate("images.web = 1\nimages.web = 2\n"), images);
        assert_eq!(
            duplicate("[images.web]\nimage = \"a\"\n[images.web]\nimage = \"b\"\n"),
            images
        );
        assert_eq!(duplicate("a = 1\na = 2\n"), key_in(&[], "a"));
        assert_eq!(
            duplicate("[images]\nweb = { image = \"a\", image = \"b\" }\n"),
            key_in(&["images", "web"], "image")
        );
        assert_eq!(
            duplicate("[[image]]\nname = \"a\"\nname = \"b\"\n"),
            key_in(&["image"], "name")
        );
        let err = parse("[images]\nweb = 1\nweb = 2\n").expect_err("duplicate");
        assert_eq!(err.message, "duplicate key `web` in table `images`");
        assert_eq!(
            err.span
                .map(|s| line_col("[images]\nweb = 1\nweb = 2\n", s.start)),
            Some((3, 1))
        );
    }

    #[test]
    fn other_errors_are_not_duplicates() {
        // `nginx` unquoted, where `[images]` does have a key `nginx`.
        assert_eq!(duplicate("[images]\nnginx = 1\nweb = nginx\n"), None);
        assert_eq!(duplicate("[images]\nweb = [ web ]\n"), None);
        assert_eq!(duplicate("[images]\nweb = \"nginx\n"), None);
        assert_eq!(duplicate("[images]\nwe b = 1\n"), None);
    }

    #[test]
    fn integers_beyond_i64_are_errors_where_they_are() {
        let text = "a = 1\nb = 99999999999999999999\n";
        let err = parse(text).expect_err("too large");
        assert_eq!(err.message, "number too large to fit in target type");
        assert_eq!(err.span.map(|s| line_col(text, s.start)), Some((2, 5)));
        // The first problem in the text is the one reported.
        let text = "b = 99999999999999999999\na = 1\na = 2\n";
        assert_eq!(
            parse(text).expect_err("invalid").span.map(|s| s.start),
            Some(4)
        );
        let entries = parse("a = 0x7fffffffffffffff\nb = -9223372036854775808\n").expect("fits");
        assert!(matches!(entries[0].1.get_ref(), Node::Integer(i64::MAX)));
        assert!(matches!(entries[1].1.get_ref(), Node::Integer(i64::MIN)));
    }

    #[test]
    fn entries_keep_the_order_they_are_written_in() {
        let entries = parse("z = 1\na = 2\n[m]\n[b]\n").expect("valid toml");
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m", "b"]);
    }

    #[test]
    fn one_of_reads_naturally() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
