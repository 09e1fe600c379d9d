//! A read-only YAML tree that remembers where every scalar is, built from
//! `saphyr-parser`'s events (which carry source spans).
//!
//! Nothing is ever serialized back: a rewrite splices bytes at the spans
//! found here. Aliases share the node of their anchor, so an aliased image
//! is one scalar at one place; merge keys (`<<: *base`) are followed on
//! lookup, as Docker Compose does.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::{LeftAlone, Scan, ScanError};

/// An index into [`Yaml::nodes`].
pub type NodeId = usize;

/// One node of the tree.
#[derive(Debug)]
pub enum Node {
    /// A scalar and where its text is.
    Scalar(Scalar),
    /// Key/value pairs in source order.
    Mapping(Vec<(NodeId, NodeId)>),
    /// Items in source order.
    Sequence(Vec<NodeId>),
}

/// A scalar's value and source position.
#[derive(Debug)]
pub struct Scalar {
    /// The value after unquoting and folding.
    pub value: String,
    style: ScalarStyle,
    /// Byte offset where the parser's span starts (anchor and tag included).
    start: usize,
    /// Byte offset where the parser's span ends.
    end: usize,
    /// 1-based line of `start`.
    line: usize,
}

/// Every document of a YAML stream.
#[derive(Debug, Default)]
pub struct Yaml {
    /// All nodes; documents and containers refer to them by index.
    pub nodes: Vec<Node>,
    /// The root node of each document (empty documents have none).
    pub documents: Vec<NodeId>,
}

enum Frame {
    Mapping(Vec<NodeId>, usize),
    Sequence(Vec<NodeId>, usize),
}

/// Character index to byte offset; the parser counts characters.
struct Offsets(Option<Vec<usize>>);

impl Offsets {
    fn new(text: &str) -> Offsets {
        if text.is_ascii() {
            return Offsets(None);
        }
        let mut table: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        table.push(text.len());
        Offsets(Some(table))
    }

    fn byte(&self, char_index: usize, len: usize) -> usize {
        match &self.0 {
            None => char_index.min(len),
            Some(table) => table.get(char_index).copied().unwrap_or(len),
        }
    }
}

impl Yaml {
    /// Parses a YAML stream. A syntax error carries its line.
    pub fn parse(text: &str) -> Result<Yaml, ScanError> {
        let offsets = Offsets::new(text);
        let mut yaml = Yaml::default();
        let mut anchors: HashMap<usize, NodeId> = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Some(next) = parser.next_event() {
            let (event, span): (Event<'_>, Span) = next.map_err(|e| ScanError {
                line: Some(e.marker().line()),
                message: format!("invalid YAML: {}", e.info()),
            })?;
            let completed = match event {
                Event::Scalar(value, style, anchor, _) => {
                    let id = yaml.push(Node::Scalar(Scalar {
                        value: value.into_owned(),
                        style,
                        start: offsets.byte(span.start.index(), text.len()),
                        end: offsets.byte(span.end.index(), text.len()),
                        line: span.start.line(),
                    }));
                    if anchor != 0 {
                        anchors.insert(anchor, id);
                    }
                    Some(id)
                }
                Event::Alias(anchor) => Some(*anchors.get(&anchor).ok_or_else(|| ScanError {
                    line: Some(span.start.line()),
                    message: "invalid YAML: alias to an unknown anchor".to_owned(),
                })?),
                Event::MappingStart(anchor, _) => {
                    stack.push(Frame::Mapping(Vec::new(), anchor));
                    None
                }
                Event::SequenceStart(anchor, _) => {
                    stack.push(Frame::Sequence(Vec::new(), anchor));
                    None
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let (node, anchor) = match stack.pop() {
                        Some(Frame::Mapping(items, anchor)) => {
                            let pairs = items.chunks(2).map(|p| (p[0], p[p.len() - 1])).collect();
                            (Node::Mapping(pairs), anchor)
                        }
                        Some(Frame::Sequence(items, anchor)) => (Node::Sequence(items), anchor),
                        None => continue,
                    };
                    let id = yaml.push(node);
                    if anchor != 0 {
                        anchors.insert(anchor, id);
                    }
                    Some(id)
                }
                _ => None,
            };
            if let Some(id) = completed {
                match stack.last_mut() {
                    Some(Frame::Mapping(items, _) | Frame::Sequence(items, _)) => items.push(id),
                    None => yaml.documents.push(id),
                }
            }
        }
        Ok(yaml)
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The scalar at `id`, if it is one.
    pub fn scalar(&self, id: NodeId) -> Option<&Scalar> {
        match self.nodes.get(id) {
            Some(Node::Scalar(s)) => Some(s),
            _ => None,
        }
    }

    /// The items of the sequence at `id` (none when it is not a sequence).
    pub fn items(&self, id: NodeId) -> &[NodeId] {
        match self.nodes.get(id) {
            Some(Node::Sequence(items)) => items,
            _ => &[],
        }
    }

    /// The key/value pairs of the mapping at `id`, merged keys excluded.
    pub fn pairs(&self, id: NodeId) -> &[(NodeId, NodeId)] {
        match self.nodes.get(id) {
            Some(Node::Mapping(pairs)) => pairs,
            _ => &[],
        }
    }

    /// The mapping's entries as (key text, value), skipping non-scalar keys
    /// and merge keys.
    pub fn entries(&self, id: NodeId) -> impl Iterator<Item = (&str, NodeId)> {
        self.pairs(id).iter().filter_map(|(k, v)| {
            let key = self.scalar(*k)?.value.as_str();
            (key != "<<").then_some((key, *v))
        })
    }

    /// The value under `key` in the mapping at `id`, following merge keys
    /// (`<<: *base` or `<<: [*a, *b]`) when the mapping itself lacks it.
    pub fn get(&self, id: NodeId, key: &str) -> Option<NodeId> {
        self.get_depth(id, key, 0)
    }

    fn get_depth(&self, id: NodeId, key: &str, depth: usize) -> Option<NodeId> {
        // Merges only reach nodes that were complete before, so they cannot
        // loop; the bound is for absurdly deep chains.
        if depth > 64 {
            return None;
        }
        let pairs = self.pairs(id);
        let own = pairs
            .iter()
            .find(|(k, _)| self.scalar(*k).is_some_and(|s| s.value == key));
        if let Some((_, v)) = own {
            return Some(*v);
        }
        for (k, v) in pairs {
            if self.scalar(*k).is_some_and(|s| s.value == "<<") {
                let sources: Vec<NodeId> = match self.nodes.get(*v) {
                    Some(Node::Sequence(items)) => items.clone(),
                    _ => vec![*v],
                };
                for source in sources {
                    if let Some(found) = self.get_depth(source, key, depth + 1) {
                        return Some(found);
                    }
                }
            }
        }
        None
    }

    /// The scalar string under `key`, if there is one.
    pub fn get_str(&self, id: NodeId, key: &str) -> Option<&str> {
        self.get(id, key)
            .and_then(|v| self.scalar(v))
            .map(|s| s.value.as_str())
    }
}

/// Where a scalar's text is, for splicing.
pub enum Located {
    /// The exact bytes of the value (inside the quotes when quoted), and its line.
    At(Range<usize>, usize),
    /// The value is written with escapes, folding or as a block, so its
    /// bytes are not the value; the line, and why it cannot be spliced.
    Unsafe(usize, &'static str),
}

/// Finds the bytes of `scalar`'s value in `text`.
pub fn locate(text: &str, scalar: &Scalar) -> Located {
    let bytes = text.as_bytes();
    let mut at = scalar.start;
    // Skip the node's properties (`&anchor`, `!tag`) and the space after them.
    loop {
        while at < scalar.end && matches!(bytes.get(at), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            at += 1;
        }
        if matches!(bytes.get(at), Some(b'&' | b'!')) {
            while at < bytes.len() && !matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n') {
                at += 1;
            }
        } else {
            break;
        }
    }
    // Counting from the span's own line keeps this linear in the file:
    // only the anchor or tag can stand between them.
    let skipped = text.get(scalar.start..at).unwrap_or_default();
    let line = scalar.line + skipped.matches('\n').count();
    let value = scalar.value.as_str();
    match scalar.style {
        ScalarStyle::Plain => {
            if text.get(at..).is_some_and(|rest| rest.starts_with(value)) {
                Located::At(at..at + value.len(), line)
            } else {
                Located::Unsafe(line, "it is a plain scalar folded over several lines")
            }
        }
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            let inner = at + 1;
            if text
                .get(inner..)
                .is_some_and(|rest| rest.starts_with(value))
                && bytes.get(inner + value.len()) == bytes.get(at)
            {
                Located::At(inner..inner + value.len(), line)
            } else {
                Located::Unsafe(line, "its quoted text uses escapes or spans lines")
            }
        }
        _ => Located::Unsafe(line, "it is a block scalar"),
    }
}

/// Records the image in the scalar at `id` (after `prefix`, as in
/// `docker://`), or why it is left alone. Non-scalars and empty values are
/// not images and are skipped.
pub fn record(text: &str, yaml: &Yaml, id: NodeId, prefix: &str, site: String, scan: &mut Scan) {
    let Some(scalar) = yaml.scalar(id) else {
        return;
    };
    let Some(image) = scalar.value.strip_prefix(prefix) else {
        return;
    };
    if image.is_empty() {
        return;
    }
    match locate(text, scalar) {
        Located::At(span, line) => {
            let start = span.start + prefix.len();
            scan.push(image, start..span.end, line, site);
        }
        Located::Unsafe(line, why) => scan.left_alone.push(LeftAlone {
            text: scalar.value.clone(),
            line,
            reason: format!("{site} cannot be rewritten in place: {why}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(text: &str, id: NodeId, yaml: &Yaml) -> (String, usize) {
        let scalar = yaml.scalar(id).expect("a scalar");
        match locate(text, scalar) {
            Located::At(span, line) => (text[span].to_owned(), line),
            Located::Unsafe(line, why) => panic!("line {line}: {why}"),
        }
    }

    #[test]
    fn scalars_are_located_past_anchors_tags_and_quotes() {
        let text = "a: &x nginx:1.27 # c\r\nb: *x\r\nc: \"alpine:3\" \r\nd: !!str 'busybox'\r\ne: ünï\r\nf: \"ok\"\n";
        let yaml = Yaml::parse(text).expect("parses");
        let root = yaml.documents[0];
        for (key, want, line) in [
            ("a", "nginx:1.27", 1),
            ("c", "alpine:3", 3),
            ("d", "busybox", 4),
            ("e", "ünï", 5),
            ("f", "ok", 6),
        ] {
            let id = yaml.get(root, key).expect("key");
            assert_eq!(located(text, id, &yaml), (want.to_owned(), line), "{key}");
        }
        assert_eq!(
            yaml.get(root, "b"),
            yaml.get(root, "a"),
            "an alias shares its anchor's node"
        );
    }

    #[test]
    fn escaped_and_block_scalars_are_not_spliced() {
        let text = "a: \"ngi\\x6Ex\"\nb: |\n  nginx\nc: plain\n  folded\n";
        let yaml = Yaml::parse(text).expect("parses");
        let root = yaml.documents[0];
        for key in ["a", "b", "c"] {
            let id = yaml.get(root, key).expect("key");
            let scalar = yaml.scalar(id).expect("scalar");
            assert!(matches!(locate(text, scalar), Located::Unsafe(..)), "{key}");
        }
    }

    #[test]
    fn merge_keys_are_followed_and_own_keys_win() {
        let text = "base: &b {image: one, x: 1}\nsvc:\n  <<: *b\n  x: 2\nother:\n  <<: [*b]\n  image: two\n";
        let yaml = Yaml::parse(text).expect("parses");
        let root = yaml.documents[0];
        let svc = yaml.get(root, "svc").expect("svc");
        assert_eq!(yaml.get_str(svc, "image"), Some("one"));
        assert_eq!(yaml.get_str(svc, "x"), Some("2"));
        let other = yaml.get(root, "other").expect("other");
        assert_eq!(yaml.get_str(other, "image"), Some("two"));
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = Yaml::parse("a: 1\nb: [unclosed\nc: 2\n").expect_err("invalid");
        assert!(err.line.is_some());
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
    }

    #[test]
    fn every_document_of_a_stream_is_kept() {
        let yaml = Yaml::parse("---\na: 1\n---\n# empty\n---\nb: 2\n").expect("parses");
        let mappings = yaml
            .documents
            .iter()
            .filter(|d| !yaml.pairs(**d).is_empty());
        assert_eq!(mappings.count(), 2);
    }
}
