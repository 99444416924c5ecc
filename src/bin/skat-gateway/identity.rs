//! `skat-gateway identity show|export`: what the gateway reads from a certificate, and the public certificate
//! for registration with the agency.

use crate::secrets::SecretSource;
use gateway::identity::certificate_file_format;
use gateway::{CertificateFileFormat, Error, ErrorKind, Identity, Result, Validity};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where the certificate password may come from.
pub const CERT_PASSWORD: SecretSource<'static> = SecretSource {
    what: "certificate password",
    env_var: "SKAT_GATEWAY_CERT_PASSWORD",
    file_option: "--cert-password-file",
};

/// Warn this many days before a certificate expires.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// The certificate options every command that needs the client certificate takes.
#[derive(clap::Args, Debug)]
pub struct CertificateArgs {
    /// The certificate: PKCS#12 (.p12/.pfx) or PEM (certificate, and the key unless --key is given). Required,
    /// except by the commands that talk to the gateway when a --config profile names the certificate.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM), when the certificate file does not hold it.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// A file holding only the PKCS#12 password. Otherwise the environment variable
    /// SKAT_GATEWAY_CERT_PASSWORD, or a hidden prompt when stdin is a terminal.
    #[arg(long, value_name = "FILE")]
    pub cert_password_file: Option<PathBuf>,
}

impl CertificateArgs {
    /// The certificate file given.
    pub fn path(&self) -> Result<&Path> {
        self.cert.as_deref().ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, "no certificate given: add --cert FILE (PKCS#12 or PEM)")
        })
    }

    /// Loads the identity, asking for the password only when the file is PKCS#12.
    pub fn load(&self) -> Result<Identity> {
        let cert = self.path()?;
        if let Some(key) = &self.key {
            return Identity::from_pem_files(cert, Some(key));
        }
        match certificate_file_format(cert)? {
            CertificateFileFormat::Pem => Identity::from_file(cert, None),
            CertificateFileFormat::Pkcs12 => {
                if self.cert_password_file.is_none() && !CERT_PASSWORD.in_environment() {
                    // A file with an empty password opens without asking; any other says it needs one.
                    match Identity::from_file(cert, None) {
                        Err(e) if e.kind() == ErrorKind::CertificatePassword => {}
                        opened => return opened,
                    }
                }
                let password = CERT_PASSWORD.read(self.cert_password_file.as_deref())?;
                Identity::from_file(cert, Some(&password))
            }
        }
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum IdentityCommand {
    /// Show what the gateway reads from a certificate: user name, kind, CVR, validity, fingerprint.
    Show {
        #[command(flatten)]
        certificate: CertificateArgs,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// The gateway user name, when it does not follow from the certificate's subject.
        #[arg(long, value_name = "NAME")]
        username: Option<String>,
    },
    /// Write the public certificate as <username>.pem, the file the agency asks for at registration.
    Export {
        #[command(flatten)]
        certificate: CertificateArgs,
        /// The folder to write to.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        /// The gateway user name (and so the file name), when it does not follow from the certificate.
        #[arg(long, value_name = "NAME")]
        username: Option<String>,
    },
}

pub fn run(command: IdentityCommand) -> Result<()> {
    match command {
        IdentityCommand::Show { certificate, json, username } => show(&certificate, json, username),
        IdentityCommand::Export { certificate, out, force, username } => export(&certificate, &out, force, username),
    }
}

fn show(certificate: &CertificateArgs, json: bool, username_override: Option<String>) -> Result<()> {
    let identity = certificate.load()?;
    let derived = identity.username();
    let username = match (&username_override, &derived) {
        (Some(name), _) => Some(name.clone()),
        (None, Ok(name)) => Some(name.clone()),
        (None, Err(_)) => None,
    };
    if json {
        crate::output::json(&json_report(&identity, certificate.path()?, username.as_deref(), username_override.is_some()))?;
    } else {
        crate::output::text(&text_report(&identity, certificate.path()?, username.as_deref()))?;
    }
    // The report is out either way; the exit code tells a script whether the gateway would accept it.
    if let (None, Err(err)) = (username_override, derived) {
        return Err(err);
    }
    let info = identity.info();
    match info.validity() {
        Validity::Expired => Err(Error::new(
            ErrorKind::CertificateExpired,
            format!("the certificate expired on {}; renew it and register the new one with the agency", day(info.not_after)),
        )),
        Validity::NotYetValid => Err(Error::new(
            ErrorKind::CertificateNotYetValid,
            format!("the certificate is valid only from {}; check this computer's clock", day(info.not_before)),
        )),
        Validity::Valid => Ok(()),
    }
}

fn export(certificate: &CertificateArgs, out: &Path, force: bool, username: Option<String>) -> Result<()> {
    let identity = certificate.load()?;
    let path = match username {
        Some(name) => identity.export_public_pem_as(out, &name, force)?,
        None => identity.export_public_pem(out, force)?,
    };
    crate::out!("{}", path.display())?;
    if let Some(warning) = validity_warning(&identity) {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

fn text_report(identity: &Identity, file: &Path, username: Option<&str>) -> String {
    let info = identity.info();
    let chain = identity.certificate_chain().len();
    let mut lines = vec![
        ("File", file.display().to_string()),
        ("User name", username.unwrap_or("(none: not a gateway certificate, see below)").to_owned()),
        ("Kind", info.kind.to_string()),
        ("CVR", info.cvr.clone().unwrap_or_else(|| "-".into())),
        ("Id", info.id.clone().unwrap_or_else(|| "-".into())),
        ("Subject", info.subject.clone()),
        ("Issuer", info.issuer.clone()),
        ("Serial", info.serial.clone()),
        ("Valid from", human_time(info.not_before)),
        ("Valid until", human_time(info.not_after)),
        ("SHA-256", info.sha256_colon_hex()),
        ("Chain", format!("{chain} certificate{} (leaf first, root not included)", if chain == 1 { "" } else { "s" })),
    ];
    let status = match validity_warning(identity) {
        Some(warning) => warning,
        None => format!("valid, {} days left", info.days_until_expiry()),
    };
    lines.push(("Status", status));
    lines.iter().map(|(label, value)| format!("{label:<12} {value}\n")).collect()
}

/// The plain statement about validity, when there is something to say.
fn validity_warning(identity: &Identity) -> Option<String> {
    let info = identity.info();
    match info.validity() {
        Validity::Expired => Some(format!(
            "EXPIRED on {} ({} days ago): the gateway will refuse it; renew the certificate and register the new one \
             with the agency",
            day(info.not_after),
            -info.days_until_expiry()
        )),
        Validity::NotYetValid => Some(format!(
            "NOT YET VALID: valid from {}; check this computer's clock",
            day(info.not_before)
        )),
        Validity::Valid if info.days_until_expiry() <= EXPIRY_WARNING_DAYS => Some(format!(
            "EXPIRES SOON: on {} (in {} days); renew it now and register the new certificate with the agency",
            day(info.not_after),
            info.days_until_expiry()
        )),
        Validity::Valid => None,
    }
}

fn json_report(identity: &Identity, file: &Path, username: Option<&str>, explicit: bool) -> serde_json::Value {
    let info = identity.info();
    let value = serde_json::json!({
        "file": file.display().to_string(),
        "username": username,
        "username_source": match (username, explicit) {
            (None, _) => serde_json::Value::Null,
            (Some(_), true) => "explicit".into(),
            (Some(_), false) => "certificate".into(),
        },
        "kind": info.kind.code(),
        "gateway_certificate": info.kind.is_gateway_kind(),
        "cvr": info.cvr,
        "id": info.id,
        "subject": info.subject,
        "issuer": info.issuer,
        "serial": info.serial,
        "not_before": rfc3339(info.not_before),
        "not_after": rfc3339(info.not_after),
        "expired": info.validity() == Validity::Expired,
        "not_yet_valid": info.validity() == Validity::NotYetValid,
        "days_until_expiry": info.days_until_expiry(),
        "sha256": info.sha256,
        "chain_length": identity.certificate_chain().len(),
    });
    value
}

fn rfc3339(moment: OffsetDateTime) -> String {
    moment.format(&Rfc3339).unwrap_or_else(|_| moment.to_string())
}

fn human_time(moment: OffsetDateTime) -> String {
    format!("{} {:02}:{:02}:{:02} UTC", day(moment), moment.hour(), moment.minute(), moment.second())
}

fn day(moment: OffsetDateTime) -> String {
    let date = moment.date();
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}
