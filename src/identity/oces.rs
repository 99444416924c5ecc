//! What the gateway reads from an OCES certificate's subject: the kind, the CVR number, the id and the user
//! name built from them.
//!
//! OCES II writes one subject attribute, serialNumber (2.5.4.5), as `CVR:<cvr>-UID:<id>` (company, VOCES),
//! `CVR:<cvr>-RID:<id>` (employee, MOCES) or `CVR:<cvr>-FID:<id>` (function, FOCES); the user name is
//! `CVR_<cvr>_UID_<id>` and so on. OCES3 writes serialNumber `UI:DK-O:G:<uuid>` (organisation) or
//! `UI:DK-E:G:<uuid>` (employee) and the CVR number in organizationIdentifier (2.5.4.97) as `NTRDK-<cvr>`;
//! the user name `CVR_<cvr>_UI_<uuid>` is inferred from the gateway's status files, so callers can always
//! give the user name explicitly instead.

use std::fmt;

/// The kinds of certificate, as far as the gateway cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertificateKind {
    /// OCES II company certificate (VOCES): `CVR_<cvr>_UID_<id>`.
    Company,
    /// OCES II employee certificate (MOCES): `CVR_<cvr>_RID_<id>`.
    Employee,
    /// OCES II function certificate (FOCES): `CVR_<cvr>_FID_<id>`.
    Function,
    /// OCES3 organisation certificate: `CVR_<cvr>_UI_<uuid>`.
    Oces3Organisation,
    /// OCES3 employee certificate: `CVR_<cvr>_UI_<uuid>`.
    Oces3Employee,
    /// Anything else (a personal certificate, a certificate without CVR number): no gateway user name.
    Other,
}

impl CertificateKind {
    /// A short stable name for machines (JSON, logs): `VOCES`, `MOCES`, `FOCES`, `OCES3-organisation`,
    /// `OCES3-employee`, `other`.
    pub fn code(self) -> &'static str {
        match self {
            CertificateKind::Company => "VOCES",
            CertificateKind::Employee => "MOCES",
            CertificateKind::Function => "FOCES",
            CertificateKind::Oces3Organisation => "OCES3-organisation",
            CertificateKind::Oces3Employee => "OCES3-employee",
            CertificateKind::Other => "other",
        }
    }

    /// Whether the gateway accepts this kind (and so a user name follows from the certificate).
    pub fn is_gateway_kind(self) -> bool {
        self != CertificateKind::Other
    }
}

impl fmt::Display for CertificateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertificateKind::Company => "company certificate (OCES II VOCES)",
            CertificateKind::Employee => "employee certificate (OCES II MOCES)",
            CertificateKind::Function => "function certificate (OCES II FOCES)",
            CertificateKind::Oces3Organisation => "organisation certificate (OCES3)",
            CertificateKind::Oces3Employee => "employee certificate (OCES3)",
            CertificateKind::Other => "not a company, employee or function certificate",
        })
    }
}

/// The gateway-relevant reading of a subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OcesSubject {
    pub kind: CertificateKind,
    pub cvr: Option<String>,
    pub id: Option<String>,
    pub username: Option<String>,
}

impl OcesSubject {
    fn other(cvr: Option<String>) -> Self {
        OcesSubject { kind: CertificateKind::Other, cvr, id: None, username: None }
    }
}

/// Reads the subject's serialNumber and organizationIdentifier values (either may be absent).
pub(crate) fn classify(serial_number: Option<&str>, organization_identifier: Option<&str>) -> OcesSubject {
    let oces3_cvr = organization_identifier.and_then(|value| value.trim().strip_prefix("NTRDK-")).filter(|c| is_cvr(c));
    let Some(serial_number) = serial_number.map(str::trim) else {
        return OcesSubject::other(oces3_cvr.map(str::to_owned));
    };

    if let Some(rest) = serial_number.strip_prefix("CVR:") {
        // OCES II: CVR:<8 digits>-<UID|RID|FID>:<id>
        let Some((cvr, tail)) = rest.split_once('-') else {
            return OcesSubject::other(None);
        };
        if !is_cvr(cvr) {
            return OcesSubject::other(None);
        }
        let (kind, label, id) = if let Some(id) = tail.strip_prefix("UID:") {
            (CertificateKind::Company, "UID", id)
        } else if let Some(id) = tail.strip_prefix("RID:") {
            (CertificateKind::Employee, "RID", id)
        } else if let Some(id) = tail.strip_prefix("FID:") {
            (CertificateKind::Function, "FID", id)
        } else {
            return OcesSubject::other(Some(cvr.to_owned()));
        };
        if !is_id(id) {
            return OcesSubject::other(Some(cvr.to_owned()));
        }
        return OcesSubject {
            kind,
            cvr: Some(cvr.to_owned()),
            id: Some(id.to_owned()),
            username: Some(format!("CVR_{cvr}_{label}_{id}")),
        };
    }

    // OCES3: UI:DK-O:G:<uuid> (organisation) or UI:DK-E:G:<uuid> (employee), CVR in organizationIdentifier.
    let (kind, uuid) = if let Some(uuid) = serial_number.strip_prefix("UI:DK-O:G:") {
        (CertificateKind::Oces3Organisation, uuid)
    } else if let Some(uuid) = serial_number.strip_prefix("UI:DK-E:G:") {
        (CertificateKind::Oces3Employee, uuid)
    } else {
        return OcesSubject::other(oces3_cvr.map(str::to_owned));
    };
    match oces3_cvr {
        Some(cvr) if is_id(uuid) => OcesSubject {
            kind,
            cvr: Some(cvr.to_owned()),
            id: Some(uuid.to_owned()),
            username: Some(format!("CVR_{cvr}_UI_{uuid}")),
        },
        _ => OcesSubject::other(oces3_cvr.map(str::to_owned)),
    }
}

fn is_cvr(text: &str) -> bool {
    text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An id as it may appear in a user name (and so in a file name): letters, digits and '-'.
fn is_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether `name` can serve as a gateway user name given explicitly (and as a file name when exporting).
pub(crate) fn is_acceptable_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oces2_kinds() {
        let s = classify(Some("CVR:30808460-UID:25351738"), None);
        assert_eq!(s.kind, CertificateKind::Company);
        assert_eq!(s.username.as_deref(), Some("CVR_30808460_UID_25351738"));
        assert_eq!(classify(Some("CVR:19552101-RID:60134540"), None).username.as_deref(), Some("CVR_19552101_RID_60134540"));
        assert_eq!(classify(Some("CVR:12345678-FID:1"), None).kind, CertificateKind::Function);
    }

    #[test]
    fn oces3_needs_the_cvr() {
        let uuid = "6c3a7c0e-1b9f-4e4f-9d55-2a0f1e2d3c4b";
        let s = classify(Some(&format!("UI:DK-O:G:{uuid}")), Some("NTRDK-12345678"));
        assert_eq!(s.kind, CertificateKind::Oces3Organisation);
        assert_eq!(s.username, Some(format!("CVR_12345678_UI_{uuid}")));
        assert_eq!(classify(Some(&format!("UI:DK-E:G:{uuid}")), Some("NTRDK-12345678")).kind, CertificateKind::Oces3Employee);
        assert_eq!(classify(Some(&format!("UI:DK-O:G:{uuid}")), None).kind, CertificateKind::Other);
    }

    #[test]
    fn others_are_not_gateway_certificates() {
        for serial in ["PID:9208-2002-2-123456789012", "CVR:1234567-UID:1", "CVR:12345678-XID:1", "CVR:12345678-UID:", "CVR:12345678-UID:a/b", ""] {
            assert_eq!(classify(Some(serial), None).kind, CertificateKind::Other, "{serial}");
        }
        assert_eq!(classify(None, None).kind, CertificateKind::Other);
    }
}
