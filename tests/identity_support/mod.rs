//! Test certificates minted at test time with the openssl command-line tool: a root and an intermediate CA,
//! leaf certificates shaped like OCES ones (any subject, multi-valued RDNs, any validity window, RSA or EC
//! keys), PKCS#12 files in each flavour, and a BER rewriting of a DER PKCS#12 file like Java tooling writes.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const PASSWORD: &str = "Test1234";

/// The public OCES II test certificates beside the repository, when present.
pub fn oces2_fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/oces2"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent (the public OCES II test certificates)", dir.display());
        None
    }
}

/// Runs openssl in `dir`, panicking with its stderr when it fails.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (scripts/install-test-deps installs it)");
    assert!(
        output.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa2048,
    EcP256,
    EcP384,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Valid from yesterday for a year.
    Current,
    /// Valid in 2019 only.
    Expired,
    /// Valid from 2090.
    NotYetValid,
    /// Valid from yesterday for 10 more days.
    ExpiresSoon,
}

/// A throw-away PKI: root CA -> intermediate CA -> leaves, all files in one temporary folder.
pub struct Pki {
    pub dir: tempfile::TempDir,
    serial: u32,
}

/// One minted leaf: its key and certificate files (PEM) and the chain file (intermediate + root).
pub struct Leaf {
    pub key: PathBuf,
    pub cert: PathBuf,
    pub chain: PathBuf,
    pub name: String,
}

const CA_CONFIG: &str = "\
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[policy_any]
countryName = optional
[ca_extensions]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_extensions]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
";

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path();
        std::fs::write(path.join("ca.cnf"), CA_CONFIG).unwrap();
        std::fs::write(path.join("index.txt"), "").unwrap();
        std::fs::write(path.join("serial"), "1000\n").unwrap();
        std::fs::create_dir(path.join("issued")).unwrap();
        openssl(
            path,
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.crt",
                "-days", "3650", "-subj", "/C=DK/O=Test Trust/CN=Test Root CA", "-addext",
                "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        openssl(path, &["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-out", "int.csr", "-subj", "/C=DK/O=Test Trust/CN=Test Issuing CA"]);
        let path = path.to_owned();
        let mut pki = Pki { dir, serial: 0x1000 };
        pki.sign("int.csr", "int.crt", "root.crt", "root.key", "ca_extensions", Window::Current);
        let chain = [std::fs::read(path.join("int.crt")).unwrap(), std::fs::read(path.join("root.crt")).unwrap()].concat();
        std::fs::write(path.join("chain.pem"), chain).unwrap();
        pki
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A leaf with `subject` in openssl's `-subj` form (slashes inside values escaped as `\/`, `+` joins
    /// attributes into one multi-valued RDN).
    pub fn leaf(&mut self, name: &str, subject: &str, key: KeyType, window: Window) -> Leaf {
        let path = self.dir.path().to_owned();
        let key_file = format!("{name}.key");
        let csr = format!("{name}.csr");
        let cert = format!("{name}.crt");
        match key {
            KeyType::Rsa2048 => {
                openssl(&path, &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", &key_file]);
            }
            KeyType::EcP256 | KeyType::EcP384 => {
                let curve = if key == KeyType::EcP256 { "ec_paramgen_curve:P-256" } else { "ec_paramgen_curve:P-384" };
                openssl(&path, &["genpkey", "-algorithm", "EC", "-pkeyopt", curve, "-out", &key_file]);
            }
        }
        openssl(&path, &["req", "-new", "-key", &key_file, "-out", &csr, "-subj", subject, "-multivalue-rdn"]);
        self.sign(&csr, &cert, "int.crt", "int.key", "leaf_extensions", window);
        Leaf { key: path.join(key_file), cert: path.join(cert), chain: path.join("chain.pem"), name: name.to_owned() }
    }

    fn sign(&mut self, csr: &str, out: &str, ca_cert: &str, ca_key: &str, extensions: &str, window: Window) {
        self.serial += 1;
        let (start, end) = window_dates(window);
        openssl(
            self.dir.path(),
            &[
                "ca", "-batch", "-config", "ca.cnf", "-in", csr, "-out", out, "-cert", ca_cert, "-keyfile", ca_key,
                "-extensions", extensions, "-startdate", &start, "-enddate", &end, "-preserveDN", "-multivalue-rdn",
                "-notext", "-utf8",
            ],
        );
    }

    /// A PKCS#12 file of `leaf` (key, certificate, intermediate and root) made by openssl. `extra` adds
    /// options such as `-legacy`.
    pub fn pkcs12(&self, leaf: &Leaf, file: &str, extra: &[&str]) -> PathBuf {
        let out = self.dir.path().join(file);
        let mut args = vec![
            "pkcs12", "-export", "-inkey", leaf.key.to_str().unwrap(), "-in", leaf.cert.to_str().unwrap(),
            "-certfile", leaf.chain.to_str().unwrap(), "-passout", "pass:Test1234", "-out", out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        openssl(self.dir.path(), &args);
        out
    }
}

/// `openssl ca` date arguments for a validity window.
fn window_dates(window: Window) -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let format = |t: time::OffsetDateTime| {
        format!("{:04}{:02}{:02}{:02}{:02}{:02}Z", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
    };
    match window {
        Window::Current => (format(now - time::Duration::days(1)), format(now + time::Duration::days(365))),
        Window::ExpiresSoon => (format(now - time::Duration::days(1)), format(now + time::Duration::days(10))),
        Window::Expired => ("20190101000000Z".into(), "20191231000000Z".into()),
        Window::NotYetValid => ("20900101000000Z".into(), "20910101000000Z".into()),
    }
}

/// What `openssl pkcs12 -nokeys -clcerts | openssl x509` writes for a PKCS#12 file: the reference export.
pub fn openssl_public_pem(p12: &Path, legacy: bool) -> Vec<u8> {
    let dir = p12.parent().unwrap();
    let mut args = vec!["pkcs12", "-in", p12.to_str().unwrap(), "-nokeys", "-clcerts", "-passin", "pass:Test1234"];
    if legacy {
        args.push("-legacy");
    }
    let bags = openssl(dir, &args);
    let bags_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bags_file.path(), bags).unwrap();
    openssl(dir, &["x509", "-in", bags_file.path().to_str().unwrap()])
}

/// The private key of a PKCS#12 file as `openssl pkey` writes it (PKCS#8, "BEGIN PRIVATE KEY"), in DER.
pub fn openssl_pkcs8(p12: &Path, legacy: bool) -> Vec<u8> {
    let dir = p12.parent().unwrap();
    let mut args = vec!["pkcs12", "-in", p12.to_str().unwrap(), "-nocerts", "-nodes", "-passin", "pass:Test1234"];
    if legacy {
        args.push("-legacy");
    }
    let pem = openssl(dir, &args);
    let pem_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem_file.path(), pem).unwrap();
    let pkcs8_pem = openssl(dir, &["pkey", "-in", pem_file.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&pkcs8_pem).starts_with("-----BEGIN PRIVATE KEY-----"));
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(&pkcs8_pem).unwrap().secret_pkcs8_der().to_vec()
}

/// Rewrites a DER PKCS#12 file the way Java tooling writes them: every constructed element with an
/// indefinite length, every OCTET STRING (and the encrypted content) split into chunks, including the
/// structures nested inside OCTET STRINGs. The MAC is computed again over the new content octets, so the
/// result is a valid PKCS#12 file (openssl reads it) that a DER-only reader rejects.
pub fn der_pkcs12_to_ber(der: &[u8], password: &str) -> Vec<u8> {
    use asn1_rs::{Any, FromDer};
    let (_, pfx) = Any::from_der(der).unwrap();
    let fields = children(pfx.data);
    assert_eq!(fields.len(), 3, "version, authSafe, macData");
    // authSafe: SEQUENCE { OID data, [0] { OCTET STRING (AuthenticatedSafe) } }
    let auth_safe_fields = children(fields[1].data);
    let explicit = children(auth_safe_fields[1].data);
    let authenticated_safe = explicit[0].data;
    let (_, safe_sequence) = Any::from_der(authenticated_safe).unwrap();
    let mut safe_ber = Vec::new();
    for content_info in children(safe_sequence.data) {
        safe_ber.extend(content_info_ber(&content_info));
    }
    let new_octets = indefinite(0x30, &safe_ber);
    let auth_safe_ber = indefinite(
        0x30,
        &[raw(&auth_safe_fields[0]), indefinite(0xA0, &chunked_octets(&new_octets))].concat(),
    );
    let mac_ber = recompute_mac(&fields[2], &new_octets, password);
    indefinite(0x30, &[raw(&fields[0]), auth_safe_ber, mac_ber].concat())
}

fn content_info_ber(content_info: &asn1_rs::Any) -> Vec<u8> {
    use asn1_rs::{Any, FromDer};
    let fields = children(content_info.data);
    let oid = raw(&fields[0]);
    let content = &children(fields[1].data)[0];
    let data_oid = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];
    let inner = if fields[0].data == data_oid {
        // data: the OCTET STRING holds SafeContents, which becomes BER too.
        let (_, safe_contents) = Any::from_der(content.data).unwrap();
        let bags: Vec<u8> = children(safe_contents.data).iter().flat_map(generic_ber).collect();
        chunked_octets(&indefinite(0x30, &bags))
    } else {
        // encryptedData: SEQUENCE { version, SEQUENCE { OID, AlgorithmIdentifier, [0] IMPLICIT OCTET STRING } }
        let encrypted_fields = children(content.data);
        let info_fields = children(encrypted_fields[1].data);
        let ciphertext = info_fields[2].data;
        let chunks: Vec<u8> = ciphertext.chunks(64).flat_map(|chunk| tlv(0x04, chunk)).collect();
        let info = indefinite(0x30, &[raw(&info_fields[0]), generic_ber(&info_fields[1]), indefinite(0xA0, &chunks)].concat());
        indefinite(0x30, &[raw(&encrypted_fields[0]), info].concat())
    };
    indefinite(0x30, &[oid, indefinite(0xA0, &inner)].concat())
}

/// Any element in BER: constructed ones with indefinite length, OCTET STRINGs in chunks.
fn generic_ber(any: &asn1_rs::Any) -> Vec<u8> {
    let header = &any.header;
    if header.is_constructed() {
        let inner: Vec<u8> = children(any.data).iter().flat_map(generic_ber).collect();
        indefinite(identifier(any), &inner)
    } else if header.class() == asn1_rs::Class::Universal && header.tag() == asn1_rs::Tag::OctetString && any.data.len() > 16 {
        chunked_octets(any.data)
    } else {
        raw(any)
    }
}

fn recompute_mac(mac_data: &asn1_rs::Any, octets: &[u8], password: &str) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let fields = children(mac_data.data);
    let digest_info = children(fields[0].data);
    let algorithm = children(digest_info[0].data);
    let salt = fields[1].data;
    let iterations = fields.get(2).map(|f| f.data.iter().fold(0i32, |n, b| n * 256 + *b as i32)).unwrap_or(1);
    let sha1 = [0x2B, 0x0E, 0x03, 0x02, 0x1A];
    let digest = if algorithm[0].data == sha1 {
        let key = pkcs12::kdf::derive_key_utf8::<sha1::Sha1>(password, salt, pkcs12::kdf::Pkcs12KeyType::Mac, iterations, 20).unwrap();
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
        mac.update(octets);
        mac.finalize().into_bytes().to_vec()
    } else {
        let key = pkcs12::kdf::derive_key_utf8::<sha2_v011::Sha256>(password, salt, pkcs12::kdf::Pkcs12KeyType::Mac, iterations, 32).unwrap();
        let mut mac = hmac::Hmac::<sha2_v011::Sha256>::new_from_slice(&key).unwrap();
        mac.update(octets);
        mac.finalize().into_bytes().to_vec()
    };
    let new_digest_info = tlv(0x30, &[raw(&digest_info[0]), tlv(0x04, &digest)].concat());
    let rest: Vec<u8> = fields[1..].iter().flat_map(raw).collect();
    tlv(0x30, &[new_digest_info, rest].concat())
}

fn children<'a>(mut content: &'a [u8]) -> Vec<asn1_rs::Any<'a>> {
    use asn1_rs::FromDer;
    let mut items = Vec::new();
    while !content.is_empty() {
        let (rest, item) = asn1_rs::Any::from_der(content).unwrap();
        items.push(item);
        content = rest;
    }
    items
}

/// The identifier octet of a low-tag-number element.
fn identifier(any: &asn1_rs::Any) -> u8 {
    let class = any.header.class() as u8;
    let tag = any.header.tag().0;
    assert!(tag < 31, "high tag numbers do not occur in PKCS#12");
    (class << 6) | if any.header.is_constructed() { 0x20 } else { 0 } | tag as u8
}

/// The element re-encoded with a definite length.
fn raw(any: &asn1_rs::Any) -> Vec<u8> {
    tlv(identifier(any), any.data)
}

fn tlv(identifier: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![identifier];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A constructed element with an indefinite length: identifier, 0x80, content, end-of-contents.
fn indefinite(identifier: u8, content: &[u8]) -> Vec<u8> {
    [&[identifier | 0x20, 0x80][..], content, &[0, 0]].concat()
}

/// An OCTET STRING sent as a constructed string of chunks.
fn chunked_octets(value: &[u8]) -> Vec<u8> {
    let chunks: Vec<u8> = value.chunks(100).flat_map(|chunk| tlv(0x04, chunk)).collect();
    indefinite(0x24, &chunks)
}
