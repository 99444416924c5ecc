//! The OCES certificate: loading (PKCS#12, PEM), the gateway user name it implies, export for registration.
//!
//! An [`Identity`] is a client certificate with its private key and chain. It is read from
//! - a PKCS#12 file (.p12/.pfx), in any of the encodings seen in the field (see `pkcs12.rs`), or
//! - PEM: certificate(s) and a private key in PKCS#8, PKCS#1 (RSA) or SEC1 (EC) form, in one file or two.
//!
//! Loading checks that the private key belongs to the certificate, so a mismatch is reported here, naming the
//! files, rather than as a TLS failure at the gateway.

mod ber;
mod export;
mod info;
mod oces;
mod pem;
mod pkcs12;

pub use info::{CertificateInfo, Validity};
pub use oces::CertificateKind;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::path::{Path, PathBuf};
use x509_parser::prelude::{FromDer, X509Certificate};
use zeroize::Zeroizing;

/// What the gateway needs, said once for every message about a certificate of the wrong kind.
const GATEWAY_KINDS: &str = "the gateway needs a company (VOCES), employee (MOCES) or function (FOCES) \
    certificate, or an OCES3 organisation/employee certificate; if your certificate is right, give the user name \
    explicitly with --username";

/// How a certificate file is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateFileFormat {
    /// PKCS#12 (.p12/.pfx): needs a password.
    Pkcs12,
    /// PEM text: certificate(s), maybe the private key too.
    Pem,
}

/// A client certificate with its private key and chain, and what the gateway reads from it.
/// `Send + Sync`; share it as `Arc<Identity>` or clone it (the key copy is wiped on drop too).
#[derive(Clone)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyMaterial,
    info: CertificateInfo,
}

/// The private key, kept in memory that is wiped when the identity is dropped.
#[derive(Clone)]
struct PrivateKeyMaterial {
    der: Zeroizing<Vec<u8>>,
    form: KeyForm,
}

#[derive(Clone, Copy)]
enum KeyForm {
    Pkcs8,
    Pkcs1,
    Sec1,
}

impl PrivateKeyMaterial {
    fn from_der(key: &PrivateKeyDer<'_>) -> Option<Self> {
        let form = match key {
            PrivateKeyDer::Pkcs8(_) => KeyForm::Pkcs8,
            PrivateKeyDer::Pkcs1(_) => KeyForm::Pkcs1,
            PrivateKeyDer::Sec1(_) => KeyForm::Sec1,
            _ => return None,
        };
        Some(PrivateKeyMaterial { der: Zeroizing::new(key.secret_der().to_vec()), form })
    }

    fn to_der(&self) -> PrivateKeyDer<'static> {
        let der = self.der.to_vec();
        match self.form {
            KeyForm::Pkcs8 => PrivateKeyDer::Pkcs8(der.into()),
            KeyForm::Pkcs1 => PrivateKeyDer::Pkcs1(der.into()),
            KeyForm::Sec1 => PrivateKeyDer::Sec1(der.into()),
        }
    }
}

impl Identity {
    /// Reads a certificate file, PKCS#12 or PEM (detected from the content, not the name). A PKCS#12 file
    /// needs `password`; a PEM file must hold the private key too (else use [`Identity::from_pem_files`]).
    pub fn from_file(path: impl AsRef<Path>, password: Option<&Secret>) -> Result<Identity> {
        let path = path.as_ref();
        let origin = describe(path);
        let bytes = read_certificate_file(path)?;
        match detect_format(&bytes, &origin)? {
            CertificateFileFormat::Pem => Self::from_pem_parts(&bytes, &origin, None),
            CertificateFileFormat::Pkcs12 => match password {
                Some(password) => Self::from_pkcs12_named(&bytes, password, &origin),
                // Files exported with an empty password (`openssl pkcs12 -passout pass:`) open without one.
                None => Self::from_pkcs12_named(&bytes, &Secret::new(""), &origin).map_err(|e| {
                    if e.kind() == ErrorKind::CertificatePassword {
                        Error::new(
                            ErrorKind::CertificatePassword,
                            format!("{origin} is a PKCS#12 file and needs its password, but none was given"),
                        )
                    } else {
                        e
                    }
                }),
            },
        }
    }

    /// Reads PKCS#12 (.p12/.pfx) bytes.
    pub fn from_pkcs12(bytes: &[u8], password: &Secret) -> Result<Identity> {
        let origin = "the PKCS#12 data";
        if bytes.is_empty() {
            return Err(empty(origin));
        }
        Self::from_pkcs12_named(bytes, password, origin)
    }

    /// Reads PEM bytes: the certificate (leaf, maybe followed by intermediates) and the private key, either
    /// in `cert_pem` itself or in `key_pem`.
    pub fn from_pem(cert_pem: &[u8], key_pem: Option<&[u8]>) -> Result<Identity> {
        if cert_pem.is_empty() {
            return Err(empty("the PEM certificate data"));
        }
        let key = match key_pem {
            Some([]) => return Err(empty("the PEM key data")),
            Some(bytes) => Some((bytes, "the PEM key data")),
            None => None,
        };
        Self::from_pem_parts(cert_pem, "the PEM certificate data", key)
    }

    /// Reads PEM files: the certificate file and, if the key is not in it, the key file.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: Option<&Path>) -> Result<Identity> {
        let cert_origin = describe(cert.as_ref());
        let cert_bytes = read_certificate_file(cert.as_ref())?;
        let key_file = match key {
            Some(path) => Some((read_certificate_file(path)?, describe(path))),
            None => None,
        };
        Self::from_pem_parts(
            &cert_bytes,
            &cert_origin,
            key_file.as_ref().map(|(bytes, origin)| (bytes.as_slice(), origin.as_str())),
        )
    }

    /// The certificate chain, leaf first, as presented in the TLS handshake (without the root).
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// A copy of the private key for a TLS configuration.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        self.key.to_der()
    }

    /// What the gateway reads from the leaf certificate.
    pub fn info(&self) -> &CertificateInfo {
        &self.info
    }

    /// The kind of certificate (company, employee, function, OCES3, other).
    pub fn kind(&self) -> CertificateKind {
        self.info.kind
    }

    /// The gateway user name derived from the certificate (`CVR_<cvr>_UID_<uid>`, ...). An error of kind
    /// [`ErrorKind::NotAGatewayCertificate`] when the certificate is not one the gateway accepts.
    pub fn username(&self) -> Result<String> {
        self.info.username.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::NotAGatewayCertificate,
                format!("the certificate \"{}\" implies no gateway user name: {GATEWAY_KINDS}", self.info.subject),
            )
        })
    }

    /// An error unless the certificate is valid now, saying when it expired or becomes valid.
    pub fn ensure_currently_valid(&self) -> Result<()> {
        let info = &self.info;
        match info.validity() {
            Validity::Valid => Ok(()),
            Validity::Expired => Err(Error::new(
                ErrorKind::CertificateExpired,
                format!(
                    "the certificate \"{}\" expired on {}: renew it with the certificate issuer and register the \
                     new one with the agency",
                    info.subject,
                    export::date(info.not_after)
                ),
            )),
            Validity::NotYetValid => Err(Error::new(
                ErrorKind::CertificateNotYetValid,
                format!(
                    "the certificate \"{}\" is not valid until {}: wait until then, or check this computer's clock",
                    info.subject,
                    export::date(info.not_before)
                ),
            )),
        }
    }

    /// Writes the public certificate (leaf only, never the key) as `<dir>/<username>.pem`, the file the agency
    /// asks for at registration. The PEM is byte-for-byte what
    /// `openssl pkcs12 -nokeys -clcerts | openssl x509` writes. An existing file is replaced only when
    /// `overwrite` is true.
    pub fn export_public_pem(&self, dir: impl AsRef<Path>, overwrite: bool) -> Result<PathBuf> {
        let username = self.username()?;
        export::write_public_pem(&self.chain[0], dir.as_ref(), &username, overwrite)
    }

    /// As [`Identity::export_public_pem`], with the user name given explicitly (for certificates whose user
    /// name does not follow from the subject).
    pub fn export_public_pem_as(&self, dir: impl AsRef<Path>, username: &str, overwrite: bool) -> Result<PathBuf> {
        if !oces::is_acceptable_username(username) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "\"{username}\" cannot be a user name: use letters, digits, '_', '-' and '.' only, \
                     e.g. CVR_12345678_UID_9876543210"
                ),
            ));
        }
        export::write_public_pem(&self.chain[0], dir.as_ref(), username, overwrite)
    }

    /// The file [`Identity::export_public_pem`] (with the derived user name) or
    /// [`Identity::export_public_pem_as`] (with `username`) writes in `dir`, without writing it: for callers
    /// that must know the path's length before the export (the C face's string buffers).
    pub fn export_path(&self, dir: impl AsRef<Path>, username: Option<&str>) -> Result<PathBuf> {
        let username = match username {
            Some(name) => name.to_string(),
            None => self.username()?,
        };
        Ok(export::path_in(dir.as_ref(), &username))
    }

    /// The public certificate in PEM, as written by [`Identity::export_public_pem`].
    pub fn public_pem(&self) -> String {
        export::certificate_pem(&self.chain[0])
    }

    fn from_pkcs12_named(bytes: &[u8], password: &Secret, origin: &str) -> Result<Identity> {
        let contents = pkcs12::decode(bytes, password, origin)?;
        if contents.certificates.is_empty() {
            return Err(Error::new(
                ErrorKind::CertificateFormat,
                format!("{origin} holds no certificate: export the certificate together with its private key"),
            ));
        }
        if contents.keys.is_empty() {
            return Err(Error::new(
                ErrorKind::PrivateKeyMissing,
                format!(
                    "{origin} holds certificates but no private key: export it again including the private key \
                     (e.g. from the browser or certificate store: \"export with private key\")"
                ),
            ));
        }
        // The leaf is the certificate whose local key id matches a key's; failing that, whose public key does.
        let mut mismatch = None;
        for (key_der, key_id) in &contents.keys {
            let key = PrivateKeyDer::Pkcs8(key_der.to_vec().into());
            let by_id = key_id.as_ref().and_then(|id| {
                contents.certificate_key_ids.iter().position(|cert_id| cert_id.as_ref() == Some(id))
            });
            let leaf = match by_id {
                Some(index) => Some(index),
                None => contents.certificates.iter().position(|cert| matches!(key_matches(cert, &key), Ok(true))),
            };
            let Some(leaf) = leaf else { continue };
            match key_matches(&contents.certificates[leaf], &key) {
                Ok(true) => {
                    let chain = order_chain(leaf, &contents.certificates);
                    return Self::assemble(chain, &key, origin);
                }
                Ok(false) => mismatch = Some(leaf),
                Err(err) => return Err(err.context(origin)),
            }
        }
        let detail = match mismatch {
            Some(index) => format!(
                "the private key in {origin} does not belong to its certificate \"{}\"",
                subject_of(&contents.certificates[index])
            ),
            None => format!("the private key in {origin} belongs to none of its certificates"),
        };
        Err(Error::new(ErrorKind::PrivateKeyMismatch, format!("{detail}: export the certificate and key again")))
    }

    fn from_pem_parts(cert_bytes: &[u8], cert_origin: &str, key_input: Option<(&[u8], &str)>) -> Result<Identity> {
        let certs = pem::parse(cert_bytes, cert_origin)?;
        if certs.certificates.is_empty() {
            let message = if certs.keys.is_empty() {
                format!("{cert_origin} holds no certificate (no \"BEGIN CERTIFICATE\" section)")
            } else {
                format!("{cert_origin} holds a private key but no certificate: give the certificate file too")
            };
            return Err(Error::new(ErrorKind::CertificateFormat, message));
        }
        let (keys, key_origin) = match key_input {
            Some((bytes, origin)) => (pem::parse(bytes, origin)?.keys, origin.to_owned()),
            None => (certs.keys, cert_origin.to_owned()),
        };
        let Some(key) = keys.into_iter().next() else {
            let message = match key_input {
                Some(_) => format!("{key_origin} holds no private key (no \"BEGIN PRIVATE KEY\" section)"),
                None => format!(
                    "{cert_origin} holds no private key: give the key file too (--key), or use a PKCS#12 file"
                ),
            };
            return Err(Error::new(ErrorKind::PrivateKeyMissing, message));
        };
        let leaf = certs.certificates.iter().position(|cert| matches!(key_matches(cert, &key), Ok(true)));
        let Some(leaf) = leaf else {
            // Report the real reason: an unusable key, or one that belongs to another certificate.
            key_matches(&certs.certificates[0], &key).map_err(|err| err.context(&key_origin))?;
            return Err(Error::new(
                ErrorKind::PrivateKeyMismatch,
                format!(
                    "the private key in {key_origin} does not belong to the certificate \"{}\" in {cert_origin}: \
                     give the key that was created with this certificate",
                    subject_of(&certs.certificates[0])
                ),
            ));
        };
        let chain = order_chain(leaf, &certs.certificates);
        Self::assemble(chain, &key, cert_origin)
    }

    fn assemble(chain: Vec<CertificateDer<'static>>, key: &PrivateKeyDer<'_>, origin: &str) -> Result<Identity> {
        let info = CertificateInfo::from_der(&chain[0]).ok_or_else(|| {
            Error::new(ErrorKind::CertificateFormat, format!("the certificate in {origin} cannot be read as X.509"))
        })?;
        // TLS (webpki) accepts only version 3 certificates; `openssl x509 -req` without extensions makes version 1
        // ones, which would otherwise fail only at login, with a message about the key.
        if let Ok((_, parsed)) = X509Certificate::from_der(&chain[0]) {
            if parsed.version() != x509_parser::x509::X509Version::V3 {
                return Err(Error::new(
                    ErrorKind::CertificateFormat,
                    format!(
                        "the certificate in {origin} is X.509 version {}, but TLS client certificates must be version 3; \
                         issue it with extensions (e.g. openssl x509 -req ... -extfile with basicConstraints and keyUsage)",
                        parsed.version().0 + 1
                    ),
                ));
            }
        }
        let key = PrivateKeyMaterial::from_der(key).ok_or_else(|| {
            Error::new(ErrorKind::CertificateFormat, format!("the private key in {origin} has an unknown form"))
        })?;
        Ok(Identity { chain, key, info })
    }
}

/// Entry points for the fuzz targets in `fuzz/` (built with `--cfg fuzzing`, as `cargo fuzz` does); not API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// The BER-to-DER rewrite of a PKCS#12 file: the whole file in DER, or why the structure is unreadable.
    pub fn normalise_pfx(bytes: &[u8]) -> Result<Vec<u8>, String> {
        super::ber::normalise_pfx(bytes).map(|n| n.der).map_err(|e| format!("{e:?}"))
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.info.subject)
            .field("kind", &self.info.kind)
            .field("username", &self.info.username)
            .field("chain_len", &self.chain.len())
            .field("private_key", &"***")
            .finish()
    }
}

/// Tells PKCS#12 from PEM by content. Errors for empty files and anything else, naming `origin`.
fn detect_format(bytes: &[u8], origin: &str) -> Result<CertificateFileFormat> {
    if bytes.is_empty() {
        return Err(empty(origin));
    }
    // Binary first: a PKCS#12 file can hold the text "-----BEGIN " (in a certificate, a name, encrypted
    // bytes), but a PEM file is never one ASN.1 element from its first byte to its last.
    let binary = bytes[0] == 0x30 && ber::is_one_element(bytes);
    if !binary && pem::looks_like_pem(bytes) {
        return Ok(CertificateFileFormat::Pem);
    }
    if bytes[0] == 0x30 {
        if X509Certificate::from_der(bytes).is_ok() {
            return Err(Error::new(
                ErrorKind::PrivateKeyMissing,
                format!(
                    "{origin} is a bare certificate (DER, .cer/.crt) without its private key: the gateway needs \
                     the certificate together with its key, as a PKCS#12 (.p12/.pfx) file or PEM certificate and key"
                ),
            ));
        }
        return Ok(CertificateFileFormat::Pkcs12);
    }
    let text = std::str::from_utf8(bytes).is_ok();
    Err(Error::new(
        ErrorKind::CertificateFormat,
        format!(
            "{origin} is neither a PKCS#12 (.p12/.pfx) nor a PEM certificate file ({}): give the certificate file \
             you received from the issuer",
            if text { "it is a text file without a \"-----BEGIN\" line" } else { "unknown binary content" }
        ),
    ))
}

/// How a certificate file is encoded (so a caller knows whether to ask for a password), with the same
/// errors as [`Identity::from_file`] for missing, unreadable, empty or unknown files.
pub fn certificate_file_format(path: impl AsRef<Path>) -> Result<CertificateFileFormat> {
    let path = path.as_ref();
    let bytes = read_certificate_file(path)?;
    detect_format(&bytes, &describe(path))
}

fn describe(path: &Path) -> String {
    format!("the certificate file {}", path.display())
}

fn empty(origin: &str) -> Error {
    Error::new(
        ErrorKind::CertificateFormat,
        format!("{origin} is empty (0 bytes): copy the certificate file again"),
    )
}

/// Certificate files are a few kilobytes; anything this large is the wrong file.
const MAX_CERTIFICATE_FILE_SIZE: u64 = 10 * 1024 * 1024;

fn read_certificate_file(path: &Path) -> Result<Vec<u8>> {
    let origin = describe(path);
    if path.is_dir() {
        return Err(Error::new(
            ErrorKind::CertificateFileUnreadable,
            format!("{origin} is a folder: give the path of the .p12/.pfx or .pem file"),
        ));
    }
    if let Ok(metadata) = std::fs::metadata(path) {
        if metadata.len() > MAX_CERTIFICATE_FILE_SIZE {
            return Err(Error::new(
                ErrorKind::CertificateFormat,
                format!(
                    "{origin} is {} bytes, far too large for a certificate file: give the .p12/.pfx or .pem file",
                    metadata.len()
                ),
            ));
        }
    }
    let bytes = std::fs::read(path).map_err(|err| {
        let why = match err.kind() {
            std::io::ErrorKind::NotFound => "does not exist: check the path".to_owned(),
            std::io::ErrorKind::PermissionDenied => {
                "cannot be read (permission denied): check the file's owner and permissions".to_owned()
            }
            _ => format!("cannot be read ({err})"),
        };
        Error::new(ErrorKind::CertificateFileUnreadable, format!("{origin} {why}")).with_source(err)
    })?;
    if bytes.is_empty() {
        return Err(empty(&origin));
    }
    Ok(bytes)
}

/// Whether `key` belongs to `cert`: the public key derived from the private key equals the certificate's.
/// Errors when the key cannot be used for TLS at all.
fn key_matches(cert: &CertificateDer<'static>, key: &PrivateKeyDer<'_>) -> Result<bool> {
    let signing_key = rustls::crypto::ring::sign::any_supported_type(key).map_err(|err| {
        Error::new(
            ErrorKind::CertificateFormat,
            format!(
                "the private key cannot be used for TLS ({err}): RSA (2048 bits or more), ECDSA P-256/P-384 or \
                 Ed25519 is needed"
            ),
        )
    })?;
    let Some(key_spki) = signing_key.public_key() else {
        // The key type cannot tell its public key: nothing to compare, the TLS handshake will tell.
        return Ok(true);
    };
    let Ok((_, parsed)) = X509Certificate::from_der(cert) else { return Ok(false) };
    Ok(key_spki.as_ref() == parsed.public_key().raw)
}

/// Leaf first, then each issuer found among the other certificates, leaving out a self-signed root
/// (the server has it; sending it only costs bytes).
fn order_chain(leaf: usize, certs: &[CertificateDer<'static>]) -> Vec<CertificateDer<'static>> {
    let parsed: Vec<Option<X509Certificate<'_>>> =
        certs.iter().map(|der| X509Certificate::from_der(der).ok().map(|(_, cert)| cert)).collect();
    let mut chain = vec![certs[leaf].clone()];
    let mut used = vec![leaf];
    let mut current = leaf;
    while let Some(Some(cert)) = parsed.get(current) {
        let issuer = cert.issuer().as_raw();
        let next = parsed.iter().enumerate().position(|(index, candidate)| {
            !used.contains(&index)
                && candidate.as_ref().is_some_and(|c| c.subject().as_raw() == issuer && c.issuer().as_raw() != c.subject().as_raw())
        });
        let Some(next) = next else { break };
        chain.push(certs[next].clone());
        used.push(next);
        current = next;
    }
    chain
}

fn subject_of(cert: &CertificateDer<'_>) -> String {
    X509Certificate::from_der(cert).map(|(_, c)| c.subject().to_string()).unwrap_or_else(|_| "?".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_files_holding_pem_markers_are_pkcs12() {
        // Caught by the detection property of fuzz/fuzz_targets/identity.rs (on a crafted input): a PKCS#12
        // file whose bytes contain "-----BEGIN " (there in an unencrypted certificate's signature) was read as
        // PEM and refused.
        let mut der = vec![0x30, 0x0d, 0x04, 0x0b];
        der.extend_from_slice(b"-----BEGIN ");
        assert_eq!(detect_format(&der, "f").unwrap(), CertificateFileFormat::Pkcs12);
        // Chunked (BER, indefinite length) too.
        let mut ber = vec![0x30, 0x80, 0x04, 0x0b];
        ber.extend_from_slice(b"-----BEGIN ");
        ber.extend_from_slice(&[0, 0]);
        assert_eq!(detect_format(&ber, "f").unwrap(), CertificateFileFormat::Pkcs12);
        // PEM stays PEM, also with text before it that starts like a SEQUENCE ('0' is 0x30).
        let pem = b"0 Bag Attributes\n-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
        assert_eq!(detect_format(pem, "f").unwrap(), CertificateFileFormat::Pem);
        assert_eq!(detect_format(&pem[2..], "f").unwrap(), CertificateFileFormat::Pem);
    }
}
