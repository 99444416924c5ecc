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
