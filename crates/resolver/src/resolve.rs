//! Turning references into verified digests.

use std::collections::HashMap;
use std::future::Future;

use futures::stream::{self, StreamExt};
use images_lockfile::{Digest, Platform, PlatformManifest, Reference};

use crate::client::{Clients, Connection};
use crate::media_type::{inspect, platform_matches, Inspected};
use crate::{ResolveError, ResolverConfig, MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES};

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
    /// [`Platform::from_index`].
    pub skipped: Vec<String>,
}

/// Resolves references against registries. Cheap to share behind an `Arc`;
/// all methods take `&self`.
pub struct Resolver {
    clients: Clients,
}

impl Resolver {
    /// A resolver with these settings. Clients are created lazily, one per registry.
    pub fn new(config: ResolverConfig) -> Result<Resolver, ResolveError> {
        Ok(Resolver {
            clients: Clients::new(config),
        })
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
        platforms: &[Platform],
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

    /// Resolves many references with at most `jobs` requests in flight;
    /// identical requests are made once. Results come back in input order.
    pub async fn resolve_many(
        &self,
        requests: &[(Reference, Vec<Platform>)],
    ) -> Vec<Result<Resolved, ResolveError>> {
        self.resolve_many_with_progress(requests, &|| {}).await
    }

    /// [`Resolver::resolve_many`], calling `progress` once per input request
    /// as its result becomes known (so `requests.len()` times in all), for a
    /// caller's progress bar. This crate draws nothing itself.
    pub async fn resolve_many_with_progress(
        &self,
        requests: &[(Reference, Vec<Platform>)],
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
        let header = self
            .request(reference, |connection, target| async move {
                connection
                    .client
                    .fetch_manifest_digest(&target, &connection.auth)
                    .await
            })
            .await;
        match header {
            Ok(value) => Digest::parse(&value).map_err(|e| ResolveError::InvalidManifest {
                reference: shown,
                reason: format!("the registry named digest `{value}`: {e}"),
            }),
            // 405 or another refusal of HEAD: ask with GET.
            Err(ResolveError::Registry {
                status: Some(405), ..
            }) => self.fetch(reference).await.map(|(d, _)| d),
            Err(e) => Err(e),
        }
    }

    /// Every tag of the repository `reference` names (its own tag and
    /// digest do not matter), sorted and without duplicates.
    ///
    /// Asks page by page (`n` and `last`, as the distribution spec pages
    /// them) up to a bound, and stops at a page that is short or that did
    /// not move past the last tag seen: Debian's docker-registry 2.8
    /// ignores `n` and `last` and answers every tag at once, unsorted.
    pub async fn list_tags(&self, reference: &Reference) -> Result<Vec<String>, ResolveError> {
        const PAGE: usize = 1000;
        const MAX_PAGES: usize = 100;
        let mut tags: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let after = last.clone();
            let page = self
                .request(reference, |connection, target| {
                    let after = after.clone();
                    async move {
                        connection
                            .client
                            .list_tags(&target, &connection.auth, Some(PAGE), after.as_deref())
                            .await
                    }
                })
                .await?;
            let short = page.tags.len() < PAGE;
            let moved = match (&last, page.tags.first()) {
                (Some(last), Some(first)) => first > last,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let page_last = page.tags.iter().max().cloned();
            tags.extend(page.tags);
            if short || !moved {
                break;
            }
            last = page_last;
        }
        tags.sort_unstable();
        tags.dedup();
        Ok(tags)
    }

    /// [`Resolver::list_tags`] for many repositories, `jobs` at a time;
    /// each repository is asked once. Results come back in input order.
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
        self.run_deduplicated(&repositories, |r| self.list_tags(r), &|| {})
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
    pub(crate) async fn fetch(
        &self,
        reference: &Reference,
    ) -> Result<(Digest, Inspected), ResolveError> {
        let shown = reference.to_string();
        let (body, checked) = self
            .request(reference, |connection, target| async move {
                connection
                    .client
                    .pull_manifest_raw(&target, &connection.auth, MANIFEST_MEDIA_TYPES)
                    .await
            })
            .await?;
        // `oci-client` reads the whole body before we see it; the cap is
        // enforced here, and the request timeout bounds an endless body.
        if body.len() > MAX_MANIFEST_BYTES {
            return Err(ResolveError::TooLarge {
                reference: shown,
                size: body.len(),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        // `oci-client` already compared the body with the header and the
        // digest asked for; hash it again so the recorded digest is one we
        // computed, whatever the library's rules become.
        let digest = match reference.digest() {
            Some(wanted) => {
                if !wanted.matches(&body) {
                    return Err(tampered(&shown, wanted.to_string(), &body));
                }
                wanted.clone()
            }
            None => Digest::sha256_of(&body),
        };
        if checked != digest.to_string() {
            return Err(tampered(&shown, checked, &body));
        }
        let inspected = inspect(&body, &shown)?;
        Ok((digest, inspected))
    }

    /// One request about `reference`: on its registry's connection,
    /// authorized, under the timeout and the retry policy, with errors
    /// explained in terms of where the credentials came from.
    async fn request<T, F, Fut>(&self, reference: &Reference, send: F) -> Result<T, ResolveError>
    where
        F: Fn(Connection, oci_client::Reference) -> Fut,
        Fut: Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
    {
        let registry = reference.domain();
        let connection = self.clients.get(registry)?;
        let target = to_oci(reference);
        let (c, t, send) = (&connection, &target, &send);
        self.call(registry, &reference.to_string(), move || async move {
            c.authorized(t, || send(c.clone(), t.clone())).await
        })
        .await
        .map_err(|e| connection.explain(e))
    }

    /// One registry call under the timeout and the retry policy.
    async fn call<T, F, Fut>(
        &self,
        registry: &str,
        reference: &str,
        mut call: F,
    ) -> Result<T, ResolveError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
    {
        let config = self.clients.config();
        let timeout = config.request_timeout;
        config
            .retry
            .run(reference, || {
                let attempt = call();
                async move {
                    match tokio::time::timeout(timeout, attempt).await {
                        Ok(Ok(value)) => Ok(value),
                        Ok(Err(e)) => Err(match ResolveError::from_oci(e, registry, reference) {
                            ResolveError::Timeout { registry, .. } => ResolveError::Timeout {
                                registry,
                                after: timeout,
                            },
                            other => other,
                        }),
                        Err(_) => Err(ResolveError::Timeout {
                            registry: registry.to_string(),
                            after: timeout,
                        }),
                    }
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
    wanted: &[Platform],
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

fn to_oci(reference: &Reference) -> oci_client::Reference {
    let registry = reference.domain().to_string();
    let repository = reference.path().to_string();
    match (reference.tag(), reference.digest()) {
        (_, Some(digest)) => {
            oci_client::Reference::with_digest(registry, repository, digest.to_string())
        }
        (Some(tag), None) => oci_client::Reference::with_tag(registry, repository, tag.to_string()),
        (None, None) => oci_client::Reference::with_tag(registry, repository, "latest".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn progress_is_reported_once_per_input_even_for_shared_requests() {
        let resolver = Resolver::new(ResolverConfig::default()).expect("resolver");
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
