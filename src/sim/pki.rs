//! The simulator's test PKI: a CA, a server certificate for the loopback names, and client certificates shaped
//! like the agency's OCES certificates, minted on first start into the simulator folder and reused afterwards.
//!
//! Files (secrets mode 0600):
//! - `ca.pem`, `ca-key.pem`: the CA that signs everything (the client trusts `ca.pem` for the server; the
//!   simulator trusts it for client certificates).
//! - `server-cert.pem`, `server-key.pem`: the server certificate for `localhost`, 127.0.0.1, ::1, the listen
//!   address and the configured server names (minted again, by the same CA, when these change).
//! - per client certificate (the first one in the simulator folder itself, others in `clients/<label>/`):
//!   `client.p12` (PKCS#12, password in `client.p12.password`), `client-cert.pem`, `client-key.pem`, and
//!   `gateway.password` (the password the agency would send by secure post).
//!
//! OCES II puts `serialNumber=CVR:<cvr>-UID:<uid>` and `CN` into one multi-valued RDN. rcgen 0.14 writes every
//! attribute of its `DistinguishedName` into an RDN of its own and has no way to pass a raw subject, so rcgen
//! makes the certificate (keys, extensions, validity) and [`replace_subject`] then swaps in a subject built with
//! `x509-cert`'s RFC 4514 parser (which understands `+` for multi-valued RDNs) and signs the new
//! TBSCertificate with the same CA key. This keeps every certificate detail in rcgen and the DER work in
//! well-kept `der`/`x509-cert` types, with no hand-written TLV code.

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use der::asn1::{Any, BitString};
use der::{Decode, Encode};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType, SigningKey,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use x509_cert::name::RdnSequence;

/// Which kind of OCES certificate a simulated client holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertKind {
    /// Company certificate (OCES II VOCES): `serialNumber=CVR:<cvr>-UID:<uid>`.
    Voces { cvr: String, uid: String },
    /// Employee certificate (OCES II MOCES): `serialNumber=CVR:<cvr>-RID:<rid>`.
    Moces { cvr: String, rid: String },
    /// Organisation certificate (OCES3): `serialNumber=UI:DK-O:G:<uuid>`, `organizationIdentifier=NTRDK-<cvr>`.
    Oces3 { cvr: String, uuid: String },
}

impl CertKind {
    /// The gateway user name this certificate implies (`CVR_<cvr>_UID_<uid>`, ...).
    pub fn username(&self) -> String {
        match self {
            CertKind::Voces { cvr, uid } => format!("CVR_{cvr}_UID_{uid}"),
            CertKind::Moces { cvr, rid } => format!("CVR_{cvr}_RID_{rid}"),
            CertKind::Oces3 { cvr, uuid } => format!("CVR_{cvr}_UI_{uuid}"),
        }
    }

    /// The subject as an RFC 4514 string (last RDN first), in the issuer's style.
    fn subject(&self, label: &str) -> String {
        let org = "Simulator Test ApS";
        match self {
            CertKind::Voces { cvr, uid } => {
                format!("CN={org} - {label}+serialNumber=CVR:{cvr}-UID:{uid},O={org} // CVR:{cvr},C=DK")
            }
            CertKind::Moces { cvr, rid } => {
                format!("CN=Test Medarbejder {label}+serialNumber=CVR:{cvr}-RID:{rid},O={org} // CVR:{cvr},C=DK")
            }
            // organizationIdentifier (2.5.4.97) by number: not every OID table knows its name.
            CertKind::Oces3 { cvr, uuid } => {
                format!("serialNumber=UI:DK-O:G:{uuid},CN={org} - {label},2.5.4.97=NTRDK-{cvr},O={org},C=DK")
            }
        }
    }
}

/// Where the files of one client certificate are, and what the gateway knows about it.
#[derive(Clone, Debug)]
pub struct ClientFiles {
    /// The label given in the configuration (`client` for the first one).
    pub label: String,
    /// The gateway user name derived from the certificate.
    pub username: String,
    pub p12: PathBuf,
    pub p12_password_file: PathBuf,
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub gateway_password_file: PathBuf,
    /// SHA-256 of the certificate's DER: how the simulator recognises it in the TLS handshake.
    pub(crate) fingerprint: [u8; 32],
    /// The gateway password (the simulator's record of what the agency assigned).
    pub(crate) gateway_password: Secret,
    /// The PKCS#12 password.
    pub(crate) p12_password: Secret,
}

impl ClientFiles {
    /// The gateway password assigned to this certificate.
    pub fn gateway_password(&self) -> &Secret {
        &self.gateway_password
    }

    /// The password of `client.p12`.
    pub fn p12_password(&self) -> &Secret {
        &self.p12_password
    }
}

/// Paths of the CA and server files.
#[derive(Clone, Debug)]
pub struct PkiFiles {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl PkiFiles {
    fn in_dir(dir: &Path) -> Self {
        PkiFiles {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server-cert.pem"),
            server_key: dir.join("server-key.pem"),
        }
    }
}

fn sim_error(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Simulator, what.to_string())
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| {
        Error::new(ErrorKind::Io, format!("cannot read {}: {e}; delete the simulator folder to mint a new PKI", path.display()))
            .with_source(e)
    })
}

/// Writes a file, creating its folder; `secret` files get mode 0600 (written so from the start, never wider).
pub(crate) fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|e| io_error(path, e))?;
    file.write_all(contents).map_err(|e| io_error(path, e))?;
    Ok(())
}

pub(crate) fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot write {}: {e}; check that the folder is writable", path.display()))
        .with_source(e)
}

/// A random password of letters and digits (no characters that need quoting in a shell or a TOML file).
pub(crate) fn random_password(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// The CA, loaded or minted.
pub(crate) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    key: KeyPair,
}

/// A name the server certificate must hold: what clients check the simulator's host against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServerName {
    Dns(String),
    Ip(std::net::IpAddr),
}

impl ServerName {
    /// An address, or a DNS name as certificates hold it (`sim.example.test`); anything else is refused.
    pub(crate) fn parse(text: &str) -> Result<ServerName> {
        let text = text.trim();
        if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse() {
            return Ok(ServerName::Ip(ip));
        }
        match rustls::pki_types::DnsName::try_from(text) {
            Ok(name) => Ok(ServerName::Dns(name.as_ref().to_ascii_lowercase())),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{text:?} is neither an IP address nor a host name: give the name or address clients will connect to"),
            )),
        }
    }

    fn to_san(&self) -> Result<SanType> {
        Ok(match self {
            ServerName::Dns(name) => SanType::DnsName(name.clone().try_into().map_err(sim_error)?),
            ServerName::Ip(ip) => SanType::IpAddress(*ip),
        })
    }
}

impl std::fmt::Display for ServerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerName::Dns(name) => f.write_str(name),
            ServerName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

fn describe(names: &[ServerName]) -> String {
    names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
}

/// Whether the certificate in `path` names every one of `names` (a simulator folder made for one address
/// and started on another gets a new server certificate, signed by the same CA, so clients keep trusting it).
fn covers(path: &Path, names: &[ServerName]) -> bool {
    use x509_parser::extensions::GeneralName;
    let Some(der) = fs::read_to_string(path).ok().and_then(|pem| pem_decode_first_cert(&pem)) else { return false };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else { return false };
    let Ok(Some(san)) = cert.subject_alternative_name() else { return false };
    let held: Vec<ServerName> = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(ServerName::Dns(dns.to_ascii_lowercase())),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Some(ServerName::Ip(<[u8; 4]>::try_from(*bytes).ok()?.into())),
                16 => Some(ServerName::Ip(<[u8; 16]>::try_from(*bytes).ok()?.into())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    names.iter().all(|name| held.contains(name))
}

/// Loads the CA and server certificate from `dir`, or mints them when absent; the server certificate is minted
/// again when it does not cover all of `names`.
pub(crate) fn ensure_ca_and_server(dir: &Path, names: &[ServerName]) -> Result<(PkiFiles, Ca)> {
    let files = PkiFiles::in_dir(dir);
    let ca = if files.ca_cert.exists() && files.ca_key.exists() {
        let key = KeyPair::from_pem(&read_text(&files.ca_key)?).map_err(|e| {
            sim_error(format!("{} is not a usable key ({e}); delete the simulator folder to start afresh", files.ca_key.display()))
        })?;
        let issuer_key = KeyPair::from_pem(&read_text(&files.ca_key)?).map_err(sim_error)?;
        let issuer = Issuer::from_ca_cert_pem(&read_text(&files.ca_cert)?, issuer_key).map_err(|e| {
            sim_error(format!("{} is not a usable CA ({e}); delete the simulator folder to start afresh", files.ca_cert.display()))
        })?;
        Ca { issuer, key }
    } else {
        let key = KeyPair::generate().map_err(sim_error)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "DK");
        dn.push(DnType::OrganizationName, "skat-gateway simulator");
        dn.push(DnType::CommonName, "skat-gateway simulator test CA (not trusted anywhere else)");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        set_validity(&mut params, 3650);
        let cert = params.self_signed(&key).map_err(sim_error)?;
        write_file(&files.ca_key, key.serialize_pem().as_bytes(), true)?;
        write_file(&files.ca_cert, cert.pem().as_bytes(), false)?;
        let issuer_key = KeyPair::from_pem(&key.serialize_pem()).map_err(sim_error)?;
        Ca { issuer: Issuer::new(params, issuer_key), key }
    };
    if !(files.server_cert.exists() && files.server_key.exists() && covers(&files.server_cert, names)) {
        if files.server_cert.exists() {
            log::info!("simulator: minting a new server certificate so that it covers {}", describe(names));
        }
        let key = KeyPair::generate().map_err(sim_error)?;
        let mut params = CertificateParams::default();
        params.subject_alt_names = names.iter().map(|name| name.to_san()).collect::<Result<_>>()?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        set_validity(&mut params, 825);
        let cert = params.signed_by(&key, &ca.issuer).map_err(sim_error)?;
        write_file(&files.server_key, key.serialize_pem().as_bytes(), true)?;
        write_file(&files.server_cert, cert.pem().as_bytes(), false)?;
    }
    Ok((files, ca))
}

fn set_validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
}

/// Loads the client certificate files in `dir`, or mints them (signed by `ca`) when absent.
pub(crate) fn ensure_client(dir: &Path, label: &str, kind: &CertKind, ca: &Ca) -> Result<ClientFiles> {
    let cert_pem = dir.join("client-cert.pem");
    let key_pem = dir.join("client-key.pem");
    let p12 = dir.join("client.p12");
    let p12_password_file = dir.join("client.p12.password");
    let gateway_password_file = dir.join("gateway.password");
    let complete = [&cert_pem, &key_pem, &p12, &p12_password_file, &gateway_password_file].iter().all(|p| p.exists());
    if !complete {
        let key = KeyPair::generate().map_err(sim_error)?;
        let mut params = CertificateParams::default();
        // A placeholder subject; replace_subject writes the OCES-shaped one.
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, label);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        set_validity(&mut params, 730);
        let cert = params.signed_by(&key, &ca.issuer).map_err(sim_error)?;
        let der = replace_subject(cert.der(), &kind.subject(label), &ca.key)?;
        let pem = pem_encode("CERTIFICATE", &der);
        let p12_password = random_password(16);
        let p12_bytes = pkcs12(&der, &key.serialize_der(), label, &p12_password)?;
        write_file(&cert_pem, pem.as_bytes(), false)?;
        write_file(&key_pem, key.serialize_pem().as_bytes(), true)?;
        write_file(&p12, &p12_bytes, true)?;
        write_file(&p12_password_file, format!("{p12_password}\n").as_bytes(), true)?;
        write_file(&gateway_password_file, format!("{}\n", random_password(20)).as_bytes(), true)?;
    }
    let der = pem_decode_first_cert(&read_text(&cert_pem)?)
        .ok_or_else(|| sim_error(format!("{} holds no certificate; delete it to mint a new one", cert_pem.display())))?;
    let username = super::auth::username_from_certificate(&der)
        .ok_or_else(|| sim_error(format!("{} is not an OCES-shaped certificate; delete it to mint a new one", cert_pem.display())))?;
    let fingerprint = sha256(&der);
    Ok(ClientFiles {
        label: label.to_string(),
        username,
        p12,
        p12_password: Secret::new(read_text(&p12_password_file)?.trim().to_string()),
        p12_password_file,
        cert_pem,
        key_pem,
        gateway_password: Secret::new(read_text(&gateway_password_file)?.trim().to_string()),
        gateway_password_file,
        fingerprint,
    })
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// Re-issues `cert_der` with the subject given as an RFC 4514 string (multi-valued RDNs with `+`), signed by
/// `issuer_key` (which must be the key that signed `cert_der`, so the signature algorithm stays right).
fn replace_subject(cert_der: &[u8], subject: &str, issuer_key: &KeyPair) -> Result<Vec<u8>> {
    let der_error = |e: der::Error| sim_error(format!("building the test certificate failed: {e}"));
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let parts: Vec<Any> = Vec::from_der(cert_der).map_err(der_error)?;
    let [tbs, algorithm, _old_signature] = <[Any; 3]>::try_from(parts).map_err(|_| sim_error("unexpected certificate layout"))?;
    // TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, issuer, validity, subject, ... }
    let mut tbs_fields: Vec<Any> = Vec::from_der(&tbs.to_der().map_err(der_error)?).map_err(der_error)?;
    let subject_der = RdnSequence::from_str(subject).map_err(der_error)?.to_der().map_err(der_error)?;
    let subject_slot = tbs_fields.get_mut(5).ok_or_else(|| sim_error("unexpected TBSCertificate layout"))?;
    *subject_slot = Any::from_der(&subject_der).map_err(der_error)?;
    let tbs_der = tbs_fields.to_der().map_err(der_error)?;
    let signature = issuer_key.sign(&tbs_der).map_err(sim_error)?;
    let certificate = vec![
        Any::from_der(&tbs_der).map_err(der_error)?,
        algorithm,
        Any::encode_from(&BitString::from_bytes(&signature).map_err(der_error)?).map_err(der_error)?,
    ];
    certificate.to_der().map_err(der_error)
}

/// A PKCS#12 file (AES-256 + HMAC-SHA256, as `openssl pkcs12` makes by default) with the key and certificate.
fn pkcs12(cert_der: &[u8], key_pkcs8: &[u8], alias: &str, password: &str) -> Result<Vec<u8>> {
    let p12_error = |e: p12_keystore::error::Error| sim_error(format!("writing the PKCS#12 file failed: {e}"));
    let key = p12_keystore::PrivateKey::from_der(key_pkcs8).map_err(p12_error)?;
    let cert = p12_keystore::Certificate::from_der(cert_der).map_err(p12_error)?;
    let chain = p12_keystore::PrivateKeyChain::new(sha256(cert_der).to_vec(), key, vec![cert]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(alias, p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().map_err(p12_error)
}

pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default()
}

fn pem_decode_first_cert(pem: &str) -> Option<Vec<u8>> {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    (parsed.label == "CERTIFICATE").then_some(parsed.contents)
}
