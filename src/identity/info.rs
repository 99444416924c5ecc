//! [`CertificateInfo`]: what a person or program wants to know about the client certificate.

use super::oces::{self, CertificateKind};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

/// serialNumber (2.5.4.5) and organizationIdentifier (2.5.4.97), the subject attributes OCES uses.
const OID_SERIAL_NUMBER: &str = "2.5.4.5";
const OID_ORGANIZATION_IDENTIFIER: &str = "2.5.4.97";

/// The leaf certificate as the gateway sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Company, employee, function (OCES II), organisation or employee (OCES3), or other.
    pub kind: CertificateKind,
    /// The company's CVR number (8 digits), when the subject names one.
    pub cvr: Option<String>,
    /// The certificate's UID, RID or FID (OCES II) or UUID (OCES3).
    pub id: Option<String>,
    /// The subject distinguished name, e.g. `C=DK, O=..., CN=... + serialNumber=CVR:...`.
    pub subject: String,
    /// The issuer distinguished name.
    pub issuer: String,
    /// The certificate serial number in upper-case hex (as `openssl x509 -serial` prints it).
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// SHA-256 of the certificate (DER), lower-case hex without separators.
    pub sha256: String,
    /// The gateway user name the subject implies, if it is a gateway kind.
    pub(crate) username: Option<String>,
}

/// Where a certificate stands in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    Valid,
    Expired,
    NotYetValid,
}

impl CertificateInfo {
    /// Reads a DER certificate. `None` when it is not an X.509 certificate.
    pub(crate) fn from_der(der: &[u8]) -> Option<CertificateInfo> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let mut serial_number = None;
        let mut organization_identifier = None;
        // serialNumber often shares a multi-valued RDN with CN, in either order: look at every attribute.
        for rdn in cert.subject().iter() {
            for attribute in rdn.iter() {
                let oid = attribute.attr_type().to_id_string();
                if oid == OID_SERIAL_NUMBER && serial_number.is_none() {
                    serial_number = attribute.as_str().ok().map(str::to_owned);
                } else if oid == OID_ORGANIZATION_IDENTIFIER && organization_identifier.is_none() {
                    organization_identifier = attribute.as_str().ok().map(str::to_owned);
                }
            }
        }
        let reading = oces::classify(serial_number.as_deref(), organization_identifier.as_deref());
        let validity = cert.validity();
        Some(CertificateInfo {
            kind: reading.kind,
            cvr: reading.cvr,
            id: reading.id,
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: serial_hex(cert.raw_serial()),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            sha256: hex::encode(Sha256::digest(der)),
            username: reading.username,
        })
    }

    /// The gateway user name the subject implies (`CVR_<cvr>_UID_<id>`, ...), if it is a gateway kind.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Where the certificate stands at `now`.
    pub fn validity_at(&self, now: OffsetDateTime) -> Validity {
        if now < self.not_before {
            Validity::NotYetValid
        } else if now > self.not_after {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }

    /// Where the certificate stands now.
    pub fn validity(&self) -> Validity {
        self.validity_at(OffsetDateTime::now_utc())
    }

    pub fn is_expired(&self) -> bool {
        self.validity() == Validity::Expired
    }

    pub fn is_not_yet_valid(&self) -> bool {
        self.validity() == Validity::NotYetValid
    }

    /// Whole days from now until expiry (negative once expired).
    pub fn days_until_expiry(&self) -> i64 {
        (self.not_after - OffsetDateTime::now_utc()).whole_days()
    }

    /// The SHA-256 fingerprint as `AB:CD:...`, the way openssl and most certificate viewers show it.
    pub fn sha256_colon_hex(&self) -> String {
        let upper = self.sha256.to_ascii_uppercase();
        let pairs: Vec<&str> = upper.as_bytes().chunks(2).filter_map(|pair| std::str::from_utf8(pair).ok()).collect();
        pairs.join(":")
    }
}

/// The serial number's value bytes in hex, without the sign octet DER may add.
fn serial_hex(raw: &[u8]) -> String {
    let mut bytes = raw;
    while bytes.len() > 1 && bytes[0] == 0 {
        bytes = &bytes[1..];
    }
    hex::encode_upper(bytes)
}
