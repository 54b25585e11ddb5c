//! What a search query means, the same for every backend: the words a
//! user typed, never operators. A backend turns [`Term`]s into its own
//! query language; the server marks the same terms in the results.
//!
//! - A word is a maximal run of letters and digits (anything else, quotes,
//!   `*`, `-` and the like included, only separates words).
//! - Text written without spaces (Chinese, Japanese, Korean) is matched
//!   character by character: a run of such characters is a phrase of its
//!   characters, found wherever they stand in that order.
//! - The last word also matches as a prefix (search as you type), unless
//!   the query ends with a space.

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most terms one query may have.
pub const MAX_TERMS: usize = 32;

/// One thing every hit must contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A word (as typed); `prefix` when it may be the start of a longer one.
    Word {
        /// The word.
        text: String,
        /// Matches words that start with it too.
        prefix: bool,
    },
    /// Characters of a script written without spaces, in this order.
    Characters(Vec<char>),
}

/// Whether `c` belongs to a script written without spaces between words:
/// CJK ideographs, kana, Hangul, and their compatibility forms.
pub fn spaceless(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana phonetic extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x3134F) // CJK extensions B to G
}

/// The terms of a query (empty when it has no letters or digits).
pub fn parse(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut word = String::new();
    let mut chars: Vec<char> = Vec::new();
    let flush_word = |word: &mut String, terms: &mut Vec<Term>| {
        if !word.is_empty() {
            terms.push(Term::Word {
                text: std::mem::take(word),
                prefix: false,
            });
        }
    };
    let flush_chars = |chars: &mut Vec<char>, terms: &mut Vec<Term>| {
        if !chars.is_empty() {
            terms.push(Term::Characters(std::mem::take(chars)));
        }
    };
    for c in query.chars() {
        if spaceless(c) {
            flush_word(&mut word, &mut terms);
            chars.push(c);
        } else if c.is_alphanumeric() {
            flush_chars(&mut chars, &mut terms);
            word.push(c);
        } else {
            flush_word(&mut word, &mut terms);
            flush_chars(&mut chars, &mut terms);
        }
    }
    let open_ended = !word.is_empty();
    flush_word(&mut word, &mut terms);
    flush_chars(&mut chars, &mut terms);
    if open_ended && let Some(Term::Word { prefix, .. }) = terms.last_mut() {
        *prefix = true;
    }
    terms.truncate(MAX_TERMS);
    terms
}

/// Text as a word-based index should see it: each character of a
/// spaceless script stands alone, so it can be found inside a run.
pub fn spaced(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(spaceless) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for c in text.chars() {
        if spaceless(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(t: &str, prefix: bool) -> Term {
        Term::Word {
            text: t.into(),
            prefix,
        }
    }

    #[test]
    fn words_are_runs_of_letters_and_digits_and_nothing_is_an_operator() {
        assert_eq!(
            parse(r#"Café "NEAR" -x* OR b2b"#),
            vec![
                word("Café", false),
                word("NEAR", false),
                word("x", false),
                word("OR", false),
                word("b2b", true),
            ]
        );
        assert_eq!(parse("meet "), vec![word("meet", false)]);
        assert!(parse(" \"*-^:() ").is_empty());
    }

    #[test]
    fn spaceless_scripts_become_character_phrases() {
        assert_eq!(
            parse("東京タワー tokyo"),
            vec![
                Term::Characters("東京タワー".chars().collect()),
                word("tokyo", true),
            ]
        );
        assert_eq!(
            parse("a漢字b"),
            vec![
                word("a", false),
                Term::Characters(vec!['漢', '字']),
                word("b", true),
            ]
        );
        assert_eq!(spaced("東京 ok"), " 東  京  ok");
        assert!(matches!(spaced("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn queries_keep_at_most_the_first_terms() {
        let q = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(parse(&q).len(), MAX_TERMS);
    }
}
