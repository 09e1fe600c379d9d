//! Text a registry sends (error messages, media types) is printed with its
//! control characters escaped and a length cap, in every format, so that
//! it can neither move the cursor, retitle the terminal, nor start a
//! GitHub workflow command (`::…`) that the Actions runner would execute.
//! The runner reads commands from stdout and stderr, after leading
//! whitespace, so both streams and every line are checked.

use images_testkit::{Fault, FaultProxy, Fixture, Kind, Registry};

use crate::exit_codes::locked_api;
use crate::faults::setup;
use crate::support::{Project, Run};

/// A registry error message an attacker would write: clear the screen,
/// retitle the terminal (OSC ending in BEL), an 8-bit CSI, a carriage
/// return to overwrite the line, and a workflow command on a line of its own.
const HOSTILE: &str = "\x1b[2J\x1b]0;owned\x07denied \u{9b}31m by policy\r overwritten\n::notice title=forged::from the registry\n  ::add-mask::x";

/// What no output may contain, whatever the registry sent.
#[track_caller]
fn assert_inert(run: &Run, what: &str) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        // What a failure shows: enough to see why, never megabytes.
        let shown: String = text.chars().take(2000).collect();
        let raw: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && *c != '\n')
            .collect();
        assert!(
            raw.is_empty(),
            "{what}: raw control characters {raw:?} on {stream}:\n{shown}"
        );
        for line in text.lines() {
            let line = line.trim_start();
            // Our own annotations (`--format github`) are the only
            // commands; text inside their message is only shown.
            let ours = line.starts_with("::error file=") || line.starts_with("::warning file=");
            assert!(
                !line.starts_with("::") || ours,
                "{what}: a workflow command from the registry on {stream}:\n{shown}"
            );
        }
    }
}

/// `api` locked through the proxy, then its tag moved: `verify` HEADs,
/// sees the move, and GETs the new manifest, which the proxy answers with
/// `message`.
fn moved_behind(message: &str) -> (Registry, FaultProxy, Project) {
    let s = setup(Kind::OciManifest);
    s.project.images(&["lock"]).expect_code(0);
    s.reg
        .push("acme/api", "v1", &Fixture::new(Kind::OciManifest, "api-2"))
        .expect("push");
    s.proxy.set(Fault::ErrorMessage {
        status: 400,
        message: message.to_owned(),
    });
    (s.reg, s.proxy, s.project)
}

#[test]
fn a_registry_error_message_cannot_forge_output_in_any_format() {
    let (_reg, _proxy, project) = moved_behind(HOSTILE);
    for format in ["text", "json", "github", "sarif"] {
        let run = project.images(&["verify", "--format", format]);
        run.expect_code(3);
        assert_inert(&run, &format!("verify --format {format}"));
        // Escaped, not dropped: the reader still sees what the registry said.
        assert!(
            run.stdout.contains("[2J") && run.stdout.contains("denied"),
            "verify --format {format}:\n{}",
            run.stdout
        );
    }
    let report = project.images(&["verify", "--format", "json"]).json();
    let message = report["images"][0]["message"].as_str().expect("a message");
    assert!(!message.chars().any(char::is_control), "{message:?}");

    // `lock` GETs the manifest too; its error goes to stderr.
    for format in ["text", "json"] {
        let run = project.images(&["lock", "--update", "--format", format]);
        run.expect_code(3);
        assert_inert(&run, &format!("lock --format {format}"));
        assert!(run.stderr.contains("denied"), "{}", run.stderr);
    }
}

#[test]
fn a_huge_registry_error_message_is_cut_short() {
    let huge = format!("{}\x1b[2J{}", "A".repeat(1_500_000), "B".repeat(1_500_000));
    let (_reg, _proxy, project) = moved_behind(&huge);
    for args in [
        &["verify"][..],
        &["verify", "--format", "json"],
        &["verify", "--format", "github"],
        &["verify", "--format", "sarif"],
        &["lock", "--update"],
    ] {
        let run = project.images(args);
        run.expect_code(3);
        assert_inert(&run, &args.join(" "));
        let size = run.stdout.len() + run.stderr.len();
        assert!(
            size < 16 * 1024,
            "`images {}` printed {size} bytes of a 3 MB registry message",
            args.join(" ")
        );
    }
}

#[test]
fn a_media_type_in_a_lock_cannot_forge_diff_output() {
    let reg = Registry::start().expect("start the test registry");
    let project = locked_api(&reg);
    let old = String::from_utf8(project.lock_bytes()).expect("UTF-8 lock");
    let original = "media-type = \"application/vnd.oci.image.manifest.v1+json\"";
    assert!(old.contains(original), "{old}");
    // A lock from a pull request: what the registry "answered" at lock time.
    let new = old.replace(
        original,
        r#"media-type = "application/x\u001b[2J\r\n::notice title=forged::from the lock""#,
    );
    std::fs::write(project.path().join("old.lock"), &old).expect("write");
    std::fs::write(project.path().join("new.lock"), &new).expect("write");
    for format in ["text", "markdown", "json"] {
        let run = project.images(&["diff", "old.lock", "new.lock", "--format", format]);
        run.expect_code(0);
        assert_inert(&run, &format!("diff --format {format}"));
        assert!(run.stdout.contains("application/x"), "{}", run.stdout);
    }
}

#[test]
fn registry_text_in_the_logs_is_escaped_too() {
    let s = setup(Kind::OciManifest);
    // A gateway's plain-text 503: retried, and each retry logged under -v.
    s.proxy.set(Fault::Body {
        status: 503,
        content_type: "text/plain".into(),
        body: b"bad gateway\r\x1b]0;owned\x07 overwritten\n::notice title=forged::x\n".to_vec(),
    });
    let run = s.project.images(&["lock", "-v", "--timeout", "5"]);
    run.expect_code(3);
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
    assert_inert(&run, "lock -v");
}
