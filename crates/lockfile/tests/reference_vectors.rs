//! Every non-legacy case of `fixtures/references.json` (distribution/reference
//! test tables) through our parser.
//!
//! Documented differences from upstream are asserted, not skipped:
//! - digests must be `sha256` or `sha512` at full length: upstream's
//!   `WithDigest` takes a 37-hex `sha256`, we refuse it; a 128-hex `sha512`
//!   is accepted (as with go-digest main, unlike go-digest v1.0.0);
//! - `Reference::parse` adds `:latest` when there is neither tag nor digest,
//!   and keeps the tag when both are given (`ParseDockerRef` drops it);
//! - a bare digest or image id is not a reference (`ParseAnyReference`
//!   accepts it): we check it with `Digest::parse` instead.

use images_lockfile::{
    is_valid_domain, Digest, DigestError, ParsedReference, Reference, ReferenceErrorKind,
};
use serde_json::Value;

/// Fail if the vectors shrink: an empty or truncated file must not pass.
const MIN_CASES: usize = 300;

fn cases() -> Vec<Value> {
    let text = include_str!("fixtures/references.json");
    let json: Value = serde_json::from_str(text).expect("references.json is valid JSON");
    json["cases"]
        .as_array()
        .expect("`cases` is an array")
        .clone()
}

/// A string field; `None` when missing or null.
fn text<'a>(case: &'a Value, key: &str) -> Option<&'a str> {
    case.get(key).and_then(Value::as_str)
}

/// An optional component the source asserts: `None` when the key is
/// missing (no assertion), `Some(None)` when it is null (asserted absent).
fn asserted<'a>(case: &'a Value, key: &str) -> Option<Option<&'a str>> {
    case.get(key).map(Value::as_str)
}

fn digest_ok(d: &str) -> bool {
    Digest::parse(d).is_ok()
}

/// Upstream's normalized and familiar strings have no `:latest` when the
/// input had neither tag nor digest; ours do.
fn with_default_tag(s: &str) -> String {
    match ParsedReference::parse(s) {
        Ok(p) if p.tag.is_none() && p.digest.is_none() => format!("{s}:latest"),
        _ => s.to_owned(),
    }
}

/// Collects mismatches so one run reports all of them.
#[derive(Default)]
struct Report {
    checked: usize,
    failures: Vec<String>,
}

impl Report {
    fn expect(&mut self, case: &Value, what: &str, ok: bool, detail: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(format!(
                "{} ({} {:?}): {what}: {}",
                text(case, "id").unwrap_or("?"),
                text(case, "function").unwrap_or("?"),
                text(case, "input").unwrap_or("?"),
                detail()
            ));
        }
    }

    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, case: &Value, what: &str, ours: T, theirs: T) {
        let ok = ours == theirs;
        self.expect(case, what, ok, || {
            format!("ours {ours:?}, expected {theirs:?}")
        });
    }

    fn finish(self, label: &str, minimum: usize) {
        println!("{label}: checked {} cases", self.checked);
        assert!(
            self.failures.is_empty(),
            "{} mismatches:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(
            self.checked >= minimum,
            "only {} cases checked, expected at least {minimum}",
            self.checked
        );
    }
}

/// Checks the syntactic components the case asserts.
fn check_parsed(r: &mut Report, case: &Value, p: &ParsedReference) {
    if let Some(domain) = text(case, "domain") {
        let expected = (!domain.is_empty()).then_some(domain);
        r.eq(case, "domain", p.domain.as_deref(), expected);
    }
    if let Some(path) = text(case, "path") {
        r.eq(case, "path", p.path.as_str(), path);
    }
    if let Some(name) = text(case, "name") {
        r.eq(case, "name", p.name().as_str(), name);
    }
    if let Some(tag) = asserted(case, "tag") {
        r.eq(case, "tag", p.tag.as_deref(), tag);
    }
    if let Some(digest) = asserted(case, "digest") {
        r.eq(
            case,
            "digest",
            p.digest.as_ref().map(ToString::to_string).as_deref(),
            digest,
        );
    }
    if let Some(string) = text(case, "string") {
        r.eq(case, "string", p.to_string().as_str(), string);
    }
}

/// Checks the normalized components the case asserts.
fn check_normalized(r: &mut Report, case: &Value, n: &Reference) {
    // What the lock stores must read back as the same reference.
    let reread = Reference::parse_canonical(&n.to_string());
    r.expect(
        case,
        "canonical round trip",
        reread.as_ref() == Ok(n),
        || format!("{reread:?}"),
    );
    if let Some(domain) = text(case, "domain") {
        r.eq(case, "domain", n.domain(), domain);
    }
    if let Some(path) = text(case, "path") {
        r.eq(case, "path", n.path(), path);
    }
    if let Some(tag) = asserted(case, "tag") {
        r.eq(case, "tag", n.tag(), tag);
    }
    if let Some(digest) = asserted(case, "digest") {
        r.eq(
            case,
            "digest",
            n.digest().map(ToString::to_string).as_deref(),
            digest,
        );
    }
    if let Some(normalized) = text(case, "normalized") {
        r.eq(
            case,
            "normalized",
            n.to_string(),
            with_default_tag(normalized),
        );
    }
    if let Some(familiar) = text(case, "familiar") {
        r.eq(case, "familiar", n.familiar(), with_default_tag(familiar));
    }
}

/// The upstream error identifier, mapped to our error kind.
fn error_matches(go_error: &str, kind: &ReferenceErrorKind) -> bool {
    match go_error {
        "ErrNameEmpty" => matches!(kind, ReferenceErrorKind::Empty),
        "ErrNameContainsUppercase" => matches!(kind, ReferenceErrorKind::Uppercase),
        "ErrNameTooLong" => matches!(kind, ReferenceErrorKind::NameTooLong(_)),
        "digest.ErrDigestInvalidLength" => {
            matches!(kind, ReferenceErrorKind::Digest(DigestError::Length { .. }))
        }
        "digest.ErrDigestUnsupported" => {
            matches!(
                kind,
                ReferenceErrorKind::Digest(DigestError::UnsupportedAlgorithm(_))
            )
        }
        "ErrReferenceInvalidFormat" => matches!(
            kind,
            ReferenceErrorKind::Format | ReferenceErrorKind::Tag(_) | ReferenceErrorKind::Digest(_)
        ),
        _ => true,
    }
}

fn check_validity<T, E: std::fmt::Debug>(
    r: &mut Report,
    case: &Value,
    result: &Result<T, E>,
    expected_valid: bool,
) {
    let ours = result.is_ok();
    let err = result.as_ref().err();
    r.expect(case, "validity", ours == expected_valid, || {
        format!("ours {ours} ({err:?}), expected {expected_valid}")
    });
}

fn check_error(
    r: &mut Report,
    case: &Value,
    result: &Result<impl Sized, images_lockfile::ReferenceError>,
) {
    if let (Err(err), Some(go_error)) = (result, text(case, "error")) {
        r.expect(
            case,
            "error kind",
            error_matches(go_error, err.kind()),
            || format!("ours {:?}, upstream {go_error}", err.kind()),
        );
    }
}

/// Path.Match from Go (`*`, `?`, `[...]`), enough for `FamiliarMatch` rows.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len())
            .take_while(|&i| i == 0 || name[i - 1] != b'/')
            .any(|i| glob(rest, &name[i..])),
        Some((b'?', rest)) => {
            matches!(name.split_first(), Some((c, tail)) if *c != b'/' && glob(rest, tail))
        }
        Some((b'[', rest)) => {
            let Some(end) = rest.iter().position(|&c| c == b']') else {
                return false;
            };
            let (class, after) = (&rest[..end], &rest[end + 1..]);
            let (negate, class) = match class.split_first() {
                Some((b'^', tail)) => (true, tail),
                _ => (false, class),
            };
            let Some((&c, tail)) = name.split_first() else {
                return false;
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob(after, tail)
        }
        Some((p, rest)) => {
            matches!(name.split_first(), Some((c, tail)) if c == p && glob(rest, tail))
        }
    }
}

fn check_case(r: &mut Report, case: &Value) {
    let function = text(case, "function").unwrap_or_default();
    let input = text(case, "input").unwrap_or_default();
    let valid = case["valid"].as_bool().expect("`valid` is a boolean");
    match function {
        "Parse" => {
            // Upstream (go-digest v1.0.0) refuses sha512; we accept it like
            // go-digest main, whose result the vectors record.
            let main = &case["library_with_go_digest_main"]["Parse"];
            let (valid, expected) = if main.is_object() && input.contains("@sha512:") {
                (main["ok"].as_bool() == Some(true), main)
            } else {
                (valid, case)
            };
            let result = ParsedReference::parse(input);
            check_validity(r, case, &result, valid);
            check_error(r, case, &result);
            if let Ok(p) = &result {
                check_parsed(r, expected, p);
            }
        }
        "WithName" => {
            let result = ParsedReference::parse(input);
            let name_only = matches!(&result, Ok(p) if p.tag.is_none() && p.digest.is_none());
            r.eq(case, "validity (a name only)", name_only, valid);
            if let Err(err) = &result {
                if text(case, "error") == Some("ErrNameTooLong") {
                    r.expect(
                        case,
                        "error kind",
                        matches!(err.kind(), ReferenceErrorKind::NameTooLong(_)),
                        || format!("{:?}", err.kind()),
                    );
                }
            }
            if let Ok(p) = &result {
                check_parsed(r, case, p);
            }
        }
        "WithTag" | "WithDigest" => {
            let tag = text(case, "tag").or(text(case, "with_tag"));
            let digest = text(case, "digest").or(text(case, "with_digest"));
            let mut full = input.to_owned();
            if let Some(tag) = tag {
                full.push(':');
                full.push_str(tag);
            }
            if let Some(digest) = digest {
                full.push('@');
                full.push_str(digest);
            }
            // Upstream only checks digests loosely here; we need a full one.
            let valid = valid
                && match digest {
                    Some(d) => digest_ok(d),
                    None => true,
                };
            let result = ParsedReference::parse(&full);
            check_validity(r, case, &result, valid);
            if let (Ok(p), Some(string)) = (&result, text(case, "string")) {
                r.eq(case, "string", p.to_string().as_str(), string);
            }
        }
        "ParseNamed" => {
            // Canonical input only: the normalized name must be the input.
            let result = Reference::parse(input);
            let canonical = matches!(&result, Ok(n) if n.name() == input);
            r.eq(case, "validity (canonical name)", canonical, valid);
            if let Ok(n) = &result {
                check_normalized(r, case, n);
            }
        }
        "ParseNormalizedNamed" => {
            let result = Reference::parse(input);
            check_validity(r, case, &result, valid);
            if let Ok(n) = &result {
                check_normalized(r, case, n);
            }
        }
        "ParseAnyReference" => {
            if text(case, "kind") == Some("digest") {
                let spelled = if input.contains(':') {
                    input.to_owned()
                } else {
                    format!("sha256:{input}")
                };
                let digest = Digest::parse(&spelled).map(|d| d.to_string()).ok();
                r.eq(case, "digest", digest.as_deref(), text(case, "digest"));
                if !input.contains(':') {
                    // A bare id is refused as a reference, as by ParseNormalizedNamed.
                    r.eq(
                        case,
                        "bare id refused",
                        Reference::parse(input).is_ok(),
                        false,
                    );
                }
            } else {
                let result = Reference::parse(input);
                check_validity(r, case, &result, valid);
                if let Ok(n) = &result {
                    check_normalized(r, case, n);
                }
            }
        }
        "FamiliarMatch" => {
            let result = Reference::parse(input);
            check_validity(r, case, &result, valid);
            if let (Ok(n), Some(pattern)) = (&result, text(case, "pattern")) {
                // Upstream's familiar string has no default tag; match both
                // spellings as upstream matches string, then name.
                let familiar = n.familiar();
                let plain = familiar
                    .strip_suffix(":latest")
                    .filter(|_| !input.ends_with(":latest"));
                let matched = [
                    Some(familiar.as_str()),
                    plain,
                    Some(n.familiar_name().as_str()),
                ]
                .into_iter()
                .flatten()
                .any(|s| glob(pattern.as_bytes(), s.as_bytes()));
                r.eq(case, "match", Some(matched), case["match"].as_bool());
            }
        }
        "ParseDockerRef" => {
            let result = Reference::parse(input);
            check_validity(r, case, &result, valid);
            if let (Ok(n), Some(normalized)) = (&result, text(case, "normalized")) {
                let expected = match (n.tag(), n.digest()) {
                    // We keep the tag that ParseDockerRef drops.
                    (Some(tag), Some(_)) if !normalized.contains(&format!(":{tag}@")) => {
                        normalized.replacen('@', &format!(":{tag}@"), 1)
                    }
                    _ => normalized.to_owned(),
                };
                r.eq(case, "normalized", n.to_string(), expected);
            }
        }
        "regexp:domainAndPort" => {
            r.eq(case, "is_valid_domain", is_valid_domain(input), valid);
            let as_domain = ParsedReference::parse(&format!("{input}/repo"));
            let ours = matches!(&as_domain, Ok(p) if p.domain.as_deref() == Some(input));
            r.eq(case, "parsed as the domain of `<input>/repo`", ours, valid);
        }
        "regexp:anchoredNameRegexp" => {
            let result = ParsedReference::parse(input);
            let name_only = matches!(&result, Ok(p) if p.tag.is_none() && p.digest.is_none());
            r.eq(case, "validity (a name only)", name_only, valid);
            if let Ok(p) = &result {
                check_parsed(r, case, p);
            }
        }
        "regexp:referenceRegexp" => {
            let result = ParsedReference::parse(input);
            check_validity(r, case, &result, valid);
            if let Ok(p) = &result {
                check_parsed(r, case, p);
            }
        }
        "regexp:anchoredIdentifierRegexp" => {
            r.eq(
                case,
                "as a sha256 digest",
                digest_ok(&format!("sha256:{input}")),
                valid,
            );
        }
        other => {
            r.failures.push(format!(
                "{}: unknown function `{other}`",
                text(case, "id").unwrap_or("?")
            ));
            return;
        }
    }
    r.checked += 1;
}

#[test]
fn every_upstream_case_agrees() {
    let mut report = Report::default();
    let mut legacy = 0;
    for case in cases() {
        if text(&case, "function").is_some_and(|f| f.starts_with("legacy:")) {
            legacy += 1;
            continue;
        }
        check_case(&mut report, &case);
    }
    println!("skipped {legacy} legacy cases (old whole-name length rule)");
    report.finish("references.json", MIN_CASES);
}

/// The `library` block records what the real library returned for every
/// input under each entry point; check ours against it too.
#[test]
fn library_outputs_agree() {
    let mut report = Report::default();
    for case in cases() {
        if text(&case, "function").is_some_and(|f| f.starts_with("legacy:")) {
            continue;
        }
        let Some(library) = case.get("library") else {
            continue;
        };
        let input = text(&case, "input").unwrap_or_default();
        let main = &case["library_with_go_digest_main"];
        let pick = |api: &str| -> Value {
            // We accept sha512 like go-digest main does.
            if main[api].is_object() && input.contains("@sha512:") {
                main[api].clone()
            } else {
                library[api].clone()
            }
        };

        let parse = pick("Parse");
        if parse.is_object() {
            let ok = parse["ok"].as_bool() == Some(true);
            let result = ParsedReference::parse(input);
            check_validity(&mut report, &case, &result, ok);
            if let Ok(p) = &result {
                check_parsed(&mut report, &parse, p);
            }
        }

        let normalized = pick("ParseNormalizedNamed");
        let ours = Reference::parse(input);
        if normalized.is_object() {
            let ok = normalized["ok"].as_bool() == Some(true);
            check_validity(&mut report, &case, &ours, ok);
            if let Ok(n) = &ours {
                let mut expected = normalized.clone();
                if let Some(s) = expected.get("string").cloned() {
                    expected["normalized"] = s;
                }
                check_normalized(&mut report, &expected, n);
            }
        }

        let docker_ref = pick("ParseDockerRef");
        if let (Ok(n), Some(string)) = (&ours, text(&docker_ref, "string")) {
            let expected = match (n.tag(), n.digest()) {
                (Some(tag), Some(_)) if !string.contains(&format!(":{tag}@")) => {
                    string.replacen('@', &format!(":{tag}@"), 1)
                }
                _ => string.to_owned(),
            };
            report.eq(&case, "ParseDockerRef string", n.to_string(), expected);
        }
        report.checked += 1;
    }
    report.finish("references.json library outputs", MIN_CASES);
}

#[test]
fn glob_behaves_like_go_path_match() {
    assert!(glob(b"foo/**/ba[rz]", b"foo/a/bar"));
    assert!(!glob(b"foo/**/ba[rz]", b"foo/any/bat"));
    assert!(!glob(b"*", b"a/b"));
    assert!(glob(b"*/foo", b"example.com/foo"));
}
