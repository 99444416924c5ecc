//! The services the gateway offers for ICS and Manifest, and what each needs.
//!
//! The list comes from the agency's publications (see DOMAIN.md). The agency adds services over time, so a
//! name outside the list is still allowed when the gateway shows its folder: the catalogue informs (system,
//! transfer type), the folders the certificate sees decide.

use crate::error::{Error, ErrorKind, Result};
use serde::Serialize;

/// The service that only answers with status files: the gateway's ping.
pub const HEARTBEAT_SERVICE: &str = "FTPSGW.Heartbeat";

/// How a file must travel over FTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferType {
    /// Byte for byte (FTP `TYPE I`). The default: XML declarations must arrive unchanged.
    Binary,
    /// Text with line-end translation (FTP `TYPE A`). Some eKapital services reject files not sent this way
    /// (`FILE_NOT_UPLOADED_IN_ASCII_MODE`); none of the ICS or Manifest services is known to.
    Ascii,
}

/// The agency system behind a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum System {
    /// Import Control System: entry summary declarations.
    Ics,
    /// Manifest: arrival, departure and temporary storage declarations.
    Manifest,
    /// The gateway itself (the heartbeat).
    Gateway,
    /// A service the gateway shows but this catalogue does not know.
    Unknown,
}

/// One service: its folder name on the gateway, the system behind it and the transfer type it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub system: System,
    pub transfer_type: TransferType,
    /// True when the name is in this catalogue (false for services only the gateway showed us).
    pub known: bool,
}

struct Entry {
    name: &'static str,
    system: System,
    transfer_type: TransferType,
}

const fn binary(name: &'static str, system: System) -> Entry {
    Entry { name, system, transfer_type: TransferType::Binary }
}

const CATALOGUE: &[Entry] = &[
    binary("SummariskIndgangsangivelseOpdaterService", System::Ics),
    binary("SummariskIndgangsangivelseOpretService", System::Ics),
    binary("SummariskIndgangsangivelseSamlingOmdirigerService", System::Ics),
    binary("Manifest.AfgangsdeklarationOpdater", System::Manifest),
    binary("Manifest.AfgangsdeklarationOpret", System::Manifest),
    binary("Manifest.AfgangsdeklarationSlet", System::Manifest),
    binary("Manifest.AnkomstdeklarationOpdater", System::Manifest),
    binary("Manifest.AnkomstdeklarationOpret", System::Manifest),
    binary("Manifest.AnkomstdeklarationSlet", System::Manifest),
    binary("Manifest.EksternAnkomstOgAfgangsIndberetningOpret", System::Manifest),
    binary("Manifest.MidlertidigOpbevaringOpdater", System::Manifest),
    binary("Manifest.MidlertidigOpbevaringOpret", System::Manifest),
    binary("Manifest.MidlertidigOpbevaringOpsplitOpret", System::Manifest),
    binary("Manifest.MidlertidigOpbevaringSlet", System::Manifest),
    binary("Manifest.TolddokumentSamlingHent", System::Manifest),
    binary(HEARTBEAT_SERVICE, System::Gateway),
];

impl Service {
    /// The service of that name: from the catalogue when known, otherwise an unknown service sent binary.
    /// The name is checked to be a plain folder name first.
    pub fn named(name: &str) -> Result<Service> {
        validate_service_name(name)?;
        Ok(match CATALOGUE.iter().find(|entry| entry.name == name) {
            Some(entry) => Service {
                name: entry.name.to_string(),
                system: entry.system,
                transfer_type: entry.transfer_type,
                known: true,
            },
            None => Service { name: name.to_string(), system: System::Unknown, transfer_type: TransferType::Binary, known: false },
        })
    }

    /// Every service in the catalogue.
    pub fn catalogue() -> Vec<Service> {
        CATALOGUE
            .iter()
            .map(|entry| Service { name: entry.name.to_string(), system: entry.system, transfer_type: entry.transfer_type, known: true })
            .collect()
    }

    pub fn is_heartbeat(&self) -> bool {
        self.name == HEARTBEAT_SERVICE
    }

    /// True for a service that answers a question rather than takes a declaration: the heartbeat, and the
    /// services whose name ends in `Hent` ("fetch", e.g. `Manifest.TolddokumentSamlingHent`). Asking the same
    /// question again later is meant to get a fresh answer, so identical content is sent again once the earlier
    /// query has its answer; a declaration's content is sent once.
    pub fn is_query(&self) -> bool {
        self.is_heartbeat() || self.name.ends_with("Hent")
    }
}

/// The transfer type a service needs (binary unless the catalogue knows otherwise).
pub fn transfer_type(service: &str) -> TransferType {
    CATALOGUE.iter().find(|entry| entry.name == service).map_or(TransferType::Binary, |entry| entry.transfer_type)
}

/// A service name is a folder name on the gateway: it must not be empty or leave the folder.
pub fn validate_service_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 200
        || name.chars().any(|c| c == '/' || c == '\\' || c.is_control() || c.is_whitespace());
    if bad {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "{name:?} is not a service name: give the service's folder name as the gateway shows it, \
                 e.g. Manifest.AnkomstdeklarationOpret (`skat-gateway services` lists the ones this certificate may use)"
            ),
        ));
    }
    Ok(())
}

/// Among the gateway's folders, the ones that are services (everything except `out` and hidden entries).
pub fn services_from_folders<'a>(folders: impl IntoIterator<Item = &'a str>) -> Vec<Service> {
    let mut services: Vec<Service> = folders
        .into_iter()
        .filter(|name| !name.eq_ignore_ascii_case("out") && !name.starts_with('.'))
        .filter_map(|name| Service::named(name).ok())
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    services.dedup_by(|a, b| a.name == b.name);
    services
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_every_published_service_once() {
        let all = Service::catalogue();
        assert_eq!(all.len(), 16);
        assert_eq!(all.iter().filter(|s| s.system == System::Ics).count(), 3);
        assert_eq!(all.iter().filter(|s| s.system == System::Manifest).count(), 12);
        let mut names: Vec<_> = all.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 16);
        assert!(all.iter().all(|s| s.transfer_type == TransferType::Binary));
    }

    #[test]
    fn unknown_services_are_allowed_and_sent_binary() {
        let s = Service::named("Manifest.NewThing2027").unwrap();
        assert!(!s.known);
        assert_eq!(s.system, System::Unknown);
        assert_eq!(s.transfer_type, TransferType::Binary);
        assert!(Service::named(HEARTBEAT_SERVICE).unwrap().is_heartbeat());
        assert_eq!(transfer_type("Manifest.AnkomstdeklarationOpret"), TransferType::Binary);
    }

    #[test]
    fn service_names_cannot_leave_their_folder() {
        for bad in ["", ".", "..", "a/b", "..\\x", "with space", "tab\tname"] {
            let err = Service::named(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
            assert!(err.message().contains("skat-gateway services"));
        }
    }

    #[test]
    fn folders_become_services_without_out() {
        let s = services_from_folders(["out", "Manifest.AnkomstdeklarationOpret", ".hidden", "FTPSGW.Heartbeat", "Other"]);
        let names: Vec<_> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["FTPSGW.Heartbeat", "Manifest.AnkomstdeklarationOpret", "Other"]);
    }
}
