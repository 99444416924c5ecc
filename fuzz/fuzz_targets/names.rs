//! Filenames (`gateway::gateway::names`): the validator for names a user chooses and the generator of
//! unique names.
//!
//! Input: 8 bytes of time, then a prefix and a file path separated by a NUL (either may be absent).
//! Properties:
//! - `validate` accepts exactly the gateway-safe names: 1 to 78 characters of `A-Z a-z 0-9 _ . -`, not
//!   starting with `.` or `-`; a refusal is `InvalidFilename` and names the name;
//! - `generate_at` always gives a name `validate` accepts, for any prefix, path and time: at most 78
//!   characters, with the time stamp `-YYYYMMDDThhmmssmmmZ-`, the file's extension when it is safe and short,
//!   and a safe prefix when one is given; two names generated at the same millisecond differ.

#![no_main]

use gateway::gateway::names::{generate_at, validate, MAX_NAME_LEN};
use gateway::ErrorKind;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use time::OffsetDateTime;

fn safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The rule, written out independently of the code under test.
fn gateway_safe(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_NAME_LEN
        && name.chars().all(safe)
        && !name.starts_with(['.', '-'])
}

fn time_from(bytes: [u8; 8]) -> OffsetDateTime {
    // Any instant from year -9999 to 9999, to the nanosecond (what `time` represents).
    let min = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp_nanos();
    let max = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MAX).unix_timestamp_nanos();
    let span = (max - min) as u128;
    let offset = (u64::from_le_bytes(bytes) as u128 * 1_000_003) % span;
    OffsetDateTime::from_unix_timestamp_nanos(min + offset as i128).expect("in range")
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let now = time_from(data[..8].try_into().unwrap());
    let text = String::from_utf8_lossy(&data[8..]);
    let (prefix, path) = match text.split_once('\0') {
        Some((p, f)) => (Some(p), Some(f)),
        None => (Some(text.as_ref()).filter(|t| !t.is_empty()), None),
    };

    // The validator, on the raw text and on both parts.
    for candidate in [text.as_ref(), prefix.unwrap_or(""), path.unwrap_or("")] {
        match validate(candidate) {
            Ok(()) => assert!(gateway_safe(candidate), "validate accepts {candidate:?}"),
            Err(error) => {
                assert!(!gateway_safe(candidate), "validate refuses the safe name {candidate:?}: {error}");
                assert_eq!(error.kind(), ErrorKind::InvalidFilename);
                assert!(error.message().contains(&format!("{candidate:?}")), "{error}");
            }
        }
    }

    let file = path.map(Path::new);
    let name = generate_at(prefix, file, now);
    validate(&name).unwrap_or_else(|e| panic!("generated {name:?} (prefix {prefix:?}, file {path:?}): {e}"));
    assert!(name.len() <= MAX_NAME_LEN);
    if now.year() >= 0 {
        let stamp = format!(
            "-{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z-",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.millisecond()
        );
        assert!(name.contains(&stamp), "{name:?} lacks the time stamp {stamp}");
    }
    if let Some(extension) = file.and_then(Path::extension).and_then(|e| e.to_str()) {
        if !extension.is_empty() && extension.len() <= 10 && extension.chars().all(safe) {
            assert!(name.ends_with(&format!(".{extension}")), "{name:?} lost the extension {extension:?}");
        }
    }
    if let Some(prefix) = prefix {
        let plain = !prefix.is_empty()
            && prefix.len() <= 20
            && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !prefix.contains("__");
        if plain {
            assert!(name.starts_with(&format!("{prefix}-")), "{name:?} does not start with the prefix {prefix:?}");
        }
    }
    assert_ne!(name, generate_at(prefix, file, now), "two names at the same millisecond are equal");
});
