//! Identity: loading OCES-shaped certificates minted at test time (openssl), and the public OCES II test
//! certificates when present; user names, chain, key, validity, export and every bad input.

mod identity_support;

use gateway::{CertificateKind, ErrorKind, Identity, Secret, Validity};
use identity_support::*;
use std::path::Path;
use x509_parser::prelude::{FromDer, X509Certificate};

fn password() -> Secret {
    Secret::new(PASSWORD)
}

fn load_pem(leaf: &Leaf) -> Identity {
    Identity::from_pem_files(&leaf.cert, Some(&leaf.key)).expect("PEM identity loads")
}

/// The order of attribute types inside the subject's multi-valued RDN, as encoded.
fn multi_valued_rdn_order(cert_der: &[u8]) -> Vec<String> {
    let (_, cert) = X509Certificate::from_der(cert_der).unwrap();
    let rdn = cert.subject().iter().find(|rdn| rdn.iter().count() > 1).expect("a multi-valued RDN");
    rdn.iter().map(|attribute| attribute.attr_type().to_id_string()).collect()
}

const CN: &str = "2.5.4.3";
const SERIAL_NUMBER: &str = "2.5.4.5";

#[test]
fn every_oces_kind_gives_its_user_name() {
    let mut pki = Pki::new();
    let uuid = "6c3a7c0e-1b9f-4e4f-9d55-2a0f1e2d3c4b";
    let cases = [
        ("voces", "/C=DK/O=Firma A\\/S \\/\\/ CVR:12345678/CN=Firma A\\/S - VOCES+serialNumber=CVR:12345678-UID:9876543210", CertificateKind::Company, "CVR_12345678_UID_9876543210"),
        ("moces", "/C=DK/O=Firma A\\/S \\/\\/ CVR:19552101/CN=Jens Hansen+serialNumber=CVR:19552101-RID:60134540", CertificateKind::Employee, "CVR_19552101_RID_60134540"),
        ("foces", "/C=DK/O=Firma A\\/S \\/\\/ CVR:12345678/CN=Systemet (funktionscertifikat)+serialNumber=CVR:12345678-FID:94731315", CertificateKind::Function, "CVR_12345678_FID_94731315"),
        ("oces3org", &format!("/C=DK/organizationIdentifier=NTRDK-12345678/O=Firma A\\/S/CN=Firma A\\/S+serialNumber=UI:DK-O:G:{uuid}"), CertificateKind::Oces3Organisation, &format!("CVR_12345678_UI_{uuid}")),
        ("oces3emp", &format!("/C=DK/organizationIdentifier=NTRDK-87654321/O=Firma A\\/S/CN=Jens Hansen/serialNumber=UI:DK-E:G:{uuid}"), CertificateKind::Oces3Employee, &format!("CVR_87654321_UI_{uuid}")),
    ];
    for (name, subject, kind, username) in cases {
        let leaf = pki.leaf(name, subject, KeyType::EcP256, Window::Current);
        let identity = load_pem(&leaf);
        assert_eq!(identity.kind(), kind, "{name}");
        assert_eq!(identity.username().unwrap(), username, "{name}");
        let info = identity.info();
        assert_eq!(info.kind, kind);
        assert!(username.contains(info.cvr.as_deref().unwrap()), "{name}: cvr {:?}", info.cvr);
        assert!(username.ends_with(info.id.as_deref().unwrap()), "{name}: id {:?}", info.id);
        assert_eq!(info.validity(), Validity::Valid);
        identity.ensure_currently_valid().unwrap();
    }
}

#[test]
fn serial_number_is_found_in_either_order_of_a_multi_valued_rdn() {
    let mut pki = Pki::new();
    // DER sorts the attributes of a SET by their encoding, which starts with the length: the shorter
    // attribute comes first. A short CN puts CN first, a long CN puts serialNumber first.
    let short = pki.leaf("short", "/C=DK/O=Firma/CN=A+serialNumber=CVR:12345678-UID:11111111", KeyType::EcP256, Window::Current);
    let long_cn = "/C=DK/O=Firma/CN=A common name longer than the serialNumber value+serialNumber=CVR:12345678-UID:22222222";
    let long = pki.leaf("long", long_cn, KeyType::EcP256, Window::Current);

    let first = load_pem(&short);
    assert_eq!(multi_valued_rdn_order(&first.certificate_chain()[0]), [CN, SERIAL_NUMBER]);
    assert_eq!(first.username().unwrap(), "CVR_12345678_UID_11111111");

    let second = load_pem(&long);
    assert_eq!(multi_valued_rdn_order(&second.certificate_chain()[0]), [SERIAL_NUMBER, CN]);
    assert_eq!(second.username().unwrap(), "CVR_12345678_UID_22222222");
}

#[test]
fn pkcs12_default_and_legacy_load_with_chain_and_the_key_openssl_sees() {
    let mut pki = Pki::new();
    for key_type in [KeyType::Rsa2048, KeyType::EcP256, KeyType::EcP384] {
        let name = format!("{key_type:?}").to_lowercase();
        let leaf = pki.leaf(&name, "/C=DK/O=Firma/CN=Firma - VOCES+serialNumber=CVR:12345678-UID:25351738", key_type, Window::Current);
        for (flavour, extra, legacy) in [("default", &[][..], false), ("legacy", &["-legacy"][..], true)] {
            let p12 = pki.pkcs12(&leaf, &format!("{name}-{flavour}.p12"), extra);
            let what = format!("{name} {flavour}");
            let from_file = Identity::from_file(&p12, Some(&password())).unwrap_or_else(|e| panic!("{what}: {e}"));
            let from_bytes = Identity::from_pkcs12(&std::fs::read(&p12).unwrap(), &password()).unwrap();
            for identity in [&from_file, &from_bytes] {
                assert_eq!(identity.username().unwrap(), "CVR_12345678_UID_25351738", "{what}");
                let chain = identity.certificate_chain();
                assert_eq!(chain.len(), 2, "{what}: leaf and intermediate, no root");
                assert_eq!(chain[0].as_ref(), pem_der(&leaf.cert), "{what}: leaf first");
                assert_eq!(chain[1].as_ref(), pem_der(&pki.path().join("int.crt")), "{what}: then the intermediate");
                assert!(identity.private_key().secret_der() == openssl_pkcs8(&p12, legacy), "{what}: key differs from openssl pkey's");
            }
        }
    }
}

#[test]
fn pem_variants_load() {
    let mut pki = Pki::new();
    let subject = "/C=DK/O=Firma/CN=Firma - VOCES+serialNumber=CVR:12345678-UID:25351738";
    let rsa = pki.leaf("rsa", subject, KeyType::Rsa2048, Window::Current);
    let ec = pki.leaf("ec", subject, KeyType::EcP256, Window::Current);
    let dir = pki.path();

    // PKCS#1 ("BEGIN RSA PRIVATE KEY") and SEC1 ("BEGIN EC PRIVATE KEY") keys.
    std::fs::write(dir.join("rsa.pkcs1"), openssl(dir, &["rsa", "-in", "rsa.key", "-traditional"])).unwrap();
    std::fs::write(dir.join("ec.sec1"), openssl(dir, &["ec", "-in", "ec.key"])).unwrap();
    assert!(std::fs::read_to_string(dir.join("rsa.pkcs1")).unwrap().contains("BEGIN RSA PRIVATE KEY"));
    assert!(std::fs::read_to_string(dir.join("ec.sec1")).unwrap().contains("BEGIN EC PRIVATE KEY"));

    for (cert, key) in [("rsa.crt", "rsa.key"), ("rsa.crt", "rsa.pkcs1"), ("ec.crt", "ec.key"), ("ec.crt", "ec.sec1")] {
        let cert_path = dir.join(cert);
        let key_path = dir.join(key);
        // Two files.
        let identity = Identity::from_pem_files(&cert_path, Some(&key_path)).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(identity.username().unwrap(), "CVR_12345678_UID_25351738");
        assert_eq!(identity.certificate_chain().len(), 1);
        // Bytes.
        let from_bytes =
            Identity::from_pem(&std::fs::read(&cert_path).unwrap(), Some(&std::fs::read(&key_path).unwrap())).unwrap();
        assert_eq!(from_bytes.private_key().secret_der(), identity.private_key().secret_der());
        // One file: key, leaf, then the chain, in any order; detected by from_file without a password.
        let combined = dir.join(format!("{key}.combined.pem"));
        let parts = [std::fs::read(&key_path).unwrap(), std::fs::read(&cert_path).unwrap(), std::fs::read(dir.join("chain.pem")).unwrap()];
        std::fs::write(&combined, parts.concat()).unwrap();
        let one_file = Identity::from_file(&combined, None).unwrap_or_else(|e| panic!("{key} combined: {e}"));
        assert_eq!(one_file.certificate_chain().len(), 2, "leaf and intermediate");
        assert_eq!(one_file.certificate_chain()[0], identity.certificate_chain()[0]);
    }
    assert_ne!(rsa.cert, ec.cert);
}

#[test]
fn validity_is_reported() {
    let mut pki = Pki::new();
    let subject = "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:1";
    let expired = load_pem(&pki.leaf("expired", subject, KeyType::EcP256, Window::Expired));
    assert_eq!(expired.info().validity(), Validity::Expired);
    assert!(expired.info().is_expired());
    let err = expired.ensure_currently_valid().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateExpired);
    assert!(err.message().contains("expired on 2019-12-31"), "{err}");

    let future = load_pem(&pki.leaf("future", subject, KeyType::EcP256, Window::NotYetValid));
    assert_eq!(future.info().validity(), Validity::NotYetValid);
    assert!(future.info().is_not_yet_valid());
    let err = future.ensure_currently_valid().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateNotYetValid);
    assert!(err.message().contains("2090-01-01"), "{err}");

    // Connecting with either is refused before anything is sent (port 9 on loopback: nobody listens there,
    // so a network error would show that the check came too late).
    for (identity, kind) in [(expired, ErrorKind::CertificateExpired), (future, ErrorKind::CertificateNotYetValid)] {
        let endpoint = gateway::Endpoint::custom("127.0.0.1", 9);
        let config = gateway::ftp::SessionConfig::new(endpoint, std::sync::Arc::new(identity), gateway::ftp::Login::password("pw"));
        let err = gateway::ftp::Session::connect(&config).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
    }

    let soon = load_pem(&pki.leaf("soon", subject, KeyType::EcP256, Window::ExpiresSoon));
    assert_eq!(soon.info().validity(), Validity::Valid);
    assert!((9..=10).contains(&soon.info().days_until_expiry()), "{}", soon.info().days_until_expiry());
}

#[test]
fn certificate_info_matches_openssl() {
    let mut pki = Pki::new();
    let leaf = pki.leaf("info", "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:1", KeyType::EcP256, Window::Current);
    let info = load_pem(&leaf).info().clone();
    let dir = pki.path();
    let cert = leaf.cert.to_str().unwrap();
    let fingerprint = String::from_utf8(openssl(dir, &["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"])).unwrap();
    assert_eq!(fingerprint.trim(), format!("sha256 Fingerprint={}", info.sha256_colon_hex()));
    let serial = String::from_utf8(openssl(dir, &["x509", "-in", cert, "-noout", "-serial"])).unwrap();
    assert_eq!(serial.trim(), format!("serial={}", info.serial));
    assert!(info.issuer.contains("Test Issuing CA"), "{}", info.issuer);
    assert!(info.subject.contains("CVR:12345678-UID:1"), "{}", info.subject);
    assert_eq!(info.sha256.len(), 64);
}

#[test]
fn a_personal_certificate_has_no_user_name_and_says_what_to_do() {
    let mut pki = Pki::new();
    for (name, subject) in [
        ("poces", "/C=DK/O=Ingen organisatorisk tilknytning/CN=Jens Hansen+serialNumber=PID:9208-2002-2-123456789012"),
        ("plain", "/C=DK/O=Firma/CN=server.example"),
        ("oces3-no-cvr", "/C=DK/O=Firma/CN=Firma+serialNumber=UI:DK-O:G:6c3a7c0e-1b9f-4e4f-9d55-2a0f1e2d3c4b"),
    ] {
        let identity = load_pem(&pki.leaf(name, subject, KeyType::EcP256, Window::Current));
        assert_eq!(identity.kind(), CertificateKind::Other, "{name}");
        let err = identity.username().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotAGatewayCertificate);
        assert!(err.message().contains("company (VOCES), employee (MOCES) or function (FOCES)"), "{err}");
        assert!(err.message().contains("--username"), "{err}");
        // Export still works with the user name given explicitly.
        let out = tempfile::tempdir().unwrap();
        assert_eq!(identity.export_public_pem(out.path(), false).unwrap_err().kind(), ErrorKind::NotAGatewayCertificate);
        let path = identity.export_public_pem_as(out.path(), "CVR_12345678_UID_1", false).unwrap();
        assert_eq!(path, out.path().join("CVR_12345678_UID_1.pem"));
        let bad = identity.export_public_pem_as(out.path(), "../escape", false).unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
    }
}

#[test]
fn export_writes_what_openssl_writes_and_does_not_overwrite_unless_asked() {
    let mut pki = Pki::new();
    let leaf = pki.leaf("export", "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:25351738", KeyType::Rsa2048, Window::Current);
    let p12 = pki.pkcs12(&leaf, "export.p12", &[]);
    let identity = Identity::from_file(&p12, Some(&password())).unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = identity.export_public_pem(out.path(), false).unwrap();
    assert_eq!(path, out.path().join("CVR_12345678_UID_25351738.pem"));
    let written = std::fs::read(&path).unwrap();
    assert_eq!(written, openssl_public_pem(&p12, false));
    assert!(!String::from_utf8_lossy(&written).contains("PRIVATE"));

    std::fs::write(&path, b"keep me").unwrap();
    let err = identity.export_public_pem(out.path(), false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    identity.export_public_pem(out.path(), true).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), written);

    let missing = identity.export_public_pem(out.path().join("no-such-folder"), false).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Io);
    assert!(missing.message().contains("no-such-folder"), "{missing}");
}

#[test]
fn identity_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Identity>();
}

#[test]
fn debug_output_never_shows_the_key() {
    let mut pki = Pki::new();
    let leaf = pki.leaf("debug", "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:1", KeyType::EcP256, Window::Current);
    let identity = load_pem(&leaf);
    let debug = format!("{identity:?}");
    assert!(debug.contains("CVR_12345678_UID_1"), "{debug}");
    let key_hex = hex::encode(identity.private_key().secret_der());
    assert!(!debug.to_lowercase().contains(&key_hex[key_hex.len() - 40..]));
}

#[test]
fn public_oces2_test_certificates_give_the_user_names_their_subjects_say() {
    let Some(dir) = oces2_fixtures() else { return };
    let files = ["VOCES_gyldig.p12", "VOCES_spaerret.p12", "VOCES_udloebet.p12", "MOCES_gyldig.p12", "MOCES_cpr_gyldig.p12", "FOCES_gyldig.p12", "Statens_Serum_Institut_FOCES.p12"];
    for file in files {
        let path = dir.join(file);
        // What openssl says the subject is, and the user name that follows from it by the published rule.
        let subject = String::from_utf8(openssl_subject(&path)).unwrap();
        let expected = username_from_openssl_subject(&subject).unwrap_or_else(|| panic!("{file}: {subject}"));
        let identity = Identity::from_file(&path, Some(&password())).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(identity.username().unwrap(), expected, "{file}");
        assert_eq!(identity.certificate_chain().len(), 2, "{file}: leaf and issuing CA");
        assert!(identity.info().is_expired(), "{file}: all of them expired years ago");
        assert!(identity.private_key().secret_der() == openssl_pkcs8(&path, true), "{file}: key differs from openssl pkey's");
        let out = tempfile::tempdir().unwrap();
        let exported = identity.export_public_pem(out.path(), false).unwrap();
        assert_eq!(std::fs::read(exported).unwrap(), openssl_public_pem(&path, true), "{file}: export");
        let wrong = Identity::from_file(&path, Some(&Secret::new("Test12345"))).unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::CertificatePassword, "{file}");
        assert!(wrong.message().contains("wrong password"), "{wrong}");
    }
    let voces = Identity::from_file(dir.join("VOCES_gyldig.p12"), Some(&password())).unwrap();
    assert_eq!(voces.username().unwrap(), "CVR_30808460_UID_25351738");
    assert_eq!(voces.kind(), CertificateKind::Company);
}

fn openssl_subject(p12: &Path) -> Vec<u8> {
    let dir = p12.parent().unwrap();
    let certs = openssl(dir, &["pkcs12", "-legacy", "-in", p12.to_str().unwrap(), "-nokeys", "-clcerts", "-passin", "pass:Test1234"]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), certs).unwrap();
    openssl(dir, &["x509", "-in", file.path().to_str().unwrap(), "-noout", "-subject", "-nameopt", "RFC2253"])
}

/// `serialNumber=CVR:30808460-UID:25351738` in openssl's subject line -> `CVR_30808460_UID_25351738`.
fn username_from_openssl_subject(subject: &str) -> Option<String> {
    let start = subject.find("serialNumber=CVR:")? + "serialNumber=".len();
    let value: String = subject[start..].chars().take_while(|c| *c != ',' && *c != '+').collect();
    Some(value.replace([':', '-'], "_"))
}

fn pem_der(path: &Path) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_file(path).unwrap().to_vec()
}

#[test]
fn ber_encoded_pkcs12_from_java_tooling_loads() {
    let mut pki = Pki::new();
    let leaf = pki.leaf("ber", "/C=DK/O=Firma/CN=Firma - VOCES+serialNumber=CVR:12345678-UID:25351738", KeyType::Rsa2048, Window::Current);
    for (flavour, extra, legacy) in [("default", &[][..], false), ("legacy", &["-legacy"][..], true)] {
        let der_file = pki.pkcs12(&leaf, &format!("{flavour}.p12"), extra);
        let der = std::fs::read(&der_file).unwrap();
        let ber = der_pkcs12_to_ber(&der, PASSWORD);
        let ber_file = pki.path().join(format!("{flavour}-ber.p12"));
        std::fs::write(&ber_file, &ber).unwrap();

        // The rewrite is real BER: openssl reads it, a DER-only reader does not.
        assert_ne!(ber, der);
        assert_eq!(&ber[..2], &[0x30, 0x80], "indefinite length at the top");
        let listing = String::from_utf8(openssl(pki.path(), &["asn1parse", "-inform", "DER", "-in", ber_file.to_str().unwrap()])).unwrap();
        assert!(listing.contains("l=inf"), "indefinite lengths");
        assert!(p12_keystore::Pkcs12Archive::from_pkcs12(&ber, PASSWORD).is_err(), "{flavour}: p12-keystore alone reads it");
        assert_eq!(openssl_public_pem(&ber_file, legacy), openssl_public_pem(&der_file, legacy), "{flavour}: openssl reads the BER file");

        let from_ber = Identity::from_file(&ber_file, Some(&password())).unwrap_or_else(|e| panic!("{flavour}: {e}"));
        let from_der = Identity::from_file(&der_file, Some(&password())).unwrap();
        assert_eq!(from_ber.username().unwrap(), "CVR_12345678_UID_25351738");
        assert_eq!(from_ber.certificate_chain(), from_der.certificate_chain(), "{flavour}");
        assert!(from_ber.private_key().secret_der() == openssl_pkcs8(&ber_file, legacy), "{flavour}: key differs from openssl's");

        // The MAC is checked on the BER file too: a wrong password is a wrong password, not a parse error.
        let wrong = Identity::from_pkcs12(&ber, &Secret::new("Test12345")).unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::CertificatePassword, "{flavour}: {wrong}");
        assert!(wrong.message().contains("wrong password"), "{wrong}");

        // Tampering with the content is caught by the MAC as well.
        let mut tampered = ber.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0x01;
        let err = Identity::from_pkcs12(&tampered, &password()).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::CertificatePassword | ErrorKind::CertificateFormat), "{err}");
    }
}

/// Writes `content` to a file named `name` in a fresh folder and loads it with `from_file`.
fn load_bytes_as_file(dir: &Path, name: &str, content: &[u8], password: Option<&Secret>) -> gateway::Error {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    let err = Identity::from_file(&path, password).expect_err(name);
    assert!(err.message().contains(&path.display().to_string()), "the message names the file: {err}");
    err
}

#[test]
fn every_bad_input_gets_its_own_clear_error() {
    let mut pki = Pki::new();
    let subject = "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:1";
    let leaf = pki.leaf("good", subject, KeyType::Rsa2048, Window::Current);
    let other = pki.leaf("other", subject, KeyType::Rsa2048, Window::Current);
    let p12 = pki.pkcs12(&leaf, "good.p12", &[]);
    let p12_bytes = std::fs::read(&p12).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let pw = password();

    // Wrong password.
    let err = Identity::from_file(&p12, Some(&Secret::new("wrong"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificatePassword);
    assert!(err.message().contains("wrong password") && err.message().contains("good.p12"), "{err}");
    // No password for a PKCS#12 file.
    let err = Identity::from_file(&p12, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificatePassword);
    assert!(err.message().contains("needs its password"), "{err}");

    // A text file, a binary file that is neither, an empty file.
    let err = load_bytes_as_file(dir, "notes.txt", b"this is not a certificate\n", Some(&pw));
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("neither a PKCS#12") && err.message().contains("text file"), "{err}");
    let err = load_bytes_as_file(dir, "random.bin", &[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01], Some(&pw));
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("neither a PKCS#12"), "{err}");
    let err = load_bytes_as_file(dir, "empty.p12", b"", Some(&pw));
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("is empty"), "{err}");

    // Missing file, and a folder.
    let missing = dir.join("missing.p12");
    let err = Identity::from_file(&missing, Some(&pw)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateFileUnreadable);
    assert!(err.message().contains("does not exist") && err.message().contains("missing.p12"), "{err}");
    let err = Identity::from_file(dir, Some(&pw)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateFileUnreadable);
    assert!(err.message().contains("is a folder"), "{err}");

    // Truncated PKCS#12 (DER and BER) and truncated PEM.
    let err = load_bytes_as_file(dir, "truncated.p12", &p12_bytes[..p12_bytes.len() / 2], Some(&pw));
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("truncated"), "{err}");
    let ber = der_pkcs12_to_ber(&p12_bytes, PASSWORD);
    let err = load_bytes_as_file(dir, "truncated-ber.p12", &ber[..ber.len() - 40], Some(&pw));
    assert!(err.message().contains("truncated"), "{err}");
    let pem = std::fs::read(&leaf.cert).unwrap();
    let err = load_bytes_as_file(dir, "truncated.pem", &pem[..pem.len() / 2], None);
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("truncated"), "{err}");
    // Extra bytes after the structure.
    let err = load_bytes_as_file(dir, "trailing.p12", &[p12_bytes.as_slice(), b"junk"].concat(), Some(&pw));
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("extra bytes"), "{err}");

    // PKCS#12 without a key.
    let no_key = pki.pkcs12(&leaf, "nokey.p12", &["-nokeys"]);
    let err = Identity::from_file(&no_key, Some(&pw)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PrivateKeyMissing);
    assert!(err.message().contains("no private key") && err.message().contains("nokey.p12"), "{err}");

    // PKCS#12 whose key belongs to another certificate (openssl refuses to write one; p12-keystore does not).
    let mismatched = dir.join("mismatched.p12");
    std::fs::write(&mismatched, mismatched_pkcs12(&other.key, &leaf.cert)).unwrap();
    let err = Identity::from_file(&mismatched, Some(&pw)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PrivateKeyMismatch, "{err}");
    assert!(err.message().contains("does not belong") && err.message().contains("mismatched.p12"), "{err}");

    // PEM: key of another certificate, no key, only a key, encrypted key, a bare DER certificate.
    let err = Identity::from_pem_files(&leaf.cert, Some(&other.key)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PrivateKeyMismatch);
    assert!(err.message().contains("other.key") && err.message().contains("good.crt"), "{err}");
    let err = Identity::from_file(&leaf.cert, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PrivateKeyMissing);
    assert!(err.message().contains("--key"), "{err}");
    let err = Identity::from_pem_files(&leaf.cert, Some(&leaf.cert)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PrivateKeyMissing);
    let err = Identity::from_file(&leaf.key, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("no certificate"), "{err}");
    let encrypted = dir.join("encrypted.key");
    openssl(pki.path(), &["pkey", "-in", leaf.key.to_str().unwrap(), "-aes256", "-passout", "pass:x", "-out", encrypted.to_str().unwrap()]);
    let err = Identity::from_pem_files(&leaf.cert, Some(&encrypted)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("encrypted"), "{err}");
    let der_cert = dir.join("bare.cer");
    openssl(pki.path(), &["x509", "-in", leaf.cert.to_str().unwrap(), "-outform", "DER", "-out", der_cert.to_str().unwrap()]);
    let err = Identity::from_file(&der_cert, Some(&pw)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PrivateKeyMissing);
    assert!(err.message().contains("bare certificate"), "{err}");

    // From bytes: the same checks, with "data" instead of a file name.
    assert_eq!(Identity::from_pkcs12(&[], &pw).unwrap_err().kind(), ErrorKind::CertificateFormat);
    assert_eq!(Identity::from_pkcs12(&p12_bytes, &Secret::new("x")).unwrap_err().kind(), ErrorKind::CertificatePassword);
    assert_eq!(Identity::from_pem(b"", None).unwrap_err().kind(), ErrorKind::CertificateFormat);
    assert_eq!(Identity::from_pem(b"hello", None).unwrap_err().kind(), ErrorKind::CertificateFormat);
    assert_eq!(Identity::from_pem(&pem, Some(b"")).unwrap_err().kind(), ErrorKind::CertificateFormat);
}

/// A PKCS#12 file (p12-keystore's writer) holding `key_file`'s key with `cert_file`'s certificate.
fn mismatched_pkcs12(key_file: &Path, cert_file: &Path) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    let key = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_file(key_file).unwrap();
    let cert = rustls_pki_types::CertificateDer::from_pem_file(cert_file).unwrap();
    let chain = p12_keystore::PrivateKeyChain::new(
        b"key-1".as_slice(),
        p12_keystore::PrivateKey::from_der(key.secret_pkcs8_der()).unwrap(),
        [p12_keystore::Certificate::from_der(&cert).unwrap()],
    );
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry("mismatched", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(PASSWORD).write().unwrap()
}

#[test]
fn damaged_files_never_panic() {
    let mut pki = Pki::new();
    let leaf = pki.leaf("fuzz", "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:1", KeyType::EcP256, Window::Current);
    let der = std::fs::read(pki.pkcs12(&leaf, "fuzz.p12", &["-legacy"])).unwrap();
    let ber = der_pkcs12_to_ber(&der, PASSWORD);
    let pem = [std::fs::read(&leaf.cert).unwrap(), std::fs::read(&leaf.key).unwrap()].concat();
    let pw = password();
    // Every truncation and a byte flip at every position (stepping to keep it quick): each call returns,
    // with an error or (for flips the format does not notice) an identity.
    for input in [&der, &ber] {
        for len in (0..input.len()).step_by(17) {
            let _ = Identity::from_pkcs12(&input[..len], &pw);
        }
        for position in (0..input.len()).step_by(31) {
            let mut damaged = input.clone();
            damaged[position] ^= 0xA5;
            let _ = Identity::from_pkcs12(&damaged, &pw);
        }
    }
    for len in (0..pem.len()).step_by(11) {
        let _ = Identity::from_pem(&pem[..len], None);
    }
    // Deep nesting of indefinite lengths must not exhaust the stack.
    let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100_000).flatten().collect();
    assert_eq!(Identity::from_pkcs12(&deep, &pw).unwrap_err().kind(), ErrorKind::CertificateFormat);
}

// ---- the command line: `skat-gateway identity show|export`, run as a user would run it

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the built `skat-gateway` with `args`, the password variable set to `password` (or unset), and stdin
/// not a terminal (so it never prompts).
fn cli(args: &[&str], password: Option<&str>) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway"));
    command.args(args).env_remove("SKAT_GATEWAY_CERT_PASSWORD").stdin(std::process::Stdio::null());
    if let Some(password) = password {
        command.env("SKAT_GATEWAY_CERT_PASSWORD", password);
    }
    let output = command.output().expect("run skat-gateway");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A failed run: non-zero exit, nothing on stdout, the message on stderr.
fn assert_fails(run: &Run, code: i32, needles: &[&str]) {
    assert_eq!(run.code, code, "exit code; stderr: {}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    for needle in needles {
        assert!(run.stderr.contains(needle), "stderr lacks {needle:?}: {}", run.stderr);
    }
}

#[test]
fn cli_show_json_on_the_newsletter_certificate() {
    let Some(dir) = oces2_fixtures() else { return };
    let cert = dir.join("VOCES_gyldig.p12");
    // The report is printed; the exit code (4, a certificate problem) tells a script the gateway would refuse it.
    let run = cli(&["identity", "show", "--cert", cert.to_str().unwrap(), "--json"], Some("Test1234"));
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("expired on 2020-03-13"), "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object");
    assert_eq!(json["username"], "CVR_30808460_UID_25351738");
    assert_eq!(json["expired"], true);
    assert_eq!(json["not_yet_valid"], false);
    assert_eq!(json["kind"], "VOCES");
    assert_eq!(json["cvr"], "30808460");
    assert_eq!(json["id"], "25351738");
    assert_eq!(json["not_before"], "2017-03-13T07:26:01Z");
    assert_eq!(json["not_after"], "2020-03-13T07:25:23Z");
    assert_eq!(json["serial"], "5818E231");
    assert!(json["subject"].as_str().unwrap().contains("CVR:30808460-UID:25351738"));
    assert!(json["issuer"].as_str().unwrap().contains("TRUST2408 Systemtest XIX CA"));
    let identity = Identity::from_file(&cert, Some(&password())).unwrap();
    assert_eq!(json["sha256"], identity.info().sha256);

    // The same from a password file, and the human form says plainly that it has expired.
    let password_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(password_file.path(), "Test1234\n").unwrap();
    let run = cli(&["identity", "show", "--cert", cert.to_str().unwrap(), "--cert-password-file", password_file.path().to_str().unwrap()], None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stdout.contains("CVR_30808460_UID_25351738"), "{}", run.stdout);
    assert!(run.stdout.contains("EXPIRED on 2020-03-13"), "{}", run.stdout);
}

#[test]
fn cli_export_equals_openssl_and_keeps_existing_files() {
    let Some(dir) = oces2_fixtures() else { return };
    let cert = dir.join("VOCES_gyldig.p12");
    let out = tempfile::tempdir().unwrap();
    let args = ["identity", "export", "--cert", cert.to_str().unwrap(), "--out", out.path().to_str().unwrap()];
    let run = cli(&args, Some("Test1234"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = out.path().join("CVR_30808460_UID_25351738.pem");
    assert_eq!(run.stdout.trim(), written.display().to_string());
    assert!(run.stderr.contains("EXPIRED"), "warns about the expired certificate: {}", run.stderr);
    assert_eq!(std::fs::read(&written).unwrap(), openssl_public_pem(&cert, true));

    std::fs::write(&written, "older file").unwrap();
    assert_fails(&cli(&args, Some("Test1234")), 11, &["already exists", "CVR_30808460_UID_25351738.pem"]);
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "older file");
    let forced = cli(&[&args[..], &["--force"]].concat(), Some("Test1234"));
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(std::fs::read(&written).unwrap(), openssl_public_pem(&cert, true));
}

#[test]
fn cli_reports_validity_plainly_and_reads_pem_without_a_password() {
    let mut pki = Pki::new();
    let subject = "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:4242";
    // Exit 4 (a certificate problem) only for the certificates the gateway would refuse.
    for (window, expected, code) in [
        (Window::Expired, "EXPIRED on 2019-12-31", 4),
        (Window::NotYetValid, "NOT YET VALID", 4),
        (Window::ExpiresSoon, "EXPIRES SOON", 0),
        (Window::Current, "valid, ", 0),
    ] {
        let leaf = pki.leaf(&format!("{window:?}"), subject, KeyType::EcP256, window);
        let run = cli(&["identity", "show", "--cert", leaf.cert.to_str().unwrap(), "--key", leaf.key.to_str().unwrap()], None);
        assert_eq!(run.code, code, "{window:?}: {}", run.stderr);
        assert!(run.stdout.contains("CVR_12345678_UID_4242"), "{}", run.stdout);
        assert!(run.stdout.contains(expected), "{window:?}: {}", run.stdout);
        let json = cli(&["identity", "show", "--cert", leaf.cert.to_str().unwrap(), "--key", leaf.key.to_str().unwrap(), "--json"], None);
        let json: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
        assert_eq!(json["expired"], window == Window::Expired);
        assert_eq!(json["not_yet_valid"], window == Window::NotYetValid);
    }
}

#[test]
fn cli_bad_inputs_fail_with_the_message_on_stderr() {
    let mut pki = Pki::new();
    let subject = "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:1";
    let leaf = pki.leaf("good", subject, KeyType::Rsa2048, Window::Current);
    let other = pki.leaf("other", subject, KeyType::Rsa2048, Window::Current);
    let p12 = pki.pkcs12(&leaf, "good.p12", &[]);
    let no_key = pki.pkcs12(&leaf, "nokey.p12", &["-nokeys"]);
    let dir = pki.path();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a certificate\n").unwrap();
    let empty = dir.join("empty.p12");
    std::fs::write(&empty, "").unwrap();
    let truncated = dir.join("truncated.p12");
    std::fs::write(&truncated, &std::fs::read(&p12).unwrap()[..500]).unwrap();
    let empty_password_file = dir.join("empty-password");
    std::fs::write(&empty_password_file, "").unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_owned();

    let show = |cert: &Path, password: Option<&str>| cli(&["identity", "show", "--cert", &path(cert)], password);
    assert_fails(&show(&p12, Some("wrong")), 4, &["wrong password", "good.p12"]);
    assert_fails(&show(&text, Some("Test1234")), 4, &["neither a PKCS#12", "notes.txt"]);
    assert_fails(&show(&empty, Some("Test1234")), 4, &["is empty", "empty.p12"]);
    assert_fails(&show(&dir.join("missing.p12"), Some("Test1234")), 4, &["does not exist", "missing.p12"]);
    assert_fails(&show(&truncated, Some("Test1234")), 4, &["truncated", "truncated.p12"]);
    assert_fails(&show(&no_key, Some("Test1234")), 4, &["no private key", "nokey.p12"]);
    assert_fails(&show(&leaf.cert, None), 4, &["no private key", "--key"]);
    // No password and no terminal to ask on: says how to give it, and never suggests an argument.
    assert_fails(&show(&p12, None), 3, &["SKAT_GATEWAY_CERT_PASSWORD", "--cert-password-file"]);
    let run = cli(&["identity", "show", "--cert", &path(&p12), "--cert-password-file", &path(&empty_password_file)], None);
    assert_fails(&run, 3, &["is empty", "empty-password"]);
    let run = cli(&["identity", "show", "--cert", &path(&leaf.cert), "--key", &path(&other.key)], None);
    assert_fails(&run, 4, &["does not belong", "other.key"]);
    let run = cli(&["identity", "export", "--cert", &path(&p12), "--out", &path(&dir.join("no-such-dir"))], Some("Test1234"));
    assert_fails(&run, 11, &["no-such-dir", "does not exist"]);
    // There is no option that takes the password itself.
    let run = cli(&["identity", "show", "--cert", &path(&p12), "--cert-password", "Test1234"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn cli_non_gateway_certificate_needs_an_explicit_user_name() {
    let mut pki = Pki::new();
    let leaf = pki.leaf("personal", "/C=DK/O=Ingen organisatorisk tilknytning/CN=Jens Hansen+serialNumber=PID:9208-2002-2-123456789012", KeyType::EcP256, Window::Current);
    let cert = leaf.cert.to_str().unwrap();
    let key = leaf.key.to_str().unwrap();
    let run = cli(&["identity", "show", "--cert", cert, "--key", key], None);
    assert_eq!(run.code, 4);
    assert!(run.stdout.contains("Jens Hansen"), "still shows the certificate: {}", run.stdout);
    assert!(run.stderr.contains("the gateway needs a company (VOCES), employee (MOCES) or function (FOCES) certificate, or an OCES3 organisation/employee certificate; if your certificate is right, give the user name explicitly with --username"), "{}", run.stderr);

    let run = cli(&["identity", "show", "--cert", cert, "--key", key, "--username", "CVR_12345678_UID_1", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(json["username"], "CVR_12345678_UID_1");
    assert_eq!(json["username_source"], "explicit");
    assert_eq!(json["kind"], "other");

    let out = tempfile::tempdir().unwrap();
    let run = cli(&["identity", "export", "--cert", cert, "--key", key, "--out", out.path().to_str().unwrap()], None);
    assert_fails(&run, 4, &["--username"]);
    let run = cli(&["identity", "export", "--cert", cert, "--key", key, "--out", out.path().to_str().unwrap(), "--username", "CVR_12345678_UID_1"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.path().join("CVR_12345678_UID_1.pem").is_file());
}

#[test]
fn pem_written_by_openssl_pkcs12_nodes_loads_as_one_file() {
    // `openssl pkcs12 -in F.p12 -nodes -out all.pem` is how many users turn a .p12 into PEM: "Bag Attributes"
    // text before each section, key and all certificates in one file, root included.
    let mut pki = Pki::new();
    let leaf = pki.leaf("bags", "/C=DK/O=Firma/CN=Firma - VOCES+serialNumber=CVR:12345678-UID:25351738", KeyType::Rsa2048, Window::Current);
    let p12 = pki.pkcs12(&leaf, "bags.p12", &[]);
    let all = pki.path().join("all.pem");
    openssl(pki.path(), &["pkcs12", "-in", p12.to_str().unwrap(), "-nodes", "-passin", "pass:Test1234", "-out", all.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&all).unwrap().contains("Bag Attributes"));
    let from_pem = Identity::from_file(&all, None).unwrap();
    let from_p12 = Identity::from_file(&p12, Some(&password())).unwrap();
    assert_eq!(from_pem.certificate_chain(), from_p12.certificate_chain());
    assert_eq!(from_pem.private_key().secret_der(), from_p12.private_key().secret_der());

    // The same file with Windows line ends.
    let crlf = pki.path().join("all-crlf.pem");
    std::fs::write(&crlf, std::fs::read_to_string(&all).unwrap().replace('\n', "\r\n")).unwrap();
    assert_eq!(Identity::from_file(&crlf, None).unwrap().username().unwrap(), "CVR_12345678_UID_25351738");

    // Without -nodes openssl encrypts the key: the message says how to decrypt it.
    let encrypted = pki.path().join("encrypted.pem");
    openssl(pki.path(), &["pkcs12", "-in", p12.to_str().unwrap(), "-passin", "pass:Test1234", "-passout", "pass:x", "-out", encrypted.to_str().unwrap()]);
    let err = Identity::from_file(&encrypted, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateFormat);
    assert!(err.message().contains("encrypted") && err.message().contains("openssl pkey"), "{err}");
}

#[test]
fn non_ascii_passwords_work_as_openssl_encodes_them() {
    let mut pki = Pki::new();
    let leaf = pki.leaf("danish", "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:1", KeyType::EcP256, Window::Current);
    let password = "Rødgrød med fløde 1234";
    for (name, extra) in [("danish.p12", &[][..]), ("danish-legacy.p12", &["-legacy"][..])] {
        let out = pki.path().join(name);
        let mut args = vec!["pkcs12", "-export", "-inkey", leaf.key.to_str().unwrap(), "-in", leaf.cert.to_str().unwrap(), "-out", out.to_str().unwrap()];
        let pass = format!("pass:{password}");
        args.extend(["-passout", pass.as_str()]);
        args.extend_from_slice(extra);
        openssl(pki.path(), &args);
        let identity = Identity::from_file(&out, Some(&Secret::new(password))).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(identity.username().unwrap(), "CVR_12345678_UID_1");
        let ber = der_pkcs12_to_ber(&std::fs::read(&out).unwrap(), password);
        assert!(Identity::from_pkcs12(&ber, &Secret::new(password)).is_ok(), "{name} as BER");
        let err = Identity::from_file(&out, Some(&Secret::new("Rodgrod med flode 1234"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertificatePassword);
    }
}

#[test]
fn rsa_keys_without_null_parameters_are_brought_into_openssls_form() {
    // Some Java/CSP tooling writes rsaEncryption without its NULL parameters (the public MOCES test files do);
    // ring refuses such keys, openssl writes them with NULL. Build one from an openssl key by hand.
    let mut pki = Pki::new();
    let leaf = pki.leaf("nonull", "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-RID:7", KeyType::Rsa2048, Window::Current);
    use rustls_pki_types::pem::PemObject;
    let openssl_key = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_file(&leaf.key).unwrap().secret_pkcs8_der().to_vec();
    let with_null: &[u8] = &[0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00];
    assert_eq!(&openssl_key[4..7], &[0x02, 0x01, 0x00]);
    assert_eq!(&openssl_key[7..22], with_null);
    let outer_len = u16::from_be_bytes([openssl_key[2], openssl_key[3]]) - 2;
    let without_null = [&[0x30, 0x82][..], &outer_len.to_be_bytes(), &openssl_key[4..7], &[0x30, 0x0B], &with_null[2..13], &openssl_key[22..]].concat();
    let pem = pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, &without_null).unwrap();
    let identity = Identity::from_pem(&std::fs::read(&leaf.cert).unwrap(), Some(pem.as_bytes())).unwrap();
    assert_eq!(identity.username().unwrap(), "CVR_12345678_RID_7");
    assert!(identity.private_key().secret_der() == openssl_key.as_slice(), "the key is as openssl writes it");
}

#[test]
fn cli_output_that_cannot_be_written_is_an_error_not_a_crash() {
    let mut pki = Pki::new();
    let leaf = pki.leaf("out", "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:77", KeyType::EcP256, Window::Current);
    let show = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway"));
        command.args(["identity", "show", "--cert"]).arg(&leaf.cert).arg("--key").arg(&leaf.key);
        command.stdin(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).env_remove("RUST_BACKTRACE");
        command
    };

    // A full disk (/dev/full): the local-file exit code and a message, no panic.
    let output = show().stdout(std::fs::File::create("/dev/full").unwrap()).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(11), "{stderr}");
    assert!(stderr.contains("No space left on device") && !stderr.contains("panicked"), "{stderr}");

    // A reader that has gone (`| head` that already ended): the program ends quietly, as Unix tools do.
    let mut child = show().stdout(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert!(output.status.success() || output.status.signal() == Some(13), "{:?}", output.status);
}

#[test]
fn cli_opens_a_pkcs12_file_with_an_empty_password_and_password_files_with_a_byte_order_mark() {
    let mut pki = Pki::new();
    let subject = "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:88";
    let leaf = pki.leaf("empty", subject, KeyType::Rsa2048, Window::Current);
    // `-passout pass:` after the default one: openssl takes the last, an empty password.
    let unprotected = pki.pkcs12(&leaf, "unprotected.p12", &["-passout", "pass:"]);
    let run = cli(&["identity", "show", "--cert", unprotected.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "opens without asking: {}", run.stderr);
    assert!(run.stdout.contains("CVR_12345678_UID_88"), "{}", run.stdout);
    let identity = Identity::from_file(&unprotected, None).expect("the library opens it without a password too");
    assert_eq!(identity.username().unwrap(), "CVR_12345678_UID_88");

    // A protected file still says it needs its password when none is given.
    let protected = pki.pkcs12(&leaf, "protected.p12", &[]);
    let error = Identity::from_file(&protected, None).map(drop).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CertificatePassword, "{error}");
    assert!(error.message().contains("needs its password"), "{error}");

    // A password file saved by Notepad or PowerShell 5 starts with a byte-order mark, which is not part of it.
    let bom_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bom_file.path(), "\u{feff}Test1234\r\n").unwrap();
    let run = cli(&["identity", "show", "--cert", protected.to_str().unwrap(), "--cert-password-file", bom_file.path().to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_version_1_certificate_is_refused_when_loaded_not_at_login() {
    // `openssl x509 -req` without extensions issues X.509 version 1, which TLS client authentication refuses.
    let dir = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-subj", "/C=DK/O=Firma/CN=Firma+serialNumber=CVR:12345678-UID:5", "-out", "r.csr"]);
    openssl(&["x509", "-req", "-in", "r.csr", "-signkey", "k.pem", "-days", "30", "-out", "c.pem"]);
    let error = Identity::from_pem_files(dir.path().join("c.pem"), Some(&dir.path().join("k.pem"))).map(drop).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CertificateFormat, "{error}");
    assert!(error.message().contains("version 1") && error.message().contains("c.pem"), "{error}");
}
