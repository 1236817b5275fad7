//! What a site name or meeting title may contain, and when two names look the same.
//!
//! Decision: characters a reader cannot see are **refused**, not stripped, with the code
//! point and its position, so whoever typed or imported the name learns what is in it:
//! control characters (`char::is_control`) and format characters (Unicode category Cf:
//! zero-width spaces and joiners U+200B..U+200F, bidirectional embeddings and overrides
//! U+202A..U+202E and isolates U+2066..U+2069, U+FEFF, the soft hyphen, ...). A right-to-left
//! override can make "Xã A" display as another name; a zero-width space makes two names
//! that look identical compare different.
//!
//! Look-alikes: two names of one meeting whose [`skeleton`]s are equal are refused when the
//! meeting is created ("site 2 name ... looks the same as site 1 ..."), so the chair never
//! sees two sites it cannot tell apart. The skeleton is NFKC (full-width and compatibility
//! forms, composed and decomposed Vietnamese letters), lower case, single spaces, and
//! Cyrillic and Greek letters that look Latin mapped to the Latin letter.

use unicode_normalization::UnicodeNormalization;

/// The Unicode format characters (category Cf, Unicode 15) of the Basic Multilingual Plane,
/// as inclusive ranges. The astral ones (tags U+E0020.., musical and hieroglyph format
/// controls) are left out: the OpenAPI pattern states the same rule, and a JSON Schema
/// pattern cannot name astral characters portably.
pub const FORMAT_RANGES: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
];

/// [`FORMAT_RANGES`] as the inside of a regular-expression character class.
pub fn format_class() -> String {
    FORMAT_RANGES
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                format!("\\u{:04x}", u32::from(lo))
            } else {
                format!("\\u{:04x}-\\u{:04x}", u32::from(lo), u32::from(hi))
            }
        })
        .collect()
}

/// A format (Cf) character: invisible, or changing how the text around it is shown.
pub fn is_format(c: char) -> bool {
    FORMAT_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// The first character a name or title must not contain: (1-based position, character,
/// what it is).
pub fn forbidden(text: &str) -> Option<(usize, char, &'static str)> {
    text.chars().enumerate().find_map(|(i, c)| {
        if c.is_control() {
            Some((i + 1, c, "a control character"))
        } else if is_format(c) {
            Some((i + 1, c, "an invisible or direction-changing character"))
        } else {
            None
        }
    })
}

/// Why `text` is refused, for an error message: `"contains U+202E (an invisible or
/// direction-changing character) at character 3"`.
pub fn refusal(text: &str) -> Option<String> {
    forbidden(text)
        .map(|(at, c, what)| format!("contains U+{:04X} ({what}) at character {at}", u32::from(c)))
}

/// What a name looks like, for comparing names: equal skeletons cannot be told apart.
pub fn skeleton(name: &str) -> String {
    let folded: String = name
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(latin_look_alike)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cyrillic and Greek lower-case letters drawn like a Latin letter, mapped to it.
fn latin_look_alike(c: char) -> char {
    match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ε' => 'e',
        'һ' => 'h',
        'і' | 'ι' | 'ӏ' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'н' | 'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' | 'ս' => 'u',
        'ν' => 'v',
        'ԝ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_direction_changing_characters_are_found_with_their_position() {
        for (text, code) in [
            ("Xã\u{200B} A", 0x200B),
            ("Xã \u{202E}A", 0x202E),
            ("\u{2066}Xã A", 0x2066),
            ("Xã A\u{FEFF}", 0xFEFF),
            ("Xã\u{00AD}A", 0x00AD),
            ("Xã\u{200D}A", 0x200D),
        ] {
            let (_, c, what) = forbidden(text).unwrap_or_else(|| panic!("{text:?}"));
            assert_eq!(u32::from(c), code);
            assert_eq!(what, "an invisible or direction-changing character");
        }
        assert_eq!(
            refusal("Xã \u{202E}A").unwrap(),
            "contains U+202E (an invisible or direction-changing character) at character 4"
        );
        assert_eq!(
            refusal("Giao\u{7}ban").unwrap(),
            "contains U+0007 (a control character) at character 5"
        );
        assert_eq!(refusal("Xã Đông Hòa, Phú Yên"), None);
    }

    #[test]
    fn names_that_look_the_same_have_one_skeleton() {
        let nfc = "Xã Hòa";
        let nfd = "Xa\u{0303} Ho\u{0300}a";
        assert_ne!(nfc, nfd);
        assert_eq!(skeleton(nfc), skeleton(nfd));
        assert_eq!(skeleton("XÃ  HÒA "), skeleton(nfc), "case and spaces");
        assert_eq!(skeleton("Xã Hòа"), skeleton(nfc), "a Cyrillic а");
        assert_eq!(skeleton("Ｘã Hòa"), skeleton(nfc), "a full-width X");
        assert_ne!(skeleton("Xã Hòa"), skeleton("Xã Hoà Bình"));
    }
}
