//! Reading the repository's own YAML (action.yml, .pre-commit-hooks.yaml)
//! into `serde_json::Value`, as the programs that consume those files see
//! them: mappings, sequences, and every scalar as a string.

use saphyr_parser::{Event, Parser};
use serde_json::{Map, Value};

/// The first document of `text`.
#[track_caller]
pub fn parse(text: &str) -> Value {
    // One frame per open collection: a mapping keeps the key it waits to
    // pair, a sequence its items.
    enum Frame {
        Mapping(Map<String, Value>, Option<String>),
        Sequence(Vec<Value>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, _) = next.unwrap_or_else(|e| panic!("YAML does not parse: {e}"));
        let done = match event {
            Event::Scalar(value, ..) => Value::String(value.into_owned()),
            Event::MappingStart(..) => {
                stack.push(Frame::Mapping(Map::new(), None));
                continue;
            }
            Event::SequenceStart(..) => {
                stack.push(Frame::Sequence(Vec::new()));
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => match stack.pop() {
                Some(Frame::Mapping(map, _)) => Value::Object(map),
                Some(Frame::Sequence(items)) => Value::Array(items),
                None => panic!("unbalanced YAML events"),
            },
            Event::Alias(_) => panic!("aliases are not expected in these files"),
            _ => continue,
        };
        match stack.last_mut() {
            None => return done,
            Some(Frame::Sequence(items)) => items.push(done),
            Some(Frame::Mapping(map, key)) => match key.take() {
                None => {
                    let Value::String(name) = done else {
                        panic!("a mapping key that is not a string")
                    };
                    *key = Some(name);
                }
                Some(name) => {
                    map.insert(name, done);
                }
            },
        }
    }
    panic!("no YAML document")
}
