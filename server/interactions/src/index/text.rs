//! How string search compares text: case- and accent-insensitively, so
//! `name=eriksen` finds `Eriksén` and `ERIKSEN`.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// `text` in lower case with accents removed (canonical decomposition, then
/// combining marks dropped). Letters that are not accented forms, such as
/// `ø` and `æ`, stay as they are.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("Eriksén"), "eriksen");
        assert_eq!(fold("ÅSE"), "ase");
        assert_eq!(fold("Bjørn"), "bjørn");
        assert_eq!(fold("plain"), "plain");
    }
}
