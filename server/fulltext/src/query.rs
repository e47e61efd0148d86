//! The `_text`/`_content` query language, turned into a tantivy query.
//!
//! Words are all required; `OR` between two words or phrases makes them alternatives (binding
//! tighter than the implicit `AND`, so `a b OR c` is `a AND (b OR c)`); `"quoted words"` are a
//! phrase; a trailing `*` makes a word (or the last word of a phrase) a prefix. `AND` is
//! accepted and changes nothing. Anything else is text: each word goes through the same
//! analyzer as the index, so punctuation separates words, and a word that the analyzer splits
//! (`covid-19`, `a:b`) must match as a phrase.
//!
//! This small grammar replaces tantivy's `QueryParser` on purpose: that one treats `:` as a
//! field, `-`, `+`, `^`, `[` … as operators, and needs regexes on unanalysed text for `diab*`.
//! Here every string is a valid query, so nothing can fail on what the user typed.

use tantivy::query::{BooleanQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, TermQuery};
use tantivy::schema::{self, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Term;

/// How many indexed words a prefix may stand for; past that the rarest are left out.
const PREFIX_EXPANSIONS: u32 = 1_000;

/// One piece of the query as typed, before analysis.
#[derive(Debug, PartialEq)]
enum Item<'q> {
    /// The `OR` operator.
    Or,
    /// A word or a quoted phrase; `prefix` when it ended in `*`.
    Text { text: &'q str, prefix: bool },
}

/// The query for `query` on `field`, or `None` when it holds no searchable word.
pub(crate) fn build(
    query: &str,
    field: schema::Field,
    analyzer: &mut TextAnalyzer,
) -> Option<Box<dyn Query>> {
    let mut groups: Vec<Vec<Box<dyn Query>>> = Vec::new();
    let mut or_pending = false;
    for item in lex(query) {
        match item {
            Item::Or => or_pending = true,
            Item::Text { text, prefix } => {
                let Some(leaf) = leaf(text, prefix, field, analyzer) else {
                    continue;
                };
                match groups.last_mut() {
                    Some(group) if or_pending => group.push(leaf),
                    _ => groups.push(vec![leaf]),
                }
                or_pending = false;
            }
        }
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = groups
        .into_iter()
        .map(|mut group| {
            let query = if group.len() == 1 {
                group.remove(0)
            } else {
                Box::new(BooleanQuery::union(group))
            };
            (Occur::Must, query)
        })
        .collect();
    match clauses.len() {
        0 => None,
        1 => clauses.pop().map(|(_, query)| query),
        _ => Some(Box::new(BooleanQuery::new(clauses))),
    }
}

/// Splits a query into words, quoted phrases and `OR`s.
fn lex(query: &str) -> Vec<Item<'_>> {
    let mut items = Vec::new();
    let mut rest = query.trim_start();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            // An unclosed quote runs to the end of the query.
            let end = quoted.find('"').unwrap_or(quoted.len());
            let after = quoted.get(end + 1..).unwrap_or("");
            let prefix = after.starts_with('*');
            items.push(Item::Text {
                text: &quoted[..end],
                prefix,
            });
            rest = after.trim_start_matches('*');
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            let word = &rest[..end];
            match word {
                "OR" => items.push(Item::Or),
                "AND" => {}
                _ => items.push(Item::Text {
                    text: word.trim_end_matches('*'),
                    prefix: word.ends_with('*'),
                }),
            }
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    items
}

/// The query for one word or phrase, or `None` when the analyzer finds no word in it.
fn leaf(
    text: &str,
    prefix: bool,
    field: schema::Field,
    analyzer: &mut TextAnalyzer,
) -> Option<Box<dyn Query>> {
    let mut terms: Vec<(usize, Term)> = Vec::new();
    analyzer.token_stream(text).process(&mut |token| {
        terms.push((token.position, Term::from_field_text(field, &token.text)));
    });
    match (terms.len(), prefix) {
        (0, _) => None,
        (1, false) => {
            let (_, term) = terms.remove(0);
            Some(Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)))
        }
        (_, true) => {
            let mut query = PhrasePrefixQuery::new_with_offset(terms);
            query.set_max_expansions(PREFIX_EXPANSIONS);
            Some(Box::new(query))
        }
        (_, false) => Some(Box::new(PhraseQuery::new_with_offset(terms))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_words_phrases_operators_and_prefixes() {
        let items = lex(r#"  diab* "type 2"* OR "heart attack" AND x"y  "#);
        assert_eq!(
            items,
            vec![
                Item::Text {
                    text: "diab",
                    prefix: true
                },
                Item::Text {
                    text: "type 2",
                    prefix: true
                },
                Item::Or,
                Item::Text {
                    text: "heart attack",
                    prefix: false
                },
                Item::Text {
                    text: "x",
                    prefix: false
                },
                Item::Text {
                    text: "y  ",
                    prefix: false
                },
            ]
        );
    }

    #[test]
    fn quoted_operators_are_words() {
        assert_eq!(
            lex(r#""OR" or"#),
            vec![
                Item::Text {
                    text: "OR",
                    prefix: false
                },
                Item::Text {
                    text: "or",
                    prefix: false
                },
            ]
        );
    }
}
