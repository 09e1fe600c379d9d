//! Image references in a Dockerfile: `FROM [--platform=…] IMAGE [AS name]`,
//! `COPY --from=IMAGE` and `RUN --mount=…,from=IMAGE`, and the `ARG`
//! default such an image is when it is written `${NAME}` or `$NAME`.
//!
//! A line-based reader that follows BuildKit's rules where they matter for
//! finding images: parser directives (`# escape=`), line continuations
//! (with comment lines inside them dropped), heredocs (whose bodies are not
//! instructions), and build stages (`FROM stage` and `COPY --from=stage`
//! name a stage, not an image). Anything it cannot read with confidence is
//! an error, so the file is reported and left untouched rather than
//! rewritten on a guess.

use std::collections::HashMap;

use crate::{LeftAlone, Scan, ScanError};

/// Instructions BuildKit knows; anything else means the file is not what
/// we think it is.
const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// A whitespace-separated word of an instruction, with where it is.
#[derive(Debug, Clone)]
struct Word<'a> {
    text: &'a str,
    start: usize,
    line: usize,
}

/// A build argument's default value and where its text is.
#[derive(Debug, Clone)]
struct ArgDefault {
    text: String,
    start: usize,
    line: usize,
}

/// The build arguments in scope: the global ones (declared before the
/// first `FROM`, the only ones a `FROM` sees) and the current stage's
/// (which `COPY --from` and `RUN --mount=from=` see; `ARG NAME` without a
/// value in a stage takes the global default).
#[derive(Debug, Default)]
struct BuildArgs {
    global: HashMap<String, Option<ArgDefault>>,
    stage: HashMap<String, Option<ArgDefault>>,
    in_stage: bool,
}

impl BuildArgs {
    fn declare(&mut self, args: &[Word<'_>]) {
        for word in args {
            let (name, value) = match word.text.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (word.text, None),
            };
            let default = value.and_then(|value| {
                let offset = word.start + name.len() + 1;
                let quoted = value.len() >= 2
                    && (value.starts_with('"') && value.ends_with('"')
                        || value.starts_with('\'') && value.ends_with('\''));
                let (text, start) = if quoted {
                    (&value[1..value.len() - 1], offset + 1)
                } else {
                    (value, offset)
                };
                (!text.is_empty()).then(|| ArgDefault {
                    text: text.to_owned(),
                    start,
                    line: word.line,
                })
            });
            if self.in_stage {
                let inherited = match value {
                    None => self.global.get(name).cloned().flatten(),
                    Some(_) => default,
                };
                self.stage.insert(name.to_owned(), inherited);
            } else {
                self.global.insert(name.to_owned(), default);
            }
        }
    }

    fn enter_stage(&mut self) {
        self.in_stage = true;
        self.stage.clear();
    }
}

/// The name of the build argument `text` is exactly (`${NAME}` or `$NAME`).
fn arg_name(text: &str) -> Option<&str> {
    let name = text
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .or_else(|| text.strip_prefix('$'))?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(name)
}

/// Records the image `text` at `start`, or, when it is exactly a build
/// argument, that argument's default where it is written (pinning the
/// default pins every use, as docker-lock does). An argument not declared
/// by then, or without a default, is left alone.
fn push_image(
    scan: &mut Scan,
    text: &str,
    start: usize,
    line: usize,
    site: &str,
    scope: &HashMap<String, Option<ArgDefault>>,
    stages: &[String],
) {
    let Some(name) = arg_name(text) else {
        scan.push(text, start..start + text.len(), line, site.to_owned());
        return;
    };
    let reason = match scope.get(name) {
        Some(Some(default)) => {
            if !names_a_stage(&default.text, stages) {
                scan.push(
                    &default.text,
                    default.start..default.start + default.text.len(),
                    default.line,
                    format!("ARG {name} (used by {site} on line {line})"),
                );
            }
            return;
        }
        Some(None) => format!(
            "{site} uses ARG {name}, which has no default; its value is only known at build time"
        ),
        None => format!(
            "{site} uses ARG {name} before it is defined; declare `ARG {name}=IMAGE` before it"
        ),
    };
    scan.left_alone.push(LeftAlone {
        text: text.to_owned(),
        line,
        reason,
    });
}

/// A physical line: its text without the line ending, where it starts, its number.
struct Line<'a> {
    text: &'a str,
    start: usize,
    number: usize,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let body = raw.strip_suffix('\n').unwrap_or(raw);
        let body = body.strip_suffix('\r').unwrap_or(body);
        out.push(Line {
            text: body,
            start,
            number: index + 1,
        });
        start += raw.len();
    }
    out
}

fn words<'a>(segment: &'a str, offset: usize, line: usize, into: &mut Vec<Word<'a>>) {
    let mut word_start = None;
    for (i, c) in segment.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = word_start.take() {
                into.push(Word {
                    text: &segment[s..i],
                    start: offset + s,
                    line,
                });
            }
        } else if word_start.is_none() {
            word_start = Some(i);
        }
    }
    if let Some(s) = word_start {
        into.push(Word {
            text: &segment[s..],
            start: offset + s,
            line,
        });
    }
}

/// The escape character from the parser directives at the top of the file.
fn escape_char(lines: &[Line<'_>]) -> Result<char, ScanError> {
    let mut escape = '\\';
    for line in lines {
        let Some(rest) = line.text.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = rest.split_once('=') else {
            break;
        };
        if key.trim().eq_ignore_ascii_case("escape") {
            escape = match value.trim() {
                "\\" => '\\',
                "`" => '`',
                other => {
                    return Err(ScanError::at(
                        line.number,
                        format!(
                            "invalid escape directive `{other}`: only `\\` and `` ` `` are allowed"
                        ),
                    ))
                }
            };
        }
    }
    Ok(escape)
}

/// A heredoc an instruction opens: the delimiter that ends its body, and
/// whether leading tabs are stripped before matching it (`<<-`).
#[derive(Debug, PartialEq, Eq)]
struct Heredoc {
    delimiter: String,
    strip_tabs: bool,
}

/// The heredocs an instruction line opens, found as BuildKit finds them
/// (`heredocsFromLine` in its Dockerfile parser): the line is split into
/// shell words with their quotes and escapes kept, and a word opens a
/// heredoc when the whole word is `[fd digits]<<[-][blanks]NAME`, so
/// `3<<ENV` and `<< EOF` do and a `<<` inside a quoted string does not.
fn heredocs(line: &str) -> Vec<Heredoc> {
    shell_words(line)
        .unwrap_or_default()
        .iter()
        .filter_map(|word| heredoc(word))
        .collect()
}

/// The shell words of `line` with quotes and escapes kept. `None` when a
/// quote is never closed: BuildKit's lexer fails then, and finds no
/// heredoc in the line. BuildKit lexes with `\` whatever the escape
/// directive says, and so does this.
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                word.push(c);
                loop {
                    let c = chars.next()?;
                    word.push(c);
                    if c == '\'' {
                        break;
                    }
                }
            }
            '"' => {
                word.push(c);
                loop {
                    let c = chars.next()?;
                    word.push(c);
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(&next) =
                                chars.peek().filter(|n| matches!(n, '"' | '$' | '\\'))
                            {
                                word.push(next);
                                chars.next();
                            }
                        }
                        _ => {}
                    }
                }
            }
            '\\' => {
                word.push(c);
                word.extend(chars.next());
            }
            // The lexer keeps blanks after `<<` in the word, so that
            // `<< EOF` is one word.
            '<' if chars.peek() == Some(&'<') => {
                chars.next();
                word.push_str("<<");
                while let Some(&blank) = chars.peek().filter(|c| matches!(c, ' ' | '\t')) {
                    word.push(blank);
                    chars.next();
                }
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Some(words)
}

/// The heredoc a whole shell word opens (`^(\d*)<<(-?)\s*([^<]*)$` in
/// BuildKit), its name unquoted; `None` when the word opens none.
fn heredoc(word: &str) -> Option<Heredoc> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    Some(Heredoc {
        delimiter: unquoted_word(rest)?,
        strip_tabs,
    })
}

/// `text` read as exactly one shell word with its quotes and escapes
/// removed (`'E'OF` is `EOF`); `None` when it is none or several words.
fn unquoted_word(text: &str) -> Option<String> {
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => word.push(c),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.peek() {
                        Some(&next @ ('"' | '$' | '\\')) => {
                            word.push(next);
                            chars.next();
                        }
                        _ => word.push('\\'),
                    },
                    c => word.push(c),
                }
            },
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => return None,
            c => word.push(c),
        }
    }
    (!word.is_empty()).then_some(word)
}

/// Whether an instruction's arguments are in JSON (exec) form, where
/// BuildKit finds no heredocs.
fn is_json_form(args: &[Word<'_>]) -> bool {
    let rest: Vec<&str> = args
        .iter()
        .skip_while(|w| w.text.starts_with("--"))
        .map(|w| w.text)
        .collect();
    let rest = rest.join(" ");
    rest.starts_with('[') && serde_json::from_str::<Vec<String>>(&rest).is_ok()
}

/// Finds the images a Dockerfile builds from.
pub fn scan(text: &str) -> Result<Scan, ScanError> {
    let lines = lines(text);
    let escape = escape_char(&lines)?;
    let mut scan = Scan::default();
    let mut stages: Vec<String> = Vec::new();
    let mut build_args = BuildArgs::default();
    let mut i = 0;
    while i < lines.len() {
        let first = &lines[i];
        let trimmed = first.text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        // Gather one instruction across its continuation lines, and the
        // line BuildKit makes of it (the segments joined as they are).
        let mut instruction: Vec<Word<'_>> = Vec::new();
        let mut joined = String::new();
        while let Some(line) = lines.get(i) {
            i += 1;
            let body = line.text;
            let continues_at = body.trim_end().strip_suffix(escape).map(str::len);
            let segment = &body[..continues_at.unwrap_or(body.len())];
            words(segment, line.start, line.number, &mut instruction);
            joined.push_str(segment);
            if continues_at.is_none() {
                break;
            }
            // Comment and blank lines inside a continuation are dropped.
            while lines.get(i).is_some_and(|l| {
                let t = l.text.trim_start();
                t.is_empty() || t.starts_with('#')
            }) {
                i += 1;
            }
        }
        let Some(keyword) = instruction.first() else {
            continue;
        };
        let name = keyword.text.to_ascii_uppercase();
        if !INSTRUCTIONS.contains(&name.as_str()) {
            return Err(ScanError::at(
                keyword.line,
                format!("unknown instruction `{}`", keyword.text),
            ));
        }
        let args = &instruction[1..];
        match name.as_str() {
            "FROM" => {
                from(args, keyword.line, &mut stages, &build_args, &mut scan)?;
                build_args.enter_stage();
            }
            "ARG" => build_args.declare(args),
            "COPY" => copy_from(args, &stages, &build_args, &mut scan),
            "RUN" => run_mount_from(args, &stages, &build_args, &mut scan),
            _ => {}
        }
        // `ONBUILD RUN <<EOF` opens a heredoc as `RUN <<EOF` does.
        let (heredoc_instruction, heredoc_args) = match (name.as_str(), args) {
            ("ONBUILD", [inner, rest @ ..]) => (inner.text.to_ascii_uppercase(), rest),
            _ => (name.clone(), args),
        };
        let opens_heredocs = matches!(heredoc_instruction.as_str(), "RUN" | "COPY" | "ADD")
            && joined.contains("<<")
            && !is_json_form(heredoc_args);
        if opens_heredocs {
            for Heredoc {
                delimiter,
                strip_tabs,
            } in heredocs(&joined)
            {
                let opened_at = keyword.line;
                loop {
                    let Some(line) = lines.get(i) else {
                        return Err(ScanError::at(
                            opened_at,
                            format!("heredoc `{delimiter}` is never closed"),
                        ));
                    };
                    i += 1;
                    let body = if strip_tabs {
                        line.text.trim_start_matches('\t')
                    } else {
                        line.text
                    };
                    if body == delimiter {
                        break;
                    }
                }
            }
        }
    }
    Ok(scan)
}

fn from(
    args: &[Word<'_>],
    line: usize,
    stages: &mut Vec<String>,
    build_args: &BuildArgs,
    scan: &mut Scan,
) -> Result<(), ScanError> {
    let mut rest = args;
    while let Some(flag) = rest.first().filter(|w| w.text.starts_with("--")) {
        if !flag.text.starts_with("--platform=") {
            return Err(ScanError::at(
                flag.line,
                format!(
                    "unexpected flag `{}` in FROM (only `--platform=` is allowed)",
                    flag.text
                ),
            ));
        }
        rest = &rest[1..];
    }
    let Some(image) = rest.first() else {
        return Err(ScanError::at(line, "FROM names no image"));
    };
    let alias = match &rest[1..] {
        [] => None,
        [as_word, alias] if as_word.text.eq_ignore_ascii_case("as") => {
            Some(alias.text.to_ascii_lowercase())
        }
        [extra, ..] => {
            return Err(ScanError::at(
                extra.line,
                format!(
                    "unexpected `{}` after the image in FROM (expected `AS name` or nothing)",
                    extra.text
                ),
            ))
        }
    };
    let lower = image.text.to_ascii_lowercase();
    // `scratch` is the empty image, and a stage name refers to an earlier
    // stage of this build: neither is pulled from a registry.
    let is_image = lower != "scratch" && !stages.contains(&lower);
    stages.extend(alias);
    if !is_image {
        return Ok(());
    }
    push_image(
        scan,
        image.text,
        image.start,
        image.line,
        "FROM",
        &build_args.global,
        stages,
    );
    Ok(())
}

/// Whether a `--from` value names a build stage (by index or by name)
/// rather than an image.
fn names_a_stage(source: &str, stages: &[String]) -> bool {
    source.is_empty()
        || source.bytes().all(|b| b.is_ascii_digit())
        || stages.contains(&source.to_ascii_lowercase())
}

/// `RUN --mount=type=bind,from=IMAGE,…` (also `cache` and `secret`
/// mounts) reads files from an image, which must be pinned like any other.
fn run_mount_from(args: &[Word<'_>], stages: &[String], build_args: &BuildArgs, scan: &mut Scan) {
    for word in args.iter().take_while(|w| w.text.starts_with("--")) {
        let Some(options) = word.text.strip_prefix("--mount=") else {
            continue;
        };
        let mut offset = word.start + "--mount=".len();
        for option in options.split(',') {
            if let Some(source) = option.strip_prefix("from=") {
                if !names_a_stage(source, stages) {
                    let start = offset + "from=".len();
                    push_image(
                        scan,
                        source,
                        start,
                        word.line,
                        "RUN --mount from",
                        &build_args.stage,
                        stages,
                    );
                }
            }
            offset += option.len() + 1;
        }
    }
}

fn copy_from(args: &[Word<'_>], stages: &[String], build_args: &BuildArgs, scan: &mut Scan) {
    for word in args.iter().take_while(|w| w.text.starts_with("--")) {
        let Some(source) = word.text.strip_prefix("--from=") else {
            continue;
        };
        // `--from=0` is a stage by index; `--from=builder` a stage by name.
        if names_a_stage(source, stages) {
            continue;
        }
        let start = word.start + "--from=".len();
        push_image(
            scan,
            source,
            start,
            word.line,
            "COPY --from",
            &build_args.stage,
            stages,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(text: &str) -> Vec<(String, usize)> {
        let scan = scan(text).expect("scans");
        for f in &scan.found {
            assert_eq!(&text[f.span.clone()], f.image, "span must cover the image");
        }
        scan.found.into_iter().map(|f| (f.image, f.line)).collect()
    }

    #[test]
    fn from_with_platform_and_alias_is_found_and_stages_are_not() {
        let text = "# syntax=docker/dockerfile:1\n\
                    FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n\
                    RUN go build\n\
                    FROM build AS test\n\
                    FROM gcr.io/distroless/static:nonroot\n\
                    COPY --from=build /out /app\n\
                    COPY --from=0 /x /y\n\
                    COPY --link --from=busybox:1.36 /bin/sh /sh\n";
        assert_eq!(
            images(text),
            [
                ("golang:1.22".to_string(), 2),
                ("gcr.io/distroless/static:nonroot".to_string(), 5),
                ("busybox:1.36".to_string(), 8),
            ]
        );
    }

    #[test]
    fn arg_defaults_used_by_from_and_copy_from_are_found_once_where_they_are_written() {
        // This was `arg_substituted_images_are_left_alone`: issue 14 asks
        // for the ARG default to be pinned, as docker-lock does.
        let text =
            "ARG BASE=alpine:3.20\nARG TOOLS=\"busybox:1.36\"\nFROM ${BASE}\nFROM $BASE AS two\n\
                    ARG TOOLS\nCOPY --from=${TOOLS} /bin/x /x\nFROM ${LATER}\nARG LATER=nginx\n";
        let scan = scan(text).expect("scans");
        let found: Vec<_> = scan
            .found
            .iter()
            .map(|f| (f.image.as_str(), f.line, &text[f.span.clone()]))
            .collect();
        assert_eq!(
            found,
            [
                ("alpine:3.20", 1, "alpine:3.20"),
                ("busybox:1.36", 2, "busybox:1.36")
            ]
        );
        assert_eq!(scan.left_alone.len(), 1);
        assert_eq!(scan.left_alone[0].line, 7);
        assert!(
            scan.left_alone[0]
                .reason
                .contains("ARG LATER before it is defined"),
            "{}",
            scan.left_alone[0].reason
        );
    }

    #[test]
    fn run_mounts_from_images_are_found_and_from_stages_are_not() {
        let text = "FROM golang:1.22 AS build\n\
                    RUN --mount=type=cache,target=/root/.cache --mount=type=bind,from=alpine:3.20,source=/etc,target=/x make\n\
                    RUN --mount=type=bind,from=build,target=/b true\n";
        // `images` also checks each span covers exactly the image text.
        assert_eq!(
            images(text),
            [("golang:1.22".to_owned(), 1), ("alpine:3.20".to_owned(), 2)]
        );
    }

    #[test]
    fn scratch_is_not_an_image() {
        assert!(images("FROM scratch\nCOPY a /a\n").is_empty());
    }

    #[test]
    fn continuation_lines_and_crlf_keep_exact_spans() {
        let text = "FROM \\\r\n  # a comment inside\r\n  --platform=linux/amd64 \\\r\n  nginx:1.27 \\\r\n  AS web\r\nCOPY --from=web /a /b\r\n";
        assert_eq!(images(text), [("nginx:1.27".to_string(), 4)]);
    }

    #[test]
    fn backtick_escape_directive_is_honoured() {
        let text = "# escape=`\nFROM `\n  mcr.microsoft.com/windows/nanoserver:ltsc2022\n";
        assert_eq!(
            images(text),
            [(
                "mcr.microsoft.com/windows/nanoserver:ltsc2022".to_string(),
                3
            )]
        );
    }

    #[test]
    fn heredoc_bodies_are_not_instructions() {
        let text = "FROM alpine:3.20\nRUN <<EOF\nFROM not-an-image\necho hi\nEOF\nCOPY <<-END /x\n\tFROM nope\n\tEND\n";
        assert_eq!(images(text), [("alpine:3.20".to_string(), 1)]);
    }

    #[test]
    fn a_shift_inside_a_shell_word_is_not_a_heredoc() {
        let text = "FROM alpine:3.20\nRUN echo \"1<<2\"\nFROM busybox:1.36\n";
        assert_eq!(images(text).len(), 2);
    }

    #[test]
    fn heredocs_follow_buildkit_words_with_fd_prefixes_and_quotes() {
        let found = |line: &str| -> Vec<(String, bool)> {
            heredocs(line)
                .into_iter()
                .map(|h| (h.delimiter, h.strip_tabs))
                .collect()
        };
        let one = |name: &str, strip: bool| vec![(name.to_owned(), strip)];
        assert_eq!(found("RUN cat 3<<ENV >/etc/x"), one("ENV", false));
        assert_eq!(found("RUN cat << EOF"), one("EOF", false));
        assert_eq!(found("RUN <<-'END' sh"), one("END", true));
        assert_eq!(found("RUN <<\"E\"OF"), one("EOF", false));
        assert_eq!(
            found("COPY <<A <<B /dst/"),
            vec![("A".to_owned(), false), ("B".to_owned(), false)]
        );
        for none in [
            "RUN echo \"see <<EOF for details\"",
            "RUN echo '<<EOF'",
            "RUN echo x\\<<EOF",
            "RUN cat<<EOF",
            "RUN echo 1 << ",
            "RUN echo \"unclosed <<EOF",
            "RUN <<A<<B",
        ] {
            assert_eq!(found(none), [], "{none}");
        }
    }

    #[test]
    fn fd_heredoc_bodies_and_quoted_shifts_are_told_apart() {
        let text = "FROM alpine:3.20\n\
                    RUN cat 3<<ENV >/etc/x\n\
                    FROM inside-the-body\n\
                    ENV\n\
                    RUN echo \"see <<EOF for details\"\n\
                    ONBUILD RUN <<X\n\
                    FROM also-inside\n\
                    X\n\
                    RUN [\"sh\", \"-c\", \"cat <<EOF\"]\n\
                    FROM busybox:1.36\n";
        assert_eq!(
            images(text),
            [
                ("alpine:3.20".to_string(), 1),
                ("busybox:1.36".to_string(), 10)
            ]
        );
    }

    #[test]
    fn odd_syntax_is_an_error_with_a_line() {
        let err = scan("FROM alpine\nFRM oops\n").expect_err("unknown instruction");
        assert_eq!(err.line, Some(2));
        let err = scan("FROM --platform=linux/amd64\n").expect_err("no image");
        assert_eq!(err.line, Some(1));
        let err = scan("FROM alpine as\n").expect_err("dangling AS");
        assert_eq!(err.line, Some(1));
        let err = scan("FROM --pull alpine\n").expect_err("unknown flag");
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn stage_names_compare_case_insensitively() {
        assert!(
            images("FROM alpine:3.20 AS Builder\nFROM builder\nCOPY --from=BUILDER /a /b\n")
                .iter()
                .all(|(image, _)| image == "alpine:3.20")
        );
    }
}
