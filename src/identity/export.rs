//! Export of the public certificate for registration with the agency: `<username>.pem`.

use crate::error::{Error, ErrorKind, Result};
use rustls_pki_types::CertificateDer;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The certificate in PEM as `openssl x509` writes it: 64-column base64, LF line ends, final newline.
pub(crate) fn certificate_pem(cert: &CertificateDer<'_>) -> String {
    // Encoding fails only for labels that are not RFC 7468 labels; "CERTIFICATE" is one.
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, cert.as_ref()).unwrap_or_default()
}

/// The file an export writes: `<dir>/<username>.pem`, the name the agency asks for.
pub(crate) fn path_in(dir: &Path, username: &str) -> PathBuf {
    dir.join(format!("{username}.pem"))
}

pub(crate) fn write_public_pem(
    cert: &CertificateDer<'_>,
    dir: &Path,
    username: &str,
    overwrite: bool,
) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::Io,
            format!("cannot export the certificate: the folder {} does not exist; create it first", dir.display()),
        ));
    }
    let path = path_in(dir, username);
    let pem = certificate_pem(cert);
    let io_error = |err: std::io::Error| {
        Error::new(ErrorKind::Io, format!("cannot write {}: {err}", path.display())).with_source(err)
    };
    if overwrite {
        // Write beside it and rename, so a reader never sees half a file.
        let temporary = dir.join(format!(".{username}.pem.tmp"));
        std::fs::write(&temporary, pem.as_bytes()).map_err(io_error)?;
        std::fs::rename(&temporary, &path).map_err(|err| {
            let _ = std::fs::remove_file(&temporary);
            io_error(err)
        })?;
    } else {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::AlreadyExists {
                Error::new(
                    ErrorKind::Io,
                    format!(
                        "{} already exists and was left as it is: remove it, or ask for overwriting \
                         (skat-gateway identity export --force)",
                        path.display()
                    ),
                )
            } else {
                io_error(err)
            }
        })?;
        file.write_all(pem.as_bytes()).map_err(io_error)?;
    }
    Ok(path)
}

/// A date for messages: `2020-03-13`.
pub(crate) fn date(moment: OffsetDateTime) -> String {
    let date = moment.date();
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}
