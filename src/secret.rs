//! Secrets (passwords) in memory: zeroed when dropped, never shown by `Debug` or `Display`.

use crate::error::{Error, ErrorKind, Result};
use std::fmt;
use std::path::Path;
use zeroize::Zeroizing;

/// A password or other secret text. `Debug` prints `Secret(***)`; the only way to the text is [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(Zeroizing::new(text.into()))
    }

    /// The secret text. Call sites are few and easy to audit: keep it that way.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a secret from a file that holds nothing else (a password file): one trailing line end
    /// (`\n` or `\r\n`, as editors and `echo` add) and a leading byte-order mark (as Notepad and PowerShell 5
    /// write) are removed, everything else is kept as written.
    /// An empty file is refused rather than taken as an empty password.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Secret> {
        let path = path.as_ref();
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|err| {
            let why = match err.kind() {
                std::io::ErrorKind::NotFound => "does not exist".to_owned(),
                std::io::ErrorKind::PermissionDenied => "cannot be read (permission denied)".to_owned(),
                _ => format!("cannot be read ({err})"),
            };
            Error::new(ErrorKind::Io, format!("the password file {} {why}", path.display())).with_source(err)
        })?);
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("the password file {} is not UTF-8 text: save it as UTF-8", path.display()),
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(text);
        if text.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("the password file {} is empty: write the password into it", path.display()),
            ));
        }
        Ok(Secret::new(text))
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret::new(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret::new(text)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_text() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn from_file_strips_one_line_end_and_refuses_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], Option<&str>); 7] = [
            (b"Test1234\n", Some("Test1234")),
            (b"Test1234\r\n", Some("Test1234")),
            (b"Test1234", Some("Test1234")),
            (b" pass word \n\n", Some(" pass word \n")),
            (b"", None),
            (b"\n", None),
            (b"\xff\xfe", None),
        ];
        for (index, (content, expected)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("pw{index}"));
            std::fs::write(&path, content).unwrap();
            match (Secret::from_file(&path), expected) {
                (Ok(secret), Some(expected)) => assert_eq!(secret.expose(), *expected),
                (Err(err), None) => {
                    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
                    assert!(err.message().contains(&path.display().to_string()), "{err}");
                }
                (other, _) => panic!("case {index}: unexpected {other:?}"),
            }
        }
        let missing = Secret::from_file(dir.path().join("nope")).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Io);
        assert!(missing.message().contains("does not exist"));
    }
}
