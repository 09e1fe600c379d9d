//! How `images verify` grades what it found about one entry: whether it
//! fails the gate, only warns, or could not be checked; and which
//! signature check it owes an entry that requires signers.
//!
//! Plain decisions over a finding's kind, the entry's `mutable` flag and
//! its signers' verdicts, so they are tested without a registry; the
//! binary asks the registry, then prints what these functions decide.

use images_lockfile::Digest;

use crate::signatures::SignerCheck;
use crate::verify::FindingKind;

/// What became of one verified entry, as its JSON `status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The tag still names the locked digest.
    Ok,
    /// The registry says otherwise than the lock.
    Drift(FindingKind),
    /// The lock does not match images.toml, so nothing was asked.
    OutOfDate,
    /// The signature the lock recorded is gone and no valid one is left.
    SignatureGone,
    /// The registry could not be asked, or its answer cannot be used.
    Unchecked,
}

impl Status {
    /// Stable kebab-case name for JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Drift(kind) => kind.as_str(),
            Status::OutOfDate => "lock-out-of-date",
            Status::SignatureGone => "signature-gone",
            Status::Unchecked => "unchecked",
        }
    }
}

/// How an entry counts toward the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Nothing to report.
    Ok,
    /// Reported, does not fail the gate: a mutable tag that moved.
    Warning,
    /// Fails the gate.
    Error,
    /// Nothing is known: neither passes nor is drift.
    Unchecked,
}

impl Severity {
    /// Stable name for JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Unchecked => "unchecked",
        }
    }
}

/// The SARIF rule of a tag that moved to a digest its signers did not sign.
pub const UNSIGNED_MOVE: &str = "tag-moved-unsigned";

/// Grades one entry. `signed` is, for a moved tag of an entry that
/// requires signers, whether all of them signed the new digest.
///
/// A mutable entry that moved is a warning, not a failure. Tampering never
/// is (a mutable tag may move, its answers may not lie), nor is a move to
/// a digest the required signers did not sign: whoever pushed it does not
/// hold their key.
pub fn grade(status: Status, mutable: bool, signed: Option<bool>) -> Severity {
    match status {
        Status::Ok => Severity::Ok,
        Status::Unchecked => Severity::Unchecked,
        Status::OutOfDate | Status::SignatureGone => Severity::Error,
        Status::Drift(kind) => {
            if mutable && kind != FindingKind::Tampered && signed != Some(false) {
                Severity::Warning
            } else {
                Severity::Error
            }
        }
    }
}

/// The rule a finding is reported under in SARIF: its status, except a
/// move to a digest the required signers did not sign.
pub fn rule(status: Status, signed: Option<bool>) -> &'static str {
    match (status, signed) {
        (Status::Drift(_), Some(false)) => UNSIGNED_MOVE,
        _ => status.as_str(),
    }
}

/// The signature check `verify` owes an entry that requires signers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The tag moved: is the digest it names now signed by them?
    Moved(Digest),
    /// The tag did not move: do the artifacts the lock recorded still
    /// answer? Only when one is gone is the signature checked again.
    Recorded,
}

/// Which signature check an entry with `status` owes; `current` is the
/// digest its tag names now. None for a tampered answer (its digest means
/// nothing), a gone tag, and entries that were not checked.
pub fn signature_check(status: Status, current: Option<&Digest>) -> Option<SignatureCheck> {
    match status {
        Status::Ok => Some(SignatureCheck::Recorded),
        Status::Drift(FindingKind::Tampered) => None,
        Status::Drift(_) => current.cloned().map(SignatureCheck::Moved),
        Status::OutOfDate | Status::SignatureGone | Status::Unchecked => None,
    }
}

/// Whether every required signer signed.
pub fn all_signed(checks: &[(String, SignerCheck)]) -> bool {
    checks
        .iter()
        .all(|(_, check)| matches!(check, SignerCheck::Signed { .. }))
}

/// The signers that did not sign, with their verdicts.
pub fn unsigned(checks: &[(String, SignerCheck)]) -> impl Iterator<Item = &(String, SignerCheck)> {
    checks
        .iter()
        .filter(|(_, check)| !matches!(check, SignerCheck::Signed { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOVED: Status = Status::Drift(FindingKind::TagMoved);
    const TAMPERED: Status = Status::Drift(FindingKind::Tampered);

    fn digest(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).expect("digest")
    }

    #[test]
    fn a_moved_tag_fails_unless_the_entry_is_mutable() {
        assert_eq!(grade(MOVED, false, None), Severity::Error);
        assert_eq!(grade(MOVED, true, None), Severity::Warning);
        for kind in [FindingKind::TagGone, FindingKind::LockedDigestGone] {
            assert_eq!(grade(Status::Drift(kind), true, None), Severity::Warning);
            assert_eq!(grade(Status::Drift(kind), false, None), Severity::Error);
        }
    }

    #[test]
    fn tampering_and_unsigned_moves_fail_even_a_mutable_entry() {
        assert_eq!(grade(TAMPERED, true, None), Severity::Error);
        assert_eq!(grade(MOVED, true, Some(false)), Severity::Error);
        assert_eq!(grade(MOVED, true, Some(true)), Severity::Warning);
        assert_eq!(rule(MOVED, Some(false)), UNSIGNED_MOVE);
        assert_eq!(rule(MOVED, Some(true)), "tag-moved");
        assert_eq!(rule(TAMPERED, None), "tampered");
    }

    #[test]
    fn an_out_of_date_lock_fails_and_an_unasked_registry_is_unchecked() {
        for mutable in [false, true] {
            assert_eq!(grade(Status::OutOfDate, mutable, None), Severity::Error);
            assert_eq!(grade(Status::SignatureGone, mutable, None), Severity::Error);
            assert_eq!(grade(Status::Unchecked, mutable, None), Severity::Unchecked);
            assert_eq!(grade(Status::Ok, mutable, None), Severity::Ok);
        }
        assert_eq!(rule(Status::OutOfDate, None), "lock-out-of-date");
    }

    #[test]
    fn only_a_real_move_has_its_new_digest_checked_for_signatures() {
        let now = digest('b');
        assert_eq!(
            signature_check(MOVED, Some(&now)),
            Some(SignatureCheck::Moved(now.clone()))
        );
        assert_eq!(signature_check(TAMPERED, Some(&now)), None);
        assert_eq!(
            signature_check(Status::Drift(FindingKind::TagGone), None),
            None
        );
        assert_eq!(
            signature_check(Status::Ok, None),
            Some(SignatureCheck::Recorded)
        );
        assert_eq!(signature_check(Status::Unchecked, None), None);
    }

    #[test]
    fn every_signer_must_sign() {
        let signed = SignerCheck::Signed {
            key: digest('c'),
            artifact: digest('d'),
        };
        let both = vec![
            ("acme".to_string(), signed.clone()),
            ("ops".to_string(), signed.clone()),
        ];
        assert!(all_signed(&both));
        assert_eq!(unsigned(&both).count(), 0);
        let one = vec![
            ("acme".to_string(), signed),
            ("ops".to_string(), SignerCheck::Unsigned),
        ];
        assert!(!all_signed(&one));
        let missing: Vec<&str> = unsigned(&one).map(|(s, _)| s.as_str()).collect();
        assert_eq!(missing, ["ops"]);
    }
}
