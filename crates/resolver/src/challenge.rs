//! What a registry's `WWW-Authenticate` header asks for.

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

/// How a registry wants to be asked, from its `GET /v2/` answer or a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    /// No challenge: the registry serves anyone, no `Authorization` sent.
    Open,
    /// HTTP basic authentication on every request.
    Basic,
    /// Bearer tokens from a token endpoint (distribution's token auth).
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` to name in token requests.
        service: Option<String>,
    },
}

/// The access a 401 answer's challenges ask for: `Bearer` when offered
/// (a registry may offer both), else `Basic`; `None` when the header is
/// missing, unparseable or names neither.
///
/// Parsed with `http-auth`, which follows RFC 7235 (quoted strings,
/// escapes, several challenges in one header) so that we need not.
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Access> {
    let mut basic = false;
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Ok(text) = value.to_str() else { continue };
        let Ok(challenges) = http_auth::parse_challenges(text) else {
            continue;
        };
        for challenge in challenges {
            if challenge.scheme.eq_ignore_ascii_case("bearer") {
                let param = |name: &str| {
                    challenge
                        .params
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(name))
                        .map(|(_, value)| value.to_unescaped())
                };
                if let Some(realm) = param("realm") {
                    return Some(Access::Bearer {
                        realm,
                        service: param("service"),
                    });
                }
            } else if challenge.scheme.eq_ignore_ascii_case("basic") {
                basic = true;
            }
        }
    }
    basic.then_some(Access::Basic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn parse(values: &[&str]) -> Option<Access> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                WWW_AUTHENTICATE,
                HeaderValue::from_str(value).expect("ascii"),
            );
        }
        from_headers(&headers)
    }

    #[test]
    fn bearer_challenges_give_realm_and_service_unescaped() {
        assert_eq!(
            parse(&[
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull",error="insufficient_scope""#
            ]),
            Some(Access::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
            })
        );
        assert_eq!(
            parse(&[r#"bearer realm="https://a/t\"x""#]),
            Some(Access::Bearer {
                realm: "https://a/t\"x".into(),
                service: None,
            })
        );
    }

    #[test]
    fn bearer_wins_over_basic_and_garbage_is_no_challenge() {
        assert_eq!(
            parse(&[r#"Basic realm="r""#, r#"Bearer realm="https://a/t""#]),
            Some(Access::Bearer {
                realm: "https://a/t".into(),
                service: None,
            })
        );
        assert_eq!(parse(&[r#"Basic realm="registry""#]), Some(Access::Basic));
        assert_eq!(parse(&["Bearer"]), None, "no realm");
        assert_eq!(parse(&["\"unparseable"]), None);
        assert_eq!(parse(&[]), None);
    }
}
