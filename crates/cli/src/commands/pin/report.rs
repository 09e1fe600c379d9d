//! How `images pin` reports: what it wrote, what `--check` found, and the
//! images.toml lines `--discover` suggests, as text, JSON or GitHub
//! annotations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use images_lockfile::{Digest, EntryStatus, ImageSpec, Reference, LOCK_FILE, MANIFEST_FILE};

use super::json::{
    Discovered, DiscoveredImage, FileProblem, Location, PinReference, PinReport, Skipped,
};
use super::{Problem, Record, State};
use crate::args::PinFormat;
use crate::exit::Exit;
use crate::github::{annotation_path, Annotation};
use crate::output::{write_stdout, Printer};
use crate::pin::discover;
use crate::pin::files::Skip;
use crate::sarif::{self, Level, Rule};
use crate::text_diff::unified;

/// An image images.toml lacks: the entry to add and where it was found.
pub(in crate::commands) struct Undeclared {
    /// The entry's name, unique among the declared ones and the others found.
    pub name: String,
    /// The reference as first written in a file.
    pub image: String,
    /// Each file (as shown) and line that names it.
    pub at: Vec<(String, usize)>,
}

/// What one `images pin` run found and did, and how each mode reports it.
pub(in crate::commands) struct Report {
    pub(super) records: Vec<Record>,
    pub(super) problems: Vec<Problem>,
    pub(super) written: Vec<PathBuf>,
    /// What searches left out, and why (listed under `-v`).
    pub(super) skipped: Vec<(PathBuf, Skip)>,
    /// Manifests that do not parse as YAML and hold `{{ … }}`: templates.
    pub(super) templates: Vec<PathBuf>,
    /// Under `--diff`: each file `pin` would change, its text before and after.
    pub(super) changes: Vec<(PathBuf, String, String)>,
    /// Whether `--diff` was asked for.
    pub(super) diff: bool,
    pub(super) verbose: bool,
    pub(super) cwd: PathBuf,
}

impl Report {
    /// A path as shown: relative to the working directory when under it.
    fn show(&self, path: &Path) -> String {
        crate::paths::relative_to(path, &self.cwd)
    }

    fn location(&self, path: &Path, line: Option<usize>) -> String {
        match line {
            Some(line) => format!("{}:{line}", self.show(path)),
            None => self.show(path),
        }
    }

    /// Bad input: a file that could not be read, or a reference that
    /// images.toml declares ambiguously.
    pub(in crate::commands) fn exit_for_problems(&self) -> Exit {
        let ambiguous = self
            .records
            .iter()
            .any(|r| matches!(r.state, State::Ambiguous(_)));
        Exit::of(self.problems.iter().map(|p| p.exit)).and(if ambiguous {
            Exit::BadInput
        } else {
            Exit::Ok
        })
    }

    fn print_problems(&self, printer: Printer) {
        for p in &self.problems {
            printer.error(&format!(
                "`{}` {}",
                self.location(&p.file, p.line),
                p.message
            ));
        }
    }

    /// Under `-v`: each path a search left out, and why. Always: how many
    /// files were skipped as templates, and in which directories.
    fn print_skipped(&self, printer: Printer) {
        if self.verbose {
            for (path, why) in &self.skipped {
                let why = match why {
                    Skip::Vendor => "vendored code is skipped by default".to_owned(),
                    Skip::Excluded(glob) => format!("excluded by `{glob}` in [pin] exclude"),
                };
                printer.status(&format!("skipped {} ({why})", self.show(path)));
            }
            for path in &self.templates {
                printer.status(&format!("skipped as a template: {}", self.show(path)));
            }
        }
        if self.templates.is_empty() {
            return;
        }
        let dirs: BTreeSet<String> = self
            .templates
            .iter()
            .map(|p| self.show(p.parent().unwrap_or(p)))
            .map(|d| if d.is_empty() { ".".to_owned() } else { d })
            .collect();
        let mut dirs: Vec<String> = dirs.into_iter().collect();
        if dirs.len() > 3 {
            let more = dirs.len() - 3;
            dirs.truncate(3);
            dirs.push(format!("{more} more"));
        }
        let list = if self.verbose {
            ""
        } else {
            "; `-v` lists them"
        };
        printer.status(&format!(
            "{} file(s) skipped as templates (not YAML until rendered) in {}{list}",
            self.templates.len(),
            dirs.join(", ")
        ));
    }

    /// The closing line when nothing fails: "All N …" only when every file
    /// found was read, never when one could not be or was skipped as a
    /// template, and never for nothing at all.
    fn all_pinned(&self, count: usize, noun: &str, phrase: &str) -> String {
        let scope = if self.exit_for_problems() == Exit::Ok && self.templates.is_empty() {
            ""
        } else {
            " in the files that were read"
        };
        match count {
            0 => format!("No {noun} found{scope}"),
            n if scope.is_empty() => format!("All {n} {phrase}"),
            n => format!("{n} {phrase}{scope}"),
        }
    }

    fn skipped_json(&self) -> Vec<Skipped> {
        let skipped = self.skipped.iter().map(|(path, why)| match why {
            Skip::Vendor => Skipped {
                file: self.show(path),
                reason: "vendor",
                glob: None,
            },
            Skip::Excluded(glob) => Skipped {
                file: self.show(path),
                reason: "excluded",
                glob: Some(glob.clone()),
            },
        });
        let templates = self.templates.iter().map(|path| Skipped {
            file: self.show(path),
            reason: "template",
            glob: None,
        });
        skipped.chain(templates).collect()
    }

    /// Why a reference is left alone, when it is.
    fn left_alone_reason(&self, r: &Record) -> Option<String> {
        match &r.state {
            State::LeftAlone(reason) => Some(reason.clone()),
            State::Governed { by, name } => {
                Some(format!("`images[{name}]` in {} sets it", self.show(by)))
            }
            _ => None,
        }
    }

    /// What was left alone, as warnings; under `-v` also what a
    /// kustomization governs (expected, so not a warning).
    fn print_left_alone(&self, printer: Printer) {
        for r in &self.records {
            let warning = match r.state {
                State::LeftAlone(_) => "warning: ",
                State::Governed { .. } if self.verbose => "",
                _ => continue,
            };
            if let Some(reason) = self.left_alone_reason(r) {
                printer.status(&format!(
                    "{warning}{}: `{}` left alone: {reason}",
                    self.location(&r.file, Some(r.line)),
                    r.image
                ));
            }
        }
    }

    /// Why a reference fails `--check`, in words.
    fn describe(r: &Record) -> String {
        let name = r.name.as_deref().unwrap_or("?");
        let locked = r.digest.as_ref().map(Digest::to_string).unwrap_or_default();
        match &r.state {
            State::Unpinned => format!(
                "`{}` is not pinned; `{name}` is locked at {locked}",
                r.image
            ),
            State::StaleDigest(_) => {
                format!(
                    "`{}` is pinned to another digest than `{name}` is locked at ({locked})",
                    r.image
                )
            }
            State::Undeclared => format!("`{}` is not declared in {MANIFEST_FILE}", r.image),
            State::LockOutOfDate(EntryStatus::Unlocked) => format!(
                "`{}` is declared as `{name}`, which is not in {LOCK_FILE} yet",
                r.image
            ),
            State::LockOutOfDate(_) => format!(
                "`{}` is declared as `{name}`, whose entry in {LOCK_FILE} is stale ({MANIFEST_FILE} changed since `images lock`)",
                r.image
            ),
            State::Ambiguous(names) => {
                let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                format!(
                    "`{}` could be any of {} in {MANIFEST_FILE}, declared at different digests; write the digest of the one it means, or remove the others",
                    r.image,
                    names.join(" and ")
                )
            }
            State::OtherVersion => format!(
                "`{}` names another version than `{name}` is locked at; `images pin` writes `{}`",
                r.image,
                r.edit.as_ref().map_or(locked.as_str(), |(_, text)| text.as_str())
            ),
            State::Pinned => format!("`{}` is pinned", r.image),
            State::LeftAlone(reason) => format!("`{}` left alone: {reason}", r.image),
            State::Governed { name, .. } => {
                format!("`{}` left alone: `images[{name}]` sets it", r.image)
            }
        }
    }

    fn errors_json(&self) -> Vec<FileProblem> {
        self.problems
            .iter()
            .map(|p| FileProblem {
                file: self.show(&p.file),
                line: p.line,
                message: p.message.clone(),
            })
            .collect()
    }

    /// `--diff`: the unified diff of every file `pin` would change.
    fn diff_text(&self) -> String {
        self.changes
            .iter()
            .map(|(path, old, new)| unified(&self.show(path), old, new))
            .collect()
    }

    fn json(&self, exit: Exit) -> PinReport {
        let references = self
            .records
            .iter()
            .map(|r| PinReference {
                file: self.show(&r.file),
                line: r.line,
                image: r.image.clone(),
                name: r.name.clone(),
                reference: r.reference.as_ref().map(|x| x.without_digest().to_string()),
                digest: r.digest.as_ref().map(Digest::to_string),
                status: r.state.as_str(),
                rewritten: r.rewritten,
                reason: self.left_alone_reason(r),
            })
            .collect();
        PinReport {
            version: 1,
            ok: exit == Exit::Ok,
            exit_code: exit as u8,
            written: self.written.iter().map(|p| self.show(p)).collect(),
            references,
            errors: self.errors_json(),
            skipped: self.skipped_json(),
            diff: self.diff.then(|| self.diff_text()),
        }
    }

    pub(super) fn pin(&self, printer: Printer) -> Exit {
        let out_of_date: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| matches!(r.state, State::LockOutOfDate(_)))
            .collect();
        let exit = self.exit_for_problems().and(if out_of_date.is_empty() {
            Exit::Ok
        } else {
            Exit::Drift
        });
        if printer.is_json() {
            printer.json(&self.json(exit));
            return exit;
        }
        self.print_problems(printer);
        self.print_skipped(printer);
        if self.diff {
            write_stdout(&self.diff_text());
        }
        for r in self
            .records
            .iter()
            .filter(|r| matches!(r.state, State::Ambiguous(_)))
        {
            printer.error(&format!(
                "{}: {}; not pinned",
                self.location(&r.file, Some(r.line)),
                Self::describe(r)
            ));
        }
        for r in &out_of_date {
            printer.error(&format!(
                "{}: {}; not pinned",
                self.location(&r.file, Some(r.line)),
                Self::describe(r)
            ));
        }
        if !out_of_date.is_empty() {
            printer.status(&format!(
                "{} run `images lock` first, then `images pin` again",
                crate::output::label_hint()
            ));
        }
        self.print_left_alone(printer);
        let rewritten = self.records.iter().filter(|r| r.rewritten).count();
        let pinned = self
            .records
            .iter()
            .filter(|r| r.state == State::Pinned)
            .count();
        let would_pin = self.records.iter().filter(|r| r.edit.is_some()).count();
        if self.diff && would_pin > 0 {
            printer.status(&format!(
                "{would_pin} reference(s) in {} file(s) would be pinned; `images pin` writes them",
                self.changes.len()
            ));
        } else if rewritten > 0 {
            printer.status(&format!(
                "Pinned {rewritten} reference(s) in {} file(s)",
                self.written.len()
            ));
        } else if out_of_date.is_empty() && exit == Exit::Ok {
            printer.status(&self.all_pinned(
                pinned,
                "declared image references",
                "declared reference(s) are pinned",
            ));
        }
        let undeclared = self
            .records
            .iter()
            .filter(|r| r.state == State::Undeclared)
            .count();
        if undeclared > 0 {
            printer.status(&format!(
                "{undeclared} reference(s) not declared in {MANIFEST_FILE} were left alone; `images pin --discover` lists them"
            ));
        }
        exit
    }

    pub(super) fn check(&self, format: PinFormat, printer: Printer) -> Exit {
        let drift = self.records.iter().any(|r| r.state.fails_check());
        let exit = self
            .exit_for_problems()
            .and(if drift { Exit::Drift } else { Exit::Ok });
        let failing: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| r.state.fails_check() || matches!(r.state, State::Ambiguous(_)))
            .collect();
        match format {
            PinFormat::Json => printer.json(&self.json(exit)),
            PinFormat::Github => {
                let mut out = String::new();
                for r in &failing {
                    out.push_str(&format!(
                        "{}\n",
                        self.annotation(
                            &r.file,
                            Some(r.line),
                            r.state.as_str(),
                            &Self::describe(r)
                        )
                    ));
                }
                for p in &self.problems {
                    out.push_str(&format!(
                        "{}\n",
                        self.annotation(&p.file, p.line, "cannot read", &p.message)
                    ));
                }
                if self.diff {
                    out.push_str(&self.diff_text());
                }
                write_stdout(&out);
            }
            PinFormat::Sarif => printer.json(&self.sarif_log(&failing)),
            PinFormat::Text => {
                self.print_problems(printer);
                self.print_skipped(printer);
                let mut out = String::new();
                for r in &failing {
                    out.push_str(&format!(
                        "{}: {}\n",
                        self.location(&r.file, Some(r.line)),
                        Self::describe(r)
                    ));
                }
                if self.diff {
                    out.push_str(&self.diff_text());
                }
                write_stdout(&out);
                self.print_left_alone(printer);
                let total = self
                    .records
                    .iter()
                    .filter(|r| !matches!(r.state, State::LeftAlone(_) | State::Governed { .. }))
                    .count();
                if failing.is_empty() {
                    printer.status(&self.all_pinned(
                        total,
                        "image references",
                        "reference(s) are pinned to their locked digests",
                    ));
                } else {
                    printer.status(&format!(
                        "{} of {total} reference(s) are not pinned to a locked digest; run `images pin`",
                        failing.len()
                    ));
                }
            }
        }
        exit
    }

    /// `--check`'s findings as a SARIF log: each reference that fails it
    /// at its file, line and column (with, under `--diff`, the bytes `pin`
    /// would write as the fix), each file that could not be read, each
    /// reference left alone (warnings) and each template skipped (notes).
    fn sarif_log(&self, failing: &[&Record]) -> sarif::Log {
        let mut log = sarif::Report::new(RULES, &self.cwd);
        for r in failing {
            let result = log.push(
                r.state.as_str(),
                Level::Error,
                &Self::describe(r),
                &r.file,
                Some(r.line),
                r.column,
            );
            if let (true, Some((span, text))) = (self.diff, &r.edit) {
                let description = format!("`images pin` writes `{text}` here");
                result.fix(&description, span, text);
            }
        }
        for p in &self.problems {
            let message = format!("`{}` {}", self.show(&p.file), p.message);
            log.push(UNREADABLE, Level::Error, &message, &p.file, p.line, None);
        }
        for r in &self.records {
            if let State::LeftAlone(_) = r.state {
                let message = Self::describe(r);
                log.push(
                    "left-alone",
                    Level::Warning,
                    &message,
                    &r.file,
                    Some(r.line),
                    None,
                );
            }
        }
        for path in &self.templates {
            let message = format!(
                "`{}` was skipped as a template: it is not YAML until rendered, so its images were not checked",
                self.show(path)
            );
            log.push(TEMPLATE, Level::Note, &message, path, None, None);
        }
        log.into_log()
    }

    fn annotation(
        &self,
        path: &Path,
        line: Option<usize>,
        title: &str,
        message: &str,
    ) -> Annotation {
        Annotation {
            level: crate::github::Level::Error,
            file: annotation_path(path, &self.cwd),
            line,
            title: format!("images pin: {title}"),
            message: message.to_owned(),
        }
    }

    /// The references `declared` lacks, one per image (the same canonical
    /// reference in several files is one), in the order first found, each
    /// with a name no declared entry or earlier one has.
    pub(super) fn undeclared(&self, declared: &BTreeMap<String, ImageSpec>) -> Vec<Undeclared> {
        let mut taken: BTreeSet<String> = declared.keys().cloned().collect();
        let mut lines: Vec<Undeclared> = Vec::new();
        let mut seen: BTreeMap<Reference, usize> = BTreeMap::new();
        for r in &self.records {
            let (State::Undeclared, Some(reference)) = (&r.state, &r.reference) else {
                continue;
            };
            let at = (self.show(&r.file), r.line);
            if let Some(&index) = seen.get(reference) {
                lines[index].at.push(at);
                continue;
            }
            let name = discover::entry_name(reference, &taken);
            taken.insert(name.clone());
            seen.insert(reference.clone(), lines.len());
            lines.push(Undeclared {
                name,
                image: r.image.clone(),
                at: vec![at],
            });
        }
        lines
    }

    /// What `images init` says about the search: files it could not read,
    /// what it skipped, references it left alone.
    pub(in crate::commands) fn print_findings(&self, printer: Printer) {
        self.print_problems(printer);
        self.print_skipped(printer);
        self.print_left_alone(printer);
    }

    pub(super) fn discover(
        &self,
        declared: &BTreeMap<String, ImageSpec>,
        printer: Printer,
    ) -> Exit {
        let exit = self.exit_for_problems();
        let lines = self.undeclared(declared);
        if printer.is_json() {
            let undeclared = lines
                .iter()
                .map(|Undeclared { name, image, at }| DiscoveredImage {
                    name: name.clone(),
                    image: image.clone(),
                    toml: discover::toml_line(name, image),
                    locations: at
                        .iter()
                        .map(|(file, line)| Location {
                            file: file.clone(),
                            line: *line,
                        })
                        .collect(),
                })
                .collect();
            printer.json(&Discovered {
                version: 1,
                undeclared,
                errors: self.errors_json(),
            });
            return exit;
        }
        self.print_problems(printer);
        self.print_skipped(printer);
        let mut out = String::new();
        for Undeclared { name, image, at } in &lines {
            let places: Vec<String> = at.iter().map(|(f, l)| format!("{f}:{l}")).collect();
            out.push_str(&format!(
                "{}  # {}\n",
                discover::toml_line(name, image),
                places.join(", ")
            ));
        }
        write_stdout(&out);
        if lines.is_empty() {
            printer.status(&format!(
                "Every reference found is declared in {MANIFEST_FILE}"
            ));
        } else {
            printer.status(&format!(
                "{} image(s) not declared in {MANIFEST_FILE}: paste the lines above under `[images]`, then run `images lock` and `images pin`",
                lines.len()
            ));
        }
        exit
    }
}

/// The SARIF rule of a file that could not be read or parsed.
const UNREADABLE: &str = "unreadable-file";

/// The SARIF rule of a manifest skipped as a template.
const TEMPLATE: &str = "template";

/// The kinds of finding `pin --check` reports in SARIF: the `status`
/// values of its JSON references (but `pinned`), a file it could not
/// read and a template it skipped.
const RULES: &[Rule] = &[
    Rule {
        id: "unpinned",
        name: "Unpinned",
        short: "A declared image is deployed by tag, without its locked digest",
        full: "The file names a tag images.toml declares, without the digest images.lock records: whatever pulls it gets what the tag names then, not what was verified. `images pin` writes the digest.",
        level: Level::Error,
    },
    Rule {
        id: "stale-digest",
        name: "StaleDigest",
        short: "The reference is pinned to another digest than images.lock records",
        full: "The file deploys a digest other than the one locked and verified for its tag. `images pin` writes the locked one.",
        level: Level::Error,
    },
    Rule {
        id: "other-version",
        name: "OtherVersion",
        short: "The reference names another version than its entry locked",
        full: "The entry has a `version` requirement and images.lock locked another of its tags. `images pin` writes the locked tag and digest: the update `images lock --update` chose.",
        level: Level::Error,
    },
    Rule {
        id: "undeclared",
        name: "Undeclared",
        short: "The reference is not declared in images.toml",
        full: "Nothing locks or verifies the image it names. `images pin --discover` prints the images.toml line to add; then run `images lock` and `images pin`.",
        level: Level::Error,
    },
    Rule {
        id: "lock-out-of-date",
        name: "LockOutOfDate",
        short: "The reference's images.toml entry is not locked, or changed since",
        full: "images.lock has no entry for it, or images.toml changed since `images lock`: there is no verified digest to pin it to. Run `images lock`, then `images pin`.",
        level: Level::Error,
    },
    Rule {
        id: "ambiguous",
        name: "Ambiguous",
        short: "Several images.toml entries could be meant, at different digests",
        full: "The reference matches entries locked at different digests and carries none of them. Write the digest of the one it means, or remove the others from images.toml.",
        level: Level::Error,
    },
    Rule {
        id: "left-alone",
        name: "LeftAlone",
        short: "A reference that cannot be pinned was left alone",
        full: "It holds a variable (a build ARG, a compose `${VAR}`, a workflow `${{ }}` expression) whose value is only known at build or deploy time, is not a valid reference, or is written in a way a byte-exact rewrite cannot safely change.",
        level: Level::Warning,
    },
    Rule {
        id: UNREADABLE,
        name: "UnreadableFile",
        short: "A file could not be read or parsed; it was left untouched",
        full: "It does not exist, cannot be read, is not UTF-8 text, is not a kind of file `images pin` reads, or does not parse: nothing in it was checked.",
        level: Level::Error,
    },
    Rule {
        id: TEMPLATE,
        name: "Template",
        short: "A manifest was skipped as a template",
        full: "It does not parse as YAML and holds `{{ }}` (a Helm chart template): nothing in it was checked. Its images belong in the chart's values file, which is read.",
        level: Level::Note,
    },
];
