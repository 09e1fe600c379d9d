//! Turning references into verified digests.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream::{self, StreamExt};
use images_lockfile::{Digest, PlatformManifest, Platforms, Reference};

use reqwest::Method;

use crate::client::Clients;
use crate::media_type::{inspect, platform_matches, Inspected};
use crate::transport::{Answer, Request};
use crate::{ResolveError, ResolverConfig, MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES};

/// The registry's `Docker-Content-Digest` header.
const DIGEST_HEADER: &str = "docker-content-digest";

/// What a reference resolved to, checked against the bytes received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Digest of the top-level manifest: the index or list for a
    /// multi-platform image, as `docker pull` reports it.
    pub digest: Digest,
    /// Media type of that manifest.
    pub media_type: String,
    /// The platform manifests of an index, filtered to the platforms asked
    /// for (all of them when none were); empty for a single manifest.
    pub manifests: Vec<PlatformManifest>,
    /// Index entries left out because their platform is not a valid OCI
    /// platform (described and escaped, for a warning); see
    /// [`Platform::from_index`](images_lockfile::Platform::from_index).
    pub skipped: Vec<String>,
}

/// Resolves references against registries. Cheap to share behind an `Arc`;
/// all methods take `&self`.
pub struct Resolver {
    pub(crate) clients: Clients,
    /// Manifest GETs sent (Docker Hub counts them against the pull quota).
    manifest_gets: AtomicUsize,
}

impl Resolver {
    /// A resolver with these settings. Clients are created lazily, one per registry.
    pub fn new(config: ResolverConfig) -> Resolver {
        Resolver {
            clients: Clients::new(config),
            manifest_gets: AtomicUsize::new(0),
        }
    }

    /// How many manifest GETs this resolver has sent so far (HEADs are not
    /// counted: Docker Hub's pull quota counts GETs only).
    pub fn manifest_gets(&self) -> usize {
        self.manifest_gets.load(Ordering::Relaxed)
    }

    /// The settings this resolver was made with.
    pub fn config(&self) -> &ResolverConfig {
        self.clients.config()
    }

    /// Fetches the manifest `reference` names (by digest when it has one,
    /// else by tag), hashes it and reads its platform children.
    ///
    /// This is the moment of trust, so it always GETs: the digest returned
    /// is the sha256 of the bytes received, and a body that does not hash
    /// to the digest asked for or to the registry's `Docker-Content-Digest`
    /// is [`ResolveError::Tampered`].
    pub async fn resolve(
        &self,
        reference: &Reference,
        platforms: &Platforms,
    ) -> Result<Resolved, ResolveError> {
        let (digest, inspected) = self.fetch(reference).await?;
        let manifests = select_platforms(reference, &inspected, platforms)?;
        Ok(Resolved {
            digest,
            media_type: inspected.media_type,
            manifests,
            skipped: inspected.skipped,
        })
    }

    /// Re-resolves a tag that was locked to `locked`: a HEAD first, and a
    /// GET (hashed, as [`Resolver::resolve`]) only when the tag names
    /// another digest now. `Ok(None)` when it still names `locked`, which
    /// was hashed and trusted when it was locked: nothing to fetch again,
    /// and no pull counted against Docker Hub's quota.
    pub async fn refresh(
        &self,
        reference: &Reference,
        platforms: &Platforms,
        locked: &Digest,
    ) -> Result<Option<Resolved>, ResolveError> {
        if &self.head_digest(reference).await? == locked {
            return Ok(None);
        }
        self.resolve(reference, platforms).await.map(Some)
    }

    /// [`Resolver::resolve`] for entries without a locked digest and
    /// [`Resolver::refresh`] for those with one, many at a time as
    /// [`Resolver::resolve_many_with_progress`] does.
    pub async fn refresh_many_with_progress(
        &self,
        requests: &[(Reference, Platforms, Option<Digest>)],
        progress: &(dyn Fn() + Sync),
    ) -> Vec<Result<Option<Resolved>, ResolveError>> {
        self.run_deduplicated(
            requests,
            |(reference, platforms, locked)| async move {
                match locked {
                    Some(locked) => self.refresh(reference, platforms, locked).await,
                    None => self.resolve(reference, platforms).await.map(Some),
                }
            },
            progress,
        )
        .await
    }

    /// Resolves many references with at most `jobs` requests in flight;
    /// identical requests are made once. Results come back in input order.
    pub async fn resolve_many(
        &self,
        requests: &[(Reference, Platforms)],
    ) -> Vec<Result<Resolved, ResolveError>> {
        self.resolve_many_with_progress(requests, &|| {}).await
    }

    /// [`Resolver::resolve_many`], calling `progress` once per input request
    /// as its result becomes known (so `requests.len()` times in all), for a
    /// caller's progress bar. This crate draws nothing itself.
    pub async fn resolve_many_with_progress(
        &self,
        requests: &[(Reference, Platforms)],
        progress: &(dyn Fn() + Sync),
    ) -> Vec<Result<Resolved, ResolveError>> {
        self.run_deduplicated(
            requests,
            |(reference, platforms)| self.resolve(reference, platforms),
            progress,
        )
        .await
    }

    /// The digest a reference currently names, by HEAD (free of Docker
    /// Hub's pull quota). Falls back to GET and hashing when the registry
    /// sends no `Docker-Content-Digest` or refuses HEAD.
    pub async fn head_digest(&self, reference: &Reference) -> Result<Digest, ResolveError> {
        let shown = reference.to_string();
        match self.manifest(reference, Method::HEAD).await {
            Ok(answer) => match header_digest(&answer, &shown)? {
                Some(digest) => Ok(digest),
                None => self.fetch(reference).await.map(|(d, _)| d),
            },
            // 405 or another refusal of HEAD: ask with GET.
            Err(ResolveError::Registry {
                status: Some(405), ..
            }) => self.fetch(reference).await.map(|(d, _)| d),
            Err(e) => Err(e),
        }
    }

    /// [`Resolver::tags`] for many repositories, `jobs` at a time; each
    /// repository is asked once. Results come back in input order.
    pub async fn list_tags_many(
        &self,
        references: &[Reference],
    ) -> Vec<Result<Vec<String>, ResolveError>> {
        let repositories: Vec<Reference> = references
            .iter()
            .map(|r| {
                r.with_tag(images_lockfile::DEFAULT_TAG)
                    .unwrap_or_else(|| r.clone())
            })
            .collect();
        self.run_deduplicated(&repositories, |r| self.tags(r), &|| {})
            .await
    }

    /// Whether `digest` still exists in the repository of `reference`.
    pub async fn exists(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<bool, ResolveError> {
        match self
            .head_digest(&reference.with_digest(digest.clone()))
            .await
        {
            Ok(_) => Ok(true),
            Err(ResolveError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// GETs a manifest, checks its size and digest, and reads it.
    ///
    /// The body is read in a stream and cut at [`MAX_MANIFEST_BYTES`]. Its
    /// digest is computed here: it must match the digest asked for, and
    /// the registry's `Docker-Content-Digest` when it sends one (in
    /// whichever algorithm that names).
    pub(crate) async fn fetch(
        &self,
        reference: &Reference,
    ) -> Result<(Digest, Inspected), ResolveError> {
        let shown = reference.to_string();
        let answer = self.manifest(reference, Method::GET).await?;
        let body = &answer.body;
        let digest = match reference.digest() {
            Some(wanted) => {
                if !wanted.matches(body) {
                    return Err(tampered(&shown, wanted.to_string(), body));
                }
                wanted.clone()
            }
            None => Digest::sha256_of(body),
        };
        if let Some(named) = header_digest(&answer, &shown)? {
            if !named.matches(body) {
                return Err(tampered(&shown, named.to_string(), body));
            }
        }
        let inspected = inspect(body, &shown)?;
        Ok((digest, inspected))
    }

    /// One manifest request (HEAD or GET) for `reference`, by digest when
    /// it has one, else by tag, with every pinnable type accepted.
    async fn manifest(
        &self,
        reference: &Reference,
        method: Method,
    ) -> Result<Answer, ResolveError> {
        let target = match (reference.digest(), reference.tag()) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.to_string(),
            (None, None) => "latest".to_string(),
        };
        let path = format!("/v2/{}/manifests/{target}", reference.path());
        let accept = MANIFEST_MEDIA_TYPES.join(", ");
        if method == Method::GET {
            self.manifest_gets.fetch_add(1, Ordering::Relaxed);
        }
        self.request(
            reference.domain(),
            &Request {
                method,
                path: &path,
                repository: reference.path(),
                about: &reference.to_string(),
                accept: Some(&accept),
                cap: MAX_MANIFEST_BYTES,
            },
        )
        .await
    }

    /// A GET of `path` in `reference`'s repository, authorized for pulling
    /// from it, with the body cut at `cap`; `about` names it in messages.
    pub(crate) async fn get(
        &self,
        reference: &Reference,
        path: &str,
        about: &str,
        accept: Option<&str>,
        cap: usize,
    ) -> Result<Answer, ResolveError> {
        self.request(
            reference.domain(),
            &Request {
                method: reqwest::Method::GET,
                path,
                repository: reference.path(),
                about,
                accept,
                cap,
            },
        )
        .await
    }

    /// One request to `registry`, on its transport, authorized, under the
    /// timeout and the retry policy.
    pub(crate) async fn request(
        &self,
        registry: &str,
        request: &Request<'_>,
    ) -> Result<Answer, ResolveError> {
        let config = self.clients.config();
        let timeout = config.request_timeout;
        config
            .retry
            .run(request.about, || async {
                let transport = self.clients.get(registry).await?;
                match tokio::time::timeout(timeout, transport.send(request)).await {
                    Ok(result) => result,
                    Err(_) => Err(ResolveError::Timeout {
                        registry: registry.to_string(),
                        after: timeout,
                    }),
                }
            })
            .await
    }

    /// Runs `work` once per distinct request, `jobs` at a time, and hands
    /// each input its result; `progress` is called once per input as its
    /// result arrives (a shared request counts for every input it serves).
    pub(crate) async fn run_deduplicated<'a, K, T, F, Fut>(
        &'a self,
        requests: &'a [K],
        work: F,
        progress: &'a (dyn Fn() + Sync),
    ) -> Vec<Result<T, ResolveError>>
    where
        K: Eq + std::hash::Hash,
        T: Clone,
        F: Fn(&'a K) -> Fut,
        Fut: Future<Output = Result<T, ResolveError>> + 'a,
    {
        let mut first_of: HashMap<&K, usize> = HashMap::new();
        let mut unique: Vec<usize> = Vec::new();
        let slot: Vec<usize> = requests
            .iter()
            .enumerate()
            .map(|(i, k)| {
                *first_of.entry(k).or_insert_with(|| {
                    unique.push(i);
                    unique.len() - 1
                })
            })
            .collect();
        let jobs = self.clients.config().jobs.max(1);
        let mut results: Vec<Option<Result<T, ResolveError>>> =
            (0..unique.len()).map(|_| None).collect();
        let mut stream = stream::iter(unique.iter().enumerate())
            .map(|(u, &i)| {
                let fut = work(&requests[i]);
                async move { (u, fut.await) }
            })
            .buffer_unordered(jobs);
        let mut served = vec![0usize; unique.len()];
        for &u in &slot {
            served[u] += 1;
        }
        while let Some((u, result)) = stream.next().await {
            results[u] = Some(result);
            for _ in 0..served[u] {
                progress();
            }
        }
        slot.into_iter()
            .map(|u| match &results[u] {
                Some(Ok(v)) => Ok(v.clone()),
                Some(Err(e)) => Err(e.clone()),
                None => Err(ResolveError::Registry {
                    registry: String::new(),
                    status: None,
                    message: "internal error: request was not run".to_string(),
                    retry_after: None,
                }),
            })
            .collect()
    }
}

fn tampered(reference: &str, expected: String, body: &[u8]) -> ResolveError {
    ResolveError::Tampered {
        reference: reference.to_string(),
        expected,
        actual: Digest::sha256_of(body).to_string(),
    }
}

/// Keeps the index children for the platforms asked for; all of them when
/// none were. A platform asked for but absent is an error, not a silent gap:
/// the user's to fix when the index lacks it, the registry's when the index
/// has entries whose platform could not be read (one of them may be it).
fn select_platforms(
    reference: &Reference,
    inspected: &Inspected,
    wanted: &Platforms,
) -> Result<Vec<PlatformManifest>, ResolveError> {
    let children = &inspected.children;
    if wanted.is_empty() || (children.is_empty() && inspected.skipped.is_empty()) {
        return Ok(children.clone());
    }
    for w in wanted {
        if !children.iter().any(|c| platform_matches(w, &c.platform)) {
            if !inspected.skipped.is_empty() {
                return Err(ResolveError::UnreadablePlatforms {
                    reference: reference.to_string(),
                    platform: w.to_string(),
                    skipped: inspected.skipped.join(", "),
                });
            }
            let available = children
                .iter()
                .map(|c| c.platform.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ResolveError::PlatformMissing {
                reference: reference.to_string(),
                platform: w.to_string(),
                available,
            });
        }
    }
    Ok(children
        .iter()
        .filter(|c| wanted.iter().any(|w| platform_matches(w, &c.platform)))
        .cloned()
        .collect())
}

/// The digest the registry's `Docker-Content-Digest` header names, if it
/// sends one; a header that is not a digest we can check is garbage.
fn header_digest(answer: &Answer, shown: &str) -> Result<Option<Digest>, ResolveError> {
    let Some(value) = answer.headers.get(DIGEST_HEADER) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    Digest::parse(text.trim())
        .map(Some)
        .map_err(|e| ResolveError::InvalidManifest {
            reference: shown.to_string(),
            reason: format!("the registry named digest `{text}`: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn progress_is_reported_once_per_input_even_for_shared_requests() {
        let resolver = Resolver::new(ResolverConfig::default());
        let calls = AtomicUsize::new(0);
        let runs = AtomicUsize::new(0);
        let requests = [1u32, 2, 1, 3];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let results = runtime.block_on(resolver.run_deduplicated(
            &requests,
            |k| {
                runs.fetch_add(1, Ordering::SeqCst);
                async move { Ok(*k * 10) }
            },
            &|| {
                calls.fetch_add(1, Ordering::SeqCst);
            },
        ));
        let values: Vec<u32> = results.into_iter().map(|r| r.expect("ok")).collect();
        assert_eq!(values, [10, 20, 10, 30]);
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "the shared request runs once"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 4, "every input is counted");
    }
}
