//! Code systems that are grammars rather than lists: BCP-47 language tags
//! (`urn:ietf:bcp:47`) and MIME types (`urn:ietf:bcp:13`). A code is valid
//! when it is well formed; such systems cannot be expanded.
//! <https://hl7.org/fhir/R4/terminologies-systems.html>

/// BCP-47 language tags.
pub const BCP47: &str = "urn:ietf:bcp:47";
/// MIME types.
pub const MIME: &str = "urn:ietf:bcp:13";

/// Whether `system` is one of the grammars held.
pub fn is_grammar(system: &str) -> bool {
    matches!(system, BCP47 | MIME)
}

/// Whether `code` is well formed in grammar `system`.
pub fn accepts(system: &str, code: &str) -> bool {
    match system {
        BCP47 => language_tag(code),
        MIME => mime_type(code),
        _ => false,
    }
}

/// A BCP-47 language tag (RFC 5646): language, then optional script, region,
/// variants, extensions and a private-use part; or a private-use tag alone.
fn language_tag(tag: &str) -> bool {
    let alpha = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
    };
    let alnum = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    let mut parts = tag.split('-').peekable();
    let Some(first) = parts.next() else {
        return false;
    };
    if first.eq_ignore_ascii_case("x") {
        return parts.next().is_some() && parts.all(|p| alnum(p, 1, 8));
    }
    if !alpha(first, 2, 8) {
        return false;
    }
    // Extended language subtags (`zh-yue`), at most three.
    let mut extlangs = 0;
    while parts
        .peek()
        .is_some_and(|p| alpha(p, 3, 3) && first.len() <= 3)
        && extlangs < 3
    {
        parts.next();
        extlangs += 1;
    }
    if parts.peek().is_some_and(|p| alpha(p, 4, 4)) {
        parts.next();
    }
    if parts
        .peek()
        .is_some_and(|p| alpha(p, 2, 2) || (p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit())))
    {
        parts.next();
    }
    while parts.peek().is_some_and(|p| {
        alnum(p, 5, 8) || (p.len() == 4 && p.as_bytes()[0].is_ascii_digit() && alnum(p, 4, 4))
    }) {
        parts.next();
    }
    // Extensions (`u-ca-gregory`) and private use (`x-…`).
    while let Some(singleton) = parts.next() {
        if singleton.len() != 1 || !singleton.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return false;
        }
        let private = singleton.eq_ignore_ascii_case("x");
        let (min, max) = if private { (1, 8) } else { (2, 8) };
        let mut any = false;
        while parts.peek().is_some_and(|p| p.len() > 1 || private) {
            let Some(p) = parts.next() else { break };
            if !alnum(p, min, max) {
                return false;
            }
            any = true;
        }
        if !any {
            return false;
        }
    }
    true
}

/// A MIME type: a registered top-level type, a subtype, and parameters; or
/// `xml`, `json` or `ttl`, the short forms R4 allows for FHIR's own formats.
fn mime_type(code: &str) -> bool {
    if matches!(code, "xml" | "json" | "ttl") {
        return true;
    }
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let mut parameters = code.split(';');
    let Some((kind, subtype)) = parameters.next().and_then(|t| t.trim().split_once('/')) else {
        return false;
    };
    let known = [
        "application",
        "audio",
        "font",
        "example",
        "image",
        "message",
        "model",
        "multipart",
        "text",
        "video",
    ];
    known.contains(&kind.to_ascii_lowercase().as_str())
        && token(subtype)
        && parameters.all(|p| {
            p.split_once('=')
                .is_some_and(|(n, v)| token(n.trim()) && !v.trim().is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::{accepts, BCP47, MIME};

    #[test]
    fn language_tags_and_mime_types_are_checked_by_their_grammar() {
        for good in [
            "en",
            "nb-NO",
            "nn",
            "zh-Hant-TW",
            "es-419",
            "de-CH-1996",
            "en-US-x-twain",
            "x-klingon",
        ] {
            assert!(accepts(BCP47, good), "{good}");
        }
        for bad in ["", "e", "english-language-tag", "nb_NO", "en-", "en-US-x"] {
            assert!(!accepts(BCP47, bad), "{bad}");
        }
        for good in [
            "application/fhir+json",
            "text/plain; charset=utf-8",
            "image/png",
        ] {
            assert!(accepts(MIME, good), "{good}");
        }
        assert!(accepts(MIME, "json"), "R4's short form");
        for bad in ["fhir+json", "banana/split", "text/", "text/plain; charset"] {
            assert!(!accepts(MIME, bad), "{bad}");
        }
    }
}
