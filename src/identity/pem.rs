//! PEM input: certificates and a private key (PKCS#8, PKCS#1 RSA or SEC1 EC), in one file or two.

use crate::error::{Error, ErrorKind, Result};
use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The sections of one PEM file that matter here.
pub(crate) struct PemContents {
    pub certificates: Vec<CertificateDer<'static>>,
    pub keys: Vec<PrivateKeyDer<'static>>,
}

/// Whether the bytes look like PEM text (a `-----BEGIN ` line, possibly after other text).
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|window| window == b"-----BEGIN ")
}

/// Reads every certificate and private key in `bytes`. `origin` names the file (or "the PEM data").
pub(crate) fn parse(bytes: &[u8], origin: &str) -> Result<PemContents> {
    if !looks_like_pem(bytes) {
        return Err(Error::new(
            ErrorKind::CertificateFormat,
            format!("{origin} is not PEM (no \"-----BEGIN\" line): give a PEM certificate file or a PKCS#12 (.p12/.pfx) file"),
        ));
    }
    let mut contents = PemContents { certificates: Vec::new(), keys: Vec::new() };
    for section in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes) {
        let (kind, der) = section.map_err(|err| damaged(origin, &err))?;
        match kind {
            SectionKind::Certificate => contents.certificates.push(CertificateDer::from(der)),
            SectionKind::PrivateKey => {
                let der = super::ber::canonical_pkcs8(&der).unwrap_or(der);
                contents.keys.push(PrivateKeyDer::Pkcs8(der.into()))
            }
            SectionKind::RsaPrivateKey => contents.keys.push(PrivateKeyDer::Pkcs1(der.into())),
            SectionKind::EcPrivateKey => contents.keys.push(PrivateKeyDer::Sec1(der.into())),
            _ => {}
        }
    }
    if contents.keys.is_empty() && has_encrypted_key(bytes) {
        return Err(Error::new(
            ErrorKind::CertificateFormat,
            format!(
                "the private key in {origin} is encrypted, which is not supported for PEM: decrypt it with \
                 `openssl pkey -in KEY.pem -out plain-key.pem` (keep that file private) or use a PKCS#12 file"
            ),
        ));
    }
    Ok(contents)
}

fn has_encrypted_key(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED")
}

fn damaged(origin: &str, err: &pem::Error) -> Error {
    let what = match err {
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line (the file is truncated)".to_owned(),
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".to_owned(),
        pem::Error::Base64Decode(_) => "a PEM section holds invalid base64 (the file is damaged)".to_owned(),
        other => format!("it cannot be read as PEM ({other})"),
    };
    Error::new(ErrorKind::CertificateFormat, format!("{origin} is damaged: {what}; export the certificate again"))
}
