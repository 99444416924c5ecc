//! Filenames are transaction ids: the gateway accepts each name once.
//!
//! Generated names are readable and unique: `<prefix>-<UTC time to the millisecond>-<random>.<ext>`, e.g.
//! `declaration-20261128T150140123Z-k3j9x2a8.xml`. They use only `[A-Za-z0-9_.-]` and stay within 78
//! characters, the strictest cap the agency publishes. Uniqueness across processes comes from the journal,
//! which reserves every name before its upload; the time and random parts only make clashes vanishingly rare.

use crate::error::{Error, ErrorKind, Result};
use rand::Rng;
use std::path::Path;
use time::OffsetDateTime;

/// The longest name the gateway's strictest services accept.
pub const MAX_NAME_LEN: usize = 78;

const RANDOM_LEN: usize = 8;
const MAX_EXTENSION_LEN: usize = 10;
const DEFAULT_PREFIX: &str = "sub";

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// Checks a name a user chose for a submission. The error says which rule it breaks.
pub fn validate(name: &str) -> Result<()> {
    let invalid = |why: String| {
        Err(Error::new(
            ErrorKind::InvalidFilename,
            format!(
                "the filename {name:?} cannot be used on the gateway: {why}. Use at most {MAX_NAME_LEN} of the \
                 characters A-Z a-z 0-9 _ . - (not starting with . or -), or leave the name out and let \
                 skat-gateway generate a unique one"
            ),
        ))
    };
    if name.is_empty() {
        return invalid("it is empty".into());
    }
    if let Some((position, c)) = name.char_indices().find(|&(_, c)| !allowed(c)) {
        return invalid(format!("character {c:?} at position {} is not allowed", position + 1));
    }
    if name.len() > MAX_NAME_LEN {
        return invalid(format!("it is {} characters long", name.len()));
    }
    if name.starts_with('.') || name.starts_with('-') {
        return invalid("it starts with a dot or a dash".into());
    }
    Ok(())
}

/// A new unique name for a file: the prefix (or the file's own name) made safe, the UTC time to the
/// millisecond, a random part, and the file's extension.
pub fn generate(prefix: Option<&str>, file: Option<&Path>) -> String {
    generate_at(prefix, file, OffsetDateTime::now_utc())
}

/// As [`generate`], at a given time (for tests and reproducible logs).
pub fn generate_at(prefix: Option<&str>, file: Option<&Path>, now: OffsetDateTime) -> String {
    let extension = file
        .and_then(|f| f.extension())
        .map(|e| sanitize(&e.to_string_lossy()))
        .filter(|e| !e.is_empty() && e.len() <= MAX_EXTENSION_LEN)
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let stem = match prefix {
        Some(p) => sanitize(p),
        None => file.and_then(|f| f.file_stem()).map(|s| sanitize(&s.to_string_lossy())).unwrap_or_default(),
    };
    let stem = stem.trim_start_matches(['.', '-']);
    let stem = if stem.is_empty() { DEFAULT_PREFIX } else { stem };

    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    );
    let mut rng = rand::rng();
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789"; // no look-alikes (l, 1, o, 0)
    let random: String = (0..RANDOM_LEN).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();

    let fixed = 1 + stamp.len() + 1 + RANDOM_LEN + extension.len();
    let room = MAX_NAME_LEN.saturating_sub(fixed);
    let prefix: String = stem.chars().take(room).collect();
    let prefix = prefix.trim_end_matches(['.', '-']);
    let prefix = if prefix.is_empty() { DEFAULT_PREFIX } else { prefix };
    format!("{prefix}-{stamp}-{random}{extension}")
}

/// Spells the Danish, Nordic and German letters and the common accented ones the way Danes write them without
/// those letters (`æ` -> `ae`, `ø` -> `oe`, `å` -> `aa`, `é` -> `e`: `Ankomst Ærø.xml` gives `Ankomst_Aeroe`,
/// not `Ankomst_r_`), and replaces every other character the gateway might refuse by `_`, one `_` for a run of
/// them (safe characters, underscores included, stay as they are).
fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut replaced = false;
    for c in text.chars() {
        if let Some(ascii) = transliterate(c) {
            out.push_str(ascii);
            replaced = false;
        } else if allowed(c) {
            out.push(c);
            replaced = false;
        } else if !replaced {
            out.push('_');
            replaced = true;
        }
    }
    out
}

/// The ASCII spelling of a letter a declaration's file name commonly holds, if it is one.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'æ' => "ae",
        'Æ' => "Ae",
        'ø' | 'ö' | 'œ' => "oe",
        'Ø' | 'Ö' | 'Œ' => "Oe",
        'å' => "aa",
        'Å' => "Aa",
        'ä' => "ae",
        'Ä' => "Ae",
        'ü' => "ue",
        'Ü' => "Ue",
        'ß' => "ss",
        'á' | 'à' | 'â' | 'ã' => "a",
        'Á' | 'À' | 'Â' | 'Ã' => "A",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'É' | 'È' | 'Ê' | 'Ë' => "E",
        'í' | 'ì' | 'î' | 'ï' => "i",
        'Í' | 'Ì' | 'Î' | 'Ï' => "I",
        'ó' | 'ò' | 'ô' | 'õ' => "o",
        'Ó' | 'Ò' | 'Ô' | 'Õ' => "O",
        'ú' | 'ù' | 'û' => "u",
        'Ú' | 'Ù' | 'Û' => "U",
        'ý' | 'ÿ' => "y",
        'Ý' => "Y",
        'ç' => "c",
        'Ç' => "C",
        'ñ' => "n",
        'Ñ' => "N",
        'ð' => "d",
        'Ð' => "D",
        'þ' => "th",
        'Þ' => "Th",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use time::macros::datetime;

    #[test]
    fn generated_names_are_readable_safe_and_keep_the_extension() {
        let at = datetime!(2026-11-28 15:01:40.123 UTC);
        let name = generate_at(None, Some(Path::new("/data/Ankomst dekl#1.xml")), at);
        assert!(name.starts_with("Ankomst_dekl_1-20261128T150140123Z-"), "{name}");
        assert!(name.ends_with(".xml"), "{name}");
        assert_eq!(name.len(), "Ankomst_dekl_1-20261128T150140123Z-".len() + RANDOM_LEN + 4);
        validate(&name).unwrap();
        let name = generate_at(Some("ping"), None, at);
        assert!(name.starts_with("ping-20261128T150140123Z-"), "{name}");
        validate(&name).unwrap();
    }

    #[test]
    fn long_or_odd_input_still_gives_a_valid_name() {
        let long = "x".repeat(300);
        for (prefix, file) in [
            (None, format!("/tmp/{long}.xml")),
            (Some(".."), "a".to_string()),
            (None, "/tmp/.hidden".to_string()),
            (None, "/tmp/æøå.Æ¤".to_string()),
            (None, format!("/tmp/a.{long}")),
            (Some("---"), "x".into()),
        ] {
            let name = generate(prefix, Some(Path::new(&file)));
            assert!(name.len() <= MAX_NAME_LEN, "{name}");
            validate(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn danish_letters_are_spelled_out_not_dropped() {
        let at = datetime!(2026-11-28 15:01:40.123 UTC);
        let name = generate_at(None, Some(Path::new("/data/Ankomst Ærø-Åbenrå søndag.xml")), at);
        assert!(name.starts_with("Ankomst_Aeroe-Aabenraa_soendag-20261128T150140123Z-"), "{name}");
        validate(&name).unwrap();
        assert_eq!(sanitize("Müller Straße café"), "Mueller_Strasse_cafe");
        assert_eq!(sanitize("日本"), "_", "letters without a spelling become one underscore");
    }

    #[test]
    fn safe_characters_are_kept_as_they_are() {
        // Found by fuzzing (fuzz/fuzz_targets/names.rs): the extension "tar__gz" came out as "tar_gz".
        let at = datetime!(2026-11-28 15:01:40.123 UTC);
        let name = generate_at(None, Some(Path::new("/data/a__b.tar__gz")), at);
        assert!(name.starts_with("a__b-") && name.ends_with(".tar__gz"), "{name}");
        let name = generate_at(Some("x# #y"), None, at);
        assert!(name.starts_with("x_y-"), "{name}");
    }

    #[test]
    fn names_do_not_repeat() {
        let names: HashSet<String> = (0..10_000).map(|_| generate(Some("t"), None)).collect();
        assert_eq!(names.len(), 10_000);
    }

    #[test]
    fn user_names_are_checked_with_reasons() {
        validate("declaration_2026-11-28.xml").unwrap();
        validate(&"a".repeat(78)).unwrap();
        for (bad, why) in [
            ("", "empty"),
            ("a b.xml", "' ' at position 2"),
            ("dir/x.xml", "'/' at position 4"),
            ("æ.xml", "'æ' at position 1"),
            (".xml", "starts with a dot"),
            ("-x", "starts with a dot or a dash"),
        ] {
            let err = validate(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidFilename);
            assert!(err.message().contains(why), "{bad:?}: {}", err.message());
        }
        let err = validate(&"a".repeat(79)).unwrap_err();
        assert!(err.message().contains("79 characters long"));
    }
}
