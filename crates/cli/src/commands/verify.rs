//! `images verify`: the CI gate. Every tag must still point at its locked digest.

use std::collections::BTreeMap;
use std::path::Path;

use images_lockfile::{plan_verify, LockedImage, Lockfile, OutOfDate, LOCK_FILE};
use images_resolver::grade::{self, Severity, SignatureCheck, Status, UNSIGNED_MOVE};
use images_resolver::signature::TrustedKey;
use images_resolver::{check_signers, Finding, Resolver, SignerCheck};
use serde::Serialize;

use crate::args::{Global, VerifyArgs, VerifyFormat};
use crate::exit::{Exit, Failure, ImageError};
use crate::github::{annotation_path, Annotation, Level};
use crate::output::{green, red, write_stdout, yellow, Printer};
use crate::project::Project;
use crate::sarif::{self, Level as SarifLevel, Rule};
use crate::untrusted::escape;

/// One line of the report.
struct Report {
    name: String,
    reference: String,
    locked: Option<String>,
    current: Option<String>,
    mutable: bool,
    /// Where an annotation points: images.toml for an entry the lock has
    /// not caught up with, images.lock otherwise.
    at: Source,
    outcome: Outcome,
    /// For a moved tag of an entry that requires signers: whether the new
    /// digest is signed by all of them.
    signed: Option<bool>,
}

/// The file (and line in it) a report is about.
#[derive(Clone, Copy)]
enum Source {
    Manifest(usize),
    Lock,
}

/// What became of one entry. Registry text in it (a finding's detail, an
/// error's message) is escaped when it is made, so every format prints it
/// safely.
enum Outcome {
    Ok,
    Drift(Finding),
    /// The lock does not match images.toml: how, in words.
    OutOfDate(&'static str),
    /// The signature the lock recorded is gone and no valid one by the
    /// signer is left: which signers, in words.
    SignatureGone(String),
    /// Could not be checked: what the error means for the exit code, its
    /// message and hint.
    Unchecked(ImageError),
}

impl Report {
    /// What became of the entry, for the grading.
    fn status(&self) -> Status {
        match &self.outcome {
            Outcome::Ok => Status::Ok,
            Outcome::Drift(f) => Status::Drift(f.kind),
            Outcome::OutOfDate(_) => Status::OutOfDate,
            Outcome::SignatureGone(_) => Status::SignatureGone,
            Outcome::Unchecked(..) => Status::Unchecked,
        }
    }

    fn severity(&self) -> Severity {
        grade::grade(self.status(), self.mutable, self.signed)
    }

    /// What this entry alone means for the exit code.
    fn exit(&self) -> Exit {
        match &self.outcome {
            Outcome::Unchecked(error) => error.exit,
            _ if self.is_failure() => Exit::Drift,
            _ => Exit::Ok,
        }
    }

    fn is_failure(&self) -> bool {
        self.severity() == Severity::Error
    }

    fn is_warning(&self) -> bool {
        self.severity() == Severity::Warning
    }
}

pub fn run(global: &Global, args: &VerifyArgs, printer: Printer) -> Result<Exit, Failure> {
    let project = Project::load(global)?;
    let lock = project.load_lock()?.ok_or_else(|| {
        Failure::bad_input(format!(
            "no `{}` next to `{}`",
            LOCK_FILE,
            project.manifest.path.display()
        ))
        .with_hint("run `images lock` and commit the lock it writes")
    })?;
    let plan = plan_verify(&project.manifest, &lock);

    let mut reports = Vec::new();
    for &stale in &plan.out_of_date {
        let (reference, mutable, at) = match stale {
            OutOfDate::Unlocked(spec) | OutOfDate::Changed(spec, _) => {
                (spec.declared(), spec.mutable, Source::Manifest(spec.line))
            }
            OutOfDate::Removed(locked) => {
                (locked.reference.to_string(), locked.mutable, Source::Lock)
            }
        };
        reports.push(Report {
            name: stale.name().to_string(),
            reference,
            locked: stale.locked().map(|l| l.digest.to_string()),
            current: None,
            mutable,
            at,
            outcome: Outcome::OutOfDate(stale.describe()),
            signed: None,
        });
    }
    let to_check: Vec<LockedImage> = plan.check.into_iter().cloned().collect();

    if !to_check.is_empty() {
        let resolver = Resolver::new(project.resolver_config(global)?);
        let progress = printer.progress(to_check.len(), "Verifying");
        let results = super::runtime()?
            .block_on(resolver.verify_many_with_progress(&to_check, &|| progress.tick()));
        progress.finish();
        for (locked, result) in to_check.iter().zip(results) {
            let (current, outcome) = match result {
                Ok(None) => (Some(locked.digest.to_string()), Outcome::Ok),
                Ok(Some(mut finding)) => {
                    finding.detail = finding.detail.as_deref().map(escape);
                    (
                        finding.current.as_ref().map(ToString::to_string),
                        Outcome::Drift(finding),
                    )
                }
                Err(e) => (None, Outcome::Unchecked(ImageError::registry(&e))),
            };
            reports.push(Report {
                name: locked.name.clone(),
                reference: locked.reference.to_string(),
                locked: Some(locked.digest.to_string()),
                current,
                mutable: locked.mutable,
                at: Source::Lock,
                outcome,
                signed: None,
            });
        }
        check_signatures(&resolver, &project, &lock, &mut reports)?;
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));

    let failures = reports.iter().filter(|r| r.is_failure()).count();
    let unchecked = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Unchecked(..)))
        .count();
    // Drift outranks "could not check": CI must see a moved tag even when
    // another registry was down at the same time.
    let exit = Exit::of(reports.iter().map(Report::exit));

    match args.format {
        VerifyFormat::Json => printer.json(&json_report(&reports, exit)),
        VerifyFormat::Github => {
            print_github(&reports, &project);
            print_summary(&reports, printer, failures, unchecked);
        }
        VerifyFormat::Sarif => {
            printer.json(&sarif_log(&reports, &project)?);
            print_summary(&reports, printer, failures, unchecked);
        }
        VerifyFormat::Text => print_human(&reports, printer, failures, unchecked),
    }
    Ok(exit)
}

/// What a finding says where people look at it (an annotation, a SARIF
/// result): how loud it is, its rule, a title and the message.
struct Notice {
    level: Level,
    /// The SARIF rule id: the entry's JSON `status`, except a move to a
    /// digest the required signers did not sign.
    rule: &'static str,
    title: String,
    message: String,
}

/// The notice of a failing, warning or unchecked entry; `None` when it is ok.
fn notice(r: &Report) -> Option<Notice> {
    let (level, rule, title, message) = match &r.outcome {
        Outcome::Ok => return None,
        Outcome::Drift(f) => {
            let level = if r.is_failure() {
                Level::Error
            } else {
                Level::Warning
            };
            let title = if r.is_failure() {
                f.kind.describe().to_string()
            } else {
                format!("{} (mutable)", f.kind.describe())
            };
            let mut message = format!(
                "{} ({}): locked {}, now {}",
                r.name,
                r.reference,
                r.locked.as_deref().unwrap_or("-"),
                r.current.as_deref().unwrap_or("-")
            );
            if let Some(detail) = &f.detail {
                message.push('\n');
                message.push_str(detail);
            }
            (level, grade::rule(r.status(), r.signed), title, message)
        }
        Outcome::OutOfDate(why) => (
            Level::Error,
            "lock-out-of-date",
            "lock out of date".to_string(),
            format!("{} ({}): {why}; run `images lock`", r.name, r.reference),
        ),
        Outcome::SignatureGone(why) => (
            Level::Error,
            "signature-gone",
            "signature gone".to_string(),
            format!("{} ({}): {why}", r.name, r.reference),
        ),
        Outcome::Unchecked(e) => (
            Level::Warning,
            "unchecked",
            "could not check".to_string(),
            {
                let mut message = format!("{} ({}): {}", r.name, r.reference, e.message);
                if let Some(hint) = &e.hint {
                    message.push_str(&format!("\nhint: {hint}"));
                }
                message
            },
        ),
    };
    Some(Notice {
        level,
        rule,
        title,
        message,
    })
}

/// Where a finding points: the entry's `digest` line in images.lock, or
/// its line in images.toml when the lock has not caught up with it.
fn place<'p>(
    r: &Report,
    project: &'p Project,
    lock_lines: &BTreeMap<String, usize>,
) -> (&'p Path, Option<usize>) {
    match r.at {
        Source::Manifest(line) => (&project.manifest.path, Some(line)),
        Source::Lock => (&project.lock_path, lock_lines.get(&r.name).copied()),
    }
}

/// One workflow command per failing, warning or unchecked entry.
fn print_github(reports: &[Report], project: &Project) {
    let cwd = std::env::current_dir().unwrap_or_default();
    let lock_lines = lock_lines(&project.lock_path);
    let mut out = String::new();
    for r in reports {
        let Some(notice) = notice(r) else {
            continue;
        };
        let (file, line) = place(r, project, &lock_lines);
        let annotation = Annotation {
            level: notice.level,
            file: annotation_path(file, &cwd),
            line,
            title: format!("images verify: {}", notice.title),
            message: notice.message,
        };
        out.push_str(&format!("{annotation}\n"));
    }
    write_stdout(&out);
}

/// The kinds of finding `verify` reports in SARIF: the `status` values of
/// its JSON report (but `ok`), and [`UNSIGNED_MOVE`].
const RULES: &[Rule] = &[
    Rule {
        id: "tag-moved",
        name: "TagMoved",
        short: "The tag names another digest than images.lock records",
        full: "The tag was pushed over since it was locked: it now names another digest, and the locked one still exists. A warning for an entry marked `mutable`. Review the new digest, then `images lock --update NAME`.",
        level: SarifLevel::Error,
    },
    Rule {
        id: UNSIGNED_MOVE,
        name: "TagMovedUnsigned",
        short: "The tag moved to a digest a required signer did not sign",
        full: "The tag names another digest than images.lock records, and that digest lacks a valid signature by a signer the entry requires (`signed-by`, or a signer's `images`). An error even for a `mutable` entry: whoever pushed it does not hold the signer's key.",
        level: SarifLevel::Error,
    },
    Rule {
        id: "tag-gone",
        name: "TagGone",
        short: "The tag no longer exists",
        full: "The registry no longer has the tag images.lock was made from.",
        level: SarifLevel::Error,
    },
    Rule {
        id: "locked-digest-gone",
        name: "LockedDigestGone",
        short: "The locked digest no longer exists",
        full: "The registry no longer serves the digest images.lock records: a deployment pinned to it cannot pull it.",
        level: SarifLevel::Error,
    },
    Rule {
        id: "tampered",
        name: "Tampered",
        short: "The registry's answer does not hash to the digest it names",
        full: "A manifest body does not hash to the digest asked for, or to the one the registry's own header names: something between the registry and this run, or the registry itself, lies. A security finding, never only a warning.",
        level: SarifLevel::Error,
    },
    Rule {
        id: "signature-gone",
        name: "SignatureGone",
        short: "The signature images.lock recorded is gone",
        full: "The signature artifact recorded when the entry was locked no longer exists, and no other valid signature by the required signer is left on the locked digest.",
        level: SarifLevel::Error,
    },
    Rule {
        id: "lock-out-of-date",
        name: "LockOutOfDate",
        short: "images.lock does not match images.toml",
        full: "The entry is declared but not locked, images.toml changed since it was locked, or the lock has an entry images.toml no longer declares. Run `images lock` and commit images.lock.",
        level: SarifLevel::Error,
    },
    Rule {
        id: "unchecked",
        name: "Unchecked",
        short: "The entry could not be checked",
        full: "The registry could not be asked (network, TLS, authentication, a rate limit, an error status) or its answer cannot be used, or the image is one `images` cannot check (it does not exist, schema 1, a platform it lacks). Nothing is known about the tag: fix or retry, do not ignore it.",
        level: SarifLevel::Warning,
    },
];

/// The findings as a SARIF log, located as the annotations are.
fn sarif_log(reports: &[Report], project: &Project) -> Result<sarif::Log, Failure> {
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::bad_input(format!("cannot read the current directory: {e}")))?;
    let lock_lines = lock_lines(&project.lock_path);
    let mut log = sarif::Report::new(RULES, &cwd);
    for r in reports {
        let Some(notice) = notice(r) else {
            continue;
        };
        let (file, line) = place(r, project, &lock_lines);
        log.push(
            notice.rule,
            notice.level.into(),
            &notice.message,
            file,
            line,
            None,
        );
    }
    Ok(log.into_log())
}

/// Line of each entry in the lock file; empty when it cannot be read again
/// (the annotation then names the file without a line).
fn lock_lines(path: &Path) -> BTreeMap<String, usize> {
    std::fs::read_to_string(path)
        .map(|text| Lockfile::entry_lines(&text))
        .unwrap_or_default()
}

/// The `--format json` document (docs/json.md).
#[derive(Serialize)]
struct JsonReport<'r> {
    version: u32,
    ok: bool,
    exit_code: u8,
    images: Vec<JsonEntry<'r>>,
}

/// One entry of the JSON report.
#[derive(Serialize)]
struct JsonEntry<'r> {
    name: &'r str,
    reference: &'r str,
    status: &'static str,
    severity: &'static str,
    mutable: bool,
    locked: Option<&'r str>,
    current: Option<&'r str>,
    message: Option<String>,
    /// What to do about an entry that could not be checked, when there is
    /// something to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'r str>,
    /// Only entries that require signers say whether a move was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<bool>,
}

fn json_report(reports: &[Report], exit: Exit) -> JsonReport<'_> {
    let images = reports
        .iter()
        .map(|r| JsonEntry {
            name: &r.name,
            reference: &r.reference,
            status: r.status().as_str(),
            severity: r.severity().as_str(),
            mutable: r.mutable,
            locked: r.locked.as_deref(),
            current: r.current.as_deref(),
            message: match &r.outcome {
                Outcome::Ok => None,
                Outcome::Drift(f) => Some(
                    f.detail
                        .clone()
                        .unwrap_or_else(|| f.kind.describe().to_string()),
                ),
                Outcome::OutOfDate(why) => Some((*why).to_string()),
                Outcome::SignatureGone(why) => Some(why.clone()),
                Outcome::Unchecked(e) => Some(e.message.clone()),
            },
            hint: match &r.outcome {
                Outcome::Unchecked(e) => e.hint.as_deref(),
                _ => None,
            },
            signed: r.signed,
        })
        .collect();
    JsonReport {
        version: 1,
        ok: exit == Exit::Ok,
        exit_code: exit as u8,
        images,
    }
}

fn print_human(reports: &[Report], printer: Printer, failures: usize, unchecked: usize) {
    let mut out = String::new();
    for r in reports {
        let headline = format!("{} ({})", r.name, r.reference);
        match &r.outcome {
            Outcome::Ok => {
                if !printer.quiet {
                    out.push_str(&format!("{} {headline}\n", green("ok")));
                }
            }
            Outcome::Drift(f) => {
                let label = if r.is_failure() {
                    red(f.kind.describe())
                } else {
                    yellow(&format!("{} (mutable, warning)", f.kind.describe()))
                };
                let label = match r.signed {
                    Some(true) => format!("{label}; new digest signed"),
                    Some(false) => format!("{label}; new digest NOT signed"),
                    None => label,
                };
                out.push_str(&format!("{label}: {headline}\n"));
                out.push_str(&format!(
                    "    locked:  {}\n",
                    r.locked.as_deref().unwrap_or("-")
                ));
                out.push_str(&format!(
                    "    current: {}\n",
                    r.current.as_deref().unwrap_or("-")
                ));
                if let Some(detail) = &f.detail {
                    out.push_str(&format!("    {detail}\n"));
                }
            }
            Outcome::OutOfDate(why) => {
                out.push_str(&format!(
                    "{}: {headline}\n    {why}; run `images lock`\n",
                    red("lock out of date")
                ));
            }
            Outcome::SignatureGone(why) => {
                out.push_str(&format!(
                    "{}: {headline}\n    {why}\n",
                    red("signature gone")
                ));
            }
            Outcome::Unchecked(e) => {
                out.push_str(&format!(
                    "{}: {headline}\n    {}\n",
                    yellow("could not check"),
                    e.message
                ));
                if let Some(hint) = &e.hint {
                    out.push_str(&format!("    hint: {hint}\n"));
                }
            }
        }
    }
    write_stdout(&out);
    print_summary(reports, printer, failures, unchecked);
}

/// The closing count on stderr, an `error:` line when anything failed.
fn print_summary(reports: &[Report], printer: Printer, failures: usize, unchecked: usize) {
    let warnings = reports.iter().filter(|r| r.is_warning()).count();
    let ok = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Ok))
        .count();
    let summary = format!(
        "verified {} image(s): {ok} ok, {failures} failed, {warnings} warning(s), {unchecked} could not be checked",
        reports.len()
    );
    if failures > 0 || unchecked > 0 {
        printer.error(&summary);
    } else {
        printer.status(&summary);
    }
}

/// For entries that require signers: a moved tag is told apart by whether
/// its new digest is signed by them (one more lookup per moved entry), and
/// an entry whose tag did not move has the signature artifacts the lock
/// recorded HEADed; only when one is gone is the signature checked again.
fn check_signatures(
    resolver: &Resolver,
    project: &Project,
    lock: &Lockfile,
    reports: &mut [Report],
) -> Result<(), Failure> {
    let signed_entries: Vec<usize> = (0..reports.len())
        .filter(|&i| {
            lock.images
                .get(&reports[i].name)
                .is_some_and(|l| !l.signed_by.is_empty())
        })
        .collect();
    if signed_entries.is_empty() {
        return Ok(());
    }
    let keys = super::lock::trusted_keys(project)?;
    let signers_of = |locked: &LockedImage| -> Vec<(String, Vec<TrustedKey>)> {
        locked
            .signed_by
            .iter()
            .map(|s| (s.clone(), keys.get(s).cloned().unwrap_or_default()))
            .collect()
    };
    let work = signed_entries.iter().filter_map(|&i| {
        let locked = lock.images.get(&reports[i].name)?;
        let current = match &reports[i].outcome {
            Outcome::Drift(f) => f.current.as_ref(),
            _ => None,
        };
        let owed = grade::signature_check(reports[i].status(), current)?;
        let signers = signers_of(locked);
        Some(async move {
            let result: Result<Check, images_resolver::ResolveError> = async {
                if let SignatureCheck::Moved(current) = owed {
                    let found = resolver
                        .signature_artifacts(&locked.reference, &current)
                        .await?;
                    return Ok(Check::Moved(check_signers(&found, &current, &signers)));
                }
                let mut gone = false;
                for s in &locked.signatures {
                    if !resolver.exists(&locked.reference, &s.artifact).await? {
                        gone = true;
                    }
                }
                if !gone {
                    return Ok(Check::Recorded(None));
                }
                let found = resolver
                    .signature_artifacts(&locked.reference, &locked.digest)
                    .await?;
                Ok(Check::Recorded(Some(check_signers(
                    &found,
                    &locked.digest,
                    &signers,
                ))))
            }
            .await;
            (i, result)
        })
    });
    let results = super::runtime()?.block_on(futures::future::join_all(work));
    for (i, result) in results {
        let report = &mut reports[i];
        match result {
            Ok(Check::Moved(checks)) => {
                report.signed = Some(grade::all_signed(&checks));
                if let Outcome::Drift(f) = &mut report.outcome {
                    let words: Vec<String> = checks
                        .iter()
                        .map(|(signer, c)| escape(&c.describe(signer)))
                        .collect();
                    let line = format!("new digest {}", words.join("; "));
                    f.detail = Some(match f.detail.take() {
                        Some(d) => format!("{d}\n    {line}"),
                        None => line,
                    });
                }
            }
            Ok(Check::Recorded(None)) => {}
            Ok(Check::Recorded(Some(checks))) => {
                let missing: Vec<String> = grade::unsigned(&checks)
                    .map(|(signer, c)| escape(&c.describe(signer)))
                    .collect();
                if !missing.is_empty() {
                    report.outcome = Outcome::SignatureGone(format!(
                        "the signature images.lock recorded is gone; the locked digest is {}",
                        missing.join("; ")
                    ));
                }
            }
            Err(e) => {
                report.outcome = Outcome::Unchecked(ImageError::registry(&e));
            }
        }
    }
    Ok(())
}

/// What the signature check of one entry found.
enum Check {
    /// The tag moved: each required signer's verdict on the new digest.
    Moved(Vec<(String, SignerCheck)>),
    /// The tag did not move: `None` when every recorded artifact still
    /// answers, else each signer's verdict on the locked digest.
    Recorded(Option<Vec<(String, SignerCheck)>>),
}
