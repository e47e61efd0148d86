//! The narrative of a resource as plain words: `text.div` XHTML without tags and entities.
//! <https://hl7.org/fhir/R4/narrative.html>
//!
//! This is a scanner, not an XML parser: narratives are validated on the way in, and the index
//! only needs the words, so malformed markup degrades to slightly different words, never to an
//! error.

use serde_json::Value;

/// The narrative text of a resource: its `text.div` XHTML with tags removed and entities
/// decoded, whitespace collapsed to single spaces. Empty when the resource has no narrative.
pub fn narrative(resource: &Value) -> String {
    resource
        .get("text")
        .and_then(|text| text.get("div"))
        .and_then(Value::as_str)
        .map(xhtml_text)
        .unwrap_or_default()
}

/// The words of an XHTML fragment: tags dropped, entities decoded, whitespace collapsed.
///
/// Block tags (`<p>`, `<td>`, `<br/>` …) separate words; inline tags (`<b>`, `<span>` …) do not,
/// so `<b>Å</b>lesund` stays one word.
pub(crate) fn xhtml_text(xhtml: &str) -> String {
    let mut out = String::with_capacity(xhtml.len());
    let mut rest = xhtml;
    while let Some(start) = rest.find(['<', '&']) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = if rest.starts_with('&') {
            entity(rest, &mut out)
        } else {
            markup(rest, &mut out)
        };
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Consumes the markup at the start of `rest` (which starts with `<`), writing what it stands
/// for to `out`; returns what follows it.
fn markup<'a>(rest: &'a str, out: &mut String) -> &'a str {
    if let Some(comment) = rest.strip_prefix("<!--") {
        out.push(' ');
        return comment.find("-->").map_or("", |end| &comment[end + 3..]);
    }
    if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
        let end = cdata.find("]]>").unwrap_or(cdata.len());
        out.push_str(&cdata[..end]);
        return cdata.get(end + 3..).unwrap_or("");
    }
    let starts_tag = rest[1..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || matches!(c, '/' | '!' | '?' | '_'));
    if !starts_tag {
        // A bare `<` is text (invalid XHTML, but the words around it still count).
        out.push('<');
        return &rest[1..];
    }
    let end = tag_end(rest);
    if !is_inline(tag_name(&rest[1..end])) {
        out.push(' ');
    }
    rest.get(end + 1..).unwrap_or("")
}

/// The byte index of the `>` closing the tag at the start of `tag`, skipping quoted attribute
/// values; the length of `tag` if it is never closed.
fn tag_end(tag: &str) -> usize {
    let mut quote = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    tag.len()
}

/// The local name of a tag from the text between `<` and `>`: `/xhtml:b ` gives `b`.
fn tag_name(inner: &str) -> &str {
    let inner = inner.trim_start_matches('/');
    let name = inner
        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .next()
        .unwrap_or("");
    name.rsplit(':').next().unwrap_or(name)
}

/// Whether a tag sits inside a word rather than between words.
fn is_inline(name: &str) -> bool {
    const INLINE: &[&str] = &[
        "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em",
        "font", "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong",
        "sub", "sup", "tt", "u", "var",
    ];
    INLINE
        .iter()
        .any(|inline| inline.eq_ignore_ascii_case(name))
}

/// Consumes the entity at the start of `rest` (which starts with `&`), writing its character
/// to `out`; an unknown or malformed one is kept as text. Returns what follows it.
fn entity<'a>(rest: &'a str, out: &mut String) -> &'a str {
    let after = &rest[1..];
    let decoded = after
        .find(';')
        .filter(|&end| end <= 32)
        .and_then(|end| Some((decode(&after[..end])?, end)));
    if let Some((c, end)) = decoded {
        out.push(c);
        &after[end + 1..]
    } else {
        out.push('&');
        after
    }
}

/// The character an entity name (between `&` and `;`) stands for.
fn decode(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).filter(|&c| c != '\0');
    }
    // XML's five, and the HTML ones narratives written by hand use most (Norwegian letters first).
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "aelig" => 'æ',
        "AElig" => 'Æ',
        "oslash" => 'ø',
        "Oslash" => 'Ø',
        "aring" => 'å',
        "Aring" => 'Å',
        "auml" => 'ä',
        "Auml" => 'Ä',
        "ouml" => 'ö',
        "Ouml" => 'Ö',
        "uuml" => 'ü',
        "Uuml" => 'Ü',
        "eacute" => 'é',
        "Eacute" => 'É',
        "szlig" => 'ß',
        "copy" => '©',
        "reg" => '®',
        "deg" => '°',
        "micro" => 'µ',
        "plusmn" => '±',
        "times" => '×',
        "middot" => '·',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "euro" => '€',
        _ => return None,
    };
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn div(xhtml: &str) -> String {
        narrative(
            &json!({"resourceType": "Patient", "text": {"status": "generated", "div": xhtml}}),
        )
    }

    #[test]
    fn tags_are_stripped_and_whitespace_collapsed() {
        let text = div(
            "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n  <p>Kari   <b>Nordmann</b></p>\n\t<table><tr><td>født</td><td>1980</td></tr></table></div>",
        );
        assert_eq!(text, "Kari Nordmann født 1980");
    }

    #[test]
    fn br_separates_words() {
        assert_eq!(
            div("<div>one<br/>two<br>three<br />four</div>"),
            "one two three four"
        );
    }

    #[test]
    fn inline_tags_do_not_split_words() {
        assert_eq!(
            div("<div><b>Å</b>lesund H<sub>2</sub>O</div>"),
            "Ålesund H2O"
        );
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            div("<div>A &amp; B &lt;3&gt; Bl&#229;b&#xE6;r &aring;s&nbsp;&quot;x&quot; &apos;y&apos;</div>"),
            "A & B <3> Blåbær ås \"x\" 'y'"
        );
    }

    #[test]
    fn unknown_and_malformed_entities_stay_text() {
        assert_eq!(
            div("<div>a &bogus; b & c &#xZZ; &#0;</div>"),
            "a &bogus; b & c &#xZZ; &#0;"
        );
    }

    #[test]
    fn quoted_gt_in_attributes_does_not_end_the_tag() {
        assert_eq!(
            div("<div><a title=\"a > b\" href='x>y'>link</a> text</div>"),
            "link text"
        );
    }

    #[test]
    fn comments_and_cdata() {
        assert_eq!(
            div("<div>before<!-- hidden <p> -->after <![CDATA[x &amp; <y>]]> end</div>"),
            "before after x &amp; <y> end"
        );
    }

    #[test]
    fn truncated_markup_does_not_panic() {
        for xhtml in [
            "<div",
            "<div>a<",
            "<div>a &amp",
            "<!-- x",
            "<![CDATA[x",
            "<a title=\"x>",
        ] {
            let _ = div(xhtml);
        }
        assert_eq!(div("a < b"), "a < b");
    }

    #[test]
    fn no_narrative_is_empty() {
        assert_eq!(narrative(&json!({"resourceType": "Patient"})), "");
        assert_eq!(narrative(&json!({"text": {"div": 3}})), "");
    }
}
