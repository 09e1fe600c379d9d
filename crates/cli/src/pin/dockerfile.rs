//! Image references in a Dockerfile: `FROM [--platform=…] IMAGE [AS name]`,
//! `COPY --from=IMAGE` and `RUN --mount=…,from=IMAGE`.
//!
//! A line-based reader that follows BuildKit's rules where they matter for
//! finding images: parser directives (`# escape=`), line continuations
//! (with comment lines inside them dropped), heredocs (whose bodies are not
//! instructions), and build stages (`FROM stage` and `COPY --from=stage`
//! name a stage, not an image). Anything it cannot read with confidence is
//! an error, so the file is reported and left untouched rather than
//! rewritten on a guess.

use super::{Scan, ScanError};

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

/// Heredoc delimiters an instruction opens (`<<EOF`, `<<-EOF`, `<<"EOF"`),
/// with whether leading tabs are stripped before matching the end.
fn heredocs(words: &[Word<'_>]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for word in words {
        // Like BuildKit, only a word that starts with `<<` opens one, so a
        // `<<` inside a quoted shell string does not.
        let Some(rest) = word.text.strip_prefix("<<") else {
            continue;
        };
        let (strip_tabs, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let name: String = rest
            .trim_matches(|c| c == '"' || c == '\'')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push((name, strip_tabs));
        }
    }
    out
}

/// Finds the images a Dockerfile builds from.
pub fn scan(text: &str) -> Result<Scan, ScanError> {
    let lines = lines(text);
    let escape = escape_char(&lines)?;
    let mut scan = Scan::default();
    let mut stages: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = &lines[i];
        let trimmed = first.text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        // Gather one instruction across its continuation lines.
        let mut instruction: Vec<Word<'_>> = Vec::new();
        while let Some(line) = lines.get(i) {
            i += 1;
            let body = line.text;
            let continues_at = body.trim_end().strip_suffix(escape).map(str::len);
            let segment = &body[..continues_at.unwrap_or(body.len())];
            words(segment, line.start, line.number, &mut instruction);
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
            "FROM" => from(args, keyword.line, &mut stages, &mut scan)?,
            "COPY" => copy_from(args, &stages, &mut scan),
            "RUN" => run_mount_from(args, &stages, &mut scan),
            _ => {}
        }
        if matches!(name.as_str(), "RUN" | "COPY" | "ADD") {
            for (delimiter, strip_tabs) in heredocs(args) {
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
    scan.push(
        image.text,
        image.start..image.start + image.text.len(),
        image.line,
        "FROM".to_owned(),
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
fn run_mount_from(args: &[Word<'_>], stages: &[String], scan: &mut Scan) {
    for word in args.iter().take_while(|w| w.text.starts_with("--")) {
        let Some(options) = word.text.strip_prefix("--mount=") else {
            continue;
        };
        let mut offset = word.start + "--mount=".len();
        for option in options.split(',') {
            if let Some(source) = option.strip_prefix("from=") {
                if !names_a_stage(source, stages) {
                    let start = offset + "from=".len();
                    scan.push(
                        source,
                        start..start + source.len(),
                        word.line,
                        "RUN --mount from".to_owned(),
                    );
                }
            }
            offset += option.len() + 1;
        }
    }
}

fn copy_from(args: &[Word<'_>], stages: &[String], scan: &mut Scan) {
    for word in args.iter().take_while(|w| w.text.starts_with("--")) {
        let Some(source) = word.text.strip_prefix("--from=") else {
            continue;
        };
        // `--from=0` is a stage by index; `--from=builder` a stage by name.
        if names_a_stage(source, stages) {
            continue;
        }
        let start = word.start + "--from=".len();
        scan.push(
            source,
            start..start + source.len(),
            word.line,
            "COPY --from".to_owned(),
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
    fn arg_substituted_images_are_left_alone() {
        let scan = scan("ARG BASE=alpine:3.20\nFROM ${BASE}\nFROM $BASE AS two\n").expect("scans");
        assert!(scan.found.is_empty());
        assert_eq!(scan.left_alone.len(), 2);
        assert_eq!(scan.left_alone[1].line, 3);
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
