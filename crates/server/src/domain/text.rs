//! Rules for text people see: what counts as empty, and what a name may
//! hold. A message of nothing but a zero-width space, a NUL byte or a
//! variation selector shows as nothing, so it is empty; a name that is only
//! such characters, or that carries a bidirectional override (which can make
//! `gpj.exe` read as `exe.jpg`), is refused.

/// True for characters that render as nothing on their own: white space,
/// control characters (Unicode category Cc), format characters (Cf: zero
/// width spaces and joiners, bidirectional marks, the byte-order mark, tag
/// characters …), variation selectors, and the few "filler" letters that
/// fonts draw blank.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace() || c.is_control() || is_format(c) || is_variation_selector(c) || is_filler(c)
}

/// A group description: trimmed, at most `max` characters, no control
/// characters but line breaks and tabs, no bidirectional overrides. Empty
/// (or only invisible characters) means "no description".
pub fn check_description(raw: &str, max: usize) -> Option<String> {
    let text = raw.trim();
    if is_blank(text) {
        return Some(String::new());
    }
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c);
    (text.chars().count() <= max && !text.chars().any(bad)).then(|| text.to_owned())
}

/// True when `text` holds nothing a reader could see.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(is_invisible)
}

/// Unicode general category Cf (Format), as of Unicode 16.
fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

fn is_variation_selector(c: char) -> bool {
    matches!(c as u32, 0x180B..=0x180D | 0x180F | 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

/// Letters that are drawn as blank space (Hangul fillers, the braille blank).
fn is_filler(c: char) -> bool {
    matches!(c as u32, 0x115F | 0x1160 | 0x2800 | 0x3164 | 0xFFA0)
}

/// Bidirectional embeddings, overrides and isolates: they reorder the text
/// around them, so a name holding one can pass for another.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c as u32, 0x202A..=0x202E | 0x2066..=0x2069)
}

/// Checks a name shown to other people (a group's, a device's): trimmed, 1
/// to `max` characters, something visible, no control characters and no
/// bidirectional controls. Returns it trimmed, or `None` when it breaks a
/// rule.
pub fn check_name(raw: &str, max: usize) -> Option<String> {
    let name = raw.trim();
    let ok = !is_blank(name)
        && name.chars().count() <= max
        && !name.chars().any(|c| c.is_control() || is_bidi_control(c));
    ok.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_text_is_blank() {
        for blank in [
            "",
            " \n\t",
            "\u{200B}",
            "\0",
            "\u{FEFF}\u{200D}",
            "\u{FE0F}",
            "\u{3164}",
            "\u{E0041}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for seen in ["a", "👍", "👨\u{200D}👩", "\u{200B}x", "ok\u{FE0F}"] {
            assert!(!is_blank(seen), "{seen:?}");
        }
    }

    #[test]
    fn names_need_something_visible_and_no_reordering() {
        assert_eq!(
            check_name("  book club ", 128).as_deref(),
            Some("book club")
        );
        assert_eq!(
            check_name("שלום", 128).as_deref(),
            Some("שלום"),
            "right-to-left script is fine"
        );
        for bad in [
            "\u{200B}\u{200C}",
            "a\u{202E}exe.jpg",
            "x\u{2066}y",
            "tab\there",
            &"n".repeat(129),
        ] {
            assert!(check_name(bad, 128).is_none(), "{bad:?}");
        }
    }
}
