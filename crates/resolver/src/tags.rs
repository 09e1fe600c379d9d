//! Listing a repository's tags (`GET /v2/<name>/tags/list`), page by page.

use images_lockfile::Reference;
use reqwest::header::LINK;
use serde::Deserialize;

use crate::transport::Answer;
use crate::{ResolveError, Resolver};

/// The largest page of tags read; Docker Hub's largest pages are far below.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Pages followed before giving up on a registry whose `Link`s never end.
const MAX_PAGES: usize = 10_000;

#[derive(Deserialize)]
struct TagPage {
    /// `null` in an empty repository on some registries.
    tags: Option<Vec<String>>,
}

impl Resolver {
    /// Every tag of `reference`'s repository, in the registry's order,
    /// following `Link: <…>; rel="next"` pagination (Docker Hub, ghcr.io,
    /// distribution 3 page; distribution 2.8 answers all at once).
    ///
    /// A `Link` to another host is refused: the registry's own origin is
    /// the only one authorized for its repository.
    pub async fn tags(&self, reference: &Reference) -> Result<Vec<String>, ResolveError> {
        let registry = reference.domain();
        let shown = format!("{registry}/{}", reference.path());
        let mut path = format!("/v2/{}/tags/list", reference.path());
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let answer = self
                .get(
                    reference,
                    &path,
                    &shown,
                    Some("application/json"),
                    MAX_PAGE_BYTES,
                )
                .await?;
            let page: TagPage =
                serde_json::from_slice(&answer.body).map_err(|e| ResolveError::Registry {
                    registry: registry.to_string(),
                    status: Some(200),
                    message: format!(
                        "its tag list for `{shown}` is not JSON of the expected shape ({e})"
                    ),
                    retry_after: None,
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match self.next_page(registry, &answer).await? {
                Some(next) => path = next,
                None => return Ok(tags),
            }
        }
        Err(ResolveError::Registry {
            registry: registry.to_string(),
            status: None,
            message: format!("its tag list for `{shown}` has more than {MAX_PAGES} pages"),
            retry_after: None,
        })
    }

    /// The path of the next page a `Link` header names, if any.
    async fn next_page(
        &self,
        registry: &str,
        answer: &Answer,
    ) -> Result<Option<String>, ResolveError> {
        let Some(target) = answer
            .headers
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(next_link)
        else {
            return Ok(None);
        };
        let transport = self.clients.get(registry).await?;
        let url = answer
            .url
            .join(&target)
            .ok()
            .and_then(|url| transport.own_path(&url));
        url.map(Some).ok_or_else(|| ResolveError::Insecure {
            registry: registry.to_string(),
            reason: format!("its tag list links to `{target}`, outside the registry"),
        })
    }
}

/// The target of the `rel="next"` link in one `Link` header value
/// (RFC 8288: `<target>; rel="next"`, several links comma-separated).
fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|link| {
        let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
        params
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .any(|(key, rel)| {
                key.trim().eq_ignore_ascii_case("rel")
                    && rel
                        .trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
            .then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn next_links_are_found_among_others() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#).as_deref(),
            Some("https://x/next")
        );
        assert_eq!(next_link(r#"</v2/a/tags/list>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }
}
