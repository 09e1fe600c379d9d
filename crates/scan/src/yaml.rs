//! A read-only YAML tree that remembers where every scalar is, built from
//! `saphyr-parser`'s events (which carry source spans).
//!
//! Nothing is ever serialized back: a rewrite splices bytes at the spans
//! found here. Aliases share the node of their anchor, so an aliased image
//! is one scalar at one place; merge keys (`<<: *base`) are followed on
//! lookup, as Docker Compose does.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::{LeftAlone, Scan, ScanError, Target};

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

impl Scalar {
    /// Whether it is written unquoted.
    pub fn is_plain(&self) -> bool {
        self.style == ScalarStyle::Plain
    }

    /// 1-based line where its node starts.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// Every document of a YAML stream.
#[derive(Debug, Default)]
pub struct Yaml {
    /// All nodes; documents and containers refer to them by index.
    pub nodes: Vec<Node>,
    /// The root node of each document (empty documents have none).
    pub documents: Vec<NodeId>,
    /// The mappings written in flow style (`{…}`).
    flow_mappings: BTreeSet<NodeId>,
    /// How many more nodes lookups may visit through merge keys and
    /// aliases; see [`Yaml::within_budget`].
    budget: Cell<usize>,
    /// Set when a lookup ran out of budget and gave up.
    exhausted: Cell<bool>,
}

/// Node visits allowed per node of the file. Aliases share nodes, so the
/// tree is never expanded; but lookups through merge keys can reach one
/// node by many paths (`<<: [*a, *a, …]` nested is exponential, the
/// "billion laughs" shape). Like serde_yaml's repetition limit, work is
/// bounded by a multiple of the file's size, far above what a real
/// compose file or manifest needs.
const VISITS_PER_NODE: usize = 100;
/// Node visits allowed whatever the file's size.
const MIN_VISITS: usize = 10_000;

/// The node visits lookups may make in a file of `nodes` nodes.
fn limit(nodes: usize) -> usize {
    MIN_VISITS.saturating_add(nodes.saturating_mul(VISITS_PER_NODE))
}

/// Tries at making saphyr accept what libyaml accepts (see [`Source`]).
const MAX_REPAIRS: usize = 256;

enum Frame {
    /// Keys and values so far, the anchor, and whether it is written in
    /// flow style (`{…}`).
    Mapping(Vec<NodeId>, usize, bool),
    Sequence(Vec<NodeId>, usize),
}

/// The text saphyr reads: the file's own, or a copy in which the two
/// things libyaml (and so docker compose and kubectl) accepts and saphyr
/// refuses are written strictly, without moving any scalar: a tab after a
/// mapping's `:` becomes a space, and a line inside a flow collection that
/// saphyr finds under-indented gets more leading spaces (libyaml ignores
/// indentation inside `[…]` and `{…}`, where leading blanks are only
/// separation and never part of a value). Positions the parser reports
/// are mapped back to the file's bytes.
struct Source<'a> {
    file: &'a str,
    /// Byte offsets of tabs written as spaces.
    tabs: BTreeSet<usize>,
    /// Spaces inserted before the byte offset of a line's first character.
    indents: BTreeMap<usize, usize>,
}

/// The copy saphyr parses, and for each of its characters the byte offset
/// in the file it stands for (`None` while the copy is the file and ASCII).
struct Copy {
    text: String,
    origin: Option<Vec<usize>>,
}

impl Copy {
    /// The file's byte offset for the parser's character index.
    fn byte(&self, char_index: usize, file_len: usize) -> usize {
        match &self.origin {
            None => char_index.min(file_len),
            Some(table) => table.get(char_index).copied().unwrap_or(file_len),
        }
    }
}

impl<'a> Source<'a> {
    fn new(file: &'a str) -> Source<'a> {
        Source {
            file,
            tabs: BTreeSet::new(),
            indents: BTreeMap::new(),
        }
    }

    fn copy(&self) -> Copy {
        if self.tabs.is_empty() && self.indents.is_empty() {
            let origin = (!self.file.is_ascii()).then(|| {
                let mut table: Vec<usize> = self.file.char_indices().map(|(b, _)| b).collect();
                table.push(self.file.len());
                table
            });
            return Copy {
                text: self.file.to_owned(),
                origin,
            };
        }
        let mut text = String::with_capacity(self.file.len());
        let mut origin = Vec::with_capacity(self.file.len() + 1);
        for (at, c) in self.file.char_indices() {
            if let Some(&spaces) = self.indents.get(&at) {
                text.extend(std::iter::repeat_n(' ', spaces));
                origin.extend(std::iter::repeat_n(at, spaces));
            }
            text.push(if self.tabs.contains(&at) { ' ' } else { c });
            origin.push(at);
        }
        origin.push(self.file.len());
        Copy {
            text,
            origin: Some(origin),
        }
    }

    /// Rewrites the spot of a saphyr error at the file's byte `at` when it
    /// is one libyaml accepts; false when it is not (the error stands).
    /// saphyr's errors carry no kind, only their text.
    fn repair(&mut self, message: &str, at: usize) -> bool {
        let before = &self.file.as_bytes()[..at.min(self.file.len())];
        if message == "':' must be followed by a valid YAML whitespace" {
            // The blanks between the `:` and the value the error points at.
            let blanks = before
                .iter()
                .rev()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
            let first = before.len() - blanks;
            if first == 0 || before[first - 1] != b':' {
                return false;
            }
            let tabs: Vec<usize> = (first..before.len())
                .filter(|&i| before[i] == b'\t')
                .collect();
            let new = tabs.iter().any(|t| !self.tabs.contains(t));
            self.tabs.extend(tabs);
            return new;
        }
        if message.starts_with("invalid indentation") && !message.contains("quoted") {
            // Only a line's first character, indented with spaces, is moved.
            let line_start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            if !before[line_start..].iter().all(|b| *b == b' ') || self.indents.contains_key(&at) {
                return false;
            }
            // Deeper than any line before it is deeper than any indentation
            // saphyr can require there.
            let widest = self.file[..line_start]
                .lines()
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0);
            self.indents.insert(at, widest + 1);
            return true;
        }
        false
    }
}

impl Yaml {
    /// Parses a YAML stream as libyaml would accept it. A syntax error
    /// carries its line.
    pub fn parse(text: &str) -> Result<Yaml, ScanError> {
        let mut source = Source::new(text);
        let mut repairs = 0;
        loop {
            let copy = source.copy();
            match Yaml::parse_copy(text, &copy) {
                Ok(yaml) => return Ok(yaml),
                Err((error, at)) => {
                    repairs += 1;
                    if repairs > MAX_REPAIRS || !source.repair(&error.info, at) {
                        return Err(ScanError {
                            line: Some(error.line),
                            message: format!("invalid YAML: {}", error.info),
                        });
                    }
                }
            }
        }
    }

    /// Parses `copy` (see [`Source`]), with positions in `file`; an error
    /// comes with the file's byte offset it points at.
    fn parse_copy(file: &str, copy: &Copy) -> Result<Yaml, (ParseError, usize)> {
        let mut yaml = Yaml::default();
        let mut anchors: HashMap<usize, NodeId> = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(&copy.text);
        while let Some(next) = parser.next_event() {
            let (event, span): (Event<'_>, Span) = next.map_err(|e| {
                let error = ParseError {
                    line: e.marker().line(),
                    info: e.info().to_owned(),
                };
                (error, copy.byte(e.marker().index(), file.len()))
            })?;
            let completed = match event {
                Event::Scalar(value, style, anchor, _) => {
                    let id = yaml.push(Node::Scalar(Scalar {
                        value: value.into_owned(),
                        style,
                        start: copy.byte(span.start.index(), file.len()),
                        end: copy.byte(span.end.index(), file.len()),
                        line: span.start.line(),
                    }));
                    if anchor != 0 {
                        anchors.insert(anchor, id);
                    }
                    Some(id)
                }
                Event::Alias(anchor) => Some(*anchors.get(&anchor).ok_or_else(|| {
                    let error = ParseError {
                        line: span.start.line(),
                        info: "alias to an unknown anchor".to_owned(),
                    };
                    (error, copy.byte(span.start.index(), file.len()))
                })?),
                Event::MappingStart(anchor, _) => {
                    // A flow mapping's start event spans its properties and
                    // the `{`; a block mapping's, its properties alone.
                    let end = copy.byte(span.end.index(), file.len());
                    let flow = end > 0 && file.as_bytes().get(end - 1) == Some(&b'{');
                    stack.push(Frame::Mapping(Vec::new(), anchor, flow));
                    None
                }
                Event::SequenceStart(anchor, _) => {
                    stack.push(Frame::Sequence(Vec::new(), anchor));
                    None
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let (node, anchor, flow) = match stack.pop() {
                        Some(Frame::Mapping(items, anchor, flow)) => {
                            let pairs = items.chunks(2).map(|p| (p[0], p[p.len() - 1])).collect();
                            (Node::Mapping(pairs), anchor, flow)
                        }
                        Some(Frame::Sequence(items, anchor)) => {
                            (Node::Sequence(items), anchor, false)
                        }
                        None => continue,
                    };
                    let id = yaml.push(node);
                    if flow {
                        yaml.flow_mappings.insert(id);
                    }
                    if anchor != 0 {
                        anchors.insert(anchor, id);
                    }
                    Some(id)
                }
                _ => None,
            };
            if let Some(id) = completed {
                match stack.last_mut() {
                    Some(Frame::Mapping(items, ..) | Frame::Sequence(items, _)) => items.push(id),
                    None => yaml.documents.push(id),
                }
            }
        }
        yaml.budget.set(limit(yaml.nodes.len()));
        Ok(yaml)
    }

    /// Takes one node visit from the budget; false (and the walk should
    /// stop) when it is spent.
    pub fn spend(&self) -> bool {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                true
            }
            None => {
                self.exhausted.set(true);
                false
            }
        }
    }

    /// An error when a lookup gave up because merge keys and aliases
    /// fanned out beyond the budget: what was found may be incomplete, so
    /// the file must be refused rather than half rewritten.
    pub fn within_budget(&self) -> Result<(), ScanError> {
        if !self.exhausted.get() {
            return Ok(());
        }
        Err(ScanError {
            line: None,
            message: format!(
                "aliases and merge keys expand beyond {} lookups in a file of {} nodes (the \"billion laughs\" shape, which YAML parsers refuse too)",
                limit(self.nodes.len()),
                self.nodes.len()
            ),
        })
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Whether the mapping at `id` is written in flow style (`{…}`).
    pub fn is_flow_mapping(&self, id: NodeId) -> bool {
        self.flow_mappings.contains(&id)
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
        if depth > 64 || !self.spend() {
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

    /// The key and value scalars of the string field `key` of the mapping
    /// at `id`: `None` when it is absent or null (`~`, `null`, nothing),
    /// and the key's line as the error when its value is not a scalar.
    pub fn string_field(&self, id: NodeId, key: &str) -> Result<Option<(&Scalar, &Scalar)>, usize> {
        let Some((key, value)) = self
            .pairs(id)
            .iter()
            .find_map(|(k, v)| self.scalar(*k).filter(|s| s.value == key).map(|k| (k, *v)))
        else {
            return Ok(None);
        };
        match self.scalar(value) {
            Some(s)
                if s.is_plain()
                    && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL") =>
            {
                Ok(None)
            }
            Some(s) => Ok(Some((key, s))),
            None => Err(key.line),
        }
    }

    /// The scalar string under `key`, if there is one.
    pub fn get_str(&self, id: NodeId, key: &str) -> Option<&str> {
        self.get(id, key)
            .and_then(|v| self.scalar(v))
            .map(|s| s.value.as_str())
    }
}

/// A parser error: its line and saphyr's words.
struct ParseError {
    line: usize,
    info: String,
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

/// Scans each document of a YAML file with `each`, then checks that the
/// walk kept to the alias budget: the frame every YAML scanner shares.
/// The budget is checked after the walk because the walk is what spends it.
pub fn scan_documents(
    text: &str,
    mut each: impl FnMut(&Yaml, NodeId, &mut Scan) -> Result<(), ScanError>,
) -> Result<Scan, ScanError> {
    let yaml = Yaml::parse(text)?;
    let mut scan = Scan::default();
    for &root in &yaml.documents {
        each(&yaml, root, &mut scan)?;
    }
    yaml.within_budget()?;
    Ok(scan)
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

/// A tag field's text split at its digest: `1.2@sha256:…` is the tag `1.2`
/// and the digest `sha256:…`.
pub fn split_tag(value: &str) -> (Option<String>, Option<String>) {
    match value.split_once('@') {
        Some((tag, digest)) => (Some(tag.to_owned()), Some(digest.to_owned())),
        None => (Some(value.to_owned()), None),
    }
}

/// Records `reference`, whose text is split over fields (Helm's `tag` and
/// `digest`, kustomize's `newTag` and `digest`), at each of `places`: a
/// field and what a pin writes there. When one of them cannot be rewritten
/// in place, the reference is left alone: a pin rewrites all or none.
pub fn record_split(
    text: &str,
    places: &[(&Scalar, Target)],
    reference: &str,
    site: &str,
    scan: &mut Scan,
) {
    let mut spans = Vec::with_capacity(places.len());
    for (scalar, _) in places {
        match locate(text, scalar) {
            Located::At(span, line) => spans.push((span, line)),
            Located::Unsafe(line, why) => {
                scan.left_alone.push(LeftAlone {
                    text: reference.to_owned(),
                    line,
                    reason: format!("{site} cannot be rewritten in place: {why}"),
                });
                return;
            }
        }
    }
    for ((span, line), (_, target)) in spans.into_iter().zip(places) {
        scan.push_target(reference, span, line, site.to_owned(), target.clone());
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
    fn tabs_after_colons_and_flow_items_left_of_their_key_read_as_libyaml_reads_them() {
        let text = "- name: a\n  image:\tnginx:1.27\n  args: [\n  x,\n  \"y\"\n]\n  b:\t \"ünï\"\n  c: {\n  k: v\n  }\n  d: end\n";
        let yaml = Yaml::parse(text).expect("parses");
        let item = yaml.items(yaml.documents[0])[0];
        let image = yaml.get(item, "image").expect("image");
        assert_eq!(located(text, image, &yaml), ("nginx:1.27".to_owned(), 2));
        let args = yaml.get(item, "args").expect("args");
        let args: Vec<_> = yaml
            .items(args)
            .iter()
            .map(|&a| located(text, a, &yaml))
            .collect();
        assert_eq!(args, [("x".to_owned(), 4), ("y".to_owned(), 5)]);
        let b = yaml.get(item, "b").expect("b");
        assert_eq!(located(text, b, &yaml), ("ünï".to_owned(), 7));
        let c = yaml.get(item, "c").expect("c");
        assert_eq!(yaml.get_str(c, "k"), Some("v"));
        assert_eq!(yaml.get_str(item, "d"), Some("end"));
    }

    #[test]
    fn a_compose_healthcheck_closed_at_its_key_column_is_read() {
        // The shape of distribution's tests/docker-compose-azure-blob-store.yaml,
        // which saphyr alone refuses ("invalid indentation" at the `]`).
        let text = "services:\n  azurite:\n    image: azurite:3.35.0\n    healthcheck:\n      # a comment\n      test: [\n        \"CMD\",\n        \"node\"\n      ]\n      interval: 5s\n  next:\n    image: busybox\n";
        assert!(
            saphyr_parser::Parser::new_from_str(text).any(|e| e.is_err()),
            "saphyr alone refuses it"
        );
        let yaml = Yaml::parse(text).expect("parses");
        let services = yaml.get(yaml.documents[0], "services").expect("services");
        let next = yaml.get(services, "next").expect("next");
        let image = yaml.get(next, "image").expect("image");
        assert_eq!(located(text, image, &yaml), ("busybox".to_owned(), 12));
        let azurite = yaml.get(services, "azurite").expect("azurite");
        let check = yaml.get(azurite, "healthcheck").expect("healthcheck");
        assert_eq!(yaml.get_str(check, "interval"), Some("5s"));
    }

    #[test]
    fn merge_key_fan_out_is_bounded_and_reported() {
        let mut text = String::from("a0: &a0 {x: 1}\n");
        for level in 1..=9 {
            let aliases = vec![format!("*a{}", level - 1); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level}\n  <<: [{aliases}]\n"));
        }
        let yaml = Yaml::parse(&text).expect("parses");
        let root = yaml.documents[0];
        let deepest = yaml.get(root, "a9").expect("a9");
        // Found on the first path: cheap, and within the budget.
        assert_eq!(yaml.get_str(deepest, "x"), Some("1"));
        assert!(yaml.within_budget().is_ok());
        // Absent: 10^9 paths; the walk stops after its budget of visits.
        let budget = limit(yaml.nodes.len());
        assert_eq!(yaml.get(deepest, "image"), None);
        assert_eq!(yaml.budget.get(), 0, "at most {budget} visits were made");
        let err = yaml.within_budget().expect_err("refused");
        assert!(
            err.message.contains("aliases and merge keys"),
            "{}",
            err.message
        );
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
