//! PKCS#12 input (.p12/.pfx): OpenSSL 3 default files (AES-256/PBES2, HMAC-SHA256), OpenSSL `-legacy` files
//! (RC2-40/3DES, SHA-1 MAC) and BER-encoded files from Java tooling.
//!
//! `p12-keystore` decrypts and reads DER files and checks their MAC. BER files are first rewritten in DER
//! (see `ber.rs`), with the MAC checked here on the original bytes, since the rewrite changes what it covers.

use super::ber::{self, MacCheck, StructureError};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use p12_keystore::error::Error as P12Error;
use p12_keystore::Pkcs12Archive;
use rustls_pki_types::CertificateDer;
use zeroize::Zeroizing;

/// What a PKCS#12 file holds, decrypted.
pub(crate) struct Pkcs12Contents {
    /// Every certificate, in file order.
    pub certificates: Vec<CertificateDer<'static>>,
    /// Every private key, with the local key id that ties it to its certificate.
    pub keys: Vec<KeyBag>,
    /// Local key ids of the certificate bags, parallel to `certificates`.
    pub certificate_key_ids: Vec<Option<Vec<u8>>>,
}

/// A private key (PKCS#8 DER, as `openssl pkey` writes it) and its local key id, if any.
pub(crate) type KeyBag = (Zeroizing<Vec<u8>>, Option<Vec<u8>>);

/// Decrypts a PKCS#12 file. `origin` names the file for messages.
pub(crate) fn decode(bytes: &[u8], password: &Secret, origin: &str) -> Result<Pkcs12Contents> {
    let archive = match ber::normalise_pfx(bytes) {
        Ok(normalised) if normalised.der == bytes => read_archive(bytes, password, origin)?,
        Ok(normalised) => {
            log::debug!("{origin}: PKCS#12 in BER (as Java tooling writes it); rewriting it in DER");
            if let Some(mac) = &normalised.mac {
                match ber::verify_mac(mac, &normalised.mac_covered, password.expose()) {
                    MacCheck::Valid => {}
                    MacCheck::WrongPassword => return Err(wrong_password(origin)),
                    MacCheck::UnsupportedAlgorithm(oid) => {
                        return Err(Error::new(
                            ErrorKind::CertificateFormat,
                            format!(
                                "{origin} is protected by a MAC algorithm this program does not support ({oid}): \
                                 export the certificate again with a SHA-1 or SHA-256 MAC"
                            ),
                        ))
                    }
                    MacCheck::BadParameters(what) => {
                        return Err(Error::new(
                            ErrorKind::CertificateFormat,
                            format!("{origin} has unusable MAC parameters ({what}): export the certificate again"),
                        ))
                    }
                }
            }
            read_archive(&normalised.der_without_mac, password, origin)?
        }
        // The structure walk is stricter than the reader in places; let the reader have its say before
        // reporting the walk's finding, which names the problem better than a DER error would.
        Err(structure_error) => match Pkcs12Archive::from_pkcs12(bytes, password.expose()) {
            Ok(archive) => archive,
            Err(P12Error::MacError(_)) => return Err(wrong_password(origin)),
            Err(_) => return Err(structure_problem(bytes, origin, structure_error)),
        },
    };

    let mut contents =
        Pkcs12Contents { certificates: Vec::new(), keys: Vec::new(), certificate_key_ids: Vec::new() };
    for bag in archive.certs {
        contents.certificates.push(CertificateDer::from(bag.cert.as_der().to_vec()));
        contents.certificate_key_ids.push(bag.local_key_id);
    }
    for bag in archive.keys {
        let id = bag.local_key_id.map(|id| id.as_ref().to_vec());
        let key = ber::canonical_pkcs8(bag.key.as_der()).unwrap_or_else(|| bag.key.as_der().to_vec());
        contents.keys.push((Zeroizing::new(key), id));
    }
    Ok(contents)
}

fn read_archive(der: &[u8], password: &Secret, origin: &str) -> Result<Pkcs12Archive> {
    Pkcs12Archive::from_pkcs12(der, password.expose()).map_err(|err| match err {
        P12Error::MacError(_) => wrong_password(origin),
        // Without a MAC a wrong password shows up as garbage after decryption.
        P12Error::UnpadError => wrong_password(origin),
        P12Error::UnsupportedEncryptionScheme | P12Error::UnsupportedMacAlgorithm => Error::new(
            ErrorKind::CertificateFormat,
            format!(
                "{origin} uses an encryption or MAC algorithm this program does not support: export it again \
                 with OpenSSL (`openssl pkcs12 -export`, AES-256 and SHA-256 by default)"
            ),
        ),
        other => Error::new(
            ErrorKind::CertificateFormat,
            format!("{origin} is a damaged PKCS#12 file ({other}): export the certificate again"),
        ),
    })
}

pub(crate) fn wrong_password(origin: &str) -> Error {
    Error::new(
        ErrorKind::CertificatePassword,
        format!(
            "wrong password for {origin}: the PKCS#12 integrity check failed with the password given; use the \
             password that came with the certificate (mind trailing spaces and keyboard layout)"
        ),
    )
}

fn structure_problem(bytes: &[u8], origin: &str, err: StructureError) -> Error {
    let message = match err {
        StructureError::Truncated => format!(
            "{origin} is truncated ({} bytes, the PKCS#12 structure says it should be longer): copy the file \
             again, in binary mode",
            bytes.len()
        ),
        StructureError::TrailingData => format!(
            "{origin} has extra bytes after the end of the PKCS#12 structure (damaged or two files joined): \
             copy the file again, in binary mode"
        ),
        StructureError::Malformed(what) => {
            format!("{origin} is not a readable PKCS#12 file ({what}): check that it is the .p12/.pfx file")
        }
    };
    Error::new(ErrorKind::CertificateFormat, message)
}
