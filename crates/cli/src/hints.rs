//! What to do about an error: the `hint:` lines the binary adds to the
//! facts a library reports. The resolver says what happened; only the
//! binary knows images.toml's keys and the tools its users log in with.

use images_resolver::ResolveError;

/// What the user can do about `err`, when there is something to say.
pub fn for_registry(err: &ResolveError) -> Option<String> {
    match err {
        ResolveError::Unauthorized {
            registry,
            credentials: None,
        } => Some(format!(
            "log in with `docker login {registry}` (images reads Docker's config.json and podman's auth.json)"
        )),
        ResolveError::Unauthorized {
            registry,
            credentials: Some(_),
        } => Some(format!(
            "log in again with `docker login {registry}`, or check that the account may pull this image"
        )),
        ResolveError::UntrustedCertificate { registry, .. } => Some(format!(
            "if it uses a private CA, name the CA in images.toml with `[registries.\"{registry}\"] ca = \"path/to/ca.pem\"` or set `SSL_CERT_FILE`"
        )),
        ResolveError::Schema1 { .. } => {
            Some("push it again with a current Docker or buildx".to_string())
        }
        ResolveError::WaitTooLong { .. } => Some("try again later".to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_trust_get_a_way_out_and_plain_outages_none() {
        let missing = ResolveError::Unauthorized {
            registry: "127.0.0.1:5000".into(),
            credentials: None,
        };
        let hint = for_registry(&missing).unwrap_or_default();
        assert!(hint.contains("docker login 127.0.0.1:5000"), "{hint}");
        assert!(!missing.to_string().contains("docker login"), "{missing}");

        let untrusted = ResolveError::UntrustedCertificate {
            registry: "127.0.0.1:5000".into(),
            reason: "unknown issuer".into(),
        };
        let hint = for_registry(&untrusted).unwrap_or_default();
        assert!(
            hint.contains("[registries.\"127.0.0.1:5000\"] ca = "),
            "{hint}"
        );
        assert!(!untrusted.to_string().contains("ca ="), "{untrusted}");

        let down = ResolveError::Unreachable {
            registry: "127.0.0.1:5000".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(for_registry(&down), None);
    }
}
