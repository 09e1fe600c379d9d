//! Text that comes from a registry (its error messages, the media types it
//! named), made safe to print. A registry may send anything: ESC sequences
//! that move the cursor or retitle the terminal, a `\r` that overwrites
//! the line, a newline followed by `::notice::…`, which the GitHub Actions
//! runner would execute as a workflow command (it reads commands from
//! stdout and stderr, at the start of a line after whitespace), or
//! megabytes of it. Every place that prints such text passes it through
//! [`escape`] first, in every format.

use std::fmt::Write as _;

/// How many characters of one piece of registry text are shown; the rest
/// is cut, saying how long it was.
pub const MAX_CHARS: usize = 512;

/// `text` with every control character (C0, DEL, C1), bidirectional
/// override and line separator written as an escape (`\n`, `\r`, `\t`,
/// `\u{1b}`), cut to [`MAX_CHARS`], and never starting a workflow command:
/// a leading `::` is written `\u{3a}:`. The result is one line, so nothing
/// in it can start a line of its own either.
pub fn escape(text: &str) -> String {
    escape_at_most(text, MAX_CHARS)
}

/// [`escape`], cut to `max_chars` characters instead: for a log line,
/// whose fields may hold registry text among much that is ours.
pub fn escape_at_most(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for (at, c) in text.char_indices() {
        if shown >= max_chars {
            let _ = write!(out, "… (cut: {} bytes in all)", text.len());
            break;
        }
        let leading_command =
            c == ':' && out.trim_start().is_empty() && text[at..].starts_with("::");
        let before = out.len();
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) || leading_command => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
        shown += out[before..].chars().count();
    }
    out
}

/// Characters that change how a terminal or a log viewer shows what
/// follows, beyond what `char::is_control` covers.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}'         // left-to-right / right-to-left marks
            | '\u{2028}' | '\u{2029}'        // line and paragraph separators
            | '\u{202a}'..='\u{202e}'        // bidirectional embeddings, overrides
            | '\u{2066}'..='\u{2069}'        // bidirectional isolates
            | '\u{feff}' // zero-width no-break space (BOM)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_written_as_escapes() {
        assert_eq!(
            escape("\x1b[2J\x1b]0;x\x07a\rb\nc\td\u{9b}e\u{7f}"),
            "\\u{1b}[2J\\u{1b}]0;x\\u{7}a\\rb\\nc\\td\\u{9b}e\\u{7f}"
        );
        assert_eq!(escape("abc\u{202e}def"), "abc\\u{202e}def");
    }

    #[test]
    fn ordinary_text_is_kept() {
        let text = "manifest unknown: tag `v1` in repository acme/api, ünïcode: 1::2";
        assert_eq!(escape(text), text);
    }

    #[test]
    fn a_workflow_command_cannot_start_the_text_or_a_line_in_it() {
        assert_eq!(escape("::notice::x"), "\\u{3a}:notice::x");
        assert_eq!(escape("  ::add-mask::x"), "  \\u{3a}:add-mask::x");
        let escaped = escape("denied\n::notice title=t::forged");
        assert!(!escaped.contains('\n'), "{escaped}");
        assert!(!escaped.trim_start().starts_with("::"), "{escaped}");
    }

    #[test]
    fn long_text_is_cut_and_says_how_long_it_was() {
        let long = "é".repeat(3_000_000);
        let escaped = escape(&long);
        assert!(
            escaped.chars().count() < MAX_CHARS + 40,
            "{}",
            escaped.len()
        );
        assert!(
            escaped.ends_with("… (cut: 6000000 bytes in all)"),
            "{escaped}"
        );
        // Escapes count towards the cap too.
        let escaped = escape(&"\x1b".repeat(10_000));
        assert!(
            escaped.chars().count() < MAX_CHARS + 40,
            "{}",
            escaped.len()
        );
        assert_eq!(escape(&"a".repeat(MAX_CHARS)), "a".repeat(MAX_CHARS));
    }
}
