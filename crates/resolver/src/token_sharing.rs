//! One bearer token for every repository of a registry, where the
//! registry allows it.
//!
//! Registries issue a token per scope (`repository:NAME:pull`), and
//! the resolver asks for one per repository. Some registries' tokens cover
//! more than the scope asked for (a user's or a robot account's token), so
//! asking again for each of a thousand repositories is wasted work. Whether
//! a registry allows it is learned by trying: one repository at a time
//! tries a token issued for another; the first success shares it from then
//! on, the first refusal (`401 insufficient_scope`, as distribution and
//! Docker Hub answer) stops the trials for good. A registry that refuses
//! costs one failed request in all.

use std::collections::HashSet;
use std::sync::Mutex;

/// What is known about sharing tokens on one registry.
#[derive(Debug, Default)]
pub(crate) struct SharedToken {
    state: Mutex<Sharing>,
}

#[derive(Debug, Default)]
struct Sharing {
    verdict: Verdict,
    /// The latest token the registry issued, for any repository.
    latest: Option<String>,
    /// Repositories whose requests use a token issued for another.
    borrowers: HashSet<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum Verdict {
    /// Not tried yet, or a trial by this repository is under way.
    #[default]
    Unknown,
    Trying(String),
    Allowed,
    Refused,
}

impl SharedToken {
    /// A token `repository` may use instead of asking for its own: the
    /// shared one once the registry accepted it elsewhere, or the latest
    /// one as the single trial while that is not known.
    pub(crate) fn borrow(&self, repository: &str) -> Option<String> {
        let mut s = self.lock();
        let token = s.latest.clone()?;
        match s.verdict {
            Verdict::Allowed => {}
            Verdict::Unknown => s.verdict = Verdict::Trying(repository.to_string()),
            Verdict::Trying(_) | Verdict::Refused => return None,
        }
        s.borrowers.insert(repository.to_string());
        Some(token)
    }

    /// A token the registry just issued.
    pub(crate) fn offer(&self, token: String) {
        self.lock().latest = Some(token);
    }

    /// A request for `repository` succeeded: a trial by it proves sharing works.
    pub(crate) fn accepted(&self, repository: &str) {
        let mut s = self.lock();
        if s.verdict == Verdict::Trying(repository.to_string()) {
            s.verdict = Verdict::Allowed;
        }
    }

    /// A request for `repository` was refused (401). A borrowed token that
    /// was refused ends sharing: for good after a trial; after it had
    /// worked, only until a new token is issued (it may have expired). A
    /// repository's own token refused is not offered to others.
    pub(crate) fn refused(&self, repository: &str) {
        let mut s = self.lock();
        if s.borrowers.remove(repository) {
            s.verdict = match s.verdict {
                Verdict::Allowed => Verdict::Unknown,
                _ => Verdict::Refused,
            };
        }
        s.latest = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sharing> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::SharedToken;

    #[test]
    fn one_trial_at_a_time_then_shared_for_all() {
        let shared = SharedToken::default();
        assert_eq!(shared.borrow("a"), None, "nothing issued yet");
        shared.offer("t1".into());
        assert_eq!(shared.borrow("b").as_deref(), Some("t1"), "b tries");
        assert_eq!(shared.borrow("c"), None, "one trial at a time");
        shared.accepted("b");
        assert_eq!(shared.borrow("c").as_deref(), Some("t1"));
        assert_eq!(shared.borrow("d").as_deref(), Some("t1"));
    }

    #[test]
    fn a_refused_trial_ends_sharing_for_good() {
        let shared = SharedToken::default();
        shared.offer("t1".into());
        assert!(shared.borrow("b").is_some());
        shared.refused("b");
        shared.offer("t2".into());
        assert_eq!(shared.borrow("b"), None);
        assert_eq!(shared.borrow("c"), None);
    }

    #[test]
    fn a_refused_own_token_is_not_offered_and_an_expired_shared_one_is_retried() {
        let shared = SharedToken::default();
        shared.offer("bad".into());
        shared.refused("a");
        assert_eq!(shared.borrow("b"), None, "a's refused token is not lent");
        shared.offer("t1".into());
        assert!(shared.borrow("b").is_some());
        shared.accepted("b");
        assert!(shared.borrow("c").is_some());
        shared.refused("c");
        assert_eq!(shared.borrow("d"), None, "until a new token is issued");
        shared.offer("t2".into());
        assert_eq!(shared.borrow("d").as_deref(), Some("t2"), "tried again");
    }
}
