//! "Nothing lost": `images lock` killed at any moment while it resolves
//! hundreds of images leaves the old lock or the complete new one.
//!
//! SIGINT (Ctrl-C), SIGTERM and SIGHUP are caught: during resolution the
//! run stops with exit 130, 143 or 129 and the lock untouched, and no
//! temporary file is ever left. SIGKILL
//! cannot be caught: the lock is still the old or the new one (temp file,
//! fsync, rename), but a kill inside the write may leave a
//! `.images.lock.<pid>.<n>.tmp` beside it, which later runs ignore.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use images_testkit::{Fault, FaultProxy, Fixture, Kind, Registry};

use crate::support::Project;

/// Enough images that resolving them takes a while through a slowed proxy.
const IMAGES: usize = 200;
/// Kills per signal, each at another moment of the run.
const KILLS: u64 = 10;

struct Scene {
    /// Kept alive for the proxy in front of it.
    _reg: Registry,
    proxy: FaultProxy,
    project: Project,
    old: Vec<u8>,
    new: Vec<u8>,
}

/// `IMAGES` tags locked to one image (`old`), then moved to another; `new`
/// is the lock a complete re-resolution writes. The project's lock is left
/// as `old`.
fn scene() -> Scene {
    let reg = Registry::start().expect("start the test registry");
    let old_fixture = Fixture::new(Kind::OciIndex, "before");
    let new_fixture = Fixture::new(Kind::OciManifest, "after");
    reg.push("acme/app", "seed-old", &old_fixture)
        .expect("push");
    reg.push("acme/app", "seed-new", &new_fixture)
        .expect("push");
    for i in 0..IMAGES {
        reg.client()
            .tag("acme/app", &format!("t{i:03}"), &old_fixture)
            .expect("tag");
    }
    let proxy = FaultProxy::start(&reg.addr()).expect("start proxy");
    let mut manifest = String::from("[images]\n");
    for i in 0..IMAGES {
        manifest.push_str(&format!(
            "img{i:03} = \"{}/acme/app:t{i:03}\"\n",
            proxy.addr()
        ));
    }
    let project = Project::new(&manifest);
    project.images(&["lock"]).expect_code(0);
    let old = project.lock_bytes();

    for i in 0..IMAGES {
        reg.client()
            .tag("acme/app", &format!("t{i:03}"), &new_fixture)
            .expect("tag");
    }
    project.images(&["lock", "--update"]).expect_code(0);
    let new = project.lock_bytes();
    assert_ne!(old, new);
    std::fs::write(project.lock_path(), &old).expect("restore the old lock");
    Scene {
        _reg: reg,
        proxy,
        project,
        old,
        new,
    }
}

/// Temporary lock files left in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(".images.lock.") && name.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// How one killed run ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Stopped before writing: the old lock.
    Interrupted,
    /// Finished before the signal: the new lock.
    Completed,
}

/// Starts `images lock --update`, sends `signal` after `delay`, and checks
/// the lock is byte-identical to the old or the new one.
fn kill_once(s: &Scene, signal: &str, delay: Duration) -> Outcome {
    std::fs::write(s.project.lock_path(), &s.old).expect("restore the old lock");
    let child = s
        .project
        .command(&["lock", "--update", "--jobs", "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn images");
    std::thread::sleep(delay);
    // `kill`, not libc: the workspace forbids unsafe code.
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status();
    let output = child.wait_with_output().expect("wait for images");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lock = s.project.lock_bytes();
    let outcome = if lock == s.old {
        Outcome::Interrupted
    } else if lock == s.new {
        Outcome::Completed
    } else {
        panic!(
            "after SIG{signal} at {delay:?} the lock is neither the old nor the new one:\n{}",
            String::from_utf8_lossy(&lock)
        );
    };
    match (signal, &outcome) {
        ("INT", Outcome::Interrupted) => {
            assert_eq!(output.status.code(), Some(130), "{stderr}");
            assert!(
                stderr.contains("interrupted; images.lock was not changed"),
                "{stderr}"
            );
        }
        ("INT" | "TERM" | "HUP", Outcome::Completed) => {
            assert_eq!(output.status.code(), Some(0), "{stderr}");
        }
        ("TERM", Outcome::Interrupted) => {
            assert_eq!(output.status.code(), Some(143), "{stderr}");
            assert!(
                stderr.contains("terminated; images.lock was not changed"),
                "{stderr}"
            );
        }
        ("HUP", Outcome::Interrupted) => {
            assert_eq!(output.status.code(), Some(129), "{stderr}");
            assert!(
                stderr.contains("hung up; images.lock was not changed"),
                "{stderr}"
            );
        }
        ("KILL", Outcome::Interrupted) => assert_eq!(output.status.signal(), Some(9)),
        _ => {}
    }
    outcome
}

/// Spreads the kills over the run: from just after start to past its end.
fn delays() -> impl Iterator<Item = Duration> {
    (0..KILLS).map(|i| Duration::from_millis(60 + i * 140))
}

#[test]
fn lock_interrupted_at_any_moment_keeps_the_old_or_the_complete_new_lock() {
    let s = scene();
    // Slow answers so that a run takes a second or more and kills land
    // inside it.
    s.proxy.set(Fault::Slow { delay_ms: 40 });

    let mut interrupted = 0;
    for delay in delays() {
        if kill_once(&s, "INT", delay) == Outcome::Interrupted {
            interrupted += 1;
        }
        let left = temp_files(s.project.path());
        assert!(left.is_empty(), "SIGINT at {delay:?} left {left:?}");
    }
    assert!(interrupted > 0, "no SIGINT landed before the write");

    let mut killed = 0;
    for delay in delays() {
        if kill_once(&s, "KILL", delay) == Outcome::Interrupted {
            killed += 1;
        }
    }
    assert!(killed > 0, "no SIGKILL landed before the write");
    // Whatever a SIGKILL left behind, the next run works and ends complete.
    std::fs::write(s.project.lock_path(), &s.old).expect("restore the old lock");
    s.proxy.set(Fault::None);
    s.project.images(&["lock", "--update"]).expect_code(0);
    assert_eq!(s.project.lock_bytes(), s.new);
    eprintln!(
        "{interrupted}/{KILLS} SIGINT and {killed}/{KILLS} SIGKILL landed mid-run; temp files left by SIGKILL: {:?}",
        temp_files(s.project.path())
    );
}

#[test]
fn lock_terminated_or_hung_up_at_any_moment_leaves_no_temp_file() {
    let s = scene();
    s.proxy.set(Fault::Slow { delay_ms: 40 });
    for signal in ["TERM", "HUP"] {
        let mut stopped = 0;
        for delay in delays() {
            if kill_once(&s, signal, delay) == Outcome::Interrupted {
                stopped += 1;
            }
            let left = temp_files(s.project.path());
            assert!(left.is_empty(), "SIG{signal} at {delay:?} left {left:?}");
        }
        assert!(stopped > 0, "no SIG{signal} landed before the write");
    }
}
