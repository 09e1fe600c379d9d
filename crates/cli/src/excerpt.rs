//! The line an error points at, shown under the message the way cargo
//! and rustc do, so a reader sees the offending text without opening
//! the file.
//!
//! It is rendered from the text the error was made from (the library
//! keeps the line), never read again from disk: a lock read from a git
//! revision is shown as it is there, and a file edited meanwhile cannot
//! put another line under the message.

/// The excerpt for `source`, the text of line `line`, with a caret under
/// `column` (1-based, in characters).
///
/// ```text
///   |
/// 3 | api = { imgae = "acme/api:v1" }
///   |         ^^^^^
/// ```
pub fn excerpt(source: &str, line: usize, column: usize) -> Option<String> {
    // A line of minified or generated text would drown the message.
    if source.chars().count() > 200 {
        return None;
    }
    let start = column.saturating_sub(1).min(source.chars().count());
    let width = token_width(source.chars().skip(start));
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    let indent: String = source
        .chars()
        .take(start)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    Some(format!(
        "{gutter} |\n{number} | {source}\n{gutter} | {indent}{}",
        "^".repeat(width)
    ))
}

/// How many characters the token starting here spans: a whole quoted
/// string, or a run up to the next space or TOML punctuation; at least one.
fn token_width(mut chars: impl Iterator<Item = char>) -> usize {
    match chars.next() {
        None => 1,
        Some('"') => {
            let mut width = 1;
            let mut escaped = false;
            for c in chars {
                width += 1;
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return width,
                    _ => escaped = false,
                }
            }
            width
        }
        Some(_) => {
            1 + chars
                .take_while(|c| !c.is_whitespace() && !"=,{}[]\"".contains(*c))
                .count()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    /// The excerpt of line `line` of `text`.
    fn excerpt_of(text: &str, line: usize, column: usize) -> Option<String> {
        excerpt(text.lines().nth(line.checked_sub(1)?)?, line, column)
    }

    #[test]
    fn underlines_the_key_or_the_whole_string() {
        let text = "[images]\nweb = \"nginx\"\napi = { imgae = \"acme/api:v1\" }\n";
        assert_eq!(
            excerpt_of(text, 3, 9).as_deref(),
            Some("  |\n3 | api = { imgae = \"acme/api:v1\" }\n  |         ^^^^^")
        );
        assert_eq!(
            excerpt_of(text, 2, 7).as_deref(),
            Some("  |\n2 | web = \"nginx\"\n  |       ^^^^^^^")
        );
    }

    #[test]
    fn nothing_for_a_line_that_is_not_there() {
        assert_eq!(excerpt_of("a = 1\n", 5, 1), None);
        assert_eq!(excerpt_of("a = 1\n", 0, 1), None);
    }

    #[test]
    fn a_column_past_the_end_points_just_after_the_text() {
        assert_eq!(
            excerpt_of("web = \"nginx\n", 1, 40).as_deref(),
            Some(format!("  |\n1 | web = \"nginx\n  | {}^", " ".repeat(12)).as_str())
        );
    }
}
